"""rpxd answers every RFC 5531 accept/reject error (RPC_MISMATCH, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS) with the exact reply bytes, and keeps serving after each.

Usage: test_rpc_errors.py tcp|udp|unix [case...]
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rpxtest import *  # noqa: E402,F401,F403


def case_rpc_mismatch(transport):
    """rpcvers 3 (and 0, 1, 0xffffffff) -> MSG_DENIED RPC_MISMATCH low 2 high 2."""
    with Rpxd() as d, Client(d, transport) as c:
        for rpcvers in (3, 0, 1, 0xFFFFFFFF):
            xid = new_xid()
            r = c.call(DATE_NULL, xid=xid, rpcvers=rpcvers)
            expect_denied(r, xid, RPC_MISMATCH, low=2, high=2, what="rpcvers %d" % rpcvers)
            # RPC_MISMATCH wins over any other error in the same call.
            xid = new_xid()
            r = c.call(99, xid=xid, rpcvers=rpcvers, prog=0x12345678, vers=7)
            expect_denied(r, xid, RPC_MISMATCH, low=2, high=2,
                          what="rpcvers %d with bad prog" % rpcvers)
        c.null()
        assert_serves(d, transport)


def case_prog_unavail(transport):
    """An unknown program number -> PROG_UNAVAIL, whatever vers/proc."""
    with Rpxd() as d, Client(d, transport) as c:
        for prog, vers, proc in ((0x200077FF, 1, 0), (0x12345678, 1, 1), (0, 0, 0),
                                 (0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (100000, 2, 0)):
            xid = new_xid()
            r = c.call(proc, xid=xid, prog=prog, vers=vers)
            expect_accepted_error(r, xid, PROG_UNAVAIL, what="prog %#x" % prog)
        c.null()
        assert_serves(d, transport)


def case_prog_mismatch(transport):
    """DATE vers 2, 0 and 0xffffffff -> PROG_MISMATCH low 1 high 1."""
    with Rpxd() as d, Client(d, transport) as c:
        for vers in (2, 0, 0xFFFFFFFF):
            for proc in (0, 1, 99):
                xid = new_xid()
                r = c.call(proc, xid=xid, vers=vers)
                expect_accepted_error(r, xid, PROG_MISMATCH, low=1, high=1,
                                      what="vers %d proc %d" % (vers, proc))
        c.null()
        assert_serves(d, transport)


def case_proc_program_errors(transport):
    """The PROC program (0x20007702) gets the same generic errors: vers 2 -> PROG_MISMATCH
    1..1, proc 99 -> PROC_UNAVAIL, and its NULL answers."""
    proc_prog = 0x20007702
    with Rpxd() as d, Client(d, transport) as c:
        xid = new_xid()
        eq(expect_success(c.call(0, xid=xid, prog=proc_prog), xid, "PROC NULL"), b"", "PROC NULL")
        for vers in (0, 2):
            xid = new_xid()
            expect_accepted_error(c.call(0, xid=xid, prog=proc_prog, vers=vers), xid,
                                  PROG_MISMATCH, low=1, high=1, what="PROC vers %d" % vers)
        for proc in (99, 0xFFFFFFFF):
            xid = new_xid()
            expect_accepted_error(c.call(proc, xid=xid, prog=proc_prog), xid, PROC_UNAVAIL,
                                  what="PROC proc %d" % proc)


def case_proc_unavail(transport):
    """DATE vers 1 proc 99 (and 3, 0xffffffff) -> PROC_UNAVAIL."""
    with Rpxd() as d, Client(d, transport) as c:
        for proc in (99, 3, 0xFFFFFFFF):
            xid = new_xid()
            r = c.call(proc, xid=xid)
            expect_accepted_error(r, xid, PROC_UNAVAIL, what="proc %d" % proc)
        c.null()
        assert_serves(d, transport)


def case_garbage_args(transport):
    """Undecodable arguments or bytes after them -> GARBAGE_ARGS."""
    with Rpxd() as d, Client(d, transport) as c:
        full = format_args(0, 0, True)
        eq(len(full), 16, "FORMAT args size")
        cases = [
            ("FORMAT without args", DATE_FORMAT, b""),
            ("FORMAT args truncated to 12 bytes", DATE_FORMAT, full[:12]),
            ("FORMAT args truncated to 8 bytes", DATE_FORMAT, full[:8]),
            ("FORMAT args truncated to 4 bytes", DATE_FORMAT, full[:4]),
            ("FORMAT args plus 4 trailing bytes", DATE_FORMAT, full + b"\0\0\0\0"),
            ("NULL with 4 trailing bytes", DATE_NULL, b"\0\0\0\1"),
            ("NULL with 400 trailing bytes", DATE_NULL, b"\xab" * 400),
            ("NOW with 8 trailing bytes", DATE_NOW, b"\0" * 8),
        ]
        for what, proc, args in cases:
            xid = new_xid()
            r = c.call(proc, args, xid=xid)
            expect_accepted_error(r, xid, GARBAGE_ARGS, what=what)
        # The connection (or socket) is still good for real calls.
        c.null()
        eq(c.format(0, 0, True)[0], 0, "FORMAT after GARBAGE_ARGS: error")
        assert_serves(d, transport)


def case_errors_keep_connection(transport):
    """Error replies and good replies interleave on one connection, XIDs kept."""
    with Rpxd() as d, Client(d, transport) as c:
        for i in range(20):
            xid = new_xid()
            expect_accepted_error(c.call(99, xid=xid), xid, PROC_UNAVAIL, what="round %d" % i)
            xid = new_xid()
            expect_denied(c.call(0, xid=xid, rpcvers=3), xid, RPC_MISMATCH, low=2, high=2,
                          what="round %d" % i)
            c.null()


def case_xid_echoed(transport):
    """Replies carry the call's XID exactly, including 0, 0x80000000 and 0xffffffff."""
    with Rpxd() as d, Client(d, transport) as c:
        for xid in (0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF):
            eq(expect_success(c.call(DATE_NULL, xid=xid), xid, "NULL xid %#x" % xid), b"",
               "NULL results")
            expect_accepted_error(c.call(99, xid=xid), xid, PROC_UNAVAIL, what="xid %#x" % xid)


if __name__ == "__main__":
    main([case_xid_echoed, case_rpc_mismatch, case_prog_unavail, case_prog_mismatch, case_proc_unavail,
          case_garbage_args, case_errors_keep_connection, case_proc_program_errors])
