// SPDX-License-Identifier: MIT
/*
 * Per-source token bucket for handshake messages under load (wireguard-protocol.md section 5.2,
 * item 3): 20 packets per second with a burst of 5 for each IPv4 address or IPv6 /64.
 *
 * The table is an open-addressing hash table with linear probing, allocated once at creation
 * with at least twice as many slots as max_entries, so probes stay short and nothing is
 * allocated per packet. Slots are hashed with SipHash-2-4 under a random key from getrandom(2),
 * so a remote sender cannot pick source addresses that collide into one long probe sequence.
 * Deletion shifts later entries back instead of leaving tombstones.
 *
 * Garbage collection is incremental: allow() examines a bounded number of slots from a cursor,
 * starting a sweep at most once per second, or continuously while the table is more than half
 * full. No clock is read here; the caller passes the time. Not thread-safe.
 */
#include "ratelimiter.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h> /* AF_INET and AF_INET6 only: no socket calls here */

#include "siphash.h"

/* Bucket parameters of section 5.2; tokens are nanoseconds of allowance. */
enum ratelimit_rates {
	PACKETS_PER_SECOND = 20,
	PACKETS_BURSTABLE = 5,
};

/*
 * Entries idle for longer than IDLE_TIMEOUT_NS are collected; a sweep starts at most every
 * GC_INTERVAL_NS unless the table is over half full.
 */
enum ratelimit_times_ns {
	NSEC_PER_SEC = 1000000000,
	PACKET_COST_NS = NSEC_PER_SEC / PACKETS_PER_SECOND, /* 50 ms */
	TOKEN_MAX_NS = PACKET_COST_NS * PACKETS_BURSTABLE,  /* 250 ms */
	IDLE_TIMEOUT_NS = NSEC_PER_SEC,
	GC_INTERVAL_NS = NSEC_PER_SEC,
};

enum ratelimit_gc {
	GC_SLOTS_PER_CALL = 16,	 /* slots examined by one allow() while a sweep runs */
	GC_SLOTS_WHEN_FULL = 64, /* extra slots examined before refusing a new source */
	MIN_SLOTS = 16,
};

enum slot_kind {
	SLOT_EMPTY = 0,
	SLOT_V4,
	SLOT_V6,
};

/* One source, 24 bytes. */
struct entry {
	uint64_t key;	    /* IPv4 address or IPv6 /64 prefix, in memory byte order */
	uint64_t last_ns;   /* time of the last packet from this source */
	uint32_t tokens_ns; /* at most TOKEN_MAX_NS */
	uint8_t kind;	    /* enum slot_kind */
};

_Static_assert(TOKEN_MAX_NS <= UINT32_MAX, "tokens_ns must hold a full bucket");

struct tapir_ratelimiter {
	struct entry *slots;
	size_t mask; /* slot count - 1; the slot count is a power of two */
	size_t count;
	size_t max_entries;
	size_t gc_cursor;     /* next slot the sweep examines; 0 when no sweep runs */
	uint64_t gc_next_ns;  /* earliest start of the next sweep */
	uint64_t hash_key[2]; /* SipHash key, random per table */
};

static size_t home_slot(const struct tapir_ratelimiter *rl, uint64_t key, uint8_t kind)
{
	const uint64_t words[2] = {key, kind};

	return (size_t)tapir_siphash_words(rl->hash_key, words, 16) & rl->mask;
}

/* IPv4 sources are keyed by the whole address, IPv6 sources by their /64 (section 5.2). */
static bool make_key(int family, const uint8_t *addr, uint64_t *key, uint8_t *kind)
{
	uint32_t v4;

	if (family == AF_INET) {
		memcpy(&v4, addr, sizeof(v4));
		*key = v4;
		*kind = SLOT_V4;
		return true;
	}
	if (family == AF_INET6) {
		memcpy(key, addr, sizeof(*key));
		*kind = SLOT_V6;
		return true;
	}
	return false;
}

struct tapir_ratelimiter *tapir_ratelimiter_new(size_t max_entries)
{
	struct tapir_ratelimiter *rl;
	size_t slots = MIN_SLOTS;

	if (max_entries > SIZE_MAX / 4 / sizeof(struct entry))
		return NULL;
	while (slots < 2 * max_entries)
		slots *= 2;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (!rl->slots)
		goto err_slots;
	if (getrandom(rl->hash_key, sizeof(rl->hash_key), 0) != sizeof(rl->hash_key))
		goto err_random;
	rl->mask = slots - 1;
	rl->max_entries = max_entries;
	return rl;

err_random:
	free(rl->slots);
err_slots:
	free(rl);
	return NULL;
}

void tapir_ratelimiter_free(struct tapir_ratelimiter *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	explicit_bzero(rl->hash_key, sizeof(rl->hash_key));
	free(rl);
}

size_t tapir_ratelimiter_count(const struct tapir_ratelimiter *rl)
{
	return rl->count;
}

/* True when slot index @h lies cyclically in (@from, @to]. */
static bool cyclic_between(size_t from, size_t h, size_t to)
{
	if (from <= to)
		return from < h && h <= to;
	return from < h || h <= to;
}

/*
 * Empties slot @i and moves later entries of its probe run back, so that every entry stays
 * reachable from its home slot without tombstones. Entries move only into @i or into later
 * slots of the run, so a sweep standing at @i still visits each of them.
 */
static void delete_slot(struct tapir_ratelimiter *rl, size_t i)
{
	size_t j = i;

	for (;;) {
		struct entry *e;

		j = (j + 1) & rl->mask;
		e = &rl->slots[j];
		if (e->kind == SLOT_EMPTY)
			break;
		/* An entry whose home is in (i, j] is still reachable with i empty. */
		if (cyclic_between(i, home_slot(rl, e->key, e->kind), j))
			continue;
		rl->slots[i] = *e;
		i = j;
	}
	memset(&rl->slots[i], 0, sizeof(rl->slots[i]));
	rl->count--;
}

static bool is_idle(const struct entry *e, uint64_t now_ns)
{
	return now_ns > e->last_ns && now_ns - e->last_ns > IDLE_TIMEOUT_NS;
}

/*
 * Examines up to @budget slots of the current sweep, deleting idle entries. A slot that
 * received a shifted entry is examined again, so nothing is skipped.
 */
static void gc_step(struct tapir_ratelimiter *rl, uint64_t now_ns, size_t budget)
{
	bool is_busy = rl->count > rl->max_entries / 2;

	if (rl->gc_cursor == 0 && now_ns < rl->gc_next_ns && !is_busy)
		return;
	while (budget-- > 0) {
		struct entry *e = &rl->slots[rl->gc_cursor];

		if (e->kind != SLOT_EMPTY && is_idle(e, now_ns)) {
			delete_slot(rl, rl->gc_cursor);
			continue;
		}
		rl->gc_cursor = (rl->gc_cursor + 1) & rl->mask;
		if (rl->gc_cursor == 0) {
			rl->gc_next_ns = now_ns + GC_INTERVAL_NS;
			return;
		}
	}
}

/* Finds the entry for (@key, @kind), or the empty slot where it belongs. */
static struct entry *find_slot(struct tapir_ratelimiter *rl, uint64_t key, uint8_t kind)
{
	size_t i = home_slot(rl, key, kind);

	/* Load is at most one half, so an empty slot always ends the probe. */
	while (rl->slots[i].kind != SLOT_EMPTY &&
	       (rl->slots[i].kind != kind || rl->slots[i].key != key))
		i = (i + 1) & rl->mask;
	return &rl->slots[i];
}

/* Refills the bucket for the time since the last packet, then spends one packet if it can. */
static bool spend(struct entry *e, uint64_t now_ns)
{
	uint64_t tokens = e->tokens_ns;

	if (now_ns > e->last_ns) {
		uint64_t elapsed = now_ns - e->last_ns;

		tokens = elapsed >= TOKEN_MAX_NS - tokens ? TOKEN_MAX_NS : tokens + elapsed;
		e->last_ns = now_ns;
	}
	if (tokens < PACKET_COST_NS) {
		e->tokens_ns = (uint32_t)tokens;
		return false;
	}
	e->tokens_ns = (uint32_t)(tokens - PACKET_COST_NS);
	return true;
}

bool tapir_ratelimiter_allow(struct tapir_ratelimiter *rl, int family, const uint8_t *addr,
			     uint64_t now_ns)
{
	struct entry *e;
	uint64_t key;
	uint8_t kind;

	if (!make_key(family, addr, &key, &kind))
		return false;
	gc_step(rl, now_ns, GC_SLOTS_PER_CALL);
	e = find_slot(rl, key, kind);
	if (e->kind != SLOT_EMPTY)
		return spend(e, now_ns);

	if (rl->count >= rl->max_entries) {
		gc_step(rl, now_ns, GC_SLOTS_WHEN_FULL);
		/* Deletion may have shifted entries, so the empty slot must be found again. */
		e = find_slot(rl, key, kind);
		if (rl->count >= rl->max_entries)
			return false;
	}
	/* A new source starts one packet short of a full bucket: this packet is allowed. */
	e->key = key;
	e->kind = kind;
	e->last_ns = now_ns;
	e->tokens_ns = (uint32_t)(TOKEN_MAX_NS - PACKET_COST_NS);
	rl->count++;
	return true;
}
