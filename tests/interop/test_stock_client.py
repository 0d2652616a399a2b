"""A client built from stock rpcgen output (no -M) and libtirpc's clnttcp_create/clntudp_create calls NULL, NOW and FORMAT on rpxd and sees RFC 5531 errors (PROG_MISMATCH 1..1, PROG_UNAVAIL, PROC_UNAVAIL) exactly as libtirpc reports them.

Usage: test_stock_client.py tcp|udp   (env RPXD, INTEROP_CLIENT)
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from rpxtest import *  # noqa: E402,F401,F403

# enum clnt_stat (tirpc/rpc/clnt_stat.h)
RPC_PROGUNAVAIL, RPC_PROGVERSMISMATCH, RPC_PROCUNAVAIL = 8, 9, 10


def parse_fields(rest):
    """'seconds=1 ... rfc3339=T' -> dict (values without spaces)."""
    out = {}
    for word in rest.split(" "):
        k, sep, v = word.partition("=")
        check(sep, "field without '=': %r" % word)
        out[k] = v
    return out


def as_now(f):
    return {"seconds": int(f["seconds"]), "nanoseconds": int(f["nanoseconds"]),
            "utc_offset": int(f["utc_offset"]), "zone": f["zone"], "rfc3339": f["rfc3339"]}


def case_stock_client(transport):
    client = os.environ.get("INTEROP_CLIENT")
    check(client and os.access(client, os.X_OK), "INTEROP_CLIENT is not set to the built client")
    with Rpxd(env={"TZ": "XST-5:30"}) as d:
        host, port = d.rpc_addr(transport)
        t0 = time.time()
        try:
            p = subprocess.run([client, transport, host, str(port)], capture_output=True,
                               timeout=30, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            fail("interop client did not finish within 30 s")
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        log("interop client stdout:\n%s" % out)
        eq(p.returncode, 0, "interop client exit status (stderr %r)" % err)
        lines = {}
        for line in out.splitlines():
            key, _, rest = line.partition(" ")
            check(key not in lines, "line %r printed twice" % key)
            lines[key] = rest
        eq(sorted(lines), sorted(["null", "now", "format", "format_error", "authsys_now",
                                  "progvers", "progunavail", "procunavail"]), "lines printed")
        eq(lines["null"], "ok", "NULL")
        for key in ("now", "authsys_now"):
            r = as_now(parse_fields(lines[key]))
            check_now_res(r, "stock client " + key, now=t0, offset=19800, zone="XST")
        r = as_now(parse_fields(lines["format"]))
        eq(r, {"seconds": 1000000000, "nanoseconds": 1, "utc_offset": 0, "zone": "UTC",
               "rfc3339": "2001-09-09T01:46:40.000000001Z"}, "FORMAT via the stock client")
        f = lines["format_error"]
        check(f.startswith("error=%d message=" % errno.EINVAL) and len(f) > len("error=22 message="),
              "FORMAT with nanoseconds 1e9 via the stock client: %r" % f)
        eq(parse_fields(lines["progvers"]),
           {"stat": str(RPC_PROGVERSMISMATCH), "low": "1", "high": "1"}, "vers 2 via libtirpc")
        eq(parse_fields(lines["progunavail"]), {"stat": str(RPC_PROGUNAVAIL)},
           "unknown program via libtirpc")
        eq(parse_fields(lines["procunavail"]), {"stat": str(RPC_PROCUNAVAIL)},
           "proc 99 via libtirpc")


if __name__ == "__main__":
    main([case_stock_client], transports=("tcp", "udp"))
