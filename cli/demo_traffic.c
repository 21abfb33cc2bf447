// SPDX-License-Identifier: MIT
/*
 * tapir demo: the traffic checks. ICMP echo requests through a tunnel from a raw socket made
 * inside a namespace, and a MEASURE_MS TCP transfer between two of our own sockets, sender and
 * receiver each on a thread with every signal blocked (the main thread takes Ctrl-C and prints
 * the progress). Traffic stays between the demo's own namespaces.
 */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- ping */

/* Waits for the echo reply with @id/@seq from @dst; returns 0 or -ETIMEDOUT. */
static int await_reply(int fd, const struct sockaddr_in *dst, uint16_t id, uint16_t seq)
{
	int64_t deadline = tapir_cli_now_ms() + PING_TIMEOUT_MS;
	uint8_t buf[256];

	while (tapir_cli_now_ms() < deadline && !tapir_cli_signal) {
		struct sockaddr_in from = {0};
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		const struct icmphdr *icmp;
		size_t hl;

		if (n < (ssize_t)sizeof(struct iphdr))
			continue;
		hl = (size_t)(buf[0] & 0x0f) * 4;
		if ((size_t)n < hl + sizeof(*icmp) || from.sin_addr.s_addr != dst->sin_addr.s_addr)
			continue;
		icmp = (const struct icmphdr *)(buf + hl);
		if (icmp->type == ICMP_ECHOREPLY && icmp->un.echo.id == id &&
		    icmp->un.echo.sequence == seq)
			return 0;
	}
	return -ETIMEDOUT;
}

int tapir_demo_ping(int nsfd, const char *addr)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct timeval tv = {.tv_usec = 200000L};
	uint16_t id = htons((uint16_t)getpid());
	int fd = tapir_demo_socket_in(nsfd, AF_INET, SOCK_RAW, IPPROTO_ICMP), answered = 0;

	if (fd < 0)
		return fd;
	inet_pton(AF_INET, addr, &dst.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("PING %s: %d echo requests through the tunnel\n", addr, PINGS);
	for (int i = 1; i <= PINGS && !tapir_cli_signal; i++) {
		uint8_t pkt[64] = {0};
		struct icmphdr *icmp = (struct icmphdr *)pkt;
		double t0 = now_s();

		icmp->type = ICMP_ECHO;
		icmp->un.echo.id = id;
		icmp->un.echo.sequence = htons((uint16_t)i);
		icmp->checksum = tapir_cli_inet_checksum(pkt, sizeof(pkt));
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
			printf("  icmp_seq=%d: %s\n", i, strerror(errno));
		else if (await_reply(fd, &dst, id, icmp->un.echo.sequence))
			printf("  icmp_seq=%d: no reply\n", i);
		else {
			printf("  %zu bytes from %s: icmp_seq=%d time=%.3f ms\n", sizeof(pkt), addr,
			       i, (now_s() - t0) * 1000);
			answered++;
		}
		fflush(stdout);
		if (i < PINGS)
			tapir_cli_sleep_ms(PING_INTERVAL_MS);
	}
	close(fd);
	printf("  %d of %d answered\n", answered, PINGS);
	return answered ? 0 : -EHOSTUNREACH;
}

/* ---------------------------------------------------------------- TCP throughput */

struct xfer {
	int lfd, sfd;
	struct sockaddr_in dst;
	atomic_ullong received; /* bytes */
	atomic_bool is_stopped;
	int send_err, recv_err;
};

static void block_thread_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *receiver(void *arg)
{
	struct xfer *x = arg;
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	char *buf = malloc(CHUNK_BYTES);
	int cfd;
	ssize_t n;

	block_thread_signals();
	cfd = buf ? accept4(x->lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
	if (cfd < 0) {
		x->recv_err = buf ? errno : ENOMEM;
		free(buf);
		return NULL;
	}
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while ((n = read(cfd, buf, CHUNK_BYTES)) > 0)
		atomic_fetch_add_explicit(&x->received, (unsigned long long)n,
					  memory_order_relaxed);
	if (n < 0)
		x->recv_err = errno;
	close(cfd);
	free(buf);
	return NULL;
}

static void *sender(void *arg)
{
	struct xfer *x = arg;
	char *buf = calloc(1, CHUNK_BYTES);

	block_thread_signals();
	if (!buf || connect(x->sfd, (struct sockaddr *)&x->dst, sizeof(x->dst)) < 0) {
		x->send_err = buf ? errno : ENOMEM;
		free(buf);
		return NULL;
	}
	while (!atomic_load_explicit(&x->is_stopped, memory_order_relaxed)) {
		if (write(x->sfd, buf, CHUNK_BYTES) < 0) {
			x->send_err = errno;
			break;
		}
	}
	shutdown(x->sfd, SHUT_WR);
	free(buf);
	return NULL;
}

static int xfer_sockets(struct xfer *x, int src_ns, int dst_ns, const char *addr)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
	int one = 1;

	x->dst.sin_family = AF_INET;
	x->dst.sin_port = htons(TCP_PORT);
	inet_pton(AF_INET, addr, &x->dst.sin_addr);
	x->lfd = tapir_demo_socket_in(dst_ns, AF_INET, SOCK_STREAM, 0);
	x->sfd = tapir_demo_socket_in(src_ns, AF_INET, SOCK_STREAM, 0);
	if (x->lfd < 0 || x->sfd < 0)
		return -EMFILE;
	setsockopt(x->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(x->lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(x->sfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (bind(x->lfd, (struct sockaddr *)&x->dst, sizeof(x->dst)) < 0 || listen(x->lfd, 1) < 0)
		return -errno;
	return 0;
}

/* Prints a progress line (rewritten in place on a terminal) until the time is up. */
static void progress(struct xfer *x, const char *label, double t0)
{
	bool is_tty = isatty(STDOUT_FILENO);
	double t;

	if (!is_tty)
		printf("  %s: measuring for %d s...\n", label, MEASURE_MS / 1000);
	while ((t = now_s() - t0) * 1000 < MEASURE_MS && !tapir_cli_signal && !x->send_err &&
	       !x->recv_err) {
		unsigned long long b = atomic_load_explicit(&x->received, memory_order_relaxed);

		if (is_tty)
			printf("\r  %s: %.1f s, %.1f Mbit/s ", label, t,
			       t > 0 ? (double)b * 8 / t / 1e6 : 0.0);
		fflush(stdout);
		tapir_cli_sleep_ms(PROGRESS_MS);
	}
	if (is_tty)
		printf("\r\033[K");
}

/* Sends for MEASURE_MS from @src_ns to @addr:TCP_PORT in @dst_ns; returns Mbit/s or < 0. */
double tapir_demo_measure(int src_ns, int dst_ns, const char *addr, const char *label)
{
	struct xfer x = {.lfd = -1, .sfd = -1};
	pthread_t rt, st;
	unsigned long long bytes;
	double t0, secs;
	int r = xfer_sockets(&x, src_ns, dst_ns, addr);

	if (r || pthread_create(&rt, NULL, receiver, &x)) {
		fprintf(stderr, "tapir demo: cannot set up the transfer: %s\n", strerror(-r));
		goto out;
	}
	if (pthread_create(&st, NULL, sender, &x)) {
		shutdown(x.lfd, SHUT_RDWR);
		pthread_join(rt, NULL);
		goto out;
	}
	t0 = now_s();
	progress(&x, label, t0);
	bytes = atomic_load_explicit(&x.received, memory_order_relaxed);
	secs = now_s() - t0;
	atomic_store_explicit(&x.is_stopped, true, memory_order_relaxed);
	pthread_join(st, NULL);
	shutdown(x.lfd, SHUT_RDWR); /* wakes an accept() that never got a connection */
	pthread_join(rt, NULL);
	if (tapir_cli_signal)
		goto out;
	if (x.send_err || x.recv_err || !bytes) {
		fprintf(stderr, "tapir demo: transfer failed: %s\n",
			strerror(x.send_err   ? x.send_err
				 : x.recv_err ? x.recv_err
					      : EIO));
		goto out;
	}
	close(x.lfd);
	close(x.sfd);
	return (double)bytes * 8 / secs / 1e6;
out:
	if (x.lfd >= 0)
		close(x.lfd);
	if (x.sfd >= 0)
		close(x.sfd);
	return -1;
}
