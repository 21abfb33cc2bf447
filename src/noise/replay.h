/* SPDX-License-Identifier: MIT */
/*
 * Sliding replay window of RFC 6479 as WireGuard uses it (wireguard-protocol.md section 6):
 * 128 words of 64 bits, window 8128 counters. Call only after the AEAD tag verified.
 * Not thread-safe: the caller serialises access per keypair.
 */
#ifndef TAPIR_REPLAY_H
#define TAPIR_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

enum {
	TAPIR_REPLAY_WORDS = 128,
	TAPIR_REPLAY_WINDOW = (TAPIR_REPLAY_WORDS - 1) * 64,
};

struct tapir_replay {
	uint64_t last;
	uint64_t ring[TAPIR_REPLAY_WORDS];
};

void tapir_replay_init(struct tapir_replay *r);
/* True (and records @counter) when it is new and inside the window; false otherwise. */
bool tapir_replay_check(struct tapir_replay *r, uint64_t counter);

#endif
