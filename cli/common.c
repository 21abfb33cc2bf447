// SPDX-License-Identifier: MIT
/*
 * Helpers the tapir(8) subcommands share (common.h): clock, sleep, signal flag, $PATH and
 * tapird lookups, the demos' echo of a step and their ICMP checksum.
 */
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char DEFAULT_PATH[] = "/usr/sbin:/usr/bin:/sbin:/bin";

volatile sig_atomic_t tapir_cli_signal;

static void on_signal(int sig)
{
	tapir_cli_signal = sig;
}

void tapir_cli_catch_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

int64_t tapir_cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long tapir_cli_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L}, left;

	if (ms <= 0 || !nanosleep(&ts, &left) || errno != EINTR)
		return 0;
	return (long)left.tv_sec * 1000 + (left.tv_nsec + 999999) / 1000000;
}

bool tapir_cli_find_in_path(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH");
	char *dirs = strdup(path && *path ? path : DEFAULT_PATH), *save = NULL, *full;
	bool found = false;

	for (char *p = dirs ? strtok_r(dirs, ":", &save) : NULL; p && !found;
	     p = strtok_r(NULL, ":", &save)) {
		if (asprintf(&full, "%s/%s", p, name) < 0)
			break;
		found = !access(full, X_OK) && (!out || strlen(full) < size);
		if (found && out)
			memcpy(out, full, strlen(full) + 1);
		free(full);
	}
	free(dirs);
	return found;
}

int tapir_cli_find_tapird(char *out, size_t size)
{
	const char *env = getenv("TAPIRD");
	char *self, *slash;
	int n;

	if (env && *env)
		return snprintf(out, size, "%s", env) < (int)size ? 0 : -ENAMETOOLONG;
	self = realpath("/proc/self/exe", NULL);
	slash = self ? strrchr(self, '/') : NULL;
	if (slash) {
		*slash = '\0';
		n = snprintf(out, size, "%s/tapird", self);
		if (n >= 0 && (size_t)n < size && !access(out, X_OK)) {
			free(self);
			return 0;
		}
	}
	free(self);
	return tapir_cli_find_in_path("tapird", out, size) ? 0 : -ENOENT;
}

int tapir_cli_write_sysctl(const char *path, unsigned value)
{
	FILE *f = fopen(path, "we");
	int r = 0;

	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", value) < 0)
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}

int tapir_cli_wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

void tapir_cli_say(const char *fmt, ...)
{
	va_list ap;

	printf("[#] ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

uint16_t tapir_cli_inet_checksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}
