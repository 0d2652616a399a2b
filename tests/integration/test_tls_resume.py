"""TLS 1.3 session resumption: a client that offers the newest ticket rpxd gave it resumes (audit line "TLS session resumed", no certificates exchanged), a ticket is good once, librpx's own clients (sync calls, one connection each) resume from their second connection on, and after a SIGHUP no session of before the reload is resumed: a client certificate the new --tls-client-ca does not trust is refused even with a ticket.

Usage: test_tls_resume.py [case...]   (needs RPXD and the openssl command)
"""

import os
import signal
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import run_driver  # noqa: E402
from proctest import main  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403


def connect(d, ctx, session=None):
    """Probe + handshake offering session; returns (ssl socket, reused)."""
    sock = plain_socket(d.rpc_addr("tcp"))
    send_probe(sock)
    ssock = ctx.wrap_socket(sock, server_hostname="127.0.0.1", session=session)
    return ssock, ssock.session_reused


def null_and_session(ssock):
    """A NULL call (by its reply the ticket has arrived); the newest session."""
    st = TlsStream(ssock)
    c = Client.__new__(Client)
    c.transport, c.conn = "tcp", st
    c.null()
    return ssock.session


def resumed_lines(d, want):
    return len(audit_lines_after(d, "TLS session resumed", want))


def case_ticket_resumes_once():
    """Python's TLS stack: the newest ticket resumes, a used one does not."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(), transports=("tcp",)) as d:
            ctx = client_context(s.ca, s.alice)
            ssock, reused = connect(d, ctx)
            check(not reused, "first connection resumed a session")
            first = null_and_session(ssock)
            ssock.close()
            ssock, reused = connect(d, ctx, first)
            check(reused, "the newest ticket was not resumed")
            second = null_and_session(ssock)
            ssock.close()
            eq(resumed_lines(d, 1), 1, "audit lines of resumed sessions")
            ssock, reused = connect(d, ctx, first)
            check(not reused, "a ticket already used resumed again")
            null_and_session(ssock)
            ssock.close()
            ssock, reused = connect(d, ctx, second)
            check(reused, "the second ticket was not resumed")
            ssock.close()
            eq(resumed_lines(d, 2), 2, "audit lines of resumed sessions")


def case_librpx_resumes():
    """librpx: sync calls over tls://, one connection each, resume after the first."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(), transports=("tcp",)) as d:
            url = "tls://127.0.0.1:%d" % d.rpc_addr("tcp")[1]
            run_driver(["--sync", "-n", 4, "-p", "null", "--ca", s.ca.crt, "--cert",
                        s.alice.crt, "--key", s.alice.key, url])
            eq(len(audit_lines_after(d, "TLS session", 4)), 4, "TLS sessions")
            eq(resumed_lines(d, 3), 3, "resumed TLS sessions")


def reload(d, needle="reloaded"):
    n = len(audit_lines(d, needle))
    os.kill(d.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while len(audit_lines(d, needle)) <= n:
        check(time.monotonic() < deadline, "no reload audit line; stderr:\n" + d.stderr())
        time.sleep(0.05)


def case_reload_forgets_sessions():
    """After SIGHUP no old ticket resumes; a certificate of a dropped CA is refused."""
    with Pki() as pki:
        s = Setup(pki)
        cafile = pki.bundle("client-ca.pem", [s.ca])
        with Rpxd(s.rpxd_args(client_ca=cafile), transports=("tcp",)) as d:
            ctx = client_context(s.ca, s.alice)
            ssock, _ = connect(d, ctx)
            sess = null_and_session(ssock)
            ssock.close()
            # The same files: the session is still not resumed (a new cache).
            reload(d)
            ssock, reused = connect(d, ctx, sess)
            check(not reused, "a session of before the reload was resumed")
            sess = null_and_session(ssock)
            ssock.close()
            # alice's CA is no longer trusted: her ticket must not let her in.
            pki.bundle("client-ca.pem", [s.other])
            reload(d)
            try:
                ssock, reused = connect(d, ctx, sess)
                null_and_session(ssock)
            except (ssl.SSLError, OSError, Closed):
                pass
            else:
                fail("a client of the dropped CA was served (resumed: %s)" % reused)
            check(audit_lines_after(d, "TLS handshake failed", 1),
                  "no audit line for the refusal")
            eq(resumed_lines(d, 0), 0, "resumed TLS sessions")


if __name__ == "__main__":
    main([case_ticket_resumes_once, case_librpx_resumes, case_reload_forgets_sessions])
