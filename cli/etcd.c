// SPDX-License-Identifier: MIT
/*
 * etcd v3 through its gRPC-gateway JSON API (etcd 3.4 and later serve it under /v3/): each call
 * is a POST of one JSON object; byte fields are base64, 64-bit integers are JSON strings; the
 * watch answers with one JSON object per line, {"result": {...}}. libcurl carries it (deadline,
 * TLS, client certificates), json-c parses it with a depth limit.
 *
 * Endpoint fail-over: a unary call goes to the current endpoint and, on a transport error, a
 * 5xx answer or a gRPC UNAVAILABLE error, to each of the others in turn; the first that answers
 * becomes current. Any other gRPC error is the caller's business and is not retried elsewhere.
 *
 * A member cut off from the others (partitioned, alive, its client port reachable) would keep a
 * watch open and silent, and let writes hang until their deadline. So every request asks for a
 * leader (gRPC metadata "hasleader: true", which the gateway takes from the HTTP header
 * Grpc-Metadata-Hasleader): such a member answers UNAVAILABLE "no leader" at once and cancels the
 * watch when it loses its leader (checked against Debian's etcd 3.4.23, doc/mesh-design.md
 * section 6). And a watch whose member failed a unary call (the current endpoint moved away from
 * it) is ended by the next poll, so the caller resyncs through a member that answers.
 *
 * It must not interpret keys or values (mesh.c does) and never logs values.
 */
#include "etcd.h"

#include "etcd_parse.h"

#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	CALL_TIMEOUT_MS = 3000,
	CONNECT_TIMEOUT_MS = 1000,
	ANSWER_MAX_BYTES = 64 * 1024 * 1024,
	RANGE_MAX_KEYS = 1 << 20, /* a paged read longer than this is malformed */
	WATCH_LINE_MAX_BYTES = 16 * 1024 * 1024,
	WATCH_WHY_MAX_BYTES = TAPIR_ETCD_WHY_MAX_BYTES,
	ENDPOINTS_MAX = 16,
	TCP_KEEPIDLE_S = 5,
	TCP_KEEPINTVL_S = 2,
	URL_MAX_BYTES = 512,
};

struct buf {
	char *data;
	size_t len, cap, max;
};

struct tapir_etcd {
	char *endpoints[ENDPOINTS_MAX]; /* owned, without a trailing '/' */
	size_t n_endpoints, current;
	struct tapir_etcd_opts tls;
	char local_ip[64];
	CURLM *multi;			     /* the watch */
	CURL *watch;			     /* NULL: no watch running */
	struct curl_slist *watch_headers;    /* owned while the watch runs */
	size_t watch_endpoint;		     /* the endpoint the last watch ran on */
	struct buf wbuf;		     /* watch bytes not yet split into lines */
	char *watch_body;		     /* owned while the watch runs */
	char watch_why[WATCH_WHY_MAX_BYTES]; /* why the last watch ended */
	char call_why[WATCH_WHY_MAX_BYTES];  /* why the last unary call failed over */
};

static const char HASLEADER_HEADER[] = "Grpc-Metadata-Hasleader: true";

/* The request headers: JSON, and "serve only with a leader". Caller frees the list. */
static struct curl_slist *new_headers(void)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	struct curl_slist *more = h ? curl_slist_append(h, HASLEADER_HEADER) : NULL;

	if (!more)
		curl_slist_free_all(h);
	return more;
}

static size_t on_data(char *ptr, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;

	if (len > b->max - b->len)
		return 0; /* libcurl aborts the transfer */
	if (b->len + len + 1 > b->cap) {
		size_t cap = (b->len + len + 1) * 2;
		char *p = realloc(b->data, cap);

		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, len);
	b->len += len;
	b->data[b->len] = '\0';
	return len;
}

static int split_endpoints(struct tapir_etcd *e, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");

		while (len && p[len - 1] == '/')
			len--;
		if (!len || len >= URL_MAX_BYTES - 32 || e->n_endpoints == ENDPOINTS_MAX)
			return -EINVAL;
		if (strncmp(p, "http://", 7) && strncmp(p, "https://", 8))
			return -EINVAL;
		e->endpoints[e->n_endpoints] = strndup(p, len);
		if (!e->endpoints[e->n_endpoints++])
			return -ENOMEM;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return e->n_endpoints ? 0 : -EINVAL;
}

int tapir_etcd_open(struct tapir_etcd **out, const struct tapir_etcd_opts *opts)
{
	struct tapir_etcd *e;
	int r;

	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return -ENOMEM;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->tls = *opts;
	r = split_endpoints(e, opts->endpoints ? opts->endpoints : "");
	if (r < 0) {
		tapir_etcd_close(e);
		return r;
	}
	e->multi = curl_multi_init();
	if (!e->multi) {
		tapir_etcd_close(e);
		return -ENOMEM;
	}
	*out = e;
	return 0;
}

void tapir_etcd_close(struct tapir_etcd *e)
{
	if (!e)
		return;
	tapir_etcd_watch_stop(e);
	if (e->multi)
		curl_multi_cleanup(e->multi);
	for (size_t i = 0; i < e->n_endpoints; i++)
		free(e->endpoints[i]);
	free(e->wbuf.data);
	free(e);
}

const char *tapir_etcd_local_ip(const struct tapir_etcd *e)
{
	return e->local_ip;
}

/* A new easy handle POSTing @body to @path of endpoint @i; headers owned by the caller. */
static CURL *new_request(struct tapir_etcd *e, size_t i, const char *path, const char *body,
			 struct curl_slist *headers, struct buf *b)
{
	char url[URL_MAX_BYTES + 64];
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", e->endpoints[i], path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* etcd is reached directly */
	if (e->tls.cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->tls.cacert);
	if (e->tls.cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->tls.cert);
	if (e->tls.key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->tls.key);
	return c;
}

/*
 * Reports a gRPC error answer: UNAVAILABLE (no leader, shutting down) as -EAGAIN, for another
 * member may serve it; any other as -EREMOTEIO.
 */
static int check_error(struct tapir_etcd *e, struct json_object *answer, const char *url,
		       const char *path)
{
	int code = 0;
	const char *msg = tapir_etcd_grpc_error(answer, &code);

	if (!msg)
		return 0;
	fprintf(stderr, "tapir mesh: etcd %s%s: %.200s\n", url, path, msg);
	if (tapir_etcd_grpc_errno(code) != -EAGAIN)
		return -EREMOTEIO;
	snprintf(e->call_why, sizeof(e->call_why), "%s failed there: %.100s", path, msg);
	return -EAGAIN;
}

/* One try on endpoint @i. -EAGAIN: transport failure, try another endpoint. */
static int call_one(struct tapir_etcd *e, size_t i, const char *path, const char *body,
		    struct json_object **answer)
{
	struct buf b = {.max = ANSWER_MAX_BYTES};
	struct curl_slist *headers = new_headers();
	CURL *c = new_request(e, i, path, body, headers, &b);
	long status = 0;
	char *ip = NULL;
	CURLcode cr;
	int r = 0;

	*answer = NULL;
	if (!c || !headers) {
		r = -ENOMEM;
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK || status == 0) {
		fprintf(stderr, "tapir mesh: etcd %s: %s\n", e->endpoints[i],
			curl_easy_strerror(cr));
		snprintf(e->call_why, sizeof(e->call_why), "%s failed there: %s", path,
			 curl_easy_strerror(cr));
		r = -EAGAIN;
		goto out;
	}
	if (b.data)
		tapir_etcd_json_parse(b.data, b.len, answer);
	if (status >= 500) {
		/* the gateway's answer names the gRPC error, "no leader" for one */
		if (!*answer || check_error(e, *answer, e->endpoints[i], path) == 0) {
			fprintf(stderr, "tapir mesh: etcd %s: server error (HTTP %ld)\n",
				e->endpoints[i], status);
			snprintf(e->call_why, sizeof(e->call_why), "%s failed there: HTTP %ld",
				 path, status);
		}
		r = -EAGAIN;
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_LOCAL_IP, &ip) == CURLE_OK && ip)
		snprintf(e->local_ip, sizeof(e->local_ip), "%s", ip);
	if (!*answer) {
		fprintf(stderr, "tapir mesh: etcd %s%s: malformed answer (HTTP %ld)\n",
			e->endpoints[i], path, status);
		r = -EPROTO;
		goto out;
	}
	r = check_error(e, *answer, e->endpoints[i], path);
out:
	if (r < 0 && *answer) {
		json_object_put(*answer);
		*answer = NULL;
	}
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	free(b.data);
	return r;
}

/* The first reason the running watch has to end is the one reported. */
static void watch_ended(struct tapir_etcd *e, const char *why)
{
	if (!e->watch_why[0])
		snprintf(e->watch_why, sizeof(e->watch_why), "%s", why);
}

/* POSTs @req (consumed) to @path with fail-over. On 0, *answer is a new reference. */
static int call(struct tapir_etcd *e, const char *path, struct json_object *req,
		struct json_object **answer)
{
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	int r = -ENOMEM;

	for (size_t k = 0; body && k < e->n_endpoints; k++) {
		size_t i = (e->current + k) % e->n_endpoints;

		r = call_one(e, i, path, body, answer);
		if (r == -EAGAIN && e->watch && i == e->watch_endpoint)
			watch_ended(e, e->call_why); /* the watch goes too, at its next poll */
		if (r != -EAGAIN) {
			if (r == 0)
				e->current = i;
			break;
		}
	}
	json_object_put(req);
	return r == -EAGAIN ? -EHOSTUNREACH : r;
}

/* ---------------------------------------------------------------- encoding */

static struct json_object *b64(const char *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	struct json_object *o;

	if (!s)
		return NULL;
	sodium_bin2base64(s, n, (const unsigned char *)data, len, sodium_base64_VARIANT_ORIGINAL);
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* The end of the range of keys starting with @key: @key with its last byte incremented. */
static struct json_object *prefix_end(const char *key)
{
	size_t len = strlen(key);
	char *end = strndup(key, len);
	struct json_object *o;

	if (!end)
		return NULL;
	while (len && (unsigned char)end[len - 1] == 0xff)
		len--;
	if (!len) {
		free(end);
		return b64("\0", 1); /* every key */
	}
	end[len - 1]++;
	o = b64(end, len);
	free(end);
	return o;
}

static struct json_object *key_request(const char *key, bool is_prefix)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "key", b64(key, strlen(key)));
	if (is_prefix)
		json_object_object_add(req, "range_end", prefix_end(key));
	return req;
}

/* ---------------------------------------------------------------- calls */

/*
 * One page of the keys under @prefix from @from (@from_len bytes) on, at most @limit of them,
 * at @revision (0: the current one). Appends them to *all (*n_all of them, *cap allocated).
 */
static int range_page(struct tapir_etcd *e, const char *prefix, const char *from, size_t from_len,
		      unsigned limit, int64_t *revision, struct tapir_etcd_kv **all, size_t *n_all,
		      size_t *cap, bool *more)
{
	struct json_object *req = json_object_new_object(), *answer;
	struct tapir_etcd_kv *kvs = NULL;
	size_t n = 0;
	int64_t rev;
	int r;

	json_object_object_add(req, "key", b64(from, from_len));
	json_object_object_add(req, "range_end", prefix_end(prefix));
	json_object_object_add(req, "limit", json_object_new_int64(limit));
	if (*revision)
		json_object_object_add(req, "revision", json_object_new_int64(*revision));
	r = call(e, "/v3/kv/range", req, &answer);
	if (r < 0)
		return r;
	r = tapir_etcd_range_decode(answer, &kvs, &n, &rev, more);
	json_object_put(answer);
	if (r < 0)
		return r;
	if (*n_all + n > *cap) {
		size_t want = (*n_all + n) * 2;
		struct tapir_etcd_kv *p = realloc(*all, want * sizeof(*p));

		if (!p) {
			tapir_etcd_kvs_free(kvs, n);
			return -ENOMEM;
		}
		*all = p;
		*cap = want;
	}
	if (n)
		memcpy(*all + *n_all, kvs, n * sizeof(*kvs));
	*n_all += n;
	free(kvs); /* the keys and values now belong to *all */
	if (!*revision)
		*revision = rev;
	if (*more && n == 0)
		return -EPROTO; /* "more" with nothing: no way on */
	return 0;
}

/* Byte order of two keys, as etcd orders them. */
static int key_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int c = memcmp(a, b, a_len < b_len ? a_len : b_len);

	return c ? c : (a_len > b_len) - (a_len < b_len);
}

/*
 * Every key under @prefix, in pages of e->page_keys, all at the revision of the first page, so
 * that together they are one snapshot, as a single range would be, while no answer grows with
 * the store. The next page starts right after the last key (that key and a zero byte). A
 * compaction past that revision between two pages fails the read (etcd's error), and the
 * caller retries it whole, as after any failed call.
 */
static int range_prefix(struct tapir_etcd *e, const char *prefix, struct tapir_etcd_kv **kvs_out,
			size_t *n_out, int64_t *revision_out)
{
	unsigned limit = e->tls.page_keys ? e->tls.page_keys : TAPIR_ETCD_PAGE_KEYS;
	struct tapir_etcd_kv *all = NULL;
	size_t n = 0, cap = 0, from_len = strlen(prefix);
	char *from = strdup(prefix);
	int64_t revision = 0;
	bool more = true;
	int r = from ? 0 : -ENOMEM;

	while (r == 0 && more) {
		r = range_page(e, prefix, from, from_len, limit, &revision, &all, &n, &cap, &more);
		if (r == 0 && more) {
			const struct tapir_etcd_kv *last = &all[n - 1];
			char *next;

			/* whatever the server says: each page moves on, the whole is bounded */
			if (key_cmp(last->key, last->key_len, from, from_len) < 0 ||
			    n > RANGE_MAX_KEYS) {
				r = -EPROTO;
				break;
			}
			next = malloc(last->key_len + 1);
			if (!next) {
				r = -ENOMEM;
				break;
			}
			memcpy(next, last->key, last->key_len);
			next[last->key_len] = '\0';
			free(from);
			from = next;
			from_len = last->key_len + 1;
		}
	}
	free(from);
	if (r < 0) {
		tapir_etcd_kvs_free(all, n);
		return r;
	}
	if (!all && !(all = calloc(1, sizeof(*all))))
		return -ENOMEM;
	*kvs_out = all;
	*n_out = n;
	if (revision_out)
		*revision_out = revision;
	return 0;
}

int tapir_etcd_range(struct tapir_etcd *e, const char *key, bool is_prefix,
		     struct tapir_etcd_kv **kvs_out, size_t *n_out, int64_t *revision_out)
{
	struct json_object *answer;
	int r;

	if (is_prefix)
		return range_prefix(e, key, kvs_out, n_out, revision_out);
	r = call(e, "/v3/kv/range", key_request(key, false), &answer);
	if (r < 0)
		return r;
	r = tapir_etcd_range_decode(answer, kvs_out, n_out, revision_out, NULL);
	json_object_put(answer);
	return r;
}

static struct json_object *put_request(const char *key, const char *value, int64_t lease)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "key", b64(key, strlen(key)));
	json_object_object_add(req, "value", b64(value, strlen(value)));
	if (lease)
		json_object_object_add(req, "lease", json_object_new_int64(lease));
	return req;
}

int tapir_etcd_put(struct tapir_etcd *e, const char *key, const char *value, int64_t lease)
{
	struct json_object *answer;
	int r = call(e, "/v3/kv/put", put_request(key, value, lease), &answer);

	if (r == 0)
		json_object_put(answer);
	return r;
}

int tapir_etcd_put_if(struct tapir_etcd *e, const char *key, const char *value, int64_t lease,
		      int64_t expect_mod_rev, bool *is_done_out)
{
	struct json_object *req = json_object_new_object(), *cmp = json_object_new_object();
	struct json_object *cmps = json_object_new_array(), *ops = json_object_new_array();
	struct json_object *op = json_object_new_object(), *answer;
	int r;

	json_object_object_add(cmp, "key", b64(key, strlen(key)));
	json_object_object_add(cmp, "result", json_object_new_string("EQUAL"));
	json_object_object_add(cmp, "target",
			       json_object_new_string(expect_mod_rev ? "MOD" : "CREATE"));
	json_object_object_add(cmp, expect_mod_rev ? "mod_revision" : "create_revision",
			       json_object_new_int64(expect_mod_rev));
	json_object_array_add(cmps, cmp);
	json_object_object_add(op, "request_put", put_request(key, value, lease));
	json_object_array_add(ops, op);
	json_object_object_add(req, "compare", cmps);
	json_object_object_add(req, "success", ops);
	r = call(e, "/v3/kv/txn", req, &answer);
	if (r < 0)
		return r;
	r = tapir_etcd_txn_decode(answer, is_done_out);
	json_object_put(answer);
	return r;
}

int tapir_etcd_delete(struct tapir_etcd *e, const char *key)
{
	struct json_object *answer;
	int r = call(e, "/v3/kv/deleterange", key_request(key, false), &answer);

	if (r == 0)
		json_object_put(answer);
	return r;
}

static struct json_object *lease_request(const char *name, int64_t value)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, name, json_object_new_int64(value));
	return req;
}

int tapir_etcd_lease_grant(struct tapir_etcd *e, int ttl_s, int64_t *id_out)
{
	struct json_object *answer;
	int r = call(e, "/v3/lease/grant", lease_request("TTL", ttl_s), &answer);

	if (r < 0)
		return r;
	r = tapir_etcd_lease_grant_decode(answer, id_out);
	json_object_put(answer);
	return r;
}

int tapir_etcd_lease_keepalive(struct tapir_etcd *e, int64_t id, int64_t *ttl_out)
{
	struct json_object *answer;
	int r = call(e, "/v3/lease/keepalive", lease_request("ID", id), &answer);

	if (r < 0)
		return r;
	r = tapir_etcd_lease_keepalive_decode(answer, ttl_out);
	json_object_put(answer);
	return r;
}

int tapir_etcd_lease_revoke(struct tapir_etcd *e, int64_t id)
{
	struct json_object *answer;
	/* 3.4 serves revoke under /v3/kv/lease/; 3.5 serves it there and under /v3/lease/ */
	int r = call(e, "/v3/kv/lease/revoke", lease_request("ID", id), &answer);

	if (r == 0)
		json_object_put(answer);
	return r;
}

/* ---------------------------------------------------------------- watch */

int tapir_etcd_watch_start(struct tapir_etcd *e, const char *prefix, int64_t from)
{
	struct json_object *req = key_request(prefix, true), *create = json_object_new_object();

	tapir_etcd_watch_stop(e);
	json_object_object_add(req, "start_revision", json_object_new_int64(from));
	json_object_object_add(create, "create_request", req);
	e->watch_body = strdup(json_object_to_json_string_ext(create, JSON_C_TO_STRING_PLAIN));
	json_object_put(create);
	if (!e->watch_body)
		return -ENOMEM;
	e->wbuf.max = WATCH_LINE_MAX_BYTES;
	e->wbuf.len = 0;
	e->watch_why[0] = '\0';
	e->watch_endpoint = e->current;
	/* no leader behind the member: etcd ends the watch with an error instead of going silent */
	e->watch_headers = curl_slist_append(NULL, HASLEADER_HEADER);
	if (!e->watch_headers)
		return -ENOMEM;
	e->watch =
	    new_request(e, e->current, "/v3/watch", e->watch_body, e->watch_headers, &e->wbuf);
	if (!e->watch)
		return -ENOMEM;
	/* no total deadline: a watch lasts; TCP keepalive notices a dead server instead */
	curl_easy_setopt(e->watch, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e->watch, CURLOPT_TCP_KEEPIDLE, (long)TCP_KEEPIDLE_S);
	curl_easy_setopt(e->watch, CURLOPT_TCP_KEEPINTVL, (long)TCP_KEEPINTVL_S);
	curl_multi_add_handle(e->multi, e->watch);
	return 0;
}

void tapir_etcd_watch_stop(struct tapir_etcd *e)
{
	if (e->watch) {
		curl_multi_remove_handle(e->multi, e->watch);
		curl_easy_cleanup(e->watch);
		e->watch = NULL;
	}
	curl_slist_free_all(e->watch_headers);
	e->watch_headers = NULL;
	free(e->watch_body);
	e->watch_body = NULL;
}

const char *tapir_etcd_watch_endpoint(const struct tapir_etcd *e)
{
	return e->endpoints[e->watch_endpoint];
}

const char *tapir_etcd_watch_why(const struct tapir_etcd *e)
{
	return e->watch_why[0] ? e->watch_why : "ended";
}

int tapir_etcd_watch_poll(struct tapir_etcd *e, int timeout_ms, tapir_etcd_event_fn fn, void *ctx)
{
	char why[WATCH_WHY_MAX_BYTES];
	int running = 0, left = 0, r;
	CURLMsg *msg;

	if (!e->watch)
		return -EPIPE;
	if (e->current != e->watch_endpoint) {
		/* a unary call failed on the watch's member and went elsewhere */
		watch_ended(e, e->call_why);
		tapir_etcd_watch_stop(e);
		return -EPIPE;
	}
	if (!e->wbuf.data)
		e->wbuf.data = calloc(1, 1);
	if (!e->wbuf.data)
		return -ENOMEM;
	curl_multi_poll(e->multi, NULL, 0, timeout_ms, NULL);
	curl_multi_perform(e->multi, &running);
	r = tapir_etcd_watch_feed(e->wbuf.data, &e->wbuf.len, fn, ctx, why, sizeof(why));
	if (r < 0)
		watch_ended(e, why);
	while ((msg = curl_multi_info_read(e->multi, &left))) {
		if (msg->msg == CURLMSG_DONE) {
			watch_ended(e, msg->data.result == CURLE_OK
					   ? "the member closed it"
					   : curl_easy_strerror(msg->data.result));
			r = -EPIPE;
		}
	}
	if (r < 0)
		tapir_etcd_watch_stop(e);
	return r;
}
