// SPDX-License-Identifier: MIT
/* TCP transport sockets: listener and outgoing connections (see tcpsock.h). */
#include "tcpsock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockops.h"

void tapir_tcpsock_setup(int fd, uint32_t fwmark)
{
	int one = 1;
	unsigned int timeout = TAPIR_TCP_USER_TIMEOUT_MS;

	/* best effort: a socket without them still works, only less well */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout, sizeof(timeout));
	if (fwmark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark));
}

int tapir_tcpsock_listen_family(int family, uint16_t port, uint32_t fwmark)
{
	union tapir_sockaddr addr;
	int one = 1, zero = 0, fd, ret;
	socklen_t alen;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	alen = tapir_sockaddr_any(&addr, family, port);
	if (family == AF_INET6) /* dual-stack: one socket takes IPv4 as mapped addresses too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	/* a restarted daemon must not wait for TIME_WAIT connections of its predecessor */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		goto err;
	if (bind(fd, &addr.sa, alen) < 0 || listen(fd, TAPIR_TCP_LISTEN_BACKLOG) < 0)
		goto err;
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

int tapir_tcpsock_listen(uint16_t port, uint32_t fwmark, const struct tapir_sock_ops *ops)
{
	int fd = ops->open(ops->ctx, AF_INET6, SOCK_STREAM, port, fwmark);

	if (fd == -EAFNOSUPPORT)
		fd = ops->open(ops->ctx, AF_INET, SOCK_STREAM, port, fwmark);
	return fd;
}

int tapir_tcpsock_connect(const union tapir_sockaddr *to, uint32_t fwmark,
			  const struct tapir_sock_ops *ops)
{
	int family = to->sa.sa_family, fd, ret;
	socklen_t alen = family == AF_INET ? sizeof(to->in) : sizeof(to->in6);

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	tapir_tcpsock_setup(fd, 0);
	/* best effort, as the other options: the mark must be on before the SYN leaves */
	if (fwmark)
		ops->set_mark(ops->ctx, fd, fwmark);
	if (connect(fd, &to->sa, alen) < 0 && errno != EINPROGRESS) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int tapir_tcpsock_error(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}
