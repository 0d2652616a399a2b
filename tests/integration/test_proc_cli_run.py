#!/usr/bin/env python3
"""rpx run copies the job's stdout/stderr to ours and exits with its status; stdin, env, cwd, --shell applied; a missing program is one clear error.

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
        # Output on the right streams, exit status of the job.
        st, out, err, _ = run([rpx, "-H", u, "run", "--", "sh", "-c", "echo out; echo err >&2; exit 5"])
        if (st, out, err) != (5, "out\n", "err\n"):
            fail("run sh -c 'echo out; echo err >&2; exit 5': got exit %d, stdout %r, stderr %r"
                 % (st, out, err))
        # run reaped the job: nothing left in ps.
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        if out.strip():
            fail("ps after run: jobs left: %r" % out)

        # Options without "--": the first word that is not an option is the command.
        expect([rpx, "-H", u, "run", "printf", "%s-%s", "a b", "c"], 0, stdout="a b-c")

        # stdin delivered, then EOF.
        expect([rpx, "-H", u, "run", "--stdin-text", "hello\nworld\n", "--", "cat"], 0,
               stdout="hello\nworld\n")
        with tempfile.NamedTemporaryFile() as f:
            data = bytes(range(256)) * 64
            f.write(data)
            f.flush()
            p = subprocess.run([rpx, "-H", u, "run", "--stdin-file", f.name, "--", "md5sum"],
                               capture_output=True, env=clean_env(), timeout=20)
            import hashlib
            if p.returncode != 0 or p.stdout.split()[0].decode() != hashlib.md5(data).hexdigest():
                fail("run --stdin-file | md5sum: exit %d, %r" % (p.returncode, p.stdout))
        # --stdin-file - reads rpx's own stdin.
        expect([rpx, "-H", u, "run", "--stdin-file", "-", "--", "wc", "-c"], 0, stdout="6\n",
               stdin_data="abcdef")
        # Default stdin is /dev/null: cat ends at once.
        expect([rpx, "-H", u, "run", "--", "cat"], 0, stdout="")

        # Environment: set, unset, clear; working directory.
        expect([rpx, "-H", u, "run", "--env", "FOO=bar baz", "--env", "E=a=b", "--", "sh", "-c",
                'printf "%s|%s" "$FOO" "$E"'], 0, stdout="bar baz|a=b")
        expect([rpx, "-H", u, "run", "--clear-env", "--env", "ONLY=1", "--", "/usr/bin/env"], 0,
               stdout="ONLY=1\n")
        out, _ = expect([rpx, "-H", u, "run", "--unset", "PATH", "--", "/usr/bin/env"], 0)
        if re.search(r"^PATH=", out, re.M):
            fail("run --unset PATH: PATH still set: %r" % out)
        expect([rpx, "-H", u, "run", "--cwd", "/tmp", "--", "pwd"], 0, stdout="/tmp\n")
        expect([rpx, "-H", u, "run", "--", "pwd"], 0, stdout="/\n")
        expect([rpx, "-H", u, "run", "--cwd", "/nonexistent-dir", "--", "pwd"], 1,
               stderr_re=r"^rpx: run: .*/nonexistent-dir.*No such file or directory\n$")

        # --shell: one command line for /bin/sh -c (several words joined).
        expect([rpx, "-H", u, "run", "--shell", "--", "echo $((6*7)) | tr 4 x"], 0, stdout="x2\n")
        expect([rpx, "-H", u, "run", "--shell", "echo", "a;", "exit", "4"], 4, stdout="a\n")

        # A missing executable: one clear line, exit 1, nothing spawned.
        for cmd in ("spawn", "run"):
            st, out, err, _ = run([rpx, "-H", u, cmd, "--", "no-such-program-rpx", "x"])
            if st != 1 or out != "" or \
                    not re.match(r"^rpx: %s: .*no-such-program-rpx.*No such file or directory\n$" % cmd, err):
                fail("%s of a missing program: exit %d, stdout %r, stderr %r" % (cmd, st, out, err))

        # Discarded streams stay empty; the status still comes through.
        expect([rpx, "-H", u, "run", "--discard-stdout", "--", "sh", "-c", "echo gone; exit 2"], 2,
               stdout="")

        # A job killed by a signal: 128 + signal.
        expect([rpx, "-H", u, "run", "--", "sh", "-c", "kill -TERM $$"], 143)

        # spawn --json: job, pid, start.
        out, _ = expect([rpx, "-H", u, "spawn", "--json", "--name", "j", "--", "sh", "-c", "exit 0"], 0)
        obj = json.loads(out)
        if set(obj) != {"job", "pid", "start"} or not obj["job"] > 0 or not obj["pid"] > 1 or \
                abs(obj["start"] - time.time()) > 60:
            fail("spawn --json: %r" % out)
        expect([rpx, "-H", u, "wait", str(obj["job"])], 0)

        # Usage errors: exit 2, no call.
        expect([rpx, "-H", u, "run"], 2, stderr_re="missing command")
        expect([rpx, "-H", u, "spawn", "--env", "NOEQUALS", "--", "true"], 2, stderr_re="NAME=VALUE")
        expect([rpx, "-H", u, "spawn", "--importance", "urgent", "--", "true"], 2,
               stderr_re="--importance")
        expect([rpx, "-H", u, "run", "--json", "--", "true"], 2, stderr_re="--json")
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
