/* SPDX-License-Identifier: MIT */
/* Whether a config file may run hooks as root (confperm.c). */
#ifndef TAPIR_CLI_CONFPERM_H
#define TAPIR_CLI_CONFPERM_H

#include <sys/stat.h>

/*
 * Checks a config file that has hooks (@hook names one of its hook keys, for the message):
 * @st is the file's fstat(). Returns 0, or -EPERM after a message saying how to fix it.
 */
int tapir_confperm_check_hooks(const char *path, const struct stat *st, const char *hook);

#endif
