// SPDX-License-Identifier: MIT
/*
 * tapir up / down: the tapird process. up starts it (daemonizing, or as a child with
 * --foreground) with the options the file asks for and waits for its UAPI socket; down and
 * the undo of a failed up delete the link, which makes tapird exit, and wait for the socket
 * to go. down of a supervised interface (tapir@.service) asks the supervising tapir up to do
 * it instead (supervise.c has the waiting and the checks of who is alive).
 *
 * Every wait here is bounded in time.
 */
#include "up.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "device.h"
#include "netlink.h"
#include "supervise.h"
#include "uapi_client.h"

enum {
	DAEMON_START_TIMEOUT_MS = 15000,
	SOCKET_WAIT_MS = 5000,
	STEP_MS = 50,
	DEAD_SOCKET_GRACE_MS = 1000,	 /* a dead daemon's socket helper removes it by then */
	SUPERVISOR_STOP_WAIT_MS = 60000, /* its down runs hooks: give them time */
};

/* --foreground: tapird -f stays our child; wait for its socket while it lives. */
static int wait_foreground(struct tapir_up *qk)
{
	int status;

	for (int waited = 0; waited < DAEMON_START_TIMEOUT_MS; waited += STEP_MS) {
		if (waitpid(qk->daemon_pid, &status, WNOHANG) == qk->daemon_pid) {
			qk->daemon_pid = 0;
			fprintf(stderr, "tapir: tapird failed to start %s\n", qk->ifname);
			return -ECHILD;
		}
		if (!tapir_uapi_wait(qk->ifname, STEP_MS))
			return 0;
	}
	fprintf(stderr, "tapir: tapird did not come up in time\n");
	return -ETIMEDOUT;
}

/*
 * Starts tapird [-f] [--mode tap] [--offload LIST] [--workers N] IFNAME and waits for it to
 * daemonize (its parent exits once the device and the socket exist), or with -f
 * (--foreground) for its socket to answer.
 */
int tapir_up_start_daemon(struct tapir_up *qk)
{
	char *tapird = malloc(PATH_MAX);
	char mode[] = "--mode", tap[] = "tap", offload[] = "--offload", workers[] = "--workers";
	char offload_list[TAPIR_OFFLOAD_LIST_MAX], nworkers[16], quoted[TEXT_BYTES * 4];
	char foreground[] = "-f";
	bool is_tap = qk->conf.mode == TAPIR_MODE_TAP;
	char *argv[10] = {tapird};
	int status = 0, waited = 0, argc = 1, r;
	pid_t pid;

	if (!tapird)
		return -ENOMEM;
	/* none found: execvp looks in $PATH, and its error says what is missing */
	r = tapir_cli_find_tapird(tapird, PATH_MAX);
	if (r == -ENOENT)
		snprintf(tapird, PATH_MAX, "tapird");
	else if (r < 0) {
		free(tapird);
		return r;
	}
	if (qk->is_foreground)
		argv[argc++] = foreground;
	if (is_tap) {
		argv[argc++] = mode;
		argv[argc++] = tap;
	}
	if (qk->conf.has_offloads) {
		tapir_offload_format(qk->conf.offloads, offload_list, sizeof(offload_list));
		argv[argc++] = offload;
		argv[argc++] = offload_list;
	}
	if (qk->conf.workers) {
		snprintf(nworkers, sizeof(nworkers), "%u", qk->conf.workers);
		argv[argc++] = workers;
		argv[argc++] = nworkers;
	}
	argv[argc] = qk->ifname;
	tapir_up_say(
	    "%s%s%s%s%s%s%s %s", tapir_up_shell_word(tapird, quoted, sizeof(quoted)),
	    qk->is_foreground ? " -f" : "", is_tap ? " --mode tap" : "",
	    qk->conf.has_offloads ? " --offload " : "", qk->conf.has_offloads ? offload_list : "",
	    qk->conf.workers ? " --workers " : "", qk->conf.workers ? nworkers : "", qk->ifname);
	pid = fork();
	if (pid < 0) {
		free(tapird);
		return -errno;
	}
	if (!pid) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
		/* readiness is ours to tell, once the whole file is applied */
		unsetenv("NOTIFY_SOCKET");
		execvp(argv[0], argv);
		fprintf(stderr, "tapir: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	free(tapird);
	if (qk->is_foreground) {
		qk->daemon_pid = pid;
		return wait_foreground(qk);
	}
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (waited >= DAEMON_START_TIMEOUT_MS) {
			kill(pid, SIGTERM);
			waitpid(pid, &status, 0);
			fprintf(stderr, "tapir: tapird did not come up in time\n");
			return -ETIMEDOUT;
		}
		tapir_cli_sleep_ms(STEP_MS);
		waited += STEP_MS;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "tapir: tapird failed to start %s\n", qk->ifname);
		return -ECHILD;
	}
	return tapir_uapi_wait(qk->ifname, SOCKET_WAIT_MS);
}

bool tapir_up_socket_exists(const char *ifname)
{
	char path[TEXT_BYTES];

	snprintf(path, sizeof(path), "%s/%s.sock", UAPI_DIR, ifname);
	return !access(path, F_OK);
}

void tapir_up_remove_socket(const char *ifname)
{
	char path[TEXT_BYTES];

	snprintf(path, sizeof(path), "%s/%s.sock", UAPI_DIR, ifname);
	unlink(path);
}

void tapir_up_undo_daemon(struct tapir_up *qk)
{
	int ifindex = tapir_nl_link_lookup(qk->nl, qk->ifname, NULL), r;

	if (ifindex > 0) {
		tapir_up_say("ip link delete dev %s", qk->ifname);
		r = tapir_nl_link_del(qk->nl, ifindex);
		if (r && !tapir_up_is_gone(r)) {
			fprintf(stderr, "tapir: cannot delete %s: %s\n", qk->ifname, strerror(-r));
			qk->has_failed_undo = true;
			return;
		}
	}
	/*
	 * tapird exits once its interface is gone and removes its socket. A daemon killed with
	 * its socket helper (kill -9 of both) leaves a file nobody listens on: after a second,
	 * it is ours to remove.
	 */
	for (int waited = 0, dead = 0;
	     tapir_up_socket_exists(qk->ifname) && waited < SOCKET_WAIT_MS; waited += STEP_MS) {
		dead = tapir_supervise_is_socket_live(qk->ifname) ? 0 : dead + STEP_MS;
		if (dead >= DEAD_SOCKET_GRACE_MS) {
			tapir_up_say("rm %s/%s.sock", UAPI_DIR, qk->ifname);
			tapir_up_remove_socket(qk->ifname);
			break;
		}
		tapir_cli_sleep_ms(STEP_MS);
	}
	if (tapir_up_socket_exists(qk->ifname)) {
		fprintf(stderr, "tapir: %s/%s.sock is still there after %d s\n", UAPI_DIR,
			qk->ifname, SOCKET_WAIT_MS / 1000);
		qk->has_failed_undo = true;
	}
}

/* down of a supervised interface: the supervising tapir up takes it down and exits. */
void tapir_up_stop_supervisor(struct tapir_up *qk)
{
	char *path = tapir_up_state_path(qk->ifname);

	tapir_up_say("kill -TERM %d", (int)qk->supervisor_pid);
	if (!path || kill(qk->supervisor_pid, SIGTERM) < 0) {
		fprintf(stderr, "tapir: cannot stop the tapir up supervising %s: %s\n", qk->ifname,
			strerror(errno));
		qk->has_failed_undo = true;
		free(path);
		return;
	}
	for (int waited = 0; !access(path, F_OK) && waited < SUPERVISOR_STOP_WAIT_MS;
	     waited += STEP_MS)
		tapir_cli_sleep_ms(STEP_MS);
	if (!access(path, F_OK)) {
		fprintf(stderr, "tapir: the tapir up supervising %s did not finish in %d s\n",
			qk->ifname, SUPERVISOR_STOP_WAIT_MS / 1000);
		qk->has_failed_undo = true;
	}
	free(path);
}
