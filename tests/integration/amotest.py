"""amotest: helpers of the at-most-once tests (test_amo_*.py).

Builds and runs amo_driver (tests/integration/amo_driver.c, linked with the
build tree's librpx.a), reads its per-call outcomes, counts the tokens the
spawned shells appended to the token file, and waits for rpxd's jobs to end.
The check every scenario ends with is check_tokens(): a call reported ok ran
exactly once, a call reported failed never ran, and no call ran twice.

Python 3 standard library only. Every wait has a deadline.
"""

import collections
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proctest  # noqa: E402
from rpxtest import check, eq, fail, log, rpxd_path  # noqa: E402,F401

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def build_dir():
    b = os.environ.get("RPX_BUILD_DIR")
    if b:
        return b
    # RPXD is BUILD/server/rpxd
    return os.path.dirname(os.path.dirname(os.path.abspath(rpxd_path())))


def _pkg(flag):
    try:
        out = subprocess.run(["pkg-config", flag, "libtirpc"], capture_output=True, text=True,
                             timeout=10)
        if out.returncode == 0:
            return out.stdout.split()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return {"--cflags": ["-I/usr/include/tirpc"], "--libs": ["-ltirpc"]}[flag]


def driver_path():
    """$AMO_DRIVER, or amo_driver built (when out of date) into the build tree."""
    p = os.environ.get("AMO_DRIVER")
    if p:
        return p
    b = build_dir()
    src = os.path.join(HERE, "amo_driver.c")
    lib = os.path.join(b, "stubs", "librpx.a")
    check(os.path.exists(lib), "no %s: build librpx first" % lib)
    out = os.path.join(b, "tests", "integration", "amo_driver")
    deps = [src, lib] + [os.path.join(REPO, "stubs", "include", "rpx", h)
                         for h in ("client.h", "proc_client.h")]
    if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(d) for d in deps):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = "%s.%d.tmp" % (out, os.getpid())
    cmd = (["cc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", tmp, src,
            "-I" + os.path.join(REPO, "stubs", "include"),
            "-I" + os.path.join(b, "stubs", "gen")] + _pkg("--cflags") + [lib] + _pkg("--libs"))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        fail("building amo_driver failed: %s\n%s" % (" ".join(cmd), r.stderr))
    os.rename(tmp, out)
    return out


def seed():
    """$AMO_SEED, or a fresh one; printed so a failing run can be repeated."""
    s = int(os.environ.get("AMO_SEED") or random.SystemRandom().randrange(1, 1 << 31))
    log("seed %d (repeat with AMO_SEED=%d)" % (s, s))
    return s


class Outcomes:
    """Per-token outcome lines of amo_driver: ok / unknown / failed."""

    def __init__(self, prefix, n, stdout):
        self.prefix, self.n = prefix, n
        self.by_token = {}
        for line in stdout.splitlines():
            parts = line.split(" ", 3)
            check(len(parts) >= 3 and parts[1] in ("ok", "unknown", "failed"),
                  "amo_driver: bad output line %r" % line)
            check(parts[0] not in self.by_token, "amo_driver: token %s reported twice" % parts[0])
            self.by_token[parts[0]] = (parts[1], line)
        want = set(self.tokens())
        eq(len(self.by_token), n, "calls reported by amo_driver")
        check(set(self.by_token) == want, "amo_driver reported tokens it was not asked for")

    def tokens(self):
        return ["%s-%d" % (self.prefix, i) for i in range(self.n)]

    def count(self, what):
        return sum(1 for o, _ in self.by_token.values() if o == what)

    def lines(self, what, limit=5):
        return [ln for o, ln in self.by_token.values() if o == what][:limit]

    def summary(self):
        return "ok %d, unknown %d, failed %d" % (self.count("ok"), self.count("unknown"),
                                                 self.count("failed"))


def run_driver(url, token_file, prefix, n, procs=1, timeout_ms=None, retry_ms=None, pause_ms=0,
               limit_s=300.0, background=False, tls=None):
    """Run amo_driver; returns Outcomes (or the Popen when background).
    tls: (ca, cert, key) files for a tls:// URL."""
    cmd = [driver_path(), "-p", str(procs), "-s", str(pause_ms)]
    if tls is not None:
        cmd += ["-C", tls[0], "-c", tls[1], "-k", tls[2]]
    if timeout_ms is not None:
        cmd += ["-t", str(timeout_ms)]
    if retry_ms is not None:
        cmd += ["-r", str(retry_ms)]
    cmd += [url, token_file, prefix, str(n)]
    log("driver: %s" % " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if background:
        return p
    return finish_driver(p, prefix, n, limit_s)


def finish_driver(p, prefix, n, limit_s):
    try:
        out, err = p.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        fail("amo_driver did not finish within %.0f s; stderr:\n%s" % (limit_s, err))
    check(p.returncode == 0, "amo_driver exited %d; stderr:\n%s" % (p.returncode, err))
    return Outcomes(prefix, n, out)


def token_counts(path):
    if not os.path.exists(path):
        return collections.Counter()
    with open(path) as f:
        return collections.Counter(line.strip() for line in f if line.strip())


def wait_jobs_idle(server, timeout=60.0, transport="unix"):
    """Until rpxd reports no running job (every spawned shell has written its token)."""
    deadline = time.monotonic() + timeout
    while True:
        with proctest.ProcClient(server, transport, timeout=10) as c:
            st = c.stats()
        if st.jobs_running == 0:
            return st
        if time.monotonic() > deadline:
            fail("rpxd still has %d running jobs after %.0f s" % (st.jobs_running, timeout))
        time.sleep(0.1)


def check_tokens(outcomes, counts, extra_ok=()):
    """ok ran exactly once, failed never, unknown at most once; no stray tokens.

    extra_ok: tokens outside the driver's run that are allowed in the file
    (each still at most once).
    """
    problems = []
    for tok, (what, line) in outcomes.by_token.items():
        c = counts.get(tok, 0)
        if what == "ok" and c != 1:
            problems.append("reported ok but ran %d times: %s" % (c, line))
        elif what == "failed" and c != 0:
            problems.append("reported failed but ran %d times: %s" % (c, line))
        elif what == "unknown" and c > 1:
            problems.append("outcome unknown but ran %d times: %s" % (c, line))
    known = set(outcomes.by_token) | set(extra_ok)
    for tok, c in counts.items():
        if tok not in known and tok.startswith(outcomes.prefix + "-"):
            problems.append("token %s in the file but not reported by the driver" % tok)
        elif tok in extra_ok and c > 1:
            problems.append("token %s ran %d times" % (tok, c))
    if problems:
        fail("%d at-most-once violations (%s):\n  %s"
             % (len(problems), outcomes.summary(), "\n  ".join(problems[:20])))


def check_resets_run(server, out, token_file, proxy, calls, min_ok_percent):
    """After SPAWNs through a TcpResetProxy: tokens agree with what each call
    was told, the proxy reset connections both ways, resends were answered
    from rpxd's cache, rpxd ran exactly as many SPAWNs as tokens were written,
    and at least min_ok_percent of the calls succeeded."""
    st = wait_jobs_idle(server)
    counts = token_counts(token_file)
    check_tokens(out, counts)
    log("STATS drc_new %d drc_hits %d drc_in_progress %d drc_refusals %d"
        % (st.drc_new, st.drc_hits, st.drc_in_progress, st.drc_refusals))
    check(proxy.stats["resets_up"] > 0 and proxy.stats["resets_down"] > 0,
          "the proxy reset no connection in one direction: %r" % proxy.stats)
    check(st.drc_hits > 0, "no resent request answered from the cache (drc_hits 0)")
    ran = sum(counts.values())
    check(st.drc_new == ran,
          "rpxd ran %d SPAWNs (drc_new) but %d tokens were written" % (st.drc_new, ran))
    check(out.count("ok") >= calls * min_ok_percent // 100,
          "only %s of %d calls succeeded; e.g. %r"
          % (out.summary(), calls, out.lines("unknown") + out.lines("failed")))
