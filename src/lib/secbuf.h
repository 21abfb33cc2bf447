/* SPDX-License-Identifier: MIT */
/* Growing a buffer that holds secrets (keys in requests, replies and parsed configs). */
#ifndef TAPIR_SECBUF_H
#define TAPIR_SECBUF_H

#include <stddef.h>

/*
 * Grows an array of @size-byte elements from @old_cap to @new_cap elements without realloc(),
 * which could free a copy of the secrets unwiped: a new zeroed array gets the first @n_used
 * elements of @old, and @old (all @old_cap elements) is wiped and freed. @old may be NULL.
 * Returns the new array, or NULL (out of memory, or @new_cap * @size overflows) with @old
 * untouched and still the caller's. Consumes @old on success.
 */
void *tapir_secbuf_grow(void *old, size_t n_used, size_t old_cap, size_t new_cap, size_t size);

/* Wipes @cap bytes of @buf and frees it; accepts NULL. */
void tapir_secbuf_free(void *buf, size_t cap);

#endif
