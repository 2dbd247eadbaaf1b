/* The canonical binary encoding of transactions (docs/formats.md):
 * encoding, decoding, the canonical-form check. Decoding accepts exactly
 * one encoding per value: anything else is rejected with the field named.
 * Headers and blocks are engine/block.c; signing, tx ids and key helpers
 * engine/sign.c. */
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

const parex_limits *px__limits_or_default(const parex_limits *lim,
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

int px__tx_canonical(const parex_tx *tx)
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
    if (!px__tx_canonical(tx)) {
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
    return px__tx_decode(out, err, in, len, px__limits_or_default(lim, &tmp),
        -1);
}

