// SPDX-License-Identifier: MIT
/*
 * Device lifetime, sockets, identity and peer management. Everything that changes a table
 * runs on the control thread with the device lock held as a writer, so workers (readers for
 * one batch at a time) never see a half-made change or a freed peer.
 */
#include "device.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "sockops.h"
#include "tun.h"
#include "udp.h"

const char *tapir_drop_reason_name(enum tapir_drop_reason reason)
{
	static const char *const names[TAPIR_DROP_MAX] = {
	    [TAPIR_DROP_MALFORMED] = "malformed",
	    [TAPIR_DROP_UNKNOWN_INDEX] = "unknown_index",
	    [TAPIR_DROP_DECRYPT] = "decrypt_failed",
	    [TAPIR_DROP_REPLAY] = "replay",
	    [TAPIR_DROP_KEY_EXPIRED] = "key_expired",
	    [TAPIR_DROP_INNER_INVALID] = "inner_invalid",
	    [TAPIR_DROP_SOURCE_NOT_ALLOWED] = "source_not_allowed",
	    [TAPIR_DROP_NO_ROUTE] = "no_route",
	    [TAPIR_DROP_NO_ENDPOINT] = "no_endpoint",
	    [TAPIR_DROP_STAGED_FULL] = "staged_full",
	    [TAPIR_DROP_HANDSHAKE_INVALID] = "handshake_invalid",
	    [TAPIR_DROP_HANDSHAKE_QUEUE_FULL] = "handshake_queue_full",
	    [TAPIR_DROP_RATELIMITED] = "ratelimited",
	    [TAPIR_DROP_EXTENSION] = "extension_unhandled",
	    [TAPIR_DROP_SEND_ERROR] = "send_error",
	    [TAPIR_DROP_TOO_BIG] = "too_big",
	    [TAPIR_DROP_L2_MISMATCH] = "l2_mismatch",
	    [TAPIR_DROP_MAC_REJECTED] = "mac_rejected",
	    [TAPIR_DROP_DECOMPRESS] = "decompress_failed",
	    [TAPIR_DROP_NOT_ETHERNET] = "not_ethernet",
	    [TAPIR_DROP_MAC_RESERVED] = "mac_reserved",
	};
	return reason < TAPIR_DROP_MAX ? names[reason] : "unknown";
}

/* Closes what init_workers made (also half of it); the TUN queues only when @is_owned. */
static void free_workers(struct tapir_device *dev, bool is_owned)
{
	for (unsigned int i = 0; dev->workers && i < dev->nworkers; i++) {
		struct tapir_worker *w = &dev->workers[i];

		tapir_worker_free_buffers(w);
		if (w->epoll_fd >= 0)
			close(w->epoll_fd);
		if (is_owned && w->tun_fd >= 0)
			close(w->tun_fd);
		if (dev->udp_fds[i] >= 0)
			close(dev->udp_fds[i]);
	}
	free(dev->workers);
	free(dev->udp_fds);
	dev->workers = NULL;
	dev->udp_fds = NULL;
}

static int init_workers(struct tapir_device *dev, const int *tun_fds)
{
	int ret = -ENOMEM;

	dev->workers = calloc(dev->nworkers, sizeof(*dev->workers));
	dev->udp_fds = calloc(dev->nworkers, sizeof(*dev->udp_fds));
	if (!dev->workers || !dev->udp_fds)
		goto err;
	for (unsigned int i = 0; i < dev->nworkers; i++) {
		dev->udp_fds[i] = -1;
		dev->workers[i].epoll_fd = -1;
	}
	for (unsigned int i = 0; i < dev->nworkers; i++) {
		struct tapir_worker *w = &dev->workers[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAPIR_WORKER_EV_TUN};

		w->dev = dev;
		w->slot = i;
		w->tun_fd = tun_fds[i];
		w->udp_fd = -1;
		w->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epoll_fd < 0 || epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, w->tun_fd, &ev) < 0)
			goto err_errno;
		ev.data.u32 = TAPIR_WORKER_EV_STOP;
		if (epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, dev->stop_event_fd, &ev) < 0)
			goto err_errno;
		if (tapir_worker_init_buffers(w) < 0)
			goto err;
	}
	return 0;

err_errno:
	ret = -errno;
err:
	free_workers(dev, false);
	return ret;
}

/*
 * The TUN side: the interface index and the offloads asked for (TSO, and USO where the kernel
 * has it, on every queue when the queues carry a virtio_net_hdr). Nothing here fails: without
 * TUNSETOFFLOAD the header stays and the kernel sends no super-packets.
 */
static void init_tun(struct tapir_device *dev, const struct tapir_device_opts *opts)
{
	dev->ifindex = opts->is_fake_tun ? 0 : tapir_tun_ifindex(dev->ifname);
	atomic_store(&dev->offloads, opts->offloads);
	dev->has_vnet_hdr = opts->offloads & TAPIR_OFFLOAD_TUN;
	for (unsigned int i = 0; dev->has_vnet_hdr && i < dev->nworkers; i++) {
		int ret = tapir_tun_set_offload(opts->tun_fds[i], &dev->has_tun_uso);

		if (ret < 0) {
			log_info("%s: TUN offload unavailable: %s", dev->ifname, strerror(-ret));
			break;
		}
	}
	/* received UDP datagrams of one flow then go to the TUN as one write per run (USO),
	 * not one each: per-packet TUN writes were half the syscalls of a UDP flood */
	for (unsigned int i = 0; dev->has_tun_uso && i < dev->nworkers; i++)
		dev->workers[i].gro.flags |= TAPIR_GRO_UDP;
}

/*
 * Staged like the kernel driver's wg_newlink: each stage that fails undoes its own half-made
 * state and jumps to the label that undoes the stages before it, in reverse order.
 */
int tapir_device_init(struct tapir_device *dev, const struct tapir_device_opts *opts,
		      const char **step)
{
	int ret;

	memset(dev, 0, sizeof(*dev));
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", opts->ifname);
	dev->nworkers = opts->nworkers;
	dev->mtu = TAPIR_DEFAULT_MTU;
	atomic_store(&dev->mtu_cached, TAPIR_DEFAULT_MTU);
	/* the privileged helper's operations replace these before the workers start */
	dev->sock_ops = &tapir_sock_ops_direct;
	pthread_rwlock_init(&dev->lock, NULL);
	pthread_mutex_init(&dev->hsq_lock, NULL);
	pthread_mutex_init(&dev->req_lock, NULL);
	tapir_graveyard_init(&dev->graveyard);
	*step = "initialise device";

	dev->control_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->control_event_fd < 0)
		return -errno;
	dev->stop_event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dev->stop_event_fd < 0) {
		ret = -errno;
		goto err_control_event;
	}

	ret = -ENOMEM;
	dev->hsq = calloc(TAPIR_HANDSHAKE_QUEUE_LEN, sizeof(*dev->hsq));
	dev->allowedips = tapir_allowedips_new();
	dev->ratelimiter = tapir_ratelimiter_new(1 << 16);
	if (!dev->hsq || !dev->allowedips || !dev->ratelimiter)
		goto err_tables;
	ret = tapir_peer_table_init(&dev->peers);
	if (ret < 0)
		goto err_tables;
	ret = tapir_index_table_init(&dev->indices);
	if (ret < 0)
		goto err_peer_table;
	ret = tapir_pkt_pool_init(&dev->pool, TAPIR_STAGED_POOL_LEN);
	if (ret < 0)
		goto err_index_table;

	ret = init_workers(dev, opts->tun_fds);
	if (ret < 0)
		goto err_pool;
	ret = tapir_tcp_init(dev);
	if (ret < 0) {
		tapir_tcp_destroy(dev); /* what it made of itself */
		goto err_workers;
	}

	init_tun(dev, opts);
	*step = "initialise L2 mode";
	ret = tapir_l2_init(dev, opts->is_tap);
	if (ret < 0) {
		tapir_l2_destroy(dev); /* what it made of itself */
		goto err_tcp;
	}
	if (opts->is_fake_tun)
		return 0;

	tapir_tun_set_mtu(dev->ifname, opts->is_tap ? TAPIR_TAP_DEFAULT_MTU : TAPIR_DEFAULT_MTU);
	/* the sockets are made directly: the privileged helper does not exist yet */
	*step = "open UDP sockets";
	ret = tapir_device_bind(dev, 0);
	if (ret < 0)
		goto err_l2;
	return 0;

err_l2:
	tapir_l2_destroy(dev);
err_tcp:
	tapir_tcp_destroy(dev);
err_workers:
	free_workers(dev, false);
err_pool:
	tapir_pkt_pool_destroy(&dev->pool);
err_index_table:
	tapir_index_table_destroy(&dev->indices);
err_peer_table:
	tapir_peer_table_destroy(&dev->peers);
err_tables:
	tapir_ratelimiter_free(dev->ratelimiter);
	tapir_allowedips_free(dev->allowedips);
	free(dev->hsq);
	close(dev->stop_event_fd);
err_control_event:
	close(dev->control_event_fd);
	return ret;
}

int tapir_device_start(struct tapir_device *dev)
{
	for (unsigned int i = 0; i < dev->nworkers; i++) {
		int ret = pthread_create(&dev->workers[i].thread, NULL, tapir_worker_main,
					 &dev->workers[i]);
		if (ret)
			return -ret;
		dev->workers[i].is_started = true;
	}
	return tapir_tcp_start(dev);
}

void tapir_device_request_stop(struct tapir_device *dev, int reason)
{
	uint64_t one = 1;
	int expected = 0;

	atomic_compare_exchange_strong(&dev->stop_reason, &expected, reason);
	atomic_store_explicit(&dev->is_stopping, true, memory_order_release);
	/* a failed write means the counter is saturated: a wakeup is already pending */
	if (write(dev->control_event_fd, &one, sizeof(one)) < 0 ||
	    write(dev->stop_event_fd, &one, sizeof(one)) < 0)
		return;
}

void tapir_device_destroy(struct tapir_device *dev)
{
	tapir_device_request_stop(dev, 0);
	for (unsigned int i = 0; dev->workers && i < dev->nworkers; i++) {
		if (dev->workers[i].is_started)
			pthread_join(dev->workers[i].thread, NULL);
	}
	tapir_tcp_destroy(dev);
	pthread_rwlock_wrlock(&dev->lock);
	tapir_device_remove_all_peers(dev);
	tapir_graveyard_reap(&dev->graveyard, &dev->indices);
	pthread_rwlock_unlock(&dev->lock);
	tapir_l2_destroy(dev);
	free_workers(dev, true);
	tapir_pkt_pool_destroy(&dev->pool);
	tapir_index_table_destroy(&dev->indices);
	tapir_peer_table_destroy(&dev->peers);
	tapir_ratelimiter_free(dev->ratelimiter);
	tapir_allowedips_free(dev->allowedips);
	free(dev->hsq);
	tapir_cookie_checker_wipe(&dev->cookie_checker);
	tapir_wipe(&dev->local, sizeof(dev->local));
	close(dev->stop_event_fd);
	close(dev->control_event_fd);
}

/* UDP GSO/GRO are probed on every (re)bind; a missing one is switched off with a log line. */
static void probe_udp_offloads(struct tapir_device *dev, const int *fds)
{
	unsigned int offloads = atomic_load(&dev->offloads);

	if ((offloads & TAPIR_OFFLOAD_GSO) && !tapir_udp_has_gso(fds[0]))
		tapir_device_disable_offload(dev, TAPIR_OFFLOAD_GSO, "no UDP_SEGMENT");
	for (unsigned int i = 0; (offloads & TAPIR_OFFLOAD_GRO) && i < dev->nworkers; i++) {
		int ret = tapir_udp_enable_gro(fds[i]);
		if (ret < 0) {
			tapir_device_disable_offload(dev, TAPIR_OFFLOAD_GRO, strerror(-ret));
			break;
		}
	}
}

int tapir_device_bind(struct tapir_device *dev, uint16_t port)
{
	int fds[TAPIR_MAX_THREADS];
	int ret;

	ret = tapir_udp_open(fds, dev->nworkers, port, dev->fwmark, dev->sock_ops);
	if (ret < 0)
		return ret;
	pthread_rwlock_wrlock(&dev->lock);
	for (unsigned int i = 0; i < dev->nworkers; i++) {
		struct tapir_worker *w = &dev->workers[i];
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = TAPIR_WORKER_EV_UDP};

		if (dev->udp_fds[i] >= 0)
			close(dev->udp_fds[i]); /* also leaves the worker's epoll set */
		dev->udp_fds[i] = fds[i];
		w->udp_fd = fds[i];
		epoll_ctl(w->epoll_fd, EPOLL_CTL_ADD, fds[i], &ev);
	}
	if (dev->tcp_worker)
		dev->tcp_worker->udp_fd = fds[0];
	dev->udp_family = tapir_udp_family(fds[0]);
	probe_udp_offloads(dev, fds);
	dev->listen_port = (uint16_t)ret;
	dev->is_up = true;
	pthread_rwlock_unlock(&dev->lock);
	/* TCP next to UDP on the same port number; UDP works on without it */
	ret = tapir_tcp_listen(dev, dev->listen_port);
	if (ret < 0 && ret != -ENOTCONN)
		log_info("%s: cannot listen on tcp port %u: %s", dev->ifname,
			 (unsigned)dev->listen_port, strerror(-ret));
	return 0;
}

int tapir_device_set_fwmark(struct tapir_device *dev, uint32_t fwmark)
{
	for (unsigned int i = 0; dev->is_up && i < dev->nworkers; i++) {
		int ret = dev->sock_ops->set_mark(dev->sock_ops->ctx, dev->udp_fds[i], fwmark);
		if (ret < 0)
			return ret;
	}
	tapir_tcp_set_fwmark(dev, fwmark);
	dev->fwmark = fwmark;
	return 0;
}

void tapir_device_set_private_key(struct tapir_device *dev, const uint8_t key[32])
{
	struct tapir_peer *p, *next;
	uint8_t clamped[32];
	bool is_same;

	/* setconf/syncconf resend the same key: that must not tear down live sessions */
	memcpy(clamped, key, 32);
	tapir_x25519_clamp(clamped);
	is_same = dev->local.has_identity && tapir_memeq_ct(clamped, dev->local.private_key, 32);
	tapir_wipe(clamped, sizeof(clamped));
	if (is_same)
		return;
	tapir_noise_local_set_private_key(&dev->local, key);
	for (p = dev->peers.first; p; p = next) {
		next = p->list_next;
		/* a peer with our own public key can never handshake: remove it (wireguard-go) */
		if (dev->local.has_identity && !memcmp(p->public_key, dev->local.public_key, 32)) {
			tapir_device_remove_peer(dev, p);
			continue;
		}
		tapir_noise_handshake_rekey_static(&p->hs, &dev->local);
		tapir_index_table_remove(&dev->indices, &p->hs_entry);
		tapir_peer_zero_keys(dev, p);
		/* the next packet initiates at once, even within 5 s of the last initiation,
		 * whose state is gone with the old key (wireguard-go and the kernel do too) */
		atomic_store_explicit(&p->last_sent_handshake_ns, 0, memory_order_relaxed);
	}
}

struct tapir_peer *tapir_device_add_peer(struct tapir_device *dev, const uint8_t public_key[32])
{
	struct tapir_peer *peer = tapir_peer_new(public_key);

	if (!peer)
		return NULL;
	tapir_noise_handshake_init(&peer->hs, &dev->local, public_key, NULL);
	if (tapir_peer_table_add(&dev->peers, peer) < 0) {
		tapir_peer_free(peer);
		return NULL;
	}
	return peer;
}

void tapir_device_set_psk(struct tapir_device *dev, struct tapir_peer *peer, const uint8_t psk[32])
{
	memcpy(peer->hs.preshared_key, psk, 32);
}

void tapir_device_remove_peer(struct tapir_device *dev, struct tapir_peer *peer)
{
	peer->is_dead = true;
	tapir_timers_stop(&peer->timers);
	tapir_allowedips_remove_owner(dev->allowedips, &peer->allowed);
	tapir_l2_remove_peer(dev, peer);
	tapir_tcp_remove_peer(dev, peer);
	tapir_index_table_remove(&dev->indices, &peer->hs_entry);
	tapir_peer_zero_keys(dev, peer);
	tapir_send_drop_staged(dev, peer);
	tapir_peer_table_remove(&dev->peers, peer);
	/* the write lock is held: no worker can still see it */
	tapir_graveyard_reap(&dev->graveyard, &dev->indices);
	tapir_peer_free(peer);
}

void tapir_device_remove_all_peers(struct tapir_device *dev)
{
	while (dev->peers.first)
		tapir_device_remove_peer(dev, dev->peers.first);
}

void tapir_device_disable_offload(struct tapir_device *dev, enum tapir_offload bit, const char *why)
{
	static const char *const names[] = {"tun", "gso", "gro"};
	unsigned int old = atomic_fetch_and(&dev->offloads, ~(unsigned int)bit);

	if (old & bit)
		log_info("%s: turning offload %s off: %s", dev->ifname,
			 names[__builtin_ctz((unsigned int)bit)], why);
}
