// SPDX-License-Identifier: MIT
/*
 * tapir mesh demo: one ICMP echo exchange from inside a network namespace, for the demo's ping
 * matrix (mesh_demo.c). A raw socket belongs to the namespace it is created in, so a child
 * process enters the namespace, sends at most a bounded number of echo requests, waits a
 * bounded time for each reply, prints one line and exits; the caller's namespace never changes.
 * Replies are matched on source address, identifier and sequence; anything else is skipped.
 */
#include "mesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum {
	PING_TRIES = 5, /* the first packet may only start the handshake */
	PING_WAIT_MS = 1000,
	PACKET_BYTES = 64,
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The Internet checksum (RFC 1071) of @buf, in network byte order. */
static uint16_t checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
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
	req->checksum = checksum(pkt, sizeof(pkt));
	if (sendto(fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0)
		return -errno;
	while ((left = PING_WAIT_MS - (now_us() - t0) / 1000) > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct sockaddr_in from;
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

int tapir_mesh_demo_ping(int nsfd, const char *from, const char *to, const char *addr,
			 volatile sig_atomic_t *stop)
{
	int status = 0;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		ping_child(nsfd, from, to, addr, stop);
	/* bounded by the child's own tries: PING_TRIES x PING_WAIT_MS */
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EHOSTUNREACH;
}
