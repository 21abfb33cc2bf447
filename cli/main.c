// SPDX-License-Identifier: MIT
/*
 * tapir(8): the command-line tool. Dispatches the first argument through a table of
 * subcommands (cli.h); with no arguments it runs "show", like wg(8). Each subcommand parses
 * its own arguments and handles --help; this file only picks one and initialises crypto.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"
#include "util.h"

typedef int (*tapir_cmd_fn)(int argc, char **argv);

struct subcommand {
	const char *name;
	tapir_cmd_fn fn;
	const char *description;
};

static const struct subcommand subcommands[] = {
    {"show", tapir_cmd_show, "Shows the current configuration and device information"},
    {"showconf", tapir_cmd_showconf, "Shows the current configuration of an interface"},
    {"set", tapir_cmd_set, "Changes the current configuration, adds peers, removes peers"},
    {"setconf", tapir_cmd_setconf, "Applies a configuration file to an interface"},
    {"addconf", tapir_cmd_addconf, "Appends a configuration file to an interface"},
    {"syncconf", tapir_cmd_syncconf,
     "Synchronizes a configuration file with an interface, keeping unchanged sessions"},
    {"genkey", tapir_cmd_genkey, "Generates a new private key and writes it to stdout"},
    {"genpsk", tapir_cmd_genpsk, "Generates a new preshared key and writes it to stdout"},
    {"pubkey", tapir_cmd_pubkey, "Reads a private key from stdin and writes a public key"},
    {"up", tapir_cmd_up, "Starts tapird and brings an interface up from a config file"},
    {"down", tapir_cmd_down, "Takes down an interface brought up with tapir up"},
    {"strip", tapir_cmd_strip, "Prints a tapir up file without the keys tapir up acts on"},
    {"tuntap", tapir_cmd_tuntap, "Manages persistent TUN/TAP devices and watches them"},
    {"mesh", tapir_cmd_mesh, "Joins hosts into one overlay network kept in etcd"},
    {"demo", tapir_cmd_demo,
     "Builds a tunnel between namespaces on this machine and tears it down"},
};

static void print_usage(FILE *f)
{
	size_t n = TAPIR_ARRAY_SIZE(subcommands);

	fprintf(f, "Usage: tapir <cmd> [<args>]\n\nAvailable subcommands:\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].description);
	fprintf(f, "You may pass `--help' to any of these subcommands to view usage.\n");
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < TAPIR_ARRAY_SIZE(subcommands); i++) {
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	}
	return NULL;
}

static bool is_help(const char *arg)
{
	return !strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help");
}

int main(int argc, char **argv)
{
	static char show_name[] = "show";
	char *show_argv[] = {show_name, NULL};
	const struct subcommand *cmd;

	if (tapir_crypto_init()) {
		fprintf(stderr, "tapir: cannot initialise the crypto library\n");
		return 1;
	}
	if (argc == 1)
		return tapir_cmd_show(1, show_argv);
	if (is_help(argv[1])) {
		print_usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("tapir %s\n", TAPIR_VERSION);
		return 0;
	}
	cmd = find_subcommand(argv[1]);
	if (!cmd) {
		fprintf(stderr, "tapir: invalid subcommand `%s'\n", argv[1]);
		print_usage(stderr);
		return 2;
	}
	return cmd->fn(argc - 1, argv + 1);
}
