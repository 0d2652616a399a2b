#!/usr/bin/env python3
"""rpx over UDP resends a call with one XID at doubling intervals, and a reply to a retransmission completes it.

A fake server owned by this test (a plain UDP socket) drops the first two
transmissions of a DATE NOW call and answers the third with a hand-encoded
RFC 5531 reply; rpx must print that reply. Needs no rpxd.
Environment: RPX (path of the binary).
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
import struct
import threading


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def main():
    rpx = binary("RPX")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    seen = []  # (arrival time, datagram)

    def serve():
        sock.settimeout(5)
        try:
            while len(seen) < 3:
                data, peer = sock.recvfrom(65536)
                seen.append((time.monotonic(), data))
                if len(seen) == 3:
                    xid = data[:4]
                    reply = (xid + struct.pack(">IIIII", 1, 0, 0, 0, 0) +
                             struct.pack(">qIi", 1700000000, 123, 3600) +
                             xdr_string("CET") + xdr_string("2023-11-14T23:13:20.000000123+01:00"))
                    sock.sendto(reply, peer)
        except socket.timeout:
            pass

    th = threading.Thread(target=serve)
    th.start()
    st, out, err, secs = run([rpx, "--timeout", "4000", "--retry", "150", "-H",
                              "udp://127.0.0.1:%d" % port, "date", "--json"])
    th.join()
    sock.close()
    if st != 0:
        fail("rpx date against a server answering the 3rd transmission: exit %d, stderr %r"
             % (st, err))
    want = ('{"host":"udp://127.0.0.1:%d","seconds":1700000000,"nanoseconds":123,'
            '"utc_offset":3600,"zone":"CET","rfc3339":"2023-11-14T23:13:20.000000123+01:00"}\n'
            % port)
    if out != want:
        fail("rpx date --json: got %r, want %r" % (out, want))
    if len(seen) != 3:
        fail("expected exactly 3 transmissions, saw %d" % len(seen))
    xids = set(d[:4] for _, d in seen)
    if len(xids) != 1:
        fail("retransmissions used %d different XIDs" % len(xids))
    # Call header: xid, CALL, rpcvers 2, prog, vers, proc NOW.
    _, mtype, rpcvers, prog, vers, proc = struct.unpack(">IIIIII", seen[0][1][:24])
    if (mtype, rpcvers, prog, vers, proc) != (0, 2, 0x20007701, 1, 1):
        fail("unexpected call header %r" % ((mtype, rpcvers, prog, vers, proc),))
    if any(d != seen[0][1] for _, d in seen):
        fail("retransmissions differ from the first transmission")
    gap1 = seen[1][0] - seen[0][0]
    gap2 = seen[2][0] - seen[1][0]
    if not (0.1 <= gap1 < 0.5 and gap2 >= 1.5 * gap1):
        fail("intervals %.3f s then %.3f s: expected about 0.15 s then doubling" % (gap1, gap2))
    print("ok")


if __name__ == "__main__":
    main()
