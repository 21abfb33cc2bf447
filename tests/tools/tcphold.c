// SPDX-License-Identifier: MIT
/*
 * tcphold: holds idle TCP connections open against a listener, for the netns tests of the TCP
 * transport's admission rules (issue 13, item 2: one host must not lock the peers out).
 *
 *   tcphold --target ADDR:PORT --conns N [--source ADDR]... [--duration S] [--reopen-ms MS]
 *
 * Opens N connections (numeric IPv4 or IPv6, bound round-robin to the --source addresses when
 * given), sends nothing on them, and reopens each one --reopen-ms after the target closes or
 * refuses it, until --duration seconds (default 30, at most 600) have passed. A connect that
 * has not completed in 3 s counts as failed and is retried. On exit it prints one line of
 * counters: attempts, established, closed_by_peer (EOF or reset after establishment),
 * connect_failed, max_open (most connections established at once) and longest_ms (the longest
 * time the target held one before closing it). Only the target is ever contacted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
	MAX_CONNS = 1024,
	MAX_SOURCES = 64,
	CONNECT_TIMEOUT_MS = 3000,
	MAX_DURATION_S = 600,
	POLL_MS = 10,
};

enum slot_state { SLOT_WAITING, SLOT_CONNECTING, SLOT_OPEN };

struct slot {
	enum slot_state state;
	int fd;
	uint64_t since_ms; /* connecting: start; open: established; waiting: reopen time */
};

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

struct opts {
	struct addr target;
	struct addr sources[MAX_SOURCES];
	unsigned int n_sources, conns, duration_s, reopen_ms;
};

struct counters {
	uint64_t attempts, established, closed_by_peer, connect_failed, longest_ms;
	unsigned int open_now, max_open;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "a.b.c.d", "v6" (port 0) or with a port: "a.b.c.d:P", "[v6]:P". 0 or -1. */
static int parse_addr(const char *s, bool want_port, struct addr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	struct sockaddr_in *in = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
	long p = 0;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (size_t)(end - s - 1) >= sizeof(host))
			return -1;
		memcpy(host, s + 1, (size_t)(end - s - 1));
		host[end - s - 1] = 0;
		port = end[1] == ':' ? end + 2 : NULL;
	} else {
		end = want_port ? strrchr(s, ':') : NULL;
		size_t n = end ? (size_t)(end - s) : strlen(s);

		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		host[n] = 0;
		port = end ? end + 1 : NULL;
	}
	if (want_port) {
		char *e;

		if (!port)
			return -1;
		p = strtol(port, &e, 10);
		if (*e || p < 1 || p > 65535)
			return -1;
	}
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		out->len = sizeof(*in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		out->len = sizeof(*in6);
		return 0;
	}
	return -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tcphold --target ADDR:PORT --conns N [--source ADDR]... "
			"[--duration S] [--reopen-ms MS]\n");
	exit(2);
}

static unsigned int parse_uint(const char *s, unsigned int max)
{
	char *e;
	unsigned long v = strtoul(s, &e, 10);

	if (!*s || *e || v > max)
		usage();
	return (unsigned int)v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	bool has_target = false;

	memset(o, 0, sizeof(*o));
	o->duration_s = 30;
	o->reopen_ms = 50;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];

		if (!strcmp(k, "--target") && !parse_addr(v, true, &o->target))
			has_target = true;
		else if (!strcmp(k, "--source") && o->n_sources < MAX_SOURCES &&
			 !parse_addr(v, false, &o->sources[o->n_sources]))
			o->n_sources++;
		else if (!strcmp(k, "--conns"))
			o->conns = parse_uint(v, MAX_CONNS);
		else if (!strcmp(k, "--duration"))
			o->duration_s = parse_uint(v, MAX_DURATION_S);
		else if (!strcmp(k, "--reopen-ms"))
			o->reopen_ms = parse_uint(v, 60000);
		else
			usage();
	}
	if (argc % 2 == 0 || !has_target || !o->conns)
		usage();
}

static void slot_close(struct slot *s, uint64_t reopen_at)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	s->state = SLOT_WAITING;
	s->since_ms = reopen_at;
}

static void slot_open(const struct opts *o, struct slot *s, unsigned int idx, uint64_t now,
		      struct counters *c)
{
	const struct addr *src = o->n_sources ? &o->sources[idx % o->n_sources] : NULL;
	int fd = socket(o->target.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	c->attempts++;
	if (fd < 0 || (src && bind(fd, (const struct sockaddr *)&src->ss, src->len) < 0) ||
	    (connect(fd, (const struct sockaddr *)&o->target.ss, o->target.len) < 0 &&
	     errno != EINPROGRESS)) {
		if (fd >= 0)
			close(fd);
		c->connect_failed++;
		s->fd = -1;
		slot_close(s, now + o->reopen_ms);
		return;
	}
	s->fd = fd;
	s->state = SLOT_CONNECTING;
	s->since_ms = now;
}

/* What poll reported for an open or connecting slot. */
static void slot_event(const struct opts *o, struct slot *s, short revents, uint64_t now,
		       struct counters *c)
{
	char buf[256];
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->state == SLOT_CONNECTING) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err ||
		    (revents & (POLLERR | POLLHUP))) {
			c->connect_failed++;
			slot_close(s, now + o->reopen_ms);
			return;
		}
		s->state = SLOT_OPEN;
		s->since_ms = now;
		c->established++;
		if (++c->open_now > c->max_open)
			c->max_open = c->open_now;
		return;
	}
	/* open: the target never sends to a silent client; anything readable is EOF or reset */
	if (recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		return;
	if (errno == EAGAIN && !(revents & (POLLERR | POLLHUP | POLLRDHUP)))
		return;
	c->closed_by_peer++;
	c->open_now--;
	if (now - s->since_ms > c->longest_ms)
		c->longest_ms = now - s->since_ms;
	slot_close(s, now + o->reopen_ms);
}

int main(int argc, char **argv)
{
	static struct slot slots[MAX_CONNS];
	static struct pollfd pfds[MAX_CONNS];
	static unsigned int pidx[MAX_CONNS];
	struct counters c = {0};
	static struct opts o;
	uint64_t start, end;

	parse_opts(argc, argv, &o);
	start = now_ms();
	end = start + (uint64_t)o.duration_s * 1000;
	for (unsigned int i = 0; i < o.conns; i++)
		slot_open(&o, &slots[i], i, start, &c);
	for (uint64_t now = start; now < end; now = now_ms()) {
		nfds_t n = 0;
		int r;

		for (unsigned int i = 0; i < o.conns; i++) {
			struct slot *s = &slots[i];

			if (s->state == SLOT_WAITING && now >= s->since_ms)
				slot_open(&o, s, i, now, &c);
			if (s->state == SLOT_CONNECTING && now - s->since_ms > CONNECT_TIMEOUT_MS) {
				c.connect_failed++;
				slot_close(s, now + o.reopen_ms);
			}
			if (s->state == SLOT_WAITING)
				continue;
			pfds[n].fd = s->fd;
			pfds[n].events = s->state == SLOT_CONNECTING ? POLLOUT : POLLIN | POLLRDHUP;
			pidx[n++] = i;
		}
		r = poll(pfds, n, POLL_MS);
		if (r < 0 && errno != EINTR) {
			perror("tcphold: poll");
			return 1;
		}
		now = now_ms();
		for (nfds_t k = 0; r > 0 && k < n; k++) {
			if (pfds[k].revents)
				slot_event(&o, &slots[pidx[k]], pfds[k].revents, now, &c);
		}
	}
	printf("attempts=%llu established=%llu closed_by_peer=%llu connect_failed=%llu "
	       "max_open=%u longest_ms=%llu\n",
	       (unsigned long long)c.attempts, (unsigned long long)c.established,
	       (unsigned long long)c.closed_by_peer, (unsigned long long)c.connect_failed,
	       c.max_open, (unsigned long long)c.longest_ms);
	return 0;
}
