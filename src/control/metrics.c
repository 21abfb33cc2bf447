// SPDX-License-Identifier: MIT
/*
 * The metrics formatter of `tapir show IF metrics` and of tapird's HTTP endpoint (metrics.h):
 * interfaces as a UAPI get describes them, in the Prometheus text exposition format 0.0.4 (the
 * format node_exporter's textfile collector reads and Prometheus scrapes; not OpenMetrics, so
 * no "# EOF"). Every family has # HELP and # TYPE lines and all its samples together, across
 * the interfaces; names start with tapir_, counters end in _total. Labels: interface,
 * public_key (the peer's, base64: public), and one naming the counter. Never a secret key.
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "encoding.h"
#include "extension.h"

/* A label value: backslash, double quote and newline escaped as the format asks. */
static void label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample_start(FILE *out, const char *name, const struct device_info *dev)
{
	fprintf(out, "%s{interface=\"", name);
	label_value(out, dev->name);
	fputc('"', out);
}

static void peer_sample(FILE *out, const char *name, const struct device_info *dev,
			const struct peer_info *peer, uint64_t value)
{
	char b64[TAPIR_KEY_BASE64_LEN + 1];

	tapir_key_to_base64(b64, peer->public_key);
	sample_start(out, name, dev);
	fprintf(out, ",public_key=\"%s\"} %" PRIu64 "\n", b64, value);
}

static void dev_sample(FILE *out, const char *name, const struct device_info *dev, uint64_t value)
{
	sample_start(out, name, dev);
	fprintf(out, "} %" PRIu64 "\n", value);
}

/* One sample per counter of @list, labelled @label; with @only, just that one, unlabelled; with
 * @but, all others. */
static void counter_samples(FILE *out, const char *name, const char *label,
			    const struct device_info *dev, const struct drop_count *list, size_t n,
			    const char *only, const char *but)
{
	for (size_t i = 0; i < n; i++) {
		if ((only && strcmp(list[i].reason, only)) || (but && !strcmp(list[i].reason, but)))
			continue;
		sample_start(out, name, dev);
		if (!only) {
			fprintf(out, ",%s=\"", label);
			label_value(out, list[i].reason);
			fputc('"', out);
		}
		fprintf(out, "} %" PRIu64 "\n", list[i].count);
	}
}

static void peer_families(FILE *out, const struct device_info *devs, size_t n, uint64_t now_s)
{
	family(out, "tapir_peer_receive_bytes_total", "counter",
	       "Bytes received from the peer (wg show transfer).");
	for (size_t d = 0; d < n; d++)
		for (size_t i = 0; i < devs[d].n_peers; i++)
			peer_sample(out, "tapir_peer_receive_bytes_total", &devs[d],
				    &devs[d].peers[i], devs[d].peers[i].rx_bytes);
	family(out, "tapir_peer_transmit_bytes_total", "counter", "Bytes sent to the peer.");
	for (size_t d = 0; d < n; d++)
		for (size_t i = 0; i < devs[d].n_peers; i++)
			peer_sample(out, "tapir_peer_transmit_bytes_total", &devs[d],
				    &devs[d].peers[i], devs[d].peers[i].tx_bytes);
	family(out, "tapir_peer_latest_handshake_seconds", "gauge",
	       "Unix time of the latest handshake with the peer, 0 = never.");
	for (size_t d = 0; d < n; d++)
		for (size_t i = 0; i < devs[d].n_peers; i++)
			peer_sample(out, "tapir_peer_latest_handshake_seconds", &devs[d],
				    &devs[d].peers[i], devs[d].peers[i].handshake_sec);
	family(out, "tapir_peer_handshake_age_seconds", "gauge",
	       "Seconds since the latest handshake; no sample for a peer never met.");
	for (size_t d = 0; d < n; d++) {
		for (size_t i = 0; i < devs[d].n_peers; i++) {
			uint64_t t = devs[d].peers[i].handshake_sec;

			if (t)
				peer_sample(out, "tapir_peer_handshake_age_seconds", &devs[d],
					    &devs[d].peers[i], now_s > t ? now_s - t : 0);
		}
	}
}

static void tapird_peer_families(FILE *out, const struct device_info *devs, size_t n)
{
	family(out, "tapir_peer_transport_tcp", "gauge",
	       "1 when the peer's messages go over the TCP transport, 0 for UDP.");
	for (size_t d = 0; d < n; d++)
		for (size_t i = 0; devs[d].is_tapird && i < devs[d].n_peers; i++)
			peer_sample(out, "tapir_peer_transport_tcp", &devs[d], &devs[d].peers[i],
				    devs[d].peers[i].is_tcp);
	family(out, "tapir_peer_compression_active", "gauge",
	       "1 when LZ4 is on for the peer and the peer announced it.");
	for (size_t d = 0; d < n; d++) {
		for (size_t i = 0; devs[d].is_tapird && i < devs[d].n_peers; i++) {
			const struct peer_info *p = &devs[d].peers[i];

			peer_sample(out, "tapir_peer_compression_active", &devs[d], p,
				    p->is_lz4 && (p->remote_caps & TAPIR_EXT_CAP_LZ4));
		}
	}
}

static void device_families(FILE *out, const struct device_info *devs, size_t n)
{
	family(out, "tapir_peers", "gauge", "Peers configured on the interface.");
	for (size_t d = 0; d < n; d++)
		dev_sample(out, "tapir_peers", &devs[d], devs[d].n_peers);
	family(out, "tapir_drops_total", "counter", "Packets dropped, by reason (see tapird(8)).");
	for (size_t d = 0; d < n; d++)
		counter_samples(out, "tapir_drops_total", "reason", &devs[d], devs[d].drops,
				devs[d].n_drops, NULL, NULL);
	family(out, "tapir_tcp_listen", "gauge", "1 when the TCP transport listens (TCPListen).");
	for (size_t d = 0; d < n; d++)
		if (devs[d].is_tapird)
			dev_sample(out, "tapir_tcp_listen", &devs[d], devs[d].is_tcp_listen);
	family(out, "tapir_tcp_events_total", "counter",
	       "TCP transport connection events and queue drops, by event.");
	for (size_t d = 0; d < n; d++)
		counter_samples(out, "tapir_tcp_events_total", "event", &devs[d], devs[d].tcp,
				devs[d].n_tcp, NULL, NULL);
	family(out, "tapir_compression_packets_total", "counter",
	       "LZ4 packets by event: compressed, incompressible (sent as they were), "
	       "decompressed.");
	for (size_t d = 0; d < n; d++)
		counter_samples(out, "tapir_compression_packets_total", "event", &devs[d],
				devs[d].lz4, devs[d].n_lz4, NULL, "bytes_saved");
	family(out, "tapir_compression_saved_bytes_total", "counter",
	       "LZ4: payload bytes compression kept off the wire.");
	for (size_t d = 0; d < n; d++)
		counter_samples(out, "tapir_compression_saved_bytes_total", NULL, &devs[d],
				devs[d].lz4, devs[d].n_lz4, "bytes_saved", NULL);
	family(out, "tapir_offload_enabled", "gauge",
	       "1 when the offload is in use: tun (TUN TSO/checksum, virtio-net header), "
	       "tun_uso (TUN UDP segmentation), gso (UDP GSO sends), gro (UDP GRO receives).");
	for (size_t d = 0; d < n; d++)
		counter_samples(out, "tapir_offload_enabled", "offload", &devs[d], devs[d].offload,
				devs[d].n_offload, NULL, NULL);
	family(out, "tapir_icmp_events_total", "counter",
	       "ICMP destination unreachable errors for packets no peer routes: "
	       "unreachable_sent, unreachable_ratelimited.");
	for (size_t d = 0; d < n; d++)
		counter_samples(out, "tapir_icmp_events_total", "event", &devs[d], devs[d].icmp,
				devs[d].n_icmp, NULL, NULL);
}

void tapir_metrics_write(FILE *out, const struct device_info *devs, size_t n, uint64_t now_s)
{
	peer_families(out, devs, n, now_s);
	tapird_peer_families(out, devs, n);
	device_families(out, devs, n);
}

void tapir_metrics_print(const struct device_info *devs, size_t n, uint64_t now_s)
{
	tapir_metrics_write(stdout, devs, n, now_s);
}
