#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Opt-in LZ4 compression between two tapird peers (issue 6). With `compression lz4` on both
# sides a compressible 32 MiB transfer puts far fewer bytes on the underlay than it carries and
# arrives byte for byte; 32 MiB of random bytes puts no more on the underlay than with
# compression off; when one side turns it off, the other sees that at once (CAPS) and sends
# uncompressed, and the transfer still arrives intact. Then the same over the TCP transport.
# Underlay bytes are the veth's own tx counter in the sending namespace. tapird only.
#
#   tapir-$$-1                                  tapir-$$-2
#   | tz$$a 10.81.0.1/24 |  veth 192.0.2.1/.2   | tz$$b 10.81.0.2/24 |
set -eu
. "$(dirname "$0")/lib.sh"

require_tapird_extension "compression"
require_cmds nc

plan 23

SIZE=$((32 * 1024 * 1024))
IFA="tz$$a"
IFB="tz$$b"
setup_underlay
keygen a
keygen b
start_daemon "$NS1" "$IMPL" "$IFA"
start_daemon "$NS2" "$IMPL" "$IFB"
n1 "$TAPIR" set "$IFA" private-key "$(key_of a)" listen-port 51831 \
	peer "$(pub_of b)" endpoint 192.0.2.2:51832 allowed-ips 10.81.0.2/32 compression lz4
n2 "$TAPIR" set "$IFB" private-key "$(key_of b)" listen-port 51832 tcp-listen on \
	peer "$(pub_of a)" allowed-ips 10.81.0.1/32 compression lz4
addr_up "$NS1" "$IFA" 10.81.0.1/24
addr_up "$NS2" "$IFB" 10.81.0.2/24

# compressible: text lines with a counter (LZ4 gets them to a small fraction, not to nothing)
seq -f "tapir line %08g: the quick brown fox jumps over the lazy dog, again and again" \
	1 1000000 | head -c "$SIZE" >"$T/text"
head -c "$SIZE" /dev/urandom >"$T/random"

lz4_stat() { show_stat "$1" "$2" compression "$3"; }
tx_bytes() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/tx_bytes"; }

# send FILE PORT: a -> b through the tunnel; sets SENT to the underlay bytes a's veth sent.
SENT=0
send()
{
	local before after
	before=$(tx_bytes "$NS1" veth1)
	tcp_transfer "$NS1" "$NS2" 10.81.0.2 "$2" "$1" 120 || return 1
	after=$(tx_bytes "$NS1" veth1)
	SENT=$((after - before))
	echo "underlay: $SENT bytes for $(size_of "$1") bytes of payload"
}
below_percent() { echo "$1 is $((100 * $1 / $2)) % of $2 (want < $3 %)"; [ $((100 * $1)) -lt $(($3 * $2)) ]; }
grew() { echo "$1: $2 -> $3"; [ "$3" -gt "$2" ]; }
same() { echo "$1: $2 -> $3"; [ "$3" -eq "$2" ]; }

check "ping across with compression on" ping_until "$NS1" 20 10.81.0.2
check_eq "a: compression for b is active (b announced LZ4)" "lz4 (active)" peer_compression "$NS1" "$IFA"
check_eq "b: compression for a is active" "lz4 (active)" peer_compression "$NS2" "$IFB"
check_eq "a: --json says compression_active" '"compression_active": true,' \
	eval 'n1 "$TAPIR" show "$IFA" --json | grep -o "\"compression_active\": true," | head -n 1'

# ---- compressible payload
c0=$(lz4_stat "$NS1" "$IFA" compressed)
d0=$(lz4_stat "$NS2" "$IFB" decompressed)
check "32 MiB of text a -> b with compression" send "$T/text" 5101
check_eq "received sha256 matches" "$(sha_of "$T/text")" sha_of "$T/recv.5101"
text_on=$SENT
diag "text with lz4: $text_on underlay bytes for $SIZE of payload ($((100 * text_on / SIZE)) %)"
check "the underlay carried less than 60 % of the payload" below_percent "$text_on" "$SIZE" 60
check "a counted compressed packets" grew compressed "$c0" "$(lz4_stat "$NS1" "$IFA" compressed)"
check "b counted decompressed frames" grew decompressed "$d0" "$(lz4_stat "$NS2" "$IFB" decompressed)"

# ---- random payload: compression on costs nothing on the wire
i0=$(lz4_stat "$NS1" "$IFA" incompressible)
check "32 MiB of random bytes a -> b with compression" send "$T/random" 5102
check_eq "received sha256 matches" "$(sha_of "$T/random")" sha_of "$T/recv.5102"
random_on=$SENT
check "a counted the random packets as incompressible" \
	grew incompressible "$i0" "$(lz4_stat "$NS1" "$IFA" incompressible)"

# ---- b turns compression off: a learns it at once and sends uncompressed
n2 "$TAPIR" set "$IFB" peer "$(pub_of a)" compression off
wait_for "a to see that b no longer announces LZ4" 10 \
	eval '[ "$(peer_compression "$NS1" "$IFA")" = "lz4 (not announced by the peer)" ]' || true
check_eq "a: b no longer announces LZ4" "lz4 (not announced by the peer)" peer_compression "$NS1" "$IFA"
check_eq "b: compression for a is off" "off" peer_compression "$NS2" "$IFB"
c1=$(lz4_stat "$NS1" "$IFA" compressed)
check "32 MiB of random bytes a -> b, compression off on b" send "$T/random" 5103
random_off=$SENT
diag "random bytes: $random_on underlay bytes with lz4, $random_off without ($((100 * random_off / SIZE)) % of the payload)"
check "random bytes: with compression on at most 1 % more underlay bytes than off" \
	eval 'echo "on $random_on, off $random_off"; [ $((100 * random_on)) -le $((101 * random_off)) ]'
check "32 MiB of text a -> b, compression off on b" send "$T/text" 5104
check_eq "received sha256 matches (uncompressed interop)" "$(sha_of "$T/text")" sha_of "$T/recv.5104"
check "the text went uncompressed: more than 100 % of the payload on the underlay" \
	eval 'echo "$SENT for $SIZE"; [ "$SENT" -gt "$SIZE" ]'
check "a compressed nothing while b had it off" same compressed "$c1" "$(lz4_stat "$NS1" "$IFA" compressed)"

# ---- over the TCP transport, compression back on
n2 "$TAPIR" set "$IFB" peer "$(pub_of a)" compression lz4
n1 "$TAPIR" set "$IFA" peer "$(pub_of b)" endpoint tcp://192.0.2.2:51832
check "32 MiB of text a -> b over TCP with compression" send "$T/text" 5105
check_eq "received sha256 matches over TCP" "$(sha_of "$T/text")" sha_of "$T/recv.5105"
check "over TCP the underlay carried less than 60 % of the payload" below_percent "$SENT" "$SIZE" 60
