#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh (issue 16, increment 1): a single-member etcd (Debian's etcd-server, own data dir
# and namespace) and up to 4 hosts, each a tapird plus a `tapir mesh join` agent. Checks: the
# full matrix of 3 hosts pings over the overlay; a 4th host is a peer of all and reachable
# within 5 s; malformed records written with etcdctl (not JSON, oversized, outside the CIDR,
# a subnet that is not its key's) are ignored with a log line and change nothing; a host whose
# agent is SIGKILLed stays until its 5 s TTL runs out, then goes from every peer list; a host
# that leaves goes at once; an agent restarted after SIGTERM gets its old subnet back (the
# state file), although a lower subnet is free, and one restarted at once after SIGKILL takes
# its record over from its old lease; status lists hosts and which are peers here. Host 4's
# agent and one status read the store in pages of 1 and 2 keys.
#
#   tapir-$$-1 .. tapir-$$-4 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N, agent (--ttl 5)   |              | bridge mbr                    |
#   |  tm$$N 10.42.S.1/32, 10.42/16   |              | etcd 192.0.2.100:2379         |
#   | hN 192.0.2.N/24                 |==== uN ======|  data dir in $T (mktemp)      |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh-lib.sh"
mesh_require

plan 34

NET=t7001

mesh_start_etcd
for n in 1 2 3 4; do add_host "$n"; done

# ---------------------------------------------------------------- init and 3 hosts

check "mesh init writes the network" \
	hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.42.0.0/16 --keepalive 0
check_fails "mesh init refuses to overwrite it" \
	hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.43.0.0/16
check_fails "mesh init rejects a subnet length not longer than the CIDR" \
	hx 1 "$CLI" mesh init --etcd "$ETCD" --network other --cidr 10.44.0.0/16 --subnet-len 16
check_eq "the config is in etcd" \
	'{"cidr":"10.42.0.0/16","subnet_len":24,"mode":"tun","port":51820,"mtu":1420,"keepalive":0}' \
	ctl get --print-value-only "/tapir/networks/$NET/config"

for n in 1 2 3; do join "$n"; done
check "3 hosts: each has the 2 others as peers" wait_for "2 peers each" 10 all_have 1 2 3 2
check "3 hosts: full-matrix ping over the overlay" matrix 1 2 3
check_eq "subnet.env of host 1" "$(printf 'NETWORK=10.42.0.0/16\nSUBNET=%s/24\nMTU=1420\nIPMASQ=false' \
	"$(addr_of 1)")" cat "$T/s1/subnet.env"
check "the overlay route and the MTU are set" \
	sh -c "ip -n tapir-$$-1 route show 10.42.0.0/16 | grep -q 'dev tm$$1' &&
		ip -n tapir-$$-1 link show tm$$1 | grep -q 'mtu 1420'"
check "host 2's allowed IPs on host 1 are its /24" \
	sh -c "[ \"\$(ip netns exec tapir-$$-1 wg show tm$$1 allowed-ips | grep -F '$(pub 2)' | cut -f2)\" = \
		'$(addr_of 2 | sed 's/\.1$/.0/')/24' ]"
check "no private key in etcd" \
	sh -c "! ip netns exec $HUB etcdctl --endpoints $ETCD get --prefix /tapir | grep -qiF \
		\"\$(ip netns exec tapir-$$-1 wg show tm$$1 private-key)\""

# ---------------------------------------------------------------- a 4th host

# host 4 reads the store one key per request (paged ranges at one revision): it must still
# find the config and all three records
join 4 --page-size 1
start=${EPOCHREALTIME/./}
check "host 4 (--page-size 1) and hosts 1-3 are each other's peers within 5 s" \
	wait_for "host 4 everywhere" 5 all_have 1 2 3 4 3
diag "host 4 was a peer everywhere after $(((${EPOCHREALTIME/./} - start) / 1000)) ms"
check "hosts 1-3 reach host 4 and back" matrix 1 2 3 4
check "status (--page-size 2) lists 4 hosts, 3 of them peers here" \
	sh -c "ip netns exec tapir-$$-1 '$CLI' mesh status --etcd $ETCD --network $NET \
		--page-size 2 --interface tm$$1 >'$T/status' && grep -q '^4 hosts, 0 records ignored' '$T/status' &&
		[ \$(grep -c 'peer here' '$T/status') -eq 3 ] && grep -q 'this host' '$T/status'"
diag_file "$T/status"
status_json()
{
	hx 1 "$CLI" mesh status --etcd "$ETCD" --network "$NET" --interface "tm$$1" --json \
		>"$T/status.json" &&
		jq -e '.schema_version == 1 and .network.name == "t7001" and
			.network.cidr == "10.42.0.0/16" and .network.mode == "tun" and
			(.hosts | length) == 4 and .records_ignored == 0 and
			([.hosts[].role] | sort) == ["peer here", "peer here", "peer here", "this host"] and
			([.hosts[].subnet] | sort) == ([.hosts[].subnet] | unique) and
			.revocation_list.state == "none" and .revocation_list.revoked == []' \
			"$T/status.json" >/dev/null
}
check "status --json: the same 4 hosts and roles, as one object" status_json

# ---------------------------------------------------------------- malformed records

P="/tapir/networks/$NET/subnets"
big=$(head -c 3000 /dev/zero | tr '\0' x)
ctl put "$P/10.42.200.0-24" 'not json' >/dev/null
ctl put "$P/10.42.201.0-24" "{\"public_key\":\"$(pub 1)\",\"pad\":\"$big\"}" >/dev/null
ctl put "$P/10.43.0.0-24" "{\"public_key\":\"$(wg genkey | wg pubkey)\",\"endpoint\":\"192.0.2.50:51820\",\"subnet\":\"10.43.0.0/24\"}" >/dev/null
ctl put "$P/10.42.202.0-24" "{\"public_key\":\"$(wg genkey | wg pubkey)\",\"endpoint\":\"192.0.2.50:51820\",\"subnet\":\"10.42.203.0/24\"}" >/dev/null
ctl put "$P/10.42.204.0-24" "{\"public_key\":\"AAAA\",\"endpoint\":\"192.0.2.50:51820\",\"subnet\":\"10.42.204.0/24\"}" >/dev/null
check "each agent logs the 5 ignored records" wait_for "5 log lines" 5 \
	sh -c "for n in 1 2 3 4; do [ \$(grep -c 'ignored record' $T/agent\$n.log) -ge 5 ] || exit 1; done"
check "the reasons are named" \
	sh -c "grep -q 'not a JSON object' $T/agent1.log && grep -q 'over 1024 bytes' $T/agent1.log &&
		grep -q 'not a subnet of the network' $T/agent1.log &&
		grep -q 'not the one of its key' $T/agent1.log && grep -q 'not a base64 key' $T/agent1.log"
check "nothing else changed: still 3 peers each" all_have 1 2 3 4 3
check "the mesh still pings" matrix 1 4
ctl del --prefix "$P/10.42.20" >/dev/null
ctl del "$P/10.43.0.0-24" >/dev/null

# ---------------------------------------------------------------- a host dies (SIGKILL)

pub4=$(pub 4)
signal_child KILL "${AGENT_PID[4]}"
wait_for "agent 4 to die" 5 dead "${AGENT_PID[4]}"
start=${EPOCHREALTIME/./}
sleep 1
check "after SIGKILL host 4 stays a peer while its lease lives" peer_of_all "$pub4" 1 2 3
check "host 4 is gone from every peer list after its TTL" \
	wait_for "host 4 to expire" $((TTL + 10)) all_have 1 2 3 2
took=$(((${EPOCHREALTIME/./} - start) / 1000))
diag "host 4 was removed everywhere $took ms after SIGKILL (TTL $TTL s)"
# The lease was last kept alive at most TTL/3 before the kill (the agent's keepalive period), so
# it runs out between 2/3 of the TTL and the TTL after it; half a second of slack for the poll.
check "it took at least the TTL less one keepalive period" \
	test "$took" -ge $((TTL * 1000 * 2 / 3 - 500))

# ---------------------------------------------------------------- leave, restart

sub1=$(addr_of 1)
sub2=$(addr_of 2)
pub1=$(pub 1)
pretty "tapir-$$-1" "tapir mesh leave --network $NET"
hx 1 "$CLI" mesh leave --network "$NET" --state-dir "$T/s1" >>"$T/agent1.log" 2>&1
check "leave: host 1 is removed from hosts 2 and 3 at once (2 s)" \
	wait_for "host 1 to go" 2 peer_of_none "$pub1" 2 3
check "leave: the agent exited and the state file is gone" \
	sh -c "! kill -0 ${AGENT_PID[1]} 2>/dev/null && ! test -e $T/s1/$NET.state"

signal_child TERM "${AGENT_PID[2]}"
check "SIGTERM: the agent exits" wait_for "agent 2 to exit" 5 dead "${AGENT_PID[2]}"
check "SIGTERM: host 2 is removed from host 3 at once" \
	wait_for "host 2 to go" 2 has_n_peers 3 0
join 2
check_eq "restart: host 2 gets its old subnet although ${sub1%.1}.0/24 is free" "$sub2" addr_of 2
join 1
check "host 1 rejoins and takes the free subnet" test "$(addr_of 1)" = "$sub1"
check "all three are peers again" wait_for "2 peers each" 10 all_have 1 2 3 2
check "full-matrix ping after leave, restart and rejoin" matrix 1 2 3
# a crash and an immediate restart: the record still lives under the old lease; the new agent
# takes it over (a transaction on its mod revision) and binds it to its own lease, so it
# survives the old lease's expiry
sub3=$(addr_of 3)
removals3() { cat "$T/agent1.log" "$T/agent2.log" | grep -c "peer ${sub3%.1}.0/24 removed" || true; }
removed_before=$(removals3)
signal_child KILL "${AGENT_PID[3]}"
wait_for "agent 3 to die" 5 dead "${AGENT_PID[3]}"
join 3
check_eq "crash + restart within the TTL: host 3 keeps its subnet" "$sub3" addr_of 3
sleep $((TTL + 2))
check "host 3 outlives its old lease: TTL + 2 s later still a peer of 1 and 2" \
	peer_of_all "$(pub 3)" 1 2
check_eq "and was never removed from them meanwhile" "$removed_before" removals3
check "and still pings" matrix 1 3
check "the agents logged no etcd or UAPI error" \
	sh -c "! grep -E 'cannot|malformed' $T/agent1.log $T/agent2.log $T/agent3.log"
