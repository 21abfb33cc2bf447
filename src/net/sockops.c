// SPDX-License-Identifier: MIT
/*
 * The direct socket operations (sockops.h): what tapird does itself while it is still root,
 * and what its privileged helper runs for it afterwards. No argument checks here: the helper
 * validates a request before it calls these.
 */
#include "sockops.h"

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

#include "tcpsock.h"
#include "udp.h"

int tapir_sock_open_bound(int family, int type, uint16_t port, uint32_t fwmark)
{
	if (family != AF_INET && family != AF_INET6)
		return -EAFNOSUPPORT;
	if (type == SOCK_DGRAM)
		return tapir_udp_open_socket(family, port, fwmark);
	if (type == SOCK_STREAM)
		return tapir_tcpsock_listen_family(family, port, fwmark);
	return -EPROTOTYPE;
}

int tapir_sock_set_mark(int fd, uint32_t fwmark)
{
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		return -errno;
	return 0;
}

static int direct_open(void *ctx, int family, int type, uint16_t port, uint32_t fwmark)
{
	(void)ctx;
	return tapir_sock_open_bound(family, type, port, fwmark);
}

static int direct_set_mark(void *ctx, int fd, uint32_t fwmark)
{
	(void)ctx;
	return tapir_sock_set_mark(fd, fwmark);
}

const struct tapir_sock_ops tapir_sock_ops_direct = {
    .open = direct_open,
    .set_mark = direct_set_mark,
    .ctx = NULL,
};
