/* parex_db: the public face of the state store — opening, genesis, reads,
 * iteration and from-scratch verification of the state root. Read
 * transactions (parex_read_*) are in read.c. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static const char META_HEAD[] = "head";
static const char META_LTHASH[] = "lthash";
static const char META_CHAIN[] = "chain_id";
static const char META_GENESIS[] = "genesis";

#define RECEIPT_BYTES 48


void px__header_key(uint8_t out[8], uint64_t height)
{
    int i;
    /* Big-endian so LMDB's byte order is height order. */
    for (i = 7; i >= 0; i--) {
        out[i] = (uint8_t)height;
        height >>= 8;
    }
}

int px__read_head(px__snap *sn, parex_header *out)
{
    const uint8_t *v;
    size_t len;
    uint8_t hk[8];
    int rc = px__snap_get(sn, PX_DB_META, &v, &len, META_HEAD,
        sizeof(META_HEAD) - 1);

    if (rc != PAREX_OK) {
        return rc;
    }
    if (len != 8) {
        return PAREX_E_CORRUPT;
    }
    px__header_key(hk, px__ld64(v));
    rc = px__snap_get(sn, PX_DB_HEADERS, &v, &len, hk, 8);
    if (rc == PAREX_E_NOTFOUND) {
        return PAREX_E_CORRUPT;
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    return parex_header_decode(out, v, len) == PAREX_OK ? PAREX_OK
                                                        : PAREX_E_CORRUPT;
}

int px__read_lthash(px__snap *sn, px__lthash *out)
{
    const uint8_t *v;
    size_t len;
    int rc = px__snap_get(sn, PX_DB_META, &v, &len, META_LTHASH,
        sizeof(META_LTHASH) - 1);

    if (rc == PAREX_E_NOTFOUND) {
        return PAREX_E_CORRUPT;
    }
    if (rc != PAREX_OK) {
        return rc;
    }
    if (len != 2 * PX_LTHASH_LANES) {
        return PAREX_E_CORRUPT;
    }
    px__lthash_load(out, v);
    return PAREX_OK;
}

int px__write_head(px__wtxn *w, const parex_header *h, const px__lthash *lt)
{
    uint8_t enc[PAREX_HEADER_BYTES], hk[8], hb[8];
    uint8_t lanes[2 * PX_LTHASH_LANES];
    int rc;

    parex_header_encode(enc, h);
    px__header_key(hk, h->height);
    px__st64(hb, h->height);
    px__lthash_store(lanes, lt);
    rc = px__wtxn_put(w, PX_DB_HEADERS, hk, 8, enc, sizeof(enc));
    if (rc == PAREX_OK) {
        rc = px__wtxn_put(w, PX_DB_META, META_HEAD, sizeof(META_HEAD) - 1,
            hb, 8);
    }
    if (rc == PAREX_OK) {
        rc = px__wtxn_put(w, PX_DB_META, META_LTHASH,
            sizeof(META_LTHASH) - 1, lanes, sizeof(lanes));
    }
    return rc;
}

/* The block record: the encoded block under its height, with the computed
 * header in place of the one it came with (whose roots may be zero, "not
 * claimed"), so that the stored block's header hashes to the block hash;
 * the hash -> height index; the receipts under their tx ids and, in block
 * order, under the height. */
int px__write_block(px__wtxn *w, const parex_header *h, const uint8_t *body,
    size_t body_len, const parex_receipt *receipts, size_t n)
{
    uint8_t hk[8], hash[32], hb[8], v[12 + RECEIPT_BYTES];
    uint8_t *p = NULL;
    size_t i;
    int rc;

    px__header_key(hk, h->height);
    parex_header_hash(hash, h);
    px__st64(hb, h->height);
    rc = px__wtxn_reserve(w, PX_DB_BLOCKS, &p, hk, 8,
        PAREX_HEADER_BYTES + body_len);
    if (rc == PAREX_OK) {
        parex_header_encode(p, h);
        if (body_len > 0) {
            memcpy(p + PAREX_HEADER_BYTES, body, body_len);
        }
        rc = px__wtxn_put(w, PX_DB_HASHES, hash, 32, hb, 8);
    }
    if (rc == PAREX_OK && n > 0) {
        rc = px__wtxn_reserve(w, PX_DB_BLOCK_RECEIPTS, &p, hk, 8,
            n * RECEIPT_BYTES);
        for (i = 0; i < n && rc == PAREX_OK; i++) {
            px__receipt_encode(p + RECEIPT_BYTES * i, &receipts[i]);
        }
    }
    for (i = 0; i < n && rc == PAREX_OK; i++) {
        px__st64(v, h->height);
        px__st32(v + 8, (uint32_t)i);
        px__receipt_encode(v + 12, &receipts[i]);
        rc = px__wtxn_put(w, PX_DB_RECEIPTS, receipts[i].txid, 32, v,
            sizeof(v));
    }
    return rc;
}

void px__pending_block_set(px__pending_block *pb, const uint8_t *block,
    size_t len)
{
    px__pending_block_release(pb);
    pb->body = len > PAREX_HEADER_BYTES ? block + PAREX_HEADER_BYTES : NULL;
    pb->len = len > PAREX_HEADER_BYTES ? len - PAREX_HEADER_BYTES : 0;
}

int px__pending_block_keep(px__pending_block *pb)
{
    uint8_t *c;

    if (pb->copy != NULL || pb->len == 0) {
        return PAREX_OK;
    }
    c = malloc(pb->len);
    if (c == NULL) {
        return PAREX_E_NOMEM;
    }
    memcpy(c, pb->body, pb->len);
    pb->copy = c;
    pb->body = c;
    return PAREX_OK;
}

void px__pending_block_release(px__pending_block *pb)
{
    free(pb->copy);
    pb->copy = NULL;
    pb->body = NULL;
    pb->len = 0;
}

int px__commit_block(px__wtxn *w, const parex_header *h,
    const px__pending_block *pb, const parex_receipt *receipts, size_t n)
{
    return px__write_block(w, h, pb->body, pb->len, receipts, n);
}

/* Meta "chain_id" and "genesis" of the store in sn: PAREX_OK with both
 * (chain id 0 when the genesis was written by parex_db_genesis(), which
 * records none), PAREX_E_NOTFOUND (no genesis yet), PAREX_E_CORRUPT. */
static int read_chain(px__snap *sn, uint32_t *chain_id, uint8_t genesis[32])
{
    const uint8_t *v;
    size_t len;
    int rc = px__snap_get(sn, PX_DB_META, &v, &len, META_GENESIS,
        sizeof(META_GENESIS) - 1);

    if (rc != PAREX_OK) {
        return rc;
    }
    if (len != 32) {
        return PAREX_E_CORRUPT;
    }
    memcpy(genesis, v, 32);
    rc = px__snap_get(sn, PX_DB_META, &v, &len, META_CHAIN,
        sizeof(META_CHAIN) - 1);
    if (rc != PAREX_OK) {
        return rc == PAREX_E_NOTFOUND ? PAREX_E_CORRUPT : rc;
    }
    if (len != 4) {
        return PAREX_E_CORRUPT;
    }
    *chain_id = px__ld32(v);
    return PAREX_OK;
}

static void hex32(char out[65], const uint8_t b[32])
{
    static const char d[] = "0123456789abcdef";
    int i;

    for (i = 0; i < 32; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[64] = '\0';
}

/* The store's chain against the opener's expectations (0 / all-zero: any). */
static int check_chain(px__store *st, parex_error_info *err, const char *dir,
    const parex_db_options *opt)
{
    static const uint8_t zero[32];
    px__snap *sn;
    uint32_t chain_id = 0;
    uint8_t genesis[32];
    int rc;

    if (opt->chain_id == 0 && memcmp(opt->genesis, zero, 32) == 0) {
        return PAREX_OK;
    }
    rc = px__snap_begin(&sn, st);
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", "state store %s: cannot read "
            "its chain: %s", dir, parex_strerror(rc));
    }
    rc = read_chain(sn, &chain_id, genesis);
    px__snap_end(sn);
    if (rc == PAREX_E_NOTFOUND) {
        return PAREX_OK; /* no genesis yet: nothing to compare */
    }
    if (rc != PAREX_OK) {
        return px__fail(err, rc, 0, -1, "", "state store %s: cannot read "
            "its chain: %s", dir, parex_strerror(rc));
    }
    if (opt->chain_id != 0 && chain_id != opt->chain_id) {
        return px__fail(err, PAREX_E_MISMATCH, 0, -1, "chain_id",
            "state store %s: chain id %u%s, expected %u", dir,
            (unsigned)chain_id, chain_id == 0 ? " (none recorded)" : "",
            (unsigned)opt->chain_id);
    }
    if (memcmp(opt->genesis, zero, 32) != 0 &&
        memcmp(genesis, opt->genesis, 32) != 0) {
        char a[65], b[65];

        hex32(a, genesis);
        hex32(b, opt->genesis);
        return px__fail(err, PAREX_E_MISMATCH, 0, -1, "genesis",
            "state store %s: genesis %.16s..., expected %.16s...", dir, a, b);
    }
    return PAREX_OK;
}

PAREX_API int parex_db_open(parex_db **out, parex_error_info *err,
    const char *dir, const parex_db_options *opt)
{
    parex_db_options o;
    parex_db *db;
    int rc;

    px__err_clear(err);
    if (out != NULL) {
        *out = NULL;
    }
    if (out == NULL || dir == NULL) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.sync = PAREX_SYNC_FULL;
    if (opt != NULL && px__sized_in(&o, sizeof(o), opt) != PAREX_OK) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "size", "parex_db_options"
            ".size is %zu; set it to sizeof(parex_db_options) "
            "(PAREX_DB_OPTIONS_INIT)", opt->size);
    }
    if ((unsigned)o.sync > PAREX_SYNC_NONE) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "sync",
            "unknown sync mode %d", (int)o.sync);
    }
    db = calloc(1, sizeof(*db));
    if (db == NULL) {
        return px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
    }
    rc = px__store_open(&db->store, err, dir, o.map_size, (int)o.sync,
        o.read_only, o.no_create);
    if (rc == PAREX_OK) {
        rc = check_chain(db->store, err, dir, &o);
        if (rc != PAREX_OK) {
            px__store_close(db->store);
        }
    }
    if (rc != PAREX_OK) {
        free(db);
        return rc;
    }
    *out = db;
    return PAREX_OK;
}

PAREX_API void parex_db_close(parex_db *db)
{
    if (db != NULL) {
        px__store_close(db->store);
        free(db);
    }
}

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
        rc = px__write_block(w, &h, no_txs, sizeof(no_txs), NULL, 0);
    }
    if (rc == PAREX_OK) {
        uint8_t hash[32], c[4];

        parex_header_hash(hash, &h);
        px__st32(c, record_chain ? chain_id : 0);
        rc = px__wtxn_put(w, PX_DB_META, META_GENESIS,
            sizeof(META_GENESIS) - 1, hash, 32);
        if (rc == PAREX_OK) {
            rc = px__wtxn_put(w, PX_DB_META, META_CHAIN,
                sizeof(META_CHAIN) - 1, c, 4);
        }
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

PAREX_API int parex_db_chain(const parex_db *db, uint32_t *chain_id,
    uint8_t genesis_hash[32])
{
    px__snap *sn;
    uint8_t g[32];
    uint32_t c = 0;
    int rc;

    if (db == NULL || chain_id == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_begin(&sn, db->store);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = read_chain(sn, &c, g);
    px__snap_end(sn);
    if (rc == PAREX_OK) {
        *chain_id = c;
        if (genesis_hash != NULL) {
            memcpy(genesis_hash, g, 32);
        }
    }
    return rc;
}

int px__db_chain_id(const parex_db *db, uint32_t *chain_id)
{
    int rc = parex_db_chain(db, chain_id, NULL);

    if (rc == PAREX_E_NOTFOUND) {
        *chain_id = 0;
        return PAREX_OK;
    }
    return rc;
}

PAREX_API int parex_db_head(const parex_db *db, parex_header *out)
{
    px__snap *sn;
    int rc;

    if (db == NULL || out == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_begin(&sn, db->store);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = px__read_head(sn, out);
    px__snap_end(sn);
    return rc;
}

PAREX_API int parex_db_header(const parex_db *db, parex_header *out,
    uint64_t height)
{
    px__snap *sn;
    const uint8_t *v;
    size_t len;
    uint8_t hk[8];
    int rc;

    if (db == NULL || out == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_begin(&sn, db->store);
    if (rc != PAREX_OK) {
        return rc;
    }
    px__header_key(hk, height);
    rc = px__snap_get(sn, PX_DB_HEADERS, &v, &len, hk, 8);
    if (rc == PAREX_OK && parex_header_decode(out, v, len) != PAREX_OK) {
        rc = PAREX_E_CORRUPT;
    }
    px__snap_end(sn);
    return rc;
}

PAREX_API int parex_db_get(const parex_db *db, uint8_t *val, size_t *len,
    const uint8_t key[32])
{
    px__snap *sn;
    const uint8_t *v;
    size_t l;
    int rc;

    if (db == NULL || len == NULL || key == NULL ||
        (val == NULL && *len > 0)) {
        return PAREX_E_MISUSE;
    }
    rc = px__snap_begin(&sn, db->store);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = px__snap_get(sn, PX_DB_STATE, &v, &l, key, 32);
    if (rc == PAREX_OK) {
        if (*len < l) {
            rc = PAREX_E_BUFFER;
        } else if (l > 0) {
            memcpy(val, v, l);
        }
        *len = l;
    }
    px__snap_end(sn);
    return rc;
}

/* One read transaction's walk (read.c), so both walks share one visitor. */
PAREX_API int parex_db_foreach(const parex_db *db, parex_kv_fn fn, void *user)
{
    parex_read *r;
    int rc;

    if (db == NULL || fn == NULL) {
        return PAREX_E_MISUSE;
    }
    rc = parex_read_begin(&r, db);
    if (rc != PAREX_OK) {
        return rc;
    }
    rc = parex_read_foreach(r, fn, user);
    parex_read_end(r);
    return rc; /* PAREX_STOPPED when fn stopped the walk */
}

static int verify_visit(const uint8_t *key, size_t key_len,
    const uint8_t *val, size_t len, void *user)
{
    px__lthash *lt = user;
    if (key_len == 32 && px__lthash_mix(lt, key, val, len, 1) != 0) {
        return PAREX_E_NOMEM; /* stops the walk; passed on */
    }
    return 0;
}

PAREX_API int parex_db_verify(const parex_db *db, uint8_t root[32])
{
    px__snap *sn;
    px__lthash *lt = NULL, *stored = NULL;
    parex_header head;
    uint8_t r1[32], r2[32];
    int rc;

    if (db == NULL) {
        return PAREX_E_MISUSE;
    }
    lt = malloc(sizeof(*lt));
    stored = malloc(sizeof(*stored));
    if (lt == NULL || stored == NULL) {
        free(lt);
        free(stored);
        return PAREX_E_NOMEM;
    }
    rc = px__snap_begin(&sn, db->store);
    if (rc != PAREX_OK) {
        goto out;
    }
    rc = px__read_head(sn, &head);
    if (rc == PAREX_OK) {
        rc = px__read_lthash(sn, stored);
    }
    if (rc == PAREX_OK) {
        px__lthash_zero(lt);
        rc = px__snap_foreach(sn, PX_DB_STATE, verify_visit, lt);
    }
    px__snap_end(sn);
    if (rc != PAREX_OK) {
        goto out;
    }
    px__lthash_root(r1, lt);
    px__lthash_root(r2, stored);
    if (root != NULL) {
        memcpy(root, r1, 32);
    }
    if (memcmp(r1, r2, 32) != 0 || memcmp(r1, head.state_root, 32) != 0) {
        rc = PAREX_E_CORRUPT;
    }
out:
    free(lt);
    free(stored);
    return rc;
}
