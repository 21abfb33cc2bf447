// SPDX-License-Identifier: MIT
/*
 * Tests for cli/mesh_cni.c: a numbered table of subnet.env files (each bad one refused with
 * its reason and line, never half-parsed), the file the agent writes (cli/mesh_state.c) read
 * back, the options' checks, and the CNI configuration read back with json-c field by field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mesh.h"
#include "mesh_cni.h"

static const char GOOD[] = "NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\nMTU=1420\nIPMASQ=false\n";

static void test_env_parse(void **state)
{
	static const struct {
		const char *text;
		const char *why; /* NULL: parses */
		unsigned line;
	} rows[] = {
	    /* 0 */ {GOOD, NULL, 0},
	    /* 1 */ {"# c\n\nMTU=9000\nSUBNET=10.42.255.254/24\nNETWORK=10.42.0.0/16", NULL, 0},
	    /* 2 */ {"NETWORK=10.0.0.0/8\nSUBNET=10.1.2.65/26\nMTU=576\nX_Y=1\n", NULL, 0},
	    /* 3 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\n", "MTU is missing", 0},
	    /* 4 */ {"NETWORK=10.42.0.0/16\nMTU=1420\n", "SUBNET is missing", 0},
	    /* 5 */ {"SUBNET=10.42.3.1/24\nMTU=1420\n", "NETWORK is missing", 0},
	    /* 6 */ {"", "NETWORK is missing", 0},
	    /* 7 */ {"NETWORK=10.42.0.1/16\nSUBNET=10.42.3.1/24\nMTU=1420\n", "NETWORK is not", 1},
	    /* 8 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1\nMTU=1420\n", "SUBNET is not", 2},
	    /* 9 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/33\nMTU=1420\n", "SUBNET is not", 2},
	    /* 10 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/024\nMTU=1420\n", "SUBNET is not", 2},
	    /* 11 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.43.3.1/24\nMTU=1420\n", "not inside", 0},
	    /* 12 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.0/24\nMTU=1420\n", "broadcast", 0},
	    /* 13 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.255/24\nMTU=1420\n", "broadcast", 0},
	    /* 14 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/16\nMTU=1420\n", "longer than", 0},
	    /* 15 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/31\nMTU=1420\n", "longer than", 0},
	    /* 16 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\nMTU=575\n", "MTU is not", 3},
	    /* 17 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\nMTU=65536\n", "MTU is not", 3},
	    /* 18 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\nMTU=14x0\n", "MTU is not", 3},
	    /* 19 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\nMTU=\n", "MTU is not", 3},
	    /* 20 */ {"NETWORK=10.42.0.0/16\nSUBNET=10.42.3.1/24\nMTU=-1420\n", "MTU is not", 3},
	    /* 21 */ {"NETWORK=10.42.0.0/16\nNETWORK=10.42.0.0/16\n", "twice", 2},
	    /* 22 */ {"NETWORK=10.42.0.0/16\ngarbage\n", "not KEY=VALUE", 2},
	    /* 23 */ {"network=10.42.0.0/16\n", "not KEY=VALUE", 1},
	    /* 24 */ {"=1\n", "not KEY=VALUE", 1},
	    /* 25 */ {" NETWORK=10.42.0.0/16\n", "not KEY=VALUE", 1},
	    /* 26 */ {"NETWORK=\"10.42.0.0/16\"\n", "NETWORK is not", 1},
	    /* 27 */
	    {"NETWORK=10.42.0.0/16\r\nSUBNET=10.42.3.1/24\r\nMTU=1420\r\n", "NETWORK is", 1},
	    /* 28 */
	    {"NETWORK=10.42.0.0/16 \nSUBNET=10.42.3.1/24\nMTU=1420\n", "NETWORK is not", 1},
	    /* 29 */ {"NETWORK=10.42.0.0/16\nSUBNET=/24\nMTU=1420\n", "SUBNET is not", 2},
	    /* 30 */ {"NETWORK=0.0.0.0/0\nSUBNET=10.42.3.1/24\nMTU=1420\n", "0.0.0.0/0", 0},
	    /* 31 */ {"MTU=1420\nNETWORK=10.42.0.0/16\nMTU=1420\n", "twice", 3},
	};
	struct tapir_mesh_env env;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = tapir_mesh_env_parse(rows[i].text, strlen(rows[i].text), &env, &why);

		if (!rows[i].why && r != 0)
			fail_msg("row %zu refused: line %u: %s", i, env.line, why);
		if (rows[i].why && r == 0)
			fail_msg("row %zu accepted", i);
		if (rows[i].why && (!strstr(why, rows[i].why) || env.line != rows[i].line))
			fail_msg("row %zu: line %u: %s; expected line %u: %s", i, env.line, why,
				 rows[i].line, rows[i].why);
	}
	assert_int_equal(tapir_mesh_env_parse(GOOD, strlen(GOOD), &env, &why), 0);
	assert_int_equal(env.network_addr, 0x0a2a0000);
	assert_int_equal(env.network_len, 16);
	assert_int_equal(env.subnet_addr, 0x0a2a0300);
	assert_int_equal(env.gateway, 0x0a2a0301);
	assert_int_equal(env.subnet_len, 24);
	assert_int_equal(env.mtu, 1420);
}

/* The length bound, a NUL, an over-long line, and a prefix cut mid-file: no read past @len. */
static void test_env_bounds(void **state)
{
	enum { BIG_BYTES = TAPIR_MESH_ENV_MAX_BYTES + 2 };
	char *big = malloc(BIG_BYTES), line[200];
	struct tapir_mesh_env env;
	const char *why;

	(void)state;
	assert_non_null(big);
	memset(big, '#', BIG_BYTES);
	for (size_t i = 0; i + 1 < BIG_BYTES; i += 64)
		big[i] = '\n';
	memcpy(big, GOOD, strlen(GOOD));
	assert_int_equal(tapir_mesh_env_parse(big, TAPIR_MESH_ENV_MAX_BYTES, &env, &why), 0);
	assert_int_not_equal(tapir_mesh_env_parse(big, TAPIR_MESH_ENV_MAX_BYTES + 1, &env, &why),
			     0);
	assert_non_null(strstr(why, "larger"));
	free(big);
	assert_int_not_equal(tapir_mesh_env_parse(GOOD, sizeof(GOOD), &env, &why), 0);
	assert_non_null(strstr(why, "NUL"));
	snprintf(line, sizeof(line), "X=%0150d\n", 1);
	assert_int_not_equal(tapir_mesh_env_parse(line, strlen(line), &env, &why), 0);
	assert_non_null(strstr(why, "longer than 128"));
	/* "MTU=1420" cut to "MTU=1": under the minimum */
	assert_int_not_equal(tapir_mesh_env_parse(GOOD, strlen(GOOD) - 17, &env, &why), 0);
	assert_int_equal(env.line, 3);
	for (size_t n = 0; n < strlen(GOOD); n++)
		tapir_mesh_env_parse(GOOD, n, &env, &why);
}

/* What the agent writes (mesh_state.c) is what tapir mesh cni reads. */
static void test_env_written_by_agent(void **state)
{
	struct tapir_mesh_net net = {
	    .cidr_addr = 0x0a500000, .cidr_len = 12, .subnet_len = 28, .mtu = 9000};
	char dir[] = "/tmp/tapir-test-cni-XXXXXX", path[64], buf[512];
	struct tapir_mesh_env env;
	const char *why;
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(tapir_mesh_env_write(dir, &net, 300), 0);
	snprintf(path, sizeof(path), "%s/subnet.env", dir);
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	unlink(path);
	rmdir(dir);
	assert_int_equal(tapir_mesh_env_parse(buf, len, &env, &why), 0);
	assert_int_equal(env.network_addr, 0x0a500000);
	assert_int_equal(env.network_len, 12);
	assert_int_equal(env.subnet_addr, tapir_mesh_subnet_addr(&net, 300));
	assert_int_equal(env.gateway, tapir_mesh_subnet_addr(&net, 300) + 1);
	assert_int_equal(env.subnet_len, 28);
	assert_int_equal(env.mtu, 9000);
}

static void test_opts(void **state)
{
	static const struct {
		struct tapir_mesh_cni_opts o;
		const char *why; /* NULL: accepted */
	} rows[] = {
	    /* 0 */ {{"cni0", "tapir", NULL}, NULL},
	    /* 1 */ {{"br-mesh.0123456", "a.b_c-d", "/var/lib/x"}, NULL},
	    /* 2 */ {{"", "tapir", NULL}, "--bridge"},
	    /* 3 */ {{"br-mesh.01234567", "tapir", NULL}, "--bridge"},
	    /* 4 */ {{"a/b", "tapir", NULL}, "--bridge"},
	    /* 5 */ {{"a b", "tapir", NULL}, "--bridge"},
	    /* 6 */ {{"a:b", "tapir", NULL}, "--bridge"},
	    /* 7 */ {{"..", "tapir", NULL}, "--bridge"},
	    /* 8 */ {{"cni0", "-tapir", NULL}, "--name"},
	    /* 9 */ {{"cni0", "", NULL}, "--name"},
	    /* 10 */ {{"cni0", "a/b", NULL}, "--name"},
	    /* 11 */ {{"cni0", "a\"b", NULL}, "--name"},
	    /* 12 */ {{"cni0", "tapir", "rel/dir"}, "--data-dir"},
	    /* 13 */ {{"cni0", "tapir", ""}, "--data-dir"},
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = tapir_mesh_cni_check(&rows[i].o, &why);

		if (!rows[i].why && r != 0)
			fail_msg("row %zu refused: %s", i, why);
		if (rows[i].why && (r == 0 || strncmp(why, rows[i].why, strlen(rows[i].why))))
			fail_msg("row %zu: %s", i, r ? why : "accepted");
	}
}

static const char *get_str(struct json_object *o, const char *path)
{
	char copy[64], *save = NULL;
	struct json_object *v = o;

	snprintf(copy, sizeof(copy), "%s", path);
	for (char *k = strtok_r(copy, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
		if (k[0] >= '0' && k[0] <= '9')
			v = json_object_array_get_idx(v, (size_t)atoi(k));
		else if (!json_object_object_get_ex(v, k, &v))
			v = NULL;
		if (!v)
			return NULL;
	}
	return json_object_get_string(v);
}

static void test_format(void **state)
{
	struct tapir_mesh_cni_opts o = {"mbr0", "prod", "/tmp/ipam dir"};
	struct tapir_mesh_env env;
	struct json_object *j;
	const char *why;
	char *text;

	(void)state;
	assert_int_equal(tapir_mesh_env_parse(GOOD, strlen(GOOD), &env, &why), 0);
	text = tapir_mesh_cni_format(&env, &o);
	assert_non_null(text);
	assert_null(strstr(text, "\\/")); /* CIDRs as written, not "10.42.3.0\/24" */
	j = json_tokener_parse(text);
	assert_non_null(j);
	assert_string_equal(get_str(j, "cniVersion"), "1.0.0");
	assert_string_equal(get_str(j, "name"), "prod");
	assert_int_equal(json_object_array_length(json_object_object_get(j, "plugins")), 1);
	assert_string_equal(get_str(j, "plugins.0.type"), "bridge");
	assert_string_equal(get_str(j, "plugins.0.bridge"), "mbr0");
	assert_string_equal(get_str(j, "plugins.0.isGateway"), "true");
	assert_string_equal(get_str(j, "plugins.0.ipMasq"), "false");
	assert_string_equal(get_str(j, "plugins.0.mtu"), "1420");
	assert_string_equal(get_str(j, "plugins.0.ipam.type"), "host-local");
	assert_string_equal(get_str(j, "plugins.0.ipam.ranges.0.0.subnet"), "10.42.3.0/24");
	assert_string_equal(get_str(j, "plugins.0.ipam.ranges.0.0.gateway"), "10.42.3.1");
	assert_null(get_str(j, "plugins.0.ipam.ranges.1"));
	assert_null(get_str(j, "plugins.0.ipam.ranges.0.1"));
	assert_string_equal(get_str(j, "plugins.0.ipam.routes.0.dst"), "10.42.0.0/16");
	assert_string_equal(get_str(j, "plugins.0.ipam.routes.0.gw"), "10.42.3.1");
	assert_null(get_str(j, "plugins.0.ipam.routes.1"));
	assert_string_equal(get_str(j, "plugins.0.ipam.dataDir"), "/tmp/ipam dir");
	json_object_put(j);
	free(text);
	o.data_dir = NULL;
	text = tapir_mesh_cni_format(&env, &o);
	assert_non_null(text);
	assert_null(strstr(text, "dataDir"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_env_parse),
	    cmocka_unit_test(test_env_bounds),
	    cmocka_unit_test(test_env_written_by_agent),
	    cmocka_unit_test(test_opts),
	    cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
