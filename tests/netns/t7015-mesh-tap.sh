#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh in tap mode (issue 16): `tapir mesh init --mode tap` makes the hosts one Ethernet
# segment. A single-member etcd in its own namespace, 3 hosts each with `tapird --mode tap` and
# an agent, a 4th host whose tapird runs in tun mode. Checks: the network record says tap; the
# peers carry no allowed IPs; each TAP has its subnet's first address with the overlay's /16
# prefix (the kernel's prefix route, no route of the agent's) and MTU 1420 - 17 = 1403, as
# subnet.env says; the full matrix pings; every host's neighbour table holds the other hosts'
# TAP MACs and every tapird learned each peer's TAP MAC from that peer (it is L2, not routed);
# hub forwarding switched on before a join is turned off by the agent; status names the mode;
# a peer added by hand to a TAP goes at the agent's next resync (the interface is the mesh's);
# a host that leaves is removed everywhere; a tun daemon joining the tap network, and a tap
# daemon joining a tun network, are refused with a message naming both modes and take nothing.
#
#   tapir-$$-1 .. tapir-$$-3 (tap hosts), tapir-$$-4 (tun)     tapir-$$-9 (hub)
#   +------------------------------------------+              +----------------------------+
#   | tapird --mode tap tm$$N, agent (--ttl 5) |              | bridge mbr                 |
#   |  tm$$N 10.42.S.1/16, mtu 1403            |              | etcd 192.0.2.100:2379      |
#   | hN 192.0.2.N/24                          |==== uN ======|  data dir in $T (mktemp)   |
#   +------------------------------------------+              +----------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl socat
case $(basename "$IMPL") in
tapird*) ;;
*) skip_all "tap mode is tapird's" ;;
esac
"$CLI" mesh --help >/dev/null 2>&1 || skip_all "this tapir has no mesh command"

plan 24

NET=t7015
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
TAPD=$(tap_daemon)
for n in 1 2 3; do add_host "$n" "$TAPD"; done
add_host 4

get_ext() { printf 'get=tapir\n\n' | uapi "tm$$$1"; }
mac_of() { ip -n "tapir-$$-$1" -br link show dev "tm$$$1" | awk '{ print $3 }'; }

# neighbours_ok N M...: host N's neighbour table on its TAP holds each host M's TAP MAC
neighbours_ok()
{
	local n=$1 m
	shift
	for m in "$@"; do
		ip -n "tapir-$$-$n" neigh show dev "tm$$$n" to "$(addr_of "$m")" |
			grep -qi "lladdr $(mac_of "$m")" || {
			echo "host $n has no neighbour entry $(addr_of "$m") -> $(mac_of "$m")"
			return 1
		}
	done
}

# learned_ok N M...: host N's tapird learned host M's TAP MAC from host M's peer
learned_ok()
{
	local n=$1 m
	shift
	get_ext "$n" >"$T/get$n"
	for m in "$@"; do
		awk -v mac="$(mac_of "$m")" -v k="$(b64_to_hex "$(pub "$m")")" \
			'/^public_key=/ { cur = substr($0, 12) }
			 $0 == "tapir_learned_mac=" mac && cur == k { f = 1 } END { exit !f }' \
			"$T/get$n" || {
			echo "host $n did not learn $(mac_of "$m") from host $m"
			return 1
		}
	done
}

no_allowed_ips()
{
	local n
	for n in "$@"; do
		hx "$n" wg show "tm$$$n" allowed-ips | awk '$2 != "(none)" { exit 1 }' || return 1
	done
}

# tap_addr_ok N...: host N's TAP has its subnet's first address with the overlay's /16
tap_addr_ok()
{
	local n
	for n in "$@"; do
		ip -n "tapir-$$-$n" -4 addr show dev "tm$$$n" | grep -q "inet $(addr_of "$n")/16 " ||
			return 1
	done
}

# one route for the overlay, the kernel's for the TAP's address
route_is_kernel()
{
	local r
	r=$(ip -n "tapir-$$-1" route show 10.42.0.0/16)
	[ "$(printf '%s\n' "$r" | wc -l)" -eq 1 ] && grep -q "dev tm$$1 proto kernel" <<<"$r"
}

# exited RC WANT FILE TEXT: the command exited with WANT and said TEXT
exited() { [ "$1" -eq "$2" ] && grep -q "$4" "$3"; }

status_ok()
{
	hx 1 "$CLI" mesh status --etcd "$ETCD" --network "$NET" --interface "tm$$1" >"$T/status" &&
		grep -q "^network $NET: 10.42.0.0/16, subnets /24, mode tap," "$T/status" &&
		grep -q '^3 hosts, 0 records ignored' "$T/status" &&
		[ "$(grep -c 'peer here' "$T/status")" -eq 2 ]
}

# ---------------------------------------------------------------- init, 3 tap hosts

check "mesh init --mode tap writes the network" \
	hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.42.0.0/16 --keepalive 0 \
	--mode tap
check_eq "the record says tap" \
	'{"cidr":"10.42.0.0/16","subnet_len":24,"mode":"tap","port":51820,"mtu":1420,"keepalive":0}' \
	ctl get --print-value-only "/tapir/networks/$NET/config"
rc=0
hx 1 "$CLI" mesh init --etcd "$ETCD" --network other --cidr 10.44.0.0/16 --mode l2 \
	>"$T/init-l2.log" 2>&1 || rc=$?
check "mesh init rejects --mode l2 (usage error naming it)" \
	exited "$rc" 2 "$T/init-l2.log" "l2.* is not tun or tap"

join 1
join 2
# a hub relays frames between its peers: in a full mesh every broadcast would come back around
printf 'set=1\ntapir_forward=true\n\n' | uapi "tm$$3" >/dev/null
join 3
check "3 hosts: each has the 2 others as peers" wait_for "2 peers each" 10 all_have 1 2 3 2
check "the peers have no allowed IPs (frames go by MAC)" no_allowed_ips 1 2 3
check "host 3's agent turned hub forwarding off" \
	eval 'get_ext 3 | grep -qx tapir_forward=false && grep -q "turning that off" "$T/agent3.log"'
check "3 hosts: full-matrix ping over the L2 overlay" matrix 1 2 3
check "each TAP has its subnet's first address with the overlay's prefix" tap_addr_ok 1 2 3
check "the overlay route is the address's own (kernel), none added" route_is_kernel
check "the TAP's MTU is 1420 less the 17 bytes of frame headers" \
	sh -c "ip -n tapir-$$-2 link show tm$$2 | grep -q 'mtu 1403 '"
check_eq "subnet.env of host 2 says that MTU" \
	"$(printf 'NETWORK=10.42.0.0/16\nSUBNET=%s/24\nMTU=1403\nIPMASQ=false' "$(addr_of 2)")" \
	cat "$T/s2/subnet.env"
check "L2: every host's neighbour table has the other TAPs' MACs" \
	eval 'neighbours_ok 1 2 3 && neighbours_ok 2 1 3 && neighbours_ok 3 1 2'
check "L2: every tapird learned each peer's TAP MAC from that peer" \
	eval 'learned_ok 1 2 3 && learned_ok 2 1 3 && learned_ok 3 1 2'
check "status names the mode and lists 3 hosts, 2 of them peers here" status_ok
diag_file "$T/status"

# ---------------------------------------------------------------- a daemon in the wrong mode

rc=0
hx 4 timeout 20 "$CLI" mesh join --etcd "$ETCD" --network "$NET" --interface "tm$$4" \
	--ttl "$TTL" --state-dir "$T/s4" >"$T/agent4.log" 2>&1 || rc=$?
diag_file "$T/agent4.log"
check "a tun daemon is refused by the tap network (exit 1), naming both modes" \
	exited "$rc" 1 "$T/agent4.log" "$NET is a tap network, but the daemon on tm$$4 runs in tun mode"
check "the refused host took nothing: 3 records, no key, no address" \
	sh -c "[ \$(ip netns exec $HUB etcdctl --endpoints $ETCD get --prefix --keys-only \
		/tapir/networks/$NET/subnets/ | grep -c .) -eq 3 ] &&
		[ \"\$(ip netns exec tapir-$$-4 wg show tm$$4 private-key)\" = '(none)' ] &&
		! ip -n tapir-$$-4 -4 addr show dev tm$$4 | grep -q inet"

# ---------------------------------------------------------------- the interface is the mesh's

stranger=$(wg genkey | wg pubkey)
hx 1 wg set "tm$$1" peer "$stranger" endpoint 192.0.2.77:51820
was_there=0
is_peer_of 1 "$stranger" && was_there=1
signal_child TERM "${AGENT_PID[1]}"
wait_for "agent 1 to exit" 5 dead "${AGENT_PID[1]}"
join 1
check "a peer added by hand to the TAP is gone after the agent's resync" \
	eval "[ $was_there -eq 1 ] && not_peer_of 1 '$stranger'"
check "host 1 is back with its 2 peers" wait_for "2 peers each" 10 all_have 1 2 3 2
check "and the full matrix pings again" matrix 1 2 3

# ---------------------------------------------------------------- a host leaves

pub3=$(pub 3)
pretty "tapir-$$-3" "tapir mesh leave --network $NET"
hx 3 "$CLI" mesh leave --network "$NET" --state-dir "$T/s3" >>"$T/agent3.log" 2>&1
check "leave: host 3 is removed from hosts 1 and 2 at once (2 s)" \
	wait_for "host 3 to go" 2 eval "not_peer_of 1 '$pub3' && not_peer_of 2 '$pub3'"
check "hosts 1 and 2 still ping each other" matrix 1 2

# ---------------------------------------------------------------- a tap daemon, a tun network

hx 1 "$CLI" mesh init --etcd "$ETCD" --network "${NET}tun" --cidr 10.43.0.0/16 >/dev/null
rc=0
hx 3 timeout 20 "$CLI" mesh join --etcd "$ETCD" --network "${NET}tun" --interface "tm$$3" \
	--ttl "$TTL" --state-dir "$T/s3tun" >"$T/agent3tun.log" 2>&1 || rc=$?
diag_file "$T/agent3tun.log"
check "a tap daemon is refused by a tun network (exit 1), naming both modes" \
	exited "$rc" 1 "$T/agent3tun.log" \
	"${NET}tun is a tun network, but the daemon on tm$$3 runs in tap mode"
check "and took nothing: no record, the TAP's address and MTU unchanged" \
	eval '[ -z "$(ctl get --prefix --keys-only "/tapir/networks/${NET}tun/subnets/")" ] &&
		! ip -n "tapir-$$-3" -4 addr show dev "tm$$3" | grep -q "inet 10.43." &&
		ip -n "tapir-$$-3" link show "tm$$3" | grep -q "mtu 1403 "'
check "the agents logged no etcd or UAPI error" \
	sh -c "! grep -E 'cannot|malformed' $T/agent1.log $T/agent2.log $T/agent3.log"
