#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The test command (CI runs it through .ci/run). As root on Debian 12, from any directory:
#   1. scripts/deps.sh (installs what is missing)
#   2. clang-format --dry-run -Werror on src/ cli/ tests/ bench/, if clang-format is installed
#   3. build/     debug, -Db_sanitize=address,undefined, warnings as errors
#   4. build-rel/ release, warnings as errors (catches optimiser-only warnings; not tested)
#   5. meson test over every suite (unit, fuzz corpus replay, netns) in build/
#   6. every libFuzzer harness for 10 s (scripts/fuzz.sh; TAPIR_FUZZ_SECONDS sets the budget)
# The last line of output is always "N passed, N failed, N skipped": meson's results from
# build/meson-logs/testlog.json, plus the format check as one test, plus one failed test for
# each step that broke (deps, a build, a meson run that left no log). Exit status 1 if N failed > 0.
set -uo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." || exit 1

passed=0
failed=0
skipped=0

step()
{
	printf '\n== %s\n' "$*"
}

summary()
{
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

# setup DIR OPTION...: configure DIR, reconfiguring an existing build directory; wipe it
# only if that fails.
setup()
{
	local dir=$1
	shift
	if [ -f "$dir/meson-private/coredata.dat" ]; then
		meson setup --reconfigure "$dir" "$@" || meson setup --wipe "$dir" "$@"
	else
		meson setup "$dir" "$@" || meson setup --wipe "$dir" "$@"
	fi
}

# count_results TESTLOG: print "passed failed skipped" from meson's JSON lines log. Only the
# top-level "result" key matches: inside the stdout string every quote is escaped.
count_results()
{
	awk '
		match($0, /"result": *"[A-Z]+"/) {
			r = substr($0, RSTART, RLENGTH)
			sub(/^"result": *"/, "", r)
			sub(/"$/, "", r)
			if (r == "OK" || r == "EXPECTEDFAIL")
				p++
			else if (r == "SKIP")
				s++
			else
				f++
		}
		END { printf "%d %d %d\n", p, f, s }' "$1"
}

step "dependencies"
if ! bash scripts/deps.sh; then
	echo "scripts/deps.sh failed"
	failed=$((failed + 1))
	summary
fi

if command -v clang-format >/dev/null 2>&1; then
	step "format: $(clang-format --version)"
	mapfile -t sources < <(find src cli tests bench -type f -name '*.[ch]' 2>/dev/null | sort)
	if [ "${#sources[@]}" -eq 0 ] ||
		clang-format --dry-run -Werror "${sources[@]}"; then
		echo "format: ${#sources[@]} files ok"
		passed=$((passed + 1))
	else
		echo "format: FAILED (fix with: clang-format -i FILE...)"
		failed=$((failed + 1))
	fi
else
	step "format: clang-format not installed, not checked"
fi

step "build/ (debug, address + undefined sanitizers)"
debug_ok=1
if ! setup build -Db_sanitize=address,undefined -Dwerror_ci=true || ! ninja -C build; then
	echo "build/: FAILED"
	failed=$((failed + 1))
	debug_ok=0
fi

step "build-rel/ (release, build only)"
if ! setup build-rel -Dbuildtype=release -Dwerror_ci=true || ! ninja -C build-rel; then
	echo "build-rel/: FAILED"
	failed=$((failed + 1))
fi

if [ "$debug_ok" -eq 1 ]; then
	step "meson test (unit, fuzz, netns)"
	testlog=build/meson-logs/testlog.json
	rm -f "$testlog"
	# UBSan stops at its first report, with a stack (the netns tests also grep the logs)
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		meson test -C build --print-errorlogs --num-processes 2
	rc=$?
	if [ -f "$testlog" ]; then
		read -r p f s < <(count_results "$testlog")
		passed=$((passed + p))
		failed=$((failed + f))
		skipped=$((skipped + s))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "meson test exited with status $rc but logged no failure"
			failed=$((failed + 1))
		fi
	else
		echo "meson test wrote no $testlog (exit status $rc)"
		failed=$((failed + 1))
	fi
fi

# Every libFuzzer harness for a short budget (scripts/fuzz.sh builds build-fuzz/ with clang,
# ASan and UBSan); each harness counts as one test. TAPIR_FUZZ_SECONDS=0 skips the step.
fuzz_seconds=${TAPIR_FUZZ_SECONDS:-10}
if [ "$fuzz_seconds" != 0 ]; then
	step "libFuzzer, $fuzz_seconds s per harness (scripts/fuzz.sh)"
	fuzzlog=$(mktemp /tmp/tapir-fuzzlog.XXXXXX)
	FUZZ_SECONDS=$fuzz_seconds bash scripts/fuzz.sh 2>&1 | tee "$fuzzlog"
	fp=$(grep -c '^fuzz: [^ ]* *ok ' "$fuzzlog")
	ff=$(grep -c '^fuzz: [^ ]* *FAILED' "$fuzzlog")
	if ! grep -q '^fuzz: [0-9]* passed, [0-9]* failed$' "$fuzzlog"; then
		echo "scripts/fuzz.sh did not finish"
		ff=$((ff + 1))
	fi
	passed=$((passed + fp))
	failed=$((failed + ff))
	rm -f "$fuzzlog"
fi

summary
