#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP (L2) mode, star topology: host1 is a hub (tapir_forward=true, `Forward = on` in a config
# file); host2 and host3 know only the hub. Their VMs reach each other through it, and stop
# doing so when forwarding is switched off (off is the default).
#
#   vm2 -- [br0]-tt$$2 (host2) --.                       .-- (host3) tt$$3-[br0] -- vm3
#                                 >---- tt$$1 (host1, hub) ----<
#   vm1 -- [br0]-tt$$1 -----------'  all hosts on the underlay bridge in ns 7
set -eu
. "$(dirname "$0")/lib.sh"

plan 7

setup_tap_hosts
hex() { b64_to_hex "$(pub_of "$1")"; }
nx 1 wg set "tt$$1" private-key "$(key_of h1)" listen-port 51801 \
	peer "$(pub_of h2)" endpoint 192.0.2.2:51802 peer "$(pub_of h3)" endpoint 192.0.2.3:51803
for n in 2 3; do
	nx $n wg set "tt$$$n" private-key "$(key_of h$n)" listen-port 5180$n \
		peer "$(pub_of h1)" endpoint 192.0.2.1:51801
done
# first contact may need a handshake retry (5 s) when both hosts initiate at once
vm_ping() { ping_until "tapir-$$-$1" 15 "$2"; }
vm_ping_short() { nx "$1" timeout 8 ping -c 2 -i 0.3 -W 3 "$2" >/dev/null; }
get_ext() { printf 'get=tapir\n\n' | uapi "tt$$1"; }

check_eq "forwarding is off by default" "tapir_forward=false" eval 'get_ext | grep "^tapir_forward="'
check "spokes reach the hub's VM: vm2 pings vm1" vm_ping 5 10.80.0.1
check "vm3 pings vm1" vm_ping 6 10.80.0.1
check_fails "without forwarding, vm2 does not reach vm3" vm_ping_short 5 10.80.0.3
check_eq "the hub switches forwarding on" "errno=0" \
	eval 'printf "set=1\ntapir_forward=true\n\n" | uapi "tt$$1"'
check "through the hub, vm2 pings vm3" vm_ping 5 10.80.0.3
check "and vm3 pings vm2 over IPv6" vm_ping 6 fd80::2
