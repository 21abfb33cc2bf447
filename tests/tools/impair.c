// SPDX-License-Identifier: MIT
/*
 * impair: a UDP impairment relay for the netns tests (issue 7, "an impairment relay for tests").
 *
 *   impair --listen ADDR:PORT --forward ADDR:PORT [--drop P] [--reorder P] [--duplicate P]
 *          [--corrupt P] [--delay-ms N] [--seed N] [--duration S] [--record FILE]
 *
 * Relays datagrams between one client (the last address that sent to the listen socket) and
 * the forward address, in both directions, and impairs each datagram at seeded random rates
 * given in percent (fractions allowed): drop it, send it twice, flip one random byte of a
 * copy, hold a copy back until the next datagram of the same direction has left (or
 * HOLD_MAX_MS passed), and delay everything by a fixed time. The same seed and the same input
 * give the same decisions. The relay itself never drops silently: every datagram is counted
 * as forwarded, dropped (on purpose), a send error or an overflow of the delay queue.
 *
 * --record appends every datagram received from the client, before any impairment, to FILE as
 * a 16-bit big-endian length followed by the bytes (what `attacker --capture` replays).
 *
 * Bounded: it stops after --duration seconds (default 120) or on SIGTERM/SIGINT, and then
 * prints its counters on stdout; SIGUSR1 prints them without stopping. Single thread, poll(2).
 * It must not be pointed at anything but the namespaces a test created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sockaddr.h"

enum {
	MAX_DATAGRAM_BYTES = 65535,
	MAX_QUEUED_PACKETS = 16384, /* per direction; beyond it a datagram is lost (overflow) */
	HOLD_MAX_MS = 20,	    /* a held-back datagram leaves after this even if alone */
	DRAIN_BATCH = 256,	    /* datagrams read per socket per wakeup, for fairness */
	SOCKET_BUF_BYTES = 4 << 20,
	DEFAULT_DURATION_S = 120,
	MAX_DURATION_S = 24 * 3600,
	MAX_DELAY_MS = 10000,
};

enum direction { TO_FORWARD, TO_CLIENT, NDIRECTIONS };

static const char *const direction_names[NDIRECTIONS] = {"to_forward", "to_client"};

struct counters {
	uint64_t received, forwarded, bytes_forwarded, dropped, corrupted, duplicated, reordered;
	uint64_t send_errors, overflow;
};

/* One datagram waiting for its delay to pass; owned by the direction's FIFO. */
struct packet {
	struct packet *next;
	uint64_t due_ns;
	size_t len;
	uint8_t data[];
};

struct flow {
	struct packet *head, *tail; /* FIFO; due times never decrease (constant delay) */
	size_t queued;
	struct packet *held; /* the reordered datagram, waiting for a successor */
	uint64_t held_since_ns;
	struct counters c;
};

struct options {
	union tapir_sockaddr listen, forward;
	double drop, reorder, duplicate, corrupt; /* percent */
	unsigned int delay_ms, duration_s;
	uint64_t seed;
	const char *record;
};

struct relay {
	struct options opt;
	int listen_fd, forward_fd, signal_fd, record_fd;
	union tapir_sockaddr client;
	socklen_t client_len;
	bool has_client;
	uint64_t no_client; /* datagrams from the forward side before any client spoke */
	uint64_t rng;
	struct flow flows[NDIRECTIONS];
	uint8_t buf[MAX_DATAGRAM_BYTES];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: small, seedable, good enough to pick which datagrams to impair */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* True with probability @percent / 100. */
static bool chance(struct relay *r, double percent)
{
	if (percent <= 0)
		return false;
	return (double)(rng_next(&r->rng) >> 11) * 0x1.0p-53 * 100.0 < percent;
}

/* "1.2.3.4:5" or "[::1]:5" into @out (tapird's parser, lib/sockaddr.c). Returns 0 or -1. */
static int parse_addr(const char *text, union tapir_sockaddr *out)
{
	return tapir_sockaddr_parse(out, text, strlen(text)) == 0 ? 0 : -1;
}

static socklen_t addr_len(const union tapir_sockaddr *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->in) : sizeof(a->in6);
}

static int parse_percent(const char *text, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(text, &end);
	return errno || *end || end == text || !(*out >= 0 && *out <= 100) ? -1 : 0;
}

static int parse_uint(const char *text, unsigned long long max, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 0);
	return errno || *end || end == text || text[0] == '-' || *out > max ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: impair --listen ADDR:PORT --forward ADDR:PORT [--drop P] [--reorder P]\n"
		"              [--duplicate P] [--corrupt P] [--delay-ms N] [--seed N]\n"
		"              [--duration S] [--record FILE]\n"
		"P are percentages (fractions allowed); --duration defaults to %d s.\n",
		DEFAULT_DURATION_S);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"forward", required_argument, NULL, 'f'},
	    {"drop", required_argument, NULL, 'd'},
	    {"reorder", required_argument, NULL, 'r'},
	    {"duplicate", required_argument, NULL, 'u'},
	    {"corrupt", required_argument, NULL, 'c'},
	    {"delay-ms", required_argument, NULL, 'D'},
	    {"seed", required_argument, NULL, 's'},
	    {"duration", required_argument, NULL, 't'},
	    {"record", required_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool has_listen = false, has_forward = false;
	unsigned long long v;
	int c, idx = 0, bad = 0;

	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->duration_s = DEFAULT_DURATION_S;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		switch (c) {
		case 'l':
			bad |= parse_addr(optarg, &o->listen);
			has_listen = true;
			break;
		case 'f':
			bad |= parse_addr(optarg, &o->forward);
			has_forward = true;
			break;
		case 'd':
			bad |= parse_percent(optarg, &o->drop);
			break;
		case 'r':
			bad |= parse_percent(optarg, &o->reorder);
			break;
		case 'u':
			bad |= parse_percent(optarg, &o->duplicate);
			break;
		case 'c':
			bad |= parse_percent(optarg, &o->corrupt);
			break;
		case 'D':
			bad |= parse_uint(optarg, MAX_DELAY_MS, &v);
			o->delay_ms = (unsigned int)v;
			break;
		case 's':
			bad |= parse_uint(optarg, UINT64_MAX, &v);
			o->seed = v;
			break;
		case 't':
			bad |= parse_uint(optarg, MAX_DURATION_S, &v);
			o->duration_s = (unsigned int)v;
			break;
		case 'R':
			o->record = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "impair: bad value for --%s: %s\n", longopts[idx].name,
				optarg);
			return -1;
		}
	}
	if (optind != argc || !has_listen || !has_forward) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static void grow_buffers(int fd)
{
	int size = SOCKET_BUF_BYTES;

	/* FORCE ignores rmem_max/wmem_max (we run as root in the tests); fall back quietly */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int open_sockets(struct relay *r)
{
	r->listen_fd = socket(r->opt.listen.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->listen_fd < 0 ||
	    bind(r->listen_fd, &r->opt.listen.sa, addr_len(&r->opt.listen)) < 0) {
		perror("impair: listen socket");
		return -1;
	}
	/* connected: only the forward address can answer, and send() needs no address */
	r->forward_fd = socket(r->opt.forward.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r->forward_fd < 0 ||
	    connect(r->forward_fd, &r->opt.forward.sa, addr_len(&r->opt.forward)) < 0) {
		perror("impair: forward socket");
		return -1;
	}
	grow_buffers(r->listen_fd);
	grow_buffers(r->forward_fd);
	return 0;
}

static int open_signals(struct relay *r)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	r->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return r->signal_fd < 0 ? -1 : 0;
}

static void print_counters(const struct relay *r)
{
	printf("impair: seed=%" PRIu64 " drop=%g reorder=%g duplicate=%g corrupt=%g delay_ms=%u"
	       " no_client=%" PRIu64 "\n",
	       r->opt.seed, r->opt.drop, r->opt.reorder, r->opt.duplicate, r->opt.corrupt,
	       r->opt.delay_ms, r->no_client);
	for (int d = 0; d < NDIRECTIONS; d++) {
		const struct counters *c = &r->flows[d].c;

		printf("impair: %s received=%" PRIu64 " forwarded=%" PRIu64 " bytes=%" PRIu64
		       " dropped=%" PRIu64 " corrupted=%" PRIu64 " duplicated=%" PRIu64
		       " reordered=%" PRIu64 " send_errors=%" PRIu64 " overflow=%" PRIu64 "\n",
		       direction_names[d], c->received, c->forwarded, c->bytes_forwarded,
		       c->dropped, c->corrupted, c->duplicated, c->reordered, c->send_errors,
		       c->overflow);
	}
	fflush(stdout);
}

static void transmit(struct relay *r, enum direction d, const struct packet *p)
{
	struct flow *f = &r->flows[d];
	ssize_t n;

	/* blocking sends: a full socket buffer slows the relay down instead of losing data */
	if (d == TO_FORWARD)
		n = send(r->forward_fd, p->data, p->len, 0);
	else
		n = sendto(r->listen_fd, p->data, p->len, 0, &r->client.sa, r->client_len);
	if (n < 0) {
		f->c.send_errors++;
		return;
	}
	f->c.forwarded++;
	f->c.bytes_forwarded += p->len;
}

/* Consumes @p: appends it to the direction's delay FIFO. */
static void emit(struct relay *r, enum direction d, struct packet *p, uint64_t now)
{
	struct flow *f = &r->flows[d];

	p->due_ns = now + (uint64_t)r->opt.delay_ms * 1000000u;
	p->next = NULL;
	if (f->tail)
		f->tail->next = p;
	else
		f->head = p;
	f->tail = p;
	f->queued++;
}

/* Sends what is due, and a held-back datagram that waited too long for a successor. */
static void flush_due(struct relay *r, uint64_t now)
{
	for (int d = 0; d < NDIRECTIONS; d++) {
		struct flow *f = &r->flows[d];

		if (f->held && now - f->held_since_ns >= (uint64_t)HOLD_MAX_MS * 1000000u) {
			emit(r, (enum direction)d, f->held, now);
			f->held = NULL;
		}
		while (f->head && f->head->due_ns <= now) {
			struct packet *p = f->head;

			f->head = p->next;
			if (!f->head)
				f->tail = NULL;
			f->queued--;
			transmit(r, (enum direction)d, p);
			free(p);
		}
	}
}

/* Earliest time at which flush_due has something to do, or UINT64_MAX. */
static uint64_t next_event(const struct relay *r)
{
	uint64_t t = UINT64_MAX;

	for (int d = 0; d < NDIRECTIONS; d++) {
		const struct flow *f = &r->flows[d];
		uint64_t h;

		if (f->head && f->head->due_ns < t)
			t = f->head->due_ns;
		if (f->held) {
			h = f->held_since_ns + (uint64_t)HOLD_MAX_MS * 1000000u;
			if (h < t)
				t = h;
		}
	}
	return t;
}

static struct packet *packet_new(const uint8_t *data, size_t len)
{
	struct packet *p = malloc(sizeof(*p) + len);

	if (!p)
		return NULL;
	p->len = len;
	memcpy(p->data, data, len);
	return p;
}

/* One copy of a datagram through the reorder stage: hold it, or send it (and release). */
static void reorder_stage(struct relay *r, enum direction d, struct packet *p, uint64_t now)
{
	struct flow *f = &r->flows[d];

	if (f->held) {
		emit(r, d, p, now);
		emit(r, d, f->held, now);
		f->held = NULL;
	} else if (chance(r, r->opt.reorder)) {
		f->held = p;
		f->held_since_ns = now;
		f->c.reordered++;
	} else {
		emit(r, d, p, now);
	}
}

/* @data is not changed; it is not const only because struct iovec is not. */
static void record(struct relay *r, uint8_t *data, size_t len)
{
	uint8_t hdr[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {data, len}};

	if (r->record_fd >= 0 && writev(r->record_fd, iov, 2) < 0) {
		perror("impair: record");
		close(r->record_fd);
		r->record_fd = -1;
	}
}

/* One copy on its way out: corrupt it or not, then through the reorder stage. */
static void impair_copy(struct relay *r, enum direction d, const uint8_t *data, size_t len,
			uint64_t now)
{
	struct flow *f = &r->flows[d];
	struct packet *p = packet_new(data, len);

	if (!p) {
		f->c.overflow++;
		return;
	}
	if (len > 0 && chance(r, r->opt.corrupt)) {
		/* flip one byte to a different value */
		p->data[rng_next(&r->rng) % len] ^= (uint8_t)(1 + rng_next(&r->rng) % 255);
		f->c.corrupted++;
	}
	reorder_stage(r, d, p, now);
}

/*
 * The impairment pipeline for one received datagram (in r->buf): drop, duplicate, then each
 * copy is corrupted independently (so `corrupted` counts corrupted copies sent) and may be
 * held back.
 */
static void impair_one(struct relay *r, enum direction d, size_t len, uint64_t now)
{
	struct flow *f = &r->flows[d];
	bool is_dup;

	f->c.received++;
	if (d == TO_FORWARD)
		record(r, r->buf, len);
	if (chance(r, r->opt.drop)) {
		f->c.dropped++;
		return;
	}
	if (f->queued + 2 > MAX_QUEUED_PACKETS) {
		f->c.overflow++;
		return;
	}
	is_dup = chance(r, r->opt.duplicate);
	impair_copy(r, d, r->buf, len, now);
	if (is_dup) {
		f->c.duplicated++;
		impair_copy(r, d, r->buf, len, now);
	}
}

static void drain_listen(struct relay *r)
{
	for (int i = 0; i < DRAIN_BATCH; i++) {
		union tapir_sockaddr from;
		socklen_t flen = sizeof(from);
		ssize_t n =
		    recvfrom(r->listen_fd, r->buf, sizeof(r->buf), MSG_DONTWAIT, &from.sa, &flen);

		if (n < 0)
			return;
		/* the client is whoever spoke last (it may roam) */
		if (!r->has_client || !tapir_sockaddr_equal(&from, &r->client)) {
			r->client = from;
			r->client_len = flen;
			r->has_client = true;
		}
		impair_one(r, TO_FORWARD, (size_t)n, now_ns());
	}
}

static void drain_forward(struct relay *r)
{
	for (int i = 0; i < DRAIN_BATCH; i++) {
		ssize_t n = recv(r->forward_fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);

		if (n < 0) {
			/* ECONNREFUSED: the forward side is not listening (yet); keep going */
			if (errno == ECONNREFUSED)
				continue;
			return;
		}
		if (!r->has_client) {
			r->no_client++;
			continue;
		}
		impair_one(r, TO_CLIENT, (size_t)n, now_ns());
	}
}

/* Returns true when the relay should stop. */
static bool handle_signals(struct relay *r)
{
	struct signalfd_siginfo si;
	bool is_stop = false;

	while (read(r->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGUSR1)
			print_counters(r);
		else
			is_stop = true;
	}
	return is_stop;
}

static int poll_timeout_ms(const struct relay *r, uint64_t now, uint64_t deadline)
{
	uint64_t t = next_event(r);

	if (deadline < t)
		t = deadline;
	if (t <= now)
		return 0;
	/* round up, so that we do not spin just before the event */
	return (int)((t - now + 999999u) / 1000000u);
}

static void run(struct relay *r)
{
	uint64_t deadline = now_ns() + (uint64_t)r->opt.duration_s * 1000000000u;
	struct pollfd pfd[3] = {
	    {.fd = r->signal_fd, .events = POLLIN},
	    {.fd = r->listen_fd, .events = POLLIN},
	    {.fd = r->forward_fd, .events = POLLIN},
	};

	for (;;) {
		uint64_t now = now_ns();

		flush_due(r, now);
		if (now >= deadline)
			return;
		if (poll(pfd, 3, poll_timeout_ms(r, now, deadline)) < 0 && errno != EINTR) {
			perror("impair: poll");
			return;
		}
		if ((pfd[0].revents & POLLIN) && handle_signals(r))
			return;
		if (pfd[1].revents & POLLIN)
			drain_listen(r);
		if (pfd[2].revents & (POLLIN | POLLERR))
			drain_forward(r);
	}
}

static void free_flows(struct relay *r)
{
	for (int d = 0; d < NDIRECTIONS; d++) {
		struct flow *f = &r->flows[d];

		while (f->head) {
			struct packet *p = f->head;

			f->head = p->next;
			free(p);
		}
		free(f->held);
	}
}

int main(int argc, char **argv)
{
	struct relay *r = calloc(1, sizeof(*r));
	int ret = 1;

	if (!r)
		return 1;
	r->listen_fd = r->forward_fd = r->signal_fd = r->record_fd = -1;
	if (parse_options(argc, argv, &r->opt) < 0) {
		ret = 2;
		goto out;
	}
	r->rng = r->opt.seed;
	if (r->opt.record) {
		r->record_fd = open(r->opt.record, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (r->record_fd < 0) {
			perror("impair: --record");
			goto out;
		}
	}
	if (open_signals(r) < 0 || open_sockets(r) < 0)
		goto out;
	run(r);
	/* what is still in flight when we stop is lost, as on a link that goes down */
	print_counters(r);
	ret = 0;
out:
	free_flows(r);
	if (r->listen_fd >= 0)
		close(r->listen_fd);
	if (r->forward_fd >= 0)
		close(r->forward_fd);
	if (r->signal_fd >= 0)
		close(r->signal_fd);
	if (r->record_fd >= 0)
		close(r->record_fd);
	free(r);
	return ret;
}
