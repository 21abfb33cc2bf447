#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Sticky source addresses (issue 14 item 2): a multi-homed host answers a peer from the
# address the peer sent to, not from the kernel's default source, and falls back to the
# default once that address goes away. Three rounds, each with fresh daemons; in each, a
# (ns 1) has b's address X configured as its endpoint and b (ns 2, the multi-homed host) has
# no endpoint for a (it learns a's by roaming):
#
#   round  X (what a sends to)                       D (b's default source towards a)
#   1      192.0.2.12, second IPv4 address on veth2  192.0.2.2
#   2      2001:db8:1::12, not the first IPv6        2001:db8:1::2
#          address of veth2
#   3      198.51.100.12/32 on another interface     192.0.2.2
#          (ss$$o, a veth), a routes it via 192.0.2.2
#
# a sits behind a stateful firewall (conntrack: from b's port only replies to what a sent,
# i.e. from X), as a NATed peer does, so answers from D never reach it. a learns b's
# endpoint from the source of b's authenticated packets (roaming), so a's endpoint for b
# shows where b answered from; nftables counters on a's veth1 (what arrives from b's port,
# before the firewall) and on b's veth2 (what b sends, UDP GSO super-packets included) check
# the source on the wire. Each round: ping both ways, a's endpoint is X and nothing came from
# another source; a bulk TCP transfer b -> a (offloads on: TUN TSO, UDP GSO) whose
# UDP_SEGMENT super-packets leave from X; then the firewall is lifted (b's traffic from a
# new address is a new flow to it), X is removed, and b's pings to a still get through,
# now from D (a's endpoint follows), and a reaches b again.
#
# Run with TAPIRD=wireguard-go (Debian's 0.0.20220316) the test shows that version's two gaps:
# it has no UDP GSO (the super-packet checks), and it forgets a source only on EINVAL, while
# Linux refuses a removed IPv4 source with ENETUNREACH (the IPv4 fallback checks).
#
#   tapir-$$-1 (a)                                     tapir-$$-2 (b, multi-homed)
#   +----------------------------------------+         +------------------------------------------+
#   | ss$$aN 10.86.N.1/24  IMPL, port 516N1 |         | ss$$bN 10.86.N.2/24  IMPL, port 516N2   |
#   |   peer b: endpoint X:516N2            |         |   peer a: no endpoint                    |
#   | veth1  192.0.2.1/24 2001:db8:1::1/64   |=========| veth2  192.0.2.2/24 2001:db8:1::2/64     |
#   |   route 198.51.100.12 via 192.0.2.2    |         |   (+ 192.0.2.12/24, 2001:db8:1::12/64)   |
#   |                                        |         | ss$$o (round 3)  198.51.100.12/32        |
#   +----------------------------------------+         +------------------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds nc ss nft

plan 31

SIZE=$((20 * 1024 * 1024))
setup_underlay
keygen a
keygen b
head -c "$SIZE" /dev/urandom >"$T/data"
want=$(sha_of "$T/data")
OTHER="ss$$o"

ep() { case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac; }
fam_of() { case $1 in *:*) echo ip6 ;; *) echo ip ;; esac; }

# counters NS DEV HOOK PORT X: named counters in NS of the UDP packets from port PORT on DEV
# (hook input: arriving on DEV, sport PORT; hook output: leaving by DEV, sport PORT):
# "good" from X, "bad" from any other address, "gso" super-packets (longer than any
# datagram on a 1500-byte link, so UDP_SEGMENT sends not yet segmented) from X, "gso_bad"
# super-packets from elsewhere.
counters()
{
	local ns=$1 dev=$2 hook=$3 port=$4 x=$5 fam dir
	fam=$(fam_of "$x")
	[ "$hook" = input ] && dir=iifname || dir=oifname
	ip netns exec "$ns" nft delete table inet tsticky 2>/dev/null || true
	ip netns exec "$ns" nft -f - <<NFT
table inet tsticky {
	counter good { }
	counter bad { }
	counter gso { }
	counter gso_bad { }
	chain c {
		type filter hook $hook priority 0;
		$dir "$dev" udp sport $port jump count
	}
	chain count {
		$fam saddr $x meta length > 1600 counter name gso
		$fam saddr != $x meta length > 1600 counter name gso_bad
		$fam saddr $x counter name good
		$fam saddr != $x counter name bad
	}
}
NFT
}

# firewall NS PORT: from PORT, NS accepts only replies to what it sent (conntrack).
firewall()
{
	ip netns exec "$1" nft -f - <<NFT
table inet tfw {
	chain in {
		type filter hook input priority 10;
		udp sport $2 ct state established,related accept
		udp sport $2 counter drop
	}
}
NFT
}

# count NS NAME: packets counted by NAME so far.
count()
{
	ip netns exec "$1" nft list counter inet tsticky "$2" | awk '$1 == "packets" { print $2 }'
}

# only_from NS: packets from b's port came, and only from X.
only_from()
{
	local good bad
	good=$(count "$1" good)
	bad=$(count "$1" bad)
	echo "from X: $good, from elsewhere: $bad"
	[ "$good" -gt 0 ] && [ "$bad" -eq 0 ]
}

# gso_from NS: UDP_SEGMENT super-packets left, all from X.
gso_from()
{
	local gso bad good
	gso=$(count "$1" gso)
	bad=$(count "$1" gso_bad)
	good=$(count "$1" good)
	echo "super-packets from X: $gso, from elsewhere: $bad; all packets from X: $good," \
		"from elsewhere: $(count "$1" bad)"
	[ "$gso" -gt 0 ] && [ "$bad" -eq 0 ] && [ "$(count "$1" bad)" -eq 0 ]
}

# learned IFNAME ENDPOINT: a received from b (authenticated, so roaming applied) and has b at
# ENDPOINT.
learned()
{
	local got rx
	got=$(peer_field "$NS1" "$1" "$(pub_of b)" endpoint) || return 1
	rx=$(peer_field "$NS1" "$1" "$(pub_of b)" rx) || return 1
	echo "a's endpoint for b: $got (want $2), received from b: $rx bytes"
	[ "$got" = "$2" ] && [ "$rx" -gt 0 ]
}

# default_src NS DST: the source address the kernel picks in NS for DST.
default_src()
{
	ip -n "$1" route get "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1) }'
}

# round N X D PEER_ADDR: see the table above. X must not be b's default source already.
# Ten checks.
round()
{
	local n=$1 x=$2 d=$3 a_addr=$4 name
	local ifa="ss$$a$n" ifb="ss$$b$n" pa="516${n}1" pb="516${n}2" net="10.86.$n"
	local port=$((5300 + n))
	name="round $n (b reached on $x)"

	[ "$(default_src "$NS2" "$a_addr")" = "$d" ] ||
		bail_out "$name: b's default source towards $a_addr is $(default_src "$NS2" "$a_addr"), not $d"
	start_daemon "$NS1" "$IMPL" "$ifa"
	start_daemon "$NS2" "$IMPL" "$ifb"
	n2 wg set "$ifb" private-key "$(key_of b)" listen-port "$pb" \
		peer "$(pub_of a)" allowed-ips "$net.1/32"
	n1 wg set "$ifa" private-key "$(key_of a)" listen-port "$pa" \
		peer "$(pub_of b)" endpoint "$(ep "$x" "$pb")" allowed-ips "$net.2/32"
	addr_up "$NS1" "$ifa" "$net.1/24"
	addr_up "$NS2" "$ifb" "$net.2/24"
	counters "$NS1" veth1 input "$pb" "$x"
	counters "$NS2" veth2 output "$pb" "$x"
	firewall "$NS1" "$pb"

	check "$name: a pings b (a initiates)" ping_until "$NS1" 15 "$net.2"
	check "$name: b pings a" ping_ok "$NS2" "$net.1"
	check "$name: a learned b's endpoint $(ep "$x" "$pb") from b's packets" \
		learned "$ifa" "$(ep "$x" "$pb")"
	check "$name: every packet from b's port reached a from $x" only_from "$NS1"

	check "$name: 20 MiB b -> a over TCP (offloads on)" \
		tcp_transfer "$NS2" "$NS1" "$net.1" "$port" "$T/data" 60
	check_eq "$name: byte for byte" "$want" sha_of "$T/recv.$port"
	rm -f "$T/recv.$port"
	check "$name: b sent UDP_SEGMENT super-packets, every packet from $x" gso_from "$NS2"

	# X goes away: b's next sends fail from X, forget it and go from D
	n1 nft delete table inet tfw
	if [ "$n" = 3 ]; then
		pretty "$NS2" "ip link del $OTHER"
		ip2 link del "$OTHER"
	else
		pretty "$NS2" "ip addr del $x dev veth2"
		ip2 addr del "$x/$([ "$(fam_of "$x")" = ip6 ] && echo 64 || echo 24)" dev veth2
	fi
	check "$name: X removed, b pings a" ping_until "$NS2" 10 "$net.1"
	check "$name: a learned b's endpoint $(ep "$d" "$pb") (the default source)" \
		learned "$ifa" "$(ep "$d" "$pb")"
	check "$name: a pings b at its new endpoint" ping_ok "$NS1" "$net.2"
	stop_daemon "$ifa"
	stop_daemon "$ifb"
}

ip2 addr add 192.0.2.12/24 dev veth2
round 1 192.0.2.12 192.0.2.2 192.0.2.1

# the kernel prefers the newest of equally good IPv6 addresses: 2001:db8:1::2 is re-added after
# X so that it stays the default source and X is an address that is not the first choice
ip2 -6 addr add 2001:db8:1::12/64 dev veth2 nodad
ip2 -6 addr del 2001:db8:1::2/64 dev veth2
ip2 -6 addr add 2001:db8:1::2/64 dev veth2 nodad
round 2 2001:db8:1::12 2001:db8:1::2 2001:db8:1::1

# another interface of b that a's packets do not arrive on: one end of a veth pair inside b
# (kernels without the dummy driver have veth)
ip2 link add "$OTHER" type veth peer name "${OTHER}p"
ip2 addr add 198.51.100.12/32 dev "$OTHER"
ip2 link set "$OTHER" up
ip2 link set "${OTHER}p" up
ip1 route add 198.51.100.12/32 via 192.0.2.2 dev veth1
round 3 198.51.100.12 192.0.2.2 192.0.2.1

no_sanitizer_report()
{
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T"/ss*.log
}
check "no sanitizer report in any daemon's log" no_sanitizer_report
