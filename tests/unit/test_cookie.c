// SPDX-License-Identifier: MIT
/*
 * Unit tests of mac1, mac2 and cookie replies (src/noise/cookie.c, wireguard-protocol.md
 * section 4): mac1 against the 10.2 vectors and single-bit changes, the whole cookie round trip
 * (reply, consumption, mac2 accepted only from the source it was issued to), secret rotation
 * after 120 s, cookie expiry after 115 s, and rejected replies (no mac1 sent, forged, wrong AD).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

static const char kat_s_priv_i[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char kat_s_priv_r[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char kat_initiation[] =
    "01000000d4c3b2a1358072d6365880d1aeea329adf9121383851ed21a28e3b75"
    "e965d0d2cd166254c4d95d121b13f6ff24fe1e983a4c71ae6c55e2763a0d1de7"
    "643d6725687b49e7a55fea10050d69b8b69a79893d649b339434a506c52b8697"
    "f7b0e3c4d6898b020154c03ac8a048e47646cbfb939052553dd201472c71bab8"
    "cc92a38300000000000000000000000000000000";
static const char kat_response[] =
    "0200000004030201d4c3b2a179a631eede1bf9c98f12032cdeadd0e7a079398f"
    "c786b88cc846ec89af85a51aca914ac21815fc7cf80be663cb016edb6c654c29"
    "d1d49925bf9456a3b75697a900000000000000000000000000000000";

static const uint64_t s_ns = 1000000000;
/* Opaque source addresses: IPv4 address then port, as the daemon may encode them. */
static const uint8_t src_a[6] = {192, 0, 2, 1, 0xca, 0x6c};
static const uint8_t src_b[6] = {192, 0, 2, 2, 0xca, 0x6c};

/*
 * Alice sends handshake messages to Bob; Bob checks them and answers with cookies. Heap-
 * allocated so that sanitizer redzones keep test frames small.
 */
struct fixture {
	struct tapir_noise_local alice, bob;
	struct tapir_noise_handshake alice_hs; /* Alice's view of Bob: his mac1/cookie keys */
	struct tapir_cookie_maker maker;       /* Alice's, for Bob */
	struct tapir_cookie_checker checker;   /* Bob's */
	struct tapir_msg_cookie reply;
	uint8_t msg[TAPIR_MSG_INITIATION_LEN];
	uint8_t secret[32], other_secret[32], nonce[24];
};

static void unhex(uint8_t *out, size_t len, const char *hex)
{
	assert_int_equal(strlen(hex), 2 * len);
	for (size_t i = 0; i < len; i++) {
		unsigned int byte;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &byte), 1);
		out[i] = (uint8_t)byte;
	}
}

static bool is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static int global_setup(void **state)
{
	(void)state;
	return tapir_crypto_init();
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t key[32];

	assert_non_null(f);
	unhex(key, 32, kat_s_priv_i);
	tapir_noise_local_set_private_key(&f->alice, key);
	unhex(key, 32, kat_s_priv_r);
	tapir_noise_local_set_private_key(&f->bob, key);
	tapir_noise_handshake_init(&f->alice_hs, &f->alice, f->bob.public_key, NULL);
	/* An initiation-shaped message; its body does not matter to the MACs. */
	for (size_t i = 0; i < sizeof(f->msg); i++)
		f->msg[i] = (uint8_t)(i * 7 + 3);
	f->msg[0] = TAPIR_MSG_INITIATION;
	f->msg[1] = f->msg[2] = f->msg[3] = 0;
	tapir_le32_put(f->msg + 4, 0x44332211);
	memset(f->secret, 0xa5, sizeof(f->secret));
	memset(f->other_secret, 0x5a, sizeof(f->other_secret));
	for (size_t i = 0; i < sizeof(f->nonce); i++)
		f->nonce[i] = (uint8_t)i;
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	free(*state);
	return 0;
}

static enum tapir_mac_result validate(struct fixture *f, const uint8_t *src, bool check_mac2,
				      uint64_t now_ns, const uint8_t *secret)
{
	return tapir_cookie_validate(&f->checker, &f->bob, f->msg, sizeof(f->msg), src,
				     sizeof(src_a), check_mac2, now_ns, secret);
}

/* Alice sends f->msg at @now_ns, Bob answers it from src_a with a cookie, Alice stores it. */
static void get_cookie(struct fixture *f, uint64_t now_ns)
{
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg),
			      now_ns);
	tapir_cookie_create_reply(&f->checker, &f->bob, &f->reply, f->msg, sizeof(f->msg), src_a,
				  sizeof(src_a), now_ns, f->nonce, f->secret);
	assert_int_equal(
	    tapir_cookie_consume_reply(&f->maker, f->alice_hs.remote_cookie_key, &f->reply, now_ns),
	    0);
}

static void test_keys(void **state)
{
	struct fixture *f = *state;

	/* The maker's view of Bob's keys equals Bob's own (4.1). */
	assert_memory_equal(f->alice_hs.remote_mac1_key, f->bob.mac1_key, 32);
	assert_memory_equal(f->alice_hs.remote_cookie_key, f->bob.cookie_key, 32);
	assert_memory_not_equal(f->bob.mac1_key, f->bob.cookie_key, 32);
}

/* add_macs reproduces the mac1 of both 10.2 messages, keyed to their receivers. */
static void test_mac1_vectors(void **state)
{
	struct fixture *f = *state;
	struct tapir_cookie_maker maker = {0};
	struct tapir_noise_handshake bob_hs;
	uint8_t init[148], expected_init[148], resp[92], expected_resp[92];

	unhex(expected_init, sizeof(expected_init), kat_initiation);
	memcpy(init, expected_init, sizeof(init));
	memset(init + 116, 0xff, 32);
	tapir_cookie_add_macs(&maker, f->alice_hs.remote_mac1_key, init, sizeof(init), 0);
	assert_memory_equal(init, expected_init, sizeof(init));
	assert_memory_equal(maker.last_mac1_sent, expected_init + 116, 16);
	assert_true(maker.have_sent_mac1);

	tapir_noise_handshake_init(&bob_hs, &f->bob, f->alice.public_key, NULL);
	unhex(expected_resp, sizeof(expected_resp), kat_response);
	memcpy(resp, expected_resp, sizeof(resp));
	memset(resp + 60, 0, 16);
	tapir_cookie_add_macs(&maker, bob_hs.remote_mac1_key, resp, sizeof(resp), 0);
	assert_memory_equal(resp, expected_resp, sizeof(resp));

	assert_int_equal(tapir_cookie_validate(&f->checker, &f->bob, init, sizeof(init), src_a,
					       sizeof(src_a), false, 0, f->secret),
			 TAPIR_MAC_VALID_MAC1);
	assert_int_equal(tapir_cookie_validate(&f->checker, &f->alice, resp, sizeof(resp), src_a,
					       sizeof(src_a), false, 0, f->secret),
			 TAPIR_MAC_VALID_MAC1);
	/* mac1 is keyed to the receiver: the sender's own key does not validate it. */
	assert_int_equal(tapir_cookie_validate(&f->checker, &f->alice, init, sizeof(init), src_a,
					       sizeof(src_a), false, 0, f->secret),
			 TAPIR_MAC_INVALID);
}

static void test_mac1_flipped_bits(void **state)
{
	struct fixture *f = *state;

	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg), 0);
	assert_true(is_zero(f->msg + 132, 16));
	assert_int_equal(validate(f, src_a, false, 0, f->secret), TAPIR_MAC_VALID_MAC1);
	assert_int_equal(validate(f, src_a, true, 0, f->secret), TAPIR_MAC_VALID_MAC1);

	/* Any bit of the body or of mac1 breaks mac1. */
	for (size_t bit = 0; bit < (size_t)132 * 8; bit += 3) {
		f->msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(validate(f, src_a, false, 0, f->secret), TAPIR_MAC_INVALID);
		f->msg[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* mac2 is not covered by mac1. */
	f->msg[140] ^= 1;
	assert_int_equal(validate(f, src_a, false, 0, f->secret), TAPIR_MAC_VALID_MAC1);

	/* Only whole handshake messages are checked. */
	assert_int_equal(tapir_cookie_validate(&f->checker, &f->bob, f->msg, 147, src_a,
					       sizeof(src_a), false, 0, f->secret),
			 TAPIR_MAC_INVALID);
	assert_int_equal(tapir_cookie_validate(&f->checker, &f->bob, f->msg, 0, src_a,
					       sizeof(src_a), false, 0, f->secret),
			 TAPIR_MAC_INVALID);
}

static void test_mac2_round_trip(void **state)
{
	struct fixture *f = *state;
	uint64_t t = 10 * s_ns;

	/* Without a cookie, mac2 is zero and only mac1 validates. */
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg), t);
	assert_int_equal(validate(f, src_a, true, t, f->secret), TAPIR_MAC_VALID_MAC1);
	assert_true(f->checker.has_secret);

	tapir_cookie_create_reply(&f->checker, &f->bob, &f->reply, f->msg, sizeof(f->msg), src_a,
				  sizeof(src_a), t, f->nonce, f->secret);
	assert_int_equal(f->reply.type, TAPIR_MSG_COOKIE);
	assert_true(is_zero(f->reply.reserved, 3));
	assert_memory_equal(f->reply.receiver_index, f->msg + 4, 4);
	assert_memory_equal(f->reply.nonce, f->nonce, 24);
	assert_int_equal(tapir_msg_classify((uint8_t *)&f->reply, sizeof(f->reply)),
			 TAPIR_MSG_COOKIE);

	assert_int_equal(
	    tapir_cookie_consume_reply(&f->maker, f->alice_hs.remote_cookie_key, &f->reply, t + 1),
	    0);
	assert_true(f->maker.is_cookie_valid);
	assert_int_equal(f->maker.cookie_birth_ns, t + 1);
	assert_false(f->maker.have_sent_mac1);

	/* The next message carries mac2, valid only for the source the cookie was made for. */
	f->msg[100] ^= 0x55;
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg),
			      t + 2);
	assert_false(is_zero(f->msg + 132, 16));
	assert_true(f->maker.have_sent_mac1);
	assert_int_equal(validate(f, src_a, true, t + 3, f->secret), TAPIR_MAC_VALID_MAC1_AND_MAC2);
	assert_int_equal(validate(f, src_b, true, t + 3, f->secret), TAPIR_MAC_VALID_MAC1);
	assert_int_equal(validate(f, src_a, false, t + 3, f->secret), TAPIR_MAC_VALID_MAC1);
	f->msg[147] ^= 0x80;
	assert_int_equal(validate(f, src_a, true, t + 3, f->secret), TAPIR_MAC_VALID_MAC1);
	f->msg[147] ^= 0x80;
	/* mac2 also covers mac1: recompute both over a changed body and swap in the old mac2. */
	{
		uint8_t old_mac2[16];

		memcpy(old_mac2, f->msg + 132, 16);
		f->msg[100] ^= 0x55;
		tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg,
				      sizeof(f->msg), t + 2);
		memcpy(f->msg + 132, old_mac2, 16);
		assert_int_equal(validate(f, src_a, true, t + 3, f->secret), TAPIR_MAC_VALID_MAC1);
	}
}

static void test_secret_rotation(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = 50 * s_ns;

	/* The secret is born at t0, the cookie handed out 100 s later. */
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg), t0);
	assert_int_equal(validate(f, src_a, true, t0, f->secret), TAPIR_MAC_VALID_MAC1);
	assert_true(f->checker.has_secret);
	assert_int_equal(f->checker.secret_birth_ns, t0);
	get_cookie(f, t0 + 100 * s_ns);
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg),
			      t0 + 110 * s_ns);

	/* Just under 120 s the secret stands, whatever fresh bytes are offered. */
	assert_int_equal(validate(f, src_a, true, t0 + 120 * s_ns - 1, f->other_secret),
			 TAPIR_MAC_VALID_MAC1_AND_MAC2);
	assert_int_equal(f->checker.secret_birth_ns, t0);
	/* At 120 s it is replaced, and the cookie made from the old one is worthless. */
	assert_int_equal(validate(f, src_a, true, t0 + 120 * s_ns, f->other_secret),
			 TAPIR_MAC_VALID_MAC1);
	assert_int_equal(f->checker.secret_birth_ns, t0 + 120 * s_ns);
	assert_memory_equal(f->checker.secret, f->other_secret, 32);
}

static void test_cookie_expiry(void **state)
{
	struct fixture *f = *state;
	uint64_t t = 5 * s_ns;

	get_cookie(f, t);
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg),
			      t + 115 * s_ns - 1);
	assert_false(is_zero(f->msg + 132, 16));
	assert_int_equal(validate(f, src_a, true, t + 115 * s_ns - 1, f->secret),
			 TAPIR_MAC_VALID_MAC1_AND_MAC2);
	/* 120 s - 5 s after it arrived, the cookie is no longer used. */
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg),
			      t + 115 * s_ns);
	assert_true(is_zero(f->msg + 132, 16));
	assert_int_equal(validate(f, src_a, true, t + 115 * s_ns, f->secret), TAPIR_MAC_VALID_MAC1);
}

static void test_reply_without_mac1(void **state)
{
	struct fixture *f = *state;
	struct tapir_cookie_maker fresh = {0};

	get_cookie(f, 0);
	/* A maker that never sent mac1 accepts no reply, even an authentic one. */
	assert_int_equal(
	    tapir_cookie_consume_reply(&fresh, f->alice_hs.remote_cookie_key, &f->reply, 0),
	    -EINVAL);
	assert_false(fresh.is_cookie_valid);
	/* One cookie per mac1: the same reply a second time is refused. */
	assert_int_equal(
	    tapir_cookie_consume_reply(&f->maker, f->alice_hs.remote_cookie_key, &f->reply, 0),
	    -EINVAL);
}

static void test_forged_reply(void **state)
{
	struct fixture *f = *state;
	struct tapir_msg_cookie good;
	struct tapir_cookie_maker before;
	const size_t fields[][2] = {
	    {offsetof(struct tapir_msg_cookie, nonce), 24},
	    {offsetof(struct tapir_msg_cookie, encrypted_cookie), 32},
	};

	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg), 0);
	tapir_cookie_create_reply(&f->checker, &f->bob, &good, f->msg, sizeof(f->msg), src_a,
				  sizeof(src_a), 0, f->nonce, f->secret);
	memcpy(&before, &f->maker, sizeof(before));
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		for (size_t bit = 0; bit < fields[i][1] * 8; bit += 5) {
			memcpy(&f->reply, &good, sizeof(good));
			((uint8_t *)&f->reply)[fields[i][0] + bit / 8] ^=
			    (uint8_t)(1u << (bit % 8));
			assert_int_equal(tapir_cookie_consume_reply(&f->maker,
								    f->alice_hs.remote_cookie_key,
								    &f->reply, 0),
					 -EINVAL);
			assert_memory_equal(&f->maker, &before, sizeof(before));
		}
	}
	/* Sealed by someone else's identity (Alice's own cookie key). */
	tapir_cookie_create_reply(&f->checker, &f->alice, &f->reply, f->msg, sizeof(f->msg), src_a,
				  sizeof(src_a), 0, f->nonce, f->secret);
	assert_int_equal(
	    tapir_cookie_consume_reply(&f->maker, f->alice_hs.remote_cookie_key, &f->reply, 0),
	    -EINVAL);
	assert_memory_equal(&f->maker, &before, sizeof(before));
	/* The genuine one still works. */
	assert_int_equal(
	    tapir_cookie_consume_reply(&f->maker, f->alice_hs.remote_cookie_key, &good, 0), 0);
}

static void test_reply_wrong_ad(void **state)
{
	struct fixture *f = *state;

	/* Bob answers the first message, but Alice has sent another one since. */
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg), 0);
	tapir_cookie_create_reply(&f->checker, &f->bob, &f->reply, f->msg, sizeof(f->msg), src_a,
				  sizeof(src_a), 0, f->nonce, f->secret);
	f->msg[8] ^= 1;
	tapir_cookie_add_macs(&f->maker, f->alice_hs.remote_mac1_key, f->msg, sizeof(f->msg), 0);
	assert_int_equal(
	    tapir_cookie_consume_reply(&f->maker, f->alice_hs.remote_cookie_key, &f->reply, 0),
	    -EINVAL);
	assert_false(f->maker.is_cookie_valid);
	assert_true(f->maker.have_sent_mac1);
}

static void test_wipe(void **state)
{
	struct fixture *f = *state;

	get_cookie(f, 0);
	tapir_cookie_maker_wipe(&f->maker);
	assert_true(is_zero(&f->maker, sizeof(f->maker)));
	tapir_cookie_checker_wipe(&f->checker);
	assert_true(is_zero(&f->checker, sizeof(f->checker)));
	tapir_cookie_maker_wipe(NULL);
	tapir_cookie_checker_wipe(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keys, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mac1_vectors, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mac1_flipped_bits, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mac2_round_trip, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_secret_rotation, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_cookie_expiry, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_reply_without_mac1, fixture_setup,
					    fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_forged_reply, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_reply_wrong_ad, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_wipe, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests_name("cookie", tests, global_setup, NULL);
}
