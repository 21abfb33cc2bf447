// SPDX-License-Identifier: MIT
/*
 * Logger with a process-wide level and destination: stderr (the default, which journald
 * collects in the foreground), a file opened by the caller, or the syslog socket once tapird
 * has detached from its caller's terminal and pipes. The destination is chosen before any
 * thread starts and never changes after; the level is an atomic so workers may log while the
 * control thread changes it.
 *
 * Not syslog(3): glibc's reconnects (socket, connect) whenever the socket went away, which
 * tapird's system-call filter may forbid, and blocks while the syslog daemon is slow. Here the
 * datagram socket is connected once, before the privilege drop, and a line that cannot be sent
 * at once is dropped: the data path never waits for a logger.
 *
 * When stderr is the journal's stream (systemd sets JOURNAL_STREAM to its "st_dev:st_ino", see
 * systemd.exec(5)), each line starts with its syslog priority ("<3>", "<4>", "<6>", "<7>"), which
 * journald strips and stores, so `journalctl -p err` finds the errors.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static _Atomic int current_level = TAPIR_LOG_INFO;
/* set before threads start (tapir_log_to_*), read-only after */
static int log_fd = -1;
static int syslog_fd = -1;
static const char *syslog_ident;
static bool is_stderr_journal;

/*
 * A constructor, so that every program linking the logger (tapird, tapir, the tests) checks
 * its stderr once, before any thread starts and before tapird's system-call filter, without
 * each main() having to call it.
 */
__attribute__((constructor)) static void detect_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (!env || sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 || env[end] != '\0')
		return;
	if (fstat(STDERR_FILENO, &st) < 0)
		return;
	is_stderr_journal =
	    (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void tapir_log_to_fd(int fd)
{
	log_fd = fd;
	syslog_fd = -1;
}

int tapir_log_to_syslog(const char *ident, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	syslog_fd = fd;
	syslog_ident = ident;
	log_fd = -1;
	return 0;
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

/* "<PRI>Mmm dd hh:mm:ss IDENT[PID]: LINE", the format syslog daemons and journald read. */
static void send_syslog_line(int priority, const char *line)
{
	char head[96], stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	struct iovec iov[2];
	int n;

	if (!localtime_r(&now, &tm) || !strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm))
		stamp[0] = '\0';
	n = snprintf(head, sizeof(head), "<%d>%s %s[%ld]: ", LOG_DAEMON | priority, stamp,
		     syslog_ident, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	iov[0] = (struct iovec){.iov_base = head, .iov_len = (size_t)n};
	iov[1] = (struct iovec){.iov_base = (void *)(uintptr_t)line, .iov_len = strlen(line)};
	/* a full or vanished syslog socket drops the line */
	sendmsg(syslog_fd, &(struct msghdr){.msg_iov = iov, .msg_iovlen = 2},
		MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* @priority: LOG_ERR, LOG_WARNING, ... (the syslog and journal priority of the line) */
static void vlog(int priority, const char *prefix, bool with_errno, int saved_errno,
		 const char *fmt, va_list ap)
{
	char line[1024];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", prefix);

	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n = strlen(line);
	if (with_errno)
		snprintf(line + n, sizeof(line) - n, ": %s", strerror(saved_errno));
	if (syslog_fd >= 0)
		send_syslog_line(priority, line);
	else if (log_fd >= 0)
		write_file_line(line);
	else if (is_stderr_journal)
		fprintf(stderr, "<%d>%s\n", priority, line);
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

void tapir_log_warn(bool with_errno, const char *fmt, ...)
{
	int saved_errno = errno;
	va_list ap;

	if (TAPIR_LOG_ERROR > atomic_load_explicit(&current_level, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vlog(LOG_WARNING, "warning: ", with_errno, saved_errno, fmt, ap);
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
