// SPDX-License-Identifier: MIT
/*
 * Classic libpcap file writer for `tapir tuntap watch -w`. The layout is the documented one
 * (magic 0xa1b2c3d4, version 2.4, thiszone 0, sigfigs 0, snaplen, linktype; then per record
 * ts_sec, ts_usec, incl_len, orig_len), written in host byte order as libpcap itself does.
 */
#include "pcap.h"

#include <errno.h>
#include <string.h>

static int put_all(FILE *f, const void *p, size_t len)
{
	if (len && fwrite(p, 1, len, f) != len)
		return errno ? -errno : -EIO;
	return 0;
}

int tapir_pcap_write_header(FILE *f, uint32_t linktype)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} h = {0xa1b2c3d4, 2, 4, 0, 0, TAPIR_PCAP_SNAPLEN, linktype};

	return put_all(f, &h, sizeof(h));
}

int tapir_pcap_write_record(FILE *f, const struct timespec *ts, const uint8_t *buf, size_t len)
{
	size_t incl = len > TAPIR_PCAP_SNAPLEN ? TAPIR_PCAP_SNAPLEN : len;
	uint32_t r[4] = {(uint32_t)ts->tv_sec, (uint32_t)(ts->tv_nsec / 1000), (uint32_t)incl,
			 (uint32_t)len};
	int err = put_all(f, r, sizeof(r));

	if (!err)
		err = put_all(f, buf, incl);
	if (!err && fflush(f))
		err = -errno;
	return err;
}
