"""The RFC 868 Time service (--time-listen tcp://.. / udp://..) answers with 4 bytes of seconds since 1900 near now, read both with a plain socket and by the stock rdate client (`rdate -p [-u] -o PORT 127.0.0.1`).

Usage: test_time_protocol.py tcp|udp [case...]
"""

import calendar
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

EPOCH_1900 = 2208988800  # RFC 868: seconds from 1900-01-01 to 1970-01-01


def expect_near_now(value, what):
    want = (int(time.time()) + EPOCH_1900) & 0xFFFFFFFF
    diff = (value - want + (1 << 31)) % (1 << 32) - (1 << 31)
    check(abs(diff) <= 2, "%s: %d is %d s away from now (%d)" % (what, value, diff, want))


def start(transport):
    return Rpxd(extra=["--time-listen", "%s://127.0.0.1:0" % transport])


def case_plain_socket(transport):
    with start(transport) as d:
        eq(len(d.time[transport]), 1, "time %s listeners announced" % transport)
        addr = d.time[transport][0]
        for i in range(3):
            if transport == "tcp":
                s = Stream("tcp", addr, timeout=3)
                try:
                    data = s.wait_closed(3)
                except Timeout:
                    fail("time/tcp: no EOF within 3 s")
                finally:
                    s.close()
            else:
                with Dgram(addr) as u:
                    # RFC 868: the client sends an empty datagram; rpxd answers any.
                    u.send(b"" if i == 0 else b"x" * (i * 700))
                    try:
                        data = u.recv(3)
                    except Timeout:
                        fail("time/udp: no answer to an empty datagram within 3 s")
            eq(len(data), 4, "time/%s answer length (%r)" % (transport, data))
            expect_near_now(struct.unpack(">I", data)[0], "time/%s #%d" % (transport, i))
        assert_serves(d, "tcp")


def case_rdate(transport):
    rdate = os.environ.get("RDATE", "/usr/sbin/rdate")
    if not os.access(rdate, os.X_OK):
        log("SKIP: %s not found (Debian package rdate)" % rdate)
        sys.exit(SKIP)
    with start(transport) as d:
        port = d.time[transport][0][1]
        args = [rdate, "-p"] + (["-u"] if transport == "udp" else []) + ["-o", str(port),
                                                                         "127.0.0.1"]
        env = dict(os.environ, TZ="UTC0", LC_ALL="C")
        try:
            p = subprocess.run(args, capture_output=True, timeout=20, env=env,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            fail("%s did not finish within 20 s" % " ".join(args))
        out = p.stdout.decode(errors="replace").strip()
        eq(p.returncode, 0, "%s exit status (stdout %r, stderr %r)"
           % (" ".join(args), out, p.stderr.decode(errors="replace")))
        log("rdate: %r" % out)
        # rdate -p prints ctime-like text, possibly after "rdate: [host]\t".
        line = out.splitlines()[-1] if out else ""
        line = line.split("\t")[-1].strip()
        try:
            secs = calendar.timegm(time.strptime(line, "%a %b %d %H:%M:%S UTC %Y"))
        except ValueError:
            fail("cannot parse rdate output %r" % out)
        check(abs(secs - time.time()) <= 3, "rdate says %r, %.0f s from now"
              % (line, secs - time.time()))


if __name__ == "__main__":
    main([case_plain_socket, case_rdate], transports=("tcp", "udp"))
