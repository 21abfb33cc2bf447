// SPDX-License-Identifier: MIT
/*
 * Tests for src/lib/parse.c: a numbered table of inputs against the bounded decimal parser that
 * the UAPI parser, the config file and the CLI share (0, the bound, one past it, signs, spaces,
 * empty, 64-bit overflow, trailing garbage, small bounds where a digit alone exceeds @max), and
 * a differential check of every value around a few bounds against a naive model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

struct vector {
	const char *in;
	uint64_t max;
	int ret;
	uint64_t out; /* when ret == 0 */
};

static const struct vector vectors[] = {
    /*  0 */ {"0", UINT16_MAX, 0, 0},
    /*  1 */ {"65535", UINT16_MAX, 0, 65535},
    /*  2 */ {"65536", UINT16_MAX, -EINVAL, 0},
    /*  3 */ {"+1", UINT16_MAX, -EINVAL, 0},
    /*  4 */ {"-1", UINT16_MAX, -EINVAL, 0},
    /*  5 */ {" 1", UINT16_MAX, -EINVAL, 0},
    /*  6 */ {"1 ", UINT16_MAX, -EINVAL, 0},
    /*  7 */ {"", UINT16_MAX, -EINVAL, 0},
    /*  8 */ {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
    /*  9 */ {"18446744073709551616", UINT64_MAX, -EINVAL, 0},
    /* 10 */ {"99999999999999999999999", UINT64_MAX, -EINVAL, 0},
    /* 11 */ {"12x", UINT32_MAX, -EINVAL, 0},
    /* 12 */ {"0x10", UINT32_MAX, -EINVAL, 0},
    /* 13 */ {"007", 7, 0, 7},
    /* 14 */ {"8", 7, -EINVAL, 0}, /* a single digit above a small bound */
    /* 15 */ {"9", 0, -EINVAL, 0},
    /* 16 */ {"0", 0, 0, 0},
    /* 17 */ {"4294967295", UINT32_MAX, 0, UINT32_MAX},
    /* 18 */ {"4294967296", UINT32_MAX, -EINVAL, 0},
    /* 19 */ {"128", 128, 0, 128},
    /* 20 */ {"129", 128, -EINVAL, 0},
    /* 21 */ {"1\n", UINT16_MAX, -EINVAL, 0},
    /* 22 */ {"1.0", UINT16_MAX, -EINVAL, 0},
};

static void test_vectors(void **state)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		uint64_t out = 12345;
		int r = tapir_parse_u64(v->in, strlen(v->in), v->max, &out);

		if (r != v->ret || (r == 0 && out != v->out) || (r != 0 && out != 12345))
			fail_msg("vector %zu (\"%s\", max %llu): got %d/%llu", i, v->in,
				 (unsigned long long)v->max, r, (unsigned long long)out);
	}
}

/* Only the @len bytes count: a digit just past them is not read. */
static void test_length_bound(void **state)
{
	uint64_t out = 0;

	assert_int_equal(tapir_parse_u64("123", 2, UINT16_MAX, &out), 0);
	assert_int_equal(out, 12);
	assert_int_equal(tapir_parse_u64("1", 0, UINT16_MAX, &out), -EINVAL);
}

/* Every value 0..2*max for a few bounds, against snprintf's rendering of it. */
static void test_model(void **state)
{
	static const uint64_t maxes[] = {0, 1, 9, 10, 32, 99, 128, 1000, UINT16_MAX};
	char text[32];

	for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++) {
		for (uint64_t v = 0; v <= 2 * maxes[m] + 10; v++) {
			uint64_t out = 0;
			int n = snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
			int r = tapir_parse_u64(text, (size_t)n, maxes[m], &out);

			if (v <= maxes[m] ? r != 0 || out != v : r != -EINVAL)
				fail_msg("%llu with max %llu: got %d/%llu", (unsigned long long)v,
					 (unsigned long long)maxes[m], r, (unsigned long long)out);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_length_bound),
	    cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
