"""SPAWN over mutual TLS through connections reset at random bytes runs every call at most once.

rpxd without --insecure: SPAWN is allowed on TCP only to a client whose
certificate --tls-users maps (RFC 9289 with mutual TLS). amo_driver (librpx,
tls:// URL) sends 400 SPAWNs of `echo TOKEN >> FILE` through
faultproxy.TcpResetProxy, which resets every connection after 1..6000 bytes
from the client or 1..4000 bytes from rpxd: handshakes, probes, calls and
replies are all cut somewhere. librpx reconnects, does the probe and the
handshake again (resuming where it can) and sends the same request ID: ok
ran exactly once, failed never, unknown at most once; resent requests were
answered from rpxd's cache; rpxd's cache is keyed by the certificate's
identity, so it is the same caller on every new TLS session.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amotest  # noqa: E402
import proctest  # noqa: E402
from faultproxy import TcpResetProxy  # noqa: E402
from proctest import Skip, is_root  # noqa: E402
from rpxtest import log  # noqa: E402
from tlstest import Pki, Setup  # noqa: E402

CALLS = int(os.environ.get("AMO_TLS_CALLS", "400"))
PROCS = 4


def case_tls_resets():
    """400 SPAWNs over mutual TLS through random resets: at most once, ok means exactly once."""
    if not is_root():
        raise Skip("a mapped certificate's jobs run as its user only when rpxd is root")
    s = amotest.seed()
    with Pki() as pki:
        st = Setup(pki)
        users = "sha256:%s root\n" % st.alice.fingerprint
        with proctest.start_rpxd(st.rpxd_args(users=users), transports=("tcp", "unix")) as d:
            token_file = os.path.join(d.tmp, "tokens")
            with TcpResetProxy(d.rpc_addr("tcp"), min_bytes=1, max_bytes=6000,
                               max_bytes_down=4000, seed=s) as px:
                out = amotest.run_driver("tls://127.0.0.1:%d" % px.addr[1], token_file, "s",
                                         CALLS, procs=PROCS, timeout_ms=30000, limit_s=150,
                                         tls=(st.ca.crt, st.alice.crt, st.alice.key))
            log("%d calls: %s; proxy %r" % (CALLS, out.summary(), px.stats))
            amotest.check_resets_run(d, out, token_file, px, CALLS, 90)


if __name__ == "__main__":
    proctest.main([case_tls_resets])
