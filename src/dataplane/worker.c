// SPDX-License-Identifier: MIT
/*
 * A data-plane worker: owns one TUN queue and one UDP socket and moves packets in batches.
 * It holds the device lock as a reader for exactly one batch, which is what lets the control
 * thread free peers and keypairs safely once it holds the lock as a writer. Several workers
 * run the same loop on their own queue and socket; nothing here is shared but the tables.
 */
#include "device.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "udp.h"

enum worker_event {
	EVENT_TUN = 0,
	EVENT_UDP = 1,
	EVENT_STOP = 2,
};

static bool is_fatal_tun_error(int err)
{
	return err == EBADFD || err == EIO || err == ENXIO || err == ENODEV;
}

/* Reads up to a batch from the TUN queue; returns the count, or -errno on a fatal error. */
static int read_tun(struct tapir_worker *w)
{
	int n = 0;

	while (n < TAPIR_BATCH) {
		struct tapir_pkt *pkt = w->pkts[n];
		ssize_t len;

		pkt->off = TAPIR_PKT_HEADROOM;
		len = read(w->tun_fd, tapir_pkt_data(pkt), TAPIR_PKT_DATA_MAX);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (is_fatal_tun_error(errno))
				return -errno;
			break;
		}
		if (len == 0)
			continue;
		pkt->len = (uint32_t)len;
		n++;
	}
	return n;
}

static void handle_tun(struct tapir_worker *w)
{
	struct tapir_device *dev = w->dev;
	int n;

	pthread_rwlock_rdlock(&dev->lock);
	n = read_tun(w);
	if (n > 0 && dev->is_up && dev->is_tap)
		tapir_l2_send_batch(dev, w, w->pkts, (unsigned int)n);
	else if (n > 0 && dev->is_up)
		tapir_send_batch(dev, w, w->pkts, (unsigned int)n);
	pthread_rwlock_unlock(&dev->lock);
	/* every worker sees it; the first one says so */
	if (n < 0 && !atomic_exchange(&dev->is_stopping, true)) {
		log_info("%s: tun device is gone, stopping", dev->ifname);
		tapir_device_request_stop(dev, n);
	} else if (n < 0) {
		tapir_device_request_stop(dev, n);
	}
}

static void handle_udp(struct tapir_worker *w)
{
	struct tapir_device *dev = w->dev;
	struct mmsghdr *msgs = w->msgs;
	struct iovec *iovs = w->iovs;
	union tapir_sockaddr *srcs = w->addrs;
	int n;

	pthread_rwlock_rdlock(&dev->lock);
	if (w->udp_fd < 0) {
		pthread_rwlock_unlock(&dev->lock);
		return;
	}
	memset(msgs, 0, sizeof(w->msgs));
	for (unsigned int i = 0; i < TAPIR_BATCH; i++) {
		w->pkts[i]->off = TAPIR_PKT_HEADROOM;
		iovs[i].iov_base = tapir_pkt_data(w->pkts[i]);
		iovs[i].iov_len = TAPIR_PKT_DATA_MAX;
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &srcs[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(w->addrs[i]);
	}
	n = recvmmsg(w->udp_fd, msgs, TAPIR_BATCH, MSG_DONTWAIT, NULL);
	if (n > 0) {
		for (int i = 0; i < n; i++) {
			w->pkts[i]->len = msgs[i].msg_len;
			tapir_udp_sockaddr_normalise(&srcs[i]);
		}
		tapir_receive_batch(dev, w, w->pkts, srcs, (unsigned int)n);
	}
	pthread_rwlock_unlock(&dev->lock);
}

void *tapir_worker_main(void *arg)
{
	struct tapir_worker *w = arg;
	struct tapir_device *dev = w->dev;

	while (!atomic_load_explicit(&dev->is_stopping, memory_order_acquire)) {
		struct epoll_event evs[4];
		int n = epoll_wait(w->epoll_fd, evs, 4, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err_errno("%s: worker %u: epoll_wait", dev->ifname, w->slot);
			tapir_device_request_stop(dev, -EIO);
			break;
		}
		for (int i = 0; i < n; i++) {
			switch ((enum worker_event)evs[i].data.u32) {
			case EVENT_TUN:
				handle_tun(w);
				break;
			case EVENT_UDP:
				handle_udp(w);
				break;
			case EVENT_STOP:
				break;
			}
		}
	}
	return NULL;
}
