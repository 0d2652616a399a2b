"""Hostile bytes on a stream connection never crash rpxd: random bytes and records are answered, ignored or close that connection; per docs/protocol.md empty records, REPLY and unknown message types are dropped without a reply, undecodable call headers get AUTH_BADCRED; a fresh client's NULL call succeeds after each.

Usage: test_garbage.py tcp|unix [case...]
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def still_alive(d, transport, what):
    check(d.alive(), "rpxd died after %s; stderr:\n%s" % (what, d.stderr()))
    assert_serves(d, transport, "fresh client after " + what)


def then_null_or_closed(conn, what, allow_error_reply=False):
    """After garbage on conn: a NULL call on it gets its reply (and only that),
    or the connection is closed. Returns 'closed' or 'served'."""
    xid = new_xid()
    try:
        conn.send(frame(encode_call(xid, DATE_NULL)))
    except (BrokenPipeError, ConnectionResetError):
        return "closed"
    while True:
        try:
            record = conn.recv_record(timeout=5)
        except Closed:
            return "closed"
        except Timeout:
            fail("%s: the connection neither answered a NULL call nor closed within 5 s" % what)
        reply = Reply(record)
        if reply.xid != xid and allow_error_reply:
            continue  # a reply to the garbage record itself (its header decoded)
        eq(expect_success(reply, xid, what + ": NULL on the same connection"), b"",
           "NULL results")
        return "served"


def case_random_bytes(transport):
    """Unframed random bytes: answered, ignored or closed; the server keeps serving."""
    with Rpxd() as d:
        for seed in range(8):
            rnd = random.Random(seed)
            data = bytes(rnd.randrange(256) for _ in range(rnd.choice((3, 64, 4096, 65536))))
            with Stream(transport, d.rpc_addr(transport)) as s:
                try:
                    s.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                try:
                    s.wait_closed(1.0)
                except Timeout:
                    pass  # still open: rpxd waits for the rest of a record it allows
            still_alive(d, transport, "random bytes seed %d" % seed)


def case_random_records(transport):
    """Well-framed records of random bytes: each ignored, answered, or the connection closed."""
    with Rpxd() as d:
        for seed in range(8):
            rnd = random.Random(100 + seed)
            body = bytes(rnd.randrange(256) for _ in range(rnd.choice((1, 4, 24, 100, 3000))))
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(frame(body))
                then_null_or_closed(s, "random record seed %d" % seed, allow_error_reply=True)
            still_alive(d, transport, "random record seed %d" % seed)


def case_truncated_record_then_close(transport):
    """A record cut short, then the client closes: nothing breaks."""
    with Rpxd() as d:
        msg = encode_call(new_xid(), DATE_NOW)
        for cut in (1, 3, 4, 5, 20, 43):
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(frame(msg)[:cut])
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(frame(msg, [10])[:cut + 4])
                s.sock.shutdown(socket.SHUT_WR)  # half-close: EOF inside a record
                try:
                    s.wait_closed(5.0)
                except Timeout:
                    fail("EOF inside a record (cut %d): rpxd kept the connection open 5 s" % cut)
            still_alive(d, transport, "truncated record (cut %d)" % cut)


def case_empty_record(transport):
    """A record of 0 bytes (0x80000000) and one made of empty fragments: dropped
    without a reply (shorter than 12 bytes), the connection keeps serving."""
    with Rpxd() as d:
        for data in (struct.pack(">I", LAST_FRAGMENT), struct.pack(">III", 0, 0, LAST_FRAGMENT)):
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(data)
                eq(then_null_or_closed(s, "empty record %s" % data.hex()), "served",
                   "after an empty record")
            still_alive(d, transport, "empty record")


def case_non_call_messages(transport):
    """Messages shorter than 12 bytes or whose msg_type is not CALL (a REPLY, 2,
    0xffffffff) are dropped without a reply; the connection keeps serving."""
    with Rpxd() as d:
        reply_msgs = [
            # A plausible accepted SUCCESS reply, with NULL's empty results.
            x_uint(new_xid()) + x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(0) + x_uint(0)
            + x_uint(SUCCESS),
            # A denied reply.
            x_uint(new_xid()) + x_uint(REPLY) + x_uint(MSG_DENIED) + x_uint(RPC_MISMATCH)
            + x_uint(2) + x_uint(2),
            # A call-shaped message with other msg_types.
            encode_call(new_xid(), DATE_NULL, mtype=2),
            encode_call(new_xid(), DATE_NULL, mtype=0xFFFFFFFF),
            # Shorter than 12 bytes.
            x_uint(new_xid()),
            x_uint(new_xid()) + x_uint(CALL),
            x_uint(new_xid()) + x_uint(CALL) + b"\0\0\0",
        ]
        for i, m in enumerate(reply_msgs):
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(frame(m))
                eq(then_null_or_closed(s, "non-call message #%d" % i), "served",
                   "non-call message #%d %s" % (i, m.hex()))
            still_alive(d, transport, "non-call message #%d" % i)


def case_undecodable_header(transport):
    """Call headers that do not decode (the message ends inside them, or an
    opaque_auth body is longer than 400 bytes) -> MSG_DENIED AUTH_ERROR AUTH_BADCRED
    with the call's XID; a 12-byte message with rpcvers 3 -> RPC_MISMATCH."""
    with Rpxd() as d, Stream(transport, d.rpc_addr(transport)) as s:
        xid = new_xid()
        head = x_uint(xid) + x_uint(CALL) + x_uint(2) + x_uint(DATE_PROG) + x_uint(DATE_VERS)
        head += x_uint(DATE_NOW)
        bad = [
            ("cred body of 401 bytes", head + x_uint(AUTH_SYS) + x_uint(401) + b"\0" * 404
             + x_uint(0) + x_uint(0)),
            ("verf body of 401 bytes", head + x_uint(AUTH_NONE) + x_uint(0) + x_uint(AUTH_NONE)
             + x_uint(401) + b"\0" * 404),
            ("verf length 0x7fffffff", head + x_uint(AUTH_NONE) + x_uint(0) + x_uint(0)
             + x_uint(0x7FFFFFFF)),
            ("cred length 0xfffffff0", head + x_uint(AUTH_NONE) + x_uint(0xFFFFFFF0)),
            ("ends inside cred", head + x_uint(AUTH_NONE)),
            ("ends before cred", head),
            ("ends after rpcvers", head[:12]),
            ("ends inside prog", head[:14]),
        ]
        for what, m in bad:
            r = s.call_raw(m)
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADCRED, what=what)
        for m in (head[:8] + x_uint(3), head[:8] + x_uint(3) + b"\xff" * 5):
            expect_denied(s.call_raw(m), xid, RPC_MISMATCH, low=2, high=2,
                          what="%d-byte message with rpcvers 3" % len(m))
        eq(then_null_or_closed(s, "after undecodable headers"), "served", "same connection")
        still_alive(d, transport, "undecodable headers")


if __name__ == "__main__":
    main([case_random_bytes, case_random_records, case_truncated_record_then_close,
          case_empty_record, case_non_call_messages, case_undecodable_header],
         transports=("tcp", "unix"))
