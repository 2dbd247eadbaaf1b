/* `parex replay`: run fixtures and traces, check every expectation. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct replay_opts {
    unsigned threads;
    uint32_t min_width;
    const char *db_dir;
    node_declare declare;
    const char *declare_str;
    int check;
    parex_sync sync;
    uint32_t chain_id;
    uint64_t map_size;
    int resume;
    int bal;          /* --bal: seal blocks without a BAL with a recorded one */
    int no_bal;       /* --no-bal: ignore carried BALs */
    int no_pipeline;  /* --no-pipeline: each block's stateless stage in
                       * its own execute call */
} replay_opts;

typedef struct replay_totals {
    size_t files, blocks, txs, mismatches, load_errors, skipped;
    uint64_t ok_txs, total_ns, exec_ns;
} replay_totals;

/* One state store with its engine: the one under test, or the sequential
 * reference of --check. */
typedef struct chain {
    char *dir;
    int tmp;          /* dir is ours to remove */
    parex_db *db;
    parex_engine *e;
    uint32_t chain_id;  /* recorded in the store at genesis */
} chain;

/* The outcome of one block on one chain. */
typedef struct outcome {
    int rc;
    parex_header header;
    parex_receipt *receipts;
    parex_block_stats stats;
    parex_error_info err;
    int prepared;     /* ran through the pipeline (parex_block_prepare) */
} outcome;

/* A rejected block (PAREX_E_BLOCK) is a verdict to report; any other
 * failure stops the replay, naming the file and block. */
static void die_unless_verdict(const outcome *out, const char *file,
    size_t bi)
{
    if (out->rc != PAREX_OK && out->rc != PAREX_E_BLOCK) {
        node_die(NODE_EXIT_RUNTIME, "%s: block %zu: execution failed: %s "
            "(%s: %s)%s", file, bi, parex_strerror(out->rc),
            parex_errname(out->rc), out->err.message,
            out->rc == PAREX_E_MAPFULL
                ? "; nothing of the block was written: rerun with a larger "
                  "--map-size and --resume"
                : "");
    }
}

/* Mismatches of the block being checked: the first one goes into the
 * block's line, every one to stderr. */
typedef struct verdict {
    const char *file;
    size_t block;
    size_t count;
    char first[NODE_ERR_LEN];
} verdict;

static void mismatch(verdict *v, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void mismatch(verdict *v, const char *fmt, ...)
{
    char msg[NODE_ERR_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v->count == 0) {
        snprintf(v->first, sizeof(v->first), "%s", msg);
    }
    v->count++;
    node_warn("%s: block %zu: MISMATCH %s", v->file, v->block, msg);
}

static char *sub_dir(const replay_opts *o, size_t idx, const char *file,
    const char *suffix)
{
    const char *base = strrchr(file, '/');
    size_t n;
    char *p;

    base = base == NULL ? file : base + 1;
    n = strlen(o->db_dir) + strlen(base) + strlen(suffix) + 32;
    p = node_malloc(n);
    snprintf(p, n, "%s/%04zu-%s%s", o->db_dir, idx, base, suffix);
    return p;
}

static void chain_open(chain *c, const replay_opts *o, size_t idx,
    const char *file, int sequential, uint32_t chain_id)
{
    parex_db_options dbo = PAREX_DB_OPTIONS_INIT;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info ei;
    int rc;

    memset(c, 0, sizeof(*c));
    if (o->db_dir != NULL) {
        c->dir = sub_dir(o, idx, file, sequential && o->check ? ".ref" : "");
        if (o->resume) {
            if (mkdir(c->dir, 0777) != 0 && errno != EEXIST) {
                node_die(NODE_EXIT_RUNTIME, "%s: cannot create: %s", c->dir,
                    strerror(errno));
            }
        } else if (node_mkdir_fresh(c->dir) != 0) {
            node_die(NODE_EXIT_RUNTIME, "%s: cannot create a fresh state "
                "directory: %s", c->dir, strerror(errno));
        }
    } else {
        c->dir = node_tmpdir(sequential && o->check ? "ref" : "replay");
        c->tmp = 1;
    }
    memset(&dbo, 0, sizeof(dbo));
    dbo.size = sizeof(dbo);
    dbo.sync = o->sync;
    dbo.map_size = o->map_size;
    memset(&ei, 0, sizeof(ei));
    rc = parex_db_open(&c->db, &ei, c->dir, &dbo);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot open state: %s (%s)", c->dir,
            ei.message, parex_errname(rc));
    }
    c->chain_id = chain_id;
    memset(&eo, 0, sizeof(eo));
    eo.size = sizeof(eo);
    eo.threads = o->threads;
    eo.min_batch_width = o->min_width;
    eo.chain_id = chain_id;
    eo.sequential = sequential;
    rc = parex_engine_create(&c->e, c->db, &eo);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot create the engine: %s",
            file, parex_strerror(rc));
    }
}

static void chain_close(chain *c)
{
    parex_engine_destroy(c->e);
    parex_db_close(c->db);
    if (c->tmp && node_rmtree(c->dir) != 0) {
        node_warn("%s: cannot remove: %s", c->dir, strerror(errno));
    }
    free(c->dir);
    memset(c, 0, sizeof(*c));
}

static void chain_genesis(chain *c, parex_header *h, const char *file,
    const parex_kv *kvs, size_t n, const uint8_t fee[32])
{
    /* The store records the chain (parex_db_chain()); chain id 0 cannot
     * be recorded, so such a file's store records none. */
    int rc = c->chain_id != 0
        ? parex_db_genesis_chain(c->db, h, c->chain_id, kvs, n, fee)
        : parex_db_genesis(c->db, h, kvs, n, fee);

    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: genesis: %s", file,
            parex_strerror(rc));
    }
}

static void head_of(const chain *c, parex_header *h, const char *file)
{
    int rc = parex_db_head(c->db, h);

    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot read the head: %s", file,
            parex_strerror(rc));
    }
}

static void run_block_flags(outcome *out, chain *c, const node_buf *block,
    size_t ntx, const char *file, size_t bi, unsigned flags)
{
    memset(out, 0, sizeof(*out));
    out->stats.size = sizeof(out->stats);
    out->receipts = node_calloc(ntx, sizeof(*out->receipts));
    out->rc = parex_engine_execute(c->e, &out->header,
        ntx == 0 ? NULL : out->receipts, ntx, &out->stats, &out->err,
        block->p, block->len, PAREX_EXEC_COMMIT | flags);
    die_unless_verdict(out, file, bi);
}

/* Block bi of a pipeline on c: its stateless stage ran ahead (decode,
 * ids, signatures: an error there is the one execute would report first);
 * h is the header it gets now that the block before it is committed. */
static void run_block_prepared(outcome *out, chain *c, node_pipe *pl,
    const parex_header *h, size_t ntx, const char *file, size_t bi,
    unsigned flags)
{
    parex_prepared *p = NULL;

    memset(out, 0, sizeof(*out));
    out->stats.size = sizeof(out->stats);
    out->receipts = node_calloc(ntx, sizeof(*out->receipts));
    out->prepared = 1;
    out->rc = node_pipe_take(pl, bi, &p, &out->err);
    if (out->rc == PAREX_OK) {
        out->rc = parex_prepared_set_header(p, h);
    }
    if (out->rc == PAREX_OK) {
        out->rc = parex_engine_execute_prepared(c->e, &out->header,
            ntx == 0 ? NULL : out->receipts, ntx, &out->stats, &out->err, p,
            PAREX_EXEC_COMMIT | flags);
    }
    node_pipe_put(pl, bi);
    die_unless_verdict(out, file, bi);
}

/* The block as the chain under test runs it. A block that carries a BAL
 * (fixture field "bal") is sealed with it; with --bal one that carries
 * none is run on the producer chain p first, recording its BAL, and sealed
 * with that. Returns 1 when the result carries a BAL (into *sealed). p
 * always advances with the chain under test. */
static int seal_block(node_buf *sealed, const replay_opts *o, chain *p,
    const node_buf *block, const uint8_t *bal, size_t bal_len, size_t ntx,
    const char *file, size_t bi)
{
    outcome po;
    int have = 0;

    if (bal != NULL) {
        node_block_attach_bal(sealed, block->p, block->len, bal, bal_len);
        have = 1;
        if (o->bal) {
            run_block_flags(&po, p, sealed, ntx, file, bi,
                PAREX_EXEC_IGNORE_BAL);
            free(po.receipts);
        }
    } else if (o->bal) {
        run_block_flags(&po, p, block, ntx, file, bi, PAREX_EXEC_RECORD_BAL);
        if (po.rc == PAREX_OK) {
            size_t len = 0;
            uint8_t *rec;
            int rc = parex_engine_bal(p->e, NULL, &len);
            rec = node_malloc(len > 0 ? len : 1);
            if (rc == PAREX_E_BUFFER) {
                rc = parex_engine_bal(p->e, rec, &len);
            }
            if (rc != PAREX_OK) {
                node_die(NODE_EXIT_RUNTIME, "%s: block %zu: recording the "
                    "BAL: %s", file, bi, parex_strerror(rc));
            }
            node_block_attach_bal(sealed, block->p, block->len, rec, len);
            free(rec);
            have = 1;
        } else if (po.rc == PAREX_E_BLOCK &&
            po.err.reject == PAREX_REJECT_ROOT_MISMATCH &&
            strcmp(po.err.field, "tx_root") == 0) {
            /* The header claims the tx root of the block without a BAL:
             * it cannot be sealed, and runs as it is on both chains. */
            free(po.receipts);
            run_block_flags(&po, p, block, ntx, file, bi, 0);
        }
        free(po.receipts);
    }
    return have;
}

static void hex32(char out[65], const uint8_t *p)
{
    node_hex(out, p, 32);
}

static int same_header(const parex_header *a, const parex_header *b)
{
    uint8_t ea[PAREX_HEADER_BYTES], eb[PAREX_HEADER_BYTES];

    parex_header_encode(ea, a);
    parex_header_encode(eb, b);
    return memcmp(ea, eb, sizeof(ea)) == 0;
}

/* Compare the engine's outcome with the reference executor's. */
static void compare_ref(verdict *v, const outcome *a, const outcome *r,
    size_t ntx)
{
    size_t i;
    char x[65], y[65];

    if (a->rc != r->rc) {
        mismatch(v, "reference: result expected %s got %s",
            parex_errname(r->rc), parex_errname(a->rc));
        return;
    }
    if (a->rc == PAREX_E_BLOCK) {
        if (a->err.reject != r->err.reject ||
            a->err.tx_index != r->err.tx_index) {
            mismatch(v, "reference: rejection expected %s at tx %lld got "
                "%s at tx %lld", parex_reject_name(r->err.reject),
                (long long)r->err.tx_index, parex_reject_name(a->err.reject),
                (long long)a->err.tx_index);
        }
        return;
    }
    for (i = 0; i < ntx; i++) {
        const parex_receipt *p = &a->receipts[i];
        const parex_receipt *q = &r->receipts[i];
        if (p->status != q->status) {
            mismatch(v, "reference: receipt[%zu].status expected %s got %s",
                i, node_status_name(q->status), node_status_name(p->status));
        }
        if (p->code != q->code) {
            mismatch(v, "reference: receipt[%zu].code expected %ld got %ld",
                i, (long)q->code, (long)p->code);
        }
        if (p->fee != q->fee) {
            mismatch(v, "reference: receipt[%zu].fee expected %llu got %llu",
                i, (unsigned long long)q->fee, (unsigned long long)p->fee);
        }
        if (memcmp(p->txid, q->txid, 32) != 0) {
            hex32(x, q->txid);
            hex32(y, p->txid);
            mismatch(v, "reference: receipt[%zu].txid expected %s got %s", i,
                x, y);
        }
    }
    if (memcmp(a->header.state_root, r->header.state_root, 32) != 0) {
        hex32(x, r->header.state_root);
        hex32(y, a->header.state_root);
        mismatch(v, "reference: state_root expected %s got %s", x, y);
    }
    if (memcmp(a->header.receipts_root, r->header.receipts_root, 32) != 0) {
        hex32(x, r->header.receipts_root);
        hex32(y, a->header.receipts_root);
        mismatch(v, "reference: receipts_root expected %s got %s", x, y);
    }
    if (!same_header(&a->header, &r->header)) {
        mismatch(v, "reference: header differs (tx_root, parent or fee "
            "recipient)");
    }
}

/* Compare the outcome with a fixture's expectation. */
static void compare_expect(verdict *v, const outcome *a,
    const node_fx_block *b, const parex_header *before, const chain *c)
{
    size_t i;
    char x[65], y[65];

    if (b->reject != PAREX_REJECT_NONE) {
        parex_header after;
        if (a->rc != PAREX_E_BLOCK) {
            mismatch(v, "expected rejection %s at tx %lld, but the block was "
                "accepted", parex_reject_name(b->reject),
                (long long)b->reject_tx);
            return;
        }
        if (a->err.reject != b->reject) {
            mismatch(v, "reject.reason expected %s got %s (%s)",
                parex_reject_name(b->reject),
                parex_reject_name(a->err.reject), a->err.message);
        }
        if (a->err.tx_index != b->reject_tx) {
            mismatch(v, "reject.tx_index expected %lld got %lld (%s)",
                (long long)b->reject_tx, (long long)a->err.tx_index,
                a->err.message);
        }
        head_of(c, &after, v->file);
        if (!same_header(before, &after)) {
            hex32(x, before->state_root);
            hex32(y, after.state_root);
            mismatch(v, "rejected block changed the head: state_root "
                "expected %s got %s, height expected %llu got %llu", x, y,
                (unsigned long long)before->height,
                (unsigned long long)after.height);
        }
        return;
    }
    if (a->rc == PAREX_E_BLOCK) {
        mismatch(v, "block rejected: %s at tx %lld, field '%s': %s",
            parex_reject_name(a->err.reject), (long long)a->err.tx_index,
            a->err.field, a->err.message);
        return;
    }
    for (i = 0; i < b->ntx; i++) {
        const parex_receipt *p = &a->receipts[i];
        const node_fx_receipt *q = &b->receipts[i];
        if (p->status != q->status) {
            mismatch(v, "receipt[%zu].status expected %s got %s", i,
                node_status_name(q->status), node_status_name(p->status));
        }
        if (p->code != q->code) {
            mismatch(v, "receipt[%zu].code expected %ld got %ld", i,
                (long)q->code, (long)p->code);
        }
        if (p->fee != q->fee) {
            mismatch(v, "receipt[%zu].fee expected %llu got %llu", i,
                (unsigned long long)q->fee, (unsigned long long)p->fee);
        }
        if (q->have_txid && memcmp(p->txid, q->txid, 32) != 0) {
            hex32(x, q->txid);
            hex32(y, p->txid);
            mismatch(v, "receipt[%zu].txid expected %s got %s", i, x, y);
        }
    }
    if (b->have_batches && a->stats.batches != b->batches) {
        mismatch(v, "batches expected %llu got %llu",
            (unsigned long long)b->batches,
            (unsigned long long)a->stats.batches);
    }
    if (memcmp(a->header.state_root, b->state_root, 32) != 0) {
        hex32(x, b->state_root);
        hex32(y, a->header.state_root);
        mismatch(v, "state_root expected %s got %s", x, y);
    }
}

/* The execution stage: conflict analysis through applying writes. */
static uint64_t stage_ns(const parex_block_stats *st)
{
    return st->analysis_ns + st->exec_ns + st->validate_ns + st->apply_ns;
}

/* A block's own time: with the stateless stage prepared ahead (off the
 * critical path), its decode and verify times added, so that the figure
 * means the same on both paths. */
static uint64_t block_ns(const outcome *a)
{
    return a->stats.total_ns +
        (a->prepared ? a->stats.decode_ns + a->stats.verify_ns : 0);
}

static double rate(uint64_t n, uint64_t ns)
{
    return ns == 0 ? 0.0 : (double)n * 1e9 / (double)ns;
}

static void print_block(const verdict *v, const outcome *a, size_t ntx,
    uint64_t height, const char *expect_note, replay_totals *t, int bal)
{
    char root[65];

    t->blocks++;
    t->txs += ntx;
    if (v->count > 0) {
        t->mismatches++;
    }
    if (a->rc == PAREX_OK) {
        t->ok_txs += ntx;
        t->total_ns += block_ns(a);
        t->exec_ns += stage_ns(&a->stats);
        hex32(root, a->header.state_root);
        printf("%s block %zu height %llu: txs %zu batches %llu reexec %llu "
               "root %s %.0f tx/s (exec %.0f tx/s%s%s) %s%s\n",
            v->file, v->block, (unsigned long long)height, ntx,
            (unsigned long long)a->stats.batches,
            (unsigned long long)a->stats.reexecutions, root,
            rate(ntx, block_ns(a)), rate(ntx, stage_ns(&a->stats)),
            bal ? ", BAL mode: every tx at once"
                : a->stats.fallback ? ", sequential: " : "",
            !bal && a->stats.fallback
                ? parex_fallback_name(a->stats.fallback_reason) : "",
            v->count > 0 ? "MISMATCH " : "ok",
            v->count > 0 ? v->first : "");
    } else {
        printf("%s block %zu height %llu: txs %zu rejected %s at tx %lld: "
               "%s%s\n",
            v->file, v->block, (unsigned long long)height, ntx,
            parex_reject_name(a->err.reject), (long long)a->err.tx_index,
            v->count > 0 ? "MISMATCH " : expect_note,
            v->count > 0 ? v->first : "");
    }
    fflush(stdout);
}

/* ---- full-state comparison (--check) ---------------------------------- */

typedef struct kv_list {
    node_buf keys;      /* n * 32 */
    node_buf vals;      /* concatenated values */
    size_t *off;        /* n + 1 offsets into vals */
    size_t n, cap;
} kv_list;

static int collect(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    kv_list *l = user;

    if (l->n + 1 >= l->cap) {
        l->cap = l->cap == 0 ? 1024 : l->cap * 2;
        l->off = node_realloc(l->off, l->cap * sizeof(*l->off));
    }
    if (l->n == 0) {
        l->off[0] = 0;
    }
    node_buf_put(&l->keys, key, 32);
    node_buf_put(&l->vals, val, len);
    l->off[l->n + 1] = l->vals.len;
    l->n++;
    return 0;
}

typedef struct walk_cmp {
    const kv_list *ref;
    size_t i;
    int differs;
    char msg[NODE_ERR_LEN];
} walk_cmp;

static int cmp_one(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    walk_cmp *w = user;
    char k[65];

    if (w->i >= w->ref->n) {
        hex32(k, key);
        snprintf(w->msg, sizeof(w->msg), "state: key %s present, but absent "
            "in the reference", k);
        w->differs = 1;
        return 1;
    }
    if (memcmp(key, w->ref->keys.p + w->i * 32, 32) != 0) {
        int c = memcmp(key, w->ref->keys.p + w->i * 32, 32);
        hex32(k, c < 0 ? key : w->ref->keys.p + w->i * 32);
        snprintf(w->msg, sizeof(w->msg), "state: key %s %s", k,
            c < 0 ? "present, but absent in the reference"
                  : "absent, but present in the reference");
        w->differs = 1;
        return 1;
    }
    if (len != w->ref->off[w->i + 1] - w->ref->off[w->i] ||
        (len > 0 && memcmp(val, w->ref->vals.p + w->ref->off[w->i], len))) {
        hex32(k, key);
        snprintf(w->msg, sizeof(w->msg), "state: key %s: value differs from "
            "the reference (%zu vs %zu bytes)", k, len,
            w->ref->off[w->i + 1] - w->ref->off[w->i]);
        w->differs = 1;
        return 1;
    }
    w->i++;
    return 0;
}

static void compare_state(verdict *v, const chain *a, const chain *r)
{
    kv_list l;
    walk_cmp w;
    int rc;

    memset(&l, 0, sizeof(l));
    memset(&w, 0, sizeof(w));
    rc = parex_db_foreach(r->db, collect, &l);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: reading the reference state: %s",
            v->file, parex_strerror(rc));
    }
    w.ref = &l;
    rc = parex_db_foreach(a->db, cmp_one, &w);
    if (rc != PAREX_OK && rc != PAREX_STOPPED) { /* stopped: a difference */
        node_die(NODE_EXIT_RUNTIME, "%s: reading the state: %s", v->file,
            parex_strerror(rc));
    }
    if (!w.differs && w.i < l.n) {
        char k[65];
        hex32(k, l.keys.p + w.i * 32);
        snprintf(w.msg, sizeof(w.msg), "state: key %s absent, but present "
            "in the reference", k);
        w.differs = 1;
    }
    if (w.differs) {
        mismatch(v, "%s", w.msg);
    }
    node_buf_release(&l.keys);
    node_buf_release(&l.vals);
    free(l.off);
}

/* ---- resuming on a kept store (--resume) ------------------------------ */

/* TH(tag, x) = SHA-256(SHA-256(tag) || SHA-256(tag) || x), docs/formats.md. */
static void tagged_hash(uint8_t out[32], const char *tag, const uint8_t *x,
    size_t len)
{
    uint8_t *buf = node_malloc(64 + len);

    parex_sha256(buf, tag, strlen(tag));
    memcpy(buf + 32, buf, 32);
    if (len > 0) {
        memcpy(buf + 64, x, len);
    }
    parex_sha256(out, buf, 64 + len);
    free(buf);
}

/* The tx root a block of these txs commits to: TH("parex/txroot",
 * txid_0 || ...), txid = TH("parex/txid", encoding) (docs/formats.md). */
static void tx_root_of(uint8_t out[32], const node_txbytes *txs, size_t n)
{
    uint8_t *ids = node_malloc(n > 0 ? 32 * n : 1);
    size_t i;

    for (i = 0; i < n; i++) {
        tagged_hash(ids + 32 * i, "parex/txid", txs[i].p, txs[i].len);
    }
    tagged_hash(out, "parex/txroot", ids, 32 * n);
    free(ids);
}

/* Where a kept store stands. Returns 0 when it has no genesis yet (the
 * caller writes it), 1 when its genesis is this file's (*g set, *top the
 * stored head height), -1 (a mismatch reported) when it is another's. */
static int resume_start(verdict *v, parex_header *g, uint64_t *top,
    const chain *c, const parex_header *want)
{
    parex_header head;
    int rc = parex_db_head(c->db, &head);

    if (rc == PAREX_E_NOTFOUND) {
        return 0;
    }
    if (rc == PAREX_OK) {
        rc = parex_db_header(c->db, g, 0);
    }
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: %s: cannot read the stored chain: "
            "%s", v->file, c->dir, parex_strerror(rc));
    }
    if (!same_header(g, want)) {
        mismatch(v, "--resume: the genesis stored in %s is not this file's",
            c->dir);
        return -1;
    }
    *top = head.height;
    return 1;
}

/* A block below the stored head: it must be the block stored at its
 * height (same parent, tx root, fee recipient and, when known, state
 * root); then it is skipped. Returns 0 (cur moves to it) or -1 (a
 * mismatch reported). */
static int resume_skip(verdict *v, parex_header *cur, const chain *c,
    const parex_header *h, const node_txbytes *txs, size_t ntx,
    const uint8_t *want_root)
{
    parex_header st;
    uint8_t txr[32];
    const char *what = NULL;
    int rc = parex_db_header(c->db, &st, cur->height + 1);

    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: %s: cannot read the header at "
            "height %llu: %s", v->file, c->dir,
            (unsigned long long)cur->height + 1, parex_strerror(rc));
    }
    tx_root_of(txr, txs, ntx);
    if (h->height != st.height) {
        what = "height";
    } else if (memcmp(h->parent, st.parent, 32) != 0) {
        what = "parent";
    } else if (memcmp(txr, st.tx_root, 32) != 0) {
        what = "tx_root";
    } else if (memcmp(h->fee_recipient, st.fee_recipient, 32) != 0) {
        what = "fee_recipient";
    } else if (want_root != NULL && memcmp(want_root, st.state_root, 32)) {
        what = "state_root";
    }
    if (what != NULL) {
        mismatch(v, "--resume: the block stored at height %llu in %s is not "
            "this block (%s differs)", (unsigned long long)st.height, c->dir,
            what);
        return -1;
    }
    *cur = st;
    return 0;
}

static void print_skipped(const verdict *v, const parex_header *h,
    replay_totals *t)
{
    char root[65];

    t->skipped++;
    hex32(root, h->state_root);
    printf("%s block %zu height %llu: committed before, skipped, root %s "
           "ok\n", v->file, v->block, (unsigned long long)h->height, root);
    fflush(stdout);
}

/* The file's genesis line: its state root, and where a resumed store
 * stood. */
static void print_genesis(const char *file, const parex_header *g,
    int resumed, uint64_t top)
{
    char root[65];

    hex32(root, g->state_root);
    printf("%s genesis height 0: root %s", file, root);
    if (resumed) {
        printf(", resuming on a store at height %llu",
            (unsigned long long)top);
    }
    printf("\n");
    fflush(stdout);
}

static void print_resume_mismatch(const verdict *v, replay_totals *t)
{
    t->blocks++;
    t->mismatches++;
    printf("%s block %zu: MISMATCH %s\n", v->file, v->block, v->first);
    fflush(stdout);
}

/* ---- one file --------------------------------------------------------- */

/* A fixture block's bytes for the pipeline, with the fixture's header as
 * the placeholder (the height and parent it gets are set when it runs). */
static void fixture_encode(void *user, size_t i, node_buf *out)
{
    const node_fixture *f = user;
    const node_fx_block *b = &f->blocks[i];

    node_block_encode(out, &b->header, b->txs, b->ntx);
}

/* Whether a file's blocks go through the pipeline: not with --no-pipeline,
 * and not where a block is sealed with a BAL on the way (--bal, or a
 * carried one): the sealed bytes exist only once the block before it ran
 * on the producer chain. */
static int fixture_pipelined(const replay_opts *o, const node_fixture *f)
{
    size_t i;

    if (o->no_pipeline || o->bal) {
        return 0;
    }
    for (i = 0; i < f->nblocks; i++) {
        if (f->blocks[i].bal != NULL) {
            return 0;
        }
    }
    return 1;
}

static void replay_fixture(const replay_opts *o, replay_totals *t,
    size_t idx, const char *file)
{
    node_pipe *pl = NULL;
    node_fixture f;
    char err[NODE_ERR_LEN];
    chain c, r, p;
    parex_header g, cur;
    uint64_t top = 0;
    size_t bi;
    verdict fv;
    int resumed = 0;
    replay_opts po = *o;

    if (node_fixture_load(&f, err, file) != 0) {
        node_warn("%s", err);
        t->load_errors++;
        return;
    }
    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    chain_open(&c, o, idx, file, 0, f.chain_id);
    po.db_dir = NULL;
    po.check = 0;
    if (o->bal) {
        parex_header gp;
        chain_open(&p, &po, idx, file, 0, f.chain_id);
        chain_genesis(&p, &gp, file, f.kvs, f.nkv, f.fee_recipient);
    }
    if (o->resume) {
        parex_header want;
        int rc = parex_genesis_header(&want, f.kvs, f.nkv, f.fee_recipient);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "%s: genesis: %s", file,
                parex_strerror(rc));
        }
        memset(&fv, 0, sizeof(fv));
        fv.file = file;
        resumed = resume_start(&fv, &g, &top, &c, &want);
        if (resumed < 0) {
            print_resume_mismatch(&fv, t);
            chain_close(&c);
            node_fixture_release(&f);
            return;
        }
    }
    if (!resumed) {
        chain_genesis(&c, &g, file, f.kvs, f.nkv, f.fee_recipient);
    }
    print_genesis(file, &g, resumed, top);
    cur = g;
    if (o->check) {
        parex_header g2;
        chain_open(&r, o, idx, file, 1, f.chain_id);
        chain_genesis(&r, &g2, file, f.kvs, f.nkv, f.fee_recipient);
    }
    if (fixture_pipelined(o, &f)) {
        pl = node_pipe_start(c.e, f.nblocks, o->threads, fixture_encode, &f);
    }
    for (bi = 0; bi < f.nblocks; bi++) {
        const node_fx_block *b = &f.blocks[bi];
        parex_header h = b->header;
        parex_header head;
        node_buf block = {0}, sealed = {0};
        const node_buf *run;
        node_fx_block eb;
        outcome a, ro;
        verdict v;
        char note[96];
        int bal;

        memset(&v, 0, sizeof(v));
        v.file = file;
        v.block = bi;
        if (cur.height < top) {
            /* Resuming: blocks up to the stored head were committed by an
             * earlier run (rejected ones never changed anything). */
            if (b->reject != PAREX_REJECT_NONE) {
                continue;
            }
            if (!b->have_height) {
                h.height = cur.height + 1;
            }
            if (!b->have_parent) {
                parex_header_hash(h.parent, &cur);
            }
            if (resume_skip(&v, &cur, &c, &h, b->txs, b->ntx,
                    b->state_root) != 0) {
                print_resume_mismatch(&v, t);
                break;
            }
            print_skipped(&v, &cur, t);
            continue;
        }
        head_of(&c, &head, file);
        if (!b->have_height) {
            h.height = head.height + 1;
        }
        if (!b->have_parent) {
            parex_header_hash(h.parent, &head);
        }
        if (pl != NULL) {
            /* No BAL anywhere in the file (fixture_pipelined()). */
            run_block_prepared(&a, &c, pl, &h, b->ntx, file, bi,
                o->no_bal ? PAREX_EXEC_IGNORE_BAL : 0);
            bal = 0;
            run = &block;
            if (o->check) {
                node_block_encode(&block, &h, b->txs, b->ntx);
            }
        } else {
            node_block_encode(&block, &h, b->txs, b->ntx);
            bal = seal_block(&sealed, o, &p, &block, b->bal, b->bal_len,
                b->ntx, file, bi);
            run = bal ? &sealed : &block;
            bal = bal && !o->no_bal;
            run_block_flags(&a, &c, run, b->ntx, file, bi,
                o->no_bal ? PAREX_EXEC_IGNORE_BAL : 0);
        }
        /* Validating with a BAL runs every tx in one step: no batches. */
        eb = *b;
        if (bal) {
            eb.have_batches = 0;
        }
        compare_expect(&v, &a, &eb, &head, &c);
        if (o->check) {
            run_block_flags(&ro, &r, run, b->ntx, file, bi,
                PAREX_EXEC_IGNORE_BAL);
            compare_ref(&v, &a, &ro, b->ntx);
            free(ro.receipts);
        }
        snprintf(note, sizeof(note), "rejected-as-expected");
        print_block(&v, &a, b->ntx, h.height, note, t, bal);
        free(a.receipts);
        node_buf_release(&block);
        node_buf_release(&sealed);
    }
    node_pipe_stop(pl);
    if (bi == f.nblocks && cur.height < top) {
        memset(&fv, 0, sizeof(fv));
        fv.file = file;
        fv.block = f.nblocks;
        mismatch(&fv, "--resume: %s holds blocks up to height %llu, past "
            "this file's last block", c.dir, (unsigned long long)top);
        print_resume_mismatch(&fv, t);
    }
    if (o->check) {
        memset(&fv, 0, sizeof(fv));
        fv.file = file;
        fv.block = f.nblocks == 0 ? 0 : f.nblocks - 1;
        compare_state(&fv, &c, &r);
        if (fv.count > 0) {
            t->mismatches++;
        }
        chain_close(&r);
    }
    if (o->bal) {
        chain_close(&p);
    }
    chain_close(&c);
    node_fixture_release(&f);
}

/* The pipeline's copy of a trace's one block (already encoded). */
static void trace_encode(void *user, size_t i, node_buf *out)
{
    const node_buf *b = user;

    (void)i;
    node_buf_put(out, b->p, b->len);
}

static void replay_trace(const replay_opts *o, replay_totals *t, size_t idx,
    const char *file)
{
    node_trace tr;
    node_txbytes *txs = NULL;
    char err[NODE_ERR_LEN];
    uint8_t fee[32];
    chain c, r, p;
    parex_header g, h;
    node_buf block = {0}, sealed = {0};
    const node_buf *run;
    outcome a, ro;
    verdict v;
    uint64_t top = 0;
    int resumed = 0, bal;
    replay_opts po = *o;

    if (node_trace_load(&tr, err, file) != 0) {
        node_warn("%s", err);
        t->load_errors++;
        return;
    }
    node_trace_fee_recipient(fee);
    memset(&r, 0, sizeof(r));
    memset(&p, 0, sizeof(p));
    memset(&v, 0, sizeof(v));
    v.file = file;
    chain_open(&c, o, idx, file, 0, o->chain_id);
    po.db_dir = NULL;
    po.check = 0;
    if (o->bal) {
        parex_header gp;
        chain_open(&p, &po, idx, file, 0, o->chain_id);
        chain_genesis(&p, &gp, file, NULL, 0, fee);
    }
    if (o->resume) {
        parex_header want;
        int rc = parex_genesis_header(&want, NULL, 0, fee);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "%s: genesis: %s", file,
                parex_strerror(rc));
        }
        resumed = resume_start(&v, &g, &top, &c, &want);
        if (resumed < 0) {
            print_resume_mismatch(&v, t);
            goto out;
        }
    }
    if (!resumed) {
        chain_genesis(&c, &g, file, NULL, 0, fee);
    }
    print_genesis(file, &g, resumed, top);
    if (o->check) {
        parex_header g2;
        chain_open(&r, o, idx, file, 1, o->chain_id);
        chain_genesis(&r, &g2, file, NULL, 0, fee);
    }
    if (node_trace_txs(&txs, err, file, &tr, &o->declare, o->chain_id) != 0) {
        node_warn("%s", err);
        t->load_errors++;
        goto out;
    }
    node_trace_header(&h, &g);
    if (top >= 1) {
        parex_header cur = g;
        if (resume_skip(&v, &cur, &c, &h, txs, tr.n, NULL) != 0) {
            print_resume_mismatch(&v, t);
        } else {
            print_skipped(&v, &cur, t);
        }
        goto out;
    }
    node_block_encode(&block, &h, txs, tr.n);
    bal = seal_block(&sealed, o, &p, &block, NULL, 0, tr.n, file, 0);
    run = bal ? &sealed : &block;
    bal = bal && !o->no_bal;
    if (!bal && !o->no_pipeline) {
        /* A trace is one block: nothing to overlap, but it runs the
         * pipeline's path (prepared on a worker, then executed). */
        node_pipe *pl = node_pipe_start(c.e, 1, o->threads, trace_encode,
            (void *)run);
        run_block_prepared(&a, &c, pl, &h, tr.n, file, 0,
            o->no_bal ? PAREX_EXEC_IGNORE_BAL : 0);
        node_pipe_stop(pl);
    } else {
        run_block_flags(&a, &c, run, tr.n, file, 0,
            o->no_bal ? PAREX_EXEC_IGNORE_BAL : 0);
    }
    if (a.rc == PAREX_E_BLOCK) {
        mismatch(&v, "trace block rejected: %s at tx %lld, field '%s': %s",
            parex_reject_name(a.err.reject), (long long)a.err.tx_index,
            a.err.field, a.err.message);
    }
    if (o->check) {
        run_block_flags(&ro, &r, run, tr.n, file, 0, PAREX_EXEC_IGNORE_BAL);
        compare_ref(&v, &a, &ro, tr.n);
        compare_state(&v, &c, &r);
        free(ro.receipts);
    }
    print_block(&v, &a, tr.n, h.height, "", t, bal);
    free(a.receipts);
out:
    node_buf_release(&block);
    node_buf_release(&sealed);
    if (o->bal) {
        chain_close(&p);
    }
    node_txs_free(txs, tr.n);
    if (o->check) {
        chain_close(&r);
    }
    chain_close(&c);
    node_trace_release(&tr);
}

void node_help_replay(FILE *f)
{
    fputs(
"usage: parex replay [--threads N] [--db DIR [--resume]] [--declare MODE]\n"
"                    [--check] [--bal | --no-bal] [--no-pipeline]\n"
"                    [--sync full|meta|none] [--map-size BYTES]\n"
"                    [--chain-id N]\n"
"                    [--min-batch-width N] PATH...\n"
"\n"
"Execute fixtures and real-chain traces and check the results.\n"
"PATH is a fixture (*.json), a trace (*.jsonl) or a directory, walked\n"
"recursively in name order for *.json and *.jsonl files. Every file runs on\n"
"a fresh state: a temporary directory (under $TMPDIR or /tmp) removed\n"
"afterwards, or with --db DIR a fresh sub-directory NNNN-NAME per file in\n"
"DIR (created if needed), which is kept.\n"
"\n"
"A fixture carries its genesis, blocks and expectations: the state root and\n"
"every receipt (status, code, fee, optionally txid and batch count) of each\n"
"block, or the block's rejection (reason and tx index, and the head must be\n"
"unchanged afterwards). A trace becomes one block of signed `trace` program\n"
"transactions on an empty state, as `parex trace import` builds it.\n"
"\n"
"Per file first a genesis line (its state root), then per block one\n"
"line: file, block index, height, txs, batches,\n"
"re-executions, state root, end-to-end tx/s (parex_block_stats.total_ns),\n"
"execution-stage tx/s (exec_ns) and the verdict: ok, rejected-as-expected,\n"
"or MISMATCH with the first difference. Every difference is also printed to\n"
"stderr naming file, block, tx index and field, e.g.\n"
"  f.json: block 2: MISMATCH receipt[3].status expected failed got success\n"
"A summary line ends the run.\n"
"\n", f);
    fputs(
"options:\n"
"  --threads N      engine threads including the caller; 0 or absent: the\n"
"                   online CPUs\n"
"  --db DIR         keep each file's state in DIR/NNNN-NAME (and\n"
"                   DIR/NNNN-NAME.ref for --check)\n"
"  --declare MODE   declared sets of trace transactions (default exact):\n"
"                   exact        the keys read and written, plus the\n"
"                                signer's account in the write set\n"
"                   none         nothing declared\n"
"                   drop:P:SEED  exact, each key (but the account) dropped\n"
"                                with probability P\n"
"                   add:P:SEED   exact, plus per declared key with\n"
"                                probability P one extra key of the block\n"
"                   Wrong declarations cost re-executions or parallelism,\n"
"                   never correctness: every mode gives the same state.\n"
"  --check          also run the sequential reference executor on its own\n"
"                   fresh state and compare receipts, roots and the full\n"
"                   state (the first differing key is named)\n"
"  --bal            seal every block that carries no block access list\n"
"                   with the one recorded by running it on a scratch\n"
"                   producer store, then validate it in BAL mode\n"
"  --no-bal         run blocks that carry a BAL on the ordinary executors\n"
"                   (the BAL is not checked; the tx root still commits to\n"
"                   it). Without it such blocks run in BAL mode: every tx\n"
"                   at once against the pre-state the BAL gives it, the\n"
"                   block line says \"BAL mode\" and has batches 1\n"
"  --no-pipeline    run each block's stateless stage (decode, tx ids,\n"
"                   signatures) in its own execute call. By default it\n"
"                   runs ahead on --threads worker threads (block\n"
"                   pipelining: block N+1 is prepared while block N\n"
"                   executes, roots and commits); files whose blocks\n"
"                   are sealed with a BAL (--bal, or a carried one) are\n"
"                   not pipelined. Same roots, receipts and errors\n"
"  --min-batch-width N  blocks whose txs/batches is below N run on the\n"
"                   sequential executor (0, the default: 16 x threads, and\n"
"                   always at 1 thread; 1: always run the parallel path)\n"
"  --resume         with --db: continue on the kept stores instead of\n"
"                   fresh ones. Blocks up to a store's head are checked\n"
"                   against the stored chain (height, parent, tx root, fee\n"
"                   recipient, the fixture's state root) and skipped; the\n"
"                   rest run as usual. A store without genesis starts from\n"
"                   genesis. Picks up after a crash or a full map. Not with\n"
"                   --check.\n"
"  --map-size BYTES LMDB map size: the most the store may grow to\n"
"                   (default 0: 16 GiB); beyond it a commit fails with\n"
"                   PAREX_E_MAPFULL and nothing of the block is written\n"
"  --sync MODE      LMDB durability per commit: full (default), meta, none\n"
"                   (none: a process crash loses nothing committed, a\n"
"                   system crash or power loss may; see docs/security.md)\n"
"  --chain-id N     chain id of trace transactions (default 1); fixtures\n"
"                   carry their own\n"
"\n"
"exit status: 0 all blocks as expected; 1 some mismatch; 2 usage error;\n"
"3 some input could not be read or decoded (takes precedence over 1);\n"
"4 storage, memory or unexpected library error.\n", f);
}

int node_cmd_replay(int argc, char **argv)
{
    replay_opts o;
    replay_totals t;
    node_paths ps = {0};
    char err[NODE_ERR_LEN];
    const char *val;
    size_t i;
    int k;
    int npaths = 0;

    memset(&o, 0, sizeof(o));
    memset(&t, 0, sizeof(t));
    o.chain_id = 1;
    o.declare_str = "exact";
    o.sync = PAREX_SYNC_FULL;
    if (node_wants_help(argc, argv)) {
        node_help_replay(stdout);
        return NODE_EXIT_OK;
    }
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--threads", &val)) {
            o.threads = (unsigned)node_opt_u64("--threads", val, 4096);
        } else if (node_opt_value(argc, argv, &k, "--min-batch-width",
                       &val)) {
            o.min_width = (uint32_t)node_opt_u64("--min-batch-width", val,
                UINT32_MAX);
        } else if (node_opt_value(argc, argv, &k, "--db", &val)) {
            o.db_dir = val;
        } else if (node_opt_value(argc, argv, &k, "--declare", &val)) {
            o.declare_str = val;
        } else if (node_opt_value(argc, argv, &k, "--sync", &val)) {
            o.sync = node_opt_sync(val);
        } else if (node_opt_value(argc, argv, &k, "--chain-id", &val)) {
            o.chain_id = (uint32_t)node_opt_u64("--chain-id", val,
                UINT32_MAX);
        } else if (node_opt_value(argc, argv, &k, "--map-size", &val)) {
            o.map_size = node_opt_u64("--map-size", val, UINT64_MAX);
        } else if (strcmp(argv[k], "--check") == 0) {
            o.check = 1;
        } else if (strcmp(argv[k], "--resume") == 0) {
            o.resume = 1;
        } else if (strcmp(argv[k], "--bal") == 0) {
            o.bal = 1;
        } else if (strcmp(argv[k], "--no-bal") == 0) {
            o.no_bal = 1;
        } else if (strcmp(argv[k], "--no-pipeline") == 0) {
            o.no_pipeline = 1;
        } else if (strcmp(argv[k], "--") == 0) {
            for (k++; k < argc; k++) {
                if (node_paths_add(&ps, err, argv[k]) != 0) {
                    node_die(NODE_EXIT_INPUT, "%s", err);
                }
                npaths++;
            }
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            node_die(NODE_EXIT_USAGE, "replay: unknown option '%s' (see "
                "parex replay --help)", argv[k]);
        } else {
            if (node_paths_add(&ps, err, argv[k]) != 0) {
                node_die(NODE_EXIT_INPUT, "%s", err);
            }
            npaths++;
        }
    }
    if (npaths == 0) {
        node_die(NODE_EXIT_USAGE, "replay: no PATH given (see parex replay "
            "--help)");
    }
    if (o.resume && o.db_dir == NULL) {
        node_die(NODE_EXIT_USAGE, "replay: --resume needs --db DIR");
    }
    if (o.resume && o.check) {
        node_die(NODE_EXIT_USAGE, "replay: --resume and --check cannot be "
            "combined");
    }
    if (o.resume && o.bal) {
        node_die(NODE_EXIT_USAGE, "replay: --resume and --bal cannot be "
            "combined");
    }
    if (node_declare_parse(&o.declare, err, o.declare_str) != 0) {
        node_die(NODE_EXIT_USAGE, "replay: %s", err);
    }
    if (o.threads == 0) {
        o.threads = node_cpus();
    }
    if (o.db_dir != NULL && mkdir(o.db_dir, 0777) != 0 && errno != EEXIST) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot create: %s", o.db_dir,
            strerror(errno));
    }
    printf("# parex %s replay: %zu file(s), threads %u, declare %s%s%s\n",
        parex_version(), ps.n, o.threads, o.declare_str,
        o.check ? ", check against the sequential reference" : "",
        o.no_bal ? ", block access lists ignored"
                 : o.bal ? ", blocks sealed with a recorded block access list"
                         : "");
    for (i = 0; i < ps.n; i++) {
        t.files++;
        if (node_is_trace(ps.v[i])) {
            replay_trace(&o, &t, i, ps.v[i]);
        } else {
            replay_fixture(&o, &t, i, ps.v[i]);
        }
    }
    printf("summary: files %zu, blocks %zu, txs %zu, mismatches %zu, load "
           "errors %zu, %.0f tx/s (exec %.0f tx/s)",
        t.files, t.blocks, t.txs, t.mismatches, t.load_errors,
        rate(t.ok_txs, t.total_ns), rate(t.ok_txs, t.exec_ns));
    if (o.resume) {
        printf(", skipped %zu committed before", t.skipped);
    }
    printf("\n");
    node_paths_release(&ps);
    if (t.load_errors > 0) {
        return NODE_EXIT_INPUT;
    }
    return t.mismatches > 0 ? NODE_EXIT_MISMATCH : NODE_EXIT_OK;
}
