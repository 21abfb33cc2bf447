/* SPDX-License-Identifier: MIT */
/*
 * Cryptokey routing table (wireguard-protocol.md section 7.1): one binary (path-compressed)
 * trie per family mapping prefixes to owners, longest-prefix match, one owner per prefix
 * (inserting an existing prefix moves it), prefixes normalised (host bits cleared). Each owner
 * keeps a list of its nodes, so removing or listing a peer's prefixes does not scan the trie.
 * Not thread-safe: one writer (the control thread); readers are excluded by the caller's lock.
 */
#ifndef TAPIR_ALLOWEDIPS_H
#define TAPIR_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct tapir_allowedips_node;

/* Embedded in the owning peer; zero-initialise it. */
struct tapir_allowedips_owner {
	struct tapir_allowedips_node *first; /* list of this owner's prefixes */
	size_t count;
};

struct tapir_allowedips;

struct tapir_allowedips *tapir_allowedips_new(void);
/* Frees every node; owners' lists become invalid (zero them before reuse). */
void tapir_allowedips_free(struct tapir_allowedips *t);

/*
 * Inserts @addr/@cidr (AF_INET: 4 bytes, cidr <= 32; AF_INET6: 16 bytes, cidr <= 128) for
 * @owner, moving it from another owner if present. Returns 0, -EINVAL or -ENOMEM.
 */
int tapir_allowedips_insert(struct tapir_allowedips *t, int family, const uint8_t *addr,
			    uint8_t cidr, struct tapir_allowedips_owner *owner);
/* Removes @addr/@cidr if @owner holds exactly it. Returns 0, -EINVAL or -ENOENT. */
int tapir_allowedips_remove(struct tapir_allowedips *t, int family, const uint8_t *addr,
			    uint8_t cidr, struct tapir_allowedips_owner *owner);
/* Removes every prefix of @owner (count becomes 0). */
void tapir_allowedips_remove_owner(struct tapir_allowedips *t,
				   struct tapir_allowedips_owner *owner);
/* Longest-prefix match; NULL when nothing covers @addr. */
struct tapir_allowedips_owner *tapir_allowedips_lookup(const struct tapir_allowedips *t, int family,
						       const uint8_t *addr);

/* Called once per prefix of an owner; a non-zero return stops the walk and is returned. */
typedef int (*tapir_allowedips_walk_fn)(void *ctx, int family, const uint8_t *addr, uint8_t cidr);
/* Visits @owner's prefixes (normalised address bytes, 4 or 16) in insertion order. */
int tapir_allowedips_walk_owner(const struct tapir_allowedips_owner *owner,
				tapir_allowedips_walk_fn fn, void *ctx);

#endif
