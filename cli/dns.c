// SPDX-License-Identifier: MIT
/*
 * The name tapir up gives its resolvconf(8) record, as wg-quick(8) does: the interface name,
 * after a prefix only when /etc/resolvconf/interface-order (Debian's resolvconf) has a line
 * of the form WORD* (letters, digits, dashes, then one star), the first such line giving
 * "WORD.". Without that file (openresolv, systemd-resolved's resolvconf shim) the record is
 * the bare interface name, which the shim needs: it reads "tun.wg0" as interface "tun".
 * TAPIR_RESOLVCONF_ORDER names another file instead, for tests only.
 */
#include "dns.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char INTERFACE_ORDER[] = "/etc/resolvconf/interface-order";

/* A line (without surrounding blanks) "WORD*"; returns WORD's length, or 0. */
static size_t prefix_word(const char *s, size_t len)
{
	if (len < 2 || s[len - 1] != '*')
		return 0;
	for (size_t i = 0; i < len - 1; i++) {
		char c = s[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-')
			return 0;
	}
	return len - 1;
}

static size_t trimmed(char **s)
{
	size_t len;

	*s += strspn(*s, " \t");
	len = strcspn(*s, "\n");
	while (len && ((*s)[len - 1] == ' ' || (*s)[len - 1] == '\t'))
		len--;
	return len;
}

void tapir_dns_record_name(const char *ifname, char *out, size_t size)
{
	const char *path = getenv("TAPIR_RESOLVCONF_ORDER");
	FILE *f = fopen(path && *path ? path : INTERFACE_ORDER, "re");
	char *line = NULL;
	size_t cap = 0, word = 0;

	snprintf(out, size, "%s", ifname);
	while (f && getline(&line, &cap, f) > 0) {
		char *s = line;
		size_t len = trimmed(&s);

		word = prefix_word(s, len);
		if (word) {
			snprintf(out, size, "%.*s.%s", (int)word, s, ifname);
			break;
		}
	}
	free(line);
	if (f)
		fclose(f);
}
