#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh revocation (issue 16, doc/mesh-design.md section 8): `tapir mesh revoke` adds one
# host's WireGuard key to the network's revocation list (/tapir/networks/NAME/revocations),
# signed with the admin key. Checks: 3 signed hosts ping; what an etcd writer without the admin
# key can store (a garbage per-key entry under revoked/ as older versions wrote, a garbage list,
# a list signed by a rogue key, the admin's list of another network) is ignored, logged and
# counted by every agent and changes nothing; the admin revokes host 3: hosts 1 and 2 drop it
# within 2 s and reach it no more, host 3's agent logs that it is revoked; host 1's agent
# restarted (a resync from scratch) keeps host 3 out; the revocation deleted from etcd and host
# 3's record written again (its agent restarted): hosts 1 and 2 still refuse it, and so does
# host 1's agent restarted once more (it kept the list in its state dir). What a new host
# learns after the deletion is t7014's.
#
#   tapir-$$-1 .. tapir-$$-3 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N (key from wg set), |              | bridge mbr                    |
#   | agent --admin-pub --cert-file   |==== uN ======| etcd 192.0.2.100:2379         |
#   | 10.52.N.1/32, route 10.52/16    |              |                               |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl

plan 20

NET=t7010
R="/tapir/networks/$NET/revoked"
L="/tapir/networks/$NET/revocations"
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2 3; do add_host "$n"; done

ADMIN=$("$CLI" mesh keygen --out "$T/admin.key")
"$CLI" mesh keygen --out "$T/rogue.key" >/dev/null
for n in 1 2 3; do
	keygen "h$n"
	hx "$n" wg set "tm$$$n" private-key "$T/h$n.key"
	"$CLI" mesh sign --admin-key "$T/admin.key" --network "$NET" --public-key "$(pub_of "h$n")" \
		--subnet "10.52.$n.0/24" >"$T/cert$n"
done
hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.52.0.0/16 \
	--admin-pub "$ADMIN" --keepalive 0 >/dev/null
agent() { join "$1" --admin-pub "$ADMIN" --cert-file "$T/cert$1"; }
for n in 1 2 3; do agent "$n"; done
check "3 signed hosts: 2 peers each" wait_for "2 peers each" 10 all_have 1 2 3 2
check "3 signed hosts: full-matrix ping" matrix 1 2 3

# ---------------------------------------------------------------- forged revocations

pub3=$(pub_of h3)
hex3=$(b64_to_hex "$pub3")
# offline lists (no --etcd: a new list printed as "ETCD-KEY VALUE", not written)
offline() # KEYFILE NETWORK PUB: the value only
{
	"$CLI" mesh revoke --admin-key "$1" --network "$2" --public-key "$3" 2>/dev/null |
		cut -d' ' -f2
}
check "an offline revocation prints the list under the etcd key it belongs to" \
	sh -c "'$CLI' mesh revoke --admin-key '$T/admin.key' --network $NET --public-key '$pub3' |
		grep -q '^$L [A-Za-z0-9+/=]*\$'"
ctl put "$R/$hex3" 'not a revocation' >/dev/null
ctl put "$L" 'not a revocation list' >/dev/null
ctl put "$L" "$(offline "$T/rogue.key" "$NET" "$pub3")" >/dev/null
ctl put "$L" "$(offline "$T/admin.key" other "$pub3")" >/dev/null
check "the 4 forged revocations are ignored by every agent, each with its reason" \
	wait_for "4 log lines each" 5 sh -c "for n in 1 2 3; do
		grep -q 'ignored revocation $R/$hex3: the revocation is malformed' $T/agent\$n.log &&
		grep -q 'ignored revocation $L: the revocation list is malformed' $T/agent\$n.log &&
		grep -q 'ignored revocation $L: the revocation list.s signature does not verify' \
			$T/agent\$n.log &&
		grep -q 'ignored revocation $L: the revocation list is for another network' \
			$T/agent\$n.log || exit 1; done"
nothing_revoked()
{
	all_have 1 2 3 2 &&
		! grep -q 'revoked by the admin\|this host is revoked' "$T"/agent[123].log
}
check "and they change nothing: 2 peers each, no key revoked" nothing_revoked
check "the mesh still pings" matrix 1 2 3
status() # tapir mesh status, with the admin key unless "-"
{
	if [ "${1:-}" = - ]; then
		hx 1 "$CLI" mesh status --etcd "$ETCD" --network "$NET"
	else
		hx 1 "$CLI" mesh status --etcd "$ETCD" --network "$NET" --admin-pub "$ADMIN"
	fi >"$T/status" 2>&1
}
# two are left in etcd: the garbage entry under revoked/ and the list of another network
status_forged()
{
	status && grep -q '^3 hosts, 0 records ignored' "$T/status" &&
		grep -q '^revocation list: ignored: the revocation list is for another network' \
			"$T/status" &&
		grep -q '^0 keys revoked (0 records of them refused), 2 revocations ignored' \
			"$T/status" && ! grep -q '^  revoked ' "$T/status"
}
check "status: no key revoked, the 2 forged revocations in etcd ignored, 3 hosts" status_forged
diag_file "$T/status"
status_unverified()
{
	status - && [ "$(grep -c '^  revoked .*(not verified: no --admin-pub)' "$T/status")" -eq 1 ] &&
		grep -q '^revocation list: in etcd, not verified (no --admin-pub)' "$T/status"
}
check "status without --admin-pub lists them as not verified" status_unverified
ctl del --prefix "$R/" >/dev/null
ctl del "$L" >/dev/null

# ---------------------------------------------------------------- the admin revokes host 3

check "tapir mesh revoke writes the admin's revocation of host 3" \
	hx 1 "$CLI" mesh revoke --etcd "$ETCD" --network "$NET" --admin-key "$T/admin.key" \
	--public-key "$pub3"
check_fails "a revocation with another admin key is refused before it reaches etcd" \
	hx 1 "$CLI" mesh revoke --etcd "$ETCD" --network "$NET" --admin-key "$T/rogue.key" \
	--public-key "$(pub_of h1)"
gone3() # hosts 1 and 2 have one peer each, and it is not host 3
{
	all_have 1 2 1 && not_peer_of 1 "$pub3" && not_peer_of 2 "$pub3"
}
check "hosts 1 and 2 drop host 3 within 2 s" wait_for "host 3 gone" 2 gone3
check_fails "host 1 reaches host 3 no more" ping1 1 "$(addr_of 3)"
status_revoked()
{
	status && grep -q "^  revoked $pub3  at [0-9]*\$" "$T/status" &&
		grep -q '^2 hosts, 0 records ignored' "$T/status" &&
		grep -q '^1 keys revoked' "$T/status" && ! grep -q '^  10\.52\.3\.0/24 ' "$T/status"
}
check "status lists host 3's key as revoked, and hosts 1 and 2 only" status_revoked
diag_file "$T/status"
status_json_revoked()
{
	hx 1 "$CLI" mesh status --etcd "$ETCD" --network "$NET" --admin-pub "$ADMIN" --json \
		>"$T/status.json" &&
		jq -e --arg k "$pub3" '(.hosts | length) == 2 and .records_ignored == 0 and
			(.hosts | map(.public_key) | index($k)) == null and
			.revocation_list.state == "verified" and .revocation_list.serial >= 1 and
			[.revocation_list.revoked[].public_key] == [$k]' "$T/status.json" >/dev/null
}
check "status --json: 2 hosts, host 3's key revoked by a verified list" status_json_revoked
check "host 3's agent logs that it is revoked; 1 and 2 log the revocation" \
	sh -c "grep -q 'this host is revoked' $T/agent3.log &&
		grep -q 'key $pub3 revoked by the admin' $T/agent1.log &&
		grep -q 'key $pub3 revoked by the admin' $T/agent2.log"

# host 1's agent starts again: its first resync reads the revocation before the records
signal_child TERM "${AGENT_PID[1]}"
wait_for "agent 1 to stop" 10 dead "${AGENT_PID[1]}"
agent 1
sleep 1
refused_by() # N: host N's agent refused host 3's record for its key
{
	grep -q "ignored record /tapir/networks/$NET/subnets/10.52.3.0-24: its public key is revoked" \
		"$T/agent$1.log"
}
restarted_keeps_out() { refused_by 1 && gone3 && matrix 1 2; }
check "after a restart host 1's agent keeps host 3 out (its record is refused)" \
	restarted_keeps_out

# the list deleted from etcd, host 3's record written again: the agents that saw it keep it
ctl del "$L" >/dev/null
signal_child TERM "${AGENT_PID[3]}"
wait_for "agent 3 to stop" 10 dead "${AGENT_PID[3]}"
agent 3
stays_revoked()
{
	grep -q 'the revocation list was deleted from etcd; serial 1 stays in force' \
		"$T/agent2.log" &&
		refused_by 2 && gone3
}
check "a revocation deleted from etcd stays in force; host 3's new record is refused" \
	wait_for "host 2 to refuse host 3's new record" 5 stays_revoked
check_fails "host 2 reaches host 3 no more" ping1 2 "$(addr_of 3)"

# host 1's agent restarted after the deletion: it reads the revocation back from its state dir
n_refused=$(grep -c "10.52.3.0-24: its public key is revoked" "$T/agent1.log" || true)
n_verified=$(grep -c 'revocation list serial 1 verified: 1 keys' "$T/agent1.log" || true)
signal_child TERM "${AGENT_PID[1]}"
wait_for "agent 1 to stop" 10 dead "${AGENT_PID[1]}"
agent 1
kept_on_disk()
{
	[ "$(grep -c 'revocation list serial 1 verified: 1 keys' "$T/agent1.log")" -gt "$n_verified" ] &&
		[ "$(grep -c '10.52.3.0-24: its public key is revoked' "$T/agent1.log")" -gt "$n_refused" ] &&
		gone3 && matrix 1 2
}
check "restarted after the deletion, host 1's agent keeps the revocation (state dir)" \
	wait_for "host 1 to refuse host 3 again" 5 kept_on_disk

for n in 1 2; do signal_child TERM "${AGENT_PID[$n]}"; done
check "the exit lines count the revoked key and the ignored revocations" \
	wait_for "exit lines" 10 sh -c "grep -q '1 keys revoked, 0 revocations ignored' $T/agent1.log &&
		grep -q '1 keys revoked, 4 revocations ignored' $T/agent2.log"
