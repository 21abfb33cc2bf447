#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Soak run (issue 7; not in CI, a run takes SOAK_SECONDS): two tapird joined by a veth pair
# carry traffic for SOAK_SECONDS (default 600) while the memory (VmRSS), open file descriptors
# and threads of both daemons are sampled: once before any traffic, at the start (after a
# WARMUP_SECONDS warm-up with one short round of each kind of traffic, so buffers that the
# first packets of each kind allocate count as the baseline),
# every SAMPLE_SECONDS, and at the end. It prints a table and writes every sample to a JSON
# file, and exits 1 if a daemon died, if any traffic round failed, if a daemon's RSS grew by
# more than RSS_GROWTH_PCT (20) % + RSS_SLACK_KIB (4 MiB) from start to end, or if its fd count
# grew at all.
#
#   tapir-soak-$$-1                                      tapir-soak-$$-2
#   +--------------------------------------+             +--------------------------------------+
#   | tsk$$a tapird        10.205.0.1/24   |             | tsk$$b tapird        10.205.0.2/24   |
#   |   iperf3 -c, one round at a time     |             |   iperf3 -s                          |
#   | veth1  192.0.2.1/24                  |=============| veth2  192.0.2.2/24                  |
#   +--------------------------------------+             +--------------------------------------+
#
# Traffic runs in rounds of ROUND_SECONDS (20), cycling through iperf3 TCP, TCP reverse (-R),
# 4 TCP streams and UDP (each a fresh connection), so sockets, flows and the timers are
# exercised over and over; the sessions rekey on their own every 120 s. After each round 16
# peers with random keys are added over the UAPI and removed again (peer allocation and
# teardown), and every sample also reads both daemons' state with `wg show dump` (UAPI
# connections opened and closed).
#
#   sudo bash bench/soak.sh                       (builds nothing; relative paths are taken from
#   sudo SOAK_SECONDS=60 bash bench/soak.sh        the repository root, like bench/tunnel.sh)
#
# Environment:
#   TAPIRD=build-rel/tapird   the daemon (default: build-rel/tapird, else build/tapird)
#   SOAK_SECONDS=600  SAMPLE_SECONDS=60  WARMUP_SECONDS=12  ROUND_SECONDS=20
#   SOAK_RATE=0               iperf3 -b per round (0: unlimited; e.g. 300M on a shared machine)
#   RSS_GROWTH_PCT=20  RSS_SLACK_KIB=4096   the RSS limit: start * (1 + PCT/100) + SLACK
#   OUT=FILE                  JSON output (default bench/results/soak-<date>.json)
#
# Network rule: traffic only between the two namespaces created here; every iperf3 run is
# bounded by timeout(1); everything started here is stopped by PID and both namespaces are
# removed on exit, also on failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TAPIRD:-}" ]; then
	TAPIRD=build-rel/tapird
	[ -x "$TAPIRD" ] || TAPIRD=build/tapird
fi
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-60}
WARMUP_SECONDS=${WARMUP_SECONDS:-12}
ROUND_SECONDS=${ROUND_SECONDS:-20}
SOAK_RATE=${SOAK_RATE:-0}
RSS_GROWTH_PCT=${RSS_GROWTH_PCT:-20}
RSS_SLACK_KIB=${RSS_SLACK_KIB:-4096}
OUT=${OUT:-bench/results/soak-$(date +%Y%m%d-%H%M%S).json}

NS1=tapir-soak-$$-1
NS2=tapir-soak-$$-2
IFA=tsk$$a
IFB=tsk$$b
RUN_DIR=/var/run/wireguard
HZ=$(getconf CLK_TCK)
PORT=5301
TMP=""
PIDS=()
declare -A DPID=() # side -> daemon PID

BENCH_NAME=soak.sh
STOP_GRACE_S=5
# shellcheck source=bench/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

cleanup()
{
	set +e
	[ ${#PIDS[@]} -gt 0 ] && stop_pids "${PIDS[@]}"
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	rm -f "$RUN_DIR/$IFA.sock" "$RUN_DIR/$IFB.sock"
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" = 0 ] || die "run as root"
[ -c /dev/net/tun ] || die "/dev/net/tun missing"
for c in ip iperf3 jq wg ping timeout awk; do
	command -v "$c" >/dev/null || die "$c not installed"
done
[ -x "$TAPIRD" ] || die "TAPIRD=$TAPIRD is not executable (build: meson setup build-rel -Dbuildtype=release && ninja -C build-rel)"
for v in SOAK_SECONDS SAMPLE_SECONDS WARMUP_SECONDS ROUND_SECONDS RSS_GROWTH_PCT RSS_SLACK_KIB; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then die "$v must be a positive integer"; fi
done
TMP=$(mktemp -d /tmp/tapir-soak.XXXXXX)

n1() { ip netns exec "$NS1" "$@"; }
n2() { ip netns exec "$NS2" "$@"; }

# ---------------------------------------------------------------- setup

start_daemon() # NS IFNAME SIDE
{
	local ns=$1 ifn=$2 pid i
	[ -e "$RUN_DIR/$ifn.sock" ] && die "$RUN_DIR/$ifn.sock already exists"
	say "[#] ip netns exec $ns env LOG_LEVEL=info $TAPIRD -f $ifn"
	(umask 022 && exec ip netns exec "$ns" env LOG_LEVEL=info "$TAPIRD" -f "$ifn" \
		>"$TMP/$ifn.log" 2>&1 </dev/null) &
	pid=$!
	PIDS+=("$pid")
	DPID[$3]=$pid
	for ((i = 0; i < 100; i++)); do
		[ -S "$RUN_DIR/$ifn.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	die "$TAPIRD $ifn did not come up: $(tail -5 "$TMP/$ifn.log")"
}

run ip netns add "$NS1"
run ip netns add "$NS2"
run ip link add veth1 netns "$NS1" type veth peer name veth2 netns "$NS2"
run ip -n "$NS1" addr add 192.0.2.1/24 dev veth1
run ip -n "$NS2" addr add 192.0.2.2/24 dev veth2
for ns in "$NS1" "$NS2"; do
	ip -n "$ns" link set lo up
done
run ip -n "$NS1" link set veth1 up
run ip -n "$NS2" link set veth2 up
start_daemon "$NS1" "$IFA" a
start_daemon "$NS2" "$IFB" b
ka=$(wg genkey)
kb=$(wg genkey)
say "[#] wg set $IFA / $IFB (fresh keys, ports 51951/51952)"
n1 wg set "$IFA" private-key <(echo "$ka") listen-port 51951 \
	peer "$(wg pubkey <<<"$kb")" endpoint 192.0.2.2:51952 allowed-ips 10.205.0.2/32
n2 wg set "$IFB" private-key <(echo "$kb") listen-port 51952 \
	peer "$(wg pubkey <<<"$ka")" endpoint 192.0.2.1:51951 allowed-ips 10.205.0.1/32
run ip -n "$NS1" addr add 10.205.0.1/24 dev "$IFA"
run ip -n "$NS2" addr add 10.205.0.2/24 dev "$IFB"
run ip -n "$NS1" link set "$IFA" up
run ip -n "$NS2" link set "$IFB" up
for ((i = 0; i < 20; i++)); do
	n1 ping -n -q -c 1 -W 1 10.205.0.2 >/dev/null 2>&1 && break
done
[ "$i" -lt 20 ] || die "no traffic through the tunnel"

total=$((WARMUP_SECONDS + SOAK_SECONDS))
n2 timeout $((total + 120)) iperf3 -s -p "$PORT" >"$TMP/iperf3-server.log" 2>&1 &
PIDS+=("$!")
for ((i = 0; i < 50; i++)); do
	n2 ss -Hltn "sport = :$PORT" | grep -q . && break
	sleep 0.1
done

# ---------------------------------------------------------------- sampling

T0=$(date +%s)
# sample TAG: one line per daemon: tag, seconds since the start, side, RSS KiB, fds, threads,
# CPU seconds; a daemon that is gone gives a line of "dead".
sample()
{
	local side pid rss fds thr cpu now
	now=$(($(date +%s) - T0))
	n1 wg show "$IFA" dump >/dev/null 2>&1 || true
	n2 wg show "$IFB" dump >/dev/null 2>&1 || true
	for side in a b; do
		pid=${DPID[$side]}
		if ! rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || [ -z "$rss" ]; then
			printf '%s\t%s\t%s\tdead\tdead\tdead\tdead\n' "$1" "$now" "$side" >>"$TMP/samples.tsv"
			continue
		fi
		fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		thr=$(awk '/^Threads:/ { print $2 }' "/proc/$pid/status")
		cpu=$(awk -v hz="$HZ" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$pid/stat")
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$now" "$side" "$rss" "$fds" "$thr" "$cpu" \
			>>"$TMP/samples.tsv"
	done
}

# churn: 16 peers with random public keys added in one UAPI set, then removed in another.
churn()
{
	local add=() del=() k j
	for ((j = 0; j < 16; j++)); do
		k=$(head -c 32 /dev/urandom | base64)
		add+=(peer "$k" allowed-ips "10.206.$j.0/24" endpoint "192.0.2.$((100 + j)):51820")
		del+=(peer "$k" remove)
	done
	n1 timeout 20 wg set "$IFA" "${add[@]}" && n1 timeout 20 wg set "$IFA" "${del[@]}"
}

ROUNDS_OK=0
ROUNDS_FAILED=0
BYTES=0
# round N SECONDS: one iperf3 run; kind by N: TCP, TCP reverse, 4 TCP streams, UDP.
round()
{
	local n=$1 secs=$2 kind args=() f bytes
	case $((n % 4)) in
	0) kind=tcp ;;
	1) kind=tcp-reverse args=(-R) ;;
	2) kind=tcp-4 args=(-P 4) ;;
	3) kind=udp args=(-u -l 1392) ;;
	esac
	if [ "$SOAK_RATE" != 0 ]; then
		args+=(-b "$SOAK_RATE")
	elif [ "$kind" = udp ]; then
		args+=(-b 1G) # a bound, not a flood
	fi
	f="$TMP/round-$n.json"
	if timeout $((secs + 30)) ip netns exec "$NS1" iperf3 -c 10.205.0.2 -p "$PORT" \
		-t "$secs" -J "${args[@]}" >"$f" 2>"$TMP/round-$n.err" &&
		bytes=$(jq -e '.end.sum_received.bytes // .end.sum.bytes' "$f" 2>/dev/null) &&
		[ "${bytes%.*}" -gt 0 ]; then
		ROUNDS_OK=$((ROUNDS_OK + 1))
		BYTES=$((BYTES + ${bytes%.*}))
	else
		ROUNDS_FAILED=$((ROUNDS_FAILED + 1))
		say "round $n ($kind): failed: $(jq -r '.error // empty' "$f" 2>/dev/null) $(head -c 300 "$TMP/round-$n.err")"
	fi
	churn || { ROUNDS_FAILED=$((ROUNDS_FAILED + 1)); say "round $n: peer churn failed"; }
}

say "soak.sh: $TAPIRD, SOAK_SECONDS=$SOAK_SECONDS (+ ${WARMUP_SECONDS} s warm-up), a sample every $SAMPLE_SECONDS s, rounds of $ROUND_SECONDS s, rate ${SOAK_RATE/#0/unlimited}"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
sample idle
for n in 0 1 2 3; do
	round "$n" $(((WARMUP_SECONDS + 3) / 4))
done
T0=$(date +%s)
sample start
end=$((T0 + SOAK_SECONDS))
next_sample=$((T0 + SAMPLE_SECONDS))
n=4
while :; do
	now=$(date +%s)
	[ "$now" -lt "$end" ] || break
	secs=$((end - now))
	[ "$secs" -le "$ROUND_SECONDS" ] || secs=$ROUND_SECONDS
	# a round does not run past the next sample by more than a few seconds
	[ "$next_sample" -le "$now" ] || [ $((next_sample - now)) -ge "$secs" ] ||
		secs=$((next_sample - now))
	round "$n" "$secs"
	n=$((n + 1))
	now=$(date +%s)
	if [ "$now" -ge "$next_sample" ] && [ "$now" -lt "$end" ]; then
		sample periodic
		next_sample=$((next_sample + SAMPLE_SECONDS))
	fi
done
sleep 1 # let the last round's sockets close
sample end
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

val() # TAG SIDE COLUMN(4 rss, 5 fds, 6 threads, 7 cpu)
{
	awk -F'\t' -v t="$1" -v s="$2" -v c="$3" '$1 == t && $3 == s { v = $c } END { print v }' \
		"$TMP/samples.tsv"
}
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
modified=$({ git status --porcelain --untracked-files=no 2>/dev/null || true; } | wc -l)
pass=true
verdicts=()
{
	echo "tapir soak: commit $commit$([ "$modified" -gt 0 ] && echo " (+$modified modified files)"), $TAPIRD, $(nproc) CPUs, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "$SOAK_SECONDS s of traffic after a $WARMUP_SECONDS s warm-up: $ROUNDS_OK rounds ok, $ROUNDS_FAILED failed, $((BYTES / 1048576)) MiB received; load average before $load_before, after $load_after"
	echo
	printf '| %-8s | %6s | %-4s | %9s | %4s | %7s | %8s |\n' sample "t (s)" side "RSS KiB" fds threads "CPU-s"
	printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---------- -------: ------ ----------: -----: --------: ---------:
	awk -F'\t' '{ printf "| %-8s | %6s | %-4s | %9s | %4s | %7s | %8s |\n", $1, $2, $3, $4, $5, $6, $7 }' \
		"$TMP/samples.tsv"
	echo
} | tee "$TMP/table.txt"
for side in a b; do
	rs=$(val start $side 4) re=$(val end $side 4) fs=$(val start $side 5) fe=$(val end $side 5)
	if [ "$re" = dead ] || [ "$rs" = dead ] || [ -z "$re" ]; then
		verdicts+=("$side: FAIL: the daemon died")
		pass=false
		continue
	fi
	limit=$((rs + rs * RSS_GROWTH_PCT / 100 + RSS_SLACK_KIB))
	v="$side: RSS $rs -> $re KiB ($((re - rs)) KiB, limit $limit KiB), fds $fs -> $fe"
	if [ "$re" -gt "$limit" ] || [ "$fe" -gt "$fs" ]; then
		verdicts+=("$v: FAIL")
		pass=false
	else
		verdicts+=("$v: ok")
	fi
done
[ "$ROUNDS_FAILED" -eq 0 ] || { verdicts+=("traffic: FAIL: $ROUNDS_FAILED rounds failed"); pass=false; }
[ "$BYTES" -gt 0 ] || { verdicts+=("traffic: FAIL: nothing received"); pass=false; }
printf '%s\n' "${verdicts[@]}" | tee -a "$TMP/table.txt"
grep -h 'error\|offload' "$TMP/$IFA.log" "$TMP/$IFB.log" | head -20 >"$TMP/daemon-log" || true

jq -Rn --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" \
	--argjson modified "$modified" --argjson nproc "$(nproc)" --arg kernel "$(uname -r)" \
	--arg tapird "$TAPIRD" --argjson soak "$SOAK_SECONDS" --argjson warmup "$WARMUP_SECONDS" \
	--argjson every "$SAMPLE_SECONDS" --argjson round "$ROUND_SECONDS" --arg rate "$SOAK_RATE" \
	--argjson ok "$ROUNDS_OK" --argjson failed "$ROUNDS_FAILED" --argjson bytes "$BYTES" \
	--argjson pct "$RSS_GROWTH_PCT" --argjson slack "$RSS_SLACK_KIB" --argjson pass "$pass" \
	--arg load_before "$load_before" --arg load_after "$load_after" \
	--arg verdicts "$(printf '%s\n' "${verdicts[@]}")" --arg log "$(cat "$TMP/daemon-log")" '
	def num: if . == "dead" then null else tonumber end;
	[inputs | split("\t") | {sample: .[0], t_s: (.[1] | tonumber), side: .[2],
		rss_kib: (.[3] | num), fds: (.[4] | num), threads: (.[5] | num),
		cpu_s: (.[6] | num)}] as $s
	| { benchmark: "soak", date: $date, commit: $commit, modified_tracked_files: $modified,
	    nproc: $nproc, kernel: $kernel, tapird: $tapird, soak_seconds: $soak,
	    warmup_seconds: $warmup, sample_seconds: $every, round_seconds: $round,
	    iperf3_rate: $rate, rounds_ok: $ok, rounds_failed: $failed, bytes_received: $bytes,
	    rss_limit: "start * (1 + \($pct)/100) + \($slack) KiB; fds must not grow",
	    loadavg_before: $load_before, loadavg_after: $load_after,
	    daemons: [("a", "b") as $d | ($s | map(select(.side == $d))) as $x
		| ($x | map(select(.sample == "start")) | .[0]) as $st
		| ($x | map(select(.sample == "end")) | .[0]) as $en
		| { side: $d, start: $st, end: $en,
		    rss_growth_kib: (if $st.rss_kib and $en.rss_kib then $en.rss_kib - $st.rss_kib else null end),
		    rss_limit_kib: (if $st.rss_kib then $st.rss_kib + ($st.rss_kib * $pct / 100 | floor) + $slack else null end),
		    fds_growth: (if $st.fds and $en.fds then $en.fds - $st.fds else null end) }],
	    verdicts: ($verdicts | split("\n") | map(select(. != ""))),
	    daemon_log: ($log | split("\n") | map(select(. != ""))),
	    pass: $pass, samples: $s }' <"$TMP/samples.tsv" >"$TMP/out.json"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/out.json" "$OUT"
say "JSON: $OUT"
[ "$pass" = true ] || { say "soak.sh: FAILED"; exit 1; }
say "soak.sh: passed"
