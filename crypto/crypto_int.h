/* crypto/ private API: hashing (OpenSSL libcrypto), BIP-340 Schnorr
 * (libsecp256k1) and the LtHash lattice hash used for the state root.
 * Only crypto/ includes <secp256k1*.h>; nothing from those headers crosses
 * this file. All functions are thread-safe (no shared mutable state after
 * the one-time context set-up, which is guarded by pthread_once; the
 * caches are per thread).
 */
#ifndef PX_CRYPTO_INT_H
#define PX_CRYPTO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "internal/px_assert.h"

/* ---- SHA-256 (FIPS 180-4) ---- */

/** Incremental SHA-256. The state is opaque and lives in the struct (the
 *  caller's stack): nothing is allocated. Not to be copied while active. */
typedef struct px__sha256 {
    void *md;    /* st while active (init to final or discard), else NULL */
    int failed;  /* an update failed; final reports it */
    union {
        uint64_t align;
        unsigned char b[128];
    } st;        /* OpenSSL's SHA256_CTX */
} px__sha256;

/** Returns 0, or -1 when the backend fails (only the tests' failure hook
 *  does so today; then nothing to discard). */
int px__sha256_init(px__sha256 *h);
/** A failure (the backend, never the data) is kept for px__sha256_final. */
void px__sha256_update(px__sha256 *h, const void *data, size_t len);
/** Writes the digest and ends the state. Returns 0, or -1 if the backend
 *  failed in an update or here (out is then unspecified). */
int px__sha256_final(px__sha256 *h, uint8_t out[32]);
/** Ends the state without a digest (error paths). Zeroed state: no-op. */
void px__sha256_discard(px__sha256 *h);

/** One-shot SHA-256. Cannot fail, allocates nothing. */
void px__sha256_once(uint8_t out[32], const void *data, size_t len);

/** BIP-340 tagged hash: SHA-256(SHA-256(tag) || SHA-256(tag) || a || b);
 *  b may be NULL iff blen is 0. Cannot fail, as px__sha256_once. */
void px__tagged_hash(uint8_t out[32], const char *tag, const void *a,
    size_t alen, const void *b, size_t blen);

/* ---- BIP-340 Schnorr over secp256k1 ---- */

/** 1 if sig is a valid BIP-340 signature of the 32-byte msg under the
 *  x-only public key pub, else 0 (bad signature or unparsable key). */
int px__schnorr_verify(const uint8_t sig[64], const uint8_t msg[32],
    const uint8_t pub[32]);

/** px__schnorr_verify keeps the parsed form of the keys it saw last, per
 *  thread: SETS sets of WAYS keys, least recently used out; a key's set
 *  is (pub[0] | pub[1] << 8) % SETS. */
#define PX_SCHNORR_CACHE_SETS 256
#define PX_SCHNORR_CACHE_WAYS 4

/** The calling thread's key cache: lookups that found the key and those
 *  that parsed it (a key that fails to parse counts as a miss and is not
 *  kept). For tests and measurements. */
void px__schnorr_cache_stats(uint64_t *hits, uint64_t *misses);

/** Sign msg (32 bytes) with seckey, no aux randomness (deterministic).
 *  Writes the x-only public key to pub if non-NULL. Returns 0 or -1
 *  (invalid secret key). */
int px__schnorr_sign(uint8_t sig[64], uint8_t pub[32], const uint8_t msg[32],
    const uint8_t seckey[32]);

/** x-only public key of seckey. Returns 0 or -1 (invalid secret key). */
int px__pubkey(uint8_t pub[32], const uint8_t seckey[32]);

/** 1 if seckey is a valid secret key (0 < k < n), else 0. */
int px__seckey_valid(const uint8_t seckey[32]);

/* ---- LtHash: 1024 lanes of u16, sums mod 2^16 (Lewi et al. 2019,
 * "Securing Update Propagation with Homomorphic Hashing", parameters
 * n = 1024, d = 16; the construction Solana's accounts lattice hash uses).
 * The element of a pair is the first 2048 bytes of the ChaCha20 keystream
 * (RFC 8439, counter 0, nonce 0) keyed by
 * TaggedHash("parex/lthash", key || u32le(len) || value), read as 1024
 * u16le lanes. */

#define PX_LTHASH_LANES 1024

typedef struct px__lthash {
    uint16_t lanes[PX_LTHASH_LANES];
} px__lthash;

void px__lthash_zero(px__lthash *h);
/** acc += element(key, val) if sign > 0, acc -= element(key, val) if < 0.
 *  Returns 0, or -1 if OpenSSL failed (allocation); acc is then
 *  unchanged. */
int px__lthash_mix(px__lthash *acc, const uint8_t key[32],
    const uint8_t *val, size_t len, int sign);
/** acc += other (lane-wise mod 2^16). */
void px__lthash_add(px__lthash *acc, const px__lthash *other);
/** 32-byte state root: tagged hash "parex/stateroot" of the lanes (u16le). */
void px__lthash_root(uint8_t out[32], const px__lthash *h);
/** Serialise to / from 2048 bytes (u16le lanes). */
void px__lthash_store(uint8_t out[2 * PX_LTHASH_LANES], const px__lthash *h);
void px__lthash_load(px__lthash *h, const uint8_t in[2 * PX_LTHASH_LANES]);

/* ---- test hook ---- */

/** Tests only: nonzero makes every OpenSSL EVP call of crypto/ fail, as on
 *  allocation failure, so the fallback and error paths can be exercised.
 *  Process-wide; not for use while other threads hash. */
void px__crypto_test_fail(int on);
int px__crypto_test_failing(void);

#endif /* PX_CRYPTO_INT_H */
