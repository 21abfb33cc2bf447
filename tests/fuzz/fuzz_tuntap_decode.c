// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the packet decoder of `tapir tuntap watch` (cli/tuntap_decode.c). Every
 * input is decoded as a TUN packet and as a TAP frame, into a full line and into a tiny one that
 * forces cutting; the text must stay NUL-terminated and as long as the returned length.
 */
#include <stdlib.h>
#include <string.h>

#include "tuntap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_checked(const uint8_t *data, size_t size, bool is_tap, size_t out_len)
{
	char out[TAPIR_TUNTAP_LINE_MAX_BYTES];
	size_t n = tapir_tuntap_decode(data, size, is_tap, out, out_len);

	if (n >= out_len || strlen(out) != n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int is_tap = 0; is_tap <= 1; is_tap++) {
		if (tapir_tuntap_decode(data, size, is_tap, NULL, 0) != 0)
			abort();
		decode_checked(data, size, is_tap, TAPIR_TUNTAP_LINE_MAX_BYTES);
		decode_checked(data, size, is_tap, 9);
	}
	return 0;
}
