/* SPDX-License-Identifier: MIT */
/*
 * SipHash-2-4 for hash tables whose keys an attacker can choose (rate limiter sources, MAC
 * addresses): with a random 128-bit key, collisions cannot be aimed at a bucket.
 */
#ifndef TAPIR_SIPHASH_H
#define TAPIR_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * SipHash-2-4 of a @len-byte message stored little-endian in @words (ceil(len / 8) words;
 * the bytes of the last word beyond @len must be zero).
 */
uint64_t tapir_siphash_words(const uint64_t key[2], const uint64_t *words, size_t len);

#endif
