#!/usr/bin/env python3
"""100 concurrent DATE NULL+NOW calls on ONE async connection to a real rpxd, over tcp, udp and unix, each completed exactly once with its own result; rpx_async_call_sync works too.

Environment: RPXD, optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import time  # noqa: E402

N = 100


def check_run(res, n, what):
    eq(len(res.calls), n, what + ": results")
    now = time.time()
    for i in range(n):
        r = res.ok((0, i))
        want = "null" if i % 2 == 0 else "now"
        eq(r[1], want, "%s: call %d kind" % (what, i))
        if want == "now":
            secs = int(r[2].split()[1])
            check(abs(secs - now) < 60, "%s: call %d NOW %d far from %d" % (what, i, secs, now))


def main():
    with Rpxd() as d:
        urls = rpxd_urls(d)
        for t in ("tcp", "udp", "unix"):
            res = run_driver(["-n", N, "-t", 10000, urls[t]])
            check_run(res, N, t)
            st = res.stats[0]
            eq(st["calls"], N, t + ": calls")
            eq(st["replies"], N, t + ": replies matched by XID")
            eq(st["pending"], 0, t + ": pending")
            eq(st["unknown_xid"], 0, t + ": unknown XIDs")
            if t != "udp":
                eq(st["transmissions"], N, t + ": one record per call")
            # Taking the result out of the callback works the same.
            check_run(run_driver(["-n", 10, "--take", urls[t]]), 10, t + " --take")
            # The synchronous helper: one private loop per call.
            check_run(run_driver(["--sync", "-n", 4, urls[t]]), 4, t + " --sync")
        # A bad procedure is reported per call, the connection goes on.
        res = run_driver(["-n", 3, "-p", "bogus", urls["tcp"]])
        for i in range(3):
            e, text = res.err((0, i))
            eq(e, -95, "unknown procedure errno (EOPNOTSUPP)")
            check("procedure unavailable" in text and urls["tcp"] in text, "text %r" % text)
    print("ok")


if __name__ == "__main__":
    main()
