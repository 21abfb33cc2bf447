// SPDX-License-Identifier: MIT
/*
 * Whole receive path: a datagram goes through tapir_receive_batch (classification, index
 * lookup, AEAD, replay window, inner-IP validation, source check, extension hook) and queued
 * handshake messages through the control thread's processing. Input byte 0 selects the mode:
 * even = raw datagram; odd = the rest is encrypted as valid transport data (counter from
 * bytes 1-2) for the one known peer, so the inner-packet parser sees fuzzed plaintext. Bit 1 of
 * byte 0 puts the device in TAP mode (Ethernet extension frames into the MAC table, where
 * 02:00:00:00:00:01 is pinned to a second peer: the known peer sending from it is refused).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "crypto.h"
#include "device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tapir_device dev;
static int pipe_fds[2];
static struct tapir_keypair *kp;
static struct tapir_aead_ctx *seal;

static void setup(void)
{
	struct tapir_noise_session_keys keys = {.local_index = 0x11223344, .remote_index = 1};
	uint8_t priv[32] = {1}, peer_key[32] = {2}, other_key[32] = {3}, addr[4] = {10, 0, 0, 2};
	struct tapir_device_opts opts = {.ifname = "fz0",
					 .tun_fds = &pipe_fds[1],
					 .nworkers = 1,
					 .is_tap = true,
					 .is_fake_tun = true};
	struct tapir_peer *peer, *other;
	const char *step;

	tapir_crypto_init();
	/* the MAC table and the extension hook exist in both modes; dev.is_tap picks one */
	if (pipe2(pipe_fds, O_NONBLOCK) < 0 || tapir_device_init(&dev, &opts, &step) < 0)
		abort();
	tapir_device_set_private_key(&dev, priv);
	peer = tapir_device_add_peer(&dev, peer_key);
	memset(keys.send_key, 7, 32);
	memset(keys.recv_key, 7, 32);
	kp = tapir_keypair_new(&keys, peer, 2, 0);
	seal = tapir_aead_ctx_new(keys.recv_key, true);
	if (!peer || !kp || !seal || tapir_index_table_insert(&dev.indices, &kp->entry) < 0)
		abort();
	peer->kp_current = kp;
	tapir_allowedips_insert(dev.allowedips, AF_INET, addr, 32, &peer->allowed);
	other = tapir_device_add_peer(&dev, other_key);
	if (!other)
		abort();
	other->pinned_macs[0][0] = 2;
	other->pinned_macs[0][5] = 1;
	other->n_pinned_macs = 1;
	tapir_l2_pin_all(&dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tapir_pkt pkt;
	static uint8_t sink[65536];
	struct tapir_endpoint src = {.addr.in = {.sin_family = AF_INET, .sin_port = htons(9)}};

	if (!kp)
		setup();
	if (size < 1 || size > 60000)
		return 0;
	dev.is_tap = data[0] & 2;
	pkt.off = TAPIR_PKT_HEADROOM;
	if (data[0] & 1 && size >= 3) {
		uint64_t counter = (uint64_t)data[1] << 8 | data[2];
		uint8_t *m = tapir_pkt_data(&pkt);
		size_t plen = size - 3;

		memcpy(m + 16, data + 3, plen);
		tapir_aead_ctx_seal(seal, counter, m + 16, plen);
		tapir_msg_put_header(m, TAPIR_MSG_DATA);
		tapir_le32_put(m + 4, kp->entry.index);
		tapir_le64_put(m + 8, counter);
		pkt.len = (uint32_t)(plen + 32);
	} else {
		memcpy(tapir_pkt_data(&pkt), data + 1, size - 1);
		pkt.len = (uint32_t)(size - 1);
	}
	kp->birth_ns = tapir_now_ns();
	uint8_t *msgs[1] = {tapir_pkt_data(&pkt)};
	size_t lens[1] = {pkt.len};
	tapir_receive_batch(&dev, &dev.workers[0], msgs, lens, &src, 1);
	tapir_handshake_process_queues(&dev);
	while (read(pipe_fds[0], sink, sizeof(sink)) > 0)
		;
	return 0;
}
