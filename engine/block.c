/* The canonical encoding of headers and blocks (docs/formats.md): header
 * encode, decode and hash; block encode; the block framing walk with its
 * optional BAL trailer; decoding a whole block (stage 0). Txs are
 * engine/codec.c. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

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
        if (!px__tx_canonical(&txs[i])) {
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
    return walk_block(h, n, err, block, len,
        px__limits_or_default(lim, &tmp), NULL);
}

int px__block_decode(px__block *out, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim)
{
    size_t n = 0;
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
