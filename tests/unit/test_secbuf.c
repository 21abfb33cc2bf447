// SPDX-License-Identifier: MIT
/*
 * Tests for src/lib/secbuf.c: growing keeps the used elements and zeroes the rest, a failed
 * grow (size overflow, bad counts) leaves the old buffer the caller's and intact, and a chain of
 * doublings from NULL keeps every byte written so far.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "secbuf.h"

struct elem {
	uint8_t key[32];
	uint32_t n;
};

static void test_keeps_used_zeroes_rest(void **state)
{
	struct elem *a = tapir_secbuf_grow(NULL, 0, 0, 2, sizeof(*a));
	struct elem *b;
	static const struct elem zero;

	assert_non_null(a);
	assert_memory_equal(&a[0], &zero, sizeof(zero));
	memset(a[0].key, 0x11, sizeof(a[0].key));
	a[0].n = 1;
	memset(a[1].key, 0x22, sizeof(a[1].key)); /* past n_used: not copied */
	b = tapir_secbuf_grow(a, 1, 2, 8, sizeof(*b));
	assert_non_null(b);
	assert_int_equal(b[0].n, 1);
	assert_int_equal(b[0].key[31], 0x11);
	for (size_t i = 1; i < 8; i++)
		assert_memory_equal(&b[i], &zero, sizeof(zero));
	tapir_secbuf_free(b, 8 * sizeof(*b));
}

static void test_failure_leaves_old(void **state)
{
	char *a = tapir_secbuf_grow(NULL, 0, 0, 16, 1);

	assert_non_null(a);
	memcpy(a, "secret", 7);
	assert_null(tapir_secbuf_grow(a, 7, 16, SIZE_MAX / 2 + 1, 2)); /* overflows */
	assert_null(tapir_secbuf_grow(a, 17, 16, 32, 1));	       /* more used than held */
	assert_null(tapir_secbuf_grow(a, 7, 16, 4, 1));		       /* shrink below used */
	assert_null(tapir_secbuf_grow(a, 7, 16, 32, 0));
	assert_string_equal(a, "secret"); /* still ours, not freed (ASan would say) */
	tapir_secbuf_free(a, 16);
	tapir_secbuf_free(NULL, 0);
}

static void test_doubling_chain(void **state)
{
	size_t cap = 0, len = 0;
	char *buf = NULL;

	for (unsigned i = 0; i < 5000; i++) {
		if (len == cap) {
			size_t new_cap = cap ? cap * 2 : 4;
			char *b = tapir_secbuf_grow(buf, len, cap, new_cap, 1);

			assert_non_null(b);
			buf = b;
			cap = new_cap;
		}
		buf[len++] = (char)(i % 251);
	}
	for (size_t i = 0; i < len; i++)
		assert_int_equal((unsigned char)buf[i], i % 251);
	tapir_secbuf_free(buf, cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keeps_used_zeroes_rest),
	    cmocka_unit_test(test_failure_leaves_old),
	    cmocka_unit_test(test_doubling_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
