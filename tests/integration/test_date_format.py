"""DATE FORMAT renders a caller's instant as exact RFC 3339 text (UTC and the server's TZ), echoes the instant, and refuses nanoseconds >= 1e9 (EINVAL) and years outside 0000..9999 in the chosen zone (EOVERFLOW) with the documented messages.

Usage: test_date_format.py tcp|udp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

# (seconds, nanoseconds) -> exact text with utc=TRUE (docs/protocol.md:
# nine fraction digits, "Z" for UTC).
UTC_CASES = [
    (0, 0, "1970-01-01T00:00:00.000000000Z"),
    (1, 5, "1970-01-01T00:00:01.000000005Z"),
    (-1, 999999999, "1969-12-31T23:59:59.999999999Z"),
    (86399, 100000000, "1970-01-01T23:59:59.100000000Z"),
    (951782400, 0, "2000-02-29T00:00:00.000000000Z"),
    (1000000000, 1, "2001-09-09T01:46:40.000000001Z"),
    (2147483647, 0, "2038-01-19T03:14:07.000000000Z"),
    (2147483648, 0, "2038-01-19T03:14:08.000000000Z"),
    (4102444800, 123456789, "2100-01-01T00:00:00.123456789Z"),
    (-2208988800, 0, "1900-01-01T00:00:00.000000000Z"),
    (253402300799, 999999999, "9999-12-31T23:59:59.999999999Z"),
    (-62135596800, 0, "0001-01-01T00:00:00.000000000Z"),
    (-30641760000, 0, "0999-01-01T00:00:00.000000000Z"),
    (-62167219200, 0, "0000-01-01T00:00:00.000000000Z"),
    (-62135596801, 999999999, "0000-12-31T23:59:59.999999999Z"),
]

# (TZ, seconds, nanoseconds) -> (text, utc_offset, zone) with utc=FALSE.
LOCAL_CASES = [
    ("XST-5:30", 0, 0, "1970-01-01T05:30:00.000000000+05:30", 19800, "XST"),
    ("XST-5:30", -19800, 7, "1970-01-01T00:00:00.000000007+05:30", 19800, "XST"),
    ("EST5EDT,M3.2.0,M11.1.0", 0, 0, "1969-12-31T19:00:00.000000000-05:00", -18000, "EST"),
    ("EST5EDT,M3.2.0,M11.1.0", 1782000000, 250000000,
     "2026-06-20T20:00:00.250000000-04:00", -14400, "EDT"),
    ("NPT-5:45", 1700000000, 0, "2023-11-15T03:58:20.000000000+05:45", 20700, "NPT"),
    ("HST10", 1700000000, 999999999, "2023-11-14T12:13:20.999999999-10:00", -36000, "HST"),
    # Offsets with seconds: the text keeps whole minutes, utc_offset all of it.
    ("XST-0:15:30", 0, 0, "1970-01-01T00:15:30.000000000+00:15", 930, "XST"),
    ("YST0:15:30", 0, 0, "1969-12-31T23:44:30.000000000-00:15", -930, "YST"),
    ("XST-5:30", 253402300799 - 19800, 0, "9999-12-31T23:59:59.000000000+05:30", 19800, "XST"),
]


def expected_utc_text(seconds, ns):
    """Independent rendering, to cross-check the literal table above."""
    days, rem = divmod(seconds, 86400)
    # civil_from_days
    z = days + 719468
    era = z // 146097  # Python floors: no adjustment for negative days
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    return "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ" % (y, m, d, rem // 3600, rem // 60 % 60,
                                                    rem % 60, ns)


def case_table_self_check(transport):
    """The literal expectations agree with an independent calendar computation."""
    for s, ns, text in UTC_CASES:
        eq(expected_utc_text(s, ns), text, "table entry %d" % s)
    for tz, s, ns, text, off, zone in LOCAL_CASES:
        eq(local_offset(tz, s), (off, zone), "table entry %s %d offset/zone" % (tz, s))
        eq(expected_utc_text(s + off, ns)[:-1], text[:-6], "table entry %s %d text" % (tz, s))
        text_off = (abs(off) // 60 * 60) * (-1 if off < 0 else 1)
        eq(parse_rfc3339(text)[0], s + off - text_off, "table entry %s %d parsed" % (tz, s))


def case_format_utc_exact(transport):
    """utc=TRUE: exact text, utc_offset 0, zone UTC, instant echoed."""
    with Rpxd(env={"TZ": "XST-5:30"}) as d, Client(d, transport) as c:
        wrong = []
        for s, ns, text in UTC_CASES:
            err, r = c.format(s, ns, True)
            if err != 0:
                wrong.append("FORMAT(%d, %d, utc): error %d %r, expected %r" % (s, ns, err, r, text))
                continue
            got = (r["rfc3339"], r["seconds"], r["nanoseconds"], r["utc_offset"], r["zone"])
            if got != (text, s, ns, 0, "UTC"):
                wrong.append("FORMAT(%d, %d, utc): expected %r, got %r"
                             % (s, ns, (text, s, ns, 0, "UTC"), got))
        check(not wrong, "%d of %d FORMAT results wrong:\n  %s"
              % (len(wrong), len(UTC_CASES), "\n  ".join(wrong)))


def case_format_local_exact(transport):
    """utc=FALSE: rendered in rpxd's TZ, with that zone's offset and abbreviation."""
    by_tz = {}
    for case in LOCAL_CASES:
        by_tz.setdefault(case[0], []).append(case[1:])
    for tz, cases in by_tz.items():
        with Rpxd(env={"TZ": tz}) as d, Client(d, transport) as c:
            for s, ns, text, off, zone in cases:
                err, r = c.format(s, ns, False)
                eq(err, 0, "FORMAT(%d, %d, local TZ=%s) error (message %r)" % (s, ns, tz, r))
                eq(r["rfc3339"], text, "FORMAT(%d, %d, local TZ=%s) text" % (s, ns, tz))
                eq((r["seconds"], r["nanoseconds"], r["utc_offset"], r["zone"]),
                   (s, ns, off, zone), "FORMAT(%d, %d, local TZ=%s) fields" % (s, ns, tz))


MSG_NANOSECONDS = "nanoseconds must be below 1000000000"
MSG_YEARS = "instant outside the years 0000 to 9999"


def expect_format_error(c, s, ns, utc, error, message):
    err, msg = c.format(s, ns, utc)
    eq((err, msg), (error, message), "FORMAT(%d, %d, utc=%s) error and message" % (s, ns, utc))


def case_format_errors(transport):
    """docs/protocol.md: nanoseconds >= 1e9 -> EINVAL, years outside 0000..9999 in the
    chosen zone -> EOVERFLOW, each with its documented message."""
    with Rpxd(env={"TZ": "XST-5:30"}) as d, Client(d, transport) as c:
        for utc in (True, False):
            for ns in (1000000000, 1000000001, 0xFFFFFFFF):
                expect_format_error(c, 0, ns, utc, errno.EINVAL, MSG_NANOSECONDS)
            # RFC 3339 date-fullyear is 4DIGIT: year 10000 cannot be written.
            for s in (253402300800, 2 ** 62, 2 ** 63 - 1, -2 ** 63, -62167219201 - 86400):
                expect_format_error(c, s, 0, utc, errno.EOVERFLOW, MSG_YEARS)
        # Both checks fail: nanoseconds is checked first.
        expect_format_error(c, 2 ** 62, 1000000000, True, errno.EINVAL, MSG_NANOSECONDS)
        # "In the chosen zone": the last second of 9999 in UTC is in year 10000 at
        # +05:30, and 0000-01-01T00:00:00 at +05:30 is still in year -1 in UTC.
        eq(c.format(253402300799, 0, True)[0], 0, "9999-12-31T23:59:59Z in UTC")
        expect_format_error(c, 253402300799, 0, False, errno.EOVERFLOW, MSG_YEARS)
        err, r = c.format(-62167219200 - 19800, 0, False)
        eq((err, r["rfc3339"] if err == 0 else r), (0, "0000-01-01T00:00:00.000000000+05:30"),
           "first second of year 0000 at +05:30")
        expect_format_error(c, -62167219200 - 19800, 0, True, errno.EOVERFLOW, MSG_YEARS)
        # The server is still fine.
        eq(c.format(0, 0, True)[1]["rfc3339"], UTC_CASES[0][2], "FORMAT after errors")
        assert_serves(d, transport)


if __name__ == "__main__":
    main([case_table_self_check, case_format_utc_exact, case_format_local_exact,
          case_format_errors])
