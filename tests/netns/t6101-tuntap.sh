#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir tuntap: add/del/show checked against `ip -d link show` and `ip tuntap show`, bad input,
# and `tapir tuntap watch` printing the pings (TUN) and ARP requests (TAP) sent into a device;
# `tapir tuntap show -d` naming the watch as the process attached (like `ip -d tuntap show`).
# No daemon runs; nothing leaves the one namespace (no underlay, pings go into the devices).
#
#   tapir-$$-1
#   +-----------------------------------------------------------------------------+
#   | tt$$a..tt$$d  made by `tapir tuntap add` in four flag combinations, compared,  |
#   |               then removed by `tapir tuntap del`                             |
#   | tt$$t  TUN 10.61.0.1/24   ping 10.61.0.2 --> read by `tapir tuntap watch`    |
#   | tt$$p  TAP 10.62.0.1/24   ping 10.62.0.2 --> ARP requests read by watch      |
#   | tt$$s  TAP fd62::1/64     ping fd62::2   --> neighbor solicitations; SIGINT  |
#   +-----------------------------------------------------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

TAPIR=${TAPIR:-$(dirname "$TAPIRD")/tapir}
TAPIR=$(resolve_impl "$TAPIR") || skip_all "no tapir CLI next to TAPIRD=$TAPIRD"

plan 54

tt() { n1 "$TAPIR" tuntap "$@"; }

# The tun part of `ip -d link show NAME`: "tun type ... persist on [user U] [group G]".
tun_details()
{
	ip1 -d link show dev "$1" | sed -n 's/^ *\(tun type .*\) addrgenmode .*/\1/p'
}

# The line of `ip tuntap show` for NAME.
ip_tuntap_line()
{
	n1 ip tuntap show | awk -v n="$1:" '$1 == n'
}

link_absent()
{
	! ip1 link show dev "$1" 2>/dev/null
}

# fails_with CODE REGEX CMD...: CMD exits with status CODE and its stderr matches REGEX.
fails_with()
{
	local want=$1 regex=$2 rc=0
	shift 2
	"$@" >"$T/fails.out" 2>"$T/fails.err" || rc=$?
	echo "exit status $rc, stderr:"
	cat "$T/fails.err"
	[ "$rc" -eq "$want" ] && grep -Eq -- "$regex" "$T/fails.err"
}

user_name() { getent passwd "$1" | cut -d: -f1 | grep . || echo "$1"; }
group_name() { getent group "$1" | cut -d: -f1 | grep . || echo "$1"; }

add_ns 1

# ---------------------------------------------------------------- add, show, del
A="tt$$a" B="tt$$b" C="tt$$c" D="tt$$d"
NOBODY=$(user_name 65534)
NOGROUP=$(group_name 65534)

pretty "$NS1" "tapir tuntap add $A mode tun"
check "add $A mode tun" tt add "$A" mode tun
pretty "$NS1" "tapir tuntap add dev $B mode tap user 65534 group 65534 pi vnet_hdr"
check "add dev $B mode tap user/group numeric, pi, vnet_hdr" \
	tt add dev "$B" mode tap user 65534 group 65534 pi vnet_hdr
pretty "$NS1" "tapir tuntap add name $C mode tun user root group root one_queue multi_queue"
check "add name $C mode tun user/group by name, one_queue, multi_queue" \
	tt add name "$C" mode tun user root group root one_queue multi_queue
pretty "$NS1" "tapir tuntap add mode tap vnet_hdr dev $D multi_queue pi one_queue"
check "add with dev NAME after options: tap vnet_hdr multi_queue pi one_queue" \
	tt add mode tap vnet_hdr dev "$D" multi_queue pi one_queue

check_eq "ip -d link: $A is tun, no pi, no vnet_hdr, persistent" \
	"tun type tun pi off vnet_hdr off persist on" tun_details "$A"
check_eq "ip -d link: $B is tap with pi, vnet_hdr, owner and group" \
	"tun type tap pi on vnet_hdr on persist on user $NOBODY group $NOGROUP" tun_details "$B"
check_eq "ip -d link: $C is multi_queue tun owned by root:root" \
	"tun type tun pi off vnet_hdr off multi_queue numqueues 0 numdisabled 0 persist on user root group root" \
	tun_details "$C"
check_eq "ip -d link: $D is multi_queue tap with pi and vnet_hdr" \
	"tun type tap pi on vnet_hdr on multi_queue numqueues 0 numdisabled 0 persist on" \
	tun_details "$D"

check_eq "tapir tuntap show $A" "$A: tun persist" tt show "$A"
check_eq "tapir tuntap show dev $B" \
	"$B: tap pi vnet_hdr persist filter user 65534 group 65534" tt show dev "$B"
check_eq "tapir tuntap list $C" "$C: tun one_queue multi_queue persist user 0 group 0" \
	tt list "$C"
check_eq "tapir tuntap show $D" "$D: tap pi one_queue multi_queue vnet_hdr persist filter" \
	tt show "$D"
for dev in "$A" "$B" "$C" "$D"; do
	check_eq "ip tuntap show and tapir tuntap show print the same line for $dev" \
		"$(ip_tuntap_line "$dev")" tt show "$dev"
done
check_eq "ip tuntap show and tapir tuntap show list the same devices, in order" \
	"$(n1 ip tuntap show)" tt show

# ---------------------------------------------------------------- bad input
check "unknown mode: usage error, nothing created" \
	fails_with 2 'unknown mode "tup"' tt add "tt$$x" mode tup
check "missing name: usage error" fails_with 2 'missing device name' tt add mode tap
check "missing mode: usage error" fails_with 2 'missing mode' tt add "tt$$x"
check "unknown option: usage error" fails_with 2 'unknown option "--bogus"' \
	tt add "tt$$x" mode tun --bogus
check "unknown user: usage error" fails_with 2 'unknown user' \
	tt add "tt$$x" mode tun user "no-such-user-$$"
check "invalid name: usage error" fails_with 2 'invalid device name' tt add "a/b" mode tun
check "add an existing name: error" fails_with 1 "device $A exists" tt add "$A" mode tun
check "add an existing name in the other mode: error" fails_with 1 "device $A exists" \
	tt add "$A" mode tap
check "del lo: not a TUN/TAP device" fails_with 1 'lo is not a TUN/TAP device' tt del lo
check "del a missing device: error" fails_with 1 'no such device' tt del "tt$$x"
check "del with the wrong mode: error" fails_with 1 "$B is a tap device, not tun" \
	tt del "$B" mode tun
check "watch --count 0: usage error" fails_with 2 'invalid count' tt watch "$A" --count 0
check "bad input created nothing" link_absent "tt$$x"
check "lo is still there" ip1 link show dev lo
check_eq "bad input changed no device" "$(n1 ip tuntap show)" tt show
check "tapir tuntap --help exits 0" tt --help
check "tapir tuntap add --help exits 0" tt add --help

pretty "$NS1" "tapir tuntap del $A; del dev $B mode tap; del $C mode tun vnet_hdr; del $D"
check "del $A (mode detected)" tt del "$A"
check "del dev $B mode tap" tt del dev "$B" mode tap
check "del $C mode tun (multi_queue detected, extra ip options ignored)" \
	tt del "$C" mode tun vnet_hdr
check "del $D (multi_queue tap)" tt del "$D"
check "deleted devices are gone from ip link" \
	eval "link_absent $A && link_absent $B && link_absent $C && link_absent $D"
check_eq "tapir tuntap show lists nothing after del" "" tt show

# ---------------------------------------------------------------- watch
# IPv6 is off on the devices read with --count, so no router solicitation or MLD report
# takes one of the counted lines.
TUN="tt$$t" TAP="tt$$p" TAP6="tt$$s"

carrier_on()
{
	[ "$(n1 cat "/sys/class/net/$1/carrier" 2>/dev/null)" = 1 ]
}

# watch_bg DEV OUT [WATCH ARGS]: run `tapir tuntap watch DEV ARGS` in the background under
# timeout(1) with the options in WATCH_TIMEOUT, attached (--attach: these devices have no
# other owner); its stdout goes to OUT. Waits (bounded) until
# it has attached to DEV (carrier on).
watch_bg()
{
	local dev=$1 out=$2
	shift 2
	(exec ip netns exec "$NS1" env --default-signal timeout "${WATCH_TIMEOUT[@]}" \
		"$TAPIR" tuntap watch "$dev" --attach "$@" >"$out" 2>"$out.log" </dev/null) &
	WATCH_PID=$!
	track_pid "$WATCH_PID"
	wait_for "watch to attach to $dev" 10 carrier_on "$dev"
}

# watch_wait: wait (bounded) for the watch started last; its exit status goes to WATCH_RC.
watch_wait()
{
	WATCH_RC="still running"
	wait_for "watch to exit" 12 dead "$WATCH_PID" || return 0
	WATCH_RC=0
	wait "$WATCH_PID" || WATCH_RC=$?
}

# lines_all_match FILE COUNT REGEX: FILE has exactly COUNT lines, each matching REGEX.
lines_all_match()
{
	cat "$1"
	[ "$(wc -l <"$1")" -eq "$2" ] && [ "$(grep -Ec -- "$3" "$1")" -eq "$2" ]
}

tt add "$TUN" mode tun
n1 sysctl -qw "net.ipv6.conf.$TUN.disable_ipv6=1"
addr_up "$NS1" "$TUN" 10.61.0.1/24
WATCH_TIMEOUT=(10)
watch_bg "$TUN" "$T/watch-tun.out" --count 3
pretty "$NS1" "ping -c 3 -W 1 10.61.0.2 (into $TUN, no reply expected)"
n1 timeout 10 ping -c 3 -W 1 -i 0.2 10.61.0.2 >/dev/null 2>&1 || true
watch_wait
check_eq "watch on TUN stops after --count 3 with status 0" 0 echo "$WATCH_RC"
check "watch on TUN printed 3 ICMP echo requests 10.61.0.1 > 10.61.0.2" \
	lines_all_match "$T/watch-tun.out" 3 \
	'^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} 84 bytes: IPv4 10\.61\.0\.1 > 10\.61\.0\.2 ICMP echo request \(type 8 code 0\) id [0-9]+ seq [1-3]$'
check_eq "a device stays persistent after watch detached" "$TUN: tun persist" tt show "$TUN"

tt add "$TAP" mode tap
n1 sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
addr_up "$NS1" "$TAP" 10.62.0.1/24
MAC=$(n1 cat "/sys/class/net/$TAP/address")
watch_bg "$TAP" "$T/watch-tap.out" --count 3
pretty "$NS1" "ping -c 3 -W 1 10.62.0.2 (a neighbour behind $TAP: ARP, no reply expected)"
n1 timeout 10 ping -c 3 -W 1 10.62.0.2 >/dev/null 2>&1 || true
watch_wait
check_eq "watch on TAP stops after --count 3 with status 0" 0 echo "$WATCH_RC"
check "watch on TAP printed 3 ARP requests from $TAP's MAC for 10.62.0.2" \
	lines_all_match "$T/watch-tap.out" 3 \
	"^[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} 42 bytes: $MAC > ff:ff:ff:ff:ff:ff ARP request who-has 10\\.62\\.0\\.2 tell 10\\.62\\.0\\.1\$"

# IPv6 on a TAP with pi and vnet_hdr (headers stripped before decoding); no --count, stopped
# by SIGINT from timeout(1) after 4 s.
tt add "$TAP6" mode tap pi vnet_hdr
addr_up "$NS1" "$TAP6" fd62::1/64
WATCH_TIMEOUT=(--preserve-status -s INT 4)
watch_bg "$TAP6" "$T/watch-tap6.out"
pretty "$NS1" "ping -c 2 -W 1 fd62::2 (a neighbour behind $TAP6: ND, no reply expected)"
n1 timeout 10 ping -c 2 -W 1 fd62::2 >/dev/null 2>&1 || true
watch_wait
check_eq "watch stops cleanly on SIGINT (status 0)" 0 echo "$WATCH_RC"
check "watch on a pi+vnet_hdr TAP printed neighbor solicitations for fd62::2" \
	grep -E 'IPv6 fd62::1 > ff02::1:ff00:2 ICMPv6 neighbor solicitation \(type 135 code 0\) target fd62::2$' \
	"$T/watch-tap6.out"

# show -d (issue 18 item 7): a watch (timeout's child) holds $TUN's only queue until SIGINT
WATCH_TIMEOUT=(--preserve-status -s INT 20)
watch_bg "$TUN" "$T/watch-held.out"
WATCHER=$(cat "/proc/$WATCH_PID/task/$WATCH_PID/children")
WATCHER=${WATCHER%% *}
check_eq "tapir tuntap show -d $TUN lists the watch as attached, by name and pid" \
	"$(printf '%s: tun persist\n\tAttached to processes:tapir(%s)' "$TUN" "$WATCHER")" \
	tt show -d "$TUN"
check_eq "tapir tuntap show --details: a device nobody holds has an empty list" \
	"$(printf '%s: tap persist\n\tAttached to processes:' "$TAP")" tt show --details "$TAP"
check_eq "tapir tuntap show -d prints what ip -d tuntap show prints (one queue per holder)" \
	"$(n1 ip -d tuntap show 2>/dev/null)" tt show -d
check_eq "tapir tuntap show without -d prints no process line" "$TUN: tun persist" \
	tt show "$TUN"
kill -INT "$WATCH_PID"
watch_wait
check_eq "the held watch stops on SIGINT (status 0)" 0 echo "$WATCH_RC"

check "del the watched devices" eval "tt del $TUN && tt del $TAP && tt del $TAP6"
check_eq "no TUN/TAP device is left (ip tuntap show)" "" n1 ip tuntap show
