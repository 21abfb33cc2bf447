#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Containers on two mesh hosts reach each other through tapir (issue 16), set up as the CNI
# `bridge` plugin with `host-local` IPAM on subnet.env's SUBNET would (README, "Many hosts"):
# a bridge cni0 holding the subnet's first address as gateway, a container namespace behind a
# veth with an address from the subnet and a default route via the gateway, forwarding on.
# Checks: container to container both ways, container to the other host; with forwarding off
# on the far host, its container is out of reach (the path goes through it).
# Then the same on a tap network (hosts 3 and 4, tapird --mode tap): the hosts share one
# Ethernet segment, so a host ARPs for the other host's container on it and that host answers
# by proxy ARP, which its agent turned on. Checks: proxy ARP on; containers reach each other
# both ways; with proxy ARP off on host 4 and host 3's neighbours flushed, container 4 is out
# of reach.
#
#   c1 (tapir-$$-5)        tapir-$$-1                tapir-$$-9        tapir-$$-2        c2 (tapir-$$-6)
#   10.80.S1.10 --veth-- cni0 10.80.S1.1/24          etcd, bridge      cni0 10.80.S2.1/24 --veth-- 10.80.S2.10
#                        tm$$1 10.80.S1.1/32 ======= mbr ============= tm$$2 10.80.S2.1/32
#   c3 (tapir-$$-7), c4 (tapir-$$-8): as c1, c2 behind hosts 3 and 4, whose TAPs hold
#   10.81.S.1/16 (one segment; MTU 1403)
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl
"$CLI" mesh --help >/dev/null 2>&1 || skip_all "this tapir has no mesh command"

plan 10

NET=t7005
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2; do add_host "$n"; done
check "init" hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.80.0.0/16 \
	--keepalive 0
for n in 1 2; do join "$n"; done

# container N+4 behind host N, from subnet.env as a CNI plugin reads it
container()
{
	local n=$1 c=$(($1 + 4)) sub gw
	# shellcheck disable=SC1090
	sub=$(. "$T/s$n/subnet.env" && echo "$SUBNET")
	gw=${sub%/*}
	add_ns "$c"
	ipx "$n" link add cni0 type bridge
	ipx "$n" addr add "$sub" dev cni0
	ipx "$n" link set cni0 up
	ip link add veth0 netns "tapir-$$-$c" type veth peer name "vc$n" netns "tapir-$$-$n"
	ipx "$n" link set "vc$n" master cni0
	ipx "$n" link set "vc$n" up
	ipx "$c" addr add "${gw%.1}.10/${sub#*/}" dev veth0
	ipx "$c" link set veth0 up
	ipx "$c" route add default via "$gw"
	nx "$n" sysctl -qw net.ipv4.ip_forward=1
}
container 1
container 2
# container_addr N: the address container() gave the container behind host N
container_addr() { sed -n 's/^SUBNET=\(.*\)\.1\/.*/\1.10/p' "$T/s$1/subnet.env"; }
c1=$(container_addr 1)
c2=$(container_addr 2)
cping() { ip netns exec "tapir-$$-$1" timeout 10 ping -c 2 -i 0.3 -W 2 "$2"; }
# creach C ADDR: container C reaches ADDR within 12 s. The first packet between two hosts may
# meet their first handshake crossing one from the other side (in tap mode a TAP coming up
# floods IPv6 multicast at once): each answers the other's initiation, neither response
# then matches, and the session comes with the retry after REKEY_TIMEOUT (5 s), as in
# kernel WireGuard. A bound, not one ping.
creach()
{
	local i
	for ((i = 0; i < 12; i++)); do
		ip netns exec "tapir-$$-$1" ping -c 1 -W 1 "$2" && return 0
	done
	return 1
}

check "container 1 reaches container 2 ($c1 -> $c2)" creach 5 "$c2"
check "container 2 reaches container 1" cping 6 "$c1"
check "container 1 reaches host 2's overlay address" cping 5 "$(addr_of 2)"
nx 2 sysctl -qw net.ipv4.ip_forward=0
check_fails "with forwarding off on host 2, container 2 is out of reach" cping 5 "$c2"
nx 2 sysctl -qw net.ipv4.ip_forward=1

# ---------------------------------------------------------------- a tap network

NET=t7005tap
TAPD=$(tap_daemon)
for n in 3 4; do add_host "$n" "$TAPD"; done
check "init a tap network" hx 3 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --mode tap \
	--cidr 10.81.0.0/16 --keepalive 0
for n in 3 4; do join "$n"; done
# proxy_arp_state: proxy_arp and proxy_delay of the TAPs of hosts 3 and 4, on one line
proxy_arp_state()
{
	local h
	for h in 3 4; do
		nx "$h" sysctl -n "net.ipv4.conf.tm$$$h.proxy_arp" "net.ipv4.neigh.tm$$$h.proxy_delay"
	done | tr '\n' ' ' | sed 's/ $//'
}
check_eq "the agents turned proxy ARP on, with no delay, on the TAPs" "1 0 1 0" proxy_arp_state
container 3
container 4
c3=$(container_addr 3)
c4=$(container_addr 4)
check "tap: container 3 reaches container 4 ($c3 -> $c4)" creach 7 "$c4"
check "tap: container 4 reaches container 3" cping 8 "$c3"
nx 4 sysctl -qw "net.ipv4.conf.tm$$4.proxy_arp=0"
ipx 3 neigh flush dev "tm$$3"
check_fails "tap: with proxy ARP off on host 4, container 4 is out of reach" cping 7 "$c4"
