/* JSON-RPC 2.0 (https://www.jsonrpc.org/specification) dispatch of the
 * reference node: request text in, response text out, no HTTP. */
#include "daemon.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Batches are bounded by the body size too; this keeps one request from
 * holding the mempool lock for long. */
#define MAX_BATCH 10000

typedef struct call {
    node_ctx *c;
    const json_t *params;   /* array, object or NULL */
    json_t *result;         /* set on success */
    int code;               /* JSON-RPC error code when result is NULL */
    char msg[NODE_ERR_LEN];
    json_t *data;           /* optional error data */
} call;

static int fail(call *k, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(call *k, int code, const char *fmt, ...)
{
    va_list ap;

    k->code = code;
    va_start(ap, fmt);
    vsnprintf(k->msg, sizeof(k->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* Parameter i by position, or name by name; NULL when absent. */
static const json_t *param(const call *k, size_t i, const char *name)
{
    if (json_is_array(k->params)) {
        return json_array_get(k->params, i);
    }
    if (json_is_object(k->params)) {
        return json_object_get(k->params, name);
    }
    return NULL;
}

/* Reject parameters beyond the n the method takes. */
static int check_arity(call *k, size_t n, const char *const *names)
{
    const char *key;
    const json_t *v;
    size_t i;

    if (json_is_array(k->params) && json_array_size(k->params) > n) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: takes at "
            "most %zu, got %zu", n, json_array_size(k->params));
    }
    if (json_is_object(k->params)) {
        json_object_foreach((json_t *)k->params, key, v) {
            for (i = 0; i < n; i++) {
                if (strcmp(key, names[i]) == 0) {
                    break;
                }
            }
            if (i == n) {
                return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: "
                    "unknown parameter '%s'", key);
            }
        }
    }
    return 0;
}

static int param_hex32(call *k, uint8_t out[32], size_t i, const char *name)
{
    char err[NODE_ERR_LEN];
    const json_t *v = param(k, i, name);

    if (node_json_hexn(out, 32, err, "invalid params", name, v) != 0) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "%s", err);
    }
    return 0;
}

static int read_account(node_ctx *c, uint64_t *bal, uint64_t *nonce,
    int *exists, const uint8_t pub[32])
{
    parex_read *r;
    const uint8_t *val;
    uint8_t key[32];
    size_t len;
    int rc;

    parex_account_key(key, pub);
    rc = parex_read_begin(&r, c->db);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = parex_read_get(r, &val, &len, key);
    *exists = rc == PAREX_OK;
    if (rc == PAREX_E_NOTFOUND) {
        *bal = 0;
        *nonce = 0;
        rc = PAREX_OK;
    } else if (rc == PAREX_OK) {
        rc = parex_account_decode(bal, nonce, val, len);
    }
    parex_read_end(r);
    return rc;
}

/* ---- methods ----------------------------------------------------------- */

static void count(node_ctx *c, int accepted)
{
    pthread_mutex_lock(&c->mlock);
    if (accepted) {
        c->m.accepted++;
    } else {
        c->m.rejected++;
    }
    pthread_mutex_unlock(&c->mlock);
}

static int submit_checked(call *k)
{
    static const char *const names[] = {"tx"};
    node_ctx *c = k->c;
    const json_t *v;
    const char *hex;
    size_t hexlen, max_bytes, n;
    uint8_t *bytes = NULL;
    uint8_t txid[32];
    uint64_t bal, next;
    parex_error_info ei;
    parex_tx tx;
    char idhex[65];
    int rc, exists, ret = -1;

    if (check_arity(k, 1, names) != 0) {
        return -1;
    }
    v = param(k, 0, "tx");
    if (!json_is_string(v)) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'tx' "
            "must be the hex string of a signed transaction");
    }
    hex = json_string_value(v);
    hexlen = json_string_length(v);
    /* The largest transaction the limits allow; anything longer is
     * rejected before it is decoded. */
    max_bytes = PAREX_TX_MIN_BYTES + (size_t)c->limits.max_args_bytes +
        2 * (size_t)c->limits.max_keys_per_set * 32;
    if (hexlen / 2 > max_bytes) {
        return fail(k, NODE_RPC_TX_REJECTED, "transaction rejected: %zu "
            "bytes, over the %zu the limits allow", hexlen / 2, max_bytes);
    }
    bytes = node_malloc(hexlen / 2 + 1);
    if (hexlen == 0 || node_unhex(bytes, hex, hexlen) < 0) {
        fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'tx' is not hex "
            "(an even number of hex digits)");
        goto out;
    }
    n = hexlen / 2;
    memset(&ei, 0, sizeof(ei));
    rc = parex_tx_decode(&tx, &ei, bytes, n, &c->limits);
    if (rc != PAREX_OK) {
        fail(k, NODE_RPC_TX_REJECTED, "transaction rejected: %s",
            ei.message);
        k->data = json_pack("{s:s, s:s}", "reason",
            rc == PAREX_E_LIMIT ? "LIMIT" : "MALFORMED", "field", ei.field);
        goto out;
    }
    if (tx.chain_id != c->chain_id) {
        fail(k, NODE_RPC_TX_REJECTED, "transaction rejected: chain id %u, "
            "this node's chain id is %u", tx.chain_id, c->chain_id);
        k->data = json_pack("{s:s, s:s}", "reason", "CHAIN_ID", "field",
            "chain_id");
        goto out;
    }
    if (parex_tx_verify(&tx) != PAREX_OK) {
        fail(k, NODE_RPC_TX_REJECTED, "transaction rejected: the signature "
            "does not verify against the sender's public key");
        k->data = json_pack("{s:s, s:s}", "reason", "BAD_SIGNATURE", "field",
            "sig");
        goto out;
    }
    if (parex_tx_id(txid, &tx) != PAREX_OK) {
        fail(k, NODE_RPC_INTERNAL, "internal error: tx id of a decoded tx");
        goto out;
    }
    node_hex(idhex, txid, 32);
    rc = read_account(c, &bal, &next, &exists, tx.sender);
    if (rc != PAREX_OK) {
        fail(k, NODE_RPC_INTERNAL, "internal error: reading the sender's "
            "account: %s", parex_strerror(rc));
        goto out;
    }
    if (tx.nonce < next) {
        fail(k, NODE_RPC_NONCE, "nonce %llu already used: the sender's "
            "next nonce is %llu", (unsigned long long)tx.nonce,
            (unsigned long long)next);
        goto out;
    }
    if (tx.nonce - next > c->max_nonce_gap) {
        fail(k, NODE_RPC_NONCE, "nonce %llu is more than %llu ahead of the "
            "sender's next nonce %llu", (unsigned long long)tx.nonce,
            (unsigned long long)c->max_nonce_gap, (unsigned long long)next);
        goto out;
    }
    pthread_mutex_lock(&c->lock);
    rc = node_mempool_add(c->mp, txid, tx.sender, tx.nonce, bytes, n);
    if (rc == NODE_MP_OK &&
        node_mempool_size(c->mp) >= c->max_block_txs) {
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    if (rc == NODE_MP_DUP) {
        fail(k, NODE_RPC_DUPLICATE, "transaction %s is already pending",
            idhex);
    } else if (rc == NODE_MP_NONCE_TAKEN) {
        fail(k, NODE_RPC_DUPLICATE, "another pending transaction of this "
            "sender has nonce %llu", (unsigned long long)tx.nonce);
    } else if (rc == NODE_MP_FULL) {
        fail(k, NODE_RPC_MEMPOOL_FULL, "mempool is full: try again after "
            "the next block");
    } else {
        k->result = json_pack("{s:s}", "txid", idhex);
        ret = 0;
    }
out:
    free(bytes);
    return ret;
}

static int m_submit(call *k)
{
    int rc = submit_checked(k);

    count(k->c, rc == 0);
    return rc;
}

static int m_get_account(call *k)
{
    static const char *const names[] = {"pubkey"};
    uint8_t pub[32], key[32];
    uint64_t bal, nonce;
    size_t pending;
    int rc, exists;

    if (check_arity(k, 1, names) != 0 || param_hex32(k, pub, 0, "pubkey") != 0) {
        return -1;
    }
    rc = read_account(k->c, &bal, &nonce, &exists, pub);
    if (rc == PAREX_E_INVALID) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "the value at this "
            "account's key is not an account");
    }
    if (rc != PAREX_OK) {
        return fail(k, NODE_RPC_INTERNAL, "internal error: %s",
            parex_strerror(rc));
    }
    pthread_mutex_lock(&k->c->lock);
    pending = node_mempool_sender_count(k->c->mp, pub);
    pthread_mutex_unlock(&k->c->lock);
    parex_account_key(key, pub);
    k->result = json_object();
    json_object_set_new(k->result, "pubkey", node_json_from_hex(pub, 32));
    json_object_set_new(k->result, "key", node_json_from_hex(key, 32));
    json_object_set_new(k->result, "exists", json_boolean(exists));
    json_object_set_new(k->result, "balance", node_json_from_u64(bal));
    json_object_set_new(k->result, "nonce", node_json_from_u64(nonce));
    json_object_set_new(k->result, "pending", json_integer((json_int_t)pending));
    return 0;
}

static int m_get_value(call *k)
{
    static const char *const names[] = {"key"};
    const uint8_t *val;
    uint8_t key[32];
    parex_read *r;
    size_t len;
    int rc;

    if (check_arity(k, 1, names) != 0 || param_hex32(k, key, 0, "key") != 0) {
        return -1;
    }
    /* One read transaction: the value is borrowed until it ends, so
     * there is no buffer to size. */
    rc = parex_read_begin(&r, k->c->db);
    if (rc == PAREX_OK) {
        rc = parex_read_get(r, &val, &len, key);
        if (rc == PAREX_OK || rc == PAREX_E_NOTFOUND) {
            k->result = json_object();
            json_object_set_new(k->result, "key",
                node_json_from_hex(key, 32));
            json_object_set_new(k->result, "value", rc == PAREX_OK ?
                node_json_from_hex(val, len) : json_null());
        }
        parex_read_end(r);
    }
    if (k->result == NULL) {
        fail(k, NODE_RPC_INTERNAL, "internal error: %s", parex_strerror(rc));
    }
    return k->result != NULL ? 0 : -1;
}

static json_t *receipt_json(const parex_receipt *r)
{
    json_t *o = json_object();

    json_object_set_new(o, "txid", node_json_from_hex(r->txid, 32));
    json_object_set_new(o, "status", json_string(node_status_name(r->status)));
    json_object_set_new(o, "code", json_integer(r->code));
    json_object_set_new(o, "fee", node_json_from_u64(r->fee));
    return o;
}

static int param_height(call *k, uint64_t *h, int *given, size_t i,
    const char *name)
{
    char err[NODE_ERR_LEN];
    const json_t *v = param(k, i, name);

    *given = 0;
    if (v == NULL || json_is_null(v) ||
        (json_is_string(v) && strcmp(json_string_value(v), "latest") == 0)) {
        return 0;
    }
    if (node_json_u64(h, err, "invalid params", name, v) != 0) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "%s, or \"latest\"", err);
    }
    *given = 1;
    return 0;
}

static int m_get_block(call *k)
{
    static const char *const names[] = {"height", "full"};
    node_ctx *c = k->c;
    const json_t *fv;
    parex_read *rd;
    parex_header h, head;
    uint8_t hash[32];
    const uint8_t *block;
    size_t len = 0, n = 0, i, off;
    uint64_t height = 0;
    json_t *txs;
    int given, full, rc;

    if (check_arity(k, 2, names) != 0 ||
        param_height(k, &height, &given, 0, "height") != 0) {
        return -1;
    }
    fv = param(k, 1, "full");
    if (fv != NULL && !json_is_boolean(fv)) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'full' "
            "must be true or false");
    }
    full = fv != NULL && json_is_true(fv);
    /* Head, block and receipts from one snapshot of the store, where the
     * engine commits them together: "latest" always has its txs. */
    rc = parex_read_begin(&rd, c->db);
    if (rc == PAREX_OK) {
        rc = parex_read_head(rd, &head);
    }
    if (rc != PAREX_OK) {
        parex_read_end(rd);
        return fail(k, NODE_RPC_INTERNAL, "internal error: head: %s",
            parex_strerror(rc));
    }
    if (!given) {
        height = head.height;
    }
    if (height > head.height) {
        parex_read_end(rd);
        return fail(k, NODE_RPC_NOT_FOUND, "no block at height %llu: the "
            "head is at %llu", (unsigned long long)height,
            (unsigned long long)head.height);
    }
    rc = parex_read_block(rd, &block, &len, height);
    if (rc == PAREX_OK) {
        rc = parex_block_peek(&h, &n, NULL, block, len, &c->limits) ==
                PAREX_OK ? PAREX_OK : PAREX_E_CORRUPT;
    }
    if (rc != PAREX_OK) {
        parex_read_end(rd);
        return fail(k, NODE_RPC_INTERNAL, "internal error: block %llu: %s",
            (unsigned long long)height, parex_strerror(rc));
    }
    parex_header_hash(hash, &h);
    k->result = node_header_to_json(&h, 1);
    json_object_set_new(k->result, "hash", node_json_from_hex(hash, 32));
    json_object_set_new(k->result, "tx_count", json_integer((json_int_t)n));
    txs = json_array();
    off = PAREX_HEADER_BYTES + 4;
    for (i = 0; i < n; i++) {
        parex_receipt r;
        json_t *o;
        uint32_t tl;

        rc = parex_read_block_receipt(rd, &r, height, (uint32_t)i);
        if (rc != PAREX_OK) {
            json_decref(txs);
            json_decref(k->result);
            k->result = NULL;
            parex_read_end(rd);
            return fail(k, NODE_RPC_INTERNAL, "internal error: receipt %zu "
                "of block %llu: %s", i, (unsigned long long)height,
                parex_strerror(rc));
        }
        if (!full) {
            json_array_append_new(txs, node_json_from_hex(r.txid, 32));
            continue;
        }
        /* parex_block_peek checked the framing of every tx. */
        tl = (uint32_t)block[off] | (uint32_t)block[off + 1] << 8 |
            (uint32_t)block[off + 2] << 16 | (uint32_t)block[off + 3] << 24;
        o = receipt_json(&r);
        json_object_set_new(o, "raw", node_json_from_hex(block + off + 4, tl));
        json_array_append_new(txs, o);
        off += 4 + (size_t)tl;
    }
    json_object_set_new(k->result, "txs", txs);
    parex_read_end(rd);
    return 0;
}

/* The committed receipt of txid: 1 found, 0 not, -1 error (*rcp). */
static int find_receipt(node_ctx *c, int *rcp, const uint8_t txid[32],
    parex_receipt *r, uint64_t *height, uint32_t *index)
{
    parex_read *rd;
    int rc = parex_read_begin(&rd, c->db);

    if (rc == PAREX_OK) {
        rc = parex_read_receipt(rd, r, height, index, txid);
        parex_read_end(rd);
    }
    *rcp = rc;
    return rc == PAREX_OK ? 1 : rc == PAREX_E_NOTFOUND ? 0 : -1;
}

static int m_get_receipt(call *k)
{
    static const char *const names[] = {"txid"};
    uint8_t txid[32];
    char hex[65];
    parex_receipt r;
    uint64_t height;
    uint32_t index;
    int rc, found, pending;

    if (check_arity(k, 1, names) != 0 || param_hex32(k, txid, 0, "txid") != 0) {
        return -1;
    }
    found = find_receipt(k->c, &rc, txid, &r, &height, &index);
    if (found == 0) {
        pthread_mutex_lock(&k->c->lock);
        pending = node_mempool_contains(k->c->mp, txid);
        pthread_mutex_unlock(&k->c->lock);
        if (pending) {
            node_hex(hex, txid, 32);
            k->result = json_pack("{s:s, s:s}", "txid", hex, "status",
                "pending");
            return 0;
        }
        /* The producer takes a tx out of the mempool after its block's
         * commit: it may have committed since the first look. */
        found = find_receipt(k->c, &rc, txid, &r, &height, &index);
    }
    if (found < 0) {
        return fail(k, NODE_RPC_INTERNAL, "internal error: %s",
            parex_strerror(rc));
    }
    if (found == 1) {
        k->result = receipt_json(&r);
        json_object_set_new(k->result, "height", node_json_from_u64(height));
        json_object_set_new(k->result, "index", json_integer(index));
        return 0;
    }
    node_hex(hex, txid, 32);
    return fail(k, NODE_RPC_NOT_FOUND, "transaction %s is neither in a "
        "committed block nor pending", hex);
}

static int m_get_state_root(call *k)
{
    static const char *const names[] = {"height"};
    parex_header h;
    uint64_t height = 0;
    int given, rc;

    if (check_arity(k, 1, names) != 0 ||
        param_height(k, &height, &given, 0, "height") != 0) {
        return -1;
    }
    rc = given ? parex_db_header(k->c->db, &h, height) :
        parex_db_head(k->c->db, &h);
    if (rc == PAREX_E_NOTFOUND) {
        return fail(k, NODE_RPC_NOT_FOUND, "no block at height %llu",
            (unsigned long long)height);
    }
    if (rc != PAREX_OK) {
        return fail(k, NODE_RPC_INTERNAL, "internal error: %s",
            parex_strerror(rc));
    }
    k->result = json_object();
    json_object_set_new(k->result, "height", node_json_from_u64(h.height));
    json_object_set_new(k->result, "state_root",
        node_json_from_hex(h.state_root, 32));
    return 0;
}

static int m_status(call *k)
{
    node_ctx *c = k->c;
    parex_header h;
    uint8_t hash[32];
    size_t mp_n, mp_bytes, mp_senders;
    uint64_t txs, blocks;
    int rc;

    if (check_arity(k, 0, NULL) != 0) {
        return -1;
    }
    rc = parex_db_head(c->db, &h);
    if (rc != PAREX_OK) {
        return fail(k, NODE_RPC_INTERNAL, "internal error: %s",
            parex_strerror(rc));
    }
    pthread_mutex_lock(&c->lock);
    mp_n = node_mempool_size(c->mp);
    mp_bytes = node_mempool_bytes(c->mp);
    mp_senders = node_mempool_senders(c->mp);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_lock(&c->mlock);
    txs = c->m.txs;
    blocks = c->m.blocks;
    pthread_mutex_unlock(&c->mlock);
    parex_header_hash(hash, &h);
    k->result = json_object();
    json_object_set_new(k->result, "version", json_string(parex_version()));
    json_object_set_new(k->result, "chain_id", json_integer(c->chain_id));
    json_object_set_new(k->result, "height", node_json_from_u64(h.height));
    json_object_set_new(k->result, "head_hash", node_json_from_hex(hash, 32));
    json_object_set_new(k->result, "state_root",
        node_json_from_hex(h.state_root, 32));
    json_object_set_new(k->result, "mempool", json_pack("{s:I, s:I, s:I}",
        "txs", (json_int_t)mp_n, "bytes", (json_int_t)mp_bytes,
        "senders", (json_int_t)mp_senders));
    json_object_set_new(k->result, "blocks_produced",
        node_json_from_u64(blocks));
    json_object_set_new(k->result, "txs_committed", node_json_from_u64(txs));
    return 0;
}

typedef struct method {
    const char *name;
    int (*fn)(call *k);
} method;

static const method methods[] = {
    {"submitTransaction", m_submit},
    {"getAccount", m_get_account},
    {"getValue", m_get_value},
    {"getBlock", m_get_block},
    {"getReceipt", m_get_receipt},
    {"getStateRoot", m_get_state_root},
    {"status", m_status},
};

/* ---- envelope ---------------------------------------------------------- */

static json_t *error_obj(json_t *id, int code, const char *msg, json_t *data)
{
    json_t *e = json_pack("{s:i, s:s}", "code", code, "message", msg);

    if (data != NULL) {
        json_object_set_new(e, "data", data);
    }
    return json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "error", e, "id",
        id != NULL ? id : json_null());
}

/* One request object: the response, or NULL for a notification. */
static json_t *handle_one(node_ctx *c, json_t *req)
{
    const json_t *v, *mv;
    json_t *id;
    const char *name;
    const char *key;
    call k;
    size_t i;

    if (!json_is_object(req)) {
        return error_obj(NULL, NODE_RPC_INVALID_REQUEST, "invalid request: "
            "not a JSON-RPC request object", NULL);
    }
    id = json_object_get(req, "id");
    if (id != NULL && !json_is_string(id) && !json_is_integer(id) &&
        !json_is_null(id)) {
        return error_obj(NULL, NODE_RPC_INVALID_REQUEST, "invalid request: "
            "'id' must be a string, an integer or null", NULL);
    }
    v = json_object_get(req, "jsonrpc");
    if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0) {
        return error_obj(id, NODE_RPC_INVALID_REQUEST, "invalid request: "
            "'jsonrpc' must be \"2.0\"", NULL);
    }
    json_object_foreach(req, key, v) {
        if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "method") != 0 &&
            strcmp(key, "params") != 0 && strcmp(key, "id") != 0) {
            return error_obj(id, NODE_RPC_INVALID_REQUEST, "invalid "
                "request: unknown member (only jsonrpc, method, params, id)",
                NULL);
        }
    }
    mv = json_object_get(req, "method");
    if (!json_is_string(mv)) {
        return error_obj(id, NODE_RPC_INVALID_REQUEST, "invalid request: "
            "'method' must be a string", NULL);
    }
    memset(&k, 0, sizeof(k));
    k.c = c;
    k.params = json_object_get(req, "params");
    if (k.params != NULL && !json_is_array(k.params) &&
        !json_is_object(k.params)) {
        return error_obj(id, NODE_RPC_INVALID_REQUEST, "invalid request: "
            "'params' must be an array or an object", NULL);
    }
    name = json_string_value(mv);
    for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (strcmp(name, methods[i].name) == 0) {
            break;
        }
    }
    if (i == sizeof(methods) / sizeof(methods[0])) {
        k.code = NODE_RPC_NO_METHOD;
        snprintf(k.msg, sizeof(k.msg), "method '%.64s' not found (methods: "
            "submitTransaction, getAccount, getValue, getBlock, getReceipt, "
            "getStateRoot, status)", name);
    } else {
        methods[i].fn(&k);
    }
    if (id == NULL) {
        json_decref(k.result);
        json_decref(k.data);
        return NULL;   /* a notification gets no response */
    }
    if (k.result != NULL) {
        return json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
            k.result, "id", id);
    }
    return error_obj(id, k.code, k.msg, k.data);
}

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);

    json_decref(v);
    if (s == NULL) {
        node_die(NODE_EXIT_RUNTIME, "out of memory (JSON response)");
    }
    return s;
}

char *node_rpc_error_text(int code, const char *msg)
{
    return dump(error_obj(NULL, code, msg, NULL));
}

char *node_rpc_handle(node_ctx *c, const char *body, size_t len)
{
    json_error_t je;
    json_t *req, *resp, *out;
    char msg[NODE_ERR_LEN];
    size_t i;

    req = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
        &je);
    if (req == NULL) {
        snprintf(msg, sizeof(msg), "parse error: %s (line %d, column %d)",
            je.text, je.line, je.column);
        return node_rpc_error_text(NODE_RPC_PARSE, msg);
    }
    if (!json_is_array(req)) {
        resp = handle_one(c, req);
        json_decref(req);
        return resp == NULL ? NULL : dump(resp);
    }
    if (json_array_size(req) == 0 || json_array_size(req) > MAX_BATCH) {
        json_decref(req);
        snprintf(msg, sizeof(msg), "invalid request: a batch holds 1 to %d "
            "requests", MAX_BATCH);
        return node_rpc_error_text(NODE_RPC_INVALID_REQUEST, msg);
    }
    out = json_array();
    for (i = 0; i < json_array_size(req); i++) {
        resp = handle_one(c, json_array_get(req, i));
        if (resp != NULL) {
            json_array_append_new(out, resp);
        }
    }
    json_decref(req);
    if (json_array_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return dump(out);
}
