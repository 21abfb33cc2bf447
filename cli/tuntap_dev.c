// SPDX-License-Identifier: MIT
/*
 * tapir tuntap: the device helpers add, del, show (tuntap.c) and watch (tuntap_watch_cmd.c)
 * share. What the kernel says about a device comes from /sys/class/net/NAME (ifindex,
 * tun_flags, owner, group), checked against this network namespace's ifindex; attaching to an
 * existing device goes through /dev/net/tun with the flags it already has, since TUNSETIFF
 * replaces them. Also the messages: "tapir tuntap: ..." on stderr, one per failure.
 */
#include "tuntap_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void tapir_tuntap_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("tapir tuntap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int tapir_tuntap_usage_hint(const char *verb)
{
	fprintf(stderr, "Try 'tapir tuntap %s --help'.\n", verb);
	return EXIT_USAGE;
}

bool tapir_tuntap_is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

/* The kernel's rules for interface names (dev_valid_name). */
bool tapir_tuntap_is_valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))
			return false;
	return true;
}

int tapir_tuntap_parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

/* Reads one number (decimal, or hex with 0x) from /sys/class/net/@dev/@attr. */
static int read_attr(const char *dev, const char *attr, long *out)
{
	char path[64], text[32], *end;
	ssize_t n;
	int fd, r = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", dev, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0)
		r = -errno;
	close(fd);
	if (r)
		return r;
	text[n] = '\0';
	errno = 0;
	*out = strtol(text, &end, 0);
	if (errno || end == text || (*end && *end != '\n'))
		return -EPROTO;
	return 0;
}

/*
 * Fills @info for @name. -ENODEV: no such device in this network namespace; -EOPNOTSUPP: not
 * a TUN/TAP device; -ESTALE: /sys shows another network namespace (sysfs was not remounted).
 */
int tapir_tuntap_info_get(const char *name, struct tuntap_info *info)
{
	unsigned int ifindex = if_nametoindex(name);
	int r;

	if (!ifindex)
		return -ENODEV;
	snprintf(info->name, sizeof(info->name), "%s", name);
	r = read_attr(name, "ifindex", &info->ifindex);
	if (r == -ENOENT && !if_nametoindex(name))
		return -ENODEV; /* deleted meanwhile */
	if (r || info->ifindex != (long)ifindex)
		return -ESTALE;
	r = read_attr(name, "tun_flags", &info->flags);
	if (r == -ENOENT)
		return -EOPNOTSUPP;
	if (!r)
		r = read_attr(name, "owner", &info->owner);
	if (!r)
		r = read_attr(name, "group", &info->group);
	return r;
}

/* Prints why tapir_tuntap_info_get() failed for @name. */
void tapir_tuntap_fail_info(const char *name, int err)
{
	if (err == -ENODEV)
		tapir_tuntap_fail("no such device: %s", name);
	else if (err == -EOPNOTSUPP)
		tapir_tuntap_fail("%s is not a TUN/TAP device", name);
	else if (err == -ESTALE)
		tapir_tuntap_fail(
		    "/sys/class/net does not match this network namespace (mount sysfs again, "
		    "as ip netns exec does)");
	else
		tapir_tuntap_fail("cannot read /sys/class/net/%s: %s", name, strerror(-err));
}

const char *tapir_tuntap_mode_name(long flags)
{
	return flags & IFF_TAP ? "tap" : "tun";
}

/*
 * Opens /dev/net/tun and attaches to the existing device @info->name with the flags it has.
 * Returns the new file descriptor (owned by the caller) or -errno.
 */
int tapir_tuntap_attach(const struct tuntap_info *info)
{
	struct ifreq ifr;
	int fd, r;

	fd = open(tun_clone_path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, info->name, sizeof(ifr.ifr_name));
	ifr.ifr_flags = (short)(info->flags & ~(long)IFF_PERSIST);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

void tapir_tuntap_fail_attach(const struct tuntap_info *info, int err)
{
	if (err == -EBUSY)
		tapir_tuntap_fail("%s is in use by another process", info->name);
	else if (err == -EPERM)
		tapir_tuntap_fail("%s: permission denied (owner %ld, group %ld)", info->name,
				  info->owner, info->group);
	else
		tapir_tuntap_fail("cannot attach to %s: %s", info->name, strerror(-err));
}
