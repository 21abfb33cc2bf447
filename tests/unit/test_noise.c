// SPDX-License-Identifier: MIT
/*
 * Unit tests of the Noise_IKpsk2 core (src/noise/noise.c): the known-answer handshake of
 * wireguard-protocol.md section 10.2 byte for byte, every rejection path of sections 3.3 and
 * 3.5 (with the stored handshake checked unchanged), low-order keys, TAI64N, and a seeded
 * randomised round trip in both roles. Set TAPIR_TEST_SEED to replay a failing random run.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

/* Section 10.2 inputs (private keys before clamping) and outputs. */
static const char kat_s_priv_i[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char kat_s_pub_i[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
static const char kat_s_priv_r[] =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
static const char kat_s_pub_r[] =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
static const char kat_e_priv_i[] =
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";
static const char kat_e_priv_r[] =
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f";
static const char kat_psk[] = "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f";
static const uint32_t kat_index_i = 0xa1b2c3d4;
static const uint32_t kat_index_r = 0x01020304;
static const char kat_tai64n[] = "400000005e0be10a00000000";

static const char kat_e_pub_i[] =
    "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254";
static const char kat_encrypted_static[] =
    "c4d95d121b13f6ff24fe1e983a4c71ae6c55e2763a0d1de7643d6725687b49e7"
    "a55fea10050d69b8b69a79893d649b33";
static const char kat_c3[] = "f8cdc2724bf0b29dfc11a6357c08407cde1479a1f09dbbbb45838a80b1cb74b0";
static const char kat_encrypted_timestamp[] =
    "9434a506c52b8697f7b0e3c4d6898b020154c03ac8a048e47646cbfb";
static const char kat_h4[] = "30e156f51ff904f48e902a00edbaa501aca99c4edec5bbe1681c501d0d88e628";
static const char kat_mac1_key_r[] =
    "52c0a95717f46ba7941f80cec1ead35984c9f023a996170d9e47e314d260dc96";
static const char kat_mac1_i[] = "939052553dd201472c71bab8cc92a383";
static const char kat_e_pub_r[] =
    "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a";
static const char kat_c7[] = "412743e188b0d606bb0b72ca714a763e54b0017a13d92861d5974a2bf9bfde03";
static const char kat_encrypted_nothing[] = "ca914ac21815fc7cf80be663cb016edb";
static const char kat_h7[] = "d0cc20c0f5bb2cba054cc2fc391f9bdfe7c30500442e6a242df70e31e38cc176";
static const char kat_mac1_r[] = "6c654c29d1d49925bf9456a3b75697a9";
static const char kat_send_i[] = "957963c83787fff4a6d5ce9f3d90cf837b249caa1f0e5a20858b0c0cd93156b4";
static const char kat_recv_i[] = "c99f67be6332a7a3a6412491b8fad13be36298dba54ae065f19277e93d460d98";
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
static const char kat_keepalive[] =
    "04000000040302010000000000000000e91a301cc16c6b099cd2ac1c53b9d663";

/* Low-order points of Curve25519 (u-coordinates): DH with any of them is all zero. */
static const char *const low_order_points[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

static const uint64_t ms_ns = 1000000;
static const uint8_t no_data[1];

/* One side of a handshake: its identity, its view of the other peer, its MAC state. */
struct side {
	struct tapir_noise_local local;
	struct tapir_noise_handshake hs;
	struct tapir_cookie_maker maker;
};

/* Heap-allocated so that sanitizer redzones keep test frames small. */
struct pair {
	struct side alice; /* initiator in the known-answer run */
	struct side bob;
	struct tapir_msg_initiation init;
	struct tapir_msg_response resp;
	struct tapir_noise_session_keys keys_a, keys_b;
	struct tapir_noise_handshake snapshot;
	uint8_t timestamp[12];
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

static void assert_hex(const void *buf, size_t len, const char *hex)
{
	uint8_t expected[256];

	assert_true(len <= sizeof(expected));
	unhex(expected, len, hex);
	assert_memory_equal(buf, expected, len);
}

static bool is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* Lookups over one handshake, standing in for the peer table. */
static struct tapir_noise_handshake *lookup_static(void *ctx, const uint8_t remote_static[32])
{
	struct tapir_noise_handshake *hs = ctx;

	return hs && !memcmp(hs->remote_static, remote_static, 32) ? hs : NULL;
}

static struct tapir_noise_handshake *lookup_index(void *ctx, uint32_t local_index)
{
	struct tapir_noise_handshake *hs = ctx;

	return hs && hs->local_index == local_index ? hs : NULL;
}

static int global_setup(void **state)
{
	(void)state;
	return tapir_crypto_init();
}

/* Alice and Bob of section 10.2, each knowing the other, with the PSK. */
static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	uint8_t key[32], psk[32];

	assert_non_null(p);
	unhex(key, 32, kat_s_priv_i);
	tapir_x25519_clamp(key);
	tapir_noise_local_set_private_key(&p->alice.local, key);
	unhex(key, 32, kat_s_priv_r);
	tapir_x25519_clamp(key);
	tapir_noise_local_set_private_key(&p->bob.local, key);
	unhex(psk, 32, kat_psk);
	tapir_noise_handshake_init(&p->alice.hs, &p->alice.local, p->bob.local.public_key, psk);
	tapir_noise_handshake_init(&p->bob.hs, &p->bob.local, p->alice.local.public_key, psk);
	unhex(p->timestamp, 12, kat_tai64n);
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	free(*state);
	return 0;
}

static void kat_ephemeral(uint8_t out[32], const char *hex)
{
	unhex(out, 32, hex);
	tapir_x25519_clamp(out);
}

/* Alice builds an initiation with the 10.2 ephemeral and index, and @timestamp. */
static void make_initiation(struct pair *p, const uint8_t timestamp[12])
{
	uint8_t e[32];

	kat_ephemeral(e, kat_e_priv_i);
	assert_int_equal(tapir_noise_create_initiation(&p->alice.local, &p->alice.hs, &p->init,
						       kat_index_i, e, timestamp),
			 0);
	tapir_cookie_add_macs(&p->alice.maker, p->alice.hs.remote_mac1_key, (uint8_t *)&p->init,
			      sizeof(p->init), 0);
}

static int consume_initiation(struct pair *p, uint64_t now_ns)
{
	struct tapir_noise_handshake *out = (void *)1;
	int ret = tapir_noise_consume_initiation(&p->bob.local, &p->init, lookup_static, &p->bob.hs,
						 now_ns, &out);

	assert_ptr_equal(out, ret ? NULL : &p->bob.hs);
	return ret;
}

/* Bob answers with the 10.2 ephemeral and index. */
static void make_response(struct pair *p)
{
	uint8_t e[32];

	kat_ephemeral(e, kat_e_priv_r);
	assert_int_equal(
	    tapir_noise_create_response(&p->bob.local, &p->bob.hs, &p->resp, kat_index_r, e), 0);
	tapir_cookie_add_macs(&p->bob.maker, p->bob.hs.remote_mac1_key, (uint8_t *)&p->resp,
			      sizeof(p->resp), 0);
}

static int consume_response(struct pair *p)
{
	struct tapir_noise_handshake *out = (void *)1;
	int ret = tapir_noise_consume_response(&p->alice.local, &p->resp, lookup_index,
					       &p->alice.hs, &out);

	assert_ptr_equal(out, ret ? NULL : &p->alice.hs);
	return ret;
}

static void test_c0_h0_and_keys(void **state)
{
	struct pair *p = *state;

	static const uint8_t construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
	static const uint8_t identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
	uint8_t c0[32], h0[32];

	/* The constants noise.c hard-codes (1.8), recomputed from the protocol strings. */
	tapir_hash(c0, construction, sizeof(construction) - 1, NULL, 0);
	assert_hex(c0, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
	tapir_hash(h0, c0, 32, identifier, sizeof(identifier) - 1);
	assert_hex(h0, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
	assert_hex(p->alice.local.public_key, 32, kat_s_pub_i);
	assert_hex(p->bob.local.public_key, 32, kat_s_pub_r);
	assert_hex(p->alice.hs.remote_mac1_key, 32, kat_mac1_key_r);
	assert_hex(p->bob.local.mac1_key, 32, kat_mac1_key_r);
	assert_true(p->alice.hs.is_static_static_valid);
	assert_true(p->bob.hs.is_static_static_valid);
	/* ss is symmetric */
	assert_memory_equal(p->alice.hs.precomputed_static_static,
			    p->bob.hs.precomputed_static_static, 32);
}

static void test_kat_full(void **state)
{
	struct pair *p = *state;
	struct tapir_cookie_checker checker = {0};
	uint8_t secret[32] = {0}, keepalive[32];

	/* Alice: initiation (3.2), mac1 keyed with Bob's key, no cookie so mac2 is zero. */
	make_initiation(p, p->timestamp);
	assert_int_equal(p->alice.hs.state, TAPIR_HANDSHAKE_CREATED_INITIATION);
	assert_int_equal(p->alice.hs.local_index, kat_index_i);
	assert_hex(p->alice.hs.hash, 32, kat_h4);
	assert_hex(p->alice.hs.chaining_key, 32, kat_c3);
	assert_hex(p->init.ephemeral, 32, kat_e_pub_i);
	assert_hex(p->init.encrypted_static, 48, kat_encrypted_static);
	assert_hex(p->init.encrypted_timestamp, 28, kat_encrypted_timestamp);
	assert_hex(p->init.mac1, 16, kat_mac1_i);
	assert_hex(&p->init, sizeof(p->init), kat_initiation);
	assert_hex(p->alice.maker.last_mac1_sent, 16, kat_mac1_i);

	/* Bob: mac1, then the handshake (3.3). */
	assert_int_equal(tapir_cookie_validate(&checker, &p->bob.local, (uint8_t *)&p->init,
					       sizeof(p->init), no_data, 0, false, 0, secret),
			 TAPIR_MAC_VALID_MAC1);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	assert_int_equal(p->bob.hs.state, TAPIR_HANDSHAKE_CONSUMED_INITIATION);
	assert_hex(p->bob.hs.hash, 32, kat_h4);
	assert_hex(p->bob.hs.chaining_key, 32, kat_c3);
	assert_hex(p->bob.hs.remote_ephemeral, 32, kat_e_pub_i);
	assert_int_equal(p->bob.hs.remote_index, kat_index_i);
	assert_hex(p->bob.hs.latest_timestamp, 12, kat_tai64n);
	assert_int_equal(p->bob.hs.last_initiation_consumed_ns, 1000 * ms_ns);

	/* Bob: response (3.4). */
	make_response(p);
	assert_int_equal(p->bob.hs.state, TAPIR_HANDSHAKE_CREATED_RESPONSE);
	assert_int_equal(p->bob.hs.local_index, kat_index_r);
	assert_hex(p->bob.hs.hash, 32, kat_h7);
	assert_hex(p->bob.hs.chaining_key, 32, kat_c7);
	assert_hex(p->resp.ephemeral, 32, kat_e_pub_r);
	assert_hex(p->resp.encrypted_nothing, 16, kat_encrypted_nothing);
	assert_hex(p->resp.mac1, 16, kat_mac1_r);
	assert_hex(&p->resp, sizeof(p->resp), kat_response);

	/* Alice: mac1, then the response (3.5). */
	assert_int_equal(tapir_cookie_validate(&checker, &p->alice.local, (uint8_t *)&p->resp,
					       sizeof(p->resp), no_data, 0, false, 0, secret),
			 TAPIR_MAC_VALID_MAC1);
	assert_int_equal(consume_response(p), 0);
	assert_int_equal(p->alice.hs.state, TAPIR_HANDSHAKE_CONSUMED_RESPONSE);
	assert_int_equal(p->alice.hs.remote_index, kat_index_r);
	assert_hex(p->alice.hs.hash, 32, kat_h7);
	assert_hex(p->alice.hs.chaining_key, 32, kat_c7);

	/* Transport keys (3.6). */
	assert_int_equal(tapir_noise_derive_keys(&p->alice.hs, &p->keys_a), 0);
	assert_int_equal(tapir_noise_derive_keys(&p->bob.hs, &p->keys_b), 0);
	assert_hex(p->keys_a.send_key, 32, kat_send_i);
	assert_hex(p->keys_a.recv_key, 32, kat_recv_i);
	assert_hex(p->keys_b.send_key, 32, kat_recv_i);
	assert_hex(p->keys_b.recv_key, 32, kat_send_i);
	assert_true(p->keys_a.is_initiator);
	assert_false(p->keys_b.is_initiator);
	assert_int_equal(p->keys_a.local_index, kat_index_i);
	assert_int_equal(p->keys_a.remote_index, kat_index_r);
	assert_int_equal(p->keys_b.local_index, kat_index_r);
	assert_int_equal(p->keys_b.remote_index, kat_index_i);

	/* Both handshakes are cleared, but keep the peer's identity and replay history. */
	assert_int_equal(p->alice.hs.state, TAPIR_HANDSHAKE_ZEROED);
	assert_int_equal(p->bob.hs.state, TAPIR_HANDSHAKE_ZEROED);
	assert_true(is_zero(p->alice.hs.chaining_key, 32) && is_zero(p->alice.hs.hash, 32));
	assert_true(is_zero(p->alice.hs.ephemeral_private, 32));
	assert_true(is_zero(p->bob.hs.chaining_key, 32) && is_zero(p->bob.hs.hash, 32));
	assert_true(is_zero(p->bob.hs.ephemeral_private, 32));
	assert_true(is_zero(p->bob.hs.remote_ephemeral, 32));
	assert_hex(p->bob.hs.preshared_key, 32, kat_psk);
	assert_hex(p->bob.hs.remote_static, 32, kat_s_pub_i);
	assert_hex(p->bob.hs.latest_timestamp, 12, kat_tai64n);
	assert_int_equal(p->bob.hs.last_initiation_consumed_ns, 1000 * ms_ns);
	assert_true(p->bob.hs.is_static_static_valid);

	/* First initiator keepalive (2.4): header, receiver index, counter 0, empty payload. */
	memset(keepalive, 0, sizeof(keepalive));
	keepalive[0] = TAPIR_MSG_DATA;
	tapir_le32_put(keepalive + 4, p->keys_a.remote_index);
	tapir_le64_put(keepalive + 8, 0);
	tapir_aead_seal(keepalive + 16, keepalive + 16, 0, no_data, 0, 0, p->keys_a.send_key);
	assert_hex(keepalive, sizeof(keepalive), kat_keepalive);
}

static void test_unknown_static(void **state)
{
	struct pair *p = *state;
	struct tapir_noise_handshake *out = (void *)1;

	make_initiation(p, p->timestamp);
	memcpy(&p->snapshot, &p->bob.hs, sizeof(p->snapshot));
	assert_int_equal(tapir_noise_consume_initiation(&p->bob.local, &p->init, lookup_static,
							NULL, 1000 * ms_ns, &out),
			 -ENOKEY);
	assert_null(out);
	/* A peer with another key is not matched either. */
	p->bob.hs.remote_static[0] ^= 1;
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), -ENOKEY);
	p->bob.hs.remote_static[0] ^= 1;
	assert_memory_equal(&p->bob.hs, &p->snapshot, sizeof(p->snapshot));
}

static void test_replayed_initiation(void **state)
{
	struct pair *p = *state;

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	memcpy(&p->snapshot, &p->bob.hs, sizeof(p->snapshot));
	/* Long after the flood window: only the timestamp rejects it. */
	assert_int_equal(consume_initiation(p, 5000 * ms_ns), -EALREADY);
	assert_memory_equal(&p->bob.hs, &p->snapshot, sizeof(p->snapshot));

	/* An older timestamp is a replay too. */
	p->timestamp[11] = 0;
	p->timestamp[7]--;
	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 6000 * ms_ns), -EALREADY);
	assert_memory_equal(&p->bob.hs, &p->snapshot, sizeof(p->snapshot));
}

static void test_initiation_flood(void **state)
{
	struct pair *p = *state;
	uint64_t t0 = 1000 * ms_ns;

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, t0), 0);

	/* A newer timestamp within 20 ms of the last accepted initiation. */
	p->timestamp[11] = 1;
	make_initiation(p, p->timestamp);
	memcpy(&p->snapshot, &p->bob.hs, sizeof(p->snapshot));
	assert_int_equal(consume_initiation(p, t0 + 10 * ms_ns), -EBUSY);
	assert_int_equal(consume_initiation(p, t0 + 20 * ms_ns - 1), -EBUSY);
	assert_memory_equal(&p->bob.hs, &p->snapshot, sizeof(p->snapshot));
	/* Exactly 20 ms later it is accepted. */
	assert_int_equal(consume_initiation(p, t0 + 20 * ms_ns), 0);
	assert_int_equal(p->bob.hs.last_initiation_consumed_ns, t0 + 20 * ms_ns);
	assert_memory_equal(p->bob.hs.latest_timestamp, p->timestamp, 12);
}

/* Flips one bit at a time in a field of the initiation; each copy must fail unchanged. */
static void check_tampered_initiation(struct pair *p, size_t offset, size_t len)
{
	struct tapir_msg_initiation good;

	memcpy(&good, &p->init, sizeof(good));
	for (size_t bit = 0; bit < len * 8; bit += 7) {
		memcpy(&p->init, &good, sizeof(good));
		((uint8_t *)&p->init)[offset + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(consume_initiation(p, 1000 * ms_ns), -EINVAL);
		assert_memory_equal(&p->bob.hs, &p->snapshot, sizeof(p->snapshot));
	}
	memcpy(&p->init, &good, sizeof(good));
}

static void test_tampered_initiation(void **state)
{
	struct pair *p = *state;

	make_initiation(p, p->timestamp);
	memcpy(&p->snapshot, &p->bob.hs, sizeof(p->snapshot));
	check_tampered_initiation(p, offsetof(struct tapir_msg_initiation, encrypted_static), 48);
	check_tampered_initiation(p, offsetof(struct tapir_msg_initiation, encrypted_timestamp),
				  28);
	check_tampered_initiation(p, offsetof(struct tapir_msg_initiation, ephemeral), 32);
	/* The untouched message still works. */
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
}

static void test_tampered_response(void **state)
{
	struct pair *p = *state;
	struct tapir_msg_response good;
	const size_t fields[][2] = {
	    {offsetof(struct tapir_msg_response, encrypted_nothing), 16},
	    {offsetof(struct tapir_msg_response, ephemeral), 32},
	};

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	make_response(p);
	memcpy(&good, &p->resp, sizeof(good));
	memcpy(&p->snapshot, &p->alice.hs, sizeof(p->snapshot));
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t bit = 0; bit < fields[f][1] * 8; bit += 5) {
			memcpy(&p->resp, &good, sizeof(good));
			((uint8_t *)&p->resp)[fields[f][0] + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			assert_int_equal(consume_response(p), -EINVAL);
			assert_memory_equal(&p->alice.hs, &p->snapshot, sizeof(p->snapshot));
		}
	}
	memcpy(&p->resp, &good, sizeof(good));
	assert_int_equal(consume_response(p), 0);
}

static void test_response_unknown_index(void **state)
{
	struct pair *p = *state;

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	make_response(p);
	memcpy(&p->snapshot, &p->alice.hs, sizeof(p->snapshot));
	p->resp.receiver_index[0] ^= 0x80;
	assert_int_equal(consume_response(p), -ENOENT);
	assert_memory_equal(&p->alice.hs, &p->snapshot, sizeof(p->snapshot));
	p->resp.receiver_index[0] ^= 0x80;
	assert_int_equal(consume_response(p), 0);
}

static void test_response_wrong_state(void **state)
{
	struct pair *p = *state;

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	make_response(p);
	assert_int_equal(consume_response(p), 0);

	/* CONSUMED_RESPONSE: the same response again. */
	memcpy(&p->snapshot, &p->alice.hs, sizeof(p->snapshot));
	assert_int_equal(consume_response(p), -EINVAL);
	assert_memory_equal(&p->alice.hs, &p->snapshot, sizeof(p->snapshot));

	/* ZEROED and CONSUMED_INITIATION with a matching index are refused as well. */
	assert_int_equal(tapir_noise_derive_keys(&p->alice.hs, &p->keys_a), 0);
	p->alice.hs.local_index = kat_index_i;
	assert_int_equal(consume_response(p), -EINVAL);
	p->alice.hs.state = TAPIR_HANDSHAKE_CONSUMED_INITIATION;
	assert_int_equal(consume_response(p), -EINVAL);
	p->alice.hs.state = TAPIR_HANDSHAKE_CREATED_RESPONSE;
	assert_int_equal(consume_response(p), -EINVAL);

	/* The responder cannot respond twice. */
	assert_int_equal(p->bob.hs.state, TAPIR_HANDSHAKE_CREATED_RESPONSE);
	assert_int_equal(tapir_noise_create_response(&p->bob.local, &p->bob.hs, &p->resp, 7,
						     p->bob.local.private_key),
			 -EINVAL);
}

static void test_no_psk(void **state)
{
	struct pair *p = *state;

	tapir_noise_handshake_init(&p->alice.hs, &p->alice.local, p->bob.local.public_key, NULL);
	tapir_noise_handshake_init(&p->bob.hs, &p->bob.local, p->alice.local.public_key, NULL);
	assert_true(is_zero(p->alice.hs.preshared_key, 32));
	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	make_response(p);
	assert_int_equal(consume_response(p), 0);
	assert_int_equal(tapir_noise_derive_keys(&p->alice.hs, &p->keys_a), 0);
	assert_int_equal(tapir_noise_derive_keys(&p->bob.hs, &p->keys_b), 0);
	assert_memory_equal(p->keys_a.send_key, p->keys_b.recv_key, 32);
	assert_memory_equal(p->keys_a.recv_key, p->keys_b.send_key, 32);
	/* The PSK step changes the keys: they differ from the 10.2 ones. */
	assert_memory_not_equal(p->keys_a.send_key, p->keys_a.recv_key, 32);
	{
		uint8_t kat[32];

		unhex(kat, 32, kat_send_i);
		assert_memory_not_equal(p->keys_a.send_key, kat, 32);
	}

	/* A PSK on one side only fails at the response. */
	tapir_noise_handshake_init(&p->alice.hs, &p->alice.local, p->bob.local.public_key, NULL);
	p->bob.hs.preshared_key[31] = 1;
	p->timestamp[11] = 1;
	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 2000 * ms_ns), 0);
	make_response(p);
	assert_int_equal(consume_response(p), -EINVAL);
}

static void test_low_order_static(void **state)
{
	struct pair *p = *state;
	struct tapir_noise_handshake *hs = &p->snapshot;
	uint8_t point[32], e[32];

	kat_ephemeral(e, kat_e_priv_i);
	for (size_t i = 0; i < sizeof(low_order_points) / sizeof(low_order_points[0]); i++) {
		struct tapir_noise_local forger;
		struct tapir_noise_handshake before;

		unhex(point, 32, low_order_points[i]);

		/* Initiator role: no initiation to such a peer. */
		tapir_noise_handshake_init(hs, &p->alice.local, point, NULL);
		assert_false(hs->is_static_static_valid);
		assert_true(is_zero(hs->precomputed_static_static, 32));
		assert_int_equal(tapir_noise_create_initiation(&p->alice.local, hs, &p->init, 1, e,
							       p->timestamp),
				 -EINVAL);
		assert_int_equal(hs->state, TAPIR_HANDSHAKE_ZEROED);

		/*
		 * Responder role: an initiation claiming that static key is refused. Its "ss" is
		 * the all-zero value anyone can compute, so only the validity flag stops it.
		 */
		memcpy(&forger, &p->alice.local, sizeof(forger));
		memcpy(forger.public_key, point, 32);
		memset(p->alice.hs.precomputed_static_static, 0, 32);
		assert_int_equal(tapir_noise_create_initiation(&forger, &p->alice.hs, &p->init, 1,
							       e, p->timestamp),
				 0);
		tapir_noise_handshake_rekey_static(&p->alice.hs, &p->alice.local);
		tapir_noise_handshake_init(hs, &p->bob.local, point, NULL);
		memcpy(&before, hs, sizeof(before));
		{
			struct tapir_noise_handshake *out = (void *)1;

			assert_int_equal(tapir_noise_consume_initiation(&p->bob.local, &p->init,
									lookup_static, hs,
									1000 * ms_ns, &out),
					 -EINVAL);
			assert_null(out);
		}
		assert_memory_equal(hs, &before, sizeof(before));

		/* A low-order ephemeral fails "es" (initiation) or "ee" (response). */
		make_initiation(p, p->timestamp);
		memcpy(p->init.ephemeral, point, 32);
		assert_int_equal(consume_initiation(p, 1000 * ms_ns), -EINVAL);
	}

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	make_response(p);
	memcpy(p->resp.ephemeral, point, 32);
	memcpy(hs, &p->alice.hs, sizeof(*hs));
	assert_int_equal(consume_response(p), -EINVAL);
	assert_memory_equal(&p->alice.hs, hs, sizeof(*hs));
}

static void test_no_identity(void **state)
{
	struct pair *p = *state;
	struct tapir_noise_local none;
	uint8_t zero[32] = {0}, e[32];

	tapir_noise_local_set_private_key(&none, zero);
	assert_false(none.has_identity);
	assert_true(is_zero(&none, sizeof(none)));
	kat_ephemeral(e, kat_e_priv_i);
	assert_int_equal(
	    tapir_noise_create_initiation(&none, &p->alice.hs, &p->init, 1, e, p->timestamp),
	    -EINVAL);
	make_initiation(p, p->timestamp);
	{
		struct tapir_noise_handshake *out = (void *)1;

		assert_int_equal(tapir_noise_consume_initiation(&none, &p->init, lookup_static,
								&p->bob.hs, 1000 * ms_ns, &out),
				 -EINVAL);
	}
	/* A handshake initialised without an identity has no usable "ss". */
	tapir_noise_handshake_init(&p->snapshot, &none, p->bob.local.public_key, NULL);
	assert_false(p->snapshot.is_static_static_valid);
	tapir_noise_handshake_rekey_static(&p->snapshot, &p->alice.local);
	assert_true(p->snapshot.is_static_static_valid);
	assert_memory_equal(p->snapshot.precomputed_static_static,
			    p->alice.hs.precomputed_static_static, 32);
}

static void test_derive_wrong_state(void **state)
{
	struct pair *p = *state;
	struct tapir_noise_session_keys keys;

	assert_int_equal(tapir_noise_derive_keys(&p->alice.hs, &keys), -EINVAL);
	make_initiation(p, p->timestamp);
	memcpy(&p->snapshot, &p->alice.hs, sizeof(p->snapshot));
	assert_int_equal(tapir_noise_derive_keys(&p->alice.hs, &keys), -EINVAL);
	assert_memory_equal(&p->alice.hs, &p->snapshot, sizeof(p->snapshot));
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	assert_int_equal(tapir_noise_derive_keys(&p->bob.hs, &keys), -EINVAL);
	assert_int_equal(p->bob.hs.state, TAPIR_HANDSHAKE_CONSUMED_INITIATION);
}

static void test_clear_and_destroy(void **state)
{
	struct pair *p = *state;

	make_initiation(p, p->timestamp);
	assert_int_equal(consume_initiation(p, 1000 * ms_ns), 0);
	tapir_noise_handshake_clear(&p->bob.hs);
	assert_int_equal(p->bob.hs.state, TAPIR_HANDSHAKE_ZEROED);
	assert_true(is_zero(p->bob.hs.hash, 32) && is_zero(p->bob.hs.chaining_key, 32));
	assert_true(is_zero(p->bob.hs.remote_ephemeral, 32));
	assert_int_equal(p->bob.hs.remote_index, 0);
	assert_hex(p->bob.hs.preshared_key, 32, kat_psk);
	assert_hex(p->bob.hs.latest_timestamp, 12, kat_tai64n);
	tapir_noise_handshake_destroy(&p->bob.hs);
	assert_true(is_zero(&p->bob.hs, sizeof(p->bob.hs)));
	tapir_noise_handshake_destroy(NULL);
}

static void test_tai64n(void **state)
{
	uint8_t out[12];

	(void)state;
	/* 2020-01-01T00:00:00Z */
	tapir_noise_tai64n(out, 1577836800, 0);
	assert_hex(out, 12, kat_tai64n);
	tapir_noise_tai64n(out, 0, 0);
	assert_hex(out, 12, "400000000000000a00000000");
	/* Nanoseconds are rounded down to a multiple of 2^24. */
	tapir_noise_tai64n(out, 1577836800, 999999999);
	assert_hex(out, 12, "400000005e0be10a3b000000");
	tapir_noise_tai64n(out, 1577836800, (1u << 24) - 1);
	assert_hex(out, 12, "400000005e0be10a00000000");
	tapir_noise_tai64n(out, 1577836800, 1u << 24);
	assert_hex(out, 12, "400000005e0be10a01000000");
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(tapir_noise_state_name(TAPIR_HANDSHAKE_ZEROED), "zeroed");
	assert_string_equal(tapir_noise_state_name(TAPIR_HANDSHAKE_CREATED_INITIATION),
			    "created initiation");
	assert_string_equal(tapir_noise_state_name(TAPIR_HANDSHAKE_CONSUMED_INITIATION),
			    "consumed initiation");
	assert_string_equal(tapir_noise_state_name(TAPIR_HANDSHAKE_CREATED_RESPONSE),
			    "created response");
	assert_string_equal(tapir_noise_state_name(TAPIR_HANDSHAKE_CONSUMED_RESPONSE),
			    "consumed response");
	assert_string_equal(tapir_noise_state_name((enum tapir_handshake_state)99), "unknown");
}

/* splitmix64: a reproducible stream for the randomised test. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void random_bytes(uint64_t *s, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)next_random(s);
}

/*
 * One handshake from @ini to @rsp with fresh random ephemerals and indices. Returns 0, or the
 * source line of the first failed check so that the caller can report it with the seed.
 */
static int random_handshake(uint64_t *s, struct side *ini, struct side *rsp,
			    struct tapir_msg_initiation *init, struct tapir_msg_response *resp,
			    uint64_t now_ns, const uint8_t timestamp[12])
{
	struct tapir_noise_session_keys ki, kr;
	struct tapir_noise_handshake *out;
	uint8_t e_i[32], e_r[32], packet[16 + 16], opened[16];
	uint32_t index_i = (uint32_t)next_random(s), index_r = (uint32_t)next_random(s);

	random_bytes(s, e_i, 32);
	random_bytes(s, e_r, 32);
	if (tapir_noise_create_initiation(&ini->local, &ini->hs, init, index_i, e_i, timestamp))
		return __LINE__;
	if (tapir_noise_consume_initiation(&rsp->local, init, lookup_static, &rsp->hs, now_ns,
					   &out) ||
	    out != &rsp->hs)
		return __LINE__;
	if (memcmp(ini->hs.hash, rsp->hs.hash, 32) != 0 || rsp->hs.remote_index != index_i)
		return __LINE__;
	if (tapir_noise_create_response(&rsp->local, &rsp->hs, resp, index_r, e_r))
		return __LINE__;
	if (tapir_noise_consume_response(&ini->local, resp, lookup_index, &ini->hs, &out) ||
	    out != &ini->hs)
		return __LINE__;
	if (memcmp(ini->hs.hash, rsp->hs.hash, 32) != 0)
		return __LINE__;
	if (tapir_noise_derive_keys(&ini->hs, &ki) || tapir_noise_derive_keys(&rsp->hs, &kr))
		return __LINE__;
	if (memcmp(ki.send_key, kr.recv_key, 32) != 0 ||
	    memcmp(ki.recv_key, kr.send_key, 32) != 0 || memcmp(ki.send_key, ki.recv_key, 32) == 0)
		return __LINE__;
	if (!ki.is_initiator || kr.is_initiator || ki.local_index != index_i ||
	    ki.remote_index != index_r || kr.local_index != index_r || kr.remote_index != index_i)
		return __LINE__;
	/* A keepalive sealed by the initiator opens on the responder. */
	tapir_aead_seal(packet + 16, packet + 16, 0, no_data, 0, 0, ki.send_key);
	if (!tapir_aead_open(opened, packet + 16, 16, no_data, 0, 0, kr.recv_key))
		return __LINE__;
	return 0;
}

static int random_round(uint64_t *s, struct pair *p, int round)
{
	uint8_t key[32], psk[32];
	bool has_psk = next_random(s) & 1;
	uint64_t now_ns = 1000 * ms_ns;
	int line;

	random_bytes(s, key, 32);
	tapir_noise_local_set_private_key(&p->alice.local, key);
	random_bytes(s, key, 32);
	tapir_noise_local_set_private_key(&p->bob.local, key);
	random_bytes(s, psk, 32);
	tapir_noise_handshake_init(&p->alice.hs, &p->alice.local, p->bob.local.public_key,
				   has_psk ? psk : NULL);
	tapir_noise_handshake_init(&p->bob.hs, &p->bob.local, p->alice.local.public_key,
				   has_psk ? psk : NULL);
	tapir_noise_tai64n(p->timestamp, 1577836800 + (uint64_t)round, 0);

	/* Alice initiates, then Bob (the history on each side must not get in the way). */
	line = random_handshake(s, &p->alice, &p->bob, &p->init, &p->resp, now_ns, p->timestamp);
	if (line)
		return line;
	return random_handshake(s, &p->bob, &p->alice, &p->init, &p->resp, now_ns, p->timestamp);
}

static void test_random_handshakes(void **state)
{
	struct pair *p = *state;
	const char *env = getenv("TAPIR_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
	uint64_t s = seed;

	for (int round = 0; round < 50; round++) {
		int line = random_round(&s, p, round);

		if (line)
			fail_msg("round %d failed at line %d; rerun with TAPIR_TEST_SEED=%" PRIu64,
				 round, line, seed);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_c0_h0_and_keys, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_kat_full, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_static, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_replayed_initiation, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_initiation_flood, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_initiation, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_response, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_response_unknown_index, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_response_wrong_state, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_no_psk, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_low_order_static, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_no_identity, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_derive_wrong_state, pair_setup, pair_teardown),
	    cmocka_unit_test_setup_teardown(test_clear_and_destroy, pair_setup, pair_teardown),
	    cmocka_unit_test(test_tai64n),
	    cmocka_unit_test(test_state_names),
	    cmocka_unit_test_setup_teardown(test_random_handshakes, pair_setup, pair_teardown),
	};

	return cmocka_run_group_tests_name("noise", tests, global_setup, NULL);
}
