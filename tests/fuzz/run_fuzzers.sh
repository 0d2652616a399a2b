#!/bin/sh
# run_fuzzers.sh BUILD_DIR SECONDS [TARGET...]: runs each libFuzzer target
# of a -DRPX_FUZZ=ON clang build for SECONDS on a copy of its seed corpus.
# Exits non-zero when any target crashed, leaked, timed out or broke an
# invariant; the reproducer is left in BUILD_DIR/fuzz-artifacts/<target>/
# (copy it into tests/fuzz/corpus/<target>/ as regress-<name> once fixed).
# With RPX_FUZZ_CORPUS_OUT=DIR set, the grown corpus of each target is kept
# in DIR/<target>/.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
	exit 2
fi
build=$(cd "$1" && pwd) || exit 2
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
targets=${*:-"recmark call xdr"}
work=$(mktemp -d "${TMPDIR:-/tmp}/rpx-fuzz.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM
failed=0

for t in $targets; do
	bin=$build/tests/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "run_fuzzers: $bin missing: configure with CC=clang -DRPX_FUZZ=ON" >&2
		failed=1
		continue
	fi
	artifacts=$build/fuzz-artifacts/$t
	mkdir -p "$work/$t" "$artifacts"
	cp "$here/corpus/$t/"* "$work/$t/"
	echo "== fuzz_$t for ${seconds}s"
	"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work/$t" \
	    >"$work/$t.log" 2>&1
	rc=$?
	if [ -n "${RPX_FUZZ_CORPUS_OUT:-}" ]; then
		mkdir -p "$RPX_FUZZ_CORPUS_OUT/$t"
		cp "$work/$t/"* "$RPX_FUZZ_CORPUS_OUT/$t/"
	fi
	grep -E '^#[0-9]+.*DONE|^stat::|^Done' "$work/$t.log"
	if [ $rc -ne 0 ]; then
		echo "run_fuzzers: fuzz_$t FAILED (exit $rc); log tail:" >&2
		tail -n 40 "$work/$t.log" >&2
		ls -l "$artifacts" >&2
		failed=1
	fi
done
exit $failed
