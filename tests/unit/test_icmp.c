// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/dataplane/icmp.c: the "destination unreachable" builder field by field,
 * with checksums verified by a deliberately naive byte-pair sum (and the ICMPv6 pseudo-header
 * written out in full); a numbered table of packets that must never be answered; malformed
 * input; and the rate limiter's burst and refill. A random run feeds packets of exact size
 * (ASan sees any read past the end) and checks every error it gets; set TAPIR_TEST_SEED to
 * replay it, the seed is printed on failure.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "icmp.h"

enum {
	OUT_CAP = 2048,
	RANDOM_ROUNDS = 3000,
	NSEC = 1000000000,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ones' complement sum of big-endian byte pairs, folded; 0xffff means "verifies". */
static uint16_t naive_sum(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	uint32_t sum = 0;
	uint8_t pair[2];

	for (size_t i = 0; i < alen + blen; i += 2) {
		pair[0] = i < alen ? a[i] : b[i - alen];
		pair[1] = i + 1 < alen ? a[i + 1] : i + 1 < alen + blen ? b[i + 1 - alen] : 0;
		sum += (uint32_t)(pair[0] << 8 | pair[1]);
		while (sum > 0xffff)
			sum = (sum & 0xffff) + (sum >> 16);
	}
	return (uint16_t)sum;
}

/* An IPv4 packet of @len bytes (total length @len) from @src to @dst with protocol @proto. */
static void ipv4(uint8_t *p, size_t len, const char *src, const char *dst, uint8_t proto)
{
	unsigned a, b, c, d;

	memset(p, 0, len);
	p[0] = 0x45;
	wr16(p + 2, len);
	p[8] = 64;
	p[9] = proto;
	sscanf(src, "%u.%u.%u.%u", &a, &b, &c, &d);
	p[12] = (uint8_t)a, p[13] = (uint8_t)b, p[14] = (uint8_t)c, p[15] = (uint8_t)d;
	sscanf(dst, "%u.%u.%u.%u", &a, &b, &c, &d);
	p[16] = (uint8_t)a, p[17] = (uint8_t)b, p[18] = (uint8_t)c, p[19] = (uint8_t)d;
	for (size_t i = 20; i < len; i++)
		p[i] = (uint8_t)(i * 7);
	if (len > 20 && proto == 1)
		p[20] = 8; /* echo request */
}

/* An IPv6 packet of @len bytes; addresses are fd00::@s and fd00::@d unless overridden. */
static void ipv6(uint8_t *p, size_t len, uint8_t s, uint8_t d, uint8_t nh)
{
	memset(p, 0, len);
	p[0] = 0x60;
	wr16(p + 4, len - 40);
	p[6] = nh;
	p[7] = 64;
	p[8] = 0xfd, p[23] = s;
	p[24] = 0xfd, p[39] = d;
	for (size_t i = 40; i < len; i++)
		p[i] = (uint8_t)(i * 5);
	if (len > 40 && nh == 58)
		p[40] = 128; /* echo request */
}

/* Checks an IPv4 error for @pkt: header, addresses, checksums, the quote. */
static void check_ipv4_error(const uint8_t *pkt, size_t quoted, const uint8_t *e, int n)
{
	assert_int_equal(n, 28 + quoted);
	assert_true(n <= TAPIR_ICMP4_MAX_BYTES);
	assert_int_equal(e[0], 0x45);
	assert_int_equal(rd16(e + 2), n);
	assert_int_equal(rd16(e + 6) & 0x1fff, 0);
	assert_true(e[8] > 0);
	assert_int_equal(e[9], 1);
	assert_memory_equal(e + 12, pkt + 16, 4);
	assert_memory_equal(e + 16, pkt + 12, 4);
	assert_int_equal(naive_sum(e, 20, NULL, 0), 0xffff);
	assert_int_equal(e[20], 3);
	assert_int_equal(e[21], 1);
	assert_int_equal(naive_sum(e + 20, (size_t)n - 20, NULL, 0), 0xffff);
	assert_memory_equal(e + 28, pkt, quoted);
}

/* Checks an IPv6 error, its checksum over the pseudo-header of RFC 8200 8.1. */
static void check_ipv6_error(const uint8_t *pkt, size_t quoted, const uint8_t *e, int n)
{
	uint8_t pseudo[40] = {0};
	size_t icmp_len = (size_t)n - 40;

	assert_int_equal(n, 48 + quoted);
	assert_true(n <= TAPIR_ICMP6_MAX_BYTES);
	assert_int_equal(e[0] >> 4, 6);
	assert_int_equal(rd16(e + 4), icmp_len);
	assert_int_equal(e[6], 58);
	assert_true(e[7] > 0);
	assert_memory_equal(e + 8, pkt + 24, 16);
	assert_memory_equal(e + 24, pkt + 8, 16);
	assert_int_equal(e[40], 1);
	assert_int_equal(e[41], 3);
	memcpy(pseudo, e + 8, 32);
	pseudo[34] = (uint8_t)(icmp_len >> 8);
	pseudo[35] = (uint8_t)icmp_len;
	pseudo[39] = 58;
	assert_int_equal(naive_sum(pseudo, sizeof(pseudo), e + 40, icmp_len), 0xffff);
	assert_memory_equal(e + 48, pkt, quoted);
}

static void test_ipv4_echo(void **state)
{
	static uint8_t pkt[84], out[OUT_CAP];
	int n;

	(void)state;
	ipv4(pkt, sizeof(pkt), "10.0.0.1", "10.0.0.99", 1);
	n = tapir_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out));
	check_ipv4_error(pkt, sizeof(pkt), out, n);
}

/* Quotes at most 576 - 28 bytes, and never the bytes after the total length. */
static void test_ipv4_quote_limits(void **state)
{
	static uint8_t pkt[1500], out[OUT_CAP];
	int n;

	(void)state;
	ipv4(pkt, sizeof(pkt), "10.0.0.1", "192.0.2.9", 17);
	n = tapir_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out));
	check_ipv4_error(pkt, TAPIR_ICMP4_MAX_BYTES - 28, out, n);
	ipv4(pkt, 60, "10.0.0.1", "192.0.2.9", 6);
	n = tapir_icmp_unreachable(pkt, 100, out, sizeof(out)); /* 40 bytes of trailer */
	check_ipv4_error(pkt, 60, out, n);
	/* a bare header (UDP without a UDP header yet) is still one host's packet */
	ipv4(pkt, 20, "10.0.0.1", "192.0.2.9", 17);
	n = tapir_icmp_unreachable(pkt, 20, out, sizeof(out));
	check_ipv4_error(pkt, 20, out, n);
	/* IP options are quoted as they are */
	ipv4(pkt, 64, "10.0.0.1", "192.0.2.9", 17);
	pkt[0] = 0x46;
	n = tapir_icmp_unreachable(pkt, 64, out, sizeof(out));
	check_ipv4_error(pkt, 64, out, n);
	/* a first fragment is answered */
	ipv4(pkt, 64, "10.0.0.1", "192.0.2.9", 17);
	pkt[6] = 0x20; /* MF, offset 0 */
	n = tapir_icmp_unreachable(pkt, 64, out, sizeof(out));
	check_ipv4_error(pkt, 64, out, n);
}

static void test_ipv6_echo(void **state)
{
	static uint8_t pkt[104], out[OUT_CAP];
	int n;

	(void)state;
	ipv6(pkt, sizeof(pkt), 1, 0x99, 58);
	n = tapir_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out));
	check_ipv6_error(pkt, sizeof(pkt), out, n);
}

static void test_ipv6_quote_limits(void **state)
{
	static uint8_t pkt[9000], out[OUT_CAP];
	int n;

	(void)state;
	ipv6(pkt, sizeof(pkt), 1, 2, 17);
	n = tapir_icmp_unreachable(pkt, sizeof(pkt), out, sizeof(out));
	check_ipv6_error(pkt, TAPIR_ICMP6_MAX_BYTES - 48, out, n);
	ipv6(pkt, 80, 1, 2, 6);
	n = tapir_icmp_unreachable(pkt, 120, out, sizeof(out));
	check_ipv6_error(pkt, 80, out, n);
	/* hop-by-hop options, then an echo request: answered */
	ipv6(pkt, 96, 1, 2, 0);
	pkt[40] = 58, pkt[41] = 0;
	pkt[48] = 128;
	n = tapir_icmp_unreachable(pkt, 96, out, sizeof(out));
	check_ipv6_error(pkt, 96, out, n);
	/* a first fragment (offset 0, M set) of UDP: answered */
	ipv6(pkt, 96, 1, 2, 44);
	pkt[40] = 17, pkt[42] = 0, pkt[43] = 1;
	n = tapir_icmp_unreachable(pkt, 96, out, sizeof(out));
	check_ipv6_error(pkt, 96, out, n);
	/* No Next Header */
	ipv6(pkt, 40, 1, 2, 59);
	n = tapir_icmp_unreachable(pkt, 40, out, sizeof(out));
	check_ipv6_error(pkt, 40, out, n);
}

/* One packet that must get no error, built by @make into @p; returns its length. */
struct never_case {
	const char *what;
	size_t (*make)(uint8_t *p);
};

static size_t v4_base(uint8_t *p, const char *src, const char *dst, uint8_t proto)
{
	ipv4(p, 64, src, dst, proto);
	return 64;
}

static size_t v4_icmp_type(uint8_t *p, uint8_t type)
{
	v4_base(p, "10.0.0.1", "10.0.0.99", 1);
	p[20] = type;
	return 64;
}

static size_t n_dest_unreach(uint8_t *p)
{
	return v4_icmp_type(p, 3);
}
static size_t n_source_quench(uint8_t *p)
{
	return v4_icmp_type(p, 4);
}
static size_t n_redirect(uint8_t *p)
{
	return v4_icmp_type(p, 5);
}
static size_t n_time_exceeded(uint8_t *p)
{
	return v4_icmp_type(p, 11);
}
static size_t n_param_problem(uint8_t *p)
{
	return v4_icmp_type(p, 12);
}
static size_t n_unknown_type(uint8_t *p)
{
	return v4_icmp_type(p, 200);
}
static size_t n_v4_icmp_no_type(uint8_t *p)
{
	ipv4(p, 20, "10.0.0.1", "10.0.0.99", 1);
	return 20;
}
static size_t n_v4_fragment(uint8_t *p)
{
	v4_base(p, "10.0.0.1", "10.0.0.99", 17);
	p[7] = 1; /* offset 8 bytes */
	return 64;
}
static size_t n_v4_src_zero(uint8_t *p)
{
	return v4_base(p, "0.0.0.0", "10.0.0.99", 17);
}
static size_t n_v4_src_loop(uint8_t *p)
{
	return v4_base(p, "127.0.0.1", "10.0.0.99", 17);
}
static size_t n_v4_src_mcast(uint8_t *p)
{
	return v4_base(p, "224.0.0.5", "10.0.0.99", 17);
}
static size_t n_v4_src_classe(uint8_t *p)
{
	return v4_base(p, "240.0.0.1", "10.0.0.99", 17);
}
static size_t n_v4_src_bcast(uint8_t *p)
{
	return v4_base(p, "255.255.255.255", "10.0.0.99", 17);
}
static size_t n_v4_dst_mcast(uint8_t *p)
{
	return v4_base(p, "10.0.0.1", "224.0.0.251", 17);
}
static size_t n_v4_dst_bcast(uint8_t *p)
{
	return v4_base(p, "10.0.0.1", "255.255.255.255", 17);
}

static size_t v6_icmp_type(uint8_t *p, uint8_t type)
{
	ipv6(p, 88, 1, 2, 58);
	p[40] = type;
	return 88;
}
static size_t n_v6_dest_unreach(uint8_t *p)
{
	return v6_icmp_type(p, 1);
}
static size_t n_v6_too_big(uint8_t *p)
{
	return v6_icmp_type(p, 2);
}
static size_t n_v6_time_exceeded(uint8_t *p)
{
	return v6_icmp_type(p, 3);
}
static size_t n_v6_param_problem(uint8_t *p)
{
	return v6_icmp_type(p, 4);
}
static size_t n_v6_error_127(uint8_t *p)
{
	return v6_icmp_type(p, 127);
}
static size_t n_v6_src_unspec(uint8_t *p)
{
	ipv6(p, 88, 1, 2, 17);
	memset(p + 8, 0, 16);
	return 88;
}
static size_t n_v6_src_loop(uint8_t *p)
{
	n_v6_src_unspec(p);
	p[23] = 1;
	return 88;
}
static size_t n_v6_src_mcast(uint8_t *p)
{
	ipv6(p, 88, 1, 2, 17);
	p[8] = 0xff, p[9] = 0x02;
	return 88;
}
static size_t n_v6_dst_mcast(uint8_t *p)
{
	ipv6(p, 88, 1, 2, 58);
	p[24] = 0xff, p[25] = 0x02; /* an MLD report or a router solicitation */
	p[40] = 143;
	return 88;
}
static size_t n_v6_hop_then_error(uint8_t *p)
{
	ipv6(p, 96, 1, 2, 0);
	p[40] = 60, p[41] = 0; /* hop-by-hop, then destination options, then ICMPv6 */
	p[48] = 58, p[49] = 0;
	p[56] = 1;
	return 96;
}
static size_t n_v6_fragment(uint8_t *p)
{
	ipv6(p, 96, 1, 2, 44);
	p[40] = 17, p[42] = 0x05, p[43] = 0xa8; /* offset 181 * 8 */
	return 96;
}
static size_t n_v6_ext_truncated(uint8_t *p)
{
	ipv6(p, 96, 1, 2, 0);
	p[40] = 58, p[41] = 20; /* 168 bytes of options in a 56-byte payload */
	return 96;
}
static size_t n_v6_ext_too_long(uint8_t *p)
{
	ipv6(p, 40 + 9 * 8 + 8, 1, 2, 60);
	for (int i = 0; i < 9; i++)
		p[40 + i * 8] = 60, p[41 + i * 8] = 0;
	p[40 + 8 * 8] = 17;
	return 40 + 9 * 8 + 8;
}

static const struct never_case never_cases[] = {
    {"01 ICMP destination unreachable", n_dest_unreach},
    {"02 ICMP source quench", n_source_quench},
    {"03 ICMP redirect", n_redirect},
    {"04 ICMP time exceeded", n_time_exceeded},
    {"05 ICMP parameter problem", n_param_problem},
    {"06 ICMP type 200 (not a known query)", n_unknown_type},
    {"07 ICMP without its type byte", n_v4_icmp_no_type},
    {"08 IPv4 non-first fragment", n_v4_fragment},
    {"09 IPv4 source 0.0.0.0", n_v4_src_zero},
    {"10 IPv4 source loopback", n_v4_src_loop},
    {"11 IPv4 source multicast", n_v4_src_mcast},
    {"12 IPv4 source class E", n_v4_src_classe},
    {"13 IPv4 source broadcast", n_v4_src_bcast},
    {"14 IPv4 destination multicast", n_v4_dst_mcast},
    {"15 IPv4 destination broadcast", n_v4_dst_bcast},
    {"16 ICMPv6 destination unreachable", n_v6_dest_unreach},
    {"17 ICMPv6 packet too big", n_v6_too_big},
    {"18 ICMPv6 time exceeded", n_v6_time_exceeded},
    {"19 ICMPv6 parameter problem", n_v6_param_problem},
    {"20 ICMPv6 type 127", n_v6_error_127},
    {"21 IPv6 source ::", n_v6_src_unspec},
    {"22 IPv6 source ::1", n_v6_src_loop},
    {"23 IPv6 source multicast", n_v6_src_mcast},
    {"24 IPv6 destination multicast", n_v6_dst_mcast},
    {"25 ICMPv6 error behind extension headers", n_v6_hop_then_error},
    {"26 IPv6 non-first fragment", n_v6_fragment},
    {"27 IPv6 extension header past the end", n_v6_ext_truncated},
    {"28 IPv6 nine extension headers", n_v6_ext_too_long},
};

static void test_never(void **state)
{
	static uint8_t pkt[512], out[OUT_CAP];

	(void)state;
	for (size_t i = 0; i < sizeof(never_cases) / sizeof(never_cases[0]); i++) {
		size_t len = never_cases[i].make(pkt);
		int n = tapir_icmp_unreachable(pkt, len, out, sizeof(out));

		if (n != 0)
			fail_msg("case %s: got %d, want 0", never_cases[i].what, n);
	}
}

static void test_malformed(void **state)
{
	static uint8_t pkt[128], out[OUT_CAP];

	(void)state;
	assert_int_equal(tapir_icmp_unreachable(pkt, 0, out, sizeof(out)), -EINVAL);
	ipv4(pkt, 64, "10.0.0.1", "10.0.0.99", 17);
	assert_int_equal(tapir_icmp_unreachable(pkt, 19, out, sizeof(out)), -EINVAL);
	assert_int_equal(tapir_icmp_unreachable(pkt, 63, out, sizeof(out)), -EINVAL);
	pkt[0] = 0x44; /* IHL 16 bytes */
	assert_int_equal(tapir_icmp_unreachable(pkt, 64, out, sizeof(out)), -EINVAL);
	ipv4(pkt, 64, "10.0.0.1", "10.0.0.99", 17);
	wr16(pkt + 2, 19); /* total length below the header */
	assert_int_equal(tapir_icmp_unreachable(pkt, 64, out, sizeof(out)), -EINVAL);
	pkt[0] = 0x55; /* version 5 */
	assert_int_equal(tapir_icmp_unreachable(pkt, 64, out, sizeof(out)), -EINVAL);
	ipv6(pkt, 128, 1, 2, 17);
	assert_int_equal(tapir_icmp_unreachable(pkt, 39, out, sizeof(out)), -EINVAL);
	assert_int_equal(tapir_icmp_unreachable(pkt, 127, out, sizeof(out)), -EINVAL);
	/* the output does not fit */
	assert_int_equal(tapir_icmp_unreachable(pkt, 128, out, 48 + 127), -ENOSPC);
	ipv4(pkt, 64, "10.0.0.1", "10.0.0.99", 17);
	assert_int_equal(tapir_icmp_unreachable(pkt, 64, out, 28 + 63), -ENOSPC);
}

static void test_limiter(void **state)
{
	struct tapir_icmp_limiter rl = {0};
	uint64_t t = 5ull * NSEC;
	int n = 0;

	(void)state;
	for (int i = 0; i < 100; i++)
		n += tapir_icmp_limiter_allow(&rl, t);
	assert_int_equal(n, TAPIR_ICMP_BURST);
	/* one token per 1/RATE s */
	assert_false(tapir_icmp_limiter_allow(&rl, t + NSEC / TAPIR_ICMP_RATE_PER_S - 1));
	assert_true(tapir_icmp_limiter_allow(&rl, t + NSEC / TAPIR_ICMP_RATE_PER_S));
	assert_false(tapir_icmp_limiter_allow(&rl, t + NSEC / TAPIR_ICMP_RATE_PER_S));
	/* a steady 100/s for 10 s gets the rate, plus the burst refilled at the start */
	n = 0;
	t += 100ull * NSEC;
	for (int i = 0; i < 1000; i++)
		n += tapir_icmp_limiter_allow(&rl, t + (uint64_t)i * (NSEC / 100));
	assert_in_range(n, 10 * TAPIR_ICMP_RATE_PER_S,
			10 * TAPIR_ICMP_RATE_PER_S + TAPIR_ICMP_BURST);
	/* idle long enough: a whole burst again, never more */
	t += 1000ull * NSEC;
	n = 0;
	for (int i = 0; i < 100; i++)
		n += tapir_icmp_limiter_allow(&rl, t);
	assert_int_equal(n, TAPIR_ICMP_BURST);
}

/* Random packets of exact size: any answer must check out; nothing reads past the end. */
static void test_random(void **state)
{
	const char *env = getenv("TAPIR_TEST_SEED");
	unsigned int seed = env ? (unsigned int)strtoul(env, NULL, 0) : (unsigned int)time(NULL);
	static uint8_t out[OUT_CAP];

	(void)state;
	printf("# seed %u (replay with TAPIR_TEST_SEED)\n", seed);
	srand(seed);
	for (int r = 0; r < RANDOM_ROUNDS; r++) {
		size_t len = (size_t)(rand() % 1600);
		uint8_t *pkt = malloc(len ? len : 1);
		int n;

		assert_non_null(pkt);
		for (size_t i = 0; i < len; i++)
			pkt[i] = (uint8_t)rand();
		if (rand() % 2 && len >= 20)
			ipv4(pkt, len, "10.1.2.3", "10.9.8.7", (uint8_t)(rand() % 3 ? 1 : 17));
		else if (len >= 40)
			ipv6(pkt, len, 3, 7, (uint8_t)(rand() % 3 ? 58 : rand() % 64));
		for (int k = rand() % 4; k > 0 && len; k--)
			pkt[(size_t)rand() % len] = (uint8_t)rand();
		n = tapir_icmp_unreachable(pkt, len, out, sizeof(out));
		if (n > 0 && pkt[0] >> 4 == 4) {
			size_t q = rd16(pkt + 2);
			check_ipv4_error(pkt, q < 548 ? q : 548, out, n);
		} else if (n > 0) {
			size_t q = 40u + rd16(pkt + 4);
			check_ipv6_error(pkt, q < 1232 ? q : 1232, out, n);
		} else if (n < 0 && n != -EINVAL) {
			fail_msg("seed %u round %d: %d", seed, r, n);
		}
		free(pkt);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ipv4_echo), cmocka_unit_test(test_ipv4_quote_limits),
	    cmocka_unit_test(test_ipv6_echo), cmocka_unit_test(test_ipv6_quote_limits),
	    cmocka_unit_test(test_never),     cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_limiter),   cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
