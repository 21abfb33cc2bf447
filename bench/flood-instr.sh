#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Instructions per packet of a UDP flood through tapir (issue 17; a measurement, not a timed
# test). Packet rates on this shared 2-CPU machine swing with the load; instruction counts do
# not, so this is how two builds are compared before the idle-machine runs of tunnel.sh.
#
# For each TAPIRD given, runs `bench/tunnel.sh` with SETUPS=tapir TESTS=udp_full (the 1420-byte
# flood) with both daemons under `valgrind --tool=callgrind --toggle-collect=tapir_worker_main`
# (the data-plane workers only: no start-up, no handshakes, no control thread), counts the data
# messages each side handled from `wg show transfer` (1456 bytes each: 16-byte header, 1420
# padded to 1424, 16-byte tag), and prints user-space instructions per packet: the sending
# daemon per message sent, the receiving one per message received. Kernel work (the syscalls)
# is not counted: `perf stat -e syscalls:sys_enter_*` on the daemons shows how many there are.
#
#   sudo bash bench/flood-instr.sh OLD/tapird NEW/tapird OLD/tapird NEW/tapird
#
# Environment: DURATION=10 (seconds of flood; under valgrind a few kpps get through, enough).
# SETUP=tapir-tap measures the TAP pair instead (its 1372-byte datagrams are 1417-byte
# extension frames, padded to the same 1424: 1456 bytes a message as well).
# Under valgrind the daemons run without their seccomp filter and privilege drop
# (TAPIR_SECCOMP=0 TAPIR_PRIVDROP=0): callgrind writes its output file at exit.
# Prerequisites: those of tunnel.sh, and valgrind.
#
# Network rule: tunnel.sh creates, uses and removes the namespaces; this script only reads
# counters in them while it runs, and stops nothing but what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2034 # both read by bench/lib.sh
BENCH_NAME=flood-instr.sh
# shellcheck disable=SC2034
STOP_GRACE_S=5
PIDS=()
# shellcheck source=bench/lib.sh
. bench/lib.sh

DURATION=${DURATION:-10}
MSG_BYTES=1456
SETUP=${SETUP:-tapir}
case $SETUP in
tapir) IFP=tbt ;;
tapir-tap) IFP=tbp ;;
*) echo "SETUP=$SETUP: tapir or tapir-tap" >&2 && exit 2 ;;
esac
[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
command -v valgrind >/dev/null || die "valgrind not installed (apt-get install valgrind)"
[ $# -gt 0 ] || set -- build-rel/tapird
TMP=$(mktemp -d /tmp/tapir-flood-instr.XXXXXX)
trap 'stop_pids "${PIDS[@]}"; rm -rf "$TMP"' EXIT

# total Ir of a callgrind output file
instr() { awk '/^(summary|totals):/ { print $2; exit }' "$1"; }

# counter NS IFNAME FIELD: one field of the only peer's `wg show transfer` (2 rx, 3 tx);
# empty while the namespace or the interface is not there (yet)
counter()
{
	{ ip netns exec "$1" wg show "$2" transfer 2>/dev/null || true; } |
		awk -v f="$3" '{ print $f; exit }'
}

measure() # N TAPIRD
{
	local n=$1 bin wrap bp tx=0 rx=0 a b same=0 files f
	bin=$(realpath "$2") || die "$2: not found"
	wrap="$TMP/tapird-$n"
	mkdir -p "$TMP/$n"
	# one output file per interface (tunnel.sh passes it last): $IFP...a sends, ...b receives
	cat >"$wrap" <<EOF
#!/bin/sh
for a; do ifn=\$a; done
TAPIR_SECCOMP=0 TAPIR_PRIVDROP=0 exec valgrind -q --tool=callgrind \\
	--toggle-collect=tapir_worker_main --callgrind-out-file=$TMP/$n/cg.\$ifn "$bin" "\$@"
EOF
	chmod 755 "$wrap"
	DURATION=$DURATION TAPIRD=$wrap SETUPS=$SETUP TESTS=udp_full OUT="$TMP/$n.json" \
		bash bench/tunnel.sh >"$TMP/$n.log" 2>&1 &
	bp=$!
	PIDS+=("$bp")
	# the last counters before tunnel.sh stops the daemons: poll until the flood is over
	# (both counters unchanged for 1.5 s); tunnel.sh names its namespaces after its PID
	while kill -0 "$bp" 2>/dev/null; do
		a=$(counter "tapir-bench-$bp-1" "$IFP${bp}a" 3)
		b=$(counter "tapir-bench-$bp-2" "$IFP${bp}b" 2)
		# a TAP pair exchanges a few frames (ARP, announcements) before the flood: wait for
		# the flood's own packets first
		if [ -n "$a" ] && [ "$a" -gt $((1000 * MSG_BYTES)) ] && [ "$a" = "$tx" ] &&
			[ "$b" = "$rx" ]; then
			same=$((same + 1))
		else
			same=0
		fi
		[ -n "$a" ] && tx=$a
		[ -n "$b" ] && rx=$b
		[ "$same" -ge 3 ] && break
		sleep 0.5
	done
	wait "$bp" || die "tunnel.sh failed: $(tail -3 "$TMP/$n.log")"
	PIDS=()
	files=("$TMP/$n/cg.$IFP${bp}a" "$TMP/$n/cg.$IFP${bp}b")
	for f in "${files[@]}"; do
		[ "$(instr "$f" 2>/dev/null)" -gt 0 ] 2>/dev/null || die "$2: no callgrind output $f"
	done
	tx=$((tx / MSG_BYTES))
	rx=$((rx / MSG_BYTES))
	if [ "$tx" -eq 0 ] || [ "$rx" -eq 0 ]; then
		die "$2: no packets counted"
	fi
	printf '%s: sender %d instructions/packet (%d packets), receiver %d instructions/packet (%d packets)\n' \
		"$2" $(($(instr "${files[0]}") / tx)) "$tx" $(($(instr "${files[1]}") / rx)) "$rx"
}

n=0
for t; do
	n=$((n + 1))
	measure "$n" "$t"
done
