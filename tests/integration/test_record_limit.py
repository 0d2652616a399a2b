"""A fragment header that would make a record exceed the record limit (2 GiB headers 0x7fffffff/0xffffffff, 1 MiB + 1 by default, --max-record 4096), or an endless run of empty fragments, closes the connection with no reply and without rpxd allocating the claimed size, while records at the limit are served.

Usage: test_record_limit.py tcp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

RSS_SLACK_KIB = 16 * 1024


def expect_closed_no_reply(s, what, timeout=3.0):
    t0 = time.monotonic()
    try:
        data = s.wait_closed(timeout)
    except Timeout:
        fail("%s: connection still open %.0f s later" % (what, timeout))
    eq(data, b"", "%s: bytes sent back before closing" % what)
    return time.monotonic() - t0


def padded_null(xid, total):
    """A NULL call padded with zero bytes to a record of exactly `total` bytes."""
    m = encode_call(xid, DATE_NULL)
    return m + b"\0" * (total - len(m))


def case_two_gib_headers(transport):
    """0x7fffffff and 0xffffffff: closed, no reply, RSS not grown, others served meanwhile."""
    with Rpxd() as d:
        base = d.rss_kib()
        for hdr in (0x7FFFFFFF, 0xFFFFFFFF, 0x80100001, 0x00100001, 0xC0000000):
            for tail in (b"", b"\0" * 1000):
                with Stream(transport, d.rpc_addr(transport)) as s:
                    try:
                        s.send(struct.pack(">I", hdr) + tail)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    expect_closed_no_reply(s, "fragment header %#x" % hdr)
                check(d.alive(), "rpxd died after header %#x" % hdr)
                rss = d.rss_kib()
                check(rss < base + RSS_SLACK_KIB,
                      "rpxd RSS grew from %d to %d KiB after fragment header %#x" % (base, rss, hdr))
                assert_serves(d, transport, "after header %#x" % hdr)


def case_header_after_good_call(transport):
    """A good call, then a 2 GiB header on the same connection: the call is answered, then closed."""
    with Rpxd() as d, Stream(transport, d.rpc_addr(transport)) as s:
        xid = new_xid()
        s.send(frame(encode_call(xid, DATE_NULL)) + struct.pack(">I", 0xFFFFFFFF))
        try:
            reply = s.recv_reply()
        except Closed:
            fail("connection closed without the reply to the complete NULL call that came"
                 " before the 0xffffffff header (reply dropped)")
        eq(expect_success(reply, xid, "NULL before the bad header"), b"", "NULL results")
        expect_closed_no_reply(s, "0xffffffff after a good call")
        assert_serves(d, transport)


def case_default_limit_1mib(transport):
    """Default limit 1 MiB: a record of exactly 1 MiB is decoded (GARBAGE_ARGS, trailing bytes), 1 MiB + 1 closes."""
    with Rpxd() as d:
        with Stream(transport, d.rpc_addr(transport), timeout=10) as s:
            xid = new_xid()
            s.send(frame(padded_null(xid, 1 << 20)))
            expect_accepted_error(s.recv_reply(timeout=10), xid, GARBAGE_ARGS,
                                  what="NULL padded to 1 MiB")
        with Stream(transport, d.rpc_addr(transport), timeout=10) as s:
            xid = new_xid()
            try:
                s.send(frame(padded_null(xid, (1 << 20) + 1)))
            except (BrokenPipeError, ConnectionResetError):
                pass
            expect_closed_no_reply(s, "record of 1 MiB + 1")
        assert_serves(d, transport)


def case_max_record_4096(transport):
    """--max-record 4096: 4096 bytes served; 4097 in one fragment, or 3 x 2000 in three, closed."""
    with Rpxd(extra=["--max-record", "4096"]) as d:
        with Stream(transport, d.rpc_addr(transport)) as s:
            xid = new_xid()
            s.send(frame(padded_null(xid, 4096), [1000, 0, 2000]))
            expect_accepted_error(s.recv_reply(), xid, GARBAGE_ARGS, what="NULL padded to 4096")
            # Same connection still usable.
            xid = new_xid()
            eq(expect_success(s.call_raw(encode_call(xid, DATE_NULL)), xid, "NULL"), b"", "NULL")
        for what, data in (
                ("one fragment of 4097", frame(padded_null(new_xid(), 4097))),
                ("three fragments of 2000", frame(padded_null(new_xid(), 6000), [2000, 2000])),
                ("8000 bytes", frame(padded_null(new_xid(), 8000)))):
            with Stream(transport, d.rpc_addr(transport)) as s:
                try:
                    s.send(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                expect_closed_no_reply(s, what)
            assert_serves(d, transport, "after " + what)


def case_endless_empty_fragments(transport):
    """100000 empty non-last fragments (a record that never grows nor ends): closed, no reply."""
    with Rpxd() as d:
        base = d.rss_kib()
        with Stream(transport, d.rpc_addr(transport)) as s:
            try:
                s.send(struct.pack(">I", 0) * 100000)
            except (BrokenPipeError, ConnectionResetError):
                pass
            expect_closed_no_reply(s, "100000 empty fragments")
        check(d.rss_kib() < base + RSS_SLACK_KIB, "RSS grew after 100000 empty fragments")
        assert_serves(d, transport)


def case_many_small_fragments_served(transport):
    """A NOW call in 200 fragments (160 of them empty) is an ordinary call."""
    with Rpxd() as d, Client(d, transport) as c:
        xid = new_xid()
        reply = c.conn.call_raw(encode_call(xid, DATE_NOW), [1, 0, 0, 0, 0] * 39 + [0] * 4)
        check_now_res(decode_now(expect_success(reply, xid, "NOW in 200 fragments")), "NOW",
                      now=time.time())


if __name__ == "__main__":
    main([case_endless_empty_fragments, case_many_small_fragments_served, case_two_gib_headers, case_header_after_good_call, case_default_limit_1mib,
          case_max_record_4096], transports=("tcp", "unix"))
