/* A replicated chain (`parex node --cluster`, docs/cluster.md): the block
 * log lives in etcd (node/cluster: pxc_*), every node applies it in height
 * order, the node holding the leader lease produces.
 *
 * One thread (this file's replica_main) owns the engine, as the producer
 * thread does without --cluster. Its loop:
 *   1. read the log's head; while the local head is below it, read and
 *      apply blocks (execute with the header's roots claimed, compare the
 *      computed header, commit) -- a block the engine refuses or whose
 *      header differs is a divergence: the node stops applying, says so in
 *      status and /health (503) and never serves that state;
 *   2. caught up: campaign every TTL/3 while someone else leads;
 *   3. as the producer: build and execute a block without committing,
 *      append it to the log (the fenced txn), commit only on success; a
 *      fenced or refused append discards it and the node follows;
 *   4. as a follower: wait (etcd watch) for the next block.
 * So a block is committed anywhere only after it is in etcd, and receipts
 * are served only for blocks of the log. */
#include "daemon.h"

#include "cluster/order.h"
#include "snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

/* Blocks read from etcd in one txn while catching up. */
#define READ_BATCH 32
/* The producer's nap without a block interval (ms). */
#define WAIT_MS 250
/* A follower's wait for the next block lasts until its next campaign is
 * due, within these bounds (ms): a wait that times out costs a read and
 * a new watch in etcd, so it should not end while blocks are still
 * coming every few hundred ms (with 250 ms, about one extra read and
 * watch per block and follower under load); the upper bound is how late
 * a follower notices a stop. */
#define FOLLOW_MIN_MS 50
#define FOLLOW_MAX_MS 1000
/* After an etcd failure (no quorum), before the next try (ms). */
#define RETRY_MS 200

struct node_replica {
    node_ctx *c;
    parex_engine *e;
    pxc_chain *ch;
    node_replica_opts o;
    char *endpoints, *name, *url;
    pthread_t th;
    int started;
    int status;              /* 0, or -1 after a fatal error */

    pthread_mutex_t mu;      /* guards the fields below */
    int role;                /* NODE_ROLE_* */
    int diverged;
    int64_t term;
    uint64_t applied, log_head, log_low;
    uint64_t appends, append_ns;   /* blocks appended, time in pxc_append */
    char producer[72], producer_url[256];
    char why[NODE_ERR_LEN];
};

const char *node_role_name(int role)
{
    static const char *const names[] = {"starting", "follower", "producer",
        "no-quorum", "diverged"};

    return role >= 0 && role <= NODE_ROLE_DIVERGED ? names[role] : "?";
}

static void set_role(node_replica *r, int role, const char *why)
{
    pthread_mutex_lock(&r->mu);
    if (!r->diverged) {
        if (r->role != role) {
            node_log(role == NODE_ROLE_NO_QUORUM ? NODE_LOG_WARN :
                NODE_LOG_INFO, "cluster: %s -> %s%s%s",
                node_role_name(r->role), node_role_name(role),
                why != NULL && why[0] != '\0' ? ": " : "",
                why != NULL ? why : "");
        }
        r->role = role;
        snprintf(r->why, sizeof(r->why), "%s", why != NULL ? why : "");
    }
    pthread_mutex_unlock(&r->mu);
}

static void diverge(node_replica *r, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void diverge(node_replica *r, const char *fmt, ...)
{
    char msg[NODE_ERR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    node_log(NODE_LOG_ERROR, "cluster: DIVERGED: %s; this node stops "
        "producing and applying blocks and serves no newer state (its "
        "store is left at the last block it agreed with)", msg);
    pthread_mutex_lock(&r->mu);
    r->diverged = 1;
    r->role = NODE_ROLE_DIVERGED;
    snprintf(r->why, sizeof(r->why), "%s", msg);
    pthread_mutex_unlock(&r->mu);
}

/* Fatal: the node exits non-zero (as the producer does on storage errors). */
static void fatal(node_replica *r, const char *msg)
{
    node_log(NODE_LOG_ERROR, "cluster: stopped: %s", msg);
    pthread_mutex_lock(&r->mu);
    snprintf(r->why, sizeof(r->why), "%s", msg);
    pthread_mutex_unlock(&r->mu);
    r->status = -1;
    kill(getpid(), SIGTERM);
}

static int stopping(node_replica *r)
{
    int s;

    pthread_mutex_lock(&r->c->lock);
    s = r->c->stop;
    pthread_mutex_unlock(&r->c->lock);
    return s;
}

/* Sleep ms, or less when the node stops (or, wake: a submission). */
static void nap(node_replica *r, uint64_t ms, int wake)
{
    struct timespec ts;
    node_ctx *c = r->c;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    while (!c->stop) {
        if (wake && node_mempool_size(c->mp) >= c->max_block_txs) {
            break;
        }
        if (pthread_cond_timedwait(&c->wake, &c->lock, &ts) == ETIMEDOUT) {
            break;
        }
        if (wake && c->wake_on_add && node_mempool_size(c->mp) > 0) {
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
}

static uint64_t local_head(node_replica *r)
{
    parex_header h;

    return parex_db_head(r->c->db, &h) == PAREX_OK ? h.height : 0;
}

/* Apply block b of the log: execute it claiming its header's roots (the
 * engine checks them, and the BAL when the block carries one), compare
 * the computed header, commit. 0, or -1 (diverged or fatal). */
static int apply_logged(node_replica *r, const pxc_block *b)
{
    parex_block_stats st = PAREX_BLOCK_STATS_INIT, cst =
        PAREX_BLOCK_STATS_INIT;
    parex_header want, got;
    parex_error_info ei;
    parex_receipt *rc_out = NULL;
    uint8_t hw[32], hg[32];
    char a[65], g[65], msg[NODE_ERR_LEN];
    uint32_t ntx;
    size_t i;
    int rc, ret = -1;

    if (b->len < PAREX_HEADER_BYTES + 4 ||
        parex_header_decode(&want, b->bytes, PAREX_HEADER_BYTES) !=
        PAREX_OK) {
        diverge(r, "block %" PRIu64 " in the log is %zu bytes: not a "
            "block", b->height, b->len);
        return -1;
    }
    ntx = (uint32_t)b->bytes[PAREX_HEADER_BYTES] |
        (uint32_t)b->bytes[PAREX_HEADER_BYTES + 1] << 8 |
        (uint32_t)b->bytes[PAREX_HEADER_BYTES + 2] << 16 |
        (uint32_t)b->bytes[PAREX_HEADER_BYTES + 3] << 24;
    if (want.height != b->height || ntx > r->c->limits.max_block_txs) {
        diverge(r, "block %" PRIu64 " in the log has height %" PRIu64
            " and %" PRIu32 " txs in its header", b->height, want.height,
            ntx);
        return -1;
    }
    rc_out = node_malloc((ntx > 0 ? ntx : 1) * sizeof(*rc_out));
    memset(&ei, 0, sizeof(ei));
    /* Never PAREX_EXEC_VERIFIED: these txs were verified elsewhere. */
    rc = parex_engine_execute(r->e, &got, rc_out, ntx, &st, &ei, b->bytes,
        b->len, 0);
    if (rc == PAREX_E_BLOCK) {
        diverge(r, "block %" PRIu64 " of the log is rejected by this node: "
            "%s (%s)", b->height, parex_reject_name(ei.reject), ei.message);
        goto out;
    }
    if (rc != PAREX_OK) {
        snprintf(msg, sizeof(msg), "block %" PRIu64 " of the log: execution "
            "failed: %s (%s)", b->height, parex_strerror(rc), ei.message);
        fatal(r, msg);
        goto out;
    }
    parex_header_hash(hw, &want);
    parex_header_hash(hg, &got);
    if (memcmp(hw, hg, 32) != 0) {
        parex_engine_abort(r->e);
        node_hex(a, want.state_root, 32);
        node_hex(g, got.state_root, 32);
        diverge(r, "block %" PRIu64 ": the computed header differs from the "
            "log's (state root in the log %s, here %s)", b->height, a, g);
        goto out;
    }
    rc = parex_engine_commit(r->e, &cst);
    if (rc != PAREX_OK) {
        parex_engine_abort(r->e);
        snprintf(msg, sizeof(msg), "block %" PRIu64 ": commit failed: %s",
            b->height, parex_strerror(rc));
        fatal(r, msg);
        goto out;
    }
    pthread_mutex_lock(&r->c->lock);
    for (i = 0; i < ntx; i++) {
        node_mempool_remove(r->c->mp, rc_out[i].txid);
    }
    pthread_mutex_unlock(&r->c->lock);
    pthread_mutex_lock(&r->c->mlock);
    r->c->m.blocks++;
    r->c->m.txs += ntx;
    node_hist_add(&r->c->m.block_time, (double)(st.total_ns +
        cst.commit_ns) / 1e9);
    pthread_mutex_unlock(&r->c->mlock);
    pthread_mutex_lock(&r->mu);
    r->applied = b->height;
    pthread_mutex_unlock(&r->mu);
    node_log(NODE_LOG_DEBUG, "cluster: applied block %" PRIu64 " (%" PRIu32
        " txs) from the log", b->height, ntx);
    ret = 0;
out:
    free(rc_out);
    return ret;
}

/* The producer's hook: append the executed block; commit only if it is in
 * the log. */
static int append_hook(void *user, const parex_header *h,
    const uint8_t *block, size_t len)
{
    node_replica *r = user;
    pxc_block *got = NULL;
    size_t n = 0;
    uint64_t t0 = node_now_ns();
    int rc, tries;

    for (tries = 0;; tries++) {
        rc = pxc_append(r->ch, h->height, block, len);
        if (rc != PXC_E_UNAVAILABLE || stopping(r) ||
            !pxc_is_leader(r->ch)) {
            break;
        }
        /* Outcome unknown: the same bytes again are safe (a committed
         * first attempt makes the retry succeed). */
        set_role(r, NODE_ROLE_NO_QUORUM, pxc_errmsg(r->ch));
        nap(r, RETRY_MS, 0);
    }
    if (rc == PXC_OK) {
        pthread_mutex_lock(&r->mu);
        r->log_head = h->height;
        r->applied = h->height;
        r->appends++;
        r->append_ns += node_now_ns() - t0;
        pthread_mutex_unlock(&r->mu);
        set_role(r, NODE_ROLE_PRODUCER, "");
        return 0;
    }
    /* Fenced after an unknown outcome: the first attempt may have landed;
     * then it is the block to apply, and these very bytes are it. */
    if (rc == PXC_E_FENCED && tries > 0 &&
        pxc_read(r->ch, h->height, 1, &got, &n) == PXC_OK && n == 1 &&
        got[0].len == len && memcmp(got[0].bytes, block, len) == 0) {
        pxc_blocks_free(got, n);
        node_log(NODE_LOG_INFO, "cluster: block %" PRIu64 " was appended "
            "before the lease ran out", h->height);
        return 0;
    }
    pxc_blocks_free(got, n);
    node_log(NODE_LOG_WARN, "cluster: block %" PRIu64 " discarded (%s: %s); "
        "following the log", h->height, pxc_code_name(rc),
        pxc_errmsg(r->ch));
    set_role(r, rc == PXC_E_UNAVAILABLE ? NODE_ROLE_NO_QUORUM :
        NODE_ROLE_FOLLOWER, pxc_errmsg(r->ch));
    return 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One campaign; updates who produces. */
static void campaign(node_replica *r)
{
    pxc_leader l;
    bool won = false;
    int rc = pxc_campaign(r->ch, &won, &l);

    if (rc != PXC_OK) {
        set_role(r, rc == PXC_E_UNAVAILABLE ? NODE_ROLE_NO_QUORUM :
            NODE_ROLE_FOLLOWER, pxc_errmsg(r->ch));
        return;
    }
    pthread_mutex_lock(&r->mu);
    snprintf(r->producer, sizeof(r->producer), "%s", l.held ? l.name : "");
    snprintf(r->producer_url, sizeof(r->producer_url), "%s",
        l.held ? l.url : "");
    r->term = l.held ? l.term : 0;
    pthread_mutex_unlock(&r->mu);
    if (won) {
        node_log(NODE_LOG_INFO, "cluster: won the lease: producing (term "
            "%" PRId64 ")", l.term);
    }
    set_role(r, won ? NODE_ROLE_PRODUCER : NODE_ROLE_FOLLOWER, "");
}

static void *replica_main(void *arg)
{
    node_replica *r = arg;
    node_ctx *c = r->c;
    char err[NODE_ERR_LEN], msg[NODE_ERR_LEN];
    int64_t last_campaign = 0, every = r->o.lease_ttl_s * 1000 / 3;
    uint64_t head, low, applied, below, appends = 0;
    int64_t rev;
    pxc_block *bl;
    size_t n, i;
    int rc, again = 0, fresh = 0;

    if (every < 100) {
        every = 100;
    }
    while (!stopping(r)) {
        pthread_mutex_lock(&r->mu);
        rc = r->diverged;
        pthread_mutex_unlock(&r->mu);
        if (rc) {
            nap(r, 1000, 0);
            continue;
        }
        bl = NULL;
        n = 0;
        rev = 0;
        applied = local_head(r);
        if (fresh && pxc_is_leader(r->ch)) {
            /* This node just appended the log's head and still leads:
             * no read of etcd needed before the next block (were it
             * wrong, the next append would be refused: the check is in
             * etcd's txn). */
            pthread_mutex_lock(&r->mu);
            head = r->log_head;
            low = r->log_low;
            pthread_mutex_unlock(&r->mu);
            rc = PXC_OK;
        } else {
            /* One txn for the head, low and the blocks after ours, at one
             * revision: a follower's round per block is this read and a
             * watch from its revision (until session 7 a head read, a
             * block read, and pxc_wait's own head reads around its watch:
             * about three times the requests). */
            rc = pxc_read_head(r->ch, applied + 1, READ_BATCH, &bl, &n,
                &head, &low, &rev);
        }
        fresh = 0;
        if (rc != PXC_OK) {
            /* A gap in the log (or no memory) is not etcd's quorum. */
            set_role(r, rc == PXC_E_CORRUPT || rc == PXC_E_NOMEM ?
                NODE_ROLE_FOLLOWER : NODE_ROLE_NO_QUORUM, pxc_errmsg(r->ch));
            nap(r, RETRY_MS, 0);
            continue;
        }
        pthread_mutex_lock(&r->mu);
        r->log_head = head;
        r->log_low = low;
        r->applied = applied;
        pthread_mutex_unlock(&r->mu);
        if (applied > head) {
            pxc_blocks_free(bl, n);
            diverge(r, "this node's head %" PRIu64 " is above the log's "
                "head %" PRIu64 ": its store holds blocks the chain in etcd "
                "does not", applied, head);
            continue;
        }
        if (applied < head) {
            if (applied + 1 < low) {
                pxc_blocks_free(bl, n);
                snprintf(msg, sizeof(msg), "head %" PRIu64 " is below the "
                    "log's oldest block %" PRIu64 "; fetch a snapshot: "
                    "restart the node (at start it fetches one from the "
                    "producer, at height >= %" PRIu64 ")", applied, low,
                    low - 1);
                fatal(r, msg);
                break;
            }
            if (n == 0) {
                /* The head said more blocks (it is the count of block
                 * keys) but none follows ours: a log changed by hand.
                 * Not a busy loop: retry after a pause. */
                pxc_blocks_free(bl, n);
                set_role(r, NODE_ROLE_FOLLOWER, "the log's head is above "
                    "its last block");
                nap(r, RETRY_MS, 0);
                continue;
            }
            for (i = 0; i < n && !stopping(r); i++) {
                if (apply_logged(r, &bl[i]) != 0) {
                    break;
                }
            }
            pxc_blocks_free(bl, n);
            if (r->status != 0) {
                break;
            }
            applied = local_head(r);
            if (applied != head) {
                continue; /* more to read, diverged, or stopping */
            }
            /* Caught up with the log as of the read's revision: on to
             * the wait without reading the head again. */
        } else {
            pxc_blocks_free(bl, n);
        }
        /* Caught up with the log. */
        if (!pxc_is_leader(r->ch)) {
            if (mono_ms() - last_campaign >= every) {
                last_campaign = mono_ms();
                campaign(r);
            }
            if (!pxc_is_leader(r->ch)) {
                /* rev is 0 only when this node lost the lead since it
                 * skipped the read: then read and watch (pxc_wait). */
                int64_t left = every - (mono_ms() - last_campaign);
                long ms = left < FOLLOW_MIN_MS ? FOLLOW_MIN_MS :
                    left > FOLLOW_MAX_MS ? FOLLOW_MAX_MS : (long)left;

                rc = rev > 0 ? pxc_wait_after(r->ch, rev, ms) :
                    pxc_wait(r->ch, applied + 1, ms);
                if (rc != PXC_OK && rc != PXC_E_TIMEOUT) {
                    set_role(r, rc == PXC_E_UNAVAILABLE ?
                        NODE_ROLE_NO_QUORUM : NODE_ROLE_FOLLOWER,
                        pxc_errmsg(r->ch));
                    nap(r, RETRY_MS, 0);
                }
                continue;
            }
        }
        set_role(r, NODE_ROLE_PRODUCER, "");
        pthread_mutex_lock(&r->mu);
        r->term = pxc_term(r->ch);
        snprintf(r->producer, sizeof(r->producer), "%s", r->name);
        snprintf(r->producer_url, sizeof(r->producer_url), "%s",
            r->url != NULL ? r->url : "");
        pthread_mutex_unlock(&r->mu);
        if (!again) {
            nap(r, r->o.interval_ms > 0 ? r->o.interval_ms : WAIT_MS, 1);
        }
        if (stopping(r) || !pxc_is_leader(r->ch)) {
            continue;
        }
        if (node_produce_block_hook(c, r->e, err, &again, append_hook,
                r) < 0) {
            fatal(r, err);
            break;
        }
        applied = local_head(r);
        pthread_mutex_lock(&r->mu);
        fresh = r->appends != appends && r->log_head == applied;
        appends = r->appends;
        pthread_mutex_unlock(&r->mu);
        /* Retention: blocks older than --retention go from etcd, in
         * steps of retention/8 blocks (one etcd write per step, not one
         * per block on top of the append). */
        if (r->o.retention > 0 && applied > r->o.retention + 1) {
            below = applied - r->o.retention;
            pthread_mutex_lock(&r->mu);
            low = r->log_low;
            pthread_mutex_unlock(&r->mu);
            if (below >= low + (r->o.retention / 8 > 0 ?
                    r->o.retention / 8 : 1) &&
                pxc_compact(r->ch, below, &low) == PXC_OK) {
                pthread_mutex_lock(&r->mu);
                r->log_low = low;
                pthread_mutex_unlock(&r->mu);
            }
        }
    }
    return NULL;
}

/* The pxc configuration of o; cid: 16 bytes for the chain id's text. */
static void fill_cfg(pxc_config *cfg, char *cid, const node_replica_opts *o,
    uint32_t chain_id, int64_t ttl)
{
    snprintf(cid, 16, "%" PRIu32, chain_id);
    memset(cfg, 0, sizeof(*cfg));
    cfg->endpoints = o->endpoints;
    cfg->chain_id = cid;
    cfg->genesis_hash = o->genesis_hash;
    cfg->genesis_hash_len = 32;
    cfg->genesis = o->genesis;
    cfg->genesis_len = o->genesis_len;
    cfg->node_name = o->node_name;
    cfg->advertise_url = o->advertise_url;
    cfg->lease_ttl_s = ttl;
    /* A call must end well within the lease, or a producer could not
     * renew in time while one member hangs. */
    cfg->timeout_ms = ttl * 1000 / 2 < PXC_DEFAULT_TIMEOUT_MS ?
        (long)(ttl * 1000 / 2) : PXC_DEFAULT_TIMEOUT_MS;
}

int node_replica_probe(const node_replica_opts *o, uint32_t chain_id,
    uint64_t *head, uint64_t *low, char *peer, size_t cap, char *err)
{
    pxc_chain *ch = NULL;
    pxc_config cfg;
    pxc_leader l;
    char cid[16], perr[PXC_ERR_LEN];
    int rc;

    fill_cfg(&cfg, cid, o, chain_id, o->lease_ttl_s > 0 ? o->lease_ttl_s :
        PXC_DEFAULT_TTL_S);
    rc = pxc_open(&ch, &cfg, perr);
    if (rc != PXC_OK) {
        node_err(err, "--cluster: %s", perr);
        return rc == PXC_E_GENESIS ? -2 : -1;
    }
    rc = pxc_head(ch, head, low);
    if (rc == PXC_OK) {
        rc = pxc_leader_get(ch, &l);
    }
    if (rc != PXC_OK) {
        node_err(err, "--cluster: %s", pxc_errmsg(ch));
        pxc_close(ch);
        return -1;
    }
    snprintf(peer, cap, "%s", l.held ? l.url : "");
    pxc_close(ch);
    return 0;
}

/* A snapshot source: a peer and what its status said. */
typedef struct source {
    char name[72], url[256];
    char role[16];
    uint64_t applied;
    int producer;        /* it holds the leader key */
    int healthy;         /* status: follower/producer, applied >= need */
} source;

/* Ask url for its status (one JSON-RPC "status", timeout_ms): its cluster
 * role and applied height. 0, or -1 (err). */
static int peer_status(const char *url, uint64_t timeout_ms, char *role,
    size_t rcap, uint64_t *applied, char *err)
{
    static const char body[] = "{\"jsonrpc\":\"2.0\",\"method\":\"status\","
        "\"id\":1}";
    node_http h;
    char *resp = NULL;
    size_t len = 0;
    json_t *j = NULL, *cl;
    const char *ro, *ah;
    int code, ret = -1;

    if (node_http_parse_url(&h, err, url) != 0) {
        return -1;
    }
    node_http_set_timeout(&h, timeout_ms);
    code = node_http_post(&h, err, body, sizeof(body) - 1, &resp, &len);
    node_http_close(&h);
    if (code < 0) {
        return -1;
    }
    if (code != 200 || (j = json_loadb(resp, len, 0, NULL)) == NULL) {
        node_err(err, "status: HTTP %d%s", code, code == 200 ?
            " with a body that is not JSON" : "");
        goto out;
    }
    cl = json_object_get(json_object_get(j, "result"), "cluster");
    ro = json_string_value(json_object_get(cl, "role"));
    ah = json_string_value(json_object_get(cl, "applied_height"));
    if (ro == NULL || ah == NULL || strncmp(ah, "0x", 2) != 0) {
        node_err(err, "status: no cluster role or applied height (not a "
            "--cluster node?)");
        goto out;
    }
    snprintf(role, rcap, "%s", ro);
    *applied = strtoull(ah + 2, NULL, 16);
    ret = 0;
out:
    json_decref(j);
    free(resp);
    return ret;
}

/* Append "URL: why" to buf (cap bytes), "; "-separated, cut at cap. */
static void add_tried(char *buf, size_t cap, const char *url,
    const char *why)
{
    const char *parts[4] = {buf[0] != '\0' ? "; " : "", url, ": ", why};
    size_t at = strlen(buf), i, n;

    for (i = 0; i < 4 && at + 1 < cap; i++) {
        n = strlen(parts[i]);
        if (n > cap - 1 - at) {
            n = cap - 1 - at;
        }
        memcpy(buf + at, parts[i], n);
        at += n;
    }
    buf[at] = '\0';
}

int node_replica_snapshot(const node_replica_opts *o, uint32_t chain_id,
    uint64_t head, uint64_t low, const char *dir, node_snapshot_info *info,
    char *used, size_t cap, char *err)
{
    pxc_chain *ch = NULL;
    pxc_config cfg;
    pxc_leader l;
    pxc_peer *peers = NULL;
    source *src = NULL;
    node_snapshot_opts sno;
    char cid[16], perr[PXC_ERR_LEN], serr[NODE_ERR_LEN];
    char tried[NODE_ERR_LEN - 200];
    size_t n = 0, ns = 0, i, k, t;
    uint64_t need = low > 0 ? low - 1 : 0, ttl_ms;
    int rc, ret = -1;

    used[0] = '\0';
    tried[0] = '\0';
    fill_cfg(&cfg, cid, o, chain_id, o->lease_ttl_s > 0 ? o->lease_ttl_s :
        PXC_DEFAULT_TTL_S);
    ttl_ms = (uint64_t)cfg.lease_ttl_s * 1000;
    rc = pxc_open(&ch, &cfg, perr);
    if (rc != PXC_OK) {
        node_err(err, "--cluster: %s", perr);
        return -1;
    }
    if (pxc_leader_get(ch, &l) != PXC_OK ||
        pxc_peers(ch, &peers, &n) != PXC_OK) {
        node_err(err, "--cluster: %s", pxc_errmsg(ch));
        goto out;
    }
    src = node_calloc(n + 1, sizeof(*src));
    for (i = 0; i < n; i++) {
        if (strcmp(peers[i].name, o->node_name) == 0) {
            continue;   /* this node's own key, from before its restart */
        }
        snprintf(src[ns].name, sizeof(src[ns].name), "%s", peers[i].name);
        snprintf(src[ns].url, sizeof(src[ns].url), "%s", peers[i].url);
        src[ns].producer = l.held && strcmp(l.name, peers[i].name) == 0;
        ns++;
    }
    if (l.held && l.url[0] != '\0' && strcmp(l.name, o->node_name) != 0) {
        for (i = 0; i < ns && !src[i].producer; i++) {
        }
        if (i == ns) {   /* the leader key names a node not listed */
            snprintf(src[ns].name, sizeof(src[ns].name), "%s", l.name);
            snprintf(src[ns].url, sizeof(src[ns].url), "%s", l.url);
            src[ns].producer = 1;
            ns++;
        }
    }
    /* Healthy: it applies the log (follower or producer) and has the
     * state at a height the log goes on from. */
    for (i = 0; i < ns; i++) {
        if (peer_status(src[i].url, ttl_ms, src[i].role,
                sizeof(src[i].role), &src[i].applied, serr) != 0) {
            node_log(NODE_LOG_INFO, "cluster: snapshot source %s at %s: "
                "%s", src[i].name, src[i].url, serr);
            continue;
        }
        src[i].healthy = (strcmp(src[i].role, "follower") == 0 ||
            strcmp(src[i].role, "producer") == 0) &&
            src[i].applied >= need;
        if (!src[i].healthy) {
            node_log(NODE_LOG_INFO, "cluster: snapshot source %s at %s is "
                "not used: role %s, applied height %" PRIu64 " (needed: >= "
                "%" PRIu64 ")", src[i].name, src[i].url, src[i].role,
                src[i].applied, need);
        }
    }
    /* Healthy peers that do not produce first (the producer's cores go to
     * the chain), highest first; the producer last, also when its status
     * did not answer (the fallback). */
    for (t = 0; t < 2 && ret != 0; t++) {
        for (;;) {
            size_t best = ns;
            for (i = 0; i < ns; i++) {
                if (src[i].url[0] == '\0' ||
                    (t == 0 && (!src[i].healthy || src[i].producer)) ||
                    (t == 1 && !src[i].producer)) {
                    continue;
                }
                if (best == ns || src[i].applied > src[best].applied) {
                    best = i;
                }
            }
            if (best == ns) {
                break;
            }
            k = best;
            node_log(NODE_LOG_INFO, "cluster: head %" PRIu64 " is below the "
                "log's oldest block %" PRIu64 ": fetching a snapshot from "
                "%s %s at %s%s", head, low, src[k].producer ? "the producer" :
                "peer", src[k].name, src[k].url, src[k].producer ?
                (t == 1 ? " (the fallback: no other healthy peer served "
                 "one)" : "") : "");
            memset(&sno, 0, sizeof(sno));
            sno.chain_id = chain_id;
            memcpy(sno.genesis, o->genesis_hash, 32);
            memset(info, 0, sizeof(*info));
            serr[0] = '\0';
            rc = node_snapshot_fetch_opts(src[k].url, dir, &sno, info, serr,
                sizeof(serr));
            if (rc == 0 && info->height >= need) {
                snprintf(used, cap, "%s %s at %s", src[k].producer ?
                    "the producer" : "peer", src[k].name, src[k].url);
                ret = 0;
                break;
            }
            if (rc == 0) {
                snprintf(serr, sizeof(serr), "its snapshot is at height %"
                    PRIu64 ", below %" PRIu64, info->height, need);
            }
            node_log(NODE_LOG_WARN, "cluster: snapshot from %s at %s "
                "failed: %s", src[k].name, src[k].url, serr);
            add_tried(tried, sizeof(tried), src[k].url, serr);
            src[k].url[0] = '\0';   /* tried */
        }
    }
    if (ret != 0) {
        node_err(err, "head %" PRIu64 " is below the log's oldest block %"
            PRIu64 "; no peer gave a snapshot at height >= %" PRIu64 " (%s)",
            head, low, need, tried[0] != '\0' ? tried : ns == 0 ?
            "no other node published a URL and no producer holds the lease"
            : "no peer is healthy and no producer holds the lease");
    }
out:
    free(src);
    free(peers);
    pxc_close(ch);
    return ret;
}

int node_replica_open(node_replica **out, char *err, node_ctx *c,
    const node_replica_opts *o)
{
    node_replica *r = node_calloc(1, sizeof(*r));
    pxc_config cfg;
    char cid[16], perr[PXC_ERR_LEN];
    int rc;

    *out = NULL;
    r->c = c;
    r->o = *o;
    r->endpoints = node_strdup(o->endpoints);
    r->name = node_strdup(o->node_name);
    r->url = o->advertise_url != NULL ? node_strdup(o->advertise_url) : NULL;
    if (r->o.lease_ttl_s <= 0) {
        r->o.lease_ttl_s = PXC_DEFAULT_TTL_S;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->o.endpoints = r->endpoints;
    r->o.node_name = r->name;
    r->o.advertise_url = r->url;
    fill_cfg(&cfg, cid, &r->o, c->chain_id, r->o.lease_ttl_s);
    rc = pxc_open(&r->ch, &cfg, perr);
    if (rc != PXC_OK) {
        node_err(err, "--cluster: %s", perr);
        node_replica_free(r);
        return rc == PXC_E_GENESIS ? -2 : -1;
    }
    if (pxc_keepalive_start(r->ch) != PXC_OK) {
        node_err(err, "--cluster: %s", pxc_errmsg(r->ch));
        node_replica_free(r);
        return -1;
    }
    r->role = NODE_ROLE_STARTING;
    c->replica = r;
    *out = r;
    return 0;
}

int node_replica_start(node_replica *r, parex_engine *e)
{
    r->e = e;
    if (pthread_create(&r->th, NULL, replica_main, r) != 0) {
        return -1;
    }
    r->started = 1;
    return 0;
}

int node_replica_stop(node_replica *r)
{
    int status;

    if (r == NULL) {
        return 0;
    }
    pthread_mutex_lock(&r->c->lock);
    r->c->stop = 1;
    pthread_cond_broadcast(&r->c->wake);
    pthread_mutex_unlock(&r->c->lock);
    if (r->started) {
        pthread_join(r->th, NULL);
        r->started = 0;
    }
    status = r->status;
    return status;
}

void node_replica_free(node_replica *r)
{
    if (r == NULL) {
        return;
    }
    if (r->c != NULL && r->c->replica == r) {
        r->c->replica = NULL;
    }
    pxc_close(r->ch);
    pthread_mutex_destroy(&r->mu);
    free(r->endpoints);
    free(r->name);
    free(r->url);
    free(r);
}

void node_replica_status_get(node_replica *r, node_replica_status *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&r->mu);
    out->role = r->role;
    out->term = r->term;
    out->applied = r->applied;
    out->log_head = r->log_head;
    out->log_low = r->log_low;
    out->lag = r->log_head > r->applied ? r->log_head - r->applied : 0;
    out->appends = r->appends;
    out->append_ns = r->append_ns;
    snprintf(out->node, sizeof(out->node), "%s", r->name);
    snprintf(out->producer, sizeof(out->producer), "%s", r->producer);
    snprintf(out->producer_url, sizeof(out->producer_url), "%s",
        r->producer_url);
    snprintf(out->why, sizeof(out->why), "%s", r->why);
    pthread_mutex_unlock(&r->mu);
    if (out->role == NODE_ROLE_PRODUCER && !pxc_is_leader(r->ch)) {
        out->role = NODE_ROLE_FOLLOWER;
    }
}

int node_replica_forward(node_replica *r, const char *body, size_t len,
    char **resp, char *err)
{
    node_replica_status st;
    node_http h;
    int code;

    *resp = NULL;
    node_replica_status_get(r, &st);
    if (st.role == NODE_ROLE_PRODUCER) {
        return 1;
    }
    if (st.role == NODE_ROLE_DIVERGED) {
        node_err(err, "this node diverged from the log (%s): it takes no "
            "transactions", st.why);
        return -1;
    }
    if (st.producer[0] == '\0' || st.producer_url[0] == '\0' ||
        strcmp(st.producer, st.node) == 0) {
        node_err(err, "no producer known%s%s%s: try again shortly",
            st.producer[0] != '\0' ? " (the leader key names " : "",
            st.producer, st.producer[0] != '\0' ? ", with no URL)" : "");
        return -1;
    }
    if (node_http_parse_url(&h, err, st.producer_url) != 0) {
        return -1;
    }
    /* A producer that does not answer within a lease TTL is probably
     * gone (its lease runs out meanwhile): the client tries again, by
     * then through the next producer. */
    node_http_set_timeout(&h, (uint64_t)(r->o.lease_ttl_s > 1 ?
        r->o.lease_ttl_s : 1) * 1000);
    code = node_http_post(&h, err, body, len, resp, &len);
    node_http_close(&h);
    if (code < 0) {
        node_err(err, "forwarding to the producer %s at %s failed: the "
            "producer may have changed; try again", st.producer,
            st.producer_url);
        return -1;
    }
    if (code != 200) {
        free(*resp);
        *resp = NULL;
        node_err(err, "the producer %s at %s answered HTTP %d", st.producer,
            st.producer_url, code);
        return -1;
    }
    return 0;
}
