"""200 calls pipelined on one stream connection in a single write are all answered, each XID exactly once with the reply its procedure calls for, and nothing more.

Usage: test_pipeline.py tcp|unix [case...]
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

N = 200


def case_pipeline_200(transport):
    rnd = random.Random(5531)
    calls = {}
    data = bytearray()
    for i in range(N):
        xid = new_xid()
        kind = i % 4
        if kind == 0:
            msg = encode_call(xid, DATE_NULL)
        elif kind == 1:
            msg = encode_call(xid, DATE_NOW)
        elif kind == 2:
            s = rnd.randrange(0, 4102444800)
            msg = encode_call(xid, DATE_FORMAT, format_args(s, i, True))
            kind = (2, s, i)
        else:
            msg = encode_call(xid, 99)
        calls[xid] = kind
        # Some calls in several fragments, to mix framing and pipelining.
        data += frame(msg, [5, 0, 11] if i % 7 == 0 else None)
    with Rpxd() as d, Client(d, transport) as c:
        t0 = time.time()
        c.conn.send(bytes(data))
        seen = {}
        deadline = time.monotonic() + 20
        while len(seen) < N:
            try:
                reply = c.conn.recv_reply(timeout=max(0.1, deadline - time.monotonic()))
            except (Timeout, Closed) as e:
                fail("%r after %d of %d replies" % (e, len(seen), N))
            check(reply.xid in calls, "reply for unknown xid %#x" % reply.xid)
            check(reply.xid not in seen, "xid %#x answered twice" % reply.xid)
            seen[reply.xid] = reply
        check(c.conn.quiet_for(0.5), "data after the %d replies" % N)
        for xid, kind in calls.items():
            reply = seen[xid]
            if kind == 0:
                eq(expect_success(reply, xid, "NULL"), b"", "NULL results")
            elif kind == 1:
                check_now_res(decode_now(expect_success(reply, xid, "NOW")), "NOW", now=t0)
            elif kind == 3:
                expect_accepted_error(reply, xid, PROC_UNAVAIL, what="proc 99")
            else:
                _, s, ns = kind
                err, r = decode_format(expect_success(reply, xid, "FORMAT"))
                eq(err, 0, "FORMAT error")
                eq((r["seconds"], r["nanoseconds"], r["utc_offset"]), (s, ns, 0), "FORMAT echo")
                secs, frac, off, z = parse_rfc3339(r["rfc3339"])
                eq((secs, int(frac), z), (s, ns, "Z"), "FORMAT text %r" % r["rfc3339"])
        # And the connection still serves a plain call.
        c.null()


def case_half_close(transport):
    """Calls followed by a half-close (shutdown SHUT_WR) are all answered before rpxd closes."""
    with Rpxd() as d:
        for i in range(10):
            with Stream(transport, d.rpc_addr(transport)) as s:
                xids = [new_xid() for _ in range(3)]
                s.send(b"".join(frame(encode_call(x, DATE_NOW)) for x in xids))
                s.sock.shutdown(socket.SHUT_WR)
                for x in xids:
                    try:
                        reply = s.recv_reply()
                    except Closed:
                        fail("round %d: connection closed before the reply to %#x" % (i, x))
                    check_now_res(decode_now(expect_success(reply, x, "NOW")), "NOW",
                                  now=time.time())
                try:
                    eq(s.wait_closed(3), b"", "bytes after the replies")
                except Timeout:
                    fail("round %d: rpxd kept a half-closed connection open 3 s" % i)


if __name__ == "__main__":
    main([case_pipeline_200, case_half_close], transports=("tcp", "unix"))
