"""rpx run on 5 hosts at once: each command finds out on the host which host it is
(host name, and the marker file in the host's private /run) and exits with a status
derived from it, so every output line and every exit status must come back
attributed to the right host."""
import hosts as H

SCRIPT = ('h=$(hostname); echo "host=$h marker=$(cat /run/rpxt-host)"; '
          'echo "stderr-of-$h" >&2; exit $((10 + ${h#rpxt-h}))')


def expect(h):
    return 10 + h.index, "host=%s marker=%s" % (h.name, h.name), "stderr-of-%s" % h.name


def scenario(hs):
    for h in hs.hosts:
        h.start_rpxd(register=False)
    results = hs.rpx_each(["run", "--", "sh", "-c", SCRIPT], timeout=30)
    for h, (rc, out, err, secs) in results.items():
        code, line, errline = expect(h)
        if rc != code:
            H.fail("%s: rpx run exit %d, expected %d (stdout %r, stderr %r)"
                   % (h, rc, code, out, err))
        if out.splitlines() != [line]:
            H.fail("%s: stdout %r, expected %r" % (h, out, line))
        if errline not in err.splitlines():
            H.fail("%s: stderr %r lacks %r" % (h, err, errline))
    if not hs.fanout_supported("run"):
        H.log("rpx run takes one host: fan-out part not run")
        return
    rc, per_host, other, err, secs = hs.rpx_fanout(["run", "--", "sh", "-c", SCRIPT])
    if rc == 0:
        H.fail("rpx -H x5 run: exit 0 although every host's command failed")
    for h, lines in per_host.items():
        if expect(h)[1] not in lines:
            H.fail("%s: fan-out lines %r lack %r" % (h, lines, expect(h)[1]))


if __name__ == "__main__":
    H.main(scenario, n=5, budget=50)
