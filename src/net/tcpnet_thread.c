// SPDX-License-Identifier: MIT
/*
 * The TCP transport's thread (see tcpnet.h for the rules): accepting with the pending caps,
 * reading frames and handing them up through ops->on_frames, completing connects, and the
 * deadlines each tick. It is the only thread that frees connections.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "tcpnet_int.h"
#include "tcpsock.h"
#include "udp.h"

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
static bool admit_locked(struct tapir_tcpnet *t, const union tapir_sockaddr *from,
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
		tapir_tcpnet_count(t, TAPIR_TCP_STAT_REFUSED_SOURCE);
		return false;
	}
	if (t->npending >= TAPIR_TCP_MAX_PENDING && oldest) {
		tapir_tcpnet_unlink_locked(t, oldest);
		tapir_tcpnet_count(t,
				   oldest->is_dead ? oldest->dead_reason : TAPIR_TCP_STAT_EVICTED);
		*victim = oldest;
	}
	return true;
}

static void accept_conns(struct tapir_tcpnet *t, uint64_t now)
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
			c = tapir_tcpnet_new_conn_locked(t, fd, &from, false, now);
		pthread_mutex_unlock(&t->lock);
		/* only this thread frees connections: the victim is ours now */
		if (victim)
			tapir_tcpnet_free_conn(victim);
		if (!c) {
			close(fd);
			if (is_admitted)
				tapir_tcpnet_count(t, TAPIR_TCP_STAT_REFUSED);
			continue;
		}
		tapir_tcpsock_setup(fd, atomic_load(&t->fwmark));
		tapir_tcpnet_count(t, TAPIR_TCP_STAT_ACCEPTED);
	}
}

/*
 * Hands every complete message in @c's reader up, all those of one read in one call.
 * Returns -EBADMSG for garbage (after handing up what came before it), else the count.
 */
static int take_messages(struct tapir_tcpnet *t, struct tapir_tcp_conn *c)
{
	unsigned int n = 0;
	int r, nmsgs = 0;

	while ((r = tapir_tcpframe_next(&c->rx, &t->msgs[n], &t->lens[n])) == 1) {
		nmsgs++;
		/* the reader's buffer holds at most MSGS_MAX frames; the check is for safety */
		if (++n == TAPIR_TCPNET_MSGS_MAX) {
			t->ops.on_frames(t->ops.ctx, c->id, &c->remote, t->msgs, t->lens, n);
			n = 0;
		}
	}
	if (n)
		t->ops.on_frames(t->ops.ctx, c->id, &c->remote, t->msgs, t->lens, n);
	return r < 0 ? r : nmsgs;
}

/* Reads what @c has; closes it on EOF, error or garbage. Returns false if it was closed. */
static bool read_conn(struct tapir_tcpnet *t, struct tapir_tcp_conn *c, uint64_t now)
{
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
			tapir_tcpnet_close_conn(t, c, TAPIR_TCP_STAT_CLOSED_ERROR);
			return false;
		}
		tapir_tcpframe_commit(&c->rx, (size_t)n);
		c->last_rx_ns = now;
		nmsgs = take_messages(t, c);
		if (nmsgs > 0)
			c->has_frame = true;
		if (nmsgs < 0) {
			char text[INET6_ADDRSTRLEN + 16];

			tapir_sockaddr_format(text, sizeof(text), &c->remote);
			log_debug("%s: tcp: garbage from %s", t->name, text);
			tapir_tcpnet_close_conn(t, c, TAPIR_TCP_STAT_CLOSED_GARBAGE);
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

static void handle_conn(struct tapir_tcpnet *t, uint64_t id, uint32_t events, uint64_t now)
{
	struct tapir_tcp_conn *c;

	pthread_mutex_lock(&t->lock);
	c = tapir_tcpnet_find_locked(t, id);
	pthread_mutex_unlock(&t->lock);
	/* only this thread frees connections, so @c stays valid without the lock */
	if (!c || c->is_dead)
		return;
	if (c->is_connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int err = tapir_tcpsock_error(c->fd);

		if (err || (events & EPOLLHUP)) {
			char text[INET6_ADDRSTRLEN + 16];

			tapir_sockaddr_format(text, sizeof(text), &c->remote);
			log_debug("%s: tcp: connection %llu: connect to %s: %s", t->name,
				  (unsigned long long)c->id, text,
				  strerror(err ? err : ECONNRESET));
			tapir_tcpnet_close_conn(t, c, TAPIR_TCP_STAT_CONNECT_FAILED);
			return;
		}
		pthread_mutex_lock(&t->lock);
		c->is_connecting = false;
		c->last_rx_ns = now;
		tapir_tcpnet_flush_locked(t, c);
		pthread_mutex_unlock(&t->lock);
		tapir_tcpnet_count(t, TAPIR_TCP_STAT_CONNECTED);
		if (t->ops.on_connected)
			t->ops.on_connected(t->ops.ctx, c->id, c->cookie, &c->remote);
	}
	if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !read_conn(t, c, now))
		return;
	if (events & EPOLLOUT) {
		pthread_mutex_lock(&t->lock);
		tapir_tcpnet_flush_locked(t, c);
		pthread_mutex_unlock(&t->lock);
	}
}

static bool is_wanted(struct tapir_tcpnet *t, const struct tapir_tcp_conn *c)
{
	return !t->ops.is_wanted || t->ops.is_wanted(t->ops.ctx, c->id, c->cookie, c->is_client);
}

/* Why @c must close now, or TAPIR_TCP_STAT_MAX. Transport lock held. */
static enum tapir_tcp_stat expiry(struct tapir_tcpnet *t, struct tapir_tcp_conn *c, uint64_t now)
{
	if (c->is_dead)
		return c->dead_reason;
	if (c->partial_since_ns &&
	    now - c->partial_since_ns > tapir_ms_to_ns(TAPIR_TCP_FRAME_TIMEOUT_MS))
		return TAPIR_TCP_STAT_CLOSED_TIMEOUT;
	if (c->is_client) {
		if (!is_wanted(t, c))
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
	if (!is_wanted(t, c))
		return TAPIR_TCP_STAT_CLOSED_REPLACED;
	if (now - c->last_rx_ns > tapir_ms_to_ns(TAPIR_TCP_IDLE_TIMEOUT_MS))
		return TAPIR_TCP_STAT_CLOSED_TIMEOUT;
	return TAPIR_TCP_STAT_MAX;
}

void tapir_tcpnet_expire_locked(struct tapir_tcpnet *t, uint64_t now)
{
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_CONNS; i++) {
		struct tapir_tcp_conn *c = t->conns[i];
		enum tapir_tcp_stat r;

		if (!c)
			continue;
		r = expiry(t, c, now);
		if (r == TAPIR_TCP_STAT_MAX)
			continue;
		tapir_tcpnet_unlink_locked(t, c);
		t->closing_why[t->nclosing] = r;
		t->closing[t->nclosing++] = c;
	}
}

/* Closes what expired; the layer above connects what it wants to in the same tick. */
static void tick(struct tapir_tcpnet *t, uint64_t now)
{
	t->nclosing = 0;
	if (t->ops.on_tick) {
		t->ops.on_tick(t->ops.ctx, now);
	} else {
		pthread_mutex_lock(&t->lock);
		tapir_tcpnet_expire_locked(t, now);
		pthread_mutex_unlock(&t->lock);
	}
	for (unsigned int i = 0; i < t->nclosing; i++)
		tapir_tcpnet_closed(t, t->closing[i], t->closing_why[i]);
	t->nclosing = 0;
}

void *tapir_tcpnet_main(void *arg)
{
	struct tapir_tcpnet *t = arg;
	uint64_t next_tick = 0;
	bool is_stopping = false;

	while (!is_stopping && !atomic_load_explicit(&t->is_stopping, memory_order_relaxed)) {
		struct epoll_event evs[32];
		int n = epoll_wait(t->epoll_fd, evs, 32, TAPIR_TCP_TICK_MS);
		uint64_t now = tapir_now_ns();

		if (n < 0 && errno != EINTR) {
			int err = -errno;

			log_err_errno("%s: tcp: epoll_wait", t->name);
			if (t->ops.on_fatal)
				t->ops.on_fatal(t->ops.ctx, err);
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t id = evs[i].data.u64, value;

			if (id == EV_WAKE) {
				if (read(t->event_fd, &value, sizeof(value)) < 0)
					continue;
				next_tick = 0; /* something changed: look now */
			} else if (id == EV_STOP) {
				is_stopping = true; /* never read: it stays readable for all */
			} else if (id == EV_LISTEN) {
				accept_conns(t, now);
			} else if (id >= FIRST_CONN_ID) {
				handle_conn(t, id, evs[i].events, now);
			}
		}
		if (!is_stopping && now >= next_tick) {
			tick(t, now);
			next_tick = now + tapir_ms_to_ns(TAPIR_TCP_TICK_MS);
		}
	}
	return NULL;
}
