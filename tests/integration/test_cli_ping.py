#!/usr/bin/env python3
"""rpx ping reaches a real rpxd over tcp, udp and unix and prints one timed line per host and program.

Also: -H is repeatable and accepted after the subcommand, $RPX_HOST is the
default host, --program pings a given program/version, and the server's
PROG_MISMATCH and PROG_UNAVAIL answers come out as one clear line each.
rpx knows the date and proc programs; date must answer, proc either answers
or (while rpxd does not serve it yet) is reported as "program unavailable".
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

PROGRAMS = ("date", "proc")


def ping(rpx, argv, urls, env=None):
    """Runs rpx ping; checks one line per host and program; returns whether proc answered."""
    st, out, err, _ = run([rpx] + argv, env=env)
    ok = re.compile(r"^(\S+) (date|proc) v1: (\d+\.\d{3}) ms$")
    got_out = out.splitlines()
    served = any(" proc v1: " in l for l in got_out)
    want_out, want_err = [], []
    for url in urls:
        for prog in PROGRAMS:
            if prog == "proc" and not served:
                want_err.append("rpx: %s proc v1: server: program unavailable" % url)
            else:
                want_out.append((url, prog))
    parsed = [(ok.match(l).group(1), ok.match(l).group(2)) if ok.match(l) else l for l in got_out]
    if parsed != want_out or err.splitlines() != want_err:
        fail("rpx %s: stdout %r, stderr %r; want lines for %r and errors %r"
             % (" ".join(argv), out, err, want_out, want_err))
    if st != (0 if served else 1):
        fail("rpx %s: exit %d" % (" ".join(argv), st))
    return served


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    try:
        for t in ("tcp", "udp", "unix"):
            ping(rpx, ["-H", d.urls[t], "ping"], [d.urls[t]])

        # Several hosts, in order; -H after the subcommand too.
        urls = [d.urls["tcp"], d.urls["udp"], d.urls["unix"]]
        ping(rpx, ["-H", urls[0], "ping", "-H", urls[1], "--host", urls[2]], urls)

        # $RPX_HOST is the default; the canonical URL is printed for host:port.
        port = d.urls["tcp"].rsplit(":", 1)[1]
        ping(rpx, ["ping"], ["tcp://127.0.0.1:" + port], env={"RPX_HOST": "127.0.0.1:" + port})

        # --program: the right version succeeds, a wrong one and an unknown program fail clearly.
        out = expect_ok([rpx, "-H", d.urls["tcp"], "ping", "-p", "0x20007701:1"])
        if not re.match(r"^\S+ 0x20007701 v1: \d+\.\d{3} ms$", out):
            fail("ping -p 0x20007701:1: unexpected output %r" % out)
        for t in ("tcp", "udp", "unix"):
            st, out, err, _ = run([rpx, "-H", d.urls[t], "ping", "-p", "0x20007701:7",
                                   "-p", "0x3ffffff0", "-p", "0x20007701"])
            if st == 0:
                fail("ping of a wrong version over %s exited 0" % t)
            want = ["rpx: %s 0x20007701 v7: server: version mismatch (server has 1..1)" % d.urls[t],
                    "rpx: %s 0x3ffffff0 v1: server: program unavailable" % d.urls[t]]
            if err.splitlines() != want:
                fail("ping errors over %s: expected %r, got %r" % (t, want, err))
            # The connection survives the errors: the last program still answered.
            if not re.match(r"^\S+ 0x20007701 v1: \d+\.\d{3} ms$", out):
                fail("ping after errors over %s: unexpected output %r" % (t, out))
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
