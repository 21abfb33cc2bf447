// SPDX-License-Identifier: MIT
/*
 * tapir strip CONFIG|IFNAME: prints a tapir up file without the [Interface] keys that tapir
 * up acts on itself (wg-quick's Address, DNS, MTU, Table, hooks, SaveConfig; tapir's Mode,
 * Offload, Workers, Bridge), as `wg-quick strip` does, so that
 * `tapir syncconf wg0 <(tapir strip wg0)` reloads a running interface. Every other line,
 * comments included, is printed as written. The file is checked whole first, so a mistake is
 * reported against its own name and line, not against /dev/fd/63.
 */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "crypto.h"

enum {
	STRIP_MAX_BYTES = 1024 * 1024, /* as tapir up */
	ERR_BYTES = 512,
};

static void trim(const char **s, size_t *len)
{
	while (*len && (**s == ' ' || **s == '\t' || **s == '\r')) {
		(*s)++;
		(*len)--;
	}
	while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t' || (*s)[*len - 1] == '\r'))
		(*len)--;
}

/* Updates *is_interface on a section header; true if the line is a key tapir up acts on. */
static bool is_up_line(const char *line, size_t len, bool *is_interface)
{
	const char *hash = memchr(line, '#', len), *eq;

	if (hash)
		len = (size_t)(hash - line);
	trim(&line, &len);
	if (len >= 2 && line[0] == '[' && line[len - 1] == ']') {
		line++;
		len -= 2;
		trim(&line, &len);
		*is_interface = len == 9 && !strncasecmp(line, "Interface", 9);
		return false;
	}
	eq = memchr(line, '=', len);
	if (!*is_interface || !eq)
		return false;
	len = (size_t)(eq - line);
	trim(&line, &len);
	return tapir_config_is_up_key(line, len);
}

static int read_all(const char *path, char **out, size_t *len_out)
{
	FILE *f = fopen(path, "re");
	char *buf = malloc(STRIP_MAX_BYTES);
	size_t n = 0;
	int r = 0;

	if (!f || !buf) {
		r = f ? -ENOMEM : -errno;
		goto out;
	}
	n = fread(buf, 1, STRIP_MAX_BYTES, f);
	if (ferror(f))
		r = -EIO;
	else if (n == STRIP_MAX_BYTES)
		r = -EFBIG;
out:
	if (f)
		fclose(f);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*len_out = n;
	return 0;
}

static int strip_file(const char *path)
{
	struct tapir_quick_conf q;
	char err[ERR_BYTES], *text = NULL;
	bool is_interface = false;
	size_t len = 0, pos = 0;
	int r = read_all(path, &text, &len);

	if (r) {
		fprintf(stderr, "tapir strip: %s: %s\n", path, strerror(-r));
		return 1;
	}
	r = tapir_config_parse(text, len, path, false, &q, err, sizeof(err));
	if (r) {
		fprintf(stderr, "tapir strip: %s\n", err[0] ? err : strerror(-r));
		goto out;
	}
	tapir_quick_conf_free(&q);
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t line_len = nl ? (size_t)(nl - (text + pos)) : len - pos;

		if (!is_up_line(text + pos, line_len, &is_interface))
			printf("%.*s\n", (int)line_len, text + pos);
		pos += line_len + 1;
	}
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "tapir strip: write error: %s\n", strerror(errno));
		r = -EIO;
	}
out:
	tapir_wipe(text, len);
	free(text);
	return r ? 1 : 0;
}

int tapir_cmd_strip(int argc, char **argv)
{
	char *path;
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf(
		    "Usage: tapir strip [ CONFIG_FILE | INTERFACE ]\n\n"
		    "Prints the tapir up configuration file (INTERFACE means\n"
		    "/etc/tapir/INTERFACE.conf or /etc/wireguard/INTERFACE.conf) without the\n"
		    "keys tapir up acts on itself: Address, DNS, MTU, Table, PreUp, PostUp,\n"
		    "PreDown, PostDown, SaveConfig, Mode, Offload, Workers, Bridge. What is left\n"
		    "is what tapir setconf/syncconf take; to reload a running interface,\n"
		    "keeping the sessions of unchanged peers:\n\n"
		    "  tapir syncconf wg0 <(tapir strip wg0)\n");
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: tapir strip [ CONFIG_FILE | INTERFACE ]\n");
		return 2;
	}
	path = tapir_up_config_path(argv[1]);
	if (!path)
		return 1;
	r = strip_file(path);
	free(path);
	return r;
}
