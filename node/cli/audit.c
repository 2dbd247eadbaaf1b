/* `parex audit`: the declaration audit. Every block of a fixture or trace
 * runs twice on scratch stores: on the parallel executor with the declared
 * sets (for its re-executions), and recording its block access list (what
 * each tx really touched). Per tx: declared keys never touched, touched
 * keys not declared, declared writes only read; per block: the batch
 * count of the conflict analysis under the declared sets and under the
 * actual ones. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct audit_opts {
    unsigned threads;
    int json;
    node_declare declare;
    const char *declare_str;
    uint32_t chain_id;
} audit_opts;

typedef struct achain {
    char *dir;
    parex_db *db;
    parex_engine *e;
} achain;

static void achain_open(achain *c, const audit_opts *o, uint32_t chain_id,
    unsigned threads, uint32_t min_width, const parex_kv *kvs, size_t nkv,
    const uint8_t fee[32])
{
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_db_options dbo;
    int rc;

    memset(c, 0, sizeof(*c));
    memset(&dbo, 0, sizeof(dbo));
    dbo.size = sizeof(dbo);
    dbo.sync = PAREX_SYNC_NONE;
    c->dir = node_tmpdir("audit");
    rc = parex_db_open(&c->db, NULL, c->dir, &dbo);
    if (rc == PAREX_OK) {
        rc = parex_db_genesis(c->db, NULL, kvs, nkv, fee);
    }
    if (rc == PAREX_OK) {
        parex_engine_options_default(&eo);
        eo.chain_id = chain_id;
        eo.threads = threads;
        eo.min_batch_width = min_width;
        rc = parex_engine_create(&c->e, c->db, &eo);
    }
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "audit: scratch store: %s",
            parex_strerror(rc));
    }
    (void)o;
}

static void achain_close(achain *c)
{
    parex_engine_destroy(c->e);
    parex_db_close(c->db);
    if (node_rmtree(c->dir) != 0) {
        node_warn("%s: cannot remove", c->dir);
    }
    free(c->dir);
}

/* ---- a small key table for the batch count (keys are hashes) ---- */

typedef struct slot {
    uint8_t key[32];
    int64_t lastw, maxr;    /* batch of the last writer, highest reader
                               batch since it; -1 none */
    int used;
} slot;

typedef struct ktab {
    slot *s;
    size_t mask;
} ktab;

static slot *kt_get(ktab *t, const uint8_t *key)
{
    uint64_t h;
    size_t i;

    memcpy(&h, key, 8);
    for (i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
        slot *s = &t->s[i];
        if (!s->used) {
            memcpy(s->key, key, 32);
            s->used = 1;
            s->lastw = -1;
            s->maxr = -1;
            return s;
        }
        if (memcmp(s->key, key, 32) == 0) {
            return s;
        }
    }
}

/* One tx's sets for the batch count. */
typedef struct aset {
    const uint8_t *r, *w;   /* n_r, n_w keys */
    size_t nr, nw;
    const uint8_t *acct;    /* an extra written key, or NULL */
} aset;

/* Conflict rules of docs/architecture.md: a read after the key's last
 * writer; a write after the last writer and every reader since. */
static uint64_t batches(const aset *sets, size_t n, size_t keys)
{
    ktab t;
    size_t j, i, cap = 16;
    int64_t top = -1;

    while (cap < 2 * keys + 2) {
        cap *= 2;
    }
    t.s = node_calloc(cap, sizeof(*t.s));
    t.mask = cap - 1;
    for (j = 0; j < n; j++) {
        const aset *a = &sets[j];
        int64_t b = -1;
        int pass;
        for (pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                b++;
                top = b > top ? b : top;
            }
            for (i = 0; i < a->nr + a->nw + (a->acct != NULL); i++) {
                int w = i >= a->nr;
                const uint8_t *k = i < a->nr ? a->r + 32 * i
                    : i < a->nr + a->nw     ? a->w + 32 * (i - a->nr)
                                            : a->acct;
                slot *s = kt_get(&t, k);
                if (pass == 0) {
                    b = s->lastw > b ? s->lastw : b;
                    if (w) {
                        b = s->maxr > b ? s->maxr : b;
                    }
                } else if (w) {
                    s->lastw = b;
                    s->maxr = -1;
                } else {
                    s->maxr = b > s->maxr ? b : s->maxr;
                }
            }
        }
    }
    free(t.s);
    return (uint64_t)(top + 1);
}

/* ---- the BAL, as docs/formats.md lays it out ---- */

typedef struct bentry {
    uint8_t *w;     /* nw write keys */
    size_t nw;
    uint8_t *r;     /* nr read keys */
    size_t nr;
} bentry;

/* A minimal LEB128 at p + *off (the BAL was validated by execution). */
static uint32_t get_var(const uint8_t *p, size_t *off)
{
    uint32_t v = 0;
    unsigned sh = 0;

    for (;;) {
        uint8_t b = p[(*off)++];
        v |= (uint32_t)(b & 0x7f) << sh;
        if ((b & 0x80) == 0) {
            return v;
        }
        sh += 7;
    }
}

/* A key reference of tx t into out: a declared key by its place (read
 * set, then write set), else the key in full. */
static void get_ref(const uint8_t *p, size_t *off, const parex_tx *t,
    uint8_t *out)
{
    uint32_t s = get_var(p, off);

    if (s == 0) {
        memcpy(out, p + *off, 32);
        *off += 32;
    } else if (s <= t->n_read) {
        memcpy(out, t->read_set + 32 * (size_t)(s - 1), 32);
    } else {
        memcpy(out, t->write_set + 32 * (size_t)(s - 1 - t->n_read), 32);
    }
}

static bentry *parse_bal(const uint8_t *p, size_t len, size_t n,
    const parex_tx *tx)
{
    bentry *e = node_calloc(n > 0 ? n : 1, sizeof(*e));
    size_t off = 5, j, i;

    for (j = 0; j < n; j++) {
        uint32_t nw = get_var(p, &off), m;
        e[j].w = node_malloc(nw > 0 ? 32 * (size_t)nw : 1);
        e[j].nw = nw;
        for (i = 0; i < nw; i++) {
            get_ref(p, &off, &tx[j], e[j].w + 32 * i);
            m = get_var(p, &off);
            off += m > 0 ? m - 1 : 0;
        }
        e[j].nr = get_var(p, &off);
        e[j].r = node_malloc(e[j].nr > 0 ? 32 * e[j].nr : 1);
        for (i = 0; i < e[j].nr; i++) {
            get_ref(p, &off, &tx[j], e[j].r + 32 * i);
        }
    }
    (void)len;
    return e;
}

static int in_set(const uint8_t *set, size_t n, const uint8_t *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(set + 32 * mid, key, 32);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

static json_t *keys_json(const uint8_t **k, size_t n)
{
    json_t *a = json_array();
    size_t i;
    char hx[65];

    for (i = 0; i < n; i++) {
        node_hex(hx, k[i], 32);
        json_array_append_new(a, json_string(hx));
    }
    return a;
}

typedef struct atotals {
    uint64_t txs, unused, undeclared, only_read, reexec;
} atotals;

/* One block: runs it on both chains, prints the audit. Returns 0, or 1
 * when the block was rejected (nothing to audit). */
static int audit_block(const audit_opts *o, achain *par, achain *rec,
    const char *file, size_t bi, const parex_header *hfile, int have_height,
    int have_parent, const node_txbytes *txs, size_t n, json_t *jfile,
    atotals *tot)
{
    node_buf bp = {0}, br = {0};
    parex_header hp = *hfile, hr = *hfile, head;
    parex_receipt *rc_buf = node_calloc(n > 0 ? n : 1, sizeof(*rc_buf));
    parex_block_stats st = PAREX_BLOCK_STATS_INIT;
    parex_error_info ei;
    parex_tx *tx = node_calloc(n > 0 ? n : 1, sizeof(*tx));
    aset *decl = node_calloc(n > 0 ? n : 1, sizeof(*decl));
    aset *act = node_calloc(n > 0 ? n : 1, sizeof(*act));
    uint8_t (*acct)[32] = node_calloc(n > 0 ? n : 1, 32);
    uint8_t *bal = NULL;
    size_t bal_len = 0, j, i, keys_d = 0, keys_a = 0;
    bentry *be;
    uint64_t bd, ba;
    json_t *jb = NULL, *jtx = NULL;
    int rc;

    if (parex_db_head(par->db, &head) != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot read the head", file);
    }
    if (!have_height) {
        hp.height = head.height + 1;
    }
    if (!have_parent) {
        parex_header_hash(hp.parent, &head);
    }
    if (parex_db_head(rec->db, &head) != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot read the head", file);
    }
    hr.height = hp.height;
    if (!have_parent) {
        parex_header_hash(hr.parent, &head);
    }
    node_block_encode(&bp, &hp, txs, n);
    node_block_encode(&br, &hr, txs, n);
    rc = parex_engine_execute(par->e, NULL, rc_buf, n, &st, &ei, bp.p, bp.len,
        PAREX_EXEC_COMMIT);
    if (rc == PAREX_OK) {
        rc = parex_engine_execute(rec->e, NULL, rc_buf, n, NULL, &ei, br.p,
            br.len, PAREX_EXEC_COMMIT | PAREX_EXEC_RECORD_BAL);
    }
    if (rc == PAREX_OK && parex_engine_bal(rec->e, NULL, &bal_len) ==
            PAREX_E_BUFFER) {
        bal = node_malloc(bal_len);
        rc = parex_engine_bal(rec->e, bal, &bal_len);
    }
    if (rc != PAREX_OK) {
        if (!o->json) {
            printf("%s block %zu: rejected (%s at tx %lld): not audited\n",
                file, bi, parex_reject_name(ei.reject),
                (long long)ei.tx_index);
        }
        node_buf_release(&bp);
        node_buf_release(&br);
        free(rc_buf);
        free(tx);
        free(decl);
        free(act);
        free(acct);
        return 1;
    }
    for (j = 0; j < n; j++) {
        if (parex_tx_decode(&tx[j], NULL, txs[j].p, txs[j].len, NULL) !=
            PAREX_OK) {
            node_die(NODE_EXIT_INPUT, "%s: block %zu: tx %zu does not "
                "decode", file, bi, j);
        }
    }
    be = parse_bal(bal, bal_len, n, tx);
    if (o->json) {
        jb = json_object();
        jtx = json_array();
    }
    for (j = 0; j < n; j++) {
        const uint8_t **un, **ud, **orr;
        size_t nun = 0, nud = 0, nor = 0;
        parex_account_key(acct[j], tx[j].sender);
        decl[j].r = tx[j].read_set;
        decl[j].nr = tx[j].n_read;
        decl[j].w = tx[j].write_set;
        decl[j].nw = tx[j].n_write;
        decl[j].acct = acct[j];
        act[j].r = be[j].r;
        act[j].nr = be[j].nr;
        act[j].w = be[j].w;
        act[j].nw = be[j].nw;
        keys_d += tx[j].n_read + tx[j].n_write + 1;
        keys_a += be[j].nr + be[j].nw;
        un = node_calloc(tx[j].n_read + tx[j].n_write + 1, sizeof(*un));
        ud = node_calloc(be[j].nr + be[j].nw + 1, sizeof(*ud));
        orr = node_calloc(tx[j].n_write + 1, sizeof(*orr));
        for (i = 0; i < tx[j].n_read + tx[j].n_write; i++) {
            const uint8_t *k = i < tx[j].n_read
                ? tx[j].read_set + 32 * i
                : tx[j].write_set + 32 * (i - tx[j].n_read);
            int w = in_set(be[j].w, be[j].nw, k);
            int r = in_set(be[j].r, be[j].nr, k);
            if (!w && !r) {
                un[nun++] = k;
            } else if (i >= tx[j].n_read && !w) {
                orr[nor++] = k;
            }
        }
        for (i = 0; i < be[j].nr + be[j].nw; i++) {
            const uint8_t *k = i < be[j].nw ? be[j].w + 32 * i
                                            : be[j].r + 32 * (i - be[j].nw);
            if (memcmp(k, acct[j], 32) != 0 &&
                !in_set(tx[j].read_set, tx[j].n_read, k) &&
                !in_set(tx[j].write_set, tx[j].n_write, k)) {
                ud[nud++] = k;
            }
        }
        tot->unused += nun;
        tot->undeclared += nud;
        tot->only_read += nor;
        if (o->json) {
            json_t *t = json_object();
            json_object_set_new(t, "tx", json_integer((json_int_t)j));
            json_object_set_new(t, "declared_untouched", keys_json(un, nun));
            json_object_set_new(t, "undeclared", keys_json(ud, nud));
            json_object_set_new(t, "declared_writes_only_read",
                keys_json(orr, nor));
            json_array_append_new(jtx, t);
        } else if (nun + nud + nor > 0) {
            printf("%s block %zu tx %zu: declared untouched %zu, "
                   "undeclared %zu, declared writes only read %zu\n",
                file, bi, j, nun, nud, nor);
        }
        free(un);
        free(ud);
        free(orr);
    }
    bd = batches(decl, n, keys_d);
    ba = batches(act, n, keys_a);
    tot->txs += n;
    tot->reexec += st.reexecutions;
    if (o->json) {
        json_object_set_new(jb, "block", json_integer((json_int_t)bi));
        json_object_set_new(jb, "txs", json_integer((json_int_t)n));
        json_object_set_new(jb, "batches_declared",
            json_integer((json_int_t)bd));
        json_object_set_new(jb, "batches_actual",
            json_integer((json_int_t)ba));
        json_object_set_new(jb, "reexecutions",
            json_integer((json_int_t)st.reexecutions));
        json_object_set_new(jb, "bal_bytes",
            json_integer((json_int_t)bal_len));
        json_object_set_new(jb, "per_tx", jtx);
        json_array_append_new(jfile, jb);
    } else {
        printf("%s block %zu: txs %zu, batches declared %llu (bound %.2fx), "
               "actual %llu (bound %.2fx), re-executions %llu, BAL %zu "
               "bytes (%.1f per tx)\n",
            file, bi, n, (unsigned long long)bd,
            bd ? (double)n / (double)bd : 0.0, (unsigned long long)ba,
            ba ? (double)n / (double)ba : 0.0,
            (unsigned long long)st.reexecutions, bal_len,
            n ? (double)bal_len / (double)n : 0.0);
    }
    for (j = 0; j < n; j++) {
        free(be[j].w);
        free(be[j].r);
    }
    free(be);
    free(bal);
    node_buf_release(&bp);
    node_buf_release(&br);
    free(rc_buf);
    free(tx);
    free(decl);
    free(act);
    free(acct);
    return 0;
}

static void audit_file(const audit_opts *o, const char *file, json_t *jall,
    atotals *tot)
{
    char err[NODE_ERR_LEN];
    achain par, rec;
    json_t *jf = o->json ? json_array() : NULL;
    size_t bi;

    if (node_is_trace(file)) {
        node_trace tr;
        node_txbytes *txs = NULL;
        uint8_t fee[32];
        parex_header g, h;
        if (node_trace_load(&tr, err, file) != 0 ||
            node_trace_txs(&txs, err, file, &tr, &o->declare, o->chain_id) !=
                0) {
            node_die(NODE_EXIT_INPUT, "%s", err);
        }
        node_trace_fee_recipient(fee);
        achain_open(&par, o, o->chain_id, o->threads, 1, NULL, 0, fee);
        achain_open(&rec, o, o->chain_id, 1, 0, NULL, 0, fee);
        node_trace_genesis_header(&g);
        node_trace_header(&h, &g);
        audit_block(o, &par, &rec, file, 0, &h, 1, 1, txs, tr.n, jf, tot);
        node_txs_free(txs, tr.n);
        node_trace_release(&tr);
    } else {
        node_fixture f;
        if (node_fixture_load(&f, err, file) != 0) {
            node_die(NODE_EXIT_INPUT, "%s", err);
        }
        achain_open(&par, o, f.chain_id, o->threads, 1, f.kvs, f.nkv,
            f.fee_recipient);
        achain_open(&rec, o, f.chain_id, 1, 0, f.kvs, f.nkv,
            f.fee_recipient);
        for (bi = 0; bi < f.nblocks; bi++) {
            const node_fx_block *b = &f.blocks[bi];
            /* A claimed tx root cannot hold with the BAL's: unclaimed. */
            parex_header h = b->header;
            memset(h.tx_root, 0, 32);
            audit_block(o, &par, &rec, file, bi, &h, b->have_height,
                b->have_parent, b->txs, b->ntx, jf, tot);
        }
        node_fixture_release(&f);
    }
    achain_close(&par);
    achain_close(&rec);
    if (o->json) {
        json_t *x = json_object();
        json_object_set_new(x, "file", json_string(file));
        json_object_set_new(x, "blocks", jf);
        json_array_append_new(jall, x);
    }
}

void node_help_audit(FILE *f)
{
    fputs(
"usage: parex audit [--json] [--threads N] [--declare MODE] [--chain-id N]\n"
"                   PATH...\n"
"\n"
"The declaration audit of fixtures (*.json) and traces (*.jsonl; PATH may\n"
"be a directory). Each block runs on scratch stores twice: on the parallel\n"
"executor with its declared sets (its re-executions), and recording its\n"
"block access list (the keys each tx really read and wrote). Printed per\n"
"tx with a difference: declared keys it never touched, keys it touched\n"
"undeclared (the sender's account is implicit), declared writes it only\n"
"read; per block: the batch count (the dependency-graph bound: txs /\n"
"batches) under the declared sets and under the actual ones, and the\n"
"re-executions under-declaration caused. --json writes one JSON document\n"
"with every key. Blocks a fixture expects to be rejected are skipped.\n"
"Stores' committed blocks are not audited (the store keeps no blocks).\n"
"\n"
"exit status: 0 ok; 2 usage; 3 input cannot be read; 4 library error.\n",
        f);
}

int node_cmd_audit(int argc, char **argv)
{
    audit_opts o;
    node_paths ps = {0};
    char err[NODE_ERR_LEN];
    const char *val;
    atotals tot;
    json_t *jall;
    size_t i;
    int k;

    memset(&o, 0, sizeof(o));
    memset(&tot, 0, sizeof(tot));
    o.threads = 2;
    o.chain_id = 1;
    o.declare_str = "exact";
    if (node_wants_help(argc, argv)) {
        node_help_audit(stdout);
        return NODE_EXIT_OK;
    }
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--threads", &val)) {
            o.threads = (unsigned)node_opt_u64("--threads", val, 4096);
        } else if (node_opt_value(argc, argv, &k, "--declare", &val)) {
            o.declare_str = val;
        } else if (node_opt_value(argc, argv, &k, "--chain-id", &val)) {
            o.chain_id = (uint32_t)node_opt_u64("--chain-id", val,
                UINT32_MAX);
        } else if (strcmp(argv[k], "--json") == 0) {
            o.json = 1;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            node_die(NODE_EXIT_USAGE, "audit: unknown option '%s'", argv[k]);
        } else if (node_paths_add(&ps, err, argv[k]) != 0) {
            node_die(NODE_EXIT_INPUT, "%s", err);
        }
    }
    if (ps.n == 0) {
        node_die(NODE_EXIT_USAGE, "audit: no PATH given (see parex audit "
            "--help)");
    }
    if (node_declare_parse(&o.declare, err, o.declare_str) != 0) {
        node_die(NODE_EXIT_USAGE, "audit: %s", err);
    }
    jall = json_array();
    for (i = 0; i < ps.n; i++) {
        audit_file(&o, ps.v[i], jall, &tot);
    }
    if (o.json) {
        json_t *top = json_object();
        json_object_set_new(top, "declare", json_string(o.declare_str));
        json_object_set_new(top, "files", jall);
        json_dumpf(top, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        printf("\n");
        json_decref(top);
    } else {
        json_decref(jall);
        printf("summary: txs %llu, declared untouched %llu, undeclared %llu, "
               "declared writes only read %llu, re-executions %llu\n",
            (unsigned long long)tot.txs, (unsigned long long)tot.unused,
            (unsigned long long)tot.undeclared,
            (unsigned long long)tot.only_read,
            (unsigned long long)tot.reexec);
    }
    node_paths_release(&ps);
    return NODE_EXIT_OK;
}
