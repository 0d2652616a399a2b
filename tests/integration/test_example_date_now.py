#!/usr/bin/env python3
"""examples/date_now, built in-tree against librpx, prints a real rpxd's time over tcp, udp and unix, and fails cleanly without one.

Environment: RPXD, RPX_EXAMPLE (paths of the binaries).
"""
# ---- shared by the test_cli_*/test_example_* scripts (each is standalone) ----
import os
import re
import select
import shutil
import signal
import socket
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
    """A real rpxd on port 0 (tcp, udp) and a Unix socket, daytime off."""

    def __init__(self, rpxd):
        self.tmp = tempfile.mkdtemp(prefix="rpx-cli-")
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        self.proc = subprocess.Popen(
            [rpxd, "--listen", "tcp://127.0.0.1:0", "--listen", "udp://127.0.0.1:0",
             "--listen", "unix:" + os.path.join(self.tmp, "s"), "--daytime", "off",
             "--state-dir", state],
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
        for t in ("tcp", "udp", "unix"):
            if t not in self.urls:
                self.stop()
                fail("rpxd printed no 'listening %s' line: %r" % (t, self.urls))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                shutil.rmtree(self.tmp, ignore_errors=True)
                fail("rpxd did not exit within 5 s of SIGTERM")
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.proc.returncode != 0:
            fail("rpxd exited with status %r" % self.proc.returncode)


def run(argv, env=None, timeout=10):
    """Runs argv; returns (status, stdout, stderr, seconds)."""
    e = dict(os.environ)
    e.pop("RPX_HOST", None)
    if env:
        e.update(env)
    t0 = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       env=e, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def expect_ok(argv, **kw):
    st, out, err, _ = run(argv, **kw)
    if st != 0:
        fail("%s: exit %d, stderr %r" % (" ".join(argv), st, err))
    if err:
        fail("%s: unexpected stderr %r" % (" ".join(argv), err))
    return out


def free_tcp_port():
    """A loopback port where nothing listens (bound then closed)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
# ---- end of shared part ----

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) \S+ "
                  r"\(-?\d+\.\d{9} s since the epoch, UTC[+-]\d+ s\)\n$")


def main():
    example = binary("RPX_EXAMPLE")
    d = Rpxd(binary("RPXD"))
    try:
        for t in ("tcp", "udp", "unix"):
            out = expect_ok([example, d.urls[t]])
            if not LINE.match(out):
                fail("date_now %s: unexpected output %r" % (d.urls[t], out))
    finally:
        d.stop()
    port = free_tcp_port()
    st, out, err, _ = run([example, "tcp://127.0.0.1:%d" % port])
    if st == 0 or err != "date_now: tcp://127.0.0.1:%d: connection refused\n" % port:
        fail("date_now against a closed port: exit %d, stderr %r" % (st, err))
    print("ok")


if __name__ == "__main__":
    main()
