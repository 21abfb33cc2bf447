/* SPDX-License-Identifier: MIT */
/*
 * What cli/etcd.c reads from the network, without the network: the JSON answers of etcd's
 * gateway (range, txn, lease grant and keepalive, the gRPC error shapes) and the lines of a
 * watch stream. Every function here takes bytes or a parsed answer and no connection, so the
 * unit test and the fuzz harness drive exactly the code the mesh agent runs.
 */
#ifndef TAPIR_ETCD_PARSE_H
#define TAPIR_ETCD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

struct json_object;

enum {
	TAPIR_ETCD_JSON_DEPTH_MAX = 16,
	/* etcd's default --max-request-bytes: no member stores a longer key */
	TAPIR_ETCD_KEY_MAX_BYTES = 1536 * 1024,
	TAPIR_ETCD_GRPC_UNAVAILABLE = 14,
	TAPIR_ETCD_WHY_MAX_BYTES = 160,
};

/* Parses one JSON text filling all of @buf. 0 and a new reference in *out, or -EPROTO. */
int tapir_etcd_json_parse(const char *buf, size_t len, struct json_object **out);
/*
 * The gRPC error @answer carries: a unary one is {"error": "...", "code": N}, a streamed one
 * {"error": {"grpc_code": N, "message": "..."}}. Returns its message (borrowed from @answer) and
 * sets *code_out, or NULL when there is none.
 */
const char *tapir_etcd_grpc_error(struct json_object *answer, int *code_out);
/* UNAVAILABLE (no leader, shutting down) is -EAGAIN: another member may serve it; else -EREMOTEIO.
 */
int tapir_etcd_grpc_errno(int code);

/*
 * Decoders of a unary answer with no gRPC error; -EPROTO when it is not of the right shape.
 * Range: *more_out (unless NULL) says that a limited range left keys out.
 */
int tapir_etcd_range_decode(struct json_object *answer, struct tapir_etcd_kv **kvs_out,
			    size_t *n_out, int64_t *revision_out, bool *more_out);
int tapir_etcd_txn_decode(struct json_object *answer, bool *is_done_out);
int tapir_etcd_lease_grant_decode(struct json_object *answer, int64_t *id_out);
/* *ttl_out is 0 when the lease no longer exists. */
int tapir_etcd_lease_keepalive_decode(struct json_object *answer, int64_t *ttl_out);

/*
 * The same from the bytes of an answer: -EPROTO (malformed), -EAGAIN or -EREMOTEIO (a gRPC
 * error, as tapir_etcd_grpc_errno), or what the decoder returns.
 */
int tapir_etcd_parse_range(const char *buf, size_t len, struct tapir_etcd_kv **kvs_out,
			   size_t *n_out, int64_t *revision_out, bool *more_out);
int tapir_etcd_parse_txn(const char *buf, size_t len, bool *is_done_out);
int tapir_etcd_parse_lease_grant(const char *buf, size_t len, int64_t *id_out);
int tapir_etcd_parse_lease_keepalive(const char *buf, size_t len, int64_t *ttl_out);

/*
 * One line of a watch stream (without its '\n'): calls @fn for each event in it. Returns 0, or
 * -EPIPE when the line ends the watch (cancelled, compacted, gRPC error, malformed), with the
 * reason in @why (@why_size bytes, NUL-terminated).
 */
int tapir_etcd_parse_watch_line(const char *buf, size_t len, tapir_etcd_event_fn fn, void *ctx,
				char *why, size_t why_size);
/*
 * Parses every complete line of @data (*len bytes) as above and removes them from its front;
 * a line not yet complete stays there for the next read. Stops at the first -EPIPE.
 */
int tapir_etcd_watch_feed(char *data, size_t *len, tapir_etcd_event_fn fn, void *ctx, char *why,
			  size_t why_size);

#endif
