// SPDX-License-Identifier: MIT
/*
 * tapir demo: its namespaces and links. Namespaces are made the way ip-netns(8) makes them (a
 * bind mount of the namespace on /var/run/netns/NAME); sockets are opened inside a namespace
 * by entering it for the socket() call only. The clean-up removes whatever of a demo exists,
 * also what a demo left with --keep. Never runs ip(8).
 */
#include "demo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "netlink.h"

void tapir_demo_ns_path(char out[PATH_BYTES], int i)
{
	snprintf(out, PATH_BYTES, "%s/%s", NETNS_DIR, NS_NAME[i]);
}

bool tapir_demo_sock_exists(const char *ifname)
{
	char path[PATH_BYTES];

	snprintf(path, sizeof(path), "/var/run/wireguard/%s.sock", ifname);
	return !access(path, F_OK);
}

static bool wait_sock_gone(const char *ifname)
{
	for (int waited = 0; tapir_demo_sock_exists(ifname) && waited < SOCKET_WAIT_MS;
	     waited += STEP_MS)
		tapir_cli_sleep_ms(STEP_MS);
	return !tapir_demo_sock_exists(ifname);
}

/* ---------------------------------------------------------------- namespaces */

/* Like ip-netns: /var/run/netns is a shared mount, so the bind mounts show everywhere. */
int tapir_demo_make_netns_dir(void)
{
	if (mkdir("/var/run", 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (!mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return 0;
	if (errno != EINVAL || mount(NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL) ||
	    mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL))
		return -errno;
	return 0;
}

/* A child unshares a new network namespace and pins it with a bind mount on its file. */
int tapir_demo_netns_add(int i)
{
	char path[PATH_BYTES];
	int fd, status = 0;
	pid_t pid;

	tapir_demo_ns_path(path, i);
	tapir_cli_say("ip netns add %s", NS_NAME[i]);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (unshare(CLONE_NEWNET) < 0 ||
		    mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
			_exit(errno);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		unlink(path);
		return WIFEXITED(status) && WEXITSTATUS(status) ? -WEXITSTATUS(status) : -ECHILD;
	}
	return 0;
}

bool tapir_demo_netns_exists(int i)
{
	char path[PATH_BYTES];

	tapir_demo_ns_path(path, i);
	return !access(path, F_OK);
}

static void netns_del(int i)
{
	char path[PATH_BYTES];

	tapir_demo_ns_path(path, i);
	tapir_cli_say("ip netns delete %s", NS_NAME[i]);
	umount2(path, MNT_DETACH);
	if (unlink(path) < 0)
		fprintf(stderr, "tapir demo: %s: %s\n", path, strerror(errno));
}

int tapir_demo_netns_open(int i)
{
	char path[PATH_BYTES];
	int fd;

	tapir_demo_ns_path(path, i);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* socket() inside namespace @nsfd: a socket belongs to the namespace it was created in. */
int tapir_demo_socket_in(int nsfd, int domain, int type, int proto)
{
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), fd = -1, r;

	if (own < 0)
		return -errno;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		r = -errno;
		close(own);
		return r;
	}
	fd = socket(domain, type | SOCK_CLOEXEC, proto);
	r = fd < 0 ? -errno : fd;
	if (setns(own, CLONE_NEWNET) < 0) {
		/* Staying in the demo namespace would be worse than stopping. */
		perror("tapir demo: setns back");
		abort();
	}
	close(own);
	return r;
}

/* Runs tapir_cmd_up/down in a child that entered namespace @nsfd; returns its exit status. */
/* ---------------------------------------------------------------- underlay and tunnels */

int tapir_demo_addr_up(struct tapir_nl *nl, const char *ifname, const char *addr, int cidr, int mtu)
{
	uint8_t a[4];
	int ifindex = tapir_nl_link_lookup(nl, ifname, NULL), r;

	if (ifindex < 0)
		return ifindex;
	inet_pton(AF_INET, addr, a);
	tapir_cli_say("ip address add %s/%d dev %s; ip link set %s up", addr, cidr, ifname, ifname);
	r = tapir_nl_addr(nl, true, ifindex, AF_INET, a, (uint8_t)cidr);
	return r ? r : tapir_nl_link_set(nl, ifindex, mtu, true);
}

int tapir_demo_setup_underlay(struct demo *d)
{
	struct tapir_nl *nl = NULL;
	int r;

	r = tapir_nl_open(&nl, NULL);
	if (r)
		return r;
	tapir_cli_say("ip link add %s netns %s type veth peer name %s netns %s", VETH[0],
		      NS_NAME[0], VETH[1], NS_NAME[1]);
	r = tapir_nl_veth_add(nl, VETH[0], d->nsfd[0], VETH[1], d->nsfd[1]);
	tapir_nl_close(nl);
	for (int i = 0; !r && i < 2; i++) {
		char path[PATH_BYTES];
		int lo;

		tapir_demo_ns_path(path, i);
		r = tapir_nl_open(&nl, path);
		if (r)
			break;
		lo = tapir_nl_link_lookup(nl, "lo", NULL);
		r = lo < 0 ? lo : tapir_nl_link_set(nl, lo, 0, true);
		if (!r)
			r = tapir_demo_addr_up(nl, VETH[i], UNDERLAY[i], 24, 0);
		tapir_nl_close(nl);
	}
	return r;
}

/* ---------------------------------------------------------------- cleanup */

static void del_link_in(int i, const char *ifname)
{
	char path[PATH_BYTES];
	struct tapir_nl *nl;
	int ifindex;

	tapir_demo_ns_path(path, i);
	if (tapir_nl_open(&nl, path))
		return;
	ifindex = tapir_nl_link_lookup(nl, ifname, NULL);
	if (ifindex > 0) {
		tapir_cli_say("ip -n %s link delete %s", NS_NAME[i], ifname);
		tapir_nl_link_del(nl, ifindex);
	}
	tapir_nl_close(nl);
}

static void state_path_of(char out[PATH_BYTES], const char *ifname)
{
	snprintf(out, PATH_BYTES, "/var/run/tapir/%s.state", ifname);
}

/* Removes whatever of a demo exists: daemons, links, namespaces, temporary files. */
int tapir_demo_cleanup(struct demo *d)
{
	char path[PATH_BYTES];
	int failed = 0;

	for (int i = 0; i < 2; i++) {
		int nsfd = d->nsfd[i] >= 0 ? d->nsfd[i] : tapir_demo_netns_open(i);

		if (nsfd < 0)
			continue;
		del_link_in(i, WG_IF[i]);
		if (!wait_sock_gone(WG_IF[i]))
			failed++;
		state_path_of(path, TAPIR_IF[i]);
		if (!access(path, F_OK)) {
			tapir_cli_say("ip netns exec %s tapir down %s", NS_NAME[i], TAPIR_IF[i]);
			if (tapir_demo_cli_in(nsfd, tapir_cmd_down, "down", TAPIR_IF[i]))
				failed++;
		}
		del_link_in(i, TAPIR_IF[i]);
		if (!wait_sock_gone(TAPIR_IF[i]))
			failed++;
		if (i == 0)
			del_link_in(i, VETH[0]);
		if (nsfd != d->nsfd[i])
			close(nsfd);
	}
	for (int i = 0; i < 2; i++) {
		if (d->nsfd[i] >= 0)
			close(d->nsfd[i]);
		d->nsfd[i] = -1;
		if (tapir_demo_netns_exists(i))
			netns_del(i);
	}
	if (!d->tmpdir[0]) {
		FILE *f = fopen(TMPDIR_RECORD, "re");

		if (f && !fgets(d->tmpdir, sizeof(d->tmpdir), f))
			d->tmpdir[0] = '\0';
		if (f)
			fclose(f);
		d->tmpdir[strcspn(d->tmpdir, "\n")] = '\0';
		if (strncmp(d->tmpdir, "/tmp/tapir-demo.", 16) != 0)
			d->tmpdir[0] = '\0';
	}
	if (d->tmpdir[0]) {
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s.conf", d->tmpdir, TAPIR_IF[i]);
			unlink(path);
		}
		tapir_cli_say("rm -r %s", d->tmpdir);
		if (rmdir(d->tmpdir) < 0 && errno != ENOENT)
			failed++;
	}
	unlink(TMPDIR_RECORD);
	return failed ? -EBUSY : 0;
}
