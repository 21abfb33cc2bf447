/* SPDX-License-Identifier: MIT */
/*
 * TUN/TAP device plumbing: open queues of a (possibly multi-queue) device, query and set MTU,
 * interface index. Knows nothing about peers or protocols.
 */
#ifndef TAPIR_TUN_H
#define TAPIR_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>

/*
 * Opens /dev/net/tun and attaches to (creating if needed) @name in TUN (or, with @is_tap, TAP)
 * mode without packet info. @is_multi_queue adds IFF_MULTI_QUEUE. On success stores the kernel's
 * name in
 * @name_out (IFNAMSIZ) and returns the non-blocking fd; else -errno.
 */
int tapir_tun_open(const char *name, bool is_tap, bool is_multi_queue, char name_out[IFNAMSIZ]);
/* Reads the name of an inherited TUN fd (TUNGETIFF). Returns 0 or -errno. */
int tapir_tun_get_name(int fd, char name_out[IFNAMSIZ]);
int tapir_tun_set_mtu(const char *name, int mtu);
int tapir_tun_get_mtu(const char *name);
/* Returns the ifindex of @name, or -ENODEV. */
int tapir_tun_ifindex(const char *name);

#endif
