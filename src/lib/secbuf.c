// SPDX-License-Identifier: MIT
/*
 * One way to grow memory that holds keys, for the daemon and the CLI alike: copy into a fresh
 * allocation, then wipe and free the old one. realloc() must not be used on such memory, since
 * it may move the data and free the old block with the keys still in it.
 */
#include "secbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *tapir_secbuf_grow(void *old, size_t n_used, size_t old_cap, size_t new_cap, size_t size)
{
	void *b;

	if (!size || new_cap > SIZE_MAX / size || n_used > new_cap || n_used > old_cap)
		return NULL;
	b = calloc(new_cap, size);
	if (!b)
		return NULL;
	if (old) {
		memcpy(b, old, n_used * size);
		tapir_secbuf_free(old, old_cap * size);
	}
	return b;
}

void tapir_secbuf_free(void *buf, size_t cap)
{
	if (buf)
		explicit_bzero(buf, cap);
	free(buf);
}
