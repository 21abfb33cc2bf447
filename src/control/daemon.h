/* SPDX-License-Identifier: MIT */
/*
 * The control thread's event loop: signals, UAPI socket and clients, the timer tick, the
 * handshake queue, link removal (rtnetlink) and deletion of the UAPI socket (inotify).
 */
#ifndef TAPIR_DAEMON_H
#define TAPIR_DAEMON_H

struct tapir_device;

/*
 * Runs until SIGINT/SIGTERM, removal of the interface, deletion of @sock_path, or a fatal
 * worker error. @uapi_fd is the listening socket. Returns 0 for a clean stop, else -errno.
 */
int tapir_daemon_run(struct tapir_device *dev, int uapi_fd, const char *sock_path);

#endif
