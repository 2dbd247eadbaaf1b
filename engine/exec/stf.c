/* The state-transition function: what one tx does to state, and what a
 * block's txs add up to. Both executors (engine/exec/seq.c and
 * engine/exec/par/) run each tx through px__tx_run() and settle the
 * outcomes in block order through px__stf_settle(); the execution stage
 * credits the fee total once (px__stf_credit_fees()). docs/formats.md
 * states the rule; this file is its one implementation.
 *
 *   prelude   the sender's account must decode, its nonce equal the tx's,
 *             its balance cover the fee; then nonce + 1 and balance - fee
 *             are written (the tx's first put, always);
 *   program   runs; a failure (non-zero code) rolls back its writes but
 *             not the prelude's, and is a receipt status, not a rejection;
 *             so is running out of its budget of max_tx_calls ctx calls
 *             (PAREX_TX_BUDGET): the count is a function of the values the
 *             program read, so the validated run's outcome is the
 *             sequential order's;
 *   receipt   txid, status, code, fee; the block's fee total must not
 *             overflow;
 *   fees      the fee recipient is credited once, after every tx, with the
 *             block's total: fees commute, so they never make txs conflict.
 */
#include <string.h>

#include "engine_int.h"

/* Reads an account; an absent one is balance 0, nonce 0. Returns 1 when
 * present and well-formed, 0 when absent, <0 on a ctx error, and
 * PAREX_E_INVALID when the stored value is not an account. */
int px__account_get(parex_ctx *ctx, const uint8_t key[32], uint64_t *bal,
    uint64_t *nonce)
{
    const uint8_t *v;
    size_t len;
    int rc = parex_ctx_get(ctx, &v, &len, key);

    if (rc == PAREX_E_NOTFOUND) {
        *bal = 0;
        *nonce = 0;
        return 0;
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    if (parex_account_decode(bal, nonce, v, len) != PAREX_OK) {
        return PAREX_E_INVALID;
    }
    return 1;
}

int px__account_put(parex_ctx *ctx, const uint8_t key[32], uint64_t bal,
    uint64_t nonce)
{
    uint8_t v[PAREX_ACCOUNT_BYTES];
    parex_account_encode(v, bal, nonce);
    return parex_ctx_put(ctx, key, v, sizeof(v));
}

int px__tx_run(parex_ctx *ctx, const px__programs *progs, px__outcome *out)
{
    const px__btx *b = ctx->btx;
    const px__program *prog;
    uint64_t bal, nonce;
    int rc;

    memset(out, 0, sizeof(*out));
    memcpy(out->receipt.txid, b->id, 32);
    /* The prelude's own reads and writes are not the program's: the
     * budget starts with the program. */
    ctx->calls = 0;
    ctx->max_calls = UINT32_MAX;
    ctx->over_budget = 0;
    rc = px__account_get(ctx, b->acct, &bal, &nonce);
    if (rc == PAREX_E_INVALID) {
        out->reject = PAREX_REJECT_MALFORMED;
        memcpy(out->field, "account", 8);
        return PAREX_OK;
    }
    if (rc < 0) {
        return rc;
    }
    if (nonce != b->tx.nonce) {
        out->reject = PAREX_REJECT_BAD_NONCE;
        memcpy(out->field, "nonce", 6);
        return PAREX_OK;
    }
    if (bal < b->tx.fee) {
        out->reject = PAREX_REJECT_FEE;
        memcpy(out->field, "fee", 4);
        return PAREX_OK;
    }
    if (nonce == UINT64_MAX) {
        out->reject = PAREX_REJECT_OVERFLOW;
        memcpy(out->field, "nonce", 6);
        return PAREX_OK;
    }
    rc = px__account_put(ctx, b->acct, bal - b->tx.fee, nonce + 1);
    if (rc != PAREX_OK) {
        return rc;
    }
    out->receipt.fee = b->tx.fee;
    prog = px__programs_find(progs, b->tx.program);
    if (prog == NULL) {
        out->receipt.status = PAREX_TX_UNKNOWN_PROGRAM;
        return PAREX_OK;
    }
    ctx->calls = 0;
    ctx->max_calls = progs->max_calls != 0 ? progs->max_calls
                                            : PX_DEFAULT_MAX_CALLS;
    rc = prog->fn(ctx, prog->user);
    if (rc == PAREX_E_NOMEM || rc == PAREX_E_STORAGE) {
        return rc;
    }
    if (ctx->over_budget) {
        /* Out of budget, whatever it returned after: an outcome, like a
         * failure. */
        ctx->ops->rollback_program(ctx);
        out->receipt.status = PAREX_TX_BUDGET;
        out->receipt.code = 0;
    } else if (rc != 0) {
        /* A program's failure is an outcome: its writes go, nonce and fee
         * stay. Errors from the ctx other than the ones above (a limit)
         * are failures of this tx alone, and so is any other negative
         * code a program returns, PAREX_E_ABORTED included (no ctx call
         * returns it since 0.2.0). */
        ctx->ops->rollback_program(ctx);
        out->receipt.status = PAREX_TX_FAILED;
        out->receipt.code = rc;
    }
    return PAREX_OK;
}

int px__stf_settle(px__result *res, parex_receipt *receipts, size_t j,
    const px__outcome *o)
{
    /* In block order, and only up to the first rejection. */
    PAREX_ASSERT(res->reject_tx < 0);
    if (o->reject != PAREX_REJECT_NONE) {
        res->reject_tx = (int64_t)j;
        res->reject = o->reject;
        memcpy(res->reject_field, o->field, sizeof(o->field));
        return 1;
    }
    receipts[j] = o->receipt;
    if (res->fee_total > UINT64_MAX - o->receipt.fee) {
        res->reject_tx = (int64_t)j;
        res->reject = PAREX_REJECT_OVERFLOW;
        memcpy(res->reject_field, "fee", 4);
        return 1;
    }
    res->fee_total += o->receipt.fee;
    return 0;
}

static int find_change(const px__result *r, const uint8_t *key, size_t *pos)
{
    size_t lo = 0, hi = r->n_changes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(r->changes[mid].key, key, 32);
        if (c == 0) {
            *pos = mid;
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return 0;
}

/* The fee recipient is credited once, after every tx, with the block's fee
 * total: fees commute, so they never make txs conflict. The change set
 * stays sorted: an absent recipient is inserted at its place. */
int px__stf_credit_fees(px__result *r, px__snap *snap,
    const uint8_t fee_recipient[32], const parex_receipt *receipts,
    size_t n, parex_error_info *err)
{
    uint8_t key[32];
    uint64_t bal = 0, nonce = 0;
    uint8_t *val;
    size_t pos;
    int rc;

    if (r->fee_total == 0) {
        return PAREX_OK;
    }
    parex_account_key(key, fee_recipient);
    PAREX_ASSERT(r->reject_tx < 0);
    if (find_change(r, key, &pos)) {
        const px__change *c = &r->changes[pos];
        if (!c->del &&
            parex_account_decode(&bal, &nonce, c->val, c->len) != PAREX_OK) {
            return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_MALFORMED, -1,
                "fee_recipient", "the fee recipient's account value is not "
                "an account");
        }
    } else {
        const uint8_t *v;
        size_t len;
        rc = px__snap_get(snap, PX_DB_STATE, &v, &len, key, 32);
        if (rc == PAREX_OK) {
            if (parex_account_decode(&bal, &nonce, v, len) != PAREX_OK) {
                return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_MALFORMED,
                    -1, "fee_recipient", "the fee recipient's account "
                    "value is not an account");
            }
        } else if (rc != PAREX_E_NOTFOUND) {
            return rc;
        }
        rc = px__result_push(r, NULL, NULL, 0, 0);
        if (rc != PAREX_OK) {
            return rc;
        }
        memmove(&r->changes[pos + 1], &r->changes[pos],
            (r->n_changes - 1 - pos) * sizeof(*r->changes));
        {
            uint8_t *k = px__arena_alloc(&r->arena, 32);
            if (k == NULL) {
                return PAREX_E_NOMEM;
            }
            memcpy(k, key, 32);
            r->changes[pos].key = k;
            r->changes[pos].top = px__key_top(k);
        }
    }
    if (bal > UINT64_MAX - r->fee_total) {
        /* Name the tx whose fee, credited in block order, first pushes the
         * balance over, so that a producer can drop that tx alone. */
        uint64_t run = bal;
        size_t j = 0;
        while (j + 1 < n && receipts[j].fee <= UINT64_MAX - run) {
            run += receipts[j].fee;
            j++;
        }
        return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_OVERFLOW,
            n > 0 ? (int64_t)j : -1, "fee_recipient", "tx %zu: its fee %llu "
            "overflows the fee recipient's balance (%llu in fees credited "
            "to %llu)", j, n > 0 ? (unsigned long long)receipts[j].fee : 0ULL,
            (unsigned long long)r->fee_total, (unsigned long long)bal);
    }
    val = px__arena_alloc(&r->arena, PAREX_ACCOUNT_BYTES);
    if (val == NULL) {
        return PAREX_E_NOMEM;
    }
    parex_account_encode(val, bal + r->fee_total, nonce);
    r->changes[pos].val = val;
    r->changes[pos].len = PAREX_ACCOUNT_BYTES;
    r->changes[pos].del = 0;
    return PAREX_OK;
}
