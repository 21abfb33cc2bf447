// SPDX-License-Identifier: MIT
/*
 * The staged-packet pool: one allocation at start-up, a free list under a mutex. No I/O.
 */
#include "pktbuf.h"

#include <errno.h>
#include <stdlib.h>

int tapir_pkt_pool_init(struct tapir_pkt_pool *pool, unsigned int n)
{
	pool->free = NULL;
	pool->mem = calloc(n, sizeof(*pool->mem));
	if (!pool->mem)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		pool->mem[i].next = pool->free;
		pool->free = &pool->mem[i];
	}
	pthread_mutex_init(&pool->lock, NULL);
	return 0;
}

void tapir_pkt_pool_destroy(struct tapir_pkt_pool *pool)
{
	pthread_mutex_destroy(&pool->lock);
	free(pool->mem);
	pool->mem = NULL;
	pool->free = NULL;
}

struct tapir_pkt *tapir_pkt_pool_get(struct tapir_pkt_pool *pool)
{
	struct tapir_pkt *pkt;

	pthread_mutex_lock(&pool->lock);
	pkt = pool->free;
	if (pkt)
		pool->free = pkt->next;
	pthread_mutex_unlock(&pool->lock);
	return pkt;
}

void tapir_pkt_pool_put(struct tapir_pkt_pool *pool, struct tapir_pkt *pkt)
{
	pthread_mutex_lock(&pool->lock);
	pkt->next = pool->free;
	pool->free = pkt;
	pthread_mutex_unlock(&pool->lock);
}
