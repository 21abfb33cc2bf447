#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netlink / SaveConfig = true, as wg-quick: tapir up accepts it; a peer added at run time with
# `tapir set` is in the file after `tapir down`, which rewrote it atomically (a new inode, no
# temporary file left) with the old mode (0640) and owner and group (0:1235: a file with hooks
# must be owned by root or the caller); the [Interface] keys of the file (Address, DNS, MTU,
# hooks, SaveConfig) are still there, and the key, port and first peer too. The saved file
# brings the interface up again with both peers, DNS and hooks.
# DNS goes to a recording resolvconf stand-in, never to the host's resolver.
#
#   tapir-$$-1                                         tapir-$$-2
#   +------------------------------------+            +------------------------------------+
#   | tapir up cfg/tv$$a.conf            |            | tapir up tv$$b.conf                |
#   |  tv$$a 10.70.0.1/24 fd70::1/64     |            |  tv$$b 10.70.0.2/24                |
#   |   peer b 192.0.2.2:51852           |            |   peer a: 10.70.0.1/32             |
#   |   + peer c (tapir set, no host)    |            |                                    |
#   | veth1 192.0.2.1/24                 |============| veth2 192.0.2.2/24                 |
#   +------------------------------------+            +------------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
export TAPIRD="$IMPL"
STATE_DIR=/var/run/tapir

plan 20

IFA="tv$$a"
IFB="tv$$b"
register_if "$IFA"
register_if "$IFB"
trap 'rc=$?; rm -f "$STATE_DIR/tv$$"?.state; (exit $rc); cleanup' EXIT

setup_underlay
keygen a
keygen b
keygen c
printf '#!/bin/sh\necho "resolvconf $*" >>"%s"\ncat >>"%s"\n' "$T/resolvconf.log" \
	"$T/resolvconf.log" >"$T/bin/resolvconf"
chmod 755 "$T/bin/resolvconf"

mkdir "$T/cfg"
CONF="$T/cfg/$IFA.conf"
cat >"$CONF" <<EOC
# written by $0
[Interface]
PrivateKey = $(cat "$(key_of a)")
Address = 10.70.0.1/24, fd70::1/64
DNS = 10.70.0.53, example.test
MTU = 1400
ListenPort = 51851
SaveConfig = true
PostUp = echo post-up %i >>$T/hooks.log
PostDown = echo post-down %i >>$T/hooks.log

[Peer]
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51852
AllowedIPs = 10.70.0.2/32
EOC
chown 0:1235 "$CONF"
chmod 0640 "$CONF"
cat >"$T/$IFB.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of b)")
Address = 10.70.0.2/24
ListenPort = 51852

[Peer]
PublicKey = $(pub_of a)
AllowedIPs = 10.70.0.1/32
EOC

# tq NS ARGS...: the CLI in NS (PATH with the resolvconf stand-in), output to $T/tq.log.
tq()
{
	local ns=$1 rc=0
	shift
	ip netns exec "$ns" env PATH="$PATH" timeout 60 "$CLI" "$@" >"$T/tq.log" 2>&1 </dev/null ||
		rc=$?
	cat "$T/tq.log"
	return "$rc"
}
has_line() { grep -qxF "$1" "$CONF"; }
n_peers() { ip netns exec "$NS1" "$CLI" show "$IFA" peers | wc -l; }
no_tmp() { [ "$(ls -A "$T/cfg")" = "$IFA.conf" ]; }

check "tapir up $IFB" tq "$NS2" up "$T/$IFB.conf"
check "tapir up with SaveConfig = true" tq "$NS1" up "$CONF"
check "add peer c at run time" tq "$NS1" set "$IFA" peer "$(pub_of c)" \
	allowed-ips 10.70.0.3/32,fd70::3/128 endpoint 192.0.2.3:51853 persistent-keepalive 25
inode=$(stat -c %i "$CONF")
check "tapir down" tq "$NS1" down "$IFA"
check "down said it saved the configuration" grep -q "tapir showconf $IFA > $CONF" "$T/tq.log"
sed 's/^PrivateKey = .*/PrivateKey = (hidden)/' "$CONF" >"$T/shown"
diag_file "$T/shown"
check "peer c is in the file" has_line "PublicKey = $(pub_of c)"
check "with its allowed IPs" has_line "AllowedIPs = 10.70.0.3/32, fd70::3/128"
check "and its endpoint and keepalive" eval 'has_line "Endpoint = 192.0.2.3:51853" && has_line "PersistentKeepalive = 25"'
check "peer b is still there" eval 'has_line "PublicKey = $(pub_of b)" && has_line "Endpoint = 192.0.2.2:51852"'
check "the private key and port are kept" eval 'has_line "PrivateKey = $(cat "$(key_of a)")" && has_line "ListenPort = 51851"'
check "Address, DNS, MTU kept" eval 'has_line "Address = 10.70.0.1/24, fd70::1/64" && has_line "DNS = 10.70.0.53, example.test" && has_line "MTU = 1400"'
check "hooks and SaveConfig kept" eval 'has_line "PostUp = echo post-up %i >>$T/hooks.log" && has_line "PostDown = echo post-down %i >>$T/hooks.log" && has_line "SaveConfig = true"'
check_eq "mode and owner preserved" "640 0:1235" stat -c "%a %u:%g" "$CONF"
check "replaced by a rename (a new inode)" test "$(stat -c %i "$CONF")" != "$inode"
check "no temporary file left" no_tmp

: >"$T/resolvconf.log"
: >"$T/hooks.log"
check "the saved file brings $IFA up again" tq "$NS1" up "$CONF"
check_eq "with both peers" 2 n_peers
check "DNS and hooks from the saved file" eval 'grep -q "nameserver 10.70.0.53" "$T/resolvconf.log" && grep -q "post-up $IFA" "$T/hooks.log"'
check "tapir down again" tq "$NS1" down "$IFA"
check "still both peers in the file" eval 'has_line "PublicKey = $(pub_of c)" && has_line "PublicKey = $(pub_of b)"'
