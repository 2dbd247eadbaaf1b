/* Recording the block access list on the parallel executor (issue 13):
 * after every tx is final, each tx's entry is read off its records and the
 * multi-version memory, in the encoding engine/exec/bal.c's recorder
 * writes (docs/formats.md), so the bytes are the same on either executor
 * and at every thread count. Part of the translation unit par.c.
 *
 * Tx j's records with any flag set are the keys its final incarnation
 * touched (a rollback clears only the write). A written key is a BAL
 * write when its value after j differs from its value before j: the
 * version j published is in the key's list, sorted newest first, so the
 * next older node is the newest version below j (final, since no tx runs
 * any more), else the snapshot holds the pre-value. Every other touched
 * key is a read. The prelude's account update is the tx's first put and
 * is recorded like any other write; the block-end fee credit is appended
 * by engine/bal/stage.c after the fees are credited. */
#ifndef PX_PAR_RECORD_IMPL_H
#define PX_PAR_RECORD_IMPL_H

#include "mvmem_impl.h"

/* Txs per part below which one part (the caller) records the block. */
#define RECORD_PART_MIN 256

typedef struct record_job {
    pexec *X;
    size_t parts;
    px__buf *buf;               /* parts buffers; buf[0] is the output */
    int *rc;                    /* per part */
} record_job;

static int cmp_recp(const void *pa, const void *pb)
{
    const rec *a = *(const rec *const *)pa, *b = *(const rec *const *)pb;
    return memcmp(a->k->key, b->k->key, 32);
}

/* v[0, m) by key: insertion sort for the few keys of a typical tx. */
static void sort_recp(rec **v, uint32_t m)
{
    uint32_t i, k;

    if (m > 16) {
        qsort(v, m, sizeof(*v), cmp_recp);
        return;
    }
    for (i = 1; i < m; i++) {
        rec *r = v[i];
        for (k = i; k > 0 && px__bal_key_lt(r->k->key, v[k - 1]->k->key); k--) {
            v[k] = v[k - 1];
        }
        v[k] = r;
    }
}

/* *chg: whether tx j's write r changed the key's value. */
static int rec_changed(uint32_t j, const rec *r, px__snap *snap, uint8_t *chg)
{
    const uint8_t *pv = NULL;
    size_t pl = 0;
    int pp, post = (r->flags & R_PRESENT) != 0;
    vnode *v;

    if (r->node != NULL) {
        v = atomic_load_explicit(&r->node->next, memory_order_acquire);
    } else {
        uint64_t steps = 0;
        v = visible(r->k, j, &steps);
    }
    if (v != NULL) {
        pp = !v->del;
        pv = v->val;
        pl = v->len;
    } else {
        int rc = px__snap_get(snap, PX_DB_STATE, &pv, &pl, r->k->key, 32);
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            return rc;
        }
        pp = rc == PAREX_OK;
    }
    *chg = (uint8_t)(pp != post ||
        (post && (pl != r->len ||
                     (r->len > 0 && memcmp(pv, r->val, r->len) != 0))));
    return PAREX_OK;
}

/* The entries of txs [lo, hi) appended to out. */
static int record_range(pexec *X, px__buf *out, size_t lo, size_t hi,
    px__snap *snap)
{
    rec **v = NULL;
    uint8_t *chg = NULL;
    size_t cap = 0, j;
    int rc = PAREX_OK;

    for (j = lo; j < hi && rc == PAREX_OK; j++) {
        const ptx *t = &X->t[j];
        uint32_t i, m = 0, nw = 0;
        size_t size = 8;
        uint8_t *p;

        if (cap < t->n_recs) {
            size_t nc = 2 * (size_t)t->n_recs + 16;
            rec **nv = realloc(v, nc * sizeof(*nv));
            uint8_t *ncg = nv != NULL ? realloc(chg, nc) : NULL;
            if (nv != NULL) {
                v = nv;
            }
            if (ncg == NULL) {
                rc = PAREX_E_NOMEM;
                break;
            }
            chg = ncg;
            cap = nc;
        }
        for (i = 0; i < t->n_recs; i++) {
            if (t->recs[i].flags != 0) {
                v[m++] = &t->recs[i];
            }
        }
        sort_recp(v, m);
        for (i = 0; i < m && rc == PAREX_OK; i++) {
            chg[i] = 0;
            if (v[i]->flags & R_WRITE) {
                rc = rec_changed((uint32_t)j, v[i], snap, &chg[i]);
            }
            nw += chg[i];
            size += !chg[i] ? 32
                : (v[i]->flags & R_PRESENT) ? 37 + (size_t)v[i]->len
                                            : 33;
        }
        if (rc != PAREX_OK || (p = px__buf_append(out, size)) == NULL) {
            break;
        }
        /* The entry in place: writes, then reads (docs/formats.md). */
        px__st32(p, nw);
        p += 4;
        for (i = 0; i < m; i++) {
            if (!chg[i]) {
                continue;
            }
            memcpy(p, v[i]->k->key, 32);
            if (v[i]->flags & R_PRESENT) {
                p[32] = 1;
                px__st32(p + 33, v[i]->len);
                if (v[i]->len > 0) {
                    memcpy(p + 37, v[i]->val, v[i]->len);
                }
                p += 37 + (size_t)v[i]->len;
            } else {
                p[32] = 0;
                p += 33;
            }
        }
        px__st32(p, m - nw);
        p += 4;
        for (i = 0; i < m; i++) {
            if (!chg[i]) {
                memcpy(p, v[i]->k->key, 32);
                p += 32;
            }
        }
    }
    free(v);
    free(chg);
    return rc != PAREX_OK ? rc : out->oom ? PAREX_E_NOMEM : PAREX_OK;
}

static void run_record(void *arg, unsigned w, size_t b, size_t e)
{
    record_job *J = arg;
    size_t p, n = J->X->n;

    for (p = b; p < e; p++) {
        J->rc[p] = record_range(J->X, &J->buf[p], n * p / J->parts,
            n * (p + 1) / J->parts, J->X->env->workers[w].snap);
    }
}

/* The block's BAL without the fee entry into out (reset first): the
 * version byte, the tx count, every tx's entry in block order; the parts
 * on every worker when the block is large enough. */
static int record_bal(pexec *X, px__buf *out)
{
    record_job J;
    uint8_t hdr[5];
    size_t p, parts = X->env->threads;
    int rc = PAREX_OK;

    if (parts < 1 || X->n < RECORD_PART_MIN * 2) {
        parts = 1;
    }
    out->len = 0;
    out->oom = 0;
    hdr[0] = PAREX_BAL_VERSION;
    px__st32(hdr + 1, X->n);
    px__buf_put(out, hdr, 5);
    memset(&J, 0, sizeof(J));
    J.X = X;
    J.parts = parts;
    J.buf = calloc(parts, sizeof(*J.buf));
    J.rc = calloc(parts, sizeof(*J.rc));
    if (J.buf == NULL || J.rc == NULL) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    /* Part 0 writes after the header in place. */
    J.buf[0] = *out;
    px__pool_run(X->env->pool, run_record, &J, parts, 1);
    *out = J.buf[0];
    memset(&J.buf[0], 0, sizeof(J.buf[0]));
    for (p = 0; p < parts && rc == PAREX_OK; p++) {
        rc = J.rc[p];
        if (p > 0 && rc == PAREX_OK) {
            px__buf_put(out, J.buf[p].p, J.buf[p].len);
        }
    }
    if (rc == PAREX_OK && out->oom) {
        rc = PAREX_E_NOMEM;
    }
out:
    if (J.buf != NULL) {
        for (p = 1; p < parts; p++) {
            px__buf_free(&J.buf[p]);
        }
    }
    free(J.buf);
    free(J.rc);
    return rc;
}

#endif /* PX_PAR_RECORD_IMPL_H */
