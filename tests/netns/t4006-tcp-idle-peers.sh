#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP peers cost the TCP transport nothing (doc/mesh-design.md section 11): adding 2,000 UDP
# peers with endpoints, moving 100 of their endpoints and removing 100 of them one `wg set` at
# a time, then removing the rest, never wakes the TCP thread (tapir_tcp_wakeups; it used to
# wake once per change and walk every peer under the device lock: 0.7 ms a change at 10,000
# peers). On the same interface a TCP peer keeps working through the churn; removing it wakes
# the thread and its connection closes; added back, it reconnects. tapird only.
#
#   tapir-$$-1 (connects; 2,000 UDP peers come and go)  tapir-$$-2 (listens)
#   +-------------------------------+                     +-------------------------------+
#   | ti$$a  10.89.0.1/24           |                     | ti$$b  10.89.0.2/24           |
#   |   endpoint tcp://192.0.2.2:51892                    |   listen-port 51892, tcp-listen on
#   | veth1  192.0.2.1/24           |=== UDP dropped ===  | veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "the TCP transport"
require_cmds ss nft od awk

plan 15

N=2000
CHURN=100
IFA="ti$$a"
IFB="ti$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
block_underlay_udp "$NS1" "$NS2"

tcp_peer_b() { n1 "$TAPIR" set "$IFA" peer "$(pub_of b)" endpoint tcp://192.0.2.2:51892 \
	allowed-ips 10.89.0.2/32; }
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51891
tcp_peer_b
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51892 tcp-listen on \
	peer "$(pub_of a)" allowed-ips 10.89.0.1/32
addr_up "$NS1" "$IFA" 10.89.0.1/24
addr_up "$NS2" "$IFB" 10.89.0.2/24

wakeups() { show_stat "$NS1" "$IFA" tcp wakeups; }
npeers() { n1 wg show "$IFA" peers | wc -l; }
# a's established TCP connections to b's port
conns_to_b() { n1 ss -Htn state established dst 192.0.2.2 dport = :51892 | wc -l; }
no_conn_to_b() { [ "$(conns_to_b)" -eq 0 ]; }
ping_works() { n1 ping -c 1 -W 2 10.89.0.2 >/dev/null; }
# few_wakeups SINCE WHAT: the counter grew by fewer than 10 (it grew by one per change)
few_wakeups()
{
	local now
	now=$(wakeups) || return 1
	echo "tapir_tcp_wakeups $1 -> $now during $2"
	[ -n "$now" ] && [ "$now" -lt $(($1 + 10)) ]
}

woke_since()
{
	local now
	now=$(wakeups) || return 1
	echo "tapir_tcp_wakeups $1 -> $now"
	[ -n "$now" ] && [ "$now" -gt "$1" ]
}

check "ping 10.89.0.2 from a over TCP" ping_until "$NS1" 20 10.89.0.2
check_eq "a has one TCP connection to b" 1 conns_to_b

random_pubkeys "$N" >"$T/keys"
mapfile -t KEYS <"$T/keys"
args=()
for i in "${!KEYS[@]}"; do
	args+=(peer "${KEYS[$i]}" endpoint "192.0.2.$((100 + i % 100)):$((20000 + i))"
		allowed-ips "10.90.$((i / 250)).$((i % 250 + 1))/32")
done

# ---- 2,000 UDP peers in one set, then changes one set each
w0=$(wakeups)
n1 wg set "$IFA" "${args[@]}"
check_eq "a has $N UDP peers and the TCP one" $((N + 1)) npeers
check "adding $N UDP peers with endpoints did not wake the TCP thread" \
	few_wakeups "$w0" "the add"

w0=$(wakeups)
for ((i = 0; i < CHURN; i++)); do
	n1 wg set "$IFA" peer "${KEYS[$i]}" endpoint "192.0.2.201:$((30000 + i))"
done
check_eq "the moved endpoint is in place" "192.0.2.201:30000" \
	peer_field "$NS1" "$IFA" "${KEYS[0]}" endpoint
check "$CHURN endpoint changes of UDP peers, one wg set each, did not wake it" \
	few_wakeups "$w0" "the endpoint changes"

w0=$(wakeups)
for ((i = 0; i < CHURN; i++)); do
	n1 wg set "$IFA" peer "${KEYS[$i]}" remove
done
check_eq "a has $((N - CHURN)) UDP peers and the TCP one" $((N - CHURN + 1)) npeers
check "$CHURN removals of UDP peers, one wg set each, did not wake it" \
	few_wakeups "$w0" "the removals"

check "the TCP peer still answers after the churn" ping_until "$NS1" 10 10.89.0.2

w0=$(wakeups)
args=()
for ((i = CHURN; i < N; i++)); do
	args+=(peer "${KEYS[$i]}" remove)
done
n1 wg set "$IFA" "${args[@]}"
check_eq "the other UDP peers are gone" 1 npeers
check "removing $((N - CHURN)) UDP peers in one set did not wake it" \
	few_wakeups "$w0" "the bulk removal"

# ---- the TCP peer: its removal wakes the thread, which closes its connection
w0=$(wakeups)
n1 wg set "$IFA" peer "$(pub_of b)" remove
check "removing the TCP peer woke the TCP thread" woke_since "$w0"
check "and its connection closed within 2 s" wait_for "the connection to close" 2 no_conn_to_b
tcp_peer_b
check "added back, the TCP peer answers over a new connection" ping_until "$NS1" 20 10.89.0.2
check_eq "a has one TCP connection to b again" 1 conns_to_b
