// SPDX-License-Identifier: MIT
/*
 * MAC table (l2table.h), 2 bytes per op: [op (learn, lookup, remove or pin, expire):2 owner o:3
 * time step:3] [b: the MAC (b & 1):00:00:00:00:(b >> 1)]; owner o's pointer is (void *)(o + 1);
 * op 2 removes owner o (o < 4) or pins the MAC to owner o - 4. After each op: count == sum of
 * per-owner counts, limits hold, a lookup's owner matches its id, a pinned MAC stays its owner's.
 */
#include <errno.h>
#include <stdlib.h>
#include "l2table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ENTRIES = 12, MAX_PER_OWNER = 5, OWNERS = 8, MAX_AGE_NS = 40 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tapir_l2table *t = tapir_l2table_new(MAX_ENTRIES, MAX_PER_OWNER);

	for (uint64_t i = 0, now = 0, id = 0, sum, n; t && i + 1 < size;
	     now += data[i] >> 5, i += 2) {
		unsigned int op = data[i] & 3, o = data[i] >> 2 & 7;
		uint8_t mac[6] = {data[i + 1] & 1, 0, 0, 0, 0, data[i + 1] >> 1};
		void *p = op == 1 ? tapir_l2table_lookup(t, mac, now, MAX_AGE_NS, &id) : NULL;

		if (op == 0)
			tapir_l2table_learn(t, mac, (void *)(uintptr_t)(o + 1), o, now);
		else if (op == 2 && o < 4)
			tapir_l2table_remove_owner(t, o);
		else if (op == 2 && !tapir_l2table_pin(t, mac, (void *)(uintptr_t)(o - 3), o - 4) &&
			 tapir_l2table_learn(t, mac, (void *)1, 0, now) != (o == 4 ? 0 : -EPERM))
			abort(); /* owner 0 may send from its pin, nobody else */
		else if (op == 3)
			tapir_l2table_expire(t, now, MAX_AGE_NS);
		for (o = 0, sum = 0; o < OWNERS; o++, sum += n)
			if ((n = tapir_l2table_count_owner(t, o)) > MAX_PER_OWNER)
				abort();
		if (sum != tapir_l2table_count(t) || sum > MAX_ENTRIES ||
		    (p && p != (void *)(id + 1)))
			abort();
	}
	tapir_l2table_free(t);
	return 0;
}
