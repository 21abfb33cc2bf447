// SPDX-License-Identifier: MIT
/*
 * mac1, mac2 and cookie replies (wireguard-protocol.md section 4). The checker side validates
 * the MACs of incoming handshake messages and answers with sealed cookies; the maker side adds
 * the MACs to outgoing messages and stores the cookies it is sent. This file must not do I/O,
 * read a clock or draw random numbers: the time, nonces and fresh secrets are passed in.
 * Comparisons of MACs are constant-time.
 */
#include "cookie.h"

#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "noise.h"

enum {
	MACS_LEN_BYTES = 2 * TAPIR_COOKIE_LEN, /* mac1 || mac2 end every handshake message */
};

static const uint64_t nsec_per_ms = 1000000;

/* True while @birth_ns is less than @max_ms old; a birth in the future counts as stale. */
static bool is_younger_than(uint64_t birth_ns, uint64_t now_ns, uint64_t max_ms)
{
	return now_ns >= birth_ns && now_ns - birth_ns < max_ms * nsec_per_ms;
}

/* R is regenerated lazily, when a cookie is next needed and R is 120 s old (4.4). */
static void refresh_secret(struct tapir_cookie_checker *checker, uint64_t now_ns,
			   const uint8_t new_secret[32])
{
	if (checker->has_secret &&
	    is_younger_than(checker->secret_birth_ns, now_ns, COOKIE_SECRET_MAX_AGE_MS))
		return;
	memcpy(checker->secret, new_secret, sizeof(checker->secret));
	checker->secret_birth_ns = now_ns;
	checker->has_secret = true;
}

/* cookie = MAC(R, source address bytes). */
static void make_cookie(uint8_t cookie[TAPIR_COOKIE_LEN], struct tapir_cookie_checker *checker,
			const uint8_t *src, size_t src_len, uint64_t now_ns,
			const uint8_t new_secret[32])
{
	refresh_secret(checker, now_ns, new_secret);
	tapir_mac(cookie, checker->secret, sizeof(checker->secret), src, src_len);
}

static bool is_handshake_len(size_t len)
{
	return len == TAPIR_MSG_INITIATION_LEN || len == TAPIR_MSG_RESPONSE_LEN;
}

enum tapir_mac_result tapir_cookie_validate(struct tapir_cookie_checker *checker,
					    const struct tapir_noise_local *local,
					    const uint8_t *msg, size_t len, const uint8_t *src,
					    size_t src_len, bool check_mac2, uint64_t now_ns,
					    const uint8_t new_secret[32])
{
	uint8_t computed[TAPIR_COOKIE_LEN], cookie[TAPIR_COOKIE_LEN];
	enum tapir_mac_result ret = TAPIR_MAC_INVALID;

	if (!local->has_identity || !is_handshake_len(len))
		return TAPIR_MAC_INVALID;

	/* mac1 covers everything before it and is keyed to us, the receiver (4.3 step 1) */
	tapir_mac(computed, local->mac1_key, sizeof(local->mac1_key), msg, len - MACS_LEN_BYTES);
	if (!tapir_memeq_ct(computed, msg + len - MACS_LEN_BYTES, TAPIR_COOKIE_LEN))
		goto out;
	ret = TAPIR_MAC_VALID_MAC1;
	if (!check_mac2)
		goto out;

	/* mac2 covers mac1 too, keyed with the cookie this source should hold (4.3 step 3) */
	make_cookie(cookie, checker, src, src_len, now_ns, new_secret);
	tapir_mac(computed, cookie, sizeof(cookie), msg, len - TAPIR_COOKIE_LEN);
	if (tapir_memeq_ct(computed, msg + len - TAPIR_COOKIE_LEN, TAPIR_COOKIE_LEN))
		ret = TAPIR_MAC_VALID_MAC1_AND_MAC2;
out:
	tapir_wipe(computed, sizeof(computed));
	tapir_wipe(cookie, sizeof(cookie));
	return ret;
}

void tapir_cookie_create_reply(struct tapir_cookie_checker *checker,
			       const struct tapir_noise_local *local, struct tapir_msg_cookie *out,
			       const uint8_t *msg, size_t len, const uint8_t *src, size_t src_len,
			       uint64_t now_ns, const uint8_t nonce[24],
			       const uint8_t new_secret[32])
{
	uint8_t cookie[TAPIR_COOKIE_LEN];

	memset(out, 0, sizeof(*out));
	/* The caller validated mac1, so @msg is a whole handshake message; refuse anything else. */
	if (!is_handshake_len(len))
		return;
	out->type = TAPIR_MSG_COOKIE;
	/* The answered message's sender_index, bytes copied (4.5). */
	memcpy(out->receiver_index, msg + 4, sizeof(out->receiver_index));
	memcpy(out->nonce, nonce, sizeof(out->nonce));

	make_cookie(cookie, checker, src, src_len, now_ns, new_secret);
	/* The associated data is the answered message's mac1 field, not the whole message. */
	tapir_xaead_seal(out->encrypted_cookie, cookie, sizeof(cookie), msg + len - MACS_LEN_BYTES,
			 TAPIR_COOKIE_LEN, out->nonce, local->cookie_key);
	tapir_wipe(cookie, sizeof(cookie));
}

void tapir_cookie_add_macs(struct tapir_cookie_maker *maker, const uint8_t remote_mac1_key[32],
			   uint8_t *msg, size_t len, uint64_t now_ns)
{
	uint8_t *mac1, *mac2;

	if (!is_handshake_len(len))
		return;
	mac1 = msg + len - MACS_LEN_BYTES;
	mac2 = msg + len - TAPIR_COOKIE_LEN;
	tapir_mac(mac1, remote_mac1_key, 32, msg, len - MACS_LEN_BYTES);
	memcpy(maker->last_mac1_sent, mac1, TAPIR_COOKIE_LEN);
	maker->have_sent_mac1 = true;

	/* Stop using a cookie 5 s before the checker may rotate its secret (kernel, 4.2). */
	if (maker->is_cookie_valid &&
	    is_younger_than(maker->cookie_birth_ns, now_ns,
			    COOKIE_SECRET_MAX_AGE_MS - COOKIE_SECRET_LATENCY_MS))
		tapir_mac(mac2, maker->cookie, sizeof(maker->cookie), msg, len - TAPIR_COOKIE_LEN);
	else
		memset(mac2, 0, TAPIR_COOKIE_LEN);
}

int tapir_cookie_consume_reply(struct tapir_cookie_maker *maker,
			       const uint8_t remote_cookie_key[32],
			       const struct tapir_msg_cookie *msg, uint64_t now_ns)
{
	uint8_t cookie[TAPIR_COOKIE_LEN];
	int ret = -EINVAL;

	/* A reply is only meaningful for a mac1 we sent; it is bound to it through the AD. */
	if (!maker->have_sent_mac1)
		goto out;
	if (!tapir_xaead_open(cookie, msg->encrypted_cookie, sizeof(msg->encrypted_cookie),
			      maker->last_mac1_sent, sizeof(maker->last_mac1_sent), msg->nonce,
			      remote_cookie_key))
		goto out;
	memcpy(maker->cookie, cookie, sizeof(cookie));
	maker->cookie_birth_ns = now_ns;
	maker->is_cookie_valid = true;
	/* One cookie per mac1 sent, as the kernel does. */
	maker->have_sent_mac1 = false;
	ret = 0;
out:
	tapir_wipe(cookie, sizeof(cookie));
	return ret;
}

void tapir_cookie_checker_wipe(struct tapir_cookie_checker *checker)
{
	if (checker)
		tapir_wipe(checker, sizeof(*checker));
}

void tapir_cookie_maker_wipe(struct tapir_cookie_maker *maker)
{
	if (maker)
		tapir_wipe(maker, sizeof(*maker));
}
