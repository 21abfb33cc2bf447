#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir up as deployments use it (issue 15): it returns at once when its output is captured
# ($(...), | tail, 2>&1 | cat), the detached tapird holding none of the caller's descriptors
# and logging to TAPIR_LOG_FILE; the resolvconf record is named as wg-quick names it; an
# Endpoint host name that does not resolve yet is retried (WG_ENDPOINT_RESOLUTION_RETRIES) by
# up, set and setconf, and a final failure names FILE:LINE; tapir strip + syncconf reloads a
# file keeping unchanged peers' sessions; messages name the failing hook and its line, down
# says an interface is not tapir's, and the echoed "[#]" lines replay to the same interface;
# a file whose hooks would run as root is refused when others could have written it (issue 13).
#
#   tapir-$$-1                                  tapir-$$-2               tapir-$$-3
#   +------------------------------------+     +----------------------+  +--------------------+
#   | td$$a 10.71.0.1/24, peers b and c  |     | td$$b 10.71.0.2/24   |  | td$$r: Endpoint    |
#   |   (tapir up / strip / syncconf)    |     |                      |  | host names from    |
#   | td$$e, td$$h, td$$p, td$$q: other  |     |                      |  | /etc/netns/NS/hosts|
#   |   cases, one at a time             |     |                      |  | (added late)       |
#   | veth1 192.0.2.1/24                 |=====| veth2 192.0.2.2/24   |  | lo only            |
#   +------------------------------------+     +----------------------+  +--------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
export TAPIRD="$IMPL"
STATE_DIR=/var/run/tapir

plan 69

IFA="td$$a"
IFB="td$$b"
IFE="td$$e"
IFH="td$$h"
IFP="td$$p"
IFQ="td$$q"
IFR="td$$r"
for i in "$IFA" "$IFB" "$IFE" "$IFH" "$IFP" "$IFQ" "$IFR"; do
	register_if "$i"
done
NETNS_ETC=/etc/netns/$NS3
trap 'rc=$?; rm -f "$STATE_DIR/td$$"?.state; rm -rf "$NETNS_ETC"; (exit $rc); cleanup' EXIT

setup_underlay
add_ns 3
keygen a
keygen b
keygen c

# tq NS up|down ARG: the CLI with its output in $T/tq.log (shown).
tq()
{
	local rc=0
	ip netns exec "$1" timeout 60 "$CLI" "$2" "$3" >"$T/tq.log" 2>&1 </dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}
said() { grep -qF -- "$1" "$T/tq.log"; }
no_link() { ! ip -n "$1" link show "$2" 2>/dev/null; }
no_process_in() { [ -z "$(ip netns pids "$1")" ]; }
line_of() { grep -n -- "$2" "$1" | head -1 | cut -d: -f1; }

cat >"$T/$IFA.conf" <<EOC
# a's side
[Interface]
PrivateKey = $(cat "$(key_of a)")
Address = 10.71.0.1/24
ListenPort = 51831
PostUp = true %i

[Peer]
# b
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51832
AllowedIPs = 10.71.0.2/32

[Peer]
PublicKey = $(pub_of c)
AllowedIPs = 10.72.0.0/24
EOC
cat >"$T/$IFB.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of b)")
Address = 10.71.0.2/24
ListenPort = 51832

[Peer]
PublicKey = $(pub_of a)
Endpoint = 192.0.2.1:51831
AllowedIPs = 10.71.0.1/32
EOC

# ---------------------------------------------------------------- 15.1: no hang when captured
export TAPIR_LOG_FILE="$T/tapird.log" LOG_LEVEL=verbose
# captured FORM: tapir up in one of the ways that used to block until tapir down.
captured()
{
	local form=$1 run=(ip netns exec "$NS2" "$CLI" up "$T/$IFB.conf")
	case $form in
	subst) timeout 10 bash -c 'out=$("$@" 2>&1); rc=$?; echo "$out" | tee "$0"; exit $rc' \
		"$T/captured.out" "${run[@]}" ;;
	tail) timeout 10 bash -c 'set -o pipefail; "$@" | tail -n 50' _ "${run[@]}" ;;
	cat) timeout 10 bash -c 'set -o pipefail; "$@" 2>&1 | cat' _ "${run[@]}" ;;
	esac
}
for form in subst tail cat; do
	check "tapir up returns at once when captured ($form)" captured "$form"
	[ "$form" = cat ] || check "and down" tq "$NS2" down "$IFB"
done
daemon_pid() { ip netns pids "$1" | head -1; }
# fds_of PID: where each descriptor of PID points, one per line.
fds_of()
{
	local fd
	for fd in /proc/"$1"/fd/*; do
		echo "${fd##*/} $(readlink "$fd")"
	done
}
std_is_null() { fds_of "$(daemon_pid "$NS2")" | grep -E '^[012] ' | grep -vc ' /dev/null$' | grep -qx 0; }
no_pipe() { ! fds_of "$(daemon_pid "$NS2")" | grep -E 'pipe:|pts|tty'; }
check "the detached tapird's stdin, stdout and stderr are /dev/null" std_is_null
check "and it holds no pipe or terminal of its caller" no_pipe
check "its log is in TAPIR_LOG_FILE" grep -q "$IFB: tapird started" "$T/tapird.log"
check "down" tq "$NS2" down "$IFB"
unset TAPIR_LOG_FILE
# Without a log file the detached daemon logs to syslog: a datagram socket standing in for
# /dev/log (TAPIR_SYSLOG_SOCKET, for tests) records what it gets (datagrams run together).
socat -u "UNIX-RECV:$T/syslog.sock" "OPEN:$T/syslog.txt,creat,append" </dev/null &
track_pid $!
wait_for "the syslog stand-in" 5 test -S "$T/syslog.sock"
export TAPIR_SYSLOG_SOCKET="$T/syslog.sock"
check "tapir up returns at once when captured, logging to syslog" captured subst
check_eq "tapird said nothing on the caller's terminal" "" eval 'grep -v "^\[#\]" "$T/captured.out" || true'
syslogged() { grep -Eq "<30>[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} tapird\[[0-9]+\]: $IFB: tapird started" "$T/syslog.txt"; }
check "its log reaches syslog: facility daemon, level info, tapird[PID]" \
	wait_for "the syslog line" 5 syslogged
unset TAPIR_SYSLOG_SOCKET LOG_LEVEL

# ---------------------------------------------------------------- 15.5: strip and syncconf
check "up $IFA" tq "$NS1" up "$T/$IFA.conf"
check "ping b through the tunnel" ping_ok "$NS1" 10.71.0.2
check "handshake with b" handshake_done "$NS1" "$IFA" "$(pub_of b)"
ip netns exec "$NS1" "$CLI" strip "$T/$IFA.conf" >"$T/stripped" 2>"$T/strip.err" || true
check "strip drops Address and PostUp" eval '! grep -Eq "^(Address|PostUp)" "$T/stripped"'
check_eq "and keeps every other line as written" \
	"$(grep -Ev '^(Address|PostUp) =' "$T/$IFA.conf")" cat "$T/stripped"
strip_missing()
{
	local rc=0
	"$CLI" strip "td$$z" >"$T/sm.log" 2>&1 || rc=$?
	cat "$T/sm.log"
	[ "$rc" -eq 1 ] && grep -q "no /etc/tapir/td$$z.conf or /etc/wireguard/td$$z.conf" "$T/sm.log"
}
check "strip by interface name looks in /etc/tapir, /etc/wireguard" strip_missing
check "syncconf takes the stripped file as it is" \
	ip netns exec "$NS1" "$CLI" syncconf "$IFA" "$T/stripped"
check "after a ping b's session is still there" ping_ok "$NS1" 10.71.0.2
hs_before=$(peer_field "$NS1" "$IFA" "$(pub_of b)" handshake) || true
sleep 2 # a new handshake would now get a later timestamp
sed -i 's|^AllowedIPs = 10.72.0.0/24|AllowedIPs = 10.73.0.0/24|; s|^Address = .*|Address = 10.71.0.9/24|' \
	"$T/$IFA.conf"
reload() { ip netns exec "$NS1" bash -c 'exec "$1" syncconf "$2" <(exec "$1" strip "$3")' _ "$CLI" "$IFA" "$T/$IFA.conf"; }
check "syncconf IF <(strip FILE) applies the edited file" reload
check_eq "the changed peer c has its new allowed IPs" "10.73.0.0/24" \
	peer_field "$NS1" "$IFA" "$(pub_of c)" allowed-ips
check "ping b still works" ping_ok "$NS1" 10.71.0.2
check_eq "and b kept its session: no new handshake" "$hs_before" \
	peer_field "$NS1" "$IFA" "$(pub_of b)" handshake
check "the address is not reapplied by a reload" \
	eval 'ip -n "$NS1" -o addr show dev "$IFA" | grep -q "10.71.0.1/24"'
check "down $IFA" tq "$NS1" down "$IFA"
check "down $IFB" tq "$NS2" down "$IFB"

# ---------------------------------------------------------------- 15.3: resolvconf record name
mkdir -p "$T/bin"
cat >"$T/bin/resolvconf" <<EOS
#!/bin/sh
{ echo "resolvconf \$*"; [ "\$1" = -a ] && cat; } >>"$T/resolvconf.log"
exit 0
EOS
chmod 755 "$T/bin/resolvconf"
printf '[Interface]\nPrivateKey = %s\nDNS = 192.0.2.53, example.com\n' "$(cat "$(key_of c)")" \
	>"$T/$IFE.conf"
# dnsq up|down ORDER_FILE: tapir up/down with the stand-in and an interface-order file.
dnsq()
{
	local rc=0
	ip netns exec "$NS1" env PATH="$T/bin:$PATH" TAPIR_RESOLVCONF_ORDER="$2" \
		timeout 30 "$CLI" "$1" "$T/$IFE.conf" >"$T/tq.log" 2>&1 </dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}
check "up with DNS, no interface-order file" dnsq up "$T/no-such-file"
check "down" dnsq down "$T/no-such-file"
check_eq "the record is the bare interface name, as wg-quick names it" \
	"resolvconf -a $IFE -m 0 -x|nameserver 192.0.2.53|search example.com|resolvconf -d $IFE -f" \
	paste -sd'|' "$T/resolvconf.log"
printf 'lo.inet6\nlo.inet\nlo.@(dnsmasq|pdnsd)\nlo.!(pdns|pdns-recursor)\nlo\n  tun*\ntap*\nen*\n*\n' \
	>"$T/interface-order"
rm -f "$T/resolvconf.log"
check "up with DNS and Debian's interface-order" dnsq up "$T/interface-order"
check "down" dnsq down "$T/interface-order"
check_eq "the record gets the first WORD* line's prefix" \
	"resolvconf -a tun.$IFE -m 0 -x|nameserver 192.0.2.53|search example.com|resolvconf -d tun.$IFE -f" \
	paste -sd'|' "$T/resolvconf.log"

# ---------------------------------------------------------------- 15.4: endpoint retries
mkdir -p "$NETNS_ETC"
printf '127.0.0.1 localhost\n' >"$NETNS_ETC/hosts"
# no DNS server answers: a name not in hosts fails temporarily (EAI_AGAIN), not for good
printf 'nameserver 127.0.0.1\n' >"$NETNS_ETC/resolv.conf"
cat >"$T/$IFR.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of a)")

[Peer]
PublicKey = $(pub_of b)
Endpoint = late-$$.test:51900
AllowedIPs = 10.74.0.2/32
EOC
# add_host_later S NAME ADDR: after S seconds, add NAME to the namespace's hosts (in place:
# ip netns exec bind-mounts that very file over /etc/hosts).
add_host_later()
{
	(sleep "$1" && echo "$3 $2" >>"$NETNS_ETC/hosts") &
	track_pid $!
}
add_host_later 3 "late-$$.test" 192.0.2.77
rq() # rq ENV... -- ARGS: the CLI in tapir-$$-3 with ENV, output in $T/tq.log
{
	local envs=() rc=0
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	ip netns exec "$NS3" env "${envs[@]}" timeout 60 "$CLI" "$@" >"$T/tq.log" 2>&1 </dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}
check "up waits for a host name that resolves after 3 s" rq LOG_LEVEL=info -- up "$T/$IFR.conf"
check "and said it is trying again" said "Temporary failure in name resolution; trying again in 1.00 s"
check_eq "the peer has the address" "192.0.2.77:51900" peer_field "$NS3" "$IFR" "$(pub_of b)" endpoint
add_host_later 2 "later-$$.test" 192.0.2.78
check "set waits too (WG_ENDPOINT_RESOLUTION_RETRIES=infinity)" \
	rq WG_ENDPOINT_RESOLUTION_RETRIES=infinity -- set "$IFR" peer "$(pub_of b)" endpoint "later-$$.test:51901"
check_eq "and applies it" "192.0.2.78:51901" peer_field "$NS3" "$IFR" "$(pub_of b)" endpoint
start=$SECONDS
check_fails "set with WG_ENDPOINT_RESOLUTION_RETRIES=0 fails" \
	rq WG_ENDPOINT_RESOLUTION_RETRIES=0 -- set "$IFR" peer "$(pub_of b)" endpoint "never-$$.test:1"
check "at once" eval '[ $((SECONDS - start)) -le 3 ] && ! said "trying again"'
check_fails "a retry count that is not a number is an error" \
	rq WG_ENDPOINT_RESOLUTION_RETRIES=lots -- set "$IFR" peer "$(pub_of b)" endpoint "never-$$.test:1"
check "saying so" said "unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: \`lots'"
check "down $IFR" rq -- down "$IFR"
mkdir -p "$T/never"
sed "s/late-$$.test/never-$$.test/" "$T/$IFR.conf" >"$T/never/$IFR.conf"
# failed_at_once START: within 3 s of START, with FILE:LINE of the Endpoint and the reason.
failed_at_once()
{
	[ $((SECONDS - $1)) -le 3 ] && ! said "trying again" &&
		said "$T/never/$IFR.conf:6: Endpoint: \`never-$$.test:51900': Temporary failure"
}
start=$SECONDS
check_fails "up with WG_ENDPOINT_RESOLUTION_RETRIES=0 fails" \
	rq WG_ENDPOINT_RESOLUTION_RETRIES=0 -- up "$T/never/$IFR.conf"
check "at once, naming FILE:LINE of the Endpoint" failed_at_once "$start"
check "and nothing is left" no_link "$NS3" "$IFR"
start=$SECONDS
check_fails "setconf with retries 0 fails too" \
	rq WG_ENDPOINT_RESOLUTION_RETRIES=0 -- setconf "$IFR" "$T/never/$IFR.conf"
check "at once, naming FILE:LINE" failed_at_once "$start"

# ---------------------------------------------------------------- 15.8: messages
printf '[Interface]\nPrivateKey = %s\nAddress = 10.75.0.1/24\nPostUp = true\nPostUp = exit 3\n' \
	"$(cat "$(key_of c)")" >"$T/$IFH.conf"
check_fails "a failing PostUp fails up" tq "$NS1" up "$T/$IFH.conf"
check "naming the hook, its line and its status" said "$T/$IFH.conf:5: PostUp hook failed (exit status 3)"
check_fails "down of an interface tapir did not bring up fails" tq "$NS1" down veth1
check "and says so, not that it is not up" said "veth1 was not brought up by tapir up"
# The [#] lines of an up, run by bash in the same namespace after down, give the same device.
cat >"$T/$IFE.conf" <<EOC
[Interface]
PrivateKey = $(cat "$(key_of c)")
Address = 10.76.0.1/24, fd76::1/64
ListenPort = 51840
MTU = 1380

[Peer]
PublicKey = $(pub_of b)
Endpoint = 192.0.2.2:51832
AllowedIPs = 10.76.0.0/24, 10.77.0.0/16, fd77::/48
EOC
# state NS IFNAME: what up set up, for the comparison.
state()
{
	ip -n "$1" -o addr show dev "$2" | awk '$4 !~ /^fe80/ {print $3, $4}'
	ip -n "$1" -o link show dev "$2" | grep -o 'mtu [0-9]*'
	ip -n "$1" route show dev "$2"
	ip -n "$1" -6 route show dev "$2" | grep -v '^fe80'
	ip netns exec "$1" "$CLI" showconf "$2"
}
check "up $IFE" tq "$NS1" up "$T/$IFE.conf"
sed -n 's/^\[#\] //p' "$T/tq.log" >"$T/replay.sh"
state "$NS1" "$IFE" >"$T/state-up" || true
check "down $IFE" tq "$NS1" down "$IFE"
replay() { ip netns exec "$NS1" env PATH="$(dirname "$CLI"):$PATH" timeout 30 bash -e "$T/replay.sh" </dev/null; }
check "the echoed [#] lines run as shown" replay
check "and build the same interface" eval 'state "$NS1" "$IFE" | diff -u "$T/state-up" -'
check "remove the replayed interface" ip -n "$NS1" link del "$IFE"
check "its daemon exits" wait_for "the daemon to exit" 10 no_process_in "$NS1"

# ---------------------------------------------------------------- 13.6: hook file permissions
printf '[Interface]\nPrivateKey = %s\nPostUp = true\n' "$(cat "$(key_of c)")" >"$T/$IFP.conf"
chmod 0620 "$T/$IFP.conf"
check_fails "a group-writable file with hooks is refused" tq "$NS1" up "$T/$IFP.conf"
check "saying how to fix it" said "group-writable: refusing it (chmod go-w $T/$IFP.conf)"
chmod 0602 "$T/$IFP.conf"
check_fails "a world-writable one too" tq "$NS1" up "$T/$IFP.conf"
chmod 0600 "$T/$IFP.conf"
chown 65534 "$T/$IFP.conf"
check_fails "a file with hooks owned by another user is refused" tq "$NS1" up "$T/$IFP.conf"
check "saying how to fix it" said "owned by uid 65534: refusing it (chown root $T/$IFP.conf)"
chown 0 "$T/$IFP.conf"
mkdir -m 0777 "$T/open"
chmod 0777 "$T/open"
cp -p "$T/$IFP.conf" "$T/open/$IFP.conf"
check_fails "a file with hooks in a world-writable directory is refused" tq "$NS1" up "$T/open/$IFP.conf"
check "saying how to fix it" said "its directory $T/open is world-writable"
chmod 1777 "$T/open"
check "with the sticky bit it is taken" tq "$NS1" up "$T/open/$IFP.conf"
check "down $IFP" tq "$NS1" down "$T/open/$IFP.conf"
printf '[Interface]\nPrivateKey = %s\n' "$(cat "$(key_of c)")" >"$T/$IFQ.conf"
chmod 0666 "$T/$IFQ.conf"
check "without hooks the file is taken, with the warning for a readable key" \
	eval 'tq "$NS1" up "$T/$IFQ.conf" && said "is world accessible"'
check "down $IFQ" tq "$NS1" down "$IFQ"
