/* SPDX-License-Identifier: MIT */
/*
 * The IPv4/IPv6/TCP/UDP header layout shared by offload.c (segmentation, checksums) and gro.c
 * (coalescing): sizes, field offsets, flag bits and big-endian accessors. Private to those
 * two files.
 */
#ifndef TAPIR_OFFLOAD_WIRE_H
#define TAPIR_OFFLOAD_WIRE_H

#include <stddef.h>
#include <stdint.h>

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

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* The checksum field value of the TCP/UDP packet @ip whose L4 header starts at @l3_len. */
uint16_t tapir_offload_l4_csum(const uint8_t *ip, size_t len, int family, uint8_t proto,
			       size_t l3_len);
/* Writes the IPv4 header checksum of the @ihl-byte header at @ip. */
void tapir_offload_set_ipv4_csum(uint8_t *ip, size_t ihl);

#endif
