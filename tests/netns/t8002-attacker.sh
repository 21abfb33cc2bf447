#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Stress: a packet-level attacker against a daemon with a working tunnel (issue 7). For each
# kind (replays of recorded traffic, truncated, oversized, random, bad mac1, bad tag, and two
# rounds of our own: zero-length datagrams, and replays in 64-datagram UDP GSO batches) it
# sends ATTACK_COUNT datagrams (default 10^4 so CI stays fast; the issue asks 10^5: run
# ATTACK_COUNT=100000 nightly) at b's port; after each round b is alive, answers UAPI, the
# tunnel pings, nothing was accepted (b's handshake time for a is unchanged, b's rx for a
# never exceeds what a sent through the recording relay, the endpoint is not the attacker's)
# and b's drop counters account for every datagram by its class. Then a flood of initiations
# with a correct mac1 from 128 source addresses puts b under load: b answers with cookie
# replies (every initiation gets one or a drop), and a, whose session b and a both forget,
# still completes a handshake within 10 s during the flood.
#
#   tapir-$$-1 (a)                 tapir-$$-2 (b)                  tapir-$$-3 (attacker)
#   +--------------------------+   +--------------------------+    +------------------------+
#   | ta$$a 10.77.0.1  :51801  |   | ta$$b 10.77.0.2  :51802  |    | attacker --target      |
#   |  peer b: 127.0.0.1:51900 |   |  peer a: learns the      |    |   10.99.0.2:51802      |
#   | impair --record (no loss)|   |  relay's address         |    |                        |
#   |  127.0.0.1:51900 ->      |   |                          |    | flood sources:         |
#   |  192.0.2.2:51802         |   |                          |    |  10.99.1.0-127/32      |
#   | veth1 192.0.2.1/24       |===| veth2 192.0.2.2/24       |    |                        |
#   +--------------------------+   | vb 10.99.0.2/16          |====| vx 10.99.0.1/16        |
#                                  +--------------------------+    +------------------------+
#
# SEED (default 8002) seeds the attacker; it is printed, so a failing run can be repeated.
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat ss

IMPAIR=${IMPAIR:-$(dirname "$IMPL")/tests/tools/impair}
ATTACKER=${ATTACKER:-$(dirname "$IMPL")/tests/tools/attacker}
[ -x "$IMPAIR" ] || skip_all "impair not built (set IMPAIR=path/to/tests/tools/impair)"
[ -x "$ATTACKER" ] || skip_all "attacker not built (set ATTACKER=path/to/tests/tools/attacker)"

plan 41

ATTACK_COUNT=${ATTACK_COUNT:-10000}
ATTACK_RATE=${ATTACK_RATE:-10000}
OVERSIZED_RATE=${OVERSIZED_RATE:-2000}
FLOOD_RATE=${FLOOD_RATE:-4000}
FLOOD_SECONDS=${FLOOD_SECONDS:-16}
FLOOD_BURST=${FLOOD_BURST:-256}
SEED=${SEED:-8002}
IFA="ta$$a"
IFB="ta$$b"
RELAY_PORT=51900
TARGET=10.99.0.2:51802

setup_underlay
add_ns 3
pretty "" "ip link add vb netns $NS2 type veth peer name vx netns $NS3"
ip link add vb netns "$NS2" type veth peer name vx netns "$NS3"
ip2 addr add 10.99.0.2/16 dev vb
ip3 addr add 10.99.0.1/16 dev vx
ip2 link set vb up
ip3 link set vx up
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
A_PEER_B=(peer "$(pub_of b)" endpoint "127.0.0.1:$RELAY_PORT" allowed-ips 10.77.0.2/32)
B_PEER_A=(peer "$(pub_of a)" allowed-ips 10.77.0.1/32)
n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51801 "${A_PEER_B[@]}"
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51802 "${B_PEER_A[@]}"
addr_up "$NS1" "$IFA" 10.77.0.1/24
addr_up "$NS2" "$IFB" 10.77.0.2/24
diag "attacker seed $SEED, $ATTACK_COUNT datagrams per kind"

# ---------------------------------------------------------------- helpers

tapir_get() { printf 'get=tapir\n\n' | uapi "$1"; }
answers_uapi() { tapir_get "$1" | grep -qx 'errno=0'; }
# field FILE KEY: the value of KEY=... on a line of its own (UAPI) or inside a line (tools).
field()
{
	awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {
		print substr($i, length(k) + 2); exit } }' "$1"
}
# delta REASON: growth of b's tapir_drop_REASON between $T/b.before and $T/b.after.
delta()
{
	local b a
	b=$(field "$T/b.before" "tapir_drop_$1")
	a=$(field "$T/b.after" "tapir_drop_$1")
	echo $((${a:-0} - ${b:-0}))
}
all_drops() { awk -F= '/^tapir_drop_/ { n += $2 } END { print n + 0 }' "$1"; }
# Datagrams b's kernel lost before the daemon could count them: full UDP socket buffers and
# failed reassemblies (oversized datagrams are fragments on the veth).
kernel_drops()
{
	ip netns exec "$NS2" awk '
		$1 == "Udp:" && $2 !~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) u[$i] = i }
		$1 == "Udp:" && $2 ~ /^[0-9]+$/ { n += $u["InErrors"] }
		$1 == "Ip:" && $2 !~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) p[$i] = i }
		$1 == "Ip:" && $2 ~ /^[0-9]+$/ { n += $p["ReasmFails"] }
		END { print n + 0 }' /proc/net/snmp
}
udp_errors()
{
	ip netns exec "$1" awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $4 }' /proc/net/snmp
}
udp_listening() { ip netns exec "$1" ss -Hlun "sport = :$2" | grep -q .; }
reports_above() { [ "$(grep -c '^impair: to_forward' "$T/relay.out")" -gt "$1" ]; }
# relay_bytes: bytes the relay has forwarded from a to b so far (it reports on SIGUSR1).
relay_bytes()
{
	local n
	n=$(grep -c '^impair: to_forward' "$T/relay.out" || true)
	signal_child USR1 "$RELAY_PID" || return 1
	wait_for "the relay's report" 5 reports_above "$n" || return 1
	grep '^impair: to_forward' "$T/relay.out" | tail -n 1 | tr ' ' '\n' | field /dev/stdin bytes
}
b_field() { peer_field "$NS2" "$IFB" "$(pub_of a)" "$1"; }
no_sanitizer_report()
{
	! grep -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$T/$IFA.log" "$T/$IFB.log"
}

# ---------------------------------------------------------------- a working tunnel, recorded

pretty "$NS1" "$IMPAIR --listen 127.0.0.1:$RELAY_PORT --forward 192.0.2.2:51802 --record capture"
ip netns exec "$NS1" "$IMPAIR" --listen "127.0.0.1:$RELAY_PORT" --forward 192.0.2.2:51802 \
	--record "$T/capture" --duration 600 >"$T/relay.out" 2>&1 &
RELAY_PID=$!
track_pid "$RELAY_PID"
wait_for "the relay to listen" 10 udp_listening "$NS1" "$RELAY_PORT" ||
	bail_out "impair did not start: $(cat "$T/relay.out")"

check "the tunnel works through the recording relay (ping within 20 s)" \
	wait_for "a ping answer" 20 n1 timeout 3 ping -c 1 -W 1 10.77.0.2
n1 timeout 10 ping -q -c 20 -i 0.05 -W 1 10.77.0.2 >/dev/null || true
EP0=$(b_field endpoint)
diag "b's endpoint for a: $EP0 (the relay), latest handshake $(b_field handshake)"
captured_data()
{
	n1 "$ATTACKER" --target 127.0.0.1:9 --kind replay --capture "$T/capture" --count 0 \
		--linger-ms 0 >"$T/capture.summary"
	cat "$T/capture.summary"
	[ "$(field "$T/capture.summary" captured)" -ge 20 ]
}
check "the relay recorded a's traffic (at least 20 datagrams)" captured_data

# ---------------------------------------------------------------- attacks, kind by kind

initiations_of_a() { grep -c 'sending handshake initiation' "$T/$IFA.log" || true; }

# nothing_accepted: b's state for a moved only with a's own traffic: the latest handshake
# moved only if a initiated one during the round (a rekey, in long runs), b's rx for a is at
# most what a sent through the relay, and the endpoint is still the relay's.
nothing_accepted()
{
	local hs rx sent ep inits
	hs=$(b_field handshake) || return 1
	rx=$(b_field rx) || return 1
	ep=$(b_field endpoint) || return 1
	inits=$(initiations_of_a)
	# read after rx: everything counted in rx was forwarded by the relay before
	sent=$(relay_bytes) || return 1
	echo "latest handshake $HS_ROUND -> $hs (initiations by a: $INITS_ROUND -> $inits);" \
		"rx $rx <= bytes a sent through the relay $sent; endpoint $EP0 -> $ep"
	{ [ "$hs" = "$HS_ROUND" ] || [ "$inits" != "$INITS_ROUND" ]; } &&
		[ "$rx" -le "$sent" ] && [ "$ep" = "$EP0" ]
}

# counters_match NAME PRIMARY COUNT SEGMENTS: every datagram of the attack is accounted for
# by its class (malformed -> malformed; data -> replay, unknown_index, decrypt_failed or
# key_expired; handshake -> handshake_invalid, handshake_queue_full, ratelimited or a cookie
# reply), up to what b's kernel dropped (a coalesced GSO buffer of SEGMENTS datagrams counts
# once there); PRIMARY grew; and there are no more drops than datagrams (plus slack for a's
# traffic). Zero-length datagrams have a round of their own ("empty"), so the other rounds
# leave them out of the malformed bound: one bug, one failing check.
counters_match()
{
	local out="$T/attack.$1.out" primary=$2 count=$3 seg=$4 sent cm ch cd empty cookies kd
	local dm dd dh total
	cat "$out"
	sent=$(field "$out" sent)
	cm=$(field "$out" class_malformed)
	ch=$(field "$out" class_handshake)
	cd=$(field "$out" class_data)
	empty=$(field "$out" empty)
	[ "$1" = empty ] || cm=$((cm - empty))
	cookies=$(field "$out" replies_cookie)
	kd=$(((KD_AFTER - KD_BEFORE) * seg))
	dm=$(delta malformed)
	dd=$(($(delta replay) + $(delta unknown_index) + $(delta decrypt_failed) + $(delta key_expired)))
	dh=$(($(delta handshake_invalid) + $(delta handshake_queue_full) + $(delta ratelimited)))
	total=$(($(all_drops "$T/b.after") - $(all_drops "$T/b.before")))
	echo "b: malformed +$dm (class $cm), data drops +$dd (class $cd)," \
		"handshake drops +$dh and $cookies cookie replies (class $ch);" \
		"tapir_drop_$primary +$(delta "$primary"); all drops +$total;" \
		"kernel drops up to $kd datagrams"
	[ "$sent" -eq "$count" ] &&
		[ "$dm" -ge $((cm - kd)) ] && [ "$dd" -ge $((cd - kd)) ] &&
		[ $((dh + cookies)) -ge $((ch - kd)) ] &&
		[ "$(delta "$primary")" -gt 0 ] &&
		[ $((total + cookies)) -le $((sent + 16)) ]
}

alive_and_answering() { alive "${DAEMON_PID[$IFB]}" && answers_uapi "$IFB"; }

# attack NAME KIND PRIMARY COUNT RATE SEGMENTS [ATTACKER ARGS...]: one round, four checks.
attack()
{
	local name=$1 kind=$2 primary=$3 count=$4 rate=$5 seg=$6
	shift 6
	tapir_get "$IFB" >"$T/b.before"
	KD_BEFORE=$(kernel_drops)
	HS_ROUND=$(b_field handshake)
	INITS_ROUND=$(initiations_of_a)
	pretty "$NS3" "$ATTACKER --target $TARGET --kind $kind --count $count --rate $rate $*"
	ip netns exec "$NS3" timeout 60 "$ATTACKER" --target "$TARGET" --kind "$kind" \
		--count "$count" --capture "$T/capture" --seed "$SEED" --rate "$rate" \
		--linger-ms 200 "$@" >"$T/attack.$name.out" 2>&1 || true
	sleep 0.2 # what b still has queued
	check "$name: b is alive and answers UAPI" alive_and_answering
	check "$name: the tunnel still pings" ping_ok "$NS1" 10.77.0.2
	tapir_get "$IFB" >"$T/b.after"
	KD_AFTER=$(kernel_drops)
	check "$name: nothing accepted (handshake, rx and endpoint of a unchanged by it)" \
		nothing_accepted
	check "$name: b's drop counters account for all $count (tapir_drop_$primary grew)" \
		counters_match "$name" "$primary" "$count" "$seg"
	diag "$name: $(counters_match "$name" "$primary" "$count" "$seg" | tail -n 1)"
}

attack replay replay replay "$ATTACK_COUNT" "$ATTACK_RATE" 1
attack truncated truncated malformed "$ATTACK_COUNT" "$ATTACK_RATE" 1
# oversized datagrams are IP-fragmented: a lower rate keeps b's reassembly within its memory
attack oversized oversized malformed "$ATTACK_COUNT" "$OVERSIZED_RATE" 1
attack random random malformed "$ATTACK_COUNT" "$ATTACK_RATE" 1
attack badmac badmac handshake_invalid "$ATTACK_COUNT" "$ATTACK_RATE" 1
attack valid-header-badtag valid-header-badtag decrypt_failed "$ATTACK_COUNT" "$ATTACK_RATE" 1
# The shortest datagram there is. (Found failing: the receive path skips zero-length
# datagrams without counting them; see the report of the attacker tests.)
attack empty empty malformed 1000 "$ATTACK_RATE" 1
# Replays in UDP GSO batches of 64 (b's UDP_GRO socket gets each batch as one buffer, as from
# a peer sending with GSO), 10 batches per burst: more than 512 datagrams per receive batch.
# (Found failing: segments beyond the receive batch's room are discarded uncounted.)
attack replay-gso replay replay "$ATTACK_COUNT" "$ATTACK_RATE" 64 --gso 64 --burst 640

# ---------------------------------------------------------------- handshake flood

# 128 source addresses on the attacker's veth, so that b's cookie replies come back.
for i in $(seq 0 127); do
	echo "addr add 10.99.1.$i/32 dev vx"
done | ip -n "$NS3" -batch -
pretty "$NS3" "ip addr add 10.99.1.0/32 ... 10.99.1.127/32 dev vx"
flood_count=$((FLOOD_RATE * FLOOD_SECONDS))
# the first burst leaves at once: take the counters before the flood starts
KD_BEFORE=$(kernel_drops)
KD3_BEFORE=$(udp_errors "$NS3")
tapir_get "$IFB" >"$T/b.before"
pretty "$NS3" "$ATTACKER --target $TARGET --kind initiation-flood --source-range 10.99.1.0/25 --count $flood_count --rate $FLOOD_RATE"
ip netns exec "$NS3" timeout $((FLOOD_SECONDS + 30)) "$ATTACKER" --target "$TARGET" \
	--kind initiation-flood --target-pubkey "$(pub_of b)" --source-range 10.99.1.0/25 \
	--count "$flood_count" --rate "$FLOOD_RATE" --burst "$FLOOD_BURST" --seed "$SEED" \
	--linger-ms 1000 >"$T/flood.out" 2>&1 &
FLOOD_PID=$!
track_pid "$FLOOD_PID"
sleep 2

# Both sides forget the session, so a must complete a new handshake while b is flooded.
n2 wg set "$IFB" peer "$(pub_of a)" remove
n2 wg set "$IFB" "${B_PEER_A[@]}"
n1 wg set "$IFA" peer "$(pub_of b)" remove
n1 wg set "$IFA" "${A_PEER_B[@]}"
ip netns exec "$NS1" timeout 15 ping -q -c 70 -i 0.2 -W 1 10.77.0.2 >/dev/null 2>&1 &
track_pid $!
start=${EPOCHREALTIME/./}
fresh_handshake()
{
	handshake_done "$NS2" "$IFB" "$(pub_of a)" && handshake_done "$NS1" "$IFA" "$(pub_of b)"
}
check "during the flood, a completes a new handshake with b within 10 s" \
	wait_for "a new handshake" 10 fresh_handshake
end=${EPOCHREALTIME/./}
diag "handshake after $(((end - start) / 1000)) ms"
check "the flood was still running when the handshake completed" alive "$FLOOD_PID"
check "during the flood, the tunnel pings" ping_ok "$NS1" 10.77.0.2
wait "$FLOOD_PID" || diag "the attacker exited with status $?"
diag_file "$T/flood.out"
tapir_get "$IFB" >"$T/b.after"
diag "during the flood b's kernel dropped $(($(kernel_drops) - KD_BEFORE)) datagrams;" \
	"b counted handshake_invalid +$(delta handshake_invalid)," \
	"handshake_queue_full +$(delta handshake_queue_full), ratelimited +$(delta ratelimited);" \
	"the attacker got $(field "$T/flood.out" replies_cookie) cookie replies"
cookie_replies()
{
	local sent cookies
	cat "$T/flood.out"
	sent=$(field "$T/flood.out" sent)
	cookies=$(field "$T/flood.out" replies_cookie)
	[ "${sent:-0}" -ge 5000 ] && [ "${cookies:-0}" -gt 0 ]
}
check "the flood (>= 5000 initiations from 128 sources) got 64-byte cookie replies" \
	cookie_replies
# Every initiation got a cookie reply (counted where it arrived, at the attacker) or a drop
# at b, up to what the kernels dropped on the way. The 16 more allowed are a's own traffic.
flood_accounted()
{
	local sent cookies dh kd kd3 se
	sent=$(field "$T/flood.out" sent)
	cookies=$(field "$T/flood.out" replies_cookie)
	dh=$(($(delta handshake_invalid) + $(delta handshake_queue_full) + $(delta ratelimited)))
	kd=$(($(kernel_drops) - KD_BEFORE))
	kd3=$(($(udp_errors "$NS3") - KD3_BEFORE))
	se=$(delta send_error)
	echo "sent $sent: $cookies cookie replies + $dh handshake drops = $((cookies + dh));" \
		"b's kernel drops $kd, b's send errors $se, attacker's kernel drops $kd3"
	[ $((cookies + dh)) -ge $((sent - kd - kd3 - se)) ] &&
		[ $((cookies + dh)) -le $((sent + 16)) ]
}
check "every initiation of the flood got a cookie reply or a handshake drop" flood_accounted
if grep -q 'received cookie reply' "$T/$IFA.log"; then
	diag "a received a cookie reply from b during the flood"
fi
check "after the flood, b is alive and answers UAPI" alive_and_answering
check "no sanitizer report in either daemon's log" no_sanitizer_report
