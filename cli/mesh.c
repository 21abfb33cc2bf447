// SPDX-License-Identifier: MIT
/*
 * tapir mesh join: the agent (doc/mesh-design.md sections 4 and 5). It prepares the local
 * tapird (key, port), adds the network's hosts as peers, takes a subnet with an etcd lease (a
 * transaction that creates the key only if absent), writes this host's record, puts the
 * subnet's first address and one route for the overlay on the interface, then follows the
 * store: a watch whose events mesh_apply.c turns into single-peer UAPI sets, a resync whenever
 * the watch is lost, and a lease keepalive every third of the TTL. It also watches tapird: a
 * daemon restarted (a new UAPI socket) or gone (a call finds nobody) is set up again within a
 * second or two of answering, the lease kept meanwhile. Under a service manager it sends
 * READY=1 after the first resync and STOPPING=1 on the way out. SIGTERM or SIGINT revokes the
 * lease, so every other host drops this one at once, and keeps the state file, so a restart
 * asks for the same subnet.
 *
 * The private key never leaves tapird and this process: the agent keeps it in locked memory,
 * wiped on exit, only to give it back to a tapird restarted without it; it is never written
 * to etcd, a file or a log.
 */
#include "mesh_agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "crypto.h"
#include "encoding.h"
#include "netlink.h"
#include "notify.h"
#include "uapi_client.h"

enum {
	POLL_MS = 250,
	TAPIRD_CHECK_MS = 1000, /* how often the UAPI socket's identity is compared */
	RETRY_MIN_MS = 250, /* etcd unreachable: retry after this, doubling up to RETRY_MAX_MS */
	RETRY_MAX_MS = 5000,
	RT_TABLE_MAIN_ID = 254,
};

int tapir_mesh_read(struct tapir_etcd *e, const char *key, bool is_prefix,
		    struct tapir_etcd_kv **kvs, size_t *n)
{
	int r = tapir_etcd_range(e, key, is_prefix, kvs, n, NULL);

	if (r < 0)
		fprintf(stderr, "tapir mesh: cannot read %s: %s\n", key, strerror(-r));
	return r;
}

int tapir_mesh_load_net(struct tapir_etcd *e, const char *name, struct tapir_mesh_net *net)
{
	char key[TAPIR_MESH_KEY_MAX];
	struct tapir_etcd_kv *kvs = NULL;
	const char *why = "";
	size_t n = 0;
	int r;

	memset(net, 0, sizeof(*net));
	snprintf(net->name, sizeof(net->name), "%s", name);
	tapir_mesh_prefix(key, name, "config");
	r = tapir_mesh_read(e, key, false, &kvs, &n);
	if (r < 0)
		return r;
	if (n != 1) {
		fprintf(stderr, "tapir mesh: no network `%s' (run tapir mesh init first)\n", name);
		r = -ENOENT;
	} else if (tapir_mesh_net_parse(net, kvs[0].value, kvs[0].value_len, &why) < 0) {
		fprintf(stderr, "tapir mesh: %s: %s\n", key, why);
		r = -EINVAL;
	}
	tapir_etcd_kvs_free(kvs, n);
	return r;
}

/* ---------------------------------------------------------------- the local tapird */

/*
 * The daemon's mode must be the network's: a tun tapird cannot carry frames, and a tap one
 * refuses allowed IPs. get=tapir names it (tapir_mode); a daemon that does not answer get=tapir
 * (wireguard-go, kernel WireGuard through a socket) is a tun one.
 */
static int check_mode(const struct tapir_mesh_agent *a, const char *daemon_mode)
{
	const char *want = tapir_mesh_mode_name(a->net);

	if (!strcmp(daemon_mode, want))
		return 0;
	fprintf(stderr,
		"tapir mesh: %s is a %s network, but the daemon on %s runs in %s mode%s; start "
		"it with tapird --mode %s\n",
		a->net->name, want, a->opts->ifname, daemon_mode,
		a->net->is_tap && !strcmp(daemon_mode, "tun") ? " (or is not tapird)" : "", want);
	return -EPROTOTYPE;
}

/*
 * Reads tapird's mode, private key and port; refuses a daemon in the wrong mode, gives it our
 * port if it listens elsewhere, and in tap mode turns forwarding off: every host is a peer of
 * every other, so a relayed broadcast would come back around (each hub relays the others'
 * copies) without end. The first time, a daemon without a key gets a new one; the key is kept
 * from then on, and a restarted tapird that comes back without it (or with another) gets it
 * back: our record, and a certificate, bind its public key. What is already right is not set
 * again, so a restarted agent does not disturb a running tapird. @is_quiet: no line when no
 * daemon answers (the loop logs that once).
 */
static int prepare_tapird(struct tapir_mesh_agent *a, bool is_quiet)
{
	uint8_t priv[32] = {0};
	char hex[TAPIR_KEY_HEX_LEN + 1], *reply = NULL, *body = NULL, mode[8] = "tun";
	bool has_key = false, is_forwarding = false, is_key_wrong;
	unsigned long old_port = 0;
	size_t len = 0;
	FILE *f;
	int r = tapir_uapi_get(a->opts->ifname, true, &reply, &len);

	if (r < 0) {
		if (!is_quiet)
			fprintf(stderr, "tapir mesh: no tapird answers on %s: %s\n",
				a->opts->ifname, strerror(-r));
		return r;
	}
	for (char *p = reply; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "private_key=", 12))
			has_key = tapir_key_from_hex(priv, p + 12, strcspn(p + 12, "\n")) == 0;
		else if (!strncmp(p, "listen_port=", 12))
			old_port = strtoul(p + 12, NULL, 10);
		else if (!strncmp(p, "tapir_mode=", 11))
			snprintf(mode, sizeof(mode), "%.*s", (int)strcspn(p + 11, "\n"), p + 11);
		else if (!strncmp(p, "tapir_forward=true\n", 19))
			is_forwarding = true;
	}
	explicit_bzero(reply, len);
	free(reply);
	has_key = has_key && !tapir_is_zero_ct(priv, 32);
	r = check_mode(a, mode);
	if (r < 0) {
		tapir_wipe(priv, sizeof(priv));
		return r;
	}
	if (!a->has_private_key && has_key)
		memcpy(a->private_key, priv, 32);
	else if (!a->has_private_key)
		tapir_x25519_generate(a->private_key);
	is_key_wrong = !has_key || sodium_memcmp(priv, a->private_key, 32) != 0;
	if (a->has_private_key && has_key && is_key_wrong)
		tapir_mesh_say(a,
			       "tapird on %s has another key than the one this host joined with: "
			       "setting that one back (the host's record binds its public key)",
			       a->opts->ifname);
	a->has_private_key = true;
	tapir_wipe(priv, sizeof(priv));
	len = 0;
	f = open_memstream(&body, &len);
	if (f && is_key_wrong) {
		tapir_key_to_hex(hex, a->private_key);
		fprintf(f, "private_key=%s\n", hex);
		explicit_bzero(hex, sizeof(hex));
	}
	if (f && old_port != a->port)
		fprintf(f, "listen_port=%u\n", a->port);
	if (f && a->net->is_tap && is_forwarding) {
		tapir_mesh_say(a,
			       "%s forwards frames between peers: turning that off (a full mesh "
			       "needs no hub, and relays would loop broadcasts)",
			       a->opts->ifname);
		fprintf(f, "tapir_forward=false\n");
	}
	if (f)
		fclose(f);
	r = body ? (len ? tapir_uapi_set(a->opts->ifname, body, len) : 0) : -ENOMEM;
	if (body)
		explicit_bzero(body, len);
	free(body);
	tapir_x25519_public(a->self.public_key, a->private_key);
	if (r < 0)
		fprintf(stderr, "tapir mesh: cannot set the key and port of %s: %s\n",
			a->opts->ifname, strerror(-r));
	return r;
}

/* --endpoint ADDR[:PORT], else our address towards etcd; the port is tapird's. */
static int pick_endpoint(struct tapir_mesh_agent *a, uint16_t port)
{
	const char *given = a->opts->endpoint, *local = tapir_etcd_local_ip(a->e);
	char *s = a->self.endpoint;
	size_t max = sizeof(a->self.endpoint);

	if (given && tapir_mesh_endpoint_is_valid(given))
		snprintf(s, max, "%s", given);
	else if (given && strchr(given, ':'))
		snprintf(s, max, "[%s]:%u", given, port);
	else if (given)
		snprintf(s, max, "%s:%u", given, port);
	else if (strchr(local, ':'))
		snprintf(s, max, "[%s]:%u", local, port);
	else
		snprintf(s, max, "%s:%u", local, port);
	if (!tapir_mesh_endpoint_is_valid(s)) {
		fprintf(stderr, "tapir mesh: `%s' is not a usable endpoint\n", s);
		return -EINVAL;
	}
	return 0;
}

/*
 * tap: a host's containers (the CNI bridge on its subnet, README "Many hosts") sit behind the
 * host, not on the segment, so another host's ARP for one of them must be answered by this
 * host: proxy ARP on the TAP. The kernel answers only for addresses it routes through another
 * interface (the bridge's subnet; never another host's, which it routes through the TAP) and
 * only where forwarding is on (the CNI bridge plugin turns it on). proxy_delay 0: at once, not
 * after up to 0.8 s. Without it the hosts still reach each other, so a failure only warns.
 */
static void tap_proxy_arp(struct tapir_mesh_agent *a)
{
	char arp[80], delay[80];
	int r;

	snprintf(arp, sizeof(arp), "/proc/sys/net/ipv4/conf/%s/proxy_arp", a->opts->ifname);
	snprintf(delay, sizeof(delay), "/proc/sys/net/ipv4/neigh/%s/proxy_delay", a->opts->ifname);
	r = tapir_cli_write_sysctl(arp, 1);
	if (r == 0)
		r = tapir_cli_write_sysctl(delay, 0);
	if (r < 0)
		tapir_mesh_say(a,
			       "cannot turn on proxy ARP on %s: %s (containers behind this "
			       "host are out of the other hosts' reach)",
			       a->opts->ifname, strerror(-r));
}

/*
 * tun: address FIRST/32, MTU, up, and a route for the overlay CIDR through the interface.
 * tap: FIRST with the CIDR's prefix, since the hosts share one Ethernet segment; the kernel's
 * prefix route for that address is the overlay route (ARP finds each host), so none is added;
 * proxy ARP for the containers behind this host (tap_proxy_arp).
 * The MTU leaves room for the frame headers (tapir_mesh_link_mtu).
 */
static int configure_link(struct tapir_mesh_agent *a)
{
	uint32_t first = htonl(tapir_mesh_subnet_addr(a->net, a->self.subnet) + 1);
	uint32_t cidr = htonl(a->net->cidr_addr);
	uint8_t prefix_len = a->net->is_tap ? a->net->cidr_len : 32;
	struct tapir_nl *nl = NULL;
	int ifindex, r = tapir_nl_open(&nl, NULL);

	if (r < 0)
		return r;
	ifindex = tapir_nl_link_lookup(nl, a->opts->ifname, NULL);
	r = ifindex < 0 ? ifindex : 0;
	if (r == 0) {
		r = tapir_nl_addr(nl, true, ifindex, AF_INET, &first, prefix_len);
		r = r == -EEXIST ? 0 : r;
	}
	if (r == 0)
		r = tapir_nl_link_set(nl, ifindex, (int)tapir_mesh_link_mtu(a->net), true);
	if (r == 0 && !a->net->is_tap) {
		r = tapir_nl_route(nl, true, ifindex, AF_INET, &cidr, a->net->cidr_len,
				   RT_TABLE_MAIN_ID);
		r = r == -EEXIST ? 0 : r;
	}
	tapir_nl_close(nl);
	if (r < 0)
		fprintf(stderr, "tapir mesh: cannot configure %s: %s\n", a->opts->ifname,
			strerror(-r));
	else if (a->net->is_tap)
		tap_proxy_arp(a);
	return r;
}

/*
 * --cert: the certificate must name a subnet of this network and, when we have the admin key,
 * verify for our public key. The subnet it names is the only one acquire() tries.
 */
static int check_own_cert(struct tapir_mesh_agent *a)
{
	struct tapir_mesh_cert c;
	const char *why = "it names no subnet of this network";
	uint32_t addr, subnet;

	snprintf(a->self.cert, sizeof(a->self.cert), "%s", a->opts->cert);
	if (tapir_mesh_cert_decode(a->self.cert, &c, NULL) < 0) {
		why = "it is malformed";
		goto bad;
	}
	addr = c.subnet_addr;
	if (c.subnet_len != a->net->subnet_len ||
	    (addr ^ a->net->cidr_addr) >> (32 - a->net->cidr_len))
		goto bad;
	subnet = (addr - a->net->cidr_addr) >> (32 - a->net->subnet_len);
	if (tapir_mesh_subnet_addr(a->net, subnet) != addr)
		goto bad;
	a->self.subnet = subnet;
	if (a->opts->admin_key &&
	    tapir_mesh_cert_verify(a->self.cert, a->opts->admin_key, a->net->name,
				   a->self.public_key, addr, c.subnet_len, (uint64_t)time(NULL),
				   &why) < 0)
		goto bad;
	/* the rollback anchor: no record is applied before a list this new verified */
	if (a->opts->admin_key)
		a->revlist_need = c.revlist_serial;
	return 0;
bad:
	fprintf(stderr, "tapir mesh: %s: this host's certificate is refused: %s\n", a->net->name,
		why);
	return -EACCES;
}

/* ---------------------------------------------------------------- the subnet lease */

/* Tries to write our record at @subnet: created if absent, or taken over if it holds our key. */
static int try_subnet(struct tapir_mesh_agent *a, uint32_t subnet, int64_t ours_mod_rev,
		      bool *is_done)
{
	char key[TAPIR_MESH_KEY_MAX], *value;
	int r;

	a->self.subnet = subnet;
	tapir_mesh_subnet_key(key, a->net, subnet);
	value = tapir_mesh_host_format(a->net, &a->self);
	if (!value)
		return -ENOMEM;
	r = tapir_etcd_put_if(a->e, key, value, a->lease, ours_mod_rev, is_done);
	free(value);
	return r;
}

/*
 * What the store holds now: taken[s] is 0 (free), -1 (someone else) or our record's mod rev.
 * With a certificate only its subnet matters: one key is read, not the whole fleet.
 */
static int read_taken(struct tapir_mesh_agent *a, int64_t *taken)
{
	struct tapir_etcd_kv *kvs = NULL;
	struct tapir_mesh_host h;
	char key[TAPIR_MESH_KEY_MAX];
	size_t n = 0;
	uint32_t s;
	const char *why;
	int r;

	if (a->opts->cert)
		tapir_mesh_subnet_key(key, a->net, a->self.subnet);
	r = tapir_etcd_range(a->e, a->opts->cert ? key : a->prefix, !a->opts->cert, &kvs, &n, NULL);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (tapir_mesh_key_subnet(a->net, kvs[i].key, kvs[i].key_len, &s) < 0)
			continue;
		taken[s] = -1;
		if (tapir_mesh_host_parse(a->net, s, kvs[i].value, kvs[i].value_len, &h, &why) ==
			0 &&
		    !memcmp(h.public_key, a->self.public_key, 32))
			taken[s] = kvs[i].mod_revision;
	}
	tapir_etcd_kvs_free(kvs, n);
	return r;
}

/*
 * Grants a lease and takes a subnet: @preferred first (the state file's), then one that holds
 * our key already, then the first free one from 1. Each candidate is tried once.
 */
static int acquire(struct tapir_mesh_agent *a, bool has_preferred, uint32_t preferred)
{
	uint32_t n = tapir_mesh_n_subnets(a->net);
	int64_t *taken = calloc(n, sizeof(*taken));
	bool is_done = false;
	int r = taken ? 0 : -ENOMEM;

	if (r == 0)
		r = tapir_etcd_lease_grant(a->e, a->opts->ttl_s, &a->lease);
	if (r == 0)
		r = read_taken(a, taken);
	if (r == 0 && a->opts->cert) {
		/* a certificate names the one subnet this host may take */
		if (taken[a->self.subnet] >= 0)
			r = try_subnet(a, a->self.subnet, taken[a->self.subnet], &is_done);
		n = 0;
	}
	if (r == 0 && has_preferred && preferred < n && taken[preferred] >= 0)
		r = try_subnet(a, preferred, taken[preferred], &is_done);
	for (uint32_t s = 1; r == 0 && !is_done && s < n; s++) {
		if (taken[s] > 0)
			r = try_subnet(a, s, taken[s], &is_done);
	}
	for (uint32_t s = 1; r == 0 && !is_done && s < n; s++) {
		if (taken[s] == 0)
			r = try_subnet(a, s, 0, &is_done);
	}
	free(taken);
	if (r == 0 && !is_done)
		r = -ENOSPC;
	if (r < 0) {
		fprintf(stderr, "tapir mesh: %s: cannot take a subnet: %s\n", a->net->name,
			r != -ENOSPC	? strerror(-r)
			: a->opts->cert ? "another host holds the certificate's subnet"
					: "every subnet is taken");
		if (a->lease)
			tapir_etcd_lease_revoke(a->e, a->lease);
		return r;
	}
	a->has_lease = true;
	return 0;
}

static int save_state(struct tapir_mesh_agent *a)
{
	struct tapir_mesh_state st = {
	    .subnet = a->self.subnet, .has_subnet = true, .lease = a->lease, .pid = (long)getpid()};
	int r = tapir_mesh_state_write(a->opts->state_dir, a->net->name, &st);

	if (r == 0)
		r = tapir_mesh_env_write(a->opts->state_dir, a->net, a->self.subnet);
	if (r < 0)
		fprintf(stderr, "tapir mesh: cannot write to %s: %s\n", a->opts->state_dir,
			strerror(-r));
	return r;
}

/* Renews the lease; a lease that expired is granted again for the same subnet. */
static int keepalive(struct tapir_mesh_agent *a)
{
	uint32_t subnet = a->self.subnet;
	int64_t ttl = 0;
	int r = tapir_etcd_lease_keepalive(a->e, a->lease, &ttl);

	if (r < 0 || ttl > 0)
		return r;
	tapir_mesh_say(a, "lease %llx expired, taking the subnet again",
		       (unsigned long long)a->lease);
	a->has_lease = false;
	r = acquire(a, true, subnet);
	if (r == 0 && a->self.subnet != subnet) {
		/* another host took it while we were cut off: our address is wrong now */
		tapir_mesh_say(a, "the subnet went to another host; restart the agent");
		return -EADDRINUSE;
	}
	return r < 0 ? r : save_state(a);
}

static int rewrite_self(struct tapir_mesh_agent *a)
{
	char key[TAPIR_MESH_KEY_MAX], *value = tapir_mesh_host_format(a->net, &a->self);
	int r;

	if (!value)
		return -ENOMEM;
	tapir_mesh_subnet_key(key, a->net, a->self.subnet);
	r = tapir_etcd_put(a->e, key, value, a->lease);
	free(value);
	if (r == 0)
		a->needs_rewrite = false;
	return r;
}

/* ---------------------------------------------------------------- the loop */

/* The next wait after a failure: doubled, capped, with up to 25 % jitter. */
static long backoff(long *retry_ms)
{
	long wait = *retry_ms + (long)randombytes_uniform((uint32_t)(*retry_ms / 4 + 1));

	*retry_ms = *retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : *retry_ms * 2;
	return wait;
}

/*
 * Whether the UAPI socket is another one than last time (or went away): a tapird that starts
 * binds a new socket, so a new inode or ctime means a restarted daemon, with no peers and
 * maybe no key, port or address. One stat(2): cheap enough to run every second.
 */
static bool sock_changed(struct tapir_mesh_agent *a)
{
	struct stat st;
	bool is_changed;

	if (tapir_uapi_stat(a->opts->ifname, &st) < 0)
		memset(&st, 0, sizeof(st));
	is_changed = st.st_dev != a->sock_dev || st.st_ino != a->sock_ino ||
		     st.st_ctim.tv_sec != a->sock_ctime.tv_sec ||
		     st.st_ctim.tv_nsec != a->sock_ctime.tv_nsec;
	a->sock_dev = st.st_dev;
	a->sock_ino = st.st_ino;
	a->sock_ctime = st.st_ctim;
	return is_changed;
}

/*
 * tapird was restarted (or a call found nobody on its socket): the local setup again (key,
 * port, address, MTU, route), then the peers, by the resync's diff against what the new
 * daemon has. The lease is the loop's business and is kept meanwhile. When only the store
 * failed, the peers known so far go back from memory (the data plane runs without etcd) and
 * *is_watching is cleared, so the loop's own resync retries with its backoff.
 */
static int setup_again(struct tapir_mesh_agent *a, bool *is_watching)
{
	int64_t rev;
	int r = prepare_tapird(a, true);

	if (r == 0)
		r = configure_link(a);
	if (r < 0)
		return r;
	a->needs_setup = false;
	if (tapir_mesh_resync(a, &rev) < 0) {
		if (a->needs_setup)
			return -ECONNREFUSED; /* the daemon went again */
		/* etcd did not answer: the peers known so far, until the loop's resync */
		r = tapir_mesh_reapply(a);
		if (r < 0)
			return r;
		tapir_etcd_watch_stop(a->e);
		*is_watching = false;
	}
	return 0;
}

/*
 * Every TAPIRD_CHECK_MS: runs setup_again() when the socket changed (a daemon came back: at
 * once), or a call failed for lack of a daemon (then with backoff, in *retry_at). While no
 * tapird answers, one line says so; the lease is kept (the agent is alive, and the other
 * hosts keep this one as a peer), and so is everything else.
 */
static void check_tapird(struct tapir_mesh_agent *a, bool *is_watching, int64_t *retry_at,
			 long *retry_ms)
{
	int64_t now = tapir_cli_now_ms();
	int r;

	if (sock_changed(a))
		a->needs_setup = true;
	else if (!a->needs_setup || now < *retry_at)
		return;
	r = setup_again(a, is_watching);
	if (r == 0) {
		tapir_mesh_say(a, "tapird on %s %s: key, port, address and peers set again",
			       a->opts->ifname, a->is_tapird_down ? "is back" : "was restarted");
		a->is_tapird_down = false;
		*retry_ms = RETRY_MIN_MS;
		return;
	}
	if (!a->is_tapird_down)
		tapir_mesh_say(a,
			       "tapird on %s does not answer (%s): keeping the lease, retrying "
			       "until it is back",
			       a->opts->ifname, strerror(-r));
	a->is_tapird_down = true;
	a->needs_setup = true;
	*retry_at = now + backoff(retry_ms);
}

/* The watch ended: one line with the member and the reason; the member is kept. */
static void watch_lost(struct tapir_mesh_agent *a)
{
	a->watch_lost_on = tapir_etcd_watch_endpoint(a->e); /* owned by a->e, as long as it */
	a->n_watch_lost++;
	tapir_mesh_say(a, "watch on %s lost: %s; resyncing", a->watch_lost_on,
		       tapir_etcd_watch_why(a->e));
}

/* A new watch runs: if not where the last one was lost, that is a fail-over. */
static void watch_started(struct tapir_mesh_agent *a)
{
	const char *lost_on = a->watch_lost_on;
	const char *now_on = tapir_etcd_watch_endpoint(a->e);

	if (lost_on && strcmp(lost_on, now_on)) {
		a->n_failovers++;
		tapir_mesh_say(a, "watch moved from %s to %s (fail-over %llu)", lost_on, now_on,
			       (unsigned long long)a->n_failovers);
	}
	a->watch_lost_on = NULL;
}

/*
 * Until SIGTERM/SIGINT: keep the lease alive, keep our record, follow the watch, and watch
 * tapird. While etcd is unreachable tapird keeps every peer it has; the agent retries with
 * backoff and resyncs once a call succeeds again. READY=1 goes to the service manager once
 * the first resync is done and the watch runs (sd_notify(3), Type=notify).
 *
 * The keepalive, every TTL/3 on the watch's member, is also the watch's liveness check: a
 * member cut off from its cluster fails it (no leader, or its deadline), the call fails over,
 * and the next poll ends the watch (etcd.c), which is then resynced and restarted on the member
 * that answered. etcd itself ends the watch sooner when its member knows it has no leader.
 */
static int run(struct tapir_mesh_agent *a, int notify_fd)
{
	int64_t next_keepalive = tapir_cli_now_ms() + a->opts->ttl_s * 1000 / 3, rev = 0;
	int64_t next_check = tapir_cli_now_ms() + TAPIRD_CHECK_MS, tapird_retry_at = 0;
	long retry_ms = RETRY_MIN_MS, keepalive_retry_ms = RETRY_MIN_MS;
	long tapird_retry_ms = RETRY_MIN_MS;
	bool is_watching = false, is_ready = false;
	char status[128];
	int r;

	sock_changed(a); /* the daemon prepare_tapird() set up */
	while (!tapir_cli_signal) {
		if (tapir_cli_now_ms() >= next_keepalive) {
			r = keepalive(a);
			if (r == -EADDRINUSE)
				return r;
			if (r == 0)
				keepalive_retry_ms = RETRY_MIN_MS;
			next_keepalive = tapir_cli_now_ms() + (r < 0 ? backoff(&keepalive_retry_ms)
								     : a->opts->ttl_s * 1000 / 3);
		}
		if (a->needs_rewrite && a->has_lease)
			rewrite_self(a);
		if (a->needs_resync && is_watching) {
			/* a list lifted the hold: the held records are read again */
			tapir_etcd_watch_stop(a->e);
			is_watching = false;
		}
		/* a certificate can expire while its record sits unchanged: no event tells us */
		if (a->next_expiry && (uint64_t)time(NULL) > a->next_expiry)
			tapir_mesh_expire(a, (uint64_t)time(NULL));
		if (tapir_cli_now_ms() >= next_check) {
			check_tapird(a, &is_watching, &tapird_retry_at, &tapird_retry_ms);
			next_check = tapir_cli_now_ms() + TAPIRD_CHECK_MS;
		}
		if (!is_watching) {
			if (tapir_mesh_resync(a, &rev) < 0 ||
			    tapir_etcd_watch_start(a->e, a->net_prefix, rev + 1) < 0) {
				tapir_cli_sleep_ms(backoff(&retry_ms));
				continue;
			}
			retry_ms = RETRY_MIN_MS;
			is_watching = true;
			watch_started(a);
		}
		if (!is_ready) {
			snprintf(status, sizeof(status), "READY=1\nSTATUS=joined %s on %s\n",
				 a->net->name, a->opts->ifname);
			tapir_notify_send(notify_fd, status);
			is_ready = true;
		}
		if (tapir_etcd_watch_poll(a->e, POLL_MS, tapir_mesh_on_event, a) < 0) {
			watch_lost(a);
			is_watching = false;
		}
	}
	tapir_notify_send(notify_fd, "STOPPING=1\n");
	return 0;
}

int tapir_mesh_join(struct tapir_etcd *e, const struct tapir_mesh_net *net,
		    const struct tapir_mesh_join_opts *o)
{
	struct tapir_mesh_agent a = {.e = e, .net = net, .opts = o};
	struct tapir_mesh_state st;
	char subnet[TAPIR_MESH_CIDR_TEXT];
	int64_t rev;
	int r, notify_fd = -1;

	/* before anything that may start a child: it would not speak for this process */
	r = tapir_notify_open(&notify_fd);
	if (r < 0)
		fprintf(stderr, "tapir mesh: NOTIFY_SOCKET: %s (not telling the service manager)\n",
			strerror(-r));
	a.port = o->port ? (uint16_t)o->port : net->port;
	(void)sodium_mlock(a.private_key, sizeof(a.private_key));
	tapir_cli_catch_signals();
	signal(SIGPIPE, SIG_IGN);
	tapir_mesh_prefix(a.prefix, net->name, "subnets/");
	tapir_mesh_prefix(a.net_prefix, net->name, "");
	tapir_mesh_prefix(a.revoked_prefix, net->name, "revoked/");
	tapir_mesh_revlist_key(a.revlist_key, net->name);
	gethostname(a.self.hostname, sizeof(a.self.hostname) - 1);
	if (strspn(a.self.hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
				    "-._") != strlen(a.self.hostname))
		a.self.hostname[0] = '\0';
	a.slots = calloc(tapir_mesh_n_subnets(net), sizeof(*a.slots));
	r = a.slots ? prepare_tapird(&a, false) : -ENOMEM;
	if (r == 0)
		r = pick_endpoint(&a, a.port);
	if (r == 0 && o->cert)
		r = check_own_cert(&a);
	if (r == 0) {
		tapir_mesh_revoked_load(&a);
		tapir_mesh_revlist_load(&a);
		tapir_mesh_state_read(o->state_dir, net->name, &st);
		/*
		 * Learn the peers before anyone can learn us: a host that adds us as soon as our
		 * record appears and sends at once must find us knowing its key, or its
		 * handshake initiation is dropped and retried only after REKEY_TIMEOUT (5 s).
		 * run()'s first resync adds the hosts that join meanwhile.
		 */
		r = tapir_mesh_resync(&a, &rev);
	}
	if (r == 0)
		r = acquire(&a, st.has_subnet, st.subnet);
	if (r == 0) {
		tapir_mesh_subnet_text(subnet, net, a.self.subnet);
		tapir_mesh_say(&a, "joined with subnet %s, endpoint %s, lease %llx (TTL %d s)",
			       subnet, a.self.endpoint, (unsigned long long)a.lease, o->ttl_s);
		r = configure_link(&a);
	}
	if (r == 0)
		r = save_state(&a);
	if (r == 0)
		r = run(&a, notify_fd);
	tapir_etcd_watch_stop(e);
	if (a.has_lease && tapir_etcd_lease_revoke(e, a.lease) == 0)
		tapir_mesh_say(&a, "lease %llx revoked", (unsigned long long)a.lease);
	tapir_mesh_say(
	    &a,
	    "stopped: %llu peer changes applied, %llu records ignored, %zu keys revoked, "
	    "%llu revocations ignored, revocation list serial %llu, %llu rollbacks ignored, "
	    "%llu records held, %llu watches lost, %llu etcd fail-overs",
	    (unsigned long long)a.n_applied, (unsigned long long)a.n_ignored, a.n_revoked,
	    (unsigned long long)a.n_bad_revocations, (unsigned long long)a.revlist_serial,
	    (unsigned long long)a.n_rollbacks, (unsigned long long)a.n_held,
	    (unsigned long long)a.n_watch_lost, (unsigned long long)a.n_failovers);
	tapir_mesh_trust_clear(&a);
	tapir_mesh_revoked_free(&a);
	free(a.slots);
	sodium_munlock(a.private_key, sizeof(a.private_key)); /* wipes it */
	if (notify_fd >= 0)
		close(notify_fd);
	return r;
}
