// SPDX-License-Identifier: MIT
/*
 * confine-probe: tries what code running inside tapird must not be able to do, under exactly
 * tapird's confinement: the same calls main.c makes (tapir_privsep_lookup_user,
 * tapir_sock_guard_init with the helper, tapir_privsep_confine), not a copy of the rules.
 * Each case runs in its own child, forked before the confinement (a trapped call aborts the
 * process), and prints one line: "CASE trapped" (seccomp), "CASE refused ERRNO" (the kernel
 * said no), or "CASE ALLOWED" (the harmful call worked). Run as root, in a throw-away netns.
 *
 * Usage: confine-probe IFNAME DIR   (DIR writable by user tapir, holding a file "victim")
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privsep.h"

static const char *ifname, *dir;
static int ifindex;	/* looked up before the drop: if_nametoindex(3) needs an AF_UNIX socket */
static int pre_nl = -1; /* a NETLINK_ROUTE socket opened before the drop, as daemon.c does */

static int set_down_ioctl(void)
{
	struct ifreq ifr;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = 0; /* not IFF_UP: down */
	return syscall(SYS_ioctl, s, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

/* What tapird itself still does: an AF_INET socket and SIOCGIFMTU (the control case). */
static int get_mtu_ioctl(void)
{
	struct ifreq ifr;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	return syscall(SYS_ioctl, s, SIOCGIFMTU, &ifr) < 0 ? -errno : 0;
}

/* RTM_NEWLINK "down" on the netlink socket opened before the drop; returns the ack's error. */
static int set_down_rtnetlink(void)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req;
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_NEWLINK;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = ifindex;
	req.ifi.ifi_change = IFF_UP;
	if (syscall(SYS_sendto, pre_nl, &req, sizeof(req), 0, &kernel, sizeof(kernel)) < 0)
		return -errno;
	/* skip link notifications until the ack (bounded) */
	for (int i = 0; i < 64; i++) {
		if (syscall(SYS_recvfrom, pre_nl, &ack, sizeof(ack), 0, NULL, NULL) < 0)
			return -errno;
		if (ack.nh.nlmsg_type == NLMSG_ERROR)
			return ack.err.error;
	}
	return -ETIMEDOUT;
}

static int socket_of(int family, int type, int proto)
{
	int s = (int)syscall(SYS_socket, family, type, proto);
	return s < 0 ? -errno : 0;
}

static int nl_route(void)
{
	return socket_of(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
}

static int nl_netfilter(void)
{
	return socket_of(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
}

static int nl_xfrm(void)
{
	return socket_of(AF_NETLINK, SOCK_RAW, NETLINK_XFRM);
}

static int unix_socket(void)
{
	return socket_of(AF_UNIX, SOCK_STREAM, 0);
}

static int packet_socket(void)
{
	return socket_of(AF_PACKET, SOCK_RAW, htons(0x0003 /* ETH_P_ALL */));
}

static int icmp_socket(void)
{
	return socket_of(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
}

static int open_write(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/created-by-probe", dir);
	return syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600) < 0
		   ? -errno
		   : 0;
}

static int open_read(void)
{
	return syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC) < 0 ? -errno : 0;
}

static int unlink_file(void)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/victim", dir);
	return syscall(SYS_unlinkat, AT_FDCWD, path, 0) < 0 ? -errno : 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} cases[] = {
    {"control-siocgifmtu", get_mtu_ioctl},
    {"siocsifflags-down", set_down_ioctl},
    {"rtnetlink-down-preopened", set_down_rtnetlink},
    {"socket-netlink-route", nl_route},
    {"socket-netlink-netfilter", nl_netfilter},
    {"socket-netlink-xfrm", nl_xfrm},
    {"socket-unix", unix_socket},
    {"socket-packet", packet_socket},
    {"socket-icmp", icmp_socket},
    {"openat-write", open_write},
    {"openat-read", open_read},
    {"unlinkat", unlink_file},
};

/* tapird's confinement, the calls main.c makes in the order it makes them. */
static void confine(uid_t uid, gid_t gid)
{
	struct tapir_sock_guard g;
	const char *step = "";
	int ret;

	if (tapir_sock_guard_init(&g, "/nonexistent/confine-probe.sock", true, true) < 0)
		_exit(90);
	ret = tapir_privsep_confine(uid, gid, true, true, &step);
	if (ret < 0) {
		fprintf(stderr, "confine-probe: %s: %s\n", step, strerror(-ret));
		_exit(91);
	}
}

static void run_case(size_t i, uid_t uid, gid_t gid)
{
	int status = 0, ret;
	pid_t pid = fork();

	if (pid < 0)
		exit(1);
	if (pid == 0) {
		confine(uid, gid);
		ret = cases[i].fn();
		/* straight to the kernel: no sanitizer exit hook */
		syscall(SYS_exit_group, ret == 0 ? 0 : ret < 0 && -ret < 90 ? -ret : 89);
	}
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		printf("%s trapped\n", cases[i].name);
	else if (WEXITSTATUS(status) == 0)
		printf("%s ALLOWED\n", cases[i].name);
	else if (WEXITSTATUS(status) >= 90)
		printf("%s setup-failed %d\n", cases[i].name, WEXITSTATUS(status));
	else
		printf("%s refused %s\n", cases[i].name, strerrorname_np(WEXITSTATUS(status)));
	fflush(stdout);
}

/* The capability sets of a confined child, read from outside while it waits. */
static void show_caps(uid_t uid, gid_t gid)
{
	int go[2];
	char path[64], line[256], c;
	FILE *f;
	pid_t pid;

	if (pipe(go) < 0)
		exit(1);
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		confine(uid, gid);
		if (syscall(SYS_read, go[0], &c, 1) < 0) {
			/* the parent is done either way */
		}
		syscall(SYS_exit_group, 0);
	}
	close(go[0]);
	usleep(300000); /* confine() runs before the read blocks: a generous margin */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Cap", 3) || !strncmp(line, "Seccomp:", 8) ||
		    !strncmp(line, "NoNewPrivs:", 11))
			printf("status %s", line);
	}
	if (f)
		fclose(f);
	close(go[1]);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	char name[64];
	uid_t uid;
	gid_t gid;

	if (argc != 3) {
		fprintf(stderr, "usage: confine-probe IFNAME DIR\n");
		return 2;
	}
	ifname = argv[1];
	dir = argv[2];
	if (tapir_privsep_lookup_user(NULL, &uid, &gid, name, sizeof(name)) < 0) {
		fprintf(stderr, "confine-probe: no user tapir\n");
		return 1;
	}
	ifindex = (int)if_nametoindex(ifname);
#if defined(__SANITIZE_ADDRESS__)
	printf("build sanitizer\n"); /* seccomp.c lets such builds open files read-only */
#else
	printf("build release\n");
#endif
	pre_nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(i, uid, gid);
	show_caps(uid, gid);
	return 0;
}
