/* Engine internals that the public API cannot reach on their own: the
 * change-set sort (bucket path only runs on blocks of 1,024+ changed keys,
 * larger than the differential test's blocks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_int.h"
#include "testutil.h"

static int cmp_key(const void *a, const void *b)
{
    return memcmp(((const px__change *)a)->key, ((const px__change *)b)->key,
        32);
}

/* Sorts n changes whose keys share their first `shared` bytes, and checks
 * the result against qsort: same sequence, every value still with its key. */
static void check_sort(size_t n, size_t shared, uint64_t seed)
{
    px__result r;
    px__change *ref;
    uint8_t *keys = malloc(32 * n);
    tu_rng rng;
    size_t i, k;

    assert_non_null(keys);
    tu_rng_seed(&rng, seed);
    px__result_init(&r);
    for (i = 0; i < n; i++) {
        for (k = 0; k < 32; k++) {
            keys[32 * i + k] = k < shared ? 0xab
                : (uint8_t)tu_rng_below(&rng, 256);
        }
        /* The value points at its own key: pairs must move together. */
        assert_int_equal(px__result_push(&r, keys + 32 * i, keys + 32 * i,
                             32, (int)(i % 7 == 0)), PAREX_OK);
    }
    ref = malloc(n > 0 ? n * sizeof(*ref) : 1);
    assert_non_null(ref);
    if (n > 0) { /* r.changes is NULL for an empty set */
        memcpy(ref, r.changes, n * sizeof(*ref));
        qsort(ref, n, sizeof(*ref), cmp_key);
    }
    px__result_sort(&r);
    assert_int_equal(r.n_changes, n);
    for (i = 0; i < n; i++) {
        assert_ptr_equal(r.changes[i].key, ref[i].key);
        assert_int_equal(r.changes[i].del, ref[i].del);
        if (!r.changes[i].del) {
            assert_ptr_equal(r.changes[i].val, r.changes[i].key);
        }
        if (i > 0) {
            assert_true(memcmp(r.changes[i - 1].key, r.changes[i].key, 32)
                < 0);
        }
    }
    free(ref);
    px__result_release(&r);
    px__arena_finish(&r.arena);
    free(keys);
}

static void test_sort_small_sets(void **state)
{
    (void)state;
    check_sort(0, 0, 1);
    check_sort(1, 0, 2);
    check_sort(16, 0, 3);
    check_sort(17, 0, 4);
    check_sort(1023, 0, 5);
}

static void test_sort_large_random_keys(void **state)
{
    (void)state;
    check_sort(1024, 0, 6);
    check_sort(20000, 0, 7);
    check_sort(150000, 0, 8);
}

static void test_sort_keys_sharing_their_top_bits(void **state)
{
    (void)state;
    /* Every key in one bucket: the crafted-key case stays exact. */
    check_sort(5000, 2, 9);
    check_sort(5000, 1, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sort_small_sets),
        cmocka_unit_test(test_sort_large_random_keys),
        cmocka_unit_test(test_sort_keys_sharing_their_top_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
