/* SPDX-License-Identifier: MIT */
/* Parsing text that is not NUL-terminated (UAPI lines, config values). */
#ifndef TAPIR_PARSE_H
#define TAPIR_PARSE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses exactly @len bytes of plain decimal: digits only (no sign, no space, no prefix, not
 * empty), leading zeros allowed, value at most @max. Returns 0 and sets @out, or -EINVAL and
 * leaves @out alone.
 */
int tapir_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out);
/*
 * Copies exactly @len bytes of @s into @out as a NUL-terminated string, for the libc parsers
 * that need one (inet_pton). Returns 0, or -EINVAL when @len is 0 or does not fit @outlen.
 */
int tapir_parse_copy_text(char *out, size_t outlen, const char *s, size_t len);

#endif
