// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the host records and network configs of tapir mesh
 * (cli/mesh_record.c), which come from etcd. A record that parses must format back to one that
 * parses to the same host; the network config parser must not crash either.
 */
#include <stdlib.h>
#include <string.h>

#include "mesh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tapir_mesh_net net = {.name = "f",
				     .cidr_addr = 0x0a2a0000,
				     .cidr_len = 16,
				     .subnet_len = 24,
				     .port = 1,
				     .mtu = 1420};
	struct tapir_mesh_host h, back;
	const char *why;
	char *s;

	tapir_mesh_net_parse(&net, (const char *)data, size, &why);
	net = (struct tapir_mesh_net){.name = "f",
				      .cidr_addr = 0x0a2a0000,
				      .cidr_len = 16,
				      .subnet_len = 24,
				      .port = 1,
				      .mtu = 1420};
	if (tapir_mesh_host_parse(&net, 3, (const char *)data, size, &h, &why))
		return 0;
	s = tapir_mesh_host_format(&net, &h);
	if (!s || tapir_mesh_host_parse(&net, 3, s, strlen(s), &back, &why) ||
	    memcmp(&h, &back, sizeof(h)))
		abort();
	free(s);
	return 0;
}
