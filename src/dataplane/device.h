/* SPDX-License-Identifier: MIT */
/*
 * One tapird interface: its identity, peers, tables, sockets, workers and queues. All daemon
 * state lives here and is passed explicitly, so tests could create several devices.
 *
 * Threads: the control thread (UAPI, timers, handshakes, netlink) and N workers. Each worker
 * owns one TUN queue and one UDP socket (SO_REUSEPORT) and moves packets in batches without
 * handing them to other threads; handshake messages go to the control thread through a
 * bounded queue whose fill level defines "under load". See peer/peer.h for the locking rules.
 */
#ifndef TAPIR_DEVICE_H
#define TAPIR_DEVICE_H

#include <net/if.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "allowedips.h"
#include "compress.h"
#include "icmp.h"
#include "offload.h"
#include "cookie.h"
#include "noise.h"
#include "peer.h"
#include "pktbuf.h"
#include "ratelimiter.h"
#include "sockaddr.h"
#include "sockops.h"
#include "transport.h"
#include "udp.h"

enum tapir_device_sizes {
	TAPIR_BATCH = 64,	   /* TUN reads or UDP receives per batch */
	TAPIR_SEND_MAX = 512,	   /* datagrams per send batch (after TSO splitting) */
	TAPIR_SEG_POOL = 448,	   /* per-worker buffers for split segments */
	TAPIR_SEG_DATA_MAX = 4096, /* payload capacity of a segment buffer */
	TAPIR_GSO_MAX_SEGS = 64,   /* datagrams per UDP_SEGMENT send (UDP_MAX_SEGMENTS) */
	TAPIR_HANDSHAKE_QUEUE_LEN = 1024,
	TAPIR_UNDER_LOAD_QUEUE_LEN = TAPIR_HANDSHAKE_QUEUE_LEN / 8,
	TAPIR_REQUEST_RING_LEN = 4096,
	TAPIR_STAGED_POOL_LEN = 1024,
	TAPIR_DEFAULT_MTU = 1420,
};

/* Reasons a packet was dropped; counted per device and shown by `get` and in verbose logs. */
enum tapir_drop_reason {
	TAPIR_DROP_MALFORMED,	       /* bad length or header for its type */
	TAPIR_DROP_UNKNOWN_INDEX,      /* data for no live keypair */
	TAPIR_DROP_DECRYPT,	       /* AEAD authentication failed */
	TAPIR_DROP_REPLAY,	       /* counter seen or too old */
	TAPIR_DROP_KEY_EXPIRED,	       /* keypair older than REJECT_AFTER_TIME */
	TAPIR_DROP_INNER_INVALID,      /* decrypted payload is not a valid IP packet */
	TAPIR_DROP_SOURCE_NOT_ALLOWED, /* inner source not in the peer's allowed IPs */
	TAPIR_DROP_NO_ROUTE,	       /* outgoing destination matches no peer */
	TAPIR_DROP_NO_ENDPOINT,	       /* peer has no endpoint */
	TAPIR_DROP_STAGED_FULL,	       /* staged queue or pool full */
	TAPIR_DROP_HANDSHAKE_INVALID,  /* bad mac1 or failed handshake processing */
	TAPIR_DROP_HANDSHAKE_QUEUE_FULL,
	TAPIR_DROP_RATELIMITED,
	TAPIR_DROP_EXTENSION, /* extension frame nobody handles */
	TAPIR_DROP_SEND_ERROR,
	TAPIR_DROP_TOO_BIG,
	TAPIR_DROP_L2_MISMATCH,	 /* Ethernet frame on a tun-mode interface */
	TAPIR_DROP_MAC_REJECTED, /* source MAC multicast, not pinned, or over the table limits */
	TAPIR_DROP_DECOMPRESS,	 /* COMPRESSED frame malformed or larger than the MTU allows */
	TAPIR_DROP_NOT_ETHERNET, /* TAP mode: a payload that is no Ethernet frame (an IP packet) */
	TAPIR_DROP_MAC_RESERVED, /* TAP mode: source MAC pinned to another peer */
	TAPIR_DROP_MAX,
};

const char *tapir_drop_reason_name(enum tapir_drop_reason reason);

/* Compression counters (tapir show IF compression; UAPI get=tapir tapir_lz4_NAME=). */
enum tapir_lz4_stat {
	TAPIR_LZ4_COMPRESSED,	  /* payloads sent as COMPRESSED frames */
	TAPIR_LZ4_INCOMPRESSIBLE, /* payloads for an LZ4 peer sent as they were: not smaller */
	TAPIR_LZ4_BYTES_SAVED,	  /* payload bytes that compression saved */
	TAPIR_LZ4_DECOMPRESSED,	  /* COMPRESSED frames received and decompressed */
	TAPIR_LZ4_STAT_MAX,
};
const char *tapir_lz4_stat_name(enum tapir_lz4_stat s);

struct tapir_device;

/*
 * Extension-frame hook: called by a worker (device read lock held) for an authenticated,
 * decrypted payload from @peer whose first byte is below 0x40. Returns 0 if consumed;
 * anything else counts a TAPIR_DROP_EXTENSION.
 */
struct tapir_worker;
typedef int (*tapir_extension_fn)(void *ctx, struct tapir_device *dev, struct tapir_peer *peer,
				  const uint8_t *frame, size_t len, struct tapir_worker *w);

struct tapir_handshake_item {
	struct tapir_endpoint from; /* the sender and the local address it reached */
	uint32_t len;
	uint64_t tcp_conn; /* the TCP connection it came on; 0 = UDP */
	uint8_t msg[TAPIR_MSG_INITIATION_LEN];
};

/* Per-packet bookkeeping of a send batch. */
struct tapir_worker_slot {
	struct tapir_peer *peer;
	struct tapir_keypair *kp;
	uint32_t inner_len;
};

/*
 * The send batch a worker is building (send.c): encrypted datagrams in the worker's msgs/iovs,
 * sent by tapir_send_batch_flush() in runs. The last peer's keypair and endpoint are looked up
 * once per run of packets to it.
 */
struct tapir_send_batch {
	struct tapir_peer *peer; /* the last packet's peer, and its keypair, endpoint, transport */
	struct tapir_keypair *kp;
	struct tapir_endpoint to;
	bool is_tcp;
	unsigned int out;    /* datagrams in the worker's msgs */
	unsigned int n_held; /* pool buffers in the worker's held[], back to the pool at flush */
	uint64_t now_ns;
};

/* What woke a worker: the epoll data of each descriptor in its set (device.c adds them). */
enum tapir_worker_event {
	TAPIR_WORKER_EV_TUN = 0,  /* its TUN queue is readable */
	TAPIR_WORKER_EV_UDP = 1,  /* its UDP socket is readable */
	TAPIR_WORKER_EV_STOP = 2, /* the device's stop eventfd */
};

struct tapir_worker {
	struct tapir_device *dev;
	unsigned int slot;
	pthread_t thread;
	bool is_started;
	int tun_fd;
	int epoll_fd;
	int udp_fd;	      /* device lock (swapped by the control thread as writer) */
	uint64_t rx_tcp_conn; /* the TCP thread: connection of the batch received; else 0 */
	struct tapir_pkt *pkts[TAPIR_BATCH];
	struct tapir_pkt *segs[TAPIR_SEG_POOL]; /* TAPIR_SEG_DATA_MAX bytes of payload each */
	/* scratch for one batch (too big for the stack) */
	struct tapir_pkt *list[TAPIR_SEND_MAX];
	struct mmsghdr msgs[TAPIR_SEND_MAX];
	struct iovec iovs[TAPIR_SEND_MAX];
	union tapir_sockaddr addrs[TAPIR_SEND_MAX];
	struct tapir_worker_slot slots[TAPIR_SEND_MAX];
	struct mmsghdr gmsgs[TAPIR_SEND_MAX]; /* runs of datagrams, one sendmsg each */
	unsigned int run_start[TAPIR_SEND_MAX], run_len[TAPIR_SEND_MAX];
	/* control data: UDP_GRO and the local address received, UDP_SEGMENT and the source sent */
	uint64_t cmsgs[TAPIR_SEND_MAX][TAPIR_UDP_CMSG_BYTES / sizeof(uint64_t)];
	struct tapir_local_addr tx_locals[TAPIR_SEND_MAX]; /* the source of each datagram sent */
	uint8_t *rx_msgs[TAPIR_SEND_MAX]; /* received datagrams after GRO splitting */
	size_t rx_lens[TAPIR_SEND_MAX];
	struct tapir_endpoint rx_from[TAPIR_SEND_MAX];
	uint8_t *seg_outs[TAPIR_OFFLOAD_MAX_SEGMENTS]; /* split outputs of one read */
	size_t seg_lens[TAPIR_OFFLOAD_MAX_SEGMENTS];
	struct tapir_gro gro;
	uint8_t *gro_bufs[TAPIR_GRO_MAX_ITEMS];
	struct tapir_pkt *scratch;     /* one more buffer: forwarding copies (receive path) */
	uint8_t gro_ether[14];	       /* TAP: the Ethernet header of every frame pending in gro */
	struct tapir_send_batch batch; /* the send batch being built */
	/* TAP: the source MAC and peer of the last frame learned in this receive batch (l2.c) */
	uint8_t l2_learned_mac[6];
	const struct tapir_peer *l2_learned_peer; /* NULL at the start of each receive batch */
	struct tapir_pkt *held[TAPIR_SEND_MAX];	  /* its copies from the device pool */
};

struct tapir_device {
	char ifname[IFNAMSIZ];
	int ifindex;
	int mtu;
	pthread_rwlock_t lock;

	struct tapir_noise_local local;		    /* writes under lock (writer) */
	struct tapir_cookie_checker cookie_checker; /* control thread */
	struct tapir_ratelimiter *ratelimiter;	    /* control thread */
	struct tapir_peer_table peers;		    /* control thread; writes under lock */
	struct tapir_index_table indices;	    /* writes under lock */
	struct tapir_allowedips *allowedips;	    /* writes under lock */
	uint16_t listen_port;			    /* control thread */
	uint32_t fwmark;			    /* control thread */
	bool is_up;				    /* sockets open */
	int udp_family;
	/* makes the sockets that need privilege; set before tapir_device_start, then constant */
	const struct tapir_sock_ops *sock_ops;
	/* the HTTP metrics endpoint, NULL = off; owned by control/metrics_http.c (control thread),
	 * opaque here */
	struct tapir_metrics_http *metrics_http;

	unsigned int nworkers;
	struct tapir_worker *workers;
	int *udp_fds; /* nworkers sockets; udp_fds[0] also used by the control thread */

	pthread_mutex_t hsq_lock;
	struct tapir_handshake_item *hsq; /* hsq_lock; ring */
	unsigned int hsq_head, hsq_count; /* hsq_lock */
	uint64_t under_load_until_ns;	  /* control thread */
	uint64_t timer_next_scan_ns;	  /* control thread: the next full timer scan */
	_Atomic uint64_t timer_stats[TAPIR_TIMER_STAT_MAX];

	pthread_mutex_t req_lock;
	uint64_t req_ids[TAPIR_REQUEST_RING_LEN]; /* req_lock: peers needing a handshake */
	unsigned int req_head, req_count;	  /* req_lock */
	int control_event_fd;			  /* eventfd: handshake or request queued */
	int stop_event_fd;			  /* eventfd: wakes workers to stop */
	_Atomic int mtu_cached;			  /* the TUN MTU, refreshed by the control thread */

	struct tapir_graveyard graveyard; /* retired keypairs, freed under the lock (writer) */

	struct tapir_pkt_pool pool; /* buffers for staged packets */

	/* L2 (TAP) mode, control thread writes under the lock */
	bool is_tap;
	bool is_forwarding; /* hub: relay frames between peers */
	uint64_t mac_age_ns;
	struct tapir_l2table *l2table;

	tapir_extension_fn extension_handler;
	void *extension_ctx;

	struct tapir_tcp *tcp;		 /* the TCP transport (transport.h) */
	struct tapir_worker *tcp_worker; /* its receive context; udp_fd under the lock */

	_Atomic uint64_t drops[TAPIR_DROP_MAX];
	/* LZ4 (l2.c): a context per sending thread (workers, control thread, TCP thread) */
	struct tapir_lz4_ctx **lz4;
	unsigned int n_lz4;
	_Atomic uint64_t lz4_stats[TAPIR_LZ4_STAT_MAX];
	/* "destination unreachable" for packets no peer routes (unreachable.c) */
	struct tapir_icmp_limiter icmp_limiter;
	_Atomic uint64_t icmp_stats[TAPIR_ICMP_STAT_MAX];
	_Atomic unsigned int offloads; /* enum tapir_offload; bits are cleared at run time */
	bool has_vnet_hdr;	       /* the TUN queues carry a virtio_net_hdr */
	bool has_tun_uso;	       /* the TUN takes UDP segmentation offload too */
	_Atomic bool is_stopping;
	_Atomic int stop_reason; /* 0 = signal, else -errno from a worker */
};

/*
 * Who sends a message built outside a worker's batch: the calling thread's cipher context @slot
 * (a worker's own, dev->nworkers for the control thread) and the UDP socket @fd its datagrams
 * leave from. Device lock held (read or write) while it is in use: a worker's socket may change.
 */
struct tapir_send_ctx {
	unsigned int slot;
	int fd;
};

static inline struct tapir_send_ctx tapir_send_ctx_worker(const struct tapir_worker *w)
{
	return (struct tapir_send_ctx){.slot = w->slot, .fd = w->udp_fd};
}

static inline struct tapir_send_ctx tapir_send_ctx_control(const struct tapir_device *dev)
{
	return (struct tapir_send_ctx){.slot = dev->nworkers, .fd = dev->udp_fds[0]};
}

/* What tapir_device_init builds a device from (tapird: its argv and environment). */
struct tapir_device_opts {
	const char *ifname;
	const int *tun_fds;    /* one open TUN/TAP queue per worker; the device's once it exists */
	unsigned int nworkers; /* 1 .. TAPIR_MAX_THREADS - 2 */
	bool is_tap;	       /* L2 mode: Ethernet frames */
	unsigned int offloads; /* enum tapir_offload; TUN only if the queues have IFF_VNET_HDR */
	bool is_fake_tun;      /* tests, fuzzers: the queues are no interface: no interface
				* index, TUN offload, MTU or sockets */
};

/*
 * Builds the whole device, in stages: queues and tables, worker contexts, the TCP transport,
 * the TUN side (interface index, offloads), L2 mode, the MTU, and the UDP sockets on a random
 * port, made directly (before the privileged helper exists: tapird sets dev->sock_ops to the
 * helper's operations once it does, before tapir_device_start). Returns 0, or -errno with
 * *@step naming the stage that failed and everything undone (the TUN queues stay the
 * caller's).
 */
int tapir_device_init(struct tapir_device *dev, const struct tapir_device_opts *opts,
		      const char **step);
/* Stops workers and frees everything. */
void tapir_device_destroy(struct tapir_device *dev);
/* Starts the worker threads. */
int tapir_device_start(struct tapir_device *dev);
/* Asks workers and the control loop to stop (any thread, async-signal-unsafe). */
void tapir_device_request_stop(struct tapir_device *dev, int reason);

/* (Re)opens the UDP sockets on @port; control thread, takes the write lock. 0 or -errno. */
int tapir_device_bind(struct tapir_device *dev, uint16_t port);
int tapir_device_set_fwmark(struct tapir_device *dev, uint32_t fwmark);
/* Sets the private key (all zero clears it) and re-derives every peer; write lock held. */
void tapir_device_set_private_key(struct tapir_device *dev, const uint8_t key[32]);

/* Peer management; control thread with the write lock held. */
struct tapir_peer *tapir_device_add_peer(struct tapir_device *dev, const uint8_t public_key[32]);
void tapir_device_remove_peer(struct tapir_device *dev, struct tapir_peer *peer);
void tapir_device_remove_all_peers(struct tapir_device *dev);
void tapir_device_set_psk(struct tapir_device *dev, struct tapir_peer *peer, const uint8_t psk[32]);
static inline void tapir_device_count_drop(struct tapir_device *dev, enum tapir_drop_reason r)
{
	atomic_fetch_add_explicit(&dev->drops[r], 1, memory_order_relaxed);
}

/* --- handshake.c: control thread --- */

/*
 * Queues a handshake message received by a worker or the TCP thread (copies it); @tcp_conn
 * is the TCP connection it came on, 0 for UDP. Any thread.
 */
void tapir_handshake_enqueue(struct tapir_device *dev, const uint8_t *msg, size_t len,
			     const struct tapir_endpoint *from, uint64_t tcp_conn);
/* Asks the control thread to initiate a handshake with @peer (deduplicated). Any thread. */
void tapir_handshake_request(struct tapir_device *dev, struct tapir_peer *peer);
/* Processes queued handshake messages and requests. Control thread. */
void tapir_handshake_process_queues(struct tapir_device *dev);
/*
 * Sends an initiation to @peer if allowed by the 5 s limit; @is_retry keeps the attempt count.
 * Control thread.
 */
void tapir_handshake_send_initiation(struct tapir_device *dev, struct tapir_peer *peer,
				     bool is_retry);
/* Runs expired timers (a full scan of the peers once a second). Control thread. */
void tapir_handshake_tick(struct tapir_device *dev, uint64_t now_ns);
/* Erases the handshake and all keypairs of @peer (write lock held). */
void tapir_peer_zero_keys(struct tapir_device *dev, struct tapir_peer *peer);

/* --- send.c: every message to a peer goes through here --- */

/*
 * Sends @peer's staged packets if any (they confirm the session just as well), else a keepalive
 * (an empty transport data message) on @peer's current keypair; without one, requests a
 * handshake. Device read (or write) lock held.
 */
void tapir_send_keepalive(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			  struct tapir_peer *peer);
/* Sends @peer's staged packets if a usable keypair exists; otherwise requests a handshake. */
void tapir_send_staged(struct tapir_device *dev, const struct tapir_send_ctx *tx,
		       struct tapir_peer *peer);
/* Drops every staged packet of @peer. */
void tapir_send_drop_staged(struct tapir_device *dev, struct tapir_peer *peer);
/*
 * Encrypts the user's packet or frame @pkt in place for @peer and sends it alone. Without a
 * usable keypair it is copied to the peer's staged ring and a handshake requested. Borrows @pkt.
 */
void tapir_send_data(struct tapir_device *dev, const struct tapir_send_ctx *tx,
		     struct tapir_peer *peer, struct tapir_pkt *pkt);
/*
 * Like tapir_send_data() for a message tapir makes itself (a CAPS frame): never staged (without
 * a usable keypair only a handshake is requested) and no data for the timers.
 */
void tapir_send_own_msg(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			struct tapir_peer *peer, struct tapir_pkt *pkt);
/*
 * Worker: encrypts and sends a batch of inner packets read from the TUN. Consumes nothing:
 * packets that must wait for a handshake are copied into the staged pool.
 */
void tapir_send_batch(struct tapir_device *dev, struct tapir_worker *w, struct tapir_pkt **pkts,
		      unsigned int n);
/*
 * Worker: the stages of tapir_send_batch() for a classifier of its own (TAP mode). begin
 * starts an empty batch in @w; add encrypts @pkt for @peer into it (borrowed until the flush;
 * staged without a usable keypair); add_copy does the same with a copy of @len bytes at @data
 * in a buffer of the device pool; flush sends the batch (UDP GSO runs, one sendmmsg) and
 * gives the copies back.
 */
void tapir_send_batch_begin(struct tapir_worker *w);
void tapir_send_batch_add(struct tapir_device *dev, struct tapir_worker *w, struct tapir_peer *peer,
			  struct tapir_pkt *pkt);
void tapir_send_batch_add_copy(struct tapir_device *dev, struct tapir_worker *w,
			       struct tapir_peer *peer, const uint8_t *data, size_t len);
void tapir_send_batch_flush(struct tapir_device *dev, struct tapir_worker *w);
/*
 * Sends a raw handshake/cookie message to @to->addr, from @to->local if it has one, on the
 * control socket. 0 or -errno.
 */
int tapir_send_raw(struct tapir_device *dev, const void *msg, size_t len,
		   const struct tapir_endpoint *to);
/* Sends a handshake message to @peer: over its TCP connection, else to its endpoint. */
int tapir_send_raw_peer(struct tapir_device *dev, struct tapir_peer *peer, const void *msg,
			size_t len);
/* Returns @peer's current keypair if it may send. Device lock held (read or write). */
struct tapir_keypair *tapir_send_keypair(struct tapir_peer *peer, uint64_t now_ns);

/* --- unreachable.c --- */

/*
 * Worker, TUN mode: answers @pkt, which no peer routes, with an ICMP/ICMPv6 "destination
 * unreachable" written into the worker's TUN queue, within the device's rate limit and unless
 * @prev (the packet before it in the batch, or NULL) went between the same two addresses.
 * Borrows both.
 */
void tapir_unreachable_reply(struct tapir_device *dev, struct tapir_worker *w,
			     struct tapir_pkt *pkt, struct tapir_pkt *prev);

/* --- receive.c --- */

/*
 * Worker: handles @n datagrams (msgs[i] of lens[i] bytes from from[i].addr, arrived on
 * from[i].local), decrypting in place, and writes what they carry to the TUN (coalesced when
 * GRO is on).
 */
void tapir_receive_batch(struct tapir_device *dev, struct tapir_worker *w, uint8_t *const *msgs,
			 const size_t *lens, const struct tapir_endpoint *from, unsigned int n);
/* Turns offload @bit off for good, with one log line naming @why. Any thread. */
void tapir_device_disable_offload(struct tapir_device *dev, enum tapir_offload bit,
				  const char *why);

/* --- l2.c: TAP mode and capability frames --- */

enum {
	TAPIR_TAP_DEFAULT_MTU = 1400, /* 1420 - 3 (extension header) - 14 (Ethernet), rounded */
	TAPIR_L2_MAX_MACS = 65536,
	TAPIR_L2_MAX_MACS_PER_PEER = 1024,
	TAPIR_L2_DEFAULT_MAC_AGE_S = 300,
	TAPIR_L2_FRAME_OVERHEAD = 3 + 14, /* extension header + Ethernet header */
	TAPIR_L2_VLAN_TAG_BYTES = 4,	  /* an 802.1Q tag inside a frame */
};

/* Sets up the MAC table and the extension hook; @is_tap selects TAP mode. 0 or -ENOMEM. */
int tapir_l2_init(struct tapir_device *dev, bool is_tap);
void tapir_l2_destroy(struct tapir_device *dev);
/* Worker (TAP mode): switches a batch of Ethernet frames read from the TAP device. */
void tapir_l2_send_batch(struct tapir_device *dev, struct tapir_worker *w, struct tapir_pkt **pkts,
			 unsigned int n);
/*
 * TAP mode, the tapir_gro_emit_fn of the worker @ctx: writes the (super-)packet @pkt with @vh
 * and the Ethernet header its frames had (every frame pending in the worker's gro has the same).
 */
void tapir_l2_write_vnet(void *ctx, const struct virtio_net_hdr *vh, const uint8_t *pkt,
			 size_t len);
/*
 * Control thread, write lock held: Compression = lz4 (or off) for @peer. Used once both sides
 * announced it; a CAPS frame goes out at once when a session exists, else after the handshake.
 */
void tapir_l2_set_compression(struct tapir_device *dev, struct tapir_peer *peer, bool is_lz4);
/*
 * Send path, before encryption (any sending thread, @slot its context), for a peer with
 * Compression = lz4: compresses the payload of @pkt in place when the peer announced LZ4 too
 * and it gets smaller.
 */
void tapir_l2_maybe_compress(struct tapir_device *dev, struct tapir_keypair *kp, unsigned int slot,
			     struct tapir_pkt *pkt);
/* After a handshake completed with @peer: announce our capabilities (TAP mode or LZ4 only). */
void tapir_l2_session_started(struct tapir_device *dev, const struct tapir_send_ctx *tx,
			      struct tapir_peer *peer);
/* Control thread, each tick: ages out MAC entries. */
void tapir_l2_tick(struct tapir_device *dev, uint64_t now_ns);
/* Control thread, write lock held: forget @peer's MACs (removal). */
void tapir_l2_remove_peer(struct tapir_device *dev, struct tapir_peer *peer);
/*
 * Control thread, write lock held, after @peer's pins (MACs =) changed: forget every MAC of
 * @peer, learned or pinned. tapir_l2_pin_all() then makes the new reservations.
 */
void tapir_l2_unpin(struct tapir_device *dev, struct tapir_peer *peer);
/*
 * Control thread, write lock held: reserves every peer's pinned MACs in the MAC table (a learned
 * entry of another peer for one gives way). Logs a MAC it cannot reserve (pinned to two peers:
 * the first keeps it; the UAPI refuses such a set before it gets here).
 */
void tapir_l2_pin_all(struct tapir_device *dev);

/* --- worker.c --- */
void *tapir_worker_main(void *arg);
/* Packet, segment and GRO buffers of a worker context. 0 or -ENOMEM; free after either. */
int tapir_worker_init_buffers(struct tapir_worker *w);
void tapir_worker_free_buffers(struct tapir_worker *w);

#endif
