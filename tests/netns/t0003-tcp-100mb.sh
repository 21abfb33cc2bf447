#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN: 100 MB of random data over one TCP connection through the tunnel, checked byte for byte.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | nc -N 10.77.0.2 5001 < file   |                     | nc -l 10.77.0.2 5001 > copy   |
#   | tw$$a  10.77.0.1/24           |                     | tw$$b  10.77.0.2/24           |
#   |   IMPL, port 51801, PSK       |                     |   IMPL, port 51802, PSK       |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds nc ss

plan 5

SIZE=$((100 * 1024 * 1024))
IFA="tw$$a"
IFB="tw$$b"
setup_underlay
keygen a
keygen b
pskgen ab
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51801 \
	peer "$(pub_of b)" preshared-key "$(psk_of ab)" endpoint 192.0.2.2:51802 \
	allowed-ips 10.77.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51802 \
	peer "$(pub_of a)" preshared-key "$(psk_of ab)" allowed-ips 10.77.0.1/32
addr_up "$NS1" "$IFA" 10.77.0.1/24
addr_up "$NS2" "$IFB" 10.77.0.2/24

head -c "$SIZE" /dev/urandom >"$T/data"
want=$(sha_of "$T/data")

check "ping 10.77.0.2 from a" ping_ok "$NS1" 10.77.0.2
start=${EPOCHREALTIME/./}
check "100 MB sent a -> b over TCP within 120 s" \
	tcp_transfer "$NS1" "$NS2" 10.77.0.2 5001 "$T/data" 120
end=${EPOCHREALTIME/./}
diag "transfer took $(((end - start) / 1000)) ms"
check_eq "received size is $SIZE bytes" "$SIZE" size_of "$T/recv.5001"
check_eq "received sha256 matches" "$want" sha_of "$T/recv.5001"
rx_at_least()
{
	local rx
	rx=$(peer_field "$NS2" "$IFB" "$(pub_of a)" rx) || return 1
	echo "rx $rx"
	[ "$rx" -ge "$SIZE" ]
}
check "b: rx counter for a is at least $SIZE bytes" rx_at_least
