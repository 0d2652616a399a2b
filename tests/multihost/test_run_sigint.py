"""Ctrl-C during a multi-host rpx run: SIGINT to rpx is forwarded to the job on every
host that runs one, rpx waits for the jobs' ends and reports each (exit status 130);
with --parallel, hosts still waiting for their turn are not started. A job that
ignores SIGINT gets SIGKILL at the second Ctrl-C (137). No job is left on any host."""
import signal
import subprocess
import time

import hosts as H


def start_run(hs, hosts, script, extra=()):
    cmd = [hs.rpx_bin]
    for h in hosts:
        cmd += ["-H", h.url()]
    p = subprocess.Popen(hs.client_cmd(cmd + list(extra) + ["run", "--", "sh", "-c", script]),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    hs.pids.append(p.pid)  # ip netns exec execs rpx: this is rpx's PID
    return p


def wait_started(p, hosts, n, timeout=15):
    """Reads stdout until n hosts printed "started"; the set of those hosts."""
    started = set()
    deadline = time.monotonic() + timeout
    while len(started) < n:
        line = H._readline(p.stdout, deadline - time.monotonic())
        if line is None:
            H.fail("only %r printed 'started' within %d s" % (sorted(map(str, started)), timeout))
        for h in hosts:
            if line == h.url() + ": started":
                started.add(h)
    return started


def finish(p, timeout=20):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        H.fail("rpx run did not end within %d s of the signal: %r" % (timeout, err))
    return p.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)

    # 1: three hosts at a time; SIGINT once; the other two are never started
    p = start_run(hs, hs.hosts, "echo started; exec sleep 60", ["--parallel", "3"])
    running = wait_started(p, hs.hosts, 3)
    for h in running:
        if not h.sleeping():
            H.fail("%s: printed started but runs no sleep" % h)
    time.sleep(0.3)  # nothing else starts meanwhile
    p.send_signal(signal.SIGINT)
    rc, out, err = finish(p)
    if rc != 1:
        H.fail("rpx run exit %d after SIGINT, expected 1; stderr %r" % (rc, err))
    if "SIGINT forwarded to the jobs of 3 hosts" not in err:
        H.fail("no word of the forwarded SIGINT in %r" % err)
    for h in hs.hosts:
        if h in running:
            if "%s: exit status 130" % h.url() not in err:
                H.fail("%s: the summary lacks its job's status 130: %r" % (h, err))
        elif "%s: not started: interrupted" % h.url() not in err:
            H.fail("%s: should be reported as not started: %r" % (h, err))
        if h.sleeping():
            H.fail("%s: a sleep is left after the SIGINT: %r" % (h, h.sleeping()))
    if "5 hosts: 0 ok, 5 failed" not in err:
        H.fail("summary: %r" % err)

    # 2: jobs that ignore SIGINT: the second Ctrl-C sends SIGKILL
    p = start_run(hs, hs.hosts, "trap '' INT; echo started; exec sleep 60")
    wait_started(p, hs.hosts, len(hs.hosts))
    p.send_signal(signal.SIGINT)
    time.sleep(1)
    if p.poll() is not None:
        H.fail("rpx ended (%d) although the jobs ignore SIGINT" % p.returncode)
    for h in hs.hosts:
        if not h.sleeping():
            H.fail("%s: its job ended at the first SIGINT although it ignores it" % h)
    p.send_signal(signal.SIGINT)
    rc, out, err = finish(p)
    if rc != 1 or "SIGKILL forwarded to the jobs of %d hosts" % len(hs.hosts) not in err:
        H.fail("second SIGINT: exit %d, stderr %r" % (rc, err))
    for h in hs.hosts:
        if "%s: exit status 137" % h.url() not in err:
            H.fail("%s: the summary lacks its job's status 137: %r" % (h, err))
        if h.sleeping():
            H.fail("%s: a sleep is left after SIGKILL: %r" % (h, h.sleeping()))


if __name__ == "__main__":
    H.main(scenario, n=5, budget=70)
