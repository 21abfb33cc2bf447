#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN: the interface moved to another namespace (ip link set IF netns B, WireGuard's
# "namespace integration"). The daemon keeps running with its UDP socket where it was (A),
# the tunnel carries traffic for B, an MTU set in B is the one the daemon pads to (and not
# that of an interface of the same name in A), a deletion in A of that other interface does
# not stop it; moved on from B to C, it still works and follows the MTU there, and deleting it
# in C stops the daemon cleanly.
#
#   tapir-$$-3 (B)                  tapir-$$-1 (A)                  tapir-$$-2
#   +------------------------+      +------------------------+      +------------------------+
#   | tw$$a 10.78.0.1/24     |      | IMPL for tw$$a (created |      | tw$$b 10.78.0.2/24     |
#   |       fd78::1/64       |      |   here, then moved to B)|      |       fd78::2/64       |
#   |   (moved in from A)    |      |   UDP port 51861 stays  |      |   IMPL, port 51862     |
#   |                        |      | tw$$a: a veth, MTU 9000 |      |                        |
#   |                        |      | veth1 192.0.2.1/24      |======| veth2 192.0.2.2/24     |
#   +------------------------+      +------------------------+      +------------------------+
#   then tw$$a moves on from B to C (tapir-$$-4, 10.78.0.1/24), where it is deleted at the end
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds ss

plan 20

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
add_ns 3
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51861 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51862 allowed-ips 10.78.0.2/32,fd78::2/128
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51862 \
	peer "$(pub_of a)" allowed-ips 10.78.0.1/32,fd78::1/128
addr_up "$NS2" "$IFB" 10.78.0.2/24 fd78::2/64

# running PID: the daemon has not exited (alive also accepts an exited child not reaped yet)
running() { alive "$1" && [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f1)" != Z ]; }

pretty "$NS1" "ip link set $IFA netns $NS3"
ip1 link set "$IFA" netns "$NS3"
sleep 1
check "moved: the daemon keeps running" running "${DAEMON_PID[$IFA]}"
check "moved: the interface is in B" ip -n "$NS3" link show "$IFA"
check_fails "moved: and no longer in A" ip1 link show "$IFA"
check "moved: the UAPI socket answers" eval 'printf "get=1\n\n" | uapi "$IFA" | grep -qx errno=0'

addr_up "$NS3" "$IFA" 10.78.0.1/24 fd78::1/64
check "B reaches the peer through the tunnel (IPv4)" ping_until "$NS3" 10 10.78.0.2
check "B reaches the peer through the tunnel (IPv6)" ping_ok "$NS3" fd78::2
check "the peer reaches B through the tunnel" ping_ok "$NS2" 10.78.0.1
udp_bound() { ip netns exec "$1" ss -Hlun "sport = :51861" | grep -q .; }
check "the UDP socket stays in A" udp_bound "$NS1"
check_fails "and is not in B" udp_bound "$NS3"
check_eq "the peer sees the endpoint in A" "192.0.2.1:51861" \
	peer_field "$NS2" "$IFB" "$(pub_of a)" endpoint

# An interface of the same name in A: whoever looks the name up in A finds this one.
pretty "$NS1" "ip link add $IFA type veth peer name tx$$; ip link set $IFA mtu 9000"
ip1 link add "$IFA" type veth peer name "tx$$"
ip1 link set "$IFA" mtu 9000
pretty "$NS3" "ip link set $IFA mtu 1300"
ip -n "$NS3" link set "$IFA" mtu 1300
# The padding rule (wireguard-protocol.md 5.4.6) shows the MTU the daemon uses: an inner
# packet of 1297 bytes pads to 1312 under MTU 1420 or 9000 but to 1300 under MTU 1300, so
# one echo request adds 16 + 1300 + 16 = 1332 bytes to tx (or 1364 with a keepalive).
# tx_delta_of_one_ping NS WANT: one echo request from NS adds WANT bytes to tx
tx_delta_of_one_ping()
{
	local before after
	before=$(peer_field "$NS1" "$IFA" "$(pub_of b)" tx)
	ip netns exec "$1" timeout 5 ping -c 1 -W 2 -s 1269 10.78.0.2 >/dev/null
	after=$(peer_field "$NS1" "$IFA" "$(pub_of b)" tx)
	echo "tx grew by $((after - before))"
	[ $((after - before)) -eq "$2" ] || [ $((after - before)) -eq $(($2 + 32)) ]
}
# the daemon reads the MTU every 50 ms: retry a few times in case the change is not seen yet
check "the MTU set in B is the one the daemon pads to" \
	wait_for "padding to MTU 1300" 3 tx_delta_of_one_ping "$NS3" 1332
pretty "$NS1" "ip link del $IFA (the veth)"
ip1 link del "$IFA"
sleep 0.5
check "deleting the other $IFA in A does not stop the daemon" running "${DAEMON_PID[$IFA]}"

# On to C, a namespace that A knows by no id yet (the kernel gave B one at the first move):
# the daemon hears nothing of this move and finds the device by its queue fd.
add_ns 4
NS4="tapir-$$-4"
a_knows() { ip1 netns list-id | grep -qF "name: $1)"; }
check "A knows B by an id (the kernel gave it one at the move)" a_knows "$NS3"
check_fails "A knows C by no id" a_knows "$NS4"
pretty "$NS3" "ip link set $IFA netns $NS4"
ip -n "$NS3" link set "$IFA" netns "$NS4"
addr_up "$NS4" "$IFA" 10.78.0.1/24
ip -n "$NS4" link set "$IFA" mtu 1400
check "moved on to C: the tunnel works there" ping_until "$NS4" 10 10.78.0.2
check "the daemon had the kernel give C an id in A" a_knows "$NS4"
# MTU 1400: the 1297-byte packet pads to 1312 again, 16 + 1312 + 16 = 1344 bytes
check "the MTU set in C is the one the daemon pads to" \
	wait_for "padding to MTU 1400" 3 tx_delta_of_one_ping "$NS4" 1344

pretty "$NS4" "ip link del $IFA"
ip -n "$NS4" link del "$IFA"
check "deleted in C: the daemon exits" \
	wait_for "the daemon to exit" 10 dead "${DAEMON_PID[$IFA]}"
check_eq "deleted in C: exit status 0" 0 wait_exit "${DAEMON_PID[$IFA]}"
check "deleted in C: the UAPI socket is removed" eval '[ ! -e "$(sock_of "$IFA")" ]'
