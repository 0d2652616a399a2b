"""rpxd's command line and lifecycle: --help names every option and exits 0, --version prints the version, bad options and URLs exit non-zero with a message naming them, a port already in use fails with "address already in use", IPv6 URLs work, logs follow `rpxd: LEVEL: message`, and SIGTERM/SIGINT exit 0 and remove the unix socket.

Usage: test_rpxd_options.py tcp [case...]
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

OPTIONS = ["--listen", "--daytime", "--time-listen", "--state-dir", "--max-record",
           "--max-connections", "--max-inflight", "--idle-timeout", "--record-timeout",
           "--log-level", "--help", "--version"]


def case_help(transport):
    rc, out, err = run_rpxd(["--help"])
    eq(rc, 0, "rpxd --help exit status (stderr %r)" % err)
    for opt in OPTIONS:
        check(re.search(re.escape(opt) + r"\b", out), "rpxd --help does not mention %s:\n%s"
              % (opt, out))
    for word in ("tcp://", "udp://", "unix:"):
        check(word in out, "rpxd --help does not show the URL form %s:\n%s" % (word, out))


def case_version(transport):
    rc, out, err = run_rpxd(["--version"])
    eq(rc, 0, "rpxd --version exit status (stderr %r)" % err)
    check(re.search(r"\b\d+\.\d+(\.\d+)?\b", out), "rpxd --version prints no version: %r" % out)
    want = os.environ.get("RPX_VERSION")
    if want:
        check(want in out, "rpxd --version %r does not show the project version %s" % (out, want))
    eq(len(out.strip().splitlines()), 1, "rpxd --version output lines (%r)" % out)


def expect_usage_error(args, must_mention, what):
    rc, out, err = run_rpxd(args)
    check(rc != 0, "%s: rpxd %s exited 0 (stdout %r, stderr %r)" % (what, " ".join(args), out, err))
    check(rc > 0, "%s: rpxd %s died of signal %d" % (what, " ".join(args), -rc))
    check("ready" not in out.split(), "%s: rpxd %s printed ready" % (what, " ".join(args)))
    check(err.strip() != "", "%s: rpxd %s exited %d without a message" % (what, " ".join(args), rc))
    check(must_mention in err, "%s: message %r does not name %r" % (what, err.strip(), must_mention))
    return err


def case_unknown_option(transport):
    expect_usage_error(["--bogus-option"], "bogus-option", "unknown option")
    expect_usage_error(["--listen"], "listen", "--listen without an argument")


def case_bad_listen_urls(transport):
    tmp = tempfile.mkdtemp(prefix="rpxtest-")
    try:
        base = ["--state-dir", tmp, "--daytime", "off"]
        for url in ("bogus://x", "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "udp://:x",
                    "tcp://[::1:0", "unix:"):
            expect_usage_error(base + ["--listen", url], url, "--listen %s" % url)
        expect_usage_error(base + ["--listen", "tcp://127.0.0.1:0", "--time-listen",
                                   "unix:/tmp/x"], "unix:/tmp/x", "--time-listen unix:")
        expect_usage_error(base[:2] + ["--listen", "tcp://127.0.0.1:0", "--daytime",
                                       "bogus://y"], "bogus://y", "--daytime bogus://y")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_bad_numbers(transport):
    tmp = tempfile.mkdtemp(prefix="rpxtest-")
    try:
        base = ["--state-dir", tmp, "--daytime", "off", "--listen", "tcp://127.0.0.1:0"]
        for opt, val in (("--max-record", "abc"), ("--max-record", "-1"), ("--max-record", "0"),
                         ("--max-connections", "12x"),
                         ("--max-inflight", "-5"), ("--idle-timeout", "soon"),
                         ("--record-timeout", ""), ("--log-level", "loud")):
            expect_usage_error(base + [opt, val], opt, "%s %r" % (opt, val))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def case_address_in_use(transport):
    for kind in ("tcp", "udp"):
        port = free_port(kind)
        url = "%s://127.0.0.1:%d" % (kind, port)
        with Rpxd(listen=[url]) as first:
            eq(first.rpc[kind], [("127.0.0.1", port)], "first rpxd %s listener" % kind)
            tmp = tempfile.mkdtemp(prefix="rpxtest-")
            try:
                err = expect_usage_error(["--state-dir", tmp, "--daytime", "off", "--listen", url],
                                         url, "second rpxd on %s" % url)
                check("address already in use" in err.lower(),
                      "second rpxd on %s: message %r lacks 'address already in use'" % (url, err))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            assert_serves(first, kind, "first rpxd after the second failed")


def case_unix_socket_of_live_rpxd_kept(transport):
    """A second rpxd on the unix path a live rpxd serves must not take it over."""
    with Rpxd(transports=("unix",)) as first:
        path = first.rpc["unix"][0]
        tmp = tempfile.mkdtemp(prefix="rpxtest-")
        try:
            p = subprocess.Popen([rpxd_path(), "--state-dir", tmp, "--daytime", "off",
                                  "--listen", "unix:" + path], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                out, err = p.communicate(timeout=5)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGTERM)
                out, err = p.communicate(timeout=5)
                fail("second rpxd on %s kept running (took over a live socket); stdout %r"
                     % (path, out))
            check(p.returncode != 0, "second rpxd on a live unix socket exited 0")
            check(err.strip() != b"", "second rpxd on a live unix socket: no message")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        assert_serves(first, "unix", "first rpxd after a second tried its unix socket")


def case_signals_exit_zero_and_unlink(transport):
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = Rpxd(daytime="tcp://127.0.0.1:0",
                 extra=["--time-listen", "tcp://127.0.0.1:0", "--time-listen", "udp://127.0.0.1:0"])
        try:
            path = d.rpc["unix"][0]
            check(os.path.exists(path), "unix socket %s missing while rpxd runs" % path)
            tcp = d.rpc["tcp"][0]
            with Client(d, "tcp") as c:
                c.null()
            d.stop(sig)  # requires exit status 0
        finally:
            if not d.stopped:
                d.stop()
        check(not os.path.exists(path), "unix socket %s left behind after signal %d" % (path, sig))
        try:
            s = socket.create_connection(tcp, timeout=2)
            s.close()
            fail("tcp listener %r still accepts after rpxd exited" % (tcp,))
        except ConnectionRefusedError:
            pass


def case_ipv6(transport):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        log("no IPv6 loopback here; case not applicable")
        return
    with Rpxd(listen=["tcp://[::1]:0", "udp://[::1]:0"]) as d:
        eq(d.rpc["tcp"][0][0], "::1", "tcp listener host")
        check(any(l.startswith("listening tcp://[::1]:") for l in d.stdout_lines),
              "IPv6 listening line not in URL form tcp://[::1]:PORT: %r" % d.stdout_lines)
        for t in ("tcp", "udp"):
            with Client(d, t) as c:
                c.null()
                check_now_res(c.now(), "NOW over IPv6 " + t, now=time.time())


def case_log_format(transport):
    """--log-level debug: every stderr line is `rpxd: LEVEL: message`."""
    with Rpxd(extra=["--log-level", "debug"]) as d:
        with Client(d, "tcp") as c:
            c.null()
            xid = new_xid()
            expect_accepted_error(c.call(99, xid=xid), xid, PROC_UNAVAIL)
        d.stop()
    lines = d.final_stderr.splitlines()
    check(lines, "--log-level debug logged nothing at all")
    for line in lines:
        check(re.match(r"^rpxd: (error|warn|info|debug): \S", line),
              "stderr line not in the form `rpxd: LEVEL: message`: %r" % line)


if __name__ == "__main__":
    main([case_help, case_version, case_unknown_option, case_bad_listen_urls, case_bad_numbers,
          case_address_in_use, case_unix_socket_of_live_rpxd_kept,
          case_signals_exit_zero_and_unlink, case_ipv6, case_log_format], transports=("tcp",))
