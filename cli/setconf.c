// SPDX-License-Identifier: MIT
/*
 * tapir set, setconf, addconf, syncconf: wg(8)'s grammar turned into one UAPI set request
 * (wireguard-protocol.md section 9.3), sent only once the whole command line or file has
 * been checked, so a mistake changes nothing. The request carries what wg(8) sends for the
 * same input:
 *   set       only what was given; allowed-ips replaces the peer's list (replace_allowed_ips)
 *             unless an entry is written +PREFIX (add) or -PREFIX (remove, newer daemons)
 *   setconf   private key, port and fwmark always (zero when absent), replace_peers, and
 *             replace_allowed_ips for every peer
 *   addconf   the file's keys, replace_allowed_ips for every peer, no replace_peers
 *   syncconf  setconf without replace_peers: the peers the daemon has and the file lacks
 *             get remove=true, so the others keep their sessions
 * Config files are plain wg(8) files (wg-quick keys such as Address are errors), parsed by
 * src/control/config.c. Host names in endpoints are resolved here (resolve.c, with wg(8)'s
 * retries); the daemon only takes numeric endpoints. Keys are read from files, never from the
 * command line, and every copy is wiped.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "config.h"
#include "crypto.h"
#include "encoding.h"
#include "resolve.h"
#include "secbuf.h"
#include "uapi_client.h"

enum {
	CONFIG_MAX_BYTES = 16 * 1024 * 1024,
	ERR_BYTES = 512,
	INITIAL_PEERS = 4,
	ADDR_TEXT_BYTES = 64,
};

static const char SET_USAGE[] =
    "Usage: tapir set <interface> [listen-port <port>] [fwmark <mark>]\n"
    "       [private-key <file path>] [tcp-listen on|off]\n"
    "       [metrics-listen <ip>:<port>|off]\n"
    "       [peer <base64 public key> [remove] [preshared-key <file path>]\n"
    "        [endpoint [tcp://]<host>:<port>] [persistent-keepalive <interval seconds>|off]\n"
    "        [allowed-ips [+|-]<ip1>/<cidr1>[,[+|-]<ip2>/<cidr2>]...]\n"
    "        [compression lz4|off] ]...\n";

static bool is_help_arg(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h");
}

static const char *errno_text(int err)
{
	return err == -ENOENT ? "No such device" : strerror(-err);
}

/* ---------------------------------------------------------------- sending */

/*
 * Serialises @conf and sends it to @ifname. tapir_conf_to_uapi_set() writes a whole
 * request ("set=1\n" ... "\n"); the client wants only the lines in between.
 */
static int send_conf(const char *cmd, const char *ifname, const struct tapir_conf *conf)
{
	static const char head[] = "set=1\n";
	size_t len = 0, head_len = sizeof(head) - 1;
	char *req = tapir_conf_to_uapi_set(conf, false, &len);
	int r;

	if (!req) {
		fprintf(stderr, "tapir %s: out of memory\n", cmd);
		return 1;
	}
	if (len < head_len + 1 || memcmp(req, head, head_len) || req[len - 1] != '\n')
		r = -EPROTO;
	else
		r = tapir_uapi_set(ifname, req + head_len, len - head_len - 1);
	tapir_wipe(req, len);
	free(req);
	if (r) {
		fprintf(stderr, "tapir %s: unable to modify interface %s: %s\n", cmd, ifname,
			errno_text(r));
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- values */

/* Reads a base64 key file as wg(8): 44 characters and white space; empty means all zero. */
static int read_key_file(const char *cmd, const char *path, uint8_t key[32])
{
	char b64[TAPIR_KEY_BASE64_LEN + 1] = "";
	size_t n;
	FILE *f = fopen(path, "re");
	int c, r = -1;

	if (!f) {
		fprintf(stderr, "tapir %s: %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	n = fread(b64, 1, TAPIR_KEY_BASE64_LEN, f);
	if (!n && feof(f) && !ferror(f)) {
		/* /dev/null or an empty file: remove the key. */
		memset(key, 0, 32);
		r = 0;
		goto out;
	}
	while (n == TAPIR_KEY_BASE64_LEN && (c = getc(f)) != EOF) {
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f') {
			fprintf(stderr, "tapir %s: %s: trailing characters after the key\n", cmd,
				path);
			goto out;
		}
	}
	if (ferror(f) || n != TAPIR_KEY_BASE64_LEN ||
	    tapir_key_from_base64(key, b64, TAPIR_KEY_BASE64_LEN)) {
		fprintf(stderr, "tapir %s: %s: key is not the correct length or format\n", cmd,
			path);
		goto out;
	}
	r = 0;
out:
	tapir_wipe(b64, sizeof(b64));
	fclose(f);
	return r;
}

static int parse_ulong(const char *s, int base, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, base);
	return errno || *end || *out > max ? -EINVAL : 0;
}

/* A number, or a UDP service name as wg(8) accepts it. */
static int parse_port(const char *s, uint16_t *port)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_DGRAM,
	    .ai_protocol = IPPROTO_UDP,
	    .ai_flags = AI_PASSIVE,
	};
	struct addrinfo *res;
	unsigned long v;

	if (*s >= '0' && *s <= '9') {
		/* Numbers are not services: getaddrinfo() would wrap 70000 to 4464. */
		if (parse_ulong(s, 10, UINT16_MAX, &v))
			return -EINVAL;
		*port = (uint16_t)v;
		return 0;
	}
	if (getaddrinfo(NULL, s, &hints, &res))
		return -EINVAL;
	/* sin_port and sin6_port share their offset. */
	*port = ntohs(((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_port);
	freeaddrinfo(res);
	return 0;
}

/* "off", decimal or 0x hex, as wg(8). */
static int parse_fwmark(const char *s, uint32_t *mark)
{
	unsigned long v;

	if (!strcmp(s, "off")) {
		*mark = 0;
		return 0;
	}
	if (parse_ulong(s, 0, UINT32_MAX, &v))
		return -EINVAL;
	*mark = (uint32_t)v;
	return 0;
}

static int parse_keepalive(const char *s, uint16_t *interval)
{
	unsigned long v;

	if (!strcmp(s, "off")) {
		*interval = 0;
		return 0;
	}
	if (parse_ulong(s, 10, UINT16_MAX, &v))
		return -EINVAL;
	*interval = (uint16_t)v;
	return 0;
}

/* "host:port" or "[v6addr]:port" (the brackets are needed around IPv6 addresses). */
static int parse_endpoint(const char *value, union tapir_sockaddr *out)
{
	char *copy = strdup(value), *host, *port;
	int r = -1;

	if (!copy) {
		fprintf(stderr, "tapir set: out of memory\n");
		return -1;
	}
	if (copy[0] == '[') {
		host = copy + 1;
		port = strchr(host, ']');
		if (!port || port[1] != ':' || !port[2]) {
			fprintf(stderr, "tapir set: unable to find the port of endpoint `%s'\n",
				value);
			goto out;
		}
		*port = '\0';
		port += 2;
	} else {
		host = copy;
		port = strrchr(copy, ':');
		if (!port || !port[1] || port == copy) {
			fprintf(stderr, "tapir set: unable to find the port of endpoint `%s'\n",
				value);
			goto out;
		}
		*port++ = '\0';
	}
	r = tapir_resolve_endpoint("tapir set", host, port, out) ? -1 : 0;
out:
	free(copy);
	return r;
}

/* ---------------------------------------------------------------- building a conf */

/* The array holds preshared keys: a secret buffer. */
static int add_conf_peer(struct tapir_conf *conf)
{
	if (conf->n_peers == conf->cap_peers) {
		size_t cap = conf->cap_peers ? conf->cap_peers * 2 : INITIAL_PEERS;
		struct tapir_conf_peer *peers = tapir_secbuf_grow(
		    conf->peers, conf->n_peers, conf->cap_peers, cap, sizeof(*peers));

		if (!peers)
			return -ENOMEM;
		conf->peers = peers;
		conf->cap_peers = cap;
	}
	memset(&conf->peers[conf->n_peers++], 0, sizeof(*conf->peers));
	return 0;
}

static int add_conf_aip(struct tapir_conf_peer *peer, const struct tapir_conf_allowed_ip *aip)
{
	if (peer->n_allowed_ips == peer->cap_allowed_ips) {
		size_t cap = peer->cap_allowed_ips ? peer->cap_allowed_ips * 2 : 4;
		struct tapir_conf_allowed_ip *a =
		    reallocarray(peer->allowed_ips, cap, sizeof(*peer->allowed_ips));

		if (!a)
			return -ENOMEM;
		peer->allowed_ips = a;
		peer->cap_allowed_ips = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = *aip;
	return 0;
}

/* One entry of an allowed-ips list: [+|-]addr[/cidr]. Sets *is_signed for + and -. */
static int parse_prefix(const char *s, struct tapir_conf_allowed_ip *aip, bool *is_signed)
{
	char text[ADDR_TEXT_BYTES];
	const char *slash;
	size_t addr_len;
	unsigned long cidr;

	memset(aip, 0, sizeof(*aip));
	*is_signed = *s == '+' || *s == '-';
	aip->is_removal = *s == '-';
	s += *is_signed;
	slash = strchr(s, '/');
	addr_len = slash ? (size_t)(slash - s) : strlen(s);
	if (!addr_len || addr_len >= sizeof(text))
		return -EINVAL;
	memcpy(text, s, addr_len);
	text[addr_len] = '\0';
	aip->family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(aip->family, text, aip->addr) != 1)
		return -EINVAL;
	cidr = aip->family == AF_INET ? 32 : 128;
	if (slash && parse_ulong(slash + 1, 10, cidr, &cidr))
		return -EINVAL;
	aip->cidr = (uint8_t)cidr;
	return 0;
}

/* A comma-separated list (blanks ignored, empty = none), replacing the list unless signed. */
static int parse_allowed_ips(struct tapir_conf_peer *peer, const char *value)
{
	char *list = malloc(strlen(value) + 1), *item, *save = NULL;
	struct tapir_conf_allowed_ip aip;
	bool is_signed, has_signed = false;
	size_t n = 0;
	int r = 0;

	if (!list)
		return -ENOMEM;
	for (const char *p = value; *p; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n')
			list[n++] = *p;
	}
	list[n] = '\0';
	for (item = strtok_r(list, ",", &save); item && !r; item = strtok_r(NULL, ",", &save)) {
		r = parse_prefix(item, &aip, &is_signed);
		if (r)
			fprintf(stderr, "tapir set: invalid allowed IP `%s'\n", item);
		else
			r = add_conf_aip(peer, &aip);
		has_signed |= is_signed;
	}
	peer->replace_allowed_ips = !has_signed;
	free(list);
	return r;
}

/* ---------------------------------------------------------------- tapir set */

/* The device-level words; valid only before the first peer. Returns 1 if consumed. */
static int set_device_word(struct tapir_conf *conf, const char *word, const char *value)
{
	if (!strcmp(word, "listen-port")) {
		if (parse_port(value, &conf->listen_port)) {
			fprintf(stderr, "tapir set: invalid port `%s'\n", value);
			return -1;
		}
		conf->has_listen_port = true;
	} else if (!strcmp(word, "fwmark")) {
		if (parse_fwmark(value, &conf->fwmark)) {
			fprintf(stderr,
				"tapir set: fwmark is neither off nor a 32-bit number: "
				"`%s'\n",
				value);
			return -1;
		}
		conf->has_fwmark = true;
	} else if (!strcmp(word, "private-key")) {
		if (read_key_file("set", value, conf->private_key))
			return -1;
		conf->has_private_key = true;
	} else if (!strcmp(word, "tcp-listen")) {
		/* tapir's TCP listener (tapird only; off by default) */
		if (strcmp(value, "on") && strcmp(value, "off")) {
			fprintf(stderr, "tapir set: tcp-listen is neither on nor off: `%s'\n",
				value);
			return -1;
		}
		conf->has_tcp_listen = true;
		conf->is_tcp_listen = !strcmp(value, "on");
	} else if (!strcmp(word, "metrics-listen")) {
		/* tapird's HTTP metrics endpoint (off by default) */
		memset(&conf->metrics_listen, 0, sizeof(conf->metrics_listen));
		if (strcmp(value, "off") &&
		    tapir_sockaddr_parse_listen(&conf->metrics_listen, value, strlen(value))) {
			fprintf(stderr,
				"tapir set: metrics-listen is neither off nor a numeric "
				"<ip>:<port> with a port other than 0: `%s'\n",
				value);
			return -1;
		}
		conf->has_metrics_listen = true;
	} else {
		return 0;
	}
	return 1;
}

/* The per-peer words that take a value. Returns 1 if consumed, 0 if unknown, -1 on error. */
static int set_peer_word(struct tapir_conf_peer *peer, const char *word, const char *value)
{
	if (!strcmp(word, "endpoint")) {
		/* tapir's TCP transport: tcp://host:port (tapird only) */
		if (!strncasecmp(value, "tcp://", 6) || !strncasecmp(value, "udp://", 6)) {
			peer->has_transport = true;
			peer->is_tcp = !strncasecmp(value, "tcp://", 6);
			value += 6;
		}
		if (parse_endpoint(value, &peer->endpoint))
			return -1;
		peer->has_endpoint = true;
	} else if (!strcmp(word, "allowed-ips")) {
		int r = parse_allowed_ips(peer, value);

		if (r == -ENOMEM)
			fprintf(stderr, "tapir set: out of memory\n");
		if (r)
			return -1;
	} else if (!strcmp(word, "persistent-keepalive")) {
		if (parse_keepalive(value, &peer->persistent_keepalive_interval)) {
			fprintf(stderr,
				"tapir set: persistent keepalive interval is neither "
				"off nor 0-65535: `%s'\n",
				value);
			return -1;
		}
		peer->has_persistent_keepalive = true;
	} else if (!strcmp(word, "preshared-key")) {
		if (read_key_file("set", value, peer->preshared_key))
			return -1;
		peer->has_preshared_key = true;
	} else if (!strcmp(word, "compression")) {
		/* tapir's opt-in LZ4 (tapird only) */
		if (strcmp(value, "lz4") && strcmp(value, "off")) {
			fprintf(stderr, "tapir set: compression is neither lz4 nor off: `%s'\n",
				value);
			return -1;
		}
		peer->has_compression = true;
		peer->is_lz4 = !strcmp(value, "lz4");
	} else {
		return 0;
	}
	return 1;
}

static int start_peer(struct tapir_conf *conf, const char *b64)
{
	if (add_conf_peer(conf)) {
		fprintf(stderr, "tapir set: out of memory\n");
		return -1;
	}
	if (tapir_key_from_base64(conf->peers[conf->n_peers - 1].public_key, b64, strlen(b64))) {
		fprintf(stderr, "tapir set: key is not the correct length or format: `%s'\n", b64);
		return -1;
	}
	return 0;
}

/*
 * Parses "set" arguments (after the interface name) into @conf. Returns 0, 1 for a bad
 * value or 2 for a word out of place, after a message.
 */
static int parse_set_args(struct tapir_conf *conf, int argc, char **argv)
{
	struct tapir_conf_peer *peer = NULL;
	int i = 0;

	while (i < argc) {
		const char *word = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
		int r;

		if (peer && !strcmp(word, "remove")) {
			peer->remove = true;
			i++;
			continue;
		}
		if (!value)
			r = 0;
		else if (!strcmp(word, "peer"))
			r = start_peer(conf, value) ? -1 : 1;
		else if (!peer)
			r = set_device_word(conf, word, value);
		else
			r = set_peer_word(peer, word, value);
		if (r < 0)
			return 1;
		if (!r) {
			fprintf(stderr, "tapir set: invalid argument: %s\n", word);
			return 2;
		}
		if (!strcmp(word, "peer"))
			peer = &conf->peers[conf->n_peers - 1];
		i += 2;
	}
	return 0;
}

int tapir_cmd_set(int argc, char **argv)
{
	struct tapir_conf conf = {0};
	int r;

	if (argc >= 2 && is_help_arg(argv[1])) {
		printf(
		    "%s\nChanges the configuration of a running interface, as wg set does.\n"
		    "Key files hold one base64 key; /dev/null or an empty file removes the key.\n"
		    "An endpoint host name is retried per WG_ENDPOINT_RESOLUTION_RETRIES\n"
		    "(default 15, or infinity), as wg(8) does.\n"
		    "tapird only: tcp-listen on makes tapird listen on TCP at its listen port too\n"
		    "(off by default: a TCP probe gets a reset); endpoint tcp://host:port sends\n"
		    "to that peer over TCP (connecting out: no listener needed on this side, one\n"
		    "on the peer's); compression lz4 compresses what goes to that peer once it\n"
		    "announces LZ4 too (off by default: compression next to secrets leaks them\n"
		    "through packet sizes, see tapir.conf(5)).\n"
		    "metrics-listen 127.0.0.1:9586 makes tapird serve GET /metrics (what tapir "
		    "show\n"
		    "<interface> metrics prints) over HTTP there; off stops it (the default).\n",
		    SET_USAGE);
		return 0;
	}
	if (argc < 3) {
		fputs(SET_USAGE, stderr);
		return 2;
	}
	r = parse_set_args(&conf, argc - 2, argv + 2);
	if (r == 2)
		fputs(SET_USAGE, stderr);
	if (!r)
		r = send_conf("set", argv[1], &conf);
	tapir_conf_free(&conf);
	return r;
}

/* ---------------------------------------------------------------- config files */

/* Reads a whole file into a new buffer (*out, owned by the caller, wiped before freeing). */
static int read_file(const char *cmd, const char *path, char **out, size_t *len_out)
{
	FILE *f = fopen(path, "re");
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int r = 0;

	if (!f) {
		fprintf(stderr, "tapir %s: %s: %s\n", cmd, path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			size_t new_cap = cap ? cap * 2 : 4096;
			/* the file holds keys: a secret buffer */
			char *b = new_cap <= CONFIG_MAX_BYTES
				      ? tapir_secbuf_grow(buf, len, cap, new_cap, 1)
				      : NULL;

			if (!b) {
				fprintf(stderr, "tapir %s: %s: %s\n", cmd, path,
					new_cap > CONFIG_MAX_BYTES ? "file too large"
								   : "out of memory");
				r = -1;
				break;
			}
			buf = b;
			cap = new_cap;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n)
			continue;
		if (ferror(f)) {
			fprintf(stderr, "tapir %s: %s: read error\n", cmd, path);
			r = -1;
		}
		break;
	}
	fclose(f);
	if (r) {
		tapir_wipe(buf, cap);
		free(buf);
		return r;
	}
	*out = buf;
	*len_out = len;
	return 0;
}

/* Resolves the endpoints the parser kept as host names. */
static int resolve_endpoints(const char *cmd, const char *path, struct tapir_quick_conf *q)
{
	char port[8], who[ERR_BYTES];

	for (size_t i = 0; i < q->wg.n_peers; i++) {
		struct tapir_conf_peer *peer = &q->wg.peers[i];
		const struct tapir_config_endpoint *ep = &q->endpoints[i];

		if (peer->has_endpoint || !ep->host)
			continue;
		snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
		snprintf(who, sizeof(who), "tapir %s: %s:%zu: Endpoint", cmd, path, ep->line);
		if (tapir_resolve_endpoint(who, ep->host, port, &peer->endpoint))
			return -1;
		peer->has_endpoint = true;
	}
	return 0;
}

/* Reads, parses and resolves @path. Returns 0, or 1 after a message naming file and line. */
static int load_config(const char *cmd, const char *path, struct tapir_quick_conf *q)
{
	char err[ERR_BYTES];
	char *text = NULL;
	size_t len = 0;
	int r;

	if (read_file(cmd, path, &text, &len))
		return 1;
	r = tapir_config_parse(text, len, path, true, q, err, sizeof(err));
	tapir_wipe(text, len);
	free(text);
	if (r) {
		fprintf(stderr, "tapir %s: %s\n", cmd, err[0] ? err : strerror(-r));
		return 1;
	}
	if (resolve_endpoints(cmd, path, q)) {
		tapir_quick_conf_free(q);
		return 1;
	}
	return 0;
}

/* setconf and syncconf reset what the file leaves out, as wg(8) does. */
static void make_complete(struct tapir_conf *conf)
{
	conf->has_private_key = true; /* all zero when absent: removes the key */
	conf->has_listen_port = true;
	conf->has_fwmark = true;
	conf->replace_peers = true;
}

static void replace_allowed_ips(struct tapir_conf *conf)
{
	for (size_t i = 0; i < conf->n_peers; i++)
		conf->peers[i].replace_allowed_ips = true;
}

/* Public keys of the peers a running interface has, from a get reply. Caller frees. */
static int runtime_peers(const char *ifname, uint8_t (**keys)[32], size_t *n_out)
{
	static const char prefix[] = "public_key=";
	size_t len = 0, n = 0, plen = sizeof(prefix) - 1;
	char *reply = NULL, *line, *save = NULL;
	uint8_t(*arr)[32] = NULL;
	int r = tapir_uapi_get(ifname, false, &reply, &len);

	for (line = r ? NULL : strtok_r(reply, "\n", &save); line && !r;
	     line = strtok_r(NULL, "\n", &save)) {
		uint8_t(*a)[32];

		if (strncmp(line, prefix, plen))
			continue;
		a = reallocarray(arr, n + 1, sizeof(*arr));
		if (!a) {
			r = -ENOMEM;
			break;
		}
		arr = a;
		if (tapir_key_from_hex(arr[n++], line + plen, strlen(line + plen)))
			r = -EPROTO;
	}
	if (reply)
		tapir_wipe(reply, len);
	free(reply);
	if (r) {
		free(arr);
		return r;
	}
	*keys = arr;
	*n_out = n;
	return 0;
}

static bool conf_has_peer(const struct tapir_conf *conf, const uint8_t key[32])
{
	for (size_t i = 0; i < conf->n_peers; i++) {
		if (tapir_memeq_ct(conf->peers[i].public_key, key, 32))
			return true;
	}
	return false;
}

/*
 * wg syncconf: removals for the running peers the file lacks (newest first, as wg(8) lists
 * them), then the file's configuration without replace_peers. Borrows @file's peers.
 */
static int sync_and_send(const char *ifname, struct tapir_conf *file)
{
	struct tapir_conf merged = *file;
	uint8_t(*keys)[32] = NULL;
	size_t n_keys = 0, n = 0;
	int r;

	/* With nothing on either side to keep, replace_peers does the job. */
	if (!file->n_peers)
		return send_conf("syncconf", ifname, file);
	r = runtime_peers(ifname, &keys, &n_keys);
	if (r) {
		fprintf(stderr, "tapir syncconf: unable to read the configuration of %s: %s\n",
			ifname, errno_text(r));
		return 1;
	}
	merged.replace_peers = !n_keys;
	merged.peers = calloc(n_keys + file->n_peers, sizeof(*merged.peers));
	if (!merged.peers) {
		free(keys);
		fprintf(stderr, "tapir syncconf: out of memory\n");
		return 1;
	}
	for (size_t i = n_keys; i-- > 0;) {
		if (conf_has_peer(file, keys[i]))
			continue;
		memcpy(merged.peers[n].public_key, keys[i], 32);
		merged.peers[n++].remove = true;
	}
	memcpy(merged.peers + n, file->peers, file->n_peers * sizeof(*merged.peers));
	merged.n_peers = n + file->n_peers;
	merged.cap_peers = n_keys + file->n_peers;
	r = send_conf("syncconf", ifname, &merged);
	/* The copies of the file's peers share their allowed-IP arrays: wipe, do not free. */
	tapir_wipe(merged.peers, merged.cap_peers * sizeof(*merged.peers));
	free(merged.peers);
	free(keys);
	return r;
}

static int conf_command(const char *cmd, int argc, char **argv)
{
	struct tapir_quick_conf q;
	int r;

	if (argc >= 2 && is_help_arg(argv[1])) {
		printf("Usage: tapir %s <interface> <configuration filename>\n\n"
		       "%s the [Interface]/[Peer] file (wg(8) format, plus tapir's daemon keys;\n"
		       "wg-quick and tapir up keys such as Address are errors: tapir strip\n"
		       "removes them) to the running interface. Nothing changes when the file\n"
		       "has an error; the message names its line. Endpoint host names are\n"
		       "retried per WG_ENDPOINT_RESOLUTION_RETRIES (default 15, or infinity).\n"
		       "Reload a tapir up interface: tapir syncconf wg0 <(tapir strip wg0)\n",
		       cmd,
		       !strcmp(cmd, "setconf") ? "Replaces the configuration with"
		       : !strcmp(cmd, "addconf")
			   ? "Adds the peers and settings of"
			   : "Synchronizes, keeping the sessions of unchanged "
			     "peers,");
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "Usage: tapir %s <interface> <configuration filename>\n", cmd);
		return 2;
	}
	if (load_config(cmd, argv[2], &q))
		return 1;
	replace_allowed_ips(&q.wg);
	if (strcmp(cmd, "addconf"))
		make_complete(&q.wg);
	if (!strcmp(cmd, "syncconf"))
		r = sync_and_send(argv[1], &q.wg);
	else
		r = send_conf(cmd, argv[1], &q.wg);
	tapir_quick_conf_free(&q);
	return r;
}

int tapir_cmd_setconf(int argc, char **argv)
{
	return conf_command("setconf", argc, argv);
}

int tapir_cmd_addconf(int argc, char **argv)
{
	return conf_command("addconf", argc, argv);
}

int tapir_cmd_syncconf(int argc, char **argv)
{
	return conf_command("syncconf", argc, argv);
}
