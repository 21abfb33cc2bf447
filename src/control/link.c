// SPDX-License-Identifier: MIT
/*
 * Where the interface is. `ip link set IF netns B` moves a TUN device into another network
 * namespace while tapird and its sockets stay where they are ("home": WireGuard's namespace
 * integration, where the tunnel's UDP socket lives outside a container). The queue fds keep
 * working wherever the device goes. Home hears of the move as an RTM_DELLINK that carries
 * IFLA_NEW_NETNSID and IFLA_NEW_IFINDEX (rtnetlink.h); a real deletion has neither, and
 * detaches the queues, so the data path's reads and writes fail with EBADFD anywhere.
 *
 * Two users. tapird (no capability after the drop) only tells a move from a deletion
 * (tapir_link_is_move); at home it reads the MTU itself, by the name TUNGETIFF gives for its
 * queue fd, with SIOCGIFMTU. Once it has seen a move, it passes the queue fd to its privileged
 * helper (privsep.c), which runs tapir_link_away_mtu: TUNGETDEVNETNS gives the device's
 * namespace now, compared with home's (SIOCGSKNS on the netlink socket, recorded when the
 * helper starts); elsewhere an RTM_GETLINK from home names that namespace by the id home
 * knows it by (IFLA_TARGET_NETNSID, Linux 4.20), which RTM_GETNSID gives for the namespace
 * fd, and which the kernel assigns on a move (else RTM_NEWNSID assigns one). All of these but
 * TUNGETIFF need CAP_NET_ADMIN, which only the helper keeps; its netlink socket is opened
 * before it confines itself. A namespace entered with setns(2) would need CAP_SYS_ADMIN;
 * this way nobody leaves home. Nothing here changes the device.
 */
#include "link.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tun.h"

enum {
	LINK_BUF_BYTES = 16384, /* one RTM_NEWLINK without statistics, and the ack */
	MAX_REPLY_READS = 4,
};

struct tapir_link {
	struct mnl_socket *nl; /* requests only: bound to no multicast group */
	unsigned int portid;
	uint32_t seq;
	bool has_home;	/* home's identity is known; else every lookup is by name */
	dev_t home_dev; /* st_dev and st_ino of home's namespace file */
	ino_t home_ino;
	uint8_t buf[LINK_BUF_BYTES]; /* requests and replies */
};

/* Identity of the namespace that socket @fd belongs to (SIOCGSKNS). */
static int socket_netns(int fd, struct stat *st)
{
	int ns = ioctl(fd, SIOCGSKNS), ret = 0;

	if (ns < 0)
		return -errno;
	if (fstat(ns, st) < 0)
		ret = -errno;
	close(ns);
	return ret;
}

int tapir_link_open(struct tapir_link **out)
{
	struct tapir_link *lk = calloc(1, sizeof(*lk));
	struct stat st = {0};
	int ret;

	if (!lk)
		return -ENOMEM;
	lk->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!lk->nl || mnl_socket_bind(lk->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		tapir_link_close(lk);
		return ret;
	}
	lk->portid = mnl_socket_get_portid(lk->nl);
	/* without it (no CAP_NET_ADMIN) the device counts as at home: looked up by name */
	if (socket_netns(mnl_socket_get_fd(lk->nl), &st) == 0) {
		lk->has_home = true;
		lk->home_dev = st.st_dev;
		lk->home_ino = st.st_ino;
	}
	*out = lk;
	return 0;
}

void tapir_link_close(struct tapir_link *lk)
{
	if (!lk)
		return;
	if (lk->nl)
		mnl_socket_close(lk->nl);
	free(lk);
}

static int move_attr_cb(const struct nlattr *attr, void *data)
{
	bool *is_move = data;
	int type = mnl_attr_get_type(attr);

	if (type == IFLA_NEW_NETNSID || type == IFLA_NEW_IFINDEX)
		*is_move = true;
	return MNL_CB_OK;
}

bool tapir_link_is_move(const struct nlmsghdr *nlh)
{
	bool is_move = false;

	if (nlh->nlmsg_type != RTM_DELLINK ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return false;
	mnl_attr_parse(nlh, sizeof(struct ifinfomsg), move_attr_cb, &is_move);
	return is_move;
}

/* Starts a request of @type with NLM_F_ACK (so every answer ends with an ack or an error). */
static struct nlmsghdr *request_put(struct tapir_link *lk, uint16_t type)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(lk->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++lk->seq;
	return nlh;
}

/*
 * Sends @nlh and runs @cb on the answer. rtnetlink answers within the send, so the replies
 * are queued when sendto returns: the socket never blocks. Returns 0 or -errno.
 */
static int request_run(struct tapir_link *lk, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t seq = nlh->nlmsg_seq;

	if (mnl_socket_sendto(lk->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int i = 0; i < MAX_REPLY_READS; i++) {
		ssize_t n = mnl_socket_recvfrom(lk->nl, lk->buf, sizeof(lk->buf));
		int ret;

		if (n < 0)
			return -errno;
		ret = mnl_cb_run(lk->buf, (size_t)n, seq, lk->portid, cb, data);
		if (ret == MNL_CB_STOP)
			return 0;
		if (ret == MNL_CB_ERROR)
			return errno ? -errno : -EPROTO;
	}
	return -EPROTO;
}

static int nsid_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == NETNSA_NSID && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*(int32_t *)data = (int32_t)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int nsid_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWNSID)
		mnl_attr_parse(nlh, sizeof(struct rtgenmsg), nsid_attr_cb, data);
	return MNL_CB_OK;
}

/* RTM_GETNSID, or with @is_new RTM_NEWNSID (any free id), for namespace fd @ns. */
static int nsid_request(struct tapir_link *lk, int ns, bool is_new, int32_t *nsid)
{
	struct nlmsghdr *nlh = request_put(lk, is_new ? RTM_NEWNSID : RTM_GETNSID);
	struct rtgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->rtgen_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t)ns);
	if (is_new)
		mnl_attr_put_u32(nlh, NETNSA_NSID, (uint32_t)NETNSA_NSID_NOT_ASSIGNED);
	*nsid = NETNSA_NSID_NOT_ASSIGNED;
	return request_run(lk, nlh, nsid_cb, nsid);
}

/* The id home knows namespace fd @ns by; one is assigned if it has none. */
static int nsid_of(struct tapir_link *lk, int ns, int32_t *nsid)
{
	int ret = nsid_request(lk, ns, false, nsid);

	if (ret == 0 && *nsid == NETNSA_NSID_NOT_ASSIGNED) {
		ret = nsid_request(lk, ns, true, nsid);
		if (ret == 0)
			ret = nsid_request(lk, ns, false, nsid);
	}
	if (ret == 0 && *nsid < 0)
		ret = -ENOENT;
	return ret;
}

static int mtu_attr_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == IFLA_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*(int *)data = (int)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		mnl_attr_parse(nlh, sizeof(struct ifinfomsg), mtu_attr_cb, data);
	return MNL_CB_OK;
}

/* The MTU of interface @name in the namespace home knows as @nsid. */
static int mtu_in_netns(struct tapir_link *lk, int32_t nsid, const char *name)
{
	struct nlmsghdr *nlh = request_put(lk, RTM_GETLINK);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	int mtu = -ENODATA, ret;

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_TARGET_NETNSID, (uint32_t)nsid);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	ret = request_run(lk, nlh, link_cb, &mtu);
	return ret < 0 ? ret : mtu;
}

int tapir_link_away_mtu(struct tapir_link *lk, int tun_fd)
{
	char name[IFNAMSIZ];
	struct stat st;
	int32_t nsid;
	int ns, ret;

	ret = tapir_tun_get_name(tun_fd, name);
	if (ret < 0)
		return ret;
	ns = lk->has_home ? tapir_tun_open_netns(tun_fd) : -ENOTSUP;
	if (ns == -EBADFD)
		return ns;
	if (ns < 0) /* a kernel before 5.2: only the name is known, at home */
		return 0;
	if (fstat(ns, &st) < 0)
		ret = -errno;
	else if (st.st_dev == lk->home_dev && st.st_ino == lk->home_ino)
		ret = 0;
	else if ((ret = nsid_of(lk, ns, &nsid)) == 0 && (ret = mtu_in_netns(lk, nsid, name)) == 0)
		ret = -ENODATA; /* an MTU of 0 would read as "at home" */
	close(ns);
	return ret;
}
