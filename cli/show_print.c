// SPDX-License-Identifier: MIT
/*
 * tapir show: the forms wg(8) prints, byte for byte: the human-readable one (colours as
 * WG_COLOR_MODE says, peers by latest handshake, keys "(hidden)" unless WG_HIDE_KEYS=never),
 * the tab-separated dump and each single field, plus tapird's fields (drops, tcp,
 * compression, icmp). The dump and the private-key and preshared-keys fields print keys, as
 * wg(8)'s do; every key buffer is wiped after use.
 */
#include "show_render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "encoding.h"
#include "util.h"

enum {
	SECONDS_PER_MINUTE = 60,
	SECONDS_PER_HOUR = 60 * 60,
	SECONDS_PER_DAY = 24 * 60 * 60,
	SECONDS_PER_YEAR = 365 * 24 * 60 * 60,
};

/* Terminal colours as wg(8) uses them; empty strings when colour is off. */
struct style {
	const char *reset, *bold, *green, *yellow, *cyan, *red;
};

/* The base64 of @key, or "(none)" when @has_key is false (wg's maybe_key). */
static const char *maybe_key(char buf[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32],
			     bool has_key)
{
	if (!has_key)
		return "(none)";
	tapir_key_to_base64(buf, key);
	return buf;
}

/* The human-readable form hides secrets unless WG_HIDE_KEYS=never, like wg(8). */
static const char *masked_key(char buf[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32])
{
	const char *var = getenv("WG_HIDE_KEYS");

	if (var && !strcmp(var, "never")) {
		tapir_key_to_base64(buf, key);
		return buf;
	}
	return "(hidden)";
}

static const char *compression_text(const struct peer_info *peer)
{
	if (!peer->is_lz4)
		return "off";
	return tapir_show_is_lz4_active(peer) ? "lz4 (active)" : "lz4 (not announced by the peer)";
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

	tapir_key_to_base64(b64, peer->public_key);
	printf("%s%speer%s: %s%s%s\n", st->yellow, st->bold, st->reset, st->yellow, b64, st->reset);
	if (peer->has_preshared_key)
		printf("  %spreshared key%s: %s\n", st->bold, st->reset,
		       masked_key(b64, peer->preshared_key));
	if (tapir_show_has_endpoint(peer))
		printf("  %sendpoint%s: %s\n", st->bold, st->reset,
		       tapir_show_peer_endpoint_text(ep, peer));
	printf("  %sallowed ips%s: ", st->bold, st->reset);
	for (size_t i = 0; i < peer->n_aips; i++)
		printf("%s%s/%s%u%s", tapir_show_aip_text(ip, &peer->aips[i]), st->cyan, st->reset,
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

		tapir_show_mac_text(mac, peer->macs[i]);
		printf("%s%s", mac, i + 1 < peer->n_macs ? ", " : "\n");
	}
	tapir_wipe(b64, sizeof(b64));
}

int tapir_show_pretty_print(const struct device_info *dev)
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
		tapir_key_to_base64(b64, dev->public_key);
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

static void print_aips(const struct peer_info *peer, char sep, char end)
{
	char ip[ADDR_TEXT_BYTES];

	for (size_t i = 0; i < peer->n_aips; i++)
		printf("%s/%u%c", tapir_show_aip_text(ip, &peer->aips[i]), peer->aips[i].cidr,
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

		tapir_key_to_base64(b64, peer->public_key);
		printf("%s%s\t", prefix, b64);
		printf("%s\t", maybe_key(b64, peer->preshared_key, peer->has_preshared_key));
		printf("%s\t", tapir_show_has_endpoint(peer)
				   ? tapir_show_peer_endpoint_text(ep, peer)
				   : "(none)");
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
		printf("%s\n", tapir_show_has_endpoint(peer)
				   ? tapir_show_peer_endpoint_text(ep, peer)
				   : "(none)");
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

bool tapir_show_is_field(const char *s)
{
	return is_in(s, device_fields, TAPIR_ARRAY_SIZE(device_fields)) ||
	       is_in(s, peer_fields, TAPIR_ARRAY_SIZE(peer_fields));
}

/* One "REASON\tCOUNT" line a counter (drops, tcp, icmp, compression). */
static void print_counts(const char *prefix, const struct drop_count *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s\t%" PRIu64 "\n", prefix, list[i].reason, list[i].count);
}

/* One field of @dev; each line starts with "IFNAME\t" when @prefix is (show all FIELD). */
void tapir_show_field_print(const struct device_info *dev, const char *field, const char *prefix)
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
	else if (!strcmp(field, "drops"))
		print_counts(prefix, dev->drops, dev->n_drops);
	else if (!strcmp(field, "tcp")) {
		printf("%slisten\t%s\n", prefix, dev->is_tcp_listen ? "on" : "off");
		printf("%slisten_port\t%u\n", prefix, dev->tcp_port);
		print_counts(prefix, dev->tcp, dev->n_tcp);
	} else if (!strcmp(field, "icmp"))
		print_counts(prefix, dev->icmp, dev->n_icmp);
	else if (!strcmp(field, "compression")) {
		print_counts(prefix, dev->lz4, dev->n_lz4);
		for (size_t i = 0; i < dev->n_peers; i++) {
			tapir_key_to_base64(b64, dev->peers[i].public_key);
			printf("%s%s\t%s\n", prefix, b64, compression_text(&dev->peers[i]));
		}
	} else {
		for (size_t i = 0; i < dev->n_peers; i++) {
			tapir_key_to_base64(b64, dev->peers[i].public_key);
			printf("%s%s%s", prefix, b64, strcmp(field, "peers") ? "\t" : "\n");
			peer_field(field, &dev->peers[i]);
		}
	}
	tapir_wipe(b64, sizeof(b64));
}
