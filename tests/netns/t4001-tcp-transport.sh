#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TCP transport: with every UDP packet on the underlay dropped by nftables, a peer configured
# with `endpoint tcp://...` reaches the other over TCP: ping, a 100 MB byte-exact transfer,
# the connection killed mid-transfer (ss -K) is re-established and the transfer completes,
# the connecting side moves to a new underlay address and reconnects; clients that send an
# oversized length, garbage, nothing, or trickle bytes are closed (counted), a flood of idle
# connections from one address is capped at 4 pending, and the tunnel keeps working through all
# of it. b listens on TCP because it is told to (tcp-listen on); a, which connects, does not.
# tapird only.
#
#   tapir-$$-1 (connects)                                 tapir-$$-2 (listens)
#   +-------------------------------+                     +-------------------------------+
#   | tt$$a  10.79.0.1/24           |                     | tt$$b  10.79.0.2/24           |
#   |   endpoint tcp://192.0.2.2:51822                    |   listen-port 51822, tcp-listen on
#   | veth1  192.0.2.1/24 (-> .11)  |=== UDP dropped ===  | veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "the TCP transport"
require_cmds nc ss nft

plan 25

SIZE=$((100 * 1024 * 1024))
IFA="tt$$a"
IFB="tt$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"

# Block UDP on the underlay, both ways, in both namespaces.
block_underlay_udp "$NS1" "$NS2"

n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51821 \
	peer "$(pub_of b)" endpoint tcp://192.0.2.2:51822 allowed-ips 10.79.0.2/32
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51822 tcp-listen on \
	peer "$(pub_of a)" allowed-ips 10.79.0.1/32
addr_up "$NS1" "$IFA" 10.79.0.1/24
addr_up "$NS2" "$IFB" 10.79.0.2/24

tcp_stat() { show_stat "$1" "$2" tcp "$3"; }
stat_at_least()
{
	local v
	v=$(tcp_stat "$1" "$2" "$3") || return 1
	echo "$3 = $v (want >= $4)"
	[ "${v:-0}" -ge "$4" ]
}

endpoint_of() { ip netns exec "$1" "$TAPIR" show "$2" endpoints | awk '{ print $2 }'; }
udp_dropped() { ip netns exec "$1" nft list table inet tapirtest | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'; }
ping_works() { n1 ping -c 1 -W 2 10.79.0.2 >/dev/null; }

# ---- connection, ping, counters
check "b listens on TCP port 51822" listening "$NS2" 51822
check_eq "a shows its peer's endpoint as tcp://" "tcp://192.0.2.2:51822" endpoint_of "$NS1" "$IFA"
check "ping 10.79.0.2 from a over TCP" ping_until "$NS1" 20 10.79.0.2
check "a: tcp connected >= 1" stat_at_least "$NS1" "$IFA" connected 1
check "b: tcp accepted >= 1 and authenticated >= 1" \
	eval 'stat_at_least "$NS2" "$IFB" accepted 1 && stat_at_least "$NS2" "$IFB" authenticated 1'
check_eq "b: peer a's transport is tcp in --json" '"transport": "tcp",' \
	eval 'n2 "$TAPIR" show "$IFB" --json | grep -o "\"transport\": \"tcp\"," | head -n 1'
diag "UDP packets dropped by the firewall so far: a $(udp_dropped "$NS1"), b $(udp_dropped "$NS2")"

# ---- 100 MB byte for byte
head -c "$SIZE" /dev/urandom >"$T/data"
want=$(sha_of "$T/data")
check "100 MB a -> b over the TCP transport within 150 s" \
	tcp_transfer "$NS1" "$NS2" 10.79.0.2 5001 "$T/data" 150
check_eq "received sha256 matches" "$want" sha_of "$T/recv.5001"

# ---- the connection killed mid-transfer
connected_before=$(tcp_stat "$NS1" "$IFA" connected)
(
	sleep 2
	echo "# [#] [$NS1] ss -K dst 192.0.2.2 dport = :51822"
	ip netns exec "$NS1" ss -K dst 192.0.2.2 dport = :51822 >/dev/null
) &
killer=$!
track_pid "$killer"
check "100 MB a -> b completes although the TCP connection was killed" \
	tcp_transfer "$NS1" "$NS2" 10.79.0.2 5002 "$T/data" 150
wait "$killer" || true
check_eq "received sha256 matches after the reconnect" "$want" sha_of "$T/recv.5002"
check "a reconnected (connected grew)" stat_at_least "$NS1" "$IFA" connected $((connected_before + 1))

# ---- the connecting side moves to a new underlay address
# (the old address goes first: deleting a primary address takes its secondaries with it)
ip1 addr del 192.0.2.1/24 dev veth1
ip1 addr add 192.0.2.11/24 dev veth1
echo "# [#] [$NS1] moved veth1 from 192.0.2.1 to 192.0.2.11"
check "ping works again after the move (reconnect from the new address)" \
	ping_until "$NS1" 60 10.79.0.2
peer_endpoint_host() { endpoint_of "$NS2" "$IFB" | sed 's,^tcp://,,; s,:[0-9]*$,,'; }
check_eq "b sees peer a at its new address" "192.0.2.11" peer_endpoint_host

# ---- bad clients (from a's namespace, plain TCP to b's port)
# closed_within SECONDS BYTES_PRINTF: connect, send, and succeed once the server closes.
closed_within()
{
	# cat returns once the server has closed (EOF or reset); timeout(1) fails otherwise
	n1 timeout "$1" bash -c 'trap "" PIPE; exec 3<>/dev/tcp/192.0.2.2/51822 || exit 2
		printf "$1" >&3 2>/dev/null
		cat <&3 >/dev/null 2>&1
		exit 0' _ "$2"
}
g0=$(tcp_stat "$NS2" "$IFB" closed_garbage)
check "oversized length (0xffff for an initiation): closed within 3 s" \
	closed_within 3 '\377\377\001\000\000\000'
check "garbage (an HTTP request): closed within 3 s" \
	closed_within 3 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
check "b counted both as garbage" stat_at_least "$NS2" "$IFB" closed_garbage $((g0 + 2))
t0=$(tcp_stat "$NS2" "$IFB" closed_first_frame)
check "silence: closed by b within 5 s (2 s for the first frame)" closed_within 5 ''
trickle()
{
	n1 timeout 20 bash -c 'trap "" PIPE; exec 3<>/dev/tcp/192.0.2.2/51822 || exit 2
		printf "\001\000\004\000" >&3
		for i in $(seq 1 18); do printf "\000" >&3 2>/dev/null || exit 0; sleep 1; done
		exit 1'
}
check "slowloris (a byte a second of a data frame): closed within 20 s" trickle
check "b counted both as first-frame timeouts" \
	stat_at_least "$NS2" "$IFB" closed_first_frame $((t0 + 2))

# 80 idle connections from one address: 4 wait for a first frame, the rest are refused at once
r0=$(tcp_stat "$NS2" "$IFB" refused_source)
n1 timeout 30 bash -c 'fds=()
	for i in $(seq 1 80); do exec {fd}<>/dev/tcp/192.0.2.2/51822 && fds+=("$fd"); done
	sleep 2' || true
check "b refused the connections over its cap of 4 pending per source" \
	stat_at_least "$NS2" "$IFB" refused_source $((r0 + 60))
check "the tunnel works throughout" ping_until "$NS1" 10 10.79.0.2
check "a's daemon is alive" alive "${DAEMON_PID[$IFA]}"
check_fails "a (the connecting side) has no TCP listener" listening "$NS1" 51821
check "b's daemon is alive" alive "${DAEMON_PID[$IFB]}"
check "b dropped UDP only in its firewall: no handshake over UDP (b's tcp authenticated)" \
	stat_at_least "$NS2" "$IFB" authenticated 2
