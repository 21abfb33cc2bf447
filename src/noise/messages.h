/* SPDX-License-Identifier: MIT */
/*
 * WireGuard wire formats and protocol constants (wireguard-protocol.md sections 2 and 5).
 * All integer fields are little-endian on the wire; structs hold bytes, accessors convert.
 * This is the only place protocol constants live.
 */
#ifndef TAPIR_MESSAGES_H
#define TAPIR_MESSAGES_H

#include <stdint.h>
#include <string.h>

enum tapir_message_type {
	TAPIR_MSG_INITIATION = 1,
	TAPIR_MSG_RESPONSE = 2,
	TAPIR_MSG_COOKIE = 3,
	TAPIR_MSG_DATA = 4,
};

enum tapir_message_len {
	TAPIR_MSG_INITIATION_LEN = 148,
	TAPIR_MSG_RESPONSE_LEN = 92,
	TAPIR_MSG_COOKIE_LEN = 64,
	TAPIR_MSG_DATA_HEADER_LEN = 16,
	TAPIR_MSG_DATA_MIN_LEN = 32,
	TAPIR_MSG_MAX_LEN = 65535,
};

enum tapir_noise_len {
	TAPIR_NOISE_PUBLIC_KEY_LEN = 32,
	TAPIR_NOISE_SYMMETRIC_KEY_LEN = 32,
	TAPIR_NOISE_HASH_LEN = 32,
	TAPIR_NOISE_TIMESTAMP_LEN = 12,
	TAPIR_COOKIE_LEN = 16,
	TAPIR_COOKIE_NONCE_LEN = 24,
	TAPIR_AUTHTAG_LEN = 16,
};

/* Timer constants of section 5.1, in the units their names say. */
enum tapir_timer_constants_ms {
	REKEY_AFTER_TIME_MS = 120000,
	REJECT_AFTER_TIME_MS = 180000,
	REKEY_ATTEMPT_TIME_MS = 90000,
	REKEY_TIMEOUT_MS = 5000,
	REKEY_TIMEOUT_JITTER_MAX_MS = 334,
	KEEPALIVE_TIMEOUT_MS = 10000,
	INITIATION_MIN_INTERVAL_MS = 20, /* 1 s / INITIATIONS_PER_SECOND */
	COOKIE_SECRET_MAX_AGE_MS = 120000,
	COOKIE_SECRET_LATENCY_MS = 5000,
	ZERO_KEY_MATERIAL_AFTER_MS = 3 * REJECT_AFTER_TIME_MS,
	UNDER_LOAD_HOLD_MS = 1000,
};

enum tapir_limits {
	MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME_MS / REKEY_TIMEOUT_MS, /* 18 */
	MAX_STAGED_PACKETS = 128,
	MAX_PEER_ALLOWED_IPS = 1 << 20,
};

#define REKEY_AFTER_MESSAGES (1ull << 60)
#define REJECT_AFTER_MESSAGES 0xFFFFFFFFFFFFDFFFull

struct tapir_msg_initiation {
	uint8_t type, reserved[3];
	uint8_t sender_index[4];
	uint8_t ephemeral[32];
	uint8_t encrypted_static[32 + 16];
	uint8_t encrypted_timestamp[12 + 16];
	uint8_t mac1[16];
	uint8_t mac2[16];
};

struct tapir_msg_response {
	uint8_t type, reserved[3];
	uint8_t sender_index[4];
	uint8_t receiver_index[4];
	uint8_t ephemeral[32];
	uint8_t encrypted_nothing[16];
	uint8_t mac1[16];
	uint8_t mac2[16];
};

struct tapir_msg_cookie {
	uint8_t type, reserved[3];
	uint8_t receiver_index[4];
	uint8_t nonce[24];
	uint8_t encrypted_cookie[16 + 16];
};

struct tapir_msg_data {
	uint8_t type, reserved[3];
	uint8_t receiver_index[4];
	uint8_t counter[8];
	/* followed by the encrypted packet and its 16-byte tag */
};

_Static_assert(sizeof(struct tapir_msg_initiation) == TAPIR_MSG_INITIATION_LEN, "initiation");
_Static_assert(sizeof(struct tapir_msg_response) == TAPIR_MSG_RESPONSE_LEN, "response");
_Static_assert(sizeof(struct tapir_msg_cookie) == TAPIR_MSG_COOKIE_LEN, "cookie");
_Static_assert(sizeof(struct tapir_msg_data) == TAPIR_MSG_DATA_HEADER_LEN, "data");

static inline uint32_t tapir_le32_get(const uint8_t b[4])
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void tapir_le32_put(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline uint64_t tapir_le64_get(const uint8_t b[8])
{
	return (uint64_t)tapir_le32_get(b) | (uint64_t)tapir_le32_get(b + 4) << 32;
}

static inline void tapir_le64_put(uint8_t b[8], uint64_t v)
{
	tapir_le32_put(b, (uint32_t)v);
	tapir_le32_put(b + 4, (uint32_t)(v >> 32));
}

/* Writes the 4-byte header: type, then three zero bytes. */
static inline void tapir_msg_put_header(uint8_t *msg, enum tapir_message_type type)
{
	msg[0] = (uint8_t)type;
	msg[1] = msg[2] = msg[3] = 0;
}

/*
 * Reads the 4-byte header of a datagram: returns the message type (1-4) when the length is
 * right for that type and the reserved bytes are zero, 0 otherwise (section 2.5).
 */
static inline int tapir_msg_classify(const uint8_t *buf, size_t len)
{
	if (len < 4)
		return 0;
	switch (tapir_le32_get(buf)) {
	case TAPIR_MSG_INITIATION:
		return len == TAPIR_MSG_INITIATION_LEN ? TAPIR_MSG_INITIATION : 0;
	case TAPIR_MSG_RESPONSE:
		return len == TAPIR_MSG_RESPONSE_LEN ? TAPIR_MSG_RESPONSE : 0;
	case TAPIR_MSG_COOKIE:
		return len == TAPIR_MSG_COOKIE_LEN ? TAPIR_MSG_COOKIE : 0;
	case TAPIR_MSG_DATA:
		return len >= TAPIR_MSG_DATA_MIN_LEN ? TAPIR_MSG_DATA : 0;
	default:
		return 0;
	}
}

#endif
