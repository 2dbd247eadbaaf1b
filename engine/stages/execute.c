/* Stage 2 of a block: execution. Chooses the executor (px__exec_choose(),
 * the one place that decides), runs it into the engine's result and
 * receipts, turns a rejected tx into the block's error, and credits the
 * fee total (engine/exec/stf.c). */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

px__exec_kind px__exec_choose(const px__exec_env *env,
    const px__exec_shape *prefix)
{
    uint32_t width;

    if (prefix == NULL) {
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
    width = env->min_width != 0 ? env->min_width : 16 * env->threads;
    if (prefix->batches > 0 && prefix->txs / prefix->batches < width) {
        /* Too narrow to pay for the synchronisation. */
        return PX__EXEC_NARROW;
    }
    return PX__EXEC_PARALLEL;
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
        return rc;
    default:
        return px__exec_parallel(env, res);
    }
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

int px__stage_execute(parex_engine *e, const px__block *blk,
    parex_block_stats *st, parex_error_info *err)
{
    px__exec_env env;
    int rc;

    e->receipts = calloc(blk->n > 0 ? blk->n : 1, sizeof(*e->receipts));
    if (e->receipts == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    e->n_receipts = blk->n;
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
    if (profile_begin(e, blk->n, &env.profile) != PAREX_OK) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    if (px__bal_execute(e, &env, &rc)) {
        rc = px__exec_block(&env, &e->res);
    }
    st->analysis_ns = e->res.analysis_ns;
    st->exec_ns = e->res.exec_ns;
    st->validate_ns = e->res.validate_ns;
    st->apply_ns = e->res.apply_ns;
    st->batches = e->res.batches;
    st->reexecutions = e->res.reexecutions;
    st->escaped = e->res.escaped;
    st->fallback = e->res.fallback;
    st->map_probes = e->res.map_probes;
    if (rc == PAREX_OK) {
        size_t i;
        for (i = 0; i < blk->n; i++) {
            st->budget_stops += e->receipts[i].status == PAREX_TX_BUDGET;
        }
    }
    e->prof_valid = e->profiling && rc == PAREX_OK;
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
    return rc == PAREX_OK ? px__bal_after_fees(e, err) : rc;
}
