#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netlink / the firewall guard of a full tunnel: with AllowedIPs = 0.0.0.0/0, ::/0, tapir up
# adds the nftables tables wg-quick adds (ip and ip6, a preraw drop per tunnel address, the
# conntrack mark save/restore for the fwmark), named tapir-IF instead of wg-quick-IF: `nft
# list ruleset` after `tapir up` equals the one after `wg-quick up` of the same file, modulo
# the table names. `tapir down`, and the rollback of an up whose PostUp hook fails, leave the
# ruleset as it was before (an unrelated table of the user stays). A tunnel without a /0 route
# gets no table.
#
#   tapir-$$-1                                          tapir-$$-2
#   +--------------------------------------+            +------------------------+
#   | tapir up / wg-quick up tf$$a.conf    |            | (underlay only)        |
#   |  tf$$a 10.68.0.1/24 fd68::1/64       |            |                        |
#   |   peer: 0.0.0.0/0, ::/0, 192.0.2.2   |            |                        |
#   |  user table: inet keep$$             |            |                        |
#   | veth1 192.0.2.1/24 2001:db8:1::1     |============| veth2 192.0.2.2/24     |
#   +--------------------------------------+            +------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds nft wg-quick
[ ! -e /sys/module/wireguard ] ||
	skip_all "the wireguard kernel module is loaded; wg-quick would not use IMPL"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
export TAPIRD="$IMPL"
STATE_DIR=/var/run/tapir

plan 12

IFA="tf$$a"
IFS_NAME="tf$$s"
register_if "$IFA"
register_if "$IFS_NAME"
trap 'rc=$?; rm -f "$STATE_DIR/tf$$"?.state; (exit $rc); cleanup' EXIT

setup_underlay
keygen a
keygen b
conf()
{
	cat <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
Address = 10.68.0.1/24, fd68::1/64
ListenPort = 51831

[Peer]
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51832
AllowedIPs = $1
EOC
}
conf "0.0.0.0/0, ::/0" >"$T/$IFA.conf"
mkdir "$T/fail"
conf "0.0.0.0/0, ::/0" | sed 's/^\[Peer\]/PostUp = false\n\n[Peer]/' >"$T/fail/$IFA.conf"
conf "10.68.0.2/32" >"$T/$IFS_NAME.conf"

# tq up|down ARG: the CLI in NS1, output to $T/tq.log (shown).
tq()
{
	local rc=0
	ip netns exec "$NS1" timeout 60 "$CLI" "$1" "$2" >"$T/tq.log" 2>&1 </dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}

quick()
{
	local rc=0
	ip netns exec "$NS1" env WG_QUICK_USERSPACE_IMPLEMENTATION="$IMPL" \
		timeout 60 wg-quick "$1" "$T/$IFA.conf" >"$T/quick-$1.log" 2>&1 </dev/null || rc=$?
	cat "$T/quick-$1.log"
	return "$rc"
}

# ruleset [NAME]: NS1's ruleset, table by table in sorted order (wg-quick adds ::/0 first,
# tapir 0.0.0.0/0), with table NAME-IF shown as GUARD-IF and the random interface identifier
# of the link-local address (a new one for each link) as IID.
ruleset()
{
	local family name
	ip netns exec "$NS1" nft list tables | sort | while read -r _ family name; do
		ip netns exec "$NS1" nft list table "$family" "$name"
	done | sed -e "s/ ${1:-none}-$IFA / GUARD-$IFA /" -e 's/ fe80::[0-9a-f:]* / fe80::IID /'
}

same_as()
{
	ruleset "${2:-none}" >"$T/now"
	diff -u "$1" "$T/now"
}

has_tapir_table() { ip netns exec "$NS1" nft list tables | grep -q " tapir-"; }

no_tentative() { [ -z "$(ip -n "$NS1" -6 addr show tentative)" ]; }
wait_for "DAD on veth1" 10 no_tentative "$NS1"
pretty "$NS1" "nft add table inet keep$$; nft add chain inet keep$$ c { type filter hook input priority 0; }"
ip netns exec "$NS1" nft "add table inet keep$$"
ip netns exec "$NS1" nft "add chain inet keep$$ c { type filter hook input priority 0; }"
ruleset >"$T/before"

# ---------------------------------------------------------------- wg-quick's ruleset
check "wg-quick up $IFA (userspace: $IMPL)" quick up
ruleset wg-quick >"$T/wg-quick.rules"
diag_file "$T/wg-quick.rules"
check "wg-quick added the ip and ip6 tables" grep -q "table ip6 GUARD-$IFA" "$T/wg-quick.rules"
check "wg-quick down $IFA" quick down
check "the ruleset is as before wg-quick up" same_as "$T/before"

# ---------------------------------------------------------------- tapir's
check "tapir up $IFA" tq up "$T/$IFA.conf"
check "the ruleset equals wg-quick's, modulo the table names" same_as "$T/wg-quick.rules" tapir
check "tapir down $IFA" tq down "$IFA"
check "the ruleset is as before tapir up" same_as "$T/before"

# ---------------------------------------------------------------- rollback, no guard
check_fails "tapir up with a failing PostUp fails" tq up "$T/fail/$IFA.conf"
check "the rollback removed the guard: the ruleset is as before" same_as "$T/before"
check "tapir up $IFS_NAME (no /0 route)" tq up "$T/$IFS_NAME.conf"
check_fails "no table for a tunnel without a default route" has_tapir_table
tq down "$IFS_NAME" >/dev/null || true
