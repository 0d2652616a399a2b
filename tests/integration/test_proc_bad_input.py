"""PROC calls with bad input get clear answers and never break rpxd: empty argv (EINVAL), argv/env/name/stdin/WAIT lists over their XDR bounds (GARBAGE_ARGS, connection still usable), records over --max-record (connection closed), unknown jobs (ESRCH), bad signals, timeouts and scopes (EINVAL), LIST limits clamped and paged; a fresh client is served after each.

Usage: test_proc_bad_input.py [case...]   (unix socket; needs RPXD)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403
from rpxtest import PROC_UNAVAIL, expect_accepted_error  # noqa: E402


def expect_garbage(c, proc, args, what):
    xid, r = c.call_raw(proc, args)
    expect_accepted_error(r, xid, GARBAGE_ARGS, what=what)
    log("%s -> GARBAGE_ARGS" % what)


def case_argv_bounds():
    """0 entries -> EINVAL; 4096 -> runs; 4097 and 100,000 -> GARBAGE_ARGS; the connection
    and rpxd go on."""
    with start_rpxd() as d, ProcClient(d, timeout=20) as c:
        r = c.spawn([])
        expect_err(r.status, errno.EINVAL, "SPAWN with empty argv", "argv")
        s, w, out, err = c.run_output(["sh", "-c", 'echo $#', "sh"] + ["a"] * (ARGV_MAX - 4))
        eq(out, b"%d\n" % (ARGV_MAX - 4), "arguments seen by a job with 4096 argv entries")
        expect_garbage(c, SPAWN, enc_spawn(["true"] * (ARGV_MAX + 1)), "SPAWN with 4097 argv")
        expect_garbage(c, SPAWN, enc_spawn([""] * 100000), "SPAWN with 100,000 argv")
        c.null()
        expect_garbage(c, SPAWN, enc_spawn(["x" * (ARG_MAX + 1)]), "argument of 131073 bytes")
        # 131072 bytes passes XDR; the kernel refuses it (MAX_ARG_STRLEN counts the NUL).
        r = c.spawn(["echo", "x" * ARG_MAX])
        expect_err(r.status, errno.E2BIG, "SPAWN with a 131072-byte argument", "echo: ")
        eq(c.list().entries, [], "jobs after the refused SPAWNs")
        assert_serves(d)


def case_other_bounds():
    """env, name, labels, stdin and WAIT job lists over their bounds -> GARBAGE_ARGS;
    truncated or trailing argument bytes -> GARBAGE_ARGS; unknown procedure -> PROC_UNAVAIL."""
    with start_rpxd(["--max-record", str(4 << 20)]) as d, ProcClient(d, timeout=20) as c:
        expect_garbage(c, SPAWN, enc_spawn(["true"], env_set=["A=1"] * (ENV_MAX + 1)),
                       "4097 env_set entries")
        expect_garbage(c, SPAWN, enc_spawn(["true"], env_unset=["A"] * (ENV_MAX + 1)),
                       "4097 env_unset entries")
        expect_garbage(c, SPAWN, enc_spawn(["true"], name="n" * (NAME_MAX + 1)), "257-byte name")
        expect_garbage(c, SPAWN, enc_spawn(["true"], user="u" * (NAME_MAX + 1)), "257-byte user")
        expect_garbage(c, SPAWN, enc_spawn(["true"], cwd="/" * (PATH_MAX + 1)), "4097-byte cwd")
        expect_garbage(c, SPAWN, enc_spawn(["true"], labels=[("k", "v")] * (LABELS_MAX + 1)),
                       "65 labels")
        expect_garbage(c, SPAWN, enc_spawn(["cat"], stdin=b"x" * (STDIN_MAX + 1)),
                       "stdin of 1 MiB + 1")
        expect_garbage(c, WAIT, enc_wait([1] * (WAIT_JOBS_MAX + 1), 0), "WAIT on 1025 jobs")
        expect_garbage(c, LIST, enc_list(name="n" * (NAME_MAX + 1)), "LIST name of 257 bytes")
        full = enc_spawn(["true"], env_set=["A=1"], name="x")
        for cut in (0, 4, 24, 30, len(full) - 4, len(full) - 1):
            expect_garbage(c, SPAWN, full[:cut], "SPAWN args cut at %d of %d" % (cut, len(full)))
        expect_garbage(c, LIST, enc_list() + b"\0\0\0\0", "LIST args with 4 trailing bytes")
        expect_garbage(c, INFO, b"\0\0\0\0", "INFO with a 4-byte job id")
        expect_garbage(c, KILL, enc_kill(1, 9)[:-4], "KILL args without group")
        xid, r = c.call_raw(99, b"")
        expect_accepted_error(r, xid, PROC_UNAVAIL, what="procedure 99")
        # The biggest legal values pass.
        s = c.spawn_ok(["cat"], stdin=b"y" * STDIN_MAX, name="n" * NAME_MAX,
                       labels=[("k%d" % i, "v" * NAME_MAX) for i in range(LABELS_MAX)])
        i = c.info(s.job)
        eq((i.info.name, len(i.info.labels)), ("n" * NAME_MAX, LABELS_MAX), "INFO name, labels")
        out, err = c.read_all(s.job)
        eq(len(out), STDIN_MAX, "1 MiB of stdin through cat")
        c.wait_ok(s.job, 5000)
        eq(c.list().entries, [], "no job from the refused calls")
        assert_serves(d)


def case_record_over_max():
    """A SPAWN bigger than --max-record (1.5 MB of env): the connection is closed with no
    reply; rpxd keeps serving and no job is made."""
    with start_rpxd() as d:
        args = enc_spawn(["env"], env_set=["V%d=%s" % (i, "v" * 1000) for i in range(1500)])
        check(len(args) > 1 << 20, "the call is over 1 MiB")
        st = Stream("unix", d.sock_path, timeout=10)
        try:
            try:
                st.send(frame(encode_call(new_xid(), SPAWN, args, prog=PROC_PROG, vers=PROC_VERS)))
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed while we were still sending: fine
            try:
                data = st.wait_closed(10)
            except Timeout:
                fail("connection still open 10 s after an oversized record")
            eq(data, b"", "bytes sent before closing an oversized record")
        finally:
            st.close()
        assert_serves(d, what="after an oversized record")
        with ProcClient(d) as c:
            eq(c.list().entries, [], "jobs after the oversized SPAWN")
            # Just under the limit: accepted and run.
            s, w, out, err = c.run_output(["sh", "-c", "env | grep -c '^V'"],
                                          env_set=["V%d=%s" % (i, "v" * 1000) for i in range(900)])
            eq(out, b"900\n", "variables seen by a job with 900 KB of env")


def case_unknown_and_invalid():
    """Unknown job ids -> ESRCH in INFO, KILL, WAIT, OUTPUT; signal 999, negative timeouts,
    bad scope -> EINVAL; each answered at once."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "300"])
        for job in (0, s.job + 1, 1 << 40, (1 << 64) - 1):
            expect_err(c.info(job).status, errno.ESRCH, "INFO job %d" % job)
            expect_err(c.kill(job, 15).status, errno.ESRCH, "KILL job %d" % job)
            expect_err(c.wait([job], -1).status, errno.ESRCH, "WAIT job %d" % job)
            expect_err(c.output(job, follow=True).status, errno.ESRCH, "OUTPUT job %d" % job)
        expect_err(c.kill(s.job, 999).status, errno.EINVAL, "KILL signal 999")
        expect_err(c.wait([s.job], -2).status, errno.EINVAL, "WAIT timeout -2")
        t0 = time.monotonic()
        expect_err(c.output(s.job, follow=True, timeout_ms=-2).status, errno.EINVAL,
                   "OUTPUT timeout -2")
        check(time.monotonic() - t0 < 1, "OUTPUT with a bad timeout was held")
        for scope in (2, 5, -1, 0x7FFFFFFF):
            expect_err(c.list(scope=scope).status, errno.EINVAL, "LIST scope %d" % scope)
        expect_ok(c.kill(s.job, 9).status, "KILL")
        c.wait_ok(s.job, 5000)
        assert_serves(d)


def case_info_too_big_for_udp():
    """INFO of a job whose argv exceeds a datagram, asked over UDP: EMSGSIZE with a clear
    message (not a reply that is never sent); over the Unix socket the same INFO works."""
    with start_rpxd(["--insecure"], transports=("unix", "udp")) as d, ProcClient(d) as c:
        argv = ["sh", "-c", "sleep 30", "x"] + ["a" * 4000] * 20
        s = c.spawn_ok(argv)
        expect_ok(c.info(s.job).status, "INFO over unix")
        eq(len(c.info(s.job).argv), len(argv), "argv entries over unix")
        with ProcClient(d, "udp") as u:
            expect_err(u.info(s.job).status, errno.EMSGSIZE, "INFO over UDP", "UDP datagram")
            small = c.spawn_ok(["sleep", "30"])
            expect_ok(u.info(small.job).status, "INFO of a small job over UDP")
        for j in (s.job, small.job):
            expect_ok(c.kill(j, 9).status, "KILL")
            c.wait_ok(j, 5000)


def case_list_limits_and_paging():
    """LIST limit 0 and 100,000 mean 1000; limit 2 pages jobs 2 by 2 with next_cursor and
    more; filters by name, label and state; LIST ALL pages the host's processes."""
    with start_rpxd() as d, ProcClient(d) as c:
        jobs = []
        for i in range(5):
            jobs.append(c.spawn_ok(["sleep", "300"], name="j%d" % (i % 2),
                                   labels=[("idx", str(i)), ("team", "a" if i < 3 else "b")]).job)
        ended = c.spawn_ok(["true"], name="done")
        c.wait_ok(ended.job, 5000, keep=True)
        for limit in (0, 1000, 100000, 0xFFFFFFFF):
            l = c.list(limit=limit)
            expect_ok(l.status, "LIST limit %d" % limit)
            eq([e.job for e in l.entries], jobs + [ended.job], "LIST limit %d" % limit)
            eq(l.more, False, "LIST limit %d more" % limit)
        seen, cursor, pages = [], 0, 0
        while True:
            l = c.list(limit=2, cursor=cursor)
            expect_ok(l.status, "LIST page")
            check(len(l.entries) <= 2, "page of %d entries with limit 2" % len(l.entries))
            seen += [e.job for e in l.entries]
            pages += 1
            check(pages < 10, "LIST paging does not end")
            if not l.more:
                break
            eq(l.next_cursor, l.entries[-1].job, "next_cursor is the last job of the page")
            cursor = l.next_cursor
        eq(seen, jobs + [ended.job], "jobs over all pages")
        eq([e.job for e in c.list(name="j1").entries], [jobs[1], jobs[3]], "LIST name j1")
        eq([e.job for e in c.list(label=("team", "b")).entries], jobs[3:], "LIST label team=b")
        eq([e.job for e in c.list(label=("idx", "")).entries], jobs, "LIST label idx=any")
        eq([e.job for e in c.list(state_mask=1 << PSTATE_TERMINATED).entries], [ended.job],
           "LIST terminated")
        eq([e.job for e in c.list(state_mask=(1 << PSTATE_RUNNING) | (1 << PSTATE_WAITING)).entries],
           jobs, "LIST running or waiting")
        # LIST ALL: pages by pid, no pid twice, our own pid in it.
        pids, cursor = [], 0
        for _ in range(100):
            l = c.list(scope=LIST_ALL, limit=50, cursor=cursor)
            expect_ok(l.status, "LIST ALL page")
            check(len(l.entries) <= 50, "LIST ALL page of %d" % len(l.entries))
            pids += [e.pid for e in l.entries]
            if not l.more:
                break
            check(l.next_cursor > cursor, "LIST ALL cursor did not advance")
            cursor = l.next_cursor
        eq(len(pids), len(set(pids)), "no pid twice in LIST ALL")
        eq(pids, sorted(pids), "LIST ALL in pid order")
        check(os.getpid() in pids and d.pid in pids, "LIST ALL holds this test and rpxd")
        for j in jobs:
            expect_ok(c.kill(j, 9).status, "KILL")
        assert_serves(d)


if __name__ == "__main__":
    main([case_argv_bounds, case_other_bounds, case_record_over_max, case_unknown_and_invalid,
          case_list_limits_and_paging, case_info_too_big_for_udp])
