/* SPDX-License-Identifier: MIT */
/*
 * Where the interface is: tells a move to another network namespace from a deletion (for the
 * control loop), and reads the device's MTU in another namespace (for the privileged helper,
 * which has the capability that needs).
 */
#ifndef TAPIR_LINK_H
#define TAPIR_LINK_H

#include <net/if.h>
#include <stdbool.h>

struct nlmsghdr;
struct tapir_link;

/*
 * For the privileged helper (CAP_NET_ADMIN): opens the lookups, with a netlink socket and
 * home's identity (the namespace the caller runs in). Call before a seccomp filter that
 * allows no netlink socket. Returns 0 with *@out, or -errno.
 */
int tapir_link_open(struct tapir_link **out);
/* Accepts NULL. */
void tapir_link_close(struct tapir_link *lk);
/*
 * True when @nlh, an RTM_DELLINK for our device, reports a move to another namespace
 * (IFLA_NEW_NETNSID or IFLA_NEW_IFINDEX) rather than a deletion. Needs no privilege.
 */
bool tapir_link_is_move(const struct nlmsghdr *nlh);
/*
 * The MTU of the device of TUN fd @tun_fd (borrowed) if it is in another namespace than
 * home, read with an RTM_GETLINK naming that namespace by its id; 0 if it is at home (or its
 * namespace cannot be told: read it by name there, SIOCGIFMTU); or -errno (-EBADFD: the
 * device is gone).
 */
int tapir_link_away_mtu(struct tapir_link *lk, int tun_fd);

#endif
