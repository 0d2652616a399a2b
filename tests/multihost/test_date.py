"""Date from 5 hosts: each host's rpxd runs in its own time zone, and every answer,
from one rpx per host and from one rpx with -H for all 5, carries the zone of the
host it is attributed to."""
import re

import hosts as H


def zone(h):
    # POSIX TZ: name RPXA..RPXE, UTC+1..+5 (a POSIX offset is west-positive)
    return "RPX%s" % chr(ord("A") + h.index - 1), "-%d" % h.index, "+%02d:00" % h.index


def check(h, line):
    name, _, offset = zone(h)
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9})([+-]\d\d:\d\d) (\S+)", line)
    if not m:
        H.fail("%s: unexpected date line %r" % (h, line))
    if (m.group(2), m.group(3)) != (offset, name):
        H.fail("%s: answer %r is not in the host's zone %s %s" % (h, line, offset, name))


def scenario(hs):
    for h in hs.hosts:
        name, west, _ = zone(h)
        h.start_rpxd(tz=name + west, register=False)
    for h, (rc, out, err, secs) in hs.rpx_each(["date"]).items():
        if rc != 0:
            H.fail("%s: rpx date exit %d: %s" % (h, rc, err))
        check(h, out.strip())
    if not hs.fanout_supported("date"):
        H.log("rpx date takes one host: fan-out part not run")
        return
    rc, per_host, other, err, secs = hs.rpx_fanout(["date"])
    if rc != 0 or other:
        H.fail("rpx -H x5 date: exit %d, unattributed lines %r, stderr %r" % (rc, other, err))
    for h, lines in per_host.items():
        if len(lines) != 1:
            H.fail("%s: %d lines in the fan-out, expected 1: %r" % (h, len(lines), lines))
        check(h, lines[0])


if __name__ == "__main__":
    H.main(scenario, n=5, budget=50)
