// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the UAPI set parser (src/control/conf.c). Besides the sanitizers, it
 * checks that a failed parse leaves the conf empty and a successful one holds only valid data.
 */
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_valid_peer(const struct tapir_conf_peer *p)
{
	for (size_t i = 0; i < p->n_allowed_ips; i++) {
		const struct tapir_conf_allowed_ip *a = &p->allowed_ips[i];

		if (a->family == AF_INET6 ? a->cidr > 128 : a->family != AF_INET || a->cidr > 32)
			return 0;
	}
	return !p->has_endpoint || p->endpoint.sa.sa_family == AF_INET ||
	       p->endpoint.sa.sa_family == AF_INET6;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tapir_conf zero;
	struct tapir_conf conf;
	char err[256];
	int r = tapir_uapi_parse_set((const char *)data, size, &conf, err, sizeof(err));

	if (!memchr(err, '\0', sizeof(err)) || (r && memcmp(&conf, &zero, sizeof(conf))))
		abort();
	for (size_t i = 0; !r && i < conf.n_peers; i++)
		if (!is_valid_peer(&conf.peers[i]))
			abort();
	tapir_conf_free(&conf);
	return 0;
}
