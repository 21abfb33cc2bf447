#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One host cannot lock the TCP peers out (issue 13, item 2). An attacker namespace holds idle
# TCP connections to b's listener and reopens each one as b closes it, for 30 s: 256 from one
# address, and from the third second on 64 more spread over 16 addresses. Meanwhile peer a,
# whose endpoint is tcp://b, completes a handshake within 5 s, its pings get through, and after
# its connection is killed it is back within 5 s. b caps pending (unauthenticated) connections
# at 4 per source (refused_source), makes room by closing the oldest pending one when all 64
# are taken (evicted), and closes a connection without a complete frame after 2 s
# (closed_first_frame); tapir show b tcp, --json and the UAPI get carry those counters. On
# the code before, the 64 global slots stayed taken and a never got a handshake. tapird only.
#
#   tapir-$$-1 (peer a)             tapir-$$-2 (peer b, tcp-listen on)     tapir-$$-3 (attacker)
#   +----------------------+        +------------------------------+        +------------------+
#   | ta$$a 10.86.0.1/24   |        | ta$$b 10.86.0.2/24           |        | tcphold          |
#   |  endpoint tcp://b    |        |  listen-port 51862           |        |                  |
#   | veth1 192.0.2.1 ==== UDP dropped === veth2 192.0.2.2        |        |                  |
#   +----------------------+        | veth4 198.51.100.1 ========= veth3 198.51.100.2,    |
#                                   +------------------------------+        |  .10-.25         |
#                                                                            +------------------+
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "the TCP transport"
require_cmds ss nft socat
TCPHOLD=${TCPHOLD:-$(dirname "$IMPL")/tests/tools/tcphold}
[ -x "$TCPHOLD" ] || skip_all "tcphold not found (set TCPHOLD)"

plan 14

IFA="ta$$a"
IFB="ta$$b"
setup_underlay
add_ns 3
pretty "" "ip link add veth3 netns $NS3 type veth peer name veth4 netns $NS2"
ip link add veth3 netns "$NS3" type veth peer name veth4 netns "$NS2"
ip2 addr add 198.51.100.1/24 dev veth4
ip2 link set veth4 up
ip3 addr add 198.51.100.2/24 dev veth3
ATTACK_SOURCES=()
for i in $(seq 10 25); do
	ip3 addr add "198.51.100.$i/24" dev veth3
	ATTACK_SOURCES+=(--source "198.51.100.$i")
done
ip2 -6 addr add 2001:db8:3::1/64 dev veth4 nodad
ip2 -6 addr add 2001:db8:4::1/64 dev veth4 nodad
ip3 -6 addr add 2001:db8:3::2/64 dev veth3 nodad
ip3 -6 addr add 2001:db8:3::3/64 dev veth3 nodad
ip3 -6 addr add 2001:db8:4::2/64 dev veth3 nodad
ip3 link set veth3 up
pretty "$NS3" "ip addr add 198.51.100.2/24 198.51.100.10-25/24 2001:db8:3::2,3/64 2001:db8:4::2/64 dev veth3; ip link set veth3 up"

keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
block_underlay_udp "$NS1" "$NS2"

n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51862 tcp-listen on \
	peer "$(pub_of a)" allowed-ips 10.86.0.1/32
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51861 \
	peer "$(pub_of b)" allowed-ips 10.86.0.2/32
addr_up "$NS1" "$IFA" 10.86.0.1/24
addr_up "$NS2" "$IFB" 10.86.0.2/24

tcp_stat() { show_stat "$NS2" "$IFB" tcp "$1"; }
stat_at_least()
{
	local v
	v=$(tcp_stat "$1") || return 1
	echo "$1 = $v (want >= $2)"
	[ "${v:-0}" -ge "$2" ]
}

# ---- IPv6: a /64 is one source
# hold6 SOURCE...: 8 idle connections for 1 s over the sources, no reopening
hold6()
{
	local args=() a
	for a in "$@"; do args+=(--source "$a"); done
	ip netns exec "$NS3" "$TCPHOLD" --target "[2001:db8:3::1]:51862" --conns 8 "${args[@]}" \
		--duration 1 --reopen-ms 60000 >/dev/null
}
refused_delta()
{
	local r0 r1
	r0=$(tcp_stat refused_source)
	hold6 "$@"
	r1=$(tcp_stat refused_source)
	echo $((r1 - r0))
}
check_eq "8 connections from two addresses of one IPv6 /64: 4 refused" 4 \
	refused_delta 2001:db8:3::2 2001:db8:3::3
sleep 3 # the admitted ones close for want of a first frame
check_eq "8 connections from two /64s: none refused" 0 \
	refused_delta 2001:db8:3::3 2001:db8:4::2
sleep 3

# ---- the attack: 256 idle connections from one address, then 64 from 16 more
pretty "$NS3" "tcphold --target 198.51.100.1:51862 --conns 256 --source 198.51.100.2 --duration 30 &"
ip netns exec "$NS3" "$TCPHOLD" --target 198.51.100.1:51862 --conns 256 \
	--source 198.51.100.2 --duration 30 >"$T/hold1.out" 2>&1 &
hold1=$!
track_pid "$hold1"
sleep 3
pretty "$NS3" "tcphold --target 198.51.100.1:51862 --conns 64 --source 198.51.100.10 ... .25 --duration 27 &"
ip netns exec "$NS3" "$TCPHOLD" --target 198.51.100.1:51862 --conns 64 \
	"${ATTACK_SOURCES[@]}" --duration 27 >"$T/hold2.out" 2>&1 &
hold2=$!
track_pid "$hold2"
sleep 3
check "during the attack b refuses connections over the per-source cap" \
	stat_at_least refused_source 200
check "during the attack b evicts the oldest pending connection" stat_at_least evicted 1

# ---- the legitimate peer, in the middle of it
n1 "$TAPIR" set "$IFA" peer "$(pub_of b)" endpoint tcp://192.0.2.2:51862
check "a completes a handshake with b within 5 s of getting its tcp:// endpoint" \
	wait_for "a's handshake" 5 handshake_done "$NS1" "$IFA" "$(pub_of b)"
pings_received()
{
	local n
	n=$(n1 timeout 30 ping -c 10 -i 0.5 -W 2 10.86.0.2 | awk '/received/ { print $4 }')
	echo "received $n of 10"
	[ "${n:-0}" -ge 8 ]
}
check "at least 8 of 10 pings a -> b get through during the attack" pings_received

connected_before=$(show_stat "$NS1" "$IFA" tcp connected)
pretty "$NS1" "ss -K dst 192.0.2.2 dport = :51862"
n1 ss -K dst 192.0.2.2 dport = :51862 >/dev/null
reconnected() { [ "$(show_stat "$NS1" "$IFA" tcp connected)" -gt "$connected_before" ]; }
check "a's connection killed: a is connected again within 5 s" \
	wait_for "a's reconnect" 5 reconnected
check "and a ping gets through within 5 s" ping_until "$NS1" 5 10.86.0.2

# ---- the end of the attack (the holders end on their own after 30 s)
wait_exit_or_fail() { timeout 40 tail --pid="$1" -f /dev/null; }
check "the holders end on their own" eval 'wait_exit_or_fail "$hold1" && wait_exit_or_fail "$hold2"'
diag "one source: $(cat "$T/hold1.out")"
diag "16 sources: $(cat "$T/hold2.out")"
diag "b: $(n2 "$TAPIR" show "$IFB" tcp | tr '\t\n' '= ')"
# An idle connection ends either by the 2 s first-frame deadline or, while the 64 slots are
# full, by eviction for a newer one; which of the two dominates depends on how fast the holders
# reopen (a loaded machine: mostly evictions). t4001 checks the deadline alone.
idle_closed()
{
	local t e
	t=$(tcp_stat closed_first_frame) && e=$(tcp_stat evicted) || return 1
	echo "closed_first_frame = $t, evicted = $e (want a sum >= 100)"
	[ $((t + e)) -ge 100 ]
}
check "b closed at least 100 idle connections (first-frame deadline or eviction)" idle_closed
check "b's JSON carries refused_source, evicted and closed_first_frame" \
	eval 'n2 "$TAPIR" show "$IFB" --json | grep -c "\"refused_source\"\|\"evicted\"\|\"closed_first_frame\"" | grep -qx 3'
check "b's UAPI get carries them as tapir_tcp_*" \
	eval 'printf "get=tapir\n\n" | uapi "$IFB" | grep -c "^tapir_tcp_\(refused_source\|evicted\|closed_first_frame\)=[0-9]*$" | grep -qx 3'
check "the tunnel works after the attack" ping_until "$NS1" 10 10.86.0.2
check "b's daemon is alive" alive "${DAEMON_PID[$IFB]}"
