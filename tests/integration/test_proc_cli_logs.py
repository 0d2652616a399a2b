#!/usr/bin/env python3
"""rpx logs prints a job's stdout/stderr to ours; -f streams a slowly printing job line by line and ends with it.

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
