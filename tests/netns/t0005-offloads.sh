#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Offloads: 100 MB TCP transfers arrive byte for byte over IPv4 inside (MTU 1420) and IPv6
# inside (MTU 1280), and a UDP burst at a moderate rate loses nothing, with every offload on
# (TUN TSO + UDP GSO + UDP GRO/coalescing) and with each one off in turn (TAPIR_OFFLOAD).
#
#   tapir-$$-1                                   tapir-$$-2
#   | to$$a 10.90.0.1 fd90::1  IMPL :51821 |-------| to$$b 10.90.0.2 fd90::2  IMPL :51822 |
#   | veth1 192.0.2.1/24                   |=======| veth2 192.0.2.2/24                   |
set -eu
. "$(dirname "$0")/lib.sh"

configs=(all gso,gro tun,gro tun,gso none)
plan $((${#configs[@]} * 5))

require_cmds iperf3
setup_underlay
keygen a
keygen b
head -c 100000000 /dev/urandom >"$T/data"
want=$(sha_of "$T/data")
round=0
for cfg in "${configs[@]}"; do
	round=$((round + 1))
	IFA="to$$a$round"
	IFB="to$$b$round"
	IFA=${IFA:0:15}
	IFB=${IFB:0:15}
	export TAPIR_OFFLOAD=$cfg
	start_daemon "$NS1" "$IMPL" "$IFA"
	start_daemon "$NS2" "$IMPL" "$IFB"
	unset TAPIR_OFFLOAD
	n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51821 \
		peer "$(pub_of b)" endpoint 192.0.2.2:51822 allowed-ips 10.90.0.2/32,fd90::2/128
	n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51822 \
		peer "$(pub_of a)" allowed-ips 10.90.0.1/32,fd90::1/128
	addr_up "$NS1" "$IFA" 10.90.0.1/24 fd90::1/64
	addr_up "$NS2" "$IFB" 10.90.0.2/24 fd90::2/64
	ping_ok "$NS1" 10.90.0.2 >/dev/null || true

	check "[$cfg] 100 MB over TCP/IPv4 inside, MTU 1420" \
		tcp_transfer "$NS1" "$NS2" 10.90.0.2 $((5100 + round)) "$T/data" 120
	check_eq "[$cfg] IPv4: byte for byte" "$want" sha_of "$T/recv.$((5100 + round))"
	rm -f "$T/recv.$((5100 + round))"

	ip1 link set "$IFA" mtu 1280
	ip2 link set "$IFB" mtu 1280
	sleep 0.2 # the daemons read the MTU on their 50 ms tick
	check "[$cfg] 100 MB over TCP/IPv6 inside, MTU 1280" \
		tcp_transfer "$NS2" "$NS1" fd90::1 $((5200 + round)) "$T/data" 120
	check_eq "[$cfg] IPv6: byte for byte" "$want" sha_of "$T/recv.$((5200 + round))"
	rm -f "$T/recv.$((5200 + round))"

	# a moderate rate; retries absorb a load spike on a shared machine, while a
	# systematic loss (a dropped GRO segment, a bad split) shows up in both runs
	udp_burst "[$cfg]" 10.90.0.2 $((5300 + round * 2))
	check "[$cfg] UDP burst at 20 Mbit/s (1200-byte datagrams): none lost" eval '[ "${lost:-x}" = 0 ]'
	stop_daemon "$IFA"
	stop_daemon "$IFB"
done
