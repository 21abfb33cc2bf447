// SPDX-License-Identifier: MIT
/*
 * TCP transport framing (tcpframe.h): the input, after two bytes that seed the read sizes,
 * is a byte stream fed to the reader in reads of 1 to 5000 bytes, as recv() would cut it.
 * Every message handed out must be exactly the next frame a one-pass reference parser finds
 * in the whole stream, lie inside the reader's buffer, pass the header check, and garbage
 * must be reported exactly where the reference finds it (and only there).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcpframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tapir_tcpframe_reader reader;

/* The reference: where the frame at @off ends (> off), 0 if incomplete, -1 if garbage. */
static long ref_frame(const uint8_t *s, size_t n, size_t off)
{
	size_t len, have;

	if (n - off < TAPIR_TCPFRAME_LEN_BYTES)
		return 0;
	len = (size_t)s[off] << 8 | s[off + 1];
	have = n - off - TAPIR_TCPFRAME_LEN_BYTES;
	if (tapir_tcpframe_check(len, s + off + 2, have < 4 ? have : 4) < 0)
		return -1;
	return have < len ? 0 : (long)(off + 2 + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t seed;
	size_t fed = 0, ref_off = 0;
	const uint8_t *s;
	size_t n;

	if (size < 2)
		return 0;
	seed = (uint32_t)data[0] << 8 | data[1] | 1;
	s = data + 2;
	n = size - 2;
	tapir_tcpframe_reset(&reader);
	while (fed < n) {
		size_t room, chunk;
		uint8_t *p = tapir_tcpframe_space(&reader, &room);
		const uint8_t *msg;
		size_t len;
		int r;

		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 8) % 5000;
		if (room == 0)
			abort(); /* drained readers always have room */
		if (chunk > room)
			chunk = room;
		if (chunk > n - fed)
			chunk = n - fed;
		memcpy(p, s + fed, chunk);
		tapir_tcpframe_commit(&reader, chunk);
		fed += chunk;
		while ((r = tapir_tcpframe_next(&reader, &msg, &len)) == 1) {
			long end = ref_frame(s, fed, ref_off);

			if (end <= 0 || (size_t)end - ref_off - 2 != len ||
			    memcmp(msg, s + ref_off + 2, len) || msg < reader.buf ||
			    msg + len > reader.buf + sizeof(reader.buf) ||
			    tapir_tcpframe_check(len, msg, 4) < 0)
				abort();
			ref_off = (size_t)end;
		}
		if (r == -EBADMSG) {
			if (ref_frame(s, fed, ref_off) != -1)
				abort();
			return 0;
		}
		if (r != 0 || ref_frame(s, fed, ref_off) != 0)
			abort(); /* the reader wants more, so must the reference */
		if (tapir_tcpframe_has_partial(&reader) != (ref_off < fed))
			abort();
	}
	return 0;
}
