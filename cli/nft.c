// SPDX-License-Identifier: MIT
/*
 * The nftables guard of a full tunnel, as wg-quick(8) sets it up in add_default, written as
 * nft(8) command text and handed to libnftables, which speaks nf_tables netlink to the kernel
 * (no nft process is run). Per family, table tapir-IFNAME holds:
 *
 *   preraw     (prerouting, priority -300, before conntrack): for each address of IFNAME,
 *              drop packets to it that arrive on another interface unless their source is
 *              local: nobody on the LAN can reach the tunnel address around the tunnel
 *   premangle  (prerouting, -150): UDP packets take the mark of their connection
 *   postmangle (postrouting, -150): UDP packets with the fwmark give it to their connection
 *
 * so that replies to tapird's own (fwmarked) UDP socket are routed by the main table and not
 * back into the tunnel. The rule text is wg-quick's, so `nft list ruleset` shows the same
 * rules; only the table name differs. This file decides nothing about when a guard is needed:
 * that is up.c's business.
 */
#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static const char *family_name(int family)
{
	return family == AF_INET6 ? "ip6" : "ip";
}

/* Runs @text (commands, one per line) as one transaction; prints the library's error. */
static int run_text(const char *text, bool is_quiet_if_missing)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	const char *err;
	int r = 0;

	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		nft_ctx_free(ctx);
		return -ENOMEM;
	}
	if (nft_run_cmd_from_buffer(ctx, text)) {
		err = nft_ctx_get_error_buffer(ctx);
		r = err && strstr(err, "No such file or directory") ? -ENOENT : -EIO;
		if (!(is_quiet_if_missing && r == -ENOENT))
			fprintf(stderr, "tapir: nftables: %s", err && *err ? err : "failed\n");
	}
	nft_ctx_free(ctx);
	return r;
}

/* Appends one command to @f and echoes it the way a shell would take it. */
__attribute__((format(printf, 2, 3))) static void command(FILE *f, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "[#] nft '%s'\n", line);
	fprintf(f, "%s\n", line);
}

int tapir_nft_guard_add(const char *ifname, int family, uint32_t fwmark, const uint8_t (*addrs)[16],
			size_t n_addrs)
{
	const char *pf = family_name(family);
	char *text = NULL, a[INET6_ADDRSTRLEN];
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);
	int r;

	if (!f)
		return -ENOMEM;
	command(f, "add table %s tapir-%s", pf, ifname);
	command(f, "add chain %s tapir-%s preraw { type filter hook prerouting priority -300; }",
		pf, ifname);
	command(f, "add chain %s tapir-%s premangle { type filter hook prerouting priority -150; }",
		pf, ifname);
	command(f,
		"add chain %s tapir-%s postmangle { type filter hook postrouting priority -150; }",
		pf, ifname);
	for (size_t i = 0; i < n_addrs; i++) {
		inet_ntop(family, addrs[i], a, sizeof(a));
		command(f,
			"add rule %s tapir-%s preraw iifname != \"%s\" %s daddr %s fib saddr type "
			"!= local drop",
			pf, ifname, ifname, pf, a);
	}
	command(f, "add rule %s tapir-%s postmangle meta l4proto udp mark %u ct mark set mark", pf,
		ifname, fwmark);
	command(f, "add rule %s tapir-%s premangle meta l4proto udp meta mark set ct mark", pf,
		ifname);
	if (fclose(f)) {
		free(text);
		return -ENOMEM;
	}
	r = run_text(text, false);
	free(text);
	return r;
}

int tapir_nft_guard_del(const char *ifname, int family)
{
	char text[128];
	int r;

	snprintf(text, sizeof(text), "delete table %s tapir-%s\n", family_name(family), ifname);
	fprintf(stderr, "[#] nft 'delete table %s tapir-%s'\n", family_name(family), ifname);
	r = run_text(text, true);
	return r == -ENOENT ? 0 : r;
}
