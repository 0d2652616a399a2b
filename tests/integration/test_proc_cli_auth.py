#!/usr/bin/env python3
"""Over TCP rpxd refuses spawn/kill with a clear message unless --insecure; the client refuses out-of-bound arguments before sending.

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

REFUSED = (r"^rpx: (spawn|kill|run): server: authentication error: refused for security reasons "
           r"\(spawn and kill need the Unix socket, or rpxd --insecure\)\n$")


def main():
    rpx = binary("RPX")
    rpxd = binary("RPXD")
    d = Rpxd(rpxd)
    u, t = d.urls["unix"], d.urls["tcp"]
    try:
        # Over TCP without --insecure: spawn, run and kill are refused with a clear message.
        expect([rpx, "-H", t, "spawn", "--", "true"], 1, stderr_re=REFUSED)
        expect([rpx, "-H", t, "run", "--", "true"], 1, stderr_re=REFUSED)
        job = spawn(rpx, u, "--", "sleep", "100")
        expect([rpx, "-H", t, "kill", str(job)], 1, stderr_re=r"^rpx: kill: job %d: server: "
               r"authentication error: refused for security reasons \(spawn and kill need the "
               r"Unix socket, or rpxd --insecure\)\n$" % job)
        # Nothing was spawned by the refused calls; the unix job still runs.
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        objs = [json.loads(l) for l in out.splitlines()]
        if [o["job"] for o in objs] != [job] or objs[0]["exit"] is not None:
            fail("ps after refused TCP calls: %r" % out)
        expect([rpx, "-H", u, "kill", "-s", "KILL", str(job)], 0)
        expect([rpx, "-H", u, "wait", str(job)], 137)

        # Bounds are checked before sending: too many arguments, too much stdin.
        argv = [rpx, "-H", u, "spawn", "--", "echo"] + ["x"] * 5000
        st, out, err, secs = run(argv)
        if st != 1 or out or err != "rpx: spawn: argv has 5001 entries; the limit is 4096\n":
            fail("spawn with 5001 arguments: exit %d, stdout %r, stderr %r" % (st, out, err))
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"x" * (1048576 + 1))
            f.flush()
            expect([rpx, "-H", u, "spawn", "--stdin-file", f.name, "--", "cat"], 1,
                   stderr_re=r"^rpx: spawn: --stdin-file .*: more than 1048576 bytes")
            expect([rpx, "-H", u, "spawn", "--stdin-file", "/nonexistent", "--", "cat"], 1,
                   stderr_re=r"^rpx: spawn: --stdin-file /nonexistent: No such file")
        # Exactly the limit of arguments is fine.
        expect([rpx, "-H", u, "run", "--", "sh", "-c", 'echo $#', "sh"] + ["y"] * 4092, 0,
               stdout="4092\n")
        expect([rpx, "-H", u, "spawn", "--name", "n" * 257, "--", "true"], 1,
               stderr_re=r"^rpx: spawn: the job name is 257 bytes long; the limit is 256\n$")
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        if out:
            fail("ps after refused spawns: %r" % out)

        # Two hosts for a job command: usage error.
        expect([rpx, "-H", u, "-H", t, "ps"], 2, stderr_re="one host at a time")
    finally:
        d.stop()

    # With --insecure, TCP callers may spawn and kill (as rpxd's user).
    d = Rpxd(rpxd, ["--insecure"])
    t = d.urls["tcp"]
    try:
        st, out, err, _ = run([rpx, "-H", t, "run", "--", "sh", "-c", "echo over tcp; exit 6"])
        if (st, out) != (6, "over tcp\n"):
            fail("run over TCP with --insecure: exit %d, stdout %r, stderr %r" % (st, out, err))
        job = spawn(rpx, t, "--", "sleep", "100")
        expect([rpx, "-H", t, "kill", "-s", "KILL", str(job)], 0)
        expect([rpx, "-H", t, "wait", str(job)], 137)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
