#!/usr/bin/env python3
"""A stream that breaks under pending async calls fails every one of them with the URL and the reason: the server closing after reading the calls ("connection closed by server", ECONNRESET), and a reply record announced larger than 16 MiB (EMSGSIZE, refused from its header before any body byte is buffered).

Environment: RPXD (for the build tree), optionally ASYNC_DRIVER and RPX_BUILD_DIR.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asynctest import *  # noqa: E402,F401,F403
import errno  # noqa: E402

N = 20


class CloseAfterCalls(Server):
    """Reads `n` calls, then closes, or first sends `send` and waits a second."""

    def __init__(self, n, send=b""):
        self.n, self.send = n, send
        super().__init__()

    def run(self):
        self.accept_loop(self.serve)

    def serve(self, conn):
        with conn:
            for _ in range(self.n):
                recv_record(conn, 10)
            if self.send:
                conn.sendall(self.send)
                time.sleep(1.0)  # the client gives up first


def main():
    srv = CloseAfterCalls(N)
    url = "tcp://127.0.0.1:%d" % srv.port
    try:
        res = run_driver(["-n", N, "-t", 10000, url])
    finally:
        srv.stop()
    check(res.elapsed_ms < 3000, "took %d ms" % res.elapsed_ms)
    for i in range(N):
        e, text = res.err((0, i))
        eq(e, -errno.ECONNRESET, "errno (%s)" % text)
        eq(text, url + ": connection closed by server", "text")

    # A reply whose record marking announces 17 MiB: refused from the header.
    huge = struct.pack(">I", LAST_FRAGMENT | (17 << 20))
    srv = CloseAfterCalls(N, send=huge + b"\0" * 1000)
    url = "tcp://127.0.0.1:%d" % srv.port
    try:
        res = run_driver(["-n", N, "-t", 10000, url])
    finally:
        srv.stop()
    check(res.elapsed_ms < 1000, "took %d ms" % res.elapsed_ms)
    for i in range(N):
        e, text = res.err((0, i))
        eq(e, -errno.EMSGSIZE, "errno (%s)" % text)
        eq(text, url + ": reply larger than 16777216 bytes", "text")
    print("ok")


if __name__ == "__main__":
    main()
