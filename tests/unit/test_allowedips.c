// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/peer/allowedips.c: numbered vector cases (overlaps, hosts, normalisation,
 * moves, removal rules, walk order, family independence, argument errors), a differential test
 * against a linear-scan model on random operations for both families, and a scale case of
 * 10,000 owners that also measures time and memory and checks that churn does not grow memory.
 * Set TAPIR_TEST_SEED to replay a failing random run; the seed is printed on failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "allowedips.h"

/* Provided by the sanitizer runtimes (ASan, TSan); NULL in a plain build. */
extern size_t
__sanitizer_get_current_allocated_bytes(void) /* NOLINT(bugprone-reserved-identifier) */
    __attribute__((weak));

/* ---- helpers ---- */

/*
 * Bytes the process asked malloc for and has not freed, or 0 without a sanitizer runtime. The
 * memory checks run only with one: glibc's mallinfo2() counts chunks parked in the per-thread
 * cache as in use, so it cannot show that everything was freed.
 */
static size_t allocated_bytes(void)
{
	if (__sanitizer_get_current_allocated_bytes)
		return __sanitizer_get_current_allocated_bytes();
	return 0;
}

static int family_of(const char *text)
{
	return strchr(text, ':') ? AF_INET6 : AF_INET;
}

/* @addr in a buffer of exactly its family's size, so ASan catches any read past the end. */
static const uint8_t *exact(int family, const uint8_t *addr, uint8_t v4buf[4])
{
	if (family != AF_INET)
		return addr;
	memcpy(v4buf, addr, 4);
	return v4buf;
}

static void parse(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(family_of(text), text, out), 1);
}

static int ins(struct tapir_allowedips *t, const char *text, uint8_t cidr,
	       struct tapir_allowedips_owner *o)
{
	uint8_t a[16], v4buf[4];

	parse(text, a);
	return tapir_allowedips_insert(t, family_of(text), exact(family_of(text), a, v4buf), cidr,
				       o);
}

static int rem(struct tapir_allowedips *t, const char *text, uint8_t cidr,
	       struct tapir_allowedips_owner *o)
{
	uint8_t a[16], v4buf[4];

	parse(text, a);
	return tapir_allowedips_remove(t, family_of(text), exact(family_of(text), a, v4buf), cidr,
				       o);
}

static struct tapir_allowedips_owner *look(struct tapir_allowedips *t, const char *text)
{
	uint8_t a[16], v4buf[4];

	parse(text, a);
	return tapir_allowedips_lookup(t, family_of(text), exact(family_of(text), a, v4buf));
}

struct walk_text {
	char buf[1024];
	int visits;
	int stop_at; /* return 7 from the stop_at-th visit; 0 never stops */
};

static int append_text(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_text *w = ctx;
	char ip[INET6_ADDRSTRLEN];
	size_t used = strlen(w->buf);

	assert_non_null(inet_ntop(family, addr, ip, sizeof(ip)));
	snprintf(w->buf + used, sizeof(w->buf) - used, "%s%s/%u", used ? " " : "", ip, cidr);
	w->visits++;
	return w->visits == w->stop_at ? 7 : 0;
}

/* "10.0.0.0/8 2001:db8::/32" for the owner's prefixes in walk order. */
static const char *walk(const struct tapir_allowedips_owner *o)
{
	static struct walk_text w;

	memset(&w, 0, sizeof(w));
	assert_int_equal(tapir_allowedips_walk_owner(o, append_text, &w), 0);
	assert_int_equal((size_t)w.visits, o->count);
	return w.buf;
}

static struct tapir_allowedips *table(void)
{
	struct tapir_allowedips *t = tapir_allowedips_new();

	assert_non_null(t);
	return t;
}

/* ---- vectors ---- */

struct lookup_vec {
	const char *addr;
	int owner; /* index into the test's owners, -1 for no match */
};

static void check_lookups(struct tapir_allowedips *t, struct tapir_allowedips_owner *owners,
			  const struct lookup_vec *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tapir_allowedips_owner *want = v[i].owner < 0 ? NULL : &owners[v[i].owner];

		if (look(t, v[i].addr) != want)
			fail_msg("lookup vector %zu (%s): wrong owner", i + 1, v[i].addr);
	}
}

/* The classic case: 0.0.0.0/0 on A and 10.1.0.0/16 on B, then a /24 on C inside B. */
static void test_overlap(void **state)
{
	struct tapir_allowedips_owner o[3] = {{0}};
	struct tapir_allowedips *t = table();
	static const struct lookup_vec before[] = {
	    /* 1 */ {"10.1.2.3", 2},
	    /* 2 */ {"10.1.0.0", 1},
	    /* 3 */ {"10.1.255.255", 1},
	    /* 4 */ {"10.2.0.1", 0},
	    /* 5 */ {"10.0.255.255", 0},
	    /* 6 */ {"0.0.0.0", 0},
	    /* 7 */ {"255.255.255.255", 0},
	    /* 8 */ {"10.1.2.200", 2},
	    /* 9 */ {"10.1.3.1", 1},
	};
	static const struct lookup_vec after[] = {
	    /* 1 */ {"10.1.2.200", 1},
	    /* 2 */ {"10.1.2.3", 1},
	    /* 3 */ {"11.0.0.0", 0},
	};

	assert_int_equal(ins(t, "0.0.0.0", 0, &o[0]), 0);
	assert_int_equal(ins(t, "10.1.0.0", 16, &o[1]), 0);
	assert_int_equal(ins(t, "10.1.2.0", 24, &o[2]), 0);
	check_lookups(t, o, before, sizeof(before) / sizeof(before[0]));
	assert_int_equal(rem(t, "10.1.2.0", 24, &o[2]), 0);
	check_lookups(t, o, after, sizeof(after) / sizeof(after[0]));
	assert_int_equal(rem(t, "10.1.0.0", 16, &o[1]), 0);
	assert_ptr_equal(look(t, "10.1.2.3"), &o[0]);
	assert_int_equal(rem(t, "0.0.0.0", 0, &o[0]), 0);
	assert_null(look(t, "10.1.2.3"));
	assert_null(look(t, "0.0.0.0"));
	tapir_allowedips_free(t);
}

static void test_hosts(void **state)
{
	struct tapir_allowedips_owner o[2] = {{0}};
	struct tapir_allowedips *t = table();
	static const struct lookup_vec v[] = {
	    /* 1 */ {"192.168.1.1", 0},
	    /* 2 */ {"192.168.1.2", -1},
	    /* 3 */ {"192.168.1.0", -1},
	    /* 4 */ {"192.168.1.3", 1},
	    /* 5 */ {"2001:db8::1", 0},
	    /* 6 */ {"2001:db8::2", -1},
	    /* 7 */ {"2001:db8::", -1},
	    /* 8 */ {"2001:db8::1:0:0:1", 1},
	    /* 9 */ {"255.255.255.255", 1},
	    /* 10 */ {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1},
	    /* 11 */ {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", -1},
	};

	assert_int_equal(ins(t, "192.168.1.1", 32, &o[0]), 0);
	assert_int_equal(ins(t, "192.168.1.3", 32, &o[1]), 0);
	assert_int_equal(ins(t, "2001:db8::1", 128, &o[0]), 0);
	assert_int_equal(ins(t, "2001:db8::1:0:0:1", 128, &o[1]), 0);
	assert_int_equal(ins(t, "255.255.255.255", 32, &o[1]), 0);
	assert_int_equal(ins(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, &o[1]), 0);
	check_lookups(t, o, v, sizeof(v) / sizeof(v[0]));
	assert_string_equal(walk(&o[0]), "192.168.1.1/32 2001:db8::1/128");
	tapir_allowedips_free(t);
}

static void test_normalisation(void **state)
{
	struct tapir_allowedips_owner a = {0};
	struct tapir_allowedips *t = table();

	assert_int_equal(ins(t, "10.0.0.5", 24, &a), 0);
	assert_string_equal(walk(&a), "10.0.0.0/24");
	/* The same prefix written with other host bits is the same entry. */
	assert_int_equal(ins(t, "10.0.0.9", 24, &a), 0);
	assert_int_equal(a.count, 1);
	assert_ptr_equal(look(t, "10.0.0.200"), &a);
	assert_null(look(t, "10.0.1.0"));
	assert_int_equal(ins(t, "2001:db8::ffff", 64, &a), 0);
	assert_int_equal(ins(t, "10.255.255.255", 9, &a), 0);
	assert_int_equal(ins(t, "255.255.255.255", 0, &a), 0);
	assert_string_equal(walk(&a), "10.0.0.0/24 2001:db8::/64 10.128.0.0/9 0.0.0.0/0");
	assert_int_equal(rem(t, "10.0.0.77", 24, &a), 0);
	assert_int_equal(rem(t, "2001:db8::1:2:3:4", 64, &a), 0);
	assert_string_equal(walk(&a), "10.128.0.0/9 0.0.0.0/0");
	tapir_allowedips_free(t);
}

static void test_move(void **state)
{
	struct tapir_allowedips_owner a = {0}, b = {0};
	struct tapir_allowedips *t = table();

	assert_int_equal(ins(t, "10.0.0.0", 8, &a), 0);
	assert_int_equal(ins(t, "10.1.0.0", 16, &a), 0);
	assert_int_equal(ins(t, "10.0.0.0", 8, &b), 0);
	assert_int_equal(a.count, 1);
	assert_int_equal(b.count, 1);
	assert_ptr_equal(look(t, "10.2.3.4"), &b);
	assert_ptr_equal(look(t, "10.1.3.4"), &a);
	assert_string_equal(walk(&a), "10.1.0.0/16");
	assert_string_equal(walk(&b), "10.0.0.0/8");
	assert_int_equal(rem(t, "10.0.0.0", 8, &a), -ENOENT);
	/* Move back: goes to the tail of A's list. */
	assert_int_equal(ins(t, "10.0.0.0", 8, &a), 0);
	assert_string_equal(walk(&a), "10.1.0.0/16 10.0.0.0/8");
	assert_int_equal(b.count, 0);
	assert_null(b.first);
	assert_int_equal(rem(t, "10.0.0.0", 8, &a), 0);
	assert_ptr_equal(look(t, "10.1.3.4"), &a);
	assert_null(look(t, "10.2.3.4"));
	tapir_allowedips_free(t);
}

static void test_remove_rules(void **state)
{
	struct tapir_allowedips_owner a = {0}, b = {0};
	struct tapir_allowedips *t = table();

	assert_int_equal(ins(t, "10.0.0.0", 24, &a), 0);
	assert_int_equal(ins(t, "10.0.1.0", 24, &a), 0);
	/* Only the owner removes; absent prefixes and bare branch points are not found. */
	assert_int_equal(rem(t, "10.0.0.0", 24, &b), -ENOENT);
	assert_int_equal(rem(t, "10.0.0.0", 23, &a), -ENOENT);
	assert_int_equal(rem(t, "10.0.0.0", 25, &a), -ENOENT);
	assert_int_equal(rem(t, "10.0.2.0", 24, &a), -ENOENT);
	assert_int_equal(rem(t, "10.0.0.0", 24, NULL), -EINVAL);
	assert_ptr_equal(look(t, "10.0.0.1"), &a);
	assert_int_equal(rem(t, "10.0.0.0", 24, &a), 0);
	assert_int_equal(rem(t, "10.0.0.0", 24, &a), -ENOENT);
	assert_null(look(t, "10.0.0.1"));
	assert_ptr_equal(look(t, "10.0.1.1"), &a);
	/* A prefix landing exactly on a branch point. */
	assert_int_equal(ins(t, "10.0.2.0", 24, &a), 0);
	assert_int_equal(ins(t, "10.0.0.0", 22, &b), 0);
	assert_ptr_equal(look(t, "10.0.0.1"), &b);
	assert_ptr_equal(look(t, "10.0.2.1"), &a);
	assert_int_equal(rem(t, "10.0.0.0", 22, &b), 0);
	assert_null(look(t, "10.0.0.1"));
	assert_ptr_equal(look(t, "10.0.2.1"), &a);
	assert_int_equal(a.count, 2);
	tapir_allowedips_free(t);
}

static void test_remove_owner(void **state)
{
	struct tapir_allowedips_owner a = {0}, b = {0};
	struct tapir_allowedips *t = table();

	assert_int_equal(ins(t, "0.0.0.0", 0, &b), 0);
	assert_int_equal(ins(t, "10.0.0.0", 8, &a), 0);
	assert_int_equal(ins(t, "10.1.0.0", 16, &b), 0);
	assert_int_equal(ins(t, "10.1.1.0", 24, &a), 0);
	assert_int_equal(ins(t, "2001:db8::", 32, &a), 0);
	assert_int_equal(ins(t, "2001:db8:1::", 48, &b), 0);
	tapir_allowedips_remove_owner(t, &a);
	assert_int_equal(a.count, 0);
	assert_null(a.first);
	assert_string_equal(walk(&a), "");
	assert_string_equal(walk(&b), "0.0.0.0/0 10.1.0.0/16 2001:db8:1::/48");
	assert_ptr_equal(look(t, "10.2.0.1"), &b);
	assert_ptr_equal(look(t, "10.1.1.1"), &b);
	assert_null(look(t, "2001:db8::1"));
	assert_ptr_equal(look(t, "2001:db8:1::1"), &b);
	tapir_allowedips_remove_owner(t, &a);
	tapir_allowedips_remove_owner(t, &b);
	assert_int_equal(b.count, 0);
	assert_null(look(t, "10.1.1.1"));
	tapir_allowedips_free(t);
	tapir_allowedips_free(NULL);
}

static void test_walk(void **state)
{
	struct tapir_allowedips_owner a = {0}, b = {0};
	struct tapir_allowedips *t = table();
	struct walk_text w = {.stop_at = 2};

	assert_string_equal(walk(&a), "");
	assert_int_equal(ins(t, "192.168.0.0", 16, &a), 0);
	assert_int_equal(ins(t, "fd00::", 8, &a), 0);
	assert_int_equal(ins(t, "10.0.0.0", 8, &a), 0);
	assert_int_equal(ins(t, "172.16.0.0", 12, &a), 0);
	assert_string_equal(walk(&a), "192.168.0.0/16 fd00::/8 10.0.0.0/8 172.16.0.0/12");
	/* Re-inserting moves to the tail, as both reference implementations do. */
	assert_int_equal(ins(t, "fd00::", 8, &a), 0);
	assert_string_equal(walk(&a), "192.168.0.0/16 10.0.0.0/8 172.16.0.0/12 fd00::/8");
	/* Removing from the head, the middle and the tail keeps the list linked. */
	assert_int_equal(ins(t, "10.0.0.0", 8, &b), 0);
	assert_string_equal(walk(&a), "192.168.0.0/16 172.16.0.0/12 fd00::/8");
	assert_int_equal(rem(t, "192.168.0.0", 16, &a), 0);
	assert_int_equal(rem(t, "fd00::", 8, &a), 0);
	assert_string_equal(walk(&a), "172.16.0.0/12");
	assert_int_equal(ins(t, "fd00::", 8, &a), 0);
	assert_int_equal(ins(t, "1.0.0.0", 8, &a), 0);
	assert_string_equal(walk(&a), "172.16.0.0/12 fd00::/8 1.0.0.0/8");
	/* A non-zero return stops the walk and is passed back. */
	assert_int_equal(tapir_allowedips_walk_owner(&a, append_text, &w), 7);
	assert_int_equal(w.visits, 2);
	tapir_allowedips_free(t);
}

static void test_families_independent(void **state)
{
	struct tapir_allowedips_owner a = {0}, b = {0};
	struct tapir_allowedips *t = table();

	assert_int_equal(ins(t, "0.0.0.0", 0, &a), 0);
	assert_null(look(t, "::"));
	assert_null(look(t, "a00::1"));
	assert_int_equal(ins(t, "::", 0, &b), 0);
	assert_ptr_equal(look(t, "10.0.0.1"), &a);
	assert_ptr_equal(look(t, "a00::1"), &b);
	/* Same leading bytes, different families: different entries. */
	assert_int_equal(ins(t, "10.0.0.0", 8, &b), 0);
	assert_int_equal(ins(t, "a00::", 8, &a), 0);
	assert_ptr_equal(look(t, "10.0.0.1"), &b);
	assert_ptr_equal(look(t, "a00::1"), &a);
	assert_int_equal(rem(t, "10.0.0.0", 8, &b), 0);
	assert_ptr_equal(look(t, "a00::1"), &a);
	assert_ptr_equal(look(t, "10.0.0.1"), &a);
	tapir_allowedips_free(t);
}

static void test_einval(void **state)
{
	struct tapir_allowedips_owner a = {0};
	struct tapir_allowedips *t = table();
	uint8_t addr[16] = {10};

	assert_int_equal(tapir_allowedips_insert(t, AF_INET, addr, 33, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_insert(t, AF_INET, addr, 255, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_insert(t, AF_INET6, addr, 129, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_insert(t, AF_UNSPEC, addr, 8, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_insert(t, AF_UNIX, addr, 8, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_insert(t, AF_INET, addr, 8, NULL), -EINVAL);
	assert_int_equal(tapir_allowedips_remove(t, AF_INET, addr, 33, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_remove(t, AF_INET6, addr, 129, &a), -EINVAL);
	assert_int_equal(tapir_allowedips_remove(t, AF_PACKET, addr, 8, &a), -EINVAL);
	assert_int_equal(a.count, 0);
	assert_int_equal(tapir_allowedips_insert(t, AF_INET, addr, 32, &a), 0);
	assert_int_equal(tapir_allowedips_insert(t, AF_INET6, addr, 128, &a), 0);
	assert_null(tapir_allowedips_lookup(t, AF_UNSPEC, addr));
	assert_ptr_equal(tapir_allowedips_lookup(t, AF_INET, addr), &a);
	assert_ptr_equal(tapir_allowedips_lookup(t, AF_INET6, addr), &a);
	tapir_allowedips_free(t);
}

/* ---- differential test against a linear-scan model ---- */

enum {
	OWNERS = 64,
	OPS = 2000,
	LOOKUPS = 2000,
	ROUNDS = 8,
	MODEL_MAX = OPS + 1,
};

struct mentry {
	int family;
	uint8_t key[16];
	uint8_t cidr;
	int owner;
	uint64_t seq; /* when it was last given to its owner: walk order */
};

struct model {
	struct mentry e[MODEL_MAX];
	size_t n;
	uint64_t seq;
};

static unsigned mbit(const uint8_t *a, unsigned i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool mmatch(const uint8_t *addr, const uint8_t *key, unsigned cidr)
{
	for (unsigned i = 0; i < cidr; i++) {
		if (mbit(addr, i) != mbit(key, i))
			return false;
	}
	return true;
}

static void mnormalise(uint8_t out[16], const uint8_t *in, int family, unsigned cidr)
{
	unsigned bits = family == AF_INET ? 32 : 128;

	memset(out, 0, 16);
	for (unsigned i = 0; i < cidr && i < bits; i++)
		out[i / 8] |= (uint8_t)(mbit(in, i) << (7 - i % 8));
}

static struct mentry *mfind(struct model *m, int family, const uint8_t *key, unsigned cidr)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->e[i].family == family && m->e[i].cidr == cidr &&
		    memcmp(m->e[i].key, key, 16) == 0)
			return &m->e[i];
	}
	return NULL;
}

static void minsert(struct model *m, int family, const uint8_t *addr, unsigned cidr, int owner)
{
	uint8_t key[16];
	struct mentry *e;

	mnormalise(key, addr, family, cidr);
	e = mfind(m, family, key, cidr);
	if (!e) {
		e = &m->e[m->n++];
		e->family = family;
		memcpy(e->key, key, 16);
		e->cidr = (uint8_t)cidr;
	}
	e->owner = owner;
	e->seq = ++m->seq;
}

static int mremove(struct model *m, int family, const uint8_t *addr, unsigned cidr, int owner)
{
	uint8_t key[16];
	struct mentry *e;

	mnormalise(key, addr, family, cidr);
	e = mfind(m, family, key, cidr);
	if (!e || e->owner != owner)
		return -ENOENT;
	*e = m->e[--m->n];
	return 0;
}

static void mremove_owner(struct model *m, int owner)
{
	for (size_t i = 0; i < m->n;) {
		if (m->e[i].owner == owner)
			m->e[i] = m->e[--m->n];
		else
			i++;
	}
}

static int mlookup(const struct model *m, int family, const uint8_t *addr)
{
	int best = -1, best_cidr = -1;

	for (size_t i = 0; i < m->n; i++) {
		const struct mentry *e = &m->e[i];

		if (e->family == family && e->cidr > best_cidr && mmatch(addr, e->key, e->cidr)) {
			best = e->owner;
			best_cidr = e->cidr;
		}
	}
	return best;
}

struct diff_ctx {
	uint64_t seed;
	int round;
	int op;
	struct tapir_allowedips *t;
	struct tapir_allowedips_owner owners[OWNERS];
	struct model m;
	uint64_t rng;
};

#define DIFF_FAIL(d, fmt, ...)                                                                     \
	fail_msg("seed %llu (TAPIR_TEST_SEED) round %d op %d: " fmt,                               \
		 (unsigned long long)(d)->seed, (d)->round, (d)->op, ##__VA_ARGS__)

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(struct diff_ctx *d, unsigned n)
{
	return (unsigned)(splitmix64(&d->rng) % n);
}

static uint64_t test_seed(void)
{
	const char *env = getenv("TAPIR_TEST_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

/* Addresses from a small space, so random prefixes nest and collide often. */
static void random_addr(struct diff_ctx *d, int family, uint8_t out[16])
{
	static const uint8_t v4_first[] = {10, 192, 0, 255, 128};
	static const uint8_t v6_first[] = {0x20, 0xfd, 0x00, 0xff, 0x80};

	memset(out, 0, 16);
	if (family == AF_INET) {
		out[0] = v4_first[rnd(d, sizeof(v4_first))];
		out[1] = (uint8_t)rnd(d, 4);
		out[2] = (uint8_t)rnd(d, 8);
		out[3] = (uint8_t)rnd(d, 256);
		return;
	}
	out[0] = v6_first[rnd(d, sizeof(v6_first))];
	out[1] = (uint8_t)rnd(d, 4);
	out[2 + rnd(d, 6)] = (uint8_t)rnd(d, 256);
	out[7] = (uint8_t)rnd(d, 4);
	if (rnd(d, 2))
		out[8 + rnd(d, 8)] = (uint8_t)rnd(d, 256);
	out[15] = (uint8_t)rnd(d, 4);
}

static unsigned random_cidr(struct diff_ctx *d, int family)
{
	unsigned bits = family == AF_INET ? 32 : 128, r = rnd(d, 100);

	if (r < 35)
		return bits - rnd(d, bits / 4 + 1); /* long, down to 3/4 of the width */
	if (r < 80)
		return bits / 4 + rnd(d, bits / 2 + 1);
	return rnd(d, bits + 1);
}

/* An address inside a stored prefix (random host bits) most of the time. */
static int lookup_addr(struct diff_ctx *d, uint8_t out[16])
{
	int family = rnd(d, 2) ? AF_INET6 : AF_INET;

	random_addr(d, family, out);
	if (d->m.n > 0 && rnd(d, 10) < 7) {
		const struct mentry *e = &d->m.e[rnd(d, (unsigned)d->m.n)];

		family = e->family;
		for (unsigned i = 0; i < e->cidr; i++) {
			out[i / 8] &= (uint8_t) ~(1u << (7 - i % 8));
			out[i / 8] |= (uint8_t)(mbit(e->key, i) << (7 - i % 8));
		}
	}
	return family;
}

static void check_lookup(struct diff_ctx *d)
{
	uint8_t addr[16], v4buf[4];
	int family = lookup_addr(d, addr);
	struct tapir_allowedips_owner *got =
	    tapir_allowedips_lookup(d->t, family, exact(family, addr, v4buf));
	int want = mlookup(&d->m, family, addr);
	int got_i = got ? (int)(got - d->owners) : -1;

	if (got_i != want) {
		char ip[INET6_ADDRSTRLEN];

		inet_ntop(family, addr, ip, sizeof(ip));
		DIFF_FAIL(d, "lookup %s: owner %d, model %d", ip, got_i, want);
	}
}

struct walk_check {
	struct diff_ctx *d;
	const struct mentry **want;
	size_t n, i;
};

static int check_walk_entry(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_check *w = ctx;
	const struct mentry *e = w->i < w->n ? w->want[w->i] : NULL;

	if (!e || e->family != family || e->cidr != cidr ||
	    memcmp(e->key, addr, family == AF_INET ? 4 : 16) != 0)
		DIFF_FAIL(w->d, "walk entry %zu differs from the model", w->i);
	w->i++;
	return 0;
}

static int by_seq(const void *a, const void *b)
{
	const struct mentry *x = *(const struct mentry *const *)a;
	const struct mentry *y = *(const struct mentry *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void check_owner(struct diff_ctx *d, int owner)
{
	static const struct mentry *want[MODEL_MAX];
	struct walk_check w = {.d = d, .want = want};

	for (size_t i = 0; i < d->m.n; i++) {
		if (d->m.e[i].owner == owner)
			want[w.n++] = &d->m.e[i];
	}
	qsort(want, w.n, sizeof(const struct mentry *), by_seq);
	if (d->owners[owner].count != w.n)
		DIFF_FAIL(d, "owner %d: count %zu, model %zu", owner, d->owners[owner].count, w.n);
	assert_int_equal(tapir_allowedips_walk_owner(&d->owners[owner], check_walk_entry, &w), 0);
	if (w.i != w.n)
		DIFF_FAIL(d, "owner %d: walk visited %zu of %zu", owner, w.i, w.n);
}

/* Inserts a random prefix, or re-inserts a stored one (a move, or a move to the tail). */
static void op_insert(struct diff_ctx *d)
{
	int family = rnd(d, 2) ? AF_INET6 : AF_INET, owner = (int)rnd(d, OWNERS), ret;
	unsigned cidr = random_cidr(d, family);
	uint8_t addr[16], v4buf[4];

	random_addr(d, family, addr);
	if (d->m.n > 0 && rnd(d, 5) == 0) {
		const struct mentry *e = &d->m.e[rnd(d, (unsigned)d->m.n)];

		family = e->family;
		cidr = e->cidr;
		memcpy(addr, e->key, 16);
	}
	ret = tapir_allowedips_insert(d->t, family, exact(family, addr, v4buf), (uint8_t)cidr,
				      &d->owners[owner]);
	if (ret != 0)
		DIFF_FAIL(d, "insert returned %d", ret);
	minsert(&d->m, family, addr, cidr, owner);
}

/* Removes a stored prefix (by its owner or by another), or a random one. */
static void op_remove(struct diff_ctx *d)
{
	int family = rnd(d, 2) ? AF_INET6 : AF_INET, owner = (int)rnd(d, OWNERS), got, want;
	unsigned cidr = random_cidr(d, family);
	uint8_t addr[16], v4buf[4];

	random_addr(d, family, addr);
	if (d->m.n > 0 && rnd(d, 10) < 7) {
		const struct mentry *e = &d->m.e[rnd(d, (unsigned)d->m.n)];

		family = e->family;
		cidr = e->cidr;
		memcpy(addr, e->key, 16);
		/* Host bits set: removal normalises too. */
		if (cidr < (family == AF_INET ? 32u : 128u) && rnd(d, 2))
			addr[(family == AF_INET ? 4 : 16) - 1] |= 1;
		if (rnd(d, 5))
			owner = e->owner;
	}
	got = tapir_allowedips_remove(d->t, family, exact(family, addr, v4buf), (uint8_t)cidr,
				      &d->owners[owner]);
	want = mremove(&d->m, family, addr, cidr, owner);
	if (got != want)
		DIFF_FAIL(d, "remove returned %d, model %d", got, want);
}

static void run_round(struct diff_ctx *d)
{
	size_t base;

	d->t = table();
	base = allocated_bytes();
	memset(d->owners, 0, sizeof(d->owners));
	d->m.n = 0;
	d->m.seq = 0;
	for (d->op = 0; d->op < OPS; d->op++) {
		unsigned r = rnd(d, 100);

		if (r < 55) {
			op_insert(d);
		} else if (r < 82) {
			op_remove(d);
		} else if (r < 85) {
			int owner = (int)rnd(d, OWNERS);

			tapir_allowedips_remove_owner(d->t, &d->owners[owner]);
			mremove_owner(&d->m, owner);
		} else {
			check_lookup(d);
		}
		if (d->op % 50 == 0) {
			for (int o = 0; o < OWNERS; o++)
				check_owner(d, o);
		}
	}
	for (d->op = 0; d->op < LOOKUPS; d->op++)
		check_lookup(d);
	for (int o = 0; o < OWNERS; o++)
		check_owner(d, o);
	/* Tear down through the API; free() then releases only the empty table. */
	for (int o = 0; o < OWNERS; o++) {
		tapir_allowedips_remove_owner(d->t, &d->owners[o]);
		assert_int_equal(d->owners[o].count, 0);
	}
	/* Removal freed every node, branch points included. */
	if (allocated_bytes() != base)
		DIFF_FAIL(d, "%zu bytes still allocated after removing everything",
			  allocated_bytes() - base);
	tapir_allowedips_free(d->t);
}

static void test_differential(void **state)
{
	struct diff_ctx *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	d->seed = test_seed();
	for (d->round = 0; d->round < ROUNDS; d->round++) {
		d->rng = d->seed + (uint64_t)d->round * 0x100000001b3ull;
		run_round(d);
	}
	free(d);
}

/* ---- scale ---- */

enum {
	SCALE_OWNERS = 10000,
};

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Owner @i's host: a scattered but distinct address in 10.0.0.0/8 or 2001:db8::/32. */
static void scale_addr(int family, uint32_t i, uint8_t out[16])
{
	uint32_t x = (i * 2654435761u) & 0xffffff; /* odd multiplier: distinct for i < 2^24 */

	memset(out, 0, 16);
	if (family == AF_INET) {
		out[0] = 10;
		out[1] = (uint8_t)(x >> 16);
		out[2] = (uint8_t)(x >> 8);
		out[3] = (uint8_t)x;
		return;
	}
	out[0] = 0x20;
	out[1] = 0x01;
	out[2] = 0x0d;
	out[3] = 0xb8;
	out[9] = (uint8_t)(x >> 16);
	out[11] = (uint8_t)(x >> 8);
	out[15] = (uint8_t)x;
}

/* Inserts one host prefix per owner; returns the seconds it took. */
static double scale_insert(struct tapir_allowedips *t, struct tapir_allowedips_owner *owners,
			   int family)
{
	uint8_t cidr = family == AF_INET ? 32 : 128, addr[16], v4buf[4];
	const uint8_t *a = family == AF_INET ? v4buf : addr; /* exact size, as exact() */
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (uint32_t i = 0; i < SCALE_OWNERS; i++) {
		scale_addr(family, i, addr);
		if (family == AF_INET)
			memcpy(v4buf, addr, 4);
		if (tapir_allowedips_insert(t, family, a, cidr, &owners[i]) != 0)
			fail_msg("insert for owner %u failed", i);
	}
	return seconds_since(&start);
}

static void scale_check(struct tapir_allowedips *t, struct tapir_allowedips_owner *owners)
{
	uint8_t addr[16], v4[4];

	for (uint32_t i = 0; i < SCALE_OWNERS; i++) {
		scale_addr(AF_INET, i, addr);
		memcpy(v4, addr, 4);
		if (tapir_allowedips_lookup(t, AF_INET, v4) != &owners[i])
			fail_msg("v4 owner %u not found", i);
		v4[3] ^= 0x80; /* usually nobody's address; if someone's, theirs */
		if (tapir_allowedips_lookup(t, AF_INET, v4) == &owners[i])
			fail_msg("v4 owner %u matched a foreign address", i);
		scale_addr(AF_INET6, i, addr);
		if (tapir_allowedips_lookup(t, AF_INET6, addr) != &owners[i])
			fail_msg("v6 owner %u not found", i);
		addr[14] = 1;
		if (tapir_allowedips_lookup(t, AF_INET6, addr))
			fail_msg("v6 lookup next to owner %u matched", i);
	}
}

static void test_scale(void **state)
{
	struct tapir_allowedips_owner *owners = calloc(SCALE_OWNERS, sizeof(*owners));
	struct tapir_allowedips *t = table();
	size_t base, after4, after6, churned;
	double t4, t6;

	assert_non_null(owners);
	base = allocated_bytes();
	t4 = scale_insert(t, owners, AF_INET);
	after4 = allocated_bytes();
	t6 = scale_insert(t, owners, AF_INET6);
	after6 = allocated_bytes();
	scale_check(t, owners);
	for (uint32_t i = 0; i < SCALE_OWNERS; i++) {
		assert_int_equal(owners[i].count, 2);
		tapir_allowedips_remove_owner(t, &owners[i]);
		assert_int_equal(owners[i].count, 0);
		assert_null(owners[i].first);
	}
	/* Everything freed; churn must not grow memory either. */
	assert_int_equal(allocated_bytes(), base);
	for (int round = 0; round < 3; round++) {
		scale_insert(t, owners, round % 2 ? AF_INET6 : AF_INET);
		for (uint32_t i = 0; i < SCALE_OWNERS; i++)
			tapir_allowedips_remove_owner(t, &owners[i]);
	}
	churned = allocated_bytes();
	assert_int_equal(churned, base);

	print_message("# 10000 owners: insert /32 %.2f ms, /128 %.2f ms\n", t4 * 1e3, t6 * 1e3);
	assert_true(t4 < 1.0 && t6 < 1.0);
	if (__sanitizer_get_current_allocated_bytes) {
		/* Requested bytes, branch points included; malloc adds its own overhead. */
		print_message("# %.1f bytes per /32, %.1f per /128\n",
			      (double)(after4 - base) / SCALE_OWNERS,
			      (double)(after6 - after4) / SCALE_OWNERS);
		assert_true(after4 - base < (size_t)100 * SCALE_OWNERS);
		assert_true(after6 - after4 < (size_t)100 * SCALE_OWNERS);
	}
	tapir_allowedips_free(t);
	free(owners);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlap),	  cmocka_unit_test(test_hosts),
	    cmocka_unit_test(test_normalisation), cmocka_unit_test(test_move),
	    cmocka_unit_test(test_remove_rules),  cmocka_unit_test(test_remove_owner),
	    cmocka_unit_test(test_walk),	  cmocka_unit_test(test_families_independent),
	    cmocka_unit_test(test_einval),	  cmocka_unit_test(test_differential),
	    cmocka_unit_test(test_scale),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
