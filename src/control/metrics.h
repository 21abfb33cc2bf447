/* SPDX-License-Identifier: MIT */
/*
 * The metrics of an interface in the Prometheus text exposition format 0.0.4, written by one
 * formatter (metrics.c) for both `tapir show IF metrics` and tapird's HTTP endpoint
 * (metrics_http.c). Its input is the interface as a UAPI get with tapir's extension keys
 * describes it: the CLI parses that reply (cli/show.c), tapird fills the same structs from
 * the live device. No I/O but the FILE it is handed.
 */
#ifndef TAPIR_METRICS_H
#define TAPIR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sockaddr.h"

enum {
	DROP_NAME_MAX_BYTES = 64,
};

struct allowed_ip {
	int family;
	uint8_t addr[16];
	uint8_t cidr;
};

struct peer_info {
	uint8_t public_key[32];
	bool has_preshared_key;
	uint8_t preshared_key[32];
	union tapir_sockaddr endpoint; /* sa_family 0: none */
	uint64_t handshake_sec;
	uint64_t handshake_nsec;
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint16_t keepalive_s;
	struct allowed_ip *aips; /* owned */
	size_t n_aips;
	uint8_t (*macs)[6]; /* owned: MACs learned from this peer (tapird, TAP mode) */
	size_t n_macs;
	bool is_tcp;	      /* tapird: messages go over the TCP transport */
	bool is_lz4;	      /* tapird: Compression = lz4 for this peer */
	uint32_t remote_caps; /* tapird: what the peer announced (extension.h) */
};

/* A named counter of a get reply (tapir_drop_<reason>=N and the like). */
struct drop_count {
	char reason[DROP_NAME_MAX_BYTES];
	uint64_t count;
};

/* One interface as a get reply describes it. Owns its arrays. */
struct device_info {
	const char *name; /* borrowed */
	bool has_private_key;
	uint8_t private_key[32];
	uint8_t public_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
	bool is_tapird; /* the reply carried tapir_* extension keys */
	bool is_tap;	/* tapird in TAP (L2) mode */
	uint64_t workers;
	struct drop_count *drops;
	size_t n_drops;
	struct drop_count *tcp; /* TCP transport counters */
	size_t n_tcp;
	uint16_t tcp_port;	/* TCP listener, 0 = none */
	bool is_tcp_listen;	/* TCPListen is on (tapir_tcp_listen=true) */
	struct drop_count *lz4; /* compression counters */
	size_t n_lz4;
	struct drop_count *icmp; /* ICMP error counters */
	size_t n_icmp;
	struct drop_count *offload; /* offloads in use, 1 or 0 (tapir_offload_<name>=N) */
	size_t n_offload;
	struct peer_info *peers;
	size_t n_peers;
	size_t cap_peers;
};

/*
 * Writes the @n interfaces @devs to @out in the Prometheus text exposition format 0.0.4;
 * @now_s is the Unix time handshake ages count from. Every family lists its samples across
 * all the interfaces, so all of them are formatted in one call.
 */
void tapir_metrics_write(FILE *out, const struct device_info *devs, size_t n, uint64_t now_s);
/* The same on stdout (tapir show IF metrics). */
void tapir_metrics_print(const struct device_info *devs, size_t n, uint64_t now_s);

#endif
