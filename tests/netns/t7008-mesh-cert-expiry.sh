#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh: a host certificate that expires while its record sits unchanged in etcd (issue 16,
# increment 2). Hosts 1 and 2 hold certificates valid for a day, host 3 one valid for EXP_S
# seconds (`tapir mesh sign --seconds`). Host 3 becomes a peer of 1 and 2; once its certificate
# has expired the agents of 1 and 2 remove it on their expiry timer, with a log line and a
# count, although nothing was written to etcd (its revision is unchanged and host 3's record is
# still there); 1 and 2 stay peers of each other; status counts the record as ignored.
#
#   tapir-$$-1 .. tapir-$$-3 (hosts)                  tapir-$$-9 (hub)
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
"$CLI" mesh --help 2>/dev/null | grep -q -- '--seconds N' || skip_all "this tapir cannot sign for seconds"

plan 9

NET=t7008
EXP_S=10
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2 3; do add_host "$n"; done

ADMIN=$("$CLI" mesh keygen --out "$T/admin.key")
sign() { "$CLI" mesh sign --admin-key "$T/admin.key" --network "$NET" --public-key "$@"; }
for n in 1 2 3; do
	keygen "h$n"
	hx "$n" wg set "tm$$$n" private-key "$T/h$n.key"
done
sign "$(pub_of h1)" --subnet 10.51.1.0/24 --days 1 >"$T/cert1"
sign "$(pub_of h2)" --subnet 10.51.2.0/24 --days 1 >"$T/cert2"
hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.51.0.0/16 \
	--admin-pub "$ADMIN" --keepalive 0 >/dev/null

for n in 1 2; do join "$n" --admin-pub "$ADMIN" --cert-file "$T/cert$n"; done
sign "$(pub_of h3)" --subnet 10.51.3.0/24 --seconds "$EXP_S" >"$T/cert3"
SIGNED_AT=$(date +%s)
join 3 --admin-pub "$ADMIN" --cert-file "$T/cert3"
check "host 3, whose certificate expires in ${EXP_S} s, is a peer of 1 and 2" \
	wait_for "2 peers each" 5 all_have 1 2 3 2
check "and reachable from host 1" ping_until_ok 1 "$(addr_of 3)"

revision() # the store's revision, as etcd reports it with a read
{
	ctl get --prefix "/tapir/networks/$NET/" -w json | grep -o '"revision":[0-9]*' | head -1
}
REV=$(revision)
diag "store at $REV; waiting for host 3's certificate to expire ($((SIGNED_AT + EXP_S)))"
check "after its expiry host 3 is removed from hosts 1 and 2" \
	wait_for "1 peer on hosts 1 and 2" $((EXP_S + 10)) all_have 1 2 1
check "host 3 is no peer of 1 or 2, which stay peers of each other" \
	sh -c "! ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$(pub_of h3)' &&
		! ip netns exec tapir-$$-2 wg show tm$$2 dump | grep -qF '$(pub_of h3)' &&
		ip netns exec tapir-$$-1 wg show tm$$1 dump | grep -qF '$(pub_of h2)'"
check "nothing was written to etcd: same revision, host 3's record still there" \
	sh -c "[ '$(revision)' = '$REV' ] && ip netns exec $HUB etcdctl --endpoints $ETCD \
		get --print-value-only /tapir/networks/$NET/subnets/10.51.3.0-24 |
		grep -qF '$(pub_of h3)'"
check "agents 1 and 2 logged the expiry and counted the record as ignored" \
	sh -c "for n in 1 2; do
		grep -q 'peer 10.51.3.0/24: its certificate expired at' $T/agent\$n.log &&
		grep -q 'ignored record of 10.51.3.0/24: the certificate has expired' \
			$T/agent\$n.log || exit 1; done"
check_fails "host 1 reaches host 3 no more" ping1 1 "$(addr_of 3)"
check "status, checking certificates, counts host 3's record as ignored" \
	sh -c "ip netns exec tapir-$$-1 '$CLI' mesh status --etcd $ETCD --network $NET \
		--admin-pub $ADMIN | grep -q '^2 hosts, 1 records ignored'"
for n in 1 2; do signal_child TERM "${AGENT_PID[$n]}"; done
check "the agents' exit lines count the ignored record" \
	wait_for "exit lines" 10 sh -c "grep -q '1 records ignored' $T/agent1.log &&
		grep -q '1 records ignored' $T/agent2.log"
