"""The daytime service (RFC 867, --daytime tcp://127.0.0.1:0) sends each connecting client exactly one text line with the current date, then closes; input is ignored; `--daytime off` opens no daytime listener.

Usage: test_daytime.py tcp [case...]
"""

import calendar
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

# Formats the line may take, tried in order; rpxd runs with TZ=UTC0.
FORMATS = [
    "%a %b %d %H:%M:%S %Y",      # ctime(3)
    "%a %b %d %H:%M:%S UTC %Y",  # date(1), java.util.Date.toString()
    "%a, %d %b %Y %H:%M:%S +0000",  # RFC 5322
    "%a, %d %b %Y %H:%M:%S GMT",
]


def parse_daytime(line):
    """Epoch seconds of a daytime line, or fail."""
    m = RFC3339_RE.match(line)
    if m:
        return parse_rfc3339(line)[0]
    for fmt in FORMATS:
        try:
            return calendar.timegm(time.strptime(line, fmt))
        except ValueError:
            pass
    fail("daytime line %r is in no known date format" % line)


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


def check_line(data, what):
    check(data.endswith(b"\n"), "%s: %r does not end with a newline" % (what, data))
    text = data.decode("ascii")
    line = text[:-2] if text.endswith("\r\n") else text[:-1]
    check("\n" not in line and "\r" not in line, "%s: more than one line: %r" % (what, data))
    secs = parse_daytime(line)
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
    main([case_one_line_then_eof, case_many_clients, case_daytime_off], transports=("tcp",))
