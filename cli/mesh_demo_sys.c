// SPDX-License-Identifier: MIT
/*
 * tapir mesh demo: its system plumbing (mesh_demo.c has the steps). Anonymous network
 * namespaces (unshare, then setns back: held by a descriptor, never in /var/run/netns), links
 * over cli/netlink.c, child processes started inside a namespace that die with the demo
 * (PR_SET_PDEATHSIG), bounded waits and stops by PID, and one ICMP echo exchange from inside
 * a namespace for the ping matrix. Every wait is bounded in time; nothing here runs ip(8) or
 * signals a process it did not start.
 */
#include "mesh_demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netlink.h"

enum {
	PING_TRIES = 5, /* the first packet may only start the handshake */
	PING_WAIT_MS = 1000,
	PACKET_BYTES = 64,
	UNDERLAY_CIDR = 24,
	PATH_BYTES = TAPIR_MDEMO_PATH_BYTES,
	STEP_MS = TAPIR_MDEMO_STEP_MS,
	STOP_WAIT_MS = TAPIR_MDEMO_STOP_WAIT_MS,
};

/* ---------------------------------------------------------------- namespaces and links */

/* A new network namespace, held by the returned descriptor; we stay where we were. */
int tapir_mdemo_netns_new(void)
{
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1;

	if (own < 0)
		return -errno;
	if (unshare(CLONE_NEWNET) == 0)
		fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	if (setns(own, CLONE_NEWNET) < 0) {
		/* staying in the demo's namespace would be worse than stopping */
		perror("tapir mesh demo: setns back");
		abort();
	}
	close(own);
	return fd;
}

unsigned long long tapir_mdemo_netns_id(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long long)st.st_ino;
}

int tapir_mdemo_nl_in(int nsfd, struct tapir_nl **nl)
{
	char path[PATH_BYTES];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", nsfd);
	return tapir_nl_open(nl, path);
}

/* Link @name up, with 192.0.2.@host/24 unless @host is 0. */
int tapir_mdemo_link_up(struct tapir_nl *nl, const char *name, int host)
{
	uint8_t addr[4] = {192, 0, 2, (uint8_t)host};
	int ifindex = tapir_nl_link_lookup(nl, name, NULL), r = 0;

	if (ifindex < 0)
		return ifindex;
	if (host)
		r = tapir_nl_addr(nl, true, ifindex, AF_INET, addr, UNDERLAY_CIDR);
	return r ? r : tapir_nl_link_set(nl, ifindex, 0, true);
}

/* ---------------------------------------------------------------- child processes */

/*
 * Runs @argv (argv[0] a path, or a name looked up in $PATH) in namespace @nsfd, its output
 * appended to @log (NULL: ours). Returns the child's PID or -errno. The child dies with us.
 */
pid_t tapir_mdemo_spawn(int nsfd, char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY), out = -1;

		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(126);
		if (log)
			out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (null < 0 || (log && out < 0) || setns(nsfd, CLONE_NEWNET) < 0)
			_exit(126);
		dup2(null, STDIN_FILENO);
		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
			dup2(out, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Waits for @pid up to @ms; its exit status, or -ETIMEDOUT (it still runs). */
int tapir_mdemo_wait_exit(pid_t pid, int ms)
{
	int status = 0;

	for (int64_t end = tapir_cli_now_ms() + ms;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (tapir_cli_now_ms() >= end)
			return -ETIMEDOUT;
		tapir_cli_sleep_ms(STEP_MS);
	}
}

/* SIGTERM to every PID in @pids (0 = none), reap each, SIGKILL what is left after the wait. */
void tapir_mdemo_stop_all(pid_t *pids, size_t n, const char *what)
{
	int64_t end = tapir_cli_now_ms() + STOP_WAIT_MS;

	for (size_t i = 0; i < n; i++) {
		if (pids[i] > 0)
			kill(pids[i], SIGTERM);
	}
	for (size_t i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		if (tapir_mdemo_wait_exit(
			pids[i], (int)(end > tapir_cli_now_ms() ? end - tapir_cli_now_ms() : 0)) ==
		    -ETIMEDOUT) {
			fprintf(stderr, "tapir mesh demo: %s %d did not stop, killing it\n", what,
				(int)pids[i]);
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
		pids[i] = 0;
	}
}

/* Runs @argv in @nsfd to the end (bounded by @ms); its exit status or -errno. */
int tapir_mdemo_run(int nsfd, char *const argv[], const char *log, int ms)
{
	pid_t pid = tapir_mdemo_spawn(nsfd, argv, log);
	int r;

	if (pid < 0)
		return pid;
	r = tapir_mdemo_wait_exit(pid, ms);
	if (r == -ETIMEDOUT)
		tapir_mdemo_stop_all(&pid, 1, argv[0]);
	return r;
}

/*
 * Reaps what our children left when they died (tapird's privileged helper exits once tapird
 * is gone): we are their subreaper. Bounded; a straggler is named, not waited for forever.
 */
void tapir_mdemo_reap_orphans(void)
{
	int64_t end = tapir_cli_now_ms() + STOP_WAIT_MS;
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) >= 0) {
		if (pid > 0)
			continue;
		if (tapir_cli_now_ms() > end) {
			fprintf(stderr,
				"tapir mesh demo: a process of the demo is still running\n");
			return;
		}
		tapir_cli_sleep_ms(STEP_MS);
	}
}

/* ---------------------------------------------------------------- ping */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Is @buf (@n bytes: IP header, ICMP) the reply from @dst to request @req? */
static bool is_reply(const uint8_t *buf, ssize_t n, const struct sockaddr_in *from,
		     const struct sockaddr_in *dst, const struct icmphdr *req)
{
	const struct icmphdr *icmp;
	size_t hl;

	if (n < (ssize_t)sizeof(struct iphdr) || from->sin_addr.s_addr != dst->sin_addr.s_addr)
		return false;
	hl = (size_t)(buf[0] & 0x0f) * 4;
	if ((size_t)n < hl + sizeof(*icmp))
		return false;
	icmp = (const struct icmphdr *)(buf + hl);
	return icmp->type == ICMP_ECHOREPLY && icmp->un.echo.id == req->un.echo.id &&
	       icmp->un.echo.sequence == req->un.echo.sequence;
}

/* One echo request to @dst and its reply within PING_WAIT_MS: the RTT in µs, or -errno. */
static long echo(int fd, const struct sockaddr_in *dst, uint16_t seq)
{
	uint8_t pkt[PACKET_BYTES] = {0}, buf[256];
	struct icmphdr *req = (struct icmphdr *)pkt;
	int64_t t0 = now_us(), left;

	req->type = ICMP_ECHO;
	req->un.echo.id = htons((uint16_t)getpid());
	req->un.echo.sequence = htons(seq);
	req->checksum = tapir_cli_inet_checksum(pkt, sizeof(pkt));
	if (sendto(fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0)
		return -errno;
	while ((left = PING_WAIT_MS - (now_us() - t0) / 1000) > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct sockaddr_in from = {.sin_family = AF_UNSPEC};
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (is_reply(buf, n, &from, dst, req))
			return (long)(now_us() - t0);
	}
	return -ETIMEDOUT;
}

/* The child: in namespace @nsfd, up to PING_TRIES requests; exits 0 once one is answered. */
static void ping_child(int nsfd, const char *from, const char *to, const char *addr,
		       volatile sig_atomic_t *stop)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	long us = -ETIMEDOUT;
	int fd = -1, tries = 0;

	if (setns(nsfd, CLONE_NEWNET) == 0)
		fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1)
		fd = -1;
	while (fd >= 0 && us < 0 && tries < PING_TRIES && !*stop)
		us = echo(fd, &dst, (uint16_t)++tries);
	if (us >= 0)
		printf("    %s -> %s (%s): reply in %.3f ms (request %d)\n", from, to, addr,
		       (double)us / 1000, tries);
	else
		printf("    %s -> %s (%s): no reply to %d requests%s\n", from, to, addr, tries,
		       fd < 0 ? " (no socket)" : "");
	fflush(stdout);
	_exit(us >= 0 ? 0 : 1);
}

int tapir_mdemo_ping(int nsfd, const char *from, const char *to, const char *addr,
		     volatile sig_atomic_t *stop)
{
	int status = 0, r;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		ping_child(nsfd, from, to, addr, stop);
	/* bounded by the child's own tries: PING_TRIES x PING_WAIT_MS */
	r = tapir_cli_wait_child(pid, &status);
	if (r)
		return r;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EHOSTUNREACH;
}
