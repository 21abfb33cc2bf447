/* SPDX-License-Identifier: MIT */
/*
 * tapir tuntap: what cli/tuntap.c (add, del, show) and cli/tuntap_watch_cmd.c (the watch
 * subcommand) share: the device helpers of cli/tuntap_dev.c. Private to the tuntap command.
 */
#ifndef TAPIR_CLI_TUNTAP_CMD_H
#define TAPIR_CLI_TUNTAP_CMD_H

#include <linux/if_tun.h>
#include <net/if.h>
#include <stdbool.h>

enum {
	EXIT_OK = 0,
	EXIT_ERROR = 1,
	EXIT_USAGE = 2,
};

static const char tun_clone_path[] = "/dev/net/tun";

enum {
	TUN_MODE_MASK = IFF_TUN | IFF_TAP,
	WATCH_BUF_BYTES = 65536 + 64, /* largest frame plus packet info and virtio-net header */
	TUN_PI_BYTES = 4,
};

/* What the kernel says about one device (sysfs). */
struct tuntap_info {
	char name[IFNAMSIZ];
	long ifindex;
	long flags; /* tun_flags: IFF_TUN/IFF_TAP, IFF_NO_PI, ..., IFF_PERSIST */
	long owner; /* -1: none */
	long group; /* -1: none */
};

enum parse_result {
	PARSE_OK,
	PARSE_HELP,
	PARSE_BAD,
};

/* tuntap_dev.c */
void tapir_tuntap_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int tapir_tuntap_usage_hint(const char *verb);
bool tapir_tuntap_is_help(const char *arg);
bool tapir_tuntap_is_valid_ifname(const char *s);
int tapir_tuntap_parse_ulong(const char *s, unsigned long *out);
int tapir_tuntap_info_get(const char *name, struct tuntap_info *info);
void tapir_tuntap_fail_info(const char *name, int err);
const char *tapir_tuntap_mode_name(long flags);
int tapir_tuntap_attach(const struct tuntap_info *info);
void tapir_tuntap_fail_attach(const struct tuntap_info *info, int err);

/* tuntap_watch_cmd.c */
int tapir_tuntap_cmd_watch(int argc, char **argv);

#endif
