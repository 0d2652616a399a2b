"""Record marking inside RPC-with-TLS: several RPC records in one TLS record (pipelined) are all answered; RPC records cut at every kind of boundary across TLS records are reassembled; a call of exactly --max-record (1 MiB, a SPAWN whose stdin is checked by sha256sum in the job) sent as hundreds of small TLS records, with its record-marking fragments split too, is served; a fragment header past --max-record closes the session.

Usage: test_tls_records.py [case...]   (needs RPXD, root, and the openssl command)
"""

import hashlib
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proctest  # noqa: E402
from proctest import SPAWN, Skip, enc_spawn, expect_exited, is_root, main  # noqa: E402
from tlstest import *  # noqa: E402,F401,F403


def pipelined_calls(n):
    """n calls (NULL, NOW, FORMAT in turn), some split into fragments: [(xid, proc, bytes)]."""
    out = []
    for i in range(n):
        xid = new_xid()
        proc = (DATE_NULL, DATE_NOW, 2)[i % 3]
        args = rpxtest.format_args(1700000000 + i, 0, True) if proc == 2 else b""
        msg = encode_call(xid, proc, args)
        cuts = [4, 0, 9] if i % 4 == 1 else None
        out.append((xid, proc, frame(msg, cuts)))
    return out


def check_answers(st, calls, what):
    got = {}
    for _ in calls:
        r = st.recv_reply(10)
        check(r.xid not in got, "%s: two replies to xid %#x" % (what, r.xid))
        got[r.xid] = r
    for xid, proc, _ in calls:
        check(xid in got, "%s: no reply to xid %#x" % (what, xid))
        res = expect_success(got[xid], xid, what)
        if proc == DATE_NULL:
            eq(res, b"", what + ": NULL results")
        elif proc == DATE_NOW:
            check_now_res(decode_now(res), what + ": NOW", now=time.time())
        else:
            err, val = rpxtest.decode_format(res)
            eq(err, 0, what + ": FORMAT error")
    check(st.quiet_for(0.3), "%s: more replies than calls" % what)


def case_pipelined_in_one_tls_record():
    """30 calls (some in several fragments) in one SSL_write, so in one TLS
    record: 30 replies, each once; then the same bytes cut at random into
    many TLS records (boundaries inside headers, fragments and records)."""
    with Pki() as pki:
        s = Setup(pki)
        with Rpxd(s.rpxd_args(client_ca=False), transports=("tcp",)) as d:
            st = tls_connect(d, client_context(s.ca))
            calls = pipelined_calls(30)
            blob = b"".join(c[2] for c in calls)
            check(len(blob) < 16384, "the pipelined calls fit one TLS record")
            st.send(blob)
            check_answers(st, calls, "pipelined calls in one TLS record")
            rnd = random.Random(9289)
            for round_ in range(5):
                calls = pipelined_calls(30)
                blob = b"".join(c[2] for c in calls)
                chunks, pos = [], 0
                while pos < len(blob):
                    n = rnd.choice((1, 2, 3, 5, 7, 13, 40, 100))
                    chunks.append(blob[pos:pos + n])
                    pos += n
                st.send_records(chunks)
                check_answers(st, calls, "calls cut into %d TLS records (round %d)"
                              % (len(chunks), round_))
            st.close()


def case_max_record_call_in_many_tls_records():
    """A SPAWN of `sha256sum` whose call record is exactly 1 MiB (the default
    --max-record), in fragments of 100,000 bytes, written as TLS records of
    1 to 20,000 bytes: the job hashes its stdin to the digest computed here.
    A record one 4-byte step past 1 MiB closes the session (limit inside
    TLS), and rpxd keeps serving."""
    if not is_root():
        raise Skip("mapped users need root")
    limit = 1 << 20
    with Pki() as pki:
        s = Setup(pki)
        users = "sha256:%s nobody\n" % s.alice.fingerprint
        with Rpxd(s.rpxd_args(users=users), transports=("tcp",)) as d:
            c = tls_proc_client(d, client_context(s.ca, s.alice), timeout=30)
            argv = ["sha256sum"]
            overhead = len(encode_call(0, SPAWN, enc_spawn(argv, stdin=b""),
                                       prog=proctest.PROC_PROG, vers=proctest.PROC_VERS))
            size = limit - overhead
            check(size % 4 == 0, "stdin size keeps the record at exactly 1 MiB")
            data = random.Random(7).randbytes(size)
            xid = new_xid()
            msg = encode_call(xid, SPAWN, enc_spawn(argv, stdin=data), prog=proctest.PROC_PROG,
                              vers=proctest.PROC_VERS)
            eq(len(msg), limit, "call record length")
            wire = frame(msg, [100000] * 10)
            rnd = random.Random(5531)
            chunks, pos = [], 0
            while pos < len(wire):
                n = rnd.randint(1, 20000)
                chunks.append(wire[pos:pos + n])
                pos += n
            check(len(chunks) > 90, "the call spans many TLS records (%d)" % len(chunks))
            c.conn.send_records(chunks)
            r = c.recv(xid, SPAWN, timeout=30)
            proctest.expect_ok(r.status, "SPAWN of 1 MiB")
            out, err = c.read_all(r.job)
            w = c.wait_ok(r.job, 10000)
            expect_exited(w, 0, "sha256sum")
            eq(out.decode().split()[0], hashlib.sha256(data).hexdigest(), "digest of the stdin")
            # Still the same session: a NULL.
            c.null()
            # Past the limit: the fragment header alone closes the session.
            c.conn.send(struct.pack(">I", LAST_FRAGMENT | (limit + 4)) + b"\0" * 1000)
            try:
                rest = c.conn.wait_closed(5)
            except Timeout:
                fail("a record header of 1 MiB + 4 bytes did not close the TLS session")
            eq(rest, b"", "bytes after an oversized record header")
            c.close()
            with TlsClient(d, client_context(s.ca, s.alice)) as t:
                t.null()


if __name__ == "__main__":
    main([case_pipelined_in_one_tls_record, case_max_record_call_in_many_tls_records])
