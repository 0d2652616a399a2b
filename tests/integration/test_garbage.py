"""Hostile bytes on a stream connection (random bytes, random records, truncated records, empty records, REPLY and unknown message types, undecodable headers) get an answer, are ignored, or close that connection - never a crash - and a fresh client's NULL call still succeeds after each.

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
    """A record of 0 bytes (0x80000000) and one made of empty fragments."""
    with Rpxd() as d:
        for data in (struct.pack(">I", LAST_FRAGMENT), struct.pack(">III", 0, 0, LAST_FRAGMENT)):
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(data)
                then_null_or_closed(s, "empty record %s" % data.hex())
            still_alive(d, transport, "empty record")


def case_non_call_messages(transport):
    """A REPLY message, msg_type 2 and 0xffffffff sent to rpxd are not answered."""
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
            # Only an XID.
            x_uint(new_xid()),
        ]
        for i, m in enumerate(reply_msgs):
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(frame(m))
                then_null_or_closed(s, "non-call message #%d" % i)
            still_alive(d, transport, "non-call message #%d" % i)


def case_undecodable_header(transport):
    """Call headers that cannot decode (opaque_auth longer than 400, or than the record):
    no crash, and the connection either answers a following NULL or closes."""
    with Rpxd() as d:
        xid = new_xid()
        head = x_uint(xid) + x_uint(CALL) + x_uint(2) + x_uint(DATE_PROG) + x_uint(DATE_VERS)
        head += x_uint(DATE_NOW)
        bad = [
            head + x_uint(AUTH_SYS) + x_uint(401) + b"\0" * 404 + x_uint(0) + x_uint(0),
            head + x_uint(AUTH_NONE) + x_uint(0) + x_uint(0) + x_uint(0x7FFFFFFF),
            head + x_uint(AUTH_NONE) + x_uint(0xFFFFFFF0),
            head + x_uint(AUTH_NONE),
            head,
        ]
        for i, m in enumerate(bad):
            with Stream(transport, d.rpc_addr(transport)) as s:
                s.send(frame(m))
                then_null_or_closed(s, "undecodable header #%d" % i, allow_error_reply=True)
            still_alive(d, transport, "undecodable header #%d" % i)


if __name__ == "__main__":
    main([case_random_bytes, case_random_records, case_truncated_record_then_close,
          case_empty_record, case_non_call_messages, case_undecodable_header],
         transports=("tcp", "unix"))
