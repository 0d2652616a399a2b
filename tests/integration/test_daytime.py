"""The daytime service (RFC 867, --daytime tcp://127.0.0.1:0) sends each connecting client exactly one CRLF-terminated line with the current date in rpxd's zone (`%a %b %e %H:%M:%S %Z %Y`), then closes; input is ignored; `--daytime off` opens no daytime listener.

Usage: test_daytime.py tcp [case...]
"""

import calendar
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

# server/daytime.c: strftime "%a %b %e %H:%M:%S %Z %Y" then CRLF, in rpxd's TZ,
# e.g. "Thu Nov  5 14:17:29 UTC 2026\r\n".
LINE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
                     r"|Dec) ([ 12]\d|3[01]) (\d\d):(\d\d):(\d\d) ([A-Z]{3,5}) (\d{4})$")
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def parse_daytime(line, zone, offset):
    """Epoch seconds of a daytime line, checked field by field."""
    m = LINE_RE.match(line)
    if not m:
        fail("daytime line %r is not `%%a %%b %%e %%H:%%M:%%S %%Z %%Y`" % line)
    eq(m.group(7), zone, "daytime zone in %r" % line)
    local = calendar.timegm((int(m.group(8)), MONTHS.index(m.group(2)) + 1, int(m.group(3)),
                             int(m.group(4)), int(m.group(5)), int(m.group(6)), 0, 0, 0))
    secs = local - offset
    eq(m.group(1), time.strftime("%a", time.gmtime(local)), "weekday in %r" % line)
    return secs


def read_daytime(addr, send=b""):
    s = socket.create_connection(addr, timeout=3)
    try:
        if send:
            s.sendall(send)
        data = b""
        deadline = time.monotonic() + 3
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail("daytime: no EOF within 3 s (got %r)" % data)
            r, _, _ = select.select([s], [], [], left)
            if not r:
                continue
            try:
                b = s.recv(4096)
            except ConnectionResetError:
                b = b""
            if not b:
                return data
            data += b
    finally:
        s.close()


def check_line(data, what, zone="UTC", offset=0):
    check(data.endswith(b"\r\n"), "%s: %r does not end with CRLF" % (what, data))
    text = data.decode("ascii")
    line = text[:-2]
    check("\n" not in line and "\r" not in line, "%s: more than one line: %r" % (what, data))
    secs = parse_daytime(line, zone, offset)
    now = time.time()
    check(abs(secs - now) < 3, "%s: %r is %.1f s from now" % (what, line, secs - now))
    return line


def case_one_line_then_eof(transport):
    with Rpxd(daytime="tcp://127.0.0.1:0", env={"TZ": "UTC0"}) as d:
        eq(len(d.daytime), 1, "daytime listeners announced")
        lines = []
        for i in range(5):
            lines.append(check_line(read_daytime(d.daytime[0]), "connection %d" % i))
        log("daytime lines: %r" % lines)
        # Input from the client is ignored: still one line, then close.
        check_line(read_daytime(d.daytime[0], send=b"hello\r\n" * 100), "with input")
        # RPC listeners are independent of the daytime one.
        assert_serves(d, "tcp")


def case_host_zone(transport):
    """The line is in rpxd's TZ: TZ=XST-5:30 gives XST local time."""
    with Rpxd(daytime="tcp://127.0.0.1:0", env={"TZ": "XST-5:30"}) as d:
        log("daytime line: %r" % check_line(read_daytime(d.daytime[0]), "XST", "XST", 19800))


def case_many_clients(transport):
    """20 clients at once each get their line."""
    with Rpxd(daytime="tcp://127.0.0.1:0", env={"TZ": "UTC0"}) as d:
        socks = [socket.create_connection(d.daytime[0], timeout=3) for _ in range(20)]
        try:
            for i, s in enumerate(socks):
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
                check_line(data, "client %d" % i)
        finally:
            for s in socks:
                s.close()


def case_daytime_off(transport):
    with Rpxd(daytime="off") as d:
        eq(d.daytime, [], "daytime listeners with --daytime off")
        check(not any("daytime" in line for line in d.stdout_lines),
              "stdout mentions daytime with --daytime off: %r" % d.stdout_lines)


if __name__ == "__main__":
    main([case_one_line_then_eof, case_host_zone, case_many_clients, case_daytime_off], transports=("tcp",))
