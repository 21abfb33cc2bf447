// SPDX-License-Identifier: MIT
/*
 * tapir genkey | pubkey | genpsk: Curve25519 private keys, their public keys, and preshared
 * keys, as base64 lines byte-compatible with wg(8) (wireguard-protocol.md section 1: keys are
 * 32 bytes; private keys are clamped when generated, public keys derived with DH_PUBKEY).
 *
 * Every buffer that held a secret is wiped before returning. Nothing here talks to a daemon.
 */
#include "cli.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "encoding.h"

static bool is_help(int argc, char **argv)
{
	return argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
}

/* Returns 0 after printing help, 2 after a usage error, -1 when the command may run. */
static int check_no_args(int argc, char **argv, const char *what)
{
	if (argc == 1)
		return -1;
	if (is_help(argc, argv)) {
		printf("Usage: tapir %s\n\n%s\n", argv[0], what);
		return 0;
	}
	fprintf(stderr, "Usage: tapir %s\n", argv[0]);
	return 2;
}

/* Like wg(8): a key written to a file that others can read deserves a warning. */
static void warn_if_world_accessible(void)
{
	struct stat st;

	if (!fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		fputs("Warning: writing to world accessible file.\n"
		      "Consider setting the umask to 077 and trying again.\n",
		      stderr);
}

static int print_key(const char *cmd, uint8_t key[32])
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	int r = 0;

	tapir_key_to_base64(b64, key);
	if (puts(b64) < 0 || fflush(stdout)) {
		perror(cmd);
		r = 1;
	}
	tapir_wipe(b64, sizeof(b64));
	tapir_wipe(key, 32);
	return r;
}

int tapir_cmd_genkey(int argc, char **argv)
{
	uint8_t key[32];
	int r = check_no_args(
	    argc, argv,
	    "Prints a new random Curve25519 private key (clamped), in base64.\n"
	    "Save it with a restrictive umask: umask 077; tapir genkey > private.key");

	if (r >= 0)
		return r;
	warn_if_world_accessible();
	tapir_x25519_generate(key);
	return print_key("tapir genkey", key);
}

int tapir_cmd_genpsk(int argc, char **argv)
{
	uint8_t key[32];
	int r = check_no_args(argc, argv, "Prints a new random 256-bit preshared key, in base64.");

	if (r >= 0)
		return r;
	warn_if_world_accessible();
	tapir_random_bytes(key, sizeof(key));
	return print_key("tapir genpsk", key);
}

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Reads a base64 private key from stdin: exactly 44 characters, then only white space (and
 * NUL bytes, which wg(8) skips too). Returns 0 and fills @key, or -1 after a message.
 */
static int read_private_key(uint8_t key[32])
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];
	bool is_bad;
	int c;

	is_bad = fread(b64, 1, TAPIR_KEY_BASE64_LEN, stdin) != TAPIR_KEY_BASE64_LEN;
	while (!is_bad && (c = getc(stdin)) != EOF) {
		if (c && !is_space(c)) {
			fputs("tapir pubkey: trailing characters found after key\n", stderr);
			tapir_wipe(b64, sizeof(b64));
			return -1;
		}
	}
	if (is_bad || tapir_key_from_base64(key, b64, TAPIR_KEY_BASE64_LEN)) {
		fputs("tapir pubkey: key is not the correct length or format\n", stderr);
		tapir_wipe(b64, sizeof(b64));
		return -1;
	}
	tapir_wipe(b64, sizeof(b64));
	return 0;
}

int tapir_cmd_pubkey(int argc, char **argv)
{
	uint8_t priv[32], pub[32];
	int r =
	    check_no_args(argc, argv,
			  "Reads a base64 private key from standard input and prints its public\n"
			  "key, in base64: tapir pubkey < private.key > public.key");

	if (r >= 0)
		return r;
	if (read_private_key(priv))
		return 1;
	tapir_x25519_public(pub, priv);
	tapir_wipe(priv, sizeof(priv));
	return print_key("tapir pubkey", pub);
}
