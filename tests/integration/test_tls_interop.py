"""RPC-with-TLS interoperability: TLS stacks nobody here wrote talk to rpxd. Python's ssl module, and `openssl s_client -alpn sunrpc -tls1_3` behind a relay that sends the AUTH_TLS probe in clear text and checks the STARTTLS reply before passing the TLS bytes through: the probe, the handshake (TLS 1.3, ALPN sunrpc, rpxd's certificate verified for IP 127.0.0.1, the client's certificate), then a NULL and a DATE NOW call inside TLS, byte-checked.

Usage: test_tls_interop.py [case...]   (needs RPXD and the openssl command)
"""

import os
import select
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import main  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403


def case_python_ssl():
    """Python's ssl: probe, TLS 1.3 + ALPN sunrpc with a client certificate,
    NULL (exact bytes) and DATE NOW inside TLS."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(), transports=("tcp",)) as d:
            st = tls_connect(d, client_context(s.ca, s.bob))
            xid = new_xid()
            st.send(frame(encode_call(xid, DATE_NULL)))
            eq(st.recv_record().hex(), plain_reply(xid).hex(), "NULL reply inside TLS (bytes)")
            xid = new_xid()
            now = decode_now(expect_success(st.call_raw(encode_call(xid, DATE_NOW)), xid, "NOW"))
            check_now_res(now, "NOW inside TLS", now=time.time())
            st.close()


class ProbeRelay:
    """Listens on 127.0.0.1; for one client: connects to rpxd, sends the probe,
    checks the STARTTLS reply, then copies bytes both ways until either side
    ends. error: what went wrong in the relay thread, if anything."""

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.error = None
        self.probed = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            self.lsock.settimeout(20)
            a, _ = self.lsock.accept()
            b = plain_socket(self.target)
            send_probe(b)
            self.probed.set()
            socks = [a, b]
            for x in socks:
                x.setblocking(False)
            while True:
                r, _, _ = select.select(socks, [], [], 30)
                if not r:
                    return
                for x in r:
                    y = b if x is a else a
                    try:
                        data = x.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        for z in socks:
                            z.close()
                        return
                    y.setblocking(True)
                    y.sendall(data)
                    y.setblocking(False)
        except Exception as e:  # reported by the test
            self.error = repr(e)

    def close(self):
        self.lsock.close()
        self.thread.join(5)


def s_client(port, s, cert, extra=()):
    args = [openssl_path(), "s_client", "-connect", "127.0.0.1:%d" % port, "-alpn", "sunrpc",
            "-tls1_3", "-CAfile", s.ca.crt, "-verify_return_error", "-verify_ip", "127.0.0.1",
            "-ign_eof"] + list(extra)
    if cert is not None:
        args += ["-cert", cert.crt, "-key", cert.key]
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def read_until(p, want, timeout, what):
    """Reads s_client's stdout until want(bytes) is true; returns the bytes."""
    out = b""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while not want(out):
        left = deadline - time.monotonic()
        if left <= 0:
            fail("%s: not seen within %.0f s; s_client stdout tail %r" % (what, timeout,
                                                                         out[-1500:]))
        r, _, _ = select.select([fd], [], [], left)
        if r:
            b = os.read(fd, 65536)
            if not b:
                fail("%s: s_client ended; stdout tail %r; stderr %r"
                     % (what, out[-1500:], p.stderr.read().decode(errors="replace")))
            out += b
    return out


def find_record(out, xid):
    """The reply record to xid in s_client's stdout (which also holds text)."""
    i = out.find(x_uint(xid) + x_uint(REPLY))
    if i < 4:
        return None
    n = struct.unpack(">I", out[i - 4:i])[0]
    check(n & LAST_FRAGMENT, "reply to %#x is one last fragment" % xid)
    n &= 0x7FFFFFFF
    if len(out) < i + n:
        return None
    return out[i:i + n]


def case_openssl_s_client():
    """openssl s_client -alpn sunrpc -tls1_3 with a client certificate, fed
    the probe by the relay: it verifies rpxd for IP 127.0.0.1, negotiates
    TLSv1.3 and ALPN sunrpc, and a NULL and a DATE NOW call written on its
    stdin are answered on its stdout."""
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s nobody\n" % s.alice.fingerprint
        with Rpxd(s.rpxd_args(users=users), transports=("tcp",)) as d:
            relay = ProbeRelay(d.rpc_addr("tcp"))
            p = s_client(relay.port, s, s.alice)
            try:
                out = read_until(p, lambda o: b"Verify return code" in o and b"\n---\n" in
                                 o[o.find(b"Verify return code"):], 20, "the handshake summary")
                check(relay.probed.is_set(), "the relay sent the probe")
                eq(relay.error, None, "relay error")
                text = out.decode(errors="replace")
                check("ALPN protocol: sunrpc" in text, "s_client: no 'ALPN protocol: sunrpc' in "
                      "%r" % text[-1500:])
                check("TLSv1.3" in text, "s_client: not TLSv1.3: %r" % text[-1500:])
                check("Verify return code: 0 (ok)" in text,
                      "s_client: server certificate not verified: %r" % text[-1500:])
                x1, x2 = new_xid(), new_xid()
                p.stdin.write(frame(encode_call(x1, DATE_NULL)) + frame(encode_call(x2, DATE_NOW)))
                p.stdin.flush()
                out = read_until(p, lambda o: find_record(o, x1) is not None
                                 and find_record(o, x2) is not None, 10, "both replies")
                eq(find_record(out, x1).hex(), plain_reply(x1).hex(), "NULL reply via s_client")
                now = decode_now(expect_success(Reply(find_record(out, x2)), x2, "NOW"))
                check_now_res(now, "NOW via s_client", now=time.time())
                lines = audit_lines(d, "mapped to user nobody")
                eq(len(lines), 1, "session audit lines: %r" % lines)
                check(s.alice.fingerprint in lines[0], "fingerprint in %r" % lines[0])
            finally:
                p.kill()
                p.wait(5)
                p.stdin.close()
                p.stdout.close()
                p.stderr.close()
                relay.close()


def case_openssl_s_client_refused():
    """s_client without -alpn, and with -tls1_2 instead of -tls1_3: the
    handshake fails with the alert no application protocol / protocol
    version."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(client_ca=False), transports=("tcp",)) as d:
            for what, drop, add, alert in (
                    ("no -alpn", ("-alpn", "sunrpc"), (), "no application protocol"),
                    ("-tls1_2", ("-tls1_3",), ("-tls1_2",), "protocol version")):
                relay = ProbeRelay(d.rpc_addr("tcp"))
                args = [openssl_path(), "s_client", "-connect", "127.0.0.1:%d" % relay.port,
                        "-alpn", "sunrpc", "-tls1_3", "-CAfile", s.ca.crt]
                for opt in drop:
                    if opt.startswith("-"):
                        i = args.index(opt)
                        del args[i:i + (2 if opt == "-alpn" else 1)]
                args += list(add)
                try:
                    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                                       timeout=20)
                finally:
                    relay.close()
                err = p.stderr.decode(errors="replace")
                check(p.returncode != 0, "%s: s_client succeeded: %s" % (what, err))
                check(alert in err, "%s: s_client did not get the alert %r (rpxd must send it "
                      "before closing); stderr %r" % (what, alert, err))


if __name__ == "__main__":
    main([case_python_ssl, case_openssl_s_client, case_openssl_s_client_refused])
