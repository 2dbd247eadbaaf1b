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
 *
 * The jobs live in *_impl.h units included here, one translation unit so
 * that the hot paths inline across them (as libsecp256k1 does):
 *   pexec_impl.h     the state: struct pexec, ptx, kent, rec, vnode, edge
 *   analysis_impl.h  step 1, conflict analysis and dependency edges
 *   mvmem_impl.h     steps 2-4, version lists, the ctx, run and validate
 *   sched_impl.h     step 2, the scheduler and the worker loop
 *   record_impl.h    with env->bal_out: the block access list, read off
 *                    the final records and versions
 *   par.c            the driver: narrow or parallel, validation and
 *                    re-execution, the change set
 */
#include "sched_impl.h"
#include "record_impl.h"

/* Apply runs on every worker up to this many threads (its per-range
 * counters sit on the stack), in block order beyond. */
#define PAREX_MAX_THREADS_APPLY 64

/* A narrow block, decided on the whole block's estimated shape: item 0
 * runs the reference executor, item 1 the exact analysis (batch counts
 * stay exact) into a worker's arena, since the reference allocates from
 * the result's arena meanwhile. */
typedef struct overlap_job {
    pexec *X;
    analysis *A;
    px__result *res;
    int begun;              /* analyse_begin() has run (else: item 1) */
    int rc_seq, rc_an;
    atomic_int ref_taken, an_taken;
} overlap_job;

/* The reference executor, or, when the block's BAL is to be recorded, the
 * BAL recorder (engine/exec/bal.c: the reference's order, recording). */
static int reference(const px__exec_env *env, px__result *res)
{
    if (env->bal_out != NULL) {
        return px__exec_bal_record(env, res, env->bal_out);
    }
    return px__exec_sequential(env, res);
}

/* Whether a narrow block's batches are counted by the reference itself on
 * its own key map (engine/exec/seq.c, count_batches: a lookup per key in
 * the map its execution uses next) rather than by the exact analysis
 * beside it on another core: always, as 43dfbdf's sequential fallback did,
 * except for the BAL recorder, which cannot count. The overlap's analysis
 * touches tables of its own (key map, entries, slots, edges), each page a
 * first-touch page fault in a fresh engine (5-10 us on the session's VM),
 * needs the second core for the whole block (px__pool_run waits for it)
 * and slows the reference on the first (shared cache). Measured on hot and
 * p2p with 2 accounts (session 5 `exp` A/B, session 6 gate): the count
 * inside the reference costs it a few percent of instructions, the
 * overlap 15-30 % of wall time. (Session 5 kept the overlap for blocks of
 * at most 4 keys a tx.) */
static int narrow_counted(const pexec *X)
{
    return X->env->bal_out == NULL && X->env->blk->n > 0;
}

int px__exec_reference(const px__exec_env *env, px__result *res,
    uint64_t reason)
{
    px__exec_env se = *env;
    size_t i;
    int rc;

    /* The BAL recorder cannot count: it comes with stage 1's count. */
    PAREX_ASSERT(env->pre != NULL || env->bal_out == NULL);
    se.count_batches = env->pre == NULL;
    rc = reference(&se, res);
    if (env->pre != NULL) {
        res->batches = env->pre->nb;
        if (env->profile != NULL && rc == PAREX_OK) {
            for (i = 0; i < env->blk->n; i++) {
                env->profile[i].batch = env->pre->batch[i];
            }
        }
    }
    res->fallback = 1;
    res->fallback_reason = reason;
    return rc;
}

/* A narrow block on the reference, which counts its batches unless the
 * exact analysis has seen the whole block (A non-NULL: its count stands,
 * and the txs' batches are in X->t): decided before any tx ran, or after
 * (late_narrow(): the txs run so far, whose time is `wasted`, are
 * discarded; nothing was pushed to the result). The caller's analysis so
 * far is res->analysis_ns. */
static int narrow_reference(pexec *X, const analysis *A, px__result *res,
    uint64_t wasted)
{
    px__exec_env se = *X->env;
    int rc;

    /* With stage 1's count the decision was exact and made before. */
    PAREX_ASSERT(X->env->pre == NULL);
    se.count_batches = A == NULL;
    if (se.profile != NULL && X->n > 0) {
        /* The profile is the reference's run alone, as its re-execution
         * count (none) says. */
        memset(se.profile, 0, X->n * sizeof(*se.profile));
    }
    /* The BAL recorder cannot count: it comes here with a whole count. */
    PAREX_ASSERT(X->env->bal_out == NULL || A != NULL);
    rc = A != NULL ? reference(&se, res) : px__exec_sequential(&se, res);
    if (A != NULL) {
        res->batches = A->nb;
    }
    res->exec_ns += wasted;
    if (X->km != NULL) {
        res->map_probes += X->km->probes;
    }
    res->fallback = 1;
    res->fallback_reason = PAREX_FALLBACK_NARROW;
    return rc;
}

static void run_overlap(void *arg, unsigned w, size_t b, size_t e)
{
    overlap_job *o = arg;
    size_t i;

    /* Two items, one role each, taken by who comes: the caller (worker
     * 0) takes the reference when it is free, as the sequential engine
     * runs it on the caller (its heap, its caches); the other threads
     * the analysis. Whoever finds its role taken does the other one. */
    for (i = b; i < e; i++) {
        int ref = w == 0 ? !atomic_exchange(&o->ref_taken, 1)
                         : atomic_exchange(&o->an_taken, 1);
        if (ref) {
            if (w != 0) {
                (void)PAREX_ALWAYS(!atomic_exchange(&o->ref_taken, 1));
            }
            o->rc_seq = reference(o->X->env, o->res);
        } else {
            if (w == 0) {
                (void)PAREX_ALWAYS(!atomic_exchange(&o->an_taken, 1));
            }
            if (!o->begun) {
                /* The estimate stopped early: the tables are set up here,
                 * beside the reference. */
                size_t pre;
                o->X->total_keys = count_keys(o->X->env->blk, 0, &pre);
                o->rc_an = analyse_begin(o->X, o->A, 0);
                o->A->arena = &o->X->env->workers[o->X->env->threads - 1]
                                   .arena;
                if (o->rc_an != PAREX_OK) {
                    continue;
                }
            }
            o->rc_an = km_reserve(o->X, o->X->total_keys);
            if (o->rc_an == PAREX_OK) {
                o->rc_an = analyse_range(o->X, o->A, o->A->next_tx,
                    o->X->n);
            }
        }
    }
}

/* A narrow block on the reference (or the BAL recorder) on the caller,
 * with the exact analysis beside it on another core (begun: from
 * A->next_tx on, else from the start); its count stands. The time from
 * `since` on, less apply, is execution, added to `wasted` (txs that ran
 * before): the stages still add up to the wall time, and an analysis
 * tail that outlasts the reference shows up as execution. */
static int overlap_reference(pexec *X, analysis *A, px__result *res,
    int begun, uint64_t since, uint64_t wasted)
{
    const px__exec_env *env = X->env;
    overlap_job o;
    int rc;

    o.X = X;
    o.A = A;
    o.res = res;
    o.begun = begun;
    o.rc_seq = PAREX_OK;
    o.rc_an = PAREX_OK;
    atomic_init(&o.ref_taken, 0);
    atomic_init(&o.an_taken, 0);
    /* The reference allocates in the result's arena meanwhile. */
    A->arena = &env->workers[env->threads - 1].arena;
    px__pool_run(env->pool, run_overlap, &o, X->n > 0 ? 2 : 1, 1);
    rc = o.rc_seq != PAREX_OK ? o.rc_seq : o.rc_an;
    res->exec_ns = wasted + (px__now_ns() - since) - res->apply_ns;
    /* The reference set its own overlay's probes. */
    res->map_probes += X->km->probes;
    res->batches = A->nb;
    res->fallback = 1;
    res->fallback_reason = PAREX_FALLBACK_NARROW;
    return rc;
}

/* Parallel apply: worker w settles txs [w n/T, (w+1) n/T) (receipts, a
 * fee sum of its own) and collects the newest version of keys
 * [w K/T, (w+1) K/T) of the key map's K keys, split by key range (the top
 * byte); then worker r gathers key range r from every worker into its
 * place in the change set and sorts it. Ranges are disjoint and ordered,
 * so the concatenation is sorted. The keys are walked in the map's slot
 * order (px__keymap_at), in which the analysis inserted them and
 * allocated their entries: both arrays are read one line after the other,
 * where a walk of the index reached each slot and entry at random
 * (bitcoin/413567: the first phase 0.22-0.29 ms at 2 threads for 9,737
 * keys, 32,768 buckets). */
typedef struct apply_part {
    px__change *buf;            /* this worker's changes, by key range */
    size_t n;
    size_t *start;              /* threads + 1 range starts in buf */
    uint64_t fees;
    int bad;                    /* a rejection or a fee overflow */
    /* One per worker in one array, fees and n written per tx and key by
     * their own worker: a line of padding keeps the neighbours' apart
     * (40 bytes each shared one). */
    char pad_end[64];
} apply_part;

typedef struct apply_job {
    pexec *X;
    px__result *res;
    apply_part *part;
    unsigned T;
    size_t *at;                 /* T x T: where range r of part w goes */
    int phase, rc;
    record_job *rec;            /* NULL, or the BAL recording, whose
                                   parts are items T.. of phase 0 */
} apply_job;

static unsigned key_range(uint64_t top, unsigned T)
{
    return (unsigned)(((unsigned)(top >> 56) * T) >> 8);
}

static void run_apply(void *arg, unsigned wk, size_t b, size_t e)
{
    apply_job *J = arg;
    pexec *X = J->X;
    size_t w;

    for (w = b; w < e; w++) {
        apply_part *P = &J->part[w];
        if (w >= J->T) {
            /* Both read only the final versions: the recording's parts
             * share the first job instead of a job of their own. */
            record_part(J->rec, wk, w - J->T);
        } else if (J->phase == 0) {
            size_t j, j0 = X->n * w / J->T, j1 = X->n * (w + 1) / J->T;
            size_t K = px__keymap_count(X->km);
            size_t s0 = K * w / J->T, s1 = K * (w + 1) / J->T, pos, i;
            size_t cnt[PAREX_MAX_THREADS_APPLY + 1];
            px__change *tmp;
            unsigned r;

            P->fees = 0;
            P->bad = 0;
            for (j = j0; j < j1; j++) {
                const px__outcome *o = &X->t[j].out;
                if (o->reject != PAREX_REJECT_NONE ||
                    P->fees > UINT64_MAX - o->receipt.fee) {
                    P->bad = 1;
                    break;
                }
                X->env->receipts[j] = o->receipt;
                P->fees += o->receipt.fee;
            }
            tmp = P->buf + (s1 - s0);
            P->n = 0;
            memset(cnt, 0, sizeof(cnt));
            for (pos = s0; pos < s1; pos++) {
                kent *k = px__keymap_at(X->km, pos)->val.ptr;
                vnode *v = atomic_load(&k->head);
                if (v != NULL) {
                    px__change *c = &tmp[P->n++];
                    c->key = k->key;
                    c->top = px__key_top(k->key);
                    c->del = v->del;
                    c->val = v->del ? NULL : v->val;
                    c->len = v->del ? 0 : v->len;
                    cnt[key_range(c->top, J->T) + 1]++;
                }
            }
            for (r = 0; r < J->T; r++) {
                cnt[r + 1] += cnt[r];
            }
            for (r = 0; r <= J->T; r++) {
                P->start[r] = cnt[r];
            }
            for (i = 0; i < P->n; i++) {
                P->buf[cnt[key_range(tmp[i].top, J->T)]++] = tmp[i];
            }
        } else {
            /* Range w from every worker, then sorted. */
            size_t q, from = J->at[w * J->T], to = from;
            for (q = 0; q < J->T; q++) {
                apply_part *Q = &J->part[q];
                size_t m = Q->start[w + 1] - Q->start[w];
                if (m > 0) {
                    memcpy(J->res->changes + to, Q->buf + Q->start[w],
                        m * sizeof(px__change));
                }
                to += m;
            }
            px__changes_sort(J->res->changes + from, to - from,
                &X->env->workers[wk].sort);
        }
    }
}

/* The change set and the settled receipts on every worker; the block's
 * rejection or fee overflow (rare) is settled again in block order. With
 * rj, the BAL recording's parts run in the first job too. */
static int apply_parallel(pexec *X, px__result *res, record_job *rj)
{
    unsigned T = X->env->threads, q, r;
    size_t S = px__keymap_count(X->km), total = 0, j;
    apply_job J;
    px__change *base;
    int rc = PAREX_OK, bad = 0;
    uint64_t fees = 0;

    memset(&J, 0, sizeof(J));
    J.X = X;
    J.res = res;
    J.T = T;
    J.rec = rj;
    J.part = calloc(T, sizeof(*J.part));
    J.at = calloc((size_t)T * T + 1, sizeof(*J.at));
    if (J.part == NULL || J.at == NULL) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    /* Kept in the scratch: no fresh pages to fault in every block. */
    base = reuse(&X->env->scratch->apply, &X->env->scratch->apply_bytes,
        2 * (S + T) * sizeof(px__change));
    if (base == NULL) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    for (q = 0; q < T; q++) {
        size_t room = S * (q + 1) / T - S * q / T;
        J.part[q].buf = base;
        base += 2 * (room + 1);
        J.part[q].start = calloc(T + 1, sizeof(size_t));
        if (J.part[q].start == NULL) {
            rc = PAREX_E_NOMEM;
            goto out;
        }
    }
    J.phase = 0;
    px__pool_run(X->env->pool, run_apply, &J,
        T + (rj != NULL ? rj->parts : 0), 1);
    for (q = 0; q < T; q++) {
        total += J.part[q].n;
        if (J.part[q].bad || fees > UINT64_MAX - J.part[q].fees) {
            bad = 1;
        } else {
            fees += J.part[q].fees;
        }
    }
    if (bad) {
        /* The reference's order: up to the first rejection or overflow;
         * receipts from there on stay as the reference leaves them. */
        res->fee_total = 0;
        for (j = 0; j < X->n; j++) {
            if (px__stf_settle(res, X->env->receipts, j, &X->t[j].out)) {
                memset(X->env->receipts + j, 0,
                    (X->n - j) * sizeof(parex_receipt));
                goto out;
            }
        }
        fees = res->fee_total;
    }
    res->fee_total = fees;
    if (res->cap_changes < total) {
        px__change *nv = realloc(res->changes,
            (total > 0 ? total : 1) * sizeof(*nv));
        if (nv == NULL) {
            rc = PAREX_E_NOMEM;
            goto out;
        }
        res->changes = nv;
        res->cap_changes = total;
    }
    /* Range r of worker q goes after ranges < r of every worker and range
     * r of workers < q. */
    for (r = 0, j = 0; r < T; r++) {
        for (q = 0; q < T; q++) {
            if (q == 0) {
                J.at[r * T] = j;
            }
            j += J.part[q].start[r + 1] - J.part[q].start[r];
        }
    }
    J.phase = 1;
    px__pool_run(X->env->pool, run_apply, &J, T, 1);
    res->n_changes = total;
    px__result_check_sorted(res);
out:
    if (J.part != NULL) {
        for (q = 0; q < T; q++) {
            free(J.part[q].start);
        }
    }
    free(J.part);
    free(J.at);
    return rc;
}

int px__exec_preanalyse(const px__exec_env *env, px__arena *arena,
    const uint8_t (*accts)[32])
{
    pexec X;
    analysis A;
    size_t n = env->blk->n, pre;
    int rc;

    env->scratch->pa.valid = 0;
    memset(&X, 0, sizeof(X));
    memset(&A, 0, sizeof(A));
    X.env = env;
    X.n = (uint32_t)n;
    X.main_arena = arena;
    X.accts = accts;
    X.t = reuse(&env->scratch->t, &env->scratch->t_bytes, n * sizeof(*X.t));
    if (X.t == NULL) {
        return PAREX_E_NOMEM;
    }
    X.total_keys = count_keys(env->blk, 0, &pre);
    /* Nothing runs yet: the key map is sized for the whole block at once
     * and no lock is taken. */
    rc = analyse_begin(&X, &A, X.total_keys);
    if (rc == PAREX_OK) {
        rc = analyse_range(&X, &A, 0, n);
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    env->scratch->pa.n = n;
    env->scratch->pa.total_keys = X.total_keys;
    env->scratch->pa.slots_used = (size_t)(A.slots - X.slots_base);
    env->scratch->pa.n_edges = X.n_edges;
    env->scratch->pa.nb = A.nb;
    env->scratch->pa.valid = 1;
    return PAREX_OK;
}

/* Takes up stage 1's analysis of this block (px__exec_preanalyse): the
 * tables are where analyse_begin() puts them, the counts are the
 * scratch's. */
static void analyse_adopt(pexec *X, analysis *A)
{
    px__scratch *sc = X->env->scratch;
    size_t total = sc->pa.total_keys;

    X->km = &sc->km;
    X->total_keys = total;
    memset(A, 0, sizeof(*A));
    A->arena = X->main_arena;
    X->slots_base = sc->slots;
    A->slots = X->slots_base + sc->pa.slots_used;
    X->edges = sc->order;
    X->q = (uint32_t *)(X->edges + total + 1);
    X->n_edges_max = (uint32_t)total + 1;
    X->n_edges = sc->pa.n_edges;
    X->walk_budget = 16 * ((uint64_t)total + X->n) + 65536;
    A->nb = sc->pa.nb;
    A->next_tx = X->n;
    sc->pa.valid = 0;
}

int px__exec_parallel(const px__exec_env *env, px__result *res)
{
    pexec X;
    record_job R;
    size_t n = env->blk->n, j;
    uint32_t nb = 0;
    uint64_t t0 = px__now_ns(), t1;
    busy_flag *busy = NULL;
    px__exec_shape shape;
    size_t pre = 0;
    int complete = 0, counted = 0, adopted;
    int recording = env->bal_out != NULL;
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
    memset(&A, 0, sizeof(A));
    memset(&shape, 0, sizeof(shape));
    adopted = env->pre != NULL && env->scratch->pa.valid &&
        env->scratch->pa.n == n;
    if (adopted) {
        /* Stage 1 analysed the block (it runs in parallel by stage 1's
         * count, the decision below agrees). */
        analyse_adopt(&X, &A);
        rc = PAREX_OK;
        shape_of_pre(env, &shape);
        complete = 1;
    } else {
        rc = estimate_shape(&X, &shape, &pre, &complete);
    }
    if (rc == PAREX_OK && complete && !adopted) {
        rc = analyse_begin(&X, &A, pre);
    }
    if (rc != PAREX_OK) {
        goto out;
    }
    if (!complete || (!X.late_check &&
            px__exec_choose(env, &shape) == PX__EXEC_NARROW)) {
        /* The reference executor is exact by definition. The exact
         * analysis overlaps it so the batch count stays exact for free,
         * unless it would cost about as much as the reference itself:
         * then the reference counts the batches on its own map. */
        t1 = px__now_ns();
        res->analysis_ns = t1 - t0;
        if (env->pre != NULL) {
            /* Stage 1's count stands: the plain reference (or the BAL
             * recorder), no count and no analysis beside it. */
            rc = px__exec_reference(env, res, PAREX_FALLBACK_NARROW);
            counted = 1;
            goto out;
        }
        if (narrow_counted(&X)) {
            rc = narrow_reference(&X, NULL, res, 0);
            PAREX_ASSERT(rc != PAREX_OK || !complete ||
                res->batches <= shape.batches);
            counted = 1;    /* the reference set the profile's batches */
            goto out;
        }
        rc = overlap_reference(&X, &A, res, complete, t1, 0);
        PAREX_ASSERT(rc != PAREX_OK || !complete || A.nb <= shape.batches);
        res->analysis_ns = t1 - t0;
        goto out;
    }
    if (!adopted) {
        rc = analyse_range(&X, &A, 0, n < FIRST_CHUNK ? n : FIRST_CHUNK);
    }
    if (rc != PAREX_OK) {
        goto out;
    }
    /* Adopted: no analysis here, the setup counts as execution. */
    t1 = adopted ? t0 : px__now_ns();
    res->analysis_ns = t1 - t0;
    if (late_narrow(&X, &A)) {
        /* Narrow by its first txs already; a block of at most FIRST_CHUNK
         * txs is analysed whole, and its count stands. */
        if (env->bal_out != NULL && A.next_tx < n) {
            /* The BAL recorder cannot count: the rest of the analysis
             * runs beside it. */
            rc = overlap_reference(&X, &A, res, 1, t1, 0);
            goto out;
        }
        counted = A.next_tx < n;
        rc = narrow_reference(&X, counted ? NULL : &A, res, 0);
        goto out;
    }
    /* The analysed first chunk is claimable; the rest is analysed while
     * it runs. analysis_ns is the whole analysis, exec_ns the rest of the
     * wall time, so the stages still add up. */
    for (j = 0; j < env->threads; j++) {
        env->workers[j].samp_ns = 0;
        env->workers[j].samp_n = 0;
    }
    X.A = &A;
    atomic_init(&X.analysed, (uint32_t)A.next_tx);
    atomic_init(&X.analyst, 0);
    px__pool_run(env->pool, run_flow, &X, env->threads, 1);
    rc = atomic_load(&X.err);
    nb = A.nb;
    {
        uint64_t sn = 0, sc = 0;
        for (j = 0; j < env->threads; j++) {
            sn += env->workers[j].samp_ns;
            sc += env->workers[j].samp_n;
        }
        res->tx_ns_sampled = sc != 0 ? (sn + sc - 1) / sc : 0;
    }
    res->deps = env->pre != NULL ? env->pre->n_dep : A.n_dep;
    /* The estimate the decision used bounds the exact count; stage 1's
     * count is the exact count. */
    PAREX_ASSERT(rc != PAREX_OK || nb <= shape.batches);
    PAREX_ASSERT(rc != PAREX_OK || env->pre == NULL || nb == env->pre->nb);
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
    if (X.late_narrow && env->bal_out != NULL) {
        /* As above, after some txs ran. */
        rc = overlap_reference(&X, &A, res, 1, t0, res->exec_ns);
        goto out;
    }
    if (X.late_narrow) {
        /* Narrow after all (late_narrow()), as the estimate would have
         * said. */
        rc = narrow_reference(&X, NULL, res,
            res->exec_ns + (px__now_ns() - t0));
        counted = 1;
        goto out;
    }
    if (atomic_load(&X.give_up)) {
        /* Past the work bound (see pexec.walk): start over on the
         * reference, exact by definition and linear in the block. Nothing
         * was pushed to the result yet. */
        uint64_t wasted = res->exec_ns, t2 = px__now_ns(), runs = 0;
        for (j = 0; j < n; j++) {
            runs += X.t[j].recs != NULL ? 1u + X.t[j].inc : 0u;
        }
        rc = reference(env, res);
        res->validate_ns = t2 - t0;
        res->exec_ns += wasted;
        res->map_probes += X.km->probes;
        res->batches = nb;
        res->fallback = 1;
        res->fallback_reason = PAREX_FALLBACK_WORK_BOUND;
        res->reexecutions = runs;  /* every run before the reference's */
        goto out;
    }
    t1 = px__now_ns();
    res->validate_ns = t1 - t0;
    if (env->bal_out != NULL && env->rec_defer != NULL) {
        /* Every tx is final: the recording can run later, beside the
         * store's writes, off what stays until the next block. */
        px__recsrc *d = env->rec_defer;
        d->armed = PX__REC_ALL;
        d->t = X.t;
        d->n = X.n;
        d->blk = env->blk;
        d->workers = env->workers;
        d->scratch = env->scratch;
        recording = 0;
    }
    /* Recording counts as apply: both read the final versions. */
    if (recording && (rc = record_begin(&X, env->bal_out, &R)) != PAREX_OK) {
        goto out;
    }
    if (env->threads >= 2 && env->threads <= PAREX_MAX_THREADS_APPLY &&
        n >= 256) {
        rc = apply_parallel(&X, res, recording ? &R : NULL);
        if (rc == PAREX_OK && recording) {
            rc = record_end(&R);
        }
        res->apply_ns = px__now_ns() - t1;
        goto out;
    }
    if (recording) {
        px__pool_run(env->pool, run_record, &R, R.parts, 1);
        if ((rc = record_end(&R)) != PAREX_OK) {
            goto out;
        }
    }
    for (j = 0; j < n; j++) {
        if (px__stf_settle(res, env->receipts, j, &X.t[j].out)) {
            goto out;
        }
    }
    for (j = 0; j < px__keymap_count(X.km); j++) {
        kent *k = px__keymap_at(X.km, j)->val.ptr;
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
    if (env->profile != NULL && rc == PAREX_OK && !counted) {
        for (j = 0; j < n; j++) {
            env->profile[j].batch = (uint32_t)X.t[j].batch;
        }
    }
    pthread_mutex_destroy(&X.km_lock);
    pthread_mutex_destroy(&X.q_lock);
    free(busy);
    return rc;
}

int px__par_record(const px__recsrc *src, unsigned w, px__buf *out)
{
    px__exec_env env;
    pexec X;
    record_job R;
    int rc;

    PAREX_ASSERT(src->armed == PX__REC_ALL);
    /* One part, on this thread: the executor's state as the recording
     * reads it (its records and the final versions), nothing else. */
    memset(&env, 0, sizeof(env));
    env.blk = src->blk;
    env.workers = src->workers;
    env.scratch = src->scratch;
    env.threads = 1;
    memset(&X, 0, sizeof(X));
    X.env = &env;
    X.t = (ptx *)src->t;
    X.n = src->n;
    rc = record_begin(&X, out, &R);
    if (rc == PAREX_OK) {
        PAREX_ASSERT(R.parts == 1);
        record_part(&R, w, 0);
        rc = record_end(&R);
    }
    return rc;
}
