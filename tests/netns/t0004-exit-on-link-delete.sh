#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# TUN / process conventions: the daemon exits cleanly (status 0) and removes its UAPI socket
# when its interface is deleted, on SIGTERM and on SIGINT; it exits when its socket file is
# deleted; it starts over a stale socket file, and a second daemon for a name that is in use
# refuses to start without disturbing the first.
#
#   tapir-$$-1                               tapir-$$-2
#   +-----------------------------------+    +-----------------------------------+
#   | tw$$a  IMPL  (ip link del)        |    | tw$$e  IMPL, second daemon for    |
#   | tw$$b  IMPL  (SIGTERM)            |    |        the same name: must refuse |
#   | tw$$c  IMPL  (SIGINT)             |    +-----------------------------------+
#   | tw$$d  IMPL  (rm socket)          |    (no underlay: nothing is sent)
#   | tw$$e  IMPL  (stale socket file)  |
#   +-----------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"
require_cmds socat

plan 17

IFA="tw$$a"
IFB="tw$$b"
IFC="tw$$c"
IFD="tw$$d"
IFE="tw$$e"
add_ns 1
add_ns 2

exits() { wait_for "$1's daemon to exit" 10 dead "${DAEMON_PID[$1]}"; }
status_of() { wait_exit "${DAEMON_PID[$1]}"; }
no_socket() { [ ! -e "$(sock_of "$1")" ]; }
no_link() { ! ip -n "$NS1" link show "$1"; }
answers() { printf 'get=1\n\n' | uapi "$1" | grep -qx 'errno=0'; }

# Interface deleted.
start_daemon "$NS1" "$IMPL" "$IFA"
ip1 link del "$IFA"
check "link deleted: daemon exits" exits "$IFA"
check_eq "link deleted: exit status 0" 0 status_of "$IFA"
check "link deleted: socket removed" no_socket "$IFA"

# SIGTERM.
start_daemon "$NS1" "$IMPL" "$IFB"
signal_child TERM "${DAEMON_PID[$IFB]}"
check "SIGTERM: daemon exits" exits "$IFB"
check_eq "SIGTERM: exit status 0" 0 status_of "$IFB"
check "SIGTERM: socket removed" no_socket "$IFB"
check "SIGTERM: interface gone" no_link "$IFB"

# SIGINT.
start_daemon "$NS1" "$IMPL" "$IFC"
signal_child INT "${DAEMON_PID[$IFC]}"
check "SIGINT: daemon exits" exits "$IFC"
check_eq "SIGINT: exit status 0" 0 status_of "$IFC"
check "SIGINT: socket removed" no_socket "$IFC"

# Socket file deleted.
start_daemon "$NS1" "$IMPL" "$IFD"
rm "$(sock_of "$IFD")"
check "socket deleted: daemon exits" exits "$IFD"
check_eq "socket deleted: exit status 0" 0 status_of "$IFD"
check "socket deleted: interface gone" no_link "$IFD"

# A stale socket file (nobody listening) does not stop the daemon from starting.
register_if "$IFE"
timeout 5 socat "UNIX-LISTEN:$(sock_of "$IFE"),unlink-close=0" /dev/null &
stale=$!
track_pid "$stale"
wait_for "socat to create a socket" 5 test -S "$(sock_of "$IFE")"
signal_child TERM "$stale"
wait "$stale" || true
check "stale socket file: daemon starts and answers" \
	eval 'start_daemon "$NS1" "$IMPL" "$IFE" stale-ok && answers "$IFE"'

# A second daemon for the same name (in another namespace, so only the socket clashes).
(umask 022 && exec ip netns exec "$NS2" env --default-signal LOG_LEVEL=verbose \
	"$IMPL" -f "$IFE" >"$T/$IFE-second.log" 2>&1 </dev/null) &
second=$!
track_pid "$second"
check "name in use: a second daemon exits" wait_for "the second daemon to exit" 10 dead "$second"
check "name in use: with a non-zero status" eval '[ "$(wait_exit "$second")" -ne 0 ]'
check "name in use: the first daemon still answers" \
	eval 'alive "${DAEMON_PID[$IFE]}" && answers "$IFE"'
