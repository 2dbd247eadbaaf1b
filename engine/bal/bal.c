/* The canonical encoding of block access lists: decoding, which rejects
 * every non-canonical form, and the public helpers of parex_bal.h (the
 * block trailer, the BAL root).
 *
 *   bal   = u8 version (1) || u32 n_txs || n_txs * entry || fee
 *   entry = u32 n_writes || n_writes * write || u32 n_reads || n_reads * key
 *   write = key[32] || u8 kind (0 deleted, 1 value) || [u32 len || bytes]
 *   fee   = u8 0 | u8 1 || key[32] || u32 len || bytes
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "bal/bal.h"

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

#define BAD(code, j, field, ...)                                              \
    px__fail(err, (code), (code) == PAREX_E_LIMIT ? PAREX_REJECT_LIMIT        \
                                                  : PAREX_REJECT_MALFORMED,   \
        (j), (field), __VA_ARGS__)

/* One pass over the encoding, filling out's arrays (sized by the caller
 * for every entry and write that fits in len bytes). The key order checks
 * compare inline (px__bal_key_lt): hashed keys differ in their first 8
 * bytes, so no call into memcmp per key. */
static int parse(px__bal *out, parex_error_info *err, const uint8_t *in,
    size_t len, const parex_limits *lim)
{
    rd r = { in, len, 0 };
    size_t j, n, nw_all = 0;
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
    for (j = 0; j < n; j++) {
        size_t start = r.off;
        uint32_t nw, nr;
        const uint8_t *prev = NULL;
        const px__bal_w *wv;
        if (!need(&r, 4)) {
            return BAD(PAREX_E_INVALID, (int64_t)j, "bal.writes", "BAL entry "
                "%zu: truncated before its write count", j);
        }
        nw = px__ld32(in + r.off);
        r.off += 4;
        if (nw > lim->max_tx_accesses || !need(&r, (size_t)nw * 33)) {
            return BAD(nw > lim->max_tx_accesses ? PAREX_E_LIMIT
                                                 : PAREX_E_INVALID,
                (int64_t)j, "bal.writes", "BAL entry %zu: %u writes (limit "
                "%u, %zu bytes left)", j, nw, lim->max_tx_accesses,
                r.len - r.off);
        }
        /* The writes fit in the bytes left (33 each), so in out->w. */
        PAREX_ASSERT(nw_all + nw <= out->cap_w);
        wv = out->w + nw_all;
        for (i = 0; i < nw; i++) {
            const uint8_t *key = in + r.off;
            uint8_t kind;
            uint32_t vl = 0;
            if (!need(&r, 33)) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.writes", "BAL "
                    "entry %zu: write %u truncated", j, i);
            }
            if (prev != NULL && !px__bal_key_lt(prev, key)) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.writes", "BAL "
                    "entry %zu: write keys not strictly increasing at %u",
                    j, i);
            }
            prev = key;
            kind = in[r.off + 32];
            r.off += 33;
            if (kind > 1) {
                return BAD(PAREX_E_INVALID, (int64_t)j, "bal.kind", "BAL "
                    "entry %zu: write %u has kind %u (0 or 1)", j, i, kind);
            }
            if (kind == 1) {
                if (!need(&r, 4)) {
                    return BAD(PAREX_E_INVALID, (int64_t)j, "bal.value",
                        "BAL entry %zu: write %u truncated", j, i);
                }
                vl = px__ld32(in + r.off);
                r.off += 4;
                if (vl > lim->max_value_bytes || !need(&r, vl)) {
                    return BAD(vl > lim->max_value_bytes ? PAREX_E_LIMIT
                                                         : PAREX_E_INVALID,
                        (int64_t)j, "bal.value", "BAL entry %zu: write %u "
                        "value of %u bytes (limit %u, %zu left)", j, i, vl,
                        lim->max_value_bytes, r.len - r.off);
                }
            }
            {
                px__bal_w *w = &out->w[nw_all + i];
                w->key = key;
                w->top = (uint16_t)((unsigned)key[0] << 8 | key[1]);
                w->del = kind == 0;
                w->val = kind == 1 ? in + r.off : NULL;
                w->len = vl;
            }
            r.off += vl;
        }
        if (!need(&r, 4)) {
            return BAD(PAREX_E_INVALID, (int64_t)j, "bal.reads", "BAL entry "
                "%zu: truncated before its read count", j);
        }
        nr = px__ld32(in + r.off);
        r.off += 4;
        if ((uint64_t)nr + nw > lim->max_tx_accesses ||
            !need(&r, (size_t)nr * 32)) {
            return BAD((uint64_t)nr + nw > lim->max_tx_accesses
                    ? PAREX_E_LIMIT
                    : PAREX_E_INVALID,
                (int64_t)j, "bal.reads", "BAL entry %zu: %u reads and %u "
                "writes (limit %u keys, %zu bytes left)", j, nr, nw,
                lim->max_tx_accesses, r.len - r.off);
        }
        /* Reads strictly increasing and disjoint from the writes: a merge
         * against the (already checked) write keys. */
        k = 0;
        for (i = 0; i < nr; i++) {
            const uint8_t *key = in + r.off + 32 * (size_t)i;
            if (i > 0 && !px__bal_key_lt(key - 32, key)) {
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
        }
        /* Entry j took at least 8 bytes after the 5 of the header. */
        PAREX_ASSERT(j < out->cap_tx);
        {
            px__bal_tx *t = &out->tx[j];
            t->w = wv;
            t->nw = nw;
            t->r = in + r.off;
            t->nr = nr;
            t->enc = in + start;
            t->enc_len = r.off + 32 * (size_t)nr - start;
        }
        r.off += 32 * (size_t)nr;
        nw_all += nw;
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
    out->n = n;
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

/* *p holds at least n elements of size sz (grown, contents dropped):
 * 0, or -1 when memory cannot be had (then *p and *cap are unchanged). */
static int reserve(void **p, size_t *cap, size_t n, size_t sz)
{
    void *np;

    if (n <= *cap) {
        return 0;
    }
    np = malloc(n * sz);
    if (np == NULL) {
        return -1;
    }
    free(*p);
    *p = np;
    *cap = n;
    return 0;
}

int px__bal_decode(px__bal *out, parex_error_info *err, const uint8_t *in,
    size_t len, const parex_limits *lim)
{
    /* Bounds on what len bytes can hold (an entry takes 8 bytes or more,
     * a write 33), so that one pass fills arrays sized before it: no
     * counting pass, and a warm px__bal allocates nothing. */
    size_t max_tx = len > 5 ? (len - 5) / 8 : 0;
    size_t max_w = len > 5 ? (len - 5) / 33 : 0;
    void *tx = out->tx, *w = out->w;
    size_t cap_tx = out->cap_tx, cap_w = out->cap_w;

    if (len >= 5 && px__ld32(in + 1) < max_tx) {
        max_tx = px__ld32(in + 1);
    }
    if (reserve(&tx, &cap_tx, max_tx > 0 ? max_tx : 1, sizeof(px__bal_tx)) ||
        reserve(&w, &cap_w, max_w > 0 ? max_w : 1, sizeof(px__bal_w))) {
        out->tx = tx;
        out->cap_tx = cap_tx;
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    memset(out, 0, sizeof(*out));
    out->tx = tx;
    out->cap_tx = cap_tx;
    out->w = w;
    out->cap_w = cap_w;
    return parse(out, err, in, len, lim);
}

void px__bal_release(px__bal *b)
{
    free(b->tx);
    free(b->w);
    memset(b, 0, sizeof(*b));
}

PAREX_API int parex_bal_check(size_t *n_txs, parex_error_info *err,
    const uint8_t *bal, size_t len, const parex_limits *lim)
{
    parex_limits tmp;
    px__bal b;
    int rc;

    memset(&b, 0, sizeof(b));
    px__err_clear(err);
    if (n_txs != NULL) {
        *n_txs = 0;
    }
    if (bal == NULL && len > 0) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    if (bal == NULL) {
        return BAD(PAREX_E_INVALID, -1, "bal", "empty BAL");
    }
    rc = px__bal_decode(&b, err, bal, len, lim_or_default(lim, &tmp));
    if (rc == PAREX_OK && n_txs != NULL) {
        *n_txs = b.n;
    }
    px__bal_release(&b);
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
