/* SPDX-License-Identifier: MIT */
/*
 * Logging for the daemon and CLI. Messages go to stderr, to a file, or to syslog (tapird once
 * detached, without a log file); the level comes from LOG_LEVEL (silent, error,
 * verbose/debug) like wireguard-go. When stderr is the journal (JOURNAL_STREAM), each line
 * there starts with its syslog priority. Key material must never be passed here.
 */
#ifndef TAPIR_LOG_H
#define TAPIR_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum tapir_log_level {
	TAPIR_LOG_SILENT = 0,
	TAPIR_LOG_ERROR = 1,
	TAPIR_LOG_INFO = 2,
	TAPIR_LOG_DEBUG = 3,
};

void tapir_log_set_level(enum tapir_log_level level);
/*
 * Destination, chosen before any thread starts: @fd (borrowed, kept open), or the syslog
 * datagram socket at @path (usually /dev/log), connected now; returns 0 or -errno, and on
 * failure the destination is unchanged. @ident must outlive the process's logging.
 */
void tapir_log_to_fd(int fd);
int tapir_log_to_syslog(const char *ident, const char *path);
enum tapir_log_level tapir_log_get_level(void);
/* Parses "silent", "error", "info", "verbose" or "debug"; returns -EINVAL otherwise. */
int tapir_log_parse_level(const char *s, enum tapir_log_level *out);
void tapir_log(enum tapir_log_level level, bool with_errno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A warning: shown from the error level up, with the warning priority in syslog and journal. */
void tapir_log_warn(bool with_errno, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Rate limiting for data-path logs: allows @burst messages per second per limiter. */
struct tapir_log_ratelimit {
	uint64_t window_start_ns;
	uint32_t count;
};
bool tapir_log_ratelimit_ok(struct tapir_log_ratelimit *rl, uint32_t burst);

#define log_err(...) tapir_log(TAPIR_LOG_ERROR, false, __VA_ARGS__)
#define log_err_errno(...) tapir_log(TAPIR_LOG_ERROR, true, __VA_ARGS__)
#define log_warn(...) tapir_log_warn(false, __VA_ARGS__)
#define log_info(...) tapir_log(TAPIR_LOG_INFO, false, __VA_ARGS__)
#define log_debug(...) tapir_log(TAPIR_LOG_DEBUG, false, __VA_ARGS__)
#define log_debug_errno(...) tapir_log(TAPIR_LOG_DEBUG, true, __VA_ARGS__)

#endif
