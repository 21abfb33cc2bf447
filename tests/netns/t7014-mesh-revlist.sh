#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh revocation list (issue 16, doc/mesh-design.md section 8): a revocation that anyone
# with write access to etcd deletes or rolls back still reaches a host that never saw it. The
# admin revokes a spare key (list serial 1, kept aside as an attacker would) and then host 3
# (serial 2); host 4 is signed after that (its certificate names serial 2). The attacker deletes
# every revocation from etcd: host 4 joins with a fresh state dir and applies no record (held;
# its log and `tapir mesh status` say why), so it does not take host 3 as a peer; the attacker
# writes back the older signed list (serial 1): host 4 stays held, hosts 1 and 2 ignore it as a
# rollback and count it; the admin re-issues the list from his copy (serial 3): host 4 takes
# hosts 1 and 2 and not host 3, hosts 1, 2 and 4 ping each other, host 3 reaches none of them;
# host 4's agent restarted with the list deleted again keeps it (its state dir); two admins
# revoking at once both get their key into the list (compare-and-swap); a per-key entry of an
# earlier version is honoured, then folded into the list and deleted by the next revoke.
#
#   tapir-$$-1 .. tapir-$$-4 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N (key from wg set), |              | bridge mbr                    |
#   | agent --admin-pub --cert-file   |==== uN ======| etcd 192.0.2.100:2379         |
#   | 10.54.N.1/32, route 10.54/16    |              |                               |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl python3

plan 19

NET=t7014
declare -A REVOKER=()
L="/tapir/networks/$NET/revocations"
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2 3 4; do add_host "$n"; done

ADMIN=$("$CLI" mesh keygen --out "$T/admin.key")
keygen spare
sign() # N [ARGS...]: host N's certificate for 10.54.N.0/24
{
	hx 1 "$CLI" mesh sign --admin-key "$T/admin.key" --network "$NET" \
		--public-key "$(pub_of "h$1")" --subnet "10.54.$1.0/24" "${@:2}" >"$T/cert$1"
}
for n in 1 2 3 4; do
	keygen "h$n"
	hx "$n" wg set "tm$$$n" private-key "$T/h$n.key"
done
for n in 1 2 3; do sign "$n"; done
hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.54.0.0/16 \
	--admin-pub "$ADMIN" --keepalive 0 >/dev/null
agent() { join "$1" --admin-pub "$ADMIN" --cert-file "$T/cert$1"; }
for n in 1 2 3; do agent "$n"; done
check "3 signed hosts: full-matrix ping" matrix 1 2 3

revoke() # KEY WANT: the admin revokes KEY, keeping his copy in $T/admin.list; prints WANT
{
	hx 1 "$CLI" mesh revoke --etcd "$ETCD" --network "$NET" --admin-key "$T/admin.key" \
		--list "$T/admin.list" --public-key "$1" >"$T/revoke.out" &&
		grep -q "$2" "$T/revoke.out"
}
pub3=$(pub_of h3)
check "the admin revokes a spare key: list serial 1" revoke "$(pub_of spare)" 'serial 1, 1 keys'
ctl get --print-value-only "$L" >"$T/list1" # what the attacker keeps
check "the admin revokes host 3: list serial 2, 2 keys" revoke "$pub3" 'serial 2, 2 keys'
gone3() { all_have 1 2 1 && not_peer_of 1 "$pub3" && not_peer_of 2 "$pub3"; }
check "hosts 1 and 2 drop host 3" wait_for "host 3 gone" 5 gone3

# host 4 is signed now: the certificate names serial 2, read from etcd and verified
sign 4 --etcd "$ETCD"
check "host 4's certificate carries the serial (version 2, 116 characters)" \
	test "$(wc -c <"$T/cert4")" -eq 117

# the attacker deletes every revocation; host 3's record (a valid certificate) stays
ctl del --prefix "/tapir/networks/$NET/revo" >/dev/null
agent 4
held4()
{
	has_n_peers 4 0 && not_peer_of 4 "$pub3" &&
		grep -q "held .* records: no revocation list with serial >= 2 verified" \
			"$T/agent4.log"
}
check "host 4, joining after the deletion, applies no record: not host 3 either (held)" \
	wait_for "host 4 held" 5 held4
status4() # tapir mesh status on host 4, with its agent's state dir
{
	hx 4 "$CLI" mesh status --etcd "$ETCD" --network "$NET" --admin-pub "$ADMIN" \
		--state-dir "$T/s4" >"$T/status4" 2>&1
}
status_held()
{
	status4 && grep -q '^revocation list: none in etcd' "$T/status4" &&
		grep -q '^agent here: held: no record applied .* serial >= 2 .*newest verified is 0' \
			"$T/status4"
}
check "status on host 4 says why: no list in etcd, its agent held for serial 2" status_held
diag_file "$T/status4"

# the attacker writes back the older list the admin signed
ctl put "$L" "$(cat "$T/list1")" >/dev/null
rolled_back()
{
	for n in 1 2; do
		grep -q 'ignored revocation list serial 1: serial 2 was verified before (a rollback' \
			"$T/agent$n.log" || return 1
	done
	grep -q 'revocation list serial 1 verified' "$T/agent4.log" && has_n_peers 4 0 &&
		status4 && grep -q '^agent here: held: .* serial >= 2 .*newest verified is 1' \
		"$T/status4"
}
check "the rolled-back list: hosts 1 and 2 ignore it as a rollback, host 4 stays held" \
	wait_for "the rollback seen" 5 rolled_back
others_keep() { all_have 1 2 2 && not_peer_of 1 "$pub3" && not_peer_of 2 "$pub3"; }
check "hosts 1 and 2 have host 4 and still not host 3" others_keep

# the admin re-issues the list from his copy: serial 3
check "the admin re-issues the list: serial 3, 2 keys (from his copy)" \
	revoke "$pub3" 'serial 3, 2 keys'
joined4() { all_have 4 2 && not_peer_of 4 "$pub3"; }
check "host 4 verifies serial 3 and takes hosts 1 and 2, not host 3" \
	wait_for "host 4's peers" 5 joined4
check "hosts 1, 2 and 4 ping each other" matrix 1 2 4
check_fails "host 3 reaches host 4 no more" ping1 3 "$(addr_of 4)"
status_ok()
{
	status4 && grep -q '^revocation list: serial 3, 2 keys' "$T/status4" &&
		grep -q "^  revoked $pub3  at " "$T/status4" &&
		grep -q '^agent here: revocation list serial 3 verified (this host.s certificate needs 2)' \
			"$T/status4"
}
check "status on host 4: list serial 3, host 3 revoked, its agent no longer held" status_ok
diag_file "$T/status4"

# deleted once more; host 4's agent restarted keeps serial 3 from its state dir
ctl del "$L" >/dev/null
n_verified=$(grep -c 'revocation list serial 3 verified' "$T/agent4.log" || true)
signal_child TERM "${AGENT_PID[4]}"
wait_for "agent 4 to stop" 10 dead "${AGENT_PID[4]}"
agent 4
kept4()
{
	[ "$(grep -c 'revocation list serial 3 verified' "$T/agent4.log")" -gt "$n_verified" ] &&
		joined4 && matrix 1 2 4
}
check "restarted after a deletion, host 4 keeps the list (state dir) and its peers" \
	wait_for "host 4's peers again" 5 kept4
# the admin restores the list from his copy; two admins then revoke at once (without the
# copy): the compare-and-swap loses neither key
ctl put "$L" "$(cat "$T/admin.list")" >/dev/null
keygen spare2
keygen spare3
for k in spare2 spare3; do
	hx 1 "$CLI" mesh revoke --etcd "$ETCD" --network "$NET" --admin-key "$T/admin.key" \
		--public-key "$(pub_of "$k")" >"$T/revoke-$k.out" 2>&1 &
	REVOKER[$k]=$!
done
both_listed()
{
	wait "${REVOKER[spare2]}" && wait "${REVOKER[spare3]}" && status4 &&
		grep -q '^revocation list: serial 5, 4 keys' "$T/status4" &&
		grep -q "^  revoked $(pub_of spare2)  at " "$T/status4" &&
		grep -q "^  revoked $(pub_of spare3)  at " "$T/status4"
}
check "two revokes at once: both keys in the list (serial 5, 4 keys)" both_listed
diag_file "$T/status4"
# a per-key entry as earlier versions wrote it (revoked/HEX, signed over "tapir-mesh-revoke-v1"
# | name | key | time; made here with libsodium through python's ctypes): honoured by the
# agents, then folded into the list and deleted by the next revoke
legacy_entry() # KEYFILE NETWORK PUB
{
	python3 - "$@" <<'PY'
import base64, ctypes, ctypes.util, struct, sys, time
na = ctypes.CDLL(ctypes.util.find_library("sodium"))
sk = base64.b64decode(open(sys.argv[1]).read().strip())
name, key = sys.argv[2].encode(), base64.b64decode(sys.argv[3])
at = struct.pack(">Q", int(time.time()))
msg = b"tapir-mesh-revoke-v1" + bytes([len(name)]) + name + key + at
sig = ctypes.create_string_buffer(64)
assert na.sodium_init() >= 0
assert na.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk) == 0
print(base64.b64encode(b"\x01" + key + at + sig.raw).decode())
PY
}
keygen spare4
keygen spare5
R="/tapir/networks/$NET/revoked"
ctl put "$R/$(b64_to_hex "$(pub_of spare4)")" \
	"$(legacy_entry "$T/admin.key" "$NET" "$(pub_of spare4)")" >/dev/null
legacy_seen()
{
	for n in 1 2 4; do
		grep -q "key $(pub_of spare4) revoked by the admin at [0-9]*\$" "$T/agent$n.log" ||
			return 1
	done
}
check "a per-key entry of an earlier version is verified and honoured by every agent" \
	wait_for "the entry seen" 5 legacy_seen
folded()
{
	revoke "$(pub_of spare5)" 'serial 6, 6 keys' &&
		[ -z "$(ctl get --prefix --keys-only "$R/")" ] && status4 &&
		grep -q "^  revoked $(pub_of spare4)  at " "$T/status4"
}
check "the next revoke folds it into the list (serial 6, 6 keys) and deletes it" folded
diag_file "$T/status4"
for n in 1 2 4; do signal_child TERM "${AGENT_PID[$n]}"; done
check "the exit lines count the rollbacks and the held records" \
	wait_for "exit lines" 10 sh -c "grep -q 'revocation list serial 6, 1 rollbacks ignored' \
		$T/agent1.log && grep -q 'revocation list serial 3, 0 rollbacks ignored, [1-9][0-9]* records held' \
		$T/agent4.log"
