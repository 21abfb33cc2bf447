#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh: the agent outlives its tapird (issue 16, the fleet's process model). 3 signed hosts
# on a single-member etcd; host 3's agent runs with NOTIFY_SOCKET bound by a python3 receiver,
# as systemd would for tapir-mesh@.service (Type=notify). Checks:
#  (a) READY=1 arrives once the agent has joined and resynced;
#  (b) host 3's tapird is killed with SIGKILL and `tapir up FILE --foreground` (what
#      tapir@.service runs, its file holding only the PrivateKey) brings a new one up on the same
#      interface with no peers and no address: within 5 s the agent has put its address and
#      every peer back (it stats the UAPI socket every second and resyncs by diff), pings go
#      both ways, the record and subnet are unchanged, and hosts 1 and 2 never dropped host 3;
#  (b2) the same with etcd stopped: the agent sets the peers it knew back from memory, and
#      resyncs when etcd returns;
#  (c) tapird stopped for longer than the TTL: the agent logs it once and keeps its lease, so
#      hosts 1 and 2 keep host 3 as a peer; a bare tapird (no key at all) started then gets the
#      host's key back from the agent, not a new one (the certificate binds it), and its peers;
#  (d) SIGTERM: STOPPING=1, and the lease is revoked (hosts 1 and 2 drop host 3 at once).
#
#   tapir-$$-1 .. tapir-$$-3 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N, agent (--ttl 5)   |              | bridge mbr                    |
#   |  tm$$N 10.51.N.1/32, 10.51/16   |              | etcd 192.0.2.100:2379         |
#   | hN 192.0.2.N/24                 |==== uN ======|  data dir in $T (mktemp)      |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh-lib.sh"
mesh_require python3

plan 25

NET=t7017
IF3="tm$$3"

# receiver PATH OUT: the notify datagrams to PATH in OUT (lib.sh), for at most 300 s.
receiver() { notify_receiver "" "$1" "$2" 300; }
got() { grep -q "$2" "$1"; }

mesh_start_etcd
mesh_admin
for n in 1 2 3; do
	add_host "$n"
	mesh_sign_host "$n" "10.51.$n.0/24"
done
hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.51.0.0/16 --admin-pub "$ADMIN" \
	--keepalive 0 >/dev/null
# /etc/tapir/mesh0.conf for tapir@mesh0.service: only the key (the agent does the rest)
printf '[Interface]\nPrivateKey = %s\n' "$(cat "$T/h3.key")" >"$T/$IF3.conf"
chmod 600 "$T/$IF3.conf"

# ---------------------------------------------------------------- (a) READY=1

receiver "$T/notify" "$T/notify.out"
join 1 --admin-pub "$ADMIN" --cert-file "$T/cert1"
join 2 --admin-pub "$ADMIN" --cert-file "$T/cert2"
NOTIFY_SOCKET="$T/notify" join 3 --admin-pub "$ADMIN" --cert-file "$T/cert3"
check "3 signed hosts: 2 peers each" wait_for "2 peers each" 10 all_have 1 2 3 2
check "READY=1 once the agent has joined and resynced" \
	wait_for "READY=1" 5 got "$T/notify.out" "READY=1|STATUS=joined $NET on $IF3"
check "3 signed hosts: full-matrix ping" matrix 1 2 3

pub3=$(pub 3)
addr3=$(addr_of 3)
rec3=$(ctl get --print-value-only "/tapir/networks/$NET/subnets/10.51.3.0-24")
removals3() { cat "$T/agent1.log" "$T/agent2.log" | grep -c "peer 10.51.3.0/24 removed" || true; }
back_in_order() # host 3 has both peers, its overlay address and the overlay route
{
	has_n_peers 3 2 &&
		ip -n "tapir-$$-3" -4 addr show "$IF3" | grep -qF "inet $addr3/32" &&
		ip -n "tapir-$$-3" route show 10.51.0.0/16 | grep -q "dev $IF3"
}

up3() # tapir up FILE --foreground for host 3, as tapir@.service runs it; UP_PID
{
	pretty "tapir-$$-3" "tapir up $T/$IF3.conf --foreground   (as tapir@.service does)"
	(exec ip netns exec "tapir-$$-3" env --default-signal TAPIRD="$IMPL" LOG_LEVEL=verbose \
		"$CLI" up "$T/$IF3.conf" --foreground >>"$T/up3.log" 2>&1 </dev/null) &
	UP_PID=$!
	track_pid "$UP_PID"
	wait_for "tapir up to bring $IF3 up" 15 \
		sh -c "ip netns exec tapir-$$-3 wg show $IF3 >/dev/null 2>&1" || diag_file "$T/up3.log"
}
resyncs3() { grep -c "resynced at revision" "$T/agent3.log" || true; }

# ---------------------------------------------------------------- (b) tapird SIGKILLed, restarted

signal_child KILL "${DAEMON_PID[$IF3]}"
wait_for "tapird 3 to die" 5 dead "${DAEMON_PID[$IF3]}"
up3
start=${EPOCHREALTIME/./}
# The agent compares the socket's inode and ctime every second (TAPIRD_CHECK_MS) and then sets
# the key, port, address and peers in a few UAPI and netlink calls plus one etcd range: about
# 1 s; 5 s leaves room for a loaded machine, and the old agent never does it (only after a lost
# watch).
check "tapird restarted: within 5 s host 3 has its peers, address and route again" \
	wait_for "host 3 back in order" 5 back_in_order
diag "host 3 was back in order $(((${EPOCHREALTIME/./} - start) / 1000)) ms after its new tapird answered"
check_eq "its public key is the one the certificate binds" "$pub3" pub 3
check_eq "its record is unchanged in etcd" "$rec3" \
	ctl get --print-value-only "/tapir/networks/$NET/subnets/10.51.3.0-24"
check_eq "its subnet is unchanged" "$addr3" addr_of 3
check "host 3 reaches hosts 1 and 2, and they reach it" matrix 3 1 2
check_eq "hosts 1 and 2 never dropped host 3" 0 removals3
check "and still have it as a peer" peer_of_all "$pub3" 1 2
check "agent 3 logged the restart" grep -qE "tapird on $IF3 (was restarted|is back)" "$T/agent3.log"

# ---------------------------------------------------------------- (b2) the same with etcd down


signal_child TERM "$ETCD_PID"
wait_for "etcd to stop" 10 dead "$ETCD_PID"
signal_child TERM "$UP_PID"
wait_for "tapir up 3 to stop" 10 dead "$UP_PID"
up3
check "etcd down, tapird restarted: within 5 s host 3 has its peers (from the agent's memory)" \
	wait_for "host 3 back in order" 5 back_in_order
check "and pings go both ways" matrix 3 1 2
before=$(resyncs3)
etcd_run
wait_for "etcd to answer" 20 ctl endpoint health
resynced_and_kept() { [ "$(resyncs3)" -gt "$before" ] && peer_of_all "$pub3" 1 2; }
check "etcd back: agent 3 resyncs, hosts 1 and 2 still have host 3" \
	wait_for "agent 3 to resync" 10 resynced_and_kept

# ---------------------------------------------------------------- (c) no tapird for over a TTL

lines_before=$(wc -l <"$T/agent3.log")
signal_child TERM "$UP_PID"
wait_for "tapir up 3 to stop" 10 dead "$UP_PID"
sleep $((TTL + 2))
check "no tapird for TTL + 2 s: the agent is still running" alive "${AGENT_PID[3]}"
check_eq "its record (and lease) is still in etcd" "$rec3" \
	ctl get --print-value-only "/tapir/networks/$NET/subnets/10.51.3.0-24"
check "hosts 1 and 2 kept host 3 as a peer" peer_of_all "$pub3" 1 2
check_eq "and never removed it" 0 removals3
check_eq "the agent said once (not at each retry) that tapird does not answer" 1 \
	sh -c "tail -n +$((lines_before + 1)) '$T/agent3.log' | grep -c 'tapird on $IF3 does not answer'"
start_daemon "tapir-$$-3" "$IMPL" "$IF3" stale-ok
check "a bare tapird (no key): within 5 s host 3 has its peers, address and route again" \
	wait_for "host 3 back in order" 5 back_in_order
check_eq "the agent gave it the host's key, not a new one" "$pub3" pub 3
check "pings go both ways again" matrix 3 1 2
check "agent 3 logged that tapird is back" grep -q "tapird on $IF3 is back" "$T/agent3.log"

# ---------------------------------------------------------------- (d) SIGTERM

signal_child TERM "${AGENT_PID[3]}"
check "SIGTERM: STOPPING=1" wait_for "STOPPING=1" 5 got "$T/notify.out" "STOPPING=1"
check "SIGTERM: the lease is revoked, hosts 1 and 2 drop host 3 at once (2 s)" \
	wait_for "host 3 to go" 2 peer_of_none "$pub3" 1 2
diag_file "$T/agent3.log"
