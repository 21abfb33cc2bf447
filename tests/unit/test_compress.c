// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/noise/compress.c, the LZ4 behind COMPRESSED extension frames: an IP
 * packet and an ETHERNET frame round-trip and shrink; random bytes, short payloads and CAPS
 * frames are left alone; decompression stops at the bound it is given (an MTU), refuses
 * garbage, empty and truncated blocks, and never yields another COMPRESSED frame.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compress.h"

enum {
	PKT_BYTES = 1420,
	MTU_BYTES = 1420,
};

/* An IPv4 header and a text payload: compressible. */
static void make_text_packet(uint8_t *p, size_t n)
{
	static const char line[] = "GET /index.html HTTP/1.1\r\nHost: example.org\r\n";

	memset(p, 0, 20);
	p[0] = 0x45;
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	for (size_t i = 20; i < n; i++)
		p[i] = (uint8_t)line[(i - 20) % (sizeof(line) - 1)];
}

static void fill_random(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

static int setup(void **state)
{
	*state = tapir_lz4_ctx_new();
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	tapir_lz4_ctx_free(*state);
	return 0;
}

static void test_ip_round_trip(void **state)
{
	struct tapir_lz4_ctx *z = *state;
	static uint8_t pkt[PKT_BYTES], orig[PKT_BYTES];
	struct tapir_ext_frame f;
	size_t n;
	int r;

	make_text_packet(pkt, sizeof(pkt));
	memcpy(orig, pkt, sizeof(pkt));
	n = tapir_lz4_compress_inplace(z, pkt, sizeof(pkt));
	assert_true(n > 0);
	assert_true(n < sizeof(pkt) / 4); /* repetitive text shrinks a lot */
	assert_int_equal(pkt[0], TAPIR_EXT_COMPRESSED);
	assert_int_equal(tapir_ext_parse(pkt, n, &f), 0);
	assert_int_equal(f.type, TAPIR_EXT_COMPRESSED);
	assert_int_equal(f.body_len, n - TAPIR_EXT_HEADER_LEN_BYTES);
	r = tapir_lz4_decompress(f.body, f.body_len, tapir_lz4_ctx_inbuf(z), MTU_BYTES);
	assert_int_equal(r, sizeof(orig));
	assert_memory_equal(tapir_lz4_ctx_inbuf(z), orig, sizeof(orig));
}

static void test_ethernet_round_trip(void **state)
{
	struct tapir_lz4_ctx *z = *state;
	uint8_t frame[3 + 14 + 200], orig[sizeof(frame)];
	struct tapir_ext_frame f;
	size_t n;

	memset(frame, 0, sizeof(frame));
	tapir_ext_put_header(frame, TAPIR_EXT_ETHERNET, sizeof(frame) - 3);
	memset(frame + 3, 0xff, 6);
	frame[3 + 12] = 0x08;
	frame[3 + 13] = 0x06;
	memcpy(orig, frame, sizeof(frame));
	n = tapir_lz4_compress_inplace(z, frame, sizeof(frame));
	assert_true(n > 0 && n < sizeof(frame));
	assert_int_equal(tapir_ext_parse(frame, n, &f), 0);
	assert_int_equal(
	    tapir_lz4_decompress(f.body, f.body_len, tapir_lz4_ctx_inbuf(z), MTU_BYTES + 21),
	    sizeof(orig));
	assert_memory_equal(tapir_lz4_ctx_inbuf(z), orig, sizeof(orig));
}

static void test_left_alone(void **state)
{
	struct tapir_lz4_ctx *z = *state;
	static uint8_t pkt[PKT_BYTES], orig[PKT_BYTES];
	uint8_t caps[64];

	/* random bytes do not get smaller: nothing changes */
	fill_random(pkt, sizeof(pkt), 7);
	pkt[0] = 0x45;
	memcpy(orig, pkt, sizeof(pkt));
	assert_int_equal(tapir_lz4_compress_inplace(z, pkt, sizeof(pkt)), 0);
	assert_memory_equal(pkt, orig, sizeof(pkt));
	/* too short to gain */
	make_text_packet(pkt, 31);
	assert_int_equal(tapir_lz4_compress_inplace(z, pkt, 31), 0);
	/* a CAPS frame (padded with zeros) stays a CAPS frame */
	memset(caps, 0, sizeof(caps));
	assert_int_equal(tapir_ext_build_caps(caps, sizeof(caps), TAPIR_EXT_CAP_LZ4), 7);
	assert_int_equal(tapir_lz4_compress_inplace(z, caps, sizeof(caps)), 0);
	assert_int_equal(caps[0], TAPIR_EXT_CAPS);
	/* an already compressed frame is not compressed again */
	make_text_packet(pkt, sizeof(pkt));
	{
		size_t n = tapir_lz4_compress_inplace(z, pkt, sizeof(pkt));

		assert_true(n > 0);
		memset(pkt + n, 0, 64);
		assert_int_equal(tapir_lz4_compress_inplace(z, pkt, n + 64), 0);
	}
}

/* A block that decompresses to more than the bound is refused, not truncated. */
static void test_bound(void **state)
{
	struct tapir_lz4_ctx *z = *state;
	uint8_t pkt[PKT_BYTES];
	struct tapir_ext_frame f;
	size_t n;

	make_text_packet(pkt, sizeof(pkt));
	n = tapir_lz4_compress_inplace(z, pkt, sizeof(pkt));
	assert_int_equal(tapir_ext_parse(pkt, n, &f), 0);
	assert_int_equal(
	    tapir_lz4_decompress(f.body, f.body_len, tapir_lz4_ctx_inbuf(z), sizeof(pkt) - 1),
	    -EINVAL);
	assert_int_equal(tapir_lz4_decompress(f.body, f.body_len, tapir_lz4_ctx_inbuf(z), 1280),
			 -EINVAL);
	assert_int_equal(
	    tapir_lz4_decompress(f.body, f.body_len, tapir_lz4_ctx_inbuf(z), sizeof(pkt)),
	    sizeof(pkt));
	/* truncated block */
	assert_int_equal(
	    tapir_lz4_decompress(f.body, f.body_len - 1, tapir_lz4_ctx_inbuf(z), sizeof(pkt)),
	    -EINVAL);
}

static void test_bad_blocks(void **state)
{
	struct tapir_lz4_ctx *z = *state;
	/* a literal-only block "\x03abc": decompresses to a COMPRESSED header, refused */
	static const uint8_t nested[] = {0x40, 0x03, 'a', 'b', 'c'};
	/* a literal-only block "E\0\0\x1c\0" is fine */
	static const uint8_t literal[] = {0x50, 'E', 0x00, 0x00, 0x1c, 0x00};
	/* a match with an offset before the start of the output */
	static const uint8_t bad_offset[] = {0x14, 'E', 0x40, 0x00, 0x00};
	uint8_t garbage[256];

	assert_int_equal(tapir_lz4_decompress(nested, sizeof(nested), tapir_lz4_ctx_inbuf(z), 64),
			 -EINVAL);
	assert_int_equal(tapir_lz4_decompress(literal, sizeof(literal), tapir_lz4_ctx_inbuf(z), 64),
			 5);
	assert_int_equal(
	    tapir_lz4_decompress(bad_offset, sizeof(bad_offset), tapir_lz4_ctx_inbuf(z), 64),
	    -EINVAL);
	assert_int_equal(tapir_lz4_decompress(literal, 0, tapir_lz4_ctx_inbuf(z), 64), -EINVAL);
	assert_int_equal(tapir_lz4_decompress(literal, sizeof(literal), tapir_lz4_ctx_inbuf(z), 0),
			 -EINVAL);
	/* many random blocks: whatever they do, never past the bound */
	for (uint32_t seed = 1; seed <= 2000; seed++) {
		int r;

		fill_random(garbage, sizeof(garbage), seed);
		r = tapir_lz4_decompress(garbage, sizeof(garbage), tapir_lz4_ctx_inbuf(z), 100);
		assert_true(r == -EINVAL || (r > 0 && r <= 100));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ip_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ethernet_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_left_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_blocks, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
