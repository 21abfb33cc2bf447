# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bash completion for tapir(8). Installed as bash-completion/completions/tapir; works on its
# own too (`. completion/tapir.bash`), since it uses only compgen and compopt.
#
# Interface names come from the UAPI sockets in /var/run/wireguard (and, for down, from the
# state files tapir up leaves in /var/run/tapir), config names from /etc/tapir and
# /etc/wireguard, TUN/TAP devices from /sys/class/net/*/tun_flags.

_tapir_interfaces()
{
	local f
	for f in /var/run/wireguard/*.sock; do
		[ -S "$f" ] || continue
		f=${f##*/}
		printf '%s\n' "${f%.sock}"
	done
}

# Interfaces tapir up brought up, plus every running daemon.
_tapir_up_interfaces()
{
	local f
	{
		for f in /var/run/tapir/*.state; do
			[ -f "$f" ] || continue
			f=${f##*/}
			printf '%s\n' "${f%.state}"
		done
		_tapir_interfaces
	} | sort -u
}

_tapir_config_names()
{
	local f
	for f in /etc/tapir/*.conf /etc/wireguard/*.conf; do
		[ -f "$f" ] || continue
		f=${f##*/}
		printf '%s\n' "${f%.conf}"
	done | sort -u
}

_tapir_tuntap_devices()
{
	local f
	for f in /sys/class/net/*/tun_flags; do
		[ -e "$f" ] || continue
		f=${f%/tun_flags}
		printf '%s\n' "${f##*/}"
	done
}

# _tapir_reply CUR WORD...: offer the WORDs (newline-separated lists are fine) matching CUR.
_tapir_reply()
{
	local cur=$1
	shift
	local IFS=$'\n'
	# shellcheck disable=SC2207
	COMPREPLY+=($(compgen -W "$*" -- "$cur"))
}

_tapir_files()
{
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	# shellcheck disable=SC2207
	COMPREPLY+=($(compgen -f -- "$1"))
}

# The arguments after the subcommand that are not options (words before the cursor).
_tapir_positionals()
{
	local i
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) printf '%s\n' "${COMP_WORDS[i]}" ;;
		esac
	done
}

_tapir_show()
{
	local cur=$1 has_json=0 w n
	local -a pos
	for w in "${COMP_WORDS[@]:2:COMP_CWORD-2}"; do
		[ "$w" = --json ] && has_json=1
	done
	mapfile -t pos < <(_tapir_positionals)
	n=${#pos[@]}
	if [ "$n" -eq 0 ]; then
		_tapir_reply "$cur" "$(_tapir_interfaces)" all interfaces
		[ "$has_json" -eq 1 ] || _tapir_reply "$cur" --json --help
	elif [ "$n" -eq 1 ] && [ "$has_json" -eq 0 ] && [ "${pos[0]}" != interfaces ]; then
		_tapir_reply "$cur" public-key private-key listen-port fwmark peers \
			preshared-keys endpoints allowed-ips latest-handshakes transfer \
			persistent-keepalive drops tcp compression icmp metrics dump --json
	fi
}

_tapir_set()
{
	local cur=$1 prev=$2 ifname=${COMP_WORDS[2]:-} w has_peer=0
	if [ "$COMP_CWORD" -eq 2 ]; then
		_tapir_reply "$cur" "$(_tapir_interfaces)" --help
		return
	fi
	case $prev in
	private-key | preshared-key)
		_tapir_files "$cur"
		return
		;;
	peer)
		_tapir_reply "$cur" "$(tapir show "$ifname" peers 2>/dev/null)"
		return
		;;
	persistent-keepalive)
		_tapir_reply "$cur" off 25
		return
		;;
	tcp-listen)
		_tapir_reply "$cur" on off
		return
		;;
	metrics-listen)
		_tapir_reply "$cur" off 127.0.0.1:9586
		return
		;;
	compression)
		_tapir_reply "$cur" lz4 off
		return
		;;
	fwmark)
		_tapir_reply "$cur" off
		return
		;;
	listen-port | endpoint | allowed-ips)
		return
		;;
	esac
	for w in "${COMP_WORDS[@]:3:COMP_CWORD-3}"; do
		[ "$w" = peer ] && has_peer=1
	done
	if [ "$has_peer" -eq 1 ]; then
		_tapir_reply "$cur" remove preshared-key endpoint persistent-keepalive allowed-ips \
			compression peer
	else
		_tapir_reply "$cur" listen-port fwmark private-key tcp-listen metrics-listen peer
	fi
}

# mesh VERB [OPTION VALUE]...: the verb, then that verb's options (files for file options).
_tapir_mesh()
{
	local cur=$1 prev=$2
	if [ "$COMP_CWORD" -eq 2 ]; then
		_tapir_reply "$cur" init join leave status keygen sign revoke cni demo --help
		return
	fi
	case $prev in
	--cacert | --cert | --key | --cert-file | --admin-key | --out | --state-dir | --trace-apply | \
		--data-dir | --list)
		_tapir_files "$cur"
		return
		;;
	--interface)
		_tapir_reply "$cur" "$(_tapir_interfaces)"
		return
		;;
	esac
	local tls="--cacert --cert --key --page-size"
	case ${COMP_WORDS[2]} in
	init)
		_tapir_reply "$cur" --etcd --network --cidr --subnet-len --port --mtu --keepalive \
			--force --admin-pub $tls
		;;
	join)
		_tapir_reply "$cur" --etcd --network --interface --endpoint --port --ttl --state-dir \
			--admin-pub --cert-file --trace-apply $tls
		;;
	leave) _tapir_reply "$cur" --network --etcd --state-dir $tls ;;
	status) _tapir_reply "$cur" --etcd --network --interface --admin-pub --state-dir --json $tls ;;
	keygen) _tapir_reply "$cur" --out ;;
	sign)
		_tapir_reply "$cur" --admin-key --network --public-key --subnet --days --seconds \
			--etcd --list --revocation-serial $tls
		;;
	revoke) _tapir_reply "$cur" --admin-key --network --public-key --etcd --list $tls ;;
	cni) _tapir_reply "$cur" --state-dir --bridge --name --data-dir --help ;;
	demo) _tapir_reply "$cur" --help ;;
	esac
}

# up and strip: a config name or file; up also takes --foreground.
_tapir_up()
{
	local cur=$1 cmd=$2
	if [ "$COMP_CWORD" -eq 3 ]; then
		[ "$cmd" = up ] && _tapir_reply "$cur" --foreground
		return
	elif [ "$COMP_CWORD" -ne 2 ]; then
		return
	fi
	case $cur in
	*/* | .* | ~*)
		# a path: directories and *.conf files
		local IFS=$'\n'
		compopt -o filenames 2>/dev/null
		# shellcheck disable=SC2207
		COMPREPLY+=($(compgen -d -- "$cur") $(compgen -f -X '!*.conf' -- "$cur"))
		;;
	*)
		_tapir_reply "$cur" "$(_tapir_config_names)" --help
		[ "$cmd" = up ] && _tapir_reply "$cur" --foreground
		;;
	esac
}

_tapir_tuntap()
{
	local cur=$1 prev=$2 verb=${COMP_WORDS[2]:-}
	if [ "$COMP_CWORD" -eq 2 ]; then
		_tapir_reply "$cur" add del delete show list lst watch help --help
		return
	fi
	case $prev in
	mode)
		_tapir_reply "$cur" tun tap
		return
		;;
	user)
		_tapir_reply "$cur" "$(compgen -u)"
		return
		;;
	group)
		_tapir_reply "$cur" "$(compgen -g)"
		return
		;;
	--count | count | host | port)
		return
		;;
	proto)
		_tapir_reply "$cur" icmp tcp udp
		return
		;;
	-w)
		_tapir_reply "$cur" "$(compgen -f -- "$cur")"
		return
		;;
	dev | name)
		# add names a new device; the others an existing one
		[ "$verb" = add ] || _tapir_reply "$cur" "$(_tapir_tuntap_devices)"
		return
		;;
	esac
	case $verb in
	add)
		_tapir_reply "$cur" dev name mode user group one_queue pi vnet_hdr multi_queue --help
		;;
	del | delete)
		_tapir_reply "$cur" "$(_tapir_tuntap_devices)" dev name mode --help
		;;
	show | list | lst)
		_tapir_reply "$cur" "$(_tapir_tuntap_devices)" dev -d --details --help
		;;
	watch)
		_tapir_reply "$cur" "$(_tapir_tuntap_devices)" dev proto host port --count -x -w \
			--attach --answer-ping --help
		;;
	esac
}

_tapir()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd=${COMP_WORDS[1]:-}
	COMPREPLY=()

	if [ "$COMP_CWORD" -eq 1 ]; then
		_tapir_reply "$cur" show showconf set setconf addconf syncconf genkey genpsk \
			pubkey up down strip tuntap mesh demo --help --version
		return 0
	fi
	case $cmd in
	show)
		_tapir_show "$cur"
		;;
	showconf)
		[ "$COMP_CWORD" -eq 2 ] && _tapir_reply "$cur" "$(_tapir_interfaces)" --help
		;;
	set)
		_tapir_set "$cur" "$prev"
		;;
	setconf | addconf | syncconf)
		if [ "$COMP_CWORD" -eq 2 ]; then
			_tapir_reply "$cur" "$(_tapir_interfaces)" --help
		elif [ "$COMP_CWORD" -eq 3 ]; then
			_tapir_files "$cur"
		fi
		;;
	up | strip)
		_tapir_up "$cur" "$cmd"
		;;
	down)
		[ "$COMP_CWORD" -eq 2 ] && _tapir_reply "$cur" "$(_tapir_up_interfaces)" --help
		;;
	tuntap)
		_tapir_tuntap "$cur" "$prev"
		;;
	mesh)
		_tapir_mesh "$cur" "$prev"
		;;
	demo)
		_tapir_reply "$cur" --keep --clean --help
		;;
	genkey | genpsk | pubkey)
		[ "$COMP_CWORD" -eq 2 ] && _tapir_reply "$cur" --help
		;;
	esac
	return 0
}

complete -F _tapir tapir
