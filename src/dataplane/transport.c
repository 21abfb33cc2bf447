// SPDX-License-Identifier: MIT
/*
 * The TCP transport's peer binding (see transport.h for the rules): which connection carries
 * which peer, the per-peer reconnect backoff, and the callbacks through which net/tcpnet.c
 * hands up what it received. Received messages go the same way as UDP datagrams: handshakes
 * to the control thread's queue (tagged with the connection, so replies return on it), data
 * through tapir_receive_batch() with the TCP thread's own worker context.
 */
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "log.h"

struct tapir_tcp {
	struct tapir_device *dev;
	struct tapir_tcpnet *net;
	struct tapir_worker *w; /* the TCP thread's receive context */
	/*
	 * The peers with a TCP endpoint (is_tcp_client), in the order they got it, linked
	 * through tcp_prev/tcp_next: written under the device write lock, walked by on_tick
	 * under the read lock, so that a tick costs nothing per UDP peer.
	 */
	struct tapir_peer *clients_first, *clients_last;
};

uint64_t tapir_tcp_stat_get(const struct tapir_device *dev, enum tapir_tcp_stat stat)
{
	return dev->tcp ? tapir_tcpnet_stat(dev->tcp->net, stat) : 0;
}

uint16_t tapir_tcp_listen_port(const struct tapir_device *dev)
{
	return dev->tcp ? tapir_tcpnet_listen_port(dev->tcp->net) : 0;
}

bool tapir_tcp_is_listen_on(const struct tapir_device *dev)
{
	return dev->tcp && tapir_tcpnet_is_listen_on(dev->tcp->net);
}

/* --- send side (any thread) --- */

static uint64_t backoff_delay_ns(uint32_t backoff_ms)
{
	/* jitter: 75 % to 125 % of the step, so peers that failed together retry apart */
	uint64_t ms = backoff_ms * 3 / 4 + tapir_random_u32() % (backoff_ms / 2 + 1);

	return tapir_ms_to_ns(ms);
}

/*
 * Starts a connection for @peer unless its backoff says wait. Returns its id, 0 if none was
 * started. Transport lock held.
 */
static uint64_t connect_locked(struct tapir_tcp *t, struct tapir_peer *peer, uint64_t now)
{
	union tapir_sockaddr to;
	char text[INET6_ADDRSTRLEN + 16];
	uint64_t id = 0;
	int ret;

	if (now < peer->tcp_next_connect_ns || !t->dev->is_up)
		return 0;
	if (peer->tcp_backoff_ms < TAPIR_TCP_BACKOFF_MIN_MS)
		peer->tcp_backoff_ms = TAPIR_TCP_BACKOFF_MIN_MS;
	peer->tcp_next_connect_ns = now + backoff_delay_ns(peer->tcp_backoff_ms);
	peer->tcp_backoff_ms = peer->tcp_backoff_ms * 2 > TAPIR_TCP_BACKOFF_MAX_MS
				   ? TAPIR_TCP_BACKOFF_MAX_MS
				   : peer->tcp_backoff_ms * 2;
	tapir_peer_get_endpoint(peer, &to);
	if (!to.sa.sa_family)
		return 0;
	tapir_sockaddr_format(text, sizeof(text), &to);
	ret = tapir_tcpnet_connect_locked(t->net, &to, peer->id, now, t->dev->sock_ops, &id);
	if (ret == -ENOSPC) /* the table is full: counted refused */
		return 0;
	if (ret < 0) {
		log_debug("%s: peer %llu: tcp connect to %s: %s", t->dev->ifname,
			  (unsigned long long)peer->id, text, strerror(-ret));
		return 0;
	}
	atomic_store(&peer->tcp_conn, id);
	log_debug("%s: peer %llu: tcp connecting to %s (connection %llu)", t->dev->ifname,
		  (unsigned long long)peer->id, text, (unsigned long long)id);
	return id;
}

bool tapir_tcp_is_peer_tcp(const struct tapir_peer *peer)
{
	return atomic_load_explicit(&peer->is_tcp_client, memory_order_relaxed) ||
	       atomic_load_explicit(&peer->tcp_conn, memory_order_relaxed);
}

int tapir_tcp_send(struct tapir_device *dev, struct tapir_peer *peer, const void *msg, size_t len,
		   bool is_data)
{
	struct tapir_tcp *t = dev->tcp;
	uint64_t id;
	int ret;

	if (!t)
		return -ENOTCONN;
	tapir_tcpnet_lock(t->net);
	id = atomic_load(&peer->tcp_conn);
	if (!tapir_tcpnet_is_alive_locked(t->net, id) && atomic_load(&peer->is_tcp_client))
		id = connect_locked(t, peer, tapir_now_ns());
	ret = tapir_tcpnet_queue_locked(t->net, id, msg, len,
					is_data ? TAPIR_TCPNET_DATA : TAPIR_TCPNET_CONTROL);
	tapir_tcpnet_unlock(t->net);
	if (ret == -ENOENT)
		ret = -ENOTCONN;
	if (ret == -ENOTCONN)
		tapir_device_count_drop(dev, TAPIR_DROP_NO_ENDPOINT);
	return ret;
}

int tapir_tcp_send_conn(struct tapir_device *dev, uint64_t conn_id, const void *msg, size_t len)
{
	int ret;

	if (!dev->tcp)
		return -ENOTCONN;
	ret = tapir_tcpnet_send(dev->tcp->net, conn_id, msg, len, TAPIR_TCPNET_CONTROL);
	return ret == -ENOENT ? -ENOTCONN : ret;
}

/* --- the peer binding --- */

/* Appends @peer to the TCP clients. Device write lock held. */
static void clients_link(struct tapir_tcp *t, struct tapir_peer *peer)
{
	peer->tcp_next = NULL;
	peer->tcp_prev = t->clients_last;
	if (t->clients_last)
		t->clients_last->tcp_next = peer;
	else
		t->clients_first = peer;
	t->clients_last = peer;
}

/* Takes @peer off the TCP clients. Device write lock held. */
static void clients_unlink(struct tapir_tcp *t, struct tapir_peer *peer)
{
	if (peer->tcp_prev)
		peer->tcp_prev->tcp_next = peer->tcp_next;
	else
		t->clients_first = peer->tcp_next;
	if (peer->tcp_next)
		peer->tcp_next->tcp_prev = peer->tcp_prev;
	else
		t->clients_last = peer->tcp_prev;
	peer->tcp_prev = NULL;
	peer->tcp_next = NULL;
}

/*
 * Whether @peer has anything to do with TCP: a TCP endpoint, or a connection carrying it.
 * Control thread, device write lock held: the other threads change tcp_conn only under the
 * read lock. (A connection missed here would still close on the next periodic tick, since
 * is_wanted finds no peer for it.)
 */
static bool has_tcp_state(const struct tapir_peer *peer)
{
	return atomic_load_explicit(&peer->is_tcp_client, memory_order_relaxed) ||
	       atomic_load_explicit(&peer->tcp_conn, memory_order_relaxed) ||
	       atomic_load_explicit(&peer->tcp_authed_conn, memory_order_relaxed);
}

void tapir_tcp_note_authenticated(struct tapir_device *dev, struct tapir_peer *peer,
				  uint64_t conn_id)
{
	struct tapir_tcp *t = dev->tcp;
	uint64_t old_id;
	int ret;

	if (!t)
		return;
	if (!conn_id) {
		/* over UDP: back to UDP, unless we are the side that connects */
		if (atomic_load_explicit(&peer->tcp_conn, memory_order_relaxed) &&
		    !atomic_load_explicit(&peer->is_tcp_client, memory_order_relaxed)) {
			atomic_store(&peer->tcp_conn, 0);
			atomic_store(&peer->tcp_authed_conn, 0);
		}
		return;
	}
	if (atomic_load_explicit(&peer->tcp_authed_conn, memory_order_relaxed) == conn_id)
		return; /* the usual case: nothing changes */
	/* one transport-lock section: the TCP thread's expiry never sees the connection
	 * authenticated for @peer while @peer still names another one */
	tapir_tcpnet_lock(t->net);
	ret = tapir_tcpnet_authenticate_locked(t->net, conn_id, peer->id);
	if (ret < 0) {
		tapir_tcpnet_unlock(t->net);
		return;
	}
	if (ret == 1) /* ours: the endpoint works, so the next failure starts afresh */
		peer->tcp_backoff_ms = TAPIR_TCP_BACKOFF_MIN_MS;
	old_id = atomic_exchange(&peer->tcp_conn, conn_id);
	atomic_store(&peer->tcp_authed_conn, conn_id);
	if (old_id != conn_id)
		tapir_tcpnet_close_locked(t->net, old_id, TAPIR_TCP_STAT_CLOSED_REPLACED);
	tapir_tcpnet_unlock(t->net);
	log_debug("%s: peer %llu: tcp connection %llu authenticated", dev->ifname,
		  (unsigned long long)peer->id, (unsigned long long)conn_id);
}

void tapir_tcp_set_peer_transport(struct tapir_device *dev, struct tapir_peer *peer, bool is_tcp,
				  bool is_reconnect)
{
	struct tapir_tcp *t = dev->tcp;
	bool was_tcp;

	/* a UDP peer that stays one and holds no connection: nothing here changes, and the
	 * TCP thread is not woken (a mesh moves thousands of UDP endpoints) */
	if (!is_tcp && !has_tcp_state(peer))
		return;
	was_tcp = atomic_exchange(&peer->is_tcp_client, is_tcp);
	if (!t)
		return;
	if (was_tcp != is_tcp)
		(is_tcp ? clients_link : clients_unlink)(t, peer);
	if (was_tcp == is_tcp && !is_reconnect)
		return;
	tapir_tcpnet_lock(t->net);
	peer->tcp_backoff_ms = TAPIR_TCP_BACKOFF_MIN_MS;
	peer->tcp_next_connect_ns = 0;
	/* the old connection (if any) no longer matches: the next tick closes it */
	atomic_store(&peer->tcp_conn, 0);
	atomic_store(&peer->tcp_authed_conn, 0);
	tapir_tcpnet_unlock(t->net);
	tapir_tcpnet_wake(t->net);
}

void tapir_tcp_handshake_retry(struct tapir_device *dev, struct tapir_peer *peer)
{
	struct tapir_tcp *t = dev->tcp;
	uint64_t now = tapir_now_ns();

	if (!t || !atomic_load(&peer->is_tcp_client))
		return;
	tapir_tcpnet_lock(t->net);
	if (tapir_tcpnet_close_silent_locked(t->net, atomic_load(&peer->tcp_conn), now,
					     tapir_ms_to_ns(REKEY_TIMEOUT_MS)))
		peer->tcp_next_connect_ns = 0; /* the retry itself connects anew */
	tapir_tcpnet_unlock(t->net);
}

void tapir_tcp_remove_peer(struct tapir_device *dev, struct tapir_peer *peer)
{
	struct tapir_tcp *t = dev->tcp;

	/* a UDP peer: no connection to close, so no wakeup (removal stays O(1)) */
	if (!t || !has_tcp_state(peer))
		return;
	if (atomic_load_explicit(&peer->is_tcp_client, memory_order_relaxed))
		clients_unlink(t, peer);
	tapir_tcpnet_wake(t->net);
}

void tapir_tcp_set_fwmark(struct tapir_device *dev, uint32_t fwmark)
{
	if (dev->tcp)
		tapir_tcpnet_set_fwmark(dev->tcp->net, fwmark, dev->sock_ops);
}

int tapir_tcp_listen(struct tapir_device *dev, uint16_t port)
{
	if (!dev->tcp)
		return -ENOTCONN;
	return tapir_tcpnet_listen(dev->tcp->net, port, dev->sock_ops);
}

int tapir_tcp_set_listen(struct tapir_device *dev, bool is_on)
{
	if (!dev->tcp)
		return -ENOTCONN;
	if (!tapir_tcpnet_switch_listen(dev->tcp->net, is_on))
		return 0;
	if (!dev->is_up)
		return 0; /* the first bind opens it */
	/* connections accepted before an off stay: authenticated ones carry peers, the others
	 * expire on their own (first frame, authentication) */
	return tapir_tcpnet_relisten(dev->tcp->net, dev->sock_ops);
}

/* --- callbacks from the TCP thread --- */

/* Hands the collected data messages to the receive path. Device read lock held. */
static void receive_data(struct tapir_tcp *t, uint64_t conn_id, const union tapir_sockaddr *from,
			 unsigned int n)
{
	struct tapir_worker *w = t->w;

	if (!n)
		return;
	for (unsigned int i = 0; i < n; i++) {
		w->rx_msgs[i] = tapir_pkt_data(w->pkts[i]);
		w->rx_lens[i] = w->pkts[i]->len;
		memset(&w->rx_from[i], 0, sizeof(w->rx_from[i])); /* no local address: TCP */
		w->rx_from[i].addr = *from;
	}
	w->rx_tcp_conn = conn_id;
	tapir_receive_batch(t->dev, w, w->rx_msgs, w->rx_lens, w->rx_from, n);
}

/* Handshakes to the control thread, data through the receive path in batches. */
static void on_frames(void *ctx, uint64_t conn_id, const union tapir_sockaddr *from,
		      const uint8_t *const *msgs, const size_t *lens, unsigned int n)
{
	struct tapir_tcp *t = ctx;
	struct tapir_device *dev = t->dev;
	struct tapir_worker *w = t->w;
	unsigned int ndata = 0;

	pthread_rwlock_rdlock(&dev->lock);
	for (unsigned int i = 0; i < n; i++) {
		if (msgs[i][0] != TAPIR_MSG_DATA) {
			struct tapir_endpoint ep = {.addr = *from};

			tapir_handshake_enqueue(dev, msgs[i], lens[i], &ep, conn_id);
			continue;
		}
		if (lens[i] > TAPIR_PKT_DATA_MAX) {
			tapir_device_count_drop(dev, TAPIR_DROP_TOO_BIG);
			continue;
		}
		w->pkts[ndata]->off = TAPIR_PKT_HEADROOM;
		w->pkts[ndata]->len = (uint32_t)lens[i];
		memcpy(tapir_pkt_data(w->pkts[ndata]), msgs[i], lens[i]);
		if (++ndata == TAPIR_BATCH) {
			receive_data(t, conn_id, from, ndata);
			ndata = 0;
		}
	}
	receive_data(t, conn_id, from, ndata);
	pthread_rwlock_unlock(&dev->lock);
}

/* A connection of ours is up: authenticate it at once. */
static void on_connected(void *ctx, uint64_t conn_id, uint64_t peer_id,
			 const union tapir_sockaddr *to)
{
	struct tapir_tcp *t = ctx;
	struct tapir_device *dev = t->dev;
	struct tapir_peer *peer;
	char text[INET6_ADDRSTRLEN + 16];

	tapir_sockaddr_format(text, sizeof(text), to);
	log_info("%s: peer %llu: tcp connected to %s", dev->ifname, (unsigned long long)peer_id,
		 text);
	pthread_rwlock_rdlock(&dev->lock);
	peer = tapir_peer_table_find_id(&dev->peers, peer_id);
	if (peer && !peer->is_dead && atomic_load(&peer->tcp_conn) == conn_id) {
		/* a live session: a keepalive on the new connection tells the other side that it
		 * carries us now; without one, a handshake */
		struct tapir_send_ctx tx = tapir_send_ctx_worker(t->w);

		if (tapir_send_keypair(peer, tapir_now_ns()))
			tapir_send_keepalive(dev, &tx, peer);
		else
			tapir_handshake_request(dev, peer);
	}
	pthread_rwlock_unlock(&dev->lock);
}

/*
 * Whether @conn_id still carries peer @peer_id: the peer lives, names it, and (for ours)
 * still has a TCP endpoint. Device read lock (on_tick) and transport lock held.
 */
static bool is_wanted(void *ctx, uint64_t conn_id, uint64_t peer_id, bool is_outgoing)
{
	struct tapir_tcp *t = ctx;
	struct tapir_peer *peer =
	    peer_id ? tapir_peer_table_find_id(&t->dev->peers, peer_id) : NULL;

	if (!peer || peer->is_dead || atomic_load(&peer->tcp_conn) != conn_id)
		return false;
	return !is_outgoing || atomic_load(&peer->is_tcp_client);
}

/*
 * Closes what expired and connects peers with a TCP endpoint and no connection: the work is
 * per connection and per TCP client, none per UDP peer.
 */
static void on_tick(void *ctx, uint64_t now)
{
	struct tapir_tcp *t = ctx;
	struct tapir_device *dev = t->dev;

	pthread_rwlock_rdlock(&dev->lock);
	tapir_tcpnet_lock(t->net);
	tapir_tcpnet_expire_locked(t->net, now);
	for (struct tapir_peer *p = t->clients_first; dev->is_up && p; p = p->tcp_next) {
		if (p->is_dead)
			continue;
		if (!tapir_tcpnet_is_alive_locked(t->net, atomic_load(&p->tcp_conn)))
			connect_locked(t, p, now);
	}
	tapir_tcpnet_unlock(t->net);
	pthread_rwlock_unlock(&dev->lock);
}

static void on_fatal(void *ctx, int err)
{
	struct tapir_tcp *t = ctx;

	tapir_device_request_stop(t->dev, -EIO);
}

/* --- lifetime --- */

int tapir_tcp_init(struct tapir_device *dev)
{
	struct tapir_tcp *t = calloc(1, sizeof(*t));
	struct tapir_tcpnet_ops ops = {
	    .ctx = t,
	    .on_frames = on_frames,
	    .on_connected = on_connected,
	    .is_wanted = is_wanted,
	    .on_tick = on_tick,
	    .on_fatal = on_fatal,
	};
	int ret;

	if (!t)
		return -ENOMEM;
	dev->tcp = t;
	t->dev = dev;
	ret = tapir_tcpnet_create(&t->net, dev->ifname, &ops, dev->stop_event_fd);
	if (ret < 0)
		return ret;
	t->w = calloc(1, sizeof(*t->w));
	if (!t->w)
		return -ENOMEM;
	ret = tapir_worker_init_buffers(t->w);
	if (ret < 0)
		return ret;
	t->w->dev = dev;
	t->w->slot = dev->nworkers + 1; /* after the workers and the control thread */
	t->w->tun_fd = dev->workers[0].tun_fd;
	t->w->udp_fd = -1;
	t->w->epoll_fd = -1;
	dev->tcp_worker = t->w;
	return 0;
}

int tapir_tcp_start(struct tapir_device *dev)
{
	return tapir_tcpnet_start(dev->tcp->net);
}

void tapir_tcp_destroy(struct tapir_device *dev)
{
	struct tapir_tcp *t = dev->tcp;

	if (!t)
		return;
	tapir_tcpnet_destroy(t->net); /* joins the thread: no callback runs after this */
	if (t->w)
		tapir_worker_free_buffers(t->w);
	free(t->w);
	free(t);
	dev->tcp = NULL;
	dev->tcp_worker = NULL;
}
