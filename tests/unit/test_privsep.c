// SPDX-License-Identifier: MIT
/*
 * The privileged helper (removes only the file it recorded, on request and when its parent
 * dies; opens sockets and marks them only for requests whose every field checks out; answers
 * a message of the wrong size with -EBADMSG; looks up the MTU only of a TUN queue) and the
 * seccomp filter (allowed calls pass,
 * others report their number and abort; clone only for threads; socket and ioctl checked by
 * argument). Runs without root: each filter goes into a forked child.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "privsep.h"
#include "seccomp.h"

static void make_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd); /* the file stays */
}

static void tmp_path(char *out, size_t len)
{
	snprintf(out, len, "/tmp/tapir-privsep-%d.sock", (int)getpid());
}

static void test_guard_helper_unlinks(void **state)
{
	struct tapir_sock_guard g;
	char path[108];

	(void)state;
	tmp_path(path, sizeof(path));
	make_socket(path);
	assert_int_equal(tapir_sock_guard_init(&g, path, true, true), 0);
	assert_true(g.helper_fd >= 0);
	tapir_sock_guard_release(&g);
	assert_true(access(path, F_OK) < 0);
	waitpid(g.helper_pid, NULL, 0);
}

/* A file that replaced ours (another daemon's socket) is left alone. */
static void test_guard_keeps_successor(void **state)
{
	struct tapir_sock_guard g;
	char path[108];

	(void)state;
	tmp_path(path, sizeof(path));
	make_socket(path);
	assert_int_equal(tapir_sock_guard_init(&g, path, true, true), 0);
	make_socket(path); /* a new inode under the same name */
	tapir_sock_guard_release(&g);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	waitpid(g.helper_pid, NULL, 0);
}

/* The helper also cleans up when its parent dies without asking. */
static void test_guard_parent_dies(void **state)
{
	char path[108];
	pid_t pid;
	int status;

	(void)state;
	tmp_path(path, sizeof(path));
	make_socket(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct tapir_sock_guard g;

		if (tapir_sock_guard_init(&g, path, true, true) < 0)
			_exit(2);
		_exit(0); /* the channel closes: the helper unlinks */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	for (int i = 0; i < 200 && access(path, F_OK) == 0; i++)
		usleep(10000);
	assert_true(access(path, F_OK) < 0);
}

static void test_guard_without_helper(void **state)
{
	struct tapir_sock_guard g;
	char path[108];

	(void)state;
	tmp_path(path, sizeof(path));
	make_socket(path);
	assert_int_equal(tapir_sock_guard_init(&g, path, false, false), 0);
	assert_int_equal(g.helper_fd, -1);
	tapir_sock_guard_release(&g);
	assert_true(access(path, F_OK) < 0);
}

/* Through the helper: a bound UDP socket on a port the kernel picks, handed back. */
static void test_helper_opens_udp(void **state)
{
	struct tapir_sock_guard g;
	const struct tapir_sock_ops *ops;
	struct sockaddr_in6 addr;
	socklen_t len = sizeof(addr);
	int fd, type = 0;
	socklen_t tlen = sizeof(type);

	(void)state;
	assert_int_equal(tapir_sock_guard_init(&g, "/nonexistent/x.sock", true, true), 0);
	ops = tapir_sock_guard_ops(&g);
	assert_ptr_not_equal(ops, &tapir_sock_ops_direct);
	fd = ops->open(ops->ctx, AF_INET6, SOCK_DGRAM, 0, 0);
	if (fd == -EAFNOSUPPORT)
		fd = ops->open(ops->ctx, AF_INET, SOCK_DGRAM, 0, 0);
	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen), 0);
	assert_int_equal(type, SOCK_DGRAM);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	assert_int_not_equal(addr.sin6_port, 0); /* same offset in sockaddr_in */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
	/* a TCP listener too */
	fd = ops->open(ops->ctx, AF_INET, SOCK_STREAM, 0, 0);
	assert_true(fd >= 0);
	close(fd);
	tapir_sock_guard_release(&g);
	waitpid(g.helper_pid, NULL, 0);
}

/* Through the helper: a TCP listener on 127.0.0.1 at a port the test picked (the metrics
 * endpoint's request; port 0 is refused, see test_helper_refuses). */
static void test_helper_listens_at(void **state)
{
	struct tapir_sock_guard g;
	const struct tapir_sock_ops *ops;
	union tapir_sockaddr want = {0}, got = {0};
	socklen_t len = sizeof(got.in);
	int fd, probe, is_listening = 0;
	socklen_t ilen = sizeof(is_listening);

	(void)state;
	/* a free port: the kernel's pick for a socket closed again */
	probe = socket(AF_INET, SOCK_STREAM, 0);
	want.in.sin_family = AF_INET;
	want.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(probe, &want.sa, sizeof(want.in)), 0);
	assert_int_equal(getsockname(probe, &want.sa, &len), 0);
	close(probe);
	assert_int_equal(tapir_sock_guard_init(&g, "/nonexistent/x.sock", true, true), 0);
	ops = tapir_sock_guard_ops(&g);
	fd = ops->listen_at(ops->ctx, &want);
	assert_true(fd >= 0);
	len = sizeof(got.in);
	assert_int_equal(getsockname(fd, &got.sa, &len), 0);
	assert_memory_equal(&got.in, &want.in, sizeof(want.in));
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &is_listening, &ilen), 0);
	assert_true(is_listening);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	/* the same address again while it is taken: the kernel's answer comes back */
	assert_int_equal(ops->listen_at(ops->ctx, &want), -EADDRINUSE);
	close(fd);
	tapir_sock_guard_release(&g);
	waitpid(g.helper_pid, NULL, 0);
}

/* Raw request on the channel: op, family, type, port, fwmark, scope_id and the 16 address bytes
 * as host-order 32-bit words. */
static int raw_request(int ch, const uint32_t *words, size_t nbytes, int send_fd, int *got_fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = (void *)(uintptr_t)words, .iov_len = nbytes};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	int32_t result = 1;
	struct cmsghdr *c;

	memset(cbuf, 0, sizeof(cbuf));
	if (send_fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
	}
	assert_int_equal(sendmsg(ch, &msg, 0), (ssize_t)nbytes);
	iov.iov_base = &result;
	iov.iov_len = sizeof(result);
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	assert_int_equal(recvmsg(ch, &msg, 0), (ssize_t)sizeof(result));
	*got_fd = -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_type == SCM_RIGHTS)
		memcpy(got_fd, CMSG_DATA(c), sizeof(int));
	return result;
}

/* 127.0.0.1 as the first address word, in host order as the helper reads it */
#define LO4 (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0x0100007fu : 0x7f000001u)

/* Numbered requests the helper must refuse, and what it answers. */
static void test_helper_refuses(void **state)
{
	static const struct {
		uint32_t words[11];
		size_t nbytes;
		int want;
	} rows[] = {
	    /* 0 */ {{2, AF_UNIX, SOCK_DGRAM, 0, 0}, 40, -EAFNOSUPPORT},
	    /* 1 */ {{2, AF_NETLINK, SOCK_DGRAM, 0, 0}, 40, -EAFNOSUPPORT},
	    /* 2 */ {{2, AF_INET, SOCK_RAW, 0, 0}, 40, -EPROTOTYPE},
	    /* 3 */ {{2, AF_INET, SOCK_SEQPACKET, 0, 0}, 40, -EPROTOTYPE},
	    /* 4 */ {{2, AF_INET, SOCK_DGRAM, 65536, 0}, 40, -EINVAL},
	    /* 5 */ {{2, AF_INET, SOCK_DGRAM, 0, 0}, 39, -EBADMSG},
	    /* 6 */ {{2, AF_INET, SOCK_DGRAM, 0, 0}, 44, -EBADMSG},
	    /* 7 */ {{99, AF_INET, SOCK_DGRAM, 0, 0}, 40, -EINVAL},
	    /* 8 */ {{3, 0, 0, 0, 1}, 40, -EINVAL}, /* a mark request without a socket */
	    /* 9 */ {{4, 0, 0, 0, 0}, 40, -EINVAL}, /* an MTU request without a TUN queue */
	    /* 10 */ {{2, AF_INET, SOCK_DGRAM, 0, 0, 0, LO4}, 40, -EINVAL}, /* address on an open */
	    /* 11 */ {{2, AF_INET6, SOCK_DGRAM, 0, 0, 1}, 40, -EINVAL},	    /* scope on an open */
	    /* 12-19: PRIV_LISTEN_AT: not inet, UDP, port 0, port > 65535, a mark, a scope on
	     * IPv4, bytes after an IPv4 address, a short message */
	    /* 12 */ {{5, AF_UNIX, SOCK_STREAM, 9586, 0, 0, LO4}, 40, -EAFNOSUPPORT},
	    /* 13 */ {{5, AF_INET, SOCK_DGRAM, 9586, 0, 0, LO4}, 40, -EPROTOTYPE},
	    /* 14 */ {{5, AF_INET, SOCK_STREAM, 0, 0, 0, LO4}, 40, -EINVAL},
	    /* 15 */ {{5, AF_INET, SOCK_STREAM, 65536, 0, 0, LO4}, 40, -EINVAL},
	    /* 16 */ {{5, AF_INET, SOCK_STREAM, 9586, 1, 0, LO4}, 40, -EINVAL},
	    /* 17 */ {{5, AF_INET, SOCK_STREAM, 9586, 0, 1, LO4}, 40, -EINVAL},
	    /* 18 */ {{5, AF_INET, SOCK_STREAM, 9586, 0, 0, LO4, 1}, 40, -EINVAL},
	    /* 19 */ {{5, AF_INET, SOCK_STREAM, 9586, 0, 0, LO4}, 36, -EBADMSG},
	};
	struct tapir_sock_guard g;
	int fd, pipefd[2], unix_fd;

	(void)state;
	assert_int_equal(tapir_sock_guard_init(&g, "/nonexistent/x.sock", true, true), 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int got = raw_request(g.helper_fd, rows[i].words, rows[i].nbytes, -1, &fd);

		if (got != rows[i].want)
			fail_msg("row %zu: got %d, want %d", i, got, rows[i].want);
		assert_int_equal(fd, -1);
	}
	/* marks go only on UDP/TCP sockets of an Internet family */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(tapir_sock_guard_ops(&g)->set_mark(&g, pipefd[0], 1), -ENOTSOCK);
	unix_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_int_equal(tapir_sock_guard_ops(&g)->set_mark(&g, unix_fd, 1), -EAFNOSUPPORT);
	close(pipefd[0]);
	close(pipefd[1]);
	close(unix_fd);
	/* and it still serves a good request afterwards */
	fd = tapir_sock_guard_ops(&g)->open(&g, AF_INET, SOCK_DGRAM, 0, 0);
	assert_true(fd >= 0);
	close(fd);
	tapir_sock_guard_release(&g);
	waitpid(g.helper_pid, NULL, 0);
}

/*
 * The MTU request takes a TUN queue and nothing else: no descriptor, another one, or other
 * fields set are refused, and the helper serves on. A queue of no device (/dev/net/tun opened,
 * never attached) passes the check and is looked up: -EBADFD, as for a deleted device.
 */
static void test_helper_link_mtu_refuses(void **state)
{
	static const uint32_t good[10] = {4, 0, 0, 0, 0}, stray[10] = {4, 0, 0, 0, 7};
	struct tapir_sock_guard g;
	int fd, got, sock_fd, null_fd, tun_fd, pipefd[2];

	(void)state;
	assert_int_equal(tapir_sock_guard_init(&g, "/nonexistent/x.sock", true, true), 0);
	sock_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	tun_fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(sock_fd >= 0 && null_fd >= 0 && tun_fd >= 0);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(tapir_privsep_link_mtu(&g, sock_fd), -ENOTTY);
	assert_int_equal(tapir_privsep_link_mtu(&g, null_fd), -ENOTTY);
	assert_int_equal(tapir_privsep_link_mtu(&g, pipefd[0]), -ENOTTY);
	got = raw_request(g.helper_fd, stray, sizeof(stray), tun_fd, &fd);
	assert_int_equal(got, -EINVAL);
	assert_int_equal(fd, -1);
	got = raw_request(g.helper_fd, good, sizeof(good), tun_fd, &fd);
	assert_int_equal(got, -EBADFD);
	assert_int_equal(fd, -1);
	assert_int_equal(tapir_privsep_link_mtu(&g, tun_fd), -EBADFD);
	/* and it still serves another request */
	fd = tapir_sock_guard_ops(&g)->open(&g, AF_INET, SOCK_DGRAM, 0, 0);
	assert_true(fd >= 0);
	close(fd);
	close(sock_fd);
	close(null_fd);
	close(tun_fd);
	close(pipefd[0]);
	close(pipefd[1]);
	tapir_sock_guard_release(&g);
	waitpid(g.helper_pid, NULL, 0);
}

/*
 * In a child in a network namespace of its own: a TUN device there, where the helper runs,
 * is at home (0: tapird reads it by name). Exit 0 when so, 77 without the privilege to make
 * the namespace or the device.
 */
static int link_mtu_at_home(void)
{
	struct tapir_sock_guard g;
	struct ifreq ifr;
	int fd, ret;

	if (unshare(CLONE_NEWNET) < 0)
		return 77;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "tapirtest0");
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0)
		return 77;
	if (tapir_sock_guard_init(&g, "/nonexistent/x.sock", true, true) < 0)
		return 2;
	ret = tapir_privsep_link_mtu(&g, fd);
	tapir_sock_guard_release(&g);
	waitpid(g.helper_pid, NULL, 0);
	return ret == 0 ? 0 : 3;
}

static void test_helper_link_mtu_home(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(link_mtu_at_home());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip(); /* not root: no namespace of our own */
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs @fn in a child under the daemon filter; returns its wait status and stderr. */
static int in_filtered_child(void (*fn)(void), char *err, size_t errlen)
{
	int fds[2], status = 0;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		if (tapir_seccomp_install(TAPIR_SECCOMP_DAEMON) < 0)
			_exit(3);
		fn();
		syscall(SYS_exit_group, 0);
	}
	close(fds[1]);
	/* to EOF: the handler writes in three pieces, and a closed pipe would SIGPIPE it */
	while (len < errlen - 1 && (n = read(fds[0], err + len, errlen - 1 - len)) > 0)
		len += (size_t)n;
	err[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void call_allowed(void)
{
	char buf[16];

	if (getpid() <= 0 || getuid() == (uid_t)-1 || getrandom(buf, sizeof(buf), 0) < 0)
		syscall(SYS_exit_group, 4);
}

static void call_setuid(void)
{
	syscall(SYS_setuid, getuid());
}

static void call_fork(void)
{
	/* a process, not a thread: only LSan's tracer may do that (sanitizer builds) */
	syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
}

static void call_netlink(void)
{
	syscall(SYS_socket, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
}

static void call_unix(void)
{
	syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
}

static void call_inet_sockets(void)
{
	/* what tapird makes after start-up: TCP connections out, the ioctl socket */
	if (syscall(SYS_socket, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) < 0 ||
	    syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) < 0)
		syscall(SYS_exit_group, 4);
}

static void call_sifflags(void)
{
	struct ifreq ifr;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	syscall(SYS_ioctl, s, SIOCSIFFLAGS, &ifr);
}

static void call_gifmtu(void)
{
	struct ifreq ifr;
	int s = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (syscall(SYS_ioctl, s, SIOCGIFMTU, &ifr) < 0)
		syscall(SYS_exit_group, 4);
}

static int tun_fd_for_calls = -1; /* opened before the filter: a queue of no device */

static void call_tungetiff(void)
{
	struct ifreq ifr;

	/* read-only, allowed: an unattached queue answers EBADFD */
	memset(&ifr, 0, sizeof(ifr));
	if (syscall(SYS_ioctl, tun_fd_for_calls, TUNGETIFF, &ifr) == 0 || errno != EBADFD)
		syscall(SYS_exit_group, 4);
}

static void call_tunsetiff(void)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	syscall(SYS_ioctl, tun_fd_for_calls, TUNSETIFF, &ifr);
}

static void call_open_write(void)
{
	syscall(SYS_openat, AT_FDCWD, "/tmp/tapir-test-privsep-never", O_WRONLY | O_CREAT, 0600);
}

static void call_unlink(void)
{
	syscall(SYS_unlinkat, AT_FDCWD, "/tmp/tapir-test-privsep-never", 0);
}

/* Each harmful call traps and is named; each call tapird needs passes. */
static void test_seccomp_arguments(void **state)
{
	static const struct {
		void (*fn)(void);
		long nr; /* 0: allowed */
	} rows[] = {
	    /* 0 */ {call_netlink, SYS_socket},
	    /* 1 */ {call_unix, SYS_socket},
	    /* 2 */ {call_inet_sockets, 0},
	    /* 3 */ {call_sifflags, SYS_ioctl},
	    /* 4 */ {call_gifmtu, 0},
	    /* 5 */ {call_open_write, SYS_openat},
	    /* 6 */ {call_unlink, SYS_unlinkat},
	    /* 7 */ {call_tungetiff, 0},
	    /* 8 */ {call_tunsetiff, SYS_ioctl},
	};
	char err[256], want[128];
	int status;

	(void)state;
	if (!tapir_seccomp_is_supported())
		skip();
	tun_fd_for_calls = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	assert_true(tun_fd_for_calls >= 0);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		status = in_filtered_child(rows[i].fn, err, sizeof(err));
		if (!rows[i].nr) {
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				fail_msg("row %zu: not allowed: %s", i, err);
			continue;
		}
		snprintf(want, sizeof(want), "system call %ld is not on the allow-list",
			 rows[i].nr);
		if (!WIFSIGNALED(status) || !strstr(err, want))
			fail_msg("row %zu: not trapped (status %#x): %s", i, status, err);
	}
	close(tun_fd_for_calls);
}

static void test_seccomp_allows(void **state)
{
	char err[256];
	int status;

	(void)state;
	if (!tapir_seccomp_is_supported())
		skip();
	status = in_filtered_child(call_allowed, err, sizeof(err));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(err, "");
}

static void test_seccomp_traps_and_names(void **state)
{
	char err[256], want[128];
	int status;

	(void)state;
	if (!tapir_seccomp_is_supported())
		skip();
	status = in_filtered_child(call_setuid, err, sizeof(err));
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	snprintf(want, sizeof(want),
		 "tapird: seccomp: system call %d is not on the allow-list, aborting\n",
		 (int)SYS_setuid);
	assert_non_null(strstr(err, want));
}

static void test_seccomp_clone_process(void **state)
{
	char err[256];
	int status;

	(void)state;
	if (!tapir_seccomp_is_supported())
		skip();
	status = in_filtered_child(call_fork, err, sizeof(err));
#if defined(__SANITIZE_ADDRESS__)
	(void)status; /* allowed for LSan */
#else
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_guard_helper_unlinks),
	    cmocka_unit_test(test_guard_keeps_successor),
	    cmocka_unit_test(test_guard_parent_dies),
	    cmocka_unit_test(test_guard_without_helper),
	    cmocka_unit_test(test_helper_opens_udp),
	    cmocka_unit_test(test_helper_listens_at),
	    cmocka_unit_test(test_helper_refuses),
	    cmocka_unit_test(test_helper_link_mtu_refuses),
	    cmocka_unit_test(test_helper_link_mtu_home),
	    cmocka_unit_test(test_seccomp_arguments),
	    cmocka_unit_test(test_seccomp_allows),
	    cmocka_unit_test(test_seccomp_traps_and_names),
	    cmocka_unit_test(test_seccomp_clone_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
