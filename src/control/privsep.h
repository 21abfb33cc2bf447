/* SPDX-License-Identifier: MIT */
/*
 * Privilege drop for tapird: once its TUN queues, UDP sockets and UAPI socket exist it runs
 * as an unprivileged user with only the capabilities a running feature needs. The one thing
 * that must stay privileged, removing the UAPI socket from the root-owned /var/run/wireguard
 * on exit, is done by a tiny helper process forked before the drop.
 */
#ifndef TAPIR_PRIVSEP_H
#define TAPIR_PRIVSEP_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* The UAPI socket file and who removes it on exit. */
struct tapir_sock_guard {
	char path[108];
	dev_t dev;
	ino_t ino;
	struct timespec ctime; /* with dev/ino: an inode number may be reused by a successor */
	bool has_file;	       /* recorded: unlink only that file, not a successor's */
	int helper_fd;	       /* channel to the unlink helper, -1 = none (we unlink ourselves) */
	pid_t helper_pid;
};

/*
 * Records the socket file at @path. With @use_helper, forks the helper, which closes every
 * other descriptor, drops all capabilities, applies its own seccomp list when @use_seccomp,
 * and waits; it removes the file when asked or when tapird dies. 0 or -errno.
 */
int tapir_sock_guard_init(struct tapir_sock_guard *g, const char *path, bool use_helper,
			  bool use_seccomp);
/* Removes the socket file (if it is still ours) and waits for the helper. Accepts -1 fds. */
void tapir_sock_guard_release(struct tapir_sock_guard *g);

/*
 * Looks up @user (NULL: "tapir" if that user exists, else "nobody") into @uid/@gid and the
 * name actually used into @name_out. 0 or -ENOENT.
 */
int tapir_privsep_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *name_out,
			      size_t name_len);
/*
 * Drops to @uid/@gid with no supplementary groups, keeping only the capabilities listed in
 * privsep.c (bounding, permitted and effective sets; inheritable and ambient empty). Not
 * root: only narrows the capabilities this process has. Call before any thread starts.
 * 0 or -errno.
 */
int tapir_privsep_drop(uid_t uid, gid_t gid);
/* The capability mask tapird keeps (for messages and tests). */
unsigned long long tapir_privsep_kept_caps(void);

#endif
