/* SPDX-License-Identifier: MIT */
/*
 * The service manager's readiness protocol (sd_notify(3), without libsystemd): one datagram of
 * "KEY=VALUE\n" lines on the AF_UNIX socket named by $NOTIFY_SOCKET, an abstract one when the
 * name starts with '@'. Without $NOTIFY_SOCKET every call does nothing and succeeds.
 */
#ifndef TAPIR_NOTIFY_H
#define TAPIR_NOTIFY_H

/*
 * Connects a datagram socket to $NOTIFY_SOCKET into @fd_out (-1 if the variable is not set)
 * and unsets the variable, so that no child speaks for this process. 0 or -errno. Call before
 * dropping privileges: the socket may be writable by root only.
 */
int tapir_notify_open(int *fd_out);
/* Sends @state ("READY=1\nSTATUS=...") on @fd; nothing if @fd < 0. 0 or -errno. */
int tapir_notify_send(int fd, const char *state);
/* Open, send @state, close: for a process that keeps its privileges. 0 or -errno. */
int tapir_notify(const char *state);

#endif
