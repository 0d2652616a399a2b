#!/bin/sh
# bench/tls/run.sh: RPC-with-TLS against clear TCP on one rpxd (run by hand,
# never a timed test).
#
#   bench/tls/run.sh BUILD_DIR [SECONDS]
#
# Makes a CA, a server certificate for 127.0.0.1 and a client certificate
# (scripts/rpx-certs.sh) in a temporary directory, starts BUILD_DIR's rpxd
# on tcp://127.0.0.1:0 with --tls-cert/--tls-key/--tls-client-ca, and runs
# BUILD_DIR/bench/tls/tls_bench against it (mutual TLS: the client
# certificate is sent). rpxd is stopped by its PID at the end.
set -eu
build=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
rpxd=$build/server/rpxd
bench=${TLS_BENCH:-$build/bench/tls/tls_bench}
for f in "$rpxd" "$bench"; do
	[ -x "$f" ] || { echo "run.sh: $f not built" >&2; exit 1; }
done
tmp=$(mktemp -d /tmp/rpx-tls-bench.XXXXXX)
pid=
cleanup() {
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
echo "# $(uname -srm), $(nproc) CPUs, $(openssl version)"
"$bench" --port "$port" --ca "$tmp/pki/ca.crt" --cert "$tmp/pki/client-bench.crt" \
	--key "$tmp/pki/client-bench.key" --seconds "$seconds"
