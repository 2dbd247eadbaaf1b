/* Unit tests of `parex bench` arithmetic: the makespan of a batch schedule
 * under greedy list scheduling with barriers, the dependency graph of a
 * block and its list-scheduling makespan, Zipf sampling, the list of
 * sequential Ethereum blocks, and the --tx-work chain and programs (the
 * same state as the built-ins). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static uint64_t span(const uint32_t *batch, const uint64_t *ns, size_t n,
    unsigned threads)
{
    uint64_t scratch[2 * 64 + 64 + 1];

    assert_true(2 * n + threads + 1 <= sizeof(scratch) / sizeof(scratch[0]));
    return px_bench_makespan(batch, ns, n, threads, scratch);
}

static void test_makespan_one_batch(void **state)
{
    uint32_t batch[4] = {0, 0, 0, 0};
    uint64_t ns[4] = {10, 10, 10, 10};

    (void)state;
    assert_int_equal(span(batch, ns, 4, 1), 40);
    assert_int_equal(span(batch, ns, 4, 2), 20);
    assert_int_equal(span(batch, ns, 4, 4), 10);
    /* More workers than txs: the longest tx. */
    assert_int_equal(span(batch, ns, 4, 64), 10);
}

static void test_makespan_greedy_in_block_order(void **state)
{
    /* Block order 7, 5, 4, 3, 3 on 2 workers: 7 | 5, then 4 goes to the
     * worker free at 5, then 3 to the one free at 7 (-> 10), 3 to the one
     * free at 9 (-> 12). An optimal (LPT-aware) split would give 11. */
    uint32_t batch[5] = {0, 0, 0, 0, 0};
    uint64_t ns[5] = {7, 5, 4, 3, 3};

    (void)state;
    assert_int_equal(span(batch, ns, 5, 2), 12);
}

static void test_makespan_barriers(void **state)
{
    /* Batches {0: 8, 2}, {1: 3, 3, 3}: a barrier after each batch, so 8
     * then 6 on 2 workers = 14 (without barriers it would be 10). Txs of a
     * batch need not be adjacent in the block. */
    uint32_t batch[5] = {0, 1, 0, 1, 1};
    uint64_t ns[5] = {8, 3, 2, 3, 3};

    (void)state;
    assert_int_equal(span(batch, ns, 5, 2), 14);
    assert_int_equal(span(batch, ns, 5, 3), 11);
    assert_int_equal(span(batch, ns, 5, 1), 19);
}

static void test_makespan_chain(void **state)
{
    /* A fully sequential block (one tx per batch) never speeds up. */
    uint32_t batch[6] = {0, 1, 2, 3, 4, 5};
    uint64_t ns[6] = {1, 2, 3, 4, 5, 6};

    (void)state;
    assert_int_equal(span(batch, ns, 6, 1), 21);
    assert_int_equal(span(batch, ns, 6, 32), 21);
}

static void test_makespan_edges(void **state)
{
    uint32_t batch[2] = {0, 5};
    uint64_t ns[2] = {1, 1};

    (void)state;
    assert_int_equal(span(batch, ns, 0, 4), 0);
    assert_int_equal(span(batch, ns, 2, 0), 0);
    /* A batch number >= n cannot come from conflict analysis. */
    assert_int_equal(span(batch, ns, 2, 4), 0);
}

/* ---- the dependency graph and its makespan ---------------------------- */

/* A graph from explicit predecessor lists: preds[j] ends with -1. */
static void dag_of(bench_dag *d, size_t *off, uint32_t *pred, size_t n,
    const int preds[][4])
{
    size_t j, k, m = 0;

    d->n = n;
    d->off = off;
    d->pred = pred;
    for (j = 0; j < n; j++) {
        off[j] = m;
        for (k = 0; k < 4 && preds[j][k] >= 0; k++) {
            pred[m++] = (uint32_t)preds[j][k];
        }
    }
    off[n] = m;
}

static void test_dag_chain(void **state)
{
    const int preds[4][4] = { {-1}, {0, -1}, {1, -1}, {2, -1} };
    uint64_t ns[4] = {1, 2, 3, 4};
    size_t off[5];
    uint32_t pred[16];
    bench_dag d;

    (void)state;
    dag_of(&d, off, pred, 4, preds);
    /* A chain runs one tx at a time on any number of workers. */
    assert_int_equal(px_bench_dag_makespan(&d, ns, 1), 10);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 10);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 64), 10);
    assert_int_equal(px_bench_dag_depth(&d), 4);
}

static void test_dag_independent(void **state)
{
    /* No edges: plain greedy list scheduling in block order. 7 | 5; 4 to
     * the worker free at 5 (-> 9); 3 to the one free at 7 (-> 10); 3 to
     * the one free at 9 (-> 12). */
    const int preds[5][4] = { {-1}, {-1}, {-1}, {-1}, {-1} };
    uint64_t ns[5] = {7, 5, 4, 3, 3};
    size_t off[6];
    uint32_t pred[16];
    bench_dag d;

    (void)state;
    dag_of(&d, off, pred, 5, preds);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 1), 22);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 12);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 5), 7);
    assert_int_equal(px_bench_dag_depth(&d), 1);
}

static void test_dag_diamond(void **state)
{
    /* a(1) -> b(2), c(3) -> d(1): on 2 workers a, then b and c side by
     * side, d after c: 1 + 3 + 1 = 5; on 1 worker the sum, 7. */
    const int preds[4][4] = { {-1}, {0, -1}, {0, -1}, {1, 2, -1} };
    uint64_t ns[4] = {1, 2, 3, 1};
    size_t off[5];
    uint32_t pred[16];
    bench_dag d;

    (void)state;
    dag_of(&d, off, pred, 4, preds);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 1), 7);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 5);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 8), 5);
    assert_int_equal(px_bench_dag_depth(&d), 3);
}

static void test_dag_no_barriers(void **state)
{
    /* tx0(8) alone, tx1(2) -> tx2(2). The batch schedule waits for tx0
     * before tx2 (8 + 2 = 10); the graph runs tx2 right after tx1: 8. */
    const int preds[3][4] = { {-1}, {-1}, {1, -1} };
    uint32_t batch[3] = {0, 0, 1};
    uint64_t ns[3] = {8, 2, 2};
    uint64_t scratch[2 * 3 + 2 + 1];
    size_t off[4];
    uint32_t pred[8];
    bench_dag d;

    (void)state;
    dag_of(&d, off, pred, 3, preds);
    assert_int_equal(px_bench_makespan(batch, ns, 3, 2, scratch), 10);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 8);
}

static void test_dag_block_order_priority(void **state)
{
    /* tx0(2) -> tx1(10); tx2, tx3, tx4 (1 each) independent. 2 workers:
     * t0 tx0, tx2; t1 tx3; t2 tx0 and tx3 done, ready {1, 4}: the lower
     * index, tx1, starts (-> 12) beside tx4 (-> 3). A zero-cost tx takes
     * no time. */
    const int preds[5][4] = { {-1}, {0, -1}, {-1}, {-1}, {-1} };
    uint64_t ns[5] = {2, 10, 1, 1, 1};
    uint64_t zero[5] = {0, 0, 0, 0, 0};
    size_t off[6];
    uint32_t pred[8];
    bench_dag d;

    (void)state;
    dag_of(&d, off, pred, 5, preds);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 12);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 1), 15);
    assert_int_equal(px_bench_dag_makespan(&d, zero, 2), 0);
}

static void test_dag_edges(void **state)
{
    const int fwd[2][4] = { {1, -1}, {-1} };
    uint64_t ns[2] = {1, 1};
    size_t off[3];
    uint32_t pred[4];
    bench_dag d;

    (void)state;
    dag_of(&d, off, pred, 2, fwd);
    /* An edge to a later tx cannot come from the block order. */
    assert_int_equal(px_bench_dag_check(&d), -1);
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 0);
    assert_int_equal(px_bench_dag_depth(&d), 0);
    d.n = 0;
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 0);
    d.n = 1;
    assert_int_equal(px_bench_dag_makespan(&d, ns, 0), 0);
}

/* A tx with the given sender byte and sets (keys: 32 copies of a byte). */
static void tx_of(parex_tx *tx, uint8_t *keys, uint8_t sender,
    const char *reads, const char *writes)
{
    size_t i, nr = strlen(reads), nw = strlen(writes);

    memset(tx, 0, sizeof(*tx));
    memset(tx->sender, sender, 32);
    for (i = 0; i < nr; i++) {
        memset(keys + 32 * i, reads[i], 32);
    }
    for (i = 0; i < nw; i++) {
        memset(keys + 32 * (nr + i), writes[i], 32);
    }
    tx->read_set = keys;
    tx->n_read = (uint32_t)nr;
    tx->write_set = keys + 32 * nr;
    tx->n_write = (uint32_t)nw;
}

static void preds_are(const bench_dag *d, size_t j, const char *want)
{
    char got[16];
    size_t p, m = 0;

    for (p = d->off[j]; p < d->off[j + 1] && m < sizeof(got) - 1; p++) {
        got[m++] = (char)('0' + d->pred[p]);
    }
    got[m] = '\0';
    /* The order is the one of discovery: the key's last writer, then its
     * readers since, latest first (the schedule does not depend on it). */
    assert_string_equal(got, want);
}

static void test_dag_build(void **state)
{
    /* 0 writes A; 1 and 2 read A; 3 writes A (after 0, and after the
     * readers 1 and 2); 4 reads B only; 5 reads A (after 3); 6 has the
     * sender of 4 (its account: write after write). */
    uint8_t keys[7][32 * 2];
    parex_tx txs[7];
    uint64_t ns[7] = {1, 1, 1, 1, 1, 1, 1};
    bench_dag d;

    (void)state;
    tx_of(&txs[0], keys[0], 10, "", "A");
    tx_of(&txs[1], keys[1], 11, "A", "");
    tx_of(&txs[2], keys[2], 12, "A", "");
    tx_of(&txs[3], keys[3], 13, "", "A");
    tx_of(&txs[4], keys[4], 14, "B", "");
    tx_of(&txs[5], keys[5], 15, "A", "");
    tx_of(&txs[6], keys[6], 14, "", "");
    px_bench_dag_build(&d, txs, 7);
    assert_int_equal(d.n, 7);
    assert_int_equal(px_bench_dag_check(&d), 0);
    preds_are(&d, 0, "");
    preds_are(&d, 1, "0");
    preds_are(&d, 2, "0");
    preds_are(&d, 3, "021");
    preds_are(&d, 4, "");
    preds_are(&d, 5, "3");
    preds_are(&d, 6, "4");
    /* 0 -> 1 -> 3 -> 5. */
    assert_int_equal(px_bench_dag_depth(&d), 4);
    /* 2 workers: t0 {0, 4}; t1 ready {1, 2, 6}, the lowest two start;
     * t2 {3, 6}; t3 {5}: 4. */
    assert_int_equal(px_bench_dag_makespan(&d, ns, 2), 4);
    px_bench_dag_release(&d);
    assert_null(d.off);

    /* Reads alone never conflict; every tx of one sender does. */
    tx_of(&txs[0], keys[0], 1, "AB", "");
    tx_of(&txs[1], keys[1], 2, "AB", "");
    tx_of(&txs[2], keys[2], 3, "A", "");
    px_bench_dag_build(&d, txs, 3);
    assert_int_equal(px_bench_dag_depth(&d), 1);
    px_bench_dag_release(&d);
    tx_of(&txs[0], keys[0], 1, "", "");
    tx_of(&txs[1], keys[1], 1, "", "");
    tx_of(&txs[2], keys[2], 1, "", "");
    px_bench_dag_build(&d, txs, 3);
    assert_int_equal(px_bench_dag_depth(&d), 3);
    px_bench_dag_release(&d);
}

static void test_zipf_distribution(void **state)
{
    enum { N = 100, DRAWS = 200000 };
    bench_zipf z;
    node_rng r;
    size_t *count = calloc(N, sizeof(size_t));
    size_t i;
    double h = 0.0;

    (void)state;
    assert_non_null(count);
    px_bench_zipf_init(&z, N, 1.0);
    node_rng_init(&r, 42, 0);
    for (i = 0; i < DRAWS; i++) {
        size_t k = px_bench_zipf_draw(&z, node_rng_next(&r));
        assert_true(k < N);
        count[k]++;
    }
    for (i = 0; i < N; i++) {
        h += 1.0 / (double)(i + 1);
    }
    /* P(rank 0) = 1 / H_100 ~ 0.193; rank 1 half of it; within 5%. */
    assert_true(fabs((double)count[0] / DRAWS - 1.0 / h) < 0.05 / h);
    assert_true(fabs((double)count[1] / count[0] - 0.5) < 0.05);
    assert_true(count[N - 1] > 0);
    px_bench_zipf_release(&z);
    free(count);
}

static void test_zipf_bounds(void **state)
{
    bench_zipf z;

    (void)state;
    px_bench_zipf_init(&z, 3, 2.0);
    /* u = 0 is the first rank, the largest draw the last. */
    assert_int_equal(px_bench_zipf_draw(&z, 0), 0);
    assert_int_equal(px_bench_zipf_draw(&z, UINT64_MAX), 2);
    /* cdf: 1, 1.25, 1.3611 over 1.3611: 0.7347, 0.9184, 1. */
    assert_int_equal(px_bench_zipf_draw(&z, (uint64_t)(0.73 * 18446744073709551615.0)), 0);
    assert_int_equal(px_bench_zipf_draw(&z, (uint64_t)(0.74 * 18446744073709551615.0)), 1);
    assert_int_equal(px_bench_zipf_draw(&z, (uint64_t)(0.92 * 18446744073709551615.0)), 2);
    px_bench_zipf_release(&z);
}

static void test_seq_listed(void **state)
{
    (void)state;
    assert_int_equal(px_bench_seq_listed("ethereum/5891667.jsonl"), 1);
    assert_int_equal(px_bench_seq_listed("ethereum/15274915.jsonl"), 1);
    assert_int_equal(px_bench_seq_listed("ethereum/16257471.jsonl"), 0);
    /* Only Ethereum's, and the whole number. */
    assert_int_equal(px_bench_seq_listed("bitcoin/5891667.jsonl"), 0);
    assert_int_equal(px_bench_seq_listed("ethereum/58916670.jsonl"), 0);
    assert_int_equal(px_bench_seq_listed("ethereum/589166.jsonl"), 0);
}

static void test_work_chain(void **state)
{
    uint8_t seed[32], h1[32], h2[32], out[32];

    (void)state;
    memset(seed, 7, 32);
    parex_sha256(h1, seed, 32);
    parex_sha256(h2, h1, 32);
    px_bench_work_chain(out, seed, 0);
    assert_memory_equal(out, seed, 32);
    px_bench_work_chain(out, seed, 1);
    assert_memory_equal(out, h1, 32);
    px_bench_work_chain(out, seed, 2);
    assert_memory_equal(out, h2, 32);
    /* In place. */
    memcpy(out, seed, 32);
    px_bench_work_chain(out, out, 2);
    assert_memory_equal(out, h2, 32);
    assert_int_equal(px_bench_work_calibrate(0), 0);
    assert_true(px_bench_work_calibrate(0.001) >= 1);
}

/* ---- --tx-work: the bench's programs against the built-ins ------------ */

typedef struct work_block {
    uint8_t sec[32], pub[32], acct[32];
    uint8_t b_pub[32], c_pub[32], d_pub[32];
    uint8_t b_key[32], c_key[32], d_key[32], k1[32], k2[32];
    uint8_t b_val[16], a_val[16];
    uint8_t c_val[5];
    parex_kv kv[3];
    node_txbytes txs[9];
    size_t ntx;
} work_block;

/* The n 32-byte keys k[] copied into out in ascending order (insertion
 * sort); returns n. */
static uint32_t keys_sorted(uint8_t *out, const uint8_t *const *k, size_t n)
{
    size_t i, j;

    for (i = 0; i < n; i++) {
        memcpy(out + 32 * i, k[i], 32);
    }
    for (i = 1; i < n; i++) {
        for (j = i; j > 0 && memcmp(out + 32 * (j - 1), out + 32 * j,
                32) > 0; j--) {
            uint8_t t[32];
            memcpy(t, out + 32 * j, 32);
            memcpy(out + 32 * j, out + 32 * (j - 1), 32);
            memcpy(out + 32 * (j - 1), t, 32);
        }
    }
    return (uint32_t)n;
}

static void add_tx(work_block *wb, uint32_t program, const uint8_t *args,
    uint32_t args_len, const uint8_t *const *ws, size_t nws)
{
    char err[NODE_ERR_LEN];
    uint8_t wset[32 * 4];
    parex_tx tx;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = 1;
    tx.nonce = wb->ntx;
    tx.fee = 1;
    tx.program = program;
    tx.args = args_len == 0 ? NULL : args;
    tx.args_len = args_len;
    tx.n_write = keys_sorted(wset, ws, nws);
    tx.write_set = nws == 0 ? NULL : wset;
    assert_int_equal(parex_tx_sign(&tx, wb->sec), PAREX_OK);
    assert_int_equal(node_tx_encode(&wb->txs[wb->ntx], err, "test", &tx), 0);
    wb->ntx++;
}

/* One block from one sender: every failure of the transfer program
 * (overflow, insufficient balance, bad args, a recipient whose value is
 * not an account), a transfer to oneself, a good one, a malformed and a
 * good trace, and an unknown program. */
static void work_block_init(work_block *wb)
{
    uint8_t args[64], targs[4 + 1 + 4 + 32 + 4 + 32];
    const uint8_t *ws[2];

    memset(wb, 0, sizeof(*wb));
    node_key_from_str(wb->sec, wb->pub, "bench-test/a");
    node_key_from_str(args, wb->b_pub, "bench-test/b");
    node_key_from_str(args, wb->c_pub, "bench-test/c");
    node_key_from_str(args, wb->d_pub, "bench-test/d");
    parex_account_key(wb->acct, wb->pub);
    parex_account_key(wb->b_key, wb->b_pub);
    parex_account_key(wb->c_key, wb->c_pub);
    parex_account_key(wb->d_key, wb->d_pub);
    memset(wb->k1, 0x11, 32);
    memset(wb->k2, 0x22, 32);
    parex_account_encode(wb->a_val, 1000, 0);
    parex_account_encode(wb->b_val, UINT64_MAX - 5, 0);
    memcpy(wb->kv[0].key, wb->acct, 32);
    wb->kv[0].value = wb->a_val;
    wb->kv[0].value_len = 16;
    memcpy(wb->kv[1].key, wb->b_key, 32);
    wb->kv[1].value = wb->b_val;
    wb->kv[1].value_len = 16;
    memcpy(wb->kv[2].key, wb->c_key, 32);
    wb->kv[2].value = wb->c_val;
    wb->kv[2].value_len = sizeof(wb->c_val);

    ws[0] = wb->acct;
    ws[1] = wb->b_key;
    parex_transfer_args(args, wb->b_pub, 10);          /* overflow */
    add_tx(wb, PAREX_PROGRAM_TRANSFER, args, 40, ws, 2);
    ws[1] = wb->d_key;
    parex_transfer_args(args, wb->d_pub, 5000);        /* insufficient */
    add_tx(wb, PAREX_PROGRAM_TRANSFER, args, 40, ws, 2);
    add_tx(wb, PAREX_PROGRAM_TRANSFER, args, 39, ws, 2); /* bad args */
    parex_transfer_args(args, wb->pub, 1);             /* to oneself */
    add_tx(wb, PAREX_PROGRAM_TRANSFER, args, 40, ws, 1);
    ws[1] = wb->c_key;
    parex_transfer_args(args, wb->c_pub, 1);           /* not an account */
    add_tx(wb, PAREX_PROGRAM_TRANSFER, args, 40, ws, 2);
    ws[1] = wb->d_key;
    parex_transfer_args(args, wb->d_pub, 7);           /* moves 7 */
    add_tx(wb, PAREX_PROGRAM_TRANSFER, args, 40, ws, 2);
    add_tx(wb, PAREX_PROGRAM_TRACE, args, 3, ws, 1);   /* bad trace args */
    /* id "x", R = {k1}, W = {k2}. */
    memcpy(targs, "\1\0\0\0x\1\0\0\0", 9);
    memcpy(targs + 9, wb->k1, 32);
    memcpy(targs + 41, "\1\0\0\0", 4);
    memcpy(targs + 45, wb->k2, 32);
    ws[1] = wb->k2;
    add_tx(wb, PAREX_PROGRAM_TRACE, targs, sizeof(targs), ws, 2);
    add_tx(wb, 300, args, 40, ws, 1);                  /* unknown */
}

static void test_work_programs(void **state)
{
    work_block wb;
    node_txbytes *blocks[1];
    size_t ntx[1];
    bench_work w;
    bench_exec_cfg c;
    bench_run ref, run;
    int seq, work;

    (void)state;
    work_block_init(&wb);
    memset(&w, 0, sizeof(w));
    w.workload = "test";
    snprintf(w.label, sizeof(w.label), "work programs");
    w.nkv = 3;
    w.kvs = wb.kv;
    memcpy(w.fee, wb.d_pub, 32);
    w.nblocks = 1;
    ntx[0] = wb.ntx;
    blocks[0] = wb.txs;
    w.ntx = ntx;
    w.txs = blocks;
    memset(&c, 0, sizeof(c));
    c.sync = PAREX_SYNC_NONE;
    c.sequential = 1;
    c.threads = 1;
    px_bench_execute(&ref, &w, &c);
    /* 0, 1, 2, 4 and 6 fail; 8 has an unknown program. */
    assert_int_equal(ref.failed, 6);
    for (seq = 0; seq < 2; seq++) {
        for (work = 0; work < 2; work++) {
            w.work_hashes = work ? 3 : 0;
            c.sequential = seq;
            c.threads = seq ? 1 : 2;
            c.min_batch_width = 1;
            px_bench_execute(&run, &w, &c);
            assert_int_equal(run.failed, ref.failed);
            assert_memory_equal(run.root, ref.root, 32);
        }
    }
    for (ntx[0] = 0; ntx[0] < wb.ntx; ntx[0]++) {
        free(wb.txs[ntx[0]].p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_makespan_one_batch),
        cmocka_unit_test(test_makespan_greedy_in_block_order),
        cmocka_unit_test(test_makespan_barriers),
        cmocka_unit_test(test_makespan_chain),
        cmocka_unit_test(test_makespan_edges),
        cmocka_unit_test(test_dag_chain),
        cmocka_unit_test(test_dag_independent),
        cmocka_unit_test(test_dag_diamond),
        cmocka_unit_test(test_dag_no_barriers),
        cmocka_unit_test(test_dag_block_order_priority),
        cmocka_unit_test(test_dag_edges),
        cmocka_unit_test(test_dag_build),
        cmocka_unit_test(test_seq_listed),
        cmocka_unit_test(test_work_chain),
        cmocka_unit_test(test_work_programs),
        cmocka_unit_test(test_zipf_distribution),
        cmocka_unit_test(test_zipf_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
