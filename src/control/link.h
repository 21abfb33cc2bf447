/* SPDX-License-Identifier: MIT */
/*
 * Where the interface is, for the control loop: tells a move to another network namespace
 * from a deletion, and reads the device's MTU in whatever namespace it is in now.
 */
#ifndef TAPIR_LINK_H
#define TAPIR_LINK_H

#include <net/if.h>
#include <stdbool.h>

struct nlmsghdr;
struct tapir_link;

/*
 * Opens the lookups for the device of TUN queue fd @tun_fd (borrowed: it must outlive the
 * result). Namespace "home" is the one tapird runs in. Returns 0 with *@out, or -errno.
 */
int tapir_link_open(struct tapir_link **out, int tun_fd);
/* Accepts NULL. */
void tapir_link_close(struct tapir_link *lk);
/*
 * True when @nlh, an RTM_DELLINK for our device, reports a move to another namespace
 * (IFLA_NEW_NETNSID or IFLA_NEW_IFINDEX) rather than a deletion.
 */
bool tapir_link_is_move(const struct nlmsghdr *nlh);
/*
 * Reads the device's MTU where it is now: SIOCGIFMTU at home, an RTM_GETLINK naming the
 * namespace by its id elsewhere. Stores the device's current name in @name and whether it
 * is at home in *@is_home. Returns the MTU, or -errno (-EBADFD: the device is gone).
 */
int tapir_link_get_mtu(struct tapir_link *lk, char name[IFNAMSIZ], bool *is_home);

#endif
