"""rpxd restarted on the same state and runtime directories knows the jobs of the one before: a job left running (--on-stop leave) is adopted and its output goes on through the FIFO that outlived rpxd; a kept exit record is still there; job ids are not reused; a torn last record of the job log is ignored; the log stays small however many jobs come and go.

Usage: test_proc_restart.py [case...]   (unix socket; needs RPXD)
"""

import os
import shutil
import signal
import stat
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403


class Dirs:
    """A state and a runtime directory shared by the rpxd started one after the other."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="rpxtest-restart-")
        self.state = os.path.join(self.tmp, "state")
        self.run = os.path.join(self.tmp, "run")
        self.sock = os.path.join(self.tmp, "rpxd.sock")
        os.mkdir(self.state)

    def rpxd(self, *extra):
        return start_rpxd(["--state-dir", self.state, "--runtime-dir", self.run] + list(extra),
                          listen=["unix:" + self.sock])

    def fifos(self):
        """Names of the FIFOs in the runtime directory's job folders."""
        names = []
        for d in os.listdir(self.run) if os.path.isdir(self.run) else []:
            for f in os.listdir(os.path.join(self.run, d)):
                check(stat.S_ISFIFO(os.stat(os.path.join(self.run, d, f)).st_mode),
                      "%s/%s is not a FIFO" % (d, f))
                names.append(f)
        return sorted(names)

    def close(self):
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_until(c, job, want, deadline_s=10.0):
    """Follows stdout from 0 until it holds @want."""
    got = b""
    deadline = time.monotonic() + deadline_s
    while want not in got:
        check(time.monotonic() < deadline, "job %d: stdout %r, waiting for %r" % (job, got, want))
        r = c.output(job, stdout_offset=len(got), streams=STREAM_OUT, follow=True,
                     timeout_ms=1000)
        expect_ok(r.status, "OUTPUT")
        got += r.out.data
    return got


def kept(c, code):
    """A job that exits with @code, waited for with its record kept: its id."""
    s = c.spawn_ok(["sh", "-c", "exit %d" % code])
    expect_exited(c.wait_ok(s.job, 5000, keep=True), code, "job %d" % s.job)
    return s.job


def case_adopt_output():
    """A job left running is adopted by the next rpxd, and what it prints after the restart
    comes through; a kept exit record survives, a collected one does not; ids go on."""
    dirs = Dirs()
    pid = None
    try:
        go = os.path.join(dirs.tmp, "go")
        script = ("echo before; echo err-before >&2; while [ ! -e %s ]; do sleep 0.05; done; "
                  "echo after; echo err-after >&2" % go)
        with dirs.rpxd("--on-stop", "leave") as d, ProcClient(d) as c:
            a = c.spawn_ok([script], shell=True)
            pid = a.pid
            b = kept(c, 7)
            gone_job = c.spawn_ok(["true"]).job
            c.wait_ok(gone_job, 5000)
            read_until(c, a.job, b"before\n")
            # Besides A's: the next job's, made ahead, and spares (of ended jobs).
            fifos = dirs.fifos()
            check("%d.out.fifo" % a.job in fifos and "%d.err.fifo" % a.job in fifos,
                  "FIFOs of the running job: %r" % fifos)
        eq(proc_state(pid) in ("S", "R"), True, "job A after rpxd left (state %r)"
           % proc_state(pid))
        eq(sorted(f for f in os.listdir(os.path.join(dirs.state, "jobs"))
                  if not f.endswith((".out", ".err"))), [], "other files in STATE/jobs")
        check(os.path.getsize(os.path.join(dirs.state, "jobs.log")) > 0, "jobs.log is empty")
        eq(dirs.fifos(), ["%d.err.fifo" % a.job, "%d.out.fifo" % a.job],
           "FIFOs after rpxd left")

        with dirs.rpxd() as d, ProcClient(d) as c:
            l = c.list()
            expect_ok(l.status, "LIST")
            eq(sorted((e.job, e.state) for e in l.entries),
               [(a.job, PSTATE_WAITING), (b, PSTATE_TERMINATED)],
               "jobs (id, state) after the restart")
            with open(go, "w"):
                pass
            out, err = c.read_all(a.job)
            eq(out, b"before\nafter\n", "stdout across the restart")
            eq(err, b"err-before\nerr-after\n", "stderr across the restart")
            w = c.wait_ok(a.job, 5000)
            eq(w.exit.how, EXIT_UNKNOWN, "exit of an adopted job (not rpxd's child)")
            pid = None
            expect_exited(c.wait_ok(b, 0), 7, "job B after the restart")
            expect_err(c.info(gone_job).status, errno.ESRCH, "INFO of a collected job")
            n = c.spawn_ok(["true"])
            check(n.job > gone_job, "new job id %d after %d" % (n.job, gone_job))
            c.wait_ok(n.job, 5000)
            fifos = dirs.fifos()
            check("%d.out.fifo" % a.job not in fifos and "%d.err.fifo" % a.job not in fifos,
                  "FIFOs of the adopted job after its end: %r" % fifos)
        eq(os.listdir(dirs.run), [], "runtime dir after the last rpxd stopped")
    finally:
        if pid is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        dirs.close()


def case_torn_record():
    """Half a record at the end of the job log (rpxd died mid-write) is cut off: the records
    before it count, and new ones follow them."""
    dirs = Dirs()
    try:
        with dirs.rpxd() as d, ProcClient(d) as c:
            a = kept(c, 3)
        log_path = os.path.join(dirs.state, "jobs.log")
        size = os.path.getsize(log_path)
        # A record header (magic "RPXD", type SAVE, job 99, 100 bytes) and 4 of its bytes.
        with open(log_path, "ab") as f:
            f.write(struct.pack("<IIQQII", 0x52505844, 0x4a53, 99, 0, 100, 0) + b"torn")
        with dirs.rpxd() as d, ProcClient(d) as c:
            expect_exited(c.wait_ok(a, 0, keep=True), 3, "kept record before the torn one")
            expect_err(c.info(99).status, errno.ESRCH, "INFO of the job of the torn record")
            b = kept(c, 4)
        with dirs.rpxd() as d, ProcClient(d) as c:
            expect_exited(c.wait_ok(a, 0), 3, "job A after two restarts")
            expect_exited(c.wait_ok(b, 0), 4, "job B, saved after the torn record")
        check(os.path.getsize(log_path) <= size + 1024, "jobs.log grew to %d bytes (from %d)"
              % (os.path.getsize(log_path), size))
    finally:
        dirs.close()


def case_log_stays_small():
    """3,000 jobs started and waited for: the job log is rewritten as it goes, and holds
    (almost) nothing once they are collected; a few FIFOs are left for the next jobs."""
    dirs = Dirs()
    try:
        with dirs.rpxd() as d, ProcClient(d) as c:
            keep = kept(c, 5)
            log_path = os.path.join(dirs.state, "jobs.log")
            biggest = 0
            for i in range(3000):
                # Half of them with FIFOs: those of ended jobs are reused, a few kept.
                if i % 2:
                    c.run(["true"])
                else:
                    c.run(["true"], stdout_mode=STDIO_DISCARD, stderr_mode=STDIO_DISCARD)
                if i % 100 == 0:
                    biggest = max(biggest, os.path.getsize(log_path))
            log("jobs.log: at most %d bytes seen, %d at the end"
                % (biggest, os.path.getsize(log_path)))
            # 3,000 jobs write about 800 KB of records; rewrites start past 256 KiB.
            check(biggest <= 320 * 1024, "jobs.log reached %d bytes" % biggest)
            check(len(dirs.fifos()) <= 2 + 2 * 4, "FIFOs left: %r" % dirs.fifos())
        with dirs.rpxd() as d, ProcClient(d) as c:
            expect_exited(c.wait_ok(keep, 0), 5, "the one kept record, after the rewrites")
            eq(c.list().entries, [], "jobs after the kept record was collected")
    finally:
        dirs.close()


if __name__ == "__main__":
    main([case_adopt_output, case_torn_record, case_log_stays_small])
