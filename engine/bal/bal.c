/* The canonical encoding of block access lists: decoding, which rejects
 * every non-canonical form, and the public helpers of parex_bal.h (the
 * block trailer, the BAL root). docs/formats.md has the grammar:
 *
 *   bal   = u8 version (2) || u32 n_txs || n_txs * entry || fee
 *   entry = var n_writes || n_writes * write || var n_reads || n_reads * ref
 *   write = ref || var m || [m - 1 bytes]      (m = 0: deleted)
 *   ref   = var s || [key[32] when s = 0]      (s > 0: declared key s - 1)
 *   fee   = u8 0 | u8 1 || key[32] || u32 len || bytes
 *
 * var: minimal unsigned LEB128 of at most 32 bits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "bal/bal.h"
#include "exec/conflict.h"

uint8_t *px__buf_append(px__buf *b, size_t n)
{
    uint8_t *at;

    if (b->oom) {
        return NULL;
    }
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        uint8_t *np;
        while (cap - b->len < n) {
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = 1;
            return NULL;
        }
        b->p = np;
        b->cap = cap;
    }
    at = b->p + b->len;
    b->len += n;
    return at;
}

void px__buf_put(px__buf *b, const void *p, size_t n)
{
    uint8_t *at = px__buf_append(b, n);

    if (at != NULL && n > 0) {
        memcpy(at, p, n);
    }
}

void px__buf_u32(px__buf *b, uint32_t v)
{
    uint8_t t[4];
    px__st32(t, v);
    px__buf_put(b, t, 4);
}

void px__buf_free(px__buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
} rd;

static int need(rd *r, size_t n)
{
    return r->len - r->off >= n;
}

/* A minimal unsigned LEB128 of at most 32 bits: 0, or -1 when truncated,
 * over 32 bits or not minimal (a last byte of 0 after the first). */
static int get_var(rd *r, uint32_t *v)
{
    uint64_t x = 0;
    unsigned i;

    for (i = 0; i < 5; i++) {
        uint8_t b;
        if (!need(r, 1)) {
            return -1;
        }
        b = r->p[r->off++];
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if ((i > 0 && b == 0) || x > UINT32_MAX) {
                return -1;
            }
            *v = (uint32_t)x;
            return 0;
        }
    }
    return -1;
}

#define BAD(code, j, field, ...)                                              \
    px__fail(err, (code), (code) == PAREX_E_LIMIT ? PAREX_REJECT_LIMIT        \
                                                  : PAREX_REJECT_MALFORMED,   \
        (j), (field), __VA_ARGS__)

/* Key reference of tx b (docs/formats.md): *key gets the key, from the
 * tx's declared sets or in full from the BAL. 0; -1 truncated or out of
 * range; -2 a declared key given in full (not canonical). */
static int get_ref(rd *r, const px__btx *b, const uint8_t **key)
{
    uint32_t s, nr = b->tx.n_read, nd = nr + b->tx.n_write;

    if (get_var(r, &s) != 0) {
        return -1;
    }
    if (s > 0) {
        if (s > nd) {
            return -1;
        }
        *key = s <= nr ? b->tx.read_set + 32 * (size_t)(s - 1)
                       : b->tx.write_set + 32 * (size_t)(s - 1 - nr);
        return 0;
    }
    if (!need(r, 32)) {
        return -1;
    }
    *key = r->p + r->off;
    r->off += 32;
    if (px__key_bsearch(b->tx.read_set, nr, *key) >= 0 ||
        px__key_bsearch(b->tx.write_set, b->tx.n_write, *key) >= 0) {
        return -2;
    }
    return 0;
}

void *px__bal_grow(void *p, size_t *cap, size_t n, size_t sz)
{
    size_t c = *cap ? *cap : 64;
    void *np;

    if (n == 0) {
        n = 1;      /* a grown array is never NULL */
    }
    if (n <= *cap && p != NULL) {
        return p;
    }
    while (c < n && c <= SIZE_MAX / 2) {
        c *= 2;
    }
    if (c < n || c > SIZE_MAX / sz) {
        return NULL;    /* past the address space: out of memory */
    }
    np = realloc(p, c * sz);
    if (np != NULL) {
        *cap = c;
    }
    return np;
}

/* One pass over the encoding against the block's txs, filling out's
 * arrays (grown as it goes; the entries' pointers into them are set at
 * the end). The key order checks compare inline (px__bal_key_lt): hashed
 * keys differ in their first 8 bytes, so no call into memcmp per key. */
static int parse(px__bal *out, parex_error_info *err, const uint8_t *in,
    size_t len, const px__block *blk, const parex_limits *lim)
{
    rd r = { in, len, 0 };
    size_t j, n, nw_all = 0, nr_all = 0;
    void *gp;
    uint32_t i, k;

    if (!need(&r, 5)) {
        return BAD(PAREX_E_INVALID, -1, "bal", "BAL of %zu bytes is shorter "
            "than its version and entry count", len);
    }
    if (in[0] != PAREX_BAL_VERSION) {
        return BAD(PAREX_E_INVALID, -1, "bal.version", "BAL version %u is "
            "not %u", in[0], PAREX_BAL_VERSION);
    }
    n = px__ld32(in + 1);
    r.off = 5;
    if (n > lim->max_block_txs) {
        return BAD(PAREX_E_LIMIT, -1, "bal.txs", "BAL has %zu entries, over "
            "the limit of %u txs", n, lim->max_block_txs);
    }
    if (n != blk->n) {
        return BAD(PAREX_E_INVALID, -1, "bal.txs", "the BAL has %zu entries "
            "for %zu txs", n, blk->n);
    }
    PAREX_ASSERT(n <= out->cap_tx);
    for (j = 0; j < n; j++) {
        const px__btx *b = &blk->txs[j];
        size_t start = r.off;
        uint32_t nw, nr;
        const uint8_t *prev = NULL;
        const px__bal_w *wv;
        int rc;
        if (get_var(&r, &nw) != 0) {
            return BAD(PAREX_E_INVALID, (int64_t)j, "bal.writes", "BAL entry "
                "%zu: truncated or non-minimal write count", j);
        }
        if (nw > lim->max_tx_accesses || !need(&r, (size_t)nw * 2)) {
            return BAD(nw > lim->max_tx_accesses ? PAREX_E_LIMIT
                                                 : PAREX_E_INVALID,
                (int64_t)j, "bal.writes", "BAL entry %zu: %u writes (limit "
                "%u, %zu bytes left)", j, nw, lim->max_tx_accesses,
                r.len - r.off);
        }
        if ((gp = px__bal_grow(out->w, &out->cap_w, nw_all + nw,
                 sizeof(*out->w))) == NULL) {
            return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
        }
        out->w = gp;
        for (i = 0; i < nw; i++) {
            const uint8_t *key = NULL;
            uint32_t m;
            rc = get_ref(&r, b, &key);
            if (rc != 0) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.writes", "BAL "
                    "entry %zu: write %u: %s", j, i, rc == -2
                        ? "a declared key given in full"
                        : "key reference truncated or out of range");
            }
            if (prev != NULL && !px__bal_key_lt(prev, key)) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.writes", "BAL "
                    "entry %zu: write keys not strictly increasing at %u",
                    j, i);
            }
            prev = key;
            if (get_var(&r, &m) != 0) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.value", "BAL "
                    "entry %zu: write %u: truncated or non-minimal value "
                    "length", j, i);
            }
            if (m > 0 && (m - 1 > lim->max_value_bytes || !need(&r, m - 1))) {
                return BAD(m - 1 > lim->max_value_bytes ? PAREX_E_LIMIT
                                                        : PAREX_E_INVALID,
                    (int64_t)j, "bal.value", "BAL entry %zu: write %u value "
                    "of %u bytes (limit %u, %zu left)", j, i, m - 1,
                    lim->max_value_bytes, r.len - r.off);
            }
            {
                px__bal_w *w = &out->w[nw_all + i];
                w->key = key;
                w->top = (uint16_t)((unsigned)key[0] << 8 | key[1]);
                w->del = m == 0;
                w->val = m > 0 ? in + r.off : NULL;
                w->len = m > 0 ? m - 1 : 0;
            }
            r.off += m > 0 ? m - 1 : 0;
        }
        if (get_var(&r, &nr) != 0) {
            return BAD(PAREX_E_INVALID, (int64_t)j, "bal.reads", "BAL entry "
                "%zu: truncated or non-minimal read count", j);
        }
        if ((uint64_t)nr + nw > lim->max_tx_accesses || !need(&r, nr)) {
            return BAD((uint64_t)nr + nw > lim->max_tx_accesses
                    ? PAREX_E_LIMIT
                    : PAREX_E_INVALID,
                (int64_t)j, "bal.reads", "BAL entry %zu: %u reads and %u "
                "writes (limit %u keys, %zu bytes left)", j, nr, nw,
                lim->max_tx_accesses, r.len - r.off);
        }
        if ((gp = px__bal_grow(out->rk, &out->cap_r, nr_all + nr, 32)) ==
            NULL) {
            return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
        }
        out->rk = gp;
        /* Reads strictly increasing and disjoint from the writes: a merge
         * against the (already checked) write keys. */
        wv = out->w + nw_all;
        k = 0;
        for (i = 0; i < nr; i++) {
            const uint8_t *key = NULL;
            uint8_t *to = out->rk[nr_all + i];
            rc = get_ref(&r, b, &key);
            if (rc != 0) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.reads", "BAL "
                    "entry %zu: read %u: %s", j, i, rc == -2
                        ? "a declared key given in full"
                        : "key reference truncated or out of range");
            }
            if (i > 0 && !px__bal_key_lt(to - 32, key)) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.reads", "BAL "
                    "entry %zu: read keys not strictly increasing at %u",
                    j, i);
            }
            while (k < nw && px__bal_key_lt(wv[k].key, key)) {
                k++;
            }
            if (k < nw && px__keymap_eq(wv[k].key, key)) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.reads",
                    "BAL entry %zu: read %u is also a write", j, i);
            }
            memcpy(to, key, 32);
        }
        {
            px__bal_tx *t = &out->tx[j];
            t->w_at = nw_all;
            t->nw = nw;
            t->r_at = nr_all;
            t->nr = nr;
            t->enc = in + start;
            t->enc_len = r.off - start;
        }
        nw_all += nw;
        nr_all += nr;
    }
    if (!need(&r, 1) || in[r.off] > 1) {
        return BAD(PAREX_E_INVALID, -1, "bal.fee", "BAL: fee flag missing or "
            "not 0/1");
    }
    if (in[r.off++] == 1) {
        uint32_t vl;
        if (!need(&r, 36)) {
            return BAD(PAREX_E_INVALID, -1, "bal.fee", "BAL: fee credit "
                "truncated");
        }
        vl = px__ld32(in + r.off + 32);
        if (vl > lim->max_value_bytes || !need(&r, 36 + (size_t)vl)) {
            return BAD(PAREX_E_INVALID, -1, "bal.fee", "BAL: fee credit "
                "value of %u bytes", vl);
        }
        out->has_fee = 1;
        out->fee_key = in + r.off;
        out->fee_val = in + r.off + 36;
        out->fee_len = vl;
        r.off += 36 + (size_t)vl;
    }
    if (r.off != len) {
        return BAD(PAREX_E_INVALID, -1, "bal", "%zu trailing bytes after the "
            "BAL", len - r.off);
    }
    /* The arrays are final: the entries' pointers into them. */
    for (j = 0; j < n; j++) {
        px__bal_tx *t = &out->tx[j];
        t->w = out->w != NULL ? out->w + t->w_at : NULL;
        t->r = out->rk != NULL ? (const uint8_t *)out->rk + 32 * t->r_at
                               : NULL;
    }
    out->n = n;
    out->nw_all = nw_all;
    return PAREX_OK;
}

static const parex_limits *lim_or_default(const parex_limits *lim,
    parex_limits *tmp)
{
    if (lim != NULL) {
        return lim;
    }
    parex_limits_default(tmp);
    return tmp;
}

int px__bal_decode(px__bal *out, parex_error_info *err, const uint8_t *in,
    size_t len, const px__block *blk, const parex_limits *lim)
{
    void *gp;
    int rc;

    /* The arrays of an earlier decode are reused (grown only): a warm
     * px__bal allocates nothing. */
    out->n = 0;
    out->nw_all = 0;
    out->has_fee = 0;
    out->fee_key = NULL;
    out->fee_val = NULL;
    out->fee_len = 0;
    gp = px__bal_grow(out->tx, &out->cap_tx, blk->n, sizeof(*out->tx));
    if (gp == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    out->tx = gp;
    rc = parse(out, err, in, len, blk, lim);
    if (rc != PAREX_OK) {
        out->n = 0;
    }
    return rc;
}

void px__bal_release(px__bal *b)
{
    free(b->tx);
    free(b->w);
    free(b->rk);
    memset(b, 0, sizeof(*b));
}

PAREX_API int parex_bal_check(size_t *n_txs, parex_error_info *err,
    const uint8_t *block, size_t len, const parex_limits *lim)
{
    parex_limits tmp;
    const parex_limits *l = lim_or_default(lim, &tmp);
    px__block blk;
    px__bal b;
    int rc;

    memset(&b, 0, sizeof(b));
    memset(&blk, 0, sizeof(blk));
    px__err_clear(err);
    if (n_txs != NULL) {
        *n_txs = 0;
    }
    if (block == NULL) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    /* The BAL refers to the txs' declared keys: the block first. */
    rc = px__block_decode(&blk, err, block, len, l);
    if (rc == PAREX_E_BLOCK) {
        rc = err != NULL && err->reject == PAREX_REJECT_LIMIT
            ? PAREX_E_LIMIT : PAREX_E_INVALID;
        if (err != NULL) {
            err->code = rc;
        }
    }
    if (rc == PAREX_OK && blk.bal == NULL) {
        rc = BAD(PAREX_E_INVALID, -1, "bal", "the block carries no BAL");
    }
    if (rc == PAREX_OK) {
        rc = px__bal_decode(&b, err, blk.bal, blk.bal_len, &blk, l);
    }
    if (rc == PAREX_OK && n_txs != NULL) {
        *n_txs = b.n;
    }
    px__bal_release(&b);
    px__block_release(&blk);
    return rc;
}

PAREX_API void parex_bal_root(uint8_t out[32], const uint8_t *bal, size_t len)
{
    if (out != NULL) {
        px__tagged_hash(out, "parex/bal", bal, bal != NULL ? len : 0, NULL,
            0);
    }
}

PAREX_API int parex_block_bal(const uint8_t **bal, size_t *bal_len,
    parex_error_info *err, const uint8_t *block, size_t len,
    const parex_limits *lim)
{
    parex_limits tmp;
    parex_header h;
    size_t n;

    px__err_clear(err);
    if (bal == NULL || bal_len == NULL || block == NULL) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    *bal = NULL;
    *bal_len = 0;
    return px__block_walk(&h, &n, bal, bal_len, err, block, len,
        lim_or_default(lim, &tmp));
}

PAREX_API int parex_block_attach_bal(uint8_t *out, size_t *out_len,
    const uint8_t *block, size_t len, const uint8_t *bal, size_t bal_len)
{
    parex_limits lim;
    parex_header h;
    const uint8_t *old;
    size_t n, old_len, need_len;

    if (out_len == NULL || block == NULL || bal == NULL) {
        return PAREX_E_MISUSE;
    }
    /* The framing is all that is checked, at any size. */
    parex_limits_default(&lim);
    lim.max_block_bytes = UINT64_MAX;
    lim.max_block_txs = UINT32_MAX;
    lim.max_keys_per_set = UINT32_MAX;
    lim.max_args_bytes = UINT32_MAX;
    if (px__block_walk(&h, &n, &old, &old_len, NULL, block, len,
            &lim) != PAREX_OK ||
        old != NULL || bal_len == 0 || bal_len > UINT32_MAX) {
        return PAREX_E_INVALID;
    }
    need_len = len + PX__BAL_TRAILER_BYTES + bal_len;
    if (out == NULL || *out_len < need_len) {
        *out_len = need_len;
        return PAREX_E_BUFFER;
    }
    memcpy(out, block, len);
    px__bal_trailer_write(out + len, bal, bal_len);
    *out_len = need_len;
    return PAREX_OK;
}
