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

const double node_hist_le[NODE_HIST_BUCKETS] = {0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

void node_hist_add(node_hist *h, double seconds)
{
    unsigned i;

    for (i = 0; i < NODE_HIST_BUCKETS && seconds > node_hist_le[i]; i++) {
    }
    h->b[i]++;
    h->count++;
    h->sum += seconds;
}

const char *node_drop_name(int reason)
{
    static const char *const names[NODE_DROP_REASONS] = {"stale_nonce",
        "fee_unpayable", "fee_overflow", "rejected", "expired", "evicted"};

    return reason >= 0 && reason < NODE_DROP_REASONS ? names[reason] : "?";
}

const char *node_rej_name(int rej)
{
    static const char *const names[NODE_REJ_REASONS] = {"INVALID_PARAMS",
        "MALFORMED", "LIMIT", "CHAIN_ID", "BAD_SIGNATURE", "NONCE_USED",
        "NONCE_GAP", "DUPLICATE", "INSUFFICIENT_BALANCE", "SENDER_LIMIT",
        "MEMPOOL_FULL", "INTERNAL"};

    return rej >= 0 && rej < NODE_REJ_REASONS ? names[rej] : "?";
}

void node_ctx_init(node_ctx *c, size_t mempool_txs, size_t mempool_bytes,
    size_t per_sender)
{
    pthread_condattr_t ca;

    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->mlock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    c->mp = node_mempool_create(mempool_txs, mempool_bytes, per_sender);
    c->drops = node_calloc(NODE_DROP_KEEP, sizeof(*c->drops));
    c->drop_pos = 0;
    memset(&c->drop_ix, 0, sizeof(c->drop_ix));
    memset(&c->by_hash, 0, sizeof(c->by_hash));
    c->hashed = 0;
    memset(&c->m, 0, sizeof(c->m));
    if (c->max_block_bytes == 0) {
        c->max_block_bytes = SIZE_MAX;
    }
    if (c->max_response == 0) {
        c->max_response = SIZE_MAX;
    }
    if (c->body_budget == 0) {
        c->body_budget = SIZE_MAX;
    }
    if (c->resp_budget == 0) {
        c->resp_budget = SIZE_MAX;
    }
    c->start_ns = node_now_ns();
    c->stop = 0;
}

void node_ctx_release(node_ctx *c)
{
    node_mempool_destroy(c->mp);
    c->mp = NULL;
    free(c->drops);
    c->drops = NULL;
    node_keymap_release(&c->drop_ix);
    node_keymap_release(&c->by_hash);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->mlock);
}

void node_note_drop(node_ctx *c, const uint8_t txid[32], uint64_t nonce,
    int reason, const char *msg)
{
    node_dropped *d = &c->drops[c->drop_pos];
    parex_header head;
    uint64_t old;
    char id[65];

    /* The slot's previous tenant is forgotten. */
    if (node_keymap_get(&c->drop_ix, d->txid, &old) &&
        old == c->drop_pos + 1) {
        node_keymap_del(&c->drop_ix, d->txid, NULL);
    }
    memcpy(d->txid, txid, 32);
    d->reason = reason;
    d->at_height = parex_db_head(c->db, &head) == PAREX_OK ? head.height : 0;
    snprintf(d->msg, sizeof(d->msg), "%s", msg);
    node_keymap_put(&c->drop_ix, txid, c->drop_pos + 1);
    c->drop_pos = (c->drop_pos + 1) % NODE_DROP_KEEP;
    pthread_mutex_lock(&c->mlock);
    c->m.dropped[reason]++;
    pthread_mutex_unlock(&c->mlock);
    node_hex(id, txid, 32);
    node_log(NODE_LOG_DEBUG, "dropped tx %s (nonce %llu): %s: %s", id,
        (unsigned long long)nonce, node_drop_name(reason), msg);
}

int node_find_drop(node_ctx *c, const uint8_t txid[32], node_dropped *out)
{
    uint64_t slot;

    if (!node_keymap_get(&c->drop_ix, txid, &slot)) {
        return 0;
    }
    *out = c->drops[slot - 1];
    return 1;
}

static int read_acct(node_ctx *c, uint64_t *bal, uint64_t *nonce,
    const uint8_t pub[32])
{
    uint8_t key[32], val[PAREX_ACCOUNT_BYTES];
    size_t len = sizeof(val);
    int rc;

    parex_account_key(key, pub);
    rc = parex_db_get(c->db, val, &len, key);
    if (rc == PAREX_E_NOTFOUND) {
        *bal = 0;
        *nonce = 0;
        return 0;
    }
    if (rc != PAREX_OK ||
        parex_account_decode(bal, nonce, val, len) != PAREX_OK) {
        return -1;
    }
    return 0;
}

static int nonce_of(uint64_t *nonce, const uint8_t sender[32], void *user)
{
    uint64_t bal;

    return read_acct(user, &bal, nonce, sender);
}

static void drop_stale(const node_mp_tx *t, uint64_t next, void *user)
{
    char why[96];

    snprintf(why, sizeof(why), "nonce already used (the sender's next "
        "nonce is %llu)", (unsigned long long)next);
    node_note_drop(user, t->txid, t->nonce, NODE_DROP_STALE, why);
}

static void gone_cb(const node_mp_tx *t, int reason, void *user)
{
    node_ctx *c = user;
    char why[96];

    if (reason == NODE_DROP_EXPIRED) {
        snprintf(why, sizeof(why), "pending for longer than the mempool "
            "TTL of %llu s", (unsigned long long)(c->mempool_ttl_ns /
            1000000000ULL));
    } else {
        snprintf(why, sizeof(why), "evicted from the full mempool by a tx "
            "paying more per byte");
    }
    node_note_drop(c, t->txid, t->nonce, reason, why);
}

void node_mempool_gone(const node_mp_tx *t, int reason, void *c)
{
    gone_cb(t, reason, c);
}

static void record_metrics(node_ctx *c, const parex_block_stats *s,
    uint64_t commit_ns, size_t ntx, unsigned runs)
{
    node_metrics *m = &c->m;

    pthread_mutex_lock(&c->mlock);
    m->blocks++;
    m->txs += ntx;
    m->batches += s->batches;
    m->reexecutions += s->reexecutions;
    m->fallback_blocks += s->fallback;
    m->parallel_blocks += s->fallback == 0;
    m->parallel_txs += s->fallback == 0 ? ntx : 0;
    m->fallback_by_reason[s->fallback_reason < NODE_FALLBACK_REASONS
        ? s->fallback_reason : NODE_FALLBACK_REASONS - 1] += s->fallback;
    m->reruns += runs > 0 ? runs - 1 : 0;
    m->verify_skipped += s->verify_skipped;
    m->stage_ns[0] += s->decode_ns;
    m->stage_ns[1] += s->verify_ns;
    m->stage_ns[2] += s->analysis_ns;
    m->stage_ns[3] += s->exec_ns;
    m->stage_ns[4] += s->validate_ns;
    m->stage_ns[5] += s->apply_ns;
    m->stage_ns[6] += s->root_ns;
    m->stage_ns[7] += commit_ns;
    node_hist_add(&m->block_time, (double)(s->total_ns + commit_ns) / 1e9);
    pthread_mutex_unlock(&c->mlock);
}

/* The growth path of a full store (docs/node.md, "Limits"). */
#define MAPFULL_HINT "; the state store reached --map-size: restart the " \
    "node with a larger --map-size (the map grows on open; nothing is lost)"

/* A selected tx, copied out of the mempool. */
typedef struct cand {
    uint8_t txid[32], sender[32];
    uint64_t nonce, fee;
    uint8_t *bytes;
    size_t len;
} cand;

typedef struct pending_drop {
    size_t at;          /* index in cands */
    int reason;
    char msg[160];
} pending_drop;

/* The block's pending state, per account key, while it is checked: a
 * model of the engine's nonce/fee prelude and of the transfer program, so
 * that a tx the engine would reject is found without executing anything. */
#define ACCT_OK 0        /* bal is exact */
#define ACCT_UNKNOWN 1   /* written by a program the model does not run */
#define ACCT_BAD 2       /* the stored value is not an account */
typedef struct acct_run {
    uint64_t bal;
    int state;
    int blocked;         /* as a sender: its later txs wait (not dropped) */
} acct_run;

typedef struct model {
    node_ctx *c;
    node_keymap ix;      /* account key -> index in a */
    acct_run *a;
    size_t n, cap;
} model;

static int writes_key(const parex_tx *tx, const uint8_t key[32])
{
    uint32_t w;

    for (w = 0; w < tx->n_write; w++) {
        if (memcmp(tx->write_set + 32 * (size_t)w, key, 32) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The entry of key, loaded on first use. Growing the table moves the
 * entries: a pointer from an earlier call is stale after this one. */
static acct_run *model_get(model *m, const uint8_t key[32])
{
    uint8_t val[PAREX_ACCOUNT_BYTES];
    size_t len = sizeof(val);
    uint64_t slot, nonce;
    acct_run *r;
    int rc;

    if (node_keymap_get(&m->ix, key, &slot)) {
        return &m->a[slot];
    }
    if (m->n == m->cap) {
        m->cap = m->cap == 0 ? 64 : m->cap * 2;
        m->a = node_realloc(m->a, m->cap * sizeof(*m->a));
    }
    r = &m->a[m->n];
    memset(r, 0, sizeof(*r));
    rc = parex_db_get(m->c->db, val, &len, key);
    if (rc == PAREX_E_NOTFOUND) {
        r->bal = 0;
    } else if (rc != PAREX_OK ||
               parex_account_decode(&r->bal, &nonce, val, len) != PAREX_OK) {
        r->state = ACCT_BAD;
    }
    node_keymap_put(&m->ix, key, m->n);
    return &m->a[m->n++];
}

/* Drop (under the lock) the txs listed, remove them from the mempool. */
static void apply_drops(node_ctx *c, const cand *cs, const pending_drop *d,
    size_t nd)
{
    size_t i;

    if (nd == 0) {
        return;
    }
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < nd; i++) {
        const cand *t = &cs[d[i].at];
        if (node_mempool_remove(c->mp, t->txid)) {
            node_note_drop(c, t->txid, t->nonce, d[i].reason, d[i].msg);
        }
    }
    pthread_mutex_unlock(&c->lock);
}

long node_produce_block(node_ctx *c, parex_engine *e, char *err, int *again)
{
    return node_produce_block_hook(c, e, err, again, NULL, NULL);
}

/* block (as executed, header encoded) sealed with the BAL the engine
 * recorded for it into *out. 0, or -1 with err set. */
static int seal_with_bal(parex_engine *e, const node_buf *block,
    node_buf *out, char *err)
{
    uint8_t *bal = NULL;
    size_t len = 0;
    int rc = parex_engine_bal(e, NULL, &len);

    if (rc == PAREX_E_BUFFER || rc == PAREX_OK) {
        bal = node_malloc(len);
        rc = parex_engine_bal(e, bal, &len);
    }
    if (rc != PAREX_OK) {
        free(bal);
        node_err(err, "no BAL recorded for the block: %s",
            parex_strerror(rc));
        return -1;
    }
    node_block_attach_bal(out, block->p, block->len, bal, len);
    free(bal);
    return 0;
}

long node_produce_block_hook(node_ctx *c, parex_engine *e, char *err,
    int *again, node_block_hook hook, void *user)
{
    node_mp_tx **sel = node_malloc(c->max_block_txs * sizeof(*sel));
    cand *cs = NULL;
    size_t *order = NULL;
    node_txbytes *tb = NULL;
    parex_receipt *rc_out = NULL;
    pending_drop *drops = NULL;
    acct_run *runs = NULL;
    node_keymap senders = {0};
    parex_block_stats st = PAREX_BLOCK_STATS_INIT, cst = PAREX_BLOCK_STATS_INIT;
    parex_error_info ei;
    parex_header head, h;
    node_buf block = {0}, sealed = {0};
    size_t n, nsel, nd = 0, nruns = 0, i;
    uint64_t slot;
    unsigned execs = 0;
    long ret = -1;
    int rc;

    if (again != NULL) {
        *again = 0;
    }
    pthread_mutex_lock(&c->lock);
    if (c->mempool_ttl_ns > 0 && node_now_ns() > c->mempool_ttl_ns) {
        node_mempool_expire(c->mp, node_now_ns() - c->mempool_ttl_ns,
            gone_cb, c);
    }
    nsel = node_mempool_select(c->mp, sel, c->max_block_txs,
        c->max_block_bytes, nonce_of, drop_stale, c);
    /* Copies: admission may evict or expire entries once we let go. */
    cs = node_calloc(nsel > 0 ? nsel : 1, sizeof(*cs));
    for (i = 0; i < nsel; i++) {
        memcpy(cs[i].txid, sel[i]->txid, 32);
        memcpy(cs[i].sender, sel[i]->sender, 32);
        cs[i].nonce = sel[i]->nonce;
        cs[i].fee = sel[i]->fee;
        cs[i].len = sel[i]->len;
        cs[i].bytes = node_malloc(sel[i]->len);
        memcpy(cs[i].bytes, sel[i]->bytes, sel[i]->len);
    }
    pthread_mutex_unlock(&c->lock);
    free(sel);
    sel = NULL;
    order = node_malloc((nsel > 0 ? nsel : 1) * sizeof(*order));
    drops = node_malloc((nsel > 0 ? nsel : 1) * sizeof(*drops));
    runs = node_calloc(nsel > 0 ? nsel : 1, sizeof(*runs));

    /* Against the pending state, before any execution: the sender's
     * account must be readable and known, the fee payable from what the
     * block's earlier txs left it, and the fee total must not overflow the
     * fee recipient. Transfers are applied to the model as the engine
     * would; any other program makes the accounts it may write unknown,
     * and txs of an unknown sender wait for the next block. A dropped tx
     * takes its sender's later txs out of this block (they wait for the
     * nonce). */
    {
        model md;
        uint8_t fkey[32], skey[32], tkey[32];
        acct_run *fr;
        uint64_t fees = 0;
        parex_error_info dei;
        parex_tx tx;

        memset(&md, 0, sizeof(md));
        md.c = c;
        parex_account_key(fkey, c->fee_recipient);
        for (i = 0, n = 0; i < nsel; i++) {
            acct_run *a, *t;
            uint64_t amount;
            uint32_t w;
            const char *why = NULL;
            int reason = NODE_DROP_REJECTED;
            if (node_keymap_get(&senders, cs[i].sender, &slot)) {
                /* a sender seen before: its blocked flag is in runs */
            } else {
                slot = nruns++;
                node_keymap_put(&senders, cs[i].sender, slot);
            }
            if (runs[slot].blocked) {
                continue;
            }
            parex_account_key(skey, cs[i].sender);
            a = model_get(&md, skey);
            if (a->state == ACCT_UNKNOWN) {
                runs[slot].blocked = 1;   /* next block */
                continue;
            }
            memset(&dei, 0, sizeof(dei));
            if (parex_tx_decode(&tx, &dei, cs[i].bytes, cs[i].len,
                    &c->limits) != PAREX_OK) {
                why = "no longer decodes under the limits";
            } else if (a->state == ACCT_BAD) {
                why = "the sender's account value is not an account";
            } else if (tx.program != PAREX_PROGRAM_TRANSFER &&
                       writes_key(&tx, fkey)) {
                /* The fee credit at the end of the block needs an account
                 * there; a program may leave anything. */
                why = "a program writing the fee recipient's account";
            } else if (cs[i].fee > a->bal) {
                reason = NODE_DROP_FEE;
                snprintf(drops[nd].msg, sizeof(drops[nd].msg), "fee %llu "
                    "not payable: the sender's balance is %llu after the "
                    "block's earlier txs", (unsigned long long)cs[i].fee,
                    (unsigned long long)a->bal);
            } else {
                fr = model_get(&md, fkey);
                a = model_get(&md, skey);   /* fr's growth may move it */
                if (fr->state == ACCT_OK &&
                    (fees > UINT64_MAX - cs[i].fee ||
                     fr->bal > UINT64_MAX - fees - cs[i].fee)) {
                    reason = NODE_DROP_FEE_OVERFLOW;
                    snprintf(drops[nd].msg, sizeof(drops[nd].msg), "fee "
                        "%llu overflows the fee recipient's balance %llu "
                        "(%llu in fees before it)",
                        (unsigned long long)cs[i].fee,
                        (unsigned long long)fr->bal,
                        (unsigned long long)fees);
                } else {
                    reason = -1;   /* included */
                }
            }
            if (reason >= 0) {
                if (why != NULL) {
                    snprintf(drops[nd].msg, sizeof(drops[nd].msg), "%s",
                        why);
                }
                drops[nd].at = i;
                drops[nd].reason = reason;
                nd++;
                runs[slot].blocked = 1;
                continue;
            }
            a->bal -= cs[i].fee;
            fees += cs[i].fee;
            order[n++] = i;
            if (tx.program == PAREX_PROGRAM_TRANSFER) {
                if (tx.args_len != PAREX_TRANSFER_ARGS_BYTES) {
                    continue;   /* fails; only the fee moved */
                }
                amount = node_get_u64le(tx.args + 32);
                parex_account_key(tkey, tx.args);
                if (amount > a->bal || memcmp(tkey, skey, 32) == 0) {
                    continue;   /* fails, or moves nothing */
                }
                t = model_get(&md, tkey);
                a = model_get(&md, skey);   /* t's growth may move it */
                if (t->state == ACCT_UNKNOWN) {
                    /* Its outcome depends on a value the model lacks. */
                    a->state = ACCT_UNKNOWN;
                    continue;
                }
                if (t->state == ACCT_BAD || t->bal > UINT64_MAX - amount) {
                    continue;   /* fails */
                }
                a->bal -= amount;
                t->bal += amount;
                continue;
            }
            /* Another program: whatever it may write is unknown now. */
            for (w = 0; w < tx.n_write; w++) {
                model_get(&md, tx.write_set + 32 * (size_t)w)->state =
                    ACCT_UNKNOWN;
            }
        }
        node_keymap_release(&md.ix);
        free(md.a);
    }
    node_keymap_release(&senders);
    apply_drops(c, cs, drops, nd);
    if (nd > 0 && again != NULL) {
        *again = 1;
    }
    nd = 0;

    tb = node_malloc((n > 0 ? n : 1) * sizeof(*tb));
    rc_out = node_malloc((n > 0 ? n : 1) * sizeof(*rc_out));
    /* Each pass either succeeds or drops the tx the engine names and runs
     * the txs before it: those executed exactly as they will again (a
     * block's txs see only the txs before them), so the second pass
     * succeeds and a block costs at most two executions. */
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
            tb[i].p = cs[order[i]].bytes;
            tb[i].len = cs[order[i]].len;
            tb[i].raw = 0;
        }
        block.len = 0;
        node_block_encode(&block, &h, tb, n);
        memset(&ei, 0, sizeof(ei));
        /* Every mempool tx had its signature verified on entry
         * (submitTransaction, over these very bytes): the engine need not
         * verify it again. A trust decision the node can make for blocks
         * it builds itself; replay and sync never pass the flag. */
        execs++;
        /* Sealed with its block access list unless --no-bal: the engine
         * records it and stores the block with it (issue 13). Without a
         * hook nothing stands between execution and the commit, so the
         * same call commits: the engine then records and hashes the BAL
         * beside the store's writes instead of before them. */
        rc = parex_engine_execute(e, &h, rc_out, n, &st, &ei, block.p,
            block.len, PAREX_EXEC_VERIFIED |
                (hook == NULL ? PAREX_EXEC_COMMIT : 0u) |
                (c->no_bal ? 0u : PAREX_EXEC_RECORD_BAL));
        if (rc == PAREX_OK) {
            break;
        }
        if (rc == PAREX_E_NOMEM || rc == PAREX_E_STORAGE ||
            ei.tx_index < 0 || (size_t)ei.tx_index >= n) {
            node_err(err, "block %llu: execution failed: %s (%s)%s",
                (unsigned long long)h.height, parex_strerror(rc),
                ei.message, rc == PAREX_E_MAPFULL ? MAPFULL_HINT : "");
            goto out;
        }
        drops[0].at = order[ei.tx_index];
        drops[0].reason = ei.reject == PAREX_REJECT_FEE ? NODE_DROP_FEE :
            ei.reject == PAREX_REJECT_OVERFLOW &&
            strcmp(ei.field, "fee_recipient") == 0 ? NODE_DROP_FEE_OVERFLOW :
            NODE_DROP_REJECTED;
        snprintf(drops[0].msg, sizeof(drops[0].msg), "%s: %.140s",
            parex_reject_name(ei.reject), ei.message);
        apply_drops(c, cs, drops, 1);
        if (again != NULL) {
            *again = 1;
        }
        n = (size_t)ei.tx_index;
    }
    if (n == 0) {
        ret = 0;
        goto out;
    }
    /* The block as executed: the computed header (roots filled) over the
     * zero-root one it was built with, so that a node executing these
     * bytes checks every root. The hook (the cluster's append) decides
     * whether it is committed. */
    if (hook != NULL) {
        parex_header_encode(block.p, &h);
        if (!c->no_bal) {
            /* The header's tx root commits to the BAL: the log gets the
             * block sealed with it, as the store does. */
            rc = seal_with_bal(e, &block, &sealed, err);
            if (rc != 0) {
                parex_engine_abort(e);
                ret = -1;
                goto out;
            }
        }
        rc = c->no_bal ? hook(user, &h, block.p, block.len) :
            hook(user, &h, sealed.p, sealed.len);
        if (rc != 0) {
            parex_engine_abort(e);
            ret = rc < 0 ? -1 : 0;
            if (rc < 0) {
                node_err(err, "block %llu: not committed",
                    (unsigned long long)h.height);
            }
            goto out;
        }
    }
    /* The commit writes the block and its receipts with the state, in one
     * LMDB write transaction: readers (rpc.c) see all of it or none. */
    memset(&cst, 0, sizeof(cst));
    cst.size = sizeof(cst);
    if (hook == NULL) {
        /* Committed by the execute call: its total included the commit. */
        cst.commit_ns = st.commit_ns;
        st.total_ns -= st.commit_ns < st.total_ns ? st.commit_ns
                                                   : st.total_ns;
        rc = PAREX_OK;
    } else {
        rc = parex_engine_commit(e, &cst);
    }
    if (rc != PAREX_OK) {
        parex_engine_abort(e);
        node_err(err, "block %llu: commit failed: %s%s",
            (unsigned long long)h.height, parex_strerror(rc),
            rc == PAREX_E_MAPFULL ? MAPFULL_HINT : "");
        goto out;
    }
    record_metrics(c, &st, cst.commit_ns, n, execs);
    pthread_mutex_lock(&c->lock);
    for (i = 0; i < n; i++) {
        node_mempool_remove(c->mp, rc_out[i].txid);
    }
    pthread_mutex_unlock(&c->lock);
    node_log(NODE_LOG_INFO, "block %llu: %zu txs, %.1f ms (%u execution%s)",
        (unsigned long long)h.height, n,
        (double)(st.total_ns + cst.commit_ns) / 1e6, execs,
        execs == 1 ? "" : "s");
    ret = (long)n;
out:
    node_buf_release(&block);
    node_buf_release(&sealed);
    for (i = 0; i < nsel; i++) {
        free(cs[i].bytes);
    }
    free(cs);
    free(order);
    free(drops);
    free(runs);
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
    int stop, full_ok = 1, again = 0;
    long got = 0;

    for (;;) {
        /* --block-interval 0: sleep until a submission wakes us (at most
         * 1 s, for expiry) instead of spinning on an empty mempool. */
        deadline_in(&ts, p->o.interval_ms > 0 ? p->o.interval_ms : 1000);
        pthread_mutex_lock(&c->lock);
        /* A full mempool wakes us early, unless the last attempt found
         * nothing ready (nonce gaps): then wait the interval. After drops
         * go again at once: the txs behind them are ready. */
        while (!c->stop && !again && !(full_ok &&
                   node_mempool_size(c->mp) >= c->max_block_txs) &&
               !(p->o.interval_ms == 0 && got > 0)) {
            if (pthread_cond_timedwait(&c->wake, &c->lock, &ts) ==
                ETIMEDOUT || (p->o.interval_ms == 0 &&
                node_mempool_size(c->mp) > 0)) {
                break;
            }
        }
        stop = c->stop;
        pthread_mutex_unlock(&c->lock);
        if (stop) {
            break;
        }
        got = node_produce_block(c, p->e, err, &again);
        if (got < 0) {
            node_log(NODE_LOG_ERROR, "block production stopped: %s", err);
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
