#!/usr/bin/env python3
"""RPC-with-TLS (RFC 9289) in the async client against a Python ssl test server: probe, STARTTLS, TLS 1.3 with ALPN "sunrpc", server verified by CA and name (DNS or IP), client certificate sent; and every failure fails the call with a clear message and no call ever sent in clear text: no STARTTLS (accepted without it, or refused), wrong CA, wrong host name, server without ALPN, missing client certificate, and a real rpxd without TLS.

Environment: RPXD, optionally ASYNC_DRIVER and RPX_BUILD_DIR. Needs the openssl command (else exit 77).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import errno  # noqa: E402


def expect_fail(res, url, n, want_errno, *words):
    for i in range(n):
        e, text = res.err((0, i))
        eq(e, want_errno, "%s errno (%s)" % (url, text))
        check(text.startswith(url + ": "), "message %r does not name %s" % (text, url))
        for w in words:
            check(w in text, "message %r lacks %r" % (text, w))


def no_clear_calls(srv, what):
    eq(srv.tls_calls, 0, what + ": calls served")
    eq(srv.clear_after_probe, 0, what + ": bytes sent in clear after the probe")


def main():
    certs = Certs()
    ca = ["--ca", certs.ca]
    try:
        # The good path, by IP and by name, with a client certificate required.
        srv = TlsServer(certs, client_ca=certs.ca)
        try:
            for url in (srv.url(), srv.url("localhost")):
                res = run_driver(["-n", 10, "-t", 10000] + ca +
                                 ["--cert", certs.client, "--key", certs.client_key, url])
                for i in range(10):
                    res.ok((0, i))
                eq(res.stats[0]["replies"], 10, url + " replies")
            res = run_driver(["--sync", "-n", 2] + ca + ["--cert", certs.client, "--key",
                                                         certs.client_key, srv.url()])
            res.ok((0, 0))
            res.ok((0, 1))
            check(not srv.errors, "server: %r" % srv.errors)
            eq(srv.probes, 4, "probes (--sync: one connection per call)")
            eq(srv.handshakes, 4, "handshakes")
            eq(srv.alpn, ["sunrpc"] * 4, "ALPN negotiated")
            eq(srv.tls_calls, 22, "calls inside TLS")
            check(all(c and c.get("subject") for c in srv.peer_certs), "client cert sent")
            # Without the client certificate the server refuses the handshake.
            res = run_driver(["-n", 2] + ca + [srv.url()])
            expect_fail(res, srv.url(), 2, -errno.EACCES, "TLS", "refused the client certificate")
        finally:
            srv.stop()

        # Wrong CA: the server's chain does not verify.
        srv = TlsServer(certs)
        try:
            res = run_driver(["-n", 2, "--ca", certs.other_ca, srv.url()])
            expect_fail(res, srv.url(), 2, -errno.EPROTO, "certificate verification failed")
            # Wrong name: the certificate is for localhost / 127.0.0.1.
            res = run_driver(["-n", 2, "--name", "wrong.example"] + ca + [srv.url()])
            expect_fail(res, srv.url(), 2, -errno.EPROTO, "certificate verification failed",
                        "hostname mismatch")
            res = run_driver(["-n", 1, "--name", "127.0.0.2"] + ca + [srv.url()])
            expect_fail(res, srv.url(), 1, -errno.EPROTO, "certificate verification failed",
                        "IP address mismatch")
            eq(srv.tls_calls, 0, "calls served to unverified clients")
        finally:
            srv.stop()

        # A server that does not speak ALPN "sunrpc".
        srv = TlsServer(certs, mode="noalpn")
        try:
            res = run_driver(["-n", 2] + ca + [srv.url()])
            expect_fail(res, srv.url(), 2, -errno.EPROTO, "ALPN", "sunrpc")
            eq(srv.tls_calls, 0, "calls sent without ALPN")
        finally:
            srv.stop()

        # Probe answered without STARTTLS, or refused: never go on in clear text.
        for mode in ("nostarttls", "denied"):
            srv = TlsServer(certs, mode=mode)
            try:
                res = run_driver(["-n", 3] + ca + [srv.url()])
                time.sleep(0.2)
            finally:
                srv.stop()
            expect_fail(res, srv.url(), 3, -errno.EPROTONOSUPPORT,
                        "server does not offer RPC-with-TLS")
            eq(srv.probes, 1, mode + ": probes")
            no_clear_calls(srv, mode)

        # A real rpxd (no TLS configured) is not an RPC-with-TLS server.
        with Rpxd() as d:
            url = "tls://" + rpxd_urls(d)["tcp"][len("tcp://"):]
            res = run_driver(["-n", 2] + ca + [url])
            expect_fail(res, url, 2, -errno.EPROTONOSUPPORT, "server does not offer RPC-with-TLS")

        # Unreadable CA / key files fail rpx_async_open at once.
        res = run_driver(["--ca", "/nonexistent/ca.pem", "tls://127.0.0.1:1"])
        check("cannot load TLS CA file" in res.opens.get(0, ""), "open: %r" % res.opens)
        res = run_driver(["--cert", certs.client, "tls://127.0.0.1:1"])
        check("needs its key" in res.opens.get(0, ""), "open: %r" % res.opens)
    finally:
        certs.cleanup()
    print("ok")


if __name__ == "__main__":
    main()
