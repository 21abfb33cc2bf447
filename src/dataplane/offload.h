/* SPDX-License-Identifier: MIT */
/*
 * Segmentation and coalescing for a TUN opened with IFF_VNET_HDR + TUNSETOFFLOAD. Pure
 * functions over caller buffers: no I/O, no allocation, no locks, so workers call them from
 * their batch loops and the tests and fuzzers drive them with plain arrays.
 *
 * Send side: a TUN read gives one IP packet (IPv4 or IPv6, no link-layer header) of up to
 * 64 KiB with a struct virtio_net_hdr. tapir_offload_split() turns it into MTU-sized IP packets
 * with complete headers and checksums, the way the kernel's tcp/udp GSO would.
 *
 * Receive side: decrypted IP packets go to tapir_gro_add(); in-order TCP segments (and, on
 * request, same-size UDP datagrams) of one flow are appended to a pending super-packet, and
 * tapir_gro_flush() hands each pending item to a callback with the virtio_net_hdr to write in
 * front of it. The rules follow the kernel's tcp_gro_receive so that the kernel re-segments
 * the super-packet into exactly the segments the peer sent.
 *
 * virtio_net_hdr fields are in host byte order: a TUN uses the legacy (native) layout unless
 * TUNSETVNETLE/BE is set, which tapir does not do. IP and TCP/UDP fields are big-endian.
 */
#ifndef TAPIR_OFFLOAD_H
#define TAPIR_OFFLOAD_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Debian bookworm's linux-libc-dev predates USO (Linux 6.2). */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "virtio_net_hdr is 10 bytes on the wire");

enum tapir_offload_limits {
	/* Arrays passed to tapir_offload_split() should hold this many segments: a 64 KiB
	 * super-packet cut at an MSS of 512 or more. Smaller MSS values get -EMSGSIZE; set the
	 * TUN's gso_max_segs to this value to keep the kernel from building such packets. */
	TAPIR_OFFLOAD_MAX_SEGMENTS = 128,
	TAPIR_OFFLOAD_MAX_PACKET_BYTES = 65535, /* IPv4 total length, IPv6 payload + 40 */
	TAPIR_GRO_MAX_ITEMS = 64,		/* pending super-packets per tapir_gro */
	/* Segments per super-packet: older kernels reject UDP GSO writes above 64 segments
	 * (UDP_MAX_SEGMENTS), and TCP gains nothing beyond it at 64 KiB. */
	TAPIR_GRO_MAX_SEGMENTS = 64,
};

/* offload.c: checksums */

/* Adds the big-endian 16-bit words of @buf to @sum (an odd last byte is padded with zero).
 * Chain calls only over pieces of even length, except the last one. */
uint64_t tapir_csum_add(uint64_t sum, const uint8_t *buf, size_t len);

/* Folds @sum to 16 bits and returns its ones' complement: the value of a checksum field, in
 * host order (like the kernel's csum_fold). */
uint16_t tapir_csum_fold(uint64_t sum);

/* Sum of the TCP/UDP pseudo-header of the IPv4 (@family 4) or IPv6 (@family 6) packet @ip,
 * whose addresses must be readable, for @proto and an L4 length of @l4_len bytes. */
uint64_t tapir_csum_pseudo(const uint8_t *ip, int family, uint8_t proto, size_t l4_len);

/* offload.c: segmentation (send side) */

size_t tapir_offload_max_segments(void);

/*
 * Splits the TUN read @pkt (@len bytes, described by @vh) into IP packets of at most @mtu
 * bytes, written to out[0..n) (each out_cap bytes) with lengths in out_lens. Returns n, or
 * -EINVAL for a malformed or unsupported packet, or -EMSGSIZE when more than @max_out segments
 * would be needed or a segment does not fit in @out_cap (or a UDP segment in @mtu). Nothing is
 * kept after the call; @pkt and the outputs must not overlap.
 *
 * GSO_NONE: copied as is; with NEEDS_CSUM the checksum at csum_start + csum_offset is
 * completed. @mtu is not applied (the kernel built the packet for the TUN's MTU).
 * TCPV4/TCPV6: every segment gets the IP and TCP headers (options included) with lengths,
 * IPv4 ID (+1 per segment), sequence number and checksums recomputed; FIN and PSH stay on the
 * last segment only, CWR on the first only. Segments carry gso_size bytes, or fewer when
 * @mtu leaves less room (TCP is a byte stream, so cutting finer is harmless).
 * UDP_L4: every segment is a datagram of gso_size bytes (the last may be shorter) with its
 * own length and checksum; datagram boundaries are the application's, so they never move.
 */
int tapir_offload_split(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len, size_t mtu,
			uint8_t *const *out, size_t *out_lens, size_t max_out, size_t out_cap);

/*
 * GSO_NONE in place: completes the checksum of the TUN read @pkt (@len bytes, described by
 * @vh) when NEEDS_CSUM asks for it, exactly as tapir_offload_split would in its copy, and
 * leaves every other byte alone. Returns 0, or -EINVAL when @vh is not GSO_NONE or does not
 * describe @pkt (the checksum field outside it, ECN, an empty packet).
 */
int tapir_offload_complete(const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len);

/* gro.c: coalescing (receive side) */

enum tapir_gro_flags {
	TAPIR_GRO_UDP = 1u << 0, /* also coalesce UDP (needs a kernel that accepts UDP_L4) */
};

/* One pending packet or super-packet. Internal to gro.c; here only for the size. */
struct tapir_gro_item {
	uint32_t len;
	uint32_t next_seq;  /* TCP: sequence number the next segment must carry */
	uint32_t flow_hash; /* cheap pre-filter for the flow comparison */
	uint16_t gso_size;  /* payload bytes of every segment but the last */
	uint16_t nsegs;
	uint16_t next_id; /* IPv4: ID the next segment must carry */
	uint8_t kind;	  /* enum gro_kind in gro.c */
	uint8_t l3_len;
	uint8_t l4_len;
	bool is_open; /* may take more segments */
};

/* Pending super-packets of one batch. Owned by one worker; the buffers are borrowed from
 * the caller for the lifetime of the struct. */
struct tapir_gro {
	uint8_t *const *bufs;
	size_t nitems_max;
	size_t buf_cap;
	size_t nitems;
	unsigned int flags;
	struct tapir_gro_item items[TAPIR_GRO_MAX_ITEMS];
};

typedef void (*tapir_gro_emit_fn)(void *ctx, const struct virtio_net_hdr *vh, const uint8_t *pkt,
				  size_t len);

/* Uses bufs[0..nbufs) (each @buf_cap bytes, at most TAPIR_GRO_MAX_ITEMS used) to hold pending
 * items. @flags is a set of enum tapir_gro_flags. */
void tapir_gro_init(struct tapir_gro *g, uint8_t *const *bufs, size_t nbufs, size_t buf_cap,
		    unsigned int flags);

/*
 * Adds the IP packet @pkt (copied; not kept). Returns 0 if it was appended to a pending
 * super-packet, 1 if it became a new item, -ENOSPC if a new item was needed and all are in
 * use (nothing changed: flush and add again), -EMSGSIZE if @len exceeds the buffer size (flush
 * before writing it alone, to keep its flow in order), or -EINVAL for an empty packet. Packets that
 * cannot be coalesced (other protocols, SYN/FIN/RST, bad checksums, IP options, fragments, anything
 * malformed) become single items, and a flow they belong to takes no further segments, so no flow
 * is reordered.
 */
int tapir_gro_add(struct tapir_gro *g, const uint8_t *pkt, size_t len);

/* Calls @fn for every pending item in the order the items were started, then empties @g.
 * Single packets come unchanged with a zeroed header; super-packets with GSO_TCPV4/TCPV6/
 * UDP_L4, NEEDS_CSUM and the pseudo-header sum in the checksum field (CHECKSUM_PARTIAL).
 * Returns the number of items emitted. */
size_t tapir_gro_flush(struct tapir_gro *g, tapir_gro_emit_fn fn, void *ctx);

/* Offloads, each probed at start-up and switchable off (tapird --offload). */
enum tapir_offload {
	TAPIR_OFFLOAD_TUN = 1 << 0, /* IFF_VNET_HDR + TUNSETOFFLOAD: TSO/checksum super-packets */
	TAPIR_OFFLOAD_GSO = 1 << 1, /* UDP_SEGMENT: one sendmsg per run of equal datagrams */
	TAPIR_OFFLOAD_GRO = 1 << 2, /* UDP_GRO on receive, TCP/UDP coalescing into the TUN */
	TAPIR_OFFLOAD_ALL = TAPIR_OFFLOAD_TUN | TAPIR_OFFLOAD_GSO | TAPIR_OFFLOAD_GRO,
};

/* Offload lists ("all", "none", or a comma-separated subset of tun,gso,gro; blanks
 * around the names are allowed), as tapird --offload, TAPIR_OFFLOAD and the config key
 * Offload take them. Returns 0 with the bits in @bits, or -EINVAL. */
int tapir_offload_parse(const char *s, size_t len, unsigned int *bits);
/* Writes the canonical list for @bits ("none" or names joined by commas) into @buf (at least
 * TAPIR_OFFLOAD_LIST_MAX bytes). */
void tapir_offload_format(unsigned int bits, char *buf, size_t len);
enum {
	TAPIR_OFFLOAD_LIST_MAX = sizeof("tun,gso,gro"),
};

#endif
