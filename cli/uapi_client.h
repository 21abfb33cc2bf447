/* SPDX-License-Identifier: MIT */
/* Client side of the UAPI socket (/var/run/wireguard/IFNAME.sock), as wg(8) speaks it. */
#ifndef TAPIR_UAPI_CLIENT_H
#define TAPIR_UAPI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* Connects to IFNAME's socket. Returns the fd or -errno (-ENOENT: no such interface). */
int tapir_uapi_connect(const char *ifname);
/*
 * Sends a set request whose body is @body (key=value lines, each ending in '\n', without the
 * "set=1" line and the final blank line). Returns 0, the daemon's negative errno, or -errno
 * for I/O failures.
 */
int tapir_uapi_set(const char *ifname, const char *body, size_t len);
/*
 * Sends get=1 (or get=tapir when @has_extensions and the daemon is tapird) and returns the
 * reply's key=value lines (without the errno line) as a malloc'd NUL-terminated string.
 * Returns 0, the daemon's negative errno, or -errno.
 */
int tapir_uapi_get(const char *ifname, bool has_extensions, char **out, size_t *len_out);
/*
 * stat(2) of IFNAME's socket: a daemon that starts binds a new one (a new inode and ctime), so
 * a change tells that the daemon was restarted. 0 or -errno (-ENOENT: no socket).
 */
int tapir_uapi_stat(const char *ifname, struct stat *st);
/* Lists interface names with a socket, sorted. Caller frees each and the array. */
int tapir_uapi_list(char ***names_out, size_t *n_out);
/* Waits up to @timeout_ms for IFNAME's socket to answer. 0 or -ETIMEDOUT. */
int tapir_uapi_wait(const char *ifname, int timeout_ms);

#endif
