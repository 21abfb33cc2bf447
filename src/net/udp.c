// SPDX-License-Identifier: MIT
/*
 * UDP socket setup for the WireGuard transport. Dual-stack IPv6 sockets receive IPv4 peers as
 * v4-mapped addresses; addresses are normalised before they reach peer state.
 */
#include "udp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sockops.h"

enum {
	UDP_BUFFER_BYTES = 7 << 20,
};

/*
 * Socket buffers big enough for bursts of GSO/GRO batches (wireguard-go uses 7 MiB): the
 * FORCE variants pass net.core.{r,w}mem_max when we may (CAP_NET_ADMIN); else the plain ones.
 */
static void set_buffers(int fd)
{
	int size = UDP_BUFFER_BYTES;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

int tapir_udp_open_socket(int family, uint16_t port, uint32_t fwmark)
{
	union tapir_sockaddr addr;
	int one = 1, zero = 0, fd, ret;
	socklen_t alen;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&addr, 0, sizeof(addr));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(port);
		alen = sizeof(addr.in6);
	} else {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons(port);
		alen = sizeof(addr.in);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto err;
	set_buffers(fd);
	if (fwmark && tapir_sock_set_mark(fd, fwmark) < 0)
		goto err;
	if (bind(fd, &addr.sa, alen) < 0)
		goto err;
	return fd;
err:
	ret = -errno;
	close(fd);
	return ret;
}

static int bound_port(int fd)
{
	union tapir_sockaddr addr;
	socklen_t alen = sizeof(addr);

	if (getsockname(fd, &addr.sa, &alen) < 0)
		return -errno;
	return addr.sa.sa_family == AF_INET6 ? ntohs(addr.in6.sin6_port) : ntohs(addr.in.sin_port);
}

int tapir_udp_open(int *fds, unsigned int count, uint16_t port, uint32_t fwmark,
		   const struct tapir_sock_ops *ops)
{
	int family = AF_INET6, ret = 0;
	unsigned int i;

	for (i = 0; i < count; i++) {
		ret = ops->open(ops->ctx, family, SOCK_DGRAM, port, fwmark);
		if (ret == -EAFNOSUPPORT && i == 0 && family == AF_INET6) {
			family = AF_INET;
			ret = ops->open(ops->ctx, family, SOCK_DGRAM, port, fwmark);
		}
		if (ret < 0)
			goto err;
		fds[i] = ret;
		if (i == 0) {
			ret = bound_port(fds[0]);
			if (ret < 0) {
				i++;
				goto err;
			}
			port = (uint16_t)ret;
		}
	}
	return port;
err:
	while (i-- > 0)
		close(fds[i]);
	return ret;
}

socklen_t tapir_udp_sockaddr_for(int sock_family, const union tapir_sockaddr *in,
				 union tapir_sockaddr *out)
{
	if (sock_family == AF_INET6 && in->sa.sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = in->in.sin_port;
		out->in6.sin6_addr.s6_addr[10] = 0xff;
		out->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->in6.sin6_addr.s6_addr[12], &in->in.sin_addr, 4);
		return sizeof(out->in6);
	}
	*out = *in;
	return in->sa.sa_family == AF_INET6 ? sizeof(out->in6) : sizeof(out->in);
}

void tapir_udp_sockaddr_normalise(union tapir_sockaddr *addr)
{
	struct sockaddr_in in;

	if (addr->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&addr->in6.sin6_addr))
		return;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = addr->in6.sin6_port;
	memcpy(&in.sin_addr, &addr->in6.sin6_addr.s6_addr[12], 4);
	memset(addr, 0, sizeof(*addr));
	addr->in = in;
}

int tapir_udp_family(int fd)
{
	union tapir_sockaddr addr;
	socklen_t alen = sizeof(addr);

	if (getsockname(fd, &addr.sa, &alen) < 0)
		return -errno;
	return addr.sa.sa_family;
}

int tapir_udp_enable_gro(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

bool tapir_udp_has_gso(int fd)
{
	int size = 0;
	socklen_t len = sizeof(size);

	return getsockopt(fd, SOL_UDP, UDP_SEGMENT, &size, &len) == 0;
}
