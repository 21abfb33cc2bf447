#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A staged packet whose send fails is counted once, as send_error (issue 17): a's first ping
# waits in the staged ring for the handshake; when the response arrives the ring goes out, and
# a's nftables output chain refuses every transport data message (type 4) to b, so sendmsg
# fails (EPERM). Handshake messages pass. Before the fix that drop was counted a second time,
# as no_endpoint, although the peer has one.
#
#   tapir-$$-1                                   tapir-$$-2
#   | tw$$a 10.81.0.1/24, port 51881 |           | tw$$b 10.81.0.2/24, port 51882 |
#   |  output: udp dport 51882 and   |           |                                |
#   |  payload byte 0 = 4: drop      |           |                                |
#   | veth1 192.0.2.1/24             |===========| veth2 192.0.2.2/24             |
set -eu
. "$(dirname "$0")/lib.sh"
require_tapird_extension "the drop counters"
require_cmds nft

plan 5

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51881 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51882 allowed-ips 10.81.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51882 \
	peer "$(pub_of a)" allowed-ips 10.81.0.1/32
addr_up "$NS1" "$IFA" 10.81.0.1/24
addr_up "$NS2" "$IFB" 10.81.0.2/24

# @th,64,8: the first byte of the UDP payload, the message type
n1 nft -f - <<'NFT'
table inet tapirtest {
	chain out { type filter hook output priority 0; udp dport 51882 @th,64,8 4 counter drop; }
}
NFT

drops() { show_stat "$NS1" "$IFA" drops "$1" | grep . || echo 0; }
data_blocked() { n1 nft list chain inet tapirtest out | grep -Eo 'packets [0-9]+' | awk '{ print $2 }'; }
both_drops() { echo "$(drops send_error) $(drops no_endpoint)"; }
firewall_hit() { [ "$(data_blocked)" -ge 1 ]; }
send_error_counted() { [ "$(drops send_error)" -ge 1 ]; }

check_eq "no drops before" "0 0" both_drops
n1 timeout 10 ping -n -c 1 -W 3 10.81.0.2 >/dev/null 2>&1 || true
check "the handshake completed (the ping was staged for it)" \
	wait_for "a's handshake with b" 10 handshake_done "$NS1" "$IFA" "$(pub_of b)"
check "the firewall refused a's data messages" firewall_hit
diag "send_error $(drops send_error), no_endpoint $(drops no_endpoint)"
check "the failed staged send is counted as send_error" send_error_counted
check_eq "and not as no_endpoint: the peer has one" 0 drops no_endpoint
