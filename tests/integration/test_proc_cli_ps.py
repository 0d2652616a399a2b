#!/usr/bin/env python3
"""rpx ps lists the caller's jobs (table, --json, filters), --all shows pid 1 and rpxd, --tree nests the job under rpxd; rpx info.

Environment: RPXD, RPX (paths of the binaries).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import *  # noqa: E402,F401,F403  (rpxd harness, run/expect helpers)

HEADER = ["JOB", "PID", "PPID", "PGID", "S", "UID", "PRI", "NI", "RSS", "TIME", "CMD"]


def table(out, what):
    """Parses the ps table: header check, then rows as lists of 10 fields + CMD."""
    lines = out.splitlines()
    if not lines or lines[0].split() != HEADER:
        fail("%s: header %r, expected %r" % (what, lines[:1], HEADER))
    rows = []
    for l in lines[1:]:
        f = l.split(None, 10)
        if len(f) != 11:
            fail("%s: row %r does not have 11 columns" % (what, l))
        rows.append((f, l))
    return rows


def jsonl(out, what):
    objs = []
    for l in out.splitlines():
        try:
            objs.append(json.loads(l))
        except ValueError as e:
            fail("%s: not JSON (%s): %r" % (what, e, l))
    return objs


def main():
    rpx = binary("RPX")
    d = Rpxd(binary("RPXD"))
    u = d.urls["unix"]
    t = d.urls["tcp"]
    try:
        # No jobs yet: the header only.
        out, _ = expect([rpx, "-H", u, "ps"], 0)
        if table(out, "ps with no jobs"):
            fail("ps with no jobs: rows %r" % out)

        a = spawn(rpx, u, "--name", "alpha", "--label", "team=red", "--", "sleep", "100")
        b = spawn(rpx, u, "--name", "beta", "--label", "team=blue", "--", "sh", "-c", "sleep 100")
        c = spawn(rpx, u, "--name", "gamma", "--", "sh", "-c", "exit 4")
        expect([rpx, "-H", u, "wait", "--keep", str(c)], 4)

        # ps shows the caller's jobs: JOB, PID, S, CMD.
        out, _ = expect([rpx, "-H", u, "ps"], 0)
        rows = table(out, "ps")
        jobs = {int(f[0]): (f, l) for f, l in rows}
        if set(jobs) != {a, b, c}:
            fail("ps: jobs %r, expected %r: %r" % (sorted(jobs), sorted({a, b, c}), out))
        if jobs[a][0][10] != "sleep 100" or jobs[b][0][10] != "sh -c sleep 100":
            fail("ps: CMD column wrong: %r" % out)
        if jobs[a][0][4] not in ("S", "R"):
            fail("ps: state of a sleeping job is %r" % jobs[a][0][4])
        if int(jobs[a][0][5]) != os.getuid():
            fail("ps: UID of the job is %r, expected ours %d" % (jobs[a][0][5], os.getuid()))

        # --json: one object per line with typed fields; the ended job carries its exit.
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        objs = {o["job"]: o for o in jsonl(out, "ps --json")}
        if set(objs) != {a, b, c}:
            fail("ps --json: jobs %r" % sorted(objs))
        oa = objs[a]
        if oa["name"] != "alpha" or oa["labels"] != {"team": "red"} or oa["state"] not in (
                "waiting", "running") or oa["exit"] is not None or not oa["pid"] > 1 or \
                oa["cmdline"] != "sleep 100":
            fail("ps --json, job alpha: %r" % oa)
        ex = objs[c]["exit"]
        if ex is None or ex["how"] != "exited" or ex["code"] != 4 or objs[c]["state"] != "terminated":
            fail("ps --json, ended job gamma: %r" % objs[c])

        # Filters: --name, --label, --state.
        def ps_jobs(*args):
            out, _ = expect([rpx, "-H", u, "ps", "--json"] + list(args), 0)
            return sorted(o["job"] for o in jsonl(out, "ps %r" % (args,)))
        if ps_jobs("--name", "beta") != [b]:
            fail("ps --name beta: %r" % ps_jobs("--name", "beta"))
        if ps_jobs("--label", "team=red") != [a]:
            fail("ps --label team=red: %r" % ps_jobs("--label", "team=red"))
        if ps_jobs("--state", "terminated") != [c]:
            fail("ps --state terminated: %r" % ps_jobs("--state", "terminated"))
        if ps_jobs("--state", "running,waiting") != sorted([a, b]):
            fail("ps --state running,waiting: %r" % ps_jobs("--state", "running,waiting"))
        expect([rpx, "-H", u, "ps", "--state", "dancing"], 2, stderr_re="--state")
        expect([rpx, "-H", u, "ps", "--label", "novalue"], 2, stderr_re="KEY=VALUE")

        # info: text and JSON.
        out, _ = expect([rpx, "-H", u, "info", str(a)], 0)
        for pat in (r"^job +%d$" % a, r"^name +alpha$", r"^pid +%d$" % oa["pid"], r"^cwd +/$",
                    r'^argv +"sleep" "100"$', r"^labels +team=red$", r"^status +running$"):
            if not re.search(pat, out, re.M):
                fail("info %d: no line matching %r in %r" % (a, pat, out))
        out, _ = expect([rpx, "-H", u, "info", "--json", str(c)], 0)
        oc = json.loads(out)
        if oc["argv"] != ["sh", "-c", "exit 4"] or oc["cwd"] != "/" or oc["exit"]["code"] != 4 or \
                oc["job"] != c or not isinstance(oc["stdout_bytes"], int):
            fail("info --json %d: %r" % (c, oc))
        expect([rpx, "-H", u, "info", "999999"], 1, stderr_re=r"^rpx: info: job 999999: server: ")

        # --all: every process of the host, pid 1 and rpxd among them; also over TCP (read-only).
        for url in (u, t):
            out, _ = expect([rpx, "-H", url, "ps", "--all"], 0)
            rows = table(out, "ps --all over %s" % url)
            pids = {int(f[1]): (f, l) for f, l in rows}
            if 1 not in pids:
                fail("ps --all over %s: no pid 1" % url)
            if d.proc.pid not in pids or "rpxd" not in pids[d.proc.pid][0][10]:
                fail("ps --all over %s: rpxd (pid %d) missing: %r"
                     % (url, d.proc.pid, pids.get(d.proc.pid)))
            if len(pids) < 3:
                fail("ps --all over %s: only %d processes" % (url, len(pids)))
        # Small pages: the client walks every page (LIST cursor) and gets the same processes.
        out, _ = expect([rpx, "-H", u, "ps", "--all", "--json"], 0)
        whole = sorted(o["pid"] for o in jsonl(out, "ps --all --json"))
        out, _ = expect([rpx, "-H", u, "ps", "--all", "--json", "--page-size", "3"], 0)
        paged = sorted(o["pid"] for o in jsonl(out, "ps --all --json --page-size 3"))
        # Other processes come and go meanwhile: every one alive through both listings
        # must be in the paged one, and none twice.
        missing = [p for p in whole if p not in paged and os.path.exists("/proc/%d" % p)]
        if len(paged) != len(set(paged)) or missing or 1 not in paged or d.proc.pid not in paged:
            fail("ps --all in pages of 3: %d processes (%d distinct), %d in one page"
                 % (len(paged), len(set(paged)), len(whole)))
        out, _ = expect([rpx, "-H", u, "ps", "--json", "--page-size", "1"], 0)
        if sorted(o["job"] for o in jsonl(out, "ps --page-size 1")) != sorted([a, b, c]):
            fail("ps in pages of 1: %r" % out)
        expect([rpx, "-H", u, "ps", "--page-size", "1001"], 2, stderr_re="--page-size")

        # The jobs appear in --all with their JOB number.
        out, _ = expect([rpx, "-H", u, "ps", "--all", "--json"], 0)
        allp = {o["pid"]: o for o in jsonl(out, "ps --all --json")}
        if allp.get(oa["pid"], {}).get("job") != a:
            fail("ps --all --json: job %d (pid %d) not marked: %r" % (a, oa["pid"], allp.get(oa["pid"])))

        # --tree: the job's process under rpxd, rpxd under its parent; children indented.
        out, _ = expect([rpx, "-H", u, "ps", "--all", "--tree", "--json"], 0)
        tree = jsonl(out, "ps --all --tree --json")
        order = [o["pid"] for o in tree]
        depth = {o["pid"]: o["depth"] for o in tree}
        if len(order) != len(set(order)):
            fail("ps --tree: a process printed twice")
        if depth.get(1) != 0:
            fail("ps --tree: pid 1 at depth %r" % depth.get(1))
        rp, jp = d.proc.pid, oa["pid"]
        if rp not in depth or jp not in depth or depth[jp] != depth[rp] + 1 or \
                order.index(jp) < order.index(rp):
            fail("ps --tree: job pid %d (depth %r) not under rpxd pid %d (depth %r)"
                 % (jp, depth.get(jp), rp, depth.get(rp)))
        # Every child comes after its parent, one level deeper.
        seen = {}
        for o in tree:
            if o["ppid"] in seen and o["depth"] != seen[o["ppid"]] + 1:
                fail("ps --tree: pid %d at depth %d under ppid %d at depth %d"
                     % (o["pid"], o["depth"], o["ppid"], seen[o["ppid"]]))
            seen[o["pid"]] = o["depth"]
        out, _ = expect([rpx, "-H", u, "ps", "--all", "--tree"], 0)
        table(out, "ps --all --tree")
        lines = out.splitlines()
        col = lines[0].index("CMD")
        cmd = {int(l.split()[1]): l[col:] for l in lines[1:]}
        indent = lambda c: len(c) - len(c.lstrip(" "))
        if not re.match(r"^ *\\_ sleep 100$", cmd[jp]) or indent(cmd[jp]) <= indent(cmd[rp]):
            fail("ps --tree: job line %r not indented under rpxd's %r" % (cmd[jp], cmd[rp]))
        if indent(cmd[1]) != 0:
            fail("ps --tree: pid 1 indented: %r" % cmd[1])

        for j in (a, b):
            expect([rpx, "-H", u, "kill", "-s", "KILL", str(j)], 0)
            expect([rpx, "-H", u, "wait", str(j)], 137)
        expect([rpx, "-H", u, "wait", str(c)], 4)
        out, _ = expect([rpx, "-H", u, "ps", "--json"], 0)
        if out:
            fail("ps after reaping every job: %r" % out)
    finally:
        d.stop()
    print("ok")


if __name__ == "__main__":
    main()
