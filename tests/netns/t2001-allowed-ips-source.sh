#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Allowed IPs: a packet whose inner source is outside the sender's allowed IPs is received and
# authenticated by b (its rx counter grows) but never delivered to b's interface.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tw$$a  IMPL                   |                     | tw$$b  IMPL                   |
#   |   10.77.0.1/24  fd77::1/64    |                     |   10.77.0.2/24  fd77::2/64    |
#   |   10.99.0.1/24  fd99::1/64    |                     |   peer a allowed-ips          |
#   |   peer b allowed-ips          |                     |     10.77.0.1/32 fd77::1/128  |
#   |     10.77.0.0/24 fd77::/64    |                     |     (not 10.99.0.1, fd99::1)  |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

plan 8

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51801 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51802 allowed-ips 10.77.0.0/24,fd77::/64
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51802 \
	peer "$(pub_of a)" allowed-ips 10.77.0.1/32,fd77::1/128
addr_up "$NS1" "$IFA" 10.77.0.1/24 fd77::1/64 10.99.0.1/24 fd99::1/64
addr_up "$NS2" "$IFB" 10.77.0.2/24 fd77::2/64

b_rx() { peer_field "$NS2" "$IFB" "$(pub_of a)" rx; }
b_tun_rx() { n2 cat "/sys/class/net/$IFB/statistics/rx_packets"; }

# grew NAME BEFORE CMD...: the number CMD prints is larger than BEFORE by at least MIN_GROWTH.
grew()
{
	local name=$1 before=$2 now
	shift 2
	now=$("$@") || return 1
	echo "$name: before $before, now $now, required growth ${MIN_GROWTH}"
	[ "$now" -ge $((before + MIN_GROWTH)) ]
}

unchanged()
{
	local name=$1 before=$2 now
	shift 2
	now=$("$@") || return 1
	echo "$name: before $before, now $now"
	[ "$now" -eq "$before" ]
}

# IPv4: three 84-byte echo requests from 10.99.0.1 must reach b's daemon (>= 252 bytes more
# rx) and be dropped there (b's interface receives no packet).
check "ping 10.77.0.2 from 10.77.0.1 works" ping_ok "$NS1" -I 10.77.0.1 10.77.0.2
rx=$(b_rx)
tun_rx=$(b_tun_rx)
check_fails "ping 10.77.0.2 from 10.99.0.1 fails" ping_ok "$NS1" -I 10.99.0.1 10.77.0.2
MIN_GROWTH=252
check "b: rx counter for a grew (the packets arrived)" grew "rx bytes" "$rx" b_rx
check "b: its interface received none of them" unchanged "$IFB rx_packets" "$tun_rx" b_tun_rx

# IPv6: the same with three 104-byte echo requests from fd99::1.
check "ping fd77::2 from fd77::1 works" ping_ok "$NS1" -I fd77::1 fd77::2
rx=$(b_rx)
tun_rx=$(b_tun_rx)
check_fails "ping fd77::2 from fd99::1 fails" ping_ok "$NS1" -I fd99::1 fd77::2
MIN_GROWTH=312
check "b: rx counter for a grew (the packets arrived)" grew "rx bytes" "$rx" b_rx
check "b: its interface received none of them" unchanged "$IFB rx_packets" "$tun_rx" b_tun_rx
