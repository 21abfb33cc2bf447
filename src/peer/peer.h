/* SPDX-License-Identifier: MIT */
/*
 * Peers, keypairs and the lookup tables that find them: by public key and id (control thread
 * only) and by receiver index (data path). No I/O.
 *
 * Concurrency (one scheme for the whole daemon): the control thread is the only writer of
 * every table and of peer/keypair lifetimes, and it writes only while holding the device
 * lock (tapir_device.lock) as a writer. Workers hold that lock as readers for the duration of
 * one batch, so any peer or keypair a worker can reach stays allocated until the batch ends.
 * Retired keypairs wait in a graveyard until the control thread holds the write lock.
 *
 * Lock order: device lock -> peer keypair_lock -> peer endpoint_lock -> peer staged_lock ->
 * keypair replay_lock. No lock is held across a blocking call.
 */
#ifndef TAPIR_PEER_H
#define TAPIR_PEER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allowedips.h"
#include "sockaddr.h"
#include "cookie.h"
#include "noise.h"
#include "replay.h"
#include "timers.h"

enum {
	TAPIR_MAX_THREADS = 64,		 /* workers + the control thread */
	TAPIR_PEER_MAX_PINNED_MACS = 16, /* source MACs pinned per peer in TAP mode */
};

struct tapir_peer;
struct tapir_keypair;
struct tapir_aead_ctx;

/* One slot of the receiver-index table: a pending handshake or a live keypair. */
struct tapir_index_entry {
	uint32_t index;
	bool is_linked;
	struct tapir_peer *peer;
	struct tapir_keypair *keypair; /* NULL: the peer's handshake */
	struct tapir_index_entry *next;
};

struct tapir_keypair {
	struct tapir_index_entry entry; /* entry.index = local index */
	struct tapir_peer *peer;
	uint32_t remote_index;
	bool is_initiator;
	uint64_t birth_ns;
	_Atomic uint64_t send_counter;
	_Atomic bool is_retired; /* moved out of every slot; packets on it are dropped */
	pthread_spinlock_t replay_lock;
	struct tapir_replay replay; /* replay_lock */
	unsigned int nctx;
	struct tapir_aead_ctx *send_ctx[TAPIR_MAX_THREADS]; /* one per thread slot */
	struct tapir_aead_ctx *recv_ctx[TAPIR_MAX_THREADS];
	struct tapir_keypair *grave_next; /* graveyard lock */
};

/* A staged packet buffer (from the device pool). */
struct tapir_pkt;

struct tapir_peer {
	uint64_t id;
	uint8_t public_key[32];
	bool is_dead; /* unlinked; control thread */

	/* control thread */
	struct tapir_noise_handshake hs;
	struct tapir_cookie_maker cookie;
	struct tapir_index_entry hs_entry;
	struct tapir_allowedips_owner allowed;
	struct tapir_peer *pub_next, *id_next, *list_prev, *list_next;
	/* the table's list of peers with a timer due before the next full scan (handshake.c) */
	struct tapir_peer *soon_prev, *soon_next;
	bool is_soon;

	pthread_mutex_t keypair_lock;
	struct tapir_keypair *kp_current;  /* keypair_lock */
	struct tapir_keypair *kp_previous; /* keypair_lock */
	struct tapir_keypair *kp_next;	   /* keypair_lock */

	pthread_mutex_t endpoint_lock;
	/* endpoint_lock; addr.sa.sa_family 0 = none; local: the address the peer last reached
	 * us on (sent from, sticky), family 0 = the kernel's default */
	struct tapir_endpoint endpoint;

	pthread_mutex_t staged_lock;
	struct tapir_pkt *staged[MAX_STAGED_PACKETS]; /* staged_lock; ring */
	unsigned int staged_head, staged_count;	      /* staged_lock */

	struct tapir_timers timers;
	_Atomic uint64_t rx_bytes, tx_bytes;
	_Atomic int64_t last_handshake_sec; /* CLOCK_REALTIME */
	_Atomic int64_t last_handshake_nsec;
	_Atomic uint64_t last_sent_handshake_ns; /* for the 5 s initiation limit */
	_Atomic bool is_handshake_requested;	 /* queued on the device request ring */

	/* tapir extensions */
	_Atomic uint32_t remote_caps;	     /* capabilities the peer announced (CAPS frame) */
	_Atomic bool is_mismatch_logged;     /* L2 mismatch logged once per session */
	_Atomic bool wants_lz4;		     /* Compression = lz4 here (used once both announce) */
	_Atomic bool is_lz4_mismatch_logged; /* no LZ4 from the peer: logged once per session */
	uint8_t pinned_macs[TAPIR_PEER_MAX_PINNED_MACS][6]; /* written under the device lock */
	unsigned int n_pinned_macs;			    /* 0 = any source MAC */

	/* TCP transport (dataplane/transport.c) */
	_Atomic bool is_tcp_client;	  /* the endpoint is TCP: we connect */
	_Atomic uint64_t tcp_conn;	  /* connection carrying this peer; 0 = UDP */
	_Atomic uint64_t tcp_authed_conn; /* the last one a packet authenticated on */
	uint64_t tcp_next_connect_ns;	  /* transport lock: backoff */
	uint32_t tcp_backoff_ms;	  /* transport lock */
	/* transport.c's list of peers with a TCP endpoint: device lock (written as a writer) */
	struct tapir_peer *tcp_prev, *tcp_next;
};

/* Peer tables: by public key and by id; insertion-ordered list. Control thread only. */
struct tapir_peer_table {
	struct tapir_peer **by_key;
	struct tapir_peer **by_id;
	size_t nbuckets;
	size_t count;
	struct tapir_peer *first, *last;
	struct tapir_peer *soon; /* a subset of the list, in no order: see is_soon */
	uint64_t next_id;
};

int tapir_peer_table_init(struct tapir_peer_table *t);
void tapir_peer_table_destroy(struct tapir_peer_table *t);
struct tapir_peer *tapir_peer_table_find_key(const struct tapir_peer_table *t,
					     const uint8_t key[32]);
struct tapir_peer *tapir_peer_table_find_id(const struct tapir_peer_table *t, uint64_t id);
/* Links @peer (assigns its id). Returns 0 or -ENOMEM. */
int tapir_peer_table_add(struct tapir_peer_table *t, struct tapir_peer *peer);
/* Unlinks @peer from every list, the soon list included. */
void tapir_peer_table_remove(struct tapir_peer_table *t, struct tapir_peer *peer);
/* Puts @peer on, or takes it off, the table's soon list (no-ops if it is there / is not). */
void tapir_peer_table_soon_add(struct tapir_peer_table *t, struct tapir_peer *peer);
void tapir_peer_table_soon_remove(struct tapir_peer_table *t, struct tapir_peer *peer);

/* Receiver-index table (read by workers under the device read lock). */
struct tapir_index_table {
	struct tapir_index_entry **buckets;
	size_t nbuckets;
	size_t count;
};

int tapir_index_table_init(struct tapir_index_table *t);
void tapir_index_table_destroy(struct tapir_index_table *t);
struct tapir_index_entry *tapir_index_table_find(const struct tapir_index_table *t, uint32_t index);
/* Links @entry under a fresh random index (drawn with @rand_fn) not yet in use. */
int tapir_index_table_insert_new(struct tapir_index_table *t, struct tapir_index_entry *entry,
				 uint32_t (*rand_fn)(void));
/* Links @entry under its current index (it must be free). */
int tapir_index_table_insert(struct tapir_index_table *t, struct tapir_index_entry *entry);
void tapir_index_table_remove(struct tapir_index_table *t, struct tapir_index_entry *entry);

/* Allocates a zeroed peer with initialised locks. Returns NULL on failure. */
struct tapir_peer *tapir_peer_new(const uint8_t public_key[32]);
/* Frees the peer (its keypairs and staged packets must already be gone). Accepts NULL. */
void tapir_peer_free(struct tapir_peer *peer);

/*
 * Creates a keypair from session keys with @nthreads contexts per direction. Returns NULL on
 * allocation failure. The keys in @keys are copied into cipher contexts (caller wipes @keys).
 */
struct tapir_keypair *tapir_keypair_new(const struct tapir_noise_session_keys *keys,
					struct tapir_peer *peer, unsigned int nthreads,
					uint64_t now_ns);
void tapir_keypair_free(struct tapir_keypair *kp);

/*
 * Retired keypairs (the device has one graveyard): a keypair moved out of every peer slot may
 * still be in a worker's hands until the batch ends, so it waits here until the control thread
 * holds the device lock as a writer, and is freed then.
 */
struct tapir_graveyard {
	pthread_mutex_t lock;
	struct tapir_keypair *first; /* lock; linked by grave_next */
};

void tapir_graveyard_init(struct tapir_graveyard *g);
/* Marks @kp retired and queues it (any thread; already unlinked from every slot). NULL ok. */
void tapir_graveyard_retire(struct tapir_graveyard *g, struct tapir_keypair *kp);
bool tapir_graveyard_is_empty(struct tapir_graveyard *g);
/* Unlinks each retired keypair from @indices and frees it; device write lock held. */
void tapir_graveyard_reap(struct tapir_graveyard *g, struct tapir_index_table *indices);

/*
 * Endpoint access (endpoint_lock). The endpoint's local address is the sticky source: where
 * the peer's last authenticated packet arrived, sent from until it goes away.
 */
void tapir_peer_get_endpoint(struct tapir_peer *peer, union tapir_sockaddr *out);
/* The endpoint with its local address, read together. */
void tapir_peer_load_endpoint(struct tapir_peer *peer, struct tapir_endpoint *out);
/* A configured endpoint: the local address is forgotten. */
void tapir_peer_set_endpoint(struct tapir_peer *peer, const union tapir_sockaddr *addr);
/* Roaming: an authenticated packet came @from there (address and local address). */
void tapir_peer_roam(struct tapir_peer *peer, const struct tapir_endpoint *from);
/* Sends fall back to the kernel's source: the local address is forgotten if it is still
 * @stale (NULL: whatever it is). */
void tapir_peer_forget_local(struct tapir_peer *peer, const struct tapir_local_addr *stale);
/* Records "now" (CLOCK_REALTIME) as the peer's last handshake time. */
void tapir_peer_record_handshake_time(struct tapir_peer *peer);

#endif
