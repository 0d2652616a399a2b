#!/usr/bin/env python3
"""rpx logs prints a job's stdout/stderr to ours; -f streams a slowly printing job line by line and ends with it.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def read_lines_timed(p, deadline):
    """Lines of p's stdout with the monotonic time each arrived, until EOF."""
    got = []
    buf = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            fail("rpx logs -f: no EOF before the deadline; got %r" % got)
        r, _, _ = select.select([p.stdout], [], [], left)
        if not r:
            continue
        chunk = os.read(p.stdout.fileno(), 4096)
        if not chunk:
            return got
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            got.append((line.decode(), time.monotonic()))


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    try:
        # Without -f: what the log holds now; stdout, --stderr, --both to the matching streams.
        job = spawn(rpx, u, "--", "sh", "-c", "echo one; echo two >&2; echo three")
        expect([rpx, "-H", u, "wait", "--keep", str(job)], 0)
        expect([rpx, "-H", u, "logs", str(job)], 0, stdout="one\nthree\n")
        st, out, err, _ = run([rpx, "-H", u, "logs", "--stderr", str(job)])
        if (st, out, err) != (0, "", "two\n"):
            fail("logs --stderr: exit %d, stdout %r, stderr %r" % (st, out, err))
        st, out, err, _ = run([rpx, "-H", u, "logs", "--both", str(job)])
        if (st, out, err) != (0, "one\nthree\n", "two\n"):
            fail("logs --both: exit %d, stdout %r, stderr %r" % (st, out, err))
        expect([rpx, "-H", u, "wait", str(job)], 0)
        expect([rpx, "-H", u, "logs", str(job)], 1, stderr_re=r"^rpx: logs: server: ")

        # More than one OUTPUT reply's worth (chunks of at most 256 KiB): all of it, in order.
        job = spawn(rpx, u, "--", "sh", "-c", "seq 1 200000")
        expect([rpx, "-H", u, "wait", "--keep", str(job)], 0)
        out, _ = expect([rpx, "-H", u, "logs", str(job)], 0)
        if out != "".join("%d\n" % i for i in range(1, 200001)):
            fail("logs of seq 1 200000: %d bytes, wrong content (head %r, tail %r)"
                 % (len(out), out[:40], out[-40:]))
        expect([rpx, "-H", u, "wait", str(job)], 0)

        # -f follows a job that prints slowly: each line shows up as printed, not at the end,
        # and rpx exits when the job ends.
        n, gap = 4, 0.6
        job = spawn(rpx, u, "--", "sh", "-c",
                    "for i in $(seq 1 %d); do echo line $i; sleep %s; done" % (n, gap))
        t0 = time.monotonic()
        p = subprocess.Popen([rpx, "-H", u, "logs", "-f", str(job)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=clean_env())
        got = read_lines_timed(p, t0 + 20)
        st = p.wait(10)
        err = p.stderr.read().decode()
        if st != 0 or err:
            fail("logs -f: exit %d, stderr %r" % (st, err))
        if [l for l, _ in got] != ["line %d" % i for i in range(1, n + 1)]:
            fail("logs -f: lines %r" % [l for l, _ in got])
        end = time.monotonic() - t0
        first = got[0][1] - t0
        if first > 1.0:
            fail("logs -f: first line came %.2f s after the start, not as printed" % first)
        for i in range(1, n):
            if got[i][1] - t0 < i * gap - 0.3:
                fail("logs -f: line %d came at %.2f s, before the job printed it" % (i + 1, got[i][1] - t0))
        if got[n - 2][1] - t0 > (n - 2) * gap + 1.0:
            fail("logs -f: line %d came at %.2f s, too late for streaming" % (n - 1, got[n - 2][1] - t0))
        if end < (n - 1) * gap:
            fail("logs -f ended at %.2f s, before the job did" % end)
        expect([rpx, "-H", u, "wait", str(job)], 0)

        # -f on a job whose output stays open in a grandchild after the job ended: still returns.
        job = spawn(rpx, u, "--", "sh", "-c", "echo bye; (sleep 3 &)")
        t0 = time.monotonic()
        out, _ = expect([rpx, "-H", u, "logs", "-f", "--both", str(job)], 0, timeout=20)
        if out != "bye\n":
            fail("logs -f of a job whose grandchild holds the pipe: %r" % out)
        expect([rpx, "-H", u, "wait", str(job)], 0)

        expect([rpx, "-H", u, "logs"], 2, stderr_re="one JOB")
        expect([rpx, "-H", u, "logs", "-f", "x1"], 2, stderr_re="bad job ID")
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
