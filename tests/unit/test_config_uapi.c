// SPDX-License-Identifier: MIT
/*
 * Unit tests for the UAPI set request built from a parsed config (src/control/config_uapi.c):
 * a round trip through the UAPI set parser with and without replace, the check that a stock
 * file serialises without any tapir_ key, the TAP keys' round trip, and the extension keys
 * (Transport, Compression, TCPListen, MetricsListen) from file to request and back, with their
 * bad values refused by both parsers.
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

static void assert_same_peer(const struct tapir_conf_peer *a, const struct tapir_conf_peer *b)
{
	assert_memory_equal(a->public_key, b->public_key, 32);
	assert_int_equal(a->has_preshared_key, b->has_preshared_key);
	if (a->has_preshared_key)
		assert_memory_equal(a->preshared_key, b->preshared_key, 32);
	assert_int_equal(a->has_endpoint, b->has_endpoint);
	if (a->has_endpoint)
		assert_memory_equal(&a->endpoint, &b->endpoint, sizeof(a->endpoint));
	assert_int_equal(a->has_persistent_keepalive, b->has_persistent_keepalive);
	assert_int_equal(a->persistent_keepalive_interval, b->persistent_keepalive_interval);
	assert_int_equal(a->n_allowed_ips, b->n_allowed_ips);
	for (size_t i = 0; i < a->n_allowed_ips; i++) {
		assert_int_equal(a->allowed_ips[i].family, b->allowed_ips[i].family);
		assert_int_equal(a->allowed_ips[i].cidr, b->allowed_ips[i].cidr);
		assert_memory_equal(a->allowed_ips[i].addr, b->allowed_ips[i].addr, 16);
	}
}

static void round_trip(bool is_replace)
{
	struct tapir_quick_conf q;
	struct tapir_conf back;
	size_t len;
	char *req;

	assert_int_equal(cfg_parse(full_file, &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, is_replace, &len);
	assert_non_null(req);
	assert_int_equal(strlen(req), len);
	assert_true(len > 8);
	assert_memory_equal(req, "set=1\n", 6);
	assert_memory_equal(req + len - 2, "\n\n", 2);
	assert_int_equal(strstr(req, "\n\n") - req, (ptrdiff_t)len - 2);
	assert_true(!strstr(req, "replace_peers=true\n") == !is_replace);
	assert_true(!strstr(req, "replace_allowed_ips=true\n") == !is_replace);
	assert_non_null(strstr(req, "endpoint=[2001:db8::2]:443\n"));
	assert_non_null(strstr(req, "fwmark=4660\n"));
	/* a stock file: a stock request, nothing a stock daemon would refuse */
	assert_null(strstr(req, "tapir_"));
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, cfg_err, sizeof(cfg_err)),
			 0);
	assert_int_equal(back.has_private_key, true);
	assert_memory_equal(back.private_key, q.wg.private_key, 32);
	assert_int_equal(back.listen_port, q.wg.listen_port);
	assert_int_equal(back.fwmark, q.wg.fwmark);
	assert_int_equal(back.replace_peers, is_replace);
	assert_int_equal(back.n_peers, q.wg.n_peers);
	for (size_t i = 0; i < back.n_peers; i++) {
		assert_same_peer(&q.wg.peers[i], &back.peers[i]);
		assert_int_equal(back.peers[i].replace_allowed_ips, is_replace);
	}
	tapir_conf_free(&back);
	explicit_bzero(req, len);
	free(req);
	tapir_quick_conf_free(&q);
}

static void test_round_trip(void **state)
{
	round_trip(true);
	round_trip(false);
}

static void test_serialise_empty(void **state)
{
	struct tapir_conf conf = {0};
	size_t len = 0;
	char *req = tapir_conf_to_uapi_set(&conf, false, &len);

	assert_string_equal(req, "set=1\n\n");
	assert_int_equal(len, 7);
	free(req);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void tap_round_trip(bool is_replace)
{
	struct tapir_quick_conf q;
	struct tapir_conf back;
	size_t len;
	char *req;

	assert_int_equal(cfg_parse(tap_file, &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, is_replace, &len);
	assert_non_null(req);
	assert_non_null(strstr(req, "tapir_forward=true\n"));
	assert_non_null(strstr(req, "tapir_mac_age=120\n"));
	assert_non_null(strstr(req, "\ntapir_mac=02:00:00:00:00:01\ntapir_mac=02:ab:cd:00:00:02\n"
				    "tapir_mac=06:00:00:00:00:03\n"));
	/* only the peer with MACs replaces its pinned set */
	assert_int_equal(count_of(req, "tapir_replace_macs=true\n"), is_replace ? 1 : 0);
	assert_int_equal(count_of(req, "tapir_"), is_replace ? 6 : 5);
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, cfg_err, sizeof(cfg_err)),
			 0);
	assert_true(back.has_forward && back.is_forward);
	assert_true(back.has_mac_age);
	assert_int_equal(back.mac_age_s, 120);
	assert_int_equal(back.n_peers, 2);
	assert_int_equal(back.peers[0].replace_macs, is_replace);
	assert_int_equal(back.peers[0].n_pinned_macs, 3);
	assert_memory_equal(back.peers[0].pinned_macs, q.wg.peers[0].pinned_macs, 3 * 6);
	assert_false(back.peers[1].replace_macs);
	assert_int_equal(back.peers[1].n_pinned_macs, 0);
	tapir_conf_free(&back);
	explicit_bzero(req, len);
	free(req);
	tapir_quick_conf_free(&q);
}

static void test_tap_round_trip(void **state)
{
	struct tapir_quick_conf q;
	size_t len;
	char *req;

	tap_round_trip(true);
	tap_round_trip(false);

	/* Mode = tap alone, or Forward = off: only what the file says */
	assert_int_equal(cfg_parse("[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\n", &q),
			 0);
	req = tapir_conf_to_uapi_set(&q.wg, true, &len);
	assert_non_null(req);
	assert_null(strstr(req, "tapir_"));
	free(req);
	tapir_quick_conf_free(&q);
	assert_int_equal(cfg_parse("[Interface]\nMode = tap\nForward = off\n", &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, true, &len);
	assert_non_null(req);
	assert_string_equal(req, "set=1\ntapir_forward=false\nreplace_peers=true\n\n");
	free(req);
	tapir_quick_conf_free(&q);
}

/* The per-peer tapir keys for the TCP transport and compression, and their bad values. */
static void test_transport_compression(void **state)
{
	static const char file[] =
	    "[Interface]\nPrivateKey = " PRIV "\n"
	    "[Peer]\nPublicKey = " PUB1 "\n"
	    "Endpoint = tcp://192.0.2.2:443\nCompression = LZ4\n"
	    "[Peer]\nPublicKey = " PUB2 "\n"
	    "Endpoint = 192.0.2.3:51820\nTransport = tcp\nCompression = off\n";
	struct tapir_quick_conf q;
	struct tapir_conf back;
	size_t len;
	char *req;

	assert_int_equal(cfg_parse(file, &q), 0);
	assert_string_equal(cfg_err, "");
	assert_true(q.wg.peers[0].has_transport && q.wg.peers[0].is_tcp);
	assert_true(q.wg.peers[0].has_compression && q.wg.peers[0].is_lz4);
	assert_true(q.wg.peers[1].has_transport && q.wg.peers[1].is_tcp);
	assert_true(q.wg.peers[1].has_compression && !q.wg.peers[1].is_lz4);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_non_null(req);
	assert_non_null(strstr(req, "endpoint=192.0.2.2:443\ntapir_transport=tcp\n"
				    "tapir_compression=lz4\n"));
	assert_non_null(strstr(req, "tapir_compression=off\n"));
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, cfg_err, sizeof(cfg_err)),
			 0);
	assert_true(back.peers[0].has_compression && back.peers[0].is_lz4);
	assert_true(back.peers[1].has_compression && !back.peers[1].is_lz4);
	assert_true(back.peers[0].has_transport && back.peers[0].is_tcp);
	tapir_conf_free(&back);
	explicit_bzero(req, len);
	free(req);
	tapir_quick_conf_free(&q);

	assert_int_equal(cfg_parse("[Peer]\nPublicKey = " PUB1 "\nCompression = zstd\n", &q),
			 -EINVAL);
	assert_non_null(strstr(cfg_err, "Compression"));
	assert_int_equal(cfg_parse("[Peer]\nPublicKey = " PUB1 "\nTransport = sctp\n", &q),
			 -EINVAL);
	assert_non_null(strstr(cfg_err, "Transport"));
	assert_int_equal(cfg_parse("[Peer]\nPublicKey = " PUB1 "\nEndpoint = tcp://\n", &q),
			 -EINVAL);
	/* UAPI: only lz4 and off */
	assert_int_equal(
	    tapir_uapi_parse_set("public_key=" PUB1_HEX "\ntapir_compression=gzip\n",
				 strlen("public_key=" PUB1_HEX "\ntapir_compression=gzip\n"), &back,
				 cfg_err, sizeof(cfg_err)),
	    -EINVAL);
	tapir_conf_free(&back);
}

/* TCPListen = on|off (any mode): tapir_tcp_listen in the request, only when the file sets it. */
static void test_tcp_listen(void **state)
{
	static const char *const bad[] = {"yes", "", "1", "on on"};
	struct tapir_quick_conf q;
	struct tapir_conf back;
	char text[128];
	size_t len;
	char *req;

	assert_int_equal(cfg_parse("[Interface]\nTCPListen = On\n", &q), 0);
	assert_true(q.wg.has_tcp_listen && q.wg.is_tcp_listen);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_string_equal(req, "set=1\ntapir_tcp_listen=true\n\n");
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, cfg_err, sizeof(cfg_err)),
			 0);
	assert_true(back.has_tcp_listen && back.is_tcp_listen);
	tapir_conf_free(&back);
	free(req);
	tapir_quick_conf_free(&q);

	assert_int_equal(cfg_parse("[Interface]\nTCPListen = false\n", &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_string_equal(req, "set=1\ntapir_tcp_listen=false\n\n");
	free(req);
	tapir_quick_conf_free(&q);

	/* not given: the daemon's default (off), and no extension key a stock daemon would see */
	assert_int_equal(cfg_parse("[Interface]\nListenPort = 1\n", &q), 0);
	assert_false(q.wg.has_tcp_listen);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_null(strstr(req, "tapir_"));
	free(req);
	tapir_quick_conf_free(&q);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nTCPListen = %s\n", bad[i]);
		assert_int_equal(cfg_parse(text, &q), -EINVAL);
		assert_non_null(strstr(cfg_err, "test.conf:2:"));
		assert_non_null(strstr(cfg_err, "(key TCPListen)"));
		snprintf(text, sizeof(text), "tapir_tcp_listen=%s\n", bad[i]);
		assert_int_equal(
		    tapir_uapi_parse_set(text, strlen(text), &back, cfg_err, sizeof(cfg_err)),
		    -EINVAL);
		assert_non_null(strstr(cfg_err, "tapir_tcp_listen"));
	}
	/* [Interface] only */
	assert_int_equal(cfg_parse("[Peer]\nPublicKey = " PUB1 "\nTCPListen = on\n", &q), -EINVAL);
}

/* MetricsListen = ADDR:PORT|off: tapir_metrics_listen in the request, read back the same by the
 * UAPI parser; a name, port 0 or no port are refused by both. */
static void test_metrics_listen(void **state)
{
	static const struct {
		const char *value, *request; /* NULL request: refused */
	} rows[] = {
	    /* 0 */ {"127.0.0.1:9586", "set=1\ntapir_metrics_listen=127.0.0.1:9586\n\n"},
	    /* 1 */ {"[::1]:9586", "set=1\ntapir_metrics_listen=[::1]:9586\n\n"},
	    /* 2 */ {"Off", "set=1\ntapir_metrics_listen=off\n\n"},
	    /* 3 */ {"localhost:9586", NULL},
	    /* 4 */ {"127.0.0.1:0", NULL},
	    /* 5 */ {"127.0.0.1", NULL},
	    /* 6 */ {"", NULL},
	};
	struct tapir_quick_conf q;
	struct tapir_conf back;
	char text[128];
	size_t len;
	char *req;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nMetricsListen = %s\n", rows[i].value);
		if (!rows[i].request) {
			assert_int_equal(cfg_parse(text, &q), -EINVAL);
			assert_non_null(strstr(cfg_err, "(key MetricsListen)"));
			snprintf(text, sizeof(text), "tapir_metrics_listen=%s\n", rows[i].value);
			assert_int_equal(tapir_uapi_parse_set(text, strlen(text), &back, cfg_err,
							      sizeof(cfg_err)),
					 -EINVAL);
			continue;
		}
		assert_int_equal(cfg_parse(text, &q), 0);
		req = tapir_conf_to_uapi_set(&q.wg, false, &len);
		if (strcmp(req, rows[i].request))
			fail_msg("row %zu: %s", i, req);
		assert_int_equal(
		    tapir_uapi_parse_set(req + 6, len - 7, &back, cfg_err, sizeof(cfg_err)), 0);
		assert_true(back.has_metrics_listen);
		assert_int_equal(back.metrics_listen.sa.sa_family,
				 q.wg.metrics_listen.sa.sa_family);
		tapir_conf_free(&back);
		free(req);
		tapir_quick_conf_free(&q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	   cmocka_unit_test(test_serialise_empty),
	    cmocka_unit_test(test_tap_round_trip), cmocka_unit_test(test_transport_compression),
	    cmocka_unit_test(test_tcp_listen),	   cmocka_unit_test(test_metrics_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
