/* Unit tests of the reference node's pieces: the key map, the mempool, the
 * block log and JSON-RPC dispatch (node_rpc_handle on a real store, with
 * blocks produced by node_produce_block). Bad requests must each get a
 * JSON-RPC error and change nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/daemon.h"

/* ---- key map ------------------------------------------------------------ */

static void key_n(uint8_t k[32], uint64_t i)
{
    /* Structured keys (small counters) collide in the low bytes unless the
     * map mixes them. */
    memset(k, 0, 32);
    node_put_u64le(k, i % 7);
    node_put_u64le(k + 24, i);
}

static void test_keymap_against_array(void **state)
{
    enum { N = 3000 };
    node_keymap m = {0};
    static int present[N];
    uint8_t k[32];
    uint64_t v, i, r = 12345;
    size_t count = 0;
    int step;

    (void)state;
    memset(present, 0, sizeof(present));
    for (step = 0; step < 20000; step++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        i = (r >> 33) % N;
        key_n(k, i);
        if ((r >> 20) % 3 == 0) {
            assert_int_equal(node_keymap_del(&m, k, &v), present[i]);
            if (present[i]) {
                assert_true(v == i * 3);
                count--;
            }
            present[i] = 0;
        } else {
            assert_int_equal(node_keymap_put(&m, k, i * 3), present[i]);
            if (!present[i]) {
                count++;
            }
            present[i] = 1;
        }
        assert_int_equal(node_keymap_count(&m), count);
    }
    for (i = 0; i < N; i++) {
        key_n(k, i);
        assert_int_equal(node_keymap_get(&m, k, &v), present[i]);
        if (present[i]) {
            assert_true(v == i * 3);
        }
    }
    node_keymap_release(&m);
}

/* ---- mempool ------------------------------------------------------------ */

typedef struct nonces {
    uint8_t pub[4][32];
    uint64_t next[4];
    int dropped;
} nonces;

static int nonce_cb(uint64_t *nonce, const uint8_t sender[32], void *user)
{
    nonces *n = user;
    int i;

    for (i = 0; i < 4; i++) {
        if (memcmp(n->pub[i], sender, 32) == 0) {
            *nonce = n->next[i];
            return 0;
        }
    }
    return -1;
}

static void drop_cb(const node_mp_tx *t, uint64_t next, void *user)
{
    nonces *n = user;

    assert_true(t->nonce < next);
    n->dropped++;
}

/* Add a tx of len zero bytes paying fee, arriving at time t, its sender's
 * committed next nonce being next. */
static int mp_put_next(node_mempool *mp, const uint8_t id[32],
    const uint8_t pub[32], uint64_t nonce, uint64_t next, uint64_t fee,
    size_t len, uint64_t t, node_mp_gone_fn gone, void *user)
{
    uint8_t bytes[64] = {0};
    node_mp_in in;

    assert_true(len <= sizeof(bytes));
    memset(&in, 0, sizeof(in));
    in.txid = id;
    in.sender = pub;
    in.nonce = nonce;
    in.next_nonce = next;
    in.fee = fee;
    in.t_ns = t;
    in.bytes = bytes;
    in.len = len;
    return node_mempool_add(mp, &in, gone, user);
}

static int mp_put(node_mempool *mp, const uint8_t id[32],
    const uint8_t pub[32], uint64_t nonce, uint64_t fee, size_t len,
    uint64_t t, node_mp_gone_fn gone, void *user)
{
    return mp_put_next(mp, id, pub, nonce, 0, fee, len, t, gone, user);
}

static void mp_add(node_mempool *mp, const nonces *n, int s, uint64_t nonce,
    int want)
{
    uint8_t id[32];

    memset(id, 0, 32);
    id[0] = (uint8_t)s;
    node_put_u64le(id + 8, nonce);
    assert_int_equal(mp_put_next(mp, id, n->pub[s], nonce, n->next[s], 1,
        10, 0, NULL, NULL), want);
}

static void test_mempool_rules(void **state)
{
    node_mempool *mp = node_mempool_create(6, 1000, 0);
    node_mp_tx *out[8];
    nonces n;
    uint8_t id[32];
    size_t k;

    (void)state;
    memset(&n, 0, sizeof(n));
    for (k = 0; k < 4; k++) {
        memset(n.pub[k], (int)k + 1, 32);
    }
    /* Sender 0: nonces 2, 0, 1 arrive out of order; sender 1: 5 (a gap);
     * sender 2: 0. */
    mp_add(mp, &n, 0, 2, NODE_MP_OK);
    mp_add(mp, &n, 1, 5, NODE_MP_OK);
    mp_add(mp, &n, 0, 0, NODE_MP_OK);
    mp_add(mp, &n, 0, 1, NODE_MP_OK);
    mp_add(mp, &n, 2, 0, NODE_MP_OK);
    /* The same tx id again, and another tx with a taken nonce. */
    mp_add(mp, &n, 0, 1, NODE_MP_DUP);
    memset(id, 0xee, 32);
    assert_int_equal(mp_put(mp, id, n.pub[0], 1, 1, 10, 0, NULL, NULL),
        NODE_MP_NONCE_TAKEN);
    assert_int_equal(node_mempool_size(mp), 5);
    assert_int_equal(node_mempool_senders(mp), 3);
    assert_int_equal(node_mempool_bytes(mp), 50);
    mp_add(mp, &n, 3, 0, NODE_MP_OK);
    /* 6 txs at most: a gapped tx of the same value evicts nothing. */
    mp_add(mp, &n, 3, 2, NODE_MP_FULL);
    assert_int_equal(node_mempool_size(mp), 6);

    /* Senders in arrival order; each its consecutive run from its next
     * nonce: 0,1,2 of sender 0; nothing of sender 1 (gap); sender 2, 3. */
    k = node_mempool_select(mp, out, 8, SIZE_MAX, nonce_cb, drop_cb, &n);
    assert_int_equal(k, 5);
    assert_true(out[0]->nonce == 0 && out[1]->nonce == 1 &&
        out[2]->nonce == 2);
    assert_memory_equal(out[0]->sender, n.pub[0], 32);
    assert_memory_equal(out[3]->sender, n.pub[2], 32);
    assert_memory_equal(out[4]->sender, n.pub[3], 32);
    /* max bounds the selection. */
    assert_int_equal(node_mempool_select(mp, out, 2, SIZE_MAX, nonce_cb, drop_cb, &n),
        2);
    /* Sender 1's gap closes when its account reaches nonce 5. */
    n.next[1] = 5;
    k = node_mempool_select(mp, out, 8, SIZE_MAX, nonce_cb, drop_cb, &n);
    assert_int_equal(k, 6);
    /* Committed: sender 0 reached nonce 2; its txs 0 and 1 are stale and
     * are dropped by select, which still returns nonce 2. */
    n.next[0] = 2;
    k = node_mempool_select(mp, out, 8, SIZE_MAX, nonce_cb, drop_cb, &n);
    assert_int_equal(n.dropped, 2);
    assert_int_equal(node_mempool_size(mp), 4);
    assert_int_equal(k, 4);
    assert_true(out[0]->nonce == 2);
    /* Remove; a second remove reports absence; an emptied sender goes. */
    memcpy(id, out[0]->txid, 32);
    assert_int_equal(node_mempool_remove(mp, id), 1);
    assert_int_equal(node_mempool_remove(mp, id), 0);
    assert_int_equal(node_mempool_senders(mp), 3);
    assert_int_equal(node_mempool_sender_count(mp, n.pub[0]), 0);
    /* Room again: the full mempool took nothing, now it takes one. */
    mp_add(mp, &n, 3, 1, NODE_MP_OK);
    /* A sender whose nonce cannot be read is skipped. */
    memset(n.pub[2], 0x77, 32);
    k = node_mempool_select(mp, out, 8, SIZE_MAX, nonce_cb, drop_cb, &n);
    assert_int_equal(k, 3);
    node_mempool_destroy(mp);
}

static void test_mempool_bytes_bound(void **state)
{
    node_mempool *mp = node_mempool_create(100, 25, 0);
    node_mp_tx *out[4];
    nonces n;
    uint8_t id[32], pub[32];

    (void)state;
    memset(pub, 1, 32);
    memset(id, 1, 32);
    assert_int_equal(mp_put(mp, id, pub, 0, 1, 10, 0, NULL, NULL),
        NODE_MP_OK);
    id[0] = 2;
    assert_int_equal(mp_put(mp, id, pub, 1, 1, 10, 0, NULL, NULL),
        NODE_MP_OK);
    id[0] = 3;
    assert_int_equal(mp_put(mp, id, pub, 2, 1, 10, 0, NULL, NULL),
        NODE_MP_FULL);
    assert_int_equal(node_mempool_bytes(mp), 20);
    /* select stops a run at the byte cap. */
    memset(&n, 0, sizeof(n));
    memcpy(n.pub[0], pub, 32);
    assert_int_equal(node_mempool_select(mp, out, 4, 19, nonce_cb, drop_cb,
        &n), 1);
    assert_int_equal(node_mempool_select(mp, out, 4, 20, nonce_cb, drop_cb,
        &n), 2);
    node_mempool_destroy(mp);
}

typedef struct gone_log {
    int n, reason[8];
    uint64_t nonce[8];
    uint8_t first[8];
} gone_log;

static void gone_cb(const node_mp_tx *t, int reason, void *user)
{
    gone_log *g = user;

    assert_true(g->n < 8);
    g->reason[g->n] = reason;
    g->nonce[g->n] = t->nonce;
    g->first[g->n] = t->sender[0];
    g->n++;
}

/* Attack 1 at the mempool: a full pool of the attacker's txs stuck
 * behind a nonce gap takes a ready tx even at the same fee (the stuck ones
 * go first, last nonce first); otherwise only a tx paying more per byte
 * evicts; a sender's own txs are never the victims; the per-sender cap
 * holds; the fee sum follows adds and removals; txs expire. */
static void test_mempool_evicts_expires_and_caps(void **state)
{
    node_mempool *mp = node_mempool_create(4, 1000, 3);
    uint8_t id[32], att[32], hon[32], other[32], fourth[32];
    gone_log g;
    uint64_t i;

    (void)state;
    memset(&g, 0, sizeof(g));
    memset(att, 0xa0, 32);
    memset(hon, 0xb0, 32);
    memset(other, 0xc0, 32);
    memset(fourth, 0xd0, 32);
    memset(id, 0, 32);
    /* The attacker: fee 1 for 60 bytes, nonces 1.. while its next is 0
     * (never ready). */
    for (i = 1; i <= 3; i++) {
        id[0] = (uint8_t)i;
        assert_int_equal(mp_put(mp, id, att, i, 1, 60, 100 + i, gone_cb, &g),
            NODE_MP_OK);
    }
    id[0] = 4;
    /* Its fourth: the per-sender cap of 3. */
    assert_int_equal(mp_put(mp, id, att, 4, 1, 60, 104, gone_cb, &g),
        NODE_MP_SENDER_FULL);
    assert_int_equal(node_mempool_sender_fees(mp, att), 3);
    /* A ready sender fills the pool (4 txs). */
    id[0] = 5;
    assert_int_equal(mp_put(mp, id, other, 0, 2, 60, 105, gone_cb, &g),
        NODE_MP_OK);
    /* A gapped tx paying the same per byte (1/60): refused. */
    id[0] = 6;
    assert_int_equal(mp_put(mp, id, hon, 5, 1, 60, 106, gone_cb, &g),
        NODE_MP_FULL);
    assert_int_equal(g.n, 0);
    /* A ready one at the same fee: the attacker's last nonce goes. */
    assert_int_equal(mp_put(mp, id, hon, 0, 1, 60, 106, gone_cb, &g),
        NODE_MP_OK);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.reason[0], NODE_DROP_EVICTED);
    assert_true(g.nonce[0] == 3 && g.first[0] == 0xa0);
    assert_int_equal(node_mempool_size(mp), 4);
    assert_int_equal(node_mempool_sender_fees(mp, att), 2);
    /* The honest sender's next (ready) tx at 1/60 evicts the attacker's
     * stuck nonce 2, not the ready tx of the other sender; a tx paying
     * 1/20 then evicts the attacker's nonce 1. */
    id[0] = 7;
    assert_int_equal(mp_put(mp, id, hon, 1, 1, 60, 107, gone_cb, &g),
        NODE_MP_OK);
    assert_true(g.n == 2 && g.nonce[1] == 2 && g.first[1] == 0xa0);
    id[0] = 8;
    assert_int_equal(mp_put(mp, id, fourth, 0, 1, 20, 108, gone_cb, &g),
        NODE_MP_OK);
    assert_true(g.n == 3 && g.nonce[2] == 1 && g.first[2] == 0xa0);
    assert_int_equal(node_mempool_sender_count(mp, att), 0);
    assert_int_equal(node_mempool_sender_fees(mp, att), 0);
    /* All ready now: 1/60 displaces neither 2/60 nor 1/20, and never the
     * honest sender's own txs. */
    id[0] = 9;
    assert_int_equal(mp_put(mp, id, att, 0, 1, 60, 109, gone_cb, &g),
        NODE_MP_FULL);
    id[0] = 10;
    assert_int_equal(mp_put(mp, id, hon, 2, 1, 60, 109, gone_cb, &g),
        NODE_MP_FULL);
    /* Expiry: everything that arrived before 107 goes (the other
     * sender's tx and the honest nonce 0; nonce 1 stays). */
    assert_int_equal(node_mempool_expire(mp, 107, gone_cb, &g), 2);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.reason[3], NODE_DROP_EXPIRED);
    assert_int_equal(g.reason[4], NODE_DROP_EXPIRED);
    assert_int_equal(node_mempool_size(mp), 2);
    assert_int_equal(node_mempool_senders(mp), 2);
    assert_int_equal(node_mempool_sender_fees(mp, hon), 1);
    node_mempool_destroy(mp);
}

/* ---- a node on a real store --------------------------------------------- */

typedef struct world {
    char *dir;
    node_ctx c;
    parex_engine *e;
    uint8_t sec[3][32], pub[3][32];
} world;

static const uint64_t START_BAL = 1000;
/* The fee recipient's genesis balance (0: no account) of the next world. */
static uint64_t fee_start;

static int world_setup(void **state)
{
    world *w = node_calloc(1, sizeof(*w));
    parex_kv kvs[4];
    uint8_t vals[4][16], fee[32];
    size_t nkv = 3;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    int i;

    w->dir = node_tmpdir("nodetest");
    for (i = 0; i < 3; i++) {
        char seed[16];
        snprintf(seed, sizeof(seed), "acct-%d", i);
        node_key_from_str(w->sec[i], w->pub[i], seed);
        parex_account_key(kvs[i].key, w->pub[i]);
        parex_account_encode(vals[i], START_BAL, 0);
        kvs[i].value = vals[i];
        kvs[i].value_len = 16;
    }
    memset(fee, 0x55, 32);
    if (fee_start > 0) {
        parex_account_key(kvs[3].key, fee);
        parex_account_encode(vals[3], fee_start, 0);
        kvs[3].value = vals[3];
        kvs[3].value_len = 16;
        nkv = 4;
    }
    assert_int_equal(parex_db_open(&w->c.db, NULL, w->dir, NULL), PAREX_OK);
    assert_int_equal(parex_db_genesis_chain(w->c.db, NULL, 7, kvs, nkv, fee),
        PAREX_OK);
    parex_engine_options_default(&eo);
    eo.threads = 2;
    eo.chain_id = 7;
    assert_int_equal(parex_engine_create(&w->e, w->c.db, &eo), PAREX_OK);
    w->c.chain_id = 7;
    parex_limits_default(&w->c.limits);
    memcpy(w->c.fee_recipient, fee, 32);
    w->c.max_nonce_gap = 10;
    w->c.max_body = 1 << 20;
    w->c.max_block_txs = 100;
    node_ctx_init(&w->c, 4, 1 << 20, 0);
    *state = w;
    return 0;
}

static int world_teardown(void **state)
{
    world *w = *state;

    parex_engine_destroy(w->e);
    node_ctx_release(&w->c);
    parex_db_close(w->c.db);
    node_rmtree(w->dir);
    free(w->dir);
    free(w);
    return 0;
}

/* Hex of a signed transfer from account s to account t. */
static char *transfer_hex(const world *w, int s, int t, uint64_t amount,
    uint64_t nonce, uint64_t fee, uint32_t chain)
{
    uint8_t args[40], wkey[32], buf[512];
    size_t len = sizeof(buf);
    parex_tx tx;
    char *hex;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = chain;
    tx.nonce = nonce;
    tx.fee = fee;
    tx.program = PAREX_PROGRAM_TRANSFER;
    parex_transfer_args(args, w->pub[t], amount);
    tx.args = args;
    tx.args_len = 40;
    parex_account_key(wkey, w->pub[t]);
    tx.write_set = wkey;
    tx.n_write = 1;
    assert_int_equal(parex_tx_sign(&tx, w->sec[s]), PAREX_OK);
    assert_int_equal(parex_tx_encode(buf, &len, &tx), PAREX_OK);
    hex = node_malloc(2 * len + 1);
    node_hex(hex, buf, len);
    return hex;
}

/* Call and parse; the response must be valid JSON-RPC 2.0. */
static json_t *call(world *w, const char *body)
{
    char *resp = node_rpc_handle(&w->c, body, strlen(body));
    json_t *r;

    assert_non_null(resp);
    r = json_loads(resp, 0, NULL);
    assert_non_null(r);
    free(resp);
    return r;
}

static json_t *call_ok(world *w, const char *body)
{
    json_t *r = call(w, body);
    json_t *res = json_incref(json_object_get(r, "result"));

    if (res == NULL) {
        fail_msg("expected a result for %s, got %s", body,
            json_dumps(r, JSON_COMPACT));
    }
    json_decref(r);
    return res;
}

/* The error code of a call that must fail; message must be non-empty. */
static int call_err(world *w, const char *body)
{
    json_t *r = call(w, body);
    json_t *e = json_object_get(r, "error");
    int code;

    if (e == NULL) {
        fail_msg("expected an error for %.200s", body);
    }
    assert_true(json_is_string(json_object_get(e, "message")));
    assert_true(json_string_length(json_object_get(e, "message")) > 10);
    assert_null(json_object_get(r, "result"));
    code = (int)json_integer_value(json_object_get(e, "code"));
    json_decref(r);
    return code;
}

static char *submit_body(const char *hex)
{
    size_t n = strlen(hex) + 100;
    char *b = node_malloc(n);

    snprintf(b, n, "{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
        "\"params\":[\"%s\"],\"id\":1}", hex);
    return b;
}

/* A u64 quantity of a response: "0x" and hex digits, no leading zeros. */
static uint64_t quantity(const json_t *v)
{
    const char *s = json_string_value(v);
    char err[NODE_ERR_LEN];
    uint64_t x;

    assert_non_null(s);
    assert_true(s[0] == '0' && s[1] == 'x' && s[2] != '\0');
    assert_true(s[2] != '0' || s[3] == '\0');
    assert_int_equal(node_json_u64(&x, err, "test", "q", v), 0);
    return x;
}

static uint64_t balance_of(world *w, int i)
{
    char body[200], hex[65];
    json_t *r;
    uint64_t b;

    node_hex(hex, w->pub[i], 32);
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getAccount\",\"params\":{\"pubkey\":\"%s\"},\"id\":3}", hex);
    r = call_ok(w, body);
    b = quantity(json_object_get(r, "balance"));
    json_decref(r);
    return b;
}

static int rich_fee_setup(void **state)
{
    int rc;

    fee_start = UINT64_MAX - 5;
    rc = world_setup(state);
    fee_start = 0;
    return rc;
}

/* Submit; the error's data.reason (NULL-safe copy in out), or "" when
 * accepted. Returns the error code or 0. */
static int submit_reason(world *w, const char *hex, char *out, size_t cap)
{
    char *body = submit_body(hex);
    json_t *r = call(w, body);
    json_t *e = json_object_get(r, "error");
    int code = 0;

    out[0] = '\0';
    if (e != NULL) {
        code = (int)json_integer_value(json_object_get(e, "code"));
        snprintf(out, cap, "%s", json_string_value(json_object_get(
            json_object_get(e, "data"), "reason")) != NULL ?
            json_string_value(json_object_get(json_object_get(e, "data"),
            "reason")) : "(none)");
    }
    json_decref(r);
    free(body);
    return code;
}

/* The txid (hex) a signed tx's hex has. */
static void txid_of(char out[65], const char *hex)
{
    uint8_t buf[512], id[32];
    size_t n = strlen(hex) / 2;
    parex_tx tx;

    assert_true(n <= sizeof(buf));
    assert_true(node_unhex(buf, hex, 2 * n) == (long)n);
    assert_int_equal(parex_tx_decode(&tx, NULL, buf, n, NULL), PAREX_OK);
    assert_int_equal(parex_tx_id(id, &tx), PAREX_OK);
    node_hex(out, id, 32);
}

/* getReceipt's status of txid hex; reason gets the dropped reason. */
static void receipt_status(world *w, const char *idhex, char *status,
    char *reason)
{
    char q[200];
    json_t *r;

    snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":\"getReceipt\","
        "\"params\":[\"%s\"],\"id\":9}", idhex);
    r = call_ok(w, q);
    snprintf(status, 32, "%s", json_string_value(json_object_get(r,
        "status")));
    snprintf(reason, 32, "%s", json_string_value(json_object_get(r,
        "reason")) != NULL ? json_string_value(json_object_get(r, "reason"))
        : "");
    json_decref(r);
}

/* Nothing changed: same head, same mempool size. */
typedef struct snap {
    parex_header head;
    size_t mp;
} snap;

static void take(world *w, snap *s)
{
    assert_int_equal(parex_db_head(w->c.db, &s->head), PAREX_OK);
    s->mp = node_mempool_size(w->c.mp);
}

static void same(world *w, const snap *s)
{
    snap now;

    take(w, &now);
    assert_true(now.head.height == s->head.height);
    assert_memory_equal(now.head.state_root, s->head.state_root, 32);
    assert_int_equal(now.mp, s->mp);
}

static void test_rpc_flow(void **state)
{
    world *w = *state;
    char err[NODE_ERR_LEN], *tx0, *tx1, *body, idhex[70], hex[70];
    json_t *r, *txs;
    parex_header head;

    tx0 = transfer_hex(w, 0, 1, 100, 0, 2, 7);
    tx1 = transfer_hex(w, 0, 2, 50, 1, 2, 7);
    /* Nonce 1 first: pending, not ready; then nonce 0. */
    body = submit_body(tx1);
    r = call_ok(w, body);
    free(body);
    json_decref(r);
    body = submit_body(tx0);
    r = call_ok(w, body);
    snprintf(idhex, sizeof(idhex), "%s",
        json_string_value(json_object_get(r, "txid")));
    json_decref(r);
    assert_int_equal(strlen(idhex), 66);   /* hashes are 0x-prefixed */
    assert_memory_equal(idhex, "0x", 2);
    /* Resubmitting the same tx: duplicate, nothing changes. */
    assert_int_equal(call_err(w, body), NODE_RPC_DUPLICATE);
    free(body);
    snprintf(err, sizeof(err), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getReceipt\",\"params\":[\"%s\"],\"id\":9}", idhex);
    r = call_ok(w, err);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
        "pending");
    json_decref(r);

    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 2);
    assert_int_equal(node_mempool_size(w->c.mp), 0);
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 0);
    assert_true(balance_of(w, 0) == START_BAL - 150 - 4);
    assert_true(balance_of(w, 1) == START_BAL + 100);
    assert_true(balance_of(w, 2) == START_BAL + 50);

    snprintf(err, sizeof(err), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getReceipt\",\"params\":[\"%s\"],\"id\":9}", idhex);
    r = call_ok(w, err);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
        "success");
    assert_true(quantity(json_object_get(r, "height")) == 1);
    assert_int_equal(json_integer_value(json_object_get(r, "index")), 0);
    assert_true(quantity(json_object_get(r, "fee")) == 2);
    json_decref(r);

    r = call_ok(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\","
        "\"params\":[\"latest\",true],\"id\":1}");
    assert_int_equal(parex_db_head(w->c.db, &head), PAREX_OK);
    hex[0] = '0';
    hex[1] = 'x';
    node_hex(hex + 2, head.state_root, 32);
    assert_string_equal(json_string_value(json_object_get(r, "state_root")),
        hex);
    txs = json_object_get(r, "txs");
    assert_int_equal(json_array_size(txs), 2);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(txs, 0), "raw")) + 2, tx0);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(txs, 1), "raw")) + 2, tx1);
    json_decref(r);
    r = call_ok(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getStateRoot\","
        "\"id\":1}");
    assert_string_equal(json_string_value(json_object_get(r, "state_root")),
        hex);
    json_decref(r);
    r = call_ok(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\","
        "\"params\":[0],\"id\":1}");
    assert_int_equal(json_integer_value(json_object_get(r, "tx_count")), 0);
    json_decref(r);

    /* Replayed nonce after commit. */
    body = submit_body(tx0);
    assert_int_equal(call_err(w, body), NODE_RPC_NONCE);
    free(body);
    free(tx0);
    free(tx1);

    /* The node keeps no block store of its own: the block and receipt
     * it served are the engine's, in the state store. */
    {
        uint8_t id[32];
        uint64_t h;
        uint32_t ix;
        parex_receipt rc;
        parex_read *rd;
        const uint8_t *blk;
        size_t blen;
        char path[600];
        struct stat st;

        assert_int_equal(node_unhex(id, idhex + 2, 64), 32);
        assert_int_equal(parex_read_begin(&rd, w->c.db), PAREX_OK);
        assert_int_equal(parex_read_receipt(rd, &rc, &h, &ix, id), PAREX_OK);
        assert_true(h == 1 && ix == 0 && rc.fee == 2);
        assert_int_equal(parex_read_block(rd, &blk, &blen, 1), PAREX_OK);
        parex_read_end(rd);
        snprintf(path, sizeof(path), "%s/blocks.log", w->dir);
        assert_int_equal(stat(path, &st), -1);
    }
    /* Every tx of the block was verified on entry, and the engine did
     * not verify it again. */
    {
        char *m = node_metrics_text(&w->c);
        assert_non_null(strstr(m, "parex_node_verify_skipped_total 2\n"));
        free(m);
    }
}

static void test_rpc_bad_requests_change_nothing(void **state)
{
    world *w = *state;
    static const struct {
        const char *body;
        int code;
    } bad[] = {
        {"{", NODE_RPC_PARSE},
        {"", NODE_RPC_PARSE},
        {"[]", NODE_RPC_INVALID_REQUEST},
        {"42", NODE_RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"1.0\",\"method\":\"status\",\"id\":1}",
            NODE_RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}",
            NODE_RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":{}}",
            NODE_RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"params\":3,\"id\":1}",
            NODE_RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":1,\"x\":1}",
            NODE_RPC_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"id\":1,\"id\":2}",
            NODE_RPC_PARSE},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"mine\",\"id\":1}",
            NODE_RPC_NO_METHOD},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"status\",\"params\":[1],\"id\":1}",
            NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\",\"id\":1}",
            NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
            "\"params\":[12],\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
            "\"params\":[\"zz\"],\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
            "\"params\":[\"0102\"],\"id\":1}", NODE_RPC_TX_REJECTED},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
            "\"params\":{\"txx\":\"00\"},\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getAccount\","
            "\"params\":[\"abcd\"],\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getValue\",\"params\":[true],"
            "\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\",\"params\":[-1],"
            "\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\",\"params\":[99],"
            "\"id\":1}", NODE_RPC_NOT_FOUND},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\",\"params\":[0, 1],"
            "\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getReceipt\",\"params\":[\""
            "0x00000000000000000000000000000000000000000000000000000000000"
            "0\"],\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getTransaction\","
            "\"params\":[],\"id\":1}", NODE_RPC_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"method\":\"getStateRoot\",\"params\":[7],"
            "\"id\":1}", NODE_RPC_NOT_FOUND},
    };
    snap s;
    size_t i;
    char *tx, *body;

    take(w, &s);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (call_err(w, bad[i].body) != bad[i].code) {
            fail_msg("request %zu (%s): wrong error code", i, bad[i].body);
        }
        same(w, &s);
    }
    /* Wrong chain id. */
    tx = transfer_hex(w, 0, 1, 1, 0, 1, 8);
    body = submit_body(tx);
    assert_int_equal(call_err(w, body), NODE_RPC_TX_REJECTED);
    same(w, &s);
    free(body);
    free(tx);
    /* Bad signature: flip one bit of the signature (the last byte). */
    tx = transfer_hex(w, 0, 1, 1, 0, 1, 7);
    tx[strlen(tx) - 1] = tx[strlen(tx) - 1] == '0' ? '1' : '0';
    body = submit_body(tx);
    assert_int_equal(call_err(w, body), NODE_RPC_TX_REJECTED);
    same(w, &s);
    free(body);
    free(tx);
    /* Nonce too far ahead (gap 10). */
    tx = transfer_hex(w, 0, 1, 1, 11, 1, 7);
    body = submit_body(tx);
    assert_int_equal(call_err(w, body), NODE_RPC_NONCE);
    same(w, &s);
    free(body);
    free(tx);
    /* Oversize: longer than any tx the limits allow. */
    {
        size_t n = 2 * (PAREX_TX_MIN_BYTES + w->c.limits.max_args_bytes +
            64 * (size_t)w->c.limits.max_keys_per_set) + 2;
        char *big = node_malloc(n + 1);
        memset(big, 'a', n);
        big[n] = '\0';
        body = submit_body(big);
        assert_int_equal(call_err(w, body), NODE_RPC_TX_REJECTED);
        same(w, &s);
        free(body);
        free(big);
    }
    /* A notification gets no response; a batch answers its requests. */
    assert_null(node_rpc_handle(&w->c, "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"status\"}", 35));
    {
        json_t *r = call(w, "[{\"jsonrpc\":\"2.0\",\"method\":\"status\","
            "\"id\":1},{\"jsonrpc\":\"2.0\",\"method\":\"status\"},5]");
        assert_int_equal(json_array_size(r), 2);
        assert_non_null(json_object_get(json_array_get(r, 0), "result"));
        assert_non_null(json_object_get(json_array_get(r, 1), "error"));
        json_decref(r);
    }
}

static void test_rpc_mempool_full_and_drop(void **state)
{
    world *w = *state;
    char err[NODE_ERR_LEN], *tx, *body;
    uint64_t n0;
    int i;
    json_t *r;
    char hex[65], q[200];

    /* Account 2 sends its whole balance away at nonce n0 and then a tx
     * whose fee it can no longer pay: the second is dropped at block
     * production, the first commits. */
    node_hex(hex, w->pub[2], 32);
    snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":\"getAccount\","
        "\"params\":[\"%s\"],\"id\":3}", hex);
    r = call_ok(w, q);
    n0 = quantity(json_object_get(r, "nonce"));
    json_decref(r);
    tx = transfer_hex(w, 2, 0, balance_of(w, 2) - 1, n0, 1, 7);
    body = submit_body(tx);
    json_decref(call_ok(w, body));
    free(body);
    free(tx);
    tx = transfer_hex(w, 2, 0, 1, n0 + 1, 1, 7);
    body = submit_body(tx);
    json_decref(call_ok(w, body));
    free(body);
    free(tx);
    /* The mempool holds 4: two more fit, the fifth is refused. */
    for (i = 0; i < 3; i++) {
        tx = transfer_hex(w, 1, 0, 1, 5 + (uint64_t)i, 1, 7);
        body = submit_body(tx);
        if (i < 2) {
            json_decref(call_ok(w, body));
        } else {
            assert_int_equal(call_err(w, body), NODE_RPC_MEMPOOL_FULL);
        }
        free(body);
        free(tx);
    }
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 1);
    assert_int_equal(balance_of(w, 2), 0);
    pthread_mutex_lock(&w->c.mlock);
    assert_int_equal(w->c.m.dropped[NODE_DROP_FEE], 1);
    pthread_mutex_unlock(&w->c.mlock);
    /* Account 1's txs wait for their nonce gap. */
    assert_int_equal(node_mempool_size(w->c.mp), 2);
}

/* Attack 1 through submitTransaction: an unfunded account's txs are
 * refused at entry (whatever their nonce), a funded one cannot have more
 * pending than it can pay fees for, each refusal names its rule in
 * data.reason, a full pool takes a tx paying more (the evicted tx gets a
 * status), and pending txs expire. */
static void test_admission_rules(void **state)
{
    world *w = *state;
    char reason[64], st[32], why[32], id_ev[65], id_ok[65], *tx;
    uint8_t sec[32], pub[32];
    int i;

    /* An account with no balance: nonce 0 or a gap, fee 1. */
    node_key_from_str(sec, pub, "nobody");
    memcpy(w->sec[2], sec, 32);   /* sign as it (account 2's slot) */
    memcpy(w->pub[2], pub, 32);
    for (i = 0; i < 2; i++) {
        tx = transfer_hex(w, 2, 0, 0, i == 0 ? 0 : 5, 1, 7);
        assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)),
            NODE_RPC_TX_REJECTED);
        assert_string_equal(reason, "INSUFFICIENT_BALANCE");
        free(tx);
    }
    assert_int_equal(node_mempool_size(w->c.mp), 0);
    /* Account 0 holds 1000: a fee of 600 is payable once, not twice. */
    tx = transfer_hex(w, 0, 1, 1, 0, 600, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    tx = transfer_hex(w, 0, 1, 1, 1, 600, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)),
        NODE_RPC_TX_REJECTED);
    assert_string_equal(reason, "INSUFFICIENT_BALANCE");
    free(tx);
    tx = transfer_hex(w, 0, 1, 1, 1, 400, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    /* Nonce rules name themselves. */
    tx = transfer_hex(w, 1, 0, 1, 11, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)),
        NODE_RPC_NONCE);
    assert_string_equal(reason, "NONCE_GAP");
    free(tx);
    /* Account 1 fills the pool (4) with gapped fee-1 txs. */
    for (i = 0; i < 2; i++) {
        tx = transfer_hex(w, 1, 0, 1, 5 + (uint64_t)i, 1, 7);
        assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
        if (i == 1) {
            txid_of(id_ev, tx);
        }
        free(tx);
    }
    assert_int_equal(node_mempool_size(w->c.mp), 4);
    /* A third sender's gapped tx paying the same per byte: refused,
     * MEMPOOL_FULL. */
    node_key_from_str(w->sec[2], w->pub[2], "acct-2");
    tx = transfer_hex(w, 2, 0, 1, 3, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)),
        NODE_RPC_MEMPOOL_FULL);
    assert_string_equal(reason, "MEMPOOL_FULL");
    free(tx);
    /* Its ready tx at the same fee gets in: account 1's last nonce, stuck
     * behind the gap, is evicted. */
    tx = transfer_hex(w, 2, 0, 1, 0, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    txid_of(id_ok, tx);
    free(tx);
    assert_int_equal(node_mempool_size(w->c.mp), 4);
    receipt_status(w, id_ev, st, why);
    assert_string_equal(st, "dropped");
    assert_string_equal(why, "evicted");
    receipt_status(w, id_ok, st, why);
    assert_string_equal(st, "pending");
    pthread_mutex_lock(&w->c.mlock);
    assert_true(w->c.m.rejected[NODE_REJ_BALANCE] == 3);
    assert_true(w->c.m.rejected[NODE_REJ_MEMPOOL_FULL] == 1);
    assert_true(w->c.m.dropped[NODE_DROP_EVICTED] == 1);
    pthread_mutex_unlock(&w->c.mlock);
    /* Expiry: with a TTL of 1 ns everything pending is older. */
    w->c.mempool_ttl_ns = 1;
    {
        char err[NODE_ERR_LEN];
        assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 0);
    }
    assert_int_equal(node_mempool_size(w->c.mp), 0);
    receipt_status(w, id_ok, st, why);
    assert_string_equal(st, "dropped");
    assert_string_equal(why, "expired");
}

/* Attack 2: txs that cannot pay are found against the block's pending
 * state before anything executes -- here account 0 sends its balance away
 * and then cannot pay the fee of its next tx -- and dropped with a status;
 * the block runs once (no re-run per bad tx). */
static void test_production_drops_without_reruns(void **state)
{
    world *w = *state;
    char err[NODE_ERR_LEN], reason[64], st[32], why[32], id_bad[65];
    char *tx;

    tx = transfer_hex(w, 0, 1, START_BAL - 1, 0, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    tx = transfer_hex(w, 0, 1, 0, 1, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    txid_of(id_bad, tx);
    free(tx);
    tx = transfer_hex(w, 2, 1, 5, 0, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 2);
    pthread_mutex_lock(&w->c.mlock);
    assert_true(w->c.m.dropped[NODE_DROP_FEE] == 1);
    assert_true(w->c.m.reruns == 0);
    assert_true(w->c.m.blocks == 1);
    pthread_mutex_unlock(&w->c.mlock);
    receipt_status(w, id_bad, st, why);
    assert_string_equal(st, "dropped");
    assert_string_equal(why, "fee_unpayable");
    assert_true(balance_of(w, 0) == 0);
    assert_true(balance_of(w, 1) == 2 * START_BAL - 1 + 5);
    assert_int_equal(node_mempool_size(w->c.mp), 0);
}

/* Attack 6: a fee that would overflow the fee recipient's balance is
 * dropped with a reason, the block commits the others and the node goes
 * on producing (it used to stop for good with "tx -1"). */
static void test_fee_overflow_is_dropped(void **state)
{
    world *w = *state;
    char err[NODE_ERR_LEN], reason[64], st[32], why[32], id_bad[65];
    char *tx;

    tx = transfer_hex(w, 0, 1, 1, 0, 3, 7);     /* MAX - 2 */
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    tx = transfer_hex(w, 1, 0, 1, 0, 3, 7);     /* would overflow */
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    txid_of(id_bad, tx);
    free(tx);
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 1);
    receipt_status(w, id_bad, st, why);
    assert_string_equal(st, "dropped");
    assert_string_equal(why, "fee_overflow");
    /* The node continues: account 1 pays 2, exactly up to UINT64_MAX. */
    tx = transfer_hex(w, 1, 0, 1, 0, 2, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 1);
    pthread_mutex_lock(&w->c.mlock);
    assert_true(w->c.m.blocks == 2 && w->c.m.dropped[NODE_DROP_FEE_OVERFLOW]
        == 1);
    pthread_mutex_unlock(&w->c.mlock);
}

/* Attack 3 at the dispatcher: a batch whose responses would pass
 * --max-response gets an error entry for each request past it (with its
 * id), so the response stays within the limit plus the small errors. */
static void test_batch_response_limit(void **state)
{
    world *w = *state;
    char err[NODE_ERR_LEN], reason[64], *tx, *resp;
    node_buf b = {0};
    size_t one, i, nres = 0, nerr = 0;
    json_t *r;

    tx = transfer_hex(w, 0, 1, 1, 0, 1, 7);
    assert_int_equal(submit_reason(w, tx, reason, sizeof(reason)), 0);
    free(tx);
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 1);
    {
        const char *q1 = "{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\","
            "\"params\":[1,true],\"id\":1}";
        resp = node_rpc_handle(&w->c, q1, strlen(q1));
    }
    assert_non_null(strstr(resp, "\"result\""));
    one = strlen(resp);
    free(resp);
    w->c.max_response = 3 * one;
    node_buf_put(&b, "[", 1);
    for (i = 0; i < 20; i++) {
        char q[100];
        int n = snprintf(q, sizeof(q), "%s{\"jsonrpc\":\"2.0\",\"method\":"
            "\"getBlock\",\"params\":[1,true],\"id\":%zu}", i ? "," : "", i);
        node_buf_put(&b, q, (size_t)n);
    }
    node_buf_put(&b, "]", 2);
    resp = node_rpc_handle(&w->c, (const char *)b.p, b.len - 1);
    node_buf_release(&b);
    assert_true(strlen(resp) < w->c.max_response + 20 * 400);
    r = json_loads(resp, 0, NULL);
    free(resp);
    assert_int_equal(json_array_size(r), 20);
    for (i = 0; i < 20; i++) {
        json_t *e = json_array_get(r, i);
        assert_int_equal(json_integer_value(json_object_get(e, "id")), i);
        if (json_object_get(e, "result") != NULL) {
            assert_int_equal(nerr, 0);   /* results come first */
            nres++;
        } else {
            assert_int_equal(json_integer_value(json_object_get(
                json_object_get(e, "error"), "code")), NODE_RPC_TOO_LARGE);
            nerr++;
        }
    }
    assert_int_equal(nres, 2);   /* the third passes the limit with "[" and commas */
    assert_int_equal(nerr, 18);
    json_decref(r);
    /* A single response over the limit is an error too. */
    w->c.max_response = one - 1;
    assert_int_equal(call_err(w, "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getBlock\",\"params\":[1,true],\"id\":1}"), NODE_RPC_TOO_LARGE);
}

/* The JSON-RPC conventions (docs/node.md): 0x-prefixed hashes and bytes
 * (accepted with or without the prefix), u64 quantities as 0x hex, null
 * for an unknown receipt, tx or block hash, getTransaction, block by
 * hash. */
static void test_rpc_conventions(void **state)
{
    world *w = *state;
    char err[NODE_ERR_LEN], reason[64], q[400], id0[65], id1[65];
    char *tx0, *tx1;
    const char *bh;
    json_t *r, *b;

    tx0 = transfer_hex(w, 0, 1, 7, 0, 1, 7);
    tx1 = transfer_hex(w, 0, 1, 7, 1, 1, 7);
    txid_of(id0, tx0);
    txid_of(id1, tx1);
    {
        /* submitTransaction takes 0x-prefixed hex too. */
        size_t n = strlen(tx0) + 3;
        char *p = node_malloc(n);
        snprintf(p, n, "0x%s", tx0);
        assert_int_equal(submit_reason(w, p, reason, sizeof(reason)), 0);
        free(p);
    }
    assert_int_equal(node_produce_block(&w->c, w->e, err, NULL), 1);
    assert_int_equal(submit_reason(w, tx1, reason, sizeof(reason)), 0);
    /* getTransaction: committed, with its raw bytes and block. */
    snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getTransaction\",\"params\":[\"0x%s\"],\"id\":1}", id0);
    r = call_ok(w, q);
    assert_string_equal(json_string_value(json_object_get(r, "raw")) + 2,
        tx0);
    assert_true(quantity(json_object_get(r, "height")) == 1);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
        "success");
    bh = json_string_value(json_object_get(r, "block_hash"));
    assert_non_null(bh);
    assert_int_equal(strlen(bh), 66);
    /* The same block by its hash, both ways. */
    snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\","
        "\"params\":[\"%s\"],\"id\":1}", bh);
    b = call_ok(w, q);
    assert_string_equal(json_string_value(json_object_get(b, "hash")), bh);
    assert_true(quantity(json_object_get(b, "height")) == 1);
    json_decref(b);
    snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getBlockByHash\",\"params\":[\"%s\", true],\"id\":1}", bh);
    b = call_ok(w, q);
    assert_int_equal(json_integer_value(json_object_get(b, "tx_count")), 1);
    json_decref(b);
    json_decref(r);
    /* Pending. */
    snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getTransaction\",\"params\":[\"%s\"],\"id\":1}", id1);
    r = call_ok(w, q);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
        "pending");
    assert_string_equal(json_string_value(json_object_get(r, "raw")) + 2,
        tx1);
    json_decref(r);
    /* Unknown: null, for a receipt, a tx and a block hash. */
    r = call(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getReceipt\",\"params\":"
        "[\"0x0000000000000000000000000000000000000000000000000000000000000000"
        "\"],\"id\":1}");
    assert_true(json_is_null(json_object_get(r, "result")));
    json_decref(r);
    r = call(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getTransaction\","
        "\"params\":[\"0x00000000000000000000000000000000000000000000000000"
        "00000000000000\"],\"id\":1}");
    assert_true(json_is_null(json_object_get(r, "result")));
    json_decref(r);
    r = call(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getBlockByHash\","
        "\"params\":[\"0x11111111111111111111111111111111111111111111111111"
        "11111111111111\"],\"id\":1}");
    assert_true(json_is_null(json_object_get(r, "result")));
    json_decref(r);
    /* Quantities: 0x and no leading zeros (quantity() checks), a zero is
     * "0x0"; getAccount takes a 0x pubkey. */
    {
        char hex[65];
        node_hex(hex, w->pub[2], 32);
        snprintf(q, sizeof(q), "{\"jsonrpc\":\"2.0\",\"method\":"
            "\"getAccount\",\"params\":[\"0x%s\"],\"id\":1}", hex);
        r = call_ok(w, q);
        assert_string_equal(json_string_value(json_object_get(r, "nonce")),
            "0x0");
        assert_true(quantity(json_object_get(r, "balance")) == START_BAL);
        json_decref(r);
    }
    free(tx0);
    free(tx1);
}

static void test_metrics_text(void **state)
{
    world *w = *state;
    char *t = node_metrics_text(&w->c);

    char *line, *save = NULL, type[128] = "";

    json_decref(call(w, "{\"jsonrpc\":\"2.0\",\"method\":\"status\","
        "\"id\":1}"));
    free(t);
    t = node_metrics_text(&w->c);
    assert_non_null(strstr(t, "\nparex_node_height "));
    assert_non_null(strstr(t, "parex_node_stage_seconds_total{stage=\"exec\"}"));
    assert_non_null(strstr(t, "\nparex_node_mempool_txs "));
    /* Prometheus conventions: counters rate() works on instead of a tx/s
     * gauge, no stage that double-counts, histograms, per-method and
     * per-reason counters, build info, process metrics. */
    assert_null(strstr(t, "tx_per_second"));
    assert_null(strstr(t, "stage=\"total\""));
    assert_non_null(strstr(t, "# TYPE parex_node_block_seconds histogram"));
    assert_non_null(strstr(t, "parex_node_block_seconds_bucket{le=\"+Inf\"}"));
    assert_non_null(strstr(t, "parex_node_rpc_seconds_bucket{method=\"status\","
        "le=\"0.001\"}"));
    assert_non_null(strstr(t, "parex_node_rpc_requests_total{method=\"status\"}"
        " 1\n"));
    assert_non_null(strstr(t, "parex_node_submissions_rejected_total{reason="
        "\"INSUFFICIENT_BALANCE\"} 0"));
    assert_non_null(strstr(t, "parex_node_txs_dropped_total{reason=\"expired\"}"));
    assert_non_null(strstr(t, "\nparex_build_info{version=\""));
    assert_non_null(strstr(t, "\nprocess_resident_memory_bytes "));
    assert_non_null(strstr(t, "\nprocess_cpu_seconds_total "));
    /* Every sample line belongs to the last TYPE line's family, and every
     * counter's name ends in _total. */
    for (line = strtok_r(t, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char *sp = strchr(line + 7, ' ');
            assert_non_null(sp);
            snprintf(type, sizeof(type), "%.*s", (int)(sp - line - 7),
                line + 7);
            if (strcmp(sp + 1, "counter") == 0) {
                assert_true(strlen(type) > 6 &&
                    strcmp(type + strlen(type) - 6, "_total") == 0);
            }
            continue;
        }
        if (line[0] == '#') {
            continue;
        }
        if (strncmp(line, type, strlen(type)) != 0) {
            fail_msg("sample '%s' outside its family '%s'", line, type);
        }
        assert_non_null(strchr(line, ' '));
    }
    free(t);
}

/* Submissions are lifted out of the request text before the JSON parse
 * (rpc.c, lift_body): the node must answer exactly as it would have
 * without that, in every form a tx may come in, and never take a string
 * of the client's for a lifted one. */
static void test_rpc_lifted_submissions(void **state)
{
    world *w = *state;
    char *tx0 = transfer_hex(w, 0, 1, 10, 0, 2, 7);
    char *tx1 = transfer_hex(w, 0, 2, 10, 1, 2, 7);
    char *tx2 = transfer_hex(w, 0, 1, 11, 2, 2, 7);
    char longid[301], *body, *resp;
    size_t n = 3 * strlen(tx0) + 3000;
    json_t *r, *e;
    const char *m;
    int k;

    assert_true(strlen(tx0) >= 256);   /* long enough to be lifted */
    memset(longid, 'a', 300);
    longid[300] = '\0';
    body = node_malloc(n);
    /* A batch: positional, as an object, with 0x; a long hex id (not
     * under params: echoed as sent); a getAccount whose first param is
     * long hex (its error names the real length); the same tx again (a
     * duplicate, as without lifting). */
    snprintf(body, n, "[{\"jsonrpc\":\"2.0\",\"method\":"
        "\"submitTransaction\",\"params\":[\"%s\"],\"id\":1},"
        " {\"id\":2,\"params\": {\"tx\" : \"%s\"},\"jsonrpc\":\"2.0\","
        "\"method\":\"submitTransaction\"},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
        "\"params\":[\"0x%s\"],\"id\":\"%s\"},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"getAccount\",\"params\":"
        "[\"%s\"],\"id\":4},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
        "\"params\":[\"%s\"],\"id\":5}]", tx0, tx1, tx2, longid, longid,
        tx0);
    r = call(w, body);
    free(body);
    assert_int_equal(json_array_size(r), 5);
    for (k = 0; k < 3; k++) {
        json_t *res = json_object_get(json_array_get(r, (size_t)k),
            "result");
        assert_non_null(res);
        assert_int_equal(json_string_length(json_object_get(res, "txid")),
            66);
    }
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(r, 2), "id")), longid);
    e = json_object_get(json_array_get(r, 3), "error");
    assert_non_null(e);
    m = json_string_value(json_object_get(e, "message"));
    assert_non_null(strstr(m, "got 300"));
    e = json_object_get(json_array_get(r, 4), "error");
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "code")),
        NODE_RPC_DUPLICATE);
    json_decref(r);
    assert_int_equal(node_mempool_size(w->c.mp), 3);

    /* A client's own \u0000 is refused as a parse error, even beside a
     * submission that would be lifted; so is a placeholder-like string
     * it sends as a tx. */
    n = strlen(tx0) + 400;
    body = node_malloc(n);
    snprintf(body, n, "[{\"jsonrpc\":\"2.0\",\"method\":"
        "\"submitTransaction\",\"params\":[\"%s\"],\"id\":1},"
        "{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
        "\"params\":[\"\\u00000\"],\"id\":2}]", tx0);
    resp = node_rpc_handle(&w->c, body, strlen(body));
    free(body);
    r = json_loads(resp, 0, NULL);
    free(resp);
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r,
        "error"), "code")), NODE_RPC_PARSE);
    json_decref(r);
    assert_int_equal(node_mempool_size(w->c.mp), 3);
    free(tx0);
    free(tx1);
    free(tx2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keymap_against_array),
        cmocka_unit_test(test_mempool_rules),
        cmocka_unit_test(test_mempool_bytes_bound),
        cmocka_unit_test(test_mempool_evicts_expires_and_caps),
        cmocka_unit_test_setup_teardown(test_rpc_flow, world_setup,
            world_teardown),
        cmocka_unit_test_setup_teardown(test_rpc_lifted_submissions,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_rpc_bad_requests_change_nothing,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_rpc_mempool_full_and_drop,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_admission_rules, world_setup,
            world_teardown),
        cmocka_unit_test_setup_teardown(test_production_drops_without_reruns,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_fee_overflow_is_dropped,
            rich_fee_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_batch_response_limit,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_rpc_conventions, world_setup,
            world_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_text, world_setup,
            world_teardown),
    };
    return cmocka_run_group_tests_name("node-daemon", tests, NULL, NULL);
}
