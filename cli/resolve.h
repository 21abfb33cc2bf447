/* SPDX-License-Identifier: MIT */
/*
 * Endpoint host names for set, setconf/addconf/syncconf and up, resolved as wg(8) does: a
 * failure that may be temporary is retried WG_ENDPOINT_RESOLUTION_RETRIES times (default 15,
 * or "infinity"), waiting 1 s, then 1.2 times longer each time up to 20 s; EAI_NONAME,
 * EAI_FAIL and EAI_NODATA are permanent and end at once.
 */
#ifndef TAPIR_CLI_RESOLVE_H
#define TAPIR_CLI_RESOLVE_H

#include "sockaddr.h"

/*
 * Resolves @host and @port (a number or service) to its first IPv4 or IPv6 address. Messages
 * go to stderr, starting with @who (e.g. "tapir up: FILE:LINE: Endpoint"). Returns 0, or
 * -EINVAL once resolution has failed for good (also for an unparsable retry count).
 */
int tapir_resolve_endpoint(const char *who, const char *host, const char *port,
			   union tapir_sockaddr *out);

#endif
