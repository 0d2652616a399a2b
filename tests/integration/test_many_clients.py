"""Many clients at once over one transport (64 connections or sockets, calls interleaved round-robin) each get their own replies, correct and in order, from the single-threaded rpxd; over UDP a burst of 200 datagrams is answered in full.

Usage: test_many_clients.py tcp|udp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

CLIENTS = 64
ROUNDS = 10


def case_interleaved_clients(transport):
    with Rpxd() as d:
        clients = [Client(d, transport) for _ in range(CLIENTS)]
        try:
            for rnd in range(ROUNDS):
                sent = []
                # Every client sends before any reads: rpxd has 64 calls pending at once.
                for i, c in enumerate(clients):
                    xid = new_xid()
                    s = rnd * 1000003 + i
                    c.conn.send(encode_call(xid, DATE_FORMAT, format_args(s, i, True))
                                if transport == "udp" else
                                frame(encode_call(xid, DATE_FORMAT, format_args(s, i, True))))
                    sent.append((xid, s, i))
                for c, (xid, s, ns) in zip(clients, sent):
                    try:
                        reply = c.conn.recv_reply()
                    except (Closed, Timeout) as e:
                        fail("round %d client %d: %r" % (rnd, ns, e))
                    err, r = decode_format(expect_success(reply, xid, "FORMAT"))
                    eq(err, 0, "FORMAT error")
                    eq((r["seconds"], r["nanoseconds"]), (s, ns), "round %d client %d echo"
                       % (rnd, ns))
                    secs, frac, off, z = parse_rfc3339(r["rfc3339"])
                    eq((secs, int(frac), z), (s, ns, "Z"), "round %d client %d text" % (rnd, ns))
        finally:
            for c in clients:
                c.close()


def case_udp_burst(transport):
    """UDP: 200 datagrams sent back to back from one socket are all answered, each XID once."""
    if transport != "udp":
        log("UDP only; nothing to do over %s" % transport)
        return
    with Rpxd() as d, Dgram(d.rpc_addr("udp")) as u:
        u.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        xids = [new_xid() for _ in range(200)]
        for x in xids:
            u.send(encode_call(x, DATE_NOW))
        seen = set()
        while len(seen) < len(xids):
            try:
                reply = u.recv_reply(3)
            except Timeout:
                fail("only %d of %d UDP calls answered" % (len(seen), len(xids)))
            check(reply.xid in xids and reply.xid not in seen, "stray or repeated xid %#x"
                  % reply.xid)
            seen.add(reply.xid)
            check_now_res(decode_now(expect_success(reply, reply.xid, "NOW")), "NOW",
                          now=time.time())
        check(u.quiet_for(0.3), "more datagrams than calls")


if __name__ == "__main__":
    main([case_interleaved_clients, case_udp_burst])
