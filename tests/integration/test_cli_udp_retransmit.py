#!/usr/bin/env python3
"""rpx over UDP resends a call with one XID at doubling intervals, and a reply to a retransmission completes it.

A fake server owned by this test (a plain UDP socket) drops the first two
transmissions of a DATE NOW call and answers the third with a hand-encoded
RFC 5531 reply; rpx must print that reply. Needs no rpxd.
Environment: RPX (path of the binary).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)
import struct
import threading


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


def main():
    rpx = binary("RPX")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    seen = []  # (arrival time, datagram)

    def serve():
        sock.settimeout(5)
        try:
            while len(seen) < 3:
                data, peer = sock.recvfrom(65536)
                seen.append((time.monotonic(), data))
                if len(seen) == 3:
                    xid = data[:4]
                    reply = (xid + struct.pack(">IIIII", 1, 0, 0, 0, 0) +
                             struct.pack(">qIi", 1700000000, 123, 3600) +
                             xdr_string("CET") + xdr_string("2023-11-14T23:13:20.000000123+01:00"))
                    sock.sendto(reply, peer)
        except socket.timeout:
            pass

    th = threading.Thread(target=serve)
    th.start()
    st, out, err, secs = run([rpx, "--timeout", "4000", "--retry", "150", "-H",
                              "udp://127.0.0.1:%d" % port, "date", "--json"])
    th.join()
    sock.close()
    if st != 0:
        fail("rpx date against a server answering the 3rd transmission: exit %d, stderr %r"
             % (st, err))
    want = ('{"host":"udp://127.0.0.1:%d","seconds":1700000000,"nanoseconds":123,'
            '"utc_offset":3600,"zone":"CET","rfc3339":"2023-11-14T23:13:20.000000123+01:00"}\n'
            % port)
    if out != want:
        fail("rpx date --json: got %r, want %r" % (out, want))
    if len(seen) != 3:
        fail("expected exactly 3 transmissions, saw %d" % len(seen))
    xids = set(d[:4] for _, d in seen)
    if len(xids) != 1:
        fail("retransmissions used %d different XIDs" % len(xids))
    # Call header: xid, CALL, rpcvers 2, prog, vers, proc NOW.
    _, mtype, rpcvers, prog, vers, proc = struct.unpack(">IIIIII", seen[0][1][:24])
    if (mtype, rpcvers, prog, vers, proc) != (0, 2, 0x20007701, 1, 1):
        fail("unexpected call header %r" % ((mtype, rpcvers, prog, vers, proc),))
    if any(d != seen[0][1] for _, d in seen):
        fail("retransmissions differ from the first transmission")
    gap1 = seen[1][0] - seen[0][0]
    gap2 = seen[2][0] - seen[1][0]
    if not (0.1 <= gap1 < 0.5 and gap2 >= 1.5 * gap1):
        fail("intervals %.3f s then %.3f s: expected about 0.15 s then doubling" % (gap1, gap2))
    print("ok")


if __name__ == "__main__":
    main()
