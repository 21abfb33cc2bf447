// SPDX-License-Identifier: MIT
/*
 * The learning switch's MAC table (issue 4; l2table.h has the contract and the locking).
 *
 * Layout: a chained hash table of MACs whose nodes come from a pool of max_entries nodes
 * allocated at creation, plus a second chained table of per-owner counts, keyed by peer id,
 * whose records come from a pool of max_entries + OWNER_SLACK records. Chains link array
 * indices (uint32_t, NIL at the end) instead of pointers. Both pools are lock-free stacks, so
 * inserting a MAC takes no table-wide lock either.
 *
 * Striping: bucket b of either table belongs to stripe b % STRIPES, and the stripe's mutex
 * guards the chains of all its buckets and every field of the nodes or records on them. A
 * worker that learns or looks up a MAC holds one MAC stripe lock; inserting, moving or
 * removing a MAC also takes the lock of one owner stripe at a time inside it. Mutexes, not
 * spinlocks: the control thread runs beside one worker per CPU, so a lock holder can be
 * preempted, and spinning waiters then burn whole time slices (in the concurrency test on two
 * CPUs, spinlocks let the control thread finish 15 sweeps in 0.3 s; mutexes, about 600).
 * Uncontended, either costs one atomic operation to take and one to release.
 *
 * Accounting: t->count is claimed (compare-exchange, up to max_entries) before a node is taken
 * from the pool and given back after the node returned to it, so a claim always finds a free
 * node. Per-owner counts rise before the entry exists and fall after it is gone; while no
 * operation runs, count == the sum of the owner counts == the number of linked learned nodes.
 *
 * Pins (issue 13): a pinned node sits in the same chains, so the learn() that checks a MAC
 * finds its reservation under the same lock, at no extra cost per frame. The pool holds
 * TAPIR_L2TABLE_MAX_PINNED nodes more than max_entries, counted apart in n_pinned (control
 * thread only), so learned MACs can never crowd out a pin and pins take no room from learning.
 * Pinned nodes count for no owner's limit, never age, and only a sweep by owner removes them.
 *
 * Must not: read a clock, allocate after creation, or call anything that blocks under a lock.
 */
#include "l2table.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "siphash.h"

enum l2table_sizes {
	STRIPES = 64,		     /* lock stripes per table; a power of two */
	CACHELINE_BYTES = 64,	     /* one stripe lock per line: no false sharing */
	MAX_ENTRIES = 1 << 24,	     /* indices stay well below NIL */
	OWNER_SLACK = 64,	     /* owners counted by learns in flight, one per thread */
	SIPHASH_MAC_LEN_BYTES = 6,   /* TAPIR_MAC_LEN_BYTES */
	SIPHASH_OWNER_LEN_BYTES = 8, /* a uint64_t peer id */
};

static const uint32_t NIL = UINT32_MAX;

/* One learned MAC; every field is guarded by the lock of the stripe of its bucket. */
struct node {
	uint64_t key; /* the MAC, byte i in bits 8i..8i+7 */
	uint64_t owner_id;
	uint64_t last_seen_ns;
	void *owner;
	uint32_t next;	/* next node of the bucket chain */
	bool is_pinned; /* reserved for its owner by pin(): never moves or ages */
	bool is_seen;	/* a frame came from it (always true for a learned entry) */
};

/* MACs counted for one owner; every field is guarded by its owner stripe lock. */
struct owner_rec {
	uint64_t id;
	size_t count; /* >= 1 while linked: a record at 0 goes back to the pool */
	uint32_t next;
};

/*
 * A Treiber stack of free array indices. @head holds the top index in its low 32 bits and a
 * tag in its high 32 bits that changes on every push and pop, so that a compare-exchange with
 * a stale head fails even if the same index is back on top (ABA).
 */
struct freelist {
	_Atomic uint64_t head;
	_Atomic uint32_t *next; /* next[i]: the index below i while i is on the stack */
};

struct stripe {
	alignas(CACHELINE_BYTES) pthread_mutex_t lock;
};

struct tapir_l2table {
	struct stripe mac_stripes[STRIPES];
	struct stripe owner_stripes[STRIPES];
	/* learned entries linked plus entries claimed by learns in flight; atomic */
	alignas(CACHELINE_BYTES) _Atomic size_t count;
	size_t n_pinned; /* pinned entries; control thread only (pin() and the sweeps) */
	struct freelist free_nodes;
	struct freelist free_owners;
	/* set at creation, read-only afterwards */
	struct node *nodes;
	uint32_t *mac_heads; /* bucket chains; MAC stripe of the bucket */
	size_t mac_mask;     /* MAC bucket count - 1 */
	struct owner_rec *owners;
	uint32_t *owner_heads; /* bucket chains; owner stripe of the bucket */
	size_t owner_mask;
	size_t max_entries;
	size_t max_per_owner;
	uint64_t hash_key[2]; /* SipHash key, random per table */
};

/* ---- keyed hash ---- */

static uint64_t mac_key(const uint8_t mac[TAPIR_MAC_LEN_BYTES])
{
	uint64_t key = 0;

	for (int i = 0; i < TAPIR_MAC_LEN_BYTES; i++)
		key |= (uint64_t)mac[i] << (8 * i);
	return key;
}

static void key_to_mac(uint64_t key, uint8_t mac[TAPIR_MAC_LEN_BYTES])
{
	for (int i = 0; i < TAPIR_MAC_LEN_BYTES; i++)
		mac[i] = (uint8_t)(key >> (8 * i));
}

static size_t mac_bucket(const struct tapir_l2table *t, uint64_t key)
{
	return (size_t)tapir_siphash_words(t->hash_key, &key, SIPHASH_MAC_LEN_BYTES) & t->mac_mask;
}

static size_t owner_bucket(const struct tapir_l2table *t, uint64_t id)
{
	return (size_t)tapir_siphash_words(t->hash_key, &id, SIPHASH_OWNER_LEN_BYTES) &
	       t->owner_mask;
}

/* ---- locks and pools ---- */

static void lock(struct stripe *s)
{
	pthread_mutex_lock(&s->lock);
}

static void unlock(struct stripe *s)
{
	pthread_mutex_unlock(&s->lock);
}

static struct stripe *mac_stripe(struct tapir_l2table *t, size_t bucket)
{
	return &t->mac_stripes[bucket % STRIPES];
}

static struct stripe *owner_stripe(struct tapir_l2table *t, size_t bucket)
{
	return &t->owner_stripes[bucket % STRIPES];
}

static uint64_t tagged(uint64_t old_head, uint32_t index)
{
	return ((old_head >> 32) + 1) << 32 | index;
}

static void pool_init(struct freelist *fl, size_t n)
{
	for (size_t i = 0; i < n; i++)
		atomic_init(&fl->next[i], i + 1 < n ? (uint32_t)(i + 1) : NIL);
	atomic_init(&fl->head, 0);
}

/* Returns a free index, or NIL when the pool is empty. */
static uint32_t pool_pop(struct freelist *fl)
{
	/* acquire: see next[top] and the node as the pushing thread left them */
	uint64_t old = atomic_load_explicit(&fl->head, memory_order_acquire);
	uint32_t top, below;

	do {
		top = (uint32_t)old;
		if (top == NIL)
			return NIL;
		/* may be stale if another thread pops top first; then the exchange fails */
		below = atomic_load_explicit(&fl->next[top], memory_order_relaxed);
	} while (!atomic_compare_exchange_weak_explicit(
	    &fl->head, &old, tagged(old, below), memory_order_acquire, memory_order_acquire));
	return top;
}

static void pool_push(struct freelist *fl, uint32_t index)
{
	uint64_t old = atomic_load_explicit(&fl->head, memory_order_relaxed);

	do {
		atomic_store_explicit(&fl->next[index], (uint32_t)old, memory_order_relaxed);
		/* release: publish next[index] and our last writes to the node to the popper */
	} while (!atomic_compare_exchange_weak_explicit(
	    &fl->head, &old, tagged(old, index), memory_order_release, memory_order_relaxed));
}

/* Claims room for one entry; false when the table is full. */
static bool claim_entry(struct tapir_l2table *t)
{
	size_t c = atomic_load_explicit(&t->count, memory_order_relaxed);

	/* acquire on success: pairs with release_entry(), so our pop sees the node it pushed */
	do {
		if (c >= t->max_entries)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&t->count, &c, c + 1, memory_order_acquire,
							memory_order_relaxed));
	return true;
}

/* Gives node @index back to the pool, then its room in the count. */
static void release_entry(struct tapir_l2table *t, uint32_t index)
{
	pool_push(&t->free_nodes, index);
	/* release: whoever claims this room next finds the node on the stack */
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_release);
}

/* ---- per-owner counts ---- */

/* Returns the link that points at @id's record in bucket @b, or at the NIL ending the chain. */
static uint32_t *find_owner_link(struct tapir_l2table *t, size_t b, uint64_t id)
{
	uint32_t *link = &t->owner_heads[b];

	while (*link != NIL && t->owners[*link].id != id)
		link = &t->owners[*link].next;
	return link;
}

/* Counts one more MAC for @id; -ENOSPC at max_per_owner or with no free record. */
static int owner_add(struct tapir_l2table *t, uint64_t id)
{
	size_t b = owner_bucket(t, id);
	struct stripe *s = owner_stripe(t, b);
	struct owner_rec *o;
	uint32_t *link;
	int r = 0;

	lock(s);
	link = find_owner_link(t, b, id);
	if (*link == NIL) {
		/* sized for every owner that can hold a MAC plus a learn in flight per thread */
		*link = pool_pop(&t->free_owners);
		if (*link == NIL) {
			r = -ENOSPC;
			goto out;
		}
		o = &t->owners[*link];
		*o = (struct owner_rec){.id = id, .count = 0, .next = NIL};
	}
	o = &t->owners[*link];
	if (o->count >= t->max_per_owner)
		r = -ENOSPC;
	else
		o->count++;
out:
	unlock(s);
	return r;
}

/* Counts one MAC less for @id, which must have one; frees the record at zero. */
static void owner_sub(struct tapir_l2table *t, uint64_t id)
{
	size_t b = owner_bucket(t, id);
	struct stripe *s = owner_stripe(t, b);
	uint32_t *link, index;

	lock(s);
	link = find_owner_link(t, b, id);
	assert(*link != NIL && t->owners[*link].count > 0);
	index = *link;
	if (--t->owners[index].count == 0) {
		*link = t->owners[index].next;
		pool_push(&t->free_owners, index);
	}
	unlock(s);
}

/* ---- MAC entries ---- */

/* As find_owner_link() for MACs; the caller holds the MAC stripe lock of @b. */
static uint32_t *find_node_link(struct tapir_l2table *t, size_t b, uint64_t key)
{
	uint32_t *link = &t->mac_heads[b];

	while (*link != NIL && t->nodes[*link].key != key)
		link = &t->nodes[*link].next;
	return link;
}

static uint64_t age_ns(uint64_t now_ns, uint64_t last_seen_ns)
{
	/* another worker's clock read may be a little ahead of ours */
	return now_ns > last_seen_ns ? now_ns - last_seen_ns : 0;
}

/* Links a new node for @key at the end link @link; the caller holds its MAC stripe lock. */
static int insert(struct tapir_l2table *t, uint32_t *link, uint64_t key, void *owner,
		  uint64_t owner_id, uint64_t now_ns)
{
	struct node *n;
	uint32_t index;
	int r;

	r = owner_add(t, owner_id);
	if (r < 0)
		return r;
	if (!claim_entry(t)) {
		owner_sub(t, owner_id);
		return -ENOSPC;
	}
	index = pool_pop(&t->free_nodes);
	assert(index != NIL); /* claim_entry() leaves a free node for every claim */
	n = &t->nodes[index];
	*n = (struct node){
	    .key = key,
	    .owner_id = owner_id,
	    .last_seen_ns = now_ns,
	    .owner = owner,
	    .next = NIL,
	    .is_seen = true,
	};
	*link = index;
	return 0;
}

/*
 * Locks the stripe of @mac's bucket and returns the link that holds (or would hold) its node;
 * @key gets the MAC's key and @s the stripe to unlock.
 */
static uint32_t *lock_mac(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES],
			  uint64_t *key, struct stripe **s)
{
	size_t b;

	*key = mac_key(mac);
	b = mac_bucket(t, *key);
	*s = mac_stripe(t, b);
	lock(*s);
	return find_node_link(t, b, *key);
}

int tapir_l2table_learn(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES],
			void *owner, uint64_t owner_id, uint64_t now_ns)
{
	uint64_t key;
	uint32_t *link;
	struct stripe *s;
	struct node *n;
	int r = 0;

	if (tapir_mac_is_multicast(mac) || tapir_mac_is_zero(mac))
		return -EINVAL;
	link = lock_mac(t, mac, &key, &s);
	if (*link == NIL) {
		r = insert(t, link, key, owner, owner_id, now_ns);
		goto out;
	}
	n = &t->nodes[*link];
	if (n->is_pinned && n->owner_id != owner_id) {
		r = -EPERM; /* reserved for the peer it is pinned to */
		goto out;
	}
	if (n->owner_id != owner_id) {
		/* moved: count it for the new owner first, so a full owner leaves it in place */
		r = owner_add(t, owner_id);
		if (r < 0)
			goto out;
		owner_sub(t, n->owner_id);
		n->owner_id = owner_id;
	}
	n->owner = owner;
	n->last_seen_ns = now_ns;
	n->is_seen = true;
out:
	unlock(s);
	return r;
}

/* Makes the learned node @n a pinned one of @owner; the caller holds its MAC stripe lock. */
static void convert_to_pinned(struct tapir_l2table *t, struct node *n, void *owner,
			      uint64_t owner_id)
{
	bool was_own = n->owner_id == owner_id;

	owner_sub(t, n->owner_id);
	t->n_pinned++;
	/* the node stays linked: its room moves from the learned count to the pinned one */
	atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
	n->is_pinned = true;
	n->is_seen = was_own;
	n->owner = owner;
	n->owner_id = owner_id;
}

int tapir_l2table_pin(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES], void *owner,
		      uint64_t owner_id)
{
	uint64_t key;
	uint32_t *link, index;
	struct stripe *s;
	struct node *n;
	int r = 0;

	if (tapir_mac_is_multicast(mac) || tapir_mac_is_zero(mac))
		return -EINVAL;
	link = lock_mac(t, mac, &key, &s);
	if (*link != NIL) {
		n = &t->nodes[*link];
		if (n->is_pinned && n->owner_id != owner_id)
			r = -EEXIST;
		else if (n->is_pinned)
			n->owner = owner;
		else if (t->n_pinned >= TAPIR_L2TABLE_MAX_PINNED)
			r = -ENOSPC;
		else
			convert_to_pinned(t, n, owner, owner_id); /* a learned entry gives way */
		goto out;
	}
	if (t->n_pinned >= TAPIR_L2TABLE_MAX_PINNED) {
		r = -ENOSPC;
		goto out;
	}
	t->n_pinned++;
	index = pool_pop(&t->free_nodes);
	assert(index != NIL); /* TAPIR_L2TABLE_MAX_PINNED nodes are kept for pins */
	t->nodes[index] = (struct node){
	    .key = key,
	    .owner_id = owner_id,
	    .owner = owner,
	    .next = NIL,
	    .is_pinned = true,
	};
	*link = index;
out:
	unlock(s);
	return r;
}

void *tapir_l2table_lookup(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES],
			   uint64_t now_ns, uint64_t max_age_ns, uint64_t *owner_id_out)
{
	const struct node *n;
	struct stripe *s;
	void *owner = NULL;
	uint32_t *link;
	uint64_t key;

	link = lock_mac(t, mac, &key, &s);
	if (*link != NIL) {
		n = &t->nodes[*link];
		if (n->is_pinned || age_ns(now_ns, n->last_seen_ns) <= max_age_ns) {
			owner = n->owner;
			if (owner_id_out)
				*owner_id_out = n->owner_id;
		}
	}
	unlock(s);
	return owner;
}

/* ---- removal and walks (control thread) ---- */

/* Which entries a sweep removes: those of one owner, or those older than a maximum age. */
struct sweep {
	bool is_by_owner;
	uint64_t owner_id;
	uint64_t now_ns;
	uint64_t max_age_ns;
};

static bool is_doomed(const struct node *n, const struct sweep *w)
{
	if (w->is_by_owner)
		return n->owner_id == w->owner_id;
	return !n->is_pinned && age_ns(w->now_ns, n->last_seen_ns) > w->max_age_ns;
}

/* Unlinks the doomed nodes of every bucket of stripe @stripe; the caller holds its lock. */
static size_t sweep_stripe(struct tapir_l2table *t, size_t stripe, const struct sweep *w)
{
	size_t removed = 0;

	for (size_t b = stripe; b <= t->mac_mask; b += STRIPES) {
		uint32_t *link = &t->mac_heads[b];

		while (*link != NIL) {
			uint32_t index = *link;
			struct node *n = &t->nodes[index];

			if (!is_doomed(n, w)) {
				link = &n->next;
				continue;
			}
			*link = n->next;
			if (n->is_pinned) {
				pool_push(&t->free_nodes, index);
				t->n_pinned--;
			} else {
				owner_sub(t, n->owner_id);
				release_entry(t, index);
			}
			removed++;
		}
	}
	return removed;
}

/*
 * One stripe at a time, so workers wait at most for one stripe's share of the buckets (the
 * table's bucket count / STRIPES chains) and never for the whole table.
 */
static size_t sweep(struct tapir_l2table *t, const struct sweep *w)
{
	size_t removed = 0;

	for (size_t i = 0; i < STRIPES; i++) {
		lock(&t->mac_stripes[i]);
		removed += sweep_stripe(t, i, w);
		unlock(&t->mac_stripes[i]);
	}
	return removed;
}

void tapir_l2table_remove_owner(struct tapir_l2table *t, uint64_t owner_id)
{
	struct sweep w = {.is_by_owner = true, .owner_id = owner_id};

	sweep(t, &w);
}

size_t tapir_l2table_expire(struct tapir_l2table *t, uint64_t now_ns, uint64_t max_age_ns)
{
	struct sweep w = {.now_ns = now_ns, .max_age_ns = max_age_ns};

	return sweep(t, &w);
}

size_t tapir_l2table_count(struct tapir_l2table *t)
{
	return atomic_load_explicit(&t->count, memory_order_relaxed);
}

size_t tapir_l2table_count_pinned(struct tapir_l2table *t)
{
	return t->n_pinned;
}

size_t tapir_l2table_count_owner(struct tapir_l2table *t, uint64_t owner_id)
{
	size_t b = owner_bucket(t, owner_id);
	struct stripe *s = owner_stripe(t, b);
	uint32_t *link;
	size_t count;

	lock(s);
	link = find_owner_link(t, b, owner_id);
	count = *link == NIL ? 0 : t->owners[*link].count;
	unlock(s);
	return count;
}

/* Calls @fn for @owner_id's nodes in stripe @stripe; the caller holds its lock. */
static int walk_stripe(struct tapir_l2table *t, size_t stripe, uint64_t owner_id,
		       tapir_l2table_walk_fn fn, void *ctx)
{
	uint8_t mac[TAPIR_MAC_LEN_BYTES];
	int r;

	for (size_t b = stripe; b <= t->mac_mask; b += STRIPES) {
		for (uint32_t i = t->mac_heads[b]; i != NIL; i = t->nodes[i].next) {
			if (t->nodes[i].owner_id != owner_id || !t->nodes[i].is_seen)
				continue;
			key_to_mac(t->nodes[i].key, mac);
			r = fn(ctx, mac, t->nodes[i].last_seen_ns);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

int tapir_l2table_walk_owner(struct tapir_l2table *t, uint64_t owner_id, tapir_l2table_walk_fn fn,
			     void *ctx)
{
	int r = 0;

	for (size_t i = 0; i < STRIPES && r == 0; i++) {
		lock(&t->mac_stripes[i]);
		r = walk_stripe(t, i, owner_id, fn, ctx);
		unlock(&t->mac_stripes[i]);
	}
	return r;
}

/* ---- creation ---- */

static size_t bucket_count(size_t entries)
{
	size_t n = STRIPES; /* every stripe gets at least one bucket */

	while (n < entries)
		n *= 2;
	return n;
}

static void free_arrays(struct tapir_l2table *t)
{
	free(t->nodes);
	free(t->mac_heads);
	free(t->owners);
	free(t->owner_heads);
	free(t->free_nodes.next);
	free(t->free_owners.next);
}

static void init_locks(struct tapir_l2table *t)
{
	/* glibc's pthread_mutex_init cannot fail with default attributes */
	for (size_t i = 0; i < STRIPES; i++) {
		pthread_mutex_init(&t->mac_stripes[i].lock, NULL);
		pthread_mutex_init(&t->owner_stripes[i].lock, NULL);
	}
}

struct tapir_l2table *tapir_l2table_new(size_t max_entries, size_t max_per_owner)
{
	struct tapir_l2table *t;
	size_t buckets, owner_recs, n_nodes;

	if (max_entries == 0 || max_entries > MAX_ENTRIES || max_per_owner == 0)
		return NULL;
	buckets = bucket_count(max_entries);
	owner_recs = max_entries + OWNER_SLACK;
	n_nodes = max_entries + TAPIR_L2TABLE_MAX_PINNED;
	/* sizeof is a multiple of the alignment, as aligned_alloc requires */
	t = aligned_alloc(alignof(struct tapir_l2table), sizeof(*t));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->nodes = calloc(n_nodes, sizeof(*t->nodes));
	t->mac_heads = malloc(buckets * sizeof(*t->mac_heads));
	t->owners = calloc(owner_recs, sizeof(*t->owners));
	t->owner_heads = malloc(buckets * sizeof(*t->owner_heads));
	t->free_nodes.next = calloc(n_nodes, sizeof(*t->free_nodes.next));
	t->free_owners.next = calloc(owner_recs, sizeof(*t->free_owners.next));
	if (!t->nodes || !t->mac_heads || !t->owners || !t->owner_heads || !t->free_nodes.next ||
	    !t->free_owners.next)
		goto err_alloc;
	if (getrandom(t->hash_key, sizeof(t->hash_key), 0) != sizeof(t->hash_key))
		goto err_alloc;

	for (size_t i = 0; i < buckets; i++) {
		t->mac_heads[i] = NIL;
		t->owner_heads[i] = NIL;
	}
	pool_init(&t->free_nodes, n_nodes);
	pool_init(&t->free_owners, owner_recs);
	atomic_init(&t->count, 0);
	t->mac_mask = buckets - 1;
	t->owner_mask = buckets - 1;
	t->max_entries = max_entries;
	t->max_per_owner = max_per_owner;
	init_locks(t);
	return t;

err_alloc:
	free_arrays(t);
	free(t);
	return NULL;
}

void tapir_l2table_free(struct tapir_l2table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < STRIPES; i++) {
		pthread_mutex_destroy(&t->mac_stripes[i].lock);
		pthread_mutex_destroy(&t->owner_stripes[i].lock);
	}
	free_arrays(t);
	explicit_bzero(t->hash_key, sizeof(t->hash_key));
	free(t);
}
