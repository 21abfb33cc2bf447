// SPDX-License-Identifier: MIT
/* Cookie replies (4.5) consumed by Alice after sending Bob the 10.2 initiation (mac1 below). */
#include <string.h>
#include "cookie.h"
#include "crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static const uint8_t pub_r[] = "\xde\x9e\xdb\x7d\x7b\x7d\xc1\xb4\xd3\x5b\x61\xc2\xec\xe4\x35\x37"
			       "\x3f\x83\x43\xc8\x5b\x78\x67\x4d\xad\xfc\x7e\x14\x6f\x88\x2b\x4f";
static const uint8_t mac1[] = "\x93\x90\x52\x55\x3d\xd2\x01\x47\x2c\x71\xba\xb8\xcc\x92\xa3\x83";
static const uint8_t label_cookie[] = "cookie--";
static uint8_t cookie_key[32]; /* HASH(LABEL_COOKIE || S_pub_r) */
static struct tapir_cookie_maker maker;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool is_init;
	struct tapir_msg_cookie msg = {0};

	if (!is_init && tapir_crypto_init() == 0) {
		tapir_hash(cookie_key, label_cookie, 8, pub_r, 32);
		is_init = true;
	}
	memset(&maker, 0, sizeof(maker));
	memcpy(maker.last_mac1_sent, mac1, sizeof(maker.last_mac1_sent));
	maker.have_sent_mac1 = true;
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	tapir_cookie_consume_reply(&maker, cookie_key, &msg, 1);
	/* one cookie per mac1: a second copy must be refused */
	if (tapir_cookie_consume_reply(&maker, cookie_key, &msg, 2) == 0)
		__builtin_trap();
	return 0;
}
