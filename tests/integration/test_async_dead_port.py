#!/usr/bin/env python3
"""Async calls to a port (or socket) nobody listens on fail fast, well before their deadline, with "connection refused" (unix: "no such file") and the URL in the text, for tcp, unix, tls and udp (ICMP); later calls on the failed connection are refused at once; a bad URL fails rpx_async_open.

Environment: RPXD (for the build tree), optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import errno  # noqa: E402
import tempfile  # noqa: E402


def main():
    tmp = tempfile.mkdtemp(prefix="rpx-async-dead-")
    urls = ["tcp://127.0.0.1:%d" % free_port(),
            "unix:" + os.path.join(tmp, "nobody.sock"),
            "tls://127.0.0.1:%d" % free_port()]
    res = run_driver(["-n", 3, "-t", 10000, "-T", 10000, "--again"] + urls)
    check(res.elapsed_ms < 2000, "dead ports took %d ms to fail" % res.elapsed_ms)
    for u, url in enumerate(urls):
        want = -errno.ENOENT if url.startswith("unix:") else -errno.ECONNREFUSED
        for i in range(3):
            e, text = res.err((u, i))
            eq(e, want, "%s call %d errno" % (url, i))
            check(text.startswith(url + ": "), "message %r does not start with the URL %s"
                  % (text, url))
            check(("connection refused" if want == -errno.ECONNREFUSED
                   else "no such file") in text, "message %r" % text)
        # The connection stays failed: a later call is refused at once, same error.
        eq(res.again[u], (want, text), "%s: a call after the failure" % url)
    # UDP learns "refused" from the kernel's ICMP port unreachable, which the
    # kernel rate-limits per destination: other tests flooding 127.0.0.1 can
    # use it up. Refused is the expected answer; a timeout at the deadline
    # (never more) is tolerated and logged.
    url = "udp://127.0.0.1:%d" % free_port(socket.SOCK_DGRAM)
    res = run_driver(["-n", 3, "-t", 3000, url])
    for i in range(3):
        e, text = res.err((0, i))
        check(text.startswith(url + ": "), "message %r does not name %s" % (text, url))
        if e == -errno.ETIMEDOUT:
            log("UDP call %d: no ICMP refusal seen (rate-limited?): %s" % (i, text))
            continue
        eq(e, -errno.ECONNREFUSED, "%s errno (%s)" % (url, text))
        check("connection refused" in text, "message %r" % text)
    check(res.elapsed_ms < 3800, "UDP calls took %d ms (deadline 3000)" % res.elapsed_ms)
    res = run_driver(["not-a-scheme://x", "tcp://127.0.0.1:99999"])
    check("bad URL" in res.opens.get(0, "") and "bad URL" in res.opens.get(1, ""),
          "bad URLs: %r" % res.opens)
    os.rmdir(tmp)
    print("ok")


if __name__ == "__main__":
    main()
