/* The block producer: takes ready transactions from the mempool, executes
 * them as the next block, logs the block and commits it. The only thread
 * that uses the engine and the only one that removes from the mempool. */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void node_ctx_init(node_ctx *c, size_t mempool_txs, size_t mempool_bytes)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->mlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    c->mp = node_mempool_create(mempool_txs, mempool_bytes);
    memset(&c->m, 0, sizeof(c->m));
    c->start_ns = node_now_ns();
    c->stop = 0;
}

void node_ctx_release(node_ctx *c)
{
    node_mempool_destroy(c->mp);
    c->mp = NULL;
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->mlock);
}

static int nonce_of(uint64_t *nonce, const uint8_t sender[32], void *user)
{
    node_ctx *c = user;
    uint8_t key[32], val[PAREX_ACCOUNT_BYTES];
    size_t len = sizeof(val);
    uint64_t bal;
    int rc;

    parex_account_key(key, sender);
    rc = parex_db_get(c->db, val, &len, key);
    if (rc == PAREX_E_NOTFOUND) {
        *nonce = 0;
        return 0;
    }
    if (rc != PAREX_OK ||
        parex_account_decode(&bal, nonce, val, len) != PAREX_OK) {
        return -1;
    }
    return 0;
}

static void log_drop(const node_mp_tx *t, const char *why)
{
    char id[65];

    node_hex(id, t->txid, 32);
    node_warn("node: dropped tx %s (nonce %llu): %s", id,
        (unsigned long long)t->nonce, why);
}

static void drop_stale(const node_mp_tx *t, uint64_t next, void *user)
{
    node_ctx *c = user;
    char why[96];

    snprintf(why, sizeof(why), "nonce already used (the sender's next "
        "nonce is %llu)", (unsigned long long)next);
    log_drop(t, why);
    /* Called under c->lock; metrics have their own lock. */
    pthread_mutex_lock(&c->mlock);
    c->m.dropped++;
    pthread_mutex_unlock(&c->mlock);
}

static void record_metrics(node_ctx *c, const parex_block_stats *s,
    uint64_t commit_ns, size_t ntx)
{
    node_metrics *m = &c->m;

    pthread_mutex_lock(&c->mlock);
    m->blocks++;
    m->txs += ntx;
    m->batches += s->batches;
    m->reexecutions += s->reexecutions;
    m->fallback_blocks += s->fallback;
    m->verify_skipped += s->verify_skipped;
    m->stage_ns[0] += s->decode_ns;
    m->stage_ns[1] += s->verify_ns;
    m->stage_ns[2] += s->analysis_ns;
    m->stage_ns[3] += s->exec_ns;
    m->stage_ns[4] += s->validate_ns;
    m->stage_ns[5] += s->apply_ns;
    m->stage_ns[6] += s->root_ns;
    m->stage_ns[7] += commit_ns;
    m->stage_ns[8] += s->total_ns + commit_ns;
    m->ring_t[m->ring_pos] = node_now_ns();
    m->ring_n[m->ring_pos] = ntx;
    m->ring_pos = (m->ring_pos + 1) % 256;
    if (m->ring_len < 256) {
        m->ring_len++;
    }
    pthread_mutex_unlock(&c->mlock);
}

long node_produce_block(node_ctx *c, parex_engine *e, char *err)
{
    node_mp_tx **cand = node_malloc(c->max_block_txs * sizeof(*cand));
    node_txbytes *tb = node_malloc(c->max_block_txs * sizeof(*tb));
    parex_receipt *rc_out = node_malloc(c->max_block_txs * sizeof(*rc_out));
    parex_block_stats st = PAREX_BLOCK_STATS_INIT, cst = PAREX_BLOCK_STATS_INIT;
    parex_error_info ei;
    parex_header head, h;
    node_buf block = {0};
    size_t n, i, j;
    long ret = -1;
    int rc;

    pthread_mutex_lock(&c->lock);
    n = node_mempool_select(c->mp, cand, c->max_block_txs, nonce_of,
        drop_stale, c);
    pthread_mutex_unlock(&c->lock);
    /* The selected entries stay valid outside the lock: only this thread
     * removes from the mempool. */
    while (n > 0) {
        rc = parex_db_head(c->db, &head);
        if (rc != PAREX_OK) {
            node_err(err, "cannot read the head: %s", parex_strerror(rc));
            goto out;
        }
        memset(&h, 0, sizeof(h));
        h.height = head.height + 1;
        parex_header_hash(h.parent, &head);
        memcpy(h.fee_recipient, c->fee_recipient, 32);
        for (i = 0; i < n; i++) {
            tb[i].p = cand[i]->bytes;
            tb[i].len = cand[i]->len;
            tb[i].raw = 0;
        }
        block.len = 0;
        node_block_encode(&block, &h, tb, n);
        memset(&ei, 0, sizeof(ei));
        /* Every mempool tx had its signature verified on entry
         * (submitTransaction, over these very bytes): the engine need not
         * verify it again. A trust decision the node can make for blocks
         * it builds itself; replay and sync never pass the flag. */
        rc = parex_engine_execute(e, &h, rc_out, n, &st, &ei, block.p,
            block.len, PAREX_EXEC_VERIFIED);
        if (rc == PAREX_OK) {
            break;
        }
        if (rc != PAREX_E_BLOCK || ei.tx_index < 0 ||
            (size_t)ei.tx_index >= n) {
            node_err(err, "block %llu: execution failed: %s (%s)",
                (unsigned long long)h.height, parex_strerror(rc),
                ei.message);
            goto out;
        }
        /* A tx that became invalid (it cannot pay its fee after the txs
         * before it, for one): drop it, keep the later txs of its sender
         * pending (they wait for the nonce), and try again without them. */
        {
            node_mp_tx *bad = cand[ei.tx_index];
            char why[NODE_ERR_LEN];
            uint8_t sender[32];
            snprintf(why, sizeof(why), "%s: %s",
                parex_reject_name(ei.reject), ei.message);
            log_drop(bad, why);
            memcpy(sender, bad->sender, 32);
            for (i = (size_t)ei.tx_index, j = i; i < n; i++) {
                if (memcmp(cand[i]->sender, sender, 32) != 0) {
                    cand[j++] = cand[i];
                }
            }
            n = j;
            pthread_mutex_lock(&c->lock);
            node_mempool_remove(c->mp, bad->txid);
            pthread_mutex_unlock(&c->lock);
            pthread_mutex_lock(&c->mlock);
            c->m.dropped++;
            pthread_mutex_unlock(&c->mlock);
        }
    }
    if (n == 0) {
        ret = 0;
        goto out;
    }
    /* The commit writes the block and its receipts with the state, in one
     * LMDB write transaction: readers (rpc.c) see all of it or none. */
    memset(&cst, 0, sizeof(cst));
    cst.size = sizeof(cst);
    rc = parex_engine_commit(e, &cst);
    if (rc != PAREX_OK) {
        parex_engine_abort(e);
        node_err(err, "block %llu: commit failed: %s",
            (unsigned long long)h.height, parex_strerror(rc));
        goto out;
    }
    record_metrics(c, &st, cst.commit_ns, n);
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < n; i++) {
        node_mempool_remove(c->mp, rc_out[i].txid);
    }
    pthread_mutex_unlock(&c->lock);
    ret = (long)n;
out:
    node_buf_release(&block);
    free(cand);
    free(tb);
    free(rc_out);
    return ret;
}

struct node_producer {
    pthread_t th;
    node_ctx *c;
    parex_engine *e;
    node_producer_opts o;
    int status;
};

static void deadline_in(struct timespec *ts, uint64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void *producer_main(void *arg)
{
    node_producer *p = arg;
    node_ctx *c = p->c;
    char err[NODE_ERR_LEN];
    struct timespec ts;
    int stop, full_ok = 1;
    long got;

    for (;;) {
        deadline_in(&ts, p->o.interval_ms);
        pthread_mutex_lock(&c->lock);
        /* A full mempool wakes us early, unless the last attempt found
         * nothing ready (nonce gaps): then wait the interval. */
        while (!c->stop && !(full_ok &&
                   node_mempool_size(c->mp) >= c->max_block_txs)) {
            if (pthread_cond_timedwait(&c->wake, &c->lock, &ts) ==
                ETIMEDOUT) {
                break;
            }
        }
        stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (stop) {
            break;
        }
        got = node_produce_block(c, p->e, err);
        if (got < 0) {
            node_warn("node: block production stopped: %s", err);
            p->status = -1;
            /* Wake the main thread so the node exits non-zero. */
            kill(getpid(), SIGTERM);
            break;
        }
        full_ok = got > 0;
    }
    return NULL;
}

int node_producer_start(node_producer **out, node_ctx *c, parex_engine *e,
    const node_producer_opts *o)
{
    node_producer *p = node_calloc(1, sizeof(*p));

    p->c = c;
    p->e = e;
    p->o = *o;
    if (pthread_create(&p->th, NULL, producer_main, p) != 0) {
        free(p);
        *out = NULL;
        return -1;
    }
    *out = p;
    return 0;
}

int node_producer_stop(node_producer *p)
{
    int status;

    pthread_mutex_lock(&p->c->lock);
    p->c->stop = 1;
    pthread_cond_broadcast(&p->c->wake);
    pthread_mutex_unlock(&p->c->lock);
    pthread_join(p->th, NULL);
    status = p->status;
    free(p);
    return status;
}
