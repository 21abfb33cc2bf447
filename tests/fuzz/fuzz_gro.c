// SPDX-License-Identifier: MIT
/*
 * GRO: byte 0 bit 0 enables UDP, then packets each behind a 2-byte big-endian length (a refused
 * one flushes and retries). Super-packets must state their IP length and split back cleanly.
 */
#include <stdlib.h>

#include "offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { CAP = 65536, ITEMS = TAPIR_GRO_MAX_ITEMS, SEGS = TAPIR_GRO_MAX_SEGMENTS };
static uint8_t store[ITEMS + SEGS][CAP], *bufs[ITEMS + SEGS];
static size_t lens[SEGS];

static void check(void *ctx, const struct virtio_net_hdr *vh, const uint8_t *p, size_t len)
{
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE &&
	    (len != (p[0] >> 4 == 4 ? 0u + (p[2] << 8 | p[3]) : 40u + (p[4] << 8 | p[5])) ||
	     tapir_offload_split(vh, p, len, CAP, bufs + ITEMS, lens, SEGS, CAP) < 2))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tapir_gro g;
	size_t off = 1, n;

	for (size_t i = 0; i < ITEMS + SEGS; i++)
		bufs[i] = store[i];
	tapir_gro_init(&g, bufs, ITEMS, CAP, size && data[0] & 1 ? TAPIR_GRO_UDP : 0);
	for (; size > off + 1 && (n = 0u + (data[off] << 8 | data[off + 1])) <= size - off - 2;
	     off += 2 + n)
		if (tapir_gro_add(&g, data + off + 2, n) < 0 && tapir_gro_flush(&g, check, 0))
			tapir_gro_add(&g, data + off + 2, n);
	tapir_gro_flush(&g, check, NULL);
	return 0;
}
