/* SPDX-License-Identifier: MIT */
/* The resolvconf(8) record name of tapir up's DNS = servers (dns.c). */
#ifndef TAPIR_CLI_DNS_H
#define TAPIR_CLI_DNS_H

#include <stddef.h>

/* Writes "PREFIX.IFNAME" or "IFNAME" into @out as wg-quick(8) names the record. */
void tapir_dns_record_name(const char *ifname, char *out, size_t size);

#endif
