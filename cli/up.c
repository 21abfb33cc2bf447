// SPDX-License-Identifier: MIT
/*
 * tapir up / tapir down: what wg-quick(8) does on Linux (wireguard-protocol.md section 9.6),
 * with rtnetlink instead of ip(8). up parses the whole file first, then starts tapird, applies
 * the WireGuard part over UAPI, adds addresses, sets MTU and link up, DNS, routes (a default
 * route through fwmark policy routing: own table, "not fwmark" and "suppress_prefixlength 0"
 * rules) and runs the hooks, printing each change as "[#] ..." the way wg-quick does.
 *
 * With Mode = tap, tapird runs in TAP (L2) mode: the MTU leaves room for the Ethernet and
 * extension headers, allowed IPs and routes do not apply (the parser rejects AllowedIPs), and
 * Bridge = NAME attaches the TAP to an existing Linux bridge once the link is up.
 *
 * Every change that outlives the interface (rules, routes in other tables, DNS, a sysctl) is
 * appended to /var/run/tapir/IFNAME.state as soon as it is made; a failure midway, Ctrl-C, or
 * a later `down` undoes exactly those records, newest first. The state file is also how down
 * knows that an interface is ours.
 *
 * A default route also gets wg-quick's nftables guard (nft.c). SaveConfig = true makes down
 * write the running configuration back first (saveconf.c). up --foreground keeps tapird as a
 * child and supervises it for tapir@.service (supervise.c); a state file whose daemon died is
 * cleaned up by the next up, as down would.
 *
 * This file holds the command drivers: arguments, the order of the steps, signals, down, and
 * the wait of up --foreground. The steps are in up_*.c; up.h says which file has what.
 */
#include "cli.h"

#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "netlink.h"
#include "notify.h"
#include "saveconf.h"
#include "supervise.h"
#include "up.h"
#include "util.h"

enum {
	DAEMON_EXIT_WAIT_MS = 5000,
};

/*
 * Ctrl-C, SIGTERM and SIGHUP only set tapir_cli_signal (common.h: without SA_RESTART, so a
 * blocking call returns EINTR); up and down check it between steps and undo what was done.
 */
bool tapir_up_is_interrupted(void)
{
	return tapir_cli_signal != 0;
}

void tapir_up_free(struct tapir_up *qk)
{
	if (qk->has_conf)
		tapir_quick_conf_free(&qk->conf);
	free(qk->config_path);
	free(qk->actions);
	if (qk->state_fd >= 0)
		close(qk->state_fd);
	tapir_nl_close(qk->nl);
}

static int prepare_down(struct tapir_up *qk, const char *arg);
static void clean_stale(struct tapir_up *qk);
static void bring_down(struct tapir_up *qk);
static int supervise(struct tapir_up *qk);

static int check_args(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf(
		    "Usage: tapir %s %s[ CONFIG_FILE | INTERFACE ]\n\n"
		    "  CONFIG_FILE is a wg-quick configuration file whose name, without .conf,\n"
		    "  is the interface name; INTERFACE means /etc/tapir/INTERFACE.conf or\n"
		    "  /etc/wireguard/INTERFACE.conf.\n\n"
		    "  up starts tapird, applies the [Interface] and [Peer] sections, adds the\n"
		    "  addresses, sets MTU, DNS and routes (a default route through fwmark\n"
		    "  policy routing) and runs the hooks; down undoes what up did.\n\n"
		    "  Mode = tap runs tapird in TAP (L2) mode: no routes, an MTU 17 bytes\n"
		    "  smaller (Ethernet and extension headers); Bridge = NAME attaches the\n"
		    "  TAP to an existing bridge; Forward, MACAge, MACs configure the switch.\n"
		    "  Offload = all|none|LIST (some of tun,gso,gro) and Workers = N are\n"
		    "  passed to tapird as --offload and --workers. TCPListen = on makes\n"
		    "  tapird listen on TCP at ListenPort too, for peers whose endpoint is\n"
		    "  tcp:// (off by default).\n\n"
		    "  Endpoint host names are retried as wg(8) does\n"
		    "  (WG_ENDPOINT_RESOLUTION_RETRIES: a count, default 15, or infinity).\n"
		    "  tapird detaches holding none of tapir's descriptors (so $(tapir up wg0)\n"
		    "  returns) and logs to syslog, or to TAPIR_LOG_FILE when set. DNS goes to\n"
		    "  resolvconf as IFNAME, or PREFIX.IFNAME as /etc/resolvconf/interface-order\n"
		    "  says (like wg-quick). A file with hooks must not be writable by group or\n"
		    "  others nor owned by another user. Reload: tapir syncconf IF <(tapir strip\n"
		    "  IF).\n\n"
		    "  up --foreground (tapir@.service) runs tapird -f as its child and stays:\n"
		    "  it tells $NOTIFY_SOCKET READY=1 once everything is applied, takes the\n"
		    "  interface down on SIGTERM (exit 0), and if tapird dies undoes what up\n"
		    "  did and exits 1 (the unit restarts it). down of such an interface asks\n"
		    "  the supervising tapir up to take it down.\n\n"
		    "  up cleans up after a daemon that died (kill -9, crash): if the state\n"
		    "  file is there but the interface and its daemon are gone, it first\n"
		    "  undoes what that earlier up recorded, as down would.\n\n"
		    "  With SaveConfig = true, down first writes the running configuration\n"
		    "  back to the file (see tapir.conf(5)).\n",
		    argv[0], strcmp(argv[0], "up") ? "" : "[ --foreground ] ");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: tapir %s %s[ CONFIG_FILE | INTERFACE ]\n", argv[0],
			strcmp(argv[0], "up") ? "" : "[ --foreground ] ");
		return 2;
	}
	return -1;
}

static int prepare_up(struct tapir_up *qk, const char *arg)
{
	int r;

	if (tapir_up_resolve_target(qk, arg) || tapir_up_load_config(qk))
		return -EINVAL;
	if (tapir_up_resolve_endpoints(qk))
		return -EINVAL;
	r = tapir_nl_open(&qk->nl, NULL);
	if (r) {
		fprintf(stderr, "tapir: rtnetlink: %s\n", strerror(-r));
		return r;
	}
	clean_stale(qk);
	if (tapir_nl_link_lookup(qk->nl, qk->ifname, NULL) > 0) {
		fprintf(stderr, "tapir: `%s' already exists\n", qk->ifname);
		return -EEXIST;
	}
	/* The socket directory is shared by all namespaces: the name may be taken elsewhere. */
	if (tapir_up_socket_exists(qk->ifname)) {
		fprintf(stderr, "tapir: %s/%s.sock exists: a daemon for %s is already running\n",
			UAPI_DIR, qk->ifname, qk->ifname);
		return -EEXIST;
	}
	/* a missing bridge is found before anything changes */
	if (qk->conf.bridge && (r = tapir_up_find_bridge(qk)) < 0)
		return r;
	return tapir_up_state_create(qk);
}

static int do_up(struct tapir_up *qk)
{
	struct tapir_up_action daemon = {.kind = ACT_DAEMON};
	int r;

	r = tapir_up_run_hooks(qk, "PreUp", qk->conf.pre_up, qk->conf.pre_up_lines,
			       qk->conf.n_pre_up);
	if (r || (r = tapir_up_record(qk, &daemon)) || (r = tapir_up_start_daemon(qk)))
		return r;
	qk->ifindex = tapir_nl_link_lookup(qk->nl, qk->ifname, NULL);
	if (qk->ifindex < 0) {
		fprintf(stderr, "tapir: %s did not appear\n", qk->ifname);
		return qk->ifindex;
	}
	if (tapir_up_is_interrupted() || (r = tapir_up_apply_uapi(qk)) ||
	    tapir_up_is_interrupted() || (r = tapir_up_add_addresses(qk)) ||
	    tapir_up_is_interrupted() || (r = tapir_up_set_mtu_up(qk)) ||
	    tapir_up_is_interrupted() || (r = tapir_up_attach_bridge(qk)) ||
	    tapir_up_is_interrupted() || (r = tapir_up_set_dns(qk)) || tapir_up_is_interrupted() ||
	    (r = tapir_up_add_routes(qk)) || tapir_up_is_interrupted())
		return r ? r : -EINTR;
	return tapir_up_run_hooks(qk, "PostUp", qk->conf.post_up, qk->conf.post_up_lines,
				  qk->conf.n_post_up);
}

/* Takes --foreground out of up's arguments (before or after the target). */
static void take_foreground(int *argc, char **argv, struct tapir_up *qk)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--foreground") != 0)
			continue;
		qk->is_foreground = true;
		/* argv[argc] is NULL: it moves down too */
		memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(*argv));
		(*argc)--;
		return;
	}
}

int tapir_cmd_up(int argc, char **argv)
{
	struct tapir_up qk = {.state_fd = -1};
	char *path;
	int r;

	take_foreground(&argc, argv, &qk);
	r = check_args(argc, argv);
	if (r >= 0)
		return r;
	tapir_cli_catch_signals();
	r = prepare_up(&qk, argv[1]);
	if (r) {
		tapir_up_free(&qk);
		return 1;
	}
	r = do_up(&qk);
	if (r) {
		if (r == -EINTR)
			fprintf(stderr, "tapir: interrupted\n");
		fprintf(stderr, "tapir: bringing up %s failed; undoing\n", qk.ifname);
		tapir_up_undo_all(&qk);
		if (qk.daemon_pid > 0)
			tapir_supervise_reap(qk.daemon_pid, DAEMON_EXIT_WAIT_MS);
		path = tapir_up_state_path(qk.ifname);
		if (path)
			unlink(path);
		free(path);
	} else if (qk.is_foreground) {
		r = supervise(&qk);
	}
	tapir_up_free(&qk);
	return r ? 1 : 0;
}

static int prepare_down(struct tapir_up *qk, const char *arg)
{
	char *state_config = NULL;
	int r;

	if (tapir_up_resolve_target(qk, arg))
		return -EINVAL;
	r = tapir_up_load_state(qk, &state_config);
	if (r == -ENOENT && if_nametoindex(qk->ifname))
		fprintf(stderr,
			"tapir: %s was not brought up by tapir up (no %s/%s.state): leaving it "
			"alone\n",
			qk->ifname, STATE_DIR, qk->ifname);
	else if (r == -ENOENT)
		fprintf(stderr,
			"tapir: there is no interface %s, and it was not brought up by tapir up\n",
			qk->ifname);
	else if (r == -EINVAL)
		fprintf(stderr, "tapir: %s/%s.state is corrupt\n", STATE_DIR, qk->ifname);
	if (r) {
		free(state_config);
		return r;
	}
	if (!qk->is_by_path && state_config) {
		free(qk->config_path);
		qk->config_path = state_config;
		state_config = NULL;
	}
	free(state_config);
	/* The hooks come from the file; without it, down still undoes what up recorded. */
	if (qk->config_path && !access(qk->config_path, F_OK)) {
		if (tapir_up_load_config(qk))
			return -EINVAL;
	} else {
		fprintf(stderr,
			"tapir: warning: config file of %s not found; no PreDown/PostDown\n",
			qk->ifname);
	}
	r = tapir_nl_open(&qk->nl, NULL);
	if (r)
		fprintf(stderr, "tapir: rtnetlink: %s\n", strerror(-r));
	return r;
}

int tapir_cmd_down(int argc, char **argv)
{
	struct tapir_up qk = {.state_fd = -1};
	int r = check_args(argc, argv);

	if (r >= 0)
		return r;
	tapir_cli_catch_signals();
	if (prepare_down(&qk, argv[1])) {
		tapir_up_free(&qk);
		return 1;
	}
	if (tapir_supervise_is_tapir(qk.supervisor_pid))
		tapir_up_stop_supervisor(&qk);
	else
		bring_down(&qk);
	r = qk.has_failed_undo ? 1 : 0;
	tapir_up_free(&qk);
	return r;
}

/*
 * What down does once the state is loaded: SaveConfig (while the daemon still answers),
 * PreDown, the undo of every record newest first, PostDown, and the state file goes.
 */
static void bring_down(struct tapir_up *qk)
{
	char *path;

	if (qk->has_conf && qk->conf.save_config) {
		if (!tapir_supervise_is_socket_live(qk->ifname))
			fprintf(stderr,
				"tapir: warning: the daemon of %s is gone; SaveConfig cannot save "
				"its configuration\n",
				qk->ifname);
		else if (tapir_saveconf(qk->config_path, qk->ifname))
			qk->has_failed_undo = true;
	}
	if (qk->has_conf && tapir_up_run_hooks(qk, "PreDown", qk->conf.pre_down,
					       qk->conf.pre_down_lines, qk->conf.n_pre_down))
		fprintf(stderr, "tapir: warning: going on with down\n");
	tapir_up_undo_all(qk);
	if (qk->has_conf && tapir_up_run_hooks(qk, "PostDown", qk->conf.post_down,
					       qk->conf.post_down_lines, qk->conf.n_post_down))
		fprintf(stderr, "tapir: warning: %s is down all the same\n", qk->ifname);
	path = tapir_up_state_path(qk->ifname);
	if (path)
		unlink(path);
	free(path);
}

/*
 * up found a state file. If its interface and daemon are gone (killed, crashed) and no
 * supervising tapir up runs, undo what that earlier up recorded, as down would; otherwise
 * leave it, and tapir_up_state_create() says the interface is up.
 */
static void clean_stale(struct tapir_up *qk)
{
	struct tapir_up old = {.state_fd = -1};
	char *path = tapir_up_state_path(qk->ifname);
	bool has_state = path && !access(path, F_OK);

	free(path);
	if (!has_state || tapir_nl_link_lookup(qk->nl, qk->ifname, NULL) > 0 ||
	    tapir_supervise_is_socket_live(qk->ifname))
		return;
	if (prepare_down(&old, qk->ifname) || tapir_supervise_is_tapir(old.supervisor_pid)) {
		tapir_up_free(&old);
		return;
	}
	fprintf(stderr, "tapir: %s: the daemon of an earlier tapir up is gone; cleaning up\n",
		qk->ifname);
	/* nobody answers on it: a socket file its helper could not remove */
	if (tapir_up_socket_exists(qk->ifname)) {
		tapir_up_say("rm %s/%s.sock", UAPI_DIR, qk->ifname);
		tapir_up_remove_socket(qk->ifname);
	}
	bring_down(&old);
	tapir_up_free(&old);
}

/*
 * tapir up --foreground after a successful up: tell the service manager, then wait. A signal
 * takes the interface down (exit 0); the daemon's death undoes what up did and exits 1, so
 * that Restart=on-failure brings it up again from the file.
 */
static int supervise(struct tapir_up *qk)
{
	int status = 0, r;

	r = tapir_notify("READY=1\nSTATUS=up; supervising tapird\n");
	if (r)
		fprintf(stderr, "tapir: warning: cannot tell $NOTIFY_SOCKET: %s\n", strerror(-r));
	/* the state file records every change; close it so down can take over */
	close(qk->state_fd);
	qk->state_fd = -1;
	r = tapir_supervise_wait(qk->daemon_pid, &tapir_cli_signal, &status);
	if (r == 1) {
		qk->daemon_pid = 0;
		if (WIFSIGNALED(status))
			fprintf(stderr, "tapir: tapird of %s was killed by signal %d; undoing\n",
				qk->ifname, WTERMSIG(status));
		else
			fprintf(stderr, "tapir: tapird of %s exited with status %d; undoing\n",
				qk->ifname, WEXITSTATUS(status));
	} else if (r < 0) {
		fprintf(stderr, "tapir: cannot wait for tapird: %s; taking %s down\n", strerror(-r),
			qk->ifname);
	}
	tapir_notify("STOPPING=1\n");
	tapir_cli_signal = 0; /* the down that follows runs to its end */
	bring_down(qk);
	if (qk->daemon_pid > 0)
		tapir_supervise_reap(qk->daemon_pid, DAEMON_EXIT_WAIT_MS);
	return r == 0 && !qk->has_failed_undo ? 0 : -ECHILD;
}
