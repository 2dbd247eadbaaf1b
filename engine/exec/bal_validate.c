/* Validating a block that carries a BAL: every tx at once, each against
 * the pre-state the BAL gives it (tx j's pre-value of key k is the BAL's
 * write of the last tx < j that wrote k, else the snapshot); no tx waits
 * for another. Each tx's entry must equal the BAL's entry j exactly; the
 * lowest tx that mismatches (or that the STF rejects) decides the block;
 * docs/architecture.md proves that when none does, the result is the
 * sequential one. */
#include <stdlib.h>
#include <string.h>

#include "bal_impl.h"

static const char *const kind_names[] = {
    "matches",
    "a write's value differs from the BAL's",
    "a write is missing from the BAL",
    "the BAL lists a write the tx did not make",
    "a read is missing from the BAL",
    "the BAL lists a read the tx did not make",
    "the block-end fee credit differs from the BAL's",
    "the recorded BAL differs from the carried one",
};

const char *px__bal_kind_name(int kind)
{
    return kind >= 0 && kind <= PX__BAL_BYTES ? kind_names[kind]
                                                   : "unknown";
}

static int cmp_wref(const void *pa, const void *pb)
{
    const wref *a = pa, *b = pb;
    int c = memcmp(a->w->key, b->w->key, 32);
    if (c != 0) {
        return c;
    }
    return a->tx < b->tx ? -1 : a->tx > b->tx;
}

/* The bucket of a key for sort_wrefs: its first 14 bits. */
#define WR_BITS 14

static size_t wr_bucket(const uint8_t *key)
{
    return ((size_t)key[0] << (WR_BITS - 8)) | (key[1] >> (16 - WR_BITS));
}

/* wr sorted by (key, tx), as one qsort with cmp_wref would sort it (that
 * order is total: a tx writes a key once), but with far fewer 32-byte
 * compares: a counting pass on the key's first bits (state keys are
 * hashes, so about one entry per bucket), then each bucket sorted on its
 * own. It is the serial part of validation, before every tx runs at once
 * (docs/benchmarks.md, "Session 4": one qsort took as long as the
 * reference's whole execution). */
static int sort_wrefs(wref *wr, size_t n)
{
    size_t nb = (size_t)1 << WR_BITS, b, i, lo;
    size_t *start = calloc(nb + 1, sizeof(*start));
    wref *tmp = malloc((n > 0 ? n : 1) * sizeof(*tmp));

    if (start == NULL || tmp == NULL) {
        free(start);
        free(tmp);
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        start[wr_bucket(wr[i].w->key) + 1]++;
    }
    for (b = 0; b < nb; b++) {
        start[b + 1] += start[b];
    }
    /* start[b] is bucket b's first slot; placing moves it to its end. */
    for (i = 0; i < n; i++) {
        tmp[start[wr_bucket(wr[i].w->key)]++] = wr[i];
    }
    for (b = 0, lo = 0; b < nb; b++) {
        if (start[b] - lo > 1) {
            qsort(tmp + lo, start[b] - lo, sizeof(*tmp), cmp_wref);
        }
        lo = start[b];
    }
    PAREX_ASSERT(lo == n);
    if (n > 0) {
        memcpy(wr, tmp, n * sizeof(*wr));
    }
    free(start);
    free(tmp);
    return PAREX_OK;
}

static void mismatch(tres *r, int kind, const uint8_t *key)
{
    r->kind = kind;
    memcpy(r->key, key, 32);
}

/* Tx j's records against its BAL entry: writes first, then reads, each a
 * merge in key order; the first difference is the verdict. */
static void compare(const tctx *t, const px__bal_tx *bt, tres *r)
{
    size_t i = 0;
    uint32_t k = 0;

    for (;;) {
        int c;
        while (i < t->n && !px__bal_changed(&t->a[i])) {
            i++;
        }
        if (i == t->n && k == bt->nw) {
            break;
        }
        c = i == t->n ? 1 : k == bt->nw ? -1
                                        : memcmp(t->a[i].key, bt->w[k].key,
                                              32);
        if (c < 0) {
            mismatch(r, PX__BAL_MISSING_WRITE, t->a[i].key);
            return;
        }
        if (c > 0) {
            mismatch(r, PX__BAL_EXTRA_WRITE, bt->w[k].key);
            return;
        }
        {
            const acc *a = &t->a[i];
            const px__bal_w *w = &bt->w[k];
            if (a->cur_present == w->del || a->cur_len != w->len ||
                (w->len > 0 && memcmp(a->cur, w->val, w->len) != 0)) {
                mismatch(r, PX__BAL_VALUE, w->key);
                return;
            }
        }
        i++;
        k++;
    }
    i = 0;
    k = 0;
    for (;;) {
        int c;
        while (i < t->n && px__bal_changed(&t->a[i])) {
            i++;
        }
        if (i == t->n && k == bt->nr) {
            break;
        }
        c = i == t->n ? 1 : k == bt->nr ? -1
                                        : memcmp(t->a[i].key,
                                              bt->r + 32 * (size_t)k, 32);
        if (c < 0) {
            mismatch(r, PX__BAL_MISSING_READ, t->a[i].key);
            return;
        }
        if (c > 0) {
            mismatch(r, PX__BAL_EXTRA_READ, bt->r + 32 * (size_t)k);
            return;
        }
        i++;
        k++;
    }
}

/* A key's value after the block as the BAL gives it: its last write,
 * or the fee entry for the fee recipient. */
typedef struct bal_fin {
    const uint8_t *key, *val;
    uint32_t len;
    uint8_t del;
} bal_fin;

/* Final values per root item. */
#define ROOT_CHUNK 64

/* The state root's change for finals [b, e): each key's stored value out,
 * its final value in (root.c's rule; unchanged keys cancel). */
static void root_chunk(balx *x, unsigned w, size_t b, size_t e)
{
    px__snap *snap = x->env->workers[w].snap;
    size_t i;

    for (i = b; i < e; i++) {
        const bal_fin *f = &x->fin[i];
        const uint8_t *old;
        size_t len;
        int rc = px__snap_get(snap, PX_DB_STATE, &old, &len, f->key, 32);
        if (rc == PAREX_OK) {
            if (!f->del && len == f->len &&
                (len == 0 || memcmp(old, f->val, len) == 0)) {
                continue;
            }
            if (px__lthash_mix(&x->acc[w], f->key, old, len, -1) != 0) {
                rc = PAREX_E_NOMEM;
            }
        }
        if ((rc == PAREX_OK || rc == PAREX_E_NOTFOUND) && !f->del) {
            rc = px__lthash_mix(&x->acc[w], f->key, f->val, f->len, 1) == 0
                ? PAREX_OK
                : PAREX_E_NOMEM;
        }
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            int zero = 0;
            atomic_compare_exchange_strong(&x->root_err, &zero, rc);
        }
    }
}

/* Items [0, root_items) are chunks of the root's change, taken first;
 * item root_items + j is tx j. */
static void validate_job(void *arg, unsigned w, size_t b, size_t e)
{
    balx *x = arg;
    tctx *t = &x->ctx[w];
    size_t it;

    t->snap = x->env->workers[w].snap;
    t->arena = &x->env->workers[w].arena;
    for (it = b; it < e; it++) {
        size_t j = it - x->root_items;
        tres *r;
        if (it < x->root_items) {
            size_t lo = it * ROOT_CHUNK, hi = lo + ROOT_CHUNK;
            root_chunk(x, w, lo, hi < x->n_fin ? hi : x->n_fin);
            continue;
        }
        r = &x->res[j];
        uint64_t ts = x->env->profile != NULL ? px__now_ns() : 0;
        r->rc = px__bal_run_tx(x, t, j, &r->out);
        if (r->rc == PAREX_OK && r->out.reject == PAREX_REJECT_NONE) {
            compare(t, &x->bal->tx[j], r);
        }
        if (x->env->profile != NULL) {
            x->env->profile[j].exec_ns += px__now_ns() - ts;
            x->env->profile[j].incarnations++;
            x->env->profile[j].batch = 0;
        }
    }
}

/* A change of the result, key and value copied into its arena. */
static int push_copy(px__result *res, const uint8_t *key, const uint8_t *val,
    uint32_t len, int del)
{
    uint8_t *k = px__arena_copy(&res->arena, key, 32);
    const uint8_t *v = NULL;

    if (k == NULL || (!del && (v = px__arena_copy(&res->arena, val, len)) ==
                                  NULL)) {
        return PAREX_E_NOMEM;
    }
    return px__result_push(res, k, v, len, del);
}

/* The final values from x->wr (sorted by key, then tx), the fee entry in
 * place of the fee recipient's last write. */
static int finals(balx *x, const px__bal *bal)
{
    size_t i, n = 0;
    int fee_done = 0;

    x->fin = malloc((x->n_wr + 1) * sizeof(*x->fin));
    if (x->fin == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < x->n_wr; i++) {
        const px__bal_w *w = x->wr[i].w;
        bal_fin *f = &x->fin[n];
        if (i + 1 < x->n_wr && memcmp(x->wr[i + 1].w->key, w->key, 32) == 0) {
            continue;
        }
        f->key = w->key;
        f->val = w->val;
        f->len = w->len;
        f->del = w->del;
        if (bal->has_fee && memcmp(w->key, bal->fee_key, 32) == 0) {
            f->val = bal->fee_val;
            f->len = bal->fee_len;
            f->del = 0;
            fee_done = 1;
        }
        n++;
    }
    if (bal->has_fee && !fee_done) {
        x->fin[n].key = bal->fee_key;
        x->fin[n].val = bal->fee_val;
        x->fin[n].len = bal->fee_len;
        x->fin[n].del = 0;
        n++;
    }
    x->n_fin = n;
    x->root_items = (n + ROOT_CHUNK - 1) / ROOT_CHUNK;
    return PAREX_OK;
}

int px__exec_bal_validate(const px__exec_env *env, const px__bal *bal,
    px__result *res, px__bal_verdict *v, px__lthash *lt_delta)
{
    balx x;
    size_t j, i, n = env->blk->n;
    uint64_t t0 = px__now_ns();
    int rc;

    memset(&x, 0, sizeof(x));
    v->tx = -1;
    v->kind = PX__BAL_OK;
    PAREX_ASSERT(bal->n == n);
    x.env = env;
    x.bal = bal;
    for (j = 0; j < n; j++) {
        x.n_wr += bal->tx[j].nw;
    }
    x.wr = malloc((x.n_wr > 0 ? x.n_wr : 1) * sizeof(*x.wr));
    x.res = calloc(n > 0 ? n : 1, sizeof(*x.res));
    rc = x.wr == NULL || x.res == NULL ? PAREX_E_NOMEM
                                       : px__bal_ctxs_init(&x, env->threads);
    if (rc != PAREX_OK) {
        goto out;
    }
    for (i = 0, j = 0; j < n; j++) {
        uint32_t k;
        for (k = 0; k < bal->tx[j].nw; k++) {
            x.wr[i].w = &bal->tx[j].w[k];
            x.wr[i++].tx = (uint32_t)j;
        }
    }
    rc = sort_wrefs(x.wr, x.n_wr);
    if (rc != PAREX_OK) {
        goto out;
    }
    atomic_init(&x.root_err, 0);
    x.acc = calloc(env->threads, sizeof(*x.acc));
    rc = x.acc == NULL ? PAREX_E_NOMEM : finals(&x, bal);
    if (rc != PAREX_OK) {
        goto out;
    }
    res->analysis_ns = px__now_ns() - t0;
    t0 = px__now_ns();
    /* Every tx at once: nothing a tx reads depends on another's run; the
     * state root's change from the BAL's final values beside them. */
    px__pool_run(env->pool, validate_job, &x, x.root_items + n, 1);
    res->exec_ns = px__now_ns() - t0;
    rc = atomic_load(&x.root_err);
    if (rc != PAREX_OK) {
        goto out;
    }
    px__lthash_zero(lt_delta);
    for (i = 0; i < env->threads; i++) {
        px__lthash_add(lt_delta, &x.acc[i]);
    }
    t0 = px__now_ns();
    /* In block order: the lowest tx that fails or mismatches decides. */
    for (j = 0; j < n; j++) {
        tres *r = &x.res[j];
        if (r->rc != PAREX_OK) {
            rc = r->rc;
            goto out;
        }
        if (r->out.reject == PAREX_REJECT_NONE && r->kind != PX__BAL_OK) {
            res->reject_tx = (int64_t)j;
            res->reject = PAREX_REJECT_BAL_MISMATCH;
            memcpy(res->reject_field, "bal", 4);
            v->tx = (int64_t)j;
            v->kind = r->kind;
            memcpy(v->key, r->key, 32);
            goto out;
        }
        if (px__stf_settle(res, env->receipts, j, &r->out)) {
            goto out;
        }
    }
    res->validate_ns = px__now_ns() - t0;
    t0 = px__now_ns();
    /* The state after the block: each key's last BAL write. */
    for (i = 0; i < x.n_wr; i++) {
        const px__bal_w *w = x.wr[i].w;
        if (i + 1 < x.n_wr && memcmp(x.wr[i + 1].w->key, w->key, 32) == 0) {
            continue;
        }
        rc = push_copy(res, w->key, w->val, w->len, w->del);
        if (rc != PAREX_OK) {
            goto out;
        }
    }
    px__result_sort(res);
    res->apply_ns = px__now_ns() - t0;
    res->batches = n > 0 ? 1 : 0;
out:
    px__balx_free(&x, env->threads);
    return rc;
}

