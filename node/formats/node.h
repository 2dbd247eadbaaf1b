/* node/formats/: the base of the `parex` program's libraries (diagnostics,
 * memory, files, JSON helpers) and its input formats (blocks, fixtures,
 * traces, declare modes). Includes no other node/ folder; the commands are
 * node/cli/cli.h's, the reference node node/daemon/daemon.h's, the
 * benchmark harness node/bench/bench.h's.
 *
 * Only node/ prints or exits. Every loader reports errors into a caller
 * buffer (char err[NODE_ERR_LEN]) as one sentence that names the file, the
 * line or block/tx index and the field, so the commands decide what to do.
 * Everything reaches the library through <parex/parex.h> only.
 */
#ifndef PX_NODE_H
#define PX_NODE_H

#include <parex/parex.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* Exit codes of every command (documented in `parex help`). */
#define NODE_EXIT_OK 0
#define NODE_EXIT_MISMATCH 1  /* a verdict failed: mismatch, verify, not found */
#define NODE_EXIT_USAGE 2     /* bad command line */
#define NODE_EXIT_INPUT 3     /* an input file could not be read or decoded */
#define NODE_EXIT_RUNTIME 4   /* storage, memory or unexpected library error */

#define NODE_ERR_LEN 512

/* ---- util.c: diagnostics, memory, bytes ------------------------------- */

/** Print "parex: <msg>" to stderr and exit with code. */
void node_die(int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((noreturn, format(printf, 2, 3)))
#endif
    ;
/** Print "parex: <msg>" to stderr. */
void node_warn(const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Log levels of node_log(). */
#define NODE_LOG_DEBUG 0
#define NODE_LOG_INFO 1
#define NODE_LOG_WARN 2
#define NODE_LOG_ERROR 3
/** Lines below this level are not printed (default NODE_LOG_INFO). */
extern int node_log_level;
/** One log line on stderr: "2026-01-02T03:04:05.678Z info <msg>" (UTC
 *  wall clock, the level's name), written with one call so that lines of
 *  threads do not mix. Thread-safe. */
void node_log(int level, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/** snprintf into err[NODE_ERR_LEN]; returns -1 so loaders can
 *  `return node_err(...)`. */
int node_err(char *err, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/** malloc/calloc/realloc that die on failure (n may be 0): never NULL,
 *  which the attribute tells gcc (its -Wformat-truncation otherwise warns
 *  of a NULL destination in sanitizer builds). */
#if defined(__GNUC__)
#define NODE_NONNULL_RESULT __attribute__((returns_nonnull))
#else
#define NODE_NONNULL_RESULT
#endif
void *node_malloc(size_t n) NODE_NONNULL_RESULT;
void *node_calloc(size_t n, size_t size) NODE_NONNULL_RESULT;
void *node_realloc(void *p, size_t n) NODE_NONNULL_RESULT;
char *node_strdup(const char *s);

/** A growable byte buffer. Zeroed is empty. */
typedef struct node_buf {
    uint8_t *p;
    size_t len, cap;
} node_buf;

void node_buf_put(node_buf *b, const void *data, size_t n);
void node_buf_u8(node_buf *b, uint8_t v);
void node_buf_u32le(node_buf *b, uint32_t v);
void node_buf_u64le(node_buf *b, uint64_t v);
void node_buf_release(node_buf *b);

void node_put_u32le(uint8_t out[4], uint32_t v);
void node_put_u64le(uint8_t out[8], uint64_t v);
/** The u64 stored little-endian at in. */
uint64_t node_get_u64le(const uint8_t in[8]);

/** Lower-case hex of n bytes into out (2n+1 chars, NUL-terminated). */
void node_hex(char *out, const uint8_t *in, size_t n);
/** Decode hex (either case, even length). Returns the byte count, or -1 on
 *  a bad digit or odd length. out must hold strlen(hex)/2 bytes. */
long node_unhex(uint8_t *out, const char *hex, size_t hexlen);
/** The value of one hex digit, or -1. */
int node_hexval(char c);

/** Parse an unsigned decimal u64 (no sign, no spaces, no leading '+').
 *  Returns 0 or -1. */
int node_parse_u64(uint64_t *out, const char *s);

/** Largest input file the loaders read whole (fixtures, traces): twice
 *  the largest block (max_block_bytes, 512 MiB) as hex JSON would not fit,
 *  but no real input comes near; it bounds what a file can make us
 *  allocate. docs/security.md. */
#define NODE_MAX_INPUT_BYTES ((uint64_t)1 << 30)

/** Read a whole file (NUL-terminated copy). Returns 0 or -1 (errno;
 *  EFBIG for a file over NODE_MAX_INPUT_BYTES, checked before reading). */
int node_read_file(char **out, size_t *len, const char *path);

/** The reason node_read_file failed, for messages: strerror(errno), or
 *  the input limit for EFBIG. */
const char *node_read_error(int err);

/** Monotonic clock in nanoseconds. */
uint64_t node_now_ns(void);
/** Online CPUs (at least 1). */
unsigned node_cpus(void);

/* ---- fs.c: temporary directories and input discovery ------------------ */

/** mkdtemp "<$TMPDIR or /tmp>/parex-<tag>-XXXXXX"; returns a malloc'd path
 *  or dies. */
char *node_tmpdir(const char *tag);
/** Create dir (and parents are not created); 0, or -1 with errno. EEXIST
 *  is an error unless the directory is empty. */
int node_mkdir_fresh(const char *dir);
/** Remove a directory tree. Returns 0 or -1. */
int node_rmtree(const char *dir);

/** A sorted list of input files. */
typedef struct node_paths {
    char **v;
    size_t n, cap;
} node_paths;

/** Append path; a directory is walked recursively, and its *.json and
 *  *.jsonl files are added sorted by full path. Returns 0 or -1 (err). */
int node_paths_add(node_paths *ps, char *err, const char *path);
void node_paths_release(node_paths *ps);
/** 1 if path ends in ".jsonl" (a trace), 0 otherwise (a fixture). */
int node_is_trace(const char *path);

/* ---- json.c: typed access to jansson values with named errors -------- */

/** Field accessors. `where` prefixes the message ("f.json: block 2: tx 0"),
 *  `name` is the field. Missing fields are errors unless stated. */
int node_json_u64(uint64_t *out, char *err, const char *where,
    const char *name, const json_t *v);
int node_json_u32(uint32_t *out, char *err, const char *where,
    const char *name, const json_t *v);
/** Exactly n bytes of hex. */
int node_json_hexn(uint8_t *out, size_t n, char *err, const char *where,
    const char *name, const json_t *v);
/** Any even-length hex; *out malloc'd (NULL when empty). */
int node_json_hex(uint8_t **out, size_t *len, char *err, const char *where,
    const char *name, const json_t *v);
/** Check that object o has only the listed keys (NULL-terminated). */
int node_json_only(char *err, const char *where, const json_t *o,
    const char *const *allowed);
/** A u64 as JSON: a number up to 2^53, a decimal string above. */
json_t *node_json_from_u64(uint64_t v);
json_t *node_json_from_hex(const uint8_t *p, size_t n);
/** The JSON-RPC encodings (docs/node.md): a u64 quantity as "0x" and hex
 *  digits without leading zeros ("0x0"); bytes and hashes as "0x" and two
 *  lowercase hex digits a byte. node_json_u64 reads quantities too. */
json_t *node_json_quantity(uint64_t v);
json_t *node_json_data(const uint8_t *p, size_t n);
/** Dump v to path in the canonical fixture layout (indent 1, newline at
 *  end). Returns 0 or -1. */
int node_json_write(const char *path, json_t *v);

/* ---- block.c: blocks, transactions, JSON forms ------------------------ */

/** A transaction in memory: its canonical or deliberately malformed
 *  encoding. */
typedef struct node_txbytes {
    uint8_t *p;
    size_t len;
    int raw;     /* came from {"raw": hex}: may be malformed */
} node_txbytes;

/** Encode a block from a header and encoded txs, byte for byte what
 *  parex_block_encode writes for canonical txs: header | u32le n | per tx
 *  u32le len | tx. */
void node_block_encode(node_buf *out, const parex_header *h,
    const node_txbytes *txs, size_t n);

/** Encode tx canonically into a malloc'd buffer. Returns 0, or -1 with err
 *  naming the field. */
int node_tx_encode(node_txbytes *out, char *err, const char *where,
    const parex_tx *tx);

/** Decode a tx JSON object (fixture/block form) into its encoding; "raw"
 *  objects are taken as they are. chain_id_default fills a missing
 *  "chain_id". */
int node_tx_from_json(node_txbytes *out, char *err, const char *where,
    const json_t *o, uint32_t chain_id_default);
/** JSON object of a canonical tx. */
json_t *node_tx_to_json(const parex_tx *tx);
/** JSON object of raw bytes: {"raw": hex}. */
json_t *node_raw_to_json(const uint8_t *p, size_t len);

json_t *node_header_to_json(const parex_header *h, int with_roots);
/** Header JSON: height (required unless have_height is NULL),
 *  parent (optional: *have_parent = 0 when missing), fee_recipient
 *  (optional, default fee_default), tx_root, receipts_root, state_root
 *  (optional, default zero = not claimed). */
int node_header_from_json(parex_header *out, int *have_height,
    int *have_parent, char *err, const char *where, const json_t *o,
    const uint8_t fee_default[32]);

const char *node_status_name(uint32_t status);
/** Status by name; returns 0 or -1. */
int node_status_parse(uint32_t *out, const char *name);
/** Rejection reason by name ("BAD_NONCE"); returns 0 or -1. */
int node_reject_parse(int *out, const char *name);

/* ---- keys.c: deterministic signers ------------------------------------ */

/** Signer i of trace import: parex_key_from_seed("parex-trace-signer" ||
 *  u64le(i)). Cached for the process; the pointers stay valid. */
void node_trace_signer(const uint8_t **sec, const uint8_t **pub, uint64_t i);
/** Fee recipient of trace blocks (seed "parex-trace-fee-recipient"). */
void node_trace_fee_recipient(uint8_t pub[32]);
/** Keypair from a string seed; dies on library failure. */
void node_key_from_str(uint8_t sec[32], uint8_t pub[32], const char *seed);

/* ---- declare.c: declaration modes of trace import --------------------- */

enum { NODE_DECLARE_EXACT, NODE_DECLARE_NONE, NODE_DECLARE_DROP,
       NODE_DECLARE_ADD };

typedef struct node_declare {
    int kind;
    double p;         /* probability for drop/add, in [0, 1] */
    uint64_t seed;
} node_declare;

/** Parse "exact", "none", "drop:P:SEED" or "add:P:SEED". 0 or -1 (err). */
int node_declare_parse(node_declare *out, char *err, const char *s);

/** Deterministic PRNG of the declare modes (splitmix64). */
typedef struct node_rng {
    uint64_t s;
} node_rng;
/** Seed for tx index i: s = SEED xor (i * 0xD1B54A32D192ED03). */
void node_rng_init(node_rng *r, uint64_t seed, uint64_t i);
uint64_t node_rng_next(node_rng *r);
/** 1 with probability p: (next() >> 11) < p * 2^53. */
int node_rng_chance(node_rng *r, double p);

/** Build the declared sets of one tx. r/w: the tx's hashed keys as listed
 *  (nr, nw of them); account: the signer's account key; universe: sorted
 *  unique keys of the whole block (nu). Outputs are malloc'd, sorted,
 *  unique and disjoint. */
void node_declare_sets(uint8_t **rs, size_t *nrs, uint8_t **ws, size_t *nws,
    const node_declare *d, uint64_t i, const uint8_t *r, size_t nr,
    const uint8_t *w, size_t nw, const uint8_t account[32],
    const uint8_t *universe, size_t nu);

/** Sort n 32-byte keys and drop duplicates; returns the new count. */
size_t node_keys_sort_unique(uint8_t *keys, size_t n);

/* ---- trace.c: JSON Lines traces --------------------------------------- */

typedef struct node_trace_tx {
    char *id;            /* the line's "id", or its decimal "i" */
    size_t nr, nw;
    uint8_t *r, *w;      /* SHA-256 of each key string, in line order */
} node_trace_tx;

typedef struct node_trace {
    size_t n;
    node_trace_tx *txs;
} node_trace;

/** Parse a trace file's text. Errors read "FILE:LINE: field 'w' ...". */
int node_trace_parse(node_trace *out, char *err, const char *file,
    const char *text, size_t len);
int node_trace_load(node_trace *out, char *err, const char *file);
void node_trace_release(node_trace *t);

/** The trace program's args of one line (docs/formats.md). */
void node_trace_args(node_buf *out, const node_trace_tx *t);

/** Turn a trace into signed transactions: encodings in (*txs)[0..t->n-1]
 *  (malloc'd; free with node_txs_free). chain_id is the txs' chain id. */
int node_trace_txs(node_txbytes **txs, char *err, const char *file,
    const node_trace *t, const node_declare *d, uint32_t chain_id);
void node_txs_free(node_txbytes *txs, size_t n);

/** Height-1 header of a trace block on top of genesis. */
void node_trace_header(parex_header *h, const parex_header *genesis);

/** Header of the genesis a trace runs on (an empty state, fee recipient
 *  node_trace_fee_recipient()), computed by parex_genesis_header(); no
 *  store is opened. Dies on a library error. */
void node_trace_genesis_header(parex_header *out);

/* ---- fixture.c: the fixture format ------------------------------------ */

typedef struct node_fx_receipt {
    uint32_t status;
    int32_t code;
    uint64_t fee;
    int have_txid;
    uint8_t txid[32];
} node_fx_receipt;

typedef struct node_fx_block {
    parex_header header;
    int have_height, have_parent;
    size_t ntx;
    node_txbytes *txs;
    /* expectation */
    int reject;            /* nonzero: expected PAREX_REJECT_* */
    int64_t reject_tx;     /* expected tx index, -1 for the header */
    uint8_t state_root[32];
    node_fx_receipt *receipts;   /* ntx of them when !reject */
    int have_batches;
    uint64_t batches;
    uint8_t *bal;          /* the block's BAL ("bal"), or NULL */
    size_t bal_len;
} node_fx_block;

typedef struct node_fixture {
    char *description;
    uint32_t chain_id;
    uint8_t fee_recipient[32];
    size_t nkv;
    parex_kv *kvs;        /* values malloc'd */
    size_t nblocks;
    node_fx_block *blocks;
} node_fixture;

int node_fixture_parse(node_fixture *out, char *err, const char *file,
    const char *text, size_t len);
int node_fixture_load(node_fixture *out, char *err, const char *file);
void node_fixture_release(node_fixture *f);

/* ---- bal.c: block access lists ---------------------------------------- */

/** Record the BAL of an encoded block executed on a fresh temporary store
 *  holding genesis (kvs, fee recipient), with chain_id and threads.
 *  Returns 0 (*bal malloc'd, *bal_len) or -1 with err set (the block is
 *  rejected, or a library error). */
int node_bal_record(uint8_t **bal, size_t *bal_len, char *err,
    const uint8_t *block, size_t len, const parex_kv *kvs, size_t nkv,
    const uint8_t fee_recipient[32], uint32_t chain_id, unsigned threads);
/** block with bal attached as its trailer, into out (reset first). */
void node_block_attach_bal(node_buf *out, const uint8_t *block, size_t len,
    const uint8_t *bal, size_t bal_len);

/* ---- pipeline.c: block pipelining ------------------------------------- */

/** A pipeline of n blocks: helper threads decode the blocks ahead and
 *  check their signatures (parex_block_prepare_start(),
 *  parex_prepared_verify()) while the caller executes, roots and commits
 *  the one before them (issue 10). The helpers run at the lowest
 *  priority, as many as the cores engine_threads leave over (at least
 *  one); what they have not checked when a block's turn comes the
 *  engine checks (parex_engine_execute_prepared()). Blocks are taken in
 *  order, 0..n-1. */
typedef struct node_pipe node_pipe;
/** Writes block i's bytes into out (emptied, reused). Called on a helper
 *  or the caller's thread, for each i once: it must only read what the
 *  caller does not change while the pipeline runs. The header may be a
 *  placeholder: the caller sets the real one with
 *  parex_prepared_set_header(). */
typedef void (*node_pipe_encode_fn)(void *user, size_t i, node_buf *out);
/** Start the helpers, decoding at most max(1, cpus - engine_threads)
 *  blocks ahead of the last one taken. e is only read (chain id and
 *  limits). Dies on thread or lock failure. */
node_pipe *node_pipe_start(const parex_engine *e, size_t n,
    unsigned engine_threads, node_pipe_encode_fn encode, void *user);
/** Block i, the next after the last taken, decoded (by the caller if no
 *  helper started it). Returns parex_block_prepare_start()'s code and
 *  error; on PAREX_OK *p is the prepared block, lent until
 *  node_pipe_put(pl, i) (helpers may still be checking it: execute it,
 *  set its header, do not free it), else NULL. */
int node_pipe_take(node_pipe *pl, size_t i, parex_prepared **p,
    parex_error_info *err);
/** Give block i back once executed: waits for the helpers still checking
 *  it, frees it. */
void node_pipe_put(node_pipe *pl, size_t i);
/** Stop the workers, join them, free what was not taken. NULL: no-op. */
void node_pipe_stop(node_pipe *pl);

#endif /* PX_NODE_H */
