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

/** A pending transaction. Owned by the mempool; freed by
 *  node_mempool_remove(), node_mempool_select() (stale ones),
 *  node_mempool_add() (evicted ones) and node_mempool_expire(): an entry is
 *  valid only while the lock around those is held (the producer copies
 *  what it selected before it lets go). */
typedef struct node_mp_tx {
    uint8_t txid[32];
    uint8_t sender[32];
    uint64_t nonce;
    uint64_t fee;
    uint64_t t_ns;       /* arrival, node_now_ns() */
    uint64_t seq;        /* arrival number */
    uint8_t *bytes;      /* canonical encoding, len bytes */
    size_t len;
} node_mp_tx;

typedef struct node_mempool node_mempool;

#define NODE_MP_OK 0
#define NODE_MP_DUP (-1)          /* same tx id already pending */
#define NODE_MP_NONCE_TAKEN (-2)  /* another tx of this sender and nonce */
#define NODE_MP_FULL (-3)         /* full of txs paying as much per byte */
#define NODE_MP_SENDER_FULL (-4)  /* the sender's pending cap reached */

/* Why a pending tx left the mempool without being committed (the status
 * getReceipt reports, the reason label of parex_node_txs_dropped_total). */
#define NODE_DROP_STALE 0         /* its nonce was used by another tx */
#define NODE_DROP_FEE 1           /* the sender could not pay the fee */
#define NODE_DROP_FEE_OVERFLOW 2  /* the fee overflows the recipient */
#define NODE_DROP_REJECTED 3      /* the engine refused it otherwise */
#define NODE_DROP_EXPIRED 4       /* pending longer than the TTL */
#define NODE_DROP_EVICTED 5       /* pushed out by a tx paying more */
#define NODE_DROP_REASONS 6
/** The name of a NODE_DROP_* reason ("stale_nonce", ...). */
const char *node_drop_name(int reason);

/** Create a mempool holding at most max_txs transactions, max_bytes bytes
 *  of encodings and max_per_sender txs of one sender (0: no cap). Dies
 *  when memory runs out. */
node_mempool *node_mempool_create(size_t max_txs, size_t max_bytes,
    size_t max_per_sender);
void node_mempool_destroy(node_mempool *mp);

/** What node_mempool_add() copies in. */
typedef struct node_mp_in {
    const uint8_t *txid, *sender;  /* 32 bytes each */
    uint64_t nonce, fee, t_ns;
    uint64_t next_nonce;           /* the sender's committed next nonce */
    const uint8_t *bytes;
    size_t len;
} node_mp_in;

/** Told about each tx that leaves without being committed, with its
 *  NODE_DROP_* reason, just before it is freed. */
typedef void (*node_mp_gone_fn)(const node_mp_tx *tx, int reason,
    void *user);

/** Add a transaction (bytes copied). When the pool is full, the last txs
 *  of other senders are evicted (gone is told, may be NULL) if that makes
 *  room: those stuck behind a nonce gap when this tx is ready, else those
 *  paying strictly less per byte (stuck first, then the cheapest). Returns NODE_MP_OK or one of the
 *  negative NODE_MP_* codes; nothing changes on error. */
int node_mempool_add(node_mempool *mp, const node_mp_in *in,
    node_mp_gone_fn gone, void *user);

size_t node_mempool_size(const node_mempool *mp);
size_t node_mempool_bytes(const node_mempool *mp);
size_t node_mempool_senders(const node_mempool *mp);
int node_mempool_contains(const node_mempool *mp, const uint8_t txid[32]);
/** Pending txs of one sender (0 if none). */
size_t node_mempool_sender_count(const node_mempool *mp,
    const uint8_t sender[32]);
/** Sum of the fees of one sender's pending txs (saturating; 0 if none). */
uint64_t node_mempool_sender_fees(const node_mempool *mp,
    const uint8_t sender[32]);

/** The next nonce of sender, from committed state: 0 and *nonce, or -1
 *  when it cannot be read (the sender is skipped this time). */
typedef int (*node_nonce_fn)(uint64_t *nonce, const uint8_t sender[32],
    void *user);
/** Told about each stale tx (nonce below the sender's next nonce) just
 *  before select frees it. */
typedef void (*node_drop_fn)(const node_mp_tx *tx, uint64_t next_nonce,
    void *user);

/** Pick up to max ready transactions of at most max_bytes encoded bytes
 *  in all for a block: senders in the order they became pending, for each
 *  the run of consecutive nonces starting at its next nonce (so per-sender
 *  nonce order holds in the block). Stale txs are removed (drop is told).
 *  Returns the count written to out; the entries stay in the mempool
 *  until removed. */
size_t node_mempool_select(node_mempool *mp, node_mp_tx **out, size_t max,
    size_t max_bytes, node_nonce_fn nonce_of, node_drop_fn drop, void *user);

/** Remove (gone told, NODE_DROP_EXPIRED) every tx that arrived before
 *  cutoff_ns. Returns how many. */
size_t node_mempool_expire(node_mempool *mp, uint64_t cutoff_ns,
    node_mp_gone_fn gone, void *user);

/** Remove and free one transaction; 1 if it was present, 0 if not. */
int node_mempool_remove(node_mempool *mp, const uint8_t txid[32]);

/* ---- the node's shared context --------------------------------------- */

#define NODE_STAGES 8

/* Submission refusals by rule (parex_node_submissions_rejected_total). */
#define NODE_REJ_PARAMS 0          /* not a tx: bad params */
#define NODE_REJ_MALFORMED 1
#define NODE_REJ_LIMIT 2
#define NODE_REJ_CHAIN_ID 3
#define NODE_REJ_SIGNATURE 4
#define NODE_REJ_NONCE_USED 5
#define NODE_REJ_NONCE_GAP 6
#define NODE_REJ_DUPLICATE 7
#define NODE_REJ_BALANCE 8         /* fee not payable */
#define NODE_REJ_SENDER_LIMIT 9
#define NODE_REJ_MEMPOOL_FULL 10
#define NODE_REJ_INTERNAL 11
#define NODE_REJ_REASONS 12
/** The data.reason / label of a NODE_REJ_* code ("MALFORMED", ...). */
const char *node_rej_name(int rej);

/* Latency histogram buckets, seconds (Prometheus le labels). */
#define NODE_HIST_BUCKETS 12
extern const double node_hist_le[NODE_HIST_BUCKETS];
typedef struct node_hist {
    uint64_t b[NODE_HIST_BUCKETS + 1];  /* last: +Inf */
    uint64_t count;
    double sum;
} node_hist;
void node_hist_add(node_hist *h, double seconds);

#define NODE_METHODS 10
/* Fallback reasons counted per reason: PAREX_FALLBACK_* below this (the
 * metrics list those parex_fallback_name() knows); any other in the
 * last. */
#define NODE_FALLBACK_REASONS 8
/** Counters for /metrics; guarded by node_ctx.mlock. */
typedef struct node_metrics {
    uint64_t blocks, txs, batches, reexecutions, fallback_blocks;
    uint64_t parallel_blocks;  /* blocks on the parallel executor */
    uint64_t parallel_txs;     /* and their txs */
    uint64_t fallback_by_reason[NODE_FALLBACK_REASONS];
    uint64_t verify_skipped;   /* txs the engine did not re-verify */
    uint64_t accepted;
    uint64_t dropped[NODE_DROP_REASONS];
    uint64_t rejected[NODE_REJ_REASONS];
    uint64_t reruns;            /* block executions repeated after a drop */
    uint64_t stage_ns[NODE_STAGES]; /* decode .. commit */
    node_hist block_time;       /* execute + commit per block */
    uint64_t rpc_calls[NODE_METHODS + 1];  /* last: unknown method */
    node_hist rpc_time[NODE_METHODS + 1];
    uint64_t http_busy, http_too_large, http_deadline, http_conn_limit;
    uint64_t http_resp_busy;
    uint64_t batch_truncated;   /* batch entries over the response limit */
} node_metrics;

/** Why a tx was dropped, kept for getReceipt/getTransaction (a ring). */
#define NODE_DROP_KEEP 8192
typedef struct node_dropped {
    uint8_t txid[32];
    int reason;               /* NODE_DROP_* */
    uint64_t at_height;       /* the head when it was dropped */
    char msg[160];
} node_dropped;

typedef struct node_ctx {
    parex_db *db;              /* state, blocks and receipts: the engine
                                  commits them together, the RPC reads
                                  them in read transactions */
    uint32_t chain_id;
    parex_limits limits;
    uint8_t fee_recipient[32];
    uint64_t max_nonce_gap;    /* accept nonce <= next + gap */
    size_t max_body;           /* HTTP body limit, bytes */
    size_t body_budget;        /* request bodies in flight, bytes */
    size_t max_response;       /* one response, bytes */
    size_t resp_budget;        /* responses not yet read by clients */
    size_t max_block_txs;
    int no_bal;                /* --no-bal: blocks without a block access
                                  list (default: sealed with one) */
    size_t max_block_bytes;    /* encoded txs per block */
    uint64_t mempool_ttl_ns;   /* pending longer: expired (0: never) */
    int wake_on_add;           /* --block-interval 0: every add wakes */

    pthread_mutex_t lock;      /* guards mp, drops, stop; wakes producer */
    pthread_cond_t wake;
    node_mempool *mp;
    int stop;
    node_dropped *drops;       /* NODE_DROP_KEEP, a ring */
    size_t drop_pos;
    node_keymap drop_ix;       /* txid -> ring slot + 1 */
    node_keymap by_hash;       /* block hash -> height, heights 0..hashed-1 */
    uint64_t hashed;

    pthread_mutex_t mlock;     /* guards metrics */
    node_metrics m;
    uint64_t start_ns;
    /* --cluster: the replicated chain (replica.c), else NULL. */
    struct node_replica *replica;
} node_ctx;

/** Set up the locks, the mempool and counters of c (db and the other
 *  fields are set by the caller). */
void node_ctx_init(node_ctx *c, size_t mempool_txs, size_t mempool_bytes,
    size_t per_sender);
void node_ctx_release(node_ctx *c);

/** Record that txid was dropped (reason NODE_DROP_*, msg copied,
 *  truncated), count it and log it. Caller holds c->lock. */
void node_note_drop(node_ctx *c, const uint8_t txid[32], uint64_t nonce,
    int reason, const char *msg);
/** A node_mp_gone_fn for c's mempool (user: the node_ctx): records the
 *  drop. Caller holds c->lock. */
void node_mempool_gone(const node_mp_tx *t, int reason, void *c);
/** The drop record of txid, copied to *out: 1, or 0 when none is kept.
 *  Caller holds c->lock. */
int node_find_drop(node_ctx *c, const uint8_t txid[32], node_dropped *out);
/** A copy of the encoding of pending txid (*bytes malloc'd, *len): 1, or 0
 *  when it is not pending. Caller holds c->lock. */
int node_mempool_copy(const node_mempool *mp, const uint8_t txid[32],
    uint8_t **bytes, size_t *len);

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
#define NODE_RPC_BUSY (-32006)         /* body budget: try again */
#define NODE_RPC_TOO_LARGE (-32007)    /* response over --max-response */
#define NODE_RPC_NO_PRODUCER (-32008)  /* --cluster: no producer reachable */

/** The metrics page in Prometheus text format (malloc'd). */
char *node_metrics_text(node_ctx *c);

/* ---- producer.c: the block producer thread ---------------------------- */

typedef struct node_producer_opts {
    uint64_t interval_ms;     /* produce at least this often when txs wait;
                                 0: as soon as a tx arrives */
} node_producer_opts;

typedef struct node_producer node_producer;

/** Start the producer thread on c with engine e (used only by it). */
int node_producer_start(node_producer **out, node_ctx *c, parex_engine *e,
    const node_producer_opts *o);
/** Ask the producer to stop after the block in progress and join it.
 *  Returns the thread's status: 0, or -1 after a fatal storage error. */
int node_producer_stop(node_producer *p);

/** Produce one block from the mempool now (the producer's step; tests call
 *  it directly): expire old txs, select ready ones, drop those whose fee
 *  the sender cannot pay (committed balance minus the fees of its earlier
 *  txs in the block) or that would overflow the fee recipient, execute;
 *  if the engine still rejects tx i, drop it and commit the txs before it
 *  (one more execution, never one per bad tx). Dropped txs get a status
 *  (node_find_drop). Returns the number of txs committed, 0 when none
 *  were; *again (may be NULL) is set when txs were dropped so that the
 *  caller should produce again at once; -1 on a fatal error (err):
 *  storage or commit failures only. */
long node_produce_block(node_ctx *c, parex_engine *e, char *err, int *again);

/** Told about the executed, still pending block before it is committed:
 *  h its computed header, block/len its encoding with that header (roots
 *  filled). Returns 0: commit it; 1: discard it (node_produce_block_hook
 *  returns 0, nothing committed, the txs stay pending); -1: discard it and
 *  fail (returns -1). */
typedef int (*node_block_hook)(void *user, const parex_header *h,
    const uint8_t *block, size_t len);
/** node_produce_block() with a hook between execution and commit (NULL:
 *  the same as node_produce_block). */
long node_produce_block_hook(node_ctx *c, parex_engine *e, char *err,
    int *again, node_block_hook hook, void *user);

/* ---- replica.c: a replicated chain (--cluster, docs/cluster.md) ------- */

typedef struct node_replica node_replica;

typedef struct node_replica_opts {
    const char *endpoints;     /* etcd client URLs, comma-separated */
    const char *node_name;     /* unique among the chain's nodes */
    const char *advertise_url; /* how peers reach this node (may be NULL:
                                  then submissions are not forwarded here) */
    int64_t lease_ttl_s;       /* 0: PXC_DEFAULT_TTL_S */
    uint64_t retention;        /* blocks the producer keeps in etcd; 0: all */
    uint64_t interval_ms;      /* as node_producer_opts */
    const uint8_t *genesis_hash;  /* 32 bytes: the genesis header's hash */
    const uint8_t *genesis;    /* the encoded genesis header */
    size_t genesis_len;
} node_replica_opts;

#define NODE_ROLE_STARTING 0
#define NODE_ROLE_FOLLOWER 1
#define NODE_ROLE_PRODUCER 2
#define NODE_ROLE_NO_QUORUM 3      /* etcd does not answer: no majority */
#define NODE_ROLE_DIVERGED 4       /* a log block differs from ours: stopped */
/** "starting", "follower", "producer", "no-quorum", "diverged". */
const char *node_role_name(int role);

typedef struct node_replica_status {
    int role;                  /* NODE_ROLE_* */
    int64_t term;              /* the producer's lease term (0: none known) */
    uint64_t applied;          /* local head */
    uint64_t log_head, log_low;/* newest and oldest block in etcd */
    uint64_t lag;              /* log_head - applied */
    uint64_t appends;          /* blocks this node appended (produced) */
    uint64_t append_ns;        /* their time in the ordering round trip */
    char node[72];             /* this node's name */
    char producer[72], producer_url[256];  /* "" when none known */
    char why[NODE_ERR_LEN];    /* the last role change's reason, or "" */
} node_replica_status;

/** Before the store is used: join the chain in etcd (as below, with no
 *  lease), read the log's newest and oldest heights and the producer's
 *  URL (peer, cap bytes; "" when none holds the lease), leave. Returns 0,
 *  -2 (another genesis: err names both hashes) or -1 (err). */
int node_replica_probe(const node_replica_opts *o, uint32_t chain_id,
    uint64_t *head, uint64_t *low, char *peer, size_t cap, char *err);
struct node_snapshot_info;
/** For a node whose head is below the log's oldest block low: fetch a
 *  state snapshot at height >= low - 1 into dir (node_snapshot_fetch_opts,
 *  checked against chain_id and o->genesis_hash; dir's store must be
 *  closed) from a healthy peer: the nodes that published a URL in etcd
 *  (P node/<name>), this node excepted, asked for their status (one lease
 *  TTL each); peers that do not produce, with role follower and an applied
 *  height >= low - 1, first (highest first), the producer last (the
 *  fallback, also when its status does not answer). Logs which peer each
 *  try uses and why one is skipped or failed. used (cap bytes): "peer NAME
 *  at URL" or "the producer NAME at URL". Returns 0 with *info, or -1 with
 *  err naming every try. */
int node_replica_snapshot(const node_replica_opts *o, uint32_t chain_id,
    uint64_t head, uint64_t low, const char *dir,
    struct node_snapshot_info *info, char *used, size_t cap, char *err);
/** Join the chain in etcd (pxc_open: the genesis must be the chain id's)
 *  and start the lease keepalive; sets c->replica. c->chain_id must be
 *  set. Returns 0, -2 (another genesis: err names both hashes) or -1. */
int node_replica_open(node_replica **out, char *err, node_ctx *c,
    const node_replica_opts *o);
/** Start the replica thread with engine e (used only by it): it applies
 *  the log, campaigns, and produces while it holds the lease. Returns 0
 *  or -1. */
int node_replica_start(node_replica *r, parex_engine *e);
/** Stop and join the thread (NULL: no-op). Returns 0, or -1 after a fatal
 *  error (storage, or a head below the log's retention). */
int node_replica_stop(node_replica *r);
/** Leave the chain (revokes the lease: another node takes over at once)
 *  and free r (NULL: no-op). */
void node_replica_free(node_replica *r);
/** A consistent copy of where the node stands. Any thread. */
void node_replica_status_get(node_replica *r, node_replica_status *out);
/** A submission on this node: 1 when this node produces (handle it
 *  here); 0 when it was forwarded to the producer (*resp: its HTTP body,
 *  malloc'd); -1 when no producer is known or it cannot be reached (err).
 *  body: a JSON-RPC request. Any thread. */
int node_replica_forward(node_replica *r, const char *body, size_t len,
    char **resp, char *err);

/* ---- server.c: libmicrohttpd glue -------------------------------------- */

typedef struct node_server node_server;

/** Where and how the server listens: every field bounds what one client
 *  (or all of them) can hold (docs/node.md, "Limits"). */
typedef struct node_server_opts {
    const char *host;          /* a name or address (getaddrinfo) */
    unsigned port;             /* 0: any free port */
    unsigned max_conns;        /* connections in all */
    unsigned max_conns_per_ip;
    unsigned idle_timeout_s;   /* no byte for this long: closed */
    uint64_t deadline_ms;      /* a request's headers and body arrive and
                                  its response is sent within this, or
                                  the connection is closed; 0: none */
    const char *snapshot_dir;  /* GET /snapshot makes its copy in a
                                  temporary directory here (the store's
                                  own DIR); NULL: GET /snapshot is 404 */
    uint64_t snapshot_ms;      /* one GET /snapshot response is sent
                                  within this (instead of deadline_ms), or
                                  the connection is closed; 0: none */
} node_server_opts;

/** Listen on o->host:o->port (*port_out gets the bound port) and serve
 *  POST / (JSON-RPC), GET /metrics, GET /health and GET /snapshot (a
 *  consistent copy of the store, parex_db_snapshot(), streamed as its
 *  data.mdb; one at a time, others get 503 with Retry-After; headers
 *  X-Parex-Height, -State-Root, -Chain-Id, -Genesis, -Format). Returns 0
 *  or -1. */
int node_server_start(node_server **out, char *err, node_ctx *c,
    const node_server_opts *o, unsigned *port_out);
void node_server_stop(node_server *s);

/* ---- http.c: a minimal HTTP/1.1 client -------------------------------- */

typedef struct node_http {
    void *curl;                /* libcurl easy handle, made on first post */
    char url[600];
    uint64_t timeout_ms;       /* per request, connect to last byte */
} node_http;

/** Parse "http://HOST:PORT[/PATH]", "HOST:PORT" or "[V6]:PORT" into h
 *  (timeout 30 s). Returns 0 or -1. */
int node_http_parse_url(node_http *h, char *err, const char *url);
/** The total time one post may take, connect to last byte (ms). */
void node_http_set_timeout(node_http *h, uint64_t ms);
/** POST body (Content-Type: application/json) over a keep-alive
 *  connection (libcurl reopens it as needed); *resp malloc'd, NUL-ended.
 *  Returns the HTTP status or -1 with err (no connection, or no complete
 *  answer within the timeout). */
int node_http_post(node_http *h, char *err, const char *body, size_t len,
    char **resp, size_t *resp_len);
void node_http_close(node_http *h);

#endif /* PX_NODE_DAEMON_H */
