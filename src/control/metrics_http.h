/* SPDX-License-Identifier: MIT */
/*
 * tapird's opt-in HTTP metrics endpoint (MetricsListen, tapir_metrics_listen=ADDR:PORT,
 * tapird --metrics-listen): GET /metrics answers what `tapir show IF metrics` prints, formatted
 * by the same code (metrics.h). Off by default; the listener comes from the privileged helper
 * (privsep.c), since tapird's seccomp list forbids bind and listen.
 */
#ifndef TAPIR_METRICS_HTTP_H
#define TAPIR_METRICS_HTTP_H

#include <stdbool.h>

#include "metrics.h"
#include "sockaddr.h"

struct tapir_device;

enum {
	TAPIR_METRICS_OFFLOADS = 4, /* tun, tun_uso, gso, gro */
};

/*
 * Serves metrics on @addr (a port other than 0), or stops serving when @addr->sa.sa_family is
 * 0. A new address is bound before the old one is let go, so a failure (-errno) leaves the
 * endpoint as it was. Control thread only.
 */
int tapir_metrics_http_set(struct tapir_device *dev, const union tapir_sockaddr *addr);
/* Whether the endpoint is on, and where (into @out). Control thread only. */
bool tapir_metrics_http_address(const struct tapir_device *dev, union tapir_sockaddr *out);
/* Stops the endpoint (its thread joined, its sockets closed). Accepts a device without one. */
void tapir_metrics_http_stop(struct tapir_device *dev);
/* The offloads in use now, 1 or 0, named as the UAPI get and the metrics name them. Any
 * thread. */
void tapir_metrics_offloads(const struct tapir_device *dev,
			    struct drop_count out[TAPIR_METRICS_OFFLOADS]);

#endif
