// SPDX-License-Identifier: MIT
/*
 * mesh_load: the load generator of bench/mesh-scale.sh (issue 16, "Scale"). It plays N
 * simulated mesh hosts against etcd the way their agents would (doc/mesh-design.md sections 2,
 * 5 and 8): each host has a fresh X25519 key pair, a certificate from the admin key
 * (cli/mesh_trust.c), a record formatted by cli/mesh_record.c, and its own etcd lease. No
 * daemon stands behind them: their endpoints are on TEST-NET-2 (198.51.100.0/24).
 *
 *   mesh_load now                                  CLOCK_MONOTONIC in ns
 *   mesh_load register ETCD NET ADMINKEY FIRST N TTL   N hosts on subnets FIRST..FIRST+N-1
 *   mesh_load churn ETCD NET ADMINKEY FIRST N TTL RATE SECONDS WRITES
 *   mesh_load wait IFNAME COUNT TIMEOUT_S [TRACE REVISION SETS]
 *   mesh_load latency WRITES TRACE                 per-change latency as JSON
 *
 * register grants the N leases first, then writes the records in transactions of up to
 * TXN_OPS puts, the last one alone, so that the agent's --trace-apply line for the last
 * revision means every record was applied; it prints "first_write_ns= last_write_ns=
 * last_revision= leases_seconds= writes_seconds=" (*_write_ns: when a write was sent).
 *
 * churn makes RATE changes a second, one write each (add a host: grant a lease and put;
 * remove one: revoke its lease, the DELETE a leaving agent causes; move one: put its record
 * with a new endpoint), among hosts FIRST..FIRST+2N-1 (about N present), and appends
 * "REVISION SEND_NS ACK_NS OP" per write to WRITES.
 *
 * wait polls the UAPI of IFNAME until it has exactly COUNT peers; given the agent's trace it
 * first waits, cheaply, for a line of REVISION or later that is at least the SETS-th "set"
 * line, so that the polling (a get of 10,000 peers costs tapird about 0.2 s) does not slow
 * what it measures; it prints "trace_ns= uapi_ns= peers=". Started before the writes, it is
 * already watching when they end.
 *
 * This is a benchmark tool: errors end it with a message and exit status 1.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoding.h"
#include "mesh.h"
#include "uapi_client.h"

enum {
	TXN_OPS = 128, /* etcd's default --max-txn-ops */
	CALL_TIMEOUT_MS = 10000,
	CERT_DAYS = 2,
	POLL_TRACE_MS = 2,
	POLL_UAPI_MS = 20,
	NSEC = 1000000000,
};

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mesh_load: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static void sleep_until(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / NSEC, .tv_nsec = ns % NSEC};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static long number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || end == s || v < 0)
		die("`%s' is not a number", s);
	return v;
}

/* ------------------------------------------------------ etcd over one kept-alive connection */

struct etcd {
	CURL *c;
	const char *url;
	struct curl_slist *headers;
	char *buf;
	size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct etcd *e = arg;
	char *b = realloc(e->buf, e->len + size * n + 1);

	if (!b)
		return 0;
	memcpy(b + e->len, p, size * n);
	e->buf = b;
	e->len += size * n;
	b[e->len] = '\0';
	return size * n;
}

static void etcd_open(struct etcd *e, const char *url)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e->url = url;
	e->c = curl_easy_init();
	e->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (!e->c || !e->headers)
		die("%s", "out of memory");
	curl_easy_setopt(e->c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e->c, CURLOPT_WRITEDATA, e);
	curl_easy_setopt(e->c, CURLOPT_HTTPHEADER, e->headers);
	curl_easy_setopt(e->c, CURLOPT_TIMEOUT_MS, (long)CALL_TIMEOUT_MS);
	curl_easy_setopt(e->c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e->c, CURLOPT_NOSIGNAL, 1L);
}

/* POSTs @req (consumed) to @path; returns the answer (a new reference) or dies. */
static struct json_object *etcd_call(struct etcd *e, const char *path, struct json_object *req)
{
	char url[512];
	struct json_object *answer;
	long status = 0;
	CURLcode cr;

	snprintf(url, sizeof(url), "%s%s", e->url, path);
	curl_easy_setopt(e->c, CURLOPT_URL, url);
	curl_easy_setopt(e->c, CURLOPT_COPYPOSTFIELDS,
			 json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN));
	json_object_put(req);
	e->len = 0;
	cr = curl_easy_perform(e->c);
	curl_easy_getinfo(e->c, CURLINFO_RESPONSE_CODE, &status);
	if (cr != CURLE_OK)
		die("etcd: %s", curl_easy_strerror(cr));
	answer = e->buf ? json_tokener_parse(e->buf) : NULL;
	if (status != 200 || !answer || json_object_object_get_ex(answer, "error", NULL))
		die("etcd answered: %.300s", e->buf ? e->buf : "nothing");
	return answer;
}

static int64_t get_i64(struct json_object *o, const char *name)
{
	struct json_object *f;

	return json_object_object_get_ex(o, name, &f) ? json_object_get_int64(f) : 0;
}

static int64_t answer_revision(struct json_object *answer)
{
	struct json_object *header;
	int64_t rev =
	    json_object_object_get_ex(answer, "header", &header) ? get_i64(header, "revision") : 0;

	json_object_put(answer);
	return rev;
}

static struct json_object *b64(const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);
	struct json_object *o;

	if (!s)
		die("%s", "out of memory");
	sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	o = json_object_new_string(s);
	free(s);
	return o;
}

/* The decoded base64 field @name of @o, NUL-terminated (free it). */
static char *unb64(struct json_object *o, const char *name, size_t *len)
{
	struct json_object *f;
	const char *s = json_object_object_get_ex(o, name, &f) ? json_object_get_string(f) : "";
	char *bin = malloc(strlen(s) / 4 * 3 + 4);

	if (!bin || sodium_base642bin((unsigned char *)bin, strlen(s) / 4 * 3 + 3, s, strlen(s),
				      NULL, len, NULL, sodium_base64_VARIANT_ORIGINAL))
		die("%s", "etcd sent bad base64");
	bin[*len] = '\0';
	return bin;
}

static int64_t lease_grant(struct etcd *e, int ttl_s)
{
	struct json_object *req = json_object_new_object(), *answer;
	int64_t id;

	json_object_object_add(req, "TTL", json_object_new_int64(ttl_s));
	answer = etcd_call(e, "/v3/lease/grant", req);
	id = get_i64(answer, "ID");
	json_object_put(answer);
	if (!id)
		die("%s", "etcd granted no lease");
	return id;
}

static int64_t lease_revoke(struct etcd *e, int64_t id)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "ID", json_object_new_int64(id));
	return answer_revision(etcd_call(e, "/v3/kv/lease/revoke", req));
}

static struct json_object *put_op(const char *key, const char *value, int64_t lease)
{
	struct json_object *put = json_object_new_object(), *op = json_object_new_object();

	json_object_object_add(put, "key", b64(key, strlen(key)));
	json_object_object_add(put, "value", b64(value, strlen(value)));
	json_object_object_add(put, "lease", json_object_new_int64(lease));
	json_object_object_add(op, "request_put", put);
	return op;
}

/* One transaction of the puts in @ops (consumed); returns its revision. */
static int64_t txn(struct etcd *e, struct json_object *ops)
{
	struct json_object *req = json_object_new_object();

	json_object_object_add(req, "success", ops);
	return answer_revision(etcd_call(e, "/v3/kv/txn", req));
}

/* ---------------------------------------------------------------- simulated hosts */

struct sim {
	struct tapir_mesh_host h;
	int64_t lease;
	bool is_present;
};

struct gen {
	struct etcd e;
	struct tapir_mesh_net net;
	uint8_t admin_sk[crypto_sign_SECRETKEYBYTES];
	int ttl_s;
};

static void load_net(struct gen *g, const char *name)
{
	char key[TAPIR_MESH_KEY_MAX];
	struct json_object *req = json_object_new_object(), *answer, *kvs;
	const char *why = "no config";
	char *value = NULL;
	size_t len = 0;

	snprintf(g->net.name, sizeof(g->net.name), "%s", name);
	tapir_mesh_prefix(key, name, "config");
	json_object_object_add(req, "key", b64(key, strlen(key)));
	answer = etcd_call(&g->e, "/v3/kv/range", req);
	if (json_object_object_get_ex(answer, "kvs", &kvs) && json_object_array_length(kvs) == 1)
		value = unb64(json_object_array_get_idx(kvs, 0), "value", &len);
	if (!value || tapir_mesh_net_parse(&g->net, value, len, &why) < 0)
		die("the network config: %s", why);
	free(value);
	json_object_put(answer);
}

static void read_admin_key(struct gen *g, const char *path)
{
	char text[160] = "";
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (!f || !fgets(text, sizeof(text), f))
		die("cannot read %s", path);
	fclose(f);
	text[strcspn(text, "\r\n")] = '\0';
	if (sodium_base642bin(g->admin_sk, sizeof(g->admin_sk), text, strlen(text), NULL, &len,
			      NULL, sodium_base64_VARIANT_ORIGINAL) ||
	    len != sizeof(g->admin_sk))
		die("%s is not an admin key", path);
	sodium_memzero(text, sizeof(text));
}

/* The endpoint of host @s, version @v: a TEST-NET-2 address and a port, distinct per host. */
static void sim_endpoint(struct sim *x, uint32_t s, unsigned v)
{
	snprintf(x->h.endpoint, sizeof(x->h.endpoint), "198.51.100.%u:%u", 1 + s % 250,
		 1024 + (s / 250 * 7 + v) % 60000);
}

/* A new identity for subnet @s: key pair, certificate, record fields. */
static void sim_new(struct gen *g, struct sim *x, uint32_t s)
{
	uint8_t priv[32];
	struct tapir_mesh_cert c = {
	    .subnet_addr = tapir_mesh_subnet_addr(&g->net, s),
	    .subnet_len = g->net.subnet_len,
	    .not_after = (uint64_t)time(NULL) + CERT_DAYS * 86400,
	};

	memset(x, 0, sizeof(*x));
	randombytes_buf(priv, sizeof(priv));
	crypto_scalarmult_base(x->h.public_key, priv);
	sodium_memzero(priv, sizeof(priv));
	x->h.subnet = s;
	snprintf(x->h.hostname, sizeof(x->h.hostname), "sim%u", s);
	sim_endpoint(x, s, 0);
	if (tapir_mesh_cert_sign(x->h.cert, g->admin_sk, g->net.name, x->h.public_key, &c) < 0)
		die("%s", "cannot sign a certificate");
}

static struct json_object *sim_put(struct gen *g, const struct sim *x)
{
	char key[TAPIR_MESH_KEY_MAX], *value = tapir_mesh_host_format(&g->net, &x->h);
	struct json_object *op;

	if (!value)
		die("%s", "out of memory");
	tapir_mesh_subnet_key(key, &g->net, x->h.subnet);
	op = put_op(key, value, x->lease);
	free(value);
	return op;
}

static void gen_open(struct gen *g, char **argv)
{
	if (sodium_init() < 0)
		die("%s", "libsodium");
	etcd_open(&g->e, argv[0]);
	load_net(g, argv[1]);
	read_admin_key(g, argv[2]);
}

/*
 * register ETCD NET ADMINKEY FIRST N TTL: keys, certificates and leases first, then the
 * records as fast as etcd takes them, so that an agent already running gets a burst of N.
 */
static int cmd_register(char **argv)
{
	struct gen g = {0};
	uint32_t first = (uint32_t)number(argv[3]), n = (uint32_t)number(argv[4]);
	int64_t t0, t1, t_first = 0, t_last = 0, rev = 0;
	struct json_object *ops = NULL;
	struct sim *sims;

	gen_open(&g, argv);
	g.ttl_s = (int)number(argv[5]);
	if (!n || first + n > tapir_mesh_n_subnets(&g.net))
		die("%s", "FIRST + N is beyond the network's subnets");
	sims = calloc(n, sizeof(*sims));
	if (!sims)
		die("%s", "out of memory");
	t0 = now_ns();
	for (uint32_t i = 0; i < n; i++) {
		sim_new(&g, &sims[i], first + i);
		sims[i].lease = lease_grant(&g.e, g.ttl_s);
	}
	t1 = now_ns();
	for (uint32_t i = 0; i < n; i++) {
		if (!ops)
			ops = json_object_new_array();
		json_object_array_add(ops, sim_put(&g, &sims[i]));
		/* full batches, and the last record alone */
		if (json_object_array_length(ops) == TXN_OPS || i + 2 == n || i + 1 == n) {
			t_last = now_ns();
			t_first = t_first ? t_first : t_last;
			rev = txn(&g.e, ops);
			ops = NULL;
		}
	}
	printf("first_write_ns=%" PRId64 " last_write_ns=%" PRId64 " last_revision=%" PRId64
	       " leases_seconds=%.3f writes_seconds=%.3f\n",
	       t_first, t_last, rev, (double)(t1 - t0) / NSEC, (double)(now_ns() - t1) / NSEC);
	free(sims);
	return 0;
}

/* Reads the hosts FIRST..FIRST+COUNT-1 present in the store into @sims (indexed from FIRST). */
static uint32_t read_present(struct gen *g, struct sim *sims, uint32_t first, uint32_t count)
{
	char prefix[TAPIR_MESH_KEY_MAX], end[TAPIR_MESH_KEY_MAX];
	struct json_object *req = json_object_new_object(), *answer, *kvs;
	uint32_t n = 0, s;
	const char *why;

	tapir_mesh_prefix(prefix, g->net.name, "subnets/");
	snprintf(end, sizeof(end), "%s", prefix);
	end[strlen(end) - 1]++; /* '/' + 1: every key under the prefix */
	json_object_object_add(req, "key", b64(prefix, strlen(prefix)));
	json_object_object_add(req, "range_end", b64(end, strlen(end)));
	answer = etcd_call(&g->e, "/v3/kv/range", req);
	if (!json_object_object_get_ex(answer, "kvs", &kvs))
		kvs = NULL; /* no host at all */
	for (size_t i = 0; kvs && i < json_object_array_length(kvs); i++) {
		struct json_object *kv = json_object_array_get_idx(kvs, i);
		size_t klen = 0, vlen = 0;
		char *key = unb64(kv, "key", &klen), *value = unb64(kv, "value", &vlen);
		struct sim *x;

		if (tapir_mesh_key_subnet(&g->net, key, klen, &s) == 0 && s >= first &&
		    s - first < count) {
			x = &sims[s - first];
			if (tapir_mesh_host_parse(&g->net, s, value, vlen, &x->h, &why) < 0)
				die("a record: %s", why);
			x->lease = get_i64(kv, "lease");
			x->is_present = true;
			n++;
		}
		free(key);
		free(value);
	}
	json_object_put(answer);
	return n;
}

/* A set of subnet offsets with O(1) random pick and removal. */
struct pool {
	uint32_t *items, *where, n;
};

static void pool_add(struct pool *p, uint32_t v)
{
	p->where[v] = p->n;
	p->items[p->n++] = v;
}

static uint32_t pool_take(struct pool *p)
{
	uint32_t i = randombytes_uniform(p->n), v = p->items[i];

	p->items[i] = p->items[--p->n];
	p->where[p->items[i]] = i;
	return v;
}

/* churn ETCD NET ADMINKEY FIRST N TTL RATE SECONDS WRITES */
static int cmd_churn(char **argv)
{
	struct gen g = {0};
	uint32_t first = (uint32_t)number(argv[3]), n = (uint32_t)number(argv[4]) * 2;
	long rate = number(argv[6]), seconds = number(argv[7]);
	struct pool present = {0}, absent = {0};
	int64_t t0, deadline, t_send, rev, late_ns = 0;
	uint64_t counts[3] = {0};
	const char *names[3] = {"add", "remove", "move"};
	struct sim *sims;
	FILE *out;

	gen_open(&g, argv);
	g.ttl_s = (int)number(argv[5]);
	if (!rate || !n || first + n > tapir_mesh_n_subnets(&g.net))
		die("%s", "bad RATE, or FIRST + 2N beyond the network's subnets");
	out = fopen(argv[8], "we");
	sims = calloc(n, sizeof(*sims));
	present.items = calloc(n, sizeof(uint32_t));
	present.where = calloc(n, sizeof(uint32_t));
	absent.items = calloc(n, sizeof(uint32_t));
	absent.where = calloc(n, sizeof(uint32_t));
	if (!out || !sims || !present.items || !present.where || !absent.items || !absent.where)
		die("cannot open %s", argv[8]);
	read_present(&g, sims, first, n);
	for (uint32_t i = 0; i < n; i++)
		pool_add(sims[i].is_present ? &present : &absent, i);
	t0 = now_ns();
	for (long k = 0; k < rate * seconds; k++) {
		uint32_t op = randombytes_uniform(3), i;
		struct sim *x;

		if (op == 0 && !absent.n)
			op = 2;
		if (op != 0 && !present.n)
			op = 0;
		deadline = t0 + k * (NSEC / rate);
		sleep_until(deadline);
		i = op == 0 ? pool_take(&absent) : op == 1 ? pool_take(&present) : 0;
		if (op == 2) {
			i = present.items[randombytes_uniform(present.n)];
		}
		x = &sims[i];
		if (op == 0) {
			sim_new(&g, x, first + i);
			x->lease = lease_grant(&g.e, g.ttl_s);
		} else if (op == 2) {
			sim_endpoint(x, first + i, (unsigned)k + 1);
		}
		t_send = now_ns();
		late_ns += t_send - deadline;
		if (op == 1) {
			rev = lease_revoke(&g.e, x->lease);
			pool_add(&absent, i);
		} else {
			struct json_object *ops = json_object_new_array();

			json_object_array_add(ops, sim_put(&g, x));
			rev = txn(&g.e, ops);
			if (op == 0)
				pool_add(&present, i);
		}
		counts[op]++;
		fprintf(out, "%" PRId64 " %" PRId64 " %" PRId64 " %s\n", rev, t_send, now_ns(),
			names[op]);
	}
	fclose(out);
	printf("changes=%ld adds=%" PRIu64 " removes=%" PRIu64 " moves=%" PRIu64
	       " present=%u seconds=%.3f mean_late_ms=%.3f\n",
	       rate * seconds, counts[0], counts[1], counts[2], present.n,
	       (double)(now_ns() - t0) / NSEC, (double)late_ns / 1e6 / (double)(rate * seconds));
	return 0;
}

/* ---------------------------------------------------------------- waiting and latency */

/*
 * The time of the first line of @path with a revision >= @rev that is also at least the
 * @sets-th "set" line, or 0 if none yet; *off and *n_sets carry the reading on.
 */
static int64_t trace_reached(const char *path, long *off, long *n_sets, int64_t rev, long sets)
{
	FILE *f = fopen(path, "re");
	long long r, ns;
	char what[32];
	int64_t found = 0;

	if (!f)
		return 0;
	fseek(f, *off, SEEK_SET);
	while (!found && fscanf(f, "%lld %lld %31s\n", &r, &ns, what) == 3) {
		*off = ftell(f);
		*n_sets += !strcmp(what, "set");
		if (r >= rev && *n_sets >= sets)
			found = ns;
	}
	fclose(f);
	return found;
}

static long count_peers(const char *ifname)
{
	char *reply = NULL;
	size_t len = 0;
	long n = 0;

	if (tapir_uapi_get(ifname, false, &reply, &len) < 0)
		return -1;
	for (char *p = reply; (p = strstr(p, "public_key=")); p++)
		n++;
	free(reply);
	return n;
}

/* wait IFNAME COUNT TIMEOUT_S [TRACE REVISION SETS] */
static int cmd_wait(int argc, char **argv)
{
	long want = number(argv[1]), peers = -1, off = 0, n_sets = 0;
	int64_t end = now_ns() + number(argv[2]) * (int64_t)NSEC, t_trace = 0;

	while (argc > 5 && !(t_trace = trace_reached(argv[3], &off, &n_sets, number(argv[4]),
						     number(argv[5])))) {
		if (now_ns() > end)
			die("the trace never reached revision %s with %s sets", argv[4], argv[5]);
		sleep_until(now_ns() + POLL_TRACE_MS * 1000000LL);
	}
	while ((peers = count_peers(argv[0])) != want) {
		if (now_ns() > end) {
			fprintf(stderr, "mesh_load: %s has %ld peers, not %ld\n", argv[0], peers,
				want);
			return 1;
		}
		sleep_until(now_ns() + POLL_UAPI_MS * 1000000LL);
	}
	printf("trace_ns=%" PRId64 " uapi_ns=%" PRId64 " peers=%ld\n", t_trace, now_ns(), peers);
	return 0;
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

struct write {
	long long rev, send, ack;
	char op[8];
};

/* Prints ", "NAME": {"n": .., "p50_ms": .., "p99_ms": .., "max_ms": ..}" of @lat (sorted). */
static void print_stats(const char *name, int64_t *lat, size_t n)
{
	qsort(lat, n, sizeof(*lat), cmp_i64);
	if (!n) {
		printf(", \"%s\": null", name);
		return;
	}
	printf(", \"%s\": {\"n\": %zu, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"max_ms\": %.3f, \"min_ms\": %.3f}",
	       name, n, (double)lat[n / 2] / 1e6, (double)lat[n * 9 / 10] / 1e6,
	       (double)lat[n * 99 / 100] / 1e6, (double)lat[n - 1] / 1e6, (double)lat[0] / 1e6);
}

/*
 * latency WRITES TRACE: for each write whose revision the trace shows applied, the time from
 * the write being sent to the agent's set returning; all changes and each kind apart.
 */
static int cmd_latency(char **argv)
{
	static const char *const ops[] = {"add", "remove", "move"};
	FILE *w = fopen(argv[0], "re"), *t = fopen(argv[1], "re");
	long long rev, ns, max_rev = 0;
	struct write *ws = NULL, one;
	int64_t *applied, *lat, *by_op, ack_sum = 0;
	size_t n_w = 0, n = 0, n_op;
	char what[32];

	if (!w || !t)
		die("cannot open %s or the trace", argv[0]);
	while (fscanf(w, "%lld %lld %lld %7s\n", &one.rev, &one.send, &one.ack, one.op) == 4) {
		struct write *p = realloc(ws, (n_w + 1) * sizeof(*p));

		if (!p || one.rev < 0)
			die("%s", "out of memory, or a bad line");
		ws = p;
		ws[n_w++] = one;
		max_rev = one.rev > max_rev ? one.rev : max_rev;
	}
	applied = calloc((size_t)max_rev + 1, sizeof(*applied));
	lat = calloc(n_w + 1, sizeof(*lat));
	by_op = calloc(n_w + 1, sizeof(*by_op));
	if (!applied || !lat || !by_op || !n_w)
		die("%s", "no writes, or out of memory");
	/* the first line of each revision that changed tapird */
	while (fscanf(t, "%lld %lld %31s\n", &rev, &ns, what) == 3) {
		if (rev >= 0 && rev <= max_rev && !applied[rev] &&
		    (!strcmp(what, "set") || !strcmp(what, "removed")))
			applied[rev] = ns;
	}
	for (size_t i = 0; i < n_w; i++) {
		ack_sum += ws[i].ack - ws[i].send;
		if (applied[ws[i].rev])
			lat[n++] = applied[ws[i].rev] - ws[i].send;
	}
	if (!n)
		die("%s", "no write was applied");
	printf("{\"changes\": %zu, \"missing\": %zu, \"etcd_write_mean_ms\": %.3f", n_w, n_w - n,
	       (double)ack_sum / 1e6 / (double)n_w);
	print_stats("all", lat, n);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		n_op = 0;
		for (size_t i = 0; i < n_w; i++) {
			if (!strcmp(ws[i].op, ops[k]) && applied[ws[i].rev])
				by_op[n_op++] = applied[ws[i].rev] - ws[i].send;
		}
		print_stats(ops[k], by_op, n_op);
	}
	printf("}\n");
	free(by_op);
	free(lat);
	free(applied);
	free(ws);
	fclose(w);
	fclose(t);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "now")) {
		printf("%" PRId64 "\n", now_ns());
		return 0;
	}
	if (argc == 8 && !strcmp(argv[1], "register"))
		return cmd_register(argv + 2);
	if (argc == 11 && !strcmp(argv[1], "churn"))
		return cmd_churn(argv + 2);
	if ((argc == 5 || argc == 8) && !strcmp(argv[1], "wait"))
		return cmd_wait(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "latency"))
		return cmd_latency(argv + 2);
	fprintf(stderr, "usage: see the comment at the top of bench/mesh_load.c\n");
	return 2;
}
