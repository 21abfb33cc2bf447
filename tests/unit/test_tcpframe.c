// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/net/tcpframe.c, the TCP transport's framing reader: a round trip of each
 * message type, a stream fed one byte at a time and in one piece, garbage seen as soon as the
 * length and header are in (before the rest of a would-be frame arrives), lengths out of range
 * for their type, non-zero reserved bytes, and the 2-byte length prefix.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcpframe.h"

enum {
	MSG_INITIATION_BYTES = 148,
	MSG_RESPONSE_BYTES = 92,
	MSG_COOKIE_BYTES = 64,
	MSG_DATA_LARGE_BYTES = 65535,
	STREAM_MAX_BYTES = 4 * (2 + 65535),
};

/* Appends a framed message of @type and @len bytes (pattern after the header) to @out. */
static size_t put_frame(uint8_t *out, uint8_t type, size_t len, unsigned int salt)
{
	tapir_tcpframe_put_len(out, len);
	out[2] = type;
	out[3] = out[4] = out[5] = 0;
	for (size_t i = 4; i < len; i++)
		out[2 + i] = (uint8_t)(i * 7 + salt);
	return 2 + len;
}

/* Feeds @n bytes in chunks of @chunk; collects message lengths into @lens. Returns count or
 * the error from the reader. */
static int feed(struct tapir_tcpframe_reader *r, const uint8_t *stream, size_t n, size_t chunk,
		size_t *lens, size_t max_lens)
{
	size_t off = 0, got = 0, want_off = 0;

	while (off < n) {
		size_t room, take;
		uint8_t *space = tapir_tcpframe_space(r, &room);

		assert_true(room >= 1);
		take = n - off < chunk ? n - off : chunk;
		if (take > room)
			take = room;
		memcpy(space, stream + off, take);
		tapir_tcpframe_commit(r, take);
		off += take;
		for (;;) {
			const uint8_t *msg;
			size_t len;
			int rc = tapir_tcpframe_next(r, &msg, &len);

			if (rc < 0)
				return rc;
			if (rc == 0)
				break;
			assert_true(got < max_lens);
			/* the message is the bytes after its length prefix, unchanged */
			assert_memory_equal(msg, stream + want_off + 2, len);
			want_off += 2 + len;
			lens[got++] = len;
		}
	}
	return (int)got;
}

static void test_put_len(void **state)
{
	uint8_t b[2];

	tapir_tcpframe_put_len(b, 148);
	assert_int_equal(b[0], 0x00);
	assert_int_equal(b[1], 0x94);
	tapir_tcpframe_put_len(b, 65535);
	assert_int_equal(b[0], 0xff);
	assert_int_equal(b[1], 0xff);
	tapir_tcpframe_put_len(b, 0x1234);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[1], 0x34);
}

static void test_round_trip_each_type(void **state)
{
	static const size_t chunks[] = {1, 3, 7, 100, 4096, STREAM_MAX_BYTES};
	uint8_t *stream = malloc(STREAM_MAX_BYTES + 16);
	struct tapir_tcpframe_reader *r = malloc(sizeof(*r));
	size_t n = 0, lens[8];

	assert_non_null(stream);
	assert_non_null(r);
	n += put_frame(stream + n, 1, MSG_INITIATION_BYTES, 1);
	n += put_frame(stream + n, 2, MSG_RESPONSE_BYTES, 2);
	n += put_frame(stream + n, 3, MSG_COOKIE_BYTES, 3);
	n += put_frame(stream + n, 4, 32, 4);			/* keepalive */
	n += put_frame(stream + n, 4, 32 + 1424, 5);		/* full-size data */
	n += put_frame(stream + n, 4, MSG_DATA_LARGE_BYTES, 6); /* largest that 2 bytes say */
	for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		tapir_tcpframe_reset(r);
		assert_int_equal(feed(r, stream, n, chunks[c], lens, 8), 6);
		assert_int_equal(lens[0], MSG_INITIATION_BYTES);
		assert_int_equal(lens[1], MSG_RESPONSE_BYTES);
		assert_int_equal(lens[2], MSG_COOKIE_BYTES);
		assert_int_equal(lens[3], 32);
		assert_int_equal(lens[4], 32 + 1424);
		assert_int_equal(lens[5], MSG_DATA_LARGE_BYTES);
		assert_false(tapir_tcpframe_has_partial(r));
	}
	free(r);
	free(stream);
}

static void test_partial_is_reported(void **state)
{
	struct tapir_tcpframe_reader *r = malloc(sizeof(*r));
	uint8_t frame[2 + MSG_RESPONSE_BYTES];
	size_t room, lens[1];
	const uint8_t *msg;
	size_t len;

	assert_non_null(r);
	tapir_tcpframe_reset(r);
	assert_false(tapir_tcpframe_has_partial(r));
	put_frame(frame, 2, MSG_RESPONSE_BYTES, 9);
	memcpy(tapir_tcpframe_space(r, &room), frame, 1);
	tapir_tcpframe_commit(r, 1);
	assert_int_equal(tapir_tcpframe_next(r, &msg, &len), 0);
	assert_true(tapir_tcpframe_has_partial(r));
	/* the rest completes it */
	tapir_tcpframe_reset(r);
	assert_int_equal(feed(r, frame, sizeof(frame) - 1, 5, lens, 1), 0);
	assert_true(tapir_tcpframe_has_partial(r));
	free(r);
}

/* Garbage is refused once the prefix and the 4-byte header are in: 6 bytes, not 65537. */
static void test_garbage_seen_early(void **state)
{
	static const uint8_t big_unknown[] = {0xff, 0xff, 0x01, 0x00, 0x00, 0x00};
	static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct tapir_tcpframe_reader *r = malloc(sizeof(*r));
	size_t lens[1];

	assert_non_null(r);
	/* type 1 must be 148 bytes long, not 65535 */
	tapir_tcpframe_reset(r);
	assert_int_equal(feed(r, big_unknown, sizeof(big_unknown), 1, lens, 1), -EBADMSG);
	/* "GE" = 0x4745 bytes of type 'T' (0x54): no such message type */
	tapir_tcpframe_reset(r);
	assert_int_equal(feed(r, http, sizeof(http) - 1, 1, lens, 1), -EBADMSG);
	/* the reader stays in the error state */
	{
		const uint8_t *msg;
		size_t len;

		assert_int_equal(tapir_tcpframe_next(r, &msg, &len), -EBADMSG);
	}
	free(r);
}

struct bad_case {
	const char *what;
	size_t len;
	uint8_t head[4];
};

static void test_bad_lengths_and_headers(void **state)
{
	static const struct bad_case cases[] = {
	    {"zero length", 0, {4, 0, 0, 0}},
	    {"shorter than a keepalive", 31, {4, 0, 0, 0}},
	    {"initiation one byte short", 147, {1, 0, 0, 0}},
	    {"initiation one byte long", 149, {1, 0, 0, 0}},
	    {"response wrong length", 148, {2, 0, 0, 0}},
	    {"cookie wrong length", 92, {3, 0, 0, 0}},
	    {"type 0", 148, {0, 0, 0, 0}},
	    {"type 5", 64, {5, 0, 0, 0}},
	    {"reserved byte 1 set", 148, {1, 1, 0, 0}},
	    {"reserved byte 2 set", 92, {2, 0, 1, 0}},
	    {"reserved byte 3 set", 32, {4, 0, 0, 0x80}},
	};
	static const struct bad_case good[] = {
	    {"initiation", 148, {1, 0, 0, 0}},	   {"response", 92, {2, 0, 0, 0}},
	    {"cookie", 64, {3, 0, 0, 0}},	   {"keepalive", 32, {4, 0, 0, 0}},
	    {"largest data", 65535, {4, 0, 0, 0}},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tapir_tcpframe_check(cases[i].len, cases[i].head, 4) != -EBADMSG)
			fail_msg("not refused: %s", cases[i].what);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tapir_tcpframe_check(good[i].len, good[i].head, 4), 0);
		/* with fewer header bytes in, it may still be good */
		assert_int_equal(tapir_tcpframe_check(good[i].len, good[i].head, 1), 0);
		assert_int_equal(tapir_tcpframe_check(good[i].len, good[i].head, 0), 0);
	}
	/* the type alone already rules out a wrong length */
	assert_int_equal(tapir_tcpframe_check(149, cases[3].head, 1), -EBADMSG);
}

/* A frame with a bad header after good ones: the good ones are handed out first. */
static void test_good_then_bad(void **state)
{
	uint8_t stream[2 * (2 + MSG_INITIATION_BYTES) + 8];
	struct tapir_tcpframe_reader *r = malloc(sizeof(*r));
	size_t n = 0;
	const uint8_t *msg;
	size_t len;
	size_t room;
	uint8_t *space;

	assert_non_null(r);
	n += put_frame(stream + n, 1, MSG_INITIATION_BYTES, 1);
	n += put_frame(stream + n, 4, 48, 2);
	stream[n++] = 0x00;
	stream[n++] = 0x94;
	stream[n++] = 0x01;
	stream[n++] = 0x00;
	stream[n++] = 0x07; /* reserved byte set */
	stream[n++] = 0x00;
	tapir_tcpframe_reset(r);
	space = tapir_tcpframe_space(r, &room);
	assert_true(room >= n);
	memcpy(space, stream, n);
	tapir_tcpframe_commit(r, n);
	assert_int_equal(tapir_tcpframe_next(r, &msg, &len), 1);
	assert_int_equal(len, MSG_INITIATION_BYTES);
	assert_int_equal(tapir_tcpframe_next(r, &msg, &len), 1);
	assert_int_equal(len, 48);
	assert_int_equal(tapir_tcpframe_next(r, &msg, &len), -EBADMSG);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_len),
	    cmocka_unit_test(test_round_trip_each_type),
	    cmocka_unit_test(test_partial_is_reported),
	    cmocka_unit_test(test_garbage_seen_early),
	    cmocka_unit_test(test_bad_lengths_and_headers),
	    cmocka_unit_test(test_good_then_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
