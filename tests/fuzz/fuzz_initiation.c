// SPDX-License-Identifier: MIT
/* Initiations (3.3) through classify and mac1, and directly: random input never passes mac1. */
#include <string.h>
#include "cookie.h"
#include "crypto.h"
#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Section 10.2: Bob (S_priv_r) responds and knows Alice (S_pub_i); the PSK is 0x60..0x7f. */
static const uint8_t priv_r[] = "\x5d\xab\x08\x7e\x62\x4a\x8a\x4b\x79\xe1\x7f\x8b\x83\x80\x0e\xe6"
				"\x6f\x3b\xb1\x29\x26\x18\xb6\xfd\x1c\x2f\x8b\x27\xff\x88\xe0\xeb";
static const uint8_t pub_i[] = "\x85\x20\xf0\x09\x89\x30\xa7\x54\x74\x8b\x7d\xdc\xb4\x3e\xf7\x5a"
			       "\x0d\xbf\x3a\x0d\x26\x38\x1a\xf4\xeb\xa4\xa9\x8e\xaa\x9b\x4e\x6a";
static const uint8_t psk[] = "`abcdefghijklmnopqrstuvwxyz{|}~\x7f";
static struct tapir_noise_local bob;
static struct tapir_noise_handshake alice, *hs;

static struct tapir_noise_handshake *lookup(void *ctx, const uint8_t key[32])
{
	return memcmp(key, alice.remote_static, 32) ? NULL : &alice;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool is_init;
	struct tapir_cookie_checker checker = {0};
	struct tapir_msg_initiation msg = {0};

	is_init = is_init || tapir_crypto_init() == 0;
	tapir_noise_local_set_private_key(&bob, priv_r);
	tapir_noise_handshake_init(&alice, &bob, pub_i, psk);
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	if (tapir_msg_classify(data, size) == TAPIR_MSG_INITIATION &&
	    tapir_cookie_validate(&checker, &bob, data, size, psk, 6, true, 1, psk))
		tapir_noise_consume_initiation(&bob, &msg, lookup, NULL, 1, &hs);
	tapir_noise_handshake_init(&alice, &bob, pub_i, psk);
	tapir_noise_consume_initiation(&bob, &msg, lookup, NULL, 1, &hs);
	return 0;
}
