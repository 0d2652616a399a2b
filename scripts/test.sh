#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as
# errors, runs every test through ctest. Under CI (CI=true) it also builds
# and runs the suite with AddressSanitizer + UndefinedBehaviorSanitizer and
# runs each libFuzzer target for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh --test

jobs=$(nproc)
build=${RPX_BUILD_DIR:-build-test}

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRPX_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"

if [ "${CI:-}" = "true" ] || [ "${RPX_SANITIZE:-}" = "1" ]; then
	san=${build}-asan
	cmake -S . -B "$san" -DCMAKE_BUILD_TYPE=Debug -DRPX_WERROR=ON -DRPX_SANITIZE=ON \
		-DRPX_BUILD_BENCH=OFF >/dev/null
	cmake --build "$san" -j "$jobs"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$san" --output-on-failure -j "$jobs"

	if [ -x tests/fuzz/run_fuzzers.sh ]; then
		fuzz=${build}-fuzz
		CC=clang cmake -S . -B "$fuzz" -DCMAKE_BUILD_TYPE=Debug -DRPX_FUZZ=ON \
			-DRPX_BUILD_BENCH=OFF >/dev/null
		cmake --build "$fuzz" -j "$jobs"
		tests/fuzz/run_fuzzers.sh "$fuzz" "${RPX_FUZZ_SECONDS:-60}"
	fi
fi
