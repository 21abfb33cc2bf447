// SPDX-License-Identifier: MIT
/*
 * Client side of the userspace configuration API (wireguard-protocol.md section 9): one
 * connection per operation on /var/run/wireguard/IFNAME.sock, a request of text lines ending
 * in a blank line, a reply ending in "errno=N" and a blank line. This is how wg(8) talks to
 * wireguard-go, so everything here works against tapird and stock daemons alike.
 *
 * It must not interpret the key=value lines of a reply (show.c and setconf.c do), and it
 * never unlinks sockets: wg(8) removes a socket nobody answers on, but a daemon between
 * bind() and listen() looks exactly like that, so tapir only skips such names.
 */
#include "uapi_client.h"

#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "crypto.h"
#include "secbuf.h"

static const char UAPI_DIR[] = "/var/run/wireguard";
static const char SOCK_SUFFIX[] = ".sock";

enum {
	IO_TIMEOUT_S = 15,		    /* per send/recv: a live daemon answers at once */
	REPLY_MAX_BYTES = 64 * 1024 * 1024, /* bigger than any sane peer table */
	REPLY_CHUNK_BYTES = 16 * 1024,
	WAIT_STEP_MS = 50,
};

/* Interface names as the kernel allows them; '/' would escape the socket directory. */
static bool is_valid_ifname(const char *ifname)
{
	size_t len = strlen(ifname);

	return len && len < IFNAMSIZ && !strchr(ifname, '/') && strcmp(ifname, ".") &&
	       strcmp(ifname, "..");
}

static int sock_path(struct sockaddr_un *sun, const char *ifname)
{
	int n;

	if (!is_valid_ifname(ifname))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s%s", UAPI_DIR, ifname,
		     SOCK_SUFFIX);
	return n < 0 || (size_t)n >= sizeof(sun->sun_path) ? -ENAMETOOLONG : 0;
}

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

	/* Best effort: without them a wedged daemon only makes the CLI wait. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

int tapir_uapi_stat(const char *ifname, struct stat *st)
{
	struct sockaddr_un sun;
	int r = sock_path(&sun, ifname);

	if (r)
		return r;
	return stat(sun.sun_path, st) < 0 ? -errno : 0;
}

int tapir_uapi_connect(const char *ifname)
{
	struct sockaddr_un sun;
	int fd, r;

	r = sock_path(&sun, ifname);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	set_timeouts(fd);
	return fd;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads one reply into a new NUL-terminated buffer (*out, owned by the caller); a get reply
 * holds the private and preshared keys, so the buffer grows as a secret buffer. Daemons
 * answer a request and wait for the next one on the same connection, so reading stops at
 * the first blank line, not at EOF; EOF before it is a protocol error.
 */
static int read_reply(int fd, char **out, size_t *len_out)
{
	size_t len = 0, cap = 0, scan = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (cap - len < REPLY_CHUNK_BYTES + 1) {
			size_t new_cap = cap ? cap * 2 : (size_t)REPLY_CHUNK_BYTES * 2;
			char *b = new_cap <= REPLY_MAX_BYTES
				      ? tapir_secbuf_grow(buf, len, cap, new_cap, 1)
				      : NULL;

			if (!b) {
				tapir_secbuf_free(buf, cap);
				return new_cap > REPLY_MAX_BYTES ? -EMSGSIZE : -ENOMEM;
			}
			buf = b;
			cap = new_cap;
		}
		n = recv(fd, buf + len, REPLY_CHUNK_BYTES, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? (errno == EAGAIN ? -ETIMEDOUT : -errno) : -EPROTO;

			tapir_secbuf_free(buf, cap);
			return r;
		}
		len += (size_t)n;
		/* Only the new bytes (and the one before them) can complete "\n\n". */
		if (memmem(buf + scan, len - scan, "\n\n", 2))
			break;
		scan = len - 1;
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	return 0;
}

/* Parses a decimal errno value; wireguard-go sends it negated, a positive one means the same. */
static int parse_errno(const char *s, size_t len, int *out)
{
	size_t i = len && s[0] == '-';
	int v = 0;

	if (i == len)
		return -EPROTO;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 100000)
			return -EPROTO;
		v = v * 10 + (s[i] - '0');
	}
	*out = -v;
	return 0;
}

/*
 * Splits a complete reply into its key=value lines and the final errno line. Returns the
 * daemon's errno (0 or negative) and sets *body_len to the length of the lines before it.
 */
static int split_reply(const char *buf, size_t len, size_t *body_len)
{
	const char *end = memmem(buf, len, "\n\n", 2);
	const char *line;
	int err;

	if (!end)
		return -EPROTO;
	/* The errno line is the last line before the blank one. */
	line = end;
	while (line > buf && line[-1] != '\n')
		line--;
	if ((size_t)(end - line) < 6 || memcmp(line, "errno=", 6))
		return -EPROTO;
	if (parse_errno(line + 6, (size_t)(end - line) - 6, &err))
		return -EPROTO;
	*body_len = (size_t)(line - buf);
	return err;
}

/*
 * One request/reply exchange on a fresh connection. *reply is owned by the caller.
 * *is_connected tells a missing interface from a daemon that did not answer properly.
 */
static int exchange(const char *ifname, const char *req, size_t req_len, char **reply,
		    size_t *reply_len, bool *is_connected)
{
	int fd = tapir_uapi_connect(ifname);
	int r;

	*is_connected = fd >= 0;
	if (fd < 0)
		return fd;
	r = send_all(fd, req, req_len);
	if (!r)
		r = read_reply(fd, reply, reply_len);
	close(fd);
	return r;
}

int tapir_uapi_set(const char *ifname, const char *body, size_t len)
{
	static const char head[] = "set=1\n";
	size_t req_len = sizeof(head) - 1 + len + 1, reply_len = 0, body_len;
	char *req, *reply = NULL;
	bool is_connected;
	int r;

	if (len && body[len - 1] != '\n')
		return -EINVAL;
	req = malloc(req_len);
	if (!req)
		return -ENOMEM;
	memcpy(req, head, sizeof(head) - 1);
	memcpy(req + sizeof(head) - 1, body, len);
	req[req_len - 1] = '\n';
	r = exchange(ifname, req, req_len, &reply, &reply_len, &is_connected);
	/* The request may carry private and preshared keys. */
	tapir_wipe(req, req_len);
	free(req);
	if (r)
		return r;
	r = split_reply(reply, reply_len, &body_len);
	free(reply);
	return r;
}

static int get_once(const char *ifname, const char *req, char **out, size_t *len_out,
		    bool *is_connected)
{
	size_t reply_len = 0, body_len;
	char *reply = NULL;
	int r;

	r = exchange(ifname, req, strlen(req), &reply, &reply_len, is_connected);
	if (r || !reply)
		return r ? r : -EPROTO;
	r = split_reply(reply, reply_len, &body_len);
	if (r) {
		tapir_wipe(reply, reply_len);
		free(reply);
		return r;
	}
	/* Cut after the last key=value line; the errno line and the blank line are dropped. */
	reply[body_len] = '\0';
	*out = reply;
	*len_out = body_len;
	return 0;
}

int tapir_uapi_get(const char *ifname, bool has_extensions, char **out, size_t *len_out)
{
	bool is_connected = false;
	int r;

	*out = NULL;
	*len_out = 0;
	if (has_extensions) {
		r = get_once(ifname, "get=tapir\n\n", out, len_out, &is_connected);
		/*
		 * A stock daemon refuses the request (errno=-22) or hangs up (wireguard-go):
		 * ask again the standard way. A failed connect would only fail again.
		 */
		if (!r || !is_connected)
			return r;
	}
	return get_once(ifname, "get=1\n\n", out, len_out, &is_connected);
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An existence probe as wg(8) makes it: connect and close without a request. */
static bool is_answering(const char *ifname)
{
	int fd = tapir_uapi_connect(ifname);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* Returns the interface name of a directory entry "IFNAME.sock", or NULL. Caller frees. */
static char *name_of_entry(const char *entry)
{
	size_t len = strlen(entry), suffix = sizeof(SOCK_SUFFIX) - 1;
	char *name;

	if (len <= suffix || strcmp(entry + len - suffix, SOCK_SUFFIX))
		return NULL;
	name = strndup(entry, len - suffix);
	if (name && (!is_valid_ifname(name) || !is_answering(name))) {
		free(name);
		return NULL;
	}
	return name;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int tapir_uapi_list(char ***names_out, size_t *n_out)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dir;

	*names_out = NULL;
	*n_out = 0;
	dir = opendir(UAPI_DIR);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir))) {
		char *name = name_of_entry(de->d_name);

		if (!name)
			continue;
		if (n == cap) {
			char **a = reallocarray(names, cap ? cap * 2 : 8, sizeof(*names));

			if (!a) {
				free(name);
				free_names(names, n);
				closedir(dir);
				return -ENOMEM;
			}
			names = a;
			cap = cap ? cap * 2 : 8;
		}
		names[n++] = name;
	}
	closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	*names_out = names;
	*n_out = n;
	return 0;
}

int tapir_uapi_wait(const char *ifname, int timeout_ms)
{
	int64_t deadline = tapir_cli_now_ms() + timeout_ms;

	for (;;) {
		if (is_answering(ifname))
			return 0;
		if (tapir_cli_now_ms() >= deadline)
			return -ETIMEDOUT;
		tapir_cli_sleep_ms(WAIT_STEP_MS);
	}
}
