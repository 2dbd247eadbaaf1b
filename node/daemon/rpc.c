/* JSON-RPC 2.0 (https://www.jsonrpc.org/specification) dispatch of the
 * reference node: request text in, response text out, no HTTP. */
#include "daemon.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Batches are bounded by the body size too; this keeps one request from
 * holding the mempool lock for long. */
#define MAX_BATCH 10000

/* A string cut out of the request text before the JSON parse (see
 * lift_body): it points into the caller's body. */
typedef struct lifted {
    const char *s;
    size_t n;
} lifted;

typedef struct lift_tab {
    lifted *v;
    size_t n, cap;
} lift_tab;

typedef struct call {
    node_ctx *c;
    const lift_tab *lift;   /* the request's lifted strings (may be empty) */
    int rej;                /* NODE_REJ_* of a refused submission */
    size_t room;            /* bytes left for this response (--max-response) */
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
/* ---- submissions' hex outside jansson ----
 *
 * jansson lexes a string byte by byte, copies it twice and checks its
 * UTF-8: about 150 instructions per byte (callgrind, a node under `parex
 * load`: json_loadb 11% of the node's instructions, 76k per submitted tx
 * of ~500 hex digits; the signature check is ~400k). lift_body cuts each
 * long submission out of the text first and puts "\u0000<index>" in its
 * place, so jansson parses a few bytes; submit_checked takes the text
 * from the table (str_of). Only what submitTransaction reads is lifted:
 * the first element of a request's "params" array or the "tx" member of
 * its "params" object, a string of >= LIFT_MIN bytes, all hex digits or
 * 'x'/'X' (so jansson would have taken exactly those bytes). A request
 * whose text holds a \u0000 escape of its own is parsed as it is, without
 * JSON_ALLOW_NUL (refused as before): every NUL-led string after a lift
 * is a placeholder. Anything the scanner does not follow (deep nesting,
 * escapes in keys, malformed text) is just not lifted. */
#define LIFT_MIN 256
#define LIFT_DEPTH 4

static int lift_add(lift_tab *t, const char *s, size_t n)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        lifted *v = realloc(t->v, cap * sizeof(*v));

        if (v == NULL) {
            return -1;
        }
        t->v = v;
        t->cap = cap;
    }
    t->v[t->n].s = s;
    t->v[t->n].n = n;
    t->n++;
    return 0;
}

/* The request text with submissions lifted into *t: *out (malloc'd,
 * *out_len bytes), 1; 0 when nothing was lifted or the text has its own
 * \u0000 (parse body as it is); -1 out of memory. */
static int lift_body(const char *body, size_t len, lift_tab *t, char **out,
    size_t *out_len)
{
    /* Per open container: '{' or '['; for an object the kind of its
     * current key (1 "params", 2 "tx"), whether a key comes next; for an
     * array whether no element came yet. */
    char type[LIFT_DEPTH];
    unsigned char kind[LIFT_DEPTH], want_key[LIFT_DEPTH], first[LIFT_DEPTH];
    size_t depth = 0, deep = 0, i = 0, w = 0, j;
    char *o = NULL;

    t->n = 0;
    while (i < len) {
        char ch = body[i];

        if (ch == '"') {
            int esc = 0, target = 0, hexish = 1;

            for (j = i + 1; j < len && body[j] != '"'; j++) {
                if (body[j] == '\\') {
                    esc = 1;
                    if (j + 5 < len && body[j + 1] == 'u' &&
                        memcmp(body + j + 2, "0000", 4) == 0) {
                        goto none;   /* its own NUL: jansson judges it */
                    }
                    j++;
                } else if (!((body[j] >= '0' && body[j] <= '9') ||
                    (body[j] >= 'a' && body[j] <= 'f') ||
                    (body[j] >= 'A' && body[j] <= 'F') || body[j] == 'x' ||
                    body[j] == 'X')) {
                    hexish = 0;
                }
            }
            if (j >= len) {
                goto none;           /* unterminated: jansson says so */
            }
            if (deep == 0 && depth > 0 && type[depth - 1] == '{' &&
                want_key[depth - 1]) {
                /* A key: remember whether it is "params" or "tx". */
                kind[depth - 1] = esc ? 0 : (j - i - 1 == 6 &&
                    memcmp(body + i + 1, "params", 6) == 0) ? 1 :
                    (j - i - 1 == 2 && memcmp(body + i + 1, "tx", 2) == 0) ?
                    2 : 0;
                want_key[depth - 1] = 0;
            } else if (deep == 0 && depth >= 2) {
                /* The request object: at the top, or in a top batch. */
                size_t r = depth - 2;
                int req = type[r] == '{' && (r == 0 || (r == 1 &&
                    type[0] == '['));

                target = req && kind[r] == 1 &&
                    ((type[depth - 1] == '[' && first[depth - 1]) ||
                     (type[depth - 1] == '{' && kind[depth - 1] == 2));
            }
            if (depth > 0 && type[depth - 1] == '[') {
                first[depth - 1] = 0;
            }
            if (target && !esc && hexish && j - i - 1 >= LIFT_MIN) {
                char tag[32];
                int tl;

                if (o == NULL) {
                    o = malloc(len + 1);
                    if (o == NULL) {
                        return -1;
                    }
                    memcpy(o, body, i);
                    w = i;
                }
                if (lift_add(t, body + i + 1, j - i - 1) != 0) {
                    free(o);
                    return -1;
                }
                tl = snprintf(tag, sizeof(tag), "\"\\u0000%zu\"",
                    t->n - 1);
                memcpy(o + w, tag, (size_t)tl); /* tl < LIFT_MIN */
                w += (size_t)tl;
            } else if (o != NULL) {
                memcpy(o + w, body + i, j + 1 - i);
                w += j + 1 - i;
            }
            i = j + 1;
            continue;
        }
        if (ch == '{' || ch == '[') {
            if (depth < LIFT_DEPTH && deep == 0) {
                if (depth > 0 && type[depth - 1] == '[') {
                    first[depth - 1] = 0;
                }
                type[depth] = ch;
                kind[depth] = 0;
                want_key[depth] = ch == '{';
                first[depth] = 1;
                depth++;
            } else {
                deep++;
            }
        } else if (ch == '}' || ch == ']') {
            if (deep > 0) {
                deep--;
            } else if (depth > 0) {
                depth--;
            }
        } else if (ch == ',' && deep == 0 && depth > 0) {
            if (type[depth - 1] == '{') {
                want_key[depth - 1] = 1;
                kind[depth - 1] = 0;
            }
        } else if (deep == 0 && depth > 0 && type[depth - 1] == '[' &&
            ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') {
            first[depth - 1] = 0;    /* a number, true, false, null */
        }
        if (o != NULL) {
            o[w++] = ch;
        }
        i++;
    }
    if (o == NULL) {
        return 0;
    }
    o[w] = '\0';
    *out = o;
    *out_len = w;
    return 1;
none:
    free(o);
    t->n = 0;
    return 0;
}

/* The lifted string a placeholder stands for, or NULL (v is not one). */
static const lifted *lifted_of(const call *k, const json_t *v)
{
    const char *s;
    size_t n, i, idx = 0;

    if (k->lift == NULL || k->lift->n == 0 || !json_is_string(v)) {
        return NULL;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n < 2 || s[0] != '\0') {
        return NULL;
    }
    for (i = 1; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || idx > k->lift->n) {
            return NULL;
        }
        idx = idx * 10 + (size_t)(s[i] - '0');
    }
    return idx < k->lift->n ? &k->lift->v[idx] : NULL;
}

/* A string param's text (a lifted one's from the table). */
static void str_of(const call *k, const json_t *v, const char **s, size_t *n)
{
    const lifted *l = lifted_of(k, v);

    if (l != NULL) {
        *s = l->s;
        *n = l->n;
    } else {
        *s = json_string_value(v);
        *n = json_string_length(v);
    }
}

/* Put the lifted strings back into k's params (a method other than a
 * local submission reads them, or the request is forwarded): then every
 * method sees exactly the request it was sent. 0, or -1 (no memory). */
static int unlift_params(call *k)
{
    json_t *p = (json_t *)k->params, *v;
    const lifted *l;

    if (k->lift == NULL || k->lift->n == 0 || p == NULL) {
        return 0;
    }
    if (json_is_array(p) && json_array_size(p) > 0 &&
        (l = lifted_of(k, json_array_get(p, 0))) != NULL) {
        v = json_stringn_nocheck(l->s, l->n);
        if (v == NULL || json_array_set_new(p, 0, v) != 0) {
            return -1;
        }
    }
    if (json_is_object(p) &&
        (l = lifted_of(k, json_object_get(p, "tx"))) != NULL) {
        v = json_stringn_nocheck(l->s, l->n);
        if (v == NULL || json_object_set_new(p, "tx", v) != 0) {
            return -1;
        }
    }
    return 0;
}

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

/* 32 bytes of hex, "0x" prefix optional. */
static int hex32_of(call *k, uint8_t out[32], const json_t *v,
    const char *name)
{
    char err[NODE_ERR_LEN];
    json_t *bare = NULL;
    int rc;

    if (json_is_string(v) && json_string_length(v) >= 2 &&
        json_string_value(v)[0] == '0' &&
        (json_string_value(v)[1] == 'x' || json_string_value(v)[1] == 'X')) {
        bare = json_string(json_string_value(v) + 2);
        v = bare;
    }
    rc = node_json_hexn(out, 32, err, "invalid params", name, v);
    json_decref(bare);
    if (rc != 0) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "%s", err);
    }
    return 0;
}

static int param_hex32(call *k, uint8_t out[32], size_t i, const char *name)
{
    return hex32_of(k, out, param(k, i, name), name);
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

static void count(node_ctx *c, int accepted, int rej)
{
    pthread_mutex_lock(&c->mlock);
    if (accepted) {
        c->m.accepted++;
    } else {
        c->m.rejected[rej >= 0 && rej < NODE_REJ_REASONS ? rej :
            NODE_REJ_INTERNAL]++;
    }
    pthread_mutex_unlock(&c->mlock);
}

/* Refuse a submission by rule rej: data.reason names it. */
static int refuse(call *k, int code, int rej, const char *field,
    const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

static int refuse(call *k, int code, int rej, const char *field,
    const char *fmt, ...)
{
    va_list ap;

    k->code = code;
    k->rej = rej;
    va_start(ap, fmt);
    vsnprintf(k->msg, sizeof(k->msg), fmt, ap);
    va_end(ap);
    json_decref(k->data);
    k->data = field != NULL ? json_pack("{s:s, s:s}", "reason",
        node_rej_name(rej), "field", field) : json_pack("{s:s}", "reason",
        node_rej_name(rej));
    return -1;
}

static int submit_checked(call *k)
{
    static const char *const names[] = {"tx"};
    node_ctx *c = k->c;
    const json_t *v;
    const char *hex;
    size_t hexlen, max_bytes, n, npend;
    uint8_t *bytes = NULL;
    uint8_t txid[32];
    uint64_t bal, next, pend_fees;
    parex_error_info ei;
    parex_tx tx;
    node_mp_in in;
    char idhex[65];
    int rc, exists, ret = -1;

    k->rej = NODE_REJ_PARAMS;
    if (check_arity(k, 1, names) != 0) {
        return -1;
    }
    v = param(k, 0, "tx");
    if (!json_is_string(v)) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'tx' "
            "must be the hex string of a signed transaction");
    }
    str_of(k, v, &hex, &hexlen);
    if (hexlen >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
        hex += 2;
        hexlen -= 2;
    }
    /* The largest transaction the limits allow; anything longer is
     * rejected before it is decoded. */
    max_bytes = PAREX_TX_MIN_BYTES + (size_t)c->limits.max_args_bytes +
        2 * (size_t)c->limits.max_keys_per_set * 32;
    if (hexlen / 2 > max_bytes) {
        return refuse(k, NODE_RPC_TX_REJECTED, NODE_REJ_LIMIT, "tx",
            "transaction rejected: %zu bytes, over the %zu the limits "
            "allow", hexlen / 2, max_bytes);
    }
    bytes = node_malloc(hexlen / 2 + 1);
    if (hexlen == 0 || node_unhex(bytes, hex, hexlen) < 0) {
        fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'tx' is not hex "
            "(an even number of hex digits, 0x prefix optional)");
        goto out;
    }
    n = hexlen / 2;
    memset(&ei, 0, sizeof(ei));
    rc = parex_tx_decode(&tx, &ei, bytes, n, &c->limits);
    if (rc != PAREX_OK) {
        refuse(k, NODE_RPC_TX_REJECTED, rc == PAREX_E_LIMIT ?
            NODE_REJ_LIMIT : NODE_REJ_MALFORMED, ei.field,
            "transaction rejected: %s", ei.message);
        goto out;
    }
    if (tx.chain_id != c->chain_id) {
        refuse(k, NODE_RPC_TX_REJECTED, NODE_REJ_CHAIN_ID, "chain_id",
            "transaction rejected: chain id %u, this node's chain id is %u",
            tx.chain_id, c->chain_id);
        goto out;
    }
    if (parex_tx_verify(&tx) != PAREX_OK) {
        refuse(k, NODE_RPC_TX_REJECTED, NODE_REJ_SIGNATURE, "sig",
            "transaction rejected: the signature does not verify against "
            "the sender's public key");
        goto out;
    }
    if (parex_tx_id(txid, &tx) != PAREX_OK) {
        k->rej = NODE_REJ_INTERNAL;
        fail(k, NODE_RPC_INTERNAL, "internal error: tx id of a decoded tx");
        goto out;
    }
    node_hex(idhex, txid, 32);
    rc = read_account(c, &bal, &next, &exists, tx.sender);
    if (rc != PAREX_OK) {
        k->rej = NODE_REJ_INTERNAL;
        fail(k, NODE_RPC_INTERNAL, "internal error: reading the sender's "
            "account: %s", parex_strerror(rc));
        goto out;
    }
    if (tx.nonce < next) {
        refuse(k, NODE_RPC_NONCE, NODE_REJ_NONCE_USED, "nonce", "nonce %llu "
            "already used: the sender's next nonce is %llu",
            (unsigned long long)tx.nonce, (unsigned long long)next);
        goto out;
    }
    if (tx.nonce - next > c->max_nonce_gap) {
        refuse(k, NODE_RPC_NONCE, NODE_REJ_NONCE_GAP, "nonce", "nonce %llu "
            "is more than %llu (--max-nonce-gap) ahead of the sender's "
            "next nonce %llu", (unsigned long long)tx.nonce,
            (unsigned long long)c->max_nonce_gap, (unsigned long long)next);
        goto out;
    }
    memset(&in, 0, sizeof(in));
    in.txid = txid;
    in.sender = tx.sender;
    in.nonce = tx.nonce;
    in.fee = tx.fee;
    in.t_ns = node_now_ns();
    in.next_nonce = next;
    in.bytes = bytes;
    in.len = n;
    pthread_mutex_lock(&c->lock);
    /* The fee must be payable from the committed balance minus what the
     * sender's pending txs already commit (their fees): an account cannot
     * hold more pending txs than it can pay for. */
    pend_fees = node_mempool_sender_fees(c->mp, tx.sender);
    npend = node_mempool_sender_count(c->mp, tx.sender);
    if (tx.fee > bal || bal - tx.fee < pend_fees) {
        pthread_mutex_unlock(&c->lock);
        refuse(k, NODE_RPC_TX_REJECTED, NODE_REJ_BALANCE, "fee",
            "transaction rejected: fee %llu not payable: the sender's "
            "committed balance is %llu and its %zu pending txs commit %llu "
            "in fees", (unsigned long long)tx.fee, (unsigned long long)bal,
            npend, (unsigned long long)pend_fees);
        goto out;
    }
    rc = node_mempool_add(c->mp, &in, node_mempool_gone, c);
    if (rc == NODE_MP_OK && (c->wake_on_add ||
        node_mempool_size(c->mp) >= c->max_block_txs)) {
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
    if (rc == NODE_MP_DUP) {
        refuse(k, NODE_RPC_DUPLICATE, NODE_REJ_DUPLICATE, NULL,
            "transaction %s is already pending", idhex);
    } else if (rc == NODE_MP_NONCE_TAKEN) {
        refuse(k, NODE_RPC_DUPLICATE, NODE_REJ_DUPLICATE, "nonce",
            "another pending transaction of this sender has nonce %llu",
            (unsigned long long)tx.nonce);
    } else if (rc == NODE_MP_SENDER_FULL) {
        refuse(k, NODE_RPC_MEMPOOL_FULL, NODE_REJ_SENDER_LIMIT, NULL,
            "this sender has %zu pending transactions, the most one sender "
            "may have (--max-sender-txs): try again after the next block",
            npend);
    } else if (rc == NODE_MP_FULL) {
        refuse(k, NODE_RPC_MEMPOOL_FULL, NODE_REJ_MEMPOOL_FULL, "fee",
            "mempool is full and no pending tx of another sender pays less "
            "per byte than this one (fee %llu for %zu bytes): raise the fee "
            "or try again after the next block",
            (unsigned long long)tx.fee, n);
    } else {
        k->result = json_pack("{s:o}", "txid", node_json_data(txid, 32));
        ret = 0;
    }
out:
    free(bytes);
    return ret;
}

static int m_submit(call *k)
{
    int rc = submit_checked(k);

    count(k->c, rc == 0, k->rej);
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
    json_object_set_new(k->result, "pubkey", node_json_data(pub, 32));
    json_object_set_new(k->result, "key", node_json_data(key, 32));
    json_object_set_new(k->result, "exists", json_boolean(exists));
    json_object_set_new(k->result, "balance", node_json_quantity(bal));
    json_object_set_new(k->result, "nonce", node_json_quantity(nonce));
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
                node_json_data(key, 32));
            json_object_set_new(k->result, "value", rc == PAREX_OK ?
                node_json_data(val, len) : json_null());
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

    json_object_set_new(o, "txid", node_json_data(r->txid, 32));
    json_object_set_new(o, "status", json_string(node_status_name(r->status)));
    json_object_set_new(o, "code", json_integer(r->code));
    json_object_set_new(o, "fee", node_json_quantity(r->fee));
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

/* The height of the published block whose header hashes to hash: 1, or 0
 * when there is none. The index (hash -> height) is filled in height
 * order, up to the published head, on demand. */
static int height_of_hash(call *k, uint64_t *height, const uint8_t hash[32])
{
    node_ctx *c = k->c;
    uint64_t top, v;
    uint8_t hh[32];
    parex_header h;
    int found;

    if (parex_db_head(c->db, &h) != PAREX_OK) {
        return 0;
    }
    top = h.height;
    pthread_mutex_lock(&c->lock);
    while (c->hashed <= top &&
           parex_db_header(c->db, &h, c->hashed) == PAREX_OK) {
        parex_header_hash(hh, &h);
        node_keymap_put(&c->by_hash, hh, c->hashed);
        c->hashed++;
    }
    found = node_keymap_get(&c->by_hash, hash, &v) && v <= top;
    pthread_mutex_unlock(&c->lock);
    *height = v;
    return found;
}

static int block_at(call *k, uint64_t height, int given, int full);

static int m_get_block(call *k)
{
    static const char *const names[] = {"height", "full"};
    const json_t *fv, *hv;
    uint64_t height = 0;
    uint8_t hash[32];
    int given;

    if (check_arity(k, 2, names) != 0) {
        return -1;
    }
    fv = param(k, 1, "full");
    if (fv != NULL && !json_is_boolean(fv)) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'full' "
            "must be true or false");
    }
    /* A block hash (0x and 64 hex digits) or a height. */
    hv = param(k, 0, "height");
    if (json_is_string(hv) && json_string_length(hv) == 66) {
        if (hex32_of(k, hash, hv, "height") != 0) {
            return -1;
        }
        if (!height_of_hash(k, &height, hash)) {
            k->result = json_null();
            return 0;
        }
        return block_at(k, height, 1, fv != NULL && json_is_true(fv));
    }
    if (param_height(k, &height, &given, 0, "height") != 0) {
        return -1;
    }
    return block_at(k, height, given, fv != NULL && json_is_true(fv));
}

static int m_get_block_by_hash(call *k)
{
    static const char *const names[] = {"hash", "full"};
    const json_t *fv;
    uint64_t height;
    uint8_t hash[32];

    if (check_arity(k, 2, names) != 0 || param_hex32(k, hash, 0, "hash") != 0) {
        return -1;
    }
    fv = param(k, 1, "full");
    if (fv != NULL && !json_is_boolean(fv)) {
        return fail(k, NODE_RPC_INVALID_PARAMS, "invalid params: 'full' "
            "must be true or false");
    }
    if (!height_of_hash(k, &height, hash)) {
        k->result = json_null();   /* unknown: null, as for a receipt */
        return 0;
    }
    return block_at(k, height, 1, fv != NULL && json_is_true(fv));
}

static int block_at(call *k, uint64_t height, int given, int full)
{
    node_ctx *c = k->c;
    parex_read *rd;
    parex_header h, head;
    uint8_t hash[32];
    const uint8_t *block, *bal = NULL;
    size_t len = 0, n = 0, i, off, bal_len = 0;
    json_t *txs;
    int rc;

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
    /* The block access list the block is sealed with (docs/formats.md);
     * parex_block_peek checked the framing. */
    if (rc == PAREX_OK && parex_block_bal(&bal, &bal_len, NULL, block, len,
            &c->limits) != PAREX_OK) {
        parex_read_end(rd);
        return fail(k, NODE_RPC_INTERNAL, "internal error: block %llu: its "
            "block access list cannot be read", (unsigned long long)height);
    }
    /* The hex of the txs alone is twice their bytes: when even that does
     * not fit what is left of the response, answer so without building
     * it (a batch of these must not cost a block's JSON each). */
    if (full && len > PAREX_HEADER_BYTES + 4 + 4 * n &&
        2 * (len - PAREX_HEADER_BYTES - 4 - 4 * n) > k->room) {
        parex_read_end(rd);
        pthread_mutex_lock(&c->mlock);
        c->m.batch_truncated++;
        pthread_mutex_unlock(&c->mlock);
        return fail(k, NODE_RPC_TOO_LARGE, "response too large: block "
            "%llu with its txs takes over the %zu bytes left of the "
            "%zu-byte limit (--max-response); ask for it on its own or "
            "with full=false", (unsigned long long)height, k->room,
            c->max_response);
    }
    parex_header_hash(hash, &h);
    k->result = json_object();
    json_object_set_new(k->result, "height", node_json_quantity(h.height));
    json_object_set_new(k->result, "parent", node_json_data(h.parent, 32));
    json_object_set_new(k->result, "tx_root", node_json_data(h.tx_root, 32));
    json_object_set_new(k->result, "receipts_root",
        node_json_data(h.receipts_root, 32));
    json_object_set_new(k->result, "state_root",
        node_json_data(h.state_root, 32));
    json_object_set_new(k->result, "fee_recipient",
        node_json_data(h.fee_recipient, 32));
    json_object_set_new(k->result, "hash", node_json_data(hash, 32));
    json_object_set_new(k->result, "tx_count", json_integer((json_int_t)n));
    json_object_set_new(k->result, "bal", bal != NULL
        ? node_json_data(bal, bal_len) : json_null());
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
            json_array_append_new(txs, node_json_data(r.txid, 32));
            continue;
        }
        /* parex_block_peek checked the framing of every tx. */
        tl = (uint32_t)block[off] | (uint32_t)block[off + 1] << 8 |
            (uint32_t)block[off + 2] << 16 | (uint32_t)block[off + 3] << 24;
        o = receipt_json(&r);
        json_object_set_new(o, "raw", node_json_data(block + off + 4, tl));
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
    parex_receipt r;
    uint64_t height;
    uint32_t index;
    node_dropped d;
    int rc, found, pending = 0, dropped = 0;

    if (check_arity(k, 1, names) != 0 || param_hex32(k, txid, 0, "txid") != 0) {
        return -1;
    }
    found = find_receipt(k->c, &rc, txid, &r, &height, &index);
    if (found == 0) {
        pthread_mutex_lock(&k->c->lock);
        pending = node_mempool_contains(k->c->mp, txid);
        dropped = !pending && node_find_drop(k->c, txid, &d);
        pthread_mutex_unlock(&k->c->lock);
        if (pending) {
            k->result = json_pack("{s:o, s:s}", "txid",
                node_json_data(txid, 32), "status", "pending");
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
        json_object_set_new(k->result, "height", node_json_quantity(height));
        json_object_set_new(k->result, "index", json_integer(index));
        return 0;
    }
    if (dropped) {
        /* Not in any block and not pending any more: why. */
        k->result = json_pack("{s:o, s:s, s:s, s:s, s:o}", "txid",
            node_json_data(txid, 32), "status", "dropped", "reason",
            node_drop_name(d.reason), "message", d.msg,
            "dropped_at_height", node_json_quantity(d.at_height));
        return 0;
    }
    /* Unknown (never seen, or dropped long ago): null, as Ethereum and
     * Solana nodes answer. */
    k->result = json_null();
    return 0;
}

/* The encoding of tx index of a block's bytes (its header, ntx, then
 * u32le len || tx): pointer and length, or NULL past the end. */
static const uint8_t *tx_in_block(const uint8_t *block, size_t blen,
    uint32_t index, size_t *tl)
{
    size_t off = PAREX_HEADER_BYTES + 4;
    uint32_t i, l = 0;

    for (i = 0;; i++) {
        if (off + 4 > blen) {
            return NULL;
        }
        l = (uint32_t)block[off] | (uint32_t)block[off + 1] << 8 |
            (uint32_t)block[off + 2] << 16 | (uint32_t)block[off + 3] << 24;
        if (l > blen - off - 4) {
            return NULL;
        }
        if (i == index) {
            break;
        }
        off += 4 + (size_t)l;
    }
    *tl = l;
    return block + off + 4;
}

static int m_get_transaction(call *k)
{
    static const char *const names[] = {"txid"};
    node_ctx *c = k->c;
    uint8_t txid[32], *bytes = NULL, hash[32];
    const uint8_t *block;
    parex_receipt r;
    parex_header h;
    parex_read *rd;
    uint64_t height;
    uint32_t index;
    size_t len = 0, blen = 0, ntx;
    node_dropped d;
    const uint8_t *t;
    int rc, pending, dropped;

    if (check_arity(k, 1, names) != 0 || param_hex32(k, txid, 0, "txid") != 0) {
        return -1;
    }
    /* Receipt, block and tx bytes from one snapshot of the store. */
    rc = parex_read_begin(&rd, c->db);
    if (rc == PAREX_OK) {
        rc = parex_read_receipt(rd, &r, &height, &index, txid);
    }
    if (rc == PAREX_OK) {
        if (parex_read_block(rd, &block, &blen, height) != PAREX_OK ||
            parex_block_peek(&h, &ntx, NULL, block, blen, &c->limits) !=
                PAREX_OK ||
            (t = tx_in_block(block, blen, index, &len)) == NULL) {
            parex_read_end(rd);
            return fail(k, NODE_RPC_INTERNAL, "internal error: tx %u of "
                "block %llu cannot be read back", index,
                (unsigned long long)height);
        }
        parex_header_hash(hash, &h);
        k->result = receipt_json(&r);
        json_object_set_new(k->result, "height", node_json_quantity(height));
        json_object_set_new(k->result, "index", json_integer(index));
        json_object_set_new(k->result, "block_hash", node_json_data(hash,
            32));
        json_object_set_new(k->result, "raw", node_json_data(t, len));
        parex_read_end(rd);
        return 0;
    }
    parex_read_end(rd);
    if (rc != PAREX_E_NOTFOUND) {
        return fail(k, NODE_RPC_INTERNAL, "internal error: %s",
            parex_strerror(rc));
    }
    pthread_mutex_lock(&c->lock);
    pending = node_mempool_copy(c->mp, txid, &bytes, &len);
    dropped = !pending && node_find_drop(c, txid, &d);
    pthread_mutex_unlock(&c->lock);
    if (pending) {
        k->result = json_pack("{s:o, s:s, s:o}", "txid",
            node_json_data(txid, 32), "status", "pending", "raw",
            node_json_data(bytes, len));
        free(bytes);
        return 0;
    }
    if (dropped) {
        k->result = json_pack("{s:o, s:s, s:s, s:s}", "txid",
            node_json_data(txid, 32), "status", "dropped", "reason",
            node_drop_name(d.reason), "message", d.msg);
        return 0;
    }
    k->result = json_null();
    return 0;
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
    json_object_set_new(k->result, "height", node_json_quantity(h.height));
    json_object_set_new(k->result, "state_root",
        node_json_data(h.state_root, 32));
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
    json_object_set_new(k->result, "height", node_json_quantity(h.height));
    json_object_set_new(k->result, "head_hash", node_json_data(hash, 32));
    json_object_set_new(k->result, "state_root",
        node_json_data(h.state_root, 32));
    json_object_set_new(k->result, "mempool", json_pack("{s:I, s:I, s:I}",
        "txs", (json_int_t)mp_n, "bytes", (json_int_t)mp_bytes,
        "senders", (json_int_t)mp_senders));
    json_object_set_new(k->result, "blocks_produced",
        node_json_quantity(blocks));
    json_object_set_new(k->result, "txs_committed", node_json_quantity(txs));
    if (c->replica != NULL) {
        node_replica_status st;
        node_replica_status_get(c->replica, &st);
        json_object_set_new(k->result, "cluster", json_pack("{s:s, s:s, "
            "s:I, s:o, s:o, s:o, s:o, s:s?, s:s?, s:s}", "node", st.node,
            "role", node_role_name(st.role), "term", (json_int_t)st.term,
            "applied_height", node_json_quantity(st.applied),
            "log_height", node_json_quantity(st.log_head),
            "log_low", node_json_quantity(st.log_low),
            "lag", node_json_quantity(st.lag),
            "producer", st.producer[0] != '\0' ? st.producer : NULL,
            "producer_url", st.producer_url[0] != '\0' ? st.producer_url :
            NULL, "reason", st.why));
    }
    return 0;
}

typedef struct method {
    const char *name;
    int (*fn)(call *k);
    unsigned metric;   /* index of its /metrics label */
} method;

static const method methods[] = {
    {"submitTransaction", m_submit, 0},
    {"getAccount", m_get_account, 1},
    {"getValue", m_get_value, 2},
    {"getBlock", m_get_block, 3},
    {"getBlockByHash", m_get_block_by_hash, 4},
    {"getReceipt", m_get_receipt, 5},
    {"getTransaction", m_get_transaction, 6},
    {"getStateRoot", m_get_state_root, 7},
    {"status", m_status, 8},
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

/* --cluster, a submission on a node that does not produce: the
 * producer's response (its id to be replaced), or NULL with k->code set
 * (no producer known: the error carries its URL when the leader key has
 * one), or NULL with k->code 0 when this node produces (handle it here). */
static json_t *forward(node_ctx *c, call *k, const char *name)
{
    node_replica_status st;
    json_t *req, *resp;
    char *body, *text = NULL, err[NODE_ERR_LEN];
    int rc;

    /* The producer handles it here, with its lifted strings; a real
     * forward sends the request as it came. */
    node_replica_status_get(c->replica, &st);
    if (st.role == NODE_ROLE_PRODUCER) {
        return NULL;
    }
    if (unlift_params(k) != 0) {
        fail(k, NODE_RPC_INTERNAL, "internal error: out of memory");
        return NULL;
    }
    req = json_pack("{s:s, s:s, s:i}", "jsonrpc", "2.0", "method", name,
        "id", 1);
    if (k->params != NULL) {
        json_object_set(req, "params", (json_t *)k->params);
    }
    body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (body == NULL) {
        fail(k, NODE_RPC_INTERNAL, "internal error: out of memory");
        return NULL;
    }
    rc = node_replica_forward(c->replica, body, strlen(body), &text, err);
    free(body);
    if (rc == 1) {
        return NULL;
    }
    if (rc == 0) {
        resp = json_loads(text, 0, NULL);
        free(text);
        if (json_is_object(resp) && (json_object_get(resp, "result") !=
                NULL || json_object_get(resp, "error") != NULL)) {
            return resp;
        }
        json_decref(resp);
        snprintf(err, sizeof(err), "the producer's answer is not a "
            "JSON-RPC response");
    }
    node_replica_status_get(c->replica, &st);
    fail(k, NODE_RPC_NO_PRODUCER, "not submitted: %s", err);
    k->data = json_pack("{s:s, s:s?, s:s?}", "role",
        node_role_name(st.role), "producer", st.producer[0] != '\0' ?
        st.producer : NULL, "producer_url", st.producer_url[0] != '\0' ?
        st.producer_url : NULL);
    return NULL;
}

/* One request object: the response, or NULL for a notification. */
static json_t *handle_one(node_ctx *c, json_t *req, size_t room,
    const lift_tab *lift)
{
    const json_t *v, *mv;
    json_t *id;
    const char *name;
    const char *key;
    call k;
    size_t i;
    unsigned mi;
    uint64_t t0;

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
    k.lift = lift;
    k.room = room;
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
    t0 = node_now_ns();
    if (c->replica != NULL && i < sizeof(methods) / sizeof(methods[0]) &&
        methods[i].fn == m_submit) {
        json_t *fw = forward(c, &k, name);
        if (fw != NULL || k.code != 0) {
            pthread_mutex_lock(&c->mlock);
            c->m.rpc_calls[methods[i].metric]++;
            pthread_mutex_unlock(&c->mlock);
            if (id == NULL) {
                json_decref(fw);
                json_decref(k.data);
                return NULL;
            }
            if (fw != NULL) {
                json_object_set(fw, "id", id);
                return fw;
            }
            return error_obj(id, k.code, k.msg, k.data);
        }
    }
    if (i < sizeof(methods) / sizeof(methods[0]) &&
        methods[i].fn != m_submit && unlift_params(&k) != 0) {
        return error_obj(id, NODE_RPC_INTERNAL, "internal error: out of "
            "memory", NULL);
    }
    if (i == sizeof(methods) / sizeof(methods[0])) {
        k.code = NODE_RPC_NO_METHOD;
        snprintf(k.msg, sizeof(k.msg), "method '%.64s' not found (methods: "
            "submitTransaction, getAccount, getValue, getBlock, "
            "getBlockByHash, getReceipt, getTransaction, getStateRoot, "
            "status)", name);
        mi = NODE_METHODS;
    } else {
        methods[i].fn(&k);
        mi = methods[i].metric;
    }
    pthread_mutex_lock(&c->mlock);
    c->m.rpc_calls[mi]++;
    node_hist_add(&c->m.rpc_time[mi], (double)(node_now_ns() - t0) / 1e9);
    pthread_mutex_unlock(&c->mlock);
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

/* The text of v (consumed), or NULL when memory runs out. */
static char *dump_or_null(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT);

    json_decref(v);
    return s;
}

static char *dump(json_t *v)
{
    char *s = dump_or_null(v);

    if (s == NULL) {
        /* A small error instead of the response (never the process). */
        s = json_dumps(error_obj(NULL, NODE_RPC_INTERNAL, "internal error: "
            "out of memory writing the response", NULL), JSON_COMPACT);
        if (s == NULL) {
            node_die(NODE_EXIT_RUNTIME, "out of memory (JSON response)");
        }
    }
    return s;
}

char *node_rpc_error_text(int code, const char *msg)
{
    return dump(error_obj(NULL, code, msg, NULL));
}

/* The error entry that replaces a response over the limit. */
static char *too_large(node_ctx *c, json_t *resp, size_t have, int batch)
{
    char msg[200];
    json_t *id = json_incref(json_object_get(resp, "id"));
    char *s;

    json_decref(resp);
    snprintf(msg, sizeof(msg), "response too large: %s over the %zu-byte "
        "limit (--max-response)%s", batch ? "the batch's responses would be"
        : "the response is", c->max_response, batch ? "; send this request "
        "again on its own or in a smaller batch" : "");
    s = dump(error_obj(id, NODE_RPC_TOO_LARGE, msg, json_pack("{s:I}",
        "bytes_before", (json_int_t)have)));
    json_decref(id);
    pthread_mutex_lock(&c->mlock);
    c->m.batch_truncated++;
    pthread_mutex_unlock(&c->mlock);
    return s;
}

char *node_rpc_handle(node_ctx *c, const char *body, size_t len)
{
    json_error_t je;
    json_t *req, *resp;
    char msg[NODE_ERR_LEN], *one, *text = NULL;
    node_buf out = {0};
    lift_tab lt = {0};
    size_t i, n = 0, l, tlen = 0;
    int lifted_any;

    lifted_any = lift_body(body, len, &lt, &text, &tlen);
    if (lifted_any < 0) {
        free(lt.v);
        return node_rpc_error_text(NODE_RPC_INTERNAL, "internal error: out "
            "of memory reading the request");
    }
    req = NULL;
    if (lifted_any) {
        /* Every NUL-led string in it is a placeholder (lift_body). */
        req = json_loadb(text, tlen, JSON_REJECT_DUPLICATES |
            JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        free(text);
        if (req == NULL) {
            lt.n = 0;   /* the text as sent says where it is wrong */
        }
    }
    if (req == NULL) {
        req = json_loadb(body, len, JSON_REJECT_DUPLICATES |
            JSON_DECODE_ANY, &je);
    }
    if (req == NULL) {
        free(lt.v);
        snprintf(msg, sizeof(msg), "parse error: %s (line %d, column %d)",
            je.text, je.line, je.column);
        return node_rpc_error_text(NODE_RPC_PARSE, msg);
    }
    if (!json_is_array(req)) {
        resp = handle_one(c, req, c->max_response, &lt);
        json_decref(req);
        free(lt.v);
        if (resp == NULL) {
            return NULL;
        }
        one = dump(json_incref(resp));
        if (strlen(one) > c->max_response) {
            free(one);
            one = too_large(c, resp, 0, 0);
        } else {
            json_decref(resp);
        }
        return one;
    }
    if (json_array_size(req) == 0 || json_array_size(req) > MAX_BATCH) {
        json_decref(req);
        free(lt.v);
        snprintf(msg, sizeof(msg), "invalid request: a batch holds 1 to %d "
            "requests", MAX_BATCH);
        return node_rpc_error_text(NODE_RPC_INVALID_REQUEST, msg);
    }
    /* Each response is written out as soon as it is made, and one that
     * would take the batch over --max-response becomes an error entry:
     * a batch never holds more than the limit plus one response. */
    node_buf_put(&out, "[", 1);
    for (i = 0; i < json_array_size(req); i++) {
        resp = handle_one(c, json_array_get(req, i), out.len + 2 <
            c->max_response ? c->max_response - out.len - 2 : 0, &lt);
        if (resp == NULL) {
            continue;
        }
        one = dump_or_null(json_incref(resp));
        l = one != NULL ? strlen(one) : 0;
        if (one == NULL || out.len + l + 2 > c->max_response) {
            free(one);
            one = too_large(c, resp, out.len, 1);
            l = strlen(one);
        } else {
            json_decref(resp);
        }
        if (n++ > 0) {
            node_buf_put(&out, ",", 1);
        }
        node_buf_put(&out, one, l);
        free(one);
    }
    json_decref(req);
    free(lt.v);
    if (n == 0) {
        node_buf_release(&out);
        return NULL;
    }
    node_buf_put(&out, "]", 2);   /* with the NUL */
    return (char *)out.p;
}
