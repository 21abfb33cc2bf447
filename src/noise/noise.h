/* SPDX-License-Identifier: MIT */
/*
 * Noise_IKpsk2 handshake of WireGuard (wireguard-protocol.md section 3): building and consuming
 * initiations and responses and deriving transport keys. Pure computation on caller-owned
 * state: no I/O, no clock, no RNG (ephemeral keys, indices and timestamps are passed in), no
 * locks. The daemon calls it from its control thread only; tests drive it with plain buffers.
 * mac1/mac2 are not handled here (cookie.h) so that they can be checked before any DH work.
 */
#ifndef TAPIR_NOISE_H
#define TAPIR_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

/* The device's static identity. */
struct tapir_noise_local {
	bool has_identity;
	uint8_t private_key[32];
	uint8_t public_key[32];
	uint8_t mac1_key[32];	/* HASH(LABEL_MAC1 || public_key): checks mac1 of messages to us */
	uint8_t cookie_key[32]; /* HASH(LABEL_COOKIE || public_key): seals our cookie replies */
};

enum tapir_handshake_state {
	TAPIR_HANDSHAKE_ZEROED,
	TAPIR_HANDSHAKE_CREATED_INITIATION,
	TAPIR_HANDSHAKE_CONSUMED_INITIATION,
	TAPIR_HANDSHAKE_CREATED_RESPONSE,
	TAPIR_HANDSHAKE_CONSUMED_RESPONSE,
};

/* Per-peer handshake state. Owned by the peer; touched only by the control thread. */
struct tapir_noise_handshake {
	enum tapir_handshake_state state;
	uint8_t remote_static[32];
	uint8_t preshared_key[32]; /* all zero = no PSK */
	uint8_t precomputed_static_static[32];
	bool is_static_static_valid;   /* false when DH(local, remote) was all zero */
	uint8_t remote_mac1_key[32];   /* HASH(LABEL_MAC1 || remote_static) */
	uint8_t remote_cookie_key[32]; /* HASH(LABEL_COOKIE || remote_static) */
	uint8_t hash[32];
	uint8_t chaining_key[32];
	uint8_t ephemeral_private[32];
	uint8_t remote_ephemeral[32];
	uint32_t local_index;  /* host value of the LE32 we put on the wire */
	uint32_t remote_index; /* host value of the LE32 the peer put on the wire */
	uint8_t latest_timestamp[12];
	uint64_t last_initiation_consumed_ns; /* 0 = never */
};

/* Transport keys of a finished handshake (section 3.6). */
struct tapir_noise_session_keys {
	uint8_t send_key[32];
	uint8_t recv_key[32];
	uint32_t local_index;
	uint32_t remote_index;
	bool is_initiator;
};

/*
 * Finds the handshake of the peer whose static public key is @remote_static, or NULL when no
 * such peer exists. Called by tapir_noise_consume_initiation().
 */
typedef struct tapir_noise_handshake *(*tapir_noise_lookup_static_fn)(
    void *ctx, const uint8_t remote_static[32]);
/* Finds the handshake whose local_index is @local_index, or NULL. */
typedef struct tapir_noise_handshake *(*tapir_noise_lookup_index_fn)(void *ctx,
								     uint32_t local_index);

const char *tapir_noise_state_name(enum tapir_handshake_state state);

/*
 * Sets (clamped) or clears (all zero) the static private key and derives public_key, mac1_key
 * and cookie_key.
 */
void tapir_noise_local_set_private_key(struct tapir_noise_local *local, const uint8_t key[32]);

/*
 * Initialises @hs for a peer with @remote_static and @psk (NULL = none): zeroes it, computes the
 * static-static DH against @local (if it has an identity) and the peer's mac1/cookie keys.
 */
void tapir_noise_handshake_init(struct tapir_noise_handshake *hs,
				const struct tapir_noise_local *local,
				const uint8_t remote_static[32], const uint8_t *psk);
/* Recomputes the static-static DH after the local private key changed; clears ephemeral state. */
void tapir_noise_handshake_rekey_static(struct tapir_noise_handshake *hs,
					const struct tapir_noise_local *local);
/* Wipes chaining key, hash, ephemeral keys and indices; state becomes ZEROED. */
void tapir_noise_handshake_clear(struct tapir_noise_handshake *hs);
/* Wipes everything, including the PSK (peer destruction). */
void tapir_noise_handshake_destroy(struct tapir_noise_handshake *hs);

/*
 * Initiator, section 3.2 steps 1-13: fills @msg except mac1/mac2 and moves @hs to
 * CREATED_INITIATION. @ephemeral_private is a fresh clamped key (DH_GENERATE), @timestamp the
 * TAI64N to send. Returns 0, or -EINVAL when there is no identity or a DH result was zero.
 */
int tapir_noise_create_initiation(const struct tapir_noise_local *local,
				  struct tapir_noise_handshake *hs,
				  struct tapir_msg_initiation *msg, uint32_t local_index,
				  const uint8_t ephemeral_private[32], const uint8_t timestamp[12]);

/*
 * Responder, section 3.3: @msg is a 148-byte initiation whose mac1 was already checked.
 * On success the peer's handshake (found through @lookup) is in CONSUMED_INITIATION and is
 * returned through @out_hs; the caller then updates the endpoint. Nothing is written to any
 * peer state on failure. Errors: -EINVAL (no identity, bad crypto), -ENOKEY (unknown peer),
 * -EALREADY (replayed timestamp), -EBUSY (flood: < 20 ms after the last accepted initiation).
 */
int tapir_noise_consume_initiation(const struct tapir_noise_local *local,
				   const struct tapir_msg_initiation *msg,
				   tapir_noise_lookup_static_fn lookup, void *lookup_ctx,
				   uint64_t now_ns, struct tapir_noise_handshake **out_hs);

/*
 * Responder, section 3.4 steps 1-11 (without the MACs): @hs must be CONSUMED_INITIATION.
 * Fills @msg except mac1/mac2 and moves @hs to CREATED_RESPONSE. Returns 0 or -EINVAL.
 */
int tapir_noise_create_response(const struct tapir_noise_local *local,
				struct tapir_noise_handshake *hs, struct tapir_msg_response *msg,
				uint32_t local_index, const uint8_t ephemeral_private[32]);

/*
 * Initiator, section 3.5: @msg is a 92-byte response whose mac1 was already checked. The
 * handshake is found through @lookup by receiver_index and must be CREATED_INITIATION. On
 * success it moves to CONSUMED_RESPONSE and is returned through @out_hs. Work happens on
 * copies; on failure the stored handshake is untouched. Errors: -ENOENT, -EINVAL.
 */
int tapir_noise_consume_response(const struct tapir_noise_local *local,
				 const struct tapir_msg_response *msg,
				 tapir_noise_lookup_index_fn lookup, void *lookup_ctx,
				 struct tapir_noise_handshake **out_hs);

/*
 * Section 3.6: derives the transport keys from a CREATED_RESPONSE (responder) or
 * CONSUMED_RESPONSE (initiator) handshake, then clears the handshake (ZEROED). The keypair's
 * local index is hs->local_index. Returns 0 or -EINVAL for any other state.
 */
int tapir_noise_derive_keys(struct tapir_noise_handshake *hs, struct tapir_noise_session_keys *out);

/* TAI64N of section 1.6 for a CLOCK_REALTIME value, nanoseconds rounded down to 2^24. */
void tapir_noise_tai64n(uint8_t out[12], uint64_t unix_sec, uint32_t nsec);

#endif
