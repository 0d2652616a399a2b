#!/usr/bin/env python3
"""rpx fails with a non-zero status and one clear line on stderr: refused port, bad URLs, timeouts, usage errors.

A silent UDP peer (a socket this test owns and never answers) must give
"call timed out after N ms" within about the timeout, after retransmissions
with the same XID; with several hosts one failure makes the exit status
non-zero while the other hosts still answer.
Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)


def expect_fail(argv, want_err, status=1, **kw):
    st, out, err, secs = run(argv, **kw)
    if st != status:
        fail("%s: exit %d, want %d (stderr %r)" % (" ".join(argv), st, status, err))
    lines = err.splitlines()
    if isinstance(want_err, str):
        ok = lines == [want_err]
    else:
        ok = len(lines) == 1 and want_err.match(lines[0]) is not None
    if not ok:
        fail("%s: stderr %r, want %r" % (" ".join(argv), err, getattr(want_err, "pattern", want_err)))
    return out, secs


def main():
    rpx = binary("RPX")

    # Nothing listens: refused at connect (tcp) or by ICMP (udp).
    port = free_tcp_port()
    expect_fail([rpx, "-H", "tcp://127.0.0.1:%d" % port, "ping"],
                "rpx: tcp://127.0.0.1:%d: connection refused" % port)
    expect_fail([rpx, "-H", "127.0.0.1:%d" % port, "date"],
                "rpx: tcp://127.0.0.1:%d: connection refused" % port)
    expect_fail([rpx, "-H", "tcp://[::1]:%d" % port, "date"],
                re.compile(r"^rpx: tcp://\[::1\]:%d: (connection refused|cannot assign requested address|address family .*|network is unreachable)$" % port))
    expect_fail([rpx, "-H", "udp://127.0.0.1:%d" % port, "date"],
                "rpx: udp://127.0.0.1:%d: connection refused" % port)
    expect_fail([rpx, "-H", "udp://127.0.0.1:%d" % port, "ping", "-p", "0x20007701"],
                "rpx: udp://127.0.0.1:%d 0x20007701 v1: connection refused" % port)
    tmp = tempfile.mkdtemp(prefix="rpx-cli-")
    try:
        expect_fail([rpx, "-H", "unix:%s/none.sock" % tmp, "date"],
                    "rpx: unix:%s/none.sock: no such file or directory" % tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    # Bad URLs never reach the network.
    for url, why in [("http://x:1", "unknown scheme (want tcp://HOST:PORT, udp://HOST:PORT or unix:PATH)"),
                     ("tcp://127.0.0.1:0", "port must be a number from 1 to 65535"),
                     ("tcp://127.0.0.1:65536", "port must be a number from 1 to 65535"),
                     ("tcp://127.0.0.1:x", "port must be a number from 1 to 65535"),
                     ("tcp://:7077", "missing host"),
                     ("tcp://[::1", "missing ']' after IPv6 address"),
                     ("unix:", "missing socket path"),
                     ("", "empty")]:
        expect_fail([rpx, "-H", url, "ping"], 'rpx: bad URL "%s": %s' % (url, why))
    expect_fail([rpx, "-H", "tcp://no-such-host.invalid:7077", "date"],
                re.compile(r"^rpx: tcp://no-such-host\.invalid:7077: \S.*$"))

    # A UDP peer that never answers: timeout after --timeout, retransmitted with one XID.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    sport = silent.getsockname()[1]
    _, secs = expect_fail([rpx, "--timeout", "1000", "--retry", "100", "-H",
                           "udp://127.0.0.1:%d" % sport, "date"],
                          "rpx: udp://127.0.0.1:%d: call timed out after 1000 ms" % sport)
    if not 0.9 <= secs < 3:
        fail("UDP timeout of 1000 ms took %.2f s" % secs)
    silent.settimeout(0.2)
    xids = []
    try:
        while True:
            data, _ = silent.recvfrom(65536)
            xids.append(data[:4])
    except socket.timeout:
        pass
    silent.close()
    if len(xids) < 3 or len(set(xids)) != 1:
        fail("silent UDP peer: expected >= 3 datagrams with one XID, got %d with %d XIDs"
             % (len(xids), len(set(xids))))

    # A TCP peer that accepts (backlog) but never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    lport = listener.getsockname()[1]
    _, secs = expect_fail([rpx, "-t", "700", "-H", "tcp://127.0.0.1:%d" % lport, "date"],
                          "rpx: tcp://127.0.0.1:%d: call timed out after 700 ms" % lport)
    if not 0.6 <= secs < 3:
        fail("TCP timeout of 700 ms took %.2f s" % secs)
    listener.close()

    # A TCP listener whose accept queue is full drops the SYN: the connect itself times out.
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    fport = full.getsockname()[1]
    fillers = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect(("127.0.0.1", fport))
        except BlockingIOError:
            pass
        fillers.append(c)
    time.sleep(0.2)
    _, secs = expect_fail([rpx, "-t", "600", "-H", "tcp://127.0.0.1:%d" % fport, "date"],
                          "rpx: tcp://127.0.0.1:%d: connect timed out after 600 ms" % fport)
    if not 0.5 <= secs < 3:
        fail("connect timeout of 600 ms took %.2f s" % secs)
    for c in fillers:
        c.close()
    full.close()

    # Several hosts, one down: the others still answer, the status says failure.
    d = Rpxd(binary("RPXD"))
    try:
        # One line for the failed host, then the summary.
        argv = [rpx, "-H", d.urls["tcp"], "-H", "tcp://127.0.0.1:%d" % port, "-H", d.urls["unix"],
                "date"]
        st, out, err, _ = run(argv)
        want = ["rpx: tcp://127.0.0.1:%d: connection refused" % port,
                "3 hosts: 2 ok, 1 failed (tcp://127.0.0.1:%d: connection refused)" % port]
        if st != 1 or err.splitlines() != want:
            fail("%s: exit %d, stderr %r, want exit 1 and %r" % (" ".join(argv), st, err, want))
        lines = out.splitlines()
        if len(lines) != 2 or not lines[0].startswith(d.urls["tcp"] + ": ") or \
                not lines[1].startswith(d.urls["unix"] + ": "):
            fail("date with one host down: stdout %r" % out)
    finally:
        d.stop()

    # Usage errors: status 2, one line.
    expect_fail([rpx, "frobnicate"], "rpx: unknown command \"frobnicate\"; try 'rpx --help'", 2)
    expect_fail([rpx], "rpx: missing command; try 'rpx --help'", 2)
    expect_fail([rpx, "--timeout", "soon", "ping"],
                'rpx: --timeout: expected a duration like 250 (milliseconds), 500ms, 2s or 1m (not 0), got "soon"', 2)
    expect_fail([rpx, "ping", "--timeout", "-5"],
                'rpx: --timeout: expected a duration like 250 (milliseconds), 500ms, 2s or 1m (not 0), got "-5"', 2)
    expect_fail([rpx, "date", "--at", "yesterday"],
                'rpx: date: --at: expected seconds since the epoch like 1700000000 or -1.5, got "yesterday"', 2)
    expect_fail([rpx, "date", "extra"], 'rpx: date: unexpected argument "extra"', 2)

    # --help documents every option; --version prints one line.
    out = expect_ok([rpx, "--help"])
    for opt in ("--host", "-H", "--timeout", "--retry", "--help", "--version", "RPX_HOST",
                "ping", "date"):
        if opt not in out:
            fail("rpx --help does not mention %s" % opt)
    for cmd, opts in (("ping", ("--program", "--host", "--timeout", "--retry")),
                      ("date", ("--json", "--utc", "--at", "--host", "--timeout"))):
        out = expect_ok([rpx, cmd, "--help"])
        for opt in opts:
            if opt not in out:
                fail("rpx %s --help does not mention %s" % (cmd, opt))
    out = expect_ok([rpx, "--version"])
    if not re.match(r"^rpx \d+\.\d+\.\d+ \(librpx \d+\.\d+\.\d+\)\n$", out):
        fail("rpx --version: %r" % out)
    print("ok")


if __name__ == "__main__":
    main()
