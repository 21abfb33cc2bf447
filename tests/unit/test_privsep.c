// SPDX-License-Identifier: MIT
/*
 * The socket-unlink helper (removes only the file it recorded, on request and when its
 * parent dies) and the seccomp filter (allowed calls pass, others report their number and
 * abort; clone only for threads). Runs without root: each filter goes into a forked child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	    cmocka_unit_test(test_seccomp_allows),
	    cmocka_unit_test(test_seccomp_traps_and_names),
	    cmocka_unit_test(test_seccomp_clone_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
