// SPDX-License-Identifier: MIT
/*
 * The data plane's in-place AEAD (tapir_aead_ctx_seal_inplace / _open_inplace, src/crypto/aead.c)
 * against RFC 8439's vectors and against the out-of-place results: the context's scratch-buffer
 * path, the handshake's one-shot (OpenSSL EVP, separate output) and libsodium.
 *
 * Every packet here sits in its own allocation of exactly [headroom | text + tag | tailroom]
 * (the rooms the header promises, no more), so ASan reports any access outside them; the rooms
 * are filled with a pattern that must read back unchanged, except for the tag and the zeroed
 * rest of the last ChaCha20 block after it on seal. Lengths cover 0, odd ones, each side of a
 * 16- and 64-byte boundary, each side of the length from which open runs in place (4096), and
 * the largest text (65536). A tampered tag or ciphertext must not open and must leave no
 * plaintext behind; messages back to back (as UDP GRO hands them over) must not disturb each
 * other. The receive path's variant that leaves the plaintext in the scratch buffer
 * (tapir_aead_ctx_open_view) must leave the ciphertext untouched there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"

enum {
	HEAD = TAPIR_AEAD_CTX_HEADROOM,
	TAIL = TAPIR_AEAD_CTX_TAILROOM,
	TAG = TAPIR_AEAD_TAG_LEN,
	MAX = TAPIR_AEAD_CTX_MAX_BYTES,
	PATTERN = 0xa5,
};

/* A packet of @len text bytes in an allocation of exactly its rooms. */
struct room_pkt {
	uint8_t *mem;
	uint8_t *text; /* mem + HEAD */
	size_t len;
};

static void room_new(struct room_pkt *p, size_t len)
{
	p->mem = malloc(HEAD + len + TAG + TAIL);
	assert_non_null(p->mem);
	memset(p->mem, PATTERN, HEAD + len + TAG + TAIL);
	p->text = p->mem + HEAD;
	p->len = len;
}

static bool is_pattern(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != PATTERN)
			return false;
	return true;
}

/* After a seal: headroom as before, then tag, zeros to the end of the last block, pattern. */
static void assert_rooms_after_seal(const struct room_pkt *p)
{
	size_t end = (p->len + 63) / 64 * 64, zeros = end > p->len + TAG ? end - p->len - TAG : 0;
	const uint8_t *after = p->text + p->len + TAG;

	assert_true(is_pattern(p->mem, HEAD));
	assert_true(sodium_is_zero(after, zeros));
	assert_true(is_pattern(after + zeros, TAIL - zeros));
}

static void make_nonce(uint8_t nonce[12], uint64_t counter)
{
	memset(nonce, 0, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static struct tapir_aead_ctx *seal_ctx, *open_ctx;
static uint8_t key[32];

static int setup(void **state)
{
	if (tapir_crypto_init() != 0)
		return -1;
	tapir_random_bytes(key, sizeof(key));
	seal_ctx = tapir_aead_ctx_new(key, true);
	open_ctx = tapir_aead_ctx_new(key, false);
	return seal_ctx && open_ctx ? 0 : -1;
}

static int teardown(void **state)
{
	tapir_aead_ctx_free(seal_ctx);
	tapir_aead_ctx_free(open_ctx);
	return 0;
}

static size_t unhex(uint8_t *out, const char *hex)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/*
 * Seals @plain in place with @k under @counter, checks the text against @want_hex (when
 * given) and the tag against libsodium's (the RFC vectors below carry an AD or no tag of
 * their own, and the ciphertext does not depend on the AD), then opens it in place.
 */
static void check_vector(const uint8_t k[32], uint64_t counter, const char *plain,
			 const char *want_hex)
{
	size_t len = strlen(plain);
	uint8_t nonce[12], *want = malloc(len + TAG), want_tag[TAG];
	struct tapir_aead_ctx *s = tapir_aead_ctx_new(k, true), *o = tapir_aead_ctx_new(k, false);
	struct room_pkt p;

	assert_true(want && s && o);
	make_nonce(nonce, counter);
	assert_int_equal(
	    crypto_aead_chacha20poly1305_ietf_encrypt_detached(
		want, want_tag, NULL, (const uint8_t *)plain, len, NULL, 0, NULL, nonce, k),
	    0);
	if (want_hex) {
		uint8_t *rfc = malloc(len);

		assert_non_null(rfc);
		assert_int_equal(unhex(rfc, want_hex), len);
		assert_memory_equal(want, rfc, len);
		free(rfc);
	}
	room_new(&p, len);
	memcpy(p.text, plain, len);
	assert_int_equal(tapir_aead_ctx_seal_inplace(s, counter, p.text, len), 0);
	assert_memory_equal(p.text, want, len);
	assert_memory_equal(p.text + len, want_tag, TAG);
	assert_rooms_after_seal(&p);
	memset(p.text + len + TAG, PATTERN, TAIL);
	assert_true(tapir_aead_ctx_open_inplace(o, counter, p.text, len + TAG));
	assert_memory_equal(p.text, plain, len);
	assert_memory_equal(p.text + len, want_tag, TAG); /* the tag is left where it was */
	assert_true(is_pattern(p.mem, HEAD));
	assert_true(is_pattern(p.text + len + TAG, TAIL));
	free(p.mem);
	free(want);
	tapir_aead_ctx_free(s);
	tapir_aead_ctx_free(o);
}

/* RFC 8439 2.4.2: its nonce 0^4 || 00 00 00 4a 00 00 00 00 is the transport nonce of this
 * counter, and the AEAD encrypts from block 1, as that vector does. */
static void test_rfc8439_2_4_2(void **state)
{
	uint8_t k[32];

	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)i;
	check_vector(k, 0x000000004a000000u,
		     "Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
		     "for the future, sunscreen would be it.",
		     "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
		     "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
		     "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
		     "5af90bbf74a35be6b40b8eedf2785e42874d");
}

/* RFC 8439 A.5: 265 bytes (ends inside a block), nonce 0^4 || 01 02 .. 08. */
static void test_rfc8439_a5(void **state)
{
	uint8_t k[32];

	unhex(k, "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
	check_vector(
	    k, 0x0807060504030201u,
	    "Internet-Drafts are draft documents valid for a maximum of six months and may be "
	    "updated, replaced, or obsoleted by other documents at any time. It is inappropriate "
	    "to use Internet-Drafts as reference material or to cite them other than as "
	    "/\xe2\x80\x9cwork in progress./\xe2\x80\x9d",
	    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	    "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	    "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	    "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	    "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	    "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	    "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	    "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	    "a6ad5cb4022b02709b");
}

/* An empty text: the tag alone (a keepalive). */
static void test_empty(void **state)
{
	check_vector(key, 7, "", NULL);
}

/*
 * One length: in place and out of place must give the same bytes both ways. The out-of-place
 * references are the context's scratch path (tapir_aead_ctx_seal/open, what the data plane
 * used before), the one-shot with a separate output buffer, and libsodium.
 */
static void same_as_out_of_place(size_t len, uint64_t counter)
{
	uint8_t nonce[12];
	uint8_t *plain = malloc(len + 1), *scratch = malloc(len + TAG),
		*oneshot = malloc(len + TAG);
	uint8_t *sodium = malloc(len + TAG);
	struct room_pkt p;

	assert_true(plain && scratch && oneshot && sodium);
	tapir_random_bytes(plain, len);
	memcpy(scratch, plain, len);
	assert_int_equal(tapir_aead_ctx_seal(seal_ctx, counter, scratch, len), 0);
	tapir_aead_seal(oneshot, plain, len, NULL, 0, counter, key);
	make_nonce(nonce, counter);
	crypto_aead_chacha20poly1305_ietf_encrypt(sodium, NULL, plain, len, NULL, 0, NULL, nonce,
						  key);
	room_new(&p, len);
	memcpy(p.text, plain, len);
	assert_int_equal(tapir_aead_ctx_seal_inplace(seal_ctx, counter, p.text, len), 0);
	assert_memory_equal(p.text, scratch, len + TAG);
	assert_memory_equal(p.text, oneshot, len + TAG);
	assert_memory_equal(p.text, sodium, len + TAG);
	assert_rooms_after_seal(&p);

	memset(p.text + len + TAG, PATTERN, TAIL);
	assert_true(tapir_aead_ctx_open_inplace(open_ctx, counter, p.text, len + TAG));
	assert_true(tapir_aead_ctx_open(open_ctx, counter, scratch, len + TAG));
	assert_memory_equal(p.text, plain, len);
	assert_memory_equal(scratch, plain, len);
	assert_true(is_pattern(p.mem, HEAD));
	assert_true(is_pattern(p.text + len + TAG, TAIL));
	free(p.mem);
	free(plain);
	free(scratch);
	free(oneshot);
	free(sodium);
}

static void test_every_short_length(void **state)
{
	for (size_t len = 0; len <= 300; len++)
		same_as_out_of_place(len, len * 0x9e3779b97f4a7c15u);
}

static void test_around_the_in_place_open(void **state)
{
	static const size_t lens[] = {1419,  1420,  1421,  3071,  4031,	 4032, 4033, 4095,
				      4096,  4097,  4111,  4112,  4113,	 4159, 4160, 8191,
				      16385, 65471, 65472, 65473, 65535, MAX};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		same_as_out_of_place(lens[i], ~(uint64_t)i);
}

static void test_too_long_or_wrong_direction(void **state)
{
	struct room_pkt p;

	room_new(&p, MAX + 1);
	assert_int_equal(tapir_aead_ctx_seal_inplace(seal_ctx, 0, p.text, MAX + 1), -EINVAL);
	assert_false(tapir_aead_ctx_open_inplace(open_ctx, 0, p.text, MAX + 1 + TAG));
	assert_int_equal(tapir_aead_ctx_seal_inplace(open_ctx, 0, p.text, 16), -EINVAL);
	assert_false(tapir_aead_ctx_open_inplace(seal_ctx, 0, p.text, 32));
	assert_false(tapir_aead_ctx_open_inplace(seal_ctx, 0, p.text, 8192));
	assert_false(tapir_aead_ctx_open_inplace(open_ctx, 0, p.text, TAG - 1));
	/* refusals touch nothing */
	assert_true(is_pattern(p.mem, HEAD + MAX + 1 + TAG + TAIL));
	free(p.mem);
}

/*
 * A flipped bit anywhere (text start, middle, end, tag) or a wrong counter: open fails, the
 * text is zeroed (no plaintext, no unauthenticated bytes reach the caller), the rooms are
 * left as they were. Lengths on both of open's paths.
 */
static void tamper_one(size_t len)
{
	size_t spots[] = {0, len / 2, len ? len - 1 : 0, len, len + TAG - 1};
	uint8_t *sealed = malloc(len + TAG + 1);
	struct room_pkt p;

	assert_non_null(sealed);
	room_new(&p, len);
	tapir_random_bytes(p.text, len);
	assert_int_equal(tapir_aead_ctx_seal_inplace(seal_ctx, 42, p.text, len), 0);
	memcpy(sealed, p.text, len + TAG);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		if (len == 0 && i < 3)
			continue; /* no text to flip */
		memset(p.text + len + TAG, PATTERN, TAIL);
		memcpy(p.text, sealed, len + TAG);
		p.text[spots[i]] ^= (uint8_t)(1u << (i % 8));
		assert_false(tapir_aead_ctx_open_inplace(open_ctx, 42, p.text, len + TAG));
		assert_true(sodium_is_zero(p.text, len));
		assert_true(is_pattern(p.mem, HEAD));
		assert_true(is_pattern(p.text + len + TAG, TAIL));
	}
	memcpy(p.text, sealed, len + TAG);
	assert_false(tapir_aead_ctx_open_inplace(open_ctx, 43, p.text, len + TAG));
	assert_true(sodium_is_zero(p.text, len));
	memcpy(p.text, sealed, len + TAG);
	assert_true(tapir_aead_ctx_open_inplace(open_ctx, 42, p.text, len + TAG));
	free(sealed);
	free(p.mem);
}

static void test_tampered(void **state)
{
	static const size_t lens[] = {0, 1, 63, 64, 1420, 4096, 4097, 65535, MAX};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		tamper_one(lens[i]);
}

/*
 * Three messages back to back in one buffer, as recvmmsg with UDP GRO delivers them (a 16-byte
 * header, then text and tag), each sealed in its own buffer as the send path does: open's
 * work space after each text overlaps the next message. Opened in the order 1, 2, 0, each
 * opens, and every other message reads as before (sealed, or opened with its tag in place).
 */
static void back_to_back(size_t len)
{
	enum { HDR = 16, N = 3 };
	size_t step = HDR + len + TAG;
	uint8_t *mem = malloc(HEAD + N * step + TAIL), *plain = malloc(N * len + 1);
	uint8_t *want = malloc(N * step);
	static const int order[N] = {1, 2, 0};

	assert_true(mem && plain && want);
	tapir_random_bytes(plain, N * len);
	memset(mem, PATTERN, HEAD + N * step + TAIL);
	for (int i = 0; i < N; i++) {
		uint8_t *msg = mem + HEAD + (size_t)i * step;
		struct room_pkt p;

		room_new(&p, len);
		memcpy(p.text, plain + (size_t)i * len, len);
		assert_int_equal(tapir_aead_ctx_seal_inplace(seal_ctx, (uint64_t)i, p.text, len),
				 0);
		memset(msg, i, HDR);
		memcpy(msg + HDR, p.text, len + TAG);
		free(p.mem);
	}
	memcpy(want, mem + HEAD, N * step);
	for (int j = 0; j < N; j++) {
		int i = order[j];
		uint8_t *msg = mem + HEAD + (size_t)i * step;

		assert_true(
		    tapir_aead_ctx_open_inplace(open_ctx, (uint64_t)i, msg + HDR, len + TAG));
		/* what the caller sees after an open: the header, the text, the tag unchanged */
		memcpy(want + (size_t)i * step + HDR, plain + (size_t)i * len, len);
		assert_memory_equal(mem + HEAD, want, N * step);
	}
	assert_true(is_pattern(mem, HEAD));
	assert_true(is_pattern(mem + HEAD + N * step, TAIL));
	free(mem);
	free(plain);
	free(want);
}

static void test_back_to_back(void **state)
{
	static const size_t lens[] = {0, 1, 33, 1420, 4096, 4133};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		back_to_back(lens[i]);
}

/*
 * tapir_aead_ctx_open_view (what the receive path calls): below 4 KiB the plaintext is left
 * out of place, in the scratch buffer, and the caller's ciphertext, rooms and tag are as they
 * were; from 4 KiB it is opened in place and the pointer is @buf. A forged message gives NULL
 * and no plaintext, in either place.
 */
static void view_one(size_t len)
{
	uint8_t *plain = malloc(len + 1), *sealed = malloc(len + TAG);
	const uint8_t *view;
	struct room_pkt p;

	assert_true(plain && sealed);
	tapir_random_bytes(plain, len);
	room_new(&p, len);
	memcpy(p.text, plain, len);
	assert_int_equal(tapir_aead_ctx_seal_inplace(seal_ctx, 9, p.text, len), 0);
	memcpy(sealed, p.text, len + TAG);
	memset(p.text + len + TAG, PATTERN, TAIL);
	view = tapir_aead_ctx_open_view(open_ctx, 9, p.text, len + TAG);
	assert_non_null(view);
	assert_memory_equal(view, plain, len);
	if (len < 4096) {
		assert_ptr_not_equal(view, p.text);
		assert_memory_equal(p.text, sealed, len + TAG); /* untouched */
	} else {
		assert_ptr_equal(view, p.text);
	}
	assert_true(is_pattern(p.mem, HEAD));
	assert_true(is_pattern(p.text + len + TAG, TAIL));
	/* forged: a flipped tag bit */
	memcpy(p.text, sealed, len + TAG);
	p.text[len] ^= 1;
	assert_null(tapir_aead_ctx_open_view(open_ctx, 9, p.text, len + TAG));
	assert_true(sodium_is_zero(p.text, len));
	assert_true(is_pattern(p.mem, HEAD));
	free(p.mem);
	free(plain);
	free(sealed);
}

static void test_open_view(void **state)
{
	static const size_t lens[] = {0, 1, 63, 64, 65, 1420, 4095, 4096, 4097, 65535, MAX};

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		view_one(lens[i]);
	assert_null(tapir_aead_ctx_open_view(open_ctx, 0, key, TAG - 1));
	assert_null(tapir_aead_ctx_open_view(seal_ctx, 0, key, TAG));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc8439_2_4_2),
	    cmocka_unit_test(test_rfc8439_a5),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_every_short_length),
	    cmocka_unit_test(test_around_the_in_place_open),
	    cmocka_unit_test(test_too_long_or_wrong_direction),
	    cmocka_unit_test(test_tampered),
	    cmocka_unit_test(test_back_to_back),
	    cmocka_unit_test(test_open_view),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
