/* Multi-version memory and validation (steps 2-4 of engine/exec/par/par.c):
 * per-key version lists, the parex_ctx programs see while a tx runs (its
 * records, declared and undeclared keys), one incarnation's execution,
 * publishing and unpublishing its versions, and validating its reads. Part
 * of the translation unit par.c. */
#ifndef PX_PAR_MVMEM_IMPL_H
#define PX_PAR_MVMEM_IMPL_H

#include "analysis_impl.h"

/* ---- versions ---- */

/* Version lists are walked from the newest; *steps counts the versions
 * skipped, the work bound of a block (see walked()). */

/* Newest version below tx j, or NULL (then the snapshot holds the value). */
static vnode *visible(kent *k, uint32_t j, uint64_t *steps)
{
    vnode *v = atomic_load_explicit(&k->head, memory_order_acquire);
    while (v != NULL && v->tx >= j) {
        v = atomic_load_explicit(&v->next, memory_order_acquire);
        (*steps)++;
    }
    PAREX_ASSERT(v == NULL || v->tx < j);
    return v;
}

static void publish(kent *k, vnode *n, uint64_t *steps)
{
    for (;;) {
        _Atomic(vnode *) *prev = &k->head;
        vnode *cur = atomic_load_explicit(prev, memory_order_acquire);

        while (cur != NULL && cur->tx > n->tx) {
            prev = &cur->next;
            cur = atomic_load_explicit(prev, memory_order_acquire);
            (*steps)++;
        }
        /* Sorted, newest first, one version per tx: an incarnation's
         * versions are unpublished before the next one publishes. */
        PAREX_ASSERT(cur == NULL || cur->tx < n->tx);
        atomic_store_explicit(&n->next, cur, memory_order_relaxed);
        if (atomic_compare_exchange_strong_explicit(prev, &cur, n,
                memory_order_release, memory_order_relaxed)) {
            return;
        }
        /* Nodes are never removed while txs run: retrying from the head
         * sees the newcomer and keeps the list sorted. */
    }
}

/* Only while no tx runs. */
static void unpublish(kent *k, vnode *n, uint64_t *steps)
{
    _Atomic(vnode *) *prev = &k->head;
    vnode *cur = atomic_load(prev);

    while (cur != NULL && cur != n) {
        prev = &cur->next;
        cur = atomic_load(prev);
        (*steps)++;
    }
    if (PAREX_ALWAYS(cur != NULL)) {
        atomic_store(prev, atomic_load(&cur->next));
    }
}

/* ---- the ctx programs see ---- */

/* Finds the record for key; *writable tells whether the declarations allow
 * a write. Undeclared keys get a new record and mark the tx escaped. */
static int find_rec(pctx *c, const uint8_t *key, uint32_t *out, int *writable)
{
    ptx *t = c->t;
    const parex_tx *tx = &c->base.btx->tx;
    px__keyslot *u;
    int i, added;
    kent *k;

    i = px__tx_declared_at(tx, key, &c->hr, &c->hw);
    if (i >= 0) {
        *out = (uint32_t)i;
        *writable = (uint32_t)i >= tx->n_read || (uint32_t)i == t->acct_slot;
        return PAREX_OK;
    }
    if (memcmp(key, c->base.btx->acct, 32) == 0) {
        *out = t->acct_slot;
        *writable = 1;
        return PAREX_OK;
    }
    *writable = 0;
    /* Undeclared keys: the worker's index of this execution's records
     * (a linear scan made a tx touching u undeclared keys cost O(u^2):
     * 65,000 keys took 77 s against 1.4 s sequentially). */
    u = px__keymap_insert(&c->wk->uidx, key, &added);
    if (u == NULL) {
        return PAREX_E_NOMEM;
    }
    if (!added) {
        *out = (uint32_t)u->val.u64;
        return PAREX_OK;
    }
    /* Undeclared: the batch schedule no longer vouches for this tx. */
    t->escaped = 1;
    if (t->n_recs == t->cap_recs) {
        uint32_t cap = 2 * t->cap_recs + 8;
        rec *nr = px__arena_alloc(&c->wk->arena, cap * sizeof(*nr));
        if (nr == NULL) {
            return PAREX_E_NOMEM;
        }
        memcpy(nr, t->recs, t->n_recs * sizeof(*nr));
        t->recs = nr;
        t->cap_recs = cap;
    }
    pthread_mutex_lock(&c->X->km_lock);
    k = km_get(c->X, c->X->main_arena, key);
    pthread_mutex_unlock(&c->X->km_lock);
    if (k == NULL) {
        return PAREX_E_NOMEM;
    }
    u->val.u64 = t->n_recs;
    memset(&t->recs[t->n_recs], 0, sizeof(rec));
    t->recs[t->n_recs].k = k;
    *out = t->n_recs++;
    return PAREX_OK;
}

static int touch(pctx *c, rec *r)
{
    if (r->flags == 0) {
        if (c->touched >= c->base.lim->max_tx_accesses) {
            return PAREX_E_LIMIT;
        }
        c->touched++;
    }
    return PAREX_OK;
}

/* find_rec() plus the per-tx distinct-key count: every ctx access goes
 * here. */
static int access_rec(pctx *c, const uint8_t *key, rec **out, int *writable)
{
    uint32_t i;
    int rc = find_rec(c, key, &i, writable);

    if (rc != PAREX_OK) {
        return rc;
    }
    *out = &c->t->recs[i];
    return touch(c, *out);
}

static int par_get(parex_ctx *ctx, const uint8_t **val, size_t *len,
    const uint8_t key[32])
{
    pctx *c = (pctx *)ctx;
    rec *r;
    int w, rc = access_rec(c, key, &r, &w);

    if (rc != PAREX_OK) {
        return rc;
    }
    if (!(r->flags & R_LOADED)) {
        vnode *v = visible(r->k, c->j, &c->steps);
        r->flags |= R_READ | R_LOADED;
        if (v != NULL) {
            r->obs_tx = v->tx;
            r->obs_inc = v->inc;
            if (!v->del) {
                r->flags |= R_PRESENT;
                r->val = v->val;
                r->len = v->len;
            }
        } else {
            const uint8_t *sv;
            size_t sl;
            r->obs_tx = NO_TX;
            r->obs_inc = 0;
            rc = px__snap_get(c->wk->snap, PX_DB_STATE, &sv, &sl, key, 32);
            if (rc == PAREX_OK) {
                r->flags |= R_PRESENT | R_SNAP | R_SNAP_PRESENT;
                r->val = r->snap = sv;
                r->len = r->snap_len = (uint32_t)sl;
            } else if (rc == PAREX_E_NOTFOUND) {
                r->flags |= R_SNAP;
            } else {
                return rc;
            }
        }
    }
    if (!(r->flags & R_PRESENT)) {
        return PAREX_E_NOTFOUND;
    }
    *val = r->val;
    *len = r->len;
    return PAREX_OK;
}

static int par_put(parex_ctx *ctx, const uint8_t key[32], const uint8_t *val,
    size_t len, int del)
{
    pctx *c = (pctx *)ctx;
    rec *r;
    int w, rc = access_rec(c, key, &r, &w);
    uint8_t *copy = NULL;

    if (rc != PAREX_OK) {
        return rc;
    }
    if (!w) {
        c->t->escaped = 1;
    }
    if (!del && (copy = px__arena_copy(&c->wk->arena, val, len)) == NULL) {
        return PAREX_E_NOMEM;
    }
    r->flags = (uint8_t)((r->flags & R_KEEP) | R_WRITE | R_LOADED |
        (del ? 0 : R_PRESENT));
    r->val = copy;
    r->len = del ? 0 : (uint32_t)len;
    if (c->puts++ == 0) {
        /* The prelude's account write is always the first put. */
        c->prelude_val = copy;
        c->prelude_len = r->len;
    }
    return PAREX_OK;
}

static void par_rollback(parex_ctx *ctx)
{
    pctx *c = (pctx *)ctx;
    ptx *t = c->t;
    uint32_t i;

    /* Only after the prelude's put of the account. */
    PAREX_ASSERT(c->puts >= 1);
    for (i = 0; i < t->n_recs; i++) {
        rec *r = &t->recs[i];
        if (i == t->acct_slot) {
            r->flags = (uint8_t)((r->flags & R_KEEP) | R_WRITE | R_LOADED |
                R_PRESENT);
            r->val = c->prelude_val;
            r->len = c->prelude_len;
        } else if (r->flags & R_WRITE) {
            /* Nobody reads after a rollback: only the write must go. */
            r->flags = (uint8_t)(r->flags & ~R_WRITE);
        }
    }
}

static const px__ctx_ops par_ops = { par_get, par_put, par_rollback };

/* Adds steps to the block's version-list work; past the budget, workers
 * stop and the block goes to the reference executor. */
static void walked(pexec *X, uint64_t steps)
{
    if (steps != 0 &&
        atomic_fetch_add_explicit(&X->walk, steps, memory_order_relaxed) +
                steps > X->walk_budget) {
        atomic_store(&X->give_up, 1);
    }
}

/* Runs one incarnation of tx j on worker w; publish_tx() makes its writes
 * visible. */
static int exec_tx(pexec *X, uint32_t j, unsigned w)
{
    ptx *t = &X->t[j];
    px__worker *wk = &X->env->workers[w];
    pctx c;
    uint32_t i;
    int rc;

    t->cap_recs = t->n_slots + 4;
    t->recs = px__arena_alloc(&wk->arena, t->cap_recs * sizeof(rec));
    if (t->recs == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < t->n_slots; i++) {
        memset(&t->recs[i], 0, sizeof(rec));
        t->recs[i].k = t->slots[i];
    }
    t->n_recs = t->n_slots;
    if (px__keymap_count(&wk->uidx) != 0) {
        /* Only after a tx with undeclared keys: no clock read per tx. */
        px__keymap_clear(&wk->uidx);
    }
    t->escaped = 0;
    memset(&c, 0, sizeof(c));
    c.base.ops = &par_ops;
    c.base.btx = &X->env->blk->txs[j];
    c.base.height = X->env->blk->hdr.height;
    c.base.lim = X->env->lim;
    c.X = X;
    c.t = t;
    c.j = j;
    c.wk = wk;
    if (X->env->profile != NULL || (j & 15) == 0) {
        /* Every tx when profiling, else one in 16: the engine's measured
         * cost per tx (the narrow-or-parallel decision) at two clock
         * reads per 16 txs. */
        uint64_t ts = px__now_ns(), dt;
        rc = px__tx_run(&c.base, X->env->progs, &t->out);
        dt = px__now_ns() - ts;
        wk->samp_ns += dt;
        wk->samp_n++;
        if (X->env->profile != NULL) {
            X->env->profile[j].exec_ns += dt;
            X->env->profile[j].incarnations++;
        }
    } else {
        rc = px__tx_run(&c.base, X->env->progs, &t->out);
    }
    walked(X, c.steps);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (t->escaped) {
        atomic_fetch_add(&X->escaped, 1);
    }
    return PAREX_OK;
}

static int publish_tx(pexec *X, uint32_t j, unsigned w)
{
    ptx *t = &X->t[j];
    px__worker *wk = &X->env->workers[w];
    uint64_t steps = 0;
    uint32_t i;

    for (i = 0; i < t->n_recs; i++) {
        rec *r = &t->recs[i];
        vnode *n;
        if (!(r->flags & R_WRITE)) {
            continue;
        }
        n = px__arena_alloc(&wk->arena, sizeof(*n));
        if (n == NULL) {
            walked(X, steps);
            return PAREX_E_NOMEM;
        }
        n->tx = j;
        n->inc = t->inc;
        n->val = r->val;
        n->len = r->len;
        n->del = !(r->flags & R_PRESENT);
        r->node = n;
        publish(r->k, n, &steps);
    }
    walked(X, steps);
    return PAREX_OK;
}

static void unpublish_tx(pexec *X, uint32_t j)
{
    ptx *t = &X->t[j];
    uint64_t steps = 0;
    uint32_t i;

    for (i = 0; i < t->n_recs; i++) {
        if (t->recs[i].node != NULL) {
            unpublish(t->recs[i].k, t->recs[i].node, &steps);
            t->recs[i].node = NULL;
        }
    }
    walked(X, steps);
}

static int validate_tx(pexec *X, uint32_t j)
{
    const ptx *t = &X->t[j];
    uint64_t steps = 0;
    uint32_t i;
    int ok = 1;

    for (i = 0; i < t->n_recs; i++) {
        const rec *r = &t->recs[i];
        vnode *v;
        if (!(r->flags & R_READ)) {
            continue;
        }
        v = visible(r->k, j, &steps);
        if (v == NULL ? r->obs_tx != NO_TX
                      : (v->tx != r->obs_tx || v->inc != r->obs_inc)) {
            ok = 0;
            break;
        }
    }
    walked(X, steps);
    return ok;
}

#endif /* PX_PAR_MVMEM_IMPL_H */
