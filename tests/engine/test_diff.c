/* Differential test: the parallel engine at 1..4 threads against the
 * sequential reference executor on random blocks — random contention,
 * failing programs, unknown programs, random and wrong declarations,
 * and invalid blocks. State roots, headers, receipts, rejections and
 * finally the full state dump must be identical.
 *
 * Prints its seed; rerun with --seed=N. PAREX_TEST_ITERS scales it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blockgen.h"
#include "testutil.h"

/* [0] sequential reference, [1..4] parallel at 1..4 threads on the parallel
 * path, [5] 2 threads with the default min_batch_width: narrow blocks take
 * the sequential fallback with the analysis overlapped, [6] 1 thread with
 * the default: every block on the reference, which counts the batches. */
#define N_ENG 7
#define PROFILED(i) ((i) % 2 == 1 || (i) == 6)

static uint64_t g_seed;

typedef struct world {
    char *dir[N_ENG];
    parex_db *db[N_ENG];
    parex_engine *e[N_ENG];
} world;

static void open_world(world *w, bg_world *bw)
{
    parex_kv *kvs;
    size_t n, i;

    bg_genesis(bw, &kvs, &n, 1000000000000ULL);
    for (i = 0; i < N_ENG; i++) {
        parex_header computed, stored;
        parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
        parex_db_options dbo = { .size = sizeof(parex_db_options),
            .map_size = 0, .sync = PAREX_SYNC_NONE, .read_only = 0 };
        w->dir[i] = tu_tmpdir();
        assert_int_equal(parex_db_open(&w->db[i], NULL, w->dir[i], &dbo),
            PAREX_OK);
        assert_int_equal(parex_db_genesis(w->db[i], NULL, kvs, n,
                             bw->fee_recipient), PAREX_OK);
        /* The store-less genesis header is the one the store wrote. */
        assert_int_equal(parex_genesis_header(&computed, kvs, n,
                             bw->fee_recipient), PAREX_OK);
        assert_int_equal(parex_db_head(w->db[i], &stored), PAREX_OK);
        assert_memory_equal(computed.state_root, stored.state_root, 32);
        assert_memory_equal(computed.tx_root, stored.tx_root, 32);
        assert_int_equal(computed.height, 0);
        parex_engine_options_default(&o);
        o.sequential = i == 0;
        o.threads = i == 0 || i == 6 ? 1 : i == 5 ? 2 : (unsigned)i;
        o.min_batch_width = i >= 5 ? 0 : 1;
        o.profile = PROFILED(i); /* profiling must not change results */
        assert_int_equal(parex_engine_create(&w->e[i], w->db[i], &o),
            PAREX_OK);
        assert_int_equal(bg_register(w->e[i]), PAREX_OK);
    }
    bg_genesis_free(kvs, n);
}

static void close_world(world *w)
{
    tu_close_engines(w->e, w->db, w->dir, N_ENG);
}

static void compare_dumps(world *w)
{
    tu_assert_same_state(w->db, N_ENG, (unsigned long long)g_seed);
}

static int receipts_equal(const parex_receipt *a, const parex_receipt *b,
    size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (memcmp(a[i].txid, b[i].txid, 32) != 0 ||
            a[i].status != b[i].status || a[i].code != b[i].code ||
            a[i].fee != b[i].fee) {
            return 0;
        }
    }
    return 1;
}

/* The per-tx profile agrees with the block's counters. */
static void check_profile(parex_engine *e, const parex_block_stats *st,
    int profiling)
{
    const parex_tx_profile *p;
    size_t n, i;
    uint64_t inc = 0, maxb = 0;
    int rc = parex_engine_profile(e, &p, &n);

    if (!profiling) {
        assert_int_equal(rc, PAREX_E_MISUSE);
        assert_null(p);
        return;
    }
    assert_int_equal(rc, PAREX_OK);
    assert_int_equal(n, st->txs);
    for (i = 0; i < n; i++) {
        assert_true(p[i].incarnations >= 1);
        assert_true(p[i].batch < st->batches);
        inc += p[i].incarnations;
        maxb = p[i].batch > maxb ? p[i].batch : maxb;
    }
    assert_int_equal(inc, n + st->reexecutions);
    if (n > 0) {
        assert_int_equal(maxb + 1, st->batches);
    }
}

static void run_chain(unsigned blocks, size_t max_txs, double contention,
    double decl, int with_bad, uint64_t seed)
{
    world w;
    bg_world bw;
    tu_rng rng;
    parex_header parent;
    uint64_t *used;
    unsigned b;
    size_t i;
    parex_receipt *rc_buf[N_ENG];
    uint64_t reexec = 0, escaped = 0, rejected = 0, bounded = 0;

    tu_rng_seed(&rng, seed);
    bg_world_init(&bw, 24, 64);
    used = calloc(bw.n_senders, sizeof(*used));
    open_world(&w, &bw);
    assert_int_equal(parex_db_head(w.db[0], &parent), PAREX_OK);
    for (i = 0; i < N_ENG; i++) {
        rc_buf[i] = calloc(max_txs + 1, sizeof(parex_receipt));
    }
    for (b = 0; b < blocks; b++) {
        size_t n = (size_t)tu_rng_below(&rng, max_txs + 1), len;
        int bad = with_bad && tu_rng_below(&rng, 8) == 0
            ? 1 + (int)tu_rng_below(&rng, BG_KINDS - 1) : BG_VALID;
        double c = contention < 0 ? (double)tu_rng_below(&rng, 101) / 100
                                  : contention;
        int64_t bad_index;
        uint8_t *blk;
        parex_header hdr[N_ENG];
        parex_error_info err[N_ENG];
        parex_block_stats st = PAREX_BLOCK_STATS_INIT;
        int rc[N_ENG];
        uint64_t batches[N_ENG];

        if (n == 0) {
            bad = BG_VALID;
        }
        blk = bg_block(&bw, &rng, &parent, n, c, decl, bad, &len, used,
            &bad_index);
        for (i = 0; i < N_ENG; i++) {
            parex_header before, after;
            assert_int_equal(parex_db_head(w.db[i], &before), PAREX_OK);
            rc[i] = parex_engine_execute(w.e[i], &hdr[i], rc_buf[i],
                max_txs + 1, &st, &err[i], blk, len, PAREX_EXEC_COMMIT);
            batches[i] = st.batches;
            /* A fallback is always explained, and only by what the
             * engine's options allow. */
            if (rc[i] == PAREX_OK) {
                assert_int_equal(st.fallback != 0,
                    st.fallback_reason != PAREX_FALLBACK_NONE);
                if (i == 0) {
                    assert_int_equal(st.fallback, 0);
                } else if (i == 6) {
                    assert_int_equal(st.fallback_reason,
                        PAREX_FALLBACK_ONE_THREAD);
                } else if (i <= 4) {
                    assert_true(st.fallback_reason == PAREX_FALLBACK_NONE ||
                        st.fallback_reason == PAREX_FALLBACK_WORK_BOUND);
                } else {
                    assert_true(st.fallback_reason != PAREX_FALLBACK_ONE_THREAD);
                }
            }
            if (i > 0) {
                reexec += st.reexecutions;
                escaped += st.escaped;
            }
            /* With 2+ threads and verified signatures, stage 1 counts the
             * batches and analyses a block that runs in parallel: the
             * execution stage then analyses nothing. */
            if (rc[i] == PAREX_OK && i >= 2 && i <= 5 && n > 0) {
                assert_true(st.stage1_analysis_ns > 0);
                if (!st.fallback) {
                    assert_true(st.analysis_ns == 0);
                }
            }
            if (rc[i] == PAREX_OK && (i < 2 || i == 6)) {
                assert_true(st.stage1_analysis_ns == 0);
            }
            /* On the forced parallel path a fallback means the version-list
             * work bound handed the block to the reference. */
            if (i >= 1 && i <= 4 && rc[i] == PAREX_OK && st.fallback) {
                bounded++;
            }
            if (rc[i] == PAREX_OK) {
                check_profile(w.e[i], &st, PROFILED(i));
            }
            if (rc[i] != PAREX_OK) {
                /* A rejected block leaves state exactly as before. */
                assert_int_equal(parex_db_head(w.db[i], &after), PAREX_OK);
                assert_memory_equal(&before, &after, sizeof(before));
            }
        }
        if (bad != BG_VALID) {
            if (rc[0] != PAREX_E_BLOCK || err[0].tx_index != bad_index) {
                fail_msg("block %u: injected corruption %d at tx %lld, "
                    "reference returned %s at tx %lld: %s (seed %llu)", b,
                    bad, (long long)bad_index, parex_errname(rc[0]),
                    (long long)err[0].tx_index, err[0].message,
                    (unsigned long long)g_seed);
            }
            rejected++;
        } else if (rc[0] != PAREX_OK) {
            fail_msg("block %u: reference rejected a valid block: %s "
                "(seed %llu)", b, err[0].message, (unsigned long long)g_seed);
        }
        for (i = 1; i < N_ENG; i++) {
            if (rc[i] != rc[0] || err[i].reject != err[0].reject ||
                err[i].tx_index != err[0].tx_index ||
                strcmp(err[i].field, err[0].field) != 0) {
                fail_msg("block %u: %zu threads: %s/%s tx %lld, reference "
                    "%s/%s tx %lld (seed %llu)", b, i, parex_errname(rc[i]),
                    parex_reject_name(err[i].reject),
                    (long long)err[i].tx_index, parex_errname(rc[0]),
                    parex_reject_name(err[0].reject),
                    (long long)err[0].tx_index, (unsigned long long)g_seed);
            }
            /* Conflict analysis is exact on either path. */
            if (rc[0] == PAREX_OK && batches[i] != batches[1]) {
                fail_msg("block %u: %zu: %llu batches, engine 1: %llu "
                    "(seed %llu)", b, i, (unsigned long long)batches[i],
                    (unsigned long long)batches[1],
                    (unsigned long long)g_seed);
            }
            if (rc[0] == PAREX_OK &&
                (memcmp(&hdr[i], &hdr[0], sizeof(hdr[0])) != 0 ||
                    !receipts_equal(rc_buf[i], rc_buf[0], n))) {
                fail_msg("block %u (%zu txs, contention %.2f): %zu threads: "
                    "header or receipts differ from the reference "
                    "(seed %llu)", b, n, c, i, (unsigned long long)g_seed);
            }
        }
        if (rc[0] == PAREX_OK) {
            for (i = 0; i < bw.n_senders; i++) {
                bw.nonce[i] += used[i];
            }
            parent = hdr[0];
        }
        free(blk);
        if (b % 50 == 49) {
            compare_dumps(&w);
        }
    }
    compare_dumps(&w);
    printf("# %u blocks: %llu escaped txs, %llu re-executions, %llu "
        "rejected blocks, %llu runs past the work bound\n", blocks,
        (unsigned long long)escaped, (unsigned long long)reexec,
        (unsigned long long)rejected, (unsigned long long)bounded);
    for (i = 0; i < N_ENG; i++) {
        free(rc_buf[i]);
    }
    close_world(&w);
    free(used);
    bg_world_finish(&bw);
}

static void test_exact_declarations_match_reference(void **state)
{
    (void)state;
    run_chain(tu_iters(500), 40, -1.0, 0.0, 0, g_seed);
}

static void test_wrong_declarations_match_reference(void **state)
{
    (void)state;
    run_chain(tu_iters(700), 40, -1.0, 0.5, 0, g_seed + 1);
}

static void test_all_wrong_high_contention_match_reference(void **state)
{
    (void)state;
    run_chain(tu_iters(300), 64, 0.9, 1.0, 0, g_seed + 2);
}

static void test_invalid_blocks_rejected_identically(void **state)
{
    (void)state;
    run_chain(tu_iters(600), 24, -1.0, 0.3, 1, g_seed + 3);
}

/* Blocks far past the first analysed chunk (64 txs): the rest of the
 * analysis overlaps execution (or the sequential fallback); the apply runs
 * on every worker. */
static void test_large_blocks_match_reference(void **state)
{
    (void)state;
    run_chain(tu_iters(40) / 4 + 1, 600, -1.0, 0.2, 0, g_seed + 4);
    run_chain(tu_iters(40) / 4 + 1, 1200, 0.0, 0.0, 0, g_seed + 5);
    run_chain(tu_iters(40) / 4 + 1, 1200, 0.3, 0.5, 0, g_seed + 6);
    /* Invalid blocks past the parallel apply's threshold (256 txs). */
    run_chain(tu_iters(40) / 2 + 1, 600, -1.0, 0.2, 1, g_seed + 7);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_declarations_match_reference),
        cmocka_unit_test(test_wrong_declarations_match_reference),
        cmocka_unit_test(test_all_wrong_high_contention_match_reference),
        cmocka_unit_test(test_invalid_blocks_rejected_identically),
        cmocka_unit_test(test_large_blocks_match_reference),
    };
    g_seed = tu_seed(argc, argv);
    return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
