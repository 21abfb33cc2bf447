// SPDX-License-Identifier: MIT
/*
 * The keys of wg-quick's INI configuration files: one handler per key ([Interface]: wg(8)'s
 * setconf keys, wg-quick's own, tapir up's and tapir's extension keys; [Peer]: wg(8)'s plus
 * tapir's TAP, transport and compression keys) and the table that names them with their
 * section, their kind (who may use them) and whether they take a list.
 *
 * A handler checks one value (or one item of a list) against the syntax and limits of
 * tapir.conf(5) and writes it into the struct tapir_quick_conf being built; on a bad value it
 * names the problem in p->problem, never the value (it may be a key). It must not touch the
 * line, section or message state: that is config.c's. Pure text processing: no file, socket
 * or DNS access (host names in Endpoint are kept for the caller to resolve).
 */
#include "config_keys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "device.h"
#include "encoding.h"
#include "parse.h"
#include "util.h"

enum {
	ADDR_TEXT_MAX_BYTES = 64, /* longer than any numeric address with a scope */
	HOST_NAME_MAX_BYTES = 253,
	IFNAME_MAX_BYTES = 15, /* IFNAMSIZ - 1 */
	MAC_TEXT_BYTES = 17,   /* aa:bb:cc:dd:ee:ff */
	MTU_MIN_BYTES = 68,
	MTU_MAX_BYTES = 65535,
	TABLE_MAIN = 254,
};

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decimal, or hex with a 0x prefix (as wg(8) reads FwMark). */
static int parse_number(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len < 3 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return tapir_parse_u64(s, len, max, out);
	for (size_t i = 2; i < len; i++) {
		int d = hex_digit(s[i]);

		if (d < 0 || v > (max - (uint64_t)d) / 16)
			return -EINVAL;
		v = v * 16 + (uint64_t)d;
	}
	*out = v;
	return 0;
}

/* "addr" or "addr/cidr"; without a prefix length, the whole address (32 or 128). */
static int parse_prefix(const char *s, size_t len, int *family, uint8_t addr[16], uint8_t *cidr)
{
	const char *slash = memchr(s, '/', len);
	size_t addr_len = slash ? (size_t)(slash - s) : len;
	char text[ADDR_TEXT_MAX_BYTES];
	uint64_t bits;

	*family = memchr(s, ':', addr_len) ? AF_INET6 : AF_INET;
	memset(addr, 0, 16);
	if (tapir_parse_copy_text(text, sizeof(text), s, addr_len) ||
	    inet_pton(*family, text, addr) != 1)
		return -EINVAL;
	bits = *family == AF_INET ? 32 : 128;
	if (slash && tapir_parse_u64(slash + 1, len - addr_len - 1, bits, &bits))
		return -EINVAL;
	*cidr = (uint8_t)bits;
	return 0;
}

static struct tapir_conf_peer *cur_peer(struct cfg_parser *p)
{
	return &p->q->wg.peers[p->q->wg.n_peers - 1];
}

static int append_string(char ***arr, size_t *n, const char *s, size_t len)
{
	char **a = reallocarray(*arr, *n + 1, sizeof(**arr));

	if (!a)
		return -ENOMEM;
	*arr = a;
	a[*n] = strndup(s, len);
	if (!a[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

/* ---------------------------------------------------------------- [Interface] */

static int key_private_key(struct cfg_parser *p, const char *val, size_t len)
{
	if (tapir_key_from_base64(p->q->wg.private_key, val, len)) {
		p->problem = "invalid key (want 44 base64 characters)";
		return -EINVAL;
	}
	p->q->wg.has_private_key = true;
	return 0;
}

static int key_listen_port(struct cfg_parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, UINT16_MAX, &v)) {
		p->problem = "invalid port (want 0-65535)";
		return -EINVAL;
	}
	p->q->wg.listen_port = (uint16_t)v;
	p->q->wg.has_listen_port = true;
	return 0;
}

static int key_fwmark(struct cfg_parser *p, const char *val, size_t len)
{
	uint64_t v = 0;

	if (!cfg_is_word(val, len, "off") && parse_number(val, len, UINT32_MAX, &v)) {
		p->problem = "invalid fwmark (want a 32-bit number, 0x hex, or off)";
		return -EINVAL;
	}
	p->q->wg.fwmark = (uint32_t)v;
	p->q->wg.has_fwmark = true;
	return 0;
}

static int key_address(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_quick_conf *q = p->q;
	struct tapir_config_address a = {0}, *arr;

	if (parse_prefix(val, len, &a.family, a.addr, &a.cidr)) {
		p->problem = "invalid address (want addr[/cidr])";
		return -EINVAL;
	}
	arr = reallocarray(q->addresses, q->n_addresses + 1, sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	q->addresses = arr;
	arr[q->n_addresses++] = a;
	return 0;
}

static int key_dns(struct cfg_parser *p, const char *val, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)val[i];

		/* resolvconf reads them as words: no blanks, nothing unprintable. */
		if (c <= 0x20 || c >= 0x7f) {
			p->problem = "invalid DNS entry";
			return -EINVAL;
		}
	}
	return append_string(&p->q->dns, &p->q->n_dns, val, len);
}

static int key_mtu(struct cfg_parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, MTU_MAX_BYTES, &v) || v < MTU_MIN_BYTES) {
		p->problem = "invalid MTU (want 68-65535)";
		return -EINVAL;
	}
	p->q->mtu = (int)v;
	return 0;
}

static int key_table(struct cfg_parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (cfg_is_word(val, len, "off")) {
		p->q->table = TAPIR_TABLE_OFF;
		return 0;
	}
	if (cfg_is_word(val, len, "auto")) {
		p->q->table = TAPIR_TABLE_AUTO;
		return 0;
	}
	if (cfg_is_word(val, len, "main"))
		v = TABLE_MAIN;
	else if (tapir_parse_u64(val, len, UINT32_MAX, &v) || !v) {
		p->problem = "invalid table (want off, auto, main or a number from 1)";
		return -EINVAL;
	}
	p->q->table = TAPIR_TABLE_NUMBER;
	p->q->table_number = (uint32_t)v;
	return 0;
}

/* A hook's command, and its line for tapir up's message when it fails. */
static int append_hook(struct cfg_parser *p, char ***arr, size_t **lines, size_t *n,
		       const char *val, size_t len)
{
	size_t *grown = reallocarray(*lines, *n + 1, sizeof(**lines));

	if (!grown)
		return -ENOMEM;
	*lines = grown;
	grown[*n] = p->line_no;
	return append_string(arr, n, val, len);
}

static int key_pre_up(struct cfg_parser *p, const char *val, size_t len)
{
	return append_hook(p, &p->q->pre_up, &p->q->pre_up_lines, &p->q->n_pre_up, val, len);
}

static int key_post_up(struct cfg_parser *p, const char *val, size_t len)
{
	return append_hook(p, &p->q->post_up, &p->q->post_up_lines, &p->q->n_post_up, val, len);
}

static int key_pre_down(struct cfg_parser *p, const char *val, size_t len)
{
	return append_hook(p, &p->q->pre_down, &p->q->pre_down_lines, &p->q->n_pre_down, val, len);
}

static int key_post_down(struct cfg_parser *p, const char *val, size_t len)
{
	return append_hook(p, &p->q->post_down, &p->q->post_down_lines, &p->q->n_post_down, val,
			   len);
}

static int key_save_config(struct cfg_parser *p, const char *val, size_t len)
{
	if (cfg_is_word(val, len, "true"))
		p->q->save_config = true;
	else if (cfg_is_word(val, len, "false"))
		p->q->save_config = false;
	else {
		p->problem = "invalid boolean (want true or false)";
		return -EINVAL;
	}
	return 0;
}

static int key_offload(struct cfg_parser *p, const char *val, size_t len)
{
	if (tapir_offload_parse(val, len, &p->q->offloads) < 0) {
		p->problem = "invalid offload list (want all, none, or some of tun,gso,gro)";
		return -EINVAL;
	}
	p->q->has_offloads = true;
	return 0;
}

static int key_workers(struct cfg_parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, TAPIR_MAX_THREADS - 2, &v) || v < 1) {
		p->problem = "invalid worker count (want 1-62)";
		return -EINVAL;
	}
	p->q->workers = (unsigned int)v;
	return 0;
}

/* Mode is checked against the other TAP keys only at the end: it may come after them. */
static int key_mode(struct cfg_parser *p, const char *val, size_t len)
{
	if (cfg_is_word(val, len, "tun"))
		p->q->mode = TAPIR_MODE_TUN;
	else if (cfg_is_word(val, len, "tap"))
		p->q->mode = TAPIR_MODE_TAP;
	else {
		p->problem = "invalid mode (want tun or tap)";
		return -EINVAL;
	}
	return 0;
}

/* As the kernel's dev_valid_name(), in ASCII: 1-15 bytes, no '/', ':' or blank, not . or .. */
static bool is_ifname(const char *s, size_t len)
{
	if (!len || len > IFNAME_MAX_BYTES || (len == 1 && s[0] == '.') ||
	    (len == 2 && !memcmp(s, "..", 2)))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '/' || c == ':')
			return false;
	}
	return true;
}

static int key_bridge(struct cfg_parser *p, const char *val, size_t len)
{
	if (!is_ifname(val, len)) {
		p->problem = "invalid interface name (want 1-15 characters, no '/', ':' or blank)";
		return -EINVAL;
	}
	free(p->q->bridge);
	p->q->bridge = strndup(val, len);
	return p->q->bridge ? 0 : -ENOMEM;
}

/* on, off, true or false (any case) into *@has and *@is_on. */
static int parse_switch(struct cfg_parser *p, const char *val, size_t len, bool *has, bool *is_on)
{
	bool is_yes = cfg_is_word(val, len, "on") || cfg_is_word(val, len, "true");

	if (!is_yes && !cfg_is_word(val, len, "off") && !cfg_is_word(val, len, "false")) {
		p->problem = "invalid switch (want on, off, true or false)";
		return -EINVAL;
	}
	*has = true;
	*is_on = is_yes;
	return 0;
}

static int key_forward(struct cfg_parser *p, const char *val, size_t len)
{
	return parse_switch(p, val, len, &p->q->wg.has_forward, &p->q->wg.is_forward);
}

static int key_tcp_listen(struct cfg_parser *p, const char *val, size_t len)
{
	return parse_switch(p, val, len, &p->q->wg.has_tcp_listen, &p->q->wg.is_tcp_listen);
}

/* MetricsListen = off | ADDR:PORT: tapird's HTTP metrics endpoint (metrics_http.c) */
static int key_metrics_listen(struct cfg_parser *p, const char *val, size_t len)
{
	p->q->wg.has_metrics_listen = true;
	memset(&p->q->wg.metrics_listen, 0, sizeof(p->q->wg.metrics_listen));
	if (cfg_is_word(val, len, "off"))
		return 0;
	p->problem = "invalid MetricsListen (want off, ADDR:PORT or [IPv6]:PORT, numeric)";
	return tapir_sockaddr_parse_listen(&p->q->wg.metrics_listen, val, len);
}

static int key_mac_age(struct cfg_parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, TAPIR_CONF_MAX_MAC_AGE_S, &v) || !v) {
		p->problem = "invalid MAC age (want 1-86400 seconds)";
		return -EINVAL;
	}
	p->q->wg.has_mac_age = true;
	p->q->wg.mac_age_s = (uint32_t)v;
	return 0;
}

/* ---------------------------------------------------------------- [Peer] */

static int key_public_key(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf *wg = &p->q->wg;
	struct tapir_conf_peer *peer = cur_peer(p);

	if (p->has_public_key) {
		p->problem = "PublicKey given twice in one [Peer]";
		return -EINVAL;
	}
	if (tapir_key_from_base64(peer->public_key, val, len)) {
		p->problem = "invalid key (want 44 base64 characters)";
		return -EINVAL;
	}
	for (size_t i = 0; i + 1 < wg->n_peers; i++) {
		if (tapir_memeq_ct(wg->peers[i].public_key, peer->public_key, 32)) {
			p->problem = "duplicate peer (same PublicKey as an earlier [Peer])";
			return -EINVAL;
		}
	}
	p->has_public_key = true;
	return 0;
}

static int key_preshared_key(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	if (tapir_key_from_base64(peer->preshared_key, val, len)) {
		p->problem = "invalid key (want 44 base64 characters)";
		return -EINVAL;
	}
	peer->has_preshared_key = true;
	return 0;
}

static int key_allowed_ips(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);
	struct tapir_conf_allowed_ip aip = {0}, *arr;

	if (parse_prefix(val, len, &aip.family, aip.addr, &aip.cidr)) {
		p->problem = "invalid prefix (want addr[/cidr])";
		return -EINVAL;
	}
	if (!p->allowed_ips_line)
		p->allowed_ips_line = p->line_no;
	if (peer->n_allowed_ips == peer->cap_allowed_ips) {
		size_t cap = peer->cap_allowed_ips ? peer->cap_allowed_ips * 2 : 4;

		arr = reallocarray(peer->allowed_ips, cap, sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		peer->allowed_ips = arr;
		peer->cap_allowed_ips = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = aip;
	return 0;
}

static bool is_host_name(const char *s, size_t len)
{
	if (!len || len > HOST_NAME_MAX_BYTES || s[0] == '-' || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '.' && c != '_')
			return false;
	}
	return true;
}

/*
 * "a.b.c.d:port", "[v6]:port" or "name:port", optionally after "tcp://" (tapir's TCP
 * transport) or "udp://". Numeric ones also fill the UAPI endpoint; names stay text (for the
 * caller's getaddrinfo), and a bare IPv6 address is ambiguous.
 */
static int key_endpoint(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);
	struct tapir_config_endpoint *ep = &p->q->endpoints[p->q->wg.n_peers - 1];
	const char *colon, *host;
	size_t host_len;
	uint64_t port;

	if (len > 6 && (!strncasecmp(val, "tcp://", 6) || !strncasecmp(val, "udp://", 6))) {
		peer->has_transport = true;
		peer->is_tcp = !strncasecmp(val, "tcp://", 6);
		val += 6;
		len -= 6;
	}
	colon = memrchr(val, ':', len);
	host = val;
	host_len = colon ? (size_t)(colon - val) : 0;
	p->problem = "invalid endpoint (want host:port, [ipv6]:port or tcp://host:port)";
	if (!colon || tapir_parse_u64(colon + 1, len - host_len - 1, UINT16_MAX, &port) || !port)
		return -EINVAL;
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		if (tapir_sockaddr_parse(&peer->endpoint, val, len))
			return -EINVAL;
		host++;
		host_len -= 2;
	} else if (!tapir_sockaddr_parse(&peer->endpoint, val, len)) {
		/* numeric IPv4 */
	} else if (!is_host_name(host, host_len)) {
		return -EINVAL;
	}
	peer->has_endpoint = peer->endpoint.sa.sa_family != AF_UNSPEC;
	free(ep->host);
	ep->host = strndup(host, host_len);
	if (!ep->host)
		return -ENOMEM;
	ep->port = (uint16_t)port;
	ep->line = p->line_no;
	p->problem = NULL;
	return 0;
}

static int key_keepalive(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);
	uint64_t v = 0;

	if (!cfg_is_word(val, len, "off") && tapir_parse_u64(val, len, UINT16_MAX, &v)) {
		p->problem = "invalid interval (want 0-65535 seconds or off)";
		return -EINVAL;
	}
	peer->persistent_keepalive_interval = (uint16_t)v;
	peer->has_persistent_keepalive = true;
	return 0;
}

/* "aa:bb:cc:dd:ee:ff", either case; like the UAPI's tapir_mac, no multicast, not all zero. */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	if (len != MAC_TEXT_BYTES)
		return -EINVAL;
	for (size_t i = 0; i < 6; i++) {
		int hi = hex_digit(s[i * 3]), lo = hex_digit(s[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[i * 3 + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

_Static_assert(TAPIR_CONF_MAX_PINNED_MACS == 16, "the MACs message names the limit");

/* Is @mac pinned to a [Peer] before @peer (a MAC is reserved for one peer: tapir.conf(5))? */
static bool is_pinned_before(const struct cfg_parser *p, const struct tapir_conf_peer *peer,
			     const uint8_t mac[6])
{
	for (const struct tapir_conf_peer *o = p->q->wg.peers; o < peer; o++)
		for (size_t i = 0; i < o->n_pinned_macs; i++)
			if (!memcmp(o->pinned_macs[i], mac, 6))
				return true;
	return false;
}

static int key_macs(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	if (peer->n_pinned_macs == TAPIR_CONF_MAX_PINNED_MACS) {
		p->problem = "too many MACs (at most 16 per peer)";
		return -EINVAL;
	}
	if (parse_mac(val, len, peer->pinned_macs[peer->n_pinned_macs])) {
		p->problem = "invalid MAC (want aa:bb:cc:dd:ee:ff, unicast, not all zero)";
		return -EINVAL;
	}
	if (is_pinned_before(p, peer, peer->pinned_macs[peer->n_pinned_macs])) {
		p->problem =
		    "MAC already pinned to another peer (a pinned MAC belongs to one peer)";
		return -EINVAL;
	}
	peer->n_pinned_macs++;
	return 0;
}

/* A value that is one of two words (any case): @yes sets *@is_yes, @no clears it. */
static int parse_either(struct cfg_parser *p, const char *val, size_t len, const char *yes,
			const char *no, const char *problem, bool *has, bool *is_yes)
{
	if (!cfg_is_word(val, len, yes) && !cfg_is_word(val, len, no)) {
		p->problem = problem;
		return -EINVAL;
	}
	*is_yes = cfg_is_word(val, len, yes);
	*has = true;
	return 0;
}

static int key_transport(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	return parse_either(p, val, len, "tcp", "udp", "invalid transport (want tcp or udp)",
			    &peer->has_transport, &peer->is_tcp);
}

static int key_compression(struct cfg_parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	return parse_either(p, val, len, "lz4", "off", "invalid compression (want lz4 or off)",
			    &peer->has_compression, &peer->is_lz4);
}

static const struct cfg_key cfg_keys[] = {
    {"PrivateKey", SECTION_INTERFACE, KEY_WG, false, key_private_key},
    {"ListenPort", SECTION_INTERFACE, KEY_WG, false, key_listen_port},
    {"FwMark", SECTION_INTERFACE, KEY_WG, false, key_fwmark},
    {"Address", SECTION_INTERFACE, KEY_QUICK, true, key_address},
    {"DNS", SECTION_INTERFACE, KEY_QUICK, true, key_dns},
    {"MTU", SECTION_INTERFACE, KEY_QUICK, false, key_mtu},
    {"Table", SECTION_INTERFACE, KEY_QUICK, false, key_table},
    {"PreUp", SECTION_INTERFACE, KEY_QUICK, false, key_pre_up},
    {"PostUp", SECTION_INTERFACE, KEY_QUICK, false, key_post_up},
    {"PreDown", SECTION_INTERFACE, KEY_QUICK, false, key_pre_down},
    {"PostDown", SECTION_INTERFACE, KEY_QUICK, false, key_post_down},
    {"SaveConfig", SECTION_INTERFACE, KEY_QUICK, false, key_save_config},
    {"Mode", SECTION_INTERFACE, KEY_UP, false, key_mode},
    {"Offload", SECTION_INTERFACE, KEY_UP, false, key_offload},
    {"Workers", SECTION_INTERFACE, KEY_UP, false, key_workers},
    {"TCPListen", SECTION_INTERFACE, KEY_TAPIR, false, key_tcp_listen},
    {"MetricsListen", SECTION_INTERFACE, KEY_TAPIR, false, key_metrics_listen},
    {"Bridge", SECTION_INTERFACE, KEY_UP_TAP, false, key_bridge},
    {"Forward", SECTION_INTERFACE, KEY_TAPIR_TAP, false, key_forward},
    {"MACAge", SECTION_INTERFACE, KEY_TAPIR_TAP, false, key_mac_age},
    {"PublicKey", SECTION_PEER, KEY_WG, false, key_public_key},
    {"PresharedKey", SECTION_PEER, KEY_WG, false, key_preshared_key},
    {"AllowedIPs", SECTION_PEER, KEY_WG, true, key_allowed_ips},
    {"Endpoint", SECTION_PEER, KEY_WG, false, key_endpoint},
    {"PersistentKeepalive", SECTION_PEER, KEY_WG, false, key_keepalive},
    {"MACs", SECTION_PEER, KEY_TAPIR_TAP, true, key_macs},
    {"Transport", SECTION_PEER, KEY_TAPIR, false, key_transport},
    {"Compression", SECTION_PEER, KEY_TAPIR, false, key_compression},
};

const struct cfg_key *tapir_config_find_key(enum cfg_section section, const char *name, size_t len)
{
	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(cfg_keys); i++) {
		if (cfg_keys[i].section == section && cfg_is_word(name, len, cfg_keys[i].name))
			return &cfg_keys[i];
	}
	return NULL;
}

bool tapir_config_is_up_key(const char *name, size_t len)
{
	const struct cfg_key *k = tapir_config_find_key(SECTION_INTERFACE, name, len);

	return k && cfg_is_up_kind(k->kind);
}
