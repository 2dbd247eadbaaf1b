/* The block-access-list executor: records the BAL of a block as it runs
 * it in block order, and validates a block that carries one by running
 * every tx at once, each against the pre-state the BAL gives it.
 *
 * Both modes run each tx through the one state-transition function
 * (engine/exec/stf.c) on a ctx that records what the tx touched: per key
 * its value before the tx (pre) and now (cur). After the tx its entry is
 * the keys whose value changed (writes, with the post-value or deletion)
 * and the other keys it touched (reads), each sorted: what the BAL lists.
 *
 *   record    tx j's pre-values come from the block overlay (the writes
 *             of txs < j), else the snapshot; its entry is appended.
 *   validate  tx j's pre-value of key k is the BAL's write of the last
 *             tx < j that wrote k, else the snapshot; no tx waits for
 *             another. Its entry must equal the BAL's entry j exactly.
 *             The lowest tx that mismatches (or that the STF rejects)
 *             decides the block; docs/architecture.md proves that when
 *             none does, the result is the sequential one.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "bal/bal.h"

typedef struct acc {
    uint8_t key[32];
    const uint8_t *pre, *cur;
    uint32_t pre_len, cur_len;
    uint8_t pre_present, cur_present;
} acc;

typedef struct wref {
    const px__bal_w *w;
    uint32_t tx;
} wref;

typedef struct ovent {
    const uint8_t *val;
    uint32_t len;
    uint8_t present;
} ovent;

/* Outcome of one tx under validation. */
typedef struct tres {
    px__outcome out;
    int rc;
    int kind;           /* PX__BAL_OK or the mismatch */
    uint8_t key[32];
} tres;

typedef struct balx balx;

typedef struct tctx {
    parex_ctx base;
    balx *x;
    px__snap *snap;
    px__arena *arena;
    size_t j;
    px__keymap km;      /* key -> index into a */
    acc *a;
    size_t n, cap;
    size_t acct;        /* the prelude's put: restored after rollback */
    const uint8_t *acct_val;
    uint32_t acct_len;
    unsigned puts;
} tctx;

struct balx {
    const px__exec_env *env;
    const px__bal *bal;     /* validate: the carried BAL */
    wref *wr;               /* validate: its writes by key, then tx */
    size_t n_wr;
    px__keymap ov;          /* record: key -> index into ove */
    ovent *ove;
    size_t n_ove, cap_ove;
    tres *res;
    tctx *ctx;              /* one per worker */
};

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

/* The first wref in x->wr at or after (key, tx j): the one before it, if
 * it has key, is the last write of key by a tx below j. */
static size_t wr_lower(const balx *x, const uint8_t *key, size_t j)
{
    size_t lo = 0, hi = x->n_wr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(x->wr[mid].w->key, key, 32);
        if (c < 0 || (c == 0 && x->wr[mid].tx < j)) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The value of key before tx t->j: PAREX_OK (*present, *v, *l set) or a
 * snapshot error. */
static int source(tctx *t, const uint8_t *key, const uint8_t **v,
    uint32_t *l, uint8_t *present)
{
    balx *x = t->x;
    size_t sl;
    int rc;

    if (x->bal != NULL) {
        size_t i = wr_lower(x, key, t->j);
        if (i > 0 && memcmp(x->wr[i - 1].w->key, key, 32) == 0) {
            const px__bal_w *w = x->wr[i - 1].w;
            *present = !w->del;
            *v = w->val;
            *l = w->len;
            return PAREX_OK;
        }
    } else {
        px__keyslot *s = px__keymap_find(&x->ov, key);
        if (s != NULL) {
            const ovent *o = &x->ove[s->val.u64];
            *present = o->present;
            *v = o->val;
            *l = o->len;
            return PAREX_OK;
        }
    }
    rc = px__snap_get(t->snap, PX_DB_STATE, v, &sl, key, 32);
    if (rc == PAREX_E_NOTFOUND) {
        *present = 0;
        *v = NULL;
        *l = 0;
        return PAREX_OK;
    }
    *present = 1;
    *l = (uint32_t)sl;
    return rc;
}

/* The record of key in this tx, created (with its pre-value) on first
 * touch; PAREX_E_LIMIT past max_tx_accesses distinct keys, as the other
 * executors. */
static int get_acc(tctx *t, const uint8_t *key, acc **out)
{
    int added, rc;
    px__keyslot *s = px__keymap_insert(&t->km, key, &added);
    acc *a;

    if (s == NULL) {
        return PAREX_E_NOMEM;
    }
    if (!added) {
        *out = &t->a[s->val.u64];
        return PAREX_OK;
    }
    if (t->n >= t->base.lim->max_tx_accesses) {
        px__keymap_delete(&t->km, key);
        return PAREX_E_LIMIT;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        acc *na = realloc(t->a, cap * sizeof(*na));
        if (na == NULL) {
            px__keymap_delete(&t->km, key);
            return PAREX_E_NOMEM;
        }
        t->a = na;
        t->cap = cap;
    }
    a = &t->a[t->n];
    memcpy(a->key, key, 32);
    rc = source(t, key, &a->pre, &a->pre_len, &a->pre_present);
    if (rc != PAREX_OK) {
        px__keymap_delete(&t->km, key);
        return rc;
    }
    a->cur = a->pre;
    a->cur_len = a->pre_len;
    a->cur_present = a->pre_present;
    s->val.u64 = t->n++;
    *out = a;
    return PAREX_OK;
}

static int bal_get(parex_ctx *ctx, const uint8_t **val, size_t *len,
    const uint8_t key[32])
{
    acc *a;
    int rc = get_acc((tctx *)ctx, key, &a);

    if (rc != PAREX_OK) {
        return rc;
    }
    if (!a->cur_present) {
        return PAREX_E_NOTFOUND;
    }
    *val = a->cur;
    *len = a->cur_len;
    return PAREX_OK;
}

static int bal_put(parex_ctx *ctx, const uint8_t key[32], const uint8_t *val,
    size_t len, int del)
{
    tctx *t = (tctx *)ctx;
    const uint8_t *copy = NULL;
    acc *a;
    int rc = get_acc(t, key, &a);

    if (rc != PAREX_OK) {
        return rc;
    }
    if (!del && (copy = px__arena_copy(t->arena, val, len)) == NULL) {
        return PAREX_E_NOMEM;
    }
    a->cur = copy;
    a->cur_len = del ? 0 : (uint32_t)len;
    a->cur_present = !del;
    if (t->puts++ == 0) {
        t->acct = (size_t)(a - t->a);
        t->acct_val = a->cur;
        t->acct_len = a->cur_len;
    }
    return PAREX_OK;
}

/* Everything but the prelude's put goes back to its pre-value. */
static void bal_rollback(parex_ctx *ctx)
{
    tctx *t = (tctx *)ctx;
    size_t i;

    PAREX_ASSERT(t->puts >= 1);
    for (i = 0; i < t->n; i++) {
        t->a[i].cur = t->a[i].pre;
        t->a[i].cur_len = t->a[i].pre_len;
        t->a[i].cur_present = t->a[i].pre_present;
    }
    t->a[t->acct].cur = t->acct_val;
    t->a[t->acct].cur_len = t->acct_len;
    t->a[t->acct].cur_present = 1;
}

static const px__ctx_ops bal_ops = { bal_get, bal_put, bal_rollback };

static int cmp_acc(const void *pa, const void *pb)
{
    return memcmp(((const acc *)pa)->key, ((const acc *)pb)->key, 32);
}

static int changed(const acc *a)
{
    return a->pre_present != a->cur_present ||
        (a->cur_present && (a->pre_len != a->cur_len ||
                               (a->cur_len > 0 &&
                                   memcmp(a->pre, a->cur, a->cur_len) != 0)));
}

/* Runs tx j on t; its records end sorted by key. */
static int run_tx(balx *x, tctx *t, size_t j, px__outcome *out)
{
    const px__exec_env *env = x->env;
    int rc;

    t->base.ops = &bal_ops;
    t->base.btx = &env->blk->txs[j];
    t->base.height = env->blk->hdr.height;
    t->base.lim = env->lim;
    t->x = x;
    t->j = j;
    t->n = 0;
    t->puts = 0;
    px__keymap_clear(&t->km);
    rc = px__tx_run(&t->base, env->progs, out);
    if (rc == PAREX_OK && t->n > 1) {
        qsort(t->a, t->n, sizeof(*t->a), cmp_acc);
    }
    return rc;
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
        while (i < t->n && !changed(&t->a[i])) {
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
        while (i < t->n && changed(&t->a[i])) {
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

static void validate_job(void *arg, unsigned w, size_t b, size_t e)
{
    balx *x = arg;
    tctx *t = &x->ctx[w];
    size_t j;

    t->snap = x->env->workers[w].snap;
    t->arena = &x->env->workers[w].arena;
    for (j = b; j < e; j++) {
        tres *r = &x->res[j];
        uint64_t ts = x->env->profile != NULL ? px__now_ns() : 0;
        r->rc = run_tx(x, t, j, &r->out);
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

static int ctxs_init(balx *x, unsigned n)
{
    unsigned i;

    x->ctx = calloc(n, sizeof(*x->ctx));
    if (x->ctx == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        px__keymap_init(&x->ctx[i].km, 64);
    }
    return PAREX_OK;
}

static void balx_free(balx *x, unsigned n)
{
    unsigned i;

    if (x->ctx != NULL) {
        for (i = 0; i < n; i++) {
            px__keymap_free(&x->ctx[i].km);
            free(x->ctx[i].a);
        }
    }
    free(x->ctx);
    free(x->wr);
    free(x->res);
    free(x->ove);
    px__keymap_free(&x->ov);
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

int px__exec_bal_validate(const px__exec_env *env, const px__bal *bal,
    px__result *res, px__bal_verdict *v)
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
                                       : ctxs_init(&x, env->threads);
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
    qsort(x.wr, x.n_wr, sizeof(*x.wr), cmp_wref);
    res->analysis_ns = px__now_ns() - t0;
    t0 = px__now_ns();
    /* Every tx at once: nothing a tx reads depends on another's run. */
    px__pool_run(env->pool, validate_job, &x, n, 1);
    res->exec_ns = px__now_ns() - t0;
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
    balx_free(&x, env->threads);
    return rc;
}

/* Appends tx j's entry (t's records, sorted) to the encoding. */
static void encode_entry(px__buf *b, const tctx *t)
{
    size_t i;
    uint32_t nw = 0;
    uint8_t kind;

    for (i = 0; i < t->n; i++) {
        nw += (uint32_t)changed(&t->a[i]);
    }
    px__buf_u32(b, nw);
    for (i = 0; i < t->n; i++) {
        const acc *a = &t->a[i];
        if (!changed(a)) {
            continue;
        }
        px__buf_put(b, a->key, 32);
        kind = a->cur_present;
        px__buf_put(b, &kind, 1);
        if (kind) {
            px__buf_u32(b, a->cur_len);
            px__buf_put(b, a->cur, a->cur_len);
        }
    }
    px__buf_u32(b, (uint32_t)t->n - nw);
    for (i = 0; i < t->n; i++) {
        if (!changed(&t->a[i])) {
            px__buf_put(b, t->a[i].key, 32);
        }
    }
}

/* Its changed keys into the block overlay. */
static int apply(balx *x, const tctx *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        const acc *a = &t->a[i];
        int added;
        px__keyslot *s;
        if (!changed(a)) {
            continue;
        }
        s = px__keymap_insert(&x->ov, a->key, &added);
        if (s == NULL) {
            return PAREX_E_NOMEM;
        }
        if (added) {
            if (x->n_ove == x->cap_ove) {
                size_t cap = x->cap_ove ? 2 * x->cap_ove : 1024;
                ovent *no = realloc(x->ove, cap * sizeof(*no));
                if (no == NULL) {
                    px__keymap_delete(&x->ov, a->key);
                    return PAREX_E_NOMEM;
                }
                x->ove = no;
                x->cap_ove = cap;
            }
            s->val.u64 = x->n_ove++;
        }
        x->ove[s->val.u64].val = a->cur;
        x->ove[s->val.u64].len = a->cur_len;
        x->ove[s->val.u64].present = a->cur_present;
    }
    return PAREX_OK;
}

int px__exec_bal_record(const px__exec_env *env, px__result *res,
    px__buf *out)
{
    balx x;
    tctx *t;
    size_t j, n = env->blk->n;
    uint8_t hdr[5];
    const px__keyslot *ks;
    uint64_t t0 = px__now_ns();
    int rc;

    memset(&x, 0, sizeof(x));
    x.env = env;
    px__keymap_init(&x.ov, 1024);
    rc = ctxs_init(&x, 1);
    if (rc != PAREX_OK) {
        goto out;
    }
    t = &x.ctx[0];
    t->snap = env->workers[0].snap;
    t->arena = &res->arena;
    out->len = 0;
    out->oom = 0;
    hdr[0] = PAREX_BAL_VERSION;
    px__st32(hdr + 1, (uint32_t)n);
    px__buf_put(out, hdr, 5);
    for (j = 0; j < n; j++) {
        px__outcome o;
        uint64_t ts = px__now_ns();
        rc = run_tx(&x, t, j, &o);
        if (env->profile != NULL) {
            env->profile[j].exec_ns += px__now_ns() - ts;
            env->profile[j].incarnations++;
            env->profile[j].batch = (uint32_t)j;
        }
        if (rc != PAREX_OK) {
            goto out;
        }
        if (px__stf_settle(res, env->receipts, j, &o)) {
            goto out;
        }
        encode_entry(out, t);
        rc = apply(&x, t);
        if (rc != PAREX_OK) {
            goto out;
        }
    }
    res->exec_ns = px__now_ns() - t0;
    t0 = px__now_ns();
    for (j = 0; (ks = px__keymap_next(&x.ov, &j)) != NULL;) {
        const ovent *o = &x.ove[ks->val.u64];
        uint8_t *k = px__arena_copy(&res->arena, ks->key, 32);
        if (k == NULL) {
            rc = PAREX_E_NOMEM;
            goto out;
        }
        rc = px__result_push(res, k, o->val, o->len, !o->present);
        if (rc != PAREX_OK) {
            goto out;
        }
    }
    px__result_sort(res);
    res->apply_ns = px__now_ns() - t0;
    res->batches = n;
    res->fallback = 1;
    rc = out->oom ? PAREX_E_NOMEM : PAREX_OK;
out:
    balx_free(&x, 1);
    return rc;
}
