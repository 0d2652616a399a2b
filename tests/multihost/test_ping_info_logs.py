"""ping, info and logs (and logs -f) with several hosts: one rpx with -H for 4 hosts
answers for every host, each line prefixed by its host and carrying that host's own
data (its host name in the job's output and argv); a host that does not have the job
fails alone; ps --tree with several hosts is refused with a clear message."""
import json
import re

import hosts as H

SCRIPT = 'echo "out-$(hostname)"; echo "err-$(hostname)" >&2; sleep %s; echo "late-$(hostname)"'


def spawn_each(hs, seconds):
    """The same job on every host (one rpx per host); its ID, equal everywhere."""
    ids = set()
    for h, (rc, out, err, _) in hs.rpx_each(["spawn", "--json", "--", "sh", "-c",
                                             SCRIPT % seconds]).items():
        if rc != 0:
            H.fail("%s: rpx spawn exit %d: %s" % (h, rc, err))
        ids.add(str(json.loads(out)["job"]))
    if len(ids) != 1:
        H.fail("fresh rpxds gave different job IDs %r: the scenario needs one ID" % ids)
    return ids.pop()


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)
    if not hs.fanout_supported("logs"):
        H.skip("rpx logs takes one host")

    rc, per_host, other, err, _ = hs.rpx_fanout(["ping"])
    if rc != 0 or other:
        H.fail("ping x%d: exit %d, unattributed %r, %r" % (len(hs.hosts), rc, other, err))
    for h, lines in per_host.items():
        if len(lines) != 2 or not all(re.fullmatch(r"(date|proc) v1: \d+\.\d{3} ms", l)
                                      for l in lines):
            H.fail("%s: ping lines %r" % (h, lines))
    # an unknown program: every host answers PROG_UNAVAIL, on stderr, and fails
    rc, per_host, other, err, _ = hs.rpx_fanout(["ping", "-p", "0x20007799"])
    if rc != 1 or "%d hosts: 0 ok, %d failed" % (len(hs.hosts), len(hs.hosts)) not in err:
        H.fail("ping -p unknown: exit %d, %r" % (rc, err))
    for h in hs.hosts:
        if not re.search(re.escape(h.url()) + r": 0x20007799 v1: .*unavailable", err):
            H.fail("%s: no PROG_UNAVAIL line in %r" % (h, err))

    job = spawn_each(hs, "0.2")
    rc, per_host, other, err, _ = hs.rpx_fanout(["wait", "--keep", job])
    if rc != 0:
        H.fail("wait --keep x%d: exit %d: %s" % (len(hs.hosts), rc, err))
    rc, per_host, other, err, _ = hs.rpx_fanout(["info", job])
    if rc != 0 or other:
        H.fail("info x%d: exit %d, unattributed %r, %r" % (len(hs.hosts), rc, other, err))
    for h, lines in per_host.items():
        text = "\n".join(lines)
        if "job         %s" % job not in lines or "exited with code 0" not in text \
                or "out-" not in text:
            H.fail("%s: info lines %r" % (h, lines))
    rc, per_host, other, err, _ = hs.rpx_fanout(["info", "--json", job])
    if rc != 0:
        H.fail("info --json: exit %d: %s" % (rc, err))
    for line in other:
        obj = json.loads(line)
        h = [x for x in hs.hosts if x.url() == obj.get("host")]
        if not h or str(obj.get("job")) != job:
            H.fail("info --json line %r" % line)
        per_host[h[0]].append(obj)
    if any(not any(isinstance(o, dict) for o in v) for v in per_host.values()):
        H.fail("info --json: a host has no object: %r" % other)

    rc, out, err, _ = hs.client([hs.rpx_bin] + sum((["-H", h.url()] for h in hs.hosts), []) +
                                ["logs", "--both", job])
    if rc != 0:
        H.fail("logs --both: exit %d: %s" % (rc, err))
    outs, _ = H.attribute(out, hs.hosts)
    errs, _ = H.attribute(err, hs.hosts)
    for h in hs.hosts:
        if outs[h] != ["out-%s" % h.name, "late-%s" % h.name]:
            H.fail("%s: logs stdout %r" % (h, outs[h]))
        if errs[h] != ["err-%s" % h.name]:
            H.fail("%s: logs stderr %r" % (h, errs[h]))

    # logs -f: follows every host's running job until it ends
    job = spawn_each(hs, "2")
    rc, per_host, other, err, secs = hs.rpx_fanout(["logs", "-f", job], timeout=20)
    if rc != 0 or other:
        H.fail("logs -f: exit %d, unattributed %r: %s" % (rc, other, err))
    for h, lines in per_host.items():
        if lines != ["out-%s" % h.name, "late-%s" % h.name]:
            H.fail("%s: logs -f printed %r" % (h, lines))
    if secs < 1:
        H.fail("logs -f ended after %.2f s, before the jobs (2 s)" % secs)

    # one host lacks the job: it fails alone
    missing = "999"
    victim = hs.hosts[0]
    rc, per_host, other, err, _ = hs.rpx_fanout(["info", missing], hosts=[victim, hs.hosts[1]])
    if rc != 1 or "2 hosts: 0 ok, 2 failed" not in err or "job 999" not in err:
        H.fail("info of a missing job: exit %d, %r" % (rc, err))

    rc, _, _, err, _ = hs.rpx_fanout(["ps", "--tree"])
    if rc != 2 or "--tree takes one host" not in err:
        H.fail("ps --tree with several hosts: exit %d, %r" % (rc, err))


if __name__ == "__main__":
    H.main(scenario, n=4, budget=60)
