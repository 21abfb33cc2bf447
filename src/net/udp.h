/* SPDX-License-Identifier: MIT */
/*
 * UDP sockets: one dual-stack IPv6 socket per worker bound to the listen port with
 * SO_REUSEPORT (the kernel spreads peers over workers by 4-tuple hash, which keeps each peer's
 * packets in order on one worker), optional SO_MARK. Falls back to IPv4-only when the host
 * has no IPv6. Each socket reports the local address every datagram arrived on (IPV6_PKTINFO,
 * v4-mapped for IPv4; IP_PKTINFO on an IPv4-only socket), and a send may name the source to
 * use (sticky source addresses, wireguard-protocol.md 7.3).
 */
#ifndef TAPIR_UDP_H
#define TAPIR_UDP_H

#include <stdbool.h>
#include <stdint.h>

#include "sockaddr.h"

struct msghdr;
struct tapir_sock_ops;

enum {
	/* control data of one message: a UDP_GRO or UDP_SEGMENT value and an IPV6_PKTINFO */
	TAPIR_UDP_CMSG_BYTES = 64,
};

/*
 * Opens @count sockets bound to @port (0 = pick one; all share the chosen port) into @fds,
 * each made by @ops (directly, or by tapird's privileged helper).
 * Returns the bound port (> 0) or -errno (all sockets closed on failure).
 */
int tapir_udp_open(int *fds, unsigned int count, uint16_t port, uint32_t fwmark,
		   const struct tapir_sock_ops *ops);
/*
 * One socket of @family, SO_REUSEPORT, big buffers (the FORCE variants need CAP_NET_ADMIN),
 * SO_MARK @fwmark (0 = none), bound to @port. Returns the fd or -errno.
 */
int tapir_udp_open_socket(int family, uint16_t port, uint32_t fwmark);
/* Turns on UDP_GRO (coalesced receives). 0 or -errno (kernels before 5.0 lack it). */
int tapir_udp_enable_gro(int fd);
/* Whether UDP_SEGMENT (send-side GSO) is available on @fd. */
bool tapir_udp_has_gso(int fd);
/* Converts an endpoint for use with a socket of family @sock_family (v4 -> v4-mapped v6). */
socklen_t tapir_udp_sockaddr_for(int sock_family, const union tapir_sockaddr *in,
				 union tapir_sockaddr *out);
/* Normalises a received address: v4-mapped IPv6 becomes AF_INET. */
void tapir_udp_sockaddr_normalise(union tapir_sockaddr *addr);
/* Family of a socket fd (AF_INET or AF_INET6). */
int tapir_udp_family(int fd);

/* Asks for the local address of every received datagram (socket of @family). 0 or -errno. */
int tapir_udp_enable_pktinfo(int fd, int family);
/*
 * Reads the control data of a received message: returns the UDP_GRO segment size (0: not
 * coalesced) and sets @local to the unicast address the datagram arrived on (family 0 when
 * none was reported).
 */
size_t tapir_udp_read_cmsgs(struct msghdr *mh, struct tapir_local_addr *local);
/*
 * Writes the control data of a send into @buf (TAPIR_UDP_CMSG_BYTES) and points @mh at it:
 * UDP_SEGMENT when @gso_size is non-zero, IP_PKTINFO or IPV6_PKTINFO when @src has a family.
 * With neither, @mh gets no control data.
 */
void tapir_udp_put_cmsgs(struct msghdr *mh, uint64_t *buf, uint16_t gso_size,
			 const struct tapir_local_addr *src);
/*
 * Whether a send from a chosen source failed with @err because that source is gone (address
 * removed, interface gone or down): the caller forgets it and sends from the default.
 */
bool tapir_udp_is_stale_source(int err);

#endif
