/* node/daemon/ client of GET /snapshot (docs/cluster.md, "Catch-up"):
 * fetch a peer's consistent state snapshot into a directory, all or
 * nothing. libcurl only (no libmicrohttpd): part of the node's HTTP
 * client library, usable by `parex state fetch` and `parex node`. */
#ifndef PX_NODE_SNAPSHOT_H
#define PX_NODE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/** What a fetch must match, and its bounds. Zero fields: no requirement,
 *  the default bound. */
typedef struct node_snapshot_opts {
    uint32_t chain_id;        /* nonzero: the snapshot's chain id */
    uint8_t genesis[32];      /* not all zero: the snapshot's genesis hash */
    uint64_t max_bytes;       /* the largest snapshot taken; 0: 64 GiB */
    uint64_t timeout_ms;      /* the whole transfer; 0: none (a transfer
                                 moving under 1 byte/s for 30 s, or not
                                 connected within 10 s, fails anyway) */
} node_snapshot_opts;

/** What a fetch installed. */
typedef struct node_snapshot_info {
    uint64_t height;
    uint8_t state_root[32];   /* recomputed from the copy, equal to its
                                 head's and to the peer's header */
    uint32_t chain_id;
    uint8_t genesis[32];
    uint64_t bytes;           /* size of the copy's data.mdb */
} node_snapshot_info;

/** Download a consistent snapshot of the store of the node at peer_url
 *  ("http://HOST:PORT", "HOST:PORT", or with the path "/snapshot") and
 *  install it as the store in dir.
 *
 *  The copy is downloaded into a temporary directory beside dir
 *  ("<parent>/.<name>.fetch-XXXXXX"), fsync'd, opened, checked against
 *  the peer's headers (height, state root, chain id, genesis), its state
 *  root recomputed (parex_db_verify), and only then moved into place in
 *  one rename: dir absent or empty is replaced by the copy
 *  (rename(2)); dir holding a store is swapped with it atomically
 *  (renameat2 RENAME_EXCHANGE) and the old store then deleted. A failed
 *  fetch leaves dir exactly as it was and removes the temporary
 *  directory.
 *
 *  If dir already holds a store, the snapshot must be of its chain id and
 *  genesis hash and not below its height, and no writer may hold it (its
 *  writer.lock is taken for the whole fetch, so a node cannot start on
 *  dir meanwhile).
 *
 *  Returns: 0; PAREX_E_INVALID (peer_url unparsable; the peer's answer
 *           lacks or garbles the X-Parex-* headers: not a parex node?);
 *           PAREX_E_IO (connection failed, transfer cut short or timed
 *           out: err says how many of how many bytes came; a file
 *           operation failed; HTTP status other than 200/404/503);
 *           PAREX_E_NOTFOUND (HTTP 404: the peer serves no snapshots);
 *           PAREX_E_LIMIT (HTTP 503: the peer is sending another
 *           snapshot, err gives its Retry-After; or the snapshot is over
 *           max_bytes);
 *           PAREX_E_MISMATCH (chain id or genesis hash other than the
 *           existing store's or o's; err names both);
 *           PAREX_E_CORRUPT (the copy does not open as a store, its head
 *           or identity differs from the peer's headers, or its state root
 *           does not verify);
 *           PAREX_E_EXISTS (dir is a file, holds files but no store, or a
 *           store ahead of the snapshot);
 *           PAREX_E_LOCKED (a writer, e.g. a running node, holds dir);
 *           PAREX_E_MISUSE (peer_url, dir or err NULL, errlen 0).
 *  Out:     height: may be NULL; the installed snapshot's height.
 *           err: errlen bytes; on failure one sentence naming what failed
 *           (the URL, the HTTP status, the sizes, both identities, or the
 *           verification).
 *  Thread-safety: reentrant; two fetches into one dir race (one of them
 *  fails with PAREX_E_LOCKED or leaves the other's result).
 */
int node_snapshot_fetch(const char *peer_url, const char *dir,
    uint64_t *height, char *err, size_t errlen);

/** As node_snapshot_fetch(), with requirements and bounds (o may be NULL:
 *  none) and the installed snapshot's description (info may be NULL). */
int node_snapshot_fetch_opts(const char *peer_url, const char *dir,
    const node_snapshot_opts *o, node_snapshot_info *info, char *err,
    size_t errlen);

#endif /* PX_NODE_SNAPSHOT_H */
