"""SPAWN over UDP through 30% loss and 30% duplication each way runs every call at most once, and every call reported ok exactly once.

2,000 SPAWNs of `echo TOKEN >> FILE` (one token per call) by amo_driver
(librpx, 16 processes, first retransmission after 50 ms, deadline 30 s)
through faultproxy.UdpFaultProxy to rpxd --insecure. Then: a call
reported ok appended its token exactly once, a call reported failed never,
one reported unknown at most once; rpxd's STATS show retransmissions
answered from the request cache (drc_hits > 0) and no more requests run
than tokens written; at least 95% of the calls are ok (without
retransmission about half would be lost).
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amotest  # noqa: E402
import proctest  # noqa: E402
from faultproxy import UdpFaultProxy  # noqa: E402
from rpxtest import check, log  # noqa: E402

CALLS = int(os.environ.get("AMO_CALLS", "2000"))
PROCS = 16


def case_udp_loss_and_duplication():
    """2,000 SPAWNs through 30% loss and duplication: at most once, ok means exactly once."""
    s = amotest.seed()
    with proctest.start_rpxd(["--insecure"], transports=("udp", "unix")) as d:
        token_file = os.path.join(d.tmp, "tokens")
        with UdpFaultProxy(d.rpc_addr("udp"), loss=0.3, dup=0.3, reorder=0.05, seed=s) as px:
            t0 = time.monotonic()
            out = amotest.run_driver("udp://127.0.0.1:%d" % px.addr[1], token_file, "u", CALLS,
                                     procs=PROCS, timeout_ms=30000, retry_ms=50, limit_s=150)
            secs = time.monotonic() - t0
        log("%d calls in %.1f s: %s; proxy %r" % (CALLS, secs, out.summary(), px.stats))
        st = amotest.wait_jobs_idle(d)
        counts = amotest.token_counts(token_file)
        amotest.check_tokens(out, counts)
        log("STATS drc_new %d drc_hits %d drc_in_progress %d drc_refusals %d"
            % (st.drc_new, st.drc_hits, st.drc_in_progress, st.drc_refusals))
        check(px.stats["up_duplicated"] > 0 and px.stats["up_lost"] > 0
              and px.stats["down_lost"] > 0, "the proxy injected no faults: %r" % px.stats)
        check(st.drc_hits > 0, "no retransmission answered from the cache (drc_hits 0)")
        ran = sum(counts.values())
        check(st.drc_new == ran,
              "rpxd ran %d SPAWNs (drc_new) but %d tokens were written" % (st.drc_new, ran))
        check(out.count("ok") >= CALLS * 95 // 100,
              "only %s of %d calls succeeded; e.g. %r" % (out.summary(), CALLS,
                                                          out.lines("unknown") + out.lines("failed")))


def case_no_reply_is_outcome_unknown():
    """Every reply lost: librpx says "outcome unknown" (-ETIMEDOUT), not failed, and the SPAWN ran once."""
    with proctest.start_rpxd(["--insecure"], transports=("udp", "unix")) as d:
        token_file = os.path.join(d.tmp, "tokens")
        with UdpFaultProxy(d.rpc_addr("udp"), seed=1, down=dict(loss=1.0)) as px:
            out = amotest.run_driver("udp://127.0.0.1:%d" % px.addr[1], token_file, "x", 3,
                                     timeout_ms=800, retry_ms=50, limit_s=30)
        st = amotest.wait_jobs_idle(d)
        counts = amotest.token_counts(token_file)
        amotest.check_tokens(out, counts)
        for tok, (what, line) in out.by_token.items():
            check(what == "unknown" and line.split(" ", 3)[2] == "110" and
                  "outcome unknown: no reply within 800 ms; the request may or may not have run"
                  in line, "expected outcome unknown (ETIMEDOUT 110), got %r" % line)
            check(counts.get(tok, 0) == 1, "%s (reply lost) ran %d times" % (tok, counts.get(tok, 0)))
        check(st.drc_hits > 0, "the resends were not answered from the cache")
        log("%s; drc_new %d drc_hits %d" % (out.summary(), st.drc_new, st.drc_hits))


if __name__ == "__main__":
    proctest.main([case_udp_loss_and_duplication, case_no_reply_is_outcome_unknown])
