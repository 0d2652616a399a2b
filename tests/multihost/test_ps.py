"""ps across 5 hosts: a job started on each host shows up in that host's rpx ps and
in no other's, and rpx ps --all lists the processes of that host only (each test
host has its own PID namespace), with the PIDs the host itself sees."""
import json

import hosts as H


def ps(hs, h, args):
    rc, out, err, _ = hs.rpx(h, ["ps", "--json"] + args)
    if rc != 0:
        H.fail("%s: rpx ps %s: exit %d: %s" % (h, " ".join(args), rc, err))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)
    jobs = {}
    spawned = hs.rpx_each([], args_for=lambda h: [
        "spawn", "--json", "--name", "mh-sleep-%d" % h.index, "--label", "host=%s" % h.name,
        "--", "sleep", "45"])
    for h, (rc, out, err, _) in spawned.items():
        if rc != 0:
            H.fail("%s: rpx spawn exit %d: %s" % (h, rc, err))
        jobs[h] = json.loads(out)
    for h in hs.hosts:
        mine = ps(hs, h, [])
        if [(p["job"], p["name"], p["labels"]) for p in mine] != \
                [(jobs[h]["job"], "mh-sleep-%d" % h.index, {"host": h.name})]:
            H.fail("%s: rpx ps lists %r, expected only its own job %r" % (h, mine, jobs[h]))
        # the PID rpx reports is the one the host sees for its sleep
        seen = h.exec(["pgrep", "-x", "sleep"]).stdout.split()
        if [str(mine[0]["pid"])] != seen or mine[0]["pid"] != jobs[h]["pid"]:
            H.fail("%s: job pid %r, spawn said %r, the host sees sleep as %r"
                   % (h, mine[0]["pid"], jobs[h]["pid"], seen))
        everything = ps(hs, h, ["--all"])
        names = sorted(p["name"] for p in everything)
        sleeps = [p for p in everything if p["name"].startswith("mh-sleep") or
                  p["cmdline"].startswith("sleep")]
        if len(sleeps) != 1 or sleeps[0]["name"] != "mh-sleep-%d" % h.index:
            H.fail("%s: ps --all shows sleeps %r: other hosts' processes leak in" % (h, sleeps))
        rpxd = [p for p in everything if p["name"] == "rpxd"]
        if len(rpxd) != 1 or h.exec(["pgrep", "-x", "rpxd"]).stdout.split() != \
                [str(rpxd[0]["pid"])]:
            H.fail("%s: ps --all: rpxd entries %r (names %r)" % (h, rpxd, names))
    filtered = ps(hs, hs.hosts[2], ["--label", "host=%s" % hs.hosts[0].name])
    if filtered:
        H.fail("%s: a label of %s's job matched there: %r" % (hs.hosts[2], hs.hosts[0], filtered))
    for h, (rc, out, err, _) in hs.rpx_each([], args_for=lambda h: [
            "kill", "-s", "KILL", str(jobs[h]["job"])]).items():
        if rc != 0:
            H.fail("%s: rpx kill exit %d: %s" % (h, rc, err))


if __name__ == "__main__":
    H.main(scenario, n=5, budget=50)
