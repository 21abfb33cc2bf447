#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netlink / tapir demo: runs to completion (ping and throughput in its output) and leaves no
# namespace, link, socket, state file, temporary directory or process behind; the same after
# Ctrl-C halfway, and after --keep followed by --clean. The demo's namespace names are fixed,
# so the test skips if a demo is already running.
#
#   tapir-demo-1                                   tapir-demo-2
#   +-------------------------------------+        +-------------------------------------+
#   | tapirdemo1 198.51.100.1  (tapir up) |        | tapirdemo2 198.51.100.2  (tapir up) |
#   | wgdemo1    203.0.113.1 (wireguard-go)|       | wgdemo2    203.0.113.2 (wireguard-go)|
#   | tdemo1     192.0.2.1/24             |========| tdemo2     192.0.2.2/24             |
#   +-------------------------------------+        +-------------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
[ ! -e /var/run/netns/tapir-demo-1 ] && [ ! -e /var/run/netns/tapir-demo-2 ] ||
	skip_all "a tapir demo is running (tapir demo --clean removes it)"
export TAPIRD="$IMPL"

plan 16

# If the test dies while a demo of ours runs, remove it.
DEMO_STARTED=0
trap 'rc=$?; [ "$DEMO_STARTED" = 0 ] || "$CLI" demo --clean >/dev/null 2>&1; (exit $rc); cleanup' EXIT

ls -d /tmp/tapir-demo.* 2>/dev/null | sort >"$T/tmp-before" || true

demo()
{
	local rc=0
	DEMO_STARTED=1
	timeout -k 10 180 "$CLI" demo "$@" >"$T/demo.log" 2>&1 </dev/null || rc=$?
	cat "$T/demo.log"
	return "$rc"
}

# nothing_left: no trace of a demo anywhere on the machine.
nothing_left()
{
	local n i
	for n in 1 2; do
		[ ! -e "/var/run/netns/tapir-demo-$n" ] || { echo "namespace tapir-demo-$n"; return 1; }
		for i in tapirdemo$n wgdemo$n; do
			[ ! -e "$WG_RUN_DIR/$i.sock" ] || { echo "socket $i"; return 1; }
			[ ! -e "/var/run/tapir/$i.state" ] || { echo "state $i"; return 1; }
		done
		! ip link show "tdemo$n" >/dev/null 2>&1 || { echo "link tdemo$n"; return 1; }
	done
	[ ! -e /var/run/tapir/demo.tmpdir ] || { echo "demo.tmpdir"; return 1; }
	# Live processes only: a reparented daemon may stay a zombie until init reaps it.
	if ps -eo stat=,args= | awk '$1 !~ /^Z/' |
		grep -E "(tapird|wireguard-go) (tapir|wg)demo[12]$"; then
		return 1
	fi
	ls -d /tmp/tapir-demo.* 2>/dev/null | sort >"$T/tmp-after" || true
	diff "$T/tmp-before" "$T/tmp-after"
}

check "tapir demo --help" "$CLI" demo --help
check_fails "tapir demo --bogus is a usage error" "$CLI" demo --bogus

check "tapir demo runs to completion" demo
check "it pinged through the tunnel" grep -q "bytes from 198.51.100.2: icmp_seq=" "$T/demo.log"
check "it printed tapir's throughput" grep -Eq "^  tapir: [0-9]+\.[0-9] Mbit/s" "$T/demo.log"
if command -v wireguard-go >/dev/null; then
	check "it printed wireguard-go's throughput" \
		grep -Eq "^  wireguard-go: [0-9]+\.[0-9] Mbit/s" "$T/demo.log"
else
	ok "# SKIP wireguard-go not installed"
fi
check "it said where to look" grep -q "tapir show" "$T/demo.log"
check "nothing is left after it" wait_for "the demo's daemons to exit" 10 nothing_left

# Ctrl-C in the middle of the transfer (timeout signals the demo's process group).
check_fails "tapir demo interrupted by SIGINT fails" \
	timeout -s INT -k 20 5 "$CLI" demo
check "nothing is left after Ctrl-C" wait_for "the demo's daemons to exit" 10 nothing_left
check_fails "tapir demo interrupted early fails" timeout -s INT -k 20 0.5 "$CLI" demo
check "nothing is left after an early Ctrl-C" wait_for "the demo's daemons to exit" 10 nothing_left

# --keep leaves it running, a second demo refuses, --clean removes it.
check "tapir demo --keep" demo --keep
check_fails "a second demo refuses while one is kept" "$CLI" demo
check "tapir demo --clean" "$CLI" demo --clean
check "nothing is left after --clean" wait_for "the demo's daemons to exit" 10 nothing_left
DEMO_STARTED=0
