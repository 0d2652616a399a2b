#!/usr/bin/env python3
"""rpx date prints a real rpxd's time over tcp, udp and unix: plain, several hosts, --json, --utc, --at.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)
import json

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    try:
        for t in ("tcp", "udp", "unix"):
            out = expect_ok([rpx, "-H", d.urls[t], "date"])
            if not re.match(r"^%s \S+\n$" % RFC3339, out):
                fail("date over %s: unexpected output %r" % (t, out))

        # Several hosts: each line starts with the URL.
        urls = [d.urls["tcp"], d.urls["udp"], d.urls["unix"]]
        out, _ = expect([rpx, "-H", urls[0], "-H", urls[1], "-H", urls[2], "date"], 0,
                        stderr_re=r"^3 hosts: 3 ok, 0 failed\n$")
        lines = out.splitlines()
        if len(lines) != 3:
            fail("date of 3 hosts: expected 3 lines, got %r" % out)
        # Lines come as hosts answer: one per host, each prefixed by its URL.
        for url in urls:
            mine = [l for l in lines if l.startswith(url + ": ")]
            if len(mine) != 1 or not re.match(r"^%s: %s \S+$" % (re.escape(url), RFC3339), mine[0]):
                fail("date of 3 hosts: no single line for %s in %r" % (url, out))

        # --json: one object per host and line, fields typed, time close to ours.
        out, _ = expect([rpx, "date", "--json", "-H", urls[0], "-H", urls[1], "-H", urls[2]], 0,
                        stderr_re=r"^3 hosts: 3 ok, 0 failed\n$")
        lines = out.splitlines()
        if len(lines) != 3:
            fail("date --json: expected 3 lines, got %r" % out)
        # In the order the hosts answered: match each line to its host by "host".
        by_host = {json.loads(l).get("host"): l for l in lines if l.startswith("{")}
        if sorted(by_host) != sorted(urls):
            fail("date --json: hosts %r, want %r" % (sorted(by_host), sorted(urls)))
        for url in urls:
            l = by_host[url]
            try:
                obj = json.loads(l)
            except ValueError as e:
                fail("date --json: not JSON (%s): %r" % (e, l))
            keys = {"host", "seconds", "nanoseconds", "utc_offset", "zone", "rfc3339"}
            if set(obj) != keys:
                fail("date --json: keys %r, want %r" % (sorted(obj), sorted(keys)))
            if obj["host"] != url:
                fail("date --json: host %r, want %r" % (obj["host"], url))
            for k in ("seconds", "nanoseconds", "utc_offset"):
                if not isinstance(obj[k], int):
                    fail("date --json: %s is not an integer: %r" % (k, obj[k]))
            if not 0 <= obj["nanoseconds"] < 10**9:
                fail("date --json: nanoseconds out of range: %r" % obj["nanoseconds"])
            if abs(obj["seconds"] - time.time()) > 60:
                fail("date --json: seconds %r far from now" % obj["seconds"])
            if not re.match("^%s$" % RFC3339, obj["rfc3339"]):
                fail("date --json: bad rfc3339 %r" % obj["rfc3339"])
            if not isinstance(obj["zone"], str) or not obj["zone"]:
                fail("date --json: bad zone %r" % obj["zone"])

        # --utc: rendered in UTC, offset 0.
        out = expect_ok([rpx, "-H", d.urls["udp"], "date", "--utc", "--json"])
        obj = json.loads(out)
        if obj["utc_offset"] != 0 or not re.search(r"(Z|\+00:00)$", obj["rfc3339"]):
            fail("date --utc: not UTC: %r" % out)

        # --at: the server renders a given instant (FORMAT), negative ones included.
        out = expect_ok([rpx, "-H", d.urls["tcp"], "date", "--utc", "--at", "0", "--json"])
        obj = json.loads(out)
        if (obj["seconds"], obj["nanoseconds"]) != (0, 0) or \
                not obj["rfc3339"].startswith("1970-01-01T00:00:00"):
            fail("date --at 0 --utc: %r" % out)
        out = expect_ok([rpx, "-H", d.urls["unix"], "date", "--utc", "--at", "-1.5", "--json"])
        obj = json.loads(out)
        if (obj["seconds"], obj["nanoseconds"]) != (-2, 500000000) or \
                not obj["rfc3339"].startswith("1969-12-31T23:59:58.5"):
            fail("date --at -1.5 --utc: %r" % out)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
