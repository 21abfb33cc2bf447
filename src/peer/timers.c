// SPDX-License-Identifier: MIT
/*
 * Timer hooks and expiry (wireguard-protocol.md 5.3). Each deadline is one atomic word so the
 * data path never takes a lock to arm or cancel a timer; "arm if not pending" is a CAS from 0.
 * Races between a worker arming and the control thread expiring are benign: at worst a timer
 * fires one tick late or a keepalive is sent once more, which the protocol tolerates.
 */
#include "timers.h"

#include "clock.h"
#include "messages.h"
#include "util.h"

const char *tapir_timer_stat_name(enum tapir_timer_stat s)
{
	static const char *const names[TAPIR_TIMER_STAT_MAX] = {
	    [TAPIR_TIMER_STAT_SCANS] = "scans",
	    [TAPIR_TIMER_STAT_VISITS] = "visits",
	};
	return s < TAPIR_TIMER_STAT_MAX ? names[s] : "unknown";
}

static void arm(_Atomic uint64_t *timer, uint64_t deadline)
{
	atomic_store_explicit(timer, deadline ? deadline : 1, memory_order_relaxed);
}

/* Returns true if it armed the timer (it was not pending). */
static bool arm_if_not_pending(_Atomic uint64_t *timer, uint64_t deadline)
{
	uint64_t expected = 0;
	return atomic_compare_exchange_strong_explicit(timer, &expected, deadline ? deadline : 1,
						       memory_order_relaxed, memory_order_relaxed);
}

static void cancel(_Atomic uint64_t *timer)
{
	atomic_store_explicit(timer, 0, memory_order_relaxed);
}

static bool is_pending(_Atomic uint64_t *timer)
{
	return atomic_load_explicit(timer, memory_order_relaxed) != 0;
}

/* Expires @timer if due: clears it and returns true. */
static bool take_expired(_Atomic uint64_t *timer, uint64_t now_ns)
{
	uint64_t deadline = atomic_load_explicit(timer, memory_order_relaxed);

	if (!deadline || deadline > now_ns)
		return false;
	return atomic_compare_exchange_strong_explicit(timer, &deadline, 0, memory_order_relaxed,
						       memory_order_relaxed);
}

void tapir_timers_handshake_initiated(struct tapir_timers *t, uint64_t now_ns, uint32_t jitter_ms)
{
	arm(&t->retransmit_handshake, now_ns + tapir_ms_to_ns(REKEY_TIMEOUT_MS + jitter_ms));
}

void tapir_timers_handshake_complete(struct tapir_timers *t)
{
	cancel(&t->retransmit_handshake);
	t->handshake_attempts = 0;
	atomic_store_explicit(&t->sent_lastminute_handshake, false, memory_order_relaxed);
}

void tapir_timers_session_derived(struct tapir_timers *t, uint64_t now_ns)
{
	arm(&t->zero_key_material, now_ns + tapir_ms_to_ns(ZERO_KEY_MATERIAL_AFTER_MS));
}

void tapir_timers_data_sent(struct tapir_timers *t, uint64_t now_ns, uint32_t jitter_ms)
{
	arm_if_not_pending(&t->new_handshake,
			   now_ns +
			       tapir_ms_to_ns(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + jitter_ms));
}

void tapir_timers_data_received(struct tapir_timers *t, uint64_t now_ns)
{
	if (!arm_if_not_pending(&t->send_keepalive, now_ns + tapir_ms_to_ns(KEEPALIVE_TIMEOUT_MS)))
		atomic_store_explicit(&t->need_another_keepalive, true, memory_order_relaxed);
}

void tapir_timers_any_authenticated_packet_sent(struct tapir_timers *t)
{
	if (is_pending(&t->send_keepalive))
		cancel(&t->send_keepalive);
}

void tapir_timers_any_authenticated_packet_received(struct tapir_timers *t)
{
	if (is_pending(&t->new_handshake))
		cancel(&t->new_handshake);
}

void tapir_timers_any_authenticated_packet_traversal(struct tapir_timers *t, uint64_t now_ns)
{
	uint32_t interval =
	    atomic_load_explicit(&t->persistent_keepalive_interval_s, memory_order_relaxed);
	if (interval)
		arm(&t->persistent_keepalive, now_ns + (uint64_t)interval * NSEC_PER_SEC);
}

void tapir_timers_stop(struct tapir_timers *t)
{
	cancel(&t->retransmit_handshake);
	cancel(&t->send_keepalive);
	cancel(&t->new_handshake);
	cancel(&t->zero_key_material);
	cancel(&t->persistent_keepalive);
}

unsigned int tapir_timers_expire(struct tapir_timers *t, uint64_t now_ns)
{
	unsigned int actions = 0;

	if (take_expired(&t->retransmit_handshake, now_ns)) {
		if (t->handshake_attempts > MAX_TIMER_HANDSHAKES) {
			/* give up: 1 + MAX_TIMER_HANDSHAKES + 1 tries, about 100 s */
			cancel(&t->send_keepalive);
			arm_if_not_pending(&t->zero_key_material,
					   now_ns + tapir_ms_to_ns(ZERO_KEY_MATERIAL_AFTER_MS));
			actions |= TAPIR_TIMER_GIVE_UP;
		} else {
			t->handshake_attempts++;
			actions |= TAPIR_TIMER_RETRY_HANDSHAKE;
		}
	}
	if (take_expired(&t->send_keepalive, now_ns)) {
		actions |= TAPIR_TIMER_SEND_KEEPALIVE | TAPIR_TIMER_PASSIVE_KEEPALIVE;
	}
	if (take_expired(&t->new_handshake, now_ns))
		actions |= TAPIR_TIMER_NEW_HANDSHAKE;
	if (take_expired(&t->zero_key_material, now_ns))
		actions |= TAPIR_TIMER_ZERO_KEY_MATERIAL;
	if (take_expired(&t->persistent_keepalive, now_ns) &&
	    atomic_load_explicit(&t->persistent_keepalive_interval_s, memory_order_relaxed))
		actions |= TAPIR_TIMER_SEND_KEEPALIVE;
	return actions;
}

uint64_t tapir_timers_next_deadline(struct tapir_timers *t)
{
	_Atomic uint64_t *all[] = {&t->retransmit_handshake, &t->send_keepalive, &t->new_handshake,
				   &t->zero_key_material, &t->persistent_keepalive};
	uint64_t next = 0;

	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(all); i++) {
		uint64_t d = atomic_load_explicit(all[i], memory_order_relaxed);
		if (d && (!next || d < next))
			next = d;
	}
	return next;
}

void tapir_timers_passive_keepalive_sent(struct tapir_timers *t, uint64_t now_ns)
{
	if (atomic_exchange_explicit(&t->need_another_keepalive, false, memory_order_relaxed))
		arm(&t->send_keepalive, now_ns + tapir_ms_to_ns(KEEPALIVE_TIMEOUT_MS));
}
