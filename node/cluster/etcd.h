/* node/cluster: a small etcd v3 client over etcd's HTTP/JSON gateway.
 *
 * etcd (3.4) serves its gRPC API also as JSON over HTTP POST at /v3/...
 * (the grpc-gateway; etcd docs "gRPC gateway", api_grpc_gateway.md). Keys
 * and values travel base64-encoded, 64-bit integers as decimal strings, and
 * fields equal to their zero value are omitted from replies (proto3 JSON).
 * This client speaks that API with libcurl and jansson:
 *
 *   - every call is bounded by the handle's timeout (the whole call, all
 *     members and retries together), never longer;
 *   - a handle knows several members ("http://a:2379,http://b:2379"); a
 *     call goes to the member that answered last, and on a connection error,
 *     an attempt timeout or an etcd "unavailable" reply (no leader, request
 *     timed out, leader changed) moves on to the next one, round after round,
 *     until the deadline;
 *   - on failure the call returns a negative NODE_ETCD_E_* and
 *     node_etcd_errmsg() holds one sentence naming the operation, the member
 *     and the cause (every member's, for NODE_ETCD_E_UNAVAILABLE).
 *
 * Retries and idempotence: a request whose reply was lost may have been
 * applied. Puts of the same value, ranges, deletes and lease keepalives are
 * idempotent; a lost lease grant leaks one lease until its TTL. Txns are
 * retried too: callers make them conditional (compare create_revision == 0,
 * the lease, ...) and read the failure branch to recognise their own earlier
 * success (order.c does).
 *
 * Thread-safety: a handle is a single-thread object (one CURL easy handle,
 * one error buffer). Use one handle per thread; handles are independent.
 * node/ code: reaches nothing of libparex (no include/parex needed).
 */
#ifndef PX_NODE_ETCD_H
#define PX_NODE_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_ETCD_ERR_LEN 1024

/* Return codes: 0 or negative. Never renumber (order.h reuses them). */
#define NODE_ETCD_OK 0
#define NODE_ETCD_E_INVALID (-1)     /* bad argument: endpoint URL, empty key */
#define NODE_ETCD_E_NOMEM (-2)       /* allocation failed */
#define NODE_ETCD_E_UNAVAILABLE (-3) /* no member answered within the timeout */
#define NODE_ETCD_E_SERVER (-4)      /* etcd refused the request (its message) */
#define NODE_ETCD_E_PROTOCOL (-5)    /* a reply that is not the gateway's JSON */
#define NODE_ETCD_E_NOTFOUND (-6)    /* node_etcd_get: no such key */
#define NODE_ETCD_E_LEASE (-7)       /* the lease does not exist (expired) */

/** A short name of a return code ("E_UNAVAILABLE"); never NULL. */
const char *node_etcd_code_name(int rc);

typedef struct node_etcd node_etcd;

/** One key-value pair as etcd returns it. key and value are malloc'd and
 *  NUL-terminated one past their length (binary-safe: use the lengths). */
typedef struct node_etcd_kv {
    uint8_t *key;
    size_t key_len;
    uint8_t *value;
    size_t value_len;
    int64_t create_revision; /* revision that created the key (its "term") */
    int64_t mod_revision;
    int64_t version;
    int64_t lease; /* 0: no lease */
} node_etcd_kv;

/** The result of a range: n pairs in kv (ascending key unless asked
 *  otherwise), count = keys in the range on the server (>= n), more = the
 *  limit cut the range, revision = the store revision the read reflects.
 *  Zeroed is empty; release with node_etcd_kvs_release. */
typedef struct node_etcd_kvs {
    node_etcd_kv *kv;
    size_t n;
    int64_t count;
    bool more;
    int64_t revision;
} node_etcd_kvs;

void node_etcd_kvs_release(node_etcd_kvs *r);
void node_etcd_kv_release(node_etcd_kv *kv);

/** Create a client for the members in endpoints: comma-separated
 *  "http://host:port" URLs (1..16; "https://" works if libcurl has TLS, no
 *  client certificates). timeout_ms bounds every call (> 0). No network
 *  traffic happens here.
 *  Returns: NODE_ETCD_OK, *out set; NODE_ETCD_E_INVALID (err says which
 *  endpoint and why), NODE_ETCD_E_NOMEM; *out = NULL on failure.
 *  err: NODE_ETCD_ERR_LEN bytes, written on failure. */
int node_etcd_create(node_etcd **out, const char *endpoints, long timeout_ms,
                     char *err);
/** Free the handle (NULL: no-op). */
void node_etcd_destroy(node_etcd *e);

/** The last error's sentence ("" before the first error). Valid until the
 *  next call on the handle. */
const char *node_etcd_errmsg(const node_etcd *e);
/** The member the next call goes to first (the last that answered). */
const char *node_etcd_endpoint(const node_etcd *e);
/** Change the per-call timeout (> 0). */
void node_etcd_set_timeout(node_etcd *e, long timeout_ms);

/* ---- key-value -------------------------------------------------------- */

/** Put key = value, attached to lease (0: none). *revision (may be NULL):
 *  the store revision of the put. Returns NODE_ETCD_OK or an error code
 *  (E_LEASE when the lease does not exist). */
int node_etcd_put(node_etcd *e, const void *key, size_t key_len,
                  const void *value, size_t value_len, int64_t lease,
                  int64_t *revision);

/** Get one key into *out (caller releases with node_etcd_kv_release).
 *  Returns NODE_ETCD_OK, NODE_ETCD_E_NOTFOUND (out zeroed) or an error. */
int node_etcd_get(node_etcd *e, const void *key, size_t key_len,
                  node_etcd_kv *out);

/** Options of a range; zeroed = ascending by key, no limit, with values. */
typedef struct node_etcd_range_opts {
    int64_t limit;   /* 0: no limit */
    bool descending; /* sort by key, descending */
    bool keys_only;
    bool count_only;
} node_etcd_range_opts;

/** Range [key, range_end) (range_end NULL: the single key; use
 *  node_etcd_prefix_end for a prefix). opts may be NULL. *out is caller's,
 *  released with node_etcd_kvs_release (zeroed on error). */
int node_etcd_range(node_etcd *e, const void *key, size_t key_len,
                    const void *range_end, size_t range_end_len,
                    const node_etcd_range_opts *opts, node_etcd_kvs *out);

/** Delete [key, range_end) (range_end NULL: the single key). *deleted
 *  (may be NULL): how many keys went. */
int node_etcd_delete(node_etcd *e, const void *key, size_t key_len,
                     const void *range_end, size_t range_end_len,
                     int64_t *deleted);

/** The end of the prefix range of key: key with its last byte below 0xff
 *  incremented and the rest cut (etcd's clientv3.GetPrefixRangeEnd).
 *  out holds key_len bytes; *out_len set. A key of only 0xff bytes gives
 *  the single byte 0 ("to the end of the keyspace"). */
void node_etcd_prefix_end(uint8_t *out, size_t *out_len, const void *key,
                          size_t key_len);

/* ---- transactions ----------------------------------------------------- */

enum node_etcd_target {
    NODE_ETCD_CREATE, /* compare create_revision (0: key absent) */
    NODE_ETCD_MOD,    /* mod_revision */
    NODE_ETCD_VERSION,
    NODE_ETCD_VALUE, /* bytes; an absent key fails every VALUE compare */
    NODE_ETCD_LEASE  /* the key's lease id (0: none or absent) */
};
enum node_etcd_result {
    NODE_ETCD_EQUAL,
    NODE_ETCD_GREATER,
    NODE_ETCD_LESS,
    NODE_ETCD_NOT_EQUAL
};

/** One compare of a txn: key <result> number (CREATE, MOD, VERSION,
 *  LEASE) or key <result> value (VALUE). */
typedef struct node_etcd_cmp {
    const void *key;
    size_t key_len;
    enum node_etcd_target target;
    enum node_etcd_result result;
    int64_t number;
    const void *value;
    size_t value_len;
} node_etcd_cmp;

enum node_etcd_op_type { NODE_ETCD_OP_PUT, NODE_ETCD_OP_RANGE,
                         NODE_ETCD_OP_DELETE };

/** One request of a txn branch. range_end (RANGE, DELETE) as in
 *  node_etcd_range; value and lease for PUT; limit (0: none), descending,
 *  keys_only and count_only for RANGE. count (RANGE, may be NULL): receives
 *  the number of keys in the range on the server (etcd's "count"; with
 *  count_only no pairs come back) when the op's branch is taken; it is
 *  left alone otherwise. count_only is what to use to learn the size of a
 *  range cheaply: etcd answers it from its in-memory index, while a
 *  descending range reads and decodes every value in the range even with
 *  limit 1 and keys_only (it sorts after fetching). */
typedef struct node_etcd_op {
    enum node_etcd_op_type type;
    const void *key;
    size_t key_len;
    const void *range_end;
    size_t range_end_len;
    const void *value;
    size_t value_len;
    int64_t lease;
    int64_t limit;
    bool descending;
    bool keys_only;
    bool count_only;
    int64_t *count;
} node_etcd_op;

/** A txn: if every compare holds, run succ[], else fail[] (etcd applies it
 *  atomically, linearizably). *succeeded says which branch ran. ranges (may
 *  be NULL): the pairs returned by the RANGE ops of the branch taken,
 *  concatenated in op order; op_first (may be NULL, as many entries as the
 *  taken branch has ops) receives the index in ranges->kv of each op's first
 *  pair and op_n (may be NULL) how many that op returned. *revision (may be
 *  NULL): the store revision after the txn.
 *  Returns NODE_ETCD_OK (whichever branch ran) or an error code; on error
 *  nothing is known about whether the txn was applied (see the header's
 *  note on retries). */
int node_etcd_txn(node_etcd *e, const node_etcd_cmp *cmp, size_t ncmp,
                  const node_etcd_op *succ, size_t nsucc,
                  const node_etcd_op *fail, size_t nfail, bool *succeeded,
                  node_etcd_kvs *ranges, size_t *op_first, size_t *op_n,
                  int64_t *revision);

/* ---- watch ------------------------------------------------------------ */

/** Wait (etcd's watch, streamed) until a key in [key, range_end) changes
 *  at a revision >= start_revision (0: from now), or timeout_ms passes.
 *  *changed: an event arrived, or etcd cancelled the watch because
 *  start_revision was compacted; either way the caller should re-read.
 *  *revision (may be NULL): the revision of the reply that said so (0 if
 *  none). A quiet timeout is NODE_ETCD_OK with *changed false, and so is
 *  a member that closed the stream: a caller loops "read, then watch from
 *  the read's revision + 1". A member that does not confirm the watch
 *  within its share of the time is skipped for the next.
 *  Returns NODE_ETCD_OK, NODE_ETCD_E_UNAVAILABLE (no member accepted the
 *  watch in time), NODE_ETCD_E_SERVER (etcd refused it), or another error.
 *  The handle is busy for up to timeout_ms. */
int node_etcd_watch_wait(node_etcd *e, const void *key, size_t key_len,
                         const void *range_end, size_t range_end_len,
                         int64_t start_revision, long timeout_ms,
                         bool *changed, int64_t *revision);

/* ---- leases ----------------------------------------------------------- */

/** Grant a lease of ttl_s seconds (> 0). *id: its id (non-zero), *granted
 *  (may be NULL): the TTL etcd granted. */
int node_etcd_lease_grant(node_etcd *e, int64_t ttl_s, int64_t *id,
                          int64_t *granted);
/** Renew lease id once. *ttl_left (may be NULL): its TTL after renewal.
 *  Returns NODE_ETCD_E_LEASE when it has expired or was revoked. */
int node_etcd_lease_keepalive(node_etcd *e, int64_t id, int64_t *ttl_left);
/** Revoke lease id: the keys attached to it are deleted at once.
 *  Returns NODE_ETCD_E_LEASE when it no longer exists. */
int node_etcd_lease_revoke(node_etcd *e, int64_t id);

#endif
