// SPDX-License-Identifier: MIT
/*
 * rtnetlink requests for tapir up/down and tapir demo, over libmnl: what wg-quick asks ip(8)
 * for (links, addresses, routes, "not fwmark" and "suppress_prefixlength" rules, route
 * lookups, bridge ports), done directly. Every request carries NLM_F_ACK and waits for the
 * kernel's answer, so a caller learns of a failure from the call that caused it.
 *
 * No policy here: what to add, in which order and how to undo it is up.c's business. This file
 * never prints and never runs ip(8).
 */
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

enum {
	BUF_BYTES = 32768,	       /* MNL_SOCKET_DUMP_SIZE: enough for one dump datagram */
	RULE_PRIORITY_DEFAULT = 32766, /* the main table's rule */
	RECV_TIMEOUT_S = 10,	       /* the kernel answers at once; never hang on it */
	LINK_KIND_BYTES = 32,	       /* IFLA_INFO_KIND: "bridge", "veth", "tun", ... */
};

struct tapir_nl {
	struct mnl_socket *sock;
	unsigned int portid;
	unsigned int seq;
	char *buf; /* request, then each reply datagram */
};

/* Opens the socket in the namespace at @ns_path: sockets stay in the namespace they were born in.
 */
static int open_in_ns(struct tapir_nl *nl, const char *ns_path)
{
	struct timeval timeout = {.tv_sec = RECV_TIMEOUT_S};
	int own = -1, target = -1, r = 0;

	if (ns_path) {
		own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		target = open(ns_path, O_RDONLY | O_CLOEXEC);
		if (own < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
			r = -errno;
			goto out;
		}
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) < 0)
		r = -errno;
	if (ns_path && setns(own, CLONE_NEWNET) < 0)
		r = -errno;
out:
	if (own >= 0)
		close(own);
	if (target >= 0)
		close(target);
	return r;
}

int tapir_nl_open(struct tapir_nl **out, const char *ns_path)
{
	struct tapir_nl *nl = calloc(1, sizeof(*nl));
	int r;

	*out = NULL;
	if (!nl)
		return -ENOMEM;
	nl->buf = malloc(BUF_BYTES);
	r = nl->buf ? open_in_ns(nl, ns_path) : -ENOMEM;
	if (r) {
		tapir_nl_close(nl);
		return r;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned int)getpid();
	*out = nl;
	return 0;
}

void tapir_nl_close(struct tapir_nl *nl)
{
	if (!nl)
		return;
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
	free(nl);
}

static struct nlmsghdr *new_msg(struct tapir_nl *nl, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	return nlh;
}

/* Sends @nlh and runs @cb on every answer until the ACK or the end of the dump. */
static int talk(struct tapir_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int r;

	/* NLM_F_DUMP shares bits with NLM_F_EXCL and NLM_F_REPLACE: only GET requests dump. */
	if ((nlh->nlmsg_type & 3) != 2 || (nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, BUF_BYTES);
		if (n < 0)
			return -errno;
		r = mnl_cb_run(nl->buf, (size_t)n, seq, nl->portid, cb, data);
	} while (r > MNL_CB_STOP);
	return r < 0 ? -errno : 0;
}

/* ---------------------------------------------------------------- links */

struct link_info {
	int ifindex;
	int mtu;
	char kind[LINK_KIND_BYTES]; /* "" for links without one (loopback, physical) */
};

static void link_kind(const struct nlattr *linkinfo, char kind[LINK_KIND_BYTES])
{
	struct nlattr *a; /* non-const: the libmnl iterators cast it */

	mnl_attr_for_each_nested(a, linkinfo)
	{
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND &&
		    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
			snprintf(kind, LINK_KIND_BYTES, "%s", mnl_attr_get_str(a));
	}
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct link_info *info = data;
	struct nlattr *a; /* non-const: the libmnl iterators cast it */

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	info->ifindex = ifi->ifi_index;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		if (mnl_attr_get_type(a) == IFLA_MTU && !mnl_attr_validate(a, MNL_TYPE_U32))
			info->mtu = (int)mnl_attr_get_u32(a);
		else if (mnl_attr_get_type(a) == IFLA_LINKINFO &&
			 !mnl_attr_validate(a, MNL_TYPE_NESTED))
			link_kind(a, info->kind);
	}
	return MNL_CB_OK;
}

static int link_get(struct tapir_nl *nl, const char *name, int ifindex, struct link_info *info)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_GETLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	int r;

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	if (name) {
		if (strlen(name) >= IFNAMSIZ)
			return -ENODEV;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	}
	memset(info, 0, sizeof(*info));
	r = talk(nl, nlh, link_cb, info);
	if (!r && info->ifindex <= 0)
		r = -ENODEV;
	return r;
}

int tapir_nl_link_lookup(struct tapir_nl *nl, const char *name, int *mtu_out)
{
	struct link_info info;
	int r = link_get(nl, name, 0, &info);

	if (r)
		return r;
	if (mtu_out)
		*mtu_out = info.mtu;
	return info.ifindex;
}

int tapir_nl_link_mtu(struct tapir_nl *nl, int ifindex)
{
	struct link_info info;
	int r = link_get(nl, NULL, ifindex, &info);

	return r ? r : info.mtu;
}

int tapir_nl_link_set(struct tapir_nl *nl, int ifindex, int mtu, bool is_up)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = is_up ? IFF_UP : 0;
	if (mtu > 0)
		mnl_attr_put_u32(nlh, IFLA_MTU, (uint32_t)mtu);
	return talk(nl, nlh, NULL, NULL);
}

int tapir_nl_link_del(struct tapir_nl *nl, int ifindex)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_DELLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return talk(nl, nlh, NULL, NULL);
}

int tapir_nl_bridge_lookup(struct tapir_nl *nl, const char *name)
{
	struct link_info info;
	int r = link_get(nl, name, 0, &info);

	if (r)
		return r;
	return strcmp(info.kind, "bridge") ? -EOPNOTSUPP : info.ifindex;
}

int tapir_nl_link_set_master(struct tapir_nl *nl, int ifindex, int master)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_NEWLINK, 0);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));

	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	return talk(nl, nlh, NULL, NULL);
}

int tapir_nl_veth_add(struct tapir_nl *nl, const char *name, int ns_fd, const char *peer,
		      int peer_ns_fd)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *linkinfo, *data, *peer_nest;
	struct ifinfomsg *peer_ifi;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (ns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)ns_fd);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	/* The peer is described like a link of its own: an ifinfomsg, then its attributes. */
	peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	peer_ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifi));
	peer_ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	if (peer_ns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_ns_fd);
	mnl_attr_nest_end(nlh, peer_nest);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return talk(nl, nlh, NULL, NULL);
}

int tapir_nl_bridge_add(struct tapir_nl *nl, const char *name)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	struct nlattr *linkinfo;

	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	mnl_attr_nest_end(nlh, linkinfo);
	return talk(nl, nlh, NULL, NULL);
}

/* ---------------------------------------------------------------- addresses and routes */

static size_t addr_len(int family)
{
	return family == AF_INET6 ? 16 : 4;
}

int tapir_nl_addr(struct tapir_nl *nl, bool is_add, int ifindex, int family, const void *addr,
		  uint8_t cidr)
{
	struct nlmsghdr *nlh =
	    new_msg(nl, is_add ? RTM_NEWADDR : RTM_DELADDR, is_add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = cidr;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(family), addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(family), addr);
	return talk(nl, nlh, NULL, NULL);
}

struct addr_list {
	int ifindex;
	uint8_t (*out)[16];
	size_t max, n;
};

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct addr_list *list = data;
	const void *local = NULL, *address = NULL;
	size_t len = addr_len(ifa->ifa_family);
	struct nlattr *a; /* non-const: the libmnl iterators cast it */

	if (nlh->nlmsg_type != RTM_NEWADDR || (int)ifa->ifa_index != list->ifindex ||
	    list->n >= list->max)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_payload_len(a) != len)
			continue;
		if (mnl_attr_get_type(a) == IFA_LOCAL)
			local = mnl_attr_get_payload(a);
		else if (mnl_attr_get_type(a) == IFA_ADDRESS)
			address = mnl_attr_get_payload(a);
	}
	if (!local)
		local = address;
	if (local) {
		memset(list->out[list->n], 0, 16);
		memcpy(list->out[list->n++], local, len);
	}
	return MNL_CB_OK;
}

int tapir_nl_addr_list(struct tapir_nl *nl, int ifindex, int family, uint8_t (*out)[16], size_t max,
		       size_t *n_out)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_GETADDR, NLM_F_DUMP);
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	struct addr_list list = {.ifindex = ifindex, .out = out, .max = max};
	int r;

	ifa->ifa_family = (uint8_t)family;
	r = talk(nl, nlh, addr_cb, &list);
	*n_out = list.n;
	return r;
}

static void put_rt_table(struct rtmsg *rtm, struct nlmsghdr *nlh, uint32_t table)
{
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
}

int tapir_nl_route(struct tapir_nl *nl, bool is_add, int ifindex, int family, const void *dst,
		   uint8_t cidr, uint32_t table)
{
	struct nlmsghdr *nlh = new_msg(nl, is_add ? RTM_NEWROUTE : RTM_DELROUTE,
				       is_add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = cidr;
	rtm->rtm_type = RTN_UNICAST;
	/* As ip(8): a gatewayless route is link scope; a delete matches any scope. */
	rtm->rtm_protocol = is_add ? RTPROT_BOOT : 0;
	rtm->rtm_scope = is_add ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	put_rt_table(rtm, nlh, table);
	if (cidr)
		mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return talk(nl, nlh, NULL, NULL);
}

/* ---------------------------------------------------------------- rules */

static struct nlmsghdr *rule_msg(struct tapir_nl *nl, bool is_add, int family, uint32_t table,
				 uint32_t priority, uint8_t flags)
{
	struct nlmsghdr *nlh =
	    new_msg(nl, is_add ? RTM_NEWRULE : RTM_DELRULE, is_add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));

	frh->family = (uint8_t)family;
	frh->action = FR_ACT_TO_TBL;
	frh->flags = flags;
	frh->table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, priority);
	return nlh;
}

int tapir_nl_rule_not_fwmark(struct tapir_nl *nl, bool is_add, int family, uint32_t fwmark,
			     uint32_t table, uint32_t priority)
{
	struct nlmsghdr *nlh = rule_msg(nl, is_add, family, table, priority, FIB_RULE_INVERT);

	mnl_attr_put_u32(nlh, FRA_FWMARK, fwmark);
	return talk(nl, nlh, NULL, NULL);
}

int tapir_nl_rule_suppress(struct tapir_nl *nl, bool is_add, int family, uint32_t table,
			   uint32_t priority)
{
	struct nlmsghdr *nlh = rule_msg(nl, is_add, family, table, priority, 0);

	mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, 0);
	return talk(nl, nlh, NULL, NULL);
}

/* Collects the smallest non-zero priority of the dumped rules. */
static int rule_prio_cb(const struct nlmsghdr *nlh, void *data)
{
	uint32_t *min = data, prio = 0;
	struct nlattr *a; /* non-const: the libmnl iterators cast it */

	if (nlh->nlmsg_type != RTM_NEWRULE)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(struct fib_rule_hdr))
	{
		if (mnl_attr_get_type(a) == FRA_PRIORITY && !mnl_attr_validate(a, MNL_TYPE_U32))
			prio = mnl_attr_get_u32(a);
	}
	if (prio && prio < *min)
		*min = prio;
	return MNL_CB_OK;
}

int tapir_nl_rule_next_priority(struct tapir_nl *nl, int family, uint32_t *priority)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_GETRULE, NLM_F_DUMP);
	struct fib_rule_hdr *frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	uint32_t min = RULE_PRIORITY_DEFAULT;
	int r;

	frh->family = (uint8_t)family;
	r = talk(nl, nlh, rule_prio_cb, &min);
	if (r)
		return r;
	if (min < 2)
		return -ENOSPC;
	*priority = min - 1;
	return 0;
}

/* ---------------------------------------------------------------- route lookups */

struct route_info {
	uint32_t table; /* only routes of this table (0: any) */
	bool is_default_only;
	bool is_found;
	int ifindex;
	int mtu; /* from the route's metrics, 0 if none */
};

static int metrics_mtu(const struct nlattr *metrics)
{
	struct nlattr *a; /* non-const: the libmnl iterators cast it */

	mnl_attr_for_each_nested(a, metrics)
	{
		if (mnl_attr_get_type(a) == RTAX_MTU && !mnl_attr_validate(a, MNL_TYPE_U32))
			return (int)mnl_attr_get_u32(a);
	}
	return 0;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route_info *info = data;
	uint32_t table = rtm->rtm_table;
	struct nlattr *a; /* non-const: the libmnl iterators cast it */
	int ifindex = 0, mtu = 0;

	if (nlh->nlmsg_type != RTM_NEWROUTE || info->is_found)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		uint16_t type = mnl_attr_get_type(a);

		if (type == RTA_TABLE && !mnl_attr_validate(a, MNL_TYPE_U32))
			table = mnl_attr_get_u32(a);
		else if (type == RTA_OIF && !mnl_attr_validate(a, MNL_TYPE_U32))
			ifindex = (int)mnl_attr_get_u32(a);
		else if (type == RTA_METRICS && !mnl_attr_validate(a, MNL_TYPE_NESTED))
			mtu = metrics_mtu(a);
	}
	if (info->table && table != info->table)
		return MNL_CB_OK;
	if (info->is_default_only && (rtm->rtm_dst_len || rtm->rtm_type != RTN_UNICAST))
		return MNL_CB_OK;
	info->is_found = true;
	info->ifindex = ifindex;
	info->mtu = mtu;
	return MNL_CB_OK;
}

int tapir_nl_route_get(struct tapir_nl *nl, const union tapir_sockaddr *dst, int *ifindex, int *mtu)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	struct route_info info = {0};
	int family = dst->sa.sa_family;
	int r;

	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = family == AF_INET ? 32 : 128;
	if (family == AF_INET)
		mnl_attr_put(nlh, RTA_DST, 4, &dst->in.sin_addr);
	else
		mnl_attr_put(nlh, RTA_DST, 16, &dst->in6.sin6_addr);
	r = talk(nl, nlh, route_cb, &info);
	if (r)
		return r;
	if (!info.is_found)
		return -ENETUNREACH;
	if (!info.mtu && info.ifindex > 0) {
		info.mtu = tapir_nl_link_mtu(nl, info.ifindex);
		if (info.mtu < 0)
			return info.mtu;
	}
	if (ifindex)
		*ifindex = info.ifindex;
	if (mtu)
		*mtu = info.mtu;
	return 0;
}

static int route_dump(struct tapir_nl *nl, int family, struct route_info *info)
{
	struct nlmsghdr *nlh = new_msg(nl, RTM_GETROUTE, NLM_F_DUMP);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)family;
	return talk(nl, nlh, route_cb, info);
}

int tapir_nl_default_route_mtu(struct tapir_nl *nl, int family)
{
	struct route_info info = {.table = RT_TABLE_MAIN, .is_default_only = true};
	int r = route_dump(nl, family, &info);

	if (r)
		return r;
	if (!info.is_found || info.ifindex <= 0)
		return -ENOENT;
	return info.mtu ? info.mtu : tapir_nl_link_mtu(nl, info.ifindex);
}

int tapir_nl_table_is_empty(struct tapir_nl *nl, int family, uint32_t table)
{
	struct route_info info = {.table = table};
	int r = route_dump(nl, family, &info);

	return r ? r : !info.is_found;
}
