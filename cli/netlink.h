/* SPDX-License-Identifier: MIT */
/*
 * Small rtnetlink helpers for tapir up/down and tapir demo, over libmnl: links, bridge ports,
 * addresses, routes, policy rules and route lookups, in the network namespace the socket was
 * opened in. Every request waits for the kernel's answer and returns 0 or -errno.
 */
#ifndef TAPIR_CLI_NETLINK_H
#define TAPIR_CLI_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockaddr.h"

struct tapir_nl;

/* Opens an rtnetlink socket in the current namespace, or in the one at @ns_path if not NULL. */
int tapir_nl_open(struct tapir_nl **out, const char *ns_path);
void tapir_nl_close(struct tapir_nl *nl);

/* Index (> 0) of the link called @name, or -ENODEV. @mtu_out may be NULL. */
int tapir_nl_link_lookup(struct tapir_nl *nl, const char *name, int *mtu_out);
/* MTU of link @ifindex, or -errno. */
int tapir_nl_link_mtu(struct tapir_nl *nl, int ifindex);
/* Sets the MTU (unless 0) and the up/down state of a link. */
int tapir_nl_link_set(struct tapir_nl *nl, int ifindex, int mtu, bool is_up);
int tapir_nl_link_del(struct tapir_nl *nl, int ifindex);
/*
 * Index (> 0) of the bridge called @name; -ENODEV if there is no such link, -EOPNOTSUPP if it
 * is not a bridge.
 */
int tapir_nl_bridge_lookup(struct tapir_nl *nl, const char *name);
/* "ip link set @ifindex master @master"; @master 0 is "nomaster". */
int tapir_nl_link_set_master(struct tapir_nl *nl, int ifindex, int master);
/* A veth pair: @name created in namespace @ns_fd, its peer @peer in @peer_ns_fd. */
int tapir_nl_veth_add(struct tapir_nl *nl, const char *name, int ns_fd, const char *peer,
		      int peer_ns_fd);
/* "ip link add @name type bridge" in the socket's namespace. */
int tapir_nl_bridge_add(struct tapir_nl *nl, const char *name);

/* Adds or deletes ADDR/CIDR (@addr: 4 or 16 bytes by @family) on a link. */
int tapir_nl_addr(struct tapir_nl *nl, bool is_add, int ifindex, int family, const void *addr,
		  uint8_t cidr);
/*
 * The @family addresses of link @ifindex (IFA_LOCAL, else IFA_ADDRESS) in the kernel's order,
 * as `ip -o addr show dev IF` lists them: at most @max into @out, the count in @n_out.
 */
int tapir_nl_addr_list(struct tapir_nl *nl, int ifindex, int family, uint8_t (*out)[16], size_t max,
		       size_t *n_out);
/* Adds or deletes a route to DST/CIDR through link @ifindex, in @table (RT_TABLE_MAIN: 254). */
int tapir_nl_route(struct tapir_nl *nl, bool is_add, int ifindex, int family, const void *dst,
		   uint8_t cidr, uint32_t table);
/* "ip rule add not fwmark @fwmark table @table pref @priority" */
int tapir_nl_rule_not_fwmark(struct tapir_nl *nl, bool is_add, int family, uint32_t fwmark,
			     uint32_t table, uint32_t priority);
/* "ip rule add table @table suppress_prefixlength 0 pref @priority" */
int tapir_nl_rule_suppress(struct tapir_nl *nl, bool is_add, int family, uint32_t table,
			   uint32_t priority);
/*
 * The priority the kernel would give a new rule without one: one below the first rule after
 * the local table's (32765 on a fresh namespace).
 */
int tapir_nl_rule_next_priority(struct tapir_nl *nl, int family, uint32_t *priority);

/*
 * Looks up the route to @dst (RTM_GETROUTE) and reports its output link and MTU (the
 * route's mtu metric, else the link's). Either output may be NULL.
 */
int tapir_nl_route_get(struct tapir_nl *nl, const union tapir_sockaddr *dst, int *ifindex,
		       int *mtu);
/* MTU of the link of @family's default route in the main table, or -ENOENT. */
int tapir_nl_default_route_mtu(struct tapir_nl *nl, int family);
/* 1 if no @family route is in @table, 0 if one is, or -errno. */
int tapir_nl_table_is_empty(struct tapir_nl *nl, int family, uint32_t table);

#endif
