#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Mesh scale benchmark (issue 16, "Scale"; a measurement, not a timed test). One real host
# (tapird + `tapir mesh join`, signed network) follows a single-member etcd into which
# bench/mesh_load writes N simulated hosts (own X25519 key, certificate from the admin key,
# own lease, own /24, endpoint on TEST-NET-2 with nothing behind it). For each N (default
# 1,000 and 10,000) it measures:
#
#   incremental  the agent running, N records written (leases first, then transactions of
#                128 records, the last one alone): time from the last write until the
#                agent's trace shows the N-th peer set and until tapird's UAPI `get` lists N
#                peers; agent and tapird CPU per applied record
#   cold start   a fresh tapird, then the agent started with the N records in etcd: time
#                from its start to the trace's resync and to N peers in `get`; agent and
#                tapird RSS once converged; CPU seconds; both daemons' CPU when idle
#   churn        RATE changes a second for CHURN_SECONDS (a third each: a host added with a
#                new lease, a host removed by revoking its lease, a host's endpoint moved):
#                per-change latency from the etcd write being sent to the agent's UAPI set
#                returning (p50/p90/p99/max, all and per kind, from `tapir mesh join
#                --trace-apply` and the revision of each write); agent, tapird and etcd CPU
#                per change; RSS after
#
# About 3 minutes with the defaults on 2 CPUs; N=1000 CHURN_SECONDS=5 for a 15 s check.
#
#   tapir-mscale-$$-e                              tapir-mscale-$$-h
#   +----------------------------------+          +------------------------------------------+
#   | etcd 192.0.2.100:2379            |          | tapird tms$$ (signed network scaleN,     |
#   |   data dir: mktemp under         |== veth ==|   10.0.0.0/8, /24 per host, keepalive 0) |
#   |   $ETCD_TMPDIR (/dev/shm)        |          | tapir mesh join --trace-apply            |
#   | bench/mesh_load (the N hosts)    |          | 192.0.2.1/24                             |
#   +----------------------------------+          +------------------------------------------+
#
#   sudo bash bench/mesh-scale.sh        (builds nothing: `ninja -C build-rel` first)
#
# Environment:
#   TAPIRD=build-rel/tapird    the daemon; the CLI (tapir) and bench/mesh_load are taken from
#                              the same build directory
#   N="1000 10000"             host counts, one round each
#   CHURN_SECONDS=60 RATE=100  churn of each round (CHURN_SECONDS=0: no churn)
#   IDLE_SECONDS=5             CPU of tapird and the agent with N peers and no change
#   SIM_TTL=1800               lease TTL of the simulated hosts (they keep no lease alive)
#   ETCD_TMPDIR=/dev/shm       where etcd's data dir is made (tmpfs: the benchmark measures
#                              the agent, not the disk's fsync)
#   OUT=FILE                   JSON (default bench/results/mesh-scale-<date>.json)
#
# The network keeps keepalive 0: with a keepalive, tapird would start a handshake with each of
# the N absent hosts, which measures handshakes, not the control plane. The simulated
# endpoints (198.51.100.0/24) have no route in the host namespace, so nothing is ever sent to
# them. Traffic stays between the two namespaces made here; every wait is bounded; etcd, the
# agents and tapird are stopped by PID and the namespaces and temporary files removed on exit,
# also on failure or Ctrl-C. Commands that change the host are echoed as `[#] ...`.
set -euo pipefail
cd "$(dirname "$0")/.."

TAPIRD=${TAPIRD:-build-rel/tapird}
BUILD=$(dirname "$TAPIRD")
CLI=$BUILD/tapir
LOAD=$BUILD/bench/mesh_load
NS_LIST=${N:-1000 10000}
CHURN_SECONDS=${CHURN_SECONDS:-60}
RATE=${RATE:-100}
SIM_TTL=${SIM_TTL:-1800}
ETCD_TMPDIR=${ETCD_TMPDIR:-/dev/shm}
OUT=${OUT:-bench/results/mesh-scale-$(date +%Y%m%d-%H%M%S).json}
WAIT_S=${WAIT_S:-300} # bound of every wait for convergence
IDLE_SECONDS=${IDLE_SECONDS:-5}

NSE=tapir-mscale-$$-e
NSH=tapir-mscale-$$-h
IF=tms$$
SOCK=/var/run/wireguard/$IF.sock
ETCD=http://192.0.2.100:2379
HZ=$(getconf CLK_TCK)
TMP=""
ETCD_DIR=""
PIDS=()         # every background process started here
TAPIRD_PID=""
AGENT_PID=""
ROUNDS=()       # one JSON object per N

BENCH_NAME=mesh-scale.sh
STOP_GRACE_S=10 # an agent revokes its lease on TERM
# shellcheck source=bench/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

cleanup()
{
	set +e
	[ ${#PIDS[@]} -gt 0 ] && stop_pids "${PIDS[@]}"
	ip netns del "$NSE" 2>/dev/null
	ip netns del "$NSH" 2>/dev/null
	rm -f "$SOCK"
	[ -n "$TMP" ] && rm -rf "$TMP"
	[ -n "$ETCD_DIR" ] && rm -rf "$ETCD_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- checks and setup

[ "$(id -u)" = 0 ] || die "run as root"
[ -c /dev/net/tun ] || die "/dev/net/tun missing"
for c in ip etcd etcdctl jq timeout; do
	command -v "$c" >/dev/null || die "$c not installed (etcd: Debian's etcd-server and etcd-client)"
done
for f in "$TAPIRD" "$CLI" "$LOAD"; do
	[ -x "$f" ] || die "$f missing: meson setup build-rel -Dbuildtype=release && ninja -C build-rel"
done
[ -e "$SOCK" ] && die "$SOCK exists"

TMP=$(mktemp -d)
ETCD_DIR=$(mktemp -d "$ETCD_TMPDIR/tapir-mesh-scale.XXXXXX")
t_begin=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

run ip netns add "$NSE"
run ip netns add "$NSH"
run ip link add mse$$ netns "$NSE" type veth peer name msh$$ netns "$NSH"
run ip -n "$NSE" addr add 192.0.2.100/24 dev mse$$
run ip -n "$NSH" addr add 192.0.2.1/24 dev msh$$
for ns in "$NSE" "$NSH"; do
	run ip -n "$ns" link set lo up
done
run ip -n "$NSE" link set mse$$ up
run ip -n "$NSH" link set msh$$ up

say "[#] etcd --data-dir $ETCD_DIR --listen-client-urls $ETCD (in $NSE)"
(exec ip netns exec "$NSE" etcd --name scale --data-dir "$ETCD_DIR" \
	--listen-client-urls "$ETCD" --advertise-client-urls "$ETCD" \
	--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
	--initial-cluster scale=http://127.0.0.1:2380 >"$TMP/etcd.log" 2>&1 </dev/null) &
PIDS+=($!)
ETCD_PID=$!
ctl() { ip netns exec "$NSE" timeout 10 etcdctl --endpoints "$ETCD" "$@"; }
for ((i = 0; i < 100; i++)); do
	ctl endpoint health >/dev/null 2>&1 && break
	kill -0 "$ETCD_PID" 2>/dev/null || die "etcd exited: $(tail -5 "$TMP/etcd.log")"
	sleep 0.2
done
ctl endpoint health >/dev/null 2>&1 || die "etcd does not answer: $(tail -5 "$TMP/etcd.log")"

ADMIN=$("$CLI" mesh keygen --out "$TMP/admin.key")
(umask 077 && "$CLI" genkey >"$TMP/host.key")
HOST_PUB=$("$CLI" pubkey <"$TMP/host.key")

# ---------------------------------------------------------------- helpers

cpu_s() { awk -v hz="$HZ" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# the peak: a resync's answers and their JSON trees come and go before RSS is read
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
# field NAME LINE: the value of NAME=... in a key=value line
field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

start_tapird()
{
	local i
	say "[#] LOG_LEVEL=error $TAPIRD -f $IF (in $NSH)"
	(umask 022 && exec ip netns exec "$NSH" env LOG_LEVEL=error "$TAPIRD" -f "$IF" \
		>>"$TMP/tapird.log" 2>&1 </dev/null) &
	TAPIRD_PID=$!
	PIDS+=("$TAPIRD_PID")
	for ((i = 0; i < 100; i++)); do
		[ -S "$SOCK" ] && break
		sleep 0.05
	done
	run "$CLI" set "$IF" private-key "$TMP/host.key"
}

# start_agent NET LOG TRACE: the agent in the background, AGENT_PID
start_agent()
{
	say "[#] tapir mesh join --network $1 --interface $IF --trace-apply $3 (in $NSH)"
	(exec ip netns exec "$NSH" "$CLI" mesh join --etcd "$ETCD" --network "$1" \
		--interface "$IF" --admin-pub "$ADMIN" --cert-file "$TMP/cert-$1" \
		--state-dir "$TMP/state-$1" --trace-apply "$3" >>"$2" 2>&1 </dev/null) &
	AGENT_PID=$!
	PIDS+=("$AGENT_PID")
}

# in_bg OUT CMD...: CMD in the background (so that a signal is handled at once, not when CMD
# ends), its output in OUT; returns its status
in_bg()
{
	local out=$1 pid rc=0
	shift
	(exec "$@" >"$out" 2>&1 </dev/null) &
	pid=$!
	PIDS+=("$pid")
	wait "$pid" || rc=$?
	stop_pids "$pid"
	return "$rc"
}

stop_host()
{
	stop_pids "$AGENT_PID" "$TAPIRD_PID"
	AGENT_PID=""
	TAPIRD_PID=""
	rm -f "$SOCK"
}

# ---------------------------------------------------------------- one round per N

round()
{
	local n=$1 net=scale$1 reg w cpu0 tcpu0 t0 rss_a rss_t cpu_cold churn lat cpu_churn present
	local inc_trace inc_uapi inc_first inc_cpu inc_tcpu cold_trace cold_uapi rss_a2 rss_t2
	local tcpu_cold tcpu_churn idle_a idle_t wpid ecpu0 ecpu_churn='null'
	local trace_a="$TMP/trace-$n-inc" trace_b="$TMP/trace-$n-cold" log="$TMP/agent-$n.log"

	say "== N=$n"
	ip netns exec "$NSE" "$CLI" mesh init --etcd "$ETCD" --network "$net" --cidr 10.0.0.0/8 --subnet-len 24 \
		--keepalive 0 --admin-pub "$ADMIN" >/dev/null
	"$CLI" mesh sign --admin-key "$TMP/admin.key" --network "$net" --public-key "$HOST_PUB" \
		--subnet 10.0.1.0/24 >"$TMP/cert-$net"

	# incremental: the agent is running, the N records come in
	start_tapird
	start_agent "$net" "$log" "$trace_a"
	ip netns exec "$NSE" "$LOAD" wait "$IF" 0 30 "$trace_a" 0 0 >/dev/null ||
		die "the agent did not start: $(tail -5 "$log")"
	cpu0=$(cpu_s "$AGENT_PID")
	tcpu0=$(cpu_s "$TAPIRD_PID")
	# the waiter (for the N-th "set" in the trace, then N peers in get) is ready before the writes
	(exec ip netns exec "$NSE" "$LOAD" wait "$IF" "$n" "$WAIT_S" "$trace_a" 0 "$n" \
		>"$TMP/wait-$n" 2>&1 </dev/null) &
	wpid=$!
	PIDS+=("$wpid")
	in_bg "$TMP/reg-$n" ip netns exec "$NSE" "$LOAD" register "$ETCD" "$net" "$TMP/admin.key" \
		2 "$n" "$SIM_TTL" || die "register failed: $(cat "$TMP/reg-$n")"
	reg=$(cat "$TMP/reg-$n")
	say "  registered: $reg"
	wait "$wpid" || die "tapird never got $n peers: $(cat "$TMP/wait-$n"; tail -3 "$log")"
	stop_pids "$wpid"
	w=$(cat "$TMP/wait-$n")
	inc_cpu=$(delta "$cpu0" "$(cpu_s "$AGENT_PID")")
	inc_tcpu=$(delta "$tcpu0" "$(cpu_s "$TAPIRD_PID")")
	inc_trace=$(ms "$(field last_write_ns "$reg")" "$(field trace_ns "$w")")
	inc_uapi=$(ms "$(field last_write_ns "$reg")" "$(field uapi_ns "$w")")
	inc_first=$(ms "$(field first_write_ns "$reg")" "$(field trace_ns "$w")")
	say "  incremental: applied $inc_trace ms after the last write ($inc_uapi ms in get)," \
		"$inc_first ms after the first; CPU agent $inc_cpu s, tapird $inc_tcpu s"
	stop_host

	# cold start: a fresh tapird, the agent started with the N records in etcd
	start_tapird
	t0=$(ip netns exec "$NSE" "$LOAD" now)
	resyncs0=$(grep -c 'resynced at revision' "$log" || true)
	start_agent "$net" "$log" "$trace_b"
	in_bg "$TMP/wait-$n" ip netns exec "$NSE" "$LOAD" wait "$IF" "$n" "$WAIT_S" "$trace_b" 0 0 ||
		die "cold start: tapird never got $n peers: $(cat "$TMP/wait-$n"; tail -3 "$log")"
	w=$(cat "$TMP/wait-$n")
	cold_trace=$(ms "$t0" "$(field trace_ns "$w")")
	cold_uapi=$(ms "$t0" "$(field uapi_ns "$w")")
	rss_a=$(rss_kib "$AGENT_PID")
	hwm_a=$(hwm_kib "$AGENT_PID")
	rss_t=$(rss_kib "$TAPIRD_PID")
	cpu_cold=$(cpu_s "$AGENT_PID")
	tcpu_cold=$(cpu_s "$TAPIRD_PID")
	say "  cold start: resync done $cold_trace ms after start ($cold_uapi ms in get);" \
		"CPU agent $cpu_cold s, tapird $tcpu_cold s; RSS agent $rss_a KiB (peak $hwm_a KiB)," \
		"tapird $rss_t KiB"
	say "  $(grep 'learned the peers' "$log" | tail -1)"
	# idle: what N peers cost tapird and the agent when nothing changes. The agent learns
	# the peers before it publishes its own record and reads the store once more after
	# (doc/mesh-design.md section 4, steps 3 and 7): idle begins after that second read.
	for ((i = 0; i < WAIT_S * 10; i++)); do
		[ "$(grep -c 'resynced at revision' "$log" || true)" -gt "$resyncs0" ] && break
		sleep 0.1
	done
	[ "$(grep -c 'resynced at revision' "$log" || true)" -gt "$resyncs0" ] ||
		die "cold start: the agent never resynced after joining"
	say "  $(grep 'resynced at revision' "$log" | tail -1)"
	cpu0=$(cpu_s "$AGENT_PID")
	tcpu0=$(cpu_s "$TAPIRD_PID")
	sleep "$IDLE_SECONDS"
	idle_a=$(awk -v a="$cpu0" -v b="$(cpu_s "$AGENT_PID")" -v s="$IDLE_SECONDS" \
		'BEGIN { printf "%.2f", (b - a) * 100 / s }')
	idle_t=$(awk -v a="$tcpu0" -v b="$(cpu_s "$TAPIRD_PID")" -v s="$IDLE_SECONDS" \
		'BEGIN { printf "%.2f", (b - a) * 100 / s }')
	say "  idle for $IDLE_SECONDS s: CPU agent $idle_a %, tapird $idle_t %"

	churn='null'
	lat='null'
	cpu_churn='null'
	tcpu_churn='null'
	rss_a2='null'
	rss_t2='null'
	if [ "$CHURN_SECONDS" -gt 0 ]; then
		cpu0=$(cpu_s "$AGENT_PID")
		tcpu0=$(cpu_s "$TAPIRD_PID")
		ecpu0=$(cpu_s "$ETCD_PID")
		in_bg "$TMP/churn-$n" ip netns exec "$NSE" "$LOAD" churn "$ETCD" "$net" \
			"$TMP/admin.key" 2 "$n" "$SIM_TTL" "$RATE" "$CHURN_SECONDS" "$TMP/writes-$n" ||
			die "churn failed: $(cat "$TMP/churn-$n")"
		churn=$(cat "$TMP/churn-$n")
		say "  churn: $churn"
		present=$(field present "$churn")
		in_bg "$TMP/wait-$n" ip netns exec "$NSE" "$LOAD" wait "$IF" "$present" "$WAIT_S" ||
			die "after the churn tapird does not have the $present hosts of etcd"
		cpu_churn=$(delta "$cpu0" "$(cpu_s "$AGENT_PID")")
		tcpu_churn=$(delta "$tcpu0" "$(cpu_s "$TAPIRD_PID")")
		ecpu_churn=$(delta "$ecpu0" "$(cpu_s "$ETCD_PID")")
		lat=$("$LOAD" latency "$TMP/writes-$n" "$trace_b") || die "no latency"
		rss_a2=$(rss_kib "$AGENT_PID")
		rss_t2=$(rss_kib "$TAPIRD_PID")
		say "  churn latency: $lat"
		say "  churn CPU: agent $cpu_churn s, tapird $tcpu_churn s, etcd $ecpu_churn s"
		churn=$(jq -Rn --arg l "$churn" '$l | split(" ") | map(split("=") | {key: .[0],
			value: (.[1] | tonumber)}) | from_entries')
	fi
	stop_host
	ROUNDS+=("$(jq -n --argjson n "$n" --argjson reg "$(jq -Rn --arg l "$reg" '$l | split(" ")
		| map(split("=") | {key: .[0], value: (.[1] | tonumber)}) | from_entries')" \
		--argjson inc_trace "$inc_trace" --argjson inc_uapi "$inc_uapi" \
		--argjson inc_first "$inc_first" --argjson inc_cpu "$inc_cpu" \
		--argjson inc_tcpu "$inc_tcpu" --argjson tcpu_cold "$tcpu_cold" \
		--argjson tcpu_churn "$tcpu_churn" --argjson idle_a "$idle_a" \
		--argjson idle_t "$idle_t" --argjson ecpu_churn "$ecpu_churn" \
		--arg resyncs "$(grep -E 'resynced at|learned the peers' "$log" |
			sed 's/^tapir mesh: [^:]*: //')" \
		--argjson cold_trace "$cold_trace" --argjson cold_uapi "$cold_uapi" \
		--argjson cpu_cold "$cpu_cold" --argjson rss_a "$rss_a" --argjson rss_t "$rss_t" \
		--argjson hwm_a "$hwm_a" \
		--argjson churn "$churn" --argjson lat "$lat" --argjson cpu_churn "$cpu_churn" \
		--argjson rss_a2 "$rss_a2" --argjson rss_t2 "$rss_t2" '{
		hosts: $n,
		register: ($reg | {leases_seconds, writes_seconds}),
		incremental: {applied_after_last_write_ms: $inc_trace,
			get_shows_all_after_last_write_ms: $inc_uapi,
			applied_after_first_write_ms: $inc_first, agent_cpu_s: $inc_cpu,
			agent_cpu_ms_per_change: ($inc_cpu * 1000 / $n), tapird_cpu_s: $inc_tcpu,
			tapird_cpu_ms_per_change: ($inc_tcpu * 1000 / $n)},
		cold_start: {resync_done_after_start_ms: $cold_trace,
			get_shows_all_after_start_ms: $cold_uapi, agent_cpu_s: $cpu_cold,
			tapird_cpu_s: $tcpu_cold, idle_agent_cpu_pct: $idle_a,
			idle_tapird_cpu_pct: $idle_t,
			agent_rss_kib: $rss_a, agent_peak_rss_kib: $hwm_a, tapird_rss_kib: $rss_t},
		churn: (if $churn == null then null else {generator: $churn, latency: $lat,
			agent_cpu_s: $cpu_churn,
			agent_cpu_ms_per_change: ($cpu_churn * 1000 / $churn.changes),
			tapird_cpu_s: $tcpu_churn,
			tapird_cpu_ms_per_change: ($tcpu_churn * 1000 / $churn.changes),
			etcd_cpu_s: $ecpu_churn,
			agent_rss_kib_after: $rss_a2, tapird_rss_kib_after: $rss_t2} end),
		agent_resyncs: ($resyncs | split("\n") | map(select(. != "")))}')")
}

for n in $NS_LIST; do
	round "$n"
done

# ---------------------------------------------------------------- output

t_end=$(date +%s)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
modified=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -c . || true)
printf '%s\n' "${ROUNDS[@]}" | jq -s \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" \
	--argjson modified "${modified:-0}" --argjson nproc "$(nproc)" --arg kernel "$(uname -r)" \
	--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	--arg etcd "$(etcd --version | head -1)" --arg tapird "$TAPIRD" \
	--arg load_before "$load_before" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" \
	--argjson runtime "$((t_end - t_begin))" --argjson rate "$RATE" \
	--argjson churn_s "$CHURN_SECONDS" --argjson sim_ttl "$SIM_TTL" --argjson idle_s "$IDLE_SECONDS" \
	--arg etcd_dir "$ETCD_TMPDIR" '
	{ benchmark: "mesh-scale", date: $date, commit: $commit, modified_tracked_files: $modified,
	  nproc: $nproc, cpu: $cpu, kernel: $kernel, etcd: $etcd, etcd_data_on: $etcd_dir,
	  tapird: $tapird, loadavg_before: $load_before, loadavg_after: $load_after,
	  runtime_s: $runtime, churn_rate_per_s: $rate, churn_seconds: $churn_s,
	  simulated_lease_ttl_s: $sim_ttl, idle_seconds: $idle_s,
	  notes: "signed network 10.0.0.0/8, /24 per host, keepalive 0; simulated hosts: own X25519 key, certificate, lease; records written 128 per transaction (the last alone). incremental: agent running while the N records are written; applied_*: the agent trace (--trace-apply) line of the last revision, get_*: first UAPI get listing N peers (polled every 20 ms after the trace). cold_start: fresh tapird, agent started with the N records in etcd. churn latency: etcd write sent -> agent UAPI set returned, per change (one revision each). CPU: utime+stime of the agent (/proc/PID/stat).",
	  rounds: . }' >"$TMP/out.json"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/out.json" "$OUT"
jq -r '.rounds[] | "N=\(.hosts): incremental \(.incremental.applied_after_last_write_ms) ms after the last write (get \(.incremental.get_shows_all_after_last_write_ms) ms), \(.incremental.agent_cpu_ms_per_change | . * 1000 | round / 1000) ms CPU/change; cold start \(.cold_start.resync_done_after_start_ms) ms (get \(.cold_start.get_shows_all_after_start_ms) ms), RSS agent \(.cold_start.agent_rss_kib) KiB tapird \(.cold_start.tapird_rss_kib) KiB" + (if .churn then "; churn \(.churn.generator.changes) changes: p50 \(.churn.latency.all.p50_ms) ms p99 \(.churn.latency.all.p99_ms) ms max \(.churn.latency.all.max_ms) ms, \(.churn.agent_cpu_ms_per_change | . * 1000 | round / 1000) ms CPU/change" else "" end)' "$OUT"
echo "run time $((t_end - t_begin)) s; JSON: $OUT"
