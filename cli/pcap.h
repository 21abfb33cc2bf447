/* SPDX-License-Identifier: MIT */
/*
 * A writer of classic libpcap capture files (the format tcpdump -w writes and tcpdump -r reads):
 * a 24-byte global header, then per packet a 16-byte record header and the bytes. Microsecond
 * timestamps, host byte order (readers detect it from the magic number).
 */
#ifndef TAPIR_CLI_PCAP_H
#define TAPIR_CLI_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

enum {
	TAPIR_PCAP_LINKTYPE_ETHERNET = 1, /* TAP: Ethernet frames */
	TAPIR_PCAP_LINKTYPE_RAW = 101,	  /* TUN: IPv4 or IPv6 packets, no link header */
	TAPIR_PCAP_SNAPLEN = 65535,
};

/* Writes the global header. Returns 0 or -errno. */
int tapir_pcap_write_header(FILE *f, uint32_t linktype);

/* Writes one record of @len bytes (cut to the snap length) stamped @ts. Returns 0 or -errno. */
int tapir_pcap_write_record(FILE *f, const struct timespec *ts, const uint8_t *buf, size_t len);

#endif
