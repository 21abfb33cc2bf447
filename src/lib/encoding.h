/* SPDX-License-Identifier: MIT */
/*
 * Constant-time hex and base64 encoding of 32-byte keys (the UAPI speaks lowercase hex, the CLI
 * and config files base64 as wg(8) does). Decoders run in time independent of the key bytes.
 */
#ifndef TAPIR_ENCODING_H
#define TAPIR_ENCODING_H

#include <stddef.h>
#include <stdint.h>

enum {
	TAPIR_KEY_HEX_LEN = 64,
	TAPIR_KEY_BASE64_LEN = 44,
};

/* Writes 64 lowercase hex chars and a NUL into @out. */
void tapir_key_to_hex(char out[TAPIR_KEY_HEX_LEN + 1], const uint8_t key[32]);
/* Decodes exactly 64 hex chars (either case). Returns 0 or -EINVAL (and wipes @key). */
int tapir_key_from_hex(uint8_t key[32], const char *hex, size_t len);
/* Writes 44 base64 chars (with one '=') and a NUL into @out. */
void tapir_key_to_base64(char out[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32]);
/* Decodes exactly 44 base64 chars ending in '='. Returns 0 or -EINVAL (and wipes @key). */
int tapir_key_from_base64(uint8_t key[32], const char *b64, size_t len);
/* Constant-time comparison; returns 1 when equal. */
int tapir_memeq_ct(const void *a, const void *b, size_t len);
/* Constant-time "all bytes zero" test; returns 1 when zero. */
int tapir_is_zero_ct(const void *a, size_t len);

#endif
