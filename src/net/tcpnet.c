// SPDX-License-Identifier: MIT
/*
 * The TCP transport's mechanics (see tcpnet.h for the rules): the connection table, the
 * send queues, the listener and the transport's lifetime. The TCP thread, which accepts,
 * reads and enforces the deadlines, is in tcpnet_thread.c. What a connection is for (its
 * cookie) and whether it is still wanted are the business of the layer above.
 */
#include "tcpnet.h"

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

#include "log.h"
#include "sockops.h"
#include "tcpnet_int.h"
#include "tcpsock.h"

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
	    [TAPIR_TCP_STAT_WAKEUPS] = "wakeups",
	};
	return stat < TAPIR_TCP_STAT_MAX ? names[stat] : "unknown";
}

uint64_t tapir_tcpnet_stat(const struct tapir_tcpnet *t, enum tapir_tcp_stat stat)
{
	return t ? atomic_load_explicit(&t->stats[stat], memory_order_relaxed) : 0;
}

void tapir_tcpnet_wake(struct tapir_tcpnet *t)
{
	uint64_t one = 1;

	tapir_tcpnet_count(t, TAPIR_TCP_STAT_WAKEUPS);
	/* a failed write means the counter is saturated: a wakeup is pending anyway */
	if (write(t->event_fd, &one, sizeof(one)) < 0)
		return;
}

void tapir_tcpnet_lock(struct tapir_tcpnet *t)
{
	pthread_mutex_lock(&t->lock);
}

void tapir_tcpnet_unlock(struct tapir_tcpnet *t)
{
	pthread_mutex_unlock(&t->lock);
}

bool tapir_tcpnet_is_alive_locked(struct tapir_tcpnet *t, uint64_t conn_id)
{
	struct tapir_tcp_conn *c = tapir_tcpnet_find_locked(t, conn_id);

	return c && !c->is_dead;
}

static void set_events_locked(struct tapir_tcpnet *t, struct tapir_tcp_conn *c, bool want_out)
{
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = c->id};

	if (want_out == c->is_out_armed)
		return;
	if (want_out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->is_out_armed = want_out;
}

static void mark_dead_locked(struct tapir_tcpnet *t, struct tapir_tcp_conn *c,
			     enum tapir_tcp_stat why)
{
	if (c->is_dead)
		return;
	c->is_dead = true;
	c->dead_reason = why;
	tapir_tcpnet_wake(t);
}

void tapir_tcpnet_close_locked(struct tapir_tcpnet *t, uint64_t conn_id, enum tapir_tcp_stat why)
{
	struct tapir_tcp_conn *c = tapir_tcpnet_find_locked(t, conn_id);

	if (c)
		mark_dead_locked(t, c, why);
}

/* A new connection in the table and the epoll set. NULL when full (fd left open). */
struct tapir_tcp_conn *tapir_tcpnet_new_conn_locked(struct tapir_tcpnet *t, int fd,
						    const union tapir_sockaddr *remote,
						    bool is_client, uint64_t now)
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
	c->is_connecting = is_client; /* ours start with a non-blocking connect() */
	c->remote = *remote;
	c->created_ns = now;
	c->last_rx_ns = now;
	ev.data.u64 = c->id;
	if (c->is_connecting) {
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

void tapir_tcpnet_unlink_locked(struct tapir_tcpnet *t, struct tapir_tcp_conn *c)
{
	t->conns[c->id % TAPIR_TCP_MAX_CONNS] = NULL;
	t->nconns--;
	if (!c->is_client && !c->is_authenticated)
		t->npending--;
}

void tapir_tcpnet_free_conn(struct tapir_tcp_conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	free(c);
}

/* Counts, logs and frees @c, already unlinked. TCP thread. */
void tapir_tcpnet_closed(struct tapir_tcpnet *t, struct tapir_tcp_conn *c, enum tapir_tcp_stat why)
{
	char text[INET6_ADDRSTRLEN + 16];

	tapir_tcpnet_count(t, why);
	tapir_sockaddr_format(text, sizeof(text), &c->remote);
	log_debug("%s: tcp: connection %llu %s %s closed: %s", t->name, (unsigned long long)c->id,
		  c->is_client ? "to" : "from", text, tapir_tcp_stat_name(why));
	tapir_tcpnet_free_conn(c);
}

void tapir_tcpnet_close_conn(struct tapir_tcpnet *t, struct tapir_tcp_conn *c,
			     enum tapir_tcp_stat why)
{
	pthread_mutex_lock(&t->lock);
	tapir_tcpnet_unlink_locked(t, c);
	pthread_mutex_unlock(&t->lock);
	tapir_tcpnet_closed(t, c, why);
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
void tapir_tcpnet_flush_locked(struct tapir_tcpnet *t, struct tapir_tcp_conn *c)
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

int tapir_tcpnet_queue_locked(struct tapir_tcpnet *t, uint64_t conn_id, const void *msg, size_t len,
			      enum tapir_tcpnet_class cls)
{
	struct tapir_tcp_conn *c = tapir_tcpnet_find_locked(t, conn_id);
	bool is_data = cls == TAPIR_TCPNET_DATA;
	size_t need = TAPIR_TCPFRAME_LEN_BYTES + len;
	size_t limit =
	    is_data ? TAPIR_TCP_SENDQ_BYTES - TAPIR_TCP_SENDQ_RESERVE : TAPIR_TCP_SENDQ_BYTES;
	uint8_t hdr[TAPIR_TCPFRAME_LEN_BYTES];
	ssize_t n = 0;

	if (!c || c->is_dead)
		return -ENOENT;
	if (len < 1 || len > TAPIR_TCPFRAME_MSG_MAX)
		return -EMSGSIZE;
	if (c->tx_len + need > limit) {
		if (is_data)
			tapir_tcpnet_count(t, TAPIR_TCP_STAT_QUEUE_FULL);
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

int tapir_tcpnet_send(struct tapir_tcpnet *t, uint64_t conn_id, const void *msg, size_t len,
		      enum tapir_tcpnet_class cls)
{
	int ret;

	pthread_mutex_lock(&t->lock);
	ret = tapir_tcpnet_queue_locked(t, conn_id, msg, len, cls);
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int tapir_tcpnet_connect_locked(struct tapir_tcpnet *t, const union tapir_sockaddr *to,
				uint64_t cookie, uint64_t now, const struct tapir_sock_ops *ops,
				uint64_t *conn_id)
{
	struct tapir_tcp_conn *c;
	int fd = tapir_tcpsock_connect(to, atomic_load(&t->fwmark), ops);

	if (fd < 0) {
		tapir_tcpnet_count(t, TAPIR_TCP_STAT_CONNECT_FAILED);
		return fd;
	}
	c = tapir_tcpnet_new_conn_locked(t, fd, to, true, now);
	if (!c) {
		close(fd);
		tapir_tcpnet_count(t, TAPIR_TCP_STAT_REFUSED);
		return -ENOSPC;
	}
	c->cookie = cookie;
	*conn_id = c->id;
	return 0;
}

int tapir_tcpnet_authenticate_locked(struct tapir_tcpnet *t, uint64_t conn_id, uint64_t cookie)
{
	struct tapir_tcp_conn *c = tapir_tcpnet_find_locked(t, conn_id);

	if (!c || c->is_dead)
		return -ENOENT;
	if (!c->is_authenticated) {
		c->is_authenticated = true;
		if (!c->is_client)
			t->npending--;
		tapir_tcpnet_count(t, TAPIR_TCP_STAT_AUTHENTICATED);
	}
	c->cookie = cookie;
	return c->is_client ? 1 : 0;
}

bool tapir_tcpnet_close_silent_locked(struct tapir_tcpnet *t, uint64_t conn_id, uint64_t now,
				      uint64_t silence_ns)
{
	struct tapir_tcp_conn *c = tapir_tcpnet_find_locked(t, conn_id);

	if (!c || c->is_dead || c->is_connecting || now - c->last_rx_ns < silence_ns)
		return false;
	mark_dead_locked(t, c, TAPIR_TCP_STAT_CLOSED_TIMEOUT);
	return true;
}

void tapir_tcpnet_set_fwmark(struct tapir_tcpnet *t, uint32_t fwmark,
			     const struct tapir_sock_ops *ops)
{
	atomic_store(&t->fwmark, fwmark);
	pthread_mutex_lock(&t->lock);
	/* through the helper after the drop: a short round trip per socket, under t->lock so
	 * that no socket is closed meanwhile */
	if (t->listen_fd >= 0)
		ops->set_mark(ops->ctx, t->listen_fd, fwmark);
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		if (t->conns[i])
			ops->set_mark(ops->ctx, t->conns[i]->fd, fwmark);
	}
	pthread_mutex_unlock(&t->lock);
}

/* --- the listener (control thread) --- */

bool tapir_tcpnet_is_listen_on(const struct tapir_tcpnet *t)
{
	return atomic_load(&t->is_listen_on);
}

uint16_t tapir_tcpnet_listen_port(const struct tapir_tcpnet *t)
{
	return atomic_load(&t->listen_port);
}

int tapir_tcpnet_listen(struct tapir_tcpnet *t, uint16_t port, const struct tapir_sock_ops *ops)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EV_LISTEN};
	int fd = -1, ret = 0, old;

	t->bound_port = port;
	if (atomic_load(&t->is_listen_on)) {
		fd = tapir_tcpsock_listen(port, atomic_load(&t->fwmark), ops);
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

bool tapir_tcpnet_switch_listen(struct tapir_tcpnet *t, bool is_on)
{
	if (atomic_load(&t->is_listen_on) == is_on)
		return false;
	atomic_store(&t->is_listen_on, is_on);
	return true;
}

int tapir_tcpnet_relisten(struct tapir_tcpnet *t, const struct tapir_sock_ops *ops)
{
	int ret = tapir_tcpnet_listen(t, t->bound_port, ops);

	if (ret < 0)
		atomic_store(&t->is_listen_on, false);
	return ret;
}

int tapir_tcpnet_create(struct tapir_tcpnet **out, const char *name,
			const struct tapir_tcpnet_ops *ops, int stop_fd)
{
	struct tapir_tcpnet *t = calloc(1, sizeof(*t));
	struct epoll_event ev = {.events = EPOLLIN};

	*out = t;
	if (!t)
		return -ENOMEM;
	t->name = name;
	t->ops = *ops;
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
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, stop_fd, &ev) < 0)
		return -errno;
	return 0;
}

int tapir_tcpnet_start(struct tapir_tcpnet *t)
{
	int ret = pthread_create(&t->thread, NULL, tapir_tcpnet_main, t);

	if (ret)
		return -ret;
	t->is_started = true;
	return 0;
}

void tapir_tcpnet_destroy(struct tapir_tcpnet *t)
{
	if (!t)
		return;
	if (t->is_started) {
		atomic_store_explicit(&t->is_stopping, true, memory_order_relaxed);
		tapir_tcpnet_wake(t);
		pthread_join(t->thread, NULL);
	}
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		if (t->conns[i])
			tapir_tcpnet_free_conn(t->conns[i]);
	}
	if (t->listen_fd >= 0)
		close(t->listen_fd);
	if (t->epoll_fd >= 0)
		close(t->epoll_fd);
	if (t->event_fd >= 0)
		close(t->event_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
