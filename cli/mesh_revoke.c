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
 * STATE_DIR/NAME.revoked and read back, verified again, when the agent starts. The set is
 * bounded by TAPIR_MESH_REVOKED_MAX; only the admin can fill it.
 *
 * Since the revocation list (mesh_revlist.c), `tapir mesh revoke` writes one signed document
 * with a growing serial at .../revocations and folds any per-key entry into it; the per-key
 * entries above are still verified and honoured (they can only cut a host off) for networks
 * that have them. The list is what a host that never saw a revocation learns it from: its
 * certificate names the list's serial at signing, and until the agent verified a list at least
 * that new it applies no record of another host (held, fail closed). A list older than one
 * verified before is a rollback and is ignored; the newest is kept in STATE_DIR/NAME.revlist.
 * Keys only ever join the set, so deleting or rolling back the list lifts nothing.
 */
#include "mesh_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encoding.h"

enum {
	REVOKED_INITIAL_CAP = 16,
	KEY_TEXT_MAX = 100, /* of an etcd key in a log line */
	PATH_BYTES = 512,   /* --state-dir is at most 256 bytes */
};

/* Index of @key in the sorted set, or of where it would go; *is_found says which. */
static size_t find(const struct tapir_mesh_agent *a, const uint8_t key[32], bool *is_found)
{
	return tapir_mesh_key_find(a->revoked, a->n_revoked, sizeof(*a->revoked), key, is_found);
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

/* ---------------------------------------------------------------- the revocation list */

static void list_path(char out[PATH_BYTES], const struct tapir_mesh_agent *a, const char *ext)
{
	snprintf(out, PATH_BYTES, "%s/%s.%s", a->opts->state_dir, a->net->name, ext);
}

bool tapir_mesh_is_held(const struct tapir_mesh_agent *a)
{
	return a->revlist_serial < a->revlist_need;
}

void tapir_mesh_trust_write(struct tapir_mesh_agent *a)
{
	char file[TAPIR_MESH_NAME_MAX + 8], text[512];

	if (!a->opts->admin_key)
		return;
	if (tapir_mesh_is_held(a))
		snprintf(
		    text, sizeof(text),
		    "held: no record applied (%llu held) until a revocation list with serial "
		    ">= %llu (this host's certificate) verifies; the newest verified is %llu\n",
		    (unsigned long long)a->n_held, (unsigned long long)a->revlist_need,
		    (unsigned long long)a->revlist_serial);
	else
		snprintf(
		    text, sizeof(text),
		    "revocation list serial %llu verified (this host's certificate needs %llu); "
		    "%zu keys revoked, %llu rollbacks and %llu revocations ignored\n",
		    (unsigned long long)a->revlist_serial, (unsigned long long)a->revlist_need,
		    a->n_revoked, (unsigned long long)a->n_rollbacks,
		    (unsigned long long)a->n_bad_revocations);
	snprintf(file, sizeof(file), "%s.trust", a->net->name);
	if (tapir_mesh_state_put(a->opts->state_dir, file, text) < 0)
		tapir_mesh_say(a, "cannot write %s/%s", a->opts->state_dir, file);
}

void tapir_mesh_trust_clear(struct tapir_mesh_agent *a)
{
	char path[PATH_BYTES];

	list_path(path, a, "trust");
	unlink(path);
}

void tapir_mesh_hold(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv, bool is_quiet)
{
	size_t n = kv->key_len < KEY_TEXT_MAX ? kv->key_len : KEY_TEXT_MAX;
	char text[KEY_TEXT_MAX + 1];

	a->n_held++;
	if (is_quiet)
		return;
	for (size_t i = 0; i < n; i++)
		text[i] = kv->key[i] >= 0x20 && kv->key[i] < 0x7f ? kv->key[i] : '?';
	text[n] = '\0';
	tapir_mesh_say(a,
		       "held record %s: no revocation list with serial >= %llu verified yet "
		       "(newest %llu) (%llu held so far)",
		       text, (unsigned long long)a->revlist_need,
		       (unsigned long long)a->revlist_serial, (unsigned long long)a->n_held);
	tapir_mesh_trust_write(a);
}

/* Adds the keys of verified list @l to the set, dropping their peers; what it did. */
static const char *apply_list(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv,
			      const struct tapir_mesh_revlist *l)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	const char *what = "same";

	for (size_t i = 0; i < l->n; i++) {
		const struct tapir_mesh_revocation *rv = &l->keys[i];
		int r = add(a, rv->public_key);

		if (r < 0)
			return refuse(a, kv,
				      r == -ENOSPC ? "too many revocations" : "out of memory");
		if (r == 0)
			continue;
		if (!memcmp(rv->public_key, a->self.public_key, 32)) {
			say_self_revoked(a, rv);
			what = "self";
			continue;
		}
		tapir_key_to_base64(b64, rv->public_key);
		tapir_mesh_say(a, "key %s revoked by the admin at %llu (list serial %llu)", b64,
			       (unsigned long long)rv->revoked_at, (unsigned long long)l->serial);
		what = tapir_mesh_drop_key(a, rv->public_key);
	}
	return what;
}

/* A verified list: a rollback, or its keys join the set and a newer one is kept. */
static const char *take_list(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv,
			     const struct tapir_mesh_revlist *l, bool is_from_disk)
{
	char path[PATH_BYTES], file[TAPIR_MESH_NAME_MAX + 8], *text;
	bool was_held = tapir_mesh_is_held(a);
	const char *what;

	if (l->serial < a->revlist_serial) {
		a->n_rollbacks++;
		tapir_mesh_say(a,
			       "ignored revocation list serial %llu: serial %llu was verified "
			       "before (a rollback; %llu so far)",
			       (unsigned long long)l->serial, (unsigned long long)a->revlist_serial,
			       (unsigned long long)a->n_rollbacks);
		return "ignored";
	}
	what = apply_list(a, kv, l);
	if (l->serial == a->revlist_serial && a->revlist_serial)
		return what;
	a->revlist_serial = l->serial;
	tapir_mesh_say(a, "revocation list serial %llu verified: %zu keys",
		       (unsigned long long)l->serial, l->n);
	if (!is_from_disk) {
		list_path(path, a, "revlist");
		snprintf(file, sizeof(file), "%s.revlist", a->net->name);
		text = malloc(kv->value_len + 2);
		if (text) {
			memcpy(text, kv->value, kv->value_len);
			memcpy(text + kv->value_len, "\n", 2);
		}
		if (!text || tapir_mesh_state_put(a->opts->state_dir, file, text) < 0)
			tapir_mesh_say(a, "cannot keep the revocation list in %s", path);
		free(text);
	}
	if (was_held && !tapir_mesh_is_held(a)) {
		tapir_mesh_say(a, "no longer held: the records are read again");
		a->needs_resync = true;
	}
	return what;
}

/* Verifies @kv as the list and takes it; NULL when it does not verify (logged, counted). */
static const char *verify_and_take(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv,
				   bool is_from_disk)
{
	struct tapir_mesh_revlist l;
	const char *why, *what;

	if (!a->opts->admin_key)
		return refuse(a, kv, "this agent has no --admin-pub to verify it");
	if (tapir_mesh_revlist_verify(kv->value, kv->value_len, a->opts->admin_key, a->net->name,
				      &l, &why) < 0)
		return refuse(a, kv, why);
	what = take_list(a, kv, &l, is_from_disk);
	tapir_mesh_revlist_free(&l);
	return what;
}

const char *tapir_mesh_on_revlist(struct tapir_mesh_agent *a, bool is_delete,
				  const struct tapir_etcd_kv *kv)
{
	const char *what = "same";

	if (is_delete) {
		if (a->revlist_serial)
			tapir_mesh_say(a,
				       "the revocation list was deleted from etcd; serial %llu "
				       "stays in force",
				       (unsigned long long)a->revlist_serial);
	} else {
		what = verify_and_take(a, kv, false);
	}
	tapir_mesh_trust_write(a);
	return what;
}

void tapir_mesh_revlist_load(struct tapir_mesh_agent *a)
{
	struct tapir_etcd_kv kv = {.key = a->revlist_key, .key_len = strlen(a->revlist_key)};
	char path[PATH_BYTES];
	long size;
	FILE *f;

	if (!a->opts->admin_key)
		return;
	list_path(path, a, "revlist");
	f = fopen(path, "re");
	if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 &&
	    size <= TAPIR_MESH_REVLIST_TEXT_MAX && fseek(f, 0, SEEK_SET) == 0 &&
	    (kv.value = malloc((size_t)size + 1)) &&
	    fread(kv.value, 1, (size_t)size, f) == (size_t)size) {
		kv.value[size] = '\0';
		kv.value_len = strcspn(kv.value, "\n"); /* a NUL inside makes it malformed */
		kv.value[kv.value_len] = '\0';
		verify_and_take(a, &kv, true);
	} else if (f) {
		tapir_mesh_say(a, "%s ignored: unreadable or oversized", path);
	}
	if (f)
		fclose(f);
	free(kv.value);
	if (tapir_mesh_is_held(a))
		tapir_mesh_say(a,
			       "held: this host's certificate needs revocation list serial >= %llu "
			       "and the newest verified is %llu; no record is applied until one is",
			       (unsigned long long)a->revlist_need,
			       (unsigned long long)a->revlist_serial);
	tapir_mesh_trust_write(a);
}
