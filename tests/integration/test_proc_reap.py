"""rpxd leaves no zombies and leaks no descriptors: after 2,000 spawns of /bin/true over several connections its children have no Z state, its fd count is back to the baseline and no job file remains; orphans of a job's tree are re-parented to rpxd and reaped.

Usage: test_proc_reap.py [case...]   (unix socket; needs RPXD)
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403

SPAWNS = 2000
CONNECTIONS = 4
BATCH = 25


def spawner(d, count, errors, results):
    """Spawn /bin/true `count` times in pipelined batches: SPAWNs, then WAITs."""
    try:
        with ProcClient(d, timeout=30) as c:
            done = 0
            while done < count:
                n = min(BATCH, count - done)
                xids = [c.send(SPAWN, enc_spawn(["/bin/true"])) for _ in range(n)]
                jobs = []
                for x in xids:
                    s = c.recv(x, SPAWN)
                    expect_ok(s.status, "SPAWN /bin/true")
                    jobs.append(s.job)
                xids = [c.send(WAIT, enc_wait([j], 10000, False)) for j in jobs]
                for j, x in zip(jobs, xids):
                    w = c.recv(x, WAIT)
                    expect_ok(w.status, "WAIT /bin/true")
                    eq(w.job, j, "WAIT job")
                    expect_exited(w, 0, "/bin/true")
                    results.append(j)
                done += n
    except Exception as e:  # reported by the main thread
        errors.append("%s: %s" % (type(e).__name__, e))


def zombies_of(pid):
    return [p for p in children_of(pid) if p[1] == "Z"]


def case_many_spawns_no_leak():
    """2,000 spawn+wait of /bin/true over 4 connections: no zombie, fd count at baseline,
    LIST empty, jobs directory empty, every job id distinct."""
    with start_rpxd() as d:
        with ProcClient(d) as c:
            c.run(["/bin/true"])  # warm-up: first-use allocations
        time.sleep(0.2)
        base_fds = fd_count(d.pid)
        base_rss = rss_kib(d.pid)
        errors, results = [], []
        per = SPAWNS // CONNECTIONS
        threads = [threading.Thread(target=spawner, args=(d, per, errors, results))
                   for _ in range(CONNECTIONS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        took = time.monotonic() - t0
        check(not any(t.is_alive() for t in threads), "spawners still running after 90 s")
        eq(errors, [], "spawner errors")
        eq(len(results), per * CONNECTIONS, "jobs spawned and waited")
        eq(len(set(results)), len(results), "distinct job ids")
        log("%d spawn+wait in %.1f s (%.0f/s)" % (len(results), took, len(results) / took))
        time.sleep(0.3)
        eq(zombies_of(d.pid), [], "zombie children of rpxd")
        eq(children_of(d.pid), [], "children of rpxd")
        fds = fd_count(d.pid)
        check(abs(fds - base_fds) <= 2, "rpxd fds: %d before, %d after %d jobs: %r"
              % (base_fds, fds, len(results), sorted(os.listdir("/proc/%d/fd" % d.pid))))
        with ProcClient(d) as c:
            l = c.list()
            expect_ok(l.status, "LIST")
            eq(l.entries, [], "jobs left after all were waited for")
        eq(sorted(os.listdir(os.path.join(d.state_dir, "jobs"))), [], "files left in jobs/")
        log("rpxd RSS %d -> %d KiB" % (base_rss, rss_kib(d.pid)))


def case_unwaited_jobs_reaped():
    """Jobs nobody waits for are still reaped at once (no zombie), their records kept."""
    with start_rpxd() as d, ProcClient(d) as c:
        jobs = [c.spawn_ok(["/bin/true"]).job for _ in range(200)]
        wait_until(lambda: children_of(d.pid) == [], 10,
                   "rpxd children remain: %r" % (children_of(d.pid)[:10],))
        l = c.list(limit=1000)
        eq(sorted(e.job for e in l.entries), sorted(jobs), "records of unwaited jobs")
        check(all(e.state == PSTATE_TERMINATED and e.exit.how == EXIT_EXITED for e in l.entries),
              "all ended and exited")


def case_orphans_reaped():
    """`sh -c 'sleep 0.2 &'`: the sleep is re-parented to rpxd and reaped when it ends."""
    with start_rpxd() as d, ProcClient(d) as c:
        reaped0 = c.stats().orphans_reaped
        orphans = []
        for _ in range(20):
            s, w, out, err = c.run_output(["sh", "-c", "sleep 0.5 >/dev/null 2>&1 & echo $!"])
            expect_exited(w, 0, "sh with a background sleep")
            orphans.append(int(out))
        # While they run: their parent is rpxd (child subreaper).
        for pid in orphans:
            pp = proc_ppid(pid)
            check(pp in (d.pid, None), "orphan %d has parent %r, not rpxd %d" % (pid, pp, d.pid))
        # Shortly after they end: gone, not zombies.
        time.sleep(0.5)
        wait_until(lambda: all(proc_status(p) is None for p in orphans), 3,
                   "orphans not reaped: %r"
                   % [(p, proc_state(p), proc_ppid(p)) for p in orphans if proc_status(p)])
        eq(zombies_of(d.pid), [], "zombie children of rpxd")
        # Orphans of the kind that exit at once as well.
        for _ in range(20):
            c.run(["sh", "-c", "sleep 0.2 &"])
        time.sleep(1.0)
        eq(zombies_of(d.pid), [], "zombie children of rpxd a second after `sleep 0.2 &`")
        eq(children_of(d.pid), [], "children of rpxd")
        st = c.stats()
        eq(st.orphans_reaped - reaped0, 40, "STATS orphans_reaped")
        eq((st.jobs_running, st.jobs_started), (0, 40), "STATS jobs (running, started)")


if __name__ == "__main__":
    main([case_many_spawns_no_leak, case_unwaited_jobs_reaped, case_orphans_reaped])
