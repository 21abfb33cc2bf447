/* SPDX-License-Identifier: MIT */
/*
 * A small etcd v3 client over etcd's JSON gateway (POST /v3/...), for tapir mesh. See
 * doc/mesh-design.md section 3 for why this stack. Keys and values are byte strings (the
 * gateway's base64 is handled here); every unary call has a deadline and fails over to the next
 * endpoint on a transport error.
 */
#ifndef TAPIR_ETCD_H
#define TAPIR_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tapir_etcd;

struct tapir_etcd_opts {
	const char *endpoints; /* "URL[,URL...]" */
	const char *cacert;    /* NULL: the system's CAs */
	const char *cert;      /* client certificate (PEM) or NULL */
	const char *key;       /* its private key (PEM) or NULL */
	unsigned page_keys;    /* keys per range request of a prefix; 0: TAPIR_ETCD_PAGE_KEYS */
};

/* Keys per range request by default: each answer stays well under a MiB of JSON. */
enum { TAPIR_ETCD_PAGE_KEYS = 500 };

/* One key-value pair; key and value are NUL-terminated copies (the NUL is not counted). */
struct tapir_etcd_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t create_revision, mod_revision, lease;
};

/* Called once per watch event, in store order. @kv->value is empty for a delete. */
typedef void (*tapir_etcd_event_fn)(void *ctx, bool is_delete, const struct tapir_etcd_kv *kv);

int tapir_etcd_open(struct tapir_etcd **out, const struct tapir_etcd_opts *opts);
void tapir_etcd_close(struct tapir_etcd *e);
/* The local address of the last successful call (the host's address towards etcd), or "". */
const char *tapir_etcd_local_ip(const struct tapir_etcd *e);

/* Returns the pairs of @key (or of every key starting with @key when @is_prefix), sorted. */
int tapir_etcd_range(struct tapir_etcd *e, const char *key, bool is_prefix,
		     struct tapir_etcd_kv **kvs_out, size_t *n_out, int64_t *revision_out);
void tapir_etcd_kvs_free(struct tapir_etcd_kv *kvs, size_t n);
int tapir_etcd_put(struct tapir_etcd *e, const char *key, const char *value, int64_t lease);
/*
 * Puts @key only if its mod revision is @expect_mod_rev (0: only if @key does not exist), in
 * one transaction. *is_done_out says whether it was written.
 */
int tapir_etcd_put_if(struct tapir_etcd *e, const char *key, const char *value, int64_t lease,
		      int64_t expect_mod_rev, bool *is_done_out);
int tapir_etcd_delete(struct tapir_etcd *e, const char *key);

int tapir_etcd_lease_grant(struct tapir_etcd *e, int ttl_s, int64_t *id_out);
/* Renews @id once; *ttl_out is 0 when the lease no longer exists. */
int tapir_etcd_lease_keepalive(struct tapir_etcd *e, int64_t id, int64_t *ttl_out);
int tapir_etcd_lease_revoke(struct tapir_etcd *e, int64_t id);

/* Starts watching every key under @prefix from revision @from (one watch at a time). */
int tapir_etcd_watch_start(struct tapir_etcd *e, const char *prefix, int64_t from);
/*
 * Waits up to @timeout_ms for watch data and calls @fn for each event received. Returns 0, or
 * -EPIPE when the watch ended (disconnect, compaction, cancel, bad answer, its member lost its
 * leader or failed a unary call): the caller resyncs and starts a new watch.
 */
int tapir_etcd_watch_poll(struct tapir_etcd *e, int timeout_ms, tapir_etcd_event_fn fn, void *ctx);
void tapir_etcd_watch_stop(struct tapir_etcd *e);
/* The endpoint the last watch ran on, and why it ended ("no leader", "compacted", ...). */
const char *tapir_etcd_watch_endpoint(const struct tapir_etcd *e);
const char *tapir_etcd_watch_why(const struct tapir_etcd *e);

#endif
