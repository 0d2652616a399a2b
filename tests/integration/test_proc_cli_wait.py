#!/usr/bin/env python3
"""rpx wait exits with the job's status (code, 128+signal), 124 on --timeout, --json, --keep, several jobs; rpx kill signals.

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

        # The WAIT reaped it: a second wait says the job is unknown, exit 1, one line.
        _, err = expect([rpx, "-H", u, "wait", str(job)], 1, stderr_re=r"^rpx: wait: \S.*\n$")

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
        expect([rpx, "-H", u, "wait", str(job)], 1, stderr_re=r"^rpx: wait: ")

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
