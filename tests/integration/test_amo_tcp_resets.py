"""SPAWN over TCP through connections reset after a random number of bytes runs every call at most once, and every call reported ok exactly once.

2,000 SPAWNs of `echo TOKEN >> FILE` by amo_driver (librpx, 8 processes,
deadline 30 s) through faultproxy.TcpResetProxy to rpxd --insecure: every
connection is reset (RST) after 1..3000 bytes from the client or 1..1500
bytes from rpxd, so calls are cut before, during and after they reach rpxd,
and replies are cut in the middle. librpx reconnects and sends the same
request ID again. Then: ok ran exactly once, failed never, unknown at most
once; rpxd answered resent requests from its cache (drc_hits > 0); at least
95% of the calls are ok.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amotest  # noqa: E402
import proctest  # noqa: E402
from faultproxy import TcpResetProxy  # noqa: E402
from rpxtest import check, log  # noqa: E402

CALLS = int(os.environ.get("AMO_CALLS", "2000"))
PROCS = 8


def case_tcp_resets():
    """2,000 SPAWNs through TCP connections reset at random bytes: at most once, ok means exactly once."""
    s = amotest.seed()
    with proctest.start_rpxd(["--insecure"], transports=("tcp", "unix")) as d:
        token_file = os.path.join(d.tmp, "tokens")
        # Replies (~70 bytes) are smaller than calls (~150): a smaller budget that way.
        with TcpResetProxy(d.rpc_addr("tcp"), min_bytes=1, max_bytes=3000, max_bytes_down=1500,
                           seed=s) as px:
            t0 = time.monotonic()
            out = amotest.run_driver("tcp://127.0.0.1:%d" % px.addr[1], token_file, "t", CALLS,
                                     procs=PROCS, timeout_ms=30000, limit_s=150)
            secs = time.monotonic() - t0
        log("%d calls in %.1f s: %s; proxy %r" % (CALLS, secs, out.summary(), px.stats))
        amotest.check_resets_run(d, out, token_file, px, CALLS, 95)


def case_every_reply_cut_is_outcome_unknown():
    """Every reply cut by a reset: librpx resends on new connections, then says "outcome unknown" (-ETIMEDOUT); the SPAWN ran once."""
    with proctest.start_rpxd(["--insecure"], transports=("tcp", "unix")) as d:
        token_file = os.path.join(d.tmp, "tokens")
        with TcpResetProxy(d.rpc_addr("tcp"), min_bytes=1 << 20, max_bytes=1 << 20,
                           max_bytes_down=20, seed=1) as px:
            px.min_bytes = 1
            out = amotest.run_driver("tcp://127.0.0.1:%d" % px.addr[1], token_file, "x", 3,
                                     timeout_ms=1000, limit_s=30)
        st = amotest.wait_jobs_idle(d)
        counts = amotest.token_counts(token_file)
        amotest.check_tokens(out, counts)
        for tok, (what, line) in out.by_token.items():
            check(what == "unknown" and line.split(" ", 3)[2] == "110" and
                  "outcome unknown: no reply within 1000 ms" in line and
                  "the request may or may not have run" in line,
                  "expected outcome unknown (ETIMEDOUT 110), got %r" % line)
            check(counts.get(tok, 0) == 1, "%s (replies cut) ran %d times" % (tok, counts.get(tok, 0)))
        check(px.stats["connections"] > 6, "librpx did not reconnect: %r" % px.stats)
        check(st.drc_hits > 0, "the resends were not answered from the cache")
        log("%s; %s; drc_new %d drc_hits %d" % (out.summary(), out.lines("unknown", 1), st.drc_new,
                                               st.drc_hits))


if __name__ == "__main__":
    proctest.main([case_tcp_resets, case_every_reply_cut_is_outcome_unknown])
