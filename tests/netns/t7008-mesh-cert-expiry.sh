#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh: a host certificate that expires while its record sits unchanged in etcd (issue 16,
# increment 2). Hosts 1 and 2 hold certificates valid for a day, hosts 3 and 4 ones valid for
# EXP_S seconds (`tapir mesh sign --seconds`). All four become peers of each other; host 4's
# record is then rewritten in etcd with a renewed certificate (same key and endpoint). Once the
# short certificates have expired, the agents of 1 and 2 remove host 3 on their expiry timer,
# with a log line and a count, although nothing was written to etcd since the renewal (its
# revision is unchanged and host 3's record is still there); host 4, renewed, stays a peer;
# status counts host 3's record as ignored.
#
#   tapir-$$-1 .. tapir-$$-4 (hosts)                  tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N (key from wg set), |              | bridge mbr                    |
#   | agent --admin-pub --cert-file   |==== uN ======| etcd 192.0.2.100:2379         |
#   | 10.51.N.1/32, route 10.51/16    |              |                               |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl

plan 12

NET=t7008
EXP_S=12
P="/tapir/networks/$NET/subnets"
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2 3 4; do add_host "$n"; done

ADMIN=$("$CLI" mesh keygen --out "$T/admin.key")
sign() { "$CLI" mesh sign --admin-key "$T/admin.key" --network "$NET" --public-key "$@"; }
for n in 1 2 3 4; do
	keygen "h$n"
	hx "$n" wg set "tm$$$n" private-key "$T/h$n.key"
done
sign "$(pub_of h1)" --subnet 10.51.1.0/24 --days 1 >"$T/cert1"
sign "$(pub_of h2)" --subnet 10.51.2.0/24 --days 1 >"$T/cert2"
hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.51.0.0/16 \
	--admin-pub "$ADMIN" --keepalive 0 >/dev/null

for n in 1 2; do join "$n" --admin-pub "$ADMIN" --cert-file "$T/cert$n"; done
SIGNED_AT=$(date +%s)
sign "$(pub_of h3)" --subnet 10.51.3.0/24 --seconds "$EXP_S" >"$T/cert3"
sign "$(pub_of h4)" --subnet 10.51.4.0/24 --seconds "$EXP_S" >"$T/cert4"
for n in 3 4; do join "$n" --admin-pub "$ADMIN" --cert-file "$T/cert$n"; done
check "hosts 3 and 4, whose certificates expire in ${EXP_S} s, are peers of 1 and 2" \
	wait_for "3 peers each" 5 all_have 1 2 3 4 3
reaches_3_and_4() { ping_until_ok 1 "$(addr_of 3)" && ping_until_ok 1 "$(addr_of 4)"; }
check "and reachable from host 1" reaches_3_and_4

# host 4's record, renewed in place: the same record with a certificate valid for a day,
# still on host 4's lease (as an admin's renewal tool would write it)
sign "$(pub_of h4)" --subnet 10.51.4.0/24 --days 1 >"$T/cert4-renewed"
LEASE4=$(sed -n 's/^lease=//p' "$T/s4/$NET.state")
ctl get --print-value-only "$P/10.51.4.0-24" |
	sed "s|\"cert\": *\"[^\"]*\"|\"cert\":\"$(cat "$T/cert4-renewed")\"|" >"$T/record4"
check "host 4's record renewed in etcd (same key and endpoint, new certificate)" \
	sh -c "grep -qF '$(cat "$T/cert4-renewed")' '$T/record4' &&
		ip netns exec $HUB etcdctl --endpoints $ETCD put --lease=$LEASE4 $P/10.51.4.0-24 \
		\"\$(cat '$T/record4')\" >/dev/null"

revision() # the store's revision, as etcd reports it with a read
{
	ctl get --prefix "/tapir/networks/$NET/" -w json | grep -o '"revision":[0-9]*' | head -1
}
sleep 1 # the agents apply the renewal
REV=$(revision)
diag "store at $REV; waiting for the short certificates to expire ($((SIGNED_AT + EXP_S)))"
check "after its expiry host 3 is removed from hosts 1 and 2" \
	wait_for "2 peers on hosts 1 and 2" $((EXP_S + 10)) all_have 1 2 2
sleep 2 # past host 4's first expiry too: its timer fired in the same second as host 3's
check "host 3 is no peer of 1 or 2; host 4, renewed, and 1 and 2 stay peers" \
	sh -c "! ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$(pub_of h3)' &&
		! ip netns exec tapir-$$-2 wg show tm$$2 dump | grep -qF '$(pub_of h3)' &&
		ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$(pub_of h4)' &&
		ip netns exec tapir-$$-2 wg show tm$$2 dump | grep -qF '$(pub_of h4)' &&
		ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$(pub_of h2)'"
check "nothing was written to etcd since the renewal: same revision, host 3's record there" \
	sh -c "[ '$(revision)' = '$REV' ] && ip netns exec $HUB etcdctl --endpoints $ETCD \
		get --print-value-only $P/10.51.3.0-24 | grep -qF '$(pub_of h3)'"
check "agents 1 and 2 logged host 3's expiry and counted its record as ignored" \
	sh -c "for n in 1 2; do
		grep -q 'peer 10.51.3.0/24: its certificate expired at' $T/agent\$n.log &&
		grep -q 'ignored record of 10.51.3.0/24: the certificate has expired' \
			$T/agent\$n.log || exit 1; done"
check "and never expired host 4" \
	sh -c "! grep -q '10.51.4.0/24: its certificate expired' $T/agent1.log $T/agent2.log"
check_fails "host 1 reaches host 3 no more" ping1 1 "$(addr_of 3)"
check "host 1 still reaches host 4" ping_until_ok 1 "$(addr_of 4)"
check "status, checking certificates, counts host 3's record as ignored" \
	sh -c "ip netns exec tapir-$$-1 '$CLI' mesh status --etcd $ETCD --network $NET \
		--admin-pub $ADMIN | grep -q '^3 hosts, 1 records ignored'"
for n in 1 2; do signal_child TERM "${AGENT_PID[$n]}"; done
check "the agents' exit lines count the ignored record" \
	wait_for "exit lines" 10 sh -c "grep -q '1 records ignored' $T/agent1.log &&
		grep -q '1 records ignored' $T/agent2.log"
