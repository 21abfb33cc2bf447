// SPDX-License-Identifier: MIT
/*
 * Tests for cli/etcd_parse.c: the answers of etcd 3.4's JSON gateway as a member sends them
 * (range, txn, lease grant and keepalive, both gRPC error shapes, the lines of a watch stream)
 * and what anything else listening on an endpoint could send instead: truncated JSON, fields of
 * the wrong type, base64 garbage, keys longer than etcd stores, out-of-range and negative
 * integers, JSON nested past the depth limit, a watch line split across reads. Each bad answer
 * must be refused with an error, never half-used.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "etcd_parse.h"

#define HEADER                                                                                     \
	"\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":"                       \
	"\"10276657743932975437\",\"revision\":\"9\",\"raft_term\":\"2\"}"

/* What the watch callback saw. */
struct seen {
	int n, n_delete;
	char key[64], value[64];
	int64_t mod_revision;
};

static void on_event(void *ctx, bool is_delete, const struct tapir_etcd_kv *kv)
{
	struct seen *s = ctx;

	s->n++;
	s->n_delete += is_delete;
	snprintf(s->key, sizeof(s->key), "%s", kv->key);
	snprintf(s->value, sizeof(s->value), "%s", kv->value);
	s->mod_revision = kv->mod_revision;
}

static int range(const char *json, struct tapir_etcd_kv **kvs, size_t *n, int64_t *rev)
{
	return tapir_etcd_parse_range(json, strlen(json), kvs, n, rev, NULL);
}

static int watch_line(const char *json, struct seen *s, char *why, size_t why_size)
{
	return tapir_etcd_parse_watch_line(json, strlen(json), on_event, s, why, why_size);
}

static void test_range(void **state)
{
	/* "/tapir/a" = "hello" and "/tapir/b" = "" */
	static const char two[] =
	    "{" HEADER ",\"kvs\":[{\"key\":\"L3RhcGlyL2E=\",\"create_revision\":\"5\","
	    "\"mod_revision\":\"6\",\"version\":\"2\",\"value\":\"aGVsbG8=\","
	    "\"lease\":\"7587869191155838212\"},{\"key\":\"L3RhcGlyL2I=\",\"create_revision\":"
	    "\"7\",\"mod_revision\":\"7\",\"version\":\"1\"}],\"count\":\"2\"}";
	struct tapir_etcd_kv *kvs = NULL;
	int64_t rev = -1;
	size_t n = 0;

	(void)state;
	assert_int_equal(range(two, &kvs, &n, &rev), 0);
	assert_int_equal(n, 2);
	assert_int_equal(rev, 9);
	assert_string_equal(kvs[0].key, "/tapir/a");
	assert_int_equal(kvs[0].key_len, 8);
	assert_string_equal(kvs[0].value, "hello");
	assert_int_equal(kvs[0].value_len, 5);
	assert_int_equal(kvs[0].create_revision, 5);
	assert_int_equal(kvs[0].mod_revision, 6);
	assert_int_equal(kvs[0].lease, 7587869191155838212LL);
	assert_string_equal(kvs[1].key, "/tapir/b");
	assert_string_equal(kvs[1].value, "");
	assert_int_equal(kvs[1].lease, 0);
	tapir_etcd_kvs_free(kvs, n);

	/* nothing under the key: no "kvs", no "count" */
	kvs = NULL;
	assert_int_equal(range("{" HEADER "}", &kvs, &n, &rev), 0);
	assert_int_equal(n, 0);
	tapir_etcd_kvs_free(kvs, n);
	/* a count far above what is there allocates nothing for it */
	assert_int_equal(range("{" HEADER ",\"count\":\"9223372036854775807\"}", &kvs, &n, &rev),
			 0);
	assert_int_equal(n, 0);
	tapir_etcd_kvs_free(kvs, n);
	/* revisions as JSON numbers are taken too */
	assert_int_equal(range("{\"header\":{\"revision\":12},\"kvs\":[{\"key\":\"YQ==\","
			       "\"mod_revision\":3}]}",
			       &kvs, &n, &rev),
			 0);
	assert_int_equal(rev, 12);
	assert_int_equal(kvs[0].mod_revision, 3);
	tapir_etcd_kvs_free(kvs, n);
}

/* A limited range says whether keys were left out ("more", absent when false). */
static void test_range_more(void **state)
{
	static const char page[] = "{" HEADER ",\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":"
				   "\"3\"}],\"more\":true,\"count\":\"3\"}";
	struct tapir_etcd_kv *kvs = NULL;
	int64_t rev = -1;
	bool more = false;
	size_t n = 0;

	(void)state;
	assert_int_equal(tapir_etcd_parse_range(page, strlen(page), &kvs, &n, &rev, &more), 0);
	assert_true(more);
	assert_int_equal(n, 1);
	assert_string_equal(kvs[0].key, "a");
	tapir_etcd_kvs_free(kvs, n);
	assert_int_equal(
	    tapir_etcd_parse_range("{" HEADER "}", strlen("{" HEADER "}"), &kvs, &n, &rev, &more),
	    0);
	assert_false(more);
	tapir_etcd_kvs_free(kvs, n);
	/* "more" of another type is malformed */
	assert_int_equal(tapir_etcd_parse_range("{" HEADER ",\"more\":\"true\"}",
						strlen("{" HEADER ",\"more\":\"true\"}"), &kvs, &n,
						&rev, &more),
			 -EPROTO);
}

static void test_range_bad(void **state)
{
	static const char *const bad[] = {
	    /* 0 truncated */ "{" HEADER ",\"kvs\":[{\"key\":\"L3RhcGlyL2E=\"",
	    /* 1 */ "{" HEADER ",\"kvs\":[{\"key\":\"L3RhcGlyL2E=\"}]",
	    /* 2 trailing bytes */ "{" HEADER "}x",
	    /* 3 empty */ "",
	    /* 4 key a number */ "{\"kvs\":[{\"key\":1234}]}",
	    /* 5 key null */ "{\"kvs\":[{\"key\":null}]}",
	    /* 6 value an object */ "{\"kvs\":[{\"key\":\"YQ==\",\"value\":{}}]}",
	    /* 7 base64 garbage */ "{\"kvs\":[{\"key\":\"!!!!\"}]}",
	    /* 8 not a multiple of 4 */ "{\"kvs\":[{\"key\":\"YWJ\"}]}",
	    /* 9 missing padding */ "{\"kvs\":[{\"key\":\"YQ\"}]}",
	    /* 10 kvs an object */ "{\"kvs\":{\"key\":\"YQ==\"}}",
	    /* 11 kvs null */ "{\"kvs\":null}",
	    /* 12 a kv a string */ "{\"kvs\":[\"YQ==\"]}",
	    /* 13 negative mod revision */ "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":\"-6\"}]}",
	    /* 14 negative as a number */ "{\"kvs\":[{\"key\":\"YQ==\",\"create_revision\":-1}]}",
	    /* 15 revision over int64 */ "{\"header\":{\"revision\":\"9223372036854775808\"}}",
	    /* 16 revision not a number */ "{\"header\":{\"revision\":\"9x\"}}",
	    /* 17 revision empty */ "{\"header\":{\"revision\":\"\"}}",
	    /* 18 revision a bool */ "{\"header\":{\"revision\":true}}",
	    /* 19 header an array */ "{\"header\":[]}",
	    /* 20 lease negative */ "{\"kvs\":[{\"key\":\"YQ==\",\"lease\":\"-2\"}]}",
	    /* 21 revision a float */ "{\"header\":{\"revision\":1.5}}",
	    /* 22 not an object */ "[]",
	    /* 23 a NUL inside */ "{\"header\":{}}\0",
	};
	static const size_t extra[sizeof(bad) / sizeof(bad[0])] = {[23] = 1};
	struct tapir_etcd_kv *kvs;
	int64_t rev;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r;

		kvs = NULL;
		r = tapir_etcd_parse_range(bad[i], strlen(bad[i]) + extra[i], &kvs, &n, &rev, NULL);
		if (r != -EPROTO)
			fail_msg("bad range answer %zu: %d, not -EPROTO: %s", i, r, bad[i]);
		assert_null(kvs);
	}
}

/* A range answer with one key of @len bytes. */
static char *long_key_answer(size_t len)
{
	size_t b64_len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *key = malloc(len), *out = malloc(b64_len + 64);

	assert_non_null(key);
	assert_non_null(out);
	memset(key, 'k', len);
	strcpy(out, "{\"kvs\":[{\"key\":\"");
	sodium_bin2base64(out + strlen(out), b64_len, (unsigned char *)key, len,
			  sodium_base64_VARIANT_ORIGINAL);
	strcat(out, "\"}]}");
	free(key);
	return out;
}

static void test_key_limit(void **state)
{
	struct tapir_etcd_kv *kvs = NULL;
	char *answer;
	int64_t rev;
	size_t n;

	(void)state;
	answer = long_key_answer(TAPIR_ETCD_KEY_MAX_BYTES);
	assert_int_equal(range(answer, &kvs, &n, &rev), 0);
	assert_int_equal(kvs[0].key_len, TAPIR_ETCD_KEY_MAX_BYTES);
	tapir_etcd_kvs_free(kvs, n);
	free(answer);
	answer = long_key_answer(TAPIR_ETCD_KEY_MAX_BYTES + 1);
	kvs = NULL;
	assert_int_equal(range(answer, &kvs, &n, &rev), -EPROTO);
	assert_null(kvs);
	free(answer);
}

static void test_depth(void **state)
{
	char deep[200];
	size_t len = 0;
	struct tapir_etcd_kv *kvs = NULL;
	int64_t rev;
	size_t n;

	(void)state;
	/* 15 levels below the answer: within the limit */
	len += (size_t)snprintf(deep, sizeof(deep), "{\"x\":");
	for (int i = 0; i < TAPIR_ETCD_JSON_DEPTH_MAX - 2; i++)
		deep[len++] = '[';
	for (int i = 0; i < TAPIR_ETCD_JSON_DEPTH_MAX - 2; i++)
		deep[len++] = ']';
	deep[len++] = '}';
	assert_int_equal(tapir_etcd_parse_range(deep, len, &kvs, &n, &rev, NULL), 0);
	tapir_etcd_kvs_free(kvs, n);
	/* one level more than the limit */
	len = (size_t)snprintf(deep, sizeof(deep), "{\"x\":");
	for (int i = 0; i < TAPIR_ETCD_JSON_DEPTH_MAX; i++)
		deep[len++] = '[';
	for (int i = 0; i < TAPIR_ETCD_JSON_DEPTH_MAX; i++)
		deep[len++] = ']';
	deep[len++] = '}';
	kvs = NULL;
	assert_int_equal(tapir_etcd_parse_range(deep, len, &kvs, &n, &rev, NULL), -EPROTO);
	assert_null(kvs);
}

static void test_txn_lease(void **state)
{
	static const char ok[] = "{" HEADER ",\"succeeded\":true,\"responses\":[{\"response_put\":"
				 "{\"header\":{\"revision\":\"10\"}}}]}";
	static const char failed[] = "{" HEADER "}";
	static const char grant[] = "{" HEADER ",\"ID\":\"7587869191155838212\",\"TTL\":\"10\"}";
	static const char alive[] =
	    "{\"result\":{" HEADER ",\"ID\":\"7587869191155838212\",\"TTL\":\"10\"}}";
	static const char gone[] = "{\"result\":{" HEADER ",\"ID\":\"7587869191155838212\"}}";
	bool is_done = true;
	int64_t v = -1;

	(void)state;
	assert_int_equal(tapir_etcd_parse_txn(ok, strlen(ok), &is_done), 0);
	assert_true(is_done);
	assert_int_equal(tapir_etcd_parse_txn(failed, strlen(failed), &is_done), 0);
	assert_false(is_done);
	assert_int_equal(tapir_etcd_parse_lease_grant(grant, strlen(grant), &v), 0);
	assert_int_equal(v, 7587869191155838212LL);
	assert_int_equal(tapir_etcd_parse_lease_keepalive(alive, strlen(alive), &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(tapir_etcd_parse_lease_keepalive(gone, strlen(gone), &v), 0);
	assert_int_equal(v, 0);

	static const char *const bad_txn[] = {
	    "{\"succeeded\":\"false\"}", "{\"succeeded\":1}",	"{\"succeeded\":null}",
	    "{\"succeeded\":tru}",	 "{\"succeeded\":true",
	};
	for (size_t i = 0; i < sizeof(bad_txn) / sizeof(bad_txn[0]); i++) {
		if (tapir_etcd_parse_txn(bad_txn[i], strlen(bad_txn[i]), &is_done) != -EPROTO)
			fail_msg("bad txn answer %zu accepted: %s", i, bad_txn[i]);
	}
	static const char *const bad_grant[] = {
	    "{\"TTL\":\"10\"}",
	    "{\"ID\":\"0\"}",
	    "{\"ID\":\"-7\"}",
	    "{\"ID\":[1]}",
	    "{\"ID\":\"0x10\"}",
	    "{\"ID\":\" 10\"}",
	    "{\"ID\":\"99999999999999999999\"}",
	    "{\"ID\":",
	};
	for (size_t i = 0; i < sizeof(bad_grant) / sizeof(bad_grant[0]); i++) {
		if (tapir_etcd_parse_lease_grant(bad_grant[i], strlen(bad_grant[i]), &v) != -EPROTO)
			fail_msg("bad grant answer %zu accepted: %s", i, bad_grant[i]);
	}
	static const char *const bad_alive[] = {
	    "{\"result\":{\"TTL\":\"-1\"}}",
	    "{\"result\":{\"TTL\":{}}}",
	    "{\"result\":5}",
	    "{\"result\":null}",
	    "{\"result\":{\"TTL\":\"10\"}",
	};
	for (size_t i = 0; i < sizeof(bad_alive) / sizeof(bad_alive[0]); i++) {
		if (tapir_etcd_parse_lease_keepalive(bad_alive[i], strlen(bad_alive[i]), &v) !=
		    -EPROTO)
			fail_msg("bad keepalive answer %zu accepted: %s", i, bad_alive[i]);
	}
}

static void test_grpc_errors(void **state)
{
	static const struct {
		const char *json;
		int r;
	} rows[] = {
	    {"{\"error\":\"etcdserver: no leader\",\"code\":14,\"message\":\"etcdserver: no "
	     "leader\"}",
	     -EAGAIN},
	    {"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no "
	     "leader\",\"http_status\":\"Service Unavailable\"}}",
	     -EAGAIN},
	    {"{\"error\":\"etcdserver: requested lease not found\",\"code\":5,\"message\":"
	     "\"etcdserver: requested lease not found\"}",
	     -EREMOTEIO},
	    {"{\"error\":{\"grpc_code\":3,\"http_code\":400,\"message\":\"bad\"}}", -EREMOTEIO},
	    {"{\"error\":\"x\"}", -EREMOTEIO},
	    {"{\"error\":null}", -EREMOTEIO},
	    {"{\"error\":{\"message\":null,\"grpc_code\":14}}", -EAGAIN},
	    {"{\"error\":\"x\",\"code\":\"14\"}", -EAGAIN},
	};
	struct tapir_etcd_kv *kvs;
	bool is_done;
	int64_t v;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *j = rows[i].json;

		kvs = NULL;
		assert_int_equal(tapir_etcd_parse_range(j, strlen(j), &kvs, &n, &v, NULL),
				 rows[i].r);
		assert_null(kvs);
		assert_int_equal(tapir_etcd_parse_txn(j, strlen(j), &is_done), rows[i].r);
		assert_int_equal(tapir_etcd_parse_lease_grant(j, strlen(j), &v), rows[i].r);
		assert_int_equal(tapir_etcd_parse_lease_keepalive(j, strlen(j), &v), rows[i].r);
	}
}

static void test_watch(void **state)
{
	static const char created[] = "{\"result\":{" HEADER ",\"created\":true}}";
	static const char events[] =
	    "{\"result\":{" HEADER ",\"events\":[{\"kv\":{\"key\":\"L3RhcGlyL2E=\","
	    "\"create_revision\":\"8\",\"mod_revision\":\"8\",\"version\":\"1\",\"value\":"
	    "\"aGVsbG8=\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3RhcGlyL2I=\","
	    "\"mod_revision\":\"9\"}}]}}";
	static const char progress[] = "{\"result\":{" HEADER "}}";
	struct seen s = {0};
	char why[TAPIR_ETCD_WHY_MAX_BYTES];

	(void)state;
	assert_int_equal(watch_line(created, &s, why, sizeof(why)), 0);
	assert_int_equal(watch_line(progress, &s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(watch_line(events, &s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.n_delete, 1);
	assert_string_equal(s.key, "/tapir/b");
	assert_string_equal(s.value, "");
	assert_int_equal(s.mod_revision, 9);

	static const struct {
		const char *json, *why;
	} ends[] = {
	    {"{\"result\":{" HEADER ",\"canceled\":true,\"compact_revision\":\"5\"}}", "compacted"},
	    {"{\"result\":{" HEADER ",\"canceled\":true}}", "cancelled by etcd"},
	    {"{\"result\":{" HEADER ",\"canceled\":true,\"cancel_reason\":\"etcdserver: no "
	     "leader\"}}",
	     "cancelled by etcd"},
	    {"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no "
	     "leader\",\"http_status\":\"Service Unavailable\"}}",
	     "etcdserver: no leader"},
	    {"{\"error\":\"etcdserver: no leader\",\"code\":14}", "etcdserver: no leader"},
	    {"", "malformed answer"},
	    {"{\"result\":{" HEADER, "malformed answer"},
	    {"{\"header\":{}}", "malformed answer"},
	    {"{\"result\":null}", "malformed answer"},
	    {"{\"result\":[]}", "malformed answer"},
	    {"{\"result\":{\"canceled\":\"true\"}}", "malformed answer"},
	    {"{\"result\":{\"compact_revision\":\"-5\"}}", "malformed answer"},
	    {"{\"result\":{\"events\":5}}", "malformed event"},
	    {"{\"result\":{\"events\":null}}", "malformed event"},
	    {"{\"result\":{\"events\":{}}}", "malformed event"},
	    {"{\"result\":{\"events\":[5]}}", "malformed event"},
	    {"{\"result\":{\"events\":[{}]}}", "malformed event"},
	    {"{\"result\":{\"events\":[{\"type\":null,\"kv\":{\"key\":\"YQ==\"}}]}}",
	     "malformed event"},
	    {"{\"result\":{\"events\":[{\"type\":7,\"kv\":{\"key\":\"YQ==\"}}]}}",
	     "malformed event"},
	    {"{\"result\":{\"events\":[{\"type\":\"EXPIRE\",\"kv\":{\"key\":\"YQ==\"}}]}}",
	     "malformed event"},
	    {"{\"result\":{\"events\":[{\"kv\":{\"key\":\"Y!==\"}}]}}", "malformed event"},
	    {"{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"value\":5}}]}}",
	     "malformed event"},
	    {"{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"-9\"}}]}}",
	     "malformed event"},
	    {"{\"result\":{\"events\":[{\"kv\":null}]}}", "malformed event"},
	};
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		memset(&s, 0, sizeof(s));
		strcpy(why, "-");
		if (watch_line(ends[i].json, &s, why, sizeof(why)) != -EPIPE)
			fail_msg("watch line %zu did not end the watch: %s", i, ends[i].json);
		if (strcmp(why, ends[i].why))
			fail_msg("watch line %zu: \"%s\", not \"%s\"", i, why, ends[i].why);
		assert_int_equal(s.n, 0);
	}
}

static void test_watch_feed(void **state)
{
	static const char line[] = "{\"result\":{\"events\":[{\"kv\":{\"key\":\"L3RhcGlyL2E=\","
				   "\"mod_revision\":\"8\",\"value\":\"aGVsbG8=\"}}]}}\n";
	char buf[4 * sizeof(line)], why[TAPIR_ETCD_WHY_MAX_BYTES];
	size_t split = 37, len;
	struct seen s = {0};

	(void)state;
	/* the first read ends inside the line: nothing yet, the bytes stay */
	memcpy(buf, line, split);
	len = split;
	assert_int_equal(tapir_etcd_watch_feed(buf, &len, on_event, &s, why, sizeof(why)), 0);
	assert_int_equal(len, split);
	assert_int_equal(s.n, 0);
	/* the second read brings its end and most of another line */
	memcpy(buf + len, line + split, strlen(line) - split);
	len += strlen(line) - split;
	memcpy(buf + len, line, split);
	len += split;
	assert_int_equal(tapir_etcd_watch_feed(buf, &len, on_event, &s, why, sizeof(why)), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.key, "/tapir/a");
	assert_int_equal(len, split);
	assert_memory_equal(buf, line, split);
	/* the rest, a line that ends the watch, and one after it that is not read */
	memcpy(buf + len, line + split, strlen(line) - split);
	len += strlen(line) - split;
	memcpy(buf + len, "{\"result\":{\"canceled\":true}}\n", 29);
	len += 29;
	memcpy(buf + len, line, strlen(line));
	len += strlen(line);
	assert_int_equal(tapir_etcd_watch_feed(buf, &len, on_event, &s, why, sizeof(why)), -EPIPE);
	assert_int_equal(s.n, 2);
	assert_string_equal(why, "cancelled by etcd");
	assert_int_equal(len, strlen(line));
	/* an empty line is a malformed answer */
	memcpy(buf, "\n", 1);
	len = 1;
	assert_int_equal(tapir_etcd_watch_feed(buf, &len, on_event, &s, why, sizeof(why)), -EPIPE);
	assert_string_equal(why, "malformed answer");
	assert_int_equal(len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_range),	cmocka_unit_test(test_range_more),
	    cmocka_unit_test(test_range_bad),	cmocka_unit_test(test_key_limit),
	    cmocka_unit_test(test_depth),	cmocka_unit_test(test_txn_lease),
	    cmocka_unit_test(test_grpc_errors), cmocka_unit_test(test_watch),
	    cmocka_unit_test(test_watch_feed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
