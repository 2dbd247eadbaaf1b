/* parex_engine: its lifecycle, and the block pipeline as a list of stages.
 *
 * decode (engine/block.c) -> checks and parallel signature verification
 * (engine/stages/check.c) -> execution and fee credit
 * (engine/stages/execute.c) -> state, tx and receipts roots
 * (engine/stages/root.c) -> header -> optional commit in one LMDB write
 * transaction (engine/stages/commit.c). Nothing reaches the store before
 * the commit, so every error and every rejection leaves state exactly as
 * it was. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
static void options_default(parex_engine_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->chain_id = 1;
    parex_limits_default(&o->limits);
}

PAREX_API void parex_engine_options_default(parex_engine_options *out)
{
    parex_engine_options def;

    if (out != NULL && px__sized_check(out) == PAREX_OK) {
        options_default(&def);
        px__sized_out(out, &def, sizeof(def));
    }
}

static int limits_zero(const parex_limits *l)
{
    return l->max_args_bytes == 0 && l->max_keys_per_set == 0 &&
        l->max_value_bytes == 0 && l->max_block_txs == 0 &&
        l->max_block_bytes == 0 && l->max_tx_accesses == 0;
}

PAREX_API int parex_engine_create(parex_engine **out, parex_db *db,
    const parex_engine_options *opt)
{
    parex_engine_options def;
    parex_engine *e;
    unsigned i, threads;
    uint32_t chain_id;
    int rc;

    if (out == NULL) {
        return PAREX_E_MISUSE;
    }
    *out = NULL;
    if (db == NULL) {
        return PAREX_E_MISUSE;
    }
    options_default(&def);
    if (opt != NULL && px__sized_in(&def, sizeof(def), opt) != PAREX_OK) {
        return PAREX_E_MISUSE;
    }
    opt = &def;
    /* A store that records its chain takes engines of that chain only. */
    rc = px__db_chain_id(db, &chain_id);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (chain_id != 0 && chain_id != opt->chain_id) {
        return PAREX_E_MISMATCH;
    }
    threads = opt->threads;
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    if (threads > 1024) {
        return PAREX_E_INVALID;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return PAREX_E_NOMEM;
    }
    e->db = db;
    e->chain_id = opt->chain_id;
    e->sequential = opt->sequential;
    e->profiling = opt->profile != 0;
    if (limits_zero(&opt->limits)) {
        parex_limits_default(&e->lim);
    } else {
        e->lim = opt->limits;
    }
    px__result_init(&e->res);
    px__scratch_init(&e->scratch);
    px__precount_init(&e->pre);
    rc = px__programs_init(&e->progs);
    if (rc != PAREX_OK) {
        goto err;
    }
    rc = px__pool_create(&e->pool, threads);
    if (rc != PAREX_OK) {
        goto err;
    }
    e->threads = px__pool_threads(e->pool);
    e->progs.max_calls = opt->max_tx_calls;
    e->min_width = opt->min_batch_width;
    e->workers = calloc(e->threads, sizeof(*e->workers));
    if (e->workers == NULL) {
        rc = PAREX_E_NOMEM;
        goto err;
    }
    for (i = 0; i < e->threads; i++) {
        px__arena_init(&e->workers[i].arena, (size_t)1 << 20);
        px__keymap_init(&e->workers[i].uidx, 16);
        rc = px__snap_begin(&e->workers[i].snap, db->store);
        if (rc != PAREX_OK) {
            goto err;
        }
        px__snap_reset(e->workers[i].snap);
    }
    *out = e;
    return PAREX_OK;
err:
    parex_engine_destroy(e);
    return rc;
}

void px__engine_drop_pending(parex_engine *e)
{
    /* The result's buffers and the receipts' array stay for the next
     * block (no page faults in steady state); destroy frees them. */
    px__result_reset(&e->res);
    e->n_receipts = 0;
    px__pending_block_release(&e->body);
    e->pending = 0;
}

PAREX_API void parex_engine_destroy(parex_engine *e)
{
    unsigned i;

    if (e == NULL) {
        return;
    }
    px__engine_drop_pending(e);
    px__pool_destroy(e->pool);
    if (e->workers != NULL) {
        for (i = 0; i < e->threads; i++) {
            px__snap_end(e->workers[i].snap);
            px__arena_finish(&e->workers[i].arena);
            px__keymap_free(&e->workers[i].uidx);
            px__sortbuf_free(&e->workers[i].sort);
        }
        free(e->workers);
    }
    px__programs_finish(&e->progs);
    px__scratch_free(&e->scratch);
    px__precount_free(&e->pre);
    px__buf_free(&e->bal_out);
    px__bal_release(&e->bal);
    px__balws_free(e->balws);
    free(e->prof);
    px__result_release(&e->res);
    free(e->receipts);
    free(e);
}

PAREX_API int parex_engine_register(parex_engine *e, uint32_t id,
    parex_program_fn fn, void *user)
{
    if (e == NULL || fn == NULL) {
        return PAREX_E_MISUSE;
    }
    if (e->pending) {
        return PAREX_E_PENDING;
    }
    if (id < 256 && id != PAREX_PROGRAM_TRANSFER && id != PAREX_PROGRAM_TRACE) {
        return PAREX_E_INVALID;
    }
    return px__programs_set(&e->progs, id, fn, user);
}

PAREX_API unsigned parex_engine_threads(const parex_engine *e)
{
    return e != NULL ? e->threads : 0;
}

int px__engine_snaps_renew(parex_engine *e)
{
    unsigned i;
    for (i = 0; i < e->threads; i++) {
        int rc = px__snap_renew(e->workers[i].snap);
        if (rc != PAREX_OK) {
            while (i-- > 0) {
                px__snap_reset(e->workers[i].snap);
            }
            return rc;
        }
    }
    return PAREX_OK;
}

void px__engine_snaps_reset(parex_engine *e)
{
    unsigned i;
    for (i = 0; i < e->threads; i++) {
        px__snap_reset(e->workers[i].snap);
    }
}

/* Empties what the last block left: arenas, the result, the profile. */
static void start_block(parex_engine *e)
{
    unsigned i;

    e->prof_valid = 0;
    for (i = 0; i < e->threads; i++) {
        px__arena_reset(&e->workers[i].arena);
    }
    /* Kept, not freed: the result's buffers serve the next block. */
    px__result_reset(&e->res);
}

/* Hands the block out (receipts, header) and leaves it pending, or
 * commits it when asked. */
static int finish(parex_engine *e, const px__block *blk, parex_header *header,
    parex_receipt *receipts, parex_block_stats *st, unsigned flags,
    int *snaps, const uint8_t *block, size_t len, parex_error_info *err)
{
    size_t i;
    int rc = PAREX_OK;

    for (i = 0; i < blk->n; i++) {
        receipts[i] = e->receipts[i];
    }
    /* A recording left to the commit: the tx root comes with it. */
    if (header != NULL && !e->recsrc.armed) {
        *header = e->hdr;
    }
    /* The block's txs for the store: borrowed while this call runs,
     * copied if the block stays pending (the caller's buffer is not
     * retained). */
    px__pending_block_set(&e->body, block, len);
    if (!(flags & PAREX_EXEC_COMMIT)) {
        rc = px__pending_block_keep(&e->body);
        if (rc != PAREX_OK) {
            return px__fail(err, rc, 0, -1, "", "out of memory");
        }
    }
    e->pending = 1;
    if (!e->recsrc.armed) {
        /* (The recording reads the snapshots: end_call() resets them.) */
        px__engine_snaps_reset(e);
        *snaps = 0;
    }
    if (flags & PAREX_EXEC_COMMIT) {
        rc = px__engine_commit(e, st, blk, err);
        if (rc != PAREX_OK) {
            if (rc != PAREX_E_BLOCK) {
                px__fail(err, rc, 0, -1, "", "commit failed: %s",
                    parex_strerror(rc));
            }
            parex_engine_abort(e);
        } else if (header != NULL) {
            *header = e->hdr;
        }
    }
    PAREX_ASSERT(!e->recsrc.armed);
    return rc;
}

/* The caller's side of execute's contract (the block or the prepared
 * block is input), before anything is touched. */
static int execute_args(const parex_engine *e, const parex_receipt *receipts,
    size_t cap, const parex_block_stats *stats, parex_error_info *err,
    const void *input)
{
    if (e == NULL || input == NULL || (receipts == NULL && cap > 0)) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    if (stats != NULL && px__sized_check(stats) != PAREX_OK) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "size",
            "parex_block_stats.size is %zu; set it to "
            "sizeof(parex_block_stats) (PAREX_BLOCK_STATS_INIT)",
            stats->size);
    }
    if (e->pending) {
        return px__fail(err, PAREX_E_PENDING, 0, -1, "", "a block is "
            "pending: commit or abort it first");
    }
    return PAREX_OK;
}

/* The end of an execute call, either path: a failed block leaves nothing
 * pending and no BAL to read; the stats go out at the caller's size. */
static void end_call(parex_engine *e, int rc, int snaps,
    parex_block_stats *st, uint64_t t0, parex_block_stats *stats)
{
    if (rc != PAREX_OK && e->pending == 0) {
        px__engine_drop_pending(e);
    }
    if (snaps) {
        px__engine_snaps_reset(e);
    }
    if (rc != PAREX_OK) {
        e->bal_valid = 0;
        e->recsrc.armed = 0;    /* a block that failed before its commit */
    }
    px__bal_end(e);
    st->total_ns = px__now_ns() - t0;
    if (stats != NULL) {
        px__sized_out(stats, st, sizeof(*st));
    }
}

/* Execute flags come from two headers (parex_engine.h, parex_bal.h): one
 * bit each, never shared (a shared bit once made RECORD_BAL skip the
 * signature checks). */
_Static_assert(((PAREX_EXEC_COMMIT | PAREX_EXEC_VERIFIED) &
                   (PAREX_EXEC_RECORD_BAL | PAREX_EXEC_IGNORE_BAL)) == 0 &&
        (PAREX_EXEC_COMMIT & PAREX_EXEC_VERIFIED) == 0 &&
        (PAREX_EXEC_RECORD_BAL & PAREX_EXEC_IGNORE_BAL) == 0,
    "execute flags overlap");

PAREX_API int parex_engine_execute(parex_engine *e, parex_header *header,
    parex_receipt *receipts, size_t cap, parex_block_stats *stats,
    parex_error_info *err, const uint8_t *block, size_t len, unsigned flags)
{
    px__block blk;
    parex_block_stats st;
    uint64_t t0 = px__now_ns();
    int rc, snaps = 0;

    px__err_clear(err);
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    memset(&blk, 0, sizeof(blk));
    rc = execute_args(e, receipts, cap, stats, err, block);
    if (rc != PAREX_OK) {
        return rc;
    }
    start_block(e);
    e->bal_valid = 0;
    rc = px__block_decode(&blk, err, block, len, &e->lim);
    if (rc != PAREX_OK) {
        return rc;
    }
    st.txs = blk.n;
    /* The header's checks, then the BAL's decode (in stage 1's first item
     * where stage 1 has one), then the signatures: that order of verdicts
     * on every path. */
    rc = px__stage_check(e, &blk, cap, &snaps, err);
    if (rc == PAREX_OK) {
        rc = px__bal_begin(e, &blk, flags,
            px__stage1_item(e, &blk, flags), err);
    }
    if (rc == PAREX_OK) {
        /* The BAL's decode counts as its validation's analysis. */
        st.decode_ns = px__now_ns() - t0 - e->bal_ns;
        rc = px__stage_verify(e, &blk, flags, &st, err);
    }
    if (rc == PAREX_OK) {
        rc = px__stage_execute(e, &blk, &st, err);
    }
    if (rc == PAREX_OK) {
        rc = px__stage_root(e, &blk, &st, err);
    }
    if (rc == PAREX_OK) {
        rc = finish(e, &blk, header, receipts, &st, flags, &snaps, block, len,
            err);
    }
    end_call(e, rc, snaps, &st, t0, stats);
    px__block_release(&blk);
    return rc;
}

PAREX_API int parex_engine_execute_prepared(parex_engine *e,
    parex_header *header, parex_receipt *receipts, size_t cap,
    parex_block_stats *stats, parex_error_info *err, const parex_prepared *p,
    unsigned flags)
{
    const px__block *blk;
    parex_block_stats st;
    uint64_t t0 = px__now_ns();
    size_t len = 0;
    int rc, snaps = 0;

    px__err_clear(err);
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    rc = execute_args(e, receipts, cap, stats, err, p);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (!px__prepared_matches(e, p)) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "the block was "
            "prepared for an engine with another chain id or limits");
    }
    start_block(e);
    e->bal_valid = 0;
    blk = px__prepared_block(p);
    st.txs = blk->n;
    /* The stages of parex_engine_execute() in its order; the verdict of
     * the prepared signatures stands where verification would run. A
     * carried BAL (or RECORD_BAL) sets the block's mode as there: without
     * it the mode of the block before would stand. */
    rc = px__stage_check(e, blk, cap, &snaps, err);
    if (rc == PAREX_OK) {
        rc = px__bal_begin(e, blk, flags, 0, err);
    }
    if (rc == PAREX_OK) {
        rc = px__prepared_verdict(e, p, flags, &st, err);
    }
    if (rc == PAREX_OK) {
        rc = px__stage_execute(e, blk, &st, err);
    }
    if (rc == PAREX_OK) {
        rc = px__stage_root(e, blk, &st, err);
    }
    if (rc == PAREX_OK) {
        /* Two statements: an argument list's order of evaluation is
         * unspecified, and len must be read after px__prepared_bytes()
         * sets it (passed in one list, the block was stored without its
         * txs). */
        const uint8_t *bytes = px__prepared_bytes(p, &len);
        rc = finish(e, blk, header, receipts, &st, flags, &snaps, bytes,
            len, err);
    }
    end_call(e, rc, snaps, &st, t0, stats);
    return rc;
}

PAREX_API int parex_engine_profile(const parex_engine *e,
    const parex_tx_profile **profile, size_t *count)
{
    if (profile != NULL) {
        *profile = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (e == NULL || profile == NULL || count == NULL || !e->prof_valid) {
        return PAREX_E_MISUSE;
    }
    *profile = e->prof;
    *count = e->n_prof;
    return PAREX_OK;
}
