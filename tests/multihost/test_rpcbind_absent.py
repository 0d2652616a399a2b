"""rpxd --register when rpcbind cannot help: with no rpcbind, rpxd logs one
"rpcbind not reachable" line and serves at once; with a hung rpcbind (SIGSTOP),
start-up is delayed by the registration deadline (2 s) only, and so is a clean
stop when rpcbind hangs after the registration."""
import signal
import time

import hosts as H

REGISTER_DEADLINE = 2.0


def serves(hs, h):
    rc, out, err, _ = hs.rpx(h, ["-t", "3000", "date"])
    if rc != 0:
        H.fail("%s: rpx date exit %d: %s" % (h, rc, err))


def rpcbind_lines(h):
    return [l for l in h.log_text().splitlines() if "rpcbind" in l]


def scenario(hs):
    if not hs.can_register:
        H.skip("this rpxd has no --register option yet")
    absent, hung, later = hs.hosts
    # no rpcbind at all
    t0 = time.monotonic()
    absent.start_rpxd(register=True)
    secs = time.monotonic() - t0
    lines = rpcbind_lines(absent)
    if len(lines) != 1 or "rpcbind not reachable: " not in lines[0]:
        H.fail("%s: expected one 'rpcbind not reachable' line, got %r" % (absent, lines))
    if secs > 1.5:
        H.fail("%s: ready after %.2f s without rpcbind" % (absent, secs))
    serves(hs, absent)
    if absent.stop_rpxd() != 0 or len(rpcbind_lines(absent)) != 1:
        H.fail("%s: stop: exit status or more rpcbind lines: %r" % (absent, rpcbind_lines(absent)))
    # rpcbind hung from the start
    hung.start_rpcbind(stop=True)
    t0 = time.monotonic()
    hung.start_rpxd(register=True)
    secs = time.monotonic() - t0
    if not REGISTER_DEADLINE - 0.3 <= secs <= REGISTER_DEADLINE + 1.5:
        H.fail("%s: ready after %.2f s with a hung rpcbind (deadline %.1f s)"
               % (hung, secs, REGISTER_DEADLINE))
    if len(rpcbind_lines(hung)) != 1:
        H.fail("%s: expected one rpcbind line, got %r" % (hung, rpcbind_lines(hung)))
    serves(hs, hung)
    t0 = time.monotonic()
    if hung.stop_rpxd() != 0 or time.monotonic() - t0 > 1.5:
        H.fail("%s: stop took %.2f s although nothing was registered"
               % (hung, time.monotonic() - t0))
    hung.rpcbind.kill(signal.SIGCONT)
    # rpcbind hangs after a good registration: the stop waits the deadline, no more
    later.start_rpcbind()
    later.start_rpxd(register=True)
    serves(hs, later)
    if rpcbind_lines(later):
        H.fail("%s: rpcbind lines although registration worked: %r"
               % (later, rpcbind_lines(later)))
    later.rpcbind.kill(signal.SIGSTOP)
    t0 = time.monotonic()
    rc = later.stop_rpxd()
    secs = time.monotonic() - t0
    if rc != 0 or secs > REGISTER_DEADLINE + 1.5:
        H.fail("%s: stop with a hung rpcbind: exit %r after %.2f s" % (later, rc, secs))
    if len(rpcbind_lines(later)) != 1:
        H.fail("%s: expected one rpcbind line at stop, got %r" % (later, rpcbind_lines(later)))
    later.rpcbind.kill(signal.SIGCONT)


if __name__ == "__main__":
    H.main(scenario, n=3, tools=("rpcbind", "rpcinfo"), budget=50)
