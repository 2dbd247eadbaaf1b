/* state/ private API: the LMDB store. Only state/ includes <lmdb.h>;
 * MDB_* codes are mapped to PAREX_E_* in one function (state/lmdb.c).
 *
 * Layout (format "parex-state-2"): one LMDB environment with seven named
 * databases:
 *   "state"    32-byte key -> value bytes
 *   "headers"  u64 big-endian height -> 168-byte encoded header
 *   "meta"     short ASCII names -> bytes ("format", "head", "lthash",
 *              "chain_id" u32le, "genesis" 32-byte genesis block hash)
 *   "receipts" 32-byte tx id -> u64le height || u32le index || receipt
 *   "blocks"   u64 big-endian height -> the encoded block, its header
 *              being the computed one (roots filled)
 *   "hashes"   32-byte block hash -> u64le height
 *   "blockrcpt" u64 big-endian height -> the block's receipts, 48 bytes
 *              each, in block order
 * A receipt is txid[32] || u32le status || u32le code || u64le fee.
 * "parex-state-1" (0.1: no blocks, hashes, blockrcpt, chain id or genesis)
 * is refused by name.
 *
 * The environment is opened with MDB_NOTLS so read snapshots are tied to
 * px__snap objects, not threads: every engine worker holds its own.
 *
 * One writer per store: a read-write open takes an exclusive flock(2) on
 * DIR/writer.lock (holding the owner's pid, for the error message) for the
 * store's lifetime; a second read-write open, from this process or another,
 * fails with PAREX_E_LOCKED. Read-only opens take no lock.
 */
#ifndef PX_STATE_INT_H
#define PX_STATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "parex/parex_common.h"
#include "internal/px_assert.h"

typedef enum px__dbi {
    PX_DB_STATE = 0,
    PX_DB_HEADERS = 1,
    PX_DB_META = 2,
    PX_DB_RECEIPTS = 3,
    PX_DB_BLOCKS = 4,
    PX_DB_HASHES = 5,
    PX_DB_BLOCK_RECEIPTS = 6,
    PX_DB_COUNT = 7
} px__dbi;

typedef struct px__store px__store;
typedef struct px__snap px__snap;
typedef struct px__wtxn px__wtxn;

/** Open the environment in directory dir (must exist).
 *  sync: 0 full, 1 meta (MDB_NOMETASYNC), 2 none (MDB_NOSYNC).
 *  map_size 0 means 16 GiB. Creates the databases and writes
 *  meta "format" = "parex-state-2" on a new store (unless read_only).
 *  no_create: a directory without data.mdb is PAREX_E_NOTFOUND and is
 *  left as it was.
 *  Returns PAREX_OK, PAREX_E_IO, PAREX_E_CORRUPT (foreign or damaged file,
 *  or a "format" other than ours, both named), PAREX_E_READONLY,
 *  PAREX_E_LOCKED (another writer holds DIR/writer.lock), PAREX_E_NOTFOUND
 *  (no_create), PAREX_E_STORAGE, PAREX_E_NOMEM; err (may be NULL) names
 *  dir. */
int px__store_open(px__store **out, parex_error_info *err, const char *dir,
    uint64_t map_size, int sync, int read_only, int no_create);
void px__store_close(px__store *s);
int px__store_read_only(const px__store *s);

/** Write a compacted copy of every database of s into the directory dir
 *  (which must exist and hold no data.mdb) as data.mdb, as of one read
 *  transaction (LMDB's mdb_env_copy2 with MDB_CP_COMPACT begins it
 *  itself): commits made meanwhile by the writer are neither blocked nor
 *  seen. The file is fsync'd before the call returns. Thread-safe; s may
 *  be read-only.
 *  Returns PAREX_OK, PAREX_E_EXISTS (dir/data.mdb exists, left as it
 *  was), PAREX_E_IO (dir missing or unwritable, disk full, fsync),
 *  PAREX_E_NOMEM, PAREX_E_CORRUPT, PAREX_E_STORAGE; err (may be NULL)
 *  names dir. On failure a partial dir/data.mdb is removed. */
int px__store_copy(px__store *s, parex_error_info *err, const char *dir);

/** Begin a read snapshot (MDB_RDONLY txn). Thread-safe; the snapshot
 *  itself is used by one thread at a time. */
int px__snap_begin(px__snap **out, px__store *s);
/** End and free (NULL: no-op). */
void px__snap_end(px__snap *sn);
/** Release the snapshot but keep its reader slot (mdb_txn_reset). */
void px__snap_reset(px__snap *sn);
/** Take a fresh snapshot on a reset px__snap (mdb_txn_renew). */
int px__snap_renew(px__snap *sn);

/** Point *val and *len at the stored value (valid until the snapshot is reset or
 *  ended). Returns PAREX_OK, PAREX_E_NOTFOUND, PAREX_E_STORAGE. */
int px__snap_get(px__snap *sn, px__dbi dbi, const uint8_t **val, size_t *len,
    const void *key, size_t key_len);

/** Visit pairs of dbi in key order; fn returning nonzero stops.
 *  Returns PAREX_OK (every pair visited), PAREX_STOPPED (fn returned a
 *  positive value), fn's own negative return value (the walk stopped with
 *  that error), or a store error. */
typedef int (*px__visit_fn)(const uint8_t *key, size_t key_len,
    const uint8_t *val, size_t len, void *user);
int px__snap_foreach(px__snap *sn, px__dbi dbi, px__visit_fn fn, void *user);
/** As px__snap_foreach over the keys k with lo <= k < hi (bytewise, as
 *  LMDB orders them); lo NULL: from the first key; hi NULL: to the last. */
int px__snap_range(px__snap *sn, px__dbi dbi, const void *lo, size_t lo_len,
    const void *hi, size_t hi_len, px__visit_fn fn, void *user);

/** Number of entries in dbi. */
int px__snap_count(px__snap *sn, px__dbi dbi, uint64_t *out);

/** Begin the single write transaction. Returns PAREX_OK, PAREX_E_READONLY,
 *  PAREX_E_STORAGE. */
int px__wtxn_begin(px__wtxn **out, px__store *s);
/** Returns PAREX_OK, PAREX_E_MAPFULL, PAREX_E_STORAGE. */
int px__wtxn_put(px__wtxn *w, px__dbi dbi, const void *key, size_t key_len,
    const void *val, size_t len);
/** Reserve len bytes for key's value and point *out at them, to be filled
 *  before the next write of the txn (MDB_RESERVE). Returns as put. */
int px__wtxn_reserve(px__wtxn *w, px__dbi dbi, uint8_t **out,
    const void *key, size_t key_len, size_t len);
/** Deleting an absent key is PAREX_OK. */
int px__wtxn_del(px__wtxn *w, px__dbi dbi, const void *key, size_t key_len);
/** Read inside the write transaction (sees its own writes). */
int px__wtxn_get(px__wtxn *w, px__dbi dbi, const uint8_t **val, size_t *len,
    const void *key, size_t key_len);
/** Commit and free. On failure nothing is committed and w is freed.
 *  Returns PAREX_OK, PAREX_E_MAPFULL, PAREX_E_STORAGE, PAREX_E_IO. */
int px__wtxn_commit(px__wtxn *w);
/** Abort and free (NULL: no-op). */
void px__wtxn_abort(px__wtxn *w);

#endif /* PX_STATE_INT_H */
