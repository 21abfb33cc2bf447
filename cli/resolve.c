// SPDX-License-Identifier: MIT
/*
 * Endpoint resolution with wg(8)'s retry rule (resolve.h). At boot the network, and so DNS,
 * may come up after tapir up runs: a systemd unit sets WG_ENDPOINT_RESOLUTION_RETRIES=infinity
 * so that up waits for it rather than failing. Blocking is fine here: the CLI holds nothing
 * that others wait for while it resolves (up resolves before it changes anything).
 */
#include "resolve.h"

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common.h"
#include "parse.h"

enum {
	RETRIES_DEFAULT = 15,
	RETRIES_INFINITE = -1,
	WAIT_FIRST_MS = 1000,
	WAIT_MAX_MS = 20000,
};

/* The retry count, RETRIES_INFINITE, or -EINVAL (said) when the variable is not a count. */
static long retries_from_env(void)
{
	const char *s = getenv("WG_ENDPOINT_RESOLUTION_RETRIES");
	uint64_t v;

	if (!s)
		return RETRIES_DEFAULT;
	if (!strcmp(s, "infinity"))
		return RETRIES_INFINITE;
	if (tapir_parse_u64(s, strlen(s), 0x7fffffff, &v)) {
		fprintf(stderr, "tapir: unable to parse WG_ENDPOINT_RESOLUTION_RETRIES: `%s'\n", s);
		return -EINVAL;
	}
	return (long)v;
}

/* glibc's permanent failures: asking again cannot help. */
static bool is_permanent(int r)
{
	return r == EAI_NONAME || r == EAI_FAIL || r == EAI_NODATA;
}

static const char *gai_text(int r, int saved_errno)
{
	return r == EAI_SYSTEM ? strerror(saved_errno) : gai_strerror(r);
}

int tapir_resolve_endpoint(const char *who, const char *host, const char *port,
			   union tapir_sockaddr *out)
{
	struct addrinfo hints = {
	    .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_DGRAM,
	    .ai_protocol = IPPROTO_UDP,
	};
	struct addrinfo *res = NULL;
	long retries = retries_from_env();
	unsigned wait_ms = WAIT_FIRST_MS;
	int r;

	if (retries == -EINVAL)
		return -EINVAL;
	for (;;) {
		r = getaddrinfo(host, port, &hints, &res);
		if (!r || is_permanent(r) || retries == 0)
			break;
		fprintf(stderr, "%s: `%s:%s': %s; trying again in %u.%02u s\n", who, host, port,
			gai_text(r, errno), wait_ms / 1000, wait_ms % 1000 / 10);
		for (long left = wait_ms; left > 0;) /* the whole wait, through signals */
			left = tapir_cli_sleep_ms(left);
		wait_ms = wait_ms * 6 / 5 < WAIT_MAX_MS ? wait_ms * 6 / 5 : WAIT_MAX_MS;
		if (retries > 0)
			retries--;
	}
	if (r) {
		fprintf(stderr, "%s: `%s:%s': %s\n", who, host, port, gai_text(r, errno));
		return -EINVAL;
	}
	memset(out, 0, sizeof(*out));
	if ((res->ai_family == AF_INET && res->ai_addrlen == sizeof(out->in)) ||
	    (res->ai_family == AF_INET6 && res->ai_addrlen == sizeof(out->in6)))
		memcpy(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (!out->sa.sa_family) {
		fprintf(stderr, "%s: `%s': neither IPv4 nor IPv6 address found\n", who, host);
		return -EINVAL;
	}
	return 0;
}
