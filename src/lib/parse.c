// SPDX-License-Identifier: MIT
/*
 * The bounded decimal parser shared by the UAPI "set" parser, the config file, the CLI's
 * reading of a "get" reply and the endpoint syntax, and the copy into a C string that their
 * inet_pton() calls need. Both read exactly the bytes they are given (no NUL needed, no
 * locale, no errno), so callers keep their own syntax around the text.
 */
#include "parse.h"

#include <errno.h>
#include <string.h>

int tapir_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		uint64_t d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (uint64_t)(s[i] - '0');
		/* v * 10 + d <= max, written so nothing wraps (d may exceed a small max) */
		if (d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int tapir_parse_copy_text(char *out, size_t outlen, const char *s, size_t len)
{
	if (!len || len >= outlen)
		return -EINVAL;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}
