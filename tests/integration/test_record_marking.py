"""Calls split into many record-marking fragments (RFC 5531 §11) - 0-length non-last fragments, splits inside the call header and inside the arguments, byte-by-byte delivery - get the same correct replies as one-fragment calls.

Usage: test_record_marking.py tcp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

NOW_CALL_LEN = 40  # 10 words: xid .. verf body length, no args


def check_now_reply(reply, xid, what, conn=None):
    if conn is not None:
        # docs/protocol.md: replies are always one fragment.
        eq(conn.last_fragments, 1, what + ": fragments in the reply")
    r = decode_now(expect_success(reply, xid, what))
    check_now_res(r, what, now=time.time())


def case_now_in_fragments(transport):
    """NOW split in 3+ fragments, with a 0-length non-last one and a split inside the header."""
    splits = [
        [5, 0, 20],            # inside mtype, empty fragment, inside prog/vers
        [0, 1, 1, 1, 1],       # leading empty fragment, first 4 bytes one per fragment
        [13, 14],              # three fragments, splits inside rpcvers and proc
        [1] * 39,              # one byte per fragment, last fragment 1 byte
        [1] * 40,              # one byte per fragment, then an empty last fragment
        [0, 0, 0, 40],         # empty fragments around everything, empty last
        [20, 0, 0, 19],
    ]
    with Rpxd() as d, Client(d, transport) as c:
        for cuts in splits:
            xid = new_xid()
            msg = encode_call(xid, DATE_NOW)
            eq(len(msg), NOW_CALL_LEN, "NOW call length")
            check_now_reply(c.conn.call_raw(msg, cuts), xid, "NOW cuts %r" % cuts, c.conn)


def case_format_args_in_fragments(transport):
    """FORMAT with the arguments split across fragments gives the exact result."""
    with Rpxd() as d, Client(d, transport) as c:
        for cuts in ([40, 0, 4, 4, 4], [42, 3, 5], [10, 30, 8, 0], [3] * 18):
            xid = new_xid()
            msg = encode_call(xid, DATE_FORMAT, format_args(1000000000, 1, True))
            reply = c.conn.call_raw(msg, cuts)
            err, r = decode_format(expect_success(reply, xid, "FORMAT cuts %r" % cuts))
            eq(err, 0, "FORMAT error")
            eq(r["rfc3339"], "2001-09-09T01:46:40.000000001Z", "FORMAT text cuts %r" % cuts)


def case_slow_delivery(transport):
    """Framed call sent one byte per write with pauses: the reader resumes after each short read."""
    with Rpxd() as d, Client(d, transport) as c:
        xid = new_xid()
        data = frame(encode_call(xid, DATE_NOW), [7, 0, 18])
        s = c.conn.sock
        if transport == "tcp":
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(0.01)
        check_now_reply(c.conn.recv_reply(), xid, "NOW byte by byte")


def case_back_to_back_records(transport):
    """Several multi-fragment records in one write: one reply each, in order, nothing extra."""
    with Rpxd() as d, Client(d, transport) as c:
        xids = [new_xid() for _ in range(4)]
        data = (frame(encode_call(xids[0], DATE_NOW), [5, 0, 20])
                + frame(encode_call(xids[1], DATE_NULL), [0])
                + frame(encode_call(xids[2], DATE_FORMAT, format_args(0, 0, True)), [44, 0])
                + frame(encode_call(xids[3], 99), [1, 1, 1]))
        c.conn.send(data)
        check_now_reply(c.conn.recv_reply(), xids[0], "record 1 NOW")
        eq(expect_success(c.conn.recv_reply(), xids[1], "record 2 NULL"), b"", "NULL results")
        err, r = decode_format(expect_success(c.conn.recv_reply(), xids[2], "record 3 FORMAT"))
        eq((err, r["rfc3339"]), (0, "1970-01-01T00:00:00.000000000Z"), "record 3 FORMAT")
        expect_accepted_error(c.conn.recv_reply(), xids[3], PROC_UNAVAIL, what="record 4")
        check(c.conn.quiet_for(0.3), "extra data after the 4 replies")


if __name__ == "__main__":
    main([case_now_in_fragments, case_format_args_in_fragments, case_slow_delivery,
          case_back_to_back_records], transports=("tcp", "unix"))
