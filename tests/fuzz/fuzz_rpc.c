/* Fuzz target: the reference node's JSON-RPC dispatch (node_rpc_handle in
 * node/daemon/rpc.c), the text every HTTP client can send.
 *
 * Set up once: a store with three funded accounts and one committed block
 * (so getBlock and getReceipt have something to find). Per input: a fresh
 * mempool, one call. Invariants: the answer is NULL only when the input is
 * valid JSON and holds notifications only; otherwise it is JSON-RPC 2.0 —
 * an object or a non-empty array of objects, each with "jsonrpc": "2.0",
 * an "id", and exactly one of "result" and "error" (an integer code and a
 * non-empty message); the committed state never changes (RPC only reads
 * it; only the producer writes). */
#include <string.h>

#include "daemon/daemon.h"
#include "fuzz.h"

static node_ctx ctx;
static parex_engine *engine;
static char *dir;
static parex_header head0;

static void cleanup(void)
{
    parex_engine_destroy(engine);
    node_ctx_release(&ctx);
    parex_db_close(ctx.db);
    node_rmtree(dir);
    free(dir);
}

/* The accounts are the keys of seeds "fuzz-rpc-0" .. "fuzz-rpc-2", chain id
 * 1, as tests/fuzz/seed_rpc.py signs its seed transactions. */
static void setup(void)
{
    uint8_t sec[3][32], pub[3][32], vals[3][16], fee[32], args[40];
    uint8_t wkey[32], buf[512], fsec[32];
    char err[NODE_ERR_LEN], seed[16], *hex, *body;
    parex_kv kvs[3];
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_tx tx;
    size_t len = sizeof(buf);
    int i;

    dir = node_tmpdir("fuzz-rpc");
    for (i = 0; i < 3; i++) {
        snprintf(seed, sizeof(seed), "fuzz-rpc-%d", i);
        node_key_from_str(sec[i], pub[i], seed);
        parex_account_key(kvs[i].key, pub[i]);
        parex_account_encode(vals[i], 1000000, 0);
        kvs[i].value = vals[i];
        kvs[i].value_len = 16;
    }
    node_key_from_str(fsec, fee, "fuzz-rpc-fee");
    FUZZ_CHECK(parex_db_open(&ctx.db, NULL, dir, NULL) == PAREX_OK);
    FUZZ_CHECK(parex_db_genesis_chain(ctx.db, NULL, 1, kvs, 3, fee) ==
        PAREX_OK);
    parex_engine_options_default(&eo);
    eo.threads = 1;
    FUZZ_CHECK(parex_engine_create(&engine, ctx.db, &eo) == PAREX_OK);
    ctx.chain_id = 1;
    parex_limits_default(&ctx.limits);
    memcpy(ctx.fee_recipient, fee, 32);
    ctx.max_nonce_gap = 16;
    ctx.max_body = 1 << 20;
    ctx.max_block_txs = 64;
    node_ctx_init(&ctx, 64, 1 << 16, 0);
    /* Block 1: account 2 pays account 0. */
    memset(&tx, 0, sizeof(tx));
    tx.chain_id = 1;
    tx.fee = 1;
    tx.program = PAREX_PROGRAM_TRANSFER;
    parex_transfer_args(args, pub[0], 7);
    tx.args = args;
    tx.args_len = 40;
    parex_account_key(wkey, pub[0]);
    tx.write_set = wkey;
    tx.n_write = 1;
    FUZZ_CHECK(parex_tx_sign(&tx, sec[2]) == PAREX_OK);
    FUZZ_CHECK(parex_tx_encode(buf, &len, &tx) == PAREX_OK);
    hex = node_malloc(2 * len + 1);
    node_hex(hex, buf, len);
    body = node_malloc(2 * len + 100);
    snprintf(body, 2 * len + 100, "{\"jsonrpc\":\"2.0\",\"method\":\"submitTransaction\","
        "\"params\":[\"%s\"],\"id\":1}", hex);
    free(node_rpc_handle(&ctx, body, strlen(body)));
    FUZZ_CHECK(node_produce_block(&ctx, engine, err, NULL) == 1);
    free(hex);
    free(body);
    FUZZ_CHECK(parex_db_head(ctx.db, &head0) == PAREX_OK);
    memset(sec, 0, sizeof(sec));
    atexit(cleanup);
}

static void check_response(const json_t *r)
{
    const json_t *res, *err, *code, *msg;

    FUZZ_CHECK(json_is_object(r));
    FUZZ_CHECK(json_is_string(json_object_get(r, "jsonrpc")) &&
        strcmp(json_string_value(json_object_get(r, "jsonrpc")), "2.0") ==
            0);
    FUZZ_CHECK(json_object_get(r, "id") != NULL);
    res = json_object_get(r, "result");
    err = json_object_get(r, "error");
    FUZZ_CHECK((res == NULL) != (err == NULL));
    if (err != NULL) {
        code = json_object_get(err, "code");
        msg = json_object_get(err, "message");
        FUZZ_CHECK(json_is_integer(code));
        FUZZ_CHECK(json_is_string(msg) && json_string_length(msg) > 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parex_header head;
    json_t *r;
    char *out;
    size_t i;

    if (dir == NULL) {
        setup();
    }
    /* Each input starts from an empty mempool. */
    node_mempool_destroy(ctx.mp);
    ctx.mp = node_mempool_create(64, 1 << 16, 0);
    out = node_rpc_handle(&ctx, (const char *)data, size);
    if (out == NULL) {
        /* Only notifications: the input was a request or batch. */
        r = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
        FUZZ_CHECK(json_is_object(r) || json_is_array(r));
        json_decref(r);
    } else {
        r = json_loads(out, 0, NULL);
        FUZZ_CHECK(r != NULL);
        if (json_is_array(r)) {
            FUZZ_CHECK(json_array_size(r) > 0);
            for (i = 0; i < json_array_size(r); i++) {
                check_response(json_array_get(r, i));
            }
        } else {
            check_response(r);
        }
        json_decref(r);
        free(out);
    }
    FUZZ_CHECK(parex_db_head(ctx.db, &head) == PAREX_OK);
    FUZZ_CHECK(head.height == head0.height);
    FUZZ_CHECK(memcmp(head.state_root, head0.state_root, 32) == 0);
    return 0;
}
