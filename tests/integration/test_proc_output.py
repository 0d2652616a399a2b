"""PROC OUTPUT returns a job's output exactly: follow calls get lines as they are printed, timeouts and ends are answered, 100 MB of output is read back (with drops reported and every byte at its offset) while rpxd's RSS stays small, a small --output-cap reports `dropped` and keeps the tail intact, and discarded streams keep nothing.

Usage: test_proc_output.py [case...]   (unix socket; needs RPXD)
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proctest import *  # noqa: E402,F401,F403

MIB = 1 << 20


def case_follow_lines():
    """A job printing a line every 100 ms: follow calls receive the lines as they come."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; sleep 0.1; done"],
                       shell=True)
        t0 = time.monotonic()
        got = bytearray()
        arrivals = []
        while True:
            check(time.monotonic() - t0 < 10, "follow did not reach EOF within 10 s")
            r = c.output(s.job, stdout_offset=len(got), streams=STREAM_OUT, follow=True,
                         timeout_ms=3000)
            expect_ok(r.status, "OUTPUT follow")
            eq(r.out.offset, len(got), "chunk offset")
            eq(r.out.dropped, 0, "chunk dropped")
            if r.out.data:
                arrivals.append((time.monotonic() - t0, bytes(r.out.data)))
            got += r.out.data
            if r.out.eof:
                break
        want = b"".join(b"line%d\n" % i for i in range(1, 11))
        eq(bytes(got), want, "followed output")
        log("arrivals: %s" % ", ".join("%.2f:%d" % (t, len(b)) for t, b in arrivals))
        check(len(arrivals) >= 6, "lines came in only %d replies: %r" % (len(arrivals), arrivals))
        check(arrivals[0][0] < 0.5, "first line after %.2f s" % arrivals[0][0])
        check(arrivals[-1][0] - arrivals[0][0] >= 0.6,
              "lines did not come over time: %r" % arrivals)
        c.wait_ok(s.job, 5000)


def case_follow_timeout_and_end():
    """Follow with no output: answered at the timeout (empty, not EOF, not ended), or
    when the job ends; non-follow answers at once."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["sleep", "5"])
        t0 = time.monotonic()
        r = c.output(s.job, follow=True, timeout_ms=300)
        took = time.monotonic() - t0
        expect_ok(r.status, "OUTPUT follow timeout")
        check(0.28 <= took <= 1.5, "follow 300 ms answered after %.3f s" % took)
        eq((r.out.data, r.out.eof, r.err.data, r.err.eof, r.ended), (b"", False, b"", False, False),
           "follow timeout: (out, eof, err, eof, ended)")
        t0 = time.monotonic()
        r = c.output(s.job, follow=False)
        check(time.monotonic() - t0 < 0.3, "non-follow OUTPUT held")
        eq((r.out.data, r.out.eof, r.ended), (b"", False, False), "non-follow OUTPUT")
        r = c.output(s.job, follow=True, timeout_ms=0)
        eq((r.out.data, r.ended), (b"", False), "follow with timeout 0")
        # A held follow is answered when the job ends (SIGKILL here).
        x = c.send(OUTPUT, enc_output(s.job, follow=True, timeout_ms=-1))
        time.sleep(0.2)
        k = ProcClient(d)
        expect_ok(k.kill(s.job, 9).status, "KILL")
        k.close()
        r = c.recv(x, OUTPUT, timeout=5)
        expect_ok(r.status, "held OUTPUT follow")
        check((r.out.eof and r.err.eof) or r.ended,
              "held follow answered without EOF or end: %r" % r)
        c.wait_ok(s.job, 5000, keep=True)
        r = c.output(s.job, follow=True, timeout_ms=-1)
        eq((r.out.eof, r.err.eof, r.ended), (True, True, True), "OUTPUT of an ended job")
        c.wait_ok(s.job, 0)
        expect_err(c.output(s.job).status, errno.ESRCH, "OUTPUT of a dropped job")
        expect_err(c.output(987654).status, errno.ESRCH, "OUTPUT of an unknown job")


def case_streams_and_max_bytes():
    """streams selects stdout/stderr; max_bytes cuts chunks; offsets go where asked."""
    with start_rpxd() as d, ProcClient(d) as c:
        out_want = bytes(range(256)) * 8
        s = c.spawn_ok(["sh", "-c", "cat; echo to-stderr >&2"], stdin=out_want)
        c.wait_ok(s.job, 5000, keep=True)
        r = c.output(s.job, streams=STREAM_ERR)
        eq((r.err.data, r.err.eof, r.out.data), (b"to-stderr\n", True, b""), "stderr only")
        r = c.output(s.job, streams=STREAM_OUT, max_bytes=100, stdout_offset=1000)
        eq((r.out.offset, r.out.data, r.out.eof), (1000, out_want[1000:1100], False),
           "100 bytes of stdout at 1000")
        eq(r.err.data, b"", "stderr not asked")
        r = c.output(s.job, stdout_offset=2000, stderr_offset=3)
        eq((r.out.data, r.out.eof, r.err.data, r.err.eof), (out_want[2000:], True, b"stderr\n", True),
           "both streams at offsets")
        r = c.output(s.job, stdout_offset=len(out_want), streams=STREAM_OUT)
        eq((r.out.offset, r.out.data, r.out.eof, r.ended), (len(out_want), b"", True, True),
           "stdout at its end")
        c.wait_ok(s.job, 0)


def is_asan(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "asan" in f.read()


PATTERN = b"0123456789abcde\n"


def check_pattern(data, offset, what):
    """data is the `yes 0123456789abcde` stream at offset."""
    k = offset % len(PATTERN)
    reps = (len(data) + k) // len(PATTERN) + 2
    want = (PATTERN * reps)[k:k + len(data)]
    if data != want:
        i = next(i for i in range(len(data)) if data[i] != want[i])
        fail("%s: byte at stream offset %d is %r, expected %r"
             % (what, offset + i, data[i:i + 16], want[i:i + 16]))


def big_output(extra, expect_no_drop):
    total = 100000000
    with start_rpxd(extra) as d, ProcClient(d, timeout=30) as c:
        base_rss = rss_kib(d.pid)
        asan = is_asan(d.pid)
        s = c.spawn_ok(["yes 0123456789abcde | head -c %d" % total], shell=True)
        t0 = time.monotonic()
        offset, received, dropped, calls, peak = 0, 0, 0, 0, base_rss
        while True:
            check(time.monotonic() - t0 < 60, "100 MB not read within 60 s (at %d)" % offset)
            r = c.output(s.job, stdout_offset=offset, streams=STREAM_OUT, follow=True,
                         timeout_ms=5000)
            calls += 1
            expect_ok(r.status, "OUTPUT at %d" % offset)
            eq(r.out.offset, offset + r.out.dropped, "chunk offset = asked + dropped")
            check_pattern(r.out.data, r.out.offset, "chunk at %d" % r.out.offset)
            dropped += r.out.dropped
            received += len(r.out.data)
            offset = r.out.offset + len(r.out.data)
            peak = max(peak, rss_kib(d.pid))
            if r.out.eof:
                break
        took = time.monotonic() - t0
        log("100 MB: %d calls, %d bytes read, %d dropped, %.1f s, rpxd RSS %d -> peak %d KiB%s"
            % (calls, received, dropped, took, base_rss, peak, " (ASan)" if asan else ""))
        eq(offset, total, "stream end offset")
        eq(received + dropped, total, "bytes read + dropped")
        if expect_no_drop:
            eq(dropped, 0, "bytes dropped with a 128 MiB cap")
        w = c.wait_ok(s.job, 10000, keep=True)
        expect_exited(w, 0, "yes | head")
        i = c.info(s.job)
        eq(i.stdout_bytes, total, "INFO stdout_bytes")
        cap = 128 * MIB if expect_no_drop else 16 * MIB
        eq(i.stdout_dropped, max(0, total - cap), "INFO stdout_dropped")
        log_file = os.path.join(d.state_dir, "jobs", "%d.out" % s.job)
        check(os.path.getsize(log_file) <= cap, "ring file %s of %d bytes exceeds the cap %d"
              % (log_file, os.path.getsize(log_file), cap))
        c.wait_ok(s.job, 0)
        check(not os.path.exists(log_file), "ring file %s left after the record was dropped"
              % log_file)
        # ASan's quarantine keeps freed chunk buffers resident: bounds for real builds only.
        if asan:
            log("ASan build: RSS bounds not checked")
        else:
            check(peak - base_rss < 48 * 1024,
                  "rpxd RSS grew by %d KiB reading 100 MB" % (peak - base_rss))
            check(peak < 64 * 1024, "rpxd RSS peak %d KiB over 64 MiB" % peak)


def case_100mb_default_cap():
    """100 MB through the default 16 MiB ring: every byte read is right at its offset,
    read + dropped = 100 MB, RSS stays small."""
    big_output([], False)


def case_100mb_read_all():
    """100 MB with --output-cap 128 MiB: all of it read back, nothing dropped, RSS small."""
    big_output(["--output-cap", str(128 * MIB)], True)


def case_small_cap_tail():
    """--output-cap 1 MiB: a 2.6 MB stream reports dropped = total - cap and the last
    1 MiB is intact, on stdout and stderr alike."""
    cap = MIB
    want = b"".join(b"%d\n" % i for i in range(1, 400001))
    total = len(want)
    with start_rpxd(["--output-cap", str(cap)]) as d, ProcClient(d) as c:
        s = c.spawn_ok(["seq 1 400000; seq 1 400000 >&2"], shell=True)
        c.wait_ok(s.job, 10000, keep=True)
        i = c.info(s.job)
        eq((i.stdout_bytes, i.stderr_bytes), (total, total), "INFO bytes")
        eq((i.stdout_dropped, i.stderr_dropped), (total - cap, total - cap), "INFO dropped")
        r = c.output(s.job, max_bytes=4096)
        for name, ch in (("stdout", r.out), ("stderr", r.err)):
            eq((ch.offset, ch.dropped), (total - cap, total - cap), name + " (offset, dropped)")
            eq(ch.data, want[total - cap:total - cap + 4096], name + " first kept bytes")
        # From a kept offset: nothing dropped.
        r = c.output(s.job, stdout_offset=total - 10, stderr_offset=total - cap + 5)
        eq((r.out.offset, r.out.dropped, r.out.data, r.out.eof),
           (total - 10, 0, want[-10:], True), "stdout tail")
        eq((r.err.offset, r.err.dropped), (total - cap + 5, 0), "stderr inside the ring")
        # The whole kept tail, read in chunks.
        got = {STREAM_OUT: bytearray(), STREAM_ERR: bytearray()}
        for bit in (STREAM_OUT, STREAM_ERR):
            off = 0
            while True:
                r = c.output(s.job, stdout_offset=off, stderr_offset=off, streams=bit)
                ch = r.out if bit == STREAM_OUT else r.err
                if off == 0:
                    eq(ch.dropped, total - cap, "dropped from offset 0")
                else:
                    eq((ch.offset, ch.dropped), (off, 0), "chunk at %d" % off)
                got[bit] += ch.data
                off = ch.offset + len(ch.data)
                if ch.eof:
                    break
            check(bytes(got[bit]) == want[total - cap:], "stream %d: kept tail differs" % bit)
        for ext in ("out", "err"):
            size = os.path.getsize(os.path.join(d.state_dir, "jobs", "%d.%s" % (s.job, ext)))
            check(size <= cap, "ring file .%s is %d bytes, cap %d" % (ext, size, cap))
        c.wait_ok(s.job, 0)


def case_discard_keeps_nothing():
    """Discarded streams: 5 MB written, no ring file, OUTPUT empty at EOF, 0 bytes in INFO."""
    with start_rpxd() as d, ProcClient(d) as c:
        s = c.spawn_ok(["head -c 5000000 /dev/zero; head -c 5000000 /dev/zero >&2; sleep 0.5"],
                       shell=True, stdout_mode=STDIO_DISCARD, stderr_mode=STDIO_DISCARD)
        time.sleep(0.2)
        eq([f for f in os.listdir(os.path.join(d.state_dir, "jobs"))
            if f.endswith((".out", ".err"))], [], "ring files of a discarding job")
        r = c.output(s.job, follow=True, timeout_ms=5000)
        eq((r.out.data, r.out.eof, r.err.data, r.err.eof), (b"", True, b"", True),
           "OUTPUT of a discarding job")
        i = c.info(s.job)
        eq((i.stdout_bytes, i.stderr_bytes, i.stdout_dropped), (0, 0, 0), "INFO counts")
        expect_exited(c.wait_ok(s.job, 5000), 0, "discarding job")


def case_udp_reply_budget():
    """OUTPUT over UDP carries at most 48 KiB of output (24 KiB a stream when both are
    asked), in a first answer and in a follow answer alike; over the Unix socket the same
    read returns all 200 KiB."""
    with start_rpxd(["--insecure"], transports=("unix", "udp")) as d, ProcClient(d) as c, \
            ProcClient(d, "udp") as u:
        s = c.spawn_ok(["sleep 0.5; head -c 204800 /dev/zero; head -c 204800 /dev/zero >&2"],
                       shell=True)
        r = u.output(s.job, streams=STREAM_OUT, follow=True, timeout_ms=5000)
        expect_ok(r.status, "UDP OUTPUT follow")
        check(0 < len(r.out.data) <= 48 * 1024,
              "UDP follow answer carried %d bytes" % len(r.out.data))
        expect_exited(c.wait_ok(s.job, 5000, keep=True), 0, "200 KiB job")
        r = u.output(s.job, streams=STREAM_OUT)
        expect_ok(r.status, "UDP OUTPUT stdout")
        eq(len(r.out.data), 48 * 1024, "UDP OUTPUT stdout bytes")
        r = u.output(s.job)
        expect_ok(r.status, "UDP OUTPUT both streams")
        eq((len(r.out.data), len(r.err.data)), (24 * 1024, 24 * 1024),
           "UDP OUTPUT (stdout, stderr) bytes")
        r = c.output(s.job)
        expect_ok(r.status, "unix OUTPUT both streams")
        eq((len(r.out.data), len(r.err.data), r.out.eof, r.err.eof),
           (204800, 204800, True, True), "unix OUTPUT (stdout, stderr, eof, eof)")


if __name__ == "__main__":
    main([case_follow_lines, case_follow_timeout_and_end, case_streams_and_max_bytes,
          case_100mb_default_cap, case_100mb_read_all, case_small_cap_tail,
          case_discard_keeps_nothing, case_udp_reply_budget])
