"""rpxd's stop policy for running jobs: term (the default) SIGTERMs every job's process group and exits 0 once they end, SIGKILLing after --stop-grace; kill ends them at once; leave lets them outlive rpxd.

Usage: test_proc_stop.py [case...]   (unix socket; needs RPXD)
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403

# A job whose shell and grandchild both ignore SIGTERM (SIG_IGN survives exec).
STUBBORN = "trap '' TERM; sleep 300 & echo $!; wait"


def family(c, cmd):
    """Spawn cmd (which prints a grandchild pid): (spawn result, grandchild pid)."""
    s = c.spawn_ok([cmd], shell=True)
    r = c.output(s.job, streams=STREAM_OUT, follow=True, timeout_ms=5000)
    expect_ok(r.status, "OUTPUT")
    check(r.out.data.strip().isdigit(), "grandchild pid line: %r" % r.out.data)
    return s, int(r.out.data)


def stop_timed(d, timeout=15):
    t0 = time.monotonic()
    d.stop(timeout=timeout)
    return time.monotonic() - t0


def gone(pid):
    return proc_state(pid) in (None, "Z")


def case_default_is_term():
    """No --on-stop: SIGTERM to the jobs' groups; rpxd exits 0 at once when they end; a
    held WAIT is answered with SIGTERM before rpxd goes."""
    d = start_rpxd()
    with d:
        c = ProcClient(d)
        s, gpid = family(c, "sleep 300 & echo $!; wait")
        plain = c.spawn_ok(["sleep", "300"])
        x = c.send(WAIT, enc_wait([plain.job], -1, False))
        time.sleep(0.1)
        took = stop_timed(d)
        check(took < 3, "rpxd took %.2f s to stop with jobs that end on SIGTERM" % took)
        for pid in (s.pid, gpid, plain.pid):
            check(gone(pid), "process %d still running after rpxd stopped (state %r)"
                  % (pid, proc_state(pid)))
        try:
            w = c.recv(x, WAIT, timeout=2)
        except (Closed, Timeout) as e:
            fail("held WAIT not answered when rpxd ended the job on stop: %r" % e)
        finally:
            c.close()
        expect_ok(w.status, "WAIT answered at stop")
        eq((w.exit.how, w.exit.signal), (EXIT_SIGNALED, signal.SIGTERM), "exit at stop")


def case_term_then_kill_after_grace():
    """--on-stop term --stop-grace 1 with jobs ignoring SIGTERM: SIGKILL after about 1 s,
    then exit 0; every process of the jobs is gone."""
    with start_rpxd(["--on-stop", "term", "--stop-grace", "1"]) as d, ProcClient(d) as c:
        s, gpid = family(c, STUBBORN)
        t = c.spawn_ok(["sh", "-c", "trap '' TERM; sleep 300"])
        time.sleep(0.2)
        took = stop_timed(d)
        check(0.9 <= took <= 4, "stop took %.2f s with a 1 s grace" % took)
        for pid in (s.pid, gpid, t.pid):
            check(gone(pid), "process %d survived the stop (state %r)" % (pid, proc_state(pid)))


def case_kill():
    """--on-stop kill: jobs ignoring SIGTERM are killed at once; exit 0 quickly."""
    with start_rpxd(["--on-stop", "kill", "--stop-grace", "30"]) as d, ProcClient(d) as c:
        s, gpid = family(c, STUBBORN)
        # Held calls at the stop: a follow that the end of the job answers.
        f = ProcClient(d)
        x = f.send(OUTPUT, enc_output(s.job, stdout_offset=1 << 30, follow=True, timeout_ms=-1))
        time.sleep(0.1)
        took = stop_timed(d)
        f.close()
        check(took < 3, "stop took %.2f s with --on-stop kill" % took)
        for pid in (s.pid, gpid):
            check(gone(pid), "process %d survived --on-stop kill (state %r)" % (pid, proc_state(pid)))


def case_leave():
    """--on-stop leave: rpxd exits 0 at once (held WAITs and follows on unix and UDP are
    dropped cleanly) and the job (and its child) run on."""
    pids = []
    try:
        with start_rpxd(["--on-stop", "leave", "--insecure"], transports=("unix", "udp")) as d, \
                ProcClient(d) as c:
            s, gpid = family(c, "sleep 300 & echo $!; wait")
            pids = [s.pid, gpid]
            held = [ProcClient(d, t) for t in ("unix", "udp")]
            for h in held:
                h.send(WAIT, enc_wait([s.job], -1, False))
                h.send(WAIT, enc_wait([s.job], 60000, True))
                h.send(OUTPUT, enc_output(s.job, stdout_offset=1 << 30, follow=True,
                                          timeout_ms=-1))
            time.sleep(0.2)
            took = stop_timed(d)
            check(took < 3, "stop took %.2f s with --on-stop leave" % took)
            for h in held:
                h.close()
        time.sleep(0.3)
        for pid in pids:
            eq(proc_state(pid) in ("S", "R"), True,
               "job process %d alive after rpxd left (state %r)" % (pid, proc_state(pid)))
    finally:
        for pid in pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                kill_quietly(pid)
    for pid in pids:
        wait_until(lambda: gone(pid), 5, "left job %d did not die on SIGKILL" % pid)


def case_no_jobs():
    """With no job running rpxd exits 0 at once whatever the policy."""
    for policy in ("term", "kill", "leave"):
        with start_rpxd(["--on-stop", policy, "--stop-grace", "30"]) as d, ProcClient(d) as c:
            c.run(["true"])
            took = stop_timed(d)
            check(took < 2, "stop took %.2f s with no job (--on-stop %s)" % (took, policy))


if __name__ == "__main__":
    main([case_default_is_term, case_term_then_kill_after_grace, case_kill, case_leave,
          case_no_jobs])
