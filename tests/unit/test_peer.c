// SPDX-License-Identifier: MIT
/* Peer tables (by key and id) and the receiver-index table, including growth and removal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
#include "peer.h"

enum { N_PEERS = 3000 };

static uint32_t counter_rand_state;

static uint32_t colliding_rand(void)
{
	/* returns 7 twice, then 8, 9, ...: forces one collision retry */
	static const uint32_t seq[] = {7, 7, 8};
	uint32_t v = counter_rand_state < 3 ? seq[counter_rand_state] : counter_rand_state + 6;
	counter_rand_state++;
	return v;
}

static void test_peer_table(void **state)
{
	struct tapir_peer_table t;
	struct tapir_peer **peers = calloc(N_PEERS, sizeof(*peers));
	uint8_t key[32];

	assert_non_null(peers);
	assert_int_equal(tapir_peer_table_init(&t), 0);
	for (unsigned int i = 0; i < N_PEERS; i++) {
		tapir_random_bytes(key, sizeof(key));
		peers[i] = tapir_peer_new(key);
		assert_non_null(peers[i]);
		assert_int_equal(tapir_peer_table_add(&t, peers[i]), 0);
	}
	assert_int_equal(t.count, N_PEERS);
	for (unsigned int i = 0; i < N_PEERS; i++) {
		assert_ptr_equal(tapir_peer_table_find_key(&t, peers[i]->public_key), peers[i]);
		assert_ptr_equal(tapir_peer_table_find_id(&t, peers[i]->id), peers[i]);
	}
	/* remove every other one; the rest stay findable, list order kept */
	for (unsigned int i = 0; i < N_PEERS; i += 2)
		tapir_peer_table_remove(&t, peers[i]);
	assert_int_equal(t.count, N_PEERS / 2);
	for (unsigned int i = 0; i < N_PEERS; i++) {
		struct tapir_peer *want = (i % 2) ? peers[i] : NULL;
		assert_ptr_equal(tapir_peer_table_find_key(&t, peers[i]->public_key), want);
	}
	assert_ptr_equal(t.first, peers[1]);
	assert_ptr_equal(t.last, peers[N_PEERS - 1]);
	for (unsigned int i = 0; i < N_PEERS; i++) {
		if (i % 2)
			tapir_peer_table_remove(&t, peers[i]);
		tapir_peer_free(peers[i]);
	}
	assert_int_equal(t.count, 0);
	assert_null(t.first);
	tapir_peer_table_destroy(&t);
	free(peers);
}

/* the soon list: add/remove are idempotent, and removing a peer from the table unlinks it */
static void test_soon_list(void **state)
{
	struct tapir_peer_table t;
	struct tapir_peer *p[4];
	uint8_t key[32];
	unsigned int n;

	assert_int_equal(tapir_peer_table_init(&t), 0);
	for (unsigned int i = 0; i < 4; i++) {
		tapir_random_bytes(key, sizeof(key));
		p[i] = tapir_peer_new(key);
		assert_non_null(p[i]);
		assert_int_equal(tapir_peer_table_add(&t, p[i]), 0);
	}
	assert_null(t.soon);
	tapir_peer_table_soon_add(&t, p[0]);
	tapir_peer_table_soon_add(&t, p[2]);
	tapir_peer_table_soon_add(&t, p[2]);
	tapir_peer_table_soon_add(&t, p[3]);
	n = 0;
	for (struct tapir_peer *q = t.soon; q; q = q->soon_next)
		n++;
	assert_int_equal(n, 3);
	tapir_peer_table_soon_remove(&t, p[1]); /* not on it: no-op */
	tapir_peer_table_soon_remove(&t, p[2]); /* the middle one */
	tapir_peer_table_remove(&t, p[3]);	/* the head, through the table */
	assert_false(p[3]->is_soon);
	assert_ptr_equal(t.soon, p[0]);
	assert_null(p[0]->soon_next);
	assert_null(p[0]->soon_prev);
	tapir_peer_table_remove(&t, p[0]);
	assert_null(t.soon);
	tapir_peer_table_remove(&t, p[1]);
	tapir_peer_table_remove(&t, p[2]);
	for (unsigned int i = 0; i < 4; i++)
		tapir_peer_free(p[i]);
	tapir_peer_table_destroy(&t);
}

static void test_index_table(void **state)
{
	struct tapir_index_table t;
	struct tapir_index_entry *e = calloc(N_PEERS, sizeof(*e));
	struct tapir_index_entry dup = {.index = 0};

	assert_non_null(e);
	assert_int_equal(tapir_index_table_init(&t), 0);
	counter_rand_state = 0;
	for (unsigned int i = 0; i < N_PEERS; i++)
		assert_int_equal(tapir_index_table_insert_new(&t, &e[i], colliding_rand), 0);
	assert_int_equal(e[0].index, 7);
	assert_int_equal(e[1].index, 8); /* the collision was retried */
	assert_int_equal(t.count, N_PEERS);
	dup.index = e[5].index;
	assert_int_equal(tapir_index_table_insert(&t, &dup), -EEXIST);
	for (unsigned int i = 0; i < N_PEERS; i++)
		assert_ptr_equal(tapir_index_table_find(&t, e[i].index), &e[i]);
	tapir_index_table_remove(&t, &e[10]);
	tapir_index_table_remove(&t, &e[10]); /* idempotent */
	assert_null(tapir_index_table_find(&t, e[10].index));
	assert_int_equal(t.count, N_PEERS - 1);
	tapir_index_table_destroy(&t);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_peer_table),
	    cmocka_unit_test(test_index_table),
	    cmocka_unit_test(test_soon_list),
	};
	if (tapir_crypto_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
