/* parex_read: read transactions — head, headers, values, blocks and
 * receipts from one LMDB snapshot, values borrowed until the read ends
 * (docs/api.md, "Read transactions"). Split from db.c, which opens the
 * store and writes genesis. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define RECEIPT_BYTES 48

static void receipt_decode(parex_receipt *r, const uint8_t in[48])
{
    memset(r, 0, sizeof(*r));
    memcpy(r->txid, in, 32);
    r->status = px__ld32(in + 32);
    r->code = (int32_t)px__ld32(in + 36);
    r->fee = px__ld64(in + 40);
}

typedef struct foreach_arg {
    parex_kv_fn fn;
    void *user;
} foreach_arg;

static int foreach_visit(const uint8_t *key, size_t key_len,
    const uint8_t *val, size_t len, void *user)
{
    foreach_arg *a = user;
    if (key_len != 32) {
        return 0; /* not a state key; cannot happen in our own store */
    }
    /* LMDB gives a non-NULL pointer for an empty value too. */
    return a->fn(key, len > 0 ? val : NULL, len, a->user);
}

/* ---- read transactions ---- */

struct parex_read {
    px__snap *sn;
};

PAREX_API int parex_read_begin(parex_read **out, const parex_db *db)
{
    parex_read *r;
    int rc;

    if (out == NULL) {
        return PAREX_E_MISUSE;
    }
    *out = NULL;
    if (db == NULL) {
        return PAREX_E_MISUSE;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        return PAREX_E_NOMEM;
    }
    rc = px__snap_begin(&r->sn, db->store);
    if (rc != PAREX_OK) {
        free(r);
        return rc;
    }
    *out = r;
    return PAREX_OK;
}

PAREX_API void parex_read_end(parex_read *r)
{
    if (r != NULL) {
        px__snap_end(r->sn);
        free(r);
    }
}

PAREX_API int parex_read_renew(parex_read *r)
{
    if (r == NULL) {
        return PAREX_E_MISUSE;
    }
    return px__snap_renew(r->sn);
}

PAREX_API int parex_read_head(parex_read *r, parex_header *out)
{
    if (r == NULL || out == NULL) {
        return PAREX_E_MISUSE;
    }
    return px__read_head(r->sn, out);
}

PAREX_API int parex_read_header(parex_read *r, parex_header *out,
    uint64_t height)
{
    const uint8_t *v;
    size_t len;
    uint8_t hk[8];
    int rc;

    if (r == NULL || out == NULL) {
        return PAREX_E_MISUSE;
    }
    px__header_key(hk, height);
    rc = px__snap_get(r->sn, PX_DB_HEADERS, &v, &len, hk, 8);
    if (rc == PAREX_OK && parex_header_decode(out, v, len) != PAREX_OK) {
        rc = PAREX_E_CORRUPT;
    }
    return rc;
}

PAREX_API int parex_read_get(parex_read *r, const uint8_t **val, size_t *len,
    const uint8_t key[32])
{
    int rc;

    if (val != NULL) {
        *val = NULL;
    }
    if (len != NULL) {
        *len = 0;
    }
    if (r == NULL || val == NULL || len == NULL || key == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_get(r->sn, PX_DB_STATE, val, len, key, 32);
    if (rc == PAREX_OK && *len == 0) {
        *val = NULL; /* as parex_kv: NULL iff the length is 0 */
    }
    return rc;
}

PAREX_API int parex_read_block(parex_read *r, const uint8_t **block,
    size_t *len, uint64_t height)
{
    uint8_t hk[8];
    int rc;

    if (block != NULL) {
        *block = NULL;
    }
    if (len != NULL) {
        *len = 0;
    }
    if (r == NULL || block == NULL || len == NULL) {
        return PAREX_E_MISUSE;
    }
    px__header_key(hk, height);
    rc = px__snap_get(r->sn, PX_DB_BLOCKS, block, len, hk, 8);
    if (rc == PAREX_OK && *len < PAREX_HEADER_BYTES + 4) {
        *block = NULL;
        *len = 0;
        rc = PAREX_E_CORRUPT;
    }
    return rc;
}

PAREX_API int parex_read_block_height(parex_read *r, uint64_t *height,
    const uint8_t hash[32])
{
    const uint8_t *v;
    size_t len;
    int rc;

    if (r == NULL || height == NULL || hash == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_get(r->sn, PX_DB_HASHES, &v, &len, hash, 32);
    if (rc == PAREX_OK) {
        if (len != 8) {
            return PAREX_E_CORRUPT;
        }
        *height = px__ld64(v);
    }
    return rc;
}

PAREX_API int parex_read_receipt(parex_read *r, parex_receipt *out,
    uint64_t *height, uint32_t *index, const uint8_t txid[32])
{
    const uint8_t *v;
    size_t len;
    int rc;

    if (r == NULL || out == NULL || txid == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_get(r->sn, PX_DB_RECEIPTS, &v, &len, txid, 32);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (len != 12 + RECEIPT_BYTES) {
        return PAREX_E_CORRUPT;
    }
    receipt_decode(out, v + 12);
    if (height != NULL) {
        *height = px__ld64(v);
    }
    if (index != NULL) {
        *index = px__ld32(v + 8);
    }
    return PAREX_OK;
}

PAREX_API int parex_read_block_receipt(parex_read *r, parex_receipt *out,
    uint64_t height, uint32_t index)
{
    const uint8_t *v;
    size_t len;
    uint8_t hk[8];
    int rc;

    if (r == NULL || out == NULL) {
        return PAREX_E_MISUSE;
    }
    px__header_key(hk, height);
    rc = px__snap_get(r->sn, PX_DB_BLOCK_RECEIPTS, &v, &len, hk, 8);
    if (rc == PAREX_E_NOTFOUND) {
        /* A block of no transactions stores no receipts: tell "no such
         * index" from "no such block". */
        rc = px__snap_get(r->sn, PX_DB_HEADERS, &v, &len, hk, 8);
        return rc == PAREX_OK ? PAREX_E_NOTFOUND : rc;
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    if (len % RECEIPT_BYTES != 0) {
        return PAREX_E_CORRUPT;
    }
    if ((uint64_t)index >= len / RECEIPT_BYTES) {
        return PAREX_E_NOTFOUND;
    }
    receipt_decode(out, v + (size_t)index * RECEIPT_BYTES);
    return PAREX_OK;
}

PAREX_API int parex_read_range(parex_read *r, const uint8_t *lo,
    const uint8_t *hi, parex_kv_fn fn, void *user)
{
    foreach_arg a;

    if (r == NULL || fn == NULL) {
        return PAREX_E_MISUSE;
    }
    a.fn = fn;
    a.user = user;
    return px__snap_range(r->sn, PX_DB_STATE, lo, lo != NULL ? 32 : 0, hi,
        hi != NULL ? 32 : 0, foreach_visit, &a);
}

PAREX_API int parex_read_foreach(parex_read *r, parex_kv_fn fn, void *user)
{
    return parex_read_range(r, NULL, NULL, fn, user);
}

PAREX_API int parex_read_prefix(parex_read *r, const uint8_t *prefix,
    size_t prefix_len, parex_kv_fn fn, void *user)
{
    uint8_t lo[32], hi[32];
    size_t i;

    if (r == NULL || fn == NULL || prefix_len > 32 ||
        (prefix == NULL && prefix_len > 0)) {
        return PAREX_E_MISUSE;
    }
    if (prefix_len == 0) {
        return parex_read_range(r, NULL, NULL, fn, user);
    }
    /* Keys with the prefix are [prefix 00.., next-prefix 00..), where
     * next-prefix is the prefix plus one as a big-endian number; a prefix
     * of all 0xff bytes has no upper bound. */
    memset(lo, 0, 32);
    memcpy(lo, prefix, prefix_len);
    memset(hi, 0, 32);
    memcpy(hi, prefix, prefix_len);
    for (i = prefix_len; i-- > 0;) {
        if (hi[i] != 0xff) {
            hi[i]++;
            return parex_read_range(r, lo, hi, fn, user);
        }
        hi[i] = 0;
    }
    return parex_read_range(r, lo, NULL, fn, user);
}
