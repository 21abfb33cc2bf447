// SPDX-License-Identifier: MIT
/* Timer state machine (wireguard-protocol.md 5.3) driven with a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "messages.h"
#include "timers.h"

static uint64_t ms(uint64_t v)
{
	return tapir_ms_to_ns(v);
}

static void test_retransmit_then_give_up(void **state)
{
	struct tapir_timers t;
	uint64_t now = ms(1000);
	unsigned int tries = 1, a;

	memset(&t, 0, sizeof(t));
	tapir_timers_handshake_initiated(&t, now, 100);
	assert_int_equal(tapir_timers_expire(&t, now + ms(5099)), 0);
	for (;;) {
		now += ms(5100);
		a = tapir_timers_expire(&t, now);
		if (a & TAPIR_TIMER_GIVE_UP)
			break;
		assert_true(a & TAPIR_TIMER_RETRY_HANDSHAKE);
		tries++;
		tapir_timers_handshake_initiated(&t, now, 100);
		assert_true(tries < 100);
	}
	/* 1 initial + MAX_TIMER_HANDSHAKES + 1 retries, then give up (5.3) */
	assert_int_equal(tries, MAX_TIMER_HANDSHAKES + 2);
	assert_true(atomic_load(&t.zero_key_material) != 0);
}

static void test_complete_cancels_retransmit(void **state)
{
	struct tapir_timers t;

	memset(&t, 0, sizeof(t));
	tapir_timers_handshake_initiated(&t, ms(10), 0);
	tapir_timers_handshake_complete(&t);
	assert_int_equal(tapir_timers_expire(&t, ms(100000)), 0);
}

static void test_passive_keepalive(void **state)
{
	struct tapir_timers t;
	unsigned int a;

	memset(&t, 0, sizeof(t));
	tapir_timers_data_received(&t, ms(0));
	tapir_timers_data_received(&t, ms(1)); /* while pending: need another */
	assert_int_equal(tapir_timers_expire(&t, ms(9999)), 0);
	a = tapir_timers_expire(&t, ms(10000));
	assert_true(a & TAPIR_TIMER_SEND_KEEPALIVE);
	assert_true(a & TAPIR_TIMER_PASSIVE_KEEPALIVE);
	tapir_timers_any_authenticated_packet_sent(&t); /* the keepalive itself */
	tapir_timers_passive_keepalive_sent(&t, ms(10000));
	a = tapir_timers_expire(&t, ms(20000));
	assert_true(a & TAPIR_TIMER_SEND_KEEPALIVE);
	tapir_timers_passive_keepalive_sent(&t, ms(20000));
	assert_int_equal(tapir_timers_expire(&t, ms(40000)), 0); /* no ping-pong */
}

static void test_sent_cancels_keepalive(void **state)
{
	struct tapir_timers t;

	memset(&t, 0, sizeof(t));
	tapir_timers_data_received(&t, ms(0));
	tapir_timers_any_authenticated_packet_sent(&t);
	assert_int_equal(tapir_timers_expire(&t, ms(60000)), 0);
}

static void test_new_handshake_after_unanswered_data(void **state)
{
	struct tapir_timers t;

	memset(&t, 0, sizeof(t));
	tapir_timers_data_sent(&t, ms(0), 200);
	assert_int_equal(tapir_timers_expire(&t, ms(15199)), 0);
	assert_int_equal(tapir_timers_expire(&t, ms(15200)), TAPIR_TIMER_NEW_HANDSHAKE);
	/* a reply cancels it */
	tapir_timers_data_sent(&t, ms(20000), 0);
	tapir_timers_any_authenticated_packet_received(&t);
	assert_int_equal(tapir_timers_expire(&t, ms(60000)), 0);
}

static void test_persistent_keepalive(void **state)
{
	struct tapir_timers t;

	memset(&t, 0, sizeof(t));
	tapir_timers_any_authenticated_packet_traversal(&t, ms(0));
	assert_int_equal(tapir_timers_expire(&t, ms(100000)), 0); /* interval 0: off */
	atomic_store(&t.persistent_keepalive_interval_s, 25);
	tapir_timers_any_authenticated_packet_traversal(&t, ms(0));
	assert_int_equal(tapir_timers_expire(&t, ms(24999)), 0);
	assert_int_equal(tapir_timers_expire(&t, ms(25000)), TAPIR_TIMER_SEND_KEEPALIVE);
}

static void test_zero_key_material(void **state)
{
	struct tapir_timers t;

	memset(&t, 0, sizeof(t));
	tapir_timers_session_derived(&t, ms(0));
	assert_int_equal(tapir_timers_expire(&t, ms(539999)), 0);
	assert_int_equal(tapir_timers_expire(&t, ms(540000)), TAPIR_TIMER_ZERO_KEY_MATERIAL);
	tapir_timers_session_derived(&t, ms(0));
	tapir_timers_stop(&t);
	assert_int_equal(tapir_timers_expire(&t, ms(1000000)), 0);
}

/* the earliest pending deadline, whichever timer holds it; 0 when none is pending */
static void test_next_deadline(void **state)
{
	struct tapir_timers t;

	memset(&t, 0, sizeof(t));
	assert_int_equal(tapir_timers_next_deadline(&t), 0);
	tapir_timers_session_derived(&t, ms(0));
	assert_int_equal(tapir_timers_next_deadline(&t), ms(540000));
	tapir_timers_data_received(&t, ms(1000));
	assert_int_equal(tapir_timers_next_deadline(&t), ms(1000 + KEEPALIVE_TIMEOUT_MS));
	tapir_timers_handshake_initiated(&t, ms(2000), 0);
	assert_int_equal(tapir_timers_next_deadline(&t), ms(2000 + REKEY_TIMEOUT_MS));
	atomic_store(&t.persistent_keepalive_interval_s, 1);
	tapir_timers_any_authenticated_packet_traversal(&t, ms(3000));
	assert_int_equal(tapir_timers_next_deadline(&t), ms(4000));
	/* every timer a worker arms lies at least TAPIR_TIMER_MIN_ARM_MS ahead */
	assert_true(ms(4000) - ms(3000) >= ms(TAPIR_TIMER_MIN_ARM_MS));
	tapir_timers_stop(&t);
	assert_int_equal(tapir_timers_next_deadline(&t), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retransmit_then_give_up),
	    cmocka_unit_test(test_complete_cancels_retransmit),
	    cmocka_unit_test(test_passive_keepalive),
	    cmocka_unit_test(test_sent_cancels_keepalive),
	    cmocka_unit_test(test_new_handshake_after_unanswered_data),
	    cmocka_unit_test(test_persistent_keepalive),
	    cmocka_unit_test(test_zero_key_material),
	    cmocka_unit_test(test_next_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
