/* The fixture format (docs/formats.md): genesis, blocks, expectations. */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURE_FORMAT "parex-fixture-1"

static void block_release(node_fx_block *b)
{
    node_txs_free(b->txs, b->ntx);
    free(b->receipts);
    free(b->bal);
}

void node_fixture_release(node_fixture *f)
{
    size_t i;

    free(f->description);
    for (i = 0; i < f->nkv; i++) {
        free((void *)f->kvs[i].value);
    }
    free(f->kvs);
    for (i = 0; i < f->nblocks; i++) {
        block_release(&f->blocks[i]);
    }
    free(f->blocks);
    memset(f, 0, sizeof(*f));
}

static const char *const top_fields[] = {"format", "description", "chain_id",
    "genesis", "blocks", NULL};
static const char *const genesis_fields[] = {"fee_recipient", "accounts",
    "state", NULL};
static const char *const account_fields[] = {"pubkey", "balance", "nonce",
    NULL};
static const char *const kv_fields[] = {"key", "value", NULL};
static const char *const block_fields[] = {"header", "txs", "expect", "bal",
    NULL};
static const char *const expect_fields[] = {"state_root", "receipts",
    "batches", NULL};
static const char *const reject_fields[] = {"reason", "tx_index", NULL};
static const char *const receipt_fields[] = {"status", "code", "fee", "txid",
    NULL};

static int cmp_kv(const void *a, const void *b)
{
    return memcmp(((const parex_kv *)a)->key, ((const parex_kv *)b)->key,
        PAREX_KEY_LEN);
}

static int parse_genesis(node_fixture *f, char *err, const char *file,
    const json_t *g)
{
    const json_t *acc, *st;
    size_t i, n;
    char where[NODE_ERR_LEN / 2];
    char hex[65];

    snprintf(where, sizeof(where), "%s: genesis", file);
    if (g == NULL) {
        return node_err(err, "%s: field 'genesis' is missing", file);
    }
    if (!json_is_object(g)) {
        return node_err(err, "%s: field 'genesis' must be an object", file);
    }
    if (node_json_only(err, where, g, genesis_fields) != 0 ||
        node_json_hexn(f->fee_recipient, 32, err, where, "fee_recipient",
            json_object_get(g, "fee_recipient")) != 0) {
        return -1;
    }
    acc = json_object_get(g, "accounts");
    st = json_object_get(g, "state");
    if (acc != NULL && !json_is_array(acc)) {
        return node_err(err, "%s: field 'accounts' must be an array", where);
    }
    if (st != NULL && !json_is_array(st)) {
        return node_err(err, "%s: field 'state' must be an array", where);
    }
    n = json_array_size(acc) + json_array_size(st);
    f->kvs = node_calloc(n, sizeof(*f->kvs));
    for (i = 0; i < json_array_size(acc); i++) {
        const json_t *a = json_array_get(acc, i);
        uint8_t pub[32];
        uint64_t balance, nonce;
        uint8_t *val;
        snprintf(where, sizeof(where), "%s: genesis: account %zu", file, i);
        if (!json_is_object(a)) {
            return node_err(err, "%s: must be an object", where);
        }
        if (node_json_only(err, where, a, account_fields) != 0 ||
            node_json_hexn(pub, 32, err, where, "pubkey",
                json_object_get(a, "pubkey")) != 0 ||
            node_json_u64(&balance, err, where, "balance",
                json_object_get(a, "balance")) != 0 ||
            node_json_u64(&nonce, err, where, "nonce",
                json_object_get(a, "nonce")) != 0) {
            return -1;
        }
        val = node_malloc(PAREX_ACCOUNT_BYTES);
        parex_account_encode(val, balance, nonce);
        parex_account_key(f->kvs[f->nkv].key, pub);
        f->kvs[f->nkv].value = val;
        f->kvs[f->nkv].value_len = PAREX_ACCOUNT_BYTES;
        f->nkv++;
    }
    for (i = 0; i < json_array_size(st); i++) {
        const json_t *kv = json_array_get(st, i);
        uint8_t *val;
        size_t len;
        snprintf(where, sizeof(where), "%s: genesis: state %zu", file, i);
        if (!json_is_object(kv)) {
            return node_err(err, "%s: must be an object", where);
        }
        if (node_json_only(err, where, kv, kv_fields) != 0 ||
            node_json_hexn(f->kvs[f->nkv].key, 32, err, where, "key",
                json_object_get(kv, "key")) != 0 ||
            node_json_hex(&val, &len, err, where, "value",
                json_object_get(kv, "value")) != 0) {
            return -1;
        }
        f->kvs[f->nkv].value = val;
        f->kvs[f->nkv].value_len = len;
        f->nkv++;
    }
    if (f->nkv > 1) {
        /* Sorted order also makes the genesis input canonical. */
        qsort(f->kvs, f->nkv, sizeof(*f->kvs), cmp_kv);
        for (i = 1; i < f->nkv; i++) {
            if (memcmp(f->kvs[i - 1].key, f->kvs[i].key, 32) == 0) {
                node_hex(hex, f->kvs[i].key, 32);
                return node_err(err, "%s: genesis: key %s appears twice "
                    "(in 'accounts' or 'state')", file, hex);
            }
        }
    }
    return 0;
}

static int parse_expect(node_fx_block *b, char *err, const char *where,
    const json_t *e)
{
    const json_t *rej, *v;
    size_t i;
    char w2[NODE_ERR_LEN];

    if (e == NULL) {
        return node_err(err, "%s: field 'expect' is missing", where);
    }
    if (!json_is_object(e)) {
        return node_err(err, "%s: field 'expect' must be an object", where);
    }
    rej = json_object_get(e, "reject");
    if (rej != NULL) {
        json_int_t ti;
        snprintf(w2, sizeof(w2), "%s: expect.reject", where);
        if (json_object_size(e) != 1) {
            return node_err(err, "%s: field 'expect' with 'reject' must have "
                "no other field", where);
        }
        if (!json_is_object(rej)) {
            return node_err(err, "%s: field 'expect.reject' must be an "
                "object", where);
        }
        if (node_json_only(err, w2, rej, reject_fields) != 0) {
            return -1;
        }
        v = json_object_get(rej, "reason");
        if (!json_is_string(v) ||
            node_reject_parse(&b->reject, json_string_value(v)) != 0) {
            return node_err(err, "%s: field 'reason' must be a rejection "
                "name such as \"BAD_NONCE\"", w2);
        }
        v = json_object_get(rej, "tx_index");
        if (!json_is_integer(v) || (ti = json_integer_value(v)) < -1) {
            return node_err(err, "%s: field 'tx_index' must be an integer "
                ">= -1 (-1: the header)", w2);
        }
        if (ti >= (json_int_t)b->ntx) {
            return node_err(err, "%s: field 'tx_index' is %lld but the "
                "block has %zu txs", w2, (long long)ti, b->ntx);
        }
        b->reject_tx = (int64_t)ti;
        return 0;
    }
    snprintf(w2, sizeof(w2), "%s: expect", where);
    if (node_json_only(err, w2, e, expect_fields) != 0 ||
        node_json_hexn(b->state_root, 32, err, w2, "state_root",
            json_object_get(e, "state_root")) != 0) {
        return -1;
    }
    v = json_object_get(e, "batches");
    if (v != NULL) {
        b->have_batches = 1;
        if (node_json_u64(&b->batches, err, w2, "batches", v) != 0) {
            return -1;
        }
    }
    v = json_object_get(e, "receipts");
    if (v == NULL) {
        return node_err(err, "%s: field 'receipts' is missing", w2);
    }
    if (!json_is_array(v)) {
        return node_err(err, "%s: field 'receipts' must be an array", w2);
    }
    if (json_array_size(v) != b->ntx) {
        return node_err(err, "%s: field 'receipts' has %zu entries but the "
            "block has %zu txs", w2, json_array_size(v), b->ntx);
    }
    b->receipts = node_calloc(b->ntx, sizeof(*b->receipts));
    for (i = 0; i < b->ntx; i++) {
        const json_t *r = json_array_get(v, i);
        node_fx_receipt *x = &b->receipts[i];
        uint32_t code;
        const json_t *c;
        snprintf(w2, sizeof(w2), "%s: expect: receipt %zu", where, i);
        if (!json_is_object(r)) {
            return node_err(err, "%s: must be an object", w2);
        }
        if (node_json_only(err, w2, r, receipt_fields) != 0) {
            return -1;
        }
        c = json_object_get(r, "status");
        if (c == NULL) {
            return node_err(err, "%s: field 'status' is missing", w2);
        }
        if (!json_is_string(c) ||
            node_status_parse(&x->status, json_string_value(c)) != 0) {
            return node_err(err, "%s: field 'status' must be \"success\", "
                "\"failed\" or \"unknown_program\"", w2);
        }
        c = json_object_get(r, "code");
        if (c == NULL) {
            return node_err(err, "%s: field 'code' is missing", w2);
        }
        if (!json_is_integer(c) || json_integer_value(c) < INT32_MIN ||
            json_integer_value(c) > INT32_MAX) {
            return node_err(err, "%s: field 'code' must be a 32-bit "
                "integer", w2);
        }
        code = (uint32_t)json_integer_value(c);
        x->code = (int32_t)code;
        if (node_json_u64(&x->fee, err, w2, "fee",
                json_object_get(r, "fee")) != 0) {
            return -1;
        }
        c = json_object_get(r, "txid");
        if (c != NULL) {
            x->have_txid = 1;
            if (node_json_hexn(x->txid, 32, err, w2, "txid", c) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

static int parse_block(node_fixture *f, node_fx_block *b, char *err,
    const char *file, size_t bi, const json_t *o)
{
    char where[NODE_ERR_LEN / 2];
    const json_t *txs;
    size_t i;

    snprintf(where, sizeof(where), "%s: block %zu", file, bi);
    b->reject_tx = -1;
    if (!json_is_object(o)) {
        return node_err(err, "%s: must be an object", where);
    }
    if (node_json_only(err, where, o, block_fields) != 0) {
        return -1;
    }
    if (json_object_get(o, "header") == NULL) {
        return node_err(err, "%s: field 'header' is missing", where);
    }
    if (node_header_from_json(&b->header, &b->have_height, &b->have_parent,
            err, where, json_object_get(o, "header"),
            f->fee_recipient) != 0) {
        return -1;
    }
    txs = json_object_get(o, "txs");
    if (txs == NULL) {
        return node_err(err, "%s: field 'txs' is missing", where);
    }
    if (!json_is_array(txs)) {
        return node_err(err, "%s: field 'txs' must be an array", where);
    }
    b->ntx = json_array_size(txs);
    b->txs = node_calloc(b->ntx, sizeof(*b->txs));
    for (i = 0; i < b->ntx; i++) {
        char w2[NODE_ERR_LEN];
        snprintf(w2, sizeof(w2), "%s: tx %zu", where, i);
        if (node_tx_from_json(&b->txs[i], err, w2, json_array_get(txs, i),
                f->chain_id) != 0) {
            return -1;
        }
    }
    if (json_object_get(o, "bal") != NULL) {
        /* The block access list: its canonical encoding in hex, checked
         * here against the block's txs (its key references name their
         * declared keys) so that a bad one names the file
         * (docs/formats.md). A block whose txs do not decode is left to
         * execution, which rejects it for them first. */
        parex_error_info ei;
        node_buf plain = {0}, sealed = {0};
        int bad = 0;
        if (node_json_hex(&b->bal, &b->bal_len, err, where, "bal",
                json_object_get(o, "bal")) != 0) {
            return -1;
        }
        if (b->bal_len == 0) {
            return node_err(err, "%s: field 'bal' is empty", where);
        }
        node_block_encode(&plain, &b->header, b->txs, b->ntx);
        node_block_attach_bal(&sealed, plain.p, plain.len, b->bal,
            b->bal_len);
        if (parex_bal_check(NULL, &ei, sealed.p, sealed.len, NULL) !=
                PAREX_OK &&
            strncmp(ei.field, "bal", 3) == 0) {
            bad = 1;
        }
        node_buf_release(&plain);
        node_buf_release(&sealed);
        if (bad) {
            return node_err(err, "%s: field 'bal': %s (field '%s')", where,
                ei.message, ei.field);
        }
    }
    return parse_expect(b, err, where, json_object_get(o, "expect"));
}

int node_fixture_parse(node_fixture *out, char *err, const char *file,
    const char *text, size_t len)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *v;
    size_t i;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (root == NULL) {
        return node_err(err, "%s:%d:%d: invalid JSON: %s", file, jerr.line,
            jerr.column, jerr.text);
    }
    if (!json_is_object(root)) {
        node_err(err, "%s: a fixture must be a JSON object", file);
        goto out;
    }
    if (node_json_only(err, file, root, top_fields) != 0) {
        goto out;
    }
    v = json_object_get(root, "format");
    if (!json_is_string(v) || strcmp(json_string_value(v),
                                  FIXTURE_FORMAT) != 0) {
        node_err(err, "%s: field 'format' must be \"" FIXTURE_FORMAT "\"",
            file);
        goto out;
    }
    v = json_object_get(root, "description");
    if (v != NULL && !json_is_string(v)) {
        node_err(err, "%s: field 'description' must be a string", file);
        goto out;
    }
    out->description = node_strdup(v == NULL ? "" : json_string_value(v));
    if (node_json_u32(&out->chain_id, err, file, "chain_id",
            json_object_get(root, "chain_id")) != 0) {
        goto out;
    }
    if (parse_genesis(out, err, file, json_object_get(root, "genesis")) != 0) {
        goto out;
    }
    v = json_object_get(root, "blocks");
    if (v == NULL) {
        node_err(err, "%s: field 'blocks' is missing", file);
        goto out;
    }
    if (!json_is_array(v)) {
        node_err(err, "%s: field 'blocks' must be an array", file);
        goto out;
    }
    out->nblocks = json_array_size(v);
    out->blocks = node_calloc(out->nblocks, sizeof(*out->blocks));
    for (i = 0; i < out->nblocks; i++) {
        if (parse_block(out, &out->blocks[i], err, file, i,
                json_array_get(v, i)) != 0) {
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    if (rc != 0) {
        node_fixture_release(out);
    }
    return rc;
}

int node_fixture_load(node_fixture *out, char *err, const char *file)
{
    char *text;
    size_t len;
    int rc;

    memset(out, 0, sizeof(*out));
    if (node_read_file(&text, &len, file) != 0) {
        return node_err(err, "%s: cannot read: %s", file,
            node_read_error(errno));
    }
    rc = node_fixture_parse(out, err, file, text, len);
    free(text);
    return rc;
}
