// SPDX-License-Identifier: MIT
/*
 * The config tests' fixtures (config_fixture.h): the sample files, and parsing from an
 * exact-size heap copy with the message buffer pre-filled, so a read past the end of the text
 * or an unterminated message fails under ASan or the NUL check.
 */
#include "config_fixture.h"

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encoding.h"

char cfg_err[ERR_BYTES];

int cfg_parse_mode(const char *s, bool is_wg_only, struct tapir_quick_conf *q)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, s, len);
	memset(cfg_err, 'X', sizeof(cfg_err));
	r = tapir_config_parse(copy, len, "test.conf", is_wg_only, q, cfg_err, sizeof(cfg_err));
	free(copy);
	assert_non_null(memchr(cfg_err, '\0', sizeof(cfg_err)));
	return r;
}

int cfg_parse(const char *s, struct tapir_quick_conf *q)
{
	return cfg_parse_mode(s, false, q);
}

void assert_key(const uint8_t key[32], const char *b64)
{
	uint8_t want[32];

	assert_int_equal(tapir_key_from_base64(want, b64, strlen(b64)), 0);
	assert_memory_equal(key, want, 32);
}

void assert_zeroed(const struct tapir_quick_conf *q)
{
	static const struct tapir_quick_conf zero;

	assert_memory_equal(q, &zero, sizeof(zero));
}

void assert_prefix(int family, const uint8_t *addr, unsigned cidr, const char *want)
{
	char text[INET6_ADDRSTRLEN + 8];
	char buf[INET6_ADDRSTRLEN];

	assert_non_null(inet_ntop(family, addr, buf, sizeof(buf)));
	snprintf(text, sizeof(text), "%s/%u", buf, cidr);
	assert_string_equal(text, want);
}

const char full_file[] = "# a comment line\n"
			 "[Interface]   # trailing comment\n"
			 "PrivateKey = " PRIV "\n"
			 "  listenport=51820\r\n"
			 "FwMark = 0x1234\n"
			 "Address = 10.0.0.1/24, fd00::1/64\n"
			 "Address = 10.0.1.1\n"
			 "DNS = 192.0.2.53, 2001:db8::53, example.com\n"
			 "MTU = 1380\n"
			 "Table = 1234\n"
			 "PreUp = echo pre-up %i one\n"
			 "PreUp = echo pre-up two\n"
			 "PostUp = iptables -A FORWARD -i %i -j ACCEPT\n"
			 "PreDown = echo pre-down\n"
			 "PostDown = echo post-down\n"
			 "SaveConfig = false\n"
			 "\n"
			 "[Peer]\n"
			 "AllowedIPs = 10.0.0.2/32,fd00::2/128 , 192.168.0.0/16\n"
			 "PUBLICKEY = " PUB1 "\n"
			 "PresharedKey = " PSK "\n"
			 "Endpoint = 192.0.2.2:51820\n"
			 "PersistentKeepalive = 25\n"
			 "[peer]\n"
			 "PublicKey = " PUB2 "\n"
			 "Endpoint = [2001:db8::2]:443\n"
			 "PersistentKeepalive = off\n"
			 "AllowedIPs =\n"
			 "[Peer]\n"
			 "PublicKey = " PUB3 "\n"
			 "Endpoint = vpn.example.com:51820\n"
			 "AllowedIPs = 0.0.0.0/0, ::/0";

/* Bridge before Mode: the TAP keys may come in any order. */
const char tap_file[] = "[Interface]\n"
			"PrivateKey = " PRIV "\n"
			"Bridge = br-lan.10\n"
			"mode = TAP\n"
			"Forward = on\n"
			"MACAge = 120\n"
			"Address = 10.0.0.1/24\n"
			"[Peer]\n"
			"PublicKey = " PUB1 "\n"
			"Endpoint = 192.0.2.2:51820\n"
			"MACs = 02:00:00:00:00:01, 02:AB:cd:00:00:02\n"
			"MACs = 06:00:00:00:00:03\n"
			"AllowedIPs =\n"
			"[Peer]\n"
			"PublicKey = " PUB2 "\n";
