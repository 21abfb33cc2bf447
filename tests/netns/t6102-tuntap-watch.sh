#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir tuntap watch next to a running tapird (issue 18 item 1): the default watch is passive
# (a packet socket) and sees a ping's requests and replies while the ping loses nothing; the
# old queue-attaching mode (now --attach) steals packets from the daemon; -w writes a pcap file
# that tcpdump -r reads; the proto/host/port filter and -x; --answer-ping on a TUN the command
# owns answers the pings (ICMP and ICMPv6) sent to the tun's peer address.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tw$$a  10.78.0.1/24 (tapird)  |                     | tw$$b  10.78.0.2/24 (tapird)  |
#   |   <-- tapir tuntap watch      |                     |                               |
#   | tp$$  10.79.0.1 peer .2       |                     |                               |
#   |  fd79::1 peer ::2, owned by   |                     |                               |
#   |  watch --attach --answer-ping |                     |                               |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

TAPIR=${TAPIR:-$(dirname "$TAPIRD")/tapir}
TAPIR=$(resolve_impl "$TAPIR") || skip_all "no tapir CLI next to TAPIRD=$TAPIRD"
require_cmds tcpdump

plan 14

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
keygen a
keygen b
# two queues (workers) on a's device, whatever the CPU count: the odds of --attach below
export TAPIR_WORKERS=2
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51811 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51812 allowed-ips 10.78.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51812 \
	peer "$(pub_of a)" allowed-ips 10.78.0.0/24
n1 sysctl -qw "net.ipv6.conf.$IFA.disable_ipv6=1" || true
n2 sysctl -qw "net.ipv6.conf.$IFB.disable_ipv6=1" || true
addr_up "$NS1" "$IFA" 10.78.0.1/24
addr_up "$NS2" "$IFB" 10.78.0.2/24
for i in $(seq 11 42); do n1 ip addr add "10.78.0.$i/24" dev "$IFA"; done
ping_until "$NS1" 15 10.78.0.2 || bail_out "no tunnel between the namespaces"

# watch_bg OUT ARGS...: `tapir tuntap watch ARGS` in NS1 in the background, at most 15 s;
# waits (bounded) until it has printed "watching" on stderr (OUT.log).
watch_bg()
{
	local out=$1
	shift
	(exec ip netns exec "$NS1" env --default-signal timeout --preserve-status -s INT 15 \
		"$TAPIR" tuntap watch "$@" >"$out" 2>"$out.log" </dev/null) &
	WATCH_PID=$!
	track_pid "$WATCH_PID"
	wait_for "watch to start" 10 grep -q watching "$out.log"
}

watch_wait()
{
	WATCH_RC="still running"
	wait_for "watch to exit" 20 dead "$WATCH_PID" || return 0
	WATCH_RC=0
	wait "$WATCH_PID" || WATCH_RC=$?
}

# ping_loss N: N pings from NS1 through the tunnel; prints ping's summary, succeeds on 0% loss.
ping_loss()
{
	local out
	out=$(n1 timeout 20 ping -c "$1" -i 0.2 -W 2 10.78.0.2 | tail -2) || true
	echo "$out"
	grep -q ' 0% packet loss' <<<"$out"
}

# pings_all_answered N: one ping from each of N (at most 32) source addresses, N flows the tun
# spreads over its queues by hash (a flow of one ping is new: no queue learnt for it); succeeds
# if every ping was answered. An extra queue that reads takes about one flow in (queues + 1):
# with tapird's 2 queues, all of 32 flows escape it with a chance of (2/3)^32, about 2e-6.
pings_all_answered()
{
	local i lost=0
	for i in $(seq 11 $((10 + $1))); do
		n1 timeout 5 ping -c 1 -W 2 -I "10.78.0.$i" 10.78.0.2 >/dev/null 2>&1 ||
			lost=$((lost + 1))
	done
	echo "pings lost: $lost of $1"
	[ "$lost" -eq 0 ]
}
STAMP='^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} '

# ---------------------------------------------------------------- passive: sees, takes nothing
watch_bg "$T/passive.out" "$IFA" --count 42 -w "$T/passive.pcap" -x proto icmp host 10.78.0.2
check "5 pings through the tunnel lose nothing while the passive watch runs" ping_loss 5
check "16 more pings (16 flows) lose nothing either" pings_all_answered 16
watch_wait
check_eq "passive watch stops after --count 42 with status 0" 0 echo "$WATCH_RC"
check "passive watch saw echo requests 10.78.0.1 > 10.78.0.2, stamped" \
	grep -Eq "${STAMP}84 bytes: IPv4 10\.78\.0\.1 > 10\.78\.0\.2 ICMP echo request" "$T/passive.out"
check "passive watch saw echo replies 10.78.0.2 > 10.78.0.1 (the other direction)" \
	grep -Eq "${STAMP}84 bytes: IPv4 10\.78\.0\.2 > 10\.78\.0\.1 ICMP echo reply" "$T/passive.out"
check "-x: hex lines follow, the first starting with the IPv4 header" \
	grep -Eq $'^\t0x0000:  4500 0054' "$T/passive.out"
check_eq "-x: 6 hex lines per 84-byte packet (42 packets)" 252 grep -c $'^\t0x' "$T/passive.out"
check "tcpdump -r reads the pcap file: echo requests and replies" eval \
	"tcpdump -nr '$T/passive.pcap' 2>&1 | tee '$T/tcpdump.out' && \
	 grep -q '10.78.0.1 > 10.78.0.2: ICMP echo request' '$T/tcpdump.out' && \
	 grep -q '10.78.0.2 > 10.78.0.1: ICMP echo reply' '$T/tcpdump.out'"
check_eq "tcpdump -r: the file holds the 42 packets printed" 42 \
	eval "tcpdump -nr '$T/passive.pcap' 2>/dev/null | wc -l"

# ---------------------------------------------------------------- filter excludes
watch_bg "$T/tcp.out" "$IFA" proto tcp
ping_loss 3 >/dev/null || true
kill -INT "$WATCH_PID" 2>/dev/null || true
watch_wait
check "proto tcp: none of the pings printed" eval "cat '$T/tcp.out'; ! grep -q ICMP '$T/tcp.out'"
watch_bg "$T/port.out" "$IFA" port 53 host 10.78.0.2
ping_loss 3 >/dev/null || true
kill -INT "$WATCH_PID" 2>/dev/null || true
watch_wait
check_eq "port 53 host 10.78.0.2: nothing printed" 0 eval "wc -l <'$T/port.out'"

# ---------------------------------------------------------------- --attach steals (the old default)
watch_bg "$T/attach.out" "$IFA" --attach proto icmp
check_fails "with --attach on tapird's device, pings are lost (it takes packets)" pings_all_answered 32
kill -INT "$WATCH_PID" 2>/dev/null || true
watch_wait

# ---------------------------------------------------------------- --answer-ping
TP="tp$$"
n1 "$TAPIR" tuntap add "$TP" mode tun
n1 ip addr add 10.79.0.1 peer 10.79.0.2 dev "$TP"
n1 ip link set "$TP" up
watch_bg "$T/answer.out" "$TP" --attach --answer-ping
# IPv6 once the watch holds the device (carrier on), so its route is installed
n1 ip addr add fd79::1 peer fd79::2 dev "$TP" nodad
wait_for "a route to fd79::2" 5 n1 ip -6 route get fd79::2 || true
check "ping 10.79.0.2 through a TUN the watch owns gets replies" \
	eval "n1 timeout 10 ping -c 3 -i 0.2 -W 2 10.79.0.2 | tail -2 | tee /dev/stderr | grep -q ' 0% packet loss'"
check "ping fd79::2 (ICMPv6) through it gets replies" \
	eval "n1 timeout 10 ping -c 3 -i 0.2 -W 2 fd79::2 | tail -2 | tee /dev/stderr | grep -q ' 0% packet loss'"
kill -INT "$WATCH_PID" 2>/dev/null || true
watch_wait
n1 "$TAPIR" tuntap del "$TP" || true
