/* parex_db: the public face of the state store — opening (with the chain
 * check), the chain, head and header reads, values, iteration and
 * from-scratch verification of the state root. Genesis is genesis.c, the
 * store's records records.c, read transactions (parex_read_*) read.c. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

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
    rc = px__read_chain(sn, &chain_id, genesis);
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
    rc = px__read_chain(sn, &c, g);
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
