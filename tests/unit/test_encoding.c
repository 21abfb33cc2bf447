// SPDX-License-Identifier: MIT
/*
 * Tests for src/lib/encoding.c: known vectors, round trips of random keys against a naive
 * table-driven model, every single-character corruption, and the canonical-form checks wg(8)
 * applies. Random keys come from a seeded xorshift (the seed is printed on failure), since this
 * layer must not link crypto.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoding.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void random_key(uint8_t key[32])
{
	size_t i;

	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)rng_next();
}

/* Naive models: plain lookups are fine here, they only produce expected values. */
static void model_hex(char out[65], const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", key[i]);
}

static void model_base64(char out[45], const uint8_t key[32])
{
	uint8_t in[33] = {0};
	size_t i;

	memcpy(in, key, 32);
	for (i = 0; i < 11; i++) {
		uint32_t v =
		    (uint32_t)in[3 * i] << 16 | (uint32_t)in[3 * i + 1] << 8 | in[3 * i + 2];

		out[4 * i] = b64_alphabet[(v >> 18) & 63];
		out[4 * i + 1] = b64_alphabet[(v >> 12) & 63];
		out[4 * i + 2] = b64_alphabet[(v >> 6) & 63];
		out[4 * i + 3] = b64_alphabet[v & 63];
	}
	out[43] = '=';
	out[44] = '\0';
}

struct key_vector {
	const char *name, *hex, *b64;
};

static const struct key_vector key_vectors[] = {
    /* 0 */ {"zero", "0000000000000000000000000000000000000000000000000000000000000000",
	     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    /* 1 */
    {"ones", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "//////////////////////////////////////////8="},
    /* 2: RFC 7748 6.1 Alice's public key */
    {"alice", "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
     "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="},
    /* 3: 00 01 .. 1f */
    {"seq", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
};

static void test_vectors(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(key_vectors) / sizeof(key_vectors[0]); i++) {
		const struct key_vector *v = &key_vectors[i];
		uint8_t a[32], b[32];
		char hex[65], b64[45];

		print_message("# vector %zu (%s)\n", i, v->name);
		assert_int_equal(tapir_key_from_hex(a, v->hex, strlen(v->hex)), 0);
		assert_int_equal(tapir_key_from_base64(b, v->b64, strlen(v->b64)), 0);
		assert_memory_equal(a, b, 32);
		tapir_key_to_hex(hex, a);
		assert_string_equal(hex, v->hex);
		tapir_key_to_base64(b64, a);
		assert_string_equal(b64, v->b64);
	}
}

static void test_round_trips(void **state)
{
	uint64_t seed = (uint64_t)time(NULL) | 1;
	int i;

	rng_state = seed;
	for (i = 0; i < 10000; i++) {
		uint8_t key[32], back[32];
		char hex[65], want_hex[65], b64[45], want_b64[45];

		random_key(key);
		tapir_key_to_hex(hex, key);
		model_hex(want_hex, key);
		tapir_key_to_base64(b64, key);
		model_base64(want_b64, key);
		if (strcmp(hex, want_hex) != 0 || strcmp(b64, want_b64) != 0)
			fail_msg("seed %llu, iteration %d: %s / %s", (unsigned long long)seed, i,
				 hex, b64);
		assert_int_equal(tapir_key_from_hex(back, hex, 64), 0);
		assert_memory_equal(back, key, 32);
		assert_int_equal(tapir_key_from_base64(back, b64, 44), 0);
		assert_memory_equal(back, key, 32);
	}
}

static void test_hex_uppercase(void **state)
{
	static const char upper[] =
	    "8520F0098930A754748B7DDCB43EF75A0DBF3A0D26381AF4EBA4A98EAA9B4E6A";
	static const char mixed[] =
	    "8520f0098930A754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4E6a";
	uint8_t a[32], b[32];
	char hex[65];

	assert_int_equal(tapir_key_from_hex(a, upper, 64), 0);
	assert_int_equal(tapir_key_from_hex(b, mixed, 64), 0);
	assert_memory_equal(a, b, 32);
	/* Output is always lowercase. */
	tapir_key_to_hex(hex, a);
	assert_string_equal(hex, key_vectors[2].hex);
}

static void expect_hex_reject(const char *hex, size_t len)
{
	uint8_t key[32];

	memset(key, 0xaa, sizeof(key));
	assert_int_equal(tapir_key_from_hex(key, hex, len), -EINVAL);
	/* A rejected decode leaves no partial key behind. */
	assert_true(tapir_is_zero_ct(key, sizeof(key)));
}

static void expect_b64_reject(const char *b64, size_t len)
{
	uint8_t key[32];

	memset(key, 0xaa, sizeof(key));
	assert_int_equal(tapir_key_from_base64(key, b64, len), -EINVAL);
	assert_true(tapir_is_zero_ct(key, sizeof(key)));
}

static void test_hex_rejects(void **state)
{
	static const char bad_chars[] = "gG/:@`xz -\x7f\x80\xff";
	char hex[66];
	size_t pos, j;

	strcpy(hex, key_vectors[2].hex);
	expect_hex_reject(hex, 63);
	expect_hex_reject(hex, 0);
	hex[64] = '0';
	hex[65] = '\0';
	expect_hex_reject(hex, 65);
	/* Every position, with characters just outside each accepted range. */
	for (pos = 0; pos < 64; pos++) {
		for (j = 0; j < sizeof(bad_chars) - 1; j++) {
			strcpy(hex, key_vectors[2].hex);
			hex[pos] = bad_chars[j];
			expect_hex_reject(hex, 64);
		}
		strcpy(hex, key_vectors[2].hex);
		hex[pos] = '\0';
		expect_hex_reject(hex, 64);
	}
}

static void test_base64_rejects(void **state)
{
	static const char bad_chars[] = "=-_.@[`{ :\x7f\x80\xff";
	const char *good = key_vectors[2].b64;
	char b64[46];
	size_t pos, j;

	strcpy(b64, good);
	expect_b64_reject(b64, 43);
	expect_b64_reject(b64, 0);
	/* Unpadded form (43 chars) and extra padding. */
	expect_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo", 43);
	expect_b64_reject("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==", 45);
	/* Missing '=': a valid char in its place. */
	strcpy(b64, good);
	b64[43] = 'A';
	expect_b64_reject(b64, 44);
	for (pos = 0; pos < 43; pos++) {
		for (j = 0; j < sizeof(bad_chars) - 1; j++) {
			strcpy(b64, good);
			b64[pos] = bad_chars[j];
			expect_b64_reject(b64, 44);
		}
	}
}

/*
 * The third char of the last group carries 4 key bits and 2 unused bits. Of the 64 alphabet
 * chars only the 16 with zero low bits are canonical: "...AB=" has the low bit set.
 */
static void test_base64_non_canonical(void **state)
{
	char b64[45];
	uint8_t key[32];
	size_t j;

	strcpy(b64, key_vectors[0].b64);
	b64[42] = 'B';
	expect_b64_reject(b64, 44);
	for (j = 0; j < 64; j++) {
		int rc;

		b64[42] = b64_alphabet[j];
		rc = tapir_key_from_base64(key, b64, 44);
		assert_int_equal(rc, (j & 3) ? -EINVAL : 0);
	}
	/* The real keys still decode, from a key whose last nibble is set. */
	strcpy(b64, key_vectors[1].b64);
	assert_int_equal(tapir_key_from_base64(key, b64, 44), 0);
	b64[42] = '9';
	expect_b64_reject(b64, 44);
}

static void test_memeq_is_zero(void **state)
{
	uint8_t a[64] = {0}, b[64] = {0};
	size_t i;

	assert_int_equal(tapir_memeq_ct(a, b, sizeof(a)), 1);
	assert_int_equal(tapir_memeq_ct(a, b, 0), 1);
	assert_int_equal(tapir_is_zero_ct(a, sizeof(a)), 1);
	assert_int_equal(tapir_is_zero_ct(a, 0), 1);
	for (i = 0; i < sizeof(a); i++) {
		int bit;

		for (bit = 0; bit < 8; bit++) {
			b[i] = (uint8_t)(1u << bit);
			assert_int_equal(tapir_memeq_ct(a, b, sizeof(a)), 0);
			assert_int_equal(tapir_is_zero_ct(b, sizeof(b)), 0);
			/* Only the first @len bytes count. */
			assert_int_equal(tapir_memeq_ct(a, b, i), 1);
			assert_int_equal(tapir_is_zero_ct(b, i), 1);
		}
		b[i] = 0;
	}
	memset(a, 0xff, sizeof(a));
	memset(b, 0xff, sizeof(b));
	assert_int_equal(tapir_memeq_ct(a, b, sizeof(a)), 1);
	assert_int_equal(tapir_is_zero_ct(a, sizeof(a)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),	   cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_hex_uppercase),  cmocka_unit_test(test_hex_rejects),
	    cmocka_unit_test(test_base64_rejects), cmocka_unit_test(test_base64_non_canonical),
	    cmocka_unit_test(test_memeq_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
