// SPDX-License-Identifier: MIT
/*
 * tapir mesh: turning host records into tapird peers (doc/mesh-design.md section 6). Each watch
 * event changes at most one peer through one UAPI set; a resync (start, lost watch, compaction)
 * diffs the whole store against tapird's peers and changes only what differs.
 *
 * Peers whose allowed IPs lie outside the overlay CIDR are the administrator's: never touched.
 * In tap mode peers have no allowed IPs (tapird switches frames by the MACs it learns from each
 * peer, and floods broadcasts to all of them), so the interface is the mesh's: every peer on
 * it is a mesh peer, and one the store does not want is removed, as it would be a port of the
 * network's segment that no record (or certificate) vouches for.
 * A bad record is ignored with one log line and counted, and changes nothing: if its subnet
 * held a peer, that peer keeps its last valid record (its owner's agent writes the record
 * back; a delete still removes the peer). The watch and the resync cover the whole network
 * prefix: revocations under revoked/ and the revocation list go to mesh_revoke.c, and a record
 * whose key is revoked is refused and its peer removed, like one whose certificate expired.
 * While the agent is held (no revocation list as new as its certificate's serial verified),
 * no record of another host is applied and a resync removes the mesh peers: fail closed.
 */
#include "mesh_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoding.h"
#include "uapi_client.h"

__attribute__((format(printf, 2, 3))) void tapir_mesh_say(const struct tapir_mesh_agent *a,
							  const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapir mesh: %s: ", a->net->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints @key for a log line: only printable bytes, at most 100. */
static void key_text(char out[128], const char *key, size_t len)
{
	size_t n = len < 100 ? len : 100;

	for (size_t i = 0; i < n; i++)
		out[i] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
	out[n] = '\0';
}

static void ignore(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv, const char *why)
{
	char text[128];

	key_text(text, kv->key, kv->key_len);
	a->n_ignored++;
	tapir_mesh_say(a, "ignored record %s: %s (%llu ignored so far)", text, why,
		       (unsigned long long)a->n_ignored);
}

static void append_remove(FILE *f, const uint8_t key[32])
{
	char hex[TAPIR_KEY_HEX_LEN + 1];

	tapir_key_to_hex(hex, key);
	fprintf(f, "public_key=%s\nremove=true\n", hex);
}

static void append_peer(FILE *f, const struct tapir_mesh_agent *a, const struct tapir_mesh_host *h)
{
	char hex[TAPIR_KEY_HEX_LEN + 1], subnet[TAPIR_MESH_CIDR_TEXT];

	tapir_key_to_hex(hex, h->public_key);
	tapir_mesh_subnet_text(subnet, a->net, h->subnet);
	fprintf(f, "public_key=%s\nendpoint=%s\n", hex, h->endpoint);
	/* tap: no allowed IPs (tapird refuses them); frames go by learned MAC */
	if (!a->net->is_tap)
		fprintf(f, "replace_allowed_ips=true\nallowed_ip=%s\n", subnet);
	fprintf(f, "persistent_keepalive_interval=%u\n", a->net->keepalive_s);
}

static int send_set(struct tapir_mesh_agent *a, char *body, size_t len)
{
	int r = len ? tapir_uapi_set(a->opts->ifname, body, len) : 0;

	/* no daemon on the socket: mesh.c's loop sets tapird up again once one answers */
	if (tapir_mesh_is_tapird_gone(r))
		a->needs_setup = true;
	if (r < 0 && !a->is_tapird_down)
		tapir_mesh_say(a, "cannot configure %s: %s", a->opts->ifname, strerror(-r));
	free(body);
	return r;
}

static bool slot_equal(const struct tapir_mesh_slot *s, const struct tapir_mesh_host *h)
{
	return s->is_present && !memcmp(s->public_key, h->public_key, 32) &&
	       !strcmp(s->endpoint, h->endpoint);
}

static void slot_set(struct tapir_mesh_slot *s, const struct tapir_mesh_host *h)
{
	s->is_present = true;
	memcpy(s->public_key, h->public_key, 32);
	memcpy(s->endpoint, h->endpoint, sizeof(s->endpoint));
	s->not_after = h->not_after;
}

/* Brings the expiry timer forward to @not_after (0: the peer's certificate never expires). */
static void note_expiry(struct tapir_mesh_agent *a, uint64_t not_after)
{
	if (not_after && (!a->next_expiry || not_after < a->next_expiry))
		a->next_expiry = not_after;
}

/* The earliest expiry among the present peers: O(subnets), after a resync or the timer. */
static void find_next_expiry(struct tapir_mesh_agent *a)
{
	uint32_t n = tapir_mesh_n_subnets(a->net);

	a->next_expiry = 0;
	for (uint32_t s = 0; s < n; s++) {
		if (a->slots[s].is_present)
			note_expiry(a, a->slots[s].not_after);
	}
}

/*
 * Makes subnet @h->subnet's peer @h (NULL: no peer), with one UAPI set. Returns what it did,
 * for --trace-apply: "set", "removed", "same" (nothing to do) or "failed".
 */
static const char *apply_one(struct tapir_mesh_agent *a, uint32_t subnet,
			     const struct tapir_mesh_host *h)
{
	struct tapir_mesh_slot *s = &a->slots[subnet];
	char subnet_text[TAPIR_MESH_CIDR_TEXT], *body = NULL;
	size_t len = 0;
	FILE *f;

	if (h && slot_equal(s, h)) {
		/* the same peer, maybe with a renewed certificate: only the expiry moves */
		s->not_after = h->not_after;
		note_expiry(a, h->not_after);
		return "same";
	}
	if (!h && !s->is_present)
		return "same";
	f = open_memstream(&body, &len);
	if (!f)
		return "failed";
	if (s->is_present && (!h || memcmp(s->public_key, h->public_key, 32)))
		append_remove(f, s->public_key);
	if (h)
		append_peer(f, a, h);
	fclose(f);
	tapir_mesh_subnet_text(subnet_text, a->net, subnet);
	if (send_set(a, body, len) < 0)
		return "failed"; /* the slot keeps what tapird has; the next resync retries */
	a->n_applied++;
	if (h) {
		slot_set(s, h);
		note_expiry(a, h->not_after);
		tapir_mesh_say(a, "peer %s (%s%s%s) set", subnet_text, h->endpoint,
			       h->hostname[0] ? ", " : "", h->hostname);
		return "set";
	}
	s->is_present = false;
	tapir_mesh_say(a, "peer %s removed", subnet_text);
	return "removed";
}

/*
 * --trace-apply (bench/mesh-scale.sh): "REVISION MONOTONIC_NS WHAT" once the event's UAPI set
 * has returned, so a writer on the same host can time each change from etcd to tapird.
 */
static void trace(const struct tapir_mesh_agent *a, int64_t revision, const char *what)
{
	struct timespec ts;

	if (!a->opts->trace_apply)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fprintf(a->opts->trace_apply, "%lld %lld %s\n", (long long)revision,
		(long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, what);
	fflush(a->opts->trace_apply);
}

/*
 * Validates one stored pair. Returns 1 and fills @h for a valid record of another host, 0 for
 * our own subnet (valid or not), -EINVAL for a key that names no subnet, -EBADMSG for an
 * ignored record under a valid subnet key (*subnet set), -EKEYEXPIRED for a record whose
 * certificate expired and -EKEYREVOKED for one whose key the admin revoked (*subnet and @h
 * set); each logged and counted. -EAGAIN while the agent is held (*subnet set; not counted
 * here: the caller holds the record).
 */
static int check_kv(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv, uint32_t *subnet,
		    struct tapir_mesh_host *h)
{
	struct tapir_mesh_cert c;
	const char *why;
	int r;

	if (tapir_mesh_key_subnet(a->net, kv->key, kv->key_len, subnet) < 0) {
		ignore(a, kv, "the key is not a subnet of the network");
		return -EINVAL;
	}
	if (*subnet == a->self.subnet)
		return 0;
	if (tapir_mesh_is_held(a))
		return -EAGAIN;
	if (tapir_mesh_host_parse(a->net, *subnet, kv->value, kv->value_len, h, &why) < 0) {
		ignore(a, kv, why);
		return -EBADMSG;
	}
	if (!memcmp(h->public_key, a->self.public_key, 32)) {
		/* the first resync, before acquire(): our record from before a restart */
		if (!a->has_synced)
			return 0;
		ignore(a, kv, "it carries this host's public key");
		return -EBADMSG;
	}
	r = a->opts->admin_key
		? tapir_mesh_cert_verify(h->cert, a->opts->admin_key, a->net->name, h->public_key,
					 tapir_mesh_subnet_addr(a->net, *subnet),
					 a->net->subnet_len, (uint64_t)time(NULL), &why)
		: 0;
	if (r < 0) {
		ignore(a, kv, why);
		return r == -EKEYEXPIRED ? r : -EBADMSG; /* an expired host goes */
	}
	/* only a record that verified can be the revoked host's: a forgery stays -EBADMSG */
	if (tapir_mesh_is_revoked(a, h->public_key)) {
		ignore(a, kv, "its public key is revoked");
		return -EKEYREVOKED; /* a revoked host goes */
	}
	/* verified, so it decodes: its expiry arms the timer (tapir_mesh_expire) */
	if (a->opts->admin_key && tapir_mesh_cert_decode(h->cert, &c, NULL) == 0)
		h->not_after = c.not_after;
	return 1;
}

/* Our own record changed or went: put it back while we hold the lease. */
static void restore_self(struct tapir_mesh_agent *a, bool is_delete, const struct tapir_etcd_kv *kv)
{
	struct tapir_mesh_host h;
	const char *why;

	if (!is_delete &&
	    tapir_mesh_host_parse(a->net, a->self.subnet, kv->value, kv->value_len, &h, &why) ==
		0 &&
	    !memcmp(h.public_key, a->self.public_key, 32) && !strcmp(h.endpoint, a->self.endpoint))
		return;
	tapir_mesh_say(a, "own record %s, writing it again", is_delete ? "deleted" : "changed");
	a->needs_rewrite = true;
}

/* Whether @kv's key starts with @prefix (a NUL-terminated prefix of the network). */
static bool is_under(const struct tapir_etcd_kv *kv, const char *prefix)
{
	size_t len = strlen(prefix);

	return kv->key_len >= len && !memcmp(kv->key, prefix, len);
}

/* Whether @kv's key is exactly @key (an etcd key may hold a NUL). */
static bool is_key(const struct tapir_etcd_kv *kv, const char *key)
{
	return kv->key_len == strlen(key) && !memcmp(kv->key, key, kv->key_len);
}

void tapir_mesh_on_event(void *ctx, bool is_delete, const struct tapir_etcd_kv *kv)
{
	struct tapir_mesh_agent *a = ctx;
	struct tapir_mesh_host h;
	const char *what = "ignored";
	uint32_t subnet;
	int r;

	/* the watch covers the network: subnets/ and revoked/; the config needs a restart */
	if (!is_under(kv, a->prefix)) {
		if (is_under(kv, a->revoked_prefix))
			trace(a, kv->mod_revision, tapir_mesh_on_revocation(a, is_delete, kv));
		else if (is_key(kv, a->revlist_key))
			trace(a, kv->mod_revision, tapir_mesh_on_revlist(a, is_delete, kv));
		return;
	}
	if (is_delete) {
		if (tapir_mesh_key_subnet(a->net, kv->key, kv->key_len, &subnet) < 0) {
			what = "ignored";
		} else if (subnet == a->self.subnet) {
			restore_self(a, true, kv);
			what = "self";
		} else {
			what = apply_one(a, subnet, NULL);
		}
		trace(a, kv->mod_revision, what);
		return;
	}
	/* an ignored write changes nothing: a peer keeps its last valid record */
	r = check_kv(a, kv, &subnet, &h);
	if (r == 0)
		restore_self(a, false, kv);
	else if (r > 0)
		what = apply_one(a, subnet, &h);
	else if (r == -EKEYEXPIRED)
		what = apply_one(a, subnet, NULL);
	else if (r == -EKEYREVOKED)
		what = tapir_mesh_drop_key(a, h.public_key);
	else if (r == -EAGAIN) {
		tapir_mesh_hold(a, kv, false);
		what = "held";
	}
	trace(a, kv->mod_revision, r == 0 ? "self" : what);
}

/* ---------------------------------------------------------------- resync */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* tapird's peers: their keys, and whether an allowed IP lies inside the CIDR (tap: all are). */
struct live_peer {
	uint8_t key[32];
	bool is_mesh;
};

static bool in_cidr(const struct tapir_mesh_net *net, const char *text)
{
	char addr[INET_ADDRSTRLEN];
	size_t len = strcspn(text, "/");
	struct in_addr in;

	if (len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, &in) != 1)
		return false;
	return ((ntohl(in.s_addr) ^ net->cidr_addr) >> (32 - net->cidr_len)) == 0;
}

static int live_peers(struct tapir_mesh_agent *a, struct live_peer **out, size_t *n_out)
{
	char *reply = NULL, *line, *save = NULL;
	struct live_peer *peers = NULL, *p;
	size_t len = 0, n = 0;
	int r = tapir_uapi_get(a->opts->ifname, false, &reply, &len);

	if (r < 0)
		return r;
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "public_key=", 11)) {
			p = realloc(peers, (n + 1) * sizeof(*peers));
			if (!p) {
				r = -ENOMEM;
				break;
			}
			peers = p;
			memset(&peers[n], 0, sizeof(peers[n]));
			peers[n].is_mesh = a->net->is_tap; /* a tap interface is the mesh's */
			if (tapir_key_from_hex(peers[n].key, line + 11, strlen(line + 11)) == 0)
				n++;
		} else if (n && !strncmp(line, "allowed_ip=", 11) && in_cidr(a->net, line + 11)) {
			peers[n - 1].is_mesh = true;
		}
	}
	if (reply)
		explicit_bzero(reply, len); /* holds the private key */
	free(reply);
	if (r < 0) {
		free(peers);
		return r;
	}
	*out = peers;
	*n_out = n;
	return 0;
}

static int cmp_key(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

/* @keys sorted by cmp_key; each element starts with its 32-byte key. */
static bool has_key(const void *keys, size_t n, size_t size, const uint8_t key[32])
{
	return n && bsearch(key, keys, n, size, cmp_key);
}

/* Reads every record into @want; returns the store's revision in *rev_out. */
static int read_store(struct tapir_mesh_agent *a, struct tapir_mesh_slot *want,
		      struct tapir_mesh_host *hosts, int64_t *rev_out)
{
	struct tapir_etcd_kv *kvs = NULL;
	struct tapir_mesh_host h;
	size_t n = 0, n_held = 0;
	uint32_t subnet;
	int r = tapir_etcd_range(a->e, a->net_prefix, true, &kvs, &n, rev_out);

	if (r < 0)
		return r;
	/* revocations first, so that no revoked host's record becomes a peer */
	for (size_t i = 0; i < n; i++) {
		if (is_under(&kvs[i], a->revoked_prefix))
			tapir_mesh_on_revocation(a, false, &kvs[i]);
		else if (is_key(&kvs[i], a->revlist_key))
			tapir_mesh_on_revlist(a, false, &kvs[i]);
	}
	/* the list in the store may have lifted the hold: this resync reads the records */
	a->needs_resync = false;
	for (size_t i = 0; i < n; i++) {
		if (!is_under(&kvs[i], a->prefix))
			continue; /* the config, revocations */
		r = check_kv(a, &kvs[i], &subnet, &h);
		if (r == 0 && a->has_synced)
			restore_self(a, false, &kvs[i]);
		if (r == -EAGAIN) {
			tapir_mesh_hold(a, &kvs[i], true);
			n_held++;
			continue; /* and its peer, if any, goes: fail closed */
		}
		if (r == -EBADMSG && a->slots[subnet].is_present) {
			/* an ignored record keeps the peer it replaced, as in the watch */
			memset(&h, 0, sizeof(h));
			memcpy(h.public_key, a->slots[subnet].public_key, 32);
			memcpy(h.endpoint, a->slots[subnet].endpoint, sizeof(h.endpoint));
			h.not_after = a->slots[subnet].not_after;
			h.subnet = subnet;
			r = 1;
		}
		if (r <= 0)
			continue;
		slot_set(&want[subnet], &h);
		hosts[subnet] = h;
	}
	tapir_etcd_kvs_free(kvs, n);
	if (n_held)
		tapir_mesh_say(a,
			       "held %zu records: no revocation list with serial >= %llu verified "
			       "(newest %llu; deleted or rolled back in etcd?)",
			       n_held, (unsigned long long)a->revlist_need,
			       (unsigned long long)a->revlist_serial);
	tapir_mesh_trust_write(a);
	return 0;
}

int tapir_mesh_resync(struct tapir_mesh_agent *a, int64_t *rev_out)
{
	uint32_t n_subnets = tapir_mesh_n_subnets(a->net);
	struct tapir_mesh_slot *want = calloc(n_subnets, sizeof(*want));
	struct tapir_mesh_host *hosts = calloc(n_subnets, sizeof(*hosts));
	struct live_peer *peers = NULL, *keys = calloc(n_subnets, sizeof(*keys));
	size_t n_peers = 0, len = 0, n_changed = 0, n_keys = 0;
	char *body = NULL;
	FILE *f = NULL;
	int64_t t[4] = {now_ms()};
	int r = want && hosts && keys ? 0 : -ENOMEM;

	if (r == 0)
		r = read_store(a, want, hosts, rev_out);
	t[1] = now_ms();
	if (r == 0)
		r = live_peers(a, &peers, &n_peers);
	if (tapir_mesh_is_tapird_gone(r))
		a->needs_setup = true;
	t[2] = now_ms();
	if (r == 0 && !(f = open_memstream(&body, &len)))
		r = -ENOMEM;
	if (r < 0)
		goto out;
	/* mesh peers in tapird that the store does not want; sorted keys make it n log n */
	for (uint32_t s = 0; s < n_subnets; s++) {
		if (want[s].is_present)
			memcpy(keys[n_keys++].key, want[s].public_key, 32);
	}
	if (n_keys)
		qsort(keys, n_keys, sizeof(*keys), cmp_key);
	if (n_peers)
		qsort(peers, n_peers, sizeof(*peers), cmp_key);
	for (size_t i = 0; i < n_peers; i++) {
		if (peers[i].is_mesh && !has_key(keys, n_keys, sizeof(*keys), peers[i].key)) {
			append_remove(f, peers[i].key);
			n_changed++;
		}
	}
	for (uint32_t s = 0; s < n_subnets; s++) {
		bool is_live;

		if (!want[s].is_present)
			continue;
		is_live = has_key(peers, n_peers, sizeof(*peers), hosts[s].public_key);
		if (is_live && slot_equal(&a->slots[s], &hosts[s]))
			continue;
		/*
		 * A peer left over from before this agent joined may hold a session the other
		 * host dropped with our old record: tapird would send into it for up to 15 s.
		 * Removing it first makes the next packet start a fresh handshake.
		 */
		if (is_live && !a->has_synced)
			append_remove(f, hosts[s].public_key);
		append_peer(f, a, &hosts[s]);
		n_changed++;
	}
	fclose(f);
	f = NULL;
	r = send_set(a, body, len);
	body = NULL;
	t[3] = now_ms();
	if (r == 0) {
		tapir_mesh_say(a,
			       "%s at revision %lld: %zu peer changes (store %lld ms, "
			       "tapird's peers %lld ms, set %lld ms)",
			       a->has_synced ? "resynced" : "learned the peers before joining",
			       (long long)*rev_out, n_changed, (long long)(t[1] - t[0]),
			       (long long)(t[2] - t[1]), (long long)(t[3] - t[2]));
		a->has_synced = true;
		memcpy(a->slots, want, n_subnets * sizeof(*want));
		find_next_expiry(a);
		trace(a, *rev_out, "resync");
	}
out:
	if (f)
		fclose(f);
	free(body);
	free(peers);
	free(keys);
	free(hosts);
	free(want);
	/* the store's answer (megabytes at 10,000 hosts) went back to malloc: give it back */
	malloc_trim(0);
	return r;
}

int tapir_mesh_reapply(struct tapir_mesh_agent *a)
{
	uint32_t n_subnets = tapir_mesh_n_subnets(a->net);
	struct tapir_mesh_host h;
	size_t len = 0, n = 0;
	char *body = NULL;
	FILE *f = open_memstream(&body, &len);
	int r;

	if (!f)
		return -ENOMEM;
	for (uint32_t s = 0; s < n_subnets; s++) {
		if (!a->slots[s].is_present)
			continue;
		memset(&h, 0, sizeof(h));
		memcpy(h.public_key, a->slots[s].public_key, 32);
		memcpy(h.endpoint, a->slots[s].endpoint, sizeof(h.endpoint));
		h.subnet = s;
		append_peer(f, a, &h);
		n++;
	}
	fclose(f);
	r = send_set(a, body, len);
	if (r == 0)
		tapir_mesh_say(a, "etcd unreachable: set the %zu peers known before back on %s", n,
			       a->opts->ifname);
	return r;
}

void tapir_mesh_expire(struct tapir_mesh_agent *a, uint64_t now)
{
	uint32_t n = tapir_mesh_n_subnets(a->net);
	char subnet[TAPIR_MESH_CIDR_TEXT];

	for (uint32_t s = 0; s < n; s++) {
		const struct tapir_mesh_slot *slot = &a->slots[s];

		/* expired as tapir_mesh_cert_verify() sees it: not_after < now */
		if (!slot->is_present || !slot->not_after || slot->not_after >= now)
			continue;
		tapir_mesh_subnet_text(subnet, a->net, s);
		tapir_mesh_say(a, "peer %s: its certificate expired at %llu, record unchanged",
			       subnet, (unsigned long long)slot->not_after);
		apply_one(a, s, NULL);
		if (slot->is_present)
			continue; /* tapird did not answer: the timer fires again */
		a->n_ignored++;
		tapir_mesh_say(a, "ignored record of %s: the certificate has expired (%llu so far)",
			       subnet, (unsigned long long)a->n_ignored);
	}
	find_next_expiry(a);
}

const char *tapir_mesh_drop_key(struct tapir_mesh_agent *a, const uint8_t key[32])
{
	uint32_t n = tapir_mesh_n_subnets(a->net);
	const char *what = "same";

	for (uint32_t s = 0; s < n; s++) {
		if (a->slots[s].is_present && !memcmp(a->slots[s].public_key, key, 32))
			what = apply_one(a, s, NULL);
	}
	return what;
}
