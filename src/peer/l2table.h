/* SPDX-License-Identifier: MIT */
/*
 * The MAC table of TAP mode's learning switch (issue 4): which peer owns a unicast MAC
 * address, learned from the source MAC of frames received from that peer, with a last-seen
 * time for aging. An owner is an opaque pointer (the peer) plus its 64-bit peer id; counts
 * and removal go by id. No I/O and no clock: times are passed in, in nanoseconds.
 *
 * Bounds: at most max_entries MACs in all and max_per_owner per owner, so one peer cannot
 * flood the table. Every node is allocated at creation; learn() and lookup() never allocate.
 * Buckets are hashed with SipHash-2-4 under a random key, so chosen MACs do not collide.
 *
 * Pins: the control thread can reserve a MAC for one owner (a peer's MACs = pins, issue 13):
 * learn() then refuses it from every other owner, so no other peer can take its traffic.
 *
 * Concurrency: learn(), lookup(), count() and count_owner() may run at the same time from any
 * thread (the workers' receive and send paths). The buckets are split over 64 stripes, each
 * with its own mutex, and an operation on a MAC takes only the lock of its stripe; there
 * is no table-wide lock. Per-owner counts sit in a second striped table that only inserting,
 * moving and removing a MAC touch (never a lookup or the refresh of a known MAC). Removal
 * (remove_owner, expire) and walk_owner() also take the stripe locks one at a time, from the
 * control thread. Lock order: MAC stripe lock -> owner stripe lock; the free lists are
 * lock-free. new() and free() need exclusive access.
 */
#ifndef TAPIR_L2TABLE_H
#define TAPIR_L2TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tapir_mac_len {
	TAPIR_MAC_LEN_BYTES = 6,
};

enum tapir_l2table_limits {
	TAPIR_L2TABLE_MAX_PINNED = 16384, /* pinned MACs per table, apart from max_entries */
};

struct tapir_l2table;

/*
 * Called by walk_owner() for each MAC of the owner, with a stripe lock held: it must not call
 * into the table or block. A nonzero return stops the walk and is returned by it.
 */
typedef int (*tapir_l2table_walk_fn)(void *ctx, const uint8_t mac[TAPIR_MAC_LEN_BYTES],
				     uint64_t last_seen_ns);

/* True for group addresses (I/G bit, bit 0 of byte 0), broadcast included. */
static inline bool tapir_mac_is_multicast(const uint8_t mac[TAPIR_MAC_LEN_BYTES])
{
	return (mac[0] & 0x01) != 0;
}

static inline bool tapir_mac_is_zero(const uint8_t mac[TAPIR_MAC_LEN_BYTES])
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/* l2table.c */

/*
 * A table of at most @max_entries MACs (1 to 2^24), at most @max_per_owner per owner.
 * Returns NULL on bad sizes, allocation failure or when getrandom(2) fails.
 */
struct tapir_l2table *tapir_l2table_new(size_t max_entries, size_t max_per_owner);
void tapir_l2table_free(struct tapir_l2table *t);

/*
 * Records that @mac was the source of a frame from @owner (id @owner_id) at @now_ns: refreshes
 * a known MAC, moves a MAC last seen from another owner (a VM that moved hosts) or inserts a
 * new one. Returns 0; -EINVAL for a multicast or all-zero @mac; -EPERM when @mac is pinned to
 * another owner; -ENOSPC when @owner_id already has max_per_owner MACs or the table holds
 * max_entries (the table is unchanged on every error). Expired entries still count until
 * expire() removes them. The table keeps @owner, borrowed: remove the owner's entries before
 * freeing it.
 */
int tapir_l2table_learn(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES],
			void *owner, uint64_t owner_id, uint64_t now_ns);

/*
 * Reserves @mac for @owner (id @owner_id): from now on learn() refuses it from any other owner,
 * and lookup() returns @owner whatever its age. A learned entry for @mac, of any owner, becomes
 * the pinned one. Pinned entries do not count against max_entries or max_per_owner; they go
 * only with remove_owner(). Returns 0 (also when @owner already holds the pin); -EINVAL for a
 * multicast or all-zero @mac; -EEXIST when another owner holds the pin; -ENOSPC with
 * TAPIR_L2TABLE_MAX_PINNED pins in the table. Control thread.
 */
int tapir_l2table_pin(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES], void *owner,
		      uint64_t owner_id);

/*
 * Returns the owner of @mac if it is pinned or was seen no more than @max_age_ns before @now_ns,
 * else NULL (unknown unicast: the caller floods). Stores the owner's id in @owner_id_out if not
 * NULL. The pointer is valid as long as the caller keeps the owner alive (the device read lock).
 */
void *tapir_l2table_lookup(struct tapir_l2table *t, const uint8_t mac[TAPIR_MAC_LEN_BYTES],
			   uint64_t now_ns, uint64_t max_age_ns, uint64_t *owner_id_out);

/* Removes every MAC of @owner_id, pinned ones too (a peer removed or re-pinned). Control thread. */
void tapir_l2table_remove_owner(struct tapir_l2table *t, uint64_t owner_id);

/*
 * Removes the learned MACs seen more than @max_age_ns before @now_ns (pins stay); returns how
 * many. Control thread.
 */
size_t tapir_l2table_expire(struct tapir_l2table *t, uint64_t now_ns, uint64_t max_age_ns);

/*
 * Learned entries in the table, in all and of one owner (pins not included); exact when no
 * learn() or removal runs at the same time.
 */
size_t tapir_l2table_count(struct tapir_l2table *t);
size_t tapir_l2table_count_owner(struct tapir_l2table *t, uint64_t owner_id);
/* Pinned entries. Control thread. */
size_t tapir_l2table_count_pinned(struct tapir_l2table *t);

/*
 * Calls @fn for each MAC of @owner_id that a frame came from (for `tapir show`: a pin is listed
 * once its owner sent from it), in no particular order. Returns 0 or the first nonzero value
 * @fn returned.
 */
int tapir_l2table_walk_owner(struct tapir_l2table *t, uint64_t owner_id, tapir_l2table_walk_fn fn,
			     void *ctx);

#endif
