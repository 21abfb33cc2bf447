// SPDX-License-Identifier: MIT
/* SipHash-2-4 against the reference vectors of the SipHash paper (key 00..0f, msg 00..n-1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "siphash.h"

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

static uint64_t hash_prefix(size_t len)
{
	uint8_t kb[16], msg[24] = {0};
	uint64_t key[2], words[3];

	for (int i = 0; i < 16; i++)
		kb[i] = (uint8_t)i;
	for (size_t i = 0; i < len; i++)
		msg[i] = (uint8_t)i;
	key[0] = le64(kb);
	key[1] = le64(kb + 8);
	for (int i = 0; i < 3; i++)
		words[i] = le64(msg + 8 * i);
	return tapir_siphash_words(key, words, len);
}

static void test_vectors(void **state)
{
	/* from the SipHash reference implementation's vectors.h (byte strings read LE) */
	assert_int_equal(hash_prefix(0), 0x726fdb47dd0e0e31ull);
	assert_int_equal(hash_prefix(1), 0x74f839c593dc67fdull);
	assert_int_equal(hash_prefix(7), 0xab0200f58b01d137ull);
	assert_int_equal(hash_prefix(8), 0x93f5f5799a932462ull);
	assert_int_equal(hash_prefix(15), 0xa129ca6149be45e5ull);
	assert_int_equal(hash_prefix(16), 0x3f2acc7f57c29bdbull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
