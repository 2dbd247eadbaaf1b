/* Unit tests of `parex bench` arithmetic: the makespan of a batch schedule
 * under greedy list scheduling with barriers, and Zipf sampling. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_makespan_one_batch),
        cmocka_unit_test(test_makespan_greedy_in_block_order),
        cmocka_unit_test(test_makespan_barriers),
        cmocka_unit_test(test_makespan_chain),
        cmocka_unit_test(test_makespan_edges),
        cmocka_unit_test(test_zipf_distribution),
        cmocka_unit_test(test_zipf_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
