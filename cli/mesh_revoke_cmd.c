// SPDX-License-Identifier: MIT
/*
 * tapir mesh revoke, the revocation serial of tapir mesh sign, and the revocations in tapir
 * mesh status (doc/mesh-design.md section 8). The admin's side of the revocation list
 * (mesh_revlist.c): revoke reads the current list (from etcd and/or the admin's copy, --list
 * FILE), verifies it with the admin key, adds the key with the next serial, folds in the
 * per-key entries older versions wrote under revoked/, and writes it back with a
 * compare-and-swap on the list's mod revision, so two admins revoking at once lose no key; the
 * folded entries are deleted once the list holds them. Without --etcd it prints the new list
 * for an admin key kept offline.
 *
 * A list in etcd that does not verify is never written over: the admin restores one from a copy.
 */
#include "mesh.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoding.h"

enum {
	CAS_TRIES = 5,
};

/* The admin's copy of the list: 0 and a new string in *out, 0 and NULL if absent, or -errno. */
static int read_copy(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	size_t len;
	int r = 0;

	*out = NULL;
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	*out = calloc(1, TAPIR_MESH_REVLIST_TEXT_MAX + 1);
	if (!*out) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(*out, 1, TAPIR_MESH_REVLIST_TEXT_MAX + 1, f);
	if (ferror(f) || len > TAPIR_MESH_REVLIST_TEXT_MAX)
		r = -EFBIG;
	fclose(f);
	(*out)[strcspn(*out, "\n")] = '\0';
	if (r < 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

static int write_copy(const char *path, const char *text)
{
	char *tmp = NULL;
	FILE *f = NULL;
	int r = 0;

	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	f = fopen(tmp, "we");
	if (!f)
		r = -errno;
	if (f && fprintf(f, "%s\n", text) < 0)
		r = -EIO;
	if (f && fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		remove(tmp);
	free(tmp);
	return r;
}

/* Merges verified @from into @into: the higher serial, the union of the keys. */
static int merge(struct tapir_mesh_revlist *into, const struct tapir_mesh_revlist *from)
{
	int r;

	if (from->serial > into->serial)
		into->serial = from->serial;
	for (size_t i = 0; i < from->n; i++) {
		r = tapir_mesh_revlist_add(into, from->keys[i].public_key,
					   from->keys[i].revoked_at);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Verifies @text (from @where) and merges it into @l; prints why not. */
static int take(struct tapir_mesh_revlist *l, const char *text, size_t len, const uint8_t pk[32],
		const char *network, const char *where)
{
	struct tapir_mesh_revlist got;
	const char *why;
	int r;

	if (tapir_mesh_revlist_verify(text, len, pk, network, &got, &why) < 0) {
		fprintf(stderr,
			"tapir mesh: the revocation list in %s does not verify: %s; not writing "
			"over it (restore the admin's copy: --list FILE)\n",
			where, why);
		return -EACCES;
	}
	r = merge(l, &got);
	tapir_mesh_revlist_free(&got);
	return r;
}

/*
 * The current list: the merge of etcd's (*mod_rev: its mod revision, 0 if none) and of the
 * copy in @list_file. *has_any says whether either had one.
 */
static int current(struct tapir_etcd *e, const char *network, const uint8_t pk[32],
		   const char *list_file, struct tapir_mesh_revlist *l, int64_t *mod_rev,
		   bool *has_any)
{
	char key[TAPIR_MESH_KEY_MAX], *copy = NULL;
	struct tapir_etcd_kv *kvs = NULL;
	size_t n = 0;
	int r = 0;

	memset(l, 0, sizeof(*l));
	*mod_rev = 0;
	*has_any = false;
	tapir_mesh_revlist_key(key, network);
	if (e && (r = tapir_mesh_read(e, key, false, &kvs, &n)) < 0)
		return r;
	if (n == 1) {
		*mod_rev = kvs[0].mod_revision;
		*has_any = true;
		r = take(l, kvs[0].value, kvs[0].value_len, pk, network, "etcd");
	}
	tapir_etcd_kvs_free(kvs, n);
	if (r == 0 && list_file && (r = read_copy(list_file, &copy)) < 0)
		fprintf(stderr, "tapir mesh: %s: %s\n", list_file, strerror(-r));
	if (r == 0 && copy) {
		*has_any = true;
		r = take(l, copy, strlen(copy), pk, network, list_file);
	}
	free(copy);
	if (r < 0)
		tapir_mesh_revlist_free(l);
	return r;
}

int tapir_mesh_revlist_serial_of(struct tapir_etcd *e, const char *network, const uint8_t sk[64],
				 const char *list_file, uint64_t *serial)
{
	struct tapir_mesh_revlist l;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	int64_t mod_rev;
	bool has_any;
	int r;

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	r = current(e, network, pk, list_file, &l, &mod_rev, &has_any);
	*serial = l.serial;
	tapir_mesh_revlist_free(&l);
	return r;
}

/* Folds the verified per-key entries under revoked/ into @l; their etcd keys go to @old. */
static int fold_entries(struct tapir_etcd *e, const char *network, const uint8_t pk[32],
			struct tapir_mesh_revlist *l, struct tapir_etcd_kv **old, size_t *n_old)
{
	char prefix[TAPIR_MESH_KEY_MAX];
	struct tapir_mesh_revocation rv;
	uint8_t named[32];
	const char *why;
	int r = 0;

	tapir_mesh_prefix(prefix, network, "revoked/");
	if (tapir_etcd_range(e, prefix, true, old, n_old, NULL) < 0)
		return -EIO;
	for (size_t i = 0; i < *n_old && r >= 0; i++) {
		if (tapir_mesh_key_revoked(network, (*old)[i].key, (*old)[i].key_len, named) < 0 ||
		    tapir_mesh_revocation_verify((*old)[i].value, (*old)[i].value_len, pk, network,
						 &rv, &why) < 0 ||
		    memcmp(named, rv.public_key, 32)) {
			(*old)[i].key_len = 0; /* not the admin's: left alone, agents ignore it */
			continue;
		}
		r = tapir_mesh_revlist_add(l, rv.public_key, rv.revoked_at);
	}
	return r < 0 ? r : 0;
}

/*
 * One read-modify-write: 1 when written, 0 when someone else wrote the list first (retry),
 * -errno on failure. *text_out: the new list (free).
 */
static int revoke_once(struct tapir_etcd *e, const char *network, const uint8_t sk[64],
		       const uint8_t key[32], const char *list_file, char **text_out,
		       struct tapir_mesh_revlist *l)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	struct tapir_etcd_kv *old = NULL;
	char name[TAPIR_MESH_KEY_MAX];
	size_t n_old = 0;
	int64_t mod_rev;
	bool has_any, is_done = true;
	int r;

	crypto_sign_ed25519_sk_to_pk(pk, sk);
	r = current(e, network, pk, list_file, l, &mod_rev, &has_any);
	if (r == 0 && !has_any)
		fprintf(stderr,
			"tapir mesh: no revocation list %s: starting one at serial 1 (if "
			"the network had one, restore it first: --list FILE)\n",
			e ? "in etcd" : "given");
	if (r == 0 && e)
		r = fold_entries(e, network, pk, l, &old, &n_old);
	if (r == 0)
		r = tapir_mesh_revlist_add(l, key, (uint64_t)time(NULL));
	if (r >= 0) {
		l->serial++;
		l->issued_at = (uint64_t)time(NULL);
		*text_out = tapir_mesh_revlist_sign(l, sk, network);
		r = *text_out ? 0 : -ENOMEM;
	}
	tapir_mesh_revlist_key(name, network);
	if (r == 0 && e)
		r = tapir_etcd_put_if(e, name, *text_out, 0, mod_rev, &is_done);
	/* the list holds them now: the per-key entries go */
	for (size_t i = 0; r == 0 && is_done && i < n_old; i++) {
		if (old[i].key_len && tapir_etcd_delete(e, old[i].key) < 0)
			fprintf(stderr, "tapir mesh: cannot delete %s (the list holds it)\n",
				old[i].key);
	}
	tapir_etcd_kvs_free(old, n_old);
	if (r < 0 || !is_done) {
		free(*text_out);
		*text_out = NULL;
		tapir_mesh_revlist_free(l);
	}
	return r < 0 ? r : is_done;
}

int tapir_mesh_revoke_key(struct tapir_etcd *e, const char *network, const uint8_t sk[64],
			  const uint8_t key[32], const char *list_file)
{
	char name[TAPIR_MESH_KEY_MAX], b64[TAPIR_KEY_BASE64_LEN + 1], *text = NULL;
	struct tapir_mesh_revlist l;
	int r = 0;

	for (int i = 0; i < CAS_TRIES && r == 0; i++)
		r = revoke_once(e, network, sk, key, list_file, &text, &l);
	if (r == 0)
		fprintf(stderr, "tapir mesh: the revocation list kept changing: try again\n");
	if (r <= 0) {
		if (r < 0 && r != -EACCES)
			fprintf(stderr, "tapir mesh: cannot revoke: %s\n", strerror(-r));
		return 1;
	}
	tapir_mesh_revlist_key(name, network);
	tapir_key_to_base64(b64, key);
	if (e)
		printf("revoked %s in `%s' (%s serial %llu, %zu keys)\n", b64, network, name,
		       (unsigned long long)l.serial, l.n);
	else
		printf("%s %s\n", name, text);
	if (list_file && (r = write_copy(list_file, text)) < 0)
		fprintf(stderr, "tapir mesh: %s: %s\n", list_file, strerror(-r));
	free(text);
	tapir_mesh_revlist_free(&l);
	return r < 0 ? 1 : 0;
}

/* ---------------------------------------------------------------- status */

/*
 * Per-key entries under revoked/ (older versions): listed on @text (unless NULL), and merged
 * into @l when verified.
 */
static int status_entries(struct tapir_etcd *e, const struct tapir_mesh_net *net,
			  const uint8_t *admin, struct tapir_mesh_revlist *l, size_t *n_bad,
			  FILE *text)
{
	char prefix[TAPIR_MESH_KEY_MAX], b64[TAPIR_KEY_BASE64_LEN + 1];
	struct tapir_etcd_kv *kvs = NULL;
	struct tapir_mesh_revocation rv;
	uint8_t named[32];
	const char *why;
	size_t n = 0;

	tapir_mesh_prefix(prefix, net->name, "revoked/");
	if (tapir_mesh_read(e, prefix, true, &kvs, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (tapir_mesh_key_revoked(net->name, kvs[i].key, kvs[i].key_len, named) < 0) {
			(*n_bad)++;
			continue;
		}
		tapir_key_to_base64(b64, named);
		if (!admin) {
			if (text)
				fprintf(text, "  revoked %s  (not verified: no --admin-pub)\n",
					b64);
			continue;
		}
		if (tapir_mesh_revocation_verify(kvs[i].value, kvs[i].value_len, admin, net->name,
						 &rv, &why) < 0 ||
		    memcmp(rv.public_key, named, 32)) {
			(*n_bad)++;
			continue;
		}
		if (tapir_mesh_revlist_add(l, named, rv.revoked_at) < 0)
			break;
	}
	tapir_etcd_kvs_free(kvs, n);
	return 0;
}

const char *tapir_mesh_revlist_state_name(enum tapir_mesh_revlist_state s)
{
	static const char *const names[] = {
	    [TAPIR_REVLIST_NONE] = "none",
	    [TAPIR_REVLIST_UNVERIFIED] = "unverified",
	    [TAPIR_REVLIST_IGNORED] = "ignored",
	    [TAPIR_REVLIST_VERIFIED] = "verified",
	};

	return names[s];
}

static void print_revlist_status(FILE *text, const struct tapir_mesh_revlist_status *st)
{
	switch (st->state) {
	case TAPIR_REVLIST_NONE:
		fprintf(text, "revocation list: none in etcd\n");
		break;
	case TAPIR_REVLIST_UNVERIFIED:
		fprintf(text, "revocation list: in etcd, not verified (no --admin-pub)\n");
		break;
	case TAPIR_REVLIST_IGNORED:
		fprintf(text, "revocation list: ignored: %s\n", st->why);
		break;
	case TAPIR_REVLIST_VERIFIED:
		fprintf(text, "revocation list: serial %llu, %zu keys, issued at %llu\n",
			(unsigned long long)st->serial, st->n_keys,
			(unsigned long long)st->issued_at);
		break;
	}
}

int tapir_mesh_status_revocations(struct tapir_etcd *e, const struct tapir_mesh_net *net,
				  const uint8_t *admin, struct tapir_mesh_revlist *l, size_t *n_bad,
				  struct tapir_mesh_revlist_status *st, FILE *text)
{
	char key[TAPIR_MESH_KEY_MAX], b64[TAPIR_KEY_BASE64_LEN + 1];
	struct tapir_mesh_revlist got;
	struct tapir_etcd_kv *kvs = NULL;
	const char *why;
	size_t n = 0;

	memset(l, 0, sizeof(*l));
	memset(st, 0, sizeof(*st));
	*n_bad = 0;
	tapir_mesh_revlist_key(key, net->name);
	if (tapir_mesh_read(e, key, false, &kvs, &n) < 0)
		return -1;
	if (!n) {
		st->state = TAPIR_REVLIST_NONE;
	} else if (!admin) {
		st->state = TAPIR_REVLIST_UNVERIFIED;
	} else if (tapir_mesh_revlist_verify(kvs[0].value, kvs[0].value_len, admin, net->name, &got,
					     &why) < 0) {
		st->state = TAPIR_REVLIST_IGNORED;
		snprintf(st->why, sizeof(st->why), "%s", why);
		(*n_bad)++;
	} else {
		st->state = TAPIR_REVLIST_VERIFIED;
		st->serial = got.serial;
		st->issued_at = got.issued_at;
		st->n_keys = got.n;
		merge(l, &got);
		tapir_mesh_revlist_free(&got);
	}
	tapir_etcd_kvs_free(kvs, n);
	if (text)
		print_revlist_status(text, st);
	if (status_entries(e, net, admin, l, n_bad, text) < 0) {
		tapir_mesh_revlist_free(l);
		return -1;
	}
	for (size_t i = 0; text && i < l->n; i++) {
		tapir_key_to_base64(b64, l->keys[i].public_key);
		fprintf(text, "  revoked %s  at %llu\n", b64,
			(unsigned long long)l->keys[i].revoked_at);
	}
	return 0;
}
