// SPDX-License-Identifier: MIT
/*
 * tapir tuntap watch, the parts outside the device code of tuntap.c: the passive AF_PACKET
 * socket (a copy of each packet in both directions, PACKET_OUTGOING included, nothing taken
 * from the device's owner), the proto/host/port filter, tcpdump-style timestamps and hex dump,
 * and the ICMP echo answerer used with --answer-ping on a TUN the command owns.
 *
 * On a TUN (ARPHRD_NONE) a SOCK_RAW packet socket delivers the bare IP packet; on a TAP it
 * delivers the Ethernet frame: the same bytes tapir_tuntap_decode() takes.
 */
#include "tuntap_watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void tapir_watch_filter_init(struct tapir_watch_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->proto = -1;
	f->port = -1;
}

int tapir_watch_filter_set(struct tapir_watch_filter *f, const char *key, const char *val)
{
	if (!strcmp(key, "proto")) {
		if (!strcmp(val, "icmp") || !strcmp(val, "icmp6"))
			f->proto = IPPROTO_ICMP;
		else if (!strcmp(val, "tcp"))
			f->proto = IPPROTO_TCP;
		else if (!strcmp(val, "udp"))
			f->proto = IPPROTO_UDP;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(key, "host")) {
		if (inet_pton(AF_INET, val, f->host) == 1)
			f->family = AF_INET;
		else if (inet_pton(AF_INET6, val, f->host) == 1)
			f->family = AF_INET6;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(key, "port")) {
		char *end;
		long p;

		errno = 0;
		p = strtol(val, &end, 10);
		if (errno || end == val || *end || p < 0 || p > 65535)
			return -EINVAL;
		f->port = (int)p;
		return 0;
	}
	return -EINVAL;
}

bool tapir_watch_filter_is_set(const struct tapir_watch_filter *f)
{
	return f->proto >= 0 || f->family || f->port >= 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What the filter looks at, taken from one IP packet. */
struct fields {
	int family;
	const uint8_t *src, *dst;
	int proto;
	int sport, dport; /* -1: none */
};

static bool parse_ip(const uint8_t *b, size_t len, struct fields *x)
{
	size_t off;

	x->sport = x->dport = -1;
	if (len < 1)
		return false;
	if (b[0] >> 4 == 4) {
		if (len < 20 || (b[0] & 0xf) < 5 || len < (size_t)(b[0] & 0xf) * 4)
			return false;
		x->family = AF_INET;
		x->src = b + 12;
		x->dst = b + 16;
		x->proto = b[9];
		off = (size_t)(b[0] & 0xf) * 4;
		if (get16(b + 6) & 0x1fff)
			return true; /* a later fragment: no ports */
	} else if (b[0] >> 4 == 6) {
		if (len < 40)
			return false;
		x->family = AF_INET6;
		x->src = b + 8;
		x->dst = b + 24;
		x->proto = b[6];
		off = 40;
	} else {
		return false;
	}
	if ((x->proto == IPPROTO_TCP || x->proto == IPPROTO_UDP) && len >= off + 4) {
		x->sport = get16(b + off);
		x->dport = get16(b + off + 2);
	}
	return true;
}

bool tapir_watch_filter_match(const struct tapir_watch_filter *f, const uint8_t *buf, size_t len,
			      bool is_tap)
{
	struct fields x;
	size_t alen;

	if (!tapir_watch_filter_is_set(f))
		return true;
	if (is_tap) {
		size_t off = 12;

		while (len >= off + 2 && (get16(buf + off) == 0x8100 || get16(buf + off) == 0x88a8))
			off += 4;
		if (len < off + 2 || (get16(buf + off) != 0x0800 && get16(buf + off) != 0x86dd))
			return false;
		buf += off + 2;
		len -= off + 2;
	}
	if (!parse_ip(buf, len, &x))
		return false;
	if (f->proto == IPPROTO_ICMP) {
		if (x.proto != IPPROTO_ICMP && x.proto != IPPROTO_ICMPV6)
			return false;
	} else if (f->proto >= 0 && x.proto != f->proto) {
		return false;
	}
	if (f->port >= 0 && x.sport != f->port && x.dport != f->port)
		return false;
	if (f->family) {
		if (f->family != x.family)
			return false;
		alen = f->family == AF_INET ? 4 : 16;
		if (memcmp(x.src, f->host, alen) && memcmp(x.dst, f->host, alen))
			return false;
	}
	return true;
}

void tapir_watch_hexdump(FILE *out, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i += 16) {
		fprintf(out, "\t0x%04zx: ", i);
		for (size_t j = i; j < len && j < i + 16; j++)
			fprintf(out, "%s%02x", (j - i) % 2 ? "" : " ", buf[j]);
		fputc('\n', out);
	}
}

void tapir_watch_stamp(char *out, size_t out_len, const struct timespec *ts)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	if (!localtime_r(&t, &tm)) {
		snprintf(out, out_len, "%lld.%06ld", (long long)t, ts->tv_nsec / 1000);
		return;
	}
	snprintf(out, out_len, "%02d:%02d:%02d.%06ld", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts->tv_nsec / 1000);
}

int tapir_watch_passive_open(const char *name)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int fd, err;

	sll.sll_ifindex = (int)if_nametoindex(name);
	if (sll.sll_ifindex == 0)
		return -errno;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* RFC 1624 incremental checksum update of the 16-bit word @old to @new. */
static void csum_replace(uint8_t *sum, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~get16(sum) + (uint16_t)~old + new;

	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	sum[0] = (uint8_t)(s >> 8);
	sum[1] = (uint8_t)s;
}

bool tapir_watch_echo_reply(uint8_t *pkt, size_t len)
{
	uint8_t tmp[16];
	size_t off, alen;
	uint8_t *src, *icmp;
	uint8_t req, rep;

	if (len >= 20 && pkt[0] >> 4 == 4) {
		off = (size_t)(pkt[0] & 0xf) * 4;
		if (off < 20 || len < off + 8 || pkt[9] != IPPROTO_ICMP ||
		    (get16(pkt + 6) & 0x3fff))
			return false;
		src = pkt + 12;
		alen = 4;
		req = 8;
		rep = 0;
	} else if (len >= 40 && pkt[0] >> 4 == 6) {
		off = 40;
		if (len < off + 8 || pkt[6] != IPPROTO_ICMPV6)
			return false;
		src = pkt + 8;
		alen = 16;
		req = 128;
		rep = 129;
	} else {
		return false;
	}
	icmp = pkt + off;
	if (icmp[0] != req || icmp[1] != 0)
		return false;
	/* swapping source and destination changes neither the IPv4 header sum nor the
	 * ICMPv6 pseudo-header sum; only the type word changes */
	memcpy(tmp, src, alen);
	memcpy(src, src + alen, alen);
	memcpy(src + alen, tmp, alen);
	icmp[0] = rep;
	csum_replace(icmp + 2, (uint16_t)(req << 8), (uint16_t)(rep << 8));
	return true;
}
