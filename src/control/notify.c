// SPDX-License-Identifier: MIT
/*
 * sd_notify(3)'s wire protocol, written from its man page: the service manager binds a
 * datagram socket and names it in $NOTIFY_SOCKET (a path, or "@name" for the abstract
 * namespace, where the '@' stands for the leading NUL byte); a service sends it one datagram
 * of newline-separated assignments such as READY=1 and STATUS=text. No credentials or
 * descriptors are passed. This file neither waits for an answer (there is none) nor retries.
 */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int tapir_notify_open(int *fd_out)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t len = name ? strlen(name) : 0;
	socklen_t addr_len;
	int fd, r;

	*fd_out = -1;
	if (!len)
		return 0;
	if ((name[0] != '/' && name[0] != '@') || len < 2 || len > sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	/* an abstract name is exactly @len bytes long; a path ends at its NUL */
	addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
			       (name[0] == '/' && len < sizeof(sun.sun_path)));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sun, addr_len) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	unsetenv("NOTIFY_SOCKET");
	*fd_out = fd;
	return 0;
}

int tapir_notify_send(int fd, const char *state)
{
	size_t len = strlen(state);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = send(fd, state, len, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EMSGSIZE;
}

int tapir_notify(const char *state)
{
	int fd, r = tapir_notify_open(&fd);

	if (r || fd < 0)
		return r;
	r = tapir_notify_send(fd, state);
	close(fd);
	return r;
}
