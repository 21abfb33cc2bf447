// SPDX-License-Identifier: MIT
/*
 * tapir up / down: which file, and what it says. The target is IFNAME (looked up in
 * /etc/tapir, then /etc/wireguard) or a path whose name is IFNAME.conf, as wg-quick(8) takes
 * it. The file is read whole (up to 1 MiB) and parsed by the one config parser (config.c)
 * before anything changes; a file with hooks must pass confperm.c's ownership check. Endpoint
 * host names are resolved here, in tapir, never by tapird.
 *
 * Nothing here touches the network namespace or starts a process.
 */
#include "up.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "confperm.h"
#include "resolve.h"
#include "util.h"

enum {
	CONFIG_MAX_BYTES = 1024 * 1024,
};

static bool is_ifname_text(const char *s, size_t len)
{
	if (!len || len >= IFNAMSIZ)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    !strchr("_=+.-", c))
			return false;
	}
	return !(len == 1 && s[0] == '.') && !(len == 2 && !memcmp(s, "..", 2));
}

static char *config_for_name(const char *ifname)
{
	static const char *const dirs[] = {"/etc/tapir", "/etc/wireguard"};
	char *path;

	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(dirs); i++) {
		if (asprintf(&path, "%s/%s.conf", dirs[i], ifname) < 0)
			return NULL;
		if (!access(path, F_OK))
			return path;
		free(path);
	}
	return NULL;
}

/* IFNAME (looked up in /etc/tapir, then /etc/wireguard) or a path ending in IFNAME.conf. */
int tapir_up_resolve_target(struct tapir_up *qk, const char *arg)
{
	const char *base = strrchr(arg, '/');
	size_t len = strlen(arg);

	if (!base && (len < 5 || strcmp(arg + len - 5, ".conf") != 0)) {
		if (!is_ifname_text(arg, len)) {
			fprintf(stderr, "tapir: `%s' is not a valid interface name\n", arg);
			return -EINVAL;
		}
		memcpy(qk->ifname, arg, len + 1);
		qk->config_path = config_for_name(arg);
		return 0;
	}
	qk->is_by_path = true;
	base = base ? base + 1 : arg;
	len = strlen(base);
	if (len < 5 || strcmp(base + len - 5, ".conf") != 0 || !is_ifname_text(base, len - 5)) {
		fprintf(
		    stderr,
		    "tapir: the config file must be a valid interface name followed by .conf\n");
		return -EINVAL;
	}
	memcpy(qk->ifname, base, len - 5);
	qk->ifname[len - 5] = '\0';
	qk->config_path = realpath(arg, NULL);
	if (!qk->config_path) {
		fprintf(stderr, "tapir: %s: %s\n", arg, strerror(errno));
		return -errno;
	}
	return 0;
}

static int read_file(const char *path, char **out, size_t *len_out, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || st->st_size > CONFIG_MAX_BYTES) {
		int r = st->st_size > CONFIG_MAX_BYTES ? -EFBIG : -errno;

		close(fd);
		return r;
	}
	buf = malloc((size_t)st->st_size + 1);
	n = buf ? read(fd, buf, (size_t)st->st_size) : -1;
	close(fd);
	if (n < 0) {
		free(buf);
		return buf ? -errno : -ENOMEM;
	}
	*out = buf;
	*len_out = (size_t)n;
	return 0;
}

/* The first hook key the file uses, or NULL. */
static const char *first_hook(const struct tapir_quick_conf *c)
{
	return c->n_pre_up	? "PreUp"
	       : c->n_post_up	? "PostUp"
	       : c->n_pre_down	? "PreDown"
	       : c->n_post_down ? "PostDown"
				: NULL;
}

int tapir_up_load_config(struct tapir_up *qk)
{
	char err[TEXT_BYTES];
	struct stat st = {0};
	const char *hook;
	size_t len = 0;
	char *text = NULL;
	int r;

	if (!qk->config_path) {
		fprintf(stderr, "tapir: no /etc/tapir/%s.conf or /etc/wireguard/%s.conf\n",
			qk->ifname, qk->ifname);
		return -ENOENT;
	}
	r = read_file(qk->config_path, &text, &len, &st);
	if (r) {
		fprintf(stderr, "tapir: %s: %s\n", qk->config_path, strerror(-r));
		return r;
	}
	r = tapir_config_parse(text, len, qk->config_path, false, &qk->conf, err, sizeof(err));
	explicit_bzero(text, len);
	free(text);
	if (r) {
		fprintf(stderr, "tapir: %s\n", err);
		return r;
	}
	qk->has_conf = true;
	hook = first_hook(&qk->conf);
	if (hook && tapir_confperm_check_hooks(qk->config_path, &st, hook))
		return -EPERM;
	if ((st.st_mode & S_IROTH) && qk->conf.wg.has_private_key)
		fprintf(stderr, "Warning: `%s' is world accessible\n", qk->config_path);
	return 0;
}

int tapir_up_resolve_endpoints(struct tapir_up *qk)
{
	struct tapir_quick_conf *q = &qk->conf;

	for (size_t i = 0; i < q->wg.n_peers; i++) {
		struct tapir_config_endpoint *ep = &q->endpoints[i];
		char port[8], who[TEXT_BYTES * 4];

		if (!ep->host || q->wg.peers[i].has_endpoint)
			continue;
		snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
		snprintf(who, sizeof(who), "tapir: %s:%zu: Endpoint", qk->config_path, ep->line);
		if (tapir_resolve_endpoint(who, ep->host, port, &q->wg.peers[i].endpoint))
			return -EINVAL;
		q->wg.peers[i].has_endpoint = true;
	}
	return 0;
}

char *tapir_up_config_path(const char *arg)
{
	struct tapir_up qk = {.state_fd = -1};
	char *path = NULL;

	if (!tapir_up_resolve_target(&qk, arg)) {
		path = qk.config_path;
		qk.config_path = NULL;
		if (!path)
			fprintf(stderr, "tapir: no /etc/tapir/%s.conf or /etc/wireguard/%s.conf\n",
				qk.ifname, qk.ifname);
	}
	tapir_up_free(&qk);
	return path;
}
