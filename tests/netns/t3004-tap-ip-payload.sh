#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP mode takes Ethernet frames from peers, never IP packets (issue 13, item 3). An
# authenticated peer that runs in tun mode (the attacker here: any peer can send any payload)
# sends IP packets; the host's TAP must not see them, or their first 12 bytes would become
# MAC addresses and a crafted IPv6 header would teach the host's bridge any source MAC it likes.
# The host admin cannot open that door either: the UAPI refuses allowed_ip on a TAP interface,
# before anything of the request changes.
#
#   vm (ns 3) 10.84.0.1/24 fd84::1/64
#     | vm (veth) hv
#   [br0]-tp$$h  host (ns 1), tapird --mode tap, peer a pinned to 02:00:00:00:aa:01
#   veth1 192.0.2.1/24 ==================== veth2 192.0.2.2/24
#                                           attacker (ns 2): tapird (tun mode) tp$$a fd84::2/64,
#                                           peer h allowed-ips ::/0 0.0.0.0/0; injects crafted
#                                           IPv6 packets into its own TUN (socat INTERFACE)
#
# The crafted packet, read as an Ethernet frame: destination 60:00:00:00:00:20 (version,
# class, flow label, payload length), source 02:00:5e:ee:ee:01 (next header 0x02, hop limit 0,
# the first 4 bytes of the source address 5eee:ee01:88b5::1), EtherType 0x88b5.
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat bridge
require_tapird_extension "TAP mode"

plan 13

IFH="tp$$h"
IFA="tp$$a"
SPOOF_MAC=02:00:5e:ee:ee:01
MARKER=tapir-t3004-spoofed-frame-012345
N=20

setup_underlay
add_ns 3
keygen h
keygen a
keygen x
TAPD=$(tap_daemon)
start_daemon "$NS1" "$TAPD" "$IFH"
start_daemon "$NS2" "$IMPL" "$IFA"
ip1 link add br0 type bridge
ip1 link set "$IFH" master br0
ip link add hv netns "$NS1" type veth peer name vm netns "$NS3"
ip1 link set hv master br0
for l in hv "$IFH" br0; do ip1 link set "$l" up; done
addr_up "$NS3" vm 10.84.0.1/24 fd84::1/64
n1 wg set "$IFH" private-key "$(key_of h)" listen-port 51841 \
	peer "$(pub_of a)" endpoint 192.0.2.2:51842
n2 wg set "$IFA" private-key "$(key_of a)" listen-port 51842 \
	peer "$(pub_of h)" endpoint 192.0.2.1:51841 allowed-ips ::/0,0.0.0.0/0
addr_up "$NS2" "$IFA" fd84::2/64

hex() { b64_to_hex "$(pub_of "$1")"; }
get_ext() { printf 'get=tapir\n\n' | uapi "$IFH"; }
# drops REASON: the host's counter, as `tapir show IF drops` lists it
drops() { n1 "$TAPIR" show "$IFH" drops | awk -v r="$1" '$1 == r { print $2; f = 1 } END { exit !f }'; }

# ---------------------------------------------------------------- the UAPI refuses allowed_ip

get_ext >"$T/before"
printf 'set=1\ntapir_forward=true\npublic_key=%s\npublic_key=%s\ntapir_mac=02:00:00:00:aa:01\nallowed_ip=5eee:ee01::/32\n\n' \
	"$(hex x)" "$(hex a)" | uapi "$IFH" >"$T/reply"
diag "reply to a set with allowed_ip: $(tr '\n' ' ' <"$T/reply")"
check "UAPI: a set with allowed_ip on a TAP interface fails with a negative errno" \
	grep -Eqx 'errno=-[0-9]+' "$T/reply"
check_eq "UAPI: nothing of that set changed (forwarding still off)" "tapir_forward=false" \
	eval 'get_ext | grep "^tapir_forward="'
check_fails "UAPI: nothing of that set changed (the new peer was not added)" \
	has_peer "$NS1" "$IFH" "$(pub_of x)"
state() { grep -E '^(public_key|allowed_ip|tapir_mac|tapir_forward|tapir_mac_age)=' "$1"; }
check "UAPI: the device's configuration is what it was before the set" \
	eval 'get_ext >"$T/after" && diff <(state "$T/before") <(state "$T/after")'
check_fails "wg set ... allowed-ips on a TAP interface fails" \
	n1 wg set "$IFH" peer "$(pub_of a)" allowed-ips 5eee:ee01::/32
check_eq "and the peer still has no allowed IPs" "(none)" allowed_ips_of "$NS1" "$IFH" "$(pub_of a)"
check_eq "a valid set without allowed_ip still works (pin a MAC for the attacker's peer)" \
	"errno=0" eval 'printf "set=1\npublic_key=%s\ntapir_mac=02:00:00:00:aa:01\n\n" "$(hex a)" | uapi "$IFH"'

# ---------------------------------------------------------------- the attack

# send_crafted COUNT: COUNT crafted IPv6 packets into the attacker's TUN; its tapird
# encrypts them for h like any IP packet routed there
packet="\x60\x00\x00\x00\x00\x20\x02\x00\x5e\xee\xee\x01\x88\xb5\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"
packet+="\xfd\x84\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01$MARKER"
send_crafted()
{
	local i
	for ((i = 0; i < $1; i++)); do
		printf '%b' "$packet" | n2 timeout 3 socat -u - "INTERFACE:$IFA"
	done
}
n1 timeout 60 socat -u "INTERFACE:$IFH" "OPEN:$T/tap-frames,creat,trunc" 2>/dev/null &
track_pid $!
session_up() { send_crafted 1 && handshake_done "$NS1" "$IFH" "$(pub_of a)"; }
check "the attacker's peer completes a handshake with the host (authenticated)" \
	wait_for "a handshake" 20 session_up
before=$(drops not_ethernet || echo 0)
rx_before=$(peer_field "$NS1" "$IFH" "$(pub_of a)" rx)
send_crafted "$N"
n2 timeout 5 ping -q -c 3 -i 0.2 -W 1 fd84::1 >/dev/null 2>&1 || true
grew() { [ "$(drops not_ethernet)" -ge $((before + N)) ]; }
wait_for "the drops to be counted" 5 grew || true
after=$(drops not_ethernet || echo 0)
rx_after=$(peer_field "$NS1" "$IFH" "$(pub_of a)" rx)
diag "not_ethernet $before -> $after; host rx from the attacker $rx_before -> $rx_after bytes"
check "the crafted packets reached the host (rx from the attacker's peer grew)" \
	eval '[ "$rx_after" -gt "$rx_before" ]'
check "every one was dropped and counted: tapir show drops not_ethernet grew by >= $N" \
	eval '[ "$after" -ge $((before + N)) ]'
sleep 0.5
bridge -n "$NS1" fdb show br br0 >"$T/fdb"
check "the host's bridge did not learn the attacker's chosen source MAC $SPOOF_MAC" \
	eval '! grep -qi "^$SPOOF_MAC " "$T/fdb"'
check "nothing of the crafted packets was written to the TAP" \
	eval '! grep -aq "$MARKER" "$T/tap-frames"'
check "the host daemon is alive and answers UAPI" \
	eval 'alive "${DAEMON_PID[$IFH]}" && get_ext | grep -qx "errno=0"'
