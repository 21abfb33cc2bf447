// SPDX-License-Identifier: MIT
/*
 * Logger with a process-wide level and destination: stderr (the default, which journald
 * collects in the foreground), a file opened by the caller, or syslog(3) once tapird has
 * detached from its caller's terminal and pipes. The destination is chosen before any thread
 * starts and never changes after; the level is an atomic so workers may log while the
 * control thread changes it.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = TAPIR_LOG_INFO;
/* set before threads start (tapir_log_to_*), read-only after */
static int log_fd = -1;
static bool is_syslog;

void tapir_log_to_fd(int fd)
{
	log_fd = fd;
	is_syslog = false;
}

void tapir_log_to_syslog(const char *ident)
{
	/* LOG_NDELAY: connect now, before the privilege drop and the system-call filter */
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	is_syslog = true;
	log_fd = -1;
}

void tapir_log_set_level(enum tapir_log_level level)
{
	atomic_store_explicit(&current_level, (int)level, memory_order_relaxed);
}

enum tapir_log_level tapir_log_get_level(void)
{
	return (enum tapir_log_level)atomic_load_explicit(&current_level, memory_order_relaxed);
}

int tapir_log_parse_level(const char *s, enum tapir_log_level *out)
{
	static const struct {
		const char *name;
		enum tapir_log_level level;
	} names[] = {
	    {"silent", TAPIR_LOG_SILENT}, {"error", TAPIR_LOG_ERROR}, {"info", TAPIR_LOG_INFO},
	    {"verbose", TAPIR_LOG_DEBUG}, {"debug", TAPIR_LOG_DEBUG},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/* A log file gets a timestamp per line, in one write(2) so threads do not interleave. */
static void write_file_line(const char *line)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);

	if (!localtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm))
		stamp[0] = '\0';
	dprintf(log_fd, "%s %s[%ld]: %s\n", stamp, program_invocation_short_name, (long)getpid(),
		line);
}

static void vlog(int priority, const char *prefix, bool with_errno, int saved_errno,
		 const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);

	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strlen(line);
	if (with_errno)
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved_errno));
	if (is_syslog)
		syslog(priority, "%s", line);
	else if (log_fd >= 0)
		write_file_line(line);
	else
		fprintf(stderr, "%s\n", line);
}

void tapir_log(enum tapir_log_level level, bool with_errno, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	static const char *const prefixes[] = {"", "error: ", "", "debug: "};
	static const int priorities[] = {LOG_ERR, LOG_ERR, LOG_INFO, LOG_DEBUG};

	if ((int)level > atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vlog(priorities[level], prefixes[level], with_errno, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, "fatal: ", false, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

bool tapir_log_ratelimit_ok(struct tapir_log_ratelimit *rl, uint32_t burst)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now - rl->window_start_ns > 1000000000ull) {
		rl->window_start_ns = now;
		rl->count = 0;
	}
	return rl->count++ < burst;
}
