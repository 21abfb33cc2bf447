/* SPDX-License-Identifier: MIT */
/*
 * TCP sockets of the TCP transport: the listener (dual-stack, on the UDP listen port) and
 * outgoing connections. Every socket is non-blocking, close-on-exec, TCP_NODELAY (one
 * WireGuard message is one packet's worth), with a user timeout so a connection whose peer
 * vanished fails within TAPIR_TCP_USER_TIMEOUT_MS instead of retransmitting for minutes.
 */
#ifndef TAPIR_TCPSOCK_H
#define TAPIR_TCPSOCK_H

#include <stdint.h>

#include "sockaddr.h"

enum {
	TAPIR_TCP_USER_TIMEOUT_MS = 15000,
	TAPIR_TCP_LISTEN_BACKLOG = 64,
};

struct tapir_sock_ops;

/*
 * Listens on @port (IPv6 dual-stack, else IPv4) with SO_MARK @fwmark (0 = none), the socket
 * made by @ops. fd or -errno.
 */
int tapir_tcpsock_listen(uint16_t port, uint32_t fwmark, const struct tapir_sock_ops *ops);
/* One listener of @family (what @ops->open runs for SOCK_STREAM). fd or -errno. */
int tapir_tcpsock_listen_family(int family, uint16_t port, uint32_t fwmark);
/*
 * Starts a non-blocking connect to @to, SO_MARK @fwmark set through @ops first. Returns the
 * fd (connect may be in progress) or -errno.
 */
int tapir_tcpsock_connect(const union tapir_sockaddr *to, uint32_t fwmark,
			  const struct tapir_sock_ops *ops);
/*
 * Socket options for an accepted connection (TCP_NODELAY, user timeout, SO_MARK). The mark
 * needs CAP_NET_ADMIN and fails quietly without it; an accepted connection has its
 * listener's mark anyway.
 */
void tapir_tcpsock_setup(int fd, uint32_t fwmark);
/* The pending error of a connecting socket: 0 once connected, else a positive errno. */
int tapir_tcpsock_error(int fd);

#endif
