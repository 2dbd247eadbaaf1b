/* Validating a block that carries a BAL: every tx at once, each against
 * the pre-state the BAL gives it (tx j's pre-value of key k is the BAL's
 * write of the last tx < j that wrote k, else the snapshot); no tx waits
 * for another. Each tx's entry must equal the BAL's entry j exactly; the
 * lowest tx that mismatches (or that the STF rejects) decides the block;
 * docs/architecture.md proves that when none does, the result is the
 * sequential one. */
#include <sched.h>
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

/* Blocks with fewer BAL writes index them in one part (one item). */
#define PART_MIN_WRITES 256
/* At most this many parts (each scans every write for its keys). */
#define PART_MAX 64

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) {
        c *= 2;
    }
    return c;
}

/* The written key of the part's table for key (h: its hash), inserted
 * when new (its index in *kid either way). */
static void wkey_insert(wpart *pt, const uint8_t *key, uint64_t h,
    uint32_t *kid)
{
    size_t i;

    for (i = (size_t)h & pt->mask;; i = (i + 1) & pt->mask) {
        uint64_t s = pt->slot[i];
        if (s == 0) {
            wkey *k = &pt->k[pt->nk];
            memcpy(k->key, key, 32);
            k->first = 0;
            k->n = 0;
            *kid = (uint32_t)pt->nk++;
            pt->slot[i] = (h >> 32) << 32 | (uint64_t)(*kid + 1);
            return;
        }
        if ((uint32_t)(s >> 32) == (uint32_t)(h >> 32) &&
            px__keymap_eq(pt->k[(uint32_t)s - 1].key, key)) {
            *kid = (uint32_t)s - 1;
            return;
        }
    }
}

/* Part p of the index: its keys' writes grouped by key in tx order and
 * the state after the block (copies in the worker's arena, sorted). On
 * the worker wk that takes it; reads only the BAL. */
static int build_part(balx *x, unsigned p, px__worker *wk)
{
    const px__bal *bal = x->bal;
    wpart *pt = &x->part[p];
    pw *tmp = pt->tmp;
    size_t n = 0, j, e, first, slots;

    for (j = 0; j < bal->n; j++) {
        const px__bal_tx *bt = &bal->tx[j];
        uint32_t k;
        for (k = 0; k < bt->nw; k++) {
            const px__bal_w *w = &bt->w[k];
            /* Every part scans every write: by its top bits, so that the
             * other parts' keys are not loaded. */
            if (px__bal_part_of_top(w->top, x->n_part) != p) {
                continue;
            }
            if (n == pt->cap_tmp) {
                size_t nc = pt->cap_tmp ? 2 * pt->cap_tmp : 1024;
                pw *nt = realloc(tmp, nc * sizeof(*nt));
                if (nt == NULL) {
                    return PAREX_E_NOMEM;
                }
                pt->tmp = tmp = nt;
                pt->cap_tmp = nc;
            }
            tmp[n].h = px__keymap_hash(w->key, x->s0, x->s1);
            tmp[n].tx = (uint32_t)j;
            tmp[n++].w = (uint32_t)(w - bal->w);
        }
    }
    /* The part's arrays, kept from earlier blocks when large enough. */
    slots = pow2_at_least(2 * n);
    if (slots > pt->cap_slot) {
        free(pt->slot);
        pt->slot = malloc(slots * sizeof(*pt->slot));
        pt->cap_slot = pt->slot != NULL ? slots : 0;
    }
    if (n > pt->cap || pt->cap == 0) {
        size_t c = n > 0 ? n : 1;
        free(pt->k);
        free(pt->wl);
        free(pt->chg);
        pt->k = malloc(c * sizeof(*pt->k));
        pt->wl = malloc(c * sizeof(*pt->wl));
        pt->chg = malloc(c * sizeof(*pt->chg));
        pt->cap = pt->k != NULL && pt->wl != NULL && pt->chg != NULL ? c : 0;
    }
    if (pt->cap_slot == 0 || pt->cap == 0) {
        return PAREX_E_NOMEM;
    }
    pt->mask = slots - 1;
    memset(pt->slot, 0, slots * sizeof(*pt->slot));
    pt->nk = 0;
    /* Keys in order of first write; then each key's writes placed in tx
     * order (tmp is in tx order). */
    for (e = 0; e < n; e++) {
        uint32_t kid;
        wkey_insert(pt, bal->w[tmp[e].w].key, tmp[e].h, &kid);
        pt->k[kid].n++;
        tmp[e].h = kid;
    }
    for (e = 0, first = 0; e < pt->nk; e++) {
        pt->k[e].first = (uint32_t)first;
        first += pt->k[e].n;
        pt->k[e].n = 0;
    }
    for (e = 0; e < n; e++) {
        wkey *k = &pt->k[tmp[e].h];
        pt->wl[k->first + k->n].tx = tmp[e].tx;
        pt->wl[k->first + k->n++].w = tmp[e].w;
    }
    pt->nwl = n;
    for (e = 0; e < pt->nk; e++) {
        const wkey *k = &pt->k[e];
        const px__bal_w *w = &bal->w[pt->wl[k->first + k->n - 1].w];
        px__change *c = &pt->chg[e];
        /* Key and value in one allocation (the value after the key). */
        uint8_t *kv = px__arena_alloc(&wk->arena, 32 + (w->del ? 0 : w->len));
        if (kv == NULL) {
            return PAREX_E_NOMEM;
        }
        memcpy(kv, w->key, 32);
        if (!w->del && w->len > 0) {
            memcpy(kv + 32, w->val, w->len);
        }
        c->key = kv;
        c->top = px__key_top(kv);
        c->val = w->del ? NULL : kv + 32;
        c->len = w->del ? 0 : w->len;
        c->del = w->del;
    }
    px__changes_sort(pt->chg, pt->nk, &wk->sort);
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
                                        : px__bal_key_cmp(t->a[i].key,
                                              bt->w[k].key);
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
                                        : px__bal_key_cmp(t->a[i].key,
                                              bt->r + 32 * (size_t)k);
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

/* Txs per item of the validation job: fewer claims of the pool's shared
 * counter, and neighbouring results written by one worker. The last
 * TX_TAIL_PER_THREAD txs per thread (or more, to a whole chunk) are one
 * tx an item, so that the threads finish within about a tx of each
 * other rather than a chunk: on a block of a few hundred txs a chunk is
 * several percent of a thread's share. */
#define TX_CHUNK 8
#define TX_TAIL_PER_THREAD 16

/* Until every part of the index is built. Parts are the job's first
 * items and the pool claims items in order, so each part is already
 * being built by a thread that does not wait. */
static void await_index(balx *x)
{
    unsigned spins = 0;

    while (atomic_load_explicit(&x->parts_done, memory_order_acquire) <
        x->n_part) {
        if ((++spins & 63) == 0) {
            sched_yield();
        }
    }
}

/* Tx j's records and BAL entry toward this core's cache while the tx
 * before it runs: another core decoded and verified them, so each first
 * touch would otherwise wait for a line from there. */
static void prefetch_tx(const balx *x, size_t j)
{
    const px__btx *b;
    const px__bal_tx *bt;
    size_t o;

    if (j >= x->bal->n) {
        return;
    }
    b = &x->env->blk->txs[j];
    bt = &x->bal->tx[j];
    __builtin_prefetch(b);
    __builtin_prefetch((const char *)b + 64);
    __builtin_prefetch(bt);
    for (o = 0; o < bt->enc_len; o += 64) {
        __builtin_prefetch(bt->enc + o);
    }
    for (o = 0; o < b->tx.args_len; o += 64) {
        __builtin_prefetch(b->tx.args + o);
    }
    __builtin_prefetch(bt->w);
}

/* Txs [lo, hi) on worker w's context. */
static void validate_txs(balx *x, unsigned w, size_t lo, size_t hi)
{
    tctx *t = &x->ctx[w];
    size_t j;

    t->snap = x->env->workers[w].snap;
    t->arena = &x->env->workers[w].arena;
    for (j = lo; j < hi; j++) {
        tres *r = &x->res[j];
        uint64_t ts = x->env->profile != NULL ? px__now_ns() : 0;
        prefetch_tx(x, j + 1);
        r->kind = PX__BAL_OK;
        r->rc = px__bal_run_tx(x, t, j, &r->out);
        if (r->rc == PAREX_OK && r->out.reject == PAREX_REJECT_NONE &&
            !px__bal_listed_match(t, &x->bal->tx[j])) {
            px__bal_records_sort(t);
            compare(t, &x->bal->tx[j], r);
        }
        if (x->env->profile != NULL) {
            x->env->profile[j].exec_ns += px__now_ns() - ts;
            x->env->profile[j].incarnations++;
            x->env->profile[j].batch = 0;
        }
    }
}

/* The block's one job: items [0, n_part) build the index's parts, item
 * n_part + i validates txs [TX_CHUNK * i, TX_CHUNK * (i + 1)) for i <
 * n_big, then one tx an item, once every part is built. One job instead
 * of an index job and a tx job: no second post and no barrier on the
 * whole pool between them (a thread that arrives late takes txs where
 * the others are). */
static void block_job(void *arg, unsigned w, size_t b, size_t e)
{
    balx *x = arg;
    size_t it;

    for (it = b; it < e; it++) {
        size_t lo, hi;
        if (it < x->n_part) {
            int rc;
            if (x->ws->pre_valid) {
                continue;   /* built in stage 1 (parts_done counts it) */
            }
            rc = build_part(x, (unsigned)it, &x->env->workers[w]);
            x->part[it].rc = rc;
            if (rc != PAREX_OK) {
                atomic_store_explicit(&x->index_rc, rc, memory_order_relaxed);
            }
            if (atomic_fetch_add_explicit(&x->parts_done, 1,
                    memory_order_acq_rel) + 1 == x->n_part) {
                x->index_ns = px__now_ns();
            }
            continue;
        }
        await_index(x);
        if (it - x->n_part < x->n_big) {
            lo = (it - x->n_part) * TX_CHUNK;
            hi = lo + TX_CHUNK;
        } else {
            lo = x->n_big * TX_CHUNK + (it - x->n_part - x->n_big);
            hi = lo + 1;
        }
        if (atomic_load_explicit(&x->index_rc, memory_order_relaxed) !=
            PAREX_OK) {
            continue;   /* the block fails with the part's error */
        }
        validate_txs(x, w, lo, hi);
    }
}

/* The index's parts (x->part): how many, their hash seed, their
 * array; or, when stage 1 built them, those it used. */
static int index_setup(balx *x)
{
    const px__bal *bal = x->bal;
    px__balws *ws = x->ws;
    size_t j;

    if (ws->pre_valid) {
        x->n_wr = ws->pre_n_wr;
        x->n_part = ws->pre_n_part;
        x->s0 = ws->pre_s0;
        x->s1 = ws->pre_s1;
        x->part = ws->part;
        x->src_w = ws->src_w;
        x->src_r = ws->src_r;
        x->r_off = ws->r_off;
        atomic_init(&x->parts_done, x->n_part);
        atomic_init(&x->index_rc, PAREX_OK);
        return PAREX_OK;
    }
    for (j = 0; j < bal->n; j++) {
        x->n_wr += bal->tx[j].nw;
    }
    x->n_part = x->n_wr < PART_MIN_WRITES ? 1
        : x->env->threads < PART_MAX ? x->env->threads
                                     : PART_MAX;
    x->s0 = px__now_ns() ^ (uint64_t)(uintptr_t)x;
    x->s1 = (x->s0 >> 17 | x->s0 << 47) ^ 0x9e3779b97f4a7c15ULL;
    if (ws->cap_part < x->n_part) {
        wpart *np = realloc(ws->part, x->n_part * sizeof(*np));
        if (np == NULL) {
            return PAREX_E_NOMEM;
        }
        memset(np + ws->cap_part, 0,
            (x->n_part - ws->cap_part) * sizeof(*np));
        ws->part = np;
        ws->cap_part = x->n_part;
    }
    x->part = ws->part;
    atomic_init(&x->parts_done, 0);
    atomic_init(&x->index_rc, PAREX_OK);
    return PAREX_OK;
}

/* *p grown to at least n entries, one at least (a resolved source array
 * is never NULL: balx.src_w NULL means unresolved). */
static int grow_u32(uint32_t **p, size_t *cap, size_t n)
{
    uint32_t *np = px__bal_grow(*p, cap, n, sizeof(**p));

    if (np == NULL) {
        return PAREX_E_NOMEM;
    }
    *p = np;
    return PAREX_OK;
}

/* Stage 1, once the parts are built: every BAL entry's pre-value source
 * (balx.src_w, src_r), so that the execution stage's first touch of a key
 * a tx's entry lists reads only that entry. A write's source is the write
 * before it in its key's list; a read's is a lookup. */
static int resolve(balx *x)
{
    const px__bal *bal = x->bal;
    px__balws *ws = x->ws;
    size_t j, e, nr = 0;
    unsigned p;
    int rc;

    for (j = 0; j < bal->n; j++) {
        nr += bal->tx[j].nr;
    }
    if (nr > UINT32_MAX || x->n_wr >= UINT32_MAX) {
        return PAREX_E_LIMIT;
    }
    if ((rc = grow_u32(&ws->src_w, &ws->cap_src_w, x->n_wr)) != PAREX_OK ||
        (rc = grow_u32(&ws->src_r, &ws->cap_src_r, nr)) != PAREX_OK ||
        (rc = grow_u32(&ws->r_off, &ws->cap_r_off, bal->n + 1)) !=
            PAREX_OK) {
        return rc;
    }
    for (p = 0; p < x->n_part; p++) {
        const wpart *pt = &x->part[p];
        for (e = 0; e < pt->nk; e++) {
            const wkey *k = &pt->k[e];
            uint32_t i, prev = 0;
            for (i = 0; i < k->n; i++) {
                uint32_t w = pt->wl[k->first + i].w;
                ws->src_w[w] = prev;
                prev = w + 1;
            }
        }
    }
    nr = 0;
    for (j = 0; j < bal->n; j++) {
        const px__bal_tx *bt = &bal->tx[j];
        uint32_t k;
        ws->r_off[j] = (uint32_t)nr;
        for (k = 0; k < bt->nr; k++) {
            const px__bal_w *w = px__bal_before(x, bt->r + 32 * (size_t)k, j);
            ws->src_r[nr++] = w == NULL ? 0 : (uint32_t)(w - bal->w) + 1;
        }
    }
    ws->r_off[bal->n] = (uint32_t)nr;
    return PAREX_OK;
}

void px__bal_preindex_drop(px__balws *ws)
{
    if (ws != NULL) {
        ws->pre_valid = 0;
    }
}

int px__bal_preindex(const px__exec_env *env, const px__bal *bal,
    px__worker *wk)
{
    balx x;
    unsigned p;
    int rc;
    uint64_t t0 = px__now_ns();

    env->balws->pre_valid = 0;
    rc = px__balx_init(&x, env, env->threads);
    if (rc != PAREX_OK) {
        return rc;
    }
    x.bal = bal;
    rc = index_setup(&x);
    /* Every part on this thread, in stage 1 beside the signatures: the
     * execution stage then starts every tx at once. */
    for (p = 0; rc == PAREX_OK && p < x.n_part; p++) {
        rc = build_part(&x, p, wk);
        x.part[p].rc = rc;
    }
    if (rc == PAREX_OK) {
        rc = resolve(&x);
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    x.ws->pre_n_wr = x.n_wr;
    x.ws->pre_n_part = x.n_part;
    x.ws->pre_s0 = x.s0;
    x.ws->pre_s1 = x.s1;
    x.ws->pre_ns = px__now_ns() - t0;
    x.ws->pre_valid = 1;
    return PAREX_OK;
}

int px__exec_bal_validate(const px__exec_env *env, const px__bal *bal,
    px__result *res, px__bal_verdict *v)
{
    balx x;
    size_t j, i, p, n = env->blk->n;
    uint64_t t0 = px__now_ns();
    int rc;

    v->tx = -1;
    v->kind = PX__BAL_OK;
    PAREX_ASSERT(bal->n == n);
    rc = px__balx_init(&x, env, env->threads);
    if (rc != PAREX_OK) {
        goto out;
    }
    x.bal = bal;
    /* Every tx's outcome is written by its run (validate_txs), so the
     * engine's array needs no clearing. */
    if (x.ws->cap_res < n || x.ws->res == NULL) {
        free(x.ws->res);
        x.ws->res = malloc((n > 0 ? n : 1) * sizeof(*x.ws->res));
        x.ws->cap_res = x.ws->res != NULL ? (n > 0 ? n : 1) : 0;
        if (x.ws->res == NULL) {
            rc = PAREX_E_NOMEM;
            goto out;
        }
    }
    x.res = x.ws->res;
    rc = index_setup(&x);
    if (rc != PAREX_OK) {
        goto out;
    }
    {
        size_t tail = (size_t)TX_TAIL_PER_THREAD * env->threads;
        x.n_big = n > tail ? (n - tail) / TX_CHUNK : 0;
        x.n_txi = x.n_big + (n - x.n_big * TX_CHUNK);
    }
    /* The index, then every tx at once: nothing a tx reads depends on
     * another's run. The state root is the root stage's, over the change
     * set as for every executor (the BAL's final values once the block
     * matched). */
    x.index_ns = t0;
    px__pool_run(env->pool, block_job, &x, x.n_part + x.n_txi, 1);
    res->analysis_ns = x.index_ns - t0;
    res->exec_ns = px__now_ns() - x.index_ns;
    for (p = 0; p < x.n_part; p++) {
        if (x.part[p].rc != PAREX_OK) {
            rc = x.part[p].rc;
            goto out;
        }
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
    /* The state after the block: each key's last BAL write, the parts in
     * key order and each sorted. */
    for (p = 0; p < x.n_part; p++) {
        const wpart *pt = &x.part[p];
        for (i = 0; i < pt->nk; i++) {
            const px__change *c = &pt->chg[i];
            rc = px__result_push(res, c->key, c->val, c->len, c->del);
            if (rc != PAREX_OK) {
                goto out;
            }
        }
    }
    px__result_check_sorted(res);
    res->apply_ns = px__now_ns() - t0;
    res->batches = n > 0 ? 1 : 0;
out:
    x.ws->pre_valid = 0;
    return rc;
}
