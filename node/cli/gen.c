/* `parex fixtures generate`: the bundled fixtures, deterministically.
 *
 * Every fixture is built here from seeded choices; its expectations come
 * from running each block through the sequential reference executor
 * (parex_engine_options.sequential = 1) on a scratch store. Intended
 * outcomes (a rejection reason, a failure code) are asserted as the
 * fixture is built, so a generator that drifts from the spec fails loudly
 * instead of writing wrong vectors. The output is never edited by hand.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Declared sets of a transfer. */
enum {
    DECL_EXACT,      /* write: sender and recipient accounts */
    DECL_NONE,       /* nothing (the sender's account is implicit) */
    DECL_SENDER,     /* write: sender only; the recipient is undeclared */
    DECL_READ,       /* recipient declared as read although written */
    DECL_EXTRA       /* exact plus unrelated keys read and written */
};

typedef struct gacct {
    uint8_t sec[32], pub[32], key[32];
    uint64_t nonce;     /* committed next nonce */
    uint64_t pending;   /* next nonce within the block being built */
} gacct;

typedef struct gtx {
    node_txbytes enc;
    json_t *json;
    int want_status;      /* -1: not asserted */
    int32_t want_code;
    int exact;            /* declared sets are exact (for batches) */
    uint8_t *ws, *rs;     /* declared sets incl. the sender's account */
    size_t nw, nr;
} gtx;

typedef struct gen {
    const char *out;
    char *file;
    json_t *root, *blocks, *accounts, *state;
    uint32_t chain_id;
    uint8_t fee[32];
    parex_kv *kvs;
    size_t nkv;
    gacct *acct;
    size_t nacct;
    char *dbdir;
    parex_db *db;
    parex_engine *e;
    parex_header head;
    node_rng rng;
    size_t nblocks;
    /* the block being built */
    gtx *txs;
    size_t ntx, cap;
} gen;

/* How a block ends: its header and the outcome it is built to have. */
typedef struct gblock {
    int reject;             /* intended PAREX_REJECT_*, or NONE */
    int64_t reject_tx;      /* intended tx index (-1: the header) */
    uint64_t height_delta;  /* height = head + 1 + delta */
    int height_same;        /* height = head (a repeat) */
    int bad_parent;
    int claim;              /* 0 none, 1 correct roots, 2 wrong state root,
                               3 wrong tx root */
    const uint8_t *fee_recipient;  /* NULL: the genesis one */
    int batches;            /* write expect.batches (all txs exact) */
} gblock;

static void gen_die_rc(const gen *g, const char *what, int rc)
{
    node_die(NODE_EXIT_RUNTIME, "fixtures: %s: %s: %s", g->file, what,
        parex_strerror(rc));
}

static void key_of(gacct *a, const char *fixture, const char *name)
{
    char seed[320];

    snprintf(seed, sizeof(seed), "parex-fixture/%.128s/%.128s", fixture,
        name);
    node_key_from_str(a->sec, a->pub, seed);
    parex_account_key(a->key, a->pub);
}

static void gen_begin(gen *g, const char *out, const char *name,
    const char *description, uint64_t seed)
{
    gacct fee;
    size_t n;

    memset(g, 0, sizeof(*g));
    g->out = out;
    n = strlen(out) + strlen(name) + 8;
    g->file = node_malloc(n);
    snprintf(g->file, n, "%s/%s.json", out, name);
    g->chain_id = 1;
    key_of(&fee, name, "fee-recipient");
    memcpy(g->fee, fee.pub, 32);
    g->root = json_object();
    json_object_set_new(g->root, "format", json_string("parex-fixture-1"));
    json_object_set_new(g->root, "description", json_string(description));
    g->accounts = json_array();
    g->state = json_array();
    g->blocks = json_array();
    node_rng_init(&g->rng, seed, 0);
}

/* Add a genesis account; returns its index. */
static size_t gen_account(gen *g, const char *name, uint64_t balance)
{
    gacct *a;
    json_t *o = json_object();
    uint8_t *val = node_malloc(PAREX_ACCOUNT_BYTES);
    char fixture[128];
    const char *base = strrchr(g->file, '/') + 1;

    snprintf(fixture, sizeof(fixture), "%.*s", (int)(strlen(base) - 5), base);
    g->acct = node_realloc(g->acct, (g->nacct + 1) * sizeof(*g->acct));
    a = &g->acct[g->nacct];
    memset(a, 0, sizeof(*a));
    key_of(a, fixture, name);
    json_object_set_new(o, "pubkey", node_json_from_hex(a->pub, 32));
    json_object_set_new(o, "balance", node_json_from_u64(balance));
    json_object_set_new(o, "nonce", json_integer(0));
    json_array_append_new(g->accounts, o);
    g->kvs = node_realloc(g->kvs, (g->nkv + 1) * sizeof(*g->kvs));
    parex_account_encode(val, balance, 0);
    memcpy(g->kvs[g->nkv].key, a->key, 32);
    g->kvs[g->nkv].value = val;
    g->kvs[g->nkv].value_len = PAREX_ACCOUNT_BYTES;
    g->nkv++;
    return g->nacct++;
}

static void gen_state(gen *g, const uint8_t key[32], const uint8_t *val,
    size_t len)
{
    json_t *o = json_object();
    uint8_t *v = node_malloc(len);

    memcpy(v, val, len);
    json_object_set_new(o, "key", node_json_from_hex(key, 32));
    json_object_set_new(o, "value", node_json_from_hex(val, len));
    json_array_append_new(g->state, o);
    g->kvs = node_realloc(g->kvs, (g->nkv + 1) * sizeof(*g->kvs));
    memcpy(g->kvs[g->nkv].key, key, 32);
    g->kvs[g->nkv].value = v;
    g->kvs[g->nkv].value_len = len;
    g->nkv++;
}

static void gen_genesis(gen *g)
{
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info ei;
    json_t *gen_o = json_object();
    int rc;

    json_object_set_new(g->root, "chain_id", json_integer(g->chain_id));
    json_object_set_new(gen_o, "fee_recipient", node_json_from_hex(g->fee,
        32));
    json_object_set_new(gen_o, "accounts", g->accounts);
    json_object_set_new(gen_o, "state", g->state);
    json_object_set_new(g->root, "genesis", gen_o);
    json_object_set_new(g->root, "blocks", g->blocks);

    g->dbdir = node_tmpdir("gen");
    memset(&ei, 0, sizeof(ei));
    rc = parex_db_open(&g->db, &ei, g->dbdir, NULL);
    if (rc != PAREX_OK) {
        gen_die_rc(g, "parex_db_open", rc);
    }
    rc = parex_db_genesis(g->db, &g->head, g->kvs, g->nkv, g->fee);
    if (rc != PAREX_OK) {
        gen_die_rc(g, "parex_db_genesis", rc);
    }
    memset(&eo, 0, sizeof(eo));
    eo.size = sizeof(eo);
    eo.threads = 1;
    eo.chain_id = g->chain_id;
    eo.sequential = 1;
    rc = parex_engine_create(&g->e, g->db, &eo);
    if (rc != PAREX_OK) {
        gen_die_rc(g, "parex_engine_create", rc);
    }
}

static void gen_end(gen *g)
{
    size_t i;

    if (node_json_write(g->file, g->root) != 0) {
        node_die(NODE_EXIT_RUNTIME, "fixtures: cannot write %s: %s", g->file,
            strerror(errno));
    }
    printf("%s: %zu blocks\n", g->file, g->nblocks);
    parex_engine_destroy(g->e);
    parex_db_close(g->db);
    node_rmtree(g->dbdir);
    free(g->dbdir);
    json_decref(g->root);
    for (i = 0; i < g->nkv; i++) {
        free((void *)g->kvs[i].value);
    }
    free(g->kvs);
    free(g->acct);
    free(g->file);
    free(g->txs);
}

static uint64_t gen_rand(gen *g, uint64_t n)
{
    return node_rng_next(&g->rng) % n;
}

/* ---- transactions ----------------------------------------------------- */

/* The fields of a tx to build; zero = the usual. */
typedef struct gspec {
    size_t from;
    int nonce_set;
    uint64_t nonce;
    uint64_t fee;
    uint32_t program;
    const uint8_t *args;
    size_t args_len;
    uint8_t *rs, *ws;      /* sorted unique, disjoint; consumed */
    size_t nr, nw;
    int chain_id_set;
    uint32_t chain_id;
    int bad_sig;
    int exact;
    int want_status;       /* -1 unchecked */
    int32_t want_code;
} gspec;

static gtx *push_tx(gen *g)
{
    gtx *t;

    if (g->ntx == g->cap) {
        g->cap = g->cap == 0 ? 64 : g->cap * 2;
        g->txs = node_realloc(g->txs, g->cap * sizeof(*g->txs));
    }
    t = &g->txs[g->ntx++];
    memset(t, 0, sizeof(*t));
    t->want_status = -1;
    return t;
}

/* Build, sign and encode a canonical tx; the sender's pending nonce moves
 * on unless the nonce was given. */
static gtx *gen_tx(gen *g, gspec *s)
{
    gacct *a = &g->acct[s->from];
    gtx *t = push_tx(g);
    parex_tx tx;
    char err[NODE_ERR_LEN];
    int rc;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = s->chain_id_set ? s->chain_id : g->chain_id;
    tx.nonce = s->nonce_set ? s->nonce : a->pending++;
    tx.fee = s->fee;
    tx.program = s->program;
    tx.args = s->args_len == 0 ? NULL : s->args;
    tx.args_len = (uint32_t)s->args_len;
    tx.read_set = s->rs;
    tx.n_read = (uint32_t)s->nr;
    tx.write_set = s->ws;
    tx.n_write = (uint32_t)s->nw;
    rc = parex_tx_sign(&tx, a->sec);
    if (rc != PAREX_OK) {
        gen_die_rc(g, "parex_tx_sign", rc);
    }
    if (s->bad_sig) {
        tx.sig[17] ^= 0x01;
    }
    if (node_tx_encode(&t->enc, err, g->file, &tx) != 0) {
        node_die(NODE_EXIT_RUNTIME, "fixtures: %s", err);
    }
    t->json = node_tx_to_json(&tx);
    t->want_status = s->want_status;
    t->want_code = s->want_code;
    t->exact = s->exact;
    /* For the batch count: the declared sets plus the implicit account. */
    t->nr = s->nr;
    t->rs = s->rs;
    t->ws = node_malloc((s->nw + 1) * 32);
    if (s->nw > 0) {
        memcpy(t->ws, s->ws, s->nw * 32);
    }
    memcpy(t->ws + s->nw * 32, a->key, 32);
    t->nw = node_keys_sort_unique(t->ws, s->nw + 1);
    free(s->ws);
    return t;
}

/* A tx given as raw bytes (deliberately malformed). */
static void gen_raw(gen *g, const uint8_t *p, size_t len)
{
    gtx *t = push_tx(g);

    t->enc.p = node_malloc(len);
    if (len > 0) {
        memcpy(t->enc.p, p, len); /* p may be NULL for the empty tx */
    }
    t->enc.len = len;
    t->enc.raw = 1;
    t->json = node_raw_to_json(p, len);
}

static uint8_t *keys_dup(size_t *n, const uint8_t *const *keys, size_t k)
{
    uint8_t *p = node_malloc((k + 1) * 32);
    size_t i;

    for (i = 0; i < k; i++) {
        memcpy(p + i * 32, keys[i], 32);
    }
    *n = node_keys_sort_unique(p, k);
    return p;
}

/* A transfer of amount from account `from` to the public key `to`. */
static gtx *gen_transfer(gen *g, size_t from, const uint8_t to[32],
    uint64_t amount, uint64_t fee, int decl, int want_status,
    int32_t want_code)
{
    uint8_t args[PAREX_TRANSFER_ARGS_BYTES];
    uint8_t to_key[32];
    const uint8_t *k[4];
    gspec s;

    memset(&s, 0, sizeof(s));
    parex_transfer_args(args, to, amount);
    parex_account_key(to_key, to);
    s.from = from;
    s.fee = fee;
    s.program = PAREX_PROGRAM_TRANSFER;
    s.args = args;
    s.args_len = sizeof(args);
    s.want_status = want_status;
    s.want_code = want_code;
    switch (decl) {
    case DECL_EXACT:
        k[0] = g->acct[from].key;
        k[1] = to_key;
        s.ws = keys_dup(&s.nw, k, 2);
        s.exact = 1;
        break;
    case DECL_NONE:
        break;
    case DECL_SENDER:
        k[0] = g->acct[from].key;
        s.ws = keys_dup(&s.nw, k, 1);
        break;
    case DECL_READ:
        k[0] = g->acct[from].key;
        s.ws = keys_dup(&s.nw, k, 1);
        if (memcmp(to_key, g->acct[from].key, 32) != 0) {
            k[0] = to_key;
            s.rs = keys_dup(&s.nr, k, 1);
        }
        break;
    default: { /* DECL_EXTRA */
        const uint8_t *x = g->acct[gen_rand(g, g->nacct)].key;
        const uint8_t *y = g->acct[gen_rand(g, g->nacct)].key;
        k[0] = g->acct[from].key;
        k[1] = to_key;
        k[2] = y;
        s.ws = keys_dup(&s.nw, k, 3);
        if (!(memcmp(x, k[0], 32) == 0 || memcmp(x, to_key, 32) == 0 ||
                memcmp(x, y, 32) == 0)) {
            s.rs = keys_dup(&s.nr, &x, 1);
        }
        break;
    }
    }
    return gen_tx(g, &s);
}

/* A tx of any program with explicit args and exact (empty) sets. */
static gtx *gen_program(gen *g, size_t from, uint32_t program,
    const uint8_t *args, size_t len, uint64_t fee, int want_status,
    int32_t want_code)
{
    gspec s;

    memset(&s, 0, sizeof(s));
    s.from = from;
    s.fee = fee;
    s.program = program;
    s.args = args;
    s.args_len = len;
    s.want_status = want_status;
    s.want_code = want_code;
    return gen_tx(g, &s);
}

/* Raw encoding without any check, for malformed txs. */
static void raw_encode(node_buf *b, uint8_t version, uint32_t chain_id,
    const uint8_t sender[32], uint64_t nonce, uint64_t fee, uint32_t program,
    const uint8_t *args, uint32_t args_len, const uint8_t *rs, uint32_t nr,
    const uint8_t *ws, uint32_t nw, const uint8_t sig[64])
{
    node_buf_u8(b, version);
    node_buf_u32le(b, chain_id);
    node_buf_put(b, sender, 32);
    node_buf_u64le(b, nonce);
    node_buf_u64le(b, fee);
    node_buf_u32le(b, program);
    node_buf_u32le(b, args_len);
    node_buf_put(b, args, args_len);
    node_buf_u32le(b, nr);
    node_buf_put(b, rs, (size_t)nr * 32);
    node_buf_u32le(b, nw);
    node_buf_put(b, ws, (size_t)nw * 32);
    node_buf_put(b, sig, 64);
}

/* ---- blocks ----------------------------------------------------------- */

static int keys_meet(const uint8_t *a, size_t na, const uint8_t *b,
    size_t nb)
{
    size_t i = 0;
    size_t j = 0;

    while (i < na && j < nb) {
        int c = memcmp(a + i * 32, b + j * 32, 32);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    return 0;
}

/* Batches of the conflict analysis (issue: tx j's batch is one more than
 * the highest batch of any earlier tx it conflicts with on declared sets),
 * computed independently of the engine. */
static uint64_t count_batches(const gen *g)
{
    uint64_t *b = node_calloc(g->ntx, sizeof(*b));
    uint64_t most = 0;
    size_t i, j;

    for (j = 0; j < g->ntx; j++) {
        const gtx *y = &g->txs[j];
        uint64_t lvl = 0;
        for (i = 0; i < j; i++) {
            const gtx *x = &g->txs[i];
            if (b[i] > lvl && (keys_meet(x->ws, x->nw, y->ws, y->nw) ||
                                  keys_meet(x->ws, x->nw, y->rs, y->nr) ||
                                  keys_meet(x->rs, x->nr, y->ws, y->nw))) {
                lvl = b[i];
            }
        }
        b[j] = lvl + 1;
        if (b[j] > most) {
            most = b[j];
        }
    }
    free(b);
    return most;
}

static void block_free_txs(gen *g)
{
    size_t i;

    for (i = 0; i < g->ntx; i++) {
        free(g->txs[i].enc.p);
        free(g->txs[i].ws);
        free(g->txs[i].rs);
        json_decref(g->txs[i].json);
    }
    g->ntx = 0;
}

static void gen_block_end(gen *g, const gblock *o)
{
    parex_header h;
    node_buf block = {0};
    parex_receipt *rc_out = node_calloc(g->ntx, sizeof(*rc_out));
    parex_error_info ei;
    parex_header out;
    json_t *b = json_object();
    json_t *hj = json_object();
    json_t *txs = json_array();
    json_t *ex = json_object();
    size_t i;
    int rc;

    memset(&h, 0, sizeof(h));
    h.height = o->height_same ? g->head.height
                              : g->head.height + 1 + o->height_delta;
    if (o->bad_parent) {
        parex_sha256(h.parent, "wrong parent", 12);
    } else {
        parex_header_hash(h.parent, &g->head);
    }
    memcpy(h.fee_recipient, o->fee_recipient != NULL ? o->fee_recipient
                                                     : g->fee, 32);
    if (o->claim == 1) {
        /* Claim the true roots: learn them from a pending execution. */
        {
            node_txbytes *v = node_calloc(g->ntx, sizeof(*v));
            for (i = 0; i < g->ntx; i++) {
                v[i] = g->txs[i].enc;
            }
            node_block_encode(&block, &h, v, g->ntx);
            free(v);
        }
        rc = parex_engine_execute(g->e, &out, g->ntx == 0 ? NULL : rc_out,
            g->ntx, NULL, &ei, block.p, block.len, 0);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "fixtures: %s: block %zu: pending "
                "execution failed: %s", g->file, g->nblocks, ei.message);
        }
        parex_engine_abort(g->e);
        memcpy(h.tx_root, out.tx_root, 32);
        memcpy(h.receipts_root, out.receipts_root, 32);
        memcpy(h.state_root, out.state_root, 32);
    } else if (o->claim == 2) {
        parex_sha256(h.state_root, "wrong state root", 16);
    } else if (o->claim == 3) {
        parex_sha256(h.tx_root, "wrong tx root", 13);
    }
    block.len = 0;
    {
        node_txbytes *v = node_calloc(g->ntx, sizeof(*v));
        for (i = 0; i < g->ntx; i++) {
            v[i] = g->txs[i].enc;
        }
        node_block_encode(&block, &h, v, g->ntx);
        free(v);
    }
    memset(&ei, 0, sizeof(ei));
    rc = parex_engine_execute(g->e, &out, g->ntx == 0 ? NULL : rc_out,
        g->ntx, NULL, &ei, block.p, block.len, PAREX_EXEC_COMMIT);

    /* The header as the fixture states it. */
    json_object_set_new(hj, "height", node_json_from_u64(h.height));
    if (o->bad_parent) {
        json_object_set_new(hj, "parent", node_json_from_hex(h.parent, 32));
    }
    if (o->fee_recipient != NULL) {
        json_object_set_new(hj, "fee_recipient",
            node_json_from_hex(h.fee_recipient, 32));
    }
    if (o->claim == 1 || o->claim == 3) {
        json_object_set_new(hj, "tx_root", node_json_from_hex(h.tx_root, 32));
    }
    if (o->claim == 1) {
        json_object_set_new(hj, "receipts_root",
            node_json_from_hex(h.receipts_root, 32));
    }
    if (o->claim == 1 || o->claim == 2) {
        json_object_set_new(hj, "state_root",
            node_json_from_hex(h.state_root, 32));
    }
    json_object_set_new(b, "header", hj);
    for (i = 0; i < g->ntx; i++) {
        json_array_append(txs, g->txs[i].json);
    }
    json_object_set_new(b, "txs", txs);

    if (o->reject != PAREX_REJECT_NONE) {
        json_t *r = json_object();
        if (rc != PAREX_E_BLOCK || ei.reject != o->reject ||
            ei.tx_index != o->reject_tx) {
            node_die(NODE_EXIT_RUNTIME, "fixtures: %s: block %zu is built to "
                "be rejected with %s at tx %lld, but the reference executor "
                "says %s, %s at tx %lld (%s)", g->file, g->nblocks,
                parex_reject_name(o->reject), (long long)o->reject_tx,
                parex_errname(rc), parex_reject_name(ei.reject),
                (long long)ei.tx_index, ei.message);
        }
        json_object_set_new(r, "reason",
            json_string(parex_reject_name(o->reject)));
        json_object_set_new(r, "tx_index", json_integer(o->reject_tx));
        json_object_set_new(ex, "reject", r);
        for (i = 0; i < g->nacct; i++) {
            g->acct[i].pending = g->acct[i].nonce;
        }
    } else {
        json_t *rs = json_array();
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "fixtures: %s: block %zu is built to "
                "be valid, but the reference executor says %s: %s at tx "
                "%lld, field '%s': %s", g->file, g->nblocks,
                parex_errname(rc), parex_reject_name(ei.reject),
                (long long)ei.tx_index, ei.field, ei.message);
        }
        json_object_set_new(ex, "state_root",
            node_json_from_hex(out.state_root, 32));
        if (o->batches) {
            for (i = 0; i < g->ntx; i++) {
                if (!g->txs[i].exact) {
                    node_die(NODE_EXIT_RUNTIME, "fixtures: %s: block %zu: "
                        "batches asked for a block with inexact sets",
                        g->file, g->nblocks);
                }
            }
            json_object_set_new(ex, "batches",
                json_integer((json_int_t)count_batches(g)));
        }
        for (i = 0; i < g->ntx; i++) {
            json_t *r = json_object();
            const gtx *t = &g->txs[i];
            if (t->want_status >= 0 &&
                (rc_out[i].status != (uint32_t)t->want_status ||
                    rc_out[i].code != t->want_code)) {
                node_die(NODE_EXIT_RUNTIME, "fixtures: %s: block %zu tx %zu "
                    "is built to end %s code %ld, but the reference says %s "
                    "code %ld", g->file, g->nblocks, i,
                    node_status_name((uint32_t)t->want_status),
                    (long)t->want_code, node_status_name(rc_out[i].status),
                    (long)rc_out[i].code);
            }
            json_object_set_new(r, "status",
                json_string(node_status_name(rc_out[i].status)));
            json_object_set_new(r, "code", json_integer(rc_out[i].code));
            json_object_set_new(r, "fee", node_json_from_u64(rc_out[i].fee));
            json_object_set_new(r, "txid",
                node_json_from_hex(rc_out[i].txid, 32));
            json_array_append_new(rs, r);
        }
        json_object_set_new(ex, "receipts", rs);
        g->head = out;
        for (i = 0; i < g->nacct; i++) {
            g->acct[i].nonce = g->acct[i].pending;
        }
    }
    json_object_set_new(b, "expect", ex);
    json_array_append_new(g->blocks, b);
    g->nblocks++;
    node_buf_release(&block);
    free(rc_out);
    block_free_txs(g);
}

static void gen_valid(gen *g)
{
    gblock o;

    memset(&o, 0, sizeof(o));
    gen_block_end(g, &o);
}

static void gen_valid_batches(gen *g)
{
    gblock o;

    memset(&o, 0, sizeof(o));
    o.batches = 1;
    gen_block_end(g, &o);
}

static void gen_rejected(gen *g, int reason, int64_t tx)
{
    gblock o;

    memset(&o, 0, sizeof(o));
    o.reject = reason;
    o.reject_tx = tx;
    gen_block_end(g, &o);
}

#define OK PAREX_TX_SUCCESS
#define FAILED PAREX_TX_FAILED

/* ---- the fixtures ----------------------------------------------------- */

static void fx_low_contention(const char *out)
{
    gen g;
    size_t i, round;

    gen_begin(&g, out, "transfers-low-contention", "128 accounts; every "
        "block pairs distinct senders with distinct recipients, so each "
        "block is one batch", 101);
    for (i = 0; i < 128; i++) {
        char name[16];
        snprintf(name, sizeof(name), "a%03zu", i);
        gen_account(&g, name, 1000000 + i);
    }
    gen_genesis(&g);
    for (round = 0; round < 3; round++) {
        for (i = 0; i < 64; i++) {
            size_t from = round == 1 ? 64 + i : (round == 2 ? 2 * i : i);
            size_t to = round == 1 ? i : (round == 2 ? 2 * i + 1 : 64 + i);
            gen_transfer(&g, from, g.acct[to].pub, 1000 + i * 7 + round,
                1 + (i % 3), DECL_EXACT, OK, 0);
        }
        gen_valid_batches(&g);
    }
    gen_end(&g);
}

static void fx_high_contention(const char *out)
{
    gen g;
    size_t j, blk;

    gen_begin(&g, out, "transfers-high-contention", "3 accounts sending "
        "round-robin (then 2 ping-ponging): every tx conflicts with the "
        "previous one", 202);
    gen_account(&g, "a", 500000);
    gen_account(&g, "b", 500000);
    gen_account(&g, "c", 500000);
    gen_genesis(&g);
    for (blk = 0; blk < 2; blk++) {
        for (j = 0; j < 60; j++) {
            gen_transfer(&g, j % 3, g.acct[(j + 1) % 3].pub,
                1 + gen_rand(&g, 1000), gen_rand(&g, 5), DECL_EXACT, OK, 0);
        }
        gen_valid_batches(&g);
    }
    for (j = 0; j < 40; j++) {
        gen_transfer(&g, j % 2, g.acct[(j + 1) % 2].pub,
            1 + gen_rand(&g, 2000), 1, DECL_EXACT, OK, 0);
    }
    gen_valid_batches(&g);
    gen_end(&g);
}

static void fx_multi_block(const char *out)
{
    gen g;
    size_t blk, j;
    gblock o;
    static const size_t sizes[] = {12, 0, 30, 5, 25, 1, 18, 9};
    uint8_t key[32], val[24];

    gen_begin(&g, out, "chain-multi-block", "8 blocks of seeded random "
        "transfers among 10 accounts (one block empty), mixed contention, "
        "genesis state entries, block 5 claims its true roots", 303);
    for (j = 0; j < 10; j++) {
        char name[8];
        snprintf(name, sizeof(name), "a%zu", j);
        gen_account(&g, name, 200000 + 1000 * j);
    }
    for (j = 0; j < 3; j++) {
        char s[16];
        snprintf(s, sizeof(s), "genesis-key-%zu", j);
        parex_sha256(key, s, strlen(s));
        memset(val, (int)(0xa0 + j), sizeof(val));
        gen_state(&g, key, val, 8 * (j + 1));
    }
    gen_genesis(&g);
    for (blk = 0; blk < 8; blk++) {
        for (j = 0; j < sizes[blk]; j++) {
            size_t from = gen_rand(&g, 10);
            size_t to = gen_rand(&g, 10);
            gen_transfer(&g, from, g.acct[to].pub, 1 + gen_rand(&g, 5000),
                gen_rand(&g, 4), DECL_EXACT, OK, 0);
        }
        memset(&o, 0, sizeof(o));
        o.batches = sizes[blk] > 0;
        o.claim = blk == 5 ? 1 : 0;
        gen_block_end(&g, &o);
    }
    gen_end(&g);
}

/* Many small blocks: the crash-consistency test (tests/node/crash.sh)
 * kills `parex replay` at random moments, and with blocks this small most
 * of the time goes into commits, so the kills land in them too. */
static void fx_many_blocks(const char *out)
{
    gen g;
    size_t blk, j, n;
    gspec s;

    gen_begin(&g, out, "chain-many-blocks", "240 small blocks (0 to 3 "
        "seeded random transfers among 16 accounts), a block rejected for a "
        "replayed nonce after every 40th; the workload of the crash test",
        404);
    for (j = 0; j < 16; j++) {
        char name[8];
        snprintf(name, sizeof(name), "a%zu", j);
        gen_account(&g, name, 1000000 + 100 * j);
    }
    gen_genesis(&g);
    for (blk = 0; blk < 240; blk++) {
        n = gen_rand(&g, 4);
        for (j = 0; j < n; j++) {
            size_t from = gen_rand(&g, 16);
            size_t to = gen_rand(&g, 16);
            gen_transfer(&g, from, g.acct[to].pub, 1 + gen_rand(&g, 500),
                gen_rand(&g, 3), DECL_EXACT, OK, 0);
        }
        gen_valid(&g);
        if (blk % 40 == 39) {
            gen_transfer(&g, 0, g.acct[1].pub, 1, 1, DECL_EXACT, OK, 0);
            memset(&s, 0, sizeof(s));
            s.from = 2;
            s.nonce_set = 1;
            s.nonce = 0;
            s.want_status = -1;
            gen_tx(&g, &s);
            gen_rejected(&g, PAREX_REJECT_BAD_NONCE, 1);
        }
    }
    gen_end(&g);
}

static void fx_fee_recipient(const char *out)
{
    gen g;
    gacct other;
    gblock o;
    size_t f, a, b, j;

    gen_begin(&g, out, "fee-recipient", "the fee recipient is an account "
        "that sends and receives transfers in the blocks that pay it fees; "
        "one block pays a fresh recipient without an account", 404);
    a = gen_account(&g, "a", 100000);
    b = gen_account(&g, "b", 100000);
    /* The genesis fee recipient as a funded account of the fixture. */
    f = gen_account(&g, "fee", 50);
    memcpy(g.fee, g.acct[f].pub, 32);
    gen_genesis(&g);
    for (j = 0; j < 6; j++) {
        gen_transfer(&g, j % 2 ? a : b, g.acct[f].pub, 10 + j, 3, DECL_EXACT,
            OK, 0);
    }
    gen_transfer(&g, f, g.acct[a].pub, 40, 2, DECL_EXACT, OK, 0);
    gen_valid(&g);
    /* The recipient spends more than its balance before this block's fees
     * arrive: the transfer fails (fees are credited at the block's end). */
    gen_transfer(&g, f, g.acct[b].pub, 1000, 1, DECL_EXACT, FAILED, 1);
    gen_transfer(&g, a, g.acct[f].pub, 5, 7, DECL_EXACT, OK, 0);
    gen_transfer(&g, f, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);
    key_of(&other, "fee-recipient", "fresh-recipient");
    gen_transfer(&g, a, g.acct[b].pub, 1, 11, DECL_EXACT, OK, 0);
    gen_transfer(&g, b, other.pub, 100, 13, DECL_EXACT, OK, 0);
    memset(&o, 0, sizeof(o));
    o.fee_recipient = other.pub;
    gen_block_end(&g, &o);
    gen_end(&g);
}

static void fx_failing(const char *out)
{
    gen g;
    size_t a, b, rich, poor, j;
    uint8_t args[64];
    node_buf targs = {0};
    node_trace_tx tt;
    uint8_t keys[4][32];
    gacct stranger;

    gen_begin(&g, out, "failing-programs", "transactions whose program "
        "fails are included: nonce and fee apply, program writes are "
        "discarded (insufficient balance, malformed args, recipient "
        "overflow, unknown program, trace program with bad args)", 505);
    a = gen_account(&g, "a", 10000);
    b = gen_account(&g, "b", 10000);
    rich = gen_account(&g, "rich", UINT64_MAX - 10);
    poor = gen_account(&g, "poor", 30);
    gen_genesis(&g);
    key_of(&stranger, "failing-programs", "stranger");
    gen_transfer(&g, a, g.acct[b].pub, 20000, 5, DECL_EXACT, FAILED, 1);
    parex_transfer_args(args, g.acct[b].pub, 10);
    gen_program(&g, a, PAREX_PROGRAM_TRANSFER, args, 39, 2, FAILED, 2);
    gen_program(&g, a, PAREX_PROGRAM_TRANSFER, args, 0, 2, FAILED, 2);
    memset(args + 40, 0x77, 1);
    gen_program(&g, b, PAREX_PROGRAM_TRANSFER, args, 41, 2, FAILED, 2);
    gen_transfer(&g, b, g.acct[rich].pub, 100, 1, DECL_EXACT, FAILED, 3);
    gen_program(&g, a, 1000, args, 40, 3, PAREX_TX_UNKNOWN_PROGRAM, 0);
    gen_program(&g, b, 255, NULL, 0, 0, PAREX_TX_UNKNOWN_PROGRAM, 0);
    gen_transfer(&g, poor, g.acct[a].pub, 30, 0, DECL_EXACT, OK, 0);
    gen_transfer(&g, poor, g.acct[a].pub, 1, 0, DECL_EXACT, FAILED, 1);
    gen_transfer(&g, a, g.acct[a].pub, 100, 1, DECL_EXACT, -1, 0);
    gen_transfer(&g, b, stranger.pub, 0, 1, DECL_EXACT, -1, 0);
    gen_valid(&g);

    /* The trace program: valid args, then truncated args. */
    for (j = 0; j < 4; j++) {
        char s[16];
        snprintf(s, sizeof(s), "slot-%zu", j);
        parex_sha256(keys[j], s, strlen(s));
    }
    memset(&tt, 0, sizeof(tt));
    tt.id = (char *)"fixture-trace-0";
    tt.r = keys[0];
    tt.nr = 2;
    tt.w = keys[2];
    tt.nw = 2;
    node_trace_args(&targs, &tt);
    gen_program(&g, a, PAREX_PROGRAM_TRACE, targs.p, targs.len, 1, OK, 0);
    gen_program(&g, b, PAREX_PROGRAM_TRACE, targs.p, targs.len - 1, 1, -1,
        0);
    gen_program(&g, b, PAREX_PROGRAM_TRACE, targs.p, targs.len, 1, OK, 0);
    gen_transfer(&g, b, g.acct[a].pub, 10001, 1, DECL_EXACT, FAILED, 1);
    gen_valid(&g);
    node_buf_release(&targs);
    gen_end(&g);
}

static void fx_wrong_declarations(const char *out)
{
    static const int modes[] = {DECL_NONE, DECL_SENDER, DECL_READ,
        DECL_EXTRA};
    static const char *const names[] = {"none", "sender-only",
        "recipient-read", "extra"};
    gen g;
    size_t m, j;

    gen_begin(&g, out, "wrong-declarations", "transfer chains a->b->c->... "
        "whose declared sets are wrong: none, sender only, recipient "
        "declared read, extra keys; then all modes mixed. Wrong "
        "declarations cost re-executions, never correctness", 606);
    for (j = 0; j < 8; j++) {
        char name[8];
        snprintf(name, sizeof(name), "a%zu", j);
        gen_account(&g, name, 100000);
    }
    gen_genesis(&g);
    for (m = 0; m < 4; m++) {
        (void)names;
        for (j = 0; j < 24; j++) {
            gen_transfer(&g, j % 8, g.acct[(j + 1) % 8].pub, 100 + j,
                j % 2, modes[m], OK, 0);
        }
        gen_valid(&g);
    }
    for (j = 0; j < 40; j++) {
        gen_transfer(&g, gen_rand(&g, 8), g.acct[gen_rand(&g, 8)].pub,
            1 + gen_rand(&g, 3000), gen_rand(&g, 3), (int)gen_rand(&g, 5),
            OK, 0);
    }
    gen_valid(&g);
    gen_end(&g);
}

static void fx_invalid_tx(const char *out)
{
    gen g;
    size_t a, b, c, broke;
    gspec s;

    gen_begin(&g, out, "invalid-txs", "blocks rejected whole for one bad "
        "tx (bad signature, nonce too high, replayed nonce, nonce twice in "
        "a block, unpayable fee, wrong chain id); valid blocks between and "
        "after prove that nothing of a rejected block was kept", 707);
    a = gen_account(&g, "a", 100000);
    b = gen_account(&g, "b", 100000);
    c = gen_account(&g, "c", 100000);
    broke = gen_account(&g, "broke", 5);
    gen_genesis(&g);
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, b, g.acct[c].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);

    /* bad signature at tx 2 */
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, b, g.acct[c].pub, 10, 1, DECL_EXACT, OK, 0);
    memset(&s, 0, sizeof(s));
    s.from = c;
    s.program = PAREX_PROGRAM_TRANSFER;
    s.bad_sig = 1;
    s.want_status = -1;
    gen_tx(&g, &s);
    gen_rejected(&g, PAREX_REJECT_BAD_SIGNATURE, 2);

    /* nonce too high at tx 1 */
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    memset(&s, 0, sizeof(s));
    s.from = b;
    s.nonce_set = 1;
    s.nonce = g.acct[b].nonce + 1;
    s.want_status = -1;
    gen_tx(&g, &s);
    gen_rejected(&g, PAREX_REJECT_BAD_NONCE, 1);

    /* replayed nonce (used in block 0) at tx 0 */
    memset(&s, 0, sizeof(s));
    s.from = a;
    s.nonce_set = 1;
    s.nonce = 0;
    s.want_status = -1;
    gen_tx(&g, &s);
    gen_transfer(&g, b, g.acct[c].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_rejected(&g, PAREX_REJECT_BAD_NONCE, 0);

    /* the same nonce twice in one block: the second at tx 2 */
    gen_transfer(&g, c, g.acct[a].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    memset(&s, 0, sizeof(s));
    s.from = c;
    s.nonce_set = 1;
    s.nonce = g.acct[c].nonce;
    s.want_status = -1;
    gen_tx(&g, &s);
    gen_rejected(&g, PAREX_REJECT_BAD_NONCE, 2);

    /* a fee the sender cannot pay at tx 1 */
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, broke, g.acct[a].pub, 1, 6, DECL_EXACT, OK, 0);
    gen_rejected(&g, PAREX_REJECT_FEE, 1);

    /* wrong chain id at tx 0 */
    memset(&s, 0, sizeof(s));
    s.from = b;
    s.chain_id_set = 1;
    s.chain_id = g.chain_id + 1;
    s.want_status = -1;
    gen_tx(&g, &s);
    gen_rejected(&g, PAREX_REJECT_CHAIN_ID, 0);

    /* and the chain goes on from the unchanged state */
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, b, g.acct[c].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, c, g.acct[a].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, broke, g.acct[a].pub, 1, 4, DECL_EXACT, OK, 0);
    gen_valid(&g);
    gen_end(&g);
}

/* A valid tx of account `from` with the given sets, as raw fields. */
static void malformed(gen *g, size_t from, int what)
{
    gacct *a = &g->acct[from];
    uint8_t k1[32], k2[32], rs[64], ws[64], sig[64], args[40];
    node_buf b = {0};

    parex_sha256(k1, "k1", 2);
    parex_sha256(k2, "k2", 2);
    if (memcmp(k1, k2, 32) > 0) {
        uint8_t t[32];
        memcpy(t, k1, 32);
        memcpy(k1, k2, 32);
        memcpy(k2, t, 32);
    }
    memset(sig, 0x42, sizeof(sig));
    parex_transfer_args(args, a->pub, 1);
    switch (what) {
    case 0: /* truncated: the signature is cut short */
        memcpy(ws, k1, 32);
        raw_encode(&b, PAREX_TX_VERSION, g->chain_id, a->pub, a->pending, 0,
            1, args, 40, NULL, 0, ws, 1, sig);
        b.len -= 1;
        break;
    case 1: /* one trailing byte */
        memcpy(ws, k1, 32);
        raw_encode(&b, PAREX_TX_VERSION, g->chain_id, a->pub, a->pending, 0,
            1, args, 40, NULL, 0, ws, 1, sig);
        node_buf_u8(&b, 0);
        break;
    case 2: /* unsorted write set */
        memcpy(ws, k2, 32);
        memcpy(ws + 32, k1, 32);
        raw_encode(&b, PAREX_TX_VERSION, g->chain_id, a->pub, a->pending, 0,
            1, args, 40, NULL, 0, ws, 2, sig);
        break;
    case 3: /* duplicate key in the read set */
        memcpy(rs, k1, 32);
        memcpy(rs + 32, k1, 32);
        raw_encode(&b, PAREX_TX_VERSION, g->chain_id, a->pub, a->pending, 0,
            1, args, 40, rs, 2, NULL, 0, sig);
        break;
    case 4: /* a key both read and written */
        memcpy(rs, k1, 32);
        memcpy(ws, k1, 32);
        raw_encode(&b, PAREX_TX_VERSION, g->chain_id, a->pub, a->pending, 0,
            1, args, 40, rs, 1, ws, 1, sig);
        break;
    case 5: /* unknown encoding version */
        raw_encode(&b, PAREX_TX_VERSION + 1, g->chain_id, a->pub, a->pending,
            0, 1, args, 40, NULL, 0, NULL, 0, sig);
        break;
    case 6: /* args length beyond the end */
        raw_encode(&b, PAREX_TX_VERSION, g->chain_id, a->pub, a->pending, 0,
            1, args, 40, NULL, 0, NULL, 0, sig);
        node_put_u32le(b.p + 1 + 4 + 32 + 8 + 8 + 4, 4000);
        break;
    default: /* empty */
        break;
    }
    gen_raw(g, b.p, b.len);
    node_buf_release(&b);
}

static void fx_invalid_malformed(const char *out)
{
    gen g;
    size_t a, b, what;

    gen_begin(&g, out, "invalid-malformed", "blocks rejected whole for one "
        "non-canonical tx given as raw hex: truncated, trailing byte, "
        "unsorted keys, duplicate keys, overlapping sets, bad version, args "
        "length overrun, empty; the chain goes on after each", 808);
    a = gen_account(&g, "a", 100000);
    b = gen_account(&g, "b", 100000);
    gen_genesis(&g);
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);
    for (what = 0; what < 8; what++) {
        gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
        malformed(&g, b, (int)what);
        gen_transfer(&g, b, g.acct[a].pub, 10, 1, DECL_EXACT, OK, 0);
        gen_rejected(&g, PAREX_REJECT_MALFORMED, 1);
    }
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, b, g.acct[a].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);
    gen_end(&g);
}

/* A transfer from `from` declaring n extra keys in its write or read set. */
static void many_keys(gen *g, size_t from, size_t to, uint32_t n, int read)
{
    uint8_t args[PAREX_TRANSFER_ARGS_BYTES];
    uint8_t *keys = node_malloc(((size_t)n + 2) * 32);
    size_t i, m;
    gspec s;

    for (i = 0; i < n; i++) {
        uint8_t seed[16];
        node_put_u64le(seed, i);
        node_put_u64le(seed + 8, 0x6b657973u);
        parex_sha256(keys + i * 32, seed, sizeof(seed));
    }
    m = node_keys_sort_unique(keys, n);
    memset(&s, 0, sizeof(s));
    parex_transfer_args(args, g->acct[to].pub, 5);
    s.from = from;
    s.program = PAREX_PROGRAM_TRANSFER;
    s.args = args;
    s.args_len = sizeof(args);
    s.want_status = -1;
    if (read) {
        s.rs = keys;
        s.nr = m;
    } else {
        s.ws = keys;
        s.nw = m;
    }
    gen_tx(g, &s);
}

static void fx_invalid_limits(const char *out)
{
    gen g;
    size_t a, b;

    gen_begin(&g, out, "invalid-limits", "a read or write set of 4097 keys "
        "(max_keys_per_set + 1) rejects the block; 4096 keys are accepted",
        909);
    a = gen_account(&g, "a", 100000);
    b = gen_account(&g, "b", 100000);
    gen_genesis(&g);
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    many_keys(&g, b, a, 4097, 0);
    gen_rejected(&g, PAREX_REJECT_LIMIT, 1);
    many_keys(&g, b, a, 4097, 1);
    gen_rejected(&g, PAREX_REJECT_LIMIT, 0);
    many_keys(&g, b, a, 4096, 0);
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);
    gen_end(&g);
}

static void fx_invalid_header(const char *out)
{
    gen g;
    size_t a, b;
    gblock o;

    gen_begin(&g, out, "invalid-header", "blocks rejected for their header: "
        "height skipped, height repeated, wrong parent, wrong claimed state "
        "root, wrong claimed tx root; a block claiming its true roots is "
        "accepted", 1010);
    a = gen_account(&g, "a", 100000);
    b = gen_account(&g, "b", 100000);
    gen_genesis(&g);
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);

    memset(&o, 0, sizeof(o));
    o.reject = PAREX_REJECT_HEIGHT;
    o.reject_tx = -1;
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    o.height_delta = 1;
    gen_block_end(&g, &o);

    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    o.height_delta = 0;
    o.height_same = 1;
    gen_block_end(&g, &o);

    memset(&o, 0, sizeof(o));
    o.reject = PAREX_REJECT_PARENT;
    o.reject_tx = -1;
    o.bad_parent = 1;
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_block_end(&g, &o);

    memset(&o, 0, sizeof(o));
    o.reject = PAREX_REJECT_ROOT_MISMATCH;
    o.reject_tx = -1;
    o.claim = 2;
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_block_end(&g, &o);

    o.claim = 3;
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_block_end(&g, &o);

    memset(&o, 0, sizeof(o));
    o.claim = 1;
    gen_transfer(&g, a, g.acct[b].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_transfer(&g, b, g.acct[a].pub, 3, 2, DECL_EXACT, OK, 0);
    gen_block_end(&g, &o);

    gen_transfer(&g, b, g.acct[a].pub, 10, 1, DECL_EXACT, OK, 0);
    gen_valid(&g);
    gen_end(&g);
}

void node_help_fixtures(FILE *f)
{
    fputs(
"usage: parex fixtures generate --out DIR\n"
"\n"
"Write the bundled fixtures (fixtures/*.json) into DIR, deterministically:\n"
"the same program writes the same bytes. Expectations come from the\n"
"sequential reference executor; each fixture's intended outcomes (the\n"
"rejection reason and tx index of every invalid block, the failure code\n"
"of failing txs) are asserted while generating. The fixtures cover\n"
"transfers at low and high contention, multi-block chains (one of 240\n"
"small blocks, the crash test's workload), the fee recipient, failing\n"
"programs, wrong declarations and invalid blocks (bad signature, bad\n"
"nonce, unpayable fee, wrong chain id, malformed txs, over limits, wrong\n"
"height, wrong parent, wrong claimed roots).\n"
"\n"
"exit status: 0 ok; 2 usage error; 4 library error or an intended outcome\n"
"that the reference executor does not produce.\n", f);
}

int node_cmd_fixtures(int argc, char **argv)
{
    const char *out = NULL;
    const char *val;
    int k;

    if (argc < 2 || node_wants_help(argc, argv)) {
        node_help_fixtures(argc < 2 ? stderr : stdout);
        return argc < 2 ? NODE_EXIT_USAGE : NODE_EXIT_OK;
    }
    if (strcmp(argv[1], "generate") != 0) {
        node_die(NODE_EXIT_USAGE, "fixtures: unknown subcommand '%s'",
            argv[1]);
    }
    for (k = 2; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--out", &val)) {
            out = val;
        } else {
            node_die(NODE_EXIT_USAGE, "fixtures generate: unexpected "
                "argument '%s'", argv[k]);
        }
    }
    if (out == NULL) {
        node_die(NODE_EXIT_USAGE, "fixtures generate: --out DIR is required");
    }
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        node_die(NODE_EXIT_RUNTIME, "%s: %s", out, strerror(errno));
    }
    fx_low_contention(out);
    fx_high_contention(out);
    fx_multi_block(out);
    fx_many_blocks(out);
    fx_fee_recipient(out);
    fx_failing(out);
    fx_wrong_declarations(out);
    fx_invalid_tx(out);
    fx_invalid_malformed(out);
    fx_invalid_limits(out);
    fx_invalid_header(out);
    return NODE_EXIT_OK;
}
