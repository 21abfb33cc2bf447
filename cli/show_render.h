/* SPDX-License-Identifier: MIT */
/*
 * The parts of tapir show and tapir showconf, internal to the show*.c files: the UAPI get
 * turned into a struct device_info (show_get.c), the text of single values (show_text.c), the
 * forms wg(8) prints (show_print.c) and tapir's --json (show_json.c). show.c and showconf.c
 * are the commands. Every printer writes to stdout and only reads @dev; none of them prints
 * a private or preshared key unless the form asks for it as wg(8)'s does.
 */
#ifndef TAPIR_CLI_SHOW_RENDER_H
#define TAPIR_CLI_SHOW_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "show.h"

enum {
	ENDPOINT_TEXT_BYTES = 128, /* "tcp://" + [numeric IPv6%scope]:port */
	ADDR_TEXT_BYTES = 64,
};

/* show_get.c */
/*
 * Fills @dev (zeroed first; free it with tapir_show_device_free() even on failure) from a get
 * on @name. @has_extensions asks tapird for its extension keys. Prints wg's message on error.
 */
int tapir_show_fetch(struct device_info *dev, const char *name, bool has_extensions);
void tapir_show_device_free(struct device_info *dev);

/* show_text.c */
void tapir_show_mac_text(char out[18], const uint8_t mac[6]);
const char *tapir_show_endpoint_text(char out[ENDPOINT_TEXT_BYTES], const union tapir_sockaddr *ep);
const char *tapir_show_peer_endpoint_text(char out[ENDPOINT_TEXT_BYTES],
					  const struct peer_info *peer);
bool tapir_show_is_lz4_active(const struct peer_info *peer);
bool tapir_show_has_endpoint(const struct peer_info *peer);
const char *tapir_show_aip_text(char out[ADDR_TEXT_BYTES], const struct allowed_ip *aip);

/* show_print.c */
int tapir_show_pretty_print(const struct device_info *dev);
/* Whether @s names a field of show IF FIELD. */
bool tapir_show_is_field(const char *s);
/* One field of @dev; each line starts with "IFNAME\t" when @prefix is (show all FIELD). */
void tapir_show_field_print(const struct device_info *dev, const char *field, const char *prefix);

/* show_json.c */
/* One element of "interfaces", preceded by its separator. */
void tapir_show_json_device(const struct device_info *dev, bool is_first);

#endif
