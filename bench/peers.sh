#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Peer-scale benchmark (not a timed test): one tapird in a private namespace receives a UAPI
# `set` of N peers (default 10000) with one allowed IP each; prints the time the set took,
# the time a `get` takes, and the daemon's RSS before and after.
#
#   bash bench/peers.sh [N]          (root; uses build-rel/tapird or $TAPIRD)
#
# No traffic is sent: the namespace has only a loopback interface.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
TAPIRD=${TAPIRD:-build-rel/tapird}
NS=tapir-bench-$$
IF=tb$$
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$tmp" "/var/run/wireguard/$IF.sock"
}
trap cleanup EXIT
[ -x "$TAPIRD" ] || { echo "build first: $TAPIRD missing" >&2; exit 1; }
ip netns add "$NS"
ip netns exec "$NS" env LOG_LEVEL=error "$TAPIRD" -f "$IF" &
pid=$!
for _ in $(seq 100); do [ -S "/var/run/wireguard/$IF.sock" ] && break; sleep 0.05; done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
{
	printf 'set=1\nprivate_key=%s\nlisten_port=0\nreplace_peers=true\n' \
		"$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')"
	head -c $((32 * N)) /dev/urandom | od -An -v -tx1 -w32 | tr -d ' ' |
		awk '{ printf "public_key=%s\nallowed_ip=10.%d.%d.%d/32\n", $1, int(NR/65536)%256, int(NR/256)%256, NR%256 }'
	printf '\n'
} > "$tmp/set.txt"
rss0=$(rss)
t0=$(date +%s%N)
reply=$(socat -t 60 - "UNIX-CONNECT:/var/run/wireguard/$IF.sock" < "$tmp/set.txt")
t1=$(date +%s%N)
[ "$reply" = "errno=0" ] || { echo "set failed: $reply" >&2; exit 1; }
printf 'get=1\n\n' > "$tmp/get.txt"
t2=$(date +%s%N)
peers=$(socat -t 60 - "UNIX-CONNECT:/var/run/wireguard/$IF.sock" < "$tmp/get.txt" | grep -c '^public_key=')
t3=$(date +%s%N)
rss1=$(rss)
echo "tapird peer scale: N=$N peers, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) CPUs"
echo "  set of $N peers:    $(( (t1 - t0) / 1000000 )) ms (request $(wc -c < "$tmp/set.txt") bytes)"
echo "  get ($peers peers): $(( (t3 - t2) / 1000000 )) ms"
echo "  RSS before: $((rss0 / 1024)) MiB, after: $((rss1 / 1024)) MiB ($rss1 KiB)"
