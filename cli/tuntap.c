// SPDX-License-Identifier: MIT
/*
 * tapir tuntap: add, del, show/list and watch persistent TUN/TAP devices.
 *
 * add and del take the grammar of `ip tuntap` and talk to the kernel only through /dev/net/tun
 * (TUNSETIFF, TUNSETOWNER, TUNSETGROUP, TUNSETPERSIST). show prints the lines `ip tuntap show`
 * prints, from /sys/class/net/NAME/{tun_flags,owner,group}. watch (tuntap_watch_cmd.c) prints one
 * line per packet through tapir_tuntap_decode(), which is pure and reads only the bytes it is
 * given. Nothing here talks to tapird or runs ip(8).
 *
 * TUNSETIFF on an existing device replaces its feature flags with the ones passed, so del and
 * watch always attach with the flags the device already has (read from tun_flags).
 */
#include "tuntap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cli.h"
#include "tuntap_cmd.h"

/* ------------------------------------------------------------------ decoder */

enum {
	ETH_HDR_BYTES = 14,
	VLAN_TAG_BYTES = 4,
	VLAN_TAGS_MAX = 2, /* 802.1ad outer tag + 802.1Q inner tag */
	IPV4_HDR_MIN_BYTES = 20,
	IPV6_HDR_BYTES = 40,
	IPV6_EXT_HDRS_MAX = 8,
	ARP_IPV4_BYTES = 28,
	TCP_HDR_MIN_BYTES = 20,
	UDP_HDR_BYTES = 8,
};

enum {
	ETHERTYPE_IPV4 = 0x0800,
	ETHERTYPE_ARP = 0x0806,
	ETHERTYPE_VLAN = 0x8100,
	ETHERTYPE_QINQ = 0x88a8,
	ETHERTYPE_IPV6 = 0x86dd,
	ETHERTYPE_MIN = 0x0600, /* below: an 802.3 length field */
};

enum {
	PROTO_HOPOPTS = 0,
	PROTO_ICMP = 1,
	PROTO_TCP = 6,
	PROTO_UDP = 17,
	PROTO_ROUTING = 43,
	PROTO_FRAGMENT = 44,
	PROTO_ICMPV6 = 58,
	PROTO_DSTOPTS = 60,
};

/* Output under construction; @len never exceeds @cap - 1, so the text stays terminated. */
struct text {
	char *buf;
	size_t len;
	size_t cap;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	size_t room = t->cap - t->len;
	va_list ap;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len += (size_t)n < room ? (size_t)n : room - 1;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_addr(struct text *t, int family, const uint8_t *p)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(family, p, s, sizeof(s)))
		put(t, "%s", s);
}

static void put_mac(struct text *t, const uint8_t *p)
{
	put(t, "%02x:%02x:%02x:%02x:%02x:%02x", p[0], p[1], p[2], p[3], p[4], p[5]);
}

struct icmp_name {
	uint8_t type;
	const char *name;
};

static const struct icmp_name icmp4_names[] = {
    {0, "echo reply"},		 {3, "destination unreachable"},
    {4, "source quench"},	 {5, "redirect"},
    {8, "echo request"},	 {9, "router advertisement"},
    {10, "router solicitation"}, {11, "time exceeded"},
    {12, "parameter problem"},	 {13, "timestamp request"},
    {14, "timestamp reply"},
};

static const struct icmp_name icmp6_names[] = {
    {1, "destination unreachable"},
    {2, "packet too big"},
    {3, "time exceeded"},
    {4, "parameter problem"},
    {128, "echo request"},
    {129, "echo reply"},
    {130, "multicast listener query"},
    {131, "multicast listener report"},
    {132, "multicast listener done"},
    {133, "router solicitation"},
    {134, "router advertisement"},
    {135, "neighbor solicitation"},
    {136, "neighbor advertisement"},
    {137, "redirect"},
    {143, "multicast listener report v2"},
};

static const char *icmp_type_name(uint8_t type, bool is_v6)
{
	const struct icmp_name *names = is_v6 ? icmp6_names : icmp4_names;
	size_t n = is_v6 ? sizeof(icmp6_names) / sizeof(icmp6_names[0])
			 : sizeof(icmp4_names) / sizeof(icmp4_names[0]);

	for (size_t i = 0; i < n; i++)
		if (names[i].type == type)
			return names[i].name;
	return NULL;
}

static bool is_echo(uint8_t type, bool is_v6)
{
	return is_v6 ? type == 128 || type == 129 : type == 0 || type == 8;
}

/* Each decode_* appends to @t and returns false if @len ended before what it had to read. */
static bool decode_icmp(struct text *t, const uint8_t *b, size_t len, bool is_v6)
{
	const char *name;

	put(t, is_v6 ? " ICMPv6" : " ICMP");
	if (len < 4)
		return false;
	name = icmp_type_name(b[0], is_v6);
	if (name)
		put(t, " %s", name);
	put(t, " (type %u code %u)", b[0], b[1]);
	if (is_echo(b[0], is_v6)) {
		if (len < 8)
			return false;
		put(t, " id %u seq %u", get16(b + 4), get16(b + 6));
	} else if (is_v6 && (b[0] == 135 || b[0] == 136)) {
		if (len < 24)
			return false;
		put(t, " target ");
		put_addr(t, AF_INET6, b + 8);
	}
	return true;
}

static void put_tcp_flags(struct text *t, uint8_t flags)
{
	static const char *const names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
	const char *sep = "[";

	for (unsigned int i = 0; i < 8; i++) {
		if (flags & (1u << i)) {
			put(t, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
	put(t, "%s", flags ? "]" : "[none]");
}

static bool decode_tcp(struct text *t, const uint8_t *b, size_t len)
{
	size_t doff;

	put(t, " TCP");
	if (len < 4)
		return false;
	put(t, " %u > %u", get16(b), get16(b + 2));
	if (len < 14)
		return false;
	put(t, " ");
	put_tcp_flags(t, b[13]);
	doff = (size_t)(b[12] >> 4) * 4;
	if (doff < TCP_HDR_MIN_BYTES) {
		put(t, " bad data offset %zu", doff);
		return true;
	}
	if (len < doff)
		return false;
	put(t, " length %zu", len - doff);
	return true;
}

static bool decode_udp(struct text *t, const uint8_t *b, size_t len)
{
	uint16_t ulen;

	put(t, " UDP");
	if (len < 4)
		return false;
	put(t, " %u > %u", get16(b), get16(b + 2));
	if (len < UDP_HDR_BYTES)
		return false;
	ulen = get16(b + 4);
	if (ulen < UDP_HDR_BYTES) {
		put(t, " bad length %u", ulen);
		return true;
	}
	put(t, " length %u", ulen - UDP_HDR_BYTES);
	return ulen <= len;
}

static bool decode_l4(struct text *t, uint8_t proto, const uint8_t *b, size_t len, bool is_v6)
{
	if (proto == PROTO_TCP)
		return decode_tcp(t, b, len);
	if (proto == PROTO_UDP)
		return decode_udp(t, b, len);
	if (proto == (is_v6 ? PROTO_ICMPV6 : PROTO_ICMP))
		return decode_icmp(t, b, len, is_v6);
	put(t, " protocol %u", proto);
	return true;
}

static bool decode_ipv4(struct text *t, const uint8_t *b, size_t len)
{
	size_t hlen, total;
	uint16_t frag;
	bool is_whole = true;

	put(t, " IPv4");
	if (len > 0 && b[0] >> 4 != 4) {
		put(t, " bad version %u", b[0] >> 4);
		return true;
	}
	if (len < IPV4_HDR_MIN_BYTES)
		return false;
	put(t, " ");
	put_addr(t, AF_INET, b + 12);
	put(t, " > ");
	put_addr(t, AF_INET, b + 16);
	hlen = (size_t)(b[0] & 0x0f) * 4;
	total = get16(b + 2);
	if (hlen < IPV4_HDR_MIN_BYTES || total < hlen) {
		put(t, " bad lengths (header %zu, total %zu bytes)", hlen, total);
		return true;
	}
	if (len < hlen)
		return false;
	if (total > len)
		is_whole = false;
	else
		len = total; /* drop Ethernet padding */
	frag = get16(b + 6);
	if (frag & 0x1fff) {
		/* a later fragment: no transport header to decode */
		put(t, " protocol %u fragment offset %u", b[9], (frag & 0x1fffu) * 8);
		return is_whole;
	}
	if (frag & 0x2000)
		put(t, " first fragment");
	return decode_l4(t, b[9], b + hlen, len - hlen, false) && is_whole;
}

static bool is_ipv6_ext(uint8_t next)
{
	return next == PROTO_HOPOPTS || next == PROTO_ROUTING || next == PROTO_FRAGMENT ||
	       next == PROTO_DSTOPTS;
}

static bool decode_ipv6(struct text *t, const uint8_t *b, size_t len)
{
	size_t off = IPV6_HDR_BYTES, payload;
	bool is_whole = true;
	uint8_t next;

	put(t, " IPv6");
	if (len > 0 && b[0] >> 4 != 6) {
		put(t, " bad version %u", b[0] >> 4);
		return true;
	}
	if (len < IPV6_HDR_BYTES)
		return false;
	put(t, " ");
	put_addr(t, AF_INET6, b + 8);
	put(t, " > ");
	put_addr(t, AF_INET6, b + 24);
	payload = get16(b + 4);
	if (IPV6_HDR_BYTES + payload > len)
		is_whole = false;
	else
		len = IPV6_HDR_BYTES + payload;
	next = b[6];
	for (unsigned int i = 0; i < IPV6_EXT_HDRS_MAX && is_ipv6_ext(next); i++) {
		size_t ext;

		if (len < off + 8)
			return false;
		ext = ((size_t)b[off + 1] + 1) * 8;
		if (next == PROTO_FRAGMENT) {
			ext = 8; /* its second byte is reserved, not a length */
			if (get16(b + off + 2) >> 3) {
				put(t, " protocol %u fragment offset %u", b[off],
				    (get16(b + off + 2) >> 3) * 8u);
				return is_whole;
			}
		}
		if (len < off + ext)
			return false;
		next = b[off];
		off += ext;
	}
	return decode_l4(t, next, b + off, len - off, true) && is_whole;
}

static bool decode_arp(struct text *t, const uint8_t *b, size_t len)
{
	uint16_t op;

	put(t, " ARP");
	if (len < 8)
		return false;
	op = get16(b + 6);
	if (get16(b) != 1 || get16(b + 2) != ETHERTYPE_IPV4 || b[4] != 6 || b[5] != 4) {
		put(t, " op %u hardware type %u protocol 0x%04x", op, get16(b), get16(b + 2));
		return true;
	}
	if (len < ARP_IPV4_BYTES) {
		put(t, " op %u", op);
		return false;
	}
	if (op == 1) {
		put(t, " request who-has ");
		put_addr(t, AF_INET, b + 24);
		put(t, " tell ");
		put_addr(t, AF_INET, b + 14);
	} else if (op == 2) {
		put(t, " reply ");
		put_addr(t, AF_INET, b + 14);
		put(t, " is-at ");
		put_mac(t, b + 8);
	} else {
		put(t, " op %u ", op);
		put_addr(t, AF_INET, b + 14);
		put(t, " > ");
		put_addr(t, AF_INET, b + 24);
	}
	return true;
}

static bool decode_ip(struct text *t, const uint8_t *b, size_t len)
{
	if (len == 0) {
		put(t, " empty");
		return true;
	}
	if (b[0] >> 4 == 4)
		return decode_ipv4(t, b, len);
	if (b[0] >> 4 == 6)
		return decode_ipv6(t, b, len);
	put(t, " unknown IP version %u", b[0] >> 4);
	return true;
}

static bool decode_eth(struct text *t, const uint8_t *b, size_t len)
{
	size_t off = 12; /* EtherType or tag protocol id */
	uint16_t type;

	if (len < ETH_HDR_BYTES)
		return false;
	put(t, " ");
	put_mac(t, b + 6);
	put(t, " > ");
	put_mac(t, b);
	type = get16(b + off);
	for (unsigned int i = 0; i < VLAN_TAGS_MAX; i++) {
		if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ)
			break;
		if (len < off + VLAN_TAG_BYTES + 2)
			return false;
		put(t, " vlan %u", get16(b + off + 2) & 0x0fffu);
		off += VLAN_TAG_BYTES;
		type = get16(b + off);
	}
	off += 2;
	if (type == ETHERTYPE_IPV4)
		return decode_ipv4(t, b + off, len - off);
	if (type == ETHERTYPE_IPV6)
		return decode_ipv6(t, b + off, len - off);
	if (type == ETHERTYPE_ARP)
		return decode_arp(t, b + off, len - off);
	if (type < ETHERTYPE_MIN)
		put(t, " 802.3 length %u", type);
	else
		put(t, " ethertype 0x%04x", type);
	return true;
}

size_t tapir_tuntap_decode(const uint8_t *buf, size_t len, bool is_tap, char *out, size_t out_len)
{
	struct text t = {.buf = out, .cap = out_len};
	bool is_whole;

	if (out_len == 0)
		return 0;
	out[0] = '\0';
	put(&t, "%zu bytes:", len);
	is_whole = is_tap ? decode_eth(&t, buf, len) : decode_ip(&t, buf, len);
	if (!is_whole)
		put(&t, " (truncated)");
	return t.len;
}

/* ------------------------------------------------------------------ devices */

static const char tun_clone_path[] = "/dev/net/tun";

/* The words of `ip tuntap show`, in its order; @is_set_word: printed when the bit is set. */
static const struct {
	long bit;
	bool is_set_word;
	const char *word;
} show_words[] = {
    {IFF_TUN, true, "tun"},
    {IFF_TAP, true, "tap"},
    {IFF_NO_PI, false, "pi"},
    {IFF_ONE_QUEUE, true, "one_queue"},
    {IFF_MULTI_QUEUE, true, "multi_queue"},
    {IFF_VNET_HDR, true, "vnet_hdr"},
    {IFF_PERSIST, true, "persist"},
    {IFF_NOFILTER, false, "filter"}, /* the same bit as IFF_NO_PI */
};

/* Command-line words that set or clear a flag, for add (del accepts and ignores them). */
static const struct {
	const char *word;
	int set;
	int clear;
} flag_words[] = {
    {"pi", 0, IFF_NO_PI},
    {"one_queue", IFF_ONE_QUEUE, 0},
    {"vnet_hdr", IFF_VNET_HDR, 0},
    {"multi_queue", IFF_MULTI_QUEUE, 0},
};

void tapir_tuntap_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("tapir tuntap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tapir_tuntap_usage_hint(const char *verb)
{
	fprintf(stderr, "Try 'tapir tuntap %s --help'.\n", verb);
	return EXIT_USAGE;
}

bool tapir_tuntap_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

/* The kernel's rules for interface names (dev_valid_name). */
bool tapir_tuntap_is_valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))
			return false;
	return true;
}

int tapir_tuntap_parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* Reads one number (decimal, or hex with 0x) from /sys/class/net/@dev/@attr. */
static int read_attr(const char *dev, const char *attr, long *out)
{
	char path[64], text[32], *end;
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", dev, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		r = -errno;
	close(fd);
	if (r)
		return r;
	text[n] = '\0';
	errno = 0;
	*out = strtol(text, &end, 0);
	if (errno || end == text || (*end && *end != '\n'))
		return -EPROTO;
	return 0;
}

/*
 * Fills @info for @name. -ENODEV: no such device in this network namespace; -EOPNOTSUPP: not
 * a TUN/TAP device; -ESTALE: /sys shows another network namespace (sysfs was not remounted).
 */
int tapir_tuntap_info_get(const char *name, struct tuntap_info *info)
{
	unsigned int ifindex = if_nametoindex(name);
	int r;

	if (!ifindex)
		return -ENODEV;
	snprintf(info->name, sizeof(info->name), "%s", name);
	r = read_attr(name, "ifindex", &info->ifindex);
	if (r == -ENOENT && !if_nametoindex(name))
		return -ENODEV; /* deleted meanwhile */
	if (r || info->ifindex != (long)ifindex)
		return -ESTALE;
	r = read_attr(name, "tun_flags", &info->flags);
	if (r == -ENOENT)
		return -EOPNOTSUPP;
	if (!r)
		r = read_attr(name, "owner", &info->owner);
	if (!r)
		r = read_attr(name, "group", &info->group);
	return r;
}

/* Prints why tapir_tuntap_info_get() failed for @name. */
void tapir_tuntap_fail_info(const char *name, int err)
{
	if (err == -ENODEV)
		tapir_tuntap_fail("no such device: %s", name);
	else if (err == -EOPNOTSUPP)
		tapir_tuntap_fail("%s is not a TUN/TAP device", name);
	else if (err == -ESTALE)
		tapir_tuntap_fail(
		    "/sys/class/net does not match this network namespace (mount sysfs again, "
		    "as ip netns exec does)");
	else
		tapir_tuntap_fail("cannot read /sys/class/net/%s: %s", name, strerror(-err));
}

const char *tapir_tuntap_mode_name(long flags)
{
	return flags & IFF_TAP ? "tap" : "tun";
}

static void print_info(const struct tuntap_info *info)
{
	long rest = info->flags;

	printf("%s:", info->name);
	for (size_t i = 0; i < sizeof(show_words) / sizeof(show_words[0]); i++) {
		bool is_set = info->flags & show_words[i].bit;

		if (is_set == show_words[i].is_set_word)
			printf(" %s", show_words[i].word);
		rest &= ~show_words[i].bit;
	}
	if (rest)
		printf(" %#lx", rest);
	if (info->owner != -1)
		printf(" user %ld", info->owner);
	if (info->group != -1)
		printf(" group %ld", info->group);
	putchar('\n');
}

/*
 * Opens /dev/net/tun and attaches to the existing device @info->name with the flags it has.
 * Returns the new file descriptor (owned by the caller) or -errno.
 */
int tapir_tuntap_attach(const struct tuntap_info *info)
{
	struct ifreq ifr;
	int fd, r;

	fd = open(tun_clone_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, info->name, sizeof(ifr.ifr_name));
	ifr.ifr_flags = (short)(info->flags & ~(long)IFF_PERSIST);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

void tapir_tuntap_fail_attach(const struct tuntap_info *info, int err)
{
	if (err == -EBUSY)
		tapir_tuntap_fail("%s is in use by another process", info->name);
	else if (err == -EPERM)
		tapir_tuntap_fail("%s: permission denied (owner %ld, group %ld)", info->name,
				  info->owner, info->group);
	else
		tapir_tuntap_fail("cannot attach to %s: %s", info->name, strerror(-err));
}

/* ------------------------------------------------------------------ add, del */

/* The arguments of add and del, in ip tuntap's grammar. */
struct tuntap_args {
	char name[IFNAMSIZ];
	int mode;  /* IFF_TUN, IFF_TAP, or 0 if not given */
	int flags; /* IFF_NO_PI, IFF_ONE_QUEUE, IFF_VNET_HDR, IFF_MULTI_QUEUE */
	bool has_user;
	bool has_group;
	uid_t uid;
	gid_t gid;
};

static enum parse_result set_name(struct tuntap_args *a, const char *s)
{
	if (a->name[0]) {
		tapir_tuntap_fail("unexpected \"%s\": the device name is already \"%s\"", s,
				  a->name);
		return PARSE_BAD;
	}
	if (!tapir_tuntap_is_valid_ifname(s)) {
		tapir_tuntap_fail("invalid device name \"%s\"", s);
		return PARSE_BAD;
	}
	snprintf(a->name, sizeof(a->name), "%s", s);
	return PARSE_OK;
}

static enum parse_result set_mode(struct tuntap_args *a, const char *s)
{
	int mode = !strcmp(s, "tun") ? IFF_TUN : !strcmp(s, "tap") ? IFF_TAP : 0;

	if (!mode) {
		tapir_tuntap_fail("unknown mode \"%s\" (expected tun or tap)", s);
		return PARSE_BAD;
	}
	if (a->mode && a->mode != mode) {
		tapir_tuntap_fail("mode given twice");
		return PARSE_BAD;
	}
	a->mode = mode;
	return PARSE_OK;
}

static enum parse_result set_user(struct tuntap_args *a, const char *s)
{
	unsigned long v;
	struct passwd *pw;

	if (!tapir_tuntap_parse_ulong(s, &v) && v < (uid_t)-1) {
		a->uid = (uid_t)v;
	} else if ((pw = getpwnam(s))) {
		a->uid = pw->pw_uid;
	} else {
		tapir_tuntap_fail("unknown user \"%s\"", s);
		return PARSE_BAD;
	}
	a->has_user = true;
	return PARSE_OK;
}

static enum parse_result set_group(struct tuntap_args *a, const char *s)
{
	unsigned long v;
	struct group *gr;

	if (!tapir_tuntap_parse_ulong(s, &v) && v < (gid_t)-1) {
		a->gid = (gid_t)v;
	} else if ((gr = getgrnam(s))) {
		a->gid = gr->gr_gid;
	} else {
		tapir_tuntap_fail("unknown group \"%s\"", s);
		return PARSE_BAD;
	}
	a->has_group = true;
	return PARSE_OK;
}

static bool set_flag_word(struct tuntap_args *a, const char *s)
{
	for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++) {
		if (!strcmp(s, flag_words[i].word)) {
			a->flags = (a->flags | flag_words[i].set) & ~flag_words[i].clear;
			return true;
		}
	}
	return false;
}

/* Parses argv[1..] (argv[0] is the verb); prints its own messages. */
static enum parse_result parse_args(int argc, char **argv, struct tuntap_args *a)
{
	enum parse_result r = PARSE_OK;

	memset(a, 0, sizeof(*a));
	a->flags = IFF_NO_PI;
	for (int i = 1; i < argc && r == PARSE_OK; i++) {
		const char *w = argv[i];
		bool has_value = !strcmp(w, "mode") || !strcmp(w, "user") || !strcmp(w, "group") ||
				 !strcmp(w, "dev") || !strcmp(w, "name");

		if (tapir_tuntap_is_help(w))
			return PARSE_HELP;
		if (has_value && i + 1 == argc) {
			tapir_tuntap_fail("%s needs a value", w);
			return PARSE_BAD;
		}
		if (!strcmp(w, "mode"))
			r = set_mode(a, argv[++i]);
		else if (!strcmp(w, "user"))
			r = set_user(a, argv[++i]);
		else if (!strcmp(w, "group"))
			r = set_group(a, argv[++i]);
		else if (has_value)
			r = set_name(a, argv[++i]);
		else if (set_flag_word(a, w))
			r = PARSE_OK;
		else if (w[0] == '-') {
			tapir_tuntap_fail("unknown option \"%s\"", w);
			r = PARSE_BAD;
		} else
			r = set_name(a, w);
	}
	return r;
}

static int create(const struct tuntap_args *a)
{
	struct ifreq ifr;
	int fd, r = EXIT_ERROR;

	fd = open(tun_clone_path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		tapir_tuntap_fail("cannot open %s: %s", tun_clone_path, strerror(errno));
		return EXIT_ERROR;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, a->name, sizeof(ifr.ifr_name));
	/* IFF_TUN_EXCL: fail instead of attaching if the name was taken meanwhile */
	ifr.ifr_flags = (short)(a->mode | a->flags | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		if (errno == EBUSY)
			tapir_tuntap_fail("device %s exists", a->name);
		else
			tapir_tuntap_fail("cannot create %s: %s", a->name, strerror(errno));
		goto out;
	}
	/* Until TUNSETPERSIST succeeds, closing @fd removes the device again. */
	if (a->has_user && ioctl(fd, TUNSETOWNER, (unsigned long)a->uid) < 0) {
		tapir_tuntap_fail("%s: cannot set owner %u: %s", a->name, (unsigned int)a->uid,
				  strerror(errno));
		goto out;
	}
	if (a->has_group && ioctl(fd, TUNSETGROUP, (unsigned long)a->gid) < 0) {
		tapir_tuntap_fail("%s: cannot set group %u: %s", a->name, (unsigned int)a->gid,
				  strerror(errno));
		goto out;
	}
	if (ioctl(fd, TUNSETPERSIST, 1UL) < 0) {
		tapir_tuntap_fail("%s: cannot make it persistent: %s", a->name, strerror(errno));
		goto out;
	}
	/* a name template such as tap%d: say which device the kernel made */
	if (strchr(a->name, '%'))
		printf("%.*s\n", IFNAMSIZ, ifr.ifr_name);
	r = EXIT_OK;
out:
	close(fd);
	return r;
}

static const char add_usage[] =
    "Usage: tapir tuntap add [dev|name] NAME mode { tun | tap } [user USER] [group GROUP]\n"
    "                        [one_queue] [pi] [vnet_hdr] [multi_queue]\n"
    "Creates a persistent TUN/TAP device, like ip tuntap add. Without pi, packets carry no\n"
    "packet-information header. USER and GROUP are names or numbers.\n";

static int cmd_add(int argc, char **argv)
{
	struct tuntap_args a;
	enum parse_result r = parse_args(argc, argv, &a);

	if (r == PARSE_HELP) {
		fputs(add_usage, stdout);
		return EXIT_OK;
	}
	if (r == PARSE_OK && !a.name[0]) {
		tapir_tuntap_fail("add: missing device name");
		r = PARSE_BAD;
	} else if (r == PARSE_OK && !a.mode) {
		tapir_tuntap_fail("add: missing mode tun or mode tap");
		r = PARSE_BAD;
	}
	if (r != PARSE_OK) {
		return tapir_tuntap_usage_hint("add");
	}
	if (if_nametoindex(a.name)) {
		tapir_tuntap_fail("device %s exists", a.name);
		return EXIT_ERROR;
	}
	return create(&a);
}

static const char del_usage[] =
    "Usage: tapir tuntap del [dev|name] NAME [mode { tun | tap }]\n"
    "Deletes a persistent TUN/TAP device, like ip tuntap del. The mode is detected when not\n"
    "given; other ip tuntap options are accepted and ignored.\n";

static int cmd_del(int argc, char **argv)
{
	struct tuntap_args a;
	struct tuntap_info info;
	enum parse_result r = parse_args(argc, argv, &a);
	int fd, err;

	if (r == PARSE_HELP) {
		fputs(del_usage, stdout);
		return EXIT_OK;
	}
	if (r == PARSE_OK && !a.name[0]) {
		tapir_tuntap_fail("del: missing device name");
		r = PARSE_BAD;
	}
	if (r != PARSE_OK) {
		return tapir_tuntap_usage_hint("del");
	}
	err = tapir_tuntap_info_get(a.name, &info);
	if (err) {
		tapir_tuntap_fail_info(a.name, err);
		return EXIT_ERROR;
	}
	if (a.mode && a.mode != (info.flags & TUN_MODE_MASK)) {
		tapir_tuntap_fail("%s is a %s device, not %s", a.name,
				  tapir_tuntap_mode_name(info.flags),
				  tapir_tuntap_mode_name(a.mode));
		return EXIT_ERROR;
	}
	fd = tapir_tuntap_attach(&info);
	if (fd < 0) {
		tapir_tuntap_fail_attach(&info, fd);
		return EXIT_ERROR;
	}
	/* the device goes away when @fd, its last user, is closed */
	err = ioctl(fd, TUNSETPERSIST, 0UL) < 0 ? errno : 0;
	close(fd);
	if (err) {
		tapir_tuntap_fail("%s: cannot clear persist: %s", a.name, strerror(err));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* ------------------------------------------------------------------ show */

static int by_ifindex(const void *a, const void *b)
{
	const struct tuntap_info *x = a, *y = b;

	return (x->ifindex > y->ifindex) - (x->ifindex < y->ifindex);
}

/*
 * Collects the TUN/TAP devices of this network namespace in ifindex order, as ip lists them,
 * into *@out (a new array owned by the caller). Prints its own message on failure.
 */
static int list_all(struct tuntap_info **out, size_t *n_out)
{
	struct if_nameindex *ifs = if_nameindex();
	struct tuntap_info *list;
	size_t n = 0, count = 0;
	int r = 0;

	if (!ifs) {
		r = -errno;
		tapir_tuntap_fail("cannot list network devices: %s", strerror(-r));
		return r;
	}
	while (ifs[count].if_index)
		count++;
	list = calloc(count ? count : 1, sizeof(*list));
	if (!list) {
		if_freenameindex(ifs);
		tapir_tuntap_fail("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < count && !r; i++) {
		int err = tapir_tuntap_info_get(ifs[i].if_name, &list[n]);

		if (!err) {
			n++;
		} else if (err != -ENODEV && err != -EOPNOTSUPP) {
			/* (-ENODEV: deleted meanwhile; -EOPNOTSUPP: not TUN/TAP) */
			tapir_tuntap_fail_info(ifs[i].if_name, err);
			r = err;
		}
	}
	if_freenameindex(ifs);
	if (r) {
		free(list);
		return r;
	}
	if (n > 1)
		qsort(list, n, sizeof(*list), by_ifindex);
	*out = list;
	*n_out = n;
	return 0;
}

static const char show_usage[] =
    "Usage: tapir tuntap { show | list } [-d | --details] [[dev] NAME]\n"
    "Lists TUN/TAP devices (or one) as ip tuntap show does: NAME: MODE FLAGS [user UID]\n"
    "[group GID]. With -d, as ip -d tuntap show does, also the processes holding the\n"
    "device's queues: \"Attached to processes: COMM(PID) ...\" (another user's processes\n"
    "are seen by root only).\n";

static void print_show(const struct tuntap_info *info, bool is_details)
{
	print_info(info);
	if (is_details)
		tapir_tuntap_print_processes(info->name);
}

/* Takes -d/--details out of @argv (show's only option); returns whether it was there. */
static bool take_details(int *argc, char **argv)
{
	bool is_details = false;
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "-d") || !strcmp(argv[i], "--details"))
			is_details = true;
		else
			argv[n++] = argv[i];
	}
	*argc = n;
	return is_details;
}

static int cmd_show(int argc, char **argv)
{
	struct tuntap_args a;
	struct tuntap_info *list = NULL;
	bool is_details = take_details(&argc, argv);
	enum parse_result r = parse_args(argc, argv, &a);
	size_t n = 0;
	int err;

	if (r == PARSE_HELP) {
		fputs(show_usage, stdout);
		return EXIT_OK;
	}
	if (r != PARSE_OK) {
		return tapir_tuntap_usage_hint("show");
	}
	if (a.name[0]) {
		struct tuntap_info info;

		err = tapir_tuntap_info_get(a.name, &info);
		if (err) {
			tapir_tuntap_fail_info(a.name, err);
			return EXIT_ERROR;
		}
		print_show(&info, is_details);
		return EXIT_OK;
	}
	if (list_all(&list, &n))
		return EXIT_ERROR;
	for (size_t i = 0; i < n; i++)
		print_show(&list[i], is_details);
	free(list);
	return EXIT_OK;
}

/* ------------------------------------------------------------------ dispatch */

static const char tuntap_usage[] =
    "Usage: tapir tuntap { add | del | show | list | watch | help } ...\n"
    "       tapir tuntap add [dev|name] NAME mode { tun | tap } [user USER] [group GROUP]\n"
    "                        [one_queue] [pi] [vnet_hdr] [multi_queue]\n"
    "       tapir tuntap del [dev|name] NAME [mode { tun | tap }]\n"
    "       tapir tuntap { show | list } [-d] [[dev] NAME]\n"
    "       tapir tuntap watch [dev] NAME [--count N] [-x] [-w FILE] [--attach]\n"
    "                          [--answer-ping] [proto PROTO] [host ADDR] [port N]\n"
    "USER := { NAME | NUMBER }  GROUP := { NAME | NUMBER }  PROTO := { icmp | tcp | udp }\n"
    "Each subcommand takes --help.\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} verbs[] = {
    {"add", cmd_add},
    {"del", cmd_del},
    {"delete", cmd_del},
    {"show", cmd_show},
    {"list", cmd_show},
    {"lst", cmd_show},
    {"watch", tapir_tuntap_cmd_watch},
};

int tapir_cmd_tuntap(int argc, char **argv)
{
	if (argc < 2)
		return cmd_show(1, argv); /* like ip tuntap: show by default */
	if (tapir_tuntap_is_help(argv[1])) {
		fputs(tuntap_usage, stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].fn(argc - 1, argv + 1);
	tapir_tuntap_fail("unknown subcommand \"%s\"", argv[1]);
	fputs(tuntap_usage, stderr);
	return EXIT_USAGE;
}
