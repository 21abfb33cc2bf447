// SPDX-License-Identifier: MIT
/*
 * tapir showconf IFNAME: the running configuration as the [Interface]/[Peer] file setconf
 * reads, as wg showconf prints it (private and preshared keys included: that is what it is
 * for). tapir_showconf_text() gives the same text plus the tapir peer keys the daemon knows
 * (Compression) to SaveConfig (saveconf.c); its caller wipes it.
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "encoding.h"
#include "show_render.h"
#include "util.h"

/* With @is_save (SaveConfig), also the tapir peer keys the daemon knows (Compression). */
static void showconf_peer(FILE *f, const struct peer_info *peer, bool is_save)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1], ep[ENDPOINT_TEXT_BYTES], ip[ADDR_TEXT_BYTES];

	tapir_key_to_base64(b64, peer->public_key);
	fprintf(f, "[Peer]\nPublicKey = %s\n", b64);
	if (peer->has_preshared_key) {
		tapir_key_to_base64(b64, peer->preshared_key);
		fprintf(f, "PresharedKey = %s\n", b64);
	}
	for (size_t i = 0; i < peer->n_aips; i++)
		fprintf(f, "%s%s/%u%s",
			i ? "" : "AllowedIPs = ", tapir_show_aip_text(ip, &peer->aips[i]),
			peer->aips[i].cidr, i + 1 < peer->n_aips ? ", " : "\n");
	if (tapir_show_has_endpoint(peer))
		fprintf(f, "Endpoint = %s\n", tapir_show_peer_endpoint_text(ep, peer));
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
		tapir_key_to_base64(b64, dev->private_key);
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
	int r = tapir_show_fetch(&dev, ifname, true);

	if (!r && !(f = open_memstream(&text, &len)))
		r = -ENOMEM;
	if (!r) {
		showconf_print(f, &dev, true);
		if (fclose(f))
			r = -ENOMEM;
	}
	tapir_show_device_free(&dev);
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
	r = tapir_show_fetch(&dev, argv[1], false);
	if (!r)
		showconf_print(stdout, &dev, false);
	tapir_show_device_free(&dev);
	if (!r && fflush(stdout)) {
		perror("tapir showconf");
		return 1;
	}
	return r ? 1 : 0;
}
