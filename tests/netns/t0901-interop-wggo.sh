#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Interop: the daemon under test against wireguard-go ($WGGO), PSK, IPv4 and IPv6 inside,
# in both initiator roles, with fresh daemons for each role so no session is reused.
#
#   phase 1: IMPL initiates               phase 2: wireguard-go initiates
#   tapir-$$-1                                            tapir-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | 1: tw$$a IMPL   endpoint -> b |                     | 1: tw$$b WGGO   no endpoint   |
#   | 2: tw$$c IMPL   no endpoint   |                     | 2: tw$$d WGGO   endpoint -> a |
#   |    10.77.0.1/24 fd77::1/64    |                     |    10.77.0.2/24 fd77::2/64    |
#   |    port 51801                 |                     |    port 51802                 |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds nc ss
wggo_path=$(resolve_impl "$WGGO") || bail_out "WGGO=$WGGO: no such executable"
WGGO=$wggo_path

plan 19

setup_underlay
keygen a
keygen b
pskgen ab
head -c $((10 * 1024 * 1024)) /dev/urandom >"$T/data"
want=$(sha_of "$T/data")

# configure NS IFNAME OWN_KEY PEER LISTEN_PORT PEER_ALLOWED [ENDPOINT]
configure()
{
	local ns=$1 ifn=$2 own=$3 peer=$4 port=$5 allowed=$6 endpoint=${7:-}
	ip netns exec "$ns" wg set "$ifn" private-key "$(key_of "$own")" listen-port "$port" \
		peer "$(pub_of "$peer")" preshared-key "$(psk_of ab)" allowed-ips "$allowed" \
		${endpoint:+endpoint "$endpoint"}
}

# phase NAME IMPL_IF WGGO_IF INITIATOR_NS RESPONDER_NS: checks common to both phases.
phase()
{
	local name=$1 ifa=$2 ifb=$3 ins=$4 rns=$5 raddr=10.77.0.2 rport=5002 rv6=fd77::2
	if [ "$ins" = "$NS2" ]; then
		raddr=10.77.0.1 rport=5003 rv6=fd77::1
	fi
	check "$name: ping $raddr from the initiator" ping_ok "$ins" "$raddr"
	check "$name: ping $rv6 from the initiator" ping_ok "$ins" "$rv6"
	check "$name: 10 MB over TCP from the initiator arrive intact" \
		tcp_transfer "$ins" "$rns" "$raddr" "$rport" "$T/data" 60
	check_eq "$name: sha256 of the received copy" "$want" sha_of "$T/recv.$rport"
	check "$name: IMPL reports a handshake" handshake_done "$NS1" "$ifa" "$(pub_of b)"
	check "$name: wireguard-go reports a handshake" handshake_done "$NS2" "$ifb" "$(pub_of a)"
	check "$name: IMPL rx/tx counters non-zero" transfer_nonzero "$NS1" "$ifa" "$(pub_of b)"
	check "$name: wireguard-go rx/tx counters non-zero" \
		transfer_nonzero "$NS2" "$ifb" "$(pub_of a)"
}

# Phase 1: only IMPL knows an endpoint, so IMPL sends the initiation.
IFA="tw$$a"
IFB="tw$$b"
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$WGGO" "$IFB"
configure "$NS1" "$IFA" a b 51801 10.77.0.2/32,fd77::2/128 192.0.2.2:51802
configure "$NS2" "$IFB" b a 51802 10.77.0.1/32,fd77::1/128
addr_up "$NS1" "$IFA" 10.77.0.1/24 fd77::1/64
addr_up "$NS2" "$IFB" 10.77.0.2/24 fd77::2/64
phase "IMPL initiates" "$IFA" "$IFB" "$NS1" "$NS2"
check_eq "IMPL initiates: wireguard-go learned IMPL's endpoint" "192.0.2.1:51801" \
	peer_field "$NS2" "$IFB" "$(pub_of a)" endpoint
check "stop both daemons" eval 'stop_daemon "$IFA" && stop_daemon "$IFB"'

# Phase 2: fresh daemons; only wireguard-go knows an endpoint.
IFC="tw$$c"
IFD="tw$$d"
start_daemon "$NS1" "$IMPL" "$IFC"
start_daemon "$NS2" "$WGGO" "$IFD"
configure "$NS1" "$IFC" a b 51801 10.77.0.2/32,fd77::2/128
configure "$NS2" "$IFD" b a 51802 10.77.0.1/32,fd77::1/128 192.0.2.1:51801
addr_up "$NS1" "$IFC" 10.77.0.1/24 fd77::1/64
addr_up "$NS2" "$IFD" 10.77.0.2/24 fd77::2/64
phase "wireguard-go initiates" "$IFC" "$IFD" "$NS2" "$NS1"
check_eq "wireguard-go initiates: IMPL learned wireguard-go's endpoint" "192.0.2.2:51802" \
	peer_field "$NS1" "$IFC" "$(pub_of b)" endpoint
