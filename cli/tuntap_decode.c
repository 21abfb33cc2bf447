// SPDX-License-Identifier: MIT
/*
 * tapir tuntap watch's packet decoder: one line of text per IP packet (TUN) or Ethernet frame
 * (TAP), as tuntap.h describes tapir_tuntap_decode(). It walks Ethernet with up to two VLAN
 * tags, IPv4, IPv6 with its extension headers, ARP, ICMP/ICMPv6, TCP and UDP, and says
 * "(truncated)" where the bytes end before a header does.
 *
 * Pure: no I/O, no allocation, no global state; every read is checked against the length
 * first, so the fuzzer (tests/fuzz/fuzz_tuntap_decode.c) feeds it arbitrary bytes.
 */
#include "tuntap.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum {
	ETH_HDR_BYTES = 14,
	VLAN_TAG_BYTES = 4,
	VLAN_TAGS_MAX = 2, /* 802.1ad outer tag + 802.1Q inner tag */
	IPV4_HDR_MIN_BYTES = 20,
	IPV6_HDR_BYTES = 40,
	IPV6_EXT_HDRS_MAX = 8,
	ARP_IPV4_BYTES = 28,
	TCP_HDR_MIN_BYTES = 20,
	UDP_HDR_BYTES = 8,
};

enum {
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_ARP = 0x0806,
	ETHERTYPE_VLAN = 0x8100,
	ETHERTYPE_QINQ = 0x88a8,
	ETHERTYPE_IPV6 = 0x86dd,
	ETHERTYPE_MIN = 0x0600, /* below: an 802.3 length field */
};

enum {
	PROTO_HOPOPTS = 0,
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_ICMPV6 = 58,
	PROTO_DSTOPTS = 60,
};

/* Output under construction; @len never exceeds @cap - 1, so the text stays terminated. */
struct text {
	char *buf;
	size_t len;
	size_t cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	size_t room = t->cap - t->len;
	va_list ap;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < room ? (size_t)n : room - 1;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_addr(struct text *t, int family, const uint8_t *p)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(family, p, s, sizeof(s)))
		put(t, "%s", s);
}

static void put_mac(struct text *t, const uint8_t *p)
{
	put(t, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

struct icmp_name {
	uint8_t type;
	const char *name;
};

static const struct icmp_name icmp4_names[] = {
    {0, "echo reply"},		 {3, "destination unreachable"},
    {4, "source quench"},	 {5, "redirect"},
    {8, "echo request"},	 {9, "router advertisement"},
    {10, "router solicitation"}, {11, "time exceeded"},
    {12, "parameter problem"},	 {13, "timestamp request"},
    {14, "timestamp reply"},
};

static const struct icmp_name icmp6_names[] = {
    {1, "destination unreachable"},
    {2, "packet too big"},
    {3, "time exceeded"},
    {4, "parameter problem"},
    {128, "echo request"},
    {129, "echo reply"},
    {130, "multicast listener query"},
    {131, "multicast listener report"},
    {132, "multicast listener done"},
    {133, "router solicitation"},
    {134, "router advertisement"},
    {135, "neighbor solicitation"},
    {136, "neighbor advertisement"},
    {137, "redirect"},
    {143, "multicast listener report v2"},
};

static const char *icmp_type_name(uint8_t type, bool is_v6)
{
	const struct icmp_name *names = is_v6 ? icmp6_names : icmp4_names;
	size_t n = is_v6 ? sizeof(icmp6_names) / sizeof(icmp6_names[0])
			 : sizeof(icmp4_names) / sizeof(icmp4_names[0]);

	for (size_t i = 0; i < n; i++)
		if (names[i].type == type)
			return names[i].name;
	return NULL;
}

static bool is_echo(uint8_t type, bool is_v6)
{
	return is_v6 ? type == 128 || type == 129 : type == 0 || type == 8;
}

/* Each decode_* appends to @t and returns false if @len ended before what it had to read. */
static bool decode_icmp(struct text *t, const uint8_t *b, size_t len, bool is_v6)
{
	const char *name;

	put(t, is_v6 ? " ICMPv6" : " ICMP");
	if (len < 4)
		return false;
	name = icmp_type_name(b[0], is_v6);
	if (name)
		put(t, " %s", name);
	put(t, " (type %u code %u)", b[0], b[1]);
	if (is_echo(b[0], is_v6)) {
		if (len < 8)
			return false;
		put(t, " id %u seq %u", get16(b + 4), get16(b + 6));
	} else if (is_v6 && (b[0] == 135 || b[0] == 136)) {
		if (len < 24)
			return false;
		put(t, " target ");
		put_addr(t, AF_INET6, b + 8);
	}
	return true;
}

static void put_tcp_flags(struct text *t, uint8_t flags)
{
	static const char *const names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
	const char *sep = "[";

	for (unsigned int i = 0; i < 8; i++) {
		if (flags & (1u << i)) {
			put(t, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
	put(t, "%s", flags ? "]" : "[none]");
}

static bool decode_tcp(struct text *t, const uint8_t *b, size_t len)
{
	size_t doff;

	put(t, " TCP");
	if (len < 4)
		return false;
	put(t, " %u > %u", get16(b), get16(b + 2));
	if (len < 14)
		return false;
	put(t, " ");
	put_tcp_flags(t, b[13]);
	doff = (size_t)(b[12] >> 4) * 4;
	if (doff < TCP_HDR_MIN_BYTES) {
		put(t, " bad data offset %zu", doff);
		return true;
	}
	if (len < doff)
		return false;
	put(t, " length %zu", len - doff);
	return true;
}

static bool decode_udp(struct text *t, const uint8_t *b, size_t len)
{
	uint16_t ulen;

	put(t, " UDP");
	if (len < 4)
		return false;
	put(t, " %u > %u", get16(b), get16(b + 2));
	if (len < UDP_HDR_BYTES)
		return false;
	ulen = get16(b + 4);
	if (ulen < UDP_HDR_BYTES) {
		put(t, " bad length %u", ulen);
		return true;
	}
	put(t, " length %u", ulen - UDP_HDR_BYTES);
	return ulen <= len;
}

static bool decode_l4(struct text *t, uint8_t proto, const uint8_t *b, size_t len, bool is_v6)
{
	if (proto == PROTO_TCP)
		return decode_tcp(t, b, len);
	if (proto == PROTO_UDP)
		return decode_udp(t, b, len);
	if (proto == (is_v6 ? PROTO_ICMPV6 : PROTO_ICMP))
		return decode_icmp(t, b, len, is_v6);
	put(t, " protocol %u", proto);
	return true;
}

static bool decode_ipv4(struct text *t, const uint8_t *b, size_t len)
{
	size_t hlen, total;
	uint16_t frag;
	bool is_whole = true;

	put(t, " IPv4");
	if (len > 0 && b[0] >> 4 != 4) {
		put(t, " bad version %u", b[0] >> 4);
		return true;
	}
	if (len < IPV4_HDR_MIN_BYTES)
		return false;
	put(t, " ");
	put_addr(t, AF_INET, b + 12);
	put(t, " > ");
	put_addr(t, AF_INET, b + 16);
	hlen = (size_t)(b[0] & 0x0f) * 4;
	total = get16(b + 2);
	if (hlen < IPV4_HDR_MIN_BYTES || total < hlen) {
		put(t, " bad lengths (header %zu, total %zu bytes)", hlen, total);
		return true;
	}
	if (len < hlen)
		return false;
	if (total > len)
		is_whole = false;
	else
		len = total; /* drop Ethernet padding */
	frag = get16(b + 6);
	if (frag & 0x1fff) {
		/* a later fragment: no transport header to decode */
		put(t, " protocol %u fragment offset %u", b[9], (frag & 0x1fffu) * 8);
		return is_whole;
	}
	if (frag & 0x2000)
		put(t, " first fragment");
	return decode_l4(t, b[9], b + hlen, len - hlen, false) && is_whole;
}

static bool is_ipv6_ext(uint8_t next)
{
	return next == PROTO_HOPOPTS || next == PROTO_ROUTING || next == PROTO_FRAGMENT ||
	       next == PROTO_DSTOPTS;
}

static bool decode_ipv6(struct text *t, const uint8_t *b, size_t len)
{
	size_t off = IPV6_HDR_BYTES, payload;
	bool is_whole = true;
	uint8_t next;

	put(t, " IPv6");
	if (len > 0 && b[0] >> 4 != 6) {
		put(t, " bad version %u", b[0] >> 4);
		return true;
	}
	if (len < IPV6_HDR_BYTES)
		return false;
	put(t, " ");
	put_addr(t, AF_INET6, b + 8);
	put(t, " > ");
	put_addr(t, AF_INET6, b + 24);
	payload = get16(b + 4);
	if (IPV6_HDR_BYTES + payload > len)
		is_whole = false;
	else
		len = IPV6_HDR_BYTES + payload;
	next = b[6];
	for (unsigned int i = 0; i < IPV6_EXT_HDRS_MAX && is_ipv6_ext(next); i++) {
		size_t ext;

		if (len < off + 8)
			return false;
		ext = ((size_t)b[off + 1] + 1) * 8;
		if (next == PROTO_FRAGMENT) {
			ext = 8; /* its second byte is reserved, not a length */
			if (get16(b + off + 2) >> 3) {
				put(t, " protocol %u fragment offset %u", b[off],
				    (get16(b + off + 2) >> 3) * 8u);
				return is_whole;
			}
		}
		if (len < off + ext)
			return false;
		next = b[off];
		off += ext;
	}
	return decode_l4(t, next, b + off, len - off, true) && is_whole;
}

static bool decode_arp(struct text *t, const uint8_t *b, size_t len)
{
	uint16_t op;

	put(t, " ARP");
	if (len < 8)
		return false;
	op = get16(b + 6);
	if (get16(b) != 1 || get16(b + 2) != ETHERTYPE_IPV4 || b[4] != 6 || b[5] != 4) {
		put(t, " op %u hardware type %u protocol 0x%04x", op, get16(b), get16(b + 2));
		return true;
	}
	if (len < ARP_IPV4_BYTES) {
		put(t, " op %u", op);
		return false;
	}
	if (op == 1) {
		put(t, " request who-has ");
		put_addr(t, AF_INET, b + 24);
		put(t, " tell ");
		put_addr(t, AF_INET, b + 14);
	} else if (op == 2) {
		put(t, " reply ");
		put_addr(t, AF_INET, b + 14);
		put(t, " is-at ");
		put_mac(t, b + 8);
	} else {
		put(t, " op %u ", op);
		put_addr(t, AF_INET, b + 14);
		put(t, " > ");
		put_addr(t, AF_INET, b + 24);
	}
	return true;
}

static bool decode_ip(struct text *t, const uint8_t *b, size_t len)
{
	if (len == 0) {
		put(t, " empty");
		return true;
	}
	if (b[0] >> 4 == 4)
		return decode_ipv4(t, b, len);
	if (b[0] >> 4 == 6)
		return decode_ipv6(t, b, len);
	put(t, " unknown IP version %u", b[0] >> 4);
	return true;
}

static bool decode_eth(struct text *t, const uint8_t *b, size_t len)
{
	size_t off = 12; /* EtherType or tag protocol id */
	uint16_t type;

	if (len < ETH_HDR_BYTES)
		return false;
	put(t, " ");
	put_mac(t, b + 6);
	put(t, " > ");
	put_mac(t, b);
	type = get16(b + off);
	for (unsigned int i = 0; i < VLAN_TAGS_MAX; i++) {
		if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ)
			break;
		if (len < off + VLAN_TAG_BYTES + 2)
			return false;
		put(t, " vlan %u", get16(b + off + 2) & 0x0fffu);
		off += VLAN_TAG_BYTES;
		type = get16(b + off);
	}
	off += 2;
	if (type == ETHERTYPE_IPV4)
		return decode_ipv4(t, b + off, len - off);
	if (type == ETHERTYPE_IPV6)
		return decode_ipv6(t, b + off, len - off);
	if (type == ETHERTYPE_ARP)
		return decode_arp(t, b + off, len - off);
	if (type < ETHERTYPE_MIN)
		put(t, " 802.3 length %u", type);
	else
		put(t, " ethertype 0x%04x", type);
	return true;
}

size_t tapir_tuntap_decode(const uint8_t *buf, size_t len, bool is_tap, char *out, size_t out_len)
{
	struct text t = {.buf = out, .cap = out_len};
	bool is_whole;

	if (out_len == 0)
		return 0;
	out[0] = '\0';
	put(&t, "%zu bytes:", len);
	is_whole = is_tap ? decode_eth(&t, buf, len) : decode_ip(&t, buf, len);
	if (!is_whole)
		put(&t, " (truncated)");
	return t.len;
}
