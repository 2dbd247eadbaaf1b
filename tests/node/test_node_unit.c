/* Unit tests of node/: hex and number parsing, declare modes and their
 * PRNG, the trace and fixture loaders (errors name file, line, field), the
 * tx JSON form and the block encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "formats/node.h"

static void test_hex_roundtrip(void **state)
{
    uint8_t in[5] = {0x00, 0x7f, 0x80, 0xab, 0xff};
    uint8_t back[5];
    char hex[11];

    (void)state;
    node_hex(hex, in, 5);
    assert_string_equal(hex, "007f80abff");
    assert_int_equal(node_unhex(back, "007F80ABff", 10), 5);
    assert_memory_equal(back, in, 5);
    assert_int_equal(node_unhex(back, "0", 1), -1);
    assert_int_equal(node_unhex(back, "0g", 2), -1);
}

static void test_parse_u64(void **state)
{
    uint64_t v;

    (void)state;
    assert_int_equal(node_parse_u64(&v, "18446744073709551615"), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(node_parse_u64(&v, "18446744073709551616"), -1);
    assert_int_equal(node_parse_u64(&v, ""), -1);
    assert_int_equal(node_parse_u64(&v, "-1"), -1);
    assert_int_equal(node_parse_u64(&v, "+1"), -1);
    assert_int_equal(node_parse_u64(&v, "12 "), -1);
}

static void test_declare_parse(void **state)
{
    node_declare d;
    char err[NODE_ERR_LEN];

    (void)state;
    assert_int_equal(node_declare_parse(&d, err, "exact"), 0);
    assert_int_equal(d.kind, NODE_DECLARE_EXACT);
    assert_int_equal(node_declare_parse(&d, err, "none"), 0);
    assert_int_equal(d.kind, NODE_DECLARE_NONE);
    assert_int_equal(node_declare_parse(&d, err, "drop:0.3:7"), 0);
    assert_int_equal(d.kind, NODE_DECLARE_DROP);
    assert_true(d.p == 0.3 && d.seed == 7);
    assert_int_equal(node_declare_parse(&d, err, "add:1:18446744073709551615"),
        0);
    assert_true(d.kind == NODE_DECLARE_ADD && d.seed == UINT64_MAX);
    assert_int_equal(node_declare_parse(&d, err, "drop:0.3"), -1);
    assert_int_equal(node_declare_parse(&d, err, "drop:1.5:1"), -1);
    assert_int_equal(node_declare_parse(&d, err, "drop::1"), -1);
    assert_int_equal(node_declare_parse(&d, err, "drop:0.1:x"), -1);
    assert_int_equal(node_declare_parse(&d, err, "add:nan:1"), -1);
    assert_int_equal(node_declare_parse(&d, err, "all"), -1);
    assert_non_null(strstr(err, "unknown declare mode 'all'"));
}

static void test_rng_splitmix_vector(void **state)
{
    node_rng r;

    (void)state;
    /* splitmix64 from state 0: the published first outputs. */
    node_rng_init(&r, 0, 0);
    assert_true(node_rng_next(&r) == 0xE220A8397B1DCDAFULL);
    assert_true(node_rng_next(&r) == 0x6E789E6AA1B965F4ULL);
    node_rng_init(&r, 5, 0);
    assert_true(r.s == 5);
    node_rng_init(&r, 5, 1);
    assert_true(r.s == (5 ^ 0xD1B54A32D192ED03ULL));
    node_rng_init(&r, 1, 2);
    assert_int_equal(node_rng_chance(&r, 0.0), 0);
    assert_int_equal(node_rng_chance(&r, 1.0), 1);
}

static int sorted_unique(const uint8_t *k, size_t n)
{
    size_t i;

    for (i = 1; i < n; i++) {
        if (memcmp(k + (i - 1) * 32, k + i * 32, 32) >= 0) {
            return 0;
        }
    }
    return 1;
}

static int has(const uint8_t *k, size_t n, const uint8_t *key)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (memcmp(k + i * 32, key, 32) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Keys r = {k0..k5, k2 again}, w = {k4, k6, k7}; universe = k0..k19. */
static void sample(uint8_t *u, uint8_t *r, size_t *nr, uint8_t *w,
    size_t *nw, uint8_t acct[32])
{
    size_t i;

    for (i = 0; i < 20; i++) {
        uint8_t s = (uint8_t)i;
        parex_sha256(u + i * 32, &s, 1);
    }
    for (i = 0; i < 6; i++) {
        memcpy(r + i * 32, u + i * 32, 32);
    }
    memcpy(r + 6 * 32, u + 2 * 32, 32);
    *nr = 7;
    memcpy(w, u + 4 * 32, 32);
    memcpy(w + 32, u + 6 * 32, 32);
    memcpy(w + 64, u + 7 * 32, 32);
    *nw = 3;
    parex_sha256(acct, "account", 7);
    (void)node_keys_sort_unique(u, 20);
}

static void check_sets(const uint8_t *rs, size_t nrs, const uint8_t *ws,
    size_t nws)
{
    size_t i;

    assert_true(sorted_unique(rs, nrs));
    assert_true(sorted_unique(ws, nws));
    for (i = 0; i < nrs; i++) {
        assert_false(has(ws, nws, rs + i * 32));
    }
}

static void test_declare_sets(void **state)
{
    uint8_t u[20 * 32], r[7 * 32], w[3 * 32], acct[32];
    size_t nr, nw, nrs, nws, nrs2, nws2, i;
    uint8_t *rs, *ws, *rs2, *ws2;
    node_declare d;
    char err[NODE_ERR_LEN];
    uint64_t tx;

    (void)state;
    sample(u, r, &nr, w, &nw, acct);
    assert_int_equal(node_declare_parse(&d, err, "exact"), 0);
    node_declare_sets(&rs, &nrs, &ws, &nws, &d, 0, r, nr, w, nw, acct, u, 20);
    check_sets(rs, nrs, ws, nws);
    assert_int_equal(nrs, 5);    /* k0..k5 minus k4 */
    assert_int_equal(nws, 4);    /* k4, k6, k7, account */
    assert_true(has(ws, nws, acct));
    assert_false(has(rs, nrs, w));

    /* drop with P = 0 and add with P = 0 are exact. */
    assert_int_equal(node_declare_parse(&d, err, "drop:0:9"), 0);
    node_declare_sets(&rs2, &nrs2, &ws2, &nws2, &d, 3, r, nr, w, nw, acct, u,
        20);
    assert_int_equal(nrs2, nrs);
    assert_int_equal(nws2, nws);
    assert_memory_equal(rs2, rs, nrs * 32);
    assert_memory_equal(ws2, ws, nws * 32);
    free(rs2);
    free(ws2);

    /* drop with P = 1 keeps only the account. */
    assert_int_equal(node_declare_parse(&d, err, "drop:1:9"), 0);
    node_declare_sets(&rs2, &nrs2, &ws2, &nws2, &d, 3, r, nr, w, nw, acct, u,
        20);
    assert_int_equal(nrs2, 0);
    assert_int_equal(nws2, 1);
    assert_memory_equal(ws2, acct, 32);
    free(rs2);
    free(ws2);

    /* add: a superset of exact, drawn from the universe, still canonical;
     * the same seed and index give the same sets. */
    assert_int_equal(node_declare_parse(&d, err, "add:0.7:11"), 0);
    for (tx = 0; tx < 50; tx++) {
        uint8_t *rs3, *ws3;
        size_t nrs3, nws3;
        node_declare_sets(&rs2, &nrs2, &ws2, &nws2, &d, tx, r, nr, w, nw,
            acct, u, 20);
        check_sets(rs2, nrs2, ws2, nws2);
        for (i = 0; i < nrs; i++) {
            assert_true(has(rs2, nrs2, rs + i * 32));
        }
        for (i = 0; i < nws; i++) {
            assert_true(has(ws2, nws2, ws + i * 32));
        }
        for (i = 0; i < nrs2; i++) {
            assert_true(has(u, 20, rs2 + i * 32));
        }
        node_declare_sets(&rs3, &nrs3, &ws3, &nws3, &d, tx, r, nr, w, nw,
            acct, u, 20);
        assert_int_equal(nrs3, nrs2);
        assert_int_equal(nws3, nws2);
        assert_memory_equal(rs3, rs2, nrs2 * 32);
        assert_memory_equal(ws3, ws2, nws2 * 32);
        free(rs2);
        free(ws2);
        free(rs3);
        free(ws3);
    }

    /* none declares nothing. */
    assert_int_equal(node_declare_parse(&d, err, "none"), 0);
    node_declare_sets(&rs2, &nrs2, &ws2, &nws2, &d, 0, r, nr, w, nw, acct, u,
        20);
    assert_int_equal(nrs2, 0);
    assert_int_equal(nws2, 0);
    free(rs);
    free(ws);
}

static void test_trace_parse(void **state)
{
    static const char text[] =
        "{\"i\":0,\"id\":\"abc\",\"r\":[\"x\"],\"w\":[\"y\",\"z\"]}\n"
        "\n"
        "{\"i\":1,\"r\":[],\"w\":[\"x\"],\"extra\":1}\n";
    node_trace t;
    char err[NODE_ERR_LEN];
    uint8_t h[32];
    node_buf args = {0};

    (void)state;
    assert_int_equal(node_trace_parse(&t, err, "t.jsonl", text,
        sizeof(text) - 1), 0);
    assert_int_equal(t.n, 2);
    assert_string_equal(t.txs[0].id, "abc");
    assert_string_equal(t.txs[1].id, "1");
    assert_int_equal(t.txs[0].nr, 1);
    assert_int_equal(t.txs[0].nw, 2);
    parex_sha256(h, "z", 1);
    assert_memory_equal(t.txs[0].w + 32, h, 32);

    /* args: u32le 3 "abc" u32le 1 H(x) u32le 2 H(y) H(z) */
    node_trace_args(&args, &t.txs[0]);
    assert_int_equal(args.len, 4 + 3 + 4 + 32 + 4 + 64);
    assert_memory_equal(args.p, "\x03\x00\x00\x00" "abc\x01\x00\x00\x00", 11);
    parex_sha256(h, "x", 1);
    assert_memory_equal(args.p + 11, h, 32);
    assert_memory_equal(args.p + 43, "\x02\x00\x00\x00", 4);
    node_buf_release(&args);
    node_trace_release(&t);

    assert_int_equal(node_trace_parse(&t, err, "t.jsonl",
        "{\"i\":0,\"r\":[],\"w\":[]}\n{\"i\":0,\"r\":[],\"w\":[]}\n", 44), -1);
    assert_non_null(strstr(err, "t.jsonl:2: field 'i' is 0"));
    assert_int_equal(node_trace_parse(&t, err, "t.jsonl",
        "\n{\"i\":0,\"r\":{},\"w\":[]}", 22), -1);
    assert_non_null(strstr(err, "t.jsonl:2: field 'r' must be an array of "
        "strings"));
}

static const char fixture_text[] =
    "{\"format\":\"parex-fixture-1\",\"chain_id\":\"7\","
    "\"genesis\":{\"fee_recipient\":\"%s\",\"accounts\":[{\"pubkey\":\"%s\","
    "\"balance\":\"18446744073709551615\",\"nonce\":3}],"
    "\"state\":[{\"key\":\"%s\",\"value\":\"beef\"}]},"
    "\"blocks\":[{\"header\":{\"height\":1},\"txs\":[{\"raw\":\"00ff\"}],"
    "\"expect\":{\"reject\":{\"reason\":\"MALFORMED\",\"tx_index\":0}}},"
    "{\"header\":{\"height\":1,\"parent\":\"%s\"},\"txs\":[],"
    "\"expect\":{\"state_root\":\"%s\",\"receipts\":[],\"batches\":0}}]}";

static void test_fixture_parse(void **state)
{
    char k1[65], k2[65], text[2048], err[NODE_ERR_LEN];
    uint8_t a[32], b[32];
    node_fixture f;
    uint64_t bal, nonce;
    size_t i;
    int found_acct = 0, found_kv = 0;

    (void)state;
    memset(a, 0x11, 32);
    memset(b, 0x22, 32);
    node_hex(k1, a, 32);
    node_hex(k2, b, 32);
    snprintf(text, sizeof(text), fixture_text, k1, k1, k2, k2, k1);
    assert_int_equal(node_fixture_parse(&f, err, "f.json", text,
        strlen(text)), 0);
    assert_int_equal(f.chain_id, 7);
    assert_int_equal(f.nkv, 2);
    for (i = 0; i < f.nkv; i++) {
        if (memcmp(f.kvs[i].key, b, 32) == 0) {
            found_kv = 1;
            assert_int_equal(f.kvs[i].value_len, 2);
        } else {
            found_acct = 1;
            assert_int_equal(parex_account_decode(&bal, &nonce,
                f.kvs[i].value, f.kvs[i].value_len), PAREX_OK);
            assert_true(bal == UINT64_MAX && nonce == 3);
        }
    }
    assert_true(found_acct && found_kv);
    assert_int_equal(f.nblocks, 2);
    assert_int_equal(f.blocks[0].reject, PAREX_REJECT_MALFORMED);
    assert_int_equal(f.blocks[0].reject_tx, 0);
    assert_true(f.blocks[0].txs[0].raw && f.blocks[0].txs[0].len == 2);
    assert_false(f.blocks[0].have_parent);
    assert_true(f.blocks[1].have_parent);
    assert_memory_equal(f.blocks[1].header.parent, b, 32);
    assert_memory_equal(f.blocks[1].header.fee_recipient, a, 32);
    assert_true(f.blocks[1].have_batches && f.blocks[1].batches == 0);
    node_fixture_release(&f);

    /* The same key twice in the genesis. */
    snprintf(text, sizeof(text), "{\"format\":\"parex-fixture-1\","
        "\"chain_id\":1,\"genesis\":{\"fee_recipient\":\"%s\","
        "\"state\":[{\"key\":\"%s\",\"value\":\"\"},"
        "{\"key\":\"%s\",\"value\":\"00\"}]},\"blocks\":[]}", k1, k2, k2);
    assert_int_equal(node_fixture_parse(&f, err, "f.json", text,
        strlen(text)), -1);
    assert_non_null(strstr(err, "appears twice"));
}

static void test_tx_json_roundtrip(void **state)
{
    uint8_t sec[32], pub[32], to[32], args[40], ws[64];
    parex_tx tx;
    node_txbytes a, b;
    char err[NODE_ERR_LEN];
    json_t *j;
    node_buf mine = {0};
    parex_header h;
    uint8_t *lib;
    size_t len = 0;

    (void)state;
    node_key_from_str(sec, pub, "unit-test");
    memset(to, 0x33, 32);
    parex_transfer_args(args, to, 9007199254740993ULL);
    parex_account_key(ws, pub);
    parex_account_key(ws + 32, to);
    (void)node_keys_sort_unique(ws, 2);
    memset(&tx, 0, sizeof(tx));
    tx.chain_id = 5;
    tx.nonce = UINT64_MAX;
    tx.fee = 12;
    tx.program = PAREX_PROGRAM_TRANSFER;
    tx.args = args;
    tx.args_len = 40;
    tx.write_set = ws;
    tx.n_write = 2;
    assert_int_equal(parex_tx_sign(&tx, sec), PAREX_OK);
    assert_int_equal(node_tx_encode(&a, err, "x", &tx), 0);
    j = node_tx_to_json(&tx);
    assert_string_equal(json_string_value(json_object_get(j, "nonce")),
        "18446744073709551615");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j,
        "transfer"), "amount")), "9007199254740993");
    assert_int_equal(node_tx_from_json(&b, err, "x", j, 1), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.p, b.p, a.len);
    json_decref(j);

    /* node's block encoding is parex_block_encode's. */
    memset(&h, 0, sizeof(h));
    h.height = 4;
    memset(h.parent, 0x44, 32);
    node_block_encode(&mine, &h, &a, 1);
    assert_int_equal(parex_block_encode(NULL, &len, &h, &tx, 1),
        PAREX_E_BUFFER);
    lib = malloc(len);
    assert_int_equal(parex_block_encode(lib, &len, &h, &tx, 1), PAREX_OK);
    assert_int_equal(mine.len, len);
    assert_memory_equal(mine.p, lib, len);
    free(lib);
    node_buf_release(&mine);
    free(a.p);
    free(b.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_roundtrip),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_declare_parse),
        cmocka_unit_test(test_rng_splitmix_vector),
        cmocka_unit_test(test_declare_sets),
        cmocka_unit_test(test_trace_parse),
        cmocka_unit_test(test_fixture_parse),
        cmocka_unit_test(test_tx_json_roundtrip),
    };
    return cmocka_run_group_tests_name("node", tests, NULL, NULL);
}
