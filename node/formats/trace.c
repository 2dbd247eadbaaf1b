/* Real-chain traces (JSON Lines) and their import as a block. */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void node_trace_release(node_trace *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->txs[i].id);
        free(t->txs[i].r);
        free(t->txs[i].w);
    }
    free(t->txs);
    t->txs = NULL;
    t->n = 0;
}

/* Hash the array of key strings v into *out (SHA-256 of each UTF-8 key). */
static int keys_of(uint8_t **out, size_t *n, char *err, const char *file,
    size_t line, const char *name, const json_t *v)
{
    size_t i, cnt;
    uint8_t *p;

    if (v == NULL) {
        return node_err(err, "%s:%zu: field '%s' is missing", file, line,
            name);
    }
    if (!json_is_array(v)) {
        return node_err(err, "%s:%zu: field '%s' must be an array of "
            "strings", file, line, name);
    }
    cnt = json_array_size(v);
    p = node_malloc((cnt == 0 ? 1 : cnt) * PAREX_KEY_LEN);
    for (i = 0; i < cnt; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s)) {
            free(p);
            return node_err(err, "%s:%zu: field '%s' must be an array of "
                "strings (element %zu is not a string)", file, line, name, i);
        }
        parex_sha256(p + i * PAREX_KEY_LEN, json_string_value(s),
            json_string_length(s));
    }
    *out = p;
    *n = cnt;
    return 0;
}

static int parse_line(node_trace_tx *tx, char *err, const char *file,
    size_t line, size_t pos, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *v;
    json_int_t i;
    int rc = -1;

    memset(tx, 0, sizeof(*tx));
    if (o == NULL) {
        return node_err(err, "%s:%zu: invalid JSON at column %d: %s", file,
            line, jerr.column, jerr.text);
    }
    if (!json_is_object(o)) {
        node_err(err, "%s:%zu: a line must be a JSON object", file, line);
        goto out;
    }
    v = json_object_get(o, "i");
    if (v == NULL) {
        node_err(err, "%s:%zu: field 'i' is missing", file, line);
        goto out;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        node_err(err, "%s:%zu: field 'i' must be a non-negative integer",
            file, line);
        goto out;
    }
    i = json_integer_value(v);
    if ((uint64_t)i != (uint64_t)pos) {
        node_err(err, "%s:%zu: field 'i' is %lld but this is transaction "
            "%zu of the block (i must count 0, 1, 2, ... in line order)",
            file, line, (long long)i, pos);
        goto out;
    }
    v = json_object_get(o, "id");
    if (v != NULL && !json_is_string(v)) {
        node_err(err, "%s:%zu: field 'id' must be a string", file, line);
        goto out;
    }
    if (v != NULL) {
        tx->id = node_strdup(json_string_value(v));
    } else {
        char num[24];
        snprintf(num, sizeof(num), "%zu", pos);
        tx->id = node_strdup(num);
    }
    if (keys_of(&tx->r, &tx->nr, err, file, line, "r",
            json_object_get(o, "r")) != 0 ||
        keys_of(&tx->w, &tx->nw, err, file, line, "w",
            json_object_get(o, "w")) != 0) {
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        free(tx->id);
        free(tx->r);
        free(tx->w);
        memset(tx, 0, sizeof(*tx));
    }
    json_decref(o);
    return rc;
}

int node_trace_parse(node_trace *out, char *err, const char *file,
    const char *text, size_t len)
{
    size_t off = 0;
    size_t line = 0;
    size_t cap = 0;

    memset(out, 0, sizeof(*out));
    while (off < len) {
        const char *nl = memchr(text + off, '\n', len - off);
        size_t end = nl == NULL ? len : (size_t)(nl - text);
        size_t n = end - off;
        size_t k;
        int blank = 1;

        line++;
        for (k = 0; k < n; k++) {
            char c = text[off + k];
            if (c != ' ' && c != '\t' && c != '\r') {
                blank = 0;
                break;
            }
        }
        if (!blank) {
            if (out->n == cap) {
                cap = cap == 0 ? 256 : cap * 2;
                out->txs = node_realloc(out->txs, cap * sizeof(*out->txs));
            }
            if (parse_line(&out->txs[out->n], err, file, line, out->n,
                    text + off, n) != 0) {
                node_trace_release(out);
                return -1;
            }
            out->n++;
        }
        off = end + 1;
    }
    return 0;
}

int node_trace_load(node_trace *out, char *err, const char *file)
{
    char *text;
    size_t len;
    int rc;

    memset(out, 0, sizeof(*out));
    if (node_read_file(&text, &len, file) != 0) {
        return node_err(err, "%s: cannot read: %s", file,
            node_read_error(errno));
    }
    rc = node_trace_parse(out, err, file, text, len);
    free(text);
    return rc;
}

void node_trace_args(node_buf *out, const node_trace_tx *t)
{
    size_t idlen = strlen(t->id);

    node_buf_u32le(out, (uint32_t)idlen);
    node_buf_put(out, t->id, idlen);
    node_buf_u32le(out, (uint32_t)t->nr);
    node_buf_put(out, t->r, t->nr * PAREX_KEY_LEN);
    node_buf_u32le(out, (uint32_t)t->nw);
    node_buf_put(out, t->w, t->nw * PAREX_KEY_LEN);
}

void node_txs_free(node_txbytes *txs, size_t n)
{
    size_t i;

    if (txs == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(txs[i].p);
    }
    free(txs);
}

int node_trace_txs(node_txbytes **txs, char *err, const char *file,
    const node_trace *t, const node_declare *d, uint32_t chain_id)
{
    uint8_t *universe = NULL;
    size_t nu = 0;
    node_txbytes *out = node_calloc(t->n, sizeof(*out));
    size_t i;
    int rc = 0;

    if (d->kind == NODE_DECLARE_ADD) {
        size_t total = 0;
        for (i = 0; i < t->n; i++) {
            total += t->txs[i].nr + t->txs[i].nw;
        }
        universe = node_malloc((total + 1) * PAREX_KEY_LEN);
        for (i = 0; i < t->n; i++) {
            memcpy(universe + nu * PAREX_KEY_LEN, t->txs[i].r,
                t->txs[i].nr * PAREX_KEY_LEN);
            nu += t->txs[i].nr;
            memcpy(universe + nu * PAREX_KEY_LEN, t->txs[i].w,
                t->txs[i].nw * PAREX_KEY_LEN);
            nu += t->txs[i].nw;
        }
        nu = node_keys_sort_unique(universe, nu);
    }
    for (i = 0; i < t->n && rc == 0; i++) {
        const node_trace_tx *l = &t->txs[i];
        const uint8_t *sec, *pub;
        uint8_t account[32];
        uint8_t *rs, *ws;
        size_t nrs, nws;
        node_buf args = {0};
        parex_tx tx;
        char where[NODE_ERR_LEN / 2];

        node_trace_signer(&sec, &pub, i);
        parex_account_key(account, pub);
        node_declare_sets(&rs, &nrs, &ws, &nws, d, i, l->r, l->nr, l->w,
            l->nw, account, universe, nu);
        node_trace_args(&args, l);
        memset(&tx, 0, sizeof(tx));
        tx.chain_id = chain_id;
        memcpy(tx.sender, pub, 32);
        tx.program = PAREX_PROGRAM_TRACE;
        tx.args = args.p;
        tx.args_len = (uint32_t)args.len;
        tx.read_set = rs;
        tx.n_read = (uint32_t)nrs;
        tx.write_set = ws;
        tx.n_write = (uint32_t)nws;
        snprintf(where, sizeof(where), "%s: tx %zu", file, i);
        rc = parex_tx_sign(&tx, sec);
        if (rc != PAREX_OK) {
            rc = node_err(err, "%s: cannot sign: %s", where,
                parex_strerror(rc));
        } else {
            rc = node_tx_encode(&out[i], err, where, &tx);
        }
        node_buf_release(&args);
        free(rs);
        free(ws);
    }
    free(universe);
    if (rc != 0) {
        node_txs_free(out, t->n);
        return -1;
    }
    *txs = out;
    return 0;
}

void node_trace_header(parex_header *h, const parex_header *genesis)
{
    memset(h, 0, sizeof(*h));
    h->height = 1;
    parex_header_hash(h->parent, genesis);
    node_trace_fee_recipient(h->fee_recipient);
}

void node_trace_genesis_header(parex_header *out)
{
    uint8_t fee[32];
    int rc;

    node_trace_fee_recipient(fee);
    rc = parex_genesis_header(out, NULL, 0, fee);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "genesis header: %s", parex_strerror(rc));
    }
}
