/* Stage 1 of a block: the checks that need no execution. The block must
 * fit the caller's receipt buffer and extend the stored head (height,
 * parent hash); every tx must carry the engine's chain id and a valid
 * signature, verified in parallel (which also gives each tx its id and
 * its sender's account key). Decoding itself is engine/block.c and
 * engine/codec.c. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

int px__stage_check(parex_engine *e, const px__block *blk, size_t cap,
    int *snaps, parex_error_info *err)
{
    parex_header head;
    int rc;

    /* No block's count or analysis is valid before its own stage 1. */
    e->pre.valid = 0;
    e->scratch.pa.valid = 0;
    px__bal_preindex_drop(e->balws);
    if (blk->n > cap) {
        return px__fail(err, PAREX_E_BUFFER, 0, -1, "receipts", "block has "
            "%zu txs but room for %zu receipts", blk->n, cap);
    }
    rc = px__engine_snaps_renew(e);
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", "cannot open a read snapshot: "
            "%s", parex_strerror(rc));
    }
    *snaps = 1;
    rc = px__read_head(e->workers[0].snap, &head);
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", rc == PAREX_E_NOTFOUND
            ? "the state store has no genesis block"
            : "cannot read the head block: %s", parex_strerror(rc));
    }
    if (blk->hdr.height != head.height + 1) {
        return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_HEIGHT, -1,
            "height", "block height %llu, expected %llu",
            (unsigned long long)blk->hdr.height,
            (unsigned long long)head.height + 1);
    }
    memset(&e->hdr, 0, sizeof(e->hdr));
    parex_header_hash(e->hdr.parent, &head);
    if (memcmp(blk->hdr.parent, e->hdr.parent, 32) != 0) {
        return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_PARENT, -1,
            "parent", "parent hash is not the hash of block %llu",
            (unsigned long long)head.height);
    }
    e->hdr.height = blk->hdr.height;
    memcpy(e->hdr.fee_recipient, blk->hdr.fee_recipient, 32);
    return PAREX_OK;
}

/* One tx's stateless checks: its id and sender account key are filled in,
 * then its chain id and (unless trusted, PAREX_EXEC_VERIFIED) its
 * signature checked. Returns 0, or the parex_reject reason. Shared by
 * px__stage_verify() and the prepared path (stages/prepare.c). */
uint8_t px__tx_verify_one(px__btx *t, uint32_t chain_id, int trusted)
{
    uint8_t msg[32];

    px__tagged_hash(t->id, "parex/txid", t->enc, t->enc_len, NULL, 0);
    parex_account_key(t->acct, t->tx.sender);
    if (t->tx.chain_id != chain_id) {
        return PAREX_REJECT_CHAIN_ID;
    }
    if (trusted) {
        return 0; /* the caller verified it (a trust decision) */
    }
    px__sighash(msg, t->enc, t->enc_len);
    return px__schnorr_verify(t->tx.sig, msg, t->tx.sender)
        ? 0 : PAREX_REJECT_BAD_SIGNATURE;
}

int px__verify_verdict(const px__block *blk, const uint8_t *bad,
    uint32_t chain_id, int trusted, parex_error_info *err)
{
    size_t i;

    for (i = 0; i < blk->n; i++) {
        /* Trusted: the caller vouches for the signatures; chain ids are
         * still checked. */
        if (bad[i] == 0 || (trusted && bad[i] == PAREX_REJECT_BAD_SIGNATURE)) {
            continue;
        }
        return px__fail(err, PAREX_E_BLOCK, bad[i], (int64_t)i,
            bad[i] == PAREX_REJECT_CHAIN_ID ? "chain_id" : "sig",
            bad[i] == PAREX_REJECT_CHAIN_ID
                ? "tx %zu: chain id %u, expected %u"
                : "tx %zu: bad signature%.0u%.0u",
            i, blk->txs[i].tx.chain_id, chain_id);
    }
    return PAREX_OK;
}

typedef struct verify_job {
    px__block *blk;
    uint32_t chain_id;
    uint8_t *bad;       /* per tx: 0 ok, else a parex_reject reason */
    int trusted;        /* PAREX_EXEC_VERIFIED: ids, keys, chain ids only */
    int item0;          /* item 0 is px__stage_precount()'s, item i + 1
                           tx i */
    parex_engine *e;
} verify_job;

static void run_verify(void *arg, unsigned w, size_t b, size_t e)
{
    verify_job *vj = arg;
    size_t i;

    for (i = b; i < e; i++) {
        if (!vj->item0) {
            vj->bad[i] = px__tx_verify_one(&vj->blk->txs[i], vj->chain_id,
                vj->trusted);
        } else if (i == 0) {
            px__stage_precount(vj->e, vj->blk, w);
        } else {
            vj->bad[i - 1] = px__tx_verify_one(&vj->blk->txs[i - 1],
                vj->chain_id, vj->trusted);
        }
    }
}

/* Whether stage 1 counts the block's batches beside the signatures: for
 * the parallel executor's decision (engine/exec/precount.c), where the
 * verification is long enough to hide it (not with trusted signatures:
 * then the stage is a hash or two a tx) and another thread runs the rest
 * of the job meanwhile. For a block its BAL validates, the item decodes
 * the BAL and builds its index instead (px__bal_begin() asks here
 * whether to leave the decode to it). */
int px__stage1_item(const parex_engine *e, const px__block *blk,
    unsigned flags)
{
    return (flags & PAREX_EXEC_VERIFIED) == 0 && !e->sequential &&
        e->threads >= 2 && blk->n > 0;
}

int px__stage_verify(parex_engine *e, px__block *blk, unsigned flags,
    parex_block_stats *st, parex_error_info *err)
{
    uint64_t t0 = px__now_ns();
    uint8_t *bad = calloc(blk->n > 0 ? blk->n : 1, 1);
    int rc;

    if (bad == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    {
        verify_job vj = { blk, e->chain_id, bad,
            (flags & PAREX_EXEC_VERIFIED) != 0, 0, e };
        vj.item0 = px__stage1_item(e, blk, flags);
        /* The extra item is item 0, so that it starts first. */
        px__pool_run(e->pool, run_verify, &vj, blk->n + (size_t)vj.item0,
            16);
        st->verify_skipped = vj.trusted ? blk->n : 0;
        st->stage1_analysis_ns = vj.item0 ? e->pre.ns : 0;
        /* The BAL's verdict comes before the signatures', as where
         * px__bal_begin() decodes it. */
        PAREX_ASSERT(!e->bal_deferred || vj.item0);
        rc = px__bal_deferred_verdict(e, err);
        if (rc == PAREX_OK) {
            rc = px__verify_verdict(blk, bad, e->chain_id, vj.trusted, err);
        }
    }
    free(bad);
    if (rc == PAREX_OK) {
        st->verify_ns = px__now_ns() - t0;
    }
    return rc;
}
