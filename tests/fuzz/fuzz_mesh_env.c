// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for subnet.env as tapir mesh cni reads it (cli/mesh_cni.c). A file that
 * parses must give a configuration that json-c reads back, whose range is the parsed subnet
 * and contains the gateway; nothing may crash or read past the input.
 */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tapir_mesh_cni_opts o = {.bridge = "cni0", .name = "tapir"};
	struct json_object *j, *v;
	struct tapir_mesh_env env;
	const char *why;
	char *text;

	if (tapir_mesh_env_parse((const char *)data, size, &env, &why))
		return 0;
	if (env.gateway <= env.subnet_addr || env.mtu < 576 || env.subnet_len <= env.network_len)
		abort();
	text = tapir_mesh_cni_format(&env, &o);
	j = text ? json_tokener_parse(text) : NULL;
	if (!j || !json_object_object_get_ex(j, "plugins", &v) ||
	    !(v = json_object_array_get_idx(v, 0)) || !json_object_object_get_ex(v, "mtu", &v) ||
	    json_object_get_int(v) != env.mtu)
		abort();
	json_object_put(j);
	free(text);
	return 0;
}
