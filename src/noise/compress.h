/* SPDX-License-Identifier: MIT */
/*
 * Opt-in LZ4 compression between tapir peers (issue 6): the COMPRESSED extension frame
 * (extension.h, type 0x03). Its body is one LZ4 block (the LZ4 block format, no frame
 * header, no checksum: the AEAD already authenticates it) that decompresses to one whole
 * payload, an IP packet or an ETHERNET extension frame, never another COMPRESSED frame.
 *
 * Compressing secrets next to attacker-chosen data leaks the secrets through the length of the
 * result (VORACLE, CRIME): this is opt-in per peer and off by default.
 *
 * No I/O, no allocation on the data path: a context holds LZ4's state and an output buffer
 * and belongs to one thread.
 */
#ifndef TAPIR_COMPRESS_H
#define TAPIR_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "extension.h"

enum tapir_lz4_sizes {
	/* the largest payload one context takes (a WireGuard payload's 16-bit length) */
	TAPIR_LZ4_INPUT_MAX = TAPIR_EXT_BODY_MAX_BYTES,
	TAPIR_LZ4_OUT_BYTES = TAPIR_EXT_FRAME_MAX_BYTES,
};

struct tapir_lz4_ctx; /* opaque: LZ4 state and a scratch buffer */

struct tapir_lz4_ctx *tapir_lz4_ctx_new(void);
void tapir_lz4_ctx_free(struct tapir_lz4_ctx *z);
/* The context's receive buffer (TAPIR_LZ4_OUT_BYTES), for tapir_lz4_decompress()'s output. */
uint8_t *tapir_lz4_ctx_inbuf(struct tapir_lz4_ctx *z);

/*
 * Compresses the payload @p (@len bytes) in place into a COMPRESSED frame when that makes it
 * smaller: returns the frame's length (< @len), or 0 when the payload is left as it is
 * (not smaller, too short to gain, too long, or already an extension frame other than
 * ETHERNET).
 */
size_t tapir_lz4_compress_inplace(struct tapir_lz4_ctx *z, uint8_t *p, size_t len);

/*
 * Decompresses the body of a COMPRESSED frame (@body, @body_len bytes) into @out, at most @cap
 * bytes (the interface MTU, plus the Ethernet and frame headers in tap mode: no bomb).
 * Returns the payload's length, or -EINVAL when the block is malformed, would exceed @cap,
 * is empty, or would decompress to another COMPRESSED frame.
 */
int tapir_lz4_decompress(const uint8_t *body, size_t body_len, uint8_t *out, size_t cap);

#endif
