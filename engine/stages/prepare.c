/* The stateless stage of a block, ahead of time (block pipelining, issue
 * 10): decoding, tx ids, sender account keys, chain ids and signatures
 * need no state, so they can run for block N+1 on other threads while
 * the engine executes, roots and commits block N. A prepared block keeps
 * a copy of its bytes (the decoded txs point into them) and the verdict
 * of every signature; parex_engine_execute_prepared() runs the stateful
 * checks first and then reports that verdict exactly as
 * px__stage_verify() would, so the error a block gets does not depend on
 * the path it took.
 *
 * The signatures are checked in chunks of CHUNK txs that any thread may
 * take: parex_prepared_verify() on the preparing threads, and the
 * engine's own pool in parex_engine_execute_prepared(), which finishes
 * whatever is left when the block's turn comes instead of waiting for
 * the preparers (on two cores they compete with the engine's workers;
 * the engine never waits for them, see node/formats/pipeline.c).
 *
 * A chunk is claimed through one counter (`next`); its state says
 * whether its results are in. A thread verifies its chunk into a buffer
 * of its own and publishes it with a CAS PENDING -> WRITING, copies, and
 * stores DONE. Once every chunk is claimed, the engine steals the chunks
 * still PENDING (their claimers are preempted or slow, e.g. a preparer
 * at a low priority): a CAS PENDING -> WRITING makes the chunk the
 * engine's, it verifies in place, and the slow claimer's CAS fails and
 * its copy is dropped. Verification is a pure function of the tx, so
 * whoever wins writes the same bytes; the CAS only keeps two writers off
 * the same memory. At most one chunk per slow claimer is verified twice. */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define CHUNK 32

enum { CH_PENDING = 0, CH_WRITING = 1, CH_DONE = 2 };

/* What verification changes; behind a pointer so that a const
 * parex_prepared (the engine's view) can finish it. */
typedef struct prep_sigs {
    atomic_size_t next;         /* the next chunk to claim */
    atomic_uchar *state;        /* per chunk: CH_* */
    atomic_size_t done;         /* chunks DONE */
    atomic_uint_fast64_t ns;    /* thread time spent verifying, all threads */
    size_t nchunks;
} prep_sigs;

struct parex_prepared {
    uint8_t *bytes;         /* the block's bytes, owned */
    size_t len;
    px__block blk;          /* decoded; ids and account keys as verified */
    uint8_t *bad;           /* per tx: 0, or a parex_reject reason */
    uint32_t chain_id;      /* of the engine it was prepared for */
    parex_limits lim;
    uint64_t decode_ns;
    prep_sigs *sig;
};

/* One chunk's results in the claimer's own memory. */
typedef struct chunk_out {
    uint8_t id[CHUNK][32], acct[CHUNK][32], bad[CHUNK];
} chunk_out;

static void chunk_range(const parex_prepared *p, size_t c, size_t *b,
    size_t *e)
{
    *b = c * CHUNK;
    *e = *b + CHUNK < p->blk.n ? *b + CHUNK : p->blk.n;
}

/* Verify chunk c (claimed through `next`) and publish it unless it was
 * stolen meanwhile. */
static void verify_claimed(const parex_prepared *p, size_t c, chunk_out *o)
{
    prep_sigs *s = p->sig;
    size_t b, e, i;
    unsigned char want = CH_PENDING;

    chunk_range(p, c, &b, &e);
    for (i = b; i < e; i++) {
        /* Only what verification reads: a thief may be writing this
         * tx's id and key in place. */
        px__btx t;
        t.tx = p->blk.txs[i].tx;
        t.enc = p->blk.txs[i].enc;
        t.enc_len = p->blk.txs[i].enc_len;
        o->bad[i - b] = px__tx_verify_one(&t, p->chain_id, 0);
        memcpy(o->id[i - b], t.id, 32);
        memcpy(o->acct[i - b], t.acct, 32);
    }
    if (!atomic_compare_exchange_strong(&s->state[c], &want, CH_WRITING)) {
        return; /* stolen: the thief wrote the same results */
    }
    for (i = b; i < e; i++) {
        memcpy(p->blk.txs[i].id, o->id[i - b], 32);
        memcpy(p->blk.txs[i].acct, o->acct[i - b], 32);
        p->bad[i] = o->bad[i - b];
    }
    atomic_store_explicit(&s->state[c], CH_DONE, memory_order_release);
    atomic_fetch_add(&s->done, 1);
}

/* Claim and verify chunks until none is left to claim. */
static void claim_all(const parex_prepared *p, chunk_out *o)
{
    prep_sigs *s = p->sig;
    uint64_t t0 = px__now_ns();

    for (;;) {
        size_t c = atomic_fetch_add(&s->next, 1);
        if (c >= s->nchunks) {
            break;
        }
        verify_claimed(p, c, o);
    }
    atomic_fetch_add(&s->ns, px__now_ns() - t0);
}

/* The engine's pool: claim what is left, then steal what is claimed but
 * not in. */
static void run_finish(void *arg, unsigned w, size_t b, size_t e)
{
    const parex_prepared *p = arg;
    prep_sigs *s = p->sig;
    chunk_out o;
    uint64_t t0;
    size_t c;

    (void)w;
    (void)b;
    (void)e;
    claim_all(p, &o);
    t0 = px__now_ns();
    for (c = 0; c < s->nchunks; c++) {
        unsigned char want = CH_PENDING;
        size_t cb, ce, i;
        if (atomic_load_explicit(&s->state[c], memory_order_acquire) !=
                CH_PENDING ||
            !atomic_compare_exchange_strong(&s->state[c], &want,
                CH_WRITING)) {
            continue;
        }
        chunk_range(p, c, &cb, &ce);
        for (i = cb; i < ce; i++) {
            p->bad[i] = px__tx_verify_one(&p->blk.txs[i], p->chain_id, 0);
        }
        atomic_store_explicit(&s->state[c], CH_DONE, memory_order_release);
        atomic_fetch_add(&s->done, 1);
    }
    atomic_fetch_add(&s->ns, px__now_ns() - t0);
}

/* Every chunk in: finished on e's pool (the caller is worker 0), then a
 * wait for the copies being published (a few hundred bytes each). */
static void finish_sigs(const parex_engine *e, const parex_prepared *p)
{
    prep_sigs *s = p->sig;
    size_t c;

    if (atomic_load_explicit(&s->done, memory_order_acquire) ==
        s->nchunks) {
        return;
    }
    px__pool_run(e->pool, run_finish, (void *)p,
        px__pool_threads(e->pool), 1);
    for (c = 0; c < s->nchunks; c++) {
        while (atomic_load_explicit(&s->state[c], memory_order_acquire) !=
            CH_DONE) {
            sched_yield();
        }
    }
}

PAREX_API int parex_block_prepare_start(const parex_engine *e,
    parex_prepared **out, parex_error_info *err, const uint8_t *block,
    size_t len)
{
    parex_prepared *p;
    uint64_t t0 = px__now_ns();
    size_t c;
    int rc;

    px__err_clear(err);
    if (out != NULL) {
        *out = NULL;
    }
    if (e == NULL || out == NULL || (block == NULL && len > 0)) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    p->chain_id = e->chain_id;
    p->lim = e->lim;
    p->bytes = malloc(len > 0 ? len : 1);
    p->sig = calloc(1, sizeof(*p->sig));
    if (p->bytes == NULL || p->sig == NULL) {
        parex_prepared_free(p);
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    if (len > 0) {
        memcpy(p->bytes, block, len);
    }
    p->len = len;
    rc = px__block_decode(&p->blk, err, p->bytes, len, &p->lim);
    if (rc != PAREX_OK) {
        parex_prepared_free(p);
        return rc;
    }
    p->sig->nchunks = (p->blk.n + CHUNK - 1) / CHUNK;
    p->bad = calloc(p->blk.n > 0 ? p->blk.n : 1, 1);
    p->sig->state = malloc(p->sig->nchunks > 0 ? p->sig->nchunks : 1);
    if (p->bad == NULL || p->sig->state == NULL) {
        parex_prepared_free(p);
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    atomic_init(&p->sig->next, 0);
    atomic_init(&p->sig->done, 0);
    atomic_init(&p->sig->ns, 0);
    for (c = 0; c < p->sig->nchunks; c++) {
        atomic_init(&p->sig->state[c], CH_PENDING);
    }
    p->decode_ns = px__now_ns() - t0;
    *out = p;
    return PAREX_OK;
}

PAREX_API int parex_prepared_verify(parex_prepared *p)
{
    chunk_out o;   /* ~2 KiB */

    if (p == NULL) {
        return PAREX_E_MISUSE;
    }
    if (atomic_load(&p->sig->next) < p->sig->nchunks) {
        claim_all(p, &o);
    }
    return PAREX_OK;
}

PAREX_API int parex_block_prepare(const parex_engine *e, parex_prepared **out,
    parex_error_info *err, const uint8_t *block, size_t len)
{
    int rc = parex_block_prepare_start(e, out, err, block, len);

    if (rc == PAREX_OK) {
        rc = parex_prepared_verify(*out);
    }
    return rc;
}

PAREX_API void parex_prepared_free(parex_prepared *p)
{
    if (p == NULL) {
        return;
    }
    px__block_release(&p->blk);
    if (p->sig != NULL) {
        free(p->sig->state);
        free(p->sig);
    }
    free(p->bad);
    free(p->bytes);
    free(p);
}

const px__block *px__prepared_block(const parex_prepared *p)
{
    return &p->blk;
}

const uint8_t *px__prepared_bytes(const parex_prepared *p, size_t *len)
{
    *len = p->len;
    return p->bytes;
}

int px__prepared_matches(const parex_engine *e, const parex_prepared *p)
{
    return p->chain_id == e->chain_id &&
        memcmp(&p->lim, &e->lim, sizeof(p->lim)) == 0;
}

int px__prepared_verdict(const parex_engine *e, const parex_prepared *p,
    unsigned flags, parex_block_stats *st, parex_error_info *err)
{
    int trusted = (flags & PAREX_EXEC_VERIFIED) != 0;
    int rc;

    /* Ids and account keys come from the same pass, so even a trusted
     * block has its chunks finished (signatures included: the verdicts
     * stay for a later untrusted run of p). */
    finish_sigs(e, p);
    /* PAREX_EXEC_VERIFIED: the caller vouches for the signatures, as
     * px__stage_verify() takes it; the error is px__stage_verify()'s, from
     * the same function. */
    rc = px__verify_verdict(&p->blk, p->bad, e->chain_id, trusted, err);
    if (rc != PAREX_OK) {
        return rc;
    }
    st->decode_ns = p->decode_ns;
    st->verify_ns = atomic_load(&p->sig->ns);
    st->verify_skipped = trusted ? p->blk.n : 0;
    return PAREX_OK;
}

PAREX_API int parex_prepared_set_header(parex_prepared *p,
    const parex_header *h)
{
    if (p == NULL || h == NULL) {
        return PAREX_E_MISUSE;
    }
    /* The header is the block's first PAREX_HEADER_BYTES (a decoded block
     * is at least that long) and nothing prepared depends on it: the txs
     * start after it, ids and signatures cover only them, and
     * verification (parex_prepared_verify() on other threads) reads only
     * the txs. */
    parex_header_encode(p->bytes, h);
    p->blk.hdr = *h;
    return PAREX_OK;
}
