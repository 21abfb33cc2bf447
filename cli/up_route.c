// SPDX-License-Identifier: MIT
/*
 * tapir up: routes to the peers' AllowedIPs, as wg-quick(8) adds them (longest prefix first,
 * none where an Address's own prefix route covers it, Table = off / NUMBER). A /0 goes
 * through fwmark policy routing: tapird's socket gets fwmark T (the first empty table from
 * 51820), everything else not marked T looks up table T, and "suppress_prefixlength 0" keeps
 * the main table's more specific routes; the nftables guard (nft.c) and src_valid_mark go
 * with it.
 *
 * Each route, rule, guard and sysctl is recorded in the state file right after it is made.
 * Nothing for a TAP: frames are switched by MAC.
 */
#include "up.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "netlink.h"
#include "nft.h"
#include "uapi_client.h"

enum {
	DEFAULT_TABLE = 51820,
	TABLE_SEARCH_MAX = 1000,
	FIREWALL_ADDRS_MAX = 64, /* addresses of one family the guard protects */
};

static int add_route(struct tapir_up *qk, int family, const uint8_t *dst, uint8_t cidr,
		     uint32_t table)
{
	struct tapir_up_action act = {
	    .kind = ACT_ROUTE, .family = family, .cidr = cidr, .table = table};
	char p[INET6_ADDRSTRLEN + 4];
	int r;

	memcpy(act.addr, dst, 16);
	tapir_up_prefix_text(p, family, dst, cidr);
	if (table == RT_TABLE_MAIN)
		tapir_up_say("ip %s route add %s dev %s", tapir_up_family_flag(family), p,
			     qk->ifname);
	else
		tapir_up_say("ip %s route add %s dev %s table %u", tapir_up_family_flag(family), p,
			     qk->ifname, table);
	r = tapir_nl_route(qk->nl, true, qk->ifindex, family, dst, cidr, table);
	if (r) {
		fprintf(stderr, "tapir: cannot add route %s: %s\n", p, strerror(-r));
		return r;
	}
	return tapir_up_record(qk, &act);
}

/* The first table from 51820 with no routes, unless FwMark names one. */
static int pick_table(struct tapir_up *qk, uint32_t *table)
{
	char body[32];
	uint32_t t = DEFAULT_TABLE;
	int r;

	if (qk->conf.wg.has_fwmark && qk->conf.wg.fwmark) {
		*table = qk->conf.wg.fwmark;
		return 0;
	}
	for (;; t++) {
		int e4 = tapir_nl_table_is_empty(qk->nl, AF_INET, t);
		/* Without IPv6 there is no IPv6 table to collide with. */
		int e6 = tapir_nl_table_is_empty(qk->nl, AF_INET6, t);

		if (e4 < 0)
			return e4;
		if (e4 && e6 != 0)
			break;
		if (t - DEFAULT_TABLE >= TABLE_SEARCH_MAX) {
			fprintf(stderr, "tapir: no free routing table from %d\n", DEFAULT_TABLE);
			return -ENOSPC;
		}
	}
	tapir_up_say("tapir set %s fwmark %u", qk->ifname, t);
	snprintf(body, sizeof(body), "fwmark=%u\n", t);
	r = tapir_uapi_set(qk->ifname, body, strlen(body));
	if (r) {
		fprintf(stderr, "tapir: cannot set the fwmark: %s\n", strerror(-r));
		return r;
	}
	qk->conf.wg.has_fwmark = true;
	qk->conf.wg.fwmark = t;
	*table = t;
	return 0;
}

static int set_src_valid_mark(struct tapir_up *qk)
{
	struct tapir_up_action act = {.kind = ACT_SYSCTL};
	char buf[16] = "";
	FILE *f = fopen(SRC_VALID_MARK, "re");
	int r;

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	act.old_value = (uint32_t)strtoul(buf, NULL, 10);
	if (act.old_value == 1)
		return 0;
	tapir_up_say("sysctl -q net.ipv4.conf.all.src_valid_mark=1");
	r = tapir_cli_write_sysctl(SRC_VALID_MARK, 1);
	return r ? r : tapir_up_record(qk, &act);
}

/*
 * wg-quick's nftables guard for a full tunnel (nft.c), over the addresses the link has now,
 * as wg-quick reads them from `ip addr show`.
 */
static int add_firewall(struct tapir_up *qk, int family, uint32_t fwmark)
{
	struct tapir_up_action act = {.kind = ACT_FIREWALL, .family = family};
	uint8_t addrs[FIREWALL_ADDRS_MAX][16];
	size_t n = 0;
	int r;

	r = tapir_nl_addr_list(qk->nl, qk->ifindex, family, addrs, FIREWALL_ADDRS_MAX, &n);
	if (r) {
		fprintf(stderr, "tapir: cannot list the addresses of %s: %s\n", qk->ifname,
			strerror(-r));
		return r;
	}
	r = tapir_nft_guard_add(qk->ifname, family, fwmark, addrs, n);
	if (r) {
		fprintf(stderr, "tapir: cannot add the firewall guard of %s\n", qk->ifname);
		return r;
	}
	return tapir_up_record(qk, &act);
}

/*
 * A /0 route: everything goes to table T (= the fwmark) through the tunnel, except packets
 * tapird marks (its own UDP), and anything the main table knows more specifically than /0.
 */
static int add_default(struct tapir_up *qk, int family, const uint8_t *dst, uint32_t table)
{
	struct tapir_up_action fw = {.kind = ACT_RULE_FWMARK, .family = family, .table = table};
	struct tapir_up_action sup = {
	    .kind = ACT_RULE_SUPPRESS, .family = family, .table = RT_TABLE_MAIN};
	uint32_t prio;
	int r;

	fw.fwmark = table;
	r = tapir_nl_rule_next_priority(qk->nl, family, &prio);
	if (r)
		return r;
	fw.priority = prio;
	sup.priority = prio - 1;
	tapir_up_say("ip %s rule add not fwmark %u table %u pref %u", tapir_up_family_flag(family),
		     table, table, prio);
	r = tapir_nl_rule_not_fwmark(qk->nl, true, family, table, table, fw.priority);
	if (r || (r = tapir_up_record(qk, &fw)))
		return r;
	tapir_up_say("ip %s rule add table main suppress_prefixlength 0 pref %u",
		     tapir_up_family_flag(family), sup.priority);
	r = tapir_nl_rule_suppress(qk->nl, true, family, RT_TABLE_MAIN, sup.priority);
	if (r || (r = tapir_up_record(qk, &sup)))
		return r;
	r = add_route(qk, family, dst, 0, table);
	if (!r)
		r = add_firewall(qk, family, table);
	if (!r && family == AF_INET)
		r = set_src_valid_mark(qk);
	return r;
}

/* An Address's own prefix route already covers @aip (wg-quick checks "ip route show match"). */
static bool is_covered(const struct tapir_up *qk, const struct tapir_conf_allowed_ip *aip)
{
	for (size_t i = 0; i < qk->conf.n_addresses; i++) {
		const struct tapir_config_address *a = &qk->conf.addresses[i];
		unsigned bits = a->cidr;

		if (a->family != aip->family || a->cidr > aip->cidr)
			continue;
		if (memcmp(a->addr, aip->addr, bits / 8) != 0)
			continue;
		if (bits % 8 && (a->addr[bits / 8] ^ aip->addr[bits / 8]) >> (8 - bits % 8))
			continue;
		return true;
	}
	return false;
}

static int cmp_aip(const void *x, const void *y)
{
	const struct tapir_conf_allowed_ip *a = x, *b = y;

	if (a->cidr != b->cidr)
		return b->cidr - a->cidr; /* longest prefix first, as wg-quick sorts them */
	if (a->family != b->family)
		return a->family - b->family;
	return memcmp(a->addr, b->addr, 16);
}

static int collect_allowed_ips(const struct tapir_up *qk, struct tapir_conf_allowed_ip **out,
			       size_t *n_out)
{
	const struct tapir_conf *wg = &qk->conf.wg;
	struct tapir_conf_allowed_ip *all;
	size_t n = 0, total = 0;

	for (size_t i = 0; i < wg->n_peers; i++)
		total += wg->peers[i].n_allowed_ips;
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < wg->n_peers; i++) {
		for (size_t j = 0; j < wg->peers[i].n_allowed_ips; j++) {
			struct tapir_conf_allowed_ip a = wg->peers[i].allowed_ips[j];
			size_t len = a.family == AF_INET ? 4 : 16;

			/* Routes want the network address: clear the host bits. */
			for (size_t b = 0; b < len; b++) {
				int keep = (int)a.cidr - (int)b * 8;

				a.addr[b] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : 0xff << (8 - keep);
			}
			all[n++] = a;
		}
	}
	qsort(all, n, sizeof(*all), cmp_aip);
	*out = all;
	*n_out = n;
	return 0;
}

int tapir_up_add_routes(struct tapir_up *qk)
{
	struct tapir_conf_allowed_ip *all = NULL;
	uint32_t table = 0;
	size_t n = 0;
	int r;

	/* frames are switched by MAC: there is nothing to route to a TAP */
	if (qk->conf.table == TAPIR_TABLE_OFF || qk->conf.mode == TAPIR_MODE_TAP)
		return 0;
	r = collect_allowed_ips(qk, &all, &n);
	for (size_t i = 0; !r && i < n; i++) {
		const struct tapir_conf_allowed_ip *a = &all[i];

		if (tapir_up_is_interrupted())
			r = -EINTR;
		else if (i && !cmp_aip(a, &all[i - 1]))
			continue;
		else if (qk->conf.table == TAPIR_TABLE_NUMBER)
			r = add_route(qk, a->family, a->addr, a->cidr, qk->conf.table_number);
		else if (!a->cidr && !table && (r = pick_table(qk, &table)))
			break;
		else if (!a->cidr)
			r = add_default(qk, a->family, a->addr, table);
		else if (!is_covered(qk, a))
			r = add_route(qk, a->family, a->addr, a->cidr, RT_TABLE_MAIN);
	}
	free(all);
	return r;
}
