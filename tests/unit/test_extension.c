// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/noise/extension.c: the exact bytes of a CAPS frame, round trips of every
 * type (including an Ethernet frame whose header goes into a packet buffer's headroom),
 * padding after the body, a numbered table of malformed and unsupported inputs, and the CAPS
 * body rules (extra bytes and unknown bits ignored, fewer than 4 bytes refused).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "extension.h"

enum {
	HEADROOM_BYTES = 64,
	PAD_TO_BYTES = 16,
	BIG_BUF_BYTES = 65536 + 16,
};

/* Fills @n bytes with a pattern that depends on the offset and @salt. */
static void fill(uint8_t *p, size_t n, unsigned int salt)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + salt);
}

static void test_caps_wire_bytes(void **state)
{
	static const uint8_t want[] = {0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x03};
	uint8_t buf[TAPIR_EXT_CAPS_FRAME_LEN_BYTES];

	assert_int_equal(
	    tapir_ext_build_caps(buf, sizeof(buf), TAPIR_EXT_CAP_L2 | TAPIR_EXT_CAP_LZ4),
	    sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(tapir_ext_build_caps(buf, sizeof(buf) - 1, 0), -ENOSPC);
	assert_int_equal(tapir_ext_build_caps(buf, 0, 0), -ENOSPC);
}

static void test_caps_round_trip(void **state)
{
	static const uint32_t masks[] = {0, TAPIR_EXT_CAP_L2, TAPIR_EXT_CAP_LZ4,
					 TAPIR_EXT_CAP_KNOWN};
	uint8_t buf[32];
	struct tapir_ext_frame f;
	uint32_t caps;

	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		memset(buf, 0, sizeof(buf));
		assert_int_equal(tapir_ext_build_caps(buf, sizeof(buf), masks[i]), 7);
		/* parsed as exact length and as a payload padded to 16 and 32 bytes */
		for (size_t len = 7; len <= sizeof(buf); len += len == 7 ? 9 : 16) {
			assert_int_equal(tapir_ext_parse(buf, len, &f), 0);
			assert_int_equal(f.type, TAPIR_EXT_CAPS);
			assert_ptr_equal(f.body, buf + 3);
			assert_int_equal(f.body_len, 4);
			caps = 0xdeadbeef;
			assert_int_equal(tapir_ext_parse_caps(&f, &caps), 0);
			assert_int_equal(caps, masks[i]);
		}
	}
}

/* Writes the header of @type into the headroom in front of @body_len bytes, parses it back. */
static void round_trip_in_headroom(enum tapir_ext_type type, size_t body_len)
{
	uint8_t *pkt = calloc(1, HEADROOM_BYTES + body_len + PAD_TO_BYTES);
	uint8_t *body = pkt + HEADROOM_BYTES, *frame = body - TAPIR_EXT_HEADER_LEN_BYTES;
	size_t frame_len = TAPIR_EXT_HEADER_LEN_BYTES + body_len;
	size_t padded = (frame_len + PAD_TO_BYTES - 1) / PAD_TO_BYTES * PAD_TO_BYTES;
	struct tapir_ext_frame f;

	assert_non_null(pkt);
	fill(body, body_len, (unsigned int)type);
	assert_int_equal(tapir_ext_put_header(frame, type, body_len), TAPIR_EXT_HEADER_LEN_BYTES);
	assert_int_equal(frame[0], type);
	assert_int_equal(frame[1], body_len >> 8);
	assert_int_equal(frame[2], body_len & 0xff);
	/* exact length, then with WireGuard's zero padding after the body */
	assert_int_equal(tapir_ext_parse(frame, frame_len, &f), 0);
	assert_int_equal(f.type, type);
	assert_ptr_equal(f.body, body);
	assert_int_equal(f.body_len, body_len);
	assert_int_equal(tapir_ext_parse(frame, padded, &f), 0);
	assert_ptr_equal(f.body, body);
	assert_int_equal(f.body_len, body_len);
	free(pkt);
}

static void test_ethernet_round_trip(void **state)
{
	static const size_t lens[] = {14, 15, 60, 64, 1514, 1518, 9018, 65531, 65532};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		round_trip_in_headroom(TAPIR_EXT_ETHERNET, lens[i]);
}

static void test_compressed_round_trip(void **state)
{
	static const size_t lens[] = {1, 2, 20, 1400, 65532};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		round_trip_in_headroom(TAPIR_EXT_COMPRESSED, lens[i]);
}

static void test_put_header_refuses(void **state)
{
	uint8_t hdr[3] = {0xaa, 0xbb, 0xcc};

	assert_int_equal(tapir_ext_put_header(hdr, (enum tapir_ext_type)0, 14), 0);
	assert_int_equal(tapir_ext_put_header(hdr, (enum tapir_ext_type)0x40, 14), 0);
	assert_int_equal(tapir_ext_put_header(hdr, (enum tapir_ext_type)0x100, 14), 0);
	assert_int_equal(tapir_ext_put_header(hdr, TAPIR_EXT_ETHERNET, 65533), 0);
	assert_int_equal(tapir_ext_put_header(hdr, TAPIR_EXT_ETHERNET, (size_t)1 << 32), 0);
	assert_int_equal(hdr[0], 0xaa);
	assert_int_equal(hdr[1], 0xbb);
	assert_int_equal(hdr[2], 0xcc);
	/* the largest type byte and the largest body are still allowed */
	assert_int_equal(tapir_ext_put_header(hdr, (enum tapir_ext_type)0x3f, 65532), 3);
	assert_memory_equal(hdr, "\x3f\xff\xfc", 3);
}

/* Numbered inputs with the result tapir_ext_parse must give. */
struct vec {
	size_t len;
	const char *bytes;
	int expect;
};

static const struct vec vectors[] = {
    /* 1 */ {0, "", -EINVAL},
    /* 2 */ {1, "\x02", -EINVAL},
    /* 3 */ {2, "\x02\x00", -EINVAL},
    /* 4 */ {3, "\x00\x00\x00", -EINVAL}, /* type 0 */
    /* 5 */ {3, "\x40\x00\x00", -EINVAL}, /* IPv4 range */
    /* 6 */ {3, "\x45\x00\x00", -EINVAL}, /* an IPv4 header */
    /* 7 */ {3, "\x60\x00\x00", -EINVAL}, /* an IPv6 header */
    /* 8 */ {3, "\xff\x00\x00", -EINVAL},
    /* 9 */ {3, "\x04\x00\x00", -EPROTONOSUPPORT}, /* unknown, empty body */
    /* 10 */ {5, "\x3f\x00\x02\xab\xcd", -EPROTONOSUPPORT},
    /* 11 */ {5, "\x3f\x00\x03\xab\xcd", -EINVAL}, /* unknown type, body past the end */
    /* 12 */ {3, "\x02\x00\x01", -EINVAL},	   /* body longer than the buffer */
    /* 13 */ {16, "\x02\x00\x0e\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", -EINVAL},
    /* 14 */ {16, "\x02\x00\x0d\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", -EINVAL},
    /* 15 */ {17, "\x02\x00\x0e\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d", 0},
    /* 16 */ {3, "\x02\xff\xff", -EINVAL},
    /* 17 */ {3, "\x01\x00\x00", -EINVAL},		   /* CAPS, empty body */
    /* 18 */ {6, "\x01\x00\x03\x00\x00\x01", -EINVAL},	   /* CAPS, 3-byte body */
    /* 19 */ {7, "\x01\x00\x03\x00\x00\x01\x00", -EINVAL}, /* 3-byte body, padding */
    /* 20 */ {7, "\x01\x00\x05\x00\x00\x00\x01", -EINVAL}, /* body past the end */
    /* 21 */ {7, "\x01\x00\x04\x00\x00\x00\x01", 0},
    /* 22 */ {3, "\x03\x00\x00", -EINVAL}, /* COMPRESSED, empty body */
    /* 23 */ {4, "\x03\x00\x01\x42", 0},
    /* 24 */ {16, "\x03\x00\x01\x42\0\0\0\0\0\0\0\0\0\0\0", 0}, /* padded */
};

static void test_vectors(void **state)
{
	struct tapir_ext_frame f;
	uint8_t *copy;
	int r;

	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		/* an exact-size heap copy, so ASan catches any read past the end */
		copy = malloc(vectors[i].len ? vectors[i].len : 1);
		assert_non_null(copy);
		memcpy(copy, vectors[i].bytes, vectors[i].len);
		r = tapir_ext_parse(copy, vectors[i].len, &f);
		if (r != vectors[i].expect)
			fail_msg("vector %zu: got %d, expected %d", i + 1, r, vectors[i].expect);
		if (r == 0 || r == -EPROTONOSUPPORT) {
			assert_int_equal(f.type, copy[0]);
			assert_ptr_equal(f.body, copy + 3);
			assert_int_equal(f.body_len, (size_t)copy[1] << 8 | copy[2]);
		}
		free(copy);
	}
}

/* A body length of 65533..65535 is refused even when that many bytes follow. */
static void test_body_over_max(void **state)
{
	uint8_t *buf = calloc(1, BIG_BUF_BYTES);
	struct tapir_ext_frame f;

	assert_non_null(buf);
	for (unsigned int type = 1; type <= 4; type++) {
		for (unsigned int len = 65533; len <= 65535; len++) {
			buf[0] = (uint8_t)type;
			buf[1] = (uint8_t)(len >> 8);
			buf[2] = (uint8_t)len;
			assert_int_equal(tapir_ext_parse(buf, BIG_BUF_BYTES, &f),
					 type == 4 ? -EPROTONOSUPPORT : -EINVAL);
		}
	}
	free(buf);
}

static void test_unknown_types(void **state)
{
	uint8_t buf[8] = {0, 0x00, 0x05, 1, 2, 3, 4, 5};
	struct tapir_ext_frame f;

	for (unsigned int type = 0x04; type < 0x40; type++) {
		buf[0] = (uint8_t)type;
		memset(&f, 0, sizeof(f));
		assert_int_equal(tapir_ext_parse(buf, sizeof(buf), &f), -EPROTONOSUPPORT);
		assert_int_equal(f.type, type);
		assert_ptr_equal(f.body, buf + 3);
		assert_int_equal(f.body_len, 5);
	}
}

static void test_caps_extra_bytes(void **state)
{
	/* a later version's CAPS: 8-byte body, unknown bits set; padded to 16 */
	static const uint8_t buf[16] = {0x01, 0x00, 0x08, 0xff, 0xff, 0xff,
					0xfd, 0xde, 0xad, 0xbe, 0xef};
	struct tapir_ext_frame f;
	uint32_t caps = 0;

	assert_int_equal(tapir_ext_parse(buf, sizeof(buf), &f), 0);
	assert_int_equal(f.body_len, 8);
	assert_int_equal(tapir_ext_parse_caps(&f, &caps), 0);
	assert_int_equal(caps, TAPIR_EXT_CAP_L2);
}

static void test_caps_short_or_wrong_type(void **state)
{
	static const uint8_t body[4] = {0, 0, 0, 3};
	struct tapir_ext_frame f = {.type = TAPIR_EXT_CAPS, .body = body};
	uint32_t caps = 0x55;

	/* frames built by hand: parse_caps checks on its own */
	for (f.body_len = 0; f.body_len < 4; f.body_len++)
		assert_int_equal(tapir_ext_parse_caps(&f, &caps), -EINVAL);
	f.type = TAPIR_EXT_ETHERNET;
	f.body_len = 4;
	assert_int_equal(tapir_ext_parse_caps(&f, &caps), -EINVAL);
	assert_int_equal(caps, 0x55);
	f.type = TAPIR_EXT_CAPS;
	assert_int_equal(tapir_ext_parse_caps(&f, &caps), 0);
	assert_int_equal(caps, TAPIR_EXT_CAP_L2 | TAPIR_EXT_CAP_LZ4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_caps_wire_bytes),
	    cmocka_unit_test(test_caps_round_trip),
	    cmocka_unit_test(test_ethernet_round_trip),
	    cmocka_unit_test(test_compressed_round_trip),
	    cmocka_unit_test(test_put_header_refuses),
	    cmocka_unit_test(test_vectors),
	    cmocka_unit_test(test_body_over_max),
	    cmocka_unit_test(test_unknown_types),
	    cmocka_unit_test(test_caps_extra_bytes),
	    cmocka_unit_test(test_caps_short_or_wrong_type),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
