// SPDX-License-Identifier: MIT
/*
 * Unit tests for src/net/tcpnet.c, the TCP transport without peers or a device: a recording
 * struct tapir_tcpnet_ops stands where the data plane's binding would be, and real sockets on
 * 127.0.0.1 stand for the remote side. Covered: messages of one read handed up in order with
 * their connection and source; garbage closing only its connection; the per-source pending
 * cap; a connection the upper layer no longer wants closed as replaced on a tick; the send
 * queue's reserve (data dropped and counted, control still queued). Every wait is bounded.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "sockops.h"
#include "tcpnet.h"

enum {
	WAIT_MS = 5000,
	MSG_INITIATION_BYTES = 148,
	MSG_DATA_BYTES = 1000,
	PORT_TRIES = 20,
};

struct rec {
	pthread_mutex_t lock;
	unsigned int nframes, ncalls;
	uint8_t types[16];
	size_t lens[16];
	uint64_t conn_id;
	union tapir_sockaddr from;
	_Atomic bool is_wanted;
	_Atomic unsigned int nticks;
};

struct fixture {
	struct rec rec;
	struct tapir_tcpnet *net;
	int stop_fd;
	uint16_t port;
};

static void on_frames(void *ctx, uint64_t conn_id, const union tapir_sockaddr *from,
		      const uint8_t *const *msgs, const size_t *lens, unsigned int n)
{
	struct rec *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->ncalls++;
	r->conn_id = conn_id;
	r->from = *from;
	for (unsigned int i = 0; i < n && r->nframes < 16; i++) {
		r->types[r->nframes] = msgs[i][0];
		r->lens[r->nframes++] = lens[i];
	}
	pthread_mutex_unlock(&r->lock);
}

static bool is_wanted(void *ctx, uint64_t conn_id, uint64_t cookie, bool is_outgoing)
{
	struct rec *r = ctx;

	return atomic_load(&r->is_wanted);
}

static void on_tick(void *ctx, uint64_t now)
{
	struct rec *r = ctx;
	struct fixture *f = (struct fixture *)((char *)r - offsetof(struct fixture, rec));

	tapir_tcpnet_lock(f->net);
	tapir_tcpnet_expire_locked(f->net, now);
	tapir_tcpnet_unlock(f->net);
	atomic_fetch_add(&r->nticks, 1);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* Polls @stat until it reaches @want, for at most WAIT_MS. */
static bool wait_stat(struct fixture *f, enum tapir_tcp_stat stat, uint64_t want)
{
	for (unsigned int i = 0; i < WAIT_MS / 10; i++) {
		if (tapir_tcpnet_stat(f->net, stat) >= want)
			return true;
		sleep_ms(10);
	}
	return false;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct tapir_tcpnet_ops ops = {
	    .ctx = &f->rec,
	    .on_frames = on_frames,
	    .is_wanted = is_wanted,
	    .on_tick = on_tick,
	};
	int ret = -1;

	assert_non_null(f);
	pthread_mutex_init(&f->rec.lock, NULL);
	atomic_store(&f->rec.is_wanted, true);
	f->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(f->stop_fd >= 0);
	assert_int_equal(tapir_tcpnet_create(&f->net, "test", &ops, f->stop_fd), 0);
	assert_true(tapir_tcpnet_switch_listen(f->net, true));
	/* a port from the pid, the next ones if taken */
	for (unsigned int i = 0; i < PORT_TRIES && ret < 0; i++) {
		f->port = (uint16_t)(20000 + (getpid() * 7 + i * 131) % 40000);
		ret = tapir_tcpnet_listen(f->net, f->port, &tapir_sock_ops_direct);
	}
	assert_int_equal(ret, 0);
	assert_int_equal(tapir_tcpnet_listen_port(f->net), f->port);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	uint64_t one = 1;

	assert_int_equal(write(f->stop_fd, &one, sizeof(one)), (ssize_t)sizeof(one));
	tapir_tcpnet_destroy(f->net);
	close(f->stop_fd);
	pthread_mutex_destroy(&f->rec.lock);
	free(f);
	return 0;
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

/* A framed WireGuard-shaped message: type, three zero bytes, filler. */
static size_t put_frame(uint8_t *out, uint8_t type, size_t len)
{
	memset(out, 0, 2 + len);
	tapir_tcpframe_put_len(out, len);
	out[2] = type;
	for (size_t i = 4; i < len; i++)
		out[2 + i] = (uint8_t)i;
	return 2 + len;
}

/* 1. Two frames in one write reach on_frames in order, with their connection and source. */
static void test_frames_handed_up(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2 * (2 + MSG_INITIATION_BYTES)];
	size_t n = put_frame(buf, 1, MSG_INITIATION_BYTES);
	bool is_done = false;
	int fd;

	n += put_frame(buf + n, 4, 32);
	assert_int_equal(tapir_tcpnet_start(f->net), 0);
	fd = connect_to(f->port);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	for (unsigned int i = 0; i < WAIT_MS / 10 && !is_done; i++) {
		pthread_mutex_lock(&f->rec.lock);
		is_done = f->rec.nframes >= 2;
		pthread_mutex_unlock(&f->rec.lock);
		if (!is_done)
			sleep_ms(10);
	}
	assert_true(is_done);
	assert_int_equal(f->rec.nframes, 2);
	assert_int_equal(f->rec.types[0], 1);
	assert_int_equal(f->rec.lens[0], MSG_INITIATION_BYTES);
	assert_int_equal(f->rec.types[1], 4);
	assert_int_equal(f->rec.lens[1], 32);
	assert_true(f->rec.conn_id != 0);
	assert_int_equal(f->rec.from.sa.sa_family, AF_INET);
	assert_int_equal(f->rec.from.in.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(tapir_tcpnet_stat(f->net, TAPIR_TCP_STAT_ACCEPTED), 1);
	/* the upper layer answers on the connection it came on */
	assert_int_equal(tapir_tcpnet_send(f->net, f->rec.conn_id, buf + 2, MSG_INITIATION_BYTES,
					   TAPIR_TCPNET_CONTROL),
			 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 2 + MSG_INITIATION_BYTES);
	close(fd);
	assert_true(wait_stat(f, TAPIR_TCP_STAT_CLOSED_ERROR, 1)); /* EOF */
}

/* 2. A frame of an unknown type closes that connection, counted, and hands nothing up. */
static void test_garbage_closes(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2 + 64];
	size_t n = put_frame(buf, 9, 64);
	int fd;

	assert_int_equal(tapir_tcpnet_start(f->net), 0);
	fd = connect_to(f->port);
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
	assert_true(wait_stat(f, TAPIR_TCP_STAT_CLOSED_GARBAGE, 1));
	assert_int_equal(read(fd, buf, sizeof(buf)), 0); /* closed by tapir */
	assert_int_equal(f->rec.ncalls, 0);
	close(fd);
}

/* 3. One source holds at most TAPIR_TCP_MAX_PENDING_PER_SOURCE pending connections. */
static void test_pending_per_source(void **state)
{
	struct fixture *f = *state;
	int fds[TAPIR_TCP_MAX_PENDING_PER_SOURCE + 1];

	assert_int_equal(tapir_tcpnet_start(f->net), 0);
	for (unsigned int i = 0; i < TAPIR_TCP_MAX_PENDING_PER_SOURCE; i++) {
		fds[i] = connect_to(f->port);
		assert_true(wait_stat(f, TAPIR_TCP_STAT_ACCEPTED, i + 1));
	}
	fds[TAPIR_TCP_MAX_PENDING_PER_SOURCE] = connect_to(f->port);
	assert_true(wait_stat(f, TAPIR_TCP_STAT_REFUSED_SOURCE, 1));
	assert_int_equal(tapir_tcpnet_stat(f->net, TAPIR_TCP_STAT_ACCEPTED),
			 TAPIR_TCP_MAX_PENDING_PER_SOURCE);
	for (unsigned int i = 0; i <= TAPIR_TCP_MAX_PENDING_PER_SOURCE; i++)
		close(fds[i]);
}

/* 4. An outgoing connection the upper layer stops wanting closes as replaced on a woken tick. */
static void test_unwanted_replaced(void **state)
{
	struct fixture *f = *state;
	union tapir_sockaddr to = {.in = {.sin_family = AF_INET, .sin_port = htons(f->port)}};
	uint64_t id = 0;
	int ret;

	to.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(tapir_tcpnet_start(f->net), 0);
	tapir_tcpnet_lock(f->net);
	ret = tapir_tcpnet_connect_locked(f->net, &to, 42, tapir_now_ns(), &tapir_sock_ops_direct,
					  &id);
	tapir_tcpnet_unlock(f->net);
	assert_int_equal(ret, 0);
	assert_true(wait_stat(f, TAPIR_TCP_STAT_CONNECTED, 1));
	assert_int_equal(tapir_tcpnet_stat(f->net, TAPIR_TCP_STAT_CLOSED_REPLACED), 0);
	atomic_store(&f->rec.is_wanted, false);
	assert_int_equal(tapir_tcpnet_stat(f->net, TAPIR_TCP_STAT_WAKEUPS), 0);
	tapir_tcpnet_wake(f->net);
	assert_int_equal(tapir_tcpnet_stat(f->net, TAPIR_TCP_STAT_WAKEUPS), 1);
	assert_true(wait_stat(f, TAPIR_TCP_STAT_CLOSED_REPLACED, 1));
	tapir_tcpnet_lock(f->net);
	assert_false(tapir_tcpnet_is_alive_locked(f->net, id));
	tapir_tcpnet_unlock(f->net);
	assert_int_equal(tapir_tcpnet_send(f->net, id, "x", 1, TAPIR_TCPNET_CONTROL), -ENOENT);
}

/*
 * 5. The send queue's reserve: with the thread not running, a connection still connecting
 * writes nothing, so the queue fills: data stops (counted) before the reserve, control does not.
 */
static void test_queue_reserve(void **state)
{
	struct fixture *f = *state;
	union tapir_sockaddr to = {.in = {.sin_family = AF_INET, .sin_port = htons(f->port)}};
	static uint8_t msg[MSG_DATA_BYTES];
	unsigned int ndata = 0;
	uint64_t id = 0;
	int ret;

	to.in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	msg[0] = 4;
	tapir_tcpnet_lock(f->net);
	assert_int_equal(tapir_tcpnet_connect_locked(f->net, &to, 7, tapir_now_ns(),
						     &tapir_sock_ops_direct, &id),
			 0);
	while ((ret = tapir_tcpnet_queue_locked(f->net, id, msg, sizeof(msg), TAPIR_TCPNET_DATA)) ==
	       0)
		ndata++;
	assert_int_equal(ret, -ENOBUFS);
	assert_int_equal(ndata,
			 (TAPIR_TCP_SENDQ_BYTES - TAPIR_TCP_SENDQ_RESERVE) / (2 + sizeof(msg)));
	assert_int_equal(tapir_tcpnet_stat(f->net, TAPIR_TCP_STAT_QUEUE_FULL), 1);
	assert_int_equal(tapir_tcpnet_queue_locked(f->net, id, msg, 148, TAPIR_TCPNET_CONTROL), 0);
	assert_int_equal(tapir_tcpnet_queue_locked(f->net, id, msg, 0, TAPIR_TCPNET_CONTROL),
			 -EMSGSIZE);
	assert_int_equal(tapir_tcpnet_queue_locked(f->net, id + 1, msg, 1, TAPIR_TCPNET_CONTROL),
			 -ENOENT);
	tapir_tcpnet_unlock(f->net);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_frames_handed_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_garbage_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pending_per_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unwanted_replaced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_reserve, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
