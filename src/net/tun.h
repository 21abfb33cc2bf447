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
int tapir_tun_open(const char *name, bool is_tap, bool is_multi_queue, bool has_vnet_hdr,
		   char name_out[IFNAMSIZ]);
/*
 * Asks the kernel for checksum and TCP segmentation offload on a queue opened with a vnet
 * header (TSO4/TSO6, and USO4/USO6 where the kernel has them, reported in @has_uso:
 * super-packets up to 64 KiB). Returns 0 or -errno (the caller then works without offloads;
 * the header stays).
 */
int tapir_tun_set_offload(int fd, bool *has_uso);
/* True when the TUN fd carries a virtio_net_hdr (IFF_VNET_HDR). */
bool tapir_tun_has_vnet_hdr(int fd);
/* Reads the name of an inherited TUN fd (TUNGETIFF). Returns 0 or -errno. */
int tapir_tun_get_name(int fd, char name_out[IFNAMSIZ]);
int tapir_tun_set_mtu(const char *name, int mtu);
int tapir_tun_get_mtu(const char *name);
/*
 * Opens the network namespace the device of TUN fd @fd is in now, which changes when the
 * device is moved (TUNGETDEVNETNS, Linux 5.2; needs CAP_NET_ADMIN there). Returns a new fd
 * (the caller closes it) or -errno: -EBADFD once the device is gone.
 */
int tapir_tun_open_netns(int fd);
/* Returns the ifindex of @name, or -ENODEV. */
int tapir_tun_ifindex(const char *name);

#endif
