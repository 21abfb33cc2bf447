#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netlink / tapir up and down (wg-quick's job over rtnetlink): addresses v4+v6, MTU from the
# route to the endpoint, routes for allowed IPs, hooks, ping through; down restores routes and
# rules exactly and the daemon exits. A default route (0.0.0.0/0, ::/0) uses fwmark policy
# routing: the peer's underlay address still goes direct, everything else into the tunnel, and
# down restores everything. Bad configs exit 1 naming file and line and change nothing; a failing
# PostUp hook rolls back; down refuses an interface tapir up did not bring up.
#
#   tapir-$$-1                                         tapir-$$-2
#   +------------------------------------+            +------------------------------------+
#   | tapir up tu$$a.conf  (then tu$$d)  |            | tapir up tu$$b.conf                |
#   |  tu$$a 10.66.0.1/24 fd66::1/64     |            |  tu$$b 10.66.0.2/24 fd66::2/64     |
#   |   port 51811, peer b 192.0.2.2     |            |   port 51812, peer a 192.0.2.1     |
#   |   allowed 10.66.0.2 fd66::2        |            |   allowed 10.66.0.1 fd66::1        |
#   |           10.67.0.0/16 fd67::/48   |            |                                    |
#   |  tu$$d: allowed 0.0.0.0/0, ::/0    |            |                                    |
#   | veth1 192.0.2.1/24 2001:db8:1::1   |============| veth2 192.0.2.2/24 2001:db8:1::2   |
#   +------------------------------------+            +------------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
export TAPIRD="$IMPL"
STATE_DIR=/var/run/tapir

plan 51

IFA="tu$$a"
IFB="tu$$b"
IFD="tu$$d"
IFX="tu$$x"
IFF="tu$$f"
IFW="tu$$w"
for i in "$IFA" "$IFB" "$IFD" "$IFX" "$IFF" "$IFW"; do
	register_if "$i"
done
# Also remove our state files if the test dies halfway (rules go with the namespaces).
trap 'rc=$?; rm -f "$STATE_DIR/tu$$"?.state; (exit $rc); cleanup' EXIT

setup_underlay
keygen a
keygen b

write_conf()
{
	local file=$1 key=$2 addr=$3 port=$4 peer=$5 endpoint=$6 allowed=$7
	cat >"$file" <<EOC
# written by $0
[Interface]
PrivateKey = $(cat "$(key_of "$key")")
Address = $addr
ListenPort = $port

[Peer]
PublicKey = $(pub_of "$peer")
Endpoint = $endpoint
AllowedIPs = $allowed
EOC
}

write_conf "$T/$IFA.conf" a "10.66.0.1/24, fd66::1/64" 51811 b 192.0.2.2:51812 \
	"10.66.0.2/32, fd66::2/128, 10.67.0.0/16, fd67::/48"
cat >>"$T/$IFA.conf" <<EOC

[Interface]
PreUp = echo pre-up %i >>$T/hooks.log
PostUp = echo post-up %i >>$T/hooks.log
PreDown = echo pre-down %i >>$T/hooks.log
PostDown = echo post-down %i >>$T/hooks.log
EOC
write_conf "$T/$IFB.conf" b "10.66.0.2/24, fd66::2/64" 51812 a 192.0.2.1:51811 \
	"10.66.0.1/32, fd66::1/128, 10.66.0.0/24, fd66::/64"
# b's daemon gets tapird's offload and worker switches from its config file.
sed -i 's/^\[Peer\]/Offload = gso, gro\nWorkers = 1\n\n[Peer]/' "$T/$IFB.conf"
write_conf "$T/$IFD.conf" a "10.66.0.1/24, fd66::1/64" 51811 b 192.0.2.2:51812 \
	"0.0.0.0/0, ::/0"

# tq NS up|down ARG: run the CLI, output to $T/tq.log (shown on failure). Never through a
# pipe: the daemon inherits stderr.
tq()
{
	local rc=0
	ip netns exec "$1" timeout 60 "$CLI" "$2" "$3" >"$T/tq.log" 2>&1 </dev/null || rc=$?
	cat "$T/tq.log"
	return "$rc"
}

# routing NS: every route of every table and every rule, for before/after comparisons.
routing()
{
	ip -n "$1" -4 route show table all
	ip -n "$1" -6 route show table all
	ip -n "$1" -4 rule show
	ip -n "$1" -6 rule show
	ip netns exec "$1" cat /proc/sys/net/ipv4/conf/all/src_valid_mark
}

same_routing()
{
	routing "$1" >"$T/after"
	diff -u "$2" "$T/after"
}

mtu_of() { ip -n "$1" -o link show "$2" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
no_link() { ! ip -n "$1" link show "$2" 2>/dev/null; }
no_socket() { [ ! -e "$(sock_of "$1")" ]; }
no_process_in() { [ -z "$(ip netns pids "$1")" ]; }
no_state() { [ ! -e "$STATE_DIR/$1.state" ]; }
has_addr() { ip -n "$1" -o addr show dev "$2" | grep -qw "$3"; }
route_dev() { ip -n "$1" route get "$2" | grep -q " dev $3 "; }

# ---------------------------------------------------------------- up / down
# The underlay's link-local address adds a route when its DAD ends: let that happen first.
no_tentative() { [ -z "$(ip -n "$1" -6 addr show tentative)" ]; }
wait_for "DAD on veth1" 10 no_tentative "$NS1"
routing "$NS1" >"$T/before1"
check "up $IFA" tq "$NS1" up "$T/$IFA.conf"
check "up $IFB (by path, from another directory)" tq "$NS2" up "$T/$IFB.conf"
check "$IFA has 10.66.0.1/24" has_addr "$NS1" "$IFA" 10.66.0.1/24
check "$IFA has fd66::1/64" has_addr "$NS1" "$IFA" fd66::1/64
check_eq "$IFA MTU is the veth's 1500 - 80" 1420 mtu_of "$NS1" "$IFA"
check "route 10.67.0.0/16 via $IFA" eval 'ip -n "$NS1" -4 route show dev "$IFA" | grep -q "^10.67.0.0/16"'
check "route fd67::/48 via $IFA" eval 'ip -n "$NS1" -6 route show dev "$IFA" | grep -q "^fd67::/48"'
check "10.66.0.2/32 is covered by the address's route, not added" \
	eval '! ip -n "$NS1" -4 route show dev "$IFA" | grep -q "^10.66.0.2"'
check "ping 10.66.0.2 through the tunnel" ping_ok "$NS1" 10.66.0.2
check "ping fd66::2 through the tunnel" ping_ok "$NS1" fd66::2
check "handshake done" handshake_done "$NS1" "$IFA" "$(pub_of b)"
# daemon_args NS: the command line of the one tapird in NS, arguments separated by spaces.
daemon_args() { tr '\0' ' ' <"/proc/$(ip netns pids "$1" | head -1)/cmdline"; }
check_eq "Offload and Workers reach tapird as --offload and --workers" \
	"$IMPL --offload gso,gro --workers 1 $IFB " daemon_args "$NS2"
check_eq "and a file without them passes neither" "$IMPL $IFA " daemon_args "$NS1"
check "state file recorded" test -s "$STATE_DIR/$IFA.state"
check_fails "second up of $IFA refused" tq "$NS1" up "$T/$IFA.conf"
check "down $IFA" tq "$NS1" down "$T/$IFA.conf"
check "down $IFB by name (config path from the state file)" tq "$NS2" down "$IFB"
check "$IFA is gone" no_link "$NS1" "$IFA"
check "$IFA's socket is gone" no_socket "$IFA"
check "no process left in $NS1" wait_for "the daemon to exit" 10 no_process_in "$NS1"
check "no process left in $NS2" wait_for "the daemon to exit" 10 no_process_in "$NS2"
check "state files removed" eval 'no_state "$IFA" && no_state "$IFB"'
check "routes and rules of $NS1 restored exactly" same_routing "$NS1" "$T/before1"
check_eq "hooks ran in order with %i" \
	"pre-up $IFA|post-up $IFA|pre-down $IFA|post-down $IFA" \
	eval 'paste -sd"|" "$T/hooks.log"'

# ---------------------------------------------------------------- default route
routing "$NS1" >"$T/before2"
check "up $IFB again" tq "$NS2" up "$T/$IFB.conf"
check "up $IFD (AllowedIPs = 0.0.0.0/0, ::/0)" tq "$NS1" up "$T/$IFD.conf"
check "fwmark policy rules added" eval 'ip -n "$NS1" -4 rule | grep -q "not from all fwmark 0xca6c lookup 51820" && ip -n "$NS1" -6 rule | grep -q "suppress_prefixlength 0"'
check "the peer's underlay address still goes via veth1" route_dev "$NS1" 192.0.2.2 veth1
check "198.18.0.1 goes into the tunnel" route_dev "$NS1" 198.18.0.1 "$IFD"
check "2001:db8:1::2 still goes via veth1" route_dev "$NS1" 2001:db8:1::2 veth1
check "2001:db8:ffff::1 goes into the tunnel" route_dev "$NS1" 2001:db8:ffff::1 "$IFD"
check "ping 10.66.0.2 through the default-route tunnel" ping_ok "$NS1" 10.66.0.2
check "down $IFD" tq "$NS1" down "$IFD"
check "routes, rules and src_valid_mark of $NS1 restored exactly" same_routing "$NS1" "$T/before2"
check "down $IFB" tq "$NS2" down "$IFB"

# ---------------------------------------------------------------- bad configs change nothing
# bad_case LINE KEY BODY: a config whose line LINE is wrong must fail with FILE:LINE and KEY.
bad_case()
{
	local line=$1 key=$2 rc=0
	printf '%b' "$3" >"$T/$IFX.conf"
	routing "$NS1" >"$T/before3"
	ip netns exec "$NS1" "$CLI" up "$T/$IFX.conf" >"$T/bad.log" 2>&1 </dev/null || rc=$?
	cat "$T/bad.log"
	[ "$rc" -eq 1 ] || return 1
	grep -q "$T/$IFX.conf:$line: .*(key $key)" "$T/bad.log" || return 1
	! grep -q "$(cut -c1-10 "$(key_of a)")" "$T/bad.log" || return 1
	no_link "$NS1" "$IFX" && no_socket "$IFX" && no_state "$IFX" && same_routing "$NS1" "$T/before3"
}
PK="PrivateKey = $(cat "$(key_of a)")"
PUB="PublicKey = $(pub_of b)"
check "bad: unknown key" bad_case 3 Frobnicate "[Interface]\n$PK\nFrobnicate = 1\n"
check "bad: bad private key" bad_case 2 PrivateKey "[Interface]\nPrivateKey = $(cut -c1-40 "$(key_of a)")\n"
check "bad: bad address" bad_case 3 Address "[Interface]\n$PK\nAddress = 10.0.0.300/24\n"
check "bad: unknown offload" bad_case 3 Offload "[Interface]\n$PK\nOffload = tso\n"
check "bad: zero workers" bad_case 3 Workers "[Interface]\n$PK\nWorkers = 0\n"
check "bad: [Peer] without PublicKey" bad_case 4 PublicKey \
	"[Interface]\n$PK\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n"

# SaveConfig = true works as in wg-quick (t6005 tests it in full).
printf '[Interface]\n%s\nSaveConfig = true\n' "$PK" >"$T/$IFX.conf"
check "SaveConfig = true: up works" tq "$NS1" up "$T/$IFX.conf"
check "down writes the file back, SaveConfig kept, nothing left" eval 'tq "$NS1" down "$IFX" && grep -q "tapir showconf $IFX >" "$T/tq.log" && grep -qx "SaveConfig = true" "$T/$IFX.conf" && no_link "$NS1" "$IFX" && no_state "$IFX"'

# DNS without resolvconf(8): a clear message, and up goes on.
if command -v resolvconf >/dev/null; then
	ok "# SKIP resolvconf is installed (not touching the host's DNS)"
else
	printf '[Interface]\n%s\nDNS = 192.0.2.53, example.com\n' "$PK" >"$T/$IFX.conf"
	check "DNS without resolvconf: up works and says so" eval 'tq "$NS1" up "$T/$IFX.conf" && grep -q "resolvconf(8) is not installed" "$T/tq.log" && tq "$NS1" down "$IFX"'
fi

# A PostUp hook that fails: everything up did is undone.
write_conf "$T/$IFF.conf" a "10.66.0.1/24" 51813 b 192.0.2.2:51812 "0.0.0.0/0, 10.68.0.0/16"
sed -i 's/^\[Peer\]/PostUp = false\n\n[Peer]/' "$T/$IFF.conf"
routing "$NS1" >"$T/before4"
check_fails "failing PostUp makes up fail" tq "$NS1" up "$T/$IFF.conf"
check "and rolls everything back" eval 'no_link "$NS1" "$IFF" && no_state "$IFF" && same_routing "$NS1" "$T/before4"'
check "and its daemon exits" wait_for "the daemon to exit" 10 no_process_in "$NS1"

# down of interfaces tapir up did not bring up.
check_fails "down of an unknown interface fails" tq "$NS1" down "tu$$z"
check "and says so" grep -q "not brought up by tapir up" "$T/tq.log"
start_daemon "$NS1" "$IMPL" "$IFW"
check_fails "down of a daemon started by hand fails" tq "$NS1" down "$IFW"
check "and leaves it alone" eval 'ip -n "$NS1" link show "$IFW" >/dev/null && [ -S "$(sock_of "$IFW")" ]'
