// SPDX-License-Identifier: MIT
/*
 * The privilege drop (setgroups/setgid/setuid, then capset to nothing) and the privileged
 * helper (privsep.h). Raw capget/capset: two 32-bit words, no libcap.
 *
 * Why a helper rather than capabilities kept by tapird: CAP_NET_ADMIN is the whole host
 * network (links, routes, netfilter, xfrm through netlink, SIOCSIF* ioctls); code running
 * inside tapird must not have it. The helper can do only the few things listed in privsep.h,
 * each request checked field by field, and hands back descriptors instead of keeping state.
 *
 * Why it also removes the UAPI socket: /var/run/wireguard is root-owned and shared with
 * wireguard-go and wg-quick, so unlinking our socket needs write permission on the directory;
 * chowning the socket file does not give that, and chowning or loosening the directory would
 * hand every other interface's socket to our user. The helper keeps uid 0 (for that
 * directory) but only the two network capabilities, and unlinks only the file whose device
 * and inode were recorded at start (never the socket of a daemon started after ours).
 */
#include "privsep.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "link.h"
#include "log.h"
#include "seccomp.h"
#include "util.h"

/*
 * The helper's capabilities; tapird itself keeps none.
 * SO_MARK: fwmark can be set over the UAPI at any time (wg-quick sets it after start-up for
 * its default route), and every listen_port change opens new sockets that get the mark again;
 * SO_RCVBUFFORCE/SO_SNDBUFFORCE on those sockets also need it.
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

unsigned long long tapir_privsep_helper_caps(void)
{
	unsigned long long mask = 0;

	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(kept_caps); i++)
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

	/* no fallback to nobody: other services share that uid and could signal or ptrace us */
	pw = getpwnam(user ? user : "tapir");
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
	int ret;

	if (geteuid() == 0) {
		ret = drop_to_user(uid, gid, 0);
		if (ret < 0)
			return ret;
	} else {
		drop_bounding(0);
		ret = cap_set(0);
		if (ret < 0)
			return ret;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int tapir_privsep_confine(uid_t uid, gid_t gid, bool is_drop, bool is_seccomp,
			  const char **failed_step)
{
	int ret;

	if (is_drop) {
		ret = tapir_privsep_drop(uid, gid);
		if (ret < 0) {
			*failed_step = "privilege drop";
			return ret;
		}
	}
	if (!is_seccomp || !tapir_seccomp_is_supported())
		return 0;
	ret = tapir_seccomp_install(TAPIR_SECCOMP_DAEMON);
	if (ret < 0)
		*failed_step = "seccomp filter";
	return ret;
}

/* ---------------------------------------------------------------- the helper */

/*
 * One request, one answer, on a SOCK_SEQPACKET pair (a message is read whole or not at all).
 * Host byte order: both ends are the same program on the same machine.
 */
enum priv_op {
	PRIV_UNLINK = 1,    /* remove the UAPI socket file, answer, exit */
	PRIV_OPEN = 2,	    /* family, type, port, fwmark -> answer + descriptor */
	PRIV_SET_MARK = 3,  /* fwmark + the socket's descriptor -> answer */
	PRIV_LINK_MTU = 4,  /* a TUN queue's descriptor -> its MTU elsewhere, 0 at home */
	PRIV_LISTEN_AT = 5, /* family, address, port -> a TCP listener there + descriptor */
};

/* /dev/net/tun: the misc device (major 10) with minor TUN_MINOR (linux/miscdevice.h) */
enum { TUN_MISC_MAJOR = 10, TUN_MISC_MINOR = 200 };

struct priv_req {
	uint32_t op;
	int32_t family; /* AF_INET or AF_INET6 */
	int32_t type;	/* SOCK_DGRAM (UDP) or SOCK_STREAM (TCP listener) */
	uint32_t port;	/* 0..65535 */
	uint32_t fwmark;
	uint32_t scope_id; /* PRIV_LISTEN_AT, AF_INET6: the address's scope; else 0 */
	uint8_t addr[16];  /* PRIV_LISTEN_AT: the address (AF_INET: 4 bytes, then zeros); else 0 */
};
_Static_assert(sizeof(struct priv_req) == 40, "priv_req is a fixed-size message");

struct priv_resp {
	int32_t result; /* 0 or -errno; PRIV_OPEN: 0 and one descriptor attached; PRIV_LINK_MTU:
			 * also an MTU > 0 */
};
_Static_assert(sizeof(struct priv_resp) == 4, "priv_resp is a fixed-size message");

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

/* Sends @len bytes of @buf with @fd attached when >= 0. Returns the byte count or -errno. */
static ssize_t send_with_fd(int ch, const void *buf, size_t len, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cmsg;
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (fd >= 0) {
		memset(&cmsg, 0, sizeof(cmsg));
		msg.msg_control = cmsg.buf;
		msg.msg_controllen = sizeof(cmsg.buf);
		cmsg.hdr.cmsg_level = SOL_SOCKET;
		cmsg.hdr.cmsg_type = SCM_RIGHTS;
		cmsg.hdr.cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(&cmsg.hdr), &fd, sizeof(int));
	}
	do {
		n = sendmsg(ch, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/*
 * Receives one message of exactly @len bytes into @buf and at most one descriptor into *@fd
 * (-1 if none; close-on-exec). Returns @len, 0 at end of file, -EBADMSG for a message of any
 * other shape (its descriptors closed), or -errno.
 */
static ssize_t recv_with_fd(int ch, void *buf, size_t len, int *fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} cmsg;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	bool is_bad;
	ssize_t n;

	*fd = -1;
	msg.msg_control = cmsg.buf;
	msg.msg_controllen = sizeof(cmsg.buf);
	do {
		n = recvmsg(ch, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n < 0 ? -errno : 0;
	is_bad = (size_t)n != len || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		size_t nfds = c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS
				  ? (c->cmsg_len - CMSG_LEN(0)) / sizeof(int)
				  : 0;

		for (size_t i = 0; i < nfds; i++) {
			int one;

			memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (*fd < 0 && !is_bad) {
				*fd = one;
				continue;
			}
			close(one); /* more than one descriptor: the message is bad */
			is_bad = true;
		}
	}
	if (is_bad && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return is_bad ? -EBADMSG : n;
}

static bool is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* A UDP or TCP socket of an Internet family, as tapird's are: the only thing we mark. */
static int check_inet_socket(int fd)
{
	int domain = 0, type = 0, proto = 0;
	socklen_t len = sizeof(int);

	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		return -errno;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0)
		return -errno;
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	if (!(type == SOCK_DGRAM && proto == IPPROTO_UDP) &&
	    !(type == SOCK_STREAM && proto == IPPROTO_TCP))
		return -EPROTOTYPE;
	return 0;
}

/* A queue of the TUN/TAP driver (an fd of /dev/net/tun): the only thing we look up. */
static int check_tun(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != TUN_MISC_MAJOR ||
	    minor(st.st_rdev) != TUN_MISC_MINOR)
		return -ENOTTY;
	return 0;
}

/* PRIV_LISTEN_AT (the metrics endpoint, metrics_http.c): a TCP listener on one address and a
 * port the user named, nothing else in the request. */
static int serve_listen_at(const struct priv_req *req, int in_fd, int *out_fd)
{
	union tapir_sockaddr sa;
	int ret;

	if (in_fd >= 0 || req->fwmark)
		return -EINVAL;
	if (req->family != AF_INET && req->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (req->type != SOCK_STREAM)
		return -EPROTOTYPE;
	if (req->port == 0 || req->port > 65535)
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	if (req->family == AF_INET) {
		if (req->scope_id || !is_zero(req->addr + 4, sizeof(req->addr) - 4))
			return -EINVAL;
		sa.in.sin_family = AF_INET;
		sa.in.sin_port = htons((uint16_t)req->port);
		memcpy(&sa.in.sin_addr, req->addr, 4);
	} else {
		sa.in6.sin6_family = AF_INET6;
		sa.in6.sin6_port = htons((uint16_t)req->port);
		sa.in6.sin6_scope_id = req->scope_id;
		memcpy(&sa.in6.sin6_addr, req->addr, 16);
	}
	ret = tapir_sock_listen_at(&sa);
	if (ret < 0)
		return ret;
	*out_fd = ret;
	return 0;
}

/*
 * Serves one request with the lookups @lk (NULL: they could not be opened, -@lk_err);
 * *@out_fd gets a descriptor to hand back. Every field is checked.
 */
static int serve(const struct priv_req *req, int in_fd, int *out_fd, struct tapir_link *lk,
		 int lk_err)
{
	int ret;

	/* the address fields belong to PRIV_LISTEN_AT only */
	if (req->op != PRIV_LISTEN_AT && (req->scope_id || !is_zero(req->addr, sizeof(req->addr))))
		return -EINVAL;
	switch ((enum priv_op)req->op) {
	case PRIV_LISTEN_AT:
		return serve_listen_at(req, in_fd, out_fd);
	case PRIV_OPEN:
		if (in_fd >= 0)
			return -EINVAL;
		if (req->family != AF_INET && req->family != AF_INET6)
			return -EAFNOSUPPORT;
		if (req->type != SOCK_DGRAM && req->type != SOCK_STREAM)
			return -EPROTOTYPE;
		if (req->port > 65535)
			return -EINVAL;
		ret =
		    tapir_sock_open_bound(req->family, req->type, (uint16_t)req->port, req->fwmark);
		if (ret < 0)
			return ret;
		*out_fd = ret;
		return 0;
	case PRIV_SET_MARK:
		if (in_fd < 0 || req->family || req->type || req->port)
			return -EINVAL;
		ret = check_inet_socket(in_fd);
		return ret < 0 ? ret : tapir_sock_set_mark(in_fd, req->fwmark);
	case PRIV_LINK_MTU:
		if (in_fd < 0 || req->family || req->type || req->port || req->fwmark)
			return -EINVAL;
		ret = check_tun(in_fd);
		if (ret < 0)
			return ret;
		return lk ? tapir_link_away_mtu(lk, in_fd) : lk_err;
	case PRIV_UNLINK:
		break;
	}
	return -EINVAL;
}

/* Keeps the helper's capabilities (those it still has) and drops every other one. */
static int helper_caps(void)
{
	unsigned long long keep = tapir_privsep_helper_caps(), permitted = 0;
	int ret = cap_get(&permitted);

	if (ret < 0)
		return ret;
	drop_bounding(keep); /* root: the bounding set too; else a no-op without CAP_SETPCAP */
	return cap_set(keep & permitted);
}

static __attribute__((noreturn)) void helper_main(const struct tapir_sock_guard *g, int ch,
						  bool use_seccomp)
{
	struct tapir_link *lk = NULL;
	struct priv_req req;
	struct priv_resp resp;
	int lk_err;
	ssize_t n;

	if (ch != 3) {
		if (dup2(ch, 3) < 0)
			_exit(1);
		ch = 3;
	}
	close_range(4, ~0u, 0); /* TUN queues included: the interface must go when tapird does */
	if (helper_caps() < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(1);
	/* its netlink socket now: the helper's seccomp list allows no netlink socket */
	lk_err = tapir_link_open(&lk);
	if (use_seccomp && tapir_seccomp_is_supported() &&
	    tapir_seccomp_install(TAPIR_SECCOMP_HELPER) < 0)
		_exit(1);
	/* SIGINT/SIGTERM/SIGHUP stay blocked (inherited): only tapird's end decides */
	for (;;) {
		int in_fd, out_fd = -1;

		n = recv_with_fd(ch, &req, sizeof(req), &in_fd);
		if (n == 0 || (n < 0 && n != -EBADMSG))
			break; /* tapird is gone */
		if (n > 0 && req.op == PRIV_UNLINK && in_fd < 0)
			break;
		resp.result = n < 0 ? -EBADMSG : serve(&req, in_fd, &out_fd, lk, lk_err);
		if (in_fd >= 0)
			close(in_fd);
		n = send_with_fd(ch, &resp, sizeof(resp), out_fd);
		if (out_fd >= 0)
			close(out_fd);
		if (n < 0)
			break;
	}
	unlink_ours(g);
	resp.result = 0;
	if (send_with_fd(ch, &resp, sizeof(resp), -1) < 0) {
		/* tapird is gone: nobody waits for the answer */
	}
	/* straight to the kernel: a sanitizer's _exit hook would need more system calls */
	syscall(SYS_exit_group, 0);
	_exit(0);
}

/*
 * tapird's side: one request and its answer under g->lock. A malformed answer from our own
 * helper is fatal; a helper that is gone is -EPIPE.
 */
static int call(struct tapir_sock_guard *g, const struct priv_req *req, int send_fd, int *recv_fd)
{
	struct priv_resp resp;
	int fd = -1;
	ssize_t n;

	pthread_mutex_lock(&g->lock);
	n = send_with_fd(g->helper_fd, req, sizeof(*req), send_fd);
	if (n >= 0)
		n = recv_with_fd(g->helper_fd, &resp, sizeof(resp), &fd);
	pthread_mutex_unlock(&g->lock);
	if (n == -EBADMSG)
		fatal("privileged helper: malformed answer to request %u", (unsigned int)req->op);
	if (n <= 0)
		return -EPIPE; /* the helper is gone */
	/* a descriptor comes with success of an open or listen request, and only then; an MTU is
	 * positive */
	if ((resp.result > 0 && req->op != PRIV_LINK_MTU) ||
	    (fd >= 0) != (recv_fd && resp.result == 0))
		fatal("privileged helper: malformed answer to request %u", (unsigned int)req->op);
	if (recv_fd)
		*recv_fd = fd;
	return resp.result;
}

static int helper_open(void *ctx, int family, int type, uint16_t port, uint32_t fwmark)
{
	struct priv_req req = {
	    .op = PRIV_OPEN, .family = family, .type = type, .port = port, .fwmark = fwmark};
	int fd = -1, ret;

	ret = call(ctx, &req, -1, &fd);
	return ret < 0 ? ret : fd;
}

static int helper_listen_at(void *ctx, const union tapir_sockaddr *addr)
{
	struct priv_req req = {.op = PRIV_LISTEN_AT, .type = SOCK_STREAM};
	int fd = -1, ret;

	req.family = addr->sa.sa_family;
	if (addr->sa.sa_family == AF_INET) {
		req.port = ntohs(addr->in.sin_port);
		memcpy(req.addr, &addr->in.sin_addr, 4);
	} else if (addr->sa.sa_family == AF_INET6) {
		req.port = ntohs(addr->in6.sin6_port);
		req.scope_id = addr->in6.sin6_scope_id;
		memcpy(req.addr, &addr->in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	ret = call(ctx, &req, -1, &fd);
	return ret < 0 ? ret : fd;
}

static int helper_set_mark(void *ctx, int fd, uint32_t fwmark)
{
	struct priv_req req = {.op = PRIV_SET_MARK, .fwmark = fwmark};

	return call(ctx, &req, fd, NULL);
}

int tapir_privsep_link_mtu(struct tapir_sock_guard *g, int tun_fd)
{
	struct priv_req req = {.op = PRIV_LINK_MTU};

	return g->helper_fd < 0 ? -EOPNOTSUPP : call(g, &req, tun_fd, NULL);
}

int tapir_sock_guard_init(struct tapir_sock_guard *g, const char *path, bool use_helper,
			  bool use_seccomp)
{
	struct stat st;
	int sv[2];
	pid_t pid;

	memset(g, 0, sizeof(*g));
	g->helper_fd = -1;
	pthread_mutex_init(&g->lock, NULL);
	g->ops = (struct tapir_sock_ops){.open = helper_open,
					 .set_mark = helper_set_mark,
					 .listen_at = helper_listen_at,
					 .ctx = g};
	snprintf(g->path, sizeof(g->path), "%s", path);
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		g->dev = st.st_dev;
		g->ino = st.st_ino;
		g->ctime = st.st_ctim;
		g->has_file = true;
	}
	if (!use_helper)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
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

const struct tapir_sock_ops *tapir_sock_guard_ops(struct tapir_sock_guard *g)
{
	return g->helper_fd >= 0 ? &g->ops : &tapir_sock_ops_direct;
}

void tapir_sock_guard_release(struct tapir_sock_guard *g)
{
	struct priv_req req = {.op = PRIV_UNLINK};
	struct priv_resp resp;
	int fd;

	if (g->helper_fd < 0) {
		unlink_ours(g);
		return;
	}
	pthread_mutex_lock(&g->lock);
	if (send_with_fd(g->helper_fd, &req, sizeof(req), -1) > 0 &&
	    recv_with_fd(g->helper_fd, &resp, sizeof(resp), &fd) > 0 && fd >= 0)
		close(fd);
	close(g->helper_fd);
	g->helper_fd = -1;
	pthread_mutex_unlock(&g->lock);
	/* the helper exits by itself; init reaps it once we are gone (wait4 is not allowed) */
}
