/* node/ private API of the reference node (`parex node`) and its clients:
 * the key map, the mempool, JSON-RPC dispatch, the block producer, the
 * HTTP server and the small HTTP client.
 *
 * Threads: the HTTP server calls node_rpc_handle() from several threads at
 * once; one producer thread executes and commits blocks. The mempool is
 * guarded by node_ctx.lock (one mutex). Reads of state, blocks and
 * receipts go through libparex read transactions (parex_read_begin()), one
 * consistent snapshot each, which parex_engine.h allows to run
 * concurrently with the engine's execution and commit. The node keeps no
 * store of its own: the engine commits each block, its receipts and its
 * state in one LMDB write transaction.
 */
#ifndef PX_NODE_DAEMON_H
#define PX_NODE_DAEMON_H

#include "formats/node.h"
/* The one non-public header node/ may use: parex's key table, a
 * self-contained library (engine/keymap/meson.build) with no tie to the
 * engine's internals. */
#include "keymap.h"

#include <pthread.h>

/* ---- keymap.c: 32-byte keys to u64 values ----------------------------- */

/** 32-byte keys (tx ids, public keys) to u64 values: a wrapper over
 *  parex's one key table (engine/keymap: seeded, all 32 bytes hashed).
 *  Zeroed is empty. Not thread-safe. */
typedef struct node_keymap {
    px__keymap m;
    int init;
} node_keymap;

/** Insert or replace; returns 1 if key was present (value replaced), 0 if
 *  added. Dies when memory runs out. */
int node_keymap_put(node_keymap *m, const uint8_t key[32], uint64_t val);
/** 1 and *val when present, 0 when absent (val may be NULL). */
int node_keymap_get(const node_keymap *m, const uint8_t key[32],
    uint64_t *val);
/** Remove key; 1 (and *val, may be NULL) if it was present, 0 if not. */
int node_keymap_del(node_keymap *m, const uint8_t key[32], uint64_t *val);
/** Keys held. */
size_t node_keymap_count(const node_keymap *m);
void node_keymap_release(node_keymap *m);

/* ---- mempool.c: pending transactions ---------------------------------- */

/** A pending transaction. Owned by the mempool; freed only by
 *  node_mempool_remove() and node_mempool_select() (stale ones), so a
 *  thread that is the only one calling those may keep using an entry it
 *  selected after releasing the lock. */
typedef struct node_mp_tx {
    uint8_t txid[32];
    uint8_t sender[32];
    uint64_t nonce;
    uint64_t seq;        /* arrival number */
    uint8_t *bytes;      /* canonical encoding, len bytes */
    size_t len;
} node_mp_tx;

typedef struct node_mempool node_mempool;

#define NODE_MP_OK 0
#define NODE_MP_DUP (-1)          /* same tx id already pending */
#define NODE_MP_NONCE_TAKEN (-2)  /* another tx of this sender and nonce */
#define NODE_MP_FULL (-3)         /* max_txs or max_bytes reached */

/** Create a mempool holding at most max_txs transactions and max_bytes
 *  bytes of encodings. Dies when memory runs out. */
node_mempool *node_mempool_create(size_t max_txs, size_t max_bytes);
void node_mempool_destroy(node_mempool *mp);

/** Add a transaction (bytes copied). Returns NODE_MP_OK or one of the
 *  negative NODE_MP_* codes; nothing changes on error. */
int node_mempool_add(node_mempool *mp, const uint8_t txid[32],
    const uint8_t sender[32], uint64_t nonce, const uint8_t *bytes,
    size_t len);

size_t node_mempool_size(const node_mempool *mp);
size_t node_mempool_bytes(const node_mempool *mp);
size_t node_mempool_senders(const node_mempool *mp);
int node_mempool_contains(const node_mempool *mp, const uint8_t txid[32]);
/** Pending txs of one sender (0 if none). */
size_t node_mempool_sender_count(const node_mempool *mp,
    const uint8_t sender[32]);

/** The next nonce of sender, from committed state: 0 and *nonce, or -1
 *  when it cannot be read (the sender is skipped this time). */
typedef int (*node_nonce_fn)(uint64_t *nonce, const uint8_t sender[32],
    void *user);
/** Told about each stale tx (nonce below the sender's next nonce) just
 *  before select frees it. */
typedef void (*node_drop_fn)(const node_mp_tx *tx, uint64_t next_nonce,
    void *user);

/** Pick up to max ready transactions for a block: senders in the order
 *  they became pending, for each the run of consecutive nonces starting at
 *  its next nonce (so per-sender nonce order holds in the block). Stale
 *  txs are removed (drop is told). Returns the count written to out; the
 *  entries stay in the mempool until removed. */
size_t node_mempool_select(node_mempool *mp, node_mp_tx **out, size_t max,
    node_nonce_fn nonce_of, node_drop_fn drop, void *user);

/** Remove and free one transaction; 1 if it was present, 0 if not. */
int node_mempool_remove(node_mempool *mp, const uint8_t txid[32]);

/* ---- the node's shared context --------------------------------------- */

#define NODE_STAGES 9

/** Counters for /metrics; guarded by node_ctx.mlock. */
typedef struct node_metrics {
    uint64_t blocks, txs, batches, reexecutions, fallback_blocks;
    uint64_t verify_skipped;   /* txs the engine did not re-verify */
    uint64_t dropped, rejected, accepted;
    uint64_t stage_ns[NODE_STAGES]; /* decode .. commit, total */
    /* A ring of (commit time, txs) for tx/s over the last window. */
    uint64_t ring_t[256], ring_n[256];
    unsigned ring_pos, ring_len;
} node_metrics;

typedef struct node_ctx {
    parex_db *db;              /* state, blocks and receipts: the engine
                                  commits them together, the RPC reads
                                  them in read transactions */
    uint32_t chain_id;
    parex_limits limits;
    uint8_t fee_recipient[32];
    uint64_t max_nonce_gap;    /* accept nonce <= next + gap */
    size_t max_body;           /* HTTP body limit, bytes */
    size_t max_block_txs;

    pthread_mutex_t lock;      /* guards mp, stop, and wakes the producer */
    pthread_cond_t wake;
    node_mempool *mp;
    int stop;

    pthread_mutex_t mlock;     /* guards metrics */
    node_metrics m;
    uint64_t start_ns;
} node_ctx;

/** Set up the locks, the mempool and counters of c (db and the other
 *  fields are set by the caller). */
void node_ctx_init(node_ctx *c, size_t mempool_txs, size_t mempool_bytes);
void node_ctx_release(node_ctx *c);

/* ---- rpc.c: JSON-RPC 2.0 dispatch -------------------------------------- */

/** Handle one HTTP request body (a JSON-RPC 2.0 request or batch) and
 *  return the response text (malloc'd, NUL-terminated), or NULL when there
 *  is nothing to answer (only notifications). Pure with respect to I/O:
 *  no HTTP here, so tests and fuzzers call it directly. Thread-safe. */
char *node_rpc_handle(node_ctx *c, const char *body, size_t len);

/** A JSON-RPC error response with a null id (for the HTTP layer: body too
 *  large). malloc'd. */
char *node_rpc_error_text(int code, const char *msg);

/* JSON-RPC error codes: the standard ones and the node's (-32000..-32099
 * are reserved for implementations). */
#define NODE_RPC_PARSE (-32700)
#define NODE_RPC_INVALID_REQUEST (-32600)
#define NODE_RPC_NO_METHOD (-32601)
#define NODE_RPC_INVALID_PARAMS (-32602)
#define NODE_RPC_INTERNAL (-32603)
#define NODE_RPC_TX_REJECTED (-32001)  /* decode, limits, signature, chain */
#define NODE_RPC_NONCE (-32002)        /* nonce used or too far ahead */
#define NODE_RPC_DUPLICATE (-32003)    /* already pending */
#define NODE_RPC_MEMPOOL_FULL (-32004)
#define NODE_RPC_NOT_FOUND (-32005)

/** The metrics page in Prometheus text format (malloc'd). */
char *node_metrics_text(node_ctx *c);

/* ---- producer.c: the block producer thread ---------------------------- */

typedef struct node_producer_opts {
    uint64_t interval_ms;     /* produce at least this often when txs wait */
} node_producer_opts;

typedef struct node_producer node_producer;

/** Start the producer thread on c with engine e (used only by it). */
int node_producer_start(node_producer **out, node_ctx *c, parex_engine *e,
    const node_producer_opts *o);
/** Ask the producer to stop after the block in progress and join it.
 *  Returns the thread's status: 0, or -1 after a fatal storage error. */
int node_producer_stop(node_producer *p);

/** Produce one block from the mempool now (the producer's step; tests call
 *  it directly). Returns the number of txs committed, 0 when none were
 *  ready, -1 on a fatal error (err). */
long node_produce_block(node_ctx *c, parex_engine *e, char *err);

/* ---- server.c: libmicrohttpd glue -------------------------------------- */

typedef struct node_server node_server;

/** Listen on host:port (port 0: any free port; *port_out gets the bound
 *  one) and serve POST / (JSON-RPC) and GET /metrics. Returns 0 or -1. */
int node_server_start(node_server **out, char *err, node_ctx *c,
    const char *host, unsigned port, unsigned *port_out);
void node_server_stop(node_server *s);

/* ---- http.c: a minimal HTTP/1.1 client -------------------------------- */

typedef struct node_http {
    int fd;
    char host[256];
    unsigned port;
    char path[256];
} node_http;

/** Parse "http://HOST:PORT[/PATH]" or "HOST:PORT". Returns 0 or -1. */
int node_http_parse_url(node_http *h, char *err, const char *url);
/** POST body (Content-Type: application/json) over a keep-alive
 *  connection (opened or reopened as needed); *resp malloc'd, NUL-ended.
 *  Returns the HTTP status or -1 with err. */
int node_http_post(node_http *h, char *err, const char *body, size_t len,
    char **resp, size_t *resp_len);
void node_http_close(node_http *h);

#endif /* PX_NODE_DAEMON_H */
