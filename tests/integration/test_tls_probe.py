"""RPC-with-TLS (RFC 9289) probe and handshake rules of rpxd, with Python's ssl module as the client: the AUTH_TLS probe (NULL, credential AUTH_TLS with an empty body, AUTH_NONE verifier) is answered MSG_ACCEPTED SUCCESS with verifier AUTH_NONE "STARTTLS" on TCP when TLS is configured, and with an empty verifier when it is not (and on UDP and the Unix socket); AUTH_TLS on another procedure, with a body, or inside TLS is AUTH_BADCRED; bytes that are not a ClientHello after the probe drop that connection only; TLS 1.3 with ALPN "sunrpc" is required and a client without it, or with TLS 1.2 only, is refused with a TLS alert; every decision is an audit line.

Usage: test_tls_probe.py [case...]   (needs RPXD and the openssl command)
"""

import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import main, PROC_PROG, PROC_VERS  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403


def server_only(pki):
    """A Setup and rpxd arguments for TLS without client certificates."""
    s = Setup(pki)
    return s, s.rpxd_args(client_ca=False)


def clear_null(sock, what):
    """A clear-text NULL call on a plain socket is answered SUCCESS."""
    xid = new_xid()
    sock.sendall(frame(encode_call(xid, DATE_NULL)))
    eq(expect_success(Reply(recv_record_exact(sock)), xid, what), b"", what + " results")


def case_probe_bytes():
    """TCP with TLS configured: the probe's reply byte for byte (for the DATE and
    the PROC program), an audit line, then TLS 1.3 with ALPN sunrpc, and NULL
    and NOW inside it."""
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp",)) as d:
            for prog, vers in ((DATE_PROG, DATE_VERS), (PROC_PROG, PROC_VERS)):
                sock = plain_socket(d.rpc_addr("tcp"))
                port = sock.getsockname()[1]
                xid = new_xid()
                sock.sendall(frame(probe_call(xid, prog, vers)))
                got = recv_record_exact(sock)
                want = starttls_reply(xid)
                eq(len(want), 32, "length of the STARTTLS reply")
                eq(got.hex(), want.hex(), "STARTTLS reply for program %#x (bytes)" % prog)
                r = Reply(got)
                eq(r.verf, (AUTH_NONE, b"STARTTLS"), "STARTTLS reply verifier")
                eq((r.accept_stat, r.results), (SUCCESS, b""), "STARTTLS reply status")
                wait_audit(d, port, r"AUTH_TLS probe answered STARTTLS")
                st = tls_handshake(sock, client_context(s.ca))
                eq(st.sock.version(), "TLSv1.3", "TLS version")
                eq(st.sock.selected_alpn_protocol(), "sunrpc", "ALPN")
                xid = new_xid()
                r = st.call_raw(encode_call(xid, 0, prog=prog, vers=vers))
                eq(expect_success(r, xid, "NULL inside TLS"), b"", "NULL results")
                xid = new_xid()
                now = decode_now(expect_success(st.call_raw(encode_call(xid, DATE_NOW)), xid,
                                                "NOW inside TLS"))
                check_now_res(now, "NOW inside TLS", now=time.time())
                st.close()
                wait_audit(d, port, r"TLS session, no client certificate: read-only")


def case_probe_without_tls():
    """Without --tls-cert the probe is an ordinary NULL (empty AUTH_NONE
    verifier, SUCCESS) and the connection stays clear; with TLS configured,
    the same holds on UDP and the Unix socket (TLS is TCP only)."""
    with Rpxd(transports=("tcp", "udp", "unix")) as d:
        for transport in ("tcp", "unix"):
            with Stream(transport, d.rpc_addr(transport)) as c:
                for _ in range(2):
                    xid = new_xid()
                    r = c.call_raw(probe_call(xid))
                    eq(r.raw.hex(), plain_reply(xid).hex(),
                       "probe reply without TLS over %s (bytes)" % transport)
                    xid = new_xid()
                    eq(expect_success(c.call_raw(encode_call(xid, DATE_NULL)), xid,
                                      "clear NULL after the probe"), b"", "NULL results")
        with rpxtest.Dgram(d.rpc_addr("udp")) as u:
            xid = new_xid()
            eq(u.call_raw(probe_call(xid)).raw.hex(), plain_reply(xid).hex(),
               "probe reply over UDP without TLS (bytes)")
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp", "udp", "unix")) as d:
            with Stream("unix", d.rpc_addr("unix")) as c:
                xid = new_xid()
                eq(c.call_raw(probe_call(xid)).raw.hex(), plain_reply(xid).hex(),
                   "probe reply over unix with TLS on TCP (bytes)")
                xid = new_xid()
                eq(expect_success(c.call_raw(encode_call(xid, DATE_NULL)), xid,
                                  "clear NULL over unix after the probe"), b"", "NULL results")
            with rpxtest.Dgram(d.rpc_addr("udp")) as u:
                xid = new_xid()
                eq(u.call_raw(probe_call(xid)).raw.hex(), plain_reply(xid).hex(),
                   "probe reply over UDP with TLS on TCP (bytes)")
            # And TCP still offers TLS.
            sock = plain_socket(d.rpc_addr("tcp"))
            send_probe(sock)
            sock.close()


def case_auth_tls_misused():
    """AUTH_TLS on a procedure other than NULL, with a credential body, or with
    a verifier other than an empty AUTH_NONE: MSG_DENIED AUTH_ERROR
    (AUTH_BADCRED; AUTH_BADVERF for the verifier), no upgrade, the connection
    stays clear, with and without TLS configured."""
    def misuses():
        yield "AUTH_TLS on DATE NOW", encode_call(0, DATE_NOW, cred=(AUTH_TLS, b"")), AUTH_BADCRED
        yield ("AUTH_TLS on PROC LIST", encode_call(0, 2, prog=PROC_PROG, vers=PROC_VERS,
                                                    cred=(AUTH_TLS, b"")), AUTH_BADCRED)
        yield "AUTH_TLS with a body", encode_call(0, DATE_NULL, cred=(AUTH_TLS, b"abcd")), \
            AUTH_BADCRED
        yield "AUTH_TLS with a verifier body", encode_call(
            0, DATE_NULL, cred=(AUTH_TLS, b""), verf=(AUTH_NONE, b"STARTTLS")), AUTH_BADVERF

    with Pki() as pki:
        s, args = server_only(pki)
        for extra in ([], args):
            with Rpxd(extra, transports=("tcp",)) as d:
                sock = plain_socket(d.rpc_addr("tcp"))
                for what, msg, why in misuses():
                    xid = new_xid()
                    sock.sendall(frame(x_uint(xid) + msg[4:]))
                    r = Reply(recv_record_exact(sock))
                    expect_denied(r, xid, AUTH_ERROR, auth_stat=why,
                                  what="%s (%s)" % (what, "TLS on" if extra else "no TLS"))
                    clear_null(sock, "clear NULL after " + what)
                sock.close()


def case_probe_inside_tls():
    """The probe inside an established TLS session: MSG_DENIED AUTH_ERROR
    AUTH_BADCRED byte for byte, and the session goes on."""
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp",)) as d:
            st = tls_connect(d, client_context(s.ca))
            for _ in range(2):
                xid = new_xid()
                expect_denied(st.call_raw(probe_call(xid)), xid, AUTH_ERROR,
                              auth_stat=AUTH_BADCRED, what="probe inside TLS")
                xid = new_xid()
                eq(expect_success(st.call_raw(encode_call(xid, DATE_NULL)), xid,
                                  "NULL inside TLS after the refused probe"), b"", "NULL")
            st.close()


def case_garbage_after_probe():
    """After STARTTLS, bytes that are not a TLS ClientHello (a clear RPC call,
    an HTTP request, a TLS alert record, zeros) fail the handshake: that
    connection is closed with an audit line, and rpxd keeps serving TLS and
    clear-text clients. Also when the garbage rides in the probe's own write."""
    garbage = [
        ("a clear NULL call", lambda: frame(encode_call(new_xid(), DATE_NULL))),
        ("an HTTP request", lambda: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("a TLS alert record", lambda: bytes.fromhex("15030300020228")),
        ("1000 zero bytes", lambda: b"\0" * 1000),
        ("a whole TLS record holding a ClientHello header claiming 16 MiB",
         lambda: bytes.fromhex("16030100ff01ffffff") + b"\x03" * 251),
    ]
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp",)) as d:
            for together in (False, True):
                for what, make in garbage:
                    what = what + (" in the probe's write" if together else " after STARTTLS")
                    sock = plain_socket(d.rpc_addr("tcp"))
                    port = sock.getsockname()[1]
                    xid = new_xid()
                    if together:
                        sock.sendall(frame(probe_call(xid)) + make())
                        try:
                            got = recv_record_exact(sock)
                        except Closed:
                            fail("%s: connection closed before the STARTTLS reply arrived "
                                 "(a reply already queued must be flushed before the close)"
                                 % what)
                        eq(got.hex(), starttls_reply(xid).hex(), what + ": STARTTLS reply")
                    else:
                        send_probe(sock, xid)
                        sock.sendall(make())
                    # Whatever comes back (at most a TLS alert), the connection ends.
                    c = Stream.__new__(Stream)
                    c.sock, c.buf, c.eof = sock, bytearray(), False
                    try:
                        rest = c.wait_closed(10)
                    except Timeout:
                        fail("%s: connection still open 10 s later" % what)
                    check(len(rest) < 100, "%s: %d bytes came back: %r" % (what, len(rest), rest))
                    if rest:
                        eq(rest[0], 0x15, "%s: the only thing back is a TLS alert record" % what)
                    sock.close()
                    wait_audit(d, port, r"TLS handshake failed: \S", what=what)
                    check(d.alive(), "rpxd died after " + what)
                    with TlsClient(d, client_context(s.ca)) as t:
                        t.null()
                    rpxtest.assert_serves(d, "tcp", "clear client after " + what)


def case_stalled_handshake():
    """A client that answers STARTTLS with part of a ClientHello and then goes
    quiet is dropped after --record-timeout, like an unfinished record (not
    kept for the --idle-timeout); so is one that sends nothing after the probe."""
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args + ["--record-timeout", "2", "--idle-timeout", "60"],
                  transports=("tcp",)) as d:
            for what, data in (("half a ClientHello", bytes.fromhex("16030100ff010000fb0303")),
                               ("nothing", b"")):
                sock = plain_socket(d.rpc_addr("tcp"))
                send_probe(sock)
                sock.sendall(data)
                t0 = time.monotonic()
                c = Stream.__new__(Stream)
                c.sock, c.buf, c.eof = sock, bytearray(), False
                try:
                    c.wait_closed(8)
                except Timeout:
                    fail("%s after STARTTLS: connection still open after 8 s "
                         "(--record-timeout 2)" % what)
                took = time.monotonic() - t0
                check(1.5 < took < 5, "%s after STARTTLS: closed after %.1f s, expected about "
                      "2 s (--record-timeout)" % (what, took))
                sock.close()
            rpxtest.assert_serves(d, "tcp", "clear client after stalled handshakes")


def case_probe_and_clienthello_together():
    """A client that sends its ClientHello in the same write as the probe (not
    waiting for STARTTLS): the reply comes in clear, then the handshake
    completes on the bytes rpxd already had."""
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp",)) as d:
            ctx = client_context(s.ca)
            inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = ctx.wrap_bio(inc, out, server_hostname="127.0.0.1")
            try:
                obj.do_handshake()
            except ssl.SSLWantReadError:
                pass
            hello = out.read()
            check(len(hello) > 0 and hello[0] == 0x16, "a ClientHello record was produced")
            sock = plain_socket(d.rpc_addr("tcp"))
            xid = new_xid()
            sock.sendall(frame(probe_call(xid)) + hello)
            eq(recv_record_exact(sock).hex(), starttls_reply(xid).hex(), "STARTTLS reply")
            deadline = time.monotonic() + 5
            while True:
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    pass
                data = out.read()
                if data:
                    sock.sendall(data)
                check(time.monotonic() < deadline, "handshake not done within 5 s")
                sock.settimeout(max(deadline - time.monotonic(), 0.01))
                try:
                    b = sock.recv(65536)
                except socket.timeout:
                    fail("handshake stalled: rpxd did not answer the ClientHello that came "
                         "with the probe")
                check(b, "rpxd closed during the handshake")
                inc.write(b)
            sock.sendall(out.read())
            eq(obj.selected_alpn_protocol(), "sunrpc", "ALPN")
            xid = new_xid()
            obj.write(frame(encode_call(xid, DATE_NULL)))
            sock.sendall(out.read())
            buf = b""
            while True:
                try:
                    buf += obj.read(65536)
                except ssl.SSLWantReadError:
                    pass
                if len(buf) >= 4 and len(buf) >= 4 + (struct.unpack(">I", buf[:4])[0]
                                                      & 0x7FFFFFFF):
                    break
                check(time.monotonic() < deadline + 5, "no reply to NULL inside TLS")
                sock.settimeout(5)
                b = sock.recv(65536)
                check(b, "rpxd closed the session")
                inc.write(b)
            eq(expect_success(Reply(buf[4:]), xid, "NULL inside TLS"), b"", "NULL")
            sock.close()


def case_alpn_required():
    """A client that offers no ALPN, or only another protocol, is refused with
    the no_application_protocol alert and an audit line; one that offers
    several including sunrpc gets sunrpc."""
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp",)) as d:
            for what, alpn in (("no ALPN extension", ()), ("ALPN h2 only", ("h2",)),
                               ("ALPN http/1.1 and SUNRPC", ("http/1.1", "SUNRPC"))):
                port, err = expect_refused(d, client_context(s.ca, alpn=alpn), what,
                                           "NO_APPLICATION_PROTOCOL")
                wait_audit(d, port, r"TLS handshake failed: .*(application protocol|ALPN)",
                           what=what)
            st = tls_connect(d, client_context(s.ca, alpn=("h2", "sunrpc", "http/1.1")))
            eq(st.sock.selected_alpn_protocol(), "sunrpc", "ALPN among several")
            st.close()


def case_tls12_refused():
    """A TLS 1.2-only client is refused with the protocol_version alert and an
    audit line; a client offering 1.2 and 1.3 gets 1.3."""
    with Pki() as pki:
        s, args = server_only(pki)
        with Rpxd(args, transports=("tcp",)) as d:
            ctx = client_context(s.ca, min_version=ssl.TLSVersion.TLSv1_2,
                                 max_version=ssl.TLSVersion.TLSv1_2)
            port, err = expect_refused(d, ctx, "TLS 1.2 only", "PROTOCOL_VERSION")
            wait_audit(d, port, r"TLS handshake failed: .*(unsupported protocol|version)")
            ctx = client_context(s.ca, min_version=ssl.TLSVersion.TLSv1_2,
                                 max_version=ssl.TLSVersion.MAXIMUM_SUPPORTED)
            st = tls_connect(d, ctx)
            eq(st.sock.version(), "TLSv1.3", "version offered 1.2 to 1.3")
            st.close()


if __name__ == "__main__":
    main([case_probe_bytes, case_probe_without_tls, case_auth_tls_misused, case_probe_inside_tls,
          case_garbage_after_probe, case_stalled_handshake, case_probe_and_clienthello_together, case_alpn_required,
          case_tls12_refused])
