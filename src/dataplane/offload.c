// SPDX-License-Identifier: MIT
/*
 * TUN offload helpers: software TSO/USO for super-packets read from the TUN (RFC 791, 8200,
 * 9293 and 768 header rules, the kernel's tcp_gso_segment/__udp_gso_segment flag and ID
 * handling) and the checksums; software GRO for decrypted packets written back is gro.c.
 *
 * Everything here works on caller buffers and checks every offset against the length it was
 * given before reading; it must not do I/O, allocate, log or keep pointers into its input.
 * Checksums are computed over the output, never trusted from the input.
 * At the end: the offload lists (tapird --offload, the Offload key) parsed and formatted.
 */
#include "offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "offload_wire.h"
#include "util.h"

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
uint16_t tapir_offload_l4_csum(const uint8_t *ip, size_t len, int family, uint8_t proto,
			       size_t l3_len)
{
	uint64_t sum = tapir_csum_pseudo(ip, family, proto, len - l3_len);

	return tapir_csum_fold(tapir_csum_add(sum, ip + l3_len, len - l3_len));
}

void tapir_offload_set_ipv4_csum(uint8_t *ip, size_t ihl)
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
