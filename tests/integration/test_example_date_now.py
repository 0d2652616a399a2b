#!/usr/bin/env python3
"""examples/date_now, built in-tree against librpx, prints a real rpxd's time over tcp, udp and unix, and fails cleanly without one.

Environment: RPXD, RPX_EXAMPLE (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) \S+ "
                  r"\(-?\d+\.\d{9} s since the epoch, UTC[+-]\d+ s\)\n$")


def main():
    example = binary("RPX_EXAMPLE")
    d = Rpxd(binary("RPXD"))
    try:
        for t in ("tcp", "udp", "unix"):
            out = expect_ok([example, d.urls[t]])
            if not LINE.match(out):
                fail("date_now %s: unexpected output %r" % (d.urls[t], out))
    finally:
        d.stop()
    port = free_tcp_port()
    st, out, err, _ = run([example, "tcp://127.0.0.1:%d" % port])
    if st == 0 or err != "date_now: tcp://127.0.0.1:%d: connection refused\n" % port:
        fail("date_now against a closed port: exit %d, stderr %r" % (st, err))
    print("ok")


if __name__ == "__main__":
    main()
