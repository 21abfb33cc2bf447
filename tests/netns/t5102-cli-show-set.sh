#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir show / showconf / set / setconf / addconf / syncconf against wg(8) on two running
# daemons: configured only with the tapir CLI, the tunnel carries pings; every show form
# (human-readable, each field, dump) and showconf print exactly what wg prints; --json
# carries the peer, its endpoint and traffic but no secret; syncconf adds and removes peers
# and keeps the unchanged peer's session; set ... remove; a bad value or a bad config file
# exits 1, names file:line, and changes nothing.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tc$$a  10.78.0.1/24  IMPL     |                     | tc$$b  10.78.0.2/24  IMPL     |
#   |   tapir set, port 51811       |                     |   tapir setconf, port 51812   |
#   |   peers: b (+ c, d, e)        |                     |   peer a                      |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

TAPIR=${TAPIR:-$(dirname "$IMPL")/tapir}
TAPIR=$(resolve_impl "$TAPIR") || skip_all "tapir CLI not found (set TAPIR)"
require_cmds base64

plan 33

IFA="tc$$a"
IFB="tc$$b"
setup_underlay
# Keys come from the CLI under test (t5101 checks them against wg).
for k in a b c d e; do
	"$TAPIR" genkey >"$T/$k.key"
	"$TAPIR" pubkey <"$T/$k.key" >"$T/$k.pub"
done
"$TAPIR" genpsk >"$T/ab.psk"
A=$(pub_of a)
B=$(pub_of b)
C=$(pub_of c)
D=$(pub_of d)
E=$(pub_of e)
PSK=$(cat "$T/ab.psk")
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
# The extension keys (drops, workers) come only from tapird.
IS_TAPIRD=false
case $(basename "$IMPL") in
tapird*) IS_TAPIRD=true ;;
esac

t1() { n1 "$TAPIR" "$@"; }
peers() { n1 wg show "$IFA" peers | words_sorted; }
dump_a() { wg_dump "$NS1" "$IFA"; }
pingable() { wait_for "a ping answer from 10.78.0.2" 20 n1 timeout 3 ping -c 1 -W 1 10.78.0.2; }

# ---- configure with tapir set (a) and tapir setconf (b)
check "tapir set configures a (key, port, peer with psk, endpoint, allowed ips, keepalive)" \
	t1 set "$IFA" private-key "$(key_of a)" listen-port 51811 \
	peer "$B" preshared-key "$T/ab.psk" endpoint 192.0.2.2:51812 \
	allowed-ips 10.78.0.2/32,fd78::2/128 persistent-keepalive 25
cat >"$T/b.conf" <<EOC
# b: written like any wg config file
[Interface]
PrivateKey = $(cat "$(key_of b)")
ListenPort = 51812

[Peer]
PublicKey = $A
PresharedKey = $PSK
AllowedIPs = 10.78.0.1/32, fd78::1/128
EOC
check "tapir setconf configures b from a file" n2 "$TAPIR" setconf "$IFB" "$T/b.conf"
addr_up "$NS1" "$IFA" 10.78.0.1/24
addr_up "$NS2" "$IFB" 10.78.0.2/24
check "ping through the tunnel configured by the tapir CLI" pingable
check_eq "wg sees what tapir set: dump of b's line on a" \
	"$B	$PSK	192.0.2.2:51812	10.78.0.2/32,fd78::2/128	25" \
	eval 'dump_a | awk -F"\t" -v OFS="\t" "NR > 1 { print \$1, \$2, \$3, \$4, \$8 }"'

# ---- show: every form equals wg's. Handshake times and counters move (keepalives), so
# each comparison runs both tools back to back, a few times, and wants one exact match.
same_as_wg()
{
	local _
	for _ in 1 2 3 4 5; do
		n1 wg show "$@" >"$T/wg.out" 2>&1 || true
		t1 show "$@" >"$T/tapir.out" 2>&1 || true
		cmp -s "$T/wg.out" "$T/tapir.out" && return 0
		sleep 0.3
	done
	diff "$T/wg.out" "$T/tapir.out"
}
check "tapir show $IFA dump equals wg show $IFA dump" same_as_wg "$IFA" dump
check "tapir show $IFA (human-readable) equals wg show $IFA" same_as_wg "$IFA"
fields_same()
{
	local f
	for f in public-key private-key listen-port fwmark peers preshared-keys endpoints \
		allowed-ips latest-handshakes transfer persistent-keepalive; do
		same_as_wg "$IFA" "$f" || { echo "field $f differs"; return 1; }
	done
}
check "every single field of tapir show equals wg's" fields_same
check "tapir show hides the private and preshared keys" \
	eval 't1 show "$IFA" >"$T/pretty" && cat "$T/pretty" && grep -qx "  private key: (hidden)" "$T/pretty" && grep -qx "  preshared key: (hidden)" "$T/pretty" && ! grep -qF -e "$(cat "$(key_of a)")" -e "$PSK" "$T/pretty"'
check "tapir show (no argument) includes $IFA" eval 't1 show | grep -qx "interface: $IFA"'
check "tapir show interfaces lists $IFA" eval 't1 show interfaces | tr " " "\n" | grep -qx "$IFA"'
check "tapir show all dump prefixes $IFA's lines with its name" \
	eval 't1 show all dump | grep -q "^$IFA	$B	"'
check_fails "tapir show $IFA no-such-field fails" t1 show "$IFA" no-such-field
usage_exit()
{
	local rc=0
	t1 show "$IFA" no-such-field 2>/dev/null || rc=$?
	echo "exit $rc"
	[ "$rc" -eq 2 ]
}
check "... with exit status 2 (usage)" usage_exit
check_fails "tapir show of a missing interface fails" t1 show "nx$$"

# ---- show --json
json_ok()
{
	t1 show "$IFA" --json >"$T/json" || return 1
	cat "$T/json"
	if command -v jq >/dev/null 2>&1; then
		jq -e --arg b "$B" --arg a "$A" '
			.interfaces | length == 1 and .[0].public_key == $a and
			.[0].listen_port == 51811 and .[0].fwmark == 0 and
			(.[0].peers[] | select(.public_key == $b) |
				.preshared_key == true and .endpoint == "192.0.2.2:51812" and
				(.allowed_ips | sort) == ["10.78.0.2/32", "fd78::2/128"] and
				.rx_bytes > 0 and .tx_bytes > 0 and .latest_handshake > 0 and
				.persistent_keepalive == 25)' "$T/json" >/dev/null || return 1
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$T/json" || return 1
	fi
	# Without jq: the structure, checked line by line (the output is one key per line).
	grep -q '^{$' "$T/json" && grep -q '^  "interfaces": \[$' "$T/json" &&
		grep -qx "      \"name\": \"$IFA\"," "$T/json" &&
		grep -qx "          \"public_key\": \"$B\"," "$T/json" &&
		grep -qx '          "endpoint": "192.0.2.2:51812",' "$T/json" &&
		grep -q '^          "rx_bytes": [1-9][0-9]*,$' "$T/json" &&
		grep -q '^          "tx_bytes": [1-9][0-9]*,$' "$T/json" &&
		grep -q '^          "latest_handshake": [1-9][0-9]*,$' "$T/json" &&
		[ "$(tail -n 1 "$T/json")" = "}" ]
}
check "tapir show --json: valid, with the peer, its endpoint and traffic" json_ok
check "tapir show --json carries neither the private nor the preshared key" \
	eval '! grep -qF -e "$(cat "$(key_of a)")" -e "$PSK" "$T/json" && ! grep -qi "private" "$T/json"'
tapird_extensions()
{
	if ! $IS_TAPIRD; then
		echo "not tapird: no extension keys expected"
		grep -q '"drops"' "$T/json" && return 1
		return 0
	fi
	t1 show "$IFA" drops >"$T/drops" || return 1
	cat "$T/drops"
	grep -q '^      "drops": {' "$T/json" && grep -q '^      "workers": [1-9]' "$T/json" &&
		grep -q '^[a-z_]*	[0-9][0-9]*$' "$T/drops"
}
check "tapird: --json and show drops report drop counters by reason" tapird_extensions

# ---- showconf
check "tapir showconf equals wg showconf" \
	eval 'n1 wg showconf "$IFA" >"$T/wg.conf" && t1 showconf "$IFA" >"$T/tapir.conf" && diff "$T/wg.conf" "$T/tapir.conf"'

# ---- set: fwmark, host names, peer remove; a bad value changes nothing
check_eq "tapir set fwmark 0x2a" "0x2a" eval 't1 set "$IFA" fwmark 0x2a && n1 wg show "$IFA" fwmark'
check_eq "tapir set fwmark off" "off" eval 't1 set "$IFA" fwmark off && n1 wg show "$IFA" fwmark'
resolve_like_wg()
{
	t1 set "$IFA" peer "$C" endpoint localhost:5555 allowed-ips 10.78.0.3/32 || return 1
	n1 wg set "$IFA" peer "$D" endpoint localhost:5555 allowed-ips 10.78.0.4/32
	local ec ed
	ec=$(peer_field "$NS1" "$IFA" "$C" endpoint)
	ed=$(peer_field "$NS1" "$IFA" "$D" endpoint)
	echo "tapir resolved localhost to $ec, wg to $ed"
	[ "$ec" = "$ed" ] && [ "$ec" != "(none)" ]
}
check "tapir set resolves a host name in an endpoint as wg does" resolve_like_wg
# same_config BEFORE AFTER: two dumps hold the same keys, ports, endpoints and allowed IPs
# (handshake times and counters may move; wireguard-go lists peers in random order).
same_config()
{
	diff <(cut -f1-4 "$1" | LC_ALL=C sort) <(cut -f1-4 "$2" | LC_ALL=C sort)
}
unchanged_after_bad_set()
{
	local rc=0
	dump_a >"$T/before"
	t1 set "$IFA" listen-port 51899 peer "$B" allowed-ips 10.78.0.2/32,10.1.2.3/99 || rc=$?
	dump_a >"$T/after"
	echo "exit $rc"
	[ "$rc" -eq 1 ] && same_config "$T/before" "$T/after"
}
check "tapir set with a bad value: exit 1, nothing changed" unchanged_after_bad_set

# ---- syncconf: keeps b (and its session), adds e, removes c and d
pingable >/dev/null || true
hs=$(peer_field "$NS1" "$IFA" "$B" handshake)
diag "b's handshake time before syncconf: $hs"
cat >"$T/sync.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
ListenPort = 51811

[Peer]
PublicKey = $B
PresharedKey = $PSK
Endpoint = 192.0.2.2:51812
AllowedIPs = 10.78.0.2/32, fd78::2/128
PersistentKeepalive = 25

[Peer]
PublicKey = $E
AllowedIPs = 10.78.0.5/32
EOC
check "tapir syncconf succeeds" t1 syncconf "$IFA" "$T/sync.conf"
check_eq "after syncconf: peers are b and e" "$(printf '%s\n' "$B" "$E" | words_sorted)" peers
check "after syncconf: b's latest handshake is unchanged" \
	eval '[ "$hs" -gt 0 ] && [ "$(peer_field "$NS1" "$IFA" "$B" handshake)" = "$hs" ]'
check "after syncconf: b's session still carries traffic, without a new handshake" \
	eval 'ping_ok "$NS1" 10.78.0.2 && [ "$(peer_field "$NS1" "$IFA" "$B" handshake)" = "$hs" ]'

# ---- addconf adds, set ... remove removes
printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.78.0.3/32\n' "$C" >"$T/add.conf"
check_eq "tapir addconf adds c and keeps the others" \
	"$(printf '%s\n' "$B" "$C" "$E" | words_sorted)" eval 't1 addconf "$IFA" "$T/add.conf" && peers'
check_eq "tapir set peer c remove; peer e remove: only b is left" "$B" \
	eval 't1 set "$IFA" peer "$C" remove peer "$E" remove && peers'
check "after addconf and remove: b's session is still the same" \
	eval '[ "$(peer_field "$NS1" "$IFA" "$B" handshake)" = "$hs" ]'

# ---- bad config files: exit 1, file:line in the message, nothing changed
bad_conf()
{
	local file=$1 line=$2 key=$3 rc=0
	dump_a >"$T/before"
	t1 setconf "$IFA" "$file" 2>"$T/err" || rc=$?
	dump_a >"$T/after"
	cat "$T/err"
	[ "$rc" -eq 1 ] && grep -qF "$file:$line:" "$T/err" && grep -qF "$key" "$T/err" &&
		! grep -qF "$(cat "$(key_of a)")" "$T/err" &&
		same_config "$T/before" "$T/after"
}
cat >"$T/bad1.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
ListenPort = 51811

[Peer]
PublicKey = $B
AllowedIPs = 10.78.0.2/32, 10.78.0.300/32
EOC
check "setconf with a bad AllowedIPs: exit 1, file:7 named, nothing changed" \
	bad_conf "$T/bad1.conf" 7 AllowedIPs
sed 's/^ListenPort = .*/ListenPort = 51811\nAddress = 10.78.0.1\/24/' "$T/bad1.conf" |
	sed 's/, 10.78.0.300\/32//' >"$T/bad2.conf"
check "setconf with a wg-quick key (Address): exit 1, file:4 named, nothing changed" \
	bad_conf "$T/bad2.conf" 4 Address
printf '[Interface]\nPrivateKey = %s\nListenPort = 51811\n[Peer]\nAllowedIPs = 10.9.0.0/16\n' \
	"$(cat "$(key_of a)")" >"$T/bad3.conf"
check "setconf with a [Peer] without PublicKey: exit 1, file:4 named, nothing changed" \
	bad_conf "$T/bad3.conf" 4 PublicKey

# ---- setconf replaces everything (fwmark and keepalive reset when absent)
t1 set "$IFA" fwmark 7
check "tapir setconf replaces peers and resets fwmark" \
	eval 't1 setconf "$IFA" "$T/add.conf" && [ "$(peers)" = "$C" ] && [ "$(n1 wg show "$IFA" fwmark)" = off ] && [ "$(n1 wg show "$IFA" public-key)" = "(none)" ]'
