// SPDX-License-Identifier: MIT
/*
 * The answers of etcd's v3 JSON gateway (etcd 3.4 and later), decoded: byte fields are base64,
 * 64-bit integers are JSON strings (a JSON number is taken too), fields holding their zero value
 * are left out (a PUT event has no "type", a failed txn no "succeeded"). A field of the wrong
 * type, a negative revision, lease or TTL, bad base64 or a key longer than etcd can store makes
 * the answer malformed (-EPROTO); json-c parses with a depth limit, and nothing is allocated
 * beyond what the answer's own size bounds.
 *
 * It does no I/O and keeps no pointer into its input. It must not interpret keys or values
 * (cli/mesh.c does) and never logs values.
 */
#include "etcd_parse.h"

#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tapir_etcd_json_parse(const char *buf, size_t len, struct json_object **out)
{
	struct json_tokener *tok;
	struct json_object *o;

	*out = NULL;
	if (len > INT_MAX)
		return -EPROTO;
	tok = json_tokener_new_ex(TAPIR_ETCD_JSON_DEPTH_MAX);
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o &&
	    (json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)len)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	*out = o;
	return o ? 0 : -EPROTO;
}

const char *tapir_etcd_grpc_error(struct json_object *answer, int *code_out)
{
	struct json_object *err, *f;
	const char *msg;

	if (!json_object_is_type(answer, json_type_object) ||
	    !json_object_object_get_ex(answer, "error", &err))
		return NULL;
	*code_out = 0;
	if (json_object_is_type(err, json_type_object)) {
		if (json_object_object_get_ex(err, "grpc_code", &f))
			*code_out = json_object_get_int(f);
		if (json_object_object_get_ex(err, "message", &f))
			err = f;
	} else if (json_object_object_get_ex(answer, "code", &f)) {
		*code_out = json_object_get_int(f);
	}
	msg = json_object_get_string(err);
	return msg ? msg : "error without a message";
}

int tapir_etcd_grpc_errno(int code)
{
	return code == TAPIR_ETCD_GRPC_UNAVAILABLE ? -EAGAIN : -EREMOTEIO;
}

/* ---------------------------------------------------------------- fields */

/* A decimal int64 written as a string: an optional '-', then only digits. */
static int parse_dec(const char *s, int64_t *out)
{
	bool is_neg = *s == '-';
	uint64_t v = 0, max = is_neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;

	s += is_neg;
	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -EPROTO;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = is_neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Field @name of @o, a non-negative integer (a JSON string or number); 0 when absent. */
static int get_u63(struct json_object *o, const char *name, int64_t *out)
{
	struct json_object *f;
	int r = 0;

	*out = 0;
	if (!json_object_object_get_ex(o, name, &f))
		return 0;
	if (json_object_is_type(f, json_type_int))
		*out = json_object_get_int64(f);
	else if (json_object_is_type(f, json_type_string))
		r = parse_dec(json_object_get_string(f), out);
	else
		r = -EPROTO;
	return r == 0 && *out < 0 ? -EPROTO : r;
}

/* Field @name of @o, a JSON boolean; false when absent. */
static int get_bool(struct json_object *o, const char *name, bool *out)
{
	struct json_object *f;

	*out = false;
	if (!json_object_object_get_ex(o, name, &f))
		return 0;
	if (!json_object_is_type(f, json_type_boolean))
		return -EPROTO;
	*out = json_object_get_boolean(f);
	return 0;
}

static bool is_object(struct json_object *o)
{
	return json_object_is_type(o, json_type_object);
}

/* Field @name of @o when it is of @type (*out NULL when absent), else -EPROTO. */
static int get_typed(struct json_object *o, const char *name, enum json_type type,
		     struct json_object **out)
{
	*out = NULL;
	if (!json_object_object_get_ex(o, name, out))
		return 0;
	return json_object_is_type(*out, type) ? 0 : -EPROTO;
}

/* Decodes base64 field @name of @o into a new NUL-terminated string ("" when absent). */
static int unb64(struct json_object *o, const char *name, size_t max, char **out, size_t *len_out)
{
	struct json_object *f;
	const char *s = "";
	size_t slen, len = 0;
	char *bin;

	if (get_typed(o, name, json_type_string, &f) < 0)
		return -EPROTO;
	if (f)
		s = json_object_get_string(f);
	slen = f ? (size_t)json_object_get_string_len(f) : 0;
	if (slen / 4 * 3 > max + 2)
		return -EPROTO;
	bin = malloc(slen / 4 * 3 + 4);
	if (!bin)
		return -ENOMEM;
	if (sodium_base642bin((unsigned char *)bin, slen / 4 * 3 + 3, s, slen, NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    len > max) {
		free(bin);
		return -EPROTO;
	}
	bin[len] = '\0';
	*out = bin;
	*len_out = len;
	return 0;
}

static void kv_free(struct tapir_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
}

void tapir_etcd_kvs_free(struct tapir_etcd_kv *kvs, size_t n)
{
	for (size_t i = 0; kvs && i < n; i++)
		kv_free(&kvs[i]);
	free(kvs);
}

static int parse_kv(struct json_object *o, struct tapir_etcd_kv *kv)
{
	int r;

	memset(kv, 0, sizeof(*kv));
	if (!json_object_is_type(o, json_type_object))
		return -EPROTO;
	r = unb64(o, "key", TAPIR_ETCD_KEY_MAX_BYTES, &kv->key, &kv->key_len);
	if (r == 0)
		r = unb64(o, "value", SIZE_MAX / 2, &kv->value, &kv->value_len);
	if (r == 0)
		r = get_u63(o, "create_revision", &kv->create_revision);
	if (r == 0)
		r = get_u63(o, "mod_revision", &kv->mod_revision);
	if (r == 0)
		r = get_u63(o, "lease", &kv->lease);
	if (r < 0) {
		kv_free(kv);
		memset(kv, 0, sizeof(*kv));
	}
	return r;
}

/* ---------------------------------------------------------------- unary answers */

int tapir_etcd_range_decode(struct json_object *answer, struct tapir_etcd_kv **kvs_out,
			    size_t *n_out, int64_t *revision_out, bool *more_out)
{
	struct json_object *kvs, *header;
	struct tapir_etcd_kv *out = NULL;
	int64_t revision;
	bool more = false;
	size_t n = 0;
	int r =
	    is_object(answer) ? get_typed(answer, "header", json_type_object, &header) : -EPROTO;

	if (r == 0)
		r = get_u63(header, "revision", &revision);
	if (r == 0)
		r = get_typed(answer, "kvs", json_type_array, &kvs);
	if (r == 0)
		r = get_bool(answer, "more", &more);
	if (r < 0)
		return r;
	if (kvs) {
		n = json_object_array_length(kvs);
		out = calloc(n ? n : 1, sizeof(*out));
		if (!out)
			return -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		r = parse_kv(json_object_array_get_idx(kvs, i), &out[i]);
	if (r < 0) {
		tapir_etcd_kvs_free(out, n);
		return r;
	}
	if (revision_out)
		*revision_out = revision;
	if (more_out)
		*more_out = more;
	*kvs_out = out;
	*n_out = n;
	return 0;
}

int tapir_etcd_txn_decode(struct json_object *answer, bool *is_done_out)
{
	return is_object(answer) ? get_bool(answer, "succeeded", is_done_out) : -EPROTO;
}

int tapir_etcd_lease_grant_decode(struct json_object *answer, int64_t *id_out)
{
	int r = is_object(answer) ? get_u63(answer, "ID", id_out) : -EPROTO;

	return r == 0 && *id_out == 0 ? -EPROTO : r;
}

int tapir_etcd_lease_keepalive_decode(struct json_object *answer, int64_t *ttl_out)
{
	struct json_object *result;
	int r =
	    is_object(answer) ? get_typed(answer, "result", json_type_object, &result) : -EPROTO;

	/* a stream of one: {"result": {"ID": ..., "TTL": ...}}, no TTL once the lease is gone */
	*ttl_out = 0;
	return r == 0 ? get_u63(result, "TTL", ttl_out) : r;
}

/* An answer without a gRPC error, as a new reference in *out. */
static int parse_unary(const char *buf, size_t len, struct json_object **out)
{
	int code = 0, r = tapir_etcd_json_parse(buf, len, out);

	if (r == 0 && tapir_etcd_grpc_error(*out, &code)) {
		json_object_put(*out);
		*out = NULL;
		r = tapir_etcd_grpc_errno(code);
	}
	return r;
}

int tapir_etcd_parse_range(const char *buf, size_t len, struct tapir_etcd_kv **kvs_out,
			   size_t *n_out, int64_t *revision_out, bool *more_out)
{
	struct json_object *answer;
	int r = parse_unary(buf, len, &answer);

	if (r == 0)
		r = tapir_etcd_range_decode(answer, kvs_out, n_out, revision_out, more_out);
	json_object_put(answer);
	return r;
}

int tapir_etcd_parse_txn(const char *buf, size_t len, bool *is_done_out)
{
	struct json_object *answer;
	int r = parse_unary(buf, len, &answer);

	if (r == 0)
		r = tapir_etcd_txn_decode(answer, is_done_out);
	json_object_put(answer);
	return r;
}

int tapir_etcd_parse_lease_grant(const char *buf, size_t len, int64_t *id_out)
{
	struct json_object *answer;
	int r = parse_unary(buf, len, &answer);

	if (r == 0)
		r = tapir_etcd_lease_grant_decode(answer, id_out);
	json_object_put(answer);
	return r;
}

int tapir_etcd_parse_lease_keepalive(const char *buf, size_t len, int64_t *ttl_out)
{
	struct json_object *answer;
	int r = parse_unary(buf, len, &answer);

	if (r == 0)
		r = tapir_etcd_lease_keepalive_decode(answer, ttl_out);
	json_object_put(answer);
	return r;
}

/* ---------------------------------------------------------------- watch */

/* Why a watch answer @o ends the watch (NULL: it does not); *result_out is its result. */
static const char *watch_end_reason(struct json_object *o, struct json_object **result_out)
{
	const char *msg;
	int64_t compact;
	bool is_cancelled;
	int code;

	if (!o)
		return "malformed answer";
	msg = tapir_etcd_grpc_error(o, &code);
	if (msg)
		return msg; /* "etcdserver: no leader" from a member cut off from the others */
	if (get_typed(o, "result", json_type_object, result_out) < 0 || !*result_out)
		return "malformed answer";
	if (get_u63(*result_out, "compact_revision", &compact) < 0 ||
	    get_bool(*result_out, "canceled", &is_cancelled) < 0)
		return "malformed answer";
	if (compact)
		return "compacted";
	if (is_cancelled)
		return "cancelled by etcd";
	return NULL;
}

/* Event @ev: a PUT has no "type" (the zero value is left out), a delete is "DELETE". */
static int parse_event(struct json_object *ev, bool *is_delete, struct tapir_etcd_kv *kv)
{
	struct json_object *type, *f;
	const char *s;

	if (!json_object_is_type(ev, json_type_object) ||
	    get_typed(ev, "type", json_type_string, &type) < 0 ||
	    get_typed(ev, "kv", json_type_object, &f) < 0 || !f)
		return -EPROTO;
	s = type ? json_object_get_string(type) : "PUT";
	if (strcmp(s, "PUT") && strcmp(s, "DELETE"))
		return -EPROTO;
	*is_delete = !strcmp(s, "DELETE");
	return parse_kv(f, kv);
}

static int watch_events(struct json_object *result, tapir_etcd_event_fn fn, void *ctx)
{
	struct json_object *events;
	size_t n;

	if (get_typed(result, "events", json_type_array, &events) < 0)
		return -EPROTO;
	n = events ? json_object_array_length(events) : 0;
	for (size_t i = 0; i < n; i++) {
		struct tapir_etcd_kv one;
		bool is_delete;

		if (parse_event(json_object_array_get_idx(events, i), &is_delete, &one) < 0)
			return -EPROTO;
		fn(ctx, is_delete, &one);
		kv_free(&one);
	}
	return 0;
}

int tapir_etcd_parse_watch_line(const char *buf, size_t len, tapir_etcd_event_fn fn, void *ctx,
				char *why, size_t why_size)
{
	struct json_object *o, *result = NULL;
	const char *end;
	int r = 0;

	tapir_etcd_json_parse(buf, len, &o);
	end = watch_end_reason(o, &result);
	if (!end && watch_events(result, fn, ctx) < 0)
		end = "malformed event";
	if (end) {
		snprintf(why, why_size, "%s", end);
		r = -EPIPE;
	}
	json_object_put(o);
	return r;
}

int tapir_etcd_watch_feed(char *data, size_t *len, tapir_etcd_event_fn fn, void *ctx, char *why,
			  size_t why_size)
{
	size_t start = 0;
	char *nl;
	int r = 0;

	while (r == 0 && (nl = memchr(data + start, '\n', *len - start))) {
		size_t n = (size_t)(nl - (data + start));

		r = tapir_etcd_parse_watch_line(data + start, n, fn, ctx, why, why_size);
		start += n + 1;
	}
	if (start) {
		memmove(data, data + start, *len - start);
		*len -= start;
	}
	return r;
}
