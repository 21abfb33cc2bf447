// SPDX-License-Identifier: MIT
/*
 * TAP (L2) mode: a learning switch whose ports are the local TAP device and the peers.
 * Frames travel as ETHERNET extension frames (noise/extension.h) inside ordinary transport
 * messages; peers announce the L2 capability with a CAPS frame after every handshake and get
 * frames only once they did. Unicast goes to the peer that owns the destination MAC;
 * broadcast, multicast and unknown unicast are flooded to every L2 peer (staged while a
 * handshake with it runs, as IP packets are in tun mode), and a hub (Forward = on) relays frames
 * between peers, never back to the one a frame came from. A peer that never announces L2 (stock
 * WireGuard, or tapird in tun mode) is named once per session in the log instead of losing frames
 * silently.
 *
 * Frames from the TAP take the TUN path (send.c): unicast ones are encrypted in place into the
 * worker's send batch, flood copies are buffers of the device pool held until the batch is
 * sent, so a bulk flow leaves in UDP GSO runs. With the virtio_net_hdr on (worker.c splits TSO
 * super-frames), frames written to the TAP are coalesced like IP packets in tun mode: measured
 * on a 2-CPU machine, without both the kernel's TCP overran the TAP's 500-frame queue, which
 * drops (tx_dropped) instead of pushing back, and every drop was an inner retransmit.
 */
#include "device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "extension.h"
#include "l2table.h"
#include "log.h"

static int on_extension(void *ctx, struct tapir_device *dev, struct tapir_peer *peer,
			const uint8_t *frame, size_t len, struct tapir_worker *w);

int tapir_l2_init(struct tapir_device *dev, bool is_tap)
{
	dev->is_tap = is_tap;
	dev->mac_age_ns = (uint64_t)TAPIR_L2_DEFAULT_MAC_AGE_S * NSEC_PER_SEC;
	if (is_tap) {
		dev->l2table = tapir_l2table_new(TAPIR_L2_MAX_MACS, TAPIR_L2_MAX_MACS_PER_PEER);
		if (!dev->l2table)
			return -ENOMEM;
	}
	dev->extension_handler = on_extension;
	dev->extension_ctx = dev;
	/* one LZ4 context per sending thread: the workers, the control thread, the TCP thread */
	dev->n_lz4 = dev->nworkers + 2;
	dev->lz4 = calloc(dev->n_lz4, sizeof(*dev->lz4));
	if (!dev->lz4)
		return -ENOMEM;
	for (unsigned int i = 0; i < dev->n_lz4; i++) {
		dev->lz4[i] = tapir_lz4_ctx_new();
		if (!dev->lz4[i])
			return -ENOMEM;
	}
	return 0;
}

void tapir_l2_destroy(struct tapir_device *dev)
{
	tapir_l2table_free(dev->l2table);
	dev->l2table = NULL;
	for (unsigned int i = 0; dev->lz4 && i < dev->n_lz4; i++)
		tapir_lz4_ctx_free(dev->lz4[i]);
	free(dev->lz4);
	dev->lz4 = NULL;
	dev->n_lz4 = 0;
}

const char *tapir_lz4_stat_name(enum tapir_lz4_stat s)
{
	static const char *const names[TAPIR_LZ4_STAT_MAX] = {
	    [TAPIR_LZ4_COMPRESSED] = "compressed",
	    [TAPIR_LZ4_INCOMPRESSIBLE] = "incompressible",
	    [TAPIR_LZ4_BYTES_SAVED] = "bytes_saved",
	    [TAPIR_LZ4_DECOMPRESSED] = "decompressed",
	};
	return s < TAPIR_LZ4_STAT_MAX ? names[s] : "unknown";
}

static bool is_l2_peer(struct tapir_peer *peer)
{
	return atomic_load_explicit(&peer->remote_caps, memory_order_relaxed) & TAPIR_EXT_CAP_L2;
}

static void log_mismatch(struct tapir_device *dev, struct tapir_peer *peer, const char *what)
{
	union tapir_sockaddr ep;
	char text[INET6_ADDRSTRLEN + 16] = "no endpoint";

	if (atomic_exchange_explicit(&peer->is_mismatch_logged, true, memory_order_relaxed))
		return;
	tapir_peer_get_endpoint(peer, &ep);
	if (ep.sa.sa_family)
		tapir_sockaddr_format(text, sizeof(text), &ep);
	log_info("%s: peer %llu (%s): %s", dev->ifname, (unsigned long long)peer->id, text, what);
}

/* Sends a copy of the extension frame @frame (@len bytes) to @peer. */
static void send_copy(struct tapir_device *dev, struct tapir_worker *w, struct tapir_peer *peer,
		      const uint8_t *frame, size_t len)
{
	struct tapir_send_ctx tx = tapir_send_ctx_worker(w);
	struct tapir_pkt *pkt = w->scratch;

	pkt->off = TAPIR_PKT_HEADROOM;
	pkt->len = (uint32_t)len;
	memcpy(tapir_pkt_data(pkt), frame, len);
	tapir_send_data(dev, &tx, peer, pkt);
}

enum {
	CAPS_GRACE_MS = 2000, /* before a peer without CAPS is reported as a mismatch */
};

enum frame_verdict {
	FRAME_SEND,  /* a session exists: send now */
	FRAME_STAGE, /* no session yet: stage the frame and start a handshake */
	FRAME_SKIP,  /* the peer does not take Ethernet frames */
};

/*
 * May @peer receive frames now? Without a session the frame waits in the peer's staged queue
 * (like an IP packet in tun mode) while the handshake runs, so the first ARP request or
 * neighbour solicitation is not lost. A tapir peer announces L2 right after the handshake;
 * until CAPS_GRACE_MS have passed frames are sent on trust, after that a peer that never
 * announced is named once in the log and gets no more frames.
 */
static enum frame_verdict can_take_frames(struct tapir_device *dev, struct tapir_peer *peer,
					  uint64_t now)
{
	struct tapir_keypair *kp = tapir_send_keypair(peer, now);

	if (!kp)
		return FRAME_STAGE;
	if (!is_l2_peer(peer)) {
		if (now - kp->birth_ns < tapir_ms_to_ns(CAPS_GRACE_MS))
			return FRAME_SEND;
		log_mismatch(
		    dev, peer,
		    "has not announced tapir L2 frames (a stock WireGuard peer or tapird in "
		    "tun mode): Ethernet frames are not sent to it");
		return FRAME_SKIP;
	}
	return FRAME_SEND;
}

/*
 * Sends a copy of @frame to every peer that takes frames but @from. From the local TAP
 * (@from NULL) the copies join the worker's send batch; forwarded ones go one at a time.
 */
static void flood(struct tapir_device *dev, struct tapir_worker *w, struct tapir_peer *from,
		  const uint8_t *frame, size_t len, uint64_t now)
{
	for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next) {
		if (p == from || can_take_frames(dev, p, now) == FRAME_SKIP)
			continue;
		if (from)
			send_copy(dev, w, p, frame, len);
		else
			tapir_send_batch_add_copy(dev, w, p, frame, len);
	}
}

/*
 * The switch decision for the last unicast destination of one batch from the local TAP: a
 * batch is mostly one flow, and its frames share the decision's time (the batch's clock), so
 * the next frame to that MAC skips the table lookup (SipHash, stripe lock) and the keypair
 * check. Valid for one batch only, under the device read lock that keeps every peer alive; a
 * MAC learned elsewhere meanwhile takes effect from the next batch, as if it came a batch later.
 */
struct switch_cache {
	uint8_t mac[6];
	struct tapir_peer *owner; /* NULL: nothing cached */
	bool is_skipped;	  /* can_take_frames() said FRAME_SKIP */
};

/*
 * Switches one extension frame (header + Ethernet frame) that came from @from (NULL = the
 * local TAP). With @pkt (from the local TAP) the frame is that buffer: a unicast joins the
 * worker's send batch and is encrypted in place there. @cache: the batch's (or NULL).
 */
static void switch_frame(struct tapir_device *dev, struct tapir_worker *w, struct tapir_peer *from,
			 struct tapir_pkt *pkt, const uint8_t *frame, size_t len, uint64_t now,
			 struct switch_cache *cache)
{
	const uint8_t *dst = frame + TAPIR_EXT_HEADER_LEN_BYTES;
	struct tapir_peer *owner = NULL;
	bool is_skipped;

	if (cache && cache->owner && !memcmp(cache->mac, dst, 6)) {
		owner = cache->owner;
		is_skipped = cache->is_skipped;
	} else {
		if (!tapir_mac_is_multicast(dst))
			owner = tapir_l2table_lookup(dev->l2table, dst, now, dev->mac_age_ns, NULL);
		if (!owner) {
			flood(dev, w, from, frame, len, now);
			return;
		}
		is_skipped = owner == from || can_take_frames(dev, owner, now) == FRAME_SKIP;
		if (cache) {
			memcpy(cache->mac, dst, 6);
			cache->owner = owner;
			cache->is_skipped = is_skipped;
		}
	}
	if (is_skipped)
		return; /* never back to where it came from */
	if (pkt)
		tapir_send_batch_add(dev, w, owner, pkt);
	else
		send_copy(dev, w, owner, frame, len);
}

void tapir_l2_send_batch(struct tapir_device *dev, struct tapir_worker *w, struct tapir_pkt **pkts,
			 unsigned int n)
{
	struct switch_cache cache = {.owner = NULL};
	uint64_t now;

	tapir_send_batch_begin(w);
	now = w->batch.now_ns;
	for (unsigned int i = 0; i < n; i++) {
		struct tapir_pkt *pkt = pkts[i];

		if (pkt->len < TAPIR_EXT_ETHERNET_MIN_BYTES ||
		    pkt->len > TAPIR_EXT_ETHERNET_MAX_BYTES) {
			tapir_device_count_drop(dev, TAPIR_DROP_MALFORMED);
			continue;
		}
		/* the 3-byte header goes into the headroom: no copy for unicast */
		pkt->off -= TAPIR_EXT_HEADER_LEN_BYTES;
		tapir_ext_put_header(tapir_pkt_data(pkt), TAPIR_EXT_ETHERNET, pkt->len);
		pkt->len += TAPIR_EXT_HEADER_LEN_BYTES;
		switch_frame(dev, w, NULL, pkt, tapir_pkt_data(pkt), pkt->len, now, &cache);
	}
	tapir_send_batch_flush(dev, w);
}

/*
 * Only a TAP that is gone (EBADFD) ends the data path; one that is down (EIO) or refuses a
 * frame costs that frame, as in tun mode.
 */
static void write_failed(struct tapir_device *dev, int err)
{
	if (err == EBADFD)
		tapir_device_request_stop(dev, -err);
	tapir_device_count_drop(dev, TAPIR_DROP_SEND_ERROR);
}

void tapir_l2_write_vnet(void *ctx, const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
	struct tapir_worker *w = ctx;
	struct virtio_net_hdr fh = *vh;
	struct iovec iov[3] = {
	    {.iov_base = &fh, .iov_len = sizeof(fh)},
	    {.iov_base = w->gro_ether, .iov_len = sizeof(w->gro_ether)},
	    {.iov_base = (void *)(uintptr_t)pkt, .iov_len = len},
	};

	/* the offsets count from the IP packet; the TAP counts from the frame's start */
	if (fh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		fh.csum_start += (uint16_t)sizeof(w->gro_ether);
	if (fh.hdr_len)
		fh.hdr_len += (uint16_t)sizeof(w->gro_ether);
	if (writev(w->tun_fd, iov, 3) >= 0)
		return;
	/* a kernel that refuses coalesced writes (EINVAL/EIO) gets single frames from now on */
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE && (errno == EINVAL || errno == EIO))
		tapir_device_disable_offload(w->dev, TAPIR_OFFLOAD_GRO, strerror(errno));
	write_failed(w->dev, errno);
}

/* A frame as is, behind a plain virtio_net_hdr when the TAP has them. */
static void write_plain(struct tapir_device *dev, struct tapir_worker *w, const uint8_t *frame,
			size_t len)
{
	static const struct virtio_net_hdr plain;
	struct iovec iov[2] = {
	    {.iov_base = (void *)(uintptr_t)&plain, .iov_len = sizeof(plain)},
	    {.iov_base = (void *)(uintptr_t)frame, .iov_len = len},
	};

	if (writev(w->tun_fd, dev->has_vnet_hdr ? iov : iov + 1, dev->has_vnet_hdr ? 2 : 1) < 0)
		write_failed(dev, errno);
}

/*
 * Writes a received frame to the TAP. With GRO, an untagged IPv4/IPv6 frame goes through the
 * worker's coalescer (receive.c flushes it at the end of the batch) as the IP packet it
 * carries; the coalescer holds frames of one Ethernet header only, so a frame with another
 * header, or one that cannot be coalesced, first flushes what is pending: frames stay in order.
 */
static void write_frame(struct tapir_device *dev, struct tapir_worker *w, const uint8_t *frame,
			size_t len)
{
	enum { ETHER_BYTES = sizeof(w->gro_ether) };
	unsigned int type = len > ETHER_BYTES ? (unsigned int)frame[12] << 8 | frame[13] : 0;
	int ret;

	if (!dev->has_vnet_hdr ||
	    !(atomic_load_explicit(&dev->offloads, memory_order_relaxed) & TAPIR_OFFLOAD_GRO) ||
	    (type != 0x0800 && type != 0x86dd)) {
		if (dev->has_vnet_hdr)
			tapir_gro_flush(&w->gro, tapir_l2_write_vnet, w);
		write_plain(dev, w, frame, len);
		return;
	}
	if (memcmp(w->gro_ether, frame, ETHER_BYTES) != 0) {
		tapir_gro_flush(&w->gro, tapir_l2_write_vnet, w);
		memcpy(w->gro_ether, frame, ETHER_BYTES);
	}
	ret = tapir_gro_add(&w->gro, frame + ETHER_BYTES, len - ETHER_BYTES);
	if (ret == -ENOSPC) {
		tapir_gro_flush(&w->gro, tapir_l2_write_vnet, w);
		ret = tapir_gro_add(&w->gro, frame + ETHER_BYTES, len - ETHER_BYTES);
	}
	if (ret < 0) {
		/* too big to coalesce: keep its flow in order, then write it alone */
		tapir_gro_flush(&w->gro, tapir_l2_write_vnet, w);
		write_plain(dev, w, frame, len);
	}
}

static bool is_pinned_ok(const struct tapir_peer *peer, const uint8_t *src)
{
	if (!peer->n_pinned_macs)
		return true;
	for (unsigned int i = 0; i < peer->n_pinned_macs; i++)
		if (!memcmp(peer->pinned_macs[i], src, 6))
			return true;
	return false;
}

static int receive_ethernet(struct tapir_device *dev, struct tapir_worker *w,
			    struct tapir_peer *peer, const uint8_t *frame, size_t frame_len,
			    const struct tapir_ext_frame *f)
{
	const uint8_t *src = f->body + 6;
	uint64_t now = 0;
	int ret;

	if (!dev->is_tap) {
		log_mismatch(dev, peer, "sends Ethernet frames, but this interface is in tun mode");
		tapir_device_count_drop(dev, TAPIR_DROP_L2_MISMATCH);
		return 0;
	}
	/*
	 * The same source from the same peer as the frame before in this batch (one flow, as a
	 * rule) passed these checks and was learned then: pins change only under the device
	 * write lock, and the entry's time is a batch older at most (tapir_receive_batch resets
	 * this for each batch).
	 */
	if (w->l2_learned_peer != peer || memcmp(w->l2_learned_mac, src, 6)) {
		if (tapir_mac_is_multicast(src) || tapir_mac_is_zero(src) ||
		    !is_pinned_ok(peer, src)) {
			tapir_device_count_drop(dev, TAPIR_DROP_MAC_REJECTED);
			return 0;
		}
		now = tapir_now_ns();
		ret = tapir_l2table_learn(dev->l2table, src, peer, peer->id, now);
		if (ret < 0) {
			/* -EPERM: pinned to another peer, whose traffic it must not take */
			tapir_device_count_drop(dev, ret == -EPERM ? TAPIR_DROP_MAC_RESERVED
								   : TAPIR_DROP_MAC_REJECTED);
			return 0;
		}
		memcpy(w->l2_learned_mac, src, 6);
		w->l2_learned_peer = peer;
	}
	write_frame(dev, w, f->body, f->body_len);
	if (dev->is_forwarding)
		switch_frame(dev, w, peer, NULL, frame, TAPIR_EXT_HEADER_LEN_BYTES + f->body_len,
			     now ? now : tapir_now_ns(), NULL);
	(void)frame_len;
	return 0;
}

/* The device's extension hook (worker, device read lock held). */
static int on_extension(void *ctx, struct tapir_device *dev, struct tapir_peer *peer,
			const uint8_t *frame, size_t len, struct tapir_worker *w)
{
	struct tapir_ext_frame f;
	uint32_t caps;

	(void)ctx;
	if (tapir_ext_parse(frame, len, &f) < 0)
		return -EINVAL;
	switch (f.type) {
	case TAPIR_EXT_CAPS:
		if (tapir_ext_parse_caps(&f, &caps) < 0)
			return -EINVAL;
		atomic_store_explicit(&peer->remote_caps, caps, memory_order_relaxed);
		return 0;
	case TAPIR_EXT_ETHERNET:
		return receive_ethernet(dev, w, peer, frame, len, &f);
	case TAPIR_EXT_COMPRESSED:
		return -EINVAL; /* receive.c decompresses; a COMPRESSED frame inside one is bad */
	}
	return -EPROTONOSUPPORT;
}

static uint32_t local_caps(const struct tapir_device *dev, struct tapir_peer *peer)
{
	return (dev->is_tap ? TAPIR_EXT_CAP_L2 : 0) |
	       (atomic_load_explicit(&peer->wants_lz4, memory_order_relaxed) ? TAPIR_EXT_CAP_LZ4
									     : 0);
}

static void announce(struct tapir_device *dev, const struct tapir_send_ctx *tx,
		     struct tapir_peer *peer, uint32_t caps)
{
	struct tapir_pkt *pkt = tapir_pkt_pool_get(&dev->pool);
	int len;

	if (!pkt)
		return;
	pkt->off = TAPIR_PKT_HEADROOM;
	len = tapir_ext_build_caps(tapir_pkt_data(pkt), TAPIR_PKT_DATA_MAX, caps);
	if (len > 0) {
		pkt->len = (uint32_t)len;
		tapir_send_own_msg(dev, tx, peer, pkt);
	}
	tapir_pkt_pool_put(&dev->pool, pkt);
}

void tapir_l2_session_started(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			      struct tapir_peer *peer)
{
	uint32_t caps = local_caps(dev, peer);

	atomic_store_explicit(&peer->is_mismatch_logged, false, memory_order_relaxed);
	atomic_store_explicit(&peer->is_lz4_mismatch_logged, false, memory_order_relaxed);
	if (caps)
		announce(dev, tx, peer, caps);
	/* else nothing to announce: stock peers would only log it as noise */
}

void tapir_l2_set_compression(struct tapir_device *dev, struct tapir_peer *peer, bool is_lz4)
{
	bool was = atomic_exchange_explicit(&peer->wants_lz4, is_lz4, memory_order_relaxed);

	if (was == is_lz4 || !tapir_send_keypair(peer, tapir_now_ns()))
		return;
	/* a session runs: tell the peer now, not at the next handshake */
	atomic_store_explicit(&peer->is_lz4_mismatch_logged, false, memory_order_relaxed);
	if (dev->udp_fds && dev->udp_fds[0] >= 0) {
		struct tapir_send_ctx tx = tapir_send_ctx_control(dev);

		announce(dev, &tx, peer, local_caps(dev, peer));
	}
}

void tapir_l2_maybe_compress(struct tapir_device *dev, struct tapir_keypair *kp, unsigned int slot,
			     struct tapir_pkt *pkt)
{
	struct tapir_peer *peer = kp->peer;
	size_t n;

	if (slot >= dev->n_lz4)
		return;
	if (!(atomic_load_explicit(&peer->remote_caps, memory_order_relaxed) & TAPIR_EXT_CAP_LZ4)) {
		/* the clock is read only until the mismatch has been logged for this session */
		if (!atomic_load_explicit(&peer->is_lz4_mismatch_logged, memory_order_relaxed) &&
		    tapir_now_ns() - kp->birth_ns >= tapir_ms_to_ns(CAPS_GRACE_MS) &&
		    !atomic_exchange_explicit(&peer->is_lz4_mismatch_logged, true,
					      memory_order_relaxed))
			log_info("%s: peer %llu has not announced LZ4 compression (a stock "
				 "WireGuard peer, or Compression off there): sending uncompressed",
				 dev->ifname, (unsigned long long)peer->id);
		return;
	}
	n = tapir_lz4_compress_inplace(dev->lz4[slot], tapir_pkt_data(pkt), pkt->len);
	if (!n) {
		atomic_fetch_add_explicit(&dev->lz4_stats[TAPIR_LZ4_INCOMPRESSIBLE], 1,
					  memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&dev->lz4_stats[TAPIR_LZ4_COMPRESSED], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&dev->lz4_stats[TAPIR_LZ4_BYTES_SAVED], pkt->len - n,
				  memory_order_relaxed);
	pkt->len = (uint32_t)n;
}

void tapir_l2_tick(struct tapir_device *dev, uint64_t now_ns)
{
	if (dev->l2table)
		tapir_l2table_expire(dev->l2table, now_ns, dev->mac_age_ns);
}

void tapir_l2_remove_peer(struct tapir_device *dev, struct tapir_peer *peer)
{
	if (dev->l2table)
		tapir_l2table_remove_owner(dev->l2table, peer->id);
}

void tapir_l2_unpin(struct tapir_device *dev, struct tapir_peer *peer)
{
	/* MACs learned under the old pins may be ones the new pins refuse */
	if (dev->l2table)
		tapir_l2table_remove_owner(dev->l2table, peer->id);
}

void tapir_l2_pin_all(struct tapir_device *dev)
{
	if (!dev->l2table)
		return;
	for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next) {
		for (unsigned int i = 0; i < p->n_pinned_macs; i++) {
			const uint8_t *m = p->pinned_macs[i];
			int ret = tapir_l2table_pin(dev->l2table, m, p, p->id);

			if (ret < 0)
				log_warn("%s: peer %llu: cannot reserve pinned MAC "
					 "%02x:%02x:%02x:%02x:%02x:%02x: %s",
					 dev->ifname, (unsigned long long)p->id, m[0], m[1], m[2],
					 m[3], m[4], m[5],
					 ret == -EEXIST ? "pinned to another peer"
							: strerror(-ret));
		}
	}
}
