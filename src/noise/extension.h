/* SPDX-License-Identifier: MIT */
/*
 * tapir extension frames (design.md, "Wire protocol"): what a tapir peer sends a tapir peer
 * inside an authenticated WireGuard transport-data payload instead of an IP packet.
 *
 * The first byte of a decrypted payload tells the two apart: a high nibble of 4 or 6 is an IP
 * packet (standard WireGuard), a byte below 0x40 is an extension frame. Stock WireGuard peers
 * drop such payloads as invalid IP, so sending one to them is harmless. Layout:
 *
 *     offset  size  field
 *     0       1     type, 0x01..0x3f (0x00 is invalid, 0x40 and above is IP)
 *     1       2     body length in bytes, big-endian
 *     3       len   body
 *     3+len   any   ignored: WireGuard's zero padding up to a multiple of 16 bytes
 *
 * A frame whose length field claims more body than the payload holds is invalid. Types:
 *
 *     0x01 CAPS        body: 4-byte big-endian capability bitmask (enum tapir_ext_caps);
 *                      body length >= 4, bytes after the first 4 are ignored (room for later
 *                      fields); unknown bits are ignored by receivers. Sent after each
 *                      handshake; a capability is used only once both sides announced it.
 *     0x02 ETHERNET    body: one whole Ethernet frame, 14 to 65532 bytes (destination MAC,
 *                      source MAC, EtherType or TPID, payload; no FCS).
 *     0x03 COMPRESSED  body: one compressed IP packet, at least 1 byte (reserved for the
 *                      compression issue; only the header is parsed here).
 *
 * Other types with a well-formed header are reported as unsupported, so that a newer peer's
 * frames are counted and dropped, not mistaken for damage. No I/O, no allocation, no state.
 */
#ifndef TAPIR_EXTENSION_H
#define TAPIR_EXTENSION_H

#include <stddef.h>
#include <stdint.h>

enum tapir_ext_type {
	TAPIR_EXT_CAPS = 0x01,
	TAPIR_EXT_ETHERNET = 0x02,
	TAPIR_EXT_COMPRESSED = 0x03,
};

enum tapir_ext_type_range {
	TAPIR_EXT_TYPE_MIN = 0x01,
	TAPIR_EXT_TYPE_LIMIT = 0x40, /* 0x40 and up start an IP packet (version 4 or 6) */
};

enum tapir_ext_len {
	TAPIR_EXT_HEADER_LEN_BYTES = 3,
	/* the whole frame fits a 16-bit length, like every WireGuard payload */
	TAPIR_EXT_FRAME_MAX_BYTES = 65535,
	TAPIR_EXT_BODY_MAX_BYTES = TAPIR_EXT_FRAME_MAX_BYTES - TAPIR_EXT_HEADER_LEN_BYTES,
	TAPIR_EXT_CAPS_BODY_LEN_BYTES = 4,
	TAPIR_EXT_CAPS_FRAME_LEN_BYTES = TAPIR_EXT_HEADER_LEN_BYTES + TAPIR_EXT_CAPS_BODY_LEN_BYTES,
	TAPIR_EXT_ETHERNET_MIN_BYTES = 14, /* two MACs and an EtherType */
	TAPIR_EXT_ETHERNET_MAX_BYTES = TAPIR_EXT_BODY_MAX_BYTES,
	TAPIR_EXT_COMPRESSED_MIN_BYTES = 1,
};

/* Capability bits of a CAPS frame. */
enum tapir_ext_caps {
	TAPIR_EXT_CAP_L2 = 1u << 0,  /* accepts ETHERNET frames */
	TAPIR_EXT_CAP_LZ4 = 1u << 1, /* accepts COMPRESSED frames (LZ4) */
	TAPIR_EXT_CAP_KNOWN = TAPIR_EXT_CAP_L2 | TAPIR_EXT_CAP_LZ4,
};

/* A parsed frame. @body points into the parsed buffer and is valid only as long as it is. */
struct tapir_ext_frame {
	enum tapir_ext_type type; /* raw type byte when the parser returned -EPROTONOSUPPORT */
	const uint8_t *body;
	size_t body_len;
};

/* extension.c */

/*
 * Parses the frame at the start of @buf (@len bytes, padding included). Returns 0 and fills
 * @out; -EINVAL for a malformed frame (short header, type 0 or >= 0x40, body past the end of
 * @buf, body length out of range for its type); -EPROTONOSUPPORT for an unknown type whose
 * header is well-formed (@out is filled so that the caller can name the type).
 */
int tapir_ext_parse(const uint8_t *buf, size_t len, struct tapir_ext_frame *out);

/*
 * Writes the TAPIR_EXT_HEADER_LEN_BYTES header of a frame of @type with @body_len bytes of
 * body to @dst; the caller places the body right after it. This lets the sender build an
 * ETHERNET frame in place: read the Ethernet frame into a packet buffer after its headroom
 * and write the header to the 3 bytes before it. Returns the header length, or 0 when @type
 * is outside 0x01..0x3f or @body_len exceeds TAPIR_EXT_BODY_MAX_BYTES (nothing written).
 */
size_t tapir_ext_put_header(uint8_t *dst, enum tapir_ext_type type, size_t body_len);

/* Writes a CAPS frame announcing @caps to @dst (@cap bytes). Returns its length or -ENOSPC. */
int tapir_ext_build_caps(uint8_t *dst, size_t cap, uint32_t caps);

/*
 * Reads the capability mask of a parsed CAPS frame into @caps, keeping only the bits of
 * TAPIR_EXT_CAP_KNOWN. Returns 0, or -EINVAL when @f is not a CAPS frame of at least 4 bytes.
 */
int tapir_ext_parse_caps(const struct tapir_ext_frame *f, uint32_t *caps);

#endif
