#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh demo (issue 16): one command builds the mesh on this machine and removes it again.
# Run 1 to the end: exit 0, every host had the two others as peers, the 3x3 ping matrix
# answered, `tapir mesh status` listed the 3 signed hosts. Run 2 gets SIGINT right after its
# etcd start line, run 3 SIGTERM once its third agent started (etcd, 3 tapird and 3 agents
# running): each stops with 128 + the signal. After each run nothing is left: no process of
# its process group (each run is its own session: setsid), no /var/run/wireguard socket of
# its interfaces, none of its network namespaces (lsns, by the inode each run prints, holding
# a link named with its PID), no temporary directory. Without etcd in PATH the demo says which
# package to install.
#
#   the demo's own anonymous namespaces, built by `tapir mesh demo` itself (names carry its PID):
#   host1..3: tapird tmeshPID-N + agent, 192.0.2.N/24 --veth-- hub: bridge tmdPIDbr, etcd
#                                                                   192.0.2.100:2379
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd lsns nsenter setsid pgrep
[ "$(basename "$IMPL")" = tapird ] || skip_all "the demo runs tapird only (TAPIRD=$IMPL)"

plan 14

# pid_of OUT: the demo's PID, from its bridge's name (tmdPIDbr)
pid_of() { grep -oE 'tmd[0-9]+br' "$1" | head -1 | tr -dc 0-9; }

# left_behind OUT: prints what the run of OUT left (processes, sockets, namespaces, directory)
left_behind()
{
	local out=$1 pid ns dir
	pid=$(pid_of "$out")
	[ -n "$pid" ] || { echo "no PID in $out"; return 0; }
	pgrep -g "$pid" -a || true
	ls "$WG_RUN_DIR/tmesh$pid-"* 2>/dev/null || true
	# an inode number is reused as soon as its namespace is gone (other tests make namespaces
	# all the time): one of ours still exists only if it holds a link named with our PID
	for ns in $(grep -oE 'net:\[[0-9]+\]' "$out" | tr -dc '0-9\n'); do
		for p in $(lsns -t net -n -o NS,PID | awk -v ns="$ns" '$1 == ns { print $2 }'); do
			nsenter --net="/proc/$p/ns/net" ip -o link show 2>/dev/null |
				grep -qE "tm(d|esh)$pid" && echo "namespace net:[$ns] is still there ($p)"
		done
	done
	dir=$(sed -n 's/^\[#\] mkdir \([^ ]*\).*/\1/p' "$out")
	[ -n "$dir" ] && [ -e "$dir" ] && echo "$dir is still there"
	return 0
}
nothing_left() { [ -z "$(left_behind "$1")" ] || { left_behind "$1"; return 1; }; }

# ---------------------------------------------------------------- run 1: to the end

pretty "" "setsid tapir mesh demo"
rc=0
timeout 120 setsid "$CLI" mesh demo >"$T/demo1.out" 2>&1 || rc=$?
echo "# exit status $rc, $(grep -c . "$T/demo1.out") lines of output"
check "the demo exits 0" sh -c "[ $rc -eq 0 ] || { cat '$T/demo1.out'; exit 1; }"
check "every host had the 2 others as peers" grep -q 'every host has 2 peers' "$T/demo1.out"
check "the 3x3 matrix: 6 of 6 pairs answered" \
	sh -c "grep -q '6 of 6 pairs answered' '$T/demo1.out' &&
		grep -qE 'host1 +- +ok +ok\$' '$T/demo1.out' &&
		grep -qE 'host2 +ok +- +ok\$' '$T/demo1.out' &&
		grep -qE 'host3 +ok +ok +-\$' '$T/demo1.out'"
check "status: 3 signed hosts, this host and 2 peers" \
	sh -c "grep -q '^3 hosts, 0 records ignored' '$T/demo1.out' &&
		[ \$(grep -c '10\.42\.[123]\.0/24 .* this host\$' '$T/demo1.out') -eq 1 ] &&
		[ \$(grep -c '10\.42\.[123]\.0/24 .* peer here\$' '$T/demo1.out') -eq 2 ]"
check "it built 4 namespaces and removed everything" \
	sh -c "[ \$(grep -c 'net:\[' '$T/demo1.out') -eq 4 ] &&
		grep -q '^The mesh worked' '$T/demo1.out'"
check "nothing left: processes, sockets, namespaces, directory" nothing_left "$T/demo1.out"

# ---------------------------------------------------------------- runs 2 and 3: interrupted

# interrupted N SIGNAL LINE: run N in the background, SIGNAL once LINE appears; its exit status
interrupted()
{
	local n=$1 sig=$2 line=$3 pid rc
	(exec setsid "$CLI" mesh demo >"$T/demo$n.out" 2>&1 </dev/null) &
	pid=$!
	track_pid "$pid"
	wait_for "run $n to print \"$line\"" 30 grep -q -- "$line" "$T/demo$n.out" ||
		cat "$T/demo$n.out" >&2
	pretty "" "kill -$sig $pid"
	signal_child "$sig" "$pid" || true
	wait_for "run $n to stop" 30 dead "$pid" || true
	rc=$(wait_exit "$pid")
	echo "$rc" >"$T/rc$n"
}

interrupted 2 INT '^\[#\] etcd --name demo'
check "run 2, SIGINT after the etcd start line: exit status 130" \
	sh -c "[ \$(cat '$T/rc2') -eq 130 ] && grep -q 'stopped by signal 2' '$T/demo2.out'"
check "run 2 removed its namespaces and directory" \
	grep -q '^\[#\] rm -r /tmp/tapir-mesh-demo\.' "$T/demo2.out"
check "run 2 left nothing" nothing_left "$T/demo2.out"

interrupted 3 TERM 'tapir mesh join --interface tmesh[0-9]*-3'
check "run 3, SIGTERM with etcd, 3 tapird and 3 agents running: exit status 143" \
	sh -c "[ \$(cat '$T/rc3') -eq 143 ] && grep -q 'stopped by signal 15' '$T/demo3.out'"
check "run 3 had started every process" \
	sh -c "[ \$(grep -c 'tapird -f tmesh' '$T/demo3.out') -eq 3 ] &&
		[ \$(grep -c 'tapir mesh join' '$T/demo3.out') -eq 3 ]"
check "run 3 left nothing" nothing_left "$T/demo3.out"
check_fails "tapir mesh demo with an argument is a usage error" "$CLI" mesh demo --bogus
check "without etcd in PATH: exit 1, naming apt-get install etcd-server, nothing built" \
	sh -c "rc=0; env PATH=/nonexistent '$CLI' mesh demo >'$T/noetcd' 2>&1 || rc=\$?
		cat '$T/noetcd'; [ \$rc -eq 1 ] && grep -q 'apt-get install etcd-server' '$T/noetcd' &&
		! grep -q mkdir '$T/noetcd'"
