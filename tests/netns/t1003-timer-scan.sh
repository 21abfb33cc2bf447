#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Timers at scale: with 2,000 idle peers beside one live one, the control thread looks at every
# peer once a second (tapir_timer_scans) and on the 50 ms ticks between only at the peers with
# a timer due before the next scan, so the peers it looks at (tapir_timer_visits) grow by about
# 2,000 a second, not 40,000 as when every tick walked every peer. The live peer's timers keep
# their precision: its persistent keepalive of 1 s leaves a's veth at 1 s intervals (each
# within 1.0-1.3 s), and after the idle peers go the counters still move. tapird only.
#
#   tapir-$$-1                                   tapir-$$-2
#   +------------------------------+             +------------------------------+
#   | tm$$a 10.81.0.1  :51831      |-------------| tm$$b 10.81.0.2  :51832      |
#   |   + 2,000 peers, no endpoint |             |                              |
#   | veth1 192.0.2.1/24           |=============| veth2 192.0.2.2/24           |
#   +------------------------------+             +------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "the timer counters"
require_cmds tcpdump awk socat

plan 8

N=2000
IFA="tm$$a"
IFB="tm$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51831 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51832 allowed-ips 10.81.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51832 \
	peer "$(pub_of a)" allowed-ips 10.81.0.1/32
addr_up "$NS1" "$IFA" 10.81.0.1/24
addr_up "$NS2" "$IFB" 10.81.0.2/24
check "a -> b ping" ping_ok "$NS1" 10.81.0.2

random_pubkeys "$N" >"$T/keys"
mapfile -t KEYS <"$T/keys"
args=()
for i in "${!KEYS[@]}"; do
	args+=(peer "${KEYS[$i]}" allowed-ips "10.82.$((i / 250)).$((i % 250 + 1))/32")
done
n1 wg set "$IFA" "${args[@]}"
check_eq "a has $N idle peers and the live one" $((N + 1)) \
	sh -c "ip netns exec '$NS1' wg show '$IFA' peers | wc -l"

# timer_stat NAME: a's tapir_timer_NAME
timer_stat()
{
	printf 'get=tapir\n\n' | uapi "$IFA" |
		awk -F= -v k="tapir_timer_$1" '$1 == k { print $2; found = 1 } END { exit !found }'
}

# counters over a window of 4 s (the window's own length is measured, not assumed)
s0=$(timer_stat scans) || s0=
v0=$(timer_stat visits) || v0=
t0=$(date +%s%N)
sleep 4
s1=$(timer_stat scans) || s1=
v1=$(timer_stat visits) || v1=
t1=$(date +%s%N)
diag "scans $s0 -> $s1, visits $v0 -> $v1 in $(((t1 - t0) / 1000000)) ms"
ms=$(((t1 - t0) / 1000000))
# every scan looks at all N + 1 peers; the ticks between at the live peer at most
scans_ok()
{
	[ -n "$s0" ] && [ -n "$s1" ] || return 1
	local d=$((s1 - s0))
	[ "$d" -ge 2 ] && [ "$d" -le $((ms / 1000 + 2)) ]
}
visits_ok()
{
	[ -n "$v0" ] && [ -n "$v1" ] || return 1
	local d=$((v1 - v0)) ds=$((s1 - s0))
	echo "visits $d for $ds scans of $((N + 1)) peers; every tick walking all: $((ms / 50 * (N + 1)))"
	[ "$d" -ge $((ds * (N + 1))) ] && [ "$d" -le $(((ds + 1) * (N + 1) + ms / 50 * 2)) ]
}
check "about one full timer scan a second" scans_ok
check "the ticks between scans look at the live peer only" visits_ok

# the live peer's persistent keepalive of 1 s, on the wire at 1 s intervals
n1 wg set "$IFA" peer "$(pub_of b)" persistent-keepalive 1
ip netns exec "$NS2" timeout 6 tcpdump -l -n -tt -i veth2 \
	'udp and dst port 51832 and udp[4:2] = 40' >"$T/keepalives" 2>/dev/null || true
intervals_ok()
{
	awk '$1 ~ /^[0-9]+\.[0-9]+$/ && $2 == "IP" { if (prev) { d = $1 - prev; print d; n++; if (d < 0.9 || d > 1.3) bad++ } prev = $1 }
		END { exit !(n >= 3 && !bad) }' "$T/keepalives"
}
check "keepalives 1.0-1.3 s apart among $N idle peers" intervals_ok
check "b still answers" ping_ok "$NS1" 10.81.0.2

for i in "${!KEYS[@]}"; do
	printf 'peer %s remove ' "${KEYS[$i]}"
done | xargs ip netns exec "$NS1" wg set "$IFA"
check_eq "the idle peers are gone" 1 sh -c "ip netns exec '$NS1' wg show '$IFA' peers | wc -l"
v2=$(timer_stat visits) || v2=
sleep 1.5
v3=$(timer_stat visits) || v3=
check "the counters still move with one peer left ($v2 -> $v3)" \
	test -n "$v2" -a -n "$v3" -a "${v3:-0}" -gt "${v2:-0}"
