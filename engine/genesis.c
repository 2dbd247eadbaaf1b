/* Genesis: the first state of a store (parex_db_genesis,
 * parex_db_genesis_chain) and its header without a store
 * (parex_genesis_header). The pairs are sorted and checked, folded into
 * the LtHash lattice, and written with block 0 in one write transaction. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static int cmp_kv(const void *a, const void *b)
{
    return memcmp((*(const parex_kv *const *)a)->key,
        (*(const parex_kv *const *)b)->key, 32);
}

static void empty_root(uint8_t out[32], const char *tag)
{
    px__tagged_hash(out, tag, NULL, 0, NULL, 0);
}

/* Sorts the pairs, checks them and folds them into the lattice and the
 * genesis header; *sorted is malloc'd for the caller. */
static int genesis_prepare(const parex_kv ***sorted, px__lthash *lt,
    parex_header *h, const parex_kv *kvs, size_t n,
    const uint8_t fee_recipient[32])
{
    const parex_kv **v;
    parex_limits lim;
    size_t i;

    parex_limits_default(&lim);
    v = malloc((n > 0 ? n : 1) * sizeof(*v));
    if (v == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        if ((kvs[i].value == NULL && kvs[i].value_len > 0) ||
            kvs[i].value_len > lim.max_value_bytes) {
            free(v);
            return PAREX_E_INVALID;
        }
        v[i] = &kvs[i];
    }
    qsort(v, n, sizeof(*v), cmp_kv);
    for (i = 1; i < n; i++) {
        if (memcmp(v[i - 1]->key, v[i]->key, 32) == 0) {
            free(v);
            return PAREX_E_INVALID;
        }
    }
    px__lthash_zero(lt);
    for (i = 0; i < n; i++) {
        if (px__lthash_mix(lt, v[i]->key, v[i]->value, v[i]->value_len,
                1) != 0) {
            free(v);
            return PAREX_E_NOMEM;
        }
    }
    memset(h, 0, sizeof(*h));
    empty_root(h->tx_root, "parex/txroot");
    empty_root(h->receipts_root, "parex/receiptsroot");
    px__lthash_root(h->state_root, lt);
    memcpy(h->fee_recipient, fee_recipient, 32);
    *sorted = v;
    return PAREX_OK;
}

PAREX_API int parex_genesis_header(parex_header *header, const parex_kv *kvs,
    size_t n, const uint8_t fee_recipient[32])
{
    const parex_kv **sorted = NULL;
    px__lthash *lt;
    int rc;

    if (header == NULL || fee_recipient == NULL || (kvs == NULL && n > 0)) {
        return PAREX_E_MISUSE;
    }
    lt = malloc(sizeof(*lt));
    if (lt == NULL) {
        return PAREX_E_NOMEM;
    }
    rc = genesis_prepare(&sorted, lt, header, kvs, n, fee_recipient);
    free(sorted);
    free(lt);
    return rc;
}

static int genesis(parex_db *db, parex_header *header, uint32_t chain_id,
    int record_chain, const parex_kv *kvs, size_t n,
    const uint8_t fee_recipient[32])
{
    const parex_kv **sorted = NULL;
    px__snap *sn = NULL;
    px__wtxn *w = NULL;
    px__lthash lt;
    parex_header h;
    size_t i;
    int rc;

    if (db == NULL || fee_recipient == NULL || (kvs == NULL && n > 0)) {
        return PAREX_E_MISUSE;
    }
    rc = genesis_prepare(&sorted, &lt, &h, kvs, n, fee_recipient);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = px__snap_begin(&sn, db->store);
    if (rc != PAREX_OK) {
        goto out;
    }
    {
        parex_header head;
        uint64_t count = 0;
        rc = px__read_head(sn, &head);
        if (rc == PAREX_OK) {
            rc = PAREX_E_EXISTS;
            goto out;
        }
        if (rc != PAREX_E_NOTFOUND) {
            goto out;
        }
        rc = px__snap_count(sn, PX_DB_STATE, &count);
        if (rc != PAREX_OK) {
            goto out;
        }
        if (count > 0) {
            rc = PAREX_E_EXISTS;
            goto out;
        }
    }
    px__snap_end(sn);
    sn = NULL;

    rc = px__wtxn_begin(&w, db->store);
    if (rc != PAREX_OK) {
        goto out;
    }
    for (i = 0; i < n && rc == PAREX_OK; i++) {
        rc = px__wtxn_put(w, PX_DB_STATE, sorted[i]->key, 32,
            sorted[i]->value, sorted[i]->value_len);
    }
    if (rc == PAREX_OK) {
        rc = px__write_head(w, &h, &lt);
    }
    if (rc == PAREX_OK) {
        /* Block 0 is a block of no transactions. */
        static const uint8_t no_txs[4];
        rc = px__write_block(w, &h, no_txs, sizeof(no_txs), NULL, 0, NULL,
            0);
    }
    if (rc == PAREX_OK) {
        uint8_t hash[32];

        parex_header_hash(hash, &h);
        rc = px__write_chain(w, hash, record_chain ? chain_id : 0);
    }
    if (rc != PAREX_OK) {
        px__wtxn_abort(w);
        goto out;
    }
    rc = px__wtxn_commit(w);
    if (rc == PAREX_OK && header != NULL) {
        *header = h;
    }
out:
    px__snap_end(sn);
    free(sorted);
    return rc;
}

PAREX_API int parex_db_genesis(parex_db *db, parex_header *header,
    const parex_kv *kvs, size_t n, const uint8_t fee_recipient[32])
{
    return genesis(db, header, 0, 0, kvs, n, fee_recipient);
}

PAREX_API int parex_db_genesis_chain(parex_db *db, parex_header *header,
    uint32_t chain_id, const parex_kv *kvs, size_t n,
    const uint8_t fee_recipient[32])
{
    if (chain_id == 0) {
        return PAREX_E_INVALID;
    }
    return genesis(db, header, chain_id, 1, kvs, n, fee_recipient);
}
