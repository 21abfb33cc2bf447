// SPDX-License-Identifier: MIT
/*
 * A data-plane worker: owns one TUN queue and one UDP socket and moves packets in batches.
 * It holds the device lock as a reader for exactly one batch, which is what lets the control
 * thread free peers and keypairs safely once it holds the lock as a writer. Several workers
 * run the same loop on their own queue and socket; nothing here is shared but the tables.
 */
#include "device.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "udp.h"

static bool is_fatal_tun_error(int err)
{
	return err == EBADFD || err == EIO || err == ENXIO || err == ENODEV;
}

/*
 * TAP: the length of the Ethernet header of @frame (with one 802.1Q/802.1ad tag at most) when
 * an IPv4 or IPv6 packet follows it, else 0: the part that every segment repeats.
 */
static size_t ip_offset(const uint8_t *frame, size_t len)
{
	size_t off = 12;
	unsigned int type;

	if (len < 14)
		return 0;
	type = (unsigned int)frame[12] << 8 | frame[13];
	if ((type == 0x8100 || type == 0x88a8) && len >= 18) {
		off = 16;
		type = (unsigned int)frame[16] << 8 | frame[17];
	}
	return (type == 0x0800 || type == 0x86dd) ? off + 2 : 0;
}

/* The payload start of segment buffer @i with @l2 bytes for a frame header, computed without
 * touching the buffer (one cache miss each, per read, when done for all of them) */
static uint8_t *seg_out(const struct tapir_worker *w, unsigned int i, size_t l2)
{
	return (uint8_t *)w->segs[i] + offsetof(struct tapir_pkt, buf) + TAPIR_PKT_HEADROOM + l2;
}

/*
 * Turns one TUN read with a virtio_net_hdr into entries of w->list: a single packet is used in
 * place, its checksum completed there if the kernel left it to us; a TSO/USO super-packet is
 * split into segment buffers. In TAP mode the read is an Ethernet frame: the IP packet after
 * its header is split, and each segment gets a copy of that header. Returns the new list
 * length.
 */
static unsigned int take_vnet_read(struct tapir_device *dev, struct tapir_worker *w,
				   struct tapir_pkt *pkt, unsigned int nlist, unsigned int *nseg)
{
	struct virtio_net_hdr vh;
	uint8_t **outs = w->seg_outs;
	size_t *lens = w->seg_lens;
	size_t mtu = (size_t)atomic_load_explicit(&dev->mtu_cached, memory_order_relaxed);
	unsigned int room = TAPIR_SEG_POOL - *nseg;
	size_t l2 = 0;
	int n;

	if (pkt->len < sizeof(vh)) {
		tapir_device_count_drop(dev, TAPIR_DROP_MALFORMED);
		return nlist;
	}
	memcpy(&vh, tapir_pkt_data(pkt), sizeof(vh));
	pkt->off += sizeof(vh);
	pkt->len -= (uint32_t)sizeof(vh);
	if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
		/* the offsets count from the read's start, so a TAP frame needs no shift */
		if (tapir_offload_complete(&vh, tapir_pkt_data(pkt), pkt->len) < 0) {
			tapir_device_count_drop(dev, TAPIR_DROP_MALFORMED);
			return nlist;
		}
		w->list[nlist++] = pkt;
		return nlist;
	}
	if (dev->is_tap) {
		/* the offsets in @vh count from the frame's start: make them the IP packet's */
		l2 = ip_offset(tapir_pkt_data(pkt), pkt->len);
		if (!l2 || vh.csum_start < l2 || mtu <= TAPIR_L2_FRAME_OVERHEAD) {
			tapir_device_count_drop(dev, TAPIR_DROP_MALFORMED);
			return nlist;
		}
		vh.csum_start -= (uint16_t)l2;
		vh.hdr_len = vh.hdr_len > l2 ? (uint16_t)(vh.hdr_len - l2) : 0;
		mtu -= TAPIR_L2_FRAME_OVERHEAD; /* mtu_cached counts the frame's headers too */
	}
	if (room > TAPIR_OFFLOAD_MAX_SEGMENTS)
		room = TAPIR_OFFLOAD_MAX_SEGMENTS;
	for (unsigned int i = 0; i < room; i++)
		outs[i] = seg_out(w, *nseg + i, l2);
	/* TCP may be cut finer than the MTU if a segment buffer is smaller (MTU > 4 KiB) */
	if (mtu > TAPIR_SEG_DATA_MAX - l2)
		mtu = TAPIR_SEG_DATA_MAX - l2;
	n = tapir_offload_split(&vh, tapir_pkt_data(pkt) + l2, pkt->len - l2, mtu, outs, lens, room,
				TAPIR_SEG_DATA_MAX - l2);
	if (n < 0) {
		tapir_device_count_drop(dev,
					n == -EMSGSIZE ? TAPIR_DROP_TOO_BIG : TAPIR_DROP_MALFORMED);
		return nlist;
	}
	for (int i = 0; i < n; i++) {
		struct tapir_pkt *seg = w->segs[(*nseg)++];

		seg->off = TAPIR_PKT_HEADROOM;
		memcpy(tapir_pkt_data(seg), tapir_pkt_data(pkt), l2);
		seg->len = (uint32_t)(lens[i] + l2);
		w->list[nlist++] = seg;
	}
	return nlist;
}

/*
 * Reads up to a batch from the TUN queue into w->list (split when offloads are on). Returns
 * the list length, or -errno on a fatal error.
 */
static int read_tun(struct tapir_device *dev, struct tapir_worker *w)
{
	unsigned int nlist = 0, nseg = 0;

	for (unsigned int i = 0; i < TAPIR_BATCH; i++) {
		struct tapir_pkt *pkt = w->pkts[i];
		ssize_t len;

		/* stop while a whole super-packet's segments still fit */
		if (nseg + TAPIR_OFFLOAD_MAX_SEGMENTS > TAPIR_SEG_POOL ||
		    nlist + TAPIR_OFFLOAD_MAX_SEGMENTS > TAPIR_SEND_MAX)
			break;
		pkt->off = TAPIR_PKT_HEADROOM;
		len = read(w->tun_fd, tapir_pkt_data(pkt), TAPIR_PKT_DATA_MAX);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (is_fatal_tun_error(errno))
				return -errno;
			break;
		}
		if (len == 0)
			continue;
		pkt->len = (uint32_t)len;
		if (dev->has_vnet_hdr)
			nlist = take_vnet_read(dev, w, pkt, nlist, &nseg);
		else
			w->list[nlist++] = pkt;
	}
	return (int)nlist;
}

static void handle_tun(struct tapir_worker *w)
{
	struct tapir_device *dev = w->dev;
	int n;

	pthread_rwlock_rdlock(&dev->lock);
	n = read_tun(dev, w);
	if (n > 0 && dev->is_up && dev->is_tap)
		tapir_l2_send_batch(dev, w, w->list, (unsigned int)n);
	else if (n > 0 && dev->is_up)
		tapir_send_batch(dev, w, w->list, (unsigned int)n);
	pthread_rwlock_unlock(&dev->lock);
	/* every worker sees it; the first one says so */
	if (n < 0 && !atomic_exchange(&dev->is_stopping, true)) {
		log_info("%s: tun device is gone, stopping", dev->ifname);
		tapir_device_request_stop(dev, n);
	} else if (n < 0) {
		tapir_device_request_stop(dev, n);
	}
}

static void handle_udp(struct tapir_worker *w)
{
	struct tapir_device *dev = w->dev;
	struct mmsghdr *msgs = w->msgs;
	struct iovec *iovs = w->iovs;
	union tapir_sockaddr *srcs = w->addrs;
	unsigned int ndgrams = 0;
	int n;

	pthread_rwlock_rdlock(&dev->lock);
	if (w->udp_fd < 0) {
		pthread_rwlock_unlock(&dev->lock);
		return;
	}
	memset(msgs, 0, sizeof(struct mmsghdr) * TAPIR_BATCH);
	/* the buffers' headers are left alone (their data starts at the headroom): most
	 * batches fill a few of the 64, and touching every one cost cache misses */
	for (unsigned int i = 0; i < TAPIR_BATCH; i++) {
		iovs[i].iov_base = w->pkts[i]->buf + TAPIR_PKT_HEADROOM;
		iovs[i].iov_len = TAPIR_PKT_DATA_MAX;
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &srcs[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(w->addrs[i]);
		msgs[i].msg_hdr.msg_control = w->cmsgs[i];
		msgs[i].msg_hdr.msg_controllen = sizeof(w->cmsgs[i]);
	}
	n = recvmmsg(w->udp_fd, msgs, TAPIR_BATCH, MSG_DONTWAIT, NULL);
	/* UDP_GRO hands over runs of datagrams from one source: cut them apart again; each
	 * carries the source and the local address it arrived on */
	for (int i = 0; i < n; i++) {
		uint8_t *p = w->pkts[i]->buf + TAPIR_PKT_HEADROOM;
		size_t len = msgs[i].msg_len, step;
		struct tapir_endpoint from;

		step = tapir_udp_read_cmsgs(&msgs[i].msg_hdr, &from.local);
		tapir_udp_sockaddr_normalise(&srcs[i]);
		from.addr = srcs[i];
		if (!len) {
			tapir_device_count_drop(dev, TAPIR_DROP_MALFORMED); /* empty datagram */
			continue;
		}
		if (!step || step > len)
			step = len;
		for (size_t off = 0; off < len; off += step) {
			if (ndgrams == TAPIR_SEND_MAX) {
				/* 64 buffers of up to 64 segments each: hand over in chunks */
				tapir_receive_batch(dev, w, w->rx_msgs, w->rx_lens, w->rx_from,
						    ndgrams);
				ndgrams = 0;
			}
			w->rx_msgs[ndgrams] = p + off;
			w->rx_lens[ndgrams] = len - off < step ? len - off : step;
			w->rx_from[ndgrams] = from;
			ndgrams++;
		}
	}
	if (ndgrams)
		tapir_receive_batch(dev, w, w->rx_msgs, w->rx_lens, w->rx_from, ndgrams);
	pthread_rwlock_unlock(&dev->lock);
}

int tapir_worker_init_buffers(struct tapir_worker *w)
{
	for (unsigned int j = 0; j < TAPIR_BATCH; j++) {
		w->pkts[j] = malloc(sizeof(struct tapir_pkt));
		if (!w->pkts[j])
			return -ENOMEM;
	}
	w->scratch = malloc(sizeof(struct tapir_pkt));
	if (!w->scratch)
		return -ENOMEM;
	/* segment buffers are small: a tapir_pkt header with TAPIR_SEG_DATA_MAX of room */
	for (unsigned int j = 0; j < TAPIR_SEG_POOL; j++) {
		w->segs[j] = malloc(offsetof(struct tapir_pkt, buf) + TAPIR_PKT_HEADROOM +
				    TAPIR_SEG_DATA_MAX + TAPIR_PKT_TAILROOM);
		if (!w->segs[j])
			return -ENOMEM;
	}
	for (unsigned int j = 0; j < TAPIR_GRO_MAX_ITEMS; j++) {
		w->gro_bufs[j] = malloc(TAPIR_OFFLOAD_MAX_PACKET_BYTES);
		if (!w->gro_bufs[j])
			return -ENOMEM;
	}
	tapir_gro_init(&w->gro, w->gro_bufs, TAPIR_GRO_MAX_ITEMS, TAPIR_OFFLOAD_MAX_PACKET_BYTES,
		       0);
	return 0;
}

void tapir_worker_free_buffers(struct tapir_worker *w)
{
	for (unsigned int j = 0; j < TAPIR_BATCH; j++)
		free(w->pkts[j]);
	free(w->scratch);
	for (unsigned int j = 0; j < TAPIR_SEG_POOL; j++)
		free(w->segs[j]);
	for (unsigned int j = 0; j < TAPIR_GRO_MAX_ITEMS; j++)
		free(w->gro_bufs[j]);
}

void *tapir_worker_main(void *arg)
{
	struct tapir_worker *w = arg;
	struct tapir_device *dev = w->dev;

	while (!atomic_load_explicit(&dev->is_stopping, memory_order_acquire)) {
		struct epoll_event evs[4];
		int n = epoll_wait(w->epoll_fd, evs, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err_errno("%s: worker %u: epoll_wait", dev->ifname, w->slot);
			tapir_device_request_stop(dev, -EIO);
			break;
		}
		for (int i = 0; i < n; i++) {
			switch ((enum tapir_worker_event)evs[i].data.u32) {
			case TAPIR_WORKER_EV_TUN:
				handle_tun(w);
				break;
			case TAPIR_WORKER_EV_UDP:
				handle_udp(w);
				break;
			case TAPIR_WORKER_EV_STOP:
				break;
			}
		}
	}
	return NULL;
}
