/* Stage 4 of a block: the commit. One LMDB write transaction takes the
 * change set, the receipts and the block (records.c:
 * px__write_receipts, px__write_block_record) and the new head; nothing
 * reaches the store before it, so every earlier error leaves state
 * exactly as it was. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The block record for the store: as executed, or, when its BAL was
 * recorded on a block that carried none, sealed with it (u32le 0 || u32le
 * len || BAL after the last tx, parex_block_attach_bal()), since the
 * header's tx root commits to that BAL. */
static int commit_body(px__wtxn *w, parex_engine *e)
{
    /* The trailer goes straight into the store's record: no sealed copy
     * of the whole block first. */
    int seal = e->bal_seal && e->bal_valid;

    return px__write_block_record(w, &e->hdr, e->body.body, e->body.len,
        seal ? e->bal_out.p : NULL, seal ? e->bal_out.len : 0);
}

/* The recording a parallel block left (e->recsrc armed), as the item of
 * a job posted beside the commit's first writes. */
typedef struct rec_job {
    parex_engine *e;
    int rc;
} rec_job;

static void run_rec(void *arg, unsigned w, size_t b, size_t end)
{
    rec_job *rj = arg;

    PAREX_ASSERT(b == 0 && end == 1);
    (void)b;
    (void)end;
    rj->rc = px__bal_record_deferred(rj->e, w);
}

/* The state changes and the receipts: what the store takes before the
 * block record, which needs the final header. */
static int commit_state(px__wtxn *w, parex_engine *e)
{
    size_t i;
    int rc = PAREX_OK;

    for (i = 0; i < e->res.n_changes && rc == PAREX_OK; i++) {
        const px__change *c = &e->res.changes[i];
        rc = c->del ? px__wtxn_del(w, PX_DB_STATE, c->key, 32)
                    : px__wtxn_put(w, PX_DB_STATE, c->key, 32, c->val,
                          c->len);
    }
    if (rc == PAREX_OK) {
        rc = px__write_receipts(w, e->hdr.height, e->receipts,
            e->n_receipts);
    }
    return rc;
}

int px__engine_commit(parex_engine *e, parex_block_stats *stats,
    const px__block *blk, parex_error_info *err)
{
    px__wtxn *w = NULL;
    uint64_t t0 = px__now_ns();
    int deferred = e->recsrc.armed;
    rec_job rj;
    int rc;

    PAREX_ASSERT(!deferred || blk != NULL);
    rc = px__wtxn_begin(&w, e->db->store);
    if (rc != PAREX_OK) {
        e->recsrc.armed = 0;
        return rc;
    }
    if (deferred) {
        /* The store's writes stay on this thread (LMDB's write
         * transaction); the recording and the BAL's hash, which only
         * read the block's final versions and the snapshots, go to the
         * other threads meanwhile. Its snapshots are still open. */
        rj.e = e;
        rj.rc = PAREX_E_MISUSE;
        px__pool_post(e->pool, run_rec, &rj, 1);
    }
    rc = commit_state(w, e);
    if (deferred) {
        px__pool_join(e->pool);
        e->recsrc.armed = 0;
        if (rc == PAREX_OK) {
            rc = rj.rc;
        }
        if (rc == PAREX_OK) {
            rc = px__tx_root(e, blk);
        }
        if (rc == PAREX_OK &&
            !px__root_claim_ok(blk->hdr.tx_root, e->hdr.tx_root)) {
            rc = px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_ROOT_MISMATCH, -1,
                "tx_root", "the header's tx_root differs from the computed "
                "one");
        }
    }
    if (rc == PAREX_OK) {
        rc = commit_body(w, e);
    }
    if (rc == PAREX_OK) {
        rc = px__write_head(w, &e->hdr, &e->lt);
    }
    if (rc != PAREX_OK) {
        px__wtxn_abort(w);
        return rc;
    }
    rc = px__wtxn_commit(w);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (stats != NULL) {
        uint64_t ns = px__now_ns() - t0;
        size_t size;

        /* Only if the caller's struct reaches the field. */
        memcpy(&size, stats, sizeof(size));
        if (size >= offsetof(parex_block_stats, commit_ns) + sizeof(ns)) {
            stats->commit_ns = ns;
        }
    }
    px__engine_drop_pending(e);
    return PAREX_OK;
}

PAREX_API int parex_engine_commit(parex_engine *e, parex_block_stats *stats)
{
    if (e == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!e->pending) {
        return PAREX_E_MISUSE;
    }
    if (stats != NULL && px__sized_check(stats) != PAREX_OK) {
        return PAREX_E_MISUSE;
    }
    /* Only execute's own commit leaves a recording for the commit. */
    PAREX_ASSERT(!e->recsrc.armed);
    return px__engine_commit(e, stats, NULL, NULL);
}

PAREX_API void parex_engine_abort(parex_engine *e)
{
    if (e != NULL && e->pending) {
        px__engine_drop_pending(e);
    }
}
