#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The TCP listener is opt-in (issue 13, item 1): a default tapird answers a TCP SYN on its port
# with a reset (no listener, as WireGuard answers nothing); `tapir set IF tcp-listen on` (UAPI
# tapir_tcp_listen=true) opens it, a listen-port change moves it, off closes it again. The
# connecting side of a tcp:// peer needs no listener of its own. tapir show, its tcp field,
# --json and the UAPI get say whether it listens; tapir setconf applies TCPListen (a key
# for tapird) and the UAPI refuses a bad value; tapir up of a file with TCPListen = on (in tapir-$$-3,
# alone) starts a tapird that listens. tapird only.
#
#   tapir-$$-1 (connects, no listener)                   tapir-$$-2 (TCPListen toggled)
#   +-------------------------------+                     +-------------------------------+
#   | tl$$a  10.85.0.1/24           |                     | tl$$b  10.85.0.2/24           |
#   |   endpoint tcp://192.0.2.2:51852                    |   listen-port 51852           |
#   | veth1  192.0.2.1/24           |=== UDP dropped ===  | veth2  192.0.2.2/24           |
#   +-------------------------------+                     +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "the TCP transport"
require_cmds ss nft socat

plan 25

IFA="tl$$a"
IFB="tl$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
block_underlay_udp "$NS1" "$NS2"

# connect_result NS ADDR PORT: "accepted" or "refused" (a reset) or "other" (timeout, ...)
connect_result()
{
	local out
	out=$(ip netns exec "$1" timeout 5 bash -c \
		'exec 3<>"/dev/tcp/$1/$2" && echo accepted' _ "$2" "$3" 2>&1) || true
	case $out in
	accepted) echo accepted ;;
	*"Connection refused"*) echo refused ;;
	*) echo "other: $out" ;;
	esac
}
# listeners NS: the TCP ports listening in NS, one line each
listeners() { ip netns exec "$1" ss -Hltn | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u | xargs; }
tcp_field() { show_stat "$1" "$2" tcp "$3"; }
get_key() { printf 'get=tapir\n\n' | uapi "$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51852 \
	peer "$(pub_of a)" allowed-ips 10.85.0.1/32
addr_up "$NS2" "$IFB" 10.85.0.2/24

# ---- default: no listener
check_eq "default: a TCP connect to b's port 51852 is refused (reset)" refused \
	connect_result "$NS1" 192.0.2.2 51852
check_eq "default: no TCP socket listens in b's namespace" "" listeners "$NS2"
check_eq "default: tapir show b tcp says listen off" off tcp_field "$NS2" "$IFB" listen
check_eq "default: UAPI get says tapir_tcp_listen=false" false get_key "$IFB" tapir_tcp_listen
check_fails "default: tapir show b has no tcp listening port line" \
	eval 'n2 "$TAPIR" show "$IFB" | grep -q "tcp listening port"'

# ---- on
n2 "$TAPIR" set "$IFB" tcp-listen on
check_eq "tcp-listen on: the connect is accepted" accepted connect_result "$NS1" 192.0.2.2 51852
check_eq "tcp-listen on: show tcp says listen on" on tcp_field "$NS2" "$IFB" listen
check_eq "tcp-listen on: show tcp says listen_port 51852" 51852 tcp_field "$NS2" "$IFB" listen_port
check "tcp-listen on: tapir show b prints the tcp listening port" \
	eval 'n2 "$TAPIR" show "$IFB" | grep -qx "  tcp listening port: 51852"'
check_eq "tcp-listen on: --json says listen true" '"listen": true,' \
	eval 'n2 "$TAPIR" show "$IFB" --json | grep -o "\"listen\": [a-z]*," | head -n 1'
check_eq "tcp-listen on: UAPI get says tapir_tcp_listen=true" true get_key "$IFB" tapir_tcp_listen

# ---- the connecting side needs no listener: a reaches b over TCP with its own off
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51851 \
	peer "$(pub_of b)" endpoint tcp://192.0.2.2:51852 allowed-ips 10.85.0.2/32
addr_up "$NS1" "$IFA" 10.85.0.1/24
check "ping 10.85.0.2 from a over TCP (a does not listen)" ping_until "$NS1" 20 10.85.0.2
check_eq "a's port 51851 refuses TCP" refused connect_result "$NS2" 192.0.2.1 51851

# ---- a listen-port change with it on moves the listener
n2 "$TAPIR" set "$IFB" listen-port 51853
check_eq "listen-port 51853: the new port accepts" accepted connect_result "$NS1" 192.0.2.2 51853
check_eq "listen-port 51853: the old port refuses" refused connect_result "$NS1" 192.0.2.2 51852
check_eq "listen-port 51853: show tcp says listen_port 51853" 51853 \
	tcp_field "$NS2" "$IFB" listen_port

# ---- off again, through the raw UAPI key
check_eq "UAPI tapir_tcp_listen=false: errno=0" "errno=0" \
	eval 'printf "set=1\ntapir_tcp_listen=false\n\n" | uapi "$IFB" | grep errno'
check_eq "off again: the connect is refused" refused connect_result "$NS1" 192.0.2.2 51853
check_eq "off again: show tcp says listen off, listen_port 0" "off 0" \
	eval 'echo "$(tcp_field "$NS2" "$IFB" listen) $(tcp_field "$NS2" "$IFB" listen_port)"'

# ---- bad values and the wg(8) file format
check_eq "UAPI tapir_tcp_listen=yes is refused (errno=-22)" "errno=-22" \
	eval 'printf "set=1\ntapir_tcp_listen=yes\n\n" | uapi "$IFB" | grep errno'
printf '[Interface]\nListenPort = 51852\nTCPListen = on\n' >"$T/wg.conf"
check "tapir setconf takes TCPListen (a key for tapird, kept by tapir strip)" \
	n2 "$TAPIR" setconf "$IFB" "$T/wg.conf"
check_eq "and the listener is open" on tcp_field "$NS2" "$IFB" listen
n2 "$TAPIR" set "$IFB" tcp-listen off

# ---- tapir up passes TCPListen = on to the daemon it starts
IFC="tl$$c"
register_if "$IFC"
printf '[Interface]\nPrivateKey = %s\nListenPort = 51855\nTCPListen = on\n' \
	"$(cat "$(key_of a)")" >"$T/$IFC.conf"
tup() { ip netns exec "$NS3" env TAPIRD="$IMPL" timeout 60 "$TAPIR" "$@" >"$T/tup.log" 2>&1 </dev/null; }
add_ns 3
check "tapir up of a file with TCPListen = on" tup up "$T/$IFC.conf"
check_eq "its tapird listens on TCP port 51855" 51855 \
	eval 'ip netns exec "$NS3" "$TAPIR" show "$IFC" tcp | awk "\$1 == \"listen_port\" { print \$2 }"'
check "tapir down" tup down "$IFC"
