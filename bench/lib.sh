# SPDX-License-Identifier: MIT
# Shared by the benchmark scripts (sourced, not run): messages and stopping the processes a
# script started. The sourcing script sets BENCH_NAME (for die's prefix), STOP_GRACE_S (seconds
# of TERM before KILL) and keeps every background PID it starts in the array PIDS.

say() { printf '%s\n' "$*" >&2; }
run() { say "[#] $*"; "$@"; }
die() { say "$BENCH_NAME: $*"; exit 1; }

# stop_pids PID...: TERM, up to STOP_GRACE_S of grace, then KILL; reaps them (all are children
# of this shell) and drops them from PIDS, so a reaped PID that the kernel reuses is never
# signalled.
stop_pids()
{
	local pid i keep=()
	for pid; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid; do
		for ((i = 0; i < STOP_GRACE_S * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for i in "${PIDS[@]}"; do
		[[ " $* " == *" $i "* ]] || keep+=("$i")
	done
	PIDS=("${keep[@]}")
}
