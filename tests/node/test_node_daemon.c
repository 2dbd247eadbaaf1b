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

static void mp_add(node_mempool *mp, const nonces *n, int s, uint64_t nonce,
    int want)
{
    uint8_t id[32], bytes[10] = {0};

    memset(id, 0, 32);
    id[0] = (uint8_t)s;
    node_put_u64le(id + 8, nonce);
    assert_int_equal(node_mempool_add(mp, id, n->pub[s], nonce, bytes,
        sizeof(bytes)), want);
}

static void test_mempool_rules(void **state)
{
    node_mempool *mp = node_mempool_create(6, 1000);
    node_mp_tx *out[8];
    nonces n;
    uint8_t id[32], bytes[10] = {0};
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
    assert_int_equal(node_mempool_add(mp, id, n.pub[0], 1, bytes, 10),
        NODE_MP_NONCE_TAKEN);
    assert_int_equal(node_mempool_size(mp), 5);
    assert_int_equal(node_mempool_senders(mp), 3);
    assert_int_equal(node_mempool_bytes(mp), 50);
    mp_add(mp, &n, 3, 0, NODE_MP_OK);
    mp_add(mp, &n, 3, 1, NODE_MP_FULL);   /* 6 txs at most */
    assert_int_equal(node_mempool_size(mp), 6);

    /* Senders in arrival order; each its consecutive run from its next
     * nonce: 0,1,2 of sender 0; nothing of sender 1 (gap); sender 2, 3. */
    k = node_mempool_select(mp, out, 8, nonce_cb, drop_cb, &n);
    assert_int_equal(k, 5);
    assert_true(out[0]->nonce == 0 && out[1]->nonce == 1 &&
        out[2]->nonce == 2);
    assert_memory_equal(out[0]->sender, n.pub[0], 32);
    assert_memory_equal(out[3]->sender, n.pub[2], 32);
    assert_memory_equal(out[4]->sender, n.pub[3], 32);
    /* max bounds the selection. */
    assert_int_equal(node_mempool_select(mp, out, 2, nonce_cb, drop_cb, &n),
        2);
    /* Sender 1's gap closes when its account reaches nonce 5. */
    n.next[1] = 5;
    k = node_mempool_select(mp, out, 8, nonce_cb, drop_cb, &n);
    assert_int_equal(k, 6);
    /* Committed: sender 0 reached nonce 2; its txs 0 and 1 are stale and
     * are dropped by select, which still returns nonce 2. */
    n.next[0] = 2;
    k = node_mempool_select(mp, out, 8, nonce_cb, drop_cb, &n);
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
    k = node_mempool_select(mp, out, 8, nonce_cb, drop_cb, &n);
    assert_int_equal(k, 3);
    node_mempool_destroy(mp);
}

static void test_mempool_bytes_bound(void **state)
{
    node_mempool *mp = node_mempool_create(100, 25);
    uint8_t id[32], pub[32], bytes[10] = {0};

    (void)state;
    memset(pub, 1, 32);
    memset(id, 1, 32);
    assert_int_equal(node_mempool_add(mp, id, pub, 0, bytes, 10), NODE_MP_OK);
    id[0] = 2;
    assert_int_equal(node_mempool_add(mp, id, pub, 1, bytes, 10), NODE_MP_OK);
    id[0] = 3;
    assert_int_equal(node_mempool_add(mp, id, pub, 2, bytes, 10),
        NODE_MP_FULL);
    assert_int_equal(node_mempool_bytes(mp), 20);
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

static int world_setup(void **state)
{
    world *w = node_calloc(1, sizeof(*w));
    parex_kv kvs[3];
    uint8_t vals[3][16], fee[32];
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
    assert_int_equal(parex_db_open(&w->c.db, NULL, w->dir, NULL), PAREX_OK);
    assert_int_equal(parex_db_genesis_chain(w->c.db, NULL, 7, kvs, 3, fee),
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
    node_ctx_init(&w->c, 4, 1 << 20);
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

static uint64_t balance_of(world *w, int i)
{
    char body[200], hex[65];
    json_t *r;
    uint64_t b;

    node_hex(hex, w->pub[i], 32);
    snprintf(body, sizeof(body), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getAccount\",\"params\":{\"pubkey\":\"%s\"},\"id\":3}", hex);
    r = call_ok(w, body);
    b = (uint64_t)json_integer_value(json_object_get(r, "balance"));
    json_decref(r);
    return b;
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
    char err[NODE_ERR_LEN], *tx0, *tx1, *body, idhex[65], hex[65];
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
    /* Resubmitting the same tx: duplicate, nothing changes. */
    assert_int_equal(call_err(w, body), NODE_RPC_DUPLICATE);
    free(body);
    snprintf(err, sizeof(err), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getReceipt\",\"params\":[\"%s\"],\"id\":9}", idhex);
    r = call_ok(w, err);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
        "pending");
    json_decref(r);

    assert_int_equal(node_produce_block(&w->c, w->e, err), 2);
    assert_int_equal(node_mempool_size(w->c.mp), 0);
    assert_int_equal(node_produce_block(&w->c, w->e, err), 0);
    assert_true(balance_of(w, 0) == START_BAL - 150 - 4);
    assert_true(balance_of(w, 1) == START_BAL + 100);
    assert_true(balance_of(w, 2) == START_BAL + 50);

    snprintf(err, sizeof(err), "{\"jsonrpc\":\"2.0\",\"method\":"
        "\"getReceipt\",\"params\":[\"%s\"],\"id\":9}", idhex);
    r = call_ok(w, err);
    assert_string_equal(json_string_value(json_object_get(r, "status")),
        "success");
    assert_int_equal(json_integer_value(json_object_get(r, "height")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "index")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "fee")), 2);
    json_decref(r);

    r = call_ok(w, "{\"jsonrpc\":\"2.0\",\"method\":\"getBlock\","
        "\"params\":[\"latest\",true],\"id\":1}");
    assert_int_equal(parex_db_head(w->c.db, &head), PAREX_OK);
    node_hex(hex, head.state_root, 32);
    assert_string_equal(json_string_value(json_object_get(r, "state_root")),
        hex);
    txs = json_object_get(r, "txs");
    assert_int_equal(json_array_size(txs), 2);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(txs, 0), "raw")), tx0);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(txs, 1), "raw")), tx1);
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

        assert_int_equal(node_unhex(id, idhex, 64), 32);
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
            "00000000000000000000000000000000000000000000000000000000000000"
            "00\"],\"id\":1}", NODE_RPC_NOT_FOUND},
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
    n0 = (uint64_t)json_integer_value(json_object_get(r, "nonce"));
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
    assert_int_equal(node_produce_block(&w->c, w->e, err), 1);
    assert_int_equal(balance_of(w, 2), 0);
    pthread_mutex_lock(&w->c.mlock);
    assert_int_equal(w->c.m.dropped, 1);
    pthread_mutex_unlock(&w->c.mlock);
    /* Account 1's txs wait for their nonce gap. */
    assert_int_equal(node_mempool_size(w->c.mp), 2);
}

static void test_metrics_text(void **state)
{
    world *w = *state;
    char *t = node_metrics_text(&w->c);

    assert_non_null(strstr(t, "\nparex_node_height "));
    assert_non_null(strstr(t, "parex_node_stage_seconds_total{stage=\"exec\"}"));
    assert_non_null(strstr(t, "\nparex_node_mempool_txs "));
    assert_non_null(strstr(t, "\nparex_node_tx_per_second "));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keymap_against_array),
        cmocka_unit_test(test_mempool_rules),
        cmocka_unit_test(test_mempool_bytes_bound),
        cmocka_unit_test_setup_teardown(test_rpc_flow, world_setup,
            world_teardown),
        cmocka_unit_test_setup_teardown(test_rpc_bad_requests_change_nothing,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_rpc_mempool_full_and_drop,
            world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_metrics_text, world_setup,
            world_teardown),
    };
    return cmocka_run_group_tests_name("node-daemon", tests, NULL, NULL);
}
