"""PROC SPAWN and KILL run at most once per request ID: a retransmission (same connection or a new one) gets the recorded reply and starts nothing; a new sequence number runs; acknowledged requests are refused with ESTALE; calls without an ID are matched by XID and arguments; and a recorded reply is never handed to a different caller (another uid, or an unauthenticated TCP caller).

Usage: test_proc_reqid.py [case...]   (needs RPXD; the other-uid case needs root)
"""

import os
import random
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403
from test_proc_auth import NOBODY, as_nobody, require_root  # noqa: E402


def client_id():
    return random.getrandbits(64) | 1


def spawn_rid(c, argv, rid, xid=None):
    x = c.send(SPAWN, enc_spawn(argv, reqid=rid), xid=xid)
    raw = c.recv_raw(x)
    return dec_spawn(expect_success(raw, x, "SPAWN %r" % (rid,))), raw


def case_retransmission_replayed():
    """Same request ID twice (same connection, then a new one): one job, identical reply."""
    with start_rpxd() as d, ProcClient(d) as c:
        cid = client_id()
        r1, raw1 = spawn_rid(c, ["sleep", "300"], (cid, 1, 1))
        expect_ok(r1.status, "first SPAWN")
        r2, raw2 = spawn_rid(c, ["sleep", "300"], (cid, 1, 1))
        eq(r2, r1, "retransmitted SPAWN result")
        eq(raw2.raw[4:], raw1.raw[4:], "retransmitted SPAWN reply bytes after the XID")
        with ProcClient(d) as c2:
            r3, _ = spawn_rid(c2, ["sleep", "300"], (cid, 1, 1))
            eq(r3, r1, "SPAWN retransmitted on a new connection")
        eq([e.job for e in c.list().entries], [r1.job], "jobs after 3 sends of one request")
        r4, _ = spawn_rid(c, ["sleep", "300"], (cid, 2, 1))
        expect_ok(r4.status, "SPAWN seq 2")
        check(r4.job != r1.job, "seq 2 made a new job")
        # KILL is recorded the same way: the second send does not signal again.
        x = c.send(KILL, enc_kill(r1.job, signal.SIGTERM, reqid=(cid, 3, 1)))
        expect_ok(c.recv(x, KILL).status, "KILL seq 3")
        c.wait_ok(r1.job, 5000)
        x = c.send(KILL, enc_kill(r1.job, signal.SIGTERM, reqid=(cid, 3, 1)))
        expect_ok(c.recv(x, KILL).status, "KILL seq 3 again (recorded success, not ESRCH)")
        # Acknowledged: requests below 4 are complete; seq 1 is then refused, not run.
        r5, _ = spawn_rid(c, ["true"], (cid, 4, 4))
        expect_ok(r5.status, "SPAWN seq 4 acked 4")
        r6, _ = spawn_rid(c, ["sleep", "300"], (cid, 1, 4))
        expect_err(r6.status, errno.ESTALE, "SPAWN seq 1 after acked 4", "not run")
        eq(sorted(e.job for e in c.list().entries), sorted([r4.job, r5.job]),
           "jobs after the refused old request")
        expect_ok(c.kill(r4.job, 9).status, "KILL")
        c.wait_ok(r4.job, 5000)


def case_no_reqid_by_xid():
    """No request ID: the same XID and arguments again are replayed; another XID runs."""
    with start_rpxd() as d, ProcClient(d) as c:
        xid = new_xid()
        r1, _ = spawn_rid(c, ["sleep", "300"], NO_REQID, xid=xid)
        r2, _ = spawn_rid(c, ["sleep", "300"], NO_REQID, xid=xid)
        eq(r2, r1, "same XID, same arguments")
        r3, _ = spawn_rid(c, ["sleep", "300"], NO_REQID)
        check(r3.job != r1.job, "new XID made a new job")
        eq(len(c.list().entries), 2, "jobs")
        for j in (r1.job, r3.job):
            expect_ok(c.kill(j, 9).status, "KILL")


def case_tcp_caller_gets_no_recorded_reply():
    """An unauthenticated TCP caller reusing a unix caller's request ID is still denied
    (AUTH_TOOWEAK), not handed the recorded SPAWN reply."""
    with start_rpxd(transports=("unix", "tcp")) as d, ProcClient(d) as u:
        cid = client_id()
        r1, _ = spawn_rid(u, ["sleep", "300"], (cid, 1, 1))
        expect_ok(r1.status, "unix SPAWN")
        with ProcClient(d, "tcp") as t:
            xid, r = t.call_raw(SPAWN, enc_spawn(["sleep", "300"], reqid=(cid, 1, 1)))
            if r.reply_stat == MSG_ACCEPTED and r.accept_stat == SUCCESS:
                got = dec_spawn(r.results)
                fail("TCP caller without identity got the unix caller's recorded SPAWN reply "
                     "(job %d, pid %d) instead of AUTH_TOOWEAK" % (got.job, got.pid))
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_TOOWEAK, what="TCP SPAWN replay")
            xid, r = t.call_raw(KILL, enc_kill(r1.job, 9, reqid=(cid, 2, 1)))
            expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_TOOWEAK, what="TCP KILL")
        expect_ok(u.kill(r1.job, 9).status, "KILL")
        u.wait_ok(r1.job, 5000)


DRC_CLIENTS_DEFAULT = 16384


def case_unauthenticated_cannot_fill_cache():
    """16,500 denied TCP SPAWNs with distinct client IDs (no identity, AUTH_TOOWEAK) leave
    the request cache usable: a unix caller's SPAWN with a new client ID still runs."""
    with start_rpxd(["--log-level", "error"], transports=("unix", "tcp")) as d, \
            ProcClient(d) as u, ProcClient(d, "tcp", timeout=30) as t:
        n, batch = DRC_CLIENTS_DEFAULT + 116, 50
        not_denied = []
        for start in range(0, n, batch):
            xids = [t.send(SPAWN, enc_spawn(["true"], reqid=(client_id(), 1, 1)))
                    for _ in range(batch)]
            for x in xids:
                r = t.recv_raw(x)
                if not (r.reply_stat == MSG_DENIED and r.auth_stat == AUTH_TOOWEAK):
                    not_denied.append(r)
        st = u.stats()
        log("after %d denied SPAWNs: drc_clients %d, drc_entries %d, drc_full %d"
            % (n, st.drc_clients, st.drc_entries, st.drc_full))
        r, _ = spawn_rid(u, ["true"], (client_id(), 1, 1))
        problems = []
        if not_denied:
            problems.append("%d of %d TCP SPAWNs were not denied AUTH_TOOWEAK (first: %s)"
                            % (len(not_denied), n, not_denied[0].results[:120]))
        if r.status.error != 0:
            problems.append("then the unix caller's SPAWN was refused: error %d %r"
                            % (r.status.error, r.status.message))
        if problems:
            fail("; ".join(problems))
        u.wait_ok(r.job, 5000)


def nobody_spawn(sock_path, cid):
    class Addr:
        def rpc_addr(self, transport):
            return sock_path
    with ProcClient(Addr(), "unix") as c:
        r, _ = spawn_rid(c, ["sleep", "300"], (cid, 1, 1))
        return {"error": r.status.error, "message": r.status.message, "job": r.job, "pid": r.pid}


def case_other_uid_gets_no_recorded_reply():
    """uid 65534 reusing root's request ID does not get root's recorded reply (root's job)."""
    require_root()
    with start_rpxd(["--socket-group", "nogroup"]) as d, ProcClient(d) as root:
        os.chmod(d.tmp, 0o755)
        cid = client_id()
        r1, _ = spawn_rid(root, ["sleep", "300"], (cid, 1, 1))
        expect_ok(r1.status, "root SPAWN")
        got = as_nobody(nobody_spawn, d.sock_path, cid)
        try:
            check(got["job"] != r1.job or got["error"] != 0,
                  "uid %d got root's recorded SPAWN reply (job %d, pid %d) for the same "
                  "request ID" % (NOBODY, r1.job, r1.pid))
        finally:
            for e in root.list().entries:
                root.kill(e.job, 9)


if __name__ == "__main__":
    main([case_retransmission_replayed, case_no_reqid_by_xid,
          case_tcp_caller_gets_no_recorded_reply, case_other_uid_gets_no_recorded_reply,
          case_unauthenticated_cannot_fill_cache])
