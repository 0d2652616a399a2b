"""Kill a job on one host only: the same job ID exists on all 5 hosts; rpx kill on
host 3 ends host 3's job (wait says 128 + SIGTERM) while the jobs of the other hosts
keep running, until they are killed in turn."""
import json

import hosts as H


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)
    jobs = {}
    for h, (rc, out, err, _) in hs.rpx_each(["spawn", "--json", "--", "sleep", "45"]).items():
        if rc != 0:
            H.fail("%s: rpx spawn exit %d: %s" % (h, rc, err))
        jobs[h] = str(json.loads(out)["job"])
    if len(set(jobs.values())) != 1:
        H.log("job IDs differ between hosts: %r" % jobs)  # fine, but less of a test
    victim = hs.hosts[2]
    rc, out, err, _ = hs.rpx(victim, ["kill", jobs[victim]])
    if rc != 0:
        H.fail("%s: rpx kill exit %d: %s" % (victim, rc, err))
    rc, out, err, _ = hs.rpx(victim, ["wait", "--timeout", "10", jobs[victim]])
    if rc != 128 + 15:
        H.fail("%s: rpx wait exit %d after kill, expected 143: %s" % (victim, rc, err))
    others = [h for h in hs.hosts if h is not victim]
    for h, (rc, out, err, _) in hs.rpx_each([], hosts=others, args_for=lambda h: [
            "wait", "--timeout", "0", "--keep", jobs[h]]).items():
        if rc != 124:
            H.fail("%s: job %s should still run (wait --timeout 0 exit %d, expected 124): %s"
                   % (h, jobs[h], rc, err))
        if not h.sleeping():
            H.fail("%s: its sleep is gone although only %s's job was killed" % (h, victim))
    for h, (rc, out, err, _) in hs.rpx_each([], hosts=others, args_for=lambda h: [
            "kill", "-s", "KILL", jobs[h]]).items():
        if rc != 0:
            H.fail("%s: rpx kill -s KILL exit %d: %s" % (h, rc, err))
    for h, (rc, out, err, _) in hs.rpx_each([], hosts=others, args_for=lambda h: [
            "wait", "--timeout", "10", jobs[h]]).items():
        if rc != 128 + 9:
            H.fail("%s: rpx wait exit %d after SIGKILL, expected 137: %s" % (h, rc, err))


if __name__ == "__main__":
    H.main(scenario, n=5, budget=50)
