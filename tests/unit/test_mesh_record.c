// SPDX-License-Identifier: MIT
/*
 * Tests for cli/mesh_record.c: the subnet arithmetic of a network, the key names, and numbered
 * tables of good and bad network configs and host records (the bad ones are what anyone with
 * write access to etcd could store: each must be refused with a reason, never half-parsed).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "mesh.h"

static const char KEY[] = "qRi/tQ5rD1pVUj6RrEpoDzHPTuHqmyAxyMUwLaBp5Vo=";

static struct tapir_mesh_net net_42(void)
{
	struct tapir_mesh_net net = {.name = "n1",
				     .cidr_addr = 0x0a2a0000,
				     .cidr_len = 16,
				     .subnet_len = 24,
				     .port = 51820,
				     .mtu = 1420};

	return net;
}

static void test_subnets(void **state)
{
	struct tapir_mesh_net net = net_42();
	char text[TAPIR_MESH_CIDR_TEXT], key[TAPIR_MESH_KEY_MAX];
	uint32_t s = 0;

	(void)state;
	assert_int_equal(tapir_mesh_n_subnets(&net), 256);
	tapir_mesh_subnet_text(text, &net, 3);
	assert_string_equal(text, "10.42.3.0/24");
	tapir_mesh_subnet_key(key, &net, 255);
	assert_string_equal(key, "/tapir/networks/n1/subnets/10.42.255.0-24");
	assert_int_equal(tapir_mesh_key_subnet(&net, key, strlen(key), &s), 0);
	assert_int_equal(s, 255);
	/* outside the CIDR, wrong length, other network, no dash, trailing bytes */
	static const char *const bad[] = {
	    "/tapir/networks/n1/subnets/10.43.0.0-24",
	    "/tapir/networks/n1/subnets/10.42.3.0-25",
	    "/tapir/networks/n2/subnets/10.42.3.0-24",
	    "/tapir/networks/n1/subnets/10.42.3.0",
	    "/tapir/networks/n1/subnets/10.42.3.0-24x",
	    "/tapir/networks/n1/subnets/10.42.3.1-24",
	    "/tapir/networks/n1/subnets/",
	    "/tapir/networks/n1/config",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (tapir_mesh_key_subnet(&net, bad[i], strlen(bad[i]), &s) == 0)
			fail_msg("bad key %zu accepted: %s", i, bad[i]);
	}
	/* a NUL inside the key */
	assert_int_not_equal(
	    tapir_mesh_key_subnet(&net, "/tapir/networks/n1/subnets/10.42.3.0-24\0", 40, &s), 0);
}

static void test_net_parse(void **state)
{
	static const struct {
		const char *json;
		int ok;
	} rows[] = {
	    /* 0 */ {"{\"cidr\":\"10.42.0.0/16\"}", 1},
	    /* 1 */ {"{\"cidr\":\"10.42.0.0/16\",\"subnet_len\":28,\"port\":1,\"mtu\":9000}", 1},
	    /* 2 */ {"{\"cidr\":\"10.42.0.1/16\"}", 0},
	    /* 3 */ {"{\"cidr\":\"10.42.0.0/16\",\"subnet_len\":16}", 0},
	    /* 4 */ {"{\"cidr\":\"10.0.0.0/8\",\"subnet_len\":25}", 0},
	    /* 5 */ {"{\"cidr\":\"10.42.0.0/16\",\"mode\":\"l2\"}", 0},
	    /* 6 */ {"{\"cidr\":\"10.42.0.0/16\",\"port\":\"51820\"}", 0},
	    /* 7 */ {"{\"cidr\":\"10.42.0.0/16\",\"port\":70000}", 0},
	    /* 8 */ {"[\"cidr\"]", 0},
	    /* 9 */ {"{\"cidr\":\"10.42.0.0/16\"} x", 0},
	    /* 10 */ {"{\"cidr\":\"fd00::/64\"}", 0},
	    /* 11 */ {"{\"cidr\":\"10.42.0.0/16\",\"mtu\":100}", 0},
	    /* 12 */ {"{\"cidr\":\"10.42.0.0/16\",\"mode\":\"tap\"}", 1},
	    /* 13 */ {"{\"cidr\":\"10.42.0.0/16\",\"mode\":\"tun\"}", 1},
	    /* 14 */ {"{\"cidr\":\"10.42.0.0/16\",\"mode\":\"TAP\"}", 0},
	    /* 15 */ {"{\"cidr\":\"10.42.0.0/16\",\"mode\":3}", 0},
	};
	struct tapir_mesh_net net;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = tapir_mesh_net_parse(&net, rows[i].json, strlen(rows[i].json), &why);

		if ((r == 0) != rows[i].ok)
			fail_msg("row %zu: got %d (%s)", i, r, r ? why : "ok");
	}
	tapir_mesh_net_parse(&net, rows[0].json, strlen(rows[0].json), &why);
	assert_int_equal(net.subnet_len, 24);
	assert_int_equal(net.port, 51820);
	assert_int_equal(net.keepalive_s, 25);
	assert_false(net.is_tap);
	assert_int_equal(tapir_mesh_link_mtu(&net), 1420);
	tapir_mesh_net_parse(&net, rows[12].json, strlen(rows[12].json), &why);
	assert_true(net.is_tap);
	/* a frame carries 17 bytes more than a packet: the TAP's MTU, as `tapir up` sets it */
	assert_int_equal(tapir_mesh_link_mtu(&net), 1403);
}

static void test_net_round_trip(void **state)
{
	struct tapir_mesh_net net = net_42(), back;
	char *s = tapir_mesh_net_format(&net);
	const char *why;

	(void)state;
	assert_non_null(s);
	assert_int_equal(tapir_mesh_net_parse(&back, s, strlen(s), &why), 0);
	assert_int_equal(back.cidr_addr, net.cidr_addr);
	assert_int_equal(back.subnet_len, net.subnet_len);
	assert_false(back.is_tap);
	free(s);
	net.is_tap = true;
	s = tapir_mesh_net_format(&net);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"mode\":\"tap\""));
	assert_int_equal(tapir_mesh_net_parse(&back, s, strlen(s), &why), 0);
	assert_true(back.is_tap);
	free(s);
}

/* @json with the string "K" replaced by KEY, or (for NULL) an oversized record; free it. */
static char *expand(const char *json)
{
	const char *k = json ? strstr(json, "\"K\"") : NULL;
	char *out = NULL, pad[1101];

	if (!json) {
		memset(pad, 'x', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = '\0';
		assert_true(asprintf(&out,
				     "{\"public_key\":\"%s\",\"endpoint\":\"192.0.2.1:1\","
				     "\"subnet\":\"10.42.3.0/24\",\"pad\":\"%s\"}",
				     KEY, pad) > 0);
	} else if (k) {
		assert_true(asprintf(&out, "%.*s\"%s\"%s", (int)(k - json), json, KEY, k + 3) > 0);
	} else {
		out = strdup(json);
	}
	return out;
}

static void test_host_parse(void **state)
{
	static const struct {
		const char *json; /* NULL: oversized */
		uint32_t subnet;
		int ok;
	} rows[] = {
	    /* 0 */ {"{\"public_key\":\"K\",\"endpoint\":\"192.0.2.1:51820\",\"subnet\":\"10.42.3."
		     "0/24\"}",
		     3, 1},
	    /* 1 */
	    {"{\"public_key\":\"K\",\"endpoint\":\"[2001:db8::1]:1\",\"subnet\":\"10.42.3.0/"
	     "24\",\"hostname\":\"a-b.c\"}",
	     3, 1},
	    /* 2: subnet of another key */
	    {"{\"public_key\":\"K\",\"endpoint\":\"192.0.2.1:51820\",\"subnet\":\"10.42.3.0/24\"}",
	     4, 0},
	    /* 3: outside the CIDR */
	    {"{\"public_key\":\"K\",\"endpoint\":\"192.0.2.1:51820\",\"subnet\":\"10.43.3.0/24\"}",
	     3, 0},
	    /* 4: port 0, no port, a name */
	    {"{\"public_key\":\"K\",\"endpoint\":\"192.0.2.1:0\",\"subnet\":\"10.42.3.0/24\"}", 3,
	     0},
	    {"{\"public_key\":\"K\",\"endpoint\":\"192.0.2.1\",\"subnet\":\"10.42.3.0/24\"}", 3, 0},
	    {"{\"public_key\":\"K\",\"endpoint\":\"host:1\",\"subnet\":\"10.42.3.0/24\"}", 3, 0},
	    /* 7: short key, key as a number */
	    {"{\"public_key\":\"AAAA\",\"endpoint\":\"192.0.2.1:1\",\"subnet\":\"10.42.3.0/24\"}",
	     3, 0},
	    {"{\"public_key\":5,\"endpoint\":\"192.0.2.1:1\",\"subnet\":\"10.42.3.0/24\"}", 3, 0},
	    /* 9: hostname with a control character */
	    {"{\"public_key\":\"K\",\"endpoint\":\"192.0.2.1:1\",\"subnet\":\"10.42.3.0/"
	     "24\",\"hostname\":\"a\\u0001\"}",
	     3, 0},
	    /* 10: not JSON, empty, too deep */
	    {"not json", 3, 0},
	    {"", 3, 0},
	    {"{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", 3, 0},
	    /* 13: oversized */
	    {NULL, 3, 0},
	};
	struct tapir_mesh_net net = net_42();
	struct tapir_mesh_host h;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *json = expand(rows[i].json);
		int r = tapir_mesh_host_parse(&net, rows[i].subnet, json, strlen(json), &h, &why);

		free(json);
		if ((r == 0) != rows[i].ok)
			fail_msg("row %zu: got %d (%s)", i, r, r ? why : "ok");
	}
}

static void test_host_round_trip(void **state)
{
	struct tapir_mesh_net net = net_42();
	struct tapir_mesh_host h = {.endpoint = "192.0.2.9:51820", .hostname = "h9", .subnet = 9};
	struct tapir_mesh_host back;
	const char *why;
	char *s;

	(void)state;
	memset(h.public_key, 0x5a, 32);
	s = tapir_mesh_host_format(&net, &h);
	assert_non_null(s);
	assert_int_equal(tapir_mesh_host_parse(&net, 9, s, strlen(s), &back, &why), 0);
	assert_memory_equal(back.public_key, h.public_key, 32);
	assert_string_equal(back.endpoint, h.endpoint);
	assert_string_equal(back.hostname, "h9");
	assert_null(strstr(s, "private"));
	free(s);
}

static void test_cert(void **state)
{
	uint8_t pk[32], sk[64], rogue_pk[32], rogue_sk[64], key[32], other[32];
	struct tapir_mesh_cert c = {
	    .subnet_addr = 0x0a2a0300, .subnet_len = 24, .not_after = 2000000000};
	char cert[TAPIR_MESH_CERT_TEXT], bad[TAPIR_MESH_CERT_TEXT];
	const char *why;
	static const struct {
		int row;
		const char *want; /* NULL: verifies */
	} rows[] = {
	    {0, NULL},
	    {1, "the certificate's signature does not verify"}, /* other admin */
	    {2, "the certificate's signature does not verify"}, /* other network */
	    {3, "the certificate's signature does not verify"}, /* other WireGuard key */
	    {4, "the certificate is for another subnet"},
	    {5, "the certificate has expired"},
	    {6, "no certificate"},
	    {7, "the certificate is malformed"},
	    {8, "the certificate's signature does not verify"}, /* one byte changed */
	};

	(void)state;
	assert_int_equal(sodium_init() >= 0, 1);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(rogue_pk, rogue_sk);
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	assert_int_equal(tapir_mesh_cert_sign(cert, sk, "n1", key, &c), 0);
	memcpy(bad, cert, sizeof(bad));
	bad[20] = bad[20] == 'A' ? 'B' : 'A';
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const uint8_t *admin = rows[i].row == 1 ? rogue_pk : pk;
		const char *net = rows[i].row == 2 ? "n2" : "n1";
		const uint8_t *k = rows[i].row == 3 ? other : key;
		uint32_t addr = rows[i].row == 4 ? 0x0a2a0400 : 0x0a2a0300;
		uint64_t now = rows[i].row == 5 ? 2000000001 : 1900000000;
		const char *text = rows[i].row == 6 ? "" : rows[i].row == 7 ? "AAAA" : cert;
		int r;

		if (rows[i].row == 8)
			text = bad;
		why = NULL;
		r = tapir_mesh_cert_verify(text, admin, net, k, addr, 24, now, &why);
		if (rows[i].want ? r == 0 || strcmp(why, rows[i].want) : r != 0)
			fail_msg("row %zu: got %d (%s)", i, r, why ? why : "ok");
	}
	assert_int_equal(tapir_mesh_cert_decode(cert, &c, NULL), 0);
	assert_int_equal(c.subnet_addr, 0x0a2a0300);
	assert_int_equal(c.not_after, 2000000000);
	assert_int_equal(c.revlist_serial, 0);
}

/*
 * Version 2 certificates carry the revocation list's serial, inside the signed bytes: a
 * numbered table of what a holder could try with one.
 */
static void test_cert_serial(void **state)
{
	uint8_t pk[32], sk[64], key[32], bin[100], sig[64];
	struct tapir_mesh_cert c = {.subnet_addr = 0x0a2a0300,
				    .subnet_len = 24,
				    .not_after = 2000000000,
				    .revlist_serial = 7};
	char v2[TAPIR_MESH_CERT_TEXT], v1[TAPIR_MESH_CERT_TEXT], forged[TAPIR_MESH_CERT_TEXT];
	char zero[TAPIR_MESH_CERT_TEXT], down[TAPIR_MESH_CERT_TEXT];
	const char *why;
	size_t len;

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	memset(key, 7, sizeof(key));
	assert_int_equal(tapir_mesh_cert_sign(v2, sk, "n1", key, &c), 0);
	assert_int_equal(strlen(v2), 116);
	c.revlist_serial = 0;
	assert_int_equal(tapir_mesh_cert_sign(v1, sk, "n1", key, &c), 0);
	assert_int_equal(strlen(v1), 104); /* serial 0: version 1, as before */
	/* the serial changed from 7 to 8 in place */
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), v2, strlen(v2), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	bin[21] = 8;
	sodium_bin2base64(forged, sizeof(forged), bin, len, sodium_base64_VARIANT_ORIGINAL);
	/* a version 2 certificate with serial 0 (one encoding per certificate) */
	memset(bin + 14, 0, 8);
	sodium_bin2base64(zero, sizeof(zero), bin, len, sodium_base64_VARIANT_ORIGINAL);
	/* version 2 stripped of its serial and relabelled version 1: the signature covers v2 */
	assert_int_equal(sodium_base642bin(bin, sizeof(bin), v2, strlen(v2), NULL, &len, NULL,
					   sodium_base64_VARIANT_ORIGINAL),
			 0);
	bin[0] = 1;
	memmove(bin + 14, bin + 22, 64);
	sodium_bin2base64(down, sizeof(down), bin, len - 8, sodium_base64_VARIANT_ORIGINAL);

	const struct {
		const char *text;
		const char *want; /* NULL: verifies */
		uint64_t serial;
	} rows[] = {
	    /* 0 */ {v2, NULL, 7},
	    /* 1 */ {v1, NULL, 0},
	    /* 2 */ {forged, "the certificate's signature does not verify", 8},
	    /* 3 */ {zero, "the certificate is malformed", 0},
	    /* 4 */ {down, "the certificate's signature does not verify", 0},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r;

		why = NULL;
		r = tapir_mesh_cert_verify(rows[i].text, pk, "n1", key, 0x0a2a0300, 24, 1900000000,
					   &why);
		if (rows[i].want ? r == 0 || strcmp(why, rows[i].want) : r != 0)
			fail_msg("row %zu: got %d (%s)", i, r, why ? why : "ok");
		if (!rows[i].want || i == 2) {
			assert_int_equal(tapir_mesh_cert_decode(rows[i].text, &c, sig), 0);
			assert_int_equal(c.revlist_serial, rows[i].serial);
		}
	}
}

/* Revocations: a numbered table of what an etcd writer without the admin key could store. */
static void test_revocation(void **state)
{
	uint8_t pk[32], sk[64], rogue_pk[32], rogue_sk[64], key[32], named[32];
	/* static: ASan's redzones would take the frame over -Wframe-larger-than */
	static char text[TAPIR_MESH_REVOCATION_TEXT], rogue[TAPIR_MESH_REVOCATION_TEXT];
	static char tampered[TAPIR_MESH_REVOCATION_TEXT], other_net[TAPIR_MESH_REVOCATION_TEXT];
	static char long_text[2 * TAPIR_MESH_REVOCATION_TEXT], name[TAPIR_MESH_KEY_MAX];
	struct tapir_mesh_revocation rv;
	const char *why;

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(rogue_pk, rogue_sk);
	memset(key, 7, sizeof(key));
	assert_int_equal(tapir_mesh_revocation_sign(text, sk, "n1", key, 1800000000), 0);
	assert_int_equal(tapir_mesh_revocation_sign(rogue, rogue_sk, "n1", key, 1800000000), 0);
	assert_int_equal(tapir_mesh_revocation_sign(other_net, sk, "n2", key, 1800000000), 0);
	memcpy(tampered, text, sizeof(tampered));
	tampered[10] = tampered[10] == 'A' ? 'B' : 'A'; /* inside the revoked key */
	snprintf(long_text, sizeof(long_text), "%s%s", text, "AAAA");

	const struct {
		const char *text;
		size_t len;
		const char *want; /* NULL: verifies */
	} rows[] = {
	    /* 0 */ {text, strlen(text), NULL},
	    /* 1: signed by another key */
	    {rogue, strlen(rogue), "the revocation's signature does not verify"},
	    /* 2: one character of the revoked key changed */
	    {tampered, strlen(tampered), "the revocation's signature does not verify"},
	    /* 3: the admin's revocation for another network */
	    {other_net, strlen(other_net), "the revocation's signature does not verify"},
	    /* 4: truncated, 5: trailing bytes, 6: empty, 7: not base64 */
	    {text, strlen(text) - 4, "the revocation is malformed"},
	    {long_text, strlen(long_text), "the revocation is malformed"},
	    {"", 0, "the revocation is malformed"},
	    {"{\"public_key\":\"x\"}", 18, "the revocation is malformed"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r;

		why = NULL;
		r = tapir_mesh_revocation_verify(rows[i].text, rows[i].len, pk, "n1", &rv, &why);
		if (rows[i].want ? r == 0 || strcmp(why, rows[i].want) : r != 0)
			fail_msg("row %zu: got %d (%s)", i, r, why ? why : "ok");
	}
	assert_int_equal(tapir_mesh_revocation_verify(text, strlen(text), pk, "n1", &rv, &why), 0);
	assert_memory_equal(rv.public_key, key, 32);
	assert_int_equal(rv.revoked_at, 1800000000);

	/* the etcd key names the revoked key in hex; anything else is refused */
	tapir_mesh_revoked_key(name, "n1", key);
	assert_string_equal(name,
			    "/tapir/networks/n1/revoked/"
			    "0707070707070707070707070707070707070707070707070707070707070707");
	assert_int_equal(tapir_mesh_key_revoked("n1", name, strlen(name), named), 0);
	assert_memory_equal(named, key, 32);
	assert_int_not_equal(tapir_mesh_key_revoked("n2", name, strlen(name), named), 0);
	assert_int_not_equal(tapir_mesh_key_revoked("n1", name, strlen(name) - 1, named), 0);
	name[strlen(name) - 1] = 'g';
	assert_int_not_equal(tapir_mesh_key_revoked("n1", name, strlen(name), named), 0);
}

/* The revocation list: a numbered table of what an etcd writer could store instead. */
static void test_revlist(void **state)
{
	uint8_t pk[32], sk[64], rogue_pk[32], rogue_sk[64], k[3][32], *bin;
	struct tapir_mesh_revlist l = {.serial = 5, .issued_at = 1800000000}, got, empty = {0};
	char *text, *rogue, *other_net, *tampered, *trailing, *unsorted, *none, *huge;
	const char *why;
	size_t len, bin_len;

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(rogue_pk, rogue_sk);
	for (int i = 0; i < 3; i++)
		memset(k[i], 9 - 3 * i, 32); /* added out of order */
	for (int i = 0; i < 3; i++)
		assert_int_equal(tapir_mesh_revlist_add(&l, k[i], 1700000000 + (uint64_t)i), 1);
	assert_int_equal(tapir_mesh_revlist_add(&l, k[1], 1), 0);
	assert_true(tapir_mesh_revlist_has(&l, k[2]) && l.n == 3);
	assert_true(memcmp(l.keys[0].public_key, l.keys[1].public_key, 32) < 0);
	text = tapir_mesh_revlist_sign(&l, sk, "n1");
	rogue = tapir_mesh_revlist_sign(&l, rogue_sk, "n1");
	other_net = tapir_mesh_revlist_sign(&l, sk, "n2");
	none = tapir_mesh_revlist_sign(&empty, sk, "n1");
	assert_non_null(text && rogue && other_net && none);
	tampered = strdup(text);
	tampered[40] = tampered[40] == 'A' ? 'B' : 'A'; /* inside the serial or the keys */
	assert_int_not_equal(asprintf(&trailing, "%sAAAA", text), -1);
	/* two keys swapped and signed by the admin's code path is impossible: build it by hand */
	bin = malloc(strlen(text));
	assert_int_equal(sodium_base642bin(bin, strlen(text), text, strlen(text), NULL, &bin_len,
					   NULL, sodium_base64_VARIANT_ORIGINAL),
			 0);
	memset(bin + 2 + 2 + 20, 0xff, 32); /* the first key above the second */
	len = sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_ORIGINAL);
	unsorted = malloc(len);
	sodium_bin2base64(unsorted, len, bin, bin_len, sodium_base64_VARIANT_ORIGINAL);
	huge = malloc(TAPIR_MESH_REVLIST_TEXT_MAX + 1);
	memset(huge, 'A', TAPIR_MESH_REVLIST_TEXT_MAX);
	huge[TAPIR_MESH_REVLIST_TEXT_MAX] = '\0';

	const struct {
		const char *text;
		size_t len;
		const char *want; /* NULL: verifies */
	} rows[] = {
	    /* 0 */ {text, strlen(text), NULL},
	    /* 1 */ {none, strlen(none), NULL},
	    /* 2: signed by another key */
	    {rogue, strlen(rogue), "the revocation list's signature does not verify"},
	    /* 3: the admin's list of another network */
	    {other_net, strlen(other_net), "the revocation list is for another network"},
	    /* 4: one character changed */
	    {tampered, strlen(tampered), "the revocation list's signature does not verify"},
	    /* 5: truncated, 6: trailing bytes, 7: empty, 8: not base64, 9: keys out of order */
	    {text, strlen(text) - 4, "the revocation list is malformed"},
	    {trailing, strlen(trailing), "the revocation list is malformed"},
	    {"", 0, "the revocation list is malformed"},
	    {"{\"serial\":9}", 12, "the revocation list is malformed"},
	    {unsorted, strlen(unsorted), "the revocation list is malformed"},
	    /* 10: oversized, before any decoding */
	    {huge, TAPIR_MESH_REVLIST_TEXT_MAX, "the revocation list is oversized"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r;

		why = NULL;
		r = tapir_mesh_revlist_verify(rows[i].text, rows[i].len, pk, "n1", &got, &why);
		if (rows[i].want ? r == 0 || strcmp(why, rows[i].want) : r != 0)
			fail_msg("row %zu: got %d (%s)", i, r, why ? why : "ok");
		if (r < 0)
			assert_true(got.n == 0 && !got.keys);
		tapir_mesh_revlist_free(&got);
	}
	assert_int_equal(tapir_mesh_revlist_verify(text, strlen(text), pk, "n1", &got, &why), 0);
	assert_int_equal(got.serial, 5);
	assert_int_equal(got.issued_at, 1800000000);
	assert_int_equal(got.n, 3);
	assert_memory_equal(got.keys, l.keys, 3 * sizeof(*l.keys));
	tapir_mesh_revlist_free(&got);

	/* a full list signs and verifies within the size limit; one key more is refused */
	struct tapir_mesh_revlist full = {.serial = 9};
	uint8_t key[32] = {0};
	char *full_text;

	for (uint32_t i = 0; i < TAPIR_MESH_REVLIST_MAX; i++) {
		key[0] = (uint8_t)(i >> 8), key[1] = (uint8_t)i; /* ascending */
		assert_int_equal(tapir_mesh_revlist_add(&full, key, i), 1);
	}
	key[31] = 1;
	assert_int_equal(tapir_mesh_revlist_add(&full, key, 0), -ENOSPC);
	assert_int_equal(tapir_mesh_revlist_add(&full, full.keys[7].public_key, 0), 0);
	full_text = tapir_mesh_revlist_sign(&full, sk, "n1");
	assert_non_null(full_text);
	assert_true(strlen(full_text) < TAPIR_MESH_REVLIST_TEXT_MAX);
	assert_int_equal(
	    tapir_mesh_revlist_verify(full_text, strlen(full_text), pk, "n1", &got, &why), 0);
	assert_int_equal(got.n, TAPIR_MESH_REVLIST_MAX);
	tapir_mesh_revlist_free(&got);
	tapir_mesh_revlist_free(&full);
	free(full_text);
	tapir_mesh_revlist_free(&l);
	free(text), free(rogue), free(other_net), free(none), free(tampered), free(trailing);
	free(bin), free(unsorted), free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_subnets),	    cmocka_unit_test(test_net_parse),
	    cmocka_unit_test(test_net_round_trip),  cmocka_unit_test(test_host_parse),
	    cmocka_unit_test(test_host_round_trip), cmocka_unit_test(test_cert),
	    cmocka_unit_test(test_revocation),	    cmocka_unit_test(test_cert_serial),
	    cmocka_unit_test(test_revlist),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
