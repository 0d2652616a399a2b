"""DATE NOW returns the server's current instant: seconds within 5 s of time.time(), nanoseconds below 1e9, an RFC 3339 text that matches seconds, nanoseconds and utc_offset, and the offset and zone of rpxd's TZ.

Usage: test_date_now.py tcp|udp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def now_in_zone(transport, tz, fixed=None):
    with Rpxd(env={"TZ": tz}) as d, Client(d, transport) as c:
        results = []
        for _ in range(10):
            before = time.time()
            r = c.now()
            after = time.time()
            off, zone = local_offset(tz, r["seconds"])
            check_now_res(r, "NOW TZ=%s" % tz, now=(before + after) / 2, offset=off, zone=zone)
            if fixed is not None:
                eq((r["utc_offset"], r["zone"]), fixed, "NOW TZ=%s offset and zone" % tz)
            check(r["seconds"] + r["nanoseconds"] / 1e9 <= after + 0.01,
                  "NOW %r is later than the time the reply arrived (%.6f)" % (r, after))
            results.append(r)
            time.sleep(0.003)
        stamps = [(r["seconds"], r["nanoseconds"]) for r in results]
        eq(stamps, sorted(stamps), "NOW results in call order are non-decreasing")
        check(any(r["nanoseconds"] != 0 for r in results),
              "10 NOW calls 3 ms apart all have nanoseconds 0: no sub-second precision: %r"
              % stamps)
        check(len(set(stamps)) == len(stamps), "NOW repeated an instant: %r" % stamps)


def case_now_utc(transport):
    """TZ=UTC0: utc_offset 0, zone UTC."""
    now_in_zone(transport, "UTC0", fixed=(0, "UTC"))


def case_now_half_hour_east(transport):
    """TZ=XST-5:30 (POSIX: 5h30 east of UTC): utc_offset 19800, zone XST, text +05:30."""
    now_in_zone(transport, "XST-5:30", fixed=(19800, "XST"))
    with Rpxd(env={"TZ": "XST-5:30"}) as d, Client(d, transport) as c:
        r = c.now()
        check(r["rfc3339"].endswith("+05:30"), "NOW text %r does not end in +05:30" % r["rfc3339"])


def case_now_west_dst(transport):
    """TZ with DST rules west of UTC: offset and zone as the C library computes them."""
    now_in_zone(transport, "EST5EDT,M3.2.0,M11.1.0")


if __name__ == "__main__":
    main([case_now_utc, case_now_half_hour_east, case_now_west_dst])
