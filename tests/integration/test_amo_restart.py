"""kill -9 of rpxd in the middle of a stream of SPAWNs, then a restart on the same state dir: no call runs twice, and every call answered before the crash is answered with the same bytes after.

Clients on rpxd's Unix socket: amo_driver (librpx, 3 processes, deadline
20 s: they reconnect and resend through the restart) and two raw clients
(request IDs by hand, acked kept at 1 so every record stays) that keep the
reply bytes of each SPAWN answered before the crash. rpxd is killed with
SIGKILL once a few hundred tokens are written, and started again on the
same --state-dir and socket path. Then: every raw request answered before
the crash, sent again with the same request ID on a new connection under a
new XID, gets the same reply bytes after the XID and runs nothing
(drc_new unchanged); the request in flight at the crash is either answered
or refused with ESTALE, never run twice; among the driver's calls ok ran
exactly once, failed never, unknown at most once.
"""

import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import amotest  # noqa: E402
import proctest  # noqa: E402
from proctest import (SPAWN, STDIO_DISCARD, Closed, ProcClient, Timeout, dec_spawn,  # noqa: E402
                      enc_spawn, expect_err, expect_ok)
from rpxtest import check, eq, fail, log  # noqa: E402

DRIVER_CALLS = 900
RAW_CLIENTS = 2
ESTALE = 116


class RawClient(threading.Thread):
    """SPAWNs with hand-made request IDs until the connection breaks; keeps the replies."""

    def __init__(self, sock_path, token_file, name, rng):
        super().__init__(daemon=True)
        self.sock_path, self.token_file, self.name = sock_path, token_file, name
        self.cid = rng.randrange(1, 1 << 64)
        self.answered = []  # (token, args, reply bytes after the XID)
        self.in_flight = None  # (token, args) sent when the connection broke
        self.error = None

    def args(self, seq):
        token = "%s-%d" % (self.name, seq)
        script = "echo %s >> '%s'" % (token, self.token_file)
        return token, enc_spawn([script], shell=True, stdout_mode=STDIO_DISCARD,
                                stderr_mode=STDIO_DISCARD, reqid=(self.cid, seq, 1))

    def run(self):
        try:
            with ProcClient(None, "unix", timeout=10, addr=self.sock_path) as c:
                seq = 0
                while True:
                    seq += 1
                    token, args = self.args(seq)
                    try:
                        xid = c.send(SPAWN, args)
                        r = c.recv_raw(xid)
                    except (Closed, Timeout, OSError):
                        self.in_flight = (token, args)
                        return
                    expect_ok(dec_spawn(r.results).status, "%s SPAWN %d" % (self.name, seq))
                    self.answered.append((token, args, r.raw[4:]))
                    time.sleep(0.002)
        except Exception as e:  # reported by the test
            self.error = e


def kill9(d):
    os.kill(d.pid, signal.SIGKILL)
    d.proc.wait(timeout=10)
    d.stopped = True
    d._cleanup()


def case_kill9_restart():
    """SIGKILL mid-stream, restart on the same state: nothing runs twice, answers replay byte for byte."""
    s = amotest.seed()
    rng = random.Random(s)
    tmp = tempfile.mkdtemp(prefix="amo-restart-")
    state = os.path.join(tmp, "state")
    os.mkdir(state)
    sock = os.path.join(tmp, "rpxd.sock")
    token_file = os.path.join(tmp, "tokens")
    args = dict(extra=["--state-dir", state], listen=["unix:" + sock])
    try:
        d = proctest.start_rpxd(**args)
        raws = [RawClient(sock, token_file, "r%d" % i, rng) for i in range(RAW_CLIENTS)]
        try:
            drv = amotest.run_driver("unix:" + sock, token_file, "d", DRIVER_CALLS, procs=3,
                                     timeout_ms=20000, pause_ms=2, background=True)
            for r in raws:
                r.start()
            proctest.wait_until(lambda: sum(amotest.token_counts(token_file).values()) >= 300,
                                30, "300 tokens written before the crash")
            check(drv.poll() is None, "the driver finished before the crash; make it longer")
            kill9(d)
            log("rpxd killed with SIGKILL after %d tokens"
                % sum(amotest.token_counts(token_file).values()))
        except BaseException:
            if not d.stopped:
                kill9(d)
            raise
        for r in raws:
            r.join(15)
            check(not r.is_alive(), "%s did not notice the crash" % r.name)
            if r.error is not None:
                raise r.error
            check(r.answered, "%s had no answer before the crash" % r.name)
        time.sleep(0.5)
        with proctest.start_rpxd(**args) as d2:
            out = amotest.finish_driver(drv, "d", DRIVER_CALLS, 120)
            log("driver: %s; not ok: %r" % (out.summary(), out.lines("unknown") + out.lines("failed")))
            st0 = amotest.wait_jobs_idle(d2)
            check(st0.drc_entries > 0, "the restarted rpxd restored no completion records")
            # Every raw request answered before the crash: the same bytes again, nothing run.
            replayed = 0
            with ProcClient(d2, "unix", timeout=10) as c:
                for r in raws:
                    for token, a, reply in r.answered:
                        xid, got = c.call_raw(SPAWN, a)
                        if got.raw[4:] != reply:
                            fail("%s: reply after restart differs:\n before %s\n after  %s"
                                 % (token, reply.hex(), got.raw[4:].hex()))
                        replayed += 1
                st1 = c.stats()
                eq(st1.drc_new, st0.drc_new, "requests run by the replays (drc_new)")
                check(st1.drc_hits - st0.drc_hits >= replayed,
                      "drc_hits grew by %d for %d replays" % (st1.drc_hits - st0.drc_hits,
                                                              replayed))
                # The request each raw client had in flight: answered or ESTALE.
                inflight = []
                for r in raws:
                    if r.in_flight is None:
                        continue
                    token, a = r.in_flight
                    res = dec_spawn(c.call_raw(SPAWN, a)[1].results)
                    if res.status.error != 0:
                        expect_err(res.status, ESTALE, "%s in flight at the crash" % token)
                    inflight.append(token)
                    log("%s, in flight at the crash: %s" % (token, res.status))
            log("%d raw replies replayed byte for byte" % replayed)
            amotest.wait_jobs_idle(d2)
            counts = amotest.token_counts(token_file)
            raw_ok = [t for r in raws for t, _, _ in r.answered]
            for t in raw_ok:
                eq(counts.get(t, 0), 1, "runs of %s (answered before the crash)" % t)
            amotest.check_tokens(out, counts, extra_ok=raw_ok + inflight)
            check(out.count("ok") >= DRIVER_CALLS // 2,
                  "only %s of the driver's calls succeeded" % out.summary())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    proctest.main([case_kill9_restart])
