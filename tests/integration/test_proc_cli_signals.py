#!/usr/bin/env python3
"""rpx kill --group ends a grandchild, plain kill does not; rpx run forwards SIGINT (exit 130) and a second one as SIGKILL (137).

Environment: RPXD, RPX (paths of the binaries).
"""
# ---- shared by the test_proc_cli_* scripts (each is standalone) ----
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77  # ctest SKIP_RETURN_CODE


def fail(msg):
    sys.stderr.write("FAIL: %s\n" % msg)
    sys.exit(1)


def binary(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        sys.stderr.write("SKIP: $%s is not an executable (%r)\n" % (var, path))
        sys.exit(SKIP)
    return path


class Rpxd:
    """A real rpxd on port 0 (tcp) and a Unix socket, daytime off, its own state dir."""

    def __init__(self, rpxd, extra=()):
        self.tmp = tempfile.mkdtemp(prefix="rpx-proc-cli-")
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        self.proc = subprocess.Popen(
            [rpxd, "--listen", "tcp://127.0.0.1:0", "--listen", "unix:" + os.path.join(self.tmp, "s"),
             "--daytime", "off", "--state-dir", state] + list(extra),
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.urls = {}
        deadline = time.monotonic() + 10
        buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.stop()
                fail("rpxd did not print 'ready' within 10 s")
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                fail("rpxd exited before 'ready' (status %r)" % self.proc.poll())
            buf += chunk
            lines = buf.split(b"\n")
            buf = lines.pop()
            done = False
            for line in lines:
                words = line.decode().split()
                if words == ["ready"]:
                    done = True
                elif len(words) == 2 and words[0] == "listening":
                    self.urls[words[1].split(":", 1)[0]] = words[1]
            if done:
                break
        for t in ("tcp", "unix"):
            if t not in self.urls:
                self.stop()
                fail("rpxd printed no 'listening %s' line: %r" % (t, self.urls))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                shutil.rmtree(self.tmp, ignore_errors=True)
                fail("rpxd did not exit within 10 s of SIGTERM")
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.proc.returncode != 0:
            fail("rpxd exited with status %r" % self.proc.returncode)


def clean_env():
    e = dict(os.environ)
    e.pop("RPX_HOST", None)
    return e


def run(argv, timeout=20, stdin_data=None):
    """Runs argv; returns (status, stdout, stderr, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run(argv, input=stdin_data, stdin=None if stdin_data is not None else subprocess.DEVNULL,
                       capture_output=True, text=True, env=clean_env(), timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def show(argv):
    return " ".join(argv)


def expect(argv, status, stdout=None, stderr_re=None, **kw):
    """Runs argv and checks its exit status (and stdout exactly, stderr by regex)."""
    st, out, err, _ = run(argv, **kw)
    if st != status:
        fail("%s: exit %d, expected %d (stdout %r, stderr %r)" % (show(argv), st, status, out, err))
    if stdout is not None and out != stdout:
        fail("%s: stdout %r, expected %r" % (show(argv), out, stdout))
    if stderr_re is not None and not re.search(stderr_re, err):
        fail("%s: stderr %r does not match %r" % (show(argv), err, stderr_re))
    if stderr_re is None and status == 0 and err:
        fail("%s: unexpected stderr %r" % (show(argv), err))
    return out, err


def spawn(rpx, url, *args):
    """rpx spawn ARGS; returns the job ID (checks the output is one number)."""
    out, _ = expect([rpx, "-H", url, "spawn"] + list(args), 0)
    if not re.match(r"^[1-9][0-9]*\n$", out):
        fail("spawn %r: output %r is not one job ID" % (args, out))
    return int(out)


def wait_until(cond, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            fail("%s: not within %g s" % (what, timeout))
        time.sleep(0.05)


def pid_gone(pid):
    """True when pid no longer exists (or is a zombie nobody reaped yet is NOT gone)."""
    return not os.path.exists("/proc/%d" % pid)
# ---- end of shared part ----


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
