// SPDX-License-Identifier: MIT
/*
 * tapir mesh: the agent's files in its state directory (/run/tapir/mesh, or --state-dir):
 * NAME.state (subnet, lease, pid: how a restarted agent asks for its subnet back and how
 * `tapir mesh leave` finds the agent) and subnet.env (NETWORK, SUBNET, MTU, IPMASQ, for
 * containers, as Flannel writes /run/flannel/subnet.env); the agent's NAME.revlist (the newest
 * revocation list it verified) and NAME.trust (its trust state, for tapir mesh status) go
 * through tapir_mesh_state_put. All are written to a temporary file and renamed, so a reader
 * never sees half of one.
 */
#include "mesh.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	PATH_BYTES = 512, /* --state-dir is checked against it */
	LINE_BYTES = 128,
};

static int make_dirs(const char *dir)
{
	char path[PATH_BYTES];
	size_t len = strlen(dir);

	if (!len || len >= sizeof(path))
		return -EINVAL;
	memcpy(path, dir, len + 1);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_atomic(const char *dir, const char *name, const char *text)
{
	char path[PATH_BYTES], tmp[PATH_BYTES];
	size_t len = strlen(text);
	int fd, r = make_dirs(dir);

	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r ? r : -EIO;
	}
	close(fd);
	return rename(tmp, path) < 0 ? -errno : 0;
}

int tapir_mesh_state_put(const char *dir, const char *file, const char *text)
{
	return write_atomic(dir, file, text);
}

int tapir_mesh_state_write(const char *dir, const char *name, const struct tapir_mesh_state *st)
{
	char text[LINE_BYTES * 3], file[TAPIR_MESH_NAME_MAX + 8];

	snprintf(file, sizeof(file), "%s.state", name);
	snprintf(text, sizeof(text), "subnet=%" PRIu32 "\nlease=%" PRIx64 "\npid=%ld\n", st->subnet,
		 (uint64_t)st->lease, st->pid);
	return write_atomic(dir, file, text);
}

static void parse_line(struct tapir_mesh_state *st, const char *line)
{
	unsigned long long v;
	char *end;

	if (!strncmp(line, "subnet=", 7)) {
		v = strtoull(line + 7, &end, 10);
		if (*end == '\n' && v < (1u << TAPIR_MESH_SUBNET_BITS_MAX)) {
			st->subnet = (uint32_t)v;
			st->has_subnet = true;
		}
	} else if (!strncmp(line, "lease=", 6)) {
		v = strtoull(line + 6, &end, 16);
		if (*end == '\n')
			st->lease = (int64_t)v;
	} else if (!strncmp(line, "pid=", 4)) {
		v = strtoull(line + 4, &end, 10);
		if (*end == '\n' && v < (1ull << 22))
			st->pid = (long)v;
	}
}

int tapir_mesh_state_read(const char *dir, const char *name, struct tapir_mesh_state *st)
{
	char path[PATH_BYTES], line[LINE_BYTES];
	FILE *f;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "%s/%s.state", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (int i = 0; i < 16 && fgets(line, sizeof(line), f); i++)
		parse_line(st, line);
	fclose(f);
	return 0;
}

int tapir_mesh_env_write(const char *dir, const struct tapir_mesh_net *net, uint32_t subnet)
{
	struct in_addr cidr = {.s_addr = htonl(net->cidr_addr)};
	struct in_addr first = {.s_addr = htonl(tapir_mesh_subnet_addr(net, subnet) + 1)};
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], text[LINE_BYTES * 4];

	inet_ntop(AF_INET, &cidr, a, sizeof(a));
	inet_ntop(AF_INET, &first, b, sizeof(b));
	snprintf(text, sizeof(text), "NETWORK=%s/%u\nSUBNET=%s/%u\nMTU=%u\nIPMASQ=false\n", a,
		 net->cidr_len, b, net->subnet_len, tapir_mesh_link_mtu(net));
	return write_atomic(dir, "subnet.env", text);
}

void tapir_mesh_state_remove(const char *dir, const char *name)
{
	char path[PATH_BYTES];

	snprintf(path, sizeof(path), "%s/%s.state", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.trust", dir, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/subnet.env", dir);
	unlink(path);
}
