#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh join --trace-apply FILE (issue 16, the debug aid of bench/mesh-scale.sh): one line
# "REVISION MONOTONIC_NS WHAT" per watch event and per resync, written once tapird has applied
# it. Checks: the first line is the agent's resync; a host joining gives a "set" line carrying
# the revision of its record in etcd and a CLOCK_MONOTONIC time within the test's run; a
# malformed record gives an "ignored" line and no peer; the host leaving (SIGTERM, its lease
# revoked) gives a "removed" line with the revision of the delete; every line has three fields.
#
#   tapir-$$-1, tapir-$$-2 (hosts)                    tapir-$$-9 (hub)
#   +---------------------------------+              +-------------------------------+
#   | tapird tm$$N, agent (--ttl 5)   |              | bridge mbr                    |
#   |  host 1: --trace-apply $T/trace |==== uN ======| etcd 192.0.2.100:2379         |
#   +---------------------------------+              +-------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl jq
"$CLI" mesh --help >/dev/null 2>&1 || skip_all "this tapir has no mesh command"

plan 8

NET=t7009
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2; do add_host "$n"; done
hx 1 "$CLI" mesh init --etcd "$ETCD" --network "$NET" --cidr 10.47.0.0/16 --keepalive 0 >/dev/null

uptime_ns() { awk '{ printf "%.0f", $1 * 1e9 }' /proc/uptime; }
# line_of WHAT REVISION: the trace line of that event
line_of() { awk -v w="$1" -v r="$2" '$3 == w && $1 == r' "$T/trace"; }
has_line() { [ -n "$(line_of "$1" "$2")" ]; }
# mod_rev KEY: the revision of KEY's last write
mod_rev() { ctl get "$1" -w json | jq -r '.kvs[0].mod_revision'; }

t_begin=$(uptime_ns)
join 1 --trace-apply "$T/trace"
check_eq "the first trace line is the resync" "resync" \
	sh -c "head -1 '$T/trace' | cut -d' ' -f3"

join 2
check "host 2 is a peer of host 1" wait_for "1 peer" 10 has_n_peers 1 1
KEY2=$(ctl get --prefix --keys-only "/tapir/networks/$NET/subnets/" | grep -v "$(addr_of 1 | sed 's/\.1$/.0/')-24" | grep .)
REV2=$(mod_rev "$KEY2")
check "a set line carries the revision of host 2's record" wait_for "set $REV2" 5 has_line set "$REV2"
t_end=$(uptime_ns)
ns=$(line_of set "$REV2" | cut -d' ' -f2)
# CLOCK_MONOTONIC is /proc/uptime's clock on a machine that did not suspend during the test
check "its time is CLOCK_MONOTONIC, within the test's run" \
	sh -c "[ $ns -ge $((t_begin - 1000000000)) ] && [ $ns -le $((t_end + 1000000000)) ]"

ctl put "/tapir/networks/$NET/subnets/10.47.200.0-24" 'not json' >/dev/null
REVBAD=$(mod_rev "/tapir/networks/$NET/subnets/10.47.200.0-24")
check "a malformed record gives an ignored line" wait_for "ignored $REVBAD" 5 has_line ignored "$REVBAD"

signal_child TERM "${AGENT_PID[2]}"
wait_for "agent 2 to exit" 10 sh -c "! kill -0 ${AGENT_PID[2]} 2>/dev/null"
REVDEL=$(ctl get "/tapir/networks/$NET/config" -w json | jq -r '.header.revision')
check "host 2 leaving gives a removed line with the delete's revision" \
	wait_for "removed $REVDEL" 5 has_line removed "$REVDEL"
check "host 2 is no peer of host 1 any more" has_n_peers 1 0
check "every line is REVISION NS WHAT" \
	awk 'NF != 3 || $1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ { exit 1 }' "$T/trace"
