/* SPDX-License-Identifier: MIT */
/*
 * The per-peer timer state machine of wireguard-protocol.md section 5.3. Workers raise event
 * hooks (lock-free: each timer is an atomic deadline in CLOCK_BOOTTIME ns, 0 = not pending);
 * the control thread calls tapir_timers_expire() on its tick and performs the returned
 * actions. No I/O here: actions are returned as bits.
 */
#ifndef TAPIR_TIMERS_H
#define TAPIR_TIMERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct tapir_timers {
	_Atomic uint64_t retransmit_handshake;
	_Atomic uint64_t send_keepalive;
	_Atomic uint64_t new_handshake;
	_Atomic uint64_t zero_key_material;
	_Atomic uint64_t persistent_keepalive;
	_Atomic bool need_another_keepalive;
	_Atomic uint32_t persistent_keepalive_interval_s;
	_Atomic bool sent_lastminute_handshake;
	_Atomic unsigned int handshake_attempts; /* control thread; reset by workers */
};

enum {
	/* the shortest interval a timer is armed for: a persistent keepalive of 1 s */
	TAPIR_TIMER_MIN_ARM_MS = 1000,
};

/* Counters of the control thread's timer work (UAPI tapir_timer_NAME). */
enum tapir_timer_stat {
	TAPIR_TIMER_STAT_SCANS,	 /* full scans of every peer */
	TAPIR_TIMER_STAT_VISITS, /* peers looked at, in scans and on ticks */
	TAPIR_TIMER_STAT_MAX,
};

const char *tapir_timer_stat_name(enum tapir_timer_stat s);

enum tapir_timer_action {
	TAPIR_TIMER_SEND_KEEPALIVE = 1 << 0,
	TAPIR_TIMER_RETRY_HANDSHAKE = 1 << 1, /* retransmission: keep the attempt count */
	TAPIR_TIMER_NEW_HANDSHAKE = 1 << 2,   /* fresh attempt, after clearing endpoint src */
	TAPIR_TIMER_GIVE_UP = 1 << 3,	      /* drop staged packets */
	TAPIR_TIMER_ZERO_KEY_MATERIAL = 1 << 4,
	TAPIR_TIMER_PASSIVE_KEEPALIVE = 1 << 5, /* call ..._passive_keepalive_sent() after */
};

/* @jitter_ms is drawn by the caller in [0, REKEY_TIMEOUT_JITTER_MAX_MS). */
void tapir_timers_handshake_initiated(struct tapir_timers *t, uint64_t now_ns, uint32_t jitter_ms);
void tapir_timers_handshake_complete(struct tapir_timers *t);
void tapir_timers_session_derived(struct tapir_timers *t, uint64_t now_ns);
void tapir_timers_data_sent(struct tapir_timers *t, uint64_t now_ns, uint32_t jitter_ms);
void tapir_timers_data_received(struct tapir_timers *t, uint64_t now_ns);
void tapir_timers_any_authenticated_packet_sent(struct tapir_timers *t);
void tapir_timers_any_authenticated_packet_received(struct tapir_timers *t);
void tapir_timers_any_authenticated_packet_traversal(struct tapir_timers *t, uint64_t now_ns);
/* Cancels everything (peer removal or interface down). */
void tapir_timers_stop(struct tapir_timers *t);

/* Evaluates expired timers at @now_ns; returns a mask of tapir_timer_action. Control thread. */
unsigned int tapir_timers_expire(struct tapir_timers *t, uint64_t now_ns);

/*
 * The earliest pending deadline of @t (CLOCK_BOOTTIME ns), 0 if none is pending. A worker may
 * arm a timer right after this returns; every timer a worker arms lies at least
 * TAPIR_TIMER_MIN_ARM_MS ahead, which is what lets the control thread look at a peer less often
 * than on every tick (handshake.c).
 */
uint64_t tapir_timers_next_deadline(struct tapir_timers *t);

/* After sending the keepalive of a PASSIVE_KEEPALIVE action: re-arms it if data arrived. */
void tapir_timers_passive_keepalive_sent(struct tapir_timers *t, uint64_t now_ns);

#endif
