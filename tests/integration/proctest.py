"""proctest: XDR and RPC helpers for integration tests of rpxd's PROC program.

idl/proc.x (program 0x20007702, version 1) is encoded and decoded here by
hand with struct, field by field, independently of rpcgen and of rpxd's C
code: the tests check the wire format instead of agreeing with themselves.
Every decoder checks the XDR bounds of proc.x and that nothing trails the
result.

The process, transport and record-marking parts come from rpxtest.py (Rpxd,
Stream, Dgram, encode_call, frame, Reply). On top of them: ProcClient (one
connection that can keep several calls in flight, for WAIT and OUTPUT
follow), /proc readers for the checks (state, children, descriptors, RSS),
and a case runner.

Python 3 standard library only. Every wait has a deadline.
"""

import errno
import os
import signal
import struct
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rpxtest  # noqa: E402
from rpxtest import (  # noqa: E402,F401
    AUTH_ERROR, AUTH_NONE_AUTH, AUTH_TOOWEAK, Closed, Dgram, GARBAGE_ARGS, MSG_ACCEPTED,
    MSG_DENIED, Rpxd, SKIP, SUCCESS, Stream, TestFailure, Timeout, Unpacker, check,
    encode_call, eq, expect_denied, expect_success, fail, frame, log, new_xid, x_bool,
    x_hyper, x_int, x_opaque, x_string, x_uhyper, x_uint)

# ---- idl/proc.x --------------------------------------------------------------

PROC_PROG = 0x20007702
PROC_VERS = 1
NULL, SPAWN, LIST, INFO, KILL, WAIT, OUTPUT, STATS = range(8)

ARGV_MAX = 4096
ENV_MAX = 4096
ARG_MAX = 131072
PATH_MAX = 4096
NAME_MAX = 256
LABELS_MAX = 64
STDIN_MAX = 1048576
MESSAGE_MAX = 1024
LIST_MAX = 1000
CMDLINE_MAX = 4096
WAIT_JOBS_MAX = 1024
CHUNK_MAX = 262144

ENV_INHERIT, ENV_CLEAR = 0, 1
STDIO_CAPTURE, STDIO_DISCARD = 0, 1
PSTATE_NEW, PSTATE_RUNNING, PSTATE_WAITING, PSTATE_STOPPED, PSTATE_TERMINATED = range(5)
EXIT_NONE, EXIT_EXITED, EXIT_SIGNALED, EXIT_UNKNOWN = range(4)
LIST_JOBS, LIST_ALL = 0, 1
STREAM_OUT, STREAM_ERR = 1, 2

NO_REQID = (0, 0, 0)


class PUnpacker(Unpacker):
    """rpxtest's strict decoder plus unsigned hyper, enums and arrays."""

    def uhyper(self):
        return struct.unpack(">Q", self._take(8))[0]

    def enum(self, allowed, what):
        v = self.int()
        if v not in allowed:
            fail("%s: enum %s value %d not in %r" % (self.what, what, v, tuple(allowed)))
        return v

    def array(self, item, maxlen, what):
        n = self.uint()
        if n > maxlen:
            fail("%s: array %s of %d entries exceeds its bound %d" % (self.what, what, n, maxlen))
        return [item() for _ in range(n)]


# ---- encoders ------------------------------------------------------------------


def x_strings(items, maxlen=None):
    items = list(items)
    return x_uint(len(items)) + b"".join(x_string(s) for s in items)


def x_reqid(r=NO_REQID):
    return x_uhyper(r[0]) + x_uhyper(r[1]) + x_uhyper(r[2])


def x_label(key, value):
    return x_string(key) + x_string(value)


def enc_spawn(argv, shell=False, env_mode=ENV_INHERIT, env_set=(), env_unset=(), cwd="",
              stdin=b"", stdout_mode=STDIO_CAPTURE, stderr_mode=STDIO_CAPTURE, name="",
              labels=(), limits=(0, 0, 0), importance=0, user="", reqid=NO_REQID):
    """rpx_spawn_args."""
    b = x_reqid(reqid)
    b += x_strings(argv)
    b += x_bool(shell)
    b += x_int(env_mode)
    b += x_strings(env_set)
    b += x_strings(env_unset)
    b += x_string(cwd)
    b += x_opaque(stdin)
    b += x_int(stdout_mode) + x_int(stderr_mode)
    b += x_string(name)
    labels = list(labels)
    b += x_uint(len(labels)) + b"".join(x_label(k, v) for k, v in labels)
    b += b"".join(x_uhyper(v) for v in limits)
    b += x_int(importance)
    b += x_string(user)
    return b


def enc_list(scope=LIST_JOBS, state_mask=0, name="", label=("", ""), cursor=0, limit=0):
    """rpx_list_args."""
    return (x_int(scope) + x_uint(state_mask) + x_string(name) + x_label(*label)
            + x_uhyper(cursor) + x_uint(limit))


def enc_kill(job, sig, group=False, reqid=NO_REQID):
    """rpx_kill_args."""
    return x_reqid(reqid) + x_uhyper(job) + x_int(sig) + x_bool(group)


def enc_wait(jobs, timeout_ms=-1, keep=False):
    """rpx_wait_args."""
    jobs = list(jobs)
    return (x_uint(len(jobs)) + b"".join(x_uhyper(j) for j in jobs) + x_int(timeout_ms)
            + x_bool(keep))


def enc_output(job, stdout_offset=0, stderr_offset=0, streams=3, max_bytes=0, follow=False,
               timeout_ms=-1):
    """rpx_output_args."""
    return (x_uhyper(job) + x_uhyper(stdout_offset) + x_uhyper(stderr_offset)
            + x_uint(streams) + x_uint(max_bytes) + x_bool(follow) + x_int(timeout_ms))


# ---- decoders ------------------------------------------------------------------


class Obj(dict):
    """A decoded struct: fields as keys and as attributes."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k)


def d_status(u):
    return Obj(error=u.int(), message=u.string(MESSAGE_MAX))


def d_label(u):
    return (u.string(NAME_MAX), u.string(NAME_MAX))


def d_exit(u):
    return Obj(how=u.enum(range(4), "rpx_exit_how"), code=u.int(), signal=u.int(),
               core=u.bool(), utime_us=u.uhyper(), stime_us=u.uhyper(),
               maxrss_kb=u.uhyper(), runtime_ns=u.uhyper())


def d_pinfo(u):
    p = Obj()
    p["job"] = u.uhyper()
    p["name"] = u.string(NAME_MAX)
    p["pid"] = u.int()
    p["ppid"] = u.int()
    p["pgid"] = u.int()
    p["sid"] = u.int()
    p["uid"] = u.uint()
    p["state"] = u.enum(range(5), "rpx_pstate")
    p["state_code"] = u.string(4)
    p["priority"] = u.int()
    p["nice"] = u.int()
    p["threads"] = u.uint()
    p["start_sec"] = u.hyper()
    p["start_nsec"] = u.uint()
    p["utime_us"] = u.uhyper()
    p["stime_us"] = u.uhyper()
    p["rss_kb"] = u.uhyper()
    p["vol_ctxsw"] = u.uhyper()
    p["invol_ctxsw"] = u.uhyper()
    p["open_fds"] = u.int()
    p["cmdline"] = u.string(CMDLINE_MAX)
    p["exit"] = d_exit(u)
    p["labels"] = u.array(lambda: d_label(u), LABELS_MAX, "labels")
    check(p["start_nsec"] < 1000000000, "pinfo start_nsec out of range: %r" % p)
    return p


def _decode(results, what, body):
    u = PUnpacker(results, what)
    r = body(u)
    u.done()
    return r


def dec_spawn(results):
    def body(u):
        r = Obj(status=d_status(u), job=u.uhyper(), pid=u.int(), start_sec=u.hyper(),
                start_nsec=u.uint())
        check(r.start_nsec < 1000000000, "SPAWN start_nsec out of range: %r" % r)
        return r
    return _decode(results, "SPAWN result", body)


def dec_list(results):
    def body(u):
        return Obj(status=d_status(u), entries=u.array(lambda: d_pinfo(u), LIST_MAX, "entries"),
                   next_cursor=u.uhyper(), more=u.bool())
    return _decode(results, "LIST result", body)


def dec_info(results):
    def body(u):
        return Obj(status=d_status(u), info=d_pinfo(u), cwd=u.string(PATH_MAX),
                   argv=u.array(lambda: u.string(ARG_MAX), ARGV_MAX, "argv"),
                   user=u.string(NAME_MAX), stdout_bytes=u.uhyper(), stderr_bytes=u.uhyper(),
                   stdout_dropped=u.uhyper(), stderr_dropped=u.uhyper())
    return _decode(results, "INFO result", body)


def dec_kill(results):
    return _decode(results, "KILL result", lambda u: Obj(status=d_status(u)))


def dec_wait(results):
    return _decode(results, "WAIT result",
                   lambda u: Obj(status=d_status(u), job=u.uhyper(), exit=d_exit(u)))


def d_chunk(u):
    return Obj(offset=u.uhyper(), dropped=u.uhyper(), data=u.opaque(CHUNK_MAX), eof=u.bool())


def dec_output(results):
    return _decode(results, "OUTPUT result",
                   lambda u: Obj(status=d_status(u), out=d_chunk(u), err=d_chunk(u),
                                 ended=u.bool()))


STATS_FIELDS = ("calls", "success", "rpc_mismatch", "auth_error", "prog_unavail", "prog_mismatch",
                "proc_unavail", "garbage_args", "system_err", "dropped", "cancelled", "drc_new",
                "drc_hits", "drc_in_progress", "drc_evictions", "drc_refusals", "drc_full",
                "drc_acked", "drc_entries", "drc_bytes", "drc_clients", "jobs_running",
                "jobs_started", "orphans_reaped", "connections", "drc_late")


def dec_stats(results):
    def body(u):
        r = Obj(status=d_status(u))
        for f in STATS_FIELDS:
            r[f] = u.uhyper()
        return r
    return _decode(results, "STATS result", body)


DECODERS = {STATS: dec_stats, SPAWN: dec_spawn, LIST: dec_list, INFO: dec_info, KILL: dec_kill, WAIT: dec_wait,
            OUTPUT: dec_output, NULL: lambda r: (eq(r, b"", "NULL results"), None)[1]}
PROC_NAMES = {NULL: "NULL", SPAWN: "SPAWN", LIST: "LIST", INFO: "INFO", KILL: "KILL",
              WAIT: "WAIT", OUTPUT: "OUTPUT", STATS: "STATS"}


def expect_ok(st, what):
    """A result's rpx_status is 0 with an empty message."""
    if st.error != 0:
        fail("%s: status error %d (%s) %r, expected 0"
             % (what, st.error, errno.errorcode.get(st.error, "?"), st.message))
    eq(st.message, "", what + " status message")


def expect_err(st, err, what, contains=None):
    """A result's rpx_status is errno err with a non-empty message."""
    if st.error != err:
        fail("%s: status error %d (%s) %r, expected %d (%s)"
             % (what, st.error, errno.errorcode.get(st.error, "?"), st.message, err,
                errno.errorcode.get(err, "?")))
    check(st.message != "", "%s: error %d without a message" % (what, err))
    if contains is not None:
        check(contains in st.message,
              "%s: message %r does not contain %r" % (what, st.message, contains))


# ---- client --------------------------------------------------------------------


class ProcClient:
    """One connection to rpxd speaking PROC; several calls may be in flight.

    transport: tcp, udp or unix (the server's first listener of that kind).
    """

    def __init__(self, server, transport="unix", timeout=10.0, addr=None):
        self.transport = transport
        addr = addr if addr is not None else server.rpc_addr(transport)
        if transport == "udp":
            self.conn = Dgram(addr, timeout)
        else:
            self.conn = Stream(transport, addr, timeout)
        self.timeout = timeout
        self.stash = {}

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, proc, args=b"", xid=None):
        """Send one call; returns its XID (answer with recv)."""
        if xid is None:
            xid = new_xid()
        msg = encode_call(xid, proc, args, prog=PROC_PROG, vers=PROC_VERS)
        self.conn.send(msg if self.transport == "udp" else frame(msg))
        return xid

    def recv_raw(self, xid, timeout=None):
        """The Reply with this XID; replies to other XIDs are kept for later."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while xid not in self.stash:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            r = self.conn.recv_reply(left)
            self.stash[r.xid] = r
        return self.stash.pop(xid)

    def recv(self, xid, proc, timeout=None, what=None):
        """Decoded result of an accepted, successful call."""
        what = what or PROC_NAMES[proc]
        r = self.recv_raw(xid, timeout)
        return DECODERS[proc](expect_success(r, xid, what))

    def call_raw(self, proc, args=b"", timeout=None):
        xid = self.send(proc, args)
        return xid, self.recv_raw(xid, timeout)

    def call(self, proc, args=b"", timeout=None, what=None):
        return self.recv(self.send(proc, args), proc, timeout, what)

    # Procedures: each returns the decoded result (an Obj).

    def null(self):
        return self.call(NULL)

    def stats(self):
        r = self.call(STATS)
        expect_ok(r.status, "STATS")
        return r

    def spawn(self, argv, timeout=None, **kw):
        return self.call(SPAWN, enc_spawn(argv, **kw), timeout)

    def spawn_ok(self, argv, **kw):
        r = self.spawn(argv, **kw)
        expect_ok(r.status, "SPAWN %r" % (argv,))
        check(r.job > 0 and r.pid > 1, "SPAWN %r: job %d pid %d" % (argv, r.job, r.pid))
        return r

    def list(self, timeout=None, **kw):
        return self.call(LIST, enc_list(**kw), timeout)

    def info(self, job, timeout=None):
        return self.call(INFO, x_uhyper(job), timeout)

    def kill(self, job, sig, group=False, timeout=None):
        return self.call(KILL, enc_kill(job, sig, group), timeout)

    def wait(self, jobs, timeout_ms=-1, keep=False, timeout=None):
        if isinstance(jobs, int):
            jobs = [jobs]
        if timeout is None:
            timeout = self.timeout if timeout_ms < 0 else timeout_ms / 1000.0 + self.timeout
        return self.call(WAIT, enc_wait(jobs, timeout_ms, keep), timeout)

    def wait_ok(self, job, timeout_ms=-1, keep=False, timeout=None):
        r = self.wait([job], timeout_ms, keep, timeout)
        expect_ok(r.status, "WAIT job %d" % job)
        eq(r.job, job, "WAIT job id")
        return r

    def output(self, job, timeout=None, **kw):
        if timeout is None:
            t = kw.get("timeout_ms", -1)
            timeout = self.timeout if t < 0 or not kw.get("follow") else t / 1000.0 + self.timeout
        return self.call(OUTPUT, enc_output(job, **kw), timeout)

    def read_all(self, job, streams=3, deadline_s=30.0, max_bytes=0):
        """Follow both streams from offset 0 to EOF: (stdout bytes, stderr bytes).

        Requires offsets to be contiguous (no drops) and the stream to end.
        """
        bufs = {STREAM_OUT: bytearray(), STREAM_ERR: bytearray()}
        eof = {STREAM_OUT: not streams & STREAM_OUT, STREAM_ERR: not streams & STREAM_ERR}
        deadline = time.monotonic() + deadline_s
        while not (eof[STREAM_OUT] and eof[STREAM_ERR]):
            check(time.monotonic() < deadline,
                  "job %d: output not at EOF within %.0f s (got %d/%d bytes)"
                  % (job, deadline_s, len(bufs[STREAM_OUT]), len(bufs[STREAM_ERR])))
            want = (0 if eof[STREAM_OUT] else STREAM_OUT) | (0 if eof[STREAM_ERR] else STREAM_ERR)
            r = self.output(job, stdout_offset=len(bufs[STREAM_OUT]),
                            stderr_offset=len(bufs[STREAM_ERR]), streams=want, follow=True,
                            timeout_ms=2000, max_bytes=max_bytes)
            expect_ok(r.status, "OUTPUT job %d" % job)
            for bit, ch in ((STREAM_OUT, r.out), (STREAM_ERR, r.err)):
                if not want & bit:
                    continue
                eq(ch.offset, len(bufs[bit]), "OUTPUT chunk offset (stream %d)" % bit)
                eq(ch.dropped, 0, "OUTPUT dropped (stream %d)" % bit)
                bufs[bit] += ch.data
                if ch.eof:
                    eof[bit] = True
        return bytes(bufs[STREAM_OUT]), bytes(bufs[STREAM_ERR])

    def run(self, argv, wait_s=30.0, **kw):
        """SPAWN, then WAIT (record dropped): (spawn result, wait result)."""
        s = self.spawn_ok(argv, **kw)
        w = self.wait_ok(s.job, timeout_ms=int(wait_s * 1000), timeout=wait_s + 5)
        return s, w

    def run_output(self, argv, wait_s=30.0, **kw):
        """SPAWN, read all output, WAIT: (spawn, wait, stdout, stderr)."""
        s = self.spawn_ok(argv, **kw)
        out, err = self.read_all(s.job, deadline_s=wait_s)
        w = self.wait_ok(s.job, timeout_ms=int(wait_s * 1000), timeout=wait_s + 5)
        return s, w, out, err


def expect_exited(w, code, what):
    eq((w.exit.how, w.exit.code, w.exit.signal, w.exit.core), (EXIT_EXITED, code, 0, False),
       what + " (how, code, signal, core)")


def start_rpxd(extra=(), transports=("unix",), **kw):
    """An rpxd with a unix socket (and the other listeners asked), no daytime."""
    return Rpxd(extra=list(extra), transports=transports, **kw)


def assert_serves(server, transport="unix", what="a fresh client"):
    """A new client's PROC NULL and a LIST both succeed."""
    try:
        with ProcClient(server, transport, timeout=5) as c:
            c.null()
            expect_ok(c.list().status, what + ": LIST")
    except (Closed, Timeout, OSError) as e:
        fail("%s: PROC call over %s failed: %r" % (what, transport, e))


# ---- /proc -----------------------------------------------------------------------


def proc_status(pid):
    """/proc/PID/status as a dict, or None when the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            d = {}
            for line in f:
                k, _, v = line.partition(":")
                d[k] = v.strip()
            return d
    except (FileNotFoundError, ProcessLookupError):
        return None


def proc_state(pid):
    """State letter of pid (R, S, Z, ...) or None when gone."""
    st = proc_status(pid)
    return None if st is None else st["State"].split()[0]


def proc_ppid(pid):
    st = proc_status(pid)
    return None if st is None else int(st["PPid"])


def children_of(ppid):
    """[(pid, state letter)] of the processes whose parent is ppid."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rfind(")") + 2:].split()
        if int(rest[1]) == ppid:
            out.append((int(name), rest[0]))
    return out


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def rss_kib(pid):
    return rpxtest.rss_kib(pid)


def wait_until(cond, timeout, what, interval=0.02):
    """Poll cond() until true; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            fail("%s (after %.1f s)" % (what, timeout))
        time.sleep(interval)


def gone_or_zombie_free(pid):
    """True when pid no longer exists (not even as a zombie)."""
    return proc_status(pid) is None


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def is_root():
    return os.geteuid() == 0


# ---- runner ----------------------------------------------------------------------


def main(cases):
    """Run case functions (no argument) and exit 0 (all passed), 1 or 77 (all skipped).

    argv[1:] may name cases to run; a case raises Skip to be skipped.
    """
    only = sys.argv[1:]
    failed, skipped, ran = [], [], 0
    for f in cases:
        name = f.__name__
        if only and name not in only:
            continue
        ran += 1
        log("=== %s" % name)
        t0 = time.monotonic()
        try:
            f()
        except Skip as e:
            log("--- skip %s: %s" % (name, e))
            skipped.append(name)
            continue
        except Exception:
            traceback.print_exc(file=sys.stdout)
            log("--- FAIL %s (%.2f s)" % (name, time.monotonic() - t0))
            failed.append(name)
            continue
        log("--- ok %s (%.2f s)" % (name, time.monotonic() - t0))
    if only and ran == 0:
        log("no case named %s" % " ".join(only))
        sys.exit(2)
    if failed:
        log("FAILED %d/%d: %s" % (len(failed), ran, " ".join(failed)))
        sys.exit(1)
    if skipped and len(skipped) == ran:
        log("all %d cases skipped" % ran)
        sys.exit(SKIP)
    log("%d cases passed%s" % (ran - len(skipped),
                               ", %d skipped" % len(skipped) if skipped else ""))
    sys.exit(0)


class Skip(Exception):
    """Raised by a case that cannot run here (exit 77 when every case skips)."""
