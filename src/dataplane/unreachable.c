// SPDX-License-Identifier: MIT
/*
 * The send path's answer to a packet that no peer's allowed IPs cover: an ICMP or ICMPv6
 * "destination unreachable" (built by icmp.c) written back into the TUN queue the packet was
 * read from, so that ping and connect fail at once, as with the kernel's WireGuard, instead
 * of timing out. At most TAPIR_ICMP_RATE_PER_S per device, and one per run of consecutive
 * packets between the same two addresses in a batch: the segments of a split super-packet
 * are such a run, so a 64 KiB TCP write to nowhere gets one error, not forty. TUN mode only.
 */
#include "device.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "clock.h"

/* Same IP version, source and destination (an encrypted packet has no IP version). */
static bool is_same_addresses(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	if (alen < 20 || blen < 20 || a[0] >> 4 != b[0] >> 4)
		return false;
	if (a[0] >> 4 == 4)
		return !memcmp(a + 12, b + 12, 8);
	return a[0] >> 4 == 6 && alen >= 40 && blen >= 40 && !memcmp(a + 8, b + 8, 32);
}

static void count(struct tapir_device *dev, enum tapir_icmp_stat s)
{
	atomic_fetch_add_explicit(&dev->icmp_stats[s], 1, memory_order_relaxed);
}

void tapir_unreachable_reply(struct tapir_device *dev, struct tapir_worker *w,
			     struct tapir_pkt *pkt, struct tapir_pkt *prev)
{
	static const struct virtio_net_hdr plain; /* no GSO; the checksums are complete */
	uint8_t err[TAPIR_ICMP6_MAX_BYTES];
	struct iovec iov[2] = {
	    {.iov_base = (void *)(uintptr_t)&plain, .iov_len = sizeof(plain)},
	    {.iov_base = err, .iov_len = 0},
	};
	int len;

	len = tapir_icmp_unreachable(tapir_pkt_data(pkt), pkt->len, err, sizeof(err));
	if (len <= 0)
		return; /* nothing may be sent (multicast, an ICMP error, ...), or malformed */
	if ((prev &&
	     is_same_addresses(tapir_pkt_data(prev), prev->len, tapir_pkt_data(pkt), pkt->len)) ||
	    !tapir_icmp_limiter_allow(&dev->icmp_limiter, tapir_now_ns())) {
		count(dev, TAPIR_ICMP_UNREACHABLE_RATELIMITED);
		return;
	}
	iov[1].iov_len = (size_t)len;
	if (writev(w->tun_fd, dev->has_vnet_hdr ? iov : iov + 1, dev->has_vnet_hdr ? 2 : 1) < 0) {
		tapir_device_count_drop(dev, TAPIR_DROP_SEND_ERROR);
		return;
	}
	count(dev, TAPIR_ICMP_UNREACHABLE_SENT);
}
