// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/noise/replay.c: numbered vectors in the style of the kernel's counter
 * selftest (window edges, ring aliasing, big jumps, the REJECT_AFTER_MESSAGES limit) and a
 * differential test against a naive model that stores every accepted counter in a set.
 * Set TAPIR_TEST_SEED to replay a failing random run; the seed is printed on failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "messages.h"
#include "replay.h"

enum {
	W = TAPIR_REPLAY_WINDOW, /* 8128 */
	RING_BITS = TAPIR_REPLAY_WORDS * 64,
	RANDOM_SEQUENCES = 200,
	RANDOM_OPS = 5000,
	MODEL_SLOTS = 16384, /* power of two, more than twice RANDOM_OPS */
	RECENT = 64,
};

#define REJ REJECT_AFTER_MESSAGES
#define LIM ((uint64_t)W + 1)

/* ---- naive model: every accepted counter in a set, plus the highest one ---- */

struct model {
	uint64_t last;
	uint64_t keys[MODEL_SLOTS];
	uint8_t used[MODEL_SLOTS];
};

/* One model, static: it is too big for the stack and tests run one at a time. */
static struct model the_model;

static void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
}

/* Linear probing; returns the slot holding @c or the empty slot where it would go. */
static size_t model_slot(const struct model *m, uint64_t c)
{
	size_t i = (size_t)((c * 0x9e3779b97f4a7c15ull) >> 50) & (MODEL_SLOTS - 1);

	while (m->used[i] && m->keys[i] != c)
		i = (i + 1) & (MODEL_SLOTS - 1);
	return i;
}

static bool model_check(struct model *m, uint64_t c)
{
	size_t i;

	if (c >= REJ)
		return false;
	if (c <= m->last && m->last - c > W)
		return false;
	i = model_slot(m, c);
	if (m->used[i])
		return false;
	m->used[i] = 1;
	m->keys[i] = c;
	if (c > m->last)
		m->last = c;
	return true;
}

/* ---- vectors ---- */

struct vec {
	uint64_t counter;
	bool expect;
};

/* Runs @v from a fresh window through both the implementation and the model. */
static void run_vectors(const char *name, const struct vec *v, size_t n)
{
	struct model *m = &the_model;
	struct tapir_replay r;

	tapir_replay_init(&r);
	model_init(m);
	for (size_t i = 0; i < n; i++) {
		bool got = tapir_replay_check(&r, v[i].counter);
		bool want_model = model_check(m, v[i].counter);

		if (got != v[i].expect || want_model != v[i].expect)
			fail_msg("%s vector %zu: counter %llu: got %d, model %d, expected %d", name,
				 i + 1, (unsigned long long)v[i].counter, got, want_model,
				 v[i].expect);
	}
}

static const struct vec basic[] = {
    /* 1 */ {0, true},
    /* 2 */ {0, false},
    /* 3 */ {1, true},
    /* 4 */ {1, false},
    /* 5 */ {9, true},
    /* 6 */ {8, true},
    /* 7 */ {7, true},
    /* 8 */ {7, false},
    /* 9 */ {LIM, true},
    /* 10 */ {LIM - 1, true},
    /* 11 */ {LIM - 1, false},
    /* 12 */ {LIM - 2, true},
    /* 13 */ {2, true},	 /* last - 8127 */
    /* 14 */ {2, false}, /* duplicate */
    /* 15 */ {1, false}, /* last - 8128, inside but seen */
    /* 16 */ {0, false}, /* last - 8129, too old */
    /* 17 */ {LIM + 16, true},
    /* 18 */ {3, false},
    /* 19 */ {LIM + 16, false},
    /* 20 */ {LIM * 4, true}, /* jump of more than a ring: clears everything */
    /* 21 */ {LIM * 4 - W, true},
    /* 22 */ {LIM * 4 - W - 1, false},
    /* 23 */ {10, false},
    /* 24 */ {LIM * 4 - W, false},
    /* 25 */ {LIM * 4 - W + 1, true},
    /* 26 */ {LIM * 4 - 1, true},
    /* 27 */ {LIM * 4, false},
    /* 28 */ {REJ, false},
    /* 29 */ {REJ - 1, true},
    /* 30 */ {REJ, false},
    /* 31 */ {REJ - 1, false},
    /* 32 */ {REJ - 2, true},
    /* 33 */ {REJ + 1, false},
    /* 34 */ {UINT64_MAX, false},
    /* 35 */ {UINT64_MAX - 1, false},
    /* 36 */ {REJ - 2, false},
    /* 37 */ {REJ - 3, true},
    /* 38 */ {REJ - 1 - W, true},
    /* 39 */ {REJ - 2 - W, false},
    /* 40 */ {LIM * 4 - 2, false},
    /* 41 */ {0, false},
};

/* Ring aliasing: counter 8192 lands on the word that held 0..63. */
static const struct vec aliasing[] = {
    /* 1 */ {0, true},
    /* 2 */ {63, true},
    /* 3 */ {64, true},
    /* 4 */ {RING_BITS, true},
    /* 5 */ {0, false},
    /* 6 */ {63, false}, /* last - 8129 */
    /* 7 */ {64, false}, /* last - 8128, seen before the jump */
    /* 8 */ {65, true},
    /* 9 */ {RING_BITS + 1, true},
    /* 10 */ {RING_BITS - 1, true},
    /* 11 */ {RING_BITS + 63, true},
    /* 12 */ {RING_BITS + 64, true}, /* clears the word of 64..127 */
    /* 13 */ {65, false},
    /* 14 */ {RING_BITS + 64 - W, true},
    /* 15 */ {RING_BITS + 1, false},
    /* 16 */ {100 + 2 * RING_BITS, true},
    /* 17 */ {100 + RING_BITS, false},
    /* 18 */ {100 + 2 * RING_BITS - W, true},
};

/* Jumps of whole rings land on the word just used, which must be cleared too. */
static const struct vec whole_rings[] = {
    /* 1 */ {5, true},
    /* 2 */ {5 + RING_BITS, true},
    /* 3 */ {5, false},
    /* 4 */ {5 + 3 * RING_BITS, true},
    /* 5 */ {5 + RING_BITS, false},
    /* 6 */ {5 + 3 * RING_BITS, false},
    /* 7 */ {6 + 3 * RING_BITS, true},
};

/* Starting right below the limit from a fresh window. */
static const struct vec near_limit[] = {
    /* 1 */ {REJ - 1, true},
    /* 2 */ {REJ - 1 - W, true},
    /* 3 */ {REJ - 2 - W, false},
    /* 4 */ {0, false},
    /* 5 */ {REJ - 1, false},
    /* 6 */ {REJ, false},
    /* 7 */ {UINT64_MAX, false},
};

static void test_vectors(void **state)
{
	run_vectors("basic", basic, sizeof(basic) / sizeof(basic[0]));
	run_vectors("aliasing", aliasing, sizeof(aliasing) / sizeof(aliasing[0]));
	run_vectors("whole_rings", whole_rings, sizeof(whole_rings) / sizeof(whole_rings[0]));
	run_vectors("near_limit", near_limit, sizeof(near_limit) / sizeof(near_limit[0]));
}

static void test_init_accepts_zero_once(void **state)
{
	struct tapir_replay r;

	memset(&r, 0xa5, sizeof(r));
	tapir_replay_init(&r);
	assert_true(tapir_replay_check(&r, 0));
	assert_false(tapir_replay_check(&r, 0));
}

/* Ascending 1..W, then 0 is exactly at the edge. */
static void test_fill_ascending(void **state)
{
	struct tapir_replay r;

	tapir_replay_init(&r);
	for (uint64_t i = 1; i <= W; i++)
		assert_true(tapir_replay_check(&r, i));
	assert_true(tapir_replay_check(&r, 0));
	assert_false(tapir_replay_check(&r, 0));

	tapir_replay_init(&r);
	for (uint64_t i = 2; i <= W + 1; i++)
		assert_true(tapir_replay_check(&r, i));
	assert_true(tapir_replay_check(&r, 1));
	assert_false(tapir_replay_check(&r, 0));
}

/* Descending runs: everything within the window of the first counter is new. */
static void test_fill_descending(void **state)
{
	struct tapir_replay r;

	tapir_replay_init(&r);
	for (uint64_t i = W + 1; i-- > 0;)
		assert_true(tapir_replay_check(&r, i));

	tapir_replay_init(&r);
	for (uint64_t i = W + 2; i-- > 1;)
		assert_true(tapir_replay_check(&r, i));
	assert_false(tapir_replay_check(&r, 0));

	tapir_replay_init(&r);
	for (uint64_t i = W + 1; i-- > 1;)
		assert_true(tapir_replay_check(&r, i));
	assert_true(tapir_replay_check(&r, W + 1));
	assert_false(tapir_replay_check(&r, 0));

	tapir_replay_init(&r);
	for (uint64_t i = W + 1; i-- > 1;)
		assert_true(tapir_replay_check(&r, i));
	assert_true(tapir_replay_check(&r, 0));
	assert_true(tapir_replay_check(&r, W + 1));
}

/* ---- differential test ---- */

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t test_seed(void)
{
	const char *env = getenv("TAPIR_TEST_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static uint64_t below(uint64_t last, uint64_t d)
{
	return last >= d ? last - d : 0;
}

/* One counter of a random sequence: mostly near the window, sometimes far away. */
static uint64_t next_counter(uint64_t *rng, uint64_t last, const uint64_t *recent)
{
	uint64_t r = splitmix64(rng) % 100, x = splitmix64(rng);

	if (r < 40)
		return last + 1 + x % 4;
	if (r < 55)
		return recent[x % RECENT];
	if (r < 72)
		return below(last, x % (W + 300));
	if (r < 84)
		return below(last, W - 1 + x % 3); /* the window edge */
	if (r < 93)
		return last + x % (3 * (uint64_t)RING_BITS);
	if (r < 96)
		return REJ - 1 - x % (2 * (uint64_t)RING_BITS);
	if (r < 98)
		return REJ + x % 3;
	return x;
}

static uint64_t first_counter(uint64_t *rng, int seq)
{
	switch (seq % 4) {
	case 0:
		return 0;
	case 1:
		return splitmix64(rng) % 100000;
	case 2:
		return splitmix64(rng) >> 1;
	default:
		return REJ - 1 - splitmix64(rng) % 50000;
	}
}

static void test_differential(void **state)
{
	struct model *m = &the_model;
	uint64_t seed = test_seed();
	struct tapir_replay r;
	uint64_t recent[RECENT];

	for (int seq = 0; seq < RANDOM_SEQUENCES; seq++) {
		uint64_t rng = seed + (uint64_t)seq * 0x100000001b3ull;
		uint64_t c = first_counter(&rng, seq);

		tapir_replay_init(&r);
		model_init(m);
		for (int i = 0; i < RECENT; i++)
			recent[i] = c;
		for (int op = 0; op < RANDOM_OPS; op++) {
			bool got = tapir_replay_check(&r, c);
			bool want = model_check(m, c);

			if (got != want)
				fail_msg("seed %llu (TAPIR_TEST_SEED): sequence %d op %d: counter "
					 "%llu: replay %d, model %d",
					 (unsigned long long)seed, seq, op, (unsigned long long)c,
					 got, want);
			recent[op % RECENT] = c;
			c = next_counter(&rng, m->last, recent);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_accepts_zero_once), cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_fill_ascending),	   cmocka_unit_test(test_fill_descending),
	    cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
