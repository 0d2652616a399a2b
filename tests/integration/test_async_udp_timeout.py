#!/usr/bin/env python3
"""An async UDP call to a socket that never answers times out at its deadline (not before, not much after), resent with the SAME XID at doubling intervals (retry 100 ms: sends at 0, 100, 300, 700, 1500 ms within 2 s), and the number of datagrams is bounded.

Environment: RPXD (for the build tree), optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import errno  # noqa: E402


def main():
    srv = SilentUdp()
    try:
        res = run_driver(["-n", 2, "-p", "null", "-t", 2000, "-r", 100,
                          "udp://127.0.0.1:%d" % srv.port])
        time.sleep(0.3)  # nothing more may come after the deadline
    finally:
        srv.stop()
    check(not srv.errors, "server: %r" % srv.errors)
    for i in range(2):
        e, text = res.err((0, i))
        eq(e, -errno.ETIMEDOUT, "errno")
        check("call timed out after 2000 ms" in text and "udp://127.0.0.1:" in text,
              "text %r" % text)
    check(1900 <= res.elapsed_ms <= 2700, "deadline 2000 ms, took %d ms" % res.elapsed_ms)
    by_xid = {}
    for t, data in srv.datagrams:
        by_xid.setdefault(parse_call(data)[0], []).append(t)
    eq(len(by_xid), 2, "distinct XIDs (one per call, resends keep it)")
    st = res.stats[0]
    for xid, times in by_xid.items():
        gaps = [int((b - a) * 1000) for a, b in zip(times, times[1:])]
        log("xid %#x: %d datagrams, gaps %r ms" % (xid, len(times), gaps))
        check(4 <= len(times) <= 6, "datagrams of one call: %d (want 5)" % len(times))
        for k, g in enumerate(gaps):
            want = 100 << k
            check(want * 0.8 - 20 <= g <= want * 1.5 + 60, "gap %d: %d ms, want ~%d" % (k, g, want))
    eq(st["transmissions"], len(srv.datagrams), "transmissions counted")
    eq(st["retransmissions"], len(srv.datagrams) - 2, "retransmissions counted")
    eq(st["timeouts"], 2, "timeouts counted")
    print("ok")


if __name__ == "__main__":
    main()
