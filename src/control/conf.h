/* SPDX-License-Identifier: MIT */
/*
 * A parsed configuration change: what a UAPI `set=1` request (and later a config file or the
 * CLI) asks for, validated whole before anything is applied. One parser for all sources.
 */
#ifndef TAPIR_CONF_H
#define TAPIR_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sockaddr.h"

struct tapir_conf_allowed_ip {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t cidr;
	bool is_removal; /* "allowed_ip=-addr/cidr" */
};

enum {
	TAPIR_CONF_MAX_PINNED_MACS = 16,
	TAPIR_CONF_MAX_MAC_AGE_S = 86400,
};

struct tapir_conf_peer {
	uint8_t public_key[32];
	bool remove;
	bool update_only;
	bool replace_allowed_ips;
	bool has_preshared_key;
	uint8_t preshared_key[32];
	bool has_endpoint;
	union tapir_sockaddr endpoint;
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive_interval;
	/* tapir extension (tapird only): tapir_transport=tcp|udp; an endpoint without it is UDP */
	bool has_transport;
	bool is_tcp;
	/* tapir extension (tapird only): tapir_compression=lz4|off (issue 6; off by default) */
	bool has_compression;
	bool is_lz4;
	/* tapir extension (tapird only): source MACs pinned for this peer in TAP mode */
	bool replace_macs;
	uint8_t pinned_macs[TAPIR_CONF_MAX_PINNED_MACS][6];
	size_t n_pinned_macs;
	struct tapir_conf_allowed_ip *allowed_ips; /* owned */
	size_t n_allowed_ips;
	size_t cap_allowed_ips;
};

struct tapir_conf {
	bool has_private_key;
	uint8_t private_key[32];
	bool has_listen_port;
	uint16_t listen_port;
	bool has_fwmark;
	uint32_t fwmark;
	bool replace_peers;
	/* tapir extensions (tapird only): L2 hub forwarding and MAC aging */
	bool has_forward;
	bool is_forward;
	bool has_mac_age;
	uint32_t mac_age_s;
	/* tapir extension (tapird only): tapir_tcp_listen=true|false, the TCP listener (off) */
	bool has_tcp_listen;
	bool is_tcp_listen;
	/* tapir extension (tapird only): tapir_metrics_listen=ADDR:PORT|off, the HTTP metrics
	 * endpoint (metrics_http.c; off by default); sa_family 0 = off */
	bool has_metrics_listen;
	union tapir_sockaddr metrics_listen;
	struct tapir_conf_peer *peers; /* owned */
	size_t n_peers;
	size_t cap_peers;
};

/*
 * Parses the body of a UAPI set request: @buf holds the key=value lines after "set=1\n" up to
 * and excluding the terminating empty line (each line ends in '\n'). On error returns
 * -EPROTO (a line without '=' or not newline-terminated) or -EINVAL (unknown key, bad value,
 * per-peer key before any public_key, ...), writes one message naming the key and value into
 * @err (never the value of private_key or preshared_key), and leaves @out empty.
 */
int tapir_uapi_parse_set(const char *buf, size_t len, struct tapir_conf *out, char *err,
			 size_t errlen);
/* Frees the arrays and wipes the keys; accepts a zeroed or NULL conf. */
void tapir_conf_free(struct tapir_conf *conf);

#endif
