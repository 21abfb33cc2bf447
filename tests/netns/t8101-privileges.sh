#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Privileges: tapird runs as the unprivileged user tapir with no capability at all,
# no_new_privs and a seccomp filter; its privileged helper keeps exactly CAP_NET_ADMIN and
# CAP_NET_BIND_SERVICE, and no descriptor but its channel and one rtnetlink socket. Under that
# confinement (confine-probe: the same code path) SIOCSIFFLAGS, rtnetlink on a socket opened
# before the drop, netlink/unix/packet sockets, writing or unlinking files all fail. The
# tunnel, a fwmark (on every socket, seen by nft on the packets) and its change, a runtime
# listen_port change (also below 1024, sockets from the helper) and new peers still work;
# deleting the socket file stops it, SIGTERM removes the root-owned socket file; --no-seccomp
# and --no-drop switch the confinement off; without a tapir user it refuses to start (no
# nobody fallback); the socket is mode 0600; `tapir up` warns about a world-readable config
# with a private key.
#
#   tapir-$$-1                                   tapir-$$-2
#   +----------------------------------+         +----------------------------------+
#   | tw$$a  10.78.0.1/24  IMPL         |         | tw$$b  10.78.0.2/24  IMPL         |
#   |   port 51811 -> 51821 -> 611     |         |   port 51812                     |
#   | tw$$c  IMPL --no-seccomp (idle)  |         | tw$$d  IMPL --no-drop (idle)     |
#   | tw$$e  IMPL (rm socket)          |         | tp$$f  tapir up, world-readable  |
#   | veth1  192.0.2.1/24              |=========| veth2  192.0.2.2/24              |
#   +----------------------------------+         +----------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat nft
PROBE=${CONFINE_PROBE:-$(dirname "$IMPL")/tests/tools/confine-probe}

CLI=$(dirname "$IMPL")/tapir
case $(basename "$IMPL") in
tapird*) ;;
*) skip_all "privilege drop is a tapird feature ($IMPL)" ;;
esac

plan 57

IFA="tw$$a"
IFB="tw$$b"
IFC="tw$$c"
IFD="tw$$d"
IFE="tw$$e"
IFF="tp$$f"
id -u tapir >/dev/null 2>&1 || skip_all "no user tapir (scripts/deps.sh creates it)"
USER_NAME=tapir
USER_UID=$(id -u "$USER_NAME")
NO_CAPS=0000000000000000
HELPER_CAPS=0000000000001400 # CAP_NET_ADMIN (12) | CAP_NET_BIND_SERVICE (10)

status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
uid_of() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status"; }
exits() { wait_for "$1's daemon to exit" 10 dead "${DAEMON_PID[$1]}"; }
no_socket() { [ ! -e "$(sock_of "$1")" ]; }
answers() { printf 'get=1\n\n' | uapi "$1" | grep -qx 'errno=0'; }
listens_on() { ip netns exec "$1" ss -Hlun "sport = :$2" | grep -q .; }
helper_of() { cat "/proc/$1/task/$1/children" | tr ' ' '\n' | grep -m1 .; }
# the number of UDP sockets on port $2 carrying fwmark $3 (ss -e: "fwmark:0x51")
marked_socks() { ip netns exec "$1" ss -Hluen "sport = :$2" 2>/dev/null | grep -c "fwmark:$3\b" || true; }
# the number of UDP sockets on port $2 whose receive buffer passed rmem_max (SO_RCVBUFFORCE)
forced_bufs() {
	ip netns exec "$1" ss -Hlunm "sport = :$2" | grep -o 'rb[0-9]*' |
		awk '{ if (substr($1, 3) + 0 >= 7340032) n++ } END { print n + 0 }'
}
nft_count() { ip netns exec "$NS1" nft list counter inet tapir$$ "$1" | awk '$1 == "packets" { print $2 }'; }
probe_says() { awk -v c="$1" '$1 == c { $1 = ""; print substr($0, 2) }' "$T/probe.out"; }
not_allowed() { local r; r=$(probe_says "$1"); [ -n "$r" ] && [ "$r" != ALLOWED ]; }
started() { grep -q "tapird started" "$T/$1.log"; }

setup_underlay
keygen a
keygen b
keygen c
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
PA=${DAEMON_PID[$IFA]}
# the socket exists before the drop: wait for the end of start-up
wait_for "$IFA to finish start-up" 10 started "$IFA"

check_eq "runs as $USER_NAME (real, effective, saved, fs uid)" \
	"$USER_UID $USER_UID $USER_UID $USER_UID" uid_of "$PA"
check_eq "CapEff is empty (no CAP_NET_ADMIN)" "$NO_CAPS" status_field "$PA" CapEff
check_eq "CapPrm is empty" "$NO_CAPS" status_field "$PA" CapPrm
check_eq "CapBnd is empty" "$NO_CAPS" status_field "$PA" CapBnd
check_eq "NoNewPrivs: 1" 1 status_field "$PA" NoNewPrivs
check_eq "Seccomp: 2 (filter)" 2 status_field "$PA" Seccomp
# A link-local endpoint that names its interface: the name is resolved inside the confined
# daemon (glibc's if_nametoindex would open an AF_UNIX socket, which the filter aborts on).
check "wg set endpoint [fe80::1%lo]:51820 is taken under the filter" \
	n1 wg set "$IFA" peer "$(pub_of c)" endpoint "[fe80::1%lo]:51820"
check "and the daemon lives, the endpoint scoped to lo's index" \
	eval 'alive "$PA" && n1 wg show "$IFA" endpoints | grep -qE "\[fe80::1%(lo|1)\]:51820"'
n1 wg set "$IFA" peer "$(pub_of c)" remove
HA=$(helper_of "$PA")
check_eq "helper: CapEff is exactly NET_ADMIN and NET_BIND_SERVICE" "$HELPER_CAPS" \
	status_field "$HA" CapEff
check_eq "helper: CapPrm and CapBnd the same" "$HELPER_CAPS $HELPER_CAPS" \
	eval 'echo "$(status_field "$HA" CapPrm) $(status_field "$HA" CapBnd)"'
check_eq "helper: NoNewPrivs 1, Seccomp 2" "1 2" \
	eval 'echo "$(status_field "$HA" NoNewPrivs) $(status_field "$HA" Seccomp)"'
# fds_of PID: its descriptors, a NETLINK_ROUTE socket shown as FD:rtnetlink
fds_of()
{
	local fd ino out=""
	for fd in $(ls "/proc/$1/fd" | sort -n); do
		ino=$(readlink "/proc/$1/fd/$fd" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
		# /proc/PID/net/netlink: the protocol in column 2, the inode in column 10
		if [ -n "$ino" ] && awk -v i="$ino" 'NR > 1 && $2 == 0 && $10 == i { f = 1 }
			END { exit !f }' "/proc/$1/net/netlink"; then
			fd="$fd:rtnetlink"
		fi
		out="$out${out:+ }$fd"
	done
	echo "$out"
}
# the rtnetlink socket: a moved interface's MTU (opened before the helper's seccomp list)
check_eq "helper: no descriptor but stdio, its channel and one rtnetlink socket" \
	"0 1 2 3 4:rtnetlink" fds_of "$HA"

# code running inside tapird: the probe confines itself through tapird's own functions
ip1 link add "pv$$" type veth peer name "pw$$"
ip1 link set "pv$$" up
mkdir "$T/probe" && touch "$T/probe/victim"
chown tapir "$T/probe" "$T/probe/victim"
chmod 755 "$T" # the probe's user must reach $T/probe
n1 "$PROBE" "pv$$" "$T/probe" >"$T/probe.out" 2>"$T/probe.err" || true
diag_file "$T/probe.out"
check_eq "probe: control case (SIOCGIFMTU, what tapird uses) works" ALLOWED \
	probe_says control-siocgifmtu
for c in siocsifflags-down rtnetlink-down-preopened socket-netlink-route \
	socket-netlink-netfilter socket-netlink-xfrm socket-unix socket-packet openat-write \
	unlinkat; do
	check "probe: $c fails" not_allowed "$c"
done
if [ "$(probe_says build)" = release ]; then
	check "probe: openat-read fails (release build)" not_allowed openat-read
else
	ok "probe: openat-read may work in a sanitizer build (read-only) # SKIP sanitizer build"
fi
check "probe: the veth is still up" eval 'ip1 -br link show "pv$$" | grep -q "UP"'
check "probe: the victim file is still there" test -e "$T/probe/victim"
check_fails "probe: no file created" test -e "$T/probe/created-by-probe"
check_eq "probe: CapEff and CapPrm empty" "status CapPrm: $NO_CAPS status CapEff: $NO_CAPS" \
	eval "grep -E 'Cap(Prm|Eff)' '$T/probe.out' | xargs"

# every marked packet of tw$$a's underlay is counted by nft in its namespace
n1 nft -f - <<EOF
table inet tapir$$ {
	counter m51 {}
	counter m52 {}
	chain out {
		type filter hook output priority 0;
		udp dport 51812 meta mark 0x51 counter name m51
		udp dport 51812 meta mark 0x52 counter name m52
	}
}
EOF
check_eq "the UAPI socket is srw------- root" "srw------- root" \
	stat -c '%A %U' "$(sock_of "$IFA")"

n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51811 fwmark 0x51 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51812 allowed-ips 10.78.0.2/32
n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51812 \
	peer "$(pub_of a)" allowed-ips 10.78.0.1/32
addr_up "$NS1" "$IFA" 10.78.0.1/24
addr_up "$NS2" "$IFB" 10.78.0.2/24

check "ping across the tunnel after the drop" ping_ok "$NS1" 10.78.0.2
check_eq "fwmark set after the drop (SO_MARK)" 0x51 n1 wg show "$IFA" fwmark
NW=$(ip netns exec "$NS1" ss -Hlun "sport = :51811" | wc -l)
check_eq "fwmark 0x51 on all $NW UDP sockets (ss -e)" "$NW" marked_socks "$NS1" 51811 0x51
check "fwmark 0x51: nft counts marked packets" eval '[ "$(nft_count m51)" -gt 0 ]'
n1 wg set "$IFA" fwmark 0x52
check_eq "fwmark changed to 0x52 on the existing sockets" "$NW" marked_socks "$NS1" 51811 0x52
check "fwmark 0x52: ping still works" ping_ok "$NS1" 10.78.0.2
check "fwmark 0x52: nft counts packets with the new mark" eval '[ "$(nft_count m52)" -gt 0 ]'

# a runtime listen_port change re-binds the UDP sockets as the unprivileged user
n1 wg set "$IFA" listen-port 51821
check "listen-port 51821: the new port is bound" listens_on "$NS1" 51821
check_fails "listen-port 51821: the old port is closed" listens_on "$NS1" 51811
check "listen-port 51821: ping still works" ping_ok "$NS1" 10.78.0.2
check_eq "listen-port 51821: the helper's new sockets carry fwmark 0x52" "$NW" \
	marked_socks "$NS1" 51821 0x52
check_eq "listen-port 51821: their buffers forced past rmem_max (7 MiB)" "$NW" \
	forced_bufs "$NS1" 51821
n1 wg set "$IFA" listen-port 611
check_eq "listen-port 611 (< 1024, bound by the helper)" 611 n1 wg show "$IFA" listen-port
check_eq "listen-port 611: $NW sockets bound" "$NW" \
	eval 'ip netns exec "$NS1" ss -Hlun "sport = :611" | wc -l' 
check "listen-port 611: ping still works" ping_ok "$NS1" 10.78.0.2
check "listen-port 611: and back (b learned the new port)" ping_ok "$NS2" 10.78.0.1

# a new peer after the drop (its static-static precomputation, index, timers)
n1 wg set "$IFA" peer "$(pub_of c)" allowed-ips 10.78.0.3/32 endpoint 192.0.2.2:9
check "a peer added after the drop is listed" has_peer "$NS1" "$IFA" "$(pub_of c)"

# SIGTERM: the socket file in the root-owned directory is removed by the helper
signal_child TERM "$PA"
check "SIGTERM: daemon exits" exits "$IFA"
check_eq "SIGTERM: exit status 0 (no seccomp or sanitizer report)" 0 wait_exit "$PA"
check "SIGTERM: socket removed" no_socket "$IFA"
check_fails "no seccomp report in the log" grep -E 'seccomp|Sanitizer|runtime error' "$T/$IFA.log"

# deleting the socket file stops the daemon
start_daemon "$NS1" "$IMPL" "$IFE"
rm "$(sock_of "$IFE")"
check "socket deleted: daemon exits" exits "$IFE"

# the switches
printf '#!/bin/sh\nexec "%s" --no-seccomp "$@"\n' "$IMPL" >"$T/tapird-noseccomp"
printf '#!/bin/sh\nTAPIR_PRIVDROP=0 exec "%s" "$@"\n' "$IMPL" >"$T/tapird-nodrop"
chmod +x "$T/tapird-noseccomp" "$T/tapird-nodrop"
start_daemon "$NS1" "$T/tapird-noseccomp" "$IFC"
wait_for "$IFC to finish start-up" 10 started "$IFC"
check_eq "--no-seccomp: Seccomp: 0 (still $USER_NAME)" "0 $USER_UID" \
	eval 'echo "$(status_field "${DAEMON_PID[$IFC]}" Seccomp) $(uid_of "${DAEMON_PID[$IFC]}" | cut -d" " -f1)"'
start_daemon "$NS2" "$T/tapird-nodrop" "$IFD"
wait_for "$IFD to finish start-up" 10 started "$IFD"
check_eq "TAPIR_PRIVDROP=0: uid 0, Seccomp: 2" "0 2" \
	eval 'echo "$(uid_of "${DAEMON_PID[$IFD]}" | cut -d" " -f1) $(status_field "${DAEMON_PID[$IFD]}" Seccomp)"'
check "TAPIR_PRIVDROP=0: answers" answers "$IFD"

# without a tapir user (a private mount namespace with a passwd file lacking it): refuse,
# naming useradd, instead of running as the shared nobody
grep -v '^tapir:' /etc/passwd >"$T/passwd.notapir"
register_if "tw$$g"
without_tapir() {
	local rc=0
	ip netns exec "$NS1" timeout 20 unshare -m sh -c \
		'mount --bind "$1" /etc/passwd && exec "$2" -f "$3"' \
		sh "$T/passwd.notapir" "$IMPL" "tw$$g" >"$T/notapir.log" 2>&1 || rc=$?
	echo "$rc"
}
check_eq "no tapir user: tapird refuses to start (exit status 1 at once)" 1 without_tapir
check "no tapir user: the message says how to create it" grep -q "useradd --system" "$T/notapir.log"
check_fails "no tapir user: no interface was created" ip1 link show "tw$$g"

# tapir up warns about a world-readable config holding a private key
if [ -x "$CLI" ]; then
	register_if "$IFF"
	printf '[Interface]\nPrivateKey = %s\n' "$(cat "$(key_of c)")" >"$T/$IFF.conf"
	chmod 644 "$T/$IFF.conf"
	TAPIRD="$IMPL" ip netns exec "$NS2" timeout 60 "$CLI" up "$T/$IFF.conf" \
		>"$T/up.log" 2>&1 </dev/null || true
	check_eq "tapir up: one warning line naming the file" \
		"Warning: \`$T/$IFF.conf' is world accessible" \
		grep -F "world accessible" "$T/up.log"
	TAPIRD="$IMPL" ip netns exec "$NS2" timeout 60 "$CLI" down "$IFF" >/dev/null 2>&1 \
		</dev/null || true
else
	not_ok "tapir up warning: no tapir CLI next to $IMPL"
fi
