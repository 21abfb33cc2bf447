/* SPDX-License-Identifier: MIT */
/*
 * How the sockets that need privilege are made: the UDP sockets of a listen port (buffer sizes
 * past net.core.*mem_max, SO_MARK, ports below 1024) and the TCP listener, and SO_MARK on an
 * existing socket. Before the privilege drop tapird calls them directly; after it, the same
 * work is done by its privileged helper (control/privsep.c), which hands the descriptor back.
 * The data plane only sees this table of function pointers.
 */
#ifndef TAPIR_SOCKOPS_H
#define TAPIR_SOCKOPS_H

#include <stdint.h>

#include "sockaddr.h"

struct tapir_sock_ops {
	/*
	 * A socket of @family (AF_INET, AF_INET6) and @type (SOCK_DGRAM: a UDP socket set up by
	 * tapir_udp_open_socket; SOCK_STREAM: a TCP listener by tapir_tcpsock_listen_family),
	 * bound to @port with SO_MARK @fwmark (0 = none). Returns a new fd or -errno.
	 */
	int (*open)(void *ctx, int family, int type, uint16_t port, uint32_t fwmark);
	/* SO_MARK @fwmark on @fd (borrowed). 0 or -errno. */
	int (*set_mark)(void *ctx, int fd, uint32_t fwmark);
	/* A TCP listener (non-blocking, close-on-exec) bound to @addr (port not 0). New fd or
	 * -errno. */
	int (*listen_at)(void *ctx, const union tapir_sockaddr *addr);
	void *ctx;
};

/* The calls made by this process itself (before the drop, tests, tools). */
extern const struct tapir_sock_ops tapir_sock_ops_direct;

/* What both the direct table and the helper run: the socket of tapir_sock_ops.open. */
int tapir_sock_open_bound(int family, int type, uint16_t port, uint32_t fwmark);
/* What both run for tapir_sock_ops.listen_at: SO_REUSEADDR, IPV6_V6ONLY, a short backlog. */
int tapir_sock_listen_at(const union tapir_sockaddr *addr);
/* setsockopt(SO_MARK). 0 or -errno. */
int tapir_sock_set_mark(int fd, uint32_t fwmark);

#endif
