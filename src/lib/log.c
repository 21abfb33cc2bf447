// SPDX-License-Identifier: MIT
/*
 * stderr logger with a process-wide level. The level is the only global state; it is an
 * atomic so workers may log while the control thread changes it.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Atomic int current_level = TAPIR_LOG_INFO;

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

static void vlog(const char *prefix, bool with_errno, int saved_errno, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno)
		fprintf(stderr, "%s%s: %s\n", prefix, msg, strerror(saved_errno));
	else
		fprintf(stderr, "%s%s\n", prefix, msg);
}

void tapir_log(enum tapir_log_level level, bool with_errno, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;
	static const char *const prefixes[] = {"", "error: ", "", "debug: "};

	if ((int)level > atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vlog(prefixes[level], with_errno, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("fatal: ", false, 0, fmt, ap);
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
