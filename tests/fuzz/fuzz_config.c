// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the wg-quick config parser (src/control/config.c and config_keys.c). A
 * failed parse must leave the conf empty with a terminated message; a successful one must
 * serialise (config_uapi.c) to a UAPI request that the UAPI set parser accepts.
 */
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tapir_quick_conf zero;
	struct tapir_quick_conf q;
	struct tapir_conf back;
	char err[256];
	size_t len;
	char *req;
	int r =
	    tapir_config_parse((const char *)data, size, "fuzz", size & 1, &q, err, sizeof(err));

	if (!memchr(err, '\0', sizeof(err)) || (r && memcmp(&q, &zero, sizeof(q))))
		abort();
	if (r)
		return 0;
	req = tapir_conf_to_uapi_set(&q.wg, true, &len);
	if (!req || len < 7 || tapir_uapi_parse_set(req + 6, len - 7, &back, err, sizeof(err)))
		abort();
	tapir_conf_free(&back);
	free(req);
	tapir_quick_conf_free(&q);
	return 0;
}
