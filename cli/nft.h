/* SPDX-License-Identifier: MIT */
/*
 * The firewall guard of a full tunnel (wg-quick(8)'s, for AllowedIPs covering 0.0.0.0/0 or
 * ::/0), through libnftables: one table "tapir-IFNAME" per family, with a preraw chain that
 * drops packets for the tunnel's own addresses arriving on another interface, and mangle
 * chains that keep tapird's fwmark on the connection so replies to its UDP socket stay outside
 * the tunnel.
 */
#ifndef TAPIR_CLI_NFT_H
#define TAPIR_CLI_NFT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Adds table tapir-@ifname of @family (AF_INET: "ip", AF_INET6: "ip6") in one transaction:
 * a drop rule per address in @addrs (4 or 16 bytes each, by family) and the conntrack mark
 * rules for @fwmark. Each command is echoed as "[#] nft '...'" on stderr. Returns 0 or -errno
 * (the library's message printed).
 */
int tapir_nft_guard_add(const char *ifname, int family, uint32_t fwmark, const uint8_t (*addrs)[16],
			size_t n_addrs);
/* Deletes table tapir-@ifname of @family; 0 also when it is not there. */
int tapir_nft_guard_del(const char *ifname, int family);

#endif
