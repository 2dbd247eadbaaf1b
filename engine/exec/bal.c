/* The block-access-list executor: records the BAL of a block as it runs
 * it in block order (this file), and validates a block that carries one
 * by running every tx at once, each against the pre-state the BAL gives
 * it (exec/bal_validate.c); the ctx both run txs on is exec/bal_ctx.c.
 *
 * Both modes run each tx through the one state-transition function
 * (engine/exec/stf.c) on a ctx that records what the tx touched: per key
 * its value before the tx (pre) and now (cur). After the tx its entry is
 * the keys whose value changed (writes, with the post-value or deletion)
 * and the other keys it touched (reads), each sorted: what the BAL lists.
 *
 *   record    tx j's pre-values come from the block overlay (the writes
 *             of txs < j), else the snapshot; its entry is appended.
 *   validate  tx j's pre-value of key k is the BAL's write of the last
 *             tx < j that wrote k, else the snapshot; no tx waits for
 *             another. Its entry must equal the BAL's entry j exactly.
 *             The lowest tx that mismatches (or that the STF rejects)
 *             decides the block; docs/architecture.md proves that when
 *             none does, the result is the sequential one.
 */
#include <stdlib.h>
#include <string.h>

#include "bal_impl.h"

/* The key reference of t's record i (docs/formats.md): a declared key's
 * record is at its place among the declared keys (bal_ctx.c), so 1 + i;
 * any other key is given in full (0). */
static uint32_t ref_of(const tctx *t, uint32_t i)
{
    return i < t->nd ? 1 + i : 0;
}

/* Record i's key reference at p: the returned byte follows it. */
static uint8_t *put_ref(uint8_t *p, const tctx *t, uint32_t i)
{
    uint32_t ref = ref_of(t, i);

    p = px__var_put(p, ref);
    if (ref == 0) {
        memcpy(p, t->a[i].key, 32);
        p += 32;
    }
    return p;
}

/* Appends tx j's entry (t's touched records in t->ord's order, by key)
 * to the encoding, sized first and written in place. */
static void encode_entry(px__buf *b, const tctx *t)
{
    size_t i, size = 0;
    uint32_t nw = 0;
    uint8_t *p;

    for (i = 0; i < t->n_ord; i++) {
        const acc *a = &t->a[t->ord[i]];
        uint32_t ref = ref_of(t, t->ord[i]);
        size += px__var_len(ref) + (ref == 0 ? 32 : 0);
        if (!px__bal_changed(a)) {
            continue;
        }
        nw++;
        size += a->cur_present
            ? px__var_len(a->cur_len + 1) + (size_t)a->cur_len
            : 1;
    }
    size += px__var_len(nw) + px__var_len((uint32_t)t->n_ord - nw);
    p = px__buf_append(b, size);
    if (p == NULL) {
        return;
    }
    p = px__var_put(p, nw);
    for (i = 0; i < t->n_ord; i++) {
        const acc *a = &t->a[t->ord[i]];
        if (!px__bal_changed(a)) {
            continue;
        }
        p = put_ref(p, t, t->ord[i]);
        if (a->cur_present) {
            p = px__var_put(p, a->cur_len + 1);
            if (a->cur_len > 0) {
                memcpy(p, a->cur, a->cur_len);
            }
            p += a->cur_len;
        } else {
            *p++ = 0;
        }
    }
    p = px__var_put(p, (uint32_t)t->n_ord - nw);
    for (i = 0; i < t->n_ord; i++) {
        const acc *a = &t->a[t->ord[i]];
        if (!px__bal_changed(a)) {
            p = put_ref(p, t, t->ord[i]);
        }
    }
    PAREX_ASSERT(p == b->p + b->len);
}

/* Its changed keys into the block overlay (their entries made on first
 * touch, bal_ctx.c). */
static void apply(balx *x, const tctx *t)
{
    ovent *ove = x->ws->ove;
    size_t i;

    for (i = 0; i < t->n_ord; i++) {
        const acc *a = &t->a[t->ord[i]];
        if (px__bal_changed(a)) {
            ovent *o = &ove[a->ov];
            o->val = a->cur;
            o->len = a->cur_len;
            o->present = a->cur_present;
            o->written = 1;
        }
    }
}

int px__exec_bal_record(const px__exec_env *env, px__result *res,
    px__buf *out)
{
    balx x;
    tctx *t;
    size_t j, n = env->blk->n;
    uint8_t hdr[5];
    const px__keyslot *ks;
    uint64_t t0 = px__now_ns();
    int rc;

    rc = px__balx_init(&x, env, 1);
    if (rc != PAREX_OK) {
        goto out;
    }
    /* The overlay of the engine's last recorded block, emptied (its
     * storage kept warm) and sized for as many keys as that block wrote,
     * so that it does not regrow step by step in every block. A failed
     * reserve only leaves the growth to the inserts, which report it. */
    px__keymap_clear(&x.ws->ov);
    (void)px__keymap_reserve(&x.ws->ov, x.ws->ov_keys);
    t = &x.ctx[0];
    t->snap = env->workers[0].snap;
    t->arena = &res->arena;
    out->len = 0;
    out->oom = 0;
    hdr[0] = PAREX_BAL_VERSION;
    px__st32(hdr + 1, (uint32_t)n);
    px__buf_put(out, hdr, 5);
    for (j = 0; j < n; j++) {
        px__outcome o;
        /* A clock read per tx only when profiling: 2 % of a recorded
         * chain's time otherwise. */
        uint64_t ts = env->profile != NULL ? px__now_ns() : 0;
        rc = px__bal_run_tx(&x, t, j, &o);
        if (env->profile != NULL) {
            env->profile[j].exec_ns += px__now_ns() - ts;
            env->profile[j].incarnations++;
            env->profile[j].batch = (uint32_t)j;
        }
        if (rc != PAREX_OK) {
            goto out;
        }
        if (px__stf_settle(res, env->receipts, j, &o)) {
            goto out;
        }
        encode_entry(out, t);
        apply(&x, t);
    }
    res->exec_ns = px__now_ns() - t0;
    t0 = px__now_ns();
    /* The change set borrows the overlay's keys, as the sequential
     * executor's borrows its map's: nothing inserts into the overlay
     * again before the next recorded block, which comes after this
     * block's commit or abort. The slots in their dense order, not the
     * index's (a line at random per key). */
    for (j = 0; j < px__keymap_count(&x.ws->ov); j++) {
        const ovent *o;
        ks = px__keymap_at(&x.ws->ov, j);
        o = &x.ws->ove[ks->val.u64];
        if (!o->written) {
            continue;   /* only read by the block */
        }
        rc = px__result_push(res, ks->key, o->val, o->len, !o->present);
        if (rc != PAREX_OK) {
            goto out;
        }
    }
    x.ws->ov_keys = px__keymap_count(&x.ws->ov);
    px__result_sort(res);
    res->apply_ns = px__now_ns() - t0;
    res->batches = n;
    res->fallback = 1;
    rc = out->oom ? PAREX_E_NOMEM : PAREX_OK;
out:
    return rc;
}
