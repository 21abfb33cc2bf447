// SPDX-License-Identifier: MIT
/* TCP transport framing: a 2-byte big-endian length, then one WireGuard message. */
#include "tcpframe.h"

#include <errno.h>
#include <string.h>

#include "messages.h"

void tapir_tcpframe_reset(struct tapir_tcpframe_reader *r)
{
	r->start = 0;
	r->end = 0;
}

static size_t frame_len(const struct tapir_tcpframe_reader *r)
{
	const uint8_t *p = r->buf + r->start;

	return (size_t)p[0] << 8 | p[1];
}

int tapir_tcpframe_check(size_t len, const uint8_t *head, size_t have)
{
	if (len < TAPIR_TCPFRAME_MSG_MIN || len > TAPIR_TCPFRAME_MSG_MAX)
		return -EBADMSG;
	if (have >= 1 && (head[0] < TAPIR_MSG_INITIATION || head[0] > TAPIR_MSG_DATA))
		return -EBADMSG;
	for (size_t i = 1; i < have && i < 4; i++) {
		if (head[i])
			return -EBADMSG;
	}
	if (have < 1)
		return 0;
	switch (head[0]) {
	case TAPIR_MSG_INITIATION:
		return len == TAPIR_MSG_INITIATION_LEN ? 0 : -EBADMSG;
	case TAPIR_MSG_RESPONSE:
		return len == TAPIR_MSG_RESPONSE_LEN ? 0 : -EBADMSG;
	case TAPIR_MSG_COOKIE:
		return len == TAPIR_MSG_COOKIE_LEN ? 0 : -EBADMSG;
	default:
		/* data: header 16 + padded payload + tag 16 (the padding stops at the MTU, so
		 * the length need not be a multiple of 16) */
		return 0;
	}
}

int tapir_tcpframe_next(struct tapir_tcpframe_reader *r, const uint8_t **msg, size_t *len)
{
	size_t avail = r->end - r->start, flen, have;

	if (avail < TAPIR_TCPFRAME_LEN_BYTES)
		return 0;
	flen = frame_len(r);
	have = avail - TAPIR_TCPFRAME_LEN_BYTES;
	if (tapir_tcpframe_check(flen, r->buf + r->start + TAPIR_TCPFRAME_LEN_BYTES,
				 have < 4 ? have : 4) < 0)
		return -EBADMSG;
	if (have < flen)
		return 0;
	*msg = r->buf + r->start + TAPIR_TCPFRAME_LEN_BYTES;
	*len = flen;
	r->start += TAPIR_TCPFRAME_LEN_BYTES + flen;
	if (r->start == r->end)
		r->start = r->end = 0;
	return 1;
}

uint8_t *tapir_tcpframe_space(struct tapir_tcpframe_reader *r, size_t *room)
{
	size_t avail = r->end - r->start;

	/* a maximal frame fits the buffer from its start: compact when it would not */
	if (r->start && (r->start + TAPIR_TCPFRAME_LEN_BYTES + TAPIR_TCPFRAME_MSG_MAX >
			     TAPIR_TCPFRAME_BUF_LEN ||
			 r->end == TAPIR_TCPFRAME_BUF_LEN)) {
		memmove(r->buf, r->buf + r->start, avail);
		r->start = 0;
		r->end = avail;
	}
	*room = TAPIR_TCPFRAME_BUF_LEN - r->end;
	return r->buf + r->end;
}

void tapir_tcpframe_commit(struct tapir_tcpframe_reader *r, size_t n)
{
	r->end += n;
}

bool tapir_tcpframe_has_partial(const struct tapir_tcpframe_reader *r)
{
	return r->end > r->start;
}

void tapir_tcpframe_put_len(uint8_t out[TAPIR_TCPFRAME_LEN_BYTES], size_t len)
{
	out[0] = (uint8_t)(len >> 8);
	out[1] = (uint8_t)len;
}
