#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh when etcd goes away (issue 16): the data plane keeps its peers and keeps carrying
# traffic; the agents stay up, retry with backoff, and once etcd is back (same data dir)
# reconnect, resync and follow the store again: a host that joins afterwards becomes a peer of
# the others, and a record deleted while they were reconnecting is gone from their peers.
#
#   tapir-$$-1 .. tapir-$$-3 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N, agent (--ttl 5)   |==== uN ======| etcd 192.0.2.100:2379,        |
#   |                                 |              | stopped and started again     |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh-lib.sh"
mesh_require

plan 9

NET=t7004

mesh_start_etcd
for n in 1 2 3; do add_host "$n"; done

check "init" hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.70.0.0/16 \
	--keepalive 0
for n in 1 2; do join "$n"; done
check "two hosts are peers" wait_for peers 10 all_have 1 2 1
check "and ping" matrix 1 2

signal_child TERM "$ETCD_PID"
wait_for "etcd to stop" 10 dead "$ETCD_PID"
sleep $((TTL + 1))
check "etcd down for longer than the TTL: the peers stay" all_have 1 2 1
check "and traffic goes on" matrix 1 2
check "the agents are still running" sh -c "kill -0 ${AGENT_PID[1]} && kill -0 ${AGENT_PID[2]}"

etcd_run
wait_for "etcd to answer again" 20 ctl endpoint health || bail_out "etcd did not restart"
join 3
check "a host that joins after the outage becomes a peer of both" \
	wait_for "host 3 everywhere" 15 all_have 1 2 3 2
check "the three ping" matrix 1 2 3
check "the agents reconnected through a resync" \
	sh -c "grep -q 'watch on .* lost: .*; resyncing' $T/agent1.log &&
		[ \$(grep -c 'resynced at revision' $T/agent1.log) -ge 2 ]"
