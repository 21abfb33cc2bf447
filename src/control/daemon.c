// SPDX-License-Identifier: MIT
/*
 * Control loop. One epoll set; every handler is short and non-blocking except UAPI replies,
 * which are bounded by a send timeout. Timers run on a 50 ms tick that looks at every peer once
 * a second and at the peers with a timer due soon in between (handshake.c), which keeps the
 * data path free of timer bookkeeping (workers only store atomic deadlines).
 */
#include "daemon.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "clock.h"
#include "device.h"
#include "link.h"
#include "log.h"
#include "privsep.h"
#include "tun.h"
#include "uapi.h"

enum {
	TICK_MS = 50,
	MAX_CLIENTS = 64,
	UAPI_SEND_TIMEOUT_S = 5,
};

enum event_kind {
	EV_SIGNAL,
	EV_UAPI_LISTEN,
	EV_TICK,
	EV_CONTROL,
	EV_NETLINK,
	EV_INOTIFY,
	EV_CLIENT,
};

struct tapir_daemon {
	struct tapir_device *dev;
	int epfd, sigfd, timerfd, inofd, uapi_fd;
	struct mnl_socket *nl;
	struct tapir_sock_guard *helper; /* reads the MTU once the device moved (link.c) */
	int mtu_seen;			 /* the device's MTU last read; 0 = none yet */
	bool has_moved;	     /* a move was seen and the device was not found at home since */
	bool is_away;	     /* the device is in another network namespace */
	bool has_mtu_failed; /* reading the MTU failed and was logged; reset on success */
	const char *sock_path;
	const char *sock_name;
	struct tapir_uapi_client *clients[MAX_CLIENTS];
	bool is_done;
	int result;
	uint64_t ticks;
};

static int add_fd(struct tapir_daemon *l, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void accept_client(struct tapir_daemon *l)
{
	struct timeval tv = {.tv_sec = UAPI_SEND_TIMEOUT_S};
	struct tapir_uapi_client *c;
	int fd = accept4(l->uapi_fd, NULL, NULL, SOCK_CLOEXEC);
	unsigned int slot;

	if (fd < 0)
		return;
	for (slot = 0; slot < MAX_CLIENTS && l->clients[slot]; slot++)
		;
	c = slot < MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
	if (!c) {
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c->fd = fd;
	l->clients[slot] = c;
	if (add_fd(l, fd, EV_CLIENT | (uint64_t)slot << 8) < 0) {
		tapir_uapi_client_free(c);
		l->clients[slot] = NULL;
	}
}

static void handle_client(struct tapir_daemon *l, unsigned int slot)
{
	struct tapir_uapi_client *c = slot < MAX_CLIENTS ? l->clients[slot] : NULL;

	if (!c)
		return;
	if (tapir_uapi_client_handle(l->dev, c) < 0) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		tapir_uapi_client_free(c);
		l->clients[slot] = NULL;
	}
}

static void stop(struct tapir_daemon *l, int result, const char *why)
{
	log_info("%s: %s, shutting down", l->dev->ifname, why);
	l->is_done = true;
	l->result = result;
}

/*
 * Link events of this namespace. A move of our device to another namespace comes as a
 * DELLINK too: the daemon stays, its sockets here, and forgets the ifindex, which belongs to
 * this namespace (a deletion over there shows in the data path as EBADFD).
 */
static int netlink_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tapir_daemon *l = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type != RTM_DELLINK || l->dev->ifindex <= 0 ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index != l->dev->ifindex)
		return MNL_CB_OK;
	if (!tapir_link_is_move(nlh)) {
		stop(l, 0, "interface removed");
		return MNL_CB_OK;
	}
	log_info("%s: interface moved to another network namespace; its sockets stay in this one",
		 l->dev->ifname);
	l->dev->ifindex = 0;
	l->has_moved = true;
	return MNL_CB_OK;
}

static void handle_netlink(struct tapir_daemon *l)
{
	static char buf[16384]; /* control thread only */
	ssize_t n = mnl_socket_recvfrom(l->nl, buf, sizeof(buf));

	if (n > 0)
		mnl_cb_run(buf, (size_t)n, 0, 0, netlink_cb, l);
}

static void handle_inotify(struct tapir_daemon *l)
{
	static char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(l->inofd, buf, sizeof(buf));

	for (ssize_t off = 0; n > 0 && off < n;) {
		const struct inotify_event *ev = (const void *)(buf + off);
		if (ev->len && !strcmp(ev->name, l->sock_name))
			stop(l, 0, "uapi socket deleted");
		off += (ssize_t)(sizeof(*ev) + ev->len);
	}
}

/*
 * Reads the device's MTU: by its name now (TUNGETIFF, a rename changes it) at home, from the
 * privileged helper once it has moved (it alone may look into other namespaces); notes a
 * return to this namespace.
 */
static void refresh_mtu(struct tapir_daemon *l)
{
	int tun_fd = l->dev->workers[0].tun_fd;
	char name[IFNAMSIZ];
	bool is_home = true;
	int mtu = tapir_tun_get_name(tun_fd, name);

	if (mtu == 0 && !l->has_moved)
		mtu = tapir_tun_get_mtu(name);
	/* the device is there (TUNGETIFF answered) but not here: moved, its DELLINK not read yet */
	if (mtu == -ENODEV)
		l->has_moved = true;
	if (l->has_moved && (mtu == 0 || mtu == -ENODEV)) {
		mtu = tapir_privsep_link_mtu(l->helper, tun_fd);
		is_home = mtu == 0;
		if (is_home)
			mtu = tapir_tun_get_mtu(name);
	}

	if (mtu <= 0) {
		if (mtu < 0 && mtu != -EBADFD && !l->has_mtu_failed)
			log_warn("%s: cannot read the interface's MTU: %s; keeping %d",
				 l->dev->ifname, strerror(-mtu), l->mtu_seen);
		l->has_mtu_failed = mtu != -EBADFD;
		return;
	}
	l->has_mtu_failed = false;
	l->has_moved = !is_home;
	if (is_home && l->dev->ifindex <= 0)
		l->dev->ifindex = tapir_tun_ifindex(name); /* moved back: its events count again */
	if (is_home != !l->is_away)
		log_info("%s: interface is %s network namespace now, named %s there",
			 l->dev->ifname, is_home ? "back in this" : "in another", name);
	l->is_away = !is_home;
	if (l->mtu_seen && mtu != l->mtu_seen)
		log_info("%s: mtu %d", l->dev->ifname, mtu);
	l->mtu_seen = mtu;
	/* padding is computed on the payload: in TAP mode a frame also carries its headers */
	atomic_store_explicit(&l->dev->mtu_cached,
			      mtu + (l->dev->is_tap ? TAPIR_L2_FRAME_OVERHEAD : 0),
			      memory_order_relaxed);
}

static void handle_tick(struct tapir_daemon *l)
{
	uint64_t expirations;

	if (read(l->timerfd, &expirations, sizeof(expirations)) < 0)
		return;
	refresh_mtu(l);
	tapir_handshake_tick(l->dev, tapir_now_ns());
	if (++l->ticks % (1000 / TICK_MS) == 0)
		tapir_l2_tick(l->dev, tapir_now_ns());
}

static void handle_control(struct tapir_daemon *l)
{
	uint64_t v;

	if (read(l->dev->control_event_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	if (atomic_load(&l->dev->is_stopping)) {
		int reason = atomic_load(&l->dev->stop_reason);
		stop(l, reason == -EBADFD ? 0 : reason, "data path stopped");
		return;
	}
	tapir_handshake_process_queues(l->dev);
}

static void dispatch(struct tapir_daemon *l, uint64_t tag)
{
	struct signalfd_siginfo si;

	switch ((enum event_kind)(tag & 0xff)) {
	case EV_SIGNAL:
		if (read(l->sigfd, &si, sizeof(si)) == sizeof(si))
			stop(l, 0, si.ssi_signo == SIGINT ? "interrupted" : "terminated");
		break;
	case EV_UAPI_LISTEN:
		accept_client(l);
		break;
	case EV_TICK:
		handle_tick(l);
		break;
	case EV_CONTROL:
		handle_control(l);
		break;
	case EV_NETLINK:
		handle_netlink(l);
		break;
	case EV_INOTIFY:
		handle_inotify(l);
		break;
	case EV_CLIENT:
		handle_client(l, (unsigned int)(tag >> 8));
		break;
	}
}

static int setup(struct tapir_daemon *l)
{
	struct itimerspec its = {
	    .it_interval = {.tv_nsec = TICK_MS * NSEC_PER_MSEC},
	    .it_value = {.tv_nsec = TICK_MS * NSEC_PER_MSEC},
	};
	sigset_t mask;
	char dir[256];
	const char *slash = strrchr(l->sock_path, '/');

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return -EINVAL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	l->timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	l->inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (l->epfd < 0 || l->sigfd < 0 || l->timerfd < 0 || l->inofd < 0)
		return -errno;
	if (timerfd_settime(l->timerfd, 0, &its, NULL) < 0)
		return -errno;
	l->sock_name = slash ? slash + 1 : l->sock_path;
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - l->sock_path) : 1,
		 slash ? l->sock_path : ".");
	if (inotify_add_watch(l->inofd, dir, IN_DELETE | IN_MOVED_FROM) < 0)
		return -errno;
	l->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!l->nl || mnl_socket_bind(l->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	if (add_fd(l, l->sigfd, EV_SIGNAL) || add_fd(l, l->uapi_fd, EV_UAPI_LISTEN) ||
	    add_fd(l, l->timerfd, EV_TICK) || add_fd(l, l->dev->control_event_fd, EV_CONTROL) ||
	    add_fd(l, mnl_socket_get_fd(l->nl), EV_NETLINK) || add_fd(l, l->inofd, EV_INOTIFY))
		return -errno;
	return 0;
}

static void teardown(struct tapir_daemon *l)
{
	for (unsigned int i = 0; i < MAX_CLIENTS; i++)
		tapir_uapi_client_free(l->clients[i]);
	if (l->nl)
		mnl_socket_close(l->nl);
	if (l->inofd >= 0)
		close(l->inofd);
	if (l->timerfd >= 0)
		close(l->timerfd);
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->epfd >= 0)
		close(l->epfd);
}

int tapir_daemon_open(struct tapir_daemon **out, struct tapir_device *dev, int uapi_fd,
		      const char *sock_path, bool is_path_ours)
{
	struct stat st;
	struct tapir_daemon *l = calloc(1, sizeof(*l));
	int ret;

	if (!l)
		return -ENOMEM;
	l->dev = dev;
	l->uapi_fd = uapi_fd;
	l->sock_path = sock_path;
	l->epfd = l->sigfd = l->timerfd = l->inofd = -1;
	ret = setup(l);
	if (ret < 0) {
		log_err("%s: cannot set up the control loop: %s", dev->ifname, strerror(-ret));
		tapir_daemon_close(l);
		return ret;
	}
	/* Our socket file exists since before the watch: a deletion in between shows here. */
	if (is_path_ours && lstat(sock_path, &st) < 0 && errno == ENOENT)
		stop(l, 0, "uapi socket deleted");
	*out = l;
	return 0;
}

void tapir_daemon_close(struct tapir_daemon *l)
{
	if (!l)
		return;
	teardown(l);
	free(l);
}

int tapir_daemon_run(struct tapir_daemon *l, struct tapir_sock_guard *helper)
{
	int ret = 0;

	l->helper = helper;
	/* the interface may have vanished between its creation and the netlink subscription */
	if (tapir_tun_ifindex(l->dev->ifname) != l->dev->ifindex)
		stop(l, 0, "interface removed");
	while (!l->is_done) {
		struct epoll_event evs[16];
		int n = epoll_wait(l->epfd, evs, 16, -1);

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		for (int i = 0; i < n && !l->is_done; i++)
			dispatch(l, evs[i].data.u64);
	}
	return l->is_done ? l->result : ret;
}
