/* SPDX-License-Identifier: MIT */
/*
 * TCP transport framing (design.md, "TCP transport"): each WireGuard message travels as a
 * 2-byte big-endian length followed by the message itself, exactly as it would be one UDP
 * datagram. This is the reader for one connection's byte stream: no I/O, no allocation.
 *
 * A message must be a well-formed WireGuard message by its 4-byte header and its length:
 * an initiation is 148 bytes, a response 92, a cookie reply 64, transport data at least 32
 * (header 16, tag 16); any other type, non-zero reserved bytes or a length below 32 is bad.
 * Anything else is garbage, and the reader says so as soon as the length and the first four
 * bytes are in, without waiting for the rest: the connection is then closed by the caller.
 *
 * Use: tapir_tcpframe_space() gives room to read() into, tapir_tcpframe_commit() accounts
 * what was read, tapir_tcpframe_next() hands out complete messages one by one. A message
 * stays valid until the next call to tapir_tcpframe_space().
 */
#ifndef TAPIR_TCPFRAME_H
#define TAPIR_TCPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tapir_tcpframe_sizes {
	TAPIR_TCPFRAME_LEN_BYTES = 2,
	TAPIR_TCPFRAME_MSG_MIN = 32,	/* an empty transport-data message (keepalive) */
	TAPIR_TCPFRAME_MSG_MAX = 65535, /* what 2 bytes can say; 16 + 65504 + 16 for data */
	/* one largest frame plus room to read more in the same call */
	TAPIR_TCPFRAME_BUF_LEN = TAPIR_TCPFRAME_LEN_BYTES + TAPIR_TCPFRAME_MSG_MAX + 4096,
};

struct tapir_tcpframe_reader {
	size_t start; /* first byte not yet handed out */
	size_t end;   /* end of the bytes read */
	uint8_t buf[TAPIR_TCPFRAME_BUF_LEN];
};

void tapir_tcpframe_reset(struct tapir_tcpframe_reader *r);
/*
 * Room to read into: moves a partial frame to the front when that makes room. Never returns
 * less than what the current frame still needs (at least 1 byte).
 */
uint8_t *tapir_tcpframe_space(struct tapir_tcpframe_reader *r, size_t *room);
/* Accounts @n bytes read into the space returned last (n <= room). */
void tapir_tcpframe_commit(struct tapir_tcpframe_reader *r, size_t n);
/*
 * The next complete message: returns 1 and sets @msg and @len; 0 when more bytes are needed;
 * -EBADMSG when the stream is garbage (the reader stays in that state).
 */
int tapir_tcpframe_next(struct tapir_tcpframe_reader *r, const uint8_t **msg, size_t *len);
/* Whether part of a frame has been read and not yet handed out. */
bool tapir_tcpframe_has_partial(const struct tapir_tcpframe_reader *r);
/*
 * Validates a frame from its length and first @have bytes (up to 4 are looked at). Returns
 * 0 if it can still be a well-formed message, -EBADMSG if not.
 */
int tapir_tcpframe_check(size_t len, const uint8_t *head, size_t have);
/* Writes the 2-byte length prefix for a message of @len bytes (1 <= len <= MSG_MAX). */
void tapir_tcpframe_put_len(uint8_t out[TAPIR_TCPFRAME_LEN_BYTES], size_t len);

#endif
