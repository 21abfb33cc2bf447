// SPDX-License-Identifier: MIT
/*
 * The HTTP metrics endpoint (metrics_http.h): a minimal HTTP/1.x server for one request per
 * connection, GET /metrics only (any query string ignored), answered with the text of
 * tapir_metrics_write() (metrics.c, shared with `tapir show IF metrics`) and then closed.
 * Anything else gets 404 (another path), 405 (another method), 400 (no request line) or 431
 * (a request head over METRICS_MAX_REQUEST_BYTES), and the connection is closed.
 *
 * Why a thread of its own rather than the control loop's epoll: the control loop serves the
 * UAPI and the timers and already waits on UAPI replies; a scrape walks every peer and
 * formats a reply of ~1 KiB per peer, and a slow or hostile client must not delay a rekey
 * timer or a wg(8) call by even that much. The thread reads the device the way a worker does:
 * under the device lock as a reader, only long enough to copy the counters (no I/O, no
 * formatting under it), so it never blocks the data plane either; all its sockets are
 * non-blocking and it waits only in poll(2).
 *
 * Limits against bad clients: at most METRICS_MAX_CONNS connections at once (further ones
 * wait in the listen backlog, which the kernel bounds), METRICS_MAX_REQUEST_BYTES of request
 * head, and METRICS_TIMEOUT_MS from accept to the last byte of the answer, after which the
 * connection is closed whatever its state. It must not: log per request (a scraper is not an
 * event), take a lock of the device as a writer, or call anything that blocks.
 */
#include "metrics_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "icmp.h"
#include "log.h"
#include "transport.h"
#include "util.h"

enum {
	METRICS_MAX_CONNS = 8,
	METRICS_MAX_REQUEST_BYTES = 2048,
	METRICS_TIMEOUT_MS = 3000,
};

struct conn {
	int fd; /* -1: free slot */
	int64_t deadline_ms;
	size_t req_len;
	char req[METRICS_MAX_REQUEST_BYTES];
	char *resp; /* owned; NULL while the request is still being read */
	size_t resp_len, resp_sent;
};

/* Owned by the control thread (dev->metrics_http); the fields below the thread's own. */
struct tapir_metrics_http {
	struct tapir_device *dev; /* borrowed; outlives the thread (stopped first) */
	union tapir_sockaddr addr;
	int listen_fd;
	int wake_fd; /* eventfd: written by the control thread to stop the thread */
	pthread_t thread;
	struct conn conns[METRICS_MAX_CONNS]; /* the thread's */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- the snapshot */

void tapir_metrics_offloads(const struct tapir_device *dev,
			    struct drop_count out[TAPIR_METRICS_OFFLOADS])
{
	unsigned int bits = atomic_load_explicit(&dev->offloads, memory_order_relaxed);
	const struct {
		const char *name;
		bool is_on;
	} rows[TAPIR_METRICS_OFFLOADS] = {
	    {"tun", bits & TAPIR_OFFLOAD_TUN},
	    {"tun_uso", (bits & TAPIR_OFFLOAD_TUN) && dev->has_tun_uso},
	    {"gso", bits & TAPIR_OFFLOAD_GSO},
	    {"gro", bits & TAPIR_OFFLOAD_GRO},
	};

	for (size_t i = 0; i < TAPIR_METRICS_OFFLOADS; i++) {
		snprintf(out[i].reason, sizeof(out[i].reason), "%s", rows[i].name);
		out[i].count = rows[i].is_on;
	}
}

static void snapshot_free(struct device_info *d)
{
	free(d->drops);
	free(d->tcp);
	free(d->lz4);
	free(d->icmp);
	free(d->offload);
	free(d->peers);
	memset(d, 0, sizeof(*d));
}

/* The device counters, named as the UAPI get names them (uapi.c). Any thread. */
static void snapshot_counters(const struct tapir_device *dev, struct device_info *d)
{
	for (int r = 0; r < TAPIR_DROP_MAX; r++) {
		snprintf(d->drops[r].reason, DROP_NAME_MAX_BYTES, "%s",
			 tapir_drop_reason_name((enum tapir_drop_reason)r));
		d->drops[r].count = atomic_load_explicit(&dev->drops[r], memory_order_relaxed);
	}
	for (int s = 0; s < TAPIR_TCP_STAT_MAX; s++) {
		snprintf(d->tcp[s].reason, DROP_NAME_MAX_BYTES, "%s",
			 tapir_tcp_stat_name((enum tapir_tcp_stat)s));
		d->tcp[s].count = tapir_tcp_stat_get(dev, (enum tapir_tcp_stat)s);
	}
	for (int s = 0; s < TAPIR_LZ4_STAT_MAX; s++) {
		snprintf(d->lz4[s].reason, DROP_NAME_MAX_BYTES, "%s",
			 tapir_lz4_stat_name((enum tapir_lz4_stat)s));
		d->lz4[s].count = atomic_load_explicit(&dev->lz4_stats[s], memory_order_relaxed);
	}
	for (int s = 0; s < TAPIR_ICMP_STAT_MAX; s++) {
		snprintf(d->icmp[s].reason, DROP_NAME_MAX_BYTES, "%s",
			 tapir_icmp_stat_name((enum tapir_icmp_stat)s));
		d->icmp[s].count = atomic_load_explicit(&dev->icmp_stats[s], memory_order_relaxed);
	}
	tapir_metrics_offloads(dev, d->offload);
	d->is_tcp_listen = tapir_tcp_is_listen_on(dev);
	d->tcp_port = tapir_tcp_listen_port(dev);
}

/* The peers, under the device lock as a reader: the control thread links and unlinks them
 * only as a writer (peer.h). */
static int snapshot_peers(struct tapir_device *dev, struct device_info *d)
{
	size_t n = 0;
	int ret = 0;

	pthread_rwlock_rdlock(&dev->lock);
	for (const struct tapir_peer *p = dev->peers.first; p; p = p->list_next)
		n++;
	d->peers = calloc(n ? n : 1, sizeof(*d->peers));
	if (!d->peers) {
		ret = -ENOMEM;
		goto out;
	}
	for (struct tapir_peer *p = dev->peers.first; p; p = p->list_next) {
		struct peer_info *pi = &d->peers[d->n_peers++];

		memcpy(pi->public_key, p->public_key, sizeof(pi->public_key));
		pi->handshake_sec = (uint64_t)atomic_load(&p->last_handshake_sec);
		pi->rx_bytes = atomic_load(&p->rx_bytes);
		pi->tx_bytes = atomic_load(&p->tx_bytes);
		pi->is_tcp = tapir_tcp_is_peer_tcp(p);
		pi->is_lz4 = atomic_load(&p->wants_lz4);
		pi->remote_caps = atomic_load(&p->remote_caps);
	}
	d->cap_peers = n;
out:
	pthread_rwlock_unlock(&dev->lock);
	return ret;
}

static int snapshot(struct tapir_device *dev, struct device_info *d)
{
	memset(d, 0, sizeof(*d));
	d->name = dev->ifname;
	d->is_tapird = true;
	d->is_tap = dev->is_tap;
	d->n_drops = TAPIR_DROP_MAX;
	d->n_tcp = TAPIR_TCP_STAT_MAX;
	d->n_lz4 = TAPIR_LZ4_STAT_MAX;
	d->n_icmp = TAPIR_ICMP_STAT_MAX;
	d->n_offload = TAPIR_METRICS_OFFLOADS;
	d->drops = calloc(d->n_drops, sizeof(*d->drops));
	d->tcp = calloc(d->n_tcp, sizeof(*d->tcp));
	d->lz4 = calloc(d->n_lz4, sizeof(*d->lz4));
	d->icmp = calloc(d->n_icmp, sizeof(*d->icmp));
	d->offload = calloc(d->n_offload, sizeof(*d->offload));
	if (!d->drops || !d->tcp || !d->lz4 || !d->icmp || !d->offload) {
		snapshot_free(d);
		return -ENOMEM;
	}
	snapshot_counters(dev, d);
	return snapshot_peers(dev, d);
}

/* ---------------------------------------------------------------- HTTP */

/* A whole answer with a text body into a new string; NULL on ENOMEM. */
static char *http_answer(const char *status, const char *type, const char *body, size_t body_len,
			 size_t *len)
{
	char *out = NULL;
	FILE *f = open_memstream(&out, len);

	if (!f)
		return NULL;
	fprintf(f,
		"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		"Connection: close\r\n\r\n",
		status, type, body_len);
	fwrite(body, 1, body_len, f);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static char *metrics_answer(struct tapir_device *dev, size_t *len)
{
	struct device_info d;
	char *body = NULL, *out;
	size_t body_len = 0;
	FILE *f;

	if (snapshot(dev, &d) < 0) {
		snapshot_free(&d);
		return NULL;
	}
	f = open_memstream(&body, &body_len);
	if (f) {
		tapir_metrics_write(f, &d, 1, (uint64_t)time(NULL));
		if (fclose(f) != 0) {
			free(body);
			body = NULL;
		}
	}
	snapshot_free(&d);
	if (!body)
		return NULL;
	out =
	    http_answer("200 OK", "text/plain; version=0.0.4; charset=utf-8", body, body_len, len);
	free(body);
	return out;
}

static char *error_answer(const char *status, size_t *len)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	return http_answer(status, "text/plain; charset=utf-8", body, (size_t)n, len);
}

/* The request head @req (complete: it holds its blank line) decides the answer. */
static char *answer(struct tapir_device *dev, const char *req, size_t len, size_t *out_len)
{
	static const char get[] = "GET ", path[] = "/metrics";
	const char *sp = memchr(req, ' ', len), *target, *end;

	if (!sp || sp == req)
		return error_answer("400 Bad Request", out_len);
	if ((size_t)(sp - req) + 1 != sizeof(get) - 1 || memcmp(req, get, sizeof(get) - 1))
		return error_answer("405 Method Not Allowed", out_len);
	target = sp + 1;
	end = target;
	while (end < req + len && *end != ' ' && *end != '?' && *end != '\r' && *end != '\n')
		end++;
	if ((size_t)(end - target) != sizeof(path) - 1 || memcmp(target, path, sizeof(path) - 1))
		return error_answer("404 Not Found", out_len);
	return metrics_answer(dev, out_len);
}

/* ---------------------------------------------------------------- connections */

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->resp);
	c->fd = -1;
	c->resp = NULL;
	c->req_len = c->resp_len = c->resp_sent = 0;
}

static bool has_head_end(const struct conn *c)
{
	return memmem(c->req, c->req_len, "\r\n\r\n", 4) || memmem(c->req, c->req_len, "\n\n", 2);
}

/* Reads what the client sent; once the head is whole (or too long), prepares the answer.
 * Returns false when the connection is done with. */
static bool conn_read(struct tapir_metrics_http *m, struct conn *c)
{
	ssize_t n = recv(c->fd, c->req + c->req_len, sizeof(c->req) - c->req_len, 0);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false; /* closed before a whole request */
	c->req_len += (size_t)n;
	if (has_head_end(c))
		c->resp = answer(m->dev, c->req, c->req_len, &c->resp_len);
	else if (c->req_len == sizeof(c->req))
		c->resp = error_answer("431 Request Header Fields Too Large", &c->resp_len);
	else
		return true;
	return c->resp != NULL; /* out of memory: close */
}

/* Sends more of the answer. Returns false once it is all sent or the client is gone. */
static bool conn_write(struct conn *c)
{
	ssize_t n = send(c->fd, c->resp + c->resp_sent, c->resp_len - c->resp_sent,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	c->resp_sent += (size_t)n;
	if (c->resp_sent < c->resp_len)
		return true;
	shutdown(c->fd, SHUT_WR);
	return false;
}

static void accept_conns(struct tapir_metrics_http *m, int64_t now)
{
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
		struct conn *c = &m->conns[i];

		if (c->fd >= 0)
			continue;
		c->fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c->fd < 0)
			return; /* EAGAIN, or a client that gave up: nothing to do */
		c->deadline_ms = now + METRICS_TIMEOUT_MS;
	}
}

/* Fills @pfd (the wake fd, the listener while a slot is free, the connections); returns the
 * count and the poll timeout in *@timeout_ms. */
static nfds_t poll_set(struct tapir_metrics_http *m, struct pollfd *pfd, int64_t now,
		       int *timeout_ms)
{
	bool has_free = false;
	nfds_t n = 0;

	*timeout_ms = -1;
	pfd[n++] = (struct pollfd){.fd = m->wake_fd, .events = POLLIN};
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
		const struct conn *c = &m->conns[i];
		int64_t left = c->deadline_ms - now;

		if (c->fd < 0) {
			has_free = true;
			continue;
		}
		pfd[n++] = (struct pollfd){.fd = c->fd, .events = c->resp ? POLLOUT : POLLIN};
		if (left < 0)
			left = 0;
		if (*timeout_ms < 0 || left < *timeout_ms)
			*timeout_ms = (int)left;
	}
	/* a full house leaves new clients in the backlog until a slot frees */
	pfd[n++] = (struct pollfd){.fd = has_free ? m->listen_fd : -1, .events = POLLIN};
	return n;
}

static void serve_conns(struct tapir_metrics_http *m, const struct pollfd *pfd, nfds_t n,
			int64_t now)
{
	nfds_t k = 1;

	for (size_t i = 0; i < METRICS_MAX_CONNS; i++) {
		struct conn *c = &m->conns[i];
		bool keep = true;

		if (c->fd < 0)
			continue;
		if (k < n - 1 && pfd[k].fd == c->fd && pfd[k].revents) {
			if (pfd[k].revents & (POLLERR | POLLNVAL))
				keep = false;
			else
				keep = c->resp ? conn_write(c) : conn_read(m, c);
		}
		k++;
		if (!keep || now >= c->deadline_ms)
			conn_close(c);
	}
}

static void *serve(void *arg)
{
	struct tapir_metrics_http *m = arg;
	struct pollfd pfd[METRICS_MAX_CONNS + 2];

	for (;;) {
		int timeout_ms;
		nfds_t n = poll_set(m, pfd, now_ms(), &timeout_ms);

		if (poll(pfd, n, timeout_ms) < 0 && errno != EINTR) {
			log_err_errno("%s: metrics: poll failed, endpoint stopped", m->dev->ifname);
			break;
		}
		if (pfd[0].revents)
			break; /* tapir_metrics_http_stop */
		serve_conns(m, pfd, n, now_ms());
		if (pfd[n - 1].revents & POLLIN)
			accept_conns(m, now_ms());
	}
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		conn_close(&m->conns[i]);
	return NULL;
}

/* ---------------------------------------------------------------- control thread */

static void server_free(struct tapir_metrics_http *m)
{
	uint64_t one = 1;

	if (!m)
		return;
	if (write(m->wake_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("%s: metrics: cannot wake the server thread", m->dev->ifname);
	pthread_join(m->thread, NULL);
	close(m->wake_fd);
	close(m->listen_fd);
	free(m);
}

/* A new server on @addr with its thread running. Consumes nothing; 0 or -errno. */
static int server_start(struct tapir_device *dev, const union tapir_sockaddr *addr,
			struct tapir_metrics_http **out)
{
	struct tapir_metrics_http *m = calloc(1, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	m->dev = dev;
	m->addr = *addr;
	for (size_t i = 0; i < METRICS_MAX_CONNS; i++)
		m->conns[i].fd = -1;
	m->listen_fd = dev->sock_ops->listen_at(dev->sock_ops->ctx, addr);
	if (m->listen_fd < 0) {
		ret = m->listen_fd;
		goto err_listen;
	}
	m->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (m->wake_fd < 0) {
		ret = -errno;
		goto err_wake;
	}
	ret = -pthread_create(&m->thread, NULL, serve, m);
	if (ret < 0)
		goto err_thread;
	*out = m;
	return 0;
err_thread:
	close(m->wake_fd);
err_wake:
	close(m->listen_fd);
err_listen:
	free(m);
	return ret;
}

static bool is_same_address(const union tapir_sockaddr *a, const union tapir_sockaddr *b)
{
	size_t len = a->sa.sa_family == AF_INET ? sizeof(a->in) : sizeof(a->in6);

	return a->sa.sa_family == b->sa.sa_family && !memcmp(a, b, len);
}

int tapir_metrics_http_set(struct tapir_device *dev, const union tapir_sockaddr *addr)
{
	struct tapir_metrics_http *m = NULL;
	char text[INET6_ADDRSTRLEN + 16];
	int ret;

	if (!addr->sa.sa_family) {
		if (dev->metrics_http)
			log_info("%s: metrics: endpoint off", dev->ifname);
		tapir_metrics_http_stop(dev);
		return 0;
	}
	if (dev->metrics_http && is_same_address(&dev->metrics_http->addr, addr))
		return 0;
	ret = server_start(dev, addr, &m);
	if (ret < 0)
		return ret;
	tapir_metrics_http_stop(dev);
	dev->metrics_http = m;
	if (tapir_sockaddr_format(text, sizeof(text), addr) > 0)
		log_info("%s: metrics: serving http://%s/metrics", dev->ifname, text);
	return 0;
}

bool tapir_metrics_http_address(const struct tapir_device *dev, union tapir_sockaddr *out)
{
	if (!dev->metrics_http)
		return false;
	*out = dev->metrics_http->addr;
	return true;
}

void tapir_metrics_http_stop(struct tapir_device *dev)
{
	server_free(dev->metrics_http);
	dev->metrics_http = NULL;
}
