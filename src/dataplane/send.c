// SPDX-License-Identifier: MIT
/*
 * Outgoing path (wireguard-protocol.md 3.7, 5.4, 7.1, 8). Every message to a peer leaves
 * through this file:
 *
 *   1. tapir_send_batch routes each inner packet a worker read from the TUN to a peer by its
 *      destination (allowed IPs); l2.c switches TAP frames by MAC into the same batch
 *      (tapir_send_batch_begin/add/add_copy/flush). Forwarded frames, CAPS frames and
 *      keepalives come one at a time to tapir_send_data / tapir_send_own_msg /
 *      tapir_send_keepalive (a keepalive is an empty payload, built like every other message).
 *   2. Without a usable keypair a packet of the user's is copied to the peer's staged ring and
 *      a handshake requested; tapir_send_staged empties the ring once a session exists.
 *   3. encrypt_pkt pads, seals in place in the buffer's headroom/tailroom with the sending
 *      thread's cipher context, and prepends the transport data header: the one builder.
 *   4. To the wire: a batch with one sendmmsg (send_runs, UDP GSO runs), one message with
 *      send_to_peer (over TCP when the peer uses it, else one datagram, send_one), handshake
 *      messages with tapir_send_raw*. A datagram that fails is counted there, as SEND_ERROR.
 *   5. after_send: byte counters, timer hooks, and the rekey rules.
 *
 * No allocation, no cipher setup per packet.
 *
 * Every datagram to a peer goes from the local address the peer last reached us on (7.3,
 * the endpoint's sticky source), read with the endpoint once per run of packets to one peer
 * and carried in each message's control data next to UDP_SEGMENT. A send that fails because
 * that address went away forgets it and goes again from the kernel's default source.
 */
#include "device.h"

#include <errno.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "udp.h"
#include "util.h"

static __thread uint64_t jitter_state;

/* Timer jitter in [0, REKEY_TIMEOUT_JITTER_MAX_MS): not secret, a per-thread xorshift. */
static uint32_t jitter_ms(void)
{
	if (!jitter_state)
		jitter_state = ((uint64_t)tapir_random_u32() << 32) | tapir_random_u32() | 1;
	jitter_state ^= jitter_state << 13;
	jitter_state ^= jitter_state >> 7;
	jitter_state ^= jitter_state << 17;
	return (uint32_t)(jitter_state % REKEY_TIMEOUT_JITTER_MAX_MS);
}

static size_t padded_len(size_t len, size_t mtu)
{
	size_t last = len, padded;

	if (mtu == 0)
		return (len + 15) & ~(size_t)15;
	if (last > mtu)
		last %= mtu;
	padded = (last + 15) & ~(size_t)15;
	if (padded > mtu)
		padded = mtu;
	return len + (padded - last);
}

static bool is_keypair_usable(const struct tapir_keypair *kp, uint64_t now_ns)
{
	return kp && !atomic_load_explicit(&kp->is_retired, memory_order_relaxed) &&
	       now_ns - kp->birth_ns < tapir_ms_to_ns(REJECT_AFTER_TIME_MS) &&
	       atomic_load_explicit(&kp->send_counter, memory_order_relaxed) <
		   REJECT_AFTER_MESSAGES;
}

/* Returns the current keypair if it may send. Device lock held (read or write). */
struct tapir_keypair *tapir_send_keypair(struct tapir_peer *peer, uint64_t now_ns)
{
	struct tapir_keypair *kp;

	pthread_mutex_lock(&peer->keypair_lock);
	kp = peer->kp_current;
	if (!is_keypair_usable(kp, now_ns))
		kp = NULL;
	pthread_mutex_unlock(&peer->keypair_lock);
	return kp;
}

/*
 * Encrypts the payload of @pkt in place and prepends the data header. Returns false when the
 * keypair's counter is exhausted (the packet is left untouched).
 */
static bool encrypt_pkt(struct tapir_device *dev, struct tapir_keypair *kp, unsigned int slot,
			struct tapir_pkt *pkt)
{
	size_t mtu = (size_t)atomic_load_explicit(&dev->mtu_cached, memory_order_relaxed);
	size_t plen;
	uint8_t *data = tapir_pkt_data(pkt);
	uint64_t counter;
	struct tapir_msg_data *hdr;
	int rc;

	counter = atomic_fetch_add_explicit(&kp->send_counter, 1, memory_order_relaxed);
	if (counter >= REJECT_AFTER_MESSAGES)
		return false;
	if (pkt->len && atomic_load_explicit(&kp->peer->wants_lz4, memory_order_relaxed))
		tapir_l2_maybe_compress(dev, kp, slot, pkt); /* opt-in per peer (Compression) */
	plen = pkt->len ? padded_len(pkt->len, mtu) : 0;
	memset(data + pkt->len, 0, plen - pkt->len);
	/*
	 * No copy: the cipher's key block goes in the headroom, the tag in the tailroom. Never
	 * through the cipher's scratch buffer: on a worker it may hold the plaintext of a
	 * received packet between tapir_aead_ctx_open_view() and its delivery (receive.c), and
	 * a seal there (a staged packet or a CAPS frame sent on the key confirmation) would
	 * overwrite it. Every packet buffer has the headroom (pktbuf.h), so this never fails.
	 */
	if (pkt->off < TAPIR_AEAD_CTX_HEADROOM)
		return false;
	rc = tapir_aead_ctx_seal_inplace(kp->send_ctx[slot], counter, data, plen);
	if (rc < 0)
		return false;
	hdr = (struct tapir_msg_data *)(data - sizeof(*hdr));
	tapir_msg_put_header(&hdr->type, TAPIR_MSG_DATA);
	tapir_le32_put(hdr->receiver_index, kp->remote_index);
	tapir_le64_put(hdr->counter, counter);
	pkt->off -= sizeof(*hdr);
	pkt->len = (uint32_t)(sizeof(*hdr) + plen + TAPIR_AUTHTAG_LEN);
	return true;
}

/* After sending on @kp: timer hooks and the rekey rules of 5.4 item 2. */
static void after_send(struct tapir_device *dev, struct tapir_peer *peer, struct tapir_keypair *kp,
		       bool is_data, uint64_t bytes, uint64_t now_ns)
{
	atomic_fetch_add_explicit(&peer->tx_bytes, bytes, memory_order_relaxed);
	tapir_timers_any_authenticated_packet_traversal(&peer->timers, now_ns);
	tapir_timers_any_authenticated_packet_sent(&peer->timers);
	if (is_data)
		tapir_timers_data_sent(&peer->timers, now_ns, jitter_ms());
	if (atomic_load_explicit(&kp->send_counter, memory_order_relaxed) > REKEY_AFTER_MESSAGES ||
	    (kp->is_initiator && now_ns - kp->birth_ns > tapir_ms_to_ns(REKEY_AFTER_TIME_MS)))
		tapir_handshake_request(dev, peer);
}

/*
 * One datagram from @fd to @to->addr, from @to->local when it has one. If that source is
 * gone, @peer (if any) forgets it and the datagram goes again from the default source.
 */
static int send_one(struct tapir_device *dev, int fd, const void *buf, size_t len,
		    const struct tapir_endpoint *to, struct tapir_peer *peer)
{
	uint64_t control[TAPIR_UDP_CMSG_BYTES / sizeof(uint64_t)];
	union tapir_sockaddr dst;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	struct msghdr mh = {.msg_name = &dst, .msg_iov = &iov, .msg_iovlen = 1};

	mh.msg_namelen = tapir_udp_sockaddr_for(dev->udp_family, &to->addr, &dst);
	tapir_udp_put_cmsgs(&mh, control, 0, &to->local);
	if (sendmsg(fd, &mh, MSG_DONTWAIT) >= 0)
		return 0;
	if (mh.msg_controllen && tapir_udp_is_stale_source(errno)) {
		if (peer)
			tapir_peer_forget_local(peer, &to->local);
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		if (sendmsg(fd, &mh, MSG_DONTWAIT) >= 0)
			return 0;
	}
	tapir_device_count_drop(dev, TAPIR_DROP_SEND_ERROR);
	return -errno;
}

int tapir_send_raw(struct tapir_device *dev, const void *msg, size_t len,
		   const struct tapir_endpoint *to)
{
	if (!dev->is_up || to->addr.sa.sa_family == 0)
		return -ENOTCONN;
	return send_one(dev, dev->udp_fds[0], msg, len, to, NULL);
}

/*
 * One message to @peer: over TCP when the peer uses it, else a datagram from @fd to @to.
 * 0, or -errno with the failure counted (send_one: SEND_ERROR; TCP: tapir_tcp_send).
 */
static int send_to_peer(struct tapir_device *dev, int fd, struct tapir_peer *peer, const void *buf,
			size_t len, const struct tapir_endpoint *to, bool is_data)
{
	if (tapir_tcp_is_peer_tcp(peer))
		return tapir_tcp_send(dev, peer, buf, len, is_data);
	return send_one(dev, fd, buf, len, to, peer);
}

int tapir_send_raw_peer(struct tapir_device *dev, struct tapir_peer *peer, const void *msg,
			size_t len)
{
	struct tapir_endpoint to;

	if (!dev->is_up)
		return -ENOTCONN;
	if (tapir_tcp_is_peer_tcp(peer))
		return tapir_tcp_send(dev, peer, msg, len, false);
	tapir_peer_load_endpoint(peer, &to);
	if (!to.addr.sa.sa_family)
		return -ENOTCONN;
	return send_one(dev, dev->udp_fds[0], msg, len, &to, peer);
}

/* Copies @pkt into the peer's staged ring (dropping the oldest when full). */
static void stage_pkt(struct tapir_device *dev, struct tapir_peer *peer,
		      const struct tapir_pkt *pkt)
{
	struct tapir_pkt *copy = tapir_pkt_pool_get(&dev->pool), *old = NULL;

	if (!copy) {
		tapir_device_count_drop(dev, TAPIR_DROP_STAGED_FULL);
		return;
	}
	copy->off = TAPIR_PKT_HEADROOM;
	copy->len = pkt->len;
	memcpy(tapir_pkt_data(copy), pkt->buf + pkt->off, pkt->len);
	pthread_mutex_lock(&peer->staged_lock);
	if (peer->staged_count == MAX_STAGED_PACKETS) {
		old = peer->staged[peer->staged_head];
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	peer->staged[(peer->staged_head + peer->staged_count) % MAX_STAGED_PACKETS] = copy;
	peer->staged_count++;
	pthread_mutex_unlock(&peer->staged_lock);
	if (old) {
		tapir_device_count_drop(dev, TAPIR_DROP_STAGED_FULL);
		tapir_pkt_pool_put(&dev->pool, old);
	}
}

void tapir_send_drop_staged(struct tapir_device *dev, struct tapir_peer *peer)
{
	pthread_mutex_lock(&peer->staged_lock);
	while (peer->staged_count) {
		tapir_pkt_pool_put(&dev->pool, peer->staged[peer->staged_head]);
		peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
		peer->staged_count--;
	}
	pthread_mutex_unlock(&peer->staged_lock);
}

enum {
	SEND_IS_DATA = 1 << 0,	 /* the user's data: feeds the data-sent timer */
	SEND_MAY_STAGE = 1 << 1, /* without a usable keypair, wait in the staged ring */
};

/*
 * Steps 2-5 for one message: @pkt to @peer (endpoint @to) on @kp (NULL: none usable). What
 * cannot go is staged (SEND_MAY_STAGE) or counted under the one reason it did not go.
 */
static void send_pkt(struct tapir_device *dev, const struct tapir_send_ctx *tx,
		     struct tapir_peer *peer, struct tapir_keypair *kp,
		     const struct tapir_endpoint *to, struct tapir_pkt *pkt, unsigned int flags,
		     uint64_t now)
{
	bool is_data = flags & SEND_IS_DATA;

	if (!to->addr.sa.sa_family) {
		tapir_device_count_drop(dev, TAPIR_DROP_NO_ENDPOINT);
		return;
	}
	if (!kp || !encrypt_pkt(dev, kp, tx->slot, pkt)) {
		if (flags & SEND_MAY_STAGE)
			stage_pkt(dev, peer, pkt);
		else if (kp) /* its counter ran out under us, or the seal failed */
			tapir_device_count_drop(dev, TAPIR_DROP_KEY_EXPIRED);
		tapir_handshake_request(dev, peer);
		return;
	}
	if (send_to_peer(dev, tx->fd, peer, tapir_pkt_data(pkt), pkt->len, to, is_data) == 0)
		after_send(dev, peer, kp, is_data, pkt->len, now);
}

void tapir_send_staged(struct tapir_device *dev, const struct tapir_send_ctx *tx,
		       struct tapir_peer *peer)
{
	uint64_t now = tapir_now_ns();
	struct tapir_keypair *kp = tapir_send_keypair(peer, now);
	struct tapir_endpoint to;

	if (!kp) {
		tapir_handshake_request(dev, peer);
		return;
	}
	tapir_peer_load_endpoint(peer, &to);
	for (;;) {
		struct tapir_pkt *pkt = NULL;

		pthread_mutex_lock(&peer->staged_lock);
		if (peer->staged_count) {
			pkt = peer->staged[peer->staged_head];
			peer->staged_head = (peer->staged_head + 1) % MAX_STAGED_PACKETS;
			peer->staged_count--;
		}
		pthread_mutex_unlock(&peer->staged_lock);
		if (!pkt)
			break;
		/* never staged again: a failure here is a counted drop */
		send_pkt(dev, tx, peer, kp, &to, pkt, pkt->len ? SEND_IS_DATA : 0, now);
		tapir_pkt_pool_put(&dev->pool, pkt);
	}
}

static void send_single(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			struct tapir_peer *peer, struct tapir_pkt *pkt, unsigned int flags)
{
	uint64_t now = tapir_now_ns();
	struct tapir_keypair *kp = tapir_send_keypair(peer, now);
	struct tapir_endpoint to;

	tapir_peer_load_endpoint(peer, &to);
	send_pkt(dev, tx, peer, kp, &to, pkt, flags, now);
}

void tapir_send_data(struct tapir_device *dev, const struct tapir_send_ctx *tx,
		     struct tapir_peer *peer, struct tapir_pkt *pkt)
{
	send_single(dev, tx, peer, pkt, SEND_IS_DATA | SEND_MAY_STAGE);
}

void tapir_send_own_msg(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			struct tapir_peer *peer, struct tapir_pkt *pkt)
{
	send_single(dev, tx, peer, pkt, 0);
}

void tapir_send_keepalive(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			  struct tapir_peer *peer)
{
	struct tapir_pkt *pkt;
	bool has_staged;

	pthread_mutex_lock(&peer->staged_lock);
	has_staged = peer->staged_count > 0;
	pthread_mutex_unlock(&peer->staged_lock);
	if (has_staged) {
		tapir_send_staged(dev, tx, peer);
		return;
	}
	if (!tapir_send_keypair(peer, tapir_now_ns())) {
		tapir_handshake_request(dev, peer);
		return;
	}
	pkt = tapir_pkt_pool_get(&dev->pool);
	if (!pkt) {
		tapir_device_count_drop(dev, TAPIR_DROP_STAGED_FULL);
		return;
	}
	pkt->off = TAPIR_PKT_HEADROOM;
	pkt->len = 0; /* 5.4: a keepalive is a transport data message with an empty payload */
	tapir_send_own_msg(dev, tx, peer, pkt);
	tapir_pkt_pool_put(&dev->pool, pkt);
}

/* Destination address of an outgoing inner packet; returns the family or 0 if malformed. */
static int inner_destination(const uint8_t *p, size_t len, const uint8_t **addr)
{
	if (len >= 20 && (p[0] >> 4) == 4) {
		*addr = p + 16;
		return AF_INET;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		*addr = p + 24;
		return AF_INET6;
	}
	return 0;
}

/* Datagrams @a and @b of a batch go to one address from one source. */
static bool is_same_dst(const struct tapir_worker *w, unsigned int a, unsigned int b)
{
	const struct msghdr *ma = &w->msgs[a].msg_hdr, *mb = &w->msgs[b].msg_hdr;

	return ma->msg_namelen == mb->msg_namelen &&
	       !memcmp(ma->msg_name, mb->msg_name, ma->msg_namelen) &&
	       tapir_local_addr_equal(&w->tx_locals[a], &w->tx_locals[b]);
}

/* The control data of run @run: UDP_SEGMENT if it has several datagrams, and its source. */
static void put_run_cmsgs(struct tapir_worker *w, unsigned int run)
{
	unsigned int first = w->run_start[run];
	uint16_t seg = w->run_len[run] > 1 ? (uint16_t)w->iovs[first].iov_len : 0;

	tapir_udp_put_cmsgs(&w->gmsgs[run].msg_hdr, w->cmsgs[run], seg, &w->tx_locals[first]);
}

/*
 * Groups the @out encrypted datagrams of w->msgs into runs that go out with one sendmsg each:
 * with UDP GSO, consecutive datagrams to one destination from one source, of one size (the
 * last of a run may be shorter) become one UDP_SEGMENT send. Returns the number of runs in
 * w->gmsgs.
 */
static unsigned int build_runs(struct tapir_device *dev, struct tapir_worker *w, unsigned int out)
{
	bool has_gso =
	    atomic_load_explicit(&dev->offloads, memory_order_relaxed) & TAPIR_OFFLOAD_GSO;
	unsigned int nrun = 0;

	for (unsigned int i = 0; i < out; nrun++) {
		struct msghdr *mh = &w->gmsgs[nrun].msg_hdr;
		size_t size = w->iovs[i].iov_len, total = size;
		unsigned int j = i + 1;

		while (has_gso && j < out && j - i < TAPIR_GSO_MAX_SEGS &&
		       w->iovs[j - 1].iov_len == size && w->iovs[j].iov_len <= size &&
		       total + w->iovs[j].iov_len <= 65000 && is_same_dst(w, i, j))
			total += w->iovs[j++].iov_len;
		*mh = w->msgs[i].msg_hdr;
		mh->msg_iovlen = j - i;
		w->run_start[nrun] = i;
		w->run_len[nrun] = j - i;
		put_run_cmsgs(w, nrun);
		i = j;
	}
	return nrun;
}

static void runs_sent(struct tapir_device *dev, struct tapir_worker *w, unsigned int run,
		      uint64_t now)
{
	for (unsigned int k = 0; k < w->run_len[run]; k++) {
		unsigned int d = w->run_start[run] + k;
		struct tapir_worker_slot *s = &w->slots[d];

		after_send(dev, s->peer, s->kp, s->inner_len > 0, w->iovs[d].iov_len, now);
	}
}

/*
 * Run @run failed because its source address is gone: every peer still sending from it
 * forgets it, and this run and the later ones from it go from the default source instead.
 */
static void forget_source(struct tapir_worker *w, unsigned int run, unsigned int nrun)
{
	struct tapir_local_addr stale = w->tx_locals[w->run_start[run]];

	for (unsigned int r = run; r < nrun; r++) {
		unsigned int first = w->run_start[r];

		if (!tapir_local_addr_equal(&w->tx_locals[first], &stale))
			continue;
		for (unsigned int k = 0; k < w->run_len[r]; k++) {
			unsigned int d = first + k;

			if (d == first || w->slots[d].peer != w->slots[d - 1].peer)
				tapir_peer_forget_local(w->slots[d].peer, &stale);
			memset(&w->tx_locals[d], 0, sizeof(w->tx_locals[d]));
		}
		put_run_cmsgs(w, r);
	}
}

/* Sends datagram @d of the batch alone (no GSO), from its source. */
static int send_datagram(struct tapir_worker *w, unsigned int d)
{
	uint64_t control[TAPIR_UDP_CMSG_BYTES / sizeof(uint64_t)];
	struct msghdr mh = w->msgs[d].msg_hdr;

	tapir_udp_put_cmsgs(&mh, control, 0, &w->tx_locals[d]);
	return sendmsg(w->udp_fd, &mh, MSG_DONTWAIT) < 0 ? -errno : 0;
}

static void send_runs(struct tapir_device *dev, struct tapir_worker *w, unsigned int nrun,
		      uint64_t now)
{
	unsigned int sent = 0;

	while (sent < nrun) {
		int ret = sendmmsg(w->udp_fd, w->gmsgs + sent, nrun - sent, MSG_DONTWAIT);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 && w->tx_locals[w->run_start[sent]].family &&
		    tapir_udp_is_stale_source(errno)) {
			/* the run goes again, from the default source (at most once: it has
			 * none now) */
			forget_source(w, sent, nrun);
			continue;
		}
		if (ret < 0 && w->run_len[sent] > 1 && (errno == EIO || errno == EINVAL)) {
			/* a kernel or device that refuses UDP GSO: datagrams one by one from now */
			tapir_device_disable_offload(dev, TAPIR_OFFLOAD_GSO, strerror(errno));
			for (unsigned int k = 0; k < w->run_len[sent]; k++) {
				if (send_datagram(w, w->run_start[sent] + k) < 0)
					tapir_device_count_drop(dev, TAPIR_DROP_SEND_ERROR);
			}
			runs_sent(dev, w, sent, now);
			sent++;
			continue;
		}
		if (ret < 0) {
			/* skip the run the kernel refused and go on with the rest */
			tapir_device_count_drop(dev, TAPIR_DROP_SEND_ERROR);
			sent++;
			continue;
		}
		for (int i = 0; i < ret; i++)
			runs_sent(dev, w, sent + (unsigned int)i, now);
		sent += (unsigned int)ret;
	}
}

void tapir_send_batch_begin(struct tapir_worker *w)
{
	struct tapir_send_batch *b = &w->batch;

	b->peer = NULL;
	b->kp = NULL;
	b->is_tcp = false;
	memset(&b->to, 0, sizeof(b->to));
	b->out = 0;
	b->n_held = 0;
	b->now_ns = tapir_now_ns();
}

void tapir_send_batch_flush(struct tapir_device *dev, struct tapir_worker *w)
{
	struct tapir_send_batch *b = &w->batch;

	send_runs(dev, w, build_runs(dev, w, b->out), b->now_ns);
	b->out = 0;
	for (unsigned int i = 0; i < b->n_held; i++)
		tapir_pkt_pool_put(&dev->pool, w->held[i]);
	b->n_held = 0;
}

/* Looks up @peer's keypair, endpoint and transport, once per run of packets to it. */
static void batch_set_peer(struct tapir_send_batch *b, struct tapir_peer *peer)
{
	if (peer == b->peer)
		return;
	b->peer = peer;
	b->kp = tapir_send_keypair(peer, b->now_ns);
	tapir_peer_load_endpoint(peer, &b->to);
	b->is_tcp = tapir_tcp_is_peer_tcp(peer);
}

void tapir_send_batch_add(struct tapir_device *dev, struct tapir_worker *w, struct tapir_peer *peer,
			  struct tapir_pkt *pkt)
{
	struct tapir_send_batch *b = &w->batch;
	unsigned int out = b->out;
	uint32_t inner_len = pkt->len;

	if (out == TAPIR_SEND_MAX) {
		tapir_send_batch_flush(dev, w);
		out = 0;
	}
	batch_set_peer(b, peer);
	if (!b->to.addr.sa.sa_family) {
		tapir_device_count_drop(dev, TAPIR_DROP_NO_ENDPOINT);
		return;
	}
	if (!b->kp || !encrypt_pkt(dev, b->kp, w->slot, pkt)) {
		stage_pkt(dev, peer, pkt);
		tapir_handshake_request(dev, peer);
		b->kp = NULL;
		return;
	}
	if (b->is_tcp) {
		/* TCP: onto the connection's queue now, in order with the rest */
		if (tapir_tcp_send(dev, peer, tapir_pkt_data(pkt), pkt->len, true) == 0)
			after_send(dev, peer, b->kp, inner_len > 0, pkt->len, b->now_ns);
		return;
	}
	w->slots[out].inner_len = inner_len;
	w->slots[out].peer = peer;
	w->slots[out].kp = b->kp;
	w->iovs[out].iov_base = tapir_pkt_data(pkt);
	w->iovs[out].iov_len = pkt->len;
	memset(&w->msgs[out], 0, sizeof(w->msgs[out]));
	w->msgs[out].msg_hdr.msg_iov = &w->iovs[out];
	w->msgs[out].msg_hdr.msg_iovlen = 1;
	w->msgs[out].msg_hdr.msg_name = &w->addrs[out];
	w->msgs[out].msg_hdr.msg_namelen =
	    tapir_udp_sockaddr_for(dev->udp_family, &b->to.addr, &w->addrs[out]);
	w->tx_locals[out] = b->to.local;
	b->out = out + 1;
}

void tapir_send_batch_add_copy(struct tapir_device *dev, struct tapir_worker *w,
			       struct tapir_peer *peer, const uint8_t *data, size_t len)
{
	struct tapir_send_batch *b = &w->batch;
	struct tapir_pkt *copy;

	/* flush now if need be: not inside tapir_send_batch_add, which would free the copy */
	if (b->n_held == TAPIR_SEND_MAX || b->out == TAPIR_SEND_MAX)
		tapir_send_batch_flush(dev, w);
	copy = tapir_pkt_pool_get(&dev->pool);
	if (!copy && b->n_held) {
		/* the pool ran dry under this batch: send it and take its buffers back */
		tapir_send_batch_flush(dev, w);
		copy = tapir_pkt_pool_get(&dev->pool);
	}
	if (!copy) {
		tapir_device_count_drop(dev, TAPIR_DROP_STAGED_FULL);
		return;
	}
	w->held[b->n_held++] = copy;
	copy->off = TAPIR_PKT_HEADROOM;
	copy->len = (uint32_t)len;
	memcpy(tapir_pkt_data(copy), data, len);
	tapir_send_batch_add(dev, w, peer, copy);
}

void tapir_send_batch(struct tapir_device *dev, struct tapir_worker *w, struct tapir_pkt **pkts,
		      unsigned int n)
{
	tapir_send_batch_begin(w);
	for (unsigned int i = 0; i < n; i++) {
		struct tapir_pkt *pkt = pkts[i];
		const uint8_t *daddr;
		int family = inner_destination(tapir_pkt_data(pkt), pkt->len, &daddr);
		struct tapir_allowedips_owner *owner;

		if (!family) {
			tapir_device_count_drop(dev, TAPIR_DROP_MALFORMED);
			continue;
		}
		owner = tapir_allowedips_lookup(dev->allowedips, family, daddr);
		if (!owner) {
			tapir_device_count_drop(dev, TAPIR_DROP_NO_ROUTE);
			tapir_unreachable_reply(dev, w, pkt, i ? pkts[i - 1] : NULL);
			continue;
		}
		tapir_send_batch_add(dev, w, tapir_container_of(owner, struct tapir_peer, allowed),
				     pkt);
	}
	tapir_send_batch_flush(dev, w);
}
