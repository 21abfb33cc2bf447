/* SPDX-License-Identifier: MIT */
/*
 * The state of one running agent (tapir mesh join), shared by mesh.c (lease, device, loop) and
 * mesh_apply.c (records to peers). Owned by tapir_mesh_join's stack frame; single-threaded.
 */
#ifndef TAPIR_MESH_AGENT_H
#define TAPIR_MESH_AGENT_H

#include <errno.h>
#include <stdarg.h>
#include <sys/types.h>
#include <time.h>

#include "mesh.h"

/* What tapird has for one subnet, as last applied. */
struct tapir_mesh_slot {
	bool is_present;
	uint8_t public_key[32];
	char endpoint[TAPIR_MESH_ENDPOINT_MAX];
	uint64_t not_after; /* the certificate's expiry (s since the epoch), 0: none checked */
};

struct tapir_mesh_agent {
	struct tapir_etcd *e;
	const struct tapir_mesh_net *net;
	const struct tapir_mesh_join_opts *opts;
	char prefix[TAPIR_MESH_KEY_MAX];	 /* .../subnets/ */
	char net_prefix[TAPIR_MESH_KEY_MAX];	 /* /tapir/networks/NAME/: resync and watch */
	char revoked_prefix[TAPIR_MESH_KEY_MAX]; /* .../revoked/ */
	char revlist_key[TAPIR_MESH_KEY_MAX];	 /* .../revocations */
	struct tapir_mesh_host self;		 /* our record; self.subnet valid once has_lease */
	int64_t lease;
	bool has_lease;
	bool needs_rewrite; /* our record was changed or deleted by someone */
	bool has_synced;    /* a resync has completed (the first runs before acquire) */
	/*
	 * tapird: the private key this host joined with (kept so that a tapird restarted without
	 * it gets it back: the record, and a certificate, bind its public key; wiped on exit),
	 * the port, and the identity of the UAPI socket (a restarted tapird binds a new one).
	 */
	uint8_t private_key[32];
	bool has_private_key;
	uint16_t port;
	bool needs_setup;    /* tapird restarted or failed a call: key, port, link, peers again */
	bool is_tapird_down; /* the last attempt found no tapird (logged once) */
	dev_t sock_dev;
	ino_t sock_ino;
	struct timespec sock_ctime;
	struct tapir_mesh_slot *slots; /* owned; one per subnet number */
	uint64_t next_expiry;	       /* no present slot's certificate expires before; 0: none */
	uint64_t n_ignored, n_applied;
	uint64_t n_watch_lost; /* watches that ended and were resynced */
	uint64_t n_failovers;  /* of those, the ones restarted on another etcd member */
	/* the etcd endpoint the last watch ended on (tapir_etcd_watch_endpoint's), NULL: none */
	const char *watch_lost_on;
	/*
	 * Keys the admin revoked, verified (mesh_revoke.c): sorted, owned, at most
	 * TAPIR_MESH_REVOKED_MAX. Kept across resyncs and, in STATE_DIR/NAME.revoked, restarts:
	 * a revocation deleted from etcd stays in force.
	 */
	uint8_t (*revoked)[32];
	size_t n_revoked, cap_revoked;
	uint64_t n_bad_revocations; /* unsigned, forged or malformed entries or lists */
	/*
	 * The revocation list (mesh_revoke.c): the highest serial verified (this run or from
	 * STATE_DIR/NAME.revlist), and our certificate's serial. While the first is below the
	 * second the agent is held: it applies no record of another host (fail closed).
	 */
	uint64_t revlist_serial, revlist_need;
	bool needs_resync;    /* a list lifted the hold: read the store again */
	uint64_t n_held;      /* records not applied while held */
	uint64_t n_rollbacks; /* verified lists older than one verified before */
};

/* A UAPI call's result that means no daemon listens on the socket (it died or was stopped). */
static inline bool tapir_mesh_is_tapird_gone(int r)
{
	return r == -ENOENT || r == -ECONNREFUSED || r == -ECONNRESET || r == -EPIPE;
}

/* mesh_apply.c */
__attribute__((format(printf, 2, 3))) void tapir_mesh_say(const struct tapir_mesh_agent *a,
							  const char *fmt, ...);
/* A tapir_etcd_event_fn: @ctx is the agent. */
void tapir_mesh_on_event(void *ctx, bool is_delete, const struct tapir_etcd_kv *kv);
/* Brings tapird's mesh peers in line with the store; *rev_out: the revision read. */
int tapir_mesh_resync(struct tapir_mesh_agent *a, int64_t *rev_out);
/*
 * Sets every peer the agent last applied again, from memory, in one UAPI set: for a tapird
 * restarted while etcd cannot be read (the resync follows once it can).
 */
int tapir_mesh_reapply(struct tapir_mesh_agent *a);
/*
 * Removes every peer whose certificate expired by @now (s since the epoch) while its record sat
 * unchanged in etcd, counting each as ignored; then sets next_expiry again.
 */
void tapir_mesh_expire(struct tapir_mesh_agent *a, uint64_t now);
/* Removes the peer with public key @key, wherever it is (O(subnets)); "same" if none. */
const char *tapir_mesh_drop_key(struct tapir_mesh_agent *a, const uint8_t key[32]);

/* mesh_revoke.c */
bool tapir_mesh_is_revoked(const struct tapir_mesh_agent *a, const uint8_t key[32]);
/*
 * A PUT or DELETE under .../revoked/: a revocation signed by the admin adds its key to the set
 * and removes that host's peer at once; anything else is ignored, logged and counted. Returns
 * what it did, for --trace-apply.
 */
const char *tapir_mesh_on_revocation(struct tapir_mesh_agent *a, bool is_delete,
				     const struct tapir_etcd_kv *kv);
/* Reads back the revocations this host's agent kept in its state dir, verifying each. */
void tapir_mesh_revoked_load(struct tapir_mesh_agent *a);
/*
 * A PUT or DELETE of the revocation list: one that verifies and is not older than the last
 * adds its keys (dropping their peers) and, if newer, is kept in STATE_DIR/NAME.revlist and
 * may lift the hold; an older one is a rollback; anything else is ignored. All logged and
 * counted. Returns what it did, for --trace-apply.
 */
const char *tapir_mesh_on_revlist(struct tapir_mesh_agent *a, bool is_delete,
				  const struct tapir_etcd_kv *kv);
/* Reads back STATE_DIR/NAME.revlist, verifying it; says whether the agent is held. */
void tapir_mesh_revlist_load(struct tapir_mesh_agent *a);
/* Whether records wait for a revocation list at least as new as our certificate's. */
bool tapir_mesh_is_held(const struct tapir_mesh_agent *a);
/* A record not applied because the agent is held: counted, and logged unless @is_quiet. */
void tapir_mesh_hold(struct tapir_mesh_agent *a, const struct tapir_etcd_kv *kv, bool is_quiet);
/* Writes the agent's trust state to STATE_DIR/NAME.trust for tapir mesh status. */
void tapir_mesh_trust_write(struct tapir_mesh_agent *a);
/* Removes it as the agent stops: a state no agent holds is not shown. */
void tapir_mesh_trust_clear(struct tapir_mesh_agent *a);
void tapir_mesh_revoked_free(struct tapir_mesh_agent *a);

#endif
