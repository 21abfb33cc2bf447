#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN: two daemons under test, PSK, IPv4 underlay; ping both ways over IPv4 and IPv6 inside.
#
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | tw$$a  10.77.0.1/24 fd77::1   |                     | tw$$b  10.77.0.2/24 fd77::2   |
#   |   IMPL, port 51801, PSK       |                     |   IMPL, port 51802, PSK       |
#   |   peer b: endpoint 192.0.2.2  |                     |   peer a: no endpoint         |
#   |                               |                     |   (learned by roaming)        |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

plan 11

IFA="tw$$a"
IFB="tw$$b"
setup_underlay
keygen a
keygen b
pskgen ab
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"

n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51801 \
	peer "$(pub_of b)" preshared-key "$(psk_of ab)" endpoint 192.0.2.2:51802 \
	allowed-ips 10.77.0.2/32,fd77::2/128
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51802 \
	peer "$(pub_of a)" preshared-key "$(psk_of ab)" allowed-ips 10.77.0.1/32,fd77::1/128
addr_up "$NS1" "$IFA" 10.77.0.1/24 fd77::1/64
addr_up "$NS2" "$IFB" 10.77.0.2/24 fd77::2/64

check "ping 10.77.0.2 from a (a initiates)" ping_ok "$NS1" 10.77.0.2
check "ping 10.77.0.1 from b" ping_ok "$NS2" 10.77.0.1
check "ping fd77::2 from a" ping_ok "$NS1" fd77::2
check "ping fd77::1 from b" ping_ok "$NS2" fd77::1

check "a: latest handshake with b is set" handshake_done "$NS1" "$IFA" "$(pub_of b)"
check "b: latest handshake with a is set" handshake_done "$NS2" "$IFB" "$(pub_of a)"
check "a: rx and tx counters for b are non-zero" transfer_nonzero "$NS1" "$IFA" "$(pub_of b)"
check "b: rx and tx counters for a are non-zero" transfer_nonzero "$NS2" "$IFB" "$(pub_of a)"
check_eq "b: learned a's endpoint by roaming" "192.0.2.1:51801" \
	peer_field "$NS2" "$IFB" "$(pub_of a)" endpoint
check_eq "a: dump shows the configured PSK" "$(cat "$(psk_of ab)")" \
	peer_field "$NS1" "$IFA" "$(pub_of b)" psk
check_eq "b: dump shows the configured PSK" "$(cat "$(psk_of ab)")" \
	peer_field "$NS2" "$IFB" "$(pub_of a)" psk
