// SPDX-License-Identifier: MIT
/*
 * TSO/USO split: bytes 0-9 are the struct virtio_net_hdr (host order), byte 10 picks the MTU,
 * the rest is the packet, read in place. GSO segments must fit the MTU and state their length.
 * A single packet completed in place (tapir_offload_complete, on a copy) must be accepted
 * exactly when the split accepts it and come out as the split's copy.
 */
#include <stdlib.h>
#include <string.h>

#include "offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { SEGS = TAPIR_OFFLOAD_MAX_SEGMENTS, CAP = 9216 };
static uint8_t store[SEGS][CAP], *out[SEGS], copy[TAPIR_OFFLOAD_MAX_PACKET_BYTES + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static size_t lens[SEGS];
	struct virtio_net_hdr vh;
	size_t mtu, h = sizeof(vh) + 1;
	int n;

	if (size < h)
		return 0;
	memcpy(&vh, data, sizeof(vh));
	mtu = 68 + (size_t)data[sizeof(vh)] * 35;
	for (size_t i = 0; i < SEGS; i++)
		out[i] = store[i];
	n = tapir_offload_split(&vh, data + h, size - h, mtu, out, lens, SEGS, CAP);
	for (int i = 0; vh.gso_type != VIRTIO_NET_HDR_GSO_NONE && i < n; i++) {
		const uint8_t *p = out[i];
		size_t ip_len = p[0] >> 4 == 4 ? 0u + (p[2] << 8 | p[3]) : 40u + (p[4] << 8 | p[5]);

		if (lens[i] > mtu || ip_len != lens[i])
			abort();
	}
	if (size - h <= sizeof(copy) && size - h <= CAP) {
		int ret;

		memcpy(copy, data + h, size - h);
		ret = tapir_offload_complete(&vh, copy, size - h);
		if ((ret == 0) != (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE && n == 1) ||
		    (ret == 0 && memcmp(copy, out[0], size - h) != 0))
			abort();
	}
	return 0;
}
