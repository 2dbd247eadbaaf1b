/* The block-access-list executor's ctx: per key a tx touches, its value
 * before the tx (pre, fetched on first touch from the carried BAL's
 * writes, the recording overlay or the snapshot) and now (cur); running
 * one tx through the state-transition function on it. Shared by
 * exec/bal.c (recording) and exec/bal_validate.c. */
#include <stdlib.h>
#include <string.h>

#include "bal_impl.h"

const px__bal_w *px__bal_before(const balx *x, const uint8_t *key, size_t j)
{
    const wpart *pt = &x->part[px__bal_part_of(key, x->n_part)];
    const wkey *k = px__bal_wkey_find(pt, key,
        px__keymap_hash(key, x->s0, x->s1));
    const wlw *wl;
    size_t lo = 0, hi;

    if (k == NULL) {
        return NULL;
    }
    /* The first of its writes by a tx at or after j. */
    wl = pt->wl + k->first;
    hi = k->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (wl[mid].tx < j) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo > 0 ? &x->bal->w[wl[lo - 1].w] : NULL;
}

/* Validation: key's place among tx j's BAL entries, writes then reads
 * (*i in [0, nw + nr)), 1 when listed. Both lists are strictly
 * increasing by key (bal/bal.h); they are a few keys in one stretch of
 * the BAL, where a lookup in the parts' tables touches random lines that
 * another core wrote. The place found last in each list and the one
 * after it are tried first (t->hw, t->hr: one past the last found), since
 * a tx mostly reads a key before it writes it, and walks keys in order
 * where it walks many (the trace program walks them sorted): a binary
 * search's branches are a guess each. */
static int listed_at(tctx *t, const px__bal_tx *bt, const uint8_t *key,
    uint32_t *i)
{
    uint32_t lo, hi, h;
    int r;

    /* The writes' keys are pointers into the encoding: their own walk. */
    for (h = t->hw > 0 ? t->hw - 1 : 0;
         bt->nw > PX__HINT_MIN && h <= t->hw && h < bt->nw; h++) {
        if (px__keymap_eq(bt->w[h].key, key)) {
            *i = h;
            t->hw = h + 1;
            return 1;
        }
    }
    if ((r = px__key_near(bt->r, bt->nr, key, &t->hr)) >= 0) {
        *i = bt->nw + (uint32_t)r;
        return 1;
    }
    lo = 0;
    hi = bt->nw;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = px__bal_key_cmp(bt->w[mid].key, key);
        if (c == 0) {
            *i = mid;
            t->hw = mid + 1;
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if ((r = px__key_bsearch(bt->r, bt->nr, key)) >= 0) {
        *i = bt->nw + (uint32_t)r;
        t->hr = (uint32_t)r + 1;
        return 1;
    }
    return 0;
}

/* The value of key before tx t->j: PAREX_OK (*present, *v, *l set) or a
 * snapshot error. li: key's place in tx j's BAL entry (listed_at), or
 * UINT32_MAX when unlisted or recording. */
static int source(tctx *t, const uint8_t *key, uint32_t li,
    const uint8_t **v, uint32_t *l, uint8_t *present)
{
    balx *x = t->x;
    size_t sl;
    int rc;

    if (x->bal != NULL) {
        const px__bal_w *w;
        if (li != UINT32_MAX && x->src_w != NULL) {
            /* Resolved in stage 1. */
            const px__bal_tx *bt = &x->bal->tx[t->j];
            uint32_t src = li < bt->nw
                ? x->src_w[(size_t)(bt->w - x->bal->w) + li]
                : x->src_r[x->r_off[t->j] + li - bt->nw];
            w = src == 0 ? NULL : &x->bal->w[src - 1];
        } else {
            w = px__bal_before(x, key, t->j);
        }
        if (w != NULL) {
            *present = !w->del;
            *v = w->val;
            *l = w->len;
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

/* Recording: key's entry in the block overlay, made on the block's first
 * touch of it with the snapshot's value, so that every later touch and
 * the tx's write-back (exec/bal.c, apply) find it by index: one lookup
 * of the overlay per key and tx. *ov gets its index. */
static int overlay_source(tctx *t, const uint8_t *key, uint32_t *ov)
{
    px__balws *ws = t->x->ws;
    int added, rc;
    px__keyslot *s = px__keymap_insert(&ws->ov, key, &added);

    if (s == NULL) {
        return PAREX_E_NOMEM;
    }
    if (added) {
        ovent *o;
        size_t sl;
        if (t->x->n_ove == ws->cap_ove) {
            size_t cap = ws->cap_ove ? 2 * ws->cap_ove : 1024;
            ovent *no = realloc(ws->ove, cap * sizeof(*no));
            if (no == NULL) {
                px__keymap_delete(&ws->ov, key);
                return PAREX_E_NOMEM;
            }
            ws->ove = no;
            ws->cap_ove = cap;
        }
        o = &ws->ove[t->x->n_ove];
        rc = px__snap_get(t->snap, PX_DB_STATE, &o->val, &sl, key, 32);
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            px__keymap_delete(&ws->ov, key);
            return rc;
        }
        o->present = rc == PAREX_OK;
        o->len = o->present ? (uint32_t)sl : 0;
        o->val = o->present ? o->val : NULL;
        o->written = 0;
        s->val.u64 = t->x->n_ove++;
    }
    *ov = (uint32_t)s->val.u64;
    return PAREX_OK;
}

/* a's key, pre- and current value on the tx's first touch of key. */
static int touch(tctx *t, acc *a, const uint8_t *key, uint32_t li)
{
    int rc;

    memcpy(a->key, key, 32);
    if (t->x->bal == NULL) {
        const ovent *o;
        rc = overlay_source(t, key, &a->ov);
        if (rc != PAREX_OK) {
            return rc;
        }
        o = &t->x->ws->ove[a->ov];
        a->pre = o->val;
        a->pre_len = o->len;
        a->pre_present = o->present;
    } else {
        rc = source(t, key, li, &a->pre, &a->pre_len, &a->pre_present);
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    a->cur = a->pre;
    a->cur_len = a->pre_len;
    a->cur_present = a->pre_present;
    a->touched = 1;
    t->nt++;
    return PAREX_OK;
}

/* The record of key in this tx, created (with its pre-value) on first
 * touch; PAREX_E_LIMIT past max_tx_accesses distinct keys, as the other
 * executors. A record at a fixed place (px__bal_run_tx) is found without
 * the key map: validating, a key tx j's BAL entry lists (t->a[0, t->nl));
 * recording, a key the tx declared (t->a[0, t->nd), its place among the
 * declared keys). Any other key gets one after those, through the map. */
static int get_acc(tctx *t, const uint8_t *key, acc **out)
{
    int added, rc, sl;
    px__keyslot *s;
    uint32_t li;
    acc *a;

    li = UINT32_MAX;
    if ((t->nd > 0 &&
            (sl = px__tx_declared_at(&t->base.btx->tx, key, &t->hr,
                 &t->hw)) >= 0) ||
        (t->nl > 0 && listed_at(t, &t->x->bal->tx[t->j], key, &li) &&
            (sl = (int)li) >= 0)) {
        a = &t->a[sl];
        if (!a->touched) {
            if (t->nt >= t->base.lim->max_tx_accesses) {
                return PAREX_E_LIMIT;
            }
            if ((rc = touch(t, a, key, li)) != PAREX_OK) {
                return rc;
            }
        }
        *out = a;
        return PAREX_OK;
    }
    s = px__keymap_insert(&t->km, key, &added);
    if (s == NULL) {
        return PAREX_E_NOMEM;
    }
    if (!added) {
        *out = &t->a[s->val.u64];
        return PAREX_OK;
    }
    if (t->nt >= t->base.lim->max_tx_accesses) {
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
    rc = touch(t, a, key, UINT32_MAX);
    if (rc != PAREX_OK) {
        px__keymap_delete(&t->km, key);
        return rc;
    }
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
        if (!t->a[i].touched) {
            continue;   /* a listed key the tx has not touched */
        }
        t->a[i].cur = t->a[i].pre;
        t->a[i].cur_len = t->a[i].pre_len;
        t->a[i].cur_present = t->a[i].pre_present;
    }
    t->a[t->acct].cur = t->acct_val;
    t->a[t->acct].cur_len = t->acct_len;
    t->a[t->acct].cur_present = 1;
}

static const px__ctx_ops bal_ops = { bal_get, bal_put, bal_rollback };

#define ACC_LESS(a, b) px__bal_key_lt((a).key, (b).key)

#define ORD_LESS(i, k) px__bal_key_lt(t->a[(i)].key, t->a[(k)].key)

/* Recording: t->ord lists the touched records by key. The declared
 * records are two runs already sorted (the read set's, the write set's),
 * the others (undeclared keys, the account unless declared: one or none,
 * mostly) are sorted alone; then a three-way merge, no sort of the
 * records themselves. */
static int record_order(tctx *t)
{
    const parex_tx *tx = &t->base.btx->tx;
    size_t nr = tx->n_read, i, ia, ib, ic, na = 0, nb, nc, o = 0, n;
    uint32_t *v;

    if (t->cap_ord < 2 * t->n) {
        size_t cap = 2 * t->n + 16;
        uint32_t *nv = realloc(t->ord, cap * sizeof(*nv));
        if (nv == NULL) {
            return PAREX_E_NOMEM;
        }
        t->ord = nv;
        t->cap_ord = cap;
    }
    /* The runs into the second half, merged into the first. */
    v = t->ord + t->n;
    for (i = 0; i < nr; i++) {
        if (t->a[i].touched) {
            v[na++] = (uint32_t)i;
        }
    }
    nb = na;
    for (; i < t->nd; i++) {
        if (t->a[i].touched) {
            v[nb++] = (uint32_t)i;
        }
    }
    nc = nb;
    for (; i < t->n; i++) {
        v[nc++] = (uint32_t)i;
    }
    n = nc;
    PX__BAL_SORT(uint32_t, v + nb, nc - nb, ORD_LESS);
    ia = 0;
    ib = na;
    ic = nb;
    for (o = 0; o < n; o++) {
        /* The smallest head of the three runs (keys are distinct). */
        size_t *at = ia < na ? &ia : ib < nb ? &ib : &ic;
        if (at == &ia && ib < nb && ORD_LESS(v[ib], v[*at])) {
            at = &ib;
        }
        if (at != &ic && ic < nc && ORD_LESS(v[ic], v[*at])) {
            at = &ic;
        }
        t->ord[o] = v[(*at)++];
        PAREX_ASSERT(o == 0 || ORD_LESS(t->ord[o - 1], t->ord[o]));
    }
    t->n_ord = n;
    return PAREX_OK;
}

#undef ORD_LESS

/* Runs tx j on t. Recording, the declared keys' records are at their
 * places (t->a[0, t->nd)) and t->ord lists the touched ones by key
 * (record_order); validating, they are at their places in tx j's BAL
 * entry (px__bal_listed_match, px__bal_records_sort). */
int px__bal_run_tx(balx *x, tctx *t, size_t j, px__outcome *out)
{
    const px__exec_env *env = x->env;
    size_t i;
    int rc;

    t->base.ops = &bal_ops;
    t->base.btx = &env->blk->txs[j];
    t->base.height = env->blk->hdr.height;
    t->base.lim = env->lim;
    t->x = x;
    t->j = j;
    t->n = 0;
    t->nl = 0;
    t->nt = 0;
    t->hw = 0;
    t->hr = 0;
    t->puts = 0;
    t->nd = 0;
    t->n_ord = 0;
    {
        /* The records at fixed places: validating, tx j's BAL entry's keys
         * (writes, then reads); recording, its declared keys (read set,
         * then write set). Untouched until the tx touches them. */
        const parex_tx *tx = &env->blk->txs[j].tx;
        size_t np = x->bal != NULL
            ? (size_t)x->bal->tx[j].nw + x->bal->tx[j].nr
            : (size_t)tx->n_read + tx->n_write;
        if (np > t->cap) {
            size_t cap = np > 2 * t->cap ? np : 2 * t->cap;
            acc *na = realloc(t->a, cap * sizeof(*na));
            if (na == NULL) {
                return PAREX_E_NOMEM;
            }
            t->a = na;
            t->cap = cap;
        }
        for (i = 0; i < np; i++) {
            t->a[i].touched = 0;
        }
        t->n = np;
        if (x->bal != NULL) {
            t->nl = np;
        } else {
            t->nd = np;
        }
    }
    px__keymap_clear(&t->km);
    rc = px__tx_run(&t->base, env->progs, out);
    if (rc == PAREX_OK && x->bal == NULL) {
        rc = record_order(t);
    }
    return rc;
}

int px__bal_listed_match(const tctx *t, const px__bal_tx *bt)
{
    uint32_t k;

    if (t->n != t->nl || t->nt != t->nl) {
        return 0;   /* an unlisted key, or a listed one untouched */
    }
    for (k = 0; k < bt->nw; k++) {
        const acc *a = &t->a[k];
        const px__bal_w *w = &bt->w[k];
        if (a->cur_present == w->del || a->cur_len != w->len ||
            !px__bal_bytes_eq(a->cur, w->val, w->len) ||
            !px__bal_changed(a)) {
            return 0;
        }
    }
    for (k = 0; k < bt->nr; k++) {
        if (px__bal_changed(&t->a[bt->nw + k])) {
            return 0;
        }
    }
    return 1;
}

void px__bal_records_sort(tctx *t)
{
    size_t i, m = 0;

    for (i = 0; i < t->n; i++) {
        if (t->a[i].touched) {
            t->a[m++] = t->a[i];
        }
    }
    t->n = m;
    t->nl = 0;
    PX__BAL_SORT(acc, t->a, t->n, ACC_LESS);
}

int px__balx_init(balx *x, const px__exec_env *env, unsigned n)
{
    px__balws *ws = env->balws;

    PAREX_ASSERT(ws != NULL);
    memset(x, 0, sizeof(*x));
    x->env = env;
    x->ws = ws;
    if (ws->n_ctx < n) {
        /* A context holds no pointer into itself: moving it is fine. */
        tctx *nc = realloc(ws->ctx, n * sizeof(*nc));
        unsigned i;
        if (nc == NULL) {
            return PAREX_E_NOMEM;
        }
        for (i = ws->n_ctx; i < n; i++) {
            memset(&nc[i], 0, sizeof(nc[i]));
            px__keymap_init(&nc[i].km, 64);
        }
        ws->ctx = nc;
        ws->n_ctx = n;
    }
    x->ctx = ws->ctx;
    return PAREX_OK;
}

int px__balws_create(px__balws **out)
{
    px__balws *ws = calloc(1, sizeof(*ws));

    *out = ws;
    if (ws == NULL) {
        return PAREX_E_NOMEM;
    }
    px__keymap_init(&ws->ov, 1024);
    return PAREX_OK;
}

void px__balws_free(px__balws *ws)
{
    unsigned i;

    if (ws == NULL) {
        return;
    }
    for (i = 0; i < ws->n_ctx; i++) {
        px__keymap_free(&ws->ctx[i].km);
        free(ws->ctx[i].a);
        free(ws->ctx[i].ord);
    }
    free(ws->ctx);
    for (i = 0; i < ws->cap_part; i++) {
        free(ws->part[i].slot);
        free(ws->part[i].tmp);
        free(ws->part[i].k);
        free(ws->part[i].wl);
        free(ws->part[i].chg);
    }
    free(ws->part);
    free(ws->src_w);
    free(ws->src_r);
    free(ws->r_off);
    free(ws->res);
    free(ws->ove);
    px__keymap_free(&ws->ov);
    free(ws);
}

