#!/usr/bin/env python3
"""rpx wait exits with the job's status (code, 128+signal), 124 on --timeout, --json, --keep, several jobs; rpx kill signals.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    try:
        # The job's exit code is rpx wait's exit status.
        for code in (0, 3, 255):
            job = spawn(rpx, u, "--", "sh", "-c", "exit %d" % code)
            expect([rpx, "-H", u, "wait", str(job)], code, stdout="")

        # Killed by a signal: 128 + the signal, like a shell's $?.
        job = spawn(rpx, u, "--", "sleep", "100")
        expect([rpx, "-H", u, "kill", "-s", "9", str(job)], 0, stdout="")
        expect([rpx, "-H", u, "wait", str(job)], 137)
        job = spawn(rpx, u, "--", "sleep", "100")
        expect([rpx, "-H", u, "kill", str(job)], 0)  # default TERM
        expect([rpx, "-H", u, "wait", str(job)], 143)

        # The WAIT reaped it: a second wait (a resend) gets the same answer for a while.
        expect([rpx, "-H", u, "wait", str(job)], 143, stdout="")
        # A job that never was: unknown, exit 1, one line.
        expect([rpx, "-H", u, "wait", "999999"], 1, stderr_re=r"^rpx: wait: \S.*\n$")

        # --timeout: exit 124 like timeout(1), in about the time asked, job left running.
        job = spawn(rpx, u, "--", "sleep", "100")
        st, out, err, secs = run([rpx, "-H", u, "wait", "--timeout", "0.5", str(job)])
        if st != 124 or not re.search(r"still running", err) or not 0.4 <= secs < 5:
            fail("wait --timeout 0.5: exit %d after %.2f s, stderr %r" % (st, secs, err))
        expect([rpx, "-H", u, "wait", "--timeout", "0", str(job)], 124, stderr_re="still running")

        # --json, and --keep leaves the exit record for a second wait.
        expect([rpx, "-H", u, "kill", "-s", "SIGKILL", str(job)], 0)
        out, _ = expect([rpx, "-H", u, "wait", "--keep", "--json", str(job)], 137)
        obj = json.loads(out)
        if obj["job"] != job or obj["how"] != "signaled" or obj["signal"] != 9 or \
                obj["signal_name"] != "KILL" or obj["core"] is not False:
            fail("wait --json after SIGKILL: %r" % obj)
        for k in ("utime_us", "stime_us", "maxrss_kb", "runtime_ns"):
            if not isinstance(obj[k], int) or obj[k] < 0:
                fail("wait --json: %s is %r" % (k, obj[k]))
        out, _ = expect([rpx, "-H", u, "wait", "--json", str(job)], 137)
        if json.loads(out)["job"] != job:
            fail("wait after --keep: %r" % out)
        expect([rpx, "-H", u, "wait", str(job)], 137)

        # Several jobs: the first to end counts; its ID is printed.
        slow = spawn(rpx, u, "--", "sleep", "100")
        fast = spawn(rpx, u, "--", "sh", "-c", "sleep 0.3; exit 7")
        out, _ = expect([rpx, "-H", u, "wait", str(slow), str(fast)], 7)
        if out != "%d\n" % fast:
            fail("wait of two jobs: printed %r, expected %d" % (out, fast))
        expect([rpx, "-H", u, "kill", "-s", "KILL", str(slow)], 0)
        expect([rpx, "-H", u, "wait", str(slow)], 137)

        # Usage errors: exit 2.
        expect([rpx, "-H", u, "wait"], 2, stderr_re="missing JOB")
        expect([rpx, "-H", u, "wait", "abc"], 2, stderr_re="bad job ID")
        expect([rpx, "-H", u, "wait", "--timeout", "soon", "1"], 2, stderr_re="--timeout")
        expect([rpx, "-H", u, "kill", "-s", "NOPE", "1"], 2, stderr_re="unknown signal")
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
