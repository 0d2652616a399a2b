"""rpcbind discovery across hosts, with stock rpcinfo and no port given: each host's
rpxd --register puts DATE and PROC on tcp and udp port 7077 (and its Unix socket)
into that host's rpcbind; rpcinfo -p/-t/-u/-T from the client finds and calls them
on every host; a clean stop takes the mappings away, a restart puts them back."""
import re

import hosts as H

DATE, PROC = str(H.DATE_PROG), str(H.PROC_PROG)  # stock rpcinfo takes decimal numbers only


def mappings(hs, h):
    rc, out, err, _ = hs.client(["rpcinfo", "-p", h.addr], timeout=15)
    if rc != 0:
        H.fail("%s: rpcinfo -p %s: exit %d: %s" % (h, h.addr, rc, err))
    found = set()
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 4 and f[0] in (DATE, PROC):
            found.add((f[0], f[1], f[2], f[3]))
    return found


def expect_ok(hs, h, args):
    rc, out, err, _ = hs.client(["rpcinfo"] + args, timeout=15)
    if rc != 0 or "ready and waiting" not in out:
        H.fail("%s: rpcinfo %s: exit %d, %r %r" % (h, " ".join(args), rc, out, err))


def scenario(hs):
    if not hs.can_register:
        H.skip("this rpxd has no --register option yet")
    hs.start_all(rpcbind=True)
    want = {(p, "1", proto, str(H.RPX_PORT)) for p in (DATE, PROC) for proto in ("tcp", "udp")}
    for h in hs.hosts:
        got = mappings(hs, h)
        if got != want:
            H.fail("%s: rpcinfo -p lists %r, expected %r" % (h, sorted(got), sorted(want)))
        expect_ok(hs, h, ["-t", h.addr, DATE, "1"])
        expect_ok(hs, h, ["-u", h.addr, DATE, "1"])
        expect_ok(hs, h, ["-t", h.addr, PROC, "1"])
        expect_ok(hs, h, ["-u", h.addr, PROC, "1"])
        expect_ok(hs, h, ["-T", "tcp", h.addr, DATE])  # every registered version
        # rpcbind version 3/4 view: netids and universal addresses, the Unix socket too
        rc, out, err, _ = hs.client(["rpcinfo", h.addr], timeout=15)
        uaddr = re.escape(h.addr) + r"\.27\.165"  # port 7077 = 27 * 256 + 165
        for prog in (DATE, PROC):
            for netid in ("tcp", "udp"):
                if not re.search(r"^\s*%s\s+1\s+%s\s+%s\s" % (prog, netid, uaddr), out, re.M):
                    H.fail("%s: rpcinfo %s lacks %s %s %s:\n%s" % (h, h.addr, prog, netid,
                                                                   h.addr + ".27.165", out))
            if not re.search(r"^\s*%s\s+1\s+local\s+/run/rpx/rpxd\.sock\s" % prog, out, re.M):
                H.fail("%s: rpcinfo %s lacks %s on local /run/rpx/rpxd.sock:\n%s"
                       % (h, h.addr, prog, out))
        # the mapping of the Unix socket works for a local caller on that host
        r = h.exec(["rpcinfo", "-T", "local", "/run/rpx/rpxd.sock", DATE, "1"])
        if r.returncode != 0 or "ready and waiting" not in r.stdout:
            H.fail("%s: local rpcinfo over the Unix socket: %r %r" % (h, r.stdout, r.stderr))
        if "rpcbind" in h.log_text():
            H.fail("%s: rpxd logged about rpcbind although it is running:\n%s"
                   % (h, h.log_text()))
    # a clean stop unregisters; other hosts keep theirs
    first = hs.hosts[0]
    if first.stop_rpxd() != 0:
        H.fail("%s: rpxd did not exit 0 on SIGTERM:\n%s" % (first, first.log_text()))
    if mappings(hs, first):
        H.fail("%s: mappings left after a clean stop: %r" % (first, mappings(hs, first)))
    rc, out, err, _ = hs.client(["rpcinfo", "-t", first.addr, DATE, "1"], timeout=15)
    if rc == 0:
        H.fail("%s: rpcinfo -t still reaches DATE after rpxd stopped: %r" % (first, out))
    if mappings(hs, hs.hosts[1]) != want:
        H.fail("%s lost its mappings when %s stopped" % (hs.hosts[1], first))
    first.start_rpxd()
    if mappings(hs, first) != want:
        H.fail("%s: not registered again after a restart" % first)
    # a restart after a crash replaces the stale mappings
    first.rpxd.kill()
    first.rpxd.wait(5)
    first.start_rpxd()
    if mappings(hs, first) != want:
        H.fail("%s: the restart after SIGKILL did not register again" % first)
    expect_ok(hs, first, ["-t", first.addr, DATE, "1"])


if __name__ == "__main__":
    H.main(scenario, n=5, tools=("rpcbind", "rpcinfo"), budget=55)
