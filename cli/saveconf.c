// SPDX-License-Identifier: MIT
/*
 * SaveConfig = true (wg-quick(8)): on down, the configuration file is rewritten from the
 * running interface, so peers added with `tapir set` survive. The new file is
 *
 *   [Interface]
 *   every [Interface] line of the old file but PrivateKey, ListenPort and FwMark (Address,
 *   DNS, MTU, Table, the hooks, SaveConfig, tapir's Mode, Bridge, Offload, ...), as written
 *   ListenPort, FwMark, PrivateKey and the peers as the daemon reports them (showconf)
 *   plus, under each peer, the old file's lines for that public key that the daemon does not
 *   report (MACs, ...)
 *
 * wg-quick reads Address and DNS back from the live interface; tapir keeps the file's, which
 * is what `up` will set again. Comments are not kept (wg-quick drops them too). The file is
 * replaced atomically: a temporary file in the same directory, with the old file's mode and
 * owner set before any secret is written, synced, then renamed over the old one.
 */
#include "saveconf.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "util.h"

enum {
	FILE_MAX_BYTES = 1024 * 1024,
	KEY_BYTES = 64,
};

/* The keys the daemon reports: taken from it, never from the old file. */
static const char *const interface_running_keys[] = {"PrivateKey", "ListenPort", "FwMark"};
static const char *const peer_running_keys[] = {"PublicKey", "PresharedKey",	    "AllowedIPs",
						"Endpoint",  "PersistentKeepalive", "Compression"};

/* One line of a config text, trimmed; @key is empty for blank, comment and section lines. */
struct line {
	const char *text; /* trimmed, not NUL-terminated */
	size_t len;
	char key[KEY_BYTES];
	const char *value; /* after '=', trimmed, comment cut */
	size_t value_len;
	bool is_section;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void trim(const char **s, size_t *len)
{
	while (*len && is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len && is_space((*s)[*len - 1]))
		(*len)--;
}

/* Reads the line at *@pos of @text; false at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, struct line *l)
{
	const char *start = text + *pos, *nl, *eq, *hash;
	size_t n, klen;

	if (*pos >= len)
		return false;
	nl = memchr(start, '\n', len - *pos);
	n = nl ? (size_t)(nl - start) : len - *pos;
	*pos += n + (nl != NULL);
	memset(l, 0, sizeof(*l));
	l->text = start;
	l->len = n;
	trim(&l->text, &l->len);
	if (!l->len || l->text[0] == '#')
		return true;
	l->is_section = l->text[0] == '[';
	eq = memchr(l->text, '=', l->len);
	if (l->is_section || !eq)
		return true;
	klen = (size_t)(eq - l->text);
	while (klen && is_space(l->text[klen - 1]))
		klen--;
	snprintf(l->key, sizeof(l->key), "%.*s", (int)klen, l->text);
	l->value = eq + 1;
	l->value_len = l->len - (size_t)(l->value - l->text);
	hash = memchr(l->value, '#', l->value_len);
	if (hash)
		l->value_len = (size_t)(hash - l->value);
	trim(&l->value, &l->value_len);
	return true;
}

static bool is_section(const struct line *l, const char *name)
{
	size_t n = strlen(name);

	return l->is_section && l->len == n + 2 && !strncasecmp(l->text + 1, name, n);
}

static bool is_one_of(const char *key, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcasecmp(key, keys[i]))
			return true;
	}
	return false;
}

/* The old file's [Interface] lines, but those the daemon reports. */
static void put_interface_lines(FILE *out, const char *text, size_t len)
{
	size_t pos = 0, n = TAPIR_ARRAY_SIZE(interface_running_keys);
	bool is_interface = false;
	struct line l;

	while (next_line(text, len, &pos, &l)) {
		if (l.is_section)
			is_interface = is_section(&l, "Interface");
		else if (is_interface && *l.key && !is_one_of(l.key, interface_running_keys, n))
			fprintf(out, "%.*s\n", (int)l.len, l.text);
	}
}

/* Whether the [Peer] section starting at @pos has PublicKey = @key. */
static bool is_peer_of(const char *text, size_t len, size_t pos, const char *key)
{
	struct line l;

	while (next_line(text, len, &pos, &l) && !l.is_section) {
		if (!strcasecmp(l.key, "PublicKey"))
			return l.value_len == strlen(key) && !memcmp(l.value, key, l.value_len);
	}
	return false;
}

/* The old file's lines for peer @key that the daemon does not report. */
static void put_peer_extras(FILE *out, const char *text, size_t len, const char *key)
{
	size_t pos = 0, n = TAPIR_ARRAY_SIZE(peer_running_keys);
	bool is_match = false;
	struct line l;

	while (next_line(text, len, &pos, &l)) {
		if (l.is_section)
			is_match = is_section(&l, "Peer") && is_peer_of(text, len, pos, key);
		else if (is_match && *l.key && !is_one_of(l.key, peer_running_keys, n))
			fprintf(out, "%.*s\n", (int)l.len, l.text);
	}
}

/* The new file's text: see the top of this file. */
static void compose(FILE *out, const char *old, size_t old_len, const char *run, size_t run_len)
{
	char key[KEY_BYTES] = "";
	size_t pos = 0;
	struct line l;

	fputs("[Interface]\n", out);
	put_interface_lines(out, old, old_len);
	while (next_line(run, run_len, &pos, &l)) {
		if (is_section(&l, "Interface"))
			continue;
		if (!l.len || l.is_section) {
			/* a peer ends at the blank line before the next one */
			if (*key)
				put_peer_extras(out, old, old_len, key);
			key[0] = '\0';
		} else if (!strcasecmp(l.key, "PublicKey")) {
			snprintf(key, sizeof(key), "%.*s", (int)l.value_len, l.value);
		}
		fprintf(out, "%.*s\n", (int)l.len, l.text);
	}
	if (*key)
		put_peer_extras(out, old, old_len, key);
}

static int read_old(const char *path, char **out, size_t *len_out, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;
	ssize_t n = 0;
	char *buf = NULL;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0)
		r = -errno;
	else if (!S_ISREG(st->st_mode) || st->st_size > FILE_MAX_BYTES)
		r = -EFBIG;
	else if (!(buf = malloc((size_t)st->st_size + 1)))
		r = -ENOMEM;
	else if ((n = read(fd, buf, (size_t)st->st_size)) < 0)
		r = -errno;
	close(fd);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*len_out = (size_t)n;
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes @text next to @path with @st's mode and owner, syncs it and renames it over @path. */
static int replace_file(const char *path, const struct stat *st, const char *text, size_t len)
{
	char *tmp = NULL, *dir_copy = strdup(path);
	int fd = -1, dir = -1, r = 0;

	if (!dir_copy || asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		free(dir_copy);
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	/* mode and owner first: the text holds the private key */
	if (fchmod(fd, st->st_mode & 07777) < 0 || fchown(fd, st->st_uid, st->st_gid) < 0 ||
	    (r = write_all(fd, text, len)) || fsync(fd) < 0) {
		r = r ? r : -errno;
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = -errno;
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		r = -errno;
		goto out;
	}
	/* the rename itself reaches the disk with the directory */
	dir = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir >= 0) {
		fsync(dir);
		close(dir);
	}
out:
	if (fd >= 0)
		close(fd);
	if (r)
		unlink(tmp);
	free(tmp);
	free(dir_copy);
	return r;
}

int tapir_saveconf(const char *path, const char *ifname)
{
	char *old = NULL, *run = NULL, *text = NULL;
	size_t old_len = 0, run_len = 0, len = 0;
	struct stat st = {0};
	FILE *f;
	int r;

	fprintf(stderr, "[#] tapir showconf %s > %s\n", ifname, path);
	r = read_old(path, &old, &old_len, &st);
	if (r) {
		fprintf(stderr, "tapir: SaveConfig: %s: %s\n", path, strerror(-r));
		return r;
	}
	r = tapir_showconf_text(ifname, &run, &run_len);
	if (!r && !(f = open_memstream(&text, &len)))
		r = -ENOMEM;
	if (!r) {
		compose(f, old, old_len, run, run_len);
		r = fclose(f) ? -ENOMEM : 0;
	}
	if (!r && (r = replace_file(path, &st, text, len)))
		fprintf(stderr, "tapir: SaveConfig: cannot write %s: %s\n", path, strerror(-r));
	else if (r)
		fprintf(stderr, "tapir: SaveConfig: cannot read the configuration of %s: %s\n",
			ifname, strerror(-r));
	tapir_wipe(old, old_len);
	free(old);
	if (run)
		tapir_wipe(run, run_len);
	free(run);
	if (text)
		tapir_wipe(text, len);
	free(text);
	return r;
}
