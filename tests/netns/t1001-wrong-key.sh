#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Handshake: a peer with the wrong public key gets nothing through, in both directions of the
# mistake; then, with the right keys, the same setup works (so the failures mean something).
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tw$$a  10.77.0.1/24  IMPL     |                     | tw$$b  10.77.0.2/24  IMPL     |
#   |  1: peer x (not b's key)      |                     |  1: peer a                    |
#   |  2: peer b                    |                     |  2: peer y (not a's key)      |
#   |  3: peer b                    |                     |  3: peer a                    |
#   |  endpoint 192.0.2.2:51802     |                     |  no endpoint                  |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

plan 12

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
for k in a b x y; do
	keygen "$k"
done
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51801
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51802
addr_up "$NS1" "$IFA" 10.77.0.1/24
addr_up "$NS2" "$IFB" 10.77.0.2/24

rx_zero()
{
	local rx
	rx=$(peer_field "$@" rx) || return 1
	echo "rx $rx"
	[ "$rx" -eq 0 ]
}

udp_grew()
{
	local now
	now=$(udp_in "$1")
	echo "UDP datagrams received in $1: before $2, now $now"
	[ "$now" -gt "$2" ]
}

# 1. a has b's address but the wrong key for it: b cannot even verify mac1.
n1 wg set "$IFA" peer "$(pub_of x)" endpoint 192.0.2.2:51802 allowed-ips 10.77.0.2/32
n2 wg set "$IFB" peer "$(pub_of a)" allowed-ips 10.77.0.1/32
udp_before=$(udp_in "$NS2")
check_fails "a's peer key is not b's: ping fails" ping_ok "$NS1" 10.77.0.2
check "b's daemon did receive a's initiations" udp_grew "$NS2" "$udp_before"
check "a: no handshake with the wrong key" handshake_never "$NS1" "$IFA" "$(pub_of x)"
check "b: no handshake with a" handshake_never "$NS2" "$IFB" "$(pub_of a)"
check "b: nothing received from a" rx_zero "$NS2" "$IFB" "$(pub_of a)"

# 2. a is right about b, but b does not know a's key: b drops a's initiation.
n1 wg set "$IFA" peer "$(pub_of x)" remove \
	peer "$(pub_of b)" endpoint 192.0.2.2:51802 allowed-ips 10.77.0.2/32
n2 wg set "$IFB" peer "$(pub_of a)" remove peer "$(pub_of y)" allowed-ips 10.77.0.1/32
udp_before=$(udp_in "$NS2")
check_fails "b's peer key is not a's: ping fails" ping_ok "$NS1" 10.77.0.2
check "b's daemon did receive a's initiations" udp_grew "$NS2" "$udp_before"
check "a: no handshake with b" handshake_never "$NS1" "$IFA" "$(pub_of b)"
check "b: no handshake with the wrong key" handshake_never "$NS2" "$IFB" "$(pub_of y)"
check "b: nothing received from the wrong key" rx_zero "$NS2" "$IFB" "$(pub_of y)"

# 3. control: the right keys on both sides.
n2 wg set "$IFB" peer "$(pub_of y)" remove peer "$(pub_of a)" allowed-ips 10.77.0.1/32
check "right keys: ping works (within 20 s)" \
	wait_for "a ping answer" 20 n1 timeout 3 ping -c 1 -W 1 10.77.0.2
check "right keys: a and b report a handshake" \
	eval 'handshake_done "$NS1" "$IFA" "$(pub_of b)" && handshake_done "$NS2" "$IFB" "$(pub_of a)"'
