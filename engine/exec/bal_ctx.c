/* The block-access-list executor's ctx: per key a tx touches, its value
 * before the tx (pre, fetched on first touch from the carried BAL's
 * writes, the recording overlay or the snapshot) and now (cur); running
 * one tx through the state-transition function on it. Shared by
 * exec/bal.c (recording) and exec/bal_validate.c. */
#include <stdlib.h>
#include <string.h>

#include "bal_impl.h"

/* The last write of key by a tx below j in the carried BAL, or NULL. */
static const px__bal_w *bal_before(const balx *x, const uint8_t *key,
    size_t j)
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

/* The value of key before tx t->j: PAREX_OK (*present, *v, *l set) or a
 * snapshot error. */
static int source(tctx *t, const uint8_t *key, const uint8_t **v,
    uint32_t *l, uint8_t *present)
{
    balx *x = t->x;
    size_t sl;
    int rc;

    if (x->bal != NULL) {
        const px__bal_w *w = bal_before(x, key, t->j);
        if (w != NULL) {
            *present = !w->del;
            *v = w->val;
            *l = w->len;
            return PAREX_OK;
        }
    } else {
        px__keyslot *s = px__keymap_find(&x->ws->ov, key);
        if (s != NULL) {
            const ovent *o = &x->ws->ove[s->val.u64];
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

#define ACC_LESS(a, b) px__bal_key_lt((a).key, (b).key)

/* Runs tx j on t; its records end sorted by key. */
int px__bal_run_tx(balx *x, tctx *t, size_t j, px__outcome *out)
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
    if (rc == PAREX_OK) {
        PX__BAL_SORT(acc, t->a, t->n, ACC_LESS);
    }
    return rc;
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
    free(ws->res);
    free(ws->ove);
    px__keymap_free(&ws->ov);
    free(ws);
}

