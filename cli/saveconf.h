/* SPDX-License-Identifier: MIT */
/* SaveConfig = true: tapir down writes the running configuration back to the config file. */
#ifndef TAPIR_CLI_SAVECONF_H
#define TAPIR_CLI_SAVECONF_H

/*
 * Rewrites the config file @path from @ifname's running configuration, keeping the file's
 * own mode and owner, through a temporary file in the same directory that is synced and
 * renamed over @path. 0 or -errno (the reason printed).
 */
int tapir_saveconf(const char *path, const char *ifname);

#endif
