#!/usr/bin/env python3
"""rpx date prints a real rpxd's time over tcp, udp and unix: plain, several hosts, --json, --utc, --at.

Environment: RPXD, RPX (paths of the binaries).
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
import json

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    try:
        for t in ("tcp", "udp", "unix"):
            out = expect_ok([rpx, "-H", d.urls[t], "date"])
            if not re.match(r"^%s \S+\n$" % RFC3339, out):
                fail("date over %s: unexpected output %r" % (t, out))

        # Several hosts: each line starts with the URL.
        urls = [d.urls["tcp"], d.urls["udp"], d.urls["unix"]]
        out = expect_ok([rpx, "-H", urls[0], "-H", urls[1], "-H", urls[2], "date"])
        lines = out.splitlines()
        if len(lines) != 3:
            fail("date of 3 hosts: expected 3 lines, got %r" % out)
        for url, l in zip(urls, lines):
            if not re.match(r"^%s: %s \S+$" % (re.escape(url), RFC3339), l):
                fail("date of 3 hosts: line %r does not start with %s" % (l, url))

        # --json: one object per host and line, fields typed, time close to ours.
        out = expect_ok([rpx, "date", "--json", "-H", urls[0], "-H", urls[1], "-H", urls[2]])
        lines = out.splitlines()
        if len(lines) != 3:
            fail("date --json: expected 3 lines, got %r" % out)
        for url, l in zip(urls, lines):
            try:
                obj = json.loads(l)
            except ValueError as e:
                fail("date --json: not JSON (%s): %r" % (e, l))
            keys = {"host", "seconds", "nanoseconds", "utc_offset", "zone", "rfc3339"}
            if set(obj) != keys:
                fail("date --json: keys %r, want %r" % (sorted(obj), sorted(keys)))
            if obj["host"] != url:
                fail("date --json: host %r, want %r" % (obj["host"], url))
            for k in ("seconds", "nanoseconds", "utc_offset"):
                if not isinstance(obj[k], int):
                    fail("date --json: %s is not an integer: %r" % (k, obj[k]))
            if not 0 <= obj["nanoseconds"] < 10**9:
                fail("date --json: nanoseconds out of range: %r" % obj["nanoseconds"])
            if abs(obj["seconds"] - time.time()) > 60:
                fail("date --json: seconds %r far from now" % obj["seconds"])
            if not re.match("^%s$" % RFC3339, obj["rfc3339"]):
                fail("date --json: bad rfc3339 %r" % obj["rfc3339"])
            if not isinstance(obj["zone"], str) or not obj["zone"]:
                fail("date --json: bad zone %r" % obj["zone"])

        # --utc: rendered in UTC, offset 0.
        out = expect_ok([rpx, "-H", d.urls["udp"], "date", "--utc", "--json"])
        obj = json.loads(out)
        if obj["utc_offset"] != 0 or not re.search(r"(Z|\+00:00)$", obj["rfc3339"]):
            fail("date --utc: not UTC: %r" % out)

        # --at: the server renders a given instant (FORMAT), negative ones included.
        out = expect_ok([rpx, "-H", d.urls["tcp"], "date", "--utc", "--at", "0", "--json"])
        obj = json.loads(out)
        if (obj["seconds"], obj["nanoseconds"]) != (0, 0) or \
                not obj["rfc3339"].startswith("1970-01-01T00:00:00"):
            fail("date --at 0 --utc: %r" % out)
        out = expect_ok([rpx, "-H", d.urls["unix"], "date", "--utc", "--at", "-1.5", "--json"])
        obj = json.loads(out)
        if (obj["seconds"], obj["nanoseconds"]) != (-2, 500000000) or \
                not obj["rfc3339"].startswith("1969-12-31T23:59:58.5"):
            fail("date --at -1.5 --utc: %r" % out)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
