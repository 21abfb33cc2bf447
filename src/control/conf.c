// SPDX-License-Identifier: MIT
/*
 * Parser for the body of a UAPI "set=1" request (wireguard-protocol.md section 9.3) into a
 * struct tapir_conf (endpoints in the text form of lib/sockaddr.c, shared with "get").
 *
 * The parser validates the whole request and only describes the change; it must not touch the
 * device, log, or keep pointers into the request. Lines are recorded in order (a public_key
 * seen twice gives two entries) so the applier keeps wireguard-go's streaming semantics.
 * Secrets (private_key, preshared_key) are never echoed into error messages, and every copy
 * of them is wiped before its memory is freed.
 */
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "parse.h"
#include "secbuf.h"
#include "util.h"

enum {
	LINE_MAX_BYTES = 4096,	  /* longest accepted line, excluding its '\n' */
	ERR_VALUE_MAX_BYTES = 64, /* how much of a bad value an error message quotes */
	/* longer unknown key names are not quoted: a key on a line of its own ("<base64>=",
	 * 43 characters before its '=', or 64 hex digits) would otherwise reach the log */
	KEY_NAME_MAX_BYTES = 32,
	QUOTE_BUF_BYTES = ERR_VALUE_MAX_BYTES * 4 + 4,
	ADDR_TEXT_MAX_BYTES = 64, /* longer than any numeric IPv4/IPv6 address */
	INITIAL_PEERS = 8,
	INITIAL_ALLOWED_IPS = 4,
};

enum key_scope {
	SCOPE_DEVICE,	  /* only before the first public_key */
	SCOPE_PEER_START, /* public_key: valid anywhere, starts a new peer entry */
	SCOPE_PEER,	  /* only after a public_key */
};

struct parser {
	struct tapir_conf *conf;
	char *err;
	size_t errlen;
	size_t line_no;
};

/* A handler returns 0, -EINVAL (the caller reports the key and value) or -ENOMEM. */
typedef int (*key_parse_fn)(struct parser *p, const char *val, size_t len);

struct key_handler {
	const char *name;
	enum key_scope scope;
	bool is_secret; /* the value must never appear in an error message */
	key_parse_fn parse;
};

__attribute__((format(printf, 2, 3))) static void set_err(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->err || !p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

/* Renders untrusted bytes for an error message: non-printables escaped, long input cut. */
static void quote(char out[QUOTE_BUF_BYTES], const char *s, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && i < ERR_VALUE_MAX_BYTES; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, QUOTE_BUF_BYTES - o, "\\x%02x", c);
	}
	if (len > ERR_VALUE_MAX_BYTES) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static bool is_literal(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && !memcmp(s, lit, len);
}

/* "[-]addr/cidr"; the address is kept as given, the allowed-IPs trie masks it. */
static int parse_prefix(struct tapir_conf_allowed_ip *aip, const char *s, size_t len)
{
	char text[ADDR_TEXT_MAX_BYTES];
	const char *slash;
	size_t addr_len, bits_len;
	uint64_t bits;

	memset(aip, 0, sizeof(*aip));
	if (len && s[0] == '-') {
		aip->is_removal = true;
		s++;
		len--;
	}
	slash = len ? memrchr(s, '/', len) : NULL;
	if (!slash)
		return -EINVAL;
	addr_len = (size_t)(slash - s);
	bits_len = len - addr_len - 1;
	/* Like Go's netip.ParsePrefix: no leading zeros in the prefix length. */
	if (bits_len > 1 && slash[1] == '0')
		return -EINVAL;
	aip->family = memchr(s, ':', addr_len) ? AF_INET6 : AF_INET;
	if (tapir_parse_u64(slash + 1, bits_len, aip->family == AF_INET ? 32 : 128, &bits) ||
	    tapir_parse_copy_text(text, sizeof(text), s, addr_len) ||
	    inet_pton(aip->family, text, aip->addr) != 1)
		return -EINVAL;
	aip->cidr = (uint8_t)bits;
	return 0;
}

static int parse_true(const char *val, size_t len, bool *out)
{
	if (!is_literal(val, len, "true"))
		return -EINVAL;
	*out = true;
	return 0;
}

static int parse_bool(const char *val, size_t len, bool *out)
{
	if (is_literal(val, len, "true") || is_literal(val, len, "false")) {
		*out = is_literal(val, len, "true");
		return 0;
	}
	return -EINVAL;
}

/* "aa:bb:cc:dd:ee:ff" (either case); no multicast or all-zero address. */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	static const char hex[] = "0123456789abcdef";

	if (len != 17)
		return -EINVAL;
	for (size_t i = 0; i < 6; i++) {
		const char *hi, *lo;

		if (i < 5 && s[i * 3 + 2] != ':')
			return -EINVAL;
		hi = memchr(hex, s[i * 3] | 0x20, 16);
		lo = memchr(hex, s[i * 3 + 1] | 0x20, 16);
		if (!hi || !lo || !s[i * 3] || !s[i * 3 + 1])
			return -EINVAL;
		mac[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	if ((mac[0] & 1) || !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]))
		return -EINVAL;
	return 0;
}

static int key_tapir_forward(struct parser *p, const char *val, size_t len)
{
	p->conf->has_forward = true;
	return parse_bool(val, len, &p->conf->is_forward);
}

static int key_tapir_tcp_listen(struct parser *p, const char *val, size_t len)
{
	p->conf->has_tcp_listen = true;
	return parse_bool(val, len, &p->conf->is_tcp_listen);
}

/* "off" or a numeric ADDR:PORT (port not 0): where the metrics endpoint listens */
static int key_tapir_metrics_listen(struct parser *p, const char *val, size_t len)
{
	union tapir_sockaddr *sa = &p->conf->metrics_listen;

	p->conf->has_metrics_listen = true;
	memset(sa, 0, sizeof(*sa));
	if (is_literal(val, len, "off"))
		return 0;
	return tapir_sockaddr_parse_listen(sa, val, len);
}

static int key_tapir_mac_age(struct parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, TAPIR_CONF_MAX_MAC_AGE_S, &v) || v == 0)
		return -EINVAL;
	p->conf->mac_age_s = (uint32_t)v;
	p->conf->has_mac_age = true;
	return 0;
}

/* Only valid once a public_key has been seen (the dispatcher checks). */
static struct tapir_conf_peer *cur_peer(struct parser *p)
{
	return &p->conf->peers[p->conf->n_peers - 1];
}

static int key_private_key(struct parser *p, const char *val, size_t len)
{
	/* All zeros is valid: it asks to remove the key. */
	if (len != TAPIR_KEY_HEX_LEN || tapir_key_from_hex(p->conf->private_key, val, len))
		return -EINVAL;
	p->conf->has_private_key = true;
	return 0;
}

static int key_listen_port(struct parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, UINT16_MAX, &v))
		return -EINVAL;
	p->conf->listen_port = (uint16_t)v;
	p->conf->has_listen_port = true;
	return 0;
}

static int key_fwmark(struct parser *p, const char *val, size_t len)
{
	uint64_t v;

	if (tapir_parse_u64(val, len, UINT32_MAX, &v))
		return -EINVAL;
	p->conf->fwmark = (uint32_t)v;
	p->conf->has_fwmark = true;
	return 0;
}

static int key_replace_peers(struct parser *p, const char *val, size_t len)
{
	return parse_true(val, len, &p->conf->replace_peers);
}

/* The array holds preshared keys, so it grows as a secret buffer. Doubling keeps the total
 * copying linear. */
static int grow_peers(struct tapir_conf *conf)
{
	struct tapir_conf_peer *peers;
	size_t cap;

	if (conf->n_peers < conf->cap_peers)
		return 0;
	cap = conf->cap_peers ? conf->cap_peers * 2 : INITIAL_PEERS;
	peers = tapir_secbuf_grow(conf->peers, conf->n_peers, conf->cap_peers, cap, sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	conf->peers = peers;
	conf->cap_peers = cap;
	return 0;
}

static int key_public_key(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf *conf = p->conf;
	struct tapir_conf_peer *peer;
	int r = grow_peers(conf);

	if (r)
		return r;
	peer = &conf->peers[conf->n_peers];
	memset(peer, 0, sizeof(*peer));
	if (len != TAPIR_KEY_HEX_LEN || tapir_key_from_hex(peer->public_key, val, len))
		return -EINVAL;
	conf->n_peers++;
	return 0;
}

static int key_remove(struct parser *p, const char *val, size_t len)
{
	return parse_true(val, len, &cur_peer(p)->remove);
}

static int key_update_only(struct parser *p, const char *val, size_t len)
{
	return parse_true(val, len, &cur_peer(p)->update_only);
}

static int key_preshared_key(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	/* All zeros is valid: it means "no PSK". */
	if (len != TAPIR_KEY_HEX_LEN || tapir_key_from_hex(peer->preshared_key, val, len))
		return -EINVAL;
	peer->has_preshared_key = true;
	return 0;
}

static int key_endpoint(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	if (tapir_sockaddr_parse(&peer->endpoint, val, len))
		return -EINVAL;
	peer->has_endpoint = true;
	return 0;
}

static int key_persistent_keepalive(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);
	uint64_t v;

	if (tapir_parse_u64(val, len, UINT16_MAX, &v))
		return -EINVAL;
	peer->persistent_keepalive_interval = (uint16_t)v;
	peer->has_persistent_keepalive = true;
	return 0;
}

static int key_replace_allowed_ips(struct parser *p, const char *val, size_t len)
{
	return parse_true(val, len, &cur_peer(p)->replace_allowed_ips);
}

static int key_allowed_ip(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);
	struct tapir_conf_allowed_ip aip;

	if (parse_prefix(&aip, val, len))
		return -EINVAL;
	if (peer->n_allowed_ips == peer->cap_allowed_ips) {
		size_t cap =
		    peer->cap_allowed_ips ? peer->cap_allowed_ips * 2 : INITIAL_ALLOWED_IPS;
		struct tapir_conf_allowed_ip *a =
		    reallocarray(peer->allowed_ips, cap, sizeof(*peer->allowed_ips));

		if (!a)
			return -ENOMEM;
		peer->allowed_ips = a;
		peer->cap_allowed_ips = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = aip;
	return 0;
}

static int key_tapir_replace_macs(struct parser *p, const char *val, size_t len)
{
	return parse_true(val, len, &cur_peer(p)->replace_macs);
}

static int key_tapir_mac(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	if (peer->n_pinned_macs == TAPIR_CONF_MAX_PINNED_MACS ||
	    parse_mac(val, len, peer->pinned_macs[peer->n_pinned_macs]))
		return -EINVAL;
	peer->n_pinned_macs++;
	return 0;
}

/* A value that is one of two words: @yes sets *@is_yes, @no clears it, anything else fails. */
static int parse_either(const char *val, size_t len, const char *yes, const char *no, bool *has,
			bool *is_yes)
{
	if (!is_literal(val, len, yes) && !is_literal(val, len, no))
		return -EINVAL;
	*is_yes = is_literal(val, len, yes);
	*has = true;
	return 0;
}

static int key_tapir_transport(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	return parse_either(val, len, "tcp", "udp", &peer->has_transport, &peer->is_tcp);
}

static int key_tapir_compression(struct parser *p, const char *val, size_t len)
{
	struct tapir_conf_peer *peer = cur_peer(p);

	return parse_either(val, len, "lz4", "off", &peer->has_compression, &peer->is_lz4);
}

static int key_protocol_version(struct parser *p, const char *val, size_t len)
{
	(void)p;
	return is_literal(val, len, "1") ? 0 : -EINVAL;
}

static const struct key_handler key_handlers[] = {
    {"private_key", SCOPE_DEVICE, true, key_private_key},
    {"listen_port", SCOPE_DEVICE, false, key_listen_port},
    {"fwmark", SCOPE_DEVICE, false, key_fwmark},
    {"replace_peers", SCOPE_DEVICE, false, key_replace_peers},
    {"public_key", SCOPE_PEER_START, false, key_public_key},
    {"remove", SCOPE_PEER, false, key_remove},
    {"update_only", SCOPE_PEER, false, key_update_only},
    {"preshared_key", SCOPE_PEER, true, key_preshared_key},
    {"endpoint", SCOPE_PEER, false, key_endpoint},
    {"persistent_keepalive_interval", SCOPE_PEER, false, key_persistent_keepalive},
    {"replace_allowed_ips", SCOPE_PEER, false, key_replace_allowed_ips},
    {"allowed_ip", SCOPE_PEER, false, key_allowed_ip},
    {"protocol_version", SCOPE_PEER, false, key_protocol_version},
    /* tapir extension keys: stock wg never sends them */
    {"tapir_forward", SCOPE_DEVICE, false, key_tapir_forward},
    {"tapir_mac_age", SCOPE_DEVICE, false, key_tapir_mac_age},
    {"tapir_tcp_listen", SCOPE_DEVICE, false, key_tapir_tcp_listen},
    {"tapir_metrics_listen", SCOPE_DEVICE, false, key_tapir_metrics_listen},
    {"tapir_replace_macs", SCOPE_PEER, false, key_tapir_replace_macs},
    {"tapir_mac", SCOPE_PEER, false, key_tapir_mac},
    {"tapir_transport", SCOPE_PEER, false, key_tapir_transport},
    {"tapir_compression", SCOPE_PEER, false, key_tapir_compression},
};

static const struct key_handler *find_key(const char *key, size_t len)
{
	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(key_handlers); i++) {
		if (is_literal(key, len, key_handlers[i].name))
			return &key_handlers[i];
	}
	return NULL;
}

/*
 * Once a peer is selected, device keys are errors (as in wireguard-go, which reads them as
 * unknown peer keys); peer keys before any public_key have no peer to apply to.
 */
static int check_scope(struct parser *p, const struct key_handler *k)
{
	bool has_peer = p->conf->n_peers > 0;

	switch (k->scope) {
	case SCOPE_DEVICE:
		if (has_peer) {
			set_err(p, "device key \"%s\" after public_key", k->name);
			return -EINVAL;
		}
		return 0;
	case SCOPE_PEER:
		if (!has_peer) {
			set_err(p, "peer key \"%s\" before any public_key", k->name);
			return -EINVAL;
		}
		return 0;
	case SCOPE_PEER_START:
		return 0;
	}
	return -EINVAL;
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	const struct key_handler *k;
	char q[QUOTE_BUF_BYTES];
	size_t key_len, val_len;
	int r;

	if (!eq) {
		/* The line is not quoted: it may be a key that lost its '='. */
		set_err(p, "line %zu: missing '='", p->line_no);
		return -EPROTO;
	}
	key_len = (size_t)(eq - line);
	val_len = len - key_len - 1;
	k = find_key(line, key_len);
	if (!k && key_len > KEY_NAME_MAX_BYTES) {
		set_err(p, "unknown key (%zu bytes, not shown)", key_len);
		return -EINVAL;
	}
	if (!k) {
		quote(q, line, key_len);
		set_err(p, "unknown key \"%s\"", q);
		return -EINVAL;
	}
	r = check_scope(p, k);
	if (r)
		return r;
	/* A NUL cannot be part of any valid value; the length check keeps it out of inet_pton. */
	r = val_len && !memchr(eq + 1, '\0', val_len) ? k->parse(p, eq + 1, val_len) : -EINVAL;
	if (r == -ENOMEM)
		set_err(p, "out of memory");
	else if (r && k->is_secret)
		set_err(p, "invalid value for key \"%s\"", k->name);
	else if (r) {
		quote(q, eq + 1, val_len);
		set_err(p, "invalid value for key \"%s\": \"%s\"", k->name, q);
	}
	return r;
}

static int parse_lines(struct parser *p, const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t rest = len - pos;
		size_t scan = rest < LINE_MAX_BYTES + 1 ? rest : LINE_MAX_BYTES + 1;
		const char *nl = memchr(buf + pos, '\n', scan);
		int r;

		p->line_no++;
		if (!nl && scan == rest) {
			set_err(p, "line %zu: missing final newline", p->line_no);
			return -EPROTO;
		}
		if (!nl) {
			set_err(p, "line %zu: longer than %d bytes", p->line_no, LINE_MAX_BYTES);
			return -EPROTO;
		}
		r = parse_line(p, buf + pos, (size_t)(nl - (buf + pos)));
		if (r)
			return r;
		pos = (size_t)(nl - buf) + 1;
	}
	return 0;
}

int tapir_uapi_parse_set(const char *buf, size_t len, struct tapir_conf *out, char *err,
			 size_t errlen)
{
	struct parser p = {.conf = out, .err = err, .errlen = errlen};
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	r = parse_lines(&p, buf, len);
	if (r)
		tapir_conf_free(out);
	return r;
}

void tapir_conf_free(struct tapir_conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < conf->n_peers; i++)
		free(conf->peers[i].allowed_ips);
	if (conf->peers) {
		explicit_bzero(conf->peers, conf->cap_peers * sizeof(*conf->peers));
		free(conf->peers);
	}
	explicit_bzero(conf, sizeof(*conf));
}
