/* SPDX-License-Identifier: MIT */
/*
 * tapir tuntap watch: the passive capture socket, the packet filter, the hex dump, the line
 * timestamp and the ICMP echo answerer. Everything but tapir_watch_passive_open() is pure.
 */
#ifndef TAPIR_CLI_TUNTAP_WATCH_H
#define TAPIR_CLI_TUNTAP_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* proto/host/port terms, all of which must match (an unset term matches everything) */
struct tapir_watch_filter {
	int proto;  /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP (also ICMPv6), or -1: any */
	int family; /* AF_INET or AF_INET6 of host, 0: no host term */
	uint8_t host[16];
	int port; /* -1: any */
};

void tapir_watch_filter_init(struct tapir_watch_filter *f);

/*
 * Applies one filter term: @key "proto" (icmp, tcp, udp), "host" (an IPv4 or IPv6 address)
 * or "port" (0-65535) with its value @val. Returns 0, or -EINVAL for an unknown key or value.
 */
int tapir_watch_filter_set(struct tapir_watch_filter *f, const char *key, const char *val);

/* True if @f has at least one term. */
bool tapir_watch_filter_is_set(const struct tapir_watch_filter *f);

/* True if the IP packet (TUN) or Ethernet frame (@is_tap) in @buf matches every term of @f. */
bool tapir_watch_filter_match(const struct tapir_watch_filter *f, const uint8_t *buf, size_t len,
			      bool is_tap);

/* Prints @buf as tcpdump -x does: lines of "\t0x0000:  " and 16 bytes in groups of two. */
void tapir_watch_hexdump(FILE *out, const uint8_t *buf, size_t len);

/* Writes "HH:MM:SS.uuuuuu" (local time) of @ts to @out. */
void tapir_watch_stamp(char *out, size_t out_len, const struct timespec *ts);

/*
 * Opens an AF_PACKET socket bound to the interface @name that receives copies of the packets
 * in both directions and takes none. Returns the descriptor or -errno.
 */
int tapir_watch_passive_open(const char *name);

/*
 * If @pkt (an IP packet from a TUN) is an ICMP or ICMPv6 echo request, turns it in place into
 * the echo reply (addresses swapped, type and checksum updated) and returns true.
 */
bool tapir_watch_echo_reply(uint8_t *pkt, size_t len);

#endif
