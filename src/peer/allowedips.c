// SPDX-License-Identifier: MIT
/*
 * Cryptokey routing table (wireguard-protocol.md section 7.1): longest-prefix match over one
 * path-compressed binary trie per family. A node stores a whole prefix (key bytes with the host
 * bits cleared, plus its length); a child hangs off bit number `cidr` of its parent's key, so
 * a lookup visits at most one node per address bit and compares each address byte about once.
 *
 * Two kinds of node exist. Prefix nodes carry an owner and the links of that owner's list of
 * prefixes (insertion order, so walks are stable and removing a peer is O(its prefixes)). Branch
 * points, created where two prefixes diverge, carry no owner. Invariant: a node without an owner
 * has exactly two children; removal restores it by freeing or splicing out nodes that became
 * useless, so the trie never holds more than 2n - 1 nodes for n prefixes. To keep memory small,
 * a branch point is allocated without the owner and list fields (23 bytes with an IPv4 key
 * against 48 for a prefix node; 35 and 64 for IPv6) and is reallocated if a prefix lands on it.
 *
 * Single writer (the control thread); readers are excluded by the caller. No I/O.
 */
#include "allowedips.h"

#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h> /* AF_INET and AF_INET6 only: no socket calls here */

struct tapir_allowedips_node {
	struct tapir_allowedips_node *bit[2]; /* children by the bit after the prefix */
	uint8_t cidr;
	uint8_t family; /* AF_INET or AF_INET6 */
	bool has_links; /* allocated with struct links after the key */
	uint8_t key[];	/* 4 or 16 bytes, network order, bits past cidr zero */
};

/* Follows the key at the next aligned offset, only when node->has_links. */
struct links {
	struct tapir_allowedips_owner *owner; /* NULL: a branch point that once held a prefix */
	struct tapir_allowedips_node *prev;   /* owner list; the first node's prev is the tail */
	struct tapir_allowedips_node *next;   /* NULL at the tail */
};

struct tapir_allowedips {
	struct tapir_allowedips_node *root4;
	struct tapir_allowedips_node *root6;
};

_Static_assert(AF_INET < 256 && AF_INET6 < 256, "family must fit the node's byte");

enum {
	V4_LEN_BYTES = 4,
	V6_LEN_BYTES = 16,
	MAX_LEN_BYTES = V6_LEN_BYTES,
};

/* Key length in bytes of @family, 0 when it is not an address family we route. */
static size_t key_len(int family)
{
	if (family == AF_INET)
		return V4_LEN_BYTES;
	if (family == AF_INET6)
		return V6_LEN_BYTES;
	return 0;
}

static size_t links_offset(int family)
{
	size_t end = offsetof(struct tapir_allowedips_node, key) + key_len(family);

	return (end + alignof(struct links) - 1) & ~(alignof(struct links) - 1);
}

static struct links *links_of(struct tapir_allowedips_node *n)
{
	return (struct links *)((uint8_t *)n + links_offset(n->family));
}

static struct tapir_allowedips_owner *owner_of(struct tapir_allowedips_node *n)
{
	return n->has_links ? links_of(n)->owner : NULL;
}

static unsigned bit_at(const uint8_t *key, unsigned i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* Mask of the bits of byte @i that lie within the first @cidr bits. */
static uint8_t byte_mask(unsigned cidr, size_t i)
{
	if (cidr >= (i + 1) * 8)
		return 0xff;
	if (cidr <= i * 8)
		return 0;
	return (uint8_t)(0xff << (8 - (cidr - i * 8)));
}

static void clear_host_bits(uint8_t *key, unsigned cidr, size_t len)
{
	for (size_t i = cidr / 8; i < len; i++)
		key[i] &= byte_mask(cidr, i);
}

/* Number of leading bits @a and @b share, at most @max. */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned max)
{
	unsigned i;

	for (i = 0; i < max; i += 8) {
		unsigned x = a[i / 8] ^ b[i / 8];

		if (x) {
			i += (unsigned)__builtin_clz(x) - 24;
			break;
		}
	}
	return i < max ? i : max;
}

/*
 * True when @addr lies in @n's prefix. Bits before @from are known to match (they were checked
 * on the way down), so only the bytes from there on are compared.
 */
static bool prefix_matches(const struct tapir_allowedips_node *n, const uint8_t *addr,
			   unsigned from)
{
	size_t full = n->cidr / 8;

	for (size_t i = from / 8; i < full; i++) {
		if (addr[i] != n->key[i])
			return false;
	}
	return n->cidr % 8 == 0 || (addr[full] & byte_mask(n->cidr, full)) == n->key[full];
}

/* A node for @key/@cidr (host bits are cleared here); with links when it will hold a prefix. */
static struct tapir_allowedips_node *node_new(int family, const uint8_t *key, unsigned cidr,
					      bool has_links)
{
	size_t len = key_len(family);
	size_t size = has_links ? links_offset(family) + sizeof(struct links)
				: offsetof(struct tapir_allowedips_node, key) + len;
	struct tapir_allowedips_node *n = calloc(1, size);

	if (!n)
		return NULL;
	n->cidr = (uint8_t)cidr;
	n->family = (uint8_t)family;
	n->has_links = has_links;
	memcpy(n->key, key, len);
	clear_host_bits(n->key, cidr, len);
	return n;
}

static void free_subtree(struct tapir_allowedips_node *n)
{
	if (!n)
		return;
	free_subtree(n->bit[0]);
	free_subtree(n->bit[1]);
	free(n);
}

/* Appends @n (which has links and no owner) to the tail of @owner's list. */
static void list_append(struct tapir_allowedips_owner *owner, struct tapir_allowedips_node *n)
{
	struct links *l = links_of(n);

	l->owner = owner;
	l->next = NULL;
	if (!owner->first) {
		owner->first = n;
		l->prev = n;
	} else {
		struct links *head = links_of(owner->first);

		l->prev = head->prev;
		links_of(head->prev)->next = n;
		head->prev = n;
	}
	owner->count++;
}

/* Takes @n off its owner's list; @n keeps its place in the trie, now without an owner. */
static void list_unlink(struct tapir_allowedips_node *n)
{
	struct links *l = links_of(n);
	struct tapir_allowedips_owner *owner = l->owner;

	assert(owner);
	if (n == owner->first)
		owner->first = l->next;
	else
		links_of(l->prev)->next = l->next;
	/* The new first node, or the next one, inherits prev; or the first learns a new tail. */
	if (l->next)
		links_of(l->next)->prev = l->prev;
	else if (owner->first)
		links_of(owner->first)->prev = l->prev;
	l->owner = NULL;
	l->prev = NULL;
	l->next = NULL;
	owner->count--;
}

struct tapir_allowedips *tapir_allowedips_new(void)
{
	return calloc(1, sizeof(struct tapir_allowedips));
}

void tapir_allowedips_free(struct tapir_allowedips *t)
{
	if (!t)
		return;
	free_subtree(t->root4);
	free_subtree(t->root6);
	free(t);
}

static struct tapir_allowedips_node **root_of(struct tapir_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

/* Checks the arguments and copies the normalised prefix into @key. */
static int prepare_key(int family, const uint8_t *addr, unsigned cidr, uint8_t key[MAX_LEN_BYTES])
{
	size_t len = key_len(family);

	if (!len || !addr || cidr > len * 8)
		return -EINVAL;
	memcpy(key, addr, len);
	clear_host_bits(key, cidr, len);
	return 0;
}

/*
 * Gives the existing node *@slot to @owner. A bare branch point grows its links first; a node
 * already held (even by @owner) moves to the tail of @owner's list, as a fresh insertion.
 */
static int claim(struct tapir_allowedips_node **slot, struct tapir_allowedips_owner *owner)
{
	struct tapir_allowedips_node *n = *slot;

	if (!n->has_links) {
		size_t size = links_offset(n->family) + sizeof(struct links);

		n = realloc(n, size);
		if (!n)
			return -ENOMEM;
		n->has_links = true;
		memset(links_of(n), 0, sizeof(struct links));
		*slot = n; /* the parent's pointer was the only reference to the old block */
	} else if (links_of(n)->owner) {
		list_unlink(n);
	}
	list_append(owner, n);
	return 0;
}

/*
 * Puts a new prefix node at *@slot, which holds @old (possibly NULL). @common is how many
 * leading bits the new prefix shares with @old: either the new prefix covers @old, which
 * becomes its child, or both hang off a new branch point at bit @common.
 */
static int attach(struct tapir_allowedips_node **slot, struct tapir_allowedips_node *old,
		  unsigned common, int family, const uint8_t *key, unsigned cidr,
		  struct tapir_allowedips_owner *owner)
{
	struct tapir_allowedips_node *leaf, *branch;

	leaf = node_new(family, key, cidr, true);
	if (!leaf)
		return -ENOMEM;
	if (!old || common == cidr) {
		if (old)
			leaf->bit[bit_at(old->key, cidr)] = old;
		*slot = leaf;
	} else {
		branch = node_new(family, key, common, false);
		if (!branch) {
			free(leaf);
			return -ENOMEM;
		}
		branch->bit[bit_at(key, common)] = leaf;
		branch->bit[bit_at(old->key, common)] = old;
		*slot = branch;
	}
	list_append(owner, leaf);
	return 0;
}

int tapir_allowedips_insert(struct tapir_allowedips *t, int family, const uint8_t *addr,
			    uint8_t cidr, struct tapir_allowedips_owner *owner)
{
	struct tapir_allowedips_node **slot, *n;
	uint8_t key[MAX_LEN_BYTES];
	unsigned common;
	int ret;

	ret = prepare_key(family, addr, cidr, key);
	if (ret)
		return ret;
	if (!owner)
		return -EINVAL;
	slot = root_of(t, family);
	for (;;) {
		n = *slot;
		if (!n)
			return attach(slot, NULL, 0, family, key, cidr, owner);
		common = common_bits(n->key, key, n->cidr < cidr ? n->cidr : cidr);
		/* Diverges inside n's prefix, or covers it: a new node goes above n. */
		if (common < n->cidr)
			return attach(slot, n, common, family, key, cidr, owner);
		if (n->cidr == cidr)
			return claim(slot, owner);
		slot = &n->bit[bit_at(key, n->cidr)];
	}
}

/*
 * Finds the node holding exactly @key/@cidr (normalised). Returns the slot pointing at it and
 * sets *@parent_slot to the slot pointing at its parent (NULL at the root); NULL if absent.
 */
static struct tapir_allowedips_node **find_exact(struct tapir_allowedips_node **root,
						 const uint8_t *key, unsigned cidr,
						 struct tapir_allowedips_node ***parent_slot)
{
	struct tapir_allowedips_node **slot = root, **pslot = NULL, *n;
	unsigned from = 0;

	while ((n = *slot) && n->cidr <= cidr && prefix_matches(n, key, from)) {
		if (n->cidr == cidr) {
			*parent_slot = pslot;
			return slot;
		}
		from = n->cidr;
		pslot = slot;
		slot = &n->bit[bit_at(key, n->cidr)];
	}
	return NULL;
}

static struct tapir_allowedips_node *only_child(const struct tapir_allowedips_node *n)
{
	return n->bit[0] ? n->bit[0] : n->bit[1];
}

/*
 * Takes the prefix of node *@slot away from its owner and frees what became useless: the node
 * itself unless it still branches two ways, and its parent if that was a branch point left
 * with a single child.
 */
static void delete_node(struct tapir_allowedips_node **slot,
			struct tapir_allowedips_node **parent_slot)
{
	struct tapir_allowedips_node *n = *slot, *parent;

	list_unlink(n);
	if (n->bit[0] && n->bit[1])
		return;
	*slot = only_child(n);
	free(n);
	if (*slot || !parent_slot)
		return;
	parent = *parent_slot;
	if (owner_of(parent))
		return;
	*parent_slot = only_child(parent);
	free(parent);
}

int tapir_allowedips_remove(struct tapir_allowedips *t, int family, const uint8_t *addr,
			    uint8_t cidr, struct tapir_allowedips_owner *owner)
{
	struct tapir_allowedips_node **slot, **parent_slot;
	uint8_t key[MAX_LEN_BYTES];
	int ret;

	ret = prepare_key(family, addr, cidr, key);
	if (ret)
		return ret;
	if (!owner)
		return -EINVAL;
	slot = find_exact(root_of(t, family), key, cidr, &parent_slot);
	if (!slot || owner_of(*slot) != owner)
		return -ENOENT;
	delete_node(slot, parent_slot);
	return 0;
}

void tapir_allowedips_remove_owner(struct tapir_allowedips *t, struct tapir_allowedips_owner *owner)
{
	struct tapir_allowedips_node **slot, **parent_slot, *n;

	/* Each node is found again from the root: the trie keeps no parent pointers. */
	while ((n = owner->first)) {
		slot = find_exact(root_of(t, n->family), n->key, n->cidr, &parent_slot);
		assert(slot && *slot == n);
		delete_node(slot, parent_slot);
	}
}

struct tapir_allowedips_owner *tapir_allowedips_lookup(const struct tapir_allowedips *t, int family,
						       const uint8_t *addr)
{
	struct tapir_allowedips_owner *best = NULL;
	struct tapir_allowedips_node *n;
	unsigned bits = (unsigned)key_len(family) * 8, from = 0;

	if (!bits || !addr)
		return NULL;
	n = family == AF_INET ? t->root4 : t->root6;
	while (n && prefix_matches(n, addr, from)) {
		if (owner_of(n))
			best = owner_of(n);
		if (n->cidr == bits)
			break;
		from = n->cidr;
		n = n->bit[bit_at(addr, n->cidr)];
	}
	return best;
}

int tapir_allowedips_walk_owner(const struct tapir_allowedips_owner *owner,
				tapir_allowedips_walk_fn fn, void *ctx)
{
	int ret;

	for (struct tapir_allowedips_node *n = owner->first; n; n = links_of(n)->next) {
		ret = fn(ctx, n->family, n->key, n->cidr);
		if (ret)
			return ret;
	}
	return 0;
}
