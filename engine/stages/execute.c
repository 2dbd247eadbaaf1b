/* Stage 2 of a block: execution. Chooses the executor (px__exec_choose(),
 * the one place that decides), runs it into the engine's result and
 * receipts, turns a rejected tx into the block's error, and credits the
 * fee total (engine/exec/stf.c). */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The decision's cost model (ns), from the profile of issue 10 on a
 * 2-core machine: what a tx costs more on the parallel path than on the
 * reference (claims, pending counts, version lists, cache lines moving
 * between cores: about 120 core-ns on wide blocks, up to 260 on chains),
 * and a block's fixed cost of going parallel (waking the pool, posting
 * the job, apply). The block's cost was 20 us while the analysis ran in
 * the execution stage; with it in stage 1 the Ethereum blocks of 24-108
 * txs that 20 us kept on the reference run 1.2-1.6x in parallel (session
 * 11, all 50 traces, 2 rounds), so 10 us. */
#define PAR_TX_OVERHEAD_NS 150
#define PAR_BLOCK_OVERHEAD_NS 10000
/* The cost per tx assumed before any block ran on the reference. */
#define DEFAULT_TX_NS 1000
/* Calibration (PAREX_FALLBACK_CALIBRATE): a block of at least
 * CALIB_MIN_TXS txs, more than half of them conflicting with an earlier
 * tx, that the decision would run in parallel runs on the reference
 * instead when the engine has never measured the reference, or has run
 * CALIB_EVERY blocks in parallel since it last did. Why: in such blocks nearly every tx reads keys that
 * another core has just written, and that traffic is not in the parallel
 * run's sampled tx times. Measured on a 2-core Intel VM (session 17),
 * p2p with 100 accounts in 10,000-tx blocks: 208 ns a tx sampled at 1
 * thread, 550-600 ns at 2, and the block 0.56-0.62x of the reference's
 * speed, while the decision, seeing only sampled times, judged the
 * reference 2.7 times slower than it is. */
#define CALIB_MIN_TXS 256
#define CALIB_EVERY 64

/* The parallel bound's unit count: txs / t + (1 - 1/t) x critical path
 * (Graham 1969, as below), the path scaled by the cost factor. */
static double par_units(double n, double nb, uint32_t cost_q16, double t)
{
    if (cost_q16 != 0 && cost_q16 < 65536) {
        nb *= (double)cost_q16 / 65536.0;
    }
    return n / t + (1.0 - 1.0 / t) * nb;
}

px__exec_kind px__exec_choose(const px__exec_env *env,
    const px__exec_shape *shape)
{
    double n, nb, t, c, par, u;

    if (shape == NULL) {
        if (env->sequential) {
            return PX__EXEC_SEQUENTIAL;
        }
        /* One thread and the default width: nothing to gain from an
         * analysis, and the reference counts batches on its own map. */
        if (env->threads < 2 && env->min_width == 0) {
            return PX__EXEC_COUNTED;
        }
        return PX__EXEC_ANALYSE;
    }
    if (shape->batches == 0) {
        return PX__EXEC_PARALLEL;   /* an empty block */
    }
    if (env->min_width != 0) {
        return shape->txs < (uint64_t)env->min_width * shape->batches
            ? PX__EXEC_NARROW : PX__EXEC_PARALLEL;
    }
    /* The expected gain: list scheduling of a DAG of total work W and
     * critical path L on t threads finishes within W/t + (1 - 1/t) L
     * (Graham, "Bounds on multiprocessing timing anomalies", 1969); the
     * critical path is at most the batch count (here an upper bound of
     * it) times the cost of one tx. Parallel only when that bound, with
     * the synchronisation it costs, beats the sequential time. */
    n = (double)shape->txs;
    nb = (double)shape->batches;
    t = (double)env->threads;
    /* The sample's chained txs are cheaper than its others: the critical
     * path is that much shorter in time than in txs (par_units). */
    u = par_units(n, nb, shape->cost_q16, t);
    if (env->ref_ns != 0) {
        /* The reference measured alone; the parallel path's unit cost as
         * earlier parallel blocks paid it, cross-core traffic and all,
         * once one has run since. */
        c = (double)env->ref_ns;
        par = (env->par_k != 0 ? (double)env->par_k
                               : c + PAR_TX_OVERHEAD_NS) * u +
            PAR_BLOCK_OVERHEAD_NS;
    } else {
        c = env->tx_ns != 0 ? (double)env->tx_ns : DEFAULT_TX_NS;
        par = (c + PAR_TX_OVERHEAD_NS) * u + PAR_BLOCK_OVERHEAD_NS;
    }
    /* A tenth in reserve: the bound and the overheads are estimates, and
     * a block that gains less is not worth the risk of losing. */
    return par < 0.9 * c * n ? PX__EXEC_PARALLEL : PX__EXEC_NARROW;
}

int px__exec_block(const px__exec_env *env, px__result *res)
{
    px__exec_env se;
    int rc;

    switch (px__exec_choose(env, NULL)) {
    case PX__EXEC_SEQUENTIAL:
        return px__exec_sequential(env, res);
    case PX__EXEC_COUNTED:
        se = *env;
        se.count_batches = 1;
        rc = px__exec_sequential(&se, res);
        res->fallback = 1;
        res->fallback_reason = PAREX_FALLBACK_ONE_THREAD;
        return rc;
    default:
        break;
    }
    if (env->calibrate && env->bal_out == NULL) {
        /* With stage 1's count, only a block the decision sends parallel;
         * without it, the last parallel block's shape has decided. */
        px__exec_shape sh;
        int wide = 1;
        if (env->pre != NULL) {
            sh.txs = env->blk->n;
            sh.batches = env->pre->nb;
            sh.cost_q16 = env->pre->cost_q16;
            wide = px__exec_choose(env, &sh) == PX__EXEC_PARALLEL;
        }
        if (wide) {
            return px__exec_reference(env, res, PAREX_FALLBACK_CALIBRATE);
        }
    }
    return px__exec_parallel(env, res);
}

/* Folds a block of at least 16 txs into the engine's costs (moving
 * averages): tx_ns (weight 1/4) the reference's execution time per tx,
 * or the parallel run's sampled tx run times; ref_ns (1/4) the former
 * only; par_k (1/2) a parallel block's execution stage per unit of its
 * bound, from the engine's second parallel block on (its first touches
 * the parallel executor's buffers for the first time: 5-20 % slower on
 * p2p with 10,000 accounts, session 17). A reference run moves par_k an
 * eighth of the way back to the prior (ref_ns + PAR_TX_OVERHEAD_NS), so
 * that a block type once found slower in parallel is tried there again
 * after a while. */
static void learn_tx_ns(parex_engine *e, const px__result *r, size_t n)
{
    uint64_t c;

    if (n < 16 || r->fallback_reason == PAREX_FALLBACK_WORK_BOUND) {
        return;
    }
    if (r->fallback) {
        c = r->exec_ns / n;
        if (c == 0) {
            c = 1;
        }
        e->ref_ns = e->ref_ns == 0 ? c : (3 * e->ref_ns + c) / 4;
        e->since_ref = 0;
        if (e->par_k != 0) {
            e->par_k = (7 * e->par_k + e->ref_ns + PAR_TX_OVERHEAD_NS) / 8;
        }
    } else if (r->tx_ns_sampled != 0) {
        double u = par_units((double)n, (double)r->batches,
            e->pre.valid && e->pre.n == n ? e->pre.cost_q16 : 0,
            (double)e->threads);
        uint64_t wall = r->analysis_ns + r->exec_ns + r->validate_ns +
            r->apply_ns, k;
        wall = wall > PAR_BLOCK_OVERHEAD_NS ? wall - PAR_BLOCK_OVERHEAD_NS
                                             : 1;
        k = (uint64_t)((double)wall / u);
        if (k == 0) {
            k = 1;
        }
        if (e->par_runs > 0) {
            e->par_k = e->par_k == 0 ? k : (e->par_k + k) / 2;
        }
        if (e->par_runs < UINT32_MAX) {
            e->par_runs++;
        }
        if (e->since_ref < UINT32_MAX) {
            e->since_ref++;
        }
        e->dep_heavy = 2 * r->deps > n;
        c = r->tx_ns_sampled;
    } else {
        return;
    }
    e->tx_ns = e->tx_ns == 0 ? c : (3 * e->tx_ns + c) / 4;
}

/* Whether this block runs on the reference to measure it
 * (CALIB_MIN_TXS), should the decision send it parallel: its share of
 * dependent txs is stage 1's count, else (signatures verified before,
 * no stage 1) the last parallel block's. Only after one parallel block
 * (so that an engine's first block, e.g. a replay of one block, is never
 * a calibration); never with an explicit width, one thread or a BAL
 * (px__exec_block checks the last). */
static int calibrate_gate(const parex_engine *e, const px__block *blk)
{
    int pre = e->pre.valid && e->pre.n == blk->n;

    return e->threads >= 2 && !e->sequential && e->min_width == 0 &&
        e->par_runs > 0 && blk->n >= CALIB_MIN_TXS &&
        (pre ? 2 * (uint64_t)e->pre.n_dep > blk->n : e->dep_heavy) &&
        (e->ref_ns == 0 || e->since_ref >= CALIB_EVERY);
}

/* The per-tx profile of this block: n zeroed entries, or NULL when the
 * engine does not profile. PAREX_E_NOMEM when they cannot be had. */
static int profile_begin(parex_engine *e, size_t n, parex_tx_profile **out)
{
    *out = NULL;
    if (!e->profiling) {
        return PAREX_OK;
    }
    if (e->cap_prof < n) {
        parex_tx_profile *np = realloc(e->prof, n * sizeof(*np));
        if (np == NULL) {
            return PAREX_E_NOMEM;
        }
        e->prof = np;
        e->cap_prof = n;
    }
    if (n > 0) {
        memset(e->prof, 0, n * sizeof(*e->prof));
    }
    e->n_prof = n;
    *out = e->prof;
    return PAREX_OK;
}

/* The decision's inputs, as px__stage_execute() gives them. */
static void decision_env(parex_engine *e, const px__block *blk,
    px__exec_env *env)
{
    memset(env, 0, sizeof(*env));
    env->blk = blk;
    env->threads = e->threads;
    env->sequential = e->sequential;
    env->min_width = e->min_width;
    env->scratch = &e->scratch;
    env->tx_ns = e->tx_ns;
    env->ref_ns = e->ref_ns;
    env->par_k = e->par_k;
}

void px__stage_precount(parex_engine *e, const px__block *blk, unsigned w)
{
    px__exec_env env;
    px__exec_shape shape;
    uint64_t t0 = px__now_ns();

    if (e->bal_mode == PX__BALM_VALIDATE) {
        if (e->bal_deferred && px__bal_load_deferred(e, blk) != PAREX_OK) {
            e->pre.ns = px__now_ns() - t0;
            return;     /* px__stage_verify reports it */
        }
        decision_env(e, blk, &env);
        env.workers = e->workers;
        env.balws = e->balws;
        (void)px__bal_preindex(&env, &e->bal, &e->workers[w]);
        e->pre.ns = px__now_ns() - t0;
        return;
    }
    e->scratch.pa.valid = 0;
    px__precount_run(&e->pre, blk);
    if (!e->pre.valid) {
        e->pre.ns = px__now_ns() - t0;
        return;
    }
    decision_env(e, blk, &env);
    env.pre = &e->pre;
    shape.txs = blk->n;
    shape.batches = e->pre.nb;
    shape.cost_q16 = e->pre.cost_q16;
    /* A block that will run in parallel is analysed here too, on the
     * engine's tables (stage 2 runs next on the same engine): its
     * execution then starts with every tx claimable. A failure leaves it
     * to stage 2. */
    if (!calibrate_gate(e, blk) &&
        px__exec_choose(&env, &shape) == PX__EXEC_PARALLEL) {
        (void)px__exec_preanalyse(&env, &e->res.arena,
            (const uint8_t (*)[32])e->pre.accts);
    }
    e->pre.ns = px__now_ns() - t0;
}

int px__stage_execute(parex_engine *e, const px__block *blk,
    parex_block_stats *st, parex_error_info *err)
{
    px__exec_env env;
    int rc;

    /* The workers wake during the serial start of execution (receipts,
     * the whole-block estimate), not after the job is posted. */
    if (!e->sequential && e->threads > 1) {
        px__pool_prewake(e->pool);
    }
    /* The engine's array, grown to the largest block so far. */
    if (blk->n > e->cap_receipts || e->receipts == NULL) {
        size_t cap = blk->n > 0 ? blk->n : 1;
        parex_receipt *r = realloc(e->receipts, cap * sizeof(*r));
        if (r == NULL) {
            return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
        }
        e->receipts = r;
        e->cap_receipts = cap;
    }
    memset(e->receipts, 0, blk->n * sizeof(*e->receipts));
    e->n_receipts = blk->n;
    /* Every field not set below (rec_defer among them) is zero. */
    memset(&env, 0, sizeof(env));
    env.blk = blk;
    env.progs = &e->progs;
    env.lim = &e->lim;
    env.pool = e->pool;
    env.workers = e->workers;
    env.threads = e->threads;
    env.sequential = e->sequential;
    env.min_width = e->min_width;
    env.scratch = &e->scratch;
    env.receipts = e->receipts;
    env.count_batches = 0;
    env.tx_ns = e->tx_ns;
    env.ref_ns = e->ref_ns;
    env.par_k = e->par_k;
    env.calibrate = calibrate_gate(e, blk);
    env.bal_out = NULL;
    env.balws = e->balws;
    env.pre = e->pre.valid && e->pre.n == blk->n ? &e->pre : NULL;
    if (profile_begin(e, blk->n, &env.profile) != PAREX_OK) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    if (px__bal_execute(e, &env, &rc)) {
        rc = px__exec_block(&env, &e->res);
    }
    /* With a carried BAL, its decode (px__bal_begin) and index are the
     * analysis BAL validation does in place of conflict analysis: the
     * execution stage times the same work on every side (bench). */
    st->analysis_ns = e->res.analysis_ns + e->bal_ns;
    st->exec_ns = e->res.exec_ns;
    st->validate_ns = e->res.validate_ns;
    st->apply_ns = e->res.apply_ns;
    st->batches = e->res.batches;
    st->reexecutions = e->res.reexecutions;
    st->escaped = e->res.escaped;
    st->fallback = e->res.fallback;
    st->fallback_reason = e->res.fallback_reason;
    st->map_probes = e->res.map_probes;
    if (rc == PAREX_OK) {
        size_t i;
        for (i = 0; i < blk->n; i++) {
            st->budget_stops += e->receipts[i].status == PAREX_TX_BUDGET;
        }
    }
    e->prof_valid = e->profiling && rc == PAREX_OK;
    if (rc == PAREX_OK) {
        learn_tx_ns(e, &e->res, blk->n);
    }
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", "execution failed: %s",
            parex_strerror(rc));
    }
    if (e->res.reject_tx >= 0 &&
        e->res.reject == PAREX_REJECT_BAL_MISMATCH) {
        return px__bal_reject(e, err);
    }
    if (e->res.reject_tx >= 0) {
        int64_t j = e->res.reject_tx;
        const px__btx *b = &blk->txs[j];
        return px__fail(err, PAREX_E_BLOCK, e->res.reject, j,
            e->res.reject_field, "tx %lld: %s (nonce %llu, fee %llu)",
            (long long)j, parex_reject_name(e->res.reject),
            (unsigned long long)b->tx.nonce, (unsigned long long)b->tx.fee);
    }
    rc = px__stf_credit_fees(&e->res, e->workers[0].snap,
        e->hdr.fee_recipient, e->receipts, e->n_receipts, err);
    return rc == PAREX_OK ? px__bal_after_fees(e, blk, err) : rc;
}
