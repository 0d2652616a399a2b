#!/usr/bin/env python3
"""Async replies are matched by XID, not by order: a server that answers 100 calls in reverse order, with replies for unknown XIDs and a duplicate mixed in, completes every call once with its own result and the strays are dropped and counted.

Also checks the XIDs on the wire: 100 distinct values, consecutive from a random start.
Environment: RPXD (for the build tree), optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403

N = 100


def main():
    bogus = [accepted(0xDEADBEEF), accepted(0x0BADF00D, now_results())]
    srv = BatchTcp(N, order="reverse", extra=bogus)
    try:
        res = run_driver(["-n", N, "-t", 10000, "tcp://127.0.0.1:%d" % srv.port])
    finally:
        srv.stop()
    check(not srv.errors, "server: %r" % srv.errors)
    eq(len(res.calls), N, "results")
    for i in range(N):
        r = res.ok((0, i))
        eq(r[1], "null" if i % 2 == 0 else "now", "call %d got the result of its own procedure" % i)
    st = res.stats[0]
    eq(st["replies"], N, "replies matched")
    # two bogus XIDs plus the duplicate of an answered call
    eq(st["unknown_xid"], 3, "unknown XIDs dropped and counted")
    eq(st["pending"], 0, "pending")
    xids = srv.xids
    eq(len(set(xids)), N, "distinct XIDs")
    eq(sorted(((x - xids[0]) & 0xFFFFFFFF) for x in xids), list(range(N)),
       "XIDs increment from the start")
    # Two runs start at different (random) XIDs.
    srv2 = BatchTcp(1, order="same")
    try:
        run_driver(["-n", 1, "-p", "null", "tcp://127.0.0.1:%d" % srv2.port])
    finally:
        srv2.stop()
    check(srv2.xids[0] != xids[0] and srv2.xids[0] != xids[0] + N,
          "XID start is random (%#x then %#x)" % (xids[0], srv2.xids[0]))
    print("ok")


if __name__ == "__main__":
    main()
