/* The stateless stage of a block, ahead of time (block pipelining, issue
 * 10): decoding, tx ids, sender account keys, chain ids and signatures
 * need no state, so they can run for block N+1 on another thread while
 * the engine executes, roots and commits block N. A prepared block keeps
 * a copy of its bytes (the decoded txs point into them) and the verdict
 * of every signature; parex_engine_execute_prepared() runs the stateful
 * checks first and then reports that verdict exactly as
 * px__stage_verify() would, so the error a block gets does not depend on
 * the path it took. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

struct parex_prepared {
    uint8_t *bytes;         /* the block's bytes, owned */
    size_t len;
    px__block blk;          /* decoded, ids and account keys filled */
    uint8_t *bad;           /* per tx: 0, or a parex_reject reason */
    uint32_t chain_id;      /* of the engine it was prepared for */
    parex_limits lim;
    uint64_t decode_ns, verify_ns;
};

/* px__tx_verify_one() of every tx, signatures included, on the calling
 * thread only: the engine's pool may be busy with the previous block. */
static void verify_all(parex_prepared *p)
{
    size_t i;

    for (i = 0; i < p->blk.n; i++) {
        p->bad[i] = px__tx_verify_one(&p->blk.txs[i], p->chain_id, 0);
    }
}

PAREX_API int parex_block_prepare(const parex_engine *e, parex_prepared **out,
    parex_error_info *err, const uint8_t *block, size_t len)
{
    parex_prepared *p;
    uint64_t t0 = px__now_ns(), t1;
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
    if (p->bytes == NULL) {
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
    p->bad = calloc(p->blk.n > 0 ? p->blk.n : 1, 1);
    if (p->bad == NULL) {
        parex_prepared_free(p);
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    t1 = px__now_ns();
    verify_all(p);
    p->decode_ns = t1 - t0;
    p->verify_ns = px__now_ns() - t1;
    *out = p;
    return PAREX_OK;
}

PAREX_API void parex_prepared_free(parex_prepared *p)
{
    if (p == NULL) {
        return;
    }
    px__block_release(&p->blk);
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
    /* PAREX_EXEC_VERIFIED: the caller vouches for the signatures, as
     * px__stage_verify() takes it; the error is px__stage_verify()'s, from
     * the same function. */
    int rc = px__verify_verdict(&p->blk, p->bad, e->chain_id, trusted, err);

    if (rc != PAREX_OK) {
        return rc;
    }
    st->decode_ns = p->decode_ns;
    st->verify_ns = p->verify_ns;
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
     * start after it, ids and signatures cover only them. */
    parex_header_encode(p->bytes, h);
    p->blk.hdr = *h;
    return PAREX_OK;
}
