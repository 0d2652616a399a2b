"""A request whose record was evicted from a small request cache is refused with ESTALE and not run, while rpxd's memory stays bounded under a flood of distinct request IDs.

rpxd --drc-entries 64 --drc-bytes 8192. One client (raw encoder, one
request ID client, acked kept at 1 so it never releases a record itself)
sends SPAWN seq 1 (`echo TOKEN >> FILE`), then floods 40,000 KILLs (job 0:
cheap, each answered ESRCH and recorded) with distinct sequence numbers,
pipelined, sampling rpxd's VmRSS. Then: SPAWN seq 1 sent again is refused
with ESTALE and its token is still there once; the last KILL is still
answered from the cache byte for byte; STATS show drc_entries <= 64,
drc_bytes <= 8192, drc_evictions > 0 and drc_refusals > 0; RSS grew by
less than 4 MiB between the first sample (after 2,000 requests) and the
end (40,000 records of ~100 reply bytes kept would be over 4 MiB).
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amotest  # noqa: E402
import proctest  # noqa: E402
from proctest import (KILL, SPAWN, STDIO_DISCARD, ProcClient, dec_kill, dec_spawn,  # noqa: E402
                      enc_kill, enc_spawn, expect_err, expect_ok)
from rpxtest import check, eq, fail, log  # noqa: E402

ENTRIES, BYTES = 64, 8192
FLOOD = 40000
WINDOW = 32
ESTALE, ESRCH = 116, 3
RSS_GROWTH_KIB = 4096


def case_evicted_request_refused():
    """Flood past the cache bound, then resend the first request: ESTALE, not run; RSS bounded."""
    s = amotest.seed()
    cid = random.Random(s).randrange(1, 1 << 64)
    # Under AddressSanitizer freed memory waits in a quarantine; without it, RSS
    # measures what rpxd keeps (as in test_backpressure.py).
    asan = os.environ.get("ASAN_OPTIONS", "")
    asan = (asan + ":" if asan else "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    with proctest.start_rpxd(["--drc-entries", str(ENTRIES), "--drc-bytes", str(BYTES)],
                             env={"ASAN_OPTIONS": asan}) as d, \
            ProcClient(d, "unix", timeout=20) as c:
        token_file = os.path.join(d.tmp, "tokens")
        spawn = enc_spawn(["echo first >> '%s'" % token_file], shell=True,
                          stdout_mode=STDIO_DISCARD, stderr_mode=STDIO_DISCARD,
                          reqid=(cid, 1, 1))
        first = dec_spawn(c.call_raw(SPAWN, spawn)[1].results)
        expect_ok(first.status, "SPAWN seq 1")
        samples = []
        seq = 2
        last = None
        while seq < 2 + FLOOD:
            xids = []
            for _ in range(min(WINDOW, 2 + FLOOD - seq)):
                xids.append((c.send(KILL, enc_kill(0, 0, reqid=(cid, seq, 1))), seq))
                seq += 1
            for xid, q in xids:
                r = c.recv_raw(xid)
                expect_err(dec_kill(proctest.expect_success(r, xid, "KILL %d" % q)).status,
                           ESRCH, "KILL of job 0, seq %d" % q)
                last = (q, r.raw[4:])
            if (seq - 2) % 2000 < WINDOW:
                samples.append(d.rss_kib())
        samples.append(d.rss_kib())
        log("VmRSS KiB every 2,000 requests: %s" % samples)
        amotest.wait_jobs_idle(d)

        again = dec_spawn(c.call_raw(SPAWN, spawn)[1].results)
        expect_err(again.status, ESTALE, "SPAWN seq 1 after its record was evicted")
        log("refusal: %r" % again.status.message)
        q, reply = last
        got = c.call_raw(KILL, enc_kill(0, 0, reqid=(cid, q, 1)))[1]
        eq(got.raw[4:].hex(), reply.hex(), "KILL seq %d replayed from the cache" % q)
        st = c.stats()
        log("STATS drc_entries %d drc_bytes %d drc_evictions %d drc_refusals %d drc_new %d"
            % (st.drc_entries, st.drc_bytes, st.drc_evictions, st.drc_refusals, st.drc_new))
        amotest.wait_jobs_idle(d)
        eq(amotest.token_counts(token_file).get("first", 0), 1, "runs of SPAWN seq 1")
        check(st.drc_entries <= ENTRIES, "drc_entries %d over --drc-entries %d"
              % (st.drc_entries, ENTRIES))
        check(st.drc_bytes <= BYTES, "drc_bytes %d over --drc-bytes %d" % (st.drc_bytes, BYTES))
        check(st.drc_evictions >= FLOOD + 1 - ENTRIES,
              "drc_evictions %d, expected at least %d" % (st.drc_evictions, FLOOD + 1 - ENTRIES))
        check(st.drc_refusals > 0, "drc_refusals 0 after a refused request")
        eq(st.drc_new, FLOOD + 1, "requests run (drc_new)")
        growth = max(samples) - samples[0]
        if growth >= RSS_GROWTH_KIB:
            fail("rpxd RSS grew by %d KiB while flooding (samples %s)" % (growth, samples))


if __name__ == "__main__":
    proctest.main([case_evicted_request_refused])
