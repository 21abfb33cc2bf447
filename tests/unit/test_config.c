// SPDX-License-Identifier: MIT
/*
 * Unit tests for the wg-quick config parser's lines, sections and messages
 * (src/control/config.c): a file using every key (comments, blanks, CRLF, any key case), the
 * defaults, many peers, a numbered table of bad files whose message must name file, line and
 * key and never leak a secret, a NUL byte, the setconf (wg-only) mode with the keys
 * `tapir strip` removes, and a NULL or short message buffer. The keys' values are
 * test_config_keys.c's, the UAPI request test_config_uapi.c's; the fixtures are
 * config_fixture.c's.
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

static void test_full_file(void **state)
{
	struct tapir_quick_conf q;
	const struct tapir_conf_peer *p;

	assert_int_equal(cfg_parse(full_file, &q), 0);
	assert_string_equal(cfg_err, "");
	assert_true(q.wg.has_private_key);
	assert_key(q.wg.private_key, PRIV);
	assert_true(q.wg.has_listen_port);
	assert_int_equal(q.wg.listen_port, 51820);
	assert_true(q.wg.has_fwmark);
	assert_int_equal(q.wg.fwmark, 0x1234);
	assert_int_equal(q.n_addresses, 3);
	assert_prefix(AF_INET, q.addresses[0].addr, q.addresses[0].cidr, "10.0.0.1/24");
	assert_int_equal(q.addresses[1].family, AF_INET6);
	assert_prefix(AF_INET6, q.addresses[1].addr, q.addresses[1].cidr, "fd00::1/64");
	assert_prefix(AF_INET, q.addresses[2].addr, q.addresses[2].cidr, "10.0.1.1/32");
	assert_int_equal(q.n_dns, 3);
	assert_string_equal(q.dns[0], "192.0.2.53");
	assert_string_equal(q.dns[1], "2001:db8::53");
	assert_string_equal(q.dns[2], "example.com");
	assert_int_equal(q.mtu, 1380);
	assert_int_equal(q.table, TAPIR_TABLE_NUMBER);
	assert_int_equal(q.table_number, 1234);
	assert_int_equal(q.n_pre_up, 2);
	assert_string_equal(q.pre_up[0], "echo pre-up %i one");
	assert_string_equal(q.pre_up[1], "echo pre-up two");
	assert_int_equal(q.n_post_up, 1);
	assert_string_equal(q.post_up[0], "iptables -A FORWARD -i %i -j ACCEPT");
	assert_int_equal(q.n_pre_down, 1);
	assert_string_equal(q.pre_down[0], "echo pre-down");
	assert_int_equal(q.n_post_down, 1);
	assert_string_equal(q.post_down[0], "echo post-down");
	assert_false(q.save_config);

	assert_int_equal(q.wg.n_peers, 3);
	p = &q.wg.peers[0];
	assert_key(p->public_key, PUB1);
	assert_true(p->has_preshared_key);
	assert_key(p->preshared_key, PSK);
	assert_true(p->has_endpoint);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(p->endpoint.in.sin_port), 51820);
	assert_string_equal(q.endpoints[0].host, "192.0.2.2");
	assert_int_equal(q.endpoints[0].port, 51820);
	assert_true(p->has_persistent_keepalive);
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(p->n_allowed_ips, 3);
	assert_prefix(AF_INET, p->allowed_ips[0].addr, p->allowed_ips[0].cidr, "10.0.0.2/32");
	assert_prefix(AF_INET6, p->allowed_ips[1].addr, p->allowed_ips[1].cidr, "fd00::2/128");
	assert_prefix(AF_INET, p->allowed_ips[2].addr, p->allowed_ips[2].cidr, "192.168.0.0/16");
	assert_false(p->replace_allowed_ips || p->remove || p->update_only);

	p = &q.wg.peers[1];
	assert_key(p->public_key, PUB2);
	assert_false(p->has_preshared_key);
	assert_true(p->has_endpoint);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(p->endpoint.in6.sin6_port), 443);
	assert_string_equal(q.endpoints[1].host, "2001:db8::2");
	assert_int_equal(q.endpoints[1].port, 443);
	assert_true(p->has_persistent_keepalive);
	assert_int_equal(p->persistent_keepalive_interval, 0);
	assert_int_equal(p->n_allowed_ips, 0);

	p = &q.wg.peers[2];
	assert_key(p->public_key, PUB3);
	assert_false(p->has_endpoint);
	assert_false(p->has_persistent_keepalive);
	assert_string_equal(q.endpoints[2].host, "vpn.example.com");
	assert_int_equal(q.endpoints[2].port, 51820);
	assert_int_equal(p->n_allowed_ips, 2);
	assert_prefix(AF_INET, p->allowed_ips[0].addr, p->allowed_ips[0].cidr, "0.0.0.0/0");
	assert_prefix(AF_INET6, p->allowed_ips[1].addr, p->allowed_ips[1].cidr, "::/0");
	tapir_quick_conf_free(&q);
	assert_zeroed(&q);
}

static void test_defaults(void **state)
{
	struct tapir_quick_conf q;

	assert_int_equal(cfg_parse("[Interface]\nPrivateKey=" PRIV "\n", &q), 0);
	assert_int_equal(q.table, TAPIR_TABLE_AUTO);
	assert_int_equal(q.mtu, 0);
	assert_false(q.wg.has_listen_port || q.wg.has_fwmark || q.save_config);
	assert_int_equal(q.wg.n_peers, 0);
	assert_null(q.endpoints);
	tapir_quick_conf_free(&q);

	assert_int_equal(cfg_parse("", &q), 0);
	assert_zeroed(&q);
	tapir_quick_conf_free(&q);
}

static void test_many_peers(void **state)
{
	enum { N = 100 };
	struct tapir_quick_conf q;
	char *text = calloc(N, 128);
	size_t off = 0;

	assert_non_null(text);
	for (unsigned i = 0; i < N; i++) {
		uint8_t key[32] = {(uint8_t)i, 1};
		char b64[TAPIR_KEY_BASE64_LEN + 1];

		tapir_key_to_base64(b64, key);
		off += (size_t)sprintf(text + off,
				       "[Peer]\nPublicKey=%s\nAllowedIPs=10.%u.0.0/16\n", b64, i);
	}
	assert_int_equal(cfg_parse(text, &q), 0);
	assert_int_equal(q.wg.n_peers, N);
	assert_int_equal(q.wg.peers[N - 1].public_key[0], N - 1);
	assert_int_equal(q.wg.peers[N - 1].allowed_ips[0].addr[1], N - 1);
	tapir_quick_conf_free(&q);
	free(text);
}

struct bad_case {
	const char *text;
	const char *where; /* "test.conf:LINE:" */
	const char *key;   /* "(key NAME)" or NULL when the line has no key */
};

static const struct bad_case bad_cases[] = {
    /* 0 */ {"[Interface]\nFooBar = 1\n", "test.conf:2:", "(key FooBar)"},
    {"[Interface]\nPrivateKey = " PSK "x\n", "test.conf:2:", "(key PrivateKey)"},
    {"[Interface]\nPrivateKey = AAAA\n", "test.conf:2:", "(key PrivateKey)"},
    {"[Interface]\nPrivateKey =\n", "test.conf:2:", "(key PrivateKey)"},
    {"[Interface]\nListenPort = 65536\n", "test.conf:2:", "(key ListenPort)"},
    /* 5 */ {"[Interface]\nListenPort = -1\n", "test.conf:2:", "(key ListenPort)"},
    {"[Interface]\nFwMark = 0x100000000\n", "test.conf:2:", "(key FwMark)"},
    {"[Interface]\nFwMark = 12ab\n", "test.conf:2:", "(key FwMark)"},
    {"[Interface]\n\nAddress = 10.0.0.300/24\n", "test.conf:3:", "(key Address)"},
    {"[Interface]\nAddress = 10.0.0.1/33\n", "test.conf:2:", "(key Address)"},
    /* 10 */ {"[Interface]\nAddress = fd00::1/129\n", "test.conf:2:", "(key Address)"},
    {"[Interface]\nAddress = 10.0.0.1/24,\n", "test.conf:2:", "(key Address)"},
    {"[Interface]\nAddress = ,10.0.0.1/24\n", "test.conf:2:", "(key Address)"},
    {"[Interface]\nAddress = 10.0.0.1/\n", "test.conf:2:", "(key Address)"},
    {"[Interface]\nDNS = 1.1.1.1, a\x01z\n", "test.conf:2:", "(key DNS)"},
    /* 15 */ {"[Interface]\nMTU = 67\n", "test.conf:2:", "(key MTU)"},
    {"[Interface]\nMTU = 70000\n", "test.conf:2:", "(key MTU)"},
    {"[Interface]\nTable = 0\n", "test.conf:2:", "(key Table)"},
    {"[Interface]\nTable = bogus\n", "test.conf:2:", "(key Table)"},
    {"[Interface]\nSaveConfig = yes\n", "test.conf:2:", "(key SaveConfig)"},
    /* 20 */ {"[Interface]\nPostUp =\n", "test.conf:2:", "(key PostUp)"},
    {"[Interface]\nPublicKey = " PUB1 "\n", "test.conf:2:", "(key PublicKey)"},
    {"[Peer]\nPublicKey = " PUB1 "\nPrivateKey = " PRIV "\n", "test.conf:3:", "(key PrivateKey)"},
    {"PrivateKey = " PRIV "\n", "test.conf:1:", "(key PrivateKey)"},
    {"[Interface]\n[Peer]\nAllowedIPs = 10.0.0.0/8\n[Peer]\nPublicKey = " PUB1 "\n",
     "test.conf:2:", "(key PublicKey)"},
    /* 25 */
    {"[Peer]\nPublicKey = " PUB1 "\n[Peer]\nAllowedIPs = 10.0.0.0/8\n",
     "test.conf:3:", "(key PublicKey)"},
    {"[Peer]\nPublicKey = " PUB1 "\n[Peer]\nPublicKey = " PUB1 "\n",
     "test.conf:4:", "(key PublicKey)"},
    {"[Peer]\nPublicKey = " PUB1 "\nPublicKey = " PUB2 "\n", "test.conf:3:", "(key PublicKey)"},
    {"[Peer]\nPublicKey = " PUB1 "\nPresharedKey = " PRIV "=\n",
     "test.conf:3:", "(key PresharedKey)"},
    {"[Peer]\nPublicKey = " PUB1 "\nAllowedIPs = 10.0.0.0/8, bogus\n",
     "test.conf:3:", "(key AllowedIPs)"},
    /* 30 */
    {"[Peer]\nPublicKey = " PUB1 "\nEndpoint = 192.0.2.1\n", "test.conf:3:", "(key Endpoint)"},
    {"[Peer]\nPublicKey = " PUB1 "\nEndpoint = 192.0.2.1:0\n", "test.conf:3:", "(key Endpoint)"},
    {"[Peer]\nPublicKey = " PUB1 "\nEndpoint = 2001:db8::1:51820\n",
     "test.conf:3:", "(key Endpoint)"},
    {"[Peer]\nPublicKey = " PUB1 "\nEndpoint = [not-v6]:51820\n", "test.conf:3:", "(key Endpoint)"},
    {"[Peer]\nPublicKey = " PUB1 "\nEndpoint = bad host:1\n", "test.conf:3:", "(key Endpoint)"},
    /* 35 */
    {"[Peer]\nPublicKey = " PUB1 "\nPersistentKeepalive = 65536\n",
     "test.conf:3:", "(key PersistentKeepalive)"},
    {"[Peer]\nPublicKey = " PUB1 "\nPersistentKeepalive = never\n",
     "test.conf:3:", "(key PersistentKeepalive)"},
    {"[Interface]\n" PRIV "\n", "test.conf:2:", "(key ?)"},
    {"[Interface]\nPersistentKeepaliveExtraLong = 1\n", "test.conf:2:", "(key ?)"},
    {"[Interfaces]\n", "test.conf:1:", NULL},
    {"[Interface\n", "test.conf:1:", NULL},
    /* 40 */ {"[Interface]\n= 1\n", "test.conf:2:", NULL},
    {"[Peer]\nPublicKey = " PUB1 "\nEndpoint = [2001:db8::1]\n", "test.conf:3:", "(key Endpoint)"},
    {"[Interface]\nPrivateKey = " PRIV "\nListenPort = 51820 # c\nMTU = 1 2\n",
     "test.conf:4:", "(key MTU)"},
    /* TAP mode: bad values */
    {"[Interface]\nMode = tunnel\n", "test.conf:2:", "(key Mode)"},
    /* 45 */ {"[Interface]\nMode =\n", "test.conf:2:", "(key Mode)"},
    {"[Interface]\nMode = tap\nBridge = br-0123456789abc\n", "test.conf:3:", "(key Bridge)"},
    {"[Interface]\nMode = tap\nBridge = br/0\n", "test.conf:3:", "(key Bridge)"},
    {"[Interface]\nMode = tap\nBridge = ..\n", "test.conf:3:", "(key Bridge)"},
    {"[Interface]\nMode = tap\nBridge = br 0\n", "test.conf:3:", "(key Bridge)"},
    /* 50 */ {"[Interface]\nMode = tap\nForward = yes\n", "test.conf:3:", "(key Forward)"},
    {"[Interface]\nMode = tap\nForward =\n", "test.conf:3:", "(key Forward)"},
    {"[Interface]\nMode = tap\nMACAge = 0\n", "test.conf:3:", "(key MACAge)"},
    {"[Interface]\nMode = tap\nMACAge = 86401\n", "test.conf:3:", "(key MACAge)"},
    {"[Interface]\nMode = tap\nMACAge = 5m\n", "test.conf:3:", "(key MACAge)"},
    /* 55 */
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = 01:00:5e:00:00:01\n",
     "test.conf:5:", "(key MACs)"},
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = 00:00:00:00:00:00\n",
     "test.conf:5:", "(key MACs)"},
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = 02:00:00:00:00\n",
     "test.conf:5:", "(key MACs)"},
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = 02-00-00-00-00-01\n",
     "test.conf:5:", "(key MACs)"},
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = 02:00:00:00:00:0g\n",
     "test.conf:5:", "(key MACs)"},
    /* 60 */
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nMACs = 02:00:00:00:00:01,\n",
     "test.conf:5:", "(key MACs)"},
    {"[Interface]\nMode = tap\nMACs = 02:00:00:00:00:01\n", "test.conf:3:", "(key MACs)"},
    {"[Peer]\nPublicKey = " PUB1 "\nMode = tap\n", "test.conf:3:", "(key Mode)"},
    /* TAP keys without Mode = tap: the first one is named, wherever Mode is */
    {"[Interface]\nBridge = br0\n", "test.conf:2:", "(key Bridge)"},
    {"[Interface]\nPrivateKey = " PRIV "\nForward = on\nBridge = br0\nMode = tun\n",
     "test.conf:3:", "(key Forward)"},
    /* 65 */ {"[Interface]\nMACAge = 60\n", "test.conf:2:", "(key MACAge)"},
    {"[Interface]\nMode = tap\nMode = tun\n[Peer]\nPublicKey = " PUB1
     "\nMACs = 02:00:00:00:00:01\n",
     "test.conf:6:", "(key MACs)"},
    /* tap mode has no allowed IPs, also when Mode comes last */
    {"[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\nAllowedIPs = 10.0.0.0/8\n",
     "test.conf:5:", "(key AllowedIPs)"},
    {"[Peer]\nPublicKey = " PUB1 "\nAllowedIPs =\n[Peer]\nPublicKey = " PUB2
     "\nAllowedIPs = ::/0\n[Interface]\nMode = tap\n",
     "test.conf:6:", "(key AllowedIPs)"},
};

static void test_bad_cases(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct tapir_quick_conf q;
		int r = cfg_parse(c->text, &q);

		if (r != -EINVAL || strncmp(cfg_err, c->where, strlen(c->where)) ||
		    (c->key && !strstr(cfg_err, c->key)) || strstr(cfg_err, PRIV_PREFIX) ||
		    strstr(cfg_err, PSK_PREFIX))
			fail_msg("bad case %zu: r=%d err=\"%s\"", i, r, cfg_err);
		assert_zeroed(&q);
	}
}

static void test_nul_in_text(void **state)
{
	static const char text[] = "[Interface]\nListenPort = 1\0\n";
	struct tapir_quick_conf q;

	assert_int_equal(
	    tapir_config_parse(text, sizeof(text) - 1, "f", false, &q, cfg_err, sizeof(cfg_err)),
	    -EINVAL);
	assert_string_equal(cfg_err, "f:2: NUL byte in line");
	assert_zeroed(&q);
}

static void test_wg_only(void **state)
{
	static const char *const quick_keys[] = {
	    "Address = 10.0.0.1/24", "DNS = 1.1.1.1",	"MTU = 1400",
	    "Table = off",	     "PreUp = true",	"PostUp = true",
	    "PreDown = true",	     "PostDown = true", "SaveConfig = true",
	};
	static const struct {
		const char *line, *key;
	} tapir_keys[] = {
	    {"Mode = tap", "(key Mode)"},
	    {"Bridge = br0", "(key Bridge)"},
	    {"Offload = none", "(key Offload)"},
	    {"Workers = 1", "(key Workers)"},
	};
	/* tapir's keys that go to the daemon: a setconf file may have them (tapir strip keeps them)
	 */
	static const char *const daemon_keys[] = {
	    "[Interface]\nForward = on\n",
	    "[Interface]\nMACAge = 60\n",
	    "[Interface]\nTCPListen = on\n",
	    "[Peer]\nPublicKey = " PUB1 "\nMACs = 02:00:00:00:00:01\n",
	    "[Peer]\nPublicKey = " PUB1 "\nTransport = tcp\n",
	    "[Peer]\nPublicKey = " PUB1 "\nCompression = lz4\n",
	};
	struct tapir_quick_conf q;
	char text[256];

	for (size_t i = 0; i < sizeof(quick_keys) / sizeof(quick_keys[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n%s\n", PRIV,
			 quick_keys[i]);
		assert_int_equal(cfg_parse_mode(text, true, &q), -EINVAL);
		assert_non_null(strstr(cfg_err, "test.conf:3:"));
		assert_null(strstr(cfg_err, PRIV_PREFIX));
		assert_zeroed(&q);
		assert_int_equal(cfg_parse_mode(text, false, &q), 0);
		tapir_quick_conf_free(&q);
	}
	/* tapir up's own keys too: they are tapird's command line, not its configuration */
	for (size_t i = 0; i < sizeof(tapir_keys) / sizeof(tapir_keys[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n%s\n", PRIV,
			 tapir_keys[i].line);
		assert_int_equal(cfg_parse_mode(text, true, &q), -EINVAL);
		assert_non_null(
		    strstr(cfg_err, "test.conf:3: tapir up key not valid in a wg config"));
		assert_non_null(strstr(cfg_err, tapir_keys[i].key));
		assert_zeroed(&q);
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\nMode = tap\n%s\n", PRIV,
			 tapir_keys[i].line);
		assert_int_equal(cfg_parse_mode(text, false, &q), 0);
		tapir_quick_conf_free(&q);
	}
	for (size_t i = 0; i < sizeof(daemon_keys) / sizeof(daemon_keys[0]); i++) {
		assert_int_equal(cfg_parse_mode(daemon_keys[i], true, &q), 0);
		tapir_quick_conf_free(&q);
	}
	/* and tapir strip knows which keys are tapir up's */
	assert_true(tapir_config_is_up_key("Address", 7));
	assert_true(tapir_config_is_up_key("postup", 6));
	assert_true(tapir_config_is_up_key("Bridge", 6));
	assert_false(tapir_config_is_up_key("ListenPort", 10));
	assert_false(tapir_config_is_up_key("Forward", 7));
	assert_false(tapir_config_is_up_key("Frobnicate", 10));
	assert_int_equal(cfg_parse_mode("[Interface]\nPrivateKey=" PRIV "\nListenPort=1\nFwMark=2\n"
					"[Peer]\nPublicKey=" PUB1 "\nPresharedKey=" PSK "\n"
					"AllowedIPs=10.0.0.0/8\nEndpoint=192.0.2.1:1\n"
					"PersistentKeepalive=5\n",
					true, &q),
			 0);
	tapir_quick_conf_free(&q);
}

static void test_null_err_and_free(void **state)
{
	struct tapir_quick_conf q;

	assert_int_equal(tapir_config_parse("[x]\n", 4, NULL, false, &q, NULL, 0), -EINVAL);
	assert_zeroed(&q);
	tapir_quick_conf_free(NULL);
	tapir_quick_conf_free(&q);
	memset(cfg_err, 'X', sizeof(cfg_err));
	assert_int_equal(tapir_config_parse("[x]\n", 4, NULL, false, &q, cfg_err, 8), -EINVAL);
	assert_string_equal(cfg_err, "(config");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),	      cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_many_peers),	      cmocka_unit_test(test_bad_cases),
	    cmocka_unit_test(test_nul_in_text),	      cmocka_unit_test(test_wg_only),
	    cmocka_unit_test(test_null_err_and_free),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
