"""asynctest: helpers of the async client tests (test_async_*.py).

Finds (or builds) async_driver, the C program that drives librpx's
rpx/async.h API, runs it and parses its per-call lines; provides small fake
RPC servers (a TCP server that answers in an order the test chooses, a
silent UDP socket that only counts datagrams) and an RPC-with-TLS test server
(RFC 9289: AUTH_TLS probe, STARTTLS, TLS 1.3 with ALPN "sunrpc", then
record-marked NULL/NOW replies inside TLS) built on Python's ssl module, with
certificates made by the openssl command in a temporary directory.

Python 3 standard library only. Every wait has a deadline.
"""

import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import (  # noqa: E402,F401
    AUTH_NONE, AUTH_TLS, CALL, DATE_NOW, DATE_NULL, DATE_PROG, DATE_VERS, LAST_FRAGMENT,
    MSG_ACCEPTED, MSG_DENIED, AUTH_ERROR, AUTH_BADCRED, REPLY, SKIP, SUCCESS, Rpxd, Unpacker,
    check, eq, fail, log, rpxd_path, x_hyper, x_int, x_opaque, x_string, x_uint)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def build_dir():
    b = os.environ.get("RPX_BUILD_DIR")
    if b:
        return b
    return os.path.dirname(os.path.dirname(os.path.abspath(rpxd_path())))


def _pkg(*mods):
    r = subprocess.run(["pkg-config", "--cflags", "--libs"] + list(mods), capture_output=True,
                       text=True, timeout=10)
    if r.returncode != 0:
        fail("pkg-config %s: %s" % (" ".join(mods), r.stderr))
    return r.stdout.split()


def driver_path():
    """$ASYNC_DRIVER, BUILD/tests/async/async_driver, or one built here against BUILD's librpx.so."""
    p = os.environ.get("ASYNC_DRIVER")
    if p:
        return p
    b = os.path.abspath(build_dir())
    p = os.path.join(b, "tests", "async", "async_driver")
    if os.path.exists(p):
        return p
    lib = os.path.join(b, "stubs")
    src = os.path.join(HERE, "async_driver.c")
    out = os.path.join(b, "tests", "integration", "async_driver")
    deps = [src, os.path.join(lib, "librpx.so"),
            os.path.join(REPO, "stubs", "include", "rpx", "async.h")]
    check(os.path.exists(deps[1]), "no %s: build librpx first" % deps[1])
    if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(d) for d in deps):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = "%s.%d.tmp" % (out, os.getpid())
    extra = os.environ.get("RPX_USER_CFLAGS", "").split()
    cmd = (["cc", "-g", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type",
            "-Werror", "-o", tmp, src, "-I" + os.path.join(REPO, "stubs", "include"),
            "-I" + os.path.join(b, "stubs", "gen"), "-L" + lib, "-Wl,-rpath," + lib, "-lrpx"]
           + extra + _pkg("libtirpc", "libevent_core"))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail("building async_driver failed: %s\n%s" % (" ".join(cmd), r.stderr))
    os.rename(tmp, out)
    return out


class Result:
    """Parsed output of one async_driver run."""

    def __init__(self, status, out, err, elapsed):
        self.status, self.out, self.stderr, self.elapsed = status, out, err, elapsed
        self.calls = {}  # (url, index) -> ("ok", kind, rest) or ("err", errno, text)
        self.stats = {}  # url -> {name: int}
        self.opens = {}  # url -> error text
        self.again = {}  # url -> (return of a call after all completed, error text)
        self.elapsed_ms = None
        for line in out.splitlines():
            w = line.split(" ", 4)
            if w[0] == "call":
                key = (int(w[1]), int(w[2]))
                check(key not in self.calls, "call %r reported twice:\n%s" % (key, out))
                if w[3] == "ok":
                    self.calls[key] = ("ok", w[4].split(" ", 1)[0], w[4])
                else:
                    self.calls[key] = ("err", int(w[4].split(" ", 1)[0]),
                                       w[4].split(" ", 1)[1] if " " in w[4] else "")
            elif w[0] == "stats":
                self.stats[int(w[1])] = {k: int(v) for k, v in
                                         (kv.split("=") for kv in line.split()[2:])}
            elif w[0] == "again":
                self.again[int(w[1])] = (int(w[2]), line.split(" ", 3)[3] if len(w) > 3 else "")
            elif w[0] == "open":
                self.opens[int(w[1])] = line.split(" ", 3)[3]
            elif w[0] == "elapsed_ms":
                self.elapsed_ms = int(w[1])
            else:
                fail("async_driver: unexpected line %r\n%s" % (line, out))

    def ok(self, key):
        r = self.calls.get(key)
        check(r is not None, "no result for call %r:\n%s" % (key, self.out))
        check(r[0] == "ok", "call %r failed: %r" % (key, r))
        return r

    def err(self, key):
        r = self.calls.get(key)
        check(r is not None, "no result for call %r:\n%s" % (key, self.out))
        check(r[0] == "err", "call %r should have failed: %r" % (key, r))
        return r[1], r[2]


def run_driver(args, timeout=60, expect_status=0):
    argv = [driver_path()] + [str(a) for a in args]
    log("run: %s" % " ".join(argv))
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail("async_driver did not finish within %d s: %s" % (timeout, " ".join(argv)))
    elapsed = time.monotonic() - t0
    if expect_status is not None and p.returncode != expect_status:
        fail("async_driver exit %d (want %d)\nstdout:\n%s\nstderr:\n%s"
             % (p.returncode, expect_status, p.stdout, p.stderr))
    return Result(p.returncode, p.stdout, p.stderr, elapsed)


def rpxd_urls(d):
    """{'tcp': URL, 'udp': URL, 'unix': URL} from an rpxtest.Rpxd's listening lines."""
    urls = {}
    for line in d.stdout_lines:
        w = line.split()
        if len(w) == 2 and w[0] == "listening":
            kind = w[1].split(":", 1)[0]
            urls.setdefault(kind, w[1])
    return urls


# ---- RPC on the wire (independent of the C code) ----------------------------


def recv_exact(sock, n, deadline):
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        sock.settimeout(left)
        b = sock.recv(n - len(buf))
        if not b:
            raise EOFError("closed")
        buf += b
    return buf


def recv_record(sock, timeout=5.0):
    deadline = time.monotonic() + timeout
    rec = b""
    while True:
        (hdr,) = struct.unpack(">I", recv_exact(sock, 4, deadline))
        rec += recv_exact(sock, hdr & 0x7FFFFFFF, deadline)
        if hdr & LAST_FRAGMENT:
            return rec


def parse_call(msg):
    """(xid, prog, vers, proc, cred_flavor, cred_body) of a call message."""
    u = Unpacker(msg, "call")
    xid = u.uint()
    eq(u.uint(), CALL, "msg_type")
    eq(u.uint(), 2, "rpcvers")
    prog, vers, proc = u.uint(), u.uint(), u.uint()
    flavor, body = u.uint(), u.opaque(400)
    u.uint()
    u.opaque(400)
    return xid, prog, vers, proc, flavor, body


def accepted(xid, results=b"", verf=(AUTH_NONE, b"")):
    return (x_uint(xid) + x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(verf[0])
            + x_opaque(verf[1]) + x_uint(SUCCESS) + results)


def now_results(t=None):
    t = time.time() if t is None else t
    s = int(t)
    ns = int((t - s) * 1e9)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ".%09dZ" % ns
    return x_hyper(s) + x_uint(ns) + x_int(0) + x_string("UTC") + x_string(text)


def answer(call_msg):
    """The reply of a DATE NULL or NOW call."""
    xid, prog, vers, proc, _, _ = parse_call(call_msg)
    return accepted(xid, now_results() if proc == DATE_NOW else b"")


def framed(msg):
    return struct.pack(">I", LAST_FRAGMENT | len(msg)) + msg


# ---- fake servers ------------------------------------------------------------


class Server:
    """A listening socket served by a thread; stop() always joins it."""

    def __init__(self, kind=socket.SOCK_STREAM):
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.errors = []
        self.threads = []
        t = threading.Thread(target=self._main, daemon=True)
        self.threads.append(t)
        t.start()

    def _main(self):
        try:
            self.run()
        except Exception as e:  # noqa: BLE001 - reported by the test
            if not self.stopping.is_set():
                self.errors.append("%s: %r" % (type(self).__name__, e))

    def spawn(self, fn, *a):
        t = threading.Thread(target=self._guard, args=(fn,) + a, daemon=True)
        self.threads.append(t)
        t.start()

    def _guard(self, fn, *a):
        try:
            fn(*a)
        except Exception as e:  # noqa: BLE001
            if not self.stopping.is_set():
                self.errors.append("%s: %r" % (type(self).__name__, e))

    def accept_loop(self, handler):
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.setblocking(True)
            self.spawn(handler, conn)

    def stop(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        for t in self.threads:
            t.join(5)


class SilentUdp(Server):
    """A UDP socket that never answers and records every datagram it gets."""

    def __init__(self):
        self.datagrams = []  # (monotonic time, bytes)
        super().__init__(socket.SOCK_DGRAM)

    def run(self):
        self.sock.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.datagrams.append((time.monotonic(), data))


class BatchTcp(Server):
    """Reads `batch` calls on each connection, then answers them all in `order`
    ("reverse" or "same"), sending first the replies in `extra` (bytes of
    whole messages, e.g. replies with unknown XIDs). With delay, waits that
    long before answering."""

    def __init__(self, batch, order="reverse", extra=(), delay=0.0):
        self.batch, self.order, self.extra, self.delay = batch, order, list(extra), delay
        self.xids = []
        super().__init__()

    def run(self):
        self.accept_loop(self.serve)

    def serve(self, conn):
        with conn:
            calls = [recv_record(conn, 10) for _ in range(self.batch)]
            self.xids.extend(parse_call(c)[0] for c in calls)
            if self.delay:
                time.sleep(self.delay)
            if self.order == "reverse":
                calls.reverse()
            out = b"".join(framed(m) for m in self.extra)
            out += b"".join(framed(answer(c)) for c in calls)
            # A duplicate of the first reply: its call is done, so its XID is unknown now.
            out += framed(answer(calls[0]))
            conn.sendall(out)
            try:
                conn.settimeout(5)
                conn.recv(1)  # until the client closes
            except OSError:
                pass


# ---- RPC-with-TLS test server ------------------------------------------------


def openssl_bin():
    p = shutil.which("openssl")
    if p is None:
        sys.stderr.write("SKIP: openssl command not found\n")
        sys.exit(SKIP)
    return p


class Certs:
    """A CA, a server certificate for localhost / 127.0.0.1 signed by it, a
    client certificate signed by it, and a second, unrelated CA."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rpx-async-tls-")
        o = openssl_bin()
        p = lambda n: os.path.join(self.dir, n)  # noqa: E731
        self.ca, self.ca_key = p("ca.pem"), p("ca.key")
        self.other_ca, self.other_ca_key = p("other-ca.pem"), p("other-ca.key")
        self.server, self.server_key = p("server.pem"), p("server.key")
        self.client, self.client_key = p("client.pem"), p("client.key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        for cert, key, cn in ((self.ca, self.ca_key, "rpx test CA"),
                              (self.other_ca, self.other_ca_key, "rpx other CA")):
            self._run([o, "req", "-x509"] + ec + ["-keyout", key, "-out", cert, "-days", "2",
                                                   "-subj", "/CN=" + cn])
        for cert, key, cn, ext in (
                (self.server, self.server_key, "localhost",
                 "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                (self.client, self.client_key, "rpx test client",
                 "extendedKeyUsage=clientAuth\n")):
            csr, extf = cert + ".csr", cert + ".ext"
            with open(extf, "w") as f:
                f.write(ext)
            self._run([o, "req", "-new"] + ec + ["-keyout", key, "-out", csr, "-subj",
                                                  "/CN=" + cn])
            self._run([o, "x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
                       "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extf])

    @staticmethod
    def _run(argv):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            fail("%s: %s" % (" ".join(argv), r.stderr))

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class TlsServer(Server):
    """RFC 9289 server for the tests.

    mode: "ok"           probe -> STARTTLS, TLS 1.3 + ALPN sunrpc, NULL/NOW served
          "nostarttls"   probe accepted with an empty AUTH_NONE verifier (a server
                         that ignores AUTH_TLS), then anything in clear is recorded
          "denied"       probe refused with AUTH_ERROR/AUTH_BADCRED
          "noalpn"       like ok, but the server does not do ALPN
    client_ca: require a client certificate signed by it.
    """

    def __init__(self, certs, mode="ok", client_ca=None):
        self.certs, self.mode = certs, mode
        self.probes = 0
        self.clear_after_probe = 0  # bytes received in clear after a failed probe
        self.handshakes = 0
        self.handshake_errors = []
        self.tls_calls = 0
        self.peer_certs = []
        self.alpn = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(certs.server, certs.server_key)
        if mode != "noalpn":
            ctx.set_alpn_protocols(["sunrpc"])
        if client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(client_ca)
        self.ctx = ctx
        super().__init__()

    def run(self):
        self.accept_loop(self.serve)

    def serve(self, conn):
        try:
            msg = recv_record(conn, 10)
        except (EOFError, OSError):
            conn.close()
            return
        xid, prog, vers, proc, flavor, body = parse_call(msg)
        if flavor != AUTH_TLS or proc != 0 or body != b"":
            self.errors.append("first message is not the AUTH_TLS probe: flavor %d proc %d"
                               % (flavor, proc))
            conn.close()
            return
        self.probes += 1
        if self.mode == "denied":
            conn.sendall(framed(x_uint(xid) + x_uint(REPLY) + x_uint(MSG_DENIED)
                                + x_uint(AUTH_ERROR) + x_uint(AUTH_BADCRED)))
            self._count_clear(conn)
            return
        if self.mode == "nostarttls":
            conn.sendall(framed(accepted(xid)))
            self._count_clear(conn)
            return
        conn.sendall(framed(accepted(xid, verf=(AUTH_NONE, b"STARTTLS"))))
        conn.settimeout(10)
        tls = self.ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as e:
            self.handshake_errors.append(str(e))
            # Close as rpxd does: the alert went out; read until the client
            # closes, so its unread calls do not turn the close into a reset
            # that destroys the alert before the client reads it.
            try:
                tls.shutdown(socket.SHUT_WR)  # drops the TLS object, keeps the socket
            except OSError:
                pass
            self._drain(tls)
            return
        self.handshakes += 1
        self.alpn.append(tls.selected_alpn_protocol())
        self.peer_certs.append(tls.getpeercert())
        with tls:
            while not self.stopping.is_set():
                try:
                    msg = recv_record(tls, 10)
                except (EOFError, OSError, ssl.SSLError):
                    return
                self.tls_calls += 1
                tls.sendall(framed(answer(msg)))

    def _drain(self, conn):
        with conn:
            conn.settimeout(1.0)
            try:
                while socket.socket.recv(conn, 4096):
                    pass
            except OSError:
                return

    def _count_clear(self, conn):
        with conn:
            conn.settimeout(1.0)
            try:
                while True:
                    b = conn.recv(4096)
                    if not b:
                        return
                    self.clear_after_probe += len(b)
            except OSError:
                return

    def url(self, host="127.0.0.1"):
        return "tls://%s:%d" % (host, self.port)


def free_port(kind=socket.SOCK_STREAM):
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
