/* The store's own records, the one place that knows their keys and
 * layouts (docs/formats.md): the head header and the LtHash lanes in meta,
 * the block record a commit writes (block, hash index, receipts by tx id
 * and by height), the pending block's bytes, and the store's chain (chain
 * id, genesis hash). The public parex_db_* face is engine/db.c. */
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

/* Receipts by tx id go in in tx-id order from this many txs on: the
 * store's write cursor then finds most inserts on the leaf it is on
 * instead of descending from the root for each random id (state/lmdb.c),
 * which pays for the sort. A failed allocation only keeps block order. */
#define RECEIPTS_SORT_MIN 64

/* By tx id; equal ids (a tx repeated in a block) keep block order, so
 * that the later receipt is the one stored, as in block order. */
static int cmp_txid(const void *a, const void *b)
{
    const parex_receipt *x = *(const parex_receipt *const *)a;
    const parex_receipt *y = *(const parex_receipt *const *)b;
    int c = memcmp(x->txid, y->txid, 32);

    return c != 0 ? c : (x > y) - (x < y);
}

/* The receipts of the block at height: under their tx ids and, in block
 * order, under the height. Written before the block record, so that a
 * commit can put them while the block's BAL is still being recorded and
 * hashed (engine/stages/commit.c); the store's content does not depend
 * on the order. */
int px__write_receipts(px__wtxn *w, uint64_t height,
    const parex_receipt *receipts, size_t n)
{
    uint8_t hk[8], v[12 + RECEIPT_BYTES];
    const parex_receipt **ord = NULL;
    uint8_t *p = NULL;
    size_t i;
    int rc = PAREX_OK;

    if (n == 0) {
        return PAREX_OK;
    }
    px__header_key(hk, height);
    rc = px__wtxn_reserve(w, PX_DB_BLOCK_RECEIPTS, &p, hk, 8,
        n * RECEIPT_BYTES);
    for (i = 0; i < n && rc == PAREX_OK; i++) {
        px__receipt_encode(p + RECEIPT_BYTES * i, &receipts[i]);
    }
    if (rc == PAREX_OK && n >= RECEIPTS_SORT_MIN &&
        (ord = malloc(n * sizeof(*ord))) != NULL) {
        for (i = 0; i < n; i++) {
            ord[i] = &receipts[i];
        }
        qsort(ord, n, sizeof(*ord), cmp_txid);
    }
    for (i = 0; i < n && rc == PAREX_OK; i++) {
        const parex_receipt *r = ord != NULL ? ord[i] : &receipts[i];
        px__st64(v, height);
        px__st32(v + 8, (uint32_t)(r - receipts));
        px__receipt_encode(v + 12, r);
        rc = px__wtxn_put(w, PX_DB_RECEIPTS, r->txid, 32, v, sizeof(v));
    }
    free(ord);
    return rc;
}

/* The block record: the encoded block under its height, with the computed
 * header in place of the one it came with (whose roots may be zero, "not
 * claimed"), so that the stored block's header hashes to the block hash;
 * the hash -> height index. */
int px__write_block_record(px__wtxn *w, const parex_header *h,
    const uint8_t *body, size_t body_len, const uint8_t *bal, size_t bal_len)
{
    uint8_t hk[8], hash[32], hb[8];
    uint8_t *p = NULL;
    int rc;

    px__header_key(hk, h->height);
    parex_header_hash(hash, h);
    px__st64(hb, h->height);
    rc = px__wtxn_reserve(w, PX_DB_BLOCKS, &p, hk, 8,
        PAREX_HEADER_BYTES + body_len +
        (bal != NULL ? PX__BAL_TRAILER_BYTES + bal_len : 0));
    if (rc == PAREX_OK) {
        parex_header_encode(p, h);
        if (body_len > 0) {
            memcpy(p + PAREX_HEADER_BYTES, body, body_len);
        }
        /* The BAL trailer written straight into the record
         * (parex_block_attach_bal()'s framing): no sealed copy first. */
        if (bal != NULL) {
            px__bal_trailer_write(p + PAREX_HEADER_BYTES + body_len, bal,
                bal_len);
        }
        rc = px__wtxn_put(w, PX_DB_HASHES, hash, 32, hb, 8);
    }
    return rc;
}

int px__write_block(px__wtxn *w, const parex_header *h, const uint8_t *body,
    size_t body_len, const uint8_t *bal, size_t bal_len,
    const parex_receipt *receipts, size_t n)
{
    int rc = px__write_receipts(w, h->height, receipts, n);

    return rc == PAREX_OK
        ? px__write_block_record(w, h, body, body_len, bal, bal_len)
        : rc;
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

/* Meta "chain_id" and "genesis" of the store in sn: PAREX_OK with both
 * (chain id 0 when the genesis was written by parex_db_genesis(), which
 * records none), PAREX_E_NOTFOUND (no genesis yet), PAREX_E_CORRUPT. */
int px__read_chain(px__snap *sn, uint32_t *chain_id, uint8_t genesis[32])
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

int px__write_chain(px__wtxn *w, const uint8_t genesis[32], uint32_t chain_id)
{
    uint8_t c[4];
    int rc = px__wtxn_put(w, PX_DB_META, META_GENESIS,
        sizeof(META_GENESIS) - 1, genesis, 32);

    if (rc == PAREX_OK) {
        px__st32(c, chain_id);
        rc = px__wtxn_put(w, PX_DB_META, META_CHAIN, sizeof(META_CHAIN) - 1,
            c, 4);
    }
    return rc;
}
