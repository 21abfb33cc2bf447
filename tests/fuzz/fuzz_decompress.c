// SPDX-License-Identifier: MIT
/*
 * The LZ4 decompressor behind COMPRESSED extension frames (compress.h). The first input byte
 * picks the output bound (like an MTU, 1 to 65532 bytes in steps); the rest is an LZ4 block a
 * peer might send. Whatever it is, tapir_lz4_decompress() returns -EINVAL or a length within
 * the bound, never writes past it (ASan sees the exact-size heap buffer), and never hands out
 * a COMPRESSED frame. Second, the rest is also taken as a payload: compressed in place, it
 * must be shorter than it was, and decompress to exactly the original.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tapir_lz4_ctx *ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t copy[TAPIR_LZ4_INPUT_MAX], back[TAPIR_LZ4_INPUT_MAX];
	size_t cap, n;
	uint8_t *out;
	int r;

	if (size < 1)
		return 0;
	if (!ctx && !(ctx = tapir_lz4_ctx_new()))
		abort();
	cap = 1 + (size_t)data[0] * 257;
	if (cap > TAPIR_LZ4_INPUT_MAX)
		cap = TAPIR_LZ4_INPUT_MAX;
	out = malloc(cap);
	if (!out)
		abort();
	r = tapir_lz4_decompress(data + 1, size - 1, out, cap);
	if (r != -EINVAL && (r <= 0 || (size_t)r > cap || out[0] == TAPIR_EXT_COMPRESSED))
		abort();
	free(out);

	/* round trip */
	n = size - 1;
	if (n > TAPIR_LZ4_INPUT_MAX)
		return 0;
	memcpy(copy, data + 1, n);
	r = (int)tapir_lz4_compress_inplace(ctx, copy, n);
	if (r == 0) {
		if (memcmp(copy, data + 1, n)) /* must be left as it was */
			abort();
		return 0;
	}
	{
		struct tapir_ext_frame f;

		if ((size_t)r >= n || tapir_ext_parse(copy, (size_t)r, &f) != 0 ||
		    f.type != TAPIR_EXT_COMPRESSED)
			abort();
		if (tapir_lz4_decompress(f.body, f.body_len, back, n) != (int)n ||
		    memcmp(back, data + 1, n))
			abort();
	}
	return 0;
}
