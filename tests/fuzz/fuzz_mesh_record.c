// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for what tapir mesh reads from etcd (cli/mesh_record.c, cli/mesh_trust.c):
 * host records, network configs, revocations, revocation lists, certificates and the keys they
 * are stored under. A record that parses must format back to one that parses to the same host;
 * a revocation or a list must never verify for an admin key whose secret half nobody has;
 * nothing may crash.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tapir_mesh_net net0 = {.name = "f",
						   .cidr_addr = 0x0a2a0000,
						   .cidr_len = 16,
						   .subnet_len = 24,
						   .port = 1,
						   .mtu = 1420};
	static const uint8_t admin[32] = {0x3b, 0x6a, 0x27, 0xbc, 0xce, 0xb6, 0xa4, 0x2d};
	struct tapir_mesh_net net = net0;
	struct tapir_mesh_revocation rv;
	struct tapir_mesh_revlist l;
	struct tapir_mesh_cert c;
	struct tapir_mesh_host h, back;
	uint8_t key[32], sig[64];
	const char *why;
	char *s;

	if (sodium_init() < 0)
		abort();
	tapir_mesh_net_parse(&net, (const char *)data, size, &why);
	tapir_mesh_key_revoked("f", (const char *)data, size, key);
	tapir_mesh_revocation_decode((const char *)data, size, &rv, sig);
	if (tapir_mesh_revocation_verify((const char *)data, size, admin, "f", &rv, &why) == 0 ||
	    tapir_mesh_revlist_verify((const char *)data, size, admin, "f", &l, &why) == 0 ||
	    l.keys)
		abort();
	s = strndup((const char *)data, size);
	if (s)
		tapir_mesh_cert_decode(s, &c, sig);
	free(s);
	net = net0;
	if (tapir_mesh_host_parse(&net, 3, (const char *)data, size, &h, &why))
		return 0;
	s = tapir_mesh_host_format(&net, &h);
	if (!s || tapir_mesh_host_parse(&net, 3, s, strlen(s), &back, &why) ||
	    memcmp(&h, &back, sizeof(h)))
		abort();
	free(s);
	return 0;
}
