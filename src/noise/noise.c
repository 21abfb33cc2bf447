// SPDX-License-Identifier: MIT
/*
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (wireguard-protocol.md sections
 * 1.8 and 3.2-3.6): building and consuming the initiation and the response, and deriving the
 * transport keys. Every function works on local copies of the chaining key and hash and writes
 * the caller's handshake only once all checks have passed, so a forged or replayed message
 * changes nothing. This file must not do I/O, read a clock, draw random numbers or take locks:
 * ephemeral keys, indices, timestamps and the current time come from the caller. mac1/mac2
 * belong to cookie.c.
 */
#include "noise.h"

#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"

/* C0 = HASH(CONSTRUCTION) and H0 = HASH(C0 || IDENTIFIER), section 1.8. */
static const uint8_t initial_chaining_key[32] = {
    0x60, 0xe2, 0x6d, 0xae, 0xf3, 0x27, 0xef, 0xc0, 0x2e, 0xc3, 0x35, 0xe2, 0xa0, 0x25, 0xd2, 0xd0,
    0x16, 0xeb, 0x42, 0x06, 0xf8, 0x72, 0x77, 0xf5, 0x2d, 0x38, 0xd1, 0x98, 0x8b, 0x78, 0xcd, 0x36,
};
static const uint8_t initial_hash[32] = {
    0x22, 0x11, 0xb3, 0x61, 0x08, 0x1a, 0xc5, 0x66, 0x69, 0x12, 0x43, 0xdb, 0x45, 0x8a, 0xd5, 0x32,
    0x2d, 0x9c, 0x6c, 0x66, 0x22, 0x93, 0xe8, 0xb7, 0x0e, 0xe1, 0x9c, 0x65, 0xba, 0x07, 0x9e, 0xf3,
};

/* Protocol strings of section 1.7, without a NUL. */
static const uint8_t label_mac1[8] = {'m', 'a', 'c', '1', '-', '-', '-', '-'};
static const uint8_t label_cookie[8] = {'c', 'o', 'o', 'k', 'i', 'e', '-', '-'};

/* Stands in for the empty string: the crypto API takes no NULL buffers. */
static const uint8_t empty[1];

static const uint64_t initiation_min_interval_ns = (uint64_t)INITIATION_MIN_INTERVAL_MS * 1000000;

const char *tapir_noise_state_name(enum tapir_handshake_state state)
{
	switch (state) {
	case TAPIR_HANDSHAKE_ZEROED:
		return "zeroed";
	case TAPIR_HANDSHAKE_CREATED_INITIATION:
		return "created initiation";
	case TAPIR_HANDSHAKE_CONSUMED_INITIATION:
		return "consumed initiation";
	case TAPIR_HANDSHAKE_CREATED_RESPONSE:
		return "created response";
	case TAPIR_HANDSHAKE_CONSUMED_RESPONSE:
		return "consumed response";
	default:
		return "unknown";
	}
}

/* H := HASH(H || in). Goes through a temporary so that no aliasing rule of tapir_hash matters. */
static void mix_hash(uint8_t h[32], const uint8_t *in, size_t len)
{
	uint8_t t[32];

	tapir_hash(t, h, 32, in, len);
	memcpy(h, t, 32);
	tapir_wipe(t, sizeof(t));
}

/* C := KDF1(C, in). */
static void mix_key(uint8_t c[32], const uint8_t *in, size_t len)
{
	uint8_t t[32];

	tapir_kdf(t, NULL, NULL, c, in, len);
	memcpy(c, t, 32);
	tapir_wipe(t, sizeof(t));
}

/* (C, k) := KDF2(C, DH(priv, pub)); false when the DH result is all zero (section 1.2). */
static bool mix_dh(uint8_t c[32], uint8_t k[32], const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t dh[32], t[32];
	bool is_ok = tapir_x25519(dh, priv, pub);

	if (is_ok) {
		tapir_kdf(t, k, NULL, c, dh, sizeof(dh));
		memcpy(c, t, 32);
	}
	tapir_wipe(dh, sizeof(dh));
	tapir_wipe(t, sizeof(t));
	return is_ok;
}

/* C := KDF1(C, DH(priv, pub)), the form used by the response's "ee" and "se". */
static bool mix_dh_only(uint8_t c[32], const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t dh[32];
	bool is_ok = tapir_x25519(dh, priv, pub);

	if (is_ok)
		mix_key(c, dh, sizeof(dh));
	tapir_wipe(dh, sizeof(dh));
	return is_ok;
}

/* (C, k) := KDF2(C, ss) with a precomputed static-static DH. */
static void mix_precomputed(uint8_t c[32], uint8_t k[32], const uint8_t ss[32])
{
	uint8_t t[32];

	tapir_kdf(t, k, NULL, c, ss, 32);
	memcpy(c, t, 32);
	tapir_wipe(t, sizeof(t));
}

/* (C, tau, k) := KDF3(C, Q); H := HASH(H || tau). The step runs even when Q is all zero. */
static void mix_psk(uint8_t c[32], uint8_t h[32], uint8_t k[32], const uint8_t psk[32])
{
	uint8_t t[32], tau[32];

	tapir_kdf(t, tau, k, c, psk, 32);
	memcpy(c, t, 32);
	mix_hash(h, tau, sizeof(tau));
	tapir_wipe(t, sizeof(t));
	tapir_wipe(tau, sizeof(tau));
}

/* C := C0; H := HASH(H0 || S_pub_responder): the start of both sides (3.2 and 3.3 step 1). */
static void handshake_start(uint8_t c[32], uint8_t h[32], const uint8_t responder_static[32])
{
	memcpy(c, initial_chaining_key, 32);
	tapir_hash(h, initial_hash, sizeof(initial_hash), responder_static, 32);
}

void tapir_noise_local_set_private_key(struct tapir_noise_local *local, const uint8_t key[32])
{
	tapir_wipe(local, sizeof(*local));
	if (tapir_is_zero_ct(key, 32))
		return;
	memcpy(local->private_key, key, 32);
	tapir_x25519_clamp(local->private_key);
	tapir_x25519_public(local->public_key, local->private_key);
	tapir_hash(local->mac1_key, label_mac1, sizeof(label_mac1), local->public_key, 32);
	tapir_hash(local->cookie_key, label_cookie, sizeof(label_cookie), local->public_key, 32);
	local->has_identity = true;
}

void tapir_noise_handshake_init(struct tapir_noise_handshake *hs,
				const struct tapir_noise_local *local,
				const uint8_t remote_static[32], const uint8_t *psk)
{
	tapir_wipe(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, 32);
	if (psk)
		memcpy(hs->preshared_key, psk, 32);
	/* mac1 and cookie replies to this peer are keyed with the peer's static key (4.1) */
	tapir_hash(hs->remote_mac1_key, label_mac1, sizeof(label_mac1), remote_static, 32);
	tapir_hash(hs->remote_cookie_key, label_cookie, sizeof(label_cookie), remote_static, 32);
	tapir_noise_handshake_rekey_static(hs, local);
}

void tapir_noise_handshake_rekey_static(struct tapir_noise_handshake *hs,
					const struct tapir_noise_local *local)
{
	tapir_noise_handshake_clear(hs);
	/* A zero "ss" refuses the peer in both roles (1.2); tapir_x25519 zeroes the output then. */
	hs->is_static_static_valid =
	    local->has_identity &&
	    tapir_x25519(hs->precomputed_static_static, local->private_key, hs->remote_static);
	if (!hs->is_static_static_valid)
		tapir_wipe(hs->precomputed_static_static, 32);
}

void tapir_noise_handshake_clear(struct tapir_noise_handshake *hs)
{
	tapir_wipe(hs->hash, sizeof(hs->hash));
	tapir_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	tapir_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	tapir_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = TAPIR_HANDSHAKE_ZEROED;
}

void tapir_noise_handshake_destroy(struct tapir_noise_handshake *hs)
{
	if (hs)
		tapir_wipe(hs, sizeof(*hs));
}

int tapir_noise_create_initiation(const struct tapir_noise_local *local,
				  struct tapir_noise_handshake *hs,
				  struct tapir_msg_initiation *msg, uint32_t local_index,
				  const uint8_t ephemeral_private[32], const uint8_t timestamp[12])
{
	uint8_t c[32], h[32], k[32], e_priv[32];
	int ret = -EINVAL;

	memset(msg, 0, sizeof(*msg));
	if (!local->has_identity || !hs->is_static_static_valid)
		goto out;
	memcpy(e_priv, ephemeral_private, 32);
	tapir_x25519_clamp(e_priv);

	handshake_start(c, h, hs->remote_static);
	msg->type = TAPIR_MSG_INITIATION;
	tapir_le32_put(msg->sender_index, local_index);

	/* e */
	tapir_x25519_public(msg->ephemeral, e_priv);
	mix_hash(h, msg->ephemeral, sizeof(msg->ephemeral));
	mix_key(c, msg->ephemeral, sizeof(msg->ephemeral));

	/* es */
	if (!mix_dh(c, k, e_priv, hs->remote_static))
		goto out;

	/* s */
	tapir_aead_seal(msg->encrypted_static, local->public_key, 32, h, sizeof(h), 0, k);
	mix_hash(h, msg->encrypted_static, sizeof(msg->encrypted_static));

	/* ss */
	mix_precomputed(c, k, hs->precomputed_static_static);

	/* {t} */
	tapir_aead_seal(msg->encrypted_timestamp, timestamp, TAPIR_NOISE_TIMESTAMP_LEN, h,
			sizeof(h), 0, k);
	mix_hash(h, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp));

	hs->state = TAPIR_HANDSHAKE_CREATED_INITIATION;
	memcpy(hs->chaining_key, c, 32);
	memcpy(hs->hash, h, 32);
	memcpy(hs->ephemeral_private, e_priv, 32);
	tapir_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	hs->local_index = local_index;
	hs->remote_index = 0;
	ret = 0;
out:
	if (ret)
		memset(msg, 0, sizeof(*msg));
	tapir_wipe(c, sizeof(c));
	tapir_wipe(h, sizeof(h));
	tapir_wipe(k, sizeof(k));
	tapir_wipe(e_priv, sizeof(e_priv));
	return ret;
}

/* 3.3 step 11: the replay and flood checks against the peer's history. */
static int check_initiation_history(const struct tapir_noise_handshake *hs,
				    const uint8_t timestamp[12], uint64_t now_ns)
{
	/* TAI64N is big-endian, so memcmp orders timestamps (1.6) */
	if (memcmp(timestamp, hs->latest_timestamp, TAPIR_NOISE_TIMESTAMP_LEN) <= 0)
		return -EALREADY;
	/* A clock that went backwards counts as "too soon", as in the kernel. */
	if (hs->last_initiation_consumed_ns != 0 &&
	    now_ns < hs->last_initiation_consumed_ns + initiation_min_interval_ns)
		return -EBUSY;
	return 0;
}

int tapir_noise_consume_initiation(const struct tapir_noise_local *local,
				   const struct tapir_msg_initiation *msg,
				   tapir_noise_lookup_static_fn lookup, void *lookup_ctx,
				   uint64_t now_ns, struct tapir_noise_handshake **out_hs)
{
	uint8_t c[32], h[32], k[32], s_pub[32], t[TAPIR_NOISE_TIMESTAMP_LEN];
	struct tapir_noise_handshake *hs;
	int ret = -EINVAL;

	*out_hs = NULL;
	if (!local->has_identity)
		goto out;
	handshake_start(c, h, local->public_key);

	/* e */
	mix_hash(h, msg->ephemeral, sizeof(msg->ephemeral));
	mix_key(c, msg->ephemeral, sizeof(msg->ephemeral));

	/* es */
	if (!mix_dh(c, k, local->private_key, msg->ephemeral))
		goto out;

	/* s */
	if (!tapir_aead_open(s_pub, msg->encrypted_static, sizeof(msg->encrypted_static), h,
			     sizeof(h), 0, k))
		goto out;
	mix_hash(h, msg->encrypted_static, sizeof(msg->encrypted_static));

	/* Only an authenticated static key may select a peer. */
	hs = lookup(lookup_ctx, s_pub);
	if (!hs) {
		ret = -ENOKEY;
		goto out;
	}
	if (!hs->is_static_static_valid)
		goto out;

	/* ss */
	mix_precomputed(c, k, hs->precomputed_static_static);

	/* {t} */
	if (!tapir_aead_open(t, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp), h,
			     sizeof(h), 0, k))
		goto out;
	mix_hash(h, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp));

	ret = check_initiation_history(hs, t, now_ns);
	if (ret)
		goto out;

	/* Commit. A pending initiation of ours is abandoned: we are the responder now (3.8). */
	hs->state = TAPIR_HANDSHAKE_CONSUMED_INITIATION;
	memcpy(hs->hash, h, 32);
	memcpy(hs->chaining_key, c, 32);
	tapir_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	memcpy(hs->remote_ephemeral, msg->ephemeral, 32);
	hs->remote_index = tapir_le32_get(msg->sender_index);
	memcpy(hs->latest_timestamp, t, sizeof(t));
	hs->last_initiation_consumed_ns = now_ns;
	*out_hs = hs;
out:
	tapir_wipe(c, sizeof(c));
	tapir_wipe(h, sizeof(h));
	tapir_wipe(k, sizeof(k));
	tapir_wipe(s_pub, sizeof(s_pub));
	tapir_wipe(t, sizeof(t));
	return ret;
}

int tapir_noise_create_response(const struct tapir_noise_local *local,
				struct tapir_noise_handshake *hs, struct tapir_msg_response *msg,
				uint32_t local_index, const uint8_t ephemeral_private[32])
{
	uint8_t c[32], h[32], k[32], e_priv[32];
	int ret = -EINVAL;

	memset(msg, 0, sizeof(*msg));
	if (!local->has_identity || hs->state != TAPIR_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	memcpy(c, hs->chaining_key, 32);
	memcpy(h, hs->hash, 32);
	memcpy(e_priv, ephemeral_private, 32);
	tapir_x25519_clamp(e_priv);

	msg->type = TAPIR_MSG_RESPONSE;
	tapir_le32_put(msg->sender_index, local_index);
	tapir_le32_put(msg->receiver_index, hs->remote_index);

	/* e */
	tapir_x25519_public(msg->ephemeral, e_priv);
	mix_hash(h, msg->ephemeral, sizeof(msg->ephemeral));
	mix_key(c, msg->ephemeral, sizeof(msg->ephemeral));

	/* ee, se */
	if (!mix_dh_only(c, e_priv, hs->remote_ephemeral))
		goto out;
	if (!mix_dh_only(c, e_priv, hs->remote_static))
		goto out;

	/* psk */
	mix_psk(c, h, k, hs->preshared_key);

	/* {} */
	tapir_aead_seal(msg->encrypted_nothing, empty, 0, h, sizeof(h), 0, k);
	mix_hash(h, msg->encrypted_nothing, sizeof(msg->encrypted_nothing));

	hs->state = TAPIR_HANDSHAKE_CREATED_RESPONSE;
	memcpy(hs->chaining_key, c, 32);
	memcpy(hs->hash, h, 32);
	memcpy(hs->ephemeral_private, e_priv, 32);
	hs->local_index = local_index;
	ret = 0;
out:
	if (ret)
		memset(msg, 0, sizeof(*msg));
	tapir_wipe(c, sizeof(c));
	tapir_wipe(h, sizeof(h));
	tapir_wipe(k, sizeof(k));
	tapir_wipe(e_priv, sizeof(e_priv));
	return ret;
}

int tapir_noise_consume_response(const struct tapir_noise_local *local,
				 const struct tapir_msg_response *msg,
				 tapir_noise_lookup_index_fn lookup, void *lookup_ctx,
				 struct tapir_noise_handshake **out_hs)
{
	uint8_t c[32], h[32], k[32], e_priv[32], nothing[1];
	uint32_t index = tapir_le32_get(msg->receiver_index);
	struct tapir_noise_handshake *hs;
	int ret = -EINVAL;

	*out_hs = NULL;
	if (!local->has_identity)
		goto out;
	hs = lookup(lookup_ctx, index);
	if (!hs || hs->local_index != index) {
		ret = -ENOENT;
		goto out;
	}
	if (hs->state != TAPIR_HANDSHAKE_CREATED_INITIATION)
		goto out;
	memcpy(c, hs->chaining_key, 32);
	memcpy(h, hs->hash, 32);
	memcpy(e_priv, hs->ephemeral_private, 32);

	/* e */
	mix_hash(h, msg->ephemeral, sizeof(msg->ephemeral));
	mix_key(c, msg->ephemeral, sizeof(msg->ephemeral));

	/* ee, se */
	if (!mix_dh_only(c, e_priv, msg->ephemeral))
		goto out;
	if (!mix_dh_only(c, local->private_key, msg->ephemeral))
		goto out;

	/* psk */
	mix_psk(c, h, k, hs->preshared_key);

	/* {} */
	if (!tapir_aead_open(nothing, msg->encrypted_nothing, sizeof(msg->encrypted_nothing), h,
			     sizeof(h), 0, k))
		goto out;
	mix_hash(h, msg->encrypted_nothing, sizeof(msg->encrypted_nothing));

	hs->state = TAPIR_HANDSHAKE_CONSUMED_RESPONSE;
	memcpy(hs->chaining_key, c, 32);
	memcpy(hs->hash, h, 32);
	hs->remote_index = tapir_le32_get(msg->sender_index);
	*out_hs = hs;
	ret = 0;
out:
	tapir_wipe(c, sizeof(c));
	tapir_wipe(h, sizeof(h));
	tapir_wipe(k, sizeof(k));
	tapir_wipe(e_priv, sizeof(e_priv));
	return ret;
}

int tapir_noise_derive_keys(struct tapir_noise_handshake *hs, struct tapir_noise_session_keys *out)
{
	uint8_t t1[32], t2[32];

	switch (hs->state) {
	case TAPIR_HANDSHAKE_CREATED_RESPONSE:
		out->is_initiator = false;
		break;
	case TAPIR_HANDSHAKE_CONSUMED_RESPONSE:
		out->is_initiator = true;
		break;
	case TAPIR_HANDSHAKE_ZEROED:
	case TAPIR_HANDSHAKE_CREATED_INITIATION:
	case TAPIR_HANDSHAKE_CONSUMED_INITIATION:
	default:
		return -EINVAL;
	}

	/* The first output protects initiator-to-responder traffic (3.6). */
	tapir_kdf(t1, t2, NULL, hs->chaining_key, empty, 0);
	memcpy(out->send_key, out->is_initiator ? t1 : t2, 32);
	memcpy(out->recv_key, out->is_initiator ? t2 : t1, 32);
	out->local_index = hs->local_index;
	out->remote_index = hs->remote_index;
	tapir_noise_handshake_clear(hs);

	tapir_wipe(t1, sizeof(t1));
	tapir_wipe(t2, sizeof(t2));
	return 0;
}

void tapir_noise_tai64n(uint8_t out[12], uint64_t unix_sec, uint32_t nsec)
{
	uint64_t sec = 0x400000000000000AULL + unix_sec;

	/* Hide sub-16.8 ms timing, as both reference implementations do (1.6). */
	nsec &= ~((UINT32_C(1) << 24) - 1);
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(sec >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}
