/* SPDX-License-Identifier: MIT */
/*
 * The WireGuard primitives (wireguard-protocol.md section 1) on top of OpenSSL 3 and libsodium.
 * Nothing here is hand-written cryptography: BLAKE2s, keyed BLAKE2s, HMAC and ChaCha20-Poly1305
 * come from OpenSSL (the data-plane AEAD is composed from its ChaCha20 and Poly1305 in
 * aead.c, measured fastest in bench/aead.c), X25519, HChaCha20 /
 * XChaCha20-Poly1305 and the RNG from libsodium. No I/O besides the RNG.
 */
#ifndef TAPIR_CRYPTO_H
#define TAPIR_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	TAPIR_KEY_LEN = 32,
	TAPIR_HASH_LEN = 32,
	TAPIR_MAC_LEN = 16,
	TAPIR_AEAD_TAG_LEN = 16,
	TAPIR_XAEAD_NONCE_LEN = 24,
};

/* Once per process, before any other call (and before threads start). Returns 0 or -EIO. */
int tapir_crypto_init(void);

/* HASH(a || b): unkeyed BLAKE2s-256. @b may be NULL when @blen is 0. */
void tapir_hash(uint8_t out[TAPIR_HASH_LEN], const uint8_t *a, size_t alen, const uint8_t *b,
		size_t blen);
/* MAC(key, in): keyed BLAKE2s with digest length 16; @keylen is 16 or 32. */
void tapir_mac(uint8_t out[TAPIR_MAC_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
	       size_t inlen);
/* HMAC-BLAKE2s-256 (block size 64). */
void tapir_hmac(uint8_t out[TAPIR_HASH_LEN], const uint8_t *key, size_t keylen, const uint8_t *in,
		size_t inlen);
/* KDF1/2/3(key, in) of section 1.5: @t2 and @t3 may be NULL for KDF1/KDF2. */
void tapir_kdf(uint8_t t1[32], uint8_t *t2, uint8_t *t3, const uint8_t key[32], const uint8_t *in,
	       size_t inlen);

/* AEAD(key, counter, src, ad): writes len + 16 bytes to @dst (may equal @src). */
void tapir_aead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     uint64_t counter, const uint8_t key[32]);
/* Opens @len bytes of ciphertext+tag (len >= 16) into @dst (len - 16 bytes). False if forged. */
bool tapir_aead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		     uint64_t counter, const uint8_t key[32]);
/* XAEAD with a 24-byte nonce (cookie replies). Same conventions as above. */
void tapir_xaead_seal(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce[24], const uint8_t key[32]);
bool tapir_xaead_open(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce[24], const uint8_t key[32]);

/* aead.c: the data-plane AEAD */

/*
 * Data-plane AEAD context (ChaCha20-Poly1305 with empty AD, bit-identical to tapir_aead_seal
 * with no AD): the key is set once when the keypair is derived; each packet costs only a
 * nonce and a length. One context per (keypair, direction, thread): not thread-safe.
 */
struct tapir_aead_ctx;
enum {
	TAPIR_AEAD_CTX_MAX_BYTES = 65536, /* longest text a context seals or opens */
};
/* Resolves OpenSSL's ChaCha20 and Poly1305 once; called by tapir_crypto_init(). 0 or -EIO. */
int tapir_aead_init(void);
/* Returns NULL on allocation failure. @is_seal selects encryption or decryption. */
struct tapir_aead_ctx *tapir_aead_ctx_new(const uint8_t key[32], bool is_seal);
void tapir_aead_ctx_free(struct tapir_aead_ctx *ctx);
/* Seals @len (<= TAPIR_AEAD_CTX_MAX_BYTES) bytes at @buf in place and appends the 16-byte tag
 * at buf + len. Returns 0, or -EINVAL (too long, or an open context) or -EIO. */
int tapir_aead_ctx_seal(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len);
/* Opens @len bytes (ciphertext + tag, len >= 16) in place; false if forged (then @buf's
 * text is zeroed) or too long. */
bool tapir_aead_ctx_open(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf, size_t len);
/*
 * The same for packet buffers, without the scratch copies where that is faster (aead.c says
 * when). Seal needs TAPIR_AEAD_CTX_HEADROOM bytes before @buf (work space, put back) and
 * TAPIR_AEAD_CTX_TAILROOM after buf + len (the tag, then zeros up to the next 64-byte block).
 * Open may use the TAPIR_AEAD_CTX_HEADROOM bytes before @buf and the TAPIR_AEAD_CTX_TAILROOM
 * bytes after buf + len as work space (put back), checks the tag before it decrypts, and
 * zeroes a forged @buf's text. Results, return values
 * and refusals are those of tapir_aead_ctx_seal/open.
 */
enum {
	TAPIR_AEAD_CTX_HEADROOM = 64,
	TAPIR_AEAD_CTX_TAILROOM = 64,
};
int tapir_aead_ctx_seal_inplace(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
				size_t len);
bool tapir_aead_ctx_open_inplace(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
				 size_t len);
/*
 * tapir_aead_ctx_open_inplace without the last copy: returns where the plaintext is, @buf
 * itself (opened in place, from 4 KiB) or this thread's scratch buffer (@buf's ciphertext is
 * then left as it was), or NULL if it does not open (@buf's text zeroed). A pointer into the
 * scratch buffer is valid until the thread's next tapir_aead_ctx_* call other than
 * tapir_aead_ctx_seal_inplace, the one that leaves the scratch buffer alone.
 */
const uint8_t *tapir_aead_ctx_open_view(struct tapir_aead_ctx *ctx, uint64_t counter, uint8_t *buf,
					size_t len);

/* DH(priv, pub): false when the result is all zero (low-order point); @out is then zeroed. */
bool tapir_x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t pub[32]);
/* DH_PUBKEY(priv) (clamps a copy of @priv first). */
void tapir_x25519_public(uint8_t pub[32], const uint8_t priv[32]);
/* DH_GENERATE(): 32 random bytes, clamped. */
void tapir_x25519_generate(uint8_t priv[32]);
void tapir_x25519_clamp(uint8_t key[32]);

void tapir_random_bytes(void *buf, size_t len);
uint32_t tapir_random_u32(void);
/* explicit_bzero wrapper that the compiler cannot drop. */
void tapir_wipe(void *buf, size_t len);

#endif
