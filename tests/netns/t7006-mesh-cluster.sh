#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh on a 3-member etcd cluster (issue 16): agents are given all three endpoints, the
# leader's first, so they talk to the leader. The leader is killed with SIGKILL: the agents fail
# over to the other members (their peers stay, they keep their leases across the election), and
# a new host, whose first endpoint is now dead, still joins and becomes a peer of all.
#
#   tapir-$$-1..3 (hosts)        tapir-$$-9 (hub: bridge mbr)        tapir-$$-11..13 (etcd m1..m3)
#   hN 192.0.2.N ============== mbr ============================== eM 192.0.2.10M:2379/2380
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh-lib.sh"
mesh_require

plan 7

NET=t7006

mesh_start_cluster
for n in 1 2 3; do add_host "$n"; done
L=$(leader)
check "the cluster has a leader" test -n "$L"
diag "leader: member $L"
# the leader first: the agents talk to it until it dies, then must fail over
URLS="http://192.0.2.10$L:2379,$ETCD"
check "init through the cluster" hx 1 "$CLI" mesh init --etcd "$URLS" --network "$NET" \
	--cidr 10.90.0.0/16 --keepalive 0
for n in 1 2; do join "$n" --etcd "$URLS"; done
check "two hosts are peers" wait_for "peers" 10 all_have 1 2 1
signal_child KILL "${MEMBER_PID[$L]}"
wait_for "the leader to die" 5 dead "${MEMBER_PID[$L]}"
check "a new leader is elected among the two others" wait_for "a new leader" 20 new_leader "$L"
join 3 --etcd "$URLS"
check "a host joining after the leader's death is a peer of all" \
	wait_for "host 3 everywhere" 15 all_have 1 2 3 2
check "the three ping" matrix 1 2 3
sleep $((TTL + 1))
check "TTL + 1 s after the election every host is still a peer of the others" all_have 1 2 3 2
