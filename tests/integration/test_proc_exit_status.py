"""PROC WAIT and INFO report how a job ended exactly: exit codes 0, 3 and 255, death by SIGKILL, SIGSEGV with the core flag the kernel gives, and plausible rusage and runtime.

Usage: test_proc_exit_status.py [case...]   (unix socket; needs RPXD)
"""

import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403


def case_exit_codes():
    """exit 0, 3, 255 (and /bin/true, /bin/false) come back as EXITED with that code."""
    with start_rpxd() as d, ProcClient(d) as c:
        for argv, code in ((["/bin/true"], 0), (["false"], 1), (["sh", "-c", "exit 0"], 0),
                           (["sh", "-c", "exit 3"], 3), (["sh", "-c", "exit 255"], 255),
                           (["sh", "-c", "exit 256"], 0)):
            t0 = time.monotonic()
            s, w = c.run(argv)
            wall_ns = (time.monotonic() - t0) * 1e9
            expect_exited(w, code, "%r" % argv)
            check(0 < w.exit.runtime_ns <= wall_ns + 50e6,
                  "%r: runtime_ns %d not in (0, %d]" % (argv, w.exit.runtime_ns, wall_ns))
            check(w.exit.maxrss_kb > 0 and w.exit.maxrss_kb < 1 << 20,
                  "%r: maxrss_kb %d implausible" % (argv, w.exit.maxrss_kb))
            check(w.exit.utime_us + w.exit.stime_us <= wall_ns / 1000 + 20000,
                  "%r: CPU time %d+%d us exceeds the wall time %d ns"
                  % (argv, w.exit.utime_us, w.exit.stime_us, wall_ns))
            # The record was dropped by that WAIT; a second WAIT gets the remembered answer.
            eq(c.wait([s.job], 0), w, "second WAIT of %r" % argv)
            expect_err(c.info(s.job).status, errno.ESRCH, "INFO after WAIT of %r" % argv)


def case_killed_by_sigkill():
    """SIGKILL from KILL: SIGNALED, signal 9, no core, runtime at least the time it ran."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "300"])
        time.sleep(0.3)
        i = c.info(s.job)
        expect_ok(i.status, "INFO running")
        eq(i.info.exit.how, EXIT_NONE, "INFO exit.how of a running job")
        check(i.info.state in (PSTATE_RUNNING, PSTATE_WAITING),
              "INFO state of sleeping job: %r" % i.info)
        eq(i.info.pid, s.pid, "INFO pid")
        expect_ok(c.kill(s.job, 9).status, "KILL 9")
        w = c.wait_ok(s.job, timeout_ms=5000)
        eq((w.exit.how, w.exit.signal, w.exit.code, w.exit.core), (EXIT_SIGNALED, 9, 0, False),
           "sleep killed by SIGKILL: (how, signal, code, core)")
        check(0.25e9 <= w.exit.runtime_ns < 10e9,
              "runtime_ns %d: the job ran at least 0.3 s" % w.exit.runtime_ns)
        check(w.exit.utime_us + w.exit.stime_us < 200000,
              "sleep used %d us of CPU" % (w.exit.utime_us + w.exit.stime_us))


def reference_core_flag(cwd):
    """Run the same command here: does the kernel report a core dump?"""
    p = subprocess.run(["sh", "-c", "kill -SEGV $$"], cwd=cwd, timeout=30)
    eq(p.returncode, -11, "reference run of sh -c 'kill -SEGV $$' (returncode)")
    # subprocess hides the core bit: run it again with os.wait4.
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.execvp("sh", ["sh", "-c", "kill -SEGV $$"])
        finally:
            os._exit(127)
    _, status, _ = os.wait4(pid, 0)
    check(os.WIFSIGNALED(status) and os.WTERMSIG(status) == 11,
          "reference status %#x is not SIGSEGV" % status)
    return os.WCOREDUMP(status)


def segv_case(core_limit):
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    if core_limit > hard and hard != resource.RLIM_INFINITY:
        raise Skip("RLIMIT_CORE hard limit %d below %d" % (hard, core_limit))
    resource.setrlimit(resource.RLIMIT_CORE, (core_limit, hard))
    tmp = tempfile.mkdtemp(prefix="rpxtest-core-")
    try:
        want_core = reference_core_flag(tmp)
        log("kernel reports core=%r with RLIMIT_CORE %d (core_pattern %r)"
            % (want_core, core_limit, open("/proc/sys/kernel/core_pattern").read().strip()))
        # rpxd (and so its jobs) inherit this process's RLIMIT_CORE.
        # An ASan build of rpxd would set its RLIMIT_CORE (inherited by jobs) to 0.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env = {"ASAN_OPTIONS": (asan + ":" if asan else "") + "disable_coredump=0"}
        with start_rpxd(env=env) as d, ProcClient(d) as c:
            s, w = c.run(["sh", "-c", "kill -SEGV $$"], cwd=tmp)
            eq((w.exit.how, w.exit.signal, w.exit.code), (EXIT_SIGNALED, 11, 0),
               "sh killed by SIGSEGV: (how, signal, code)")
            eq(w.exit.core, bool(want_core), "core flag (kernel says %r)" % want_core)
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
        subprocess.run(["rm", "-rf", tmp])


def case_sigsegv_no_core():
    """SIGSEGV with RLIMIT_CORE 0: SIGNALED 11 and core as the kernel reports it."""
    segv_case(0)


def case_sigsegv_core():
    """SIGSEGV with RLIMIT_CORE 64 MiB in a writable cwd: core as the kernel reports it."""
    segv_case(64 << 20)


def case_rusage_plausible():
    """A CPU-bound job reports user CPU; a sleeping one reports runtime and little CPU."""
    with start_rpxd() as d, ProcClient(d) as c:
        t0 = time.monotonic()
        s, w = c.run(["sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"])
        wall_us = (time.monotonic() - t0) * 1e6
        expect_exited(w, 0, "busy loop")
        cpu = w.exit.utime_us + w.exit.stime_us
        check(w.exit.utime_us > 10000, "busy loop: utime_us %d, expected > 10 ms" % w.exit.utime_us)
        check(cpu <= wall_us + 20000, "busy loop: CPU %d us > wall %d us" % (cpu, wall_us))
        check(cpu * 1000 <= w.exit.runtime_ns + 20e6,
              "busy loop: CPU %d us > runtime %d ns" % (cpu, w.exit.runtime_ns))

        s, w = c.run(["sleep", "0.4"])
        expect_exited(w, 0, "sleep 0.4")
        check(0.38e9 <= w.exit.runtime_ns <= 5e9, "sleep 0.4: runtime_ns %d" % w.exit.runtime_ns)
        check(w.exit.utime_us + w.exit.stime_us < 200000, "sleep 0.4 used %d us CPU"
              % (w.exit.utime_us + w.exit.stime_us))

        # A job that uses ~40 MiB reports maxrss near it (rusage of the job alone).
        s, w = c.run(["python3", "-c", "b = bytearray(40 << 20); b[::4096] = b'x' * len(b[::4096])"])
        expect_exited(w, 0, "python3 40 MiB")
        check(40 << 10 <= w.exit.maxrss_kb < 400 << 10,
              "python3 touching 40 MiB: maxrss_kb %d" % w.exit.maxrss_kb)


def case_exit_kept_in_info():
    """WAIT keep: INFO of the ended job shows its exit and TERMINATED; then WAIT drops it."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sh", "-c", "exit 42"], name="answer")
        w1 = c.wait_ok(s.job, timeout_ms=5000, keep=True)
        expect_exited(w1, 42, "exit 42")
        i = c.info(s.job)
        expect_ok(i.status, "INFO ended job")
        eq(i.info.exit, w1.exit, "INFO exit record vs WAIT")
        eq(i.info.state, PSTATE_TERMINATED, "INFO state of an ended job")
        eq(i.info.name, "answer", "INFO name")
        eq(i.argv, ["sh", "-c", "exit 42"], "INFO argv")
        w2 = c.wait_ok(s.job, timeout_ms=0)
        eq(w2.exit, w1.exit, "second WAIT")
        expect_err(c.info(s.job).status, errno.ESRCH, "INFO after dropping WAIT")


if __name__ == "__main__":
    main([case_exit_codes, case_killed_by_sigkill, case_sigsegv_no_core, case_sigsegv_core,
          case_rusage_plausible, case_exit_kept_in_info])
