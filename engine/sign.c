/* Signing and verifying txs (BIP-340 over the sighash, docs/formats.md),
 * tx ids, key derivation and the account helpers of the public API. The
 * curve itself is crypto/; the encoding engine/codec.c. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

void px__sighash(uint8_t out[32], const uint8_t *enc, size_t enc_len)
{
    px__tagged_hash(out, "parex/sighash", enc, enc_len - 64, NULL, 0);
}

/* Encodes tx into a heap buffer (sign, verify and id need the bytes). */
static uint8_t *encode_alloc(const parex_tx *tx, size_t *len)
{
    uint8_t *buf;
    size_t n = parex_tx_encoded_len(tx);

    buf = malloc(n);
    if (buf == NULL) {
        return NULL;
    }
    *len = n;
    if (parex_tx_encode(buf, len, tx) != PAREX_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

PAREX_API int parex_tx_sign(parex_tx *tx, const uint8_t seckey[32])
{
    uint8_t *buf;
    size_t len;
    uint8_t msg[32];
    int rc = PAREX_OK;

    if (tx == NULL || seckey == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!px__tx_canonical(tx)) {
        return PAREX_E_INVALID;
    }
    if (px__pubkey(tx->sender, seckey) != 0) {
        return PAREX_E_INVALID;
    }
    buf = encode_alloc(tx, &len);
    if (buf == NULL) {
        return PAREX_E_NOMEM;
    }
    px__sighash(msg, buf, len);
    if (px__schnorr_sign(tx->sig, NULL, msg, seckey) != 0) {
        rc = PAREX_E_INVALID;
    }
    free(buf);
    return rc;
}

PAREX_API int parex_tx_verify(const parex_tx *tx)
{
    uint8_t *buf;
    size_t len;
    uint8_t msg[32];
    int ok;

    if (tx == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!px__tx_canonical(tx)) {
        return PAREX_E_INVALID;
    }
    buf = encode_alloc(tx, &len);
    if (buf == NULL) {
        return PAREX_E_NOMEM;
    }
    px__sighash(msg, buf, len);
    ok = px__schnorr_verify(tx->sig, msg, tx->sender);
    free(buf);
    return ok ? PAREX_OK : PAREX_E_INVALID;
}

PAREX_API int parex_tx_id(uint8_t id[32], const parex_tx *tx)
{
    uint8_t *buf;
    size_t len;

    if (id == NULL || tx == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!px__tx_canonical(tx)) {
        return PAREX_E_INVALID;
    }
    buf = encode_alloc(tx, &len);
    if (buf == NULL) {
        return PAREX_E_NOMEM;
    }
    px__tagged_hash(id, "parex/txid", buf, len, NULL, 0);
    free(buf);
    return PAREX_OK;
}

PAREX_API int parex_key_from_seed(uint8_t seckey[32], uint8_t pubkey[32],
    const uint8_t *seed, size_t seed_len)
{
    uint8_t ctr[4];
    uint32_t i;

    if (seckey == NULL || (seed == NULL && seed_len > 0)) {
        return PAREX_E_MISUSE;
    }
    for (i = 0;; i++) {
        px__st32(ctr, i);
        px__tagged_hash(seckey, "parex/keygen", ctr, 4, seed, seed_len);
        if (px__seckey_valid(seckey)) {
            break;
        }
    }
    if (pubkey != NULL && px__pubkey(pubkey, seckey) != 0) {
        return PAREX_E_INVALID;
    }
    return PAREX_OK;
}

PAREX_API int parex_key_pubkey(uint8_t pubkey[32], const uint8_t seckey[32])
{
    if (pubkey == NULL || seckey == NULL) {
        return PAREX_E_MISUSE;
    }
    return px__pubkey(pubkey, seckey) == 0 ? PAREX_OK : PAREX_E_INVALID;
}

PAREX_API void parex_account_key(uint8_t key[32], const uint8_t pubkey[32])
{
    if (key != NULL && pubkey != NULL) {
        px__tagged_hash(key, "parex/account", pubkey, 32, NULL, 0);
    }
}

PAREX_API void parex_account_encode(uint8_t out[16], uint64_t balance,
    uint64_t nonce)
{
    if (out != NULL) {
        px__st64(out, balance);
        px__st64(out + 8, nonce);
    }
}

PAREX_API int parex_account_decode(uint64_t *balance, uint64_t *nonce,
    const uint8_t *val, size_t len)
{
    if (balance == NULL || nonce == NULL || (val == NULL && len > 0)) {
        return PAREX_E_MISUSE;
    }
    if (len != PAREX_ACCOUNT_BYTES) {
        return PAREX_E_INVALID;
    }
    *balance = px__ld64(val);
    *nonce = px__ld64(val + 8);
    return PAREX_OK;
}

PAREX_API void parex_sha256(uint8_t out[32], const void *data, size_t len)
{
    if (out != NULL && (data != NULL || len == 0)) {
        px__sha256_once(out, data, len);
    }
}

PAREX_API void parex_transfer_args(uint8_t out[40],
    const uint8_t recipient[32], uint64_t amount)
{
    if (out != NULL && recipient != NULL) {
        memcpy(out, recipient, 32);
        px__st64(out + 32, amount);
    }
}
