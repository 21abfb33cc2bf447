/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard userspace API (wireguard-protocol.md section 9) served on
 * /var/run/wireguard/IFNAME.sock: get=1 and set=1, several operations per connection, replies
 * ending in errno=N and a blank line. Control thread only.
 */
#ifndef TAPIR_UAPI_H
#define TAPIR_UAPI_H

#include <stdbool.h>
#include <stddef.h>

struct tapir_device;

struct tapir_uapi_client {
	int fd;
	char *buf;
	size_t len;
	size_t cap;
};

/* Creates the socket directory and a listening socket for @ifname. Returns the fd or -errno. */
int tapir_uapi_listen(const char *ifname, char *path_out, size_t path_len);
/*
 * Reads what the client sent and answers every complete request. Returns 0 to keep the
 * connection, or a negative value when it must be closed.
 */
int tapir_uapi_client_handle(struct tapir_device *dev, struct tapir_uapi_client *client);
void tapir_uapi_client_free(struct tapir_uapi_client *client);

/* Serves one request body; exposed for tests. Returns the errno value to reply (0 or < 0). */
int tapir_uapi_apply_set(struct tapir_device *dev, const char *body, size_t len);
/*
 * Formats the whole get reply (ending "errno=0\n\n") into a malloc'd string; NULL on ENOMEM.
 * @has_extensions adds tapir's extension keys (drop counters by reason), which a client asks
 * for with the operation line "get=tapir" instead of "get=1".
 */
char *tapir_uapi_format_get(struct tapir_device *dev, bool has_extensions, size_t *len_out);

#endif
