/* SPDX-License-Identifier: MIT */
/* A socket address that holds IPv4 or IPv6 (endpoints, packet sources). */
#ifndef TAPIR_SOCKADDR_H
#define TAPIR_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

union tapir_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/*
 * Our end of a UDP exchange: the local address (and interface) a datagram arrived on, which
 * is the address to answer from (IP_PKTINFO / IPV6_PKTINFO). @family 0: none, the kernel
 * picks the source. Always built zeroed, so two of them compare field by field.
 */
struct tapir_local_addr {
	sa_family_t family; /* AF_INET, AF_INET6 or 0 */
	int ifindex;	    /* the interface it arrived on; 0 = any */
	union {
		struct in_addr in;
		struct in6_addr in6;
	};
};

/*
 * A peer's endpoint as WireGuard keeps it (kernel "endpoint" with its cached source): where
 * to send (@addr) and which local address to send from (@local, the one the peer last
 * reached us on). For a received datagram: where it came from and where it arrived.
 */
struct tapir_endpoint {
	union tapir_sockaddr addr;
	struct tapir_local_addr local;
};

static inline bool tapir_local_addr_equal(const struct tapir_local_addr *a,
					  const struct tapir_local_addr *b)
{
	if (a->family != b->family || a->ifindex != b->ifindex)
		return false;
	if (a->family == AF_INET)
		return a->in.s_addr == b->in.s_addr;
	return a->family != AF_INET6 || !memcmp(&a->in6, &b->in6, sizeof(a->in6));
}

/* Same family, address and port (and IPv6 scope): field by field, padding ignored. */
static inline bool tapir_sockaddr_equal(const union tapir_sockaddr *a,
					const union tapir_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr)) &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

/* The wildcard address of @family (AF_INET6, else AF_INET) with @port, to bind to; its length. */
static inline socklen_t tapir_sockaddr_any(union tapir_sockaddr *a, int family, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		return sizeof(a->in6);
	}
	a->in.sin_family = AF_INET;
	a->in.sin_port = htons(port);
	return sizeof(a->in);
}

/* sockaddr.c */

/*
 * Formats a socket address as UAPI does: "a.b.c.d:port" or "[v6]:port" (a v4-mapped IPv6
 * address prints as IPv4). Returns the length written, or -EINVAL.
 */
int tapir_sockaddr_format(char *out, size_t outlen, const union tapir_sockaddr *addr);
/* Parses a numeric "a.b.c.d:port" or "[v6]:port" (with optional %scope). 0 or -EINVAL. */
int tapir_sockaddr_parse(union tapir_sockaddr *out, const char *s, size_t len);
/* The same for an address to listen on: the port must not be 0. 0 or -EINVAL. */
int tapir_sockaddr_parse_listen(union tapir_sockaddr *out, const char *s, size_t len);

#endif
