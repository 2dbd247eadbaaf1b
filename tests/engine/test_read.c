/* The embedding API of 0.2: read transactions (one snapshot for head,
 * headers, values, blocks, receipts and walks, concurrent with commits),
 * blocks and receipts stored by the engine's commit, the self-describing
 * store (format, chain id, genesis), one writer per store, caller-sized
 * structs (a caller of an older or newer layout is refused or served its
 * own size, never overwritten) and pre-verified signatures. */
#define PAREX_BUILD 1 /* misuse calls below pass NULL on purpose */

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "parex/parex.h"
#include "testutil.h"
#include "txb.h"

#define N_SEND 6          /* senders; each sends one tx per block */
#define CHAIN 7
#define BALANCE 1000000

typedef struct world {
    char *dir;
    parex_db *db;
    parex_engine *e;
    uint8_t sec[N_SEND][32], pub[N_SEND][32], acct[N_SEND][32];
    uint8_t sink_pub[32], sink[32], fee_pub[32];
    parex_header head;
} world;

static void world_keys(world *w)
{
    uint8_t s[32];
    int i;

    for (i = 0; i < N_SEND; i++) {
        char name[16];
        snprintf(name, sizeof name, "sender%d", i);
        txb_keys(w->sec[i], w->pub[i], name);
        parex_account_key(w->acct[i], w->pub[i]);
    }
    txb_keys(s, w->sink_pub, "sink");
    parex_account_key(w->sink, w->sink_pub);
    txb_keys(s, w->fee_pub, "fee");
}

static void world_genesis(world *w)
{
    parex_kv kv[N_SEND];
    uint8_t val[N_SEND][16];
    int i;

    for (i = 0; i < N_SEND; i++) {
        parex_account_encode(val[i], BALANCE, 0);
        memcpy(kv[i].key, w->acct[i], 32);
        kv[i].value = val[i];
        kv[i].value_len = 16;
    }
    assert_int_equal(parex_db_genesis_chain(w->db, &w->head, CHAIN, kv,
                         N_SEND, w->fee_pub), PAREX_OK);
}

static void world_engine(world *w, unsigned threads)
{
    parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;

    parex_engine_options_default(&o);
    o.chain_id = CHAIN;
    o.threads = threads;
    o.min_batch_width = 1;
    assert_int_equal(parex_engine_create(&w->e, w->db, &o), PAREX_OK);
}

static world *world_open(unsigned threads)
{
    world *w = calloc(1, sizeof(*w));
    parex_db_options dbo = PAREX_DB_OPTIONS_INIT;

    assert_non_null(w);
    dbo.sync = PAREX_SYNC_NONE;
    world_keys(w);
    w->dir = tu_tmpdir();
    assert_int_equal(parex_db_open(&w->db, NULL, w->dir, &dbo), PAREX_OK);
    world_genesis(w);
    world_engine(w, threads);
    return w;
}

static void world_close(world *w)
{
    parex_engine_destroy(w->e);
    parex_db_close(w->db);
    tu_rmdir(w->dir);
    free(w);
}

/* Block at w->head.height + 1: sender i pays the sink i + 1 with nonce
 * height - 1 and fee 1, so after block h every sender's nonce is h. */
static uint8_t *next_block(world *w, size_t *len, uint8_t args[][40],
    parex_tx *txs)
{
    uint64_t h = w->head.height + 1;
    int i;

    for (i = 0; i < N_SEND; i++) {
        memset(&txs[i], 0, sizeof(txs[i]));
        txs[i].chain_id = CHAIN;
        txs[i].nonce = h - 1;
        txs[i].fee = 1;
        txs[i].program = PAREX_PROGRAM_TRANSFER;
        parex_transfer_args(args[i], w->sink_pub, (uint64_t)i + 1);
        txs[i].args = args[i];
        txs[i].args_len = 40;
        txb_sign(&txs[i], w->sec[i]);
    }
    return txb_block(len, &w->head, txs, N_SEND);
}

static void commit_next(world *w, parex_receipt *r)
{
    uint8_t args[N_SEND][40];
    parex_tx txs[N_SEND];
    parex_receipt r2[N_SEND];
    parex_error_info err;
    size_t len;
    uint8_t *blk = next_block(w, &len, args, txs);
    int rc = parex_engine_execute(w->e, &w->head, r != NULL ? r : r2,
        N_SEND, NULL, &err, blk, len, PAREX_EXEC_COMMIT);

    if (rc != PAREX_OK) {
        fail_msg("execute: %s", err.message);
    }
    free(blk);
}

/* ---- read transactions under concurrent commits -------------------------- */

typedef struct writer_arg {
    world *w;
    unsigned blocks;
    atomic_int done;
} writer_arg;

static void *writer_main(void *arg)
{
    writer_arg *a = arg;
    unsigned i;

    for (i = 0; i < a->blocks; i++) {
        commit_next(a->w, NULL);
    }
    atomic_store(&a->done, 1);
    return NULL;
}

/* One read: head, every sender's account, the head block and the receipt
 * of its first tx. Everything must be of one height H: every nonce is H,
 * the balances are what H blocks leave, block H's tx 0 has its receipt at
 * height H, and block H + 1 does not exist. Returns H. */
static uint64_t read_one_height(parex_read *r)
{
    const uint8_t *val[N_SEND], *blk;
    uint8_t copy[N_SEND][16];
    parex_header head, h;
    parex_receipt rc0, rc1;
    uint64_t bal, nonce, height = 0, H;
    uint32_t index = 99;
    size_t len, blen, ntx;
    parex_tx tx;
    uint8_t txid[32];
    int i;

    assert_int_equal(parex_read_head(r, &head), PAREX_OK);
    H = head.height;
    for (i = 0; i < N_SEND; i++) {
        uint8_t pub[32], sec[32], acct[32];
        char name[16];

        snprintf(name, sizeof name, "sender%d", i);
        txb_keys(sec, pub, name);
        parex_account_key(acct, pub);
        assert_int_equal(parex_read_get(r, &val[i], &len, acct), PAREX_OK);
        assert_int_equal(len, 16);
        memcpy(copy[i], val[i], 16);
        assert_int_equal(parex_account_decode(&bal, &nonce, val[i], len),
            PAREX_OK);
        assert_true(nonce == H);
        assert_true(bal == BALANCE - H * ((uint64_t)i + 2));
    }
    assert_int_equal(parex_read_header(r, &h, H + 1), PAREX_E_NOTFOUND);
    assert_int_equal(parex_read_block(r, &blk, &blen, H + 1),
        PAREX_E_NOTFOUND);
    assert_int_equal(parex_read_block(r, &blk, &blen, H), PAREX_OK);
    assert_int_equal(parex_block_peek(&h, &ntx, NULL, blk, blen, NULL),
        PAREX_OK);
    assert_true(h.height == H);
    if (H > 0) {
        uint32_t l;
        const uint8_t *p = blk + PAREX_HEADER_BYTES + 4;

        assert_int_equal(ntx, N_SEND);
        l = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
            (uint32_t)p[3] << 24;
        assert_int_equal(parex_tx_decode(&tx, NULL, p + 4, l, NULL),
            PAREX_OK);
        assert_int_equal(parex_tx_id(txid, &tx), PAREX_OK);
        assert_int_equal(parex_read_receipt(r, &rc0, &height, &index, txid),
            PAREX_OK);
        assert_true(height == H);
        assert_int_equal(index, 0);
        assert_int_equal(rc0.status, PAREX_TX_SUCCESS);
        assert_int_equal(parex_read_block_receipt(r, &rc1, H, 0), PAREX_OK);
        assert_memory_equal(rc1.txid, txid, 32);
    } else {
        assert_int_equal(ntx, 0);
    }
    /* Borrowed values are still the bytes they were. */
    for (i = 0; i < N_SEND; i++) {
        assert_memory_equal(val[i], copy[i], 16);
    }
    return H;
}

static void test_read_txn_sees_one_height_while_blocks_commit(void **state)
{
    world *w = world_open(2);
    writer_arg a;
    pthread_t th;
    parex_read *r, *renewed;
    uint64_t last = 0, seen = 0, reads = 0;

    (void)state;
    a.w = w;
    a.blocks = tu_iters(40);
    atomic_init(&a.done, 0);
    assert_int_equal(parex_read_begin(&renewed, w->db), PAREX_OK);
    assert_int_equal(pthread_create(&th, NULL, writer_main, &a), 0);
    while (!atomic_load(&a.done) || reads < 4) {
        uint64_t h;

        assert_int_equal(parex_read_begin(&r, w->db), PAREX_OK);
        h = read_one_height(r);
        /* A second pass in the same transaction: still height h. */
        assert_true(read_one_height(r) == h);
        parex_read_end(r);
        assert_true(h >= last);
        if (h != last) {
            seen++;
        }
        last = h;
        /* A long-lived, renewed transaction moves forward only. */
        assert_int_equal(parex_read_renew(renewed), PAREX_OK);
        assert_true(read_one_height(renewed) >= h);
        reads++;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    parex_read_end(renewed);
    assert_int_equal(parex_read_begin(&r, w->db), PAREX_OK);
    assert_true(read_one_height(r) == a.blocks);
    parex_read_end(r);
    print_message("# %llu reads saw %llu distinct heights\n",
        (unsigned long long)reads, (unsigned long long)seen);
    world_close(w);
}

/* ---- snapshots (parex_db_snapshot) --------------------------------------- */

/* Open a snapshot copy and check that it is one height: the height and
 * root it was reported at, every value, block and receipt of that height
 * (read_one_height), the recomputed root equal to the header's, and the
 * source's chain id and genesis. Returns the height. */
static uint64_t check_copy(const char *path, const parex_header *reported,
    const parex_db *src)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_db *cp;
    parex_read *r;
    parex_header h;
    uint8_t root[32], g1[32], g2[32];
    uint32_t c1 = 0, c2 = 0;
    uint64_t H;

    o.read_only = 1;
    o.no_create = 1;
    assert_int_equal(parex_db_open(&cp, NULL, path, &o), PAREX_OK);
    assert_int_equal(parex_read_begin(&r, cp), PAREX_OK);
    H = read_one_height(r);
    assert_int_equal(parex_read_head(r, &h), PAREX_OK);
    parex_read_end(r);
    assert_true(H == reported->height);
    assert_memory_equal(h.state_root, reported->state_root, 32);
    assert_int_equal(parex_db_verify(cp, root), PAREX_OK);
    assert_memory_equal(root, reported->state_root, 32);
    assert_int_equal(parex_db_chain(cp, &c1, g1), PAREX_OK);
    assert_int_equal(parex_db_chain(src, &c2, g2), PAREX_OK);
    assert_int_equal(c1, CHAIN);
    assert_int_equal(c1, c2);
    assert_memory_equal(g1, g2, 32);
    parex_db_close(cp);
    return H;
}

static void test_snapshot_while_blocks_commit(void **state)
{
    world *w = world_open(2);
    char *base = tu_tmpdir();
    size_t plen = strlen(base) + 32;
    char *path = malloc(plen);
    writer_arg a;
    pthread_t th;
    parex_header h;
    parex_error_info ei;
    uint64_t last = 0, H, copies = 0, seen = 0;

    (void)state;
    if (path == NULL) {
        abort(); /* also tells gcc, whose -Wformat-truncation sees NULL */
    }
    a.w = w;
    a.blocks = tu_iters(40);
    atomic_init(&a.done, 0);
    assert_int_equal(pthread_create(&th, NULL, writer_main, &a), 0);
    while (!atomic_load(&a.done) || copies < 3) {
        snprintf(path, plen, "%s/copy%llu", base,
            (unsigned long long)copies);
        memset(&h, 0, sizeof(h));
        if (parex_db_snapshot(w->db, &h, &ei, path) != PAREX_OK) {
            fail_msg("snapshot: %s", ei.message);
        }
        H = check_copy(path, &h, w->db);
        assert_true(H >= last);
        seen += H != last;
        last = H;
        copies++;
        tu_rmdir(strdup(path));
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    print_message("# %llu snapshots saw %llu distinct heights\n",
        (unsigned long long)copies, (unsigned long long)seen);

    /* After the writer: the copy is the head, and a writer on the copy
     * continues the chain (same block, same root as the source's). */
    snprintf(path, plen, "%s/final", base);
    assert_int_equal(parex_db_snapshot(w->db, &h, NULL, path), PAREX_OK);
    assert_true(check_copy(path, &h, w->db) == a.blocks);
    {
        world c = *w;
        parex_db_options o = PAREX_DB_OPTIONS_INIT;
        parex_header src_next, cp_next;

        o.sync = PAREX_SYNC_NONE;
        o.chain_id = CHAIN;
        assert_int_equal(parex_db_open(&c.db, NULL, path, &o), PAREX_OK);
        world_engine(&c, 2);
        assert_memory_equal(&c.head, &w->head, sizeof(c.head));
        commit_next(&c, NULL);
        commit_next(w, NULL);
        assert_int_equal(parex_db_head(c.db, &cp_next), PAREX_OK);
        assert_int_equal(parex_db_head(w->db, &src_next), PAREX_OK);
        assert_true(cp_next.height == a.blocks + 1);
        assert_memory_equal(cp_next.state_root, src_next.state_root, 32);
        assert_int_equal(parex_db_verify(c.db, NULL), PAREX_OK);
        parex_engine_destroy(c.e);
        parex_db_close(c.db);
    }
    free(path);
    tu_rmdir(base);
    world_close(w);
}

/* Refusals leave the target as it was. */
static void test_snapshot_refusals(void **state)
{
    world *w = world_open(1);
    char *base = tu_tmpdir();
    size_t plen = strlen(base) + 64;
    char *path = malloc(plen), *file = malloc(plen);
    parex_error_info ei;
    parex_header h;
    size_t len;
    unsigned char *got;
    parex_db *empty;
    struct stat st;

    (void)state;
    if (path == NULL) {
        abort(); /* also tells gcc, whose -Wformat-truncation sees NULL */
    }
    if (file == NULL) {
        abort();
    }
    commit_next(w, NULL);
    /* Not empty: nothing written, the file inside untouched. */
    snprintf(path, plen, "%s/full", base);
    assert_int_equal(mkdir(path, 0777), 0);
    snprintf(file, plen, "%s/full/keep", base);
    tu_write_file(file, "keep", 4);
    assert_int_equal(parex_db_snapshot(w->db, &h, &ei, path),
        PAREX_E_EXISTS);
    assert_non_null(strstr(ei.message, "not empty"));
    got = tu_read_file(file, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(got, "keep", 4);
    free(got);
    snprintf(file, plen, "%s/full/data.mdb", base);
    assert_int_not_equal(stat(file, &st), 0);
    /* A file, not a directory. */
    snprintf(path, plen, "%s/full/keep", base);
    assert_int_equal(parex_db_snapshot(w->db, &h, &ei, path),
        PAREX_E_EXISTS);
    /* Missing parent. */
    snprintf(path, plen, "%s/no/such", base);
    assert_int_equal(parex_db_snapshot(w->db, &h, &ei, path), PAREX_E_IO);
    assert_non_null(strstr(ei.message, path));
    /* An existing empty directory is used. */
    snprintf(path, plen, "%s/empty", base);
    assert_int_equal(mkdir(path, 0777), 0);
    assert_int_equal(parex_db_snapshot(w->db, &h, &ei, path), PAREX_OK);
    assert_true(h.height == 1);
    /* A store without genesis: nothing to copy, nothing left. */
    snprintf(path, plen, "%s/nogenesis", base);
    assert_int_equal(mkdir(path, 0777), 0);
    assert_int_equal(parex_db_open(&empty, NULL, path, NULL), PAREX_OK);
    snprintf(file, plen, "%s/nogenesis-copy", base);
    assert_int_equal(parex_db_snapshot(empty, &h, &ei, file),
        PAREX_E_NOTFOUND);
    assert_int_not_equal(stat(file, &st), 0);
    parex_db_close(empty);
    /* Misuse. */
    assert_int_equal(parex_db_snapshot(NULL, &h, &ei, path),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_snapshot(w->db, &h, &ei, NULL),
        PAREX_E_MISUSE);
    free(path);
    free(file);
    tu_rmdir(base);
    world_close(w);
}

/* A read transaction keeps its snapshot across commits. */
static void test_read_txn_is_a_snapshot(void **state)
{
    world *w = world_open(1);
    parex_read *r, *r2;
    parex_header h;
    const uint8_t *v;
    size_t len;
    uint64_t bal, nonce;

    (void)state;
    commit_next(w, NULL);
    assert_int_equal(parex_read_begin(&r, w->db), PAREX_OK);
    commit_next(w, NULL);
    commit_next(w, NULL);
    assert_int_equal(parex_read_head(r, &h), PAREX_OK);
    assert_true(h.height == 1);
    assert_int_equal(parex_read_get(r, &v, &len, w->acct[0]), PAREX_OK);
    assert_int_equal(parex_account_decode(&bal, &nonce, v, len), PAREX_OK);
    assert_true(nonce == 1);
    assert_int_equal(parex_read_get(r, &v, &len, w->sink), PAREX_OK);
    assert_int_equal(parex_read_begin(&r2, w->db), PAREX_OK);
    assert_int_equal(parex_read_head(r2, &h), PAREX_OK);
    assert_true(h.height == 3);
    assert_int_equal(parex_read_renew(r), PAREX_OK);
    assert_int_equal(parex_read_head(r, &h), PAREX_OK);
    assert_true(h.height == 3);
    parex_read_end(r);
    parex_read_end(r2);
    parex_read_end(NULL);

    /* Misuse. */
    assert_int_equal(parex_read_begin(NULL, w->db), PAREX_E_MISUSE);
    r = (parex_read *)w;
    assert_int_equal(parex_read_begin(&r, NULL), PAREX_E_MISUSE);
    assert_null(r);
    assert_int_equal(parex_read_head(NULL, &h), PAREX_E_MISUSE);
    assert_int_equal(parex_read_get(NULL, &v, &len, w->sink),
        PAREX_E_MISUSE);
    assert_int_equal(parex_read_renew(NULL), PAREX_E_MISUSE);
    world_close(w);
}

/* ---- blocks and receipts in the store ------------------------------------ */

static void check_chain_store(world *w, parex_receipt r[][N_SEND],
    parex_header *hdr, uint64_t top)
{
    parex_read *rd;
    uint64_t b;

    assert_int_equal(parex_read_begin(&rd, w->db), PAREX_OK);
    for (b = 0; b <= top; b++) {
        const uint8_t *blk, *p;
        size_t blen, ntx, i;
        parex_header h, hh;
        uint8_t hash[32];
        uint64_t at = 99;

        assert_int_equal(parex_read_header(rd, &hh, b), PAREX_OK);
        assert_memory_equal(hh.state_root, hdr[b].state_root, 32);
        assert_int_equal(parex_read_block(rd, &blk, &blen, b), PAREX_OK);
        assert_int_equal(parex_block_peek(&h, &ntx, NULL, blk, blen, NULL),
            PAREX_OK);
        /* The stored header is the computed one: roots filled. */
        assert_memory_equal(h.state_root, hdr[b].state_root, 32);
        assert_memory_equal(h.tx_root, hdr[b].tx_root, 32);
        assert_memory_equal(h.receipts_root, hdr[b].receipts_root, 32);
        parex_header_hash(hash, &h);
        assert_int_equal(parex_read_block_height(rd, &at, hash), PAREX_OK);
        assert_true(at == b);
        assert_int_equal(ntx, b == 0 ? 0 : N_SEND);
        p = blk + PAREX_HEADER_BYTES + 4;
        for (i = 0; i < ntx; i++) {
            uint32_t l = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
                (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            parex_tx tx;
            parex_receipt rc;
            uint8_t id[32];
            uint32_t index = 99;

            assert_int_equal(parex_tx_decode(&tx, NULL, p + 4, l, NULL),
                PAREX_OK);
            assert_int_equal(parex_tx_verify(&tx), PAREX_OK);
            assert_int_equal(parex_tx_id(id, &tx), PAREX_OK);
            assert_int_equal(parex_read_receipt(rd, &rc, &at, &index, id),
                PAREX_OK);
            assert_true(at == b);
            assert_int_equal(index, i);
            assert_memory_equal(rc.txid, r[b][i].txid, 32);
            assert_int_equal(rc.status, r[b][i].status);
            assert_int_equal(rc.code, r[b][i].code);
            assert_true(rc.fee == r[b][i].fee);
            memset(&rc, 0, sizeof(rc));
            assert_int_equal(parex_read_block_receipt(rd, &rc, b,
                                 (uint32_t)i), PAREX_OK);
            assert_memory_equal(rc.txid, id, 32);
            p += 4 + l;
        }
        assert_true(p == blk + blen);
        {
            parex_receipt rc;
            assert_int_equal(parex_read_block_receipt(rd, &rc, b,
                                 (uint32_t)ntx), PAREX_E_NOTFOUND);
        }
    }
    {
        parex_receipt rc;
        uint8_t zero[32];
        uint64_t at;
        const uint8_t *blk;
        size_t blen;

        memset(zero, 0, 32);
        assert_int_equal(parex_read_receipt(rd, &rc, NULL, NULL, zero),
            PAREX_E_NOTFOUND);
        assert_int_equal(parex_read_block_height(rd, &at, zero),
            PAREX_E_NOTFOUND);
        assert_int_equal(parex_read_block(rd, &blk, &blen, top + 1),
            PAREX_E_NOTFOUND);
        assert_null(blk);
        assert_int_equal(blen, 0);
        assert_int_equal(parex_read_block_receipt(rd, &rc, top + 1, 0),
            PAREX_E_NOTFOUND);
    }
    parex_read_end(rd);
}

static void test_blocks_and_receipts_by_height_hash_and_txid(void **state)
{
    world *w = world_open(3);
    parex_receipt r[5][N_SEND];
    parex_header hdr[5];
    uint64_t b;

    (void)state;
    hdr[0] = w->head;
    memset(r, 0, sizeof(r));
    for (b = 1; b <= 3; b++) {
        commit_next(w, r[b]);
        hdr[b] = w->head;
    }
    /* A pending block (execute, then commit) is stored too, though the
     * caller's buffer is gone by the commit. */
    {
        uint8_t args[N_SEND][40];
        parex_tx txs[N_SEND];
        parex_block_stats st = PAREX_BLOCK_STATS_INIT;
        size_t len;
        uint8_t *blk = next_block(w, &len, args, txs);

        assert_int_equal(parex_engine_execute(w->e, &hdr[4], r[4], N_SEND,
                             NULL, NULL, blk, len, 0), PAREX_OK);
        memset(blk, 0, len);
        free(blk);
        assert_int_equal(parex_engine_commit(w->e, &st), PAREX_OK);
        w->head = hdr[4];
    }
    check_chain_store(w, r, hdr, 4);
    /* The same after a reopen (it is in data.mdb, not in memory). */
    parex_engine_destroy(w->e);
    parex_db_close(w->db);
    assert_int_equal(parex_db_open(&w->db, NULL, w->dir, NULL), PAREX_OK);
    world_engine(w, 1);
    check_chain_store(w, r, hdr, 4);
    world_close(w);
}

/* A rejected block stores nothing. */
static void test_rejected_block_stores_no_block(void **state)
{
    world *w = world_open(2);
    uint8_t args[N_SEND][40];
    parex_tx txs[N_SEND];
    parex_error_info err;
    parex_receipt r[N_SEND];
    parex_read *rd;
    const uint8_t *b;
    size_t len, blen;
    uint8_t *blk, id[32];

    (void)state;
    blk = next_block(w, &len, args, txs);
    blk[len - 1] ^= 1; /* the last tx's signature */
    assert_int_equal(parex_engine_execute(w->e, NULL, r, N_SEND, NULL, &err,
                         blk, len, PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_BAD_SIGNATURE);
    free(blk);
    assert_int_equal(parex_tx_id(id, &txs[0]), PAREX_OK);
    assert_int_equal(parex_read_begin(&rd, w->db), PAREX_OK);
    assert_int_equal(parex_read_block(rd, &b, &blen, 1), PAREX_E_NOTFOUND);
    assert_int_equal(parex_read_receipt(rd, &r[0], NULL, NULL, id),
        PAREX_E_NOTFOUND);
    parex_read_end(rd);
    world_close(w);
}

/* ---- walks --------------------------------------------------------------- */

typedef struct walk {
    uint8_t keys[64][32];
    size_t n, stop_at;
    int ret;
} walk;

static int walk_fn(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    walk *k = user;

    assert_true((val == NULL) == (len == 0));
    assert_true(k->n < 64);
    memcpy(k->keys[k->n++], key, 32);
    return k->n == k->stop_at ? k->ret : 0;
}

static void test_walks_all_prefix_range_and_stop(void **state)
{
    char *dir = tu_tmpdir();
    parex_db *db;
    parex_read *r;
    parex_kv kv[12];
    uint8_t fee[32] = { 1 }, lo[32], hi[32], pre[32];
    walk k;
    int i;

    (void)state;
    /* Keys: first byte i / 4 (0, 0, 0, 0, 1, ... 2), then 0xff..ff for
     * the last one, whose prefix has no successor. */
    memset(kv, 0, sizeof(kv));
    for (i = 0; i < 12; i++) {
        kv[i].key[0] = (uint8_t)(i / 4);
        kv[i].key[1] = (uint8_t)i;
        kv[i].value = (const uint8_t *)"v";
        kv[i].value_len = i == 5 ? 0 : 1;
        if (i == 5) {
            kv[i].value = NULL;
        }
    }
    memset(kv[11].key, 0xff, 32);
    assert_int_equal(parex_db_open(&db, NULL, dir, NULL), PAREX_OK);
    assert_int_equal(parex_db_genesis_chain(db, NULL, 3, kv, 12, fee),
        PAREX_OK);
    assert_int_equal(parex_read_begin(&r, db), PAREX_OK);

    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_foreach(r, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 12);
    for (i = 1; i < 12; i++) {
        assert_true(memcmp(k.keys[i - 1], k.keys[i], 32) < 0);
    }

    memset(&k, 0, sizeof(k));
    pre[0] = 1;
    assert_int_equal(parex_read_prefix(r, pre, 1, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 4);
    assert_int_equal(k.keys[0][1], 4);
    assert_int_equal(k.keys[3][1], 7);

    memset(&k, 0, sizeof(k));
    memset(pre, 0xff, 32);
    assert_int_equal(parex_read_prefix(r, pre, 3, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 1);
    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_prefix(r, pre, 32, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 1);
    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_prefix(r, kv[6].key, 32, walk_fn, &k),
        PAREX_OK);
    assert_int_equal(k.n, 1);
    assert_memory_equal(k.keys[0], kv[6].key, 32);
    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_prefix(r, NULL, 0, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 12);
    assert_int_equal(parex_read_prefix(r, pre, 33, walk_fn, &k),
        PAREX_E_MISUSE);

    /* [lo, hi): lo included, hi excluded. */
    memset(&k, 0, sizeof(k));
    memcpy(lo, kv[2].key, 32);
    memcpy(hi, kv[9].key, 32);
    assert_int_equal(parex_read_range(r, lo, hi, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 7);
    assert_memory_equal(k.keys[0], kv[2].key, 32);
    assert_memory_equal(k.keys[6], kv[8].key, 32);
    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_range(r, NULL, hi, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 9);
    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_range(r, lo, NULL, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 10);
    memset(&k, 0, sizeof(k));
    assert_int_equal(parex_read_range(r, hi, lo, walk_fn, &k), PAREX_OK);
    assert_int_equal(k.n, 0);

    /* A stop is PAREX_STOPPED, not PAREX_OK; an error is passed on. */
    memset(&k, 0, sizeof(k));
    k.stop_at = 3;
    k.ret = 1;
    assert_int_equal(parex_read_foreach(r, walk_fn, &k), PAREX_STOPPED);
    assert_int_equal(k.n, 3);
    memset(&k, 0, sizeof(k));
    k.stop_at = 12; /* stopping at the very last pair is still a stop */
    k.ret = 7;
    assert_int_equal(parex_read_foreach(r, walk_fn, &k), PAREX_STOPPED);
    memset(&k, 0, sizeof(k));
    k.stop_at = 2;
    k.ret = PAREX_E_NOMEM;
    assert_int_equal(parex_read_range(r, lo, hi, walk_fn, &k),
        PAREX_E_NOMEM);
    assert_int_equal(k.n, 2);
    memset(&k, 0, sizeof(k));
    k.stop_at = 1;
    k.ret = 1;
    assert_int_equal(parex_db_foreach(db, walk_fn, &k), PAREX_STOPPED);
    assert_int_equal(PAREX_STOPPED > 0, 1);
    assert_int_equal(parex_read_foreach(NULL, walk_fn, &k), PAREX_E_MISUSE);
    parex_read_end(r);
    parex_db_close(db);
    tu_rmdir(dir);
}

/* ---- the self-describing store ------------------------------------------- */

static void test_store_records_chain_and_genesis(void **state)
{
    world *w = world_open(1);
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info err;
    parex_engine *e;
    parex_db *db;
    uint8_t g[32], hash0[32];
    uint32_t chain = 0;
    char *dir;

    (void)state;
    parex_header_hash(hash0, &w->head);
    assert_int_equal(parex_db_chain(w->db, &chain, g), PAREX_OK);
    assert_int_equal(chain, CHAIN);
    assert_memory_equal(g, hash0, 32);
    /* An engine of another chain id is refused. */
    parex_engine_options_default(&eo);
    eo.chain_id = CHAIN + 1;
    e = (parex_engine *)w;
    assert_int_equal(parex_engine_create(&e, w->db, &eo), PAREX_E_MISMATCH);
    assert_null(e);
    commit_next(w, NULL);
    parex_engine_destroy(w->e);
    w->e = NULL;
    parex_db_close(w->db);
    w->db = NULL;

    /* Opening with the right expectations works; with others fails and
     * names both values. */
    o.chain_id = CHAIN;
    memcpy(o.genesis, hash0, 32);
    assert_int_equal(parex_db_open(&db, &err, w->dir, &o), PAREX_OK);
    parex_db_close(db);
    o.chain_id = 9;
    db = (parex_db *)w;
    assert_int_equal(parex_db_open(&db, &err, w->dir, &o), PAREX_E_MISMATCH);
    assert_null(db);
    assert_int_equal(err.code, PAREX_E_MISMATCH);
    assert_string_equal(err.field, "chain_id");
    assert_non_null(strstr(err.message, "chain id 7"));
    assert_non_null(strstr(err.message, "expected 9"));
    assert_non_null(strstr(err.message, w->dir));
    o.chain_id = 0;
    o.genesis[0] ^= 1;
    assert_int_equal(parex_db_open(&db, &err, w->dir, &o), PAREX_E_MISMATCH);
    assert_string_equal(err.field, "genesis");
    {
        char a[17], b[17];
        int i;
        for (i = 0; i < 8; i++) {
            snprintf(a + 2 * i, 3, "%02x", hash0[i]);
            snprintf(b + 2 * i, 3, "%02x", o.genesis[i]);
        }
        assert_non_null(strstr(err.message, a));
        assert_non_null(strstr(err.message, b));
    }
    /* Read-only openers are checked the same way. */
    o.read_only = 1;
    assert_int_equal(parex_db_open(&db, &err, w->dir, &o), PAREX_E_MISMATCH);
    o.genesis[0] ^= 1;
    assert_int_equal(parex_db_open(&w->db, &err, w->dir, &o), PAREX_OK);
    parex_db_close(w->db);
    assert_int_equal(parex_db_open(&w->db, &err, w->dir, NULL), PAREX_OK);

    /* parex_db_genesis (0.1) records no chain id: any engine is taken. */
    dir = tu_tmpdir();
    assert_int_equal(parex_db_open(&db, NULL, dir, NULL), PAREX_OK);
    assert_int_equal(parex_db_chain(db, &chain, g), PAREX_E_NOTFOUND);
    assert_int_equal(parex_db_genesis_chain(db, NULL, 0, NULL, 0,
                         w->fee_pub), PAREX_E_INVALID);
    assert_int_equal(parex_db_genesis(db, NULL, NULL, 0, w->fee_pub),
        PAREX_OK);
    assert_int_equal(parex_db_chain(db, &chain, NULL), PAREX_OK);
    assert_int_equal(chain, 0);
    eo.chain_id = 12345;
    assert_int_equal(parex_engine_create(&e, db, &eo), PAREX_OK);
    parex_engine_destroy(e);
    parex_db_close(db);
    tu_rmdir(dir);
    world_close(w);
}

/* no_create: a directory without a store is refused and left empty. */
static void test_no_create_refuses_a_missing_store(void **state)
{
    char *dir = tu_tmpdir();
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info err;
    parex_db *db;
    struct stat st;
    char path[4096];

    (void)state;
    o.no_create = 1;
    assert_int_equal(parex_db_open(&db, &err, dir, &o), PAREX_E_NOTFOUND);
    assert_null(db);
    assert_non_null(strstr(err.message, "no data.mdb"));
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    assert_int_equal(stat(path, &st), -1);
    snprintf(path, sizeof path, "%s/writer.lock", dir);
    assert_int_equal(stat(path, &st), -1);
    o.no_create = 0;
    assert_int_equal(parex_db_open(&db, &err, dir, &o), PAREX_OK);
    parex_db_close(db);
    o.no_create = 1;
    assert_int_equal(parex_db_open(&db, &err, dir, &o), PAREX_OK);
    parex_db_close(db);
    tu_rmdir(dir);
}

/* ---- one writer per store ------------------------------------------------ */

static void test_second_writer_is_refused(void **state)
{
    char *dir = tu_tmpdir();
    parex_db_options ro = PAREX_DB_OPTIONS_INIT;
    parex_error_info err;
    parex_db *db, *db2, *rdb;
    char pid[32];
    int fds[2], status;
    pid_t child;
    char c;

    (void)state;
    ro.read_only = 1;
    assert_int_equal(parex_db_open(&db, &err, dir, NULL), PAREX_OK);
    /* A second writer in this process... */
    db2 = (parex_db *)dir;
    assert_int_equal(parex_db_open(&db2, &err, dir, NULL), PAREX_E_LOCKED);
    assert_null(db2);
    assert_int_equal(err.code, PAREX_E_LOCKED);
    snprintf(pid, sizeof pid, "process %ld", (long)getpid());
    assert_non_null(strstr(err.message, pid));
    assert_non_null(strstr(err.message, dir));
    /* ...or in another is refused; readers are welcome. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        parex_db *d;
        int rc = parex_db_open(&d, NULL, dir, NULL);
        _exit(rc == PAREX_E_LOCKED ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(parex_db_open(&rdb, &err, dir, &ro), PAREX_OK);
    parex_db_close(rdb);
    /* The failed opens did not take the lock from the holder: after it
     * closes, the next writer gets it. */
    parex_db_close(db);
    assert_int_equal(parex_db_open(&db, &err, dir, NULL), PAREX_OK);
    parex_db_close(db);

    /* A writer that is killed releases the store. */
    assert_int_equal(pipe(fds), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        parex_db *d;
        close(fds[0]);
        if (parex_db_open(&d, NULL, dir, NULL) != PAREX_OK) {
            _exit(1);
        }
        if (write(fds[1], "x", 1) != 1) {
            _exit(1);
        }
        for (;;) {
            pause();
        }
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &c, 1), 1);
    assert_int_equal(parex_db_open(&db, &err, dir, NULL), PAREX_E_LOCKED);
    snprintf(pid, sizeof pid, "process %ld", (long)child);
    assert_non_null(strstr(err.message, pid));
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    close(fds[0]);
    assert_int_equal(parex_db_open(&db, &err, dir, NULL), PAREX_OK);
    parex_db_close(db);
    tu_rmdir(dir);
}

/* ---- caller-sized structs ------------------------------------------------ */

/* parex_block_stats as 0.1 laid it out: no size member. */
typedef struct stats_v01 {
    uint64_t txs, batches, reexecutions, escaped, fallback;
    uint64_t decode_ns, verify_ns, analysis_ns, exec_ns, validate_ns,
        apply_ns, root_ns, commit_ns, total_ns, map_probes;
} stats_v01;

/* parex_engine_options as 0.1 laid it out. */
typedef struct options_v01 {
    unsigned threads;
    uint32_t chain_id;
    parex_limits limits;
    int sequential;
    uint32_t min_batch_width;
    int profile;
} options_v01;

/* An older sized caller: only the first fields of parex_block_stats,
 * then memory the library must not touch. */
typedef struct stats_short {
    size_t size;
    uint64_t txs, batches;
    uint64_t guard[24];
} stats_short;

static void test_sized_structs_of_other_layouts(void **state)
{
    world *w = world_open(2);
    uint8_t args[N_SEND][40];
    parex_tx txs[N_SEND];
    parex_receipt r[N_SEND];
    parex_error_info err;
    parex_header before, after;
    size_t len, i;
    uint8_t *blk;

    (void)state;
    assert_int_equal(parex_db_head(w->db, &before), PAREX_OK);
    blk = next_block(w, &len, args, txs);
    /* A 0.1 stats struct, zeroed or not, is refused and left alone; the
     * block is not executed. */
    {
        stats_v01 old, ref;
        int fill;

        for (fill = 0; fill < 3; fill++) {
            memset(&old, fill == 0 ? 0 : fill == 1 ? 0xff : 0x5a,
                sizeof(old));
            if (fill == 2) {
                old.txs = 123456789; /* a count left from a previous block */
            }
            ref = old;
            assert_int_equal(parex_engine_execute(w->e, NULL, r, N_SEND,
                                 (parex_block_stats *)(void *)&old, &err,
                                 blk, len, PAREX_EXEC_COMMIT),
                PAREX_E_MISUSE);
            assert_memory_equal(&old, &ref, sizeof(old));
            assert_string_equal(err.field, "size");
            assert_int_equal(parex_db_head(w->db, &after), PAREX_OK);
            assert_true(after.height == before.height);
        }
    }
    /* A shorter sized struct is served its own size. */
    {
        stats_short s;

        memset(&s, 0xab, sizeof(s));
        s.size = offsetof(stats_short, guard);
        assert_int_equal(parex_engine_execute(w->e, &w->head, r, N_SEND,
                             (parex_block_stats *)(void *)&s, &err, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_OK);
        assert_true(s.size == offsetof(stats_short, guard));
        assert_true(s.txs == N_SEND);
        for (i = 0; i < sizeof(s.guard) / sizeof(s.guard[0]); i++) {
            assert_true(s.guard[i] == 0xababababababababULL);
        }
    }
    free(blk);
    /* A newer, larger one: our fields filled, the rest untouched. */
    {
        struct {
            parex_block_stats s;
            uint64_t newer[4];
        } big;

        memset(&big, 0xcd, sizeof(big));
        big.s.size = sizeof(big);
        blk = next_block(w, &len, args, txs);
        assert_int_equal(parex_engine_execute(w->e, &w->head, r, N_SEND,
                             &big.s, &err, blk, len, PAREX_EXEC_COMMIT),
            PAREX_OK);
        free(blk);
        assert_true(big.s.size == sizeof(big));
        assert_true(big.s.txs == N_SEND);
        assert_true(big.s.verify_skipped == 0);
        for (i = 0; i < 4; i++) {
            assert_true(big.newer[i] == 0xcdcdcdcdcdcdcdcdULL);
        }
    }
    /* commit's stats: short struct, nothing past it. */
    {
        stats_short s;

        memset(&s, 0xab, sizeof(s));
        s.size = offsetof(stats_short, guard);
        blk = next_block(w, &len, args, txs);
        assert_int_equal(parex_engine_execute(w->e, &w->head, r, N_SEND,
                             NULL, &err, blk, len, 0), PAREX_OK);
        free(blk);
        assert_int_equal(parex_engine_commit(w->e,
                             (parex_block_stats *)(void *)&s), PAREX_OK);
        for (i = 0; i < sizeof(s.guard) / sizeof(s.guard[0]); i++) {
            assert_true(s.guard[i] == 0xababababababababULL);
        }
    }

    /* Engine options: a 0.1 struct is refused; a short sized one gets the
     * defaults for what it lacks; a newer one is taken if the fields we do
     * not know are zero. */
    {
        options_v01 old;
        struct {
            size_t size;
            unsigned threads;
            uint32_t chain_id;
        } shorter;
        struct {
            parex_engine_options o;
            uint64_t newer;
        } big;
        parex_engine *e = NULL;

        memset(&old, 0, sizeof(old));
        old.threads = 2;
        old.chain_id = CHAIN;
        parex_limits_default(&old.limits);
        assert_int_equal(parex_engine_create(&e, w->db,
                             (const parex_engine_options *)(void *)&old),
            PAREX_E_MISUSE);
        assert_null(e);
        memset(&old, 0, sizeof(old));
        assert_int_equal(parex_engine_create(&e, w->db,
                             (const parex_engine_options *)(void *)&old),
            PAREX_E_MISUSE);

        memset(&shorter, 0, sizeof(shorter));
        shorter.size = sizeof(shorter);
        shorter.threads = 3;
        shorter.chain_id = CHAIN;
        assert_int_equal(parex_engine_create(&e, w->db,
                             (const parex_engine_options *)(void *)&shorter),
            PAREX_OK);
        assert_int_equal(parex_engine_threads(e), 3);
        parex_engine_destroy(e);

        memset(&big, 0, sizeof(big));
        big.o.size = sizeof(big);
        parex_engine_options_default(&big.o);
        assert_true(big.o.size == sizeof(big));
        assert_true(big.newer == 0);
        big.o.chain_id = CHAIN;
        big.o.threads = 1;
        assert_int_equal(parex_engine_create(&e, w->db, &big.o), PAREX_OK);
        parex_engine_destroy(e);
        big.newer = 1; /* a field this library cannot honour */
        assert_int_equal(parex_engine_create(&e, w->db, &big.o),
            PAREX_E_MISUSE);
    }
    /* options_default serves a short struct its own size. */
    {
        struct options_short {
            size_t size;
            unsigned threads;
            uint32_t chain_id;
            uint64_t guard[8];
        } s;

        memset(&s, 0xab, sizeof(s));
        s.size = offsetof(struct options_short, guard);
        parex_engine_options_default((parex_engine_options *)(void *)&s);
        assert_int_equal(s.threads, 0);
        assert_int_equal(s.chain_id, 1);
        for (i = 0; i < 8; i++) {
            assert_true(s.guard[i] == 0xababababababababULL);
        }
        s.size = 0; /* implausible: left alone */
        s.threads = 77;
        parex_engine_options_default((parex_engine_options *)(void *)&s);
        assert_int_equal(s.threads, 77);
    }
    /* db options: a 0.1 struct ({map_size, sync, read_only}) is refused. */
    {
        struct {
            uint64_t map_size;
            int sync, read_only;
        } old = { (uint64_t)1 << 30, PAREX_SYNC_NONE, 1 };
        parex_db *db = (parex_db *)w;

        assert_int_equal(parex_db_open(&db, &err, w->dir,
                             (const parex_db_options *)(void *)&old),
            PAREX_E_MISUSE);
        assert_null(db);
        assert_string_equal(err.field, "size");
    }
    world_close(w);
}

/* ---- pre-verified signatures --------------------------------------------- */

static void test_verified_flag_skips_signature_checks(void **state)
{
    world *w = world_open(2);
    uint8_t args[N_SEND][40];
    parex_tx txs[N_SEND];
    parex_receipt r[N_SEND], r2[N_SEND];
    parex_block_stats st = PAREX_BLOCK_STATS_INIT;
    parex_error_info err;
    parex_header h1, h2;
    size_t len;
    uint8_t *blk;

    (void)state;
    /* A good block: the same header and receipts either way. */
    blk = next_block(w, &len, args, txs);
    assert_int_equal(parex_engine_execute(w->e, &h1, r, N_SEND, &st, &err,
                         blk, len, 0), PAREX_OK);
    assert_true(st.verify_skipped == 0);
    parex_engine_abort(w->e);
    assert_int_equal(parex_engine_execute(w->e, &h2, r2, N_SEND, &st, &err,
                         blk, len, PAREX_EXEC_VERIFIED), PAREX_OK);
    assert_true(st.verify_skipped == N_SEND);
    assert_memory_equal(h1.state_root, h2.state_root, 32);
    assert_memory_equal(h1.receipts_root, h2.receipts_root, 32);
    assert_memory_equal(r[N_SEND - 1].txid, r2[N_SEND - 1].txid, 32);
    parex_engine_abort(w->e);
    /* A bad signature: rejected unless the caller vouches for it. */
    blk[len - 1] ^= 1;
    assert_int_equal(parex_engine_execute(w->e, NULL, r, N_SEND, &st, &err,
                         blk, len, 0), PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_BAD_SIGNATURE);
    assert_int_equal(parex_engine_execute(w->e, NULL, r, N_SEND, &st, &err,
                         blk, len, PAREX_EXEC_VERIFIED), PAREX_OK);
    parex_engine_abort(w->e);
    free(blk);
    /* The chain id is checked all the same. */
    {
        parex_tx t = txs[0];
        parex_header h;
        uint8_t *b;

        t.chain_id = CHAIN + 1;
        txb_sign(&t, w->sec[0]);
        b = txb_block(&len, &w->head, &t, 1);
        assert_int_equal(parex_engine_execute(w->e, &h, r, N_SEND, &st,
                             &err, b, len, PAREX_EXEC_VERIFIED),
            PAREX_E_BLOCK);
        assert_int_equal(err.reject, PAREX_REJECT_CHAIN_ID);
        free(b);
    }
    world_close(w);
}


/* ---- the program contract: budget, PAREX_E_ABORTED ----------------------- */

#define P_LOOP 500   /* args u32le n: n reads of one key, then a write */
#define P_ABORT 501  /* returns PAREX_E_ABORTED */
#define P_PAIR 502   /* writes keys X and Y to the same value (args) */
#define P_WAIT 503   /* reads X and Y until they agree, ignoring errors
                        for up to 10,000,000 rounds */

static void key_of(uint8_t k[32], const char *name)
{
    parex_sha256(k, name, strlen(name));
}

static int prog_loop(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    const uint8_t *v;
    size_t len;
    uint32_t n, i;
    uint8_t k[32];

    (void)user;
    if (tx->args_len != 4) {
        return 9;
    }
    n = (uint32_t)tx->args[0] | (uint32_t)tx->args[1] << 8 |
        (uint32_t)tx->args[2] << 16 | (uint32_t)tx->args[3] << 24;
    key_of(k, "loop");
    for (i = 0; i < n; i++) {
        /* Ignores every error: the budget must end it all the same. */
        if (parex_ctx_get(ctx, &v, &len, k) != PAREX_OK) {
            continue;
        }
    }
    return parex_ctx_put(ctx, k, tx->args, 4) == PAREX_OK ? 0 : 8;
}

static int prog_abort(parex_ctx *ctx, void *user)
{
    (void)ctx;
    (void)user;
    return PAREX_E_ABORTED;
}

static int prog_pair(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t x[32], y[32];
    int rc;

    (void)user;
    key_of(x, "X");
    key_of(y, "Y");
    rc = parex_ctx_put(ctx, x, tx->args, tx->args_len);
    return rc != PAREX_OK ? rc : parex_ctx_put(ctx, y, tx->args,
        tx->args_len);
}

/* In every sequential order X and Y agree; a speculative run that reads X
 * after an earlier tx's write and Y before it would spin for ever. The
 * budget ends such a run (every read fails once it is spent); validation
 * then re-executes it against consistent values. */
static int prog_wait(parex_ctx *ctx, void *user)
{
    const uint8_t *a, *b;
    size_t la, lb;
    uint8_t x[32], y[32];
    uint32_t round;

    (void)user;
    key_of(x, "X");
    key_of(y, "Y");
    for (round = 0; round < 10000000u; round++) {
        int ra = parex_ctx_get(ctx, &a, &la, x);
        int rb = parex_ctx_get(ctx, &b, &lb, y);

        if (ra == PAREX_E_LIMIT || rb == PAREX_E_LIMIT) {
            return ra == PAREX_E_LIMIT ? ra : rb;
        }
        if (ra == rb && (ra != PAREX_OK || (la == lb &&
                             (la == 0 || memcmp(a, b, la) == 0)))) {
            return 0;
        }
    }
    return 7;
}

static void register_contract(parex_engine *e)
{
    assert_int_equal(parex_engine_register(e, P_LOOP, prog_loop, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(e, P_ABORT, prog_abort, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(e, P_PAIR, prog_pair, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(e, P_WAIT, prog_wait, NULL),
        PAREX_OK);
}

#define N_CONTRACT 24

/* Block: per sender s (nonce 0) four txs would need nonces 0..3; use one
 * tx per sender and program, senders 0..5 and txs of rounds r = 0..3. */
static uint8_t *contract_block(world *w, size_t *len, parex_tx *txs,
    uint8_t args[][4])
{
    size_t i;

    for (i = 0; i < N_CONTRACT; i++) {
        size_t s = i % N_SEND;
        uint32_t n;

        memset(&txs[i], 0, sizeof(txs[i]));
        txs[i].chain_id = CHAIN;
        txs[i].nonce = i / N_SEND;
        txs[i].fee = 1;
        switch (i % 4) {
        case 0:
            txs[i].program = P_LOOP;
            n = i % 8 == 0 ? 50 : 150; /* under and over a budget of 100 */
            break;
        case 1:
            txs[i].program = P_PAIR;
            n = (uint32_t)i;
            break;
        case 2:
            txs[i].program = P_WAIT;
            n = 0;
            break;
        default:
            txs[i].program = i == 7 ? P_ABORT : P_WAIT;
            n = 0;
            break;
        }
        args[i][0] = (uint8_t)n;
        args[i][1] = (uint8_t)(n >> 8);
        args[i][2] = 0;
        args[i][3] = 0;
        txs[i].args = args[i];
        txs[i].args_len = 4;
        txb_sign(&txs[i], w->sec[s]);
    }
    return txb_block(len, &w->head, txs, N_CONTRACT);
}

static void test_budget_and_aborted_are_receipts(void **state)
{
    parex_receipt ref[N_CONTRACT];
    parex_header ref_h;
    int mode;

    (void)state;
    for (mode = 0; mode <= 4; mode++) {
        world *w = calloc(1, sizeof(*w));
        parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
        parex_block_stats st = PAREX_BLOCK_STATS_INIT;
        parex_receipt r[N_CONTRACT];
        parex_error_info err;
        parex_header h;
        parex_tx txs[N_CONTRACT];
        uint8_t args[N_CONTRACT][4];
        size_t len, i, stops = 0;
        uint8_t *blk;
        int rep;

        assert_non_null(w);
        world_keys(w);
        w->dir = tu_tmpdir();
        assert_int_equal(parex_db_open(&w->db, NULL, w->dir, NULL),
            PAREX_OK);
        world_genesis(w);
        parex_engine_options_default(&o);
        o.chain_id = CHAIN;
        o.sequential = mode == 0;
        o.threads = mode == 0 ? 1 : (unsigned)mode;
        o.min_batch_width = 1;
        o.max_tx_calls = 100;
        assert_int_equal(parex_engine_create(&w->e, w->db, &o), PAREX_OK);
        register_contract(w->e);
        blk = contract_block(w, &len, txs, args);
        /* Several runs: speculation differs from run to run, the outcome
         * must not. */
        for (rep = 0; rep < 8; rep++) {
            if (parex_engine_execute(w->e, &h, r, N_CONTRACT, &st, &err, blk,
                    len, 0) != PAREX_OK) {
                fail_msg("mode %d: %s", mode, err.message);
            }
            parex_engine_abort(w->e);
            if (mode == 0 && rep == 0) {
                memcpy(ref, r, sizeof(ref));
                ref_h = h;
            }
            assert_memory_equal(h.state_root, ref_h.state_root, 32);
            assert_memory_equal(h.receipts_root, ref_h.receipts_root, 32);
            for (i = 0; i < N_CONTRACT; i++) {
                assert_int_equal(r[i].status, ref[i].status);
                assert_int_equal(r[i].code, ref[i].code);
            }
        }
        for (i = 0; i < N_CONTRACT; i++) {
            uint32_t want = PAREX_TX_SUCCESS;

            if (txs[i].program == P_LOOP && i % 8 != 0) {
                want = PAREX_TX_BUDGET;
                stops++;
            } else if (txs[i].program == P_ABORT) {
                want = PAREX_TX_FAILED;
                assert_int_equal(r[i].code, PAREX_E_ABORTED);
            }
            assert_int_equal(r[i].status, want);
            assert_true(r[i].fee == 1); /* charged whatever the outcome */
        }
        assert_true(st.budget_stops == stops);
        free(blk);
        world_close(w);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_txn_sees_one_height_while_blocks_commit),
        cmocka_unit_test(test_read_txn_is_a_snapshot),
        cmocka_unit_test(test_snapshot_while_blocks_commit),
        cmocka_unit_test(test_snapshot_refusals),
        cmocka_unit_test(test_blocks_and_receipts_by_height_hash_and_txid),
        cmocka_unit_test(test_rejected_block_stores_no_block),
        cmocka_unit_test(test_walks_all_prefix_range_and_stop),
        cmocka_unit_test(test_store_records_chain_and_genesis),
        cmocka_unit_test(test_no_create_refuses_a_missing_store),
        cmocka_unit_test(test_second_writer_is_refused),
        cmocka_unit_test(test_sized_structs_of_other_layouts),
        cmocka_unit_test(test_verified_flag_skips_signature_checks),
        cmocka_unit_test(test_budget_and_aborted_are_receipts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
