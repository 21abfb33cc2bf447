/* SPDX-License-Identifier: MIT */
/*
 * tapir(8) subcommands. Each takes the arguments after its own name (argv[0] is the
 * subcommand name) and returns the process exit code: 0 ok, 1 error, 2 usage. Each handles
 * --help itself. The CLI talks to tapird only through the UAPI socket and to the kernel only
 * through rtnetlink (libmnl) and ioctls; it never runs ip(8).
 */
#ifndef TAPIR_CLI_H
#define TAPIR_CLI_H

#include <stddef.h>

/* keys.c */
int tapir_cmd_genkey(int argc, char **argv);
int tapir_cmd_pubkey(int argc, char **argv);
int tapir_cmd_genpsk(int argc, char **argv);
/* show.c: show [IFNAME|all|interfaces] [--json] [dump|FIELD] */
int tapir_cmd_show(int argc, char **argv);
/* showconf.c: showconf IFNAME */
int tapir_cmd_showconf(int argc, char **argv);
/*
 * IFNAME's configuration as showconf prints it, plus the tapir peer keys the daemon knows
 * (tcp:// endpoints, Compression), for SaveConfig. Returns a malloc'd text holding the private
 * key (caller wipes and frees) in @out, or -errno.
 */
int tapir_showconf_text(const char *ifname, char **out, size_t *len_out);
/* setconf.c: set IFNAME ..., setconf/addconf/syncconf IFNAME FILE */
int tapir_cmd_set(int argc, char **argv);
int tapir_cmd_setconf(int argc, char **argv);
int tapir_cmd_addconf(int argc, char **argv);
int tapir_cmd_syncconf(int argc, char **argv);
/* tuntap.c: tuntap add|del|show|list|watch */
int tapir_cmd_tuntap(int argc, char **argv);
/* tuntap_procs.c: prints "\tAttached to processes: COMM(PID)..." for the device @name */
void tapir_tuntap_print_processes(const char *name);
/* up.c: up/down CONFIG|IFNAME (wg-quick semantics over netlink) */
int tapir_cmd_up(int argc, char **argv);
int tapir_cmd_down(int argc, char **argv);
/* up_config.c: the config file tapir up would read for CONFIG|IFNAME (malloc'd), or NULL after a
 * message. */
char *tapir_up_config_path(const char *arg);
/* strip.c: strip CONFIG|IFNAME (wg-quick strip) */
int tapir_cmd_strip(int argc, char **argv);
/* mesh_cmd.c: mesh init|join|leave|status (an overlay kept in etcd) */
int tapir_cmd_mesh(int argc, char **argv);
/* demo.c */
int tapir_cmd_demo(int argc, char **argv);

#endif
