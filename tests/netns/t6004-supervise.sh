#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netlink / supervision (tapir@.service's pieces, without systemd):
#  (a) tapird -f tells $NOTIFY_SOCKET READY=1 once it serves (an abstract socket and a path,
#      bound here by a python3 receiver), and STOPPING=1 on SIGTERM;
#  (b) after kill -9 of every tapird process of a `tapir up` (daemon and socket helper: the
#      socket file stays too), `tapir up` again works without `tapir down`: it cleans up the
#      dead daemon's rules, routes, firewall tables and sysctl first, so the routing and the
#      ruleset equal those after the first up, and the peer handshakes again;
#  (c) `tapir up --foreground`: READY=1 only once the interface is up with its peer; kill -9
#      of its tapird makes it undo everything and exit 1 (what Restart=on-failure restarts);
#      run again (the restart), the interface is back with its peer within a few seconds;
#      `tapir down` asks it to take the interface down (exit 0, routing as before), and so
#      does SIGTERM (systemctl stop).
#
#   tapir-$$-1                                         tapir-$$-2
#   +------------------------------------+            +------------------------------------+
#   | tapir up ts$$a.conf                |            | tapir up ts$$b.conf                |
#   |  ts$$a 10.69.0.1/24                |            |  ts$$b 10.69.0.2/24                |
#   |   peer b 192.0.2.2:51842           |            |   peer a: 10.69.0.1/32             |
#   |   allowed 0.0.0.0/0, ::/0          |            |                                    |
#   | veth1 192.0.2.1/24                 |============| veth2 192.0.2.2/24                 |
#   +------------------------------------+            +------------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds python3 nft

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
export TAPIRD="$IMPL"
STATE_DIR=/var/run/tapir

plan 35

IFA="ts$$a"
IFB="ts$$b"
IFN="ts$$n"
for i in "$IFA" "$IFB" "$IFN"; do
	register_if "$i"
done
trap 'rc=$?; rm -f "$STATE_DIR/ts$$"?.state; (exit $rc); cleanup' EXIT

setup_underlay
keygen a
keygen b
cat >"$T/$IFA.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
Address = 10.69.0.1/24
ListenPort = 51841

[Peer]
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51842
AllowedIPs = 0.0.0.0/0, ::/0
PersistentKeepalive = 1
EOC
cat >"$T/$IFB.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of b)")
Address = 10.69.0.2/24
ListenPort = 51842

[Peer]
PublicKey = $(pub_of a)
AllowedIPs = 10.69.0.1/32
EOC

# receiver NS ADDR OUT: the notify datagrams to ADDR (@abstract or a path) in NS in OUT
# (lib.sh), for at most 60 s.
receiver() { notify_receiver "$1" "$2" "$3" 60; }

got() { grep -q "$2" "$1"; }

# tq NS ARGS...: the CLI in NS, output to $T/tq.log (shown).
tq()
{
	local ns=$1 rc=0
	shift
	ip netns exec "$ns" timeout 60 "$CLI" "$@" >"$T/tq.log" 2>&1 </dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}

# state NS: routes, rules, src_valid_mark and the nftables ruleset of NS.
# (The tunnel gets a new random link-local address with each link: shown as fe80::IID.)
state()
{
	local mask="/$IFA/s/fe80::[0-9a-f:]*/fe80::IID/"
	{
		# sorted after masking: the random address decides where its line sorts
		ip -n "$1" -4 route show table all | sed "$mask" | sort
		ip -n "$1" -6 route show table all | sed "$mask" | sort
		ip -n "$1" -4 rule show
		ip -n "$1" -6 rule show
		ip netns exec "$1" cat /proc/sys/net/ipv4/conf/all/src_valid_mark
		ip netns exec "$1" nft list ruleset
	} | sed "$mask"
}
same_state()
{
	state "$1" >"$T/now"
	diff -u "$2" "$T/now"
}

# tapirds NS: the PIDs of the tapird processes (daemon and socket helper) in NS.
tapirds()
{
	local pid
	for pid in $(ip netns pids "$1"); do
		[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$IMPL")" ] && echo "$pid"
	done
	return 0
}
peer_of_a() { ip netns exec "$NS1" "$CLI" show "$IFA" dump | grep -q "^$(pub_of b)	"; }
has_handshake() { [ "$(ip netns exec "$NS1" "$CLI" show "$IFA" latest-handshakes | cut -f2)" -gt 0 ]; }
link_up() { ip -n "$NS1" link show "$IFA" >/dev/null 2>&1; }
no_link() { ! link_up; }
no_state() { [ ! -e "$STATE_DIR/$IFA.state" ]; }
no_tentative() { [ -z "$(ip -n "$1" -6 addr show tentative)" ]; }

wait_for "DAD on veth1" 10 no_tentative "$NS1"
state "$NS1" >"$T/before"

# ---------------------------------------------------------------- (a) tapird and NOTIFY_SOCKET
for addr in "@tapir-notify-$$" "$T/notify.sock"; do
	receiver "$NS1" "$addr" "$T/notify.out"
	pretty "$NS1" "NOTIFY_SOCKET=$addr $IMPL -f $IFN"
	(exec ip netns exec "$NS1" env --default-signal NOTIFY_SOCKET="$addr" LOG_LEVEL=verbose \
		"$IMPL" -f "$IFN" >"$T/$IFN.log" 2>&1 </dev/null) &
	DAEMON_PID[$IFN]=$!
	track_pid "${DAEMON_PID[$IFN]}"
	check "tapird -f sends READY=1 to $addr" wait_for "READY=1" 15 got "$T/notify.out" "READY=1"
	check "once its socket answers" ip netns exec "$NS1" "$CLI" show "$IFN" listen-port
	stop_daemon "$IFN"
	check "and STOPPING=1 on SIGTERM" wait_for "STOPPING=1" 10 got "$T/notify.out" "STOPPING=1"
	diag_file "$T/notify.out"
	signal_child TERM "$RECEIVER_PID" || true
	rm -f "$T/notify.out.bound" "$T/notify.sock"
done

# ---------------------------------------------------------------- (b) kill -9, up again
check "tapir up $IFB" tq "$NS2" up "$T/$IFB.conf"
check "tapir up $IFA (default route, firewall guard)" tq "$NS1" up "$T/$IFA.conf"
check "$IFA handshakes" wait_for "a handshake" 15 has_handshake
state "$NS1" >"$T/up1"
pids=$(tapirds "$NS1")
diag "kill -9 $pids"
# shellcheck disable=SC2086
[ -z "$pids" ] || kill -KILL $pids
check "the interface goes with its daemon" wait_for "$IFA to go" 10 no_link
check "the dead daemon's state file is left behind" test -e "$STATE_DIR/$IFA.state"
check "tapir up again, without tapir down" tq "$NS1" up "$T/$IFA.conf"
check "it said it cleaned up after the dead daemon" grep -q "is gone; cleaning up" "$T/tq.log"
check "routes, rules, sysctl and ruleset equal those after the first up" same_state "$NS1" "$T/up1"
check "the peer is back" peer_of_a
check "and handshakes again" wait_for "a handshake" 15 has_handshake
check_fails "tapir up while its daemon lives is still refused" tq "$NS1" up "$T/$IFA.conf"
check "and cleans nothing up" eval '! grep -q "cleaning up" "$T/tq.log" && same_state "$NS1" "$T/up1" && peer_of_a'
check "tapir down" tq "$NS1" down "$IFA"
check "routing and ruleset as before" same_state "$NS1" "$T/before"

# ---------------------------------------------------------------- (c) tapir up --foreground
# fg_start: tapir up --foreground in NS1 in the background, READY=1 to a receiver.
FG_N=0
fg_start()
{
	local addr
	FG_N=$((FG_N + 1))
	addr="@tapir-notify-fg-$$-$FG_N"
	signal_child TERM "$RECEIVER_PID" || true
	receiver "$NS1" "$addr" "$T/notify-$FG_N.out"
	pretty "$NS1" "NOTIFY_SOCKET=$addr tapir up $T/$IFA.conf --foreground"
	(exec ip netns exec "$NS1" env --default-signal NOTIFY_SOCKET="$addr" \
		"$CLI" up "$T/$IFA.conf" --foreground >"$T/fg-$FG_N.log" 2>&1 </dev/null) &
	FG_PID=$!
	FG_START=$EPOCHREALTIME
	track_pid "$FG_PID"
	wait_for "READY=1" 20 got "$T/notify-$FG_N.out" "READY=1" || return 1
	FG_READY_MS=$(((${EPOCHREALTIME/./} - ${FG_START/./}) / 1000))
}
ready_after_up() { fg_start && link_up && peer_of_a && [ -e "$STATE_DIR/$IFA.state" ]; }
# fg_exit: wait (bounded) for the supervisor to exit; its status in FG_RC.
fg_exit()
{
	FG_RC=timeout
	wait_for "tapir up --foreground to exit" 20 dead "$FG_PID" || return 0
	FG_RC=0
	wait "$FG_PID" || FG_RC=$?
}

check "tapir up --foreground: READY=1 once up with its peer" ready_after_up
check "the supervisor is still running" alive "$FG_PID"
check "the interface handshakes" wait_for "a handshake" 15 has_handshake
pids=$(tapirds "$NS1")
diag "kill -9 $pids"
# shellcheck disable=SC2086
[ -z "$pids" ] || kill -KILL $pids
fg_exit
check_eq "tapird killed: the supervisor exits 1 (Restart=on-failure restarts it)" 1 echo "$FG_RC"
diag_file "$T/fg-$FG_N.log"
check "it undid everything: routing and ruleset as before" same_state "$NS1" "$T/before"
check "and removed the state file" no_state
FG_READY_MS=999999
check "the restart: READY=1, interface up with its peer" ready_after_up
check "within a few seconds of the restart (${FG_READY_MS} ms; ASan build)" test "$FG_READY_MS" -le 10000
check "and handshakes again" wait_for "a handshake" 15 has_handshake
check "tapir down of the supervised interface" tq "$NS1" down "$IFA"
fg_exit
check_eq "the supervisor took it down and exited 0" 0 echo "$FG_RC"
check "routing and ruleset as before" same_state "$NS1" "$T/before"
check "SIGTERM (systemctl stop): up again" ready_after_up
signal_child TERM "$FG_PID"
fg_exit
check_eq "the supervisor takes the interface down and exits 0" 0 echo "$FG_RC"
check "routing and ruleset as before, no state file" eval 'same_state "$NS1" "$T/before" && no_state'
