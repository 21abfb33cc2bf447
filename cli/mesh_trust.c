// SPDX-License-Identifier: MIT
/*
 * tapir mesh host certificates (doc/mesh-design.md section 8): the network's admin signs, with
 * Ed25519 (libsodium), the binding of one WireGuard public key to one subnet of one network
 * until an expiry. An agent given the admin's public key ignores every record whose
 * certificate does not verify, so write access to etcd alone cannot add a peer or take a
 * subnet.
 *
 * Signed message: "tapir-mesh-cert-v1" | u8 name length | network name | WireGuard public key
 * (32) | subnet address (4, big endian) | subnet length (1) | not-after (u64 seconds since the
 * epoch, big endian). The certificate is base64 of: version (1) | subnet address (4) | subnet
 * length (1) | not-after (8) | signature (64); the name and the key come from the record, so a
 * certificate moved to another key or network does not verify. Version 2 adds the revocation
 * list's serial at signing time (u64, big endian) after not-after, in both the certificate and
 * the signed message, whose domain is then "tapir-mesh-cert-v2": a serial cannot be added to,
 * removed from or changed in a certificate without the admin key. A version 1 certificate
 * still verifies, with serial 0; sign writes version 1 when the serial is 0, so that agents
 * that predate version 2 keep reading the certificates of networks without revocations.
 *
 * Revocations (section 8): the admin withdraws one WireGuard public key from one network.
 * Signed message: "tapir-mesh-revoke-v1" | u8 name length | network name | WireGuard public key
 * (32) | revoked-at (u64 seconds, big endian). Stored as base64 of: version (1) | public key (32)
 * | revoked-at (8) | signature (64). The key is in the signed bytes, so a revocation copied to
 * another key's name or another network does not verify; replaying one only repeats it.
 *
 * Pure functions but for the clock the caller passes in; no I/O.
 */
#include "mesh.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

static const char CERT_DOMAIN[] = "tapir-mesh-cert-v1";
static const char CERT_DOMAIN_V2[] = "tapir-mesh-cert-v2";
static const char REVOKE_DOMAIN[] = "tapir-mesh-revoke-v1";

enum {
	CERT_VERSION = 1,
	CERT_BYTES = 1 + 4 + 1 + 8 + crypto_sign_BYTES,
	CERT_VERSION_2 = 2,
	CERT_BYTES_2 = CERT_BYTES + 8, /* the revocation list's serial */
	MESSAGE_MAX = sizeof(CERT_DOMAIN_V2) + 1 + TAPIR_MESH_NAME_MAX + 32 + 4 + 1 + 8 + 8,
	REVOKE_VERSION = 1,
	REVOKE_BYTES = 1 + 32 + 8 + crypto_sign_BYTES,
	REVOKE_MESSAGE_MAX = sizeof(REVOKE_DOMAIN) + 1 + TAPIR_MESH_NAME_MAX + 32 + 8,
};

_Static_assert(TAPIR_MESH_CERT_TEXT >= (CERT_BYTES_2 + 2) / 3 * 4 + 1, "certificate text size");
_Static_assert(sizeof(CERT_DOMAIN) == sizeof(CERT_DOMAIN_V2), "one domain length");
_Static_assert(TAPIR_MESH_REVOCATION_TEXT >= (REVOKE_BYTES + 2) / 3 * 4 + 1,
	       "revocation text size");

void tapir_mesh_put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

uint64_t tapir_mesh_get_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

size_t tapir_mesh_key_find(const void *base, size_t n, size_t stride, const uint8_t key[32],
			   bool *is_found)
{
	const uint8_t *b = base;
	size_t lo = 0, hi = n;

	*is_found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(b + mid * stride, key, 32);

		if (c == 0) {
			*is_found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The signed bytes; a certificate with a serial is version 2 and signs it too. */
static size_t message(uint8_t out[MESSAGE_MAX], const char *network, const uint8_t key[32],
		      const struct tapir_mesh_cert *c)
{
	size_t name_len = strnlen(network, TAPIR_MESH_NAME_MAX - 1), n = 0;

	memcpy(out, c->revlist_serial ? CERT_DOMAIN_V2 : CERT_DOMAIN, sizeof(CERT_DOMAIN) - 1);
	n += sizeof(CERT_DOMAIN) - 1;
	out[n++] = (uint8_t)name_len;
	memcpy(out + n, network, name_len);
	n += name_len;
	memcpy(out + n, key, 32);
	n += 32;
	tapir_mesh_put_be(out + n, c->subnet_addr, 4);
	n += 4;
	out[n++] = c->subnet_len;
	tapir_mesh_put_be(out + n, c->not_after, 8);
	n += 8;
	if (c->revlist_serial) {
		tapir_mesh_put_be(out + n, c->revlist_serial, 8);
		n += 8;
	}
	return n;
}

int tapir_mesh_cert_sign(char out[TAPIR_MESH_CERT_TEXT], const uint8_t admin_sk[64],
			 const char *network, const uint8_t key[32],
			 const struct tapir_mesh_cert *c)
{
	uint8_t msg[MESSAGE_MAX], cert[CERT_BYTES_2];
	size_t len = message(msg, network, key, c), n = 14;

	cert[0] = c->revlist_serial ? CERT_VERSION_2 : CERT_VERSION;
	tapir_mesh_put_be(cert + 1, c->subnet_addr, 4);
	cert[5] = c->subnet_len;
	tapir_mesh_put_be(cert + 6, c->not_after, 8);
	if (c->revlist_serial) {
		tapir_mesh_put_be(cert + 14, c->revlist_serial, 8);
		n += 8;
	}
	if (crypto_sign_detached(cert + n, NULL, msg, len, admin_sk))
		return -EINVAL;
	sodium_bin2base64(out, TAPIR_MESH_CERT_TEXT, cert, n + crypto_sign_BYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int tapir_mesh_cert_decode(const char *text, struct tapir_mesh_cert *c, uint8_t sig[64])
{
	uint8_t cert[CERT_BYTES_2 + 1];
	size_t len = 0, n = 14;

	if (strlen(text) >= TAPIR_MESH_CERT_TEXT ||
	    sodium_base642bin(cert, sizeof(cert), text, strlen(text), NULL, &len, NULL,
			      sodium_base64_VARIANT_ORIGINAL))
		return -EINVAL;
	if (!(len == CERT_BYTES && cert[0] == CERT_VERSION) &&
	    !(len == CERT_BYTES_2 && cert[0] == CERT_VERSION_2))
		return -EINVAL;
	c->subnet_addr = (uint32_t)tapir_mesh_get_be(cert + 1, 4);
	c->subnet_len = cert[5];
	c->not_after = tapir_mesh_get_be(cert + 6, 8);
	c->revlist_serial = 0;
	if (cert[0] == CERT_VERSION_2) {
		c->revlist_serial = tapir_mesh_get_be(cert + 14, 8);
		n += 8;
		/* 0 is written as version 1: one certificate, one encoding */
		if (!c->revlist_serial)
			return -EINVAL;
	}
	if (sig)
		memcpy(sig, cert + n, crypto_sign_BYTES);
	return 0;
}

int tapir_mesh_cert_verify(const char *text, const uint8_t admin_pk[32], const char *network,
			   const uint8_t key[32], uint32_t subnet_addr, uint8_t subnet_len,
			   uint64_t now, const char **why)
{
	uint8_t msg[MESSAGE_MAX], sig[crypto_sign_BYTES];
	struct tapir_mesh_cert c;
	size_t len;

	if (!text || !text[0]) {
		*why = "no certificate";
		return -EACCES;
	}
	if (tapir_mesh_cert_decode(text, &c, sig) < 0) {
		*why = "the certificate is malformed";
		return -EACCES;
	}
	len = message(msg, network, key, &c);
	if (crypto_sign_verify_detached(sig, msg, len, admin_pk)) {
		*why = "the certificate's signature does not verify";
		return -EACCES;
	}
	if (c.subnet_addr != subnet_addr || c.subnet_len != subnet_len) {
		*why = "the certificate is for another subnet";
		return -EACCES;
	}
	if (c.not_after < now) {
		*why = "the certificate has expired";
		return -EKEYEXPIRED;
	}
	return 0;
}

/* ---------------------------------------------------------------- revocations */

static size_t revoke_message(uint8_t out[REVOKE_MESSAGE_MAX], const char *network,
			     const struct tapir_mesh_revocation *rv)
{
	size_t name_len = strnlen(network, TAPIR_MESH_NAME_MAX - 1), n = 0;

	memcpy(out, REVOKE_DOMAIN, sizeof(REVOKE_DOMAIN) - 1);
	n += sizeof(REVOKE_DOMAIN) - 1;
	out[n++] = (uint8_t)name_len;
	memcpy(out + n, network, name_len);
	n += name_len;
	memcpy(out + n, rv->public_key, 32);
	n += 32;
	tapir_mesh_put_be(out + n, rv->revoked_at, 8);
	return n + 8;
}

int tapir_mesh_revocation_sign(char out[TAPIR_MESH_REVOCATION_TEXT], const uint8_t admin_sk[64],
			       const char *network, const uint8_t key[32], uint64_t revoked_at)
{
	struct tapir_mesh_revocation rv = {.revoked_at = revoked_at};
	uint8_t msg[REVOKE_MESSAGE_MAX], bin[REVOKE_BYTES];
	size_t len;

	memcpy(rv.public_key, key, 32);
	len = revoke_message(msg, network, &rv);
	bin[0] = REVOKE_VERSION;
	memcpy(bin + 1, key, 32);
	tapir_mesh_put_be(bin + 33, revoked_at, 8);
	if (crypto_sign_detached(bin + 41, NULL, msg, len, admin_sk))
		return -EINVAL;
	sodium_bin2base64(out, TAPIR_MESH_REVOCATION_TEXT, bin, sizeof(bin),
			  sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

int tapir_mesh_revocation_decode(const char *text, size_t len, struct tapir_mesh_revocation *rv,
				 uint8_t sig[64])
{
	uint8_t bin[REVOKE_BYTES + 1];
	size_t bin_len = 0;

	/* exactly the base64 of REVOKE_BYTES: anything longer is refused before decoding */
	if (len != (REVOKE_BYTES + 2) / 3 * 4 ||
	    sodium_base642bin(bin, sizeof(bin), text, len, NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) ||
	    bin_len != REVOKE_BYTES || bin[0] != REVOKE_VERSION)
		return -EINVAL;
	memcpy(rv->public_key, bin + 1, 32);
	rv->revoked_at = tapir_mesh_get_be(bin + 33, 8);
	memcpy(sig, bin + 41, crypto_sign_BYTES);
	return 0;
}

int tapir_mesh_revocation_verify(const char *text, size_t len, const uint8_t admin_pk[32],
				 const char *network, struct tapir_mesh_revocation *rv,
				 const char **why)
{
	uint8_t msg[REVOKE_MESSAGE_MAX], sig[crypto_sign_BYTES];
	size_t msg_len;

	if (tapir_mesh_revocation_decode(text, len, rv, sig) < 0) {
		*why = "the revocation is malformed";
		return -EACCES;
	}
	msg_len = revoke_message(msg, network, rv);
	if (crypto_sign_verify_detached(sig, msg, msg_len, admin_pk)) {
		*why = "the revocation's signature does not verify";
		return -EACCES;
	}
	return 0;
}
