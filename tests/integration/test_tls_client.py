"""The rpx command over RPC-with-TLS (RFC 9289), through a real rpxd with
--tls-cert/--tls-key/--tls-client-ca/--tls-users: `rpx -H tls://HOST:PORT
--ca --cert --key date` works (options also after the subcommand, and from
RPX_CA/RPX_CERT/RPX_KEY); a certificate mapped to nobody spawns a job that
runs as uid 65534 and `rpx wait` returns its exit; an unmapped certificate
gets SPAWN refused with a message naming the fix while `rpx ps --all` works;
a server certificate from another CA fails with a verification message
naming the URL; a server without TLS fails with "server does not offer
RPC-with-TLS" and the client sent nothing but the probe (a relay records
the bytes); --tls-require refuses a clear tcp:// call with a readable
message.

Usage: test_tls_client.py [case...]   (needs RPXD, RPX, the openssl command;
root for the mapped-certificate case)
"""

import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import Skip, is_root, main  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403
from rpxtest import AUTH_TLS  # noqa: E402

NOBODY = 65534


def rpx_path():
    p = os.environ.get("RPX")
    if not p or not os.access(p, os.X_OK):
        raise Skip("$RPX is not an executable (%r)" % p)
    return p


def run_rpx(args, env=None, timeout=30):
    """Runs rpx ARGS; (status, stdout, stderr)."""
    e = dict(os.environ)
    for k in ("RPX_HOST", "RPX_CA", "RPX_CERT", "RPX_KEY"):
        e.pop(k, None)
    e.update(env or {})
    p = subprocess.run([rpx_path()] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, env=e, timeout=timeout)
    log("rpx %s -> %d %r %r" % (" ".join(args), p.returncode, p.stdout[:200], p.stderr[:300]))
    return p.returncode, p.stdout, p.stderr


def ok(args, what, **kw):
    st, out, err = run_rpx(args, **kw)
    eq(st, 0, "%s: exit status (stderr %r)" % (what, err))
    eq(err, "", what + ": stderr")
    return out


def tls_url(d):
    host, port = d.rpc_addr("tcp")
    return "tls://%s:%d" % (host, port)


def files(s, cert):
    return ["--ca", s.ca.crt, "--cert", cert.crt, "--key", cert.key]


def users_alice(s):
    return "sha256:%s nobody\n" % s.alice.fingerprint


def check_date(out, what):
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", out), "%s: not a date: %r" % (what, out))


def case_date():
    """date over tls:// with --ca/--cert/--key before and after the
    subcommand, and with RPX_CA/RPX_CERT/RPX_KEY; server-only TLS (no
    client certificate) works for reads too."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(users=users_alice(s)), transports=("tcp",)) as d:
            u = tls_url(d)
            check_date(ok(["-H", u] + files(s, s.alice) + ["date"], "date"), "date")
            check_date(ok(["date", "-H", u] + files(s, s.bob), "date, options after"),
                       "options after")
            env = {"RPX_CA": s.ca.crt, "RPX_CERT": s.bob.crt, "RPX_KEY": s.bob.key}
            check_date(ok(["-H", u, "date"], "date, env", env=env), "env")
            eq(len(audit_lines(d, "(CN=bob,")), 2, "sessions with bob's certificate (option, env)")
            ok(["-H", u, "ping"], "ping, env", env=env)
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(client_ca=False), transports=("tcp",)) as d:
            check_date(ok(["-H", tls_url(d), "--ca", s.ca.crt, "date"], "server-only TLS"),
                       "server-only TLS")


def case_mapped_spawn_wait():
    """A certificate mapped to nobody: spawn runs the job as uid 65534, its
    output says so, and `rpx wait` exits with the job's exit code."""
    if not is_root():
        raise Skip("jobs run as the mapped user only when rpxd is root")
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(users=users_alice(s)), transports=("tcp",)) as d:
            a = ["-H", tls_url(d)] + files(s, s.alice)
            out = ok(a + ["spawn", "--", "sh", "-c", "id -u; exit 5"], "spawn")
            check(re.match(r"^[1-9]\d*\n$", out), "spawn: not one job ID: %r" % out)
            job = out.strip()
            st, out, err = run_rpx(a + ["wait", "--keep", job])
            eq(st, 5, "wait: exit status is the job's (stderr %r)" % err)
            eq(ok(a + ["logs", job], "logs"), "%d\n" % NOBODY, "job's id -u")
            st, out, err = run_rpx(a + ["wait", job])
            eq(st, 5, "wait (reap): exit status")


def case_unmapped():
    """A valid but unmapped certificate: spawn is refused with a message that
    says a mapped certificate is needed; ps --all (read-only) works."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(users=users_alice(s)), transports=("tcp",)) as d:
            a = ["-H", tls_url(d)] + files(s, s.bob)
            st, out, err = run_rpx(a + ["spawn", "--", "true"])
            eq(st, 1, "unmapped spawn: exit status")
            check(re.search(r"refused for security reasons.*certificate.*map", err),
                  "unmapped spawn: unclear message %r" % err)
            out = ok(a + ["ps", "--all"], "ps --all")
            check(re.search(r"\bPID\b", out) and len(out.splitlines()) > 2,
                  "ps --all: no process table: %r" % out[:300])


def case_wrong_ca():
    """The server's certificate does not verify against --ca (another CA):
    the error names the URL and says verification failed."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(), transports=("tcp",)) as d:
            u = tls_url(d)
            st, out, err = run_rpx(["-H", u, "--ca", s.other.crt, "--cert", s.alice.crt,
                                    "--key", s.alice.key, "date"])
            eq(st, 1, "wrong CA: exit status")
            eq(out, "", "wrong CA: stdout")
            check(re.search(re.escape(u) + r": TLS: .*verif", err),
                  "wrong CA: message %r does not name the URL and the verification" % err)


class Relay:
    """A TCP relay to target that records what the client sent."""

    def __init__(self, target):
        self.target = target
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self.sent = b""
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, False), daemon=True).start()

    def _pipe(self, src, dst, record):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                if record:
                    with self.lock:
                        self.sent += b
                dst.sendall(b)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.lsock.close()


def records(data):
    """Splits record-marked bytes into record bodies (the rest, if cut, last)."""
    out = []
    while len(data) >= 4:
        (hdr,) = struct.unpack(">I", data[:4])
        n = hdr & 0x7FFFFFFF
        out.append(data[4:4 + n])
        data = data[4 + n:]
    if data:
        out.append(data)
    return out


def case_server_without_tls():
    """rpxd without --tls-*: the client fails with "server does not offer
    RPC-with-TLS", naming the URL, and sent nothing but the AUTH_TLS probe."""
    with Rpxd(transports=("tcp",)) as d:
        relay = Relay(d.rpc_addr("tcp"))
        try:
            u = "tls://127.0.0.1:%d" % relay.port
            for cmd in (["date"], ["ps", "--all"], ["spawn", "--", "true"]):
                st, out, err = run_rpx(["-H", u] + cmd)
                eq(st, 1, "%s: exit status" % cmd[0])
                check(re.search(re.escape(u) + r": server does not offer RPC-with-TLS", err),
                      "%s: message %r" % (cmd[0], err))
            with relay.lock:
                sent = relay.sent
        finally:
            relay.close()
        recs = records(sent)
        eq(len(recs), 3, "records sent: one probe per command (got %r)" % recs)
        for r in recs:
            check(len(r) >= 32, "probe too short: %r" % r)
            xid, mtype, rpcvers, prog, vers, proc, flavor = struct.unpack(">7I", r[:28])
            eq((mtype, proc, flavor), (0, 0, AUTH_TLS), "the only call sent is the AUTH_TLS probe")


def case_tls_require():
    """--tls-require: a clear tcp:// call is refused with a message saying
    so; the same call over tls:// works."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(require=True), transports=("tcp",)) as d:
            host, port = d.rpc_addr("tcp")
            st, out, err = run_rpx(["-H", "tcp://%s:%d" % (host, port), "date"])
            eq(st, 1, "clear call: exit status")
            check(re.search(r"authentication error: refused for security reasons", err),
                  "clear call: message %r" % err)
            check_date(ok(["-H", tls_url(d)] + files(s, s.alice) + ["date"], "tls date"),
                       "tls date")


def case_refused_certificate():
    """rpxd refuses the client's certificate (none given, another CA's,
    expired): rpx spawn fails at once, not at its deadline, with a message
    saying the server refused the client certificate, every time (rpxd reads
    what the client sent after its Finished before closing, so no reset
    destroys the alert, even when the client sent 10 kB meanwhile), and no
    job was made; a refused client that keeps sending is cut off after about
    a second."""
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s root\nsha256:%s root\n" % (s.eve.fingerprint, s.old.fingerprint)
        with Rpxd(s.rpxd_args(users=users), transports=("tcp", "unix")) as d:
            for what, extra in (("no certificate", ["--ca", s.ca.crt]),
                                ("certificate from another CA", files(s, s.eve)),
                                ("expired certificate", files(s, s.old))):
                for i in range(10):
                    t0 = time.monotonic()
                    st, out, err = run_rpx(["-H", tls_url(d), "-t", "10s"] + extra +
                                           ["spawn", "--", "true"])
                    secs = time.monotonic() - t0
                    eq(st, 1, "%s: spawn exit status" % what)
                    check("the server refused the client certificate" in err,
                          "%s (try %d): message %r" % (what, i, err))
                    check(secs < 5, "%s: spawn took %.1f s (retried until its deadline?)"
                          % (what, secs))
            ps = ok(["-H", "unix:%s" % d.rpc_addr("unix"), "ps", "--json"], "ps (unix socket)")
            eq(ps, "", "jobs made by refused clients")

            # A client that sent 10 kB after its Finished still reads the alert.
            for i in range(10):
                sock = plain_socket(d.rpc_addr("tcp"))
                send_probe(sock)
                tls = tls_handshake(sock, client_context(s.ca, None)).sock
                try:
                    for j in range(10):
                        tls.sendall(b"\0" * 1000)
                    tls.recv(100)
                    fail("no certificate: the session was not refused")
                except (ssl.SSLError, OSError) as e:
                    check("CERTIFICATE_REQUIRED" in str(e),
                          "no certificate, 10 kB sent (try %d): %r instead of the alert" % (i, e))
                finally:
                    sock.close()

            # A refused client that goes on sending: rpxd closes within a bound.
            sock = plain_socket(d.rpc_addr("tcp"))
            send_probe(sock)
            tls = tls_handshake(sock, client_context(s.ca, None)).sock
            t0 = time.monotonic()
            try:
                while time.monotonic() - t0 < 10:
                    tls.sendall(b"\0" * 1000)
                    time.sleep(0.01)
            except (ssl.SSLError, OSError):
                pass
            secs = time.monotonic() - t0
            sock.close()
            check(secs < 5, "a refused client that keeps sending was not cut off (%.1f s)" % secs)


if __name__ == "__main__":
    main([case_date, case_mapped_spawn_wait, case_unmapped, case_wrong_ca,
          case_server_without_tls, case_tls_require, case_refused_certificate])
