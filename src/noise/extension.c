// SPDX-License-Identifier: MIT
/*
 * tapir extension frames: the 3-byte type/length header in front of a body, as extension.h
 * lays it out, and the CAPS body. Everything here reads and writes caller buffers only: no
 * I/O, no allocation, no state, so the same code serves the receive path, tests and fuzzers.
 *
 * The parser checks the length of the buffer before each field and trusts nothing in it;
 * what a body means (an Ethernet frame, a compressed packet) is for the layer above.
 */
#include "extension.h"

#include <errno.h>
#include <stdbool.h>

/* Body length bounds per known type; a type with max_bytes == 0 is unknown. */
struct body_bounds {
	size_t min_bytes;
	size_t max_bytes;
};

static const struct body_bounds known_types[TAPIR_EXT_TYPE_LIMIT] = {
    [TAPIR_EXT_CAPS] = {TAPIR_EXT_CAPS_BODY_LEN_BYTES, TAPIR_EXT_BODY_MAX_BYTES},
    [TAPIR_EXT_ETHERNET] = {TAPIR_EXT_ETHERNET_MIN_BYTES, TAPIR_EXT_ETHERNET_MAX_BYTES},
    [TAPIR_EXT_COMPRESSED] = {TAPIR_EXT_COMPRESSED_MIN_BYTES, TAPIR_EXT_BODY_MAX_BYTES},
};

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool is_valid_type(unsigned int type)
{
	return type >= TAPIR_EXT_TYPE_MIN && type < TAPIR_EXT_TYPE_LIMIT;
}

int tapir_ext_parse(const uint8_t *buf, size_t len, struct tapir_ext_frame *out)
{
	const struct body_bounds *b;
	size_t body_len;

	if (len < TAPIR_EXT_HEADER_LEN_BYTES || !is_valid_type(buf[0]))
		return -EINVAL;
	body_len = (size_t)buf[1] << 8 | buf[2];
	/* padding may follow the body, so only a body running past the end is wrong */
	if (body_len > len - TAPIR_EXT_HEADER_LEN_BYTES)
		return -EINVAL;
	out->type = (enum tapir_ext_type)buf[0];
	out->body = buf + TAPIR_EXT_HEADER_LEN_BYTES;
	out->body_len = body_len;

	b = &known_types[buf[0]];
	if (b->max_bytes == 0)
		return -EPROTONOSUPPORT;
	if (body_len < b->min_bytes || body_len > b->max_bytes)
		return -EINVAL;
	return 0;
}

size_t tapir_ext_put_header(uint8_t *dst, enum tapir_ext_type type, size_t body_len)
{
	if (!is_valid_type(type) || body_len > TAPIR_EXT_BODY_MAX_BYTES)
		return 0;
	dst[0] = (uint8_t)type;
	dst[1] = (uint8_t)(body_len >> 8);
	dst[2] = (uint8_t)body_len;
	return TAPIR_EXT_HEADER_LEN_BYTES;
}

int tapir_ext_build_caps(uint8_t *dst, size_t cap, uint32_t caps)
{
	if (cap < TAPIR_EXT_CAPS_FRAME_LEN_BYTES)
		return -ENOSPC;
	tapir_ext_put_header(dst, TAPIR_EXT_CAPS, TAPIR_EXT_CAPS_BODY_LEN_BYTES);
	put_be32(dst + TAPIR_EXT_HEADER_LEN_BYTES, caps);
	return TAPIR_EXT_CAPS_FRAME_LEN_BYTES;
}

int tapir_ext_parse_caps(const struct tapir_ext_frame *f, uint32_t *caps)
{
	/* checked again: @f may not come from tapir_ext_parse */
	if (f->type != TAPIR_EXT_CAPS || f->body_len < TAPIR_EXT_CAPS_BODY_LEN_BYTES)
		return -EINVAL;
	/* bytes after the mask are later fields this version does not know: ignored */
	*caps = get_be32(f->body) & TAPIR_EXT_CAP_KNOWN;
	return 0;
}
