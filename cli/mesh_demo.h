/* SPDX-License-Identifier: MIT */
/*
 * tapir mesh demo: what mesh_demo.c (the steps) uses from mesh_demo_sys.c (namespaces, links,
 * child processes, ping). Single-threaded; every wait is bounded.
 */
#ifndef TAPIR_MESH_DEMO_H
#define TAPIR_MESH_DEMO_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "mesh.h"

enum {
	TAPIR_MDEMO_PATH_BYTES = 256,
	TAPIR_MDEMO_STEP_MS = 50,
	TAPIR_MDEMO_STOP_WAIT_MS = 5000, /* per group of processes, after SIGTERM; then SIGKILL */
};

struct tapir_nl;

/* mesh_demo_sys.c */
/* A new network namespace, held by the returned descriptor (or -errno); we stay where we were. */
int tapir_mdemo_netns_new(void);
/* The namespace's inode number, as lsns(8) and /proc/PID/ns/net name it; 0 if unknown. */
unsigned long long tapir_mdemo_netns_id(int fd);
/* An rtnetlink socket inside namespace @nsfd. */
int tapir_mdemo_nl_in(int nsfd, struct tapir_nl **nl);
/* Link @name up, with 192.0.2.@host/24 unless @host is 0. */
int tapir_mdemo_link_up(struct tapir_nl *nl, const char *name, int host);
/*
 * Runs @argv (argv[0] a path, or a name looked up in $PATH) in namespace @nsfd, its output
 * appended to @log (NULL: ours). Returns the child's PID or -errno. The child dies with us.
 */
pid_t tapir_mdemo_spawn(int nsfd, char *const argv[], const char *log);
/* Waits for @pid up to @ms; its exit status (128 + signal), or -ETIMEDOUT (it still runs). */
int tapir_mdemo_wait_exit(pid_t pid, int ms);
/* SIGTERM to every PID in @pids (0 = none), reap each, SIGKILL what is left; zeroes @pids. */
void tapir_mdemo_stop_all(pid_t *pids, size_t n, const char *what);
/* Runs @argv in @nsfd to the end (bounded by @ms); its exit status or -errno. */
int tapir_mdemo_run(int nsfd, char *const argv[], const char *log, int ms);
/* Reaps the orphans we are the subreaper of; bounded by TAPIR_MDEMO_STOP_WAIT_MS. */
void tapir_mdemo_reap_orphans(void);
/*
 * 0 once @addr answered an echo request sent from namespace @nsfd (in a child; at most
 * 5 requests of 1 s each, fewer once *@stop is set); prints one line naming @from and @to.
 */
int tapir_mdemo_ping(int nsfd, const char *from, const char *to, const char *addr,
		     volatile sig_atomic_t *stop);

#endif
