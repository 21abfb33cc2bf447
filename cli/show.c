// SPDX-License-Identifier: MIT
/*
 * tapir show: a UAPI "get" (wireguard-protocol.md section 9.2) rendered exactly as wg(8)
 * renders it (the human-readable form, every single field, the tab-separated "dump"), plus
 * tapir's additions: the "drops", "tcp", "compression", "icmp" and "metrics" (cli/metrics.c)
 * fields and --json. Private and preshared keys are shown only where wg(8) shows them (dump,
 * private-key, preshared-keys); the human-readable form says "(hidden)" unless
 * WG_HIDE_KEYS=never, and --json and metrics never carry them.
 *
 * This file reads the arguments, picks the interfaces and the form, and frames the --json
 * object (schema_version 1, tapir(8) JSON OUTPUT); show_get.c parses the reply and
 * show_print.c and show_json.c print it. It only reads from the daemon.
 */
#include "cli.h"

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "show_render.h"
#include "uapi_client.h"

enum {
	JSON_SCHEMA_VERSION = 1, /* bumped only when a key changes meaning or goes away */
};

static const char SHOW_USAGE[] =
    "Usage: tapir show [--json] { <interface> | all | interfaces } [public-key | private-key |\n"
    "       listen-port | fwmark | peers | preshared-keys | endpoints | allowed-ips |\n"
    "       latest-handshakes | transfer | persistent-keepalive | drops | tcp | compression |\n"
    "       icmp | metrics | dump]\n";

static const char SHOW_HELP[] =
    "\nShows interfaces and peers as wg show does; without arguments, all interfaces.\n"
    "Private and preshared keys print as (hidden) unless WG_HIDE_KEYS=never; the dump and\n"
    "the private-key and preshared-keys fields show them. drops (tapird only) lists the\n"
    "packets dropped so far by reason; tcp (tapird only) whether the TCP transport listens\n"
    "(TCPListen, off by default), on which port, and its connection counters; compression\n"
    "(tapird only) the LZ4 counters and, per peer, off, lz4 (active) or lz4 (not announced\n"
    "by the peer: sent uncompressed); icmp (tapird only) the \"destination unreachable\"\n"
    "errors sent back for packets no peer routes, and those the rate limit held back.\n"
    "metrics prints the counters in the Prometheus text format (for node_exporter's\n"
    "textfile collector; metric names in tapir(8)).\n"
    "--json prints every interface asked for as one JSON object without any private or\n"
    "preshared key (schema: JSON OUTPUT in tapir(8)).\n";

enum show_mode {
	SHOW_PRETTY,
	SHOW_FIELD,
	SHOW_JSON,
	SHOW_METRICS,
};

struct show_args {
	enum show_mode mode;
	const char *target; /* NULL: all interfaces */
	const char *field;
};

/* Returns -1 to go on, or an exit code (0 after --help, 2 for a usage error). */
static int parse_show_args(int argc, char **argv, struct show_args *a, bool *is_list)
{
	const char *pos[2] = {NULL, NULL};
	bool is_json = false;
	size_t n = 0;

	memset(a, 0, sizeof(*a));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("%s%s", SHOW_USAGE, SHOW_HELP);
			return 0;
		}
		if (!strcmp(argv[i], "--json"))
			is_json = true;
		else if (n < 2)
			pos[n++] = argv[i];
		else
			goto usage;
	}
	*is_list = n && !strcmp(pos[0], "interfaces");
	if (n == 2 && !tapir_show_is_field(pos[1])) {
		fprintf(stderr, "Invalid parameter: `%s'\n", pos[1]);
		goto usage;
	}
	/* --json describes whole interfaces: no single fields, no bare name list. */
	if ((n == 2 && (is_json || *is_list)) || (*is_list && is_json))
		goto usage;
	a->target = n && strcmp(pos[0], "all") ? pos[0] : NULL;
	a->field = pos[1];
	a->mode = is_json				     ? SHOW_JSON
		  : a->field && !strcmp(a->field, "metrics") ? SHOW_METRICS
		  : a->field				     ? SHOW_FIELD
							     : SHOW_PRETTY;
	return -1;
usage:
	fputs(SHOW_USAGE, stderr);
	return 2;
}

static int list_interfaces(void)
{
	char **names;
	size_t n;
	int r = tapir_uapi_list(&names, &n);

	if (r) {
		fprintf(stderr, "Unable to list interfaces: %s\n", strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		printf("%s%c", names[i], i + 1 < n ? ' ' : '\n');
		free(names[i]);
	}
	free(names);
	return 0;
}

/* Shows one interface; *has_printed places the separators between several. */
static int show_one(const struct show_args *a, const char *name, bool *has_printed)
{
	/* the readable form also shows what tapird adds (mode, learned MACs); stock daemons get
	 * get=1 */
	bool has_ext = a->mode != SHOW_FIELD || !strcmp(a->field, "drops") ||
		       !strcmp(a->field, "tcp") || !strcmp(a->field, "endpoints") ||
		       !strcmp(a->field, "compression") || !strcmp(a->field, "icmp");
	char prefix[IF_NAMESIZE + 2] = "";
	struct device_info dev;
	int r = tapir_show_fetch(&dev, name, has_ext);

	if (!r && a->mode == SHOW_JSON) {
		tapir_show_json_device(&dev, !*has_printed);
	} else if (!r && a->mode == SHOW_FIELD) {
		if (!a->target)
			snprintf(prefix, sizeof(prefix), "%s\t", name);
		tapir_show_field_print(&dev, a->field, prefix);
	} else if (!r) {
		if (*has_printed)
			printf("\n");
		r = tapir_show_pretty_print(&dev);
	}
	*has_printed |= !r;
	tapir_show_device_free(&dev);
	return r ? 1 : 0;
}

/* show ... metrics: every interface fetched first, since each metric family lists its samples
 * for all of them together. */
static int show_metrics(const struct show_args *a, char **names, size_t n)
{
	struct device_info *devs = calloc(n, sizeof(*devs));
	size_t n_ok = 0;
	int ret = 0;

	if (!devs) {
		perror("tapir show");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (tapir_show_fetch(&devs[n_ok], a->target ? a->target : names[i], true)) {
			tapir_show_device_free(&devs[n_ok]);
			ret = 1;
		} else {
			n_ok++;
		}
	}
	if (n_ok)
		tapir_metrics_print(devs, n_ok, (uint64_t)time(NULL));
	for (size_t i = 0; i < n_ok; i++)
		tapir_show_device_free(&devs[i]);
	free(devs);
	return ret;
}

int tapir_cmd_show(int argc, char **argv)
{
	bool is_list, has_printed = false;
	struct show_args a;
	char **names = NULL;
	size_t n = 1;
	int r = parse_show_args(argc, argv, &a, &is_list), ret = 0;

	if (r >= 0)
		return r;
	if (is_list)
		return list_interfaces();
	if (!a.target && (r = tapir_uapi_list(&names, &n))) {
		fprintf(stderr, "Unable to list interfaces: %s\n", strerror(-r));
		return 1;
	}
	if (a.mode == SHOW_METRICS)
		ret = show_metrics(&a, names, n);
	else if (a.mode == SHOW_JSON)
		printf("{\n  \"schema_version\": %d,\n  \"interfaces\": [", JSON_SCHEMA_VERSION);
	for (size_t i = 0; a.mode != SHOW_METRICS && i < n; i++)
		ret |= show_one(&a, a.target ? a.target : names[i], &has_printed);
	if (a.mode == SHOW_JSON)
		printf("%s]\n}\n", has_printed ? "\n  " : "");
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	if (fflush(stdout)) {
		perror("tapir show");
		return 1;
	}
	return ret;
}
