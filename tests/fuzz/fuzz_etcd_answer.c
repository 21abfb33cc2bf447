// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for what tapir mesh reads from etcd's JSON gateway (cli/etcd_parse.c): the
 * input is taken as a range, txn, lease grant and keepalive answer, as one watch line and as a
 * watch stream fed in two reads. A range that parses must hold NUL-terminated keys within the
 * limit and no negative revision; the stream must keep only an incomplete line; nothing may
 * crash, leak or allocate beyond what the input's size bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_event(void *ctx, bool is_delete, const struct tapir_etcd_kv *kv)
{
	size_t *n = ctx;

	(void)is_delete;
	if (kv->key_len > TAPIR_ETCD_KEY_MAX_BYTES || kv->key[kv->key_len] ||
	    kv->value[kv->value_len] || kv->mod_revision < 0)
		abort();
	(*n)++;
}

static void range(const char *s, size_t size)
{
	struct tapir_etcd_kv *kvs = NULL;
	int64_t rev = 0;
	size_t n = 0, events = 0;

	if (tapir_etcd_parse_range(s, size, &kvs, &n, &rev, NULL) < 0) {
		if (kvs)
			abort();
		return;
	}
	if (rev < 0)
		abort();
	for (size_t i = 0; i < n; i++)
		on_event(&events, false, &kvs[i]);
	tapir_etcd_kvs_free(kvs, n);
}

static void stream(const char *s, size_t size)
{
	char *buf = malloc(size ? size : 1), why[TAPIR_ETCD_WHY_MAX_BYTES];
	size_t half = size / 2, len, events = 0;
	int r;

	if (!buf)
		return;
	memcpy(buf, s, half);
	len = half;
	r = tapir_etcd_watch_feed(buf, &len, on_event, &events, why, sizeof(why));
	if (r == 0) {
		memcpy(buf + len, s + half, size - half);
		len += size - half;
		r = tapir_etcd_watch_feed(buf, &len, on_event, &events, why, sizeof(why));
	}
	if (len > size || (r == 0 && memchr(buf, '\n', len)) ||
	    (r < 0 && strlen(why) >= sizeof(why)))
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char why[TAPIR_ETCD_WHY_MAX_BYTES];
	size_t events = 0;
	bool is_done;
	int64_t v;

	range(s, size);
	tapir_etcd_parse_txn(s, size, &is_done);
	if (tapir_etcd_parse_lease_grant(s, size, &v) == 0 && v <= 0)
		abort();
	if (tapir_etcd_parse_lease_keepalive(s, size, &v) == 0 && v < 0)
		abort();
	tapir_etcd_parse_watch_line(s, size, on_event, &events, why, sizeof(why));
	stream(s, size);
	return 0;
}
