/* SPDX-License-Identifier: MIT */
/*
 * Clocks: CLOCK_BOOTTIME (monotonic, counts suspend) for deadlines and key age,
 * CLOCK_REALTIME only for TAI64N timestamps and the handshake time shown to users.
 */
#ifndef TAPIR_CLOCK_H
#define TAPIR_CLOCK_H

#include <stdint.h>
#include <time.h>

enum {
	NSEC_PER_MSEC = 1000000,
};
#define NSEC_PER_SEC 1000000000ull

static inline uint64_t tapir_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tapir_ms_to_ns(uint64_t ms)
{
	return ms * NSEC_PER_MSEC;
}

#endif
