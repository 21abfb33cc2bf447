// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/dataplane/offload.c and gro.c. Super-packets are built here the way the kernel
 * hands them to a TUN reader (lengths of the whole packet, checksum field seeded with the
 * pseudo-header sum), split, and every segment is checked field by field against the
 * original, with checksums verified by a deliberately naive byte-pair implementation. GRO is
 * checked by coalescing split segments and re-splitting what it emits: the result must be the
 * segments fed in, in order. Set TAPIR_TEST_SEED to replay a failing random run; the seed is
 * printed on failure.
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
#include <unistd.h>

#include <cmocka.h>

#include "offload.h"

enum {
	SEG_CAP = 9216,
	SEGS_MAX = TAPIR_OFFLOAD_MAX_SEGMENTS,
	PKT_CAP = 65536,
	HDRS_CAP = 256,
	COLLECT_MAX = 1024,
	COLLECT_ARENA = 1 << 20,
	FLOWS_MAX = 3,
	ROUNDS = 300,
};

enum tcp_flag_bits {
	FIN = 0x01,
	SYN = 0x02,
	RST = 0x04,
	PSH = 0x08,
	ACK = 0x10,
	URG = 0x20,
	ECE = 0x40,
	CWR = 0x80,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static void wr16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v & 0xffff);
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- naive reference checksum: byte pairs into a 32-bit sum ---- */

static uint32_t naive_sum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t naive_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Builds the pseudo-header as bytes (RFC 793 / RFC 8200 8.1) and sums it. */
static uint32_t naive_pseudo(const uint8_t *ip, int family, uint8_t proto, size_t l4_len)
{
	uint8_t ph[40] = {0};

	if (family == 4) {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		wr16(ph + 10, l4_len);
		return naive_sum(ph, 12, 0);
	}
	memcpy(ph, ip + 8, 32);
	wr32(ph + 32, (uint32_t)l4_len);
	ph[39] = proto;
	return naive_sum(ph, 40, 0);
}

static bool naive_l4_ok(const uint8_t *ip, size_t len, int family, uint8_t proto, size_t l3)
{
	uint32_t sum = naive_pseudo(ip, family, proto, len - l3);

	return naive_fold(naive_sum(ip + l3, len - l3, sum)) == 0xffff;
}

static bool naive_ipv4_ok(const uint8_t *ip, size_t ihl)
{
	return naive_fold(naive_sum(ip, ihl, 0)) == 0xffff;
}

/* ---- packet builder ---- */

struct spec {
	int family;	 /* 4 or 6 */
	uint8_t proto;	 /* 6 or 17 */
	size_t ip_opts;	 /* IPv4 option bytes (x4) or IPv6 hop-by-hop bytes (x8) */
	size_t tcp_opts; /* x4; 12 or more starts with NOP NOP timestamps */
	size_t payload;
	uint8_t flags;
	uint32_t seq;
	uint32_t ack;
	uint16_t window;
	uint32_t tsval;
	uint16_t ip_id;
	uint8_t tos;
	uint8_t ttl;
	uint16_t sport;
	uint16_t dport;
	uint8_t pattern;
};

enum csum_mode { CSUM_FULL, CSUM_PARTIAL };

static struct spec base_spec(int family, uint8_t proto)
{
	struct spec sp = {
	    .family = family,
	    .proto = proto,
	    .tcp_opts = 12,
	    .payload = 3000,
	    .flags = ACK,
	    .seq = 0x10203040,
	    .ack = 0x01020304,
	    .window = 0x2000,
	    .tsval = 0xaabbccdd,
	    .ip_id = 0x1234,
	    .tos = 0x02,
	    .ttl = 64,
	    .sport = 40000,
	    .dport = 5201,
	    .pattern = 3,
	};
	return sp;
}

static size_t spec_l3(const struct spec *sp)
{
	return (sp->family == 4 ? 20 : 40) + sp->ip_opts;
}

static size_t spec_l4(const struct spec *sp)
{
	return sp->proto == 6 ? 20 + sp->tcp_opts : 8;
}

static size_t csum_off(uint8_t proto)
{
	return proto == 6 ? 16 : 6;
}

static void build_ip(const struct spec *sp, uint8_t *b, size_t len)
{
	static const uint8_t addrs[8] = {10, 0, 0, 1, 10, 0, 0, 2};
	static const uint8_t router_alert[4] = {0x94, 0x04, 0, 0};
	size_t l3 = spec_l3(sp);

	if (sp->family == 4) {
		b[0] = (uint8_t)(0x40 | l3 / 4);
		b[1] = sp->tos;
		wr16(b + 2, len);
		wr16(b + 4, sp->ip_id);
		wr16(b + 6, 0x4000); /* DF */
		b[8] = sp->ttl;
		b[9] = sp->proto;
		memcpy(b + 12, addrs, sizeof(addrs));
		for (size_t i = 20; i < l3; i += 4)
			memcpy(b + i, router_alert, sizeof(router_alert));
		wr16(b + 10, (uint16_t)~naive_fold(naive_sum(b, l3, 0)));
		return;
	}
	b[0] = (uint8_t)(0x60 | sp->tos >> 4);
	b[1] = (uint8_t)(sp->tos << 4 | 0x1); /* flow label 0x12345 */
	b[2] = 0x23;
	b[3] = 0x45;
	wr16(b + 4, len - 40);
	b[6] = sp->ip_opts ? 0 : sp->proto;
	b[7] = sp->ttl;
	b[8] = 0xfd;
	b[23] = 1;
	b[24] = 0xfd;
	b[39] = 2;
	if (sp->ip_opts) { /* hop-by-hop with one PadN option */
		b[40] = sp->proto;
		b[41] = (uint8_t)(sp->ip_opts / 8 - 1);
		b[42] = 1;
		b[43] = (uint8_t)(sp->ip_opts - 4);
	}
}

static void build_l4(const struct spec *sp, uint8_t *h, size_t l4_total)
{
	size_t l4 = spec_l4(sp);

	wr16(h, sp->sport);
	wr16(h + 2, sp->dport);
	if (sp->proto == 17) {
		wr16(h + 4, l4_total);
		return;
	}
	wr32(h + 4, sp->seq);
	wr32(h + 8, sp->ack);
	h[12] = (uint8_t)(l4 / 4 << 4);
	h[13] = sp->flags;
	wr16(h + 14, sp->window);
	for (size_t i = 20; i < l4; i++)
		h[i] = 1; /* NOP */
	if (sp->tcp_opts >= 12) {
		h[22] = 8;
		h[23] = 10;
		wr32(h + 24, sp->tsval);
		wr32(h + 28, 0x11223344);
	}
}

/* Writes the packet @sp describes to @b and returns its length. CSUM_PARTIAL leaves the L4
 * checksum field as a TUN reader gets it with NEEDS_CSUM: the folded pseudo-header sum. */
static size_t build(const struct spec *sp, uint8_t *b, enum csum_mode mode)
{
	size_t l3 = spec_l3(sp), l4 = spec_l4(sp), len = l3 + l4 + sp->payload;
	uint8_t *field = b + l3 + csum_off(sp->proto);
	uint16_t csum;

	memset(b, 0, l3 + l4);
	build_ip(sp, b, len);
	build_l4(sp, b + l3, len - l3);
	for (size_t i = 0; i < sp->payload; i++)
		b[l3 + l4 + i] = (uint8_t)(sp->pattern + i * 7 + (i >> 8));
	if (mode == CSUM_PARTIAL) {
		wr16(field, naive_fold(naive_pseudo(b, sp->family, sp->proto, len - l3)));
		return len;
	}
	csum = (uint16_t)~naive_fold(
	    naive_sum(b + l3, len - l3, naive_pseudo(b, sp->family, sp->proto, len - l3)));
	wr16(field, csum == 0 && sp->proto == 17 ? 0xffff : csum);
	return len;
}

static struct virtio_net_hdr gso_hdr(const struct spec *sp, uint16_t gso_size)
{
	struct virtio_net_hdr vh = {
	    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
	    .hdr_len = (uint16_t)(spec_l3(sp) + spec_l4(sp)),
	    .gso_size = gso_size,
	    .csum_start = (uint16_t)spec_l3(sp),
	    .csum_offset = (uint16_t)csum_off(sp->proto),
	};

	if (sp->proto == 17)
		vh.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	else
		vh.gso_type = sp->family == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	return vh;
}

/* ---- split output and its checker ---- */

static uint8_t seg_store[SEGS_MAX][SEG_CAP];
static uint8_t *segs[SEGS_MAX];
static size_t seg_lens[SEGS_MAX];
static uint8_t orig[PKT_CAP];

static void setup_segs(void)
{
	for (size_t i = 0; i < SEGS_MAX; i++)
		segs[i] = seg_store[i];
}

static uint8_t expected_flags(uint8_t flags, size_t i, size_t n)
{
	if (i + 1 < n)
		flags &= (uint8_t) ~(FIN | PSH);
	if (i > 0)
		flags &= (uint8_t)~CWR;
	return flags;
}

/* Checks one segment's headers against the original's, masking the fields that change. */
static void check_seg_headers(const struct spec *sp, const uint8_t *o, const uint8_t *s, size_t len,
			      size_t i, size_t n, size_t off)
{
	size_t l3 = spec_l3(sp), hdrs = l3 + spec_l4(sp);
	uint8_t a[HDRS_CAP], b[HDRS_CAP];

	memcpy(a, o, hdrs);
	memcpy(b, s, hdrs);
	if (sp->family == 4) {
		assert_int_equal(rd16(s + 2), len);
		assert_int_equal(rd16(s + 4), (uint16_t)(sp->ip_id + i));
		assert_true(naive_ipv4_ok(s, l3));
		memset(a + 2, 0, 4), memset(b + 2, 0, 4);
		memset(a + 10, 0, 2), memset(b + 10, 0, 2);
	} else {
		assert_int_equal(rd16(s + 4), len - 40);
		memset(a + 4, 0, 2), memset(b + 4, 0, 2);
	}
	if (sp->proto == 6) {
		assert_int_equal(rd32(s + l3 + 4), (uint32_t)(sp->seq + off));
		assert_int_equal(s[l3 + 13], expected_flags(sp->flags, i, n));
		memset(a + l3 + 4, 0, 4), memset(b + l3 + 4, 0, 4);
		a[l3 + 13] = b[l3 + 13] = 0;
	} else {
		assert_int_equal(rd16(s + l3 + 4), len - l3);
		assert_int_not_equal(rd16(s + l3 + 6), 0);
		memset(a + l3 + 4, 0, 2), memset(b + l3 + 4, 0, 2);
	}
	memset(a + l3 + csum_off(sp->proto), 0, 2);
	memset(b + l3 + csum_off(sp->proto), 0, 2);
	assert_memory_equal(a, b, hdrs);
	assert_true(naive_l4_ok(s, len, sp->family, sp->proto, l3));
}

/* Every segment: length, headers, checksums, and the payloads concatenate to the original. */
static void check_split(const struct spec *sp, const uint8_t *o, size_t mss, uint8_t *const *out,
			const size_t *lens, int n)
{
	size_t hdrs = spec_l3(sp) + spec_l4(sp), off = 0;

	assert_int_equal(n, (sp->payload + mss - 1) / mss);
	for (size_t i = 0; i < (size_t)n; i++) {
		size_t plen = min_sz(mss, sp->payload - off);

		assert_int_equal(lens[i], hdrs + plen);
		assert_memory_equal(out[i] + hdrs, o + hdrs + off, plen);
		check_seg_headers(sp, o, out[i], lens[i], i, (size_t)n, off);
		off += plen;
	}
	assert_int_equal(off, sp->payload);
}

/* Builds @sp, splits it with @gso_size and @mtu, checks the result against @mss. */
static int split_and_check(const struct spec *sp, uint16_t gso_size, size_t mtu, size_t mss)
{
	struct virtio_net_hdr vh = gso_hdr(sp, gso_size);
	size_t len = build(sp, orig, CSUM_PARTIAL);
	int n = tapir_offload_split(&vh, orig, len, mtu, segs, seg_lens, SEGS_MAX, SEG_CAP);

	check_split(sp, orig, mss, segs, seg_lens, n);
	return n;
}

/* ---- checksum helpers ---- */

static void test_csum_helpers(void **state)
{
	static uint8_t buf[1100];
	uint64_t sum;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 3));
	for (size_t start = 0; start < 4; start++) {
		for (size_t n = 0; n + start <= sizeof(buf); n += 1 + n / 16) {
			uint32_t want = naive_sum(buf + start, n, 0);

			sum = tapir_csum_add(0, buf + start, n);
			assert_int_equal(tapir_csum_fold(sum), (uint16_t)~naive_fold(want));
		}
	}
	/* chained even pieces equal one call */
	sum = tapir_csum_add(tapir_csum_add(0, buf, 6), buf + 6, 1001);
	assert_int_equal(tapir_csum_fold(sum), tapir_csum_fold(tapir_csum_add(0, buf, 1007)));
	assert_int_equal(tapir_csum_fold(0), 0xffff);
	assert_int_equal(tapir_offload_max_segments(), TAPIR_OFFLOAD_MAX_SEGMENTS);
}

/* ---- split ---- */

static void test_split_tcp4(void **state)
{
	struct spec sp = base_spec(4, 6);

	sp.payload = 10001; /* 6 x 1448 + 1313: odd total, short last segment */
	sp.flags = ACK | PSH | FIN | CWR;
	assert_int_equal(split_and_check(&sp, 1448, 1500, 1448), 7);
	assert_int_equal(seg_lens[0], 1500);
	assert_int_equal(seg_lens[6], 20 + 32 + 1313);
}

static void test_split_tcp6(void **state)
{
	struct spec sp = base_spec(6, 6);

	sp.payload = 9999;
	sp.flags = ACK | PSH | FIN | CWR | ECE;
	assert_int_equal(split_and_check(&sp, 1428, 1500, 1428), 8);
	sp.tcp_opts = 40; /* longest options */
	assert_int_equal(split_and_check(&sp, 1400, 1500, 1400), 8);
}

static void test_split_edges(void **state)
{
	struct spec sp = base_spec(4, 6);

	sp.flags = ACK | PSH | FIN | CWR;
	sp.payload = 1000; /* exactly one segment keeps every flag */
	assert_int_equal(split_and_check(&sp, 1000, 1500, 1000), 1);
	assert_int_equal(segs[0][20 + 13], ACK | PSH | FIN | CWR);
	sp.payload = 700; /* gso_size larger than the payload */
	assert_int_equal(split_and_check(&sp, 1400, 1500, 1400), 1);
	sp.payload = 1001; /* one-byte last segment */
	assert_int_equal(split_and_check(&sp, 1000, 1500, 1000), 2);
	assert_int_equal(seg_lens[1], 20 + 32 + 1);
	sp.payload = 5000; /* MTU below hdrs + gso_size: TCP is cut at the MTU */
	assert_int_equal(split_and_check(&sp, 1448, 1280, 1280 - 52), 5);
	sp.payload = 65535 - 52; /* the largest super-packet */
	assert_int_equal(split_and_check(&sp, 1448, 1500, 1448), 46);
	sp.seq = 0xfffff000; /* sequence and ID wrap */
	sp.ip_id = 0xfffe;
	sp.payload = 9000;
	assert_int_equal(split_and_check(&sp, 1448, 1500, 1448), 7);
	assert_int_equal(rd16(segs[2] + 4), 0);
}

static void test_split_ip_options(void **state)
{
	struct spec sp = base_spec(4, 6);

	sp.ip_opts = 8;
	sp.payload = 4001;
	assert_int_equal(split_and_check(&sp, 1000, 1500, 1000), 5);
	assert_int_equal(segs[3][0], 0x47);
	sp = base_spec(6, 6);
	sp.ip_opts = 16;
	sp.payload = 4001;
	assert_int_equal(split_and_check(&sp, 1000, 1500, 1000), 5);
	sp.proto = 17;
	assert_int_equal(split_and_check(&sp, 1000, 1500, 1000), 5);
}

static void test_split_udp(void **state)
{
	struct spec sp = base_spec(4, 17);
	struct virtio_net_hdr vh;
	size_t len;

	sp.payload = 5000;
	assert_int_equal(split_and_check(&sp, 1200, 1500, 1200), 5);
	assert_int_equal(seg_lens[4], 20 + 8 + 200);
	sp.family = 6;
	sp.payload = 14001;
	assert_int_equal(split_and_check(&sp, 1400, 1500, 1400), 11);
	/* datagram boundaries never move: a segment above the MTU is refused */
	vh = gso_hdr(&sp, 1400);
	len = build(&sp, orig, CSUM_PARTIAL);
	assert_int_equal(
	    tapir_offload_split(&vh, orig, len, 1280, segs, seg_lens, SEGS_MAX, SEG_CAP),
	    -EMSGSIZE);

	/* a datagram whose checksum computes to 0 goes out as 0xffff, GSO or not */
	sp = base_spec(4, 17);
	sp.payload = 2;
	len = build(&sp, orig, CSUM_FULL);
	wr16(orig + 26, 0);
	wr16(orig + 28, 0);
	wr16(orig + 28, 0xffff - naive_fold(naive_sum(orig + 20, len - 20,
						      naive_pseudo(orig, 4, 17, len - 20))));
	wr16(orig + 26, naive_fold(naive_pseudo(orig, 4, 17, len - 20)));
	vh = gso_hdr(&sp, 1000);
	assert_int_equal(tapir_offload_split(&vh, orig, len, 1500, segs, seg_lens, 1, SEG_CAP), 1);
	assert_int_equal(rd16(segs[0] + 26), 0xffff);
	assert_true(naive_l4_ok(segs[0], len, 4, 17, 20));
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	assert_int_equal(tapir_offload_split(&vh, orig, len, 1500, segs, seg_lens, 1, SEG_CAP), 1);
	assert_int_equal(rd16(segs[0] + 26), 0xffff);
}

static void test_needs_csum(void **state)
{
	struct spec sp = base_spec(4, 6);
	struct virtio_net_hdr vh = {.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_offset = 16};
	size_t len;

	sp.payload = 1001;
	len = build(&sp, orig, CSUM_PARTIAL);
	vh.csum_start = 20;
	assert_false(naive_l4_ok(orig, len, 4, 6, 20));
	assert_int_equal(tapir_offload_split(&vh, orig, len, 1500, segs, seg_lens, 1, SEG_CAP), 1);
	assert_int_equal(seg_lens[0], len);
	assert_true(naive_l4_ok(segs[0], len, 4, 6, 20));
	assert_memory_equal(segs[0], orig, 36); /* nothing but the checksum changes */
	assert_memory_equal(segs[0] + 38, orig + 38, len - 38);

	sp = base_spec(6, 17);
	sp.payload = 333;
	len = build(&sp, orig, CSUM_PARTIAL);
	vh.csum_start = 40;
	vh.csum_offset = 6;
	assert_int_equal(tapir_offload_split(&vh, orig, len, 1500, segs, seg_lens, 1, SEG_CAP), 1);
	assert_true(naive_l4_ok(segs[0], len, 6, 17, 40));

	/* without NEEDS_CSUM the packet is copied as is, whatever the MTU */
	vh.flags = 0;
	assert_int_equal(tapir_offload_split(&vh, orig, len, 100, segs, seg_lens, 1, SEG_CAP), 1);
	assert_memory_equal(segs[0], orig, len);
}

/* tapir_offload_complete: the same bytes as the copy tapir_offload_split makes, in place */
static void test_complete_inplace(void **state)
{
	static const struct {
		int family;
		uint8_t proto;
		size_t payload, start, offset;
	} cases[] = {{4, 17, 1392, 20, 6}, {6, 17, 1, 40, 6}, {4, 6, 1001, 20, 16}};
	static uint8_t copy[PKT_CAP];
	struct virtio_net_hdr vh;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct spec sp = base_spec(cases[i].family, cases[i].proto);

		sp.payload = cases[i].payload;
		len = build(&sp, orig, CSUM_PARTIAL);
		vh = (struct virtio_net_hdr){.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
					     .csum_start = (uint16_t)cases[i].start,
					     .csum_offset = (uint16_t)cases[i].offset};
		assert_int_equal(
		    tapir_offload_split(&vh, orig, len, 1500, segs, seg_lens, 1, SEG_CAP), 1);
		memcpy(copy, orig, len);
		assert_int_equal(tapir_offload_complete(&vh, copy, len), 0);
		assert_memory_equal(copy, segs[0], len);
		assert_true(
		    naive_l4_ok(copy, len, cases[i].family, cases[i].proto, cases[i].start));
	}
	/* without NEEDS_CSUM nothing changes */
	memcpy(copy, orig, len);
	vh.flags = 0;
	assert_int_equal(tapir_offload_complete(&vh, copy, len), 0);
	assert_memory_equal(copy, orig, len);
	/* refused, and the packet left alone: a GSO type, ECN, the field outside, empty */
	vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	assert_int_equal(tapir_offload_complete(&vh, copy, len), -EINVAL);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(tapir_offload_complete(&vh, copy, len), -EINVAL);
	vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	vh.csum_offset = (uint16_t)(len - vh.csum_start - 1);
	assert_int_equal(tapir_offload_complete(&vh, copy, len), -EINVAL);
	vh.csum_start = (uint16_t)len;
	vh.csum_offset = 0;
	assert_int_equal(tapir_offload_complete(&vh, copy, len), -EINVAL);
	assert_int_equal(tapir_offload_complete(&vh, copy, 0), -EINVAL);
	assert_memory_equal(copy, orig, len);
}

/* ---- malformed input ---- */

enum mutation {
	MUT_NONE,
	MUT_TRUNC_IP,
	MUT_TRUNC_TCP,
	MUT_HDR_LEN_BEYOND,
	MUT_CSUM_START_BEYOND,
	MUT_CSUM_START_WRONG,
	MUT_CSUM_OFFSET_WRONG,
	MUT_GSO_SIZE_ZERO,
	MUT_IHL_SMALL,
	MUT_IHL_BEYOND,
	MUT_TOT_LEN,
	MUT_VERSION,
	MUT_PROTO,
	MUT_FRAGMENT,
	MUT_DOFF_SMALL,
	MUT_DOFF_BEYOND,
	MUT_NO_PAYLOAD,
	MUT_TOO_MANY,
	MUT_GSO_TINY,
	MUT_OUT_CAP,
	MUT_MTU_TINY,
	MUT_UFO,
	MUT_UNKNOWN_TYPE,
	MUT_ECN_NONE,
	MUT_NONE_CSUM_START,
	MUT_NONE_CSUM_OFFSET,
	MUT_NONE_EMPTY,
	MUT_NONE_OUT_CAP,
};

struct malformed {
	enum mutation m;
	int expect;
};

static const struct malformed malformed[] = {
    /* 1 */ {MUT_NONE, 3},
    /* 2 */ {MUT_TRUNC_IP, -EINVAL},
    /* 3 */ {MUT_TRUNC_TCP, -EINVAL},
    /* 4 */ {MUT_HDR_LEN_BEYOND, -EINVAL},
    /* 5 */ {MUT_CSUM_START_BEYOND, -EINVAL},
    /* 6 */ {MUT_CSUM_START_WRONG, -EINVAL},
    /* 7 */ {MUT_CSUM_OFFSET_WRONG, -EINVAL},
    /* 8 */ {MUT_GSO_SIZE_ZERO, -EINVAL},
    /* 9 */ {MUT_IHL_SMALL, -EINVAL},
    /* 10 */ {MUT_IHL_BEYOND, -EINVAL},
    /* 11 */ {MUT_TOT_LEN, -EINVAL},
    /* 12 */ {MUT_VERSION, -EINVAL},
    /* 13 */ {MUT_PROTO, -EINVAL},
    /* 14 */ {MUT_FRAGMENT, -EINVAL},
    /* 15 */ {MUT_DOFF_SMALL, -EINVAL},
    /* 16 */ {MUT_DOFF_BEYOND, -EINVAL},
    /* 17 */ {MUT_NO_PAYLOAD, -EINVAL},
    /* 18 */ {MUT_TOO_MANY, -EMSGSIZE},
    /* 19 */ {MUT_GSO_TINY, -EMSGSIZE},
    /* 20 */ {MUT_OUT_CAP, -EMSGSIZE},
    /* 21 */ {MUT_MTU_TINY, -EMSGSIZE},
    /* 22 */ {MUT_UFO, -EINVAL},
    /* 23 */ {MUT_UNKNOWN_TYPE, -EINVAL},
    /* 24 */ {MUT_ECN_NONE, -EINVAL},
    /* 25 */ {MUT_NONE_CSUM_START, -EINVAL},
    /* 26 */ {MUT_NONE_CSUM_OFFSET, -EINVAL},
    /* 27 */ {MUT_NONE_EMPTY, -EINVAL},
    /* 28 */ {MUT_NONE_OUT_CAP, -EMSGSIZE},
};

struct split_args {
	struct virtio_net_hdr vh;
	size_t len;
	size_t mtu;
	size_t max_out;
	size_t out_cap;
};

/* Sets the IPv4 total length to @len and truncates there. */
static void cut(struct split_args *a, size_t len)
{
	a->len = len;
	wr16(orig + 2, len);
}

static void mutate(enum mutation m, struct split_args *a)
{
	switch (m) {
	case MUT_NONE:
		break;
	case MUT_TRUNC_IP:
		a->len = 19;
		break;
	case MUT_TRUNC_TCP:
		cut(a, 30);
		break;
	case MUT_HDR_LEN_BEYOND:
		a->vh.hdr_len = (uint16_t)(a->len + 1);
		break;
	case MUT_CSUM_START_BEYOND:
		a->vh.csum_start = (uint16_t)a->len;
		break;
	case MUT_CSUM_START_WRONG:
		a->vh.csum_start = 24;
		break;
	case MUT_CSUM_OFFSET_WRONG:
		a->vh.csum_offset = 6;
		break;
	case MUT_GSO_SIZE_ZERO:
		a->vh.gso_size = 0;
		break;
	case MUT_IHL_SMALL:
		orig[0] = 0x44;
		break;
	case MUT_IHL_BEYOND:
		orig[0] = 0x4f;
		cut(a, 50);
		break;
	case MUT_TOT_LEN:
		wr16(orig + 2, a->len - 1);
		break;
	case MUT_VERSION:
		orig[0] = 0x65;
		break;
	case MUT_PROTO:
		orig[9] = 17;
		break;
	case MUT_FRAGMENT:
		wr16(orig + 6, 0x2000);
		break;
	case MUT_DOFF_SMALL:
		orig[20 + 12] = 0x40;
		break;
	case MUT_DOFF_BEYOND:
		orig[20 + 12] = 0xf0;
		cut(a, 20 + 50);
		break;
	case MUT_NO_PAYLOAD:
		cut(a, 20 + 32);
		break;
	case MUT_TOO_MANY:
		a->max_out = 2;
		break;
	case MUT_GSO_TINY:
		a->vh.gso_size = 1;
		break;
	case MUT_OUT_CAP:
		a->out_cap = 1000;
		break;
	case MUT_MTU_TINY:
		a->mtu = 52;
		break;
	case MUT_UFO:
		a->vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
		break;
	case MUT_UNKNOWN_TYPE:
		a->vh.gso_type = 7;
		break;
	case MUT_ECN_NONE:
		a->vh.gso_type = VIRTIO_NET_HDR_GSO_NONE | VIRTIO_NET_HDR_GSO_ECN;
		break;
	case MUT_NONE_CSUM_START:
		a->vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		a->vh.csum_start = (uint16_t)a->len;
		a->vh.csum_offset = 0;
		break;
	case MUT_NONE_CSUM_OFFSET:
		a->vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		a->vh.csum_start = (uint16_t)(a->len - 1);
		a->vh.csum_offset = 0;
		break;
	case MUT_NONE_EMPTY:
		a->vh = (struct virtio_net_hdr){0};
		a->len = 0;
		break;
	case MUT_NONE_OUT_CAP:
		a->vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
		a->out_cap = a->len - 1;
		break;
	}
}

static void test_malformed(void **state)
{
	struct spec sp = base_spec(4, 6);

	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		struct split_args a = {.mtu = 1500, .max_out = SEGS_MAX, .out_cap = SEG_CAP};
		int n;

		a.len = build(&sp, orig, CSUM_PARTIAL);
		a.vh = gso_hdr(&sp, 1000);
		mutate(malformed[i].m, &a);
		n = tapir_offload_split(&a.vh, orig, a.len, a.mtu, segs, seg_lens, a.max_out,
					a.out_cap);
		if (n != malformed[i].expect)
			fail_msg("malformed vector %zu: got %d, expected %d", i + 1, n,
				 malformed[i].expect);
	}
}

/* Every prefix of a valid super-packet (copied so ASan sees the exact end) is refused. */
static void test_truncations(void **state)
{
	static const int families[] = {4, 6, 4, 6};
	static const uint8_t protos[] = {6, 6, 17, 17};
	static uint8_t copy[PKT_CAP];

	for (size_t k = 0; k < 4; k++) {
		struct spec sp = base_spec(families[k], protos[k]);
		struct virtio_net_hdr vh = gso_hdr(&sp, 500);
		size_t len;

		sp.payload = 1100;
		len = build(&sp, orig, CSUM_PARTIAL);
		for (size_t n = 0; n <= len; n++) {
			uint8_t *p = copy + PKT_CAP - n;
			int ret;

			memcpy(p, orig, n);
			vh.hdr_len = 0;
			ret =
			    tapir_offload_split(&vh, p, n, 1500, segs, seg_lens, SEGS_MAX, SEG_CAP);
			assert_int_equal(ret, n == len ? 3 : -EINVAL);
		}
	}
}

/* ---- coalescing ---- */

struct collected {
	size_t n;
	size_t used;
	struct virtio_net_hdr vh[COLLECT_MAX];
	size_t off[COLLECT_MAX];
	size_t len[COLLECT_MAX];
	uint8_t arena[COLLECT_ARENA];
};

static struct collected col;
static struct tapir_gro gro;
static uint8_t gro_store[TAPIR_GRO_MAX_ITEMS][PKT_CAP];
static uint8_t *gro_bufs[TAPIR_GRO_MAX_ITEMS];

static void collect(void *ctx, const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
	struct collected *c = ctx;

	if (c->n == COLLECT_MAX || c->used + len > sizeof(c->arena))
		fail_msg("collector full");
	c->vh[c->n] = *vh;
	c->off[c->n] = c->used;
	c->len[c->n] = len;
	memcpy(c->arena + c->used, pkt, len);
	c->used += len;
	c->n++;
}

static const uint8_t *col_pkt(size_t i)
{
	return col.arena + col.off[i];
}

static void gro_setup(unsigned int flags, size_t nbufs)
{
	for (size_t i = 0; i < TAPIR_GRO_MAX_ITEMS; i++)
		gro_bufs[i] = gro_store[i];
	tapir_gro_init(&gro, gro_bufs, nbufs, PKT_CAP, flags);
	col.n = 0;
	col.used = 0;
	setup_segs();
}

static size_t flush(void)
{
	return tapir_gro_flush(&gro, collect, &col);
}

/* Adds the segments in @order (indices into segs) and returns how many started items. */
static int add_order(const size_t *order, size_t n)
{
	int started = 0;

	for (size_t i = 0; i < n; i++) {
		int ret = tapir_gro_add(&gro, segs[order[i]], seg_lens[order[i]]);

		assert_true(ret == 0 || ret == 1);
		started += ret;
	}
	return started;
}

static int add_all(size_t n)
{
	size_t order[SEGS_MAX];

	for (size_t i = 0; i < n; i++)
		order[i] = i;
	return add_order(order, n);
}

/* The emitted super-packet @i must be byte-identical to @o, with the header of @want. */
static void check_super(size_t i, const uint8_t *o, size_t len, const struct virtio_net_hdr *want)
{
	assert_int_equal(col.len[i], len);
	assert_memory_equal(col_pkt(i), o, len);
	assert_int_equal(col.vh[i].flags, want->flags);
	assert_int_equal(col.vh[i].gso_type, want->gso_type);
	assert_int_equal(col.vh[i].gso_size, want->gso_size);
	assert_int_equal(col.vh[i].hdr_len, want->hdr_len);
	assert_int_equal(col.vh[i].csum_start, want->csum_start);
	assert_int_equal(col.vh[i].csum_offset, want->csum_offset);
}

/* A single emitted item: the packet untouched, with a zeroed header. */
static void check_single(size_t i, const uint8_t *pkt, size_t len)
{
	struct virtio_net_hdr zero = {0};

	assert_int_equal(col.len[i], len);
	assert_memory_equal(col_pkt(i), pkt, len);
	assert_memory_equal(&col.vh[i], &zero, sizeof(zero));
}

static void test_gro_roundtrip(void **state)
{
	static const int families[] = {4, 6};

	for (size_t k = 0; k < 2; k++) {
		struct spec sp = base_spec(families[k], 6);
		struct virtio_net_hdr vh;
		size_t len;

		gro_setup(0, TAPIR_GRO_MAX_ITEMS);
		sp.payload = 20001;
		sp.flags = ACK | PSH;
		vh = gso_hdr(&sp, 1300);
		len = build(&sp, orig, CSUM_PARTIAL);
		assert_int_equal(split_and_check(&sp, 1300, 1500, 1300), 16);
		assert_int_equal(add_all(16), 1);
		assert_int_equal(flush(), 1);
		check_super(0, orig, len, &vh);
		/* the checksum field holds the pseudo-header sum, as the kernel expects */
		assert_int_equal(rd16(col_pkt(0) + spec_l3(&sp) + 16),
				 naive_fold(naive_pseudo(orig, sp.family, 6, len - spec_l3(&sp))));
	}
}

static void test_gro_interleaved(void **state)
{
	static uint8_t orig_b[PKT_CAP];
	struct spec a = base_spec(4, 6), b = base_spec(4, 6);
	struct virtio_net_hdr vh = gso_hdr(&a, 1000);
	size_t order[12], len_a, len_b;

	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	a.payload = b.payload = 6000;
	b.sport = 40001;
	b.pattern = 99;
	len_b = build(&b, orig_b, CSUM_PARTIAL);
	split_and_check(&b, 1000, 1500, 1000);
	for (size_t i = 0; i < 6; i++) /* move B's segments out of the way */
		memcpy(seg_store[64 + i], segs[i], seg_lens[i]), seg_lens[64 + i] = seg_lens[i];
	len_a = build(&a, orig, CSUM_PARTIAL);
	split_and_check(&a, 1000, 1500, 1000);
	for (size_t i = 0; i < 6; i++) {
		order[2 * i] = 64 + i;
		order[2 * i + 1] = i;
	}
	assert_int_equal(add_order(order, 12), 2);
	assert_int_equal(flush(), 2);
	check_super(0, orig_b, len_b, &vh); /* B was seen first */
	check_super(1, orig, len_a, &vh);
}

static void test_gro_out_of_order(void **state)
{
	struct spec sp = base_spec(6, 6);
	static const size_t order[] = {0, 1, 3, 4, 2};

	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp.payload = 5000;
	split_and_check(&sp, 1000, 1500, 1000);
	assert_int_equal(add_order(order, 5), 3);
	assert_int_equal(flush(), 3);
	assert_int_equal(col.vh[0].gso_type, VIRTIO_NET_HDR_GSO_TCPV6);
	assert_int_equal(col.len[0], 40 + 32 + 2000);
	assert_int_equal(col.len[1], 40 + 32 + 2000);
	assert_int_equal(rd32(col_pkt(1) + 44), sp.seq + 3000);
	check_single(2, segs[2], seg_lens[2]);
}

static void test_gro_psh_closes(void **state)
{
	struct spec sp = base_spec(4, 6);

	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp.payload = 4000;
	sp.flags = ACK | PSH;
	split_and_check(&sp, 1000, 1500, 1000);
	/* make the second segment carry PSH too (checksum fixed up) */
	segs[1][20 + 13] |= PSH;
	wr16(segs[1] + 36, 0);
	wr16(segs[1] + 36,
	     (uint16_t)~naive_fold(naive_sum(segs[1] + 20, seg_lens[1] - 20,
					     naive_pseudo(segs[1], 4, 6, seg_lens[1] - 20))));
	assert_int_equal(add_all(4), 2);
	assert_int_equal(flush(), 2);
	assert_int_equal(col.len[0], 20 + 32 + 2000);
	assert_int_equal(col_pkt(0)[20 + 13], ACK | PSH);
	assert_int_equal(col_pkt(1)[20 + 13], ACK | PSH);

	/* a first segment with PSH starts an item that takes nothing more */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp.payload = 1000;
	build(&sp, segs[0], CSUM_FULL);
	seg_lens[0] = 20 + 32 + 1000;
	sp.flags = ACK;
	sp.seq += 1000;
	sp.ip_id++;
	build(&sp, segs[1], CSUM_FULL);
	seg_lens[1] = seg_lens[0];
	assert_int_equal(add_all(2), 2);
	assert_int_equal(flush(), 2);
	check_single(0, segs[0], seg_lens[0]);
	check_single(1, segs[1], seg_lens[1]);
}

static void test_gro_flags_not_merged(void **state)
{
	static const uint8_t flags[] = {SYN, FIN, RST, URG, CWR, ECE, SYN | ACK};

	for (size_t k = 0; k < sizeof(flags); k++) {
		struct spec sp = base_spec(4, 6);

		gro_setup(0, TAPIR_GRO_MAX_ITEMS);
		sp.payload = 3000;
		sp.flags = ACK | flags[k];
		split_and_check(&sp, 1000, 1500, 1000);
		/* flags on every segment, checksums recomputed */
		for (size_t i = 0; i < 3; i++) {
			segs[i][20 + 13] = ACK | flags[k];
			wr16(segs[i] + 36, 0);
			wr16(segs[i] + 36, (uint16_t)~naive_fold(naive_sum(
					       segs[i] + 20, seg_lens[i] - 20,
					       naive_pseudo(segs[i], 4, 6, seg_lens[i] - 20))));
		}
		assert_int_equal(add_all(3), 3);
		assert_int_equal(flush(), 3);
		for (size_t i = 0; i < 3; i++)
			check_single(i, segs[i], seg_lens[i]);
	}
}

static void test_gro_size_mismatch(void **state)
{
	struct spec sp = base_spec(4, 6);
	size_t len;

	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	/* 1000, 1000, 500 (short: closes), 1000 */
	for (size_t i = 0; i < 4; i++) {
		sp.payload = i == 2 ? 500 : 1000;
		seg_lens[i] = build(&sp, segs[i], CSUM_FULL);
		sp.seq += (uint32_t)sp.payload;
		sp.ip_id++;
	}
	/* then one larger than the item's segments: 1200 */
	sp.payload = 1200;
	seg_lens[4] = build(&sp, segs[4], CSUM_FULL);
	assert_int_equal(add_all(5), 3);
	assert_int_equal(flush(), 3);
	assert_int_equal(col.len[0], 52 + 2500);
	assert_int_equal(col.vh[0].gso_size, 1000);
	check_single(1, segs[3], seg_lens[3]);
	check_single(2, segs[4], seg_lens[4]);

	/* the larger segment would have fit after a smaller first one: never */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp = base_spec(4, 6);
	sp.payload = 500;
	seg_lens[0] = build(&sp, segs[0], CSUM_FULL);
	sp.seq += 500;
	sp.ip_id++;
	sp.payload = 1000;
	seg_lens[1] = len = build(&sp, segs[1], CSUM_FULL);
	assert_int_equal(add_all(2), 2);
	assert_int_equal(flush(), 2);
	check_single(1, segs[1], len);
}

/* Builds two consecutive full-checksum segments of @sp into segs[0..1]. */
static void two_segments(struct spec *sp)
{
	sp->payload = 1000;
	seg_lens[0] = build(sp, segs[0], CSUM_FULL);
	sp->seq += 1000;
	sp->ip_id++;
	seg_lens[1] = build(sp, segs[1], CSUM_FULL);
}

/* Each case changes the second segment so that it must not join the first. */
static void test_gro_field_mismatch(void **state)
{
	for (int k = 0; k < 13; k++) {
		struct spec sp = base_spec(k >= 10 ? 6 : 4, 6);
		int expect = 2;

		gro_setup(0, TAPIR_GRO_MAX_ITEMS);
		two_segments(&sp);
		switch (k) {
		case 0: /* control: they merge */
			expect = 1;
			break;
		case 1:
			sp.ip_id += 5; /* IDs not consecutive */
			break;
		case 2:
			sp.ttl--;
			break;
		case 3:
			sp.tos = 0x03; /* ECN CE */
			break;
		case 4:
			sp.ack++;
			break;
		case 5:
			sp.window++;
			break;
		case 6:
			sp.tcp_opts = 8;
			break;
		case 7:
			sp.sport++; /* another flow entirely */
			break;
		case 8:
			sp.seq++;
			break;
		case 9:
			sp.tsval++; /* same option length, other bytes */
			break;
		case 10: /* IPv6 control */
			expect = 1;
			break;
		case 11:
			sp.ttl--;
			break;
		default:
			sp.tos = 0x10;
			break;
		}
		seg_lens[1] = build(&sp, segs[1], CSUM_FULL);
		assert_int_equal(add_all(2), expect);
		assert_int_equal(flush(), (size_t)expect);
	}
}

static void test_gro_passthrough(void **state)
{
	static const uint8_t icmp[] = {0x45, 0, 0,  28, 0, 1, 0, 0, 64, 1, 0, 0, 10, 0,
				       0,    2, 10, 0,	0, 1, 8, 0, 0,	0, 0, 1, 0,  1};
	struct spec sp = base_spec(4, 6);

	/* segment 0, a bad-checksum segment 1, ICMP, segment 2: the bad one stops the flow */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp.payload = 3000;
	split_and_check(&sp, 1000, 1500, 1000);
	segs[1][100] ^= 1;
	memcpy(segs[3], icmp, sizeof(icmp));
	seg_lens[3] = sizeof(icmp);
	assert_int_equal(add_order((const size_t[]){0, 1, 3, 2}, 4), 4);
	assert_int_equal(flush(), 4);
	check_single(0, segs[0], seg_lens[0]);
	check_single(1, segs[1], seg_lens[1]);
	check_single(2, icmp, sizeof(icmp));
	check_single(3, segs[2], seg_lens[2]);

	/* a bad IPv4 header checksum on a segment that would otherwise join */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp = base_spec(4, 6);
	two_segments(&sp);
	segs[1][10] ^= 1;
	assert_int_equal(add_all(2), 2);
	assert_int_equal(flush(), 2);
	check_single(1, segs[1], seg_lens[1]);

	/* pure ACKs, a bad IPv4 header checksum, IPv4 options, garbage */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp = base_spec(4, 6);
	sp.payload = 0;
	seg_lens[0] = build(&sp, segs[0], CSUM_FULL);
	seg_lens[1] = build(&sp, segs[1], CSUM_FULL);
	sp.payload = 1000;
	seg_lens[2] = build(&sp, segs[2], CSUM_FULL);
	segs[2][10] ^= 0x40;
	sp.ip_opts = 4;
	seg_lens[3] = build(&sp, segs[3], CSUM_FULL);
	sp.seq += 1000;
	sp.ip_id++;
	seg_lens[4] = build(&sp, segs[4], CSUM_FULL);
	memset(segs[5], 0xff, 7);
	seg_lens[5] = 7;
	assert_int_equal(add_all(6), 6);
	assert_int_equal(flush(), 6);
	for (size_t i = 0; i < 6; i++)
		check_single(i, segs[i], seg_lens[i]);
}

static void test_gro_udp(void **state)
{
	struct spec sp = base_spec(4, 17);
	struct virtio_net_hdr vh = gso_hdr(&sp, 1200);
	size_t len;

	gro_setup(0, TAPIR_GRO_MAX_ITEMS); /* UDP not requested: all single */
	sp.payload = 5000;
	assert_int_equal(split_and_check(&sp, 1200, 1500, 1200), 5);
	assert_int_equal(add_all(5), 5);
	assert_int_equal(flush(), 5);
	check_single(4, segs[4], seg_lens[4]);

	for (int family = 4; family <= 6; family += 2) {
		gro_setup(TAPIR_GRO_UDP, TAPIR_GRO_MAX_ITEMS);
		sp.family = family;
		vh = gso_hdr(&sp, 1200);
		len = build(&sp, orig, CSUM_PARTIAL);
		assert_int_equal(split_and_check(&sp, 1200, 1500, 1200), 5);
		assert_int_equal(add_all(5), 1);
		assert_int_equal(flush(), 1);
		check_super(0, orig, len, &vh);
	}

	/* an IPv4 datagram without checksum merges; an IPv6 one is invalid and does not */
	gro_setup(TAPIR_GRO_UDP, TAPIR_GRO_MAX_ITEMS);
	sp.family = 4;
	split_and_check(&sp, 1200, 1500, 1200);
	wr16(segs[1] + 26, 0);
	assert_int_equal(add_all(3), 1);
	gro_setup(TAPIR_GRO_UDP, TAPIR_GRO_MAX_ITEMS);
	sp.family = 6;
	split_and_check(&sp, 1200, 1500, 1200);
	wr16(segs[1] + 46, 0);
	assert_int_equal(add_all(3), 3);
}

static void test_gro_limits(void **state)
{
	struct spec sp = base_spec(4, 6);
	static uint8_t big[PKT_CAP];

	gro_setup(0, 2);
	assert_int_equal(tapir_gro_add(&gro, big, 0), -EINVAL);
	assert_int_equal(tapir_gro_add(&gro, big, PKT_CAP + 1), -EMSGSIZE);
	sp.payload = 3000;
	split_and_check(&sp, 1000, 1500, 1000);
	assert_int_equal(tapir_gro_add(&gro, big, 100), 1);
	assert_int_equal(tapir_gro_add(&gro, segs[0], seg_lens[0]), 1);
	assert_int_equal(tapir_gro_add(&gro, segs[1], seg_lens[1]), 0); /* merging still works */
	assert_int_equal(tapir_gro_add(&gro, big, 100), -ENOSPC);
	assert_int_equal(flush(), 2);
	assert_int_equal(tapir_gro_add(&gro, big, 100), 1);
	assert_int_equal(flush(), 1);

	/* 65535 bytes at most: 1400-byte segments stop at 46 */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	sp.tcp_opts = 0;
	for (size_t i = 0; i < 50; i++) {
		sp.payload = 1400;
		seg_lens[i] = build(&sp, segs[i], CSUM_FULL);
		sp.seq += 1400;
		sp.ip_id++;
	}
	assert_int_equal(add_all(50), 2);
	assert_int_equal(flush(), 2);
	assert_int_equal(col.len[0], 40 + 46 * 1400);
	assert_int_equal(col.len[1], 40 + 4 * 1400);

	/* TAPIR_GRO_MAX_SEGMENTS segments at most */
	gro_setup(0, TAPIR_GRO_MAX_ITEMS);
	for (size_t i = 0; i < 70; i++) {
		sp.payload = 10;
		seg_lens[i] = build(&sp, segs[i], CSUM_FULL);
		sp.seq += 10;
		sp.ip_id++;
	}
	assert_int_equal(add_all(70), 2);
	assert_int_equal(flush(), 2);
	assert_int_equal(col.len[0], 40 + TAPIR_GRO_MAX_SEGMENTS * 10);
}

/* ---- random round trip: split, interleave flows, coalesce, re-split ---- */

struct flow {
	struct spec sp;
	struct virtio_net_hdr vh;
	size_t orig_len;
	size_t nsegs;
	size_t next_in;
	size_t next_out;
	size_t items;
	bool is_interrupted; /* a flush came between two of its segments */
	uint8_t *segs[SEGS_MAX];
	size_t lens[SEGS_MAX];
};

struct rt {
	uint64_t seed;
	int round;
	uint64_t rng;
	unsigned int gro_flags;
	size_t nflows;
	struct flow flows[FLOWS_MAX];
};

static struct rt the_rt;
static uint8_t flow_orig[FLOWS_MAX][PKT_CAP];
static uint8_t flow_segs[FLOWS_MAX][SEGS_MAX][SEG_CAP];

#define RT_FAIL(r, fmt, ...)                                                                       \
	fail_msg("seed %llu (TAPIR_TEST_SEED) round %d: " fmt, (unsigned long long)(r)->seed,      \
		 (r)->round, ##__VA_ARGS__)

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t rnd(struct rt *r, size_t n)
{
	return (size_t)(splitmix64(&r->rng) % n);
}

static uint64_t test_seed(void)
{
	const char *env = getenv("TAPIR_TEST_SEED");

	if (env && *env)
		return strtoull(env, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
}

static uint8_t random_flags(struct rt *r)
{
	uint8_t f = ACK;

	f |= rnd(r, 2) ? PSH : 0;
	f |= rnd(r, 5) ? 0 : FIN;
	f |= rnd(r, 5) ? 0 : CWR;
	f |= rnd(r, 20) ? 0 : ECE;
	return f;
}

static void random_spec(struct rt *r, struct spec *sp, size_t f)
{
	*sp = base_spec(rnd(r, 2) ? 4 : 6, rnd(r, 10) < 7 ? 6 : 17);
	if (!rnd(r, 10))
		sp->ip_opts = sp->family == 4 ? 4 * (1 + rnd(r, 10)) : 8 * (1 + rnd(r, 4));
	sp->tcp_opts = rnd(r, 2) ? 12 : 4 * rnd(r, 11);
	sp->flags = random_flags(r);
	sp->seq = (uint32_t)splitmix64(&r->rng);
	sp->ip_id = (uint16_t)rnd(r, 65536);
	sp->sport = (uint16_t)(1000 + f);
	sp->pattern = (uint8_t)rnd(r, 256);
}

/* A random super-packet for flow @f, split and checked; returns the effective MSS. */
static void random_flow(struct rt *r, size_t f)
{
	static const size_t mtus[] = {576, 1280, 1420, 1500, 9000};
	struct flow *fl = &r->flows[f];
	struct spec *sp = &fl->sp;
	size_t mtu = rnd(r, 6) ? mtus[rnd(r, 5)] : 300 + rnd(r, 8700), hdrs, mss, gso;
	int n;

	random_spec(r, sp, f);
	hdrs = spec_l3(sp) + spec_l4(sp);
	gso = sp->proto == 6 ? 1 + rnd(r, mtu - hdrs + 200) : 1 + rnd(r, mtu - hdrs);
	if (rnd(r, 3))
		gso = sp->proto == 6 ? mtu - hdrs : min_sz(gso * 4, mtu - hdrs);
	mss = sp->proto == 6 ? min_sz(gso, mtu - hdrs) : gso;
	sp->payload = min_sz(1 + rnd(r, 65535 - hdrs), mss * SEGS_MAX);
	if (!rnd(r, 4))
		sp->payload = min_sz(sp->payload, mss * (1 + rnd(r, 3)));
	fl->vh = gso_hdr(sp, (uint16_t)gso);
	fl->orig_len = build(sp, flow_orig[f], CSUM_PARTIAL);
	for (size_t i = 0; i < SEGS_MAX; i++)
		fl->segs[i] = flow_segs[f][i];
	n = tapir_offload_split(&fl->vh, flow_orig[f], fl->orig_len, mtu, fl->segs, fl->lens,
				SEGS_MAX, SEG_CAP);
	if (n <= 0)
		RT_FAIL(r, "flow %zu: split returned %d (payload %zu, gso %zu, mtu %zu)", f, n,
			sp->payload, gso, mtu);
	check_split(sp, flow_orig[f], mss, fl->segs, fl->lens, n);
	fl->nsegs = (size_t)n;
	fl->next_in = fl->next_out = fl->items = 0;
	fl->is_interrupted = false;
	if (mss != gso)
		fl->vh.gso_size = 0; /* the single item cannot equal the original */
}

static uint8_t resplit_store[SEGS_MAX][SEG_CAP];
static uint8_t *resplit[SEGS_MAX];
static size_t resplit_lens[SEGS_MAX];

/* Re-splits emitted item @i; its segments must be the next ones of some flow. */
static void verify_item(struct rt *r, size_t i)
{
	int n = tapir_offload_split(&col.vh[i], col_pkt(i), col.len[i], 65535, resplit,
				    resplit_lens, SEGS_MAX, SEG_CAP);
	struct flow *fl = NULL;

	if (n <= 0)
		RT_FAIL(r, "item %zu: re-split returned %d", i, n);
	for (size_t f = 0; f < r->nflows && !fl; f++) {
		struct flow *c = &r->flows[f];

		if (c->next_out < c->nsegs && c->lens[c->next_out] == resplit_lens[0] &&
		    memcmp(c->segs[c->next_out], resplit[0], resplit_lens[0]) == 0)
			fl = c;
	}
	if (!fl) {
		RT_FAIL(r, "item %zu (%zu bytes): not the next segment of any flow", i, col.len[i]);
		return;
	}
	for (size_t k = 0; k < (size_t)n; k++, fl->next_out++) {
		if (fl->next_out >= fl->nsegs || fl->lens[fl->next_out] != resplit_lens[k] ||
		    memcmp(fl->segs[fl->next_out], resplit[k], resplit_lens[k]) != 0)
			RT_FAIL(r, "item %zu segment %zu differs from flow segment %zu", i, k,
				fl->next_out);
	}
	fl->items++;
	if (fl->items == 1 && (size_t)n == fl->nsegs && n > 1 && fl->vh.gso_size &&
	    (col.len[i] != fl->orig_len ||
	     memcmp(col_pkt(i), flow_orig[fl - r->flows], col.len[i]) != 0))
		RT_FAIL(r, "item %zu: whole flow coalesced but differs from its super-packet", i);
}

/* Whether everything about flow @fl allows a single item. */
static bool expect_one_item(const struct rt *r, const struct flow *fl)
{
	const struct spec *sp = &fl->sp;

	if (fl->is_interrupted || sp->ip_opts || fl->nsegs > TAPIR_GRO_MAX_SEGMENTS)
		return false;
	if (sp->proto == 17)
		return r->gro_flags & TAPIR_GRO_UDP;
	return fl->nsegs == 1 || !(sp->flags & (FIN | CWR | ECE));
}

static void rt_add(struct rt *r, struct flow *fl)
{
	int ret = tapir_gro_add(&gro, fl->segs[fl->next_in], fl->lens[fl->next_in]);

	if (ret == -ENOSPC) {
		flush();
		for (size_t f = 0; f < r->nflows; f++)
			r->flows[f].is_interrupted |=
			    r->flows[f].next_in > 0 && r->flows[f].next_in < r->flows[f].nsegs;
		ret = tapir_gro_add(&gro, fl->segs[fl->next_in], fl->lens[fl->next_in]);
		if (ret != 1)
			RT_FAIL(r, "add after flush returned %d", ret);
	} else if (ret < 0) {
		RT_FAIL(r, "add returned %d", ret);
	}
	fl->next_in++;
}

static void rt_round(struct rt *r)
{
	size_t left = 0;

	r->nflows = 1 + rnd(r, FLOWS_MAX);
	r->gro_flags = rnd(r, 2) ? TAPIR_GRO_UDP : 0;
	for (size_t f = 0; f < r->nflows; f++) {
		random_flow(r, f);
		left += r->flows[f].nsegs;
	}
	gro_setup(r->gro_flags, rnd(r, 4) ? TAPIR_GRO_MAX_ITEMS : 1 + rnd(r, 8));
	for (; left; left--) {
		size_t f = rnd(r, r->nflows);

		while (r->flows[f].next_in == r->flows[f].nsegs)
			f = (f + 1) % r->nflows;
		rt_add(r, &r->flows[f]);
	}
	flush();
	for (size_t i = 0; i < col.n; i++)
		verify_item(r, i);
	for (size_t f = 0; f < r->nflows; f++) {
		struct flow *fl = &r->flows[f];

		if (fl->next_out != fl->nsegs)
			RT_FAIL(r, "flow %zu: %zu of %zu segments emitted", f, fl->next_out,
				fl->nsegs);
		if (expect_one_item(r, fl) && fl->items != 1)
			RT_FAIL(r, "flow %zu: %zu items for %zu clean segments", f, fl->items,
				fl->nsegs);
	}
}

static void test_roundtrip_random(void **state)
{
	struct rt *r = &the_rt;

	for (size_t i = 0; i < SEGS_MAX; i++)
		resplit[i] = resplit_store[i];
	r->seed = test_seed();
	print_message("# seed %llu (TAPIR_TEST_SEED)\n", (unsigned long long)r->seed);
	for (r->round = 0; r->round < ROUNDS; r->round++) {
		r->rng = r->seed + (uint64_t)r->round * 0x100000001b3ull;
		rt_round(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csum_helpers),      cmocka_unit_test(test_split_tcp4),
	    cmocka_unit_test(test_split_tcp6),	      cmocka_unit_test(test_split_edges),
	    cmocka_unit_test(test_split_ip_options),  cmocka_unit_test(test_split_udp),
	    cmocka_unit_test(test_needs_csum),	      cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncations),	      cmocka_unit_test(test_gro_roundtrip),
	    cmocka_unit_test(test_gro_interleaved),   cmocka_unit_test(test_gro_out_of_order),
	    cmocka_unit_test(test_gro_psh_closes),    cmocka_unit_test(test_gro_flags_not_merged),
	    cmocka_unit_test(test_gro_size_mismatch), cmocka_unit_test(test_gro_field_mismatch),
	    cmocka_unit_test(test_gro_passthrough),   cmocka_unit_test(test_gro_udp),
	    cmocka_unit_test(test_gro_limits),	      cmocka_unit_test(test_roundtrip_random),
	    cmocka_unit_test(test_complete_inplace),
	};

	setup_segs();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
