#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# UDP coalescing into the TUN (USO): bursts of datagrams through the tunnel reach the TUN of
# the receiving tapird as fewer writes than datagrams (one virtio-net UDP_L4 super-packet per
# run of one flow), and every datagram still arrives as it was sent: its own length (runs of
# equal sizes broken by odd ones), its own bytes. IPv4 and IPv6 inside. With GRO off
# (TAPIR_OFFLOAD=tun,gso) every datagram is a write of its own, which shows that the TUN's
# rx_packets counter (one per write) measures the coalescing.
#
#   tapir-$$-1                                     tapir-$$-2
#   | uc$$aN 10.91.0.1 fd91::1  IMPL :51831 |-------| uc$$bN 10.91.0.2 fd91::2  IMPL :51832 |
#   |   sender (python3)                     |       |   receiver (python3), checks each    |
#   | veth1 192.0.2.1/24                     |=======| veth2 192.0.2.2/24                   |
set -eu
. "$(dirname "$0")/lib.sh"

plan 10
require_cmds python3
if [ "$(basename "$IMPL")" != tapird ]; then
	skip_all "counts tapird's TUN writes"
fi
setup_underlay
keygen a
keygen b

N=3000
# datagram i: 4-byte sequence number, then i & 0xff repeated; 1000 bytes, every 50th odd-sized
cat >"$T/udp.py" <<'EOF'
import socket, struct, sys, time

def size(i):
    return 1000 if i % 50 != 49 else 600 + i % 300

def body(i):
    return struct.pack("!I", i) + bytes([i & 0xFF]) * (size(i) - 4)

mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
if mode == "send":
    for i in range(n):
        s.sendto(body(i), (addr, port))
        if i % 100 == 99:
            time.sleep(0.01)  # bursts of 100 back to back
    sys.exit(0)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind((addr, port))
s.settimeout(15)
got = bad = 0
try:
    while got + bad < n:
        d = s.recv(65536)
        s.settimeout(2)
        i = struct.unpack("!I", d[:4])[0] if len(d) >= 4 else -1
        if 0 <= i < n and d == body(i):
            got += 1
        else:
            bad += 1
except socket.timeout:
    pass
print(got, bad)
EOF

rx_packets() { n2 cat "/sys/class/net/$1/statistics/rx_packets"; }

# burst IFB ADDR PORT: prints "received bad tun-writes" for one burst of $N datagrams
burst()
{
	local ifb=$1 addr=$2 port=$3 before after res i
	n2 timeout 30 python3 "$T/udp.py" recv "$addr" "$port" "$N" >"$T/recv.out" 2>&1 &
	local rpid=$!
	track_pid "$rpid"
	for ((i = 0; i < 50; i++)); do
		n2 ss -Hlun "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	before=$(rx_packets "$ifb")
	n1 timeout 30 python3 "$T/udp.py" send "$addr" "$port" "$N" || true
	wait "$rpid" || true
	after=$(rx_packets "$ifb")
	read -r res < "$T/recv.out" || res="0 0"
	echo "$res $((after - before))"
}

round=0
for cfg in all tun,gso; do
	round=$((round + 1))
	IFA="uc$$a$round"
	IFB="uc$$b$round"
	IFA=${IFA:0:15}
	IFB=${IFB:0:15}
	export TAPIR_OFFLOAD=$cfg
	start_daemon "$NS1" "$IMPL" "$IFA"
	start_daemon "$NS2" "$IMPL" "$IFB"
	unset TAPIR_OFFLOAD
	n1 wg set "$IFA" private-key "$(key_of a)" listen-port 51831 \
		peer "$(pub_of b)" endpoint 192.0.2.2:51832 allowed-ips 10.91.0.2/32,fd91::2/128
	n2 wg set "$IFB" private-key "$(key_of b)" listen-port 51832 \
		peer "$(pub_of a)" allowed-ips 10.91.0.1/32,fd91::1/128
	addr_up "$NS1" "$IFA" 10.91.0.1/24 fd91::1/64
	addr_up "$NS2" "$IFB" 10.91.0.2/24 fd91::2/64
	ping_ok "$NS1" 10.91.0.2 >/dev/null || true
	if [ "$cfg" = all ] && ! grep -q 'tun(tso,uso)' "$T/$IFB.log" 2>/dev/null; then
		diag "$(cat "$T/$IFB.log" 2>/dev/null)"
	fi

	for addr in 10.91.0.2 fd91::2; do
		read -r got bad writes < <(burst "$IFB" "$addr" $((5400 + round * 10 + ${#addr})))
		diag "[$cfg] $addr: $got of $N datagrams intact, $bad damaged, $writes TUN writes"
		check "[$cfg] $addr: no datagram damaged, at least 90 % arrived" \
			eval '[ "$bad" = 0 ] && [ "$got" -ge $((N * 9 / 10)) ]'
		if [ "$cfg" = all ]; then
			check "[$cfg] $addr: coalesced, fewer than half as many TUN writes as datagrams" \
				eval '[ $((writes * 2)) -lt "$got" ]'
		else
			check "[$cfg] $addr: GRO off, a TUN write per datagram" \
				eval '[ "$writes" -ge "$got" ]'
		fi
	done
	check "[$cfg] tapird still running" kill -0 "${DAEMON_PID[$IFB]}"
	stop_daemon "$IFA"
	stop_daemon "$IFB"
done
