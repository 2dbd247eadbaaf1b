/* Hostile blocks: what a block producer or a tx sender can send, and what
 * the engine must do with it. Every scenario runs under the sequential
 * reference executor and the parallel engine at 1..4 threads (parallel
 * path forced); outcomes (code, rejection, tx index, header, receipts),
 * the full state and parex_db_verify must agree, and a rejected block must
 * leave the store exactly as it was.
 *
 *  - the same tx twice in a block, and a tx replayed in a later block;
 *  - a tx signed for another chain id, and a chain id changed after
 *    signing;
 *  - txs that touch undeclared keys in a loop, up to and over
 *    max_tx_accesses;
 *  - a program that writes max_value_bytes on every key it declares, and
 *    one byte more;
 *  - blocks declaring the most keys per set on every tx, with keys crafted
 *    to collide in a hash of their first 16 bytes: the work of conflict
 *    analysis and of the reference executor's overlay, counted in
 *    parex_block_stats.map_probes, stays linear in the keys looked up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parex/parex.h"
#include "testutil.h"
#include "txb.h"
#include "engine_int.h"
#include "exec/conflict.h"

#define N_MODES 5       /* 0: sequential reference; 1..4: parallel threads */
#define N_SENDERS 8
#define P_LOOP 410      /* loops over undeclared keys, see prog_loop */
#define P_MAXW 411      /* writes a value of u32le(args) on its write set */

/* The engines' min_batch_width: 1, the parallel path forced, but for the
 * test of the narrow decision. */
static uint32_t g_width = 1;

typedef struct world {
    char *dir;
    parex_db *db;
    parex_engine *e;
    uint8_t sec[N_SENDERS][32], pub[N_SENDERS][32];
    uint64_t nonce[N_SENDERS];
} world;

/* Key i of the loop program's universe: SHA-256("loop" || u32le i). */
static void loop_key(uint8_t out[32], uint32_t i)
{
    uint8_t in[8];

    memcpy(in, "loop", 4);
    px__st32(in + 4, i);
    parex_sha256(out, in, sizeof(in));
}

/* P_LOOP: args u32le n || u32le rounds || u32le base. For each round,
 * for i < n: read key base + i, then write SHA-256(acc || old value) to
 * it, where acc chains everything read. Nothing is declared, so every
 * access is undeclared; values written depend on values read. */
static int prog_loop(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t acc[32] = { 0 }, key[32], buf[32 + 32];
    uint32_t n, rounds, base, r, i;
    const uint8_t *v;
    size_t len;
    int rc;

    (void)user;
    if (tx->args_len != 12) {
        return 9;
    }
    n = px__ld32(tx->args);
    rounds = px__ld32(tx->args + 4);
    base = px__ld32(tx->args + 8);
    for (r = 0; r < rounds; r++) {
        for (i = 0; i < n; i++) {
            loop_key(key, base + i);
            rc = parex_ctx_get(ctx, &v, &len, key);
            if (rc == PAREX_E_NOTFOUND) {
                len = 0;
            } else if (rc != PAREX_OK) {
                return rc;
            }
            memcpy(buf, acc, 32);
            memset(buf + 32, 0, 32);
            if (len > 0) {
                /* v is unset when the key is absent. */
                memcpy(buf + 32, v, len < 32 ? len : 32);
            }
            parex_sha256(acc, buf, sizeof(buf));
            rc = parex_ctx_put(ctx, key, acc, 32);
            if (rc != PAREX_OK) {
                return rc;
            }
        }
    }
    return 0;
}

/* P_MAXW: writes u32le(args) bytes (byte j = (j + key[0]) & 0xff) to
 * every key of its declared write set; returns what a put returned. */
static int prog_maxw(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint32_t size, i, j;
    uint8_t *val;
    int rc = PAREX_OK;

    (void)user;
    if (tx->args_len != 4) {
        return 9;
    }
    size = px__ld32(tx->args);
    val = malloc(size > 0 ? size : 1);
    if (val == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < tx->n_write && rc == PAREX_OK; i++) {
        const uint8_t *k = tx->write_set + 32 * (size_t)i;
        for (j = 0; j < size; j++) {
            val[j] = (uint8_t)(j + k[0]);
        }
        rc = parex_ctx_put(ctx, k, val, size);
    }
    free(val);
    return rc;
}

static void world_open(world *w, int mode, const parex_limits *lim)
{
    parex_db_options dbo = { .size = sizeof(parex_db_options),
        .map_size = 0, .sync = PAREX_SYNC_NONE, .read_only = 0 };
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_kv kv[N_SENDERS];
    uint8_t vals[N_SENDERS][16], fs[32], fp[32];
    int i;

    memset(w, 0, sizeof(*w));
    w->dir = tu_tmpdir();
    assert_int_equal(parex_db_open(&w->db, NULL, w->dir, &dbo), PAREX_OK);
    memset(kv, 0, sizeof(kv));
    for (i = 0; i < N_SENDERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "hostile-%d", i);
        txb_keys(w->sec[i], w->pub[i], name);
        parex_account_key(kv[i].key, w->pub[i]);
        parex_account_encode(vals[i], 1000000, 0);
        kv[i].value = vals[i];
        kv[i].value_len = 16;
    }
    txb_keys(fs, fp, "hostile-fee");
    assert_int_equal(parex_db_genesis(w->db, NULL, kv, N_SENDERS, fp),
        PAREX_OK);
    parex_engine_options_default(&eo);
    eo.sequential = mode == 0;
    eo.threads = mode == 0 ? 1 : (unsigned)mode;
    eo.min_batch_width = g_width;
    if (lim != NULL) {
        eo.limits = *lim;
    }
    assert_int_equal(parex_engine_create(&w->e, w->db, &eo), PAREX_OK);
    assert_int_equal(parex_engine_register(w->e, P_LOOP, prog_loop, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(w->e, P_MAXW, prog_maxw, NULL),
        PAREX_OK);
}

static void world_close(world *w)
{
    parex_engine_destroy(w->e);
    parex_db_close(w->db);
    tu_rmdir(w->dir);
}

static parex_header head_of(const world *w)
{
    parex_header h;

    assert_int_equal(parex_db_head(w->db, &h), PAREX_OK);
    return h;
}

/* A signed tx from sender s with the given nonce (UINT64_MAX: the next). */
static parex_tx make_tx(world *w, int s, uint64_t nonce, uint32_t program,
    const uint8_t *args, uint32_t args_len)
{
    parex_tx tx;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = 1;
    tx.nonce = nonce == UINT64_MAX ? w->nonce[s]++ : nonce;
    tx.fee = 1;
    tx.program = program;
    tx.args = args;
    tx.args_len = args_len;
    txb_sign(&tx, w->sec[s]);
    return tx;
}

/* The outcome of one block, to compare across executors. */
typedef struct outcome {
    int rc, reject;
    int64_t tx_index;
    parex_header hdr;
    parex_receipt r[64];
    size_t n;
    uint8_t digest[32];
    parex_block_stats st;
} outcome;

/* Execute and commit; checks the invariants every outcome must meet. */
static outcome run(world *w, const uint8_t *blk, size_t len, size_t ntx)
{
    outcome o;
    parex_error_info err;
    parex_header before = head_of(w);
    uint8_t d0[32], root[32];

    memset(&o, 0, sizeof(o));
    o.st.size = sizeof(o.st);
    assert_true(ntx <= 64);
    txb_state_digest(d0, w->db);
    o.n = ntx;
    o.rc = parex_engine_execute(w->e, &o.hdr, o.r, ntx, &o.st, &err, blk,
        len, PAREX_EXEC_COMMIT);
    o.reject = err.reject;
    o.tx_index = err.tx_index;
    txb_state_digest(o.digest, w->db);
    assert_int_equal(parex_db_verify(w->db, root), PAREX_OK);
    if (o.rc != PAREX_OK) {
        parex_header after = head_of(w);
        uint8_t a[PAREX_HEADER_BYTES], b[PAREX_HEADER_BYTES];
        assert_int_equal(o.rc, PAREX_E_BLOCK);
        assert_true(err.message[0] != '\0');
        parex_header_encode(a, &before);
        parex_header_encode(b, &after);
        assert_memory_equal(a, b, sizeof(a));
        assert_memory_equal(d0, o.digest, 32);
        memset(&o.hdr, 0, sizeof(o.hdr));
        memset(o.r, 0, sizeof(o.r));
    } else {
        assert_memory_equal(root, o.hdr.state_root, 32);
    }
    return o;
}

static void assert_same_outcome(const outcome *a, const outcome *b)
{
    uint8_t x[PAREX_HEADER_BYTES], y[PAREX_HEADER_BYTES];
    size_t i;

    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->reject, b->reject);
    assert_true(a->tx_index == b->tx_index);
    parex_header_encode(x, &a->hdr);
    parex_header_encode(y, &b->hdr);
    assert_memory_equal(x, y, sizeof(x));
    for (i = 0; i < a->n; i++) {
        assert_memory_equal(a->r[i].txid, b->r[i].txid, 32);
        assert_int_equal(a->r[i].status, b->r[i].status);
        assert_int_equal(a->r[i].code, b->r[i].code);
        assert_true(a->r[i].fee == b->r[i].fee);
    }
    assert_memory_equal(a->digest, b->digest, 32);
}

/* A scenario builds blocks on world w, executes them with run() and
 * stores up to 8 outcomes; it is run once per mode and the outcomes must
 * match the reference's. */
typedef void (*scenario_fn)(world *w, outcome *out, size_t *n);

static void across_modes(scenario_fn fn, const parex_limits *lim)
{
    outcome *ref = calloc(8, sizeof(*ref)), *got = calloc(8, sizeof(*got));
    size_t nref = 0, ngot, i;
    int mode;

    assert_non_null(ref);
    assert_non_null(got);
    for (mode = 0; mode < N_MODES; mode++) {
        world w;
        world_open(&w, mode, lim);
        ngot = 0;
        fn(&w, mode == 0 ? ref : got, mode == 0 ? &nref : &ngot);
        world_close(&w);
        if (mode > 0) {
            assert_int_equal(ngot, nref);
            for (i = 0; i < nref; i++) {
                assert_same_outcome(&got[i], &ref[i]);
            }
        }
    }
    free(ref);
    free(got);
}

static uint8_t *block_of(world *w, size_t *len, const parex_tx *txs,
    size_t n)
{
    parex_header h = head_of(w);
    return txb_block(len, &h, txs, n);
}

/* ---- duplicates and replays ---------------------------------------------- */

static void sc_duplicate_tx(world *w, outcome *out, size_t *n)
{
    uint8_t args[40];
    parex_tx txs[3];
    uint8_t *blk;
    size_t len;

    parex_transfer_args(args, w->pub[1], 5);
    txs[0] = make_tx(w, 0, UINT64_MAX, PAREX_PROGRAM_TRANSFER, args, 40);
    txs[1] = make_tx(w, 2, UINT64_MAX, PAREX_PROGRAM_TRANSFER, args, 40);
    txs[2] = txs[0];    /* the same bytes: the same tx id */
    blk = block_of(w, &len, txs, 3);
    out[(*n)++] = run(w, blk, len, 3);
    free(blk);
    /* A tx id repeated in a block is a nonce used twice: the second copy
     * is BAD_NONCE and the whole block is rejected. */
    assert_int_equal(out[*n - 1].rc, PAREX_E_BLOCK);
    assert_int_equal(out[*n - 1].reject, PAREX_REJECT_BAD_NONCE);
    assert_true(out[*n - 1].tx_index == 2);

    /* Without the copy the block commits; the same tx in the next block
     * (a replay across blocks) is rejected, and so is a fresh tx reusing
     * a spent nonce. */
    blk = block_of(w, &len, txs, 2);
    out[(*n)++] = run(w, blk, len, 2);
    free(blk);
    assert_int_equal(out[*n - 1].rc, PAREX_OK);
    blk = block_of(w, &len, txs, 1);
    out[(*n)++] = run(w, blk, len, 1);
    free(blk);
    assert_int_equal(out[*n - 1].reject, PAREX_REJECT_BAD_NONCE);
    assert_true(out[*n - 1].tx_index == 0);
    parex_transfer_args(args, w->pub[3], 6);
    txs[0] = make_tx(w, 2, 0, PAREX_PROGRAM_TRANSFER, args, 40);
    blk = block_of(w, &len, txs, 1);
    out[(*n)++] = run(w, blk, len, 1);
    free(blk);
    assert_int_equal(out[*n - 1].reject, PAREX_REJECT_BAD_NONCE);
}

static void test_duplicate_and_replayed_txs(void **state)
{
    (void)state;
    across_modes(sc_duplicate_tx, NULL);
}

/* ---- chain id ------------------------------------------------------------ */

static void sc_chain_id(world *w, outcome *out, size_t *n)
{
    uint8_t args[40];
    parex_tx txs[2];
    uint8_t *blk;
    size_t len;

    parex_transfer_args(args, w->pub[1], 5);
    txs[0] = make_tx(w, 0, 0, PAREX_PROGRAM_TRANSFER, args, 40);
    /* Signed, correctly, for chain 2: valid there, rejected here. */
    memset(&txs[1], 0, sizeof(txs[1]));
    txs[1].chain_id = 2;
    txs[1].nonce = 0;
    txs[1].fee = 1;
    txs[1].program = PAREX_PROGRAM_TRANSFER;
    txs[1].args = args;
    txs[1].args_len = 40;
    txb_sign(&txs[1], w->sec[1]);
    assert_int_equal(parex_tx_verify(&txs[1]), PAREX_OK);
    blk = block_of(w, &len, txs, 2);
    out[(*n)++] = run(w, blk, len, 2);
    free(blk);
    assert_int_equal(out[*n - 1].reject, PAREX_REJECT_CHAIN_ID);
    assert_true(out[*n - 1].tx_index == 1);
    /* The chain id moved to 1 after signing: the signature covers it. */
    txs[1].chain_id = 1;
    assert_int_equal(parex_tx_verify(&txs[1]), PAREX_E_INVALID);
    blk = block_of(w, &len, txs, 2);
    out[(*n)++] = run(w, blk, len, 2);
    free(blk);
    assert_int_equal(out[*n - 1].reject, PAREX_REJECT_BAD_SIGNATURE);
    assert_true(out[*n - 1].tx_index == 1);
    /* Re-signed for chain 1, the block commits. */
    txb_sign(&txs[1], w->sec[1]);
    blk = block_of(w, &len, txs, 2);
    out[(*n)++] = run(w, blk, len, 2);
    free(blk);
    assert_int_equal(out[*n - 1].rc, PAREX_OK);
}

static void test_other_chain_id_is_rejected(void **state)
{
    (void)state;
    across_modes(sc_chain_id, NULL);
}

/* ---- undeclared keys in a loop -------------------------------------------- */

#define LOOP_LIMIT 200

static void sc_loop(world *w, outcome *out, size_t *n)
{
    uint8_t args[N_SENDERS][12];
    parex_tx txs[N_SENDERS];
    uint8_t *blk;
    size_t len;
    int s;

    /* Eight senders, overlapping windows of 150 undeclared keys, 3 rounds
     * each: every tx escapes and most conflict with their neighbours. */
    for (s = 0; s < N_SENDERS; s++) {
        txb_fill_args(args[s], 150, 3, (uint32_t)s * 40);
        txs[s] = make_tx(w, s, UINT64_MAX, P_LOOP, args[s], 12);
    }
    blk = block_of(w, &len, txs, N_SENDERS);
    out[(*n)++] = run(w, blk, len, N_SENDERS);
    free(blk);
    assert_int_equal(out[*n - 1].rc, PAREX_OK);
    for (s = 0; s < N_SENDERS; s++) {
        assert_int_equal(out[*n - 1].r[s].status, PAREX_TX_SUCCESS);
    }
    /* Over max_tx_accesses (200 distinct keys incl. the account): those
     * txs fail with PAREX_E_LIMIT as their code, their writes discarded,
     * nonce and fee kept; the others succeed on top of them. */
    for (s = 0; s < N_SENDERS; s++) {
        txb_fill_args(args[s], s % 2 ? 250 : 100, 2, (uint32_t)s * 30);
        txs[s] = make_tx(w, s, UINT64_MAX, P_LOOP, args[s], 12);
    }
    blk = block_of(w, &len, txs, N_SENDERS);
    out[(*n)++] = run(w, blk, len, N_SENDERS);
    free(blk);
    assert_int_equal(out[*n - 1].rc, PAREX_OK);
    for (s = 0; s < N_SENDERS; s++) {
        const parex_receipt *r = &out[*n - 1].r[s];
        assert_int_equal(r->status, s % 2 ? PAREX_TX_FAILED
                                          : PAREX_TX_SUCCESS);
        assert_int_equal(r->code, s % 2 ? PAREX_E_LIMIT : 0);
        assert_true(r->fee == 1);
    }
}

static void test_undeclared_keys_in_a_loop(void **state)
{
    parex_limits lim;

    (void)state;
    parex_limits_default(&lim);
    lim.max_tx_accesses = LOOP_LIMIT;
    across_modes(sc_loop, &lim);
}

/* ---- the largest values on every key ---------------------------------------- */

#define MAXW_KEYS 32
#define MAXW_VALUE 8192

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void sc_maxw(world *w, outcome *out, size_t *n)
{
    static uint8_t ws[N_SENDERS][MAXW_KEYS * 32];
    uint8_t args[N_SENDERS][4];
    parex_tx txs[N_SENDERS];
    uint8_t *blk;
    size_t len;
    int s, i, round;

    for (round = 0; round < 2; round++) {
        for (s = 0; s < N_SENDERS; s++) {
            /* Windows of 32 keys overlapping by half with the next
             * sender's: declared write-write conflicts, chained. */
            for (i = 0; i < MAXW_KEYS; i++) {
                loop_key(ws[s] + 32 * i, 1000 + (uint32_t)(s * 16 + i));
            }
            qsort(ws[s], MAXW_KEYS, 32, cmp32);
            /* Round 1: sender 5 writes one byte over the limit. */
            px__st32(args[s], MAXW_VALUE + (round == 1 && s == 5));
            memset(&txs[s], 0, sizeof(txs[s]));
            txs[s].chain_id = 1;
            txs[s].nonce = w->nonce[s]++;
            txs[s].fee = 1;
            txs[s].program = P_MAXW;
            txs[s].args = args[s];
            txs[s].args_len = 4;
            txs[s].write_set = ws[s];
            txs[s].n_write = MAXW_KEYS;
            txb_sign(&txs[s], w->sec[s]);
        }
        blk = block_of(w, &len, txs, N_SENDERS);
        out[(*n)++] = run(w, blk, len, N_SENDERS);
        free(blk);
        assert_int_equal(out[*n - 1].rc, PAREX_OK);
        for (s = 0; s < N_SENDERS; s++) {
            int over = round == 1 && s == 5;
            assert_int_equal(out[*n - 1].r[s].status,
                over ? PAREX_TX_FAILED : PAREX_TX_SUCCESS);
            assert_int_equal(out[*n - 1].r[s].code, over ? PAREX_E_LIMIT : 0);
        }
    }
    /* Every key holds a full-size value. */
    {
        uint8_t key[32], *val = malloc(MAXW_VALUE + 1);
        size_t l = MAXW_VALUE + 1;
        assert_non_null(val);
        loop_key(key, 1000);
        assert_int_equal(parex_db_get(w->db, val, &l, key), PAREX_OK);
        assert_int_equal(l, MAXW_VALUE);
        free(val);
    }
}

static void test_max_value_on_every_key(void **state)
{
    parex_limits lim;

    (void)state;
    parex_limits_default(&lim);
    lim.max_value_bytes = MAXW_VALUE;
    lim.max_keys_per_set = MAXW_KEYS;
    across_modes(sc_maxw, &lim);
}

/* ---- linear analysis ---------------------------------------------------- */

/* Keys that agree in their first 16 bytes and differ only in the rest:
 * they would all share one hash under a hash of the first 16 bytes. */
static void crafted_key(uint8_t out[32], uint32_t salt, uint32_t i)
{
    memset(out, 0xab, 16);
    px__st32(out + 16, salt);
    px__st32(out + 20, i);
    memset(out + 24, 0, 8);
}

/* A block of ntx txs, each declaring keys read and keys written (sorted,
 * disjoint, all crafted), running P_MAXW with size 0 (it writes its
 * whole write set). Returns the block's map_probes and checks the
 * outcome against the reference run on the same block. */
static uint64_t probes_for(int mode, uint32_t ntx, uint32_t keys)
{
    world w;
    parex_limits lim;
    parex_tx *txs = calloc(ntx, sizeof(*txs));
    uint8_t *rs = malloc((size_t)ntx * keys * 32);
    uint8_t *ws = malloc((size_t)ntx * keys * 32);
    uint8_t args[4] = { 0, 0, 0, 0 };
    outcome o;
    uint8_t *blk;
    size_t len;
    uint32_t j, i;

    assert_non_null(txs);
    assert_non_null(rs);
    assert_non_null(ws);
    parex_limits_default(&lim);
    lim.max_keys_per_set = keys;
    world_open(&w, mode, &lim);
    for (j = 0; j < ntx; j++) {
        int s = (int)(j % N_SENDERS);
        /* Reads overlap the previous tx's writes: conflicts chain. */
        for (i = 0; i < keys; i++) {
            crafted_key(rs + ((size_t)j * keys + i) * 32, 2 * j, i);
            crafted_key(ws + ((size_t)j * keys + i) * 32, 2 * j + 1, i);
        }
        if (j > 0) {
            memcpy(rs + (size_t)j * keys * 32,
                ws + (size_t)(j - 1) * keys * 32, 32);
            qsort(rs + (size_t)j * keys * 32, keys, 32, cmp32);
        }
        txs[j].chain_id = 1;
        txs[j].nonce = w.nonce[s]++;
        txs[j].fee = 1;
        txs[j].program = P_MAXW;
        txs[j].args = args;
        txs[j].args_len = 4;
        txs[j].read_set = rs + (size_t)j * keys * 32;
        txs[j].n_read = keys;
        txs[j].write_set = ws + (size_t)j * keys * 32;
        txs[j].n_write = keys;
        txb_sign(&txs[j], w.sec[s]);
    }
    blk = block_of(&w, &len, txs, ntx);
    {
        parex_receipt *r = calloc(ntx, sizeof(*r));
        parex_error_info err;
        assert_non_null(r);
        memset(&o, 0, sizeof(o));
        o.st.size = sizeof(o.st);
        o.rc = parex_engine_execute(w.e, &o.hdr, r, ntx, &o.st, &err, blk,
            len, PAREX_EXEC_COMMIT);
        if (o.rc != PAREX_OK) {
            fail_msg("execute: %s", err.message);
        }
        for (j = 0; j < ntx; j++) {
            assert_int_equal(r[j].status, PAREX_TX_SUCCESS);
        }
        free(r);
    }
    assert_int_equal(parex_db_verify(w.db, NULL), PAREX_OK);
    free(blk);
    world_close(&w);
    free(txs);
    free(rs);
    free(ws);
    return o.st.map_probes;
}

static void test_analysis_is_linear_in_declared_keys(void **state)
{
    /* ntx txs of 2 x keys declared keys plus the account; each key is
     * looked up at least once in conflict analysis (parallel) or in the
     * overlay (reference: the prelude, then P_MAXW's puts). A probe
     * count within a small multiple of the lookups means no key waited
     * behind a pile of colliding ones; a 16-byte hash would make it
     * quadratic (here over 100 times the bound). */
    const uint32_t ntx = 64, keys = 256;
    const uint64_t lookups = (uint64_t)ntx * (2 * keys + 1);
    uint64_t p[N_MODES], big;
    int mode;

    (void)state;
    for (mode = 0; mode < N_MODES; mode += 2) {
        p[mode] = probes_for(mode, ntx, keys);
        print_message("# mode %d: %llu probes for %llu lookups\n", mode,
            (unsigned long long)p[mode], (unsigned long long)lookups);
        assert_true(p[mode] >= lookups / 2);
        assert_true(p[mode] <= 4 * lookups);
    }
    /* Four times the keys: about four times the work, not sixteen. */
    big = probes_for(2, 4 * ntx, keys);
    print_message("# 4x the block: %llu probes\n", (unsigned long long)big);
    assert_true(big <= 4 * 4 * lookups);
}

/* ---- a chain the sample cannot see ----------------------------------------- */

/* One block of n txs, built and signed on w: the txs at the sample's
 * places (px__exec_sample_place) write keys of their own, every other tx
 * writes one shared key. The sample sees independent txs (wide by its
 * margin, tests/engine/test_internal.c checks it on this shape), the
 * block is seven eighths one chain. */
static uint8_t *hidden_chain_block(world *w, size_t n, size_t *len,
    uint8_t (**keys)[32], parex_tx **txs_out)
{
    static const uint8_t args[4] = { 8, 0, 0, 0 };
    uint8_t (*k)[32] = calloc(n, 32);
    uint8_t *at = calloc(n, 1);
    parex_tx *txs = calloc(n, sizeof(*txs));
    size_t j, ns = px__exec_sample_size(n);
    uint8_t *blk;

    assert_non_null(k);
    assert_non_null(at);
    assert_non_null(txs);
    /* A block too small for a sample is one chain. */
    assert_true(ns > 0 || n < 128);
    for (j = 0; j < ns; j++) {
        at[px__exec_sample_place(n, j)] = 1;
    }
    for (j = 0; j < n; j++) {
        char name[32];
        int s = (int)(j % N_SENDERS);
        if (at[j]) {
            snprintf(name, sizeof(name), "own-%zu", j);
        } else {
            snprintf(name, sizeof(name), "hot");
        }
        txb_named_key(k[j], name);
        txs[j].chain_id = 1;
        txs[j].nonce = w->nonce[s]++;
        txs[j].fee = 1;
        txs[j].program = P_MAXW;
        txs[j].args = args;
        txs[j].args_len = 4;
        txs[j].write_set = k[j];
        txs[j].n_write = 1;
        txb_sign(&txs[j], w->sec[s]);
    }
    blk = block_of(w, len, txs, n);
    free(at);
    *keys = k;
    *txs_out = txs;
    return blk;
}

/* The block on one engine: 0 the reference, 1 the parallel path forced
 * at 2 threads, 2 the default decision at 2 threads (on stage 1's exact
 * count), 3 the same with trusted signatures (no count in stage 1: the
 * sample and the exact analysis decide), 4 as 3 recording the BAL (the
 * recorder cannot count: the analysis counts beside it). The reference
 * records the BAL too, into bal (*bal_len bytes, at most BAL_CAP). */
#define BAL_CAP (1u << 20)
static void hidden_chain_run(int which, const uint8_t *blk, size_t len,
    size_t n, parex_header *hdr, parex_receipt *r, uint8_t digest[32],
    parex_block_stats *st, uint8_t *bal, size_t *bal_len)
{
    world w;
    parex_error_info err;
    unsigned flags = PAREX_EXEC_COMMIT;
    int rc;

    if (which >= 3) {
        flags |= PAREX_EXEC_VERIFIED;
    }
    if (which == 0 || which == 4) {
        flags |= PAREX_EXEC_RECORD_BAL;
    }
    g_width = which >= 2 ? 0 : 1;
    world_open(&w, which == 0 ? 0 : 2, NULL);
    g_width = 1;
    st->size = sizeof(*st);
    rc = parex_engine_execute(w.e, hdr, r, n, st, &err, blk, len, flags);
    if (rc != PAREX_OK) {
        fail_msg("engine %d: %s", which, err.message);
    }
    *bal_len = 0;
    if (flags & PAREX_EXEC_RECORD_BAL) {
        *bal_len = BAL_CAP;
        assert_int_equal(parex_engine_bal(w.e, bal, bal_len), PAREX_OK);
    }
    txb_state_digest(digest, w.db);
    assert_int_equal(parex_db_verify(w.db, NULL), PAREX_OK);
    world_close(&w);
}

/* A block the sample judges wide but which is narrow: stage 1's count
 * says so before any tx runs, and without it the exact analysis finds it
 * out, after the first txs were analysed (n = 80: the first chunk is the
 * chain) or while the txs run (n = 1024); either way the block goes to
 * the reference, with the same results, the same BAL, the exact batch
 * count and the narrow reason. */
static void chain_hidden(size_t n)
{
    enum { RUNS = 5 };
    world w;
    uint8_t (*keys)[32], d[RUNS][32];
    parex_tx *txs;
    parex_header hdr[RUNS];
    parex_block_stats st[RUNS];
    parex_receipt *r[RUNS];
    uint8_t *bal[RUNS];
    size_t bal_len[RUNS];
    size_t len, j;
    uint8_t *blk;
    int i;

    world_open(&w, 0, NULL);
    blk = hidden_chain_block(&w, n, &len, &keys, &txs);
    world_close(&w);
    for (i = 0; i < RUNS; i++) {
        r[i] = calloc(n, sizeof(parex_receipt));
        bal[i] = malloc(BAL_CAP);
        assert_non_null(r[i]);
        assert_non_null(bal[i]);
        memset(&st[i], 0, sizeof(st[i]));
        hidden_chain_run(i, blk, len, n, &hdr[i], r[i], d[i], &st[i],
            bal[i], &bal_len[i]);
    }
    for (i = 1; i < RUNS; i++) {
        /* A block sealed with its recorded BAL has another tx root. */
        int same = i == 4 ? 0 : 1;
        uint8_t x[PAREX_HEADER_BYTES], y[PAREX_HEADER_BYTES];
        parex_header_encode(x, &hdr[same]);
        parex_header_encode(y, &hdr[i]);
        assert_memory_equal(x, y, sizeof(x));
        assert_memory_equal(hdr[0].state_root, hdr[i].state_root, 32);
        assert_memory_equal(hdr[0].receipts_root, hdr[i].receipts_root, 32);
        assert_memory_equal(d[0], d[i], 32);
        for (j = 0; j < n; j++) {
            assert_memory_equal(r[0][j].txid, r[i][j].txid, 32);
            assert_int_equal(r[0][j].status, r[i][j].status);
            assert_true(r[0][j].fee == r[i][j].fee);
        }
    }
    assert_true(bal_len[0] > 0);
    assert_int_equal(bal_len[4], bal_len[0]);
    assert_memory_equal(bal[4], bal[0], bal_len[0]);
    /* Seven eighths of the block on one key. */
    assert_int_equal(st[1].fallback, 0);
    assert_true(st[1].batches >= n - px__exec_sample_size(n));
    for (i = 2; i < RUNS; i++) {
        assert_int_equal(st[i].fallback_reason, PAREX_FALLBACK_NARROW);
        assert_true(st[i].batches == st[1].batches);
        assert_true(st[i].reexecutions == 0);
    }
    for (i = 0; i < RUNS; i++) {
        free(r[i]);
        free(bal[i]);
    }
    free(blk);
    free(txs);
    free(keys);
}

static void test_chain_hidden_from_the_sample(void **state)
{
    (void)state;
    chain_hidden(1024);
}

static void test_chain_hidden_in_the_first_chunk(void **state)
{
    (void)state;
    chain_hidden(80);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duplicate_and_replayed_txs),
        cmocka_unit_test(test_other_chain_id_is_rejected),
        cmocka_unit_test(test_undeclared_keys_in_a_loop),
        cmocka_unit_test(test_max_value_on_every_key),
        cmocka_unit_test(test_analysis_is_linear_in_declared_keys),
        cmocka_unit_test(test_chain_hidden_from_the_sample),
        cmocka_unit_test(test_chain_hidden_in_the_first_chunk),
    };

    return cmocka_run_group_tests_name("hostile", tests, NULL, NULL);
}
