// SPDX-License-Identifier: MIT
/*
 * The text form of an endpoint as UAPI writes it (wireguard-protocol.md section 9.2):
 * "a.b.c.d:port" or "[v6%scope]:port", numeric only. Shared by every layer that logs or parses
 * an endpoint; it resolves no names (DNS is the CLI's business) and keeps no pointer into its
 * input.
 */
#include "sockaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parse.h"

enum {
	ADDR_TEXT_MAX_BYTES = 64, /* longer than any numeric IPv4/IPv6 address */
};

/*
 * The index of interface @name, by SIOCGIFINDEX on an AF_INET datagram socket: glibc's
 * if_nametoindex(3) opens an AF_UNIX socket, which tapird's seccomp list does not allow after
 * start-up (a UAPI endpoint such as [fe80::1%eth0]:51820 reaches this in the daemon). 0 if
 * there is no such interface.
 */
static uint32_t name_to_index(const char *name)
{
	struct ifreq ifr;
	int fd, ret;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strnlen(name, IF_NAMESIZE - 1));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ret = ioctl(fd, SIOCGIFINDEX, &ifr);
	close(fd);
	return ret < 0 || ifr.ifr_ifindex <= 0 ? 0 : (uint32_t)ifr.ifr_ifindex;
}

static int parse_scope_id(const char *s, size_t len, uint32_t *scope_id)
{
	char name[IF_NAMESIZE];
	uint64_t v;

	if (!tapir_parse_u64(s, len, UINT32_MAX, &v)) {
		*scope_id = (uint32_t)v;
		return 0;
	}
	if (tapir_parse_copy_text(name, sizeof(name), s, len))
		return -EINVAL;
	*scope_id = name_to_index(name);
	return *scope_id ? 0 : -EINVAL;
}

/* @host is "addr[%scope]]" (the part after '[' up to the port's ':'). */
static int parse_in6(struct sockaddr_in6 *in6, const char *host, size_t len)
{
	char text[ADDR_TEXT_MAX_BYTES];
	const char *pct;
	size_t addr_len;

	if (!len || host[len - 1] != ']')
		return -EINVAL;
	len--;
	pct = memchr(host, '%', len);
	addr_len = pct ? (size_t)(pct - host) : len;
	if (tapir_parse_copy_text(text, sizeof(text), host, addr_len) ||
	    inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
		return -EINVAL;
	if (pct && parse_scope_id(pct + 1, len - addr_len - 1, &in6->sin6_scope_id))
		return -EINVAL;
	in6->sin6_family = AF_INET6;
	return 0;
}

static int parse_in4(struct sockaddr_in *in, const char *host, size_t len)
{
	char text[ADDR_TEXT_MAX_BYTES];

	if (tapir_parse_copy_text(text, sizeof(text), host, len) ||
	    inet_pton(AF_INET, text, &in->sin_addr) != 1)
		return -EINVAL;
	in->sin_family = AF_INET;
	return 0;
}

int tapir_sockaddr_parse(union tapir_sockaddr *out, const char *s, size_t len)
{
	const char *colon = len ? memrchr(s, ':', len) : NULL;
	size_t host_len;
	uint64_t port;
	int r;

	memset(out, 0, sizeof(*out));
	if (!colon)
		return -EINVAL;
	host_len = (size_t)(colon - s);
	/* Port 0 cannot be sent to, so it is no endpoint. */
	if (tapir_parse_u64(colon + 1, len - host_len - 1, UINT16_MAX, &port) || !port)
		return -EINVAL;
	if (host_len && s[0] == '[')
		r = parse_in6(&out->in6, s + 1, host_len - 1);
	else
		r = parse_in4(&out->in, s, host_len);
	if (r) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	/* sin_port and sin6_port share their offset. */
	if (out->sa.sa_family == AF_INET)
		out->in.sin_port = htons((uint16_t)port);
	else
		out->in6.sin6_port = htons((uint16_t)port);
	return 0;
}

static int format_checked(int n, size_t outlen)
{
	return n < 0 || (size_t)n >= outlen ? -EINVAL : n;
}

int tapir_sockaddr_format(char *out, size_t outlen, const union tapir_sockaddr *addr)
{
	const struct in6_addr *a6 = &addr->in6.sin6_addr;
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (addr->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &addr->in.sin_addr, host, sizeof(host));
		port = ntohs(addr->in.sin_port);
		return format_checked(snprintf(out, outlen, "%s:%u", host, port), outlen);
	}
	if (addr->sa.sa_family != AF_INET6)
		return -EINVAL;
	port = ntohs(addr->in6.sin6_port);
	if (IN6_IS_ADDR_V4MAPPED(a6)) {
		inet_ntop(AF_INET, &a6->s6_addr[12], host, sizeof(host));
		return format_checked(snprintf(out, outlen, "%s:%u", host, port), outlen);
	}
	inet_ntop(AF_INET6, a6, host, sizeof(host));
	if (addr->in6.sin6_scope_id)
		return format_checked(snprintf(out, outlen, "[%s%%%u]:%u", host,
					       (unsigned)addr->in6.sin6_scope_id, port),
				      outlen);
	return format_checked(snprintf(out, outlen, "[%s]:%u", host, port), outlen);
}

int tapir_sockaddr_parse_listen(union tapir_sockaddr *out, const char *s, size_t len)
{
	if (tapir_sockaddr_parse(out, s, len) < 0)
		return -EINVAL;
	return (out->sa.sa_family == AF_INET ? out->in.sin_port : out->in6.sin6_port) ? 0 : -EINVAL;
}
