/* The engine's side of block access lists: which mode a block runs in,
 * the fee entry, the BAL root the tx root commits to, the rejection's
 * message, and parex_engine_bal(). engine/exec/bal.c is the executor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* The carried BAL decoded into e->bal and checked against the block:
 * PAREX_OK, PAREX_E_BLOCK (err says why), PAREX_E_NOMEM. */
static int bal_load(parex_engine *e, const px__block *blk,
    parex_error_info *err)
{
    int rc = px__bal_decode(&e->bal, err, blk->bal, blk->bal_len, blk,
        &e->lim);

    if (rc == PAREX_E_NOMEM) {
        return rc;
    }
    if (rc != PAREX_OK) {
        if (err != NULL) {
            err->code = PAREX_E_BLOCK;
        }
        return PAREX_E_BLOCK;
    }
    return PAREX_OK;
}

int px__bal_begin(parex_engine *e, const px__block *blk, unsigned flags,
    int defer, parex_error_info *err)
{
    uint64_t t0 = px__now_ns();
    int rc;

    e->bal_ns = 0;
    e->bal_flags = flags;
    e->bal_mode = PX__BALM_OFF;
    e->bal_valid = 0;
    e->bal_seal = 0;
    e->has_bal_root = 0;
    e->bal_in = blk->bal;
    e->bal_in_len = blk->bal_len;
    e->bal_v.tx = -1;
    e->bal_v.kind = PX__BAL_OK;
    e->bal_deferred = 0;
    e->bal_defer_ok = 0;
    e->recsrc.armed = 0;
    if (blk->bal != NULL) {
        e->bal_mode = (flags & PAREX_EXEC_IGNORE_BAL) == 0
            ? PX__BALM_VALIDATE
            : (flags & PAREX_EXEC_RECORD_BAL) != 0 ? PX__BALM_RECORD
                                                   : PX__BALM_OFF;
        if (defer && e->bal_mode == PX__BALM_VALIDATE) {
            /* Decoded by stage 1's first item (px__bal_load_deferred),
             * beside the signatures; px__stage_verify reports its
             * verdict before theirs, as here. */
            e->bal_deferred = 1;
            e->bal_drc = PAREX_E_MISUSE;
        } else {
            rc = bal_load(e, blk, err);
            if (rc != PAREX_OK) {
                e->bal_mode = PX__BALM_OFF;
                return rc;
            }
            e->bal_ns = px__now_ns() - t0;
        }
        /* The tx root commits to the carried bytes, whatever the mode
         * (hashed by the root stage). */
        e->bal_hashed = blk->bal;
        e->bal_hashed_len = blk->bal_len;
        e->has_bal_root = 1;
    } else if (flags & PAREX_EXEC_RECORD_BAL) {
        e->bal_mode = PX__BALM_RECORD;
        /* Committed by this call: the commit holds the caller's core for
         * a while (the store's writes) with the others idle, and the
         * recording and the BAL's hash can run there instead of before
         * it (session 14: 0.2 of production's time with the BAL). */
        e->bal_defer_ok = (flags & PAREX_EXEC_COMMIT) != 0 && e->threads > 1;
    }
    /* The executors' buffers, kept by the engine from here on. */
    if (e->bal_mode != PX__BALM_OFF && e->balws == NULL &&
        px__balws_create(&e->balws) != PAREX_OK) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    return PAREX_OK;
}

int px__bal_load_deferred(parex_engine *e, const px__block *blk)
{
    PAREX_ASSERT(e->bal_deferred);
    px__err_clear(&e->bal_derr);
    e->bal_drc = bal_load(e, blk, &e->bal_derr);
    return e->bal_drc;
}

int px__bal_deferred_verdict(const parex_engine *e, parex_error_info *err)
{
    if (!e->bal_deferred || e->bal_drc == PAREX_OK) {
        return PAREX_OK;
    }
    if (err != NULL) {
        *err = e->bal_derr;
    }
    return e->bal_drc;
}

int px__bal_execute(parex_engine *e, const px__exec_env *env, int *rc)
{
    int how;

    switch (e->bal_mode) {
    case PX__BALM_VALIDATE:
        *rc = px__exec_bal_validate(env, &e->bal, &e->res, &e->bal_v);
        return 0;
    case PX__BALM_RECORD:
        /* On the executor the block would run on without recording: the
         * parallel one reads the BAL off its final versions (and its
         * fallbacks record on the BAL recorder); the same bytes. */
        how = px__exec_choose(env, NULL);
        if (how == PX__EXEC_ANALYSE) {
            px__exec_env pe = *env;
            pe.bal_out = &e->bal_out;
            pe.rec_defer = e->bal_defer_ok ? &e->recsrc : NULL;
            *rc = px__exec_parallel(&pe, &e->res);
        } else {
            *rc = px__exec_bal_record(env, &e->res, &e->bal_out);
            if (how == PX__EXEC_COUNTED) {
                /* As px__exec_block reports it: a parallel engine with
                 * one thread ran the block in order. */
                e->res.fallback = 1;
                e->res.fallback_reason = PAREX_FALLBACK_ONE_THREAD;
            }
        }
        if (*rc == PAREX_OK && e->bal_defer_ok &&
            e->recsrc.armed == PX__REC_NONE) {
            /* Recorded as it ran (the BAL recorder, or the parallel
             * executor's fallback to it): the hash still goes beside the
             * commit's writes. */
            e->recsrc.armed = PX__REC_HASH;
        }
        return 0;
    default:
        return 1;
    }
}

/* The fee recipient's account after the credit, from the change set. */
static const px__change *fee_change(const parex_engine *e,
    const uint8_t key[32])
{
    size_t lo = 0, hi = e->res.n_changes;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(e->res.changes[mid].key, key, 32);
        if (c == 0) {
            return &e->res.changes[mid];
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

/* The recorded BAL's last part: the fee entry (c: the recipient's
 * account after the credit, under key; NULL: no fee). */
static void put_fee_entry(parex_engine *e, const px__change *c,
    const uint8_t key[32])
{
    uint8_t flag = c != NULL;

    px__buf_put(&e->bal_out, &flag, 1);
    if (c != NULL) {
        px__buf_put(&e->bal_out, key, 32);
        px__buf_u32(&e->bal_out, c->len);
        px__buf_put(&e->bal_out, c->val, c->len);
    }
}

/* The fee credit's change, if the block paid any fee (key gets the
 * recipient's account key). */
static const px__change *fee_credit(const parex_engine *e, uint8_t key[32])
{
    const px__change *c = NULL;

    if (e->res.fee_total > 0) {
        parex_account_key(key, e->hdr.fee_recipient);
        c = fee_change(e, key);
        PAREX_ASSERT(c != NULL && !c->del);
    }
    return c;
}

int px__bal_record_deferred(parex_engine *e, unsigned w)
{
    uint8_t key[32];
    const px__change *c;
    int rc;

    PAREX_ASSERT(e->recsrc.armed != PX__REC_NONE &&
        e->bal_mode == PX__BALM_RECORD && e->bal_in == NULL);
    if (e->recsrc.armed == PX__REC_ALL) {
        rc = px__par_record(&e->recsrc, w, &e->bal_out);
        if (rc != PAREX_OK) {
            return rc;
        }
    }
    c = fee_credit(e, key);
    put_fee_entry(e, c, key);
    if (e->bal_out.oom) {
        return PAREX_E_NOMEM;
    }
    e->bal_hashed = e->bal_out.p;
    e->bal_hashed_len = e->bal_out.len;
    e->has_bal_root = 1;
    e->bal_seal = 1;
    parex_bal_root(e->bal_root, e->bal_hashed, e->bal_hashed_len);
    e->bal_valid = (e->bal_flags & PAREX_EXEC_RECORD_BAL) != 0;
    return PAREX_OK;
}

static int fail_v(parex_engine *e, parex_error_info *err, int64_t tx,
    int kind, const uint8_t *key)
{
    e->bal_v.tx = tx;
    e->bal_v.kind = kind;
    memset(e->bal_v.key, 0, 32);
    if (key != NULL) {
        memcpy(e->bal_v.key, key, 32);
    }
    return px__bal_reject(e, err);
}

int px__bal_after_fees(parex_engine *e, const px__block *blk,
    parex_error_info *err)
{
    uint8_t key[32];
    const px__change *c;

    if (e->bal_mode == PX__BALM_OFF) {
        return PAREX_OK;
    }
    c = fee_credit(e, key);
    if (e->bal_mode == PX__BALM_VALIDATE) {
        const px__bal *b = &e->bal;
        if ((c == NULL) != (b->has_fee == 0) ||
            (c != NULL &&
                (memcmp(b->fee_key, key, 32) != 0 || b->fee_len != c->len ||
                    memcmp(b->fee_val, c->val, c->len) != 0))) {
            return fail_v(e, err, -1, PX__BAL_FEE,
                c != NULL ? key : b->fee_key);
        }
        if (e->bal_flags & PAREX_EXEC_RECORD_BAL) {
            e->bal_out.len = 0;
            e->bal_out.oom = 0;
            px__buf_put(&e->bal_out, e->bal_in, e->bal_in_len);
        }
    } else if (e->recsrc.armed) {
        /* The recording is the commit's (px__bal_record_deferred). */
        PAREX_ASSERT(e->bal_in == NULL);
        return PAREX_OK;
    } else {
        put_fee_entry(e, c, key);
        if (e->bal_in != NULL &&
            (e->bal_out.len != e->bal_in_len ||
                memcmp(e->bal_out.p, e->bal_in, e->bal_in_len) != 0)) {
            /* Ignore mode with recording: the lowest entry that differs. */
            px__bal rec;
            int64_t j = -1;
            size_t i;
            memset(&rec, 0, sizeof(rec));
            if (!e->bal_out.oom &&
                px__bal_decode(&rec, NULL, e->bal_out.p, e->bal_out.len,
                    blk, &e->lim) == PAREX_OK) {
                for (i = 0; i < rec.n && i < e->bal.n; i++) {
                    if (rec.tx[i].enc_len != e->bal.tx[i].enc_len ||
                        memcmp(rec.tx[i].enc, e->bal.tx[i].enc,
                            rec.tx[i].enc_len) != 0) {
                        j = (int64_t)i;
                        break;
                    }
                }
            }
            px__bal_release(&rec);
            return fail_v(e, err, j, j < 0 ? PX__BAL_FEE : PX__BAL_BYTES,
                NULL);
        }
        if (e->bal_in == NULL) {
            e->bal_hashed = e->bal_out.p;
            e->bal_hashed_len = e->bal_out.len;
            e->has_bal_root = 1;
            e->bal_seal = 1;
        }
    }
    if (e->bal_out.oom) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    e->bal_valid = (e->bal_flags & PAREX_EXEC_RECORD_BAL) != 0;
    return PAREX_OK;
}

int px__bal_reject(parex_engine *e, parex_error_info *err)
{
    char hex[65];
    int i;

    for (i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", e->bal_v.key[i]);
    }
    if (e->bal_v.tx < 0) {
        return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_BAL_MISMATCH, -1,
            "bal", "block access list: %s (key %s)",
            px__bal_kind_name(e->bal_v.kind), hex);
    }
    return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_BAL_MISMATCH,
        e->bal_v.tx, "bal", "tx %lld: block access list: %s (key %s)",
        (long long)e->bal_v.tx, px__bal_kind_name(e->bal_v.kind), hex);
}

void px__bal_end(parex_engine *e)
{
    /* The decoded arrays stay for the next block (engine destroy frees
     * them); what they point into does not. */
    e->bal.n = 0;
    e->bal.has_fee = 0;
    e->bal_deferred = 0;
    e->bal_in = NULL;
    e->bal_in_len = 0;
}

PAREX_API int parex_engine_bal(const parex_engine *e, uint8_t *out,
    size_t *len)
{
    if (e == NULL || len == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!e->bal_valid) {
        *len = 0;
        return PAREX_E_NOTFOUND;
    }
    if (out == NULL || *len < e->bal_out.len) {
        *len = e->bal_out.len;
        return PAREX_E_BUFFER;
    }
    memcpy(out, e->bal_out.p, e->bal_out.len);
    *len = e->bal_out.len;
    return PAREX_OK;
}
