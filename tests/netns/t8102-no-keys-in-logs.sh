#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Key hygiene (issue 7): a whole run with both daemons at the most verbose log level
# (LOG_LEVEL=debug and =verbose, the same level), everything they and the tapir CLI print
# captured, and then no private or preshared key, in base64 or in hex (either case), appears
# in any of it, nor even its first 16 characters. The run: `tapir up` from a config file with
# PrivateKey and PresharedKey (the daemon it starts writes to the same log), `tapir setconf` of
# another such file, handshakes both ways, `tapir show` and `show --json`, a PSK change with
# the peer removed and re-added (a fresh handshake on a live session, a rekey for a), a
# private key rotation (another fresh handshake), bad UAPI requests full of keys (a key where
# a key name goes, a base64 key where hex is wanted, device keys in the wrong place, a key on
# a line of its own), bad key files and bad config files for the CLI, a peer removal, `tapir
# down` and SIGTERM. tapird never logs public keys either (peers are named by number), so
# its logs and the CLI's output other than `tapir show` (which prints public keys by design)
# are checked for public keys too. Only `tapir showconf` and `show dump`, which print keys
# by design, are left out (and not run). The checks that the logs are non-empty and hold
# handshake and uapi lines keep the test from passing on an empty log.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tapir up tk$$a.conf           |                     | IMPL tk$$b, tapir setconf     |
#   | tk$$a 10.84.0.1/24, 51801     |                     | tk$$b 10.84.0.2/24, 51802     |
#   |   LOG_LEVEL=debug             |                     |   LOG_LEVEL=verbose           |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat base64

CLI=${TAPIR:-$(dirname "$IMPL")/tapir}
CLI=$(resolve_impl "$CLI") || skip_all "tapir CLI not found (set TAPIR)"
export TAPIRD="$IMPL"
STATE_DIR=/var/run/tapir

plan 31

IFA="tk$$a"
IFB="tk$$b"
register_if "$IFA"
# tapir up's state file goes too if the test dies halfway (the rest goes with the namespaces)
trap 'rc=$?; rm -f "$STATE_DIR/$IFA.state"; (exit $rc); cleanup' EXIT

setup_underlay
for k in a a2 b; do keygen "$k"; done
pskgen ab
pskgen ab2
A=$(pub_of a)
A2=$(pub_of a2)
B=$(pub_of b)
UP_LOG="$T/$IFA.up.log" # tapir up, and the daemon it starts (its TAPIR_LOG_FILE)
B_LOG="$T/$IFB.log"     # lib.sh's start_daemon
CLI_LOG="$T/cli.log"    # every other tapir command but show
SHOW_LOG="$T/show.log"  # tapir show: public keys by design

# cli NS ARGS...: the tapir CLI, all output appended to $CLI_LOG after a "$ tapir CMD IFNAME"
# line (the rest of the arguments may be keys); the exit status is kept.
cli()
{
	local ns=$1
	shift
	echo "\$ tapir $1 $2 ..." >>"$CLI_LOG"
	ip netns exec "$ns" timeout 30 "$CLI" "$@" >>"$CLI_LOG" 2>&1 </dev/null
}

cat >"$T/$IFA.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
Address = 10.84.0.1/24
ListenPort = 51801

[Peer]
PublicKey = $B
PresharedKey = $(cat "$(psk_of ab)")
Endpoint = 192.0.2.2:51802
AllowedIPs = 10.84.0.2/32
EOC
cat >"$T/$IFB.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of b)")
ListenPort = 51802

[Peer]
PublicKey = $A
PresharedKey = $(cat "$(psk_of ab)")
AllowedIPs = 10.84.0.1/32
EOC

tapir_up()
{
	echo "\$ tapir up $IFA.conf" >"$UP_LOG"
	ip netns exec "$NS1" env LOG_LEVEL=debug TAPIR_LOG_FILE="$UP_LOG" timeout 60 "$CLI" up \
		"$T/$IFA.conf" >>"$UP_LOG" 2>&1 </dev/null
}

# ---------------------------------------------------------------- a working tunnel
start_daemon "$NS2" "$IMPL" "$IFB"
check "tapir setconf $IFB from a file with PrivateKey and PresharedKey" \
	cli "$NS2" setconf "$IFB" "$T/$IFB.conf"
addr_up "$NS2" "$IFB" 10.84.0.2/24
check "tapir up $IFA from a file with PrivateKey and PresharedKey (LOG_LEVEL=debug)" tapir_up
check "ping 10.84.0.2 from a (a initiates)" ping_ok "$NS1" 10.84.0.2
check "ping 10.84.0.1 from b" ping_ok "$NS2" 10.84.0.1

show_all()
{
	local ns ifn
	for ns in "$NS1" "$NS2"; do
		[ "$ns" = "$NS1" ] && ifn=$IFA || ifn=$IFB
		ip netns exec "$ns" timeout 30 "$CLI" show "$ifn" >>"$SHOW_LOG" 2>&1 &&
			ip netns exec "$ns" timeout 30 "$CLI" show --json "$ifn" >>"$SHOW_LOG" 2>&1 ||
			return 1
	done
}
check "tapir show and tapir show --json on both sides" show_all

# ---------------------------------------------------------------- a private key rotation
# Within 5 s of a's last initiation (the first ping): the new key must initiate at once.
check "a rotates its private key; b swaps a for a2" eval '
	cli "$NS1" set "$IFA" private-key "$(key_of a2)" &&
	cli "$NS2" set "$IFB" peer "$A" remove peer "$A2" preshared-key "$(psk_of ab)" \
		allowed-ips 10.84.0.1/32'
check "ping 10.84.0.2 from a with its new key, at once" ping_ok "$NS1" 10.84.0.2
check "b: handshake with a2 done" handshake_done "$NS2" "$IFB" "$A2"

# ---------------------------------------------------------------- a rekey on a live session
hs_a=$(peer_field "$NS1" "$IFA" "$B" handshake)
sleep 1.1 # handshake times have one-second resolution
check "b removes a2, re-adds it with a new PSK; a takes the new PSK" eval '
	cli "$NS2" set "$IFB" peer "$A2" remove &&
	cli "$NS2" set "$IFB" peer "$A2" preshared-key "$(psk_of ab2)" endpoint 192.0.2.1:51801 \
		allowed-ips 10.84.0.1/32 &&
	cli "$NS1" set "$IFA" peer "$B" preshared-key "$(psk_of ab2)"'
check "ping 10.84.0.1 from b (b initiates with the new PSK)" ping_ok "$NS2" 10.84.0.1
check "a rekeyed with b (handshake time moved)" \
	eval '[ "$(peer_field "$NS1" "$IFA" "$B" handshake)" -gt "$hs_a" ]'
ip netns exec "$NS1" timeout 30 "$CLI" show "$IFA" >>"$SHOW_LOG" 2>&1 || true

# ---------------------------------------------------------------- bad input full of keys
hex() { b64_to_hex "$(cat "$1")"; }
PRIV_B_HEX=$(hex "$(key_of b)")
PRIV_B64=$(cat "$(key_of b)")
PSK_HEX=$(hex "$(psk_of ab2)")
PSK_B64=$(cat "$(psk_of ab2)")
A2_HEX=$(b64_to_hex "$A2")

# refused REQUEST: b answers a non-zero errno (and the request changed nothing).
refused()
{
	local reply
	reply=$(printf '%b' "$1" | uapi "$IFB")
	echo "reply: $reply"
	case $reply in
	errno=-*) return 0 ;;
	*) return 1 ;;
	esac
}
bad_uapi()
{
	local r n=0
	for r in \
		"set=1\nprivate_key=$PRIV_B_HEX\nbogus=1\n\n" \
		"set=1\nprivate_key=${PRIV_B_HEX}zz\n\n" \
		"set=1\nprivate_key=$PRIV_B64\n\n" \
		"set=1\n$PRIV_B64\n\n" \
		"set=1\n$PRIV_B_HEX=1\n\n" \
		"set=1\nprivate_key $PRIV_B_HEX\n\n" \
		"set=1\nprivate_key==$PRIV_B_HEX\n\n" \
		"set=1\npreshared_key=$PSK_HEX\n\n" \
		"set=1\npublic_key=$A2_HEX\npreshared_key=$PSK_B64\n\n" \
		"set=1\npublic_key=$A2_HEX\npreshared_key=${PSK_HEX}0\n\n" \
		"set=1\npublic_key=$A2_HEX\nprivate_key=$PRIV_B_HEX\n\n" \
		"set=1\npublic_key=$A2_HEX\n$PSK_HEX=\n\n" \
		"set=1\nlisten_port=51802\n${PSK_B64}\n\n" \
		"get=1\nprivate_key=$PRIV_B_HEX\n\n" \
		"$PRIV_B_HEX\n\n"; do
		n=$((n + 1))
		refused "$r" >/dev/null || { echo "request $n was not refused"; return 1; }
	done
	echo "$n requests refused"
}
check "15 bad UAPI requests carrying keys are refused" bad_uapi
check_eq "b still has its own key (public key unchanged)" "$B" n2 wg show "$IFB" public-key
check "b: a2 still has its PSK after the bad requests" \
	eval '[ "$(peer_field "$NS2" "$IFB" "$A2" psk)" = "$PSK_B64" ]'

# bad key files and config files for the CLI (a key followed by junk, a key in a key's place)
printf '%sjunk\n' "$PRIV_B64" >"$T/bad.key"
printf '%s\n%s\n' "$PRIV_B64" "$PRIV_B64" >"$T/two.key"
cat >"$T/bad1.conf" <<EOC
[Interface]
PrivateKey = ${PRIV_B64}x
EOC
cat >"$T/bad2.conf" <<EOC
[Interface]
$PRIV_B64
EOC
cat >"$T/bad3.conf" <<EOC
[Interface]
PrivateKey = $PRIV_B64
[Peer]
PublicKey = $A2
PresharedKey = ${PSK_B64%?}
$PSK_B64 = 1
EOC
cat >"$T/bad4.conf" <<EOC
[Interface]
PrivateKey $PRIV_B64
EOC
cli_refuses()
{
	! cli "$NS2" set "$IFB" private-key "$T/bad.key" &&
		! cli "$NS2" set "$IFB" peer "$A2" preshared-key "$T/two.key" &&
		! cli "$NS2" setconf "$IFB" "$T/bad1.conf" &&
		! cli "$NS2" setconf "$IFB" "$T/bad2.conf" &&
		! cli "$NS2" addconf "$IFB" "$T/bad3.conf" &&
		! cli "$NS2" syncconf "$IFB" "$T/bad4.conf"
}
check "the CLI refuses 2 bad key files and 4 bad config files" cli_refuses
cp "$T/bad1.conf" "$T/tk$$x.conf"
check_fails "tapir up refuses a config with a bad PrivateKey" eval '
	echo "\$ tapir up tk$$x.conf" >>"$CLI_LOG"
	ip netns exec "$NS1" env LOG_LEVEL=debug timeout 30 "$CLI" up "$T/tk$$x.conf" \
		>>"$CLI_LOG" 2>&1 </dev/null'
check "b: still a handshake-ready tunnel (ping from a)" ping_ok "$NS1" 10.84.0.2

# ---------------------------------------------------------------- peer removal, shutdown
check "tapir set ... remove: a removes b" cli "$NS1" set "$IFA" peer "$B" remove
check_fails "a no longer has b" has_peer "$NS1" "$IFA" "$B"
check "tapir down $IFA.conf" cli "$NS1" down "$T/$IFA.conf"
check "b exits on SIGTERM" stop_daemon "$IFB"

# ---------------------------------------------------------------- the logs
LOGS=("$UP_LOG" "$B_LOG" "$CLI_LOG" "$SHOW_LOG")
diag "log sizes: $(wc -l "${LOGS[@]}" | sed '$d' | awk '{ printf "%s%s %s lines", s, $2, $1; s = ", " }' | sed "s|$T/||g")"
count() { grep -ci -- "$1" "$2" || true; }
at_least() # FILE PATTERN N
{
	local c
	c=$(count "$2" "$1")
	echo "$c lines match '$2' in $(basename "$1")"
	[ "$c" -ge "$3" ]
}
check "a's log (tapir up and its daemon) is not empty" test -s "$UP_LOG"
check "b's daemon log is not empty" test -s "$B_LOG"
check "the CLI's output is not empty" test -s "$CLI_LOG"
check "tapir show printed the peers" at_least "$SHOW_LOG" "peer: " 3
check "a's log has the handshakes at the debug level (3 or more lines)" \
	at_least "$UP_LOG" handshake 3
check "b's log has the handshakes at the verbose level (3 or more lines)" \
	at_least "$B_LOG" handshake 3
check "b's log has the refused UAPI requests (10 or more uapi lines)" at_least "$B_LOG" uapi 10
# the CLI prints nothing on success: every line but our "$ tapir" and tapir's "[#]" is an error
cli_errors()
{
	grep -v '^\$ tapir \|^\[#\] ' "$CLI_LOG" >"$T/cli-errors" || true
	at_least "$T/cli-errors" "^tapir" 7
}
check "the CLI's output has the 7 refusals" cli_errors

# leaks NAME FILE...: NAME's key in base64 and hex, case-insensitively, also just its first
# 16 characters, in none of FILEs. Prints which form was found where (never the key).
leaks()
{
	local name=$1 b64 hexk form pat f found=0
	shift
	b64=$(cat "$T/$name")
	hexk=$(b64_to_hex "$b64")
	for form in b64 b64-prefix hex hex-prefix; do
		case $form in
		b64) pat=$b64 ;;
		b64-prefix) pat=${b64:0:16} ;;
		hex) pat=$hexk ;;
		hex-prefix) pat=${hexk:0:16} ;;
		esac
		for f in "$@"; do
			if grep -qiF -- "$pat" "$f"; then
				echo "$name ($form) found in $(basename "$f"): line $(grep -niF -- "$pat" "$f" | cut -d: -f1 | paste -sd,)"
				found=1
			fi
		done
	done
	[ "$found" -eq 0 ]
}
all_secrets_absent()
{
	local rc=0 k
	for k in a.key a2.key b.key ab.psk ab2.psk; do
		leaks "$k" "${LOGS[@]}" || rc=1
	done
	return "$rc"
}
check "no private or preshared key (base64, hex, or a 16-character prefix) in any log" \
	all_secrets_absent
public_keys_absent()
{
	local rc=0 k
	for k in a.pub a2.pub b.pub; do
		leaks "$k" "$UP_LOG" "$B_LOG" "$CLI_LOG" || rc=1
	done
	return "$rc"
}
check "no public key in the daemons' logs nor in the CLI's output other than show" \
	public_keys_absent
