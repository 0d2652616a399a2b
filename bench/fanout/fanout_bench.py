"""Fan-out benchmark: one `rpx -H h1 ... -H hN run -- true` against the same N runs
made one host at a time (`rpx -H hi run -- true` in a loop), N = 1, 5, 20, 50.

The hosts are network namespaces built by tests/multihost/hosts.py (imported, not
copied): each has its own /run, rpcbind, and rpxd --register --insecure on
tcp://198.18.0.i:7077. The timing loop runs in the client namespace as one
process (this file with --measure), so neither side pays `ip netns exec` per
command. Every cell runs REPS times, fan-out and sequential interleaved; the
table shows p50 (and min, max) wall times of the whole command or loop. One more
row: the largest fan-out with bare addresses (-H 198.18.0.i), each host's port
found through its rpcbind first.

Run by bench/fanout/run.sh (root needed). Environment: RPXD, RPX (binaries),
REPS (5), SIZES ("1 5 20 50"), BUDGET (s, 600: the alarm after which
everything is torn down and the run fails), PARALLEL (rpx --parallel, unset:
rpx's default).
"""
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "multihost"))
import hosts as H  # noqa: E402


def run_timed(cmd, timeout):
    """Wall seconds of @cmd, which must exit 0."""
    t0 = time.monotonic()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout)
    secs = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:6]), r.returncode,
                                                r.stderr.decode(errors="replace")[-400:]))
    return secs


def fan_cmd(rpx, targets, extra):
    cmd = [rpx]
    for t in targets:
        cmd += ["-H", t]
    return cmd + extra + ["run", "--", "true"]


def measure(rpx, urls, addrs, sizes, reps, parallel):
    """In the client namespace: {N: {"fan": [s...], "seq": [s...]}, "bare": [s...]} as JSON."""
    out = {}
    extra = ["--parallel", str(parallel)] if parallel else []
    for n in sizes:
        fan = fan_cmd(rpx, urls[:n], extra)
        cell = {"fan": [], "seq": []}
        run_timed(fan, 60)  # warm-up: page cache, first connections, rpxd's first job
        for _ in range(reps):
            cell["fan"].append(run_timed(fan, 60))
            t0 = time.monotonic()
            for u in urls[:n]:
                run_timed([rpx, "-H", u, "run", "--", "true"], 60)
            cell["seq"].append(time.monotonic() - t0)
        out[str(n)] = cell
    bare = fan_cmd(rpx, addrs[:max(sizes)], extra)
    run_timed(bare, 60)
    out["bare"] = [run_timed(bare, 60) for _ in range(reps)]
    json.dump(out, sys.stdout)


def table(res, sizes):
    def ms(v):
        return "%.1f" % (v * 1e3)

    fan1 = statistics.median(res[str(sizes[0])]["fan"])
    lines = ["| hosts | fan-out p50 ms (min-max) | sequential p50 ms (min-max) | "
             "fan-out / sequential | fan-out(N) / fan-out(%d) |" % sizes[0],
             "|---:|---:|---:|---:|---:|"]
    for n in sizes:
        c = res[str(n)]
        f, s = statistics.median(c["fan"]), statistics.median(c["seq"])
        lines.append("| %d | %s (%s-%s) | %s (%s-%s) | %.2f | %.2f |" % (
            n, ms(f), ms(min(c["fan"])), ms(max(c["fan"])), ms(s), ms(min(c["seq"])),
            ms(max(c["seq"])), f / s, f / fan1))
    b, n = res["bare"], sizes[-1]
    lines.append("| %d, bare addresses (rpcbind lookup) | %s (%s-%s) | | | %.2f |" % (
        n, ms(statistics.median(b)), ms(min(b)), ms(max(b)), statistics.median(b) / fan1))
    return "\n".join(lines)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        cfg = json.loads(sys.argv[2])
        measure(cfg["rpx"], cfg["urls"], cfg["addrs"], cfg["sizes"], cfg["reps"], cfg["parallel"])
        return 0
    sizes = [int(x) for x in os.environ.get("SIZES", "1 5 20 50").split()]
    reps = int(os.environ.get("REPS", "5"))
    budget = int(os.environ.get("BUDGET", "600"))
    parallel = int(os.environ.get("PARALLEL", "0"))
    H.require("rpcbind")
    n = max(sizes)
    t0 = time.monotonic()
    with H.Hosts(n, budget=budget, mesh=False) as hs:
        hs.start_all(rpcbind=True, register=True)
        H.log("%d hosts up in %.1f s" % (n, time.monotonic() - t0))
        load0 = open("/proc/loadavg").read().split()[0]
        cfg = {"rpx": hs.rpx_bin, "urls": [h.url() for h in hs.hosts],
               "addrs": [h.addr for h in hs.hosts], "sizes": sizes,
               "reps": reps, "parallel": parallel}
        rc, out, err, secs = hs.client([sys.executable, os.path.abspath(__file__), "--measure",
                                        json.dumps(cfg)], timeout=budget)
        if rc != 0:
            H.fail("measurement failed (exit %d): %s" % (rc, err))
        res = json.loads(out)
        load1 = open("/proc/loadavg").read().split()[0]
    H.log("measured in %.1f s; everything torn down" % secs)
    print("rpx run -- true on N test hosts (network namespaces), %d repetitions each, "
          "fan-out and sequential interleaved%s:\n"
          % (reps, ", --parallel %d" % parallel if parallel else ""))
    print(table(res, sizes))
    print("\nload average (1 min) before/after the measurement: %s / %s "
          "(this machine has %d CPUs; every host's rpxd and job share them)"
          % (load0, load1, os.cpu_count()))
    print("\nraw (s): %s" % json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
