// SPDX-License-Identifier: MIT
/*
 * tapir show and tapir showconf: a UAPI "get" (wireguard-protocol.md section 9.2) rendered
 * exactly as wg(8) renders it (the human-readable form, every single field, the
 * tab-separated "dump", and the [Interface]/[Peer] file of showconf), plus tapir's additions:
 * the "drops", "tcp", "compression", "icmp" and "metrics" (cli/metrics.c) fields and --json.
 * Private and preshared keys are shown only where wg(8) shows them (dump, private-key,
 * preshared-keys, showconf); the human-readable form says "(hidden)" unless WG_HIDE_KEYS=never,
 * and --json and metrics never carry them.
 *
 * The --json schema (schema_version 1) is documented in tapir(8), JSON OUTPUT; the test
 * t5103-show-json-schema checks that every key printed here is listed there and back, so a new
 * key goes into both. The layout is fixed (two-space indent, one key per line, allowed_ips and
 * macs on one line) so grep and sed work without a JSON parser.
 * This file only reads from the daemon.
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "crypto.h"
#include "encoding.h"
#include "extension.h"
#include "parse.h"
#include "secbuf.h"
#include "show.h"
#include "uapi_client.h"
#include "util.h"

enum {
	ENDPOINT_TEXT_BYTES = 128, /* "tcp://" + [numeric IPv6%scope]:port */
	ADDR_TEXT_BYTES = 64,
	INITIAL_PEERS = 8,
	SECONDS_PER_MINUTE = 60,
	SECONDS_PER_HOUR = 60 * 60,
	SECONDS_PER_DAY = 24 * 60 * 60,
	SECONDS_PER_YEAR = 365 * 24 * 60 * 60,
	JSON_SCHEMA_VERSION = 1, /* bumped only when a key changes meaning or goes away */
};

/* Terminal colours as wg(8) uses them; empty strings when colour is off. */
struct style {
	const char *reset, *bold, *green, *yellow, *cyan, *red;
};

static void device_free(struct device_info *dev)
{
	for (size_t i = 0; i < dev->n_peers; i++) {
		free(dev->peers[i].aips);
		free(dev->peers[i].macs);
	}
	if (dev->peers)
		tapir_wipe(dev->peers, dev->cap_peers * sizeof(*dev->peers));
	free(dev->peers);
	free(dev->drops);
	free(dev->tcp);
	free(dev->lz4);
	free(dev->icmp);
	free(dev->offload);
	tapir_wipe(dev, sizeof(*dev));
}

/* ---------------------------------------------------------------- parsing the get reply */

/* A number of the reply: plain decimal, at most @max; anything else is a protocol error. */
static int parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	return tapir_parse_u64(s, len, max, out) ? -EPROTO : 0;
}

/* The array holds preshared keys: a secret buffer. */
static int add_peer(struct device_info *dev)
{
	if (dev->n_peers == dev->cap_peers) {
		size_t cap = dev->cap_peers ? dev->cap_peers * 2 : INITIAL_PEERS;
		struct peer_info *peers = tapir_secbuf_grow(dev->peers, dev->n_peers,
							    dev->cap_peers, cap, sizeof(*peers));

		if (!peers)
			return -ENOMEM;
		dev->peers = peers;
		dev->cap_peers = cap;
	}
	memset(&dev->peers[dev->n_peers++], 0, sizeof(*dev->peers));
	return 0;
}

static int add_allowed_ip(struct peer_info *peer, const char *val, size_t len)
{
	const char *slash = memchr(val, '/', len);
	char text[ADDR_TEXT_BYTES];
	struct allowed_ip aip = {0}, *arr;
	size_t addr_len = slash ? (size_t)(slash - val) : 0;
	uint64_t cidr;

	if (!slash || !addr_len || addr_len >= sizeof(text))
		return -EPROTO;
	memcpy(text, val, addr_len);
	text[addr_len] = '\0';
	aip.family = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(aip.family, text, aip.addr) != 1 ||
	    parse_u64(slash + 1, len - addr_len - 1, aip.family == AF_INET ? 32 : 128, &cidr))
		return -EPROTO;
	aip.cidr = (uint8_t)cidr;
	arr = reallocarray(peer->aips, peer->n_aips + 1, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	peer->aips = arr;
	arr[peer->n_aips++] = aip;
	return 0;
}

static int add_mac(struct peer_info *peer, const char *val, size_t len)
{
	uint8_t(*arr)[6];
	unsigned int b[6];
	char text[18];

	if (len != 17)
		return -EPROTO;
	memcpy(text, val, len);
	text[len] = '\0';
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -EPROTO;
	arr = reallocarray(peer->macs, peer->n_macs + 1, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	peer->macs = arr;
	for (int i = 0; i < 6; i++)
		arr[peer->n_macs][i] = (uint8_t)b[i];
	peer->n_macs++;
	return 0;
}

static void mac_text(char out[18], const uint8_t mac[6])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* Appends a named counter (drops, TCP transport) to *@list. */
static int add_count(struct drop_count **list, size_t *n_list, const char *reason, size_t len,
		     const char *val, size_t val_len)
{
	struct drop_count *arr;
	uint64_t n;

	if (!len || len >= DROP_NAME_MAX_BYTES || parse_u64(val, val_len, UINT64_MAX, &n))
		return -EPROTO;
	arr = reallocarray(*list, *n_list + 1, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	*list = arr;
	memcpy(arr[*n_list].reason, reason, len);
	arr[*n_list].reason[len] = '\0';
	arr[(*n_list)++].count = n;
	return 0;
}

static bool is_key(const char *key, size_t len, const char *name)
{
	return len == strlen(name) && !memcmp(key, name, len);
}

static int parse_device_line(struct device_info *dev, const char *key, size_t klen, const char *val,
			     size_t vlen)
{
	static const char drop_prefix[] = "tapir_drop_", tcp_prefix[] = "tapir_tcp_",
			  lz4_prefix[] = "tapir_lz4_", icmp_prefix[] = "tapir_icmp_";
	size_t plen = sizeof(drop_prefix) - 1, tlen = sizeof(tcp_prefix) - 1,
	       zlen = sizeof(lz4_prefix) - 1, ilen = sizeof(icmp_prefix) - 1;
	uint64_t v;

	if (is_key(key, klen, "private_key")) {
		if (tapir_key_from_hex(dev->private_key, val, vlen))
			return -EPROTO;
		/* An all-zero key is "no key", as wg(8) reads it. */
		dev->has_private_key = !tapir_is_zero_ct(dev->private_key, 32);
		if (dev->has_private_key)
			tapir_x25519_public(dev->public_key, dev->private_key);
	} else if (is_key(key, klen, "listen_port")) {
		if (parse_u64(val, vlen, UINT16_MAX, &v))
			return -EPROTO;
		dev->listen_port = (uint16_t)v;
	} else if (is_key(key, klen, "fwmark")) {
		if (parse_u64(val, vlen, UINT32_MAX, &v))
			return -EPROTO;
		dev->fwmark = (uint32_t)v;
	} else if (is_key(key, klen, "tapir_workers")) {
		if (parse_u64(val, vlen, UINT64_MAX, &dev->workers))
			return -EPROTO;
		dev->is_tapird = true;
	} else if (is_key(key, klen, "tapir_mode")) {
		dev->is_tapird = true;
		dev->is_tap = vlen == 3 && !memcmp(val, "tap", 3);
	} else if (klen > plen && !memcmp(key, drop_prefix, plen)) {
		dev->is_tapird = true;
		return add_count(&dev->drops, &dev->n_drops, key + plen, klen - plen, val, vlen);
	} else if (is_key(key, klen, "tapir_tcp_listen")) {
		dev->is_tcp_listen = vlen == 4 && !memcmp(val, "true", 4);
	} else if (is_key(key, klen, "tapir_tcp_listen_port")) {
		if (parse_u64(val, vlen, UINT16_MAX, &v))
			return -EPROTO;
		dev->tcp_port = (uint16_t)v;
	} else if (klen > tlen && !memcmp(key, tcp_prefix, tlen)) {
		return add_count(&dev->tcp, &dev->n_tcp, key + tlen, klen - tlen, val, vlen);
	} else if (klen > zlen && !memcmp(key, lz4_prefix, zlen)) {
		return add_count(&dev->lz4, &dev->n_lz4, key + zlen, klen - zlen, val, vlen);
	} else if (klen > ilen && !memcmp(key, icmp_prefix, ilen)) {
		return add_count(&dev->icmp, &dev->n_icmp, key + ilen, klen - ilen, val, vlen);
	} else if (klen > 14 && !memcmp(key, "tapir_offload_", 14)) {
		return add_count(&dev->offload, &dev->n_offload, key + 14, klen - 14, val, vlen);
	}
	/* Unknown device keys are extensions of some other daemon: ignored, as wg(8) does. */
	return 0;
}

static int parse_peer_line(struct peer_info *peer, const char *key, size_t klen, const char *val,
			   size_t vlen)
{
	uint64_t v;

	if (is_key(key, klen, "preshared_key")) {
		if (tapir_key_from_hex(peer->preshared_key, val, vlen))
			return -EPROTO;
		peer->has_preshared_key = !tapir_is_zero_ct(peer->preshared_key, 32);
	} else if (is_key(key, klen, "endpoint")) {
		if (tapir_sockaddr_parse(&peer->endpoint, val, vlen))
			return -EPROTO;
	} else if (is_key(key, klen, "last_handshake_time_sec")) {
		return parse_u64(val, vlen, UINT64_MAX, &peer->handshake_sec);
	} else if (is_key(key, klen, "last_handshake_time_nsec")) {
		return parse_u64(val, vlen, UINT64_MAX, &peer->handshake_nsec);
	} else if (is_key(key, klen, "rx_bytes")) {
		return parse_u64(val, vlen, UINT64_MAX, &peer->rx_bytes);
	} else if (is_key(key, klen, "tx_bytes")) {
		return parse_u64(val, vlen, UINT64_MAX, &peer->tx_bytes);
	} else if (is_key(key, klen, "persistent_keepalive_interval")) {
		if (parse_u64(val, vlen, UINT16_MAX, &v))
			return -EPROTO;
		peer->keepalive_s = (uint16_t)v;
	} else if (is_key(key, klen, "allowed_ip")) {
		return add_allowed_ip(peer, val, vlen);
	} else if (is_key(key, klen, "tapir_learned_mac")) {
		return add_mac(peer, val, vlen);
	} else if (is_key(key, klen, "tapir_transport")) {
		peer->is_tcp = vlen == 3 && !memcmp(val, "tcp", 3);
	} else if (is_key(key, klen, "tapir_compression")) {
		peer->is_lz4 = vlen == 3 && !memcmp(val, "lz4", 3);
	} else if (is_key(key, klen, "tapir_caps")) {
		if (parse_u64(val, vlen, UINT32_MAX, &v))
			return -EPROTO;
		peer->remote_caps = (uint32_t)v;
	}
	return 0;
}

static int parse_line(struct device_info *dev, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	size_t klen, vlen;
	int r;

	if (!eq)
		return -EPROTO;
	klen = (size_t)(eq - line);
	vlen = len - klen - 1;
	if (is_key(line, klen, "public_key")) {
		r = add_peer(dev);
		if (r)
			return r;
		return tapir_key_from_hex(dev->peers[dev->n_peers - 1].public_key, eq + 1, vlen)
			   ? -EPROTO
			   : 0;
	}
	if (!dev->n_peers)
		return parse_device_line(dev, line, klen, eq + 1, vlen);
	return parse_peer_line(&dev->peers[dev->n_peers - 1], line, klen, eq + 1, vlen);
}

static int parse_get(struct device_info *dev, const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t line_len;
		int r;

		if (!nl)
			return -EPROTO;
		line_len = (size_t)(nl - (buf + pos));
		r = parse_line(dev, buf + pos, line_len);
		if (r)
			return r;
		pos += line_len + 1;
	}
	return 0;
}

/*
 * Fills @dev (zeroed first; free it with device_free() even on failure) from a get on
 * @name. @has_extensions asks tapird for its extension keys. Prints wg's message on error.
 */
static int fetch_device(struct device_info *dev, const char *name, bool has_extensions)
{
	char *reply = NULL;
	size_t len = 0;
	int r;

	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	r = tapir_uapi_get(name, has_extensions, &reply, &len);
	if (!r) {
		r = parse_get(dev, reply, len);
		tapir_wipe(reply, len);
	}
	free(reply);
	if (r == -ENOENT)
		fprintf(stderr, "Unable to access interface %s: No such device\n", name);
	else if (r)
		fprintf(stderr, "Unable to access interface %s: %s\n", name, strerror(-r));
	return r;
}

/* ---------------------------------------------------------------- formatting helpers */

static void key_text(char out[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32])
{
	tapir_key_to_base64(out, key);
}

/* The base64 of @key, or "(none)" when @has_key is false (wg's maybe_key). */
static const char *maybe_key(char buf[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32],
			     bool has_key)
{
	if (!has_key)
		return "(none)";
	key_text(buf, key);
	return buf;
}

/* The human-readable form hides secrets unless WG_HIDE_KEYS=never, like wg(8). */
static const char *masked_key(char buf[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32])
{
	const char *var = getenv("WG_HIDE_KEYS");

	if (var && !strcmp(var, "never")) {
		key_text(buf, key);
		return buf;
	}
	return "(hidden)";
}

/* "ip:port" or "[ipv6]:port" as wg(8) prints it (getnameinfo, so scopes show as names). */
static const char *endpoint_text(char out[ENDPOINT_TEXT_BYTES], const union tapir_sockaddr *ep)
{
	/* Numeric only: an IPv6 address with a scope name, and a port number. */
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1], serv[8];
	socklen_t len = ep->sa.sa_family == AF_INET ? sizeof(ep->in) : sizeof(ep->in6);

	if (getnameinfo(&ep->sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_DGRAM | NI_NUMERICSERV | NI_NUMERICHOST)) {
		/* Cannot happen for numeric addresses; fall back to tapir's own format. */
		if (tapir_sockaddr_format(out, ENDPOINT_TEXT_BYTES, ep) < 0)
			snprintf(out, ENDPOINT_TEXT_BYTES, "(invalid)");
		return out;
	}
	if (ep->sa.sa_family == AF_INET6 && strchr(host, ':'))
		snprintf(out, ENDPOINT_TEXT_BYTES, "[%s]:%s", host, serv);
	else
		snprintf(out, ENDPOINT_TEXT_BYTES, "%s:%s", host, serv);
	return out;
}

/* A peer's endpoint, "tcp://" first when it uses the TCP transport (tapir's own syntax). */
static const char *peer_endpoint_text(char out[ENDPOINT_TEXT_BYTES], const struct peer_info *peer)
{
	char text[ENDPOINT_TEXT_BYTES];

	endpoint_text(text, &peer->endpoint);
	snprintf(out, ENDPOINT_TEXT_BYTES, "%s%.100s", peer->is_tcp ? "tcp://" : "", text);
	return out;
}

static bool is_lz4_active(const struct peer_info *peer)
{
	return peer->is_lz4 && (peer->remote_caps & TAPIR_EXT_CAP_LZ4);
}

static const char *compression_text(const struct peer_info *peer)
{
	if (!peer->is_lz4)
		return "off";
	return is_lz4_active(peer) ? "lz4 (active)" : "lz4 (not announced by the peer)";
}

static bool has_endpoint(const struct peer_info *peer)
{
	return peer->endpoint.sa.sa_family == AF_INET || peer->endpoint.sa.sa_family == AF_INET6;
}

static const char *aip_text(char out[ADDR_TEXT_BYTES], const struct allowed_ip *aip)
{
	if (!inet_ntop(aip->family, aip->addr, out, ADDR_TEXT_BYTES))
		snprintf(out, ADDR_TEXT_BYTES, "(invalid)");
	return out;
}

/* "1 year, 2 days, 3 hours, 1 minute, 5 seconds" (parts that are zero are left out). */
static void pretty_time(const struct style *st, uint64_t left)
{
	static const struct {
		uint64_t seconds;
		const char *unit;
	} units[] = {
	    {SECONDS_PER_YEAR, "year"},
	    {SECONDS_PER_DAY, "day"},
	    {SECONDS_PER_HOUR, "hour"},
	    {SECONDS_PER_MINUTE, "minute"},
	    {1, "second"},
	};
	bool is_first = true;

	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(units); i++) {
		uint64_t n = left / units[i].seconds;

		left %= units[i].seconds;
		if (!n)
			continue;
		printf("%s%" PRIu64 " %s%s%s%s", is_first ? "" : ", ", n, st->cyan, units[i].unit,
		       n == 1 ? "" : "s", st->reset);
		is_first = false;
	}
}

static void print_ago(const struct style *st, uint64_t then)
{
	uint64_t now = (uint64_t)time(NULL);

	if (now == then)
		printf("Now");
	else if (now < then)
		printf("(%sSystem clock wound backward; connection problems may ensue.%s)", st->red,
		       st->reset);
	else {
		pretty_time(st, now - then);
		printf(" ago");
	}
}

static void print_bytes(const struct style *st, uint64_t b)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	size_t i = 0;

	if (b < 1024) {
		printf("%u %sB%s", (unsigned)b, st->cyan, st->reset);
		return;
	}
	v /= 1024;
	while (i + 1 < TAPIR_ARRAY_SIZE(units) && v >= 1024) {
		v /= 1024;
		i++;
	}
	printf("%.2f %s%s%s", v, st->cyan, units[i], st->reset);
}

static void style_init(struct style *st)
{
	const char *mode = getenv("WG_COLOR_MODE");
	bool is_color = mode && !strcmp(mode, "always");

	if (!mode || (strcmp(mode, "always") && strcmp(mode, "never")))
		is_color = isatty(STDOUT_FILENO);
	if (is_color)
		*st = (struct style){"\x1b[0m",	 "\x1b[1m",  "\x1b[32m",
				     "\x1b[33m", "\x1b[36m", "\x1b[31m"};
	else
		*st = (struct style){"", "", "", "", "", ""};
}

/* ---------------------------------------------------------------- human-readable form */

/* Most recent handshake first, peers that never had one last (wg's order); stable. */
static int cmp_handshake(const struct peer_info *a, const struct peer_info *b)
{
	bool a_never = !a->handshake_sec && !a->handshake_nsec;
	bool b_never = !b->handshake_sec && !b->handshake_nsec;

	if (a_never != b_never)
		return a_never ? 1 : -1;
	if (a->handshake_sec != b->handshake_sec)
		return a->handshake_sec > b->handshake_sec ? -1 : 1;
	if (a->handshake_nsec != b->handshake_nsec)
		return a->handshake_nsec > b->handshake_nsec ? -1 : 1;
	return 0;
}

/* Insertion sort of indices: stable, and peer tables are small enough. */
static size_t *sorted_peers(const struct device_info *dev)
{
	size_t *order = calloc(dev->n_peers ? dev->n_peers : 1, sizeof(*order));

	if (!order)
		return NULL;
	for (size_t i = 0; i < dev->n_peers; i++) {
		size_t j = i;

		while (j && cmp_handshake(&dev->peers[order[j - 1]], &dev->peers[i]) > 0) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	return order;
}

static void pretty_peer(const struct style *st, const struct peer_info *peer)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1], ep[ENDPOINT_TEXT_BYTES], ip[ADDR_TEXT_BYTES];

	key_text(b64, peer->public_key);
	printf("%s%speer%s: %s%s%s\n", st->yellow, st->bold, st->reset, st->yellow, b64, st->reset);
	if (peer->has_preshared_key)
		printf("  %spreshared key%s: %s\n", st->bold, st->reset,
		       masked_key(b64, peer->preshared_key));
	if (has_endpoint(peer))
		printf("  %sendpoint%s: %s\n", st->bold, st->reset, peer_endpoint_text(ep, peer));
	printf("  %sallowed ips%s: ", st->bold, st->reset);
	for (size_t i = 0; i < peer->n_aips; i++)
		printf("%s%s/%s%u%s", aip_text(ip, &peer->aips[i]), st->cyan, st->reset,
		       peer->aips[i].cidr, i + 1 < peer->n_aips ? ", " : "\n");
	if (!peer->n_aips)
		printf("(none)\n");
	if (peer->handshake_sec) {
		printf("  %slatest handshake%s: ", st->bold, st->reset);
		print_ago(st, peer->handshake_sec);
		printf("\n");
	}
	if (peer->rx_bytes || peer->tx_bytes) {
		printf("  %stransfer%s: ", st->bold, st->reset);
		print_bytes(st, peer->rx_bytes);
		printf(" received, ");
		print_bytes(st, peer->tx_bytes);
		printf(" sent\n");
	}
	if (peer->keepalive_s) {
		printf("  %spersistent keepalive%s: every ", st->bold, st->reset);
		pretty_time(st, peer->keepalive_s);
		printf("\n");
	}
	if (peer->is_lz4)
		printf("  %scompression%s: %s\n", st->bold, st->reset, compression_text(peer));
	if (peer->n_macs)
		printf("  %slearned macs%s: ", st->bold, st->reset);
	for (size_t i = 0; i < peer->n_macs; i++) {
		char mac[18];

		mac_text(mac, peer->macs[i]);
		printf("%s%s", mac, i + 1 < peer->n_macs ? ", " : "\n");
	}
	tapir_wipe(b64, sizeof(b64));
}

static int pretty_print(const struct device_info *dev)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	struct style st;
	size_t *order;

	style_init(&st);
	order = sorted_peers(dev);
	if (!order)
		return -ENOMEM;
	printf("%s", st.reset);
	printf("%s%sinterface%s: %s%s%s\n", st.green, st.bold, st.reset, st.green, dev->name,
	       st.reset);
	if (dev->has_private_key) {
		key_text(b64, dev->public_key);
		printf("  %spublic key%s: %s\n", st.bold, st.reset, b64);
		printf("  %sprivate key%s: %s\n", st.bold, st.reset,
		       masked_key(b64, dev->private_key));
	}
	if (dev->listen_port)
		printf("  %slistening port%s: %u\n", st.bold, st.reset, dev->listen_port);
	if (dev->fwmark)
		printf("  %sfwmark%s: 0x%x\n", st.bold, st.reset, dev->fwmark);
	if (dev->is_tap)
		printf("  %smode%s: tap (L2)\n", st.bold, st.reset);
	if (dev->is_tcp_listen && dev->tcp_port)
		printf("  %stcp listening port%s: %u\n", st.bold, st.reset, dev->tcp_port);
	else if (dev->is_tcp_listen)
		printf("  %stcp listening port%s: none (cannot listen)\n", st.bold, st.reset);
	for (size_t i = 0; i < dev->n_peers; i++) {
		printf("\n");
		pretty_peer(&st, &dev->peers[order[i]]);
	}
	tapir_wipe(b64, sizeof(b64));
	free(order);
	return 0;
}

/* ---------------------------------------------------------------- single fields and dump */

static void print_aips(const struct peer_info *peer, char sep, char end)
{
	char ip[ADDR_TEXT_BYTES];

	for (size_t i = 0; i < peer->n_aips; i++)
		printf("%s/%u%c", aip_text(ip, &peer->aips[i]), peer->aips[i].cidr,
		       i + 1 < peer->n_aips ? sep : end);
	if (!peer->n_aips)
		printf("(none)%c", end);
}

static void dump_print(const struct device_info *dev, const char *prefix)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1], ep[ENDPOINT_TEXT_BYTES];

	printf("%s%s\t", prefix, maybe_key(b64, dev->private_key, dev->has_private_key));
	printf("%s\t%u\t", maybe_key(b64, dev->public_key, dev->has_private_key), dev->listen_port);
	if (dev->fwmark)
		printf("0x%x\n", dev->fwmark);
	else
		printf("off\n");
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct peer_info *peer = &dev->peers[i];

		key_text(b64, peer->public_key);
		printf("%s%s\t", prefix, b64);
		printf("%s\t", maybe_key(b64, peer->preshared_key, peer->has_preshared_key));
		printf("%s\t", has_endpoint(peer) ? peer_endpoint_text(ep, peer) : "(none)");
		print_aips(peer, ',', '\t');
		printf("%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t", peer->handshake_sec,
		       peer->rx_bytes, peer->tx_bytes);
		if (peer->keepalive_s)
			printf("%u\n", peer->keepalive_s);
		else
			printf("off\n");
	}
	tapir_wipe(b64, sizeof(b64));
}

/* The part of a per-peer line after "[IFNAME\t]PUBKEY\t", for each per-peer field. */
static void peer_field(const char *field, const struct peer_info *peer)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1], ep[ENDPOINT_TEXT_BYTES];

	if (!strcmp(field, "endpoints"))
		printf("%s\n", has_endpoint(peer) ? peer_endpoint_text(ep, peer) : "(none)");
	else if (!strcmp(field, "allowed-ips"))
		print_aips(peer, ' ', '\n');
	else if (!strcmp(field, "latest-handshakes"))
		printf("%" PRIu64 "\n", peer->handshake_sec);
	else if (!strcmp(field, "transfer"))
		printf("%" PRIu64 "\t%" PRIu64 "\n", peer->rx_bytes, peer->tx_bytes);
	else if (!strcmp(field, "persistent-keepalive") && peer->keepalive_s)
		printf("%u\n", peer->keepalive_s);
	else if (!strcmp(field, "persistent-keepalive"))
		printf("off\n");
	else if (!strcmp(field, "preshared-keys"))
		printf("%s\n", maybe_key(b64, peer->preshared_key, peer->has_preshared_key));
	tapir_wipe(b64, sizeof(b64));
}

static const char *const device_fields[] = {
    "private-key", "public-key", "listen-port", "fwmark", "dump",
    "drops",	   "tcp",	 "compression", "icmp",	  "metrics",
};
static const char *const peer_fields[] = {
    "peers",	"preshared-keys",      "endpoints", "allowed-ips", "latest-handshakes",
    "transfer", "persistent-keepalive"};

static bool is_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(s, list[i]))
			return true;
	}
	return false;
}

static bool is_field(const char *s)
{
	return is_in(s, device_fields, TAPIR_ARRAY_SIZE(device_fields)) ||
	       is_in(s, peer_fields, TAPIR_ARRAY_SIZE(peer_fields));
}

/* One field of @dev; each line starts with "IFNAME\t" when @prefix is (show all FIELD). */
static void field_print(const struct device_info *dev, const char *field, const char *prefix)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];

	if (!strcmp(field, "dump"))
		dump_print(dev, prefix);
	else if (!strcmp(field, "private-key"))
		printf("%s%s\n", prefix, maybe_key(b64, dev->private_key, dev->has_private_key));
	else if (!strcmp(field, "public-key"))
		printf("%s%s\n", prefix, maybe_key(b64, dev->public_key, dev->has_private_key));
	else if (!strcmp(field, "listen-port"))
		printf("%s%u\n", prefix, dev->listen_port);
	else if (!strcmp(field, "fwmark") && dev->fwmark)
		printf("%s0x%x\n", prefix, dev->fwmark);
	else if (!strcmp(field, "fwmark"))
		printf("%soff\n", prefix);
	else if (!strcmp(field, "drops")) {
		for (size_t i = 0; i < dev->n_drops; i++)
			printf("%s%s\t%" PRIu64 "\n", prefix, dev->drops[i].reason,
			       dev->drops[i].count);
	} else if (!strcmp(field, "tcp")) {
		printf("%slisten\t%s\n", prefix, dev->is_tcp_listen ? "on" : "off");
		printf("%slisten_port\t%u\n", prefix, dev->tcp_port);
		for (size_t i = 0; i < dev->n_tcp; i++)
			printf("%s%s\t%" PRIu64 "\n", prefix, dev->tcp[i].reason,
			       dev->tcp[i].count);
	} else if (!strcmp(field, "icmp")) {
		for (size_t i = 0; i < dev->n_icmp; i++)
			printf("%s%s\t%" PRIu64 "\n", prefix, dev->icmp[i].reason,
			       dev->icmp[i].count);
	} else if (!strcmp(field, "compression")) {
		for (size_t i = 0; i < dev->n_lz4; i++)
			printf("%s%s\t%" PRIu64 "\n", prefix, dev->lz4[i].reason,
			       dev->lz4[i].count);
		for (size_t i = 0; i < dev->n_peers; i++) {
			key_text(b64, dev->peers[i].public_key);
			printf("%s%s\t%s\n", prefix, b64, compression_text(&dev->peers[i]));
		}
	} else {
		for (size_t i = 0; i < dev->n_peers; i++) {
			key_text(b64, dev->peers[i].public_key);
			printf("%s%s%s", prefix, b64, strcmp(field, "peers") ? "\t" : "\n");
			peer_field(field, &dev->peers[i]);
		}
	}
	tapir_wipe(b64, sizeof(b64));
}

/* ---------------------------------------------------------------- JSON */

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void json_peer(const struct peer_info *peer, bool is_tapird, bool is_first)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1], ep[ENDPOINT_TEXT_BYTES], ip[ADDR_TEXT_BYTES];

	key_text(b64, peer->public_key);
	printf("%s        {\n          \"public_key\": \"%s\",\n", is_first ? "\n" : ",\n", b64);
	printf("          \"preshared_key\": %s,\n", peer->has_preshared_key ? "true" : "false");
	printf("          \"endpoint\": ");
	if (has_endpoint(peer))
		json_string(endpoint_text(ep, &peer->endpoint)); /* transport is its own key */
	else
		printf("null");
	printf(",\n          \"allowed_ips\": [");
	for (size_t i = 0; i < peer->n_aips; i++)
		printf("%s\"%s/%u\"", i ? ", " : "", aip_text(ip, &peer->aips[i]),
		       peer->aips[i].cidr);
	printf("],\n          \"latest_handshake\": %" PRIu64 ",\n", peer->handshake_sec);
	printf("          \"rx_bytes\": %" PRIu64 ",\n", peer->rx_bytes);
	printf("          \"tx_bytes\": %" PRIu64 ",\n", peer->tx_bytes);
	printf("          \"persistent_keepalive\": %u", peer->keepalive_s);
	if (is_tapird) {
		printf(",\n          \"transport\": \"%s\"", peer->is_tcp ? "tcp" : "udp");
		printf(",\n          \"compression\": \"%s\"", peer->is_lz4 ? "lz4" : "off");
		printf(",\n          \"compression_active\": %s",
		       is_lz4_active(peer) ? "true" : "false");
		printf(",\n          \"macs\": [");
		for (size_t i = 0; i < peer->n_macs; i++) {
			char mac[18];

			mac_text(mac, peer->macs[i]);
			printf("%s\"%s\"", i ? ", " : "", mac);
		}
		printf("]");
	}
	printf("\n        }");
}

/* One element of "interfaces", preceded by its separator. */
static void json_device(const struct device_info *dev, bool is_first)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	uint64_t rx = 0, tx = 0;

	printf("%s    {\n      \"name\": ", is_first ? "\n" : ",\n");
	json_string(dev->name);
	printf(",\n      \"public_key\": ");
	if (dev->has_private_key) {
		key_text(b64, dev->public_key);
		printf("\"%s\"", b64);
	} else {
		printf("null");
	}
	printf(",\n      \"listen_port\": %u,\n      \"fwmark\": %u,\n", dev->listen_port,
	       dev->fwmark);
	for (size_t i = 0; i < dev->n_peers; i++) {
		rx += dev->peers[i].rx_bytes;
		tx += dev->peers[i].tx_bytes;
	}
	printf("      \"rx_bytes\": %" PRIu64 ",\n      \"tx_bytes\": %" PRIu64 ",\n", rx, tx);
	printf("      \"peer_count\": %zu,\n", dev->n_peers);
	if (dev->is_tapird) {
		printf("      \"workers\": %" PRIu64 ",\n", dev->workers);
		printf("      \"mode\": \"%s\",\n      \"drops\": {", dev->is_tap ? "tap" : "tun");
		for (size_t i = 0; i < dev->n_drops; i++) {
			printf("%s\n        ", i ? "," : "");
			json_string(dev->drops[i].reason);
			printf(": %" PRIu64, dev->drops[i].count);
		}
		printf("%s},\n", dev->n_drops ? "\n      " : "");
		printf("      \"tcp\": {\n        \"listen\": %s,\n        \"listen_port\": %u",
		       dev->is_tcp_listen ? "true" : "false", dev->tcp_port);
		for (size_t i = 0; i < dev->n_tcp; i++) {
			printf(",\n        ");
			json_string(dev->tcp[i].reason);
			printf(": %" PRIu64, dev->tcp[i].count);
		}
		printf("\n      },\n      \"compression\": {");
		for (size_t i = 0; i < dev->n_lz4; i++) {
			printf("%s\n        ", i ? "," : "");
			json_string(dev->lz4[i].reason);
			printf(": %" PRIu64, dev->lz4[i].count);
		}
		printf("%s},\n", dev->n_lz4 ? "\n      " : "");
		printf("      \"icmp\": {");
		for (size_t i = 0; i < dev->n_icmp; i++) {
			printf("%s\n        ", i ? "," : "");
			json_string(dev->icmp[i].reason);
			printf(": %" PRIu64, dev->icmp[i].count);
		}
		printf("%s},\n", dev->n_icmp ? "\n      " : "");
	}
	printf("      \"peers\": [");
	for (size_t i = 0; i < dev->n_peers; i++)
		json_peer(&dev->peers[i], dev->is_tapird, i == 0);
	printf("%s]\n    }", dev->n_peers ? "\n      " : "");
}

/* ---------------------------------------------------------------- tapir show */

static const char SHOW_USAGE[] =
    "Usage: tapir show [--json] { <interface> | all | interfaces } [public-key | private-key |\n"
    "       listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips |\n"
    "       latest-handshakes | transfer | persistent-keepalive | drops | tcp | compression |\n"
    "       icmp | metrics | dump]\n";

static const char SHOW_HELP[] =
    "\nShows interfaces and peers as wg show does; without arguments, all interfaces.\n"
    "Private and preshared keys print as (hidden) unless WG_HIDE_KEYS=never; the dump and\n"
    "the private-key and preshared-keys fields show them. drops (tapird only) lists the\n"
    "packets dropped so far by reason; tcp (tapird only) whether the TCP transport listens\n"
    "(TCPListen, off by default), on which port, and its connection counters; compression\n"
    "(tapird only) the LZ4 counters and, per peer, off, lz4 (active) or lz4 (not announced\n"
    "by the peer: sent uncompressed); icmp (tapird only) the \"destination unreachable\"\n"
    "errors sent back for packets no peer routes, and those the rate limit held back.\n"
    "metrics prints the counters in the Prometheus text format (for node_exporter's\n"
    "textfile collector; metric names in tapir(8)).\n"
    "--json prints every interface asked for as one JSON object without any private or\n"
    "preshared key (schema: JSON OUTPUT in tapir(8)).\n";

enum show_mode {
	SHOW_PRETTY,
	SHOW_FIELD,
	SHOW_JSON,
	SHOW_METRICS,
};

struct show_args {
	enum show_mode mode;
	const char *target; /* NULL: all interfaces */
	const char *field;
};

/* Returns -1 to go on, or an exit code (0 after --help, 2 for a usage error). */
static int parse_show_args(int argc, char **argv, struct show_args *a, bool *is_list)
{
	const char *pos[2] = {NULL, NULL};
	bool is_json = false;
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s%s", SHOW_USAGE, SHOW_HELP);
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			is_json = true;
		else if (n < 2)
			pos[n++] = argv[i];
		else
			goto usage;
	}
	*is_list = n && !strcmp(pos[0], "interfaces");
	if (n == 2 && !is_field(pos[1])) {
		fprintf(stderr, "Invalid parameter: `%s'\n", pos[1]);
		goto usage;
	}
	/* --json describes whole interfaces: no single fields, no bare name list. */
	if ((n == 2 && (is_json || *is_list)) || (*is_list && is_json))
		goto usage;
	a->target = n && strcmp(pos[0], "all") ? pos[0] : NULL;
	a->field = pos[1];
	a->mode = is_json				     ? SHOW_JSON
		  : a->field && !strcmp(a->field, "metrics") ? SHOW_METRICS
		  : a->field				     ? SHOW_FIELD
							     : SHOW_PRETTY;
	return -1;
usage:
	fputs(SHOW_USAGE, stderr);
	return 2;
}

static int list_interfaces(void)
{
	char **names;
	size_t n;
	int r = tapir_uapi_list(&names, &n);

	if (r) {
		fprintf(stderr, "Unable to list interfaces: %s\n", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%s%c", names[i], i + 1 < n ? ' ' : '\n');
		free(names[i]);
	}
	free(names);
	return 0;
}

/* Shows one interface; *has_printed places the separators between several. */
static int show_one(const struct show_args *a, const char *name, bool *has_printed)
{
	/* the readable form also shows what tapird adds (mode, learned MACs); stock daemons get
	 * get=1 */
	bool has_ext = a->mode != SHOW_FIELD || !strcmp(a->field, "drops") ||
		       !strcmp(a->field, "tcp") || !strcmp(a->field, "endpoints") ||
		       !strcmp(a->field, "compression") || !strcmp(a->field, "icmp");
	char prefix[IF_NAMESIZE + 2] = "";
	struct device_info dev;
	int r = fetch_device(&dev, name, has_ext);

	if (!r && a->mode == SHOW_JSON) {
		json_device(&dev, !*has_printed);
	} else if (!r && a->mode == SHOW_FIELD) {
		if (!a->target)
			snprintf(prefix, sizeof(prefix), "%s\t", name);
		field_print(&dev, a->field, prefix);
	} else if (!r) {
		if (*has_printed)
			printf("\n");
		r = pretty_print(&dev);
	}
	*has_printed |= !r;
	device_free(&dev);
	return r ? 1 : 0;
}

/* show ... metrics: every interface fetched first, since each metric family lists its samples
 * for all of them together. */
static int show_metrics(const struct show_args *a, char **names, size_t n)
{
	struct device_info *devs = calloc(n, sizeof(*devs));
	size_t n_ok = 0;
	int ret = 0;

	if (!devs) {
		perror("tapir show");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (fetch_device(&devs[n_ok], a->target ? a->target : names[i], true)) {
			device_free(&devs[n_ok]);
			ret = 1;
		} else {
			n_ok++;
		}
	}
	if (n_ok)
		tapir_metrics_print(devs, n_ok, (uint64_t)time(NULL));
	for (size_t i = 0; i < n_ok; i++)
		device_free(&devs[i]);
	free(devs);
	return ret;
}

int tapir_cmd_show(int argc, char **argv)
{
	bool is_list, has_printed = false;
	struct show_args a;
	char **names = NULL;
	size_t n = 1;
	int r = parse_show_args(argc, argv, &a, &is_list), ret = 0;

	if (r >= 0)
		return r;
	if (is_list)
		return list_interfaces();
	if (!a.target && (r = tapir_uapi_list(&names, &n))) {
		fprintf(stderr, "Unable to list interfaces: %s\n", strerror(-r));
		return 1;
	}
	if (a.mode == SHOW_METRICS)
		ret = show_metrics(&a, names, n);
	else if (a.mode == SHOW_JSON)
		printf("{\n  \"schema_version\": %d,\n  \"interfaces\": [", JSON_SCHEMA_VERSION);
	for (size_t i = 0; a.mode != SHOW_METRICS && i < n; i++)
		ret |= show_one(&a, a.target ? a.target : names[i], &has_printed);
	if (a.mode == SHOW_JSON)
		printf("%s]\n}\n", has_printed ? "\n  " : "");
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	if (fflush(stdout)) {
		perror("tapir show");
		return 1;
	}
	return ret;
}

/* ---------------------------------------------------------------- tapir showconf */

/* With @is_save (SaveConfig), also the tapir peer keys the daemon knows (Compression). */
static void showconf_peer(FILE *f, const struct peer_info *peer, bool is_save)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1], ep[ENDPOINT_TEXT_BYTES], ip[ADDR_TEXT_BYTES];

	key_text(b64, peer->public_key);
	fprintf(f, "[Peer]\nPublicKey = %s\n", b64);
	if (peer->has_preshared_key) {
		key_text(b64, peer->preshared_key);
		fprintf(f, "PresharedKey = %s\n", b64);
	}
	for (size_t i = 0; i < peer->n_aips; i++)
		fprintf(f, "%s%s/%u%s", i ? "" : "AllowedIPs = ", aip_text(ip, &peer->aips[i]),
			peer->aips[i].cidr, i + 1 < peer->n_aips ? ", " : "\n");
	if (has_endpoint(peer))
		fprintf(f, "Endpoint = %s\n", peer_endpoint_text(ep, peer));
	if (peer->keepalive_s)
		fprintf(f, "PersistentKeepalive = %u\n", peer->keepalive_s);
	if (is_save && peer->is_lz4)
		fprintf(f, "Compression = lz4\n");
	tapir_wipe(b64, sizeof(b64));
}

static void showconf_print(FILE *f, const struct device_info *dev, bool is_save)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];

	fprintf(f, "[Interface]\n");
	if (dev->listen_port)
		fprintf(f, "ListenPort = %u\n", dev->listen_port);
	if (dev->fwmark)
		fprintf(f, "FwMark = 0x%x\n", dev->fwmark);
	if (dev->has_private_key) {
		key_text(b64, dev->private_key);
		fprintf(f, "PrivateKey = %s\n", b64);
		tapir_wipe(b64, sizeof(b64));
	}
	/* A blank line after [Interface] even without peers, then one between peers. */
	for (size_t i = 0; i < dev->n_peers || !i; i++) {
		fprintf(f, "\n");
		if (i < dev->n_peers)
			showconf_peer(f, &dev->peers[i], is_save);
	}
}

int tapir_showconf_text(const char *ifname, char **out, size_t *len_out)
{
	struct device_info dev;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r = fetch_device(&dev, ifname, true);

	if (!r && !(f = open_memstream(&text, &len)))
		r = -ENOMEM;
	if (!r) {
		showconf_print(f, &dev, true);
		if (fclose(f))
			r = -ENOMEM;
	}
	device_free(&dev);
	if (r) {
		if (text)
			tapir_wipe(text, len);
		free(text);
		return r;
	}
	*out = text;
	*len_out = len;
	return 0;
}

int tapir_cmd_showconf(int argc, char **argv)
{
	struct device_info dev;
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf(
		    "Usage: tapir showconf <interface>\n\n"
		    "Prints the interface's configuration (private and preshared keys included)\n"
		    "in the format of setconf, like wg showconf.\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: tapir showconf <interface>\n");
		return 2;
	}
	r = fetch_device(&dev, argv[1], false);
	if (!r)
		showconf_print(stdout, &dev, false);
	device_free(&dev);
	if (!r && fflush(stdout)) {
		perror("tapir showconf");
		return 1;
	}
	return r ? 1 : 0;
}
