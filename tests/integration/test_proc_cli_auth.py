#!/usr/bin/env python3
"""Over TCP rpxd refuses spawn/kill with a clear message unless --insecure; the client refuses out-of-bound arguments before sending.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)

REFUSED = (r"^rpx: (spawn|kill|run): server: authentication error: refused for security reasons "
           r"\(spawn and kill need the Unix socket, or rpxd --insecure\)\n$")


def main():
    rpx = binary("RPX")
    rpxd = binary("RPXD")
    d = Rpxd(rpxd)
    u, t = d.urls["unix"], d.urls["tcp"]
    try:
        # Over TCP without --insecure: spawn, run and kill are refused with a clear message.
        expect([rpx, "-H", t, "spawn", "--", "true"], 1, stderr_re=REFUSED)
        expect([rpx, "-H", t, "run", "--", "true"], 1, stderr_re=REFUSED)
        job = spawn(rpx, u, "--", "sleep", "100")
        expect([rpx, "-H", t, "kill", str(job)], 1, stderr_re=r"^rpx: kill: job %d: server: "
               r"authentication error: refused for security reasons \(spawn and kill need the "
               r"Unix socket, or rpxd --insecure\)\n$" % job)
        # Nothing was spawned by the refused calls; the unix job still runs.
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        objs = [json.loads(l) for l in out.splitlines()]
        if [o["job"] for o in objs] != [job] or objs[0]["exit"] is not None:
            fail("ps after refused TCP calls: %r" % out)
        expect([rpx, "-H", u, "kill", "-s", "KILL", str(job)], 0)
        expect([rpx, "-H", u, "wait", str(job)], 137)

        # Bounds are checked before sending: too many arguments, too much stdin.
        argv = [rpx, "-H", u, "spawn", "--", "echo"] + ["x"] * 5000
        st, out, err, secs = run(argv)
        if st != 1 or out or err != "rpx: spawn: argv has 5001 entries; the limit is 4096\n":
            fail("spawn with 5001 arguments: exit %d, stdout %r, stderr %r" % (st, out, err))
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"x" * (1048576 + 1))
            f.flush()
            expect([rpx, "-H", u, "spawn", "--stdin-file", f.name, "--", "cat"], 1,
                   stderr_re=r"^rpx: spawn: --stdin-file .*: more than 1048576 bytes")
            expect([rpx, "-H", u, "spawn", "--stdin-file", "/nonexistent", "--", "cat"], 1,
                   stderr_re=r"^rpx: spawn: --stdin-file /nonexistent: No such file")
        # Exactly the limit of arguments is fine.
        expect([rpx, "-H", u, "run", "--", "sh", "-c", 'echo $#', "sh"] + ["y"] * 4092, 0,
               stdout="4092\n")
        expect([rpx, "-H", u, "spawn", "--name", "n" * 257, "--", "true"], 1,
               stderr_re=r"^rpx: spawn: the job name is 257 bytes long; the limit is 256\n$")
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        if out:
            fail("ps after refused spawns: %r" % out)

        # Two hosts: ps runs on both (fan-out), each line prefixed by its host.
        out, _ = expect([rpx, "-H", u, "-H", t, "ps"], 0, stderr_re=r"^2 hosts: 2 ok, 0 failed\n$")
        if sorted(l.split(":     ")[0] for l in out.splitlines()) != sorted([u, t]):
            fail("ps on two hosts: %r" % out)
    finally:
        d.stop()

    # With --insecure, TCP callers may spawn and kill (as rpxd's user).
    d = Rpxd(rpxd, ["--insecure"])
    t = d.urls["tcp"]
    try:
        st, out, err, _ = run([rpx, "-H", t, "run", "--", "sh", "-c", "echo over tcp; exit 6"])
        if (st, out) != (6, "over tcp\n"):
            fail("run over TCP with --insecure: exit %d, stdout %r, stderr %r" % (st, out, err))
        job = spawn(rpx, t, "--", "sleep", "100")
        expect([rpx, "-H", t, "kill", "-s", "KILL", str(job)], 0)
        expect([rpx, "-H", t, "wait", str(job)], 137)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
