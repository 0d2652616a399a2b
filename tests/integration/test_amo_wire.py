"""Retransmitted SPAWNs are answered from the request cache with the recorded reply bytes: over UDP under the same XID, over a new TCP connection under a new XID, and without a request ID by the (peer, XID, args) fallback key.

Raw encoder (proctest), rpxd --insecure with TCP, UDP and Unix listeners.
Each SPAWN runs `echo TOKEN >> FILE`, so the file shows how often it ran;
STATS drc_new/drc_hits show whether rpxd ran a request or replayed it.
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amotest  # noqa: E402
import proctest  # noqa: E402
from proctest import (NO_REQID, PROC_PROG, PROC_VERS, SPAWN, STDIO_DISCARD, Dgram,  # noqa: E402
                      ProcClient, dec_spawn, enc_spawn, encode_call, expect_ok, expect_success,
                      new_xid)
from rpxtest import check, eq, log  # noqa: E402


def spawn_args(token_file, token, reqid):
    return enc_spawn(["echo %s >> '%s'" % (token, token_file)], shell=True,
                     stdout_mode=STDIO_DISCARD, stderr_mode=STDIO_DISCARD, reqid=reqid)


def stats(d):
    with ProcClient(d, "unix") as c:
        return c.stats()


def udp_call(sock, xid, args):
    """One datagram out, the reply with this XID back (others are skipped)."""
    sock.send(encode_call(xid, SPAWN, args, prog=PROC_PROG, vers=PROC_VERS))
    while True:
        r = sock.recv_reply()
        if r.xid == xid:
            return r


def case_reqid_udp_same_xid_and_tcp_new_xid():
    """With a request ID: UDP resend (same XID) gets identical bytes; a new TCP connection (new XID) the same bytes after the XID; one run."""
    cid = random.Random(amotest.seed()).randrange(1, 1 << 64)
    with proctest.start_rpxd(["--insecure"], transports=("tcp", "udp", "unix")) as d:
        tokens = os.path.join(d.tmp, "tokens")
        args = spawn_args(tokens, "with-id", (cid, 1, 1))
        st0 = stats(d)
        with Dgram(d.rpc_addr("udp")) as u:
            xid = new_xid()
            r1 = udp_call(u, xid, args)
            res = dec_spawn(expect_success(r1, xid, "SPAWN over UDP"))
            expect_ok(res.status, "SPAWN over UDP")
            r2 = udp_call(u, xid, args)
            eq(r2.raw.hex(), r1.raw.hex(), "UDP retransmission (same XID): reply bytes")
        st1 = stats(d)
        eq(st1.drc_new - st0.drc_new, 1, "requests run after the UDP resend")
        eq(st1.drc_hits - st0.drc_hits, 1, "UDP resends answered from the cache")
        with ProcClient(d, "tcp") as t:
            xid2, r3 = t.call_raw(SPAWN, args)
            check(xid2 != xid, "the TCP call has a new XID")
            eq(r3.xid, xid2, "XID of the reply over TCP")
            eq(r3.raw[4:].hex(), r1.raw[4:].hex(), "reply bytes after the XID over TCP")
        st2 = stats(d)
        eq(st2.drc_new, st1.drc_new, "requests run after the TCP resend")
        eq(st2.drc_hits - st1.drc_hits, 1, "TCP resends answered from the cache")
        amotest.wait_jobs_idle(d)
        eq(amotest.token_counts(tokens).get("with-id", 0), 1, "runs of the SPAWN")
        log("job %d answered 3 times, ran once" % res.job)


def case_no_reqid_fallback_key():
    """Without a request ID: the same datagram (same XID) from the same UDP socket is answered from the cache; a new XID runs anew."""
    with proctest.start_rpxd(["--insecure"], transports=("udp", "unix")) as d:
        tokens = os.path.join(d.tmp, "tokens")
        args = spawn_args(tokens, "no-id", NO_REQID)
        st0 = stats(d)
        with Dgram(d.rpc_addr("udp")) as u:
            xid = new_xid()
            r1 = udp_call(u, xid, args)
            expect_ok(dec_spawn(expect_success(r1, xid, "SPAWN without ID")).status,
                      "SPAWN without ID")
            r2 = udp_call(u, xid, args)
            eq(r2.raw.hex(), r1.raw.hex(), "resend without ID (same XID, socket): reply bytes")
            st1 = stats(d)
            eq(st1.drc_new - st0.drc_new, 1, "requests run after the resend without ID")
            eq(st1.drc_hits - st0.drc_hits, 1, "resends without ID answered from the cache")
            # The fallback key holds the XID: a new XID is a new request (and runs).
            xid3 = new_xid()
            r3 = udp_call(u, xid3, args)
            res3 = dec_spawn(expect_success(r3, xid3, "SPAWN without ID, new XID"))
            expect_ok(res3.status, "SPAWN without ID, new XID")
            check(r3.raw[4:] != r1.raw[4:], "a new XID got the first call's recorded reply")
        st2 = stats(d)
        eq(st2.drc_new - st1.drc_new, 1, "requests run for a new XID without ID")
        amotest.wait_jobs_idle(d)
        eq(amotest.token_counts(tokens).get("no-id", 0), 2, "runs of the two XIDs")


if __name__ == "__main__":
    proctest.main([case_reqid_udp_same_xid_and_tcp_new_xid, case_no_reqid_fallback_key])
