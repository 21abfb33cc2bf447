#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir genkey | pubkey | genpsk against wg(8): keys from one tool work in the other, byte
# for byte, and bad input is refused with exit status 1. No namespace, daemon or network:
# only the two CLIs on this machine (lib.sh is sourced for its TAP helpers and cleanup).
#
#   tapir genkey --> wg pubkey    == tapir pubkey
#   wg genkey    --> tapir pubkey == wg pubkey
#   tapir genpsk --> 44 base64 characters, 32 bytes
set -eu
. "$(dirname "$0")/lib.sh"

TAPIR=${TAPIR:-$(dirname "$IMPL")/tapir}
TAPIR=$(resolve_impl "$TAPIR") || skip_all "tapir CLI not found (set TAPIR)"
require_cmds base64 od

plan 16

ROUNDS=8

tapir_to_wg()
{
	local i k
	for ((i = 0; i < ROUNDS; i++)); do
		k=$("$TAPIR" genkey) || return 1
		[ "$(printf '%s\n' "$k" | wg pubkey)" = "$(printf '%s\n' "$k" | "$TAPIR" pubkey)" ] || {
			echo "public keys differ for a tapir key"
			return 1
		}
	done
}
check "keys from tapir genkey: wg pubkey == tapir pubkey ($ROUNDS keys)" tapir_to_wg

wg_to_tapir()
{
	local i k
	for ((i = 0; i < ROUNDS; i++)); do
		k=$(wg genkey)
		[ "$(printf '%s\n' "$k" | "$TAPIR" pubkey)" = "$(printf '%s\n' "$k" | wg pubkey)" ] || {
			echo "public keys differ for a wg key"
			return 1
		}
	done
}
check "keys from wg genkey: tapir pubkey == wg pubkey ($ROUNDS keys)" wg_to_tapir

# is_key32 TEXT: 44 base64 characters ending in '=' that decode to exactly 32 bytes.
is_key32()
{
	echo "key: $1"
	[[ $1 =~ ^[A-Za-z0-9+/]{43}=$ ]] &&
		[ "$(printf '%s' "$1" | base64 -d | wc -c)" -eq 32 ]
}
check "tapir genkey prints 44 base64 characters decoding to 32 bytes" \
	eval 'is_key32 "$("$TAPIR" genkey)"'
check "tapir genpsk prints 44 base64 characters decoding to 32 bytes" \
	eval 'is_key32 "$("$TAPIR" genpsk)"'
check "tapir pubkey prints 44 base64 characters decoding to 32 bytes" \
	eval 'is_key32 "$("$TAPIR" genkey | "$TAPIR" pubkey)"'

# Curve25519 clamping: low 3 bits of byte 0 clear, byte 31 is 01xxxxxx.
clamped()
{
	local bytes first last
	bytes=$("$TAPIR" genkey | base64 -d | od -An -v -tu1 | tr -s ' \n' ' ')
	first=$(echo "$bytes" | awk '{ print $1 }')
	last=$(echo "$bytes" | awk '{ print $32 }')
	echo "first byte $first, last byte $last"
	[ $((first & 7)) -eq 0 ] && [ $((last & 192)) -eq 64 ]
}
check "tapir genkey keys are clamped" clamped
check "two tapir genkey calls differ" eval '[ "$("$TAPIR" genkey)" != "$("$TAPIR" genkey)" ]'
check "two tapir genpsk calls differ" eval '[ "$("$TAPIR" genpsk)" != "$("$TAPIR" genpsk)" ]'
check "tapir pubkey takes a key without a final newline and with trailing blanks" \
	eval 'k=$(wg genkey); [ "$(printf "%s  \n\n" "$k" | "$TAPIR" pubkey)" = "$(printf "%s" "$k" | wg pubkey)" ]'

# bad_pubkey INPUT: exit status 1 and wg's message, nothing on stdout.
bad_pubkey()
{
	local rc=0 out
	out=$(printf '%s' "$1" | "$TAPIR" pubkey 2>"$T/err") || rc=$?
	cat "$T/err"
	[ "$rc" -eq 1 ] && [ -z "$out" ] && [ -s "$T/err" ]
}
check "tapir pubkey: short input exits 1 with a message" \
	eval 'bad_pubkey abc && grep -qx "tapir pubkey: key is not the correct length or format" "$T/err"'
check "tapir pubkey: empty input exits 1" bad_pubkey ""
check "tapir pubkey: characters after the key exit 1" eval 'bad_pubkey "$(wg genkey) x"'
# 44 characters but not base64 of a key: the last character before '=' carries stray bits.
check "tapir pubkey: a non-canonical encoding exits 1 (as wg pubkey)" \
	eval 'k="$(wg genkey | cut -c1-42)B="; ! printf "%s" "$k" | wg pubkey >/dev/null 2>&1 && bad_pubkey "$k"'

world_warning()
{
	(umask 022 && "$TAPIR" genkey >"$T/world.key" 2>"$T/warn")
	cat "$T/warn"
	grep -q "world accessible" "$T/warn" && is_key32 "$(cat "$T/world.key")"
}
check "tapir genkey warns when writing a world-readable file (as wg)" world_warning

help_and_usage()
{
	local c rc
	for c in genkey pubkey genpsk; do
		"$TAPIR" "$c" --help >/dev/null || { echo "$c --help failed"; return 1; }
		rc=0
		"$TAPIR" "$c" extra </dev/null >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq 2 ] || { echo "$c extra: exit $rc, want 2"; return 1; }
	done
}
check "genkey/pubkey/genpsk: --help exits 0, extra arguments exit 2" help_and_usage

dispatcher()
{
	local rc=0
	"$TAPIR" --help | grep -q "genkey" || return 1
	"$TAPIR" --version | grep -q "^tapir " || return 1
	"$TAPIR" no-such-command 2>/dev/null || rc=$?
	echo "unknown subcommand: exit $rc"
	[ "$rc" -eq 2 ]
}
check "tapir --help, --version; an unknown subcommand exits 2" dispatcher
