// SPDX-License-Identifier: MIT
/*
 * Incoming path (wireguard-protocol.md 3.6, 3.7, 7.2, 7.3): handshake messages go to the
 * control thread's queue; transport data is authenticated with this thread's cipher context,
 * replay-checked only after the tag verified, confirms a pending keypair, updates the endpoint
 * (roaming), and its inner packet is source-checked against the peer's allowed IPs before it
 * is written to the TUN. A first byte below 0x40 is a tapir extension frame for the hook; in TAP
 * mode nothing else reaches the device.
 */
#include "device.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"

static struct tapir_log_ratelimit drop_log_rl;

static void drop(struct tapir_device *dev, enum tapir_drop_reason reason,
		 const struct tapir_endpoint *src)
{
	tapir_device_count_drop(dev, reason);
	if (tapir_log_get_level() >= TAPIR_LOG_DEBUG && tapir_log_ratelimit_ok(&drop_log_rl, 10))
		log_debug("%s: dropped packet: %s", dev->ifname, tapir_drop_reason_name(reason));
	(void)src;
}

/* Validates the inner IP header; returns the family and sets the true length and source. */
static int inner_source(const uint8_t *p, size_t len, size_t *ip_len, const uint8_t **saddr)
{
	size_t total;

	if (len >= 20 && (p[0] >> 4) == 4) {
		total = (size_t)p[2] << 8 | p[3];
		if (total < 20 || total > len)
			return 0;
		*ip_len = total;
		*saddr = p + 12;
		return AF_INET;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		total = 40 + ((size_t)p[4] << 8 | p[5]);
		if (total > len)
			return 0;
		*ip_len = total;
		*saddr = p + 8;
		return AF_INET6;
	}
	return 0;
}

/*
 * Roaming: the endpoint follows the source of every authenticated packet, and so does the
 * transport (a TCP connection that carries a peer replaces the one before); the local
 * address the packet arrived on becomes the source of what we send (sticky source). A peer
 * we connect to over TCP keeps its configured endpoint.
 */
static void update_endpoint(struct tapir_device *dev, struct tapir_worker *w,
			    struct tapir_peer *peer, const struct tapir_endpoint *src)
{
	tapir_tcp_note_authenticated(dev, peer, w->rx_tcp_conn);
	if (!w->rx_tcp_conn && atomic_load_explicit(&peer->is_tcp_client, memory_order_relaxed))
		return;
	tapir_peer_roam(peer, src);
}

/*
 * Key confirmation (3.6): the first authenticated packet on the responder's next keypair
 * makes it current. Returns true if this call rotated.
 */
static bool confirm_keypair(struct tapir_device *dev, struct tapir_peer *peer,
			    struct tapir_keypair *kp)
{
	struct tapir_keypair *old_previous = NULL;
	bool did_rotate = false;

	pthread_mutex_lock(&peer->keypair_lock);
	if (peer->kp_next == kp) {
		old_previous = peer->kp_previous;
		peer->kp_previous = peer->kp_current;
		peer->kp_current = kp;
		peer->kp_next = NULL;
		did_rotate = true;
	}
	pthread_mutex_unlock(&peer->keypair_lock);
	tapir_graveyard_retire(&dev->graveyard, old_previous);
	return did_rotate;
}

/* 5.4 item 3: a mostly-receiving initiator rekeys before its session expires. */
static void maybe_lastminute_rekey(struct tapir_device *dev, struct tapir_peer *peer,
				   struct tapir_keypair *kp, uint64_t now)
{
	if (!kp->is_initiator ||
	    now - kp->birth_ns <
		tapir_ms_to_ns(REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS) ||
	    atomic_load_explicit(&peer->timers.sent_lastminute_handshake, memory_order_relaxed))
		return;
	pthread_mutex_lock(&peer->keypair_lock);
	if (peer->kp_current == kp) {
		atomic_store_explicit(&peer->timers.sent_lastminute_handshake, true,
				      memory_order_relaxed);
		tapir_handshake_request(dev, peer);
	}
	pthread_mutex_unlock(&peer->keypair_lock);
}

static void tun_write_failed(struct tapir_device *dev, int err)
{
	if (err == EBADFD)
		tapir_device_request_stop(dev, -err);
	tapir_device_count_drop(dev, TAPIR_DROP_SEND_ERROR);
}

/* Writes one packet (or GRO super-packet) with its virtio_net_hdr. */
static void write_vnet(void *ctx, const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
	struct tapir_worker *w = ctx;
	struct iovec iov[2] = {
	    {.iov_base = (void *)(uintptr_t)vh, .iov_len = sizeof(*vh)},
	    {.iov_base = (void *)(uintptr_t)pkt, .iov_len = len},
	};

	if (writev(w->tun_fd, iov, 2) >= 0)
		return;
	/* a kernel that refuses coalesced writes (EINVAL/EIO) gets single packets from now on */
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE && (errno == EINVAL || errno == EIO))
		tapir_device_disable_offload(w->dev, TAPIR_OFFLOAD_GRO, strerror(errno));
	tun_write_failed(w->dev, errno);
}

/* Hands an inner packet to the TUN: through the coalescer when GRO is on. */
static void write_tun(struct tapir_device *dev, struct tapir_worker *w, const uint8_t *p,
		      size_t len)
{
	static const struct virtio_net_hdr plain;
	int ret;

	if (!dev->has_vnet_hdr) {
		if (write(w->tun_fd, p, len) < 0)
			tun_write_failed(dev, errno);
		return;
	}
	if (!(atomic_load_explicit(&dev->offloads, memory_order_relaxed) & TAPIR_OFFLOAD_GRO)) {
		write_vnet(w, &plain, p, len);
		return;
	}
	ret = tapir_gro_add(&w->gro, p, len);
	if (ret == -ENOSPC) {
		tapir_gro_flush(&w->gro, write_vnet, w);
		ret = tapir_gro_add(&w->gro, p, len);
	}
	if (ret < 0) {
		/* too big to coalesce: keep its flow in order, then write it alone */
		tapir_gro_flush(&w->gro, write_vnet, w);
		write_vnet(w, &plain, p, len);
	}
}

/*
 * A COMPRESSED frame (compress.h) becomes the payload it stands for, in this thread's LZ4
 * buffer, never more than the MTU allows (plus the Ethernet and frame headers in tap mode).
 * Returns its length or 0 (dropped and counted).
 */
static size_t decompress(struct tapir_device *dev, struct tapir_worker *w, const uint8_t *p,
			 size_t len, uint8_t **out, const struct tapir_endpoint *src)
{
	struct tapir_ext_frame f;
	size_t cap = (size_t)atomic_load_explicit(&dev->mtu_cached, memory_order_relaxed);
	int n;

	if (dev->is_tap)
		cap += TAPIR_L2_FRAME_OVERHEAD + TAPIR_L2_VLAN_TAG_BYTES;
	if (w->slot >= dev->n_lz4 || tapir_ext_parse(p, len, &f) < 0) {
		drop(dev, TAPIR_DROP_DECOMPRESS, src);
		return 0;
	}
	*out = tapir_lz4_ctx_inbuf(dev->lz4[w->slot]);
	n = tapir_lz4_decompress(f.body, f.body_len, *out, cap);
	if (n <= 0) {
		drop(dev, TAPIR_DROP_DECOMPRESS, src);
		return 0;
	}
	atomic_fetch_add_explicit(&dev->lz4_stats[TAPIR_LZ4_DECOMPRESSED], 1, memory_order_relaxed);
	return (size_t)n;
}

static void deliver(struct tapir_device *dev, struct tapir_worker *w, struct tapir_peer *peer,
		    const uint8_t *p, size_t len, const struct tapir_endpoint *src)
{
	struct tapir_allowedips_owner *owner;
	const uint8_t *saddr;
	size_t ip_len;
	int family;

	if (p[0] == TAPIR_EXT_COMPRESSED) {
		uint8_t *plain;

		/* accepted whenever it comes: a peer compresses only after we announced LZ4,
		 * and a frame in flight when Compression was turned off is still delivered */
		len = decompress(dev, w, p, len, &plain, src);
		if (len)
			deliver(dev, w, peer, plain, len, src); /* never nested: see compress.h */
		return;
	}
	if (p[0] < 0x40) {
		if (!dev->extension_handler ||
		    dev->extension_handler(dev->extension_ctx, dev, peer, p, len, w) != 0)
			drop(dev, TAPIR_DROP_EXTENSION, src);
		return;
	}
	/* a TAP takes Ethernet frames, and only as ETHERNET extension frames (l2.c), which
	 * check the source MAC; the bytes of an IP packet would be read as MAC addresses */
	if (dev->is_tap) {
		drop(dev, TAPIR_DROP_NOT_ETHERNET, src);
		return;
	}
	family = inner_source(p, len, &ip_len, &saddr);
	if (!family) {
		drop(dev, TAPIR_DROP_INNER_INVALID, src);
		return;
	}
	owner = tapir_allowedips_lookup(dev->allowedips, family, saddr);
	if (owner != &peer->allowed) {
		drop(dev, TAPIR_DROP_SOURCE_NOT_ALLOWED, src);
		return;
	}
	write_tun(dev, w, p, ip_len);
}

/*
 * What a batch already did for the packets before: the endpoint update and the key
 * confirmation, two mutexes each, change nothing for the next packet on the same keypair from
 * the same source (a GRO run is dozens of them), so they run once per such run. The keypair
 * cannot be freed and its address reused within the batch: the device read lock is held.
 */
struct rx_seen {
	const struct tapir_keypair *kp;
	struct tapir_endpoint src;
};

/* Steps for an authenticated, fresh packet that only the first of a run needs (rx_seen). */
static void first_of_run(struct tapir_device *dev, struct tapir_worker *w, struct tapir_keypair *kp,
			 const struct tapir_endpoint *src, struct rx_seen *seen)
{
	struct tapir_peer *peer = kp->peer;

	if (seen->kp == kp && tapir_sockaddr_equal(&seen->src.addr, &src->addr) &&
	    tapir_local_addr_equal(&seen->src.local, &src->local))
		return;
	seen->kp = kp;
	seen->src = *src;
	update_endpoint(dev, w, peer, src);
	if (confirm_keypair(dev, peer, kp)) {
		tapir_timers_handshake_complete(&peer->timers);
		tapir_peer_record_handshake_time(peer);
		struct tapir_send_ctx tx = tapir_send_ctx_worker(w);

		tapir_send_staged(dev, &tx, peer);
		tapir_l2_session_started(dev, &tx, peer);
	}
}

static void receive_data(struct tapir_device *dev, struct tapir_worker *w, uint8_t *msg, size_t len,
			 const struct tapir_endpoint *src, uint64_t now, struct rx_seen *seen)
{
	const struct tapir_msg_data *hdr = (const struct tapir_msg_data *)msg;
	struct tapir_index_entry *entry;
	struct tapir_keypair *kp;
	struct tapir_peer *peer;
	const uint8_t *plain;
	uint64_t counter;
	size_t plen = len - TAPIR_MSG_DATA_MIN_LEN;
	bool is_fresh;

	entry = tapir_index_table_find(&dev->indices, tapir_le32_get(hdr->receiver_index));
	if (!entry || !entry->keypair ||
	    atomic_load_explicit(&entry->keypair->is_retired, memory_order_relaxed)) {
		drop(dev, TAPIR_DROP_UNKNOWN_INDEX, src);
		return;
	}
	kp = entry->keypair;
	peer = kp->peer;
	counter = tapir_le64_get(hdr->counter);
	if (now - kp->birth_ns >= tapir_ms_to_ns(REJECT_AFTER_TIME_MS) ||
	    counter >= REJECT_AFTER_MESSAGES) {
		drop(dev, TAPIR_DROP_KEY_EXPIRED, src);
		return;
	}
	/*
	 * @msg sits in a packet buffer (headroom or the message before it in front, tailroom
	 * after the last message of a GRO run). Below 4 KiB the plaintext stays in this thread's
	 * AEAD scratch buffer and is read from there by deliver(): the TUN coalescer copies it
	 * anyway, so copying it back over the ciphertext first would be a copy for nothing. Up
	 * to deliver() this thread only seals in place (encrypt_pkt), which leaves it alone.
	 */
	plain = tapir_aead_ctx_open_view(kp->recv_ctx[w->slot], counter,
					 msg + TAPIR_MSG_DATA_HEADER_LEN,
					 len - TAPIR_MSG_DATA_HEADER_LEN);
	if (!plain) {
		drop(dev, TAPIR_DROP_DECRYPT, src);
		return;
	}
	pthread_spin_lock(&kp->replay_lock);
	is_fresh = tapir_replay_check(&kp->replay, counter);
	pthread_spin_unlock(&kp->replay_lock);
	if (!is_fresh) {
		drop(dev, TAPIR_DROP_REPLAY, src);
		return;
	}
	first_of_run(dev, w, kp, src, seen);
	atomic_fetch_add_explicit(&peer->rx_bytes, len, memory_order_relaxed);
	maybe_lastminute_rekey(dev, peer, kp, now);
	tapir_timers_any_authenticated_packet_received(&peer->timers);
	tapir_timers_any_authenticated_packet_traversal(&peer->timers, now);
	if (plen == 0)
		return; /* keepalive */
	tapir_timers_data_received(&peer->timers, now);
	deliver(dev, w, peer, plain, plen, src);
}

void tapir_receive_batch(struct tapir_device *dev, struct tapir_worker *w, uint8_t *const *msgs,
			 const size_t *lens, const struct tapir_endpoint *from, unsigned int n)
{
	uint64_t now = tapir_now_ns();
	struct rx_seen seen = {0};

	w->l2_learned_peer = NULL;
	for (unsigned int i = 0; i < n; i++) {
		switch (tapir_msg_classify(msgs[i], lens[i])) {
		case TAPIR_MSG_INITIATION:
		case TAPIR_MSG_RESPONSE:
		case TAPIR_MSG_COOKIE:
			tapir_handshake_enqueue(dev, msgs[i], lens[i], &from[i], w->rx_tcp_conn);
			break;
		case TAPIR_MSG_DATA:
			receive_data(dev, w, msgs[i], lens[i], &from[i], now, &seen);
			break;
		default:
			drop(dev, TAPIR_DROP_MALFORMED, &from[i]);
			break;
		}
	}
	if (dev->has_vnet_hdr)
		tapir_gro_flush(&w->gro, dev->is_tap ? tapir_l2_write_vnet : write_vnet, w);
}
