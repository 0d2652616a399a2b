"""One host's link goes down (its port on the switch): calls to it time out at the
deadline given with -t, while the 4 other hosts answer at once; the same for a job
running when the link goes down: that host's rpx run ends at the deadline, the
others finish."""
import time

import hosts as H

DEADLINE_MS = 2000


def check_timeout(h, rc, err, secs, what):
    if rc == 0:
        H.fail("%s: %s succeeded with its link down" % (h, what))
    if "timed out" not in err or h.addr not in err:
        H.fail("%s: %s: expected a timeout naming the host, got %r" % (h, what, err))
    if not DEADLINE_MS / 1000 - 0.2 <= secs <= DEADLINE_MS / 1000 * 2 + 1.5:
        H.fail("%s: %s gave up after %.2f s, deadline %d ms" % (h, what, secs, DEADLINE_MS))


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)
    down = hs.hosts[2]
    down.link(False)
    t = ["-t", str(DEADLINE_MS)]
    for scheme in ("tcp", "udp"):
        res = {}
        procs = {h: H.subprocess.Popen(hs.client_cmd([hs.rpx_bin] + t + ["-H", h.url(scheme),
                                                                        "date"]),
                                       stdin=H.subprocess.DEVNULL, stdout=H.subprocess.PIPE,
                                       stderr=H.subprocess.PIPE, text=True)
                 for h in hs.hosts}
        t0 = time.monotonic()
        for h, p in procs.items():
            hs.pids.append(p.pid)
            out, err = p.communicate(timeout=15)
            res[h] = (p.returncode, out, err, time.monotonic() - t0)
        for h, (rc, out, err, secs) in res.items():
            if h is down:
                check_timeout(h, rc, err, secs, "%s date" % scheme)
            elif rc != 0 or not out.strip():
                H.fail("%s: %s date exit %d: %s" % (h, scheme, rc, err))
    if hs.fanout_supported("date"):
        rc, per_host, other, err, secs = hs.rpx_fanout(t + ["date"])
        check_timeout(down, rc, err, secs, "fan-out date")
        for h, lines in per_host.items():
            if h is not down and len(lines) != 1:
                H.fail("%s: fan-out date lines %r while %s was down" % (h, lines, down))
        if per_host[down]:
            H.fail("%s: fan-out printed %r for the host that is down" % (down, per_host[down]))
    # a run in progress when the link goes down
    down.link(True)
    procs = {}
    for h in hs.hosts:
        procs[h] = H.subprocess.Popen(
            hs.client_cmd([hs.rpx_bin] + t + ["-H", h.url(), "run", "--", "sh", "-c",
                                              'sleep 1; echo "done-$(hostname)"']),
            stdin=H.subprocess.DEVNULL, stdout=H.subprocess.PIPE, stderr=H.subprocess.PIPE,
            text=True)
        hs.pids.append(procs[h].pid)
    hs.wait_sleeping(5)
    down.link(False)
    t0 = time.monotonic()
    for h, p in procs.items():
        try:
            out, err = p.communicate(timeout=15)
        except H.subprocess.TimeoutExpired:
            p.kill()
            H.fail("%s: rpx run still running 15 s after %s's link went down" % (h, down))
        secs = time.monotonic() - t0
        if h is down:
            if p.returncode == 0:
                H.fail("%s: rpx run succeeded with its link down: %r" % (h, out))
            if "timed out" not in err:
                H.fail("%s: rpx run: expected a timeout, got %r" % (h, err))
            if not DEADLINE_MS / 1000 - 0.2 <= secs <= DEADLINE_MS / 1000 * 2 + 1.5:
                H.fail("%s: rpx run gave up after %.2f s, deadline %d ms"
                       % (h, secs, DEADLINE_MS))
            H.log("%s: rpx run exit %d after %.1f s: %s" % (h, p.returncode, secs, err.strip()))
        elif p.returncode != 0 or out.splitlines() != ["done-%s" % h.name]:
            H.fail("%s: rpx run exit %d, stdout %r, stderr %r" % (h, p.returncode, out, err))


if __name__ == "__main__":
    H.main(scenario, n=5, budget=55)
