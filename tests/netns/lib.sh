# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# Shared helpers for the netns end-to-end tests (tests/netns/tNNNN-*.sh). Sourced, never run.
#
# The implementation under test is $TAPIRD (meson passes build/tapird); every test also works
# with TAPIRD=wireguard-go, which is how the tests themselves are checked. $WGGO is the
# reference peer for interop tests (default: Debian's wireguard-go).
#
# Network rule: traffic only between namespaces created here (tapir-$$-N, joined by a veth
# pair) or on their loopback; every loop is bounded; everything started here is stopped by
# PID and every namespace removed on exit, also on failure.
#
# Provides:
#   plan N, ok DESC, not_ok DESC, diag TEXT, skip_all REASON, bail_out REASON
#   check DESC CMD...        ok if CMD succeeds (CMD may be a function: it must return non-zero
#                            on failure by itself, since set -e is off inside a condition)
#   check_fails DESC CMD...  ok if CMD fails (expected failures, instead of `! cmd`)
#   check_eq DESC WANT CMD.. ok if the stdout of CMD is exactly WANT
#   require_cmds CMD...      skip_all unless every command exists
#   n1 n2 n3 CMD...          run CMD in namespace tapir-$$-N;  ip1 ip2 ip3 ARGS = ip -n tapir-$$-N
#   add_ns N, setup_underlay, addr_up NS IFNAME ADDR...
#   start_daemon NS IMPL IFNAME, stop_daemon IFNAME [SIGNAL], DAEMON_PID[IFNAME]
#   wait_for DESC TIMEOUT_S CMD...   poll CMD until it succeeds (bounded)
#   keygen NAME, pskgen NAME, key_of/pub_of/psk_of NAME, b64_to_hex
#   wg_dump NS IFNAME, peer_field NS IFNAME PUBKEY FIELD, handshake_done, handshake_never,
#   transfer_nonzero, allowed_ips_of, words_sorted, uapi IFNAME (raw request on stdin)
#   ping_ok NS [ARGS] ADDR, tcp_transfer, sha_of, size_of, udp_in NS
#   track_pid PID, register_if IFNAME, our_child PID, signal_child SIG PID
#   cleanup (trap on EXIT), plus a reaper process that cleans up if the script is SIGKILLed
# Every wg(8) call goes through a shim that bounds it with timeout(1).

IMPL=${TAPIRD:?set TAPIRD to the daemon under test, e.g. TAPIRD=build/tapird or TAPIRD=wireguard-go}
WGGO=${WGGO:-wireguard-go}
WG_RUN_DIR=/var/run/wireguard

NS1="tapir-$$-1"
NS2="tapir-$$-2"
NS3="tapir-$$-3"

TAP_PLANNED=-1
TAP_N=0
TAP_FAILED=0
# every "not ok" line with its diagnostics, repeated after the daemon logs on failure: CI shows
# only the tail of a failed test's output, and the logs would push the failed check out of it
TAP_RECAP=()
T=""
CREATED_NS=()
TRACKED_PIDS=()
REGISTERED_IFS=()
declare -A DAEMON_PID=()

# ---------------------------------------------------------------- TAP

diag()
{
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

# diag_keep TEXT: diag, and repeated in the recap of a failed test (timings a bound is about)
diag_keep()
{
	diag "$@"
	TAP_RECAP+=("$(diag "$@")")
}

diag_file()
{
	local line
	[ -s "$1" ] || return 0
	while IFS= read -r line; do
		printf '#   %s\n' "$line"
	done <"$1"
}

plan()
{
	TAP_PLANNED=$1
	echo "1..$1"
}

ok()
{
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $1"
}

not_ok()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $1"
	TAP_RECAP+=("# not ok $TAP_N - $1")
}

skip_all()
{
	echo "1..0 # SKIP $1"
	TAP_PLANNED=0
	exit 0
}

bail_out()
{
	echo "Bail out! $1"
	exit 1
}

check_out()
{
	echo "${T:-/tmp}/check.$TAP_N.out"
}

check()
{
	local desc=$1 out rc=0
	shift
	out=$(check_out)
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" -eq 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "command: $* (exit status $rc)"
		diag_file "$out"
		TAP_RECAP+=("$(diag "command: $* (exit status $rc)"; tail -n 15 "$out" | sed 's/^/#   /')")
	fi
	rm -f "$out"
}

check_fails()
{
	local desc=$1 out rc=0
	shift
	out=$(check_out)
	"$@" >"$out" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "command succeeded but was expected to fail: $*"
		diag_file "$out"
	fi
	rm -f "$out"
}

check_eq()
{
	local desc=$1 want=$2 got rc=0
	shift 2
	got=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "command: $* (exit status $rc)"
		diag "expected: $want"
		diag "got:      $got"
	fi
}

# ---------------------------------------------------------------- requirements

require_cmds()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip_all "$c not found"
	done
}

require_base()
{
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
	[ -c /dev/net/tun ] || skip_all "no /dev/net/tun"
	require_cmds ip wg timeout ping awk sha256sum
	if [ -d /sys/module/wireguard ]; then
		# Not fatal for the daemon, but wg(8) would talk to the kernel first for any name
		# that is also a kernel interface; our names are unique, so only note it.
		diag "note: the wireguard kernel module is loaded"
	fi
}

# resolve_impl NAME: print the absolute path of an executable (a name in PATH or a path).
# Use as: X=$(resolve_impl "$X") || bail_out "..."
resolve_impl()
{
	local p
	p=$(command -v "$1" 2>/dev/null) || return 1
	case $p in
	/*) ;;
	*) p="$PWD/$p" ;;
	esac
	[ -f "$p" ] && [ -x "$p" ] || return 1
	echo "$p"
}

# ---------------------------------------------------------------- namespaces

n1() { ip netns exec "$NS1" "$@"; }
n2() { ip netns exec "$NS2" "$@"; }

# iperf_listening PORT: an iperf3 server listens on PORT in $NS2.
iperf_listening() { n2 ss -Hltn "sport = :$1" | grep -q .; }

# udp_burst TAG ADDR PORT0: up to 3 tries (iperf3 ports PORT0+1..PORT0+3) of a 2 s UDP burst
# at 20 Mbit/s in 1200-byte datagrams from $NS1 to ADDR in $NS2, stopping at the first that
# loses none; sets lost (datagrams lost in the last try, x when unknown). $T holds udp.json.
udp_burst()
{
	local tag=$1 addr=$2 port try total
	lost=x
	for try in 1 2 3; do
		port=$(($3 + try))
		n2 timeout 20 iperf3 -s -1 -p $port >/dev/null 2>&1 &
		track_pid $!
		wait_for "iperf3 to listen" 10 iperf_listening $port || true
		n1 timeout 20 iperf3 -c "$addr" -p $port -u -b 20M -l 1200 -t 2 -J \
			>"$T/udp.json" 2>&1 || true
		lost=$(sed -n 's/.*"lost_packets":[[:space:]]*\([0-9]*\).*/\1/p' "$T/udp.json" | tail -1)
		total=$(sed -n 's/.*"packets":[[:space:]]*\([0-9]*\).*/\1/p' "$T/udp.json" | tail -1)
		diag "$tag UDP burst $try: ${lost:-?} of ${total:-?} datagrams lost"
		[ "${lost:-x}" = 0 ] && [ "${total:-0}" -gt 0 ] && break
	done
}
n3() { ip netns exec "$NS3" "$@"; }
ip1() { ip -n "$NS1" "$@"; }
ip2() { ip -n "$NS2" "$@"; }
ip3() { ip -n "$NS3" "$@"; }

# pretty NS CMD: log a host-changing command as a TAP comment, as wg-quick does.
pretty()
{
	echo "# [#] ${1:+[$1] }$2"
}

add_ns()
{
	local ns="tapir-$$-$1"
	CREATED_NS+=("$ns")
	echo "ns $ns" >>"$T/registry"
	pretty "" "ip netns add $ns"
	ip netns add "$ns"
	ip -n "$ns" link set lo up
}

# Two namespaces joined by a veth pair; veth1 is in tapir-$$-1, veth2 in tapir-$$-2.
setup_underlay()
{
	add_ns 1
	add_ns 2
	pretty "" "ip link add veth1 netns $NS1 type veth peer name veth2 netns $NS2"
	ip link add veth1 netns "$NS1" type veth peer name veth2 netns "$NS2"
	ip1 addr add 192.0.2.1/24 dev veth1
	ip2 addr add 192.0.2.2/24 dev veth2
	ip1 -6 addr add 2001:db8:1::1/64 dev veth1 nodad
	ip2 -6 addr add 2001:db8:1::2/64 dev veth2 nodad
	ip1 link set veth1 up
	ip2 link set veth2 up
}

# addr_up NS IFNAME ADDR...: add tunnel addresses (nodad for IPv6) and set the link up.
addr_up()
{
	local ns=$1 ifn=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" -6 addr add "$a" dev "$ifn" nodad ;;
		*) ip -n "$ns" addr add "$a" dev "$ifn" ;;
		esac
	done
	ip -n "$ns" link set "$ifn" up
	pretty "$ns" "ip addr add $* dev $ifn; ip link set $ifn up"
}

# ---------------------------------------------------------------- processes

track_pid()
{
	TRACKED_PIDS+=("$1")
}

register_if()
{
	REGISTERED_IFS+=("$1")
	echo "if $1" >>"$T/registry"
}

# our_child PID: PID is (still) a child of this shell. Bash reaps finished background jobs
# by itself, so a recorded PID may since have been reused by an unrelated process: signal
# a recorded PID only after this check.
our_child()
{
	local ppid
	ppid=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2)
	[ "$ppid" = "$$" ]
}

# alive PID: the child PID has not exited (or has, but bash has not reaped it yet).
alive()
{
	our_child "$1"
}

# signal_child SIGNAL PID
signal_child()
{
	our_child "$2" && kill -s "$1" "$2" 2>/dev/null
}

sock_of()
{
	echo "$WG_RUN_DIR/$1.sock"
}

# start_daemon NS IMPL IFNAME [stale-ok]: run IMPL in the foreground (in the background of
# this shell), log to $T/IFNAME.log, and wait until its interface and UAPI socket exist.
# Signal dispositions are reset to default (a background job of a script would otherwise
# ignore SIGINT). Returns non-zero, with the log as diagnostics, if the daemon does not come
# up. An existing socket file is an error unless "stale-ok" is given.
start_daemon()
{
	local ns=$1 impl=$2 ifn=$3 pid
	local sock
	sock=$(sock_of "$ifn")
	register_if "$ifn"
	if [ -e "$sock" ] && [ "${4:-}" != stale-ok ]; then
		diag "$sock already exists"
		return 1
	fi
	pretty "$ns" "LOG_LEVEL=verbose $impl -f $ifn"
	# The daemon gets the usual umask 022: it creates /var/run/wireguard for the whole machine.
	(umask 022 && exec ip netns exec "$ns" env --default-signal LOG_LEVEL=verbose \
		"$impl" -f "$ifn" >"$T/$ifn.log" 2>&1 </dev/null) &
	pid=$!
	track_pid "$pid"
	DAEMON_PID[$ifn]=$pid
	if ! wait_for "$ifn to come up" 15 daemon_up "$ns" "$ifn" "$pid" ||
		! alive "$pid"; then
		alive "$pid" || diag "$impl exited with status $(wait_exit "$pid")"
		diag_file "$T/$ifn.log"
		return 1
	fi
}

# Succeeds once the daemon is up, or once it has died (start_daemon tells them apart).
daemon_up()
{
	alive "$3" || return 0
	[ -S "$(sock_of "$2")" ] && ip -n "$1" link show "$2" >/dev/null 2>&1
}

# stop_daemon IFNAME [SIGNAL]: signal the daemon, wait (bounded) for it to exit.
stop_daemon()
{
	local ifn=$1 sig=${2:-TERM} pid
	pid=${DAEMON_PID[$ifn]}
	signal_child "$sig" "$pid" || true
	wait_for "$ifn daemon to exit" 10 dead "$pid"
}

dead()
{
	! alive "$1"
}

# wait_exit PID: reap a child of this shell (it must already have exited) and print its status.
wait_exit()
{
	local rc=0
	wait "$1" || rc=$?
	echo "$rc"
}

# wait_for DESC TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds or TIMEOUT_S pass.
wait_for()
{
	local desc=$1 limit=$2 now deadline
	shift 2
	now=${EPOCHREALTIME/./}
	deadline=$((now + limit * 1000000))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		now=${EPOCHREALTIME/./}
		if [ "$now" -ge "$deadline" ]; then
			diag "timed out after ${limit}s waiting for $desc"
			return 1
		fi
		sleep 0.1
	done
}

# ---------------------------------------------------------------- keys

keygen()
{
	wg genkey >"$T/$1.key"
	wg pubkey <"$T/$1.key" >"$T/$1.pub"
}

pskgen()
{
	wg genpsk >"$T/$1.psk"
}

key_of() { echo "$T/$1.key"; }
psk_of() { echo "$T/$1.psk"; }
pub_of() { cat "$T/$1.pub"; }

# b64_to_hex: base64 key on stdin (or $1) to the lowercase hex that UAPI uses.
b64_to_hex()
{
	if [ $# -gt 0 ]; then
		printf '%s' "$1" | base64 -d | od -An -v -tx1 | tr -d ' \n'
	else
		base64 -d | od -An -v -tx1 | tr -d ' \n'
	fi
}

# ---------------------------------------------------------------- wg show dump

wg_dump()
{
	ip netns exec "$1" wg show "$2" dump
}

# peer_field NS IFNAME PUBKEY FIELD: one column of the peer's line in `wg show dump`.
# FIELD: psk endpoint allowed-ips handshake rx tx keepalive. Fails if the peer is absent.
peer_field()
{
	local col
	case $4 in
	psk) col=2 ;;
	endpoint) col=3 ;;
	allowed-ips) col=4 ;;
	handshake) col=5 ;;
	rx) col=6 ;;
	tx) col=7 ;;
	keepalive) col=8 ;;
	*) return 2 ;;
	esac
	wg_dump "$1" "$2" | awk -F'\t' -v k="$3" -v c="$col" \
		'NR > 1 && $1 == k { print $c; found = 1 } END { exit !found }'
}

has_peer()
{
	peer_field "$1" "$2" "$3" handshake >/dev/null
}

handshake_done()
{
	local t
	t=$(peer_field "$@" handshake) || return 1
	echo "latest handshake: $t"
	[ "$t" -gt 0 ]
}

# The peer exists and has never completed a handshake.
handshake_never()
{
	local t
	t=$(peer_field "$@" handshake) || return 1
	echo "latest handshake: $t"
	[ "$t" -eq 0 ]
}

transfer_nonzero()
{
	local rx tx
	rx=$(peer_field "$@" rx) || return 1
	tx=$(peer_field "$@" tx) || return 1
	echo "rx $rx tx $tx"
	[ "$rx" -gt 0 ] && [ "$tx" -gt 0 ]
}

# ping_ok NS [PING ARGS] ADDR: three pings, bounded by timeout(1); succeeds if any is answered.
# Expected failures are written `check_fails DESC ping_ok ...`.
ping_ok()
{
	local ns=$1
	shift
	ip netns exec "$ns" timeout 10 ping -c 3 -i 0.2 -W 2 "$@"
}

# ping_until NS TIMEOUT_S [PING ARGS] ADDR: one ping at a time until one is answered, for at
# most TIMEOUT_S seconds (at most 2 * TIMEOUT_S pings). For first contact across a tunnel: a
# handshake retry or a failed ARP/ND resolution makes a single ping run give up early, which
# says nothing about the tunnel.
ping_until()
{
	local ns=$1 limit=$2 end
	shift 2
	end=$((SECONDS + limit))
	while [ "$SECONDS" -lt "$end" ]; do
		ip netns exec "$ns" timeout 3 ping -c 1 -W 1 "$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# uapi IFNAME: send the request on stdin to the daemon's UAPI socket, print the reply.
uapi()
{
	timeout 10 socat -t 2 - "UNIX-CONNECT:$(sock_of "$1")"
}

# notify_receiver NS ADDR OUT SECONDS: collect the datagrams sent to ADDR (@abstract or a path;
# NS "" = this namespace) into OUT, one per line with newlines shown as '|', for at most SECONDS
# (a stand-in for systemd's NOTIFY_SOCKET); waits until it is bound. Its PID is RECEIVER_PID.
notify_receiver()
{
	local ns=$1 addr=$2 out=$3 secs=$4
	local run=()
	[ -z "$ns" ] || run=(ip netns exec "$ns")
	: >"$out"
	"${run[@]}" python3 - "$addr" "$out" "$secs" <<'EOP' &
import socket, sys, time
addr, out, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + addr[1:] if addr.startswith("@") else addr)
open(out + ".bound", "w").close()
end = time.monotonic() + secs
while time.monotonic() < end:
    s.settimeout(max(0.1, end - time.monotonic()))
    try:
        data = s.recv(4096)
    except socket.timeout:
        break
    with open(out, "a") as f:
        f.write(data.decode(errors="replace").replace("\n", "|") + "\n")
EOP
	RECEIVER_PID=$!
	track_pid "$RECEIVER_PID"
	wait_for "the notify receiver" 10 test -e "$out.bound"
}

# random_pubkeys N: N random public keys, base64, one per line (od + awk: no process per key).
random_pubkeys()
{
	head -c $((32 * $1)) /dev/urandom | od -An -v -tx1 -w32 | awk '
BEGIN {
	b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for (i = 0; i < 256; i++)
		v[sprintf("%02x", i)] = i
}
function enc(n, last) {
	return substr(b, int(n / 262144) + 1, 1) substr(b, int(n / 4096) % 64 + 1, 1) \
		substr(b, int(n / 64) % 64 + 1, 1) (last ? "=" : substr(b, n % 64 + 1, 1))
}
NF == 32 {
	out = ""
	for (i = 1; i <= 28; i += 3)
		out = out enc(v[$i] * 65536 + v[$(i + 1)] * 256 + v[$(i + 2)], 0)
	print out enc(v[$31] * 65536 + v[$32] * 256, 1)
}'
}

# words_sorted: the words of stdin (separated by blanks, commas or newlines), sorted, on one
# line; for comparing lists whose order is not part of the contract (allowed IPs, peers).
words_sorted()
{
	tr ', \t' '\n\n\n' | sed '/^$/d' | LC_ALL=C sort | paste -sd' ' -
}

allowed_ips_of()
{
	peer_field "$@" allowed-ips | words_sorted
}

# udp_in NS: UDP datagrams delivered to sockets in NS so far (IPv4 + IPv6), to show that
# packets a daemon ignored did reach it.
udp_in()
{
	ip netns exec "$1" awk '
		$1 == "Udp:" && $2 ~ /^[0-9]+$/ { n += $2 }
		$1 == "Udp6InDatagrams" { n += $2 }
		END { print n + 0 }' /proc/net/snmp /proc/net/snmp6
}

# ---------------------------------------------------------------- TCP transfer

listening()
{
	ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q .
}

# tcp_transfer SRC_NS DST_NS DST_ADDR PORT FILE LIMIT_S: send FILE with nc from SRC_NS to a
# listener in DST_NS; the received copy is $T/recv.PORT. Both ends are bounded by timeout.
tcp_transfer()
{
	local sns=$1 dns=$2 addr=$3 port=$4 file=$5 limit=$6 rpid rc=0
	local out="$T/recv.$port"
	ip netns exec "$dns" timeout "$limit" nc -d -n -l "$addr" "$port" >"$out" &
	rpid=$!
	track_pid "$rpid"
	wait_for "nc to listen on $addr port $port" 10 listening "$dns" "$port" || return 1
	ip netns exec "$sns" timeout "$limit" nc -N -n "$addr" "$port" <"$file" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "sender exited with status $rc"
		signal_child TERM "$rpid"
	fi
	wait "$rpid" || { echo "receiver exited with status $?"; return 1; }
	[ "$rc" -eq 0 ]
}

sha_of()
{
	sha256sum <"$1" | awk '{ print $1 }'
}

size_of()
{
	stat -c %s "$1"
}

# ---------------------------------------------------------------- tapird extensions

# require_tapird_extension WHAT: skips the test unless $IMPL is tapird (WHAT, e.g. "the TCP
# transport", is tapird's own) and the tapir CLI is found; sets TAPIR to it.
require_tapird_extension()
{
	TAPIR=${TAPIR:-$(dirname "$IMPL")/tapir}
	TAPIR=$(resolve_impl "$TAPIR") || skip_all "tapir CLI not found (set TAPIR)"
	case $(basename "$IMPL") in
	tapird*) ;;
	*) skip_all "$1 is tapird's" ;;
	esac
}

# block_underlay_udp NS...: nftables drops every UDP packet on the veths of each namespace,
# both ways (the tunnel devices are not affected); the counters show what was tried.
block_underlay_udp()
{
	local ns
	for ns in "$@"; do
		ip netns exec "$ns" nft -f - <<'NFT'
table inet tapirtest {
	chain in { type filter hook input priority 0; iifname "veth*" meta l4proto udp counter drop; }
	chain out { type filter hook output priority 0; oifname "veth*" meta l4proto udp counter drop; }
}
NFT
	done
}

# show_stat NS IFNAME FIELD KEY: KEY's value in `tapir show IFNAME FIELD` (tcp, compression).
show_stat()
{
	ip netns exec "$1" "$TAPIR" show "$2" "$3" | awk -v k="$4" '$1 == k { print $2 }'
}

# peer_compression NS IFNAME: the compression state of the interface's (only) peer.
peer_compression()
{
	ip netns exec "$1" "$TAPIR" show "$2" compression |
		awk -F'\t' 'NF == 2 && length($1) == 44 { print $2 }'
}

# ---------------------------------------------------------------- TAP topologies

# tap_daemon: prints the path of a wrapper that runs $IMPL --mode tap (written once), for
# start_daemon (its exec keeps the PID)
tap_daemon()
{
	if [ ! -x "$T/tapird-tap" ]; then
		printf '#!/bin/sh\nexec "%s" --mode tap "$@"\n' "$IMPL" >"$T/tapird-tap"
		chmod +x "$T/tapird-tap"
	fi
	echo "$T/tapird-tap"
}

# setup_tap_hosts: three hosts (ns 1-3) on an underlay bridge in ns 7 (192.0.2.N/24 on hN),
# each running $IMPL --mode tap as tt$$N inside a bridge br0 together with a veth to a "VM"
# (ns N+3, interface vm, 10.80.0.N/24 and fd80::N/64, MTU 1400 like the TAP). Keys h1-h3.
# Peers are left to the test. Also defines nx N CMD... and ipx N ARGS...
nx() { local n=$1; shift; ip netns exec "tapir-$$-$n" "$@"; }
ipx() { local n=$1; shift; ip -n "tapir-$$-$n" "$@"; }
setup_tap_hosts()
{
	local n vm l
	tap_daemon >/dev/null

	for n in 1 2 3 4 5 6 7; do add_ns $n; done
	ipx 7 link add ubr type bridge
	ipx 7 link set ubr up
	for n in 1 2 3; do
		ip link add h$n netns "tapir-$$-$n" type veth peer name u$n netns "tapir-$$-7"
		ipx 7 link set u$n master ubr
		ipx 7 link set u$n up
		ipx $n addr add 192.0.2.$n/24 dev h$n
		ipx $n link set h$n up
		keygen h$n
		start_daemon "tapir-$$-$n" "$T/tapird-tap" "tt$$$n"
		ipx $n link add br0 type bridge
		ipx $n link set "tt$$$n" master br0
		vm=$((n + 3))
		ip link add hv$n netns "tapir-$$-$n" type veth peer name vm netns "tapir-$$-$vm"
		ipx $n link set hv$n master br0
		# the VMs' MTU matches the TAP's (1400 by default: a full frame fits the underlay)
		ipx $n link set hv$n mtu 1400
		ipx $vm link set vm mtu 1400
		for l in hv$n "tt$$$n" br0; do ipx $n link set $l up; done
		ipx $vm addr add 10.80.0.$n/24 dev vm
		ipx $vm -6 addr add fd80::$n/64 dev vm nodad
		ipx $vm link set vm up
		nx $vm sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
	done
}

# ---------------------------------------------------------------- cleanup

dump_logs()
{
	local f
	for f in "$T"/*.log; do
		[ -e "$f" ] || continue
		diag "---- last lines of $(basename "$f")"
		tail -n 40 "$f" >"$T/.tail" 2>/dev/null
		diag_file "$T/.tail"
	done
}

# sanitizer_reports: the first lines of every sanitizer report in the test's logs.
sanitizer_reports()
{
	grep -H -E -A 12 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer' \
		"$T"/*.log 2>/dev/null | head -n 60
}

# recap: the failed checks again, and the diagnostic lines of the test itself (host N
# joined after ... ms), after the logs
recap()
{
	local line
	echo "# ---- recap: $TAP_FAILED failed of $TAP_N checks run (plan $TAP_PLANNED)"
	for line in "${TAP_RECAP[@]}"; do
		printf '%s\n' "$line"
	done
}

cleanup()
{
	local rc=$? pid ns ifn i pids=() left=()
	trap - EXIT INT TERM
	set +e
	# A signal may arrive while check() has stdout redirected: report on the real stdout.
	exec 1>&"$TAP_STDOUT" 2>&"$TAP_STDERR"
	if [ "$TAP_PLANNED" -ne 0 ]; then
		if [ "$rc" -ne 0 ] && [ "$TAP_N" -lt "$TAP_PLANNED" ]; then
			echo "Bail out! aborted after $TAP_N of $TAP_PLANNED checks (exit status $rc)"
		fi
		if [ "$rc" -ne 0 ] || [ "$TAP_FAILED" -ne 0 ]; then
			# on stderr: meson --print-errorlogs shows it in CI's output
			[ -n "$T" ] && dump_logs >&2
			recap >&2
		fi
	fi

	# Our children still running, plus anything still running in our namespaces (daemons
	# that wg-quick started): by PID only, TERM first, KILL after 5 s.
	for pid in "${TRACKED_PIDS[@]}"; do
		our_child "$pid" && pids+=("$pid")
	done
	for ns in "${CREATED_NS[@]}"; do
		mapfile -t -O "${#pids[@]}" pids < <(ip netns pids "$ns" 2>/dev/null)
	done
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		left=()
		for pid in "${pids[@]}"; do
			kill -0 "$pid" 2>/dev/null && left+=("$pid")
		done
		[ "${#left[@]}" -eq 0 ] && break
		sleep 0.1
	done
	for pid in "${left[@]}"; do
		echo "# $pid did not exit after SIGTERM, sending SIGKILL" >&2
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${TRACKED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done

	# Every daemon has exited now: an ASan/UBSan/LSan report in any log is a failure, even
	# when every check passed (UBSan goes on after a report; LSan reports only at exit).
	if [ -n "$T" ] && sanitizer_reports >"$T/.sanitizer" 2>/dev/null && [ -s "$T/.sanitizer" ]; then
		echo "Bail out! sanitizer report in a daemon log"
		diag_file "$T/.sanitizer" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi

	for ns in "${CREATED_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	for ifn in "${REGISTERED_IFS[@]}"; do
		rm -f "$(sock_of "$ifn")" "$WG_RUN_DIR/$ifn.name"
	done
	if [ -n "$T" ]; then
		rm -f "$T/registry"
		if [ -n "${KEEP_TMP:-}" ]; then
			echo "# kept $T" >&2
		else
			rm -rf "$T"
		fi
	fi

	if [ "$TAP_PLANNED" -gt 0 ] && [ "$rc" -eq 0 ] && [ "$TAP_N" -ne "$TAP_PLANNED" ]; then
		echo "# planned $TAP_PLANNED checks but ran $TAP_N"
		rc=1
	fi
	if [ "$rc" -eq 0 ] && [ "$TAP_FAILED" -ne 0 ]; then
		echo "# failed $TAP_FAILED of $TAP_N checks"
		rc=1
	fi
	exit "$rc"
}

on_err()
{
	local text
	text=$(sed -n "${1}p" "$0" 2>/dev/null | sed 's/^[[:space:]]*//')
	echo "# $0 line $1 failed: ${text:-$2}"
	TAP_RECAP+=("# $0 line $1 failed: ${text:-$2}")
}

# install_wg_shim: put a `wg` first in PATH that bounds every wg(8) call (a daemon that
# accepts a UAPI connection and never answers would otherwise hang the test). It also
# covers the wg calls that wg-quick makes.
install_wg_shim()
{
	local real
	real=$(command -v wg)
	mkdir "$T/bin"
	printf '#!/bin/sh\nexec timeout --foreground 20 %s "$@"\n' "$real" >"$T/bin/wg"
	chmod 755 "$T/bin/wg"
	PATH="$T/bin:$PATH"
}

# start_reaper: if this script is killed before cleanup() can finish (on a timeout meson
# sends SIGTERM to the test's process group and SIGKILL 0.5 s later), a watcher in its own
# session removes what $T/registry lists: it stops what still runs in our namespaces,
# deletes them and our sockets. It exits as soon as the script has gone; if cleanup() ran,
# $T is gone too and there is nothing to do. Bounded: it gives up after two hours.
start_reaper()
{
	local start
	start=$(sed 's/.*) //' "/proc/$$/stat" | cut -d' ' -f20)
	setsid bash -c '
		main=$1 start=$2 tmp=$3 run=$4
		for ((i = 0; i < 14400; i++)); do
			[ "$(sed "s/.*) //" "/proc/$main/stat" 2>/dev/null | cut -d" " -f20)" = "$start" ] || break
			sleep 0.5
		done
		[ -f "$tmp/registry" ] || exit 0
		sleep 1
		while read -r kind name; do
			case $kind in
			ns) kill -KILL $(ip netns pids "$name" 2>/dev/null) 2>/dev/null
			    ip netns del "$name" 2>/dev/null ;;
			if) rm -f "$run/$name.sock" ;;
			esac
		done <"$tmp/registry"
		rm -rf "$tmp"
	' tapir-reaper "$$" "$start" "$T" "$WG_RUN_DIR" </dev/null >/dev/null 2>&1 &
}

# ---------------------------------------------------------------- start

exec {TAP_STDOUT}>&1 {TAP_STDERR}>&2
require_base
IMPL=$(resolve_impl "$IMPL") || bail_out "TAPIRD=$TAPIRD: no such executable"
T=$(mktemp -d /tmp/tapir-netns.XXXXXX)
umask 077
trap cleanup EXIT
install_wg_shim
start_reaper
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'on_err "$LINENO" "$BASH_COMMAND"' ERR
