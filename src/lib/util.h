/* SPDX-License-Identifier: MIT */
/* The two macros every layer uses: an array's element count and the struct around a member. */
#ifndef TAPIR_UTIL_H
#define TAPIR_UTIL_H

#include <stddef.h>

/* Element count of an array; @a must be an array, not a pointer to one. */
#define TAPIR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The @type whose member @member is at @ptr (the kernel's container_of). */
#define tapir_container_of(ptr, type, member)                                                      \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#endif
