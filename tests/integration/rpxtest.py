"""rpxtest: harness for integration tests that drive a real rpxd over loopback.

It starts rpxd with a temporary state dir and listeners on port 0, reads the
`listening` lines up to `ready`, and always stops it by its PID (SIGTERM, then
exit status 0 is required: a crash or a non-zero exit fails the test).

ONC RPC messages (RFC 5531) and XDR (RFC 4506) are encoded and decoded here with
struct, independently from the project's C code, so that these tests check the
wire format instead of agreeing with themselves. Record marking (RFC 5531 §11)
is written with any fragment split the test asks for.

Python 3 standard library only. Every wait has a deadline.
"""

import calendar
import errno
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# ---- constants (RFC 5531) -------------------------------------------------

CALL, REPLY = 0, 1
MSG_ACCEPTED, MSG_DENIED = 0, 1
SUCCESS, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR = range(6)
RPC_MISMATCH, AUTH_ERROR = 0, 1
(AUTH_OK, AUTH_BADCRED, AUTH_REJECTEDCRED, AUTH_BADVERF, AUTH_REJECTEDVERF,
 AUTH_TOOWEAK, AUTH_INVALIDRESP, AUTH_FAILED) = range(8)

AUTH_NONE, AUTH_SYS, AUTH_SHORT, AUTH_DH = 0, 1, 2, 3
RPCSEC_GSS, AUTH_TLS = 6, 7

# idl/date.x
DATE_PROG = 0x20007701
DATE_VERS = 1
DATE_NULL, DATE_NOW, DATE_FORMAT = 0, 1, 2
DATE_ZONE_MAX, DATE_TEXT_MAX, DATE_ERROR_MAX = 64, 64, 256

LAST_FRAGMENT = 0x80000000

DEFAULT_TIMEOUT = 5.0
SKIP = 77  # ctest SKIP_RETURN_CODE


class TestFailure(AssertionError):
    pass


class Closed(Exception):
    """The peer closed (EOF or reset) before a whole record arrived."""


class Timeout(Exception):
    """Nothing (or not enough) arrived before the deadline."""


def fail(msg):
    raise TestFailure(msg)


def eq(got, want, what):
    if got != want:
        fail("%s: expected %r, got %r" % (what, want, got))


def check(cond, what):
    if not cond:
        fail(what)


def log(msg):
    print(msg, flush=True)


# ---- XDR (RFC 4506) --------------------------------------------------------


def pad4(n):
    return (4 - n % 4) % 4


def x_uint(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def x_int(v):
    return struct.pack(">i", v)


def x_hyper(v):
    return struct.pack(">q", v)


def x_uhyper(v):
    return struct.pack(">Q", v)


def x_bool(v):
    return x_uint(1 if v else 0)


def x_opaque(b):
    """Variable-length opaque: length, bytes, zero padding."""
    return x_uint(len(b)) + bytes(b) + b"\0" * pad4(len(b))


def x_string(s):
    return x_opaque(s.encode() if isinstance(s, str) else s)


class Unpacker:
    """Strict XDR decoder over a bytes object; every read is bounds-checked."""

    def __init__(self, data, what="message"):
        self.data = bytes(data)
        self.pos = 0
        self.what = what

    def _take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            fail("%s: truncated at offset %d (need %d bytes, %d left): %s"
                 % (self.what, self.pos, n, len(self.data) - self.pos, self.data.hex()))
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def uint(self):
        return struct.unpack(">I", self._take(4))[0]

    def int(self):
        return struct.unpack(">i", self._take(4))[0]

    def hyper(self):
        return struct.unpack(">q", self._take(8))[0]

    def bool(self):
        v = self.uint()
        if v not in (0, 1):
            fail("%s: bool at offset %d is %d" % (self.what, self.pos - 4, v))
        return v == 1

    def opaque(self, maxlen=None):
        n = self.uint()
        if maxlen is not None and n > maxlen:
            fail("%s: opaque/string of %d bytes exceeds its bound %d" % (self.what, n, maxlen))
        b = self._take(n)
        padding = self._take(pad4(n))
        if padding != b"\0" * len(padding):
            fail("%s: non-zero XDR padding %r" % (self.what, padding))
        return b

    def string(self, maxlen=None):
        b = self.opaque(maxlen)
        try:
            return b.decode("utf-8")
        except UnicodeDecodeError:
            fail("%s: string is not UTF-8: %r" % (self.what, b))

    def rest(self):
        b = self.data[self.pos:]
        self.pos = len(self.data)
        return b

    def left(self):
        return len(self.data) - self.pos

    def done(self):
        if self.pos != len(self.data):
            fail("%s: %d trailing bytes after the decoded value: %s"
                 % (self.what, len(self.data) - self.pos, self.data[self.pos:].hex()))


# ---- RPC messages ----------------------------------------------------------

AUTH_NONE_AUTH = (AUTH_NONE, b"")

_xid_lock = threading.Lock()
_xid_next = [int.from_bytes(os.urandom(4), "big") & 0x3FFFFFFF | 1]


def new_xid():
    with _xid_lock:
        x = _xid_next[0]
        _xid_next[0] = (x + 1) & 0xFFFFFFFF
        return x


def auth_sys_body(stamp=12345, machine="rpxtest", uid=1000, gid=1000, gids=(1000, 27)):
    """RFC 5531 appendix A authsys_parms."""
    b = x_uint(stamp) + x_string(machine) + x_uint(uid) + x_uint(gid)
    b += x_uint(len(gids)) + b"".join(x_uint(g) for g in gids)
    return b


def encode_call(xid, proc, args=b"", prog=DATE_PROG, vers=DATE_VERS, rpcvers=2,
                cred=AUTH_NONE_AUTH, verf=AUTH_NONE_AUTH, mtype=CALL):
    """One RPC call message (not framed)."""
    return (x_uint(xid) + x_uint(mtype) + x_uint(rpcvers) + x_uint(prog) + x_uint(vers)
            + x_uint(proc) + x_uint(cred[0]) + x_opaque(cred[1])
            + x_uint(verf[0]) + x_opaque(verf[1]) + bytes(args))


def format_args(seconds, nanoseconds, utc):
    return x_hyper(seconds) + x_uint(nanoseconds) + x_bool(utc)


def frame(record, cuts=None):
    """Record marking (RFC 5531 §11): the record as fragments.

    cuts: lengths of the non-last fragments, in order (0 allowed); the last
    fragment carries the rest of the record.
    """
    record = bytes(record)
    out = bytearray()
    pos = 0
    for n in cuts or ():
        if pos + n > len(record):
            raise ValueError("cuts exceed the record")
        out += struct.pack(">I", n) + record[pos:pos + n]
        pos += n
    out += struct.pack(">I", LAST_FRAGMENT | (len(record) - pos)) + record[pos:]
    return bytes(out)


class Reply:
    """A fully decoded RPC reply message."""

    def __init__(self, data):
        self.raw = bytes(data)
        u = Unpacker(data, "reply")
        self.xid = u.uint()
        mtype = u.uint()
        if mtype != REPLY:
            fail("reply: msg_type %d, expected REPLY(1): %s" % (mtype, self.raw.hex()))
        self.reply_stat = u.uint()
        self.verf = None
        self.accept_stat = None
        self.reject_stat = None
        self.auth_stat = None
        self.low = self.high = None
        self.results = None
        if self.reply_stat == MSG_ACCEPTED:
            self.verf = (u.uint(), u.opaque(400))
            self.accept_stat = u.uint()
            if self.accept_stat == SUCCESS:
                self.results = u.rest()
            elif self.accept_stat == PROG_MISMATCH:
                self.low = u.uint()
                self.high = u.uint()
            elif self.accept_stat not in (PROG_UNAVAIL, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR):
                fail("reply: unknown accept_stat %d" % self.accept_stat)
        elif self.reply_stat == MSG_DENIED:
            self.reject_stat = u.uint()
            if self.reject_stat == RPC_MISMATCH:
                self.low = u.uint()
                self.high = u.uint()
            elif self.reject_stat == AUTH_ERROR:
                self.auth_stat = u.uint()
            else:
                fail("reply: unknown reject_stat %d" % self.reject_stat)
        else:
            fail("reply: unknown reply_stat %d" % self.reply_stat)
        u.done()

    def __repr__(self):
        return ("Reply(xid=%#x stat=%s verf=%r accept=%r reject=%r auth=%r low=%r high=%r results=%r)"
                % (self.xid, self.reply_stat, self.verf, self.accept_stat, self.reject_stat,
                   self.auth_stat, self.low, self.high, self.results))


def expect_success(reply, xid, what="reply"):
    eq(reply.xid, xid, what + " xid")
    eq(reply.reply_stat, MSG_ACCEPTED, what + " reply_stat (%r)" % reply)
    eq(reply.verf, AUTH_NONE_AUTH, what + " verifier")
    eq(reply.accept_stat, SUCCESS, what + " accept_stat (%r)" % reply)
    return reply.results


def expect_accepted_error(reply, xid, accept_stat, low=None, high=None, what="reply"):
    """Check every field and the exact bytes of an accepted error reply."""
    eq(reply.xid, xid, what + " xid")
    eq(reply.reply_stat, MSG_ACCEPTED, what + " reply_stat (%r)" % reply)
    eq(reply.verf, AUTH_NONE_AUTH, what + " verifier")
    eq(reply.accept_stat, accept_stat, what + " accept_stat (%r)" % reply)
    want = x_uint(xid) + x_uint(REPLY) + x_uint(MSG_ACCEPTED) + x_uint(AUTH_NONE) + x_uint(0)
    want += x_uint(accept_stat)
    if accept_stat == PROG_MISMATCH:
        eq((reply.low, reply.high), (low, high), what + " mismatch_info low/high")
        want += x_uint(low) + x_uint(high)
    eq(reply.raw.hex(), want.hex(), what + " bytes")


def expect_denied(reply, xid, reject_stat, auth_stat=None, low=None, high=None, what="reply"):
    eq(reply.xid, xid, what + " xid")
    eq(reply.reply_stat, MSG_DENIED, what + " reply_stat (%r)" % reply)
    eq(reply.reject_stat, reject_stat, what + " reject_stat (%r)" % reply)
    want = x_uint(xid) + x_uint(REPLY) + x_uint(MSG_DENIED) + x_uint(reject_stat)
    if reject_stat == RPC_MISMATCH:
        eq((reply.low, reply.high), (low, high), what + " mismatch_info low/high")
        want += x_uint(low) + x_uint(high)
    else:
        eq(reply.auth_stat, auth_stat, what + " auth_stat")
        want += x_uint(auth_stat)
    eq(reply.raw.hex(), want.hex(), what + " bytes")


# ---- DATE results -----------------------------------------------------------


def decode_now_res(u):
    r = {}
    r["seconds"] = u.hyper()
    r["nanoseconds"] = u.uint()
    r["utc_offset"] = u.int()
    r["zone"] = u.string(DATE_ZONE_MAX)
    r["rfc3339"] = u.string(DATE_TEXT_MAX)
    return r


def decode_now(results):
    u = Unpacker(results, "NOW result")
    r = decode_now_res(u)
    u.done()
    return r


def decode_format(results):
    """Returns (error, now_res dict) or (error, message)."""
    u = Unpacker(results, "FORMAT result")
    error = u.int()
    if error == 0:
        val = decode_now_res(u)
    else:
        val = u.string(DATE_ERROR_MAX)
    u.done()
    return error, val


RFC3339_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")


def parse_rfc3339(text):
    """(epoch seconds, fraction digits string, offset seconds, zone text) or fail."""
    m = RFC3339_RE.match(text)
    if not m:
        fail("not RFC 3339 date-time: %r" % text)
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    check(1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60,
          "RFC 3339 fields out of range: %r" % text)
    frac = m.group(7) or ""
    z = m.group(8)
    if z == "Z":
        off = 0
    else:
        off = (int(z[1:3]) * 3600 + int(z[4:6]) * 60) * (-1 if z[0] == "-" else 1)
    local = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    return local - off, frac, off, z


def days_from_civil(y, m, d):
    """Days since 1970-01-01 in the proleptic Gregorian calendar (any year)."""
    y -= m <= 2
    era = y // 400  # Python floors: no adjustment for negative years
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def check_now_res(r, what="NOW", now=None, offset=None, zone=None):
    """A NOW-like result is self-consistent and (when now is given) near now."""
    check(0 <= r["nanoseconds"] < 1000000000, "%s nanoseconds out of range: %r" % (what, r))
    if now is not None:
        check(abs(r["seconds"] + r["nanoseconds"] / 1e9 - now) < 5.0,
              "%s seconds %d not within 5 s of time.time() %.3f" % (what, r["seconds"], now))
    secs, frac, off, _ = parse_rfc3339(r["rfc3339"])
    # docs/protocol.md: the text's offset is in whole minutes; seconds of an
    # offset are cut off in the text (utc_offset keeps them).
    uo = r["utc_offset"]
    text_off = (abs(uo) // 60 * 60) * (-1 if uo < 0 else 1)
    eq(off, text_off, what + " rfc3339 %r offset vs utc_offset %d" % (r["rfc3339"], uo))
    eq(secs, r["seconds"] + uo - text_off, what + " rfc3339 %r vs seconds" % r["rfc3339"])
    if frac:
        eq(int(frac), r["nanoseconds"] // 10 ** (9 - len(frac)),
           what + " rfc3339 %r fraction vs nanoseconds %d" % (r["rfc3339"], r["nanoseconds"]))
    check(-86400 < r["utc_offset"] < 86400, "%s utc_offset out of range: %r" % (what, r))
    check(0 < len(r["zone"]) <= DATE_ZONE_MAX, "%s zone empty or too long: %r" % (what, r))
    if offset is not None:
        eq(r["utc_offset"], offset, what + " utc_offset")
    if zone is not None:
        eq(r["zone"], zone, what + " zone")


def local_offset(tz, seconds):
    """(utc offset, zone abbreviation) of the POSIX TZ string tz at an instant,
    computed here by the C library of this Python, for comparison."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        t = time.localtime(seconds)
        return t.tm_gmtoff, t.tm_zone
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


# ---- transports -------------------------------------------------------------


def parse_url(url):
    """tcp://HOST:PORT, udp://HOST:PORT, unix:PATH -> (kind, address)."""
    if url.startswith("unix:"):
        return "unix", url[5:]
    m = re.match(r"^(tcp|udp)://(\[[^\]]+\]|[^:/]+):(\d+)$", url)
    if not m:
        fail("cannot parse listener URL %r" % url)
    host = m.group(2).strip("[]")
    return m.group(1), (host, int(m.group(3)))


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class Stream:
    """A TCP or Unix stream connection speaking record marking."""

    def __init__(self, kind, addr, timeout=DEFAULT_TIMEOUT, bufsize=None):
        if kind == "unix":
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        else:
            self.sock = socket.socket(family_of(addr[0]), socket.SOCK_STREAM)
        if bufsize:
            # Small kernel buffers on our side, set before connect (TCP window).
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, bufsize)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, bufsize)
        self.sock.settimeout(timeout)
        self.sock.connect(addr)
        self.buf = bytearray()
        self.eof = False
        self.last_fragments = 0  # fragments of the last record received

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        """Read what is there into buf; False on EOF/reset; Timeout at deadline."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout()
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise Timeout()
        try:
            b = self.sock.recv(1 << 16)
        except (ConnectionResetError, BrokenPipeError):
            b = b""
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def recv_record(self, timeout=DEFAULT_TIMEOUT):
        """One whole record (all fragments). Closed on EOF, Timeout on deadline."""
        deadline = time.monotonic() + timeout
        record = bytearray()
        pos = 0
        self.last_fragments = 0
        while True:
            while len(self.buf) < pos + 4:
                if not self._fill(deadline):
                    raise Closed()
            hdr = struct.unpack(">I", self.buf[pos:pos + 4])[0]
            n = hdr & 0x7FFFFFFF
            while len(self.buf) < pos + 4 + n:
                if not self._fill(deadline):
                    raise Closed()
            record += self.buf[pos + 4:pos + 4 + n]
            pos += 4 + n
            self.last_fragments += 1
            if hdr & LAST_FRAGMENT:
                del self.buf[:pos]
                return bytes(record)

    def recv_reply(self, timeout=DEFAULT_TIMEOUT):
        return Reply(self.recv_record(timeout))

    def call_raw(self, msg, cuts=None, timeout=DEFAULT_TIMEOUT):
        self.send(frame(msg, cuts))
        return self.recv_reply(timeout)

    def wait_closed(self, timeout):
        """Read until EOF/reset; returns the bytes that came before it.
        Timeout if the peer keeps the connection open past timeout."""
        deadline = time.monotonic() + timeout
        while self._fill(deadline):
            pass
        data = bytes(self.buf)
        self.buf.clear()
        return data

    def quiet_for(self, seconds):
        """True if nothing arrives (and no EOF) for `seconds`."""
        try:
            got = self._fill(time.monotonic() + seconds)
        except Timeout:
            return True
        return False if got or self.eof else True


class Dgram:
    """A UDP socket: one datagram per message."""

    def __init__(self, addr, timeout=DEFAULT_TIMEOUT):
        self.addr = addr
        self.sock = socket.socket(family_of(addr[0]), socket.SOCK_DGRAM)
        self.sock.connect(addr)
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        self.sock.send(data)

    def recv(self, timeout=DEFAULT_TIMEOUT):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            raise Timeout()
        return self.sock.recv(1 << 17)

    def recv_reply(self, timeout=DEFAULT_TIMEOUT):
        return Reply(self.recv(timeout))

    def call_raw(self, msg, cuts=None, timeout=DEFAULT_TIMEOUT):
        if cuts:
            raise ValueError("no record marking on UDP")
        self.send(msg)
        return self.recv_reply(timeout)

    def quiet_for(self, seconds):
        try:
            self.recv(seconds)
        except Timeout:
            return True
        return False


class Client:
    """One connection to an RPC listener of rpxd, for any transport."""

    def __init__(self, server, transport, timeout=DEFAULT_TIMEOUT):
        self.transport = transport
        addr = server.rpc_addr(transport)
        if transport == "udp":
            self.conn = Dgram(addr, timeout)
        else:
            self.conn = Stream(transport, addr, timeout)

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def call(self, proc, args=b"", xid=None, **kw):
        """Encode, send, receive and decode one call; checks the reply XID."""
        if xid is None:
            xid = new_xid()
        cuts = kw.pop("cuts", None)
        timeout = kw.pop("timeout", DEFAULT_TIMEOUT)
        reply = self.conn.call_raw(encode_call(xid, proc, args, **kw), cuts, timeout)
        eq(reply.xid, xid, "reply xid")
        return reply

    def null(self):
        xid = new_xid()
        reply = self.call(DATE_NULL, xid=xid)
        eq(expect_success(reply, xid, "NULL"), b"", "NULL results")

    def now(self):
        xid = new_xid()
        return decode_now(expect_success(self.call(DATE_NOW, xid=xid), xid, "NOW"))

    def format(self, seconds, nanoseconds, utc):
        xid = new_xid()
        r = self.call(DATE_FORMAT, format_args(seconds, nanoseconds, utc), xid=xid)
        return decode_format(expect_success(r, xid, "FORMAT"))


def assert_serves(server, transport, what="a fresh client"):
    """A new client's NULL call still succeeds."""
    try:
        with Client(server, transport) as c:
            c.null()
    except (Closed, Timeout, OSError) as e:
        fail("%s: NULL call over %s failed: %r" % (what, transport, e))


# ---- rpxd process -----------------------------------------------------------


def rpxd_path():
    p = os.environ.get("RPXD")
    if not p:
        here = os.path.dirname(os.path.abspath(__file__))
        for cand in ("build/server/rpxd", "build-tests/server/rpxd"):
            q = os.path.join(here, "..", "..", cand)
            if os.path.exists(q):
                return os.path.abspath(q)
        fail("RPXD is not set (path of the rpxd binary)")
    return p


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    fail("no VmRSS for pid %d" % pid)


class Rpxd:
    """A running rpxd with its own temporary directory.

    transports: which RPC listeners to open (tcp, udp, unix), all on port 0
    (unless listen= gives the --listen URLs verbatim). extra: more arguments.
    Use as a context manager: the daemon is always stopped by PID, and a
    non-zero exit or a crash fails the test.
    """

    def __init__(self, extra=(), transports=("tcp", "udp", "unix"), listen=None,
                 daytime="off", env=None, start_timeout=10.0):
        self.tmp = tempfile.mkdtemp(prefix="rpxtest-")
        self.state_dir = os.path.join(self.tmp, "state")
        os.mkdir(self.state_dir)
        self.sock_path = os.path.join(self.tmp, "rpxd.sock")
        # The jobs' FIFOs too stay in the test's folder, not in /run/rpx.
        args = [rpxd_path(), "--state-dir", self.state_dir,
                "--runtime-dir", os.path.join(self.tmp, "run")]
        if listen is None:
            listen = []
            for t in transports:
                listen.append({"tcp": "tcp://127.0.0.1:0", "udp": "udp://127.0.0.1:0",
                               "unix": "unix:" + self.sock_path}[t])
        for url in listen:
            args += ["--listen", url]
        if daytime is not None:
            args += ["--daytime", daytime]
        args += list(extra)
        self.args = args
        self.rpc = {"tcp": [], "udp": [], "unix": []}
        self.daytime = []
        self.time = {"tcp": [], "udp": []}
        self.stdout_lines = []
        self.stopped = False
        self.returncode = None
        self.stderr_path = os.path.join(self.tmp, "stderr")
        self.stderr_file = open(self.stderr_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        log("rpxd: starting: %s%s" % (" ".join(args),
                                       "" if not env else "  (env %r)" % env))
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file, env=full_env)
        self.pid = self.proc.pid
        try:
            self._wait_ready(start_timeout)
        except BaseException:
            self._kill()
            self.stopped = True
            self._cleanup()
            raise

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.decode(errors="replace").rstrip("\r")
                self.stdout_lines.append(line)
                if line == "ready":
                    self._leftover = buf
                    threading.Thread(target=self._drain, daemon=True).start()
                    return
                self._parse_listening(line)
            left = deadline - time.monotonic()
            if left <= 0:
                fail("rpxd did not print `ready` within %.0f s; stdout %r; stderr:\n%s"
                     % (timeout, self.stdout_lines, self.stderr()))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                b = os.read(fd, 4096)
                if not b:
                    self.proc.wait(timeout=5)
                    fail("rpxd exited (status %r) before `ready`; stdout %r; stderr:\n%s"
                         % (self.proc.returncode, self.stdout_lines, self.stderr()))
                buf += b

    def _drain(self):
        try:
            while True:
                b = os.read(self.proc.stdout.fileno(), 4096)
                if not b:
                    return
                self.stdout_lines.extend(b.decode(errors="replace").splitlines())
        except OSError:
            return

    def _parse_listening(self, line):
        words = line.split()
        if not words or words[0] != "listening":
            fail("unexpected rpxd stdout line before ready: %r" % line)
        if len(words) == 2:
            kind, addr = parse_url(words[1])
            self.rpc[kind].append(addr)
        elif len(words) == 3 and words[1] == "daytime":
            kind, addr = parse_url(words[2])
            eq(kind, "tcp", "daytime listener kind")
            self.daytime.append(addr)
        elif len(words) == 3 and words[1] == "time":
            kind, addr = parse_url(words[2])
            check(kind in ("tcp", "udp"), "time listener kind %r" % kind)
            self.time[kind].append(addr)
        else:
            fail("cannot parse rpxd stdout line %r" % line)

    def rpc_addr(self, transport):
        addrs = self.rpc.get(transport)
        check(addrs, "rpxd announced no %s listener (stdout %r)" % (transport, self.stdout_lines))
        return addrs[0]

    def stderr(self):
        try:
            self.stderr_file.flush()
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        return rss_kib(self.pid)

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Signal rpxd by PID and require a clean exit 0."""
        if self.stopped:
            return
        self.stopped = True
        rc = self.proc.poll()
        if rc is not None:
            self._cleanup()
            fail("rpxd died during the test (status %d); stderr:\n%s" % (rc, self.stderr()))
        os.kill(self.pid, sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self._cleanup()
            fail("rpxd did not exit within %.0f s of signal %d; stderr:\n%s"
                 % (timeout, sig, self.stderr()))
        self.returncode = rc
        err = self.stderr()
        self.final_stderr = err
        self._cleanup()
        if rc != 0:
            fail("rpxd exited with status %d after signal %d (expected 0); stderr:\n%s"
                 % (rc, sig, err))
        for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if bad in err:
                fail("rpxd stderr reports %s:\n%s" % (bad, err))

    def _kill(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def _cleanup(self):
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        self.stderr_file.close()
        if os.environ.get("RPXTEST_KEEP"):
            log("rpxd: kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            log("rpxd stderr so far:\n" + self.stderr())
            try:
                self.stop()
            except TestFailure as e:
                log("also: %s" % e)
            return False
        self.stop()
        return False


def run_rpxd(args, timeout=10.0, env=None):
    """Run rpxd to completion (for option errors): (status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        p = subprocess.run([rpxd_path()] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout, env=full_env)
    except subprocess.TimeoutExpired:
        fail("rpxd %r did not exit within %.0f s" % (args, timeout))
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def free_port(kind="tcp"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- runner -----------------------------------------------------------------


def main(cases, transports=("tcp", "udp", "unix")):
    """Run case functions (each takes the transport) and exit 0/1.

    The transport comes from argv[1] or $RPXTEST_TRANSPORT.
    """
    transport = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("RPXTEST_TRANSPORT", "tcp")
    if transport not in transports:
        log("unsupported transport %r for this scenario (supported: %s)"
            % (transport, ", ".join(transports)))
        sys.exit(2)
    only = sys.argv[2:]
    unknown = set(only) - set(f.__name__ for f in cases)
    if unknown:
        log("no case named %s" % " ".join(sorted(unknown)))
        sys.exit(2)
    failed = []
    ran = 0
    for f in cases:
        name = f.__name__
        if only and name not in only:
            continue
        ran += 1
        log("=== %s [%s]" % (name, transport))
        t0 = time.monotonic()
        try:
            f(transport)
        except Exception:
            traceback.print_exc(file=sys.stdout)
            log("--- FAIL %s (%.2f s)" % (name, time.monotonic() - t0))
            failed.append(name)
            continue
        log("--- ok %s (%.2f s)" % (name, time.monotonic() - t0))
    if failed:
        log("FAILED %d/%d: %s" % (len(failed), ran, " ".join(failed)))
        sys.exit(1)
    log("all %d cases passed" % ran)
    sys.exit(0)
