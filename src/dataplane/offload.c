// SPDX-License-Identifier: MIT
/*
 * TUN offload helpers: software TSO/USO for super-packets read from the TUN (RFC 791, 8200,
 * 9293 and 768 header rules, the kernel's tcp_gso_segment/__udp_gso_segment flag and ID
 * handling) and software GRO for decrypted packets written back (the kernel's
 * inet_gro_receive/ipv6_gro_receive/tcp_gro_receive merge rules, so the kernel's own
 * re-segmentation reproduces the peer's packets exactly).
 *
 * Everything here works on caller buffers and checks every offset against the length it was
 * given before reading; it must not do I/O, allocate, log or keep pointers into its input.
 * Checksums are computed over the output, never trusted from the input, except that GRO
 * verifies each incoming checksum before it lets a segment disappear into a super-packet.
 * At the end: the offload lists (tapird --offload, the Offload key) parsed and formatted.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

enum ip_protocols {
	PROTO_HOPOPTS = 0,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_DSTOPTS = 60,
};

enum header_sizes {
	IPV4_HDR_MIN = 20,
	IPV6_HDR = 40,
	IPV6_EXT_MIN = 8,
	IPV6_EXT_MAX_CHAIN = 8, /* option headers walked before giving up */
	TCP_HDR_MIN = 20,
	UDP_HDR = 8,
	PORTS_LEN = 4,
};

enum field_offsets {
	IPV4_TOS = 1,
	IPV4_TOT_LEN = 2,
	IPV4_ID = 4,
	IPV4_FRAG = 6,
	IPV4_TTL = 8,
	IPV4_PROTO = 9,
	IPV4_CSUM = 10,
	IPV4_ADDRS = 12,
	IPV4_ADDRS_LEN = 8,
	IPV6_PAYLOAD_LEN = 4,
	IPV6_NEXT = 6,
	IPV6_HOP_LIMIT = 7,
	IPV6_ADDRS = 8,
	IPV6_ADDRS_LEN = 32,
	TCP_SEQ = 4,
	TCP_ACK = 8,
	TCP_DOFF = 12,
	TCP_FLAGS = 13,
	TCP_WINDOW = 14,
	TCP_CSUM = 16,
	UDP_LEN = 4,
	UDP_CSUM = 6,
};

enum ipv4_frag_bits {
	IPV4_MF = 0x2000,
	IPV4_OFFSET_MASK = 0x1fff,
};

enum tcp_flag_bits {
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_PSH = 0x08,
	TCP_URG = 0x20,
	TCP_ECE = 0x40,
	TCP_CWR = 0x80,
	/* a segment carrying any of these is never merged (tcp_gro_receive flushes on them) */
	TCP_NO_MERGE = TCP_FIN | TCP_SYN | TCP_RST | TCP_URG | TCP_ECE | TCP_CWR,
};

enum gro_kind {
	KIND_NONE, /* not TCP/UDP over IP: never part of a flow */
	KIND_TCP4,
	KIND_TCP6,
	KIND_UDP4,
	KIND_UDP6,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- checksums (RFC 1071) ---- */

static uint16_t fold16(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

uint64_t tapir_csum_add(uint64_t sum, const uint8_t *buf, size_t len)
{
	uint64_t acc = 0;
	uint32_t a, b;
	uint16_t w;

	/* Native-order loads: the ones' complement sum commutes with byte swapping (RFC 1071
	 * 2.B), so one ntohs of the folded result gives the big-endian sum. 32-bit words fold
	 * the same as their two halves, and 64 KiB of them cannot overflow @acc. */
	while (len >= 8) {
		memcpy(&a, buf, 4);
		memcpy(&b, buf + 4, 4);
		acc += (uint64_t)a + b;
		buf += 8;
		len -= 8;
	}
	while (len >= 2) {
		memcpy(&w, buf, 2);
		acc += w;
		buf += 2;
		len -= 2;
	}
	if (len) {
		const uint8_t last[2] = {buf[0], 0};

		memcpy(&w, last, 2);
		acc += w;
	}
	return sum + ntohs(fold16(acc));
}

uint16_t tapir_csum_fold(uint64_t sum)
{
	return (uint16_t)~fold16(sum);
}

uint64_t tapir_csum_pseudo(const uint8_t *ip, int family, uint8_t proto, size_t l4_len)
{
	uint64_t sum = proto + (l4_len >> 16) + (l4_len & 0xffff);

	if (family == 4)
		return tapir_csum_add(sum, ip + IPV4_ADDRS, IPV4_ADDRS_LEN);
	return tapir_csum_add(sum, ip + IPV6_ADDRS, IPV6_ADDRS_LEN);
}

/* Checksum field value for the TCP/UDP packet @ip whose L4 header starts at @l3_len. */
static uint16_t l4_csum(const uint8_t *ip, size_t len, int family, uint8_t proto, size_t l3_len)
{
	uint64_t sum = tapir_csum_pseudo(ip, family, proto, len - l3_len);

	return tapir_csum_fold(tapir_csum_add(sum, ip + l3_len, len - l3_len));
}

static void set_ipv4_csum(uint8_t *ip, size_t ihl)
{
	put16(ip + IPV4_CSUM, 0);
	put16(ip + IPV4_CSUM, tapir_csum_fold(tapir_csum_add(0, ip, ihl)));
}

/* ---- segmentation ---- */

/* Where the headers of a super-packet end, as parsed (never as claimed by hdr_len). */
struct layout {
	int family;
	uint8_t proto;
	size_t l3_len;	 /* IP header with options or extension headers */
	size_t hdrs_len; /* l3_len plus the TCP/UDP header */
};

/* Caller's output array for one split. */
struct split_out {
	uint8_t *const *bufs;
	size_t *lens;
	size_t max;
	size_t cap;
	size_t mtu;
};

/* A super-packet's length fields must describe exactly the bytes read; fragments cannot be
 * segmented. */
static int parse_ipv4(const uint8_t *pkt, size_t len, struct layout *lay)
{
	size_t ihl;

	if (len < IPV4_HDR_MIN || pkt[0] >> 4 != 4)
		return -EINVAL;
	ihl = (size_t)(pkt[0] & 0x0f) * 4;
	if (ihl < IPV4_HDR_MIN || ihl > len || get16(pkt + IPV4_TOT_LEN) != len)
		return -EINVAL;
	if (get16(pkt + IPV4_FRAG) & (IPV4_MF | IPV4_OFFSET_MASK))
		return -EINVAL;
	lay->family = 4;
	lay->proto = pkt[IPV4_PROTO];
	lay->l3_len = ihl;
	return 0;
}

/* Hop-by-hop and destination options may precede TCP/UDP and are copied like IPv4 options.
 * A routing header changes the pseudo-header's destination and a fragment header makes
 * segmentation meaningless: both end the walk and fail the protocol check. */
static int parse_ipv6(const uint8_t *pkt, size_t len, struct layout *lay)
{
	size_t off = IPV6_HDR;
	uint8_t next;

	if (len < IPV6_HDR || pkt[0] >> 4 != 6 ||
	    (size_t)get16(pkt + IPV6_PAYLOAD_LEN) + IPV6_HDR != len)
		return -EINVAL;
	next = pkt[IPV6_NEXT];
	for (int i = 0; i < IPV6_EXT_MAX_CHAIN; i++) {
		if (next != PROTO_HOPOPTS && next != PROTO_DSTOPTS)
			break;
		if (len - off < IPV6_EXT_MIN || len - off < ((size_t)pkt[off + 1] + 1) * 8)
			return -EINVAL;
		next = pkt[off];
		off += ((size_t)pkt[off + 1] + 1) * 8;
	}
	lay->family = 6;
	lay->proto = next;
	lay->l3_len = off;
	return 0;
}

static int parse_l4(const uint8_t *pkt, size_t len, uint8_t proto, struct layout *lay)
{
	size_t room = len - lay->l3_len, doff;

	if (lay->proto != proto)
		return -EINVAL;
	if (proto == PROTO_UDP) {
		if (room < UDP_HDR)
			return -EINVAL;
		lay->hdrs_len = lay->l3_len + UDP_HDR;
		return 0;
	}
	if (room < TCP_HDR_MIN)
		return -EINVAL;
	doff = (size_t)(pkt[lay->l3_len + TCP_DOFF] >> 4) * 4;
	if (doff < TCP_HDR_MIN || doff > room)
		return -EINVAL;
	lay->hdrs_len = lay->l3_len + doff;
	return 0;
}

/* Parses and cross-checks a GSO super-packet; @family 0 accepts either IP version. */
static int parse_gso(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len, int family,
		     uint8_t proto, struct layout *lay)
{
	int version = len ? pkt[0] >> 4 : 0;
	int err;

	if (family && version != family)
		return -EINVAL;
	err = version == 4 ? parse_ipv4(pkt, len, lay) : parse_ipv6(pkt, len, lay);
	if (err < 0)
		return err;
	err = parse_l4(pkt, len, proto, lay);
	if (err < 0)
		return err;
	/* The kernel always asks for the L4 checksum of a GSO packet; if it says where, it
	 * must be where we found the header. */
	if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM &&
	    (vh->csum_start != lay->l3_len ||
	     vh->csum_offset != (proto == PROTO_TCP ? TCP_CSUM : UDP_CSUM)))
		return -EINVAL;
	if (vh->gso_size == 0 || len == lay->hdrs_len)
		return -EINVAL;
	return 0;
}

/*
 * The checksum sums every segment shares, taken once from the super-packet: its IPv4 header
 * and its TCP/UDP header with the fields that differ per segment read as zero, and the
 * pseudo-header without its length. A segment's checksums add its own fields and the sum of
 * its payload (read from the super-packet) to these, rather than summing the headers it has
 * just written: fewer bytes, and no load stalled on the byte stores that wrote them. Sums are
 * plain additions, so the checksums come out the same as summing each segment whole.
 */
struct shared_sums {
	uint64_t l3;	 /* IPv4 header without total length, ID and checksum */
	uint64_t l4;	 /* TCP header without sequence number, flags and checksum; UDP ports */
	uint64_t pseudo; /* pseudo-header without the length */
};

enum { L4_HDR_MAX = 60 };

static void shared_sums(const uint8_t *pkt, const struct layout *lay, struct shared_sums *ss)
{
	uint8_t h[L4_HDR_MAX];
	size_t l4_hdr = lay->hdrs_len - lay->l3_len;

	ss->l3 = 0;
	if (lay->family == 4) {
		memcpy(h, pkt, lay->l3_len); /* IHL: at most 60 bytes */
		memset(h + IPV4_TOT_LEN, 0, 2);
		memset(h + IPV4_ID, 0, 2);
		memset(h + IPV4_CSUM, 0, 2);
		ss->l3 = tapir_csum_add(0, h, lay->l3_len);
	}
	memcpy(h, pkt + lay->l3_len, l4_hdr); /* TCP data offset: at most 60 bytes; UDP 8 */
	if (lay->proto == PROTO_TCP) {
		memset(h + TCP_SEQ, 0, 4);
		h[TCP_FLAGS] = 0;
		memset(h + TCP_CSUM, 0, 2);
	} else {
		memset(h + UDP_LEN, 0, 4); /* length and checksum */
	}
	ss->l4 = tapir_csum_add(0, h, l4_hdr);
	ss->pseudo = tapir_csum_pseudo(pkt, lay->family, lay->proto, 0);
}

/* IP header of segment @i of @seg_len bytes: lengths, ID, header checksum. */
static void fix_l3(uint8_t *s, const struct layout *lay, const struct shared_sums *ss,
		   size_t seg_len, size_t i)
{
	uint16_t id;

	if (lay->family == 6) {
		put16(s + IPV6_PAYLOAD_LEN, (uint16_t)(seg_len - IPV6_HDR));
		return;
	}
	id = (uint16_t)(get16(s + IPV4_ID) + i);
	put16(s + IPV4_TOT_LEN, (uint16_t)seg_len);
	put16(s + IPV4_ID, id);
	put16(s + IPV4_CSUM, tapir_csum_fold(ss->l3 + seg_len + id));
}

/* The pseudo-header of a segment with @l4_len bytes of TCP/UDP header and payload. */
static uint64_t seg_pseudo(const struct shared_sums *ss, size_t l4_len)
{
	return ss->pseudo + (l4_len >> 16) + (l4_len & 0xffff);
}

/* TCP header of the segment starting @off payload bytes into the super-packet, whose payload
 * sums to @payload_sum. */
static void fix_tcp(uint8_t *s, const struct layout *lay, const struct shared_sums *ss,
		    size_t seg_len, size_t off, uint64_t payload_sum, bool is_first, bool is_last)
{
	uint8_t *th = s + lay->l3_len;
	uint32_t seq = (uint32_t)(get32(th + TCP_SEQ) + off);
	uint64_t sum;

	put32(th + TCP_SEQ, seq);
	if (!is_last)
		th[TCP_FLAGS] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
	if (!is_first)
		th[TCP_FLAGS] &= (uint8_t)~TCP_CWR;
	/* the flags are the low byte of the 16-bit word at TCP_DOFF */
	sum = seg_pseudo(ss, seg_len - lay->l3_len) + ss->l4 + (seq >> 16) + (seq & 0xffff) +
	      th[TCP_FLAGS] + payload_sum;
	put16(th + TCP_CSUM, tapir_csum_fold(sum));
}

static void fix_udp(uint8_t *s, const struct layout *lay, const struct shared_sums *ss,
		    size_t seg_len, uint64_t payload_sum)
{
	uint8_t *uh = s + lay->l3_len;
	size_t l4_len = seg_len - lay->l3_len;
	uint16_t csum;

	put16(uh + UDP_LEN, (uint16_t)l4_len);
	csum = tapir_csum_fold(seg_pseudo(ss, l4_len) + ss->l4 + l4_len + payload_sum);
	put16(uh + UDP_CSUM, csum ? csum : 0xffff); /* 0 would mean "no checksum" */
}

static int split_gso(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len,
		     const struct split_out *o, int family, uint8_t proto)
{
	struct layout lay;
	struct shared_sums ss;
	size_t payload, mss, nsegs;
	int err = parse_gso(vh, pkt, len, family, proto, &lay);

	if (err < 0)
		return err;
	if (o->mtu <= lay.hdrs_len)
		return -EMSGSIZE;
	payload = len - lay.hdrs_len;
	mss = vh->gso_size;
	if (proto == PROTO_TCP)
		mss = min_size(mss, o->mtu - lay.hdrs_len);
	if (lay.hdrs_len + min_size(mss, payload) > min_size(o->mtu, o->cap))
		return -EMSGSIZE;
	nsegs = (payload + mss - 1) / mss;
	if (nsegs > o->max)
		return -EMSGSIZE;
	shared_sums(pkt, &lay, &ss);
	for (size_t i = 0; i < nsegs; i++) {
		size_t off = i * mss, n = min_size(mss, payload - off);
		const uint8_t *body = pkt + lay.hdrs_len + off;
		uint8_t *s = o->bufs[i];
		uint64_t body_sum = tapir_csum_add(0, body, n); /* the headers' length is even */

		memcpy(s, pkt, lay.hdrs_len);
		memcpy(s + lay.hdrs_len, body, n);
		o->lens[i] = lay.hdrs_len + n;
		fix_l3(s, &lay, &ss, o->lens[i], i);
		if (proto == PROTO_TCP)
			fix_tcp(s, &lay, &ss, o->lens[i], off, body_sum, i == 0, i == nsegs - 1);
		else
			fix_udp(s, &lay, &ss, o->lens[i], body_sum);
	}
	return (int)nsegs;
}

/* GSO_NONE: where NEEDS_CSUM puts the checksum must lie inside the packet. */
static bool is_single_valid(const struct virtio_net_hdr *vh, size_t len)
{
	size_t start = vh->csum_start, field = start + vh->csum_offset;

	if (len == 0 || (vh->gso_type & VIRTIO_NET_HDR_GSO_ECN))
		return false;
	return !(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || (start < len && field + 2 <= len);
}

/* Completes the checksum of a valid GSO_NONE packet the way skb_checksum_help does. */
static void complete_single(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len)
{
	size_t start = vh->csum_start;
	uint16_t csum;

	if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return;
	/* the field holds the pseudo-header sum, so it is summed along */
	csum = tapir_csum_fold(tapir_csum_add(0, pkt + start, len - start));
	put16(pkt + start + vh->csum_offset, csum ? csum : 0xffff);
}

/* GSO_NONE: one packet, copied, its checksum completed. */
static int copy_single(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len,
		       const struct split_out *o)
{
	if (!is_single_valid(vh, len))
		return -EINVAL;
	if (o->max < 1 || len > o->cap)
		return -EMSGSIZE;
	memcpy(o->bufs[0], pkt, len);
	o->lens[0] = len;
	complete_single(vh, o->bufs[0], len);
	return 1;
}

int tapir_offload_complete(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len)
{
	if ((vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) != VIRTIO_NET_HDR_GSO_NONE ||
	    vh->hdr_len > len || len > TAPIR_OFFLOAD_MAX_PACKET_BYTES || !is_single_valid(vh, len))
		return -EINVAL;
	complete_single(vh, pkt, len);
	return 0;
}

size_t tapir_offload_max_segments(void)
{
	return TAPIR_OFFLOAD_MAX_SEGMENTS;
}

int tapir_offload_split(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len, size_t mtu,
			uint8_t *const *out, size_t *out_lens, size_t max_out, size_t out_cap)
{
	const struct split_out o = {out, out_lens, max_out, out_cap, mtu};
	bool has_ecn = vh->gso_type & VIRTIO_NET_HDR_GSO_ECN;

	/* hdr_len is only a hint (the kernel reports its linear head, not the headers), but
	 * one beyond the packet means the header is not describing this packet. */
	if (vh->hdr_len > len || len > TAPIR_OFFLOAD_MAX_PACKET_BYTES)
		return -EINVAL;
	switch (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return copy_single(vh, pkt, len, &o);
	case VIRTIO_NET_HDR_GSO_TCPV4:
		return split_gso(vh, pkt, len, &o, 4, PROTO_TCP);
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return split_gso(vh, pkt, len, &o, 6, PROTO_TCP);
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return has_ecn ? -EINVAL : split_gso(vh, pkt, len, &o, 0, PROTO_UDP);
	default: /* UFO (GSO_UDP) is never enabled, so never expected */
		return -EINVAL;
	}
}

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
		ok = l4_csum(pkt, len, family, proto, s->l3_len) == 0;
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
		set_ipv4_csum(b, it->l3_len);
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

/* --- offload lists (tapird --offload, TAPIR_OFFLOAD, the config key Offload) --- */

static const struct {
	const char *name;
	unsigned int bits;
} offload_names[] = {
    {"all", TAPIR_OFFLOAD_ALL}, {"none", 0}, {"tun", TAPIR_OFFLOAD_TUN}, {"gso", TAPIR_OFFLOAD_GSO},
    {"gro", TAPIR_OFFLOAD_GRO},
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int tapir_offload_parse(const char *s, size_t len, unsigned int *bits)
{
	unsigned int out = 0;
	size_t i = 0;

	do {
		size_t start, end, k;

		while (i < len && is_blank(s[i]))
			i++;
		start = i;
		while (i < len && s[i] != ',' && !is_blank(s[i]))
			i++;
		end = i;
		while (i < len && is_blank(s[i]))
			i++;
		if (i < len && s[i] != ',')
			return -EINVAL; /* two words without a comma */
		for (k = 0; k < TAPIR_ARRAY_SIZE(offload_names); k++) {
			if (strlen(offload_names[k].name) == end - start &&
			    !memcmp(s + start, offload_names[k].name, end - start))
				break;
		}
		if (k == TAPIR_ARRAY_SIZE(offload_names))
			return -EINVAL; /* also an empty name: "", "tun,", ",gso" */
		out |= offload_names[k].bits;
	} while (i++ < len);
	*bits = out;
	return 0;
}

void tapir_offload_format(unsigned int bits, char *buf, size_t len)
{
	size_t used = 0;

	snprintf(buf, len, "none");
	for (size_t k = 2; k < TAPIR_ARRAY_SIZE(offload_names); k++) {
		if (!(bits & offload_names[k].bits))
			continue;
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
					 used ? "," : "", offload_names[k].name);
	}
}
