// SPDX-License-Identifier: MIT
/*
 * Peer and keypair lifetimes and the hash tables that find them. Public keys are uniformly
 * random, so their first bytes are a fine hash; receiver indices are chosen by us at random.
 * Tables grow by doubling while the caller holds the device write lock.
 */
#include "peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "messages.h"

enum {
	INITIAL_BUCKETS = 64,
};

static size_t key_hash(const uint8_t key[32], size_t nbuckets)
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	return (size_t)(h & (nbuckets - 1));
}

static size_t id_hash(uint64_t id, size_t nbuckets)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 20) & (nbuckets - 1);
}

int tapir_peer_table_init(struct tapir_peer_table *t)
{
	memset(t, 0, sizeof(*t));
	t->nbuckets = INITIAL_BUCKETS;
	t->by_key = calloc(t->nbuckets, sizeof(*t->by_key));
	t->by_id = calloc(t->nbuckets, sizeof(*t->by_id));
	t->next_id = 1;
	if (!t->by_key || !t->by_id) {
		tapir_peer_table_destroy(t);
		return -ENOMEM;
	}
	return 0;
}

void tapir_peer_table_destroy(struct tapir_peer_table *t)
{
	free(t->by_key);
	free(t->by_id);
	t->by_key = NULL;
	t->by_id = NULL;
}

struct tapir_peer *tapir_peer_table_find_key(const struct tapir_peer_table *t,
					     const uint8_t key[32])
{
	struct tapir_peer *p = t->by_key[key_hash(key, t->nbuckets)];

	for (; p; p = p->pub_next)
		if (!memcmp(p->public_key, key, 32))
			return p;
	return NULL;
}

struct tapir_peer *tapir_peer_table_find_id(const struct tapir_peer_table *t, uint64_t id)
{
	struct tapir_peer *p = t->by_id[id_hash(id, t->nbuckets)];

	for (; p; p = p->id_next)
		if (p->id == id)
			return p;
	return NULL;
}

static int grow(struct tapir_peer_table *t)
{
	size_t n = t->nbuckets * 2;
	struct tapir_peer **by_key = calloc(n, sizeof(*by_key));
	struct tapir_peer **by_id = calloc(n, sizeof(*by_id));

	if (!by_key || !by_id) {
		free(by_key);
		free(by_id);
		return -ENOMEM;
	}
	for (struct tapir_peer *p = t->first; p; p = p->list_next) {
		size_t k = key_hash(p->public_key, n), i = id_hash(p->id, n);
		p->pub_next = by_key[k];
		by_key[k] = p;
		p->id_next = by_id[i];
		by_id[i] = p;
	}
	free(t->by_key);
	free(t->by_id);
	t->by_key = by_key;
	t->by_id = by_id;
	t->nbuckets = n;
	return 0;
}

int tapir_peer_table_add(struct tapir_peer_table *t, struct tapir_peer *peer)
{
	size_t k, i;

	if (t->count + 1 > t->nbuckets && grow(t) < 0)
		return -ENOMEM;
	peer->id = t->next_id++;
	k = key_hash(peer->public_key, t->nbuckets);
	i = id_hash(peer->id, t->nbuckets);
	peer->pub_next = t->by_key[k];
	t->by_key[k] = peer;
	peer->id_next = t->by_id[i];
	t->by_id[i] = peer;
	peer->list_prev = t->last;
	peer->list_next = NULL;
	if (t->last)
		t->last->list_next = peer;
	else
		t->first = peer;
	t->last = peer;
	t->count++;
	return 0;
}

void tapir_peer_table_soon_add(struct tapir_peer_table *t, struct tapir_peer *peer)
{
	if (peer->is_soon)
		return;
	peer->soon_prev = NULL;
	peer->soon_next = t->soon;
	if (t->soon)
		t->soon->soon_prev = peer;
	t->soon = peer;
	peer->is_soon = true;
}

void tapir_peer_table_soon_remove(struct tapir_peer_table *t, struct tapir_peer *peer)
{
	if (!peer->is_soon)
		return;
	if (peer->soon_prev)
		peer->soon_prev->soon_next = peer->soon_next;
	else
		t->soon = peer->soon_next;
	if (peer->soon_next)
		peer->soon_next->soon_prev = peer->soon_prev;
	peer->soon_prev = peer->soon_next = NULL;
	peer->is_soon = false;
}

void tapir_peer_table_remove(struct tapir_peer_table *t, struct tapir_peer *peer)
{
	struct tapir_peer **pp;

	tapir_peer_table_soon_remove(t, peer);

	for (pp = &t->by_key[key_hash(peer->public_key, t->nbuckets)]; *pp; pp = &(*pp)->pub_next)
		if (*pp == peer) {
			*pp = peer->pub_next;
			break;
		}
	for (pp = &t->by_id[id_hash(peer->id, t->nbuckets)]; *pp; pp = &(*pp)->id_next)
		if (*pp == peer) {
			*pp = peer->id_next;
			break;
		}
	if (peer->list_prev)
		peer->list_prev->list_next = peer->list_next;
	else
		t->first = peer->list_next;
	if (peer->list_next)
		peer->list_next->list_prev = peer->list_prev;
	else
		t->last = peer->list_prev;
	peer->list_prev = peer->list_next = peer->pub_next = peer->id_next = NULL;
	t->count--;
}

int tapir_index_table_init(struct tapir_index_table *t)
{
	t->nbuckets = INITIAL_BUCKETS;
	t->count = 0;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	return t->buckets ? 0 : -ENOMEM;
}

void tapir_index_table_destroy(struct tapir_index_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
}

static size_t index_hash(uint32_t index, size_t nbuckets)
{
	return (size_t)(index * 0x9E3779B1u) & (nbuckets - 1);
}

struct tapir_index_entry *tapir_index_table_find(const struct tapir_index_table *t, uint32_t index)
{
	struct tapir_index_entry *e = t->buckets[index_hash(index, t->nbuckets)];

	for (; e; e = e->next)
		if (e->index == index)
			return e;
	return NULL;
}

static int index_grow(struct tapir_index_table *t)
{
	size_t n = t->nbuckets * 2;
	struct tapir_index_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < t->nbuckets; i++) {
		struct tapir_index_entry *e = t->buckets[i], *next;
		for (; e; e = next) {
			size_t h = index_hash(e->index, n);
			next = e->next;
			e->next = b[h];
			b[h] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
	return 0;
}

int tapir_index_table_insert(struct tapir_index_table *t, struct tapir_index_entry *entry)
{
	size_t h;

	if (t->count + 1 > t->nbuckets && index_grow(t) < 0)
		return -ENOMEM;
	if (tapir_index_table_find(t, entry->index))
		return -EEXIST;
	h = index_hash(entry->index, t->nbuckets);
	entry->next = t->buckets[h];
	t->buckets[h] = entry;
	entry->is_linked = true;
	t->count++;
	return 0;
}

int tapir_index_table_insert_new(struct tapir_index_table *t, struct tapir_index_entry *entry,
				 uint32_t (*rand_fn)(void))
{
	int ret;

	do {
		entry->index = rand_fn();
		ret = tapir_index_table_insert(t, entry);
	} while (ret == -EEXIST);
	return ret;
}

void tapir_index_table_remove(struct tapir_index_table *t, struct tapir_index_entry *entry)
{
	struct tapir_index_entry **pp;

	if (!entry->is_linked)
		return;
	for (pp = &t->buckets[index_hash(entry->index, t->nbuckets)]; *pp; pp = &(*pp)->next) {
		if (*pp == entry) {
			*pp = entry->next;
			t->count--;
			break;
		}
	}
	entry->next = NULL;
	entry->is_linked = false;
}

struct tapir_peer *tapir_peer_new(const uint8_t public_key[32])
{
	struct tapir_peer *peer = calloc(1, sizeof(*peer));

	if (!peer)
		return NULL;
	memcpy(peer->public_key, public_key, 32);
	pthread_mutex_init(&peer->keypair_lock, NULL);
	pthread_mutex_init(&peer->endpoint_lock, NULL);
	pthread_mutex_init(&peer->staged_lock, NULL);
	peer->hs_entry.peer = peer;
	return peer;
}

void tapir_peer_free(struct tapir_peer *peer)
{
	if (!peer)
		return;
	tapir_noise_handshake_destroy(&peer->hs);
	tapir_cookie_maker_wipe(&peer->cookie);
	pthread_mutex_destroy(&peer->keypair_lock);
	pthread_mutex_destroy(&peer->endpoint_lock);
	pthread_mutex_destroy(&peer->staged_lock);
	free(peer);
}

struct tapir_keypair *tapir_keypair_new(const struct tapir_noise_session_keys *keys,
					struct tapir_peer *peer, unsigned int nthreads,
					uint64_t now_ns)
{
	struct tapir_keypair *kp;

	if (nthreads > TAPIR_MAX_THREADS)
		return NULL;
	kp = calloc(1, sizeof(*kp));
	if (!kp)
		return NULL;
	kp->entry.index = keys->local_index;
	kp->entry.peer = peer;
	kp->entry.keypair = kp;
	kp->peer = peer;
	kp->remote_index = keys->remote_index;
	kp->is_initiator = keys->is_initiator;
	kp->birth_ns = now_ns;
	pthread_spin_init(&kp->replay_lock, PTHREAD_PROCESS_PRIVATE);
	tapir_replay_init(&kp->replay);
	kp->nctx = nthreads;
	for (unsigned int i = 0; i < nthreads; i++) {
		kp->send_ctx[i] = tapir_aead_ctx_new(keys->send_key, true);
		kp->recv_ctx[i] = tapir_aead_ctx_new(keys->recv_key, false);
		if (!kp->send_ctx[i] || !kp->recv_ctx[i]) {
			tapir_keypair_free(kp);
			return NULL;
		}
	}
	return kp;
}

void tapir_keypair_free(struct tapir_keypair *kp)
{
	if (!kp)
		return;
	for (unsigned int i = 0; i < kp->nctx; i++) {
		tapir_aead_ctx_free(kp->send_ctx[i]);
		tapir_aead_ctx_free(kp->recv_ctx[i]);
	}
	pthread_spin_destroy(&kp->replay_lock);
	tapir_wipe(kp, sizeof(*kp));
	free(kp);
}

/* --- retired keypairs --- */

void tapir_graveyard_init(struct tapir_graveyard *g)
{
	pthread_mutex_init(&g->lock, NULL);
	g->first = NULL;
}

void tapir_graveyard_retire(struct tapir_graveyard *g, struct tapir_keypair *kp)
{
	if (!kp)
		return;
	atomic_store_explicit(&kp->is_retired, true, memory_order_relaxed);
	pthread_mutex_lock(&g->lock);
	kp->grave_next = g->first;
	g->first = kp;
	pthread_mutex_unlock(&g->lock);
}

bool tapir_graveyard_is_empty(struct tapir_graveyard *g)
{
	bool is_empty;

	pthread_mutex_lock(&g->lock);
	is_empty = g->first == NULL;
	pthread_mutex_unlock(&g->lock);
	return is_empty;
}

void tapir_graveyard_reap(struct tapir_graveyard *g, struct tapir_index_table *indices)
{
	struct tapir_keypair *kp, *next;

	pthread_mutex_lock(&g->lock);
	kp = g->first;
	g->first = NULL;
	pthread_mutex_unlock(&g->lock);
	for (; kp; kp = next) {
		next = kp->grave_next;
		tapir_index_table_remove(indices, &kp->entry);
		tapir_keypair_free(kp);
	}
}

/* --- endpoint (endpoint_lock) and handshake time --- */

void tapir_peer_get_endpoint(struct tapir_peer *peer, union tapir_sockaddr *out)
{
	pthread_mutex_lock(&peer->endpoint_lock);
	*out = peer->endpoint.addr;
	pthread_mutex_unlock(&peer->endpoint_lock);
}

void tapir_peer_load_endpoint(struct tapir_peer *peer, struct tapir_endpoint *out)
{
	pthread_mutex_lock(&peer->endpoint_lock);
	*out = peer->endpoint;
	pthread_mutex_unlock(&peer->endpoint_lock);
}

void tapir_peer_set_endpoint(struct tapir_peer *peer, const union tapir_sockaddr *addr)
{
	pthread_mutex_lock(&peer->endpoint_lock);
	peer->endpoint.addr = *addr;
	/* a configured endpoint has not reached us anywhere yet (as in the kernel) */
	memset(&peer->endpoint.local, 0, sizeof(peer->endpoint.local));
	pthread_mutex_unlock(&peer->endpoint_lock);
}

void tapir_peer_roam(struct tapir_peer *peer, const struct tapir_endpoint *from)
{
	pthread_mutex_lock(&peer->endpoint_lock);
	/* the common case, nothing moved, leaves the cache line clean for the senders */
	if (!tapir_sockaddr_equal(&peer->endpoint.addr, &from->addr))
		peer->endpoint.addr = from->addr;
	if (!tapir_local_addr_equal(&peer->endpoint.local, &from->local))
		peer->endpoint.local = from->local;
	pthread_mutex_unlock(&peer->endpoint_lock);
}

void tapir_peer_forget_local(struct tapir_peer *peer, const struct tapir_local_addr *stale)
{
	pthread_mutex_lock(&peer->endpoint_lock);
	if (!stale || tapir_local_addr_equal(&peer->endpoint.local, stale))
		memset(&peer->endpoint.local, 0, sizeof(peer->endpoint.local));
	pthread_mutex_unlock(&peer->endpoint_lock);
}

void tapir_peer_record_handshake_time(struct tapir_peer *peer)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_store_explicit(&peer->last_handshake_sec, ts.tv_sec, memory_order_relaxed);
	atomic_store_explicit(&peer->last_handshake_nsec, ts.tv_nsec, memory_order_relaxed);
}
