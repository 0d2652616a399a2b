#!/usr/bin/env python3
"""rpx with several hosts on loopback: one event loop, lines attributed to hosts.

Three rpxd on 127.0.0.1 plus one dead port. Checks: date from every host
with "HOST: " prefixes, the dead port reported by name and in the summary,
exit status 1 then and 0 when every host answers; --hosts FILE (comments,
blank lines); --json one object per host with "host"; run on every host
with per-host output and the summary listing non-zero exit statuses;
--host-timeout against a silent peer bounds the wall time.
Environment: RPXD, RPX (paths of the binaries).
"""
import json
import os
import socket
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403


def main():
    rpx = binary("RPX")
    daemons = [Rpxd(binary("RPXD"), extra=("--insecure",)) for _ in range(3)]
    try:
        urls = [d.urls["tcp"] for d in daemons]
        dead = "tcp://127.0.0.1:%d" % free_tcp_port()
        hosts = []
        for u in urls + [dead]:
            hosts += ["-H", u]

        st, out, err, secs = run([rpx] + hosts + ["date"])
        if st != 1:
            fail("date with a dead host: exit %d, want 1 (%r)" % (st, err))
        for u in urls:
            if len([l for l in out.splitlines() if l.startswith(u + ": ")]) != 1:
                fail("date: no single line for %s in %r" % (u, out))
        if "rpx: %s: connection refused" % dead not in err.splitlines():
            fail("date: dead host not reported: %r" % err)
        if "4 hosts: 3 ok, 1 failed (%s: connection refused)" % dead not in err:
            fail("date: summary missing: %r" % err)

        with tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False) as f:
            f.write("# test hosts\n\n%s\n  %s  # second\n%s\n" % tuple(urls))
            path = f.name
        st, out, err, secs = run([rpx, "--hosts", path, "date", "--json"])
        os.unlink(path)
        if st != 0:
            fail("--hosts date --json: exit %d: %r" % (st, err))
        objs = [json.loads(l) for l in out.splitlines()]
        if sorted(o["host"] for o in objs) != sorted(urls) or not all("rfc3339" in o for o in objs):
            fail("--json lines %r" % out)
        if "3 hosts: 3 ok, 0 failed" not in err:
            fail("summary %r" % err)

        runh = []
        for u in urls:
            runh += ["-H", u]
        st, out, err, secs = run([rpx] + runh + ["run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"])
        if st != 1:
            fail("run exit 3 everywhere: rpx exit %d" % st)
        for u in urls:
            if u + ": out" not in out.splitlines() or u + ": err" not in err.splitlines():
                fail("run: output of %s not attributed: %r %r" % (u, out, err))
            if "%s: exit status 3" % u not in err:
                fail("run: summary lacks %s's status: %r" % (u, err))
        st, out, err, secs = run([rpx] + runh + ["run", "--", "true"])
        if st != 0:
            fail("run true everywhere: exit %d %r" % (st, err))

        # ps filters are checked by librpx before any host is asked, as for one host.
        st, out, err, secs = run([rpx] + runh + ["ps", "--name", "x" * 300])
        for u in urls:
            if "rpx: %s: the name filter is 300 bytes long; the limit is 256" % u \
                    not in err.splitlines():
                fail("ps --name of 300 bytes on %s: exit %d, stderr %r" % (u, st, err))
        if st != 1:
            fail("ps --name of 300 bytes: exit %d" % st)

        # A peer that accepts and never answers: the host deadline ends it.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        s_url = "tcp://127.0.0.1:%d" % silent.getsockname()[1]
        st, out, err, secs = run([rpx, "--host-timeout", "700", "-t", "10000"] + runh +
                                 ["-H", s_url, "date"])
        silent.close()
        if st != 1 or "%s: no answer within 700 ms" % s_url not in err:
            fail("silent host: exit %d, stderr %r" % (st, err))
        if secs > 3:
            fail("silent host: %.2f s for a 700 ms deadline" % secs)
        if len(out.splitlines()) != 3:
            fail("silent host: others' lines %r" % out)
    finally:
        for d in daemons:
            d.stop()
    print("ok")


if __name__ == "__main__":
    main()
