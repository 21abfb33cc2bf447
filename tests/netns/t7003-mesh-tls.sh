#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tapir mesh over etcd with TLS and client certificates, and endpoint fail-over (issue 16): etcd
# serves https only and demands a client certificate from the test's CA. Checks: init and two
# agents work with --cacert/--cert/--key while the first endpoint of --etcd refuses connections
# (fail-over to the second); the two hosts ping each other; without a client certificate, with
# one from another CA, or without trusting etcd's CA, every call fails.
#
#   tapir-$$-1, tapir-$$-2 (hosts)                    tapir-$$-9 (hub)
#   +---------------------------------+              +-----------------------------------+
#   | tapird tm$$N, agent over https  |==== uN ======| etcd https://192.0.2.100:2379      |
#   | --etcd https://...:2999,...:2379|              | (client-cert-auth; :2999 closed)  |
#   +---------------------------------+              +-----------------------------------+
set -eu
. "$(dirname "$0")/lib.sh"

CLI=$(dirname "$IMPL")/tapir
[ -x "$CLI" ] || skip_all "no tapir CLI next to $IMPL"
require_cmds etcd etcdctl openssl
"$CLI" mesh --help >/dev/null 2>&1 || skip_all "this tapir has no mesh command"

plan 7

# a CA, etcd's certificate for 192.0.2.100, a client certificate; and a second CA's client
pki()
{
	local d=$T/pki
	mkdir -p "$d"
	for ca in ca rogue; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-subj "/CN=t7003 $ca" -keyout "$d/$ca.key" -out "$d/$ca.crt"
	done
	# leaf NAME CA EXT
	leaf()
	{
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" \
			-keyout "$d/$1.key" -out "$d/$1.csr"
		printf '%s\n' "$3" >"$d/$1.ext"
		openssl x509 -req -in "$d/$1.csr" -CA "$d/$2.crt" -CAkey "$d/$2.key" \
			-CAcreateserial -days 2 -extfile "$d/$1.ext" -out "$d/$1.crt"
	}
	leaf server ca "subjectAltName=IP:192.0.2.100
extendedKeyUsage=serverAuth,clientAuth"
	leaf client ca "extendedKeyUsage=clientAuth"
	leaf intruder rogue "extendedKeyUsage=clientAuth"
}
pki >"$T/pki.log" 2>&1 || bail_out "openssl failed: $(tail -3 "$T/pki.log")"
P=$T/pki

NET=t7003
ETCD=https://192.0.2.100:2379
ETCD_TLS_ARGS=(--cert-file "$P/server.crt" --key-file "$P/server.key" --client-cert-auth
	--trusted-ca-file "$P/ca.crt")
CTL_TLS_ARGS=(--cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key")
. "$(dirname "$0")/mesh-lib.sh"

mesh_start_etcd
for n in 1 2; do add_host "$n"; done

URLS="https://192.0.2.100:2999,$ETCD"
TLS=(--cacert "$P/ca.crt" --cert "$P/client.crt" --key "$P/client.key")
status() { hx 1 "$CLI" mesh status --etcd "$ETCD" --network "$NET" "$@"; }

check "init over https with a client certificate, the first endpoint down" \
	hx 1 "$CLI" mesh init --etcd "$URLS" --network "$NET" --cidr 10.60.0.0/16 "${TLS[@]}"
for n in 1 2; do
	# join's last arguments override the defaults: --etcd is given twice, the last one wins
	join "$n" --etcd "$URLS" "${TLS[@]}"
done
check "two hosts over TLS: each the other's peer" wait_for "1 peer each" 10 all_have 1 2 1
check "and they ping" matrix 1 2
check "the agents failed over from the closed endpoint" \
	grep -q 'etcd https://192.0.2.100:2999' "$T/agent1.log"
check_fails "no client certificate: refused" status --cacert "$P/ca.crt"
check_fails "a client certificate from another CA: refused" \
	status --cacert "$P/ca.crt" --cert "$P/intruder.crt" --key "$P/intruder.key"
check_fails "etcd's CA not trusted: refused" status --cert "$P/client.crt" --key "$P/client.key"
