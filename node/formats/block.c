/* Blocks and transactions: binary encodings and their JSON forms. */
#include "node.h"

#include <stdlib.h>
#include <string.h>

void node_block_encode(node_buf *out, const parex_header *h,
    const node_txbytes *txs, size_t n)
{
    uint8_t hdr[PAREX_HEADER_BYTES];
    size_t i;

    parex_header_encode(hdr, h);
    node_buf_put(out, hdr, sizeof(hdr));
    node_buf_u32le(out, (uint32_t)n);
    for (i = 0; i < n; i++) {
        node_buf_u32le(out, (uint32_t)txs[i].len);
        node_buf_put(out, txs[i].p, txs[i].len);
    }
}

int node_tx_encode(node_txbytes *out, char *err, const char *where,
    const parex_tx *tx)
{
    size_t len = parex_tx_encoded_len(tx);
    uint8_t *p = node_malloc(len);
    int rc = parex_tx_encode(p, &len, tx);

    if (rc != PAREX_OK) {
        free(p);
        return node_err(err, "%s: transaction cannot be encoded: %s", where,
            parex_strerror(rc));
    }
    out->p = p;
    out->len = len;
    out->raw = 0;
    return 0;
}

/* A key set: array of 32-byte hex strings, strictly increasing. */
static int keys_from_json(uint8_t **out, uint32_t *n, char *err,
    const char *where, const char *name, const json_t *v)
{
    size_t i, cnt;
    uint8_t *p;

    if (v == NULL) {
        return node_err(err, "%s: field '%s' is missing", where, name);
    }
    if (!json_is_array(v)) {
        return node_err(err, "%s: field '%s' must be an array of 32-byte "
            "hex keys", where, name);
    }
    cnt = json_array_size(v);
    if (cnt > UINT32_MAX) {
        return node_err(err, "%s: field '%s' has too many keys", where, name);
    }
    p = node_malloc(cnt * PAREX_KEY_LEN);
    for (i = 0; i < cnt; i++) {
        char elem[48];
        snprintf(elem, sizeof(elem), "%s[%zu]", name, i);
        if (node_json_hexn(p + i * PAREX_KEY_LEN, PAREX_KEY_LEN, err, where,
                elem, json_array_get(v, i)) != 0) {
            free(p);
            return -1;
        }
        if (i > 0 && memcmp(p + (i - 1) * PAREX_KEY_LEN,
                         p + i * PAREX_KEY_LEN, PAREX_KEY_LEN) >= 0) {
            free(p);
            return node_err(err, "%s: field '%s' must be strictly increasing "
                "(sorted, unique); use {\"raw\": hex} for a deliberately "
                "non-canonical tx", where, elem);
        }
    }
    *out = p;
    *n = (uint32_t)cnt;
    return 0;
}

static int sets_overlap(const uint8_t *a, size_t na, const uint8_t *b,
    size_t nb)
{
    size_t i = 0;
    size_t j = 0;

    while (i < na && j < nb) {
        int c = memcmp(a + i * PAREX_KEY_LEN, b + j * PAREX_KEY_LEN,
            PAREX_KEY_LEN);
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

static const char *const tx_fields[] = {"chain_id", "sender", "nonce", "fee",
    "program", "args", "transfer", "read_set", "write_set", "sig", NULL};
static const char *const raw_fields[] = {"raw", NULL};
static const char *const transfer_fields[] = {"to", "amount", NULL};

int node_tx_from_json(node_txbytes *out, char *err, const char *where,
    const json_t *o, uint32_t chain_id_default)
{
    parex_tx tx;
    uint8_t *args = NULL;
    uint8_t *rs = NULL;
    uint8_t *ws = NULL;
    size_t args_len = 0;
    const json_t *v;
    int rc = -1;

    memset(&tx, 0, sizeof(tx));
    if (!json_is_object(o)) {
        return node_err(err, "%s: must be a transaction object", where);
    }
    if (json_object_get(o, "raw") != NULL) {
        uint8_t *p;
        size_t len;
        if (node_json_only(err, where, o, raw_fields) != 0 ||
            node_json_hex(&p, &len, err, where, "raw",
                json_object_get(o, "raw")) != 0) {
            return -1;
        }
        out->p = p;
        out->len = len;
        out->raw = 1;
        return 0;
    }
    if (node_json_only(err, where, o, tx_fields) != 0) {
        return -1;
    }
    v = json_object_get(o, "chain_id");
    if (v == NULL) {
        tx.chain_id = chain_id_default;
    } else if (node_json_u32(&tx.chain_id, err, where, "chain_id", v) != 0) {
        goto out;
    }
    if (node_json_hexn(tx.sender, 32, err, where, "sender",
            json_object_get(o, "sender")) != 0 ||
        node_json_u64(&tx.nonce, err, where, "nonce",
            json_object_get(o, "nonce")) != 0 ||
        node_json_u64(&tx.fee, err, where, "fee",
            json_object_get(o, "fee")) != 0) {
        goto out;
    }
    v = json_object_get(o, "program");
    if (json_is_string(v) && strcmp(json_string_value(v), "transfer") == 0) {
        tx.program = PAREX_PROGRAM_TRANSFER;
    } else if (json_is_string(v) &&
               strcmp(json_string_value(v), "trace") == 0) {
        tx.program = PAREX_PROGRAM_TRACE;
    } else if (json_is_string(v)) {
        node_err(err, "%s: field 'program' must be a number, \"transfer\" or "
            "\"trace\", got \"%.40s\"", where, json_string_value(v));
        goto out;
    } else if (node_json_u32(&tx.program, err, where, "program", v) != 0) {
        goto out;
    }
    v = json_object_get(o, "transfer");
    if (v != NULL) {
        char w2[NODE_ERR_LEN];
        uint8_t to[32];
        uint64_t amount;
        if (json_object_get(o, "args") != NULL) {
            node_err(err, "%s: fields 'args' and 'transfer' exclude each "
                "other", where);
            goto out;
        }
        snprintf(w2, sizeof(w2), "%s: transfer", where);
        if (!json_is_object(v)) {
            node_err(err, "%s: field 'transfer' must be an object {\"to\", "
                "\"amount\"}", where);
            goto out;
        }
        if (node_json_only(err, w2, v, transfer_fields) != 0 ||
            node_json_hexn(to, 32, err, w2, "to",
                json_object_get(v, "to")) != 0 ||
            node_json_u64(&amount, err, w2, "amount",
                json_object_get(v, "amount")) != 0) {
            goto out;
        }
        args = node_malloc(PAREX_TRANSFER_ARGS_BYTES);
        args_len = PAREX_TRANSFER_ARGS_BYTES;
        parex_transfer_args(args, to, amount);
    } else if ((v = json_object_get(o, "args")) != NULL) {
        if (node_json_hex(&args, &args_len, err, where, "args", v) != 0) {
            goto out;
        }
    }
    tx.args = args;
    tx.args_len = (uint32_t)args_len;
    if (keys_from_json(&rs, &tx.n_read, err, where, "read_set",
            json_object_get(o, "read_set")) != 0 ||
        keys_from_json(&ws, &tx.n_write, err, where, "write_set",
            json_object_get(o, "write_set")) != 0) {
        goto out;
    }
    tx.read_set = rs;
    tx.write_set = ws;
    if (sets_overlap(rs, tx.n_read, ws, tx.n_write)) {
        node_err(err, "%s: field 'write_set' shares a key with 'read_set'; "
            "use {\"raw\": hex} for a deliberately non-canonical tx", where);
        goto out;
    }
    if (node_json_hexn(tx.sig, PAREX_SIG_LEN, err, where, "sig",
            json_object_get(o, "sig")) != 0) {
        goto out;
    }
    rc = node_tx_encode(out, err, where, &tx);
out:
    free(args);
    free(rs);
    free(ws);
    return rc;
}

static json_t *keys_to_json(const uint8_t *p, uint32_t n)
{
    json_t *a = json_array();
    uint32_t i;

    for (i = 0; i < n; i++) {
        json_array_append_new(a, node_json_from_hex(p + (size_t)i * 32, 32));
    }
    return a;
}

static uint64_t get_u64le(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

json_t *node_tx_to_json(const parex_tx *tx)
{
    json_t *o = json_object();

    json_object_set_new(o, "chain_id", json_integer(tx->chain_id));
    json_object_set_new(o, "sender", node_json_from_hex(tx->sender, 32));
    json_object_set_new(o, "nonce", node_json_from_u64(tx->nonce));
    json_object_set_new(o, "fee", node_json_from_u64(tx->fee));
    if (tx->program == PAREX_PROGRAM_TRANSFER &&
        tx->args_len == PAREX_TRANSFER_ARGS_BYTES) {
        json_t *t = json_object();
        json_object_set_new(o, "program", json_string("transfer"));
        json_object_set_new(t, "to", node_json_from_hex(tx->args, 32));
        json_object_set_new(t, "amount",
            node_json_from_u64(get_u64le(tx->args + 32)));
        json_object_set_new(o, "transfer", t);
    } else {
        if (tx->program == PAREX_PROGRAM_TRANSFER) {
            json_object_set_new(o, "program", json_string("transfer"));
        } else if (tx->program == PAREX_PROGRAM_TRACE) {
            json_object_set_new(o, "program", json_string("trace"));
        } else {
            json_object_set_new(o, "program", json_integer(tx->program));
        }
        json_object_set_new(o, "args",
            node_json_from_hex(tx->args, tx->args_len));
    }
    json_object_set_new(o, "read_set", keys_to_json(tx->read_set,
        tx->n_read));
    json_object_set_new(o, "write_set", keys_to_json(tx->write_set,
        tx->n_write));
    json_object_set_new(o, "sig", node_json_from_hex(tx->sig, 64));
    return o;
}

json_t *node_raw_to_json(const uint8_t *p, size_t len)
{
    json_t *o = json_object();

    json_object_set_new(o, "raw", node_json_from_hex(p, len));
    return o;
}

json_t *node_header_to_json(const parex_header *h, int with_roots)
{
    json_t *o = json_object();

    json_object_set_new(o, "height", node_json_from_u64(h->height));
    json_object_set_new(o, "parent", node_json_from_hex(h->parent, 32));
    if (with_roots) {
        json_object_set_new(o, "tx_root", node_json_from_hex(h->tx_root, 32));
        json_object_set_new(o, "receipts_root",
            node_json_from_hex(h->receipts_root, 32));
        json_object_set_new(o, "state_root",
            node_json_from_hex(h->state_root, 32));
    }
    json_object_set_new(o, "fee_recipient",
        node_json_from_hex(h->fee_recipient, 32));
    return o;
}

static const char *const header_fields[] = {"height", "parent", "tx_root",
    "receipts_root", "state_root", "fee_recipient", NULL};

int node_header_from_json(parex_header *out, int *have_height,
    int *have_parent, char *err, const char *where, const json_t *o,
    const uint8_t fee_default[32])
{
    const json_t *v;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(o)) {
        return node_err(err, "%s: field 'header' must be an object", where);
    }
    if (node_json_only(err, where, o, header_fields) != 0) {
        return -1;
    }
    v = json_object_get(o, "height");
    if (have_height != NULL) {
        *have_height = v != NULL;
    }
    if ((v != NULL || have_height == NULL) &&
        node_json_u64(&out->height, err, where, "header.height", v) != 0) {
        return -1;
    }
    v = json_object_get(o, "parent");
    *have_parent = v != NULL;
    if (v != NULL &&
        node_json_hexn(out->parent, 32, err, where, "header.parent", v) != 0) {
        return -1;
    }
    v = json_object_get(o, "fee_recipient");
    if (v == NULL && fee_default != NULL) {
        memcpy(out->fee_recipient, fee_default, 32);
    } else if (node_json_hexn(out->fee_recipient, 32, err, where,
                   "header.fee_recipient", v) != 0) {
        return -1;
    }
    if ((v = json_object_get(o, "tx_root")) != NULL &&
        node_json_hexn(out->tx_root, 32, err, where, "header.tx_root",
            v) != 0) {
        return -1;
    }
    if ((v = json_object_get(o, "receipts_root")) != NULL &&
        node_json_hexn(out->receipts_root, 32, err, where,
            "header.receipts_root", v) != 0) {
        return -1;
    }
    if ((v = json_object_get(o, "state_root")) != NULL &&
        node_json_hexn(out->state_root, 32, err, where, "header.state_root",
            v) != 0) {
        return -1;
    }
    return 0;
}

const char *node_status_name(uint32_t status)
{
    switch (status) {
    case PAREX_TX_SUCCESS:
        return "success";
    case PAREX_TX_FAILED:
        return "failed";
    case PAREX_TX_UNKNOWN_PROGRAM:
        return "unknown_program";
    default:
        return "unknown-status";
    }
}

int node_status_parse(uint32_t *out, const char *name)
{
    uint32_t s;

    for (s = 0; s <= PAREX_TX_UNKNOWN_PROGRAM; s++) {
        if (strcmp(name, node_status_name(s)) == 0) {
            *out = s;
            return 0;
        }
    }
    return -1;
}

int node_reject_parse(int *out, const char *name)
{
    static const char *const names[] = {
#define NODE_XX(n, v, msg) #n,
        PAREX_REJECT_MAP(NODE_XX)
#undef NODE_XX
    };
    static const int values[] = {
#define NODE_XX(n, v, msg) v,
        PAREX_REJECT_MAP(NODE_XX)
#undef NODE_XX
    };
    size_t i;

    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        if (values[i] != PAREX_REJECT_NONE && strcmp(names[i], name) == 0) {
            *out = values[i];
            return 0;
        }
    }
    return -1;
}
