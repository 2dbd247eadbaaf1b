/* Fuzz target: the parallel engine against the sequential reference.
 *
 * The input is the random stream of tests/engine/blockgen.c (through
 * tu_rng_bytes): it picks 1-3 blocks, each with its tx count, contention,
 * wrong-declaration rate and injected corruption, and then every choice
 * blockgen makes inside a block (senders, programs, keys, which
 * declarations go wrong). Each block runs on five fresh stores: the
 * sequential reference and the parallel engine at 1, 2, 3 and 4 threads
 * with min_batch_width 1, so the parallel path runs even for tiny blocks.
 *
 * Checked, as in tests/engine/test_diff.c: same return code, rejection
 * reason, tx index and field; on success the same header (state, tx and
 * receipts roots) and receipts; a rejected block leaves the head as it
 * was; an injected corruption is rejected at its tx; and after the chain
 * the full state bytes of every store are identical and verify. */
#include <string.h>

#include "blockgen.h"
#include "fuzz.h"
#include "testutil.h"

#define N_ENG 5     /* [0] sequential reference, [1..4] parallel threads */
#define MAX_TXS 24
#define MAX_BLOCKS 3

typedef struct dump {
    uint8_t *buf;
    size_t len, cap;
} dump;

static int dump_kv(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    dump *d = user;
    size_t need = d->len + 32 + 8 + len;
    if (need > d->cap) {
        d->cap = need * 2;
        d->buf = realloc(d->buf, d->cap);
        FUZZ_CHECK(d->buf != NULL);
    }
    memcpy(d->buf + d->len, key, 32);
    memcpy(d->buf + d->len + 32, &len, 8);
    if (len > 0) {
        memcpy(d->buf + d->len + 40, val, len);
    }
    d->len = need;
    return 0;
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

typedef struct world {
    char *dir[N_ENG];
    parex_db *db[N_ENG];
    parex_engine *e[N_ENG];
} world;

static void open_world(world *w, const bg_world *bw)
{
    parex_kv *kvs;
    size_t n, i;

    bg_genesis(bw, &kvs, &n, 1000000000000ULL);
    for (i = 0; i < N_ENG; i++) {
        parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
        /* Small map: blocks here are tiny, and mapping 16 GiB five times
         * per input costs more than the blocks do. */
        parex_db_options dbo = { .size = sizeof(parex_db_options),
            .map_size = (uint64_t)64 << 20, .sync = PAREX_SYNC_NONE, .read_only = 0 };
        w->dir[i] = tu_tmpdir();
        FUZZ_CHECK(parex_db_open(&w->db[i], NULL, w->dir[i], &dbo) ==
            PAREX_OK);
        FUZZ_CHECK(parex_db_genesis(w->db[i], NULL, kvs, n,
                       bw->fee_recipient) == PAREX_OK);
        parex_engine_options_default(&o);
        o.sequential = i == 0;
        o.threads = i == 0 ? 1 : (unsigned)i;
        o.min_batch_width = 1;
        FUZZ_CHECK(parex_engine_create(&w->e[i], w->db[i], &o) == PAREX_OK);
        FUZZ_CHECK(bg_register(w->e[i]) == PAREX_OK);
    }
    bg_genesis_free(kvs, n);
}

static void close_world(world *w)
{
    size_t i;
    for (i = 0; i < N_ENG; i++) {
        parex_engine_destroy(w->e[i]);
        parex_db_close(w->db[i]);
        tu_rmdir(w->dir[i]);
    }
}

static void compare_state(world *w)
{
    dump d[N_ENG];
    size_t i;

    memset(d, 0, sizeof(d));
    for (i = 0; i < N_ENG; i++) {
        FUZZ_CHECK(parex_db_foreach(w->db[i], dump_kv, &d[i]) == PAREX_OK);
        FUZZ_CHECK(parex_db_verify(w->db[i], NULL) == PAREX_OK);
    }
    for (i = 1; i < N_ENG; i++) {
        FUZZ_CHECK(d[i].len == d[0].len);
        FUZZ_CHECK(d[0].len == 0 ||
            memcmp(d[i].buf, d[0].buf, d[0].len) == 0);
    }
    for (i = 0; i < N_ENG; i++) {
        free(d[i].buf);
    }
}

/* Runs one block on every engine and compares the outcomes. Returns 1 if
 * the reference committed it. */
static int run_block(world *w, const uint8_t *blk, size_t len, size_t n,
    int bad, int64_t bad_index)
{
    parex_receipt rc_buf[N_ENG][MAX_TXS + 1];
    parex_header hdr[N_ENG];
    parex_error_info err[N_ENG];
    parex_block_stats st = PAREX_BLOCK_STATS_INIT;
    int rc[N_ENG];
    size_t i;

    for (i = 0; i < N_ENG; i++) {
        parex_header before, after;
        FUZZ_CHECK(parex_db_head(w->db[i], &before) == PAREX_OK);
        rc[i] = parex_engine_execute(w->e[i], &hdr[i], rc_buf[i],
            MAX_TXS + 1, &st, &err[i], blk, len, PAREX_EXEC_COMMIT);
        if (rc[i] != PAREX_OK) {
            FUZZ_CHECK(parex_db_head(w->db[i], &after) == PAREX_OK);
            FUZZ_CHECK(memcmp(&before, &after, sizeof(before)) == 0);
        }
    }
    if (bad != BG_VALID) {
        FUZZ_CHECK(rc[0] == PAREX_E_BLOCK);
        FUZZ_CHECK(err[0].tx_index == bad_index);
    } else {
        FUZZ_CHECK(rc[0] == PAREX_OK);
    }
    for (i = 1; i < N_ENG; i++) {
        FUZZ_CHECK(rc[i] == rc[0]);
        FUZZ_CHECK(err[i].reject == err[0].reject);
        FUZZ_CHECK(err[i].tx_index == err[0].tx_index);
        FUZZ_CHECK(strcmp(err[i].field, err[0].field) == 0);
        if (rc[0] == PAREX_OK) {
            FUZZ_CHECK(memcmp(&hdr[i], &hdr[0], sizeof(hdr[0])) == 0);
            FUZZ_CHECK(receipts_equal(rc_buf[i], rc_buf[0], n));
        }
    }
    return rc[0] == PAREX_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bg_world bw;
    static int have_world;
    uint64_t used[24];
    tu_rng rng;
    world w;
    parex_header parent;
    size_t blocks, b, i;

    if (!have_world) {
        /* Key derivation is the slow part; the world's keys never change,
         * only its nonces, which are reset below. */
        bg_world_init(&bw, 24, 64);
        have_world = 1;
    }
    memset(bw.nonce, 0, bw.n_senders * sizeof(*bw.nonce));
    tu_rng_bytes(&rng, data, size);
    open_world(&w, &bw);
    FUZZ_CHECK(parex_db_head(w.db[0], &parent) == PAREX_OK);
    blocks = 1 + (size_t)tu_rng_below(&rng, MAX_BLOCKS);
    for (b = 0; b < blocks; b++) {
        size_t n = (size_t)tu_rng_below(&rng, MAX_TXS + 1), len;
        double contention = (double)tu_rng_below(&rng, 101) / 100;
        double decl = (double)tu_rng_below(&rng, 101) / 100;
        int bad = tu_rng_below(&rng, 8) == 0
            ? 1 + (int)tu_rng_below(&rng, BG_KINDS - 1) : BG_VALID;
        int64_t bad_index;
        uint8_t *blk;

        if (n == 0) {
            bad = BG_VALID;
        }
        blk = bg_block(&bw, &rng, &parent, n, contention, decl, bad, &len,
            used, &bad_index);
        if (run_block(&w, blk, len, n, bad, bad_index)) {
            for (i = 0; i < bw.n_senders; i++) {
                bw.nonce[i] += used[i];
            }
            FUZZ_CHECK(parex_db_head(w.db[0], &parent) == PAREX_OK);
        }
        free(blk);
    }
    compare_state(&w);
    close_world(&w);
    return 0;
}
