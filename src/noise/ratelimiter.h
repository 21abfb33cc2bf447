/* SPDX-License-Identifier: MIT */
/*
 * Per-source token bucket for handshakes under load (wireguard-protocol.md section 5.2 item 3):
 * 20 packets/s, burst 5, IPv4 keyed by address, IPv6 by /64. Entries idle for more than 1 s
 * are collected; the table is bounded so a flood of sources cannot exhaust memory (sources
 * beyond the bound are refused). No clock: time is passed in. Not thread-safe.
 */
#ifndef TAPIR_RATELIMITER_H
#define TAPIR_RATELIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tapir_ratelimiter;

/* @max_entries bounds memory; returns NULL on allocation failure. */
struct tapir_ratelimiter *tapir_ratelimiter_new(size_t max_entries);
void tapir_ratelimiter_free(struct tapir_ratelimiter *rl);
/* @family is AF_INET (4-byte @addr) or AF_INET6 (16-byte @addr). */
bool tapir_ratelimiter_allow(struct tapir_ratelimiter *rl, int family, const uint8_t *addr,
			     uint64_t now_ns);
size_t tapir_ratelimiter_count(const struct tapir_ratelimiter *rl);

#endif
