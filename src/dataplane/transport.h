/* SPDX-License-Identifier: MIT */
/*
 * The TCP transport (design.md, "TCP transport"), for networks that block UDP: the peer
 * binding on top of net/tcpnet.h, which owns the connections, their framing, send queues,
 * admission caps, timeouts and thread (the rules about those are written there).
 *
 * - tapird listens on TCP at its UDP listen port only when asked to (UAPI tapir_tcp_listen=true,
 *   config TCPListen = on): by default a TCP SYN gets a reset, as a UDP probe gets silence.
 *   A peer configured with a TCP endpoint (UAPI tapir_transport=tcp, config Endpoint =
 *   tcp://host:port) is connected to by us whether or not we listen, and reconnected after a
 *   failure with exponential backoff and jitter (capped).
 * - One connection per peer. An accepted connection belongs to no peer until something on
 *   it authenticates (a handshake message consumed or a data packet decrypted); then it
 *   carries that peer (its cookie is the peer id), and the connection it replaces is closed:
 *   roaming over TCP.
 * - A peer whose packets authenticate over TCP is answered over TCP; one whose packets
 *   authenticate over UDP again (and has no TCP endpoint configured) goes back to UDP.
 * - Handshakes and keepalives are control messages (they may use the send queue's reserve);
 *   data packets are not.
 *
 * Threads: the transport's TCP thread calls back into this file (tapir_tcpnet_ops): received
 * messages go the way of UDP datagrams, with the thread's own worker slot and the device read
 * lock per read. Any thread may send (tapir_tcp_send*) without blocking. Lock order: device
 * lock -> transport lock -> peer endpoint_lock; a peer's tcp_backoff_ms and
 * tcp_next_connect_ns are guarded by the transport lock (tapir_tcpnet_lock).
 *
 * Cost: a UDP peer costs the transport nothing. Adding, moving or removing one does not wake
 * the TCP thread, and its tick walks only the peers with a TCP endpoint (a list kept here),
 * not the peer table: at 10,000 UDP peers each change used to cost the thread a walk of all
 * of them under the device lock (doc/mesh-design.md section 11).
 */
#ifndef TAPIR_TRANSPORT_H
#define TAPIR_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockaddr.h"
#include "tcpnet.h"

struct tapir_device;
struct tapir_peer;

enum {
	TAPIR_TCP_BACKOFF_MIN_MS = 250,
	TAPIR_TCP_BACKOFF_MAX_MS = 30000,
};

/* A counter (tcpnet.h), shown by `get` as tapir_tcp_NAME; 0 without a transport. */
uint64_t tapir_tcp_stat_get(const struct tapir_device *dev, enum tapir_tcp_stat stat);

/* Creates the transport (no sockets yet); after the workers exist. 0 or -errno. */
int tapir_tcp_init(struct tapir_device *dev);
/* Starts the TCP thread. 0 or -errno. */
int tapir_tcp_start(struct tapir_device *dev);
/* Stops the thread (the device stop event must be set) and frees everything. */
void tapir_tcp_destroy(struct tapir_device *dev);
/*
 * The UDP socket is now bound to @port: (re)opens the listener there if listening is on, else
 * only remembers the port. Control thread, no device lock held. 0 or -errno.
 */
int tapir_tcp_listen(struct tapir_device *dev, uint16_t port);
/*
 * Turns listening on (opens the listener at the last port given to tapir_tcp_listen()) or off
 * (closes the listener; accepted connections stay: authenticated ones carry peers, the others
 * expire on their own deadlines). Control thread, no device lock held. 0 or -errno (the switch
 * stays off when the listener cannot be opened).
 */
int tapir_tcp_set_listen(struct tapir_device *dev, bool is_on);
/* Whether listening is switched on (it may still have failed: see tapir_tcp_listen_port). */
bool tapir_tcp_is_listen_on(const struct tapir_device *dev);
/* The listening port, 0 when not listening. */
uint16_t tapir_tcp_listen_port(const struct tapir_device *dev);
/* Applies a new fwmark to the listener and every connection. */
void tapir_tcp_set_fwmark(struct tapir_device *dev, uint32_t fwmark);

/* Whether messages to @peer go over TCP. */
bool tapir_tcp_is_peer_tcp(const struct tapir_peer *peer);
/*
 * Queues @msg (one WireGuard message) for @peer's connection, connecting first if @peer has
 * a TCP endpoint and no connection (subject to the backoff). @is_data selects the drop rule.
 * 0, -ENOTCONN (no connection: counted as no_endpoint), -ENOBUFS (queue full: counted).
 */
int tapir_tcp_send(struct tapir_device *dev, struct tapir_peer *peer, const void *msg, size_t len,
		   bool is_data);
/* Queues a message on connection @conn_id (replies to handshakes that came in on it). */
int tapir_tcp_send_conn(struct tapir_device *dev, uint64_t conn_id, const void *msg, size_t len);
/*
 * A packet from @peer authenticated; @conn_id is the connection it came on, 0 for UDP.
 * Binds the connection to the peer (closing the one it replaces) or, for UDP, sends the
 * peer back to UDP unless it has a TCP endpoint. Any thread, device lock held.
 */
void tapir_tcp_note_authenticated(struct tapir_device *dev, struct tapir_peer *peer,
				  uint64_t conn_id);
/*
 * Configuration (control thread, device write lock held): @peer has a TCP endpoint (we
 * connect) or not. @is_reconnect drops the current connection (the endpoint moved). O(1);
 * wakes the TCP thread only when @peer had or gets a TCP endpoint or a connection.
 */
void tapir_tcp_set_peer_transport(struct tapir_device *dev, struct tapir_peer *peer, bool is_tcp,
				  bool is_reconnect);
/*
 * A handshake to @peer went unanswered: if it has a TCP endpoint and an established
 * connection that has been silent for REKEY_TIMEOUT, that connection is presumed dead and
 * replaced at once (the underlay address may have changed). Control thread.
 */
void tapir_tcp_handshake_retry(struct tapir_device *dev, struct tapir_peer *peer);
/*
 * Control thread, write lock held: forget @peer (its connections close on the tick this
 * wakes). O(1); a peer that never used TCP does not wake the TCP thread.
 */
void tapir_tcp_remove_peer(struct tapir_device *dev, struct tapir_peer *peer);

#endif
