// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/noise/ratelimiter.c: bucket arithmetic (first packet, burst of 5, refill
 * of one packet per 50 ms), keying (IPv4 address, IPv6 /64), incremental garbage collection of
 * idle sources, the max_entries bound, and a flood of distinct sources.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ratelimiter.h"

#define MS(x) ((uint64_t)(x)*1000000ull)

enum {
	BURST = 5,
};

static void v4(uint8_t out[4], uint32_t n)
{
	out[0] = 10;
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
}

/* 2001:db8:<net>::<host> */
static void v6(uint8_t out[16], uint32_t net, uint32_t host)
{
	memset(out, 0, 16);
	out[0] = 0x20;
	out[1] = 0x01;
	out[2] = 0x0d;
	out[3] = 0xb8;
	out[4] = (uint8_t)(net >> 24);
	out[5] = (uint8_t)(net >> 16);
	out[6] = (uint8_t)(net >> 8);
	out[7] = (uint8_t)net;
	out[12] = (uint8_t)(host >> 24);
	out[13] = (uint8_t)(host >> 16);
	out[14] = (uint8_t)(host >> 8);
	out[15] = (uint8_t)host;
}

/* Number of packets allowed out of @n sent at once. */
static int allowed_of(struct tapir_ratelimiter *rl, int family, const uint8_t *addr, int n,
		      uint64_t now)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += tapir_ratelimiter_allow(rl, family, addr, now);
	return ok;
}

static void test_first_packet_and_burst(void **state)
{
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(64);
	uint8_t a[4];

	assert_non_null(rl);
	v4(a, 1);
	assert_int_equal(tapir_ratelimiter_count(rl), 0);
	assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, MS(1000)));
	assert_int_equal(tapir_ratelimiter_count(rl), 1);
	assert_int_equal(allowed_of(rl, AF_INET, a, BURST - 1, MS(1000)), BURST - 1);
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, MS(1000)));
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, MS(1000)));
	assert_int_equal(tapir_ratelimiter_count(rl), 1);
	tapir_ratelimiter_free(rl);
}

static void test_refill(void **state)
{
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(64);
	uint64_t t = MS(5000);
	uint8_t a[4];

	assert_non_null(rl);
	v4(a, 2);
	assert_int_equal(allowed_of(rl, AF_INET, a, 10, t), BURST);
	/* One packet per 50 ms. */
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, t + MS(49)));
	assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, t + MS(50)));
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, t + MS(50)));
	assert_int_equal(allowed_of(rl, AF_INET, a, 10, t + MS(150)), 2);
	/* A steady 20 per second is sustained indefinitely. */
	for (int i = 1; i <= 100; i++)
		assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, t + MS(150 + 50 * i)));
	/* A long pause refills to the burst, not beyond. */
	assert_int_equal(allowed_of(rl, AF_INET, a, 20, t + MS(60000)), BURST);
	/* Time going backwards earns nothing and breaks nothing. */
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, t));
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, t + MS(60049)));
	assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, t + MS(60050)));
	tapir_ratelimiter_free(rl);
}

static void test_sources_independent(void **state)
{
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(64);
	uint8_t a[4], b[4], c6[16];

	assert_non_null(rl);
	v4(a, 3);
	v4(b, 4);
	/* Same leading bytes as @a, but another family: another bucket. */
	memset(c6, 0, sizeof(c6));
	memcpy(c6, a, sizeof(a));
	assert_int_equal(allowed_of(rl, AF_INET, a, 10, 0), BURST);
	assert_int_equal(allowed_of(rl, AF_INET, b, 10, 0), BURST);
	assert_int_equal(allowed_of(rl, AF_INET6, c6, 10, 0), BURST);
	assert_int_equal(tapir_ratelimiter_count(rl), 3);
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, a, MS(10)));
	tapir_ratelimiter_free(rl);
}

static void test_ipv6_prefix(void **state)
{
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(64);
	uint8_t h1[16], h2[16], other[16];

	assert_non_null(rl);
	v6(h1, 7, 1);
	v6(h2, 7, 0xfffffffe);
	h2[8] = 0xff; /* differs in every interface-identifier byte region */
	v6(other, 8, 1);
	assert_int_equal(allowed_of(rl, AF_INET6, h1, 3, 0), 3);
	assert_int_equal(allowed_of(rl, AF_INET6, h2, 10, 0), BURST - 3);
	assert_false(tapir_ratelimiter_allow(rl, AF_INET6, h1, 0));
	assert_int_equal(tapir_ratelimiter_count(rl), 1);
	assert_int_equal(allowed_of(rl, AF_INET6, other, 10, 0), BURST);
	assert_int_equal(tapir_ratelimiter_count(rl), 2);
	tapir_ratelimiter_free(rl);
}

static void test_bad_family(void **state)
{
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(64);
	uint8_t a[16] = {0};

	assert_non_null(rl);
	assert_false(tapir_ratelimiter_allow(rl, AF_UNIX, a, 0));
	assert_false(tapir_ratelimiter_allow(rl, -1, a, 0));
	assert_int_equal(tapir_ratelimiter_count(rl), 0);
	tapir_ratelimiter_free(rl);
	tapir_ratelimiter_free(NULL);
}

static void test_gc(void **state)
{
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(256);
	uint8_t a[4], keep[4], probe[4];
	size_t before;
	int i;

	assert_non_null(rl);
	for (uint32_t n = 0; n < 100; n++) {
		v4(a, 100 + n);
		assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, MS(n)));
	}
	v4(keep, 7);
	v4(probe, 8);
	assert_true(tapir_ratelimiter_allow(rl, AF_INET, keep, MS(900)));
	assert_int_equal(tapir_ratelimiter_count(rl), 101);

	/* At 1.5 s nothing but the first 100 is idle for more than 1 s; keep must survive. */
	before = tapir_ratelimiter_count(rl);
	for (i = 0; i < 200; i++)
		tapir_ratelimiter_allow(rl, AF_INET, probe, MS(1500) + MS(i));
	assert_true(tapir_ratelimiter_count(rl) < before);
	assert_int_equal(tapir_ratelimiter_count(rl), 2);
	/* keep still has its bucket state: 4 tokens left plus refill, capped at 5. */
	assert_int_equal(allowed_of(rl, AF_INET, keep, 10, MS(1700)), BURST);

	/* Later everything but the active source goes. */
	for (i = 0; i < 200; i++)
		tapir_ratelimiter_allow(rl, AF_INET, probe, MS(4000) + MS(i));
	assert_int_equal(tapir_ratelimiter_count(rl), 1);
	tapir_ratelimiter_free(rl);
}

/*
 * Collecting entries shifts others back in their probe runs; the survivors must still be
 * found with their state (a lost entry would come back as a fresh source with a full bucket).
 */
static void test_gc_keeps_live_entries(void **state)
{
	enum { SOURCES = 200 };
	/* Kept over half full (101 of 201), so sweeps run back to back. */
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(SOURCES + 1);
	uint8_t a[4], probe[4];

	assert_non_null(rl);
	for (uint32_t n = 0; n < SOURCES; n++) {
		v4(a, 1000 + n);
		assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, 0));
	}
	/* Odd sources stay active and empty their buckets at 1.4 s. */
	for (uint32_t n = 1; n < SOURCES; n += 2) {
		v4(a, 1000 + n);
		assert_int_equal(allowed_of(rl, AF_INET, a, 10, MS(1400)), BURST);
	}
	v4(probe, 1);
	for (int i = 0; i < 100; i++)
		tapir_ratelimiter_allow(rl, AF_INET, probe, MS(1500) + MS(i) / 10);
	assert_int_equal(tapir_ratelimiter_count(rl), SOURCES / 2 + 1);
	/* 120 ms after emptying: two packets each, not a fresh burst. */
	for (uint32_t n = 1; n < SOURCES; n += 2) {
		v4(a, 1000 + n);
		assert_int_equal(allowed_of(rl, AF_INET, a, 10, MS(1520)), 2);
	}
	assert_int_equal(tapir_ratelimiter_count(rl), SOURCES / 2 + 1);
	tapir_ratelimiter_free(rl);
}

static void test_bound(void **state)
{
	enum { MAX = 8 };
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(MAX);
	uint8_t a[4], extra[4];

	assert_non_null(rl);
	for (uint32_t n = 0; n < MAX; n++) {
		v4(a, 200 + n);
		assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, 0));
	}
	assert_int_equal(tapir_ratelimiter_count(rl), MAX);
	v4(extra, 999);
	/* Full of fresh entries: the new source is refused, known ones still served. */
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, extra, MS(1)));
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, extra, MS(500)));
	assert_int_equal(tapir_ratelimiter_count(rl), MAX);
	v4(a, 200);
	assert_true(tapir_ratelimiter_allow(rl, AF_INET, a, MS(600)));
	/* Once the others are idle, GC makes room. */
	assert_true(tapir_ratelimiter_allow(rl, AF_INET, extra, MS(1400)));
	/* GC is incremental: a few more packets finish the sweep. */
	for (int i = 0; i < 4; i++)
		tapir_ratelimiter_allow(rl, AF_INET, a, MS(1401 + i));
	assert_int_equal(tapir_ratelimiter_count(rl), 2);
	tapir_ratelimiter_free(rl);

	rl = tapir_ratelimiter_new(0);
	assert_non_null(rl);
	assert_false(tapir_ratelimiter_allow(rl, AF_INET, extra, 0));
	assert_int_equal(tapir_ratelimiter_count(rl), 0);
	tapir_ratelimiter_free(rl);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A flood of distinct sources: bounded, no crash, old sources collected as time passes. */
static void test_flood(void **state)
{
	enum { MAX = 1024, PACKETS = 200000 };
	struct tapir_ratelimiter *rl = tapir_ratelimiter_new(MAX);
	uint64_t rng = 0x1234567887654321ull;
	uint8_t a[16];
	size_t allowed = 0;

	assert_non_null(rl);
	for (int i = 0; i < PACKETS; i++) {
		uint64_t r = xorshift(&rng);
		int family = (r & 1) ? AF_INET6 : AF_INET;

		memcpy(a, &r, sizeof(r));
		r = xorshift(&rng);
		memcpy(a + 8, &r, sizeof(r));
		/* 10 µs apart: two seconds in all, so GC must turn entries over. */
		allowed += tapir_ratelimiter_allow(rl, family, a, (uint64_t)i * 10000);
		assert_true(tapir_ratelimiter_count(rl) <= MAX);
	}
	assert_true(allowed > MAX);
	assert_true(allowed < PACKETS);
	tapir_ratelimiter_free(rl);
}

/* ---- differential test ---- */

/*
 * A naive model: one bucket per source in a flat array, never collected. Collection is
 * invisible in results: an entry idle for more than 1 s has a full bucket, which is exactly the
 * state of a fresh entry. So the table must agree with the model on every packet, except that
 * a new source may be refused while the table is full.
 */
struct model_source {
	int family;
	uint8_t prefix[8]; /* IPv4 address, or IPv6 /64 */
	uint64_t last_ns;
	uint64_t tokens_ns;
};

struct model {
	struct model_source s[256];
	size_t n;
};

static bool model_allow(struct model *m, int family, const uint8_t *addr, uint64_t now)
{
	const uint64_t cost = MS(50), max = MS(250);
	size_t len = family == AF_INET ? 4 : 8;
	struct model_source *src = NULL;
	uint8_t prefix[8] = {0};

	memcpy(prefix, addr, len);
	for (size_t i = 0; i < m->n; i++) {
		if (m->s[i].family == family && memcmp(m->s[i].prefix, prefix, 8) == 0)
			src = &m->s[i];
	}
	if (!src) {
		src = &m->s[m->n++];
		src->family = family;
		memcpy(src->prefix, prefix, 8);
		src->last_ns = now;
		src->tokens_ns = max - cost;
		return true;
	}
	src->tokens_ns += now - src->last_ns;
	if (src->tokens_ns > max)
		src->tokens_ns = max;
	src->last_ns = now;
	if (src->tokens_ns < cost)
		return false;
	src->tokens_ns -= cost;
	return true;
}

/* Undoes the model's update for a packet the full table refused (the source is untracked). */
static void model_forget(struct model *m, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 8;

	for (size_t i = 0; i < m->n; i++) {
		if (m->s[i].family == family && memcmp(m->s[i].prefix, addr, len) == 0) {
			m->s[i] = m->s[--m->n];
			return;
		}
	}
}

static uint64_t test_seed(void)
{
	const char *env = getenv("TAPIR_TEST_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

/*
 * A few hot sources that keep their buckets drained, and many cold ones that go idle and get
 * collected meanwhile, so collection shifts entries around live, non-full buckets.
 */
static void random_source(uint64_t *rng, int *family, uint8_t addr[16])
{
	uint64_t r = xorshift(rng);

	if (r % 10 == 0) {
		*family = AF_INET;
		v4(addr, 1000 + (uint32_t)(r >> 8) % 200);
	} else if (r & 2) {
		*family = AF_INET;
		v4(addr, (uint32_t)(r >> 8) % 4);
	} else {
		*family = AF_INET6;
		/* Four /64s, each seen under several host addresses. */
		v6(addr, (uint32_t)(r >> 8) % 4, (uint32_t)(r >> 16) % 1000);
		addr[9] = (uint8_t)(r >> 32);
	}
}

static void test_differential(void **state)
{
	static const size_t bounds[] = {1, 4, 12, 40, 100, 300};
	uint64_t seed = test_seed();

	for (size_t round = 0; round < 24; round++) {
		size_t max = bounds[round % (sizeof(bounds) / sizeof(bounds[0]))];
		struct tapir_ratelimiter *rl = tapir_ratelimiter_new(max);
		uint64_t rng = (seed + round * 0x100000001b3ull) | 1, now = 0;
		static struct model m;

		assert_non_null(rl);
		m.n = 0;
		for (int op = 0; op < 20000; op++) {
			uint64_t r = xorshift(&rng) % 1000;
			uint8_t addr[16];
			int family;
			bool got, want;

			/* Mostly bursts, sometimes pauses long enough for collection. */
			now += r < 900 ? r * 2000 : r < 990 ? MS(r) / 4 : MS(2 * r);
			random_source(&rng, &family, addr);
			got = tapir_ratelimiter_allow(rl, family, addr, now);
			want = model_allow(&m, family, addr, now);
			if (got && !want)
				fail_msg(
				    "seed %llu (TAPIR_TEST_SEED) round %zu op %d: allowed beyond "
				    "the rate",
				    (unsigned long long)seed, round, op);
			if (!got && want) {
				if (tapir_ratelimiter_count(rl) < max)
					fail_msg(
					    "seed %llu (TAPIR_TEST_SEED) round %zu op %d: refused, "
					    "table not full",
					    (unsigned long long)seed, round, op);
				model_forget(&m, family, addr);
			}
			assert_true(tapir_ratelimiter_count(rl) <= max);
		}
		tapir_ratelimiter_free(rl);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_packet_and_burst),
	    cmocka_unit_test(test_refill),
	    cmocka_unit_test(test_sources_independent),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test(test_bad_family),
	    cmocka_unit_test(test_gc),
	    cmocka_unit_test(test_gc_keeps_live_entries),
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_flood),
	    cmocka_unit_test(test_differential),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
