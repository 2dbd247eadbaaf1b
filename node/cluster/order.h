/* node/cluster: the ordering protocol of a replicated parex chain.
 *
 * etcd (Raft) orders the blocks; every parex node executes them
 * deterministically in that order (the Calvin / Hyperledger Fabric split:
 * a replicated ordering service, deterministic executors). This module is
 * the ordering half only, independent of the daemon: block bytes are opaque
 * here (the integrator passes the engine's encoded block), and so is the
 * genesis, named by its hash. See docs/cluster.md for the design.
 *
 * Key layout (P = "/parex/<chain-id>/<genesis-hash-hex>/"):
 *   /parex/<chain-id>/genesis   the hex genesis hash: who owns the chain id
 *   P genesis                   the genesis bytes
 *   P leader                    the producer's node name, on its lease
 *   P node/<name>               a node's advertised URL, on its lease
 *   P low                       the oldest height still kept (20 digits)
 *   P block/<20-digit height>   block h's bytes, h = 1, 2, ...
 * Heights are zero-padded so that key order is height order.
 *
 * Fencing: pxc_append(h) is ONE etcd txn that runs only if
 *   P leader's lease == this node's lease, its value == this node's name and
 *   its create_revision == the term won (the key was not lost and re-won),
 *   P block/h does not exist (create_revision == 0), and
 *   P block/h-1 exists (h > 1): no gaps.
 * etcd applies txns linearizably, and a lease that expired is gone with its
 * keys, so a producer that was paused or partitioned past its TTL can never
 * append, whatever its own clock says: the check is in etcd, not here.
 *
 * Errors: every call returns PXC_OK or a negative PXC_E_* and leaves one
 * sentence in pxc_errmsg(c) (NODE_ETCD_E_* values are PXC_E_* values).
 * Thread-safety: a pxc_chain is used by one thread at a time, except
 * pxc_is_leader and pxc_term, callable from any thread
 * (the background keepalive thread has its own etcd handle).
 */
#ifndef PX_NODE_ORDER_H
#define PX_NODE_ORDER_H

#include "etcd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PXC_ERR_LEN NODE_ETCD_ERR_LEN

#define PXC_OK NODE_ETCD_OK
#define PXC_E_INVALID NODE_ETCD_E_INVALID
#define PXC_E_NOMEM NODE_ETCD_E_NOMEM
#define PXC_E_UNAVAILABLE NODE_ETCD_E_UNAVAILABLE /* etcd lost: no quorum */
#define PXC_E_SERVER NODE_ETCD_E_SERVER
#define PXC_E_PROTOCOL NODE_ETCD_E_PROTOCOL
#define PXC_E_GENESIS (-20)   /* the chain id has another genesis */
#define PXC_E_FENCED (-21)    /* not (or no longer) the leader */
#define PXC_E_EXISTS (-22)    /* block h is already in the log */
#define PXC_E_GAP (-23)       /* block h-1 is not in the log */
#define PXC_E_COMPACTED (-24) /* block h was compacted away: use a snapshot */
#define PXC_E_TIMEOUT (-25)   /* pxc_wait: block h did not come in time */
#define PXC_E_CORRUPT (-26)   /* the log in etcd breaks this layout */

/** A short name of a return code ("E_FENCED"); never NULL. */
const char *pxc_code_name(int rc);

typedef struct pxc_chain pxc_chain;

typedef struct pxc_config {
    /* "http://127.0.0.1:2379,http://127.0.0.1:22379": etcd client URLs. */
    const char *endpoints;
    /* [A-Za-z0-9._-], 1..64 chars. */
    const char *chain_id;
    /* The genesis hash (1..64 bytes; hex in keys) and, optionally, the
     * genesis bytes: stored on the first join; a later joiner may pass
     * NULL/0 and read them with pxc_genesis. */
    const uint8_t *genesis_hash;
    size_t genesis_hash_len;
    const void *genesis;
    size_t genesis_len;
    /* This node's name ([A-Za-z0-9._-], 1..64), unique among the nodes. */
    const char *node_name;
    /* Optional (NULL): the URL other nodes use to reach this node (for
     * forwarding submissions to the producer); published under P node/. */
    const char *advertise_url;
    /* Leader lease TTL in seconds; 0: PXC_DEFAULT_TTL_S. */
    int64_t lease_ttl_s;
    /* Bound of every etcd call in ms; 0: PXC_DEFAULT_TIMEOUT_MS. */
    long timeout_ms;
} pxc_config;

#define PXC_DEFAULT_TTL_S 3
#define PXC_DEFAULT_TIMEOUT_MS 2000L

/** Join the chain: validate cfg, connect, and make sure the chain id's
 *  genesis is this node's (one txn: the first joiner stores the genesis
 *  hash, the genesis bytes and low = 1; later joiners compare).
 *  Returns PXC_OK (*out set), PXC_E_INVALID (a bad config field, named),
 *  PXC_E_GENESIS (err names the chain id, the hash in etcd and ours; also
 *  when the hashes match but the genesis bytes differ, or when no chain
 *  exists yet and cfg has no genesis bytes to create it), PXC_E_UNAVAILABLE
 *  and the other etcd errors; *out = NULL on failure.
 *  err: PXC_ERR_LEN bytes, written on failure. */
int pxc_open(pxc_chain **out, const pxc_config *cfg, char *err);

/** Stop the keepalive thread, revoke the lease (this node steps down at
 *  once: its leader and node keys go) and free c (NULL: no-op). A revoke
 *  that fails only delays the handover to the lease's expiry. */
void pxc_close(pxc_chain *c);

const char *pxc_errmsg(const pxc_chain *c);
/** "/parex/<chain-id>/<genesis-hash-hex>/" */
const char *pxc_prefix(const pxc_chain *c);

/** Read the genesis bytes stored in etcd (*bytes malloc'd, caller frees). */
int pxc_genesis(pxc_chain *c, uint8_t **bytes, size_t *len);

/** Who holds the leader key. */
typedef struct pxc_leader {
    bool held;       /* false: nobody (no other field is set) */
    char name[72];   /* its node name */
    char url[256];   /* its advertised URL, "" if none or unknown */
    int64_t term;    /* the leader key's create_revision: grows with every
                        new leadership, the fencing token */
    int64_t lease;   /* its lease id */
} pxc_leader;

/** One node that published its URL (P node/<name>, kept on that node's
 *  lease: a node whose lease expired is gone from the list). */
typedef struct pxc_peer {
    char name[72];
    char url[256];
} pxc_peer;

/** The nodes of the chain with a published URL, in name order (at most
 *  PXC_MAX_PEERS; this node included if it published one). *peers:
 *  caller frees with free(); NULL when *n is 0. Returns PXC_OK or an etcd
 *  error. */
#define PXC_MAX_PEERS 64
int pxc_peers(pxc_chain *c, pxc_peer **peers, size_t *n);

/** Try to become the producer: renew this node's lease (or grant a new one
 *  if it has none or it expired, so that a win starts with the whole TTL
 *  ahead), publish P node/<name>, and create the leader key
 *  on it unless someone holds it. *won: this node holds the leader key now
 *  (also when it already did). leader (may be NULL): the holder after the
 *  call. Does not start the keepalive: see pxc_keepalive_start.
 *  Returns PXC_OK (won or not) or an etcd error. */
int pxc_campaign(pxc_chain *c, bool *won, pxc_leader *leader);

/** Who is the producer (one range). */
int pxc_leader_get(pxc_chain *c, pxc_leader *out);

/** Renew this node's lease once. Returns PXC_OK, PXC_E_FENCED (the lease
 *  expired: this node is no longer the leader, whatever it did), an etcd
 *  error (the lease may still be alive: retry before the TTL runs out), or
 *  PXC_E_INVALID when this node has no lease. */
int pxc_keepalive(pxc_chain *c);

/** Start / stop a thread that renews the lease every TTL/3 (idempotent).
 *  It has its own etcd handle. When etcd says the lease is gone it stops
 *  renewing and pxc_is_leader turns false. */
int pxc_keepalive_start(pxc_chain *c);
void pxc_keepalive_stop(pxc_chain *c);

/** This node's local belief: it won, its lease has not been reported gone,
 *  and the last renewal's TTL has not run out on the monotonic clock. A
 *  hint for stepping down (stop producing, tell clients); never a licence:
 *  only pxc_append's txn decides. Any thread. */
bool pxc_is_leader(const pxc_chain *c);
/** The term this node won (0: none). Any thread. */
int64_t pxc_term(const pxc_chain *c);

/** Give up leadership: revoke the lease (keys go at once). */
int pxc_resign(pxc_chain *c);

/** Append block h (>= 1) with the fencing txn above.
 *  Returns PXC_OK: block h is in the log (also when a retried txn finds
 *  block h already there with exactly these bytes: its first attempt
 *  committed);
 *          PXC_E_FENCED: this node does not hold the leader key with its
 *            lease (message names the holder, if any); nothing written;
 *          PXC_E_EXISTS: block h is already in the log with other bytes;
 *          PXC_E_GAP: block h-1 is not in the log;
 *          PXC_E_UNAVAILABLE etc.: etcd did not answer; the block may or
 *            may not be in the log (retry the same bytes, or read it).
 *            If that retry says PXC_E_FENCED (the lease ran out meanwhile),
 *            the first attempt may still have committed: read block h
 *            before discarding the execution.
 *  In: block, len: opaque bytes, not retained, stored as they are.
 *      etcd's default request limit is 1.5 MiB, base64 included: ~1.1 MiB
 *      of block. */
int pxc_append(pxc_chain *c, uint64_t h, const void *block, size_t len);

/** The newest height in the log (0: none yet) and the oldest kept (low,
 *  may be NULL). */
int pxc_head(pxc_chain *c, uint64_t *head, uint64_t *low);

typedef struct pxc_block {
    uint64_t height;
    uint8_t *bytes; /* malloc'd */
    size_t len;
} pxc_block;

void pxc_blocks_free(pxc_block *b, size_t n);

/** Read blocks from, from+1, ... (at most max, > 0) in height order, from
 *  one consistent etcd revision, as appended.
 *  *n may be 0 (from is past the head).
 *  Returns PXC_OK, PXC_E_COMPACTED (from is below low: the message names
 *  low; catch up from a snapshot), PXC_E_CORRUPT (a gap in the log), or an etcd error. *blocks: caller frees with pxc_blocks_free. */
int pxc_read(pxc_chain *c, uint64_t from, size_t max, pxc_block **blocks,
             size_t *n);

/** pxc_read and pxc_head in one txn (one etcd revision): blocks from,
 *  from+1, ... (at most max, > 0; *n may be 0), the head, low, and the
 *  revision *rev they were read at (for pxc_wait_after). A follower's one
 *  request per round instead of a head read and a block read. from below
 *  low is not an error here: *n is 0 and the caller compares from with
 *  *low. Returns PXC_OK, PXC_E_INVALID (from 0 or max 0), PXC_E_CORRUPT (a
 *  gap in the log, or a block count that does not fit low), or an etcd
 *  error. *blocks: caller frees with pxc_blocks_free. Same handle rules
 *  as every pxc_* call (one thread at a time). */
int pxc_read_head(pxc_chain *c, uint64_t from, size_t max,
                  pxc_block **blocks, size_t *n, uint64_t *head,
                  uint64_t *low, int64_t *rev);

/** Wait, at most timeout_ms, for an append after etcd revision rev (from
 *  pxc_read_head): watches P head from rev + 1, so an append between
 *  that read and this call is not missed, without reading the head first
 *  as pxc_wait does. PXC_OK says "something was appended (or etcd
 *  compacted rev): read again", not which block. Returns PXC_OK,
 *  PXC_E_TIMEOUT, or an etcd error. */
int pxc_wait_after(pxc_chain *c, int64_t rev, long timeout_ms);

/** Wait until block h is in the log, at most timeout_ms: reads the head,
 *  then watches P head (which every append puts in its txn) from the
 *  revision after that read (etcd's watch: woken by the append itself, no
 *  polling, and no block bytes in the watch stream), and again.
 *  Returns PXC_OK, PXC_E_TIMEOUT (the message names the head), or an etcd
 *  error. */
int pxc_wait(pxc_chain *c, uint64_t h, long timeout_ms);

/** Retention: delete blocks below `below` (1 < below <= head) in one txn
 *  that also raises low to below; a no-op when low >= below already.
 *  Any node may call it (it never deletes the head). *low (may be NULL):
 *  low after the call. Returns PXC_OK, PXC_E_INVALID (below > head), or an
 *  etcd error. */
int pxc_compact(pxc_chain *c, uint64_t below, uint64_t *low);

#endif
