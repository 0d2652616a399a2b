#!/usr/bin/env python3
"""rpx run copies the job's stdout/stderr to ours and exits with its status; stdin, env, cwd, --shell applied; a missing program is one clear error.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    try:
        # Output on the right streams, exit status of the job.
        st, out, err, _ = run([rpx, "-H", u, "run", "--", "sh", "-c", "echo out; echo err >&2; exit 5"])
        if (st, out, err) != (5, "out\n", "err\n"):
            fail("run sh -c 'echo out; echo err >&2; exit 5': got exit %d, stdout %r, stderr %r"
                 % (st, out, err))
        # run reaped the job: nothing left in ps.
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        if out.strip():
            fail("ps after run: jobs left: %r" % out)

        # Options without "--": the first word that is not an option is the command.
        expect([rpx, "-H", u, "run", "printf", "%s-%s", "a b", "c"], 0, stdout="a b-c")

        # stdin delivered, then EOF.
        expect([rpx, "-H", u, "run", "--stdin-text", "hello\nworld\n", "--", "cat"], 0,
               stdout="hello\nworld\n")
        with tempfile.NamedTemporaryFile() as f:
            data = bytes(range(256)) * 64
            f.write(data)
            f.flush()
            p = subprocess.run([rpx, "-H", u, "run", "--stdin-file", f.name, "--", "md5sum"],
                               capture_output=True, env=clean_env(), timeout=20)
            import hashlib
            if p.returncode != 0 or p.stdout.split()[0].decode() != hashlib.md5(data).hexdigest():
                fail("run --stdin-file | md5sum: exit %d, %r" % (p.returncode, p.stdout))
        # --stdin-file - reads rpx's own stdin.
        expect([rpx, "-H", u, "run", "--stdin-file", "-", "--", "wc", "-c"], 0, stdout="6\n",
               stdin_data="abcdef")
        # Default stdin is /dev/null: cat ends at once.
        expect([rpx, "-H", u, "run", "--", "cat"], 0, stdout="")

        # Environment: set, unset, clear; working directory.
        expect([rpx, "-H", u, "run", "--env", "FOO=bar baz", "--env", "E=a=b", "--", "sh", "-c",
                'printf "%s|%s" "$FOO" "$E"'], 0, stdout="bar baz|a=b")
        expect([rpx, "-H", u, "run", "--clear-env", "--env", "ONLY=1", "--", "/usr/bin/env"], 0,
               stdout="ONLY=1\n")
        out, _ = expect([rpx, "-H", u, "run", "--unset", "PATH", "--", "/usr/bin/env"], 0)
        if re.search(r"^PATH=", out, re.M):
            fail("run --unset PATH: PATH still set: %r" % out)
        expect([rpx, "-H", u, "run", "--cwd", "/tmp", "--", "pwd"], 0, stdout="/tmp\n")
        expect([rpx, "-H", u, "run", "--", "pwd"], 0, stdout="/\n")
        expect([rpx, "-H", u, "run", "--cwd", "/nonexistent-dir", "--", "pwd"], 1,
               stderr_re=r"^rpx: run: .*/nonexistent-dir.*No such file or directory\n$")

        # --shell: one command line for /bin/sh -c (several words joined).
        expect([rpx, "-H", u, "run", "--shell", "--", "echo $((6*7)) | tr 4 x"], 0, stdout="x2\n")
        expect([rpx, "-H", u, "run", "--shell", "echo", "a;", "exit", "4"], 4, stdout="a\n")

        # A missing executable: one clear line, exit 1, nothing spawned.
        for cmd in ("spawn", "run"):
            st, out, err, _ = run([rpx, "-H", u, cmd, "--", "no-such-program-rpx", "x"])
            if st != 1 or out != "" or \
                    not re.match(r"^rpx: %s: .*no-such-program-rpx.*No such file or directory\n$" % cmd, err):
                fail("%s of a missing program: exit %d, stdout %r, stderr %r" % (cmd, st, out, err))

        # Discarded streams stay empty; the status still comes through.
        expect([rpx, "-H", u, "run", "--discard-stdout", "--", "sh", "-c", "echo gone; exit 2"], 2,
               stdout="")

        # A job killed by a signal: 128 + signal.
        expect([rpx, "-H", u, "run", "--", "sh", "-c", "kill -TERM $$"], 143)

        # spawn --json: job, pid, start.
        out, _ = expect([rpx, "-H", u, "spawn", "--json", "--name", "j", "--", "sh", "-c", "exit 0"], 0)
        obj = json.loads(out)
        if set(obj) != {"job", "pid", "start"} or not obj["job"] > 0 or not obj["pid"] > 1 or \
                abs(obj["start"] - time.time()) > 60:
            fail("spawn --json: %r" % out)
        expect([rpx, "-H", u, "wait", str(obj["job"])], 0)

        # Usage errors: exit 2, no call.
        expect([rpx, "-H", u, "run"], 2, stderr_re="missing command")
        expect([rpx, "-H", u, "spawn", "--env", "NOEQUALS", "--", "true"], 2, stderr_re="NAME=VALUE")
        expect([rpx, "-H", u, "spawn", "--importance", "urgent", "--", "true"], 2,
               stderr_re="--importance")
        expect([rpx, "-H", u, "run", "--json", "--", "true"], 2, stderr_re="--json")
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
