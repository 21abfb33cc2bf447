/* SPDX-License-Identifier: MIT */
/*
 * Inside the TCP transport: the connection and table structs and the helpers that
 * tcpnet.c (table, send side, listener, lifetime) and tcpnet_thread.c (the TCP thread:
 * accept and admission, reading, deadlines) share. Not for users of tcpnet.h.
 */
#ifndef TAPIR_TCPNET_INT_H
#define TAPIR_TCPNET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tcpnet.h"

enum tapir_tcpnet_consts {
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
	bool is_client;	    /* we connected */
	bool is_connecting; /* connect() in progress */
	bool is_authenticated;
	bool is_dead; /* condemned (a sender saw an error, or replaced): the TCP thread closes it */
	bool is_out_armed;
	bool has_frame; /* a complete frame arrived (the first-frame deadline is met) */
	enum tapir_tcp_stat dead_reason;
	uint64_t cookie; /* client: what it was made for; server: once authenticated */
	union tapir_sockaddr remote;
	uint64_t created_ns, last_rx_ns, partial_since_ns;
	size_t tx_head, tx_len; /* ring in txq */
	uint8_t txq[TAPIR_TCP_SENDQ_BYTES];
	struct tapir_tcpframe_reader rx; /* TCP thread only */
};

struct tapir_tcpnet {
	const char *name;
	struct tapir_tcpnet_ops ops;
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
	_Atomic bool is_stopping; /* set by tapir_tcpnet_destroy, besides the stop fd */
	/* TCP thread scratch: connections unlinked by expiry, freed after the tick */
	struct tapir_tcp_conn *closing[TAPIR_TCP_MAX_CONNS];
	enum tapir_tcp_stat closing_why[TAPIR_TCP_MAX_CONNS];
	unsigned int nclosing;
	/* TCP thread scratch: the messages of one read, handed up in one call */
	const uint8_t *msgs[TAPIR_TCPNET_MSGS_MAX];
	size_t lens[TAPIR_TCPNET_MSGS_MAX];
	_Atomic uint64_t stats[TAPIR_TCP_STAT_MAX];
};

static inline void tapir_tcpnet_count(struct tapir_tcpnet *t, enum tapir_tcp_stat stat)
{
	atomic_fetch_add_explicit(&t->stats[stat], 1, memory_order_relaxed);
}

/* @id's connection, condemned or not; NULL if none. Transport lock held. */
static inline struct tapir_tcp_conn *tapir_tcpnet_find_locked(struct tapir_tcpnet *t, uint64_t id)
{
	struct tapir_tcp_conn *c;

	if (id < FIRST_CONN_ID)
		return NULL;
	c = t->conns[id % TAPIR_TCP_MAX_CONNS];
	return c && c->id == id ? c : NULL;
}

/* tcpnet.c */

/*
 * A new connection in the table and the epoll set (ours, @is_client, start connecting). NULL
 * when full (fd left open). Transport lock held.
 */
struct tapir_tcp_conn *tapir_tcpnet_new_conn_locked(struct tapir_tcpnet *t, int fd,
						    const union tapir_sockaddr *remote,
						    bool is_client, uint64_t now);
/* Takes @c out of the table; the caller frees it. Transport lock held. */
void tapir_tcpnet_unlink_locked(struct tapir_tcpnet *t, struct tapir_tcp_conn *c);
/* Closes the socket and frees @c, already unlinked. TCP thread. */
void tapir_tcpnet_free_conn(struct tapir_tcp_conn *c);
/* Counts, logs and frees @c, already unlinked. TCP thread. */
void tapir_tcpnet_closed(struct tapir_tcpnet *t, struct tapir_tcp_conn *c, enum tapir_tcp_stat why);
/* Unlinks, counts, logs and frees @c. TCP thread, transport lock not held. */
void tapir_tcpnet_close_conn(struct tapir_tcpnet *t, struct tapir_tcp_conn *c,
			     enum tapir_tcp_stat why);
/* Writes what @c's queue holds; disarms EPOLLOUT once it is empty. Transport lock held. */
void tapir_tcpnet_flush_locked(struct tapir_tcpnet *t, struct tapir_tcp_conn *c);

/* tcpnet_thread.c */

/* The TCP thread, @arg the transport; ends when the stop fd is readable. */
void *tapir_tcpnet_main(void *arg);

#endif
