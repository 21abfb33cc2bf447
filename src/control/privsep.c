// SPDX-License-Identifier: MIT
/*
 * The privilege drop (setgroups/setgid/setuid with PR_SET_KEEPCAPS, then capset) and the
 * socket-unlink helper. Raw capget/capset: two 32-bit words, no libcap.
 *
 * Why a helper and not chown: /var/run/wireguard is root-owned and shared with wireguard-go
 * and wg-quick, so unlinking our socket needs write permission on the directory; chowning the
 * socket file does not give that, and chowning or loosening the directory would hand every
 * other interface's socket to our user. The helper is forked before the drop, keeps uid 0 but
 * no capability and no descriptor besides its channel and stdio, and can do exactly one
 * thing: unlink the file whose device and inode were recorded at start (so it never removes
 * the socket of a daemon started after ours).
 */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "seccomp.h"

/*
 * SO_MARK on the UDP sockets: fwmark can be set over the UAPI at any time (wg-quick sets it
 * after start-up for its default route), and every listen_port change opens new sockets that
 * get the mark again; SO_RCVBUFFORCE/SO_SNDBUFFORCE on those sockets also need it.
 */
static bool need_cap_net_admin(void)
{
	return true;
}

/* A listen_port below 1024 may be set over the UAPI after the drop: bind(2) needs it. */
static bool need_cap_net_bind_service(void)
{
	return true;
}

static const struct {
	int cap;
	bool (*is_needed)(void);
} kept_caps[] = {
    {CAP_NET_ADMIN, need_cap_net_admin},
    {CAP_NET_BIND_SERVICE, need_cap_net_bind_service},
};

unsigned long long tapir_privsep_kept_caps(void)
{
	unsigned long long mask = 0;

	for (size_t i = 0; i < sizeof(kept_caps) / sizeof(kept_caps[0]); i++)
		if (kept_caps[i].is_needed())
			mask |= 1ull << kept_caps[i].cap;
	return mask;
}

static int cap_get(unsigned long long *permitted)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	*permitted = (unsigned long long)data[1].permitted << 32 | data[0].permitted;
	return 0;
}

/* Sets effective = permitted = @mask, inheritable = 0. */
static int cap_set(unsigned long long mask)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)mask;
	data[1].effective = data[1].permitted = (uint32_t)(mask >> 32);
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* Drops every capability outside @mask from the bounding set (needs CAP_SETPCAP). */
static void drop_bounding(unsigned long long mask)
{
	for (int cap = 0; cap < 64; cap++) {
		if (mask & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break; /* past the kernel's last capability */
	}
}

int tapir_privsep_lookup_user(const char *user, uid_t *uid, gid_t *gid, char *name_out,
			      size_t name_len)
{
	const struct passwd *pw;

	if (user) {
		pw = getpwnam(user);
	} else {
		pw = getpwnam("tapir");
		if (!pw)
			pw = getpwnam("nobody");
	}
	if (!pw)
		return -ENOENT;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	snprintf(name_out, name_len, "%s", pw->pw_name);
	return 0;
}

static int drop_to_user(uid_t uid, gid_t gid, unsigned long long keep)
{
	uid_t r, e, s;

	drop_bounding(keep);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -errno;
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return -errno;
	/* the permitted set survived the uid change; the effective one is empty until now */
	if (cap_set(keep) < 0)
		return -EPERM;
	if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid)
		return -EPERM;
	/* paranoia: the way back to root must be closed */
	if (uid != 0 && setuid(0) == 0)
		return -EPERM;
	return 0;
}

int tapir_privsep_drop(uid_t uid, gid_t gid)
{
	unsigned long long keep = tapir_privsep_kept_caps(), permitted = 0;
	int ret;

	ret = cap_get(&permitted);
	if (ret < 0)
		return ret;
	if (geteuid() == 0) {
		ret = drop_to_user(uid, gid, keep & permitted);
		if (ret < 0)
			return ret;
	} else {
		drop_bounding(keep);
		ret = cap_set(keep & permitted);
		if (ret < 0)
			return ret;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* ---------------------------------------------------------------- the unlink helper */

/* Unlinks g->path only if it is still the file we created. */
static void unlink_ours(const struct tapir_sock_guard *g)
{
	struct stat st;

	if (!g->has_file || lstat(g->path, &st) < 0)
		return;
	if (st.st_dev == g->dev && st.st_ino == g->ino && st.st_ctim.tv_sec == g->ctime.tv_sec &&
	    st.st_ctim.tv_nsec == g->ctime.tv_nsec)
		unlink(g->path);
}

static __attribute__((noreturn)) void helper_main(const struct tapir_sock_guard *g, int ch,
						  bool use_seccomp)
{
	char c;
	ssize_t n;

	if (ch != 3) {
		if (dup2(ch, 3) < 0)
			_exit(1);
		ch = 3;
	}
	close_range(4, ~0u, 0); /* TUN queues included: the interface must go when tapird does */
	if (cap_set(0) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(1);
	if (use_seccomp && tapir_seccomp_is_supported() &&
	    tapir_seccomp_install(TAPIR_SECCOMP_HELPER) < 0)
		_exit(1);
	/* SIGINT/SIGTERM/SIGHUP stay blocked (inherited): only tapird's end decides */
	do {
		n = read(ch, &c, 1);
	} while (n < 0 && errno == EINTR);
	unlink_ours(g);
	if (write(ch, "k", 1) < 0) {
		/* tapird is gone: nobody waits for the answer */
	}
	/* straight to the kernel: a sanitizer's _exit hook would need more system calls */
	syscall(SYS_exit_group, 0);
	_exit(0);
}

int tapir_sock_guard_init(struct tapir_sock_guard *g, const char *path, bool use_helper,
			  bool use_seccomp)
{
	struct stat st;
	int sv[2];
	pid_t pid;

	memset(g, 0, sizeof(*g));
	g->helper_fd = -1;
	snprintf(g->path, sizeof(g->path), "%s", path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		g->dev = st.st_dev;
		g->ino = st.st_ino;
		g->ctime = st.st_ctim;
		g->has_file = true;
	}
	if (!use_helper)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		close(sv[0]);
		helper_main(g, sv[1], use_seccomp);
	}
	close(sv[1]);
	g->helper_fd = sv[0];
	g->helper_pid = pid;
	return 0;
}

void tapir_sock_guard_release(struct tapir_sock_guard *g)
{
	char c;
	ssize_t n;

	if (g->helper_fd < 0) {
		unlink_ours(g);
		return;
	}
	if (write(g->helper_fd, "u", 1) == 1) {
		do {
			n = read(g->helper_fd, &c, 1);
		} while (n < 0 && errno == EINTR);
	}
	close(g->helper_fd);
	g->helper_fd = -1;
	/* the helper exits by itself; init reaps it once we are gone (wait4 is not allowed) */
}
