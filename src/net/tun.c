// SPDX-License-Identifier: MIT
/*
 * TUN device plumbing through /dev/net/tun and SIOC* ioctls (the seeds' first program, made
 * robust): every failure comes back as -errno; nothing here reads or writes packets.
 */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int tapir_tun_open(const char *name, bool is_tap, bool is_multi_queue, bool has_vnet_hdr,
		   char name_out[IFNAMSIZ])
{
	struct ifreq ifr;
	int fd, ret;

	if (strlen(name) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (is_tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI;
	if (is_multi_queue)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (has_vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	return fd;
}

int tapir_tun_get_name(int fd, char name_out[IFNAMSIZ])
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	return 0;
}

static int ifreq_ioctl(const char *name, unsigned long req, struct ifreq *ifr)
{
	int s, ret = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	strncpy(ifr->ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

int tapir_tun_set_mtu(const char *name, int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	return ifreq_ioctl(name, SIOCSIFMTU, &ifr);
}

int tapir_tun_get_mtu(const char *name)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(name, SIOCGIFMTU, &ifr);
	return ret < 0 ? ret : ifr.ifr_mtu;
}

/* Linux 5.2; older headers lack it */
#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

int tapir_tun_open_netns(int fd)
{
	int ns = ioctl(fd, TUNGETDEVNETNS);

	return ns < 0 ? -errno : ns;
}

/*
 * SIOCGIFINDEX on an AF_INET socket, not if_nametoindex(3): glibc's opens an AF_UNIX one, a
 * family tapird's seccomp list does not allow after start-up.
 */
int tapir_tun_ifindex(const char *name)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(name, SIOCGIFINDEX, &ifr);
	return ret < 0 ? -ENODEV : ifr.ifr_ifindex;
}

/* Linux 6.2 added UDP segmentation offload to TUN; bookworm's headers predate it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

int tapir_tun_set_offload(int fd, bool *has_uso)
{
	unsigned int flags = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6;

	/* USO where the kernel has it, else TCP only */
	*has_uso = ioctl(fd, TUNSETOFFLOAD, flags | TUN_F_USO4 | TUN_F_USO6) == 0;
	if (!*has_uso && ioctl(fd, TUNSETOFFLOAD, flags) < 0)
		return -errno;
	return 0;
}

bool tapir_tun_has_vnet_hdr(int fd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
}
