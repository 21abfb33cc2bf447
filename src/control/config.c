// SPDX-License-Identifier: MIT
/*
 * Parser for wg-quick's INI configuration files ([Interface] / [Peer], wg(8)'s setconf format
 * plus wg-quick's own keys, plus tapir up's TAP-mode keys): the lines, the sections and the
 * error messages, the checks that need the whole file, and freeing what was parsed. The keys
 * themselves are config_keys.c's (one handler each, found through its table); the serialiser
 * back into a UAPI set request is config_uapi.c.
 *
 * Pure text processing: no file, socket or DNS access (host names in Endpoint are kept for the
 * caller to resolve). A file is accepted whole or not at all; an error message names the file,
 * the line and the key but never a value, since values may be private or preshared keys.
 * Every copy of a secret is wiped before its memory is freed.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_keys.h"
#include "secbuf.h"

enum {
	KEY_NAME_MAX_BYTES = 24, /* longer unknown key names are not quoted */
	INITIAL_PEERS = 4,
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
	if (cfg_is_word(s, len, "Interface")) {
		p->section = SECTION_INTERFACE;
		return 0;
	}
	if (!cfg_is_word(s, len, "Peer")) {
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
	k = tapir_config_find_key(p->section, key, key_len);
	if (!k) {
		set_err(p, p->line_no, "unknown key in [%s] (key %s)",
			p->section == SECTION_PEER ? "Peer" : "Interface", name);
		return -EINVAL;
	}
	if (cfg_is_up_kind(k->kind) && p->is_wg_only) {
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
