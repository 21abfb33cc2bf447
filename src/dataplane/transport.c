// SPDX-License-Identifier: MIT
/*
 * The TCP transport: listener, connections, their send queues and the TCP thread (see
 * transport.h for the rules). Received messages go the same way as UDP datagrams:
 * handshakes to the control thread's queue (tagged with the connection, so replies return on
 * it), data through tapir_receive_batch() with this thread's own worker context.
 */
#include "transport.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "log.h"
#include "tcpframe.h"
#include "tcpsock.h"
#include "udp.h"

enum {
	EV_WAKE = 0,
	EV_STOP = 1,
	EV_LISTEN = 2,
	FIRST_CONN_ID = 16, /* epoll data below this are the fixed fds above */
	READ_ROUNDS = 8,    /* reads per connection and wakeup, for fairness */
	ACCEPTS_PER_WAKE = 16,
};

struct tapir_tcp_conn {
	uint64_t id;
	int fd;
	bool is_client;	    /* we connected, for peer_id */
	bool is_connecting; /* connect() in progress */
	bool is_authenticated;
	bool is_dead; /* a sender saw an error: the TCP thread closes it */
	bool is_out_armed;
	bool has_frame; /* a complete frame arrived (the first-frame deadline is met) */
	enum tapir_tcp_stat dead_reason;
	uint64_t peer_id; /* client: the peer it is for; server: once authenticated */
	union tapir_sockaddr remote;
	uint64_t created_ns, last_rx_ns, partial_since_ns;
	size_t tx_head, tx_len; /* ring in txq */
	uint8_t txq[TAPIR_TCP_SENDQ_BYTES];
	struct tapir_tcpframe_reader rx; /* TCP thread only */
};

struct tapir_tcp {
	struct tapir_device *dev;
	pthread_mutex_t lock;
	struct tapir_tcp_conn *conns[TAPIR_TCP_MAX_CONNS]; /* lock; slot = id % MAX */
	unsigned int nconns, npending;			   /* lock */
	uint64_t next_id;				   /* lock */
	int listen_fd;					   /* lock */
	_Atomic uint16_t listen_port;
	_Atomic bool is_listen_on; /* written by the control thread only */
	uint16_t bound_port;	   /* control thread: the UDP port, where the listener goes */
	_Atomic uint32_t fwmark;
	int epoll_fd, event_fd;
	pthread_t thread;
	bool is_started;
	struct tapir_worker *w;				     /* the TCP thread's receive context */
	struct tapir_tcp_conn *closing[TAPIR_TCP_MAX_CONNS]; /* TCP thread scratch */
	enum tapir_tcp_stat closing_why[TAPIR_TCP_MAX_CONNS];
	_Atomic uint64_t stats[TAPIR_TCP_STAT_MAX];
};

const char *tapir_tcp_stat_name(enum tapir_tcp_stat stat)
{
	static const char *const names[TAPIR_TCP_STAT_MAX] = {
	    [TAPIR_TCP_STAT_ACCEPTED] = "accepted",
	    [TAPIR_TCP_STAT_REFUSED] = "refused",
	    [TAPIR_TCP_STAT_CONNECTED] = "connected",
	    [TAPIR_TCP_STAT_CONNECT_FAILED] = "connect_failed",
	    [TAPIR_TCP_STAT_AUTHENTICATED] = "authenticated",
	    [TAPIR_TCP_STAT_CLOSED_GARBAGE] = "closed_garbage",
	    [TAPIR_TCP_STAT_CLOSED_TIMEOUT] = "closed_timeout",
	    [TAPIR_TCP_STAT_CLOSED_ERROR] = "closed_error",
	    [TAPIR_TCP_STAT_CLOSED_REPLACED] = "closed_replaced",
	    [TAPIR_TCP_STAT_QUEUE_FULL] = "queue_full",
	    [TAPIR_TCP_STAT_REFUSED_SOURCE] = "refused_source",
	    [TAPIR_TCP_STAT_EVICTED] = "evicted",
	    [TAPIR_TCP_STAT_CLOSED_FIRST_FRAME] = "closed_first_frame",
	};
	return stat < TAPIR_TCP_STAT_MAX ? names[stat] : "unknown";
}

static void count(struct tapir_tcp *t, enum tapir_tcp_stat stat)
{
	atomic_fetch_add_explicit(&t->stats[stat], 1, memory_order_relaxed);
}

uint64_t tapir_tcp_stat_get(const struct tapir_device *dev, enum tapir_tcp_stat stat)
{
	return dev->tcp ? atomic_load_explicit(&dev->tcp->stats[stat], memory_order_relaxed) : 0;
}

uint16_t tapir_tcp_listen_port(const struct tapir_device *dev)
{
	return dev->tcp ? atomic_load(&dev->tcp->listen_port) : 0;
}

static void wake(struct tapir_tcp *t)
{
	uint64_t one = 1;
	/* a failed write means the counter is saturated: a wakeup is pending anyway */
	if (write(t->event_fd, &one, sizeof(one)) < 0)
		return;
}

static struct tapir_tcp_conn *find_locked(struct tapir_tcp *t, uint64_t id)
{
	struct tapir_tcp_conn *c;

	if (id < FIRST_CONN_ID)
		return NULL;
	c = t->conns[id % TAPIR_TCP_MAX_CONNS];
	return c && c->id == id ? c : NULL;
}

static void set_events_locked(struct tapir_tcp *t, struct tapir_tcp_conn *c, bool want_out)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = c->id};

	if (want_out == c->is_out_armed)
		return;
	if (want_out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->is_out_armed = want_out;
}

static void mark_dead_locked(struct tapir_tcp *t, struct tapir_tcp_conn *c, enum tapir_tcp_stat why)
{
	if (c->is_dead)
		return;
	c->is_dead = true;
	c->dead_reason = why;
	wake(t);
}

/* A new connection in the table and the epoll set. NULL when full (fd left open). */
static struct tapir_tcp_conn *new_conn_locked(struct tapir_tcp *t, int fd,
					      const union tapir_sockaddr *remote, bool is_client,
					      bool is_connecting, uint64_t now)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
	struct tapir_tcp_conn *c;
	unsigned int tries;

	if (t->nconns >= TAPIR_TCP_MAX_CONNS)
		return NULL;
	c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	memset(c, 0, offsetof(struct tapir_tcp_conn, txq));
	tapir_tcpframe_reset(&c->rx);
	/* a fresh id whose slot is free: lookups stay one array access */
	for (tries = 0; tries < TAPIR_TCP_MAX_CONNS; tries++) {
		uint64_t id = t->next_id++;

		if (id >= FIRST_CONN_ID && !t->conns[id % TAPIR_TCP_MAX_CONNS]) {
			c->id = id;
			break;
		}
	}
	c->fd = fd;
	c->is_client = is_client;
	c->is_connecting = is_connecting;
	c->remote = *remote;
	c->created_ns = now;
	c->last_rx_ns = now;
	ev.data.u64 = c->id;
	if (is_connecting) {
		ev.events |= EPOLLOUT;
		c->is_out_armed = true;
	}
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return NULL;
	}
	t->conns[c->id % TAPIR_TCP_MAX_CONNS] = c;
	t->nconns++;
	if (!is_client)
		t->npending++;
	return c;
}

static void unlink_locked(struct tapir_tcp *t, struct tapir_tcp_conn *c)
{
	t->conns[c->id % TAPIR_TCP_MAX_CONNS] = NULL;
	t->nconns--;
	if (!c->is_client && !c->is_authenticated)
		t->npending--;
}

static void free_conn(struct tapir_tcp_conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c);
}

static void close_conn(struct tapir_tcp *t, struct tapir_tcp_conn *c, enum tapir_tcp_stat why)
{
	char text[INET6_ADDRSTRLEN + 16];

	pthread_mutex_lock(&t->lock);
	unlink_locked(t, c);
	pthread_mutex_unlock(&t->lock);
	count(t, why);
	tapir_sockaddr_format(text, sizeof(text), &c->remote);
	log_debug("%s: tcp: connection %llu %s %s closed: %s", t->dev->ifname,
		  (unsigned long long)c->id, c->is_client ? "to" : "from", text,
		  tapir_tcp_stat_name(why));
	free_conn(c);
}

/* --- send side (any thread) --- */

static void ring_append(struct tapir_tcp_conn *c, const uint8_t *p, size_t n)
{
	size_t tail = (c->tx_head + c->tx_len) % TAPIR_TCP_SENDQ_BYTES;
	size_t first = TAPIR_TCP_SENDQ_BYTES - tail < n ? TAPIR_TCP_SENDQ_BYTES - tail : n;

	memcpy(c->txq + tail, p, first);
	memcpy(c->txq, p + first, n - first);
	c->tx_len += n;
}

/* Writes what the queue holds; disarms EPOLLOUT once it is empty. */
static void flush_locked(struct tapir_tcp *t, struct tapir_tcp_conn *c)
{
	while (c->tx_len && !c->is_dead && !c->is_connecting) {
		struct iovec iov[2];
		size_t first = TAPIR_TCP_SENDQ_BYTES - c->tx_head;
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 1};
		ssize_t n;

		if (first > c->tx_len)
			first = c->tx_len;
		iov[0].iov_base = c->txq + c->tx_head;
		iov[0].iov_len = first;
		if (first < c->tx_len) {
			iov[1].iov_base = c->txq;
			iov[1].iov_len = c->tx_len - first;
			mh.msg_iovlen = 2;
		}
		n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			mark_dead_locked(t, c, TAPIR_TCP_STAT_CLOSED_ERROR);
			return;
		}
		c->tx_head = (c->tx_head + (size_t)n) % TAPIR_TCP_SENDQ_BYTES;
		c->tx_len -= (size_t)n;
	}
	if (!c->is_dead && !c->is_connecting)
		set_events_locked(t, c, c->tx_len > 0);
}

static int queue_locked(struct tapir_tcp *t, struct tapir_tcp_conn *c, const void *msg, size_t len,
			bool is_data)
{
	size_t need = TAPIR_TCPFRAME_LEN_BYTES + len;
	size_t limit =
	    is_data ? TAPIR_TCP_SENDQ_BYTES - TAPIR_TCP_SENDQ_RESERVE : TAPIR_TCP_SENDQ_BYTES;
	uint8_t hdr[TAPIR_TCPFRAME_LEN_BYTES];
	ssize_t n = 0;

	if (len < 1 || len > TAPIR_TCPFRAME_MSG_MAX)
		return -EMSGSIZE;
	if (c->tx_len + need > limit) {
		if (is_data)
			count(t, TAPIR_TCP_STAT_QUEUE_FULL);
		return -ENOBUFS;
	}
	tapir_tcpframe_put_len(hdr, len);
	if (!c->tx_len && !c->is_connecting) {
		/* the common case: nothing waits, so write straight from the caller's buffer */
		struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)(uintptr_t)msg, len}};
		struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

		do
			n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			mark_dead_locked(t, c, TAPIR_TCP_STAT_CLOSED_ERROR);
			return -ENOTCONN;
		}
		if (n < 0)
			n = 0;
		if ((size_t)n == need)
			return 0;
	}
	if ((size_t)n < sizeof(hdr)) {
		ring_append(c, hdr + n, sizeof(hdr) - (size_t)n);
		ring_append(c, msg, len);
	} else {
		ring_append(c, (const uint8_t *)msg + ((size_t)n - sizeof(hdr)), need - (size_t)n);
	}
	if (!c->is_connecting)
		set_events_locked(t, c, true);
	return 0;
}

static uint64_t backoff_delay_ns(uint32_t backoff_ms)
{
	/* jitter: 75 % to 125 % of the step, so peers that failed together retry apart */
	uint64_t ms = backoff_ms * 3 / 4 + tapir_random_u32() % (backoff_ms / 2 + 1);

	return tapir_ms_to_ns(ms);
}

/* Starts a connection for @peer unless its backoff says wait. Transport lock held. */
static struct tapir_tcp_conn *connect_locked(struct tapir_tcp *t, struct tapir_peer *peer,
					     uint64_t now)
{
	union tapir_sockaddr to;
	struct tapir_tcp_conn *c;
	char text[INET6_ADDRSTRLEN + 16];
	int fd;

	if (now < peer->tcp_next_connect_ns || !t->dev->is_up)
		return NULL;
	if (peer->tcp_backoff_ms < TAPIR_TCP_BACKOFF_MIN_MS)
		peer->tcp_backoff_ms = TAPIR_TCP_BACKOFF_MIN_MS;
	peer->tcp_next_connect_ns = now + backoff_delay_ns(peer->tcp_backoff_ms);
	peer->tcp_backoff_ms = peer->tcp_backoff_ms * 2 > TAPIR_TCP_BACKOFF_MAX_MS
				   ? TAPIR_TCP_BACKOFF_MAX_MS
				   : peer->tcp_backoff_ms * 2;
	tapir_peer_get_endpoint(peer, &to);
	if (!to.sa.sa_family)
		return NULL;
	tapir_sockaddr_format(text, sizeof(text), &to);
	fd = tapir_tcpsock_connect(&to, atomic_load(&t->fwmark), t->dev->sock_ops);
	if (fd < 0) {
		count(t, TAPIR_TCP_STAT_CONNECT_FAILED);
		log_debug("%s: peer %llu: tcp connect to %s: %s", t->dev->ifname,
			  (unsigned long long)peer->id, text, strerror(-fd));
		return NULL;
	}
	c = new_conn_locked(t, fd, &to, true, true, now);
	if (!c) {
		close(fd);
		count(t, TAPIR_TCP_STAT_REFUSED);
		return NULL;
	}
	c->peer_id = peer->id;
	atomic_store(&peer->tcp_conn, c->id);
	log_debug("%s: peer %llu: tcp connecting to %s (connection %llu)", t->dev->ifname,
		  (unsigned long long)peer->id, text, (unsigned long long)c->id);
	return c;
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
	struct tapir_tcp_conn *c;
	int ret = -ENOTCONN;

	if (!t)
		return -ENOTCONN;
	pthread_mutex_lock(&t->lock);
	c = find_locked(t, atomic_load(&peer->tcp_conn));
	if ((!c || c->is_dead) && atomic_load(&peer->is_tcp_client))
		c = connect_locked(t, peer, tapir_now_ns());
	if (c && !c->is_dead)
		ret = queue_locked(t, c, msg, len, is_data);
	pthread_mutex_unlock(&t->lock);
	if (ret == -ENOTCONN)
		tapir_device_count_drop(dev, TAPIR_DROP_NO_ENDPOINT);
	return ret;
}

int tapir_tcp_send_conn(struct tapir_device *dev, uint64_t conn_id, const void *msg, size_t len)
{
	struct tapir_tcp *t = dev->tcp;
	struct tapir_tcp_conn *c;
	int ret = -ENOTCONN;

	if (!t)
		return -ENOTCONN;
	pthread_mutex_lock(&t->lock);
	c = find_locked(t, conn_id);
	if (c && !c->is_dead)
		ret = queue_locked(t, c, msg, len, false);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void tapir_tcp_note_authenticated(struct tapir_device *dev, struct tapir_peer *peer,
				  uint64_t conn_id)
{
	struct tapir_tcp *t = dev->tcp;
	struct tapir_tcp_conn *c, *old;
	uint64_t old_id;

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
	pthread_mutex_lock(&t->lock);
	c = find_locked(t, conn_id);
	if (!c || c->is_dead) {
		pthread_mutex_unlock(&t->lock);
		return;
	}
	if (!c->is_authenticated) {
		c->is_authenticated = true;
		if (!c->is_client)
			t->npending--;
		count(t, TAPIR_TCP_STAT_AUTHENTICATED);
	}
	c->peer_id = peer->id;
	if (c->is_client)
		peer->tcp_backoff_ms = TAPIR_TCP_BACKOFF_MIN_MS;
	old_id = atomic_exchange(&peer->tcp_conn, conn_id);
	atomic_store(&peer->tcp_authed_conn, conn_id);
	old = old_id != conn_id ? find_locked(t, old_id) : NULL;
	if (old)
		mark_dead_locked(t, old, TAPIR_TCP_STAT_CLOSED_REPLACED);
	pthread_mutex_unlock(&t->lock);
	log_debug("%s: peer %llu: tcp connection %llu authenticated", dev->ifname,
		  (unsigned long long)peer->id, (unsigned long long)conn_id);
}

void tapir_tcp_set_peer_transport(struct tapir_device *dev, struct tapir_peer *peer, bool is_tcp,
				  bool is_reconnect)
{
	struct tapir_tcp *t = dev->tcp;
	bool was_tcp = atomic_exchange(&peer->is_tcp_client, is_tcp);

	if (!t || (was_tcp == is_tcp && !is_reconnect))
		return;
	pthread_mutex_lock(&t->lock);
	peer->tcp_backoff_ms = TAPIR_TCP_BACKOFF_MIN_MS;
	peer->tcp_next_connect_ns = 0;
	/* the old connection (if any) no longer matches: the next tick closes it */
	atomic_store(&peer->tcp_conn, 0);
	atomic_store(&peer->tcp_authed_conn, 0);
	pthread_mutex_unlock(&t->lock);
	wake(t);
}

void tapir_tcp_handshake_retry(struct tapir_device *dev, struct tapir_peer *peer)
{
	struct tapir_tcp *t = dev->tcp;
	struct tapir_tcp_conn *c;
	uint64_t now = tapir_now_ns();

	if (!t || !atomic_load(&peer->is_tcp_client))
		return;
	pthread_mutex_lock(&t->lock);
	c = find_locked(t, atomic_load(&peer->tcp_conn));
	if (c && !c->is_dead && !c->is_connecting &&
	    now - c->last_rx_ns >= tapir_ms_to_ns(REKEY_TIMEOUT_MS)) {
		mark_dead_locked(t, c, TAPIR_TCP_STAT_CLOSED_TIMEOUT);
		peer->tcp_next_connect_ns = 0; /* the retry itself connects anew */
	}
	pthread_mutex_unlock(&t->lock);
}

void tapir_tcp_remove_peer(struct tapir_device *dev, struct tapir_peer *peer)
{
	if (dev->tcp)
		wake(dev->tcp);
}

void tapir_tcp_set_fwmark(struct tapir_device *dev, uint32_t fwmark)
{
	struct tapir_tcp *t = dev->tcp;

	if (!t)
		return;
	atomic_store(&t->fwmark, fwmark);
	pthread_mutex_lock(&t->lock);
	/* through the helper after the drop: a short round trip per socket, under t->lock so
	 * that no socket is closed meanwhile */
	if (t->listen_fd >= 0)
		dev->sock_ops->set_mark(dev->sock_ops->ctx, t->listen_fd, fwmark);
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		if (t->conns[i])
			dev->sock_ops->set_mark(dev->sock_ops->ctx, t->conns[i]->fd, fwmark);
	}
	pthread_mutex_unlock(&t->lock);
}

bool tapir_tcp_is_listen_on(const struct tapir_device *dev)
{
	return dev->tcp && atomic_load(&dev->tcp->is_listen_on);
}

int tapir_tcp_listen(struct tapir_device *dev, uint16_t port)
{
	struct tapir_tcp *t = dev->tcp;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_LISTEN};
	int fd = -1, ret = 0, old;

	if (!t)
		return -ENOTCONN;
	t->bound_port = port;
	if (atomic_load(&t->is_listen_on)) {
		fd = tapir_tcpsock_listen(port, atomic_load(&t->fwmark), dev->sock_ops);
		if (fd >= 0 && epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			ret = -errno;
			close(fd);
		} else if (fd < 0) {
			ret = fd;
		}
		if (ret < 0)
			fd = -1;
	}
	pthread_mutex_lock(&t->lock);
	old = t->listen_fd;
	t->listen_fd = fd;
	atomic_store(&t->listen_port, fd >= 0 ? port : 0);
	pthread_mutex_unlock(&t->lock);
	if (old >= 0)
		close(old);
	return ret;
}

int tapir_tcp_set_listen(struct tapir_device *dev, bool is_on)
{
	struct tapir_tcp *t = dev->tcp;
	int ret;

	if (!t)
		return -ENOTCONN;
	if (atomic_load(&t->is_listen_on) == is_on)
		return 0;
	atomic_store(&t->is_listen_on, is_on);
	if (!dev->is_up)
		return 0; /* the first bind opens it */
	/* connections accepted before an off stay: authenticated ones carry peers, the others
	 * expire on their own (first frame, authentication) */
	ret = tapir_tcp_listen(dev, t->bound_port);
	if (ret < 0)
		atomic_store(&t->is_listen_on, false);
	return ret;
}

/* --- the TCP thread --- */

static bool is_pending(const struct tapir_tcp_conn *c)
{
	return c && !c->is_client && !c->is_authenticated;
}

/* One source: the same IPv4 address, or the same IPv6 /64 (what one host can easily hold). */
static bool is_same_source(const union tapir_sockaddr *a, const union tapir_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	return a->sa.sa_family == AF_INET6 &&
	       !memcmp(a->in6.sin6_addr.s6_addr, b->in6.sin6_addr.s6_addr, 8);
}

/*
 * Whether a connection from @from may wait for authentication: not if its source holds its
 * share already (refused: returns false). If every pending slot is taken, the oldest pending
 * connection makes room: unlinked and returned in *@victim for the caller to free. TCP thread,
 * transport lock held.
 */
static bool admit_locked(struct tapir_tcp *t, const union tapir_sockaddr *from,
			 struct tapir_tcp_conn **victim)
{
	struct tapir_tcp_conn *oldest = NULL;
	unsigned int from_source = 0;

	*victim = NULL;
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		struct tapir_tcp_conn *c = t->conns[i];

		if (!is_pending(c))
			continue;
		/* a connection already marked dead is as good as gone: not counted */
		if (!c->is_dead && is_same_source(&c->remote, from))
			from_source++;
		if (!oldest || c->created_ns < oldest->created_ns)
			oldest = c;
	}
	if (from_source >= TAPIR_TCP_MAX_PENDING_PER_SOURCE) {
		count(t, TAPIR_TCP_STAT_REFUSED_SOURCE);
		return false;
	}
	if (t->npending >= TAPIR_TCP_MAX_PENDING && oldest) {
		unlink_locked(t, oldest);
		count(t, oldest->is_dead ? oldest->dead_reason : TAPIR_TCP_STAT_EVICTED);
		*victim = oldest;
	}
	return true;
}

static void accept_conns(struct tapir_tcp *t, uint64_t now)
{
	for (unsigned int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		union tapir_sockaddr from;
		socklen_t alen = sizeof(from);
		struct tapir_tcp_conn *c = NULL, *victim = NULL;
		bool is_admitted;
		int fd;

		pthread_mutex_lock(&t->lock);
		fd = t->listen_fd >= 0
			 ? accept4(t->listen_fd, &from.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC)
			 : -1;
		if (fd < 0) {
			pthread_mutex_unlock(&t->lock);
			return;
		}
		tapir_udp_sockaddr_normalise(&from);
		is_admitted = admit_locked(t, &from, &victim);
		if (is_admitted)
			c = new_conn_locked(t, fd, &from, false, false, now);
		pthread_mutex_unlock(&t->lock);
		/* only this thread frees connections: the victim is ours now */
		if (victim)
			free_conn(victim);
		if (!c) {
			close(fd);
			if (is_admitted)
				count(t, TAPIR_TCP_STAT_REFUSED);
			continue;
		}
		tapir_tcpsock_setup(fd, atomic_load(&t->fwmark));
		count(t, TAPIR_TCP_STAT_ACCEPTED);
	}
}

/* Hands the collected data messages of @c to the receive path. Device read lock held. */
static void receive_data(struct tapir_tcp *t, struct tapir_tcp_conn *c, unsigned int n)
{
	struct tapir_worker *w = t->w;

	if (!n)
		return;
	for (unsigned int i = 0; i < n; i++) {
		w->rx_msgs[i] = tapir_pkt_data(w->pkts[i]);
		w->rx_lens[i] = w->pkts[i]->len;
		memset(&w->rx_from[i], 0, sizeof(w->rx_from[i])); /* no local address: TCP */
		w->rx_from[i].addr = c->remote;
	}
	w->rx_tcp_conn = c->id;
	tapir_receive_batch(t->dev, w, w->rx_msgs, w->rx_lens, w->rx_from, n);
}

/*
 * Takes every complete message out of @c's reader: handshakes to the control thread, data
 * through the receive path in batches. Returns -EBADMSG for garbage, else the count.
 */
static int take_messages(struct tapir_tcp *t, struct tapir_tcp_conn *c)
{
	struct tapir_device *dev = t->dev;
	struct tapir_worker *w = t->w;
	unsigned int ndata = 0;
	const uint8_t *msg;
	size_t len;
	int r, nmsgs = 0;

	while ((r = tapir_tcpframe_next(&c->rx, &msg, &len)) == 1) {
		nmsgs++;
		if (msg[0] != TAPIR_MSG_DATA) {
			struct tapir_endpoint from = {.addr = c->remote};

			tapir_handshake_enqueue(dev, msg, len, &from, c->id);
			continue;
		}
		if (len > TAPIR_PKT_DATA_MAX) {
			tapir_device_count_drop(dev, TAPIR_DROP_TOO_BIG);
			continue;
		}
		w->pkts[ndata]->off = TAPIR_PKT_HEADROOM;
		w->pkts[ndata]->len = (uint32_t)len;
		memcpy(tapir_pkt_data(w->pkts[ndata]), msg, len);
		if (++ndata == TAPIR_BATCH) {
			receive_data(t, c, ndata);
			ndata = 0;
		}
	}
	receive_data(t, c, ndata);
	return r < 0 ? r : nmsgs;
}

/* Reads what @c has; closes it on EOF, error or garbage. Returns false if it was closed. */
static bool read_conn(struct tapir_tcp *t, struct tapir_tcp_conn *c, uint64_t now)
{
	struct tapir_device *dev = t->dev;

	for (unsigned int round = 0; round < READ_ROUNDS; round++) {
		size_t room;
		uint8_t *p = tapir_tcpframe_space(&c->rx, &room);
		ssize_t n = recv(c->fd, p, room, MSG_DONTWAIT);
		int nmsgs;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			close_conn(t, c, TAPIR_TCP_STAT_CLOSED_ERROR);
			return false;
		}
		tapir_tcpframe_commit(&c->rx, (size_t)n);
		c->last_rx_ns = now;
		pthread_rwlock_rdlock(&dev->lock);
		nmsgs = take_messages(t, c);
		pthread_rwlock_unlock(&dev->lock);
		if (nmsgs > 0)
			c->has_frame = true;
		if (nmsgs < 0) {
			char text[INET6_ADDRSTRLEN + 16];

			tapir_sockaddr_format(text, sizeof(text), &c->remote);
			log_debug("%s: tcp: garbage from %s", dev->ifname, text);
			close_conn(t, c, TAPIR_TCP_STAT_CLOSED_GARBAGE);
			return false;
		}
		/* a frame must complete in time; one that did restarts the clock */
		if (!tapir_tcpframe_has_partial(&c->rx))
			c->partial_since_ns = 0;
		else if (nmsgs > 0 || !c->partial_since_ns)
			c->partial_since_ns = now;
		if ((size_t)n < room)
			return true;
	}
	return true;
}

/* A client connection finished connecting: authenticate it at once. */
static void connected(struct tapir_tcp *t, struct tapir_tcp_conn *c)
{
	struct tapir_device *dev = t->dev;
	struct tapir_peer *peer;
	char text[INET6_ADDRSTRLEN + 16];

	count(t, TAPIR_TCP_STAT_CONNECTED);
	tapir_sockaddr_format(text, sizeof(text), &c->remote);
	log_info("%s: peer %llu: tcp connected to %s", dev->ifname, (unsigned long long)c->peer_id,
		 text);
	pthread_rwlock_rdlock(&dev->lock);
	peer = tapir_peer_table_find_id(&dev->peers, c->peer_id);
	if (peer && !peer->is_dead && atomic_load(&peer->tcp_conn) == c->id) {
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

static void handle_conn(struct tapir_tcp *t, uint64_t id, uint32_t events, uint64_t now)
{
	struct tapir_tcp_conn *c;

	pthread_mutex_lock(&t->lock);
	c = find_locked(t, id);
	pthread_mutex_unlock(&t->lock);
	/* only this thread frees connections, so @c stays valid without the lock */
	if (!c || c->is_dead)
		return;
	if (c->is_connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = tapir_tcpsock_error(c->fd);

		if (err || (events & EPOLLHUP)) {
			char text[INET6_ADDRSTRLEN + 16];

			tapir_sockaddr_format(text, sizeof(text), &c->remote);
			log_debug("%s: peer %llu: tcp connect to %s: %s", t->dev->ifname,
				  (unsigned long long)c->peer_id, text,
				  strerror(err ? err : ECONNRESET));
			close_conn(t, c, TAPIR_TCP_STAT_CONNECT_FAILED);
			return;
		}
		pthread_mutex_lock(&t->lock);
		c->is_connecting = false;
		c->last_rx_ns = now;
		flush_locked(t, c);
		pthread_mutex_unlock(&t->lock);
		connected(t, c);
	}
	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !read_conn(t, c, now))
		return;
	if (events & EPOLLOUT) {
		pthread_mutex_lock(&t->lock);
		flush_locked(t, c);
		pthread_mutex_unlock(&t->lock);
	}
}

/* Why @c must close now, or TAPIR_TCP_STAT_MAX. Device read lock and transport lock held. */
static enum tapir_tcp_stat expiry(struct tapir_tcp *t, struct tapir_tcp_conn *c, uint64_t now)
{
	struct tapir_peer *peer = NULL;

	if (c->is_dead)
		return c->dead_reason;
	if (c->peer_id)
		peer = tapir_peer_table_find_id(&t->dev->peers, c->peer_id);
	if (c->partial_since_ns &&
	    now - c->partial_since_ns > tapir_ms_to_ns(TAPIR_TCP_FRAME_TIMEOUT_MS))
		return TAPIR_TCP_STAT_CLOSED_TIMEOUT;
	if (c->is_client) {
		if (!peer || peer->is_dead || !atomic_load(&peer->is_tcp_client) ||
		    atomic_load(&peer->tcp_conn) != c->id)
			return TAPIR_TCP_STAT_CLOSED_REPLACED;
		if (c->is_connecting &&
		    now - c->created_ns > tapir_ms_to_ns(TAPIR_TCP_CONNECT_TIMEOUT_MS))
			return TAPIR_TCP_STAT_CONNECT_FAILED;
		return TAPIR_TCP_STAT_MAX;
	}
	if (!c->is_authenticated && !c->has_frame &&
	    now - c->created_ns > tapir_ms_to_ns(TAPIR_TCP_FIRST_FRAME_TIMEOUT_MS))
		return TAPIR_TCP_STAT_CLOSED_FIRST_FRAME;
	if (!c->is_authenticated)
		return now - c->created_ns > tapir_ms_to_ns(TAPIR_TCP_AUTH_TIMEOUT_MS)
			   ? TAPIR_TCP_STAT_CLOSED_TIMEOUT
			   : TAPIR_TCP_STAT_MAX;
	if (!peer || peer->is_dead || atomic_load(&peer->tcp_conn) != c->id)
		return TAPIR_TCP_STAT_CLOSED_REPLACED;
	if (now - c->last_rx_ns > tapir_ms_to_ns(TAPIR_TCP_IDLE_TIMEOUT_MS))
		return TAPIR_TCP_STAT_CLOSED_TIMEOUT;
	return TAPIR_TCP_STAT_MAX;
}

/* Closes what expired and connects peers with a TCP endpoint and no connection. */
static void tick(struct tapir_tcp *t, uint64_t now)
{
	struct tapir_device *dev = t->dev;
	enum tapir_tcp_stat *why = t->closing_why;
	unsigned int nclose = 0;

	pthread_rwlock_rdlock(&dev->lock);
	pthread_mutex_lock(&t->lock);
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		struct tapir_tcp_conn *c = t->conns[i];
		enum tapir_tcp_stat r;

		if (!c)
			continue;
		r = expiry(t, c, now);
		if (r == TAPIR_TCP_STAT_MAX)
			continue;
		unlink_locked(t, c);
		why[nclose] = r;
		t->closing[nclose++] = c;
	}
	for (struct tapir_peer *p = dev->peers.first; dev->is_up && p; p = p->list_next) {
		struct tapir_tcp_conn *c;

		if (p->is_dead || !atomic_load(&p->is_tcp_client))
			continue;
		c = find_locked(t, atomic_load(&p->tcp_conn));
		if (!c || c->is_dead)
			connect_locked(t, p, now);
	}
	pthread_mutex_unlock(&t->lock);
	pthread_rwlock_unlock(&dev->lock);
	for (unsigned int i = 0; i < nclose; i++) {
		struct tapir_tcp_conn *c = t->closing[i];
		char text[INET6_ADDRSTRLEN + 16];

		count(t, why[i]);
		tapir_sockaddr_format(text, sizeof(text), &c->remote);
		log_debug("%s: tcp: connection %llu %s %s closed: %s", dev->ifname,
			  (unsigned long long)c->id, c->is_client ? "to" : "from", text,
			  tapir_tcp_stat_name(why[i]));
		free_conn(c);
	}
}

static void *tcp_main(void *arg)
{
	struct tapir_tcp *t = arg;
	struct tapir_device *dev = t->dev;
	uint64_t next_tick = 0;

	while (!atomic_load_explicit(&dev->is_stopping, memory_order_acquire)) {
		struct epoll_event evs[32];
		int n = epoll_wait(t->epoll_fd, evs, 32, TAPIR_TCP_TICK_MS);
		uint64_t now = tapir_now_ns();

		if (n < 0 && errno != EINTR) {
			log_err_errno("%s: tcp: epoll_wait", dev->ifname);
			tapir_device_request_stop(dev, -EIO);
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64, value;

			if (id == EV_WAKE) {
				if (read(t->event_fd, &value, sizeof(value)) < 0)
					continue;
				next_tick = 0; /* something changed: look now */
			} else if (id == EV_LISTEN) {
				accept_conns(t, now);
			} else if (id >= FIRST_CONN_ID) {
				handle_conn(t, id, evs[i].events, now);
			}
		}
		if (now >= next_tick) {
			tick(t, now);
			next_tick = now + tapir_ms_to_ns(TAPIR_TCP_TICK_MS);
		}
	}
	return NULL;
}

int tapir_tcp_init(struct tapir_device *dev)
{
	struct tapir_tcp *t = calloc(1, sizeof(*t));
	struct epoll_event ev = {.events = EPOLLIN};
	int ret;

	if (!t)
		return -ENOMEM;
	dev->tcp = t;
	t->dev = dev;
	t->listen_fd = -1;
	t->event_fd = -1;
	t->next_id = FIRST_CONN_ID;
	pthread_mutex_init(&t->lock, NULL);
	t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epoll_fd < 0)
		return -errno;
	t->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->event_fd < 0)
		return -errno;
	ev.data.u64 = EV_WAKE;
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, t->event_fd, &ev) < 0)
		return -errno;
	ev.data.u64 = EV_STOP;
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, dev->stop_event_fd, &ev) < 0)
		return -errno;
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
	struct tapir_tcp *t = dev->tcp;
	int ret = pthread_create(&t->thread, NULL, tcp_main, t);

	if (ret)
		return -ret;
	t->is_started = true;
	return 0;
}

void tapir_tcp_destroy(struct tapir_device *dev)
{
	struct tapir_tcp *t = dev->tcp;

	if (!t)
		return;
	if (t->is_started)
		pthread_join(t->thread, NULL);
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		if (t->conns[i])
			free_conn(t->conns[i]);
	}
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->epoll_fd >= 0)
		close(t->epoll_fd);
	if (t->event_fd >= 0)
		close(t->event_fd);
	if (t->w)
		tapir_worker_free_buffers(t->w);
	free(t->w);
	pthread_mutex_destroy(&t->lock);
	free(t);
	dev->tcp = NULL;
	dev->tcp_worker = NULL;
}
