/* SPDX-License-Identifier: MIT */
/*
 * wg-quick's INI configuration format ([Interface] / [Peer]), unchanged, plus tapir's
 * extension keys. The WireGuard part lands in a struct tapir_conf (the same struct the UAPI
 * parser fills); the wg-quick part (Address, DNS, MTU, Table, hooks, SaveConfig) in
 * struct tapir_quick_conf. Pure parsing: no I/O besides what the caller reads, no DNS (host
 * names in Endpoint are kept as text for the caller to resolve).
 *
 * tapir up's TAP (L2) keys: Mode, Bridge, Forward, MACAge under [Interface], MACs under [Peer].
 * Forward, MACAge and MACs travel to tapird as UAPI extension keys (in struct tapir_conf);
 * Bridge and every key but Mode are valid only with Mode = tap, and AllowedIPs is not (allowed
 * IPs do not apply to frames). TCPListen (any mode) travels as tapir_tcp_listen.
 */
#ifndef TAPIR_CONFIG_H
#define TAPIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

struct tapir_config_address {
	int family;
	uint8_t addr[16];
	uint8_t cidr; /* as written; default 32 / 128 */
};

struct tapir_config_endpoint {
	char *host; /* owned: host name or numeric address, without brackets; NULL = none */
	uint16_t port;
	size_t line; /* of the Endpoint key, for messages */
};

enum tapir_config_mode {
	TAPIR_MODE_TUN = 0, /* default: IP packets, WireGuard */
	TAPIR_MODE_TAP,	    /* Ethernet frames between tapir peers */
};

enum tapir_config_table {
	TAPIR_TABLE_AUTO = 0, /* default */
	TAPIR_TABLE_OFF,
	TAPIR_TABLE_NUMBER,
};

/* Everything of a config file. Arrays are owned; free with tapir_quick_conf_free(). */
struct tapir_quick_conf {
	struct tapir_conf wg; /* PrivateKey, ListenPort, FwMark, peers (endpoints numeric only) */
	struct tapir_config_endpoint *endpoints; /* one per wg.peers[i]; host names unresolved */
	struct tapir_config_address *addresses;
	size_t n_addresses;
	char **dns; /* DNS = entries (servers and search domains), as written */
	size_t n_dns;
	int mtu; /* 0 = not set */
	enum tapir_config_table table;
	uint32_t table_number;
	char **pre_up, **post_up, **pre_down, **post_down; /* hooks in file order */
	size_t n_pre_up, n_post_up, n_pre_down, n_post_down;
	size_t *pre_up_lines, *post_up_lines, *pre_down_lines, *post_down_lines; /* of each hook */
	bool save_config;
	enum tapir_config_mode mode;
	char *bridge;	       /* owned: Bridge = NAME (tap only); NULL = none */
	bool has_offloads;     /* Offload = LIST was given */
	unsigned int offloads; /* enum tapir_offload bits (tapird --offload) */
	unsigned int workers;  /* Workers = N (tapird --workers); 0 = tapird's default */
};

/*
 * Parses a whole file's text. @filename is used only in messages. On error returns -EINVAL
 * and writes "FILE:LINE: <problem> (key KEY)" into @err, never including a key's value; @out
 * is left empty. With @is_wg_only (wg setconf semantics), wg-quick keys such as Address are
 * errors, like wg(8), and so are tapir up's own keys (tapir_config_is_up_key); tapir's keys
 * that go to the daemon (Transport, Compression, Forward, MACAge, MACs) are not.
 */
int tapir_config_parse(const char *text, size_t len, const char *filename, bool is_wg_only,
		       struct tapir_quick_conf *out, char *err, size_t errlen);
void tapir_quick_conf_free(struct tapir_quick_conf *conf);

/*
 * Whether @name (@len bytes) is an [Interface] key that tapir up acts on itself (wg-quick's
 * Address, DNS, MTU, Table, hooks, SaveConfig; tapir's Mode, Offload, Workers, Bridge): the
 * keys `tapir strip` removes and a setconf file may not have.
 */
bool tapir_config_is_up_key(const char *name, size_t len);

/*
 * Serialises the WireGuard part as a UAPI set request body ("set=1\n" ... "\n"), with
 * replace_peers / replace_allowed_ips as wg setconf sends them when @is_replace. tapir's
 * extension keys (tapir_forward, tapir_mac_age, tapir_tcp_listen, tapir_mac, tapir_replace_macs)
 * appear only when @conf sets them, so a conf a stock daemon can take produces a stock request.
 * Returns a malloc'd string (caller wipes and frees) or NULL.
 */
char *tapir_conf_to_uapi_set(const struct tapir_conf *conf, bool is_replace, size_t *len_out);

#endif
