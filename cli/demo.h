/* SPDX-License-Identifier: MIT */
/*
 * tapir demo: what its files share. demo.c has the command, its steps and the report;
 * demo_net.c the namespaces, the underlay and the clean-up; demo_daemons.c tapir up/down inside
 * a namespace and wireguard-go; demo_traffic.c the pings and the TCP transfer. Single-threaded
 * but for the transfer's two threads (demo_traffic.c); every wait is bounded; Ctrl-C sets
 * tapir_cli_signal (common.h), which every step checks.
 */
#ifndef TAPIR_CLI_DEMO_H
#define TAPIR_CLI_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"

static const char NETNS_DIR[] = "/var/run/netns";
static const char TMPDIR_RECORD[] = "/var/run/tapir/demo.tmpdir";
static const char *const NS_NAME[2] = {"tapir-demo-1", "tapir-demo-2"};
static const char *const VETH[2] = {"tdemo1", "tdemo2"};
static const char *const UNDERLAY[2] = {"192.0.2.1", "192.0.2.2"};
static const char *const TAPIR_IF[2] = {"tapirdemo1", "tapirdemo2"};
static const char *const TAPIR_ADDR[2] = {"198.51.100.1", "198.51.100.2"};
static const char *const WG_IF[2] = {"wgdemo1", "wgdemo2"};
static const char *const WG_ADDR[2] = {"203.0.113.1", "203.0.113.2"};

enum {
	TAPIR_PORT = 51820,
	WG_PORT = 51821,
	TCP_PORT = 5201,
	TUNNEL_CIDR = 24,
	TUNNEL_MTU = 1420,
	PINGS = 3,
	PING_TIMEOUT_MS = 3000,
	PING_INTERVAL_MS = 300,
	MEASURE_MS = 3000,
	PROGRESS_MS = 250,
	IO_TIMEOUT_S = 5,
	CHUNK_BYTES = 64 * 1024,
	SOCKET_WAIT_MS = 5000,
	STEP_MS = 50,
	PATH_BYTES = 256,
	TMPDIR_BYTES = 64, /* "/tmp/tapir-demo.XXXXXX" */
};

struct demo {
	bool is_keep;
	char tmpdir[TMPDIR_BYTES]; /* "" until made */
	int nsfd[2];		   /* -1 until made */
	uint8_t priv[2][32], pub[2][32];
};

struct tapir_nl;

/* demo_net.c */
/* /var/run/netns/NAME of namespace @i (0 or 1). */
void tapir_demo_ns_path(char out[PATH_BYTES], int i);
/* Whether IFNAME's UAPI socket exists. */
bool tapir_demo_sock_exists(const char *ifname);
/* Makes /var/run/netns a shared mount, as ip-netns(8) does. */
int tapir_demo_make_netns_dir(void);
/* ip netns add NS_NAME[@i]; 0 or -errno. */
int tapir_demo_netns_add(int i);
bool tapir_demo_netns_exists(int i);
/* A descriptor of namespace @i, or -errno. */
int tapir_demo_netns_open(int i);
/* socket() inside namespace @nsfd; the descriptor or -errno. */
int tapir_demo_socket_in(int nsfd, int domain, int type, int proto);
/* @addr/@cidr on @ifname, then the link up (with @mtu unless 0). */
int tapir_demo_addr_up(struct tapir_nl *nl, const char *ifname, const char *addr, int cidr,
		       int mtu);
/* The veth pair across the two namespaces, lo and the underlay addresses up. */
int tapir_demo_setup_underlay(struct demo *d);
/* Removes whatever of a demo exists: daemons, links, namespaces, temporary files. */
int tapir_demo_cleanup(struct demo *d);

/* demo_daemons.c */
/* Runs tapir_cmd_up/down in a child that entered namespace @nsfd; returns its exit status. */
int tapir_demo_cli_in(int nsfd, int (*cmd)(int, char **), const char *verb, const char *arg);
/* Writes both tapir configs into d->tmpdir and runs tapir up on each in its namespace. */
int tapir_demo_tapir_up(struct demo *d);
/* wireguard-go on WG_IF[i] in each namespace, configured over its UAPI, addresses up. */
int tapir_demo_wggo_up(struct demo *d);

/* demo_traffic.c */
/* PINGS echo requests from namespace @nsfd to @addr: 0 once one was answered. */
int tapir_demo_ping(int nsfd, const char *addr);
/* Sends for MEASURE_MS from @src_ns to @addr:TCP_PORT in @dst_ns; returns Mbit/s or < 0. */
double tapir_demo_measure(int src_ns, int dst_ns, const char *addr, const char *label);

#endif
