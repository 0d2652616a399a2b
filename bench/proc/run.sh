#!/bin/bash
# run.sh: the process-service benchmark, by hand (never a timed test). Builds
# nothing: give it a build directory where rpxd, rpx and proc_bench are built
# (a Release build: cmake -DCMAKE_BUILD_TYPE=Release).
#
#	bench/proc/run.sh BUILD_DIR
#
# One run, bounded (every proc_bench cell stops starting operations after
# PROC_BENCH_MAX_S seconds, and the quiet waits stop after a total budget),
# measures:
#   1. spawn+wait of /bin/true: local posix_spawn+waitpid, and SPAWN+WAIT
#      through rpxd with librpx over the Unix socket and over TCP
#      (rpxd --insecure on 127.0.0.1), 1 client and CONC clients (threads,
#      each its own rpx_client); p50, p99, ops/s, rpxd CPU per operation, and
#      library-p50 / local-p50, and the median time to the start (posix_spawn
#      returned, SPAWN answered). The main rpxd keeps its state in /tmp and
#      its FIFOs in the default runtime directory (/run/rpx for root), the
#      file systems a default install uses. Diagnostic rows: output
#      discarded (no FIFOs or logs), and rpxd's state and runtime
#      directories on tmpfs.
#   2. `rpx run -- true` as a whole command over the Unix socket (also
#      against the tmpfs rpxd, and `rpx --version`, the cost of starting the
#      binary), and ssh if it works without a prompt.
#   3. a fresh rpxd with HOLD_JOBS running `sleep 600` jobs, then one pending
#      WAIT per job: VmRSS and VmHWM before, with the jobs, with the WAITs;
#      then every job's group is killed and the script checks none is left.
#   4. where rpxd's time goes for one spawn+wait: perf stat, perf record -g
#      and perf trace -s on rpxd, each over PERF_OPS operations (Unix socket).
# It prints one markdown table and the target lines, and stops every rpxd it
# started, by PID (rpxd --on-stop kill also kills any job still running).
#
# Cells of part 1 and 2 run ROUNDS times, interleaved, and the table shows
# the median round by p50. Before each cell the script waits (at most
# QUIET_WAIT seconds, and at most QUIET_BUDGET seconds in all) until other
# processes use less than OTHER_MAX % of a CPU; the "others" column is the
# CPU (% of one CPU) that processes not started by this run took during the
# cell: a busy machine inflates latencies.
#
# The whole run stays within TIME_BUDGET seconds (270, plus what part 3
# takes beyond HOLD_RESERVE): each cell of parts 1 and 2 stops starting
# operations after min(PROC_BENCH_MAX_S, its share of what is left); the runs
# column says how many it measured.
#
# NICE (0): run everything this script starts (rpxd, its jobs, proc_bench,
# the local /bin/true) at this nice value, e.g. NICE=-10 on a machine that
# other work keeps busy: it keeps the run queue of the neighbours out of the
# latencies, for the local baseline and rpxd alike. Say so when you quote it.
#
# Environment: ROUNDS (3), N_SEQ (1000 operations, 1 client), N_CONC (200
# per client), CONC (8), N_CLI (200), N_DIAG (500), PERF_OPS (300),
# HOLD_JOBS (1000), HOLD_CONNS (4), OTHER_MAX (25), QUIET_WAIT (10),
# QUIET_BUDGET (30), PROC_BENCH_MAX_S (20), TIME_BUDGET (270), HOLD_RESERVE
# (60), NICE (0), RESULTS (file for the raw lines).
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
ROUNDS=${ROUNDS:-3}
N_SEQ=${N_SEQ:-1000}
N_CONC=${N_CONC:-200}
CONC=${CONC:-8}
N_CLI=${N_CLI:-200}
N_DIAG=${N_DIAG:-500}
PERF_OPS=${PERF_OPS:-300}
HOLD_JOBS=${HOLD_JOBS:-1000}
HOLD_CONNS=${HOLD_CONNS:-4}
OTHER_MAX=${OTHER_MAX:-25}
QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_BUDGET=${QUIET_BUDGET:-30}
MAX_S=${PROC_BENCH_MAX_S:-20}
TIME_BUDGET=${TIME_BUDGET:-270}
HOLD_RESERVE=${HOLD_RESERVE:-60}
NICE=${NICE:-0}
RPXD=$BUILD/server/rpxd
RPX=$BUILD/client/rpx
PB=$BUILD/bench/proc/proc_bench
TMP=$(mktemp -d /tmp/rpx-pbench.XXXXXX)
SHM=$(mktemp -d /dev/shm/rpx-pbench.XXXXXX)
RESULTS=${RESULTS:-$TMP/results.txt}
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
PIDS=()
T0=$(date +%s)

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	rm -rf "$TMP" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for f in "$RPXD" "$RPX" "$PB"; do
	if [ ! -x "$f" ]; then
		echo "$0: $f is not built" >&2
		exit 1
	fi
done

# start_rpxd NAME ARGS...: starts rpxd, waits for "ready", sets NAME_pid,
# NAME_unix and NAME_tcp (the URLs it printed).
start_rpxd() {
	local name=$1 out=$TMP/$1.out i pid
	shift
	"$RPXD" --daytime off --on-stop kill --log-level warn "$@" >"$out" 2>"$TMP/$name.err" &
	pid=$!
	PIDS+=("$pid")
	for i in $(seq 100); do
		grep -qx ready "$out" && break
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "$0: rpxd ($name) exited:" >&2
			cat "$TMP/$name.err" >&2
			exit 1
		fi
		sleep 0.05
	done
	if ! grep -qx ready "$out"; then
		echo "$0: rpxd ($name) did not print ready" >&2
		exit 1
	fi
	printf -v "${name}_pid" %s "$pid"
	printf -v "${name}_unix" %s "$(sed -n 's/^listening \(unix:.*\)/\1/p' "$out" | head -1)"
	printf -v "${name}_tcp" %s "$(sed -n 's/^listening \(tcp:\/\/.*\)/\1/p' "$out" | head -1)"
}

# stop_rpxd PID: SIGTERM, then waits for it (its jobs are killed: --on-stop kill).
stop_rpxd() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# busy_jiffies: CPU time of the whole machine so far, in clock ticks.
busy_jiffies() {
	local a
	a=($(head -1 /proc/stat))
	# cpu user nice system idle iowait irq softirq steal
	echo $((a[1] + a[2] + a[3] + a[6] + a[7] + a[8]))
}

# proc_jiffies PID [children]: utime+stime of PID (plus the children it reaped).
proc_jiffies() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	f=(${s##*) })
	# after "pid (comm) ": state=0 ... utime=11 stime=12 cutime=13 cstime=14
	if [ "${2:-}" = children ]; then
		echo $((f[11] + f[12] + f[13] + f[14]))
	else
		echo $((f[11] + f[12]))
	fi
}

# wait_quiet: waits until other processes leave the CPUs alone (bounded).
wait_quiet() {
	local waited=0 a b busy
	while :; do
		a=$(busy_jiffies)
		sleep 0.5
		b=$(busy_jiffies)
		busy=$(((b - a) * 100 * 2 / HZ))
		[ "$busy" -le "$OTHER_MAX" ] && return
		[ "$waited" -ge "$QUIET_WAIT" ] && return
		[ $(($(date +%s) - T0)) -ge "$QUIET_BUDGET" ] && return
		[ "$waited" -eq 0 ] && echo "(machine ${busy}% busy: waiting up to ${QUIET_WAIT}s)" >&2
		sleep 1
		waited=$((waited + 2))
	done
}

# cell NAME RPXD_PID|- PROC_BENCH-ARGS...: one proc_bench run, one line in RESULTS.
cell() {
	local name=$1 rpid=$2 line t0 t1 b0 b1 r0 r1 rc0 rc1 wall_ms ops cpu other srv tot
	shift 2
	wait_quiet
	# This cell's share of the time left (perf and part 3 keep HOLD_RESERVE).
	local left=$((TIME_BUDGET - HOLD_RESERVE - ($(date +%s) - T0)))
	local cap=$((left / (CELLS_LEFT > 0 ? CELLS_LEFT : 1)))
	[ "$cap" -gt "$MAX_S" ] && cap=$MAX_S
	[ "$cap" -lt 1 ] && cap=1
	CELLS_LEFT=$((CELLS_LEFT - 1))
	t0=$(date +%s%N)
	b0=$(busy_jiffies)
	r0=0 rc0=0
	if [ "$rpid" != - ]; then
		r0=$(proc_jiffies "$rpid")
		rc0=$(proc_jiffies "$rpid" children)
	fi
	line=$(PROC_BENCH_MAX_S=$cap timeout 120 "$PB" "$@" | grep '^result') || true
	t1=$(date +%s%N)
	b1=$(busy_jiffies)
	r1=0 rc1=0
	if [ "$rpid" != - ]; then
		r1=$(proc_jiffies "$rpid")
		rc1=$(proc_jiffies "$rpid" children)
	fi
	[ -n "$line" ] || line="result runs=0 ops=0 failed=1 cpu_ms=0"
	wall_ms=$(((t1 - t0) / 1000000))
	ops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$line")
	cpu=$(sed -n 's/.* cpu_ms=\([0-9]*\).*/\1/p' <<<"$line")
	# Others: machine busy time minus this cell's processes (rpxd with the
	# jobs it reaped, proc_bench with what it reaped), in % of one CPU.
	other=$(((((b1 - b0) - (rc1 - rc0)) * 1000 / HZ - ${cpu:-0}) * 100 / (wall_ms > 0 ? wall_ms : 1)))
	srv=- tot=-
	if [ "$rpid" != - ] && [ "${ops:-0}" -gt 0 ]; then
		srv=$(((r1 - r0) * 1000000 / HZ / ops))
	fi
	# All the CPU one operation took: client, rpxd and the processes started.
	if [ "${ops:-0}" -gt 0 ]; then
		tot=$((((rc1 - rc0) * 1000000 / HZ + ${cpu:-0} * 1000) / ops))
	fi
	echo "cell=$name round=$ROUND ${line#result } rpxd_cpu_us=$srv total_cpu_us=$tot others_pct=$other" |
	    tee -a "$RESULTS" >&2
}

if [ "$NICE" != 0 ]; then
	renice -n "$NICE" -p $$ >/dev/null || exit 1
fi
echo "# rpx process-service bench: $NCPU CPUs, $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), nice $(nice)" >&2
# rpxd's default runtime directory, where the main rpxd's FIFOs go.
if [ "$(id -u)" = 0 ]; then
	RUNDIR=/run/rpx
elif [ -n "${XDG_RUNTIME_DIR:-}" ]; then
	RUNDIR=$XDG_RUNTIME_DIR/rpx
else
	RUNDIR=/tmp/rpx-$(id -u)
fi
mkdir -p -m 0700 "$RUNDIR"
echo "# state dirs: $TMP ($(df --output=fstype "$TMP" | tail -1)), $SHM ($(df --output=fstype "$SHM" | tail -1)); runtime dir $RUNDIR ($(df --output=fstype "$RUNDIR" | tail -1))" >&2
: >"$RESULTS"

start_rpxd main --listen "unix:$TMP/main.sock" --listen tcp://127.0.0.1:0 --insecure \
    --state-dir "$TMP/state-main"
start_rpxd shm --listen "unix:$TMP/shm.sock" --state-dir "$SHM/state" --runtime-dir "$SHM/run"

# Parts 1 and 2, interleaved rounds.
CELLS_LEFT=$((ROUNDS * 12))
for ROUND in $(seq "$ROUNDS"); do
	cell local-1 - local "$N_SEQ" 1
	cell unix-1 "$main_pid" rpx "$main_unix" "$N_SEQ" 1
	cell tcp-1 "$main_pid" rpx "$main_tcp" "$N_SEQ" 1
	cell local-n - local "$N_CONC" "$CONC"
	cell unix-n "$main_pid" rpx "$main_unix" "$N_CONC" "$CONC"
	cell tcp-n "$main_pid" rpx "$main_tcp" "$N_CONC" "$CONC"
	cell unix-1-discard "$main_pid" rpx "$main_unix" "$N_DIAG" 1 discard
	cell unix-1-tmpfs "$shm_pid" rpx "$shm_unix" "$N_SEQ" 1
	cell unix-n-tmpfs "$shm_pid" rpx "$shm_unix" "$N_CONC" "$CONC"
	cell cli-run "$main_pid" exec "$N_CLI" "$RPX" -H "$main_unix" run -- true
	cell cli-run-tmpfs "$shm_pid" exec "$N_CLI" "$RPX" -H "$shm_unix" run -- true
	cell cli-version - exec "$N_CLI" "$RPX" --version
done

# ssh, only if it works without a password or a prompt.
SSH_LINE="ssh: not available"
if command -v ssh >/dev/null &&
    timeout 5 ssh -o BatchMode=yes -o ConnectTimeout=2 -o StrictHostKeyChecking=yes \
	127.0.0.1 true </dev/null >/dev/null 2>&1; then
	ROUND=1 CELLS_LEFT=1
	cell ssh - exec 20 /usr/bin/ssh -o BatchMode=yes 127.0.0.1 true
	SSH_LINE=""
fi

# Part 4: perf on the main rpxd (Unix socket, 1 client).
PERF_STAT="" PERF_SPLIT="" PERF_SYSCALLS="" PERF_TOP="" PERF_WALL=""
if command -v perf >/dev/null; then
	wait_quiet
	perf stat -e task-clock,context-switches,cpu-migrations,page-faults -p "$main_pid" \
	    -o "$TMP/perf-stat.txt" &
	ppid=$!
	PIDS+=("$ppid")
	sleep 0.3
	pline=$(PROC_BENCH_MAX_S=10 timeout 120 "$PB" rpx "$main_unix" "$PERF_OPS" 1 | grep '^result')
	kill -INT "$ppid"
	wait "$ppid"
	pops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$pline")
	PERF_STAT=$(awk -v ops="${pops:-1}" '
		/task-clock/ { printf "task-clock %.2f ms/op", $1 / ops }
		/context-switches/ { printf ", %.1f context switches/op", $1 / ops }
		/cpu-migrations/ { printf ", %.2f migrations/op", $1 / ops }
		/page-faults/ { printf ", %.1f page faults/op", $1 / ops }' "$TMP/perf-stat.txt")
	PERF_STAT="$PERF_STAT (p50 $(sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p' <<<"$pline") µs during it)"

	perf record -q -g -p "$main_pid" -o "$TMP/perf.data" 2>/dev/null &
	ppid=$!
	PIDS+=("$ppid")
	sleep 0.3
	PROC_BENCH_MAX_S=10 timeout 120 "$PB" rpx "$main_unix" "$PERF_OPS" 1 >/dev/null
	kill -INT "$ppid"
	wait "$ppid"
	# Samples by process (rpxd, and the /bin/true children it cloned) and object.
	PERF_SPLIT=$(perf report -i "$TMP/perf.data" --stdio --no-children --sort comm,dso -g none \
	    2>/dev/null | awk '/^ +[0-9.]+%/ && n < 6 { printf "%s%s %s %s", n++ ? ", " : "", $2, $3, $1 }')
	# Inclusive share of each system call (kernel entry points).
	PERF_SYSCALLS=$(perf report -i "$TMP/perf.data" --stdio --children --sort sym -g none \
	    2>/dev/null | awk '$4 ~ /^(__x64_sys_|__do_sys_|ksys_)/ && n < 8 {
		name = $4; sub(/^(__x64_sys_|__do_sys_|ksys_)/, "", name)
		printf "%s%s %s", n++ ? ", " : "", name, $1 }')
	# The hottest functions (self time).
	PERF_TOP=$(perf report -i "$TMP/perf.data" --stdio --no-children --sort sym -g none \
	    2>/dev/null | awk '/^ +[0-9.]+%/ && n < 6 { printf "%s%s %s", n++ ? ", " : "", $3, $1 }')
	# Wall time rpxd spends inside each system call (blocked or running).
	perf trace -s -p "$main_pid" -o "$TMP/perf-trace.txt" 2>/dev/null &
	ppid=$!
	PIDS+=("$ppid")
	sleep 0.5
	tline=$(PROC_BENCH_MAX_S=10 timeout 120 "$PB" rpx "$main_unix" "$PERF_OPS" 1 | grep '^result')
	sleep 0.2
	kill -INT "$ppid"
	wait "$ppid"
	tops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$tline")
	PERF_WALL=$(awk -v ops="${tops:-1}" '$2 ~ /^[0-9]+$/ && $4 ~ /^[0-9.]+$/ { printf "%.4f %s %.2f\n", $4 / ops, $1, $2 / ops }' \
	    "$TMP/perf-trace.txt" | sort -rn | head -8 |
	    awk '{ sep = (NR == 1) ? "" : ", "; printf "%s%s %.2f ms (%.1f calls)", sep, $2, $1, $3 }')
	PERF_WALL="$PERF_WALL (p50 $(sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p' <<<"$tline") µs during it)"
	# The chain above the hottest function, for the report.
	perf report -i "$TMP/perf.data" --stdio --no-children --sort sym -g caller,0.5,callee,function \
	    --percent-limit 5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -40 >"$TMP/perf-chain.txt"
fi

# Part 3: a fresh rpxd, HOLD_JOBS jobs and as many pending WAITs.
start_rpxd hold --listen "unix:$TMP/hold.sock" --state-dir "$TMP/state-hold" \
    --max-inflight $(((HOLD_JOBS + HOLD_CONNS - 1) / HOLD_CONNS + 16))
timeout 240 "$PB" hold "$hold_unix" "$HOLD_JOBS" "$HOLD_CONNS" "$hold_pid" >"$TMP/hold.txt"
HOLD_RC=$?
HOLD_FDS_NOW=$(ls "/proc/$hold_pid/fd" 2>/dev/null | wc -l)
stop_rpxd "$hold_pid"
grep -v '^pids' "$TMP/hold.txt" | sed 's/^/hold: /' >&2
# The jobs' pids, checked once more now that their rpxd is gone.
LEFT=0
for pid in $(sed -n 's/^pids //p' "$TMP/hold.txt"); do
	kill -0 "$pid" 2>/dev/null && LEFT=$((LEFT + 1))
done

awk -v rounds="$ROUNDS" -v conc="$CONC" -v other_max="$OTHER_MAX" -v n_cli="$N_CLI" \
    -v ssh_line="$SSH_LINE" -v perf_stat="$PERF_STAT" -v perf_split="$PERF_SPLIT" \
    -v perf_sys="$PERF_SYSCALLS" -v perf_top="$PERF_TOP" -v perf_wall="$PERF_WALL" \
    -v hold_file="$TMP/hold.txt" \
    -v hold_rc="$HOLD_RC" -v hold_jobs="$HOLD_JOBS" -v left="$LEFT" -v hold_fds="$HOLD_FDS_NOW" \
    -v machine="$NCPU CPUs, $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME")" \
    -v nice="$(nice)" -v statefs="$(df --output=fstype,source "$TMP" | tail -1 | tr -s ' ')" \
    -v runfs="$RUNDIR ($(df --output=fstype "$RUNDIR" | tail -1 | tr -d ' '))" '
function kv(line, key,    s) {
	s = " " line
	if (match(s, " " key "=[^ ]*"))
		return substr(s, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
	return ""
}
{
	k = kv($0, "cell")
	n[k]++
	row[k, n[k]] = $0
	rank[k, n[k]] = kv($0, "p50_us") + 0
}
# The median round (by p50) stands for the cell.
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
function ms(us) {
	return us == "" ? "-" : sprintf("%.2f", us / 1000)
}
function ratio(a, b) {
	return (a == "" || b == "" || b + 0 == 0) ? "-" : sprintf("%.2f", a / b)
}
function line(title, k, base,    r, f, o, mark, fail, cpu, x) {
	r = pick(k)
	if (r == "")
		return
	f = kv(r, "failed") + 0
	o = kv(r, "others_pct") + 0
	# (No comparison inside printf arguments: awk reads ">" there as a redirection.)
	mark = (o > other_max) ? " *" : ""
	fail = f ? " (FAILED " f ")" : ""
	cpu = kv(r, "rpxd_cpu_us")
	cpu = (cpu == "-") ? "-" : ms(cpu)
	x = (base == "") ? "-" : ratio(kv(r, "p50_us"), kv(pick(base), "p50_us"))
	printf "| %s | %s | %s | %s | %s | %s%s | %s | %s | %s | %s%s |\n", title, kv(r, "runs"),
	    ms(kv(r, "p50_us")), ms(kv(r, "start_p50_us")), ms(kv(r, "p99_us")), kv(r, "ops_s"),
	    fail, cpu, ms(kv(r, "total_cpu_us")), x, kv(r, "others_pct"), mark
}
function verdict(ok) {
	return ok ? "MET" : "MISSED"
}
function mib(kb) {
	return kb == "" ? "-" : sprintf("%.1f", kb / 1024)
}
END {
	print ""
	print "machine: " machine "; nice " nice "; rpxd state dir on " statefs "; runtime dir " runfs
	print "p50, p99 in ms; start = p50 until posix_spawn returned or SPAWN was answered;"
	print "ops/s over all clients; rpxd cpu = rpxd utime+stime per operation"
	print "(ms, without the reaped jobs); all cpu = CPU of client, rpxd and started processes"
	print "per operation (ms); x local = p50 / local p50 (same client count);"
	print "others = % of one CPU taken by processes outside this run during the cell"
	print "(* above " other_max "%). Median of " rounds " interleaved rounds, by p50."
	print ""
	print "| operation | runs | p50 | start | p99 | ops/s | rpxd cpu | all cpu | x local | others % |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	line("local posix_spawn+waitpid /bin/true, 1 thread", "local-1", "")
	line("rpxd SPAWN+WAIT, unix socket, 1 client", "unix-1", "local-1")
	line("rpxd SPAWN+WAIT, tcp 127.0.0.1, 1 client", "tcp-1", "local-1")
	line("local posix_spawn+waitpid, " conc " threads", "local-n", "")
	line("rpxd SPAWN+WAIT, unix socket, " conc " clients", "unix-n", "local-n")
	line("rpxd SPAWN+WAIT, tcp 127.0.0.1, " conc " clients", "tcp-n", "local-n")
	line("diag: unix, 1 client, output discarded (no FIFOs/logs)", "unix-1-discard", "local-1")
	line("diag: unix, 1 client, state and runtime dirs on tmpfs", "unix-1-tmpfs", "local-1")
	line("diag: unix, " conc " clients, state and runtime dirs on tmpfs", "unix-n-tmpfs", "local-n")
	line("`rpx run -- true` (whole command, unix socket)", "cli-run", "")
	line("diag: `rpx run -- true`, state and runtime dirs on tmpfs", "cli-run-tmpfs", "")
	line("`rpx --version` (starting the binary only)", "cli-version", "")
	if (ssh_line == "")
		line("`ssh 127.0.0.1 true`", "ssh", "")
	print ""

	u = pick("unix-1"); t = pick("tcp-1"); l = pick("local-1")
	x = ratio(kv(u, "p50_us"), kv(l, "p50_us"))
	xt = ratio(kv(t, "p50_us"), kv(l, "p50_us"))
	un = ratio(kv(pick("unix-n"), "p50_us"), kv(pick("local-n"), "p50_us"))
	tn = ratio(kv(pick("tcp-n"), "p50_us"), kv(pick("local-n"), "p50_us"))
	printf "target 1: library p50 / local p50 <= 1.5: unix %sx, tcp %sx (1 client); %s clients: unix %sx, tcp %sx: %s\n",
	    x, xt, conc, un, tn, verdict(x != "-" && xt != "-" && x + 0 <= 1.5 && xt + 0 <= 1.5)
	c = pick("cli-run")
	ct = pick("cli-run-tmpfs")
	v = pick("cli-version")
	printf "target 2: `rpx run -- true` p50 %s ms (< 5 ms): %s; p99 %s ms over %s runs [state and runtime dirs on tmpfs: p50 %s ms; starting rpx (--version) %s ms of it]\n",
	    ms(kv(c, "p50_us")), verdict(c != "" && kv(c, "p50_us") + 0 < 5000 && kv(c, "failed") == 0),
	    ms(kv(c, "p99_us")), kv(c, "runs"), ms(kv(ct, "p50_us")), ms(kv(v, "p50_us"))
	if (ssh_line != "")
		print "          " ssh_line " (no sshd with non-interactive key auth); QUOTED, not measured here:" \
		    " ssh new connection ~210 ms, ssh ControlMaster ~7 ms, supervisorctl start ~145 ms"

	while ((getline hl < hold_file) > 0) {
		if (hl ~ /^mem /) {
			split(hl, w, " ")
			rss[w[2]] = kv(hl, "rss_kb"); hwm[w[2]] = kv(hl, "hwm_kb")
		} else if (hl ~ /^waits /)
			waits = hl
		else if (hl ~ /^hold /)
			hold = hl
	}
	print ""
	print "| rpxd memory (MiB) | VmRSS | VmHWM |"
	print "|---|---:|---:|"
	printf "| idle, before | %s | %s |\n", mib(rss["before"]), mib(hwm["before"])
	printf "| %s jobs running (sleep 600) | %s | %s |\n", hold_jobs, mib(rss["jobs"]), mib(hwm["jobs"])
	printf "| and %s WAITs pending | %s | %s |\n", kv(waits, "received"), mib(rss["waits"]), mib(hwm["waits"])
	printf "| after the jobs were killed and reaped | %s | %s |\n", mib(rss["after"]), mib(hwm["after"])
	print ""
	printf "hold: WAITs sent %s, received by rpxd %s, answered early %s; jobs spawned %s, WAIT replies %s (SIGKILL reported: %s), still alive %s, rpxd jobs_running %s; rpxd fds after %s; sleep 600 left after rpxd stopped: %s\n",
	    kv(waits, "sent"), kv(waits, "received"), kv(waits, "early_replies"), kv(hold, "spawned"),
	    kv(hold, "replies"), kv(hold, "ok"), kv(hold, "alive_after"), kv(hold, "running_after"),
	    hold_fds, left
	big = rss["waits"] > rss["jobs"] ? rss["waits"] : rss["jobs"]
	printf "target 3: rpxd RSS with %s jobs and their WAITs %s MiB (< 16 MiB): %s; jobs gone after KILL: %s\n",
	    hold_jobs, mib(big), verdict(big != "" && big + 0 < 16 * 1024),
	    (hold_rc == 0 && kv(hold, "alive_after") == "0") ? "yes" : "NO"
	print ""
	print "perf (rpxd, unix socket, 1 client):"
	print "  " perf_stat
	print "  samples by process/object: " perf_split
	print "  system calls, inclusive share of samples: " perf_sys
	print "  hottest functions (self): " perf_top
	print "  rpxd wall time inside system calls, per operation (perf trace -s): " perf_wall
}' "$RESULTS"
if [ -s "$TMP/perf-chain.txt" ]; then
	echo ""
	echo "perf call chains of the hottest functions (self >= 5%):"
	sed 's/^/    /' "$TMP/perf-chain.txt"
fi
echo ""
echo "elapsed: $(($(date +%s) - T0)) s"
