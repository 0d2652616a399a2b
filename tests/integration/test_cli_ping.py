#!/usr/bin/env python3
"""rpx ping reaches a real rpxd over tcp, udp and unix and prints one timed line per host and program.

Also: -H is repeatable and accepted after the subcommand, $RPX_HOST is the
default host, --program pings a given program/version, and the server's
PROG_MISMATCH and PROG_UNAVAIL answers come out as one clear line each.
rpx knows the date and proc programs; date must answer, proc either answers
or (while rpxd does not serve it yet) is reported as "program unavailable".
Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)

PROGRAMS = ("date", "proc")


def ping(rpx, argv, urls, env=None):
    """Runs rpx ping; checks one line per host and program; returns whether proc answered."""
    st, out, err, _ = run([rpx] + argv, env=env)
    ok = re.compile(r"^(\S+) (date|proc) v1: (\d+\.\d{3}) ms$")
    got_out = out.splitlines()
    served = any(" proc v1: " in l for l in got_out)
    want_out, want_err = [], []
    for url in urls:
        for prog in PROGRAMS:
            if prog == "proc" and not served:
                want_err.append("rpx: %s proc v1: server: program unavailable" % url)
            else:
                want_out.append((url, prog))
    parsed = [(ok.match(l).group(1), ok.match(l).group(2)) if ok.match(l) else l for l in got_out]
    if parsed != want_out or err.splitlines() != want_err:
        fail("rpx %s: stdout %r, stderr %r; want lines for %r and errors %r"
             % (" ".join(argv), out, err, want_out, want_err))
    if st != (0 if served else 1):
        fail("rpx %s: exit %d" % (" ".join(argv), st))
    return served


def ping_many(rpx, argv, urls):
    """Several hosts at once (fan-out): "URL: PROG v1: N ms" lines, each host's in order,
    hosts in the order their answers come; the summary on stderr."""
    st, out, err, _ = run([rpx] + argv)
    ok = re.compile(r"^(\S+): (date|proc) v1: (\d+\.\d{3}) ms$")
    got = {}
    for l in out.splitlines():
        m = ok.match(l)
        if not m:
            fail("rpx %s: unexpected line %r in %r" % (" ".join(argv), l, out))
        got.setdefault(m.group(1), []).append(m.group(2))
    want_err = ["%d hosts: %d ok, 0 failed" % (len(urls), len(urls))]
    if got != {u: list(PROGRAMS) for u in urls} or err.splitlines() != want_err or st != 0:
        fail("rpx %s: exit %d, stdout %r, stderr %r; want %r per host and %r"
             % (" ".join(argv), st, out, err, PROGRAMS, want_err))


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    try:
        for t in ("tcp", "udp", "unix"):
            ping(rpx, ["-H", d.urls[t], "ping"], [d.urls[t]])

        # Several hosts at once; -H after the subcommand too.
        urls = [d.urls["tcp"], d.urls["udp"], d.urls["unix"]]
        ping_many(rpx, ["-H", urls[0], "ping", "-H", urls[1], "--host", urls[2]], urls)

        # $RPX_HOST is the default; the canonical URL is printed for host:port.
        port = d.urls["tcp"].rsplit(":", 1)[1]
        ping(rpx, ["ping"], ["tcp://127.0.0.1:" + port], env={"RPX_HOST": "127.0.0.1:" + port})

        # --program: the right version succeeds, a wrong one and an unknown program fail clearly.
        out = expect_ok([rpx, "-H", d.urls["tcp"], "ping", "-p", "0x20007701:1"])
        if not re.match(r"^\S+ 0x20007701 v1: \d+\.\d{3} ms$", out):
            fail("ping -p 0x20007701:1: unexpected output %r" % out)
        for t in ("tcp", "udp", "unix"):
            st, out, err, _ = run([rpx, "-H", d.urls[t], "ping", "-p", "0x20007701:7",
                                   "-p", "0x3ffffff0", "-p", "0x20007701"])
            if st == 0:
                fail("ping of a wrong version over %s exited 0" % t)
            want = ["rpx: %s 0x20007701 v7: server: version mismatch (server has 1..1)" % d.urls[t],
                    "rpx: %s 0x3ffffff0 v1: server: program unavailable" % d.urls[t]]
            if err.splitlines() != want:
                fail("ping errors over %s: expected %r, got %r" % (t, want, err))
            # The connection survives the errors: the last program still answered.
            if not re.match(r"^\S+ 0x20007701 v1: \d+\.\d{3} ms$", out):
                fail("ping after errors over %s: unexpected output %r" % (t, out))
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
