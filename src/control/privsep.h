/* SPDX-License-Identifier: MIT */
/*
 * Privilege separation for tapird, OpenBSD style. Once its TUN queues, first UDP sockets and
 * UAPI socket exist, tapird runs as the unprivileged user tapir with no capability at all.
 * What must stay privileged at run time is done by a small helper process forked before the
 * drop, over a socketpair of fixed-size, length-checked messages:
 *   - open a UDP socket or a TCP listener for a (changed) listen_port, also below 1024, with
 *     forced buffer sizes and SO_MARK, and hand the descriptor back (SCM_RIGHTS);
 *   - open the TCP listener of the metrics endpoint on the address and port the user named
 *     (MetricsListen, metrics_http.c), and hand it back: tapird's seccomp list forbids bind
 *     and listen;
 *   - set SO_MARK (fwmark) on a UDP or TCP socket tapird passes it;
 *   - read the MTU of the device of a TUN queue tapird passes it, once that device was moved
 *     to another network namespace (link.c; tapird reads it by name while it is at home);
 *   - remove the UAPI socket from the root-owned /var/run/wireguard when tapird exits or dies.
 * The helper keeps CAP_NET_ADMIN and CAP_NET_BIND_SERVICE only, no other descriptor but its
 * channel and one NETLINK_ROUTE socket for those lookups, and its own seccomp list; it
 * accepts nothing else.
 */
#ifndef TAPIR_PRIVSEP_H
#define TAPIR_PRIVSEP_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "sockops.h"

/* The UAPI socket file, and the helper that removes it and makes privileged sockets. */
struct tapir_sock_guard {
	char path[108];
	dev_t dev;
	ino_t ino;
	struct timespec ctime; /* with dev/ino: an inode number may be reused by a successor */
	bool has_file;	       /* recorded: unlink only that file, not a successor's */
	int helper_fd;	       /* channel to the helper, -1 = none (we do it all ourselves) */
	pid_t helper_pid;
	pthread_mutex_t lock;	   /* one request at a time: control thread and TCP thread */
	struct tapir_sock_ops ops; /* requests to the helper; ctx = this guard */
};

/*
 * Records the socket file at @path. With @use_helper, forks the helper, which closes every
 * other descriptor, keeps only tapir_privsep_helper_caps(), applies its own seccomp list when
 * @use_seccomp, and serves requests until tapird asks it to remove the file or dies; then it
 * removes the file. Call before threads start. 0 or -errno.
 */
int tapir_sock_guard_init(struct tapir_sock_guard *g, const char *path, bool use_helper,
			  bool use_seccomp);
/* The socket operations to use after the drop: the helper's, or the direct ones without it. */
const struct tapir_sock_ops *tapir_sock_guard_ops(struct tapir_sock_guard *g);
/*
 * Asks the helper where the device of TUN queue fd @tun_fd (borrowed) is: its MTU (> 0) if it
 * is in another network namespace, 0 if it is in tapird's own (read it by name there), or
 * -errno (-EBADFD: the device is gone; -EPIPE: the helper is; -EOPNOTSUPP: no helper).
 */
int tapir_privsep_link_mtu(struct tapir_sock_guard *g, int tun_fd);
/* Removes the socket file (if it is still ours) and ends the helper. Accepts -1 fds. */
void tapir_sock_guard_release(struct tapir_sock_guard *g);

/*
 * Looks up @user (NULL: "tapir") into @uid/@gid and the name actually used into @name_out.
 * There is no fallback to a shared uid such as nobody. 0 or -ENOENT.
 */
int tapir_privsep_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *name_out,
			      size_t name_len);
/*
 * Drops to @uid/@gid with no supplementary groups and no capability (bounding, permitted,
 * effective, inheritable and ambient sets empty). Not root: only empties the capability sets
 * this process has. Call before any thread starts. 0 or -errno.
 */
int tapir_privsep_drop(uid_t uid, gid_t gid);
/*
 * tapird's confinement, the one code path for tapird and for the tests that probe it: with
 * @is_drop tapir_privsep_drop(@uid, @gid), then with @is_seccomp (and a known architecture)
 * the daemon seccomp list. On failure returns -errno and names the step in @failed_step.
 */
int tapir_privsep_confine(uid_t uid, gid_t gid, bool is_drop, bool is_seccomp,
			  const char **failed_step);
/* The capability mask the helper keeps (for messages and tests); tapird keeps none. */
unsigned long long tapir_privsep_helper_caps(void);

#endif
