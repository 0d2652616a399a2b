"""With --record-timeout 1, a client that opens a record and never finishes it is disconnected within about 1-3 s, while other clients are served at normal speed meanwhile (no head-of-line blocking).

Usage: test_record_timeout.py tcp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

SLOW_CALL = 0.5  # a NULL call over loopback taking longer than this is not "normal speed"


def stalled_client_case(transport, data, what):
    with Rpxd(extra=["--record-timeout", "1"]) as d:
        stalled = Stream(transport, d.rpc_addr(transport))
        try:
            stalled.send(data)
            t_sent = time.monotonic()
            with Client(d, transport) as other:
                n = 0
                worst = 0.0
                while time.monotonic() - t_sent < 0.8:
                    t = time.monotonic()
                    other.null()
                    worst = max(worst, time.monotonic() - t)
                    n += 1
                check(worst < SLOW_CALL, "%s: another client's NULL took %.3f s while a record"
                      " was unfinished" % (what, worst))
                check(n >= 5, "%s: only %d NULL calls in 0.8 s" % (what, n))
                try:
                    got = stalled.wait_closed(4.0)
                except Timeout:
                    fail("%s: connection with an unfinished record still open %.1f s after the"
                         " last byte (--record-timeout 1)" % (what, time.monotonic() - t_sent))
                elapsed = time.monotonic() - t_sent
                eq(got, b"", "%s: bytes sent to the stalled client" % what)
                check(0.9 <= elapsed <= 3.5,
                      "%s: closed %.2f s after the last byte, expected about 1-3 s" % (what, elapsed))
                log("%s: closed after %.2f s, other client's worst NULL %.4f s over %d calls"
                    % (what, elapsed, worst, n))
                other.null()
            assert_serves(d, transport)
        finally:
            stalled.close()


def case_unfinished_fragment_body(transport):
    """Header of a 100-byte last fragment, 10 bytes sent."""
    stalled_client_case(transport, struct.pack(">I", LAST_FRAGMENT | 100) + b"\0" * 10,
                        "unfinished fragment")


def case_unfinished_record_between_fragments(transport):
    """A complete non-last fragment, then nothing."""
    msg = encode_call(new_xid(), DATE_NOW)
    stalled_client_case(transport, frame(msg, [20])[:24], "record missing its last fragment")


def case_unfinished_fragment_header(transport):
    """Two bytes of a fragment header."""
    stalled_client_case(transport, b"\x80\x00", "half a fragment header")


def case_finished_record_not_timed_out(transport):
    """A connection that completes its records in time is not cut: a call split across 0.5 s pauses works."""
    with Rpxd(extra=["--record-timeout", "2"]) as d, Client(d, transport) as c:
        xid = new_xid()
        data = frame(encode_call(xid, DATE_NOW), [16])
        c.conn.send(data[:10])
        time.sleep(0.5)
        c.conn.send(data[10:30])
        time.sleep(0.5)
        c.conn.send(data[30:])
        check_now_res(decode_now(expect_success(c.conn.recv_reply(), xid, "slow NOW")), "NOW",
                      now=time.time())


if __name__ == "__main__":
    main([case_unfinished_fragment_body, case_unfinished_record_between_fragments,
          case_unfinished_fragment_header, case_finished_record_not_timed_out],
         transports=("tcp", "unix"))
