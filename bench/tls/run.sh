#!/bin/sh
# bench/tls/run.sh: RPC-with-TLS against clear TCP on one rpxd (run by hand,
# never a timed test).
#
#   bench/tls/run.sh BUILD_DIR [SECONDS [tls_bench options: --only tcp|tls]]
#
# Makes a CA, a server certificate for 127.0.0.1 and a client certificate
# (scripts/rpx-certs.sh) in a temporary directory, starts BUILD_DIR's rpxd
# on tcp://127.0.0.1:0 with --tls-cert/--tls-key/--tls-client-ca, and runs
# BUILD_DIR/bench/tls/tls_bench against it (mutual TLS: the client
# certificate is sent). rpxd is stopped by its PID at the end.
# PERF=DIR: records rpxd and tls_bench with `perf record -g` into
# DIR/rpxd.data and DIR/client.data (for one side: --only tcp or tls);
# PERF_STAT=1 with --only: CPU time per call of rpxd and of the client.
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-2}
shift
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rpxd=$build/server/rpxd
bench=${TLS_BENCH:-$build/bench/tls/tls_bench}
for f in "$rpxd" "$bench"; do
	[ -x "$f" ] || { echo "run.sh: $f not built" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/rpx-tls-bench.XXXXXX)
pid=
perf_pid=
cleanup() {
	[ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
sh "$top/scripts/rpx-certs.sh" "$tmp/pki" ca >/dev/null
sh "$top/scripts/rpx-certs.sh" "$tmp/pki" server 127.0.0.1 >/dev/null
sh "$top/scripts/rpx-certs.sh" "$tmp/pki" client bench >/dev/null
mkdir "$tmp/state"
"$rpxd" --listen tcp://127.0.0.1:0 --daytime off --state-dir "$tmp/state" \
	--tls-cert "$tmp/pki/server.crt" --tls-key "$tmp/pki/server.key" \
	--tls-client-ca "$tmp/pki/ca.crt" --log-level warn \
	>"$tmp/out" 2>"$tmp/err" &
pid=$!
i=0
until grep -q '^ready$' "$tmp/out"; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "run.sh: rpxd not ready" >&2; cat "$tmp/err" >&2; exit 1; }
	sleep 0.1
done
port=$(sed -n 's/^listening tcp:\/\/127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/out" | head -n 1)
echo "# $(uname -srm), $(nproc) CPUs, $(openssl version), load $(cut -d' ' -f1-3 /proc/loadavg)"
run=
if [ -n "${PERF:-}" ]; then
	mkdir -p "$PERF"
	perf record -q -g -p "$pid" -o "$PERF/rpxd.data" 2>/dev/null &
	perf_pid=$!
	run="perf record -q -g -o $PERF/client.data"
elif [ -n "${PERF_STAT:-}" ]; then
	perf stat -x, -e task-clock -p "$pid" -o "$tmp/rpxd.stat" &
	perf_pid=$!
	run="perf stat -x, -e task-clock -o $tmp/client.stat"
fi
$run "$bench" --port "$port" --ca "$tmp/pki/ca.crt" --cert "$tmp/pki/client-bench.crt" \
	--key "$tmp/pki/client-bench.key" --seconds "$seconds" "$@" | tee "$tmp/bench.out"
if [ -n "${PERF_STAT:-}" ]; then
	kill -INT "$perf_pid"; wait "$perf_pid" || true
	perf_pid=
	calls=$(sed -n 's/.* \([0-9]*\) calls$/\1/p' "$tmp/bench.out")
	for who in rpxd client; do
		ms=$(sed -n 's/^\([0-9.]*\),msec,task-clock.*/\1/p' "$tmp/$who.stat")
		echo "$who: $(echo "scale=2; $ms * 1000 / $calls" | bc) us of CPU per call"
	done
fi
