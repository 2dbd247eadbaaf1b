/* `parex bench --tx-work US`: every transaction also does a fixed,
 * deterministic amount of extra work, a chain of SHA-256 steps over 32
 * bytes seeded from the tx's signature, so that speedup can be read as a
 * function of transaction cost (real VM transactions cost tens of
 * microseconds; the built-in programs well under one).
 *
 * The chain's length is calibrated once per `parex bench` run (about US
 * microseconds on one core) and then fixed, so the sequential reference
 * and the parallel engine, and every repetition, do identical work. The
 * engine has no hook for extra work, and the harness cannot call the
 * built-in programs, so it registers programs of its own under the
 * built-in ids 1 (transfer) and 2 (trace) (parex_engine_register()
 * replaces a built-in): each runs the chain, then the program's semantics
 * of docs/formats.md through the public ctx API. The chain touches no
 * state, so state, receipts and roots equal those of the built-ins;
 * tests/node/bench.sh checks the roots against a run without --tx-work.
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

/* docs/formats.md: the programs' failure codes. */
#define TRANSFER_INSUFFICIENT 1
#define TRANSFER_BAD_ARGS 2
#define TRANSFER_OVERFLOW 3
#define TRACE_BAD_ARGS 2

void px_bench_work_chain(uint8_t out[32], const uint8_t seed[32],
    uint64_t steps)
{
    uint8_t h[2][32];
    uint64_t i;

    /* Two buffers: each step reads one and writes the other. */
    memcpy(h[0], seed, 32);
    for (i = 0; i < steps; i++) {
        parex_sha256(h[(i + 1) & 1], h[i & 1], 32);
    }
    memcpy(out, h[steps & 1], 32);
}

uint64_t px_bench_work_calibrate(double us)
{
    uint8_t h[32] = {0};
    double best = 0;
    uint64_t steps;
    int trial;

    if (!(us > 0)) {
        return 0;
    }
    /* The fastest of three timings of >= 20 ms each: noise on a shared
     * machine only ever adds time. */
    for (trial = 0; trial < 3; trial++) {
        uint64_t n = 1024, t0, dt;
        for (;;) {
            t0 = node_now_ns();
            px_bench_work_chain(h, h, n);
            dt = node_now_ns() - t0;
            if (dt >= 20000000u) {
                break;
            }
            n *= 2;
        }
        if (trial == 0 || (double)dt / (double)n < best) {
            best = (double)dt / (double)n;
        }
    }
    steps = (uint64_t)(us * 1000.0 / (best > 0 ? best : 1.0) + 0.5);
    return steps == 0 ? 1 : steps;
}

/* The work itself: its result is stored through a volatile so that the
 * chain cannot be optimised away. */
static void tx_work(const parex_tx *tx, const void *user)
{
    uint8_t h[32];
    volatile uint8_t keep;

    px_bench_work_chain(h, tx->sig, *(const uint64_t *)user);
    keep = h[0];
    (void)keep;
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

/* An account's value; absent is balance 0, nonce 0. Returns 1 present, 0
 * absent, a negative ctx code, or PAREX_E_INVALID for a value that is not
 * an account. */
static int get_account(parex_ctx *ctx, const uint8_t key[32], uint64_t *bal,
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
    return parex_account_decode(bal, nonce, v, len) == PAREX_OK ? 1
        : PAREX_E_INVALID;
}

static int put_account(parex_ctx *ctx, const uint8_t key[32], uint64_t bal,
    uint64_t nonce)
{
    uint8_t v[PAREX_ACCOUNT_BYTES];

    parex_account_encode(v, bal, nonce);
    return parex_ctx_put(ctx, key, v, sizeof(v));
}

/* Program 1: args recipient[32] || u64le amount. */
static int work_transfer(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t from[32], to[32];
    uint64_t bal, nonce, tbal, tnonce, amount;
    int rc;

    tx_work(tx, user);
    if (tx->args_len != PAREX_TRANSFER_ARGS_BYTES) {
        return TRANSFER_BAD_ARGS;
    }
    amount = ld64(tx->args + 32);
    parex_account_key(from, tx->sender);
    rc = get_account(ctx, from, &bal, &nonce);
    if (rc < 0) {
        return rc == PAREX_E_INVALID ? TRANSFER_BAD_ARGS : rc;
    }
    if (bal < amount) {
        return TRANSFER_INSUFFICIENT;
    }
    parex_account_key(to, tx->args);
    if (memcmp(to, from, 32) == 0) {
        return 0;
    }
    rc = get_account(ctx, to, &tbal, &tnonce);
    if (rc < 0) {
        return rc == PAREX_E_INVALID ? TRANSFER_BAD_ARGS : rc;
    }
    if (tbal > UINT64_MAX - amount) {
        return TRANSFER_OVERFLOW;
    }
    rc = put_account(ctx, from, bal - amount, nonce);
    if (rc != PAREX_OK) {
        return rc;
    }
    return put_account(ctx, to, tbal + amount, tnonce);
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(*(const uint8_t *const *)a, *(const uint8_t *const *)b,
        32);
}

/* Program 2: args u32le id_len || id || u32le nR || R || u32le nW || W;
 * h = SHA-256(id || for k in sorted unique(R u W): k || u32le(len v) ||
 * v), then every w in W is set to SHA-256(h || w). */
static int work_trace(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    const uint8_t *a = tx->args, *id, *r, *w;
    size_t len = tx->args_len, idl, nr, nw, nk, i, total;
    const uint8_t **k = NULL, **v = NULL;
    size_t *vl = NULL;
    uint8_t *buf = NULL, *p, h[32], hw[64];
    int rc = PAREX_OK;

    tx_work(tx, user);
    if (len < 4) {
        return TRACE_BAD_ARGS;
    }
    idl = ld32(a);
    if (idl > len - 4 || len - 4 - idl < 4) {
        return TRACE_BAD_ARGS;
    }
    id = a + 4;
    nr = ld32(id + idl);
    r = id + idl + 4;
    if (nr > (len - 8 - idl) / 32 || len - 8 - idl - 32 * nr < 4) {
        return TRACE_BAD_ARGS;
    }
    nw = ld32(r + 32 * nr);
    w = r + 32 * nr + 4;
    if (nw > (len - 12 - idl - 32 * nr) / 32 ||
            len - 12 - idl - 32 * nr != 32 * nw) {
        return TRACE_BAD_ARGS;
    }
    k = malloc((nr + nw + 1) * sizeof(*k));
    v = malloc((nr + nw + 1) * sizeof(*v));
    vl = malloc((nr + nw + 1) * sizeof(*vl));
    if (k == NULL || v == NULL || vl == NULL) {
        rc = PAREX_E_NOMEM;
        goto out;
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
    /* The values stay valid until the program returns. */
    total = idl;
    for (i = 0; i < nk; i++) {
        rc = parex_ctx_get(ctx, &v[i], &vl[i], k[i]);
        if (rc == PAREX_E_NOTFOUND) {
            v[i] = NULL;
            vl[i] = 0;
        } else if (rc != PAREX_OK) {
            goto out;
        }
        total += 36 + vl[i];
    }
    rc = PAREX_OK;
    buf = malloc(total == 0 ? 1 : total);
    if (buf == NULL) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    p = buf;
    memcpy(p, id, idl);
    p += idl;
    for (i = 0; i < nk; i++) {
        memcpy(p, k[i], 32);
        p[32] = (uint8_t)vl[i];
        p[33] = (uint8_t)(vl[i] >> 8);
        p[34] = (uint8_t)(vl[i] >> 16);
        p[35] = (uint8_t)(vl[i] >> 24);
        p += 36;
        if (vl[i] > 0) {
            memcpy(p, v[i], vl[i]);
            p += vl[i];
        }
    }
    parex_sha256(h, buf, total);
    memcpy(hw, h, 32);
    for (i = 0; i < nw && rc == PAREX_OK; i++) {
        uint8_t o[32];
        memcpy(hw + 32, w + 32 * i, 32);
        parex_sha256(o, hw, 64);
        rc = parex_ctx_put(ctx, w + 32 * i, o, 32);
    }
out:
    free(buf);
    free(vl);
    free(v);
    free(k);
    return rc;
}

int px_bench_work_register(parex_engine *e, uint64_t *steps)
{
    int rc = parex_engine_register(e, PAREX_PROGRAM_TRANSFER, work_transfer,
        steps);

    if (rc == PAREX_OK) {
        rc = parex_engine_register(e, PAREX_PROGRAM_TRACE, work_trace,
            steps);
    }
    return rc;
}
