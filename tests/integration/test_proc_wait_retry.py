"""A WAIT without keep that collected a job's exit record answers the same again when sent again (same XID, as librpx retransmits over UDP, or a new one, as a client that reconnected): rpxd remembers the answers of the last 256 reaped jobs for 60 s, for their owner (and root) only; then, or once evicted by newer ones, ESRCH. LIST, INFO, OUTPUT and KILL no longer know the job. End to end: `rpx -H udp://... wait JOB` whose first reply is lost still reports the job's exit status.

Usage: test_proc_wait_retry.py [case...]   (needs RPXD; the CLI case RPX; the other-user case root)
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403
from faultproxy import UdpFaultProxy  # noqa: E402
from test_proc_auth import NOBODY, Addr, as_nobody, require_root  # noqa: E402

REAPED_MAX = 256  # RPX_REAPED_MAX in server/jobs.h


def ended_job(c, argv):
    """SPAWN argv and wait (keep) until it has ended: its spawn result."""
    s = c.spawn_ok(argv)
    c.wait_ok(s.job, timeout_ms=10000, keep=True)
    return s


def expect_gone(c, job, what):
    """The job is unknown to INFO, OUTPUT, KILL and absent from LIST."""
    expect_err(c.info(job).status, errno.ESRCH, what + ": INFO")
    expect_err(c.output(job).status, errno.ESRCH, what + ": OUTPUT")
    expect_err(c.kill(job, 0).status, errno.ESRCH, what + ": KILL")
    l = c.list()
    expect_ok(l.status, what + ": LIST")
    check(job not in [e.job for e in l.entries], "%s: LIST still shows job %d" % (what, job))


def resend(c, xid, job, code, what):
    """WAIT [job] sent with this XID: answered with job's exit code."""
    c.send(WAIT, enc_wait([job], 0, False), xid=xid)
    r = c.recv(xid, WAIT, what=what)
    expect_ok(r.status, what)
    eq(r.job, job, what + ": job")
    expect_exited(r, code, what)
    return r


def case_same_answer_again():
    """WAIT (no keep) of an ended job, then the same XID and a new XID, on the Unix socket and
    over UDP: the same answer each time, while INFO/OUTPUT/KILL/LIST no longer know the job."""
    with start_rpxd(["--insecure"], transports=("unix", "udp")) as d, ProcClient(d) as c:
        s = ended_job(c, ["sh", "-c", "exit 5"])
        xid = new_xid()
        first = resend(c, xid, s.job, 5, "first WAIT")
        expect_gone(c, s.job, "after the WAIT")
        eq(resend(c, xid, s.job, 5, "same XID again"), first, "answer to the same XID")
        eq(resend(c, new_xid(), s.job, 5, "new XID"), first, "answer to a new XID")
        with ProcClient(d, "udp") as u:
            eq(resend(u, xid, s.job, 5, "same XID over UDP"), first, "answer over UDP")
        # A WAIT parked before the job ended, answered from the job's end: remembered too.
        s2 = c.spawn_ok(["sh", "-c", "sleep 0.3; exit 6"])
        x2 = c.send(WAIT, enc_wait([s2.job], 10000, False))
        r2 = c.recv(x2, WAIT, timeout=15, what="parked WAIT")
        expect_exited(r2, 6, "parked WAIT")
        eq(resend(c, x2, s2.job, 6, "parked WAIT sent again"), r2, "answer to the parked WAIT")
        # Several jobs, one of them reaped: that one is the answer (it ended).
        run = c.spawn_ok(["sleep", "30"])
        r = c.wait([run.job, s.job], 0)
        expect_ok(r.status, "WAIT [running, reaped]")
        eq((r.job, r.exit), (s.job, first.exit), "WAIT [running, reaped]")
        expect_ok(c.kill(run.job, signal.SIGKILL).status, "KILL sleep")
        c.wait_ok(run.job, 10000)


def case_evicted_after_256():
    """The table holds the last 256 reaped jobs: 255 more keep the answer, the 256th evicts it
    (ESRCH, as before). A job dropped by retention (never waited for) is not remembered."""
    with start_rpxd(["--retain-jobs", "1"]) as d, ProcClient(d) as c:
        s = ended_job(c, ["sh", "-c", "exit 7"])
        first = resend(c, new_xid(), s.job, 7, "first WAIT")
        for i in range(REAPED_MAX - 1):
            c.run(["true"])
        eq(resend(c, new_xid(), s.job, 7, "after 255 more reaped"), first,
           "answer after 255 more")
        c.run(["true"])
        expect_err(c.wait([s.job], 0).status, errno.ESRCH, "WAIT after 256 more reaped")
        expect_err(c.wait([s.job], 0, keep=True).status, errno.ESRCH, "WAIT keep after eviction")
        # --retain-jobs 1: the older of two unwaited records is dropped, not reaped by a WAIT.
        a = ended_job(c, ["sh", "-c", "exit 1"])
        ended_job(c, ["sh", "-c", "exit 2"])
        expect_err(c.wait([a.job], 0).status, errno.ESRCH, "WAIT on a record retention dropped")


def reap_own(sock_path):
    """As nobody: SPAWN `exit 4`, WAIT it twice (no keep): (job, [codes])."""
    with ProcClient(Addr(sock_path), "unix") as c:
        s = ended_job(c, ["sh", "-c", "exit 4"])
        codes = []
        for what in ("nobody's WAIT", "nobody's WAIT again"):
            r = c.wait([s.job], 0)
            expect_ok(r.status, what)
            codes.append(r.exit.code)
        return s.job, codes


def wait_status(sock_path, job):
    """As nobody: the WAIT status of job (an errno)."""
    with ProcClient(Addr(sock_path), "unix") as c:
        r = c.wait([job], 0)
        return r.status.error


def case_other_user():
    """A reaped job's exit is only for its owner and root: nobody gets ESRCH for root's,
    and gets its own again; root gets nobody's; a network caller gets neither."""
    require_root()
    with start_rpxd(["--socket-group", "nogroup"], transports=("unix", "udp")) as d, \
            ProcClient(d) as root:
        os.chmod(d.tmp, 0o755)
        s = ended_job(root, ["sh", "-c", "exit 3"])
        resend(root, new_xid(), s.job, 3, "root's WAIT")
        resend(root, new_xid(), s.job, 3, "root's WAIT again")
        eq(as_nobody(wait_status, d.sock_path, s.job), errno.ESRCH,
           "nobody's WAIT on root's reaped job")
        njob, codes = as_nobody(reap_own, d.sock_path)
        eq(codes, [4, 4], "nobody's own reaped job, waited twice")
        resend(root, new_xid(), njob, 4, "root's WAIT on nobody's reaped job")
        with ProcClient(d, "udp") as u:
            for job in (s.job, njob):
                expect_err(u.wait([job], 0).status, errno.ESRCH,
                           "network WAIT on reaped job %d" % job)
        check(NOBODY != 0, "nobody is not root")


class DropFirstReply(UdpFaultProxy):
    """Forwards every datagram but the first reply (rpxd to client)."""

    def __init__(self, upstream):
        super().__init__(upstream)
        self.dropped = 0

    def _fault(self, direction, data, send):
        self.stats[direction + "_in"] += 1
        if direction == "down" and self.dropped == 0:
            self.dropped += 1
            self.stats["down_lost"] += 1
            return
        send(data)


def case_cli_udp_first_reply_lost():
    """`rpx -H udp://PROXY wait JOB`, the first reply lost: the retransmission gets the job's
    exit status (5), not "no such job"."""
    rpx = os.environ.get("RPX")
    if not rpx or not os.access(rpx, os.X_OK):
        raise Skip("$RPX is not an executable")
    with start_rpxd(["--insecure"], transports=("unix", "udp")) as d, ProcClient(d, "udp") as c:
        s = ended_job(c, ["sh", "-c", "exit 5"])
        with DropFirstReply(d.rpc_addr("udp")) as px:
            p = subprocess.run([rpx, "--timeout", "5000", "--retry", "100", "-H",
                                "udp://127.0.0.1:%d" % px.addr[1], "wait", str(s.job)],
                               capture_output=True, timeout=30)
            eq(px.dropped, 1, "replies dropped by the proxy")
            check(px.stats["up_in"] >= 2, "rpx did not resend: %r" % px.stats)
        eq((p.returncode, p.stderr), (5, b""), "rpx wait through a lost reply (status, stderr)")
        expect_err(c.info(s.job).status, errno.ESRCH, "INFO after rpx wait")


if __name__ == "__main__":
    main([case_same_answer_again, case_evicted_after_256, case_other_user,
          case_cli_udp_first_reply_lost])
