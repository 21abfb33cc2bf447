// SPDX-License-Identifier: MIT
/*
 * The logger's journal priorities: a child process (this program again, with --child) logs one
 * line per level with stderr on a file; with JOURNAL_STREAM naming that file's dev:ino the lines
 * start with <3>, <4>, <6>, <7>, and with no or another JOURNAL_STREAM they do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

static int child_main(void)
{
	tapir_log_set_level(TAPIR_LOG_DEBUG);
	log_err("wg0: one error");
	log_warn("wg0: one warning");
	log_info("wg0: one info");
	log_debug("wg0: one debug");
	return 0;
}

/* Runs the child with stderr on a new file; @journal: NULL (unset), "self", or a value. */
static void run_child(const char *journal, char *out, size_t out_len)
{
	char path[] = "/tmp/tapir-test-log-XXXXXX", value[64];
	struct stat st;
	int fd = mkstemp(path), status;
	pid_t pid;
	ssize_t n;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	if (journal && !strcmp(journal, "self"))
		snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
	else if (journal)
		snprintf(value, sizeof(value), "%s", journal);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static char arg0[] = "test_log", arg1[] = "--child";
		char *argv[] = {arg0, arg1, NULL};

		dup2(fd, STDERR_FILENO);
		if (journal)
			setenv("JOURNAL_STREAM", value, 1);
		else
			unsetenv("JOURNAL_STREAM");
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	n = pread(fd, out, out_len - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
	close(fd);
	unlink(path);
}

static void test_journal_prefix(void **state)
{
	char out[1024];

	(void)state;
	run_child("self", out, sizeof(out));
	assert_string_equal(out, "<3>error: wg0: one error\n"
				 "<4>warning: wg0: one warning\n"
				 "<6>wg0: one info\n"
				 "<7>debug: wg0: one debug\n");
}

static void test_no_journal(void **state)
{
	char out[1024];

	(void)state;
	run_child(NULL, out, sizeof(out));
	assert_string_equal(out, "error: wg0: one error\n"
				 "warning: wg0: one warning\n"
				 "wg0: one info\n"
				 "debug: wg0: one debug\n");
}

/* a JOURNAL_STREAM inherited by a process whose stderr went elsewhere, or a malformed one */
static void test_other_stream(void **state)
{
	static const char *const values[] = {"1:1", "0:0", "garbage", "12:34x", ""};
	char out[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		run_child(values[i], out, sizeof(out));
		assert_string_equal(out, "error: wg0: one error\n"
					 "warning: wg0: one warning\n"
					 "wg0: one info\n"
					 "debug: wg0: one debug\n");
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal_prefix),
	    cmocka_unit_test(test_no_journal),
	    cmocka_unit_test(test_other_stream),
	};

	if (argc == 2 && !strcmp(argv[1], "--child"))
		return child_main();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
