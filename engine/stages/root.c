/* Stage 3 of a block: its roots. The state root is the LtHash of the
 * stored state updated by the change set (old values out, new ones in,
 * parallel over the changes); the tx root and the receipts root hash the
 * block's tx ids and receipts, the tx root with the BAL's root when the
 * block has one (hashed by the first item of the parallel job: one
 * SHA-256 pass over the whole BAL, beside the LtHash work rather than
 * serially before it). A header that claims a root must claim the
 * computed one. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

typedef struct root_job {
    const px__result *res;
    parex_engine *e;    /* item 0 hashes e's BAL when first > 0 */
    size_t first;       /* items before the first change: 0 or 1 */
    px__worker *workers;
    px__lthash *acc;    /* one accumulator per worker */
    atomic_int err;
} root_job;

static void run_root(void *arg, unsigned w, size_t b, size_t e)
{
    root_job *rj = arg;
    size_t i;

    for (i = b; i < e; i++) {
        const px__change *c;
        const uint8_t *old;
        size_t len;
        int rc;
        if (i < rj->first) {
            parex_bal_root(rj->e->bal_root, rj->e->bal_hashed,
                rj->e->bal_hashed_len);
            continue;
        }
        c = &rj->res->changes[i - rj->first];
        if (i + 1 < e) {
            /* The next change's key and value: the key's first load
             * missed in a fifth of the mixes' time (perf, session 13). */
            const px__change *nc = c + 1;
            __builtin_prefetch(nc->key);
            if (nc->val != NULL) {
                __builtin_prefetch(nc->val);
            }
        }
        rc = px__snap_get(rj->workers[w].snap, PX_DB_STATE, &old, &len,
            c->key, 32);
        if (rc == PAREX_OK) {
            if (!c->del && len == c->len &&
                (len == 0 || memcmp(old, c->val, len) == 0)) {
                continue; /* unchanged: both terms cancel */
            }
            if (px__lthash_mix(&rj->acc[w], c->key, old, len, -1) != 0) {
                rc = PAREX_E_NOMEM;
            }
        }
        if ((rc == PAREX_OK || rc == PAREX_E_NOTFOUND) && !c->del) {
            rc = px__lthash_mix(&rj->acc[w], c->key, c->val, c->len, 1) == 0
                ? PAREX_OK
                : PAREX_E_NOMEM;
        }
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            int zero = 0;
            atomic_compare_exchange_strong(&rj->err, &zero, rc);
        }
    }
}

void px__receipt_encode(uint8_t out[48], const parex_receipt *r)
{
    memcpy(out, r->txid, 32);
    px__st32(out + 32, r->status);
    px__st32(out + 36, (uint32_t)r->code);
    px__st64(out + 40, r->fee);
}

int px__tx_root(parex_engine *e, const px__block *blk)
{
    size_t i, n = blk->n;
    uint8_t *buf = malloc(n > 0 ? 32 * n : 1);

    if (buf == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        memcpy(buf + 32 * i, blk->txs[i].id, 32);
    }
    if (e->has_bal_root) {
        /* A block with a BAL: the tx root commits to it too. */
        px__tagged_hash(e->hdr.tx_root, "parex/txroot+bal", buf, 32 * n,
            e->bal_root, 32);
    } else {
        px__tagged_hash(e->hdr.tx_root, "parex/txroot", buf, 32 * n, NULL,
            0);
    }
    free(buf);
    return PAREX_OK;
}

static int roots(parex_engine *e, const px__block *blk)
{
    size_t i, n = blk->n;
    uint8_t *buf;
    int rc;

    /* A recording left to the commit: the tx root waits for its BAL. */
    if (!e->recsrc.armed && (rc = px__tx_root(e, blk)) != PAREX_OK) {
        return rc;
    }
    buf = malloc(n > 0 ? 48 * n : 1);
    if (buf == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        px__receipt_encode(buf + 48 * i, &e->receipts[i]);
    }
    px__tagged_hash(e->hdr.receipts_root, "parex/receiptsroot", buf, 48 * n,
        NULL, 0);
    free(buf);
    return PAREX_OK;
}

static int is_zero(const uint8_t *p)
{
    int i;
    for (i = 0; i < 32; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

int px__root_claim_ok(const uint8_t claim[32], const uint8_t got[32])
{
    return is_zero(claim) || memcmp(claim, got, 32) == 0;
}

static int claimed_roots_match(const parex_header *claim,
    const parex_header *got, int skip_tx, parex_error_info *err)
{
    static const struct {
        const char *name;
        size_t off;
    } f[] = {
        { "tx_root", offsetof(parex_header, tx_root) },
        { "receipts_root", offsetof(parex_header, receipts_root) },
        { "state_root", offsetof(parex_header, state_root) },
    };
    size_t i;

    /* skip_tx: f[0], the tx root, is the commit's to check. */
    for (i = skip_tx ? 1 : 0; i < sizeof(f) / sizeof(f[0]); i++) {
        const uint8_t *c = (const uint8_t *)claim + f[i].off;
        const uint8_t *g = (const uint8_t *)got + f[i].off;
        if (!px__root_claim_ok(c, g)) {
            return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_ROOT_MISMATCH,
                -1, f[i].name, "the header's %s differs from the computed "
                "one", f[i].name);
        }
    }
    return PAREX_OK;
}

int px__stage_root(parex_engine *e, const px__block *blk,
    parex_block_stats *st, parex_error_info *err)
{
    uint64_t t0 = px__now_ns();
    px__lthash *acc;
    root_job rj;
    size_t i;
    int rc;

    rc = px__read_lthash(e->workers[0].snap, &e->lt);
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", "cannot read the stored state "
            "hash");
    }
    /* Every mix writes a worker's whole accumulator: aligned to cache
     * lines (2 KiB each), no two workers' accumulators share one. */
    acc = aligned_alloc(64, e->threads * sizeof(*acc));
    if (acc == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    memset(acc, 0, e->threads * sizeof(*acc));
    rj.res = &e->res;
    rj.e = e;
    rj.first = e->has_bal_root ? 1 : 0;
    rj.workers = e->workers;
    rj.acc = acc;
    atomic_init(&rj.err, 0);
    px__pool_run(e->pool, run_root, &rj, rj.first + e->res.n_changes, 64);
    rc = atomic_load(&rj.err);
    if (rc != PAREX_OK) {
        free(acc);
        return px__fail(err, rc, 0, -1, "", "reading old values failed");
    }
    for (i = 0; i < e->threads; i++) {
        px__lthash_add(&e->lt, &acc[i]);
    }
    free(acc);
    px__lthash_root(e->hdr.state_root, &e->lt);
    rc = roots(e, blk);
    if (rc != PAREX_OK) {
        return rc;
    }
    st->root_ns = px__now_ns() - t0;
    /* Armed: the commit checks the tx root once it is known. */
    return claimed_roots_match(&blk->hdr, &e->hdr, e->recsrc.armed, err);
}
