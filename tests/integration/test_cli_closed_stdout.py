#!/usr/bin/env python3
"""rpx with a closed or failing standard output.

A reader that went away (rpx ps --all | head -1) ends rpx by SIGPIPE, silently,
as it would end any filter; a real write error (a full disk: /dev/full) is
reported and exits 1; multi-host output follows the same rule.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def closed_pipe_run(argv):
    """Runs argv with stdout on a pipe whose reading end is already closed."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run(argv, stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           env=clean_env(), timeout=20)
    finally:
        os.close(w)
    return p


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    t = d.urls["tcp"]
    try:
        for args in (["-H", u, "ps", "--all"], ["-H", u, "ps", "--all", "--json"],
                     ["-H", t, "date"], ["-H", t, "-H", u, "date"]):
            p = closed_pipe_run([rpx] + args)
            if p.returncode != -signal.SIGPIPE:
                fail("rpx %s into a closed pipe: status %r (expected SIGPIPE), stderr %r"
                     % (" ".join(args), p.returncode, p.stderr))
            # Several hosts: the summary line still goes to stderr, nothing else.
            said = [l for l in p.stderr.decode().splitlines() if not l.startswith("2 hosts:")]
            if said:
                fail("rpx %s into a closed pipe: said %r" % (" ".join(args), p.stderr))

        # A full device is an error worth a message, not a quiet end.
        with open("/dev/full", "w") as full:
            p = subprocess.run([rpx, "-H", u, "ps", "--all"], stdout=full, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, env=clean_env(), timeout=20)
        if p.returncode != 1 or b"write error on standard output" not in p.stderr:
            fail("rpx ps --all > /dev/full: status %r, stderr %r" % (p.returncode, p.stderr))
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
