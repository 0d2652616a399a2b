#!/usr/bin/env python3
"""One async_driver process, one event loop, calls 10 rpxd instances (tcp, udp, unix mixed) concurrently; and 10 servers that each take 1 s to answer are all answered in about 1 s, not 10: the calls really run in parallel without a thread or process per host.

Environment: RPXD, optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import contextlib  # noqa: E402

HOSTS = 10


def main():
    with contextlib.ExitStack() as stack:
        daemons = [stack.enter_context(Rpxd()) for _ in range(HOSTS)]
        kinds = ("tcp", "udp", "unix")
        urls = [rpxd_urls(d)[kinds[i % 3]] for i, d in enumerate(daemons)]
        res = run_driver(["-n", 4, "-t", 10000] + urls)
        for u in range(HOSTS):
            for i in range(4):
                res.ok((u, i))
            eq(res.stats[u]["replies"], 4, "replies from %s" % urls[u])

    slow = [BatchTcp(2, order="same", delay=1.0) for _ in range(HOSTS)]
    try:
        res = run_driver(["-n", 2, "-t", 10000] +
                         ["tcp://127.0.0.1:%d" % s.port for s in slow])
    finally:
        for s in slow:
            s.stop()
    for u in range(HOSTS):
        for i in range(2):
            res.ok((u, i))
    log("10 slow hosts answered in %d ms" % res.elapsed_ms)
    check(res.elapsed_ms < 3000,
          "10 hosts answering after 1 s each took %d ms: calls were not concurrent"
          % res.elapsed_ms)
    print("ok")


if __name__ == "__main__":
    main()
