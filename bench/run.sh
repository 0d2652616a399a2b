#!/bin/bash
# run.sh: the whole benchmark, by hand (never a timed test). Builds nothing:
# give it a build directory where rpxd, baseline_svc, bench_echo and loadgen
# are built (a Release build: cmake -DCMAKE_BUILD_TYPE=Release).
#
#	bench/run.sh BUILD_DIR
#
# It starts (a) rpxd, (b) the stock rpcgen/libtirpc server baseline_svc and
# (c) the raw echo bench_echo, each on 127.0.0.1 port 0, reads their
# "listening" lines, runs the matrix below with loadgen, prints one markdown
# table with the ratios rpxd/baseline and rpxd/echo and the three target lines,
# and stops every server it started, by PID.
#
# Placement (2 cores: server and client compete for them):
#   split   every server on CPU 0 (SERVER_CPU), loadgen on CPU 1 (CLIENT_CPU):
#           tcp and udp x 1, 4, 16, 64 connections of sync calls, and one tcp
#           connection with WINDOW calls pipelined.
#   shared  server and loadgen both on CLIENT_CPU: one connection of sync calls.
#           A wake-up across vCPUs costs tens of microseconds on this VM and
#           varies run to run, so single-connection latency is judged here,
#           where it measures the software path of client, kernel and server.
# Every cell runs ROUNDS times, the servers interleaved; the table shows the
# median round (by calls/s, or by p50 for the shared cells).
#
# Environment: DURATION (s per cell, 2), ROUNDS (3), WINDOW (64), PROC
# (now|null), SERVER_CPU (0), CLIENT_CPU (1), RPXD (path), RESULTS (file for
# the raw loadgen lines), OTHER_MAX (20) and RETRIES (2): a cell during which
# other processes took more than OTHER_MAX % of a CPU on our CPUs runs again,
# up to RETRIES times, and is marked * in the table if it stays disturbed.
# Before each cell it waits, at most QUIET_WAIT (20) seconds, for the machine
# to be quiet.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
DURATION=${DURATION:-2}
OTHER_MAX=${OTHER_MAX:-20}
RETRIES=${RETRIES:-2}
QUIET_WAIT=${QUIET_WAIT:-20}
ROUNDS=${ROUNDS:-3}
WINDOW=${WINDOW:-64}
PROC=${PROC:-now}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
RPXD=${RPXD:-$BUILD/server/rpxd}
LOADGEN=$BUILD/bench/loadgen
TMP=$(mktemp -d /tmp/rpx-bench.XXXXXX)
RESULTS=${RESULTS:-$TMP/results.txt}
PIDS=()

cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$LOADGEN" "$BUILD/bench/baseline_svc" "$BUILD/bench/bench_echo"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f is not built" >&2
		exit 1
	fi
done

# start NAME CMD...: starts a server pinned on SERVER_CPU, waits for "ready",
# sets NAME_pid, NAME_tcp and NAME_udp.
start() {
	local name=$1 out=$TMP/$1.out i
	shift
	taskset -c "$SERVER_CPU" "$@" >"$out" 2>"$TMP/$name.err" &
	local pid=$!
	PIDS+=("$pid")
	for i in $(seq 100); do
		grep -qx ready "$out" && break
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$0: $name exited:" >&2
			cat "$TMP/$name.err" >&2
			exit 1
		fi
		sleep 0.05
	done
	if ! grep -qx ready "$out"; then
		echo "$0: $name did not print ready" >&2
		exit 1
	fi
	printf -v "${name}_pid" %s "$pid"
	printf -v "${name}_tcp" %s "$(sed -n 's/^listening \(tcp:\/\/.*\)/\1/p' "$out" | head -1)"
	printf -v "${name}_udp" %s "$(sed -n 's/^listening \(udp:\/\/.*\)/\1/p' "$out" | head -1)"
}

TARGETS=()
if [ -x "$RPXD" ]; then
	start rpxd "$RPXD" --listen tcp://127.0.0.1:0 --listen udp://127.0.0.1:0 --daytime off \
	    --max-inflight 256
	TARGETS+=(rpxd)
else
	echo "$0: $RPXD not built: measuring baseline and echo only" >&2
fi
start baseline "$BUILD/bench/baseline_svc"
start echo "$BUILD/bench/bench_echo"
TARGETS+=(baseline echo)

# busy_pct: how busy the machine's CPUs were over the last half second, in %
# of one CPU (our servers are idle between cells).
busy_pct() {
	local a b
	a=($(head -1 /proc/stat))
	sleep 0.5
	b=($(head -1 /proc/stat))
	# cpu user nice system idle iowait irq softirq steal
	local busy=$(((b[1] + b[2] + b[3] + b[6] + b[7] + b[8]) - (a[1] + a[2] + a[3] + a[6] + a[7] + a[8])))
	echo $((busy * 100 * 2 / $(getconf CLK_TCK)))
}

# wait_quiet: waits, at most QUIET_WAIT seconds, until others leave our CPUs alone.
wait_quiet() {
	local waited=0 busy
	while busy=$(busy_pct) && [ "$busy" -gt "$OTHER_MAX" ] && [ "$waited" -lt "$QUIET_WAIT" ]; do
		[ "$waited" -eq 0 ] && echo "(machine ${busy}% busy: waiting up to ${QUIET_WAIT}s)" >&2
		sleep 1
		waited=$((waited + 2))
	done
}

# cell TARGET PLACEMENT PROTO LOAD LOADGEN-ARGS...: one loadgen run, one line.
cell() {
	local target=$1 placement=$2 proto=$3 load=$4 url pid extra=() line try other
	shift 4
	eval "url=\$${target}_$proto pid=\$${target}_pid"
	[ "$target" = echo ] && extra=(--echo)
	# A cell during which other processes took CPU from ours runs again.
	for try in $(seq $((RETRIES + 1))); do
		wait_quiet
		line=$(taskset -c "$CLIENT_CPU" "$LOADGEN" --url "$url" --pid "$pid" --proc "$PROC" \
		    --label "$target" "${extra[@]}" "$@")
		[ -n "$line" ] || line="label=$target calls=0 errors=1"
		other=$(sed -n 's/.* other_cpu_pct=\([-0-9]*\).*/\1/p' <<<"$line")
		if [ -z "$other" ] || [ "$other" -le "$OTHER_MAX" ] || [ "$try" -gt "$RETRIES" ]; then
			break
		fi
		echo "($target $placement $proto $load: ${other}% CPU to others, again)" >&2
	done
	echo "target=$target placement=$placement load=$load $line" | tee -a "$RESULTS" >&2
}

# pin_all CPU: moves every server (all threads) to CPU.
pin_all() {
	local t pid
	for t in "${TARGETS[@]}"; do
		eval "pid=\$${t}_pid"
		taskset -a -pc "$1" "$pid" >/dev/null
	done
}

echo "# rpx bench: $(nproc) CPUs, servers on CPU $SERVER_CPU, loadgen on CPU $CLIENT_CPU," \
    "${DURATION}s per cell, proc $PROC" >&2
: >"$RESULTS"
# Rounds interleave the servers so that a slow moment of this shared VM hits
# all of them, not one; the table keeps the median round of every cell.
for r in $(seq "$ROUNDS"); do
	for proto in tcp udp; do
		for n in 1 4 16 64; do
			for t in "${TARGETS[@]}"; do
				cell "$t" split "$proto" "$n" --conns "$n" --duration "$DURATION"
			done
		done
	done
	for t in "${TARGETS[@]}"; do
		cell "$t" split tcp "pipe$WINDOW" --window "$WINDOW" --duration "$DURATION"
	done
done
pin_all "$CLIENT_CPU"
for r in $(seq "$ROUNDS"); do
	for proto in tcp udp; do
		for t in "${TARGETS[@]}"; do
			cell "$t" shared "$proto" 1 --duration "$DURATION"
		done
	done
done
pin_all "$SERVER_CPU"

awk -v window="$WINDOW" -v rounds="$ROUNDS" -v other_max="$OTHER_MAX" '
function kv(line, key,    s) {
	s = " " line
	if (match(s, " " key "=[^ ]*"))
		return substr(s, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
{
	k = kv($0, "target") SUBSEP kv($0, "placement") SUBSEP kv($0, "proto") SUBSEP kv($0, "load")
	n[k]++
	row[k, n[k]] = $0
	# Throughput cells are ranked by calls/s, latency cells by p50.
	rank[k, n[k]] = kv($0, "placement") == "shared" ? kv($0, "p50_us") + 0 : kv($0, "cps") + 0
}
# The median round stands for the key.
function pick(k,    i, j, idx, tmp, cnt) {
	cnt = n[k]
	if (cnt == 0)
		return ""
	for (i = 1; i <= cnt; i++)
		idx[i] = i
	for (i = 2; i <= cnt; i++)
		for (j = i; j > 1 && rank[k, idx[j]] < rank[k, idx[j - 1]]; j--) {
			tmp = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = tmp
		}
	return row[k, idx[int((cnt + 1) / 2)]]
}
function cellstr(line,    e, o) {
	if (line == "")
		return " - | - | - | -"
	e = kv(line, "errors") + 0
	o = kv(line, "other_cpu_pct") + 0
	return sprintf(" %s%s%s | %s | %s | %s", kv(line, "cps"), e ? " (ERR " e ")" : "",
	    o > other_max ? " *" : "",
	    kv(line, "p50_us"), kv(line, "p99_us"), kv(line, "srv_cpu_us"))
}
function ratio(a, b) {
	return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b)
}
function tablerow(placement, proto, load, title,    r, b, e) {
	r = pick("rpxd" SUBSEP placement SUBSEP proto SUBSEP load)
	b = pick("baseline" SUBSEP placement SUBSEP proto SUBSEP load)
	e = pick("echo" SUBSEP placement SUBSEP proto SUBSEP load)
	if (r == "" && b == "" && e == "")
		return
	printf "| %s | %s |%s |%s |%s | %s | %s | %s | %s |\n", proto, title, cellstr(r),
	    cellstr(b), cellstr(e),
	    ratio(kv(r, "cps"), kv(b, "cps")), ratio(kv(r, "p50_us"), kv(b, "p50_us")),
	    ratio(kv(r, "cps"), kv(e, "cps")), ratio(kv(r, "p50_us"), kv(e, "p50_us"))
}
function verdict(ok) {
	return ok ? "PASS" : "FAIL"
}
END {
	print ""
	print "calls/s; p50, p99 in µs; cpu = server CPU µs per call (utime+stime from /proc)."
	print "split: server on one CPU, loadgen on the other; shared: both on one CPU. Median of " rounds " rounds."
	print "* : more than " other_max "% of a CPU went to other processes during that cell."
	print ""
	print "| proto | load | rpxd calls/s | p50 | p99 | cpu | libtirpc calls/s | p50 | p99 | cpu | echo calls/s | p50 | p99 | cpu | rpxd/libtirpc calls/s | rpxd/libtirpc p50 | rpxd/echo calls/s | rpxd/echo p50 |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	split("1 4 16 64", loads, " ")
	for (pi = 1; pi <= 2; pi++) {
		proto = pi == 1 ? "tcp" : "udp"
		for (li = 1; li <= 4; li++)
			tablerow("split", proto, loads[li], loads[li] " conn" (loads[li] > 1 ? "s" : ""))
		if (proto == "tcp")
			tablerow("split", "tcp", "pipe" window, "1 conn, " window " pipelined")
	}
	tablerow("shared", "tcp", "1", "1 conn, shared CPU")
	tablerow("shared", "udp", "1", "1 conn, shared CPU")
	print ""

	r = pick("rpxd" SUBSEP "shared" SUBSEP "tcp" SUBSEP "1")
	e = pick("echo" SUBSEP "shared" SUBSEP "tcp" SUBSEP "1")
	ru = pick("rpxd" SUBSEP "shared" SUBSEP "udp" SUBSEP "1")
	eu = pick("echo" SUBSEP "shared" SUBSEP "udp" SUBSEP "1")
	rs = pick("rpxd" SUBSEP "split" SUBSEP "tcp" SUBSEP "1")
	es = pick("echo" SUBSEP "split" SUBSEP "tcp" SUBSEP "1")
	if (r == "") {
		print "targets: rpxd not measured"
		exit
	}
	x = ratio(kv(r, "p50_us"), kv(e, "p50_us"))
	printf "target 1: tcp 1-conn p50 rpxd %s µs / echo %s µs = %sx (<= 1.05): %s   [udp %sx, split-CPU tcp %sx]\n",
	    kv(r, "p50_us"), kv(e, "p50_us"), x, verdict(x != "-" && x + 0 <= 1.05),
	    ratio(kv(ru, "p50_us"), kv(eu, "p50_us")), ratio(kv(rs, "p50_us"), kv(es, "p50_us"))
	r = pick("rpxd" SUBSEP "split" SUBSEP "tcp" SUBSEP "64")
	b = pick("baseline" SUBSEP "split" SUBSEP "tcp" SUBSEP "64")
	ru = pick("rpxd" SUBSEP "split" SUBSEP "udp" SUBSEP "64")
	bu = pick("baseline" SUBSEP "split" SUBSEP "udp" SUBSEP "64")
	x = ratio(kv(r, "cps"), kv(b, "cps"))
	printf "target 2: tcp 64-conn calls/s rpxd %s / libtirpc %s = %sx (>= 1.2): %s   [udp %sx]\n",
	    kv(r, "cps"), kv(b, "cps"), x, verdict(x != "-" && x + 0 >= 1.2),
	    ratio(kv(ru, "cps"), kv(bu, "cps"))
	r = pick("rpxd" SUBSEP "split" SUBSEP "tcp" SUBSEP "pipe" window)
	b = pick("baseline" SUBSEP "split" SUBSEP "tcp" SUBSEP "1")
	x = ratio(kv(r, "cps"), kv(b, "cps"))
	printf "target 3: tcp pipelined (%d) calls/s rpxd %s / libtirpc 1-conn sync %s = %sx (>= 4): %s\n",
	    window, kv(r, "cps"), kv(b, "cps"), x, verdict(x != "-" && x + 0 >= 4)
}' "$RESULTS"
