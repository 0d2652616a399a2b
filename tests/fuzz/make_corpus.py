#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets: tests/fuzz/corpus/<target>/.

  corpus/call/     one RPC message each (no record mark), for fuzz_call
  corpus/xdr/      byte 0 type index (fuzz_xdr.c's table; bit 7: inside a
                   reply message), then its XDR encoding, for fuzz_xdr
  corpus/recmark/  byte 0 record limit, byte 1 read-size seed, then a byte
                   stream of record-marked fragments, for fuzz_recmark

Run it again after changing it and commit the files it writes; it first
removes the seeds it owns (seed-*), never the inputs named crash-* or
regress-* that reproduce bugs found by fuzzing.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATE_PROG, DATE_VERS = 0x20007701, 1
MUT_PROG = 0x2000999A  # fuzz_call.c's mutating test program, version 1, procedure 0
NULL, NOW, FORMAT = 0, 1, 2
AUTH_NONE, AUTH_SYS, AUTH_SHORT, AUTH_TLS = 0, 1, 2, 7
CALL, REPLY = 0, 1


def u32(*words):
    return b"".join(struct.pack(">I", w & 0xFFFFFFFF) for w in words)


def opaque(data):
    return u32(len(data)) + data + b"\0" * (-len(data) % 4)


def authsys(machine=b"fuzzhost", uid=1000, gid=100, gids=(100, 27), trailing=b""):
    return u32(1700000000) + opaque(machine) + u32(uid, gid, len(gids), *gids) + trailing


def call(xid, proc, args=b"", prog=DATE_PROG, vers=DATE_VERS, rpcvers=2,
         cred=(AUTH_NONE, b""), verf=(AUTH_NONE, b""), direction=CALL):
    return (u32(xid, direction, rpcvers, prog, vers, proc) + u32(cred[0]) + opaque(cred[1]) +
            u32(verf[0]) + opaque(verf[1]) + args)


def format_args(seconds, ns=0, utc=True):
    return struct.pack(">qII", seconds, ns, 1 if utc else 0)


def mut_args(client, seq, acked=0, value=1):
    return struct.pack(">QQQI", client, seq, acked, value)


def mut(xid, args, **kw):
    kw.setdefault("prog", MUT_PROG)
    kw.setdefault("vers", 1)
    return call(xid, 0, args, **kw)


def frag(body, last):
    return u32(len(body) | (0x80000000 if last else 0)) + body


def record(body, pieces=1):
    """@body as one record cut into @pieces fragments."""
    if pieces <= 1:
        return frag(body, True)
    step = max(1, len(body) // pieces)
    out, at = b"", 0
    for _ in range(pieces - 1):
        out += frag(body[at:at + step], False)
        at += step
    return out + frag(body[at:], True)


def call_seeds():
    big_cred = bytes(range(256)) + bytes(144)
    return {
        "null": call(1, NULL),
        "now": call(2, NOW),
        "format-utc-epoch": call(3, FORMAT, format_args(0)),
        "format-local": call(4, FORMAT, format_args(1795785449, 123456789, False)),
        "format-negative": call(5, FORMAT, format_args(-62167219200)),
        "format-bad-ns": call(6, FORMAT, format_args(0, 1000000000)),
        "format-year-10000": call(7, FORMAT, format_args(253402300800)),
        "format-int64-min": call(8, FORMAT, format_args(-(1 << 63), 0, False)),
        "auth-sys-null": call(9, NULL, cred=(AUTH_SYS, authsys())),
        "auth-sys-16-gids": call(10, NOW, cred=(AUTH_SYS, authsys(gids=range(16)))),
        "auth-sys-17-gids": call(11, NOW, cred=(AUTH_SYS, authsys(gids=range(17)))),
        "auth-sys-trailing": call(12, NULL, cred=(AUTH_SYS, authsys(trailing=u32(0)))),
        "auth-sys-machine-255": call(13, NULL, cred=(AUTH_SYS, authsys(machine=b"m" * 255))),
        "auth-none-with-body": call(14, NULL, cred=(AUTH_NONE, b"abcd")),
        "auth-short": call(15, NULL, cred=(AUTH_SHORT, b"12345678")),
        "auth-tls": call(16, NULL, cred=(AUTH_TLS, b"")),  # RFC 9289 probe
        "auth-tls-now": call(50, NOW, cred=(AUTH_TLS, b"")),
        "auth-tls-body": call(51, NULL, cred=(AUTH_TLS, b"tls!")),
        "auth-tls-trailing": call(52, NULL, u32(0), cred=(AUTH_TLS, b"")),
        "auth-tls-verf-sys": call(53, NULL, cred=(AUTH_TLS, b""), verf=(AUTH_SYS, authsys())),
        "auth-tls-mut": call(54, 0, mut_args(7, 9), prog=MUT_PROG, vers=1, cred=(AUTH_TLS, b"")),
        "auth-tls-vers-2": call(55, NULL, vers=2, cred=(AUTH_TLS, b"")),
        "cred-400": call(17, NULL, cred=(3, big_cred)),
        "cred-401": call(18, NULL, cred=(3, big_cred + b"x")),
        "verf-sys": call(19, NULL, verf=(AUTH_SYS, authsys())),
        "verf-none-body": call(20, NULL, verf=(AUTH_NONE, b"vv")),
        "rpcvers-3": call(21, NULL, rpcvers=3),
        "rpcvers-only": call(22, NULL, rpcvers=3)[:12],
        "prog-unknown": call(23, NULL, prog=0x20000000),
        "vers-2": call(24, NULL, vers=2),
        "proc-3": call(25, 3),
        "proc-max": call(26, 0xFFFFFFFF),
        "format-no-args": call(27, FORMAT),
        "format-short-args": call(28, FORMAT, format_args(0)[:8]),
        "format-trailing-byte": call(29, FORMAT, format_args(0) + b"\0"),
        "null-trailing-word": call(30, NULL, u32(0)),
        "reply": call(31, NULL, direction=REPLY),
        "direction-7": call(32, NULL, direction=7),
        "short-11": call(33, NULL)[:11],
        "header-cut-30": call(34, NULL)[:30],
        "cred-len-2g": call(35, NULL)[:28] + u32(0x7FFFFFF0),
        "empty": b"",
        "mut-reqid": mut(40, mut_args(0x1122334455667788, 1)),
        "mut-fallback-key": mut(41, mut_args(0, 0)),
        "mut-auth-sys": mut(42, mut_args(7, 9), cred=(AUTH_SYS, authsys(uid=0))),
        "mut-refused": mut(43, mut_args(7, 9, value=666)),
        "mut-acked-above-seq": mut(44, mut_args(7, 9, acked=100)),
        "mut-seq-max": mut(45, mut_args(7, 0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)),
        "mut-short-args": mut(46, mut_args(7, 9)[:20]),
        "mut-trailing": mut(47, mut_args(7, 9) + u32(0)),
        "mut-vers-2": mut(48, mut_args(7, 9), vers=2),
        "mut-proc-1": call(49, 1, mut_args(7, 9), prog=MUT_PROG, vers=1),
    }


def recmark_seeds():
    null, now = call(1, NULL), call(2, NOW)
    fmt = call(3, FORMAT, format_args(0))
    seeds = {
        "single-whole": (255, 0, record(null)),
        "single-chunks-7": (255, 7, record(null)),
        "single-bytewise": (255, 64, record(now)),
        "three-fragments": (255, 13, record(fmt, 3)),
        "back-to-back": (255, 5, record(null) + record(now, 2) + record(fmt)),
        "empty-record": (16, 0, frag(b"", True)),
        "zero-length-fragments": (16, 3, frag(b"", False) + frag(b"ab", False) +
                                  frag(b"", False) + frag(b"", True)),
        "limit-exact": (40, 9, record(null)),
        "limit-one-over": (39, 9, record(null)),
        "limit-over-second-fragment": (20, 2, frag(b"x" * 20, False) + frag(b"y", True)),
        "limit-zero": (0, 0, frag(b"", True) + frag(b"a", True)),
        "header-2g-last": (255, 0, u32(0xFFFFFFFF) + b"body"),
        "header-2g": (255, 1, u32(0x7FFFFFFF) + b"body"),
        "header-half": (255, 0, b"\x80\x00"),
        "partial-body": (255, 3, u32(0x80000010) + b"12345"),
        "partial-second-header": (255, 1, frag(b"abcd", False) + b"\x80"),
        "max-fragments": (255, 0, frag(b"", False) * 1023 + frag(b"", True)),
        "too-many-fragments": (255, 0, frag(b"", False) * 1024 + frag(b"", True)),
    }
    return {name: bytes([limit, seed]) + stream for name, (limit, seed, stream) in seeds.items()}


# fuzz_xdr.c's table, in order.
XDR_TYPES = ["spawn_args", "spawn_res", "list_args", "list_res", "info_res", "kill_args",
             "kill_res", "wait_args", "wait_res", "output_args", "output_res", "stats_res",
             "job_record", "job_id", "date_now_res", "date_format_args", "date_format_res"]


def xdr_string(b):
    return opaque(b)


def xdr_seeds():
    seeds = {}
    for i, name in enumerate(XDR_TYPES):
        # All zeros: empty strings and arrays, enums 0, FALSE: a value of every type.
        seeds["zeros-" + name] = bytes([i]) + bytes(1024)
        # The same as the results of an accepted reply (xid 7, AUTH_NONE, SUCCESS).
        seeds["reply-" + name] = bytes([0x80 | i]) + u32(7, REPLY, 0, AUTH_NONE, 0, 0) + bytes(1024)
    ix = XDR_TYPES.index
    argv = u32(2) + xdr_string(b"/bin/echo") + xdr_string(b"hello")
    seeds["spawn-echo"] = bytes([ix("spawn_args")]) + (
        u32(0, 1, 0, 2, 0, 0) + argv + u32(0, 0) + u32(0) + u32(0) + xdr_string(b"/tmp") +
        opaque(b"input") + u32(0, 1) + xdr_string(b"job") +
        u32(1) + xdr_string(b"team") + xdr_string(b"red") + u32(0, 0, 0, 0, 0, 0) + u32(2) +
        xdr_string(b""))
    seeds["wait-three"] = bytes([ix("wait_args")]) + u32(3, 0, 1, 0, 2, 0, 3, 1000, 1)
    seeds["output-chunks"] = bytes([ix("output_res")]) + (
        u32(0) + xdr_string(b"") + u32(0, 0, 0, 5) + opaque(b"hello") + u32(1) +
        u32(0, 0, 0, 0) + opaque(b"") + u32(0) + u32(1))
    seeds["format-error"] = bytes([ix("date_format_res")]) + u32(22) + xdr_string(b"bad")
    seeds["reply-denied"] = bytes([0x80]) + u32(7, REPLY, 1, 0, 2, 2)
    seeds["reply-garbage-args"] = bytes([0x80 | ix("list_res")]) + u32(7, REPLY, 0, 0, 0, 4)
    seeds["bool-two"] = bytes([ix("kill_args")]) + u32(0, 1, 0, 2, 0, 3, 0, 9, 2)
    seeds["pad-nonzero"] = bytes([ix("date_now_res")]) + u32(0, 0, 0, 0) + u32(3) + b"UTCx" + u32(0)
    return seeds


def write(target, seeds):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for name, data in sorted(seeds.items()):
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (folder, len(seeds)))


def main():
    write("call", call_seeds())
    write("recmark", recmark_seeds())
    write("xdr", xdr_seeds())
    return 0


if __name__ == "__main__":
    sys.exit(main())
