"""PROC SPAWN applies what it is given: stdin bytes (also 200 KB, more than a pipe holds), environment (inherit, set, unset, clear), cwd, shell and stdio modes; and a bad program, cwd, argv or option is refused with a clear error and no job.

Usage: test_proc_spawn_io.py [case...]   (unix socket; needs RPXD)
"""

import os
import shutil
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403


def case_stdin_small():
    """Binary stdin with NUL bytes comes out of cat unchanged."""
    data = b"hello\0world\n\xff\x00\x01 no newline"
    with start_rpxd() as d, ProcClient(d) as c:
        s, w, out, err = c.run_output(["cat"], stdin=data)
        expect_exited(w, 0, "cat")
        eq(out, data, "cat output")
        eq(err, b"", "cat stderr")


def case_stdin_large():
    """200,000 random bytes (over the 64 KiB pipe buffer) reach the job whole, in order."""
    data = os.urandom(200000)
    with start_rpxd() as d, ProcClient(d) as c:
        s, w, out, err = c.run_output(["cat"], stdin=data)
        expect_exited(w, 0, "cat")
        eq(len(out), len(data), "cat output length")
        if out != data:
            fail("cat output differs from stdin (first difference at %d)"
                 % next(i for i in range(len(data)) if out[i] != data[i]))
        # A reader that stops early does not upset rpxd (EPIPE on the stdin pipe).
        s, w, out, err = c.run_output(["head", "-c", "10"], stdin=data)
        expect_exited(w, 0, "head -c 10")
        eq(out, data[:10], "head -c 10 output")
        # The biggest stdin proc.x allows (1 MiB) with a record limit to match.
    with start_rpxd(["--max-record", str(2 << 20)]) as d, ProcClient(d) as c:
        big = os.urandom(STDIN_MAX)
        s, w, out, err = c.run_output(["sha256sum"], stdin=big)
        import hashlib
        eq(out.split()[0].decode(), hashlib.sha256(big).hexdigest(), "sha256 of 1 MiB stdin")


def case_stdin_empty_is_devnull():
    """No stdin: the job's fd 0 is /dev/null, so cat ends at once."""
    with start_rpxd() as d, ProcClient(d) as c:
        s, w, out, err = c.run_output(["sh", "-c", "readlink /proc/self/fd/0; cat"], wait_s=10)
        expect_exited(w, 0, "cat with no stdin")
        eq(out, b"/dev/null\n", "stdin of a job given none")


def env_lines(out):
    return [l for l in out.decode().split("\n") if l]


def case_env_inherit_set_unset():
    """Inherit mode: rpxd's environment, minus env_unset, plus env_set (which overrides)."""
    env = {"RPXTEST_KEEP_ME": "kept", "RPXTEST_REMOVE_ME": "x", "RPXTEST_OVERRIDE": "old"}
    with start_rpxd(env=env) as d, ProcClient(d) as c:
        s, w, out, err = c.run_output(
            ["env"], env_set=["RPXTEST_NEW=a=b c", "RPXTEST_OVERRIDE=new"],
            env_unset=["RPXTEST_REMOVE_ME", "RPXTEST_NOT_THERE"])
        expect_exited(w, 0, "env")
        lines = env_lines(out)
        check("RPXTEST_KEEP_ME=kept" in lines, "inherited variable missing: %r" % lines)
        check("RPXTEST_NEW=a=b c" in lines, "set variable missing: %r" % lines)
        check("RPXTEST_OVERRIDE=new" in lines and "RPXTEST_OVERRIDE=old" not in lines,
              "override not applied: %r" % lines)
        check(not any(l.startswith("RPXTEST_REMOVE_ME=") for l in lines),
              "unset variable still there: %r" % lines)
        names = [l.split("=", 1)[0] for l in lines]
        eq(len(names), len(set(names)), "no variable twice in %r" % lines)
        check(any(l.startswith("PATH=") for l in lines), "PATH inherited: %r" % lines)


def case_env_clear():
    """Clear mode: exactly the entries set (the program is still found without PATH)."""
    with start_rpxd(env={"RPXTEST_KEEP_ME": "kept"}) as d, ProcClient(d) as c:
        s, w, out, err = c.run_output(["env"], env_mode=ENV_CLEAR, env_set=["A=1", "B=two words"])
        expect_exited(w, 0, "env (clear)")
        eq(sorted(env_lines(out)), ["A=1", "B=two words"], "environment in clear mode")
        s, w, out, err = c.run_output(["env"], env_mode=ENV_CLEAR)
        eq(out, b"", "empty environment")
        # Set then unset: unset is applied first, so the variable is there.
        s, w, out, err = c.run_output(["env"], env_mode=ENV_CLEAR, env_set=["X=1"], env_unset=["X"])
        eq(env_lines(out), ["X=1"], "env_unset applies before env_set")


def case_cwd():
    """cwd given: the job runs there; empty cwd means /; INFO reports it."""
    tmp = tempfile.mkdtemp(prefix="rpxtest-cwd-")
    try:
        with start_rpxd() as d, ProcClient(d) as c:
            s, w, out, err = c.run_output(["pwd"], cwd=tmp)
            eq(out.decode(), tmp + "\n", "pwd in cwd")
            s, w, out, err = c.run_output(["sh", "-c", "pwd; ls"], cwd="")
            eq(out.decode().split("\n")[0], "/", "pwd with empty cwd")
            s = c.spawn_ok(["sleep", "5"], cwd=tmp)
            i = c.info(s.job)
            eq(i.cwd, tmp, "INFO cwd")
            eq(os.readlink("/proc/%d/cwd" % s.pid), tmp, "/proc cwd of the job")
            expect_ok(c.kill(s.job, 9).status, "KILL")
            c.wait_ok(s.job, 5000)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_shell():
    """shell=TRUE runs the one string with /bin/sh -c."""
    with start_rpxd() as d, ProcClient(d) as c:
        s, w, out, err = c.run_output(["echo $((6*7)) | tr 4 x; echo oops >&2; exit 7"], shell=True)
        expect_exited(w, 7, "shell command")
        eq(out, b"x2\n", "shell stdout")
        eq(err, b"oops\n", "shell stderr")
        eq(c.info(s.job).status.error, errno.ESRCH, "job dropped after WAIT")


def case_stdio_discard():
    """stdout discarded, stderr captured: no stdout bytes, stderr kept; fd 1 is /dev/null;
    fd 2 a FIFO in the runtime directory."""
    run = tempfile.mkdtemp(prefix="rpxtest-run-")
    try:
        stdio_discard(run)
    finally:
        shutil.rmtree(run, ignore_errors=True)


def stdio_discard(run):
    with start_rpxd(["--runtime-dir", run]) as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "echo out; echo err >&2"], stdout_mode=STDIO_DISCARD)
        out, err = c.read_all(s.job)
        eq(out, b"", "discarded stdout")
        eq(err, b"err\n", "captured stderr")
        i = c.info(s.job)
        eq((i.stdout_bytes, i.stderr_bytes), (0, 4), "INFO byte counts")
        c.wait_ok(s.job, 5000)
        s = c.spawn_ok(["sleep", "5"], stdout_mode=STDIO_DISCARD)
        eq(os.readlink("/proc/%d/fd/1" % s.pid), "/dev/null", "fd 1 of a discarding job")
        # Captured streams are FIFOs in the runtime dir (they outlive a restart of rpxd),
        # in a folder of their own for this state dir.
        fifo = os.readlink("/proc/%d/fd/2" % s.pid)
        eq((os.path.dirname(os.path.dirname(fifo)), os.path.basename(fifo)),
           (run, "%d.err.fifo" % s.job), "fd 2 of a capturing job is its FIFO")
        check(os.path.basename(os.path.dirname(fifo)).startswith("jobs-"),
              "FIFO folder %s" % os.path.dirname(fifo))
        check(stat.S_ISFIFO(os.stat(fifo).st_mode), "%s is not a FIFO" % fifo)
        r = c.output(s.job)
        expect_ok(r.status, "OUTPUT")
        eq((r.out.data, r.out.eof), (b"", True), "discarded stdout: empty and at EOF")
        eq((r.err.data, r.err.eof, r.ended), (b"", False, False), "stderr of a running job")
        expect_ok(c.kill(s.job, 9).status, "KILL")
        c.wait_ok(s.job, 5000)
        s = c.spawn_ok(["sh", "-c", "echo out; echo err >&2"], stdout_mode=STDIO_DISCARD,
                       stderr_mode=STDIO_DISCARD)
        eq(c.read_all(s.job), (b"", b""), "both streams discarded")
        c.wait_ok(s.job, 5000)
    # Stopped with no job left: its FIFO folder is gone too.
    eq(os.listdir(run), [], "runtime dir after rpxd stopped")


def expect_refused(c, argv, err, contains, what, **kw):
    r = c.spawn(argv, **kw)
    expect_err(r.status, err, what, contains)
    eq((r.job, r.pid), (0, 0), what + ": job and pid of a refused SPAWN")
    log("%s -> %d %r" % (what, r.status.error, r.status.message))


def case_refused():
    """Missing or non-executable program, bad or relative cwd, empty argv, shell with two
    strings, bad env entries, modes, importance or user: errno and message, no job."""
    tmp = tempfile.mkdtemp(prefix="rpxtest-spawn-")
    noexec = os.path.join(tmp, "script.sh")
    with open(noexec, "w") as f:
        f.write("#!/bin/sh\necho should not run\n")
    os.chmod(noexec, 0o644)
    afile = os.path.join(tmp, "afile")
    open(afile, "w").close()
    try:
        with start_rpxd() as d, ProcClient(d) as c:
            c.null()  # the connection is accepted: its descriptor is in the baseline
            base_fds = fd_count(d.pid)
            expect_refused(c, ["/nonexistent/prog"], errno.ENOENT,
                           "/nonexistent/prog: No such file or directory", "missing program")
            expect_refused(c, ["rpxtest-no-such-program"], errno.ENOENT,
                           "rpxtest-no-such-program: No such file or directory",
                           "missing program on PATH")
            expect_refused(c, [noexec], errno.EACCES, noexec + ": Permission denied",
                           "program without x bit")
            expect_refused(c, [tmp], errno.EACCES, tmp + ": Permission denied",
                           "directory as program")
            expect_refused(c, ["true"], errno.ENOENT,
                           "cwd /nonexistent-dir: No such file or directory", "missing cwd",
                           cwd="/nonexistent-dir")
            expect_refused(c, ["true"], errno.ENOTDIR, "cwd %s: Not a directory" % afile,
                           "cwd is a file", cwd=afile)
            expect_refused(c, ["true"], errno.EINVAL, "cwd tmp", "relative cwd", cwd="tmp")
            expect_refused(c, [], errno.EINVAL, "argv", "empty argv")
            expect_refused(c, ["echo", "hi"], errno.EINVAL, "shell", "shell with 2 strings",
                           shell=True)
            expect_refused(c, [], errno.EINVAL, "argv", "shell with empty argv", shell=True)
            expect_refused(c, ["true"], errno.EINVAL, "env", "env entry without =",
                           env_set=["NOEQUALS"])
            expect_refused(c, ["true"], errno.EINVAL, "env", "env entry with empty name",
                           env_set=["=value"])
            expect_refused(c, ["true"], errno.EINVAL, "env", "env unset with =",
                           env_unset=["A=B"])
            expect_refused(c, ["true"], errno.EINVAL, "env_mode", "env_mode 7", env_mode=7)
            expect_refused(c, ["true"], errno.EINVAL, "stdio mode", "stdout_mode 5",
                           stdout_mode=5)
            expect_refused(c, ["true"], errno.EINVAL, "importance", "importance 9",
                           importance=9)
            expect_refused(c, ["true"], errno.ESRCH, "rpxtest-no-such-user",
                           "unknown user", user="rpxtest-no-such-user")
            # No job exists, no child is left behind, no log file or descriptor either.
            for _ in range(50):
                c.spawn(["/nonexistent/prog"], stdin=b"data")
                c.spawn(["true"], cwd="/nonexistent-dir")
            eq(fd_count(d.pid), base_fds, "rpxd descriptors after 100+ refused SPAWNs")
            l = c.list()
            expect_ok(l.status, "LIST")
            eq(l.entries, [], "jobs after refused SPAWNs")
            wait_until(lambda: children_of(d.pid) == [], 5,
                       "rpxd still has children: %r" % (children_of(d.pid),))
            eq(sorted(os.listdir(os.path.join(d.state_dir, "jobs"))), [],
               "files in the jobs directory")
            # And a good SPAWN still works.
            s, w, out, err = c.run_output(["echo", "fine"])
            eq(out, b"fine\n", "SPAWN after the refusals")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main([case_stdin_small, case_stdin_large, case_stdin_empty_is_devnull,
          case_env_inherit_set_unset, case_env_clear, case_cwd, case_shell, case_stdio_discard,
          case_refused])
