// SPDX-License-Identifier: MIT
/*
 * tapir up and down run a config file's PreUp/PostUp/PreDown/PostDown hooks as root, so
 * whoever can write the file can run commands as root. Like sshd's StrictModes, a file with
 * hooks is refused when it is writable by group or others, owned by someone other than root
 * or the invoking user (the real uid, or SUDO_UID under sudo), or sits in a directory that
 * anyone may write to without the sticky bit (where the file could be replaced). Only the
 * file's own directory is checked, not every parent. The message says how to fix it.
 */
#include "confperm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_trusted_owner(uid_t uid)
{
	const char *sudo = getenv("SUDO_UID");
	char *end;
	unsigned long v;

	if (uid == 0 || uid == getuid())
		return true;
	if (!sudo || !*sudo)
		return false;
	v = strtoul(sudo, &end, 10);
	return !*end && v == (unsigned long)uid;
}

static int check_dir(const char *path, const char *hook)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
	struct stat st;
	int r = 0;

	if (!dir)
		return -ENOMEM;
	if (!stat(dir, &st) && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		fprintf(stderr,
			"tapir: %s has %s hooks, which run as root, but its directory %s is "
			"world-writable: anyone could replace the file (chmod o-w %s, or move "
			"the file)\n",
			path, hook, dir, dir);
		r = -EPERM;
	}
	free(dir);
	return r;
}

int tapir_confperm_check_hooks(const char *path, const struct stat *st, const char *hook)
{
	if (!is_trusted_owner(st->st_uid)) {
		fprintf(stderr,
			"tapir: %s has %s hooks, which run as root, but it is owned by uid %u: "
			"refusing it (chown root %s)\n",
			path, hook, (unsigned)st->st_uid, path);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		fprintf(stderr,
			"tapir: %s has %s hooks, which run as root, but it is %s-writable: "
			"refusing it (chmod go-w %s)\n",
			path, hook, st->st_mode & S_IWOTH ? "world" : "group", path);
		return -EPERM;
	}
	return check_dir(path, hook);
}
