#!/usr/bin/env python3
"""rpx kill --group ends a grandchild, plain kill does not; rpx run forwards SIGINT (exit 130) and a second one as SIGKILL (137).

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def read_line(p, what, timeout=10):
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            p.kill()
            fail("%s: no line within %g s (got %r)" % (what, timeout, buf))
        r, _, _ = select.select([p.stdout], [], [], left)
        if r:
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                fail("%s: EOF before a line (got %r, exit %r)" % (what, buf, p.poll()))
            buf += chunk
    return buf.decode().split("\n", 1)[0]


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    try:
        # kill --group reaches a grandchild the job's shell started.
        job = spawn(rpx, u, "--", "sh", "-c", "sleep 100 & echo $!; sleep 100")
        out = ""
        deadline = time.monotonic() + 10
        while not out.endswith("\n"):
            if time.monotonic() > deadline:
                fail("the job did not print its child's pid: %r" % out)
            out, _ = expect([rpx, "-H", u, "logs", str(job)], 0)
            time.sleep(0.05)
        grandchild = int(out)
        if pid_gone(grandchild):
            fail("grandchild %d is not running" % grandchild)
        expect([rpx, "-H", u, "kill", "--group", str(job)], 0)
        expect([rpx, "-H", u, "wait", str(job)], 143)
        wait_until(lambda: pid_gone(grandchild), "grandchild %d gone after kill --group" % grandchild)

        # Without --group only the job's own process gets the signal.
        job = spawn(rpx, u, "--", "sh", "-c", "sleep 100 & echo $!; wait")
        deadline = time.monotonic() + 10
        out = ""
        while not out.endswith("\n"):
            if time.monotonic() > deadline:
                fail("the job did not print its child's pid: %r" % out)
            out, _ = expect([rpx, "-H", u, "logs", str(job)], 0)
            time.sleep(0.05)
        grandchild = int(out)
        expect([rpx, "-H", u, "kill", "-s", "TERM", str(job)], 0)
        expect([rpx, "-H", u, "wait", str(job)], 143)
        time.sleep(0.3)
        if pid_gone(grandchild):
            fail("kill without --group ended the grandchild %d too" % grandchild)
        os.kill(grandchild, signal.SIGKILL)

        # kill of an ended or unknown job: exit 1, one line.
        expect([rpx, "-H", u, "kill", str(job)], 1, stderr_re=r"^rpx: kill: job %d: server: .*\n$" % job)
        # Signal 0 checks a running job.
        job = spawn(rpx, u, "--", "sleep", "100")
        expect([rpx, "-H", u, "kill", "-s", "0", str(job)], 0)
        expect([rpx, "-H", u, "kill", "-s", "SIGKILL", str(job)], 0)
        expect([rpx, "-H", u, "wait", str(job)], 137)

        # rpx run + SIGINT: forwarded to the job, which ends by signal 2 -> exit 130.
        p = subprocess.Popen([rpx, "-H", u, "run", "--", "sh", "-c", "echo ready; exec sleep 100"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=clean_env())
        if read_line(p, "rpx run") != "ready":
            fail("rpx run: first line is not 'ready'")
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        try:
            st = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("rpx run did not end within 10 s of SIGINT")
        err = p.stderr.read().decode()
        if st != 130 or err:
            fail("rpx run after SIGINT: exit %d (expected 130), stderr %r" % (st, err))
        if time.monotonic() - t0 > 3:
            fail("rpx run took %.1f s to forward SIGINT" % (time.monotonic() - t0))
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        if out:
            fail("ps after rpx run ended: job left behind: %r" % out)

        # A job that ignores SIGINT: the second Ctrl-C sends SIGKILL -> 137.
        p = subprocess.Popen([rpx, "-H", u, "run", "--", "sh", "-c",
                              "trap '' INT; echo ready; sleep 100; echo survived"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, env=clean_env())
        if read_line(p, "rpx run (trap)") != "ready":
            fail("rpx run (trap): first line is not 'ready'")
        p.send_signal(signal.SIGINT)
        time.sleep(1.0)
        if p.poll() is not None:
            fail("rpx run of a job ignoring SIGINT ended after one SIGINT: %r" % p.returncode)
        p.send_signal(signal.SIGINT)
        try:
            st = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("rpx run did not end within 10 s of the second SIGINT")
        if st != 137:
            fail("rpx run after two SIGINTs: exit %d, expected 137 (SIGKILL)" % st)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
