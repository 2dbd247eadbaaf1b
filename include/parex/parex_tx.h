/* parex — transactions, blocks and keys: building, signing and the one
 * canonical binary encoding (specified in docs/formats.md).
 *
 * Every function here is pure: no handle, no global mutable state, so all
 * of them are thread-safe.
 */
#ifndef PAREX_TX_H
#define PAREX_TX_H

#include "parex_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Encoding version byte of a transaction. */
#define PAREX_TX_VERSION 1
/** Fixed part of an encoded transaction, bytes (no args, no keys). */
#define PAREX_TX_MIN_BYTES 133
/** Encoded block header, bytes. */
#define PAREX_HEADER_BYTES 168

/** Built-in program ids. Ids below 256 are reserved for parex. */
#define PAREX_PROGRAM_TRANSFER 1
#define PAREX_PROGRAM_TRACE 2

/** A transaction, decoded. Pointers borrow: from the buffer given to
 *  parex_tx_decode(), or from the caller when building.
 *
 *  read_set and write_set are each strictly increasing by bytes (sorted,
 *  unique) and disjoint from each other; the sender's account key is
 *  written implicitly and need not be declared.
 */
typedef struct parex_tx {
    uint32_t chain_id;
    uint8_t sender[PAREX_KEY_LEN];     /**< BIP-340 x-only public key */
    uint64_t nonce;                    /**< must equal the account's nonce */
    uint64_t fee;                      /**< paid to the fee recipient */
    uint32_t program;                  /**< program id */
    const uint8_t *args;               /**< args_len bytes; NULL iff 0 */
    uint32_t args_len;
    const uint8_t *read_set;           /**< n_read * 32 bytes */
    uint32_t n_read;
    const uint8_t *write_set;          /**< n_write * 32 bytes */
    uint32_t n_write;
    uint8_t sig[PAREX_SIG_LEN];        /**< BIP-340 signature */
} parex_tx;

/** Size of tx's canonical encoding in bytes (no validation). Since: 0.1.0 */
PAREX_API size_t parex_tx_encoded_len(const parex_tx *tx) PAREX_ARG_NONNULL(1);

/** Encode tx canonically.
 *
 *  Returns: PAREX_OK       *out_len bytes written to out.
 *           PAREX_E_BUFFER *out_len (capacity) is too small; *out_len is set
 *                          to the size needed, nothing written.
 *           PAREX_E_INVALID tx is not canonical (unsorted/duplicate keys,
 *                          overlapping sets, NULL args with args_len > 0).
 *  In:      tx:      transaction to encode.
 *  In/Out:  out_len: in: capacity of out in bytes; out: bytes written.
 *  Out:     out:     caller buffer of *out_len bytes.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_tx_encode(uint8_t *out,
    size_t *out_len, const parex_tx *tx) PAREX_ARG_NONNULL(1, 2, 3);

/** Decode one canonical transaction occupying exactly len bytes.
 *
 *  Rejects anything non-canonical: wrong version, truncation, trailing
 *  bytes, unsorted, duplicate or overlapping keys, and anything over lim.
 *  Does not check the signature (see parex_tx_verify()).
 *
 *  Returns: PAREX_OK        *out filled; its pointers borrow from in.
 *           PAREX_E_INVALID malformed; err names the field.
 *           PAREX_E_LIMIT   over a limit in lim; err names the field.
 *  Out:     out:  decoded transaction, valid while in is.
 *           err:  may be NULL; details on failure.
 *  In:      in:   len bytes; borrowed by *out.
 *           lim:  limits; NULL means parex_limits_default().
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_tx_decode(parex_tx *out,
    parex_error_info *err, const uint8_t *in, size_t len,
    const parex_limits *lim) PAREX_ARG_NONNULL(1, 3);

/** Sign tx with a BIP-340 Schnorr signature (deterministic: no auxiliary
 *  randomness, BIP-340 "Default Signing" with a zero aux string).
 *
 *  Sets tx->sender to the key's x-only public key, then tx->sig to the
 *  signature over the sighash: the tagged hash (BIP-340 style,
 *  SHA-256(SHA-256(tag)||SHA-256(tag)||msg)) with tag "parex/sighash" of the
 *  encoding without the trailing signature.
 *
 *  Returns: PAREX_OK, PAREX_E_INVALID (bad secret key or non-canonical tx).
 *  In/Out:  tx:     sender and sig are written.
 *  In:      seckey: 32-byte secret key; not retained. The caller wipes it.
 *  Source:  BIP-340 (https://github.com/bitcoin/bips/blob/master/bip-0340.mediawiki)
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_tx_sign(parex_tx *tx,
    const uint8_t seckey[32]) PAREX_ARG_NONNULL(1, 2);

/** Verify tx's signature against tx->sender (BIP-340).
 *
 *  Returns: PAREX_OK if valid; PAREX_E_INVALID if the signature or the
 *           public key is invalid, or tx is not canonical.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_tx_verify(const parex_tx *tx)
    PAREX_ARG_NONNULL(1);

/** Transaction id: tagged hash, tag "parex/txid", of the whole canonical
 *  encoding (signature included).
 *
 *  Returns: PAREX_OK or PAREX_E_INVALID (tx not canonical).
 *  Out:     id: 32 bytes.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_tx_id(uint8_t id[32],
    const parex_tx *tx) PAREX_ARG_NONNULL(1, 2);

/** Derive a secret key and its x-only public key from seed bytes,
 *  deterministically: the tagged hash, tag "parex/keygen", of
 *  u32le(counter) || seed,
 *  counter counting up from 0 until the result is a valid secret key.
 *
 *  Returns: PAREX_OK.
 *  Out:     seckey: 32 bytes, caller wipes; pubkey: 32 bytes; may be NULL.
 *  In:      seed: seed_len bytes (may be NULL iff seed_len is 0).
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_key_from_seed(uint8_t seckey[32],
    uint8_t pubkey[32], const uint8_t *seed, size_t seed_len)
    PAREX_ARG_NONNULL(1);

/** x-only public key of a secret key. Returns PAREX_OK or PAREX_E_INVALID
 *  (secret key out of range). Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_key_pubkey(uint8_t pubkey[32],
    const uint8_t seckey[32]) PAREX_ARG_NONNULL(1, 2);

/** State key of an account: tagged hash, tag "parex/account", of the
 *  32-byte public key. Since: 0.1.0 */
PAREX_API void parex_account_key(uint8_t key[32], const uint8_t pubkey[32])
    PAREX_ARG_NONNULL(1, 2);

/** Encoded length of an account value: u64le balance || u64le nonce. */
#define PAREX_ACCOUNT_BYTES 16

/** Encode an account value (16 bytes). Since: 0.1.0 */
PAREX_API void parex_account_encode(uint8_t out[16], uint64_t balance,
    uint64_t nonce) PAREX_ARG_NONNULL(1);

/** Decode an account value. An absent account is balance 0, nonce 0.
 *  Returns PAREX_OK, or PAREX_E_INVALID if len != 16. Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_account_decode(uint64_t *balance,
    uint64_t *nonce, const uint8_t *val, size_t len) PAREX_ARG_NONNULL(1, 2);

/** Plain SHA-256 (FIPS 180-4) of len bytes. Since: 0.1.0 */
PAREX_API void parex_sha256(uint8_t out[32], const void *data, size_t len)
    PAREX_ARG_NONNULL(1);

/** Arguments of the built-in transfer program: recipient public key and
 *  amount. Encoded as recipient[32] || u64le amount (40 bytes). */
#define PAREX_TRANSFER_ARGS_BYTES 40
PAREX_API void parex_transfer_args(uint8_t out[40], const uint8_t recipient[32],
    uint64_t amount) PAREX_ARG_NONNULL(1, 2);

/** A block header. Roots are outputs of execution; in a block given for
 *  execution an all-zero root means "not claimed" and a non-zero one must
 *  match the computed root. */
typedef struct parex_header {
    uint64_t height;                        /**< genesis is 0 */
    uint8_t parent[PAREX_KEY_LEN];          /**< hash of the previous header */
    uint8_t tx_root[PAREX_KEY_LEN];
    uint8_t receipts_root[PAREX_KEY_LEN];
    uint8_t state_root[PAREX_KEY_LEN];
    uint8_t fee_recipient[PAREX_KEY_LEN];   /**< public key credited with fees */
} parex_header;

/** Encode a header (168 bytes: u64le height, then the five 32-byte fields in
 *  declaration order). Since: 0.1.0 */
PAREX_API void parex_header_encode(uint8_t out[PAREX_HEADER_BYTES],
    const parex_header *h) PAREX_ARG_NONNULL(1, 2);

/** Decode a header from exactly PAREX_HEADER_BYTES bytes. Returns PAREX_OK
 *  or PAREX_E_INVALID (wrong length). Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_header_decode(parex_header *out,
    const uint8_t *in, size_t len) PAREX_ARG_NONNULL(1, 2);

/** Block hash: tagged hash, tag "parex/block", of the encoded header.
 *  Since: 0.1.0 */
PAREX_API void parex_header_hash(uint8_t out[32], const parex_header *h)
    PAREX_ARG_NONNULL(1, 2);

/** Encode a block: header, u32le tx count, then per tx u32le length and the
 *  tx's encoding.
 *
 *  Returns: PAREX_OK; PAREX_E_BUFFER (*out_len set to the size needed);
 *           PAREX_E_INVALID (a tx is not canonical).
 *  Out:     out: caller buffer, capacity *out_len; may be NULL when
 *                *out_len is 0 to query the size.
 *  In/Out:  out_len: capacity in, bytes written (or needed) out.
 *  In:      h: header; txs: n transactions (NULL iff n is 0).
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_block_encode(uint8_t *out,
    size_t *out_len, const parex_header *h, const parex_tx *txs, size_t n)
    PAREX_ARG_NONNULL(2, 3);

/** Walk an encoded block without decoding its transactions.
 *
 *  Returns: PAREX_OK, PAREX_E_INVALID or PAREX_E_LIMIT (err says where).
 *  Out:     h: the header; n: the tx count; err: may be NULL.
 *  In:      block: len bytes; lim: NULL for defaults.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_block_peek(parex_header *h,
    size_t *n, parex_error_info *err, const uint8_t *block, size_t len,
    const parex_limits *lim) PAREX_ARG_NONNULL(1, 2, 4);

#ifdef __cplusplus
}
#endif

#endif /* PAREX_TX_H */
