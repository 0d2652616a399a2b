#!/usr/bin/env bash
# Test hosts in network namespaces, by hand: N hosts (default 3) at
# 198.18.0.1..N, each with its own /run, rpcbind (if installed) and
# rpxd --insecure on tcp/udp port 7077, and a shell (or COMMAND) in a client
# namespace at 198.18.0.254. Everything is removed when it ends. Root only.
#
#   scripts/netns-hosts.sh 5
#   scripts/netns-hosts.sh 3 sh -c 'for h in $RPX_TEST_HOSTS; do rpx -H $h date; done'
#
# RPXD and RPX name the binaries (default: build/server/rpxd, build/client/rpx).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export RPXD=${RPXD:-$root/build/server/rpxd} RPX=${RPX:-$root/build/client/rpx}
export PATH="$(dirname "$RPX"):$PATH" PYTHONDONTWRITEBYTECODE=1
exec python3 "$root/tests/multihost/hosts.py" "$@"
