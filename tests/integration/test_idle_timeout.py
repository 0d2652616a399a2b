"""With --idle-timeout 1, a stream connection with no traffic is closed within about 1-3 s, before or after calls, while a connection that keeps calling stays open.

Usage: test_idle_timeout.py tcp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def expect_closed_between(s, lo, hi, what):
    t0 = time.monotonic()
    try:
        data = s.wait_closed(hi + 1.0)
    except Timeout:
        fail("%s: still open %.1f s later (--idle-timeout 1)" % (what, hi + 1.0))
    elapsed = time.monotonic() - t0
    eq(data, b"", "%s: bytes received before close" % what)
    check(lo <= elapsed <= hi, "%s: closed after %.2f s, expected %.1f..%.1f s" % (what, elapsed, lo, hi))
    log("%s: closed after %.2f s" % (what, elapsed))


def case_idle_from_connect(transport):
    with Rpxd(extra=["--idle-timeout", "1"]) as d:
        with Stream(transport, d.rpc_addr(transport)) as s:
            expect_closed_between(s, 0.9, 3.5, "connection with no call")
        assert_serves(d, transport)


def case_idle_after_call(transport):
    with Rpxd(extra=["--idle-timeout", "1"]) as d:
        with Client(d, transport) as c:
            c.null()
            expect_closed_between(c.conn, 0.9, 3.5, "connection idle after a call")
        assert_serves(d, transport)


def case_busy_connection_kept(transport):
    with Rpxd(extra=["--idle-timeout", "1"]) as d:
        with Client(d, transport) as c:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3.5:
                try:
                    c.null()
                except (Closed, OSError) as e:
                    fail("a connection calling every 0.3 s was closed after %.2f s: %r"
                         % (time.monotonic() - t0, e))
                time.sleep(0.3)


def sleep_until_fraction(frac):
    """Sleep until the wall clock's fractional second is `frac`."""
    t = time.time()
    target = int(t) + frac
    if target < t + 0.02:
        target += 1
    time.sleep(target - t)


def case_idle_measured_from_last_call(transport):
    """Idle time counts from the last call, to sub-second precision: a call just
    before a whole second of the clock does not leave the connection with less
    than the full timeout."""
    with Rpxd(extra=["--idle-timeout", "1"]) as d:
        for i in range(2):
            sleep_until_fraction(0.05)
            with Client(d, transport) as c:
                sleep_until_fraction(0.93)
                c.null()  # 0.88 s after connecting, before the 1 s idle deadline
                expect_closed_between(c.conn, 0.9, 3.5,
                                      "connection idle after a call at .93 s (round %d)" % i)


if __name__ == "__main__":
    main([case_idle_from_connect, case_idle_after_call, case_busy_connection_kept,
          case_idle_measured_from_last_call],
         transports=("tcp", "unix"))
