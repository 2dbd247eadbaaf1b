/* parex_engine: the block pipeline.
 *
 * decode -> parallel signature verification (and tx ids, account keys) ->
 * execution (parallel, or the sequential reference) -> fee credit ->
 * state root (LtHash, parallel over the change set) -> tx and receipts
 * roots -> header -> optional commit in one LMDB write transaction.
 * Nothing reaches the store before the commit, so every error and every
 * rejection leaves state exactly as it was. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"

struct parex_engine {
    parex_db *db;
    px__pool *pool;
    px__worker *workers;
    unsigned threads;
    px__programs progs;
    parex_limits lim;
    uint32_t chain_id;
    int sequential;
    uint32_t min_width;
    px__scratch scratch;
    int profiling;
    parex_tx_profile *prof;   /* per-tx profile of the last block */
    size_t n_prof, cap_prof;
    int prof_valid;
    /* the pending block */
    int pending;
    parex_header hdr;
    px__lthash lt;
    px__result res;
    parex_receipt *receipts;
    size_t n_receipts;
    px__pending_block body;   /* the pending block's txs, for the store */
};

static void options_default(parex_engine_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size = sizeof(*o);
    o->chain_id = 1;
    parex_limits_default(&o->limits);
}

PAREX_API void parex_engine_options_default(parex_engine_options *out)
{
    parex_engine_options def;

    if (out != NULL && px__sized_check(out) == PAREX_OK) {
        options_default(&def);
        px__sized_out(out, &def, sizeof(def));
    }
}

static int limits_zero(const parex_limits *l)
{
    return l->max_args_bytes == 0 && l->max_keys_per_set == 0 &&
        l->max_value_bytes == 0 && l->max_block_txs == 0 &&
        l->max_block_bytes == 0 && l->max_tx_accesses == 0;
}

PAREX_API int parex_engine_create(parex_engine **out, parex_db *db,
    const parex_engine_options *opt)
{
    parex_engine_options def;
    parex_engine *e;
    unsigned i, threads;
    uint32_t chain_id;
    int rc;

    if (out == NULL) {
        return PAREX_E_MISUSE;
    }
    *out = NULL;
    if (db == NULL) {
        return PAREX_E_MISUSE;
    }
    options_default(&def);
    if (opt != NULL && px__sized_in(&def, sizeof(def), opt) != PAREX_OK) {
        return PAREX_E_MISUSE;
    }
    opt = &def;
    /* A store that records its chain takes engines of that chain only. */
    rc = px__db_chain_id(db, &chain_id);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (chain_id != 0 && chain_id != opt->chain_id) {
        return PAREX_E_MISMATCH;
    }
    threads = opt->threads;
    if (threads == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        threads = c > 0 ? (unsigned)c : 1;
    }
    if (threads > 1024) {
        return PAREX_E_INVALID;
    }
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
        return PAREX_E_NOMEM;
    }
    e->db = db;
    e->chain_id = opt->chain_id;
    e->sequential = opt->sequential;
    e->profiling = opt->profile != 0;
    if (limits_zero(&opt->limits)) {
        parex_limits_default(&e->lim);
    } else {
        e->lim = opt->limits;
    }
    px__result_init(&e->res);
    rc = px__programs_init(&e->progs);
    if (rc != PAREX_OK) {
        goto err;
    }
    rc = px__pool_create(&e->pool, threads);
    if (rc != PAREX_OK) {
        goto err;
    }
    e->threads = px__pool_threads(e->pool);
    e->progs.max_calls = opt->max_tx_calls;
    e->min_width = opt->min_batch_width;
    if (e->min_width == 0) {
        e->min_width = e->threads == 1 ? UINT32_MAX : 16 * e->threads;
    }
    e->workers = calloc(e->threads, sizeof(*e->workers));
    if (e->workers == NULL) {
        rc = PAREX_E_NOMEM;
        goto err;
    }
    for (i = 0; i < e->threads; i++) {
        px__arena_init(&e->workers[i].arena, (size_t)1 << 20);
        rc = px__snap_begin(&e->workers[i].snap, db->store);
        if (rc != PAREX_OK) {
            goto err;
        }
        px__snap_reset(e->workers[i].snap);
    }
    *out = e;
    return PAREX_OK;
err:
    parex_engine_destroy(e);
    return rc;
}

static void drop_pending(parex_engine *e)
{
    px__result_release(&e->res);
    free(e->receipts);
    e->receipts = NULL;
    e->n_receipts = 0;
    px__pending_block_release(&e->body);
    e->pending = 0;
}

PAREX_API void parex_engine_destroy(parex_engine *e)
{
    unsigned i;

    if (e == NULL) {
        return;
    }
    drop_pending(e);
    px__pool_destroy(e->pool);
    if (e->workers != NULL) {
        for (i = 0; i < e->threads; i++) {
            px__snap_end(e->workers[i].snap);
            px__arena_finish(&e->workers[i].arena);
        }
        free(e->workers);
    }
    px__programs_finish(&e->progs);
    px__scratch_free(&e->scratch);
    free(e->prof);
    px__result_release(&e->res);
    px__arena_finish(&e->res.arena);
    free(e);
}

PAREX_API int parex_engine_register(parex_engine *e, uint32_t id,
    parex_program_fn fn, void *user)
{
    if (e == NULL || fn == NULL) {
        return PAREX_E_MISUSE;
    }
    if (e->pending) {
        return PAREX_E_PENDING;
    }
    if (id < 256 && id != PAREX_PROGRAM_TRANSFER && id != PAREX_PROGRAM_TRACE) {
        return PAREX_E_INVALID;
    }
    return px__programs_set(&e->progs, id, fn, user);
}

PAREX_API unsigned parex_engine_threads(const parex_engine *e)
{
    return e != NULL ? e->threads : 0;
}

/* ---- signature stage ---- */

typedef struct verify_job {
    px__block *blk;
    uint32_t chain_id;
    uint8_t *bad;       /* per tx: 0 ok, else a parex_reject reason */
    int trusted;        /* PAREX_EXEC_VERIFIED: ids and keys only */
} verify_job;

static void run_verify(void *arg, unsigned w, size_t b, size_t e)
{
    verify_job *vj = arg;
    size_t i;

    (void)w;
    for (i = b; i < e; i++) {
        px__btx *t = &vj->blk->txs[i];
        uint8_t msg[32];
        px__tagged_hash(t->id, "parex/txid", t->enc, t->enc_len, NULL, 0);
        parex_account_key(t->acct, t->tx.sender);
        if (t->tx.chain_id != vj->chain_id) {
            vj->bad[i] = PAREX_REJECT_CHAIN_ID;
            continue;
        }
        if (vj->trusted) {
            continue;
        }
        px__sighash(msg, t->enc, t->enc_len);
        if (!px__schnorr_verify(t->tx.sig, msg, t->tx.sender)) {
            vj->bad[i] = PAREX_REJECT_BAD_SIGNATURE;
        }
    }
}

/* ---- state root stage ---- */

typedef struct root_job {
    const px__result *res;
    px__worker *workers;
    px__lthash *acc;    /* one accumulator per worker */
    atomic_int err;
} root_job;

static void run_root(void *arg, unsigned w, size_t b, size_t e)
{
    root_job *rj = arg;
    size_t i;

    for (i = b; i < e; i++) {
        const px__change *c = &rj->res->changes[i];
        const uint8_t *old;
        size_t len;
        int rc = px__snap_get(rj->workers[w].snap, PX_DB_STATE, &old, &len,
            c->key, 32);
        if (rc == PAREX_OK) {
            if (!c->del && len == c->len &&
                (len == 0 || memcmp(old, c->val, len) == 0)) {
                continue; /* unchanged: both terms cancel */
            }
            if (px__lthash_mix(&rj->acc[w], c->key, old, len, -1) != 0) {
                rc = PAREX_E_NOMEM;
            }
        }
        if ((rc == PAREX_OK || rc == PAREX_E_NOTFOUND) && !c->del) {
            rc = px__lthash_mix(&rj->acc[w], c->key, c->val, c->len, 1) == 0
                ? PAREX_OK
                : PAREX_E_NOMEM;
        }
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            int zero = 0;
            atomic_compare_exchange_strong(&rj->err, &zero, rc);
        }
    }
}

static int find_change(const px__result *r, const uint8_t *key, size_t *pos)
{
    size_t lo = 0, hi = r->n_changes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(r->changes[mid].key, key, 32);
        if (c == 0) {
            *pos = mid;
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *pos = lo;
    return 0;
}

/* The fee recipient is credited once, after every tx, with the block's fee
 * total: fees commute, so they never make txs conflict. */
static int credit_fees(parex_engine *e, parex_error_info *err)
{
    px__result *r = &e->res;
    uint8_t key[32];
    uint64_t bal = 0, nonce = 0;
    uint8_t *val;
    size_t pos;
    int rc;

    if (r->fee_total == 0) {
        return PAREX_OK;
    }
    parex_account_key(key, e->hdr.fee_recipient);
    if (find_change(r, key, &pos)) {
        const px__change *c = &r->changes[pos];
        if (!c->del &&
            parex_account_decode(&bal, &nonce, c->val, c->len) != PAREX_OK) {
            return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_MALFORMED, -1,
                "fee_recipient", "the fee recipient's account value is not "
                "an account");
        }
    } else {
        const uint8_t *v;
        size_t len;
        rc = px__snap_get(e->workers[0].snap, PX_DB_STATE, &v, &len, key, 32);
        if (rc == PAREX_OK) {
            if (parex_account_decode(&bal, &nonce, v, len) != PAREX_OK) {
                return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_MALFORMED,
                    -1, "fee_recipient", "the fee recipient's account "
                    "value is not an account");
            }
        } else if (rc != PAREX_E_NOTFOUND) {
            return rc;
        }
        rc = px__result_push(r, NULL, NULL, 0, 0);
        if (rc != PAREX_OK) {
            return rc;
        }
        memmove(&r->changes[pos + 1], &r->changes[pos],
            (r->n_changes - 1 - pos) * sizeof(*r->changes));
        {
            uint8_t *k = px__arena_alloc(&r->arena, 32);
            if (k == NULL) {
                return PAREX_E_NOMEM;
            }
            memcpy(k, key, 32);
            r->changes[pos].key = k;
        }
    }
    if (bal > UINT64_MAX - r->fee_total) {
        return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_OVERFLOW, -1,
            "fee_recipient", "crediting %llu in fees overflows the fee "
            "recipient's balance", (unsigned long long)r->fee_total);
    }
    val = px__arena_alloc(&r->arena, PAREX_ACCOUNT_BYTES);
    if (val == NULL) {
        return PAREX_E_NOMEM;
    }
    parex_account_encode(val, bal + r->fee_total, nonce);
    r->changes[pos].val = val;
    r->changes[pos].len = PAREX_ACCOUNT_BYTES;
    r->changes[pos].del = 0;
    return PAREX_OK;
}

static void receipt_encode(uint8_t out[48], const parex_receipt *r)
{
    memcpy(out, r->txid, 32);
    px__st32(out + 32, r->status);
    px__st32(out + 36, (uint32_t)r->code);
    px__st64(out + 40, r->fee);
}

static int roots(parex_engine *e, const px__block *blk)
{
    size_t i, n = blk->n;
    uint8_t *buf = malloc(n > 0 ? 48 * n : 1);

    if (buf == NULL) {
        return PAREX_E_NOMEM;
    }
    for (i = 0; i < n; i++) {
        memcpy(buf + 32 * i, blk->txs[i].id, 32);
    }
    px__tagged_hash(e->hdr.tx_root, "parex/txroot", buf, 32 * n, NULL, 0);
    for (i = 0; i < n; i++) {
        receipt_encode(buf + 48 * i, &e->receipts[i]);
    }
    px__tagged_hash(e->hdr.receipts_root, "parex/receiptsroot", buf, 48 * n,
        NULL, 0);
    free(buf);
    return PAREX_OK;
}

static int is_zero(const uint8_t *p)
{
    int i;
    for (i = 0; i < 32; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

static int claimed_roots_match(const parex_header *claim,
    const parex_header *got, parex_error_info *err)
{
    static const struct {
        const char *name;
        size_t off;
    } f[] = {
        { "tx_root", offsetof(parex_header, tx_root) },
        { "receipts_root", offsetof(parex_header, receipts_root) },
        { "state_root", offsetof(parex_header, state_root) },
    };
    size_t i;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        const uint8_t *c = (const uint8_t *)claim + f[i].off;
        const uint8_t *g = (const uint8_t *)got + f[i].off;
        if (!is_zero(c) && memcmp(c, g, 32) != 0) {
            return px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_ROOT_MISMATCH,
                -1, f[i].name, "the header's %s differs from the computed "
                "one", f[i].name);
        }
    }
    return PAREX_OK;
}

static int renew_snapshots(parex_engine *e)
{
    unsigned i;
    for (i = 0; i < e->threads; i++) {
        int rc = px__snap_renew(e->workers[i].snap);
        if (rc != PAREX_OK) {
            while (i-- > 0) {
                px__snap_reset(e->workers[i].snap);
            }
            return rc;
        }
    }
    return PAREX_OK;
}

static void reset_snapshots(parex_engine *e)
{
    unsigned i;
    for (i = 0; i < e->threads; i++) {
        px__snap_reset(e->workers[i].snap);
    }
}

PAREX_API int parex_engine_execute(parex_engine *e, parex_header *header,
    parex_receipt *receipts, size_t cap, parex_block_stats *stats,
    parex_error_info *err, const uint8_t *block, size_t len, unsigned flags)
{
    px__block blk;
    parex_header head;
    px__exec_env env;
    parex_block_stats st;
    uint8_t *bad = NULL;
    px__lthash *acc = NULL;
    uint64_t t0 = px__now_ns(), t1, tstart = t0;
    size_t i;
    int rc, snaps = 0;

    px__err_clear(err);
    memset(&st, 0, sizeof(st));
    st.size = sizeof(st);
    memset(&blk, 0, sizeof(blk));
    if (e == NULL || block == NULL || (receipts == NULL && cap > 0)) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "", "NULL argument");
    }
    if (stats != NULL && px__sized_check(stats) != PAREX_OK) {
        return px__fail(err, PAREX_E_MISUSE, 0, -1, "size",
            "parex_block_stats.size is %zu; set it to "
            "sizeof(parex_block_stats) (PAREX_BLOCK_STATS_INIT)",
            stats->size);
    }
    if (e->pending) {
        return px__fail(err, PAREX_E_PENDING, 0, -1, "", "a block is "
            "pending: commit or abort it first");
    }
    e->prof_valid = 0;
    for (i = 0; i < e->threads; i++) {
        px__arena_reset(&e->workers[i].arena);
    }
    px__result_release(&e->res);

    rc = px__block_decode(&blk, err, block, len, &e->lim);
    if (rc != PAREX_OK) {
        return rc;
    }
    st.txs = blk.n;
    if (blk.n > cap) {
        rc = px__fail(err, PAREX_E_BUFFER, 0, -1, "receipts", "block has "
            "%zu txs but room for %zu receipts", blk.n, cap);
        goto out;
    }
    rc = renew_snapshots(e);
    if (rc != PAREX_OK) {
        px__fail(err, rc, 0, -1, "", "cannot open a read snapshot: %s",
            parex_strerror(rc));
        goto out;
    }
    snaps = 1;
    rc = px__read_head(e->workers[0].snap, &head);
    if (rc != PAREX_OK) {
        px__fail(err, rc, 0, -1, "", rc == PAREX_E_NOTFOUND
            ? "the state store has no genesis block"
            : "cannot read the head block: %s", parex_strerror(rc));
        goto out;
    }
    if (blk.hdr.height != head.height + 1) {
        rc = px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_HEIGHT, -1, "height",
            "block height %llu, expected %llu",
            (unsigned long long)blk.hdr.height,
            (unsigned long long)head.height + 1);
        goto out;
    }
    memset(&e->hdr, 0, sizeof(e->hdr));
    parex_header_hash(e->hdr.parent, &head);
    if (memcmp(blk.hdr.parent, e->hdr.parent, 32) != 0) {
        rc = px__fail(err, PAREX_E_BLOCK, PAREX_REJECT_PARENT, -1, "parent",
            "parent hash is not the hash of block %llu",
            (unsigned long long)head.height);
        goto out;
    }
    e->hdr.height = blk.hdr.height;
    memcpy(e->hdr.fee_recipient, blk.hdr.fee_recipient, 32);
    t1 = px__now_ns();
    st.decode_ns = t1 - t0;

    bad = calloc(blk.n > 0 ? blk.n : 1, 1);
    if (bad == NULL) {
        rc = px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
        goto out;
    }
    {
        verify_job vj = { &blk, e->chain_id, bad,
            (flags & PAREX_EXEC_VERIFIED) != 0 };
        px__pool_run(e->pool, run_verify, &vj, blk.n, 16);
        st.verify_skipped = vj.trusted ? blk.n : 0;
    }
    for (i = 0; i < blk.n; i++) {
        if (bad[i] != 0) {
            rc = px__fail(err, PAREX_E_BLOCK, bad[i], (int64_t)i,
                bad[i] == PAREX_REJECT_CHAIN_ID ? "chain_id" : "sig",
                bad[i] == PAREX_REJECT_CHAIN_ID
                    ? "tx %zu: chain id %u, expected %u"
                    : "tx %zu: bad signature%.0u%.0u",
                i, blk.txs[i].tx.chain_id, e->chain_id);
            goto out;
        }
    }
    t0 = px__now_ns();
    st.verify_ns = t0 - t1;

    e->receipts = calloc(blk.n > 0 ? blk.n : 1, sizeof(*e->receipts));
    if (e->receipts == NULL) {
        rc = px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
        goto out;
    }
    e->n_receipts = blk.n;
    env.blk = &blk;
    env.progs = &e->progs;
    env.lim = &e->lim;
    env.pool = e->pool;
    env.workers = e->workers;
    env.threads = e->threads;
    env.min_width = e->min_width;
    env.scratch = &e->scratch;
    env.receipts = e->receipts;
    env.count_batches = 0;
    env.profile = NULL;
    if (e->profiling) {
        if (e->cap_prof < blk.n) {
            parex_tx_profile *np = realloc(e->prof, blk.n * sizeof(*np));
            if (np == NULL) {
                rc = px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
                goto out;
            }
            e->prof = np;
            e->cap_prof = blk.n;
        }
        if (blk.n > 0) {
            memset(e->prof, 0, blk.n * sizeof(*e->prof));
        }
        e->n_prof = blk.n;
        env.profile = e->prof;
    }
    rc = e->sequential ? px__exec_sequential(&env, &e->res)
                       : px__exec_parallel(&env, &e->res);
    st.analysis_ns = e->res.analysis_ns;
    st.exec_ns = e->res.exec_ns;
    st.validate_ns = e->res.validate_ns;
    st.apply_ns = e->res.apply_ns;
    st.batches = e->res.batches;
    st.reexecutions = e->res.reexecutions;
    st.escaped = e->res.escaped;
    st.fallback = e->res.fallback;
    st.map_probes = e->res.map_probes;
    for (i = 0; rc == PAREX_OK && i < blk.n; i++) {
        st.budget_stops += e->receipts[i].status == PAREX_TX_BUDGET;
    }
    e->prof_valid = e->profiling && rc == PAREX_OK;
    if (rc != PAREX_OK) {
        px__fail(err, rc, 0, -1, "", "execution failed: %s",
            parex_strerror(rc));
        goto out;
    }
    if (e->res.reject_tx >= 0) {
        int64_t j = e->res.reject_tx;
        const px__btx *b = &blk.txs[j];
        rc = px__fail(err, PAREX_E_BLOCK, e->res.reject, j,
            e->res.reject_field, "tx %lld: %s (nonce %llu, fee %llu)",
            (long long)j, parex_reject_name(e->res.reject),
            (unsigned long long)b->tx.nonce, (unsigned long long)b->tx.fee);
        goto out;
    }
    rc = credit_fees(e, err);
    if (rc != PAREX_OK) {
        goto out;
    }

    t0 = px__now_ns();
    rc = px__read_lthash(e->workers[0].snap, &e->lt);
    if (rc != PAREX_OK) {
        px__fail(err, rc, 0, -1, "", "cannot read the stored state hash");
        goto out;
    }
    acc = calloc(e->threads, sizeof(*acc));
    if (acc == NULL) {
        rc = px__fail(err, PAREX_E_NOMEM, 0, -1, "", "out of memory");
        goto out;
    }
    {
        root_job rj;
        rj.res = &e->res;
        rj.workers = e->workers;
        rj.acc = acc;
        atomic_init(&rj.err, 0);
        px__pool_run(e->pool, run_root, &rj, e->res.n_changes, 64);
        rc = atomic_load(&rj.err);
        if (rc != PAREX_OK) {
            px__fail(err, rc, 0, -1, "", "reading old values failed");
            goto out;
        }
        for (i = 0; i < e->threads; i++) {
            px__lthash_add(&e->lt, &acc[i]);
        }
    }
    px__lthash_root(e->hdr.state_root, &e->lt);
    rc = roots(e, &blk);
    if (rc != PAREX_OK) {
        goto out;
    }
    st.root_ns = px__now_ns() - t0;
    rc = claimed_roots_match(&blk.hdr, &e->hdr, err);
    if (rc != PAREX_OK) {
        goto out;
    }
    for (i = 0; i < blk.n; i++) {
        receipts[i] = e->receipts[i];
    }
    if (header != NULL) {
        *header = e->hdr;
    }
    px__pending_block_set(&e->body, block, len);
    if (!(flags & PAREX_EXEC_COMMIT)) {
        /* The caller's buffer is not retained past this call. */
        rc = px__pending_block_keep(&e->body);
        if (rc != PAREX_OK) {
            px__fail(err, rc, 0, -1, "", "out of memory");
            goto out;
        }
    }
    e->pending = 1;
    reset_snapshots(e);
    snaps = 0;
    if (flags & PAREX_EXEC_COMMIT) {
        rc = parex_engine_commit(e, &st);
        if (rc != PAREX_OK) {
            px__fail(err, rc, 0, -1, "", "commit failed: %s",
                parex_strerror(rc));
            parex_engine_abort(e);
        }
    }
out:
    if (rc != PAREX_OK && e->pending == 0) {
        drop_pending(e);
    }
    if (snaps) {
        reset_snapshots(e);
    }
    free(acc);
    free(bad);
    px__block_release(&blk);
    st.total_ns = px__now_ns() - tstart;
    if (stats != NULL) {
        px__sized_out(stats, &st, sizeof(st));
    }
    return rc;
}

PAREX_API int parex_engine_commit(parex_engine *e, parex_block_stats *stats)
{
    px__wtxn *w = NULL;
    uint64_t t0 = px__now_ns();
    size_t i;
    int rc;

    if (e == NULL) {
        return PAREX_E_MISUSE;
    }
    if (!e->pending) {
        return PAREX_E_MISUSE;
    }
    if (stats != NULL && px__sized_check(stats) != PAREX_OK) {
        return PAREX_E_MISUSE;
    }
    rc = px__wtxn_begin(&w, e->db->store);
    if (rc != PAREX_OK) {
        return rc;
    }
    for (i = 0; i < e->res.n_changes && rc == PAREX_OK; i++) {
        const px__change *c = &e->res.changes[i];
        rc = c->del ? px__wtxn_del(w, PX_DB_STATE, c->key, 32)
                    : px__wtxn_put(w, PX_DB_STATE, c->key, 32, c->val,
                          c->len);
    }
    if (rc == PAREX_OK) {
        rc = px__commit_block(w, &e->hdr, &e->body, e->receipts,
            e->n_receipts);
    }
    if (rc == PAREX_OK) {
        rc = px__write_head(w, &e->hdr, &e->lt);
    }
    if (rc != PAREX_OK) {
        px__wtxn_abort(w);
        return rc;
    }
    rc = px__wtxn_commit(w);
    if (rc != PAREX_OK) {
        return rc;
    }
    if (stats != NULL) {
        uint64_t ns = px__now_ns() - t0;
        size_t size;

        /* Only if the caller's struct reaches the field. */
        memcpy(&size, stats, sizeof(size));
        if (size >= offsetof(parex_block_stats, commit_ns) + sizeof(ns)) {
            stats->commit_ns = ns;
        }
    }
    drop_pending(e);
    return PAREX_OK;
}

PAREX_API void parex_engine_abort(parex_engine *e)
{
    if (e != NULL && e->pending) {
        drop_pending(e);
    }
}

PAREX_API int parex_engine_profile(const parex_engine *e,
    const parex_tx_profile **profile, size_t *count)
{
    if (profile != NULL) {
        *profile = NULL;
    }
    if (count != NULL) {
        *count = 0;
    }
    if (e == NULL || profile == NULL || count == NULL || !e->prof_valid) {
        return PAREX_E_MISUSE;
    }
    *profile = e->prof;
    *count = e->n_prof;
    return PAREX_OK;
}
