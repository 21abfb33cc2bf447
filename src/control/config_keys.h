/* SPDX-License-Identifier: MIT */
/*
 * Private to the config file parser (config.h): the state it carries from line to line and
 * its key table, shared by config.c (lines, sections, error messages, whole-file checks) and
 * config_keys.c (one handler per key, with the value syntax and its limits). Nothing outside
 * those two files includes this header; the parser's API is config.h.
 */
#ifndef TAPIR_CONFIG_KEYS_H
#define TAPIR_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "config.h"

enum cfg_section {
	SECTION_NONE,
	SECTION_INTERFACE,
	SECTION_PEER,
};

/*
 * Who may use a key. A setconf file (is_wg_only) takes KEY_WG ones and tapir's extension keys
 * that travel over UAPI (KEY_TAPIR, KEY_TAPIR_TAP), not the keys tapir up itself acts on
 * (KEY_QUICK, KEY_UP, KEY_UP_TAP): what `tapir strip` removes.
 */
enum cfg_key_kind {
	KEY_WG,
	KEY_QUICK,     /* wg-quick's */
	KEY_TAPIR,     /* tapir's, sent to tapird */
	KEY_TAPIR_TAP, /* tapir's, sent to tapird, and in a tapir up file only with Mode = tap */
	KEY_UP,	       /* tapir up's: tapird's command line */
	KEY_UP_TAP,    /* tapir up's, and only with Mode = tap */
};

/* Owned by tapir_config_parse() (config.c), on its stack; handlers write only q and problem. */
struct cfg_parser {
	struct tapir_quick_conf *q;
	const char *filename;
	size_t line_no;
	bool is_wg_only;
	enum cfg_section section;
	size_t peer_line;	  /* line of the current [Peer] header */
	bool has_public_key;	  /* the current [Peer] has its PublicKey */
	size_t tap_key_line;	  /* first KEY_TAPIR_TAP key, 0 = none */
	const char *tap_key_name; /* its name */
	size_t allowed_ips_line;  /* first AllowedIPs line with an item, 0 = none */
	const char *problem;	  /* set by a key handler that fails with -EINVAL */
	char *err;
	size_t errlen;
};

/* A handler returns 0, -EINVAL (after setting p->problem if it knows better) or -ENOMEM. */
typedef int (*cfg_key_fn)(struct cfg_parser *p, const char *val, size_t len);

struct cfg_key {
	const char *name;
	enum cfg_section section;
	enum cfg_key_kind kind;
	bool is_list;	  /* comma-separated, the handler gets one item at a time */
	cfg_key_fn parse; /* called once per value, or once per item of a list */
};

/* Is @s (@len bytes) @word, in any case? Key names, section names and word values. */
static inline bool cfg_is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && !strncasecmp(s, word, len);
}

/* A key tapir up acts on itself, not valid in a setconf file. */
static inline bool cfg_is_up_kind(enum cfg_key_kind kind)
{
	return kind == KEY_QUICK || kind == KEY_UP || kind == KEY_UP_TAP;
}

/* config_keys.c */
const struct cfg_key *tapir_config_find_key(enum cfg_section section, const char *name, size_t len);

#endif
