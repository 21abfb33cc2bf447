// SPDX-License-Identifier: MIT
/*
 * ICMP "destination unreachable": the input is the packet the TUN gave. An error must fit its
 * limit, state its length, verify (IPv4 header, ICMP; ICMPv6 over the pseudo-header) and
 * quote the packet's first bytes unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "icmp.h"
#include "offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[TAPIR_ICMP6_MAX_BYTES];
	int n = tapir_icmp_unreachable(data, size, out, sizeof(out));
	size_t len = n > 0 ? (size_t)n : 0, hdr = out[0] >> 4 == 4 ? 20 : 40;
	uint64_t sum;

	if (n <= 0)
		return 0;
	if (hdr == 20 && tapir_csum_fold(tapir_csum_add(0, out, 20)) != 0)
		abort();
	sum = hdr == 20 ? 0 : tapir_csum_pseudo(out, 6, 58, len - 40);
	sum = tapir_csum_add(sum, out + hdr, len - hdr);
	if (len > (hdr == 20 ? 576u : 1280u) || len < hdr + 8 || len - hdr - 8 > size ||
	    tapir_csum_fold(sum) != 0 || memcmp(out + hdr + 8, data, len - hdr - 8) ||
	    (out[0] >> 4 == 4 ? 0u + (out[2] << 8 | out[3]) : 40u + (out[4] << 8 | out[5])) != len)
		abort();
	return 0;
}
