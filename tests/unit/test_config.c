// SPDX-License-Identifier: MIT
/*
 * Unit tests for the wg-quick config parser and its UAPI serialiser (src/control/config.c):
 * a file using every key (comments, blanks, CRLF, any key case), each value form, a numbered
 * table of bad files whose message must name file, line and key and never leak a secret, the
 * setconf (wg-only) mode, and a round trip through the UAPI set parser. tapir up's TAP keys
 * (Mode, Bridge, Forward, MACAge, MACs) get the same treatment, plus the rules that tie them
 * to Mode = tap and the check that a stock file serialises without any tapir_ key. Every file
 * is parsed from an exact-size heap copy so ASan catches reads past its end.
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

#include "device.h"
#include "encoding.h"

/* Throw-away keys; PRIV and PSK must never show up in an error message. */
#define PRIV "2IU65e1vDTsPfLJWJbcpWYMkkiGrVprUyhwzs/VRdW4="
#define PSK "WGwKWZU05PRP3jgMj5sMlbF6MQhLKAXvQ5d3hWKbIrU="
#define PUB1 "h7kC7V87U9Gz8+vsdVotp/4cWs3rr4yqAI8G0XGQ/EY="
#define PUB1_HEX "87b902ed5f3b53d1b3f3ebec755a2da7fe1c5acdebaf8caa008f06d17190fc46"
#define PUB2 "YVxsAnltqfVic/lWfxQZ1JGD+chQfXSgY+qRP6eAgkc="
#define PUB3 "ljsDeutNfydppZ1tVmetNQvKvgWwKVCazO//89osbTs="
#define PRIV_PREFIX "2IU65e1v"
#define PSK_PREFIX "WGwKWZU0"

enum {
	ERR_BYTES = 512,
};

static char err[ERR_BYTES];

static int parse_mode(const char *s, bool is_wg_only, struct tapir_quick_conf *q)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	memset(err, 'X', sizeof(err));
	r = tapir_config_parse(copy, len, "test.conf", is_wg_only, q, err, sizeof(err));
	free(copy);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	return r;
}

static int parse(const char *s, struct tapir_quick_conf *q)
{
	return parse_mode(s, false, q);
}

static void assert_key(const uint8_t key[32], const char *b64)
{
	uint8_t want[32];

	assert_int_equal(tapir_key_from_base64(want, b64, strlen(b64)), 0);
	assert_memory_equal(key, want, 32);
}

static void assert_zeroed(const struct tapir_quick_conf *q)
{
	static const struct tapir_quick_conf zero;

	assert_memory_equal(q, &zero, sizeof(zero));
}

static void assert_prefix(int family, const uint8_t *addr, unsigned cidr, const char *want)
{
	char text[INET6_ADDRSTRLEN + 8];
	char buf[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(family, addr, buf, sizeof(buf)));
	snprintf(text, sizeof(text), "%s/%u", buf, cidr);
	assert_string_equal(text, want);
}

static const char full_file[] = "# a comment line\n"
				"[Interface]   # trailing comment\n"
				"PrivateKey = " PRIV "\n"
				"  listenport=51820\r\n"
				"FwMark = 0x1234\n"
				"Address = 10.0.0.1/24, fd00::1/64\n"
				"Address = 10.0.1.1\n"
				"DNS = 192.0.2.53, 2001:db8::53, example.com\n"
				"MTU = 1380\n"
				"Table = 1234\n"
				"PreUp = echo pre-up %i one\n"
				"PreUp = echo pre-up two\n"
				"PostUp = iptables -A FORWARD -i %i -j ACCEPT\n"
				"PreDown = echo pre-down\n"
				"PostDown = echo post-down\n"
				"SaveConfig = false\n"
				"\n"
				"[Peer]\n"
				"AllowedIPs = 10.0.0.2/32,fd00::2/128 , 192.168.0.0/16\n"
				"PUBLICKEY = " PUB1 "\n"
				"PresharedKey = " PSK "\n"
				"Endpoint = 192.0.2.2:51820\n"
				"PersistentKeepalive = 25\n"
				"[peer]\n"
				"PublicKey = " PUB2 "\n"
				"Endpoint = [2001:db8::2]:443\n"
				"PersistentKeepalive = off\n"
				"AllowedIPs =\n"
				"[Peer]\n"
				"PublicKey = " PUB3 "\n"
				"Endpoint = vpn.example.com:51820\n"
				"AllowedIPs = 0.0.0.0/0, ::/0";

static void test_full_file(void **state)
{
	struct tapir_quick_conf q;
	const struct tapir_conf_peer *p;

	assert_int_equal(parse(full_file, &q), 0);
	assert_string_equal(err, "");
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

	assert_int_equal(parse("[Interface]\nPrivateKey=" PRIV "\n", &q), 0);
	assert_int_equal(q.table, TAPIR_TABLE_AUTO);
	assert_int_equal(q.mtu, 0);
	assert_false(q.wg.has_listen_port || q.wg.has_fwmark || q.save_config);
	assert_int_equal(q.wg.n_peers, 0);
	assert_null(q.endpoints);
	tapir_quick_conf_free(&q);

	assert_int_equal(parse("", &q), 0);
	assert_zeroed(&q);
	tapir_quick_conf_free(&q);
}

static void test_value_forms(void **state)
{
	struct tapir_quick_conf q;

	assert_int_equal(parse("[Interface]\nFwMark = off\nTable = off\nSaveConfig = True\n"
			       "ListenPort = 0\nMTU = 68\n",
			       &q),
			 0);
	assert_true(q.wg.has_fwmark);
	assert_int_equal(q.wg.fwmark, 0);
	assert_int_equal(q.table, TAPIR_TABLE_OFF);
	assert_true(q.save_config);
	assert_int_equal(q.mtu, 68);
	tapir_quick_conf_free(&q);

	assert_int_equal(parse("[Interface]\nFwMark = 4294967295\nTable = main\n", &q), 0);
	assert_int_equal(q.wg.fwmark, 4294967295u);
	assert_int_equal(q.table, TAPIR_TABLE_NUMBER);
	assert_int_equal(q.table_number, 254);
	tapir_quick_conf_free(&q);

	assert_int_equal(parse("[Interface]\nFwMark = 0xffffffff\nTable = auto\n", &q), 0);
	assert_int_equal(q.wg.fwmark, 0xffffffffu);
	assert_int_equal(q.table, TAPIR_TABLE_AUTO);
	tapir_quick_conf_free(&q);

	/* A later value replaces an earlier one, as in wg(8). */
	assert_int_equal(parse("[Peer]\nPublicKey=" PUB1 "\nEndpoint=host-a:1\n"
			       "Endpoint=192.0.2.9:2\nEndpoint=host_b.example:65535\n",
			       &q),
			 0);
	assert_false(q.wg.peers[0].has_endpoint);
	assert_string_equal(q.endpoints[0].host, "host_b.example");
	assert_int_equal(q.endpoints[0].port, 65535);
	tapir_quick_conf_free(&q);
}

/* Bridge before Mode: the TAP keys may come in any order. */
static const char tap_file[] = "[Interface]\n"
			       "PrivateKey = " PRIV "\n"
			       "Bridge = br-lan.10\n"
			       "mode = TAP\n"
			       "Forward = on\n"
			       "MACAge = 120\n"
			       "Address = 10.0.0.1/24\n"
			       "[Peer]\n"
			       "PublicKey = " PUB1 "\n"
			       "Endpoint = 192.0.2.2:51820\n"
			       "MACs = 02:00:00:00:00:01, 02:AB:cd:00:00:02\n"
			       "MACs = 06:00:00:00:00:03\n"
			       "AllowedIPs =\n"
			       "[Peer]\n"
			       "PublicKey = " PUB2 "\n";

static void test_tap_file(void **state)
{
	static const uint8_t want[3][6] = {
	    {2, 0, 0, 0, 0, 1}, {2, 0xab, 0xcd, 0, 0, 2}, {6, 0, 0, 0, 0, 3}};
	struct tapir_quick_conf q;

	assert_int_equal(parse(tap_file, &q), 0);
	assert_string_equal(err, "");
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
		assert_int_equal(parse(text, &q), 0);
		assert_true(q.wg.has_forward);
		assert_int_equal(q.wg.is_forward, forwards[i].is_forward);
		tapir_quick_conf_free(&q);
	}
	assert_int_equal(parse("[Interface]\nMode = tap\nMACAge = 1\n", &q), 0);
	assert_int_equal(q.wg.mac_age_s, 1);
	tapir_quick_conf_free(&q);
	assert_int_equal(parse("[Interface]\nMode = tap\nMACAge = 86400\n", &q), 0);
	assert_int_equal(q.wg.mac_age_s, 86400);
	tapir_quick_conf_free(&q);
	/* a later value replaces an earlier one; 15 bytes is the longest interface name */
	assert_int_equal(
	    parse("[Interface]\nMode = tap\nBridge = a\nBridge = br-0123456789ab\n", &q), 0);
	assert_string_equal(q.bridge, "br-0123456789ab");
	tapir_quick_conf_free(&q);
	/* the defaults: tun, no bridge, no extension key */
	assert_int_equal(parse("[Interface]\nMode = tun\n[Peer]\nPublicKey = " PUB1
			       "\nAllowedIPs = 10.0.0.0/8\n",
			       &q),
			 0);
	assert_int_equal(q.mode, TAPIR_MODE_TUN);
	assert_null(q.bridge);
	assert_false(q.wg.has_forward || q.wg.has_mac_age);
	tapir_quick_conf_free(&q);
	assert_int_equal(parse("[Interface]\nMode = tap\nMode = tun\n", &q), 0);
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
	assert_int_equal(parse(text, &q), 0);
	assert_int_equal(q.wg.peers[0].n_pinned_macs, TAPIR_CONF_MAX_PINNED_MACS);
	assert_int_equal(q.wg.peers[0].pinned_macs[15][5], 16);
	tapir_quick_conf_free(&q);

	snprintf(text + off, sizeof(text) - off, "\nMACs = 02:00:00:00:00:ff\n");
	assert_int_equal(parse(text, &q), -EINVAL);
	assert_non_null(strstr(err, "test.conf:6:"));
	assert_non_null(strstr(err, "too many MACs"));
	assert_non_null(strstr(err, "(key MACs)"));
	assert_zeroed(&q);
}

/* A pinned MAC belongs to one peer (issue 13): the same MAC for two peers is an error. */
static void test_tap_mac_one_peer(void **state)
{
	struct tapir_quick_conf q;

	assert_int_equal(parse("[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1
			       "\nMACs = 02:00:00:00:00:01, 02:00:00:00:00:01\n",
			       &q),
			 0); /* twice for one peer: harmless */
	tapir_quick_conf_free(&q);
	assert_int_equal(parse("[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1
			       "\nMACs = 02:00:00:00:00:01\n[Peer]\nPublicKey = " PUB2
			       "\nMACs = 02:00:00:00:00:02\nMACs = 02:00:00:00:00:01\n",
			       &q),
			 -EINVAL);
	assert_non_null(strstr(err, "test.conf:9:"));
	assert_non_null(strstr(err, "already pinned to another peer"));
	assert_non_null(strstr(err, "(key MACs)"));
	assert_zeroed(&q);
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
	assert_int_equal(parse(text, &q), 0);
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
		int r = parse(c->text, &q);

		if (r != -EINVAL || strncmp(err, c->where, strlen(c->where)) ||
		    (c->key && !strstr(err, c->key)) || strstr(err, PRIV_PREFIX) ||
		    strstr(err, PSK_PREFIX))
			fail_msg("bad case %zu: r=%d err=\"%s\"", i, r, err);
		assert_zeroed(&q);
	}
}

static void test_nul_in_text(void **state)
{
	static const char text[] = "[Interface]\nListenPort = 1\0\n";
	struct tapir_quick_conf q;

	assert_int_equal(
	    tapir_config_parse(text, sizeof(text) - 1, "f", false, &q, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "f:2: NUL byte in line");
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
		assert_int_equal(parse_mode(text, true, &q), -EINVAL);
		assert_non_null(strstr(err, "test.conf:3:"));
		assert_null(strstr(err, PRIV_PREFIX));
		assert_zeroed(&q);
		assert_int_equal(parse_mode(text, false, &q), 0);
		tapir_quick_conf_free(&q);
	}
	/* tapir up's own keys too: they are tapird's command line, not its configuration */
	for (size_t i = 0; i < sizeof(tapir_keys) / sizeof(tapir_keys[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\n%s\n", PRIV,
			 tapir_keys[i].line);
		assert_int_equal(parse_mode(text, true, &q), -EINVAL);
		assert_non_null(strstr(err, "test.conf:3: tapir up key not valid in a wg config"));
		assert_non_null(strstr(err, tapir_keys[i].key));
		assert_zeroed(&q);
		snprintf(text, sizeof(text), "[Interface]\nPrivateKey = %s\nMode = tap\n%s\n", PRIV,
			 tapir_keys[i].line);
		assert_int_equal(parse_mode(text, false, &q), 0);
		tapir_quick_conf_free(&q);
	}
	for (size_t i = 0; i < sizeof(daemon_keys) / sizeof(daemon_keys[0]); i++) {
		assert_int_equal(parse_mode(daemon_keys[i], true, &q), 0);
		tapir_quick_conf_free(&q);
	}
	/* and tapir strip knows which keys are tapir up's */
	assert_true(tapir_config_is_up_key("Address", 7));
	assert_true(tapir_config_is_up_key("postup", 6));
	assert_true(tapir_config_is_up_key("Bridge", 6));
	assert_false(tapir_config_is_up_key("ListenPort", 10));
	assert_false(tapir_config_is_up_key("Forward", 7));
	assert_false(tapir_config_is_up_key("Frobnicate", 10));
	assert_int_equal(parse_mode("[Interface]\nPrivateKey=" PRIV "\nListenPort=1\nFwMark=2\n"
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
	memset(err, 'X', sizeof(err));
	assert_int_equal(tapir_config_parse("[x]\n", 4, NULL, false, &q, err, 8), -EINVAL);
	assert_string_equal(err, "(config");
}

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

	assert_int_equal(parse(full_file, &q), 0);
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
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, err, sizeof(err)), 0);
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

	assert_int_equal(parse(tap_file, &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, is_replace, &len);
	assert_non_null(req);
	assert_non_null(strstr(req, "tapir_forward=true\n"));
	assert_non_null(strstr(req, "tapir_mac_age=120\n"));
	assert_non_null(strstr(req, "\ntapir_mac=02:00:00:00:00:01\ntapir_mac=02:ab:cd:00:00:02\n"
				    "tapir_mac=06:00:00:00:00:03\n"));
	/* only the peer with MACs replaces its pinned set */
	assert_int_equal(count_of(req, "tapir_replace_macs=true\n"), is_replace ? 1 : 0);
	assert_int_equal(count_of(req, "tapir_"), is_replace ? 6 : 5);
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, err, sizeof(err)), 0);
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
	assert_int_equal(parse("[Interface]\nMode = tap\n[Peer]\nPublicKey = " PUB1 "\n", &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, true, &len);
	assert_non_null(req);
	assert_null(strstr(req, "tapir_"));
	free(req);
	tapir_quick_conf_free(&q);
	assert_int_equal(parse("[Interface]\nMode = tap\nForward = off\n", &q), 0);
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

	assert_int_equal(parse(file, &q), 0);
	assert_string_equal(err, "");
	assert_true(q.wg.peers[0].has_transport && q.wg.peers[0].is_tcp);
	assert_true(q.wg.peers[0].has_compression && q.wg.peers[0].is_lz4);
	assert_true(q.wg.peers[1].has_transport && q.wg.peers[1].is_tcp);
	assert_true(q.wg.peers[1].has_compression && !q.wg.peers[1].is_lz4);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_non_null(req);
	assert_non_null(strstr(req, "endpoint=192.0.2.2:443\ntapir_transport=tcp\n"
				    "tapir_compression=lz4\n"));
	assert_non_null(strstr(req, "tapir_compression=off\n"));
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, err, sizeof(err)), 0);
	assert_true(back.peers[0].has_compression && back.peers[0].is_lz4);
	assert_true(back.peers[1].has_compression && !back.peers[1].is_lz4);
	assert_true(back.peers[0].has_transport && back.peers[0].is_tcp);
	tapir_conf_free(&back);
	explicit_bzero(req, len);
	free(req);
	tapir_quick_conf_free(&q);

	assert_int_equal(parse("[Peer]\nPublicKey = " PUB1 "\nCompression = zstd\n", &q), -EINVAL);
	assert_non_null(strstr(err, "Compression"));
	assert_int_equal(parse("[Peer]\nPublicKey = " PUB1 "\nTransport = sctp\n", &q), -EINVAL);
	assert_non_null(strstr(err, "Transport"));
	assert_int_equal(parse("[Peer]\nPublicKey = " PUB1 "\nEndpoint = tcp://\n", &q), -EINVAL);
	/* UAPI: only lz4 and off */
	assert_int_equal(
	    tapir_uapi_parse_set("public_key=" PUB1_HEX "\ntapir_compression=gzip\n",
				 strlen("public_key=" PUB1_HEX "\ntapir_compression=gzip\n"), &back,
				 err, sizeof(err)),
	    -EINVAL);
	tapir_conf_free(&back);
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

	assert_int_equal(parse("[Interface]\nPrivateKey = " PRIV "\n", &q), 0);
	assert_false(q.has_offloads);
	assert_int_equal(q.workers, 0);
	tapir_quick_conf_free(&q);
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nOffload = %s\nWorkers = %zu\n",
			 lists[i].value, i + 1);
		assert_int_equal(parse(text, &q), 0);
		assert_true(q.has_offloads);
		assert_int_equal(q.offloads, lists[i].bits);
		assert_int_equal(q.workers, i + 1);
		tapir_offload_format(q.offloads, canonical, sizeof(canonical));
		assert_string_equal(canonical, lists[i].canonical);
		tapir_quick_conf_free(&q);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nOffload = %s\n", bad[i]);
		assert_int_equal(parse(text, &q), -EINVAL);
		assert_non_null(strstr(err, "test.conf:2:"));
		assert_non_null(strstr(err, "(key Offload)"));
	}
	for (size_t i = 0; i < sizeof(bad_workers) / sizeof(bad_workers[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nWorkers = %s\n", bad_workers[i]);
		assert_int_equal(parse(text, &q), -EINVAL);
		assert_non_null(strstr(err, "(key Workers)"));
	}
	assert_int_equal(parse("[Interface]\nWorkers = 62\n", &q), 0);
	assert_int_equal(q.workers, 62);
	tapir_quick_conf_free(&q);
	/* wg(8) files take no tapir key */
	assert_int_equal(parse_mode("[Interface]\nOffload = none\n", true, &q), -EINVAL);
	assert_int_equal(parse_mode("[Interface]\nWorkers = 1\n", true, &q), -EINVAL);
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

	assert_int_equal(parse("[Interface]\nTCPListen = On\n", &q), 0);
	assert_true(q.wg.has_tcp_listen && q.wg.is_tcp_listen);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_string_equal(req, "set=1\ntapir_tcp_listen=true\n\n");
	assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, err, sizeof(err)), 0);
	assert_true(back.has_tcp_listen && back.is_tcp_listen);
	tapir_conf_free(&back);
	free(req);
	tapir_quick_conf_free(&q);

	assert_int_equal(parse("[Interface]\nTCPListen = false\n", &q), 0);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_string_equal(req, "set=1\ntapir_tcp_listen=false\n\n");
	free(req);
	tapir_quick_conf_free(&q);

	/* not given: the daemon's default (off), and no extension key a stock daemon would see */
	assert_int_equal(parse("[Interface]\nListenPort = 1\n", &q), 0);
	assert_false(q.wg.has_tcp_listen);
	req = tapir_conf_to_uapi_set(&q.wg, false, &len);
	assert_null(strstr(req, "tapir_"));
	free(req);
	tapir_quick_conf_free(&q);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[Interface]\nTCPListen = %s\n", bad[i]);
		assert_int_equal(parse(text, &q), -EINVAL);
		assert_non_null(strstr(err, "test.conf:2:"));
		assert_non_null(strstr(err, "(key TCPListen)"));
		snprintf(text, sizeof(text), "tapir_tcp_listen=%s\n", bad[i]);
		assert_int_equal(tapir_uapi_parse_set(text, strlen(text), &back, err, sizeof(err)),
				 -EINVAL);
		assert_non_null(strstr(err, "tapir_tcp_listen"));
	}
	/* [Interface] only */
	assert_int_equal(parse("[Peer]\nPublicKey = " PUB1 "\nTCPListen = on\n", &q), -EINVAL);
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
			assert_int_equal(parse(text, &q), -EINVAL);
			assert_non_null(strstr(err, "(key MetricsListen)"));
			snprintf(text, sizeof(text), "tapir_metrics_listen=%s\n", rows[i].value);
			assert_int_equal(
			    tapir_uapi_parse_set(text, strlen(text), &back, err, sizeof(err)),
			    -EINVAL);
			continue;
		}
		assert_int_equal(parse(text, &q), 0);
		req = tapir_conf_to_uapi_set(&q.wg, false, &len);
		if (strcmp(req, rows[i].request))
			fail_msg("row %zu: %s", i, req);
		assert_int_equal(tapir_uapi_parse_set(req + 6, len - 7, &back, err, sizeof(err)),
				 0);
		assert_true(back.has_metrics_listen);
		assert_int_equal(back.metrics_listen.sa.sa_family,
				 q.wg.metrics_listen.sa.sa_family);
		tapir_conf_free(&back);
		free(req);
		tapir_quick_conf_free(&q);
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_value_forms),
	    cmocka_unit_test(test_many_peers),
	    cmocka_unit_test(test_bad_cases),
	    cmocka_unit_test(test_nul_in_text),
	    cmocka_unit_test(test_wg_only),
	    cmocka_unit_test(test_null_err_and_free),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_serialise_empty),
	    cmocka_unit_test(test_tap_file),
	    cmocka_unit_test(test_tap_value_forms),
	    cmocka_unit_test(test_tap_mac_limit),
	    cmocka_unit_test(test_tap_mac_one_peer), /* one peer per pinned MAC */
	    cmocka_unit_test(test_tap_round_trip),
	    cmocka_unit_test(test_transport_compression),
	    cmocka_unit_test(test_offload_workers),
	    cmocka_unit_test(test_tcp_listen),
	    cmocka_unit_test(test_metrics_listen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
