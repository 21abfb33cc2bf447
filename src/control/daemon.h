/* SPDX-License-Identifier: MIT */
/*
 * The control thread's event loop: signals, UAPI socket and clients, the timer tick, the
 * handshake queue, link removal (rtnetlink) and deletion of the UAPI socket (inotify).
 */
#ifndef TAPIR_DAEMON_H
#define TAPIR_DAEMON_H

#include <stdbool.h>

struct tapir_device;
struct tapir_daemon;
struct tapir_sock_guard;

/*
 * Sets up the control loop (epoll, signalfd, timer, the inotify watch on @sock_path's
 * directory, the rtnetlink subscription) so that tapird can drop its privileges after this
 * and before workers start. @uapi_fd is the listening socket. With @is_path_ours (tapird
 * created @sock_path, not WG_UAPI_FD), a socket file deleted before the watch existed stops
 * the loop at once. 0 or -errno (logged).
 */
int tapir_daemon_open(struct tapir_daemon **out, struct tapir_device *dev, int uapi_fd,
		      const char *sock_path, bool is_path_ours);
/*
 * Runs until SIGINT/SIGTERM, removal of the interface, deletion of @sock_path, or a fatal
 * worker error. Once the interface has moved to another network namespace, its MTU comes
 * from the privileged helper @helper (privsep.h). Returns 0 for a clean stop, else -errno.
 */
int tapir_daemon_run(struct tapir_daemon *daemon, struct tapir_sock_guard *helper);
/* Closes what tapir_daemon_open() made (not @uapi_fd). Accepts NULL. */
void tapir_daemon_close(struct tapir_daemon *daemon);

#endif
