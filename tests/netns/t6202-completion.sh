#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shell completion (issue 18 item 6): every subcommand and key the CLI names is offered by each
# completion in completion/. The lists come from the CLI itself, not from a copy: the
# subcommand table (`tapir --help`), show's fields and set's keys and their enumerated values
# (the usage of `tapir show --help` and `tapir set --help`), up's options, tuntap's verbs and
# words (`tapir tuntap VERB --help`), demo's options, mesh's verbs and sign's and revoke's
# options (the usage of `tapir mesh --help`) and cni's (`tapir mesh cni --help`). No
# namespace, daemon or network (lib.sh is sourced for its TAP helpers and cleanup).
#
#   bash: the script is sourced, `complete -p tapir` names the function, which runs with
#         COMP_WORDS/COMP_CWORD set as bash sets them
#   fish: `fish -c 'source tapir.fish; complete -C LINE'`, fish's own completion engine
#   zsh:  no completion engine outside the line editor: _tapir runs in `zsh -f` with words and
#         CURRENT set and compadd, _describe, _files, _users and _groups replaced by functions
#         printing their candidates (its own logic runs for real, the zsh builtins do not)
# fish and zsh are skipped (counted ok with SKIP) when not installed.
set -eu
. "$(dirname "$0")/lib.sh"

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TAPIR=${TAPIR:-$(dirname "$TAPIRD")/tapir}
TAPIR=$(resolve_impl "$TAPIR") || skip_all "no tapir CLI next to TAPIRD=$TAPIRD"
BASH_COMP=$SRCDIR/completion/tapir.bash
FISH_COMP=$SRCDIR/completion/tapir.fish
ZSH_COMP=$SRCDIR/completion/_tapir

# ---------------------------------------------------------------- the CLI's lists
# usage_of CMD...: the usage of CMD --help (its first line and the indented lines after it),
# joined.
usage_of()
{
	"$TAPIR" "$@" --help | awk 'NR > 1 && !/^[ \t]/ { exit } { printf "%s ", $0 }'
}

SUBCMDS=$("$TAPIR" --help | awk '/^  [a-z]/ { print $1 }')
# show: the bracketed list after "{ <interface> | all | interfaces }"
SHOW_FIELDS=$(usage_of show | sed 's/.*interfaces }//' | grep -oE '[a-z][a-z-]*')
# set: the keys opening a bracket; the peer's come after "[peer"
SET_KEYS=$(usage_of set | grep -oE '\[[a-z][a-z-]*[] ]' | tr -d '[] ')
SET_DEVICE_KEYS=$(sed '/^peer$/q' <<<"$SET_KEYS")
SET_PEER_KEYS=$(sed '1,/^peer$/d' <<<"$SET_KEYS")
# keys with enumerated values, e.g. "[tcp-listen on|off]" --> "tcp-listen on off"
SET_ENUMS=$(usage_of set | grep -oE '\[[a-z-]+ [a-z0-9]+(\|[a-z0-9]+)+' | tr -d '[' | tr '|' ' ')
UP_OPTS=$(usage_of up | grep -oE -- '--[a-z-]+')
DEMO_OPTS=$(usage_of demo | grep -oE -- '--[a-z-]+')
MESH_VERBS=$("$TAPIR" mesh --help | grep -oE 'tapir mesh [a-z]+' | cut -d' ' -f3)
# sign's options: the usage lines from "tapir mesh sign" to the next verb
MESH_SIGN_OPTS=$("$TAPIR" mesh --help | awk '/tapir mesh /{ on = /tapir mesh sign/ } on' |
	grep -oE -- '--[a-z-]+')
MESH_REVOKE_OPTS=$("$TAPIR" mesh --help | awk '/tapir mesh /{ on = /tapir mesh revoke/ } on' |
	grep -oE -- '--[a-z-]+')
MESH_CNI_OPTS=$(usage_of mesh cni | grep -oE -- '--[a-z-]+')
TUNTAP_VERBS=$("$TAPIR" tuntap --help | head -1 | sed 's/.*{\(.*\)}.*/\1/' | grep -oE '[a-z]+')
# tuntap VERB's keywords: the lowercase words of its usage after "tapir tuntap VERB",
# without the mode values (offered after "mode") and the options (offered after "-")
tuntap_words()
{
	usage_of tuntap "$1" | sed "s/^Usage: tapir tuntap [^a-z]*$1//; s/{ *tun *| *tap *}//" |
		sed 's/[ |]/\n/g' | grep -E '[a-z]' | grep -v -- '^\[*-' | grep -oE '^\[*[a-z_]+' |
		tr -d '[' | grep -vxE 'list|lst' || true
}
tuntap_opts() { usage_of tuntap "$1" | grep -oE -- '-{1,2}[a-z][a-z-]*' || true; }
TT_ADD=$(tuntap_words add)
TT_DEL=$(tuntap_words del)
TT_SHOW=$(tuntap_words show)
TT_WATCH=$(tuntap_words watch)
TT_SHOW_OPTS=$(tuntap_opts show)
TT_WATCH_OPTS=$(tuntap_opts watch)

n_enums=$(grep -c . <<<"$SET_ENUMS" || true)
N_CONTEXTS=$((18 + n_enums))
plan $((1 + 3 * N_CONTEXTS))

lists_ok()
{
	local name
	for name in SUBCMDS SHOW_FIELDS SET_DEVICE_KEYS SET_PEER_KEYS SET_ENUMS UP_OPTS DEMO_OPTS \
		MESH_VERBS MESH_SIGN_OPTS MESH_CNI_OPTS TUNTAP_VERBS TT_ADD TT_DEL TT_SHOW TT_WATCH TT_SHOW_OPTS TT_WATCH_OPTS; do
		echo "$name:" ${!name}
		[ -n "${!name}" ] || return 1
	done
	# the lists hold what the issue named, so that a changed --help cannot empty them quietly
	grep -qx strip <<<"$SUBCMDS" && grep -qx compression <<<"$SHOW_FIELDS" &&
		grep -qx tcp-listen <<<"$SET_DEVICE_KEYS" && grep -qx compression <<<"$SET_PEER_KEYS" &&
		grep -qx -- --foreground <<<"$UP_OPTS" && grep -qx -- -d <<<"$TT_SHOW_OPTS" &&
		grep -qx demo <<<"$MESH_VERBS" && grep -qx -- --seconds <<<"$MESH_SIGN_OPTS" &&
		grep -qx cni <<<"$MESH_VERBS" && grep -qx -- --data-dir <<<"$MESH_CNI_OPTS"
}
check "the CLI's --help yields every list (subcommands, fields, keys, verbs, options)" lists_ok

# ---------------------------------------------------------------- the three drivers
# Each prints the candidates offered for the command line LINE (the cursor at its end), one
# per line.
bash_offers()
{
	bash -c '
		. "$1"
		fn=$(complete -p tapir | grep -oE -- "-F [^ ]+" | cut -c4-)
		[ -n "$fn" ] || { echo "no complete -F for tapir" >&2; exit 1; }
		read -ra COMP_WORDS <<<"$2"
		case $2 in *" ") COMP_WORDS+=("") ;; esac
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$2 COMP_POINT=${#2}
		"$fn" tapir "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$BASH_COMP" "$1"
}

fish_offers()
{
	# shellcheck disable=SC2016 # fish's $argv, expanded by fish
	fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$FISH_COMP" "$1" | cut -f1
}

zsh_offers()
{
	zsh -f -c '
		compadd() { local a; for a in "$@"; do [[ $a == -- ]] || print -r -- $a; done; }
		_describe() { local e; for e in ${(P)${@[-1]}}; do print -r -- ${e%%:*}; done; }
		_files() { :; }
		_users() { :; }
		_groups() { :; }
		words=(${(z)2})
		[[ $2 == *" " ]] && words+=("")
		CURRENT=${#words}
		source $1
	' zsh "$ZSH_COMP" "$1"
}

# offers SHELL LINE WANT...: SHELL's completion of LINE includes every WANT.
offers()
{
	local shell=$1 line=$2 got missing
	shift 2
	got=$("${shell}_offers" "$line" | LC_ALL=C sort -u)
	missing=$(comm -23 <(printf '%s\n' "$@" | LC_ALL=C sort -u) <(printf '%s\n' "$got"))
	if [ -n "$missing" ]; then
		echo "\"$line\" offers: $(tr '\n' ' ' <<<"$got")"
		echo "missing: $(tr '\n' ' ' <<<"$missing")"
		return 1
	fi
}

# contexts: "LINE|WORDS" (WORDS split by the shell)
contexts=(
	"tapir |$SUBCMDS"
	"tapir show wg0 |$SHOW_FIELDS"
	"tapir set wg0 |$SET_DEVICE_KEYS"
	"tapir set wg0 peer Zm9v |$SET_PEER_KEYS"
	"tapir up -|$UP_OPTS"
	"tapir demo -|$DEMO_OPTS"
	"tapir mesh |$MESH_VERBS"
	"tapir mesh sign -|$MESH_SIGN_OPTS"
	"tapir mesh revoke -|$MESH_REVOKE_OPTS"
	"tapir mesh cni -|$MESH_CNI_OPTS"
	"tapir tuntap |$TUNTAP_VERBS"
	"tapir tuntap add |$TT_ADD"
	"tapir tuntap add x mode |tun tap"
	"tapir tuntap del |$TT_DEL"
	"tapir tuntap show |$TT_SHOW"
	"tapir tuntap show -|$TT_SHOW_OPTS"
	"tapir tuntap watch |$TT_WATCH"
	"tapir tuntap watch x -|$TT_WATCH_OPTS"
)
while read -r key values; do
	[ -n "$key" ] || continue
	if grep -qx -- "$key" <<<"$SET_PEER_KEYS"; then
		contexts+=("tapir set wg0 peer Zm9v $key |$values")
	else
		contexts+=("tapir set wg0 $key |$values")
	fi
done <<<"$SET_ENUMS"
[ "${#contexts[@]}" -eq "$N_CONTEXTS" ] || bail_out "${#contexts[@]} contexts, planned $N_CONTEXTS"

for shell in bash fish zsh; do
	for c in "${contexts[@]}"; do
		line=${c%%|*}
		# shellcheck disable=SC2086
		set -- ${c#*|}
		desc="$shell completes \"$line\" with: $*"
		if [ "$shell" != bash ] && ! command -v "$shell" >/dev/null 2>&1; then
			ok "$desc # SKIP $shell not installed"
			continue
		fi
		check "$desc" offers "$shell" "$line" "$@"
	done
done
