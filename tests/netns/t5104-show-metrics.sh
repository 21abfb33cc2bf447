#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `tapir show IF metrics` (issue 18): Prometheus text format 0.0.4 for node_exporter's textfile
# collector, read back with a real parser (python3-prometheus-client's
# text_string_to_metric_families, which rejects a malformed exposition). A tapird with a peer
# over TCP with compression on, after traffic: the per-peer byte counters equal
# `wg show IF transfer`, the handshake time equals `wg show IF latest-handshakes`, every family
# has HELP and TYPE, every name starts with tapir_, counters end in _total, and the drop, TCP,
# compression and ICMP counters equal `tapir show IF drops|tcp|compression|icmp`, and the offload
# state (tapir_offload_enabled, from the get's tapir_offload_* keys) is there. tapird only.
#
#   tapir-$$-1                                   tapir-$$-2
#   | tm$$a 10.84.0.1/24 | veth 192.0.2.1/.2     | tm$$b 10.84.0.2/24 (tcp-listen on) |
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "tapir show metrics"
require_cmds python3
# The Debian package installs into the system python3, which a PATH python3 may not be.
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip_all "python3-prometheus-client not installed (scripts/deps.sh)"

plan 7

IFA="tm$$a"
IFB="tm$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51861 \
	peer "$(pub_of b)" endpoint tcp://192.0.2.2:51862 allowed-ips 10.84.0.2/32 compression lz4
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51862 tcp-listen on \
	peer "$(pub_of a)" allowed-ips 10.84.0.1/32 compression lz4
addr_up "$NS1" "$IFA" 10.84.0.1/24
addr_up "$NS2" "$IFB" 10.84.0.2/24

check "ping b over TCP with compression on" ping_until "$NS1" 20 10.84.0.2
# traffic that compresses, and a packet nobody routes (an ICMP error back)
n1 ping -c 5 -i 0.2 -s 1000 -p 61 10.84.0.2 >/dev/null || true
n1 ping -c 1 -W 1 10.84.0.9 >/dev/null 2>&1 || true

# Everything read at once, so the counters agree (no traffic runs any more).
snapshot()
{
	local f
	n1 "$TAPIR" show "$IFA" metrics >"$T/metrics" || return 1
	cat "$T/metrics"
	n1 wg show "$IFA" transfer >"$T/transfer" || return 1
	n1 wg show "$IFA" latest-handshakes >"$T/handshakes" || return 1
	for f in drops tcp compression icmp; do
		n1 "$TAPIR" show "$IFA" "$f" >"$T/$f" || return 1
	done
}
check "tapir show IF metrics" snapshot

parse()
{
	"$PY" - "$T" "$IFA" "$(pub_of b)" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

d, ifname, peer = sys.argv[1:4]
text = open(d + "/metrics").read()
fams = {f.name: f for f in text_string_to_metric_families(text)}
assert not text.rstrip().endswith("# EOF"), "text format 0.0.4 has no # EOF"

def val(family, **labels):
    f = fams[family]
    got = [s.value for s in f.samples if all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(got) == 1, (family, labels, got)
    return got[0]

for f in fams.values():
    assert f.name.startswith("tapir_"), f.name
    assert f.documentation, f.name
    for s in f.samples:
        assert s.labels["interface"] == ifname, s
        if f.type == "counter":
            assert s.name.endswith("_total"), s.name
print("families:", " ".join(sorted(fams)))

rx, tx = open(d + "/transfer").read().split()[1:3]
hs = open(d + "/handshakes").read().split()[1]
p = {"interface": ifname, "public_key": peer}
assert val("tapir_peer_receive_bytes", **p) == int(rx) > 0, rx
assert val("tapir_peer_transmit_bytes", **p) == int(tx) > 0, tx
assert val("tapir_peer_latest_handshake_seconds", **p) == int(hs) > 0, hs
assert 0 <= val("tapir_peer_handshake_age_seconds", **p) < 300
assert val("tapir_peer_transport_tcp", **p) == 1
assert val("tapir_peer_compression_active", **p) == 1
assert val("tapir_peers") == 1
assert val("tapir_tcp_listen") == 0

def table(name):  # "name<TAB>count" lines; the per-peer lines of compression are not counts
    rows = [l.rstrip("\n").split("\t") for l in open(d + "/" + name) if "\t" in l]
    return {k: int(v) for k, v in rows if v.isdigit()}

for reason, n in table("drops").items():
    assert val("tapir_drops", reason=reason) == n, reason
tcp = table("tcp")
for event, n in tcp.items():
    if event != "listen_port":
        assert val("tapir_tcp_events", event=event) == n, event
assert tcp["connected"] >= 1
comp = table("compression")
for event, n in comp.items():
    if event == "bytes_saved":
        assert val("tapir_compression_saved_bytes") == n
    else:
        assert val("tapir_compression_packets", event=event) == n, event
assert comp["compressed"] >= 1 and comp["bytes_saved"] > 0, comp
icmp = table("icmp")
for event, n in icmp.items():
    assert val("tapir_icmp_events", event=event) == n, event
assert icmp["unreachable_sent"] >= 1, icmp
# offload state (UAPI tapir_offload_*): the four offloads, each 1 (in use) or 0
offloads = {s.labels["offload"]: s.value for s in fams["tapir_offload_enabled"].samples}
assert set(offloads) == {"tun", "tun_uso", "gso", "gro"}, offloads
assert all(v in (0, 1) for v in offloads.values()), offloads
EOF
}
check "the parser reads it: names, HELP, _total; values equal wg show and tapir show" parse
check "every family has # HELP and # TYPE before its samples" \
	eval 'awk "/^# HELP/ { h[\$3] = 1 } /^# TYPE/ { t[\$3] = 1 } /^[^#]/ { n = \$1; sub(/\\{.*/, \"\", n); if (!(n in h) || !(n in t)) { print \"no HELP/TYPE: \" n; bad = 1 } } END { exit bad }" "$T/metrics"'
check_fails "metrics with --json is a usage error" n1 "$TAPIR" show "$IFA" metrics --json
check_fails "metrics of a missing interface fails" n1 "$TAPIR" show "nx$$" metrics
check "show all metrics carries the interface" \
	eval 'n1 "$TAPIR" show all metrics | grep -q "^tapir_peers{interface=\"$IFA\"} 1\$"'
