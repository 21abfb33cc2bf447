/* SPDX-License-Identifier: MIT */
/*
 * Shared by the config parser's unit tests (test_config.c: lines, sections and messages;
 * test_config_keys.c: each key's values; test_config_uapi.c: the UAPI set request and back):
 * throw-away keys, the two sample files and the helpers that parse from an exact-size heap
 * copy, so ASan catches reads past the end. Defined in config_fixture.c; test code only.
 */
#ifndef TAPIR_TEST_CONFIG_FIXTURE_H
#define TAPIR_TEST_CONFIG_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

/* Throw-away keys; PRIV and PSK must never show up in an error message. */
#define PRIV "2IU65e1vDTsPfLJWJbcpWYMkkiGrVprUyhwzs/VRdW4="
#define PSK "WGwKWZU05PRP3jgMj5sMlbF6MQhLKAXvQ5d3hWKbIrU="
#define PUB1 "h7kC7V87U9Gz8+vsdVotp/4cWs3rr4yqAI8G0XGQ/EY="
#define PUB1_HEX "87b902ed5f3b53d1b3f3ebec755a2da7fe1c5acdebaf8caa008f06d17190fc46"
#define PUB2 "YVxsAnltqfVic/lWfxQZ1JGD+chQfXSgY+qRP6eAgkc="
#define PUB3 "ljsDeutNfydppZ1tVmetNQvKvgWwKVCazO//89osbTs="
#define PRIV_PREFIX "2IU65e1v"
#define PSK_PREFIX "WGwKWZU0"

enum {
	ERR_BYTES = 512,
};

/* The message of the last cfg_parse(), NUL-terminated (it is filled with 'X' before). */
extern char cfg_err[ERR_BYTES];

/* A file using every WireGuard and wg-quick key: three peers, comments, CRLF, any key case. */
extern const char full_file[];
/* tapir up's TAP keys, Bridge before Mode: two peers, the first with three MACs. */
extern const char tap_file[];

int cfg_parse_mode(const char *s, bool is_wg_only, struct tapir_quick_conf *q);
int cfg_parse(const char *s, struct tapir_quick_conf *q);
void assert_key(const uint8_t key[32], const char *b64);
void assert_zeroed(const struct tapir_quick_conf *q);
void assert_prefix(int family, const uint8_t *addr, unsigned cidr, const char *want);

#endif
