/* SPDX-License-Identifier: MIT */
/*
 * The TCP transport's mechanics (design.md, "TCP transport"): the listener, a table of
 * connections named by 64-bit ids, their framing and bounded send queues, admission, timeouts
 * and the thread that runs them. It knows nothing of peers or the device: the layer above
 * (dataplane/transport.c) registers a struct tapir_tcpnet_ops, gets every received message
 * through it and names a connection's owner with an opaque 64-bit cookie.
 *
 * - WireGuard messages travel unchanged, each framed by a 2-byte big-endian length
 *   (tcpframe.h).
 * - Each connection has a bounded send queue: a data message that does not fit is dropped and
 *   counted (queue_full); control messages (handshakes, keepalives) may use a reserve of
 *   TAPIR_TCP_SENDQ_RESERVE bytes that data cannot.
 * - Bad input closes that connection only, counted: garbage or a length that does not match
 *   its message type, no complete first frame within TAPIR_TCP_FIRST_FRAME_TIMEOUT_MS
 *   (silence), no authentication within TAPIR_TCP_AUTH_TIMEOUT_MS (a well-formed frame that
 *   the layer above never vouches for), a frame not completed within
 *   TAPIR_TCP_FRAME_TIMEOUT_MS (slowloris), an accepted connection without traffic for
 *   TAPIR_TCP_IDLE_TIMEOUT_MS.
 * - Unauthenticated (pending) accepted connections are capped so that one host cannot lock
 *   the peers out: TAPIR_TCP_MAX_PENDING_PER_SOURCE per source (an IPv4 address, an IPv6 /64;
 *   more are refused at accept), and when TAPIR_TCP_MAX_PENDING are pending, a new one closes
 *   the oldest pending one (evicted) instead of being refused. A legitimate peer's connection
 *   authenticates within a round trip of its arrival, so it is never the oldest for long;
 *   an attacker needs many sources to keep even the global cap full.
 *
 * Threads: one TCP thread owns the listener, every connection's receive side and the
 * timers, and is the only one that frees connections; the callbacks run on it. Any thread
 * may send, under the transport lock, without blocking. The transport lock is exposed
 * (tapir_tcpnet_lock) so that the layer above can keep its own per-owner state (backoff,
 * which connection an owner uses) consistent with the table; lock order: device lock ->
 * transport lock -> peer endpoint_lock. No callback is called with the transport lock held
 * except is_wanted.
 */
#ifndef TAPIR_TCPNET_H
#define TAPIR_TCPNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockaddr.h"
#include "tcpframe.h"

struct tapir_sock_ops;
struct tapir_tcpnet;

enum tapir_tcp_limits {
	TAPIR_TCP_MAX_CONNS = 512,
	TAPIR_TCP_MAX_PENDING = 64,		 /* unauthenticated accepted connections */
	TAPIR_TCP_MAX_PENDING_PER_SOURCE = 4,	 /* of those, from one IPv4 address or IPv6 /64 */
	TAPIR_TCP_SENDQ_BYTES = 256 * 1024,	 /* per connection, framing included */
	TAPIR_TCP_SENDQ_RESERVE = 16 * 1024,	 /* of which data packets may not use the last */
	TAPIR_TCP_FIRST_FRAME_TIMEOUT_MS = 2000, /* accept to the first complete frame */
	TAPIR_TCP_AUTH_TIMEOUT_MS = 10000,
	TAPIR_TCP_FRAME_TIMEOUT_MS = 15000,
	TAPIR_TCP_CONNECT_TIMEOUT_MS = 10000,
	TAPIR_TCP_IDLE_TIMEOUT_MS = 600000, /* an accepted connection with no traffic at all */
	TAPIR_TCP_TICK_MS = 100,
	/* complete messages one read can yield: the reader's buffer over the smallest frame */
	TAPIR_TCPNET_MSGS_MAX =
	    TAPIR_TCPFRAME_BUF_LEN / (TAPIR_TCPFRAME_LEN_BYTES + TAPIR_TCPFRAME_MSG_MIN) + 1,
};

/* Counters, shown by `get` (tapir extension keys tapir_tcp_NAME) and `tapir show`. */
enum tapir_tcp_stat {
	TAPIR_TCP_STAT_ACCEPTED,
	TAPIR_TCP_STAT_REFUSED, /* over the total cap (or out of memory) */
	TAPIR_TCP_STAT_CONNECTED,
	TAPIR_TCP_STAT_CONNECT_FAILED,
	TAPIR_TCP_STAT_AUTHENTICATED,
	TAPIR_TCP_STAT_CLOSED_GARBAGE,
	TAPIR_TCP_STAT_CLOSED_TIMEOUT,
	TAPIR_TCP_STAT_CLOSED_ERROR, /* reset, EOF, write error */
	TAPIR_TCP_STAT_CLOSED_REPLACED,
	TAPIR_TCP_STAT_QUEUE_FULL,	   /* data packets dropped */
	TAPIR_TCP_STAT_REFUSED_SOURCE,	   /* over the pending cap of its source */
	TAPIR_TCP_STAT_EVICTED,		   /* oldest pending, closed for a new one */
	TAPIR_TCP_STAT_CLOSED_FIRST_FRAME, /* no complete frame in time */
	TAPIR_TCP_STAT_WAKEUPS,		   /* tapir_tcpnet_wake() calls: a change to look at now */
	TAPIR_TCP_STAT_MAX,
};

/* Which part of the send queue a message may use. */
enum tapir_tcpnet_class {
	TAPIR_TCPNET_CONTROL, /* handshakes, keepalives: the whole queue, never dropped early */
	TAPIR_TCPNET_DATA,    /* all but the reserve; dropped and counted when it does not fit */
};

struct tapir_tcpnet_ops {
	void *ctx;
	/*
	 * @n complete messages (1 <= n <= TAPIR_TCPNET_MSGS_MAX) read in one go from @conn_id,
	 * in order, whose remote is @from. Borrowed for the call. TCP thread, no lock held.
	 */
	void (*on_frames)(void *ctx, uint64_t conn_id, const union tapir_sockaddr *from,
			  const uint8_t *const *msgs, const size_t *lens, unsigned int n);
	/* The outgoing connection @conn_id to @to, made for @cookie, is up. TCP thread, no lock. */
	void (*on_connected)(void *ctx, uint64_t conn_id, uint64_t cookie,
			     const union tapir_sockaddr *to);
	/*
	 * Whether @conn_id (outgoing, or accepted and authenticated) still carries @cookie; it is
	 * closed as replaced when not. TCP thread, transport lock held (inside
	 * tapir_tcpnet_expire_locked): reads only, takes no lock but a peer's endpoint_lock.
	 */
	bool (*is_wanted)(void *ctx, uint64_t conn_id, uint64_t cookie, bool is_outgoing);
	/*
	 * Every TAPIR_TCP_TICK_MS and after tapir_tcpnet_wake(): must call
	 * tapir_tcpnet_expire_locked() once, under whatever locks is_wanted needs, and may
	 * connect. TCP thread, no lock held. NULL: the transport expires on its own.
	 */
	void (*on_tick)(void *ctx, uint64_t now);
	/* epoll failed with -@err: the thread ends. TCP thread. */
	void (*on_fatal)(void *ctx, int err);
};

const char *tapir_tcp_stat_name(enum tapir_tcp_stat stat);

/*
 * Creates the transport (no sockets, no thread): @name prefixes its logs (borrowed for its
 * lifetime), @ops is copied, @stop_fd is readable once the thread must end. *@out is set even
 * on failure, for tapir_tcpnet_destroy(). 0 or -errno.
 */
int tapir_tcpnet_create(struct tapir_tcpnet **out, const char *name,
			const struct tapir_tcpnet_ops *ops, int stop_fd);
/* Starts the TCP thread. 0 or -errno. */
int tapir_tcpnet_start(struct tapir_tcpnet *t);
/* Stops and joins the thread (if @stop_fd has not already) and frees everything. Accepts NULL. */
void tapir_tcpnet_destroy(struct tapir_tcpnet *t);
uint64_t tapir_tcpnet_stat(const struct tapir_tcpnet *t, enum tapir_tcp_stat stat);
/*
 * Makes the thread tick now (something changed above), counted as wakeups. Any thread. A tick
 * is the layer above's on_tick: callers wake only for a change that concerns TCP.
 */
void tapir_tcpnet_wake(struct tapir_tcpnet *t);

/*
 * Remembers @port and, if listening is switched on, (re)opens the listener there, made by
 * @ops. Control thread. 0 or -errno (then nothing listens).
 */
int tapir_tcpnet_listen(struct tapir_tcpnet *t, uint16_t port, const struct tapir_sock_ops *ops);
/* Sets the listening switch; returns whether it changed. Opens or closes nothing. */
bool tapir_tcpnet_switch_listen(struct tapir_tcpnet *t, bool is_on);
/*
 * Applies the switch at the last port given to tapir_tcpnet_listen(): opens the listener or
 * closes it (accepted connections stay), made by @ops. On failure the switch goes back off.
 * Control thread. 0 or -errno.
 */
int tapir_tcpnet_relisten(struct tapir_tcpnet *t, const struct tapir_sock_ops *ops);
bool tapir_tcpnet_is_listen_on(const struct tapir_tcpnet *t);
/* The listening port, 0 when not listening. */
uint16_t tapir_tcpnet_listen_port(const struct tapir_tcpnet *t);
/* Applies a new fwmark to the listener and every connection, through @ops. */
void tapir_tcpnet_set_fwmark(struct tapir_tcpnet *t, uint32_t fwmark,
			     const struct tapir_sock_ops *ops);

/* Queues @msg on @conn_id: tapir_tcpnet_queue_locked() under the lock. */
int tapir_tcpnet_send(struct tapir_tcpnet *t, uint64_t conn_id, const void *msg, size_t len,
		      enum tapir_tcpnet_class cls);

/* The transport lock (see the lock order above). */
void tapir_tcpnet_lock(struct tapir_tcpnet *t);
void tapir_tcpnet_unlock(struct tapir_tcpnet *t);

/* The functions below need the transport lock held. */

/* Whether @conn_id is in the table and not condemned (0 is never a connection). */
bool tapir_tcpnet_is_alive_locked(struct tapir_tcpnet *t, uint64_t conn_id);
/*
 * Queues @msg (one WireGuard message, framed here) on @conn_id, writing at once when nothing
 * waits. 0; -ENOENT (no live connection); -ENOTCONN (the write failed: the connection is
 * condemned); -ENOBUFS (no room for @cls: counted as queue_full for data); -EMSGSIZE.
 */
int tapir_tcpnet_queue_locked(struct tapir_tcpnet *t, uint64_t conn_id, const void *msg, size_t len,
			      enum tapir_tcpnet_class cls);
/*
 * Starts a non-blocking connection to @to for @cookie, the socket's mark set through @ops;
 * messages may be queued on it at once. Sets *@conn_id. 0, -ENOSPC (table full or out of memory:
 * counted refused) or the socket's -errno (counted connect_failed).
 */
int tapir_tcpnet_connect_locked(struct tapir_tcpnet *t, const union tapir_sockaddr *to,
				uint64_t cookie, uint64_t now, const struct tapir_sock_ops *ops,
				uint64_t *conn_id);
/*
 * Something on @conn_id authenticated as @cookie: the connection stops being pending
 * (counted authenticated the first time) and carries @cookie from now on. Returns 1 for an
 * outgoing connection, 0 for an accepted one, -ENOENT when it is gone or condemned.
 */
int tapir_tcpnet_authenticate_locked(struct tapir_tcpnet *t, uint64_t conn_id, uint64_t cookie);
/* Condemns @conn_id (if alive): the TCP thread closes it, counted as @why. */
void tapir_tcpnet_close_locked(struct tapir_tcpnet *t, uint64_t conn_id, enum tapir_tcp_stat why);
/*
 * Condemns @conn_id, counted as closed_timeout, if it is established and has received
 * nothing for @silence_ns. Returns whether it did.
 */
bool tapir_tcpnet_close_silent_locked(struct tapir_tcpnet *t, uint64_t conn_id, uint64_t now,
				      uint64_t silence_ns);
/*
 * Unlinks every connection that must close now (condemned, timed out, or not wanted by
 * ops->is_wanted); the thread frees them after ops->on_tick returns. TCP thread, from
 * ops->on_tick only.
 */
void tapir_tcpnet_expire_locked(struct tapir_tcpnet *t, uint64_t now);

#endif
