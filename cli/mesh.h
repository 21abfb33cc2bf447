/* SPDX-License-Identifier: MIT */
/*
 * tapir mesh (doc/mesh-design.md): the network definition and host records kept in etcd under
 * /tapir/networks/NAME/, and the agent that turns them into tapird peers. Overlay addresses are
 * IPv4 in host byte order; a host's subnet is named by its number inside the overlay CIDR.
 */
#ifndef TAPIR_MESH_H
#define TAPIR_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "etcd.h"

enum {
	TAPIR_MESH_NAME_MAX = 64,
	TAPIR_MESH_ENDPOINT_MAX = 64,
	TAPIR_MESH_RECORD_MAX_BYTES = 1024,
	TAPIR_MESH_SUBNET_BITS_MAX = 16, /* at most 65,536 hosts per network */
	TAPIR_MESH_KEY_MAX = 160,
	TAPIR_MESH_CIDR_TEXT = 20, /* "255.255.255.255/32" */
	TAPIR_MESH_DEFAULT_PORT = 51820,
	TAPIR_MESH_DEFAULT_MTU = 1420,
	TAPIR_MESH_DEFAULT_KEEPALIVE_S = 25,
	TAPIR_MESH_DEFAULT_SUBNET_LEN = 24,
	TAPIR_MESH_DEFAULT_TTL_S = 30,
	TAPIR_MESH_CERT_TEXT = 120,	  /* base64 of 86 bytes (version 2), and a NUL */
	TAPIR_MESH_REVOCATION_TEXT = 144, /* base64 of 105 bytes, and a NUL */
	TAPIR_MESH_REVOKED_MAX = 65536,	  /* revoked keys an agent keeps */
	/*
	 * tap mode: what a frame carries more than an IP packet, tapird's TAPIR_L2_FRAME_OVERHEAD
	 * (3-byte extension header, 14-byte Ethernet header). The TAP's MTU is the network's
	 * MTU less this, as `tapir up` sets it (1403 for 1420), so a full frame fits the packet
	 * size the network's MTU was chosen for.
	 */
	TAPIR_MESH_L2_OVERHEAD_BYTES = 3 + 14,
	TAPIR_MESH_REVLIST_MAX = 8192, /* keys in one revocation list */
	/* base64 of a full list: 86 + name + 40 per key, signature included */
	TAPIR_MESH_REVLIST_TEXT_MAX =
	    (86 + TAPIR_MESH_NAME_MAX + 40 * TAPIR_MESH_REVLIST_MAX) / 3 * 4 + 8,
};

struct tapir_mesh_net {
	char name[TAPIR_MESH_NAME_MAX];
	uint32_t cidr_addr; /* network address */
	uint8_t cidr_len, subnet_len;
	uint16_t port, mtu, keepalive_s;
	bool is_tap;	       /* mode tap: one L2 segment, tapird --mode tap on every host */
	bool has_admin_key;    /* the config names an admin key: records must be signed */
	uint8_t admin_key[32]; /* Ed25519 public key */
};

/* What a host certificate binds, besides the network and the WireGuard key (mesh_trust.c). */
struct tapir_mesh_cert {
	uint32_t subnet_addr;
	uint8_t subnet_len;
	uint64_t not_after; /* seconds since the epoch */
	/*
	 * The serial of the revocation list when it was signed: its host's agent applies no
	 * record until it verified a list at least this new. 0: none (a version 1 certificate).
	 */
	uint64_t revlist_serial;
};

/* A revocation: the admin withdraws one WireGuard public key from the network (mesh_trust.c). */
struct tapir_mesh_revocation {
	uint8_t public_key[32];
	uint64_t revoked_at; /* seconds since the epoch, for the logs */
};
/* tapir_mesh_key_find() reads the key at the start of each entry */
_Static_assert(offsetof(struct tapir_mesh_revocation, public_key) == 0, "key first");

/*
 * The network's revocation list (mesh_revlist.c): every key the admin revoked, in one signed
 * document whose serial only grows. @keys is sorted by public key, without duplicates.
 */
struct tapir_mesh_revlist {
	uint64_t serial;
	uint64_t issued_at; /* seconds since the epoch */
	size_t n, cap;
	struct tapir_mesh_revocation *keys; /* owned, n of them, room for cap */
};

struct tapir_mesh_host {
	uint8_t public_key[32];
	char endpoint[TAPIR_MESH_ENDPOINT_MAX]; /* "192.0.2.7:51820" or "[2001:db8::7]:51820" */
	char hostname[TAPIR_MESH_NAME_MAX];
	uint32_t subnet;		 /* number of the subnet inside the CIDR */
	char cert[TAPIR_MESH_CERT_TEXT]; /* "" when the record has none */
	uint64_t not_after; /* set by the agent once @cert verified: its expiry; else 0 */
};

/* mesh_record.c: parsing and formatting; no I/O */
bool tapir_mesh_name_is_valid(const char *name);
int tapir_mesh_cidr_parse(const char *s, uint32_t *addr_out, uint8_t *len_out);
/* Checks the lengths (subnet at most 16 bits longer than the CIDR, at most /30). */
int tapir_mesh_net_check(const struct tapir_mesh_net *net, const char **why);
int tapir_mesh_net_parse(struct tapir_mesh_net *net, const char *json, size_t len,
			 const char **why);
/* Returns a new string (free) or NULL. */
char *tapir_mesh_net_format(const struct tapir_mesh_net *net);
uint32_t tapir_mesh_n_subnets(const struct tapir_mesh_net *net);
/* "tun" or "tap" */
const char *tapir_mesh_mode_name(const struct tapir_mesh_net *net);
/* The interface's MTU (and subnet.env's): the network's, less the frame headers in tap mode. */
unsigned tapir_mesh_link_mtu(const struct tapir_mesh_net *net);
uint32_t tapir_mesh_subnet_addr(const struct tapir_mesh_net *net, uint32_t subnet);
void tapir_mesh_subnet_text(char out[TAPIR_MESH_CIDR_TEXT], const struct tapir_mesh_net *net,
			    uint32_t subnet);
void tapir_mesh_prefix(char out[TAPIR_MESH_KEY_MAX], const char *name, const char *what);
/* Big-endian @n-byte integers (n <= 8) of the signed certificate and list formats. */
void tapir_mesh_put_be(uint8_t *p, uint64_t v, size_t n);
uint64_t tapir_mesh_get_be(const uint8_t *p, size_t n);
/*
 * Binary search of @n elements of @stride bytes at @base, sorted by the 32-byte key each starts
 * with: the index of @key, or of where it would go; *is_found says which.
 */
size_t tapir_mesh_key_find(const void *base, size_t n, size_t stride, const uint8_t key[32],
			   bool *is_found);
void tapir_mesh_subnet_key(char out[TAPIR_MESH_KEY_MAX], const struct tapir_mesh_net *net,
			   uint32_t subnet);
/* Parses ".../subnets/A.B.C.D-LEN" into a subnet number of @net; -EINVAL otherwise. */
int tapir_mesh_key_subnet(const struct tapir_mesh_net *net, const char *key, size_t len,
			  uint32_t *subnet_out);
/* "/tapir/networks/NAME/revoked/HEX": where the revocation of @key is stored. */
void tapir_mesh_revoked_key(char out[TAPIR_MESH_KEY_MAX], const char *name, const uint8_t key[32]);
/* Parses ".../revoked/HEX" of network @name into the revoked key; -EINVAL otherwise. */
int tapir_mesh_key_revoked(const char *name, const char *key, size_t len, uint8_t out[32]);
bool tapir_mesh_endpoint_is_valid(const char *s);
/*
 * Parses a host record stored under subnet @key_subnet. Returns 0, or -EINVAL with *why set
 * to a short reason; never reads past @len.
 */
int tapir_mesh_host_parse(const struct tapir_mesh_net *net, uint32_t key_subnet, const char *json,
			  size_t len, struct tapir_mesh_host *h, const char **why);
char *tapir_mesh_host_format(const struct tapir_mesh_net *net, const struct tapir_mesh_host *h);

/* mesh.c: the agent (tapir mesh join) */
struct tapir_mesh_join_opts {
	const char *ifname;
	const char *endpoint; /* NULL: the address towards etcd, with the listen port */
	const char *state_dir;
	int port; /* 0: the network's */
	int ttl_s;
	const uint8_t *admin_key; /* NULL: records are not checked */
	const char *cert;	  /* this host's certificate, or NULL */
	FILE *trace_apply;	  /* --trace-apply: one line per applied event, or NULL */
};
int tapir_mesh_join(struct tapir_etcd *e, const struct tapir_mesh_net *net,
		    const struct tapir_mesh_join_opts *o);
/* Reads the network config from etcd; prints why not. */
int tapir_mesh_load_net(struct tapir_etcd *e, const char *name, struct tapir_mesh_net *net);
/* A range of @key (a prefix with @is_prefix) for a command: on failure the line says why. */
int tapir_mesh_read(struct tapir_etcd *e, const char *key, bool is_prefix,
		    struct tapir_etcd_kv **kvs, size_t *n);

/* mesh_trust.c: Ed25519 host certificates */
int tapir_mesh_cert_sign(char out[TAPIR_MESH_CERT_TEXT], const uint8_t admin_sk[64],
			 const char *network, const uint8_t key[32],
			 const struct tapir_mesh_cert *c);
/* Decodes the fields (and the signature, unless @sig is NULL) without verifying. */
int tapir_mesh_cert_decode(const char *text, struct tapir_mesh_cert *c, uint8_t sig[64]);
/* 0, -EKEYEXPIRED, or -EACCES with *why: missing, malformed, bad signature, other subnet. */
int tapir_mesh_cert_verify(const char *text, const uint8_t admin_pk[32], const char *network,
			   const uint8_t key[32], uint32_t subnet_addr, uint8_t subnet_len,
			   uint64_t now, const char **why);

/* Prints a revocation of @key in @network, dated @revoked_at, signed with the admin key. */
int tapir_mesh_revocation_sign(char out[TAPIR_MESH_REVOCATION_TEXT], const uint8_t admin_sk[64],
			       const char *network, const uint8_t key[32], uint64_t revoked_at);
/* Decodes a stored revocation (@len bytes, no NUL needed) and its signature, not verifying. */
int tapir_mesh_revocation_decode(const char *text, size_t len, struct tapir_mesh_revocation *rv,
				 uint8_t sig[64]);
/* 0 and *rv, or -EACCES with *why: malformed, or the signature does not verify. */
int tapir_mesh_revocation_verify(const char *text, size_t len, const uint8_t admin_pk[32],
				 const char *network, struct tapir_mesh_revocation *rv,
				 const char **why);

/* mesh_revlist.c: the revocation list; no I/O */
/* "/tapir/networks/NAME/revocations": where the list is stored. */
void tapir_mesh_revlist_key(char out[TAPIR_MESH_KEY_MAX], const char *name);
/*
 * Verifies a stored list (@len bytes, no NUL needed) for @network under @admin_pk and fills
 * @l (free it with tapir_mesh_revlist_free). 0, or -EACCES with *why: oversized, malformed,
 * for another network, or the signature does not verify; @l is then empty.
 */
int tapir_mesh_revlist_verify(const char *text, size_t len, const uint8_t admin_pk[32],
			      const char *network, struct tapir_mesh_revlist *l, const char **why);
/* Adds @key revoked at @at: 1 if new, 0 if listed already, -ENOSPC or -ENOMEM. */
int tapir_mesh_revlist_add(struct tapir_mesh_revlist *l, const uint8_t key[32], uint64_t at);
/* Whether @key is in @l (binary search). */
bool tapir_mesh_revlist_has(const struct tapir_mesh_revlist *l, const uint8_t key[32]);
/* Signs @l for @network; returns a new string (free) or NULL. */
char *tapir_mesh_revlist_sign(const struct tapir_mesh_revlist *l, const uint8_t admin_sk[64],
			      const char *network);
void tapir_mesh_revlist_free(struct tapir_mesh_revlist *l);

/* mesh_revoke_cmd.c: the admin's side of the list */
/* tapir mesh revoke: adds @key to the list in etcd (compare-and-swap) or prints it (@e NULL). */
int tapir_mesh_revoke_key(struct tapir_etcd *e, const char *network, const uint8_t sk[64],
			  const uint8_t key[32], const char *list_file);
/* The serial of the newest list in etcd (@e may be NULL) or @list_file, verified; 0: none. */
int tapir_mesh_revlist_serial_of(struct tapir_etcd *e, const char *network, const uint8_t sk[64],
				 const char *list_file, uint64_t *serial);
/* What status found of the revocation list in etcd. */
enum tapir_mesh_revlist_state {
	TAPIR_REVLIST_NONE,
	TAPIR_REVLIST_UNVERIFIED, /* no admin key to check it with */
	TAPIR_REVLIST_IGNORED,
	TAPIR_REVLIST_VERIFIED,
};
struct tapir_mesh_revlist_status {
	enum tapir_mesh_revlist_state state;
	char why[128]; /* ignored: why */
	uint64_t serial, issued_at;
	size_t n_keys;
};
/* "none", "unverified", "ignored", "verified" (status --json). */
const char *tapir_mesh_revlist_state_name(enum tapir_mesh_revlist_state s);
/*
 * status: reads the list and the per-key entries, prints them on @text (unless NULL); the
 * verified keys go into @l (free it), the ignored entries are counted in *n_bad.
 */
int tapir_mesh_status_revocations(struct tapir_etcd *e, const struct tapir_mesh_net *net,
				  const uint8_t *admin, struct tapir_mesh_revlist *l, size_t *n_bad,
				  struct tapir_mesh_revlist_status *st, FILE *text);

/* mesh_state.c: the state file and subnet.env */
struct tapir_mesh_state {
	uint32_t subnet;
	bool has_subnet;
	int64_t lease;
	long pid;
};
int tapir_mesh_state_read(const char *dir, const char *name, struct tapir_mesh_state *st);
int tapir_mesh_state_write(const char *dir, const char *name, const struct tapir_mesh_state *st);
int tapir_mesh_env_write(const char *dir, const struct tapir_mesh_net *net, uint32_t subnet);
void tapir_mesh_state_remove(const char *dir, const char *name);
/* Writes @text to DIR/FILE through a temporary file and a rename. */
int tapir_mesh_state_put(const char *dir, const char *file, const char *text);

/* mesh_demo.c: tapir mesh demo (argv[0] is "demo") */
int tapir_mesh_demo(int argc, char **argv);

#endif
