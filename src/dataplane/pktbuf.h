/* SPDX-License-Identifier: MIT */
/*
 * Packet buffers and the device's pool of them. A buffer carries one packet (or one encrypted
 * message) with room before it for the headers that encryption and framing put in front and
 * room after it for padding and the AEAD tag, so neither step moves the payload.
 *
 * The pool holds the buffers of packets staged while a peer waits for a handshake: a fixed
 * number allocated once at start-up, handed out and taken back by any thread under one mutex
 * (a handful of operations per handshake, never per packet of a running session).
 */
#ifndef TAPIR_PKTBUF_H
#define TAPIR_PKTBUF_H

#include <pthread.h>
#include <stdint.h>

#include "crypto.h"

enum tapir_pkt_sizes {
	/* WireGuard header, TCP framing, extension header; below them the AEAD's 64-byte work
	 * space (tapir_aead_ctx_seal_inplace), so that sealing copies nothing */
	TAPIR_PKT_HEADROOM = 128,
	TAPIR_PKT_DATA_MAX = 65536,
	TAPIR_PKT_TAILROOM = 64, /* padding, the AEAD tag and its rounding to whole blocks */
	TAPIR_PKT_BUF_LEN = TAPIR_PKT_HEADROOM + TAPIR_PKT_DATA_MAX + TAPIR_PKT_TAILROOM,
};

/* what may go in front before sealing (an extension header) leaves the work space whole */
_Static_assert((int)TAPIR_PKT_HEADROOM >= (int)TAPIR_AEAD_CTX_HEADROOM + 32, "AEAD work space");
_Static_assert((int)TAPIR_PKT_TAILROOM >= (int)TAPIR_AEAD_CTX_TAILROOM, "AEAD tag, rounding");

/* A packet buffer: payload at buf + off, @len bytes, with headroom before and tailroom after. */
struct tapir_pkt {
	struct tapir_pkt *next; /* free list link */
	uint32_t off;
	uint32_t len;
	uint8_t buf[TAPIR_PKT_BUF_LEN];
};

static inline uint8_t *tapir_pkt_data(struct tapir_pkt *pkt)
{
	return pkt->buf + pkt->off;
}

/* A fixed set of buffers, free ones on a list (any thread). */
struct tapir_pkt_pool {
	pthread_mutex_t lock;
	struct tapir_pkt *free; /* lock */
	struct tapir_pkt *mem;
};

/* Allocates @n buffers, all free. 0 or -ENOMEM (nothing left to free then). */
int tapir_pkt_pool_init(struct tapir_pkt_pool *pool, unsigned int n);
/* Frees the buffers; every one must be back (or never to be used again). */
void tapir_pkt_pool_destroy(struct tapir_pkt_pool *pool);
/* A free buffer, or NULL when all are out. */
struct tapir_pkt *tapir_pkt_pool_get(struct tapir_pkt_pool *pool);
void tapir_pkt_pool_put(struct tapir_pkt_pool *pool, struct tapir_pkt *pkt);

#endif
