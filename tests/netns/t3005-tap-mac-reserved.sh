#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP mode: a pinned MAC is reserved for its peer (issue 13, item 4). host1 pins vm3's MAC to
# host3's peer. host2's peer is authenticated but unpinned, and its VM sends frames with vm3's
# MAC as their source (to vm1's MAC, so only host1 gets them). Checks: pinning removes the entry
# host1 had learned from such a frame; afterwards they are dropped and counted (mac_reserved);
# while host2 keeps sending them, vm1 pings vm3 and none of that unicast traffic reaches host2;
# changing a peer's pins flushes the MACs learned from it.
#
#   vm1 (ns 4)          vm2 (ns 5): spoofs      vm3 (ns 6)        10.80.0.N/24
#     | veth              | vm3's MAC             | veth
#   [br0]-tt$$1         [br0]-tt$$2             [br0]-tt$$3       host N = ns N, tapird --mode tap
#   host1 (ns 1)        host2 (ns 2)            host3 (ns 3)      underlay 192.0.2.N/24 (hN)
#   peer h3 pinned to vm3's MAC
#      \___________________|_______________________/
#                    [ubr] switch (ns 7)
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat
require_tapird_extension "TAP mode"

plan 14

setup_tap_hosts
for n in 1 2 3; do
	args=(private-key "$(key_of h$n)" listen-port 5180$n)
	for m in 1 2 3; do
		[ $m -eq $n ] && continue
		args+=(peer "$(pub_of h$m)" endpoint 192.0.2.$m:5180$m)
	done
	nx $n wg set "tt$$$n" "${args[@]}"
done

hex() { b64_to_hex "$(pub_of "$1")"; }
vm_ping() { ping_until "tapir-$$-$1" 15 "$2"; }
mac1=$(nx 4 cat /sys/class/net/vm/address)
mac2=$(nx 5 cat /sys/class/net/vm/address)
mac3=$(nx 6 cat /sys/class/net/vm/address)
# learned_by IFACE_NS PEER MAC: host N's UAPI lists MAC as learned from PEER's peer
learned_by()
{
	printf 'get=tapir\n\n' | uapi "tt$$$1" | awk -v m="$3" -v k="$(hex "$2")" \
		'/^public_key=/ { cur = substr($0, 12) } $0 == "tapir_learned_mac=" m && cur == k { f = 1 }
		END { exit !f }'
}
drops() { nx 1 "$TAPIR" show "tt$$1" drops | awk -v r="$1" '$1 == r { print $2; f = 1 } END { exit !f }'; }
# spoof COUNT: vm2 sends COUNT frames from vm3's MAC to vm1's MAC
frame="$(printf '\\x%s' ${mac1//:/ })$(printf '\\x%s' ${mac3//:/ })\x88\xb5tapir-t3005-spoof"
spoof()
{
	local i
	for ((i = 0; i < $1; i++)); do
		printf '%b' "$frame" | nx 5 timeout 3 socat -u - INTERFACE:vm
	done
}

check "vm1 pings vm2" vm_ping 4 10.80.0.2
check "vm1 pings vm3" vm_ping 4 10.80.0.3

# before any pin, host1 learns vm3's MAC from whoever sent from it last
stolen() { spoof 1 && learned_by 1 h2 "$mac3"; }
check "without a pin, host2's peer can take vm3's MAC (host1 learns it from host2)" \
	wait_for "vm3's MAC learned from host2" 10 stolen
printf 'set=1\npublic_key=%s\ntapir_mac=%s\n\n' "$(hex h3)" "$mac3" | uapi "tt$$1" >"$T/pin.reply"
check_eq "host1 pins vm3's MAC to host3's peer" "errno=0" cat "$T/pin.reply"
check_fails "pinning removed the entry learned from host2" learned_by 1 h2 "$mac3"

# host2 keeps sending from vm3's MAC while vm1 pings vm3
before=$(drops mac_reserved || echo 0)
nx 2 timeout 60 socat -u "INTERFACE:tt$$2" "OPEN:$T/tap2-frames,creat,trunc" 2>/dev/null &
track_pid $!
(
	for ((j = 0; j < 60; j++)); do
		spoof 1
		sleep 0.1
	done
) >/dev/null 2>&1 &
spoofer=$!
track_pid "$spoofer"
sleep 0.5
# the pattern fills the ICMP payload, so a copy that reached host2 can be found
check "while host2 sends from vm3's MAC, vm1 still pings vm3" \
	nx 4 timeout 10 ping -c 10 -i 0.2 -W 1 -p 7a7a3005 10.80.0.3
wait "$spoofer" || true
after=$(drops mac_reserved || echo 0)
diag "host1: mac_reserved $before -> $after"
check "host2's frames from the pinned MAC are dropped and counted (mac_reserved grew)" \
	eval '[ "$after" -gt "$before" ]'
check_fails "host1 never learned vm3's MAC from host2" learned_by 1 h2 "$mac3"
sleep 0.5
check "none of vm1's unicast traffic to vm3 reached host2's TAP" \
	eval '! grep -aq "$(printf "\x7a\x7a\x30\x05\x7a\x7a\x30\x05")" "$T/tap2-frames"'

# changing a peer's pins flushes what was learned from it: host2's peer gets a pin that is not
# vm2's MAC, and vm2's MAC is gone from host1's table at once (and stays gone)
vm2_learned() { nx 5 timeout 3 ping -c 1 -W 1 10.80.0.1 >/dev/null 2>&1; learned_by 1 h2 "$mac2"; }
check "host1 has learned vm2's MAC from host2" wait_for "vm2's MAC learned" 10 vm2_learned
printf 'set=1\npublic_key=%s\ntapir_replace_macs=true\ntapir_mac=02:00:00:00:30:05\n\n' \
	"$(hex h2)" | uapi "tt$$1" >/dev/null
check_fails "new pins for host2's peer flushed the MACs learned from it" learned_by 1 h2 "$mac2"

# a MAC is pinned to one peer at a time: pinning vm3's MAC to host2's peer as well fails and
# changes nothing; moving it (host3's peer gives it up in the same request) works
pins_of()
{
	printf 'get=tapir\n\n' | uapi "tt$$1" | awk -v k="$(hex "$1")" \
		'/^public_key=/ { cur = substr($0, 12) } /^tapir_mac=/ && cur == k { print substr($0, 11) }' |
		words_sorted
}
printf 'set=1\npublic_key=%s\ntapir_mac=%s\n\n' "$(hex h2)" "$mac3" | uapi "tt$$1" >"$T/dup.reply"
check "UAPI: pinning a MAC that another peer holds fails with a negative errno" \
	grep -Eqx 'errno=-[0-9]+' "$T/dup.reply"
check_eq "and host2's peer keeps the pins it had" "02:00:00:00:30:05" pins_of h2
check_eq "UAPI: moving the pin from host3's peer to host2's in one request works" "errno=0" \
	eval 'printf "set=1\npublic_key=%s\ntapir_replace_macs=true\npublic_key=%s\ntapir_mac=%s\n\n" \
		"$(hex h3)" "$(hex h2)" "$mac3" | uapi "tt$$1"'
