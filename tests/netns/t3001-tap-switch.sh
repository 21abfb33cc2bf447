#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP (L2) mode: three hosts, each running tapird --mode tap with its TAP device in a Linux
# bridge, and a "VM" namespace per host on that bridge; the VMs share one IPv4 /24 and one
# IPv6 /64 across the hosts. Checks ARP/ND across hosts, pings between every pair, a
# broadcast reaching all, learning (a unicast flow is not sent to the third host), a byte-exact
# TCP transfer, a pinned MAC rejecting a spoofed source, and the mismatch log line against a
# wireguard-go peer.
#
#   vm1 (ns 4)          vm2 (ns 5)          vm3 (ns 6)        10.80.0.N/24 fd80::N/64
#     | veth              | veth              | veth
#   [br0]-tt$$1         [br0]-tt$$2         [br0]-tt$$3       host N = ns N, tapird --mode tap
#   host1 (ns 1)        host2 (ns 2)        host3 (ns 3)      underlay 192.0.2.N/24 (hN)
#      \___________________|___________________/
#                    [ubr] switch (ns 7)
set -eu
. "$(dirname "$0")/lib.sh"

plan 14

WGGO=$(resolve_impl "$WGGO") || bail_out "wireguard-go not found"
nx() { local n=$1; shift; ip netns exec "tapir-$$-$n" "$@"; }
ipx() { local n=$1; shift; ip -n "tapir-$$-$n" "$@"; }

# tapird in tap mode, started through lib.sh's start_daemon (exec keeps the PID)
printf '#!/bin/sh\nexec "%s" --mode tap "$@"\n' "$IMPL" >"$T/tapird-tap"
chmod +x "$T/tapird-tap"

for n in 1 2 3 4 5 6 7; do add_ns $n; done
ipx 7 link add ubr type bridge
ipx 7 link set ubr up
for n in 1 2 3; do
	ip link add h$n netns "tapir-$$-$n" type veth peer name u$n netns "tapir-$$-7"
	ipx 7 link set u$n master ubr
	ipx 7 link set u$n up
	ipx $n addr add 192.0.2.$n/24 dev h$n
	ipx $n link set h$n up
	keygen h$n
	start_daemon "tapir-$$-$n" "$T/tapird-tap" "tt$$$n"
	ipx $n link add br0 type bridge
	ipx $n link set "tt$$$n" master br0
	vm=$((n + 3))
	ip link add hv$n netns "tapir-$$-$n" type veth peer name vm netns "tapir-$$-$vm"
	ipx $n link set hv$n master br0
	# the VMs' MTU matches the TAP's (1400 by default: a full frame fits the underlay)
	ipx $n link set hv$n mtu 1400
	ipx $vm link set vm mtu 1400
	for l in hv$n "tt$$$n" br0; do ipx $n link set $l up; done
	ipx $vm addr add 10.80.0.$n/24 dev vm
	ipx $vm -6 addr add fd80::$n/64 dev vm nodad
	ipx $vm link set vm up
	nx $vm sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
done
for n in 1 2 3; do
	args=(private-key "$(key_of h$n)" listen-port 5180$n)
	for m in 1 2 3; do
		[ $m -eq $n ] && continue
		args+=(peer "$(pub_of h$m)" endpoint 192.0.2.$m:5180$m)
	done
	nx $n wg set "tt$$$n" "${args[@]}"
done

vm_ping() { nx "$1" timeout 15 ping -c 2 -i 0.3 -W 3 "$2" >/dev/null; }
check "ARP across hosts: vm1 pings vm2" vm_ping 4 10.80.0.2
check "vm1 pings vm3" vm_ping 4 10.80.0.3
check "vm2 pings vm3" vm_ping 5 10.80.0.3
check "vm3 pings vm1" vm_ping 6 10.80.0.1
check "IPv6 neighbour discovery across hosts: vm1 pings fd80::3" vm_ping 4 fd80::3
check "IPv6: vm2 pings fd80::1" vm_ping 5 fd80::1

nx 4 timeout 10 ping -b -c 3 -i 0.3 -W 2 10.80.0.255 >"$T/bcast" 2>&1 || true
diag_file "$T/bcast"
check "a broadcast from vm1 reaches vm2 and vm3" \
	eval 'grep -q "from 10.80.0.2" "$T/bcast" && grep -q "from 10.80.0.3" "$T/bcast"'

# learning: after the MACs are known, vm1 <-> vm2 traffic is not sent to host3
rx3_before=$(peer_field "tapir-$$-3" "tt$$3" "$(pub_of h1)" rx)
nx 4 timeout 20 ping -q -c 30 -i 0.1 -W 2 10.80.0.2 >/dev/null
rx3_after=$(peer_field "tapir-$$-3" "tt$$3" "$(pub_of h1)" rx)
diag "host3 rx from host1 during 30 unicast pings vm1->vm2: $((rx3_after - rx3_before)) bytes"
check "learned unicast is not flooded to the third host" \
	eval '[ $((rx3_after - rx3_before)) -lt 500 ]'

head -c 100000000 /dev/urandom >"$T/data"
check "100 MB over TCP vm1 -> vm3 through the L2 tunnel" \
	tcp_transfer "tapir-$$-4" "tapir-$$-6" 10.80.0.3 5001 "$T/data" 120
check_eq "the 100 MB arrive byte for byte" "$(sha_of "$T/data")" sha_of "$T/recv.5001"
rm -f "$T/data" "$T/recv.5001"

# pinned MAC: host2 accepts from host1 only a MAC that vm1 does not have
printf 'set=1\npublic_key=%s\ntapir_mac=02:00:00:00:00:99\n\n' "$(b64_to_hex "$(pub_of h1)")" |
	uapi "tt$$2" >"$T/pin.reply"
check_eq "tapird accepts the tapir_mac extension key" "errno=0" cat "$T/pin.reply"
ipx 5 neigh flush dev vm
ipx 4 neigh flush dev vm
check_fails "a spoofed (not pinned) source MAC gets nothing through" vm_ping 4 10.80.0.2
printf 'get=tapir\n\n' | uapi "tt$$2" >"$T/get2"
check "the rejected frames are counted (tapir_drop_mac_rejected > 0)" \
	eval 'grep -Eq "^tapir_drop_mac_rejected=[1-9]" "$T/get2"'

# a stock WireGuard peer never announces L2: host1 names it once in its log
keygen g
ipx 7 addr add 192.0.2.7/24 dev ubr
start_daemon "tapir-$$-7" "$WGGO" "tg$$"
nx 7 wg set "tg$$" private-key "$(key_of g)" listen-port 51807 peer "$(pub_of h1)" \
	allowed-ips 10.81.0.0/24
nx 1 wg set "tt$$1" peer "$(pub_of g)" endpoint 192.0.2.7:51807
nx 4 timeout 10 ping -b -c 4 -i 0.5 -W 1 10.80.0.255 >/dev/null 2>&1 || true
mismatch_logged() { grep -q "has not announced tapir L2 frames" "$T/tt$$1.log"; }
check "tap mode against wireguard-go: the mismatch is logged, naming the peer" \
	wait_for "the mismatch line" 10 mismatch_logged
