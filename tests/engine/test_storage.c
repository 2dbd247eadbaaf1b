/* Storage failures seen through the public API: a full LMDB map, a
 * read-only store, a directory we may not write, damaged and foreign data
 * files, and a value corrupted on disk. Each must give its own error code
 * with a message naming the store, and must leave what was committed
 * exactly as it was: the head header, the full state (digest of every
 * pair) and parex_db_verify, and for refused opens the file's bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto_int.h"
#include "parex/parex.h"
#include "testutil.h"
#include "txb.h"

/* A 1 MiB map holds the genesis and a few 128 KiB blocks, then is full. */
#define SMALL_MAP ((uint64_t)1 << 20)
#define BIG_MAP ((uint64_t)64 << 20)
#define FILL_KEYS 16
#define FILL_BYTES 8192

typedef struct chain {
    char *dir;
    parex_db *db;
    parex_engine *e;
    uint8_t sec[32], pub[32];
    uint64_t nonce;
} chain;

static void chain_attach(chain *c, uint64_t map_size, int read_only,
    unsigned threads)
{
    parex_db_options dbo = PAREX_DB_OPTIONS_INIT;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info err;

    memset(&dbo, 0, sizeof(dbo));
    dbo.size = sizeof(dbo);
    dbo.map_size = map_size;
    dbo.sync = PAREX_SYNC_NONE;
    dbo.read_only = read_only;
    if (parex_db_open(&c->db, &err, c->dir, &dbo) != PAREX_OK) {
        fail_msg("open %s: %s", c->dir, err.message);
    }
    parex_engine_options_default(&eo);
    eo.threads = threads == 0 ? 1 : threads;
    eo.sequential = threads == 0;
    eo.min_batch_width = 1;
    assert_int_equal(parex_engine_create(&c->e, c->db, &eo), PAREX_OK);
    assert_int_equal(txb_register(c->e), PAREX_OK);
}

static void chain_detach(chain *c)
{
    parex_engine_destroy(c->e);
    parex_db_close(c->db);
    c->e = NULL;
    c->db = NULL;
}

/* A new store in its own directory with one funded sender (threads 0:
 * the sequential reference executor). */
static void chain_new(chain *c, uint64_t map_size, unsigned threads)
{
    parex_kv kv;
    uint8_t val[16], fee_sec[32], fee_pub[32];

    memset(c, 0, sizeof(*c));
    c->dir = tu_tmpdir();
    txb_keys(c->sec, c->pub, "storage-sender");
    txb_keys(fee_sec, fee_pub, "storage-fee");
    chain_attach(c, map_size, 0, threads);
    memset(&kv, 0, sizeof(kv));
    parex_account_key(kv.key, c->pub);
    parex_account_encode(val, 1000000000, 0);
    kv.value = val;
    kv.value_len = sizeof(val);
    assert_int_equal(parex_db_genesis(c->db, NULL, &kv, 1, fee_pub),
        PAREX_OK);
}

static void chain_free(chain *c)
{
    chain_detach(c);
    tu_rmdir(c->dir);
}

static parex_header head_of(const chain *c)
{
    parex_header h;

    assert_int_equal(parex_db_head(c->db, &h), PAREX_OK);
    return h;
}

/* The next block: one tx writing FILL_KEYS values of FILL_BYTES. */
static uint8_t *fill_block(chain *c, size_t *len, uint32_t salt)
{
    parex_header head = head_of(c);
    uint8_t args[12];
    parex_tx tx;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = 1;
    tx.nonce = c->nonce;
    tx.fee = 1;
    tx.program = TXB_PROGRAM_FILL;
    txb_fill_args(args, FILL_KEYS, FILL_BYTES, salt);
    tx.args = args;
    tx.args_len = sizeof(args);
    txb_sign(&tx, c->sec);
    return txb_block(len, &head, &tx, 1);
}

static void assert_header_equal(const parex_header *a, const parex_header *b)
{
    uint8_t ea[PAREX_HEADER_BYTES], eb[PAREX_HEADER_BYTES];

    parex_header_encode(ea, a);
    parex_header_encode(eb, b);
    assert_memory_equal(ea, eb, sizeof(ea));
}

/* What a failed operation must not change. */
typedef struct committed {
    parex_header head;
    uint8_t digest[32];
    uint8_t root[32];
} committed;

static committed snapshot(const chain *c)
{
    committed s;

    s.head = head_of(c);
    txb_state_digest(s.digest, c->db);
    assert_int_equal(parex_db_verify(c->db, s.root), PAREX_OK);
    assert_memory_equal(s.root, s.head.state_root, 32);
    return s;
}

static void assert_unchanged(const chain *c, const committed *before)
{
    committed now = snapshot(c);

    assert_header_equal(&now.head, &before->head);
    assert_memory_equal(now.digest, before->digest, 32);
    assert_memory_equal(now.root, before->root, 32);
}

static int execute(chain *c, parex_error_info *err, const uint8_t *blk,
    size_t len, unsigned flags)
{
    parex_receipt r;
    parex_header h;
    int rc;

    rc = parex_engine_execute(c->e, &h, &r, 1, NULL, err, blk, len, flags);
    if (rc == PAREX_OK && (flags & PAREX_EXEC_COMMIT)) {
        assert_int_equal(r.status, PAREX_TX_SUCCESS);
        c->nonce++;
    }
    return rc;
}

/* ---- map full ----------------------------------------------------------- */

/* extra: more execute flags (PAREX_EXEC_RECORD_BAL: from 2 threads the
 * BAL's hash runs beside the failing commit's writes). */
static void map_full(unsigned threads, unsigned extra)
{
    chain c, ref;
    committed before;
    parex_error_info err;
    uint8_t *blk = NULL;
    size_t len = 0;
    uint32_t salt;
    int rc = PAREX_OK;

    chain_new(&c, SMALL_MAP, threads);
    for (salt = 0; salt < 64; salt++) {
        before = snapshot(&c);
        blk = fill_block(&c, &len, salt);
        rc = execute(&c, &err, blk, len, PAREX_EXEC_COMMIT | extra);
        if (rc != PAREX_OK) {
            break;
        }
        free(blk);
        blk = NULL;
    }
    /* 64 x 128 KiB cannot fit in 1 MiB: the map fills on the way. */
    assert_int_equal(rc, PAREX_E_MAPFULL);
    assert_true(salt >= 1);
    assert_int_equal(err.code, PAREX_E_MAPFULL);
    assert_int_equal(err.reject, PAREX_REJECT_NONE);
    assert_non_null(strstr(err.message, "map is full"));
    assert_unchanged(&c, &before);
    if (extra & PAREX_EXEC_RECORD_BAL) {
        size_t bl = 0;
        assert_int_equal(parex_engine_bal(c.e, NULL, &bl), PAREX_E_NOTFOUND);
    }

    /* Not pending afterwards: the same block fails the same way. */
    assert_int_equal(execute(&c, &err, blk, len, PAREX_EXEC_COMMIT | extra),
        PAREX_E_MAPFULL);
    assert_unchanged(&c, &before);
    /* Executed without commit, the commit fails and the block stays
     * pending until aborted. */
    assert_int_equal(execute(&c, &err, blk, len, extra), PAREX_OK);
    assert_int_equal(parex_engine_commit(c.e, NULL), PAREX_E_MAPFULL);
    assert_int_equal(execute(&c, &err, blk, len, extra), PAREX_E_PENDING);
    parex_engine_abort(c.e);
    assert_unchanged(&c, &before);

    /* Reopened with a larger map, the same block commits, and the chain
     * is the one a store that never filled up would hold. */
    chain_detach(&c);
    chain_attach(&c, BIG_MAP, 0, threads);
    assert_unchanged(&c, &before);
    assert_int_equal(execute(&c, &err, blk, len, PAREX_EXEC_COMMIT | extra),
        PAREX_OK);
    free(blk);

    chain_new(&ref, BIG_MAP, 0);
    while (head_of(&ref).height < head_of(&c).height) {
        uint32_t s = (uint32_t)head_of(&ref).height;
        blk = fill_block(&ref, &len, s);
        assert_int_equal(execute(&ref, &err, blk, len,
                             PAREX_EXEC_COMMIT | extra),
            PAREX_OK);
        free(blk);
    }
    {
        committed a = snapshot(&c), b = snapshot(&ref);
        assert_header_equal(&a.head, &b.head);
        assert_memory_equal(a.digest, b.digest, 32);
    }
    chain_free(&ref);
    chain_free(&c);
}

static void test_map_full_commits_nothing_sequential(void **state)
{
    (void)state;
    map_full(0, 0);
}

static void test_map_full_commits_nothing_parallel(void **state)
{
    (void)state;
    map_full(2, 0);
}

static void test_map_full_commits_nothing_recording(void **state)
{
    (void)state;
    map_full(2, PAREX_EXEC_RECORD_BAL);
}

/* ---- read-only ------------------------------------------------------------ */

static char *data_path(const char *dir)
{
    size_t n = strlen(dir) + sizeof("/data.mdb");
    char *p = malloc(n);

    assert_non_null(p);
    snprintf(p, n, "%s/data.mdb", dir);
    return p;
}

static void test_read_only_store_refuses_blocks(void **state)
{
    chain c;
    committed before;
    parex_error_info err;
    uint8_t *blk, *bytes0, *bytes1;
    size_t len, n0, n1;
    char *data;

    (void)state;
    chain_new(&c, BIG_MAP, 2);
    blk = fill_block(&c, &len, 1);
    assert_int_equal(execute(&c, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_OK);
    free(blk);
    chain_detach(&c);
    data = data_path(c.dir);
    bytes0 = tu_read_file(data, &n0);

    chain_attach(&c, 0, 1, 2);
    before = snapshot(&c);
    blk = fill_block(&c, &len, 2);
    assert_int_equal(execute(&c, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_READONLY);
    assert_int_equal(err.code, PAREX_E_READONLY);
    assert_non_null(strstr(err.message, "read-only"));
    assert_int_equal(execute(&c, &err, blk, len, 0), PAREX_OK);
    assert_int_equal(parex_engine_commit(c.e, NULL), PAREX_E_READONLY);
    parex_engine_abort(c.e);
    assert_int_equal(parex_db_genesis(c.db, NULL, NULL, 0, c.pub),
        PAREX_E_EXISTS);
    assert_unchanged(&c, &before);
    free(blk);
    chain_detach(&c);
    bytes1 = tu_read_file(data, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(bytes0, bytes1, n0);
    free(bytes0);
    free(bytes1);
    free(data);
    c.e = NULL;
    tu_rmdir(c.dir);
}

/* A store in a directory the caller may not write: opening it (read-write
 * or read-only; LMDB's lock file needs write access either way) is
 * PAREX_E_IO naming the directory, and the data file is untouched. As root
 * permissions do not apply, so the check runs in a child that drops to
 * uid/gid 65534 (nobody); it reports through its exit status. */
static int unwritable_checks(const char *dir)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info err;
    parex_db *db = (parex_db *)&o;
    int ro;

    for (ro = 0; ro < 2; ro++) {
        memset(&o, 0, sizeof(o));
        o.size = sizeof(o);
        o.read_only = ro;
        if (parex_db_open(&db, &err, dir, &o) != PAREX_E_IO) {
            return 10 + ro;
        }
        if (db != NULL || err.code != PAREX_E_IO) {
            return 20 + ro;
        }
        if (strstr(err.message, dir) == NULL ||
            strstr(err.message, "ermission denied") == NULL) {
            return 30 + ro;
        }
    }
    return 0;
}

static void test_unwritable_directory_is_io(void **state)
{
    chain c;
    char *data;
    uint8_t *bytes0, *bytes1;
    size_t n0, n1;
    int status;
    pid_t pid;

    (void)state;
    chain_new(&c, BIG_MAP, 1);
    chain_detach(&c);
    data = data_path(c.dir);
    bytes0 = tu_read_file(data, &n0);
    /* The test directory is 0700 (mkdtemp); others need to traverse it. */
    assert_int_equal(chmod(c.dir, 0555), 0);
    assert_int_equal(chmod(data, 0444), 0);
    if (geteuid() != 0) {
        assert_int_equal(unwritable_checks(c.dir), 0);
    } else {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) {
                _exit(99);
            }
            _exit(unwritable_checks(c.dir));
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        if (WEXITSTATUS(status) == 99) {
            /* No user to drop to (a container without setuid rights). */
            print_message("# cannot drop to uid 65534; check skipped\n");
        } else {
            assert_int_equal(WEXITSTATUS(status), 0);
        }
    }
    bytes1 = tu_read_file(data, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(bytes0, bytes1, n0);
    assert_int_equal(chmod(c.dir, 0700), 0);
    assert_int_equal(chmod(data, 0644), 0);
    free(bytes0);
    free(bytes1);
    free(data);
    tu_rmdir(c.dir);
}

/* ---- damaged files ------------------------------------------------------- */

/* Opening must fail with PAREX_E_CORRUPT, read-write and read-only, and
 * leave data.mdb byte for byte as it was. */
static void assert_refused_untouched(const char *dir, const char *data)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info err;
    parex_db *db;
    unsigned char *b0, *b1;
    size_t n0, n1;
    int ro;

    b0 = tu_read_file(data, &n0);
    for (ro = 0; ro < 2; ro++) {
        memset(&o, 0, sizeof(o));
        o.size = sizeof(o);
        o.read_only = ro;
        db = (parex_db *)&o;
        assert_int_equal(parex_db_open(&db, &err, dir, &o), PAREX_E_CORRUPT);
        assert_null(db);
        assert_int_equal(err.code, PAREX_E_CORRUPT);
        assert_non_null(strstr(err.message, dir));
        b1 = tu_read_file(data, &n1);
        assert_int_equal(n0, n1);
        assert_memory_equal(b0, b1, n0);
        free(b1);
    }
    free(b0);
}

static char *committed_store(chain *c)
{
    parex_error_info err;
    uint8_t *blk;
    size_t len;
    uint32_t s;

    chain_new(c, BIG_MAP, 1);
    for (s = 0; s < 3; s++) {
        blk = fill_block(c, &len, s);
        assert_int_equal(execute(c, &err, blk, len, PAREX_EXEC_COMMIT),
            PAREX_OK);
        free(blk);
    }
    chain_detach(c);
    return data_path(c->dir);
}

static void test_damaged_meta_pages_are_corrupt(void **state)
{
    chain c;
    char *data = committed_store(&c);
    unsigned char *b;
    size_t n;

    (void)state;
    /* LMDB's two meta pages lead the file; both zeroed: not an LMDB file. */
    b = tu_read_file(data, &n);
    assert_true(n > 2 * 4096);
    memset(b, 0, 2 * 4096);
    tu_write_file(data, b, n);
    free(b);
    assert_refused_untouched(c.dir, data);
    free(data);
    tu_rmdir(c.dir);
}

static void test_truncated_data_file_is_corrupt(void **state)
{
    chain c;
    char *data = committed_store(&c);
    unsigned char *b;
    size_t n;

    (void)state;
    /* Cut after the meta pages: the meta pages name pages past the end.
     * Reading them through the map would be SIGBUS, so the open refuses. */
    b = tu_read_file(data, &n);
    assert_true(n > 4 * 4096);
    tu_write_file(data, b, 3 * 4096);
    free(b);
    assert_refused_untouched(c.dir, data);
    free(data);
    tu_rmdir(c.dir);
}

/* A value changed on disk (bit rot, a stray write) is not detectable by
 * LMDB, which has no checksums; parex_db_verify recomputes the root from
 * every pair and reports PAREX_E_CORRUPT. */
static void test_flipped_value_fails_verify(void **state)
{
    chain c;
    char *data = committed_store(&c);
    unsigned char *b;
    uint8_t want[FILL_BYTES], key[32], in[12], root[32], got[FILL_BYTES];
    parex_header head;
    size_t n, i, hits = 0, glen = sizeof(got);
    uint32_t j;

    (void)state;
    /* Value 5 of block 2 (salt 2), as the fill program writes it. */
    for (j = 0; j < FILL_BYTES; j++) {
        want[j] = (uint8_t)(2 + 5 + j);
    }
    memcpy(in, "fill", 4);
    memset(in + 4, 0, 8);
    in[4] = 2;
    in[8] = 5;
    parex_sha256(key, in, sizeof(in));
    b = tu_read_file(data, &n);
    for (i = 0; i + sizeof(want) <= n; i++) {
        if (memcmp(b + i, want, sizeof(want)) == 0) {
            b[i + 100] ^= 0x01;
            hits++;
        }
    }
    assert_true(hits >= 1);
    tu_write_file(data, b, n);
    free(b);

    chain_attach(&c, 0, 1, 1);
    head = head_of(&c);
    assert_int_equal(parex_db_get(c.db, got, &glen, key), PAREX_OK);
    assert_int_equal(glen, FILL_BYTES);
    assert_int_equal(got[100], want[100] ^ 0x01);
    assert_int_equal(parex_db_verify(c.db, root), PAREX_E_CORRUPT);
    assert_memory_not_equal(root, head.state_root, 32);
    chain_detach(&c);
    free(data);
    tu_rmdir(c.dir);
}

/* OpenSSL failing (as on allocation failure; forced with crypto/'s test
 * hook) while a block's state root is computed, a store is verified or a
 * genesis written: PAREX_E_NOMEM, nothing committed, nothing aborts; the
 * same calls succeed once OpenSSL works again. */
static void test_crypto_failure_is_nomem(void **state)
{
    chain c;
    committed before;
    parex_error_info err;
    parex_kv kv;
    parex_header g;
    uint8_t *blk, fee[32] = { 1 };
    size_t len;
    char *dir;
    parex_db *db;

    (void)state;
    chain_new(&c, BIG_MAP, 2);
    before = snapshot(&c);
    blk = fill_block(&c, &len, 1);
    px__crypto_test_fail(1);
    assert_int_equal(execute(&c, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_NOMEM);
    assert_int_equal(parex_db_verify(c.db, NULL), PAREX_E_NOMEM);
    px__crypto_test_fail(0);
    assert_int_equal(err.code, PAREX_E_NOMEM);
    assert_unchanged(&c, &before);
    assert_int_equal(execute(&c, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_OK);
    free(blk);
    chain_free(&c);

    dir = tu_tmpdir();
    assert_int_equal(parex_db_open(&db, NULL, dir, NULL), PAREX_OK);
    memset(&kv, 0, sizeof(kv));
    kv.value = (const uint8_t *)"v";
    kv.value_len = 1;
    px__crypto_test_fail(1);
    assert_int_equal(parex_db_genesis(db, NULL, &kv, 1, fee), PAREX_E_NOMEM);
    assert_int_equal(parex_genesis_header(&g, &kv, 1, fee), PAREX_E_NOMEM);
    px__crypto_test_fail(0);
    assert_int_equal(parex_db_head(db, &g), PAREX_E_NOTFOUND);
    assert_int_equal(parex_db_genesis(db, NULL, &kv, 1, fee), PAREX_OK);
    parex_db_close(db);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_full_commits_nothing_sequential),
        cmocka_unit_test(test_map_full_commits_nothing_parallel),
        cmocka_unit_test(test_map_full_commits_nothing_recording),
        cmocka_unit_test(test_read_only_store_refuses_blocks),
        cmocka_unit_test(test_unwritable_directory_is_io),
        cmocka_unit_test(test_damaged_meta_pages_are_corrupt),
        cmocka_unit_test(test_truncated_data_file_is_corrupt),
        cmocka_unit_test(test_flipped_value_fails_verify),
        cmocka_unit_test(test_crypto_failure_is_nomem),
    };

    return cmocka_run_group_tests_name("storage", tests, NULL, NULL);
}
