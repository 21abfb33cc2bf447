// SPDX-License-Identifier: MIT
/*
 * Constant-time hex and base64 for 32-byte keys, and constant-time comparisons.
 *
 * Key bytes never pick a table entry, a branch or a loop exit: each character is mapped with
 * range masks built from the sign of a small subtraction (every operand is 0..255, so a negative
 * difference has all bits above bit 7 set once viewed as unsigned). Lengths and the success of
 * a whole decode are public; which character was bad is not revealed. This file sits in the
 * lib layer and must not call into crypto/.
 */
#include "encoding.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

enum {
	KEY_LEN_BYTES = 32,
	/* 32 bytes = 10 groups of 3 bytes (4 chars each) + 2 bytes in "XYZ=". */
	BASE64_FULL_GROUPS = KEY_LEN_BYTES / 3,
};

/* 0xff when lo <= c <= hi, else 0. All arguments are in 0..255. */
static unsigned int in_range(int c, int lo, int hi)
{
	return (((unsigned int)(lo - 1 - c) & (unsigned int)(c - (hi + 1))) >> 8) & 0xff;
}

/* 0xff when a > b, else 0. Both arguments are in 0..255. */
static unsigned int greater(int a, int b)
{
	return ((unsigned int)(b - a) >> 8) & 0xff;
}

static char hex_char(unsigned int nibble)
{
	int n = (int)nibble;

	/* '0' + n, plus the gap up to 'a' when n > 9. */
	return (char)(n + '0' + (int)(greater(n, 9) & ('a' - '0' - 10)));
}

/* Returns the nibble value and ORs 0xff into @bad when @ch is not a hex digit. */
static unsigned int hex_value(char ch, unsigned int *bad)
{
	int c = (unsigned char)ch;
	unsigned int digit = in_range(c, '0', '9');
	unsigned int lower = in_range(c, 'a', 'f');
	unsigned int upper = in_range(c, 'A', 'F');

	*bad |= ~(digit | lower | upper) & 0xff;
	return (digit & (unsigned int)(c - '0')) | (lower & (unsigned int)(c - 'a' + 10)) |
	       (upper & (unsigned int)(c - 'A' + 10));
}

void tapir_key_to_hex(char out[TAPIR_KEY_HEX_LEN + 1], const uint8_t key[32])
{
	size_t i;

	for (i = 0; i < KEY_LEN_BYTES; i++) {
		out[2 * i] = hex_char(key[i] >> 4);
		out[2 * i + 1] = hex_char(key[i] & 0xf);
	}
	out[TAPIR_KEY_HEX_LEN] = '\0';
}

int tapir_key_from_hex(uint8_t key[32], const char *hex, size_t len)
{
	unsigned int bad = 0;
	size_t i;

	if (len != TAPIR_KEY_HEX_LEN) {
		explicit_bzero(key, KEY_LEN_BYTES);
		return -EINVAL;
	}
	/* No early exit: every character is decoded, validity is collected in @bad. */
	for (i = 0; i < KEY_LEN_BYTES; i++) {
		unsigned int hi = hex_value(hex[2 * i], &bad);
		unsigned int lo = hex_value(hex[2 * i + 1], &bad);

		key[i] = (uint8_t)((hi << 4) | lo);
	}
	if (bad) {
		explicit_bzero(key, KEY_LEN_BYTES);
		return -EINVAL;
	}
	return 0;
}

/* Maps 0..63 to A-Z a-z 0-9 + / by adding the distance between consecutive ranges. */
static char base64_char(unsigned int sextet)
{
	int n = (int)sextet;

	return (char)(n + 'A' + (int)(greater(n, 25) & ('a' - 26 - 'A')) -
		      (int)(greater(n, 51) & ('a' - 26 - ('0' - 52))) -
		      (int)(greater(n, 61) & ('0' + 62 - 52 - '+')) +
		      (int)(greater(n, 62) & ('/' - ('+' + 1))));
}

/* Returns the sextet and ORs 0xff into @bad when @ch is outside the standard alphabet. */
static unsigned int base64_value(char ch, unsigned int *bad)
{
	int c = (unsigned char)ch;
	unsigned int upper = in_range(c, 'A', 'Z');
	unsigned int lower = in_range(c, 'a', 'z');
	unsigned int digit = in_range(c, '0', '9');
	unsigned int plus = in_range(c, '+', '+');
	unsigned int slash = in_range(c, '/', '/');

	*bad |= ~(upper | lower | digit | plus | slash) & 0xff;
	return (upper & (unsigned int)(c - 'A')) | (lower & (unsigned int)(c - 'a' + 26)) |
	       (digit & (unsigned int)(c - '0' + 52)) | (plus & 62) | (slash & 63);
}

void tapir_key_to_base64(char out[TAPIR_KEY_BASE64_LEN + 1], const uint8_t key[32])
{
	const uint8_t *in = key;
	char *o = out;
	size_t i;

	for (i = 0; i < BASE64_FULL_GROUPS; i++, in += 3, o += 4) {
		o[0] = base64_char(in[0] >> 2);
		o[1] = base64_char(((in[0] & 0x03u) << 4) | (in[1] >> 4));
		o[2] = base64_char(((in[1] & 0x0fu) << 2) | (in[2] >> 6));
		o[3] = base64_char(in[2] & 0x3fu);
	}
	/* The last two bytes fill 16 of 18 bits: the 2 low bits of o[2] are zero. */
	o[0] = base64_char(in[0] >> 2);
	o[1] = base64_char(((in[0] & 0x03u) << 4) | (in[1] >> 4));
	o[2] = base64_char((in[1] & 0x0fu) << 2);
	o[3] = '=';
	out[TAPIR_KEY_BASE64_LEN] = '\0';
}

int tapir_key_from_base64(uint8_t key[32], const char *b64, size_t len)
{
	const char *in = b64;
	unsigned int bad = 0, v;
	uint8_t *k = key;
	size_t i;

	if (len != TAPIR_KEY_BASE64_LEN || b64[TAPIR_KEY_BASE64_LEN - 1] != '=') {
		explicit_bzero(key, KEY_LEN_BYTES);
		return -EINVAL;
	}
	for (i = 0; i < BASE64_FULL_GROUPS; i++, in += 4, k += 3) {
		v = base64_value(in[0], &bad) << 18 | base64_value(in[1], &bad) << 12 |
		    base64_value(in[2], &bad) << 6 | base64_value(in[3], &bad);
		k[0] = (uint8_t)(v >> 16);
		k[1] = (uint8_t)(v >> 8);
		k[2] = (uint8_t)v;
	}
	v = base64_value(in[0], &bad) << 12 | base64_value(in[1], &bad) << 6 |
	    base64_value(in[2], &bad);
	k[0] = (uint8_t)(v >> 10);
	k[1] = (uint8_t)(v >> 2);
	/* Canonical encodings only, as wg(8): the 2 unused bits must be zero. */
	bad |= v & 0x03u;
	if (bad) {
		explicit_bzero(key, KEY_LEN_BYTES);
		return -EINVAL;
	}
	return 0;
}

/* volatile keeps the compiler from turning the accumulation into an early exit. */
int tapir_memeq_ct(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	unsigned int d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i] ^ y[i];
	/* d is 0..255: d - 1 borrows into bit 8 only when d == 0. */
	return (int)(((d - 1) >> 8) & 1);
}

int tapir_is_zero_ct(const void *a, size_t len)
{
	const volatile uint8_t *x = a;
	unsigned int d = 0;
	size_t i;

	for (i = 0; i < len; i++)
		d |= x[i];
	return (int)(((d - 1) >> 8) & 1);
}
