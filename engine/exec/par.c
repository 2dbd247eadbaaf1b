/* The parallel executor.
 *
 * 1. Conflict analysis: one pass over the declared sets with a hash map of
 *    keys gives each tx a batch: one more than the highest batch of every
 *    earlier tx it conflicts with (write-write, read-after-write,
 *    write-after-read). The sender's account is an implicit write.
 *    O(total declared keys). The same pass records each tx's
 *    dependencies: for every declared key, the last earlier tx that
 *    declared it in its write set.
 * 2. Execution is dependency-driven, not batch by batch: workers claim txs
 *    in block order, and a tx runs as soon as every tx it depends on has
 *    finished (its pending count reaches zero; whoever brings it to zero
 *    runs it). Batches stay the unit of analysis and reporting; a barrier
 *    between them would idle threads on uneven batches (one wide batch,
 *    then long thin chains). Every key has a version list (multi-version
 *    memory, as in Block-STM: Gelashvili et al., "Block-STM: Scaling
 *    Blockchain Execution by Turning Ordering Curse to a Performance
 *    Blessing", PPoPP 2023): a tx j reads the newest version written by a
 *    tx < j, or the LMDB snapshot, and records which version it saw; its
 *    writes become versions tagged (j, incarnation).
 *    Only read-after-write needs an edge: a write by a later tx is a
 *    version above the reader and never visible to it, and write-write
 *    pairs are ordered by the version tags. A declared write counts as a
 *    read too (read-modify-write).
 * 3. If every tx stayed inside its declared sets, each read found its
 *    final version (the last declared writer below it had finished and
 *    published, and every earlier writer finished before that one), so
 *    nothing needs validating. If any tx touched an undeclared key
 *    ("escaped"), every tx is validated: a read is valid when the version
 *    it saw is still the newest below it. The first invalid tx m has only
 *    exact txs below it, so from m on, txs are validated in block order and
 *    re-executed when invalid; each re-execution reads final versions only.
 * 4. The change set is the newest version of every key.
 *
 * Versions are inserted with compare-and-swap, so escaped txs publish while
 * others run; conforming writers of one key never run at once anyway (each
 * depends on the previous one).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "conflict.h"
#include "engine_int.h"

#define NO_TX UINT32_MAX

typedef struct vnode {
    _Atomic(struct vnode *) next;
    uint32_t tx, inc;
    const uint8_t *val;
    uint32_t len;
    uint8_t del;
} vnode;

typedef struct kent {
    uint8_t key[32];
    px__conflict cf;            /* conflict analysis */
    uint32_t lastw;             /* last declared writer so far, or NO_TX */
    _Atomic(vnode *) head;      /* versions, newest (highest tx) first */
} kent;

enum { R_READ = 1, R_WRITE = 2, R_LOADED = 4, R_PRESENT = 8 };

typedef struct rec {
    kent *k;
    vnode *node;                /* this incarnation's published version */
    const uint8_t *val;         /* current value inside the tx */
    uint32_t len;
    uint32_t obs_tx, obs_inc;   /* version seen by the first read */
    uint8_t flags;
} rec;

typedef struct ptx {
    kent **slots;               /* read set, write set, [account] */
    uint32_t n_slots, acct_slot;
    int32_t batch;
    rec *recs;
    uint32_t n_recs, cap_recs;
    uint32_t inc;               /* incarnation; re-executions add one */
    atomic_uint pending;        /* unfinished dependencies + 1 (the claim)
                                   (+ 1 while its analysis runs) */
    _Atomic uint32_t succ;      /* dependents: edge list head, NIL, or
                                   CLOSED once the tx has finished */
    uint8_t escaped, invalid;
    px__outcome out;
} ptx;

/* A worker's busy flag on a cache line of its own. */
typedef struct busy_flag {
    atomic_int v;
    char pad[64 - sizeof(atomic_int)];
} busy_flag;

/* One dependency: `tx` waits for the tx whose list holds this edge. */
typedef struct edge {
    uint32_t tx, next;
} edge;

#define NIL UINT32_MAX
#define CLOSED (UINT32_MAX - 1)

struct analysis;

typedef struct pexec {
    const px__exec_env *env;
    ptx *t;
    uint32_t n;
    edge *edges;                /* room for one per declared key */
    uint32_t n_edges;           /* written by the analysing thread only */
    atomic_uint analysed;       /* txs below this are analysed */
    atomic_uint next;           /* next tx to claim, in block order */
    atomic_int analyst;         /* taken by the worker finishing analysis */
    struct analysis *A;
    uint64_t analysis_ns;       /* the overlapped part */
    pthread_mutex_t q_lock;     /* ready txs nobody has taken yet */
    uint32_t *q;
    uint32_t q_head, q_tail;
    atomic_uint q_count;
    busy_flag *busy;
    px__keymap *km;             /* key -> kent (the scratch's, kept warm) */
    px__arena *main_arena;      /* kents; lives as long as the result */
    pthread_mutex_t km_lock;    /* the keymap while txs run: the analysis
                                   (per chunk) and escaped txs' inserts */
    atomic_int err;
    atomic_uint escaped;
    /* Undeclared keys can grow one key's version list to every tx of the
     * block, and then every reader walks it: readers x writers. Past this
     * many steps the block is handed to the reference executor, O(txs). */
    atomic_uint_fast64_t walk;
    uint64_t walk_budget;
    atomic_int give_up;
    size_t total_keys;          /* declared keys of the block (+ accounts) */
} pexec;

typedef struct pctx {
    parex_ctx base;
    pexec *X;
    ptx *t;
    uint32_t j;
    px__worker *wk;
    uint32_t touched, puts;
    const uint8_t *prelude_val;
    uint32_t prelude_len;
    uint64_t steps;             /* version-list steps of this execution */
} pctx;

/* ---- key map ---- */

/* A buffer of at least `bytes` from *buf (contents not kept). */
static void *reuse(void **buf, size_t *have, size_t bytes)
{
    if (bytes == 0) {
        bytes = 1;
    }
    if (*have < bytes) {
        free(*buf);
        *buf = malloc(bytes);
        *have = *buf != NULL ? bytes : 0;
    }
    return *buf;
}

void px__scratch_init(px__scratch *s)
{
    memset(s, 0, sizeof(*s));
    px__keymap_init(&s->km, 1024);
    px__keymap_init(&s->seq_km, 1024);
}

void px__scratch_free(px__scratch *s)
{
    free(s->t);
    free(s->order);
    free(s->slots);
    px__keymap_free(&s->km);
    px__keymap_free(&s->seq_km);
    px__scratch_init(s);
}

/* Empties the block's key map (kept warm in the scratch) and sizes it for
 * `expect` keys: the analysed prefix only, so that growing it for a big
 * block happens in km_reserve(), on whichever thread runs the rest of the
 * analysis, not before the narrow-or-wide decision. */
static int km_init(pexec *X, size_t expect)
{
    X->km = &X->env->scratch->km;
    px__keymap_clear(X->km);
    return px__keymap_reserve(X->km, expect) == 0 ? PAREX_OK
                                                    : PAREX_E_NOMEM;
}

/* Grows the table to hold `expect` keys at load 1/2 in one step (the
 * insert path also grows, when a block outruns its estimate). */
static int km_reserve(pexec *X, size_t expect)
{
    return px__keymap_reserve(X->km, expect) == 0 ? PAREX_OK
                                                    : PAREX_E_NOMEM;
}

/* Finds or inserts key; a new key's kent comes from arena a. NULL on
 * allocation failure. */
static kent *km_get(pexec *X, px__arena *a, const uint8_t *key)
{
    int added;
    px__keyslot *s = px__keymap_insert(X->km, key, &added);
    kent *k;

    if (s == NULL) {
        return NULL;
    }
    if (!added) {
        return s->val.ptr;
    }
    k = px__arena_alloc(a, sizeof(*k));
    if (k == NULL) {
        px__keymap_delete(X->km, key);
        return NULL;
    }
    memcpy(k->key, key, 32);
    px__conflict_init(&k->cf);
    k->lastw = NO_TX;
    atomic_init(&k->head, NULL);
    s->val.ptr = k;
    return k;
}

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
    if (cur != NULL) {
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

    i = px__key_bsearch(tx->write_set, tx->n_write, key);
    if (i >= 0) {
        *out = tx->n_read + (uint32_t)i;
        *writable = 1;
        return PAREX_OK;
    }
    i = px__key_bsearch(tx->read_set, tx->n_read, key);
    if (i >= 0) {
        *out = (uint32_t)i;
        *writable = (uint32_t)i == t->acct_slot;
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

static int par_get(parex_ctx *ctx, const uint8_t **val, size_t *len,
    const uint8_t key[32])
{
    pctx *c = (pctx *)ctx;
    uint32_t i;
    int w, rc = find_rec(c, key, &i, &w);
    rec *r;

    if (rc != PAREX_OK) {
        return rc;
    }
    r = &c->t->recs[i];
    rc = touch(c, r);
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
                r->flags |= R_PRESENT;
                r->val = sv;
                r->len = (uint32_t)sl;
            } else if (rc != PAREX_E_NOTFOUND) {
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
    uint32_t i;
    int w, rc = find_rec(c, key, &i, &w);
    rec *r;
    uint8_t *copy = NULL;

    if (rc != PAREX_OK) {
        return rc;
    }
    r = &c->t->recs[i];
    rc = touch(c, r);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (!w) {
        c->t->escaped = 1;
    }
    if (!del) {
        copy = px__arena_alloc(&c->wk->arena, len ? len : 1);
        if (copy == NULL) {
            return PAREX_E_NOMEM;
        }
        if (len > 0) {
            memcpy(copy, val, len);
        }
    }
    r->flags = (uint8_t)((r->flags & R_READ) | R_WRITE | R_LOADED |
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

    for (i = 0; i < t->n_recs; i++) {
        rec *r = &t->recs[i];
        if (i == t->acct_slot) {
            r->flags = (uint8_t)((r->flags & R_READ) | R_WRITE | R_LOADED |
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
    px__keymap_clear(&wk->uidx);
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
    if (X->env->profile != NULL) {
        uint64_t ts = px__now_ns();
        rc = px__tx_run(&c.base, X->env->progs, &t->out);
        X->env->profile[j].exec_ns += px__now_ns() - ts;
        X->env->profile[j].incarnations++;
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

/* ---- jobs ---- */

static uint32_t q_pop(pexec *X)
{
    uint32_t j = NO_TX;

    if (atomic_load(&X->q_count) == 0) {
        return NO_TX;
    }
    pthread_mutex_lock(&X->q_lock);
    if (X->q_head != X->q_tail) {
        j = X->q[X->q_head++];
        atomic_fetch_sub(&X->q_count, 1);
    }
    pthread_mutex_unlock(&X->q_lock);
    return j;
}

static void q_push(pexec *X, uint32_t j)
{
    pthread_mutex_lock(&X->q_lock);
    X->q[X->q_tail++] = j;      /* each tx is queued at most once: room */
    atomic_fetch_add(&X->q_count, 1);
    pthread_mutex_unlock(&X->q_lock);
}

/* Runs tx j and releases its dependents: the first one that becomes ready
 * is returned to run next on this worker (it reads what j just wrote),
 * the others go to the shared queue. Closing j's list makes later edges
 * to j (from an analysis still running) see that j has finished. */
static uint32_t run_one(pexec *X, uint32_t j, unsigned w)
{
    uint32_t e, nextj = NO_TX;
    int rc = exec_tx(X, j, w);

    if (rc == PAREX_OK) {
        rc = publish_tx(X, j, w);
    }
    if (rc != PAREX_OK) {
        int zero = 0;
        atomic_compare_exchange_strong(&X->err, &zero, rc);
        return NO_TX;
    }
    e = atomic_exchange_explicit(&X->t[j].succ, CLOSED, memory_order_acq_rel);
    for (; e != NIL; e = X->edges[e].next) {
        uint32_t d = X->edges[e].tx;
        if (atomic_fetch_sub_explicit(&X->t[d].pending, 1,
                memory_order_acq_rel) == 1) {
            if (nextj == NO_TX) {
                nextj = d;
            } else {
                q_push(X, d);
            }
        }
    }
    return nextj;
}

/* True when no other worker holds work that could make more txs ready. */
static int all_idle(pexec *X, unsigned w)
{
    unsigned i;

    for (i = 0; i < X->env->threads; i++) {
        if (i != w && atomic_load(&X->busy[i].v)) {
            return 0;
        }
    }
    return 1;
}

static int analyse_rest(pexec *X);

/* Claims analysed txs in block order until one is ready (its last
 * dependency runs the others). NO_TX when none is claimable now;
 * *exhausted then tells whether every tx has been claimed. */
static uint32_t claim(pexec *X, int *exhausted)
{
    uint32_t c = atomic_load_explicit(&X->next, memory_order_relaxed);

    for (;;) {
        uint32_t lim = atomic_load_explicit(&X->analysed,
            memory_order_acquire);
        if (c >= lim) {
            *exhausted = c >= X->n;
            return NO_TX;
        }
        if (atomic_compare_exchange_weak_explicit(&X->next, &c, c + 1,
                memory_order_relaxed, memory_order_relaxed)) {
            if (atomic_fetch_sub_explicit(&X->t[c].pending, 1,
                    memory_order_acq_rel) == 1) {
                *exhausted = 0;
                return c;
            }
            c++;
        }
    }
}

/* The worker loop. Each tx ends up run exactly once: by the claimer when
 * its dependencies had finished, else by whichever finishing dependency
 * brought its pending count to zero. The first worker in finishes the
 * conflict analysis while the others already run analysed txs. A worker
 * leaves when every tx is claimed, the queue is empty and nobody else is
 * running a tx; a worker still running drains the queue itself before
 * leaving, so leaving early only costs parallelism, never a tx. */
static void run_flow(void *arg, unsigned w, size_t b, size_t e)
{
    pexec *X = arg;
    uint32_t j = NO_TX, idle = 0;

    (void)b;
    (void)e;
    atomic_store(&X->busy[w].v, 1);
    if (atomic_exchange(&X->analyst, 1) == 0) {
        int rc = analyse_rest(X);
        if (rc != PAREX_OK) {
            int zero = 0;
            atomic_compare_exchange_strong(&X->err, &zero, rc);
        }
    }
    while (atomic_load_explicit(&X->err, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&X->give_up, memory_order_relaxed) == 0) {
        int exhausted = 0;
        if (j == NO_TX) {
            j = q_pop(X);
        }
        if (j == NO_TX) {
            j = claim(X, &exhausted);
            if (j != NO_TX) {
                continue;
            }
            if (atomic_load(&X->q_count) != 0) {
                continue;
            }
            atomic_store(&X->busy[w].v, 0);
            if (exhausted && atomic_load(&X->q_count) == 0 &&
                all_idle(X, w)) {
                break;
            }
            /* Others still run txs that may release more: stay, but leave
             * the core to them when this machine is oversubscribed. */
            if ((++idle & 63) == 0) {
                sched_yield();
            }
            atomic_store(&X->busy[w].v, 1);
            continue;
        }
        j = run_one(X, j, w);
    }
    atomic_store(&X->busy[w].v, 0);
}

static void run_validate(void *arg, unsigned w, size_t b, size_t e)
{
    pexec *X = arg;
    size_t j;

    (void)w;
    for (j = b; j < e && !atomic_load_explicit(&X->give_up,
             memory_order_relaxed); j++) {
        X->t[j].invalid = (uint8_t)!validate_tx(X, (uint32_t)j);
    }
}

/* ---- phases ---- */

/* Conflict analysis runs in steps so that it can overlap execution: begin
 * (tables), then ranges of txs in block order (batches and dependency
 * edges); the first worker into the execution job analyses the rest in
 * chunks while the others run what is analysed. */
typedef struct analysis {
    kent **slots;               /* next free slot pointers */
    uint32_t nb;                /* batches so far */
    px__arena *arena;           /* key entries */
    size_t next_tx;             /* first tx not analysed yet */
} analysis;

#define ANALYSIS_CHUNK 64

static size_t prefix_len(size_t n, unsigned threads);

static int analyse_begin(pexec *X, analysis *A)
{
    const px__block *blk = X->env->blk;
    px__scratch *sc = X->env->scratch;
    size_t total = 0, j;
    int rc;

    size_t pre = 0, np = prefix_len(blk->n, X->env->threads);

    for (j = 0; j < blk->n; j++) {
        total += (size_t)blk->txs[j].tx.n_read + blk->txs[j].tx.n_write + 1;
        if (j + 1 == np) {
            pre = total;
        }
    }
    X->total_keys = total;
    /* Sized for the prefix; km_reserve() sizes it for the block later. */
    rc = km_init(X, pre);
    if (rc != PAREX_OK) {
        return rc;
    }
    memset(A, 0, sizeof(*A));
    A->arena = X->main_arena;
    /* Only the block's execution uses them: reused, not page-faulted in
     * afresh for every block. */
    A->slots = reuse(&sc->slots, &sc->slots_bytes,
        (total + 1) * sizeof(kent *));
    X->edges = reuse(&sc->order, &sc->order_bytes,
        (total + 1) * sizeof(edge) + blk->n * sizeof(uint32_t));
    if (A->slots == NULL || X->edges == NULL) {
        return PAREX_E_NOMEM;
    }
    X->q = (uint32_t *)(X->edges + total + 1);
    /* Exact declarations walk nothing; a few steps per declared key is
     * generous for wrong ones before the reference is cheaper. */
    X->walk_budget = 16 * ((uint64_t)total + blk->n) + 65536;
    return PAREX_OK;
}

/* Tx j waits for tx d, unless d has already finished. The count goes up
 * before the edge is visible, so d finishing at once cannot take it to
 * zero (the claim and the analysis guard hold it above). */
static void add_edge(pexec *X, uint32_t d, uint32_t j)
{
    uint32_t idx = X->n_edges, h;
    edge *e = &X->edges[idx];
    _Atomic uint32_t *head = &X->t[d].succ;

    atomic_fetch_add_explicit(&X->t[j].pending, 1, memory_order_relaxed);
    e->tx = j;
    h = atomic_load_explicit(head, memory_order_acquire);
    for (;;) {
        if (h == CLOSED) {
            atomic_fetch_sub_explicit(&X->t[j].pending, 1,
                memory_order_relaxed);
            return;
        }
        e->next = h;
        if (atomic_compare_exchange_weak_explicit(head, &h, idx,
                memory_order_acq_rel, memory_order_acquire)) {
            X->n_edges++;
            return;
        }
    }
}

static int analyse_range(pexec *X, analysis *A, size_t from, size_t to)
{
    const px__block *blk = X->env->blk;
    kent **slots = A->slots;
    size_t j;
    uint32_t nb = A->nb;

    for (j = from; j < to; j++) {
        const px__btx *b = &blk->txs[j];
        ptx *t = &X->t[j];
        uint32_t i, last = NO_TX;
        int32_t bt = 0;

        t->slots = slots;
        t->recs = NULL;
        t->n_recs = 0;
        t->inc = 0;
        t->escaped = 0;
        t->invalid = 0;
        atomic_init(&t->pending, 2);    /* the claim and this analysis */
        atomic_init(&t->succ, NIL);
        t->acct_slot = px__tx_acct_slot(b, &t->n_slots);
        for (i = 0; i < t->n_slots; i++) {
            kent *k = km_get(X, A->arena, px__tx_slot_key(b, i));
            if (k == NULL) {
                return PAREX_E_NOMEM;
            }
            slots[i] = k;
            bt = px__conflict_after(&k->cf,
                px__tx_slot_writes(b, i, t->acct_slot), bt);
            if (k->lastw != NO_TX && k->lastw != last) {
                last = k->lastw;
                add_edge(X, last, (uint32_t)j);
            }
        }
        for (i = 0; i < t->n_slots; i++) {
            int w = px__tx_slot_writes(b, i, t->acct_slot);
            if (w) {
                slots[i]->lastw = (uint32_t)j;
            }
            px__conflict_mark(&slots[i]->cf, w, bt);
        }
        t->batch = bt;
        atomic_fetch_sub_explicit(&t->pending, 1, memory_order_relaxed);
        if ((uint32_t)bt + 1 > nb) {
            nb = (uint32_t)bt + 1;
        }
        slots += t->n_slots;
    }
    A->slots = slots;
    A->nb = nb;
    A->next_tx = to;
    return PAREX_OK;
}

/* The rest of the analysis, on the first worker into the execution job:
 * chunk by chunk under the keymap lock (escaped txs insert keys too),
 * each chunk published to the claimers. */
static int analyse_rest(pexec *X)
{
    analysis *A = X->A;
    uint64_t t0 = px__now_ns();
    int rc = PAREX_OK;

    if (A->next_tx < X->n) {
        pthread_mutex_lock(&X->km_lock);
        rc = km_reserve(X, X->total_keys);
        pthread_mutex_unlock(&X->km_lock);
    }
    while (rc == PAREX_OK && A->next_tx < X->n) {
        size_t to = A->next_tx + ANALYSIS_CHUNK < X->n
            ? A->next_tx + ANALYSIS_CHUNK : X->n;
        pthread_mutex_lock(&X->km_lock);
        rc = analyse_range(X, A, A->next_tx, to);
        pthread_mutex_unlock(&X->km_lock);
        atomic_store_explicit(&X->analysed, (uint32_t)A->next_tx,
            memory_order_release);
        if (atomic_load_explicit(&X->err, memory_order_relaxed) != 0) {
            break;
        }
    }
    X->analysis_ns = px__now_ns() - t0;
    return rc;
}

/* A narrow block, decided on a prefix: item 0 runs the reference executor,
 * item 1 finishes the analysis (batch counts stay exact) into a worker's
 * arena, since the reference allocates from the result's arena meanwhile. */
typedef struct overlap_job {
    pexec *X;
    analysis *A;
    px__result *res;
    int rc_seq, rc_an;
} overlap_job;

static void run_overlap(void *arg, unsigned w, size_t b, size_t e)
{
    overlap_job *o = arg;
    size_t i;

    (void)w;
    for (i = b; i < e; i++) {
        if (i == 0) {
            o->rc_seq = px__exec_sequential(o->X->env, o->res);
        } else {
            o->rc_an = km_reserve(o->X, o->X->total_keys);
            if (o->rc_an == PAREX_OK) {
                o->rc_an = analyse_range(o->X, o->A, o->A->next_tx,
                    o->X->n);
            }
        }
    }
}

/* Txs analysed before deciding whether a block is too narrow to run in
 * parallel: enough to see its shape, small next to the whole analysis
 * (which, on a narrow block, is all that stays on the critical path). */
static size_t prefix_len(size_t n, unsigned threads)
{
    size_t p = n / 32 > 64 ? n / 32 : 64;
    return threads < 2 || p > n ? n : p;
}

int px__exec_parallel(const px__exec_env *env, px__result *res)
{
    pexec X;
    size_t n = env->blk->n, j;
    uint32_t nb = 0;
    uint64_t t0 = px__now_ns(), t1;
    busy_flag *busy = NULL;
    const px__keyslot *ks;
    px__exec_shape shape;
    analysis A;
    int rc;

    memset(&X, 0, sizeof(X));
    X.env = env;
    X.n = (uint32_t)n;
    X.main_arena = &res->arena;
    atomic_init(&X.err, 0);
    atomic_init(&X.escaped, 0);
    atomic_init(&X.next, 0);
    atomic_init(&X.q_count, 0);
    atomic_init(&X.walk, 0);
    atomic_init(&X.give_up, 0);
    pthread_mutex_init(&X.km_lock, NULL);
    pthread_mutex_init(&X.q_lock, NULL);
    X.t = reuse(&env->scratch->t, &env->scratch->t_bytes, n * sizeof(*X.t));
    busy = calloc(env->threads, sizeof(*busy));
    if (X.t == NULL || busy == NULL) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    X.busy = busy;
    rc = analyse_begin(&X, &A);
    if (rc == PAREX_OK) {
        rc = analyse_range(&X, &A, 0, prefix_len(n, env->threads));
    }
    if (rc != PAREX_OK) {
        goto out;
    }
    t1 = px__now_ns();
    res->analysis_ns = t1 - t0;
    shape.txs = A.next_tx;
    shape.batches = A.nb;
    if (px__exec_choose(env, &shape) == PX__EXEC_NARROW) {
        /* The reference executor is exact by definition. The rest of the
         * analysis, if any, overlaps it so the batch count stays exact
         * for free. */
        overlap_job o;
        o.X = &X;
        o.A = &A;
        o.res = res;
        o.rc_seq = PAREX_OK;
        o.rc_an = PAREX_OK;
        A.arena = &env->workers[env->threads - 1].arena;
        px__pool_run(env->pool, run_overlap, &o, A.next_tx < n ? 2 : 1, 1);
        rc = o.rc_seq != PAREX_OK ? o.rc_seq : o.rc_an;
        nb = A.nb;
        /* The stages still add up to the wall time: an analysis tail that
         * outlasts the reference shows up as execution. */
        res->exec_ns = px__now_ns() - t1 - res->apply_ns;
        res->analysis_ns = t1 - t0;
        /* The reference set its own overlay's probes. */
        res->map_probes += X.km->probes;
        res->batches = nb;
        res->fallback = 1;
        goto out;
    }
    /* The analysed prefix is claimable; the rest is analysed while it
     * runs. analysis_ns is the whole analysis, exec_ns the rest of the
     * wall time, so the stages still add up. */
    X.A = &A;
    atomic_init(&X.analysed, (uint32_t)A.next_tx);
    atomic_init(&X.analyst, 0);
    px__pool_run(env->pool, run_flow, &X, env->threads, 1);
    rc = atomic_load(&X.err);
    nb = A.nb;
    res->batches = nb;
    /* Analysis and the undeclared keys of first incarnations. */
    res->map_probes = X.km->probes;
    if (rc != PAREX_OK) {
        goto out;
    }
    t0 = px__now_ns();
    res->analysis_ns += X.analysis_ns;
    res->exec_ns = t0 - t1 - X.analysis_ns;
    res->escaped = atomic_load(&X.escaped);

    if (res->escaped > 0 && !atomic_load(&X.give_up)) {
        size_t m;
        px__pool_run(env->pool, run_validate, &X, n, 64);
        for (m = 0; m < n && !X.t[m].invalid; m++) {
        }
        /* Below m every tx is exact; from m on, each tx is checked against
         * final versions only, so one re-execution makes it exact. */
        for (j = m; j < n && !atomic_load(&X.give_up); j++) {
            if (j > m && validate_tx(&X, (uint32_t)j)) {
                continue;
            }
            unpublish_tx(&X, (uint32_t)j);
            X.t[j].inc++;
            rc = exec_tx(&X, (uint32_t)j, 0);
            if (rc == PAREX_OK) {
                rc = publish_tx(&X, (uint32_t)j, 0);
            }
            if (rc != PAREX_OK) {
                goto out;
            }
            res->reexecutions++;
        }
    }
    if (atomic_load(&X.give_up)) {
        /* Past the work bound (see pexec.walk): start over on the
         * reference, exact by definition and linear in the block. Nothing
         * was pushed to the result yet. */
        uint64_t wasted = res->exec_ns, t2 = px__now_ns(), runs = 0;
        for (j = 0; j < n; j++) {
            runs += X.t[j].recs != NULL ? 1u + X.t[j].inc : 0u;
        }
        rc = px__exec_sequential(env, res);
        res->validate_ns = t2 - t0;
        res->exec_ns += wasted;
        res->map_probes += X.km->probes;
        res->batches = nb;
        res->fallback = 1;
        res->reexecutions = runs;  /* every run before the reference's */
        goto out;
    }
    t1 = px__now_ns();
    res->validate_ns = t1 - t0;

    for (j = 0; j < n; j++) {
        if (px__stf_settle(res, env->receipts, j, &X.t[j].out)) {
            goto out;
        }
    }
    for (j = 0; (ks = px__keymap_next(X.km, &j)) != NULL;) {
        kent *k = ks->val.ptr;
        vnode *v = atomic_load(&k->head);
        if (v != NULL) {
            rc = px__result_push(res, k->key, v->val, v->len, v->del);
            if (rc != PAREX_OK) {
                goto out;
            }
        }
    }
    px__result_sort(res);
    res->apply_ns = px__now_ns() - t1;
out:
    if (env->profile != NULL && rc == PAREX_OK) {
        for (j = 0; j < n; j++) {
            env->profile[j].batch = (uint32_t)X.t[j].batch;
        }
    }
    pthread_mutex_destroy(&X.km_lock);
    pthread_mutex_destroy(&X.q_lock);
    free(busy);
    return rc;
}
