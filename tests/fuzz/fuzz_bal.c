/* Fuzz target: block access lists.
 *
 * Byte 0 picks the surface:
 *  - even: the rest is a block carrying a BAL for the decoder
 *    (parex_bal_check, px__bal_decode against the block's txs). Accepted
 *    => canonical: written back from the decoded form with a key
 *    reference search of the test's own, it is the same bytes, and
 *    parex_block_bal finds exactly it. Errors name a field.
 *  - odd: the rest drives tests/engine/blockgen.c (tu_rng_bytes): one
 *    random block is executed with PAREX_EXEC_RECORD_BAL, its BAL mutated
 *    by 0-4 random edits (byte flips, insertions, deletions, truncation),
 *    and the sealed block validated at 1, 2 and 4 threads. Checked: the
 *    same return code, reason, tx index, field and message at every
 *    thread count; a rejection leaves the head unchanged; the unmutated
 *    BAL is accepted with the recorder's header; a BAL that differs from
 *    the recorded one in any byte is rejected (a block has one BAL). */
#include <string.h>

#include "bal/bal.h"
#include "blockgen.h"
#include "engine_int.h"
#include "fuzz.h"
#include "testutil.h"

#define N_VAL 3
#define MAX_TXS 16

static void put(uint8_t **p, size_t *len, size_t *cap, const void *src,
    size_t n)
{
    if (*len + n > *cap) {
        *cap = (*len + n) * 2 + 64;
        *p = realloc(*p, *cap);
        FUZZ_CHECK(*p != NULL);
    }
    if (n > 0) {
        memcpy(*p + *len, src, n);
    }
    *len += n;
}

static void put32(uint8_t **p, size_t *len, size_t *cap, uint32_t v)
{
    uint8_t t[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
        (uint8_t)(v >> 24) };
    put(p, len, cap, t, 4);
}

static void put_var(uint8_t **p, size_t *len, size_t *cap, uint32_t v)
{
    uint8_t t[5];
    size_t n = 0;

    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    put(p, len, cap, t, n);
}

/* A key reference of tx (docs/formats.md), found by a linear search: an
 * implementation of its own, not the engine's merge or bsearch. */
static void put_ref(uint8_t **p, size_t *len, size_t *cap,
    const parex_tx *tx, const uint8_t *key)
{
    uint32_t i;

    for (i = 0; i < tx->n_read + tx->n_write; i++) {
        const uint8_t *k = i < tx->n_read
            ? tx->read_set + 32 * (size_t)i
            : tx->write_set + 32 * (size_t)(i - tx->n_read);
        if (memcmp(k, key, 32) == 0) {
            put_var(p, len, cap, i + 1);
            return;
        }
    }
    put_var(p, len, cap, 0);
    put(p, len, cap, key, 32);
}

/* The encoding of a decoded BAL of block blk (docs/formats.md). */
static uint8_t *encode(const px__bal *b, const px__block *blk, size_t *len)
{
    uint8_t *p = NULL, one = 1, zero = 0, ver = PAREX_BAL_VERSION;
    size_t cap = 0, j;
    uint32_t i;

    *len = 0;
    put(&p, len, &cap, &ver, 1);
    put32(&p, len, &cap, (uint32_t)b->n);
    for (j = 0; j < b->n; j++) {
        const px__bal_tx *t = &b->tx[j];
        const parex_tx *tx = &blk->txs[j].tx;
        put_var(&p, len, &cap, t->nw);
        for (i = 0; i < t->nw; i++) {
            put_ref(&p, len, &cap, tx, t->w[i].key);
            put_var(&p, len, &cap, t->w[i].del ? 0 : t->w[i].len + 1);
            if (!t->w[i].del) {
                put(&p, len, &cap, t->w[i].val, t->w[i].len);
            }
        }
        put_var(&p, len, &cap, t->nr);
        for (i = 0; i < t->nr; i++) {
            put_ref(&p, len, &cap, tx, t->r + 32 * (size_t)i);
        }
    }
    put(&p, len, &cap, b->has_fee ? &one : &zero, 1);
    if (b->has_fee) {
        put(&p, len, &cap, b->fee_key, 32);
        put32(&p, len, &cap, b->fee_len);
        put(&p, len, &cap, b->fee_val, b->fee_len);
    }
    return p;
}

/* The input is a block that should carry a BAL (the seeds: blocks of the
 * traces, sealed). */
static void fuzz_decode(const uint8_t *data, size_t size)
{
    parex_error_info err;
    parex_limits lim;
    px__block blk;
    px__bal b;
    size_t n, len;
    int rc = parex_bal_check(&n, &err, size > 0 ? data : NULL, size, NULL);

    if (size == 0) {
        FUZZ_CHECK(rc == PAREX_E_MISUSE);
        return;
    }
    if (rc != PAREX_OK) {
        FUZZ_CHECK(rc == PAREX_E_INVALID || rc == PAREX_E_LIMIT ||
            rc == PAREX_E_NOMEM);
        FUZZ_CHECK(err.message[0] != '\0');
        FUZZ_CHECK(err.field[0] != '\0' || rc == PAREX_E_NOMEM);
        return;
    }
    parex_limits_default(&lim);
    memset(&b, 0, sizeof(b));
    memset(&blk, 0, sizeof(blk));
    FUZZ_CHECK(px__block_decode(&blk, NULL, data, size, &lim) == PAREX_OK);
    FUZZ_CHECK(blk.bal != NULL);
    FUZZ_CHECK(px__bal_decode(&b, NULL, blk.bal, blk.bal_len, &blk, &lim) ==
        PAREX_OK);
    FUZZ_CHECK(b.n == n && n == blk.n);
    {
        /* Accepted => canonical: written back, the same bytes. */
        uint8_t *p = encode(&b, &blk, &len);
        FUZZ_CHECK(len == blk.bal_len && memcmp(p, blk.bal, len) == 0);
        free(p);
    }
    {
        const uint8_t *got;
        size_t glen;
        FUZZ_CHECK(parex_block_bal(&got, &glen, NULL, data, size, NULL) ==
            PAREX_OK);
        FUZZ_CHECK(got == blk.bal && glen == blk.bal_len);
    }
    px__bal_release(&b);
    px__block_release(&blk);
}

typedef struct world {
    char *dir[N_VAL + 1];
    parex_db *db[N_VAL + 1];
    parex_engine *e[N_VAL + 1];
} world;

static void fuzz_validate(const uint8_t *data, size_t size)
{
    static bg_world bw;
    static int have_world;
    static const unsigned threads[N_VAL + 1] = { 1, 1, 2, 4 };
    uint64_t used[24];
    parex_receipt rcpt[N_VAL + 1][MAX_TXS + 1];
    parex_header parent, hdr[N_VAL + 1];
    parex_error_info err[N_VAL + 1];
    int rc[N_VAL + 1];
    tu_rng rng;
    world w;
    parex_kv *kvs;
    size_t nkv, i, n, len, bal_len, edits, e;
    int64_t bad_index;
    uint8_t *blk, *bal, *mut, *sealed;
    size_t mut_len, sealed_len;

    if (!have_world) {
        bg_world_init(&bw, 24, 64);
        have_world = 1;
    }
    memset(bw.nonce, 0, bw.n_senders * sizeof(*bw.nonce));
    tu_rng_bytes(&rng, data, size);
    bg_genesis(&bw, &kvs, &nkv, 1000000000000ULL);
    for (i = 0; i <= N_VAL; i++) {
        parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
        parex_db_options dbo = PAREX_DB_OPTIONS_INIT;
        dbo.map_size = (uint64_t)64 << 20;
        dbo.sync = PAREX_SYNC_NONE;
        w.dir[i] = tu_tmpdir();
        FUZZ_CHECK(parex_db_open(&w.db[i], NULL, w.dir[i], &dbo) == PAREX_OK);
        FUZZ_CHECK(parex_db_genesis(w.db[i], NULL, kvs, nkv,
                       bw.fee_recipient) == PAREX_OK);
        parex_engine_options_default(&o);
        o.threads = threads[i];
        FUZZ_CHECK(parex_engine_create(&w.e[i], w.db[i], &o) == PAREX_OK);
        FUZZ_CHECK(bg_register(w.e[i]) == PAREX_OK);
    }
    bg_genesis_free(kvs, nkv);
    FUZZ_CHECK(parex_db_head(w.db[0], &parent) == PAREX_OK);
    n = (size_t)tu_rng_below(&rng, MAX_TXS + 1);
    blk = bg_block(&bw, &rng, &parent, n,
        (double)tu_rng_below(&rng, 101) / 100,
        (double)tu_rng_below(&rng, 101) / 100, BG_VALID, &len, used,
        &bad_index);
    /* [0] records. */
    FUZZ_CHECK(parex_engine_execute(w.e[0], &hdr[0], rcpt[0], MAX_TXS + 1,
                   NULL, NULL, blk, len, PAREX_EXEC_RECORD_BAL) == PAREX_OK);
    bal_len = 0;
    FUZZ_CHECK(parex_engine_bal(w.e[0], NULL, &bal_len) == PAREX_E_BUFFER);
    bal = malloc(bal_len);
    FUZZ_CHECK(bal != NULL);
    FUZZ_CHECK(parex_engine_bal(w.e[0], bal, &bal_len) == PAREX_OK);
    parex_engine_abort(w.e[0]);
    /* Mutate. */
    mut = malloc(bal_len + 8);
    FUZZ_CHECK(mut != NULL);
    memcpy(mut, bal, bal_len);
    mut_len = bal_len;
    edits = (size_t)tu_rng_below(&rng, 5);
    for (e = 0; e < edits && mut_len > 0; e++) {
        size_t at = (size_t)tu_rng_below(&rng, mut_len);
        switch (tu_rng_below(&rng, 4)) {
        case 0:
            mut[at] ^= (uint8_t)(1 + tu_rng_below(&rng, 255));
            break;
        case 1:
            if (mut_len < bal_len + 8) {
                memmove(mut + at + 1, mut + at, mut_len - at);
                mut[at] = (uint8_t)tu_rng_below(&rng, 256);
                mut_len++;
            }
            break;
        case 2:
            memmove(mut + at, mut + at + 1, mut_len - at - 1);
            mut_len--;
            break;
        default:
            mut_len = at;
            break;
        }
    }
    if (mut_len == 0) {
        mut[0] = 1;
        mut_len = 1;
    }
    sealed_len = 0;
    FUZZ_CHECK(parex_block_attach_bal(NULL, &sealed_len, blk, len, mut,
                   mut_len) == PAREX_E_BUFFER);
    sealed = malloc(sealed_len);
    FUZZ_CHECK(sealed != NULL);
    FUZZ_CHECK(parex_block_attach_bal(sealed, &sealed_len, blk, len, mut,
                   mut_len) == PAREX_OK);
    for (i = 1; i <= N_VAL; i++) {
        parex_header before, after;
        FUZZ_CHECK(parex_db_head(w.db[i], &before) == PAREX_OK);
        rc[i] = parex_engine_execute(w.e[i], &hdr[i], rcpt[i], MAX_TXS + 1,
            NULL, &err[i], sealed, sealed_len, PAREX_EXEC_COMMIT);
        FUZZ_CHECK(parex_db_head(w.db[i], &after) == PAREX_OK);
        if (rc[i] != PAREX_OK) {
            FUZZ_CHECK(rc[i] == PAREX_E_BLOCK);
            FUZZ_CHECK(memcmp(&before, &after, sizeof(before)) == 0);
        }
        FUZZ_CHECK(rc[i] == rc[1]);
        FUZZ_CHECK(err[i].reject == err[1].reject);
        FUZZ_CHECK(err[i].tx_index == err[1].tx_index);
        FUZZ_CHECK(strcmp(err[i].field, err[1].field) == 0);
        FUZZ_CHECK(strcmp(err[i].message, err[1].message) == 0);
    }
    if (mut_len == bal_len && memcmp(mut, bal, bal_len) == 0) {
        FUZZ_CHECK(rc[1] == PAREX_OK);
        for (i = 1; i <= N_VAL; i++) {
            FUZZ_CHECK(memcmp(&hdr[i], &hdr[0], sizeof(hdr[0])) == 0);
            FUZZ_CHECK(memcmp(rcpt[i], rcpt[0], n * sizeof(rcpt[0][0])) ==
                0);
        }
    } else {
        FUZZ_CHECK(rc[1] == PAREX_E_BLOCK);
        FUZZ_CHECK(err[1].reject == PAREX_REJECT_BAL_MISMATCH ||
            err[1].reject == PAREX_REJECT_MALFORMED ||
            err[1].reject == PAREX_REJECT_LIMIT);
    }
    for (i = 0; i <= N_VAL; i++) {
        parex_engine_destroy(w.e[i]);
        parex_db_close(w.db[i]);
        tu_rmdir(w.dir[i]);
    }
    free(sealed);
    free(mut);
    free(bal);
    free(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        fuzz_decode(data + 1, size - 1);
    } else {
        fuzz_validate(data + 1, size - 1);
    }
    return 0;
}
