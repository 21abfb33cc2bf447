/* SPDX-License-Identifier: MIT */
/*
 * tapir tuntap: the parts of cli/tuntap_decode.c that tests and fuzzers call directly. The
 * packet decoder is pure (no I/O, no allocation, no global state), so it can be fed arbitrary
 * bytes.
 */
#ifndef TAPIR_CLI_TUNTAP_H
#define TAPIR_CLI_TUNTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for the longest line the decoder writes; longer output is cut, never overflowed. */
enum { TAPIR_TUNTAP_LINE_MAX_BYTES = 512 };

/* tuntap_decode.c */
/*
 * Writes a one-line description of @buf to @out: the length, then for TAP (@is_tap) the
 * Ethernet addresses, VLAN ids and EtherType, then IPv4/IPv6 addresses and protocol, ICMP type
 * and code, TCP/UDP ports and TCP flags, or the ARP operation and addresses. @buf holds an IP
 * packet (TUN) or an Ethernet frame (TAP) without packet-information or virtio-net header.
 * What cannot be decoded because @buf ends too early is marked "(truncated)". Reads at most
 * @len bytes of @buf (which may be NULL when @len is 0), keeps no pointer into it, and always
 * NUL-terminates @out unless @out_len is 0. Returns the length of the text in @out.
 */
size_t tapir_tuntap_decode(const uint8_t *buf, size_t len, bool is_tap, char *out, size_t out_len);

#endif
