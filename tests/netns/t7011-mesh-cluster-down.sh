#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh when every member of a 3-member etcd cluster stops at once (issue 16): the data
# plane keeps its peers and carries traffic for longer than the TTL; the agents stay up and
# retry; the three members start again on their data dirs and the state converges: a record
# deleted as the cluster comes back (before the agents' backoff has reconnected them) is gone
# from every host, a host whose agent was killed during the outage goes once its lease runs out
# on the restarted cluster, and a host that joins afterwards is a peer of all.
#
#   tapir-$$-1..4 (hosts)        tapir-$$-9 (hub: bridge mbr)        tapir-$$-11..13 (etcd m1..m3)
#   hN 192.0.2.N ============== mbr ============================== eM 192.0.2.10M:2379/2380
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh-lib.sh"
mesh_require

plan 12

NET=t7011
P="/tapir/networks/$NET/subnets"

mesh_start_cluster
for n in 1 2 3 4; do add_host "$n"; done
check "init through the cluster" hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" \
	--cidr 10.91.0.0/16 --keepalive 0
for n in 1 2 3; do join "$n"; done
# a record with no agent behind it (no lease), which the admin deletes later
ghost=$(wg genkey | wg pubkey)
ctl put "$P/10.91.200.0-24" \
	"{\"public_key\":\"$ghost\",\"endpoint\":\"192.0.2.200:51820\",\"subnet\":\"10.91.200.0/24\"}" \
	>/dev/null
check "three hosts and a record without an agent: 3 peers each" \
	wait_for "3 peers each" 10 all_have 1 2 3 3
check "the three ping" matrix 1 2 3
pub3=$(pub 3)

for m in 1 2 3; do signal_child TERM "${MEMBER_PID[$m]}"; done
for m in 1 2 3; do wait_for "member $m to stop" 10 dead "${MEMBER_PID[$m]}"; done
# host 3's agent dies while the store is down: its lease can only run out once it is back
signal_child KILL "${AGENT_PID[3]}"
sleep $((TTL + 1))
check "every member down for longer than the TTL: the peers stay" all_have 1 2 3 3
check "and traffic goes on" matrix 1 2 3
agents_alive() { kill -0 "${AGENT_PID[1]}" && kill -0 "${AGENT_PID[2]}"; }
check "the agents are still running" agents_alive

for m in 1 2 3; do member_run "$m"; done
wait_for "the cluster to answer again" 30 ctl endpoint health --cluster ||
	bail_out "etcd did not restart: $(tail -5 "$T/etcd1.log")"
ctl del "$P/10.91.200.0-24" >/dev/null
join 4
pub4=$(pub 4)
check "a host that joins after the restart is a peer of all" \
	wait_for "host 4" 15 peer_of_all "$pub4" 1 2
check "the record deleted as the cluster came back is no peer anywhere" \
	wait_for "the deleted record to go" 10 peer_of_none "$ghost" 1 2 4
check "host 3, killed during the outage, goes once its lease runs out" \
	wait_for "host 3's lease" $((TTL + 15)) peer_of_none "$pub3" 1 2 4
check "converged: hosts 1, 2 and 4 have 2 peers each" wait_for "2 peers each" 5 all_have 1 2 4 2
check "and ping" matrix 1 2 4
check "the agents survived and reconnected through a resync" \
	sh -c "kill -0 ${AGENT_PID[1]} && kill -0 ${AGENT_PID[2]} &&
		grep -q 'watch on .* lost: .*; resyncing' $T/agent1.log &&
		[ \$(grep -c 'resynced at revision' $T/agent1.log) -ge 2 ]"
