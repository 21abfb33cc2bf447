// SPDX-License-Identifier: MIT
/*
 * Receive-side replay window (wireguard-protocol.md section 6): the RFC 6479 bitmap, a ring of
 * TAPIR_REPLAY_WORDS 64-bit words indexed by counter / 64. Advancing the window clears whole
 * words instead of shifting bits, so a check costs O(1) amortised and at most one pass over the
 * ring. The window is TAPIR_REPLAY_WINDOW (8128) counters behind the highest one seen.
 *
 * This must run only after the AEAD tag verified: a forged counter would otherwise advance the
 * window and make genuine packets look old. No locking here; the caller serialises per keypair.
 */
#include "replay.h"

#include <string.h>

#include "messages.h"

enum {
	WORD_BITS = 64,
	WORD_SHIFT = 6,
	RING_MASK = TAPIR_REPLAY_WORDS - 1,
};

_Static_assert((TAPIR_REPLAY_WORDS & RING_MASK) == 0, "ring size must be a power of two");

void tapir_replay_init(struct tapir_replay *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Moves the window so that @counter (greater than r->last) becomes the newest counter. Words
 * between the old and the new newest word hold bits of counters a full ring ago: clear them.
 * A jump of a whole ring or more clears everything.
 */
static void advance(struct tapir_replay *r, uint64_t counter)
{
	uint64_t cur = r->last >> WORD_SHIFT;
	uint64_t diff = (counter >> WORD_SHIFT) - cur;

	if (diff > TAPIR_REPLAY_WORDS)
		diff = TAPIR_REPLAY_WORDS;
	for (uint64_t i = 1; i <= diff; i++)
		r->ring[(cur + i) & RING_MASK] = 0;
	r->last = counter;
}

bool tapir_replay_check(struct tapir_replay *r, uint64_t counter)
{
	uint64_t bit, *word;

	/* The sender must rekey long before this; anything here is a bug or an attack. */
	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	if (counter > r->last)
		advance(r, counter);
	else if (r->last - counter > TAPIR_REPLAY_WINDOW)
		return false;

	bit = 1ull << (counter & (WORD_BITS - 1));
	word = &r->ring[(counter >> WORD_SHIFT) & RING_MASK];
	if (*word & bit)
		return false;
	*word |= bit;
	return true;
}
