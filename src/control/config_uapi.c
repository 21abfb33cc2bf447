// SPDX-License-Identifier: MIT
/*
 * tapir_conf_to_uapi_set(): the WireGuard part of a parsed configuration (struct tapir_conf,
 * from a config file through config.c or built by the CLI) serialised as a UAPI set request,
 * the text wg(8)'s setconf sends (WireGuard's cross-platform userspace interface, "set=1").
 *
 * tapir's extension keys (tapir_forward, tapir_mac_age, tapir_tcp_listen, tapir_metrics_listen,
 * tapir_transport, tapir_compression, tapir_mac, tapir_replace_macs) are written only when the
 * conf sets them, so a stock file yields a stock request. Keys are written as hex, as the
 * protocol wants; every temporary copy is wiped, and the caller wipes the result. No I/O.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoding.h"
#include "sockaddr.h"

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
