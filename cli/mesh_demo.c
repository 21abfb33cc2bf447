// SPDX-License-Identifier: MIT
/*
 * tapir mesh demo: the mesh of doc/mesh-design.md on one machine. A single-member etcd (Debian's
 * etcd-server) in a hub network namespace with a bridge, three host namespaces joined to the
 * bridge by veths, a tapird and a `tapir mesh join` agent in each (children of this process,
 * with host certificates signed by a fresh admin key, so the trust layer is in the picture),
 * then: wait until every host has the two others as peers, ping the 3x3 matrix through the
 * overlay, print `tapir mesh status`, and remove everything. Exit 0 only if every pair answered.
 *
 * The namespaces are anonymous: this process holds each by a file descriptor (unshare, then
 * setns back), so none is left in /var/run/netns whatever happens, and each vanishes with the
 * last process inside it. Names that are global on the machine carry our PID (tapird's
 * interface, hence its /var/run/wireguard socket; the temporary directory is mkdtemp's), so two
 * demos or a test can run at once. Children get SIGTERM if we die (PR_SET_PDEATHSIG); on exit,
 * failure, SIGINT or SIGTERM they are stopped by PID (agents first, so they revoke their leases,
 * then the daemons, then etcd) and reaped, then the sockets and the directory are removed.
 * Traffic stays between the demo's own namespaces. Never runs ip(8). The plumbing (namespaces,
 * child processes, the ping) is mesh_demo_sys.c.
 */
#include "mesh_demo.h"

#include <errno.h>
#include <fcntl.h>
#include <assert.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "encoding.h"
#include "mesh.h"
#include "netlink.h"
#include "uapi_client.h"

enum {
	N_HOSTS = 3,
	HUB_HOST = 100,	       /* the bridge's address: 192.0.2.100, where etcd listens */
	ETCD_START_MS = 20000, /* etcd answers in about 1 s; a loaded machine takes longer */
	DAEMON_START_MS = 10000,
	PEERS_MS = 20000,
	STEP_MS = TAPIR_MDEMO_STEP_MS,
	AGENT_TTL_S = 10,
	CERT_DAYS = 1,
	NAME_BYTES = 16, /* IFNAMSIZ */
	PATH_BYTES = TAPIR_MDEMO_PATH_BYTES,
	TMPDIR_BYTES = 32, /* "/tmp/tapir-mesh-demo.XXXXXX" */
	ARGV_MAX = 24,
};

static const char NETWORK[] = "demo";
static const char ETCD_URL[] = "http://192.0.2.100:2379";

struct demo_host {
	int nsfd; /* -1 until made */
	pid_t tapird, agent;
	char ifname[NAME_BYTES];
	bool has_socket; /* tapird started: a socket left with our interface's name is ours */
};

struct mesh_demo {
	char tmpdir[TMPDIR_BYTES]; /* "" until made */
	char self[PATH_BYTES], tapird[PATH_BYTES], admin_pub[TAPIR_KEY_BASE64_LEN + 1];
	unsigned int pid;
	int hub; /* -1 until made */
	pid_t etcd;
	struct demo_host h[N_HOSTS];
};

/* This tapir binary, and tapird: $TAPIRD, else next to this binary, else from $PATH. */
static int find_binaries(struct mesh_demo *d)
{
	if (!realpath("/proc/self/exe", d->self))
		return -errno;
	return tapir_cli_find_tapird(d->tapird, sizeof(d->tapird));
}

/* ---------------------------------------------------------------- namespaces and links */

/* The hub: lo, bridge 192.0.2.100/24. */
static int setup_hub(struct mesh_demo *d, char bridge[NAME_BYTES])
{
	struct tapir_nl *nl = NULL;
	int r;

	if (snprintf(bridge, NAME_BYTES, "tmd%ubr", d->pid) >= NAME_BYTES)
		return -ENAMETOOLONG;
	d->hub = tapir_mdemo_netns_new();
	if (d->hub < 0)
		return d->hub;
	tapir_cli_say("unshare --net  # hub: net:[%llu]", tapir_mdemo_netns_id(d->hub));
	r = tapir_mdemo_nl_in(d->hub, &nl);
	if (r == 0)
		r = tapir_mdemo_link_up(nl, "lo", 0);
	if (r == 0) {
		tapir_cli_say("ip link add %s type bridge; ip address add 192.0.2.%d/24 dev %s",
			      bridge, HUB_HOST, bridge);
		r = tapir_nl_bridge_add(nl, bridge);
	}
	if (r == 0)
		r = tapir_mdemo_link_up(nl, bridge, HUB_HOST);
	tapir_nl_close(nl);
	return r;
}

/* Host @i: its namespace, lo, a veth to the bridge, 192.0.2.(i+1)/24. */
static int setup_host(struct mesh_demo *d, int i, const char *bridge)
{
	char near[NAME_BYTES], far[NAME_BYTES];
	struct tapir_nl *hub = NULL, *nl = NULL;
	int r, port, master;

	if (snprintf(near, sizeof(near), "tmd%uh%d", d->pid, i + 1) >= (int)sizeof(near) ||
	    snprintf(far, sizeof(far), "tmd%uu%d", d->pid, i + 1) >= (int)sizeof(far))
		return -ENAMETOOLONG;
	d->h[i].nsfd = tapir_mdemo_netns_new();
	if (d->h[i].nsfd < 0)
		return d->h[i].nsfd;
	tapir_cli_say("unshare --net  # host%d: net:[%llu]", i + 1,
		      tapir_mdemo_netns_id(d->h[i].nsfd));
	tapir_cli_say("ip link add %s (host%d) type veth peer %s (hub) master %s; 192.0.2.%d/24",
		      near, i + 1, far, bridge, i + 1);
	r = tapir_mdemo_nl_in(d->hub, &hub);
	if (r == 0)
		r = tapir_mdemo_nl_in(d->h[i].nsfd, &nl);
	if (r == 0)
		r = tapir_nl_veth_add(hub, near, d->h[i].nsfd, far, -1);
	if (r == 0) {
		port = tapir_nl_link_lookup(hub, far, NULL);
		master = tapir_nl_bridge_lookup(hub, bridge);
		r = port < 0 ? port : master < 0 ? master : 0;
	}
	if (r == 0)
		r = tapir_nl_link_set_master(hub, port, master);
	if (r == 0)
		r = tapir_mdemo_link_up(hub, far, 0);
	if (r == 0)
		r = tapir_mdemo_link_up(nl, "lo", 0);
	if (r == 0)
		r = tapir_mdemo_link_up(nl, near, i + 1);
	tapir_nl_close(nl);
	tapir_nl_close(hub);
	return r;
}

static void show_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "re");
	long size;

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, size > 2000 ? size - 2000 : 0, SEEK_SET);
	fflush(stdout);
	fprintf(stderr, "--- the end of %s:\n", path);
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  %s", line);
	fclose(f);
}

/* TMPDIR/STEM[N]SUFFIX: the number only when @n > 0. */
static void path_in(const struct mesh_demo *d, char out[PATH_BYTES], const char *stem, int n,
		    const char *suffix)
{
	int len = n > 0 ? snprintf(out, PATH_BYTES, "%s/%s%d%s", d->tmpdir, stem, n, suffix)
			: snprintf(out, PATH_BYTES, "%s/%s%s", d->tmpdir, stem, suffix);

	assert(len > 0 && len < PATH_BYTES); /* tmpdir is short: TMPDIR_BYTES */
	(void)len;			     /* only assert() reads it, and NDEBUG drops that */
}

/* An argv built from copies (execvp wants char *); is_bad once a copy failed. */
struct argv_buf {
	char *v[ARGV_MAX + 1];
	int n;
	bool is_bad;
};

static void arg(struct argv_buf *a, const char *s)
{
	if (a->n < ARGV_MAX && (a->v[a->n] = strdup(s)))
		a->n++;
	else
		a->is_bad = true;
}

static void args_free(struct argv_buf *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

/* "tapir mesh VERB --etcd URL --network demo" and the rest of @extra (NULL-terminated). */
static void mesh_args(struct argv_buf *a, const struct mesh_demo *d, const char *verb,
		      const char *const *extra)
{
	const char *const head[] = {d->self,  "mesh",	   verb,   "--etcd",
				    ETCD_URL, "--network", NETWORK};

	for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
		arg(a, head[i]);
	for (; *extra; extra++)
		arg(a, *extra);
}

/* ---------------------------------------------------------------- etcd, tapird, agents */

static int start_etcd(struct mesh_demo *d)
{
	char bin[PATH_BYTES], data[PATH_BYTES], log[PATH_BYTES];
	struct argv_buf a = {.n = 0};
	const char *const rest[] = {"--listen-client-urls",
				    ETCD_URL,
				    "--advertise-client-urls",
				    ETCD_URL,
				    "--listen-peer-urls",
				    "http://127.0.0.1:2380",
				    "--initial-advertise-peer-urls",
				    "http://127.0.0.1:2380",
				    "--initial-cluster",
				    "demo=http://127.0.0.1:2380"};

	if (!tapir_cli_find_in_path("etcd", bin, sizeof(bin)))
		return -ENOENT;
	path_in(d, data, "etcd", 0, "");
	path_in(d, log, "etcd", 0, ".log");
	arg(&a, bin);
	arg(&a, "--name");
	arg(&a, "demo");
	arg(&a, "--data-dir");
	arg(&a, data);
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
		arg(&a, rest[i]);
	tapir_cli_say(
	    "etcd --name demo --data-dir %s --listen-client-urls %s  # in the hub, log %s", data,
	    ETCD_URL, log);
	d->etcd = a.is_bad ? -ENOMEM : tapir_mdemo_spawn(d->hub, a.v, log);
	args_free(&a);
	return d->etcd < 0 ? (int)d->etcd : 0;
}

static bool socket_exists(const char *ifname)
{
	char path[PATH_BYTES];

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", ifname);
	return !access(path, F_OK);
}

/* tapird -f IFNAME in host @i, until its socket answers. */
static int start_tapird(struct mesh_demo *d, int i)
{
	struct demo_host *h = &d->h[i];
	char log[PATH_BYTES];
	struct argv_buf a = {.n = 0};
	int64_t end = tapir_cli_now_ms() + DAEMON_START_MS;

	if (snprintf(h->ifname, sizeof(h->ifname), "tmesh%u-%d", d->pid, i + 1) >=
	    (int)sizeof(h->ifname))
		return -ENAMETOOLONG;
	if (socket_exists(h->ifname))
		return -EEXIST;
	path_in(d, log, "tapird", i + 1, ".log");
	arg(&a, d->tapird);
	arg(&a, "-f");
	arg(&a, h->ifname);
	tapir_cli_say("%s -f %s  # in host%d, log %s", d->tapird, h->ifname, i + 1, log);
	h->tapird = a.is_bad ? -ENOMEM : tapir_mdemo_spawn(h->nsfd, a.v, log);
	args_free(&a);
	if (h->tapird < 0)
		return (int)h->tapird;
	h->has_socket = true;
	while (tapir_uapi_wait(h->ifname, STEP_MS) < 0) {
		if (tapir_cli_signal)
			return -EINTR;
		if (tapir_mdemo_wait_exit(h->tapird, 0) >= 0) {
			h->tapird = 0; /* reaped: its PID is no longer ours to signal */
			show_log(log);
			return -ECHILD;
		}
		if (tapir_cli_now_ms() > end) {
			show_log(log);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

static int start_daemons(struct mesh_demo *d)
{
	int r = 0;

	for (int i = 0; i < N_HOSTS && r == 0; i++)
		r = start_tapird(d, i);
	return r;
}

/*
 * The trust layer: an admin key (kept in memory only), a WireGuard key set into each tapird,
 * and each host's certificate for subnet 10.42.(i+1).0/24 in TMPDIR/hostN.cert.
 */
static int sign_hosts(struct mesh_demo *d)
{
	uint8_t admin_pk[32], admin_sk[64], priv[32], pub[32];
	char hex[TAPIR_KEY_HEX_LEN + 1], body[96], cert[TAPIR_MESH_CERT_TEXT], path[PATH_BYTES];
	int r = 0;

	crypto_sign_keypair(admin_pk, admin_sk);
	tapir_key_to_base64(d->admin_pub, admin_pk);
	tapir_cli_say("tapir mesh keygen  # admin key %s, kept in memory", d->admin_pub);
	for (int i = 0; i < N_HOSTS && r == 0; i++) {
		struct tapir_mesh_cert c = {
		    .subnet_addr = (10u << 24) | (42u << 16) | ((uint32_t)(i + 1) << 8),
		    .subnet_len = 24,
		    .not_after = (uint64_t)time(NULL) + (uint64_t)CERT_DAYS * 86400};
		FILE *f;

		tapir_x25519_generate(priv);
		tapir_x25519_public(pub, priv);
		tapir_key_to_hex(hex, priv);
		snprintf(body, sizeof(body), "private_key=%s\n", hex);
		r = tapir_uapi_set(d->h[i].ifname, body, strlen(body));
		tapir_wipe(priv, sizeof(priv));
		tapir_wipe(hex, sizeof(hex));
		tapir_wipe(body, sizeof(body));
		if (r == 0)
			r = tapir_mesh_cert_sign(cert, admin_sk, NETWORK, pub, &c);
		path_in(d, path, "host", i + 1, ".cert");
		if (r == 0 && (f = fopen(path, "wxe"))) {
			fprintf(f, "%s\n", cert);
			r = fclose(f) ? -errno : 0;
		} else if (r == 0) {
			r = -errno;
		}
		tapir_key_to_base64(hex, pub);
		tapir_cli_say(
		    "tapir mesh sign --public-key %s --subnet 10.42.%d.0/24 --days %d > %s", hex,
		    i + 1, CERT_DAYS, path);
	}
	tapir_wipe(admin_sk, sizeof(admin_sk));
	return r;
}

/* tapir mesh init from host 1, again every 250 ms until etcd answers. */
static int init_network(struct mesh_demo *d)
{
	/*
	 * Keepalive 0: no NAT to keep open between namespaces, and a keepalive sent as each peer
	 * is added makes both sides of a pair start a handshake at once; the crossed handshakes
	 * then wait REKEY_TIMEOUT (5 s) for a retry. A ping starts one handshake.
	 */
	const char *const extra[] = {
	    "--cidr", "10.42.0.0/16", "--admin-pub", d->admin_pub, "--keepalive",
	    "0",      "--force",      NULL};
	struct argv_buf a = {.n = 0};
	char log[PATH_BYTES];
	int64_t end = tapir_cli_now_ms() + ETCD_START_MS;
	int r;

	path_in(d, log, "init", 0, ".log");
	mesh_args(&a, d, "init", extra);
	tapir_cli_say("tapir mesh init --etcd %s --network %s --cidr 10.42.0.0/16 --admin-pub %s "
		      "--keepalive 0  # once etcd answers",
		      ETCD_URL, NETWORK, d->admin_pub);
	for (r = a.is_bad ? -ENOMEM : 1; r > 0; tapir_cli_sleep_ms(250)) {
		r = tapir_mdemo_run(d->h[0].nsfd, a.v, log, ETCD_START_MS);
		if (r == 0 || r < 0)
			break;
		if (tapir_cli_signal) {
			r = -EINTR;
		} else if (tapir_mdemo_wait_exit(d->etcd, 0) >= 0) {
			d->etcd = 0;
			path_in(d, log, "etcd", 0, ".log");
			show_log(log);
			r = -ECHILD;
		} else if (tapir_cli_now_ms() > end) {
			show_log(log);
			r = -ETIMEDOUT;
		}
	}
	args_free(&a);
	return r;
}

static int start_agents(struct mesh_demo *d)
{
	char state[PATH_BYTES], cert[PATH_BYTES], log[PATH_BYTES], ttl[16];
	int r = 0;

	snprintf(ttl, sizeof(ttl), "%d", AGENT_TTL_S);
	for (int i = 0; i < N_HOSTS && r == 0; i++) {
		struct demo_host *h = &d->h[i];
		const char *const extra[] = {"--interface", h->ifname, "--ttl",	      ttl,
					     "--state-dir", state,     "--admin-pub", d->admin_pub,
					     "--cert-file", cert,      NULL};
		struct argv_buf a = {.n = 0};

		path_in(d, state, "state", i + 1, "");
		path_in(d, cert, "host", i + 1, ".cert");
		path_in(d, log, "agent", i + 1, ".log");
		mesh_args(&a, d, "join", extra);
		tapir_cli_say(
		    "tapir mesh join --interface %s --ttl %d --admin-pub ... --cert-file %s  # in "
		    "host%d, log %s",
		    h->ifname, AGENT_TTL_S, cert, i + 1, log);
		h->agent = a.is_bad ? -ENOMEM : tapir_mdemo_spawn(h->nsfd, a.v, log);
		args_free(&a);
		r = h->agent < 0 ? (int)h->agent : 0;
	}
	return r;
}

static int n_peers(const char *ifname)
{
	char *reply = NULL;
	size_t len = 0;
	int n = 0, r = tapir_uapi_get(ifname, false, &reply, &len);

	for (char *p = reply; r == 0 && p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, "public_key=", 11);
	if (reply)
		explicit_bzero(reply, len); /* holds the private key */
	free(reply);
	return r < 0 ? r : n;
}

/* Until every tapird has every other host as a peer; an agent that exits ends the wait. */
static int wait_peers(struct mesh_demo *d)
{
	int64_t t0 = tapir_cli_now_ms();
	char log[PATH_BYTES];
	int n_ready = 0;

	tapir_cli_say("waiting until each host has the %d others as peers", N_HOSTS - 1);
	while (n_ready < N_HOSTS) {
		if (tapir_cli_signal)
			return -EINTR;
		n_ready = 0;
		for (int i = 0; i < N_HOSTS; i++) {
			if (tapir_mdemo_wait_exit(d->h[i].agent, 0) >= 0) {
				d->h[i].agent = 0;
				path_in(d, log, "agent", i + 1, ".log");
				show_log(log);
				return -ECHILD;
			}
			n_ready += n_peers(d->h[i].ifname) == N_HOSTS - 1;
		}
		if (n_ready < N_HOSTS && tapir_cli_now_ms() - t0 > PEERS_MS)
			return -ETIMEDOUT;
		if (n_ready < N_HOSTS)
			tapir_cli_sleep_ms(100);
	}
	printf("    every host has %d peers after %.1f s\n", N_HOSTS - 1,
	       (double)(tapir_cli_now_ms() - t0) / 1000);
	return 0;
}

/* ---------------------------------------------------------------- the ping matrix */

static int ping_matrix(struct mesh_demo *d)
{
	bool is_ok[N_HOSTS][N_HOSTS] = {{false}};
	char addr[INET_ADDRSTRLEN], from[16], to[16];
	int n_ok = 0, n_pairs = N_HOSTS * (N_HOSTS - 1);

	tapir_cli_say("ping the %dx%d matrix through the overlay (each host's 10.42.N.1)", N_HOSTS,
		      N_HOSTS);
	for (int i = 0; i < N_HOSTS && !tapir_cli_signal; i++) {
		for (int j = 0; j < N_HOSTS && !tapir_cli_signal; j++) {
			if (i == j)
				continue;
			snprintf(addr, sizeof(addr), "10.42.%d.1", j + 1);
			snprintf(from, sizeof(from), "host%d", i + 1);
			snprintf(to, sizeof(to), "host%d", j + 1);
			is_ok[i][j] =
			    tapir_mdemo_ping(d->h[i].nsfd, from, to, addr, &tapir_cli_signal) == 0;
			n_ok += is_ok[i][j];
		}
	}
	if (tapir_cli_signal)
		return -EINTR;
	printf("\n    from \\ to");
	for (int j = 0; j < N_HOSTS; j++)
		printf("  host%d", j + 1);
	for (int i = 0; i < N_HOSTS; i++) {
		printf("\n    host%d    ", i + 1);
		for (int j = 0; j < N_HOSTS; j++)
			printf("  %5s", i == j ? "-" : is_ok[i][j] ? "ok" : "FAIL");
	}
	printf("\n    %d of %d pairs answered\n\n", n_ok, n_pairs);
	return n_ok == n_pairs ? 0 : -EHOSTUNREACH;
}

static int show_status(struct mesh_demo *d)
{
	const char *const extra[] = {"--interface", d->h[0].ifname, "--admin-pub", d->admin_pub,
				     NULL};
	struct argv_buf a = {.n = 0};
	int r;

	mesh_args(&a, d, "status", extra);
	tapir_cli_say(
	    "tapir mesh status --etcd %s --network %s --interface %s --admin-pub ...  # in host1",
	    ETCD_URL, NETWORK, d->h[0].ifname);
	r = a.is_bad ? -ENOMEM : tapir_mdemo_run(d->h[0].nsfd, a.v, NULL, ETCD_START_MS);
	args_free(&a);
	return r > 0 ? -EPROTO : r;
}

/* ---------------------------------------------------------------- cleanup */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0)
		fprintf(stderr, "tapir mesh demo: %s: %s\n", path, strerror(errno));
	return 0;
}

/*
 * Removes whatever exists of the demo: agents first (they revoke their leases while etcd still
 * runs), then the daemons, etcd, a socket a killed daemon left, the namespaces (closing our
 * descriptors: their last holder, once every process inside is gone), the directory.
 */
static void cleanup(struct mesh_demo *d)
{
	pid_t agents[N_HOSTS], daemons[N_HOSTS];
	char path[PATH_BYTES];

	for (int i = 0; i < N_HOSTS; i++) {
		agents[i] = d->h[i].agent;
		daemons[i] = d->h[i].tapird;
		d->h[i].agent = d->h[i].tapird = 0;
	}
	tapir_cli_say("cleaning up: the agents, tapird, etcd (SIGTERM by PID), the namespaces, %s",
		      d->tmpdir[0] ? d->tmpdir : "nothing else");
	tapir_mdemo_stop_all(agents, N_HOSTS, "agent");
	tapir_mdemo_stop_all(daemons, N_HOSTS, "tapird");
	tapir_mdemo_stop_all(&d->etcd, 1, "etcd");
	tapir_mdemo_reap_orphans();
	for (int i = 0; i < N_HOSTS; i++) {
		snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", d->h[i].ifname);
		if (d->h[i].has_socket && !unlink(path))
			tapir_cli_say("rm %s", path);
		if (d->h[i].nsfd >= 0)
			close(d->h[i].nsfd);
		d->h[i].nsfd = -1;
	}
	if (d->hub >= 0)
		close(d->hub);
	d->hub = -1;
	if (d->tmpdir[0] && !strncmp(d->tmpdir, "/tmp/tapir-mesh-demo.", 21)) {
		tapir_cli_say("rm -r %s", d->tmpdir);
		nftw(d->tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	}
	d->tmpdir[0] = '\0';
}

/* ---------------------------------------------------------------- the demo */

static int build_network(struct mesh_demo *d)
{
	char bridge[NAME_BYTES];
	int r = setup_hub(d, bridge);

	for (int i = 0; i < N_HOSTS && r == 0; i++)
		r = setup_host(d, i, bridge);
	return r;
}

typedef int (*demo_step_fn)(struct mesh_demo *d);

static const struct {
	demo_step_fn fn;
	const char *what;
} STEPS[] = {
    {build_network, "cannot build the namespaces"},
    {start_etcd, "cannot start etcd"},
    {start_daemons, "tapird did not come up"},
    {sign_hosts, "cannot give the hosts their keys and certificates"},
    {init_network, "etcd did not answer tapir mesh init"},
    {start_agents, "cannot start the agents"},
    {wait_peers, "the hosts did not all become peers"},
    {ping_matrix, "a host did not answer"},
    {show_status, "tapir mesh status failed"},
};

static int run_demo(struct mesh_demo *d)
{
	int r = 0;

	for (size_t i = 0; i < sizeof(STEPS) / sizeof(STEPS[0]) && r == 0; i++) {
		r = tapir_cli_signal ? -EINTR : STEPS[i].fn(d);
		fflush(stdout);
		if (r < 0 && !tapir_cli_signal)
			fprintf(stderr, "tapir mesh demo: %s: %s\n", STEPS[i].what, strerror(-r));
	}
	return r;
}

static const char USAGE[] =
    "Usage: tapir mesh demo\n"
    "\n"
    "The mesh on one machine, as root: a single-member etcd (etcd-server) in a network\n"
    "namespace with a bridge, three hosts in namespaces joined to it by veths, each with a tapird\n"
    "and a `tapir mesh join' agent holding a host certificate signed by a fresh admin key. Waits\n"
    "until every host has the two others as peers, pings the 3x3 matrix through the overlay,\n"
    "prints `tapir mesh status', and removes everything again, also on failure, Ctrl-C or\n"
    "SIGTERM. Names carry this process's PID, so demos and tests can run side by side.\n"
    "Exit status 0 only if every host answered every other.\n";

int tapir_mesh_demo(int argc, char **argv)
{
	struct mesh_demo d = {.hub = -1, .pid = (unsigned int)getpid()};
	char etcd[PATH_BYTES];
	int r;

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(USAGE, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "tapir mesh demo: unexpected argument `%s'\n%s", argv[1], USAGE);
		return 2;
	}
	for (int i = 0; i < N_HOSTS; i++)
		d.h[i].nsfd = -1;
	if (geteuid() != 0) {
		fprintf(stderr, "tapir mesh demo: needs root (network namespaces, tapird)\n");
		return 1;
	}
	if (!tapir_cli_find_in_path("etcd", etcd, sizeof(etcd))) {
		fprintf(stderr, "tapir mesh demo: no etcd in PATH: apt-get install etcd-server\n");
		return 1;
	}
	if (find_binaries(&d) < 0) {
		fprintf(stderr, "tapir mesh demo: no tapird next to this tapir or in PATH\n");
		return 1;
	}
	tapir_cli_catch_signals();
	signal(SIGPIPE, SIG_IGN);
	/* orphans of our children (tapird's helper) become ours to reap, not init's */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	snprintf(d.tmpdir, sizeof(d.tmpdir), "/tmp/tapir-mesh-demo.XXXXXX");
	if (!mkdtemp(d.tmpdir)) {
		fprintf(stderr, "tapir mesh demo: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	tapir_cli_say("mkdir %s  # etcd's data, certificates, logs", d.tmpdir);
	r = run_demo(&d);
	cleanup(&d);
	if (tapir_cli_signal) {
		fprintf(stderr, "tapir mesh demo: stopped by signal %d, everything removed\n",
			(int)tapir_cli_signal);
		return 128 + tapir_cli_signal;
	}
	if (r == 0)
		printf("The mesh worked: 3 hosts, every pair reached through tapir.\n");
	return r == 0 ? 0 : 1;
}
