/* Unit tests for state/lmdb.c: the LMDB store behind state_int.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "state_int.h"
#include "testutil.h"

/* Each test gets a fresh directory (setup) that teardown removes. */
static int dir_setup(void **state)
{
    *state = tu_tmpdir();
    return 0;
}

static int dir_teardown(void **state)
{
    tu_rmdir(*state);
    return 0;
}

static px__store *open_rw(const char *dir)
{
    px__store *s = NULL;
    parex_error_info err;

    if (px__store_open(&s, &err, dir, 0, 2, 0, 0) != PAREX_OK) {
        fail_msg("open %s: %s", dir, err.message);
    }
    return s;
}

static void put1(px__store *s, px__dbi dbi, const char *k, const char *v)
{
    px__wtxn *w;

    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    assert_int_equal(px__wtxn_put(w, dbi, k, strlen(k), v, strlen(v)),
        PAREX_OK);
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);
}

/* Value of k in a fresh snapshot, or NULL if absent. Returns a malloc'd
 * NUL-terminated copy so it outlives the snapshot. */
static char *get1(px__store *s, px__dbi dbi, const char *k)
{
    px__snap *sn;
    const uint8_t *v;
    size_t n;
    char *copy = NULL;
    int rc;

    assert_int_equal(px__snap_begin(&sn, s), PAREX_OK);
    rc = px__snap_get(sn, dbi, &v, &n, k, strlen(k));
    if (rc == PAREX_OK) {
        copy = malloc(n + 1);
        assert_non_null(copy);
        memcpy(copy, v, n);
        copy[n] = '\0';
    } else {
        assert_int_equal(rc, PAREX_E_NOTFOUND);
    }
    px__snap_end(sn);
    return copy;
}

static char *path_in(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static void test_new_store_has_format(void **state)
{
    const char *dir = *state;
    px__store *s = open_rw(dir);
    px__snap *sn;
    const uint8_t *v;
    size_t n;
    uint64_t c;
    int i;

    assert_int_equal(px__store_read_only(s), 0);
    assert_int_equal(px__snap_begin(&sn, s), PAREX_OK);
    assert_int_equal(px__snap_get(sn, PX_DB_META, &v, &n, "format", 6),
        PAREX_OK);
    assert_int_equal(n, 13);
    assert_memory_equal(v, "parex-state-2", 13);
    for (i = 0; i < PX_DB_COUNT; i++) {
        assert_int_equal(px__snap_count(sn, (px__dbi)i, &c), PAREX_OK);
        assert_int_equal(c, i == PX_DB_META ? 1 : 0);
    }
    px__snap_end(sn);
    px__store_close(s);
    /* Reopening an existing store of ours is fine, in every sync mode. */
    for (i = 0; i < 3; i++) {
        assert_int_equal(px__store_open(&s, NULL, dir, 0, i, 0, 0), PAREX_OK);
        px__store_close(s);
    }
}

static void test_put_get_commit_persists(void **state)
{
    const char *dir = *state;
    px__store *s = open_rw(dir);
    px__wtxn *w;
    const uint8_t *v;
    size_t n;
    char *got;

    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "k1", 2, "v1", 2), PAREX_OK);
    assert_int_equal(px__wtxn_put(w, PX_DB_RECEIPTS, "k1", 2, "r1", 2),
        PAREX_OK);
    /* The write txn sees its own writes; other databases are separate. */
    assert_int_equal(px__wtxn_get(w, PX_DB_STATE, &v, &n, "k1", 2), PAREX_OK);
    assert_int_equal(n, 2);
    assert_memory_equal(v, "v1", 2);
    assert_int_equal(px__wtxn_get(w, PX_DB_HEADERS, &v, &n, "k1", 2),
        PAREX_E_NOTFOUND);
    /* Overwrite, and an empty value. */
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "k1", 2, "v2", 2), PAREX_OK);
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "e", 1, NULL, 0), PAREX_OK);
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);
    px__store_close(s);

    s = open_rw(dir);
    got = get1(s, PX_DB_STATE, "k1");
    assert_string_equal(got, "v2");
    free(got);
    got = get1(s, PX_DB_RECEIPTS, "k1");
    assert_string_equal(got, "r1");
    free(got);
    got = get1(s, PX_DB_STATE, "e");
    assert_string_equal(got, "");
    free(got);
    assert_null(get1(s, PX_DB_STATE, "nope"));
    px__store_close(s);
}

static void test_delete(void **state)
{
    px__store *s = open_rw(*state);
    px__wtxn *w;

    put1(s, PX_DB_STATE, "a", "1");
    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    assert_int_equal(px__wtxn_del(w, PX_DB_STATE, "a", 1), PAREX_OK);
    assert_int_equal(px__wtxn_del(w, PX_DB_STATE, "absent", 6), PAREX_OK);
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);
    assert_null(get1(s, PX_DB_STATE, "a"));
    px__store_close(s);
}

static void test_abort_leaves_nothing(void **state)
{
    px__store *s = open_rw(*state);
    px__wtxn *w;
    px__snap *sn;
    uint64_t c;

    put1(s, PX_DB_STATE, "keep", "1");
    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "gone", 4, "x", 1),
        PAREX_OK);
    assert_int_equal(px__wtxn_del(w, PX_DB_STATE, "keep", 4), PAREX_OK);
    px__wtxn_abort(w);
    px__wtxn_abort(NULL);
    assert_int_equal(px__snap_begin(&sn, s), PAREX_OK);
    assert_int_equal(px__snap_count(sn, PX_DB_STATE, &c), PAREX_OK);
    assert_int_equal(c, 1);
    px__snap_end(sn);
    assert_null(get1(s, PX_DB_STATE, "gone"));
    free(get1(s, PX_DB_STATE, "keep"));
    /* The writer slot is free again after an abort. */
    put1(s, PX_DB_STATE, "next", "2");
    px__store_close(s);
}

static void test_snapshot_isolation(void **state)
{
    px__store *s = open_rw(*state);
    px__snap *old;
    px__snap *sn2;
    const uint8_t *v;
    size_t n;

    put1(s, PX_DB_STATE, "k", "before");
    assert_int_equal(px__snap_begin(&old, s), PAREX_OK);
    put1(s, PX_DB_STATE, "k", "after");
    put1(s, PX_DB_STATE, "new", "x");
    /* The old snapshot still sees the state as of its begin. */
    assert_int_equal(px__snap_get(old, PX_DB_STATE, &v, &n, "k", 1), PAREX_OK);
    assert_int_equal(n, 6);
    assert_memory_equal(v, "before", 6);
    assert_int_equal(px__snap_get(old, PX_DB_STATE, &v, &n, "new", 3),
        PAREX_E_NOTFOUND);
    /* A second snapshot, begun later, sees the commits. */
    assert_int_equal(px__snap_begin(&sn2, s), PAREX_OK);
    assert_int_equal(px__snap_get(sn2, PX_DB_STATE, &v, &n, "k", 1), PAREX_OK);
    assert_memory_equal(v, "after", 5);
    px__snap_end(sn2);
    /* reset + renew moves the old snapshot to the newest commit. */
    px__snap_reset(old);
    px__snap_reset(old); /* idempotent */
    assert_int_equal(px__snap_get(old, PX_DB_STATE, &v, &n, "k", 1),
        PAREX_E_MISUSE);
    assert_int_equal(px__snap_renew(old), PAREX_OK);
    assert_int_equal(px__snap_get(old, PX_DB_STATE, &v, &n, "new", 3),
        PAREX_OK);
    /* renew on a live snapshot also refreshes it. */
    put1(s, PX_DB_STATE, "newer", "y");
    assert_int_equal(px__snap_renew(old), PAREX_OK);
    assert_int_equal(px__snap_get(old, PX_DB_STATE, &v, &n, "newer", 5),
        PAREX_OK);
    px__snap_end(old);
    px__snap_end(NULL);
    /* Ending a reset snapshot is fine too. */
    assert_int_equal(px__snap_begin(&old, s), PAREX_OK);
    px__snap_reset(old);
    px__snap_end(old);
    px__store_close(s);
}

struct visit {
    uint64_t keys[64];
    size_t n;
    size_t stop_after;
    int ret;
};

static int visit_fn(const uint8_t *key, size_t key_len, const uint8_t *val,
    size_t len, void *user)
{
    struct visit *vs = user;
    uint64_t h = 0;
    size_t i;

    assert_int_equal(key_len, 8);
    assert_int_equal(len, 8);
    assert_memory_equal(key, val, 8);
    for (i = 0; i < 8; i++) {
        h = h << 8 | key[i];
    }
    vs->keys[vs->n++] = h;
    return vs->n == vs->stop_after ? vs->ret : 0;
}

static void be64(uint8_t out[8], uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static void test_foreach_in_key_order(void **state)
{
    static const uint64_t heights[] = { 300, 2, 1u << 20, 0, 255, 256, 7 };
    const size_t nh = sizeof heights / sizeof heights[0];
    px__store *s = open_rw(*state);
    px__wtxn *w;
    px__snap *sn;
    struct visit vs;
    uint8_t k[8];
    uint64_t c;
    size_t i;

    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    for (i = 0; i < nh; i++) {
        be64(k, heights[i]);
        assert_int_equal(px__wtxn_put(w, PX_DB_HEADERS, k, 8, k, 8),
            PAREX_OK);
    }
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);

    assert_int_equal(px__snap_begin(&sn, s), PAREX_OK);
    assert_int_equal(px__snap_count(sn, PX_DB_HEADERS, &c), PAREX_OK);
    assert_int_equal(c, nh);
    memset(&vs, 0, sizeof vs);
    assert_int_equal(px__snap_foreach(sn, PX_DB_HEADERS, visit_fn, &vs),
        PAREX_OK);
    assert_int_equal(vs.n, nh);
    /* Big-endian keys sort numerically. */
    for (i = 1; i < vs.n; i++) {
        assert_true(vs.keys[i - 1] < vs.keys[i]);
    }
    assert_int_equal(vs.keys[0], 0);
    assert_int_equal(vs.keys[nh - 1], 1u << 20);

    /* A positive return stops the walk without an error, but says so... */
    memset(&vs, 0, sizeof vs);
    vs.stop_after = 3;
    vs.ret = 1;
    assert_int_equal(px__snap_foreach(sn, PX_DB_HEADERS, visit_fn, &vs),
        PAREX_STOPPED);
    assert_int_equal(vs.n, 3);
    /* ...a negative PAREX_E_* is passed on. */
    memset(&vs, 0, sizeof vs);
    vs.stop_after = 2;
    vs.ret = PAREX_E_NOMEM;
    assert_int_equal(px__snap_foreach(sn, PX_DB_HEADERS, visit_fn, &vs),
        PAREX_E_NOMEM);
    assert_int_equal(vs.n, 2);
    /* An empty database visits nothing. */
    memset(&vs, 0, sizeof vs);
    assert_int_equal(px__snap_foreach(sn, PX_DB_RECEIPTS, visit_fn, &vs),
        PAREX_OK);
    assert_int_equal(vs.n, 0);
    px__snap_end(sn);
    px__store_close(s);
}

static void test_bad_arguments(void **state)
{
    px__store *s = open_rw(*state);
    px__wtxn *w;
    px__wtxn *w2;
    px__snap *sn;
    const uint8_t *v;
    size_t n;
    uint8_t big[600];

    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    /* LMDB keys are 1..511 bytes; that is a caller bug, and the txn stays
     * usable. */
    memset(big, 1, sizeof big);
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, big, sizeof big, "v", 1),
        PAREX_E_INVALID);
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "", 0, "v", 1),
        PAREX_E_INVALID);
    assert_int_equal(px__wtxn_put(w, PX_DB_COUNT, "k", 1, "v", 1),
        PAREX_E_MISUSE);
    /* A second writer would deadlock on LMDB's lock; it is refused. */
    assert_int_equal(px__wtxn_begin(&w2, s), PAREX_E_MISUSE);
    assert_null(w2);
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "k", 1, "v", 1), PAREX_OK);
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);
    assert_int_equal(px__snap_begin(&sn, s), PAREX_OK);
    assert_int_equal(px__snap_get(sn, (px__dbi)-1, &v, &n, "k", 1),
        PAREX_E_MISUSE);
    px__snap_end(sn);
    px__store_close(s);
    px__store_close(NULL);
}

/* A write that does not fit gives PAREX_E_MAPFULL, the txn cannot commit,
 * and what was committed before survives a reopen with a larger map. */
static void test_map_full(void **state)
{
    const char *dir = *state;
    px__store *s = NULL;
    px__wtxn *w;
    parex_error_info err;
    uint8_t key[32];
    uint8_t val[1000];
    char *got;
    int rc = PAREX_OK;
    uint32_t i;

    assert_int_equal(px__store_open(&s, &err, dir, 256 << 10, 2, 0, 0),
        PAREX_OK);
    put1(s, PX_DB_STATE, "committed", "yes");
    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    memset(val, 0x5a, sizeof val);
    memset(key, 0, sizeof key);
    for (i = 0; i < 10000 && rc == PAREX_OK; i++) {
        memcpy(key, &i, sizeof i);
        rc = px__wtxn_put(w, PX_DB_STATE, key, sizeof key, val, sizeof val);
    }
    assert_int_equal(rc, PAREX_E_MAPFULL);
    /* The txn is dead: more writes and the commit report the cause. */
    assert_int_equal(px__wtxn_put(w, PX_DB_STATE, "x", 1, "y", 1),
        PAREX_E_MAPFULL);
    assert_int_equal(px__wtxn_commit(w), PAREX_E_MAPFULL);
    /* The failed txn freed its pages: a small write fits again. */
    put1(s, PX_DB_STATE, "small", "ok");
    px__store_close(s);

    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 0, 0), PAREX_OK);
    got = get1(s, PX_DB_STATE, "committed");
    assert_string_equal(got, "yes");
    free(got);
    got = get1(s, PX_DB_STATE, "small");
    assert_string_equal(got, "ok");
    free(got);
    memset(key, 0, sizeof key);
    {
        px__snap *sn;
        const uint8_t *v;
        size_t n;
        uint64_t c;

        assert_int_equal(px__snap_begin(&sn, s), PAREX_OK);
        assert_int_equal(px__snap_get(sn, PX_DB_STATE, &v, &n, key, 32),
            PAREX_E_NOTFOUND);
        assert_int_equal(px__snap_count(sn, PX_DB_STATE, &c), PAREX_OK);
        assert_int_equal(c, 2);
        px__snap_end(sn);
    }
    /* Now the big write fits. */
    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    for (i = 0; i < 1000; i++) {
        memcpy(key, &i, sizeof i);
        assert_int_equal(
            px__wtxn_put(w, PX_DB_STATE, key, sizeof key, val, sizeof val),
            PAREX_OK);
    }
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);
    px__store_close(s);
}

static void test_foreign_file_is_corrupt_and_untouched(void **state)
{
    const char *dir = *state;
    char *data = path_in(dir, "data.mdb");
    unsigned char junk[16384];
    unsigned char *after;
    size_t n;
    size_t i;
    px__store *s = (px__store *)&n; /* must be reset to NULL */
    parex_error_info err;
    tu_rng r;
    int ro;

    tu_rng_seed(&r, 0x600d);
    for (i = 0; i < sizeof junk; i++) {
        junk[i] = (unsigned char)tu_rng_next(&r);
    }
    tu_write_file(data, junk, sizeof junk);
    for (ro = 0; ro < 2; ro++) {
        assert_int_equal(px__store_open(&s, &err, dir, 0, 0, ro, 0),
            PAREX_E_CORRUPT);
        assert_null(s);
        assert_int_equal(err.code, PAREX_E_CORRUPT);
        assert_int_equal(err.tx_index, -1);
        assert_non_null(strstr(err.message, dir));
        after = tu_read_file(data, &n);
        assert_int_equal(n, sizeof junk);
        assert_memory_equal(after, junk, sizeof junk);
        free(after);
    }
    /* A short foreign file too. */
    tu_write_file(data, "hello, not lmdb\n", 16);
    assert_int_equal(px__store_open(&s, NULL, dir, 0, 0, 0, 0), PAREX_E_CORRUPT);
    after = tu_read_file(data, &n);
    assert_int_equal(n, 16);
    assert_memory_equal(after, "hello, not lmdb\n", 16);
    free(after);
    free(data);
}

static void test_missing_dir_is_io(void **state)
{
    char *missing = path_in(*state, "does/not/exist");
    char *file = path_in(*state, "plainfile");
    px__store *s;
    parex_error_info err;

    assert_int_equal(px__store_open(&s, &err, missing, 0, 0, 0, 0),
        PAREX_E_IO);
    assert_null(s);
    assert_int_equal(err.code, PAREX_E_IO);
    assert_non_null(strstr(err.message, missing));
    assert_int_equal(px__store_open(&s, &err, missing, 0, 0, 1, 0),
        PAREX_E_IO);
    /* A path that is a file, not a directory. */
    tu_write_file(file, "x", 1);
    assert_int_equal(px__store_open(&s, &err, file, 0, 0, 0, 0), PAREX_E_IO);
    free(missing);
    free(file);
}

static void test_read_only_refuses_writes(void **state)
{
    const char *dir = *state;
    px__store *s = open_rw(dir);
    px__wtxn *w = (px__wtxn *)&s;
    char *got;

    put1(s, PX_DB_STATE, "k", "v");
    px__store_close(s);
    assert_int_equal(px__store_open(&s, NULL, dir, 0, 0, 1, 0), PAREX_OK);
    assert_int_equal(px__store_read_only(s), 1);
    assert_int_equal(px__wtxn_begin(&w, s), PAREX_E_READONLY);
    assert_null(w);
    got = get1(s, PX_DB_STATE, "k");
    assert_string_equal(got, "v");
    free(got);
    px__store_close(s);
}

/* Read-only open of a directory without a store: PAREX_E_CORRUPT, and the
 * directory is left empty (no lock.mdb either). */
static void test_read_only_empty_dir(void **state)
{
    const char *dir = *state;
    char *lock = path_in(dir, "lock.mdb");
    px__store *s;
    parex_error_info err;
    struct stat st;

    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 1, 0), PAREX_E_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(err.message, "not a parex state store"));
    assert_int_equal(stat(lock, &st), -1);
    assert_int_equal(errno, ENOENT);
    free(lock);
}

/* A crash between LMDB creating data.mdb and writing its meta pages leaves
 * an empty file: a read-only open names an interrupted creation (it used
 * to fail with EBADF, LMDB initialising through a read-only descriptor),
 * and a read-write open sets the store up. */
static void test_empty_data_file_is_interrupted_creation(void **state)
{
    const char *dir = *state;
    char *data = path_in(dir, "data.mdb");
    px__store *s;
    parex_error_info err;
    FILE *f = fopen(data, "w");

    assert_non_null(f);
    fclose(f);
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 1, 0), PAREX_E_CORRUPT);
    assert_null(s);
    assert_non_null(strstr(err.message, "creation was interrupted"));
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 0, 0), PAREX_OK);
    px__store_close(s);
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 1, 0), PAREX_OK);
    px__store_close(s);
    free(data);
}

static void test_wrong_format_is_corrupt(void **state)
{
    const char *dir = *state;
    px__store *s = open_rw(dir);
    parex_error_info err;

    put1(s, PX_DB_META, "format", "parex-state-1");
    px__store_close(s);
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 0, 0), PAREX_E_CORRUPT);
    assert_null(s);
    /* Both formats are named: the store's (a 0.1 store) and ours. */
    assert_non_null(strstr(err.message, "format"));
    assert_non_null(strstr(err.message, "\"parex-state-1\""));
    assert_non_null(strstr(err.message, "\"parex-state-2\""));
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 1, 0), PAREX_E_CORRUPT);
}

static void test_missing_format_is_corrupt(void **state)
{
    const char *dir = *state;
    px__store *s = open_rw(dir);
    px__wtxn *w;
    parex_error_info err;

    put1(s, PX_DB_STATE, "k", "v");
    assert_int_equal(px__wtxn_begin(&w, s), PAREX_OK);
    assert_int_equal(px__wtxn_del(w, PX_DB_META, "format", 6), PAREX_OK);
    assert_int_equal(px__wtxn_commit(w), PAREX_OK);
    px__store_close(s);
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 0, 0), PAREX_E_CORRUPT);
    assert_non_null(strstr(err.message, "not a parex state store"));
    assert_int_equal(px__store_open(&s, &err, dir, 0, 0, 1, 0), PAREX_E_CORRUPT);
}

static void test_bad_open_arguments(void **state)
{
    px__store *s;
    parex_error_info err;

    assert_int_equal(px__store_open(&s, &err, *state, 0, 3, 0, 0),
        PAREX_E_MISUSE);
    assert_null(s);
    assert_int_equal(px__store_open(&s, &err, *state, 0, -1, 0, 0),
        PAREX_E_MISUSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)
        T(test_new_store_has_format),
        T(test_empty_data_file_is_interrupted_creation),
        T(test_put_get_commit_persists),
        T(test_delete),
        T(test_abort_leaves_nothing),
        T(test_snapshot_isolation),
        T(test_foreach_in_key_order),
        T(test_bad_arguments),
        T(test_map_full),
        T(test_foreign_file_is_corrupt_and_untouched),
        T(test_missing_dir_is_io),
        T(test_read_only_refuses_writes),
        T(test_read_only_empty_dir),
        T(test_wrong_format_is_corrupt),
        T(test_missing_format_is_corrupt),
        T(test_bad_open_arguments),
#undef T
    };

    return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
