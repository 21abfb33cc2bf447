#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Containers on two mesh hosts, set up by the real CNI plugins (Debian's
# containernetworking-plugins: bridge with host-local IPAM) from the configuration that
# `tapir mesh cni` prints from each host's subnet.env (issue 16, README "Many hosts").
# The test is the container runtime: per the CNI spec 1.0 ("Execution of Network Configuration
# Lists") it hands the list's plugin its config with the list's name and cniVersion (and, for
# CHECK and DEL, the ADD's result as prevResult) on stdin, runs it in the host's namespace with
# CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS=/var/run/netns/C, CNI_IFNAME=eth0, CNI_PATH.
# host-local keeps its leases in $T/ipamN (--data-dir), never in /var/lib/cni.
# Checks: each ADD's result gives an address of its host's subnet; containers on host 1 and
# host 2 ping each other both ways, and see each other's own address (no masquerading); a
# full-MTU packet with DF set and a 2 MiB TCP transfer cross with the MTU from subnet.env
# (1380, not the default) and no IP fragment anywhere;
# CHECK passes on a live container; DEL removes the veth and releases the address (and is
# idempotent), after which CHECK fails and the address is unreachable; bad input to
# `tapir mesh cni` is refused.
#
#   c5, c6 (tapir-$$-5, -6)      tapir-$$-1            tapir-$$-9         tapir-$$-2      c7, c8 (tapir-$$-7, -8)
#   eth0 10.81.S1.x --veth-- tc$$ 10.81.S1.1/24        etcd, bridge       tc$$ 10.81.S2.1/24 --veth-- eth0 10.81.S2.x
#                            tm$$1 10.81.S1.1/32 ===== mbr ============== tm$$2 10.81.S2.1/32
set -eu
. "$(dirname "$0")/lib.sh"

CNI_PATH=${CNI_PATH:-/usr/lib/cni}
CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl jq nc
for p in bridge host-local; do
	[ -x "$CNI_PATH/$p" ] ||
		skip_all "no CNI plugin $CNI_PATH/$p (apt-get install containernetworking-plugins)"
done

plan 17

NET=t7013
MTU=1380
BR=tc$$
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2; do add_host "$n"; done
check "init (MTU $MTU)" hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" \
	--cidr 10.81.0.0/16 --mtu "$MTU" --keepalive 0
for n in 1 2; do join "$n"; done
host_of() { echo $((($1 - 3) / 2)); } # containers 5 and 6 on host 1, 7 and 8 on host 2

# ---------------------------------------------------------------- the runtime's side
# JSON through jq, addresses in bash: a python3 start costs seconds on a loaded machine.

# env_of N KEY: KEY of host N's subnet.env
env_of() { sed -n "s/^$2=//p" "$T/s$1/subnet.env"; }
ip2int() { local IFS=. a; read -ra a <<<"$1"; echo $(((a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3])); }
int2ip() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }
# net_of A.B.C.D/LEN: the network, A.B.C.D/LEN with the host bits cleared
net_of()
{
	local len=${1#*/} mask
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	echo "$(int2ip $(($(ip2int "${1%/*}") & mask)))/$len"
}

# cni CMD C: run the list's plugin for container C on its host with its own config: the
# list's name and cniVersion added and, but for ADD, the ADD's result as prevResult.
# The result is in $T/res.C.CMD.
cni()
{
	local cmd=$1 c=$2 n conf type rc=0
	n=$(host_of "$c")
	conf=$T/conf.$c.$cmd
	if [ "$cmd" = ADD ]; then
		jq -c '.plugins[0] + {name, cniVersion}' "$T/cni$n.conflist" >"$conf"
	else
		jq -c --slurpfile prev "$T/res.$c.ADD" \
			'.plugins[0] + {name, cniVersion, prevResult: $prev[0]}' "$T/cni$n.conflist" >"$conf"
	fi
	type=$(jq -r .type "$conf")
	pretty "tapir-$$-$n" "CNI_COMMAND=$cmd CNI_NETNS=/var/run/netns/tapir-$$-$c $CNI_PATH/$type"
	ip netns exec "tapir-$$-$n" timeout 20 env CNI_COMMAND="$cmd" \
		CNI_CONTAINERID="t7013-$$-c$c" CNI_NETNS="/var/run/netns/tapir-$$-$c" \
		CNI_IFNAME=eth0 CNI_PATH="$CNI_PATH" "$CNI_PATH/$type" <"$conf" >"$T/res.$c.$cmd" || rc=$?
	[ "$rc" -eq 0 ] || cat "$T/res.$c.$cmd"
	return "$rc"
}

# ---------------------------------------------------------------- the configuration

# config_ok N: tapir mesh cni on host N gives the subnet, gateway, overlay route and MTU of
# its subnet.env, and the options
config_ok()
{
	local n=$1 sub
	sub=$(env_of "$n" SUBNET)
	"$CLI" mesh cni --state-dir "$T/s$n" --bridge "$BR" --name "t7013-$$" \
		--data-dir "$T/ipam$n" >"$T/cni$n.conflist" || return 1
	cat "$T/cni$n.conflist"
	jq -e --arg sub "$(net_of "$sub")" --arg gw "${sub%/*}" --arg net "$(env_of "$n" NETWORK)" \
		--argjson mtu "$(env_of "$n" MTU)" --arg br "$BR" --arg dd "$T/ipam$n" \
		--arg name "t7013-$$" '
		.cniVersion == "1.0.0" and .name == $name and (.plugins | length) == 1 and
		.plugins[0] == {type: "bridge", bridge: $br, isGateway: true, ipMasq: false,
			mtu: $mtu, ipam: {type: "host-local", dataDir: $dd,
			ranges: [[{subnet: $sub, gateway: $gw}]], routes: [{dst: $net, gw: $gw}]}}' \
		"$T/cni$n.conflist"
}
for n in 1 2; do
	check "tapir mesh cni on host $n: its subnet, gateway, overlay route, MTU $MTU" config_ok "$n"
done

# ---------------------------------------------------------------- ADD

declare -A ADDR=()
# in_subnet C: C's ADD result gives one address, in its host's subnet and not the gateway, and
# the gateway is the host's first address; the container's eth0 has it, the MTU and the
# overlay route. Sets ADDR[C].
in_subnet()
{
	local c=$1 n sub count addr gw
	n=$(host_of "$c")
	sub=$(env_of "$n" SUBNET)
	cat "$T/res.$c.ADD"
	read -r count addr gw < <(jq -r '"\(.ips | length) \(.ips[0].address) \(.ips[0].gateway)"' \
		"$T/res.$c.ADD")
	if [ "$count" != 1 ] || [ "$(net_of "$addr")" != "$(net_of "$sub")" ] ||
		[ "${addr%/*}" = "${sub%/*}" ] || [ "$gw" != "${sub%/*}" ]; then
		echo "$count addresses, $addr via $gw: not a container address of $sub"
		return 1
	fi
	ADDR[$c]=${addr%/*}
	hx "$c" ip -o addr show dev eth0 | grep -qF " $addr " &&
		hx "$c" ip link show dev eth0 | grep -q " mtu $MTU " &&
		hx "$c" ip route show "$(env_of "$n" NETWORK)" | grep -q "via ${sub%/*} dev eth0"
}

for c in 5 6 7 8; do add_ns "$c"; done
# the plugin turns forwarding on for its gateway (isGateway); start from off
for n in 1 2; do nx "$n" sysctl -qw net.ipv4.ip_forward=0; done
check "ADD: containers 5 and 6 on host 1 get addresses of its subnet ($(env_of 1 SUBNET))" \
	eval 'cni ADD 5 && cni ADD 6 && in_subnet 5 && in_subnet 6'
check "ADD: containers 7 and 8 on host 2 get addresses of its subnet ($(env_of 2 SUBNET))" \
	eval 'cni ADD 7 && cni ADD 8 && in_subnet 7 && in_subnet 8'
forwarding() { echo "$(nx 1 sysctl -n net.ipv4.ip_forward) $(nx 2 sysctl -n net.ipv4.ip_forward)"; }
check_eq "the bridge plugin turned forwarding on in both hosts" "1 1" forwarding
[ "${#ADDR[@]}" -eq 4 ] || bail_out "ADD gave ${#ADDR[@]} of 4 containers an address"

# ---------------------------------------------------------------- traffic

cping() { hx "$1" timeout 10 ping -c 2 -i 0.3 -W 2 "$2"; }
# the first packet may only start the handshake: up to 3 tries
cping_until_ok()
{
	local _
	for _ in 1 2 3; do
		cping "$1" "$2" && return 0
	done
	return 1
}
from_to()
{
	local a b
	for a in $1; do
		for b in $2; do
			cping_until_ok "$a" "${ADDR[$b]}" || {
				echo "container $a cannot reach container $b (${ADDR[$b]})"
				return 1
			}
		done
	done
}
check "containers 5 and 6 (host 1) reach 7 and 8 (host 2)" from_to "5 6" "7 8"
check "containers 7 and 8 (host 2) reach 5 and 6 (host 1)" from_to "7 8" "5 6"

# seen_from A B: the source address container B sees on a connection from container A
seen_from()
{
	local a=$1 b=$2 pid
	# shellcheck disable=SC2016 # $SOCAT_PEERADDR is socat's, for the shell it starts
	hx "$b" timeout 15 socat TCP-LISTEN:5002,bind="${ADDR[$b]}" SYSTEM:'echo $SOCAT_PEERADDR' &
	pid=$!
	track_pid "$pid"
	wait_for "socat to listen" 10 listening "tapir-$$-$b" 5002 || return 1
	hx "$a" timeout 10 socat -u TCP:"${ADDR[$b]}":5002 -
	wait "$pid"
}
check_eq "container 7 sees container 5's own address ${ADDR[5]} (no masquerading)" "${ADDR[5]}" \
	seen_from 5 7

# frags N: IP fragments created or reassembled in namespace tapir-$$-N
frags()
{
	# shellcheck disable=SC2016 # awk's fields
	ip netns exec "tapir-$$-$1" awk '/^Ip: [0-9]/ { n = split(h, k); for (i = 1; i <= n; i++)
		if (k[i] ~ /^(FragCreates|ReasmReqds)$/) s += $i } /^Ip: [A-Z]/ { h = $0 } END { print s + 0 }' \
		/proc/net/snmp
}
no_frags() { [ "$(frags 1)$(frags 2)$(frags 5)$(frags 7)" = 0000 ]; }
full_size()
{
	hx 5 timeout 10 ping -c 2 -i 0.3 -W 2 -M "do" -s $((MTU - 28)) "${ADDR[7]}" &&
		! hx 5 timeout 5 ping -c 1 -W 1 -M "do" -s $((MTU - 27)) "${ADDR[7]}" && no_frags
}
check "a $MTU-byte packet with DF set crosses (one byte more does not leave the container)" \
	full_size
head -c $((2 << 20)) /dev/urandom >"$T/data"
transfer()
{
	tcp_transfer "tapir-$$-5" "tapir-$$-7" "${ADDR[7]}" 5001 "$T/data" 30 &&
		[ "$(sha_of "$T/recv.5001")" = "$(sha_of "$T/data")" ] && no_frags
}
check "2 MiB over TCP from container 5 to container 7, intact, no IP fragments" transfer

# ---------------------------------------------------------------- CHECK and DEL

check "CHECK on live containers 5 and 7" eval 'cni CHECK 5 && cni CHECK 7'
addr6=${ADDR[6]}
leases() { ls "$T/ipam1/t7013-$$"; }
del_ok()
{
	local veths
	leases | grep -qxF "$addr6" || { echo "no lease of $addr6 before DEL"; return 1; }
	cni DEL 6 || return 1
	! hx 6 ip link show dev eth0 2>/dev/null || { echo "eth0 still in container 6"; return 1; }
	veths=$(ip -n "tapir-$$-1" -o link show master "$BR" | wc -l)
	[ "$veths" -eq 1 ] || { echo "$veths ports on $BR, expected 1"; return 1; }
	! leases | grep -qxF "$addr6" || { echo "$addr6 still leased"; return 1; }
	leases | grep -qxF "${ADDR[5]}" || { echo "container 5's lease went too"; return 1; }
	cni DEL 6 # a second DEL succeeds too (spec: DEL is idempotent)
}
check "DEL of container 6: its veth gone, $addr6 released in $T/ipam1, 5's kept; again ok" del_ok
check_fails "CHECK of container 6 after its DEL fails" cni CHECK 6
check_fails "container 7 no longer reaches container 6's old address" cping 7 "$addr6"
check "container 5 still reaches container 8" from_to 5 8

# ---------------------------------------------------------------- bad input

garbled()
{
	local out rc=0
	mkdir -p "$T/bad"
	printf 'NETWORK=10.81.0.0/16\nSUBNET=10.82.3.1/24\nMTU=1380\n' >"$T/bad/subnet.env"
	out=$("$CLI" mesh cni --state-dir "$T/bad" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -eq 1 ] && grep -q "SUBNET is not inside NETWORK" <<<"$out" || return 1
	printf 'NETWORK=10.81.0.0/16\nSUBNET 10.81.3.1/24\nMTU=1380\n' >"$T/bad/subnet.env"
	rc=0
	out=$("$CLI" mesh cni --state-dir "$T/bad" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -eq 1 ] && grep -q "line 2: not KEY=VALUE" <<<"$out" || return 1
	rc=0
	out=$("$CLI" mesh cni --state-dir "$T/none" 2>&1) || rc=$?
	echo "$out"
	[ "$rc" -eq 1 ] && grep -q "$T/none/subnet.env: No such file" <<<"$out" || return 1
	rc=0
	"$CLI" mesh cni --state-dir "$T/s1" --bridge "a/b" || rc=$?
	[ "$rc" -eq 2 ]
}
check "tapir mesh cni refuses a garbled or missing subnet.env (1) and a bad --bridge (2)" garbled
