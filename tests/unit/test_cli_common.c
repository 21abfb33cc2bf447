// SPDX-License-Identifier: MIT
/*
 * Tests for cli/common.c, the helpers the subcommands share: the Internet checksum against a
 * numbered table (RFC 1071's own example first), the $PATH and tapird lookups against a
 * temporary directory, and the sleep and the child wait under a signal that interrupts them
 * (a SIGALRM timer, handler installed without SA_RESTART as the CLI installs its own).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* ---------------------------------------------------------------- checksum */

static const struct {
	uint8_t bytes[8];
	size_t len;
	uint16_t sum; /* host order */
} SUMS[] = {
    /* 1 */ {{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, 8, 0x220d}, /* RFC 1071 1. */
    /* 2 */ {{0}, 0, 0xffff},
    /* 3 */ {{0x01}, 1, 0xfeff},			       /* odd byte pads with zero */
    /* 4 */ {{0x08, 0, 0, 0, 0, 0, 0, 0}, 8, 0xf7ff},	       /* ICMP echo request, zeroes */
    /* 5 */ {{0xff, 0xff, 0xff, 0xff}, 4, 0x0000},	       /* end-around carry */
    /* 6 */ {{0x80, 0x00, 0x80, 0x00, 0x00, 0x01}, 6, 0xfffd}, /* carry folded back in */
};

static void test_checksum(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(SUMS) / sizeof(SUMS[0]); i++) {
		uint16_t got = ntohs(tapir_cli_inet_checksum(SUMS[i].bytes, SUMS[i].len));

		if (got != SUMS[i].sum)
			fail_msg("vector %zu: 0x%04x, expected 0x%04x", i + 1, got, SUMS[i].sum);
	}
}

/* A packet with its checksum filled in sums to zero: what a receiver checks. */
static void test_checksum_verifies(void **state)
{
	uint8_t pkt[64];
	uint16_t sum;

	(void)state;
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 37 + 11);
	pkt[2] = pkt[3] = 0;
	sum = tapir_cli_inet_checksum(pkt, sizeof(pkt));
	memcpy(pkt + 2, &sum, 2);
	assert_int_equal(tapir_cli_inet_checksum(pkt, sizeof(pkt)), 0);
}

/* ---------------------------------------------------------------- $PATH and tapird */

static char dir[64];

static void make_file(const char *name, mode_t mode)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void remove_file(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
}

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tapir-test-common.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	make_file("tapir-x", 0755);
	make_file("tapir-n", 0644);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	remove_file("tapir-x");
	remove_file("tapir-n");
	remove_file("tapird");
	rmdir(dir);
	return 0;
}

static void test_find_in_path(void **state)
{
	char path[256], out[128], small[8], expect[128];

	(void)state;
	snprintf(path, sizeof(path), "/nonexistent-tapir:%s", dir);
	setenv("PATH", path, 1);
	snprintf(expect, sizeof(expect), "%s/tapir-x", dir);
	assert_true(tapir_cli_find_in_path("tapir-x", out, sizeof(out)));
	assert_string_equal(out, expect);
	assert_true(tapir_cli_find_in_path("tapir-x", NULL, 0));
	/* not executable, absent, too long for @out */
	assert_false(tapir_cli_find_in_path("tapir-n", NULL, 0));
	assert_false(tapir_cli_find_in_path("tapir-absent", out, sizeof(out)));
	assert_false(tapir_cli_find_in_path("tapir-x", small, sizeof(small)));
	/* empty: the default list, where sh is */
	setenv("PATH", "", 1);
	assert_true(tapir_cli_find_in_path("sh", out, sizeof(out)));
	assert_true(strchr(out, '/') != NULL);
}

static void test_find_tapird(void **state)
{
	char out[128], expect[128], longer[300];

	(void)state;
	setenv("TAPIRD", "/opt/x/tapird", 1);
	assert_int_equal(tapir_cli_find_tapird(out, sizeof(out)), 0);
	assert_string_equal(out, "/opt/x/tapird");
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	setenv("TAPIRD", longer, 1);
	assert_int_equal(tapir_cli_find_tapird(out, sizeof(out)), -ENAMETOOLONG);
	/* unset or empty: next to this binary (tests/ has none), then $PATH */
	setenv("TAPIRD", "", 1);
	setenv("PATH", dir, 1);
	assert_int_equal(tapir_cli_find_tapird(out, sizeof(out)), -ENOENT);
	make_file("tapird", 0755);
	unsetenv("TAPIRD");
	snprintf(expect, sizeof(expect), "%s/tapird", dir);
	assert_int_equal(tapir_cli_find_tapird(out, sizeof(out)), 0);
	assert_string_equal(out, expect);
}

/* ---------------------------------------------------------------- signals, sleep, wait */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* SIGALRM after @ms, once; the handler interrupts a blocking call (no SA_RESTART). */
static void alarm_in(long ms)
{
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval it = {.it_value = {.tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000}};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
}

static void test_sleep(void **state)
{
	int64_t t0 = tapir_cli_now_ms();
	long left;

	(void)state;
	assert_int_equal(tapir_cli_sleep_ms(30), 0);
	assert_true(tapir_cli_now_ms() - t0 >= 30);
	assert_int_equal(tapir_cli_sleep_ms(0), 0);
	assert_int_equal(tapir_cli_sleep_ms(-5), 0);
	alarms = 0;
	t0 = tapir_cli_now_ms();
	alarm_in(50);
	left = tapir_cli_sleep_ms(5000);
	assert_int_equal(alarms, 1);
	assert_true(tapir_cli_now_ms() - t0 < 4000);
	assert_true(left > 1000 && left <= 5000 - 50 + 1); /* rounded up to the ms */
}

static void test_signals(void **state)
{
	(void)state;
	tapir_cli_signal = 0;
	tapir_cli_catch_signals();
	raise(SIGHUP);
	assert_int_equal(tapir_cli_signal, SIGHUP);
	raise(SIGTERM);
	assert_int_equal(tapir_cli_signal, SIGTERM);
	tapir_cli_signal = 0;
}

/* The child outlives a signal to the parent: the wait goes on and returns its status. */
static void test_wait_child(void **state)
{
	int status = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		usleep(200 * 1000);
		_exit(7);
	}
	alarms = 0;
	alarm_in(30);
	assert_int_equal(tapir_cli_wait_child(pid, &status), 0);
	assert_int_equal(alarms, 1);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 7);
	assert_int_equal(tapir_cli_wait_child(pid, &status), -ECHILD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checksum),	 cmocka_unit_test(test_checksum_verifies),
	    cmocka_unit_test(test_find_in_path), cmocka_unit_test(test_find_tapird),
	    cmocka_unit_test(test_sleep),	 cmocka_unit_test(test_signals),
	    cmocka_unit_test(test_wait_child),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
