/* Conflict analysis (step 1 of engine/exec/par/par.c): the block's key map
 * (key -> kent, kept warm in the engine's scratch), each tx's batch by the
 * rules of engine/exec/conflict.h, and its dependency edges (the last
 * earlier declared writer of each key it declares). Runs in steps so that
 * it can overlap execution. Part of the translation unit par.c. */
#ifndef PX_PAR_ANALYSIS_IMPL_H
#define PX_PAR_ANALYSIS_IMPL_H

#include "pexec_impl.h"

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

/* Txs analysed on the caller before the workers start, so that the
 * claimers have work at once; the rest is analysed while they run. */
#define FIRST_CHUNK 64

/* Cells of the width estimate: a direct-mapped table of conflict states,
 * indexed by a hash of all 32 bytes of a key. Keys that share a cell are
 * treated as one key, which can only add conflicts: the estimated batch
 * count is never below the exact one (so a collision, chance or forced,
 * can only send a block to the reference executor, which is exact and
 * no slower than sequential). */
static inline size_t est_cell(const uint8_t *key, unsigned bits)
{
    uint64_t a, b, c, d, h;

    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    memcpy(&c, key + 16, 8);
    memcpy(&d, key + 24, 8);
    h = (a ^ (b * 0x9e3779b97f4a7c15u)) * 0xbf58476d1ce4e5b9u;
    h ^= (c ^ (d * 0xc2b2ae3d27d4eb4fu)) * 0x94d049bb133111ebu;
    h ^= h >> 29;
    return (size_t)(h >> (64 - bits));
}

/* The sampled narrow test: SAMPLE_TXS txs (SAMPLE_TXS_SMALL in blocks
 * below SAMPLE_FULL_TXS), one drawn from each of as many equal strata of
 * the block, in block order, through the cell estimate on a table of
 * 2^SAMPLE_BITS cells. Only blocks of SAMPLE_MIN_TXS txs or more (smaller
 * ones are estimated whole in a few microseconds). */
#define SAMPLE_TXS 128
#define SAMPLE_TXS_SMALL 64
#define SAMPLE_FULL_TXS 1024
#define SAMPLE_BITS 13
#define SAMPLE_MIN_TXS 256

/* Whether the block is narrow by a sample of it (declared in
 * engine/exec/conflict.h): the sampled txs' longest conflict path (the
 * conflict rules applied to them alone, in block order), weighted by
 * each tx's slot count as its cost, as a share of their whole work;
 * extrapolated to the block (that share x txs, as batches of equal txs)
 * less an eighth, and the decision on a block of that shape narrow.
 *
 * Why weighted: in ethereum/15538827 65 % of the txs write one account,
 * but they are small transfers, and its dependency-graph bound at 2
 * threads is 2.00x (1.70x measured); by batches alone the sample sent it
 * to the reference. Slot counts stand for cost because state access is
 * what execution does with a declared key (the trace program hashes
 * every key it touches); a block of equal txs gets the batch rule.
 *
 * Why extrapolate: a fraction f of txs that write one key (a DEX pool, a
 * fee account) gives about f x sample of the sample's path and f x txs in
 * the block. The sample's count is binomial: at 128 txs and f = 1/2 its
 * standard deviation is under 6, so the eighth held back is more than 1.4
 * of them, and a block must be well past the decision's own threshold
 * (which keeps a tenth in reserve) to be sent to the reference on the
 * sample alone; blocks near it are estimated whole, as before. Blocks
 * that are only partly chained (several interleaved chains, one sender's
 * run after another) give a sample with a short path and are estimated
 * whole. One hash per key of 64-128 txs instead of a pass over most of
 * the block: the sound test of estimate_shape() stops only once the
 * batches so far make the block narrow, which for 2 threads is about 60 %
 * of the way through a chain and 75 % through a block four fifths chained
 * (session 9, ethereum/15274915: the estimate was 9 % of the block's time
 * on the reference).
 *
 * A block whose sampled txs conflict while the rest do not (the sample's
 * places are fixed) runs on the reference: exact, and slower by at most
 * what parallel execution would have gained. */
typedef struct sample_cell {
    px__conflict w, u;  /* finish times: weighted, unweighted */
} sample_cell;

size_t px__exec_sample_size(size_t n)
{
    return n < SAMPLE_MIN_TXS ? 0
        : n >= SAMPLE_FULL_TXS ? SAMPLE_TXS : SAMPLE_TXS_SMALL;
}

size_t px__exec_sample_place(size_t n, size_t k)
{
    size_t ns = px__exec_sample_size(n);
    size_t lo = n * k / ns, hi = n * (k + 1) / ns;
    /* A fixed pseudo-random place in the stratum (Weyl sequence), so that
     * a period of the block cannot align with the sample. */
    uint64_t r = (uint64_t)(k + 1) * 0x9e3779b97f4a7c15u;

    PAREX_ASSERT(k < ns && lo < hi);
    return lo + (size_t)((r >> 32) % (hi - lo));
}

/* The sample's longest conflict path in one pass, two ways: weighted
 * (each tx costing its slot count) into *pw with the sampled txs' whole
 * work into *ww, and unweighted (each tx costing 1: the sampled txs'
 * batch count) into *pu with their number into *wu. One walk and one
 * hash per key serve both. 0 when the block is too small to sample or
 * the scratch cannot grow. */
static int sample_paths(const px__exec_env *env, uint64_t *pw,
    uint64_t *ww, uint64_t *pu, uint64_t *wu)
{
    const px__block *blk = env->blk;
    px__scratch *sc = env->scratch;
    size_t n = blk->n, ncell = (size_t)1 << SAMPLE_BITS, k;
    size_t ns = px__exec_sample_size(n);
    sample_cell *cells;

    *pw = *ww = *pu = *wu = 0;
    if (n < SAMPLE_MIN_TXS) {
        return 0;
    }
    /* Cleared once, then only the cells used are reset after each
     * sample: clearing all 128 KiB took 8-20 us a block, as long as the
     * sample itself. */
    if (sc->sample == NULL) {
        sc->sample = malloc(ncell * sizeof(*cells));
        if (sc->sample == NULL) {
            return 0;   /* the whole estimate reports the allocation */
        }
        memset(sc->sample, 0xff, ncell * sizeof(*cells));
    }
    cells = sc->sample;
    for (k = 0; k < ns; k++) {
        const px__btx *b = &blk->txs[px__exec_sample_place(n, k)];
        uint32_t i, n_slots, acct;
        int32_t sw = 0, su = 0, fw, fu;

        /* The sampled txs are scattered over a block just verified on
         * other cores: fetch the next ones' records and keys early. */
        if (k + 4 < ns) {
            __builtin_prefetch(&blk->txs[px__exec_sample_place(n, k + 4)]);
        }
        if (k + 2 < ns) {
            const px__btx *b2 = &blk->txs[px__exec_sample_place(n, k + 2)];
            __builtin_prefetch(b2->tx.write_set);
            __builtin_prefetch(b2->tx.read_set);
            __builtin_prefetch(b2->acct);
        }
        acct = px__tx_acct_slot(b, &n_slots);

        /* Cells hold finish times here, not batches: the path's work up
         * to and including the last tx that wrote (wbatch) or read
         * (rbatch) the cell; -1 (none) counts as 0. With unit costs this
         * is the batch rule, finish = batch + 1. */
        for (i = 0; i < n_slots; i++) {
            const sample_cell *c = &cells[est_cell(px__tx_slot_key(b, i),
                SAMPLE_BITS)];
            int wr = px__tx_slot_writes(b, i, acct);
            if (c->w.wbatch > sw) {
                sw = c->w.wbatch;
            }
            if (c->u.wbatch > su) {
                su = c->u.wbatch;
            }
            if (wr && c->w.rbatch > sw) {
                sw = c->w.rbatch;
            }
            if (wr && c->u.rbatch > su) {
                su = c->u.rbatch;
            }
        }
        fw = sw + (int32_t)n_slots;
        fu = su + 1;
        for (i = 0; i < n_slots; i++) {
            sample_cell *c = &cells[est_cell(px__tx_slot_key(b, i),
                SAMPLE_BITS)];
            if (px__tx_slot_writes(b, i, acct)) {
                c->w.wbatch = fw;
                c->u.wbatch = fu;
            } else {
                if (c->w.rbatch < fw) {
                    c->w.rbatch = fw;
                }
                if (c->u.rbatch < fu) {
                    c->u.rbatch = fu;
                }
            }
        }
        if ((uint64_t)fw > *pw) {
            *pw = (uint64_t)fw;
        }
        if ((uint64_t)fu > *pu) {
            *pu = (uint64_t)fu;
        }
        *ww += n_slots;
        *wu += 1;
    }
    for (k = 0; k < ns; k++) {
        const px__btx *b = &blk->txs[px__exec_sample_place(n, k)];
        uint32_t i, n_slots;

        (void)px__tx_acct_slot(b, &n_slots);
        for (i = 0; i < n_slots; i++) {
            memset(&cells[est_cell(px__tx_slot_key(b, i), SAMPLE_BITS)],
                0xff, sizeof(*cells));
        }
    }
    return *ww != 0;
}

/* The sampled verdict: SAMPLE_NARROW, SAMPLE_WIDE (wide by a margin the
 * sample's error cannot close, see below), or SAMPLE_UNSURE (estimate the
 * whole block); and in *cost_q16 the factor (2^16 = 1) by which the
 * sample's weighted path share is below its batch share: the whole-block
 * estimate counts batches, and where the chained txs are cheaper than
 * the rest the block is wider than its batches say. 0: no factor (not
 * sampled, or the chain is no cheaper).
 *
 * Wide by a margin: still parallel with the path's share doubled plus an
 * eighth of the block. At 128 sampled txs a share f has a standard
 * deviation of at most 0.045 (f = 1/2), so the margin is more than five
 * of them for any share that passes. Such a block skips the whole-block
 * estimate (one pass over every key: 0.15-0.2 ms of a 1.7-2.1 ms block
 * on solana-testnet and bitcoin, where the sample is 128 txs), and the
 * exact analysis checks the whole block while the txs run instead
 * (analyse_rest(): a block narrower than its sample goes to the
 * reference as soon as its exact batches say so). */
enum { SAMPLE_UNSURE, SAMPLE_NARROW, SAMPLE_WIDE, SAMPLE_NONE };

static int sample_decide(const px__exec_env *env, uint32_t *cost_q16)
{
    px__exec_shape shape;
    uint64_t pw, ww, pu, wu, wide;
    int verdict;

    *cost_q16 = 0;
    if (env->blk->n < SAMPLE_MIN_TXS) {
        return SAMPLE_NONE;
    }
    if (!sample_paths(env, &pw, &ww, &pu, &wu)) {
        return SAMPLE_UNSURE;
    }
    /* Batches of a block of equal txs with the same share of its work on
     * the critical path, less an eighth. */
    memset(&shape, 0, sizeof(shape));
    shape.txs = env->blk->n;
    shape.batches = (uint32_t)((uint64_t)shape.txs * pw * 7 / (8 * ww));
    if (shape.batches == 0) {
        shape.batches = 1;
    }
    if (px__exec_choose(env, &shape) == PX__EXEC_NARROW) {
        return SAMPLE_NARROW;
    }
    wide = (uint64_t)shape.txs * pw * 2 / ww + shape.txs / 8;
    shape.batches = (uint32_t)(wide < shape.txs ? wide : shape.txs);
    verdict = px__exec_choose(env, &shape) == PX__EXEC_PARALLEL
        ? SAMPLE_WIDE : SAMPLE_UNSURE;
    if (pw * wu < pu * ww) {
        /* (pw / ww) / (pu / wu), in 2^-16 */
        *cost_q16 = (uint32_t)((pw * wu << 16) / (pu * ww));
        if (*cost_q16 == 0) {
            *cost_q16 = 1;
        }
    }
    return verdict;
}

int px__exec_sample_is_chain(const px__exec_env *env)
{
    uint32_t q;

    return sample_decide(env, &q) == SAMPLE_NARROW;
}

int px__exec_sample_is_wide(const px__exec_env *env)
{
    uint32_t q;

    return sample_decide(env, &q) == SAMPLE_WIDE;
}

/* The block's declared keys (+ accounts), when estimate_shape() stopped
 * early or did not run; *pre gets those of the first `head` txs. */
static size_t count_keys(const px__block *blk, size_t head, size_t *pre)
{
    size_t total = 0, j;

    for (j = 0; j < blk->n; j++) {
        if (j == head) {
            *pre = total;
        }
        total += (size_t)blk->txs[j].tx.n_read + blk->txs[j].tx.n_write + 1;
    }
    if (blk->n <= head) {
        *pre = total;
    }
    return total;
}

/* One ordered pass over the whole block: counts its declared keys (the
 * tables' sizes; *pre gets those of the first FIRST_CHUNK txs) and
 * estimates its shape, the batches of the conflict rules applied to
 * cells instead of keys (an upper bound of the exact count, see
 * est_cell(): by induction every cell's state is at least that of each
 * key in it). It replaces the old key-count pass at the cost of one hash
 * and one cell per key, so that the decision sees the whole block, not a
 * prefix (a block's first txs, e.g. one sender's, can be far narrower
 * than the block). */
/* The whole block's exact shape, from stage 1's count. */
static void shape_of_pre(const px__exec_env *env, px__exec_shape *shape)
{
    shape->txs = env->blk->n;
    shape->batches = env->pre->nb;
    shape->cost_q16 = env->pre->cost_q16;
}

static int estimate_shape(pexec *X, px__exec_shape *shape, size_t *pre,
    int *complete)
{
    const px__block *blk = X->env->blk;
    px__scratch *sc = X->env->scratch;
    size_t total, j, ncell, head = blk->n < FIRST_CHUNK ? blk->n
                                                        : FIRST_CHUNK;
    size_t expect = 0;
    int restarted = 0;
    unsigned bits;
    px__conflict *cells;
    uint32_t nb, cost_q16;

    if (X->env->pre != NULL) {
        /* Stage 1 counted the block's batches exactly: the decision is
         * on them, and nothing is left to estimate or to check. */
        shape_of_pre(X->env, shape);
        /* A narrow block needs no tables: not even the key count, a pass
         * over every tx (3 % of hot's reference time). */
        *complete = px__exec_choose(X->env, shape) != PX__EXEC_NARROW;
        if (*complete) {
            X->total_keys = count_keys(blk, head, pre);
        }
        return PAREX_OK;
    }
    /* Narrow even if it were as wide as can be (one batch): a block of a
     * few dozen txs gains less than going parallel costs, whatever its
     * shape (at 1 us a tx on 2 threads, up to 32 txs), and needs no
     * analysis to tell. */
    shape->txs = blk->n;
    shape->batches = blk->n > 0 ? 1 : 0;
    shape->cost_q16 = 0;
    if (blk->n > 0 && px__exec_choose(X->env, shape) == PX__EXEC_NARROW) {
        *complete = 0;
        return PAREX_OK;
    }
    switch (sample_decide(X->env, &cost_q16)) {
    case SAMPLE_NARROW:
        *complete = 0;
        return PAREX_OK;
    case SAMPLE_WIDE:
    case SAMPLE_NONE:
        /* Only the key counts; the exact analysis checks the width
         * (X->late_check). A small block is analysed exactly in its
         * first chunk (FIRST_CHUNK txs) or a few more, before much of it
         * has run: the estimate cost it about as much (50 of the 370 us
         * of ethereum/12047794's 232 txs went to the estimate and the
         * first chunk). A block the BAL recorder records too: when it
         * turns out narrow, the rest of the analysis counts its batches
         * beside the recorder, which cannot (par.c, overlap_reference);
         * estimated whole, it cost the producer 90 us of solana-testnet's
         * 6 ms (session 13). */
        shape->cost_q16 = cost_q16;
        shape->txs = blk->n;
        shape->batches = (uint32_t)blk->n;
        X->total_keys = count_keys(blk, head, pre);
        X->late_check = 1;
        X->late_cost_q16 = cost_q16;
        *complete = 1;
        return PAREX_OK;
    default:
        break;
    }
    shape->cost_q16 = cost_q16;
    /* About 4 cells per key, a power of two between 2^8 and 2^22, the key
     * count judged on the first txs; if the block outgrows that (load
     * over 1/2), the pass starts again once with the count it saw. */
    for (j = 0; j < head; j++) {
        expect += (size_t)blk->txs[j].tx.n_read + blk->txs[j].tx.n_write + 1;
    }
    if (head > 0) {
        expect = expect / head * blk->n + expect % head * blk->n / head;
    }
restart:
    bits = 8;
    while (bits < 22 && ((size_t)1 << bits) < 4 * expect) {
        bits++;
    }
    ncell = (size_t)1 << bits;
    cells = reuse(&sc->est, &sc->est_bytes, ncell * sizeof(*cells));
    if (cells == NULL) {
        return PAREX_E_NOMEM;
    }
    /* All bytes 0xff: both batches -1, px__conflict_init()'s state. */
    memset(cells, 0xff, ncell * sizeof(*cells));
    *pre = 0;
    total = 0;
    nb = 0;
    for (j = 0; j < blk->n; j++) {
        const px__btx *b = &blk->txs[j];
        uint32_t i, n_slots, acct = px__tx_acct_slot(b, &n_slots);
        int32_t bt = 0;

        for (i = 0; i < n_slots; i++) {
            bt = px__conflict_after(&cells[est_cell(px__tx_slot_key(b, i),
                bits)], px__tx_slot_writes(b, i, acct), bt);
        }
        for (i = 0; i < n_slots; i++) {
            px__conflict_mark(&cells[est_cell(px__tx_slot_key(b, i),
                bits)], px__tx_slot_writes(b, i, acct), bt);
        }
        if ((uint32_t)bt + 1 > nb) {
            nb = (uint32_t)bt + 1;
        }
        total += (size_t)b->tx.n_read + b->tx.n_write + 1;
        if (j + 1 == FIRST_CHUNK) {
            *pre = total;
        }
        if ((j & 63) == 63 && j + 1 < blk->n) {
            if (!restarted && 2 * total > ncell && bits < 22) {
                /* Far more keys than the first txs promised: once more,
                 * sized by the count so far. */
                restarted = 1;
                expect = total / (j + 1) * blk->n +
                    total % (j + 1) * blk->n / (j + 1);
                goto restart;
            }
            /* The estimate only grows: once the decision on the whole
             * block is narrow with the batches so far, the rest cannot
             * change it, and the reference starts at once (a chain, such
             * as a block of transfers to one account, is decided early). */
            shape->txs = blk->n;
            shape->batches = nb;
            if (px__exec_choose(X->env, shape) == PX__EXEC_NARROW) {
                *complete = 0;
                return PAREX_OK;
            }
        }
    }
    if (blk->n < FIRST_CHUNK) {
        *pre = total;
    }
    X->total_keys = total;
    shape->txs = blk->n;
    shape->batches = nb;
    *complete = 1;
    return PAREX_OK;
}

/* The tables, after estimate_shape(): the key map sized for the first
 * `pre` keys (km_reserve() sizes it for the block later, off the critical
 * path), the slot and edge arrays for the whole block. */
static int analyse_begin(pexec *X, analysis *A, size_t pre)
{
    const px__block *blk = X->env->blk;
    px__scratch *sc = X->env->scratch;
    size_t total = X->total_keys;
    int rc;

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
    X->slots_base = A->slots;
    X->edges = reuse(&sc->order, &sc->order_bytes,
        (total + 1) * sizeof(edge) + blk->n * sizeof(uint32_t));
    if (A->slots == NULL || X->edges == NULL) {
        return PAREX_E_NOMEM;
    }
    X->q = (uint32_t *)(X->edges + total + 1);
    X->n_edges_max = (uint32_t)total + 1;
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

    /* Edges point forward, one per declared key at most. */
    PAREX_ASSERT(d < j && idx < X->n_edges_max);
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
        const uint8_t *acct = X->accts != NULL ? X->accts[j] : b->acct;

        t->slots = slots;
        t->recs = NULL;
        t->n_recs = 0;
        t->inc = 0;
        t->escaped = 0;
        t->invalid = 0;
        atomic_init(&t->pending, 2);    /* the claim and this analysis */
        atomic_init(&t->succ, NIL);
        t->acct_slot = px__tx_acct_slot_k(b, acct, &t->n_slots);
        for (i = 0; i < t->n_slots; i++) {
            kent *k = km_get(X, A->arena, px__tx_slot_key_k(b, acct, i));
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
        A->n_dep += bt > 0;
        /* The analysis' hold on the tx goes; the claim's stays. */
        (void)PAREX_ALWAYS(atomic_fetch_sub_explicit(&t->pending, 1,
            memory_order_relaxed) >= 2);
        if ((uint32_t)bt + 1 > nb) {
            nb = (uint32_t)bt + 1;
        }
        slots += t->n_slots;
        /* Slot arena bounds: one slot per declared key and account. */
        PAREX_ASSERT((size_t)(slots - X->slots_base) <= X->total_keys);
    }
    A->slots = slots;
    A->nb = nb;
    A->next_tx = to;
    return PAREX_OK;
}

/* Whether a block the sample judged wide is narrow by its exact batches
 * so far. They only grow, so the verdict is the whole block's as soon as
 * it is given, and it depends on the block alone: which txs ran before
 * it does not matter, since the reference then runs the block. Every
 * block this sends back the whole-block estimate would have sent too (it
 * never counts fewer batches). */
static int late_narrow(const pexec *X, const analysis *A)
{
    px__exec_shape shape;

    if (!X->late_check) {
        return 0;
    }
    shape.txs = X->n;
    shape.batches = A->nb;
    shape.cost_q16 = X->late_cost_q16;
    return px__exec_choose(X->env, &shape) == PX__EXEC_NARROW;
}

/* The rest of the analysis, on the first worker into the execution job:
 * chunk by chunk under the keymap lock (escaped txs insert keys too),
 * each chunk published to the claimers. */
static int analyse_rest(pexec *X)
{
    analysis *A = X->A;
    uint64_t t0 = px__now_ns();
    int rc = PAREX_OK;

    if (A->next_tx >= X->n) {
        X->analysis_ns = 0;     /* analysed whole before (stage 1, or a
                                   block of one chunk) */
        return PAREX_OK;
    }
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
        if (rc == PAREX_OK && late_narrow(X, A)) {
            X->late_narrow = 1;
            atomic_store(&X->give_up, 1);
            break;
        }
        atomic_store_explicit(&X->analysed, (uint32_t)A->next_tx,
            memory_order_release);
        if (atomic_load_explicit(&X->err, memory_order_relaxed) != 0) {
            break;
        }
    }
    X->analysis_ns = px__now_ns() - t0;
    return rc;
}

#endif /* PX_PAR_ANALYSIS_IMPL_H */
