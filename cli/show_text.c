// SPDX-License-Identifier: MIT
/*
 * tapir show / showconf: the text of one value as wg(8) writes it (an endpoint through
 * getnameinfo, an allowed IP), and of the values tapird adds (a learned MAC, whether LZ4
 * is active, "tcp://" before an endpoint on the TCP transport). Pure formatting.
 */
#include "show_render.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "extension.h"

void tapir_show_mac_text(char out[18], const uint8_t mac[6])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* "ip:port" or "[ipv6]:port" as wg(8) prints it (getnameinfo, so scopes show as names). */
const char *tapir_show_endpoint_text(char out[ENDPOINT_TEXT_BYTES], const union tapir_sockaddr *ep)
{
	/* Numeric only: an IPv6 address with a scope name, and a port number. */
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1], serv[8];
	socklen_t len = ep->sa.sa_family == AF_INET ? sizeof(ep->in) : sizeof(ep->in6);

	if (getnameinfo(&ep->sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_DGRAM | NI_NUMERICSERV | NI_NUMERICHOST)) {
		/* Cannot happen for numeric addresses; fall back to tapir's own format. */
		if (tapir_sockaddr_format(out, ENDPOINT_TEXT_BYTES, ep) < 0)
			snprintf(out, ENDPOINT_TEXT_BYTES, "(invalid)");
		return out;
	}
	if (ep->sa.sa_family == AF_INET6 && strchr(host, ':'))
		snprintf(out, ENDPOINT_TEXT_BYTES, "[%s]:%s", host, serv);
	else
		snprintf(out, ENDPOINT_TEXT_BYTES, "%s:%s", host, serv);
	return out;
}

/* A peer's endpoint, "tcp://" first when it uses the TCP transport (tapir's own syntax). */
const char *tapir_show_peer_endpoint_text(char out[ENDPOINT_TEXT_BYTES],
					  const struct peer_info *peer)
{
	char text[ENDPOINT_TEXT_BYTES];

	tapir_show_endpoint_text(text, &peer->endpoint);
	snprintf(out, ENDPOINT_TEXT_BYTES, "%s%.100s", peer->is_tcp ? "tcp://" : "", text);
	return out;
}

bool tapir_show_is_lz4_active(const struct peer_info *peer)
{
	return peer->is_lz4 && (peer->remote_caps & TAPIR_EXT_CAP_LZ4);
}

bool tapir_show_has_endpoint(const struct peer_info *peer)
{
	return peer->endpoint.sa.sa_family == AF_INET || peer->endpoint.sa.sa_family == AF_INET6;
}

const char *tapir_show_aip_text(char out[ADDR_TEXT_BYTES], const struct allowed_ip *aip)
{
	if (!inet_ntop(aip->family, aip->addr, out, ADDR_TEXT_BYTES))
		snprintf(out, ADDR_TEXT_BYTES, "(invalid)");
	return out;
}
