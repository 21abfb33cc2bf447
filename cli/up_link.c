// SPDX-License-Identifier: MIT
/*
 * tapir up: the interface itself once tapird made it. The [Interface] and [Peer] sections
 * go to tapird over UAPI (the same request tapir setconf sends), then come the addresses,
 * the MTU and link up (wg-quick's MTU rule), and with Mode = tap the Bridge = NAME port.
 *
 * Only the bridge port outlives the link and so is recorded in the state file; addresses and
 * MTU go with the link.
 */
#include "up.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink.h"
#include "uapi_client.h"

enum {
	MTU_OVERHEAD_BYTES = 80, /* IPv6 (40) + UDP (8) + WireGuard (32) */
	TAP_OVERHEAD_BYTES = 17, /* and in TAP mode: extension header (3) + Ethernet (14) */
	MTU_FALLBACK_BYTES = 1500,
};

int tapir_up_apply_uapi(struct tapir_up *qk)
{
	char quoted[TEXT_BYTES * 4];
	size_t len;
	char *req = tapir_conf_to_uapi_set(&qk->conf.wg, true, &len);
	int r;

	if (!req)
		return -ENOMEM;
	tapir_up_say("tapir setconf %s <(tapir strip %s)", qk->ifname,
		     tapir_up_shell_word(qk->config_path, quoted, sizeof(quoted)));
	/* The client adds "set=1" and the blank line itself. */
	r = tapir_uapi_set(qk->ifname, req + 6, len - 7);
	explicit_bzero(req, len);
	free(req);
	if (r)
		fprintf(stderr, "tapir: cannot configure %s: %s\n", qk->ifname, strerror(-r));
	return r;
}

int tapir_up_add_addresses(struct tapir_up *qk)
{
	for (size_t i = 0; i < qk->conf.n_addresses; i++) {
		const struct tapir_config_address *a = &qk->conf.addresses[i];
		char p[INET6_ADDRSTRLEN + 4];
		int r;

		tapir_up_prefix_text(p, a->family, a->addr, a->cidr);
		tapir_up_say("ip %s address add %s dev %s", tapir_up_family_flag(a->family), p,
			     qk->ifname);
		r = tapir_nl_addr(qk->nl, true, qk->ifindex, a->family, a->addr, a->cidr);
		if (r) {
			fprintf(stderr, "tapir: cannot add %s: %s\n", p, strerror(-r));
			return r;
		}
	}
	return 0;
}

/*
 * As wg-quick: the largest MTU of the routes to the endpoints, else the default route's, less
 * the tunnel's overhead. A TAP's MTU counts no Ethernet header, which the frame carries too.
 */
static int pick_mtu(struct tapir_up *qk)
{
	int overhead = MTU_OVERHEAD_BYTES, best = -1, mtu;

	if (qk->conf.mtu)
		return qk->conf.mtu;
	for (size_t i = 0; i < qk->conf.wg.n_peers; i++) {
		if (qk->conf.wg.peers[i].has_endpoint &&
		    !tapir_nl_route_get(qk->nl, &qk->conf.wg.peers[i].endpoint, NULL, &mtu) &&
		    mtu > best)
			best = mtu;
	}
	if (best < 0)
		best = tapir_nl_default_route_mtu(qk->nl, AF_INET);
	if (best < 0)
		best = tapir_nl_default_route_mtu(qk->nl, AF_INET6);
	if (qk->conf.mode == TAPIR_MODE_TAP)
		overhead += TAP_OVERHEAD_BYTES;
	if (best <= overhead)
		best = MTU_FALLBACK_BYTES;
	return best - overhead;
}

int tapir_up_set_mtu_up(struct tapir_up *qk)
{
	int mtu = pick_mtu(qk);
	int r;

	tapir_up_say("ip link set mtu %d up dev %s", mtu, qk->ifname);
	r = tapir_nl_link_set(qk->nl, qk->ifindex, mtu, true);
	if (r)
		fprintf(stderr, "tapir: cannot set %s up: %s\n", qk->ifname, strerror(-r));
	return r;
}

/* Index of the Bridge = NAME bridge; says what is wrong if it is missing or not a bridge. */
int tapir_up_find_bridge(struct tapir_up *qk)
{
	int r = tapir_nl_bridge_lookup(qk->nl, qk->conf.bridge);

	if (r == -ENODEV)
		fprintf(stderr,
			"tapir: %s: Bridge = %s: no such interface (create the bridge first)\n",
			qk->config_path, qk->conf.bridge);
	else if (r == -EOPNOTSUPP)
		fprintf(stderr, "tapir: %s: Bridge = %s: not a bridge\n", qk->config_path,
			qk->conf.bridge);
	else if (r < 0)
		fprintf(stderr, "tapir: cannot look up bridge %s: %s\n", qk->conf.bridge,
			strerror(-r));
	return r;
}

int tapir_up_attach_bridge(struct tapir_up *qk)
{
	struct tapir_up_action act = {.kind = ACT_BRIDGE};
	int master, r;

	if (!qk->conf.bridge)
		return 0;
	/* looked up again: the bridge may have gone since prepare_up (a PreUp hook, say) */
	master = tapir_up_find_bridge(qk);
	if (master < 0)
		return master;
	tapir_up_say("ip link set %s master %s", qk->ifname, qk->conf.bridge);
	r = tapir_nl_link_set_master(qk->nl, qk->ifindex, master);
	if (r) {
		fprintf(stderr, "tapir: cannot attach %s to %s: %s\n", qk->ifname, qk->conf.bridge,
			strerror(-r));
		return r;
	}
	snprintf(act.name, sizeof(act.name), "%s", qk->conf.bridge);
	return tapir_up_record(qk, &act);
}
