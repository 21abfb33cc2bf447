// SPDX-License-Identifier: MIT
/*
 * Unit tests for the control messages of src/net/udp.c (sticky source addresses): what a
 * send writes (UDP_SEGMENT, IP_PKTINFO, IPV6_PKTINFO, nothing), what a receive reads (UDP_GRO,
 * v4-mapped and native IPV6_PKTINFO, IP_PKTINFO, non-unicast addresses ignored), and a real
 * exchange on loopback: a datagram sent to 127.0.0.2 is answered from 127.0.0.2 (not from
 * the default 127.0.0.1) once its local address is passed back, and a source that is not
 * local fails with an error the caller treats as "source gone".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "sockops.h"
#include "udp.h"

enum {
	GSO_SIZE = 1380,
	GRO_SIZE = 1400,
	IFINDEX = 3,
};

struct control {
	uint64_t buf[TAPIR_UDP_CMSG_BYTES / sizeof(uint64_t)];
};

static struct cmsghdr *find(struct msghdr *mh, int level, int type)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level == level && c->cmsg_type == type)
			return c;
	}
	return NULL;
}

static void test_put_nothing(void **state)
{
	struct control ctl;
	struct tapir_local_addr none = {0};
	struct msghdr mh = {.msg_control = &ctl, .msg_controllen = 1};

	(void)state;
	tapir_udp_put_cmsgs(&mh, ctl.buf, 0, &none);
	assert_null(mh.msg_control);
	assert_int_equal(mh.msg_controllen, 0);
}

static void test_put_segment_and_v4_source(void **state)
{
	struct control ctl;
	struct tapir_local_addr src = {.family = AF_INET, .ifindex = IFINDEX};
	struct msghdr mh = {0};
	struct in_pktinfo pi;
	struct cmsghdr *c;
	uint16_t seg;

	(void)state;
	inet_pton(AF_INET, "192.0.2.12", &src.in);
	tapir_udp_put_cmsgs(&mh, ctl.buf, GSO_SIZE, &src);
	assert_ptr_equal(mh.msg_control, ctl.buf);
	assert_int_equal(mh.msg_controllen, CMSG_SPACE(sizeof(seg)) + CMSG_SPACE(sizeof(pi)));
	c = find(&mh, SOL_UDP, UDP_SEGMENT);
	assert_non_null(c);
	memcpy(&seg, CMSG_DATA(c), sizeof(seg));
	assert_int_equal(seg, GSO_SIZE);
	c = find(&mh, IPPROTO_IP, IP_PKTINFO);
	assert_non_null(c);
	memcpy(&pi, CMSG_DATA(c), sizeof(pi));
	assert_int_equal(pi.ipi_ifindex, IFINDEX);
	assert_int_equal(pi.ipi_spec_dst.s_addr, src.in.s_addr);
	assert_int_equal(pi.ipi_addr.s_addr, 0);
}

static void test_put_v6_source(void **state)
{
	struct control ctl;
	struct tapir_local_addr src = {.family = AF_INET6, .ifindex = IFINDEX};
	struct msghdr mh = {0};
	struct in6_pktinfo pi;
	struct cmsghdr *c;

	(void)state;
	inet_pton(AF_INET6, "2001:db8:1::12", &src.in6);
	tapir_udp_put_cmsgs(&mh, ctl.buf, 0, &src);
	assert_int_equal(mh.msg_controllen, CMSG_SPACE(sizeof(pi)));
	assert_null(find(&mh, SOL_UDP, UDP_SEGMENT));
	c = find(&mh, IPPROTO_IPV6, IPV6_PKTINFO);
	assert_non_null(c);
	memcpy(&pi, CMSG_DATA(c), sizeof(pi));
	assert_int_equal(pi.ipi6_ifindex, IFINDEX);
	assert_memory_equal(&pi.ipi6_addr, &src.in6, sizeof(src.in6));
}

/* A received message's control data: UDP_GRO (if @gro) and an IPV6_PKTINFO for @addr. */
static void put_received(struct msghdr *mh, struct control *ctl, int gro, const char *addr)
{
	struct in6_pktinfo pi = {.ipi6_ifindex = IFINDEX};
	uint8_t *p = (uint8_t *)ctl->buf;
	struct cmsghdr *c;
	size_t len = 0;

	inet_pton(AF_INET6, addr, &pi.ipi6_addr);
	if (gro) {
		c = (struct cmsghdr *)(void *)p;
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_GRO;
		c->cmsg_len = CMSG_LEN(sizeof(gro));
		memcpy(CMSG_DATA(c), &gro, sizeof(gro));
		len = CMSG_SPACE(sizeof(gro));
	}
	c = (struct cmsghdr *)(void *)(p + len);
	c->cmsg_level = IPPROTO_IPV6;
	c->cmsg_type = IPV6_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	memset(mh, 0, sizeof(*mh));
	mh->msg_control = ctl->buf;
	mh->msg_controllen = len + CMSG_SPACE(sizeof(pi));
}

static void test_read_gro_and_v4_mapped(void **state)
{
	struct control ctl;
	struct tapir_local_addr local;
	struct msghdr mh;
	struct in_addr want;

	(void)state;
	put_received(&mh, &ctl, GRO_SIZE, "::ffff:192.0.2.12");
	assert_int_equal(tapir_udp_read_cmsgs(&mh, &local), GRO_SIZE);
	inet_pton(AF_INET, "192.0.2.12", &want);
	assert_int_equal(local.family, AF_INET);
	assert_int_equal(local.ifindex, IFINDEX);
	assert_int_equal(local.in.s_addr, want.s_addr);
}

static void test_read_v6(void **state)
{
	struct control ctl;
	struct tapir_local_addr local;
	struct msghdr mh;
	struct in6_addr want;

	(void)state;
	put_received(&mh, &ctl, 0, "2001:db8:1::12");
	assert_int_equal(tapir_udp_read_cmsgs(&mh, &local), 0);
	inet_pton(AF_INET6, "2001:db8:1::12", &want);
	assert_int_equal(local.family, AF_INET6);
	assert_memory_equal(&local.in6, &want, sizeof(want));
}

/* Datagrams to a multicast or broadcast address are not answered from it. */
static void test_read_not_unicast(void **state)
{
	static const char *const addrs[] = {"ff02::1", "::", "::ffff:255.255.255.255",
					    "::ffff:224.0.0.1", "::ffff:0.0.0.0"};
	struct control ctl;
	struct tapir_local_addr local;
	struct msghdr mh;

	(void)state;
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		put_received(&mh, &ctl, 0, addrs[i]);
		tapir_udp_read_cmsgs(&mh, &local);
		assert_int_equal(local.family, 0);
	}
}

static void test_local_addr_equal(void **state)
{
	struct tapir_local_addr a = {.family = AF_INET, .ifindex = 2}, b = a;

	(void)state;
	a.in.s_addr = htonl(0xc000020c);
	b.in.s_addr = htonl(0xc000020c);
	assert_true(tapir_local_addr_equal(&a, &b));
	b.ifindex = 3;
	assert_false(tapir_local_addr_equal(&a, &b));
	b.ifindex = 2;
	b.in.s_addr = htonl(0xc0000202);
	assert_false(tapir_local_addr_equal(&a, &b));
}

/* The peer's socket, bound to 127.0.0.1 (an ephemeral port). */
static int loopback_peer(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval tv = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * The loopback round trip: the peer (127.0.0.1) sends to 127.0.0.2 on our dual-stack
 * socket; we read the local address and answer with it as the source.
 */
static void test_loopback_sticky(void **state)
{
	struct sockaddr_in to = {.sin_family = AF_INET}, from;
	union tapir_sockaddr peer_addr, dst;
	struct tapir_local_addr local, bogus;
	struct control ctl;
	uint8_t buf[16];
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_name = &peer_addr,
			    .msg_namelen = sizeof(peer_addr),
			    .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	socklen_t flen = sizeof(from);
	int fd, peer, port;

	(void)state;
	port = tapir_udp_open(&fd, 1, 0, 0, &tapir_sock_ops_direct);
	assert_true(port > 0);
	peer = loopback_peer();
	to.sin_port = htons((uint16_t)port);
	to.sin_addr.s_addr = htonl(0x7f000002); /* 127.0.0.2: not the default source */
	assert_int_equal(sendto(peer, "ping", 4, 0, (struct sockaddr *)&to, sizeof(to)), 4);
	for (int tries = 0; tries < 200 && recvmsg(fd, &mh, MSG_DONTWAIT) < 0; tries++)
		usleep(10000);
	tapir_udp_read_cmsgs(&mh, &local);
	assert_int_equal(local.family, AF_INET);
	assert_int_equal(local.in.s_addr, to.sin_addr.s_addr);

	/* the answer goes from 127.0.0.2 */
	tapir_udp_sockaddr_normalise(&peer_addr);
	mh.msg_name = &dst;
	mh.msg_namelen = tapir_udp_sockaddr_for(tapir_udp_family(fd), &peer_addr, &dst);
	iov.iov_len = 4;
	tapir_udp_put_cmsgs(&mh, ctl.buf, 0, &local);
	assert_int_equal(sendmsg(fd, &mh, 0), 4);
	assert_int_equal(recvfrom(peer, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen), 4);
	assert_int_equal(from.sin_addr.s_addr, to.sin_addr.s_addr);

	/* a source that is not ours is refused with a "source gone" error */
	bogus = local;
	bogus.in.s_addr = htonl(0xc6336401); /* 198.51.100.1 */
	tapir_udp_put_cmsgs(&mh, ctl.buf, 0, &bogus);
	assert_true(sendmsg(fd, &mh, 0) < 0);
	assert_true(tapir_udp_is_stale_source(errno));
	close(peer);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_put_nothing),
	    cmocka_unit_test(test_put_segment_and_v4_source),
	    cmocka_unit_test(test_put_v6_source),
	    cmocka_unit_test(test_read_gro_and_v4_mapped),
	    cmocka_unit_test(test_read_v6),
	    cmocka_unit_test(test_read_not_unicast),
	    cmocka_unit_test(test_local_addr_equal),
	    cmocka_unit_test(test_loopback_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
