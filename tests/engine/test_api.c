/* The engine and store API: misuse, the genesis/execute/commit life cycle,
 * block validity (height, parent, claimed roots, nonces, fees, signatures,
 * chain id), the built-in programs' semantics, custom programs, and that
 * a rejected block or an error leaves the store exactly as it was.
 *
 * Scenario tests run once per executor: the sequential reference
 * (parex_engine_options.sequential) and the parallel engine with 1..4
 * threads. Every execute call's outcome (code, rejection, header,
 * receipts) is logged, and the logs and the final state dumps of all five
 * runs must be identical.
 *
 * Expected values (balances, trace program outputs, tx and receipts
 * roots) are computed here from docs/formats.md with parex_sha256. */
/* The misuse tests pass NULL where the API says not to, on purpose: like
 * the library itself, build without the nonnull attributes so that those
 * calls are defined behaviour (and UBSan's nonnull-attribute check quiet). */
#define PAREX_BUILD 1

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parex/parex.h"
#include "testutil.h"

/* NULLs the compiler cannot see, for PAREX_ARG_NONNULL parameters. */
static void *volatile g_null;
static volatile parex_program_fn g_null_prog;
static volatile parex_kv_fn g_null_kv_fn;

#define N_ACCT 4        /* accounts 0..2 funded at genesis, 3 absent */
#define GENESIS_BALANCE 1000
#define N_MODES 5       /* 0: sequential reference; 1..4: parallel threads */
#define MAX_LOG 24
#define MAX_R 16

/* Custom program ids. */
#define P_CTX 300       /* records what it sees through the ctx */
#define P_FAIL 301      /* writes, deletes, then fails with code 42 */
#define P_BIG 302       /* writes a value of u32le(args) bytes */
#define P_READ 303      /* reads u32le(args) distinct keys */
#define P_MINT 304      /* credits its sender 1000, then fails if args */

/* ---- little helpers ----------------------------------------------------- */

static void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static void named_key(uint8_t out[32], const char *name)
{
    parex_sha256(out, name, strlen(name));
}

/* TH(tag, x) = SHA-256(SHA-256(tag) || SHA-256(tag) || x). */
static void tagged(uint8_t out[32], const char *tag, const uint8_t *x,
    size_t len)
{
    uint8_t *buf = malloc(64 + len);
    assert_non_null(buf);
    parex_sha256(buf, tag, strlen(tag));
    memcpy(buf + 32, buf, 32);
    if (len > 0) {
        memcpy(buf + 64, x, len);
    }
    parex_sha256(out, buf, 64 + len);
    free(buf);
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void assert_header_equal(const parex_header *a, const parex_header *b)
{
    assert_true(a->height == b->height);
    assert_memory_equal(a->parent, b->parent, 32);
    assert_memory_equal(a->tx_root, b->tx_root, 32);
    assert_memory_equal(a->receipts_root, b->receipts_root, 32);
    assert_memory_equal(a->state_root, b->state_root, 32);
    assert_memory_equal(a->fee_recipient, b->fee_recipient, 32);
}

static void assert_receipt_equal(const parex_receipt *a,
    const parex_receipt *b)
{
    assert_memory_equal(a->txid, b->txid, 32);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->code, b->code);
    assert_true(a->fee == b->fee);
}

/* ---- the test environment ------------------------------------------------ */

typedef struct rec {
    int rc, reject;
    int64_t tx_index;
    char field[32];
    parex_header hdr;
    size_t n;
    parex_receipt r[MAX_R];
} rec;

typedef struct env {
    int mode;
    char *dir;
    parex_db *db;
    parex_engine *e;
    uint8_t sec[N_ACCT][32], pub[N_ACCT][32], acct[N_ACCT][32];
    uint8_t fee_sec[32], fee_pub[32], fee_acct[32];
    uint8_t k_hello[32];
    rec log[MAX_LOG];
    size_t n_log;
} env;

static int g_magic;

/* P_CTX: writes, under key "ctx" || sender, u64le(height) || u64le(nonce)
 * || u32le(program) || sender || args, and copies "hello" to key "ctx2". */
static int prog_ctx(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t key[32], buf[8 + 8 + 4 + 32 + 64], kin[35];
    const uint8_t *v;
    size_t len;
    int rc;

    if (user != &g_magic) {
        return 50;
    }
    if (tx->args_len > 64) {
        return 51;
    }
    st64(buf, parex_ctx_height(ctx));
    st64(buf + 8, tx->nonce);
    st32(buf + 16, tx->program);
    memcpy(buf + 20, tx->sender, 32);
    if (tx->args_len > 0) {
        memcpy(buf + 52, tx->args, tx->args_len);
    }
    memcpy(kin, "ctx", 3);
    memcpy(kin + 3, tx->sender, 32);
    parex_sha256(key, kin, sizeof(kin));
    rc = parex_ctx_put(ctx, key, buf, 52 + (size_t)tx->args_len);
    if (rc != PAREX_OK) {
        return rc;
    }
    named_key(key, "hello");
    rc = parex_ctx_get(ctx, &v, &len, key);
    if (rc != PAREX_OK) {
        return rc == PAREX_E_NOTFOUND ? 52 : rc;
    }
    named_key(key, "ctx2");
    return parex_ctx_put(ctx, key, v, len);
}

/* P_FAIL: puts "fail" = "x", deletes "hello", then fails. */
static int prog_fail(parex_ctx *ctx, void *user)
{
    uint8_t key[32];
    int rc;

    (void)user;
    named_key(key, "fail");
    rc = parex_ctx_put(ctx, key, (const uint8_t *)"x", 1);
    if (rc != PAREX_OK) {
        return rc;
    }
    named_key(key, "hello");
    rc = parex_ctx_del(ctx, key);
    if (rc != PAREX_OK) {
        return rc;
    }
    return 42;
}

/* P_BIG: puts "big" = u32le(args) bytes of 0xab; returns put's code. */
static int prog_big(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t key[32], *val;
    size_t n;
    int rc;

    (void)user;
    if (tx->args_len != 4) {
        return 9;
    }
    n = ld32(tx->args);
    val = malloc(n > 0 ? n : 1);
    if (val == NULL) {
        return PAREX_E_NOMEM;
    }
    memset(val, 0xab, n);
    named_key(key, "big");
    rc = parex_ctx_put(ctx, key, val, n);
    free(val);
    return rc;
}

/* P_READ: reads keys "r0", "r1", ... (u32le(args) of them). */
static int prog_read(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint32_t n, i;

    (void)user;
    if (tx->args_len != 4) {
        return 9;
    }
    n = ld32(tx->args);
    for (i = 0; i < n; i++) {
        char name[16];
        uint8_t key[32];
        const uint8_t *v;
        size_t len;
        int rc;
        snprintf(name, sizeof(name), "r%u", i);
        named_key(key, name);
        rc = parex_ctx_get(ctx, &v, &len, key);
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            return rc;
        }
    }
    return 0;
}

/* P_MINT: rewrites the sender's own account (the key the nonce and fee
 * prelude wrote) with 1000 more, then fails with 7 when it has args. */
static int prog_mint(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t key[32], val[16];
    const uint8_t *v;
    size_t len;
    uint64_t bal, nonce;
    int rc;

    (void)user;
    parex_account_key(key, tx->sender);
    rc = parex_ctx_get(ctx, &v, &len, key);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (parex_account_decode(&bal, &nonce, v, len) != PAREX_OK) {
        return 8;
    }
    parex_account_encode(val, bal + 1000, nonce);
    rc = parex_ctx_put(ctx, key, val, sizeof(val));
    if (rc != PAREX_OK) {
        return rc;
    }
    return tx->args_len > 0 ? 7 : 0;
}

static void env_keys(env *v)
{
    int i;
    for (i = 0; i < N_ACCT; i++) {
        char seed[16];
        snprintf(seed, sizeof(seed), "acct%d", i);
        assert_int_equal(parex_key_from_seed(v->sec[i], v->pub[i],
                             (const uint8_t *)seed, strlen(seed)), PAREX_OK);
        parex_account_key(v->acct[i], v->pub[i]);
    }
    assert_int_equal(parex_key_from_seed(v->fee_sec, v->fee_pub,
                         (const uint8_t *)"fee", 3), PAREX_OK);
    parex_account_key(v->fee_acct, v->fee_pub);
    named_key(v->k_hello, "hello");
}

/* Opens a store (no genesis) and nothing else. */
static env *env_new(int mode)
{
    env *v = calloc(1, sizeof(*v));
    parex_db_options dbo = { .size = sizeof(parex_db_options),
        .map_size = 0, .sync = PAREX_SYNC_NONE, .read_only = 0 };

    assert_non_null(v);
    v->mode = mode;
    env_keys(v);
    v->dir = tu_tmpdir();
    assert_int_equal(parex_db_open(&v->db, NULL, v->dir, &dbo), PAREX_OK);
    return v;
}

static void env_genesis(env *v, uint64_t fee_balance)
{
    parex_kv kvs[N_ACCT + 2];
    uint8_t vals[N_ACCT + 1][16];
    size_t n = 0;
    int i;

    memset(kvs, 0, sizeof(kvs));
    for (i = 0; i < N_ACCT - 1; i++) {
        parex_account_encode(vals[i], GENESIS_BALANCE, 0);
        memcpy(kvs[n].key, v->acct[i], 32);
        kvs[n].value = vals[i];
        kvs[n].value_len = 16;
        n++;
    }
    if (fee_balance > 0) {
        parex_account_encode(vals[N_ACCT], fee_balance, 0);
        memcpy(kvs[n].key, v->fee_acct, 32);
        kvs[n].value = vals[N_ACCT];
        kvs[n].value_len = 16;
        n++;
    }
    memcpy(kvs[n].key, v->k_hello, 32);
    kvs[n].value = (const uint8_t *)"hello";
    kvs[n].value_len = 5;
    n++;
    assert_int_equal(parex_db_genesis(v->db, NULL, kvs, n, v->fee_pub),
        PAREX_OK);
}

static void env_engine(env *v, const parex_limits *lim)
{
    parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;

    parex_engine_options_default(&o);
    o.sequential = v->mode == 0;
    o.threads = v->mode == 0 ? 1 : (unsigned)v->mode;
    o.min_batch_width = 1; /* always exercise the parallel path */
    if (lim != NULL) {
        o.limits = *lim;
    }
    assert_int_equal(parex_engine_create(&v->e, v->db, &o), PAREX_OK);
    assert_int_equal(parex_engine_threads(v->e), o.threads);
    assert_int_equal(parex_engine_register(v->e, P_CTX, prog_ctx, &g_magic),
        PAREX_OK);
    assert_int_equal(parex_engine_register(v->e, P_FAIL, prog_fail, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(v->e, P_BIG, prog_big, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(v->e, P_READ, prog_read, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(v->e, P_MINT, prog_mint, NULL),
        PAREX_OK);
}

/* A store with the standard genesis and an engine in the given mode. */
static env *env_open(int mode, const parex_limits *lim, uint64_t fee_balance)
{
    env *v = env_new(mode);
    env_genesis(v, fee_balance);
    env_engine(v, lim);
    return v;
}

static void env_close(env *v)
{
    parex_engine_destroy(v->e);
    parex_db_close(v->db);
    tu_rmdir(v->dir);
    free(v);
}

/* Executes and logs the outcome for the cross-executor comparison. */
static int exec(env *v, parex_header *hdr, parex_receipt *r, size_t cap,
    parex_error_info *err, const uint8_t *blk, size_t len, unsigned flags)
{
    parex_error_info e2;
    parex_header h2;
    int rc;

    if (err == NULL) {
        err = &e2;
    }
    if (hdr == NULL) {
        hdr = &h2;
    }
    memset(err, 0xee, sizeof(*err));
    rc = parex_engine_execute(v->e, hdr, r, cap, NULL, err, blk, len, flags);
    assert_int_equal(err->code, rc);
    if (rc == PAREX_OK) {
        assert_int_equal(err->reject, PAREX_REJECT_NONE);
        assert_int_equal(err->tx_index, -1);
    } else {
        assert_true(err->message[0] != '\0');
    }
    if (v->n_log < MAX_LOG) {
        rec *l = &v->log[v->n_log++];
        memset(l, 0, sizeof(*l));
        l->rc = rc;
        l->reject = err->reject;
        l->tx_index = err->tx_index;
        memcpy(l->field, err->field, sizeof(l->field));
        if (rc == PAREX_OK) {
            l->hdr = *hdr;
            l->n = cap < MAX_R ? cap : MAX_R;
            if (l->n > 0) {
                memcpy(l->r, r, l->n * sizeof(*r));
            }
        }
    }
    return rc;
}

/* Committed account; absent is 0, 0. */
static void account(env *v, const uint8_t acct[32], uint64_t *bal,
    uint64_t *nonce)
{
    uint8_t val[16];
    size_t len = sizeof(val);
    int rc = parex_db_get(v->db, val, &len, acct);

    if (rc == PAREX_E_NOTFOUND) {
        *bal = 0;
        *nonce = 0;
        return;
    }
    assert_int_equal(rc, PAREX_OK);
    assert_int_equal(parex_account_decode(bal, nonce, val, len), PAREX_OK);
}

static uint64_t balance(env *v, const uint8_t acct[32])
{
    uint64_t b, n;
    account(v, acct, &b, &n);
    return b;
}

static uint64_t nonce_of(env *v, const uint8_t acct[32])
{
    uint64_t b, n;
    account(v, acct, &b, &n);
    return n;
}

/* ---- state snapshots ------------------------------------------------------ */

typedef struct dump {
    uint8_t *buf;
    size_t len, cap;
} dump;

static void dump_add(dump *d, const void *p, size_t n)
{
    if (d->len + n > d->cap) {
        d->cap = 2 * (d->len + n) + 64;
        d->buf = realloc(d->buf, d->cap);
        assert_non_null(d->buf);
    }
    if (n > 0) {
        memcpy(d->buf + d->len, p, n);
    }
    d->len += n;
}

static int dump_kv(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    dump *d = user;
    uint8_t l[4];
    st32(l, (uint32_t)len);
    dump_add(d, key, 32);
    dump_add(d, l, 4);
    dump_add(d, val, len);
    return 0;
}

/* Every committed pair plus the head header, as bytes. */
static dump snapshot(env *v)
{
    dump d = { NULL, 0, 0 };
    parex_header h;
    uint8_t enc[PAREX_HEADER_BYTES];

    assert_int_equal(parex_db_foreach(v->db, dump_kv, &d), PAREX_OK);
    assert_int_equal(parex_db_head(v->db, &h), PAREX_OK);
    parex_header_encode(enc, &h);
    dump_add(&d, enc, sizeof(enc));
    return d;
}

static void assert_unchanged(env *v, const dump *before)
{
    dump now = snapshot(v);
    uint8_t root[32];
    parex_header h;

    if (now.len != before->len ||
        memcmp(now.buf, before->buf, now.len) != 0) {
        fail_msg("state changed (mode %d)", v->mode);
    }
    free(now.buf);
    assert_int_equal(parex_db_head(v->db, &h), PAREX_OK);
    assert_int_equal(parex_db_verify(v->db, root), PAREX_OK);
    assert_memory_equal(root, h.state_root, 32);
}

/* ---- building transactions and blocks ----------------------------------- */

typedef struct txb {
    parex_tx tx;
    uint8_t args[1024];
    uint8_t rs[32 * 8];
    uint8_t ws[32 * 8];
} txb;

static void txb_init(txb *t, uint64_t nonce, uint64_t fee, uint32_t program)
{
    memset(t, 0, sizeof(*t));
    t->tx.chain_id = 1;
    t->tx.nonce = nonce;
    t->tx.fee = fee;
    t->tx.program = program;
}

static void txb_args(txb *t, const void *args, size_t n)
{
    assert_true(n <= sizeof(t->args));
    if (n > 0) {
        memcpy(t->args, args, n);
    }
    t->tx.args_len = (uint32_t)n;
}

static void txb_read(txb *t, const uint8_t key[32])
{
    assert_true(t->tx.n_read < 8);
    memcpy(t->rs + 32 * t->tx.n_read++, key, 32);
}

static void txb_write(txb *t, const uint8_t key[32])
{
    assert_true(t->tx.n_write < 8);
    memcpy(t->ws + 32 * t->tx.n_write++, key, 32);
}

static uint32_t sort_unique(uint8_t *k, uint32_t n)
{
    uint32_t i, m = 0;
    qsort(k, n, 32, cmp32);
    for (i = 0; i < n; i++) {
        if (m == 0 || memcmp(k + 32 * (m - 1), k + 32 * i, 32) != 0) {
            memmove(k + 32 * m, k + 32 * i, 32);
            m++;
        }
    }
    return m;
}

/* Makes the sets canonical (reads that are also writes dropped) and signs
 * with account who's key. */
static void txb_sign(txb *t, const env *v, int who)
{
    uint32_t i, m = 0;

    t->tx.n_read = sort_unique(t->rs, t->tx.n_read);
    t->tx.n_write = sort_unique(t->ws, t->tx.n_write);
    for (i = 0; i < t->tx.n_read; i++) {
        if (bsearch(t->rs + 32 * i, t->ws, t->tx.n_write, 32, cmp32) ==
            NULL) {
            memmove(t->rs + 32 * m++, t->rs + 32 * i, 32);
        }
    }
    t->tx.n_read = m;
    t->tx.args = t->tx.args_len > 0 ? t->args : NULL;
    t->tx.read_set = t->tx.n_read > 0 ? t->rs : NULL;
    t->tx.write_set = t->tx.n_write > 0 ? t->ws : NULL;
    assert_int_equal(parex_tx_sign(&t->tx, who < 0 ? v->fee_sec
                                                   : v->sec[who]), PAREX_OK);
}

/* A signed transfer from -> to, with exact declarations. */
static void txb_transfer(txb *t, const env *v, int from, int to,
    uint64_t nonce, uint64_t fee, uint64_t amount)
{
    uint8_t args[PAREX_TRANSFER_ARGS_BYTES];

    txb_init(t, nonce, fee, PAREX_PROGRAM_TRANSFER);
    parex_transfer_args(args, v->pub[to], amount);
    txb_args(t, args, sizeof(args));
    txb_write(t, v->acct[from]);
    txb_write(t, v->acct[to]);
    txb_sign(t, v, from);
}

/* A signed call of program with args, no declarations. */
static void txb_call(txb *t, const env *v, int from, uint64_t nonce,
    uint64_t fee, uint32_t program, const void *args, size_t n)
{
    txb_init(t, nonce, fee, program);
    txb_args(t, args, n);
    txb_sign(t, v, from);
}

/* The header of the next block on the committed head. */
static void next_header(env *v, parex_header *h)
{
    parex_header head;

    assert_int_equal(parex_db_head(v->db, &head), PAREX_OK);
    memset(h, 0, sizeof(*h));
    h->height = head.height + 1;
    parex_header_hash(h->parent, &head);
    memcpy(h->fee_recipient, v->fee_pub, 32);
}

static uint8_t *encode_block(const parex_header *h, const txb *t, size_t n,
    size_t *len)
{
    parex_tx *txs = calloc(n > 0 ? n : 1, sizeof(*txs));
    uint8_t *buf;
    size_t i;

    assert_non_null(txs);
    for (i = 0; i < n; i++) {
        txs[i] = t[i].tx;
    }
    *len = 0;
    assert_int_equal(parex_block_encode(NULL, len, h, txs, n),
        PAREX_E_BUFFER);
    buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(parex_block_encode(buf, len, h, txs, n), PAREX_OK);
    free(txs);
    return buf;
}

/* The next block on the head with these txs. */
static uint8_t *next_block(env *v, const txb *t, size_t n, size_t *len)
{
    parex_header h;
    next_header(v, &h);
    return encode_block(&h, t, n, len);
}

/* Checks a header's tx root and receipts root against docs/formats.md:
 * TH("parex/txroot", txid_0 || ...), TH("parex/receiptsroot", receipt_0
 * || ...) with a receipt txid || u32le status || i32le code || u64le fee;
 * and that receipt i carries tx i's id. */
static void check_roots(const parex_header *h, const txb *t, size_t n,
    const parex_receipt *r)
{
    uint8_t ids[32 * MAX_R], recs[48 * MAX_R], expect[32];
    size_t i;

    assert_true(n <= MAX_R);
    for (i = 0; i < n; i++) {
        assert_int_equal(parex_tx_id(ids + 32 * i, &t[i].tx), PAREX_OK);
        assert_memory_equal(r[i].txid, ids + 32 * i, 32);
        memcpy(recs + 48 * i, ids + 32 * i, 32);
        st32(recs + 48 * i + 32, r[i].status);
        st32(recs + 48 * i + 36, (uint32_t)r[i].code);
        st64(recs + 48 * i + 40, r[i].fee);
    }
    tagged(expect, "parex/txroot", ids, 32 * n);
    assert_memory_equal(h->tx_root, expect, 32);
    tagged(expect, "parex/receiptsroot", recs, 48 * n);
    assert_memory_equal(h->receipts_root, expect, 32);
}

/* Executes txs as the next block with commit; asserts success, that the
 * returned header is the new head, and its tx and receipts roots. */
static void commit_block(env *v, const txb *t, size_t n, parex_header *hdr,
    parex_receipt *r)
{
    parex_error_info err;
    parex_header h, head;
    size_t len;
    uint8_t *blk = next_block(v, t, n, &len);
    int rc = exec(v, &h, r, n, &err, blk, len, PAREX_EXEC_COMMIT);

    if (rc != PAREX_OK) {
        fail_msg("mode %d: block rejected: %s %s tx %lld field '%s': %s",
            v->mode, parex_errname(rc), parex_reject_name(err.reject),
            (long long)err.tx_index, err.field, err.message);
    }
    free(blk);
    assert_int_equal(parex_db_head(v->db, &head), PAREX_OK);
    assert_header_equal(&h, &head);
    check_roots(&h, t, n, r);
    if (hdr != NULL) {
        *hdr = h;
    }
}

/* ---- running a scenario under every executor ----------------------------- */

typedef void (*scenario_fn)(env *v);

static void assert_logs_equal(const env *a, const env *b)
{
    size_t i, j;

    assert_int_equal(a->n_log, b->n_log);
    for (i = 0; i < a->n_log; i++) {
        const rec *x = &a->log[i], *y = &b->log[i];
        if (x->rc != y->rc || x->reject != y->reject ||
            x->tx_index != y->tx_index || strcmp(x->field, y->field) != 0) {
            fail_msg("execute #%zu: mode %d gives %s/%s tx %lld '%s', "
                "the reference %s/%s tx %lld '%s'", i, b->mode,
                parex_errname(y->rc), parex_reject_name(y->reject),
                (long long)y->tx_index, y->field, parex_errname(x->rc),
                parex_reject_name(x->reject), (long long)x->tx_index,
                x->field);
        }
        assert_header_equal(&x->hdr, &y->hdr);
        assert_int_equal(x->n, y->n);
        for (j = 0; j < x->n; j++) {
            assert_receipt_equal(&x->r[j], &y->r[j]);
        }
    }
}

/* Runs fn on a fresh environment per executor; all must agree. */
static void run_all_modes(scenario_fn fn, const parex_limits *lim,
    uint64_t fee_balance)
{
    env *ref = NULL;
    dump ref_dump = { NULL, 0, 0 };
    int mode;

    for (mode = 0; mode < N_MODES; mode++) {
        env *v = env_open(mode, lim, fee_balance);
        dump d;
        fn(v);
        d = snapshot(v);
        if (ref == NULL) {
            ref = v;
            ref_dump = d;
            continue;
        }
        assert_logs_equal(ref, v);
        if (d.len != ref_dump.len ||
            memcmp(d.buf, ref_dump.buf, d.len) != 0) {
            fail_msg("final state of mode %d differs from the reference",
                mode);
        }
        free(d.buf);
        env_close(v);
    }
    free(ref_dump.buf);
    env_close(ref);
}

/* ---- misuse and life cycle ------------------------------------------------ */

static void test_null_handles_are_misuse(void **state)
{
    env *v = env_open(1, NULL, 0);
    parex_db *db = (parex_db *)&g_magic;
    parex_engine *e = (parex_engine *)&g_magic;
    parex_error_info err;
    parex_header h;
    parex_receipt r[1];
    uint8_t key[32] = { 0 }, val[16], blk[PAREX_HEADER_BYTES + 4];
    size_t len = sizeof(val);

    (void)state;
    memset(blk, 0, sizeof(blk));
    /* Store. */
    assert_int_equal(parex_db_open(g_null, &err, v->dir, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_open(&db, &err, g_null, NULL), PAREX_E_MISUSE);
    assert_int_equal(err.code, PAREX_E_MISUSE);
    /* *out is not reset here: see test_db_open_null_dir_resets_out. */
    assert_int_equal(parex_db_genesis(g_null, NULL, NULL, 0, v->fee_pub),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_genesis(v->db, NULL, NULL, 0, g_null),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_genesis(v->db, NULL, g_null, 1, v->fee_pub),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_head(g_null, &h), PAREX_E_MISUSE);
    assert_int_equal(parex_db_head(v->db, g_null), PAREX_E_MISUSE);
    assert_int_equal(parex_db_header(g_null, &h, 0), PAREX_E_MISUSE);
    assert_int_equal(parex_db_get(g_null, val, &len, key), PAREX_E_MISUSE);
    assert_int_equal(parex_db_get(v->db, val, g_null, key), PAREX_E_MISUSE);
    assert_int_equal(parex_db_get(v->db, val, &len, g_null), PAREX_E_MISUSE);
    assert_int_equal(parex_db_get(v->db, g_null, &len, key), PAREX_E_MISUSE);
    assert_int_equal(parex_db_foreach(g_null, dump_kv, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_foreach(v->db, g_null_kv_fn, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(parex_db_verify(g_null, NULL), PAREX_E_MISUSE);

    /* Engine. */
    assert_int_equal(parex_engine_create(g_null, v->db, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(parex_engine_create(&e, g_null, NULL), PAREX_E_MISUSE);
    assert_null(e);
    assert_int_equal(parex_engine_register(g_null, 400, prog_fail, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(parex_engine_register(v->e, 400, g_null_prog, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(parex_engine_execute(g_null, &h, r, 1, NULL, &err, blk,
                         sizeof(blk), PAREX_EXEC_COMMIT), PAREX_E_MISUSE);
    assert_int_equal(err.code, PAREX_E_MISUSE);
    assert_int_equal(parex_engine_execute(v->e, &h, r, 1, NULL, &err,
                         g_null, sizeof(blk), PAREX_EXEC_COMMIT),
        PAREX_E_MISUSE);
    assert_int_equal(parex_engine_execute(v->e, &h, g_null, 1, NULL, &err,
                         blk, sizeof(blk), PAREX_EXEC_COMMIT),
        PAREX_E_MISUSE);
    assert_int_equal(parex_engine_commit(g_null, NULL), PAREX_E_MISUSE);
    /* Nothing pending. */
    assert_int_equal(parex_engine_commit(v->e, NULL), PAREX_E_MISUSE);
    parex_engine_abort(g_null);
    parex_engine_abort(v->e);
    assert_int_equal(parex_engine_threads(g_null), 0);

    /* Destroying and closing NULL are no-ops. */
    parex_engine_destroy(NULL);
    parex_db_close(NULL);

    /* Bad options. */
    {
        parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
        parex_db_options dbo = { .size = sizeof(parex_db_options),
            .map_size = 0, .sync = (parex_sync)7, .read_only = 0 };
        parex_engine_options_default(&o);
        assert_int_equal(o.chain_id, 1);
        assert_int_equal(o.threads, 0);
        assert_int_equal(o.sequential, 0);
        o.threads = 100000;
        e = (parex_engine *)&g_magic;
        assert_int_equal(parex_engine_create(&e, v->db, &o), PAREX_E_INVALID);
        assert_null(e);
        db = (parex_db *)&g_magic;
        assert_int_equal(parex_db_open(&db, &err, v->dir, &dbo),
            PAREX_E_MISUSE);
        assert_null(db);
    }
    /* A missing directory. */
    {
        char path[512];
        snprintf(path, sizeof(path), "%s/no/such/dir", v->dir);
        db = (parex_db *)&g_magic;
        assert_int_equal(parex_db_open(&db, &err, path, NULL), PAREX_E_IO);
        assert_null(db);
        assert_int_equal(err.code, PAREX_E_IO);
    }
    /* The store is untouched by all of the above. */
    assert_int_equal(parex_db_verify(v->db, NULL), PAREX_OK);
    env_close(v);
}

/* The header promises "out: the handle, NULL on failure", also for misuse:
 * a caller that closes *out on failure must not close a stale pointer. */
static void test_db_open_null_dir_resets_out(void **state)
{
    parex_db *db = (parex_db *)&g_magic;

    (void)state;
    assert_int_equal(parex_db_open(&db, NULL, g_null, NULL), PAREX_E_MISUSE);
    assert_null(db);
}

static void test_genesis_twice_is_exists(void **state)
{
    env *v = env_new(1);
    parex_header h, h2, head;
    uint8_t root[32], expect[32];
    parex_kv kv[2];
    dump before;

    (void)state;
    /* Before genesis there is no head. */
    assert_int_equal(parex_db_head(v->db, &h), PAREX_E_NOTFOUND);
    assert_int_equal(parex_db_header(v->db, &h, 0), PAREX_E_NOTFOUND);
    assert_int_equal(parex_db_verify(v->db, root), PAREX_E_NOTFOUND);

    /* Duplicate keys are rejected and nothing is written. */
    memset(kv, 0, sizeof(kv));
    kv[0].value = (const uint8_t *)"a";
    kv[0].value_len = 1;
    kv[1].value = (const uint8_t *)"b";
    kv[1].value_len = 1;
    assert_int_equal(parex_db_genesis(v->db, NULL, kv, 2, v->fee_pub),
        PAREX_E_INVALID);
    assert_int_equal(parex_db_head(v->db, &h), PAREX_E_NOTFOUND);

    env_genesis(v, 0);
    assert_int_equal(parex_db_head(v->db, &head), PAREX_OK);
    assert_true(head.height == 0);
    memset(expect, 0, 32);
    assert_memory_equal(head.parent, expect, 32);
    tagged(expect, "parex/txroot", NULL, 0);
    assert_memory_equal(head.tx_root, expect, 32);
    tagged(expect, "parex/receiptsroot", NULL, 0);
    assert_memory_equal(head.receipts_root, expect, 32);
    assert_memory_equal(head.fee_recipient, v->fee_pub, 32);
    assert_int_equal(parex_db_header(v->db, &h, 0), PAREX_OK);
    assert_header_equal(&h, &head);
    assert_int_equal(parex_db_header(v->db, &h, 1), PAREX_E_NOTFOUND);
    assert_int_equal(parex_db_verify(v->db, root), PAREX_OK);
    assert_memory_equal(root, head.state_root, 32);

    before = snapshot(v);
    /* A second genesis, with the same or other pairs, or none. */
    kv[1].key[0] = 1;
    assert_int_equal(parex_db_genesis(v->db, &h2, kv, 2, v->fee_pub),
        PAREX_E_EXISTS);
    assert_int_equal(parex_db_genesis(v->db, NULL, NULL, 0, v->pub[0]),
        PAREX_E_EXISTS);
    assert_unchanged(v, &before);
    free(before.buf);

    /* Genesis returns its header; equal to the stored head. */
    {
        env *w = env_new(2);
        parex_header gh, wh;
        assert_int_equal(parex_db_genesis(w->db, &gh, kv, 2, w->fee_pub),
            PAREX_OK);
        assert_int_equal(parex_db_head(w->db, &wh), PAREX_OK);
        assert_header_equal(&gh, &wh);
        /* The empty genesis differs in its state root only. */
        env_close(w);
        w = env_new(2);
        assert_int_equal(parex_db_genesis(w->db, &wh, NULL, 0, w->fee_pub),
            PAREX_OK);
        assert_memory_not_equal(gh.state_root, wh.state_root, 32);
        assert_memory_equal(gh.tx_root, wh.tx_root, 32);
        env_close(w);
    }
    env_close(v);
}

static void test_execute_without_genesis_is_notfound(void **state)
{
    env *v = env_new(2);
    parex_header h;
    parex_error_info err;
    uint8_t *blk;
    size_t len;
    txb t;

    (void)state;
    env_engine(v, NULL);
    memset(&h, 0, sizeof(h));
    h.height = 1;
    txb_transfer(&t, v, 0, 1, 0, 1, 10);
    blk = encode_block(&h, &t, 1, &len);
    {
        parex_receipt r[1];
        assert_int_equal(exec(v, NULL, r, 1, &err, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_E_NOTFOUND);
    }
    assert_int_equal(parex_db_head(v->db, &h), PAREX_E_NOTFOUND);
    free(blk);
    env_close(v);
}

static void test_wrong_height_or_parent_is_rejected(void **state)
{
    env *v = env_open(3, NULL, 0);
    parex_header h, good;
    parex_error_info err;
    parex_receipt r[1];
    dump before = snapshot(v);
    static const uint64_t heights[] = { 0, 2, 3, UINT64_MAX };
    uint8_t *blk;
    size_t len, i;
    txb t;

    (void)state;
    txb_transfer(&t, v, 0, 1, 0, 1, 10);
    next_header(v, &good);
    for (i = 0; i < sizeof(heights) / sizeof(heights[0]); i++) {
        h = good;
        h.height = heights[i];
        blk = encode_block(&h, &t, 1, &len);
        assert_int_equal(exec(v, NULL, r, 1, &err, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
        assert_int_equal(err.reject, PAREX_REJECT_HEIGHT);
        assert_int_equal(err.tx_index, -1);
        assert_string_equal(err.field, "height");
        free(blk);
    }
    h = good;
    h.parent[7] ^= 0x10;
    blk = encode_block(&h, &t, 1, &len);
    assert_int_equal(exec(v, NULL, r, 1, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_PARENT);
    assert_int_equal(err.tx_index, -1);
    assert_string_equal(err.field, "parent");
    free(blk);
    /* The parent is the hash of the head header, not the head's parent. */
    h = good;
    memset(h.parent, 0, 32);
    blk = encode_block(&h, &t, 1, &len);
    assert_int_equal(exec(v, NULL, r, 1, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_PARENT);
    free(blk);
    assert_unchanged(v, &before);
    free(before.buf);

    /* After one block, the old parent is wrong too. */
    blk = encode_block(&good, &t, 1, &len);
    assert_int_equal(exec(v, NULL, r, 1, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_OK);
    assert_int_equal(exec(v, NULL, r, 1, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_HEIGHT);
    free(blk);
    {
        parex_header h2;
        txb t2;
        txb_transfer(&t2, v, 0, 1, 1, 1, 10);
        h2 = good;
        h2.height = 2;
        blk = encode_block(&h2, &t2, 1, &len);
        assert_int_equal(exec(v, NULL, r, 1, &err, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
        assert_int_equal(err.reject, PAREX_REJECT_PARENT);
        free(blk);
    }
    env_close(v);
}

static void test_receipts_cap_too_small_is_buffer(void **state)
{
    env *v = env_open(2, NULL, 0);
    parex_error_info err;
    parex_receipt r[3];
    parex_header h;
    dump before = snapshot(v);
    uint8_t *blk;
    size_t len;
    txb t[2];

    (void)state;
    txb_transfer(&t[0], v, 0, 1, 0, 1, 10);
    txb_transfer(&t[1], v, 1, 2, 0, 1, 10);
    blk = next_block(v, t, 2, &len);
    assert_int_equal(exec(v, &h, r, 1, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BUFFER);
    assert_string_equal(err.field, "receipts");
    assert_int_equal(exec(v, &h, NULL, 0, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BUFFER);
    assert_unchanged(v, &before);
    /* Nothing is pending either: the right cap works now. */
    assert_int_equal(exec(v, &h, r, 3, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_OK);
    assert_true(h.height == 1);
    free(blk);
    free(before.buf);

    /* An empty block needs no receipts. */
    blk = next_block(v, NULL, 0, &len);
    assert_int_equal(exec(v, &h, NULL, 0, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_OK);
    assert_true(h.height == 2);
    {
        uint8_t expect[32];
        tagged(expect, "parex/txroot", NULL, 0);
        assert_memory_equal(h.tx_root, expect, 32);
    }
    free(blk);
    env_close(v);
}

static void test_execute_without_commit_is_pending(void **state)
{
    env *v = env_open(4, NULL, 0);
    parex_error_info err;
    parex_receipt r[2], r2[2];
    parex_header h, h2, head;
    parex_block_stats st = PAREX_BLOCK_STATS_INIT;
    dump before = snapshot(v);
    uint8_t *blk, *blk2;
    size_t len, len2;
    txb t[2];

    (void)state;
    txb_transfer(&t[0], v, 0, 1, 0, 1, 10);
    txb_transfer(&t[1], v, 1, 2, 0, 1, 10);
    blk = next_block(v, t, 2, &len);
    assert_int_equal(exec(v, &h, r, 2, &err, blk, len, 0), PAREX_OK);
    assert_true(h.height == 1);
    /* Executed, not committed: the store still shows genesis. */
    assert_unchanged(v, &before);
    assert_true(balance(v, v->acct[0]) == GENESIS_BALANCE);

    /* A second execute, or a registration, while pending. */
    assert_int_equal(exec(v, &h2, r2, 2, &err, blk, len, 0),
        PAREX_E_PENDING);
    assert_int_equal(exec(v, &h2, r2, 2, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_PENDING);
    assert_int_equal(parex_engine_register(v->e, 999, prog_fail, NULL),
        PAREX_E_PENDING);
    assert_unchanged(v, &before);

    /* Abort discards; the same block executes again, identically. */
    parex_engine_abort(v->e);
    assert_unchanged(v, &before);
    assert_int_equal(parex_engine_commit(v->e, NULL), PAREX_E_MISUSE);
    assert_int_equal(exec(v, &h2, r2, 2, &err, blk, len, 0), PAREX_OK);
    assert_header_equal(&h, &h2);
    assert_receipt_equal(&r[0], &r2[0]);
    assert_receipt_equal(&r[1], &r2[1]);
    assert_unchanged(v, &before);

    /* Commit makes it the head. */
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    assert_int_equal(parex_engine_commit(v->e, &st), PAREX_OK);
    assert_int_equal(parex_db_head(v->db, &head), PAREX_OK);
    assert_header_equal(&h, &head);
    assert_true(balance(v, v->acct[0]) == GENESIS_BALANCE - 11);
    assert_int_equal(parex_engine_commit(v->e, NULL), PAREX_E_MISUSE);
    assert_int_equal(parex_engine_register(v->e, 999, prog_fail, NULL),
        PAREX_OK);

    /* Next block, pending, then aborted: the head stays at 1. */
    free(before.buf);
    before = snapshot(v);
    txb_transfer(&t[0], v, 0, 1, 1, 1, 10);
    blk2 = next_block(v, t, 1, &len2);
    assert_int_equal(exec(v, &h2, r2, 1, &err, blk2, len2, 0), PAREX_OK);
    assert_true(h2.height == 2);
    parex_engine_abort(v->e);
    parex_engine_abort(v->e);
    assert_unchanged(v, &before);
    /* Destroying an engine with a pending block discards it. */
    assert_int_equal(exec(v, &h2, r2, 1, &err, blk2, len2, 0), PAREX_OK);
    parex_engine_destroy(v->e);
    v->e = NULL;
    assert_unchanged(v, &before);
    env_engine(v, NULL);
    assert_int_equal(exec(v, &h, r2, 1, &err, blk2, len2, PAREX_EXEC_COMMIT),
        PAREX_OK);
    assert_header_equal(&h, &h2);
    free(blk);
    free(blk2);
    free(before.buf);
    env_close(v);
}

static void test_claimed_roots_must_match(void **state)
{
    env *v = env_open(2, NULL, 0);
    parex_error_info err;
    parex_receipt r[2];
    parex_header h, computed, head;
    dump before;
    uint8_t *blk;
    size_t len;
    txb t[2];
    static const struct {
        const char *field;
        size_t off;
    } roots[] = {
        { "tx_root", offsetof(parex_header, tx_root) },
        { "receipts_root", offsetof(parex_header, receipts_root) },
        { "state_root", offsetof(parex_header, state_root) },
    };
    size_t i;

    (void)state;
    txb_transfer(&t[0], v, 0, 1, 0, 2, 10);
    txb_transfer(&t[1], v, 1, 3, 0, 3, 20);
    blk = next_block(v, t, 2, &len);
    assert_int_equal(exec(v, &computed, r, 2, &err, blk, len, 0), PAREX_OK);
    parex_engine_abort(v->e);
    free(blk);

    check_roots(&computed, t, 2, r);

    before = snapshot(v);
    next_header(v, &h);
    for (i = 0; i < 3; i++) {
        parex_header bad = h;
        uint8_t *p = (uint8_t *)&bad + roots[i].off;
        memcpy(p, (const uint8_t *)&computed + roots[i].off, 32);
        p[31] ^= 1;
        blk = encode_block(&bad, t, 2, &len);
        assert_int_equal(exec(v, NULL, r, 2, &err, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
        assert_int_equal(err.reject, PAREX_REJECT_ROOT_MISMATCH);
        assert_string_equal(err.field, roots[i].field);
        assert_int_equal(err.tx_index, -1);
        free(blk);
        /* Any non-zero claim is checked: a single set bit. */
        bad = h;
        p = (uint8_t *)&bad + roots[i].off;
        p[0] = 1;
        blk = encode_block(&bad, t, 2, &len);
        assert_int_equal(exec(v, NULL, r, 2, &err, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
        assert_int_equal(err.reject, PAREX_REJECT_ROOT_MISMATCH);
        free(blk);
        assert_unchanged(v, &before);
    }
    free(before.buf);

    /* The correct state root alone, then all three, are accepted. */
    memcpy(h.state_root, computed.state_root, 32);
    blk = encode_block(&h, t, 2, &len);
    assert_int_equal(exec(v, &head, r, 2, &err, blk, len, 0), PAREX_OK);
    assert_header_equal(&head, &computed);
    parex_engine_abort(v->e);
    free(blk);
    memcpy(h.tx_root, computed.tx_root, 32);
    memcpy(h.receipts_root, computed.receipts_root, 32);
    blk = encode_block(&h, t, 2, &len);
    assert_int_equal(exec(v, NULL, r, 2, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_OK);
    assert_int_equal(parex_db_head(v->db, &head), PAREX_OK);
    assert_header_equal(&head, &computed);
    free(blk);
    env_close(v);
}

/* ---- transfers and fees ---------------------------------------------------- */

static void scenario_transfers(env *v)
{
    txb t[8];
    parex_receipt r[8];
    parex_header h;
    uint8_t bad_args[39];
    uint64_t a0 = GENESIS_BALANCE, a1 = GENESIS_BALANCE, a3 = 0;
    size_t i;

    /* 0: 0 -> 1, 100, fee 3                       success
     * 1: 1 -> 3, 50, fee 2   (3 is a new account)  success
     * 2: 3 -> 1, 10, fee 0   (3 spends what it got) success
     * 3: 0 -> 1, 10^6, fee 1                       failed, code 1
     * 4: 0, transfer args of 39 bytes, fee 1       failed, code 2
     * 5: 0, program 77777, fee 1                   unknown program
     * 6: 0 -> 0, 5, fee 1                          success, moves nothing
     * 7: 1 -> 0, 0, fee 0                          success */
    txb_transfer(&t[0], v, 0, 1, 0, 3, 100);
    txb_transfer(&t[1], v, 1, 3, 0, 2, 50);
    txb_transfer(&t[2], v, 3, 1, 0, 0, 10);
    txb_transfer(&t[3], v, 0, 1, 1, 1, 1000000);
    memset(bad_args, 0, sizeof(bad_args));
    memcpy(bad_args, v->pub[1], 32);
    bad_args[32] = 1;
    txb_call(&t[4], v, 0, 2, 1, PAREX_PROGRAM_TRANSFER, bad_args,
        sizeof(bad_args));
    txb_call(&t[5], v, 0, 3, 1, 77777, "zz", 2);
    txb_transfer(&t[6], v, 0, 0, 4, 1, 5);
    txb_transfer(&t[7], v, 1, 0, 1, 0, 0);
    commit_block(v, t, 8, &h, r);

    for (i = 0; i < 8; i++) {
        uint8_t id[32];
        assert_int_equal(parex_tx_id(id, &t[i].tx), PAREX_OK);
        assert_memory_equal(r[i].txid, id, 32);
        assert_true(r[i].fee == t[i].tx.fee);
    }
    assert_int_equal(r[0].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[0].code, 0);
    assert_int_equal(r[1].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[2].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[3].status, PAREX_TX_FAILED);
    assert_int_equal(r[3].code, 1);
    assert_int_equal(r[4].status, PAREX_TX_FAILED);
    assert_int_equal(r[4].code, 2);
    assert_int_equal(r[5].status, PAREX_TX_UNKNOWN_PROGRAM);
    assert_int_equal(r[5].code, 0);
    assert_int_equal(r[6].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[7].status, PAREX_TX_SUCCESS);

    a0 -= 100 + 3 + 1 + 1 + 1 + 1;
    a1 += 100 - 2 - 50 + 10;
    a3 += 50 - 10;
    assert_true(balance(v, v->acct[0]) == a0);
    assert_true(balance(v, v->acct[1]) == a1);
    assert_true(balance(v, v->acct[2]) == GENESIS_BALANCE);
    assert_true(balance(v, v->acct[3]) == a3);
    assert_true(nonce_of(v, v->acct[0]) == 5);
    assert_true(nonce_of(v, v->acct[1]) == 2);
    assert_true(nonce_of(v, v->acct[2]) == 0);
    assert_true(nonce_of(v, v->acct[3]) == 1);
    /* The fee recipient (absent at genesis) got the block's sum, once. */
    assert_true(balance(v, v->fee_acct) == 3 + 2 + 0 + 1 + 1 + 1 + 1 + 0);
    assert_true(nonce_of(v, v->fee_acct) == 0);
    /* Money is conserved. */
    assert_true(balance(v, v->acct[0]) + balance(v, v->acct[1]) +
            balance(v, v->acct[2]) + balance(v, v->acct[3]) +
            balance(v, v->fee_acct) == 3 * GENESIS_BALANCE);

    /* Block 2 names account 2 as fee recipient, and account 2 pays fees in
     * it: it is credited after its own txs. */
    {
        parex_header h2;
        uint8_t *blk;
        size_t len;
        uint64_t f_before = balance(v, v->fee_acct);
        txb_transfer(&t[0], v, 2, 0, 0, 7, 1);
        txb_transfer(&t[1], v, 0, 2, 5, 4, 2);
        next_header(v, &h2);
        memcpy(h2.fee_recipient, v->pub[2], 32);
        blk = encode_block(&h2, t, 2, &len);
        assert_int_equal(exec(v, &h, r, 2, NULL, blk, len,
                             PAREX_EXEC_COMMIT), PAREX_OK);
        free(blk);
        assert_memory_equal(h.fee_recipient, v->pub[2], 32);
        assert_true(balance(v, v->acct[2]) ==
            GENESIS_BALANCE - 7 - 1 + 2 + 11);
        assert_true(balance(v, v->fee_acct) == f_before);
        assert_true(balance(v, v->acct[0]) == a0 + 1 - 4 - 2);
    }
    assert_int_equal(parex_db_verify(v->db, NULL), PAREX_OK);
}

static void test_transfer_semantics(void **state)
{
    (void)state;
    run_all_modes(scenario_transfers, NULL, 0);
}

/* The fee recipient is credited once, at the end of the block: a recipient
 * with no balance cannot pay a fee out of fees of the same block. */
static void scenario_fee_credit_after_block(env *v)
{
    txb t[2];
    parex_receipt r[2];
    parex_error_info err;
    parex_header h;
    uint8_t *blk;
    size_t len;
    dump before = snapshot(v);

    txb_transfer(&t[0], v, 0, 1, 0, 5, 1);
    txb_init(&t[1], 0, 1, PAREX_PROGRAM_TRANSFER);
    {
        uint8_t args[40];
        parex_transfer_args(args, v->pub[0], 0);
        txb_args(&t[1], args, 40);
    }
    txb_sign(&t[1], v, -1); /* signed by the fee recipient */
    blk = next_block(v, t, 2, &len);
    assert_int_equal(exec(v, NULL, r, 2, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_FEE);
    assert_int_equal(err.tx_index, 1);
    assert_string_equal(err.field, "fee");
    assert_unchanged(v, &before);
    free(blk);
    free(before.buf);
    /* With fee 0 it goes through, and then the credit arrives. */
    t[1].tx.fee = 0;
    txb_sign(&t[1], v, -1);
    commit_block(v, t, 2, &h, r);
    assert_true(balance(v, v->fee_acct) == 5);
    assert_true(nonce_of(v, v->fee_acct) == 1);
}

static void test_fee_credited_once_after_the_block(void **state)
{
    (void)state;
    run_all_modes(scenario_fee_credit_after_block, NULL, 0);
}

/* ---- block rejections -------------------------------------------------------- */

enum { BAD_NONCE_HIGH, BAD_NONCE_LOW, BAD_NONCE_DUP, BAD_FEE, BAD_FEE_LATER,
    BAD_SIG, BAD_CHAIN, BAD_KINDS };

static void scenario_rejections(env *v)
{
    int kind;

    /* One good block first, so nonces are not all zero. */
    {
        txb t[3];
        parex_receipt r[3];
        txb_transfer(&t[0], v, 0, 1, 0, 1, 10);
        txb_transfer(&t[1], v, 1, 2, 0, 1, 10);
        txb_transfer(&t[2], v, 2, 0, 0, 1, 10);
        commit_block(v, t, 3, NULL, r);
    }
    for (kind = 0; kind < BAD_KINDS; kind++) {
        txb t[3];
        parex_receipt r[3];
        parex_error_info err;
        uint64_t bal[N_ACCT], fee_bal = balance(v, v->fee_acct);
        dump before = snapshot(v);
        int reject = 0, i;
        const char *field = "";
        uint8_t *blk;
        size_t len;

        for (i = 0; i < N_ACCT; i++) {
            bal[i] = balance(v, v->acct[i]);
        }
        txb_transfer(&t[0], v, 0, 1, 1, 1, 10);
        txb_transfer(&t[1], v, 1, 2, 1, 1, 10);
        txb_transfer(&t[2], v, 2, 0, 1, 1, 10);
        switch (kind) {
        case BAD_NONCE_HIGH:
            txb_transfer(&t[1], v, 1, 2, 2, 1, 10);
            reject = PAREX_REJECT_BAD_NONCE;
            field = "nonce";
            break;
        case BAD_NONCE_LOW:
            txb_transfer(&t[1], v, 1, 2, 0, 1, 10);
            reject = PAREX_REJECT_BAD_NONCE;
            field = "nonce";
            break;
        case BAD_NONCE_DUP:
            /* Sender 0 twice with the same nonce: the second is wrong at
             * its position in the block. */
            txb_transfer(&t[1], v, 0, 2, 1, 1, 10);
            reject = PAREX_REJECT_BAD_NONCE;
            field = "nonce";
            break;
        case BAD_FEE:
            txb_transfer(&t[1], v, 1, 2, 1, (uint64_t)1 << 62, 10);
            reject = PAREX_REJECT_FEE;
            field = "fee";
            break;
        case BAD_FEE_LATER:
            /* Payable at the start of the block, not at its position. */
            txb_transfer(&t[0], v, 1, 0, 1, 0, bal[1] - 5);
            txb_transfer(&t[1], v, 1, 2, 2, 6, 0);
            reject = PAREX_REJECT_FEE;
            field = "fee";
            break;
        case BAD_SIG:
            t[1].tx.sig[10] ^= 0x40;
            reject = PAREX_REJECT_BAD_SIGNATURE;
            field = "sig";
            break;
        default:
            t[1].tx.chain_id = 2;
            txb_sign(&t[1], v, 1);
            assert_int_equal(parex_tx_verify(&t[1].tx), PAREX_OK);
            reject = PAREX_REJECT_CHAIN_ID;
            field = "chain_id";
            break;
        }
        blk = next_block(v, t, 3, &len);
        if (exec(v, NULL, r, 3, &err, blk, len, PAREX_EXEC_COMMIT) !=
                PAREX_E_BLOCK || err.reject != reject || err.tx_index != 1 ||
            strcmp(err.field, field) != 0) {
            fail_msg("mode %d, kind %d: got %s %s tx %lld field '%s', "
                "expected %s tx 1 field '%s'", v->mode, kind,
                parex_errname(err.code), parex_reject_name(err.reject),
                (long long)err.tx_index, err.field,
                parex_reject_name(reject), field);
        }
        free(blk);
        assert_unchanged(v, &before);
        free(before.buf);
        for (i = 0; i < N_ACCT; i++) {
            assert_true(balance(v, v->acct[i]) == bal[i]);
        }
        assert_true(balance(v, v->fee_acct) == fee_bal);
        /* Without commit the same: nothing pending afterwards. */
        blk = next_block(v, t, 3, &len);
        assert_int_equal(exec(v, NULL, r, 3, &err, blk, len, 0),
            PAREX_E_BLOCK);
        assert_int_equal(parex_engine_commit(v->e, NULL), PAREX_E_MISUSE);
        free(blk);
    }
    /* The store still accepts the valid block. */
    {
        txb t[3];
        parex_receipt r[3];
        txb_transfer(&t[0], v, 0, 1, 1, 1, 10);
        txb_transfer(&t[1], v, 1, 2, 1, 1, 10);
        txb_transfer(&t[2], v, 2, 0, 1, 1, 10);
        commit_block(v, t, 3, NULL, r);
    }
}

static void test_invalid_txs_reject_the_block(void **state)
{
    (void)state;
    run_all_modes(scenario_rejections, NULL, 0);
}

static void scenario_replay(env *v)
{
    txb t[2];
    parex_receipt r[2];
    parex_error_info err;
    uint8_t *blk;
    size_t len;
    dump before;

    txb_transfer(&t[0], v, 0, 1, 0, 1, 10);
    commit_block(v, t, 1, NULL, r);
    before = snapshot(v);
    /* The same signed tx again in the next block. */
    blk = next_block(v, t, 1, &len);
    assert_int_equal(exec(v, NULL, r, 1, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_BAD_NONCE);
    assert_int_equal(err.tx_index, 0);
    assert_string_equal(err.field, "nonce");
    free(blk);
    /* And twice in one block, the first copy fresh. */
    txb_transfer(&t[0], v, 0, 1, 1, 1, 10);
    t[1] = t[0];
    txb_sign(&t[1], v, 0);
    blk = next_block(v, t, 2, &len);
    assert_int_equal(exec(v, NULL, r, 2, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_BAD_NONCE);
    assert_int_equal(err.tx_index, 1);
    free(blk);
    assert_unchanged(v, &before);
    free(before.buf);
}

static void test_nonce_replay_across_blocks_is_rejected(void **state)
{
    (void)state;
    run_all_modes(scenario_replay, NULL, 0);
}

static void scenario_fee_overflow(env *v)
{
    txb t[2];
    parex_receipt r[2];
    parex_error_info err;
    uint8_t *blk;
    size_t len;
    dump before = snapshot(v);

    txb_transfer(&t[0], v, 0, 1, 0, 3, 1);
    txb_transfer(&t[1], v, 1, 0, 0, 3, 1);
    blk = next_block(v, t, 2, &len);
    assert_int_equal(exec(v, NULL, r, 2, &err, blk, len, PAREX_EXEC_COMMIT),
        PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_OVERFLOW);
    /* tx 0 brings the recipient to UINT64_MAX - 2, tx 1's fee of 3 is the
     * one that pushes it over. */
    assert_int_equal(err.tx_index, 1);
    assert_string_equal(err.field, "fee_recipient");
    free(blk);
    assert_unchanged(v, &before);
    free(before.buf);
    /* Up to exactly UINT64_MAX is fine. */
    txb_transfer(&t[1], v, 1, 0, 0, 2, 1);
    commit_block(v, t, 2, NULL, r);
    assert_true(balance(v, v->fee_acct) == UINT64_MAX);
}

static void test_fee_credit_overflow_rejects_the_block(void **state)
{
    (void)state;
    run_all_modes(scenario_fee_overflow, NULL, UINT64_MAX - 5);
}

/* ---- programs ------------------------------------------------------------------ */

static void test_register_reserved_id_is_invalid(void **state)
{
    env *v = env_open(1, NULL, 0);
    static const uint32_t reserved[] = { 0, 3, 5, 100, 255 };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_int_equal(parex_engine_register(v->e, reserved[i], prog_fail,
                             NULL), PAREX_E_INVALID);
    }
    assert_int_equal(parex_engine_register(v->e, 256, prog_fail, NULL),
        PAREX_OK);
    assert_int_equal(parex_engine_register(v->e, UINT32_MAX, prog_fail,
                         NULL), PAREX_OK);
    /* Re-registering replaces. */
    assert_int_equal(parex_engine_register(v->e, 256, prog_big, NULL),
        PAREX_OK);
    /* Id 5 stays unknown to execution. */
    {
        txb t;
        parex_receipt r;
        parex_header h;
        txb_call(&t, v, 0, 0, 1, 5, NULL, 0);
        commit_block(v, &t, 1, &h, &r);
        assert_int_equal(r.status, PAREX_TX_UNKNOWN_PROGRAM);
        assert_true(nonce_of(v, v->acct[0]) == 1);
        assert_true(balance(v, v->acct[0]) == GENESIS_BALANCE - 1);
    }
    env_close(v);
}

static void scenario_custom_program(env *v)
{
    txb t[3];
    parex_receipt r[3];
    parex_header h;
    uint8_t key[32], kin[35], val[256], expect[256], k2[32];
    size_t len, i;

    /* Two calls in one block (the second in the same block as the first
     * sender's transfer), then one in block 2. */
    txb_transfer(&t[0], v, 1, 0, 0, 1, 1);
    txb_call(&t[1], v, 0, 0, 2, P_CTX, "args-0", 6);
    txb_call(&t[2], v, 1, 1, 0, P_CTX, "", 0);
    commit_block(v, t, 3, &h, r);
    for (i = 0; i < 3; i++) {
        assert_int_equal(r[i].status, PAREX_TX_SUCCESS);
    }
    for (i = 1; i < 3; i++) {
        const parex_tx *tx = &t[i].tx;
        memcpy(kin, "ctx", 3);
        memcpy(kin + 3, tx->sender, 32);
        parex_sha256(key, kin, sizeof(kin));
        len = sizeof(val);
        assert_int_equal(parex_db_get(v->db, val, &len, key), PAREX_OK);
        st64(expect, 1);
        st64(expect + 8, tx->nonce);
        st32(expect + 16, P_CTX);
        memcpy(expect + 20, tx->sender, 32);
        if (tx->args_len > 0) {
            memcpy(expect + 52, tx->args, tx->args_len);
        }
        assert_int_equal(len, 52 + tx->args_len);
        assert_memory_equal(val, expect, len);
    }
    named_key(k2, "ctx2");
    len = sizeof(val);
    assert_int_equal(parex_db_get(v->db, val, &len, k2), PAREX_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(val, "hello", 5);

    txb_call(&t[0], v, 0, 1, 0, P_CTX, "block-two", 9);
    commit_block(v, t, 1, &h, r);
    assert_int_equal(r[0].status, PAREX_TX_SUCCESS);
    memcpy(kin + 3, v->pub[0], 32);
    parex_sha256(key, kin, sizeof(kin));
    len = sizeof(val);
    assert_int_equal(parex_db_get(v->db, val, &len, key), PAREX_OK);
    st64(expect, 2);
    st64(expect + 8, 1);
    assert_memory_equal(val, expect, 16);
    assert_memory_equal(val + 52, "block-two", 9);
    assert_int_equal(parex_db_verify(v->db, NULL), PAREX_OK);
}

static void test_custom_program_sees_tx_and_height(void **state)
{
    (void)state;
    run_all_modes(scenario_custom_program, NULL, 0);
}

static void scenario_program_failure(env *v)
{
    txb t[3];
    parex_receipt r[3];
    parex_header h;
    uint8_t kf[32], val[16];
    size_t len;

    named_key(kf, "fail");
    /* The failing program declares what it writes; a later tx reads the
     * key the failure deleted (and restored). */
    txb_init(&t[0], 0, 4, P_FAIL);
    txb_write(&t[0], kf);
    txb_write(&t[0], v->k_hello);
    txb_sign(&t[0], v, 0);
    txb_call(&t[1], v, 1, 0, 0, P_CTX, "", 0);
    txb_call(&t[2], v, 0, 1, 1, P_FAIL, NULL, 0);
    commit_block(v, t, 3, &h, r);
    assert_int_equal(r[0].status, PAREX_TX_FAILED);
    assert_int_equal(r[0].code, 42);
    assert_true(r[0].fee == 4);
    assert_int_equal(r[1].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[2].status, PAREX_TX_FAILED);
    assert_int_equal(r[2].code, 42);
    /* Writes discarded: "fail" absent, "hello" still there (P_CTX in
     * between saw it, or it would have failed with 52). */
    len = sizeof(val);
    assert_int_equal(parex_db_get(v->db, val, &len, kf), PAREX_E_NOTFOUND);
    len = sizeof(val);
    assert_int_equal(parex_db_get(v->db, val, &len, v->k_hello), PAREX_OK);
    assert_int_equal(len, 5);
    /* Nonce and fee applied. */
    assert_true(nonce_of(v, v->acct[0]) == 2);
    assert_true(balance(v, v->acct[0]) == GENESIS_BALANCE - 5);
    assert_true(balance(v, v->fee_acct) == 5);

    /* Block 2, every set declared exactly, so the parallel engine runs
     * the reader in a later batch without validating it: it must still
     * see "hello" that the failed tx deleted. */
    {
        uint8_t kin[35], kc[32], k2[32];
        memcpy(kin, "ctx", 3);
        memcpy(kin + 3, v->pub[2], 32);
        parex_sha256(kc, kin, sizeof(kin));
        named_key(k2, "ctx2");
        txb_init(&t[0], 2, 0, P_FAIL);
        txb_write(&t[0], kf);
        txb_write(&t[0], v->k_hello);
        txb_write(&t[0], v->acct[0]);
        txb_sign(&t[0], v, 0);
        txb_init(&t[1], 0, 0, P_CTX);
        txb_read(&t[1], v->k_hello);
        txb_write(&t[1], kc);
        txb_write(&t[1], k2);
        txb_write(&t[1], v->acct[2]);
        txb_sign(&t[1], v, 2);
        commit_block(v, t, 2, &h, r);
        assert_int_equal(r[0].status, PAREX_TX_FAILED);
        assert_int_equal(r[0].code, 42);
        assert_int_equal(r[1].status, PAREX_TX_SUCCESS);
        len = sizeof(val);
        assert_int_equal(parex_db_get(v->db, val, &len, kf),
            PAREX_E_NOTFOUND);
    }

    /* Block 3: a program that rewrites its sender's account (after the
     * prelude took the fee and bumped the nonce) and fails keeps the
     * prelude's value, not its own; the same program succeeding keeps
     * its own. A later tx of the same sender sees the right nonce. */
    txb_call(&t[0], v, 1, 1, 2, P_MINT, "f", 1);
    txb_call(&t[1], v, 1, 2, 3, P_MINT, NULL, 0);
    txb_transfer(&t[2], v, 1, 0, 3, 0, 1);
    commit_block(v, t, 3, &h, r);
    assert_int_equal(r[0].status, PAREX_TX_FAILED);
    assert_int_equal(r[0].code, 7);
    assert_int_equal(r[1].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[2].status, PAREX_TX_SUCCESS);
    assert_true(nonce_of(v, v->acct[1]) == 4);
    assert_true(balance(v, v->acct[1]) ==
        GENESIS_BALANCE - 2 - 3 + 1000 - 1);
}

static void test_failed_program_writes_are_discarded(void **state)
{
    (void)state;
    run_all_modes(scenario_program_failure, NULL, 0);
}

static void scenario_big_value(env *v)
{
    txb t[3];
    parex_receipt r[3];
    parex_header h;
    uint8_t arg[4], kb[32], val[128];
    size_t len;

    named_key(kb, "big");
    st32(arg, 65);
    txb_call(&t[0], v, 0, 0, 1, P_BIG, arg, 4);
    st32(arg, 64);
    txb_call(&t[1], v, 1, 0, 1, P_BIG, arg, 4);
    st32(arg, 1000);
    txb_call(&t[2], v, 2, 0, 1, P_BIG, arg, 4);
    commit_block(v, t, 3, &h, r);
    assert_int_equal(r[0].status, PAREX_TX_FAILED);
    assert_int_equal(r[0].code, PAREX_E_LIMIT);
    assert_int_equal(r[1].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[2].status, PAREX_TX_FAILED);
    assert_int_equal(r[2].code, PAREX_E_LIMIT);
    len = sizeof(val);
    assert_int_equal(parex_db_get(v->db, val, &len, kb), PAREX_OK);
    assert_int_equal(len, 64);
    assert_true(nonce_of(v, v->acct[0]) == 1);
    assert_true(nonce_of(v, v->acct[2]) == 1);
    assert_true(balance(v, v->fee_acct) == 3);

    /* Distinct keys per execution: the account counts as one. */
    st32(arg, 3);
    txb_call(&t[0], v, 0, 1, 0, P_READ, arg, 4);
    st32(arg, 4);
    txb_call(&t[1], v, 1, 1, 0, P_READ, arg, 4);
    commit_block(v, t, 2, &h, r);
    assert_int_equal(r[0].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[1].status, PAREX_TX_FAILED);
    assert_int_equal(r[1].code, PAREX_E_LIMIT);
    assert_true(nonce_of(v, v->acct[1]) == 2);
}

static void test_value_over_limit_fails_the_tx_only(void **state)
{
    parex_limits lim;

    (void)state;
    parex_limits_default(&lim);
    lim.max_value_bytes = 64;
    lim.max_tx_accesses = 4;
    run_all_modes(scenario_big_value, &lim, 0);
}

/* ---- the trace program ------------------------------------------------------ */

/* A tiny key/value model for computing expected trace outputs. */
typedef struct model {
    uint8_t key[16][32];
    uint8_t val[16][64];
    size_t len[16];
    size_t n;
} model;

static void model_set(model *m, const uint8_t key[32], const uint8_t *v,
    size_t len)
{
    size_t i;
    for (i = 0; i < m->n && memcmp(m->key[i], key, 32) != 0; i++) {
    }
    if (i == m->n) {
        assert_true(m->n < 16);
        memcpy(m->key[m->n++], key, 32);
    }
    assert_true(len <= 64);
    memcpy(m->val[i], v, len);
    m->len[i] = len;
}

static const uint8_t *model_get(const model *m, const uint8_t key[32],
    size_t *len)
{
    size_t i;
    for (i = 0; i < m->n; i++) {
        if (memcmp(m->key[i], key, 32) == 0) {
            *len = m->len[i];
            return m->val[i];
        }
    }
    *len = 0;
    return NULL;
}

/* Encodes trace args; R and W in the given (possibly unsorted) order. */
static size_t trace_args(uint8_t *out, const char *id, const uint8_t *R,
    uint32_t nr, const uint8_t *W, uint32_t nw)
{
    size_t idl = strlen(id), off = 0;
    st32(out, (uint32_t)idl);
    off += 4;
    memcpy(out + off, id, idl);
    off += idl;
    st32(out + off, nr);
    off += 4;
    if (nr > 0) {
        memcpy(out + off, R, 32 * (size_t)nr);
    }
    off += 32 * (size_t)nr;
    st32(out + off, nw);
    off += 4;
    if (nw > 0) {
        memcpy(out + off, W, 32 * (size_t)nw);
    }
    return off + 32 * (size_t)nw;
}

/* Applies the trace definition to the model, independently of the
 * engine's code: h = SHA-256(id || for k in sorted unique(R u W):
 * k || u32le(len v) || v), then w := SHA-256(h || w) for w in W. */
static void trace_apply(model *m, const char *id, const uint8_t *R,
    uint32_t nr, const uint8_t *W, uint32_t nw)
{
    uint8_t keys[16 * 32], buf[4096], h[32];
    uint32_t nk = 0, i, j;
    size_t off;

    for (i = 0; i < nr + nw; i++) {
        const uint8_t *k = i < nr ? R + 32 * i : W + 32 * (i - nr);
        int dup = 0;
        for (j = 0; j < nk; j++) {
            dup |= memcmp(keys + 32 * j, k, 32) == 0;
        }
        if (!dup) {
            memcpy(keys + 32 * nk++, k, 32);
        }
    }
    qsort(keys, nk, 32, cmp32);
    off = strlen(id);
    memcpy(buf, id, off);
    for (i = 0; i < nk; i++) {
        size_t len;
        const uint8_t *v = model_get(m, keys + 32 * i, &len);
        memcpy(buf + off, keys + 32 * i, 32);
        st32(buf + off + 32, (uint32_t)len);
        if (len > 0) {
            memcpy(buf + off + 36, v, len);
        }
        off += 36 + len;
    }
    parex_sha256(h, buf, off);
    for (i = 0; i < nw; i++) {
        uint8_t in[64], out[32];
        memcpy(in, h, 32);
        memcpy(in + 32, W + 32 * i, 32);
        parex_sha256(out, in, 64);
        model_set(m, W + 32 * i, out, 32);
    }
}

static void scenario_trace(env *v)
{
    model m;
    txb t[4];
    parex_receipt r[4];
    parex_header h;
    uint8_t k[5][32], R0[64], W0[64], R1[32], W1[32], args[512];
    size_t alen, i;

    memset(&m, 0, sizeof(m));
    for (i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "t%zu", i);
        named_key(k[i], name);
    }
    /* k0 starts with a value; the rest are absent. */
    memcpy(k[0], v->k_hello, 32);
    model_set(&m, k[0], (const uint8_t *)"hello", 5);

    /* tx 0: R = {k1, k0}, W = {k2, k0} (k0 in both: hashed once).
     * Exact declarations. */
    memcpy(R0, k[1], 32);
    memcpy(R0 + 32, k[0], 32);
    memcpy(W0, k[2], 32);
    memcpy(W0 + 32, k[0], 32);
    alen = trace_args(args, "first", R0, 2, W0, 2);
    txb_init(&t[0], 0, 1, PAREX_PROGRAM_TRACE);
    txb_args(&t[0], args, alen);
    txb_read(&t[0], k[1]);
    txb_write(&t[0], k[2]);
    txb_write(&t[0], k[0]);
    txb_sign(&t[0], v, 0);
    trace_apply(&m, "first", R0, 2, W0, 2);

    /* tx 1 (another sender, no declarations): reads k2 that tx 0 wrote,
     * writes k3. */
    memcpy(R1, k[2], 32);
    memcpy(W1, k[3], 32);
    alen = trace_args(args, "second tx", R1, 1, W1, 1);
    txb_call(&t[1], v, 1, 0, 0, PAREX_PROGRAM_TRACE, args, alen);
    trace_apply(&m, "second tx", R1, 1, W1, 1);

    /* tx 2: malformed args (one byte short) fail with code 2. */
    txb_call(&t[2], v, 2, 0, 0, PAREX_PROGRAM_TRACE, args, alen - 1);
    /* tx 3: empty id, no reads, writes k4 from nothing. */
    alen = trace_args(args, "", NULL, 0, k[4], 1);
    txb_call(&t[3], v, 2, 1, 0, PAREX_PROGRAM_TRACE, args, alen);
    trace_apply(&m, "", NULL, 0, k[4], 1);

    commit_block(v, t, 4, &h, r);
    assert_int_equal(r[0].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[1].status, PAREX_TX_SUCCESS);
    assert_int_equal(r[2].status, PAREX_TX_FAILED);
    assert_int_equal(r[2].code, 2);
    assert_int_equal(r[3].status, PAREX_TX_SUCCESS);

    for (i = 0; i < 5; i++) {
        uint8_t val[64];
        size_t len = sizeof(val), elen;
        const uint8_t *e = model_get(&m, k[i], &elen);
        int rc = parex_db_get(v->db, val, &len, k[i]);
        if (e == NULL) {
            assert_int_equal(rc, PAREX_E_NOTFOUND);
            continue;
        }
        assert_int_equal(rc, PAREX_OK);
        assert_int_equal(len, elen);
        if (memcmp(val, e, len) != 0) {
            fail_msg("mode %d: trace output of key t%zu differs from the "
                "definition", v->mode, i);
        }
    }
    /* k1 was only read: still absent. */
    {
        uint8_t val[8];
        size_t len = sizeof(val);
        assert_int_equal(parex_db_get(v->db, val, &len, k[1]),
            PAREX_E_NOTFOUND);
    }

    /* Block 2 reads everything again, as one tx, the sets declared. */
    {
        uint8_t RR[5 * 32], WW[32];
        for (i = 0; i < 4; i++) {
            memcpy(RR + 32 * i, k[4 - i], 32);
        }
        memcpy(WW, k[1], 32);
        alen = trace_args(args, "again", RR, 4, WW, 1);
        txb_init(&t[0], 1, 0, PAREX_PROGRAM_TRACE);
        txb_args(&t[0], args, alen);
        for (i = 0; i < 4; i++) {
            txb_read(&t[0], RR + 32 * i);
        }
        txb_write(&t[0], WW);
        txb_sign(&t[0], v, 0);
        trace_apply(&m, "again", RR, 4, WW, 1);
        commit_block(v, t, 1, &h, r);
        assert_int_equal(r[0].status, PAREX_TX_SUCCESS);
        {
            uint8_t val[64];
            size_t len = sizeof(val), elen;
            const uint8_t *e = model_get(&m, k[1], &elen);
            assert_int_equal(parex_db_get(v->db, val, &len, k[1]), PAREX_OK);
            assert_int_equal(len, 32);
            assert_memory_equal(val, e, 32);
        }
    }
}

static void test_trace_program_matches_its_definition(void **state)
{
    (void)state;
    run_all_modes(scenario_trace, NULL, 0);
}

/* ---- reading the store ---------------------------------------------------------- */

static int stop_after_two(const uint8_t key[32], const uint8_t *val,
    size_t len, void *user)
{
    size_t *n = user;
    (void)key;
    (void)val;
    (void)len;
    return ++*n == 2;
}

static void test_db_reads_and_verify(void **state)
{
    env *v = env_open(3, NULL, 0);
    parex_header hdr[4], h;
    parex_receipt r[2];
    uint8_t root[32], val[16], key[32];
    size_t len, n, b;

    (void)state;
    assert_int_equal(parex_db_head(v->db, &hdr[0]), PAREX_OK);
    for (b = 1; b < 4; b++) {
        txb t[2];
        txb_transfer(&t[0], v, 0, 1, b - 1, 1, 10);
        txb_transfer(&t[1], v, 1, 3, b - 1, 1, 7);
        commit_block(v, t, 2, &hdr[b], r);
        assert_int_equal(parex_db_verify(v->db, root), PAREX_OK);
        assert_memory_equal(root, hdr[b].state_root, 32);
        assert_memory_not_equal(hdr[b].state_root, hdr[b - 1].state_root,
            32);
    }
    /* Headers by height, chained by hash. */
    for (b = 0; b < 4; b++) {
        assert_int_equal(parex_db_header(v->db, &h, b), PAREX_OK);
        assert_header_equal(&h, &hdr[b]);
        if (b > 0) {
            uint8_t ph[32];
            parex_header_hash(ph, &hdr[b - 1]);
            assert_memory_equal(h.parent, ph, 32);
        }
    }
    assert_int_equal(parex_db_header(v->db, &h, 4), PAREX_E_NOTFOUND);
    assert_int_equal(parex_db_head(v->db, &h), PAREX_OK);
    assert_header_equal(&h, &hdr[3]);

    /* Too small a buffer: the length needed, nothing copied. */
    memset(val, 0x77, sizeof(val));
    len = 3;
    assert_int_equal(parex_db_get(v->db, val, &len, v->acct[0]),
        PAREX_E_BUFFER);
    assert_int_equal(len, 16);
    assert_int_equal(val[0], 0x77);
    len = 15;
    assert_int_equal(parex_db_get(v->db, val, &len, v->acct[0]),
        PAREX_E_BUFFER);
    assert_int_equal(len, 16);
    /* Size query with no buffer. */
    len = 0;
    assert_int_equal(parex_db_get(v->db, g_null, &len, v->acct[0]),
        PAREX_E_BUFFER);
    assert_int_equal(len, 16);
    len = 16;
    assert_int_equal(parex_db_get(v->db, val, &len, v->acct[0]), PAREX_OK);
    {
        uint64_t bal, nonce;
        assert_int_equal(parex_account_decode(&bal, &nonce, val, len),
            PAREX_OK);
        assert_true(bal == GENESIS_BALANCE - 3 * 11);
        assert_true(nonce == 3);
    }
    named_key(key, "absent");
    len = sizeof(val);
    assert_int_equal(parex_db_get(v->db, val, &len, key), PAREX_E_NOTFOUND);

    /* foreach visits in key order and stops when asked, saying so. */
    n = 0;
    assert_int_equal(parex_db_foreach(v->db, stop_after_two, &n),
        PAREX_STOPPED);
    assert_int_equal(n, 2);
    {
        dump d = { NULL, 0, 0 };
        const uint8_t *prev = NULL;
        size_t off, count = 0;
        assert_int_equal(parex_db_foreach(v->db, dump_kv, &d), PAREX_OK);
        for (off = 0; off < d.len; count++) {
            if (prev != NULL) {
                assert_true(memcmp(prev, d.buf + off, 32) < 0);
            }
            prev = d.buf + off;
            off += 36 + ld32(d.buf + off + 32);
        }
        /* accounts 0..3, the fee recipient, "hello" */
        assert_int_equal(count, 6);
        free(d.buf);
    }
    /* A store reopened read-only shows the same head and verifies. */
    {
        parex_db *ro;
        parex_db_options o = { .size = sizeof(parex_db_options),
            .map_size = 0, .sync = PAREX_SYNC_FULL, .read_only = 1 };
        parex_engine_destroy(v->e);
        v->e = NULL;
        parex_db_close(v->db);
        assert_int_equal(parex_db_open(&ro, NULL, v->dir, &o), PAREX_OK);
        assert_int_equal(parex_db_head(ro, &h), PAREX_OK);
        assert_header_equal(&h, &hdr[3]);
        assert_int_equal(parex_db_verify(ro, root), PAREX_OK);
        assert_memory_equal(root, hdr[3].state_root, 32);
        v->db = ro;
    }
    env_close(v);
}

/* ---- prepared blocks (pipelining) ---------------------------------------- */

typedef struct prep_arg {
    parex_engine *e;
    const uint8_t *blk;
    size_t len;
    parex_prepared *out;
    int rc;
} prep_arg;

static void *prepare_thread(void *argp)
{
    prep_arg *a = argp;
    a->rc = parex_block_prepare(a->e, &a->out, NULL, a->blk, a->len);
    return NULL;
}

/* Both paths give one block the same outcome: rc, reason, tx, field and
 * message, and on success the same header and receipts. */
static void assert_same_outcome(env *a, env *b, const uint8_t *blk,
    size_t len, int expect_rc)
{
    parex_error_info ea, eb;
    parex_header ha, hb;
    parex_receipt ra[MAX_R], rb[MAX_R];
    parex_block_stats st = PAREX_BLOCK_STATS_INIT;
    parex_prepared *p = NULL;
    int rc_a, rc_b, rc_p;

    memset(ra, 0, sizeof(ra));
    memset(rb, 0, sizeof(rb));
    rc_a = parex_engine_execute(a->e, &ha, ra, MAX_R, NULL, &ea, blk, len,
        PAREX_EXEC_COMMIT);
    rc_p = parex_block_prepare(b->e, &p, &eb, blk, len);
    if (rc_p != PAREX_OK) {
        /* Only what execution would reject first: the decoding. */
        assert_null(p);
        rc_b = rc_p;
    } else {
        rc_b = parex_engine_execute_prepared(b->e, &hb, rb, MAX_R, &st, &eb,
            p, PAREX_EXEC_COMMIT);
    }
    assert_int_equal(rc_a, expect_rc);
    assert_int_equal(rc_b, rc_a);
    assert_int_equal(eb.code, ea.code);
    assert_int_equal(eb.reject, ea.reject);
    assert_int_equal(eb.tx_index, ea.tx_index);
    assert_string_equal(eb.field, ea.field);
    assert_string_equal(eb.message, ea.message);
    if (rc_a == PAREX_OK) {
        assert_header_equal(&ha, &hb);
        assert_memory_equal(ra, rb, sizeof(ra));
        assert_true(st.txs > 0);
    }
    parex_prepared_free(p);
}

static void test_prepared_blocks_match_execute(void **state)
{
    env *a = env_open(2, NULL, 0), *b = env_open(2, NULL, 0);
    parex_header h;
    txb t[3];
    uint8_t *blk;
    size_t len;

    (void)state;
    /* A valid block. */
    txb_transfer(&t[0], a, 0, 1, 0, 1, 10);
    txb_transfer(&t[1], a, 1, 2, 0, 1, 10);
    txb_transfer(&t[2], a, 2, 0, 0, 1, 10);
    blk = next_block(a, t, 3, &len);
    assert_same_outcome(a, b, blk, len, PAREX_OK);
    free(blk);
    /* A bad signature: reported after the stateful checks, as execute
     * reports it. */
    txb_transfer(&t[0], a, 0, 1, 1, 1, 10);
    txb_transfer(&t[1], a, 1, 2, 1, 1, 10);
    t[1].tx.sig[5] ^= 1;
    blk = next_block(a, t, 2, &len);
    assert_same_outcome(a, b, blk, len, PAREX_E_BLOCK);
    free(blk);
    /* A bad signature on a block with the wrong parent: the parent wins
     * on both paths. */
    next_header(a, &h);
    h.parent[0] ^= 1;
    blk = encode_block(&h, t, 2, &len);
    assert_same_outcome(a, b, blk, len, PAREX_E_BLOCK);
    free(blk);
    /* A block that does not decode: the preparation reports it. */
    txb_transfer(&t[1], a, 1, 2, 1, 1, 10);
    blk = next_block(a, t, 2, &len);
    assert_same_outcome(a, b, blk, len - 1, PAREX_E_BLOCK);
    /* And the good one still commits on both. */
    assert_same_outcome(a, b, blk, len, PAREX_OK);
    free(blk);
    env_close(a);
    env_close(b);
}

static void test_prepare_beside_a_running_engine(void **state)
{
    env *a = env_open(2, NULL, 0), *b = env_open(2, NULL, 0);
    parex_receipt r[MAX_R];
    parex_header h1, hb;
    parex_error_info err;
    parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
    parex_engine *other;
    prep_arg pa;
    pthread_t th;
    txb t[2];
    uint8_t *b1, *b2;
    size_t l1, l2;

    (void)state;
    txb_transfer(&t[0], a, 0, 1, 0, 1, 10);
    b1 = next_block(a, t, 1, &l1);
    /* Block 2 follows block 1: built on b, where block 1 is committed. */
    commit_block(b, t, 1, &h1, r);
    txb_transfer(&t[1], a, 1, 2, 0, 1, 10);
    b2 = next_block(b, &t[1], 1, &l2);
    /* Prepare block 2 on a thread while block 1 executes on a. */
    pa.e = a->e;
    pa.blk = b2;
    pa.len = l2;
    pa.out = NULL;
    pa.rc = -1;
    assert_int_equal(pthread_create(&th, NULL, prepare_thread, &pa), 0);
    assert_int_equal(parex_engine_execute(a->e, NULL, r, MAX_R, NULL, &err,
                         b1, l1, PAREX_EXEC_COMMIT), PAREX_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pa.rc, PAREX_OK);
    assert_int_equal(parex_engine_execute_prepared(a->e, &hb, r, MAX_R, NULL,
                         &err, pa.out, PAREX_EXEC_COMMIT), PAREX_OK);
    /* Committed: executing it again is the next height's mismatch. */
    assert_int_equal(parex_engine_execute_prepared(a->e, NULL, r, MAX_R,
                         NULL, &err, pa.out, 0), PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_HEIGHT);
    /* An engine of another chain id refuses it. */
    parex_engine_options_default(&o);
    o.chain_id = 7;
    o.threads = 1;
    assert_int_equal(parex_engine_create(&other, b->db, &o), PAREX_OK);
    assert_int_equal(parex_engine_execute_prepared(other, NULL, r, MAX_R,
                         NULL, &err, pa.out, 0), PAREX_E_MISUSE);
    parex_engine_destroy(other);
    parex_prepared_free(pa.out);
    parex_prepared_free(NULL);
    free(b1);
    free(b2);
    env_close(a);
    env_close(b);
}

/* ---- prepared blocks whose checks the engine finishes ------------------ */

#define BIG_N 75    /* three chunks of the preparation's 32 txs */

typedef struct verify_arg {
    parex_prepared *p;
    int rc;
} verify_arg;

static void *verify_thread(void *argp)
{
    verify_arg *a = argp;
    a->rc = parex_prepared_verify(a->p);
    return NULL;
}

/* The next block on v of BIG_N transfers round the three funded
 * accounts; tx `bad` (if < BIG_N) with a broken signature. */
static uint8_t *big_block(env *v, uint64_t nonce0, size_t bad, size_t *len)
{
    static txb t[BIG_N];
    size_t i;

    for (i = 0; i < BIG_N; i++) {
        int from = (int)(i % 3);
        txb_transfer(&t[i], v, from, (from + 1) % 3, nonce0 + i / 3, 1, 1);
        if (i == bad) {
            t[i].tx.sig[9] ^= 1;
        }
    }
    return next_block(v, t, BIG_N, len);
}

/* parex_block_prepare_start() leaves the signatures to whoever takes
 * them: the engine alone (no helper at all), or the engine beside a
 * helper thread in parex_prepared_verify(). Either way the block gets
 * parex_engine_execute()'s outcome: a bad signature in the last chunk is
 * found at its index, a good block commits with the same header and
 * receipts. Trusted (PAREX_EXEC_VERIFIED) blocks still get their ids. */
static void test_prepare_start_finished_by_the_engine(void **state)
{
    env *a = env_open(2, NULL, 0), *b = env_open(2, NULL, 0);
    parex_receipt ra[BIG_N], rb[BIG_N];
    parex_error_info ea, eb;
    parex_header ha, hb;
    parex_prepared *p = NULL;
    verify_arg va;
    pthread_t th;
    uint8_t *blk;
    size_t len;
    int k;

    (void)state;
    /* A bad signature at tx 70 (the third chunk), nothing verified
     * before the engine runs. */
    blk = big_block(a, 0, 70, &len);
    assert_int_equal(parex_engine_execute(a->e, NULL, ra, BIG_N, NULL, &ea,
                         blk, len, PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
    assert_int_equal(parex_block_prepare_start(b->e, &p, &eb, blk, len),
        PAREX_OK);
    assert_int_equal(parex_engine_execute_prepared(b->e, NULL, rb, BIG_N,
                         NULL, &eb, p, PAREX_EXEC_COMMIT), PAREX_E_BLOCK);
    assert_int_equal(eb.tx_index, 70);
    assert_int_equal(eb.reject, ea.reject);
    assert_string_equal(eb.message, ea.message);
    /* Done by the engine: a helper finds nothing left. */
    assert_int_equal(parex_prepared_verify(p), PAREX_OK);
    parex_prepared_free(p);
    free(blk);
    /* Good blocks, each with a helper thread racing the engine for the
     * chunks (twice, so that both orders are likely to be seen). */
    for (k = 0; k < 2; k++) {
        parex_block_stats st = PAREX_BLOCK_STATS_INIT;
        blk = big_block(a, (uint64_t)k * 25, BIG_N, &len);
        assert_int_equal(parex_engine_execute(a->e, &ha, ra, BIG_N, NULL,
                             &ea, blk, len, PAREX_EXEC_COMMIT), PAREX_OK);
        assert_int_equal(parex_block_prepare_start(b->e, &p, &eb, blk, len),
            PAREX_OK);
        va.p = p;
        va.rc = -1;
        assert_int_equal(pthread_create(&th, NULL, verify_thread, &va), 0);
        memset(rb, 0, sizeof(rb));
        assert_int_equal(parex_engine_execute_prepared(b->e, &hb, rb, BIG_N,
                             &st, &eb, p, PAREX_EXEC_COMMIT), PAREX_OK);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(va.rc, PAREX_OK);
        assert_header_equal(&ha, &hb);
        assert_memory_equal(ra, rb, sizeof(ra));
        assert_int_equal(st.txs, BIG_N);
        parex_prepared_free(p);
        free(blk);
    }
    /* Trusted and unverified: the ids (receipts, tx root) are still
     * computed. */
    blk = big_block(a, 50, BIG_N, &len);
    assert_int_equal(parex_engine_execute(a->e, &ha, ra, BIG_N, NULL, &ea,
                         blk, len, PAREX_EXEC_COMMIT | PAREX_EXEC_VERIFIED),
        PAREX_OK);
    assert_int_equal(parex_block_prepare_start(b->e, &p, &eb, blk, len),
        PAREX_OK);
    memset(rb, 0, sizeof(rb));
    assert_int_equal(parex_engine_execute_prepared(b->e, &hb, rb, BIG_N,
                         NULL, &eb, p, PAREX_EXEC_COMMIT | PAREX_EXEC_VERIFIED),
        PAREX_OK);
    assert_header_equal(&ha, &hb);
    assert_memory_equal(ra, rb, sizeof(ra));
    parex_prepared_free(p);
    free(blk);
    assert_int_equal(parex_prepared_verify(NULL), PAREX_E_MISUSE);
    env_close(a);
    env_close(b);
}

/* A block prepared before its parent exists (the pipeline's order):
 * prepared with a placeholder header, given the real one once the block
 * before it is committed, it runs as the block encoded with that header
 * runs through parex_engine_execute(). RECORD_BAL on the prepared path
 * records the same BAL as on the other. */
static void test_prepared_header_set_after_parent(void **state)
{
    env *a = env_open(2, NULL, 0), *b = env_open(2, NULL, 0);
    parex_receipt ra[MAX_R], rb[MAX_R];
    parex_header h, ha, hb, zero;
    parex_error_info err;
    parex_prepared *p = NULL;
    txb t[3];
    uint8_t *blk, *b2, bal_a[4096], bal_b[4096];
    size_t len, l2, na = sizeof(bal_a), nb = sizeof(bal_b);

    (void)state;
    txb_transfer(&t[0], a, 0, 1, 0, 1, 10);
    txb_transfer(&t[1], a, 1, 2, 0, 1, 10);
    txb_transfer(&t[2], a, 2, 0, 0, 1, 10);
    memset(&zero, 0, sizeof(zero));
    b2 = encode_block(&zero, &t[1], 2, &l2);
    assert_int_equal(parex_block_prepare(b->e, &p, &err, b2, l2), PAREX_OK);
    /* Block 1 (t[0]) on both stores. */
    commit_block(a, t, 1, &ha, ra);
    commit_block(b, t, 1, &hb, rb);
    /* As prepared, the placeholder's height is refused. */
    assert_int_equal(parex_engine_execute_prepared(b->e, NULL, rb, MAX_R,
                         NULL, &err, p, 0), PAREX_E_BLOCK);
    assert_int_equal(err.reject, PAREX_REJECT_HEIGHT);
    assert_int_equal(parex_prepared_set_header(NULL, &zero), PAREX_E_MISUSE);
    next_header(b, &h);
    assert_int_equal(parex_prepared_set_header(p, &h), PAREX_OK);
    blk = next_block(a, &t[1], 2, &len);
    memset(ra, 0, sizeof(ra));
    memset(rb, 0, sizeof(rb));
    assert_int_equal(parex_engine_execute(a->e, &ha, ra, MAX_R, NULL, &err,
                         blk, len, PAREX_EXEC_COMMIT | PAREX_EXEC_RECORD_BAL),
        PAREX_OK);
    assert_int_equal(parex_engine_execute_prepared(b->e, &hb, rb, MAX_R, NULL,
                         &err, p, PAREX_EXEC_COMMIT | PAREX_EXEC_RECORD_BAL),
        PAREX_OK);
    assert_header_equal(&ha, &hb);
    assert_memory_equal(ra, rb, sizeof(ra));
    assert_int_equal(parex_engine_bal(a->e, bal_a, &na), PAREX_OK);
    assert_int_equal(parex_engine_bal(b->e, bal_b, &nb), PAREX_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(bal_a, bal_b, na);
    /* Both stores hold the same block 2, its txs and BAL included. */
    {
        parex_read *qa = NULL, *qb = NULL;
        const uint8_t *sa, *sb;
        size_t la, lb;

        assert_int_equal(parex_read_begin(&qa, a->db), PAREX_OK);
        assert_int_equal(parex_read_begin(&qb, b->db), PAREX_OK);
        assert_int_equal(parex_read_block(qa, &sa, &la, 2), PAREX_OK);
        assert_int_equal(parex_read_block(qb, &sb, &lb, 2), PAREX_OK);
        assert_true(la > l2);
        assert_int_equal(la, lb);
        assert_memory_equal(sa, sb, la);
        parex_read_end(qa);
        parex_read_end(qb);
    }
    parex_prepared_free(p);
    free(blk);
    free(b2);
    env_close(a);
    env_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_handles_are_misuse),
        cmocka_unit_test(test_db_open_null_dir_resets_out),
        cmocka_unit_test(test_genesis_twice_is_exists),
        cmocka_unit_test(test_execute_without_genesis_is_notfound),
        cmocka_unit_test(test_wrong_height_or_parent_is_rejected),
        cmocka_unit_test(test_receipts_cap_too_small_is_buffer),
        cmocka_unit_test(test_execute_without_commit_is_pending),
        cmocka_unit_test(test_claimed_roots_must_match),
        cmocka_unit_test(test_transfer_semantics),
        cmocka_unit_test(test_fee_credited_once_after_the_block),
        cmocka_unit_test(test_invalid_txs_reject_the_block),
        cmocka_unit_test(test_nonce_replay_across_blocks_is_rejected),
        cmocka_unit_test(test_fee_credit_overflow_rejects_the_block),
        cmocka_unit_test(test_register_reserved_id_is_invalid),
        cmocka_unit_test(test_custom_program_sees_tx_and_height),
        cmocka_unit_test(test_failed_program_writes_are_discarded),
        cmocka_unit_test(test_value_over_limit_fails_the_tx_only),
        cmocka_unit_test(test_trace_program_matches_its_definition),
        cmocka_unit_test(test_prepared_blocks_match_execute),
        cmocka_unit_test(test_prepare_beside_a_running_engine),
        cmocka_unit_test(test_prepare_start_finished_by_the_engine),
        cmocka_unit_test(test_prepared_header_set_after_parent),
        cmocka_unit_test(test_db_reads_and_verify),
    };
    return cmocka_run_group_tests_name("api", tests, NULL, NULL);
}
