#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN: the interface moved to another namespace and back. tapird (no capability) reads the
# MTU by name at home and asks its privileged helper while the interface is away; back home
# it reads it by name again, and a second move away and a deletion there are followed too.
#
#   tapir-$$-3 (B)                  tapir-$$-1 (A)                  tapir-$$-2
#   +------------------------+      +------------------------+      +------------------------+
#   | tw$$a, moved in from A |      | IMPL for tw$$a, UDP    |      | tw$$b 10.78.0.2/24     |
#   |   twice, deleted at    |      |   port 51871 stays;    |      |   IMPL, port 51872     |
#   |   the end              |      |   tw$$a back: 10.78.0.1|      |                        |
#   |                        |      | veth1 192.0.2.1/24     |======| veth2 192.0.2.2/24     |
#   +------------------------+      +------------------------+      +------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

plan 9

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
add_ns 3
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51871 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51872 allowed-ips 10.78.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51872 \
	peer "$(pub_of a)" allowed-ips 10.78.0.1/32
addr_up "$NS2" "$IFB" 10.78.0.2/24

running() { alive "$1" && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }
# the padding rule (as in t0006): a 1297-byte inner packet pads to 1300 under MTU 1300 and to
# 1312 under 1400 or more; one echo request adds 16 + that + 16 bytes to tx (+32: keepalive)
tx_delta_of_one_ping()
{
	local before after
	before=$(peer_field "$NS1" "$IFA" "$(pub_of b)" tx)
	ip netns exec "$1" timeout 5 ping -c 1 -W 2 -s 1269 10.78.0.2 >/dev/null
	after=$(peer_field "$NS1" "$IFA" "$(pub_of b)" tx)
	echo "tx grew by $((after - before))"
	[ $((after - before)) -eq "$2" ] || [ $((after - before)) -eq $(($2 + 32)) ]
}
logged() { grep -qF "$1" "$T/$IFA.log"; }

pretty "$NS1" "ip link set $IFA netns $NS3"
ip1 link set "$IFA" netns "$NS3"
check "moved to B: the daemon knows it is away" \
	wait_for "the move to be noticed" 3 logged "interface is in another network namespace now"
pretty "$NS3" "ip link set $IFA netns $NS1"
ip -n "$NS3" link set "$IFA" netns "$NS1"
check "moved back to A: the daemon knows it is home" \
	wait_for "the return to be noticed" 3 logged "interface is back in this network namespace"
check "and keeps running" running "${DAEMON_PID[$IFA]}"
ip1 link set "$IFA" mtu 1300
addr_up "$NS1" "$IFA" 10.78.0.1/24
check "back home: the tunnel works" ping_until "$NS1" 10 10.78.0.2
check "back home: the MTU set in A is the one the daemon pads to" \
	wait_for "padding to MTU 1300" 3 tx_delta_of_one_ping "$NS1" 1332

pretty "$NS1" "ip link set $IFA netns $NS3; ip link set $IFA mtu 1400 (in B)"
ip1 link set "$IFA" netns "$NS3"
addr_up "$NS3" "$IFA" 10.78.0.1/24
ip -n "$NS3" link set "$IFA" mtu 1400
check "away again: the tunnel works in B" ping_until "$NS3" 10 10.78.0.2
check "away again: the MTU set in B is the one the daemon pads to" \
	wait_for "padding to MTU 1400" 3 tx_delta_of_one_ping "$NS3" 1344

pretty "$NS3" "ip link del $IFA"
ip -n "$NS3" link del "$IFA"
check "deleted in B: the daemon exits" \
	wait_for "the daemon to exit" 10 dead "${DAEMON_PID[$IFA]}"
check_eq "deleted in B: exit status 0" 0 wait_exit "${DAEMON_PID[$IFA]}"
