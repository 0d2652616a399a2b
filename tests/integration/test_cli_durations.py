#!/usr/bin/env python3
"""Duration options: bare numbers keep their documented unit (milliseconds for
-t/--retry/--host-timeout, seconds for wait --timeout), and a unit (ms, s, m, h)
may be written; the deadline asked is the deadline kept; bad values are usage errors.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def timed(argv, status, lo, hi, what):
    st, out, err, secs = run(argv)
    if st != status:
        fail("%s: exit %d, expected %d (stderr %r)" % (what, st, status, err))
    if not lo <= secs <= hi:
        fail("%s: took %.2f s, expected %.2f..%.2f s" % (what, secs, lo, hi))
    return err


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    # A TCP server that accepts (the kernel's backlog does) and never answers.
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(8)
    silent = "tcp://127.0.0.1:%d" % mute.getsockname()[1]
    try:
        # The call deadline: bare milliseconds, or with a unit.
        timed([rpx, "-H", silent, "-t", "300", "date"], 1, 0.25, 1.5, "-t 300")
        timed([rpx, "-H", silent, "-t", "0.3s", "date"], 1, 0.25, 1.5, "-t 0.3s")
        timed([rpx, "-H", silent, "--timeout", "1500ms", "date"], 1, 1.4, 3.0, "--timeout 1500ms")
        expect_ok([rpx, "-H", u, "-t", "2s", "date"])

        # wait --timeout: bare seconds, or with a unit; 124 when nothing ended.
        job = spawn(rpx, u, "--", "sleep", "100")
        timed([rpx, "-H", u, "wait", "--timeout", "300ms", str(job)], 124, 0.25, 1.5,
              "wait --timeout 300ms")
        timed([rpx, "-H", u, "wait", "--timeout", "0.3", str(job)], 124, 0.25, 1.5,
              "wait --timeout 0.3")
        timed([rpx, "-H", u, "wait", "--timeout", "0", str(job)], 124, 0, 1.0, "wait --timeout 0")
        expect([rpx, "-H", u, "kill", str(job)], 0)
        expect([rpx, "-H", u, "wait", "--timeout", "1m", str(job)], 128 + 15)

        # Bad durations are usage errors that say what was expected.
        for opt, val in (("-t", "0"), ("-t", "abc"), ("-t", "5x"), ("-t", "-1"), ("-t", "inf"),
                         ("-t", "nan"), ("--retry", "1e12"), ("--host-timeout", "2 s")):
            expect([rpx, "-H", u, opt, val, "date"], 2, stderr_re="expected a duration")
        for val in ("-1", "1y", "", "1e300"):
            expect([rpx, "-H", u, "wait", "--timeout", val, "1"], 2,
                   stderr_re="wait: --timeout: expected a duration")
    finally:
        mute.close()
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
