#include "txb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine_int.h"

void txb_keys(uint8_t sec[32], uint8_t pub[32], const char *name)
{
    assert_int_equal(parex_key_from_seed(sec, pub, (const uint8_t *)name,
                         strlen(name)), PAREX_OK);
}

void txb_named_key(uint8_t out[32], const char *name)
{
    parex_sha256(out, name, strlen(name));
}

void txb_sign(parex_tx *tx, const uint8_t sec[32])
{
    assert_int_equal(parex_tx_sign(tx, sec), PAREX_OK);
}

uint8_t *txb_block(size_t *len, const parex_header *parent,
    const parex_tx *txs, size_t n)
{
    parex_header h;
    uint8_t *out;

    memset(&h, 0, sizeof(h));
    h.height = parent->height + 1;
    parex_header_hash(h.parent, parent);
    memcpy(h.fee_recipient, parent->fee_recipient, 32);
    *len = 0;
    assert_int_equal(parex_block_encode(NULL, len, &h, txs, n),
        PAREX_E_BUFFER);
    out = malloc(*len);
    assert_non_null(out);
    assert_int_equal(parex_block_encode(out, len, &h, txs, n), PAREX_OK);
    return out;
}

void txb_fill_args(uint8_t out[12], uint32_t count, uint32_t size,
    uint32_t salt)
{
    px__st32(out, count);
    px__st32(out + 4, size);
    px__st32(out + 8, salt);
}

static int prog_fill(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint32_t count, size, salt, i, j;
    uint8_t in[12], key[32], *val;
    int rc = PAREX_OK;

    (void)user;
    if (tx->args_len != 12) {
        return 9;
    }
    count = px__ld32(tx->args);
    size = px__ld32(tx->args + 4);
    salt = px__ld32(tx->args + 8);
    val = malloc(size > 0 ? size : 1);
    if (val == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < count && rc == PAREX_OK; i++) {
        memcpy(in, "fill", 4);
        px__st32(in + 4, salt);
        px__st32(in + 8, i);
        parex_sha256(key, in, sizeof(in));
        for (j = 0; j < size; j++) {
            val[j] = (uint8_t)(salt + i + j);
        }
        rc = parex_ctx_put(ctx, key, val, size);
    }
    free(val);
    return rc;
}

int txb_register(parex_engine *e)
{
    return parex_engine_register(e, TXB_PROGRAM_FILL, prog_fill, NULL);
}

typedef struct digest {
    uint8_t *buf;
    size_t len, cap;
} digest;

static int digest_kv(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    digest *d = user;
    size_t need = d->len + 40 + len;
    uint8_t l8[8];
    size_t i;

    if (need > d->cap) {
        d->cap = need * 2;
        d->buf = realloc(d->buf, d->cap);
        assert_non_null(d->buf);
    }
    for (i = 0; i < 8; i++) {
        l8[i] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memcpy(d->buf + d->len, key, 32);
    memcpy(d->buf + d->len + 32, l8, 8);
    if (len > 0) {
        memcpy(d->buf + d->len + 40, val, len);
    }
    d->len = need;
    return 0;
}

void txb_state_digest(uint8_t out[32], const parex_db *db)
{
    digest d = { NULL, 0, 0 };

    assert_int_equal(parex_db_foreach(db, digest_kv, &d), PAREX_OK);
    parex_sha256(out, d.buf, d.len);
    free(d.buf);
}
