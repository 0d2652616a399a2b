"""SIGHUP makes rpxd read its --tls-* files again: sessions whose client certificate the new --tls-client-ca no longer trusts are closed (one audit line each, with the fingerprint), sessions still trusted and clear-text connections go on, clients with certificates from the new CA are served (and mapped by the new --tls-users), clients of the dropped CA are refused; a reload that fails (unreadable CA) keeps the old configuration; a mapping removed from --tls-users no longer lets an open session SPAWN.

Usage: test_tls_reload.py [case...]   (needs RPXD, root, and the openssl command)
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import SPAWN, Skip, enc_spawn, expect_ok, is_root, main  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403

NOBODY = 65534


def sighup(d, since, timeout=5.0):
    """SIGHUP rpxd and wait for the reload's audit line (the count grows past since)."""
    os.kill(d.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while len(audit_lines(d, "SIGHUP")) <= since:
        check(time.monotonic() < deadline, "no SIGHUP audit line within %.0f s; stderr:\n%s"
              % (timeout, d.stderr()))
        time.sleep(0.05)
    return audit_lines(d, "SIGHUP")[-1]


def spawn_id(c, what):
    s, w, out, err = c.run_output(["id", "-u"])
    eq(w.exit.code, 0, what + ": id exit code")
    return int(out)


def case_new_ca_closes_old_sessions():
    """Client CA file A+C becomes B+C: A's session is closed with an audit
    line, C's session and a clear connection go on, B's certificates are
    accepted and mapped by the reloaded users file, A's are refused."""
    if not is_root():
        raise Skip("mapped users need root")
    with Pki() as pki:
        s = Setup(pki)
        ca_a, ca_c = s.ca, pki.ca("rpxtest-ca-c")
        ca_b = pki.ca("rpxtest-ca-b")
        alice_a = s.alice
        carol_c = ca_c.client("carol")
        bob_b = ca_b.client("bob")
        cafile = pki.bundle("client-ca.pem", [ca_a, ca_c])
        users_path = pki.write("users", "sha256:%s nobody\nsha256:%s nobody\n"
                               % (alice_a.fingerprint, carol_c.fingerprint))
        args = ["--tls-cert", s.server.crt, "--tls-key", s.server.key,
                "--tls-client-ca", cafile, "--tls-users", users_path]
        with Rpxd(args, transports=("tcp",)) as d:
            sa = tls_proc_client(d, client_context(s.ca, alice_a))
            sc = tls_proc_client(d, client_context(s.ca, carol_c))
            eq(spawn_id(sa, "A before reload"), NOBODY, "A's job uid before the reload")
            eq(spawn_id(sc, "C before reload"), NOBODY, "C's job uid before the reload")
            clear = Client(d, "tcp")
            clear.null()
            port_a = sa.conn.local_port()
            port, err = try_session(d, client_context(s.ca, bob_b), "B before reload")
            check(err is not None, "B's certificate was accepted before the reload")

            pki.bundle("client-ca.pem", [ca_b, ca_c])
            pki.write("users", "sha256:%s nobody\nsha256:%s daemon\n"
                      % (carol_c.fingerprint, bob_b.fingerprint))
            sighup(d, 0)

            line = wait_audit(d, port_a, r"no longer trusted", what="A's session after reload")
            check(alice_a.fingerprint in line, "reload audit line without the fingerprint: %r"
                  % line)
            try:
                rest = sa.conn.wait_closed(5)
            except Timeout:
                fail("A's session still open 5 s after the reload")
            eq(rest, b"", "bytes on A's session after the reload")
            sa.close()
            # C: still trusted, still served (its mapping did not change).
            sc.null()
            eq(spawn_id(sc, "C after reload"), NOBODY, "C's job uid after the reload")
            clear.null()
            clear.close()
            # B: now trusted and mapped to daemon.
            sb = tls_proc_client(d, client_context(s.ca, bob_b))
            eq(spawn_id(sb, "B after reload"), 1, "B's job uid after the reload")
            sb.close()
            # A: refused now.
            port, err = expect_refused(d, client_context(s.ca, alice_a), "A after reload",
                                       "UNKNOWN_CA")
            sc.close()
            eq(len(audit_lines(d, "no longer trusted")), 1,
               "sessions closed by the reload: %r" % audit_lines(d, "no longer trusted"))


def case_failed_reload_keeps_old():
    """A reload that cannot read the new CA file (garbage) keeps the old
    certificates: a warning, no session closed, new sessions with the old
    CA's certificates still served; a later good reload applies."""
    with Pki() as pki:
        s = Setup(pki)
        cafile = pki.bundle("client-ca.pem", [s.ca])
        args = ["--tls-cert", s.server.crt, "--tls-key", s.server.key, "--tls-client-ca", cafile]
        with Rpxd(args, transports=("tcp",)) as d:
            st = TlsClient(d, client_context(s.ca, s.alice))
            st.null()
            pki.write("client-ca.pem", "not a certificate\n")
            os.kill(d.pid, signal.SIGHUP)
            deadline = time.monotonic() + 5
            while "reload failed" not in d.stderr():
                check(time.monotonic() < deadline, "no 'reload failed' message; stderr:\n%s"
                      % d.stderr())
                time.sleep(0.05)
            check("client-ca.pem" in d.stderr(), "the failure names the file: %s" % d.stderr())
            st.null()
            with TlsClient(d, client_context(s.ca, s.alice)) as c2:
                c2.null()
            eq(audit_lines(d, "no longer trusted"), [], "sessions closed by a failed reload")
            # A good reload to another CA closes the session.
            pki.bundle("client-ca.pem", [s.other])
            sighup(d, 0)
            port = st.conn.local_port()
            wait_audit(d, port, r"no longer trusted", what="after the good reload")
            try:
                st.conn.wait_closed(5)
            except Timeout:
                fail("session still open 5 s after the good reload")
            st.close()
            with TlsClient(d, client_context(s.ca, s.eve)) as c3:
                c3.null()


def case_unmapped_by_reload():
    """A certificate whose --tls-users line is removed at a reload: its open
    session can no longer SPAWN (AUTH_TOOWEAK) or is closed; a new session
    with it is read-only."""
    if not is_root():
        raise Skip("mapped users need root")
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s nobody\n" % s.alice.fingerprint
        with Rpxd(s.rpxd_args(users=users), transports=("tcp",)) as d:
            sa = tls_proc_client(d, client_context(s.ca, s.alice))
            eq(spawn_id(sa, "before reload"), NOBODY, "job uid before the reload")
            pki.write("users", "# nobody mapped any more\n")
            sighup(d, 0)
            try:
                xid, r = sa.call_raw(SPAWN, enc_spawn(["true"]))
            except Closed:
                pass  # closed by the reload: fine too
            else:
                expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_TOOWEAK,
                              what="SPAWN on a session whose mapping the reload removed")
            sa.close()
            c = tls_proc_client(d, client_context(s.ca, s.alice))
            xid, r = c.call_raw(SPAWN, enc_spawn(["true"]))
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_TOOWEAK,
                          what="SPAWN on a new session after the mapping was removed")
            c.close()


if __name__ == "__main__":
    main([case_new_ca_closes_old_sessions, case_failed_reload_keeps_old, case_unmapped_by_reload])
