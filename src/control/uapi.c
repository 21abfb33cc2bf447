// SPDX-License-Identifier: MIT
/*
 * UAPI server: frames requests (operation line, key=value lines, blank line), answers get=1
 * from the live device and applies set=1 through the shared parser, validated whole before
 * anything changes and applied under one write-lock section. A client that connects and
 * closes (wg's probe) is simply closed. Never logs key values.
 */
#include "uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "conf.h"
#include "crypto.h"
#include "device.h"
#include "encoding.h"
#include "clock.h"
#include "l2table.h"
#include "log.h"
#include "metrics_http.h"
#include "secbuf.h"
#include "udp.h"

enum {
	UAPI_MAX_REQUEST_BYTES = 64 << 20,
	UAPI_SEND_TIMEOUT_S = 5,
};

#define UAPI_DIR "/var/run/wireguard"

int tapir_uapi_listen(const char *ifname, char *path_out, size_t path_len)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	mode_t old_umask;
	int fd, ret;

	if (mkdir(UAPI_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	ret = snprintf(addr.sun_path, sizeof(addr.sun_path), UAPI_DIR "/%s.sock", ifname);
	if (ret < 0 || (size_t)ret >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	snprintf(path_out, path_len, "%s", addr.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* an existing socket that answers belongs to a running daemon: refuse */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(addr.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	old_umask = umask(0177); /* srw------- */
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (ret < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* A growable output string; out of memory turns it into NULL for good. */
struct strbuf {
	char *s;
	size_t len, cap;
	bool is_failed;
};

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->is_failed)
		return;
	for (;;) {
		size_t room = sb->cap - sb->len;
		va_start(ap, fmt);
		n = vsnprintf(sb->s ? sb->s + sb->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			sb->is_failed = true;
			return;
		}
		if ((size_t)n < room) {
			sb->len += (size_t)n;
			return;
		}
		size_t cap = sb->cap ? sb->cap * 2 : 4096;
		while (cap - sb->len <= (size_t)n)
			cap *= 2;
		char *s = tapir_secbuf_grow(sb->s, sb->len, sb->cap, cap, 1);
		if (!s) {
			sb->is_failed = true;
			return;
		}
		sb->s = s;
		sb->cap = cap;
	}
}

static void sb_key(struct strbuf *sb, const char *name, const uint8_t key[32])
{
	char hex[TAPIR_KEY_HEX_LEN + 1];

	tapir_key_to_hex(hex, key);
	sb_printf(sb, "%s=%s\n", name, hex);
	tapir_wipe(hex, sizeof(hex));
}

static int print_allowed_ip(void *ctx, int family, const uint8_t *addr, uint8_t cidr)
{
	char text[INET6_ADDRSTRLEN];

	if (!inet_ntop(family, addr, text, sizeof(text)))
		return -EINVAL;
	sb_printf(ctx, "allowed_ip=%s/%u\n", text, cidr);
	return 0;
}

static void sb_mac(struct strbuf *sb, const char *key, const uint8_t mac[6])
{
	sb_printf(sb, "%s=%02x:%02x:%02x:%02x:%02x:%02x\n", key, mac[0], mac[1], mac[2], mac[3],
		  mac[4], mac[5]);
}

static int print_learned_mac(void *ctx, const uint8_t mac[6], uint64_t last_seen_ns)
{
	(void)last_seen_ns;
	sb_mac(ctx, "tapir_learned_mac", mac);
	return 0;
}

/* Per-peer extension keys (get=tapir): announced capabilities, pinned and learned MACs. */
static void format_peer_extensions(struct strbuf *sb, struct tapir_device *dev,
				   struct tapir_peer *p)
{
	sb_printf(sb, "tapir_caps=%u\n", atomic_load(&p->remote_caps));
	sb_printf(sb, "tapir_transport=%s\n", tapir_tcp_is_peer_tcp(p) ? "tcp" : "udp");
	sb_printf(sb, "tapir_compression=%s\n", atomic_load(&p->wants_lz4) ? "lz4" : "off");
	for (unsigned int i = 0; i < p->n_pinned_macs; i++)
		sb_mac(sb, "tapir_mac", p->pinned_macs[i]);
	if (dev->l2table)
		tapir_l2table_walk_owner(dev->l2table, p->id, print_learned_mac, sb);
}

static void format_peer(struct strbuf *sb, struct tapir_device *dev, struct tapir_peer *p,
			bool has_extensions)
{
	union tapir_sockaddr ep;
	char text[INET6_ADDRSTRLEN + 16];

	sb_key(sb, "public_key", p->public_key);
	sb_key(sb, "preshared_key", p->hs.preshared_key);
	sb_printf(sb, "protocol_version=1\n");
	tapir_peer_get_endpoint(p, &ep);
	if (ep.sa.sa_family && tapir_sockaddr_format(text, sizeof(text), &ep) > 0)
		sb_printf(sb, "endpoint=%s\n", text);
	sb_printf(sb, "last_handshake_time_sec=%" PRId64 "\nlast_handshake_time_nsec=%" PRId64 "\n",
		  atomic_load(&p->last_handshake_sec), atomic_load(&p->last_handshake_nsec));
	sb_printf(sb, "tx_bytes=%" PRIu64 "\nrx_bytes=%" PRIu64 "\n", atomic_load(&p->tx_bytes),
		  atomic_load(&p->rx_bytes));
	sb_printf(sb, "persistent_keepalive_interval=%u\n",
		  atomic_load(&p->timers.persistent_keepalive_interval_s));
	tapir_allowedips_walk_owner(&p->allowed, print_allowed_ip, sb);
	if (has_extensions)
		format_peer_extensions(sb, dev, p);
}

/* tapir_offload_<name>=1|0: the offloads in use now (metrics_http.c names them) */
static void format_offloads(struct strbuf *sb, const struct tapir_device *dev)
{
	struct drop_count list[TAPIR_METRICS_OFFLOADS];

	tapir_metrics_offloads(dev, list);
	for (size_t i = 0; i < TAPIR_METRICS_OFFLOADS; i++)
		sb_printf(sb, "tapir_offload_%s=%" PRIu64 "\n", list[i].reason, list[i].count);
}

/* tapir_metrics_listen=ADDR:PORT while the metrics endpoint is on */
static void format_metrics_listen(struct strbuf *sb, const struct tapir_device *dev)
{
	union tapir_sockaddr sa;
	char text[INET6_ADDRSTRLEN + 16];

	if (tapir_metrics_http_address(dev, &sa) &&
	    tapir_sockaddr_format(text, sizeof(text), &sa) > 0)
		sb_printf(sb, "tapir_metrics_listen=%s\n", text);
}

char *tapir_uapi_format_get(struct tapir_device *dev, bool has_extensions, size_t *len_out)
{
	struct strbuf sb = {0};

	if (dev->local.has_identity)
		sb_key(&sb, "private_key", dev->local.private_key);
	if (dev->listen_port)
		sb_printf(&sb, "listen_port=%u\n", dev->listen_port);
	if (dev->fwmark)
		sb_printf(&sb, "fwmark=%u\n", dev->fwmark);
	/* tapir extension keys: only for clients that ask with get=tapir (stock parsers
	 * such as wgctrl may reject unknown keys) */
	for (int r = 0; has_extensions && r < TAPIR_DROP_MAX; r++)
		sb_printf(&sb, "tapir_drop_%s=%" PRIu64 "\n",
			  tapir_drop_reason_name((enum tapir_drop_reason)r),
			  atomic_load_explicit(&dev->drops[r], memory_order_relaxed));
	if (has_extensions) {
		sb_printf(&sb, "tapir_workers=%u\n", dev->nworkers);
		sb_printf(&sb, "tapir_mode=%s\n", dev->is_tap ? "tap" : "tun");
		sb_printf(&sb, "tapir_forward=%s\n", dev->is_forwarding ? "true" : "false");
		sb_printf(&sb, "tapir_mac_age=%" PRIu64 "\n",
			  (uint64_t)(dev->mac_age_ns / NSEC_PER_SEC));
		sb_printf(&sb, "tapir_tcp_listen=%s\n",
			  tapir_tcp_is_listen_on(dev) ? "true" : "false");
		sb_printf(&sb, "tapir_tcp_listen_port=%u\n", (unsigned)tapir_tcp_listen_port(dev));
		for (int s = 0; s < TAPIR_TCP_STAT_MAX; s++)
			sb_printf(&sb, "tapir_tcp_%s=%" PRIu64 "\n",
				  tapir_tcp_stat_name((enum tapir_tcp_stat)s),
				  tapir_tcp_stat_get(dev, (enum tapir_tcp_stat)s));
		for (int s = 0; s < TAPIR_LZ4_STAT_MAX; s++)
			sb_printf(&sb, "tapir_lz4_%s=%" PRIu64 "\n",
				  tapir_lz4_stat_name((enum tapir_lz4_stat)s),
				  atomic_load_explicit(&dev->lz4_stats[s], memory_order_relaxed));
		for (int s = 0; s < TAPIR_ICMP_STAT_MAX; s++)
			sb_printf(&sb, "tapir_icmp_%s=%" PRIu64 "\n",
				  tapir_icmp_stat_name((enum tapir_icmp_stat)s),
				  atomic_load_explicit(&dev->icmp_stats[s], memory_order_relaxed));
		for (int s = 0; s < TAPIR_TIMER_STAT_MAX; s++)
			sb_printf(&sb, "tapir_timer_%s=%" PRIu64 "\n",
				  tapir_timer_stat_name((enum tapir_timer_stat)s),
				  atomic_load_explicit(&dev->timer_stats[s], memory_order_relaxed));
		format_offloads(&sb, dev);
		format_metrics_listen(&sb, dev);
	}
	for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next)
		format_peer(&sb, dev, p, has_extensions);
	sb_printf(&sb, "errno=0\n\n");
	if (sb.is_failed) {
		if (sb.s)
			tapir_wipe(sb.s, sb.cap);
		free(sb.s);
		return NULL;
	}
	*len_out = sb.len;
	return sb.s;
}

static bool is_own_key(struct tapir_device *dev, const uint8_t key[32])
{
	return dev->local.has_identity && tapir_memeq_ct(dev->local.public_key, key, 32);
}

static int apply_allowed_ips(struct tapir_device *dev, struct tapir_peer *peer,
			     const struct tapir_conf_peer *cp)
{
	if (cp->replace_allowed_ips)
		tapir_allowedips_remove_owner(dev->allowedips, &peer->allowed);
	for (size_t i = 0; i < cp->n_allowed_ips; i++) {
		const struct tapir_conf_allowed_ip *a = &cp->allowed_ips[i];
		int ret;

		if (a->is_removal) {
			tapir_allowedips_remove(dev->allowedips, a->family, a->addr, a->cidr,
						&peer->allowed);
			continue;
		}
		ret = tapir_allowedips_insert(dev->allowedips, a->family, a->addr, a->cidr,
					      &peer->allowed);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The parser's limit is the peer's array size: set_pins() copies one into the other. */
_Static_assert((int)TAPIR_CONF_MAX_PINNED_MACS == (int)TAPIR_PEER_MAX_PINNED_MACS,
	       "pinned MACs limit");

/*
 * Pins (MACs =) of @peer as @cp asks; write lock held. Returns true if they changed: the peer's
 * MAC entries are then flushed, and the caller reserves the new pins once the whole set is in.
 */
static bool set_pins(struct tapir_device *dev, struct tapir_peer *peer,
		     const struct tapir_conf_peer *cp)
{
	uint8_t old[TAPIR_CONF_MAX_PINNED_MACS][6];
	unsigned int n_old = peer->n_pinned_macs;

	if (!cp->replace_macs && !cp->n_pinned_macs)
		return false;
	memcpy(old, peer->pinned_macs, sizeof(old));
	if (cp->replace_macs)
		peer->n_pinned_macs = 0;
	/* validate_tap() refused a set that would pass the limit */
	for (size_t i = 0; i < cp->n_pinned_macs; i++) {
		if (peer->n_pinned_macs < TAPIR_CONF_MAX_PINNED_MACS)
			memcpy(peer->pinned_macs[peer->n_pinned_macs++], cp->pinned_macs[i], 6);
	}
	if (n_old == peer->n_pinned_macs && !memcmp(old, peer->pinned_macs, (size_t)n_old * 6))
		return false;
	tapir_l2_unpin(dev, peer);
	return true;
}

/*
 * Applies one [Peer] change; write lock held. Sets *@keepalive_peer when PKA went 0 -> n and
 * *@pins_changed when the peer's pinned MACs did.
 */
static int apply_peer(struct tapir_device *dev, const struct tapir_conf_peer *cp,
		      struct tapir_peer **keepalive_peer, bool *pins_changed)
{
	struct tapir_peer *peer = tapir_peer_table_find_key(&dev->peers, cp->public_key);

	if (cp->remove) {
		if (peer)
			tapir_device_remove_peer(dev, peer);
		return 0;
	}
	if (is_own_key(dev, cp->public_key) || (!peer && cp->update_only))
		return 0;
	if (!peer) {
		peer = tapir_device_add_peer(dev, cp->public_key);
		if (!peer)
			return -ENOMEM;
	}
	if (cp->has_preshared_key)
		tapir_device_set_psk(dev, peer, cp->preshared_key);
	if (cp->has_endpoint || cp->has_transport) {
		/* an endpoint alone is a UDP one (what stock wg means); a TCP endpoint that
		 * moved needs a new connection */
		bool is_tcp = cp->has_transport && cp->is_tcp;
		union tapir_sockaddr old;

		tapir_peer_get_endpoint(peer, &old);
		if (cp->has_endpoint)
			tapir_peer_set_endpoint(peer, &cp->endpoint);
		tapir_tcp_set_peer_transport(dev, peer, is_tcp,
					     cp->has_endpoint &&
						 memcmp(&old, &cp->endpoint, sizeof(old)) != 0);
	}
	if (cp->has_persistent_keepalive) {
		uint32_t old = atomic_exchange(&peer->timers.persistent_keepalive_interval_s,
					       cp->persistent_keepalive_interval);
		if (!old && cp->persistent_keepalive_interval)
			*keepalive_peer = peer;
	}
	if (cp->has_compression)
		tapir_l2_set_compression(dev, peer, cp->is_lz4);
	if (set_pins(dev, peer, cp))
		*pins_changed = true;
	return apply_allowed_ips(dev, peer, cp);
}

/* Applies a validated request under one write-lock section. */
static int apply_locked(struct tapir_device *dev, const struct tapir_conf *conf)
{
	bool pins_changed = false;
	int ret = 0;

	pthread_rwlock_wrlock(&dev->lock);
	if (conf->has_private_key)
		tapir_device_set_private_key(dev, conf->private_key);
	if (conf->has_forward)
		dev->is_forwarding = conf->is_forward;
	if (conf->has_mac_age)
		dev->mac_age_ns = (uint64_t)conf->mac_age_s * NSEC_PER_SEC;
	if (conf->replace_peers)
		tapir_device_remove_all_peers(dev);
	for (size_t i = 0; i < conf->n_peers && ret == 0; i++) {
		struct tapir_peer *ka = NULL;

		ret = apply_peer(dev, &conf->peers[i], &ka, &pins_changed);
		/* turning persistent keepalive on sends one at once (7.4); the control
		 * thread may send while holding the lock as writer */
		if (ka && dev->is_up) {
			struct tapir_send_ctx tx = tapir_send_ctx_control(dev);

			tapir_send_keepalive(dev, &tx, ka);
		}
	}
	/* after every peer's old pins went: a MAC moved from one peer to another is free */
	if (pins_changed)
		tapir_l2_pin_all(dev);
	pthread_rwlock_unlock(&dev->lock);
	return ret;
}

static bool has_mac(const uint8_t (*macs)[6], size_t n, const uint8_t mac[6])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(macs[i], mac, 6))
			return true;
	return false;
}

/* Does the set give up @key's pins: replace_peers, or the peer's removal or replacement? */
static bool releases_pins(const struct tapir_conf *conf, const uint8_t key[32])
{
	if (conf->replace_peers)
		return true;
	for (size_t i = 0; i < conf->n_peers; i++) {
		const struct tapir_conf_peer *cp = &conf->peers[i];

		if ((cp->remove || cp->replace_macs) && !memcmp(cp->public_key, key, 32))
			return true;
	}
	return false;
}

/* Is @mac, which entry @cp pins, pinned to another peer (now, or by another entry)? */
static bool is_pinned_elsewhere(struct tapir_device *dev, const struct tapir_conf *conf,
				const struct tapir_conf_peer *cp, const uint8_t mac[6])
{
	for (size_t i = 0; i < conf->n_peers; i++) {
		const struct tapir_conf_peer *o = &conf->peers[i];

		if (!o->remove && memcmp(o->public_key, cp->public_key, 32) != 0 &&
		    has_mac(o->pinned_macs, o->n_pinned_macs, mac))
			return true;
	}
	for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next) {
		if (memcmp(p->public_key, cp->public_key, 32) != 0 &&
		    has_mac((const uint8_t(*)[6])p->pinned_macs, p->n_pinned_macs, mac) &&
		    !releases_pins(conf, p->public_key))
			return true;
	}
	return false;
}

/* Pins of one entry: at most TAPIR_CONF_MAX_PINNED_MACS per peer, none held by another peer. */
static int validate_pins(struct tapir_device *dev, const struct tapir_conf *conf,
			 const struct tapir_conf_peer *cp)
{
	struct tapir_peer *peer = tapir_peer_table_find_key(&dev->peers, cp->public_key);
	size_t n = (peer && !cp->replace_macs ? peer->n_pinned_macs : 0) + cp->n_pinned_macs;

	if (n > TAPIR_CONF_MAX_PINNED_MACS) {
		log_info("%s: uapi: tapir_mac: more than %d MACs pinned to one peer", dev->ifname,
			 TAPIR_CONF_MAX_PINNED_MACS);
		return -EINVAL;
	}
	for (size_t i = 0; i < cp->n_pinned_macs; i++) {
		const uint8_t *m = cp->pinned_macs[i];

		if (is_pinned_elsewhere(dev, conf, cp, m)) {
			log_info("%s: uapi: tapir_mac=%02x:%02x:%02x:%02x:%02x:%02x is pinned to "
				 "another peer",
				 dev->ifname, m[0], m[1], m[2], m[3], m[4], m[5]);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * TAP mode's rules, checked before anything changes: no allowed IPs (a TAP takes Ethernet
 * frames, never IP packets), and a MAC is pinned to one peer at most, within the table's room.
 */
static int validate_tap(struct tapir_device *dev, const struct tapir_conf *conf)
{
	size_t n_pins = 0;
	int ret;

	if (!dev->is_tap)
		return 0;
	for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next)
		n_pins += p->n_pinned_macs;
	for (size_t i = 0; i < conf->n_peers; i++) {
		const struct tapir_conf_peer *cp = &conf->peers[i];

		if (cp->n_allowed_ips) {
			log_info("%s: uapi: allowed_ip does not apply in tap mode (frames are "
				 "switched by MAC; tapir_mac pins a peer's source MACs)",
				 dev->ifname);
			return -EINVAL;
		}
		if (cp->remove)
			continue;
		ret = validate_pins(dev, conf, cp);
		if (ret < 0)
			return ret;
		n_pins += cp->n_pinned_macs;
	}
	/* an upper bound: pins given up in this set still count */
	if (n_pins > TAPIR_L2TABLE_MAX_PINNED) {
		log_info("%s: uapi: tapir_mac: more than %d pinned MACs on the interface",
			 dev->ifname, TAPIR_L2TABLE_MAX_PINNED);
		return -ENOSPC;
	}
	return 0;
}

int tapir_uapi_apply_set(struct tapir_device *dev, const char *body, size_t len)
{
	struct tapir_conf conf = {0};
	char err[256];
	int ret;

	ret = tapir_uapi_parse_set(body, len, &conf, err, sizeof(err));
	if (ret < 0) {
		log_info("%s: uapi: %s", dev->ifname, err);
		return ret;
	}
	ret = validate_tap(dev, &conf);
	if (ret < 0)
		goto out;
	/* things that can fail for reasons other than the request go first */
	if (conf.has_listen_port && (conf.listen_port != dev->listen_port || !dev->is_up)) {
		ret = tapir_device_bind(dev, conf.listen_port);
		if (ret < 0) {
			log_info("%s: uapi: cannot bind port %u: %s", dev->ifname, conf.listen_port,
				 strerror(-ret));
			ret = -EADDRINUSE;
			goto out;
		}
	}
	if (conf.has_fwmark && tapir_device_set_fwmark(dev, conf.fwmark) < 0) {
		ret = -EADDRINUSE;
		goto out;
	}
	if (conf.has_metrics_listen) {
		ret = tapir_metrics_http_set(dev, &conf.metrics_listen);
		if (ret < 0) {
			log_info("%s: uapi: cannot serve metrics: %s", dev->ifname, strerror(-ret));
			ret = -EADDRINUSE;
			goto out;
		}
	}
	if (conf.has_tcp_listen) {
		ret = tapir_tcp_set_listen(dev, conf.is_tcp_listen);
		if (ret < 0) {
			log_info("%s: uapi: cannot listen on tcp port %u: %s", dev->ifname,
				 (unsigned)dev->listen_port, strerror(-ret));
			ret = -EADDRINUSE;
			goto out;
		}
	}
	ret = apply_locked(dev, &conf);
out:
	tapir_conf_free(&conf);
	return ret;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int reply_errno(int fd, int err)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "errno=%d\n\n", err);
	return write_all(fd, line, (size_t)n);
}

/* Serves one complete request of @len bytes (ending in the blank line). */
static int serve(struct tapir_device *dev, int fd, const char *req, size_t len)
{
	bool is_get = len == 7 && !memcmp(req, "get=1\n\n", 7);
	bool is_get_ext = len == 11 && !memcmp(req, "get=tapir\n\n", 11);

	if (is_get || is_get_ext) {
		size_t out_len;
		char *out = tapir_uapi_format_get(dev, is_get_ext, &out_len);
		int ret;

		if (!out)
			return reply_errno(fd, -ENOMEM);
		ret = write_all(fd, out, out_len);
		tapir_wipe(out, out_len);
		free(out);
		return ret;
	}
	if (len >= 6 && !memcmp(req, "set=1\n", 6))
		return reply_errno(fd, tapir_uapi_apply_set(dev, req + 6, len - 7));
	return reply_errno(fd, -EINVAL);
}

static const char *find_request_end(const char *buf, size_t len)
{
	/* a request ends at the first empty line; "\n\n", or "\n" at the very start */
	if (len >= 1 && buf[0] == '\n')
		return buf;
	for (size_t i = 1; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\n')
			return buf + i;
	return NULL;
}

int tapir_uapi_client_handle(struct tapir_device *dev, struct tapir_uapi_client *c)
{
	for (;;) {
		ssize_t n;
		const char *end;

		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *b;
			if (cap > UAPI_MAX_REQUEST_BYTES)
				return -E2BIG;
			b = tapir_secbuf_grow(c->buf, c->len, c->cap, cap, 1);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		c->len += (size_t)n;
		while ((end = find_request_end(c->buf, c->len))) {
			size_t req_len = (size_t)(end - c->buf) + 1;
			int ret;

			if (req_len == 1) { /* stray empty line: not a request */
				ret = reply_errno(c->fd, -EINVAL);
			} else {
				ret = serve(dev, c->fd, c->buf, req_len);
			}
			tapir_wipe(c->buf, req_len);
			memmove(c->buf, c->buf + req_len, c->len - req_len);
			c->len -= req_len;
			if (ret < 0)
				return ret;
		}
	}
}

void tapir_uapi_client_free(struct tapir_uapi_client *c)
{
	if (!c)
		return;
	if (c->buf) {
		tapir_wipe(c->buf, c->cap);
		free(c->buf);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
