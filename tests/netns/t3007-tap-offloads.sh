#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP (L2) mode with offloads (issue 17): the TAP is opened with a virtio_net_hdr, so the kernel
# hands tapird TSO super-frames (split in userspace, each segment under a copy of the Ethernet
# header) and tapird writes coalesced (GRO) super-frames back. With every offload on and with
# all off (TAPIR_OFFLOAD): TCP transfers arrive byte for byte over IPv4, over IPv6 and over an
# 802.1Q VLAN on the TAPs (a tagged frame), no segment has a bad checksum, the TAPs move frames
# far larger than the MTU only when offloads are on, and a UDP burst loses nothing.
#
#   tapir-$$-1                                      tapir-$$-2
#   | tf$$a 10.91.0.1 fd91::1, tapird --mode tap |    | tf$$b 10.91.0.2 fd91::2             |
#   |   tf$$a.5 (VLAN 5) 10.92.0.1               |    |   tf$$b.5 (VLAN 5) 10.92.0.2        |
#   | veth1 192.0.2.1/24                         |====| veth2 192.0.2.2/24                  |
set -eu
. "$(dirname "$0")/lib.sh"

configs=(all none)
plan $((${#configs[@]} * 10))

require_cmds iperf3 nc
require_tapird_extension "TAP mode"
TAPD=$(tap_daemon)
setup_underlay
keygen a
keygen b
head -c 30000000 /dev/urandom >"$T/data"
want=$(sha_of "$T/data")

# stat NS IFNAME NAME: one counter of /sys/class/net/IFNAME/statistics
stat() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/$3"; }
# csum_errors NS: TCP segments the namespace dropped for a bad checksum
csum_errors() { ip netns exec "$1" awk '/^Tcp:/ { if (!n++) { for (i = 2; i <= NF; i++)
	if ($i == "InCsumErrors") f = i } else print $f + 0 }' /proc/net/snmp; }

round=0
for cfg in "${configs[@]}"; do
	round=$((round + 1))
	IFA="tf$$a$round"
	IFB="tf$$b$round"
	IFA=${IFA:0:13}
	IFB=${IFB:0:13}
	export TAPIR_OFFLOAD=$cfg
	start_daemon "$NS1" "$TAPD" "$IFA"
	start_daemon "$NS2" "$TAPD" "$IFB"
	unset TAPIR_OFFLOAD
	n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51831 \
		peer "$(pub_of b)" endpoint 192.0.2.2:51832
	n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51832 peer "$(pub_of a)"
	addr_up "$NS1" "$IFA" 10.91.0.1/24 fd91::1/64
	addr_up "$NS2" "$IFB" 10.91.0.2/24 fd91::2/64
	# a kernel without 802.1Q support (no 8021q module) cannot make the VLAN check
	has_vlan=false
	if ip1 link add link "$IFA" name "$IFA.5" type vlan id 5 2>/dev/null &&
		ip2 link add link "$IFB" name "$IFB.5" type vlan id 5; then
		has_vlan=true
		addr_up "$NS1" "$IFA.5" 10.92.0.1/24
		addr_up "$NS2" "$IFB.5" 10.92.0.2/24
	fi
	ping_until "$NS1" 15 10.91.0.2 >/dev/null || true
	mode=$(grep -o 'started in tap mode.*' "$T/$IFA.log" || true)
	diag "[$cfg] $mode"
	if [ "$cfg" = all ]; then
		check "[$cfg] the TAP is opened with TSO (log: offloads: tun(...))" \
			eval '[[ $mode == *"offloads: tun("* ]]'
	else
		check "[$cfg] no offload on the TAP" eval '[[ $mode != *"tun("* ]]'
	fi
	csum0=$(($(csum_errors "$NS1") + $(csum_errors "$NS2")))
	tx0=$(stat "$NS1" "$IFA" tx_bytes) txp0=$(stat "$NS1" "$IFA" tx_packets)
	rx0=$(stat "$NS2" "$IFB" rx_bytes) rxp0=$(stat "$NS2" "$IFB" rx_packets)

	port=$((5400 + round))
	check "[$cfg] 30 MB over TCP/IPv4 across the TAPs" \
		tcp_transfer "$NS1" "$NS2" 10.91.0.2 $port "$T/data" 120
	check_eq "[$cfg] IPv4: byte for byte" "$want" sha_of "$T/recv.$port"
	rm -f "$T/recv.$port"
	# bytes per packet the sending TAP handed to tapird, and the receiving TAP took from it
	tx_avg=$((($(stat "$NS1" "$IFA" tx_bytes) - tx0) / ($(stat "$NS1" "$IFA" tx_packets) - txp0 + 1)))
	rx_avg=$((($(stat "$NS2" "$IFB" rx_bytes) - rx0) / ($(stat "$NS2" "$IFB" rx_packets) - rxp0 + 1)))
	diag "[$cfg] average frame: $tx_avg bytes read from the sending TAP, $rx_avg written to the receiving TAP"
	# a frame is at most 1414 bytes (MTU 1400); TCP's TSO autosizing puts at least two
	# segments in a super-frame even at a low rate (a loaded machine), and each arrives as
	# one GSO run that GRO coalesces again: 2000 is above any single frame and below that
	if [ "$cfg" = all ]; then
		check "[$cfg] TSO: the sending TAP hands over super-frames (average > 2000 bytes)" \
			eval '[ "$tx_avg" -gt 2000 ]'
		check "[$cfg] GRO: the receiving TAP takes coalesced frames (average > 2000 bytes)" \
			eval '[ "$rx_avg" -gt 2000 ]'
	else
		check "[$cfg] no super-frames on the sending TAP" eval '[ "$tx_avg" -le 1514 ]'
		check "[$cfg] no coalesced frames on the receiving TAP" eval '[ "$rx_avg" -le 1514 ]'
	fi

	port=$((5500 + round))
	check "[$cfg] 30 MB over TCP/IPv6 the other way" \
		tcp_transfer "$NS2" "$NS1" fd91::1 $port "$T/data" 120
	check_eq "[$cfg] IPv6: byte for byte" "$want" sha_of "$T/recv.$port"
	rm -f "$T/recv.$port"

	# a VLAN on the TAPs: 802.1Q-tagged frames, TSO'd by the kernel through the tag
	port=$((5600 + round))
	if $has_vlan; then
		tcp_transfer "$NS1" "$NS2" 10.92.0.2 $port "$T/data" 120 >"$T/vlan.out" 2>&1 || true
		diag_file "$T/vlan.out"
		check_eq "[$cfg] 30 MB over a VLAN (tagged frames): byte for byte" "$want" \
			sha_of "$T/recv.$port"
		rm -f "$T/recv.$port"
	else
		ok "[$cfg] 30 MB over a VLAN (tagged frames) # SKIP no 802.1Q support in this kernel"
	fi

	csum1=$(($(csum_errors "$NS1") + $(csum_errors "$NS2")))
	check_eq "[$cfg] no TCP segment with a bad checksum in either namespace" 0 \
		echo $((csum1 - csum0))

	# a moderate rate; retries absorb a load spike, a systematic loss shows up in all three
	udp_burst "[$cfg]" 10.91.0.2 $((5700 + round * 3))
	check "[$cfg] UDP burst at 20 Mbit/s (1200-byte datagrams): none lost" eval '[ "${lost:-x}" = 0 ]'
	stop_daemon "$IFA"
	stop_daemon "$IFB"
done
