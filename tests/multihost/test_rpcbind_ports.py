"""Bare addresses find rpxd through rpcbind, with no port given: each host's rpxd listens
on its own non-default port (7101, 7102, ...) and registers it; `rpx -H 198.18.0.1 -H
198.18.0.2 ... date` and `run`, and one host alone (`rpx -H 198.18.0.2 date`, the sync
client), reach every rpxd. Nothing listens on 7077, so a client that skipped rpcbind
would fail. A host whose rpcbind has no mapping is tried on 7077 and says so."""
import re

import hosts as H

BASE = 7100


def check_date(h, line):
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(Z|[+-]\d\d:\d\d) \S+", line):
        H.fail("%s: unexpected date line %r" % (h, line))


def scenario(hs):
    if not hs.can_register:
        H.skip("this rpxd has no --register option yet")
    for h in hs.hosts:
        h.start_rpcbind()
        h.start_rpxd(register=True, port=BASE + h.index)
    for h in hs.hosts:  # the mapping the client will find
        rc, out, err, _ = hs.client(["rpcinfo", "-p", h.addr], timeout=15)
        if rc != 0 or not re.search(r"\s%d\s+1\s+tcp\s+%d\b" % (H.DATE_PROG, BASE + h.index), out):
            H.fail("%s: rpcinfo -p lacks DATE on tcp port %d: %r %r"
                   % (h, BASE + h.index, out, err))

    # one host, sync client: date and run with a bare address
    h2 = hs.hosts[1]
    rc, out, err, _ = hs.client([hs.rpx_bin, "-H", h2.addr, "date"])
    if rc != 0:
        H.fail("rpx -H %s date: exit %d: %s" % (h2.addr, rc, err))
    check_date(h2, out.strip())
    rc, out, err, _ = hs.client([hs.rpx_bin, "-H", h2.addr, "run", "--", "hostname"])
    if rc != 0 or out.strip() != h2.name:
        H.fail("rpx -H %s run -- hostname: exit %d, %r %r" % (h2.addr, rc, out, err))
    # RPX_HOST takes the same path
    rc, out, err, _ = hs.client(["env", "RPX_HOST=" + h2.addr, hs.rpx_bin, "ping"])
    if rc != 0 or "proc v1" not in out:
        H.fail("RPX_HOST=%s rpx ping: exit %d, %r %r" % (h2.addr, rc, out, err))

    # every host, fan-out: date and run
    rc, per_host, other, err, _ = hs.rpx_fanout(["date"], bare=True)
    if rc != 0 or other:
        H.fail("rpx -H ADDR x%d date: exit %d, unattributed %r, stderr %r"
               % (len(hs.hosts), rc, other, err))
    for h, lines in per_host.items():
        if len(lines) != 1:
            H.fail("%s: %r, expected one date line" % (h, lines))
        check_date(h, lines[0])
    rc, per_host, other, err, _ = hs.rpx_fanout(["run", "--", "hostname"], bare=True)
    if rc != 0 or other:
        H.fail("rpx -H ADDR x%d run -- hostname: exit %d, unattributed %r, stderr %r"
               % (len(hs.hosts), rc, other, err))
    for h, lines in per_host.items():
        if lines != [h.name]:
            H.fail("%s: run printed %r, expected [%r]" % (h, lines, h.name))

    # rpcbind without the mapping: the fallback to 7077 is named in the error
    last = hs.hosts[-1]
    if last.stop_rpxd() != 0:
        H.fail("%s: rpxd did not exit 0 on SIGTERM" % last)
    rc, out, err, _ = hs.client([hs.rpx_bin, "-H", last.addr, "date"])
    want = "rpcbind has no tcp mapping"
    if rc == 0 or want not in err or "tried port %d" % H.RPX_PORT not in err:
        H.fail("rpx -H %s date with no mapping: exit %d, stderr %r lacks %r and the port"
               % (last.addr, rc, err, want))
    rc, per_host, other, err, _ = hs.rpx_fanout(["date"], bare=True)
    if rc == 0 or want not in err or per_host[last]:
        H.fail("fan-out with %s unregistered: exit %d, %r, stderr %r" % (last, rc, per_host, err))
    for h in hs.hosts[:-1]:
        if len(per_host[h]) != 1:
            H.fail("%s: %r after %s stopped" % (h, per_host[h], last))


if __name__ == "__main__":
    H.main(scenario, n=4, tools=("rpcbind", "rpcinfo"), budget=60)
