/* The canonical binary encoding of transactions, headers and blocks
 * (docs/formats.md), signing and key helpers. Decoding accepts exactly one
 * encoding per value: anything else is rejected with the field named. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define OFF_CHAIN 1
#define OFF_SENDER 5
#define OFF_NONCE 37
#define OFF_FEE 45
#define OFF_PROGRAM 53
#define OFF_ARGS_LEN 57
#define OFF_ARGS 61

static const parex_limits *limits_or_default(const parex_limits *lim,
    parex_limits *tmp)
{
    if (lim != NULL) {
        return lim;
    }
    parex_limits_default(tmp);
    return tmp;
}

/* Strictly increasing 32-byte keys. */
static int keys_sorted(const uint8_t *k, uint32_t n)
{
    uint32_t i;
    for (i = 1; i < n; i++) {
        if (memcmp(k + 32 * (i - 1), k + 32 * i, 32) >= 0) {
            return 0;
        }
    }
    return 1;
}

/* Both sorted: a merge walk finds a shared key in O(a + b). */
static int keys_disjoint(const uint8_t *a, uint32_t na, const uint8_t *b,
    uint32_t nb)
{
    uint32_t i = 0, j = 0;
    while (i < na && j < nb) {
        int c = memcmp(a + 32 * i, b + 32 * j, 32);
        if (c == 0) {
            return 0;
        }
        if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    return 1;
}

PAREX_API size_t parex_tx_encoded_len(const parex_tx *tx)
{
    if (tx == NULL) {
        return 0;
    }
    return PAREX_TX_MIN_BYTES + (size_t)tx->args_len +
        32 * ((size_t)tx->n_read + (size_t)tx->n_write);
}

static int tx_canonical(const parex_tx *tx)
{
    if ((tx->args_len > 0 && tx->args == NULL) ||
        (tx->n_read > 0 && tx->read_set == NULL) ||
        (tx->n_write > 0 && tx->write_set == NULL)) {
        return 0;
    }
    return keys_sorted(tx->read_set, tx->n_read) &&
        keys_sorted(tx->write_set, tx->n_write) &&
        keys_disjoint(tx->read_set, tx->n_read, tx->write_set, tx->n_write);
}

/* Writes the encoding without the signature; returns its length. */
static size_t encode_body(uint8_t *out, const parex_tx *tx)
{
    uint8_t *p = out;
    *p++ = PAREX_TX_VERSION;
    px__st32(p, tx->chain_id);
    p += 4;
    memcpy(p, tx->sender, 32);
    p += 32;
    px__st64(p, tx->nonce);
    p += 8;
    px__st64(p, tx->fee);
    p += 8;
    px__st32(p, tx->program);
    p += 4;
    px__st32(p, tx->args_len);
    p += 4;
    if (tx->args_len > 0) {
        memcpy(p, tx->args, tx->args_len);
        p += tx->args_len;
    }
    px__st32(p, tx->n_read);
    p += 4;
    if (tx->n_read > 0) {
        memcpy(p, tx->read_set, 32 * (size_t)tx->n_read);
        p += 32 * (size_t)tx->n_read;
    }
    px__st32(p, tx->n_write);
    p += 4;
    if (tx->n_write > 0) {
        memcpy(p, tx->write_set, 32 * (size_t)tx->n_write);
        p += 32 * (size_t)tx->n_write;
    }
    return (size_t)(p - out);
}

PAREX_API int parex_tx_encode(uint8_t *out, size_t *out_len,
    const parex_tx *tx)
{
    size_t need, body;

    if (out == NULL || out_len == NULL || tx == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!tx_canonical(tx)) {
        return PAREX_E_INVALID;
    }
    need = parex_tx_encoded_len(tx);
    if (*out_len < need) {
        *out_len = need;
        return PAREX_E_BUFFER;
    }
    body = encode_body(out, tx);
    memcpy(out + body, tx->sig, 64);
    *out_len = need;
    return PAREX_OK;
}

int px__tx_decode(parex_tx *out, parex_error_info *err, const uint8_t *in,
    size_t len, const parex_limits *lim, int64_t ti)
{
    size_t off;
    uint32_t n;

    if (len < PAREX_TX_MIN_BYTES) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "length", "tx %lld: %zu bytes, shorter than the minimum %d",
            (long long)ti, len, PAREX_TX_MIN_BYTES);
    }
    if (in[0] != PAREX_TX_VERSION) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "version", "tx %lld: version %u, expected %d", (long long)ti,
            in[0], PAREX_TX_VERSION);
    }
    memset(out, 0, sizeof(*out));
    out->chain_id = px__ld32(in + OFF_CHAIN);
    memcpy(out->sender, in + OFF_SENDER, 32);
    out->nonce = px__ld64(in + OFF_NONCE);
    out->fee = px__ld64(in + OFF_FEE);
    out->program = px__ld32(in + OFF_PROGRAM);
    n = px__ld32(in + OFF_ARGS_LEN);
    if (n > lim->max_args_bytes) {
        return px__fail(err, PAREX_E_LIMIT, PAREX_REJECT_LIMIT, ti, "args",
            "tx %lld: args of %u bytes exceed the limit of %u",
            (long long)ti, n, lim->max_args_bytes);
    }
    /* The remaining fixed fields need 4 + 4 + 64 bytes after args. */
    if ((size_t)n > len - PAREX_TX_MIN_BYTES) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "args", "tx %lld: args length %u runs past the end",
            (long long)ti, n);
    }
    out->args_len = n;
    out->args = n > 0 ? in + OFF_ARGS : NULL;
    off = OFF_ARGS + (size_t)n;

    n = px__ld32(in + off);
    off += 4;
    if (n > lim->max_keys_per_set) {
        return px__fail(err, PAREX_E_LIMIT, PAREX_REJECT_LIMIT, ti,
            "read_set", "tx %lld: read set of %u keys exceeds the limit of %u",
            (long long)ti, n, lim->max_keys_per_set);
    }
    if (32 * (size_t)n > len - off - 4 - 64) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "read_set", "tx %lld: read set of %u keys runs past the end",
            (long long)ti, n);
    }
    out->n_read = n;
    out->read_set = n > 0 ? in + off : NULL;
    off += 32 * (size_t)n;

    n = px__ld32(in + off);
    off += 4;
    if (n > lim->max_keys_per_set) {
        return px__fail(err, PAREX_E_LIMIT, PAREX_REJECT_LIMIT, ti,
            "write_set",
            "tx %lld: write set of %u keys exceeds the limit of %u",
            (long long)ti, n, lim->max_keys_per_set);
    }
    if (32 * (size_t)n > len - off - 64) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "write_set", "tx %lld: write set of %u keys runs past the end",
            (long long)ti, n);
    }
    out->n_write = n;
    out->write_set = n > 0 ? in + off : NULL;
    off += 32 * (size_t)n;

    if (len - off != 64) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "sig", "tx %lld: %zu trailing bytes after the signature",
            (long long)ti, len - off - 64);
    }
    memcpy(out->sig, in + off, 64);

    if (!keys_sorted(out->read_set, out->n_read)) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "read_set", "tx %lld: read set is not strictly sorted "
            "(unsorted or duplicate keys)", (long long)ti);
    }
    if (!keys_sorted(out->write_set, out->n_write)) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "write_set", "tx %lld: write set is not strictly sorted "
            "(unsorted or duplicate keys)", (long long)ti);
    }
    if (!keys_disjoint(out->read_set, out->n_read, out->write_set,
            out->n_write)) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, ti,
            "read_set", "tx %lld: a key is in both the read set and the "
            "write set", (long long)ti);
    }
    return PAREX_OK;
}

PAREX_API int parex_tx_decode(parex_tx *out, parex_error_info *err,
    const uint8_t *in, size_t len, const parex_limits *lim)
{
    parex_limits tmp;

    px__err_clear(err);
    if (out == NULL || in == NULL) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    return px__tx_decode(out, err, in, len, limits_or_default(lim, &tmp), -1);
}

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
    if (!tx_canonical(tx)) {
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
    if (!tx_canonical(tx)) {
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
    if (!tx_canonical(tx)) {
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

PAREX_API void parex_header_encode(uint8_t out[PAREX_HEADER_BYTES],
    const parex_header *h)
{
    if (out == NULL || h == NULL) {
        return;
    }
    px__st64(out, h->height);
    memcpy(out + 8, h->parent, 32);
    memcpy(out + 40, h->tx_root, 32);
    memcpy(out + 72, h->receipts_root, 32);
    memcpy(out + 104, h->state_root, 32);
    memcpy(out + 136, h->fee_recipient, 32);
}

PAREX_API int parex_header_decode(parex_header *out, const uint8_t *in,
    size_t len)
{
    if (out == NULL || in == NULL) {
        return PAREX_E_MISUSE;
    }
    if (len != PAREX_HEADER_BYTES) {
        return PAREX_E_INVALID;
    }
    out->height = px__ld64(in);
    memcpy(out->parent, in + 8, 32);
    memcpy(out->tx_root, in + 40, 32);
    memcpy(out->receipts_root, in + 72, 32);
    memcpy(out->state_root, in + 104, 32);
    memcpy(out->fee_recipient, in + 136, 32);
    return PAREX_OK;
}

PAREX_API void parex_header_hash(uint8_t out[32], const parex_header *h)
{
    uint8_t enc[PAREX_HEADER_BYTES];

    if (out == NULL || h == NULL) {
        return;
    }
    parex_header_encode(enc, h);
    px__tagged_hash(out, "parex/block", enc, sizeof(enc), NULL, 0);
}

PAREX_API int parex_block_encode(uint8_t *out, size_t *out_len,
    const parex_header *h, const parex_tx *txs, size_t n)
{
    size_t need = PAREX_HEADER_BYTES + 4, i, off, len;
    int rc;

    if (out_len == NULL || h == NULL || (txs == NULL && n > 0) ||
        n > UINT32_MAX) {
        return PAREX_E_MISUSE;
    }
    for (i = 0; i < n; i++) {
        if (!tx_canonical(&txs[i])) {
            return PAREX_E_INVALID;
        }
        need += 4 + parex_tx_encoded_len(&txs[i]);
    }
    if (out == NULL || *out_len < need) {
        *out_len = need;
        return PAREX_E_BUFFER;
    }
    parex_header_encode(out, h);
    px__st32(out + PAREX_HEADER_BYTES, (uint32_t)n);
    off = PAREX_HEADER_BYTES + 4;
    for (i = 0; i < n; i++) {
        len = need - off - 4;
        rc = parex_tx_encode(out + off + 4, &len, &txs[i]);
        if (rc != PAREX_OK) {
            return rc;
        }
        px__st32(out + off, (uint32_t)len);
        off += 4 + len;
    }
    *out_len = off;
    return PAREX_OK;
}

static int walk_block_bal(parex_header *h, size_t *n_out,
    const uint8_t **bal, size_t *bal_len, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim, px__btx *txs);

/* Walks the block framing; calls back per tx with its slice. */
static int walk_block(parex_header *h, size_t *n_out, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim,
    px__btx *txs);

int px__block_walk(parex_header *h, size_t *n, const uint8_t **bal,
    size_t *bal_len, parex_error_info *err, const uint8_t *buf, size_t len,
    const parex_limits *lim)
{
    return walk_block_bal(h, n, bal, bal_len, err, buf, len, lim, NULL);
}

static int walk_block(parex_header *h, size_t *n_out, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim,
    px__btx *txs)
{
    const uint8_t *bal;
    size_t bal_len;

    return walk_block_bal(h, n_out, &bal, &bal_len, err, buf, len, lim, txs);
}

/* The framing, the txs and the optional BAL trailer (u32le 0, u32le
 * length, then that many bytes, nothing after: parex_bal.h). */
static int walk_block_bal(parex_header *h, size_t *n_out,
    const uint8_t **bal, size_t *bal_len, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim, px__btx *txs)
{
    size_t off, i, n;
    uint32_t tl;
    int rc;

    if (len > lim->max_block_bytes) {
        return px__fail(err, PAREX_E_LIMIT, PAREX_REJECT_LIMIT, -1, "block",
            "block of %zu bytes exceeds the limit of %llu", len,
            (unsigned long long)lim->max_block_bytes);
    }
    if (len < PAREX_HEADER_BYTES + 4) {
        return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, -1,
            "header", "block of %zu bytes is shorter than a header and a "
            "tx count", len);
    }
    rc = parex_header_decode(h, buf, PAREX_HEADER_BYTES);
    if (rc != PAREX_OK) {
        return rc;
    }
    n = px__ld32(buf + PAREX_HEADER_BYTES);
    if (n > lim->max_block_txs) {
        return px__fail(err, PAREX_E_LIMIT, PAREX_REJECT_LIMIT, -1, "txs",
            "block has %zu txs, over the limit of %u", n,
            lim->max_block_txs);
    }
    off = PAREX_HEADER_BYTES + 4;
    for (i = 0; i < n; i++) {
        if (len - off < 4) {
            return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED,
                (int64_t)i, "length", "tx %zu: block ends before its "
                "length prefix", i);
        }
        tl = px__ld32(buf + off);
        off += 4;
        if (tl > len - off) {
            return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED,
                (int64_t)i, "length", "tx %zu: length %u runs past the "
                "end of the block", i, tl);
        }
        if (txs != NULL) {
            rc = px__tx_decode(&txs[i].tx, err, buf + off, tl, lim,
                (int64_t)i);
            if (rc != PAREX_OK) {
                return rc;
            }
            txs[i].enc = buf + off;
            txs[i].enc_len = tl;
        }
        off += tl;
    }
    *bal = NULL;
    *bal_len = 0;
    if (off != len) {
        /* A BAL trailer opens with a zero length, which no tx has. */
        uint32_t bl;
        if (len - off < 8 || px__ld32(buf + off) != 0) {
            return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, -1,
                "block", "%zu trailing bytes after the last tx", len - off);
        }
        bl = px__ld32(buf + off + 4);
        if (bl == 0 || bl != len - off - 8) {
            return px__fail(err, PAREX_E_INVALID, PAREX_REJECT_MALFORMED, -1,
                "bal", "the BAL trailer's length %u is not the %zu bytes "
                "left", bl, len - off - 8);
        }
        *bal = buf + off + 8;
        *bal_len = bl;
    }
    *n_out = n;
    return PAREX_OK;
}

PAREX_API int parex_block_peek(parex_header *h, size_t *n,
    parex_error_info *err, const uint8_t *block, size_t len,
    const parex_limits *lim)
{
    parex_limits tmp;

    px__err_clear(err);
    if (h == NULL || n == NULL || block == NULL) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    return walk_block(h, n, err, block, len, limits_or_default(lim, &tmp),
        NULL);
}

int px__block_decode(px__block *out, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim)
{
    size_t n;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = walk_block(&out->hdr, &n, err, buf, len, lim, NULL);
    if (rc != PAREX_OK) {
        goto err_reject;
    }
    out->txs = calloc(n > 0 ? n : 1, sizeof(*out->txs));
    if (out->txs == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    rc = walk_block_bal(&out->hdr, &n, &out->bal, &out->bal_len, err, buf,
        len, lim, out->txs);
    if (rc != PAREX_OK) {
        px__block_release(out);
        goto err_reject;
    }
    out->n = n;
    return PAREX_OK;

err_reject:
    if (err != NULL) {
        err->code = PAREX_E_BLOCK;
    }
    return PAREX_E_BLOCK;
}

void px__block_release(px__block *b)
{
    free(b->txs);
    b->txs = NULL;
    b->n = 0;
}
