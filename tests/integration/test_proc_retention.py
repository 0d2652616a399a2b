"""rpxd's job limits: --max-jobs refuses a SPAWN beyond N running jobs with EAGAIN (ended ones do not count), --retain-jobs keeps only the newest N unwaited exit records (0: none, yet held WAITs are still answered), --retain-seconds drops old records.

Usage: test_proc_retention.py [case...]   (unix socket; needs RPXD)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403


def case_max_jobs():
    """--max-jobs 2: a third running job is refused with EAGAIN; room comes back when one
    ends; kept exit records take no room."""
    with start_rpxd(["--max-jobs", "2"]) as d, ProcClient(d) as c:
        a = c.spawn_ok(["sleep", "300"])
        b = c.spawn_ok(["sleep", "300"])
        r = c.spawn(["true"])
        expect_err(r.status, errno.EAGAIN, "third SPAWN with --max-jobs 2", "--max-jobs")
        eq(r.job, 0, "job of the refused SPAWN")
        expect_ok(c.kill(a.job, 9).status, "KILL")
        c.wait_ok(a.job, 5000, keep=True)  # ended, record kept
        e = c.spawn_ok(["true"])
        c.wait_ok(e.job, 5000, keep=True)
        f = c.spawn_ok(["sleep", "300"])
        expect_err(c.spawn(["true"]).status, errno.EAGAIN, "SPAWN with 2 running again")
        for j in (b.job, f.job):
            expect_ok(c.kill(j, 9).status, "KILL")
            c.wait_ok(j, 5000)


def case_retain_jobs():
    """--retain-jobs 3: of 6 unwaited ended jobs only the newest 3 records stay."""
    with start_rpxd(["--retain-jobs", "3"]) as d, ProcClient(d) as c:
        jobs = []
        for i in range(6):
            jobs.append(c.spawn_ok(["sh", "-c", "exit %d" % i]).job)
            # Ended for rpxd (reaped, exit recorded), not only a zombie in /proc.
            wait_until(lambda: all(e.exit.how != 0 for e in c.list().entries), 5,
                       "job %d not reaped" % i)
        eq([e.job for e in c.list().entries], jobs[3:], "records kept with --retain-jobs 3")
        for i, j in enumerate(jobs):
            w = c.wait([j], 0)
            if i < 3:
                expect_err(w.status, errno.ESRCH, "WAIT on dropped record %d" % i)
            else:
                expect_ok(w.status, "WAIT on kept record %d" % i)
                expect_exited(w, i, "kept record %d" % i)


def case_retain_zero():
    """--retain-jobs 0: no record outlives the job, but a held WAIT is answered."""
    with start_rpxd(["--retain-jobs", "0"]) as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "sleep 0.3; exit 7"])
        w = c.wait_ok(s.job, timeout_ms=5000, keep=True)
        expect_exited(w, 7, "held WAIT with --retain-jobs 0")
        t = c.spawn_ok(["true"])
        wait_until(lambda: c.info(t.job).status.error == errno.ESRCH, 5,
                   "record of an unwaited job kept with --retain-jobs 0")
        eq(c.list().entries, [], "LIST with --retain-jobs 0")


def case_retain_seconds():
    """--retain-seconds 1: an unwaited record is dropped within the sweep period."""
    with start_rpxd(["--retain-seconds", "1"]) as d, ProcClient(d) as c:
        s = c.spawn_ok(["true"])
        time.sleep(0.2)
        expect_ok(c.info(s.job).status, "INFO right after the end")
        t0 = time.monotonic()
        wait_until(lambda: c.info(s.job).status.error == errno.ESRCH, 15,
                   "record older than --retain-seconds 1 still kept", interval=0.2)
        log("record dropped %.1f s after its end" % (time.monotonic() - t0 + 0.2))
        check(time.monotonic() - t0 >= 0.7, "record dropped before 1 s")


if __name__ == "__main__":
    main([case_max_jobs, case_retain_jobs, case_retain_zero, case_retain_seconds])
