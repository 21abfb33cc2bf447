// SPDX-License-Identifier: MIT
/*
 * Unit tests for the values of the config parser's keys (src/control/config_keys.c): each
 * value form of the WireGuard and wg-quick keys, tapir up's TAP keys (Mode, Bridge, Forward,
 * MACAge, MACs) with the 16-MAC limit and one peer per pinned MAC, and Offload and Workers.
 * Files are parsed through config_fixture.c, from an exact-size heap copy.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_fixture.h"
#include "device.h"
#include "encoding.h"

static void test_value_forms(void **state)
{
	struct tapir_quick_conf q;

	assert_int_equal(cfg_parse("[Interface]\nFwMark = off\nTable = off\nSaveConfig = True\n"
				   "ListenPort = 0\nMTU = 68\n",
				   &q),
			 0);
	assert_true(q.wg.has_fwmark);
	assert_int_equal(q.wg.fwmark, 0);
	assert_int_equal(q.table, TAPIR_TABLE_OFF);
	assert_true(q.save_config);
	assert_int_equal(q.mtu, 68);
	tapir_quick_conf_free(&q);

	assert_int_equal(cfg_parse("[Interface]\nFwMark = 4294967295\nTable = main\n", &q), 0);
	assert_int_equal(q.wg.fwmark, 4294967295u);
	assert_int_equal(q.table, TAPIR_TABLE_NUMBER);
	assert_int_equal(q.table_number, 254);
	tapir_quick_conf_free(&q);

	assert_int_equal(cfg_parse("[Interface]\nFwMark = 0xffffffff\nTable = auto\n", &q), 0);
	assert_int_equal(q.wg.fwmark, 0xffffffffu);
	assert_int_equal(q.table, TAPIR_TABLE_AUTO);
	tapir_quick_conf_free(&q);

	/* A later value replaces an earlier one, as in wg(8). */
	assert_int_equal(cfg_parse("[Peer]\nPublicKey=" PUB1 "\nEndpoint=host-a:1\n"
				   "Endpoint=192.0.2.9:2\nEndpoint=host_b.example:65535\n",
				   &q),
			 0);
	assert_false(q.wg.peers[0].has_endpoint);
	assert_string_equal(q.endpoints[0].host, "host_b.example");
	assert_int_equal(q.endpoints[0].port, 65535);
	tapir_quick_conf_free(&q);
}

static void test_tap_file(void **state)
{
	static const uint8_t want[3][6] = {
	    {2, 0, 0, 0, 0, 1}, {2, 0xab, 0xcd, 0, 0, 2}, {6, 0, 0, 0, 0, 3}};
	struct tapir_quick_conf q;

	assert_int_equal(cfg_parse(tap_file, &q), 0);
	assert_string_equal(cfg_err, "");
	assert_int_equal(q.mode, TAPIR_MODE_TAP);
	assert_string_equal(q.bridge, "br-lan.10");
	assert_true(q.wg.has_forward);
	assert_true(q.wg.is_forward);
	assert_true(q.wg.has_mac_age);
	assert_int_equal(q.wg.mac_age_s, 120);
	assert_int_equal(q.n_addresses, 1);
	assert_int_equal(q.wg.n_peers, 2);
	assert_int_equal(q.wg.peers[0].n_pinned_macs, 3);
	assert_memory_equal(q.wg.peers[0].pinned_macs, want, sizeof(want));
	assert_false(q.wg.peers[0].replace_macs);
	assert_int_equal(q.wg.peers[0].n_allowed_ips, 0);
	assert_int_equal(q.wg.peers[1].n_pinned_macs, 0);
	tapir_quick_conf_free(&q);
	assert_zeroed(&q);
}

static void test_tap_value_forms(void **state)
{
	static const struct {
		const char *text;
		bool is_forward;
	} forwards[] = {
	    {"on", true}, {"ON", true}, {"true", true}, {"off", false}, {"False", false}};
	struct tapir_quick_conf q;
	char text[128];

	for (size_t i = 0; i < sizeof(forwards) / sizeof(forwards[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nMode = tap\nForward = %s\n",
			 forwards[i].text);
		assert_int_equal(cfg_parse(text, &q), 0);
		assert_true(q.wg.has_forward);
		assert_int_equal(q.wg.is_forward, forwards[i].is_forward);
		tapir_quick_conf_free(&q);
	}
	assert_int_equal(cfg_parse("[Interface]\nMode = tap\nMACAge = 1\n", &q), 0);
	assert_int_equal(q.wg.mac_age_s, 1);
	tapir_quick_conf_free(&q);
	assert_int_equal(cfg_parse("[Interface]\nMode = tap\nMACAge = 86400\n", &q), 0);
	assert_int_equal(q.wg.mac_age_s, 86400);
	tapir_quick_conf_free(&q);
	/* a later value replaces an earlier one; 15 bytes is the longest interface name */
	assert_int_equal(
	    cfg_parse("[Interface]\nMode = tap\nBridge = a\nBridge = br-0123456789ab\n", &q), 0);
	assert_string_equal(q.bridge, "br-0123456789ab");
	tapir_quick_conf_free(&q);
	/* the defaults: tun, no bridge, no extension key */
	assert_int_equal(cfg_parse("[Interface]\nMode = tun\n[Peer]\nPublicKey = " PUB1
				   "\nAllowedIPs = 10.0.0.0/8\n",
				   &q),
			 0);
	assert_int_equal(q.mode, TAPIR_MODE_TUN);
	assert_null(q.bridge);
	assert_false(q.wg.has_forward || q.wg.has_mac_age);
	tapir_quick_conf_free(&q);
	assert_int_equal(cfg_parse("[Interface]\nMode = tap\nMode = tun\n", &q), 0);
	assert_int_equal(q.mode, TAPIR_MODE_TUN);
	tapir_quick_conf_free(&q);
}

/* 16 MACs per peer, as tapird keeps; the 17th is an error naming the key. */
static void test_tap_mac_limit(void **state)
{
	struct tapir_quick_conf q;
	char text[1024];
	size_t off;

	off = (size_t)snprintf(text, sizeof(text),
			       "[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = ");
	for (unsigned i = 1; i <= TAPIR_CONF_MAX_PINNED_MACS; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s02:00:00:00:00:%02x",
					i > 1 ? ", " : "", i);
	snprintf(text + off, sizeof(text) - off, "\n");
	assert_int_equal(cfg_parse(text, &q), 0);
	assert_int_equal(q.wg.peers[0].n_pinned_macs, TAPIR_CONF_MAX_PINNED_MACS);
	assert_int_equal(q.wg.peers[0].pinned_macs[15][5], 16);
	tapir_quick_conf_free(&q);

	snprintf(text + off, sizeof(text) - off, "\nMACs = 02:00:00:00:00:ff\n");
	assert_int_equal(cfg_parse(text, &q), -EINVAL);
	assert_non_null(strstr(cfg_err, "test.conf:6:"));
	assert_non_null(strstr(cfg_err, "too many MACs"));
	assert_non_null(strstr(cfg_err, "(key MACs)"));
	assert_zeroed(&q);
}

/* A pinned MAC belongs to one peer (issue 13): the same MAC for two peers is an error. */
static void test_tap_mac_one_peer(void **state)
{
	struct tapir_quick_conf q;

	assert_int_equal(cfg_parse("[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1
				   "\nMACs = 02:00:00:00:00:01, 02:00:00:00:00:01\n",
				   &q),
			 0); /* twice for one peer: harmless */
	tapir_quick_conf_free(&q);
	assert_int_equal(cfg_parse("[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1
				   "\nMACs = 02:00:00:00:00:01\n[Peer]\nPublicKey = " PUB2
				   "\nMACs = 02:00:00:00:00:02\nMACs = 02:00:00:00:00:01\n",
				   &q),
			 -EINVAL);
	assert_non_null(strstr(cfg_err, "test.conf:9:"));
	assert_non_null(strstr(cfg_err, "already pinned to another peer"));
	assert_non_null(strstr(cfg_err, "(key MACs)"));
	assert_zeroed(&q);
}

/* Offload and Workers: tapird's --offload and --workers, from the [Interface] section. */
static void test_offload_workers(void **state)
{
	static const struct {
		const char *value;
		unsigned int bits;
		const char *canonical;
	} lists[] = {
	    {"all", TAPIR_OFFLOAD_ALL, "tun,gso,gro"},
	    {"none", 0, "none"},
	    {"gro", TAPIR_OFFLOAD_GRO, "gro"},
	    {"gso , tun", TAPIR_OFFLOAD_GSO | TAPIR_OFFLOAD_TUN, "tun,gso"},
	    {"tun,gro,tun", TAPIR_OFFLOAD_TUN | TAPIR_OFFLOAD_GRO, "tun,gro"},
	    {"none,gso", TAPIR_OFFLOAD_GSO, "gso"},
	};
	static const char *const bad[] = {
	    "", "tun,", ",gso", "tun gso", "TSO", "tun,,gro", "all2", "gso;gro",
	};
	static const char *const bad_workers[] = {"0",	"63", "-1",
						  "2x", "",   "99999999999999999999"};
	struct tapir_quick_conf q;
	char text[128], canonical[TAPIR_OFFLOAD_LIST_MAX];

	assert_int_equal(cfg_parse("[Interface]\nPrivateKey = " PRIV "\n", &q), 0);
	assert_false(q.has_offloads);
	assert_int_equal(q.workers, 0);
	tapir_quick_conf_free(&q);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nOffload = %s\nWorkers = %zu\n",
			 lists[i].value, i + 1);
		assert_int_equal(cfg_parse(text, &q), 0);
		assert_true(q.has_offloads);
		assert_int_equal(q.offloads, lists[i].bits);
		assert_int_equal(q.workers, i + 1);
		tapir_offload_format(q.offloads, canonical, sizeof(canonical));
		assert_string_equal(canonical, lists[i].canonical);
		tapir_quick_conf_free(&q);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nOffload = %s\n", bad[i]);
		assert_int_equal(cfg_parse(text, &q), -EINVAL);
		assert_non_null(strstr(cfg_err, "test.conf:2:"));
		assert_non_null(strstr(cfg_err, "(key Offload)"));
	}
	for (size_t i = 0; i < sizeof(bad_workers) / sizeof(bad_workers[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nWorkers = %s\n", bad_workers[i]);
		assert_int_equal(cfg_parse(text, &q), -EINVAL);
		assert_non_null(strstr(cfg_err, "(key Workers)"));
	}
	assert_int_equal(cfg_parse("[Interface]\nWorkers = 62\n", &q), 0);
	assert_int_equal(q.workers, 62);
	tapir_quick_conf_free(&q);
	/* wg(8) files take no tapir key */
	assert_int_equal(cfg_parse_mode("[Interface]\nOffload = none\n", true, &q), -EINVAL);
	assert_int_equal(cfg_parse_mode("[Interface]\nWorkers = 1\n", true, &q), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_value_forms),	     cmocka_unit_test(test_tap_file),
	    cmocka_unit_test(test_tap_value_forms),  cmocka_unit_test(test_tap_mac_limit),
	    cmocka_unit_test(test_tap_mac_one_peer), /* one peer per pinned MAC */
	    cmocka_unit_test(test_offload_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
