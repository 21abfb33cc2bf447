// SPDX-License-Identifier: MIT
/*
 * Unit tests for the UAPI set parser and the endpoint text form (src/control/conf.c): good
 * requests of every shape, a numbered table of bad requests with their errno, error messages
 * that name the key but never a secret, a 10,000-peer request, and sockaddr round trips.
 * Every request is copied into an exact-size heap buffer, so ASan catches reads past its end.
 */
#include "conf.h"

#include <errno.h>
#include <net/if.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

/* Throw-away keys; PRIV and PSK must never show up in an error message. */
#define PRIV "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PSK "5f3c0ab1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f"
#define PUB1 "297cc6eea14972697de580ad18fe11f535f482fa38868333e25957dcc166f70e"
#define PUB2 "b831c2efcc83956126ba79594894ae498ad2087cc33726e9405de5c2e5a21d51"
#define ZERO_KEY "0000000000000000000000000000000000000000000000000000000000000000"
/* A prefix of each secret long enough that finding it in a message means a leak. */
#define PRIV_PREFIX "e84b5a6d2717"
#define PSK_PREFIX "5f3c0ab1d2e4"

enum {
	ERR_BYTES = 512,
	LARGE_PEERS = 10000,
};

static char err[ERR_BYTES];

/* Parses @len bytes of @s from an exact-size heap copy. */
static int parse_n(const char *s, size_t len, struct tapir_conf *conf)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	memset(err, 'X', sizeof(err));
	r = tapir_uapi_parse_set(copy, len, conf, err, sizeof(err));
	free(copy);
	assert_non_null(memchr(err, '\0', sizeof(err)));
	return r;
}

static int parse(const char *s, struct tapir_conf *conf)
{
	return parse_n(s, strlen(s), conf);
}

static void assert_key(const uint8_t key[32], const char *hex)
{
	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		assert_int_equal(key[i], v);
	}
}

static void assert_zeroed(const struct tapir_conf *conf)
{
	static const struct tapir_conf zero;

	assert_memory_equal(conf, &zero, sizeof(zero));
}

static void assert_endpoint(const union tapir_sockaddr *sa, const char *want)
{
	char buf[128];
	int n = tapir_sockaddr_format(buf, sizeof(buf), sa);

	assert_int_equal(n, (int)strlen(want));
	assert_string_equal(buf, want);
}

static void test_empty_request(void **state)
{
	struct tapir_conf conf;

	assert_int_equal(parse("", &conf), 0);
	assert_zeroed(&conf);
	assert_string_equal(err, "");
	tapir_conf_free(&conf);
}

static void test_device_only(void **state)
{
	struct tapir_conf conf;

	assert_int_equal(parse("private_key=" PRIV "\nlisten_port=51820\nfwmark=4294967295\n"
			       "replace_peers=true\n",
			       &conf),
			 0);
	assert_string_equal(err, "");
	assert_true(conf.has_private_key);
	assert_key(conf.private_key, PRIV);
	assert_true(conf.has_listen_port);
	assert_int_equal(conf.listen_port, 51820);
	assert_true(conf.has_fwmark);
	assert_int_equal(conf.fwmark, 4294967295u);
	assert_true(conf.replace_peers);
	assert_int_equal(conf.n_peers, 0);
	tapir_conf_free(&conf);
	assert_zeroed(&conf);
}

static void test_device_zero_values(void **state)
{
	struct tapir_conf conf;

	/* An all-zero private key removes the key; port and fwmark 0 mean "random" and "off". */
	assert_int_equal(parse("private_key=" ZERO_KEY "\nlisten_port=0\nfwmark=0\n", &conf), 0);
	assert_true(conf.has_private_key);
	assert_key(conf.private_key, ZERO_KEY);
	assert_true(conf.has_listen_port);
	assert_int_equal(conf.listen_port, 0);
	assert_true(conf.has_fwmark);
	assert_int_equal(conf.fwmark, 0);
	tapir_conf_free(&conf);
}

static void test_peer_every_key(void **state)
{
	struct tapir_conf conf;
	const struct tapir_conf_peer *p;
	const uint8_t v4[4] = {10, 1, 2, 3};
	const uint8_t v6[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	assert_int_equal(
	    parse("listen_port=1\npublic_key=" PUB1 "\nremove=true\nupdate_only=true\n"
		  "preshared_key=" PSK "\nendpoint=192.0.2.1:51820\n"
		  "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
		  "allowed_ip=10.1.2.3/8\nallowed_ip=-fd00::1/64\nprotocol_version=1\n",
		  &conf),
	    0);
	assert_int_equal(conf.n_peers, 1);
	p = &conf.peers[0];
	assert_key(p->public_key, PUB1);
	assert_true(p->remove);
	assert_true(p->update_only);
	assert_true(p->has_preshared_key);
	assert_key(p->preshared_key, PSK);
	assert_true(p->has_endpoint);
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET);
	assert_endpoint(&p->endpoint, "192.0.2.1:51820");
	assert_true(p->has_persistent_keepalive);
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_true(p->replace_allowed_ips);
	assert_int_equal(p->n_allowed_ips, 2);
	/* Addresses are stored as given; masking is the trie's job. */
	assert_int_equal(p->allowed_ips[0].family, AF_INET);
	assert_memory_equal(p->allowed_ips[0].addr, v4, 4);
	assert_int_equal(p->allowed_ips[0].cidr, 8);
	assert_false(p->allowed_ips[0].is_removal);
	assert_int_equal(p->allowed_ips[1].family, AF_INET6);
	assert_memory_equal(p->allowed_ips[1].addr, v6, 16);
	assert_int_equal(p->allowed_ips[1].cidr, 64);
	assert_true(p->allowed_ips[1].is_removal);
	tapir_conf_free(&conf);
	assert_zeroed(&conf);
}

static void test_peer_defaults(void **state)
{
	struct tapir_conf conf;
	const struct tapir_conf_peer *p;

	assert_int_equal(parse("public_key=" PUB1 "\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n"
			       "persistent_keepalive_interval=0\n",
			       &conf),
			 0);
	p = &conf.peers[0];
	assert_false(p->remove || p->update_only || p->replace_allowed_ips);
	assert_false(p->has_preshared_key || p->has_endpoint);
	assert_true(p->has_persistent_keepalive);
	assert_int_equal(p->persistent_keepalive_interval, 0);
	assert_int_equal(p->n_allowed_ips, 2);
	assert_int_equal(p->allowed_ips[0].cidr, 0);
	assert_int_equal(p->allowed_ips[1].family, AF_INET6);
	assert_int_equal(p->allowed_ips[1].cidr, 0);
	tapir_conf_free(&conf);
}

static void test_ipv6_endpoint(void **state)
{
	struct tapir_conf conf;
	const struct tapir_conf_peer *p;

	assert_int_equal(parse("public_key=" PUB1 "\nendpoint=[2001:db8::1]:51820\n"
			       "public_key=" PUB2 "\nendpoint=[fe80::1%7]:65535\n",
			       &conf),
			 0);
	assert_int_equal(conf.n_peers, 2);
	p = &conf.peers[0];
	assert_int_equal(p->endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(p->endpoint.in6.sin6_scope_id, 0);
	assert_endpoint(&p->endpoint, "[2001:db8::1]:51820");
	p = &conf.peers[1];
	assert_int_equal(p->endpoint.in6.sin6_scope_id, 7);
	assert_endpoint(&p->endpoint, "[fe80::1%7]:65535");
	tapir_conf_free(&conf);
}

static void test_multiple_peers_in_order(void **state)
{
	struct tapir_conf conf;

	/* A repeated public_key stays a separate entry: the applier streams them in order. */
	assert_int_equal(parse("public_key=" PUB1 "\nallowed_ip=10.0.0.1/32\n"
			       "public_key=" PUB2 "\nremove=true\n"
			       "public_key=" PUB1
			       "\nallowed_ip=10.0.0.2/32\nallowed_ip=10.0.0.3/32\n",
			       &conf),
			 0);
	assert_int_equal(conf.n_peers, 3);
	assert_key(conf.peers[0].public_key, PUB1);
	assert_int_equal(conf.peers[0].n_allowed_ips, 1);
	assert_key(conf.peers[1].public_key, PUB2);
	assert_true(conf.peers[1].remove);
	assert_int_equal(conf.peers[1].n_allowed_ips, 0);
	assert_key(conf.peers[2].public_key, PUB1);
	assert_int_equal(conf.peers[2].n_allowed_ips, 2);
	assert_int_equal(conf.peers[2].allowed_ips[1].addr[3], 3);
	tapir_conf_free(&conf);
}

static void test_uppercase_hex(void **state)
{
	struct tapir_conf conf;

	assert_int_equal(parse("private_key=E84B5A6D2717C1003A13B431570353DBACA9146CF150C5F8575680"
			       "FEBA52027A\npublic_key=297CC6EEA14972697de580ad18fe11f535f482fa3886"
			       "8333E25957DCC166F70E\n",
			       &conf),
			 0);
	assert_key(conf.private_key, PRIV);
	assert_key(conf.peers[0].public_key, PUB1);
	tapir_conf_free(&conf);
}

struct bad_case {
	const char *body;
	int want;	 /* negative errno */
	const char *key; /* must appear in the message; NULL to skip */
};

#define PEER "public_key=" PUB1 "\n"

static const struct bad_case bad_cases[] = {
    /* 0: framing */
    {"listen_port\n", -EPROTO, NULL},
    {"listen_port=1", -EPROTO, NULL},
    {"listen_port=1\n\n", -EPROTO, NULL},
    {PEER "allowed_ip=10.0.0.0/8", -EPROTO, NULL},
    /* 4: keys */
    {"bogus=1\n", -EINVAL, "bogus"},
    {"=1\n", -EINVAL, "unknown key"},
    {"Listen_port=1\n", -EINVAL, "Listen_port"},
    {"listen_port =1\n", -EINVAL, "listen_port "},
    {"endpoint=192.0.2.1:1\n", -EINVAL, "endpoint"},
    {"allowed_ip=10.0.0.0/8\n", -EINVAL, "allowed_ip"},
    {"remove=true\n", -EINVAL, "remove"},
    {PEER "listen_port=1\n", -EINVAL, "listen_port"},
    {PEER "private_key=" PRIV "\n", -EINVAL, "private_key"},
    {PEER "replace_peers=true\n", -EINVAL, "replace_peers"},
    {PEER "fwmark=1\n", -EINVAL, "fwmark"},
    /* 15: hex keys */
    {"private_key=" PRIV "0\n", -EINVAL, "private_key"},
    {"private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027\n", -EINVAL,
     "private_key"},
    {"private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027g\n", -EINVAL,
     "private_key"},
    {"private_key=\n", -EINVAL, "private_key"},
    {"public_key=" PUB1 "00\n", -EINVAL, "public_key"},
    {"public_key=z97cc6eea14972697de580ad18fe11f535f482fa38868333e25957dcc166f70e\n", -EINVAL,
     "public_key"},
    {PEER "preshared_key=" PSK " \n", -EINVAL, "preshared_key"},
    {PEER "preshared_key=5f3c0ab1d2e4f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8\n",
     -EINVAL, "preshared_key"},
    /* 23: booleans */
    {"replace_peers=True\n", -EINVAL, "replace_peers"},
    {"replace_peers=1\n", -EINVAL, "replace_peers"},
    {"replace_peers=false\n", -EINVAL, "replace_peers"},
    {PEER "remove=TRUE\n", -EINVAL, "remove"},
    {PEER "update_only=yes\n", -EINVAL, "update_only"},
    {PEER "replace_allowed_ips=true \n", -EINVAL, "replace_allowed_ips"},
    /* 29: numbers */
    {"listen_port=65536\n", -EINVAL, "listen_port"},
    {"listen_port=-1\n", -EINVAL, "listen_port"},
    {"listen_port=+1\n", -EINVAL, "listen_port"},
    {"listen_port= 1\n", -EINVAL, "listen_port"},
    {"listen_port=abc\n", -EINVAL, "listen_port"},
    {"listen_port=\n", -EINVAL, "listen_port"},
    {"fwmark=4294967296\n", -EINVAL, "fwmark"},
    {"fwmark=-1\n", -EINVAL, "fwmark"},
    {"fwmark=0x10\n", -EINVAL, "fwmark"},
    {"fwmark=184467440737095516160\n", -EINVAL, "fwmark"},
    {PEER "persistent_keepalive_interval=65536\n", -EINVAL, "persistent_keepalive_interval"},
    {PEER "persistent_keepalive_interval=-1\n", -EINVAL, "persistent_keepalive_interval"},
    {PEER "protocol_version=2\n", -EINVAL, "protocol_version"},
    {PEER "protocol_version=0\n", -EINVAL, "protocol_version"},
    /* 43: endpoints */
    {PEER "endpoint=192.0.2.1\n", -EINVAL, "endpoint"},
    {PEER "endpoint=192.0.2.1:\n", -EINVAL, "endpoint"},
    {PEER "endpoint=192.0.2.1:0\n", -EINVAL, "endpoint"},
    {PEER "endpoint=192.0.2.1:65536\n", -EINVAL, "endpoint"},
    {PEER "endpoint=example.com:51820\n", -EINVAL, "endpoint"},
    {PEER "endpoint=[2001:db8::1]\n", -EINVAL, "endpoint"},
    {PEER "endpoint=2001:db8::1:51820\n", -EINVAL, "endpoint"},
    {PEER "endpoint=[192.0.2.1]:1\n", -EINVAL, "endpoint"},
    {PEER "endpoint=[fe80::1%]:1\n", -EINVAL, "endpoint"},
    {PEER "endpoint=[fe80::1%tapir-no-such]:1\n", -EINVAL, "endpoint"},
    {PEER "endpoint=192.0.2.1%1:1\n", -EINVAL, "endpoint"},
    {PEER "endpoint=\n", -EINVAL, "endpoint"},
    /* 55: allowed IPs */
    {PEER "allowed_ip=10.0.0.0\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=10.0.0.0/\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=10.0.0.0/33\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=fd00::/129\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=/24\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=-\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=--10.0.0.0/8\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=10.0.0.0/-1\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=10.0.0.0/08\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=10.0.0/8\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=fe80::1%1/64\n", -EINVAL, "allowed_ip"},
    {PEER "allowed_ip=example.com/32\n", -EINVAL, "allowed_ip"},
};

static void test_bad_cases(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct tapir_conf conf;
		int r = parse(c->body, &conf);

		if (r != c->want || (c->key && !strstr(err, c->key)))
			fail_msg("bad case %zu: got %d (%s), want %d naming \"%s\"", i, r, err,
				 c->want, c->key ? c->key : "");
		assert_zeroed(&conf);
		assert_true(err[0] != '\0');
		assert_null(strstr(err, PRIV_PREFIX));
		assert_null(strstr(err, PSK_PREFIX));
	}
}

static void test_message_quotes_value(void **state)
{
	struct tapir_conf conf;

	assert_int_equal(parse("listen_port=abc\n", &conf), -EINVAL);
	assert_string_equal(err, "invalid value for key \"listen_port\": \"abc\"");
	assert_int_equal(parse("bogus=" PRIV "\n", &conf), -EINVAL);
	assert_string_equal(err, "unknown key \"bogus\"");
	assert_int_equal(parse("private_key=" PRIV "x\n", &conf), -EINVAL);
	assert_string_equal(err, "invalid value for key \"private_key\"");
	/* A line without '=' may be a secret that lost its '=': it is not quoted. */
	assert_int_equal(parse("private_key" PRIV "\n", &conf), -EPROTO);
	assert_null(strstr(err, PRIV_PREFIX));
}

static void test_message_escapes_and_truncates(void **state)
{
	struct tapir_conf conf;
	char body[1024];

	assert_int_equal(parse("bo\"g\x01us=1\n", &conf), -EINVAL);
	assert_string_equal(err, "unknown key \"bo\\x22g\\x01us\"");
	memset(body, 'k', 1000);
	memcpy(body + 1000, "=1\n", 4);
	assert_int_equal(parse(body, &conf), -EINVAL);
	assert_true(strlen(err) < 100);
	assert_string_equal(err, "unknown key (1000 bytes, not shown)");
	memset(body, 'v', 1000);
	memcpy(body, "listen_port=", 12);
	memcpy(body + 1000, "\n", 2);
	assert_int_equal(parse(body, &conf), -EINVAL);
	assert_true(strlen(err) < 120);
	assert_non_null(strstr(err, "..."));
}

/* A key pasted on a line of its own: its base64 ends in '=', so it parses as a key name. */
static void test_message_hides_key_as_name(void **state)
{
	struct tapir_conf conf;

	assert_int_equal(parse("6EtabScXwQA6E7QxVwNT26ypFGzxUMX4V1aA/rpSAno=\n", &conf), -EINVAL);
	assert_string_equal(err, "unknown key (43 bytes, not shown)");
	assert_int_equal(parse(PRIV "=1\n", &conf), -EINVAL);
	assert_null(strstr(err, PRIV_PREFIX));
	assert_int_equal(parse(PSK "=\n", &conf), -EINVAL);
	assert_null(strstr(err, PSK_PREFIX));
}

static void test_nul_byte(void **state)
{
	static const char body[] = "listen_port=1\0"
				   "2\n";
	static const char in_key[] = "listen\0port=1\n";
	struct tapir_conf conf;

	assert_int_equal(parse_n(body, sizeof(body) - 1, &conf), -EINVAL);
	assert_non_null(strstr(err, "listen_port"));
	assert_zeroed(&conf);
	assert_int_equal(parse_n(in_key, sizeof(in_key) - 1, &conf), -EINVAL);
	assert_zeroed(&conf);
}

static void test_line_length(void **state)
{
	struct tapir_conf conf;
	char *body = malloc(5000);

	assert_non_null(body);
	/* 4096 bytes before the newline is the longest accepted line. */
	memcpy(body, "listen_port=", 12);
	memset(body + 12, '0', 4096 - 12 - 1);
	memcpy(body + 4095, "7\n", 3);
	assert_int_equal(parse(body, &conf), 0);
	assert_int_equal(conf.listen_port, 7);
	tapir_conf_free(&conf);
	memcpy(body + 4095, "07\n", 4);
	assert_int_equal(parse(body, &conf), -EPROTO);
	assert_zeroed(&conf);
	free(body);
}

static void test_error_frees_peers(void **state)
{
	struct tapir_conf conf;

	/* Fails after allocating peers and allowed IPs: ASan's leak check covers the cleanup. */
	assert_int_equal(parse(PEER "allowed_ip=10.0.0.0/8\npreshared_key=" PSK "\n" PEER
				    "allowed_ip=10.0.0.0/8\nallowed_ip=10.0.0.0/99\n",
			       &conf),
			 -EINVAL);
	assert_zeroed(&conf);
	assert_non_null(strstr(err, "10.0.0.0/99"));
}

static void test_null_err_buffer(void **state)
{
	struct tapir_conf conf;

	assert_int_equal(tapir_uapi_parse_set("bogus=1\n", 8, &conf, NULL, 0), -EINVAL);
	assert_zeroed(&conf);
	assert_int_equal(tapir_uapi_parse_set(NULL, 0, &conf, NULL, 0), 0);
	tapir_conf_free(&conf);
}

static void test_conf_free_null_and_zeroed(void **state)
{
	struct tapir_conf conf = {0};

	tapir_conf_free(NULL);
	tapir_conf_free(&conf);
	tapir_conf_free(&conf);
	assert_zeroed(&conf);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_large_request(void **state)
{
	static const size_t line_max = 11 + 64 + 1 + 32;
	char *body = malloc((size_t)LARGE_PEERS * line_max + 1);
	struct tapir_conf conf;
	size_t len = 0;
	double start;

	assert_non_null(body);
	for (unsigned i = 0; i < LARGE_PEERS; i++)
		len += (size_t)sprintf(body + len, "public_key=%064x\nallowed_ip=10.%u.%u.0/24\n",
				       i, i >> 8, i & 0xff);
	start = now_s();
	assert_int_equal(parse_n(body, len, &conf), 0);
	/* Generous even under sanitizers; quadratic growth would take far longer. */
	assert_true(now_s() - start < 5.0);
	assert_int_equal(conf.n_peers, LARGE_PEERS);
	assert_int_equal(conf.peers[LARGE_PEERS - 1].public_key[31], (LARGE_PEERS - 1) & 0xff);
	assert_int_equal(conf.peers[LARGE_PEERS - 1].n_allowed_ips, 1);
	assert_int_equal(conf.peers[LARGE_PEERS - 1].allowed_ips[0].addr[1],
			 (LARGE_PEERS - 1) >> 8);
	tapir_conf_free(&conf);
	free(body);
}

/* Numbered: {text, what tapir_sockaddr_format prints back}. */
static const char *const sockaddr_round_trips[][2] = {
    /* 0 */ {"1.2.3.4:51820", "1.2.3.4:51820"},
    /* 1 */ {"255.255.255.255:65535", "255.255.255.255:65535"},
    /* 2 */ {"0.0.0.0:1", "0.0.0.0:1"},
    /* 3 */ {"[2001:db8::1]:51820", "[2001:db8::1]:51820"},
    /* 4 */ {"[2001:DB8:0:0::1]:51820", "[2001:db8::1]:51820"},
    /* 5 */ {"[::1]:1", "[::1]:1"},
    /* 6 */ {"[fe80::1%3]:51820", "[fe80::1%3]:51820"},
    /* 7 */ {"[fe80::1%0]:51820", "[fe80::1]:51820"},
    /* 8 */ {"[::ffff:192.0.2.1]:80", "192.0.2.1:80"},
    /* 9 */ {"1.2.3.4:00080", "1.2.3.4:80"},
};

static void test_sockaddr_round_trip(void **state)
{
	for (size_t i = 0; i < sizeof(sockaddr_round_trips) / sizeof(sockaddr_round_trips[0]);
	     i++) {
		const char *in = sockaddr_round_trips[i][0], *want = sockaddr_round_trips[i][1];
		union tapir_sockaddr sa, again;
		char buf[64];
		int n;

		if (tapir_sockaddr_parse(&sa, in, strlen(in)))
			fail_msg("round trip %zu: cannot parse %s", i, in);
		n = tapir_sockaddr_format(buf, sizeof(buf), &sa);
		if (n != (int)strlen(want) || strcmp(buf, want))
			fail_msg("round trip %zu: %s printed as %s, want %s", i, in, buf, want);
		/* The printed form parses back to the same destination. */
		assert_int_equal(tapir_sockaddr_parse(&again, buf, (size_t)n), 0);
		assert_int_equal(tapir_sockaddr_format(buf, sizeof(buf), &again),
				 (int)strlen(want));
		assert_string_equal(buf, want);
	}
}

static void test_sockaddr_families(void **state)
{
	union tapir_sockaddr sa;

	assert_int_equal(tapir_sockaddr_parse(&sa, "192.0.2.7:9", 11), 0);
	assert_int_equal(sa.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(sa.in.sin_port), 9);
	assert_int_equal(ntohl(sa.in.sin_addr.s_addr), 0xc0000207);
	assert_int_equal(tapir_sockaddr_parse(&sa, "[::1]:9", 7), 0);
	assert_int_equal(sa.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(sa.in6.sin6_port), 9);
	/* Only the first @len bytes count. */
	assert_int_equal(tapir_sockaddr_parse(&sa, "1.2.3.4:5678", 9), 0);
	assert_int_equal(ntohs(sa.in.sin_port), 5);
}

static void test_sockaddr_scope_name(void **state)
{
	unsigned idx = if_nametoindex("lo");
	union tapir_sockaddr sa;
	char buf[64];

	if (!idx)
		skip();
	assert_int_equal(tapir_sockaddr_parse(&sa, "[fe80::1%lo]:1", 14), 0);
	assert_int_equal(sa.in6.sin6_scope_id, idx);
	snprintf(buf, sizeof(buf), "[fe80::1%%%u]:1", idx);
	assert_endpoint(&sa, buf);
}

static void test_sockaddr_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    ":",
	    ":1",
	    "1.2.3.4",
	    "1.2.3.4:",
	    "1.2.3.4:x",
	    "1.2.3.4:-1",
	    "1.2.3.4:0",
	    "1.2.3.4:65536",
	    "[::1]",
	    "[::1]:",
	    "[]:1",
	    "[::1:1",
	    "::1]:1",
	    "[::1]x:1",
	    "::1:1",
	    "[1.2.3.4]:1",
	    "[::1%]:1",
	    "1.2.3:1",
	    "host:1",
	    "1.2.3.4 :1",
	    "[::1%99999999999]:1",
	};
	union tapir_sockaddr sa;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static const union tapir_sockaddr zero;

		if (tapir_sockaddr_parse(&sa, bad[i], strlen(bad[i])) != -EINVAL)
			fail_msg("sockaddr bad %zu: \"%s\" accepted", i, bad[i]);
		assert_memory_equal(&sa, &zero, sizeof(sa));
	}
}

static void test_sockaddr_format_errors(void **state)
{
	union tapir_sockaddr sa = {0};
	char buf[64];

	assert_int_equal(tapir_sockaddr_format(buf, sizeof(buf), &sa), -EINVAL);
	assert_int_equal(tapir_sockaddr_parse(&sa, "1.2.3.4:51820", 13), 0);
	assert_int_equal(tapir_sockaddr_format(buf, 13, &sa), -EINVAL);
	assert_int_equal(tapir_sockaddr_format(buf, 14, &sa), 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_request),
	    cmocka_unit_test(test_device_only),
	    cmocka_unit_test(test_device_zero_values),
	    cmocka_unit_test(test_peer_every_key),
	    cmocka_unit_test(test_peer_defaults),
	    cmocka_unit_test(test_ipv6_endpoint),
	    cmocka_unit_test(test_multiple_peers_in_order),
	    cmocka_unit_test(test_uppercase_hex),
	    cmocka_unit_test(test_bad_cases),
	    cmocka_unit_test(test_message_quotes_value),
	    cmocka_unit_test(test_message_escapes_and_truncates),
	    cmocka_unit_test(test_message_hides_key_as_name),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_line_length),
	    cmocka_unit_test(test_error_frees_peers),
	    cmocka_unit_test(test_null_err_buffer),
	    cmocka_unit_test(test_conf_free_null_and_zeroed),
	    cmocka_unit_test(test_large_request),
	    cmocka_unit_test(test_sockaddr_round_trip),
	    cmocka_unit_test(test_sockaddr_families),
	    cmocka_unit_test(test_sockaddr_scope_name),
	    cmocka_unit_test(test_sockaddr_bad),
	    cmocka_unit_test(test_sockaddr_format_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
