#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Tunnel throughput benchmark (issues 5 and 17; a measurement, not a timed test). In one run,
# between two fresh namespaces joined by a veth pair, it measures setups one after the other:
# the bare veth, tapird at both ends, and wireguard-go at both ends; then the L2 tunnels, with
# addresses on their TAP devices (no bridge): tapird --mode tap, and as anchors, where
# installed, OpenVPN `dev tap` (TLS, self-signed certificates pinned by fingerprint, AES-256-GCM)
# and tinc 1.0 `Mode = switch` (aes-256-cbc, sha256). For each: iperf3 TCP with
# 1 and 4 streams in both directions, UDP floods (-b 0) of full-size (1420-byte IP packets)
# and 64-byte-payload datagrams, ping RTT, and the CPU seconds (utime + stime from
# /proc/PID/stat) the two tunnel daemons use during each test. Prints one table with the
# ratios tapir/wireguard-go and tapir/veth, a second one for the TAP setups with the ratios
# tapir-tap/tapir and tapir-tap/openvpn-tap, and writes every number to a JSON file.
#
#   tapir-bench-$$-1                                     tapir-bench-$$-2
#   +--------------------------------------+             +--------------------------------------+
#   | tbt$$a tapird        10.203.0.1/24   |             | tbt$$b tapird        10.203.0.2/24   |
#   | tbw$$a wireguard-go  10.204.0.1/24   |             | tbw$$b wireguard-go  10.204.0.2/24   |
#   | tbp$$a tapird (tap)  10.205.0.1/24   |             | tbp$$b tapird (tap)  10.205.0.2/24   |
#   | tbo$$a openvpn (tap) 10.206.0.1/24   |             | tbo$$b openvpn (tap) 10.206.0.2/24   |
#   | tbc$$a tincd switch  10.207.0.1/24   |             | tbc$$b tincd switch  10.207.0.2/24   |
#   |        (one tunnel at a time)        |             |   iperf3 -s, one server per test     |
#   | veth1  192.0.2.1/24   iperf3 -c      |=============| veth2  192.0.2.2/24                  |
#   +--------------------------------------+             +--------------------------------------+
#
#   sudo bash bench/tunnel.sh            (builds nothing; relative paths below are taken from
#                                         the repository root, like bench/peers.sh)
#
# Environment:
#   TAPIRD=build-rel/tapird  WGGO=wireguard-go   daemons to compare
#   OPENVPN=openvpn  TINCD=tincd                 TAP anchors; a setup whose program is not
#                                                installed is skipped with a note
#   DURATION=10              seconds per iperf3 test (3 for a quick run)
#   TAPIR_OFFLOAD=LIST       passed to tapird as --offload (all, none, tun,gso,gro)
#   WORKERS=N                passed to tapird as --workers
#   OUT=FILE                 JSON output (default bench/results/tunnel-<date>.json)
#   PROFILE=FILE             also run one extra tapir single-stream TCP test under
#                            `perf record -g` and write the top symbols to FILE (not in the table)
#   PROFILE_DATA=FILE        also keep perf.data there (perf report -i FILE --sort pid,sym)
#   PROFILE_TEST=tcp1        what that extra test is: tcp1, udp_full or udp64 (the floods above)
#   UDP_LEN=1392             payload of the full-size UDP test: 1392 + 28 header bytes = a
#                            1420-byte IP packet, the tunnel MTU, so nothing is fragmented;
#                            a setup with a smaller MTU gets MTU - 28 (tapir-tap: 1372)
#   SETUPS="veth tapir wireguard-go tapir-tap openvpn-tap tinc-switch"   subset
#   TESTS="ping tcp1 tcp1r tcp4 tcp4r udp_full udp64"   subset of the tests (quick checks,
#                            e.g. TESTS=udp_full SETUPS=tapir); a test not run shows as n/a
#
# Prerequisites: iperf3 jq wireguard-tools (wg) iproute2, wireguard-go; optional openvpn and
# tinc (the TAP anchors), openssl (OpenVPN's certificates), linux-perf (PROFILE=).
#
# Network rule: traffic only between the two namespaces created here; every test is bounded by
# timeout(1); everything started here is stopped by PID and both namespaces are removed on
# exit, also on failure or Ctrl-C. Host-changing commands are echoed to stderr as `[#] ...`.
set -euo pipefail
cd "$(dirname "$0")/.."

TAPIRD=${TAPIRD:-build-rel/tapird}
WGGO=${WGGO:-wireguard-go}
DURATION=${DURATION:-10}
UDP_LEN=${UDP_LEN:-1392}
PING_COUNT=${PING_COUNT:-20}
SETUPS=${SETUPS:-veth tapir wireguard-go tapir-tap openvpn-tap tinc-switch}
TESTS=${TESTS:-ping tcp1 tcp1r tcp4 tcp4r udp_full udp64}
OPENVPN=${OPENVPN:-openvpn}
TINCD=${TINCD:-tincd}
SKIPPED=()    # "setup: why" for setups not measured
OUT=${OUT:-bench/results/tunnel-$(date +%Y%m%d-%H%M%S).json}
PROFILE=${PROFILE:-}
PROFILE_TEST=${PROFILE_TEST:-tcp1}
PROFILE_PIDS=""
OFFLOAD=${TAPIR_OFFLOAD:-}
unset TAPIR_OFFLOAD TAPIR_WORKERS # tapird gets them as flags only, so the JSON says what it ran

NS1=tapir-bench-$$-1
NS2=tapir-bench-$$-2
RUN_DIR=/var/run/wireguard
HZ=$(getconf CLK_TCK)
PORT=5200
TMP=""
RUN_DIR_CREATED=0
PIDS=()       # every background process started here
IFNAMES=()    # tunnel interfaces, for their UAPI sockets
DAEMONS=()    # PIDs of the current setup's two daemons
TUN_IFS=()    # the current setup's tunnel interfaces
declare -A R=() # R[setup.metric]=value

BENCH_NAME=tunnel.sh
STOP_GRACE_S=5
# shellcheck source=bench/lib.sh
source "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"

cleanup()
{
	local ifn
	set +e
	[ ${#PIDS[@]} -gt 0 ] && stop_pids "${PIDS[@]}"
	ip netns del "$NS1" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	for ifn in "${IFNAMES[@]}"; do rm -f "$RUN_DIR/$ifn.sock"; done
	[ "$RUN_DIR_CREATED" = 1 ] && rmdir "$RUN_DIR" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- checks

[ "$(id -u)" = 0 ] || die "run as root"
[ -c /dev/net/tun ] || die "/dev/net/tun missing"
for c in ip iperf3 jq ping wg ss timeout awk; do
	command -v "$c" >/dev/null || die "$c not installed"
done
[ -x "$TAPIRD" ] || die "TAPIRD=$TAPIRD is not executable (build: meson setup build-rel -Dbuildtype=release && ninja -C build-rel)"
[[ " $SETUPS " != *" wireguard-go "* ]] || command -v "$WGGO" >/dev/null || die "WGGO=$WGGO not found"
[ -z "$PROFILE" ] || command -v perf >/dev/null || die "PROFILE needs perf (apt-get install linux-perf)"
case $PROFILE_TEST in
tcp1) profile_args=() ;;
udp_full) profile_args=(-u -b 0 -l "$UDP_LEN") ;;
udp64) profile_args=(-u -b 0 -l 64) ;;
*) die "PROFILE_TEST: want tcp1, udp_full or udp64" ;;
esac
TMP=$(mktemp -d /tmp/tapir-bench.XXXXXX)
[ -d "$RUN_DIR" ] || RUN_DIR_CREATED=1

# ---------------------------------------------------------------- measurements

n1() { ip netns exec "$NS1" "$@"; }
n2() { ip netns exec "$NS2" "$@"; }

# div A B: A / B to 6 significant digits; prints nothing if either is empty or B is 0.
div()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.6g", a / b }'
}

cpu_ticks() # PID...: utime + stime of whole processes, in clock ticks
{
	local pid sum=0
	for pid; do
		sum=$((sum + $(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$pid/stat")))
	done
	echo "$sum"
}

host_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# drops: "RCVBUF IF", packets lost inside the two namespaces: UDP receive-buffer overflows
# (/proc/net/snmp RcvbufErrors: the daemons' sockets, or the iperf3 server's in UDP tests; with
# UDP GRO one error can be a whole coalesced batch) and the veth's and tunnel interfaces' rx/tx
# drops (a TUN tx drop is a packet the daemon did not read in time).
drops()
{
	local ns ifn rcvbuf=0 ifdrops=0 v
	for ns in "$NS1" "$NS2"; do
		# shellcheck disable=SC2016 # an awk program
		v=$(ip netns exec "$ns" awk '/^Udp:/ { if (!n++) { for (i = 2; i <= NF; i++)
			if ($i == "RcvbufErrors") f = i } else print $f + 0 }' /proc/net/snmp)
		rcvbuf=$((rcvbuf + ${v:-0}))
		for ifn in veth1 veth2 "${TUN_IFS[@]}"; do
			v=$(ip netns exec "$ns" cat "/sys/class/net/$ifn/statistics/tx_dropped" \
				"/sys/class/net/$ifn/statistics/rx_dropped" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
			ifdrops=$((ifdrops + v))
		done
	done
	echo "$rcvbuf $ifdrops"
}

listening() { n2 ss -Hltn "sport = :$1" | grep -q .; }

# iperf SETUP TEST DST PORT CLIENT-ARGS...: one iperf3 test against a one-shot server in NS2;
# the JSON goes to $TMP/SETUP-TEST.json; CPU seconds (tunnel daemons, whole host) and drops
# over the client's lifetime go to R[SETUP.TEST_*]. TEST=profile runs perf on the daemons.
iperf()
{
	local setup=$1 test=$2 dst=$3 port=$4 i c0 c1 h0 h1 d0 d1 spid perf_pid=""
	shift 4
	ip netns exec "$NS2" timeout $((DURATION + 30)) iperf3 -s -1 -p "$port" \
		>"$TMP/server-$port.log" 2>&1 &
	spid=$!
	PIDS+=("$spid")
	for ((i = 0; i < 50; i++)); do listening "$port" && break; sleep 0.1; done
	if [ "$test" = profile ]; then
		PROFILE_PIDS=$(IFS=,; echo "${DAEMONS[*]}")
		perf record -q -g -o "$TMP/perf.data" -p "$PROFILE_PIDS" \
			-- sleep "$DURATION" >"$TMP/perf.log" 2>&1 &
		perf_pid=$!
		PIDS+=("$perf_pid")
	fi
	c0=$( [ ${#DAEMONS[@]} -gt 0 ] && cpu_ticks "${DAEMONS[@]}" || echo "")
	h0=$(host_ticks)
	d0=$(drops)
	timeout $((DURATION + 30)) ip netns exec "$NS1" iperf3 -c "$dst" -p "$port" \
		-t "$DURATION" -J "$@" >"$TMP/$setup-$test.json" 2>"$TMP/$setup-$test.err" || true
	h1=$(host_ticks)
	d1=$(drops)
	c1=$( [ ${#DAEMONS[@]} -gt 0 ] && cpu_ticks "${DAEMONS[@]}" || echo "")
	[ -n "$perf_pid" ] && { wait "$perf_pid" || true; }
	stop_pids "$spid"
	if ! jq -e '.end.sum_sent' "$TMP/$setup-$test.json" >/dev/null 2>&1; then
		say "$setup $test: iperf3 failed: $(jq -r '.error // empty' "$TMP/$setup-$test.json" 2>/dev/null) $(head -c 300 "$TMP/$setup-$test.err")"
		return 1
	fi
	R[$setup.${test}_host_cpu_s]=$(div "$((h1 - h0))" "$HZ")
	R[$setup.${test}_rcvbuf_errors]=$((${d1% *} - ${d0% *}))
	R[$setup.${test}_if_drops]=$((${d1#* } - ${d0#* }))
	[ -n "$c0" ] && R[$setup.${test}_tunnel_cpu_s]=$(div "$((c1 - c0))" "$HZ")
	return 0
}

# tcp SETUP TEST DST PORT ARGS...: throughput, retransmits, CPU and Gbit per CPU-second.
tcp()
{
	local setup=$1 test=$2 f="$TMP/$1-$2.json" gbit
	iperf "$@" || return 0
	R[$setup.${test}_gbps]=$(jq '.end.sum_received.bits_per_second / 1e9' "$f")
	R[$setup.${test}_retransmits]=$(jq '.end.sum_sent.retransmits // 0' "$f")
	R[$setup.${test}_iperf_cpu_s]=$(jq --argjson d "$DURATION" \
		'(.end.cpu_utilization_percent.host_total + .end.cpu_utilization_percent.remote_total) * $d / 100' "$f")
	gbit=$(jq '.end.sum_received.bytes * 8 / 1e9' "$f")
	R[$setup.${test}_gbit]=$gbit
	if [ -n "${R[$setup.${test}_tunnel_cpu_s]:-}" ]; then
		R[$setup.${test}_gbit_per_cpu_s]=$(div "$gbit" "${R[$setup.${test}_tunnel_cpu_s]}")
	fi
	say "  $setup $test: ${R[$setup.${test}_gbps]} Gbit/s, tunnel CPU ${R[$setup.${test}_tunnel_cpu_s]:-n/a} s"
}

# udp SETUP TEST DST PORT LEN: a -b 0 flood from NS1; what arrives in NS2 (Mbit/s, pps, loss).
udp()
{
	local setup=$1 test=$2 dst=$3 port=$4 len=$5 f="$TMP/$1-$2.json"
	iperf "$setup" "$test" "$dst" "$port" -u -b 0 -l "$len" || return 0
	R[$setup.${test}_sent_kpps]=$(jq --argjson d "$DURATION" '.end.sum.packets / $d / 1e3' "$f")
	R[$setup.${test}_kpps]=$(jq --argjson d "$DURATION" \
		'(.end.sum.packets - .end.sum.lost_packets) / $d / 1e3' "$f")
	R[$setup.${test}_mbps]=$(jq --argjson d "$DURATION" --argjson l "$len" \
		'(.end.sum.packets - .end.sum.lost_packets) * $l * 8 / $d / 1e6' "$f")
	R[$setup.${test}_loss_pct]=$(jq '.end.sum.lost_percent' "$f")
	say "  $setup $test: ${R[$setup.${test}_mbps]} Mbit/s received, ${R[$setup.${test}_kpps]} kpps, loss ${R[$setup.${test}_loss_pct]} %"
}

ping_rtt() # SETUP DST
{
	local out
	out=$(n1 timeout 30 ping -n -q -c "$PING_COUNT" -i 0.05 "$2" 2>&1) || { say "$1: ping failed"; return 0; }
	read -r R["$1.ping_min_ms"] R["$1.ping_avg_ms"] R["$1.ping_max_ms"] R["$1.ping_mdev_ms"] < <(
		sed -n 's|.* = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\) ms|\1 \2 \3 \4|p' <<<"$out") || true
	say "  $1 ping: avg ${R[$1.ping_avg_ms]:-?} ms"
}

wants() { [[ " $TESTS " == *" $1 "* ]]; } # TEST: is it in TESTS?

# full_payload SETUP: sets R[SETUP.udp_full_payload_bytes] to UDP_LEN, or less where the
# setup's MTU is smaller (tapir-tap's 1400): with more than MTU - 28 bytes every datagram
# would go as two IP fragments, twice the packets and none of them coalescible.
full_payload()
{
	local len=$UDP_LEN mtu=${R[$1.mtu]:-}
	if [ -n "$mtu" ] && [ $((mtu - 28)) -lt "$len" ]; then
		len=$((mtu - 28))
	fi
	R[$1.udp_full_payload_bytes]=$len
}

measure() # SETUP DST: every test of one setup (of TESTS), each on a fresh iperf3 port
{
	local s=$1 dst=$2
	wants ping && ping_rtt "$s" "$dst"
	wants tcp1 && tcp "$s" tcp1 "$dst" $((PORT += 1))
	wants tcp1r && tcp "$s" tcp1r "$dst" $((PORT += 1)) -R
	wants tcp4 && tcp "$s" tcp4 "$dst" $((PORT += 1)) -P 4
	wants tcp4r && tcp "$s" tcp4r "$dst" $((PORT += 1)) -P 4 -R
	wants udp_full && full_payload "$s" &&
		udp "$s" udp_full "$dst" $((PORT += 1)) "${R[$s.udp_full_payload_bytes]}"
	wants udp64 && udp "$s" udp64 "$dst" $((PORT += 1)) 64
	return 0
}

# ---------------------------------------------------------------- setups

underlay()
{
	run ip netns add "$NS1"
	run ip netns add "$NS2"
	run ip link add veth1 netns "$NS1" type veth peer name veth2 netns "$NS2"
	run ip -n "$NS1" addr add 192.0.2.1/24 dev veth1
	run ip -n "$NS2" addr add 192.0.2.2/24 dev veth2
	run ip -n "$NS1" link set lo up
	run ip -n "$NS2" link set lo up
	run ip -n "$NS1" link set veth1 up
	run ip -n "$NS2" link set veth2 up
	RMEM_DEFAULT=$(n1 cat /proc/sys/net/core/rmem_default)
}

# start_daemon NS IFNAME CMD...: the daemon runs in the foreground under our shell, so $! is its
# PID (ip netns exec and env both exec).
start_daemon()
{
	local ns=$1 ifn=$2 pid i
	shift 2
	IFNAMES+=("$ifn")
	[ -e "$RUN_DIR/$ifn.sock" ] && die "$RUN_DIR/$ifn.sock already exists"
	say "[#] ip netns exec $ns $* $ifn"
	(umask 022 && exec ip netns exec "$ns" env LOG_LEVEL=info "$@" "$ifn" \
		>"$TMP/$ifn.log" 2>&1 </dev/null) &
	pid=$!
	PIDS+=("$pid")
	DAEMONS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		[ -S "$RUN_DIR/$ifn.sock" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	die "$* $ifn did not come up: $(tail -5 "$TMP/$ifn.log")"
}

# start_plain NS IFNAME CMD...: a daemon without a UAPI socket (OpenVPN, tinc), in the
# foreground under our shell; waits until it has created IFNAME.
start_plain()
{
	local ns=$1 ifn=$2 pid i
	shift 2
	say "[#] ip netns exec $ns $*"
	(exec ip netns exec "$ns" "$@" >"$TMP/$ifn.log" 2>&1 </dev/null) &
	pid=$!
	PIDS+=("$pid")
	DAEMONS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		ip -n "$ns" link show "$ifn" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	die "$* did not create $ifn: $(tail -5 "$TMP/$ifn.log")"
}

# openvpn_tap IFA IFB: OpenVPN 2.x point-to-point over UDP with dev tap: TLS with a
# self-signed certificate per side, each pinning the other's by its SHA-256 fingerprint (no
# CA), AES-256-GCM, TAP MTU 1400 like tapird's (so no datagram is fragmented).
openvpn_tap()
{
	local ifa=$1 ifb=$2 s fa fb
	for s in a b; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
			-subj "/CN=bench-$s" -keyout "$TMP/ovpn-$s.key" -out "$TMP/ovpn-$s.crt" \
			>"$TMP/ovpn-openssl.log" 2>&1 || die "openssl: $(tail -3 "$TMP/ovpn-openssl.log")"
	done
	fa=$(openssl x509 -in "$TMP/ovpn-a.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	fb=$(openssl x509 -in "$TMP/ovpn-b.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	DAEMONS=()
	TUN_IFS=("$ifa" "$ifb")
	local common=(--dev-type tap --proto udp --tun-mtu 1400 --dh none --data-ciphers AES-256-GCM
		--cipher AES-256-GCM --ping 10 --verb 3 --mute-replay-warnings --suppress-timestamps)
	start_plain "$NS1" "$ifa" "$OPENVPN" --dev "$ifa" "${common[@]}" --tls-server \
		--lport 51911 --remote 192.0.2.2 --rport 51912 --cert "$TMP/ovpn-a.crt" \
		--key "$TMP/ovpn-a.key" --peer-fingerprint "$fb"
	start_plain "$NS2" "$ifb" "$OPENVPN" --dev "$ifb" "${common[@]}" --tls-client \
		--lport 51912 --remote 192.0.2.1 --rport 51911 --cert "$TMP/ovpn-b.crt" \
		--key "$TMP/ovpn-b.key" --peer-fingerprint "$fa"
	tunnel_up openvpn-tap 10.206.0 "$ifa" "$ifb"
}

# tinc_switch IFA IFB: tinc 1.0 in switch mode, one node per namespace (RSA keys generated
# here), aes-256-cbc with sha256 MACs over UDP.
tinc_switch()
{
	local ifa=$1 ifb=$2 n ifn port addr other
	for n in a b; do
		mkdir -p "$TMP/tinc-$n/hosts"
		[ $n = a ] && { ifn=$ifa port=51921 addr=192.0.2.1 other=b; }
		[ $n = b ] && { ifn=$ifb port=51922 addr=192.0.2.2 other=a; }
		printf 'Name = %s\nMode = switch\nDeviceType = tap\nInterface = %s\nPort = %s\nConnectTo = %s\nAddressFamily = ipv4\nCipher = aes-256-cbc\nDigest = sha256\n' \
			"$n" "$ifn" "$port" "$other" >"$TMP/tinc-$n/tinc.conf"
		printf 'Address = %s\nPort = %s\nCipher = aes-256-cbc\nDigest = sha256\n' "$addr" "$port" \
			>"$TMP/tinc-$n/hosts/$n"
		"$TINCD" -c "$TMP/tinc-$n" -K 2048 </dev/null >"$TMP/tinc-$n-keygen.log" 2>&1 ||
			die "tincd -K: $(tail -3 "$TMP/tinc-$n-keygen.log")"
	done
	cp "$TMP/tinc-a/hosts/a" "$TMP/tinc-b/hosts/a"
	cp "$TMP/tinc-b/hosts/b" "$TMP/tinc-a/hosts/b"
	DAEMONS=()
	TUN_IFS=("$ifa" "$ifb")
	start_plain "$NS1" "$ifa" "$TINCD" -c "$TMP/tinc-a" -D --pidfile="$TMP/tinc-a.pid"
	start_plain "$NS2" "$ifb" "$TINCD" -c "$TMP/tinc-b" -D --pidfile="$TMP/tinc-b.pid"
	tunnel_up tinc-switch 10.207.0 "$ifa" "$ifb"
}

# tunnel NAME NET IFA IFB CMD...: both daemons, keys, addresses; waits for the handshake.
# In tap mode (NAME ends in -tap) the peers get no allowed IPs: frames go by learned MACs.
tunnel()
{
	local name=$1 net=$2 ifa=$3 ifb=$4 ka kb i ips_a=() ips_b=()
	shift 4
	DAEMONS=()
	TUN_IFS=("$ifa" "$ifb")
	start_daemon "$NS1" "$ifa" "$@"
	start_daemon "$NS2" "$ifb" "$@"
	ka=$(wg genkey)
	kb=$(wg genkey)
	if [[ $name != *-tap ]]; then
		ips_a=(allowed-ips "$net.2/32")
		ips_b=(allowed-ips "$net.1/32")
	fi
	say "[#] wg set $ifa / $ifb (fresh keys, ports 51901/51902)"
	n1 wg set "$ifa" private-key <(echo "$ka") listen-port 51901 \
		peer "$(wg pubkey <<<"$kb")" endpoint 192.0.2.2:51902 "${ips_a[@]}"
	n2 wg set "$ifb" private-key <(echo "$kb") listen-port 51902 \
		peer "$(wg pubkey <<<"$ka")" endpoint 192.0.2.1:51901 "${ips_b[@]}"
	tunnel_up "$name" "$net" "$ifa" "$ifb"
}

# tunnel_up NAME NET IFA IFB: addresses, links up; waits until a ping crosses.
tunnel_up()
{
	local name=$1 net=$2 ifa=$3 ifb=$4 i
	run ip -n "$NS1" addr add "$net.1/24" dev "$ifa"
	run ip -n "$NS2" addr add "$net.2/24" dev "$ifb"
	run ip -n "$NS1" link set "$ifa" up
	run ip -n "$NS2" link set "$ifb" up
	for ((i = 0; i < 20; i++)); do
		n1 ping -n -q -c 1 -W 1 "$net.2" >/dev/null 2>&1 && break
	done
	[ "$i" -lt 20 ] || die "$name: no traffic through the tunnel"
	R[$name.mtu]=$(n1 cat "/sys/class/net/$ifa/mtu")
}

untunnel() # IFA IFB: stop the current setup's daemons (they delete their interfaces)
{
	stop_pids "${DAEMONS[@]}"
	DAEMONS=()
	TUN_IFS=()
	rm -f "$RUN_DIR/$1.sock" "$RUN_DIR/$2.sock"
	ip -n "$NS1" link del "$1" 2>/dev/null || true
	ip -n "$NS2" link del "$2" 2>/dev/null || true
}

skip() # SETUP WHY
{
	say "  $1: skipped: $2"
	SKIPPED+=("$1: $2")
}

tapird_cmd=("$TAPIRD" -f)
[ -n "$OFFLOAD" ] && tapird_cmd+=(--offload "$OFFLOAD")
[ -n "${WORKERS:-}" ] && tapird_cmd+=(--workers "$WORKERS")

t_start=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "tunnel.sh: DURATION=$DURATION s per test, load average before: $load_before"
underlay
for setup in $SETUPS; do
	say "== $setup"
	case $setup in
	veth)
		R[veth.mtu]=$(n1 cat /sys/class/net/veth1/mtu)
		measure veth 192.0.2.2
		;;
	tapir)
		tunnel tapir 10.203.0 "tbt$$a" "tbt$$b" "${tapird_cmd[@]}"
		measure tapir 10.203.0.2
		if [ -n "$PROFILE" ]; then
			say "  tapir: extra $PROFILE_TEST test under perf record"
			iperf tapir profile 10.203.0.2 $((PORT += 1)) "${profile_args[@]}" || true
		fi
		grep -h 'tapird started\|offload' "$TMP/tbt$$a.log" "$TMP/tbt$$b.log" >"$TMP/tapir-log" || true
		untunnel "tbt$$a" "tbt$$b"
		;;
	tapir-tap)
		tunnel tapir-tap 10.205.0 "tbp$$a" "tbp$$b" "${tapird_cmd[@]}" --mode tap
		measure tapir-tap 10.205.0.2
		grep -h 'tapird started' "$TMP/tbp$$a.log" >>"$TMP/tapir-log" || true
		untunnel "tbp$$a" "tbp$$b"
		;;
	openvpn-tap)
		if ! command -v "$OPENVPN" >/dev/null; then
			skip openvpn-tap "OPENVPN=$OPENVPN not installed (apt-get install openvpn)"
			continue
		fi
		command -v openssl >/dev/null || { skip openvpn-tap "openssl not installed"; continue; }
		openvpn_tap "tbo$$a" "tbo$$b"
		measure openvpn-tap 10.206.0.2
		untunnel "tbo$$a" "tbo$$b"
		;;
	tinc-switch)
		if ! command -v "$TINCD" >/dev/null; then
			skip tinc-switch "TINCD=$TINCD not installed (apt-get install tinc)"
			continue
		fi
		tinc_switch "tbc$$a" "tbc$$b"
		measure tinc-switch 10.207.0.2
		untunnel "tbc$$a" "tbc$$b"
		;;
	wireguard-go)
		tunnel wireguard-go 10.204.0 "tbw$$a" "tbw$$b" "$WGGO" -f
		measure wireguard-go 10.204.0.2
		untunnel "tbw$$a" "tbw$$b"
		;;
	*) die "unknown setup $setup" ;;
	esac
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
t_end=$(date +%s)

# ---------------------------------------------------------------- report

get() { printf '%s' "${R[$1.$2]:-}"; }

# row LABEL METRIC FORMAT: one table line over the setups in COLS and the ratios in RATIOS
# ("A/B" setup pairs); n/a where a number is missing.
row()
{
	local label=$1 m=$2 fmt=$3 s v cells=() r
	for s in "${COLS[@]}"; do
		v=$(get "$s" "$m")
		# shellcheck disable=SC2059 # the format is the caller's constant
		if [ -n "$v" ]; then cells+=("$(printf "$fmt" "$v")"); else cells+=("n/a"); fi
	done
	for r in "${RATIOS[@]}"; do
		v=$(div "$(get "${r%/*}" "$m")" "$(get "${r#*/}" "$m")")
		if [ -n "$v" ]; then cells+=("$(printf '%.2fx' "$v")"); else cells+=("-"); fi
	done
	printf "| %-34s |$(printf ' %%12s |%.0s' "${cells[@]}")\n" "$label" "${cells[@]}"
}

# table: the header and every metric's row for COLS and RATIOS.
table()
{
	local c
	printf "| %-34s |$(printf ' %%12s |%.0s' "${COLS[@]}" "${RATIOS[@]}")\n" metric "${COLS[@]}" "${RATIOS[@]}"
	printf '|%s|' "$(printf -- '-%.0s' {1..36})"
	for c in "${COLS[@]}" "${RATIOS[@]}"; do printf -- '-------------:|'; done
	echo
	row "TCP 1 stream, Gbit/s" tcp1_gbps %.2f
	row "TCP 1 stream reverse, Gbit/s" tcp1r_gbps %.2f
	row "TCP 4 streams, Gbit/s" tcp4_gbps %.2f
	row "TCP 4 streams reverse, Gbit/s" tcp4r_gbps %.2f
	row "UDP full-size payload, bytes" udp_full_payload_bytes %.0f
	row "UDP full-size, Mbit/s recv" udp_full_mbps %.0f
	row "UDP full-size, kpps recv" udp_full_kpps %.1f
	row "UDP full-size, loss %" udp_full_loss_pct %.1f
	row "UDP 64 B payload, Mbit/s recv" udp64_mbps %.1f
	row "UDP 64 B payload, kpps recv" udp64_kpps %.1f
	row "UDP 64 B payload, loss %" udp64_loss_pct %.1f
	row "ping RTT avg, ms (lower is better)" ping_avg_ms %.3f
	row "tunnel CPU-s, TCP 1 stream" tcp1_tunnel_cpu_s %.2f
	row "tunnel CPU-s, TCP 1 stream rev" tcp1r_tunnel_cpu_s %.2f
	row "tunnel CPU-s, TCP 4 streams" tcp4_tunnel_cpu_s %.2f
	row "tunnel CPU-s, TCP 4 streams rev" tcp4r_tunnel_cpu_s %.2f
	row "Gbit per tunnel CPU-s, TCP 1" tcp1_gbit_per_cpu_s %.2f
	row "Gbit per tunnel CPU-s, TCP 1 rev" tcp1r_gbit_per_cpu_s %.2f
	row "Gbit per tunnel CPU-s, TCP 4" tcp4_gbit_per_cpu_s %.2f
	row "Gbit per tunnel CPU-s, TCP 4 rev" tcp4r_gbit_per_cpu_s %.2f
	row "iperf3 CPU-s, TCP 1 stream" tcp1_iperf_cpu_s %.2f
	row "TCP retransmits, 1 stream" tcp1_retransmits %.0f
	row "UDP rcvbuf errors, TCP 1 stream" tcp1_rcvbuf_errors %.0f
	row "veth+tun drops, TCP 1 stream" tcp1_if_drops %.0f
}

# has_setup S...: whether any of the setups S ran (has a result).
has_setup()
{
	local s k
	for s; do
		for k in "${!R[@]}"; do [[ $k == "$s".* ]] && return 0; done
	done
	return 1
}

# The commit of the tree TAPIRD was built in (a build directory inside a checkout or worktree).
commit=$(git -C "$(dirname "$TAPIRD")" rev-parse --short HEAD 2>/dev/null || echo unknown)
modified=$({ git -C "$(dirname "$TAPIRD")" status --porcelain --untracked-files=no 2>/dev/null ||
	true; } | wc -l)
# A binary older than its tree's last commit was probably built before it: say so.
stale=false
commit_time=$(git -C "$(dirname "$TAPIRD")" log -1 --format=%ct 2>/dev/null || echo 0)
if [ "$(stat -c %Y "$TAPIRD")" -lt "$commit_time" ]; then
	stale=true
	say "tunnel.sh: warning: $TAPIRD is older than commit $commit: rebuild it for numbers of that commit"
fi
tapir_log=$(cat "$TMP/tapir-log" 2>/dev/null || true)
{
	echo "tapir tunnel benchmark: commit $commit$([ "$modified" -gt 0 ] && echo " (+$modified modified files)")$([ "$stale" = true ] && echo " (binary older than the commit)"), $(nproc) CPUs, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "iperf3 $DURATION s per test; tapird offload=${OFFLOAD:-all (default)}, workers=${WORKERS:-default ($(nproc))}"
	echo "load average before $load_before, after $load_after"
	echo
	COLS=(veth tapir wireguard-go)
	RATIOS=(tapir/wireguard-go tapir/veth)
	has_setup "${COLS[@]}" && table
	COLS=(tapir-tap openvpn-tap tinc-switch)
	RATIOS=(tapir-tap/tapir tapir-tap/openvpn-tap tapir-tap/tinc-switch)
	if has_setup "${COLS[@]}"; then
		echo
		echo "TAP (L2) tunnels, addresses on the TAP devices; tapir-tap/tapir: TAP against tapir's TUN in this run"
		table
	fi
	for s in "${SKIPPED[@]}"; do echo "skipped: $s"; done
	echo
	echo "tunnel CPU-s: utime+stime of both daemons over the test (softirq work done on their behalf"
	echo "in other contexts is not included); veth has no tunnel process. UDP: -b 0 flood from ns1,"
	echo "counted at the iperf3 server. rcvbuf errors: /proc/net/snmp RcvbufErrors; veth+tun drops:
interface rx/tx drops; both summed over the two namespaces. ${tapir_log:+tapird: $(head -1 <<<"$tapir_log" | sed 's/^.*tapird started/started/')}"
	echo "run time $((t_end - t_start)) s; JSON: $OUT"
} | tee "$TMP/table.txt"

if [ -n "$PROFILE" ] && [ -s "$TMP/perf.data" ]; then
	{
		echo "perf record -g -p <both tapird> during one extra $DURATION s $PROFILE_TEST test"
		echo "($(jq '(.end.sum_received // .end.sum).bits_per_second / 1e9' "$TMP/tapir-profile.json" 2>/dev/null) Gbit/s under perf); samples by object:"
		perf report -i "$TMP/perf.data" --no-children --sort dso --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | head -8
		echo "samples by daemon (pid $PROFILE_PIDS: the first is in ns1, the sending side):"
		perf report -i "$TMP/perf.data" --no-children --sort pid --stdio 2>/dev/null |
			grep -E '^ +[0-9]' | head -4
		echo "top symbols (flat, no children):"
		perf report -i "$TMP/perf.data" --no-children --sort dso,sym --stdio \
			--percent-limit 0.5 2>/dev/null | grep -E '^ +[0-9]' | head -30
	} >"$PROFILE" || say "perf report failed"
	say "profile: $PROFILE"
	[ -z "${PROFILE_DATA:-}" ] || cp "$TMP/perf.data" "$PROFILE_DATA"
fi

for s in veth tapir wireguard-go tapir-tap openvpn-tap tinc-switch; do
	for k in "${!R[@]}"; do
		if [[ $k == "$s".* ]]; then printf '%s\t%s\t%s\n' "$s" "${k#"$s".}" "${R[$k]}"; fi
	done
done | jq -Rn \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg commit "$commit" \
	--argjson modified "$modified" --argjson stale "$stale" --argjson nproc "$(nproc)" --arg kernel "$(uname -r)" \
	--arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	--arg offload "${OFFLOAD:-all}" --arg workers "${WORKERS:-$(nproc)}" \
	--argjson duration "$DURATION" --argjson udp_len "$UDP_LEN" --arg tapird "$TAPIRD" \
	--arg wggo "$("$WGGO" --version 2>/dev/null | head -1)" --arg iperf "$(iperf3 --version | head -1)" \
	--arg load_before "$load_before" --arg load_after "$load_after" \
	--argjson runtime "$((t_end - t_start))" --arg tapir_log "$tapir_log" \
	--arg skipped "$(printf '%s\n' "${SKIPPED[@]}")" \
	--arg openvpn "$("$OPENVPN" --version 2>/dev/null | head -1)" \
	--arg tincd "$("$TINCD" --version 2>/dev/null | head -1)" \
	--argjson rmem "$RMEM_DEFAULT" '
	(reduce (inputs | split("\t")) as [$s, $k, $v] ({};
		.[$s][$k] = ($v | if . == "" then null else tonumber end))) as $r
	| def ratios($a; $b): ($r[$a] // {}) as $x | ($r[$b] // {}) as $y
		| [$x | keys[] | select(($x[.] | type) == "number" and ($y[.] | type) == "number"
			and $y[.] != 0) | {key: ., value: ($x[.] / $y[.])}] | from_entries;
	{ benchmark: "tunnel", date: $date, commit: $commit, modified_tracked_files: $modified,
	  binary_older_than_commit: $stale,
	  nproc: $nproc, cpu: $cpu, kernel: $kernel, offload: $offload, workers: $workers,
	  duration_s: $duration, udp_full_payload_bytes: $udp_len, udp_small_payload_bytes: 64,
	  tapird: $tapird, tapird_log: ($tapir_log | split("\n") | map(select(. != ""))),
	  wireguard_go: $wggo, iperf3: $iperf, openvpn: $openvpn, tincd: $tincd,
	  skipped: ($skipped | split("\n") | map(select(. != ""))), loadavg_before: $load_before,
	  loadavg_after: $load_after, runtime_s: $runtime, ns_rmem_default_bytes: $rmem,
	  notes: "tunnel_cpu_s: utime+stime of both daemons (/proc/PID/stat) during the test; host_cpu_s: busy time of all CPUs from /proc/stat (includes other load); iperf_cpu_s: iperf3 client+server; udp rates are what the server received; tcp1r and tcp4r use iperf3 -R; profile_* is the extra test under perf (PROFILE=)",
	  results: $r,
	  ratios: { "tapir/wireguard-go": ratios("tapir"; "wireguard-go"),
		    "tapir/veth": ratios("tapir"; "veth"),
		    "tapir-tap/tapir": ratios("tapir-tap"; "tapir"),
		    "tapir-tap/openvpn-tap": ratios("tapir-tap"; "openvpn-tap"),
		    "tapir-tap/tinc-switch": ratios("tapir-tap"; "tinc-switch") } }' >"$TMP/out.json"
mkdir -p "$(dirname "$OUT")"
cp "$TMP/out.json" "$OUT"
