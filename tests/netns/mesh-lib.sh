# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Helpers for the tapir mesh tests (t7NNN-mesh-*.sh), sourced after lib.sh (NET set before the
# first call): a hub namespace tapir-$$-9 with a bridge and a single-member etcd on
# 192.0.2.100:2379 (its data dir in $T, stopped by PID on exit), hosts tapir-$$-N joined to the
# bridge by veths, each with a tapird tm$$N, and their agents.
#
#   mesh_require [CMD...]    the skip checks (before plan): CLI, the tapir CLI next to tapird,
#                            with a mesh command; etcd, etcdctl and CMDs installed
#   mesh_start_etcd          the hub and etcd; waits until etcd answers
#   etcd_run                 (re)starts etcd on its data dir, in the background; ETCD_PID
#   mesh_start_cluster       instead of mesh_start_etcd: 3 members in tapir-$$-11..13 on
#                            192.0.2.101..103 (MEMBER_PID[1..3]); ETCD lists all three
#   add_host N               namespace, veth hN 192.0.2.N/24, tapird tm$$N
#   join N [ARGS...]         the agent of host N in the background (log: $T/agentN.log),
#                            waits for its first resync; AGENT_PID[N]
#   agent_start N [ARGS...]  the same without the wait
#   mesh_admin               an admin key $T/admin.key; ADMIN is its public key
#   mesh_sign_host N SUBNET  a key for host N set in its tapird (h$N), certificate $T/certN
#   leader, new_leader OLD   the cluster's leader (1-3); a leader other than OLD exists
#   addr_of N, pub N, n_peers N, has_n_peers N K, all_have N... K, matrix N..., hx N CMD, ctl ARGS
#   is_peer_of N PUB, not_peer_of N PUB, peer_of_all PUB N..., peer_of_none PUB N...
# For TLS, set before sourcing: ETCD=https://..., ETCD_TLS_ARGS (etcd's options) and
# CTL_TLS_ARGS (etcdctl's).
ETCD=${ETCD:-http://192.0.2.100:2379}
[ -n "${ETCD_TLS_ARGS+set}" ] || ETCD_TLS_ARGS=()
[ -n "${CTL_TLS_ARGS+set}" ] || CTL_TLS_ARGS=()
HUB="tapir-$$-9"
TTL=5
declare -A AGENT_PID=()

# shellcheck disable=SC2120 # CMDs are optional
mesh_require()
{
	CLI=$(dirname "$IMPL")/tapir
	[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
	require_cmds etcd etcdctl "$@"
	"$CLI" mesh --help >/dev/null 2>&1 || skip_all "this tapir has no mesh command"
}

hx() { ip netns exec "tapir-$$-$1" "${@:2}"; }
ctl() { ip netns exec "$HUB" timeout 10 etcdctl --endpoints "$ETCD" "${CTL_TLS_ARGS[@]}" "$@"; }

# ---------------------------------------------------------------- etcd and the hosts

etcd_run()
{
	pretty "$HUB" "etcd --data-dir $T/etcd --listen-client-urls $ETCD"
	(exec ip netns exec "$HUB" etcd --name mesh --data-dir "$T/etcd" \
		--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
		--listen-peer-urls http://127.0.0.1:2380 \
		--initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster mesh=http://127.0.0.1:2380 "${ETCD_TLS_ARGS[@]}" \
		>>"$T/etcd.log" 2>&1 </dev/null) &
	ETCD_PID=$!
	track_pid "$ETCD_PID"
}

mesh_start_etcd()
{
	add_ns 9
	ip -n "$HUB" link add mbr type bridge
	ip -n "$HUB" link set mbr up
	ip -n "$HUB" addr add 192.0.2.100/24 dev mbr
	mkdir "$T/etcd"
	etcd_run
	# etcd is stopped by PID before the namespaces go (cleanup also TERMs it); its data dir is in $T
	# shellcheck disable=SC2154
	trap 'rc=$?; signal_child TERM "$ETCD_PID" || true; (exit $rc); cleanup' EXIT
	wait_for "etcd to answer" 20 ctl endpoint health ||
		bail_out "etcd did not start: $(tail -5 "$T/etcd.log")"
}

# add_host N [IMPL]: host N on the hub bridge (192.0.2.N), with IMPL (default $IMPL) as tmPIDN.
add_host()
{
	local n=$1 impl=${2:-$IMPL}
	add_ns "$n"
	ip link add "h$n" netns "tapir-$$-$n" type veth peer name "u$n" netns "$HUB"
	ip -n "$HUB" link set "u$n" master mbr
	ip -n "$HUB" link set "u$n" up
	ip -n "tapir-$$-$n" addr add "192.0.2.$n/24" dev "h$n"
	ip -n "tapir-$$-$n" link set "h$n" up
	start_daemon "tapir-$$-$n" "$impl" "tm$$$n"
}

# agent_start N [ARGS...]: the agent of host N in the background, its log in $T/agentN.log
# (appended).
agent_start()
{
	local n=$1
	shift
	pretty "tapir-$$-$n" "tapir mesh join --network $NET --interface tm$$$n --ttl $TTL"
	(exec ip netns exec "tapir-$$-$n" "$CLI" mesh join --etcd "$ETCD" --network "$NET" \
		--interface "tm$$$n" --ttl "$TTL" --state-dir "$T/s$n" "$@" \
		>>"$T/agent$n.log" 2>&1 </dev/null) &
	AGENT_PID[$n]=$!
	track_pid "${AGENT_PID[$n]}"
}

# join N [ARGS...]: agent_start, then wait for its first resync (subnet.env may be left from
# an earlier run, so it is the log line that counts).
join()
{
	local before
	before=$(joins_of "$1")
	agent_start "$@"
	wait_for "agent $1 to join" 10 joined_since "$1" "$before"
}

joins_of()
{
	local c
	c=$(grep -c 'resynced at revision' "$T/agent$1.log" 2>/dev/null) || true
	echo "${c:-0}"
}
joined_since() { [ "$(joins_of "$1")" -gt "$2" ]; }

# addr_of N: host N's overlay address (the first address of its subnet, from subnet.env).
addr_of()
{
	sed -n 's/^SUBNET=\(.*\)\/.*/\1/p' "$T/s$1/subnet.env"
}

n_peers() { wg_dump "tapir-$$-$1" "tm$$$1" | tail -n +2 | wc -l; }
has_n_peers() { [ "$(n_peers "$1")" -eq "$2" ]; }
pub() { hx "$1" wg show "tm$$$1" public-key; }
is_peer_of() { wg_dump "tapir-$$-$1" "tm$$$1" | cut -f1 | grep -qxF "$2"; }
not_peer_of() { ! is_peer_of "$@"; }

peer_of_all() # PUB HOSTS...: every host has PUB as a peer
{
	local h
	for h in "${@:2}"; do
		is_peer_of "$h" "$1" || return 1
	done
}

peer_of_none() # PUB HOSTS...: no host has PUB as a peer
{
	local h
	for h in "${@:2}"; do
		not_peer_of "$h" "$1" || return 1
	done
}

# ---------------------------------------------------------------- the trust layer

mesh_admin()
{
	# shellcheck disable=SC2034 # the tests pass it to init and join
	ADMIN=$("$CLI" mesh keygen --out "$T/admin.key")
}

# mesh_sign_host N SUBNET: a WireGuard key h$N set in host N's tapird, and the admin's
# certificate for it and SUBNET in $T/certN.
mesh_sign_host()
{
	keygen "h$1"
	hx "$1" wg set "tm$$$1" private-key "$T/h$1.key"
	"$CLI" mesh sign --admin-key "$T/admin.key" --network "$NET" --public-key "$(pub_of "h$1")" \
		--subnet "$2" >"$T/cert$1"
}
ping1() { hx "$1" timeout 5 ping -c 1 -W 2 "$2"; }

# every host in "$@" pings every other one's overlay address
matrix()
{
	local i j
	for i in "$@"; do
		for j in "$@"; do
			[ "$i" = "$j" ] && continue
			ping_until_ok "$i" "$(addr_of "$j")" || {
				echo "host $i cannot reach host $j ($(addr_of "$j"))"
				return 1
			}
		done
	done
}

# the first packets may only start the handshake: up to 5 tries
ping_until_ok()
{
	local _
	for _ in 1 2 3 4 5; do
		ping1 "$1" "$2" >/dev/null 2>&1 && return 0
	done
	return 1
}

all_have() # HOSTS... -- N: each host has N peers
{
	local h want=${*: -1}
	for h in "${@:1:$#-1}"; do
		has_n_peers "$h" "$want" || return 1
	done
}

# ---------------------------------------------------------------- a 3-member cluster

declare -A MEMBER_PID=()

member_run()
{
	local m=$1 ns="tapir-$$-1$1" ip=192.0.2.10$1
	local cluster=m1=http://192.0.2.101:2380,m2=http://192.0.2.102:2380,m3=http://192.0.2.103:2380
	pretty "$ns" "etcd --name m$m --data-dir $T/etcd$m (member $m of 3)"
	(exec ip netns exec "$ns" etcd --name "m$m" --data-dir "$T/etcd$m" \
		--listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
		--listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		>>"$T/etcd$m.log" 2>&1 </dev/null) &
	MEMBER_PID[$m]=$!
	track_pid "${MEMBER_PID[$m]}"
}

mesh_start_cluster()
{
	local m
	add_ns 9
	ip -n "$HUB" link add mbr type bridge
	ip -n "$HUB" link set mbr up
	ip -n "$HUB" addr add 192.0.2.100/24 dev mbr
	for m in 1 2 3; do
		add_ns "1$m"
		ip link add "e$m" netns "tapir-$$-1$m" type veth peer name "v$m" netns "$HUB"
		ip -n "$HUB" link set "v$m" master mbr
		ip -n "$HUB" link set "v$m" up
		ip -n "tapir-$$-1$m" addr add "192.0.2.10$m/24" dev "e$m"
		ip -n "tapir-$$-1$m" link set "e$m" up
		mkdir "$T/etcd$m"
		member_run "$m"
	done
	ETCD=http://192.0.2.101:2379,http://192.0.2.102:2379,http://192.0.2.103:2379
	# shellcheck disable=SC2154
	trap 'rc=$?; for m in 1 2 3; do signal_child TERM "${MEMBER_PID[$m]}" || true; done; (exit $rc); cleanup' EXIT
	wait_for "the cluster to answer" 30 ctl endpoint health --cluster ||
		bail_out "etcd did not start: $(tail -5 "$T/etcd1.log")"
}

# leader: the member number (1-3) of the current leader, asking each member in turn
leader()
{
	local m
	for m in 1 2 3; do
		ip netns exec "$HUB" timeout 5 etcdctl --endpoints "http://192.0.2.10$m:2379" \
			--command-timeout=2s endpoint status -w simple 2>/dev/null |
			awk -F', ' -v m="$m" '$5 == "true" { print m }'
	done
}

new_leader() # OLD: a leader is elected that is not member OLD
{
	local l
	l=$(leader)
	[ -n "$l" ] && [ "$l" != "$1" ]
}
