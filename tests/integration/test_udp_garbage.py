"""UDP: hostile datagrams are handled as docs/protocol.md says (random bytes get no reply or a well-formed one to their XID; empty, short and non-CALL datagrams none; undecodable headers AUTH_BADCRED), an oversized datagram (8000 bytes with --max-record 4096) whose header decodes is answered GARBAGE_ARGS, and rpxd keeps serving.

Usage: test_udp_garbage.py udp [case...]
"""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def still_alive(d, what):
    check(d.alive(), "rpxd died after %s; stderr:\n%s" % (what, d.stderr()))
    assert_serves(d, "udp", "fresh client after " + what)


def case_random_datagrams(transport):
    """Random datagrams: any answer must be a well-formed reply carrying their first 4 bytes as XID."""
    with Rpxd() as d, Dgram(d.rpc_addr("udp")) as u:
        for seed in range(20):
            rnd = random.Random(seed)
            data = bytes(rnd.randrange(256) for _ in range(rnd.choice((1, 3, 4, 8, 24, 512, 1400))))
            u.send(data)
            try:
                got = u.recv(0.3)
            except Timeout:
                got = None
            if got is not None:
                r = Reply(got)
                eq(r.xid, struct.unpack(">I", data[:4])[0], "xid of the reply to random seed %d" % seed)
        still_alive(d, "random datagrams")


def case_no_reply_to_non_calls(transport):
    """Empty datagram, 3 bytes, a REPLY message, msg_type 2 and 0xffffffff: no reply at all."""
    with Rpxd() as d, Dgram(d.rpc_addr("udp")) as u:
        msgs = [
            b"",
            b"abc",
            x_uint(new_xid()),
            x_uint(new_xid()) + x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(0) + x_uint(0)
            + x_uint(SUCCESS),
            x_uint(new_xid()) + x_uint(REPLY) + x_uint(MSG_DENIED) + x_uint(AUTH_ERROR)
            + x_uint(AUTH_BADCRED),
            encode_call(new_xid(), DATE_NULL, mtype=2),
            encode_call(new_xid(), DATE_NULL, mtype=0xFFFFFFFF),
        ]
        for i, m in enumerate(msgs):
            u.send(m)
            check(u.quiet_for(0.5), "datagram #%d (%s) was answered" % (i, m.hex()))
        still_alive(d, "non-call datagrams")


def case_undecodable_header(transport):
    """Headers cut short at 12 bytes or more, or with an opaque_auth body over 400 bytes
    -> AUTH_BADCRED with the XID; cut below 12 bytes -> no reply."""
    with Rpxd() as d, Dgram(d.rpc_addr("udp")) as u:
        xid = new_xid()
        full = encode_call(xid, DATE_NOW)
        for cut in (4, 8, 11):
            u.send(full[:cut])
            check(u.quiet_for(0.3), "a %d-byte datagram was answered" % cut)
        for cut in (12, 16, 24, 28, 32, 36):
            u.send(full[:cut])
            try:
                r = u.recv_reply(3)
            except Timeout:
                fail("no reply to a call header cut at %d bytes; expected AUTH_BADCRED" % cut)
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADCRED, what="header cut at %d" % cut)
        head = full[:24]
        for what, m in (("cred body of 401 bytes", head + x_uint(AUTH_SYS) + x_uint(401)
                         + b"\0" * 404 + x_uint(0) + x_uint(0)),
                        ("cred length 0xfffffff0", head + x_uint(AUTH_NONE) + x_uint(0xFFFFFFF0))):
            u.send(m)
            try:
                r = u.recv_reply(3)
            except Timeout:
                fail("no reply to %s; expected AUTH_BADCRED" % what)
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_BADCRED, what=what)
        # RFC 5531 version is checked on the first 12 bytes alone.
        u.send(full[:8] + x_uint(3))
        expect_denied(u.recv_reply(3), xid, RPC_MISMATCH, low=2, high=2, what="12 bytes, rpcvers 3")
        still_alive(d, "undecodable headers")


def case_oversized_datagram(transport):
    """--max-record 4096: an 8000-byte NOW call datagram -> GARBAGE_ARGS; 4096 bytes is decoded."""
    with Rpxd(extra=["--max-record", "4096"]) as d, Dgram(d.rpc_addr("udp")) as u:
        for size in (4097, 8000, 65000):
            xid = new_xid()
            m = encode_call(xid, DATE_NOW)
            u.send(m + b"\0" * (size - len(m)))
            try:
                r = u.recv_reply(3)
            except Timeout:
                fail("no reply to a %d-byte datagram with a decodable header (--max-record 4096);"
                     " expected GARBAGE_ARGS" % size)
            expect_accepted_error(r, xid, GARBAGE_ARGS, what="%d-byte datagram" % size)
            still_alive(d, "%d-byte datagram" % size)
        # At the limit: a FORMAT call padded to 4096 has trailing bytes -> GARBAGE_ARGS too,
        # and an ordinary call right after works on the same socket.
        xid = new_xid()
        m = encode_call(xid, DATE_FORMAT, format_args(0, 0, True))
        u.send(m + b"\0" * (4096 - len(m)))
        expect_accepted_error(u.recv_reply(3), xid, GARBAGE_ARGS, what="4096-byte datagram")
        xid = new_xid()
        r = u.call_raw(encode_call(xid, DATE_FORMAT, format_args(0, 0, True)))
        err, val = decode_format(expect_success(r, xid, "FORMAT"))
        eq((err, val["rfc3339"]), (0, "1970-01-01T00:00:00.000000000Z"), "FORMAT after oversize")


def case_default_udp_limit(transport):
    """Default limit: the largest UDP datagram (65507 bytes) with a decodable header -> GARBAGE_ARGS."""
    with Rpxd() as d, Dgram(d.rpc_addr("udp")) as u:
        xid = new_xid()
        m = encode_call(xid, DATE_NULL)
        u.send(m + b"\0" * (65507 - len(m)))
        try:
            r = u.recv_reply(3)
        except Timeout:
            fail("no reply to a 65507-byte datagram; expected GARBAGE_ARGS")
        expect_accepted_error(r, xid, GARBAGE_ARGS, what="65507-byte datagram")
        still_alive(d, "65507-byte datagram")


if __name__ == "__main__":
    main([case_random_datagrams, case_no_reply_to_non_calls, case_undecodable_header,
          case_oversized_datagram, case_default_udp_limit], transports=("udp",))
