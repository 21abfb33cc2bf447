// SPDX-License-Identifier: MIT
/*
 * Process plumbing for tapir up --foreground and for finding a dead daemon's state. The wait
 * is a pidfd (readable once the child exits) polled with ppoll(2), which unblocks the
 * termination signals only while it sleeps: a signal that arrives after the flag was checked
 * still ends the sleep. This file decides nothing; up.c does.
 */
#include "supervise.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "uapi_client.h"

enum {
	STEP_MS = 50,
};

int tapir_supervise_wait(pid_t pid, const volatile sig_atomic_t *flag, int *status)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), r = 0;
	sigset_t block, old;
	struct pollfd p;

	if (fd < 0)
		return -errno;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	while (!*flag) {
		p = (struct pollfd){.fd = fd, .events = POLLIN};
		if (ppoll(&p, 1, NULL, &old) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
		if (p.revents && waitpid(pid, status, WNOHANG) == pid) {
			r = 1;
			break;
		}
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(fd);
	return r;
}

void tapir_supervise_reap(pid_t pid, int timeout_ms)
{
	int status;

	for (int waited = 0; waited < timeout_ms; waited += STEP_MS) {
		if (waitpid(pid, &status, WNOHANG) != 0)
			return; /* exited, or not our child (any more) */
		tapir_cli_sleep_ms(STEP_MS);
	}
	fprintf(stderr, "tapir: tapird (pid %d) did not exit; killing it\n", (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

bool tapir_supervise_is_tapir(pid_t pid)
{
	char path[64], *self, *other;
	bool is_same;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	self = realpath("/proc/self/exe", NULL);
	other = realpath(path, NULL);
	is_same = self && other && !strcmp(self, other);
	free(self);
	free(other);
	return is_same;
}

bool tapir_supervise_is_socket_live(const char *ifname)
{
	int fd = tapir_uapi_connect(ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}
