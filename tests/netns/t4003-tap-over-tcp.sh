#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP (L2) mode over the TCP transport, with compression (issues 4 and 6 together): with all
# UDP on the underlay dropped, two tap-mode tapirds whose peer endpoint is tcp:// carry ARP
# and pings between addresses on their TAP devices (Ethernet frames and the CAPS announcement
# travel over TCP), learn each other's MACs, and with `compression lz4` on both sides carry a
# compressible 16 MiB transfer byte for byte, compressed (counted on both ends). tapird only.
#
#   tapir-$$-1 | tq$$a (tap) 10.84.0.1/24 |  veth 192.0.2.1 -> 192.0.2.2, UDP dropped
#   tapir-$$-2 | tq$$b (tap) 10.84.0.2/24 |  tapird listens on TCP 51842
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "TAP mode over TCP"
require_cmds nc nft

plan 9

SIZE=$((16 * 1024 * 1024))
IFA="tq$$a"
IFB="tq$$b"
setup_underlay
TAPD=$(tap_daemon)
keygen a
keygen b
block_underlay_udp "$NS1" "$NS2"
start_daemon "$NS1" "$TAPD" "$IFA"
start_daemon "$NS2" "$TAPD" "$IFB"
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51841 \
	peer "$(pub_of b)" endpoint tcp://192.0.2.2:51842 compression lz4
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51842 tcp-listen on \
	peer "$(pub_of a)" compression lz4
addr_up "$NS1" "$IFA" 10.84.0.1/24
addr_up "$NS2" "$IFB" 10.84.0.2/24

lz4_stat() { show_stat "$1" "$2" compression "$3"; }
learned_macs() { printf 'get=tapir\n\n' | uapi "$1" | grep -c '^tapir_learned_mac=' || true; }
tcp_stat() { show_stat "$1" "$2" tcp "$3"; }
positive() { echo "$1 = $2"; [ "${2:-0}" -gt 0 ]; }

check "ARP and ping across the TAP devices over TCP" ping_until "$NS1" 30 10.84.0.2
check "b authenticated a over TCP" positive authenticated "$(tcp_stat "$NS2" "$IFB" authenticated)"
check "a learned b's MAC (Ethernet frames arrived over TCP)" positive learned "$(learned_macs "$IFA")"
check "b learned a's MAC" positive learned "$(learned_macs "$IFB")"
check_eq "a: b announced LZ4 over TCP" "lz4 (active)" peer_compression "$NS1" "$IFA"

seq -f "tapir frame %08g: layer two over tcp, compressed, again and again" 1 1000000 |
	head -c "$SIZE" >"$T/text"
c0=$(lz4_stat "$NS1" "$IFA" compressed)
d0=$(lz4_stat "$NS2" "$IFB" decompressed)
check "16 MiB of text a -> b, frames over TCP, compressed" \
	tcp_transfer "$NS1" "$NS2" 10.84.0.2 5201 "$T/text" 120
check_eq "received sha256 matches" "$(sha_of "$T/text")" sha_of "$T/recv.5201"
check "a compressed frames" eval '[ "$(lz4_stat "$NS1" "$IFA" compressed)" -gt "$c0" ]'
check "b decompressed frames" eval '[ "$(lz4_stat "$NS2" "$IFB" decompressed)" -gt "$d0" ]'
