// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/peer/l2table.c: learning and lookup, a MAC moving between owners, the
 * aging boundary, both -ENOSPC limits (with the table left unchanged), refused source MACs,
 * owner removal and walks; pins (reserved MACs: refused to other owners, never aged, taking over
 * a learned entry, room of their own); a differential test against a naive array model on random
 * operations; and a concurrency test (4 threads learning and looking up while the main thread
 * expires and removes owners) that checks the counting invariants at the end. Run it under
 * TSan too. Set TAPIR_TEST_SEED to replay a failing random run; the seed is printed on failure.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "l2table.h"

enum {
	OWNERS = 8,
	DIFF_ROUNDS = 300,
	DIFF_OPS = 2000,
	DIFF_MACS = 40, /* candidate source MACs, a few of them invalid */
	MODEL_MAX = 64,
	CONC_THREADS = 4,
	CONC_MACS = 48,
	CONC_MAX_ENTRIES = 24, /* fewer than CONC_MACS: the full-table path runs too */
	CONC_MAX_PER_OWNER = 6,
	CONC_RUN_NS = 300 * 1000 * 1000,
	BIG_ENTRIES = 4096,
};

static int owner_objs[OWNERS]; /* owner i is &owner_objs[i], id i + 100 */

static void *owner_ptr(unsigned int i)
{
	return &owner_objs[i];
}

static uint64_t owner_id(unsigned int i)
{
	return i + 100;
}

static void make_mac(uint8_t mac[6], uint8_t first, uint32_t rest)
{
	mac[0] = first;
	mac[1] = 0x16;
	mac[2] = (uint8_t)(rest >> 24);
	mac[3] = (uint8_t)(rest >> 16);
	mac[4] = (uint8_t)(rest >> 8);
	mac[5] = (uint8_t)rest;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int rnd(uint64_t *s, unsigned int n)
{
	return (unsigned int)(splitmix64(s) % n);
}

static uint64_t test_seed(void)
{
	const char *env = getenv("TAPIR_TEST_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- walks ---- */

struct collected {
	size_t n;
	uint8_t macs[BIG_ENTRIES][6];
	uint64_t seen[BIG_ENTRIES];
	int stop_after; /* return 7 after this many calls; 0 = never */
};

static struct collected coll; /* static: too big for the stack */

static int collect(void *ctx, const uint8_t mac[6], uint64_t last_seen_ns)
{
	struct collected *c = ctx;

	if (c->n < BIG_ENTRIES) {
		memcpy(c->macs[c->n], mac, 6);
		c->seen[c->n] = last_seen_ns;
	}
	c->n++;
	return c->stop_after && (int)c->n >= c->stop_after ? 7 : 0;
}

static bool collected_has(const struct collected *c, const uint8_t mac[6], uint64_t *seen)
{
	for (size_t i = 0; i < c->n && i < BIG_ENTRIES; i++) {
		if (memcmp(c->macs[i], mac, 6) == 0) {
			if (seen)
				*seen = c->seen[i];
			return true;
		}
	}
	return false;
}

static size_t walk_count(struct tapir_l2table *t, uint64_t id)
{
	memset(&coll, 0, sizeof(coll));
	assert_int_equal(tapir_l2table_walk_owner(t, id, collect, &coll), 0);
	return coll.n;
}

/* ---- fixed cases ---- */

static void test_new_refuses(void **state)
{
	assert_null(tapir_l2table_new(0, 4));
	assert_null(tapir_l2table_new(16, 0));
	assert_null(tapir_l2table_new((size_t)1 << 25, 4));
	assert_null(tapir_l2table_new(SIZE_MAX, 4));
	tapir_l2table_free(NULL);
}

static void test_mac_predicates(void **state)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t mcast4[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t mcast6[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t local[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t zero[6] = {0};
	static const uint8_t last_bit[6] = {0, 0, 0, 0, 0, 1};

	assert_true(tapir_mac_is_multicast(bcast));
	assert_true(tapir_mac_is_multicast(mcast4));
	assert_true(tapir_mac_is_multicast(mcast6));
	assert_false(tapir_mac_is_multicast(local));
	assert_false(tapir_mac_is_multicast(zero));
	assert_true(tapir_mac_is_zero(zero));
	assert_false(tapir_mac_is_zero(last_bit));
	assert_false(tapir_mac_is_zero(bcast));
}

static void test_learn_lookup(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(16, 4);
	uint8_t a[6], b[6];
	uint64_t id = 0, seen = 0;

	assert_non_null(t);
	make_mac(a, 0x52, 1);
	make_mac(b, 0x52, 2);
	assert_null(tapir_l2table_lookup(t, a, 0, UINT64_MAX, &id));
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), 1000), 0);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 1000, 10, &id), owner_ptr(0));
	assert_int_equal(id, owner_id(0));
	assert_ptr_equal(tapir_l2table_lookup(t, a, 1000, 10, NULL), owner_ptr(0));
	assert_null(tapir_l2table_lookup(t, b, 1000, 10, &id));
	assert_int_equal(tapir_l2table_count(t), 1);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 1);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 0);

	/* a refresh counts nothing new and moves the last-seen time */
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), 5000), 0);
	assert_int_equal(tapir_l2table_count(t), 1);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 1);
	assert_int_equal(walk_count(t, owner_id(0)), 1);
	assert_true(collected_has(&coll, a, &seen));
	assert_int_equal(seen, 5000);
	tapir_l2table_free(t);
}

static void test_move_between_owners(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(16, 2);
	uint8_t a[6], b[6], c[6];
	uint64_t id = 0;

	assert_non_null(t);
	make_mac(a, 0x52, 1);
	make_mac(b, 0x52, 2);
	make_mac(c, 0x52, 3);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), 10), 0);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(1), owner_id(1), 20), 0);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 20, 0, &id), owner_ptr(1));
	assert_int_equal(id, owner_id(1));
	assert_int_equal(tapir_l2table_count(t), 1);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 1);
	assert_int_equal(walk_count(t, owner_id(0)), 0);
	assert_int_equal(walk_count(t, owner_id(1)), 1);

	/* owner 0 full with b and c: a cannot move back and stays with owner 1, untouched */
	assert_int_equal(tapir_l2table_learn(t, b, owner_ptr(0), owner_id(0), 30), 0);
	assert_int_equal(tapir_l2table_learn(t, c, owner_ptr(0), owner_id(0), 30), 0);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), 40), -ENOSPC);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 20, 0, &id), owner_ptr(1));
	assert_null(tapir_l2table_lookup(t, a, 40, 0, NULL)); /* last seen still 20 */
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 2);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 1);
	assert_int_equal(tapir_l2table_count(t), 3);

	/* b moves to owner 1: now owner 0 has room for a */
	assert_int_equal(tapir_l2table_learn(t, b, owner_ptr(1), owner_id(1), 50), 0);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), 60), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 2);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 1);
	assert_int_equal(tapir_l2table_count(t), 3);
	tapir_l2table_free(t);
}

static void test_aging_boundary(void **state)
{
	const uint64_t age = 300ull * 1000000000ull, t0 = 1000;
	struct tapir_l2table *t = tapir_l2table_new(16, 4);
	uint8_t a[6];

	assert_non_null(t);
	make_mac(a, 0x52, 1);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), t0), 0);
	assert_ptr_equal(tapir_l2table_lookup(t, a, t0 + age, age, NULL), owner_ptr(0));
	assert_null(tapir_l2table_lookup(t, a, t0 + age + 1, age, NULL));
	/* a time before the last sighting (another worker's clock) is age 0 */
	assert_ptr_equal(tapir_l2table_lookup(t, a, 0, 0, NULL), owner_ptr(0));
	assert_int_equal(tapir_l2table_expire(t, t0 + age, age), 0);
	assert_int_equal(tapir_l2table_expire(t, 0, 0), 0);
	assert_int_equal(tapir_l2table_count(t), 1);
	assert_int_equal(tapir_l2table_expire(t, t0 + age + 1, age), 1);
	assert_int_equal(tapir_l2table_count(t), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 0);
	assert_null(tapir_l2table_lookup(t, a, t0, age, NULL));
	tapir_l2table_free(t);
}

static void test_max_per_owner(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(16, 4);
	uint8_t mac[6];

	assert_non_null(t);
	for (uint32_t i = 0; i < 4; i++) {
		make_mac(mac, 0x52, i);
		assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(0), owner_id(0), 1), 0);
	}
	make_mac(mac, 0x52, 4);
	assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(0), owner_id(0), 2), -ENOSPC);
	assert_null(tapir_l2table_lookup(t, mac, 2, UINT64_MAX, NULL));
	assert_int_equal(tapir_l2table_count(t), 4);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 4);
	assert_int_equal(walk_count(t, owner_id(0)), 4);
	/* known MACs still refresh, and other owners still learn */
	make_mac(mac, 0x52, 3);
	assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(0), owner_id(0), 3), 0);
	make_mac(mac, 0x52, 4);
	assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(1), owner_id(1), 3), 0);
	assert_int_equal(tapir_l2table_count(t), 5);
	tapir_l2table_free(t);
}

static void test_max_entries(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(BIG_ENTRIES, BIG_ENTRIES);
	uint8_t mac[6];
	uint64_t id = 0;

	assert_non_null(t);
	for (uint32_t i = 0; i < BIG_ENTRIES; i++) {
		make_mac(mac, 0x52, i * 7919);
		assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(i % 3), owner_id(i % 3), i),
				 0);
	}
	make_mac(mac, 0x52, BIG_ENTRIES * 7919);
	assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(3), owner_id(3), 9), -ENOSPC);
	assert_null(tapir_l2table_lookup(t, mac, 9, UINT64_MAX, NULL));
	assert_int_equal(tapir_l2table_count(t), BIG_ENTRIES);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(3)), 0);
	for (uint32_t i = 0; i < BIG_ENTRIES; i++) {
		make_mac(mac, 0x52, i * 7919);
		assert_ptr_equal(tapir_l2table_lookup(t, mac, i, 0, &id), owner_ptr(i % 3));
		assert_int_equal(id, owner_id(i % 3));
	}
	/* a move needs no room */
	make_mac(mac, 0x52, 0);
	assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(3), owner_id(3), 9), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(3)), 1);
	/* aging the first half (the moved MAC, seen at 9, too) frees room again */
	assert_int_equal(tapir_l2table_expire(t, BIG_ENTRIES, BIG_ENTRIES / 2), BIG_ENTRIES / 2);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(3)), 0);
	make_mac(mac, 0x52, BIG_ENTRIES * 7919);
	assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(3), owner_id(3), 9), 0);
	assert_int_equal(tapir_l2table_count(t), BIG_ENTRIES / 2 + 1);
	tapir_l2table_free(t);
}

static void test_refused_sources(void **state)
{
	static const uint8_t refused[][6] = {
	    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01},
	    {0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00},
	    {0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	};
	struct tapir_l2table *t = tapir_l2table_new(16, 4);

	assert_non_null(t);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(tapir_l2table_learn(t, refused[i], owner_ptr(0), owner_id(0), 1),
				 -EINVAL);
		assert_null(tapir_l2table_lookup(t, refused[i], 1, UINT64_MAX, NULL));
	}
	assert_int_equal(tapir_l2table_count(t), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 0);
	tapir_l2table_free(t);
}

static void test_remove_owner_and_walk(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(64, 16);
	uint8_t mac[6];
	uint64_t seen;

	assert_non_null(t);
	for (uint32_t i = 0; i < 30; i++) {
		make_mac(mac, 0x52, i);
		assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(i % 2), owner_id(i % 2), i),
				 0);
	}
	assert_int_equal(walk_count(t, owner_id(1)), 15);
	for (uint32_t i = 1; i < 30; i += 2) {
		make_mac(mac, 0x52, i);
		assert_true(collected_has(&coll, mac, &seen));
		assert_int_equal(seen, i);
	}
	make_mac(mac, 0x52, 0);
	assert_false(collected_has(&coll, mac, NULL));
	assert_int_equal(walk_count(t, owner_id(5)), 0);

	/* a nonzero return stops the walk and comes back */
	memset(&coll, 0, sizeof(coll));
	coll.stop_after = 3;
	assert_int_equal(tapir_l2table_walk_owner(t, owner_id(0), collect, &coll), 7);
	assert_int_equal(coll.n, 3);

	tapir_l2table_remove_owner(t, owner_id(0));
	assert_int_equal(tapir_l2table_count(t), 15);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 15);
	assert_int_equal(walk_count(t, owner_id(0)), 0);
	for (uint32_t i = 0; i < 30; i++) {
		make_mac(mac, 0x52, i);
		assert_ptr_equal(tapir_l2table_lookup(t, mac, i, 0, NULL),
				 i % 2 ? owner_ptr(1) : NULL);
	}
	tapir_l2table_remove_owner(t, owner_id(7)); /* no MACs: nothing happens */
	tapir_l2table_remove_owner(t, owner_id(1));
	assert_int_equal(tapir_l2table_count(t), 0);
	tapir_l2table_free(t);
}

/* ---- pins (issue 13: a pinned MAC is reserved for its peer) ---- */

/* Pinned to owner 0: no other owner can learn it, lookups find owner 0 at any age. */
static void test_pin_reserves(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(16, 4);
	uint8_t a[6], b[6];
	uint64_t id = 0;

	assert_non_null(t);
	make_mac(a, 0x52, 1);
	make_mac(b, 0x52, 2);
	assert_int_equal(tapir_l2table_pin(t, a, owner_ptr(0), owner_id(0)), 0);
	assert_int_equal(tapir_l2table_count_pinned(t), 1);
	assert_int_equal(tapir_l2table_count(t), 0); /* pins are not learned entries */
	assert_ptr_equal(tapir_l2table_lookup(t, a, 1ull << 62, 0, &id), owner_ptr(0));
	assert_int_equal(id, owner_id(0));

	/* another owner sending from it: refused, the table unchanged */
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(1), owner_id(1), 10), -EPERM);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 10, 0, &id), owner_ptr(0));
	assert_int_equal(id, owner_id(0));
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 0);
	assert_int_equal(tapir_l2table_count(t), 0);

	/* not listed as learned until its owner sends from it; then it is */
	assert_int_equal(walk_count(t, owner_id(0)), 0);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(0), owner_id(0), 20), 0);
	assert_int_equal(walk_count(t, owner_id(0)), 1);
	assert_true(collected_has(&coll, a, NULL));
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 0);
	assert_int_equal(tapir_l2table_count_pinned(t), 1);

	/* pinning again to the same owner is a no-op; to another one, refused */
	assert_int_equal(tapir_l2table_pin(t, a, owner_ptr(0), owner_id(0)), 0);
	assert_int_equal(tapir_l2table_pin(t, a, owner_ptr(1), owner_id(1)), -EEXIST);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 30, 0, NULL), owner_ptr(0));
	assert_int_equal(tapir_l2table_count_pinned(t), 1);

	/* aging never removes a pin; other MACs still move freely */
	assert_int_equal(tapir_l2table_learn(t, b, owner_ptr(1), owner_id(1), 30), 0);
	assert_int_equal(tapir_l2table_expire(t, 1ull << 62, 5), 1);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 1ull << 62, 5, NULL), owner_ptr(0));
	assert_int_equal(tapir_l2table_count_pinned(t), 1);

	assert_int_equal(tapir_l2table_pin(t, (const uint8_t[6]){0x01, 0, 0, 0, 0, 1}, owner_ptr(0),
					   owner_id(0)),
			 -EINVAL);
	assert_int_equal(tapir_l2table_pin(t, (const uint8_t[6]){0}, owner_ptr(0), owner_id(0)),
			 -EINVAL);
	tapir_l2table_free(t);
}

/* Pinning a MAC another owner (or the same one) learned takes the entry over. */
static void test_pin_takes_learned(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(16, 4);
	uint8_t a[6], b[6];
	uint64_t id = 0;

	assert_non_null(t);
	make_mac(a, 0x52, 1);
	make_mac(b, 0x52, 2);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(1), owner_id(1), 10), 0);
	assert_int_equal(tapir_l2table_learn(t, b, owner_ptr(0), owner_id(0), 10), 0);
	assert_int_equal(tapir_l2table_pin(t, a, owner_ptr(0), owner_id(0)), 0);
	assert_ptr_equal(tapir_l2table_lookup(t, a, 10, 0, &id), owner_ptr(0));
	assert_int_equal(id, owner_id(0));
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(1)), 0);
	assert_int_equal(walk_count(t, owner_id(1)), 0);
	assert_int_equal(walk_count(t, owner_id(0)), 1); /* b; a not seen from owner 0 yet */
	assert_int_equal(tapir_l2table_count(t), 1);
	assert_int_equal(tapir_l2table_count_pinned(t), 1);
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(1), owner_id(1), 20), -EPERM);

	/* the owner's own learned MAC: stays listed as seen */
	assert_int_equal(tapir_l2table_pin(t, b, owner_ptr(0), owner_id(0)), 0);
	assert_int_equal(walk_count(t, owner_id(0)), 1);
	assert_int_equal(tapir_l2table_count(t), 0);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 0);
	assert_int_equal(tapir_l2table_count_pinned(t), 2);

	/* removing the owner frees its pins: the MAC can be learned by anyone again */
	tapir_l2table_remove_owner(t, owner_id(0));
	assert_int_equal(tapir_l2table_count_pinned(t), 0);
	assert_null(tapir_l2table_lookup(t, a, 20, 0, NULL));
	assert_int_equal(tapir_l2table_learn(t, a, owner_ptr(1), owner_id(1), 20), 0);
	assert_int_equal(tapir_l2table_count(t), 1);
	tapir_l2table_free(t);
}

/* Pins take no room from learning and learning none from pins; the pin limit holds. */
static void test_pin_room(void **state)
{
	struct tapir_l2table *t = tapir_l2table_new(4, 2);
	uint8_t mac[6];

	assert_non_null(t);
	for (uint32_t i = 0; i < 4; i++) {
		make_mac(mac, 0x52, i);
		assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(i / 2), owner_id(i / 2), 1),
				 0);
	}
	/* full table, owners 0 and 1 at their limit: pins still fit, for them too */
	for (uint32_t i = 0; i < TAPIR_L2TABLE_MAX_PINNED; i++) {
		make_mac(mac, 0x56, i);
		assert_int_equal(tapir_l2table_pin(t, mac, owner_ptr(i % 2), owner_id(i % 2)), 0);
	}
	make_mac(mac, 0x56, TAPIR_L2TABLE_MAX_PINNED);
	assert_int_equal(tapir_l2table_pin(t, mac, owner_ptr(0), owner_id(0)), -ENOSPC);
	make_mac(mac, 0x52, 0); /* a learned one cannot become a pin either: no room left */
	assert_int_equal(tapir_l2table_pin(t, mac, owner_ptr(0), owner_id(0)), -ENOSPC);
	assert_ptr_equal(tapir_l2table_lookup(t, mac, 1, 0, NULL), owner_ptr(0));
	assert_int_equal(tapir_l2table_count(t), 4);
	assert_int_equal(tapir_l2table_count_pinned(t), TAPIR_L2TABLE_MAX_PINNED);
	assert_int_equal(tapir_l2table_count_owner(t, owner_id(0)), 2);

	/* learned entries leaving make room for learning again, not beyond max_entries */
	tapir_l2table_remove_owner(t, owner_id(1));
	assert_int_equal(tapir_l2table_count(t), 2);
	assert_int_equal(tapir_l2table_count_pinned(t), TAPIR_L2TABLE_MAX_PINNED / 2);
	for (uint32_t i = 0; i < 3; i++) {
		make_mac(mac, 0x5a, i);
		assert_int_equal(tapir_l2table_learn(t, mac, owner_ptr(2 + i), owner_id(2 + i), 2),
				 i < 2 ? 0 : -ENOSPC);
	}
	tapir_l2table_remove_owner(t, owner_id(0));
	assert_int_equal(tapir_l2table_count_pinned(t), 0);
	assert_int_equal(tapir_l2table_count(t), 2);
	tapir_l2table_free(t);
}

/* ---- differential test against a naive model ---- */

struct model_entry {
	uint8_t mac[6];
	uint64_t owner_id;
	uint64_t seen_ns;
};

struct model {
	struct model_entry e[MODEL_MAX];
	size_t n;
	size_t max_entries;
	size_t max_per_owner;
};

static struct model_entry *model_find(struct model *m, const uint8_t mac[6])
{
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->e[i].mac, mac, 6) == 0)
			return &m->e[i];
	return NULL;
}

static size_t model_count_owner(const struct model *m, uint64_t id)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->e[i].owner_id == id;
	return n;
}

static int model_learn(struct model *m, const uint8_t mac[6], uint64_t id, uint64_t now)
{
	struct model_entry *e;

	if (tapir_mac_is_multicast(mac) || tapir_mac_is_zero(mac))
		return -EINVAL;
	e = model_find(m, mac);
	if (e && e->owner_id != id && model_count_owner(m, id) >= m->max_per_owner)
		return -ENOSPC;
	if (!e) {
		if (model_count_owner(m, id) >= m->max_per_owner || m->n >= m->max_entries)
			return -ENOSPC;
		e = &m->e[m->n++];
		memcpy(e->mac, mac, 6);
	}
	e->owner_id = id;
	e->seen_ns = now;
	return 0;
}

static bool model_is_fresh(const struct model_entry *e, uint64_t now, uint64_t max_age)
{
	return now <= e->seen_ns || now - e->seen_ns <= max_age;
}

/* Removes the entries of @id (@by_owner) or those older than @max_age; returns how many. */
static size_t model_filter(struct model *m, bool by_owner, uint64_t id, uint64_t now,
			   uint64_t max_age)
{
	size_t kept = 0, before = m->n;

	for (size_t i = 0; i < m->n; i++) {
		bool keep =
		    by_owner ? m->e[i].owner_id != id : model_is_fresh(&m->e[i], now, max_age);

		if (keep)
			m->e[kept++] = m->e[i];
	}
	m->n = kept;
	return before - kept;
}

struct diff {
	uint64_t seed;
	int round;
	int op;
	uint64_t rng;
	uint64_t now;
	struct tapir_l2table *t;
	struct model m;
	uint8_t macs[DIFF_MACS][6];
};

#define DIFF_FAIL(d, fmt, ...)                                                                     \
	fail_msg("seed %llu (TAPIR_TEST_SEED) round %d op %d: " fmt,                               \
		 (unsigned long long)(d)->seed, (d)->round, (d)->op, ##__VA_ARGS__)

static void diff_check_counts(struct diff *d)
{
	size_t total = 0;

	if (tapir_l2table_count(d->t) != d->m.n)
		DIFF_FAIL(d, "count %zu, model %zu", tapir_l2table_count(d->t), d->m.n);
	for (unsigned int o = 0; o < OWNERS; o++) {
		size_t got = tapir_l2table_count_owner(d->t, owner_id(o));
		size_t want = model_count_owner(&d->m, owner_id(o));

		if (got != want)
			DIFF_FAIL(d, "owner %u: count %zu, model %zu", o, got, want);
		memset(&coll, 0, sizeof(coll));
		tapir_l2table_walk_owner(d->t, owner_id(o), collect, &coll);
		if (coll.n != want)
			DIFF_FAIL(d, "owner %u: walk saw %zu, model %zu", o, coll.n, want);
		for (size_t i = 0; i < d->m.n; i++) {
			uint64_t seen = 0;

			if (d->m.e[i].owner_id == owner_id(o) &&
			    (!collected_has(&coll, d->m.e[i].mac, &seen) ||
			     seen != d->m.e[i].seen_ns))
				DIFF_FAIL(d, "owner %u: walk misses model entry %zu", o, i);
		}
		total += got;
	}
	if (total != d->m.n)
		DIFF_FAIL(d, "owner counts add up to %zu, model %zu", total, d->m.n);
}

static void diff_lookup(struct diff *d, const uint8_t mac[6])
{
	uint64_t max_age = rnd(&d->rng, 4) == 0 ? UINT64_MAX : rnd(&d->rng, 200);
	uint64_t now = d->now + rnd(&d->rng, 50);
	struct model_entry *e = model_find(&d->m, mac);
	bool is_fresh = e && model_is_fresh(e, now, max_age);
	uint64_t id = 0xdead;
	void *got = tapir_l2table_lookup(d->t, mac, now, max_age, &id);

	if (!is_fresh && got)
		DIFF_FAIL(d, "lookup found an owner the model does not have");
	if (is_fresh && (got != owner_ptr((unsigned int)(e->owner_id - 100)) || id != e->owner_id))
		DIFF_FAIL(d, "lookup: owner %p id %llu, model id %llu", got, (unsigned long long)id,
			  (unsigned long long)e->owner_id);
}

static void diff_step(struct diff *d)
{
	const uint8_t *mac = d->macs[rnd(&d->rng, DIFF_MACS)];
	unsigned int o = rnd(&d->rng, OWNERS), what = rnd(&d->rng, 100);
	uint64_t max_age = rnd(&d->rng, 300);
	int got, want;

	d->now += rnd(&d->rng, 20);
	if (what < 50) {
		got = tapir_l2table_learn(d->t, mac, owner_ptr(o), owner_id(o), d->now);
		want = model_learn(&d->m, mac, owner_id(o), d->now);
		if (got != want)
			DIFF_FAIL(d, "learn owner %u: got %d, model %d", o, got, want);
	} else if (what < 85) {
		diff_lookup(d, mac);
	} else if (what < 92) {
		size_t g = tapir_l2table_expire(d->t, d->now, max_age);
		size_t w = model_filter(&d->m, false, 0, d->now, max_age);

		if (g != w)
			DIFF_FAIL(d, "expire(%llu) removed %zu, model %zu",
				  (unsigned long long)max_age, g, w);
	} else if (what < 95) {
		tapir_l2table_remove_owner(d->t, owner_id(o));
		model_filter(&d->m, true, owner_id(o), 0, 0);
	} else {
		diff_check_counts(d);
	}
}

static void diff_round(struct diff *d)
{
	d->m.n = 0;
	d->m.max_entries = 1 + rnd(&d->rng, 24);
	d->m.max_per_owner = 1 + rnd(&d->rng, 10);
	d->now = rnd(&d->rng, 1000);
	for (int i = 0; i < DIFF_MACS; i++) {
		/* mostly unicast, some group addresses, and the zero address */
		uint8_t first = rnd(&d->rng, 8) == 0 ? 0x01 : 0x02;

		make_mac(d->macs[i], first, rnd(&d->rng, 3) == 0 ? 0 : splitmix64(&d->rng));
		if (rnd(&d->rng, 20) == 0)
			memset(d->macs[i], 0, 6);
	}
	d->t = tapir_l2table_new(d->m.max_entries, d->m.max_per_owner);
	assert_non_null(d->t);
	for (d->op = 0; d->op < DIFF_OPS; d->op++)
		diff_step(d);
	diff_check_counts(d);
	tapir_l2table_free(d->t);
}

static void test_differential(void **state)
{
	static struct diff d;

	d.seed = test_seed();
	for (d.round = 0; d.round < DIFF_ROUNDS; d.round++) {
		d.rng = d.seed + (uint64_t)d.round * 0x100000001b3ull;
		diff_round(&d);
	}
}

/* ---- concurrency ---- */

struct conc {
	struct tapir_l2table *t;
	uint8_t macs[CONC_MACS][6];
	atomic_bool is_done;
	uint64_t seed;
	atomic_ulong bad_lookups; /* owner pointer and id that do not belong together */
	atomic_ulong learned;
	atomic_ulong found;
};

struct worker_arg {
	struct conc *c;
	uint64_t rng;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct conc *c = a->c;
	uint64_t id;

	while (!atomic_load_explicit(&c->is_done, memory_order_relaxed)) {
		const uint8_t *mac = c->macs[rnd(&a->rng, CONC_MACS)];
		unsigned int o = rnd(&a->rng, OWNERS);
		void *owner;

		if (rnd(&a->rng, 2)) {
			if (tapir_l2table_learn(c->t, mac, owner_ptr(o), owner_id(o), now_ns()) ==
			    0)
				atomic_fetch_add_explicit(&c->learned, 1, memory_order_relaxed);
			continue;
		}
		id = 0;
		owner = tapir_l2table_lookup(c->t, mac, now_ns(), 1000000, &id);
		if (!owner)
			continue;
		atomic_fetch_add_explicit(&c->found, 1, memory_order_relaxed);
		if (id < 100 || id >= 100 + OWNERS || owner != owner_ptr((unsigned int)(id - 100)))
			atomic_fetch_add_explicit(&c->bad_lookups, 1, memory_order_relaxed);
	}
	return NULL;
}

/* Pins owner 0 holds, made by the main thread while the workers run. */
struct conc_pins {
	bool is_pinned[CONC_MACS];
	size_t n;
};

/*
 * With nothing running: count == sum of per-owner counts == learned entries walked, all in
 * bounds; every pin is owner 0's and is found as such.
 */
static void check_invariants(struct conc *c, const struct conc_pins *pins)
{
	size_t sum = 0, walked = 0, count = tapir_l2table_count(c->t);
	uint64_t id;

	if (tapir_l2table_count_pinned(c->t) != pins->n)
		fail_msg("seed %llu: %zu pins, %zu made", (unsigned long long)c->seed,
			 tapir_l2table_count_pinned(c->t), pins->n);
	for (unsigned int o = 0; o < OWNERS; o++) {
		size_t n = tapir_l2table_count_owner(c->t, owner_id(o));

		if (n > CONC_MAX_PER_OWNER)
			fail_msg("seed %llu: owner %u holds %zu", (unsigned long long)c->seed, o,
				 n);
		sum += n;
		walked += walk_count(c->t, owner_id(o));
		for (unsigned int m = 0; o == 0 && m < CONC_MACS; m++)
			walked -= pins->is_pinned[m] && collected_has(&coll, c->macs[m], NULL);
	}
	for (unsigned int m = 0; m < CONC_MACS; m++)
		if (pins->is_pinned[m] &&
		    (tapir_l2table_lookup(c->t, c->macs[m], 0, 0, &id) != owner_ptr(0) ||
		     id != owner_id(0)))
			fail_msg("seed %llu: pin %u lost", (unsigned long long)c->seed, m);
	if (count != sum || count != walked || count > CONC_MAX_ENTRIES)
		fail_msg("seed %llu: count %zu, owner sum %zu, walked %zu",
			 (unsigned long long)c->seed, count, sum, walked);
}

static void test_concurrency(void **state)
{
	static struct conc c;
	struct worker_arg args[CONC_THREADS];
	pthread_t threads[CONC_THREADS];
	struct conc_pins pins = {0};
	uint64_t rng, start, removals = 0, expired = 0;
	uint8_t mac[6];

	c.seed = test_seed();
	rng = c.seed;
	c.t = tapir_l2table_new(CONC_MAX_ENTRIES, CONC_MAX_PER_OWNER);
	assert_non_null(c.t);
	for (uint32_t i = 0; i < CONC_MACS; i++)
		make_mac(c.macs[i], 0x02, i);
	for (int i = 0; i < CONC_THREADS; i++) {
		args[i] = (struct worker_arg){.c = &c, .rng = splitmix64(&rng)};
		assert_int_equal(pthread_create(&threads[i], NULL, worker, &args[i]), 0);
	}
	start = now_ns();
	while (now_ns() - start < CONC_RUN_NS) {
		unsigned int o = rnd(&rng, OWNERS), m = rnd(&rng, CONC_MACS);

		expired += tapir_l2table_expire(c.t, now_ns(), rnd(&rng, 2000000));
		/* owner 0 is pinned: it loses its pins only now and then */
		if (o != 0 || rnd(&rng, 8) == 0) {
			tapir_l2table_remove_owner(c.t, owner_id(o));
			removals++;
			if (o == 0)
				memset(&pins, 0, sizeof(pins));
		}
		/* pinning races with the workers' learns of the same MAC */
		if (tapir_l2table_pin(c.t, c.macs[m], owner_ptr(0), owner_id(0)) == 0 &&
		    !pins.is_pinned[m]) {
			pins.is_pinned[m] = true;
			pins.n++;
		}
		usleep(100);
	}
	atomic_store(&c.is_done, true);
	for (int i = 0; i < CONC_THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	print_message("# %lu learned, %lu found, %llu sweeps, %llu expired\n",
		      atomic_load(&c.learned), atomic_load(&c.found), (unsigned long long)removals,
		      (unsigned long long)expired);
	if (atomic_load(&c.bad_lookups))
		fail_msg("seed %llu: %lu torn lookups", (unsigned long long)c.seed,
			 atomic_load(&c.bad_lookups));
	check_invariants(&c, &pins);

	/* empty it, then fill it to the brim: no node or owner record leaked */
	tapir_l2table_expire(c.t, UINT64_MAX, 0);
	assert_int_equal(tapir_l2table_count(c.t), 0);
	check_invariants(&c, &pins);
	tapir_l2table_remove_owner(c.t, owner_id(0));
	memset(&pins, 0, sizeof(pins));
	check_invariants(&c, &pins);
	for (uint32_t i = 0; i < CONC_MAX_ENTRIES; i++) {
		make_mac(mac, 0x06, i);
		assert_int_equal(
		    tapir_l2table_learn(c.t, mac, owner_ptr(i % OWNERS), owner_id(i % OWNERS), 1),
		    0);
	}
	make_mac(mac, 0x06, CONC_MAX_ENTRIES);
	assert_int_equal(tapir_l2table_learn(c.t, mac, owner_ptr(0), owner_id(0), 1), -ENOSPC);
	check_invariants(&c, &pins);
	tapir_l2table_free(c.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_refuses),
	    cmocka_unit_test(test_mac_predicates),
	    cmocka_unit_test(test_learn_lookup),
	    cmocka_unit_test(test_move_between_owners),
	    cmocka_unit_test(test_aging_boundary),
	    cmocka_unit_test(test_max_per_owner),
	    cmocka_unit_test(test_max_entries),
	    cmocka_unit_test(test_refused_sources),
	    cmocka_unit_test(test_remove_owner_and_walk),
	    cmocka_unit_test(test_pin_reserves),
	    cmocka_unit_test(test_pin_takes_learned),
	    cmocka_unit_test(test_pin_room),
	    cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_concurrency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
