/* SPDX-License-Identifier: MIT */
/*
 * "Destination unreachable" for packets the TUN hands us that no peer's allowed IPs cover,
 * as the kernel's WireGuard answers them: the error, built over caller buffers, and the
 * device-wide rate limit. No I/O, no allocation, no locks (the limiter is one atomic).
 */
#ifndef TAPIR_ICMP_H
#define TAPIR_ICMP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tapir_icmp_limits {
	TAPIR_ICMP4_MAX_BYTES = 576,  /* RFC 1812 4.3.2.3: the whole error, IP header included */
	TAPIR_ICMP6_MAX_BYTES = 1280, /* RFC 4443 2.4 (c): the IPv6 minimum MTU */
	TAPIR_ICMP_RATE_PER_S = 10,   /* errors per second per device, once the burst is spent */
	TAPIR_ICMP_BURST = 10,
};

/* Counters (tapir show IF icmp; UAPI get=tapir tapir_icmp_NAME=). */
enum tapir_icmp_stat {
	TAPIR_ICMP_UNREACHABLE_SENT,	    /* errors written back into the TUN */
	TAPIR_ICMP_UNREACHABLE_RATELIMITED, /* due but held back: rate limit, or one per run */
	TAPIR_ICMP_STAT_MAX,
};
const char *tapir_icmp_stat_name(enum tapir_icmp_stat s);

/*
 * Builds the error for @pkt (@len bytes, an IP packet read from the TUN) into @out (@cap
 * bytes; TAPIR_ICMP6_MAX_BYTES always suffices): ICMP type 3 code 1 (host unreachable) for
 * IPv4, ICMPv6 type 1 code 3 (address unreachable) for IPv6. It goes from the packet's
 * destination to its source, so that the kernel takes it in from the TUN as coming from the
 * host that cannot be reached (a local source address would be a martian), and quotes as much
 * of @pkt as fits in 576 (IPv4) or 1280 (IPv6) bytes, with every checksum set.
 *
 * Returns the error's length; 0 when no error may be sent: in reply to an ICMP error or to a
 * non-first fragment, or for a multicast or broadcast destination, or a source that is not
 * one host (unspecified, loopback, multicast, broadcast, class E) (RFC 1812 4.3.2.7, RFC 4443
 * 2.4 e); -EINVAL for a malformed packet; -ENOSPC if @cap is too small.
 */
int tapir_icmp_unreachable(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap);

/* Generic cell rate algorithm: TAPIR_ICMP_RATE_PER_S with bursts of TAPIR_ICMP_BURST. */
struct tapir_icmp_limiter {
	_Atomic uint64_t tat_ns; /* theoretical arrival time of the next error */
};

/* True if an error may go out at @now_ns (monotonic), and takes its token. Any thread. */
bool tapir_icmp_limiter_allow(struct tapir_icmp_limiter *rl, uint64_t now_ns);

#endif
