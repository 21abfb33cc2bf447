// SPDX-License-Identifier: MIT
/*
 * Parser for wg-quick's INI configuration files ([Interface] / [Peer], wg(8)'s setconf format
 * plus wg-quick's own keys, plus tapir up's TAP-mode keys), and the serialiser that turns the
 * WireGuard part back into a UAPI set request.
 *
 * Pure text processing: no file, socket or DNS access (host names in Endpoint are kept for the
 * caller to resolve). A file is accepted whole or not at all; an error message names the file,
 * the line and the key but never a value, since values may be private or preshared keys.
 * Every copy of a secret is wiped before its memory is freed. The tapir extension keys reach
 * the serialiser only when a file sets them: a stock file yields a stock request.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "device.h"
#include "encoding.h"
#include "parse.h"
#include "secbuf.h"
#include "util.h"

enum {
	ADDR_TEXT_MAX_BYTES = 64, /* longer than any numeric address with a scope */
	KEY_NAME_MAX_BYTES = 24,  /* longer unknown key names are not quoted */
	HOST_NAME_MAX_BYTES = 253,
	IFNAME_MAX_BYTES = 15, /* IFNAMSIZ - 1 */
	MAC_TEXT_BYTES = 17,   /* aa:bb:cc:dd:ee:ff */
	MTU_MIN_BYTES = 68,
	MTU_MAX_BYTES = 65535,
	TABLE_MAIN = 254,
	INITIAL_PEERS = 4,
};

enum section {
	SECTION_NONE,
	SECTION_INTERFACE,
	SECTION_PEER,
};

/*
 * Who may use a key. A setconf file (is_wg_only) takes KEY_WG ones and tapir's extension keys
 * that travel over UAPI (KEY_TAPIR, KEY_TAPIR_TAP), not the keys tapir up itself acts on
 * (KEY_QUICK, KEY_UP, KEY_UP_TAP): what `tapir strip` removes.
 */
enum key_kind {
	KEY_WG,
	KEY_QUICK,     /* wg-quick's */
	KEY_TAPIR,     /* tapir's, sent to tapird */
	KEY_TAPIR_TAP, /* tapir's, sent to tapird, and in a tapir up file only with Mode = tap */
	KEY_UP,	       /* tapir up's: tapird's command line */
	KEY_UP_TAP,    /* tapir up's, and only with Mode = tap */
};

struct cfg_parser {
	struct tapir_quick_conf *q;
	const char *filename;
	size_t line_no;
	bool is_wg_only;
	enum section section;
	size_t peer_line;	  /* line of the current [Peer] header */
	bool has_public_key;	  /* the current [Peer] has its PublicKey */
	size_t tap_key_line;	  /* first KEY_TAPIR_TAP key, 0 = none */
	const char *tap_key_name; /* its name */
	size_t allowed_ips_line;  /* first AllowedIPs line with an item, 0 = none */
	const char *problem;	  /* set by a key handler that fails with -EINVAL */
	char *err;
	size_t errlen;
};

/* A handler returns 0, -EINVAL (after setting p->problem if it knows better) or -ENOMEM. */
typedef int (*cfg_key_fn)(struct cfg_parser *p, const char *val, size_t len);

struct cfg_key {
	const char *name;
	enum section section;
	enum key_kind kind;
	bool is_list;	  /* comma-separated, the handler gets one item at a time */
	cfg_key_fn parse; /* called once per value, or once per item of a list */
};

__attribute__((format(printf, 3, 4))) static void set_err(struct cfg_parser *p, size_t line,
							  const char *fmt, ...)
{
	size_t n;
	va_list ap;
	int r;

	if (!p->err || !p->errlen)
		return;
	r = snprintf(p->err, p->errlen, "%s:%zu: ", p->filename ? p->filename : "(config)", line);
	n = r < 0 ? 0 : (size_t)r;
	if (n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - n, fmt, ap);
	va_end(ap);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_blank(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_blank((*s)[*len - 1]))
		(*len)--;
}

static bool is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && !strncasecmp(s, word, len);
}

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

	if (!is_word(val, len, "off") && parse_number(val, len, UINT32_MAX, &v)) {
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

	if (is_word(val, len, "off")) {
		p->q->table = TAPIR_TABLE_OFF;
		return 0;
	}
	if (is_word(val, len, "auto")) {
		p->q->table = TAPIR_TABLE_AUTO;
		return 0;
	}
	if (is_word(val, len, "main"))
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
	if (is_word(val, len, "true"))
		p->q->save_config = true;
	else if (is_word(val, len, "false"))
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
	if (is_word(val, len, "tun"))
		p->q->mode = TAPIR_MODE_TUN;
	else if (is_word(val, len, "tap"))
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
	bool is_yes = is_word(val, len, "on") || is_word(val, len, "true");

	if (!is_yes && !is_word(val, len, "off") && !is_word(val, len, "false")) {
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
	if (is_word(val, len, "off"))
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

	if (!is_word(val, len, "off") && tapir_parse_u64(val, len, UINT16_MAX, &v)) {
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
	if (!is_word(val, len, yes) && !is_word(val, len, no)) {
		p->problem = problem;
		return -EINVAL;
	}
	*is_yes = is_word(val, len, yes);
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

static const struct cfg_key *find_key(enum section section, const char *name, size_t len)
{
	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(cfg_keys); i++) {
		if (cfg_keys[i].section == section && is_word(name, len, cfg_keys[i].name))
			return &cfg_keys[i];
	}
	return NULL;
}

static bool is_up_kind(enum key_kind kind)
{
	return kind == KEY_QUICK || kind == KEY_UP || kind == KEY_UP_TAP;
}

bool tapir_config_is_up_key(const char *name, size_t len)
{
	const struct cfg_key *k = find_key(SECTION_INTERFACE, name, len);

	return k && is_up_kind(k->kind);
}

/* ---------------------------------------------------------------- lines and sections */

/* The peers hold preshared keys: a secret buffer. The endpoints grow alongside. */
static int grow_peers(struct tapir_quick_conf *q)
{
	size_t cap = q->wg.cap_peers ? q->wg.cap_peers * 2 : INITIAL_PEERS;
	struct tapir_conf_peer *peers;
	struct tapir_config_endpoint *eps;

	eps = calloc(cap, sizeof(*eps));
	if (!eps)
		return -ENOMEM;
	peers = tapir_secbuf_grow(q->wg.peers, q->wg.n_peers, q->wg.cap_peers, cap, sizeof(*peers));
	if (!peers) {
		free(eps);
		return -ENOMEM;
	}
	if (q->wg.n_peers)
		memcpy(eps, q->endpoints, q->wg.n_peers * sizeof(*eps));
	free(q->endpoints);
	q->wg.peers = peers;
	q->endpoints = eps;
	q->wg.cap_peers = cap;
	return 0;
}

static int end_section(struct cfg_parser *p)
{
	if (p->section == SECTION_PEER && !p->has_public_key) {
		set_err(p, p->peer_line, "[Peer] section without a PublicKey (key PublicKey)");
		return -EINVAL;
	}
	return 0;
}

static int parse_section(struct cfg_parser *p, const char *s, size_t len)
{
	int r;

	if (len < 2 || s[len - 1] != ']') {
		set_err(p, p->line_no, "malformed section header");
		return -EINVAL;
	}
	s++;
	len -= 2;
	trim(&s, &len);
	r = end_section(p);
	if (r)
		return r;
	if (is_word(s, len, "Interface")) {
		p->section = SECTION_INTERFACE;
		return 0;
	}
	if (!is_word(s, len, "Peer")) {
		set_err(p, p->line_no, "unknown section (want [Interface] or [Peer])");
		return -EINVAL;
	}
	if (p->q->wg.n_peers == p->q->wg.cap_peers && grow_peers(p->q)) {
		set_err(p, p->line_no, "out of memory");
		return -ENOMEM;
	}
	p->q->wg.n_peers++;
	p->section = SECTION_PEER;
	p->peer_line = p->line_no;
	p->has_public_key = false;
	return 0;
}

/* Calls the handler once, or once per comma-separated item of a list key. */
static int apply_value(struct cfg_parser *p, const struct cfg_key *k, const char *val, size_t len)
{
	const char *item;
	size_t item_len;
	int r;

	if (!k->is_list)
		return len ? k->parse(p, val, len) : -EINVAL;
	/* An empty list is allowed (wg: "AllowedIPs =" means none); empty items are not. */
	while (len) {
		const char *comma = memchr(val, ',', len);

		item = val;
		item_len = comma ? (size_t)(comma - val) : len;
		val += comma ? item_len + 1 : item_len;
		len -= comma ? item_len + 1 : item_len;
		trim(&item, &item_len);
		if (!item_len || (comma && !len)) {
			p->problem = "empty list item";
			return -EINVAL;
		}
		r = k->parse(p, item, item_len);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Writes a key name as written in the file for a message, but only when it looks like a key
 * name: a line that lost its "PrivateKey =" would otherwise put the key itself into the message.
 */
static void quote_name(char out[KEY_NAME_MAX_BYTES + 1], const char *s, size_t len)
{
	bool is_plausible = len && len <= KEY_NAME_MAX_BYTES;

	for (size_t i = 0; is_plausible && i < len; i++) {
		char c = s[i];

		is_plausible = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			       (c >= '0' && c <= '9') || c == '_' || c == '-';
	}
	if (!is_plausible)
		len = 1;
	memcpy(out, is_plausible ? s : "?", len);
	out[len] = '\0';
}

static int parse_key_line(struct cfg_parser *p, const char *s, size_t len)
{
	const char *eq = memchr(s, '=', len);
	const char *key = s, *val;
	size_t key_len, val_len;
	char name[KEY_NAME_MAX_BYTES + 1];
	const struct cfg_key *k;
	int r;

	if (!eq) {
		set_err(p, p->line_no, "not a section header or key = value line");
		return -EINVAL;
	}
	key_len = (size_t)(eq - s);
	val = eq + 1;
	val_len = len - key_len - 1;
	trim(&key, &key_len);
	trim(&val, &val_len);
	quote_name(name, key, key_len);
	if (p->section == SECTION_NONE) {
		set_err(p, p->line_no, "key outside of [Interface] or [Peer] (key %s)", name);
		return -EINVAL;
	}
	k = find_key(p->section, key, key_len);
	if (!k) {
		set_err(p, p->line_no, "unknown key in [%s] (key %s)",
			p->section == SECTION_PEER ? "Peer" : "Interface", name);
		return -EINVAL;
	}
	if (is_up_kind(k->kind) && p->is_wg_only) {
		set_err(p, p->line_no, "%s key not valid in a wg config (key %s)",
			k->kind == KEY_QUICK ? "wg-quick" : "tapir up", k->name);
		return -EINVAL;
	}
	/* in a setconf file the daemon's mode decides, as for the same keys over UAPI */
	if ((k->kind == KEY_TAPIR_TAP || k->kind == KEY_UP_TAP) && !p->tap_key_line &&
	    !p->is_wg_only) {
		p->tap_key_line = p->line_no;
		p->tap_key_name = k->name;
	}
	p->problem = NULL;
	r = apply_value(p, k, val, val_len);
	if (r == -ENOMEM)
		set_err(p, p->line_no, "out of memory (key %s)", k->name);
	else if (r)
		set_err(p, p->line_no, "%s (key %s)",
			val_len ? (p->problem ? p->problem : "invalid value") : "empty value",
			k->name);
	return r;
}

static int parse_line(struct cfg_parser *p, const char *s, size_t len)
{
	const char *hash = memchr(s, '#', len);

	if (memchr(s, '\0', len)) {
		set_err(p, p->line_no, "NUL byte in line");
		return -EINVAL;
	}
	if (hash)
		len = (size_t)(hash - s);
	trim(&s, &len);
	if (!len)
		return 0;
	if (s[0] == '[')
		return parse_section(p, s, len);
	return parse_key_line(p, s, len);
}

/* Once the whole file is read: the TAP keys need Mode = tap, and tap mode has no allowed IPs. */
static int check_mode(struct cfg_parser *p)
{
	if (p->q->mode != TAPIR_MODE_TAP && p->tap_key_line) {
		set_err(p, p->tap_key_line, "only valid with Mode = tap (key %s)", p->tap_key_name);
		return -EINVAL;
	}
	if (p->q->mode == TAPIR_MODE_TAP && p->allowed_ips_line) {
		set_err(p, p->allowed_ips_line,
			"allowed IPs do not apply to frames in Mode = tap; MACs = pins a peer's "
			"addresses instead (key AllowedIPs)");
		return -EINVAL;
	}
	return 0;
}

int tapir_config_parse(const char *text, size_t len, const char *filename, bool is_wg_only,
		       struct tapir_quick_conf *out, char *err, size_t errlen)
{
	struct cfg_parser p = {
	    .q = out,
	    .filename = filename,
	    .is_wg_only = is_wg_only,
	    .err = err,
	    .errlen = errlen,
	};
	size_t pos = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	while (!r && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - (text + pos)) : len - pos;

		p.line_no++;
		r = parse_line(&p, text + pos, line_len);
		pos += line_len + 1;
	}
	if (!r)
		r = end_section(&p);
	if (!r)
		r = check_mode(&p);
	if (r)
		tapir_quick_conf_free(out);
	return r;
}

static void free_strings(char **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

void tapir_quick_conf_free(struct tapir_quick_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; conf->endpoints && i < conf->wg.n_peers; i++)
		free(conf->endpoints[i].host);
	free(conf->endpoints);
	tapir_conf_free(&conf->wg);
	free(conf->addresses);
	free_strings(conf->dns, conf->n_dns);
	free_strings(conf->pre_up, conf->n_pre_up);
	free_strings(conf->post_up, conf->n_post_up);
	free_strings(conf->pre_down, conf->n_pre_down);
	free_strings(conf->post_down, conf->n_post_down);
	free(conf->pre_up_lines);
	free(conf->post_up_lines);
	free(conf->pre_down_lines);
	free(conf->post_down_lines);
	free(conf->bridge);
	memset(conf, 0, sizeof(*conf));
}

/* ---------------------------------------------------------------- UAPI serialisation */

/* Two passes: with buf == NULL it only counts, so the result is allocated once, exactly. */
struct writer {
	char *buf;
	size_t len;
	size_t cap;
};

__attribute__((format(printf, 2, 3))) static void put(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(w->buf ? w->buf + w->len : NULL, w->buf ? w->cap - w->len : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->len += (size_t)n;
}

static void put_key(struct writer *w, const char *name, const uint8_t key[32])
{
	char hex[TAPIR_KEY_HEX_LEN + 1];

	tapir_key_to_hex(hex, key);
	put(w, "%s=%s\n", name, hex);
	explicit_bzero(hex, sizeof(hex));
}

static void put_peer(struct writer *w, const struct tapir_conf_peer *peer, bool is_replace)
{
	char text[INET6_ADDRSTRLEN + 16];

	put_key(w, "public_key", peer->public_key);
	if (peer->remove) {
		put(w, "remove=true\n");
		return;
	}
	if (peer->update_only)
		put(w, "update_only=true\n");
	if (peer->has_preshared_key)
		put_key(w, "preshared_key", peer->preshared_key);
	if (peer->has_endpoint && tapir_sockaddr_format(text, sizeof(text), &peer->endpoint) > 0)
		put(w, "endpoint=%s\n", text);
	if (peer->has_transport) /* tapir extension: only when the file asks for it */
		put(w, "tapir_transport=%s\n", peer->is_tcp ? "tcp" : "udp");
	if (peer->has_compression) /* tapir extension, likewise */
		put(w, "tapir_compression=%s\n", peer->is_lz4 ? "lz4" : "off");
	if (peer->has_persistent_keepalive)
		put(w, "persistent_keepalive_interval=%u\n",
		    (unsigned)peer->persistent_keepalive_interval);
	if (is_replace || peer->replace_allowed_ips)
		put(w, "replace_allowed_ips=true\n");
	for (size_t i = 0; i < peer->n_allowed_ips; i++) {
		const struct tapir_conf_allowed_ip *a = &peer->allowed_ips[i];

		if (!inet_ntop(a->family, a->addr, text, sizeof(text)))
			continue;
		put(w, "allowed_ip=%s%s/%u\n", a->is_removal ? "-" : "", text, (unsigned)a->cidr);
	}
	if (peer->replace_macs || (is_replace && peer->n_pinned_macs))
		put(w, "tapir_replace_macs=true\n");
	for (size_t i = 0; i < peer->n_pinned_macs; i++) {
		const uint8_t *m = peer->pinned_macs[i];

		put(w, "tapir_mac=%02x:%02x:%02x:%02x:%02x:%02x\n", m[0], m[1], m[2], m[3], m[4],
		    m[5]);
	}
}

static void put_metrics_listen(struct writer *w, const union tapir_sockaddr *sa)
{
	char text[INET6_ADDRSTRLEN + 32]; /* [v6%scope]:port */

	if (sa->sa.sa_family && tapir_sockaddr_format(text, sizeof(text), sa) > 0)
		put(w, "tapir_metrics_listen=%s\n", text);
	else
		put(w, "tapir_metrics_listen=off\n");
}

static void put_conf(struct writer *w, const struct tapir_conf *conf, bool is_replace)
{
	put(w, "set=1\n");
	if (conf->has_private_key)
		put_key(w, "private_key", conf->private_key);
	if (conf->has_listen_port)
		put(w, "listen_port=%u\n", (unsigned)conf->listen_port);
	if (conf->has_fwmark)
		put(w, "fwmark=%u\n", (unsigned)conf->fwmark);
	/* tapir extension keys: only when set, so a stock daemon never sees them otherwise */
	if (conf->has_forward)
		put(w, "tapir_forward=%s\n", conf->is_forward ? "true" : "false");
	if (conf->has_mac_age)
		put(w, "tapir_mac_age=%u\n", (unsigned)conf->mac_age_s);
	if (conf->has_tcp_listen)
		put(w, "tapir_tcp_listen=%s\n", conf->is_tcp_listen ? "true" : "false");
	if (conf->has_metrics_listen)
		put_metrics_listen(w, &conf->metrics_listen);
	if (is_replace || conf->replace_peers)
		put(w, "replace_peers=true\n");
	for (size_t i = 0; i < conf->n_peers; i++)
		put_peer(w, &conf->peers[i], is_replace);
	put(w, "\n");
}

char *tapir_conf_to_uapi_set(const struct tapir_conf *conf, bool is_replace, size_t *len_out)
{
	struct writer w = {0};

	put_conf(&w, conf, is_replace);
	w.cap = w.len + 1;
	w.buf = malloc(w.cap);
	if (!w.buf)
		return NULL;
	w.len = 0;
	put_conf(&w, conf, is_replace);
	if (len_out)
		*len_out = w.len;
	return w.buf;
}
