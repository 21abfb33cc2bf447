// SPDX-License-Identifier: MIT
/*
 * The direct socket operations (sockops.h): what tapird does itself while it is still root,
 * and what its privileged helper runs for it afterwards. No argument checks here: the helper
 * validates a request before it calls these.
 */
#include "sockops.h"

#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcpsock.h"
#include "udp.h"

int tapir_sock_open_bound(int family, int type, uint16_t port, uint32_t fwmark)
{
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (type == SOCK_DGRAM)
		return tapir_udp_open_socket(family, port, fwmark);
	if (type == SOCK_STREAM)
		return tapir_tcpsock_listen_family(family, port, fwmark);
	return -EPROTOTYPE;
}

enum { LISTEN_AT_BACKLOG = 8 };

int tapir_sock_listen_at(const union tapir_sockaddr *addr)
{
	int fd, one = 1, family = addr->sa.sa_family;
	socklen_t len = family == AF_INET ? sizeof(addr->in) : sizeof(addr->in6);

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, &addr->sa, len) < 0 || listen(fd, LISTEN_AT_BACKLOG) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

int tapir_sock_set_mark(int fd, uint32_t fwmark)
{
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

static int direct_open(void *ctx, int family, int type, uint16_t port, uint32_t fwmark)
{
	(void)ctx;
	return tapir_sock_open_bound(family, type, port, fwmark);
}

static int direct_listen_at(void *ctx, const union tapir_sockaddr *addr)
{
	(void)ctx;
	return tapir_sock_listen_at(addr);
}

static int direct_set_mark(void *ctx, int fd, uint32_t fwmark)
{
	(void)ctx;
	return tapir_sock_set_mark(fd, fwmark);
}

const struct tapir_sock_ops tapir_sock_ops_direct = {
    .open = direct_open,
    .set_mark = direct_set_mark,
    .listen_at = direct_listen_at,
    .ctx = NULL,
};
