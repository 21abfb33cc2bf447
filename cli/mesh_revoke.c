// SPDX-License-Identifier: MIT
/*
 * tapir mesh: revocations as the agent sees them (doc/mesh-design.md section 8). The admin
 * withdraws a host by writing, under /tapir/networks/NAME/revoked/HEX, a revocation of its
 * WireGuard public key signed with the network's admin key (`tapir mesh revoke`). An agent that
 * was given the admin's public key keeps every revocation that verifies in a sorted set, removes
 * the revoked host's peer at once and refuses its records from then on (mesh_apply.c asks
 * tapir_mesh_is_revoked). An entry that is not signed by the admin (or malformed, or oversized,
 * or stored under another key's name) is ignored, logged and counted: write access to etcd alone
 * can neither add a host nor cut one off.
 *
 * Deleting an entry from etcd does not lift a revocation an agent has seen (a revoked key stays
 * revoked: the host gets a new key and certificate): each verified revocation is appended to
 * STATE_DIR/NAME.revoked and read back, verified again, when the agent starts. An agent that
 * never saw it (a new host, a wiped state dir) does not know a deleted one. The set is bounded
 * by TAPIR_MESH_REVOKED_MAX; only the admin can fill it.
 */
#include "mesh_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"

enum {
	REVOKED_INITIAL_CAP = 16,
	KEY_TEXT_MAX = 100, /* of an etcd key in a log line */
	PATH_BYTES = 512,   /* --state-dir is at most 256 bytes */
};

/* Index of @key in the sorted set, or of where it would go; *is_found says which. */
static size_t find(const struct tapir_mesh_agent *a, const uint8_t key[32], bool *is_found)
{
	size_t lo = 0, hi = a->n_revoked;

	*is_found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(a->revoked[mid], key, 32);

		if (c == 0) {
			*is_found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool tapir_mesh_is_revoked(const struct tapir_mesh_agent *a, const uint8_t key[32])
{
	bool is_found;

	find(a, key, &is_found);
	return is_found;
}

/* Adds @key to the set: 1 if new, 0 if known, -ENOSPC or -ENOMEM. */
static int add(struct tapir_mesh_agent *a, const uint8_t key[32])
{
	bool is_found;
	size_t i = find(a, key, &is_found);

	if (is_found)
		return 0;
	if (a->n_revoked == TAPIR_MESH_REVOKED_MAX)
		return -ENOSPC;
	if (a->n_revoked == a->cap_revoked) {
		size_t cap = a->cap_revoked ? a->cap_revoked * 2 : REVOKED_INITIAL_CAP;
		uint8_t(*p)[32] = realloc(a->revoked, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->revoked = p;
		a->cap_revoked = cap;
	}
	memmove(a->revoked + i + 1, a->revoked + i, (a->n_revoked - i) * sizeof(*a->revoked));
	memcpy(a->revoked[i], key, 32);
	a->n_revoked++;
	return 1;
}

void tapir_mesh_revoked_free(struct tapir_mesh_agent *a)
{
	free(a->revoked);
	a->revoked = NULL;
	a->n_revoked = a->cap_revoked = 0;
}

static const char *refuse(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv,
			  const char *why)
{
	size_t n = kv->key_len < KEY_TEXT_MAX ? kv->key_len : KEY_TEXT_MAX;
	char text[KEY_TEXT_MAX + 1];

	for (size_t i = 0; i < n; i++)
		text[i] = kv->key[i] >= 0x20 && kv->key[i] < 0x7f ? kv->key[i] : '?';
	text[n] = '\0';
	a->n_bad_revocations++;
	tapir_mesh_say(a, "ignored revocation %s: %s (%llu ignored so far)", text, why,
		       (unsigned long long)a->n_bad_revocations);
	return "ignored";
}

static void file_path(char out[PATH_BYTES], const struct tapir_mesh_agent *a)
{
	snprintf(out, PATH_BYTES, "%s/%s.revoked", a->opts->state_dir, a->net->name);
}

/* Appends a verified revocation (its etcd value) to STATE_DIR/NAME.revoked. */
static void save(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv)
{
	char path[PATH_BYTES];
	FILE *f;
	int r;

	file_path(path, a);
	f = fopen(path, "ae");
	if (!f) {
		tapir_mesh_say(a, "cannot keep the revocation in %s: %s", path, strerror(errno));
		return;
	}
	r = fprintf(f, "%.*s\n", (int)kv->value_len, kv->value) < 0 ? -EIO : 0;
	if (fclose(f) != 0 || r < 0)
		tapir_mesh_say(a, "cannot keep the revocation in %s", path);
}

static void say_self_revoked(struct tapir_mesh_agent *a, const struct tapir_mesh_revocation *rv)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];

	tapir_key_to_base64(b64, rv->public_key);
	tapir_mesh_say(a,
		       "this host is revoked: the admin withdrew its key %s at %llu; the other "
		       "hosts refuse it (give it a new key and certificate)",
		       b64, (unsigned long long)rv->revoked_at);
}

void tapir_mesh_revoked_load(struct tapir_mesh_agent *a)
{
	char path[PATH_BYTES], line[TAPIR_MESH_REVOCATION_TEXT + 2];
	struct tapir_mesh_revocation rv;
	size_t n_lines = 0, len;
	const char *why;
	FILE *f;
	int c;

	if (!a->opts->admin_key)
		return;
	file_path(path, a);
	f = fopen(path, "re");
	if (!f)
		return;
	while (n_lines++ < TAPIR_MESH_REVOKED_MAX && fgets(line, sizeof(line), f)) {
		len = strcspn(line, "\n");
		if (!line[len] && len == sizeof(line) - 1) {
			while ((c = fgetc(f)) != EOF && c != '\n')
				; /* an overlong line: skip the rest of it */
		}
		if (tapir_mesh_revocation_verify(line, len, a->opts->admin_key, a->net->name, &rv,
						 &why) < 0) {
			tapir_mesh_say(a, "%s: line %zu ignored: %s", path, n_lines, why);
			continue;
		}
		if (add(a, rv.public_key) < 0)
			break;
		if (!memcmp(rv.public_key, a->self.public_key, 32))
			say_self_revoked(a, &rv);
	}
	fclose(f);
	tapir_mesh_say(a, "%zu revoked keys kept in %s", a->n_revoked, path);
}

/* A verified revocation of @rv->public_key: remember it, drop the peer, say so. */
static const char *apply(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv,
			 const struct tapir_mesh_revocation *rv)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	int r = add(a, rv->public_key);

	if (r < 0)
		return refuse(a, kv, r == -ENOSPC ? "too many revocations" : "out of memory");
	if (r == 0)
		return "same";
	save(a, kv);
	if (!memcmp(rv->public_key, a->self.public_key, 32)) {
		say_self_revoked(a, rv);
		return "self";
	}
	tapir_key_to_base64(b64, rv->public_key);
	tapir_mesh_say(a, "key %s revoked by the admin at %llu", b64,
		       (unsigned long long)rv->revoked_at);
	return tapir_mesh_drop_key(a, rv->public_key);
}

const char *tapir_mesh_on_revocation(struct tapir_mesh_agent *a, bool is_delete,
				     const struct tapir_etcd_kv *kv)
{
	struct tapir_mesh_revocation rv;
	uint8_t named[32];
	const char *why;

	if (tapir_mesh_key_revoked(a->net->name, kv->key, kv->key_len, named) < 0)
		return refuse(a, kv, "the key is not .../revoked/ and a hex public key");
	if (is_delete) {
		if (tapir_mesh_is_revoked(a, named))
			tapir_mesh_say(a, "a revocation was deleted from etcd; it stays in force");
		return "same";
	}
	if (!a->opts->admin_key)
		return refuse(a, kv, "this agent has no --admin-pub to verify it");
	if (kv->value_len >= TAPIR_MESH_REVOCATION_TEXT)
		return refuse(a, kv, "the revocation is oversized");
	if (tapir_mesh_revocation_verify(kv->value, kv->value_len, a->opts->admin_key, a->net->name,
					 &rv, &why) < 0)
		return refuse(a, kv, why);
	if (memcmp(rv.public_key, named, 32))
		return refuse(a, kv, "the revocation is for another key than its name");
	return apply(a, kv, &rv);
}
