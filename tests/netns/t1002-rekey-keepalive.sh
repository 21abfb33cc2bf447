#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Timers: a ping running across REKEY_AFTER_TIME (120 s) loses nothing while the initiator
# rekeys, against a second daemon under test and against wireguard-go at the same time; the
# passive keepalive (10 s after data received) and the persistent keepalive are sent.
#
#   tapir-$$-1                                   tapir-$$-2
#   +------------------------------+             +------------------------------+
#   | tk$$a 10.78.0.1  IMPL  :51811 |------------| tk$$b 10.78.0.2  IMPL  :51812 |
#   | tk$$c 10.79.0.1  IMPL  :51813 |------------| tk$$d 10.79.0.2  WGGO  :51814 |
#   | veth1 192.0.2.1/24           |=============| veth2 192.0.2.2/24           |
#   +------------------------------+             +------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

plan 10

WGGO=$(resolve_impl "$WGGO") || bail_out "wireguard-go not found"
IFA="tk$$a"
IFB="tk$$b"
IFC="tk$$c"
IFD="tk$$d"
setup_underlay
for k in a b c d; do keygen $k; done
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
start_daemon "$NS1" "$IMPL" "$IFC"
start_daemon "$NS2" "$WGGO" "$IFD"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51811 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51812 allowed-ips 10.78.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51812 \
	peer "$(pub_of a)" allowed-ips 10.78.0.1/32
n1 wg set "$IFC" private-key "$(key_of c)" listen-port 51813 \
	peer "$(pub_of d)" endpoint 192.0.2.2:51814 allowed-ips 10.79.0.2/32
n2 wg set "$IFD" private-key "$(key_of d)" listen-port 51814 \
	peer "$(pub_of c)" allowed-ips 10.79.0.1/32
addr_up "$NS1" "$IFA" 10.78.0.1/24
addr_up "$NS2" "$IFB" 10.78.0.2/24
addr_up "$NS1" "$IFC" 10.79.0.1/24
addr_up "$NS2" "$IFD" 10.79.0.2/24

check "a -> b ping before rekey" ping_ok "$NS1" 10.78.0.2
check "c -> d ping before rekey" ping_ok "$NS1" 10.79.0.2
hs_ab=$(peer_field "$NS1" "$IFA" "$(pub_of b)" handshake)
hs_cd=$(peer_field "$NS1" "$IFC" "$(pub_of d)" handshake)

# 650 pings at 0.2 s = 130 s, past the 120 s rekey of the initiator's session
n1 timeout 150 ping -q -c 650 -i 0.2 -W 2 10.78.0.2 >"$T/ping_ab" 2>&1 &
pa=$!
n1 timeout 150 ping -q -c 650 -i 0.2 -W 2 10.79.0.2 >"$T/ping_cd" 2>&1 &
pc=$!
track_pid "$pa"
track_pid "$pc"
wait "$pa" || true
wait "$pc" || true
diag_file "$T/ping_ab"
diag_file "$T/ping_cd"
check "a -> b: 650 pings across the rekey, none lost" grep -q " 650 received, 0% packet loss" "$T/ping_ab"
check "c -> wireguard-go: 650 pings across the rekey, none lost" \
	grep -q " 650 received, 0% packet loss" "$T/ping_cd"
check "a rekeyed with b (handshake time moved)" \
	eval '[ "$(peer_field "$NS1" "$IFA" "$(pub_of b)" handshake)" -gt "$hs_ab" ]'
check "c rekeyed with wireguard-go (handshake time moved)" \
	eval '[ "$(peer_field "$NS1" "$IFC" "$(pub_of d)" handshake)" -gt "$hs_cd" ]'

# passive keepalive: b receives one UDP datagram (a listener takes it, nothing answers) and
# sends nothing back for 10 s -> exactly one 32-byte keepalive
n2 timeout 30 socat -u UDP-RECV:9999 /dev/null &
track_pid $!
sleep 0.5
tx0=$(peer_field "$NS2" "$IFB" "$(pub_of a)" tx)
n1 timeout 5 socat -u - UDP-SENDTO:10.78.0.2:9999 <<<"one-way"
sleep 1
tx_early=$(peer_field "$NS2" "$IFB" "$(pub_of a)" tx)
sleep 11
tx1=$(peer_field "$NS2" "$IFB" "$(pub_of a)" tx)
diag "b tx before / 1 s after / 12 s after the datagram: $tx0 $tx_early $tx1"
check "b sent one passive keepalive (32 bytes) ~10 s after the last data" \
	eval '[ "$tx_early" -eq "$tx0" ] && [ $((tx1 - tx0)) -eq 32 ]'
sleep 11
tx2=$(peer_field "$NS2" "$IFB" "$(pub_of a)" tx)
check "no keepalive ping-pong afterwards" eval '[ "$tx2" -eq "$tx1" ]'

# persistent keepalive every 2 s
n1 wg set "$IFA" peer "$(pub_of b)" persistent-keepalive 2
rx0=$(peer_field "$NS2" "$IFB" "$(pub_of a)" rx)
sleep 7
rx1=$(peer_field "$NS2" "$IFB" "$(pub_of a)" rx)
diag "b rx over 7 s with a persistent keepalive of 2 s: $((rx1 - rx0)) bytes"
check "persistent keepalive: 3 or 4 keepalives of 32 bytes in 7 s" \
	eval '[ $((rx1 - rx0)) -ge 96 ] && [ $((rx1 - rx0)) -le 128 ] && [ $(((rx1 - rx0) % 32)) -eq 0 ]'
n1 wg set "$IFA" peer "$(pub_of b)" persistent-keepalive off
check_eq "persistent keepalive can be turned off" "off" peer_field "$NS1" "$IFA" "$(pub_of b)" keepalive
