// SPDX-License-Identifier: MIT
/*
 * Control-thread side of the protocol: the handshake queue (filled by workers, its fill level
 * defines "under load", 4.3), cookie replies and the per-source rate limiter under load,
 * consuming initiations/responses/cookie replies through the noise core, installing keypairs
 * in the slots of 3.6, sending initiations subject to the 5 s limit of 5.2, and running the
 * timer actions of 5.3 on every tick.
 */
#include "device.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "util.h"

enum {
	MAX_ITEMS_PER_ROUND = 256, /* then yield to UAPI and timers */
};

static void wake_control(struct tapir_device *dev)
{
	uint64_t one = 1;
	/* failure means the counter is saturated, so a wakeup is pending anyway */
	if (write(dev->control_event_fd, &one, sizeof(one)) < 0)
		return;
}

void tapir_handshake_enqueue(struct tapir_device *dev, const uint8_t *msg, size_t len,
			     const struct tapir_endpoint *from, uint64_t tcp_conn)
{
	struct tapir_handshake_item *item;

	pthread_mutex_lock(&dev->hsq_lock);
	if (dev->hsq_count == TAPIR_HANDSHAKE_QUEUE_LEN) {
		pthread_mutex_unlock(&dev->hsq_lock);
		tapir_device_count_drop(dev, TAPIR_DROP_HANDSHAKE_QUEUE_FULL);
		return;
	}
	item = &dev->hsq[(dev->hsq_head + dev->hsq_count) % TAPIR_HANDSHAKE_QUEUE_LEN];
	item->from = *from;
	item->tcp_conn = tcp_conn;
	item->len = (uint32_t)len;
	memcpy(item->msg, msg, len);
	dev->hsq_count++;
	pthread_mutex_unlock(&dev->hsq_lock);
	wake_control(dev);
}

void tapir_handshake_request(struct tapir_device *dev, struct tapir_peer *peer)
{
	if (atomic_exchange_explicit(&peer->is_handshake_requested, true, memory_order_relaxed))
		return;
	pthread_mutex_lock(&dev->req_lock);
	if (dev->req_count < TAPIR_REQUEST_RING_LEN) {
		dev->req_ids[(dev->req_head + dev->req_count) % TAPIR_REQUEST_RING_LEN] = peer->id;
		dev->req_count++;
	}
	pthread_mutex_unlock(&dev->req_lock);
	wake_control(dev);
}

/*
 * Sends a reply to where @item came from: its TCP connection, or its UDP source from the
 * local address it reached (the kernel answers handshakes the same way).
 */
static int reply_to(struct tapir_device *dev, const struct tapir_handshake_item *item,
		    const void *msg, size_t len)
{
	if (item->tcp_conn)
		return tapir_tcp_send_conn(dev, item->tcp_conn, msg, len);
	return tapir_send_raw(dev, msg, len, &item->from);
}

/*
 * A handshake message from @peer authenticated: its endpoint and transport follow where it
 * came from (a peer we connect to over TCP keeps its configured endpoint).
 */
static void authenticated_from(struct tapir_device *dev, struct tapir_peer *peer,
			       const struct tapir_handshake_item *item)
{
	tapir_tcp_note_authenticated(dev, peer, item->tcp_conn);
	if (!item->tcp_conn && atomic_load(&peer->is_tcp_client))
		return;
	tapir_peer_roam(peer, &item->from);
}

static size_t source_bytes(const union tapir_sockaddr *src, uint8_t out[18])
{
	if (src->sa.sa_family == AF_INET) {
		memcpy(out, &src->in.sin_addr, 4);
		memcpy(out + 4, &src->in.sin_port, 2);
		return 6;
	}
	memcpy(out, &src->in6.sin6_addr, 16);
	memcpy(out + 16, &src->in6.sin6_port, 2);
	return 18;
}

static struct tapir_noise_handshake *lookup_static(void *ctx, const uint8_t key[32])
{
	struct tapir_device *dev = ctx;
	struct tapir_peer *peer = tapir_peer_table_find_key(&dev->peers, key);

	return peer ? &peer->hs : NULL;
}

static struct tapir_noise_handshake *lookup_index(void *ctx, uint32_t index)
{
	struct tapir_device *dev = ctx;
	struct tapir_index_entry *e = tapir_index_table_find(&dev->indices, index);

	return e && !e->keypair ? &e->peer->hs : NULL;
}

static struct tapir_peer *peer_of_hs(struct tapir_noise_handshake *hs)
{
	return tapir_container_of(hs, struct tapir_peer, hs);
}

/* Gives the peer's handshake a fresh receiver index (3.1). Takes the write lock. */
static int new_handshake_index(struct tapir_device *dev, struct tapir_peer *peer)
{
	int ret;

	pthread_rwlock_wrlock(&dev->lock);
	tapir_index_table_remove(&dev->indices, &peer->hs_entry);
	ret = tapir_index_table_insert_new(&dev->indices, &peer->hs_entry, tapir_random_u32);
	pthread_rwlock_unlock(&dev->lock);
	return ret;
}

static void sent_handshake(struct tapir_peer *peer, uint64_t now)
{
	atomic_store_explicit(&peer->last_sent_handshake_ns, now, memory_order_relaxed);
	tapir_timers_any_authenticated_packet_traversal(&peer->timers, now);
	tapir_timers_any_authenticated_packet_sent(&peer->timers);
}

void tapir_handshake_send_initiation(struct tapir_device *dev, struct tapir_peer *peer,
				     bool is_retry)
{
	struct tapir_msg_initiation msg;
	uint8_t eph[32], ts[12];
	union tapir_sockaddr to;
	struct timespec rt;
	uint64_t now = tapir_now_ns();
	uint64_t last = atomic_load_explicit(&peer->last_sent_handshake_ns, memory_order_relaxed);

	if (!is_retry)
		atomic_store_explicit(&peer->timers.handshake_attempts, 0, memory_order_relaxed);
	tapir_peer_get_endpoint(peer, &to);
	if (!dev->local.has_identity || !dev->is_up || !to.sa.sa_family || peer->is_dead)
		return;
	if (last && now - last < tapir_ms_to_ns(REKEY_TIMEOUT_MS)) {
		/*
		 * A retry that falls inside the 5 s limit (we answered an initiation since: the
		 * handshakes crossed) is postponed, not lost, with fresh jitter, so two peers
		 * that both started at once fall out of step instead of crossing again.
		 */
		if (is_retry)
			tapir_timers_handshake_initiated(
			    &peer->timers, last, tapir_random_u32() % REKEY_TIMEOUT_JITTER_MAX_MS);
		return;
	}
	if (new_handshake_index(dev, peer) < 0)
		return;
	tapir_x25519_generate(eph);
	clock_gettime(CLOCK_REALTIME, &rt);
	tapir_noise_tai64n(ts, (uint64_t)rt.tv_sec, (uint32_t)rt.tv_nsec);
	if (tapir_noise_create_initiation(&dev->local, &peer->hs, &msg, peer->hs_entry.index, eph,
					  ts) < 0) {
		log_debug("%s: peer %llu: cannot create initiation", dev->ifname,
			  (unsigned long long)peer->id);
		goto out;
	}
	tapir_cookie_add_macs(&peer->cookie, peer->hs.remote_mac1_key, (uint8_t *)&msg, sizeof(msg),
			      now);
	log_debug("%s: peer %llu: sending handshake initiation", dev->ifname,
		  (unsigned long long)peer->id);
	if (is_retry)
		tapir_tcp_handshake_retry(dev, peer); /* a silent TCP connection is replaced */
	if (tapir_send_raw_peer(dev, peer, &msg, sizeof(msg)) == 0)
		atomic_fetch_add_explicit(&peer->tx_bytes, sizeof(msg), memory_order_relaxed);
	sent_handshake(peer, now);
	tapir_timers_handshake_initiated(&peer->timers, now,
					 tapir_random_u32() % REKEY_TIMEOUT_JITTER_MAX_MS);
out:
	tapir_wipe(eph, sizeof(eph));
}

/*
 * Installs a fresh keypair (3.6) and moves the handshake's index to it. Write lock taken here.
 * Returns the keypair or NULL on allocation failure.
 */
static struct tapir_keypair *install_keypair(struct tapir_device *dev, struct tapir_peer *peer,
					     struct tapir_noise_session_keys *keys, uint64_t now)
{
	/* a context per worker, the control thread and the TCP thread */
	struct tapir_keypair *kp = tapir_keypair_new(keys, peer, dev->nworkers + 2, now);
	struct tapir_keypair *dead1 = NULL, *dead2 = NULL;

	tapir_wipe(keys, sizeof(*keys));
	if (!kp)
		return NULL;
	pthread_rwlock_wrlock(&dev->lock);
	tapir_index_table_remove(&dev->indices, &peer->hs_entry);
	if (tapir_index_table_insert(&dev->indices, &kp->entry) < 0) {
		pthread_rwlock_unlock(&dev->lock);
		tapir_keypair_free(kp);
		return NULL;
	}
	pthread_mutex_lock(&peer->keypair_lock);
	if (kp->is_initiator) {
		if (peer->kp_next) {
			dead1 = peer->kp_previous;
			peer->kp_previous = peer->kp_next;
			peer->kp_next = NULL;
			dead2 = peer->kp_current;
		} else {
			dead1 = peer->kp_previous;
			peer->kp_previous = peer->kp_current;
		}
		peer->kp_current = kp;
	} else {
		dead1 = peer->kp_next;
		dead2 = peer->kp_previous;
		peer->kp_previous = NULL;
		peer->kp_next = kp;
	}
	pthread_mutex_unlock(&peer->keypair_lock);
	tapir_graveyard_retire(&dev->graveyard, dead1);
	tapir_graveyard_retire(&dev->graveyard, dead2);
	tapir_graveyard_reap(&dev->graveyard, &dev->indices);
	pthread_rwlock_unlock(&dev->lock);
	tapir_timers_session_derived(&peer->timers, now);
	return kp;
}

static void send_cookie_reply(struct tapir_device *dev, const struct tapir_handshake_item *item,
			      const uint8_t *src, size_t src_len, uint64_t now)
{
	struct tapir_msg_cookie reply;
	uint8_t nonce[24], secret[32];

	tapir_random_bytes(nonce, sizeof(nonce));
	tapir_random_bytes(secret, sizeof(secret));
	tapir_cookie_create_reply(&dev->cookie_checker, &dev->local, &reply, item->msg, item->len,
				  src, src_len, now, nonce, secret);
	tapir_wipe(secret, sizeof(secret));
	reply_to(dev, item, &reply, sizeof(reply));
}

/* mac1 always, mac2 and the rate limiter under load (4.3). True if the message may proceed. */
static bool check_macs(struct tapir_device *dev, const struct tapir_handshake_item *item,
		       bool is_under_load, uint64_t now)
{
	uint8_t src[18], secret[32];
	size_t src_len = source_bytes(&item->from.addr, src);
	enum tapir_mac_result r;
	const uint8_t *addr = item->from.addr.sa.sa_family == AF_INET
				  ? (const uint8_t *)&item->from.addr.in.sin_addr
				  : (const uint8_t *)&item->from.addr.in6.sin6_addr;

	tapir_random_bytes(secret, sizeof(secret));
	r = tapir_cookie_validate(&dev->cookie_checker, &dev->local, item->msg, item->len, src,
				  src_len, is_under_load, now, secret);
	tapir_wipe(secret, sizeof(secret));
	if (r == TAPIR_MAC_INVALID) {
		tapir_device_count_drop(dev, TAPIR_DROP_HANDSHAKE_INVALID);
		return false;
	}
	if (!is_under_load)
		return true;
	if (r != TAPIR_MAC_VALID_MAC1_AND_MAC2) {
		send_cookie_reply(dev, item, src, src_len, now);
		return false;
	}
	if (!tapir_ratelimiter_allow(dev->ratelimiter, item->from.addr.sa.sa_family, addr, now)) {
		tapir_device_count_drop(dev, TAPIR_DROP_RATELIMITED);
		return false;
	}
	return true;
}

static void process_initiation(struct tapir_device *dev, const struct tapir_handshake_item *item,
			       uint64_t now)
{
	const struct tapir_msg_initiation *msg = (const void *)item->msg;
	struct tapir_noise_session_keys keys;
	struct tapir_msg_response resp;
	struct tapir_noise_handshake *hs;
	struct tapir_peer *peer;
	uint8_t eph[32];
	int ret;

	ret = tapir_noise_consume_initiation(&dev->local, msg, lookup_static, dev, now, &hs);
	if (ret < 0) {
		tapir_device_count_drop(dev, TAPIR_DROP_HANDSHAKE_INVALID);
		log_debug("%s: invalid handshake initiation: %s", dev->ifname, strerror(-ret));
		return;
	}
	peer = peer_of_hs(hs);
	atomic_fetch_add_explicit(&peer->rx_bytes, item->len, memory_order_relaxed);
	authenticated_from(dev, peer, item);
	tapir_timers_any_authenticated_packet_received(&peer->timers);
	tapir_timers_any_authenticated_packet_traversal(&peer->timers, now);
	if (new_handshake_index(dev, peer) < 0) {
		tapir_noise_handshake_clear(
		    hs); /* failed: no chaining key or ephemeral left behind */
		return;
	}
	tapir_x25519_generate(eph);
	ret = tapir_noise_create_response(&dev->local, hs, &resp, peer->hs_entry.index, eph);
	tapir_wipe(eph, sizeof(eph));
	if (ret < 0 || tapir_noise_derive_keys(hs, &keys) < 0) {
		tapir_noise_handshake_clear(hs);
		tapir_wipe(&resp, sizeof(resp));
		return;
	}
	if (!install_keypair(dev, peer, &keys, now))
		return;
	tapir_cookie_add_macs(&peer->cookie, hs->remote_mac1_key, (uint8_t *)&resp, sizeof(resp),
			      now);
	log_debug("%s: peer %llu: sending handshake response", dev->ifname,
		  (unsigned long long)peer->id);
	if (reply_to(dev, item, &resp, sizeof(resp)) == 0)
		atomic_fetch_add_explicit(&peer->tx_bytes, sizeof(resp), memory_order_relaxed);
	sent_handshake(peer, now);
}

static void process_response(struct tapir_device *dev, const struct tapir_handshake_item *item,
			     uint64_t now)
{
	const struct tapir_msg_response *msg = (const void *)item->msg;
	struct tapir_send_ctx tx = tapir_send_ctx_control(dev);
	struct tapir_noise_session_keys keys;
	struct tapir_noise_handshake *hs;
	struct tapir_peer *peer;
	int ret;

	ret = tapir_noise_consume_response(&dev->local, msg, lookup_index, dev, &hs);
	if (ret < 0) {
		tapir_device_count_drop(dev, TAPIR_DROP_HANDSHAKE_INVALID);
		log_debug("%s: invalid handshake response: %s", dev->ifname, strerror(-ret));
		return;
	}
	peer = peer_of_hs(hs);
	atomic_fetch_add_explicit(&peer->rx_bytes, item->len, memory_order_relaxed);
	authenticated_from(dev, peer, item);
	if (tapir_noise_derive_keys(hs, &keys) < 0 || !install_keypair(dev, peer, &keys, now))
		return;
	log_debug("%s: peer %llu: handshake complete (initiator)", dev->ifname,
		  (unsigned long long)peer->id);
	tapir_timers_handshake_complete(&peer->timers);
	tapir_peer_record_handshake_time(peer);
	tapir_timers_any_authenticated_packet_received(&peer->timers);
	tapir_timers_any_authenticated_packet_traversal(&peer->timers, now);
	/* key confirmation: staged data, or a keepalive (3.5 step 12) */
	tapir_send_keepalive(dev, &tx, peer);
	tapir_l2_session_started(dev, &tx, peer);
}

static void process_cookie(struct tapir_device *dev, const struct tapir_handshake_item *item,
			   uint64_t now)
{
	const struct tapir_msg_cookie *msg = (const void *)item->msg;
	struct tapir_index_entry *e;

	e = tapir_index_table_find(&dev->indices, tapir_le32_get(msg->receiver_index));
	if (!e || tapir_cookie_consume_reply(&e->peer->cookie, e->peer->hs.remote_cookie_key, msg,
					     now) < 0) {
		tapir_device_count_drop(dev, TAPIR_DROP_HANDSHAKE_INVALID);
		return;
	}
	log_debug("%s: peer %llu: received cookie reply", dev->ifname,
		  (unsigned long long)e->peer->id);
}

static void process_requests(struct tapir_device *dev)
{
	for (unsigned int i = 0; i < MAX_ITEMS_PER_ROUND; i++) {
		struct tapir_peer *peer;
		uint64_t id;

		pthread_mutex_lock(&dev->req_lock);
		if (!dev->req_count) {
			pthread_mutex_unlock(&dev->req_lock);
			return;
		}
		id = dev->req_ids[dev->req_head];
		dev->req_head = (dev->req_head + 1) % TAPIR_REQUEST_RING_LEN;
		dev->req_count--;
		pthread_mutex_unlock(&dev->req_lock);
		peer = tapir_peer_table_find_id(&dev->peers, id);
		if (!peer)
			continue;
		atomic_store_explicit(&peer->is_handshake_requested, false, memory_order_relaxed);
		tapir_handshake_send_initiation(dev, peer, false);
	}
	wake_control(dev);
}

void tapir_handshake_process_queues(struct tapir_device *dev)
{
	struct tapir_handshake_item item;
	uint64_t now = tapir_now_ns();
	unsigned int backlog;
	bool is_under_load;

	process_requests(dev);
	pthread_mutex_lock(&dev->hsq_lock);
	backlog = dev->hsq_count;
	pthread_mutex_unlock(&dev->hsq_lock);
	if (backlog >= TAPIR_UNDER_LOAD_QUEUE_LEN)
		dev->under_load_until_ns = now + tapir_ms_to_ns(UNDER_LOAD_HOLD_MS);
	is_under_load = now < dev->under_load_until_ns;
	for (unsigned int i = 0; i < MAX_ITEMS_PER_ROUND; i++) {
		pthread_mutex_lock(&dev->hsq_lock);
		if (!dev->hsq_count) {
			pthread_mutex_unlock(&dev->hsq_lock);
			return;
		}
		item = dev->hsq[dev->hsq_head];
		dev->hsq_head = (dev->hsq_head + 1) % TAPIR_HANDSHAKE_QUEUE_LEN;
		dev->hsq_count--;
		pthread_mutex_unlock(&dev->hsq_lock);
		if (!dev->local.has_identity)
			continue;
		if (item.msg[0] != TAPIR_MSG_COOKIE && !check_macs(dev, &item, is_under_load, now))
			continue;
		switch (item.msg[0]) {
		case TAPIR_MSG_INITIATION:
			process_initiation(dev, &item, now);
			break;
		case TAPIR_MSG_RESPONSE:
			process_response(dev, &item, now);
			break;
		default:
			process_cookie(dev, &item, now);
			break;
		}
	}
	wake_control(dev);
}

void tapir_peer_zero_keys(struct tapir_device *dev, struct tapir_peer *peer)
{
	struct tapir_keypair *a, *b, *c;

	pthread_mutex_lock(&peer->keypair_lock);
	a = peer->kp_current;
	b = peer->kp_previous;
	c = peer->kp_next;
	peer->kp_current = peer->kp_previous = peer->kp_next = NULL;
	pthread_mutex_unlock(&peer->keypair_lock);
	tapir_graveyard_retire(&dev->graveyard, a);
	tapir_graveyard_retire(&dev->graveyard, b);
	tapir_graveyard_retire(&dev->graveyard, c);
	tapir_noise_handshake_clear(&peer->hs);
	tapir_index_table_remove(&dev->indices, &peer->hs_entry);
}

static void run_timer_actions(struct tapir_device *dev, struct tapir_peer *peer,
			      unsigned int actions, uint64_t now)
{
	if (actions & TAPIR_TIMER_GIVE_UP) {
		log_debug("%s: peer %llu: handshake did not complete after %d attempts, giving up",
			  dev->ifname, (unsigned long long)peer->id, MAX_TIMER_HANDSHAKES + 2);
		tapir_send_drop_staged(dev, peer);
	}
	/* 5.3: a handshake that goes unanswered may be sent from a source that no longer
	 * works; retries go from the kernel's choice until the peer reaches us again */
	if (actions & (TAPIR_TIMER_RETRY_HANDSHAKE | TAPIR_TIMER_NEW_HANDSHAKE))
		tapir_peer_forget_local(peer, NULL);
	if (actions & TAPIR_TIMER_RETRY_HANDSHAKE)
		tapir_handshake_send_initiation(dev, peer, true);
	if (actions & TAPIR_TIMER_NEW_HANDSHAKE)
		tapir_handshake_send_initiation(dev, peer, false);
	if (actions & TAPIR_TIMER_SEND_KEEPALIVE) {
		struct tapir_send_ctx tx = tapir_send_ctx_control(dev);

		tapir_send_keepalive(dev, &tx, peer);
		if (actions & TAPIR_TIMER_PASSIVE_KEEPALIVE)
			tapir_timers_passive_keepalive_sent(&peer->timers, now);
	}
	if (actions & TAPIR_TIMER_ZERO_KEY_MATERIAL) {
		pthread_rwlock_wrlock(&dev->lock);
		tapir_peer_zero_keys(dev, peer);
		pthread_rwlock_unlock(&dev->lock);
	}
}

/*
 * Expires @p's timers and keeps it on the soon list while it has a deadline before the next
 * full scan (the scan after that finds the later ones in time).
 */
static void visit_peer(struct tapir_device *dev, struct tapir_peer *p, uint64_t now_ns)
{
	unsigned int actions = tapir_timers_expire(&p->timers, now_ns);
	uint64_t next;

	if (actions && dev->is_up)
		run_timer_actions(dev, p, actions, now_ns);
	next = tapir_timers_next_deadline(&p->timers);
	if (next && next < dev->timer_next_scan_ns)
		tapir_peer_table_soon_add(&dev->peers, p);
	else
		tapir_peer_table_soon_remove(&dev->peers, p);
	atomic_fetch_add_explicit(&dev->timer_stats[TAPIR_TIMER_STAT_VISITS], 1,
				  memory_order_relaxed);
}

/*
 * 5.3's timers at tick resolution without looking at every peer on every tick: a full scan
 * every TAPIR_TIMER_MIN_ARM_MS, and the ticks between look only at the peers the last look
 * found due before the next scan. A timer armed by a worker meanwhile lies at least that far
 * ahead (timers.h), so the next scan still sees it in time, at worst on the tick it falls due.
 */
void tapir_handshake_tick(struct tapir_device *dev, uint64_t now_ns)
{
	if (now_ns >= dev->timer_next_scan_ns) {
		dev->timer_next_scan_ns = now_ns + tapir_ms_to_ns(TAPIR_TIMER_MIN_ARM_MS);
		atomic_fetch_add_explicit(&dev->timer_stats[TAPIR_TIMER_STAT_SCANS], 1,
					  memory_order_relaxed);
		for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next)
			visit_peer(dev, p, now_ns);
	} else {
		for (struct tapir_peer *p = dev->peers.soon, *next; p; p = next) {
			next = p->soon_next;
			visit_peer(dev, p, now_ns);
		}
	}
	if (!tapir_graveyard_is_empty(&dev->graveyard)) {
		pthread_rwlock_wrlock(&dev->lock);
		tapir_graveyard_reap(&dev->graveyard, &dev->indices);
		pthread_rwlock_unlock(&dev->lock);
	}
}
