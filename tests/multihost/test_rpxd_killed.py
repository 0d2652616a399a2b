"""One host's rpxd is killed (SIGKILL) while rpx run is in progress on 5 hosts:
that host's rpx reports the failure, naming the host, within its deadline, and the
other 4 commands finish with their output and status."""
import time

import hosts as H

DEADLINE_MS = 3000
SCRIPT = 'sleep 2; echo "done-$(hostname)"'


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)
    victim = hs.hosts[1]
    procs = {}
    for h in hs.hosts:
        procs[h] = H.subprocess.Popen(
            hs.client_cmd([hs.rpx_bin, "-t", str(DEADLINE_MS), "-H", h.url(), "run", "--", "sh",
                           "-c", SCRIPT]),
            stdin=H.subprocess.DEVNULL, stdout=H.subprocess.PIPE, stderr=H.subprocess.PIPE,
            text=True)
        hs.pids.append(procs[h].pid)
    # every job is running before the kill
    hs.wait_sleeping(5)
    killed_at = time.monotonic()
    victim.rpxd.kill()
    for h, p in procs.items():
        try:
            out, err = p.communicate(timeout=2 + DEADLINE_MS / 1000 * 3)
        except H.subprocess.TimeoutExpired:
            p.kill()
            H.fail("%s: rpx run still running %.0f s after %s's rpxd was killed"
                   % (h, time.monotonic() - killed_at, victim))
        if h is victim:
            if p.returncode == 0 or "done-" in out:
                H.fail("%s: rpx run exit %d, stdout %r, although its rpxd was killed"
                       % (h, p.returncode, out))
            if not err.strip():
                H.fail("%s: rpx run failed without saying why" % h)
            # one rpx per host: which host failed is known from the process; with a
            # fan-out the message itself has to say it (the fan-out part below)
            H.log("%s: exit %d after %.1f s: %s" % (h, p.returncode,
                                                   time.monotonic() - killed_at, err.strip()))
        elif p.returncode != 0 or out.splitlines() != ["done-%s" % h.name]:
            H.fail("%s: exit %d, stdout %r, stderr %r: the other hosts must finish"
                   % (h, p.returncode, out, err))

    if not hs.fanout_supported("date"):
        H.log("rpx date takes one host: fan-out part not run")
        return
    rc, per_host, other, err, secs = hs.rpx_fanout(["-t", str(DEADLINE_MS), "date"])
    if rc == 0 or victim.url() not in err or per_host[victim]:
        H.fail("fan-out date with %s's rpxd dead: exit %d, its lines %r, stderr %r"
               % (victim, rc, per_host[victim], err))
    for h, lines in per_host.items():
        if h is not victim and len(lines) != 1:
            H.fail("%s: fan-out date lines %r while %s was dead" % (h, lines, victim))


if __name__ == "__main__":
    H.main(scenario, n=5, budget=50)
