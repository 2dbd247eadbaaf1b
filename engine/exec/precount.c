/* The block's exact batch count, computed in stage 1 beside signature
 * verification (stages/check.c runs it as one more item of the verify
 * job), so that the execution stage decides sequential or parallel on
 * the exact shape of the whole block at no cost of its own: no sample,
 * no estimate, and a narrow block runs the plain reference, which then
 * need not count its batches (engine/exec/par/par.c).
 *
 * The conflict rules are engine/exec/conflict.h's, on a key map of its
 * own. Beside the batches it finds the critical path with each tx
 * weighted by its slot count, as the sample does (analysis_impl.h: where
 * the chained txs are cheap ones, e.g. ethereum/15538827, 65 % of its txs
 * on one account and a dependency-graph bound of 2.00x, the block is
 * wider than its batches say), and gives the decision that factor.
 *
 * The sender's account key (an implicit write) is derived here rather
 * than read from the tx: the verify items fill it in at the same time on
 * other threads. Verifying costs 33-43 us a tx on one core (bench's
 * signature bound); the whole item, this count and the analysis after
 * it, 0.2-0.6 us (bench's stage1_analysis, session 11: solana-testnet
 * 0.74 ms for 2,293 txs, bitcoin/413567 0.80 ms for 1,557, the narrow
 * ethereum/13287210 0.29 ms for 1,414), so it ends long before
 * verification does. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "exec/conflict.h"

void px__precount_init(px__precount *pc)
{
    memset(pc, 0, sizeof(*pc));
    px__keymap_init(&pc->km, 1024);
}

void px__precount_free(px__precount *pc)
{
    free(pc->batch);
    free(pc->accts);
    free(pc->cf);
    px__keymap_free(&pc->km);
    memset(pc, 0, sizeof(*pc));
}

/* The conflict state of key, inserted (unaccessed) if new; NULL when
 * memory runs out. The states never move: their array has room for every
 * slot of the block (px__precount_run). */
static px__conflict *state_of(px__precount *pc, const uint8_t *key)
{
    int added;
    px__keyslot *s = px__keymap_insert(&pc->km, key, &added);

    if (s == NULL) {
        return NULL;
    }
    if (added) {
        PAREX_ASSERT(2 * pc->n_cf + 1 < 2 * pc->cap_cf);
        px__conflict_init(&pc->cf[2 * pc->n_cf]);
        px__conflict_init(&pc->cf[2 * pc->n_cf + 1]);
        s->val.u64 = pc->n_cf++;
    }
    /* Two states a key: batches, then weighted finish times. */
    return &pc->cf[2 * s->val.u64];
}

void px__precount_run(px__precount *pc, const px__block *blk)
{
    size_t total = 0, j;
    uint32_t nb = 0;
    uint64_t pw = 0, ww = 0;
    uint32_t n_dep = 0;

    pc->valid = 0;
    pc->n = blk->n;
    px__keymap_clear(&pc->km);
    pc->n_cf = 0;
    for (j = 0; j < blk->n; j++) {
        total += (size_t)blk->txs[j].tx.n_read + blk->txs[j].tx.n_write + 1;
    }
    if (px__keymap_reserve(&pc->km, total) != 0) {
        return;
    }
    if (pc->cap_cf < total) {
        px__conflict *nc = realloc(pc->cf, 2 * (total > 0 ? total : 1) *
            sizeof(*nc));
        if (nc == NULL) {
            return;
        }
        pc->cf = nc;
        pc->cap_cf = total;
    }
    if (pc->cap < blk->n) {
        size_t cap = blk->n > 0 ? blk->n : 1;
        uint32_t *nbat = realloc(pc->batch, cap * sizeof(*nbat));
        uint8_t (*nacc)[32];
        if (nbat == NULL) {
            return;
        }
        pc->batch = nbat;
        nacc = realloc(pc->accts, cap * sizeof(*nacc));
        if (nacc == NULL) {
            return;
        }
        pc->accts = nacc;
        pc->cap = blk->n;
    }
    for (j = 0; j < blk->n; j++) {
        const px__btx *b = &blk->txs[j];
        /* Entries found in the first pass, so the second need not look
         * them up again (most txs declare a handful of keys). */
        px__conflict *seen[32];
        const uint8_t *acct = pc->accts[j];
        uint32_t i, n, as;
        int32_t bt = 0, sw = 0, fw = 0;
        int pass;

        parex_account_key(pc->accts[j], b->tx.sender);
        as = px__tx_acct_slot_k(b, acct, &n);
        for (pass = 0; pass < 2; pass++) {
            for (i = 0; i < n; i++) {
                int w = px__tx_slot_writes(b, i, as);
                px__conflict *c = pass == 1 && i < 32 ? seen[i]
                    : state_of(pc, px__tx_slot_key_k(b, acct, i));
                if (c == NULL) {
                    return;
                }
                if (pass == 0) {
                    if (i < 32) {
                        seen[i] = c;
                    }
                    bt = px__conflict_after(c, w, bt);
                    /* Finish times: -1 (none) counts as 0, and the tx
                     * starts after the ones it conflicts with end. */
                    sw = px__conflict_after(c + 1, w, sw + 1) - 1;
                } else {
                    px__conflict_mark(c, w, bt);
                    px__conflict_mark(c + 1, w, fw);
                }
            }
            fw = sw + (int32_t)n;
        }
        if ((uint64_t)fw > pw) {
            pw = (uint64_t)fw;
        }
        ww += n;
        pc->batch[j] = (uint32_t)bt;
        n_dep += bt > 0;
        if ((uint32_t)bt + 1 > nb) {
            nb = (uint32_t)bt + 1;
        }
    }
    pc->nb = nb;
    pc->n_dep = n_dep;
    /* (path share weighted) / (batch share), in 2^-16, when below 1 */
    pc->cost_q16 = 0;
    if (nb > 0 && pw * blk->n < (uint64_t)nb * ww) {
        pc->cost_q16 = (uint32_t)((pw * blk->n << 16) / ((uint64_t)nb * ww));
        if (pc->cost_q16 == 0) {
            pc->cost_q16 = 1;
        }
    }
    pc->valid = 1;
}
