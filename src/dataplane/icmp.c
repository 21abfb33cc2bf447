// SPDX-License-Identifier: MIT
/*
 * ICMP (RFC 792, RFC 1812 4.3) and ICMPv6 (RFC 4443) "destination unreachable" for a packet
 * that no peer routes, and the rate limit that bounds them. Pure functions over caller
 * buffers: the worker writes the result into the TUN (unreachable.c); tests and the fuzzer
 * call these directly. Nothing here reads past @len or keeps a pointer into a packet.
 *
 * Rules: never answer an ICMP error (IPv4 types other than the queries 0, 8, 9, 10, 13-18;
 * ICMPv6 types below 128), a non-first fragment (there is no upper-layer header to judge),
 * a multicast or broadcast destination, or a source that is not one host. An IPv6 packet
 * whose extension headers cannot be walked within what we may quote is not answered either:
 * it might hide an ICMPv6 error. The rate is the kernel's order of magnitude for one route:
 * it limits "unreachable" to one per second per destination host with a burst of 6
 * (icmp_ratelimit) and all ICMP to 1000/s (icmp_msgs_per_sec); one device here stands for
 * many hosts, so 10/s with a burst of 10, enough for a few pings and connects to fail fast,
 * too little for a flood to turn into a flood of errors.
 */
#include "icmp.h"

#include <errno.h>
#include <string.h>

#include "offload.h"

enum {
	IPV4_HDR_LEN = 20,
	IPV6_HDR_LEN = 40,
	ICMP_HDR_LEN = 8,
	PROTO_ICMP = 1,
	PROTO_ICMPV6 = 58,
	ICMP_DEST_UNREACH = 3,
	ICMP_HOST_UNREACH = 1,
	ICMPV6_DEST_UNREACH = 1,
	ICMPV6_ADDR_UNREACH = 3,
	ICMPV6_INFO_MIN = 128, /* ICMPv6 types below are errors (RFC 4443 2.1) */
	IPV4_TOS_INTERNETCONTROL = 0xc0,
	ERROR_HOP_LIMIT = 64,
	MAX_EXT_HEADERS = 8,
	NH_HOPOPTS = 0,
	NH_ROUTING = 43,
	NH_FRAGMENT = 44,
	NH_AH = 51,
	NH_NONE = 59,
	NH_DSTOPTS = 60,
};

static const char *const stat_names[TAPIR_ICMP_STAT_MAX] = {
    [TAPIR_ICMP_UNREACHABLE_SENT] = "unreachable_sent",
    [TAPIR_ICMP_UNREACHABLE_RATELIMITED] = "unreachable_ratelimited",
};

const char *tapir_icmp_stat_name(enum tapir_icmp_stat s)
{
	return s < TAPIR_ICMP_STAT_MAX ? stat_names[s] : "unknown";
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- IPv4 ---- */

/* Not one host as a source (RFC 1812 4.3.2.7): 0/8, 127/8, 224/4 (multicast), 240/4. */
static bool is_ipv4_unique_host(const uint8_t *a)
{
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

/* An ICMP message of @type is an error, unless it is one of the queries and their replies. */
static bool is_icmp_error(uint8_t type)
{
	static const uint8_t queries[] = {0, 8, 9, 10, 13, 14, 15, 16, 17, 18};

	return !memchr(queries, type, sizeof(queries));
}

static bool may_answer_ipv4(const uint8_t *pkt, size_t quoted, size_t ihl)
{
	/* the destination becomes our source: it must be one host as well (this also excludes
	 * multicast and 255.255.255.255; a subnet's broadcast address is not known here) */
	if (!is_ipv4_unique_host(pkt + 12) || !is_ipv4_unique_host(pkt + 16))
		return false;
	if (get16(pkt + 6) & 0x1fff) /* fragment offset */
		return false;
	if (pkt[9] != PROTO_ICMP)
		return true;
	return quoted > ihl && !is_icmp_error(pkt[ihl]);
}

static int unreachable_ipv4(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	size_t ihl = (size_t)(pkt[0] & 0x0f) * 4, quoted = get16(pkt + 2), total;

	if (ihl < IPV4_HDR_LEN || quoted < ihl || quoted > len)
		return -EINVAL;
	if (!may_answer_ipv4(pkt, quoted, ihl))
		return 0;
	if (quoted > TAPIR_ICMP4_MAX_BYTES - IPV4_HDR_LEN - ICMP_HDR_LEN)
		quoted = TAPIR_ICMP4_MAX_BYTES - IPV4_HDR_LEN - ICMP_HDR_LEN;
	total = IPV4_HDR_LEN + ICMP_HDR_LEN + quoted;
	if (cap < total)
		return -ENOSPC;
	memset(out, 0, IPV4_HDR_LEN + ICMP_HDR_LEN);
	out[0] = 0x45;
	out[1] = IPV4_TOS_INTERNETCONTROL; /* precedence "internetwork control", as Linux */
	put16(out + 2, (uint16_t)total);
	out[8] = ERROR_HOP_LIMIT;
	out[9] = PROTO_ICMP;
	memcpy(out + 12, pkt + 16, 4); /* from the unreachable destination */
	memcpy(out + 16, pkt + 12, 4); /* to the sender */
	put16(out + 10, tapir_csum_fold(tapir_csum_add(0, out, IPV4_HDR_LEN)));
	out[IPV4_HDR_LEN] = ICMP_DEST_UNREACH;
	out[IPV4_HDR_LEN + 1] = ICMP_HOST_UNREACH;
	memcpy(out + IPV4_HDR_LEN + ICMP_HDR_LEN, pkt, quoted);
	put16(out + IPV4_HDR_LEN + 2,
	      tapir_csum_fold(tapir_csum_add(0, out + IPV4_HDR_LEN, total - IPV4_HDR_LEN)));
	return (int)total;
}

/* ---- IPv6 ---- */

static bool is_ipv6_multicast(const uint8_t *a)
{
	return a[0] == 0xff;
}

/* :: and ::1 (unspecified, loopback) */
static bool is_ipv6_unspecified_or_loopback(const uint8_t *a)
{
	static const uint8_t zero[15];

	return !memcmp(a, zero, sizeof(zero)) && a[15] <= 1;
}

/*
 * Walks the extension headers within @quoted bytes: false for a non-first fragment, an
 * ICMPv6 error, or a chain that ends (or runs too long) before its upper-layer header.
 */
static bool may_answer_ipv6_payload(const uint8_t *pkt, size_t quoted)
{
	uint8_t nh = pkt[6];
	size_t off = IPV6_HDR_LEN;

	for (int i = 0; i < MAX_EXT_HEADERS; i++) {
		size_t hlen;

		if (nh == NH_NONE)
			return true;
		if (nh == PROTO_ICMPV6)
			return off < quoted && pkt[off] >= ICMPV6_INFO_MIN;
		if (nh != NH_HOPOPTS && nh != NH_ROUTING && nh != NH_DSTOPTS && nh != NH_FRAGMENT &&
		    nh != NH_AH)
			return true; /* an upper layer: TCP, UDP, ... */
		if (quoted < off + 8)
			return false;
		if (nh == NH_FRAGMENT && (get16(pkt + off + 2) & 0xfff8))
			return false;
		if (nh == NH_FRAGMENT)
			hlen = 8;
		else if (nh == NH_AH)
			hlen = ((size_t)pkt[off + 1] + 2) * 4;
		else
			hlen = ((size_t)pkt[off + 1] + 1) * 8;
		nh = pkt[off];
		off += hlen;
	}
	return false;
}

static int unreachable_ipv6(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	size_t quoted = IPV6_HDR_LEN + get16(pkt + 4), total, icmp_len;

	if (quoted > len)
		return -EINVAL;
	if (is_ipv6_multicast(pkt + 8) || is_ipv6_unspecified_or_loopback(pkt + 8) ||
	    is_ipv6_multicast(pkt + 24) || is_ipv6_unspecified_or_loopback(pkt + 24))
		return 0;
	if (quoted > TAPIR_ICMP6_MAX_BYTES - IPV6_HDR_LEN - ICMP_HDR_LEN)
		quoted = TAPIR_ICMP6_MAX_BYTES - IPV6_HDR_LEN - ICMP_HDR_LEN;
	if (!may_answer_ipv6_payload(pkt, quoted))
		return 0;
	icmp_len = ICMP_HDR_LEN + quoted;
	total = IPV6_HDR_LEN + icmp_len;
	if (cap < total)
		return -ENOSPC;
	memset(out, 0, IPV6_HDR_LEN + ICMP_HDR_LEN);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)icmp_len);
	out[6] = PROTO_ICMPV6;
	out[7] = ERROR_HOP_LIMIT;
	memcpy(out + 8, pkt + 24, 16); /* from the unreachable destination */
	memcpy(out + 24, pkt + 8, 16); /* to the sender */
	out[IPV6_HDR_LEN] = ICMPV6_DEST_UNREACH;
	out[IPV6_HDR_LEN + 1] = ICMPV6_ADDR_UNREACH;
	memcpy(out + IPV6_HDR_LEN + ICMP_HDR_LEN, pkt, quoted);
	/* RFC 4443 2.3: the checksum covers the IPv6 pseudo-header too */
	put16(out + IPV6_HDR_LEN + 2,
	      tapir_csum_fold(tapir_csum_add(tapir_csum_pseudo(out, 6, PROTO_ICMPV6, icmp_len),
					     out + IPV6_HDR_LEN, icmp_len)));
	return (int)total;
}

int tapir_icmp_unreachable(const uint8_t *pkt, size_t len, uint8_t *out, size_t cap)
{
	if (len >= IPV4_HDR_LEN && pkt[0] >> 4 == 4)
		return unreachable_ipv4(pkt, len, out, cap);
	if (len >= IPV6_HDR_LEN && pkt[0] >> 4 == 6)
		return unreachable_ipv6(pkt, len, out, cap);
	return -EINVAL;
}

bool tapir_icmp_limiter_allow(struct tapir_icmp_limiter *rl, uint64_t now_ns)
{
	const uint64_t interval = 1000000000ull / TAPIR_ICMP_RATE_PER_S;
	const uint64_t tolerance = interval * (TAPIR_ICMP_BURST - 1);
	uint64_t tat = atomic_load_explicit(&rl->tat_ns, memory_order_relaxed), next;

	do {
		/* the next token is due more than a burst ahead: hold back */
		if (tat > now_ns + tolerance)
			return false;
		next = (tat > now_ns ? tat : now_ns) + interval;
		/* relaxed: the counter guards nothing but itself */
	} while (!atomic_compare_exchange_weak_explicit(
	    &rl->tat_ns, &tat, next, memory_order_relaxed, memory_order_relaxed));
	return true;
}
