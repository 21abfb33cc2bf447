/* SPDX-License-Identifier: MIT */
/*
 * tapir up --foreground (the supervised mode of tapir@.service) and the detection of a dead
 * daemon's leftovers: waiting for tapird or a signal, reaping it, telling whether a recorded
 * supervisor still runs, and whether a UAPI socket still has a daemon behind it.
 */
#ifndef TAPIR_CLI_SUPERVISE_H
#define TAPIR_CLI_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

/*
 * Blocks until child @pid exits (returns 1, its wait status in @status) or *@flag becomes
 * non-zero through a signal handler for one of SIGINT, SIGTERM, SIGHUP (returns 0). No signal
 * is lost between the check and the wait. -errno on failure.
 */
int tapir_supervise_wait(pid_t pid, const volatile sig_atomic_t *flag, int *status);
/* Waits up to @timeout_ms for child @pid to exit, then kills it (SIGKILL) and reaps it. */
void tapir_supervise_reap(pid_t pid, int timeout_ms);
/* Whether @pid is a running tapir (the same executable as this process). */
bool tapir_supervise_is_tapir(pid_t pid);
/* Whether a daemon answers on IFNAME's UAPI socket. */
bool tapir_supervise_is_socket_live(const char *ifname);

#endif
