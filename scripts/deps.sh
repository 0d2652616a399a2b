#!/usr/bin/env bash
# Installs the Debian 12 packages rpx needs to build and run (run as root).
# With --test, also what the test suite needs.
set -euo pipefail

packages=(cmake make gcc pkg-config libtirpc-dev rpcsvc-proto libevent-dev libssl-dev)
if [ "${1:-}" = "--test" ]; then
	packages+=(python3 rdate clang libclang-rt-14-dev iproute2 procps valgrind rpcbind util-linux openssl)
fi

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q "${missing[@]}"
fi
