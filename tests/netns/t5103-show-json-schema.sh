#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tapir show --json` against its documented schema (issue 18): every key the output carries is
# listed in tapir(8)'s JSON OUTPUT block, and every key listed there is in the output. The
# interface has a peer over TCP and a peer over UDP with compression on, so that every key
# appears; endpoint is host:port for both, the transport a key of its own; the interface
# totals add up the peers. tapird only.
#
# Extraction rules. Output: a walk of the parsed JSON collects every object key; the keys of
# the "drops" object are drop reasons (data, not schema): they count as the placeholder
# "<reason>" and each must be named in tapird(8). Man page: the lines between .nf and .fi
# after .SH JSON OUTPUT; a key is a double-quoted word followed by a colon at the start of a
# line (after the indentation); what follows it on the line is annotation.
#
#   tapir-$$-1                                   tapir-$$-2
#   | tj$$a 10.83.0.1/24 | veth 192.0.2.1/.2     | tj$$b 10.83.0.2/24 (tcp-listen on) |
#     peer b: tcp://192.0.2.2:51852, lz4          peer a: lz4
#     peer c: 192.0.2.2:51859 (udp, nobody there)
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "show --json's tapird keys"
require_cmds python3

plan 8

IFA="tj$$a"
IFB="tj$$b"
MAN="$SRCDIR/doc/tapir.8"
MAND="$SRCDIR/doc/tapird.8"
setup_underlay
keygen a
keygen b
keygen c
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51851 \
	peer "$(pub_of b)" endpoint tcp://192.0.2.2:51852 allowed-ips 10.83.0.2/32 compression lz4 \
	peer "$(pub_of c)" endpoint 192.0.2.2:51859 allowed-ips 10.83.0.3/32
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51852 tcp-listen on \
	peer "$(pub_of a)" allowed-ips 10.83.0.1/32 compression lz4
addr_up "$NS1" "$IFA" 10.83.0.1/24
addr_up "$NS2" "$IFB" 10.83.0.2/24

check "ping b over TCP with compression on" ping_until "$NS1" 20 10.83.0.2
check "tapir show --json" eval 'n1 "$TAPIR" show "$IFA" --json >"$T/json" && cat "$T/json"'

# Keys of the output, one a line (see the rule above).
python3 - "$T/json" >"$T/out-keys" <<'EOF'
import json, sys

def walk(v, parent):
    if isinstance(v, dict):
        for k, x in v.items():
            print("<reason>" if parent == "drops" else k)
            walk(x, k)
    elif isinstance(v, list):
        for x in v:
            walk(x, parent)

walk(json.load(open(sys.argv[1])), None)
EOF
sort -u -o "$T/out-keys" "$T/out-keys"
# Keys of the man page block (see the rule above).
sed -n '/^\.SH JSON OUTPUT/,/^\.SH /p' "$MAN" | sed -n '/^\.nf$/,/^\.fi$/p' |
	sed -n 's/^ *"\([^"]*\)":.*/\1/p' | sort -u >"$T/man-keys"
diag "output keys: $(tr '\n' ' ' <"$T/out-keys")"
diag "man page keys: $(tr '\n' ' ' <"$T/man-keys")"

check "the man page block lists at least 40 keys" eval '[ "$(wc -l <"$T/man-keys")" -ge 40 ]'
check "every key of the output is in tapir(8)" \
	eval 'comm -23 "$T/out-keys" "$T/man-keys" | tee "$T/undocumented"; [ ! -s "$T/undocumented" ]'
check "every key of tapir(8) is in the output" \
	eval 'comm -13 "$T/out-keys" "$T/man-keys" | tee "$T/missing"; [ ! -s "$T/missing" ]'
drop_reasons_documented()
{
	local r bad=0
	for r in $(python3 -c 'import json, sys
for i in json.load(open(sys.argv[1]))["interfaces"]:
    print("\n".join(i["drops"]))' "$T/json"); do
		grep -qw -- "$r" "$MAND" ||
			{ echo "drop reason $r not in tapird(8)"; bad=1; }
	done
	return $bad
}
check "every drop reason is named in tapird(8)" drop_reasons_documented

# Values: schema_version, endpoints as host:port with the transport apart, the totals.
values_ok()
{
	python3 - "$T/json" "$(pub_of b)" "$(pub_of c)" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema_version"] == 1, d["schema_version"]
i = d["interfaces"][0]
p = {x["public_key"]: x for x in i["peers"]}
b, c = p[sys.argv[2]], p[sys.argv[3]]
assert b["endpoint"] == "192.0.2.2:51852" and b["transport"] == "tcp", b
assert c["endpoint"] == "192.0.2.2:51859" and c["transport"] == "udp", c
assert b["compression"] == "lz4" and b["compression_active"] is True, b
assert c["compression"] == "off" and c["compression_active"] is False, c
assert b["rx_bytes"] > 0 and b["tx_bytes"] > 0, b
assert i["rx_bytes"] == sum(x["rx_bytes"] for x in i["peers"]), i["rx_bytes"]
assert i["tx_bytes"] == sum(x["tx_bytes"] for x in i["peers"]), i["tx_bytes"]
assert i["peer_count"] == len(i["peers"]) == 2, i["peer_count"]
EOF
}
check "schema_version 1, endpoint host:port and transport apart, totals add up" values_ok
check_eq "the text forms keep tcp:// for the TCP peer" "tcp://192.0.2.2:51852" \
	eval 'n1 "$TAPIR" show "$IFA" endpoints | awk -v k="$(pub_of b)" "\$1 == k { print \$2 }"'
