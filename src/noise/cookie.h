/* SPDX-License-Identifier: MIT */
/*
 * mac1, mac2 and cookie replies (wireguard-protocol.md section 4). The checker is the
 * device's (secret R, rotated every 120 s); the maker is per peer (last mac1 sent, cookie
 * received). No I/O, no clock, no RNG: time and nonces are passed in.
 */
#ifndef TAPIR_COOKIE_H
#define TAPIR_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

struct tapir_noise_local;

struct tapir_cookie_checker {
	uint8_t secret[32];
	uint64_t secret_birth_ns;
	bool has_secret;
};

struct tapir_cookie_maker {
	uint8_t cookie[16];
	uint64_t cookie_birth_ns;
	bool is_cookie_valid;
	uint8_t last_mac1_sent[16];
	bool have_sent_mac1;
};

enum tapir_mac_result {
	TAPIR_MAC_INVALID,	       /* mac1 wrong: drop silently */
	TAPIR_MAC_VALID_MAC1,	       /* mac1 right, mac2 absent or wrong */
	TAPIR_MAC_VALID_MAC1_AND_MAC2, /* both right */
};

/*
 * Checks mac1 of a handshake message (@msg of @len 148 or 92 bytes) with @local's mac1 key and,
 * when @check_mac2, mac2 against the cookie for @src (opaque source address bytes, e.g. IP then
 * port). @new_secret supplies 32 random bytes, used only if the secret must be (re)generated.
 */
enum tapir_mac_result tapir_cookie_validate(struct tapir_cookie_checker *checker,
					    const struct tapir_noise_local *local,
					    const uint8_t *msg, size_t len, const uint8_t *src,
					    size_t src_len, bool check_mac2, uint64_t now_ns,
					    const uint8_t new_secret[32]);

/*
 * Builds the cookie reply (section 4.5) answering handshake message @msg (@len bytes) from
 * @src. @nonce is 24 random bytes; @new_secret as above.
 */
void tapir_cookie_create_reply(struct tapir_cookie_checker *checker,
			       const struct tapir_noise_local *local, struct tapir_msg_cookie *out,
			       const uint8_t *msg, size_t len, const uint8_t *src, size_t src_len,
			       uint64_t now_ns, const uint8_t nonce[24],
			       const uint8_t new_secret[32]);

/*
 * Fills mac1 (keyed with @remote_mac1_key) and mac2 (cookie younger than 120 s - 5 s, else
 * zeros) of an outgoing handshake message of @len bytes and remembers mac1.
 */
void tapir_cookie_add_macs(struct tapir_cookie_maker *maker, const uint8_t remote_mac1_key[32],
			   uint8_t *msg, size_t len, uint64_t now_ns);

/*
 * Consumes a cookie reply addressed to this peer (section 4.5 "consuming" steps 2-4), with
 * @remote_cookie_key = HASH(LABEL_COOKIE || peer's static key). Returns 0, -EINVAL (no mac1
 * sent or forged).
 */
int tapir_cookie_consume_reply(struct tapir_cookie_maker *maker,
			       const uint8_t remote_cookie_key[32],
			       const struct tapir_msg_cookie *msg, uint64_t now_ns);

void tapir_cookie_checker_wipe(struct tapir_cookie_checker *checker);
void tapir_cookie_maker_wipe(struct tapir_cookie_maker *maker);

#endif
