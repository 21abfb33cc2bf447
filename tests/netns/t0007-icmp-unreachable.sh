#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN: a packet for an address no peer's allowed IPs cover is answered with ICMP "host
# unreachable" / ICMPv6 "address unreachable" from that address, as the kernel's WireGuard
# answers it, so ping and connect fail at once instead of timing out. The errors are counted,
# rate-limited (10/s, bursts of 10), and a UDP GSO super-packet to nowhere gets one error, not
# one per segment. Routed traffic gets none.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tw$$a  10.79.0.1/24 fd79::1   |                     | tw$$b  10.79.0.2/24 fd79::2   |
#   |   IMPL, port 51871            |                     |   IMPL, port 51872            |
#   |   peer b: 10.79.0.2, fd79::2  |                     |   peer a: 10.79.0.1, fd79::1  |
#   |   (10.79.0.99, fd79::99: none)|                     |                               |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_tapird_extension "the ICMP counters"
require_cmds nc
ATTACKER=${ATTACKER:-$(dirname "$IMPL")/tests/tools/attacker}
[ -x "$ATTACKER" ] || skip_all "attacker not found (set ATTACKER)"

plan 13

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51871 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51872 allowed-ips 10.79.0.2/32,fd79::2/128
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51872 \
	peer "$(pub_of a)" allowed-ips 10.79.0.1/32,fd79::1/128
addr_up "$NS1" "$IFA" 10.79.0.1/24 fd79::1/64
addr_up "$NS2" "$IFB" 10.79.0.2/24 fd79::2/64

icmp_stat() { show_stat "$NS1" "$IFA" icmp "unreachable_$1"; }
no_route() { show_stat "$NS1" "$IFA" drops no_route; }

# unreachable ADDR TEXT: two pings that each wait 5 s for an answer; they must fail, print
# TEXT for both, and be done in well under the 6 s they take without an answer.
unreachable()
{
	local start out rc=0 ms
	start=${EPOCHREALTIME/./}
	out=$(n1 timeout 20 ping -n -c 2 -W 5 "$1" 2>&1) || rc=$?
	ms=$(((${EPOCHREALTIME/./} - start) / 1000))
	echo "$out"
	echo "exit status $rc after $ms ms"
	[ "$rc" -ne 0 ] && [ "$ms" -lt 4000 ] &&
		[ "$(grep -c "^From $1 icmp_seq=[12] $2\$" <<<"$out")" -eq 2 ]
}

check "ping 10.79.0.99 (no peer): Destination Host Unreachable from it, at once" \
	unreachable 10.79.0.99 "Destination Host Unreachable"
check "ping fd79::99 (no peer): Address unreachable from it, at once" \
	unreachable fd79::99 "Destination unreachable: Address unreachable"
# IPv6 multicast (router solicitations, MLD) also goes into the TUN: never answered
check_eq "four errors sent" 4 icmp_stat sent
check_eq "none held back" 0 icmp_stat ratelimited
check "each counted as a no_route drop" eval '[ "$(no_route)" -ge 4 ]'

connect_fails()
{
	local out
	out=$(n1 timeout 10 nc -v -n -z -w 5 10.79.0.99 80 2>&1) || true
	echo "$out"
	grep -q "No route to host" <<<"$out"
}
check "TCP connect to 10.79.0.99 fails at once: no route to host" connect_fails
check "the peer is reachable (IPv4)" ping_until "$NS1" 10 10.79.0.2
check "the peer is reachable (IPv6)" ping_ok "$NS1" fd79::2
check_eq "routed traffic gets no errors" 5 icmp_stat sent

# 100 echo requests in about 0.2 s: a burst of 10, then 10 per second
flood()
{
	local sent0 held0 sent held out
	sleep 1.1 # the bucket refills
	sent0=$(icmp_stat sent)
	held0=$(icmp_stat ratelimited)
	out=$(n1 timeout 20 ping -n -q -i 0.002 -c 100 -W 1 10.79.0.99 2>&1) || true
	sent=$(($(icmp_stat sent) - sent0))
	held=$(($(icmp_stat ratelimited) - held0))
	echo "$out"
	echo "errors sent $sent, held back $held"
	[ $((sent + held)) -eq 100 ] && [ "$sent" -ge 10 ] && [ "$sent" -le 30 ] &&
		grep -q "+$sent errors" <<<"$out"
}
check "a flood of 100 gets 10 to 30 errors, and ping sees each" flood

# one sendmsg of ten 148-byte datagrams with UDP_SEGMENT: one super-packet through the TUN
gso()
{
	local sent0 held0 drops0 drops sent held
	sleep 1.1
	sent0=$(icmp_stat sent)
	held0=$(icmp_stat ratelimited)
	drops0=$(no_route)
	n1 timeout 20 "$ATTACKER" --target 10.79.0.99:9 --kind badmac --count 10 --gso 10 \
		--linger-ms 200 || return 1
	drops=$(($(no_route) - drops0))
	sent=$(($(icmp_stat sent) - sent0))
	held=$(($(icmp_stat ratelimited) - held0))
	# IPv6 multicast from the interface (MLD, router solicitations) is a no_route drop too
	echo "no_route +$drops sent +$sent held +$held"
	[ "$drops" -ge 10 ] && [ "$sent" -eq 1 ] && [ "$held" -eq 9 ]
}
check "a GSO super-packet of 10 datagrams to nowhere: 10 drops, one error" gso

json_icmp() { n1 "$TAPIR" show "$IFA" --json | tr -d ' \n' | grep -o '"icmp":{[^}]*}'; }
check "tapir show --json carries the icmp counters" \
	eval 'json_icmp | grep -Eq "^\"icmp\":\{\"unreachable_sent\":[0-9]+,\"unreachable_ratelimited\":[0-9]+\}$"'
check "the UAPI carries them to get=tapir" \
	eval 'printf "get=tapir\n\n" | uapi "$IFA" | grep -Eq "^tapir_icmp_unreachable_sent=[0-9]+$"'
