#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs every libFuzzer harness for a fixed budget (issue 7). As root or not, from any directory:
#
#   bash scripts/fuzz.sh                    every harness, 60 s each (FUZZ_SECONDS)
#   FUZZ_SECONDS=10 bash scripts/fuzz.sh    the short budget CI uses
#   FUZZ_RUNS=10000000 FUZZ_SECONDS=0 bash scripts/fuzz.sh
#                                           every harness for 10^7 executions instead (with
#                                           both set, whichever limit comes first)
#   bash scripts/fuzz.sh uapi_set gro       only these harnesses
#   FUZZ_MERGE=1 ...                        afterwards, merge new coverage into the committed
#                                           corpus (libFuzzer -merge=1: only inputs that add
#                                           coverage are kept)
#
# Builds build-fuzz/ (clang, -Dfuzz=true, AddressSanitizer + UndefinedBehaviorSanitizer, so
# a memory error or UB is a crash), then runs each build-fuzz/tests/fuzz_NAME on a scratch
# copy of tests/fuzz/corpus/NAME (the committed corpus is only changed with FUZZ_MERGE=1),
# with tests/fuzz/dict/NAME.dict and the flags in tests/fuzz/NAME.options when they exist.
# A crash leaves its input in build-fuzz/fuzz-artifacts/NAME/ and is reported with the
# command that replays it.
#
# Prints one line per harness (executions, exec/s, final coverage) and, last,
# "fuzz: N passed, N failed": exit status 1 if any harness crashed, leaked or timed out.
set -uo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." || exit 1

seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
dir=build-fuzz

case $seconds in
'' | *[!0-9]*)
	echo "fuzz: FUZZ_SECONDS must be a whole number of seconds" >&2
	exit 2
	;;
esac
case $runs in
*[!0-9]*)
	echo "fuzz: FUZZ_RUNS must be a whole number" >&2
	exit 2
	;;
esac

if ! command -v clang >/dev/null 2>&1; then
	echo "fuzz: clang is not installed (run scripts/deps.sh as root)" >&2
	exit 1
fi

if [ -f "$dir/meson-private/coredata.dat" ]; then
	CC=clang meson setup --reconfigure "$dir" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || exit 1
else
	CC=clang meson setup "$dir" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null || exit 1
fi
ninja -C "$dir" >/dev/null || {
	echo "fuzz: build of $dir failed" >&2
	ninja -C "$dir" | tail -30
	exit 1
}

if [ "$#" -gt 0 ]; then
	names=("$@")
else
	mapfile -t names < <(find "$dir/tests" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x |
		sed 's|.*/fuzz_||' | sort)
fi
if [ "${#names[@]}" -eq 0 ]; then
	echo "fuzz: no harness found in $dir/tests" >&2
	exit 1
fi

scratch=$(mktemp -d /tmp/tapir-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

passed=0
failed=0
# Leak checking stays on; UBSan reports abort so that they count as crashes.
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1

for name in "${names[@]}"; do
	bin=$dir/tests/fuzz_$name
	corpus=tests/fuzz/corpus/$name
	if [ ! -x "$bin" ]; then
		echo "fuzz: $name FAILED (no harness $bin)"
		failed=$((failed + 1))
		continue
	fi
	work=$scratch/$name
	artifacts=$dir/fuzz-artifacts/$name
	mkdir -p "$work" "$artifacts"
	[ -d "$corpus" ] && cp -r "$corpus/." "$work/"
	args=(-artifact_prefix="$artifacts/" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048)
	[ -f "tests/fuzz/dict/$name.dict" ] && args+=(-dict="tests/fuzz/dict/$name.dict")
	# tests/fuzz/NAME.options: more libFuzzer flags for one harness, one per line (# comments)
	if [ -f "tests/fuzz/$name.options" ]; then
		while read -r opt; do
			case $opt in '' | '#'*) ;; -*) args+=("$opt") ;; esac
		done <"tests/fuzz/$name.options"
	fi
	[ -n "$runs" ] && args+=(-runs="$runs")
	[ "$seconds" -gt 0 ] && args+=(-max_total_time="$seconds")
	log=$scratch/$name.log
	"$bin" "${args[@]}" "$work" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		printf 'fuzz: %-14s ok      %12s execs  %8s exec/s  %s\n' "$name" "${execs:-?}" \
			"${speed:-?}" "${cov:-}"
		passed=$((passed + 1))
		if [ "${FUZZ_MERGE:-0}" = 1 ] && [ -d "$corpus" ]; then
			"$bin" -merge=1 "$corpus" "$work" >/dev/null 2>&1 ||
				echo "fuzz: $name: corpus merge failed"
		fi
	else
		printf 'fuzz: %-14s FAILED  (exit %d after %s execs)\n' "$name" "$rc" "${execs:-?}"
		grep -E 'ERROR:|SUMMARY:|runtime error|Test unit written' "$log" | head -10 |
			sed 's/^/fuzz:   /'
		echo "fuzz:   replay: $bin $artifacts/<input>   (full log below)"
		tail -40 "$log" | sed 's/^/fuzz:   | /'
		failed=$((failed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
