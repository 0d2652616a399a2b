"""Many clients at once over one transport (64 connections or sockets, calls interleaved round-robin) each get their own replies, correct and in order, from the single-threaded rpxd.

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


if __name__ == "__main__":
    main([case_interleaved_clients])
