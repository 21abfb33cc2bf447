// SPDX-License-Identifier: MIT
/*
 * UDP socket setup for the WireGuard transport. Dual-stack IPv6 sockets receive IPv4 peers as
 * v4-mapped addresses; addresses are normalised before they reach peer state. The control
 * messages of the data path (GRO/GSO sizes, the local address of a datagram, the source of a
 * send) are read and written here and nowhere else.
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
	ret = tapir_udp_enable_pktinfo(fd, family);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	alen = tapir_sockaddr_any(&addr, family, port);
	if (family == AF_INET6) /* dual-stack: one socket takes IPv4 as mapped addresses too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
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

int tapir_udp_enable_pktinfo(int fd, int family)
{
	int one = 1, ret;

	/* a dual-stack socket reports IPv4 arrivals as v4-mapped IPV6_PKTINFO too */
	if (family == AF_INET6)
		ret = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
	else
		ret = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	return ret < 0 ? -errno : 0;
}

_Static_assert(CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) <=
		   TAPIR_UDP_CMSG_BYTES,
	       "receive control data: UDP_GRO and IPV6_PKTINFO");
_Static_assert(CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) <=
		   TAPIR_UDP_CMSG_BYTES,
	       "send control data: UDP_SEGMENT and IPV6_PKTINFO");

/* Only a unicast address can be a source: a datagram sent to a multicast or broadcast
 * address is answered from the kernel's choice. */
static void local_from_in4(struct tapir_local_addr *local, struct in_addr a, int ifindex)
{
	uint32_t h = ntohl(a.s_addr);

	if (!h || IN_MULTICAST(h) || h == INADDR_BROADCAST)
		return;
	local->family = AF_INET;
	local->ifindex = ifindex;
	local->in = a;
}

static void local_from_in6(struct tapir_local_addr *local, const struct in6_pktinfo *pi)
{
	struct in_addr a4;

	if (IN6_IS_ADDR_V4MAPPED(&pi->ipi6_addr)) {
		memcpy(&a4, &pi->ipi6_addr.s6_addr[12], sizeof(a4));
		local_from_in4(local, a4, (int)pi->ipi6_ifindex);
		return;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(&pi->ipi6_addr) || IN6_IS_ADDR_MULTICAST(&pi->ipi6_addr))
		return;
	local->family = AF_INET6;
	local->ifindex = (int)pi->ipi6_ifindex;
	local->in6 = pi->ipi6_addr;
}

size_t tapir_udp_read_cmsgs(struct msghdr *mh, struct tapir_local_addr *local)
{
	size_t gro = 0;

	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			gro = v > 0 ? (size_t)v : 0;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local_from_in6(local, &pi);
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			/* ipi_spec_dst: the local address the kernel itself would answer from */
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			local_from_in4(local, pi.ipi_spec_dst, pi.ipi_ifindex);
		}
	}
	return gro;
}

static size_t put_cmsg(uint8_t *at, int level, int type, const void *data, size_t len)
{
	struct cmsghdr *c = (struct cmsghdr *)(void *)at;

	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	return CMSG_SPACE(len);
}

void tapir_udp_put_cmsgs(struct msghdr *mh, uint64_t *buf, uint16_t gso_size,
			 const struct tapir_local_addr *src)
{
	uint8_t *p = (uint8_t *)buf;
	size_t len = 0;

	if (gso_size)
		len += put_cmsg(p, SOL_UDP, UDP_SEGMENT, &gso_size, sizeof(gso_size));
	if (src->family == AF_INET) {
		/* IP_PKTINFO serves IPv4 on dual-stack sockets as well */
		struct in_pktinfo pi = {.ipi_ifindex = src->ifindex, .ipi_spec_dst = src->in};

		len += put_cmsg(p + len, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (src->family == AF_INET6) {
		struct in6_pktinfo pi = {.ipi6_addr = src->in6,
					 .ipi6_ifindex = (unsigned int)src->ifindex};

		len += put_cmsg(p + len, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	mh->msg_control = len ? buf : NULL;
	mh->msg_controllen = len;
}

bool tapir_udp_is_stale_source(int err)
{
	/* measured on Linux 6.x: a removed IPv4 source gives ENETUNREACH, a removed IPv6 one
	 * EINVAL, a vanished interface ENODEV */
	return err == EINVAL || err == ENETUNREACH || err == ENODEV || err == EADDRNOTAVAIL ||
	       err == ENETDOWN;
}
