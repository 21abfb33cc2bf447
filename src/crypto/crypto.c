// SPDX-License-Identifier: MIT
/*
 * The WireGuard primitives of wireguard-protocol.md section 1, as thin wrappers: BLAKE2s-256,
 * keyed BLAKE2s (digest length 16) and ChaCha20-Poly1305 come from OpenSSL 3; HMAC-BLAKE2s and
 * the HKDF-style KDF are built here from the hash (section 1.5); X25519, XChaCha20-Poly1305 and
 * the RNG come from libsodium. No primitive is implemented here, and nothing here does I/O
 * besides the RNG.
 *
 * The OpenSSL algorithm objects are fetched once by tapir_crypto_init() and are read-only
 * afterwards, so every thread may use them. The handshake-path functions reuse one lazily
 * created set of OpenSSL contexts per thread instead of allocating per call. The functions that
 * return void cannot report an internal OpenSSL failure (out of memory on a thread's first call);
 * they fail closed instead: the output is filled with random bytes, so any MAC, key or ciphertext
 * derived from it fails to authenticate and no plaintext is left behind.
 */
#include "crypto.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

enum {
	BLAKE2S_BLOCK_LEN = 64,
	AEAD_NONCE_LEN = 12,
	/* OpenSSL takes int lengths: longer inputs are fed in pieces of this size. */
	EVP_CHUNK_MAX_BYTES = 1 << 30,
};

/* Fetched once by tapir_crypto_init() (before threads start), read-only afterwards. */
static EVP_MD *blake2s_md;
static EVP_MAC *blake2s_mac;
static EVP_CIPHER *chacha_cipher;
static pthread_key_t thread_key;
static bool is_initialised;

/* One per thread, created on the thread's first handshake-path call, freed at thread exit. */
struct thread_ctx {
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac;
	EVP_CIPHER_CTX *cipher;
};

static __thread struct thread_ctx *this_thread;

static void thread_ctx_free(void *arg)
{
	struct thread_ctx *t = arg;

	if (!t)
		return;
	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->mac);
	EVP_CIPHER_CTX_free(t->cipher);
	free(t);
}

/* pthread key destructor: runs in the exiting thread. */
static void thread_exit(void *arg)
{
	this_thread = NULL;
	thread_ctx_free(arg);
}

/* Returns this thread's contexts, creating them on first use; NULL when out of memory. */
static struct thread_ctx *get_thread_ctx(void)
{
	struct thread_ctx *t;

	assert(is_initialised);
	if (this_thread)
		return this_thread;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->md = EVP_MD_CTX_new();
	t->mac = EVP_MAC_CTX_new(blake2s_mac);
	t->cipher = EVP_CIPHER_CTX_new();
	/* The key's destructor frees the contexts when the thread exits. */
	if (!t->md || !t->mac || !t->cipher || pthread_setspecific(thread_key, t) != 0) {
		thread_ctx_free(t);
		return NULL;
	}
	this_thread = t;
	return t;
}

int tapir_crypto_init(void)
{
	if (is_initialised)
		return 0;
	if (sodium_init() < 0)
		return -EIO;
	blake2s_md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	blake2s_mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	chacha_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (!blake2s_md || !blake2s_mac || !chacha_cipher)
		goto err_fetch;
	if (EVP_MD_get_size(blake2s_md) != TAPIR_HASH_LEN ||
	    EVP_CIPHER_get_iv_length(chacha_cipher) != AEAD_NONCE_LEN)
		goto err_fetch;
	if (tapir_aead_init() < 0)
		goto err_fetch;
	if (pthread_key_create(&thread_key, thread_exit) != 0)
		goto err_fetch;
	is_initialised = true;
	return 0;

err_fetch:
	EVP_MD_free(blake2s_md);
	EVP_MAC_free(blake2s_mac);
	EVP_CIPHER_free(chacha_cipher);
	blake2s_md = NULL;
	blake2s_mac = NULL;
	chacha_cipher = NULL;
	return -EIO;
}

/* Fail-closed output for the void functions: unpredictable, so nothing built on it verifies. */
static void poison(void *out, size_t len)
{
	randombytes_buf(out, len);
}

static bool digest_update(EVP_MD_CTX *md, const uint8_t *in, size_t len)
{
	return len == 0 || EVP_DigestUpdate(md, in, len) == 1;
}

/* BLAKE2s-256(a || b) on the thread's context; false on an OpenSSL failure. */
static bool hash2(uint8_t out[TAPIR_HASH_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
		  size_t blen)
{
	struct thread_ctx *t = get_thread_ctx();
	unsigned int outlen = 0;

	if (!t || EVP_DigestInit_ex2(t->md, blake2s_md, NULL) != 1)
		return false;
	if (!digest_update(t->md, a, alen) || !digest_update(t->md, b, blen))
		return false;
	return EVP_DigestFinal_ex(t->md, out, &outlen) == 1 && outlen == TAPIR_HASH_LEN;
}

void tapir_hash(uint8_t out[TAPIR_HASH_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
		size_t blen)
{
	if (!hash2(out, a, alen, b, blen))
		poison(out, TAPIR_HASH_LEN);
}

static bool mac16(uint8_t out[TAPIR_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
		  size_t inlen)
{
	struct thread_ctx *t = get_thread_ctx();
	size_t size = TAPIR_MAC_LEN, outlen = 0;
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
	    OSSL_PARAM_construct_end(),
	};

	if (!t || EVP_MAC_init(t->mac, key, keylen, params) != 1)
		return false;
	if (inlen > 0 && EVP_MAC_update(t->mac, in, inlen) != 1)
		return false;
	return EVP_MAC_final(t->mac, out, &outlen, TAPIR_MAC_LEN) == 1 && outlen == TAPIR_MAC_LEN;
}

void tapir_mac(uint8_t out[TAPIR_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
	       size_t inlen)
{
	if (!mac16(out, key, keylen, in, inlen))
		poison(out, TAPIR_MAC_LEN);
}

/* RFC 2104 over BLAKE2s-256: HASH((K' ^ opad) || HASH((K' ^ ipad) || in)). */
void tapir_hmac(uint8_t out[TAPIR_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
		size_t inlen)
{
	uint8_t pad[BLAKE2S_BLOCK_LEN] = {0};
	uint8_t inner[TAPIR_HASH_LEN];
	bool is_ok = true;
	size_t i;

	/* K': keys longer than a block are hashed first (never the case in WireGuard). */
	if (keylen > BLAKE2S_BLOCK_LEN)
		is_ok = hash2(pad, key, keylen, NULL, 0);
	else if (keylen > 0)
		memcpy(pad, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	is_ok = is_ok && hash2(inner, pad, sizeof(pad), in, inlen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	/* @out is written last, so it may alias @key or @in. */
	is_ok = is_ok && hash2(out, pad, sizeof(pad), inner, sizeof(inner));
	if (!is_ok)
		poison(out, TAPIR_HASH_LEN);
	tapir_wipe(pad, sizeof(pad));
	tapir_wipe(inner, sizeof(inner));
}

/*
 * Section 1.5: PRK = HMAC(key, in); T1 = HMAC(PRK, 0x01); Ti = HMAC(PRK, Ti-1 || i). Everything
 * is computed before any output is written, because callers pass the chaining key as both @key
 * and @t1.
 */
void tapir_kdf(uint8_t t1[32], uint8_t *t2, uint8_t *t3, const uint8_t key[32], const uint8_t *in,
	       size_t inlen)
{
	uint8_t prk[TAPIR_HASH_LEN];
	uint8_t t[3][TAPIR_HASH_LEN];
	uint8_t msg[TAPIR_HASH_LEN + 1];
	int i, n = t3 ? 3 : t2 ? 2 : 1;

	tapir_hmac(prk, key, TAPIR_KEY_LEN, in, inlen);
	msg[0] = 1;
	tapir_hmac(t[0], prk, sizeof(prk), msg, 1);
	for (i = 1; i < n; i++) {
		memcpy(msg, t[i - 1], TAPIR_HASH_LEN);
		msg[TAPIR_HASH_LEN] = (uint8_t)(i + 1);
		tapir_hmac(t[i], prk, sizeof(prk), msg, sizeof(msg));
	}
	memcpy(t1, t[0], TAPIR_HASH_LEN);
	if (t2)
		memcpy(t2, t[1], TAPIR_HASH_LEN);
	if (t3)
		memcpy(t3, t[2], TAPIR_HASH_LEN);
	tapir_wipe(prk, sizeof(prk));
	tapir_wipe(t, sizeof(t));
	tapir_wipe(msg, sizeof(msg));
}

/* Section 1.3: 00 00 00 00 || LE64(counter). */
static void make_nonce(uint8_t nonce[AEAD_NONCE_LEN], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* Feeds @len bytes (AAD when @out is NULL) in pieces OpenSSL's int lengths can express. */
static bool cipher_update(EVP_CIPHER_CTX *evp, uint8_t *out, const uint8_t *in, size_t len)
{
	while (len > 0) {
		int chunk = len > EVP_CHUNK_MAX_BYTES ? EVP_CHUNK_MAX_BYTES : (int)len;
		int outl = 0;

		if (EVP_CipherUpdate(evp, out, &outl, in, chunk) != 1)
			return false;
		if (out) {
			if (outl != chunk)
				return false;
			out += chunk;
		}
		in += chunk;
		len -= (size_t)chunk;
	}
	return true;
}

/* Encrypts @len bytes after the nonce has been set; the tag goes to dst + len. */
static bool evp_seal(EVP_CIPHER_CTX *evp, uint8_t *dst, const uint8_t *src, size_t len,
		     const uint8_t *ad, size_t adlen)
{
	int outl = 0;

	if (!cipher_update(evp, NULL, ad, adlen) || !cipher_update(evp, dst, src, len))
		return false;
	if (EVP_CipherFinal_ex(evp, dst + len, &outl) != 1 || outl != 0)
		return false;
	return EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_GET_TAG, TAPIR_AEAD_TAG_LEN, dst + len) == 1;
}

/* Decrypts @len bytes after the nonce has been set; false if the tag does not verify. */
static bool evp_open(EVP_CIPHER_CTX *evp, uint8_t *dst, const uint8_t *src, size_t len,
		     const uint8_t *ad, size_t adlen, uint8_t tag[TAPIR_AEAD_TAG_LEN])
{
	uint8_t tail[TAPIR_AEAD_TAG_LEN];
	int outl = 0;

	if (EVP_CIPHER_CTX_ctrl(evp, EVP_CTRL_AEAD_SET_TAG, TAPIR_AEAD_TAG_LEN, tag) != 1)
		return false;
	if (!cipher_update(evp, NULL, ad, adlen) || !cipher_update(evp, dst, src, len))
		return false;
	/* Final compares the tag (in constant time) and writes nothing; failure means forged. */
	return EVP_CipherFinal_ex(evp, tail, &outl) == 1 && outl == 0;
}

/* The handshake's keys must not outlive the call inside the cached context: overwrite them. */
static void forget_key(EVP_CIPHER_CTX *evp)
{
	static const uint8_t zero_key[TAPIR_KEY_LEN];

	EVP_CipherInit_ex2(evp, NULL, zero_key, NULL, -1, NULL);
}

void tapir_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     uint64_t counter, const uint8_t key[32])
{
	struct thread_ctx *t = get_thread_ctx();
	uint8_t nonce[AEAD_NONCE_LEN];

	make_nonce(nonce, counter);
	if (!t || EVP_CipherInit_ex2(t->cipher, chacha_cipher, key, nonce, 1, NULL) != 1 ||
	    !evp_seal(t->cipher, dst, src, len, ad, adlen))
		poison(dst, len + TAPIR_AEAD_TAG_LEN);
	if (t)
		forget_key(t->cipher);
}

bool tapir_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     uint64_t counter, const uint8_t key[32])
{
	struct thread_ctx *t = get_thread_ctx();
	uint8_t nonce[AEAD_NONCE_LEN];
	uint8_t tag[TAPIR_AEAD_TAG_LEN];
	bool is_ok = true;

	if (len < TAPIR_AEAD_TAG_LEN)
		return false;
	len -= TAPIR_AEAD_TAG_LEN;
	/* Copied first: @src is const, and with dst == src the tag sits right after the text. */
	memcpy(tag, src + len, sizeof(tag));
	make_nonce(nonce, counter);
	if (!t || EVP_CipherInit_ex2(t->cipher, chacha_cipher, key, nonce, 0, NULL) != 1 ||
	    !evp_open(t->cipher, dst, src, len, ad, adlen, tag)) {
		/* Never leave unauthenticated plaintext behind. */
		tapir_wipe(dst, len);
		is_ok = false;
	}
	if (t)
		forget_key(t->cipher);
	return is_ok;
}

void tapir_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce[24], const uint8_t key[32])
{
	unsigned long long taglen = 0;

	/* libsodium allows dst == src. */
	if (crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + len, &taglen, src, len,
								ad, adlen, NULL, nonce, key) != 0 ||
	    taglen != TAPIR_AEAD_TAG_LEN)
		poison(dst, len + TAPIR_AEAD_TAG_LEN);
}

bool tapir_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce[24], const uint8_t key[32])
{
	if (len < TAPIR_AEAD_TAG_LEN)
		return false;
	len -= TAPIR_AEAD_TAG_LEN;
	/* libsodium checks the tag first and zeroes @dst when forged, as tapir_aead_open does. */
	return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL, src, len, src + len,
								   ad, adlen, nonce, key) == 0;
}

bool tapir_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32])
{
	/*
	 * libsodium clamps the scalar itself and returns -1 when the result is all zero (and for
	 * the known low-order encodings, which give zero anyway); its output is then unspecified.
	 */
	if (crypto_scalarmult(out, priv, pub) != 0 || sodium_is_zero(out, 32)) {
		tapir_wipe(out, 32);
		return false;
	}
	return true;
}

void tapir_x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	uint8_t k[32];

	memcpy(k, priv, sizeof(k));
	tapir_x25519_clamp(k);
	/* Cannot fail for a clamped scalar; zero is the unusable-key answer if it ever did. */
	if (crypto_scalarmult_base(pub, k) != 0)
		tapir_wipe(pub, 32);
	tapir_wipe(k, sizeof(k));
}

void tapir_x25519_generate(uint8_t priv[32])
{
	randombytes_buf(priv, 32);
	tapir_x25519_clamp(priv);
}

/* RFC 7748 section 5. */
void tapir_x25519_clamp(uint8_t key[32])
{
	key[0] &= 248;
	key[31] &= 127;
	key[31] |= 64;
}

void tapir_random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

uint32_t tapir_random_u32(void)
{
	return randombytes_random();
}

void tapir_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}
