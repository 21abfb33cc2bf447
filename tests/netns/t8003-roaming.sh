#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Roaming (issue 7): a paced 50 MiB TCP transfer through the tunnel, checked byte for byte,
# during which the daemon under test in ns 1 (the mover) changes its underlay address. The
# peer that stays put must learn the new endpoint from the mover's authenticated packets (its
# endpoint for the mover is checked before and after), the transfer completes and the
# stationary side then reaches the mover by itself. Four rounds, each with fresh daemons:
#
#   round  underlay  stationary    data           the move
#   1      IPv4      IMPL          mover -> stat  192.0.2.1 -> 192.0.2.11 on veth1
#   2      IPv6      IMPL          stat -> mover  2001:db8:1::1 -> 2001:db8:1::11 on veth1
#   3      IPv6      wireguard-go  mover -> stat  2001:db8:1::11 -> 2001:db8:1::21 on veth1
#   4      IPv4      wireguard-go  stat -> mover  veth1 down; 198.51.100.1 on veth3 (a second
#                                                 link), 192.0.2.2 routed via 198.51.100.2
#
# When the mover only receives, it has nothing to send once its old address is gone (TCP
# acknowledges only what arrives), so it uses a persistent keepalive of 1 s, as a roaming
# client would; its keepalive is what tells the stationary side where it went. In rounds 3
# and 4 the stationary side starts with the mover's old address configured as its endpoint
# (instead of learning it): roaming replaces a configured endpoint too. Rounds 3 and 4 are
# skipped when $WGGO is not installed.
#
#   tapir-$$-1 (mover)                                   tapir-$$-2 (stationary)
#   +--------------------------------------+             +--------------------------------------+
#   | tr$$mN 10.83.N.1/24  IMPL, 518N1     |             | tr$$sN 10.83.N.2/24  IMPL or WGGO,   |
#   |   peer: endpoint 192.0.2.2:518N2     |             |   518N2; peer: learned endpoint      |
#   |   or [2001:db8:1::2]:518N2           |             |   (rounds 1, 2) or configured (3, 4) |
#   | veth1  192.0.2.1/24 2001:db8:1::1/64 |=============| veth2  192.0.2.2/24 2001:db8:1::2/64 |
#   | veth3  (round 4: 198.51.100.1/24)    |=============| veth4  198.51.100.2/24              |
#   +--------------------------------------+             +--------------------------------------+
#
# Both tunnel interfaces are shaped to TUNNEL_RATE (default 100mbit), so a transfer lasts
# about 5 s and the move falls in its middle (after a quarter of the bytes have arrived).
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds nc ss tc

plan 30

SIZE=$((50 * 1024 * 1024))
RATE=${TUNNEL_RATE:-100mbit}
XFER_LIMIT=60
HAVE_WGGO=1
WGGO=$(resolve_impl "$WGGO") || HAVE_WGGO=0

setup_underlay
ip link add veth3 netns "$NS1" type veth peer name veth4 netns "$NS2"
ip2 addr add 198.51.100.2/24 dev veth4
ip2 link set veth4 up
keygen m
keygen s
head -c "$SIZE" /dev/urandom >"$T/data"
want=$(sha_of "$T/data")
T0=${EPOCHREALTIME/./}

# start_transfer SRC_NS DST_NS ADDR PORT: the receiver (nc -l in DST_NS, into $T/recv.PORT)
# and the sender (nc in SRC_NS, from $T/data) in the background, both bounded by timeout.
start_transfer()
{
	local sns=$1 dns=$2 addr=$3 port=$4
	rm -f "$T/recv.$port"
	ip netns exec "$dns" timeout "$XFER_LIMIT" nc -d -n -l "$addr" "$port" \
		>"$T/recv.$port" 2>"$T/nc-rx.$port" &
	RX_PID=$!
	track_pid "$RX_PID"
	wait_for "nc to listen on $addr port $port" 10 listening "$dns" "$port" || return 1
	ip netns exec "$sns" timeout "$XFER_LIMIT" nc -N -n "$addr" "$port" <"$T/data" \
		2>"$T/nc-tx.$port" &
	TX_PID=$!
	track_pid "$TX_PID"
}

finish_transfer()
{
	local rc=0
	wait "$TX_PID" || { rc=$?; echo "sender exited with status $rc"; cat "$T/nc-tx.$1"; }
	wait "$RX_PID" || { rc=$?; echo "receiver exited with status $rc"; cat "$T/nc-rx.$1"; }
	echo "received $(size_of "$T/recv.$1") of $SIZE bytes"
	return "$rc"
}

received() { size_of "$T/recv.$1" 2>/dev/null || echo 0; }
received_at_least() { [ "$(received "$1")" -ge "$2" ]; }

# mid_transfer PORT BYTES: the move came after some and before all of the data had arrived,
# with the sender still running.
mid_transfer()
{
	echo "$2 of $SIZE bytes had arrived"
	[ "$2" -gt 0 ] && [ "$2" -lt "$SIZE" ] && alive "$TX_PID"
}

# move_addr FAMILY OLD NEW: the mover's underlay address on veth1 changes. In IPv6 the new
# address comes first: between a delete and an add, veth1's link-local address is the only
# source left, and a packet sent in that instant rightly makes the stationary side roam to
# fe80::...%veth2 (kernel WireGuard would too), where it then stays: not the move under test.
move_addr()
{
	if [ "$1" = 6 ]; then
		pretty "$NS1" "ip -6 addr add $3/64 dev veth1 nodad; ip -6 addr del $2/64 dev veth1"
		ip1 -6 addr add "$3/64" dev veth1 nodad
		ip1 -6 addr del "$2/64" dev veth1
	else
		pretty "$NS1" "ip addr del $2/24 dev veth1; ip addr add $3/24 dev veth1"
		ip1 addr del "$2/24" dev veth1
		ip1 addr add "$3/24" dev veth1
	fi
}

# move_link: the mover leaves veth1 for veth3, another network; the stationary side's
# 192.0.2.2 is reached through 198.51.100.2 from there.
move_link()
{
	pretty "$NS1" "ip link set veth1 down; ip link set veth3 up; ip addr add 198.51.100.1/24 dev veth3; ip route add 192.0.2.2/32 via 198.51.100.2"
	ip1 link set veth1 down
	ip1 link set veth3 up
	ip1 addr add 198.51.100.1/24 dev veth3
	ip1 route add 192.0.2.2/32 via 198.51.100.2 dev veth3
}

ep() { [ "$1" = 6 ] && echo "[$2]:$3" || echo "$2:$3"; }

# round N FAMILY STATIONARY_IMPL DIRECTION(up: mover sends, down: mover receives) OLD NEW
#   [configured]: the stationary side starts with the mover's old endpoint configured.
# Seven checks.
round()
{
	local n=$1 fam=$2 simpl=$3 dir=$4 old=$5 new=$6 configured=${7:-}
	local ifm="tr$$m$n" ifs="tr$$s$n" pm="518${n}1" ps="518${n}2" net="10.83.$n"
	local sep src_ns dst_ns dst_addr port=$((5100 + n)) at_move t_start t_move t_moved name
	local ka=()
	name="round $n (IPv$fam, $(basename "$simpl") stationary, mover $([ "$dir" = up ] &&
		echo sends || echo receives))"
	[ "$fam" = 6 ] && sep="[2001:db8:1::2]:$ps" || sep="192.0.2.2:$ps"
	[ "$dir" = down ] && ka=(persistent-keepalive 1)

	start_daemon "$NS1" "$IMPL" "$ifm"
	start_daemon "$NS2" "$simpl" "$ifs"
	# the stationary side first: a persistent keepalive makes the mover initiate at once
	n2 wg set "$ifs" private-key "$(key_of s)" listen-port "$ps" \
		peer "$(pub_of m)" allowed-ips "$net.1/32" \
		${configured:+endpoint "$(ep "$fam" "$old" "$pm")"}
	n1 wg set "$ifm" private-key "$(key_of m)" listen-port "$pm" \
		peer "$(pub_of s)" endpoint "$sep" allowed-ips "$net.2/32" "${ka[@]}"
	addr_up "$NS1" "$ifm" "$net.1/24"
	addr_up "$NS2" "$ifs" "$net.2/24"
	n1 tc qdisc add dev "$ifm" root tbf rate "$RATE" burst 64kb latency 100ms
	n2 tc qdisc add dev "$ifs" root tbf rate "$RATE" burst 64kb latency 100ms

	check "$name: ping $net.2 from the mover" ping_ok "$NS1" "$net.2"
	check_eq "$name: before the move the stationary side has the mover at $(ep "$fam" "$old" "$pm")" \
		"$(ep "$fam" "$old" "$pm")" peer_field "$NS2" "$ifs" "$(pub_of m)" endpoint

	if [ "$dir" = up ]; then
		src_ns=$NS1 dst_ns=$NS2 dst_addr=$net.2
	else
		src_ns=$NS2 dst_ns=$NS1 dst_addr=$net.1
	fi
	t_start=${EPOCHREALTIME/./}
	start_transfer "$src_ns" "$dst_ns" "$dst_addr" "$port"
	wait_for "a quarter of the data to arrive" "$XFER_LIMIT" \
		received_at_least "$port" $((SIZE / 4)) || true
	at_move=$(received "$port")
	t_move=${EPOCHREALTIME/./}
	if [ "$new" = link ]; then move_link; else move_addr "$fam" "$old" "$new"; fi
	check "$name: the move came in the middle of the transfer" mid_transfer "$port" "$at_move"
	wait_for "data to arrive after the move" "$XFER_LIMIT" \
		received_at_least "$port" $((at_move + 1024 * 1024)) || true
	t_moved=${EPOCHREALTIME/./}
	diag "$name: the transfer moved on $(((t_moved - t_move) / 1000)) ms after the move"
	check "$name: 50 MiB arrive within ${XFER_LIMIT} s" finish_transfer "$port"
	diag "$name: the transfer took $(((${EPOCHREALTIME/./} - t_start) / 1000)) ms, the move came after $(((t_move - t_start) / 1000)) ms"
	check_eq "$name: sha256 of the received copy" "$want" sha_of "$T/recv.$port"
	rm -f "$T/recv.$port"
	[ "$new" = link ] && new=198.51.100.1
	check_eq "$name: the stationary side learned $(ep "$fam" "$new" "$pm")" \
		"$(ep "$fam" "$new" "$pm")" peer_field "$NS2" "$ifs" "$(pub_of m)" endpoint
	diag "$name: the mover's endpoint for the stationary side: $(peer_field "$NS1" "$ifm" "$(pub_of s)" endpoint)"
	check "$name: the stationary side pings the mover at its new address" \
		ping_ok "$NS2" "$net.1"
	stop_daemon "$ifm"
	stop_daemon "$ifs"
}

round 1 4 "$IMPL" up 192.0.2.1 192.0.2.11
round 2 6 "$IMPL" down 2001:db8:1::1 2001:db8:1::11
if [ "$HAVE_WGGO" = 1 ]; then
	round 3 6 "$WGGO" up 2001:db8:1::11 2001:db8:1::21 configured
	round 4 4 "$WGGO" down 192.0.2.11 link configured
else
	for _ in $(seq 14); do ok "wireguard-go round # SKIP wireguard-go not found"; done
fi

no_sanitizer_report()
{
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T"/tr*.log
}
check "no sanitizer report in any daemon's log" no_sanitizer_report
diag "all rounds took $(((${EPOCHREALTIME/./} - T0) / 1000)) ms"
check "all rounds took less than 90 s" eval '[ $((${EPOCHREALTIME/./} - T0)) -lt 90000000 ]'
