#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Log lines for the journal (issue 18 item 5): tapird -f with standard error on a file and
# JOURNAL_STREAM naming that file's device:inode (what systemd does for a service whose stderr
# is the journal) starts each line with its syslog priority: <6> information, <4> the warning
# about an unreachable $NOTIFY_SOCKET, <2> a fatal error at startup (<3> and <7>: the unit
# test test_log, since a healthy start logs neither). Without JOURNAL_STREAM, or with one
# naming another file (inherited by a process whose stderr went elsewhere), no line has a
# prefix. One namespace, no traffic.
#
#   tapir-$$-1: tapird -f tj$$n   2> $T/journal.log   JOURNAL_STREAM=dev:ino of journal.log
#                                 NOTIFY_SOCKET=$T/nobody.sock (no listener: a warning)
set -eu
. "$(dirname "$0")/lib.sh"

plan 8

IFN="tj$$n"
register_if "$IFN"
add_ns 1

# dev_ino FILE: "DEVICE:INODE" in decimal, as systemd writes JOURNAL_STREAM
dev_ino() { stat -c '%d:%i' "$1"; }

# run_daemon LOG JOURNAL_STREAM_VALUE: tapird -f in NS1, stderr appended to LOG (created
# first, so that its inode is known); an empty value leaves JOURNAL_STREAM unset.
run_daemon()
{
	local log=$1 js=$2
	local -a envs=(NOTIFY_SOCKET="$T/nobody.sock")
	[ -z "$js" ] || envs+=(JOURNAL_STREAM="$js")
	pretty "$NS1" "${envs[*]} $IMPL -f $IFN 2>$log"
	(exec ip netns exec "$NS1" env -u JOURNAL_STREAM --default-signal "${envs[@]}" \
		"$IMPL" -f "$IFN" >/dev/null 2>>"$log" </dev/null) &
	DAEMON_PID[$IFN]=$!
	track_pid "${DAEMON_PID[$IFN]}"
	wait_for "the NOTIFY_SOCKET warning" 15 grep -q 'NOTIFY_SOCKET' "$log"
	stop_daemon "$IFN"
}

# all_prefixed LOG: every line starts with <0>..<7>, and there is at least one line
all_prefixed()
{
	cat "$1"
	[ -s "$1" ] && ! grep -qvE '^<[0-7]>' "$1"
}

# none_prefixed LOG: no line starts with <N>, and there is at least one line
none_prefixed()
{
	cat "$1"
	[ -s "$1" ] && ! grep -qE '^<[0-9]>' "$1"
}

: >"$T/journal.log"
run_daemon "$T/journal.log" "$(dev_ino "$T/journal.log")"
check "JOURNAL_STREAM = stderr's dev:ino: every line starts with a priority" \
	all_prefixed "$T/journal.log"
check "the unreachable NOTIFY_SOCKET is a warning: <4>warning:" \
	grep -qE '^<4>warning: .*NOTIFY_SOCKET' "$T/journal.log"
check "information lines start with <6>" grep -qE "^<6>$IFN: " "$T/journal.log"

: >"$T/plain.log"
run_daemon "$T/plain.log" ""
check "without JOURNAL_STREAM: no prefix" none_prefixed "$T/plain.log"
check "and the warning reads warning:" grep -qE '^warning: .*NOTIFY_SOCKET' "$T/plain.log"

: >"$T/other.log"
run_daemon "$T/other.log" "$(dev_ino "$T/journal.log")"
check "JOURNAL_STREAM naming another file (stderr went elsewhere): no prefix" \
	none_prefixed "$T/other.log"

# fatal: an unknown user to run as, before anything is created
fatal_line()
{
	local rc=0 js
	js=$(dev_ino "$T/fatal.log")
	ip netns exec "$NS1" env -u JOURNAL_STREAM TAPIR_USER="no-such-user-$$" \
		JOURNAL_STREAM="$js" "$IMPL" -f "$IFN" 2>>"$T/fatal.log" || rc=$?
	cat "$T/fatal.log"
	[ "$rc" -ne 0 ] && grep -qE "^<2>fatal: no such user: no-such-user-$$" "$T/fatal.log"
}
: >"$T/fatal.log"
check "a fatal error at startup starts with <2>" fatal_line
check "and created no interface" eval "! ip -n $NS1 link show dev $IFN 2>/dev/null"
