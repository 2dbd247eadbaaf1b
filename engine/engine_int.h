/* engine/ private API: block decoding, programs, the execution context,
 * the state-transition function, the result of a block, the thread pool,
 * the executors (the plain sequential reference and the parallel one) and
 * the choice between them, the engine itself and its stages. The key map
 * is its own module (keymap/keymap.h); docs/architecture.md lists which
 * file holds what.
 *
 * Invariants:
 *  - Both executors produce the same px__result for the same block and
 *    pre-state: receipts, fee total, and the sorted change set. The parallel
 *    one is correct for any declared sets; declarations only decide speed.
 *  - Nothing in engine/ writes to the store except px__commit().
 */
#ifndef PX_ENGINE_INT_H
#define PX_ENGINE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parex/parex.h"
#include "crypto_int.h"
#include "state_int.h"
#include "keymap/keymap.h"
#include "bal/bal.h"

struct parex_db {
    px__store *store;
};

/* ---- errors ---- */

/** Fill err (may be NULL) and return code. printf-style message. */
int px__fail(parex_error_info *err, int code, int reject, int64_t tx_index,
    const char *field, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
void px__err_clear(parex_error_info *err);

/* ---- little-endian helpers ---- */
static inline uint32_t px__ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}
static inline uint64_t px__ld64(const uint8_t *p)
{
    return (uint64_t)px__ld32(p) | (uint64_t)px__ld32(p + 4) << 32;
}
static inline void px__st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void px__st64(uint8_t *p, uint64_t v)
{
    px__st32(p, (uint32_t)v);
    px__st32(p + 4, (uint32_t)(v >> 32));
}

/* ---- arena: bump allocation, freed all at once ---- */
typedef struct px__chunk px__chunk;
typedef struct px__arena {
    px__chunk *head;
    size_t chunk_size;
    /* Chunks kept by px__arena_reset() for the next blocks (up to
     * PX__ARENA_KEEP bytes): a long-running engine then allocates, and
     * page-faults in, nothing in steady state. */
    px__chunk *spare;
    size_t spare_bytes;
} px__arena;

/* Bytes of chunks an arena keeps across resets, beyond which the rest go
 * back to malloc (a block far above the usual, its memory not held). */
#define PX__ARENA_KEEP ((size_t)64 << 20)

void px__arena_init(px__arena *a, size_t chunk_size);
/** 16-byte aligned; NULL on allocation failure. */
void *px__arena_alloc(px__arena *a, size_t n);
/** A copy of n bytes at p (a non-NULL 1-byte block when n is 0); NULL on
 *  allocation failure. */
void *px__arena_copy(px__arena *a, const void *p, size_t n);
/** Empty the arena: its chunks are kept for reuse (up to PX__ARENA_KEEP
 *  bytes, the high-water mark of recent blocks), the rest freed. */
void px__arena_reset(px__arena *a);
void px__arena_finish(px__arena *a);

/* ---- decoded block ---- */

typedef struct px__btx {
    parex_tx tx;            /* borrows from the block buffer */
    const uint8_t *enc;     /* the tx's canonical encoding */
    uint32_t enc_len;
    uint8_t id[32];         /* filled by the verification stage */
    uint8_t acct[32];       /* sender's account key, likewise */
} px__btx;

typedef struct px__block {
    parex_header hdr;
    size_t n;
    px__btx *txs;           /* malloc'd, n entries */
    const uint8_t *bal;     /* the BAL trailer (parex_bal.h) or NULL */
    size_t bal_len;
} px__block;

/** The block framing and its optional BAL trailer, txs not decoded.
 *  Returns PAREX_OK, PAREX_E_INVALID, PAREX_E_LIMIT (err says where). */
int px__block_walk(parex_header *h, size_t *n, const uint8_t **bal,
    size_t *bal_len, parex_error_info *err, const uint8_t *buf, size_t len,
    const parex_limits *lim);

/** Decode an encoded block (structure and every tx, no signatures).
 *  Returns PAREX_OK, PAREX_E_BLOCK (err: reason MALFORMED or LIMIT, tx
 *  index, field), PAREX_E_NOMEM. */
int px__block_decode(px__block *out, parex_error_info *err,
    const uint8_t *buf, size_t len, const parex_limits *lim);
void px__block_release(px__block *b);
/** Decode one tx; err->field names the bad field. Returns PAREX_OK,
 *  PAREX_E_INVALID, PAREX_E_LIMIT. tx_index is used in messages. */
int px__tx_decode(parex_tx *out, parex_error_info *err, const uint8_t *in,
    size_t len, const parex_limits *lim, int64_t tx_index);
void px__sighash(uint8_t out[32], const uint8_t *enc, size_t enc_len);
/** 1 when tx's sets are present, strictly sorted and disjoint, the form
 *  encoding requires (engine/codec.c); 0 otherwise. */
int px__tx_canonical(const parex_tx *tx);
/** lim, or the defaults written into *tmp when lim is NULL. */
const parex_limits *px__limits_or_default(const parex_limits *lim,
    parex_limits *tmp);

/* ---- programs ---- */

typedef struct px__program {
    uint32_t id;
    parex_program_fn fn;
    void *user;
} px__program;

typedef struct px__programs {
    px__program *v;   /* sorted by id */
    size_t n, cap;
    uint32_t max_calls; /* parex_engine_options.max_tx_calls; 0: default */
} px__programs;

/** Default of parex_engine_options.max_tx_calls. */
#define PX_DEFAULT_MAX_CALLS 1000000u

int px__programs_init(px__programs *p);   /* registers built-ins */
void px__programs_finish(px__programs *p);
int px__programs_set(px__programs *p, uint32_t id, parex_program_fn fn,
    void *user);
const px__program *px__programs_find(const px__programs *p, uint32_t id);

/* ---- execution context (what programs see) ---- */

typedef struct px__ctx_ops {
    int (*get)(parex_ctx *ctx, const uint8_t **val, size_t *len,
        const uint8_t key[32]);
    /* del != 0: delete (val/len ignored) */
    int (*put)(parex_ctx *ctx, const uint8_t key[32], const uint8_t *val,
        size_t len, int del);
    /* Everything written after the prelude is discarded. */
    void (*rollback_program)(parex_ctx *ctx);
} px__ctx_ops;

struct parex_ctx {
    const px__ctx_ops *ops;
    const px__btx *btx;
    uint64_t height;
    const parex_limits *lim;
    /* The program's ctx calls so far in this execution and the budget;
     * set by px__tx_run. Once over, every call fails with PAREX_E_LIMIT
     * and the tx ends with PAREX_TX_BUDGET. A count of the calls the
     * program makes, a function of the values it read: the validated
     * (last) incarnation makes exactly the calls the sequential order
     * makes, so the outcome is deterministic. */
    uint32_t calls, max_calls;
    int over_budget;
};

/** Outcome of running one tx through a ctx. */
typedef struct px__outcome {
    parex_receipt receipt;
    int reject;             /* PAREX_REJECT_NONE or the reason */
    char field[16];
} px__outcome;

/* ---- the state-transition function (engine/exec/stf.c) ---- */

/** Reads an account through ctx; an absent one is balance 0, nonce 0.
 *  Returns 1 when present and well-formed, 0 when absent, <0 on a ctx
 *  error, and PAREX_E_INVALID when the stored value is not an account. */
int px__account_get(parex_ctx *ctx, const uint8_t key[32], uint64_t *bal,
    uint64_t *nonce);
int px__account_put(parex_ctx *ctx, const uint8_t key[32], uint64_t bal,
    uint64_t nonce);
/** Run one tx: nonce and fee prelude, then its program.
 *  Returns PAREX_OK (out filled; out->reject set when the tx makes the
 *  block invalid), PAREX_E_NOMEM or PAREX_E_STORAGE (engine failure). */
int px__tx_run(parex_ctx *ctx, const px__programs *progs, px__outcome *out);

/* ---- the result of executing a block's transactions ---- */

typedef struct px__change {
    const uint8_t *key;     /* 32 bytes */
    /* The key's first 8 bytes, big-endian (px__key_top): sorting compares
     * and buckets on it without reading the key, which apply's gather
     * finds in the other core's cache (phase 1 of the parallel apply:
     * 30-50 ns a key, 7-10 with the key at hand). Equal tops (crafted
     * keys) fall back to the whole key. */
    uint64_t top;
    const uint8_t *val;     /* NULL when deleted */
    uint32_t len;
    uint8_t del;
} px__change;

/** A key's first 8 bytes as a big-endian number: ordered as the keys
 *  are, as far as it goes. */
static inline uint64_t px__key_top(const uint8_t *key)
{
    return (uint64_t)key[0] << 56 | (uint64_t)key[1] << 48 |
        (uint64_t)key[2] << 40 | (uint64_t)key[3] << 32 |
        (uint64_t)key[4] << 24 | (uint64_t)key[5] << 16 |
        (uint64_t)key[6] << 8 | (uint64_t)key[7];
}

typedef struct px__result {
    px__change *changes;    /* sorted by key, unique; malloc'd */
    size_t n_changes, cap_changes;
    /* px__result_sort()'s buffer, swapped with changes (both kept by
     * px__result_reset()). */
    px__change *sort_buf;
    size_t sort_cap;
    uint64_t fee_total;
    uint64_t batches, reexecutions, escaped, fallback;
    uint64_t fallback_reason;   /* PAREX_FALLBACK_* */
    uint64_t tx_ns_sampled;     /* parallel runs: mean sampled tx run time
                                   (ns), 0 when none */
    uint64_t deps;              /* parallel runs: txs in a batch above 0
                                   (the calibration gate), when known */
    uint64_t analysis_ns, exec_ns, validate_ns, apply_ns;
    uint64_t map_probes;    /* parex_block_stats.map_probes */
    px__arena arena;        /* owns change values not owned elsewhere */
    int64_t reject_tx;      /* -1 or the first invalid tx */
    int reject;
    char reject_field[16];
} px__result;

void px__result_init(px__result *r);
void px__result_release(px__result *r);
/** Empty r for the next block, keeping its buffers (the change arrays
 *  and the arena's chunks, see px__arena_reset()). */
void px__result_reset(px__result *r);
int px__result_push(px__result *r, const uint8_t *key, const uint8_t *val,
    uint32_t len, int del);
void px__result_sort(px__result *r);
/** Buffers px__changes_sort() keeps between calls (one per worker), so
 *  that a sort (once per block and apply range or BAL index part) does
 *  not malloc, copy and free them each time; callgrind, BAL validation:
 *  -2 % L1 misses (session 10). Zeroed: empty; px__sortbuf_free()
 *  frees. */
typedef struct px__sortbuf {
    px__change *buf;
    size_t cap;
    uint32_t *cnt;
    size_t cap_cnt;
} px__sortbuf;
void px__sortbuf_free(px__sortbuf *sb);
/** Sorts n changes by key in place (as px__result_sort; any order of
 *  unique keys), with sb's buffers (grown as needed; qsort when they
 *  cannot be). */
void px__changes_sort(px__change *v, size_t n, px__sortbuf *sb);
/** Checked builds: asserts r's change set is sorted and unique. */
void px__result_check_sorted(const px__result *r);

/** Settles tx j's outcome, in block order: a rejection or a fee total
 *  that overflows becomes the result's reject (returns 1: stop), else
 *  the receipt goes to receipts[j] and the fee to the total (returns 0). */
int px__stf_settle(px__result *res, parex_receipt *receipts, size_t j,
    const px__outcome *o);
/** Credits the fee total to the fee recipient's account in the sorted
 *  change set r (read from snap when the block did not change it).
 *  receipts: the block's n receipts, in block order; an OVERFLOW names the
 *  tx whose fee, credited in that order, first overflows the balance.
 *  Returns PAREX_OK, PAREX_E_BLOCK (err: MALFORMED recipient account, tx
 *  -1; or OVERFLOW of its balance, that tx), PAREX_E_NOMEM, or a snapshot
 *  error. */
int px__stf_credit_fees(px__result *r, px__snap *snap,
    const uint8_t fee_recipient[32], const parex_receipt *receipts,
    size_t n, parex_error_info *err);

/* ---- thread pool ---- */

typedef struct px__pool px__pool;
/** Job body: process items [begin, end) on worker w (0 = the caller). */
typedef void (*px__job_fn)(void *arg, unsigned w, size_t begin, size_t end);
int px__pool_create(px__pool **out, unsigned threads);
void px__pool_destroy(px__pool *p);
unsigned px__pool_threads(const px__pool *p);
/** Wakes sleeping workers into their spin, ahead of a job the caller is
 *  about to post (their wake-up then overlaps its serial work). */
void px__pool_prewake(px__pool *p);
/** Run fn over [0, n) in chunks of grain, on all threads; returns when
 *  every item is done (not when every worker has seen the job: one that
 *  comes late finds nothing left). Chunks are claimed in increasing
 *  order, so an item may wait for a lower one that a thread has claimed.
 *  Runs inline, in order, when n <= grain or one thread. */
void px__pool_run(px__pool *p, px__job_fn fn, void *arg, size_t n,
    size_t grain);
/** Posts fn over [0, n), one item a claim, to the other threads and
 *  returns at once, so that the caller can do work of its own (work that
 *  must stay on its thread, such as the store's write transaction) beside
 *  it; px__pool_join() then runs the items nobody took and waits for the
 *  rest. No other job may run in between. With one thread the items run
 *  in the join. */
void px__pool_post(px__pool *p, px__job_fn fn, void *arg, size_t n);
void px__pool_join(px__pool *p);

/* ---- executors ---- */

typedef struct px__worker {
    px__snap *snap;
    px__arena arena;
    px__keymap uidx;        /* parallel executor: the undeclared keys of
                               the tx this worker runs, key -> record */
    uint64_t samp_ns, samp_n;   /* parallel executor: sampled tx run
                                   times of this block (1 tx in 16) */
    px__sortbuf sort;       /* px__changes_sort() on this worker */
    /* One array of workers, each writing its own (uidx, samp_*): a line
     * of padding so that no two workers' fields share a cache line. */
    char pad_end[64];
} px__worker;

/* Per-engine buffers the executors reuse from block to block, so a block
 * does not pay page faults for fresh multi-megabyte allocations: the
 * parallel executor's tables and the key maps of both executors (kept
 * warm: px__keymap_clear() keeps the storage). Defined with the parallel
 * executor (engine/exec/par/pexec_impl.h). */
typedef struct px__scratch {
    void *t;
    size_t t_bytes;
    void *order;
    size_t order_bytes;
    px__keymap km;          /* conflict analysis: key -> kent */
    px__keymap seq_km;      /* sequential executor: key -> entry */
    void *seq_ents;         /* sequential executor: its entries */
    size_t seq_ents_bytes;
    void *seq_log;          /* sequential executor: its undo log */
    size_t seq_log_bytes;
    void *slots;
    size_t slots_bytes;
    void *est;              /* the whole-block width estimate's cells */
    size_t est_bytes;
    void *sample;           /* the sample's cells, left all 0xff after
                               every use (analysis_impl.h) */
    /* The conflict analysis of the block in execution, when stage 1 ran
     * it (px__exec_preanalyse): the tables are the scratch's, these are
     * the counts that go with them. */
    struct {
        int valid;
        size_t n, total_keys, slots_used;
        uint32_t n_edges, nb;
    } pa;
    void *apply;            /* the parallel apply's per-worker changes */
    size_t apply_bytes;
    struct px__recpart *rec;/* the BAL recording's parts (n_rec of them,
                               par/record_impl.h) */
    size_t n_rec;
} px__scratch;

void px__scratch_init(px__scratch *s);
void px__scratch_free(px__scratch *s);

/* The block's exact batch count from stage 1 (engine/exec/precount.c):
 * kept in the engine, valid for the block in execution only. */
typedef struct px__precount {
    int valid;              /* set for this block by px__precount_run() */
    size_t n;               /* its txs */
    uint32_t nb;            /* batches */
    uint32_t cost_q16;      /* px__exec_shape.cost_q16 of the whole block */
    uint32_t n_dep;         /* txs that conflict with an earlier tx of the
                               block (batch > 0): the calibration gate */
    uint64_t ns;            /* thread time of stage 1's item */
    uint32_t *batch;        /* per tx */
    uint8_t (*accts)[32];   /* per tx: its sender's account key */
    size_t cap;
    px__keymap km;          /* key -> index in cf */
    struct px__conflict *cf;
    size_t n_cf, cap_cf;
} px__precount;

void px__precount_init(px__precount *pc);
void px__precount_free(px__precount *pc);
/** The conflict analysis' batch of every tx of blk and the block's batch
 *  count, into pc (valid, unless memory ran out). Reads only the txs'
 *  declared sets and senders, so it may run while other threads verify
 *  them (the verify items write their ids and account keys). */
void px__precount_run(px__precount *pc, const px__block *blk);

/* A parallel block's BAL recording left for later (the commit runs it
 * beside the store's writes, engine/stages/commit.c): what the recording
 * reads, all of it valid until the next block starts. */
enum {
    PX__REC_NONE = 0,
    PX__REC_ALL,            /* the parallel executor's: the recording, the
                               fee entry and the hash wait */
    PX__REC_HASH            /* the BAL recorder's (recorded as it ran):
                               the fee entry and the hash wait */
};
typedef struct px__recsrc {
    int armed;              /* PX__REC_*: what waits for the commit */
    void *t;                /* the executor's per-tx state (par.c) */
    uint32_t n;
    const px__block *blk;
    px__worker *workers;
    struct px__scratch *scratch;
} px__recsrc;

typedef struct px__exec_env {
    const px__block *blk;
    const px__programs *progs;
    const parex_limits *lim;
    px__pool *pool;
    px__worker *workers;    /* one per pool thread, snapshots open */
    unsigned threads;
    int sequential;         /* parex_engine_options.sequential */
    uint32_t min_width;     /* parex_engine_options.min_batch_width, as
                               given (0: the default) */
    px__scratch *scratch;
    parex_receipt *receipts;/* n receipts out */
    parex_tx_profile *profile; /* NULL, or n zeroed entries to fill */
    int count_batches;      /* sequential executor: report the conflict
                               analysis' batch count, not one per tx */
    uint64_t tx_ns;         /* measured cost of one tx on the reference
                               or, before any reference run, sampled in
                               parallel runs (ns; earlier blocks), for the
                               decision */
    uint64_t ref_ns;        /* 0, or the cost of one tx measured on the
                               reference alone (ns; earlier blocks) */
    uint64_t par_k;         /* 0, or what one unit of the parallel bound
                               cost in earlier parallel blocks (ns): their
                               execution stage / (txs / threads +
                               (1 - 1 / threads) x critical path) */
    int calibrate;          /* run a block the decision sends parallel on
                               the reference instead, to measure ref_ns
                               (PAREX_FALLBACK_CALIBRATE) */
    px__buf *bal_out;       /* parallel executor: non-NULL to record the
                               block's BAL (without the fee entry) here;
                               its fallbacks then run the BAL recorder */
    px__recsrc *rec_defer;  /* with bal_out, non-NULL: a block that runs
                               parallel to the end leaves its recording
                               for px__par_record() and arms this */
    struct px__balws *balws;/* the BAL executors' buffers (the engine's);
                               set whenever the block's BAL mode is not
                               off */
    const px__precount *pre;/* NULL, or the block's exact batches from
                               stage 1: the parallel executor decides on
                               them */
} px__exec_env;

/** The recording rec_defer left: the BAL without the fee entry into out
 *  (reset first), on worker w's snapshot, as the parallel executor would
 *  have recorded it. PAREX_E_NOMEM, or a store error. */
int px__par_record(const px__recsrc *src, unsigned w, px__buf *out);

/** The executors px__exec_choose() picks from. */
typedef enum px__exec_kind {
    PX__EXEC_SEQUENTIAL,    /* the reference, as the options ask */
    PX__EXEC_COUNTED,       /* the reference, counting batches itself (one
                               thread, default width) */
    PX__EXEC_ANALYSE,       /* the parallel executor: estimate the whole
                               block's shape, then ask again with it */
    PX__EXEC_NARROW,        /* the block is too narrow: the reference,
                               the exact analysis beside it */
    PX__EXEC_PARALLEL       /* dependency-driven parallel execution */
} px__exec_kind;

/** The shape of a whole block, estimated (engine/exec/par/analysis_impl.h:
 *  estimate_shape()). */
typedef struct px__exec_shape {
    size_t txs;             /* txs of the block */
    uint32_t batches;       /* its critical path in txs: never below the
                               exact batch count */
    uint32_t cost_q16;      /* 0, or the factor (2^16 = 1, below 1) that
                               weighting txs by cost gave the critical
                               path's share of the work in a sample:
                               px__exec_choose() judges batches x it */
} px__exec_shape;

/** The one place that decides how a block runs: before any analysis
 *  (shape NULL: SEQUENTIAL, COUNTED or ANALYSE), and once the parallel
 *  executor has estimated the whole block's shape (NARROW or PARALLEL).
 *  Pure. */
px__exec_kind px__exec_choose(const px__exec_env *env,
    const px__exec_shape *shape);
/** Runs the block on the executor px__exec_choose() picks. */
int px__exec_block(const px__exec_env *env, px__result *res);
/** The specification: a plain loop in block order. */
int px__exec_sequential(const px__exec_env *env, px__result *res);
/** Conflict analysis, batched optimistic parallel execution, validation
 *  and re-execution. Same result as px__exec_sequential. */
int px__exec_parallel(const px__exec_env *env, px__result *res);
/** The block on the reference (the BAL recorder when env->bal_out is
 *  set, which needs env->pre) as a fallback for `reason`
 *  (PAREX_FALLBACK_*): its batches stage 1's count when env->pre is set,
 *  with each profile entry's batch, else counted by the reference. */
int px__exec_reference(const px__exec_env *env, px__result *res,
    uint64_t reason);
/** The whole conflict analysis of env->blk into env->scratch (its key
 *  map, tx records, slots and edges; key entries from arena), for
 *  px__exec_parallel() on the same block next with the same scratch
 *  and arena: it then starts executing at once. accts: each tx's account
 *  key (the txs' own may be written meanwhile). On failure the scratch
 *  holds no analysis and px__exec_parallel() analyses as usual. */
int px__exec_preanalyse(const px__exec_env *env, px__arena *arena,
    const uint8_t (*accts)[32]);
/** Stage 1's extra item (engine/stages/execute.c), on worker w: for a
 *  block its BAL validates, the BAL's index; else the batch count, then,
 *  when the block will run in parallel, its whole analysis. */
void px__stage_precount(parex_engine *e, const px__block *blk, unsigned w);

/* ---- the engine and its stages ---- */

/* engine/engine.c: lifecycle; engine/stages/: one file per stage. */
/** The body of the block being executed, kept for its commit: borrowed
 *  from the caller's buffer during parex_engine_execute(), copied
 *  (px__pending_block_keep) when the block stays pending after it. */
typedef struct px__pending_block {
    const uint8_t *body;
    size_t len;
    uint8_t *copy;      /* malloc'd, or NULL while borrowed */
} px__pending_block;
struct parex_engine {
    /* set up by parex_engine_create */
    parex_db *db;
    px__pool *pool;
    px__worker *workers;
    unsigned threads;
    px__programs progs;
    parex_limits lim;
    uint32_t chain_id;
    int sequential;
    uint32_t min_width;
    uint64_t tx_ns;           /* cost per tx, a moving average over
                                 blocks: the reference's, else sampled
                                 in parallel runs (the decision) */
    uint64_t ref_ns;          /* the same over reference runs only */
    uint64_t par_k;           /* px__exec_env.par_k, a moving average */
    uint32_t since_ref;       /* parallel blocks since the last reference
                                 run */
    uint32_t par_runs;        /* parallel blocks so far (saturating) */
    int dep_heavy;            /* the last parallel block had more than
                                 half its txs in batches above 0 */
    px__scratch scratch;
    px__precount pre;       /* stage 1's batch count, for stage 2 */
    int profiling;
    parex_tx_profile *prof;   /* per-tx profile of the last block */
    size_t n_prof, cap_prof;
    int prof_valid;
    /* the pending block */
    int pending;
    parex_header hdr;
    px__lthash lt;
    px__result res;
    parex_receipt *receipts;  /* kept across blocks (cap_receipts) */
    size_t n_receipts, cap_receipts;
    px__pending_block body;   /* the pending block's txs, for the store */
    /* block access lists (engine/bal/stage.c) */
    int bal_mode;           /* PX__BALM_OFF, _RECORD or _VALIDATE */
    unsigned bal_flags;     /* this block's execute flags */
    px__bal bal;            /* the carried BAL, decoded (borrows) */
    const uint8_t *bal_in;  /* its encoding, bal_in_len bytes */
    size_t bal_in_len;
    px__buf bal_out;        /* the recorded BAL */
    struct px__balws *balws; /* created by the first block with a BAL
                                mode */
    int bal_valid;          /* bal_out holds the last block's BAL */
    int bal_seal;           /* recorded on a block that carried none: the
                               store gets the block sealed with it */
    uint64_t bal_ns;        /* px__bal_begin's decode of the BAL: part of
                               the block's analysis_ns, not decode_ns */
    int bal_deferred;       /* the decode is stage 1's (px__bal_begin) */
    int bal_drc;            /* its verdict, and what it says */
    parex_error_info bal_derr;
    int has_bal_root;       /* tx_root commits to bal_root, the hash of
                               bal_hashed (bal_hashed_len bytes): taken by
                               the root stage's job beside the state
                               root's update, not serially before it */
    const uint8_t *bal_hashed;
    size_t bal_hashed_len;
    uint8_t bal_root[32];
    px__bal_verdict bal_v;
    /* RECORD on a block that carried no BAL, committed by the same call
     * (PAREX_EXEC_COMMIT) on more than one thread: a parallel run may
     * leave its recording, the fee entry and the BAL root to the commit
     * (recsrc armed), which runs them on a worker beside the store's
     * writes, then the tx root, checked against the block's claim. */
    int bal_defer_ok;
    px__recsrc recsrc;
};

enum { PX__BALM_OFF = 0, PX__BALM_RECORD, PX__BALM_VALIDATE };

/* ---- block access lists (engine/exec/bal.c, engine/bal/) ---- */

const char *px__bal_kind_name(int kind);
/** Runs every tx at once against the pre-state bal gives it and checks
 *  its writes and reads against its entry; the change set is the BAL's
 *  final values. A mismatch is res's reject (BAL_MISMATCH) with *v. */
/** The index of bal's writes (by key, in tx order, and the state after
 *  the block) built whole on this thread (wk: its worker) into
 *  env->balws, for px__exec_bal_validate() on the same block next: stage
 *  1's item, beside the signatures. On failure that builds it as usual. */
int px__bal_preindex(const px__exec_env *env, const px__bal *bal,
    px__worker *wk);
/** Clears what px__bal_preindex() left (the next block's stage 1). */
void px__bal_preindex_drop(struct px__balws *ws);
int px__exec_bal_validate(const px__exec_env *env, const px__bal *bal,
    px__result *res, px__bal_verdict *v);
/** The reference loop in block order, recording the BAL (no fee credit
 *  yet) into out. Same result as px__exec_sequential. */
int px__exec_bal_record(const px__exec_env *env, px__result *res,
    px__buf *out);
/** The buffers both BAL executors keep from block to block (contexts,
 *  per-tx results, the index's parts, the recording overlay), grown only
 *  so that a warm engine's BAL block allocates (almost) nothing. One per
 *  engine, used by one block at a time. create: PAREX_E_NOMEM. */
typedef struct px__balws px__balws;
int px__balws_create(px__balws **out);
void px__balws_free(px__balws *ws);

/** The engine side (engine/bal/stage.c). Picks the mode from the flags
 *  and decodes the block's BAL (PAREX_E_BLOCK on a malformed one), or,
 *  with defer and a BAL to validate, leaves the decode to stage 1's first
 *  item (px__bal_load_deferred). Runs after px__stage_check(). */
int px__bal_begin(parex_engine *e, const px__block *blk, unsigned flags,
    int defer, parex_error_info *err);
/** Stage 1's item: the deferred decode, its verdict kept in the engine
 *  (e->bal_drc, e->bal_derr). Returns that verdict. */
int px__bal_load_deferred(parex_engine *e, const px__block *blk);
/** After stage 1: the deferred decode's verdict (err filled as
 *  px__bal_begin() would have), PAREX_OK when none was deferred. */
int px__bal_deferred_verdict(const parex_engine *e, parex_error_info *err);
/** The executor of this block when the mode is not off (else returns 1). */
int px__bal_execute(parex_engine *e, const px__exec_env *env, int *rc);
/** After the fee credit: the fee entry (recorded or checked), the BAL
 *  root. Returns PAREX_OK, PAREX_E_BLOCK, PAREX_E_NOMEM. */
int px__bal_after_fees(parex_engine *e, const px__block *blk,
    parex_error_info *err);
/** parex_engine_commit() of the pending block; blk: the block, when the
 *  call that executed it commits it (a recording left to the commit,
 *  e->recsrc armed, needs it for the tx root; err then gets a claimed
 *  tx root's mismatch, PAREX_E_BLOCK). */
int px__engine_commit(parex_engine *e, parex_block_stats *stats,
    const px__block *blk, parex_error_info *err);
/** What e->recsrc left (armed), on worker w: the BAL's recording
 *  (PX__REC_ALL), its fee entry and its root, as px__bal_after_fees()
 *  would have made them.
 *  PAREX_E_NOMEM, or a store error. */
int px__bal_record_deferred(parex_engine *e, unsigned w);
/** The error of a BAL_MISMATCH rejection. */
int px__bal_reject(parex_engine *e, parex_error_info *err);
/** Drops the block's decoded BAL (end of every execute). */
void px__bal_end(parex_engine *e);

/* engine/stages/prepare.c: a block's stateless stage, ahead of time. */
const px__block *px__prepared_block(const parex_prepared *p);
/** Whether p was prepared under e's chain id and limits. */
int px__prepared_matches(const parex_engine *e, const parex_prepared *p);
/** The prepared verdict of every signature and chain id, reported as
 *  px__stage_verify() reports it; fills st's decode and verify times. */
int px__prepared_verdict(const parex_engine *e, const parex_prepared *p,
    unsigned flags, parex_block_stats *st, parex_error_info *err);
/** The prepared block's bytes (the store keeps its body). */
const uint8_t *px__prepared_bytes(const parex_prepared *p, size_t *len);

/** Frees the pending block's result, receipts and body (engine.c). */
void px__engine_drop_pending(parex_engine *e);
/** Renews every worker's read snapshot (all or none). */
int px__engine_snaps_renew(parex_engine *e);
void px__engine_snaps_reset(parex_engine *e);

/** Stage 1a: receipt room, the stored head, height and parent; fills
 *  e->hdr's parent, height and fee recipient. *snaps = 1 once the
 *  snapshots are open. Returns PAREX_OK, PAREX_E_BUFFER, PAREX_E_BLOCK
 *  (HEIGHT, PARENT), PAREX_E_NOTFOUND (no genesis), storage errors. */
int px__stage_check(parex_engine *e, const px__block *blk, size_t cap,
    int *snaps, parex_error_info *err);
/** Whether stage 1b runs one more item beside the signatures (the
 *  block's count and analysis, or its BAL's decode and index), from
 *  flags (PAREX_EXEC_VERIFIED: no). */
int px__stage1_item(const parex_engine *e, const px__block *blk,
    unsigned flags);
/** Stage 1b: tx ids, account keys, chain ids and signatures, in parallel.
 *  Returns PAREX_OK, PAREX_E_BLOCK (a deferred BAL decode's verdict
 *  first, then CHAIN_ID, BAD_SIGNATURE: the first bad tx),
 *  PAREX_E_NOMEM. */
int px__stage_verify(parex_engine *e, px__block *blk, unsigned flags,
    parex_block_stats *st, parex_error_info *err);
/** One tx's part of stage 1b (also the prepared path's): fills t's id and
 *  account key, checks its chain id and, unless trusted, its signature.
 *  Returns 0 or the parex_reject reason (CHAIN_ID, BAD_SIGNATURE).
 *  Thread-safe for distinct txs. */
uint8_t px__tx_verify_one(px__btx *t, uint32_t chain_id, int trusted);
/** The block's error from the per-tx reasons bad[blk->n] (0: fine): the
 *  first bad tx, BAD_SIGNATURE ignored when trusted. Returns PAREX_OK or
 *  PAREX_E_BLOCK (err names the tx and field). */
int px__verify_verdict(const px__block *blk, const uint8_t *bad,
    uint32_t chain_id, int trusted, parex_error_info *err);
/** Stage 2: execution into e->res and e->receipts, then the fee credit.
 *  Returns PAREX_OK, PAREX_E_BLOCK (the rejected tx), engine errors. */
int px__stage_execute(parex_engine *e, const px__block *blk,
    parex_block_stats *st, parex_error_info *err);
/** e->hdr's tx root: blk's tx ids, with e->bal_root when has_bal_root.
 *  PAREX_E_NOMEM. */
int px__tx_root(parex_engine *e, const px__block *blk);
/** Whether a header's claimed root (all zero: none claimed) allows got. */
int px__root_claim_ok(const uint8_t claim[32], const uint8_t got[32]);
/** Stage 3: e->lt and e->hdr's state, tx and receipts roots (the tx root,
 *  and the check of its claim, left to the commit while e->recsrc is
 *  armed); checks the roots the header claims. Returns PAREX_OK, PAREX_E_BLOCK
 *  (ROOT_MISMATCH), PAREX_E_NOMEM, storage errors. */
int px__stage_root(parex_engine *e, const px__block *blk,
    parex_block_stats *st, parex_error_info *err);
/** A receipt's 48-byte encoding, as stored (records.c) and hashed: txid,
 *  u32le status, u32le code, u64le fee (stages/root.c). */
void px__receipt_encode(uint8_t out[48], const parex_receipt *r);

/* ---- the store's records (records.c), shared by the stages, db.c and
 * genesis.c ---- */
void px__header_key(uint8_t out[8], uint64_t height);
int px__read_head(px__snap *sn, parex_header *out);
int px__read_lthash(px__snap *sn, px__lthash *out);
/** Writes header, meta "head" and meta "lthash". */
int px__write_head(px__wtxn *w, const parex_header *h, const px__lthash *lt);
/** The BAL trailer after a block's txs, as parex_block_attach_bal()
 *  frames it (docs/formats.md): u32le 0, u32le bal_len, then the BAL's
 *  bal_len bytes, PX__BAL_TRAILER_BYTES + bal_len bytes at q in all. */
#define PX__BAL_TRAILER_BYTES 8
static inline void px__bal_trailer_write(uint8_t *q, const uint8_t *bal,
    size_t bal_len)
{
    px__st32(q, 0);
    px__st32(q + 4, (uint32_t)bal_len);
    memcpy(q + PX__BAL_TRAILER_BYTES, bal, bal_len);
}
/** The receipts of the block at height ("receipts", "blockrcpt"). */
int px__write_receipts(px__wtxn *w, uint64_t height,
    const parex_receipt *receipts, size_t n);
/** The block record of height h->height ("blocks", "hashes"); body is the
 *  encoding after the 168-byte header (u32le count, then the txs); bal,
 *  when not NULL, the BAL (bal_len bytes, not already in body) appended
 *  after the txs as parex_block_attach_bal() frames it. */
int px__write_block_record(px__wtxn *w, const parex_header *h,
    const uint8_t *body, size_t body_len, const uint8_t *bal, size_t bal_len);
/** Both (state_int.h: "blocks", "hashes", "receipts", "blockrcpt"),
 *  receipts first. */
int px__write_block(px__wtxn *w, const parex_header *h, const uint8_t *body,
    size_t body_len, const uint8_t *bal, size_t bal_len,
    const parex_receipt *receipts, size_t n);
void px__pending_block_set(px__pending_block *pb, const uint8_t *block,
    size_t len);
int px__pending_block_keep(px__pending_block *pb);
void px__pending_block_release(px__pending_block *pb);
/** Meta "chain_id" and "genesis" of the store in sn: PAREX_OK with both
 *  (chain id 0 when written by parex_db_genesis(), which records none),
 *  PAREX_E_NOTFOUND (no genesis yet), PAREX_E_CORRUPT. */
int px__read_chain(px__snap *sn, uint32_t *chain_id, uint8_t genesis[32]);
/** Writes meta "genesis" (the block-0 header hash) and "chain_id". */
int px__write_chain(px__wtxn *w, const uint8_t genesis[32], uint32_t chain_id);
/** The store's recorded chain id; 0 when none (no genesis yet, or one
 *  written by parex_db_genesis()). */
int px__db_chain_id(const parex_db *db, uint32_t *chain_id);

/* ---- caller-sized structs (parex_common.h, "ABI") ---- */
/** Copy the caller's struct in (size in its first member) over *def
 *  (ours bytes, defaults filled): fields the caller's older struct lacks
 *  keep their defaults; a newer caller's fields past ours must be zero.
 *  Returns PAREX_OK or PAREX_E_MISUSE (implausible size, or a field this
 *  library does not know is set); *def's size is left as ours. */
int px__sized_in(void *def, size_t ours, const void *in);
/** Check a caller's output struct's size: PAREX_OK or PAREX_E_MISUSE. */
int px__sized_check(const void *out);
/** Write src (ours bytes) into the caller's output struct, at most the
 *  caller's size, keeping the caller's size member. */
void px__sized_out(void *out, const void *src, size_t ours);

static inline uint64_t px__now_ns(void);
#include <time.h>
static inline uint64_t px__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* PX_ENGINE_INT_H */
