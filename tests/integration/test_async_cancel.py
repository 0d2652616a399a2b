#!/usr/bin/env python3
"""rpx_async_close with calls in flight (stream and UDP, server silent) completes each of them once with -ECANCELED before it returns, and nothing after.

Environment: RPXD (for the build tree), optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import errno  # noqa: E402


def main():
    silent_tcp = BatchTcp(1000)  # never gets 1000 calls: never answers
    silent_udp = SilentUdp()
    try:
        res = run_driver(["-n", 5, "-t", 10000, "--close-after", 300,
                          "tcp://127.0.0.1:%d" % silent_tcp.port,
                          "udp://127.0.0.1:%d" % silent_udp.port])
    finally:
        silent_tcp.stop()
        silent_udp.stop()
    check(res.elapsed_ms < 2000, "close took %d ms" % res.elapsed_ms)
    for u in range(2):
        for i in range(5):
            e, text = res.err((u, i))
            eq(e, -errno.ECANCELED, "errno")
            check("cancelled" in text, "text %r" % text)
    print("ok")


if __name__ == "__main__":
    main()
