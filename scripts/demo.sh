#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The demo, until `tapir demo` exists. As root on Debian 12, from any directory:
# installs what is missing, builds build-rel/tapird, then on this machine only:
#
#   tapir-demo-$$-1                                       tapir-demo-$$-2
#   +-------------------------------+                     +-------------------------------+
#   | td$$a  10.88.0.1/24  tapird   |  WireGuard over UDP | td$$b  10.88.0.2/24  tapird   |
#   | veth1  192.0.2.1/24           |=====================| veth2  192.0.2.2/24           |
#   +-------------------------------+      veth pair      +-------------------------------+
#
# pings across the tunnel, shows `wg show` on both sides, measures 5 s of iperf3 TCP through
# the tunnel, and removes everything again (also on failure and Ctrl-C).
# TAPIRD=/path/to/daemon uses another daemon (e.g. TAPIRD=wireguard-go) and skips the build.
set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: run as root (it creates network namespaces)" >&2
	exit 1
fi

bash scripts/deps.sh

if [ -z "${TAPIRD:-}" ]; then
	if [ -f build-rel/meson-private/coredata.dat ]; then
		meson setup --reconfigure build-rel -Dbuildtype=release
	else
		meson setup build-rel -Dbuildtype=release
	fi
	ninja -C build-rel
	TAPIRD=build-rel/tapird
fi
daemon=$(command -v "$TAPIRD" || true)
if [ -z "$daemon" ] || [ ! -x "$daemon" ]; then
	echo "demo: TAPIRD=$TAPIRD is not an executable" >&2
	exit 1
fi
daemon=$(readlink -f "$daemon")

ns1="tapir-demo-$$-1"
ns2="tapir-demo-$$-2"
if1="td$$a"
if2="td$$b"
tmp=$(mktemp -d /tmp/tapir-demo.XXXXXX)
pids=()
made_ns=()

run()
{
	echo "[#] $*"
	"$@"
}

# our_child PID: still a child of this shell (a finished one's PID may have been reused).
our_child()
{
	[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)" = "$$" ]
}

teardown()
{
	local rc=$? pid i
	trap - EXIT INT TERM
	set +e
	echo
	echo "== teardown"
	if [ "$rc" -ne 0 ]; then
		for f in "$tmp"/*.log; do
			[ -s "$f" ] && { echo "-- last lines of $f"; tail -n 20 "$f"; }
		done
	fi
	for pid in "${pids[@]}"; do
		if our_child "$pid"; then
			echo "[#] kill $pid"
			kill "$pid"
		fi
	done
	for ((i = 0; i < 50; i++)); do
		pid=""
		for p in "${pids[@]}"; do
			our_child "$p" && pid=$p
		done
		[ -z "$pid" ] && break
		sleep 0.1
	done
	for ns in "${made_ns[@]}"; do
		echo "[#] ip netns del $ns"
		ip netns del "$ns"
	done
	rm -f "/var/run/wireguard/$if1.sock" "/var/run/wireguard/$if2.sock"
	rm -rf "$tmp"
	[ "$rc" -eq 0 ] && echo "demo: done, nothing left behind" || echo "demo: FAILED" >&2
	exit "$rc"
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start_daemon NS IFNAME
start_daemon()
{
	local i
	echo "[#] ip netns exec $1 $daemon -f $2 &"
	ip netns exec "$1" env LOG_LEVEL=error "$daemon" -f "$2" >"$tmp/$2.log" 2>&1 </dev/null &
	pids+=("$!")
	for ((i = 0; i < 100; i++)); do
		[ -S "/var/run/wireguard/$2.sock" ] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "demo: $daemon did not start for $2" >&2
	return 1
}

echo "== underlay: two namespaces joined by a veth pair"
for ns in "$ns1" "$ns2"; do
	made_ns+=("$ns")
	run ip netns add "$ns"
	run ip -n "$ns" link set lo up
done
run ip link add veth1 netns "$ns1" type veth peer name veth2 netns "$ns2"
run ip -n "$ns1" addr add 192.0.2.1/24 dev veth1
run ip -n "$ns2" addr add 192.0.2.2/24 dev veth2
run ip -n "$ns1" link set veth1 up
run ip -n "$ns2" link set veth2 up

echo
echo "== tunnel: $daemon on both sides, configured with wg"
umask 077
for side in 1 2; do
	wg genkey >"$tmp/$side.key"
	wg pubkey <"$tmp/$side.key" >"$tmp/$side.pub"
done
start_daemon "$ns1" "$if1"
start_daemon "$ns2" "$if2"
run ip netns exec "$ns1" wg set "$if1" private-key "$tmp/1.key" listen-port 51820 \
	peer "$(cat "$tmp/2.pub")" endpoint 192.0.2.2:51820 allowed-ips 10.88.0.2/32
run ip netns exec "$ns2" wg set "$if2" private-key "$tmp/2.key" listen-port 51820 \
	peer "$(cat "$tmp/1.pub")" allowed-ips 10.88.0.1/32
run ip -n "$ns1" addr add 10.88.0.1/24 dev "$if1"
run ip -n "$ns2" addr add 10.88.0.2/24 dev "$if2"
run ip -n "$ns1" link set "$if1" up
run ip -n "$ns2" link set "$if2" up

echo
echo "== ping through the tunnel"
run ip netns exec "$ns1" timeout --foreground 15 ping -c 3 -W 2 10.88.0.2

echo
echo "== wg show"
ip netns exec "$ns1" wg show "$if1"
echo
ip netns exec "$ns2" wg show "$if2"

echo
echo "== throughput: iperf3, 5 s of TCP through the tunnel"
ip netns exec "$ns2" timeout 30 iperf3 -s -1 -B 10.88.0.2 >"$tmp/iperf3-server.log" 2>&1 &
pids+=("$!")
for ((i = 0; i < 50; i++)); do
	ip netns exec "$ns2" ss -Hltn 'sport = :5201' | grep -q . && break
	sleep 0.1
done
echo "[#] ip netns exec $ns1 iperf3 -c 10.88.0.2 -t 5"
ip netns exec "$ns1" timeout --foreground 30 iperf3 -c 10.88.0.2 -t 5 -f m >"$tmp/iperf3.out"
speed=$(awk '/receiver/ { print $(NF - 2), $(NF - 1) }' "$tmp/iperf3.out")
cat "$tmp/iperf3.out"
echo
echo "tunnel throughput ($(nproc) CPUs): ${speed:-unknown}"
