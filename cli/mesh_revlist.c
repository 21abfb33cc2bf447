// SPDX-License-Identifier: MIT
/*
 * tapir mesh: the network's revocation list (doc/mesh-design.md section 8). Every key the admin
 * revoked is in one document, signed with the admin's Ed25519 key and stored at
 * /tapir/networks/NAME/revocations. Its serial only grows: an agent keeps the highest list it
 * verified and ignores an older one (a rollback), and a host certificate names the serial
 * current when it was signed, so a new host refuses every record until it has seen a list at
 * least that new. Deleting or rolling back the list in etcd lifts no revocation.
 *
 * Stored as base64 of: version (1) | u8 name length | network name | serial (u64) | issued-at
 * (u64 s) | count (u32) | count x {WireGuard public key (32) | revoked-at (u64 s)} | signature
 * (64); integers big endian, keys strictly ascending. The signature covers "tapir-mesh-revlist-v1"
 * and every byte before it, the network name included.
 *
 * Pure functions; no I/O. Nothing from etcd is trusted to be small: the text length is checked
 * before anything is decoded, each field before it is read.
 */
#include "mesh.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char DOMAIN[] = "tapir-mesh-revlist-v1";

enum {
	VERSION = 1,
	ENTRY_BYTES = 32 + 8,
	HEAD_BYTES = 1 + 1, /* version, name length; then the name */
	FIELDS_BYTES = 8 + 8 + 4,
	MAX_BYTES = HEAD_BYTES + TAPIR_MESH_NAME_MAX + FIELDS_BYTES +
		    ENTRY_BYTES * TAPIR_MESH_REVLIST_MAX + crypto_sign_BYTES,
};

_Static_assert(TAPIR_MESH_REVLIST_TEXT_MAX >= (MAX_BYTES + 2) / 3 * 4 + 1, "list text size");

void tapir_mesh_revlist_key(char out[TAPIR_MESH_KEY_MAX], const char *name)
{
	tapir_mesh_prefix(out, name, "revocations");
}

void tapir_mesh_revlist_free(struct tapir_mesh_revlist *l)
{
	free(l->keys);
	memset(l, 0, sizeof(*l));
}

/* Index of @key in @l, or of where it would go; *is_found says which. */
static size_t find(const struct tapir_mesh_revlist *l, const uint8_t key[32], bool *is_found)
{
	return tapir_mesh_key_find(l->keys, l->n, sizeof(*l->keys), key, is_found);
}

bool tapir_mesh_revlist_has(const struct tapir_mesh_revlist *l, const uint8_t key[32])
{
	bool is_found;

	find(l, key, &is_found);
	return is_found;
}

int tapir_mesh_revlist_add(struct tapir_mesh_revlist *l, const uint8_t key[32], uint64_t at)
{
	struct tapir_mesh_revocation *p;
	bool is_found;
	size_t i = find(l, key, &is_found);

	if (is_found)
		return 0;
	if (l->n == TAPIR_MESH_REVLIST_MAX)
		return -ENOSPC;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		p = realloc(l->keys, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->keys = p;
		l->cap = cap;
	}
	p = l->keys;
	memmove(p + i + 1, p + i, (l->n - i) * sizeof(*p));
	memcpy(p[i].public_key, key, 32);
	p[i].revoked_at = at;
	l->n++;
	return 1;
}

/* The signed message: the domain, then @body_len bytes of the body. Returns a new buffer. */
static uint8_t *message(const uint8_t *body, size_t body_len, size_t *len_out)
{
	uint8_t *m = malloc(sizeof(DOMAIN) - 1 + body_len);

	if (!m)
		return NULL;
	memcpy(m, DOMAIN, sizeof(DOMAIN) - 1);
	memcpy(m + sizeof(DOMAIN) - 1, body, body_len);
	*len_out = sizeof(DOMAIN) - 1 + body_len;
	return m;
}

char *tapir_mesh_revlist_sign(const struct tapir_mesh_revlist *l, const uint8_t admin_sk[64],
			      const char *network)
{
	size_t name_len = strnlen(network, TAPIR_MESH_NAME_MAX - 1), n = 0, msg_len = 0;
	size_t bin_len =
	    HEAD_BYTES + name_len + FIELDS_BYTES + ENTRY_BYTES * l->n + crypto_sign_BYTES;
	size_t text_len = sodium_base64_ENCODED_LEN(bin_len, sodium_base64_VARIANT_ORIGINAL);
	uint8_t *bin = l->n <= TAPIR_MESH_REVLIST_MAX ? malloc(bin_len) : NULL, *msg = NULL;
	char *text = bin ? malloc(text_len) : NULL;

	if (!text)
		goto fail;
	bin[n++] = VERSION;
	bin[n++] = (uint8_t)name_len;
	memcpy(bin + n, network, name_len);
	n += name_len;
	tapir_mesh_put_be(bin + n, l->serial, 8);
	tapir_mesh_put_be(bin + n + 8, l->issued_at, 8);
	tapir_mesh_put_be(bin + n + 16, l->n, 4);
	n += FIELDS_BYTES;
	for (size_t i = 0; i < l->n; i++, n += ENTRY_BYTES) {
		memcpy(bin + n, l->keys[i].public_key, 32);
		tapir_mesh_put_be(bin + n + 32, l->keys[i].revoked_at, 8);
	}
	msg = message(bin, n, &msg_len);
	if (!msg || crypto_sign_detached(bin + n, NULL, msg, msg_len, admin_sk))
		goto fail;
	sodium_bin2base64(text, text_len, bin, bin_len, sodium_base64_VARIANT_ORIGINAL);
	free(msg);
	free(bin);
	return text;
fail:
	free(msg);
	free(text);
	free(bin);
	return NULL;
}

/* Reads the fields of the decoded @bin into @l; *why and -EINVAL if they do not add up. */
static int parse(const uint8_t *bin, size_t len, const char *network, struct tapir_mesh_revlist *l,
		 size_t *body_len, const char **why)
{
	size_t name_len, n, count;

	*why = "the revocation list is malformed";
	if (len < HEAD_BYTES || bin[0] != VERSION)
		return -EINVAL;
	name_len = bin[1];
	n = HEAD_BYTES + name_len;
	if (len < n + FIELDS_BYTES + crypto_sign_BYTES)
		return -EINVAL;
	if (name_len != strlen(network) || memcmp(bin + HEAD_BYTES, network, name_len) != 0) {
		*why = "the revocation list is for another network";
		return -EINVAL;
	}
	l->serial = tapir_mesh_get_be(bin + n, 8);
	l->issued_at = tapir_mesh_get_be(bin + n + 8, 8);
	count = (size_t)tapir_mesh_get_be(bin + n + 16, 4);
	n += FIELDS_BYTES;
	if (count > TAPIR_MESH_REVLIST_MAX || len != n + count * ENTRY_BYTES + crypto_sign_BYTES)
		return -EINVAL;
	l->keys = count ? calloc(count, sizeof(*l->keys)) : NULL;
	if (count && !l->keys) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++, n += ENTRY_BYTES) {
		/* strictly ascending: binary search works and no key is listed twice */
		if (i && memcmp(bin + n - ENTRY_BYTES, bin + n, 32) >= 0)
			return -EINVAL;
		memcpy(l->keys[i].public_key, bin + n, 32);
		l->keys[i].revoked_at = tapir_mesh_get_be(bin + n + 32, 8);
	}
	l->n = l->cap = count;
	*body_len = n;
	return 0;
}

int tapir_mesh_revlist_verify(const char *text, size_t len, const uint8_t admin_pk[32],
			      const char *network, struct tapir_mesh_revlist *l, const char **why)
{
	size_t bin_len = 0, body_len = 0, msg_len = 0;
	uint8_t *bin = NULL, *msg = NULL;
	int r = -EACCES;

	memset(l, 0, sizeof(*l));
	*why = "the revocation list is oversized";
	if (len >= TAPIR_MESH_REVLIST_TEXT_MAX)
		return -EACCES;
	*why = "out of memory";
	bin = malloc(len / 4 * 3 + 3);
	if (!bin)
		return -EACCES;
	*why = "the revocation list is malformed";
	if (sodium_base642bin(bin, len / 4 * 3 + 3, text, len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    parse(bin, bin_len, network, l, &body_len, why) < 0)
		goto out;
	msg = message(bin, body_len, &msg_len);
	if (!msg) {
		*why = "out of memory";
		goto out;
	}
	if (crypto_sign_verify_detached(bin + body_len, msg, msg_len, admin_pk)) {
		*why = "the revocation list's signature does not verify";
		goto out;
	}
	r = 0;
out:
	if (r < 0)
		tapir_mesh_revlist_free(l);
	free(msg);
	free(bin);
	return r;
}
