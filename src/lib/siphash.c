// SPDX-License-Identifier: MIT
/* SipHash-2-4 (Aumasson, Bernstein) over little-endian 64-bit words. No state, no I/O. */
#include "siphash.h"

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = rotl(v[2], 32);
}

static void compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

uint64_t tapir_siphash_words(const uint64_t key[2], const uint64_t *words, size_t len)
{
	uint64_t v[4] = {
	    key[0] ^ 0x736f6d6570736575ull,
	    key[1] ^ 0x646f72616e646f6dull,
	    key[0] ^ 0x6c7967656e657261ull,
	    key[1] ^ 0x7465646279746573ull,
	};
	size_t full = len / 8;
	uint64_t last = (uint64_t)len << 56;

	for (size_t i = 0; i < full; i++)
		compress(v, words[i]);
	if (len % 8)
		last |= words[full];
	compress(v, last);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
