// SPDX-License-Identifier: MIT
/*
 * The data-plane AEAD: ChaCha20-Poly1305 of RFC 8439 section 2.8 with an empty AD, as
 * transport data uses it (wireguard-protocol.md section 1.3), for one (keypair, direction,
 * thread). The primitives are OpenSSL's ChaCha20 stream cipher and Poly1305 MAC; only the
 * AEAD construction around them is done here, and both are called through their provider's
 * dispatch table instead of the EVP layer.
 *
 * Why not OpenSSL's own ChaCha20-Poly1305: per packet it makes three ChaCha20 calls (the
 * one-block Poly1305 key, the whole blocks, the final partial block), and each short call
 * takes OpenSSL's latency-bound one-to-four-block path; with the EVP parameter handling
 * around them (name lookups by strcmp per packet) that cost about 420 of 980 ns for a
 * 1420-byte packet (bench/aead.c, bench/results/aead.txt). Here one ChaCha20 call, block
 * counter from 0, runs over [64 zero bytes | text rounded up to whole blocks] in a per-thread
 * scratch buffer: block 0 becomes the one-time Poly1305 key (its first 32 bytes), the rest
 * en- or decrypts the text in one pass of the wide code. Poly1305 then covers the ciphertext,
 * zero padding to 16 bytes and the two little-endian 64-bit lengths (AD 0, text len).
 *
 * Open authenticates the caller's untouched ciphertext before it writes any plaintext back,
 * and wipes the buffer when the tag is wrong, so no unauthenticated plaintext is left behind.
 * tapir_aead_ctx_seal/open read and write nothing outside [buf, buf + len + 16). The one-time
 * key is wiped from the scratch buffer before returning. The dispatch table is resolved once
 * by tapir_aead_init(), from tapir_crypto_init(), and is read-only afterwards.
 *
 * The data plane calls the _inplace variants, which skip the scratch copies where that pays
 * (bench/aead.c, measured 2026-12-07): seal always, generating block 0 in the packet's
 * headroom so that it stays one ChaCha20 call (on a loaded machine: 1420 bytes 0-8 %, 4 KiB
 * about 8 %, 64 KiB 2-15 % faster); open fully in place only from OPEN_INPLACE_MIN_BYTES on.
 * Open in place needs two ChaCha20 calls, since the Poly1305 key (block 0) must exist before
 * the ciphertext may be decrypted, and the second, short call costs about 120 ns, more than the
 * two copies of a 1420-byte packet (30 ns): in place was 18 % slower there and only won from
 * 3-4 KiB. Below that, open keeps the single call but runs it out of place, from the zeroed
 * headroom block and the untouched ciphertext into the scratch buffer (open_to_scratch), and
 * either copies the plaintext back once (_open_inplace: one copy instead of two) or leaves it
 * there for the caller to read (_open_view: the receive path hands it straight to the TUN
 * coalescer, which copies it anyway; no copy here at all).
 */
#include "crypto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

enum {
	CHACHA_BLOCK_BYTES = 64,
	CHACHA_IV_BYTES = 16, /* OpenSSL's ChaCha20 IV: 32-bit block counter || 96-bit nonce */
	POLY_KEY_BYTES = 32,
	POLY_BLOCK_BYTES = 16,
	SCRATCH_BYTES = CHACHA_BLOCK_BYTES + TAPIR_AEAD_CTX_MAX_BYTES,
	OPEN_INPLACE_MIN_BYTES = 4096, /* text length from which open in place pays (above) */
};

_Static_assert(TAPIR_AEAD_CTX_MAX_BYTES % CHACHA_BLOCK_BYTES == 0,
	       "the text rounded up to whole blocks fits the scratch buffer");

/* Resolved once by tapir_aead_init() (before threads start), read-only afterwards. */
struct aead_dispatch {
	EVP_CIPHER *chacha; /* held so that their provider stays loaded */
	EVP_MAC *poly;
	void *chacha_provctx;
	void *poly_provctx;
	OSSL_FUNC_cipher_newctx_fn *cipher_new;
	OSSL_FUNC_cipher_freectx_fn *cipher_free;
	OSSL_FUNC_cipher_encrypt_init_fn *cipher_init;
	OSSL_FUNC_cipher_update_fn *cipher_update;
	OSSL_FUNC_mac_newctx_fn *mac_new;
	OSSL_FUNC_mac_freectx_fn *mac_free;
	OSSL_FUNC_mac_init_fn *mac_init;
	OSSL_FUNC_mac_update_fn *mac_update;
	OSSL_FUNC_mac_final_fn *mac_final;
};

static struct aead_dispatch dp;

/* Block 0 and the text of the packet being worked on; one per thread, never shared. */
static __thread uint8_t scratch[SCRATCH_BYTES] __attribute__((aligned(64)));

struct tapir_aead_ctx {
	void *chacha; /* provider context holding the key; cleansed by its freectx */
	void *poly;   /* provider context, keyed anew per packet */
	bool is_seal;
};

/*
 * x86-64: OpenSSL's AVX-512 code returns with the upper halves of the vector registers in
 * use, and every legacy-SSE instruction the compiler emits afterwards (the segment
 * checksums, inlined copies) then pays a merge penalty: inside tapird the checksum loop ran
 * four times slower than on its own (bench/README.md, "Tunnel throughput"). VZEROUPPER after each
 * data-plane AEAD call ends that state; it exists only on CPUs with AVX, checked once.
 */
#if defined(__x86_64__)
static bool has_avx;

__attribute__((target("avx"))) static void vzeroupper_avx(void)
{
	__builtin_ia32_vzeroupper();
}

static void detect_vector_state(void)
{
	has_avx = __builtin_cpu_supports("avx");
}

static void end_vector_state(void)
{
	if (has_avx)
		vzeroupper_avx();
}
#else
static void detect_vector_state(void)
{
}

static void end_vector_state(void)
{
}
#endif

/* Whether @name is one of the colon-separated names of @alg (case-insensitive). */
static bool has_name(const OSSL_ALGORITHM *alg, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = alg->algorithm_names; p; p = strchr(p, ':')) {
		if (*p == ':')
			p++;
		if (strncasecmp(p, name, n) == 0 && (p[n] == '\0' || p[n] == ':'))
			return true;
	}
	return false;
}

/* The dispatch table of @name for @operation in @prov, or NULL. */
static const OSSL_DISPATCH *find_impl(const OSSL_PROVIDER *prov, int operation, const char *name)
{
	int no_cache = 0;
	const OSSL_ALGORITHM *alg = OSSL_PROVIDER_query_operation(prov, operation, &no_cache);

	for (; alg && alg->algorithm_names; alg++) {
		if (has_name(alg, name))
			return alg->implementation;
	}
	return NULL;
}

static void take_cipher_fns(const OSSL_DISPATCH *d)
{
	for (; d && d->function_id; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_CIPHER_NEWCTX:
			dp.cipher_new = OSSL_FUNC_cipher_newctx(d);
			break;
		case OSSL_FUNC_CIPHER_FREECTX:
			dp.cipher_free = OSSL_FUNC_cipher_freectx(d);
			break;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
			dp.cipher_init = OSSL_FUNC_cipher_encrypt_init(d);
			break;
		case OSSL_FUNC_CIPHER_UPDATE:
			dp.cipher_update = OSSL_FUNC_cipher_update(d);
			break;
		default:
			break;
		}
	}
}

static void take_mac_fns(const OSSL_DISPATCH *d)
{
	for (; d && d->function_id; d++) {
		switch (d->function_id) {
		case OSSL_FUNC_MAC_NEWCTX:
			dp.mac_new = OSSL_FUNC_mac_newctx(d);
			break;
		case OSSL_FUNC_MAC_FREECTX:
			dp.mac_free = OSSL_FUNC_mac_freectx(d);
			break;
		case OSSL_FUNC_MAC_INIT:
			dp.mac_init = OSSL_FUNC_mac_init(d);
			break;
		case OSSL_FUNC_MAC_UPDATE:
			dp.mac_update = OSSL_FUNC_mac_update(d);
			break;
		case OSSL_FUNC_MAC_FINAL:
			dp.mac_final = OSSL_FUNC_mac_final(d);
			break;
		default:
			break;
		}
	}
}

int tapir_aead_init(void)
{
	const OSSL_PROVIDER *chacha_prov, *poly_prov;

	detect_vector_state();
	dp.chacha = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	dp.poly = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	if (!dp.chacha || !dp.poly || EVP_CIPHER_get_iv_length(dp.chacha) != CHACHA_IV_BYTES)
		goto err;
	chacha_prov = EVP_CIPHER_get0_provider(dp.chacha);
	poly_prov = EVP_MAC_get0_provider(dp.poly);
	take_cipher_fns(find_impl(chacha_prov, OSSL_OP_CIPHER, "ChaCha20"));
	take_mac_fns(find_impl(poly_prov, OSSL_OP_MAC, "POLY1305"));
	dp.chacha_provctx = OSSL_PROVIDER_get0_provider_ctx(chacha_prov);
	dp.poly_provctx = OSSL_PROVIDER_get0_provider_ctx(poly_prov);
	if (!dp.cipher_new || !dp.cipher_free || !dp.cipher_init || !dp.cipher_update ||
	    !dp.mac_new || !dp.mac_free || !dp.mac_init || !dp.mac_update || !dp.mac_final)
		goto err;
	return 0;

err:
	EVP_CIPHER_free(dp.chacha);
	EVP_MAC_free(dp.poly);
	memset(&dp, 0, sizeof(dp));
	return -EIO;
}

struct tapir_aead_ctx *tapir_aead_ctx_new(const uint8_t key[32], bool is_seal)
{
	static const uint8_t zero_iv[CHACHA_IV_BYTES];
	struct tapir_aead_ctx *ctx;

	if (!dp.cipher_new)
		return NULL; /* tapir_crypto_init() failed or was not called */
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->is_seal = is_seal;
	ctx->chacha = dp.cipher_new(dp.chacha_provctx);
	ctx->poly = dp.mac_new(dp.poly_provctx);
	/* Key only: each packet then sets just the counter and nonce. */
	if (!ctx->chacha || !ctx->poly ||
	    !dp.cipher_init(ctx->chacha, key, TAPIR_KEY_LEN, zero_iv, sizeof(zero_iv), NULL)) {
		tapir_aead_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

void tapir_aead_ctx_free(struct tapir_aead_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->chacha)
		dp.cipher_free(ctx->chacha);
	if (ctx->poly)
		dp.mac_free(ctx->poly);
	free(ctx);
}

/*
 * ChaCha20 over @in into @out (@span bytes, whole blocks; the same buffer or apart), block
 * counter 0, nonce 0^4 || le64(counter).
 */
static bool stream_to(struct tapir_aead_ctx *ctx, uint64_t counter, const uint8_t *in, uint8_t *out,
		      size_t span)
{
	uint8_t iv[CHACHA_IV_BYTES] = {0};
	size_t outl = 0;

	for (int i = 0; i < 8; i++)
		iv[8 + i] = (uint8_t)(counter >> (8 * i));
	return dp.cipher_init(ctx->chacha, NULL, 0, iv, sizeof(iv), NULL) &&
	       dp.cipher_update(ctx->chacha, out, &outl, span, in, span) && outl == span;
}

/* ChaCha20 in place over @s. */
static bool stream(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *s, size_t span)
{
	return stream_to(ctx, counter, s, s, span);
}

/* Poly1305 under @key over @text, its padding and the lengths (empty AD) into @tag. */
static bool authenticate(struct tapir_aead_ctx *ctx, const uint8_t key[POLY_KEY_BYTES],
			 const uint8_t *text, size_t len, uint8_t tag[TAPIR_AEAD_TAG_LEN])
{
	uint8_t tail[2 * POLY_BLOCK_BYTES] = {0};
	size_t pad = (POLY_BLOCK_BYTES - len % POLY_BLOCK_BYTES) % POLY_BLOCK_BYTES, outl = 0;

	/* tail = zero padding || le64(AD length = 0) || le64(len) */
	for (int i = 0; i < 8; i++)
		tail[pad + 8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	return dp.mac_init(ctx->poly, key, POLY_KEY_BYTES, NULL) &&
	       (len == 0 || dp.mac_update(ctx->poly, text, len)) &&
	       dp.mac_update(ctx->poly, tail, pad + 2 * 8) &&
	       dp.mac_final(ctx->poly, tag, &outl, TAPIR_AEAD_TAG_LEN) &&
	       outl == TAPIR_AEAD_TAG_LEN;
}

static size_t span_of(size_t len)
{
	return CHACHA_BLOCK_BYTES +
	       (len + CHACHA_BLOCK_BYTES - 1) / CHACHA_BLOCK_BYTES * CHACHA_BLOCK_BYTES;
}

int tapir_aead_ctx_seal(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t *s = scratch, *text = scratch + CHACHA_BLOCK_BYTES;
	bool is_ok;

	if (!ctx->is_seal || len > TAPIR_AEAD_CTX_MAX_BYTES)
		return -EINVAL;
	memset(s, 0, CHACHA_BLOCK_BYTES);
	memcpy(text, buf, len);
	is_ok = stream(ctx, counter, s, span_of(len)) && authenticate(ctx, s, text, len, buf + len);
	if (is_ok)
		memcpy(buf, text, len);
	else /* the caller must drop it, not send it */
		tapir_wipe(buf, len + TAPIR_AEAD_TAG_LEN);
	tapir_wipe(s, CHACHA_BLOCK_BYTES);
	end_vector_state();
	return is_ok ? 0 : -EIO;
}

bool tapir_aead_ctx_open(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t *s = scratch, *text = scratch + CHACHA_BLOCK_BYTES;
	uint8_t tag[TAPIR_AEAD_TAG_LEN];
	bool is_ok;

	if (ctx->is_seal || len < TAPIR_AEAD_TAG_LEN ||
	    len - TAPIR_AEAD_TAG_LEN > TAPIR_AEAD_CTX_MAX_BYTES)
		return false;
	len -= TAPIR_AEAD_TAG_LEN;
	memset(s, 0, CHACHA_BLOCK_BYTES);
	memcpy(text, buf, len);
	/* The tag is computed over the caller's ciphertext, which is still untouched. */
	is_ok = stream(ctx, counter, s, span_of(len)) && authenticate(ctx, s, buf, len, tag) &&
		CRYPTO_memcmp(tag, buf + len, sizeof(tag)) == 0;
	if (is_ok) {
		memcpy(buf, text, len);
		tapir_wipe(s, CHACHA_BLOCK_BYTES);
	} else {
		tapir_wipe(buf, len);
		tapir_wipe(s, CHACHA_BLOCK_BYTES + len);
	}
	end_vector_state();
	return is_ok;
}

/*
 * In place, no scratch copy: block 0 is generated in the TAPIR_AEAD_CTX_HEADROOM bytes before
 * @buf, so that one ChaCha20 call still covers [key block | text rounded up to whole blocks];
 * those bytes are saved first and put back after, which also wipes the one-time key. The
 * rounding spills at most 63 bytes of keystream-XORed junk past the text, into the tailroom:
 * the tag goes over its first 16 and the rest is zeroed.
 */
int tapir_aead_ctx_seal_inplace(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
				size_t len)
{
	uint8_t saved[CHACHA_BLOCK_BYTES], *s = buf - CHACHA_BLOCK_BYTES;
	size_t span = span_of(len), spill = span - CHACHA_BLOCK_BYTES - len;
	bool is_ok;

	if (!ctx->is_seal || len > TAPIR_AEAD_CTX_MAX_BYTES)
		return -EINVAL;
	memcpy(saved, s, sizeof(saved));
	memset(s, 0, CHACHA_BLOCK_BYTES);
	is_ok = stream(ctx, counter, s, span) && authenticate(ctx, s, buf, len, buf + len);
	if (spill > TAPIR_AEAD_TAG_LEN)
		memset(buf + len + TAPIR_AEAD_TAG_LEN, 0, spill - TAPIR_AEAD_TAG_LEN);
	if (!is_ok) /* the caller must drop it, not send it */
		tapir_wipe(buf, len + TAPIR_AEAD_TAG_LEN);
	memcpy(s, saved, sizeof(saved));
	end_vector_state();
	return is_ok ? 0 : -EIO;
}

/*
 * Open cannot share the seal's single pass: Poly1305 must see the ciphertext, and its key is
 * block 0, so block 0 comes first (one short ChaCha20 call into a local block), then the tag
 * is checked against the untouched ciphertext, and only then does the same stream, now at
 * block 1, decrypt the text in place, rounded up to whole blocks: the at most 63 bytes it
 * spills past the text (the tag, then whatever follows) are saved first and put back after.
 * @len is the text's, without the tag.
 */
static bool open_two_pass(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len)
{
	uint8_t block[CHACHA_BLOCK_BYTES] = {0}, saved[CHACHA_BLOCK_BYTES];
	uint8_t tag[TAPIR_AEAD_TAG_LEN];
	size_t span = span_of(len) - CHACHA_BLOCK_BYTES, outl = 0;
	bool is_ok;

	is_ok = stream(ctx, counter, block, sizeof(block)) &&
		authenticate(ctx, block, buf, len, tag) &&
		CRYPTO_memcmp(tag, buf + len, sizeof(tag)) == 0;
	/* verified: the stream goes on at block 1 */
	if (is_ok && span) {
		memcpy(saved, buf + len, span - len);
		is_ok = dp.cipher_update(ctx->chacha, buf, &outl, span, buf, span) && outl == span;
		memcpy(buf + len, saved, span - len);
	}
	if (!is_ok)
		tapir_wipe(buf, len);
	tapir_wipe(block, sizeof(block));
	end_vector_state();
	return is_ok;
}

/*
 * Below OPEN_INPLACE_MIN_BYTES: still one ChaCha20 call, but out of place. Its input is [64
 * zero bytes in the headroom before @buf (saved and put back) | the ciphertext, rounded up to
 * whole blocks (read only: the tag and tailroom after it)], its output the scratch buffer:
 * block 0 becomes the Poly1305 key, the rest the plaintext. Returns the plaintext in the
 * scratch buffer once the tag has verified, else NULL with @buf's text zeroed. @len is the
 * text's, without the tag.
 */
static const uint8_t *open_to_scratch(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
				      size_t len)
{
	uint8_t saved[CHACHA_BLOCK_BYTES], *in = buf - CHACHA_BLOCK_BYTES;
	uint8_t *s = scratch, *text = scratch + CHACHA_BLOCK_BYTES;
	uint8_t tag[TAPIR_AEAD_TAG_LEN];
	bool is_ok;

	memcpy(saved, in, sizeof(saved));
	memset(in, 0, CHACHA_BLOCK_BYTES);
	is_ok = stream_to(ctx, counter, in, s, span_of(len)) &&
		authenticate(ctx, s, buf, len, tag) &&
		CRYPTO_memcmp(tag, buf + len, sizeof(tag)) == 0;
	memcpy(in, saved, sizeof(saved));
	if (is_ok) {
		tapir_wipe(s, CHACHA_BLOCK_BYTES);
	} else {
		tapir_wipe(buf, len);
		tapir_wipe(s, CHACHA_BLOCK_BYTES + len);
	}
	end_vector_state();
	return is_ok ? text : NULL;
}

const uint8_t *tapir_aead_ctx_open_view(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
					size_t len)
{
	if (ctx->is_seal || len < TAPIR_AEAD_TAG_LEN ||
	    len - TAPIR_AEAD_TAG_LEN > TAPIR_AEAD_CTX_MAX_BYTES)
		return NULL;
	len -= TAPIR_AEAD_TAG_LEN;
	if (len < OPEN_INPLACE_MIN_BYTES)
		return open_to_scratch(ctx, counter, buf, len);
	return open_two_pass(ctx, counter, buf, len) ? buf : NULL;
}

bool tapir_aead_ctx_open_inplace(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
				 size_t len)
{
	const uint8_t *text = tapir_aead_ctx_open_view(ctx, counter, buf, len);

	if (text && text != buf)
		memcpy(buf, text, len - TAPIR_AEAD_TAG_LEN); /* one copy instead of two */
	return text != NULL;
}
