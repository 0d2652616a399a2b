"""scripts/rpx-certs.sh does what docs/tls.md says: `DIR ca`, `DIR server 127.0.0.1 localhost`, `DIR client alice nobody` make files with private keys readable by the owner only, the printed rpxd options start rpxd with mutual TLS and --tls-require, the printed --tls-users line maps alice's certificate to nobody (her SPAWN of `id -u` prints 65534), a second `ca` does not overwrite the CA, and a client certificate from another run's CA is refused.

Usage: test_tls_certs_script.py [case...]   (needs RPXD, root, and the openssl command)
"""

import os
import re
import shlex
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import Skip, expect_exited, is_root, main  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "rpx-certs.sh")


def certs(*args, ok=True):
    p = subprocess.run(["sh", SCRIPT] + list(args), capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    out, err = p.stdout.decode(), p.stderr.decode()
    if ok and p.returncode != 0:
        fail("rpx-certs.sh %s: status %d: %s" % (" ".join(args), p.returncode, err))
    return p.returncode, out, err


def case_quick_start():
    """The documented quick start, end to end."""
    openssl_path()
    if not is_root():
        raise Skip("mapping to nobody needs root")
    top = tempfile.mkdtemp(prefix="rpxcerts-")
    try:
        d = os.path.join(top, "pki")
        certs(d, "ca")
        eq(stat.S_IMODE(os.stat(d).st_mode), 0o700, "DIR mode")
        rc, out, err = certs(d, "server", "127.0.0.1", "localhost")
        m = re.search(r"^  rpxd (.*) \\\n\s+(.*)$", out, re.M)
        check(m, "no rpxd command line in %r" % out)
        rpxd_args = shlex.split(m.group(1) + " " + m.group(2))
        rc, out, err = certs(d, "client", "alice", "nobody")
        m = re.search(r"^  (sha256:[0-9A-F:]{95} nobody)$", out, re.M)
        check(m, "no --tls-users line in %r" % out)
        users_line = m.group(1)
        for name in ("ca.key", "server.key", "client-alice.key"):
            eq(stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode), 0o600, name + " mode")
        with open(os.path.join(d, "tls-users"), "w") as f:
            f.write(users_line + "\n")
        rc, out, err = certs(d, "ca", ok=False)
        check(rc != 0 and "not overwritten" in err, "second `ca` refused: %d %r" % (rc, err))
        # The printed options, with the listener moved to port 0.
        i = rpxd_args.index("--listen")
        eq(rpxd_args[i + 1], "tcp://0.0.0.0:7077", "printed listener")
        del rpxd_args[i:i + 2]
        check("--tls-require" in rpxd_args, "printed options require TLS")
        ca = os.path.join(d, "ca.crt")
        alice = Cert(os.path.join(d, "client-alice.crt"), os.path.join(d, "client-alice.key"))
        other = os.path.join(top, "other")
        certs(other, "ca")
        certs(other, "client", "alice")
        mallory = Cert(os.path.join(other, "client-alice.crt"),
                       os.path.join(other, "client-alice.key"))
        with Rpxd(rpxd_args, transports=("tcp",)) as srv:
            c = tls_proc_client(srv, client_context(ca, alice))
            s, w, out, err = c.run_output(["id", "-u"])
            expect_exited(w, 0, "id -u")
            eq(out, b"65534\n", "id -u of alice's job")
            c.close()
            port, err = try_session(srv, client_context(ca, mallory), "other CA")
            check(err is not None, "a certificate from another CA was accepted")
            # Clear text is refused (--tls-require).
            with Client(srv, "tcp") as clear:
                xid = new_xid()
                expect_denied(clear.call(DATE_NULL, xid=xid), xid, AUTH_ERROR,
                              auth_stat=AUTH_TOOWEAK, what="clear NULL")
    finally:
        shutil.rmtree(top, ignore_errors=True)


def case_usage():
    """No arguments, an unknown action, `server` without a name, or `client`
    before `ca`: status 2 or 1 and a message, nothing made."""
    top = tempfile.mkdtemp(prefix="rpxcerts-")
    try:
        for args, want in (((), 2), ((top + "/x", "frob"), 2), ((top + "/x", "server"), 2),
                           ((top + "/y", "client", "bob"), 1)):
            rc, out, err = certs(*args, ok=False)
            eq(rc, want, "status of rpx-certs.sh %r" % (args,))
            check(err.strip() != "", "rpx-certs.sh %r: no message" % (args,))
        check(not os.path.exists(top + "/y/client-bob.key"), "a key was made without a CA")
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main([case_quick_start, case_usage])
