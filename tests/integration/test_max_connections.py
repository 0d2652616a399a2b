"""With --max-connections 4, a fifth stream connection is refused or closed without an answer, the first four keep working, and a slot freed by a closing client can be used again.

Usage: test_max_connections.py tcp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def fifth_is_turned_away(d, transport, what):
    """Connect, send a NULL call: refused, or closed with no reply within 3 s."""
    try:
        s = Stream(transport, d.rpc_addr(transport), timeout=3)
    except (ConnectionRefusedError, ConnectionResetError, socket.timeout):
        return
    with s:
        try:
            s.send(frame(encode_call(new_xid(), DATE_NULL)))
        except (BrokenPipeError, ConnectionResetError):
            return
        try:
            data = s.wait_closed(3.0)
        except Timeout:
            fail("%s: connection over the limit neither refused nor closed within 3 s" % what)
        eq(data, b"", "%s: connection over the limit got an answer" % what)


def case_fifth_connection(transport):
    with Rpxd(extra=["--max-connections", "4"]) as d:
        clients = [Client(d, transport) for _ in range(4)]
        try:
            for c in clients:
                c.null()
            fifth_is_turned_away(d, transport, "5th connection")
            fifth_is_turned_away(d, transport, "6th connection")
            for i, c in enumerate(clients):
                c.null()
                check_now_res(c.now(), "NOW on connection %d" % i, now=time.time())
            # Free one slot: a new client gets in (allow the close to be noticed).
            clients.pop(0).close()
            deadline = time.monotonic() + 3
            while True:
                try:
                    with Client(d, transport) as c:
                        c.null()
                    break
                except (Closed, Timeout, OSError, TestFailure) as e:
                    if time.monotonic() > deadline:
                        fail("a new client was not served 3 s after a slot was freed: %r" % e)
                    time.sleep(0.1)
            for c in clients:
                c.null()
        finally:
            for c in clients:
                c.close()


if __name__ == "__main__":
    main([case_fifth_connection], transports=("tcp", "unix"))
