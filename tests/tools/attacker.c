// SPDX-License-Identifier: MIT
/*
 * attacker: a packet-level attacker for the netns tests (issue 7, "a packet-level attacker").
 *
 *   attacker --target ADDR:PORT --kind KIND [--count N] [--capture FILE] [--target-pubkey B64]
 *            [--source-range CIDR] [--seed N] [--rate PPS] [--burst N] [--gso N]
 *            [--linger-ms N] [--duration S]
 *
 * Sends N datagrams of one kind (see the kinds table) to the target: replays of a capture
 * (`impair --record` format: 16-bit big-endian length, then the bytes), truncated and
 * oversized copies, zero-length datagrams, random bytes, well-formed handshake headers with a
 * bad mac1, data headers with a bad tag, and a flood of initiations that carry a correct mac1 for
 * --target-pubkey (mac1 = MAC(HASH("mac1----" || pubkey), msg[0:116]), wireguard-protocol.md 4.1)
 * and random content otherwise, so the target must spend a DH on each one unless it is under load.
 *
 * --source-range spreads the datagrams over one socket per address of the range (IP_FREEBIND,
 * so the addresses need not be assigned; replies only come back to assigned ones). Every
 * socket is connected to the target, so all replies counted come from the target; they are
 * counted by type (a cookie reply is a 64-byte type-3 datagram). --gso N sends each datagram
 * N times in one UDP_SEGMENT send: a receiver with UDP_GRO gets the copies as one coalesced
 * buffer, as it does from a peer that sends with GSO.
 *
 * On exit it prints one line of key=value counters, including how many datagrams of each
 * class it sent, classified by the receive rules of section 2.5 (malformed, handshake, data),
 * so a test can compare them with the target's drop counters. Bounded by --count, --rate
 * (default 10000 per second) and --duration (default 120 s).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "sockaddr.h"
#include "encoding.h"
#include "messages.h"

enum {
	MAX_DATAGRAM_BYTES = 65507, /* largest UDP payload over IPv4 */
	MAX_SOURCES = 1024,
	DEFAULT_COUNT = 1000,
	DEFAULT_RATE_PPS = 10000,
	DEFAULT_BURST = 64,
	DEFAULT_LINGER_MS = 500,
	DEFAULT_DURATION_S = 120,
	MAX_DURATION_S = 3600,
	RANDOM_MAX_LEN = 1500,
	MAC1_LABEL_LEN = 8,
	SEND_RETRIES = 3,
	SEND_WAIT_MS = 100,
	MAX_GSO_SEGMENTS = 64, /* UDP_MAX_SEGMENTS on older kernels */
};

/* Classes of section 2.5, to compare with the target's counters. */
enum msg_class { CLASS_MALFORMED, CLASS_HANDSHAKE, CLASS_DATA, NCLASSES };

/* Reply counters: index = message type 1-4, 0 = anything else. */
enum { NREPLY_TYPES = 5 };

struct record {
	size_t off, len;
};

/* A loaded capture: all records, and the indices of the transport-data ones. */
struct capture {
	uint8_t *bytes;
	struct record *recs;
	size_t nrecs;
	size_t *data_recs;
	size_t ndata;
};

struct options {
	union tapir_sockaddr target, range_base;
	unsigned int range_prefix;
	bool has_range, has_pubkey;
	uint8_t pubkey[32];
	const char *kind, *capture;
	uint64_t count, seed;
	unsigned int rate, burst, gso, linger_ms, duration_s;
};

struct attacker;
typedef size_t (*attacker_gen_fn)(struct attacker *a, uint64_t i, uint8_t *out);

struct kind {
	const char *name;
	attacker_gen_fn gen;
	bool needs_capture, needs_pubkey;
	const char *description;
};

struct attacker {
	struct options opt;
	const struct kind *kind;
	struct capture cap;
	uint8_t mac1_key[32];
	uint64_t rng;
	int *fds;
	struct pollfd *pfds;
	unsigned int nfds;
	uint64_t sent, send_errors, bytes, empty, classes[NCLASSES], replies[NREPLY_TYPES];
	uint64_t start_ns, next_pace;
	uint8_t *buf;	    /* the datagram being built, MAX_DATAGRAM_BYTES */
	uint8_t *gso_buf;   /* its copies for one GSO send, MAX_DATAGRAM_BYTES */
	uint8_t *reply_buf; /* MAX_DATAGRAM_BYTES */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* splitmix64: seedable, so a failing run can be repeated with the printed seed */
static uint64_t rng_next(struct attacker *a)
{
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for test traffic; n > 0. */
static size_t rng_below(struct attacker *a, size_t n)
{
	return (size_t)(rng_next(a) % n);
}

static void rng_fill(struct attacker *a, uint8_t *out, size_t len)
{
	while (len >= 8) {
		uint64_t v = rng_next(a);

		memcpy(out, &v, 8);
		out += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rng_next(a);

		memcpy(out, &v, len);
	}
}

/* Section 2.5, written from the spec rather than taken from the daemon. */
static enum msg_class classify(const uint8_t *msg, size_t len)
{
	if (len < 4 || msg[1] || msg[2] || msg[3])
		return CLASS_MALFORMED;
	switch (msg[0]) {
	case TAPIR_MSG_INITIATION:
		return len == TAPIR_MSG_INITIATION_LEN ? CLASS_HANDSHAKE : CLASS_MALFORMED;
	case TAPIR_MSG_RESPONSE:
		return len == TAPIR_MSG_RESPONSE_LEN ? CLASS_HANDSHAKE : CLASS_MALFORMED;
	case TAPIR_MSG_COOKIE:
		return len == TAPIR_MSG_COOKIE_LEN ? CLASS_HANDSHAKE : CLASS_MALFORMED;
	case TAPIR_MSG_DATA:
		return len >= TAPIR_MSG_DATA_MIN_LEN ? CLASS_DATA : CLASS_MALFORMED;
	default:
		return CLASS_MALFORMED;
	}
}

/* A well-formed message of a random type with random content (when there is no capture). */
static size_t synthesize(struct attacker *a, uint8_t *out)
{
	static const size_t sizes[4] = {TAPIR_MSG_INITIATION_LEN, TAPIR_MSG_RESPONSE_LEN,
					TAPIR_MSG_COOKIE_LEN, TAPIR_MSG_DATA_MIN_LEN + 96};
	size_t t = rng_below(a, 4);

	rng_fill(a, out, sizes[t]);
	tapir_msg_put_header(out, (enum tapir_message_type)(t + 1));
	return sizes[t];
}

static const struct record *random_record(struct attacker *a)
{
	return &a->cap.recs[rng_below(a, a->cap.nrecs)];
}

/* replay: the capture's datagrams in order, round and round, byte for byte. */
static size_t gen_replay(struct attacker *a, uint64_t i, uint8_t *out)
{
	const struct record *r = &a->cap.recs[i % a->cap.nrecs];

	memcpy(out, a->cap.bytes + r->off, r->len);
	return r->len;
}

/*
 * truncated: a captured (or synthesized) message cut below the minimum length of its type,
 * so every one of them is malformed by 2.5: handshake messages to [0, size), data messages
 * to [0, 32). Data cut to 32 bytes or more is a bad-tag case (valid-header-badtag).
 */
static size_t gen_truncated(struct attacker *a, uint64_t i, uint8_t *out)
{
	size_t len, limit;

	if (a->cap.nrecs) {
		const struct record *r = random_record(a);

		len = r->len;
		memcpy(out, a->cap.bytes + r->off, len);
	} else {
		len = synthesize(a, out);
	}
	limit = classify(out, len) == CLASS_DATA ? TAPIR_MSG_DATA_MIN_LEN : len;
	return limit ? rng_below(a, limit) : 0;
}

/*
 * oversized: 1501 to 65507 bytes (a quarter exactly 65507) under a handshake header (types
 * 1-3, whose size is fixed) or an unknown type: all malformed. Oversized transport data is
 * part of valid-header-badtag.
 */
static size_t gen_oversized(struct attacker *a, uint64_t i, uint8_t *out)
{
	size_t len = rng_below(a, 4) == 0 ? MAX_DATAGRAM_BYTES
					  : 1501 + rng_below(a, MAX_DATAGRAM_BYTES - 1500);
	size_t t = rng_below(a, 4);

	rng_fill(a, out, len);
	if (t < 3)
		tapir_msg_put_header(out, (enum tapir_message_type)(t + 1));
	else
		out[0] = (uint8_t)(5 + rng_below(a, 251)); /* not a message type */
	return len;
}

/* empty: zero-length datagrams (valid UDP, the shortest input a parser can get). */
static size_t gen_empty(struct attacker *a, uint64_t i, uint8_t *out)
{
	return 0;
}

/* random: 0 to 1500 random bytes. */
static size_t gen_random(struct attacker *a, uint64_t i, uint8_t *out)
{
	size_t len = rng_below(a, RANDOM_MAX_LEN + 1);

	rng_fill(a, out, len);
	return len;
}

/* badmac: initiation, response and cookie reply in turn, right sizes, garbage (bad mac1). */
static size_t gen_badmac(struct attacker *a, uint64_t i, uint8_t *out)
{
	static const size_t sizes[3] = {TAPIR_MSG_INITIATION_LEN, TAPIR_MSG_RESPONSE_LEN,
					TAPIR_MSG_COOKIE_LEN};
	size_t t = (size_t)(i % 3);

	rng_fill(a, out, sizes[t]);
	tapir_msg_put_header(out, (enum tapir_message_type)(t + 1));
	return sizes[t];
}

/* Payload length (ciphertext + tag) for a bad-tag message: mostly MTU-sized, some jumbo. */
static size_t badtag_payload_len(struct attacker *a)
{
	if (rng_below(a, 10) == 0)
		return TAPIR_AUTHTAG_LEN +
		       rng_below(a, MAX_DATAGRAM_BYTES - TAPIR_MSG_DATA_MIN_LEN + 1);
	return TAPIR_AUTHTAG_LEN + rng_below(a, RANDOM_MAX_LEN);
}

/*
 * valid-header-badtag: transport data whose tag cannot verify. With a capture the header
 * (receiver index and counter) is a real one, so the target gets as far as the AEAD: half
 * are captured messages with one byte flipped at offset 8 or later (counter, ciphertext or
 * tag), half a captured header with random ciphertext. Without a capture the index is random.
 */
static size_t gen_badtag(struct attacker *a, uint64_t i, uint8_t *out)
{
	size_t len;

	if (a->cap.ndata) {
		const struct record *r = &a->cap.recs[a->cap.data_recs[rng_below(a, a->cap.ndata)]];

		if (rng_below(a, 2) == 0) {
			memcpy(out, a->cap.bytes + r->off, r->len);
			out[8 + rng_below(a, r->len - 8)] ^= (uint8_t)(1 + rng_below(a, 255));
			return r->len;
		}
		len = TAPIR_MSG_DATA_HEADER_LEN + badtag_payload_len(a);
		memcpy(out, a->cap.bytes + r->off, TAPIR_MSG_DATA_HEADER_LEN);
		rng_fill(a, out + TAPIR_MSG_DATA_HEADER_LEN, len - TAPIR_MSG_DATA_HEADER_LEN);
		return len;
	}
	len = TAPIR_MSG_DATA_HEADER_LEN + badtag_payload_len(a);
	rng_fill(a, out, len);
	tapir_msg_put_header(out, TAPIR_MSG_DATA);
	return len;
}

/* initiation-flood: a random initiation with a correct mac1 for the target, no mac2. */
static size_t gen_flood(struct attacker *a, uint64_t i, uint8_t *out)
{
	struct tapir_msg_initiation *m = (struct tapir_msg_initiation *)out;

	rng_fill(a, out, sizeof(*m));
	tapir_msg_put_header(out, TAPIR_MSG_INITIATION);
	tapir_mac(m->mac1, a->mac1_key, sizeof(a->mac1_key), out,
		  offsetof(struct tapir_msg_initiation, mac1));
	memset(m->mac2, 0, sizeof(m->mac2));
	return sizeof(*m);
}

static const struct kind kinds[] = {
    {"replay", gen_replay, true, false, "captured datagrams resent verbatim"},
    {"truncated", gen_truncated, false, false, "messages cut below their minimum size"},
    {"oversized", gen_oversized, false, false, "1501-65507 bytes, handshake or unknown type"},
    {"empty", gen_empty, false, false, "zero-length datagrams"},
    {"random", gen_random, false, false, "0-1500 random bytes"},
    {"badmac", gen_badmac, false, false, "types 1-3, right sizes, bad mac1"},
    {"valid-header-badtag", gen_badtag, false, false, "type 4 with a tag that cannot verify"},
    {"initiation-flood", gen_flood, false, true, "initiations with a correct mac1"},
};

static const struct kind *find_kind(const char *name)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(kinds[k].name, name))
			return &kinds[k];
	return NULL;
}

/* "1.2.3.4:5" or "[::1]:5" (tapird's parser, lib/sockaddr.c). Returns 0 or -1. */
static int parse_addr(const char *text, union tapir_sockaddr *out)
{
	return tapir_sockaddr_parse(out, text, strlen(text)) == 0 ? 0 : -1;
}

static socklen_t addr_len(const union tapir_sockaddr *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->in) : sizeof(a->in6);
}

/* The address bytes of @a (4 or 16, network order) and their count. */
static uint8_t *addr_bytes(union tapir_sockaddr *a, size_t *n)
{
	if (a->sa.sa_family == AF_INET) {
		*n = 4;
		return (uint8_t *)&a->in.sin_addr;
	}
	*n = 16;
	return (uint8_t *)&a->in6.sin6_addr;
}

/* "ADDR/PREFIX": the base address (host bits cleared) and the prefix length. */
static int parse_range(const char *text, union tapir_sockaddr *base, unsigned int *prefix)
{
	char host[64];
	const char *slash = strchr(text, '/');
	unsigned long p;
	uint8_t *b;
	size_t n;
	char *end;

	memset(base, 0, sizeof(*base));
	if (!slash || (size_t)(slash - text) >= sizeof(host))
		return -1;
	memcpy(host, text, (size_t)(slash - text));
	host[slash - text] = '\0';
	errno = 0;
	p = strtoul(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1)
		return -1;
	if (inet_pton(AF_INET, host, &base->in.sin_addr) == 1)
		base->sa.sa_family = AF_INET;
	else if (inet_pton(AF_INET6, host, &base->in6.sin6_addr) == 1)
		base->sa.sa_family = AF_INET6;
	else
		return -1;
	b = addr_bytes(base, &n);
	if (p > n * 8)
		return -1;
	for (size_t bit = p; bit < n * 8; bit++)
		b[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	*prefix = (unsigned int)p;
	return 0;
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
	fprintf(
	    f,
	    "usage: attacker --target ADDR:PORT --kind KIND [--count N] [--capture FILE]\n"
	    "                [--target-pubkey BASE64] [--source-range CIDR] [--seed N]\n"
	    "                [--rate PPS] [--burst N] [--gso N] [--linger-ms N] [--duration S]\n"
	    "defaults: --count %d --rate %d (0: unlimited) --burst %d --linger-ms %d"
	    " --duration %d\nkinds:\n",
	    DEFAULT_COUNT, DEFAULT_RATE_PPS, DEFAULT_BURST, DEFAULT_LINGER_MS, DEFAULT_DURATION_S);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		fprintf(f, "  %-20s %s%s%s\n", kinds[k].name, kinds[k].description,
			kinds[k].needs_capture ? " (needs --capture)" : "",
			kinds[k].needs_pubkey ? " (needs --target-pubkey)" : "");
}

/* One option; returns 0, or -1 for a bad value. */
static int parse_one(struct options *o, int c, const char *arg)
{
	unsigned long long v = 0;
	int bad = 0;

	switch (c) {
	case 't':
		return parse_addr(arg, &o->target);
	case 'k':
		o->kind = arg;
		return 0;
	case 'c':
		bad = parse_uint(arg, UINT64_MAX, &v);
		o->count = v;
		return bad;
	case 'C':
		o->capture = arg;
		return 0;
	case 'p':
		o->has_pubkey = true;
		return tapir_key_from_base64(o->pubkey, arg, strlen(arg)) < 0 ? -1 : 0;
	case 'r':
		o->has_range = true;
		return parse_range(arg, &o->range_base, &o->range_prefix);
	case 's':
		bad = parse_uint(arg, UINT64_MAX, &v);
		o->seed = v;
		return bad;
	case 'R':
		bad = parse_uint(arg, 100000000, &v);
		o->rate = (unsigned int)v;
		return bad;
	case 'b':
		bad = parse_uint(arg, 1000000, &v);
		o->burst = (unsigned int)v;
		return bad || v == 0 ? -1 : 0;
	case 'g':
		bad = parse_uint(arg, MAX_GSO_SEGMENTS, &v);
		o->gso = (unsigned int)v;
		return bad;
	case 'l':
		bad = parse_uint(arg, 60000, &v);
		o->linger_ms = (unsigned int)v;
		return bad;
	case 'd':
		bad = parse_uint(arg, MAX_DURATION_S, &v);
		o->duration_s = (unsigned int)v;
		return bad;
	default:
		return -1;
	}
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"target", required_argument, NULL, 't'},
	    {"kind", required_argument, NULL, 'k'},
	    {"count", required_argument, NULL, 'c'},
	    {"capture", required_argument, NULL, 'C'},
	    {"target-pubkey", required_argument, NULL, 'p'},
	    {"source-range", required_argument, NULL, 'r'},
	    {"seed", required_argument, NULL, 's'},
	    {"rate", required_argument, NULL, 'R'},
	    {"burst", required_argument, NULL, 'b'},
	    {"gso", required_argument, NULL, 'g'},
	    {"linger-ms", required_argument, NULL, 'l'},
	    {"duration", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, idx = 0;

	memset(o, 0, sizeof(*o));
	o->count = DEFAULT_COUNT;
	o->seed = 1;
	o->rate = DEFAULT_RATE_PPS;
	o->burst = DEFAULT_BURST;
	o->linger_ms = DEFAULT_LINGER_MS;
	o->duration_s = DEFAULT_DURATION_S;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?') {
			usage(stderr);
			return -1;
		}
		if (parse_one(o, c, optarg) < 0) {
			fprintf(stderr, "attacker: bad value for --%s: %s\n", longopts[idx].name,
				optarg);
			return -1;
		}
	}
	if (optind != argc || !o->target.sa.sa_family || !o->kind) {
		usage(stderr);
		return -1;
	}
	if (o->has_range && o->range_base.sa.sa_family != o->target.sa.sa_family) {
		fprintf(stderr, "attacker: --source-range and --target differ in address family\n");
		return -1;
	}
	return 0;
}

static int add_record(struct capture *cap, size_t off, size_t len, size_t *cap_recs)
{
	if (cap->nrecs == *cap_recs) {
		size_t n = *cap_recs ? *cap_recs * 2 : 64;
		struct record *r = realloc(cap->recs, n * sizeof(*r));

		if (!r)
			return -1;
		cap->recs = r;
		*cap_recs = n;
	}
	cap->recs[cap->nrecs].off = off;
	cap->recs[cap->nrecs].len = len;
	cap->nrecs++;
	return 0;
}

/* Reads the whole capture file into @cap->bytes (at most 64 MiB). */
static int read_file(const char *path, struct capture *cap, size_t *size)
{
	FILE *f = fopen(path, "rb");
	size_t have = 0, alloc = 1 << 16;

	if (!f)
		return -1;
	cap->bytes = malloc(alloc);
	while (cap->bytes) {
		uint8_t *grown;

		have += fread(cap->bytes + have, 1, alloc - have, f);
		if (have < alloc || alloc >= (size_t)64 << 20)
			break;
		alloc *= 2;
		grown = realloc(cap->bytes, alloc);
		if (!grown)
			break; /* keep what we have */
		cap->bytes = grown;
	}
	fclose(f);
	*size = have;
	return cap->bytes ? 0 : -1;
}

/* Loads the records of a capture; a record cut short at the end (still being written) is
 * ignored. */
static int load_capture(const char *path, struct capture *cap)
{
	size_t size, off = 0, cap_recs = 0;

	if (read_file(path, cap, &size) < 0) {
		perror("attacker: --capture");
		return -1;
	}
	while (off + 2 <= size) {
		size_t len = (size_t)cap->bytes[off] << 8 | cap->bytes[off + 1];

		if (off + 2 + len > size)
			break;
		if (add_record(cap, off + 2, len, &cap_recs) < 0)
			return -1;
		off += 2 + len;
	}
	cap->data_recs = calloc(cap->nrecs ? cap->nrecs : 1, sizeof(*cap->data_recs));
	if (!cap->data_recs)
		return -1;
	for (size_t r = 0; r < cap->nrecs; r++)
		if (classify(cap->bytes + cap->recs[r].off, cap->recs[r].len) == CLASS_DATA)
			cap->data_recs[cap->ndata++] = r;
	return 0;
}

/* One socket bound to @src (or unbound when NULL), connected to the target. */
static int open_source(struct attacker *a, const union tapir_sockaddr *src)
{
	int fd = socket(a->opt.target.sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	if (src) {
		/* FREEBIND: the range need not be assigned to an interface */
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		if (bind(fd, &src->sa, addr_len(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, &a->opt.target.sa, addr_len(&a->opt.target)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int open_sources(struct attacker *a)
{
	size_t nbytes;
	unsigned int n = 1, host_bits;

	if (a->opt.has_range) {
		addr_bytes(&a->opt.range_base, &nbytes);
		host_bits = (unsigned int)nbytes * 8 - a->opt.range_prefix;
		n = host_bits >= 10 ? MAX_SOURCES : 1u << host_bits;
	}
	a->fds = calloc(n, sizeof(*a->fds));
	a->pfds = calloc(n, sizeof(*a->pfds));
	if (!a->fds || !a->pfds)
		return -1;
	for (unsigned int k = 0; k < n; k++) {
		union tapir_sockaddr src = a->opt.range_base;
		uint8_t *b = addr_bytes(&src, &nbytes);
		uint8_t buf[16];
		unsigned int carry = k;

		/* base + k, big-endian, on a fixed-size copy (nbytes is 4 or 16) */
		memcpy(buf, b, nbytes);
		for (size_t j = nbytes; j > 0 && carry; j--) {
			carry += buf[j - 1];
			buf[j - 1] = (uint8_t)carry;
			carry >>= 8;
		}
		memcpy(b, buf, nbytes);
		a->fds[k] = open_source(a, a->opt.has_range ? &src : NULL);
		if (a->fds[k] < 0) {
			perror("attacker: source socket");
			return -1;
		}
		a->pfds[k].fd = a->fds[k];
		a->pfds[k].events = POLLIN;
		a->nfds++;
	}
	return 0;
}

/* Counts every reply waiting on the sockets. */
static void drain_replies(struct attacker *a)
{
	for (unsigned int k = 0; k < a->nfds; k++) {
		for (;;) {
			ssize_t n = recv(a->fds[k], a->reply_buf, MAX_DATAGRAM_BYTES, MSG_DONTWAIT);
			unsigned int type = 0;

			if (n < 0) {
				if (errno == ECONNREFUSED)
					continue; /* ICMP for an earlier datagram */
				break;
			}
			if (classify(a->reply_buf, (size_t)n) != CLASS_MALFORMED)
				type = a->reply_buf[0];
			a->replies[type]++;
		}
	}
}

/* Waits up to @ns for replies (or until one arrives) and counts them. */
static void wait_replies(struct attacker *a, uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
			      .tv_nsec = (long)(ns % 1000000000u)};

	if (ppoll(a->pfds, a->nfds, &ts, NULL) > 0)
		drain_replies(a);
}

/* Counts @copies datagrams of @len bytes as sent. */
static void count_sent(struct attacker *a, const uint8_t *msg, size_t len, unsigned int copies)
{
	a->sent += copies;
	a->bytes += (uint64_t)len * copies;
	a->classes[classify(msg, len)] += copies;
	if (!len)
		a->empty += copies;
}

/*
 * One send: @msg itself, or @copies of it back to back with UDP_SEGMENT = @len, which the
 * kernel cuts into @copies datagrams (or hands whole to a UDP_GRO receiver on a veth).
 */
static ssize_t send_copies(struct attacker *a, int fd, const uint8_t *msg, size_t len,
			   unsigned int copies)
{
	union {
		struct cmsghdr align;
		uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
	} control;
	struct iovec iov = {.iov_base = a->gso_buf, .iov_len = len * copies};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	uint16_t segment = (uint16_t)len;

	if (copies == 1)
		return send(fd, msg, len, 0);
	for (unsigned int k = 0; k < copies; k++)
		memcpy(a->gso_buf + k * len, msg, len);
	memset(&control, 0, sizeof(control));
	mh.msg_control = control.buf;
	mh.msg_controllen = sizeof(control.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_UDP;
	c->cmsg_type = UDP_SEGMENT;
	c->cmsg_len = CMSG_LEN(sizeof(segment));
	memcpy(CMSG_DATA(c), &segment, sizeof(segment));
	return sendmsg(fd, &mh, 0);
}

static void send_batch(struct attacker *a, int fd, const uint8_t *msg, size_t len,
		       unsigned int copies)
{
	for (int tries = 0; tries < SEND_RETRIES; tries++) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};

		if (send_copies(a, fd, msg, len, copies) >= 0) {
			count_sent(a, msg, len, copies);
			return;
		}
		if (errno == EAGAIN || errno == ENOBUFS)
			poll(&p, 1, SEND_WAIT_MS);
		else if (copies > 1 && (errno == EINVAL || errno == EMSGSIZE || errno == EIO))
			break; /* segment larger than the path MTU, or no GSO: one by one */
		else if (errno != ECONNREFUSED) /* ECONNREFUSED: ICMP for an earlier one */
			break;
	}
	if (copies > 1 && (errno == EINVAL || errno == EMSGSIZE || errno == EIO)) {
		for (unsigned int k = 0; k < copies; k++)
			send_batch(a, fd, msg, len, 1);
		return;
	}
	a->send_errors += copies;
}

/* How many copies of a @len-byte datagram go into one send (1 without --gso). */
static unsigned int gso_copies(const struct attacker *a, size_t len, uint64_t left)
{
	size_t n = a->opt.gso;

	if (n <= 1 || len == 0)
		return 1;
	if (n > MAX_DATAGRAM_BYTES / len)
		n = MAX_DATAGRAM_BYTES / len;
	if (n > left)
		n = (size_t)left;
	return n ? (unsigned int)n : 1;
}

/* Rate limit in bursts: every --burst datagrams, sleep (counting replies) until @i is due. */
static void pace(struct attacker *a, uint64_t i)
{
	uint64_t due, now;

	if (i < a->next_pace)
		return;
	a->next_pace = i + a->opt.burst;
	if (!a->opt.rate) {
		drain_replies(a);
		return;
	}
	due = a->start_ns + (uint64_t)((double)i * 1e9 / a->opt.rate);
	while ((now = now_ns()) < due)
		wait_replies(a, due - now);
	drain_replies(a);
}

static void run(struct attacker *a)
{
	uint64_t deadline, end, sends = 0;

	a->start_ns = now_ns();
	deadline = a->start_ns + (uint64_t)a->opt.duration_s * 1000000000u;
	for (uint64_t i = 0; i < a->opt.count; sends++) {
		unsigned int copies;
		size_t len;

		pace(a, i);
		if (now_ns() >= deadline)
			break;
		len = a->kind->gen(a, i, a->buf);
		copies = gso_copies(a, len, a->opt.count - i);
		send_batch(a, a->fds[sends % a->nfds], a->buf, len, copies);
		i += copies;
	}
	end = now_ns() + (uint64_t)a->opt.linger_ms * 1000000u;
	for (uint64_t now = now_ns(); now < end; now = now_ns())
		wait_replies(a, end - now);
	drain_replies(a);
}

static void print_summary(const struct attacker *a)
{
	printf("attacker: kind=%s seed=%" PRIu64 " sent=%" PRIu64 " send_errors=%" PRIu64
	       " bytes=%" PRIu64 " empty=%" PRIu64
	       " sources=%u captured=%zu class_malformed=%" PRIu64 " class_handshake=%" PRIu64
	       " class_data=%" PRIu64 " replies_initiation=%" PRIu64 " replies_response=%" PRIu64
	       " replies_cookie=%" PRIu64 " replies_data=%" PRIu64 " replies_other=%" PRIu64
	       " elapsed_ms=%" PRIu64 "\n",
	       a->kind->name, a->opt.seed, a->sent, a->send_errors, a->bytes, a->empty, a->nfds,
	       a->cap.nrecs, a->classes[CLASS_MALFORMED], a->classes[CLASS_HANDSHAKE],
	       a->classes[CLASS_DATA], a->replies[TAPIR_MSG_INITIATION],
	       a->replies[TAPIR_MSG_RESPONSE], a->replies[TAPIR_MSG_COOKIE],
	       a->replies[TAPIR_MSG_DATA], a->replies[0], (now_ns() - a->start_ns) / 1000000u);
	fflush(stdout);
}

/* Checks the kind's needs and derives the mac1 key. */
static int prepare(struct attacker *a)
{
	static const uint8_t label_mac1[MAC1_LABEL_LEN] = {'m', 'a', 'c', '1', '-', '-', '-', '-'};

	a->kind = find_kind(a->opt.kind);
	if (!a->kind) {
		fprintf(stderr, "attacker: unknown kind %s\n", a->opt.kind);
		usage(stderr);
		return -1;
	}
	if (a->kind->needs_pubkey && !a->opt.has_pubkey) {
		fprintf(stderr, "attacker: --kind %s needs --target-pubkey\n", a->kind->name);
		return -1;
	}
	if (a->opt.capture && load_capture(a->opt.capture, &a->cap) < 0)
		return -1;
	if (a->kind->needs_capture && !a->cap.nrecs) {
		fprintf(stderr, "attacker: --kind %s needs a --capture with records\n",
			a->kind->name);
		return -1;
	}
	if (a->opt.has_pubkey)
		tapir_hash(a->mac1_key, label_mac1, sizeof(label_mac1), a->opt.pubkey,
			   sizeof(a->opt.pubkey));
	a->buf = malloc(MAX_DATAGRAM_BYTES);
	a->reply_buf = malloc(MAX_DATAGRAM_BYTES);
	a->gso_buf = malloc(MAX_DATAGRAM_BYTES);
	return a->buf && a->reply_buf && a->gso_buf ? 0 : -1;
}

static void destroy(struct attacker *a)
{
	for (unsigned int k = 0; k < a->nfds; k++)
		close(a->fds[k]);
	free(a->fds);
	free(a->pfds);
	free(a->cap.bytes);
	free(a->cap.recs);
	free(a->cap.data_recs);
	free(a->buf);
	free(a->reply_buf);
	free(a->gso_buf);
	free(a);
}

int main(int argc, char **argv)
{
	struct attacker *a = calloc(1, sizeof(*a));
	int ret = 1;

	if (!a)
		return 1;
	/* a closed reader of our stdout must not kill us before the summary */
	signal(SIGPIPE, SIG_IGN);
	if (tapir_crypto_init() < 0) {
		fprintf(stderr, "attacker: crypto init failed\n");
		goto out;
	}
	if (parse_options(argc, argv, &a->opt) < 0) {
		ret = 2;
		goto out;
	}
	a->rng = a->opt.seed;
	if (prepare(a) < 0 || open_sources(a) < 0)
		goto out;
	run(a);
	print_summary(a);
	ret = a->sent || !a->opt.count ? 0 : 1;
out:
	destroy(a);
	return ret;
}
