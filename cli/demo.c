// SPDX-License-Identifier: MIT
/*
 * tapir demo: the picture of the seeds on one machine. Two network namespaces joined by a
 * veth pair (the underlay), a tapir tunnel across them brought up with `tapir up` and fresh
 * keys, three pings through it, a 3-second TCP transfer measured with our own sockets, and
 * the same with wireguard-go when it is installed. Then everything is removed, also on
 * Ctrl-C or failure, unless --keep (tapir demo --clean removes a kept demo).
 *
 * This file has the command, its steps and the report; demo.h says which file does what
 * (namespaces and clean-up, daemons, traffic). Traffic stays between the demo's own
 * namespaces. Never runs ip(8).
 */
#include "demo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"

/* ---------------------------------------------------------------- the demo */

static void print_summary(void)
{
	printf("\nWhat this built:\n"
	       "  %s: %s %s/24 (underlay), %s %s/24 (tapir tunnel)\n"
	       "  %s: %s %s/24 (underlay), %s %s/24 (tapir tunnel)\n"
	       "Where to look (tapir demo --keep leaves it running):\n"
	       "  ip netns exec %s tapir show          peers, handshakes, transfer counters\n"
	       "  ip netns exec %s ping %s\n"
	       "  ip -n %s address; ip -n %s route\n",
	       NS_NAME[0], VETH[0], UNDERLAY[0], TAPIR_IF[0], TAPIR_ADDR[0], NS_NAME[1], VETH[1],
	       UNDERLAY[1], TAPIR_IF[1], TAPIR_ADDR[1], NS_NAME[0], NS_NAME[0], TAPIR_ADDR[1],
	       NS_NAME[0], NS_NAME[0]);
}

static int build(struct demo *d)
{
	int r;

	if (mkdir("/var/run/tapir", 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(d->tmpdir, sizeof(d->tmpdir), "/tmp/tapir-demo.XXXXXX");
	if (!mkdtemp(d->tmpdir)) {
		d->tmpdir[0] = '\0';
		return -errno;
	}
	r = tapir_demo_make_netns_dir();
	for (int i = 0; !r && i < 2; i++) {
		r = tapir_demo_netns_add(i);
		if (!r)
			d->nsfd[i] = tapir_demo_netns_open(i);
		if (!r && d->nsfd[i] < 0)
			r = d->nsfd[i];
	}
	if (r || tapir_cli_signal || (r = tapir_demo_setup_underlay(d)))
		return r ? r : -ECANCELED;
	for (int i = 0; i < 2; i++) {
		tapir_x25519_generate(d->priv[i]);
		tapir_x25519_public(d->pub[i], d->priv[i]);
	}
	return tapir_cli_signal ? -ECANCELED : tapir_demo_tapir_up(d);
}

/* The same ping and transfer through wireguard-go, when it is installed. */
static void compare_wggo(struct demo *d, double mbit)
{
	double wg_mbit;
	int r;

	if (!tapir_cli_find_in_path("wireguard-go", NULL, 0)) {
		printf("  (install wireguard-go to compare with it)\n");
		return;
	}
	printf("\nThe same with wireguard-go (%s <-> %s):\n", WG_IF[0], WG_IF[1]);
	r = tapir_demo_wggo_up(d);
	if (r) {
		if (!tapir_cli_signal)
			fprintf(stderr, "tapir demo: wireguard-go skipped: %s\n", strerror(-r));
		return;
	}
	if (tapir_cli_signal || tapir_demo_ping(d->nsfd[0], WG_ADDR[1]) || tapir_cli_signal)
		return;
	wg_mbit = tapir_demo_measure(d->nsfd[0], d->nsfd[1], WG_ADDR[1], "wireguard-go");
	if (wg_mbit <= 0)
		return;
	printf("  wireguard-go: %.1f Mbit/s (TCP, %d s, %s -> %s)\n", wg_mbit, MEASURE_MS / 1000,
	       WG_ADDR[0], WG_ADDR[1]);
	printf("  tapir / wireguard-go: %.2f\n", mbit / wg_mbit);
}

static int run_demo(struct demo *d)
{
	double mbit;
	int r = build(d);

	if (r) {
		if (r != -ECANCELED && !tapir_cli_signal)
			fprintf(stderr, "tapir demo: setup failed: %s\n", strerror(-r));
		return r;
	}
	printf("\n");
	if (tapir_demo_ping(d->nsfd[0], TAPIR_ADDR[1]) || tapir_cli_signal)
		return -EHOSTUNREACH;
	printf("\nTCP transfer through the tapir tunnel, %s -> %s:\n", NS_NAME[0], NS_NAME[1]);
	mbit = tapir_demo_measure(d->nsfd[0], d->nsfd[1], TAPIR_ADDR[1], "tapir");
	if (mbit < 0)
		return -EIO;
	printf("  tapir: %.1f Mbit/s (TCP, %d s, %s -> %s)\n", mbit, MEASURE_MS / 1000,
	       TAPIR_ADDR[0], TAPIR_ADDR[1]);
	compare_wggo(d, mbit);
	if (tapir_cli_signal)
		return -ECANCELED;
	print_summary();
	return 0;
}

static int usage(FILE *f, int code)
{
	fprintf(f,
		"Usage: tapir demo [--keep | --clean]\n\n"
		"  Builds two network namespaces (%s, %s) joined by a veth pair,\n"
		"  brings a tapir tunnel up across them with fresh keys (tapir up), pings\n"
		"  through it, measures a 3 s TCP transfer (and the same with wireguard-go when\n"
		"  installed), then removes everything, also on Ctrl-C or failure.\n\n"
		"  --keep   leave it running to explore; remove it later with --clean\n"
		"  --clean  remove what a kept demo left behind\n",
		NS_NAME[0], NS_NAME[1]);
	return code;
}

int tapir_cmd_demo(int argc, char **argv)
{
	struct demo d = {.nsfd = {-1, -1}};
	bool is_clean = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout, 0);
		if (!strcmp(argv[i], "--keep"))
			d.is_keep = true;
		else if (!strcmp(argv[i], "--clean"))
			is_clean = true;
		else
			return usage(stderr, 2);
	}
	if (d.is_keep && is_clean)
		return usage(stderr, 2);
	if (geteuid()) {
		fprintf(stderr, "tapir demo: needs root (it creates network namespaces)\n");
		return 1;
	}
	tapir_cli_catch_signals();
	if (is_clean)
		return tapir_demo_cleanup(&d) ? 1 : 0;
	if (tapir_demo_netns_exists(0) || tapir_demo_netns_exists(1) ||
	    tapir_demo_sock_exists(TAPIR_IF[0]) || tapir_demo_sock_exists(TAPIR_IF[1])) {
		fprintf(stderr,
			"tapir demo: %s or %s already exists (a demo left with --keep?); "
			"remove it with: tapir demo --clean\n",
			NS_NAME[0], NS_NAME[1]);
		return 1;
	}
	r = run_demo(&d);
	tapir_wipe(d.priv, sizeof(d.priv));
	if (tapir_cli_signal)
		fprintf(stderr, "\ntapir demo: interrupted; cleaning up\n");
	if (!r && d.is_keep) {
		FILE *f = fopen(TMPDIR_RECORD, "we");

		if (f) {
			fprintf(f, "%s\n", d.tmpdir);
			fclose(f);
		}
		printf("\nLeft running (--keep). Remove it with: tapir demo --clean\n");
		for (int i = 0; i < 2; i++)
			close(d.nsfd[i]);
		return 0;
	}
	printf("\nCleaning up:\n");
	if (tapir_demo_cleanup(&d)) {
		fprintf(stderr, "tapir demo: some things could not be removed\n");
		return 1;
	}
	printf("Done: nothing of the demo is left.\n");
	return r ? 1 : 0;
}
