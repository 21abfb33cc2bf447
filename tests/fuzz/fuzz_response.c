// SPDX-License-Identifier: MIT
/* Responses (3.5) consumed by Alice's pending initiation of section 10.2 (PSK 0x60..0x7f). */
#include <string.h>
#include "crypto.h"
#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static const uint8_t priv_i[] = "\x77\x07\x6d\x0a\x73\x18\xa5\x7d\x3c\x16\xc1\x72\x51\xb2\x66\x45"
				"\xdf\x4c\x2f\x87\xeb\xc0\x99\x2a\xb1\x77\xfb\xa5\x1d\xb9\x2c\x2a";
static const uint8_t pub_r[] = "\xde\x9e\xdb\x7d\x7b\x7d\xc1\xb4\xd3\x5b\x61\xc2\xec\xe4\x35\x37"
			       "\x3f\x83\x43\xc8\x5b\x78\x67\x4d\xad\xfc\x7e\x14\x6f\x88\x2b\x4f";
static const uint8_t psk[] = "`abcdefghijklmnopqrstuvwxyz{|}~\x7f";
static const uint8_t e_priv_i[] = " !\"#$%&'()*+,-./0123456789:;<=>?"; /* 0x20..0x3f */
static const uint8_t tai64n[] = "\x40\0\0\0\x5e\x0b\xe1\x0a\0\0\0\0";
static struct tapir_noise_local alice;
static struct tapir_noise_handshake pending, peer, *hs;

static struct tapir_noise_handshake *lookup(void *ctx, uint32_t index)
{
	return index == peer.local_index ? &peer : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tapir_msg_initiation init;
	struct tapir_msg_response msg = {0};

	if (!alice.has_identity && tapir_crypto_init() == 0) {
		tapir_noise_local_set_private_key(&alice, priv_i);
		tapir_noise_handshake_init(&pending, &alice, pub_r, psk);
		tapir_noise_create_initiation(&alice, &pending, &init, 0xa1b2c3d4, e_priv_i,
					      tai64n);
	}
	memcpy(&peer, &pending, sizeof(peer)); /* a fresh CREATED_INITIATION for every input */
	memcpy(&msg, data, size < sizeof(msg) ? size : sizeof(msg));
	tapir_noise_consume_response(&alice, &msg, lookup, NULL, &hs);
	return 0;
}
