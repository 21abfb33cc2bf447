// SPDX-License-Identifier: MIT
/*
 * The processes holding a TUN/TAP device's queues, for `tapir tuntap show -d` (the
 * "Attached to processes:" line of `ip -d tuntap show`). The kernel names the device a
 * /dev/net/tun descriptor is attached to in that descriptor's /proc/PID/fdinfo/FD, on a line
 * "iff:\tNAME"; this walks /proc and reads those. Processes whose /proc entries we may not
 * read (another user's, without CAP_SYS_PTRACE) are skipped silently, as ip does; so are
 * processes that exit during the walk. Names are not namespaced: a device of the same name in
 * another network namespace is attached to its holders too (so is ip's list).
 */
#include "cli.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A /proc entry named by a decimal number (a process, a descriptor): its value, else -1. */
static int number_of(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (*s - '0');
		if (v > INT_MAX)
			return -1;
	}
	return (int)v;
}

/* Whether /proc/@pid/fdinfo/@fd says the descriptor is attached to @name. */
static bool fdinfo_names(int pid, int fd, const char *name)
{
	char path[64], line[128];
	bool is_match = false;
	size_t len = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!is_match && fgets(line, sizeof(line), f)) {
		is_match = !strncmp(line, "iff:\t", 5) && !strncmp(line + 5, name, len) &&
			   (line[5 + len] == '\n' || line[5 + len] == '\0');
	}
	fclose(f);
	return is_match;
}

/* Whether process @pid holds a /dev/net/tun descriptor attached to @name. */
static bool holds_device(int pid, const char *name)
{
	char path[64], target[32];
	bool is_holder = false;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!is_holder && (e = readdir(d))) {
		int fd = number_of(e->d_name);
		ssize_t n;

		if (fd < 0)
			continue;
		n = readlinkat(dirfd(d), e->d_name, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		is_holder = !strcmp(target, "/dev/net/tun") && fdinfo_names(pid, fd, name);
	}
	closedir(d);
	return is_holder;
}

static void print_process(int pid, bool is_first)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	printf("%s%s(%d)", is_first ? "" : " ", comm, pid);
}

void tapir_tuntap_print_processes(const char *name)
{
	bool is_first = true;
	struct dirent *e;
	DIR *proc = opendir("/proc");

	printf("\tAttached to processes:");
	if (!proc) {
		printf(" (cannot read /proc)\n");
		return;
	}
	while ((e = readdir(proc))) {
		int pid = number_of(e->d_name);

		if (pid < 0 || !holds_device(pid, name))
			continue;
		print_process(pid, is_first);
		is_first = false;
	}
	closedir(proc);
	putchar('\n');
}
