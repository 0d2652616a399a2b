"""Mutual TLS in rpxd (--tls-client-ca, --tls-users, --tls-require), with Python's ssl module as the client: a client certificate that --tls-users maps (by sha256 fingerprint, subject or subjectAltName) may SPAWN and KILL and its jobs run as the mapped user; a valid unmapped certificate, or no certificate when none is asked, can only read (SPAWN and KILL get AUTH_ERROR AUTH_TOOWEAK); a certificate from another CA, an expired one and no certificate are refused with a TLS alert and an audit line naming the reason; --tls-require refuses every clear-text TCP call except the probe with AUTH_TOOWEAK; bad --tls-* files stop rpxd at start.

Usage: test_tls_mutual.py [case...]   (needs RPXD, root for running jobs as nobody, and the openssl command)
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import (  # noqa: E402
    KILL, SPAWN, Skip, enc_kill, enc_spawn, expect_exited, expect_ok, is_root, main)
from tlstest import *  # noqa: E402,F401,F403

NOBODY = 65534


def need_root():
    if not is_root():
        raise Skip("jobs run as the mapped user only when rpxd is root")


def expect_tooweak(c, proc, args, what):
    xid, r = c.call_raw(proc, args)
    expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_TOOWEAK, what=what)


def run_id(c, what):
    """SPAWN `id -u`, `id -g` through c: (uid, gid) the job ran as."""
    s, w, out, err = c.run_output(["sh", "-c", "id -u; id -g"])
    expect_exited(w, 0, what + ": id")
    eq(err, b"", what + ": id stderr")
    uid, gid = out.decode().split()
    return int(uid), int(gid)


def check_mapped(d, s, cert, user, uid, gid):
    """A session with cert: one audit line names the peer, the fingerprint and
    the user; SPAWN runs as (uid, gid); KILL works; LIST shows the job."""
    what = "%s mapped to %s" % (cert.subject, user)
    c = tls_proc_client(d, client_context(s.ca, cert))
    port = c.conn.local_port()
    line = wait_audit(d, port, r"TLS session, certificate", what=what)
    check(cert.fingerprint in line, "%s: audit line without the fingerprint: %r" % (what, line))
    check(("mapped to user %s" % user) in line,
          "%s: audit line does not name the user: %r" % (what, line))
    eq(run_id(c, what), (uid, gid), what + ": job's (uid, gid)")
    sl = c.spawn_ok(["sleep", "300"])
    listed = c.list()
    expect_ok(listed.status, what + ": LIST")
    check(sl.job in [e.job for e in listed.entries],
          "%s: LIST does not show the caller's job" % what)
    e = [e for e in listed.entries if e.job == sl.job][0]
    eq(e.uid, uid, what + ": LIST uid of the job")
    expect_ok(c.kill(sl.job, 9).status, what + ": KILL")
    w = c.wait_ok(sl.job, 5000)
    eq(w.exit.signal, 9, what + ": killed job's signal")
    c.close()


def case_mapped_by_fingerprint_and_san():
    """Certificates mapped by fingerprint (alice -> nobody; the fingerprint
    written in lower case without colons) and by subjectAltName (dave ->
    daemon): SPAWN runs the job as that user, KILL works, LIST shows the
    caller's jobs; the session's audit line names the fingerprint and user."""
    need_root()
    with Pki() as pki:
        s = Setup(pki)
        dave = s.ca.client("dave", san="dave.rpx.test")
        users = ("# rpxtest\n"
                 "\n"
                 "sha256:%s nobody\n"
                 "  san:dave.rpx.test   daemon  # trailing comment\n"
                 % s.alice.fingerprint.lower().replace(":", ""))
        with Rpxd(s.rpxd_args(users=users), transports=("tcp",)) as d:
            check_mapped(d, s, s.alice, "nobody", NOBODY, NOBODY)
            check_mapped(d, s, dave, "daemon", 1, 1)


def case_mapped_by_subject():
    """Certificates mapped by their RFC 2253 subject as `openssl x509 -subject
    -nameopt RFC2253` prints it, one without and one with a space in it
    ("CN=carol,O=rpx test"): SPAWN runs as the mapped user."""
    need_root()
    with Pki() as pki:
        s = Setup(pki)
        erin = s.ca.issue("erin", ["extendedKeyUsage=clientAuth"], org=None)
        carol = s.ca.client("carol")
        check(" " in carol.subject, "carol's subject has a space: %r" % carol.subject)
        users = "subject:%s nobody\nsubject:%s daemon\n" % (erin.subject, carol.subject)
        with Rpxd(s.rpxd_args(users=users), transports=("tcp",)) as d:
            check_mapped(d, s, erin, "nobody", NOBODY, NOBODY)
            check_mapped(d, s, carol, "daemon", 1, 1)


def case_unmapped_read_only():
    """A valid certificate --tls-users does not map (bob), and without
    --tls-client-ca a client without certificate: NULL, LIST and STATS are
    served, SPAWN and KILL get AUTH_ERROR AUTH_TOOWEAK with an audit line naming
    the peer (and the fingerprint), and no job is made."""
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s nobody\n" % s.alice.fingerprint
        for mutual in (True, False):
            args = s.rpxd_args(client_ca=mutual, users=users if mutual else None)
            with Rpxd(args, transports=("tcp", "unix")) as d:
                cert = s.bob if mutual else None
                what = "unmapped certificate" if mutual else "server-only TLS, no certificate"
                c = tls_proc_client(d, client_context(s.ca, cert))
                port = c.conn.local_port()
                line = wait_audit(d, port, r"TLS session", what=what)
                if mutual:
                    check(s.bob.fingerprint in line and "not mapped: read-only" in line,
                          "%s: session audit line %r" % (what, line))
                else:
                    check("no client certificate: read-only" in line,
                          "%s: session audit line %r" % (what, line))
                c.null()
                listed = c.list()
                expect_ok(listed.status, what + ": LIST")
                eq(listed.entries, [], what + ": jobs an unmapped caller sees")
                c.stats()
                marker = os.path.join(d.tmp, "spawned")
                expect_tooweak(c, SPAWN, enc_spawn(["touch", marker]), what + ": SPAWN")
                line = wait_audit(d, port, r"SPAWN", what=what + ": SPAWN refusal")
                check("TOOWEAK" in line.upper() or "refused" in line,
                      "%s: refusal audit line %r" % (what, line))
                if mutual:
                    check(s.bob.fingerprint in line,
                          "%s: refusal audit line without the fingerprint: %r" % (what, line))
                expect_tooweak(c, KILL, enc_kill(1, 9), what + ": KILL")
                wait_audit(d, port, r"KILL", what=what + ": KILL refusal")
                c.null()
                c.close()
                check(not os.path.exists(marker), what + ": a refused SPAWN ran")


def case_refused_certificates():
    """A certificate from a CA rpxd does not trust, an expired certificate from
    the trusted CA, and no certificate: the session is refused with the TLS
    alert unknown_ca, certificate_expired or certificate_required, one audit
    line names the peer, the reason (and the presented certificate's
    fingerprint), and rpxd goes on serving the good client."""
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s nobody\nsha256:%s nobody\nsha256:%s nobody\n" % (
            s.alice.fingerprint, s.eve.fingerprint, s.old.fingerprint)
        with Rpxd(s.rpxd_args(users=users), transports=("tcp",)) as d:
            for what, cert, alert, reason in (
                    ("certificate from another CA", s.eve, "UNKNOWN_CA",
                     r"(unable to get local issuer certificate|unknown ca|issuer)"),
                    ("expired certificate", s.old, "CERTIFICATE_EXPIRED", r"expired"),
                    ("no certificate", None, "CERTIFICATE_REQUIRED",
                     r"(did not return a certificate|no client certificate|certificate required)")):
                port, err = expect_refused(d, client_context(s.ca, cert), what, alert)
                line = wait_audit(d, port, r"TLS handshake failed", what=what)
                check(re.search(reason, line, re.I),
                      "%s: audit line does not name the reason (/%s/): %r" % (what, reason, line))
                if cert is not None:
                    check(cert.fingerprint in line,
                          "%s: audit line without the presented certificate's fingerprint: %r"
                          % (what, line))
                lines = [l for l in port_audit_lines(d, port) if "probe" not in l]
                eq(len(lines), 1, "%s: audit lines about the session: %r" % (what, lines))
                with TlsClient(d, client_context(s.ca, s.alice)) as c:
                    c.null()


def case_tls_require():
    """--tls-require: every clear-text TCP call (NULL, NOW, AUTH_SYS, PROC LIST)
    gets MSG_DENIED AUTH_ERROR AUTH_TOOWEAK with an audit line, even after the
    refusals the probe on the same connection is answered STARTTLS and the
    session serves; the Unix socket is not affected."""
    import proctest
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s nobody\n" % s.alice.fingerprint
        with Rpxd(s.rpxd_args(users=users, require=True), transports=("tcp", "unix")) as d:
            sock = plain_socket(d.rpc_addr("tcp"))
            port = sock.getsockname()[1]
            calls = [("clear NULL", encode_call(0, DATE_NULL)),
                     ("clear NOW", encode_call(0, DATE_NOW)),
                     ("clear NULL with AUTH_SYS",
                      encode_call(0, DATE_NULL, cred=(1, rpxtest.auth_sys_body()))),
                     ("clear PROC LIST", encode_call(0, proctest.LIST, proctest.enc_list(),
                                                     prog=proctest.PROC_PROG, vers=1))]
            for what, msg in calls:
                xid = new_xid()
                sock.sendall(frame(x_uint(xid) + msg[4:]))
                expect_denied(Reply(recv_record_exact(sock)), xid, AUTH_ERROR,
                              auth_stat=AUTH_TOOWEAK, what=what + " with --tls-require")
            lines = [l for l in port_audit_lines(d, port) if "--tls-require" in l]
            eq(len(lines), len(calls), "audit lines for the refused clear calls: %r" % lines)
            send_probe(sock)
            st = tls_handshake(sock, client_context(s.ca, s.alice))
            xid = new_xid()
            eq(expect_success(st.call_raw(encode_call(xid, DATE_NULL)), xid, "NULL in TLS"),
               b"", "NULL")
            xid = new_xid()
            check_now_res(decode_now(expect_success(st.call_raw(encode_call(xid, DATE_NOW)),
                                                    xid, "NOW in TLS")), "NOW in TLS")
            st.close()
            with Client(d, "unix") as u:
                u.null()
            with proctest.ProcClient(d, "unix") as u:
                expect_ok(u.list().status, "LIST over unix with --tls-require")


def case_bad_files_refused_at_start():
    """rpxd does not start with a missing certificate or key, a key that does
    not match, a missing CA file, a users file with a bad line, a line or
    selector too long, or an unknown user, or --tls-* options without --tls-cert/--tls-key; the message names
    the file or option."""
    with Pki() as pki:
        s = Setup(pki)
        cert, key = s.server.crt, s.server.key
        missing = pki.path("missing.pem")
        bad_users = pki.write("bad-users", "sha256:zz nobody\n")
        unknown_user = pki.write("unknown-user",
                                 "sha256:%s no-such-user-rpx\n" % s.alice.fingerprint)
        no_user = pki.write("no-user", "san:host.example\n")
        long_line = pki.write("long-line", "# ok\nsubject:CN=%s nobody\n" % ("x" * 1100))
        long_sel = pki.write("long-selector", "subject:CN=%s nobody\n" % ("x" * 700))
        cases = [
            (["--tls-cert", missing, "--tls-key", key], "--tls-cert"),
            (["--tls-cert", cert, "--tls-key", missing], "--tls-key"),
            (["--tls-cert", cert, "--tls-key", s.alice.key], "--tls-key"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-client-ca", missing],
             "--tls-client-ca"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-users", bad_users], "bad-users:1"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-users", unknown_user],
             "no-such-user-rpx"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-users", no_user], "no-user:1"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-users", long_line],
             "long-line:2: line longer than 1022 bytes"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-users", long_sel],
             "long-selector:1: selector longer than 599 bytes"),
            (["--tls-cert", cert, "--tls-key", key, "--tls-users", missing], "--tls-users"),
            (["--tls-cert", cert], "--tls-key"),
            (["--tls-key", key], "--tls-cert"),
            (["--tls-require"], "--tls-require"),
            (["--tls-client-ca", s.ca.crt], "--tls-client-ca"),
        ]
        for args, needle in cases:
            rc, out, err = rpxtest.run_rpxd(["--listen", "tcp://127.0.0.1:0", "--daytime", "off",
                                             "--state-dir", pki.path("state")] + args)
            check(rc != 0, "rpxd %r started (status 0); stderr %r" % (args, err))
            check("ready" not in out, "rpxd %r printed ready" % (args,))
            check(needle in err, "rpxd %r: stderr does not name %r: %r" % (args, needle, err))


if __name__ == "__main__":
    main([case_mapped_by_fingerprint_and_san, case_mapped_by_subject, case_unmapped_read_only, case_refused_certificates,
          case_tls_require, case_bad_files_refused_at_start])
