#!/bin/bash
# run.sh: the fan-out benchmark, by hand (never a timed test). Needs root.
# Builds nothing: give it a build directory where rpxd and rpx are built.
#
#	bench/fanout/run.sh BUILD_DIR
#
# Builds 50 test hosts as network namespaces (tests/multihost/hosts.py), each
# with rpcbind and rpxd --register --insecure, then for N = 1, 5, 20, 50 times
# one `rpx -H h1 ... -H hN run -- true` against N sequential
# `rpx -H hi run -- true`, REPS times each, and prints a markdown table (p50,
# ratio fan-out/sequential and fan-out(N)/fan-out(1)). Everything it created
# is torn down at the end, on error, on Ctrl-C and after BUDGET seconds.
#
# Environment: REPS (5), SIZES ("1 5 20 50"), BUDGET (600), PARALLEL (rpx
# --parallel; unset: rpx's default), RPXD, RPX (default: from BUILD_DIR).
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
fi
BUILD=$(cd "$1" && pwd)
export RPXD=${RPXD:-$BUILD/server/rpxd}
export RPX=${RPX:-$BUILD/client/rpx}
for b in "$RPXD" "$RPX"; do
	if [ ! -x "$b" ]; then
		echo "$0: $b is not built" >&2
		exit 2
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: needs root (network, mount and PID namespaces)" >&2
	exit 2
fi
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
exec timeout -s TERM -k 30 "$((${BUDGET:-600} + 60))" \
	python3 "$(dirname "$0")/fanout_bench.py"
