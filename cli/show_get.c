// SPDX-License-Identifier: MIT
/*
 * tapir show / showconf: the reply to a UAPI get (wireguard-protocol.md section 9.2) parsed
 * into a struct device_info. Keys before the first public_key describe the interface, the
 * rest the peer they follow; tapird's extension keys (tapir_*) fill the counters and flags
 * that wg(8) lacks, and unknown keys are ignored as wg(8) ignores them. A malformed line is
 * -EPROTO: the reply comes from a daemon, but not necessarily ours.
 *
 * The peer array holds preshared keys and the device the private key: both are wiped when
 * freed, and the reply's text is wiped once parsed.
 */
#include "show_render.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "parse.h"
#include "secbuf.h"
#include "uapi_client.h"
#include "util.h"

enum {
	INITIAL_PEERS = 8,
};

void tapir_show_device_free(struct device_info *dev)
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
 * Fills @dev (zeroed first; free it with tapir_show_device_free() even on failure) from a get on
 * @name. @has_extensions asks tapird for its extension keys. Prints wg's message on error.
 */
int tapir_show_fetch(struct device_info *dev, const char *name, bool has_extensions)
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
