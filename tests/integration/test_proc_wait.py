"""PROC WAIT is held until a job ends and answers exactly: timeout (ETIMEDOUT on time), poll, 50 waiters on 50 connections all answered alike, WAIT-any answers the first job to end, ended jobs at once, keep semantics, and a waiter's connection closing disturbs no one.

Usage: test_proc_wait.py [case...]   (unix socket; needs RPXD)
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403


def case_timeout():
    """WAIT 300 ms on `sleep 5` -> ETIMEDOUT after about 0.3 s; the job is still there."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "5"])
        t0 = time.monotonic()
        w = c.wait([s.job], timeout_ms=300, timeout=5)
        took = time.monotonic() - t0
        expect_err(w.status, errno.ETIMEDOUT, "WAIT 300 ms on sleep 5")
        check(0.28 <= took <= 1.5, "WAIT 300 ms answered after %.3f s" % took)
        eq(w.exit.how, EXIT_NONE, "exit.how of a timed-out WAIT")
        expect_ok(c.info(s.job).status, "INFO after the timeout")
        # A timeout above a second is honoured as well (seconds and ms parts).
        t0 = time.monotonic()
        w = c.wait([s.job], timeout_ms=1200, timeout=5)
        took = time.monotonic() - t0
        expect_err(w.status, errno.ETIMEDOUT, "WAIT 1200 ms")
        check(1.18 <= took <= 2.5, "WAIT 1200 ms answered after %.3f s" % took)
        expect_ok(c.kill(s.job, 9).status, "KILL")
        c.wait_ok(s.job, 5000)


def case_poll():
    """timeout 0 polls: ETIMEDOUT at once while running, the exit once ended."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "0.5"])
        t0 = time.monotonic()
        expect_err(c.wait([s.job], 0).status, errno.ETIMEDOUT, "WAIT poll of a running job")
        check(time.monotonic() - t0 < 0.3, "poll took %.3f s" % (time.monotonic() - t0))
        time.sleep(0.8)
        w = c.wait_ok(s.job, timeout_ms=0)
        expect_exited(w, 0, "sleep 0.5 (polled)")


def case_fifty_waiters():
    """50 connections WAIT on one job: all answered when it ends, with the same exit."""
    n = 50
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "sleep 1; exit 9"])
        clients = [ProcClient(d, timeout=10) for _ in range(n)]
        try:
            xids = [cl.send(WAIT, enc_wait([s.job], -1, False)) for cl in clients]
            # Held: nothing is answered while the job runs.
            check(clients[0].conn.quiet_for(0.3), "a WAIT was answered before the job ended")
            t0 = time.monotonic()
            results = [cl.recv(x, WAIT, timeout=10) for cl, x in zip(clients, xids)]
            took = time.monotonic() - t0
        finally:
            for cl in clients:
                cl.close()
        check(took < 5, "50 WAITs answered after %.2f s" % took)
        for i, r in enumerate(results):
            expect_ok(r.status, "WAIT #%d" % i)
            eq(r.job, s.job, "WAIT #%d job" % i)
            expect_exited(r, 9, "WAIT #%d" % i)
            eq(r, results[0], "WAIT #%d equals WAIT #0" % i)
        # None kept it: the record is gone; a WAIT sent again gets the remembered answer.
        expect_err(c.info(s.job).status, errno.ESRCH, "INFO after the 50")
        eq(c.wait_ok(s.job, 0), results[0], "WAIT after the 50")


def case_wait_any():
    """WAIT on three jobs answers the first to end; the others stay waitable."""
    with start_rpxd() as d, ProcClient(d) as c:
        a = c.spawn_ok(["sh", "-c", "sleep 3; exit 1"])
        b = c.spawn_ok(["sh", "-c", "sleep 0.3; exit 2"])
        e = c.spawn_ok(["sh", "-c", "sleep 2; exit 3"])
        t0 = time.monotonic()
        w = c.wait([a.job, b.job, e.job], timeout_ms=10000)
        took = time.monotonic() - t0
        expect_ok(w.status, "WAIT any")
        eq(w.job, b.job, "the first job to end")
        expect_exited(w, 2, "WAIT any")
        check(0.25 <= took <= 1.8, "WAIT any took %.2f s" % took)
        expect_err(c.info(b.job).status, errno.ESRCH, "INFO of the answered job")
        w = c.wait([a.job, e.job], timeout_ms=10000)
        eq(w.job, e.job, "second WAIT any")
        expect_exited(w, 3, "second WAIT any")
        w = c.wait_ok(a.job, timeout_ms=10000)
        expect_exited(w, 1, "last job")
        # The same job twice in one WAIT is fine.
        x = c.spawn_ok(["true"])
        w = c.wait([x.job, x.job], timeout_ms=5000)
        expect_ok(w.status, "WAIT [x, x]")
        eq(w.job, x.job, "WAIT [x, x] job")
        x = c.spawn_ok(["sleep", "0.3"])
        w = c.wait([x.job, x.job, x.job], timeout_ms=5000)
        expect_ok(w.status, "held WAIT [x, x, x]")
        eq(w.job, x.job, "held WAIT [x, x, x] job")
        expect_err(c.info(x.job).status, errno.ESRCH, "record after WAIT [x, x, x]")


def case_already_ended():
    """A job that has ended already is answered at once."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "exit 5"])
        wait_until(lambda: c.info(s.job).info.state == PSTATE_TERMINATED, 5, "job not ended")
        for keep, timeout_ms in ((True, -1), (True, 100000), (False, -1)):
            t0 = time.monotonic()
            w = c.wait_ok(s.job, timeout_ms=timeout_ms, keep=keep)
            check(time.monotonic() - t0 < 0.3, "WAIT of an ended job took %.3f s"
                  % (time.monotonic() - t0))
            expect_exited(w, 5, "ended job")
        # WAIT-any with one ended job among running ones: the ended one.
        r = c.spawn_ok(["sleep", "300"])
        e = c.spawn_ok(["true"])
        wait_until(lambda: c.info(e.job).info.state == PSTATE_TERMINATED, 5, "job not ended")
        t0 = time.monotonic()
        w = c.wait([r.job, e.job], timeout_ms=-1)
        check(time.monotonic() - t0 < 0.3, "WAIT-any with an ended job was not immediate")
        eq(w.job, e.job, "WAIT-any picks the ended job")
        expect_ok(c.kill(r.job, 9).status, "KILL")
        c.wait_ok(r.job, 5000)


def case_keep():
    """keep=TRUE leaves the record (same answer again); keep=FALSE drops it (then INFO says
    ESRCH, WAIT the remembered answer); a held WAIT with keep leaves it too."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "sleep 0.2; exit 4"])
        w1 = c.wait_ok(s.job, timeout_ms=5000, keep=True)  # held, then answered
        w2 = c.wait_ok(s.job, timeout_ms=5000, keep=True)  # immediate
        eq(w2, w1, "second WAIT keep")
        expect_exited(w1, 4, "WAIT keep")
        w3 = c.wait_ok(s.job, timeout_ms=-1, keep=False)
        eq(w3, w1, "WAIT without keep")
        expect_err(c.info(s.job).status, errno.ESRCH, "INFO after the dropping WAIT")
        eq(c.wait_ok(s.job, -1), w1, "WAIT after the dropping WAIT (remembered)")
        eq(c.wait_ok(s.job, -1, keep=True), w1, "WAIT keep after drop (remembered)")
        # Two waiters, one keeps and one does not: both answered, record dropped.
        s = c.spawn_ok(["sleep", "0.3"])
        c2 = ProcClient(d)
        try:
            x1 = c.send(WAIT, enc_wait([s.job], -1, True))
            x2 = c2.send(WAIT, enc_wait([s.job], -1, False))
            r1 = c.recv(x1, WAIT, timeout=5)
            r2 = c2.recv(x2, WAIT, timeout=5)
        finally:
            c2.close()
        eq(r1, r2, "two waiters, keep and not")
        expect_exited(r1, 0, "sleep 0.3")
        expect_err(c.info(s.job).status, errno.ESRCH, "record after a non-keeping waiter")


def case_bad_waits():
    """Unknown job -> ESRCH (also among known ones); timeout below -1 -> EINVAL; no job -> EINVAL."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "300"])
        for jobs in ([424242], [0], [(1 << 64) - 1], [s.job, 424242], [424242, s.job]):
            t0 = time.monotonic()
            expect_err(c.wait(jobs, -1).status, errno.ESRCH, "WAIT %r" % jobs)
            check(time.monotonic() - t0 < 1, "WAIT %r was not answered at once" % jobs)
        for t in (-2, -1000, -0x80000000):
            expect_err(c.wait([s.job], t).status, errno.EINVAL, "WAIT timeout %d" % t)
        expect_err(c.wait([], -1).status, errno.EINVAL, "WAIT on no job")
        expect_err(c.wait([], 0).status, errno.EINVAL, "WAIT poll on no job")
        expect_ok(c.kill(s.job, 9).status, "KILL")
        c.wait_ok(s.job, 5000)


def case_closed_waiter():
    """Closing connections with pending WAITs (before the job ends) does not disturb other
    waiters; rpxd keeps serving and a new WAIT on the job works."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "sleep 1; exit 6"])
        t = c.spawn_ok(["sleep", "300"])
        quitters = [ProcClient(d) for _ in range(5)]
        for q in quitters:
            q.send(WAIT, enc_wait([s.job], -1, False))
            q.send(WAIT, enc_wait([t.job, s.job], 5000, False))
            q.send(OUTPUT, enc_output(s.job, follow=True, timeout_ms=-1, stdout_offset=1 << 40))
        stay = ProcClient(d)
        try:
            x = stay.send(WAIT, enc_wait([s.job], -1, True))
            time.sleep(0.2)
            for q in quitters:
                q.close()
            assert_serves(d, what="after closing waiters")
            r = stay.recv(x, WAIT, timeout=10)
            expect_exited(r, 6, "the remaining waiter")
        finally:
            stay.close()
        w = c.wait_ok(s.job, timeout_ms=1000)
        eq(w, r, "new WAIT after the closed ones")
        # Closing a connection whose WAIT already timed out, or whose job ended, is fine too.
        q = ProcClient(d)
        q.send(WAIT, enc_wait([t.job], 50, False))
        time.sleep(0.2)
        q.close()
        expect_ok(c.kill(t.job, 9).status, "KILL")
        c.wait_ok(t.job, 5000)
        assert_serves(d, what="at the end")
        check(d.alive(), "rpxd alive")


if __name__ == "__main__":
    main([case_timeout, case_poll, case_fifty_waiters, case_wait_any, case_already_ended,
          case_keep, case_bad_waits, case_closed_waiter])
