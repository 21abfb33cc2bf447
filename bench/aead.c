// SPDX-License-Identifier: MIT
/*
 * Data-plane AEAD micro-benchmark: which ChaCha20-Poly1305 should encrypt transport packets?
 * Compares, at 64, 1420 and 65535 bytes with empty AD (as transport data uses):
 *   a) tapir_aead_ctx: OpenSSL's ChaCha20 and Poly1305 composed in src/crypto/aead.c (one
 *      ChaCha20 pass per packet through the provider dispatch table), key set once, through
 *      the context's scratch buffer (a copy in and a copy out per packet)
 *   f) the same context in place (tapir_aead_ctx_seal_inplace/open_inplace, what the data
 *      plane uses): no scratch copies, the key block in the packet's headroom
 *   e) OpenSSL's EVP ChaCha20-Poly1305, key set once, only the nonce per packet (what
 *      tapir_aead_ctx was until 2026-12-05)
 *   b) OpenSSL EVP with cipher and key set on every packet (a naive wrapper)
 *   c) libsodium crypto_aead_chacha20poly1305_ietf_*_detached
 *   d) tapir_aead_seal, the handshake's one-shot (per-thread context, key per call)
 * Seal runs in place on one buffer (with headroom and tailroom, as a packet buffer has) with
 * a fresh counter per packet. Open must start from valid
 * ciphertext every time, so each open op first copies the sealed packet back; that copy is
 * measured on its own row so it can be subtracted. Each cell runs for a fixed time (0.5 s, or
 * 0.1 s with --quick) of the thread's CPU time after a short warm-up, single-threaded, split
 * into 5 slices of which the fastest is reported, so that a busy (shared, CI) machine skews
 * the numbers less.
 */
#include "crypto.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

enum {
	MAX_LEN_BYTES = 65535,
	TAG_LEN_BYTES = 16,
	WARMUP_NS = 20 * 1000 * 1000,
	BATCH_MIN_NS = 1000 * 1000,
	SLICES = 5,
};

struct bench {
	uint8_t key[32];
	uint8_t *mem;	 /* headroom + MAX_LEN_BYTES + tailroom */
	uint8_t *buf;	 /* mem + headroom: the packet being worked on */
	uint8_t *sealed; /* a valid packet of @len bytes + tag, sealed with counter 0 */
	size_t len;
	uint64_t counter;
	struct tapir_aead_ctx *seal_ctx, *open_ctx;
	EVP_CIPHER_CTX *evp;
	EVP_CIPHER_CTX *evp_seal_once, *evp_open_once; /* keyed in setup() */
};

static void make_nonce(uint8_t nonce[12], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static bool seal_ctx(struct bench *b)
{
	return tapir_aead_ctx_seal(b->seal_ctx, b->counter++, b->buf, b->len) == 0;
}

static bool seal_inplace(struct bench *b)
{
	return tapir_aead_ctx_seal_inplace(b->seal_ctx, b->counter++, b->buf, b->len) == 0;
}

static bool seal_evp_rekey(struct bench *b)
{
	uint8_t nonce[12];
	int outl;

	make_nonce(nonce, b->counter++);
	return EVP_EncryptInit_ex2(b->evp, EVP_chacha20_poly1305(), b->key, nonce, NULL) == 1 &&
	       EVP_EncryptUpdate(b->evp, b->buf, &outl, b->buf, (int)b->len) == 1 &&
	       EVP_EncryptFinal_ex(b->evp, b->buf + b->len, &outl) == 1 &&
	       EVP_CIPHER_CTX_ctrl(b->evp, EVP_CTRL_AEAD_GET_TAG, TAG_LEN_BYTES, b->buf + b->len) ==
		   1;
}

static bool seal_evp_once(struct bench *b)
{
	uint8_t nonce[12];
	int outl;

	make_nonce(nonce, b->counter++);
	return EVP_CipherInit_ex2(b->evp_seal_once, NULL, NULL, nonce, -1, NULL) == 1 &&
	       EVP_CipherUpdate(b->evp_seal_once, b->buf, &outl, b->buf, (int)b->len) == 1 &&
	       EVP_CipherFinal_ex(b->evp_seal_once, b->buf + b->len, &outl) == 1 &&
	       EVP_CIPHER_CTX_ctrl(b->evp_seal_once, EVP_CTRL_AEAD_GET_TAG, TAG_LEN_BYTES,
				   b->buf + b->len) == 1;
}

static bool open_evp_once(struct bench *b)
{
	uint8_t nonce[12], tail[TAG_LEN_BYTES];
	int outl;

	memcpy(b->buf, b->sealed, b->len + TAG_LEN_BYTES);
	make_nonce(nonce, 0);
	return EVP_CipherInit_ex2(b->evp_open_once, NULL, NULL, nonce, -1, NULL) == 1 &&
	       EVP_CIPHER_CTX_ctrl(b->evp_open_once, EVP_CTRL_AEAD_SET_TAG, TAG_LEN_BYTES,
				   b->buf + b->len) == 1 &&
	       EVP_CipherUpdate(b->evp_open_once, b->buf, &outl, b->buf, (int)b->len) == 1 &&
	       EVP_CipherFinal_ex(b->evp_open_once, tail, &outl) == 1;
}

static bool seal_sodium(struct bench *b)
{
	uint8_t nonce[12];

	make_nonce(nonce, b->counter++);
	return crypto_aead_chacha20poly1305_ietf_encrypt_detached(b->buf, b->buf + b->len, NULL,
								  b->buf, b->len, NULL, 0, NULL,
								  nonce, b->key) == 0;
}

static bool seal_oneshot(struct bench *b)
{
	tapir_aead_seal(b->buf, b->buf, b->len, NULL, 0, b->counter++, b->key);
	return true;
}

static bool copy_only(struct bench *b)
{
	memcpy(b->buf, b->sealed, b->len + TAG_LEN_BYTES);
	/* Keeps the copy from being optimised away. */
	__asm__ volatile("" : : "r"(b->buf) : "memory");
	return true;
}

static bool open_ctx(struct bench *b)
{
	memcpy(b->buf, b->sealed, b->len + TAG_LEN_BYTES);
	return tapir_aead_ctx_open(b->open_ctx, 0, b->buf, b->len + TAG_LEN_BYTES);
}

static bool open_inplace(struct bench *b)
{
	memcpy(b->buf, b->sealed, b->len + TAG_LEN_BYTES);
	return tapir_aead_ctx_open_inplace(b->open_ctx, 0, b->buf, b->len + TAG_LEN_BYTES);
}

static bool open_sodium(struct bench *b)
{
	uint8_t nonce[12];

	memcpy(b->buf, b->sealed, b->len + TAG_LEN_BYTES);
	make_nonce(nonce, 0);
	return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
		   b->buf, NULL, b->buf, b->len, b->buf + b->len, NULL, 0, nonce, b->key) == 0;
}

struct candidate {
	const char *op, *name;
	bool (*run)(struct bench *b);
};

static const struct candidate candidates[] = {
    {"seal", "a tapir_aead_ctx (composed)", seal_ctx},
    {"seal", "f tapir_aead_ctx in place", seal_inplace},
    {"seal", "b EVP, cipher+key per packet", seal_evp_rekey},
    {"seal", "c libsodium ietf_detached", seal_sodium},
    {"seal", "d tapir_aead_seal (one-shot)", seal_oneshot},
    {"seal", "e EVP AEAD, key once", seal_evp_once},
    {"open", "a tapir_aead_ctx (composed)", open_ctx},
    {"open", "f tapir_aead_ctx in place", open_inplace},
    {"open", "c libsodium ietf_detached", open_sodium},
    {"open", "e EVP AEAD, key once", open_evp_once},
    {"copy", "memcpy included in each open", copy_only},
};

static const size_t sizes[] = {64, 1420, 4096, MAX_LEN_BYTES};

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* the thread's CPU time: time spent waiting for a CPU on a busy machine is not counted */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs @c for about @budget_ns; returns the mean ns per op, or a negative value on failure. */
static double measure_slice(const struct candidate *c, struct bench *b, uint64_t budget_ns)
{
	uint64_t ops = 0, batch = 1, start, elapsed = 0, i;

	/* Grow the batch until one takes long enough that reading the clock costs nothing. */
	do {
		start = now_ns();
		for (i = 0; i < batch; i++)
			if (!c->run(b))
				return -1;
		elapsed += now_ns() - start;
		ops += batch;
		if (now_ns() - start < BATCH_MIN_NS)
			batch *= 2;
	} while (elapsed < budget_ns);
	return (double)elapsed / (double)ops;
}

/* The fastest of SLICES runs of @budget_ns / SLICES: other load only ever slows a slice down. */
static double measure(const struct candidate *c, struct bench *b, uint64_t budget_ns)
{
	double best = 0;
	int i;

	for (i = 0; i < SLICES; i++) {
		double ns = measure_slice(c, b, budget_ns / SLICES);

		if (ns < 0)
			return ns;
		if (i == 0 || ns < best)
			best = ns;
	}
	return best;
}

static void print_cpu(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];
	const char *model = "unknown";

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			line[strcspn(line, "\n")] = '\0';
			model = colon + 2;
			break;
		}
	}
	printf("cpu: %s\nnproc: %ld\n", model, sysconf(_SC_NPROCESSORS_ONLN));
	if (f)
		fclose(f);
}

static int setup(struct bench *b)
{
	memset(b, 0, sizeof(*b));
	tapir_random_bytes(b->key, sizeof(b->key));
	b->mem = calloc(1, TAPIR_AEAD_CTX_HEADROOM + MAX_LEN_BYTES + TAPIR_AEAD_CTX_TAILROOM);
	b->buf = b->mem ? b->mem + TAPIR_AEAD_CTX_HEADROOM : NULL;
	b->sealed = calloc(1, MAX_LEN_BYTES + TAG_LEN_BYTES);
	b->seal_ctx = tapir_aead_ctx_new(b->key, true);
	b->open_ctx = tapir_aead_ctx_new(b->key, false);
	b->evp = EVP_CIPHER_CTX_new();
	b->evp_seal_once = EVP_CIPHER_CTX_new();
	b->evp_open_once = EVP_CIPHER_CTX_new();
	if (!b->buf || !b->sealed || !b->seal_ctx || !b->open_ctx || !b->evp || !b->evp_seal_once ||
	    !b->evp_open_once ||
	    EVP_CipherInit_ex2(b->evp_seal_once, EVP_chacha20_poly1305(), b->key, NULL, 1, NULL) !=
		1 ||
	    EVP_CipherInit_ex2(b->evp_open_once, EVP_chacha20_poly1305(), b->key, NULL, 0, NULL) !=
		1)
		return -1;
	return 0;
}

static void teardown(struct bench *b)
{
	free(b->mem);
	free(b->sealed);
	tapir_aead_ctx_free(b->seal_ctx);
	tapir_aead_ctx_free(b->open_ctx);
	EVP_CIPHER_CTX_free(b->evp);
	EVP_CIPHER_CTX_free(b->evp_seal_once);
	EVP_CIPHER_CTX_free(b->evp_open_once);
}

int main(int argc, char **argv)
{
	bool is_quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	uint64_t cell_ns = is_quick ? 100000000u : 500000000u;
	struct bench b = {0};
	size_t s, i;
	int rc = 1;

	if (argc > 2 || (argc == 2 && !is_quick)) {
		fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
		return 2;
	}
	if (tapir_crypto_init() != 0 || setup(&b) != 0) {
		fprintf(stderr, "bench_aead: setup failed\n");
		goto out;
	}
	print_cpu();
	printf("cell: %.1f s of thread CPU time (best of %d slices), single thread, empty AD\n\n",
	       (double)cell_ns / 1e9, SLICES);
	printf("%7s  %-4s  %-34s %10s %8s\n", "bytes", "op", "candidate", "ns/op", "GB/s");
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		b.len = sizes[s];
		tapir_random_bytes(b.sealed, b.len);
		tapir_aead_seal(b.sealed, b.sealed, b.len, NULL, 0, 0, b.key);
		for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
			const struct candidate *c = &candidates[i];
			double ns;

			memcpy(b.buf, b.sealed, b.len);
			measure(c, &b, WARMUP_NS);
			ns = measure(c, &b, cell_ns);
			if (ns < 0) {
				fprintf(stderr, "bench_aead: %s %s failed at %zu bytes\n", c->op,
					c->name, b.len);
				goto out;
			}
			printf("%7zu  %-4s  %-34s %10.1f %8.3f\n", b.len, c->op, c->name, ns,
			       (double)b.len / ns);
		}
		fflush(stdout);
	}
	rc = 0;
out:
	teardown(&b);
	return rc;
}
