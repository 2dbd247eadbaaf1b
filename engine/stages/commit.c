/* Stage 4 of a block: the commit. One LMDB write transaction takes the
 * change set, the block and its receipts (db.c, px__commit_block) and the
 * new head; nothing reaches the store before it, so every earlier error
 * leaves state exactly as it was. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The block for the store: as executed, or, when its BAL was recorded on
 * a block that carried none, sealed with it (u32le 0 || u32le len || BAL
 * after the last tx, parex_block_attach_bal()), since the header's tx
 * root commits to that BAL. */
static int commit_body(px__wtxn *w, parex_engine *e)
{
    /* The trailer goes straight into the store's record: no sealed copy
     * of the whole block first. */
    int seal = e->bal_seal && e->bal_valid;

    return px__commit_block(w, &e->hdr, &e->body,
        seal ? e->bal_out.p : NULL, seal ? e->bal_out.len : 0, e->receipts,
        e->n_receipts);
}

PAREX_API int parex_engine_commit(parex_engine *e, parex_block_stats *stats)
{
    px__wtxn *w = NULL;
    uint64_t t0 = px__now_ns();
    size_t i;
    int rc;

    if (e == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!e->pending) {
        return PAREX_E_MISUSE;
    }
    if (stats != NULL && px__sized_check(stats) != PAREX_OK) {
        return PAREX_E_MISUSE;
    }
    rc = px__wtxn_begin(&w, e->db->store);
    if (rc != PAREX_OK) {
        return rc;
    }
    for (i = 0; i < e->res.n_changes && rc == PAREX_OK; i++) {
        const px__change *c = &e->res.changes[i];
        rc = c->del ? px__wtxn_del(w, PX_DB_STATE, c->key, 32)
                    : px__wtxn_put(w, PX_DB_STATE, c->key, 32, c->val,
                          c->len);
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

PAREX_API void parex_engine_abort(parex_engine *e)
{
    if (e != NULL && e->pending) {
        px__engine_drop_pending(e);
    }
}
