/* Program registry, the parex_ctx accessors and the built-in programs.
 * Programs see state only through parex_ctx, so the same code runs under
 * the sequential reference and the parallel executor. The rule around a
 * program (nonce and fee prelude, failure, receipt) is engine/exec/stf.c. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* Transfer failure codes (docs/formats.md). */
#define TRANSFER_INSUFFICIENT 1
#define TRANSFER_BAD_ARGS 2
#define TRANSFER_OVERFLOW 3
#define TRACE_BAD_ARGS 2

/* One step of the program's budget (stf.c sets it per execution): 0, or
 * PAREX_E_LIMIT once spent. */
static int step(parex_ctx *ctx)
{
    if (ctx->over_budget || ctx->calls >= ctx->max_calls) {
        ctx->over_budget = 1;
        return PAREX_E_LIMIT;
    }
    ctx->calls++;
    return PAREX_OK;
}

PAREX_API int parex_ctx_get(parex_ctx *ctx, const uint8_t **val, size_t *len,
    const uint8_t key[32])
{
    if (ctx == NULL || val == NULL || len == NULL || key == NULL) {
        return PAREX_E_MISUSE;
    }
    if (step(ctx) != PAREX_OK) {
        return PAREX_E_LIMIT;
    }
    return ctx->ops->get(ctx, val, len, key);
}

PAREX_API int parex_ctx_put(parex_ctx *ctx, const uint8_t key[32],
    const uint8_t *val, size_t len)
{
    if (ctx == NULL || key == NULL || (val == NULL && len > 0)) {
        return PAREX_E_MISUSE;
    }
    if (step(ctx) != PAREX_OK) {
        return PAREX_E_LIMIT;
    }
    if (len > ctx->lim->max_value_bytes) {
        return PAREX_E_LIMIT;
    }
    return ctx->ops->put(ctx, key, val, len, 0);
}

PAREX_API int parex_ctx_del(parex_ctx *ctx, const uint8_t key[32])
{
    if (ctx == NULL || key == NULL) {
        return PAREX_E_MISUSE;
    }
    if (step(ctx) != PAREX_OK) {
        return PAREX_E_LIMIT;
    }
    return ctx->ops->put(ctx, key, NULL, 0, 1);
}

PAREX_API const parex_tx *parex_ctx_tx(const parex_ctx *ctx)
{
    return ctx != NULL ? &ctx->btx->tx : NULL;
}

PAREX_API uint64_t parex_ctx_height(const parex_ctx *ctx)
{
    return ctx != NULL ? ctx->height : 0;
}

static int prog_transfer(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t to_key[32];
    uint64_t bal, nonce, tbal, tnonce, amount;
    int rc;

    (void)user;
    if (tx->args_len != PAREX_TRANSFER_ARGS_BYTES) {
        return TRANSFER_BAD_ARGS;
    }
    amount = px__ld64(tx->args + 32);
    rc = px__account_get(ctx, ctx->btx->acct, &bal, &nonce);
    if (rc < 0) {
        return rc == PAREX_E_INVALID ? TRANSFER_BAD_ARGS : rc;
    }
    if (bal < amount) {
        return TRANSFER_INSUFFICIENT;
    }
    parex_account_key(to_key, tx->args);
    if (memcmp(to_key, ctx->btx->acct, 32) == 0) {
        return 0; /* to oneself: nothing moves */
    }
    rc = px__account_get(ctx, to_key, &tbal, &tnonce);
    if (rc < 0) {
        return rc == PAREX_E_INVALID ? TRANSFER_BAD_ARGS : rc;
    }
    if (tbal > UINT64_MAX - amount) {
        return TRANSFER_OVERFLOW;
    }
    rc = px__account_put(ctx, ctx->btx->acct, bal - amount, nonce);
    if (rc != PAREX_OK) {
        return rc;
    }
    return px__account_put(ctx, to_key, tbal + amount, tnonce);
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b, 32);
}

/* The trace program (issue #2, docs/formats.md): args are
 * u32le id_len || id || u32le nR || nR keys || u32le nW || nW keys.
 * h = SHA-256(id || for k in sorted unique(R u W): k || u32le(len v) || v),
 * then every w in W is set to SHA-256(h || w). */
static int prog_trace(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    const uint8_t *a = tx->args, *id, *r, *w, *v;
    size_t len = tx->args_len, idl, nr, nw, nk, i, vlen;
    const uint8_t *k_small[16], **k = k_small;
    px__sha256 sh = { 0 };
    uint8_t h[32], buf[64], lb[4];
    int rc = PAREX_OK;

    (void)user;
    if (len < 4) {
        return TRACE_BAD_ARGS;
    }
    idl = px__ld32(a);
    if (idl > len - 4 || len - 4 - idl < 4) {
        return TRACE_BAD_ARGS;
    }
    id = a + 4;
    nr = px__ld32(id + idl);
    r = id + idl + 4;
    if (nr > (len - 8 - idl) / 32 || len - 8 - idl - 32 * nr < 4) {
        return TRACE_BAD_ARGS;
    }
    nw = px__ld32(r + 32 * nr);
    w = r + 32 * nr + 4;
    if (nw > (len - 12 - idl - 32 * nr) / 32 ||
        len - 12 - idl - 32 * nr != 32 * nw) {
        return TRACE_BAD_ARGS;
    }
    /* Most txs declare a few keys: no allocation for them. */
    if (nr + nw > sizeof(k_small) / sizeof(k_small[0]) &&
        (k = malloc((nr + nw) * sizeof(*k))) == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < nr; i++) {
        k[i] = r + 32 * i;
    }
    for (i = 0; i < nw; i++) {
        k[nr + i] = w + 32 * i;
    }
    qsort(k, nr + nw, sizeof(*k), cmp_key);
    for (nk = 0, i = 0; i < nr + nw; i++) {
        if (nk == 0 || memcmp(k[nk - 1], k[i], 32) != 0) {
            k[nk++] = k[i];
        }
    }
    if (px__sha256_init(&sh) != 0) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    px__sha256_update(&sh, id, idl);
    for (i = 0; i < nk; i++) {
        rc = parex_ctx_get(ctx, &v, &vlen, k[i]);
        if (rc == PAREX_E_NOTFOUND) {
            v = NULL;
            vlen = 0;
        } else if (rc != PAREX_OK) {
            px__sha256_discard(&sh);
            goto out;
        }
        px__st32(lb, (uint32_t)vlen);
        px__sha256_update(&sh, k[i], 32);
        px__sha256_update(&sh, lb, 4);
        if (vlen > 0) {
            px__sha256_update(&sh, v, vlen);
        }
    }
    if (px__sha256_final(&sh, h) != 0) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    rc = PAREX_OK;
    memcpy(buf, h, 32);
    for (i = 0; i < nw && rc == PAREX_OK; i++) {
        uint8_t out[32];
        memcpy(buf + 32, w + 32 * i, 32);
        px__sha256_once(out, buf, 64);
        rc = parex_ctx_put(ctx, w + 32 * i, out, 32);
    }
out:
    if (k != k_small) {
        free(k);
    }
    return rc;
}

int px__programs_init(px__programs *p)
{
    memset(p, 0, sizeof(*p));
    if (px__programs_set(p, PAREX_PROGRAM_TRANSFER, prog_transfer, NULL) !=
            PAREX_OK ||
        px__programs_set(p, PAREX_PROGRAM_TRACE, prog_trace, NULL) !=
            PAREX_OK) {
        px__programs_finish(p);
        return PAREX_E_NOMEM;
    }
    return PAREX_OK;
}

void px__programs_finish(px__programs *p)
{
    free(p->v);
    memset(p, 0, sizeof(*p));
}

int px__programs_set(px__programs *p, uint32_t id, parex_program_fn fn,
    void *user)
{
    size_t i;

    for (i = 0; i < p->n && p->v[i].id < id; i++) {
    }
    if (i < p->n && p->v[i].id == id) {
        p->v[i].fn = fn;
        p->v[i].user = user;
        return PAREX_OK;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 8;
        px__program *nv = realloc(p->v, cap * sizeof(*nv));
        if (nv == NULL) {
            return PAREX_E_NOMEM;
        }
        p->v = nv;
        p->cap = cap;
    }
    memmove(p->v + i + 1, p->v + i, (p->n - i) * sizeof(*p->v));
    p->v[i].id = id;
    p->v[i].fn = fn;
    p->v[i].user = user;
    p->n++;
    return PAREX_OK;
}

const px__program *px__programs_find(const px__programs *p, uint32_t id)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->v[mid].id == id) {
            return &p->v[mid];
        }
        if (p->v[mid].id < id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}
