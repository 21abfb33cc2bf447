#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Privileges: tapird runs as the unprivileged user (tapir, else nobody) with exactly
# CAP_NET_ADMIN and CAP_NET_BIND_SERVICE, no_new_privs and a seccomp filter; the tunnel,
# a fwmark, a runtime listen_port change (also below 1024) and new peers still work; deleting
# the socket file stops it, SIGTERM removes the root-owned socket file; --no-seccomp and
# --no-drop switch the confinement off; the socket is mode 0600; `tapir up` warns about a
# world-readable config with a private key.
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
require_cmds socat

CLI=$(dirname "$IMPL")/tapir
case $(basename "$IMPL") in
tapird*) ;;
*) skip_all "privilege drop is a tapird feature ($IMPL)" ;;
esac

plan 25

IFA="tw$$a"
IFB="tw$$b"
IFC="tw$$c"
IFD="tw$$d"
IFE="tw$$e"
IFF="tp$$f"
if id -u tapir >/dev/null 2>&1; then USER_NAME=tapir; else USER_NAME=nobody; fi
USER_UID=$(id -u "$USER_NAME")
KEPT_CAPS=0000000000001400 # CAP_NET_ADMIN (12) | CAP_NET_BIND_SERVICE (10)

status_field() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
uid_of() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status"; }
exits() { wait_for "$1's daemon to exit" 10 dead "${DAEMON_PID[$1]}"; }
no_socket() { [ ! -e "$(sock_of "$1")" ]; }
answers() { printf 'get=1\n\n' | uapi "$1" | grep -qx 'errno=0'; }
listens_on() { ip netns exec "$1" ss -Hlun "sport = :$2" | grep -q .; }

setup_underlay
keygen a
keygen b
keygen c
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
PA=${DAEMON_PID[$IFA]}

check_eq "runs as $USER_NAME (real, effective, saved, fs uid)" \
	"$USER_UID $USER_UID $USER_UID $USER_UID" uid_of "$PA"
check_eq "CapEff is exactly NET_ADMIN and NET_BIND_SERVICE" "$KEPT_CAPS" \
	status_field "$PA" CapEff
check_eq "CapPrm is the same" "$KEPT_CAPS" status_field "$PA" CapPrm
check_eq "CapBnd is the same" "$KEPT_CAPS" status_field "$PA" CapBnd
check_eq "NoNewPrivs: 1" 1 status_field "$PA" NoNewPrivs
check_eq "Seccomp: 2 (filter)" 2 status_field "$PA" Seccomp
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

# a runtime listen_port change re-binds the UDP sockets as the unprivileged user
n1 wg set "$IFA" listen-port 51821
check "listen-port 51821: the new port is bound" listens_on "$NS1" 51821
check_fails "listen-port 51821: the old port is closed" listens_on "$NS1" 51811
check "listen-port 51821: ping still works" ping_ok "$NS1" 10.78.0.2
n1 wg set "$IFA" listen-port 611
check_eq "listen-port 611 (< 1024, CAP_NET_BIND_SERVICE)" 611 n1 wg show "$IFA" listen-port
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
check_eq "--no-seccomp: Seccomp: 0 (still $USER_NAME)" "0 $USER_UID" \
	eval 'echo "$(status_field "${DAEMON_PID[$IFC]}" Seccomp) $(uid_of "${DAEMON_PID[$IFC]}" | cut -d" " -f1)"'
start_daemon "$NS2" "$T/tapird-nodrop" "$IFD"
check_eq "TAPIR_PRIVDROP=0: uid 0, Seccomp: 2" "0 2" \
	eval 'echo "$(uid_of "${DAEMON_PID[$IFD]}" | cut -d" " -f1) $(status_field "${DAEMON_PID[$IFD]}" Seccomp)"'
check "TAPIR_PRIVDROP=0: answers" answers "$IFD"

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
