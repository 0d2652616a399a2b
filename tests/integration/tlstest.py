"""tlstest: helpers for the RPC-with-TLS (RFC 9289) integration tests of rpxd.

Certificates are made with the stock `openssl` command into a temporary
directory (Pki): certificate authorities, a server certificate with
subjectAltName IP:127.0.0.1, client certificates from a CA, and an expired
client certificate (`openssl ca` with -startdate/-enddate in the past: the
OpenSSL 3.0 `x509` command cannot back-date a certificate).

The client side is Python's ssl module, never the project's C code: the AUTH_TLS
probe (RFC 9289 section 4.1) goes out in clear text with record marking, its
reply is read byte by byte up to its end (so no TLS byte is consumed), then the
same socket is wrapped in TLS 1.3 with ALPN "sunrpc" (TlsStream). TlsStream
has the interface of rpxtest.Stream (send, recv_record, recv_reply, call_raw,
wait_closed, quiet_for), so rpxtest.Client and proctest.ProcClient can run over
it (tls_client, tls_proc_client).

Audit lines (`rpxd: info: audit: ...` on rpxd's stderr) are found by the
client's own port (audit_lines, wait_audit).

Python 3 standard library and the openssl command only. Every wait has a
deadline.
"""

import os
import re
import select
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpxtest  # noqa: E402
from rpxtest import (  # noqa: E402,F401
    AUTH_BADCRED, AUTH_BADVERF, AUTH_ERROR, AUTH_NONE, AUTH_NONE_AUTH, AUTH_TLS, AUTH_TOOWEAK, CALL,
    Client, Closed, DATE_NOW, DATE_NULL, DATE_PROG, DATE_VERS, DEFAULT_TIMEOUT,
    LAST_FRAGMENT, MSG_ACCEPTED, MSG_DENIED, REPLY, Reply, Rpxd, SKIP, SUCCESS, Stream,
    TestFailure, Timeout, check, decode_now, check_now_res, encode_call, eq, expect_denied,
    expect_success, fail, frame, log, new_xid, x_opaque, x_uint)

STARTTLS = b"STARTTLS"
ALPN = "sunrpc"


def openssl_path():
    p = shutil.which("openssl")
    if p is None:
        log("openssl command not found: skipped")
        sys.exit(SKIP)
    return p


def run_openssl(args, what, cwd=None, input=None):
    p = subprocess.run([openssl_path()] + list(args), cwd=cwd, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL,
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        fail("openssl %s (%s) failed with status %d:\n%s"
             % (args[0], what, p.returncode, p.stderr.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


# ---- certificates -----------------------------------------------------------

CA_CNF = """\
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
commonName = supplied
organizationName = optional
"""


class Cert:
    """A certificate and its key on disk, with what rpxd's --tls-users matches."""

    def __init__(self, crt, key):
        self.crt = crt
        self.key = key
        out = run_openssl(["x509", "-in", crt, "-noout", "-fingerprint", "-sha256"],
                          "fingerprint of " + crt)
        m = re.search(r"Fingerprint=([0-9A-F:]{95})", out)
        check(m, "cannot parse the fingerprint of %s: %r" % (crt, out))
        self.fingerprint = m.group(1)
        out = run_openssl(["x509", "-in", crt, "-noout", "-subject", "-nameopt", "RFC2253"],
                          "subject of " + crt)
        check(out.startswith("subject="), "cannot parse the subject of %s: %r" % (crt, out))
        self.subject = out[len("subject="):].strip()

    def __repr__(self):
        return "Cert(%s %s)" % (self.subject, self.fingerprint[:11])


class CA(Cert):
    def __init__(self, pki, name):
        self.pki = pki
        self.name = name
        self.dir = os.path.join(pki.dir, "ca-" + name)
        os.mkdir(self.dir)
        with open(os.path.join(self.dir, "ca.cnf"), "w") as f:
            f.write(CA_CNF)
        open(os.path.join(self.dir, "index.txt"), "w").close()
        with open(os.path.join(self.dir, "serial"), "w") as f:
            f.write("%04X\n" % (0x1000 + len(pki.cas)))
        crt = os.path.join(self.dir, "ca.crt")
        key = os.path.join(self.dir, "ca.key")
        run_openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
                     "-days", "3650", "-subj", "/O=rpx test/CN=%s" % name,
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign"], "CA " + name)
        Cert.__init__(self, crt, key)
        self.serial = 0

    def issue(self, cn, ext_lines, days=30, startdate=None, enddate=None, org="rpx test"):
        """A leaf certificate signed by this CA: Cert."""
        self.serial += 1
        stem = os.path.join(self.pki.dir, "%s-%s-%d" % (self.name, re.sub(r"\W", "_", cn),
                                                         self.serial))
        key, csr, crt, ext = stem + ".key", stem + ".csr", stem + ".crt", stem + ".ext"
        subj = ("/O=%s/CN=%s" % (org, cn)) if org else "/CN=%s" % cn
        run_openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                     "-nodes", "-keyout", key, "-out", csr, "-subj", subj], "CSR " + cn)
        with open(ext, "w") as f:
            f.write("\n".join(["basicConstraints=critical,CA:FALSE",
                               "keyUsage=critical,digitalSignature"] + list(ext_lines)) + "\n")
        if startdate is None:
            run_openssl(["x509", "-req", "-in", csr, "-CA", self.crt, "-CAkey", self.key,
                         "-set_serial", str(self.serial * 7919 + len(self.pki.cas)),
                         "-days", str(days), "-sha256", "-extfile", ext, "-out", crt],
                        "sign " + cn)
        else:
            # Back-dated: `openssl ca` takes explicit validity dates.
            run_openssl(["ca", "-batch", "-config", "ca.cnf", "-cert", self.crt,
                         "-keyfile", self.key, "-in", csr, "-out", crt, "-notext",
                         "-startdate", startdate, "-enddate", enddate, "-extfile", ext],
                        "sign (dated) " + cn, cwd=self.dir)
        return Cert(crt, key)

    def server(self, names=("127.0.0.1",)):
        sans = ",".join(("IP:" if re.match(r"^[\d.]+$|:", n) else "DNS:") + n for n in names)
        return self.issue(names[0], ["subjectAltName=" + sans,
                                     "extendedKeyUsage=serverAuth"])

    def client(self, cn, san=None, expired=False):
        ext = ["extendedKeyUsage=clientAuth"]
        if san:
            ext.append("subjectAltName=DNS:" + san)
        if expired:
            return self.issue(cn, ext, startdate="20200101000000Z", enddate="20200201000000Z")
        return self.issue(cn, ext)


class Pki:
    """A temporary directory of CAs and certificates (removed by close)."""

    def __init__(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="rpxtls-")
        self.cas = []

    def ca(self, name):
        ca = CA(self, name)
        self.cas.append(ca)
        return ca

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, text):
        p = self.path(name)
        with open(p + ".tmp", "w") as f:
            f.write(text)
        os.replace(p + ".tmp", p)
        return p

    def bundle(self, name, certs):
        """A PEM file of several certificates (a CA bundle)."""
        text = ""
        for c in certs:
            with open(c.crt) as f:
                text += f.read()
        return self.write(name, text)

    def close(self):
        if os.environ.get("RPXTEST_KEEP"):
            log("tls: kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


class Setup:
    """The usual PKI of a test: one CA for the server and the clients (ca),
    another CA rpxd does not trust (other), the server certificate, and
    clients: alice (mapped by fingerprint to nobody), bob (unmapped), eve (from
    the other CA), old (expired, from ca)."""

    def __init__(self, pki):
        self.pki = pki
        self.ca = pki.ca("rpxtest-ca")
        self.other = pki.ca("rpxtest-other-ca")
        self.server = self.ca.server()
        self.alice = self.ca.client("alice")
        self.bob = self.ca.client("bob")
        self.eve = self.other.client("alice")  # same subject as alice, wrong issuer
        self.old = self.ca.client("old", expired=True)

    def rpxd_args(self, client_ca=True, users=None, require=False):
        a = ["--tls-cert", self.server.crt, "--tls-key", self.server.key]
        if client_ca:
            a += ["--tls-client-ca", client_ca if isinstance(client_ca, str) else self.ca.crt]
        if users is not None:
            a += ["--tls-users", self.pki.write("users", users)]
        if require:
            a += ["--tls-require"]
        return a


# ---- the probe (RFC 9289 section 4.1) ----------------------------------------


def probe_call(xid, prog=DATE_PROG, vers=DATE_VERS, proc=0):
    """A NULL call with credential AUTH_TLS (empty body) and an AUTH_NONE verifier."""
    return encode_call(xid, proc, prog=prog, vers=vers, cred=(AUTH_TLS, b""))


def starttls_reply(xid):
    """The exact bytes of the reply that offers TLS: MSG_ACCEPTED, verifier
    AUTH_NONE with body "STARTTLS", SUCCESS, no results."""
    return (x_uint(xid) + x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(AUTH_NONE)
            + x_opaque(STARTTLS) + x_uint(SUCCESS))


def plain_reply(xid):
    """A NULL SUCCESS reply with an empty AUTH_NONE verifier (TLS not offered)."""
    return (x_uint(xid) + x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(AUTH_NONE)
            + x_uint(0) + x_uint(SUCCESS))


def recv_exact(sock, n, deadline):
    """Exactly n bytes (no more) from a plain socket."""
    out = bytearray()
    while len(out) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        r, _, _ = select.select([sock], [], [], left)
        if not r:
            raise Timeout()
        try:
            b = sock.recv(n - len(out))
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        if not b:
            raise Closed()
        out += b
    return bytes(out)


def recv_record_exact(sock, timeout=DEFAULT_TIMEOUT):
    """One record from a plain socket, reading not one byte past its end."""
    deadline = time.monotonic() + timeout
    record = bytearray()
    while True:
        hdr = struct.unpack(">I", recv_exact(sock, 4, deadline))[0]
        record += recv_exact(sock, hdr & 0x7FFFFFFF, deadline)
        if hdr & LAST_FRAGMENT:
            return bytes(record)


def plain_socket(addr, timeout=DEFAULT_TIMEOUT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(addr)
    return s


def send_probe(sock, xid=None):
    """Sends the probe and checks the STARTTLS reply byte for byte."""
    if xid is None:
        xid = new_xid()
    sock.sendall(frame(probe_call(xid)))
    got = recv_record_exact(sock)
    eq(got.hex(), starttls_reply(xid).hex(), "STARTTLS reply to the AUTH_TLS probe (bytes)")
    return xid


# ---- TLS clients ---------------------------------------------------------------


def client_context(ca=None, cert=None, alpn=(ALPN,), min_version=ssl.TLSVersion.TLSv1_3,
                   max_version=ssl.TLSVersion.TLSv1_3):
    """An SSLContext that verifies rpxd's certificate against ca (a Cert or a path)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = min_version
    ctx.maximum_version = max_version
    if ca is not None:
        ctx.load_verify_locations(ca.crt if isinstance(ca, Cert) else ca)
        ctx.check_hostname = True
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(cert.crt, cert.key)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


class TlsStream(Stream):
    """A record-marking stream over an established TLS session (rpxtest.Stream's
    interface). tls_error: the SSLError that ended it, if one did."""

    def __init__(self, ssock, timeout=DEFAULT_TIMEOUT):
        self.sock = ssock
        self.timeout = timeout
        self.buf = bytearray()
        self.eof = False
        self.last_fragments = 0
        self.tls_error = None

    def local_port(self):
        return self.sock.getsockname()[1]

    def send(self, data):
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_records(self, chunks):
        """Each chunk in its own SSL_write, so in its own TLS record(s)."""
        self.sock.settimeout(self.timeout)
        for c in chunks:
            self.sock.sendall(c)

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        if self.sock.pending() == 0:
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                raise Timeout()
        self.sock.settimeout(max(left, 0.01))
        try:
            b = self.sock.recv(1 << 16)
        except socket.timeout:
            raise Timeout()
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
            b = b""
        except ssl.SSLError as e:
            self.tls_error = e
            b = b""
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True


def tls_handshake(sock, ctx, timeout=DEFAULT_TIMEOUT):
    """Wraps a connected socket (the probe already answered) in TLS; returns TlsStream.
    SSLError/OSError from the handshake propagate."""
    sock.settimeout(timeout)
    ssock = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    return TlsStream(ssock, timeout)


def tls_connect(server, ctx, timeout=DEFAULT_TIMEOUT, port=None):
    """Probe, check STARTTLS, handshake: a TlsStream. Checks ALPN and TLS 1.3."""
    addr = server.rpc_addr("tcp") if port is None else ("127.0.0.1", port)
    sock = plain_socket(addr, timeout)
    try:
        send_probe(sock)
        st = tls_handshake(sock, ctx, timeout)
    except BaseException:
        sock.close()
        raise
    eq(st.sock.version(), "TLSv1.3", "negotiated TLS version")
    eq(st.sock.selected_alpn_protocol(), ALPN, "negotiated ALPN protocol")
    return st


class TlsClient(Client):
    """rpxtest.Client (null, now, format, call) over a TlsStream."""

    def __init__(self, server, ctx, timeout=DEFAULT_TIMEOUT):
        self.transport = "tcp"
        self.conn = tls_connect(server, ctx, timeout)


def tls_proc_client(server, ctx, timeout=10.0):
    """proctest.ProcClient over a TlsStream."""
    import proctest
    c = proctest.ProcClient.__new__(proctest.ProcClient)
    c.transport = "tcp"
    c.conn = tls_connect(server, ctx, timeout)
    c.timeout = timeout
    c.stash = {}
    return c


def try_session(server, ctx, what, timeout=DEFAULT_TIMEOUT):
    """Probe, handshake, one NULL call. Returns (local port, None) when the
    session works, or (local port, error text) when it does not come up: the
    handshake fails, or (TLS 1.3: the server checks the client's certificate
    after the client has finished) the NULL gets an alert or the end of the
    connection instead of its reply ("closed" when no alert came)."""
    sock = plain_socket(server.rpc_addr("tcp"), timeout)
    port = sock.getsockname()[1]
    try:
        send_probe(sock)
        try:
            st = tls_handshake(sock, ctx, timeout)
        except (ssl.SSLError, ConnectionError) as e:
            return port, str(e)
        try:
            xid = new_xid()
            st.send(frame(encode_call(xid, DATE_NULL)))
        except (ssl.SSLError, ConnectionError) as e:
            return port, str(e)
        try:
            r = st.recv_reply(timeout)
        except Closed:
            return port, str(st.tls_error) if st.tls_error else "closed"
        eq(expect_success(r, xid, what + ": NULL inside TLS"), b"", "NULL results")
        return port, None
    finally:
        sock.close()


def expect_refused(server, ctx, what, alert, timeout=DEFAULT_TIMEOUT):
    """The probe is answered STARTTLS, then the TLS session does not come up,
    and the client learns why from a TLS alert whose OpenSSL name contains
    `alert` (e.g. "NO_APPLICATION_PROTOCOL", "UNKNOWN_CA"), not from a bare
    end of the connection. Returns (local port, error text)."""
    port, err = try_session(server, ctx, what, timeout)
    if err is None:
        fail("%s: the TLS session was accepted and served a NULL call" % what)
    # OpenSSL names an alert "NO_APPLICATION_PROTOCOL" or "no application protocol"
    # depending on whether it knows the reason code; both are the alert.
    if alert.lower().replace("_", " ") not in err.lower().replace("_", " "):
        fail("%s: the session was refused, but the client got %r instead of a TLS alert "
             "%s (rpxd must send the alert before closing)" % (what, err, alert))
    return port, err


# ---- audit lines --------------------------------------------------------------

AUDIT_PREFIX = "rpxd: info: audit: "


def audit_lines(server, needle=None):
    """rpxd's audit lines so far (those containing needle, if given)."""
    out = []
    for line in server.stderr().splitlines():
        if line.startswith(AUDIT_PREFIX) and (needle is None or needle in line):
            out.append(line)
    return out


def peer_tag(port):
    """How an audit line names our connection: the client's address and port."""
    return "127.0.0.1:%d " % port


def audit_lines_after(server, needle, want, timeout=5.0):
    """rpxd's audit lines containing needle once there are want of them, or
    after timeout: rpxd logs a session's end of handshake after its last
    handshake bytes have left, so the client may see them first."""
    deadline = time.monotonic() + timeout
    while len(audit_lines(server, needle)) < want and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)  # a line too many comes now, if one does
    return audit_lines(server, needle)


def wait_audit(server, port, pattern, timeout=5.0, what="audit line"):
    """The one audit line about our port matching the regex pattern; fails when
    none comes within timeout. Returns the line."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    tag = "127.0.0.1:%d" % port
    while True:
        lines = [l for l in audit_lines(server) if re.search(re.escape(tag) + r"\b", l)]
        hits = [l for l in lines if rx.search(l)]
        if hits:
            return hits[0]
        if time.monotonic() > deadline:
            fail("%s: no audit line for %s matching %r within %.0f s; audit lines for it: %r"
                 % (what, tag, pattern, timeout, lines))
        time.sleep(0.05)


def port_audit_lines(server, port):
    tag = "127.0.0.1:%d" % port
    return [l for l in audit_lines(server) if re.search(re.escape(tag) + r"\b", l)]


def passwd_uid(name):
    import pwd
    return pwd.getpwnam(name).pw_uid

