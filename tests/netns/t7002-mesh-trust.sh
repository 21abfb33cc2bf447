#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh host certificates (issue 16, increment 2): the network's admin key (Ed25519,
# `tapir mesh keygen`) signs each host's WireGuard key and subnet (`tapir mesh sign`); agents
# given the admin's public key take only the subnet of their certificate and ignore every
# record whose certificate does not verify. Checks: 3 signed hosts ping each other; records
# written straight into etcd (no certificate, another host's certificate with a new key, one
# signed by a rogue key, one whose certificate names another subnet) are ignored with a log line
# and become nobody's peer; an overwritten record is ignored (the peer stays as it was, no
# flap) and put back by its owner; joins
# without the admin key, with a rogue certificate, or for a subnet another host holds are
# refused; a 4th host with a valid certificate joins.
#
#   tapir-$$-1 .. tapir-$$-4 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N (key from wg set), |              | bridge mbr                    |
#   | agent --admin-pub --cert-file   |==== uN ======| etcd 192.0.2.100:2379         |
#   | 10.50.N.1/32, route 10.50/16    |              |                               |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl
"$CLI" mesh --help 2>/dev/null | grep -q 'mesh sign' || skip_all "this tapir cannot sign"

plan 17

NET=t7002
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2 3 4; do add_host "$n"; done

ADMIN=$("$CLI" mesh keygen --out "$T/admin.key")
"$CLI" mesh keygen --out "$T/rogue.key" >/dev/null
# sign KEYFILE PUB SUBNET: a certificate
sign() { "$CLI" mesh sign --admin-key "$1" --network "$NET" --public-key "$2" --subnet "$3"; }
for n in 1 2 3 4; do
	keygen "h$n"
	hx "$n" wg set "tm$$$n" private-key "$T/h$n.key"
	sign "$T/admin.key" "$(pub_of "h$n")" "10.50.$n.0/24" >"$T/cert$n"
done
sign "$T/admin.key" "$(pub_of h4)" 10.50.1.0/24 >"$T/cert4-taken"
sign "$T/rogue.key" "$(pub_of h4)" 10.50.4.0/24 >"$T/cert4-rogue"

check "init with the admin's public key" \
	hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.50.0.0/16 \
	--admin-pub "$ADMIN" --keepalive 0

for n in 1 2 3; do join "$n" --admin-pub "$ADMIN" --cert-file "$T/cert$n"; done
check "each host took the subnet of its certificate" \
	sh -c "[ '$(addr_of 1) $(addr_of 2) $(addr_of 3)' = '10.50.1.1 10.50.2.1 10.50.3.1' ]"
check "3 signed hosts: 2 peers each" wait_for "2 peers each" 10 all_have 1 2 3 2
check "3 signed hosts: full-matrix ping" matrix 1 2 3

# ---------------------------------------------------------------- refused joins

# join_fails N ARGS...: the agent must exit 1 by itself, naming why
join_fails()
{
	local n=$1
	shift
	hx "$n" timeout 15 "$CLI" mesh join --etcd "$ETCD" --network "$NET" \
		--interface "tm$$$n" --ttl "$TTL" --state-dir "$T/s$n" "$@"
}
check_fails "a join without --admin-pub on a signed network is refused" join_fails 4
check_fails "a join with a certificate from a rogue key is refused" \
	join_fails 4 --admin-pub "$ADMIN" --cert-file "$T/cert4-rogue"
check_fails "a join for a subnet another host holds is refused" \
	join_fails 4 --admin-pub "$ADMIN" --cert-file "$T/cert4-taken"
check "no subnet of host 4 in etcd" \
	sh -c "[ \$(ip netns exec $HUB etcdctl --endpoints $ETCD get --prefix --keys-only \
		/tapir/networks/$NET/subnets/ | grep -c .) -eq 3 ]"

# ---------------------------------------------------------------- forged records

P="/tapir/networks/$NET/subnets"
record() # SUBNET PUB [CERT]
{
	printf '{"public_key":"%s","endpoint":"192.0.2.4:51820","subnet":"%s/24"%s}' \
		"$2" "$1" "${3:+,\"cert\":\"$3\"}"
}
pub4=$(pub_of h4)
ctl put "$P/10.50.9.0-24" "$(record 10.50.9.0 "$pub4")" >/dev/null
ctl put "$P/10.50.10.0-24" "$(record 10.50.10.0 "$pub4" "$(cat "$T/cert1")")" >/dev/null
ctl put "$P/10.50.11.0-24" "$(record 10.50.11.0 "$pub4" \
	"$(sign "$T/rogue.key" "$pub4" 10.50.11.0/24)")" >/dev/null
ctl put "$P/10.50.12.0-24" "$(record 10.50.12.0 "$pub4" \
	"$(sign "$T/admin.key" "$pub4" 10.50.13.0/24)")" >/dev/null
check "the 4 forged records are ignored by every agent, each with its reason" \
	wait_for "4 log lines each" 5 sh -c "for n in 1 2 3; do
		grep -q 'ignored record $P/10.50.9.0-24: no certificate' $T/agent\$n.log &&
		grep -q '10.50.10.0-24: the certificate.s signature does not verify' $T/agent\$n.log &&
		grep -q '10.50.11.0-24: the certificate.s signature does not verify' $T/agent\$n.log &&
		grep -q '10.50.12.0-24: the certificate is for another subnet' $T/agent\$n.log ||
		exit 1; done"
check "the forged key is nobody's peer; still 2 peers each" \
	sh -c "! ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$pub4' &&
		! ip netns exec tapir-$$-2 wg show tm$$2 dump | grep -qF '$pub4' &&
		! ip netns exec tapir-$$-3 wg show tm$$3 dump | grep -qF '$pub4'"
check "and the counts are unchanged" all_have 1 2 3 2
for s in 9 10 11 12; do ctl del "$P/10.50.$s.0-24" >/dev/null; done

# host 2's record overwritten with an unsigned one for another key: ignored by 1 and 3 (host 2
# stays their peer as it was: removing it would leave host 2 sending into a session the others
# dropped) and put back by host 2's agent
ctl put "$P/10.50.2.0-24" "$(record 10.50.2.0 "$pub4")" >/dev/null
check "an overwritten record is put back by its owner" \
	wait_for "host 2's record" 5 sh -c "ip netns exec $HUB etcdctl --endpoints $ETCD get \
		--print-value-only $P/10.50.2.0-24 | grep -qF '$(pub_of h2)'"
check "the ignored write changed nothing: hosts 1 and 3 never removed host 2" \
	sh -c "! grep -q 'peer 10.50.2.0/24 removed' $T/agent1.log $T/agent3.log"
check "host 2 is a peer of 1 and 3, the forged key of none" \
	wait_for "host 2 back" 5 sh -c "ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$(pub_of h2)' &&
		ip netns exec tapir-$$-3 wg show tm$$3 dump | grep -qF '$(pub_of h2)' &&
		! ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$pub4'"

# ---------------------------------------------------------------- a 4th signed host

join 4 --admin-pub "$ADMIN" --cert-file "$T/cert4"
check "host 4 with its own certificate is a peer everywhere" \
	wait_for "3 peers each" 5 all_have 1 2 3 4 3
check "full-matrix ping of 4 signed hosts" matrix 1 2 3 4
check "status, checking certificates, counts no ignored record now" \
	sh -c "ip netns exec tapir-$$-1 '$CLI' mesh status --etcd $ETCD --network $NET \
		--admin-pub $ADMIN | grep -q '^4 hosts, 0 records ignored'"
