// SPDX-License-Identifier: MIT
/*
 * Software GRO for decrypted packets written back to the TUN (offload.h): the kernel's
 * inet_gro_receive/ipv6_gro_receive/tcp_gro_receive merge rules, so that the kernel's own
 * re-segmentation reproduces the peer's packets exactly. Works on caller buffers, checks every
 * offset against the length it was given, does no I/O, allocation or logging, and verifies
 * each incoming checksum before it lets a segment disappear into a super-packet.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "offload_wire.h"
#include "util.h"

enum gro_kind {
	KIND_NONE, /* not TCP/UDP over IP: never part of a flow */
	KIND_TCP4,
	KIND_TCP6,
	KIND_UDP4,
	KIND_UDP6,
};

/* ---- coalescing ---- */

/* What tapir_gro_add learned about one packet. */
struct seg {
	uint8_t kind;	   /* from the IP version and protocol, even if not mergeable */
	bool has_addrs;	   /* an IP header with both addresses is present */
	bool has_ports;	   /* and the first 4 bytes of a TCP/UDP header */
	bool is_mergeable; /* may start or extend a super-packet */
	size_t l3_len;
	size_t l4_len;
	size_t payload;
	uint32_t seq;
	uint16_t ip_id;
	uint8_t tcp_flags;
	uint32_t hash;
};

static int kind_family(uint8_t kind)
{
	return kind == KIND_TCP4 || kind == KIND_UDP4 ? 4 : 6;
}

static uint8_t kind_proto(uint8_t kind)
{
	return kind == KIND_TCP4 || kind == KIND_TCP6 ? PROTO_TCP : PROTO_UDP;
}

static uint8_t kind_of(int family, uint8_t proto)
{
	if (proto == PROTO_TCP)
		return family == 4 ? KIND_TCP4 : KIND_TCP6;
	if (proto == PROTO_UDP)
		return family == 4 ? KIND_UDP4 : KIND_UDP6;
	return KIND_NONE;
}

/* FNV-1a over the addresses and ports: only a pre-filter before memcmp. */
static uint32_t flow_hash(const uint8_t *pkt, const struct seg *s)
{
	bool is_v4 = kind_family(s->kind) == 4;
	size_t a = is_v4 ? IPV4_ADDRS : IPV6_ADDRS, n = is_v4 ? IPV4_ADDRS_LEN : IPV6_ADDRS_LEN;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ pkt[a + i]) * 16777619u;
	for (size_t i = 0; i < PORTS_LEN; i++)
		h = (h ^ pkt[s->l3_len + i]) * 16777619u;
	return h;
}

/* IP layer: sets kind/has_addrs/has_ports/l3_len; returns whether the IP header allows
 * merging (kernel GRO: IPv4 without options or fragments and with a valid header checksum,
 * IPv6 with TCP/UDP right after the fixed header; lengths exact). */
static bool parse_seg_ip(const uint8_t *pkt, size_t len, struct seg *s)
{
	size_t ihl;
	uint16_t frag;

	if (len >= IPV4_HDR_MIN && pkt[0] >> 4 == 4) {
		ihl = (size_t)(pkt[0] & 0x0f) * 4;
		frag = get16(pkt + IPV4_FRAG);
		s->has_addrs = true;
		s->kind = kind_of(4, pkt[IPV4_PROTO]);
		s->l3_len = ihl;
		s->has_ports = s->kind != KIND_NONE && ihl >= IPV4_HDR_MIN && ihl <= len &&
			       len - ihl >= PORTS_LEN && !(frag & IPV4_OFFSET_MASK);
		s->ip_id = get16(pkt + IPV4_ID);
		return ihl == IPV4_HDR_MIN && get16(pkt + IPV4_TOT_LEN) == len &&
		       !(frag & (IPV4_MF | IPV4_OFFSET_MASK)) &&
		       tapir_csum_fold(tapir_csum_add(0, pkt, IPV4_HDR_MIN)) == 0;
	}
	if (len >= IPV6_HDR && pkt[0] >> 4 == 6) {
		s->has_addrs = true;
		s->kind = kind_of(6, pkt[IPV6_NEXT]);
		s->l3_len = IPV6_HDR;
		s->has_ports = s->kind != KIND_NONE && len - IPV6_HDR >= PORTS_LEN;
		return (size_t)get16(pkt + IPV6_PAYLOAD_LEN) + IPV6_HDR == len;
	}
	return false;
}

static bool parse_seg_tcp(const uint8_t *pkt, size_t len, struct seg *s)
{
	const uint8_t *th = pkt + s->l3_len;
	size_t room = len - s->l3_len;

	if (room < TCP_HDR_MIN)
		return false;
	s->l4_len = (size_t)(th[TCP_DOFF] >> 4) * 4;
	if (s->l4_len < TCP_HDR_MIN || s->l4_len >= room)
		return false; /* also refuses empty payloads: pure ACKs end a train */
	s->payload = room - s->l4_len;
	s->seq = get32(th + TCP_SEQ);
	s->tcp_flags = th[TCP_FLAGS];
	return !(s->tcp_flags & TCP_NO_MERGE);
}

static bool parse_seg_udp(const uint8_t *pkt, size_t len, struct seg *s)
{
	size_t room = len - s->l3_len;

	if (room <= UDP_HDR || get16(pkt + s->l3_len + UDP_LEN) != room)
		return false;
	s->l4_len = UDP_HDR;
	s->payload = room - UDP_HDR;
	return true;
}

static void parse_seg(const struct tapir_gro *g, const uint8_t *pkt, size_t len, struct seg *s)
{
	bool ok;
	int family;
	uint8_t proto;

	memset(s, 0, sizeof(*s));
	ok = parse_seg_ip(pkt, len, s);
	if (s->has_ports)
		s->hash = flow_hash(pkt, s);
	if (!ok || s->kind == KIND_NONE)
		return;
	family = kind_family(s->kind);
	proto = kind_proto(s->kind);
	if (proto == PROTO_TCP)
		ok = parse_seg_tcp(pkt, len, s);
	else
		ok = (g->flags & TAPIR_GRO_UDP) && parse_seg_udp(pkt, len, s);
	/* A segment with a bad checksum passes through untouched so that the kernel drops it,
	 * rather than being hidden inside a super-packet the kernel trusts. An IPv4 UDP
	 * datagram without checksum (0) has nothing to verify. */
	if (ok && !(proto == PROTO_UDP && family == 4 && get16(pkt + s->l3_len + UDP_CSUM) == 0))
		ok = tapir_offload_l4_csum(pkt, len, family, proto, s->l3_len) == 0;
	s->is_mergeable = ok;
}

/* Whether open item @i belongs to the flow of @s: same protocol and addresses, and the same
 * ports when @s has them. Open items always have ports and a fixed-size IP header. */
static bool item_matches(const struct tapir_gro *g, size_t i, const uint8_t *pkt,
			 const struct seg *s)
{
	const struct tapir_gro_item *it = &g->items[i];
	const uint8_t *b = g->bufs[i];

	if (!it->is_open || it->kind != s->kind || (s->has_ports && it->flow_hash != s->hash))
		return false;
	if (kind_family(it->kind) == 4 &&
	    memcmp(b + IPV4_ADDRS, pkt + IPV4_ADDRS, IPV4_ADDRS_LEN) != 0)
		return false;
	if (kind_family(it->kind) == 6 &&
	    memcmp(b + IPV6_ADDRS, pkt + IPV6_ADDRS, IPV6_ADDRS_LEN) != 0)
		return false;
	return !s->has_ports || memcmp(b + it->l3_len, pkt + s->l3_len, PORTS_LEN) == 0;
}

/* IP fields that must not change inside a super-packet, and the IPv4 ID sequence. */
static bool same_ip_fields(const struct tapir_gro_item *it, const uint8_t *b, const uint8_t *pkt)
{
	if (kind_family(it->kind) == 6)
		return !memcmp(b, pkt, 4) && b[IPV6_HOP_LIMIT] == pkt[IPV6_HOP_LIMIT];
	return b[IPV4_TOS] == pkt[IPV4_TOS] && b[IPV4_TTL] == pkt[IPV4_TTL] &&
	       get16(b + IPV4_FRAG) == get16(pkt + IPV4_FRAG) &&
	       get16(pkt + IPV4_ID) == it->next_id;
}

static bool can_append(const struct tapir_gro *g, size_t i, const uint8_t *pkt, const struct seg *s)
{
	const struct tapir_gro_item *it = &g->items[i];
	const uint8_t *b = g->bufs[i], *th = pkt + s->l3_len, *ith = b + it->l3_len;

	if (s->payload > it->gso_size || it->nsegs >= TAPIR_GRO_MAX_SEGMENTS ||
	    it->len + s->payload > min_size(g->buf_cap, TAPIR_OFFLOAD_MAX_PACKET_BYTES))
		return false;
	if (!same_ip_fields(it, b, pkt))
		return false;
	if (kind_proto(it->kind) == PROTO_UDP)
		return true;
	/* ack, window and options as in the first segment: the kernel keeps only its header */
	return s->l4_len == it->l4_len && s->seq == it->next_seq &&
	       !memcmp(ith + TCP_ACK, th + TCP_ACK, 4) &&
	       !memcmp(ith + TCP_WINDOW, th + TCP_WINDOW, 2) &&
	       !memcmp(ith + TCP_HDR_MIN, th + TCP_HDR_MIN, s->l4_len - TCP_HDR_MIN);
}

static void append(struct tapir_gro *g, size_t i, const uint8_t *pkt, const struct seg *s)
{
	struct tapir_gro_item *it = &g->items[i];
	uint8_t *b = g->bufs[i];

	memcpy(b + it->len, pkt + s->l3_len + s->l4_len, s->payload);
	it->len += (uint32_t)s->payload;
	it->nsegs++;
	it->next_seq += (uint32_t)s->payload;
	it->next_id++;
	/* a short segment must be the last one, or re-segmentation would differ */
	if (s->payload < it->gso_size)
		it->is_open = false;
	if (s->tcp_flags & TCP_PSH) {
		b[it->l3_len + TCP_FLAGS] |= TCP_PSH;
		it->is_open = false;
	}
}

static void start_item(struct tapir_gro *g, const uint8_t *pkt, size_t len, const struct seg *s)
{
	struct tapir_gro_item *it = &g->items[g->nitems];

	memcpy(g->bufs[g->nitems], pkt, len);
	memset(it, 0, sizeof(*it));
	it->len = (uint32_t)len;
	it->nsegs = 1;
	if (s->is_mergeable) {
		it->kind = s->kind;
		it->is_open = !(s->tcp_flags & TCP_PSH);
		it->flow_hash = s->hash;
		it->gso_size = (uint16_t)s->payload;
		it->next_seq = s->seq + (uint32_t)s->payload;
		it->next_id = (uint16_t)(s->ip_id + 1);
		it->l3_len = (uint8_t)s->l3_len;
		it->l4_len = (uint8_t)s->l4_len;
	}
	g->nitems++;
}

void tapir_gro_init(struct tapir_gro *g, uint8_t *const *bufs, size_t nbufs, size_t buf_cap,
		    unsigned int flags)
{
	memset(g, 0, sizeof(*g));
	g->bufs = bufs;
	g->nitems_max = min_size(nbufs, TAPIR_GRO_MAX_ITEMS);
	g->buf_cap = buf_cap;
	g->flags = flags;
}

int tapir_gro_add(struct tapir_gro *g, const uint8_t *pkt, size_t len)
{
	struct seg s;
	size_t i;

	if (len == 0)
		return -EINVAL;
	if (len > g->buf_cap)
		return -EMSGSIZE;
	parse_seg(g, pkt, len, &s);
	/* at most one open item per flow: starting one closes the previous */
	for (i = 0; s.is_mergeable && i < g->nitems; i++) {
		if (!item_matches(g, i, pkt, &s))
			continue;
		if (!can_append(g, i, pkt, &s))
			break;
		append(g, i, pkt, &s);
		return 0;
	}
	if (g->nitems == g->nitems_max)
		return -ENOSPC;
	/* Whatever this packet is, later segments of its flow must not jump ahead of it into
	 * an earlier item. Without ports (fragments) every flow of the address pair stops. */
	for (i = 0; s.has_addrs && i < g->nitems; i++) {
		if (item_matches(g, i, pkt, &s))
			g->items[i].is_open = false;
	}
	start_item(g, pkt, len, &s);
	return 1;
}

/* Rewrites the headers of a super-packet for the kernel and describes it in @vh. */
static void finish_super(uint8_t *b, const struct tapir_gro_item *it, struct virtio_net_hdr *vh)
{
	int family = kind_family(it->kind);
	uint8_t proto = kind_proto(it->kind);
	size_t l4_total = it->len - it->l3_len;
	uint16_t csum_offset = proto == PROTO_TCP ? TCP_CSUM : UDP_CSUM;

	if (family == 4) {
		put16(b + IPV4_TOT_LEN, (uint16_t)it->len);
		tapir_offload_set_ipv4_csum(b, it->l3_len);
	} else {
		put16(b + IPV6_PAYLOAD_LEN, (uint16_t)l4_total);
	}
	if (proto == PROTO_UDP)
		put16(b + it->l3_len + UDP_LEN, (uint16_t)l4_total);
	/* CHECKSUM_PARTIAL: the field holds the folded, uncomplemented pseudo-header sum */
	put16(b + it->l3_len + csum_offset,
	      (uint16_t)~tapir_csum_fold(tapir_csum_pseudo(b, family, proto, l4_total)));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if (proto == PROTO_UDP)
		vh->gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	else
		vh->gso_type = family == 4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6;
	vh->hdr_len = (uint16_t)(it->l3_len + it->l4_len);
	vh->gso_size = it->gso_size;
	vh->csum_start = it->l3_len;
	vh->csum_offset = csum_offset;
}

size_t tapir_gro_flush(struct tapir_gro *g, tapir_gro_emit_fn fn, void *ctx)
{
	size_t n = g->nitems;

	for (size_t i = 0; i < n; i++) {
		struct virtio_net_hdr vh = {0};

		if (g->items[i].nsegs > 1)
			finish_super(g->bufs[i], &g->items[i], &vh);
		fn(ctx, &vh, g->bufs[i], g->items[i].len);
	}
	g->nitems = 0;
	return n;
}
