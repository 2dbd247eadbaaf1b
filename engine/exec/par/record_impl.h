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

/* Txs per part below which one part (the caller) records the block: the
 * recording is serial work after the execution on the producer's
 * critical path, and the workers are still spinning from the execution
 * job, so parts pay from a few dozen txs on. */
#define RECORD_PART_MIN 32

/* One part's buffers, kept by the engine (px__scratch.rec) from block to
 * block and grown only. */
typedef struct px__recpart {
    px__buf buf;                /* its entries (part 0: unused, it writes
                                   the output) */
    rec **v;                    /* a tx's records, sorted */
    rec **aux;                  /* the same, in their three sorted runs */
    uint8_t *chg;               /* whether each changed its key */
    size_t cap;                 /* entries of v and chg */
    size_t lo, hi;              /* its txs */
    int rc;
    /* Parts are one array, each recorded by one worker that writes buf
     * on every entry: a line of padding between neighbours. */
    char pad_end[64];
} px__recpart;

static void recparts_free(px__scratch *s)
{
    size_t p;

    for (p = 0; p < s->n_rec; p++) {
        px__buf_free(&s->rec[p].buf);
        free(s->rec[p].v);
        free(s->rec[p].aux);
        free(s->rec[p].chg);
    }
    free(s->rec);
    s->rec = NULL;
    s->n_rec = 0;
}

/* The block's BAL without the fee entry goes into out: the version
 * byte, the tx count, every tx's entry in block order, in parts that
 * are items of a job (their own, or the parallel apply's first). */
typedef struct record_job {
    pexec *X;
    size_t parts;
    px__buf *out;               /* part 0's buffer: the output */
} record_job;

#define RECP_LESS(a, b) px__bal_key_lt((a)->k->key, (b)->k->key)

/* v[0, m) by key. */
static void sort_recp(rec **v, uint32_t m)
{
    PX__BAL_SORT(rec *, v, m, RECP_LESS);
}

/* Tx j's touched records (any flag set) into v, sorted by key; *m gets
 * their count. A tx's records are its declared read set, then its
 * declared write set, each sorted by key (the codec rejects any other
 * order), then the account when undeclared and the undeclared keys in
 * the order of first touch: a three-way merge, after sorting only that
 * last run (almost always empty or one record), instead of a sort of
 * them all. aux has room for every record. */
static void sorted_recs(const pexec *X, uint32_t j, rec **v, rec **aux,
    uint32_t *m)
{
    const ptx *t = &X->t[j];
    const parex_tx *tx = &X->env->blk->txs[j].tx;
    uint32_t nr = tx->n_read, nd = nr + tx->n_write, i, na = 0, nb, nc, n;
    rec *const *a, *const *b, *const *c;
    uint32_t ia = 0, ib = 0, ic = 0, o;

    PAREX_ASSERT(nd <= t->n_recs);
    for (i = 0; i < nr; i++) {
        if (t->recs[i].flags != 0) {
            aux[na++] = &t->recs[i];
        }
    }
    nb = na;
    for (; i < nd; i++) {
        if (t->recs[i].flags != 0) {
            aux[nb++] = &t->recs[i];
        }
    }
    nc = nb;
    for (; i < t->n_recs; i++) {
        if (t->recs[i].flags != 0) {
            aux[nc++] = &t->recs[i];
        }
    }
    n = nc;
    nc -= nb;
    nb -= na;
    a = aux;
    b = aux + na;
    c = aux + na + nb;
    sort_recp(aux + na + nb, nc);
    for (o = 0; o < n; o++) {
        /* The smallest head of the three runs (keys are distinct). */
        int r = ia < na ? 0 : ib < nb ? 1 : 2;
        const rec *best = r == 0 ? a[ia] : r == 1 ? b[ib] : c[ic];
        if (r == 0 && ib < nb && RECP_LESS(b[ib], best)) {
            r = 1;
            best = b[ib];
        }
        if (r < 2 && ic < nc && RECP_LESS(c[ic], best)) {
            r = 2;
        }
        v[o] = r == 0 ? a[ia++] : r == 1 ? b[ib++] : c[ic++];
        PAREX_ASSERT(o == 0 || RECP_LESS(v[o - 1], v[o]));
    }
    *m = n;
}

/* A value of len bytes to p: the usual sizes inline. */
static inline void val_put(uint8_t *p, const uint8_t *v, uint32_t len)
{
    if (len == 32) {
        memcpy(p, v, 32);
    } else if (len == 16) {
        memcpy(p, v, 16);
    } else if (len > 0) {
        memcpy(p, v, len);
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
    } else if (r->flags & R_SNAP) {
        /* No version below j: the snapshot's value, which the tx's first
         * read loaded. */
        pp = (r->flags & R_SNAP_PRESENT) != 0;
        pv = r->snap;
        pl = r->snap_len;
    } else {
        int rc = px__snap_get(snap, PX_DB_STATE, &pv, &pl, r->k->key, 32);
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            return rc;
        }
        pp = rc == PAREX_OK;
    }
    *chg = (uint8_t)(pp != post ||
        (post && (pl != r->len || !px__bal_bytes_eq(pv, r->val, r->len))));
    return PAREX_OK;
}

/* Record r's key reference at p (r one of t's records: its place among
 * the nd declared keys, else the key in full); returns the byte after. */
static uint8_t *put_rec_ref(uint8_t *p, const ptx *t, uint32_t nd,
    const rec *r)
{
    size_t at = (size_t)(r - t->recs);

    if (at < nd) {
        return px__var_put(p, 1 + (uint32_t)at);
    }
    *p++ = 0;
    memcpy(p, r->k->key, 32);
    return p + 32;
}

/* The entries of txs [lo, hi) appended to out, on part rp's buffers. */
static int record_range(pexec *X, px__recpart *rp, px__buf *out, size_t lo,
    size_t hi, px__snap *snap)
{
    rec **v = rp->v, **aux = rp->aux;
    uint8_t *chg = rp->chg;
    size_t j;
    int rc = PAREX_OK;

    for (j = lo; j < hi && rc == PAREX_OK; j++) {
        const ptx *t = &X->t[j];
        const parex_tx *tx = &X->env->blk->txs[j].tx;
        uint32_t i, m = 0, nw = 0, nd = tx->n_read + tx->n_write;
        size_t size = 0;
        uint8_t *p;

        if (rp->cap < t->n_recs) {
            size_t nc = 2 * (size_t)t->n_recs + 16;
            rec **nv = realloc(v, nc * sizeof(*nv));
            rec **na = nv != NULL ? realloc(aux, nc * sizeof(*na)) : NULL;
            uint8_t *ncg = na != NULL ? realloc(chg, nc) : NULL;
            if (nv != NULL) {
                rp->v = v = nv;
            }
            if (na != NULL) {
                rp->aux = aux = na;
            }
            if (ncg == NULL) {
                rc = PAREX_E_NOMEM;
                break;
            }
            rp->chg = chg = ncg;
            rp->cap = nc;
        }
        sorted_recs(X, (uint32_t)j, v, aux, &m);
        /* At most 5 bytes a varint, 32 a key in full: room for the
         * entry's largest form, the unused tail given back after (no
         * pass to size it first). */
        size = 10 + (size_t)m * 42;
        for (i = 0; i < m && rc == PAREX_OK; i++) {
            chg[i] = 0;
            if (v[i]->flags & R_WRITE) {
                rc = rec_changed((uint32_t)j, v[i], snap, &chg[i]);
            }
            nw += chg[i];
            size += chg[i] ? v[i]->len : 0;
        }
        if (rc != PAREX_OK || (p = px__buf_append(out, size)) == NULL) {
            break;
        }
        /* The entry in place: writes, then reads (docs/formats.md). */
        p = px__var_put(p, nw);
        for (i = 0; i < m; i++) {
            if (chg[i]) {
                p = put_rec_ref(p, t, nd, v[i]);
                if (v[i]->flags & R_PRESENT) {
                    p = px__var_put(p, v[i]->len + 1);
                    val_put(p, v[i]->val, v[i]->len);
                    p += v[i]->len;
                } else {
                    *p++ = 0;
                }
            }
        }
        p = px__var_put(p, m - nw);
        for (i = 0; i < m; i++) {
            if (!chg[i]) {
                p = put_rec_ref(p, t, nd, v[i]);
            }
        }
        PAREX_ASSERT(p <= out->p + out->len);
        out->len = (size_t)(p - out->p);
    }
    return rc != PAREX_OK ? rc : out->oom ? PAREX_E_NOMEM : PAREX_OK;
}

/* Part p of the recording on worker w. */
static void record_part(record_job *J, unsigned w, size_t p)
{
    px__recpart *rp = J->X->env->scratch->rec;

    rp[p].rc = record_range(J->X, &rp[p], p == 0 ? J->out : &rp[p].buf,
        rp[p].lo, rp[p].hi, J->X->env->workers[w].snap);
}

static void run_record(void *arg, unsigned w, size_t b, size_t e)
{
    size_t p;

    for (p = b; p < e; p++) {
        record_part(arg, w, p);
    }
}

/* The recording's set-up: out reset to the version byte and the tx
 * count, the parts (J->parts of them: every worker's when the block is
 * large enough) ready to run, as record_part() items of a job. */
static int record_begin(pexec *X, px__buf *out, record_job *J)
{
    px__scratch *sc = X->env->scratch;
    uint8_t hdr[5];
    size_t p, parts = X->env->threads;

    if (parts < 1 || X->n < RECORD_PART_MIN * 2) {
        parts = 1;
    }
    out->len = 0;
    out->oom = 0;
    hdr[0] = PAREX_BAL_VERSION;
    px__st32(hdr + 1, X->n);
    px__buf_put(out, hdr, 5);
    if (sc->n_rec < parts) {
        px__recpart *np = realloc(sc->rec, parts * sizeof(*np));
        if (np == NULL) {
            return PAREX_E_NOMEM;
        }
        memset(np + sc->n_rec, 0, (parts - sc->n_rec) * sizeof(*np));
        sc->rec = np;
        sc->n_rec = parts;
    }
    for (p = 1; p < parts; p++) {
        sc->rec[p].buf.len = 0;
        sc->rec[p].buf.oom = 0;
    }
    {
        /* Parts of equal work: records (plus a tx's fixed share), not
         * txs. solana-mainnet's first half of txs took 240 us to record
         * and its second 165 (session 13). */
        uint64_t total = 0, acc = 0;
        size_t j;
        for (j = 0; j < X->n; j++) {
            total += (uint64_t)X->t[j].n_recs + 4;
        }
        for (p = 0, j = 0; p < parts; p++) {
            uint64_t end = total * (p + 1) / parts;
            sc->rec[p].lo = j;
            while (j < X->n && (p + 1 == parts ||
                       acc + X->t[j].n_recs + 4 <= end)) {
                acc += (uint64_t)X->t[j].n_recs + 4;
                j++;
            }
            sc->rec[p].hi = j;
        }
        PAREX_ASSERT(sc->rec[parts - 1].hi == X->n);
    }
    J->X = X;
    J->parts = parts;
    J->out = out;   /* part 0 writes after the header in place */
    return PAREX_OK;
}

/* After every part ran: the first part's error, else the parts
 * concatenated in order into the output. */
static int record_end(record_job *J)
{
    px__scratch *sc = J->X->env->scratch;
    size_t p;
    int rc = PAREX_OK;

    for (p = 0; p < J->parts && rc == PAREX_OK; p++) {
        rc = sc->rec[p].rc;
        if (p > 0 && rc == PAREX_OK) {
            px__buf_put(J->out, sc->rec[p].buf.p, sc->rec[p].buf.len);
        }
    }
    if (rc == PAREX_OK && J->out->oom) {
        rc = PAREX_E_NOMEM;
    }
    return rc;
}

#endif /* PX_PAR_RECORD_IMPL_H */
