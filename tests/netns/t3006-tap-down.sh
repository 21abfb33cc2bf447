#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TAP mode: frames for a TAP that is administratively down (issue 13, item 4b). The kernel
# refuses the write (EIO); that costs the frame (counted as send_error, as in tun mode), never
# the daemon, and traffic flows again once the link is up. Deleting the TAP still stops the
# daemon cleanly (status 0), as t0004 checks for a TUN.
#
#   vm1 (ns 4)                                   vm2 (ns 5)       10.80.0.N/24
#     | veth                                       | veth
#   [br0]-tt$$1  host1 (ns 1)                    [br0]-tt$$2  host2 (ns 2): tt$$2 down, up,
#      \_________ [ubr] switch (ns 7) ____________/                 then deleted
#   (host3 and vm3, ns 3 and 6, are set up by setup_tap_hosts and left idle)
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat
require_tapird_extension "TAP mode"

plan 8

setup_tap_hosts
nx 1 wg set "tt$$1" private-key "$(key_of h1)" listen-port 51801 \
	peer "$(pub_of h2)" endpoint 192.0.2.2:51802
nx 2 wg set "tt$$2" private-key "$(key_of h2)" listen-port 51802 \
	peer "$(pub_of h1)" endpoint 192.0.2.1:51801
drops() { nx 2 "$TAPIR" show "tt$$2" drops | awk -v r="$1" '$1 == r { print $2; f = 1 } END { exit !f }'; }
host2_alive() { alive "${DAEMON_PID[tt$$2]}" && printf 'get=1\n\n' | uapi "tt$$2" | grep -qx 'errno=0'; }

check "vm1 pings vm2" ping_until "tapir-$$-4" 15 10.80.0.2
before=$(drops send_error || echo 0)
rx_before=$(peer_field "tapir-$$-2" "tt$$2" "$(pub_of h1)" rx)
pretty "tapir-$$-2" "ip link set tt$$2 down"
ipx 2 link set "tt$$2" down
# unicast to vm2 (its MAC is known on both sides) and broadcasts: all end at host2's TAP
nx 4 timeout 10 ping -c 20 -i 0.1 -W 1 10.80.0.2 >/dev/null 2>&1 || true
nx 4 timeout 10 ping -b -c 5 -i 0.1 -W 1 10.80.0.255 >/dev/null 2>&1 || true
rx_after=$(peer_field "tapir-$$-2" "tt$$2" "$(pub_of h1)" rx || echo "$rx_before")
check "frames for the down TAP reached host2 (rx from host1 grew)" \
	eval '[ "$rx_after" -gt "$rx_before" ]'
check "host2's daemon is alive and answers UAPI while its TAP is down" host2_alive
check_fails "host2 did not stop its data path" grep -q "data path stopped" "$T/tt$$2.log"
after=$(drops send_error || echo 0)
diag "host2: send_error $before -> $after"
check "the refused writes are counted (send_error grew)" eval '[ "$after" -gt "$before" ]'
pretty "tapir-$$-2" "ip link set tt$$2 up"
ipx 2 link set "tt$$2" up || true
check "after ip link set up, vm1 pings vm2 again" ping_until "tapir-$$-4" 15 10.80.0.2

pretty "tapir-$$-2" "ip link del tt$$2"
ipx 2 link del "tt$$2" || true
check "deleting the TAP stops host2's daemon" \
	wait_for "host2's daemon to exit" 10 dead "${DAEMON_PID[tt$$2]}"
check_eq "with exit status 0" 0 wait_exit "${DAEMON_PID[tt$$2]}"
