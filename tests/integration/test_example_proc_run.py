#!/usr/bin/env python3
"""examples/proc_run, built in-tree against librpx, runs a command through a real rpxd: output on the right streams, exit status, errors.

Environment: RPXD, RPX_BUILD_DIR (the build tree with examples/proc_run).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def main():
    build = os.environ.get("RPX_BUILD_DIR")
    example = os.path.join(build, "examples", "proc_run") if build else None
    if not example or not os.access(example, os.X_OK):
        sys.stderr.write("SKIP: no examples/proc_run under $RPX_BUILD_DIR (%r)\n" % build)
        sys.exit(SKIP)
    d = Rpxd(binary("RPXD"))
    u, t = d.urls["unix"], d.urls["tcp"]
    try:
        st, out, err, _ = run([example, u, "sh", "-c", "echo out; sleep 0.3; echo err >&2; exit 4"])
        if (st, out, err) != (4, "out\n", "err\n"):
            fail("proc_run: exit %d, stdout %r, stderr %r" % (st, out, err))
        st, out, err, _ = run([example, u, "sh", "-c", "kill -KILL $$"])
        if st != 137:
            fail("proc_run of a job killed by SIGKILL: exit %d" % st)
        st, out, err, _ = run([example, u, "no-such-program-rpx"])
        if st != 1 or not re.match(r"^proc_run: spawn: server: no-such-program-rpx: No such file", err):
            fail("proc_run of a missing program: exit %d, stderr %r" % (st, err))
        st, out, err, _ = run([example, t, "true"])
        if st != 1 or "refused for security reasons" not in err:
            fail("proc_run over TCP without --insecure: exit %d, stderr %r" % (st, err))
        st, out, err, _ = run([example, u])
        if st != 2:
            fail("proc_run without a command: exit %d" % st)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
