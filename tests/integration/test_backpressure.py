"""With --max-inflight 8, a client that pipelines 400000 NOW calls and reads no replies for 4 s does not make rpxd buffer without bound (RSS growth stays under 16 MiB, other clients are served meanwhile), and once it reads, every call is answered exactly once.

Usage: test_backpressure.py tcp|unix [case...]
"""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403

CALLS = 400000
RSS_GROWTH_KIB = 16 * 1024
# Unbounded buffering would hold up to ~38 MB of replies (and what it reads
# of the ~18 MB of calls), far more than the kernel buffers absorb: ours are
# set to 64 KiB, and rpxd's send buffer tops out at tcp_wmem's 4 MiB.

REPLY_HEAD = x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(AUTH_NONE) + x_uint(0) + x_uint(SUCCESS)


def case_flood_without_reading(transport):
    first_xid = 0x10000000
    template = bytearray(frame(encode_call(0, DATE_NOW)))
    rec_len = len(template)
    data = bytearray(template * CALLS)
    for i in range(CALLS):
        struct.pack_into(">I", data, i * rec_len + 4, first_xid + i)
    data = bytes(data)

    # Under AddressSanitizer freed memory sits in a quarantine (256 MiB) and
    # counts as RSS: turn it off so RSS shows what rpxd really keeps.
    asan = os.environ.get("ASAN_OPTIONS", "")
    asan = (asan + ":" if asan else "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"
    with Rpxd(extra=["--max-inflight", "8"], env={"ASAN_OPTIONS": asan}) as d:
        base = d.rss_kib()
        s = Stream(transport, d.rpc_addr(transport), timeout=None, bufsize=65536)
        send_error = []

        def sender():
            try:
                s.sock.sendall(data)
            except OSError as e:
                send_error.append(e)

        t = threading.Thread(target=sender, daemon=True)
        try:
            t.start()
            peak = base
            t0 = time.monotonic()
            while time.monotonic() - t0 < 4.0:
                peak = max(peak, d.rss_kib())
                time.sleep(0.1)
            check(d.alive(), "rpxd died under the flood; stderr:\n%s" % d.stderr())
            log("sender %s after 4 s without reading" % ("blocked" if t.is_alive() else "done"))
            log("RSS base %d KiB, peak while not reading %d KiB" % (base, peak))
            check(peak - base < RSS_GROWTH_KIB,
                  "rpxd RSS grew by %d KiB (from %d to %d) while a client did not read replies"
                  % (peak - base, base, peak))
            # Another client is served while the flooder is stalled.
            t1 = time.monotonic()
            assert_serves(d, transport, "a second client during the flood")
            check(time.monotonic() - t1 < 1.0, "a second client waited %.2f s for NULL"
                  % (time.monotonic() - t1))

            # Now read everything.
            seen = bytearray(CALLS)
            count = 0
            deadline = time.monotonic() + 90
            buf = bytearray()
            pos = 0
            while count < CALLS:
                left = deadline - time.monotonic()
                check(left > 0, "only %d of %d replies within the deadline" % (count, CALLS))
                r, _, _ = select.select([s.sock], [], [], min(left, 5))
                if not r:
                    fail("no reply for 5 s after %d of %d replies" % (count, CALLS))
                chunk = s.sock.recv(1 << 20)
                if not chunk:
                    fail("connection closed after %d of %d replies" % (count, CALLS))
                buf += chunk
                while len(buf) - pos >= 4:
                    hdr = struct.unpack_from(">I", buf, pos)[0]
                    n = hdr & 0x7FFFFFFF
                    check(hdr & LAST_FRAGMENT, "reply in several fragments not expected here")
                    if len(buf) - pos < 4 + n:
                        break
                    rec = bytes(buf[pos + 4:pos + 4 + n])
                    pos += 4 + n
                    xid = struct.unpack_from(">I", rec, 0)[0]
                    i = xid - first_xid
                    check(0 <= i < CALLS, "reply for unknown xid %#x" % xid)
                    check(not seen[i], "xid %#x answered twice" % xid)
                    seen[i] = 1
                    count += 1
                    if rec[4:24] != REPLY_HEAD:
                        fail("reply %#x is not an accepted SUCCESS: %r" % (xid, Reply(rec)))
                    if count % 10007 == 1:
                        check_now_res(decode_now(Reply(rec).results), "NOW #%d" % i)
                if pos > (1 << 20):
                    del buf[:pos]
                    pos = 0
            t.join(10)
            check(not t.is_alive(), "sender still blocked after all replies were read")
            check(not send_error, "sending failed: %r" % send_error)
            eq(count, CALLS, "replies")
            s.sock.settimeout(5)
            check(s.quiet_for(0.5), "data after the last reply")
            log("all %d replies read" % CALLS)
        finally:
            s.close()
            t.join(5)


if __name__ == "__main__":
    main([case_flood_without_reading], transports=("tcp", "unix"))
