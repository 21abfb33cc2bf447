// SPDX-License-Identifier: MIT
/*
 * tapir show --json: one interface as an element of "interfaces" (schema_version 1,
 * documented in tapir(8), JSON OUTPUT; t5103-show-json-schema checks that every key printed
 * here is listed there and back, so a new key goes into both). The layout is fixed
 * (two-space indent, one key per line, allowed_ips and macs on one line) so grep and sed work
 * without a JSON parser. No private or preshared key is ever printed, only whether a
 * preshared key is set.
 */
#include "show_render.h"

#include <inttypes.h>
#include <stdio.h>

#include "encoding.h"

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

	tapir_key_to_base64(b64, peer->public_key);
	printf("%s        {\n          \"public_key\": \"%s\",\n", is_first ? "\n" : ",\n", b64);
	printf("          \"preshared_key\": %s,\n", peer->has_preshared_key ? "true" : "false");
	printf("          \"endpoint\": ");
	if (tapir_show_has_endpoint(peer))
		json_string(
		    tapir_show_endpoint_text(ep, &peer->endpoint)); /* transport is its own key */
	else
		printf("null");
	printf(",\n          \"allowed_ips\": [");
	for (size_t i = 0; i < peer->n_aips; i++)
		printf("%s\"%s/%u\"", i ? ", " : "", tapir_show_aip_text(ip, &peer->aips[i]),
		       peer->aips[i].cidr);
	printf("],\n          \"latest_handshake\": %" PRIu64 ",\n", peer->handshake_sec);
	printf("          \"rx_bytes\": %" PRIu64 ",\n", peer->rx_bytes);
	printf("          \"tx_bytes\": %" PRIu64 ",\n", peer->tx_bytes);
	printf("          \"persistent_keepalive\": %u", peer->keepalive_s);
	if (is_tapird) {
		printf(",\n          \"transport\": \"%s\"", peer->is_tcp ? "tcp" : "udp");
		printf(",\n          \"compression\": \"%s\"", peer->is_lz4 ? "lz4" : "off");
		printf(",\n          \"compression_active\": %s",
		       tapir_show_is_lz4_active(peer) ? "true" : "false");
		printf(",\n          \"macs\": [");
		for (size_t i = 0; i < peer->n_macs; i++) {
			char mac[18];

			tapir_show_mac_text(mac, peer->macs[i]);
			printf("%s\"%s\"", i ? ", " : "", mac);
		}
		printf("]");
	}
	printf("\n        }");
}

/* "KEY": {"reason": count, ...}, one counter a line, as a member of an interface. */
static void json_counts(const char *key, const struct drop_count *list, size_t n)
{
	printf("      \"%s\": {", key);
	for (size_t i = 0; i < n; i++) {
		printf("%s\n        ", i ? "," : "");
		json_string(list[i].reason);
		printf(": %" PRIu64, list[i].count);
	}
	printf("%s},\n", n ? "\n      " : "");
}

/* One element of "interfaces", preceded by its separator. */
void tapir_show_json_device(const struct device_info *dev, bool is_first)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	uint64_t rx = 0, tx = 0;

	printf("%s    {\n      \"name\": ", is_first ? "\n" : ",\n");
	json_string(dev->name);
	printf(",\n      \"public_key\": ");
	if (dev->has_private_key) {
		tapir_key_to_base64(b64, dev->public_key);
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
		printf("      \"mode\": \"%s\",\n", dev->is_tap ? "tap" : "tun");
		json_counts("drops", dev->drops, dev->n_drops);
		printf("      \"tcp\": {\n        \"listen\": %s,\n        \"listen_port\": %u",
		       dev->is_tcp_listen ? "true" : "false", dev->tcp_port);
		for (size_t i = 0; i < dev->n_tcp; i++) {
			printf(",\n        ");
			json_string(dev->tcp[i].reason);
			printf(": %" PRIu64, dev->tcp[i].count);
		}
		printf("\n      },\n");
		json_counts("compression", dev->lz4, dev->n_lz4);
		json_counts("icmp", dev->icmp, dev->n_icmp);
	}
	printf("      \"peers\": [");
	for (size_t i = 0; i < dev->n_peers; i++)
		json_peer(&dev->peers[i], dev->is_tapird, i == 0);
	printf("%s]\n    }", dev->n_peers ? "\n      " : "");
}
