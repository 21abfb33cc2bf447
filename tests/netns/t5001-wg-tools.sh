#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UAPI / wg(8) compatibility: wg set, every field of wg show, showconf, setconf, syncconf,
# peer removal, and raw UAPI requests over socat (replies, errno values, probe connections,
# update_only, replace_allowed_ips, allowed IPs moving between peers, listen_port=0).
# a is the daemon under test and the one being configured; b is a second daemon that gives
# a a real handshake to keep (or lose).
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tw$$a  10.77.0.1/24  IMPL     |                     | tw$$b  10.77.0.2/24  IMPL     |
#   |   port 51801, fwmark 42       |                     |   port 51802                  |
#   |   peers: b (+ c, d, e, tests) |                     |   peer a                      |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat

plan 38

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
for k in a b c d e; do
	keygen "$k"
done
pskgen ab
A=$(pub_of a)
B=$(pub_of b)
C=$(pub_of c)
D=$(pub_of d)
# shellcheck disable=SC2034 # used inside eval
E=$(pub_of e)
PSK=$(cat "$(psk_of ab)")
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"

show() { n1 wg show "$IFA" "$@"; }
peers() { show peers | words_sorted; }
# reply_is WANT: the UAPI reply to the request on stdin is byte for byte WANT (printf format).
reply_is()
{
	uapi "$IFA" >"$T/reply"
	printf "$1" >"$T/want"
	od -c "$T/reply"
	cmp "$T/want" "$T/reply"
}
pingable() { wait_for "a ping answer from 10.77.0.2" 20 n1 timeout 3 ping -c 1 -W 1 10.77.0.2; }

# ---- wg set, wg show
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51801 fwmark 42 \
	peer "$B" preshared-key "$(psk_of ab)" endpoint 192.0.2.2:51802 \
	allowed-ips 10.77.0.2/32,fd77::2/128 persistent-keepalive 25
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51802 \
	peer "$A" preshared-key "$(psk_of ab)" allowed-ips 10.77.0.1/32,fd77::1/128
addr_up "$NS2" "$IFB" 10.77.0.2/24
addr_up "$NS1" "$IFA" 10.77.0.1/24
check "configured with wg set: ping through the tunnel" pingable

check_eq "wg show public-key" "$A" show public-key
check_eq "wg show private-key" "$(cat "$(key_of a)")" show private-key
check_eq "wg show listen-port" "51801" show listen-port
check_eq "wg show fwmark" "0x2a" show fwmark
check_eq "wg show peers" "$B" show peers
check_eq "wg show preshared-keys" "$B	$PSK" show preshared-keys
check_eq "wg show endpoints" "$B	192.0.2.2:51802" show endpoints
show_allowed()
{
	local peer ips
	IFS=$'\t' read -r peer ips < <(show allowed-ips)
	echo "$peer $(echo "$ips" | words_sorted)"
}
check_eq "wg show allowed-ips" "$B 10.77.0.2/32 fd77::2/128" show_allowed
recent_handshake()
{
	local peer t now
	read -r peer t < <(show latest-handshakes)
	now=$(date +%s)
	echo "peer $peer latest handshake $t, now $now"
	[ "$peer" = "$B" ] && [ "$t" -gt $((now - 60)) ] && [ "$t" -le $((now + 5)) ]
}
check "wg show latest-handshakes is a recent Unix time" recent_handshake
transfer_both()
{
	local peer rx tx
	read -r peer rx tx < <(show transfer)
	echo "peer $peer rx $rx tx $tx"
	[ "$peer" = "$B" ] && [ "$rx" -gt 0 ] && [ "$tx" -gt 0 ]
}
check "wg show transfer is non-zero both ways" transfer_both
check_eq "wg show persistent-keepalive" "$B	25" show persistent-keepalive
pretty_show()
{
	show >"$T/pretty"
	cat "$T/pretty"
	grep -qx "interface: $IFA" "$T/pretty" &&
		grep -qx "  public key: $A" "$T/pretty" &&
		grep -qx "  private key: (hidden)" "$T/pretty" &&
		grep -qx "  listening port: 51801" "$T/pretty" &&
		grep -qx "  fwmark: 0x2a" "$T/pretty" &&
		grep -qx "peer: $B" "$T/pretty" &&
		grep -qx "  preshared key: (hidden)" "$T/pretty" &&
		grep -qx "  endpoint: 192.0.2.2:51802" "$T/pretty" &&
		grep -q "^  allowed ips: .*10.77.0.2/32" "$T/pretty" &&
		grep -q "^  latest handshake: " "$T/pretty" &&
		grep -q "^  transfer: .* received, .* sent$" "$T/pretty" &&
		grep -qx "  persistent keepalive: every 25 seconds" "$T/pretty"
}
check "wg show (human-readable) has every field" pretty_show
check "wg show interfaces lists $IFA" eval 'n1 wg show interfaces | tr " " "\n" | grep -qx "$IFA"'

# ---- wg showconf
conf_canon() { sed 's/, /\n/g' | sed '/^AllowedIPs = /!b; s/^AllowedIPs = //' | sed '/^$/d' | LC_ALL=C sort; }
cat >"$T/want.conf" <<EOC
[Interface]
ListenPort = 51801
FwMark = 0x2a
PrivateKey = $(cat "$(key_of a)")

[Peer]
PublicKey = $B
PresharedKey = $PSK
AllowedIPs = 10.77.0.2/32, fd77::2/128
Endpoint = 192.0.2.2:51802
PersistentKeepalive = 25
EOC
showconf_matches()
{
	n1 wg showconf "$IFA" >"$T/showconf" || return 1
	cat "$T/showconf"
	diff <(conf_canon <"$T/want.conf") <(conf_canon <"$T/showconf")
}
check "wg showconf has every setting" showconf_matches

# ---- wg setconf: replaces everything (no FwMark, no keepalive, a new peer d)
cat >"$T/set.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
ListenPort = 51801

[Peer]
PublicKey = $B
PresharedKey = $PSK
AllowedIPs = 10.77.0.2/32, fd77::2/128
Endpoint = 192.0.2.2:51802

[Peer]
PublicKey = $D
AllowedIPs = 10.77.0.4/32
EOC
check "wg setconf succeeds" n1 wg setconf "$IFA" "$T/set.conf"
check_eq "after setconf: peers are b and d" "$(printf '%s\n' "$B" "$D" | words_sorted)" peers
check_eq "after setconf: fwmark is off" "off" show fwmark
check_eq "after setconf: b's persistent keepalive is off" "off" \
	peer_field "$NS1" "$IFA" "$B" keepalive

# ---- wg syncconf: adds c, removes d, keeps b's session
pingable >/dev/null || true
hs=$(peer_field "$NS1" "$IFA" "$B" handshake)
diag "handshake time before syncconf: $hs"
cat >"$T/sync.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
ListenPort = 51801

[Peer]
PublicKey = $B
PresharedKey = $PSK
AllowedIPs = 10.77.0.2/32, fd77::2/128
Endpoint = 192.0.2.2:51802

[Peer]
PublicKey = $C
AllowedIPs = 10.77.0.3/32
EOC
check "wg syncconf succeeds" n1 wg syncconf "$IFA" "$T/sync.conf"
check_eq "after syncconf: peers are b and c" "$(printf '%s\n' "$B" "$C" | words_sorted)" peers
check "after syncconf: b's latest handshake is unchanged" \
	eval '[ "$hs" -gt 0 ] && [ "$(peer_field "$NS1" "$IFA" "$B" handshake)" = "$hs" ]'
check "after syncconf: b's session still carries traffic" \
	eval 'ping_ok "$NS1" 10.77.0.2 && [ "$(peer_field "$NS1" "$IFA" "$B" handshake)" = "$hs" ]'

# ---- wg set ... peer X remove
n1 wg set "$IFA" peer "$C" remove
check_eq "wg set peer c remove: only b is left" "$B" peers

# ---- raw UAPI: get
get_reply()
{
	printf 'get=1\n\n' | uapi "$IFA" >"$T/get"
	cat "$T/get"
}
check "get=1: reply ends with errno=0 and a blank line" \
	eval 'get_reply && cmp <(tail -c 9 "$T/get") <(printf "errno=0\n\n")'
get_fields()
{
	get_reply || return 1
	grep -qx "private_key=$(b64_to_hex "$(cat "$(key_of a)")")" "$T/get" &&
		grep -qx "listen_port=51801" "$T/get" &&
		grep -qx "public_key=$(b64_to_hex "$B")" "$T/get" &&
		grep -qx "preshared_key=$(b64_to_hex "$PSK")" "$T/get" &&
		grep -qx "protocol_version=1" "$T/get" &&
		grep -qx "endpoint=192.0.2.2:51802" "$T/get" &&
		grep -qx "allowed_ip=10.77.0.2/32" "$T/get" &&
		grep -qx "allowed_ip=fd77::2/128" "$T/get" &&
		grep -q "^last_handshake_time_sec=[1-9]" "$T/get" &&
		grep -q "^last_handshake_time_nsec=[0-9]" "$T/get" &&
		grep -q "^rx_bytes=[1-9]" "$T/get" &&
		grep -q "^tx_bytes=[1-9]" "$T/get" &&
		grep -qx "persistent_keepalive_interval=0" "$T/get"
}
check "get=1: device and peer fields in hex and decimal" get_fields
key_order()
{
	get_reply | awk -F= '
		$1 == "public_key" { peer = 1 }
		($1 == "private_key" || $1 == "listen_port" || $1 == "fwmark") && peer { bad = 1 }
		END { exit bad }'
}
check "get=1: device keys come before the first public_key" key_order

# ---- raw UAPI: errors
check "set=1 with an unknown key: errno=-22" eval 'printf "set=1\nbogus=1\n\n" | reply_is "errno=-22\n\n"'
check "set=1 with a line without '=': errno=-71" eval 'printf "set=1\nfoo\n\n" | reply_is "errno=-71\n\n"'
check "set=1 with protocol_version=2: errno=-22" \
	eval 'printf "set=1\npublic_key=%s\nprotocol_version=2\n\n" "$(b64_to_hex "$B")" | reply_is "errno=-22\n\n"'
probes()
{
	for _ in 1 2 3 4 5; do
		timeout 5 socat -u /dev/null "UNIX-CONNECT:$(sock_of "$IFA")" || return 1
	done
	printf 'get=' | timeout 5 socat -t 1 - "UNIX-CONNECT:$(sock_of "$IFA")"
	printf 'set=1\nlisten_po' | timeout 5 socat -t 1 - "UNIX-CONNECT:$(sock_of "$IFA")"
	alive "${DAEMON_PID[$IFA]}" && n1 wg show "$IFA" && show listen-port | grep -qx 51801
}
check "connections closed at once or mid-line leave the daemon working" probes

# ---- raw UAPI: update_only, replace_allowed_ips, allowed_ip moving between peers
check "update_only=true for an unknown peer: errno=0" \
	eval 'printf "set=1\npublic_key=%s\nupdate_only=true\nallowed_ip=10.77.0.5/32\n\n" "$(b64_to_hex "$E")" | reply_is "errno=0\n\n" && [ "$(peers)" = "$B" ]'
check "update_only=true for an existing peer applies the change" \
	eval 'printf "set=1\npublic_key=%s\nupdate_only=true\npersistent_keepalive_interval=7\n\n" "$(b64_to_hex "$B")" | reply_is "errno=0\n\n" && [ "$(peer_field "$NS1" "$IFA" "$B" keepalive)" = 7 ]'
check_eq "replace_allowed_ips=true replaces b's allowed IPs" "10.66.0.0/16" \
	eval 'printf "set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.66.0.0/16\n\n" "$(b64_to_hex "$B")" | uapi "$IFA" >/dev/null; allowed_ips_of "$NS1" "$IFA" "$B"'
check_eq "allowed_ip without replace adds to b's allowed IPs" "10.66.0.0/16 10.67.0.0/16" \
	eval 'printf "set=1\npublic_key=%s\nallowed_ip=10.67.0.0/16\n\n" "$(b64_to_hex "$B")" | uapi "$IFA" >/dev/null; allowed_ips_of "$NS1" "$IFA" "$B"'
check_eq "wg set peer b allowed-ips replaces the list" "10.77.0.2/32 fd77::2/128" \
	eval 'n1 wg set "$IFA" peer "$B" allowed-ips 10.77.0.2/32,fd77::2/128; allowed_ips_of "$NS1" "$IFA" "$B"'
check_eq "allowed_ip moves from b to c" "10.77.0.2/32|fd77::2/128" \
	eval 'n1 wg set "$IFA" peer "$C" allowed-ips 10.77.0.2/32; echo "$(allowed_ips_of "$NS1" "$IFA" "$C")|$(allowed_ips_of "$NS1" "$IFA" "$B")"'

# ---- listen_port=0 picks a port and reports it
check "listen-port 0: a random non-zero port is reported" \
	eval 'n1 wg set "$IFA" listen-port 0 && p=$(show listen-port) && echo "port $p" && [ "$p" -gt 0 ]'
