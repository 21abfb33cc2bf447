// SPDX-License-Identifier: MIT
/*
 * tapir mesh init|join|leave|status|keygen|sign|revoke|cni: the command line of the mesh
 * (doc/mesh-design.md). This file parses options and dispatches; the agent is mesh.c, records
 * are mesh_record.c, certificates and revocations mesh_trust.c, the revocation list
 * mesh_revlist.c and mesh_revoke_cmd.c, the etcd client is etcd.c, the CNI configuration
 * mesh_cni.c.
 * Exit codes: 0 ok, 1 error, 2 usage.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "crypto.h"
#include "encoding.h"
#include "mesh.h"
#include "mesh_cni.h"
#include "uapi_client.h"

static const char DEFAULT_STATE_DIR[] = "/run/tapir/mesh";

enum {
	LEAVE_WAIT_MS = 5000,
	STEP_MS = 50,
	TTL_MIN_S = 2,
	TTL_MAX_S = 3600,
	STATE_DIR_MAX = 256, /* mesh_state.c builds paths of at most 512 bytes */
	PAGE_SIZE_MAX = 100000,
};

static const char USAGE[] =
    "Usage: tapir mesh init   --etcd URL[,URL...] --network NAME --cidr A.B.C.D/LEN\n"
    "                         [--mode tun|tap] [--subnet-len N] [--port P] [--mtu M]\n"
    "                         [--keepalive S] [--force]\n"
    "       tapir mesh join   --etcd URL[,URL...] --network NAME --interface IFNAME\n"
    "                         [--endpoint ADDR[:PORT]] [--port P] [--ttl S] [--state-dir DIR]\n"
    "                         [--trace-apply FILE]\n"
    "       tapir mesh leave  --network NAME [--etcd URL[,URL...]] [--state-dir DIR]\n"
    "       tapir mesh status --etcd URL[,URL...] --network NAME [--interface IFNAME]\n"
    "                         [--admin-pub KEY] [--state-dir DIR] [--json]\n"
    "       tapir mesh keygen --out FILE\n"
    "       tapir mesh sign   --admin-key FILE --network NAME --public-key KEY\n"
    "                         --subnet A.B.C.D/LEN [--days N | --seconds N]\n"
    "                         [--etcd URL[,URL...]] [--list FILE] [--revocation-serial N]\n"
    "       tapir mesh revoke --admin-key FILE --network NAME --public-key KEY\n"
    "                         [--etcd URL[,URL...]] [--list FILE]\n"
    "       tapir mesh cni    [--state-dir DIR] [--bridge NAME] [--name NAME] [--data-dir DIR]\n"
    "       tapir mesh demo   (as root: etcd and 3 hosts in namespaces, then removed)\n"
    "init takes --admin-pub KEY and join --admin-pub KEY --cert-file FILE for a signed network.\n"
    "Every command that talks to etcd takes --cacert FILE --cert FILE --key FILE for TLS, and\n"
    "--page-size N: the network is read N keys per request (default 500; at one revision).\n"
    "\n"
    "An overlay network kept in etcd under /tapir/networks/NAME/. init writes the network\n"
    "(mode tun, subnet length 24, port 51820, MTU 1420, keepalive 25 s unless given). join\n"
    "runs the agent in the foreground next to a tapird already running on IFNAME: it sets\n"
    "tapird's key (a new one if it has none) and port, takes a free subnet with an etcd lease\n"
    "(TTL 30 s), publishes this host's public key and endpoint (default: its address towards\n"
    "etcd), puts the subnet's first address and a route for the network on IFNAME, writes\n"
    "DIR/subnet.env, and then adds, updates and removes one peer per change in etcd. A tapird\n"
    "restarted on IFNAME gets the same key, port, address, route and peers back within a\n"
    "second or two; while none answers the agent keeps its lease and retries. Under systemd\n"
    "(tapir-mesh@NAME.service, Type=notify) it sends READY=1 once joined. SIGTERM\n"
    "or Ctrl-C revokes the lease (the other hosts drop this one at once); a restart asks for\n"
    "the same subnet (DIR/NAME.state). leave stops the agent and gives the subnet up. status\n"
    "lists the network's hosts, its revocation list and revoked keys (verified with\n"
    "--admin-pub; a revoked host's record is counted as refused), the trust state of this\n"
    "host's agent (DIR/NAME.trust) and, with --interface, which hosts are peers of IFNAME.\n"
    "DIR is /run/tapir/mesh by default.\n"
    "--mode tap makes one Ethernet segment of the hosts: every tapird must run with --mode tap\n"
    "(join refuses a daemon whose mode is not the network's), peers carry frames by MAC, not\n"
    "allowed IPs, forwarding is turned off (a full mesh needs no hub), the TAP gets the first\n"
    "address of the subnet with the network's prefix (no route) and the network's MTU less 17\n"
    "(the frame headers), as does subnet.env, and proxy ARP on (the host answers for its\n"
    "containers, routed behind it). Every peer of IFNAME is then the mesh's.\n"
    "--trace-apply (a debug aid for bench/mesh-scale.sh) appends one line per watch event and\n"
    "per resync to FILE: \"REVISION MONOTONIC_NS WHAT\", written once tapird has applied it.\n"
    "cni prints a CNI configuration (bridge plugin, host-local IPAM) for this host's containers\n"
    "from DIR/subnet.env: tapir mesh cni > /etc/cni/net.d/10-tapir.conflist (cni --help).\n"
    "\n"
    "Signed networks: keygen writes an admin key (Ed25519) to FILE and prints its public half;\n"
    "sign prints a certificate binding a host's WireGuard public key to one subnet for N days\n"
    "(365) or N seconds. An agent given --admin-pub takes only the subnet of its certificate,\n"
    "ignores every record whose certificate does not verify, so write access to etcd alone adds\n"
    "no peer, and removes a peer when its certificate expires. Give agents the admin's public\n"
    "key yourself: one read from etcd protects nothing. revoke withdraws a host's key for good:\n"
    "it adds the key to the network's revocation list, signed with the admin key with the next\n"
    "serial, at /tapir/networks/NAME/revocations (a compare-and-swap; without --etcd it prints\n"
    "the etcd key and the new list instead). --list FILE is the admin's copy of the list: read\n"
    "(with etcd's; the newer counts) and written back. Agents with --admin-pub drop that host\n"
    "at once, refuse its records from then on, and ignore (and count) lists the admin did not\n"
    "sign and older lists than one they saw. sign writes the list's serial (from --etcd or\n"
    "--list, or --revocation-serial N) into the certificate: that host's agent applies no record\n"
    "until it has verified a list at least that new, so deleting the list from etcd does not\n"
    "hide a revocation from a new host.\n";

struct args {
	struct tapir_etcd_opts etcd;
	const char *network, *cidr, *ifname, *endpoint, *state_dir;
	const char *admin_key_file, *admin_pub, *public_key, *subnet, *cert_file, *out;
	const char *trace_apply, *mode, *list_file;
	long subnet_len, port, mtu, keepalive, ttl, days, seconds, revocation_serial, page_size;
	bool is_force, is_json, needs_network;
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapir mesh: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'tapir mesh --help'.\n");
	return 2;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static const struct option OPTIONS[] = {
    {"etcd", required_argument, NULL, 'e'},
    {"network", required_argument, NULL, 'n'},
    {"cidr", required_argument, NULL, 'c'},
    {"subnet-len", required_argument, NULL, 's'},
    {"port", required_argument, NULL, 'p'},
    {"mtu", required_argument, NULL, 'm'},
    {"keepalive", required_argument, NULL, 'k'},
    {"interface", required_argument, NULL, 'i'},
    {"endpoint", required_argument, NULL, 'E'},
    {"ttl", required_argument, NULL, 't'},
    {"state-dir", required_argument, NULL, 'd'},
    {"cacert", required_argument, NULL, 'A'},
    {"cert", required_argument, NULL, 'C'},
    {"key", required_argument, NULL, 'K'},
    {"admin-key", required_argument, NULL, 'a'},
    {"admin-pub", required_argument, NULL, 'P'},
    {"public-key", required_argument, NULL, 'u'},
    {"subnet", required_argument, NULL, 'S'},
    {"days", required_argument, NULL, 'D'},
    {"seconds", required_argument, NULL, 'T'},
    {"cert-file", required_argument, NULL, 'R'},
    {"out", required_argument, NULL, 'o'},
    {"trace-apply", required_argument, NULL, 'X'},
    {"mode", required_argument, NULL, 'O'},
    {"list", required_argument, NULL, 'L'},
    {"revocation-serial", required_argument, NULL, 'V'},
    {"page-size", required_argument, NULL, 'G'},
    {"force", no_argument, NULL, 'f'},
    {"json", no_argument, NULL, 'J'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* Numeric options: {flag, name, min, max, field offset}. */
static int number_option(struct args *a, int c, const char *arg)
{
	static const struct {
		int c;
		const char *name;
		long min, max;
		size_t offset;
	} rows[] = {
	    {'s', "subnet-len", 1, 30, offsetof(struct args, subnet_len)},
	    {'p', "port", 1, 65535, offsetof(struct args, port)},
	    {'m', "mtu", 576, 65535, offsetof(struct args, mtu)},
	    {'k', "keepalive", 0, 65535, offsetof(struct args, keepalive)},
	    {'t', "ttl", TTL_MIN_S, TTL_MAX_S, offsetof(struct args, ttl)},
	    {'D', "days", 1, 36500, offsetof(struct args, days)},
	    {'T', "seconds", 1, 36500L * 86400, offsetof(struct args, seconds)},
	    {'V', "revocation-serial", 0, 1L << 53, offsetof(struct args, revocation_serial)},
	    {'G', "page-size", 1, PAGE_SIZE_MAX, offsetof(struct args, page_size)},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].c != c)
			continue;
		if (!parse_long(arg, rows[i].min, rows[i].max,
				(long *)((char *)a + rows[i].offset)))
			return usage_error("--%s: `%s' is not a number from %ld to %ld",
					   rows[i].name, arg, rows[i].min, rows[i].max);
		return 0;
	}
	return -1;
}

/* String options: {flag, field offset}. */
static bool string_option(struct args *a, int c, const char *arg)
{
	static const struct {
		int c;
		size_t offset;
	} rows[] = {
	    {'e', offsetof(struct args, etcd.endpoints)},
	    {'n', offsetof(struct args, network)},
	    {'c', offsetof(struct args, cidr)},
	    {'i', offsetof(struct args, ifname)},
	    {'E', offsetof(struct args, endpoint)},
	    {'d', offsetof(struct args, state_dir)},
	    {'A', offsetof(struct args, etcd.cacert)},
	    {'C', offsetof(struct args, etcd.cert)},
	    {'K', offsetof(struct args, etcd.key)},
	    {'a', offsetof(struct args, admin_key_file)},
	    {'P', offsetof(struct args, admin_pub)},
	    {'u', offsetof(struct args, public_key)},
	    {'S', offsetof(struct args, subnet)},
	    {'R', offsetof(struct args, cert_file)},
	    {'o', offsetof(struct args, out)},
	    {'X', offsetof(struct args, trace_apply)},
	    {'O', offsetof(struct args, mode)},
	    {'L', offsetof(struct args, list_file)},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].c == c) {
			*(const char **)((char *)a + rows[i].offset) = arg;
			return true;
		}
	}
	return false;
}

static int parse_args(struct args *a, int argc, char **argv)
{
	int c, r;

	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "h", OPTIONS, NULL)) != -1) {
		r = number_option(a, c, optarg);
		if (r > 0)
			return r;
		if (r == 0 || string_option(a, c, optarg))
			continue;
		if (c == 'f' || c == 'J') {
			if (c == 'f')
				a->is_force = true;
			else
				a->is_json = true;
			continue;
		}
		if (c == 'h') {
			fputs(USAGE, stdout);
			return -1;
		}
		fputs("Try 'tapir mesh --help'.\n", stderr);
		return 2;
	}
	if (optind != argc)
		return usage_error("unexpected argument `%s'", argv[optind]);
	if (a->needs_network && (!a->network || !tapir_mesh_name_is_valid(a->network)))
		return usage_error("--network NAME is missing or not [A-Za-z0-9_.-]{1,63}");
	if (a->state_dir && (!a->state_dir[0] || strlen(a->state_dir) > STATE_DIR_MAX))
		return usage_error("--state-dir: an empty path or one over %d bytes",
				   STATE_DIR_MAX);
	return 0;
}

static int open_etcd(struct args *a, struct tapir_etcd **e)
{
	int r;

	if (!a->etcd.endpoints)
		return usage_error("--etcd URL[,URL...] is missing");
	a->etcd.page_keys = (unsigned)a->page_size;
	r = tapir_etcd_open(e, &a->etcd);
	if (r == -EINVAL)
		return usage_error("--etcd `%s': expected http:// or https:// URLs, at most 16",
				   a->etcd.endpoints);
	if (r < 0) {
		fprintf(stderr, "tapir mesh: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- trust */

/* Reads the first line of @path (at most @max - 1 bytes) into @out; wipes nothing. */
static int read_line(const char *path, char *out, size_t max)
{
	FILE *f = fopen(path, "re");
	int r = 0;

	if (!f)
		return -errno;
	if (!fgets(out, (int)max, f))
		r = -EINVAL;
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return r;
}

static int cmd_keygen(struct args *a, struct tapir_etcd *e)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char text[sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES,
					    sodium_base64_VARIANT_ORIGINAL) +
		  1];
	int fd, r = 0;

	if (!a->out)
		return usage_error("--out FILE is missing");
	fd = open(a->out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "tapir mesh: %s: %s\n", a->out, strerror(errno));
		return 1;
	}
	crypto_sign_keypair(pk, sk);
	sodium_bin2base64(text, sizeof(text), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	strcat(text, "\n");
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) < 0)
		r = -errno ? -errno : -EIO;
	close(fd);
	tapir_wipe(sk, sizeof(sk));
	tapir_wipe(text, sizeof(text));
	if (r < 0) {
		fprintf(stderr, "tapir mesh: %s: %s\n", a->out, strerror(-r));
		unlink(a->out);
		return 1;
	}
	sodium_bin2base64(text, sizeof(text), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	printf("%s\n", text);
	return 0;
}

static int read_admin_key(const char *path, uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
	char text[160];
	size_t len = 0;
	int r = read_line(path, text, sizeof(text));

	if (r == 0 && (sodium_base642bin(sk, crypto_sign_SECRETKEYBYTES, text, strlen(text), NULL,
					 &len, NULL, sodium_base64_VARIANT_ORIGINAL) ||
		       len != crypto_sign_SECRETKEYBYTES))
		r = -EINVAL;
	tapir_wipe(text, sizeof(text));
	if (r < 0)
		fprintf(stderr, "tapir mesh: %s: %s\n", path,
			r == -EINVAL ? "not an admin key (tapir mesh keygen)" : strerror(-r));
	return r;
}

static int cmd_sign(struct args *a, struct tapir_etcd *e)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES], key[32];
	char cert[TAPIR_MESH_CERT_TEXT];
	struct tapir_mesh_cert c;
	int r;

	if (!a->admin_key_file)
		return usage_error("--admin-key FILE is missing");
	if (!a->public_key || tapir_key_from_base64(key, a->public_key, strlen(a->public_key)) < 0)
		return usage_error("--public-key KEY is missing or not a base64 key");
	if (!a->subnet || tapir_mesh_cidr_parse(a->subnet, &c.subnet_addr, &c.subnet_len) < 0)
		return usage_error("--subnet A.B.C.D/LEN is missing or not a network");
	if (a->days && a->seconds)
		return usage_error("--days and --seconds exclude each other");
	c.not_after =
	    (uint64_t)time(NULL) +
	    (a->seconds ? (uint64_t)a->seconds : (uint64_t)(a->days ? a->days : 365) * 86400);
	if (read_admin_key(a->admin_key_file, sk) < 0)
		return 1;
	/* the rollback anchor: the list's serial now (section 8) */
	c.revlist_serial = (uint64_t)a->revocation_serial;
	r = a->revocation_serial >= 0
		? 0
		: tapir_mesh_revlist_serial_of(e, a->network, sk, a->list_file, &c.revlist_serial);
	if (r == 0)
		r = tapir_mesh_cert_sign(cert, sk, a->network, key, &c);
	tapir_wipe(sk, sizeof(sk));
	if (r < 0)
		return 1;
	printf("%s\n", cert);
	return 0;
}

/*
 * With --etcd: checks that --admin-key is the network's admin key (a list signed by another key
 * would only be ignored), then adds --public-key to the revocation list (mesh_revoke_cmd.c).
 * Without --etcd (signing offline): prints "ETCD-KEY VALUE" for etcdctl put.
 */
static int check_revoker(struct tapir_etcd *e, const char *network, const uint8_t sk[64])
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	struct tapir_mesh_net net;

	if (tapir_mesh_load_net(e, network, &net) < 0)
		return -ENOENT;
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (net.has_admin_key && !memcmp(pk, net.admin_key, 32))
		return 0;
	fprintf(stderr, "tapir mesh: %s\n",
		net.has_admin_key ? "--admin-key is not the admin key of this network"
				  : "the network has no admin key (init --admin-pub): its agents "
				    "could not verify a revocation");
	return -EPERM;
}

static int cmd_revoke(struct args *a, struct tapir_etcd *e)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES], key[32];
	int r;

	if (!a->admin_key_file)
		return usage_error("--admin-key FILE is missing");
	if (!a->public_key || tapir_key_from_base64(key, a->public_key, strlen(a->public_key)) < 0)
		return usage_error("--public-key KEY is missing or not a base64 key");
	if (read_admin_key(a->admin_key_file, sk) < 0)
		return 1;
	r = e ? check_revoker(e, a->network, sk) : 0;
	if (r == 0)
		r = tapir_mesh_revoke_key(e, a->network, sk, key, a->list_file);
	tapir_wipe(sk, sizeof(sk));
	return r < 0 ? 1 : r;
}

/* --admin-pub KEY against the network's admin_key: both or neither, and equal. */
static int admin_key_of(const struct args *a, const struct tapir_mesh_net *net, uint8_t out[32])
{
	if (a->admin_pub && tapir_key_from_base64(out, a->admin_pub, strlen(a->admin_pub)) < 0)
		return usage_error("--admin-pub `%s' is not a base64 key", a->admin_pub);
	if (!a->admin_pub && net->has_admin_key) {
		fprintf(stderr,
			"tapir mesh: network `%s' is signed: give --admin-pub KEY (from "
			"the admin, not from etcd)\n",
			net->name);
		return 1;
	}
	if (a->admin_pub && net->has_admin_key && memcmp(out, net->admin_key, 32)) {
		fprintf(stderr, "tapir mesh: --admin-pub is not the admin key of `%s'\n",
			net->name);
		return 1;
	}
	if (a->admin_pub && !a->cert_file)
		return usage_error("--admin-pub needs --cert-file FILE (tapir mesh sign)");
	return 0;
}

static int cmd_init(struct args *a, struct tapir_etcd *e)
{
	struct tapir_mesh_net net = {
	    .subnet_len = (uint8_t)(a->subnet_len ? a->subnet_len : TAPIR_MESH_DEFAULT_SUBNET_LEN),
	    .port = (uint16_t)(a->port ? a->port : TAPIR_MESH_DEFAULT_PORT),
	    .mtu = (uint16_t)(a->mtu ? a->mtu : TAPIR_MESH_DEFAULT_MTU),
	    .keepalive_s =
		(uint16_t)(a->keepalive >= 0 ? a->keepalive : TAPIR_MESH_DEFAULT_KEEPALIVE_S)};
	char key[TAPIR_MESH_KEY_MAX], *value;
	const char *why;
	bool is_done = true;
	int r;

	if (!a->cidr || tapir_mesh_cidr_parse(a->cidr, &net.cidr_addr, &net.cidr_len) < 0)
		return usage_error("--cidr A.B.C.D/LEN is missing or not a network");
	if (a->mode && strcmp(a->mode, "tun") && strcmp(a->mode, "tap"))
		return usage_error("--mode: `%s' is not tun or tap", a->mode);
	net.is_tap = a->mode && !strcmp(a->mode, "tap");
	if (tapir_mesh_net_check(&net, &why) < 0)
		return usage_error("%s", why);
	net.has_admin_key = a->admin_pub != NULL;
	if (a->admin_pub &&
	    tapir_key_from_base64(net.admin_key, a->admin_pub, strlen(a->admin_pub)) < 0)
		return usage_error("--admin-pub `%s' is not a base64 key", a->admin_pub);
	snprintf(net.name, sizeof(net.name), "%s", a->network);
	tapir_mesh_prefix(key, a->network, "config");
	value = tapir_mesh_net_format(&net);
	if (!value)
		return 1;
	if (a->is_force)
		r = tapir_etcd_put(e, key, value, 0);
	else
		r = tapir_etcd_put_if(e, key, value, 0, 0, &is_done);
	if (r < 0)
		fprintf(stderr, "tapir mesh: cannot write %s: %s\n", key, strerror(-r));
	else if (!is_done)
		fprintf(stderr, "tapir mesh: network `%s' exists already (--force replaces it)\n",
			a->network);
	else
		printf("%s = %s\n", key, value);
	free(value);
	return r == 0 && is_done ? 0 : 1;
}

static int cmd_join(struct args *a, struct tapir_etcd *e)
{
	struct tapir_mesh_join_opts o = {
	    .ifname = a->ifname,
	    .endpoint = a->endpoint,
	    .state_dir = a->state_dir ? a->state_dir : DEFAULT_STATE_DIR,
	    .port = (int)a->port,
	    .ttl_s = (int)(a->ttl ? a->ttl : TAPIR_MESH_DEFAULT_TTL_S),
	};
	struct tapir_mesh_net net;
	char cert[TAPIR_MESH_CERT_TEXT];
	uint8_t admin[32];
	int r;

	if (!a->ifname)
		return usage_error("--interface IFNAME is missing");
	if (tapir_mesh_load_net(e, a->network, &net) < 0)
		return 1;
	r = admin_key_of(a, &net, admin);
	if (r)
		return r;
	if (a->cert_file && (r = read_line(a->cert_file, cert, sizeof(cert))) < 0) {
		fprintf(stderr, "tapir mesh: %s: %s\n", a->cert_file, strerror(-r));
		return 1;
	}
	o.admin_key = a->admin_pub ? admin : NULL;
	o.cert = a->cert_file ? cert : NULL;
	if (a->trace_apply && !(o.trace_apply = fopen(a->trace_apply, "ae"))) {
		fprintf(stderr, "tapir mesh: %s: %s\n", a->trace_apply, strerror(errno));
		return 1;
	}
	r = tapir_mesh_join(e, &net, &o) < 0 ? 1 : 0;
	if (o.trace_apply)
		fclose(o.trace_apply);
	return r;
}

static bool is_our_agent(long pid)
{
	char path[64], comm[32] = {0};
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/comm", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return !strcmp(comm, "tapir\n");
}

static int cmd_leave(struct args *a, struct tapir_etcd *e)
{
	const char *dir = a->state_dir ? a->state_dir : DEFAULT_STATE_DIR;
	struct tapir_mesh_state st;
	bool is_stopped = false;

	if (tapir_mesh_state_read(dir, a->network, &st) < 0) {
		fprintf(stderr, "tapir mesh: not a member of `%s' (no %s/%s.state)\n", a->network,
			dir, a->network);
		return 1;
	}
	if (st.pid > 1 && st.pid != (long)getpid() && is_our_agent(st.pid) &&
	    kill((pid_t)st.pid, SIGTERM) == 0) {
		/* the agent revokes its lease as it exits */
		for (int i = 0; i < LEAVE_WAIT_MS / STEP_MS && !is_stopped; i++) {
			tapir_cli_sleep_ms(STEP_MS);
			is_stopped = kill((pid_t)st.pid, 0) < 0;
		}
	}
	if (!is_stopped && e && st.lease)
		is_stopped = tapir_etcd_lease_revoke(e, st.lease) == 0;
	tapir_mesh_state_remove(dir, a->network);
	printf("left `%s'%s\n", a->network, is_stopped ? "" : " (lease not revoked: it expires)");
	return 0;
}

/* tapird's peers on @ifname (hex keys, one per line) and its own public key. */
static char *peers_of(const char *ifname, uint8_t self[32])
{
	char *reply = NULL, *out = NULL, hex[TAPIR_KEY_HEX_LEN + 1];
	uint8_t priv[32];
	size_t len = 0, n = 0;
	FILE *f;

	memset(self, 0, 32);
	if (tapir_uapi_get(ifname, false, &reply, &len) < 0)
		return NULL;
	f = open_memstream(&out, &n);
	for (char *p = reply; f && p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, "public_key=", 11) && sscanf(p + 11, "%64s", hex) == 1)
			fprintf(f, "%s\n", hex);
		if (!strncmp(p, "private_key=", 12) && !tapir_key_from_hex(priv, p + 12, 64)) {
			tapir_x25519_public(self, priv);
			tapir_wipe(priv, sizeof(priv));
		}
	}
	if (f)
		fclose(f);
	explicit_bzero(reply, len);
	free(reply);
	return out;
}

static const char *role(const struct tapir_mesh_host *h, const char *peers, const uint8_t *self)
{
	char hex[TAPIR_KEY_HEX_LEN + 1];

	if (!peers)
		return "";
	if (tapir_memeq_ct(h->public_key, self, 32))
		return "this host";
	tapir_key_to_hex(hex, h->public_key);
	return strstr(peers, hex) ? "peer here" : "not a peer here";
}

/* status: the trust state the agent on this host wrote (DIR/NAME.trust) into @line; 0 or -1. */
static int read_trust(const struct args *a, char *line, size_t max)
{
	char path[STATE_DIR_MAX + TAPIR_MESH_NAME_MAX + 16];

	snprintf(path, sizeof(path), "%s/%s.trust", a->state_dir ? a->state_dir : DEFAULT_STATE_DIR,
		 a->network);
	return read_line(path, line, max) == 0 ? 0 : -1;
}

static void json_add(struct json_object *o, const char *name, struct json_object *v)
{
	json_object_object_add(o, name, v);
}

/* status: the agent's trust line, as text (@out NULL) or into @out. */
static void status_agent(const struct args *a, struct json_object *out)
{
	char trust[512];
	bool has_trust = read_trust(a, trust, sizeof(trust)) == 0;

	if (!out && has_trust)
		printf("agent here: %s\n", trust);
	else if (out)
		json_add(out, "agent", has_trust ? json_object_new_string(trust) : NULL);
}

static struct json_object *json_net(const struct tapir_mesh_net *net, const char *cidr)
{
	struct json_object *o = json_object_new_object();
	char text[TAPIR_MESH_CIDR_TEXT + 4];

	snprintf(text, sizeof(text), "%s/%u", cidr, net->cidr_len);
	json_add(o, "name", json_object_new_string(net->name));
	json_add(o, "cidr", json_object_new_string(text));
	json_add(o, "subnet_len", json_object_new_int(net->subnet_len));
	json_add(o, "mode", json_object_new_string(tapir_mesh_mode_name(net)));
	json_add(o, "port", json_object_new_int(net->port));
	json_add(o, "mtu", json_object_new_int(net->mtu));
	json_add(o, "keepalive", json_object_new_int(net->keepalive_s));
	return o;
}

static struct json_object *json_revocations(const struct tapir_mesh_revlist_status *st,
					    const struct tapir_mesh_revlist *revoked)
{
	struct json_object *o = json_object_new_object(), *keys = json_object_new_array();
	char b64[TAPIR_KEY_BASE64_LEN + 1];

	json_add(o, "state", json_object_new_string(tapir_mesh_revlist_state_name(st->state)));
	if (st->state == TAPIR_REVLIST_VERIFIED) {
		json_add(o, "serial", json_object_new_uint64(st->serial));
		json_add(o, "issued_at", json_object_new_uint64(st->issued_at));
	} else if (st->state == TAPIR_REVLIST_IGNORED) {
		json_add(o, "why", json_object_new_string(st->why));
	}
	for (size_t i = 0; i < revoked->n; i++) {
		struct json_object *k = json_object_new_object();

		tapir_key_to_base64(b64, revoked->keys[i].public_key);
		json_add(k, "public_key", json_object_new_string(b64));
		json_add(k, "revoked_at", json_object_new_uint64(revoked->keys[i].revoked_at));
		json_object_array_add(keys, k);
	}
	json_add(o, "revoked", keys);
	return o;
}

static struct json_object *json_host(const struct tapir_mesh_host *h, const char *subnet,
				     int64_t lease, const char *role_text)
{
	struct json_object *o = json_object_new_object();
	char b64[TAPIR_KEY_BASE64_LEN + 1], hex[24];

	tapir_key_to_base64(b64, h->public_key);
	snprintf(hex, sizeof(hex), "%llx", (unsigned long long)lease);
	json_add(o, "subnet", json_object_new_string(subnet));
	json_add(o, "public_key", json_object_new_string(b64));
	json_add(o, "endpoint", json_object_new_string(h->endpoint));
	json_add(o, "lease", json_object_new_string(hex));
	json_add(o, "hostname", h->hostname[0] ? json_object_new_string(h->hostname) : NULL);
	json_add(o, "role", role_text[0] ? json_object_new_string(role_text) : NULL);
	return o;
}

/*
 * status: the network, its hosts (with --interface: whether each is a peer here), the
 * revocation list and this host's agent. --json: the same as one object (tapir(8), JSON
 * OUTPUT); no text line then.
 */
static int cmd_status(struct args *a, struct tapir_etcd *e)
{
	char prefix[TAPIR_MESH_KEY_MAX], subnet[TAPIR_MESH_CIDR_TEXT], cidr[TAPIR_MESH_CIDR_TEXT];
	char b64[TAPIR_KEY_BASE64_LEN + 1], *peers = NULL;
	struct json_object *out = NULL, *hosts = NULL;
	FILE *text = a->is_json ? NULL : stdout;
	struct tapir_mesh_revlist_status st;
	struct tapir_etcd_kv *kvs = NULL;
	struct tapir_mesh_net net;
	struct tapir_mesh_host h;
	uint8_t self[32], admin[32];
	size_t n = 0, n_bad = 0, n_bad_revocations = 0, n_refused = 0;
	struct tapir_mesh_revlist revoked;
	const char *why;
	uint32_t s;

	if (tapir_mesh_load_net(e, a->network, &net) < 0)
		return 1;
	if (a->admin_pub && tapir_key_from_base64(admin, a->admin_pub, strlen(a->admin_pub)) < 0)
		return usage_error("--admin-pub `%s' is not a base64 key", a->admin_pub);
	tapir_mesh_prefix(prefix, a->network, "subnets/");
	if (tapir_mesh_read(e, prefix, true, &kvs, &n) < 0)
		return 1;
	if (a->ifname && !(peers = peers_of(a->ifname, self)))
		fprintf(stderr, "tapir mesh: no tapird answers on %s\n", a->ifname);
	tapir_mesh_subnet_text(cidr, &net, 0);
	*strchr(cidr, '/') = '\0';
	if (text)
		printf("network %s: %s/%u, subnets /%u, mode %s, port %u, mtu %u, keepalive %u s\n",
		       net.name, cidr, net.cidr_len, net.subnet_len, tapir_mesh_mode_name(&net),
		       net.port, net.mtu, net.keepalive_s);
	if (tapir_mesh_status_revocations(e, &net, a->admin_pub ? admin : NULL, &revoked,
					  &n_bad_revocations, &st, text) < 0) {
		tapir_etcd_kvs_free(kvs, n);
		free(peers);
		return 1;
	}
	if (!text) {
		out = json_object_new_object();
		hosts = json_object_new_array();
		json_add(out, "schema_version", json_object_new_int(1));
		json_add(out, "network", json_net(&net, cidr));
		json_add(out, "hosts", hosts);
	}
	for (size_t i = 0; i < n; i++) {
		if (tapir_mesh_key_subnet(&net, kvs[i].key, kvs[i].key_len, &s) < 0 ||
		    tapir_mesh_host_parse(&net, s, kvs[i].value, kvs[i].value_len, &h, &why) < 0 ||
		    (a->admin_pub &&
		     tapir_mesh_cert_verify(h.cert, admin, net.name, h.public_key,
					    tapir_mesh_subnet_addr(&net, s), net.subnet_len,
					    (uint64_t)time(NULL), &why) < 0)) {
			n_bad++;
			continue;
		}
		if (tapir_mesh_revlist_has(&revoked, h.public_key)) {
			n_refused++; /* the agents refuse it: its key is revoked */
			continue;
		}
		tapir_mesh_subnet_text(subnet, &net, s);
		if (!text) {
			json_object_array_add(
			    hosts, json_host(&h, subnet, kvs[i].lease, role(&h, peers, self)));
			continue;
		}
		tapir_key_to_base64(b64, h.public_key);
		printf("  %-18s %s  %-22s lease %llx  %s  %s\n", subnet, b64, h.endpoint,
		       (unsigned long long)kvs[i].lease, h.hostname[0] ? h.hostname : "-",
		       role(&h, peers, self));
	}
	if (text) {
		printf("%zu hosts, %zu records ignored\n", n - n_bad - n_refused, n_bad);
		if (revoked.n || n_bad_revocations || n_refused)
			printf("%zu keys revoked (%zu records of them refused), %zu revocations "
			       "ignored\n",
			       revoked.n, n_refused, n_bad_revocations);
		status_agent(a, NULL);
	} else {
		json_add(out, "records_ignored", json_object_new_uint64(n_bad));
		json_add(out, "records_refused", json_object_new_uint64(n_refused));
		json_add(out, "revocation_list", json_revocations(&st, &revoked));
		json_add(out, "revocations_ignored", json_object_new_uint64(n_bad_revocations));
		status_agent(a, out);
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(out);
	}
	tapir_etcd_kvs_free(kvs, n);
	tapir_mesh_revlist_free(&revoked);
	free(peers);
	return 0;
}

typedef int (*mesh_fn)(struct args *a, struct tapir_etcd *e);

static const struct {
	const char *name;
	mesh_fn fn;
	bool needs_etcd, needs_network;
} VERBS[] = {
    {"init", cmd_init, true, true},	  {"join", cmd_join, true, true},
    {"leave", cmd_leave, false, true},	  {"status", cmd_status, true, true},
    {"keygen", cmd_keygen, false, false}, {"sign", cmd_sign, false, true},
    {"revoke", cmd_revoke, false, true},
};

int tapir_cmd_mesh(int argc, char **argv)
{
	struct args a = {.keepalive = -1, .revocation_serial = -1};
	struct tapir_etcd *e = NULL;
	int r;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(USAGE, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "demo"))
		return tapir_mesh_demo(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cni"))
		return tapir_mesh_cni(argc - 1, argv + 1);
	for (size_t i = 0; i < sizeof(VERBS) / sizeof(VERBS[0]); i++) {
		if (strcmp(argv[1], VERBS[i].name))
			continue;
		a.needs_network = VERBS[i].needs_network;
		r = parse_args(&a, argc - 1, argv + 1);
		if (r)
			return r < 0 ? 0 : r;
		if ((VERBS[i].needs_etcd || a.etcd.endpoints) && (r = open_etcd(&a, &e)))
			return r;
		r = VERBS[i].fn(&a, e);
		tapir_etcd_close(e);
		return r;
	}
	return usage_error("unknown command `%s'", argv[1]);
}
