// SPDX-License-Identifier: MIT
/*
 * LZ4 for the COMPRESSED extension frame (compress.h). A frame is worth sending only when it
 * is shorter than the payload it replaces, header included; LZ4 is told the room it may
 * use (one byte less than that), so an incompressible payload costs one failed attempt and
 * no copy.
 */
#include "compress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>

enum {
	/* payloads shorter than this never shrink by more than the 3-byte header */
	MIN_WORTH_BYTES = 32,
	LZ4_ACCELERATION = 1, /* LZ4's default speed/ratio trade-off */
};

struct tapir_lz4_ctx {
	void *state;			  /* LZ4_sizeofState() bytes */
	uint8_t out[TAPIR_LZ4_OUT_BYTES]; /* compression output */
	uint8_t in[TAPIR_LZ4_OUT_BYTES];  /* decompression output */
};

struct tapir_lz4_ctx *tapir_lz4_ctx_new(void)
{
	struct tapir_lz4_ctx *z = calloc(1, sizeof(*z));

	if (!z)
		return NULL;
	z->state = calloc(1, (size_t)LZ4_sizeofState());
	if (!z->state) {
		free(z);
		return NULL;
	}
	return z;
}

void tapir_lz4_ctx_free(struct tapir_lz4_ctx *z)
{
	if (!z)
		return;
	free(z->state);
	free(z);
}

uint8_t *tapir_lz4_ctx_inbuf(struct tapir_lz4_ctx *z)
{
	return z->in;
}

size_t tapir_lz4_compress_inplace(struct tapir_lz4_ctx *z, uint8_t *p, size_t len)
{
	int n;

	if (len < MIN_WORTH_BYTES || len > TAPIR_LZ4_INPUT_MAX)
		return 0;
	if (p[0] < TAPIR_EXT_TYPE_LIMIT && p[0] != TAPIR_EXT_ETHERNET)
		return 0; /* CAPS and other control frames stay as they are */
	/* room for a frame of at most len - 1 bytes */
	n = LZ4_compress_fast_extState(
	    z->state, (const char *)p, (char *)z->out + TAPIR_EXT_HEADER_LEN_BYTES, (int)len,
	    (int)(len - 1 - TAPIR_EXT_HEADER_LEN_BYTES), LZ4_ACCELERATION);
	if (n <= 0)
		return 0;
	tapir_ext_put_header(z->out, TAPIR_EXT_COMPRESSED, (size_t)n);
	memcpy(p, z->out, TAPIR_EXT_HEADER_LEN_BYTES + (size_t)n);
	return TAPIR_EXT_HEADER_LEN_BYTES + (size_t)n;
}

int tapir_lz4_decompress(const uint8_t *body, size_t body_len, uint8_t *out, size_t cap)
{
	int n;

	if (!body_len || body_len > TAPIR_EXT_BODY_MAX_BYTES || !cap)
		return -EINVAL;
	if (cap > TAPIR_LZ4_INPUT_MAX)
		cap = TAPIR_LZ4_INPUT_MAX;
	n = LZ4_decompress_safe((const char *)body, (char *)out, (int)body_len, (int)cap);
	if (n <= 0 || out[0] == TAPIR_EXT_COMPRESSED)
		return -EINVAL;
	return n;
}
