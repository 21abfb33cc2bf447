// SPDX-License-Identifier: MIT
/*
 * tapir tuntap watch: parses the command line, opens the capture (a passive packet socket by
 * default, the device itself as one more queue with --attach), and prints, dumps in hex and
 * records to a pcap file the packets that pass the filter; with --answer-ping writes the echo
 * replies back to the TUN. The pieces are in tuntap_watch.c and pcap.c.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "pcap.h"
#include "tuntap.h"
#include "tuntap_cmd.h"
#include "tuntap_watch.h"

/* ------------------------------------------------------------------ watch */

static const char watch_usage[] =
    "Usage: tapir tuntap watch [dev] NAME [--count N] [-x] [-w FILE] [--attach]\n"
    "                          [--answer-ping] [proto PROTO] [host ADDR] [port N]\n"
    "PROTO := { icmp | tcp | udp }\n"
    "Prints one line per packet or frame on the TUN/TAP device NAME, in both directions,\n"
    "each with its time (HH:MM:SS.micro), until N were printed or SIGINT/SIGTERM. By default\n"
    "it watches passively through a packet socket and takes nothing from the device's owner.\n"
    "  -x             also print each packet in hex\n"
    "  -w FILE        also write the packets to FILE in pcap format (tcpdump -r FILE)\n"
    "  proto, host, port  print only packets that match all the terms given\n"
    "  --attach       attach to the device as a queue instead: only for a device nobody else\n"
    "                 uses (unless it is multi_queue); the packets read reach no one else\n"
    "  --answer-ping  with --attach on a TUN: answer ICMP echo requests read from it\n";

struct watch_args {
	const char *name;
	const char *pcap_path;
	unsigned long count; /* 0: until a signal */
	bool is_hex, is_attach, is_answer_ping;
	struct tapir_watch_filter filter;
};

static enum parse_result parse_watch_word(int argc, char **argv, int *i, struct watch_args *w)
{
	const char *s = argv[*i];
	const char *count = NULL;

	if (!strncmp(s, "--count=", 8)) {
		count = s + 8;
	} else if (!strcmp(s, "--count") || !strcmp(s, "count")) {
		if (*i + 1 == argc) {
			tapir_tuntap_fail("--count needs a number");
			return PARSE_BAD;
		}
		count = argv[++*i];
	} else if (!strcmp(s, "-x")) {
		w->is_hex = true;
	} else if (!strcmp(s, "--attach")) {
		w->is_attach = true;
	} else if (!strcmp(s, "--answer-ping")) {
		w->is_answer_ping = true;
	} else if (!strcmp(s, "-w")) {
		if (*i + 1 == argc) {
			tapir_tuntap_fail("-w needs a file name");
			return PARSE_BAD;
		}
		w->pcap_path = argv[++*i];
	} else if (!strcmp(s, "proto") || !strcmp(s, "host") || !strcmp(s, "port")) {
		if (*i + 1 == argc || tapir_watch_filter_set(&w->filter, s, argv[*i + 1])) {
			tapir_tuntap_fail(
			    "invalid filter \"%s %s\" (expected proto icmp|tcp|udp, host ADDR, "
			    "port N)",
			    s, *i + 1 < argc ? argv[*i + 1] : "");
			return PARSE_BAD;
		}
		++*i;
	} else if (!strcmp(s, "dev") && *i + 1 < argc && !w->name) {
		w->name = argv[++*i];
	} else if (s[0] == '-' || w->name) {
		tapir_tuntap_fail("unexpected \"%s\"", s);
		return PARSE_BAD;
	} else {
		w->name = s;
	}
	if (count && (tapir_tuntap_parse_ulong(count, &w->count) || w->count == 0)) {
		tapir_tuntap_fail("invalid count \"%s\" (expected a number of packets, at least 1)",
				  count);
		return PARSE_BAD;
	}
	return PARSE_OK;
}

static enum parse_result parse_watch(int argc, char **argv, struct watch_args *w)
{
	memset(w, 0, sizeof(*w));
	tapir_watch_filter_init(&w->filter);
	for (int i = 1; i < argc; i++) {
		enum parse_result pr;

		if (tapir_tuntap_is_help(argv[i]))
			return PARSE_HELP;
		pr = parse_watch_word(argc, argv, &i, w);
		if (pr != PARSE_OK)
			return pr;
	}
	if (!w->name) {
		tapir_tuntap_fail("watch: missing device name");
		return PARSE_BAD;
	}
	if (!tapir_tuntap_is_valid_ifname(w->name)) {
		tapir_tuntap_fail("invalid device name \"%s\"", w->name);
		return PARSE_BAD;
	}
	if (w->is_answer_ping && !w->is_attach) {
		tapir_tuntap_fail(
		    "--answer-ping needs --attach (it answers from a device the command owns)");
		return PARSE_BAD;
	}
	return PARSE_OK;
}

/* Bytes the kernel puts before each packet: struct tun_pi, then the virtio-net header. */
static int header_bytes(int fd, long flags, size_t *out)
{
	int vnet = 0;

	*out = flags & IFF_NO_PI ? 0 : TUN_PI_BYTES;
	if (flags & IFF_VNET_HDR) {
		if (ioctl(fd, TUNGETVNETHDRSZ, &vnet) < 0)
			return -errno;
		*out += (size_t)vnet;
	}
	return 0;
}

struct watch_run {
	const struct watch_args *w;
	const struct tuntap_info *info;
	FILE *pcap;
	int fd;
	size_t hdr; /* bytes before the packet: attached mode only */
	unsigned long answered;
};

/* Prints (and records) one packet; returns false if it did not pass the filter. */
static bool show_packet(struct watch_run *run, uint8_t *buf, size_t len)
{
	bool is_tap = run->info->flags & IFF_TAP;
	char line[TAPIR_TUNTAP_LINE_MAX_BYTES];
	char stamp[32];
	struct timespec ts;
	const uint8_t *pkt = buf + run->hdr;
	size_t plen = len - run->hdr;
	int err;

	if (len < run->hdr) {
		printf("%zu bytes: shorter than the %zu-byte header\n", len, run->hdr);
		fflush(stdout);
		return true;
	}
	if (!tapir_watch_filter_match(&run->w->filter, pkt, plen, is_tap))
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	tapir_watch_stamp(stamp, sizeof(stamp), &ts);
	tapir_tuntap_decode(pkt, plen, is_tap, line, sizeof(line));
	printf("%s %s\n", stamp, line);
	if (run->w->is_hex)
		tapir_watch_hexdump(stdout, pkt, plen);
	fflush(stdout);
	if (run->pcap) {
		err = tapir_pcap_write_record(run->pcap, &ts, pkt, plen);
		if (err)
			tapir_tuntap_fail("%s: %s", run->w->pcap_path, strerror(-err));
	}
	return true;
}

/* With --answer-ping: writes the echo reply for an echo request read from the TUN. */
static void answer_ping(struct watch_run *run, uint8_t *buf, size_t len)
{
	if (len < run->hdr || !tapir_watch_echo_reply(buf + run->hdr, len - run->hdr))
		return;
	if (write(run->fd, buf, len) != (ssize_t)len)
		tapir_tuntap_fail("%s: write of the echo reply: %s", run->info->name,
				  strerror(errno));
	else
		run->answered++;
}

/* Reads and prints packets until the count (0: no limit) or a signal on @sig_fd. */
static int watch_loop(struct watch_run *run, int sig_fd)
{
	unsigned long seen = 0, count = run->w->count;
	uint8_t *buf;
	int r = EXIT_OK;

	buf = malloc(WATCH_BUF_BYTES);
	if (!buf) {
		tapir_tuntap_fail("out of memory");
		return EXIT_ERROR;
	}
	while (count == 0 || seen < count) {
		struct pollfd pfd[2] = {{.fd = run->fd, .events = POLLIN},
					{.fd = sig_fd, .events = POLLIN}};
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			tapir_tuntap_fail("poll: %s", strerror(errno));
			r = EXIT_ERROR;
			break;
		}
		if (pfd[1].revents)
			break; /* SIGINT or SIGTERM: stop cleanly (drained by the caller) */
		n = read(run->fd, buf, WATCH_BUF_BYTES);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0 && (errno == EBADFD || errno == ENETDOWN || errno == ENXIO)) {
			tapir_tuntap_fail("%s: the device was deleted", run->info->name);
			r = EXIT_ERROR;
			break;
		}
		if (n < 0) {
			tapir_tuntap_fail("%s: read: %s", run->info->name, strerror(errno));
			r = EXIT_ERROR;
			break;
		}
		if (show_packet(run, buf, (size_t)n))
			seen++;
		if (run->w->is_answer_ping)
			answer_ping(run, buf, (size_t)n);
	}
	free(buf);
	fprintf(stderr, "%lu packets\n", seen);
	if (run->w->is_answer_ping)
		fprintf(stderr, "%lu echo requests answered\n", run->answered);
	return r;
}

/*
 * Consumes the pending SIGINT/SIGTERM, so that unblocking them afterwards does not kill the
 * process that asked to stop cleanly (timeout(1) signals both the child and its group).
 */
static void drain_signals(int sig_fd)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
}

/* Opens the capture: the device itself with --attach, else a passive packet socket. */
static int watch_open(const struct watch_args *w, const struct tuntap_info *info,
		      struct watch_run *run)
{
	int r;

	if (!w->is_attach) {
		run->fd = tapir_watch_passive_open(info->name);
		if (run->fd < 0) {
			tapir_tuntap_fail("%s: packet socket: %s%s", info->name, strerror(-run->fd),
					  run->fd == -EPERM ? " (needs CAP_NET_RAW)" : "");
			return EXIT_ERROR;
		}
		return EXIT_OK;
	}
	if (w->is_answer_ping && (info->flags & IFF_TAP)) {
		tapir_tuntap_fail("--answer-ping needs a TUN device (%s is a TAP)", info->name);
		return EXIT_USAGE;
	}
	run->fd = tapir_tuntap_attach(info);
	if (run->fd < 0) {
		tapir_tuntap_fail_attach(info, run->fd);
		return EXIT_ERROR;
	}
	r = header_bytes(run->fd, info->flags, &run->hdr);
	if (r < 0) {
		tapir_tuntap_fail("%s: TUNGETVNETHDRSZ: %s", info->name, strerror(-r));
		close(run->fd);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

static int watch_pcap_open(const struct watch_args *w, const struct tuntap_info *info,
			   struct watch_run *run)
{
	int err;

	if (!w->pcap_path)
		return EXIT_OK;
	run->pcap = fopen(w->pcap_path, "wbe");
	if (!run->pcap) {
		tapir_tuntap_fail("%s: %s", w->pcap_path, strerror(errno));
		return EXIT_ERROR;
	}
	err =
	    tapir_pcap_write_header(run->pcap, info->flags & IFF_TAP ? TAPIR_PCAP_LINKTYPE_ETHERNET
								     : TAPIR_PCAP_LINKTYPE_RAW);
	if (!err && fflush(run->pcap))
		err = -errno;
	if (err) {
		tapir_tuntap_fail("%s: %s", w->pcap_path, strerror(-err));
		fclose(run->pcap);
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int tapir_tuntap_cmd_watch(int argc, char **argv)
{
	struct watch_args w;
	struct tuntap_info info;
	struct watch_run run = {.w = &w, .info = &info};
	enum parse_result pr = parse_watch(argc, argv, &w);
	sigset_t mask, old;
	int sig_fd, err, r;

	if (pr == PARSE_HELP) {
		fputs(watch_usage, stdout);
		return EXIT_OK;
	}
	if (pr != PARSE_OK) {
		return tapir_tuntap_usage_hint("watch");
	}
	err = tapir_tuntap_info_get(w.name, &info);
	if (err) {
		tapir_tuntap_fail_info(w.name, err);
		return EXIT_ERROR;
	}
	r = watch_open(&w, &info, &run);
	if (r != EXIT_OK)
		return r;
	r = watch_pcap_open(&w, &info, &run);
	if (r != EXIT_OK) {
		close(run.fd);
		return r;
	}
	/* signals arrive through a descriptor, so poll() sees them without a race or a global */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, &old);
	sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		tapir_tuntap_fail("signalfd: %s", strerror(errno));
		r = EXIT_ERROR;
	} else {
		fprintf(stderr, "watching %s (%s, %s), stop with Ctrl-C\n", info.name,
			tapir_tuntap_mode_name(info.flags),
			w.is_attach ? "attached: packets read are taken" : "passive");
		r = watch_loop(&run, sig_fd);
		drain_signals(sig_fd);
		close(sig_fd);
	}
	if (run.pcap && fclose(run.pcap)) {
		tapir_tuntap_fail("%s: %s", w.pcap_path, strerror(errno));
		r = EXIT_ERROR;
	}
	close(run.fd);
	/*
	 * A stop signal may still be on its way (timeout(1) sends one to the child and one to its
	 * group, and the second can come after the drain): ignore them before unblocking, since
	 * the watch is over and this process only exits now.
	 */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}
