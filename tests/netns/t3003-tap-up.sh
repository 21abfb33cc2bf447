#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP (L2) mode through config files: `tapir up` with Mode = tap starts tapird --mode tap, sets
# the MTU for a full Ethernet frame (1500 - 80 - 17 = 1403), adds no routes, and attaches the TAP
# to an existing bridge (Bridge = br0), which `tapir down` detaches before the link goes; the
# bridge and its other ports stay. Forward, MACAge and MACs reach tapird as extension keys.
# Bad configs (a missing bridge, a link that is not a bridge, a bridge that goes away during up,
# AllowedIPs in tap mode, a TAP key in tun mode) exit 1, say why and leave nothing behind.
#
#   vm1 (ns 3) 10.90.0.1/24                              vm2 (ns 4) 10.90.0.2/24
#     | vm (veth) hv1                                      | vm (veth) hv2
#   [br0]-tq$$a 10.91.0.1/24                             [br0]-tq$$b
#   host1 (ns 1): tapir up tq$$a.conf                    host2 (ns 2): tapir up tq$$b.conf
#     Mode = tap, Bridge = br0, MACAge = 120,              Mode = tap, Bridge = br0,
#     peer b pinned to vm2's MAC (MACs =)                  Forward = on, keepalive 25
#   veth1 192.0.2.1/24 ================================= veth2 192.0.2.2/24
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds socat
STATE_DIR=/var/run/tapir

plan 39

IFA="tq$$a"
IFB="tq$$b"
IFC="tq$$c"
for i in "$IFA" "$IFB" "$IFC"; do
	register_if "$i"
done
# Also remove our state files if the test dies halfway.
trap 'rc=$?; rm -f "$STATE_DIR/tq$$"?.state; (exit $rc); cleanup' EXIT

setup_underlay
keygen a
keygen b

# setup_vm HOST VM: a bridge br0 on host HOST, and a "VM" namespace VM on it through a veth.
setup_vm()
{
	local h=$1 v=$2
	add_ns "$v"
	pretty "tapir-$$-$h" "ip link add br0 type bridge; veth hv$h <-> vm (tapir-$$-$v)"
	ipx "$h" link add br0 type bridge
	ip link add "hv$h" netns "tapir-$$-$h" type veth peer name vm netns "tapir-$$-$v"
	ipx "$h" link set "hv$h" master br0
	ipx "$h" link set "hv$h" up
	ipx "$h" link set br0 up
	ipx "$v" addr add "10.90.0.$h/24" dev vm
	ipx "$v" link set vm up
}
setup_vm 1 3
setup_vm 2 4
mac2=$(nx 4 cat /sys/class/net/vm/address)

cat >"$T/$IFA.conf" <<EOC
# written by $0
[Interface]
PrivateKey = $(cat "$(key_of a)")
ListenPort = 51841
Mode = tap
Bridge = br0
MACAge = 120
Address = 10.91.0.1/24

[Peer]
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51842
MACs = $mac2
EOC
cat >"$T/$IFB.conf" <<EOC
# written by $0
[Interface]
PrivateKey = $(cat "$(key_of b)")
ListenPort = 51842
Mode = tap
Bridge = br0
Forward = on

[Peer]
PublicKey = $(pub_of a)
Endpoint = 192.0.2.1:51841
PersistentKeepalive = 25
EOC

# tq NS up|down ARG: run the CLI (which finds tapird next to itself), output to $T/tq.log
# (shown on failure). Never through a pipe: the daemon inherits stderr.
tq()
{
	local rc=0
	ip netns exec "$1" env -u TAPIRD timeout 60 "$CLI" "$2" "$3" >"$T/tq.log" 2>&1 \
		</dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}
said() { grep -qF -- "$1" "$T/tq.log"; }

mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
no_link() { ! ip -n "$1" link show "$2" 2>/dev/null; }
no_socket() { [ ! -e "$(sock_of "$1")" ]; }
no_process_in() { [ -z "$(ip netns pids "$1")" ]; }
no_state() { [ ! -e "$STATE_DIR/$1.state" ]; }
has_addr() { ip -n "$1" -o addr show dev "$2" | grep -qw "$3"; }
in_br0() { ip -n "$1" -d link show "$2" | grep -q " master br0 "; }
is_bridge() { ip -n "$1" -d link show "$2" | grep -qw bridge; }
# Every route on the link, in every table, is the kernel's own (address prefixes, local).
only_kernel_routes()
{
	local f
	for f in -4 -6; do
		ip -n "$1" "$f" route show table all dev "$2" | grep -v " proto kernel" && return 1
	done
	return 0
}
# nothing_left NS IFNAME: no link, socket, state file or process from a failed up.
nothing_left()
{
	no_link "$1" "$2" && no_socket "$2" && no_state "$2" &&
		wait_for "the daemon to exit" 10 no_process_in "$1"
}
get_ext() { printf 'get=tapir\n\n' | uapi "$1"; }
# peer_ext IFNAME PUBKEY: the get=tapir lines of one peer.
peer_ext()
{
	get_ext "$1" | awk -v k="public_key=$(b64_to_hex "$2")" \
		'/^public_key=/ { on = $0 == k } on'
}
vm_ping() { ping_until "tapir-$$-$1" 15 "${@:2}"; }

# ---------------------------------------------------------------- up
check "up $IFA (Mode = tap, Bridge = br0)" tq "$NS1" up "$T/$IFA.conf"
check "up started tapird --mode tap and attached the TAP to br0" \
	eval 'said "tapird --mode tap $IFA" && said "[#] ip link set $IFA master br0"'
check "up $IFB (Mode = tap, Bridge = br0, Forward = on)" tq "$NS2" up "$T/$IFB.conf"
check "$IFA is a TAP device" eval 'ip -n "$NS1" -d link show "$IFA" | grep -q "tun type tap"'
check "$IFA is a port of br0" in_br0 "$NS1" "$IFA"
check "$IFB is a port of br0" in_br0 "$NS2" "$IFB"
check_eq "$IFA MTU is 1500 - 80 - 17" 1403 mtu_of "$NS1" "$IFA"
check_eq "$IFB MTU is 1500 - 80 - 17" 1403 mtu_of "$NS2" "$IFB"
check "Address works in tap mode: $IFA has 10.91.0.1/24" has_addr "$NS1" "$IFA" 10.91.0.1/24
check "no routes added for the TAP (only the kernel's)" only_kernel_routes "$NS1" "$IFA"
check "the state file records the bridge" grep -qx "bridge br0" "$STATE_DIR/$IFA.state"

# The VMs use the TAP's MTU, so a full frame fits one underlay packet.
mtu=$(mtu_of "$NS1" "$IFA")
for h in 1 2; do
	ipx "$h" link set "hv$h" mtu "$mtu"
	ipx $((h + 2)) link set vm mtu "$mtu"
done
# The keepalive starts the handshake at up: the first ARP request finds a session.
check "handshake done" wait_for "the handshake" 10 handshake_done "$NS1" "$IFA" "$(pub_of b)"
check "vm1 pings vm2 across the hosts (ARP through the TAPs)" vm_ping 3 10.90.0.2
check "vm2 pings vm1" vm_ping 4 10.90.0.1
check "a full-size packet crosses unfragmented (DF, $mtu bytes)" \
	vm_ping 3 -M "do" -s $((mtu - 28)) 10.90.0.2

ip netns exec "$NS1" "$CLI" show "$IFA" >"$T/show" 2>&1 || true
diag_file "$T/show"
check "tapir show lists mode tap" grep -q "mode: tap" "$T/show"
check "tapir show lists vm2's MAC as learned from host2" grep -q "learned macs:.*$mac2" "$T/show"
check "Forward = on: get=tapir shows tapir_forward=true" \
	eval 'get_ext "$IFB" | grep -qx "tapir_forward=true"'
check "without Forward: tapir_forward=false" eval 'get_ext "$IFA" | grep -qx "tapir_forward=false"'
check "MACAge = 120: tapir_mac_age=120" eval 'get_ext "$IFA" | grep -qx "tapir_mac_age=120"'
check "MACs = pins vm2's MAC for host2's peer" \
	eval 'peer_ext "$IFA" "$(pub_of b)" | grep -qx "tapir_mac=$mac2"'
check "no allowed IPs in tap mode" \
	eval '[ "$(peer_field "$NS1" "$IFA" "$(pub_of b)" allowed-ips)" = "(none)" ]'

# ---------------------------------------------------------------- down
check "down $IFA" tq "$NS1" down "$IFA"
check "down detached the TAP from br0 first" said "[#] ip link set $IFA nomaster"
check "down $IFB" tq "$NS2" down "$IFB"
check "$IFA and $IFB are gone, with their sockets, state files and daemons" \
	eval 'nothing_left "$NS1" "$IFA" && nothing_left "$NS2" "$IFB"'
check "br0 stays on host1, with vm1's veth in it" eval 'is_bridge "$NS1" br0 && in_br0 "$NS1" hv1'
check "br0 stays on host2, with vm2's veth in it" eval 'is_bridge "$NS2" br0 && in_br0 "$NS2" hv2'

# ---------------------------------------------------------------- bad configs
# bad_up BODY: write $IFC.conf and run up in host1; it must exit 1.
bad_up()
{
	local rc=0
	printf '%b' "$1" >"$T/$IFC.conf"
	tq "$NS1" up "$T/$IFC.conf" || rc=$?
	[ "$rc" -eq 1 ]
}
PK="PrivateKey = $(cat "$(key_of a)")"
PEER="[Peer]\nPublicKey = $(pub_of b)\nEndpoint = 192.0.2.2:51842\n"

check "Bridge = nosuchbr: up exits 1" \
	bad_up "[Interface]\n$PK\nMode = tap\nBridge = nosuchbr\n\n$PEER"
check "and names the problem" said "Bridge = nosuchbr: no such interface"
check "and leaves nothing behind" nothing_left "$NS1" "$IFC"

check "Bridge = veth1 (not a bridge): up exits 1" \
	bad_up "[Interface]\n$PK\nMode = tap\nBridge = veth1\n\n$PEER"
check "and says it is not a bridge, leaving nothing behind" \
	eval 'said "Bridge = veth1: not a bridge" && nothing_left "$NS1" "$IFC"'

# The bridge exists when up starts but a PreUp hook removes it: the attach fails after tapird
# started, and up rolls back.
ipx 1 link add br9 type bridge
check "a bridge that goes away during up: up exits 1" \
	bad_up "[Interface]\n$PK\nMode = tap\nBridge = br9\nPreUp = ip link del br9\n\n$PEER"
check "after starting tapird, and rolls back" \
	eval 'said "tapird --mode tap $IFC" && said "Bridge = br9: no such interface" && nothing_left "$NS1" "$IFC"'

check "AllowedIPs in a tap [Peer]: up exits 1" \
	bad_up "[Interface]\n$PK\nMode = tap\n\n[Peer]\nPublicKey = $(pub_of b)\nAllowedIPs = 10.90.0.0/24\n"
check "naming file:line and the key, leaving nothing behind" \
	eval 'said "$T/$IFC.conf:7: " && said "(key AllowedIPs)" && nothing_left "$NS1" "$IFC"'

check "Bridge without Mode = tap: up exits 1" bad_up "[Interface]\n$PK\nBridge = br0\n"
check "naming file:line and the key, leaving nothing behind" \
	eval 'said "$T/$IFC.conf:3: only valid with Mode = tap (key Bridge)" && nothing_left "$NS1" "$IFC"'
