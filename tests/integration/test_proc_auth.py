"""PROC authorization: SPAWN and KILL over TCP and UDP are denied with AUTH_ERROR/AUTH_TOOWEAK unless rpxd runs with --insecure, while LIST, INFO, WAIT and OUTPUT are served; on the Unix socket the caller is its SO_PEERCRED uid: a non-root caller's jobs run as that uid, it sees only its own jobs, and root sees all.

Usage: test_proc_auth.py [case...]   (needs RPXD; the non-root cases need root, else skip)
"""

import json
import os
import pwd
import signal
import socket
import stat
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403

NOBODY = 65534


def expect_tooweak(c, proc, args, what):
    xid, r = c.call_raw(proc, args)
    expect_denied(r, xid, AUTH_ERROR, auth_stat=AUTH_TOOWEAK, what=what)


def list_all_find(c, pid, what):
    """Page LIST ALL until pid shows up; returns its entry."""
    cursor = 0
    for _ in range(200):
        l = c.list(scope=LIST_ALL, cursor=cursor)
        expect_ok(l.status, what + " LIST ALL")
        for e in l.entries:
            if e.pid == pid:
                return e
        if not l.more:
            break
        check(l.next_cursor > cursor, "%s: LIST ALL cursor did not advance" % what)
        cursor = l.next_cursor
    fail("%s: pid %d not found in LIST ALL" % (what, pid))


def case_network_mutations_refused():
    """Without --insecure: SPAWN and KILL over TCP/UDP -> AUTH_TOOWEAK, no job made, no
    signal sent; LIST/INFO/WAIT/OUTPUT are accepted (a network caller sees no job)."""
    with start_rpxd(transports=("tcp", "udp", "unix")) as d, ProcClient(d, "unix") as u:
        mode = os.stat(d.sock_path).st_mode
        eq(stat.S_IMODE(mode), 0o600, "default mode of the unix socket")
        root = u.spawn_ok(["sleep", "300"])
        for transport in ("tcp", "udp"):
            with ProcClient(d, transport) as c:
                c.null()
                for argv in (["touch", "/tmp/rpxtest-should-not-exist"], []):
                    expect_tooweak(c, SPAWN, enc_spawn(argv), "SPAWN %r over %s" % (argv, transport))
                for job, sig in ((root.job, 9), (root.job, 0), (12345, 9), (root.job, 999)):
                    for group in (False, True):
                        expect_tooweak(c, KILL, enc_kill(job, sig, group),
                                       "KILL %d/%d over %s" % (job, sig, transport))
                # Reads are served: this caller has no identity and owns no job.
                l = c.list()
                expect_ok(l.status, "LIST JOBS over " + transport)
                eq(l.entries, [], "jobs a network caller sees")
                e = list_all_find(c, d.pid, transport)
                eq((e.job, e.uid), (0, 0), "rpxd in LIST ALL (job, uid)")
                e = list_all_find(c, root.pid, transport)
                eq(e.pid, root.pid, "root's job in LIST ALL")
                expect_err(c.info(root.job).status, errno.ESRCH, "INFO over " + transport)
                expect_err(c.wait([root.job], 0).status, errno.ESRCH, "WAIT over " + transport)
                expect_err(c.output(root.job).status, errno.ESRCH, "OUTPUT over " + transport)
        check(not os.path.exists("/tmp/rpxtest-should-not-exist"), "a refused SPAWN ran")
        eq([e.job for e in u.list().entries], [root.job], "jobs after the refused calls")
        check(proc_state(root.pid) in ("S", "R"), "root's job survived the refused KILLs")
        expect_ok(u.kill(root.job, 9).status, "KILL over unix")
        u.wait_ok(root.job, 5000)


def case_insecure_allows():
    """With --insecure: SPAWN, KILL, WAIT and OUTPUT work over TCP and UDP, as rpxd's user."""
    with start_rpxd(["--insecure"], transports=("tcp", "udp", "unix")) as d:
        for transport in ("tcp", "udp"):
            with ProcClient(d, transport) as c:
                s, w, out, err = c.run_output(["sh", "-c", "id -u; echo via-%s" % transport])
                expect_exited(w, 0, "job over " + transport)
                eq(out.decode(), "%d\nvia-%s\n" % (os.geteuid(), transport), "output over " + transport)
                s = c.spawn_ok(["sleep", "300"])
                i = c.info(s.job)
                eq(i.info.uid, os.geteuid(), "job uid over " + transport)
                x = c.send(WAIT, enc_wait([s.job], 10000, False))
                time.sleep(0.1)
                with ProcClient(d, transport) as k:
                    expect_ok(k.kill(s.job, signal.SIGTERM, group=True).status,
                              "KILL over " + transport)
                w = c.recv(x, WAIT, timeout=10)
                expect_ok(w.status, "held WAIT over " + transport)
                eq((w.exit.how, w.exit.signal), (EXIT_SIGNALED, signal.SIGTERM),
                   "exit over " + transport)
        # OUTPUT over UDP fits a datagram and still reads everything.
        with ProcClient(d, "udp") as c:
            s = c.spawn_ok(["sh", "-c", "head -c 100000 /dev/zero; head -c 70000 /dev/zero >&2"])
            c.wait_ok(s.job, 5000, keep=True)
            r = c.output(s.job)
            check(0 < len(r.out.data) + len(r.err.data) <= 48 * 1024,
                  "OUTPUT over UDP: %d + %d bytes" % (len(r.out.data), len(r.err.data)))
            out, err = c.read_all(s.job)
            eq((out, err), (b"\0" * 100000, b"\0" * 70000), "all output read over UDP")
            c.wait_ok(s.job, 0)
        # A unix (root) caller and an insecure network caller are the same user.
        with ProcClient(d, "unix") as u, ProcClient(d, "tcp") as t:
            s = u.spawn_ok(["sleep", "300"])
            eq([e.job for e in t.list().entries], [s.job], "tcp caller sees the unix job")
            expect_ok(t.kill(s.job, 9).status, "KILL of the unix job over tcp")
            t.wait_ok(s.job, 5000)


# ---- non-root caller --------------------------------------------------------------


def as_nobody(fn, *args):
    """Run fn(*args) in a child process with uid/gid 65534; returns its JSON result
    or fails with the child's traceback."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = {"ok": True, "result": fn(*args)}
            code = 0
        except BaseException:
            out = {"ok": False, "error": traceback.format_exc()}
        try:
            os.write(w, json.dumps(out).encode())
        finally:
            os._exit(code)
    os.close(w)
    data = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        b = os.read(r, 65536)
        if not b:
            break
        data += b
    os.close(r)
    _, status = os.waitpid(pid, 0)
    check(data, "nobody child wrote nothing (status %#x)" % status)
    out = json.loads(data)
    if not out["ok"]:
        fail("as uid %d:\n%s" % (NOBODY, out["error"]))
    return out["result"]


class Addr:
    """Just enough of an Rpxd for ProcClient in the child."""

    def __init__(self, path):
        self.path = path

    def rpc_addr(self, transport):
        return self.path


def nobody_session(sock_path, root_job, root_pid):
    d = Addr(sock_path)
    with ProcClient(d, "unix") as c:
        s = c.spawn_ok(["sh", "-c", "id -u; id -g; exec sleep 300"], name="nobody-job")
        got = b""
        deadline = time.monotonic() + 5
        while got.count(b"\n") < 2 and time.monotonic() < deadline:
            r = c.output(s.job, stdout_offset=len(got), streams=STREAM_OUT, follow=True,
                         timeout_ms=2000)
            expect_ok(r.status, "OUTPUT of own job")
            got += r.out.data
        eq(got, b"65534\n65534\n", "id -u; id -g of the nobody job")
        l = c.list()
        expect_ok(l.status, "LIST as nobody")
        eq([e.job for e in l.entries], [s.job], "jobs nobody sees")
        eq(l.entries[0].uid, NOBODY, "uid in LIST")
        expect_err(c.info(root_job).status, errno.ESRCH, "INFO of root's job as nobody")
        for sig, group in ((0, False), (9, False), (9, True)):
            expect_err(c.kill(root_job, sig, group).status, errno.ESRCH,
                       "KILL %d group %r of root's job as nobody" % (sig, group))
        expect_err(c.wait([root_job], 0).status, errno.ESRCH, "WAIT on root's job as nobody")
        expect_err(c.wait([s.job, root_job], 0).status, errno.ESRCH,
                   "WAIT on own and root's job as nobody")
        expect_err(c.output(root_job).status, errno.ESRCH, "OUTPUT of root's job as nobody")
        expect_err(c.spawn(["true"], user="root").status, errno.EPERM,
                   "SPAWN as user root by nobody")
        # Naming oneself is allowed.
        s2, w2, out2, _ = c.run_output(["id", "-u"], user="nobody")
        eq(out2, b"65534\n", "SPAWN user=nobody by nobody")
        return {"job": s.job, "pid": s.pid}


def require_root():
    if not is_root():
        raise Skip("needs root to switch to uid %d" % NOBODY)
    try:
        pwd.getpwuid(NOBODY)
    except KeyError:
        raise Skip("no passwd entry for uid %d" % NOBODY)


def case_nonroot_unix_caller():
    """--socket-group nogroup: socket 0660 root:nogroup; uid 65534's job runs as 65534; it
    sees only its own jobs (ESRCH for root's); root sees and signals the nobody job."""
    require_root()
    with start_rpxd(["--socket-group", "nogroup"]) as d, ProcClient(d) as root:
        os.chmod(d.tmp, 0o755)
        st = os.stat(d.sock_path)
        eq((stat.S_IMODE(st.st_mode), st.st_gid), (0o660, NOBODY), "socket mode and group")
        r = root.spawn_ok(["sleep", "300"], name="root-job")
        res = as_nobody(nobody_session, d.sock_path, r.job, r.pid)
        njob, npid = res["job"], res["pid"]
        status = proc_status(npid)
        check(status is not None, "nobody job %d not running" % npid)
        eq(status["Uid"].split(), [str(NOBODY)] * 4, "Uid of the nobody job (/proc)")
        eq(status["Gid"].split(), [str(NOBODY)] * 4, "Gid of the nobody job (/proc)")
        eq(status["Groups"].split(), [str(NOBODY)], "groups of the nobody job (/proc)")
        # The nobody client is gone; its job runs on. Root sees both.
        jobs = {e.job: e for e in root.list().entries}
        eq(sorted(jobs), sorted([r.job, njob]), "jobs root sees")
        eq((jobs[njob].uid, jobs[r.job].uid), (NOBODY, 0), "uids in LIST")
        i = root.info(njob)
        expect_ok(i.status, "INFO of the nobody job by root")
        eq((i.info.uid, i.user, i.info.pid), (NOBODY, "nobody", npid), "INFO (uid, user, pid)")
        expect_ok(root.kill(njob, signal.SIGTERM).status, "root KILLs the nobody job")
        w = root.wait_ok(njob, 5000)
        eq(w.exit.signal, signal.SIGTERM, "nobody job's end")
        expect_ok(root.kill(r.job, 9).status, "KILL root job")
        root.wait_ok(r.job, 5000)


def case_default_socket_refuses_others():
    """Without --socket-group the socket is 0600: uid 65534 cannot connect at all.
    Root may start a job as another user."""
    require_root()
    with start_rpxd() as d, ProcClient(d) as root:
        os.chmod(d.tmp, 0o755)

        def try_connect(path):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                return "connected"
            except PermissionError:
                return "EACCES"
            finally:
                s.close()
        eq(as_nobody(try_connect, d.sock_path), "EACCES", "nobody connecting to a 0600 socket")
        s, w, out, err = root.run_output(["sh", "-c", "id -u; id -g; echo $HOME $USER"],
                                         user="nobody")
        eq(out.decode().split("\n")[:2], ["65534", "65534"], "job run as user nobody")
        eq(out.decode().split("\n")[2], "%s nobody" % pwd.getpwnam("nobody").pw_dir,
           "HOME and USER of a job run as nobody")


if __name__ == "__main__":
    main([case_network_mutations_refused, case_insecure_allows, case_nonroot_unix_caller,
          case_default_socket_refuses_others])
