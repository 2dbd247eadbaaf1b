/* parex — the state store (parex_db), the engine (parex_engine), programs
 * and block execution.
 *
 * Invariants:
 *  - Executing a block gives byte-identical state, receipts and roots to
 *    executing its transactions one by one in block order, for every
 *    thread count and whatever the transactions declare.
 *  - A rejected block, or any error, leaves the stored state untouched.
 *  - A committed block is written in one LMDB write transaction: after a
 *    crash the store holds the whole block or none of it.
 */
#ifndef PAREX_ENGINE_H
#define PAREX_ENGINE_H

#include "parex_common.h"
#include "parex_tx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct parex_db parex_db;
typedef struct parex_engine parex_engine;
typedef struct parex_ctx parex_ctx;
typedef struct parex_prepared parex_prepared;

/** Receipt of one transaction. */
typedef struct parex_receipt {
    uint8_t txid[PAREX_KEY_LEN];
    uint32_t status;     /**< PAREX_TX_SUCCESS, _FAILED, _UNKNOWN_PROGRAM,
                              _BUDGET */
    int32_t code;        /**< the program's failure code when FAILED */
    uint64_t fee;        /**< fee charged */
} parex_receipt;

#define PAREX_TX_SUCCESS 0
#define PAREX_TX_FAILED 1
#define PAREX_TX_UNKNOWN_PROGRAM 2
/** The program made more than max_tx_calls ctx calls: stopped, its writes
 *  discarded, the fee charged (as FAILED). Since: 0.2.0 */
#define PAREX_TX_BUDGET 3

/** LMDB durability (LMDB's MDB_NOMETASYNC / MDB_NOSYNC flags). */
typedef enum parex_sync {
    PAREX_SYNC_FULL = 0,  /**< fsync data and meta page at every commit */
    PAREX_SYNC_META = 1,  /**< MDB_NOMETASYNC: a crash may lose the last block,
                               never consistency */
    PAREX_SYNC_NONE = 2   /**< MDB_NOSYNC: the OS flushes; a system crash may
                               lose recent blocks; a process crash loses none */
} parex_sync;

/** Options of parex_db_open(). A sized struct (parex_common.h): set size
 *  to sizeof(parex_db_options), e.g. with PAREX_DB_OPTIONS_INIT; every
 *  other field's zero is its default. */
typedef struct parex_db_options {
    size_t size;          /**< sizeof(parex_db_options) as compiled by the
                               caller. Since: 0.2.0 */
    uint64_t map_size;    /**< LMDB map size in bytes; 0 = 16 GiB */
    parex_sync sync;      /**< durability per commit */
    int read_only;        /**< nonzero: open read-only (MDB_RDONLY) */
    uint32_t chain_id;    /**< nonzero: the store must record this chain id
                               (parex_db_genesis_chain()). Since: 0.2.0 */
    uint8_t genesis[PAREX_KEY_LEN]; /**< not all zero: the store's genesis
                               block hash must be this. Since: 0.2.0 */
    int no_create;        /**< nonzero: a directory without a store is
                               PAREX_E_NOTFOUND, never a new store.
                               Since: 0.2.0 */
} parex_db_options;

#define PAREX_DB_OPTIONS_INIT PAREX_SIZED_INIT(parex_db_options)

/** Open (creating if needed, unless read-only or no_create) a state
 *  directory.
 *
 *  The directory must exist. A new store is empty: height is undefined
 *  until parex_db_genesis_chain() writes block 0. A store describes itself:
 *  its format ("parex-state-2"), and from genesis on its chain id and
 *  genesis block hash, which the opener may require (opt->chain_id,
 *  opt->genesis).
 *
 *  One writer per store: a read-write open holds an exclusive lock on
 *  DIR/writer.lock (flock(2)) until parex_db_close(); while it is held, a
 *  second read-write open — from this process or another, e.g. a second
 *  `parex node` — fails with PAREX_E_LOCKED. Read-only opens take no lock
 *  and may run beside the writer. The lock dies with its process.
 *
 *  Returns: PAREX_OK; PAREX_E_IO (missing directory, permissions: LMDB
 *           needs write access to lock.mdb even to read);
 *           PAREX_E_CORRUPT (not a parex store, a store of another format
 *           — the message names both formats — or damaged: meta pages
 *           invalid, data.mdb shorter than its last committed page);
 *           PAREX_E_MISMATCH (the store's chain id or genesis hash is not
 *           the one required; the message names both);
 *           PAREX_E_LOCKED (another writer holds the store; the message
 *           names its pid); PAREX_E_NOTFOUND (no store, and no_create);
 *           PAREX_E_MISUSE (opt->size not a size this library accepts,
 *           unknown sync mode);
 *           nothing in the directory is changed by a failed open;
 *           PAREX_E_STORAGE (other LMDB failure); PAREX_E_NOMEM.
 *  Out:     out: the handle, NULL on failure; close with parex_db_close().
 *           err: may be NULL; message names the path on failure.
 *  In:      dir: NUL-terminated path; opt: NULL for defaults.
 *  Thread-safety: the handle may be used from many threads; reads
 *           (parex_read_begin() and friends) may run concurrently with an
 *           engine's execution and commit.
 *  Since: 0.1.0 (no_create, chain_id, genesis, the lock: 0.2.0)
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_open(parex_db **out,
    parex_error_info *err, const char *dir, const parex_db_options *opt)
    PAREX_ARG_NONNULL(1, 3);

/** Close the store. NULL is a no-op. No engine may still use it. */
PAREX_API void parex_db_close(parex_db *db);

/** One key/value pair of state. */
typedef struct parex_kv {
    uint8_t key[PAREX_KEY_LEN];
    const uint8_t *value;  /**< value_len bytes; NULL iff value_len is 0 */
    size_t value_len;
} parex_kv;

/** Write the genesis state and block 0 into an empty store, and record
 *  the chain: chain_id and the genesis block's hash, which every later
 *  open can require (parex_db_options) and parex_db_chain() reports.
 *  The header is the one parex_genesis_header() computes; block 0 is
 *  stored as a block of no transactions.
 *
 *  Returns: PAREX_OK; PAREX_E_EXISTS (store not empty, nothing written);
 *           PAREX_E_INVALID (chain_id 0, duplicate key, value over
 *           limits); PAREX_E_READONLY;
 *           PAREX_E_MAPFULL, PAREX_E_STORAGE, PAREX_E_NOMEM (allocation,
 *           also inside OpenSSL) (nothing written).
 *  Args:    db: a read-write store; not concurrently with an engine's
 *           execute on it.
 *  Out:     header: may be NULL; the genesis header (state root set).
 *  In:      chain_id: nonzero; engines on this store must use it.
 *           kvs: n pairs in any order (NULL iff n is 0);
 *           fee_recipient: recorded in the genesis header.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_genesis_chain(parex_db *db,
    parex_header *header, uint32_t chain_id, const parex_kv *kvs, size_t n,
    const uint8_t fee_recipient[32]) PAREX_ARG_NONNULL(1, 6);

/** As parex_db_genesis_chain() but recording no chain id (the 0.1 call):
 *  the store then accepts engines of any chain id and parex_db_chain()
 *  reports 0. Prefer parex_db_genesis_chain().
 *  Returns as parex_db_genesis_chain() (never PAREX_E_INVALID for the
 *  chain id). Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_genesis(parex_db *db,
    parex_header *header, const parex_kv *kvs, size_t n,
    const uint8_t fee_recipient[32]) PAREX_ARG_NONNULL(1, 5);

/** The chain the store records.
 *
 *  Returns: PAREX_OK; PAREX_E_NOTFOUND (no genesis yet);
 *           PAREX_E_CORRUPT (meta damaged); PAREX_E_STORAGE.
 *  Out:     chain_id: the recorded chain id, 0 if the genesis was written
 *           by parex_db_genesis(); genesis_hash: may be NULL; the hash of
 *           block 0 (parex_header_hash()).
 *  Thread-safe (a read transaction of its own). Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_chain(const parex_db *db,
    uint32_t *chain_id, uint8_t genesis_hash[32]) PAREX_ARG_NONNULL(1, 2);

/** Compute the genesis header parex_db_genesis() would write for these
 *  pairs, without a store: height 0, zero parent, tx_root and
 *  receipts_root the tagged hashes "parex/txroot" and "parex/receiptsroot"
 *  of the empty string, state_root the LtHash root of the pairs.
 *
 *  Returns: PAREX_OK; PAREX_E_INVALID (duplicate key, value over
 *           parex_limits_default().max_value_bytes); PAREX_E_NOMEM.
 *  Out:     header: the genesis header.
 *  In:      kvs: n pairs in any order (NULL iff n is 0); fee_recipient.
 *  Thread-safe. Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_genesis_header(
    parex_header *header, const parex_kv *kvs, size_t n,
    const uint8_t fee_recipient[32]) PAREX_ARG_NONNULL(1, 4);

/** Height and header of the last committed block (a read transaction of
 *  its own: to read it with values at one height use parex_read_begin()).
 *  Returns PAREX_OK, PAREX_E_NOTFOUND (no genesis yet), PAREX_E_STORAGE.
 *  Thread-safe. Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_head(const parex_db *db,
    parex_header *out) PAREX_ARG_NONNULL(1, 2);

/** Header of the committed block at height (a read transaction of its
 *  own). Returns PAREX_OK, PAREX_E_NOTFOUND, PAREX_E_STORAGE. Thread-safe.
 *  Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_header(const parex_db *db,
    parex_header *out, uint64_t height) PAREX_ARG_NONNULL(1, 2);

/** Read the committed value of key, copied (a read transaction of its
 *  own; parex_read_get() borrows instead and reads at one height).
 *
 *  Returns: PAREX_OK (value copied, *len its length); PAREX_E_NOTFOUND;
 *           PAREX_E_BUFFER (*len set to the length needed, nothing copied);
 *           PAREX_E_STORAGE.
 *  Out:     val: caller buffer of *len bytes (may be NULL when *len is 0).
 *  In/Out:  len: capacity in, value length out.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_get(const parex_db *db,
    uint8_t *val, size_t *len, const uint8_t key[32]) PAREX_ARG_NONNULL(1, 3, 4);

/** Callback of the state walks (parex_db_foreach(), parex_read_foreach(),
 *  parex_read_prefix(), parex_read_range()): return 0 to go on, a positive
 *  value to stop (the walk returns PAREX_STOPPED), or a negative PAREX_E_*
 *  code to stop with that error (the walk returns it). val is NULL iff
 *  len is 0. The pointers are valid only during the call (parex_db_foreach)
 *  or until the read transaction ends (the parex_read_ walks). */
typedef int (*parex_kv_fn)(const uint8_t key[32], const uint8_t *val,
    size_t len, void *user);

/** Visit every committed pair in increasing key order, in one snapshot
 *  (a read transaction of its own).
 *
 *  Returns: PAREX_OK (every pair visited); PAREX_STOPPED (fn returned a
 *           positive value; before 0.2.0 this was PAREX_OK); fn's negative
 *           return value; PAREX_E_STORAGE.
 *  Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_foreach(const parex_db *db,
    parex_kv_fn fn, void *user) PAREX_ARG_NONNULL(1, 2);

/* ---- read transactions --------------------------------------------------- */

/** A read transaction: one consistent snapshot of the store (an LMDB
 *  read-only transaction, MDB_RDONLY). Every read through it — head,
 *  headers, values, blocks, receipts, walks — sees the store as of one
 *  committed block, whatever commits meanwhile.
 *
 *  Borrowed data: pointers a parex_read_ call returns (values, blocks)
 *  point into LMDB's read-only memory map and are valid until
 *  parex_read_end() or parex_read_renew() on that transaction; never write
 *  through them or free them (LMDB's MDB_val contract).
 *
 *  Threads: any number of read transactions, from any threads, may run at
 *  once and beside an engine's execution and commit; they never block the
 *  writer nor wait for it. One transaction is used by one thread at a
 *  time (it may move between threads: the store uses MDB_NOTLS).
 *
 *  Cost: an open transaction pins the pages of its snapshot, so the store
 *  file grows while one stays open across many commits: end or renew it
 *  when done. Each takes one of 1024 reader slots per store (shared with
 *  the engine's workers, one per thread).
 */
typedef struct parex_read parex_read;

/** Begin a read transaction on the newest committed block.
 *
 *  Returns: PAREX_OK; PAREX_E_NOMEM; PAREX_E_STORAGE (e.g. every reader
 *           slot taken); PAREX_E_MISUSE (NULL argument).
 *  Out:     out: the transaction, NULL on failure; end with
 *                parex_read_end().
 *  In:      db: borrowed; must outlive the transaction.
 *  Thread-safe. Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_begin(parex_read **out,
    const parex_db *db) PAREX_ARG_NONNULL(1, 2);

/** End a read transaction; every pointer it returned dies. NULL is a
 *  no-op. Since: 0.2.0 */
PAREX_API void parex_read_end(parex_read *r);

/** Move the transaction to the newest committed block, cheaper than
 *  end + begin (mdb_txn_reset + mdb_txn_renew); pointers it returned die.
 *  Returns PAREX_OK, PAREX_E_STORAGE, PAREX_E_MISUSE. Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_renew(parex_read *r)
    PAREX_ARG_NONNULL(1);

/** Header of the snapshot's head block.
 *  Returns PAREX_OK, PAREX_E_NOTFOUND (no genesis), PAREX_E_CORRUPT,
 *  PAREX_E_STORAGE, PAREX_E_MISUSE. Out: out: copied. Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_head(parex_read *r,
    parex_header *out) PAREX_ARG_NONNULL(1, 2);

/** Header of the block at height; its state_root is the state root after
 *  that block (the state roots by height).
 *  Returns PAREX_OK, PAREX_E_NOTFOUND (no such block in the snapshot),
 *  PAREX_E_CORRUPT, PAREX_E_STORAGE, PAREX_E_MISUSE. Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_header(parex_read *r,
    parex_header *out, uint64_t height) PAREX_ARG_NONNULL(1, 2);

/** Value of key in the snapshot (the state after its head block).
 *
 *  Returns: PAREX_OK; PAREX_E_NOTFOUND (absent); PAREX_E_STORAGE;
 *           PAREX_E_MISUSE.
 *  Out:     val: borrowed, *len bytes, valid until the transaction ends or
 *                is renewed; NULL iff *len is 0 (a present, empty value)
 *                or on error.
 *           len: the value's length; 0 on error.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_get(parex_read *r,
    const uint8_t **val, size_t *len, const uint8_t key[32])
    PAREX_ARG_NONNULL(1, 2, 3, 4);

/** The encoded block at height (docs/formats.md; walk it with
 *  parex_block_peek() and parex_tx_decode()), as the engine committed it:
 *  its header is the computed one, roots filled, so parex_header_hash() of
 *  it is the block hash. Block 0 is the genesis header and no txs.
 *
 *  Returns: PAREX_OK; PAREX_E_NOTFOUND; PAREX_E_CORRUPT; PAREX_E_STORAGE;
 *           PAREX_E_MISUSE.
 *  Out:     block: borrowed, *len bytes, valid until the transaction ends
 *                  or is renewed; NULL on error. len: 0 on error.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_block(parex_read *r,
    const uint8_t **block, size_t *len, uint64_t height)
    PAREX_ARG_NONNULL(1, 2, 3);

/** Height of the block whose hash (parex_header_hash()) is hash.
 *  Returns PAREX_OK, PAREX_E_NOTFOUND, PAREX_E_CORRUPT, PAREX_E_STORAGE,
 *  PAREX_E_MISUSE. Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_block_height(
    parex_read *r, uint64_t *height, const uint8_t hash[32])
    PAREX_ARG_NONNULL(1, 2, 3);

/** Receipt of the committed transaction with id txid (parex_tx_id()), and
 *  where it is.
 *
 *  Returns: PAREX_OK; PAREX_E_NOTFOUND (no such tx in the snapshot);
 *           PAREX_E_CORRUPT; PAREX_E_STORAGE; PAREX_E_MISUSE.
 *  Out:     out: the receipt, copied. height, index: may be NULL; the
 *           block's height and the tx's index in it.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_receipt(parex_read *r,
    parex_receipt *out, uint64_t *height, uint32_t *index,
    const uint8_t txid[32]) PAREX_ARG_NONNULL(1, 2, 5);

/** Receipt of tx index of the block at height (the block's tx count is
 *  parex_block_peek() of parex_read_block()).
 *  Returns PAREX_OK, PAREX_E_NOTFOUND (no such block, or index past its
 *  txs), PAREX_E_CORRUPT, PAREX_E_STORAGE, PAREX_E_MISUSE.
 *  Out: out: copied. Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_block_receipt(
    parex_read *r, parex_receipt *out, uint64_t height, uint32_t index)
    PAREX_ARG_NONNULL(1, 2);

/** Visit the snapshot's pairs with lo <= key < hi in increasing key order.
 *
 *  Returns: PAREX_OK (every pair in the range visited); PAREX_STOPPED
 *           (fn returned a positive value); fn's negative return value;
 *           PAREX_E_STORAGE; PAREX_E_MISUSE.
 *  In:      lo: 32 bytes, or NULL: from the first key.
 *           hi: 32 bytes, or NULL: to the last key (exclusive bound).
 *           fn: see parex_kv_fn; its pointers stay valid until the
 *           transaction ends. It must not end or renew r.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_range(parex_read *r,
    const uint8_t *lo, const uint8_t *hi, parex_kv_fn fn, void *user)
    PAREX_ARG_NONNULL(1, 4);

/** Visit every pair of the snapshot; as parex_read_range(r, NULL, NULL,
 *  fn, user). Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_foreach(parex_read *r,
    parex_kv_fn fn, void *user) PAREX_ARG_NONNULL(1, 2);

/** Visit the pairs whose key starts with prefix (prefix_len bytes, 0..32;
 *  prefix may be NULL iff prefix_len is 0: every pair). Returns as
 *  parex_read_range(), PAREX_E_MISUSE for prefix_len > 32. Since: 0.2.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_read_prefix(parex_read *r,
    const uint8_t *prefix, size_t prefix_len, parex_kv_fn fn, void *user)
    PAREX_ARG_NONNULL(1, 4);

/** Recompute the state root from every stored pair and compare it with the
 *  stored root.
 *
 *  Returns: PAREX_OK (equal); PAREX_E_CORRUPT (different);
 *           PAREX_E_NOTFOUND (no genesis); PAREX_E_STORAGE;
 *           PAREX_E_NOMEM (allocation, also inside OpenSSL).
 *  Out:     root: may be NULL; the recomputed root.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_verify(const parex_db *db,
    uint8_t root[32]) PAREX_ARG_NONNULL(1);

/** Write a consistent copy of the store into a new directory: state,
 *  headers, blocks, receipts and the store's identity (format, chain id,
 *  genesis hash), all as of one committed block, for a node that must
 *  catch up further than it can replay (docs/cluster.md).
 *
 *  The copy comes from one read transaction (LMDB's compacting copy,
 *  mdb_env_copy2 with MDB_CP_COMPACT, which begins it): blocks may commit
 *  from other threads meanwhile, neither blocked nor seen; the copy holds
 *  the newest block committed when it began. It is a store of its own,
 *  free pages dropped: parex_db_open() opens it, and a writer on it
 *  continues the chain. head is read back from the copy, so it describes
 *  exactly what was written. The state root is not recomputed here: run
 *  parex_db_verify() on the copy for that.
 *
 *  Returns: PAREX_OK (dir holds the copy, data.mdb, fsync'd; and the
 *           lock.mdb of reading it back);
 *           PAREX_E_EXISTS (dir is not an empty directory: nothing
 *           changed);
 *           PAREX_E_IO (dir cannot be created: parent missing or not
 *           writable; disk full; fsync failed);
 *           PAREX_E_NOTFOUND (the store has no genesis block yet);
 *           PAREX_E_CORRUPT, PAREX_E_STORAGE (LMDB failed to copy or
 *           to read the copy back); PAREX_E_NOMEM;
 *           PAREX_E_MISUSE (db or dir NULL).
 *           On every error, what the call created is removed: the files,
 *           and dir itself if the call made it.
 *  Args:    db: any open store, read-only or read-write.
 *  Out:     head: may be NULL; the header of the copy's head block (its
 *                 height and state_root are what the copy reflects).
 *           err: may be NULL; the message names dir on failure.
 *  In:      dir: NUL-terminated path of a directory that does not exist
 *                (created, mode 0777 & ~umask; its parent must exist) or
 *                is empty.
 *  Thread-safety: may run concurrently with an engine's execution and
 *           commit on db, with reads, and with other snapshots. It holds
 *           one LMDB reader slot for its duration, which keeps the pages
 *           of its block from reuse: the store's file may grow meanwhile.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_db_snapshot(const parex_db *db,
    parex_header *head, parex_error_info *err, const char *dir)
    PAREX_ARG_NONNULL(1, 4);

/* ---- programs ----------------------------------------------------------- */

/** A program: a deterministic function of the values it reads, the sender
 *  and the args. It must touch state only through its ctx and must not
 *  keep pointers it got from the ctx after it returns.
 *
 *  Return 0 for success, or a positive failure code: the tx is included,
 *  its program writes are discarded, its receipt carries the code
 *  (PAREX_TX_FAILED). A negative code (a ctx call's error passed on, or
 *  any other) is a failure of this tx alone in the same way, with that
 *  code; only PAREX_E_NOMEM and PAREX_E_STORAGE fail the whole block.
 *  PAREX_E_ABORTED is never returned by a ctx call (since 0.2.0); a
 *  program returning it simply fails its tx.
 *
 *  Speculation — what a program must tolerate. A program may run several
 *  times for one transaction (re-execution) and on several threads at
 *  once for different transactions. Only its last run, validated against
 *  the values the block's sequential order gives, counts: receipt, writes
 *  and budget outcome are that run's, so the result is deterministic.
 *  Earlier runs may see a state no sequential order produces when
 *  transactions read or write keys outside their declared sets: a value
 *  from a tx that is itself re-executed later, or one key's value from
 *  before an earlier tx and another's from after it (two keys an earlier
 *  tx keeps equal may differ). Such a run is thrown away, but it runs: the
 *  program must not crash, allocate without bound or loop without making
 *  ctx calls on any values it may read. Loops that make ctx calls end:
 *  each execution has a budget of max_tx_calls ctx calls
 *  (parex_engine_options); past it every call fails with PAREX_E_LIMIT,
 *  and the tx ends with PAREX_TX_BUDGET whatever the program returns. A
 *  program must therefore return when a ctx call fails.
 *  Declared read and write sets, exact, avoid inconsistent runs entirely.
 */
typedef int (*parex_program_fn)(parex_ctx *ctx, void *user);

/** Read key. Returns PAREX_OK (*val, *len set; *val valid until the program
 *  returns), PAREX_E_NOTFOUND (absent), PAREX_E_LIMIT (too many distinct
 *  keys touched, or the max_tx_calls budget is spent: return). Counts one
 *  call of the budget. Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_ctx_get(parex_ctx *ctx,
    const uint8_t **val, size_t *len, const uint8_t key[32])
    PAREX_ARG_NONNULL(1, 2, 3, 4);

/** Write key (value copied; len 0 is a present, empty value).
 *  Returns PAREX_OK, PAREX_E_LIMIT (value over max_value_bytes, too many
 *  keys, or the budget spent), PAREX_E_NOMEM. Counts one call of the
 *  budget. Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_ctx_put(parex_ctx *ctx,
    const uint8_t key[32], const uint8_t *val, size_t len)
    PAREX_ARG_NONNULL(1, 2);

/** Delete key (absent afterwards). Returns as parex_ctx_put. Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_ctx_del(parex_ctx *ctx,
    const uint8_t key[32]) PAREX_ARG_NONNULL(1, 2);

/** The transaction being executed (borrowed; valid until return). */
PAREX_API const parex_tx *parex_ctx_tx(const parex_ctx *ctx)
    PAREX_ARG_NONNULL(1);

/** Height of the block being executed. */
PAREX_API uint64_t parex_ctx_height(const parex_ctx *ctx) PAREX_ARG_NONNULL(1);

/* ---- engine ------------------------------------------------------------- */

/** Options of parex_engine_create(): a sized struct (parex_common.h). */
typedef struct parex_engine_options {
    size_t size;             /**< sizeof(parex_engine_options) as compiled
                                  by the caller. Since: 0.2.0 */
    unsigned threads;        /**< total threads incl. the caller; 0 = online CPUs */
    uint32_t chain_id;       /**< txs of another chain id are rejected */
    parex_limits limits;     /**< all-zero = parex_limits_default() */
    int sequential;          /**< nonzero: use the sequential reference
                                  executor (the specification) */
    uint32_t min_batch_width;/**< a block whose average batch width
                                  (txs / batches, judged on the whole
                                  block: an estimate of its critical path
                                  that is never below the exact batch
                                  count) is below this runs on the
                                  sequential executor: blocks that narrow
                                  cost more in synchronisation than they
                                  gain. The exact analysis overlaps it on
                                  a worker (or the sequential executor
                                  counts the batches itself), so
                                  stats.batches stays exact.
                                  0 = default: the expected gain decides
                                  (the block's width and critical path at
                                  the cost per tx measured on earlier
                                  blocks, see
                                  PAREX_FALLBACK_NARROW), and every block
                                  at 1 thread. 1 = never. */
    int profile;             /**< nonzero: record a per-tx profile of every
                                  executed block, read with
                                  parex_engine_profile(). Adds two clock
                                  reads per tx execution. */
    uint32_t max_tx_calls;   /**< ctx calls (get, put, del) one execution of
                                  a program may make before it is stopped
                                  with the receipt status PAREX_TX_BUDGET;
                                  0 = default 1,000,000. See "program
                                  contract" below. Since: 0.2.0 */
} parex_engine_options;

#define PAREX_ENGINE_OPTIONS_INIT PAREX_SIZED_INIT(parex_engine_options)

/** Fill *out with the defaults: threads 0 (online CPUs), chain_id 1,
 *  parex_limits_default(), parallel executor, max_tx_calls 1,000,000.
 *
 *  In/Out: out: out->size must be set first (PAREX_ENGINE_OPTIONS_INIT);
 *          at most out->size bytes are written, size kept. An implausible
 *          size leaves *out untouched, and parex_engine_create() then
 *          refuses it.
 *  Thread-safe. Since: 0.1.0 (the size member: 0.2.0) */
PAREX_API void parex_engine_options_default(parex_engine_options *out)
    PAREX_ARG_NONNULL(1);

/** Per-block counters and stage times (nanoseconds, wall clock). A sized
 *  output struct (parex_common.h): set size (PAREX_BLOCK_STATS_INIT). */
typedef struct parex_block_stats {
    size_t size;             /**< sizeof(parex_block_stats) as compiled by
                                  the caller. Since: 0.2.0 */
    uint64_t txs, batches, reexecutions, escaped;
    uint64_t fallback;       /**< 1: ran sequentially (see min_batch_width) */
    uint64_t decode_ns, verify_ns, analysis_ns, exec_ns, validate_ns,
        apply_ns, root_ns, commit_ns, total_ns; /**< analysis_ns: conflict
                                  analysis; for a block that carries a BAL
                                  also decoding and indexing it (so
                                  decode_ns is the block's alone); root_ns
                                  includes hashing the BAL for the tx
                                  root, except for a BAL recorded by an
                                  execute that also commits
                                  (PAREX_EXEC_COMMIT) on 2 or more
                                  threads: there the recording (else in
                                  apply_ns) and the hash run beside the
                                  commit's writes, in commit_ns */
    uint64_t map_probes;     /**< hash-map slots inspected by conflict
                                  analysis and first executions'
                                  undeclared keys (parallel executor) or
                                  by the reference executor's overlay: a work
                                  count, within a small multiple of the
                                  keys looked up whatever the keys are
                                  (tests/engine/test_hostile.c) */
    uint64_t verify_skipped; /**< signatures not verified by the engine
                                  (PAREX_EXEC_VERIFIED): all txs, or 0.
                                  Since: 0.2.0 */
    uint64_t budget_stops;   /**< txs whose program ran out of
                                  max_tx_calls (PAREX_TX_BUDGET).
                                  Since: 0.2.0 */
    uint64_t fallback_reason;/**< why the block ran sequentially: one of
                                  PAREX_FALLBACK_*; PAREX_FALLBACK_NONE
                                  exactly when fallback is 0. Since: 0.2.0 */
    uint64_t stage1_analysis_ns; /**< thread time that stage 1 spent on the
                                  block's batch count and, for a block
                                  that then runs in parallel, its conflict
                                  analysis, or for a block its BAL
                                  validates the BAL's index (ns): one item
                                  of the signature job, beside the
                                  signatures, so inside verify_ns's wall
                                  time; analysis_ns then leaves it out. 0
                                  when stage 1 did not (one thread,
                                  PAREX_EXEC_VERIFIED, a prepared block).
                                  Since: 0.2.0 */
} parex_block_stats;

#define PAREX_BLOCK_STATS_INIT PAREX_SIZED_INIT(parex_block_stats)


/** Why a block ran on the sequential executor (parex_block_stats
 *  .fallback_reason). Since: 0.2.0 */
#define PAREX_FALLBACK_NONE 0       /**< it did not (or the engine was
                                         created sequential) */
#define PAREX_FALLBACK_NARROW 1     /**< the whole block's width and critical
                                         path (conflict analysis) promised no
                                         gain: below min_batch_width, or by
                                         default an expected parallel time,
                                         (cost per tx + synchronisation) x
                                         (txs / threads + (1 - 1/threads) x
                                         critical path) (Graham's list-
                                         scheduling bound), no shorter than
                                         the sequential one */
#define PAREX_FALLBACK_WORK_BOUND 2 /**< wrong declarations grew version lists
                                         past the block's work bound; the
                                         parallel run was dropped and the
                                         block run again sequentially */
#define PAREX_FALLBACK_ONE_THREAD 3 /**< the engine has one thread */
#define PAREX_FALLBACK_CALIBRATE 4  /**< the block would have run in
                                         parallel, but the engine ran it on
                                         the reference to measure its cost
                                         per tx there: a block of at least
                                         256 txs, most of them conflicting
                                         with an earlier one, after a
                                         parallel block, when the engine
                                         has not yet measured the reference
                                         or has run 64 blocks in parallel
                                         since (its cross-core traffic is
                                         then what decides whether parallel
                                         pays). Since: 0.2.0 */

/** Name of a PAREX_FALLBACK_* reason ("narrow", "work bound", "one
 *  thread", "calibration", "none"; "unknown" for any other value);
 *  static string. Thread-safe. Since: 0.2.0 */
PAREX_API const char *parex_fallback_name(uint64_t reason);

/** Create an engine on db with its thread pool (created once, reused for
 *  every block). The built-in programs are registered.
 *
 *  Returns: PAREX_OK; PAREX_E_NOMEM; PAREX_E_INVALID (bad options);
 *           PAREX_E_MISUSE (opt->size not a size this library accepts, or
 *           a newer caller's field this library does not know is set);
 *           PAREX_E_MISMATCH (the store records another chain id than
 *           opt->chain_id); PAREX_E_CORRUPT, PAREX_E_STORAGE (reading the
 *           store's chain).
 *  Out:     out: handle or NULL on failure; destroy with
 *                parex_engine_destroy() before closing db.
 *  In:      db: borrowed for the engine's lifetime; opt: NULL for defaults,
 *           else a sized struct (PAREX_ENGINE_OPTIONS_INIT).
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_create(parex_engine **out,
    parex_db *db, const parex_engine_options *opt) PAREX_ARG_NONNULL(1, 2);

/** Stop the pool and free the engine; discards a pending block. NULL is a
 *  no-op. */
PAREX_API void parex_engine_destroy(parex_engine *e);

/** Register (or replace) program id. Ids below 256 other than built-ins are
 *  reserved. Returns PAREX_OK, PAREX_E_INVALID (reserved id), PAREX_E_NOMEM,
 *  PAREX_E_PENDING. Args: e: exclusive access. fn: must be thread-safe. */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_register(parex_engine *e,
    uint32_t id, parex_program_fn fn, void *user) PAREX_ARG_NONNULL(1, 3);

/** Execute flags. */
#define PAREX_EXEC_COMMIT 1u   /**< commit the block before returning */
/** The caller has verified every transaction's signature (parex_tx_verify()
 *  on the same encoding) and the engine skips its BIP-340 verification
 *  (chain ids are still checked). A trust decision: a block executed with
 *  this flag is only as sound as its caller's check, and a bad signature
 *  the caller let through is committed. For a node that verified each tx
 *  on entry to its mempool and builds blocks from them; never for blocks
 *  from elsewhere (sync, replay), which must run without it.
 *  stats.verify_skipped counts the skipped txs. Since: 0.2.0 */
#define PAREX_EXEC_VERIFIED 2u

/** Execute an encoded block on top of the head block.
 *
 *  Pipeline: decode and stateless checks; parallel BIP-340 signature
 *  verification; conflict analysis of the declared read/write sets into
 *  batches and dependencies; dependency-driven optimistic parallel
 *  execution (a tx starts when the txs it depends on have finished; narrow
 *  blocks run on the sequential reference, see min_batch_width); validation in block
 *  order with re-execution; writes applied in block order; fee credit;
 *  incremental state root (LtHash); with PAREX_EXEC_COMMIT one LMDB write
 *  transaction. Without it the result is pending: parex_engine_commit() or
 *  parex_engine_abort() must follow.
 *
 *  Returns: PAREX_OK         executed (and committed if asked);
 *           PAREX_E_BLOCK    the block is invalid; err says which tx and why;
 *                            nothing is written;
 *           PAREX_E_BUFFER   cap < tx count; nothing written;
 *           PAREX_E_NOMEM, PAREX_E_STORAGE, PAREX_E_MAPFULL: nothing written;
 *           PAREX_E_PENDING  a previous block is still pending;
 *           PAREX_E_NOTFOUND the store has no genesis;
 *           PAREX_E_MISUSE   NULL argument, or stats->size not a size this
 *                            library accepts (nothing executed, *stats
 *                            untouched).
 *  Committed: state, the block (with the computed header), its receipts
 *           and the hash index, in one LMDB write transaction (see
 *           parex_read_block(), parex_read_receipt()).
 *  Args:    e: exclusive access for the call.
 *  Out:     header: the new header (roots filled); may be NULL.
 *           receipts: caller array of cap receipts (NULL iff cap is 0);
 *                     receipts[i] describes tx i.
 *           stats: may be NULL; a sized struct (PAREX_BLOCK_STATS_INIT):
 *                  at most stats->size bytes are written.
 *           err: may be NULL.
 *  In:      block, len: encoded block; not retained (a pending block is
 *           copied). flags: PAREX_EXEC_COMMIT, PAREX_EXEC_VERIFIED.
 *  Source:  batches and optimistic validation after Block-STM (Gelashvili et
 *           al., arXiv:2203.06871) and Solana's account-lock scheduling;
 *           LtHash (Bellare-Micciancio 1997; Lewi et al. 2019).
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_execute(parex_engine *e,
    parex_header *header, parex_receipt *receipts, size_t cap,
    parex_block_stats *stats, parex_error_info *err, const uint8_t *block,
    size_t len, unsigned flags) PAREX_ARG_NONNULL(1, 7);

/** Run the stateless stage of a block ahead of time: decode it, compute
 *  every tx id and sender account key, and check every chain id and
 *  BIP-340 signature, on the calling thread only. Meant for pipelining:
 *  prepare block N+1 on one thread while another executes, roots and
 *  commits block N on e; parex_engine_execute_prepared() then skips this
 *  stage (issue 10: verification is ~85% of a block's end-to-end time).
 *  The same as parex_block_prepare_start() followed by
 *  parex_prepared_verify() on this thread.
 *
 *  A bad signature or chain id does not fail the preparation: it is kept
 *  and reported by parex_engine_execute_prepared() after the stateful
 *  checks (height, parent), exactly as parex_engine_execute() reports it,
 *  so a block gets the same error on either path.
 *
 *  Returns: PAREX_OK         *out is a prepared block;
 *           PAREX_E_BLOCK    the block does not decode (err: reason
 *                            MALFORMED or LIMIT, tx index, field), as
 *                            parex_engine_execute() would report it;
 *           PAREX_E_NOMEM;
 *           PAREX_E_MISUSE   e or out NULL, or block NULL with len > 0.
 *  Args:    e: read only (its chain id and limits, fixed at creation);
 *              safe to call while another thread runs any parex_engine_*
 *              call on e, and from several threads at once.
 *  Out:     out: the prepared block, NULL on failure; free it with
 *                parex_prepared_free() (after e's last use of it).
 *           err: may be NULL.
 *  In:      block, len: the encoded block; copied, not retained.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_block_prepare(
    const parex_engine *e, parex_prepared **out, parex_error_info *err,
    const uint8_t *block, size_t len) PAREX_ARG_NONNULL(1, 2);

/** The first half of parex_block_prepare(): decode the block and return
 *  it with its signatures (and tx ids, account keys, chain ids) not yet
 *  checked. They are checked in chunks of txs that any number of threads
 *  share: parex_prepared_verify() on helper threads, and
 *  parex_engine_execute_prepared(), which checks what is left on e's own
 *  threads when the block's turn comes and never waits for a helper that
 *  is slow (it checks that helper's chunk itself). So a pipeline can run
 *  its helpers at a low priority, on the cores the engine leaves idle,
 *  and never delay the engine (issue 10: one preparing thread per block
 *  made pipelined runs slower than unpipelined ones on 2 cores).
 *
 *  Returns, Args, Out, In: as parex_block_prepare().
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_block_prepare_start(
    const parex_engine *e, parex_prepared **out, parex_error_info *err,
    const uint8_t *block, size_t len) PAREX_ARG_NONNULL(1, 2);

/** Check signatures of a block from parex_block_prepare_start() on the
 *  calling thread: take chunks of its txs not yet taken by any thread
 *  and check them, until none is left to take. Returns at once when none
 *  is left (the block was verified, or its execution took the rest).
 *  The verdicts are the same whichever threads check which chunks: each
 *  tx's check is a pure function of the tx and the chain id.
 *
 *  Returns: PAREX_OK; PAREX_E_MISUSE p NULL.
 *  Args:    p: a prepared block; safe to call from several threads at
 *              once, and while parex_engine_execute_prepared() or
 *              parex_prepared_set_header() runs on p. p must not be
 *              freed before every call on it has returned.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_prepared_verify(
    parex_prepared *p) PAREX_ARG_NONNULL(1);

/** Free a prepared block. NULL is a no-op. Not while any other call on p
 *  runs (parex_prepared_verify() included). Since: 0.2.0 */
PAREX_API void parex_prepared_free(parex_prepared *p);

/** Replace the header of a prepared block, e.g. with the height and
 *  parent of a chain head that is known only once the block before it is
 *  committed (a pipeline prepares block N+1 while block N still runs:
 *  N+1's parent hash covers N's roots). The prepared txs, ids and
 *  signature verdicts do not depend on the header and stay; the stored
 *  block bytes are those of the new header. Nothing is checked here:
 *  parex_engine_execute_prepared() checks the header (height, parent,
 *  tx root, ...) exactly as parex_engine_execute() checks it.
 *
 *  Returns: PAREX_OK; PAREX_E_MISUSE p or h NULL.
 *  Args:    p: a prepared block; exclusive access (not while an
 *              execute_prepared call on it runs), except that
 *              parex_prepared_verify() calls may run on other threads.
 *  In:      h: the new header; copied.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_prepared_set_header(
    parex_prepared *p, const parex_header *h) PAREX_ARG_NONNULL(1, 2);

/** Execute a block prepared by parex_block_prepare(): as
 *  parex_engine_execute() on the same bytes, with the same results,
 *  errors and state, minus the stateless stage already done.
 *  Signatures not yet checked (parex_block_prepare_start()) are
 *  checked first, on e's threads, beside any parex_prepared_verify()
 *  calls still running on p (chain ids and ids are checked even with
 *  PAREX_EXEC_VERIFIED: they come from the same pass).
 *  stats->decode_ns is the preparation's decoding time (off this call's
 *  critical path; total_ns does not include it); verify_ns the thread
 *  time all threads spent checking p's txs (the part this call spent is
 *  in total_ns).
 *
 *  flags: as parex_engine_execute(); with PAREX_EXEC_VERIFIED the
 *  prepared signature verdicts are set aside (chain ids still count), as
 *  parex_engine_execute() skips the verification.
 *
 *  Returns: as parex_engine_execute(), and PAREX_E_MISUSE when p was
 *           prepared for an engine with another chain id or other limits.
 *  Args:    e: exclusive access for the call, as parex_engine_execute().
 *  Out:     header, receipts, stats, err: as parex_engine_execute().
 *  In:      p: read only but for its pending checks; may be executed
 *              again (e.g. after an abort) and freed once this call and
 *              every parex_prepared_verify() call on p returned. Not
 *              executed by two calls at once.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_execute_prepared(
    parex_engine *e, parex_header *header, parex_receipt *receipts,
    size_t cap, parex_block_stats *stats, parex_error_info *err,
    const parex_prepared *p, unsigned flags) PAREX_ARG_NONNULL(1, 7);

/** Commit the pending block (state, block, receipts) in one LMDB write
 *  transaction.
 *  Returns PAREX_OK, PAREX_E_MISUSE (nothing pending, or stats->size not
 *  accepted), PAREX_E_MAPFULL, PAREX_E_STORAGE (nothing committed; the
 *  block stays pending). stats: may be NULL; only commit_ns is set, if
 *  the caller's size reaches it. Args: e: exclusive access.
 *  Since: 0.1.0 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_commit(parex_engine *e,
    parex_block_stats *stats) PAREX_ARG_NONNULL(1);

/** Discard the pending block (no-op if none). */
PAREX_API void parex_engine_abort(parex_engine *e) PAREX_ARG_NONNULL(1);

/** Per-tx profile of the last executed block (options.profile). */
typedef struct parex_tx_profile {
    uint32_t batch;          /**< 0-based batch (level) from conflict
                                  analysis; under options.sequential, the
                                  tx's index (the reference runs one tx per
                                  step) */
    uint32_t incarnations;   /**< executions of the tx in this block:
                                  1 + its re-executions */
    uint64_t exec_ns;        /**< wall time of its executions, summed, ns
                                  (CLOCK_MONOTONIC) */
} parex_tx_profile;

/** The per-tx profile of the last block parex_engine_execute() executed,
 *  one entry per tx in block order: the inputs of makespan projections
 *  (how the batch schedule would run on more threads).
 *
 *  Returns: PAREX_OK; PAREX_E_MISUSE (NULL argument, profiling off, or no
 *           block executed since the engine was created or since the last
 *           execute failed before execution).
 *  Out:     profile: borrowed from the engine, valid until the next
 *           parex_engine_execute() or parex_engine_destroy(); count: its
 *           length (the block's tx count). Both set to NULL/0 on error.
 *  In:      e: the engine. A rejected block (PAREX_E_BLOCK after
 *           execution) still has a profile of the txs executed.
 *  Thread-safety: not with a concurrent execute on the same engine.
 *  Since: 0.1.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_profile(
    const parex_engine *e, const parex_tx_profile **profile, size_t *count);

/** Threads the engine runs with (including the caller). */
PAREX_API unsigned parex_engine_threads(const parex_engine *e)
    PAREX_ARG_NONNULL(1);

#ifdef __cplusplus
}
#endif

#endif /* PAREX_ENGINE_H */
