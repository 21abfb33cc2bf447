/* SPDX-License-Identifier: MIT */
/*
 * The inside of tapir up / tapir down (up.c), shared by its parts: the file it reads
 * (up_config.c), the tapird it starts (up_daemon.c), the link it configures (up_link.c), the
 * routes, policy rules and firewall guard of AllowedIPs (up_route.c), the hooks and DNS it runs
 * as child processes and the "[#] ..." lines it prints (up_exec.c), and the state file that
 * records each change so that down, a failure or Ctrl-C undoes exactly those (up_state.c).
 *
 * One struct tapir_up per command run; up.c owns it and frees it with tapir_up_free(). Every
 * step returns 0 or -errno after printing one message that names what failed. Nothing outside
 * the up_*.c files includes this header.
 */
#ifndef TAPIR_CLI_UP_H
#define TAPIR_CLI_UP_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

struct tapir_nl;

static const char STATE_DIR[] = "/var/run/tapir";
static const char UAPI_DIR[] = "/var/run/wireguard";
static const char SRC_VALID_MARK[] = "/proc/sys/net/ipv4/conf/all/src_valid_mark";

enum {
	TEXT_BYTES = 256, /* a "[#] ..." word, a state file line, a path in /var/run */
};

/* One change that must be undone explicitly; a line of the state file. */
enum tapir_up_action_kind {
	ACT_DAEMON,	   /* tapird started: undo deletes the link */
	ACT_ROUTE,	   /* family dst cidr table */
	ACT_RULE_FWMARK,   /* family fwmark table priority */
	ACT_RULE_SUPPRESS, /* family table priority */
	ACT_SYSCTL,	   /* src_valid_mark, old value */
	ACT_DNS,
	ACT_BRIDGE,   /* the link was made a port of bridge @name */
	ACT_FIREWALL, /* family: nftables table tapir-IFNAME (nft.c) */
};

struct tapir_up_action {
	enum tapir_up_action_kind kind;
	int family;
	uint8_t addr[16];
	uint8_t cidr;
	uint32_t table, fwmark, priority, old_value;
	char name[IFNAMSIZ];
};

struct tapir_up {
	char ifname[IFNAMSIZ];
	char *config_path; /* owned; NULL: none found */
	bool is_by_path;   /* named by its config file, not by IFNAME */
	struct tapir_quick_conf conf;
	bool has_conf;
	struct tapir_nl *nl;
	int ifindex;
	int state_fd;
	struct tapir_up_action *actions; /* owned, in the order made */
	size_t n_actions;
	bool has_failed_undo;
	bool is_foreground;   /* tapir up --foreground: tapird is our child, we stay */
	pid_t daemon_pid;     /* --foreground: tapird's, 0 once reaped */
	pid_t supervisor_pid; /* down: from the state file, the tapir up --foreground */
};

/* up.c */
/* Whether Ctrl-C, SIGTERM or SIGHUP came: up and down check it between steps. */
bool tapir_up_is_interrupted(void);
void tapir_up_free(struct tapir_up *qk);

/* up_config.c */
/* IFNAME (looked up in /etc/tapir, then /etc/wireguard) or a path ending in IFNAME.conf. */
int tapir_up_resolve_target(struct tapir_up *qk, const char *arg);
/* Reads and parses qk->config_path whole; refuses hooks in a file others could write. */
int tapir_up_load_config(struct tapir_up *qk);
/* Endpoint host names to addresses, retried as wg(8) does. */
int tapir_up_resolve_endpoints(struct tapir_up *qk);

/* up_daemon.c */
int tapir_up_start_daemon(struct tapir_up *qk);
bool tapir_up_socket_exists(const char *ifname);
void tapir_up_remove_socket(const char *ifname);
/* Deletes the link (tapird exits) and waits for its socket to go. */
void tapir_up_undo_daemon(struct tapir_up *qk);
void tapir_up_stop_supervisor(struct tapir_up *qk);

/* up_link.c */
int tapir_up_apply_uapi(struct tapir_up *qk);
int tapir_up_add_addresses(struct tapir_up *qk);
int tapir_up_set_mtu_up(struct tapir_up *qk);
/* Index of the Bridge = NAME bridge; says what is wrong if it is missing or not a bridge. */
int tapir_up_find_bridge(struct tapir_up *qk);
int tapir_up_attach_bridge(struct tapir_up *qk);

/* up_route.c */
/* Routes to every AllowedIPs prefix; a /0 through fwmark policy routing and the guard. */
int tapir_up_add_routes(struct tapir_up *qk);

/* up_exec.c */
const char *tapir_up_family_flag(int family);
void tapir_up_prefix_text(char out[INET6_ADDRSTRLEN + 4], int family, const uint8_t *addr,
			  unsigned cidr);
/* Prints "[#] " and the line to stderr, as wg-quick shows what it runs. */
__attribute__((format(printf, 1, 2))) void tapir_up_say(const char *fmt, ...);
const char *tapir_up_shell_word(const char *s, char *buf, size_t size);
int tapir_up_run_hooks(struct tapir_up *qk, const char *key, char **hooks, const size_t *lines,
		       size_t n);
int tapir_up_set_dns(struct tapir_up *qk);
int tapir_up_undo_dns(struct tapir_up *qk);

/* up_state.c */
/* /var/run/tapir/IFNAME.state (malloc'd), or NULL. */
char *tapir_up_state_path(const char *ifname);
int tapir_up_state_create(struct tapir_up *qk);
/* Remembers a change (in memory and in the state file) right after it was made. */
int tapir_up_record(struct tapir_up *qk, const struct tapir_up_action *a);
/* Reads the state file of an interface up brought up; -ENOENT if there is none. */
int tapir_up_load_state(struct tapir_up *qk, char **config_out);
/* The thing to undo is already gone: not a failure of the undo. */
bool tapir_up_is_gone(int r);
/* Undoes every recorded change, newest first. */
void tapir_up_undo_all(struct tapir_up *qk);

#endif
