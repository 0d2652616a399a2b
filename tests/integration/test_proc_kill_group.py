"""PROC KILL with group=TRUE ends a job's whole process group (grandchildren too, reaped by rpxd, no zombie); without it only the leader dies; signal 0, stop/continue, bad signals (EINVAL) and unknown or ended jobs (ESRCH) answer correctly.

Usage: test_proc_kill_group.py [case...]   (unix socket; needs RPXD)
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403

# The shell starts a grandchild in the background, prints its pid and waits.
FAMILY = "sleep 300 & echo $!; wait"


def start_family(c):
    """A job with a grandchild: (spawn result, grandchild pid)."""
    s = c.spawn_ok([FAMILY], shell=True)
    r = c.output(s.job, streams=STREAM_OUT, follow=True, timeout_ms=5000)
    expect_ok(r.status, "OUTPUT of the family job")
    line = r.out.data.decode()
    check(line.endswith("\n") and line.strip().isdigit(),
          "expected the grandchild pid line, got %r" % line)
    gpid = int(line)
    st = proc_status(gpid)
    check(st is not None, "grandchild %d not in /proc" % gpid)
    eq(int(st["PPid"]), s.pid, "grandchild's parent is the job")
    eq(os.getpgid(gpid), s.pid, "grandchild's process group is the job's")
    eq(os.getsid(gpid), s.pid, "grandchild's session is the job's")
    return s, gpid


def case_group_kill_ends_grandchildren():
    """KILL group SIGTERM: the shell and its background sleep end; the sleep is reaped."""
    with start_rpxd() as d, ProcClient(d) as c:
        s, gpid = start_family(c)
        expect_ok(c.kill(s.job, signal.SIGTERM, group=True).status, "KILL group SIGTERM")
        w = c.wait_ok(s.job, timeout_ms=5000)
        eq((w.exit.how, w.exit.signal), (EXIT_SIGNALED, signal.SIGTERM),
           "the leader ended by SIGTERM: (how, signal)")
        wait_until(lambda: proc_status(gpid) is None, 5,
                   "grandchild %d still in /proc (state %r, ppid %r)"
                   % (gpid, proc_state(gpid), proc_ppid(gpid)))
        eq([p for p in children_of(d.pid) if p[1] == "Z"], [], "zombie children of rpxd")


def case_leader_only_leaves_grandchild():
    """KILL without group: only the leader dies; the grandchild goes on under rpxd
    (child subreaper) and, once killed, is reaped by rpxd."""
    with start_rpxd() as d, ProcClient(d) as c:
        s, gpid = start_family(c)
        try:
            expect_ok(c.kill(s.job, signal.SIGKILL).status, "KILL leader SIGKILL")
            w = c.wait_ok(s.job, timeout_ms=5000)
            eq((w.exit.how, w.exit.signal), (EXIT_SIGNALED, signal.SIGKILL),
               "the leader ended by SIGKILL")
            time.sleep(0.3)
            st = proc_state(gpid)
            check(st in ("S", "R"), "grandchild %d should still run, state %r" % (gpid, st))
            wait_until(lambda: proc_ppid(gpid) == d.pid, 5,
                       "grandchild %d re-parented to rpxd %d (ppid %r)"
                       % (gpid, d.pid, proc_ppid(gpid)))
            # The ended job cannot be signalled any more, even as a group.
            expect_err(c.kill(s.job, signal.SIGKILL, group=True).status, errno.ESRCH,
                       "KILL group of a job that has ended")
        finally:
            kill_quietly(gpid)
        wait_until(lambda: proc_status(gpid) is None, 5,
                   "orphan %d not reaped by rpxd (state %r)" % (gpid, proc_state(gpid)))


def case_signal_zero_stop_cont():
    """Signal 0 checks the job; SIGSTOP shows STOPPED in INFO; SIGCONT resumes it."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "300"])
        expect_ok(c.kill(s.job, 0).status, "KILL signal 0")
        expect_ok(c.kill(s.job, signal.SIGSTOP).status, "KILL SIGSTOP")
        wait_until(lambda: proc_state(s.pid) == "T", 5, "job not stopped")
        i = c.info(s.job)
        eq((i.info.state, i.info.state_code), (PSTATE_STOPPED, "T"), "INFO of a stopped job")
        expect_ok(c.kill(s.job, signal.SIGCONT, group=True).status, "KILL group SIGCONT")
        wait_until(lambda: proc_state(s.pid) in ("S", "R"), 5, "job not continued")
        expect_err(c.wait([s.job], 0).status, errno.ETIMEDOUT, "WAIT poll: still running")
        expect_ok(c.kill(s.job, 64).status, "KILL signal 64 (SIGRTMAX)")
        w = c.wait_ok(s.job, timeout_ms=5000)
        eq((w.exit.how, w.exit.signal), (EXIT_SIGNALED, 64), "ended by signal 64")


def case_bad_signal():
    """Signals outside 0..64 -> EINVAL, and the job is untouched."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "300"])
        for sig in (999, 65, -1, -9, 0x7FFFFFFF, -0x80000000):
            for group in (False, True):
                expect_err(c.kill(s.job, sig, group=group).status, errno.EINVAL,
                           "KILL signal %d group %r" % (sig, group), str(sig))
        time.sleep(0.1)
        check(proc_state(s.pid) in ("S", "R"), "job survived the bad KILLs")
        expect_ok(c.kill(s.job, signal.SIGKILL, group=True).status, "KILL group SIGKILL")
        w = c.wait_ok(s.job, timeout_ms=5000)
        eq(w.exit.signal, signal.SIGKILL, "signal of the job")


def case_unknown_job():
    """KILL of a job that never was (0, 999999, 2^64-1), or was and is waited for -> ESRCH."""
    with start_rpxd() as d, ProcClient(d) as c:
        for job in (0, 999999, (1 << 64) - 1):
            for group in (False, True):
                expect_err(c.kill(job, signal.SIGTERM, group=group).status, errno.ESRCH,
                           "KILL unknown job %d" % job)
        s, w = c.run(["true"])
        expect_err(c.kill(s.job, signal.SIGTERM).status, errno.ESRCH, "KILL a waited job")
        # An ended job whose record is kept: ESRCH as well, and nobody else is hit.
        s = c.spawn_ok(["true"])
        c.wait_ok(s.job, timeout_ms=5000, keep=True)
        expect_err(c.kill(s.job, signal.SIGTERM, group=True).status, errno.ESRCH,
                   "KILL an ended, kept job")
        c.wait_ok(s.job, timeout_ms=0)


if __name__ == "__main__":
    main([case_group_kill_ends_grandchildren, case_leader_only_leaves_grandchild,
          case_signal_zero_stop_cont, case_bad_signal, case_unknown_job])
