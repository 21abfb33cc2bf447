#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UAPI / wg-quick: wg-quick up with WG_QUICK_USERSPACE_IMPLEMENTATION=IMPL on both sides
# (no kernel module, so wg-quick starts IMPL without -f and waits for it to daemonize),
# MTU 1420 on a 1500-byte underlay, ping, then wg-quick down: the daemons exit and remove
# their sockets.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | wg-quick up tw$$qa.conf       |                     | wg-quick up tw$$qb.conf       |
#   | tw$$qa 10.77.0.1/24 fd77::1   |                     | tw$$qb 10.77.0.2/24 fd77::2   |
#   |   IMPL, port 51801            |                     |   IMPL, port 51802            |
#   |   peer b: endpoint 192.0.2.2  |                     |   peer a: no endpoint         |
#   | veth1  192.0.2.1/24 mtu 1500  |=====================| veth2  192.0.2.2/24 mtu 1500  |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds wg-quick
[ ! -e /sys/module/wireguard ] ||
	skip_all "the wireguard kernel module is loaded; wg-quick would not use IMPL"

plan 15

IFA="tw$$qa"
IFB="tw$$qb"
register_if "$IFA"
register_if "$IFB"
setup_underlay
keygen a
keygen b
cat >"$T/$IFA.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")
Address = 10.77.0.1/24, fd77::1/64
ListenPort = 51801

[Peer]
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51802
AllowedIPs = 10.77.0.2/32, fd77::2/128
EOC
cat >"$T/$IFB.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of b)")
Address = 10.77.0.2/24, fd77::2/64
ListenPort = 51802

[Peer]
PublicKey = $(pub_of a)
AllowedIPs = 10.77.0.1/32, fd77::1/128
EOC

# quick NS up|down IFNAME: run wg-quick, log to $T/quick-IFNAME-up|down.log (the daemon
# inherits the log as its stdout/stderr), show the log on failure.
quick()
{
	local ns=$1 cmd=$2 ifn=$3 log="$T/quick-$3-$2.log" rc=0
	ip netns exec "$ns" env WG_QUICK_USERSPACE_IMPLEMENTATION="$IMPL" LOG_LEVEL=verbose \
		timeout 30 wg-quick "$cmd" "$T/$ifn.conf" >"$log" 2>&1 </dev/null || rc=$?
	cat "$log"
	return "$rc"
}

# runs_impl NS IFNAME: the only process in NS is IMPL, and its socket is there.
runs_impl()
{
	local ns=$1 ifn=$2 pids pid exe
	pids=$(ip netns pids "$ns")
	echo "processes in $ns: $pids"
	[ -n "$pids" ] || return 1
	for pid in $pids; do
		exe=$(readlink "/proc/$pid/exe")
		echo "$pid: $exe"
		[ "$exe" = "$(readlink -f "$IMPL")" ] || return 1
	done
	[ -S "$(sock_of "$ifn")" ]
}

mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
no_process_in() { [ -z "$(ip netns pids "$1")" ]; }
no_socket() { [ ! -e "$(sock_of "$1")" ]; }

check "wg-quick up $IFA" quick "$NS1" up "$IFA"
check "wg-quick up $IFB" quick "$NS2" up "$IFB"
pids_a=$(ip netns pids "$NS1" | tr "\n" " ") # tapird and its socket helper
pids_b=$(ip netns pids "$NS2" | tr "\n" " ")
check "wg-quick started IMPL for $IFA" runs_impl "$NS1" "$IFA"
check "wg-quick started IMPL for $IFB" runs_impl "$NS2" "$IFB"
check_eq "$IFA has MTU 1420" 1420 mtu_of "$NS1" "$IFA"
check_eq "$IFB has MTU 1420" 1420 mtu_of "$NS2" "$IFB"
check "ping 10.77.0.2 from a" ping_ok "$NS1" 10.77.0.2
check "ping fd77::2 from a" ping_ok "$NS1" fd77::2
check "a: latest handshake with b is set" handshake_done "$NS1" "$IFA" "$(pub_of b)"

check "wg-quick down $IFA" quick "$NS1" down "$IFA"
check "wg-quick down $IFB" quick "$NS2" down "$IFB"
check "$IFA's daemon exited (pids ${pids_a% })" wait_for "$IFA's daemon to exit" 10 no_process_in "$NS1"
check "$IFB's daemon exited (pids ${pids_b% })" wait_for "$IFB's daemon to exit" 10 no_process_in "$NS2"
check "$IFA's socket is removed" wait_for "$(sock_of "$IFA") to go" 5 no_socket "$IFA"
check "$IFB's socket is removed" wait_for "$(sock_of "$IFB") to go" 5 no_socket "$IFB"
