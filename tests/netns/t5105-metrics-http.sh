#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapird's HTTP metrics endpoint (issue 18 item 3): off by default (nothing listens, no
# tapir_metrics_listen in the get); `tapir set IF metrics-listen 127.0.0.1:9586` (the UAPI key
# tapir_metrics_listen, config MetricsListen) and `tapird --metrics-listen` turn it on. curl
# from inside the namespace scrapes GET /metrics; python3-prometheus-client's parser (as in
# t5104) reads it, and every sample equals what `tapir show IF metrics` prints (one formatter),
# offload state included; the byte counters move with traffic. Other paths get 404, other
# methods 405, a request head over 2 KiB 431. Seven slow clients and an oversized one delay
# neither a concurrent scrape nor a wg(8) call, and the server closes the slow ones after its
# read timeout (3 s). A bad address or one in use is refused and the old endpoint kept;
# `metrics-listen off` stops it. Throughout, tapird keeps no capability and its seccomp filter
# (Seccomp: 2), and it is still alive at the end. tapird only.
#
#   tapir-$$-1                                        tapir-$$-2
#   | th$$a 10.85.0.1/24  metrics 127.0.0.1:9586     | th$$b 10.85.0.2/24 |
#   | th$$c (idle) --metrics-listen 127.0.0.1:9587   |                    |
#   |          --offload none                        |                    |
#   | veth1 192.0.2.1/24 ============================= veth2 192.0.2.2/24 |
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "the metrics endpoint"
require_cmds python3 curl ss
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then
		PY=$p
		break
	fi
done
[ -n "$PY" ] || skip_all "python3-prometheus-client not installed (scripts/deps.sh)"

plan 25

IFA="th$$a"
IFB="th$$b"
IFC="th$$c"
URL=http://127.0.0.1:9586
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51871 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51872 allowed-ips 10.85.0.2/32
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51872 \
	peer "$(pub_of a)" allowed-ips 10.85.0.1/32
addr_up "$NS1" "$IFA" 10.85.0.1/24
addr_up "$NS2" "$IFB" 10.85.0.2/24
PID_A=${DAEMON_PID[$IFA]}

no_tcp_listener() { ! n1 ss -Hltn | grep -q .; }
no_metrics_key() { ! printf 'get=tapir\n\n' | uapi "$IFA" | grep -q '^tapir_metrics_listen='; }
check "default: nothing listens on TCP in the namespace" no_tcp_listener
check "default: the get has no tapir_metrics_listen" no_metrics_key
check_fails "default: a scrape is refused" n1 curl -sS --max-time 3 -o /dev/null "$URL/metrics"

check "tapir set IF metrics-listen 127.0.0.1:9586" \
	n1 "$TAPIR" set "$IFA" metrics-listen 127.0.0.1:9586
check "it listens on 127.0.0.1:9586 only" \
	eval '[ "$(n1 ss -Hltn | awk "{ print \$4 }")" = 127.0.0.1:9586 ]'
check "the get says tapir_metrics_listen=127.0.0.1:9586" \
	eval 'printf "get=tapir\n\n" | uapi "$IFA" | grep -qx tapir_metrics_listen=127.0.0.1:9586'

check "ping b" ping_until "$NS1" 20 10.85.0.2
scrape() { n1 curl -sS --fail --max-time 5 -D "$T/$1.head" -o "$T/$1" "$URL/metrics"; }
snapshot()
{
	scrape http1 && n1 "$TAPIR" show "$IFA" metrics >"$T/cli1" &&
		n1 ping -c 3 -i 0.2 -q 10.85.0.2 >/dev/null && scrape http2
}
check "scrape, tapir show IF metrics, traffic, scrape" snapshot
check "Content-Type text/plain; version=0.0.4" \
	grep -qi '^content-type: text/plain; version=0.0.4' "$T/http1.head"

parse()
{
	"$PY" - "$T" "$IFA" "$(pub_of b)" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families

d, ifname, peer = sys.argv[1:4]

def samples(name):
    fams = list(text_string_to_metric_families(open(d + "/" + name).read()))
    assert fams, name
    out = {}
    for f in fams:
        assert f.name.startswith("tapir_") and f.documentation, f.name
        for s in f.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out

http1, cli1, http2 = samples("http1"), samples("cli1"), samples("http2")
assert http1.keys() == cli1.keys(), set(http1.keys()) ^ set(cli1.keys())
for k, v in http1.items():
    if k[0] == "tapir_peer_handshake_age_seconds":
        assert abs(v - cli1[k]) <= 2, (k, v, cli1[k])
    elif k[0].startswith("tapir_peer_") and k[0].endswith("_bytes_total"):
        assert v <= cli1[k], (k, v, cli1[k])  # traffic may run between the two reads
    else:
        assert v == cli1[k], (k, v, cli1[k])
p = (("interface", ifname), ("public_key", peer))
for n in ("tapir_peer_receive_bytes_total", "tapir_peer_transmit_bytes_total"):
    assert http2[(n, p)] > http1[(n, p)] > 0, (n, http1[(n, p)], http2[(n, p)])
offloads = {dict(k[1])["offload"]: v for k, v in http1.items() if k[0] == "tapir_offload_enabled"}
assert set(offloads) == {"tun", "tun_uso", "gso", "gro"}, offloads
assert all(v in (0, 1) for v in offloads.values()), offloads
print("samples:", len(http1), "offloads:", offloads)
EOF
}
check "the parser reads it; every sample equals tapir show IF metrics; bytes grew" parse

status_of() { n1 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"; }
check_eq "GET / is 404" 404 status_of "$URL/"
check_eq "GET /metricsx is 404" 404 status_of "$URL/metricsx"
check_eq "POST /metrics is 405" 405 status_of -X POST -d x "$URL/metrics"
check_eq "GET /metrics?x=1 is 200" 200 status_of "$URL/metrics?x=1"

# Bad clients, in the namespace: seven that send half a request line and wait, one whose head
# fills the 2 KiB limit exactly (431, cleanly), one that sends 64 KiB (cut off quickly).
cat >"$T/clients.py" <<'EOF'
import socket, sys, time

port, mode = int(sys.argv[1]), sys.argv[2]

def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s

def until_closed(s):
    t0 = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    return time.monotonic() - t0

if mode == "slow":
    socks = [conn() for _ in range(7)]
    for s in socks:
        s.sendall(b"GET /met")
    print(max(until_closed(s) for s in socks))
elif mode == "full":
    s = conn()
    s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X" * (2048 - 23))
    print(s.recv(4096).split(b"\r\n")[0].decode())
else:
    s = conn()
    t0 = time.monotonic()
    try:
        s.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X" * 65536)
    except OSError:
        pass
    print(until_closed(s) + (time.monotonic() - t0))
EOF
n1 "$PY" "$T/clients.py" 9586 slow >"$T/slow.out" 2>&1 &
SLOW=$!
track_pid "$SLOW"
n1 "$PY" "$T/clients.py" 9586 big >"$T/big.out" 2>&1 &
BIG=$!
track_pid "$BIG"
sleep 0.5
fast() { local t0=$SECONDS; "$@" >/dev/null && [ $((SECONDS - t0)) -le 1 ]; }
check "with 7 slow clients and a 64 KiB one, a scrape answers at once" fast scrape http3
check "and so does wg show" fast n1 wg show "$IFA"
check_eq "a head of 2 KiB without its end gets 431" "HTTP/1.1 431 Request Header Fields Too Large" \
	n1 "$PY" "$T/clients.py" 9586 full
slow_closed()
{
	wait "$SLOW" || return 1
	"$PY" -c 'import sys; t = float(open(sys.argv[1]).read()); assert 2 <= t <= 6, t' "$T/slow.out"
}
check "the slow clients are closed by the read timeout (2..6 s)" slow_closed
big_cut()
{
	wait "$BIG" || return 1
	"$PY" -c 'import sys; t = float(open(sys.argv[1]).read()); assert t < 2, t' "$T/big.out"
}
check "the 64 KiB client is cut off at once" big_cut

check_fails "port 0 is refused" n1 "$TAPIR" set "$IFA" metrics-listen 127.0.0.1:0
check_fails "a host name is refused" n1 "$TAPIR" set "$IFA" metrics-listen localhost:9586

start_daemon_flags()
{
	printf '#!/bin/sh\nexec "%s" --metrics-listen 127.0.0.1:9587 --offload none "$@"\n' \
		"$IMPL" >"$T/tapird-metrics"
	chmod +x "$T/tapird-metrics"
	# the endpoint opens once the daemon runs, just after its UAPI socket appears
	start_daemon "$NS1" "$T/tapird-metrics" "$IFC" &&
		wait_for "metrics on 9587" 10 \
			n1 curl -sS --fail --max-time 5 -o "$T/httpc" http://127.0.0.1:9587/metrics &&
		grep -q "^tapir_peers{interface=\"$IFC\"} 0$" "$T/httpc" &&
		[ "$(grep -c '^tapir_offload_enabled{.*} 0$' "$T/httpc")" = 4 ]
}
check "tapird --metrics-listen 127.0.0.1:9587 --offload none serves, all offloads 0" \
	start_daemon_flags
in_use()
{
	! n1 "$TAPIR" set "$IFA" metrics-listen 127.0.0.1:9587 2>"$T/inuse.err" &&
		scrape http4 && grep -q "interface=\"$IFA\"" "$T/http4"
}
check "an address in use is refused and the old endpoint kept" in_use

confined()
{
	alive "$PID_A" &&
		[ "$(awk '$1 == "CapEff:" { print $2 }' "/proc/$PID_A/status")" = 0000000000000000 ] &&
		[ "$(awk '$1 == "Seccomp:" { print $2 }' "/proc/$PID_A/status")" = 2 ]
}
check "tapird is alive, with no capability and its seccomp filter" confined
off()
{
	n1 "$TAPIR" set "$IFA" metrics-listen off &&
		! n1 ss -Hltn "sport = :9586" | grep -q . && no_metrics_key
}
check "metrics-listen off: nothing listens on 9586 any more" off
