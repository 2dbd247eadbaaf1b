/* `parex bench`: the sequential reference and the parallel engine side by
 * side on the same blocks and pre-state, in one process.
 *
 * Every workload is generated (and signed) before timing. Each run is a
 * fresh store: genesis, then the blocks in order, each committed. Times come
 * from parex_block_stats summed over the blocks of a run.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct bench_opts {
    uint64_t accounts, block_size, blocks, seed, reps;
    unsigned threads[BENCH_MAX_THREADS];
    size_t nthreads;
    parex_sync sync;
    const char *sync_name;
    int json;
} bench_opts;

/* Sums over the blocks of one run. */
typedef struct bench_run {
    parex_block_stats s;
    uint64_t failed;
    uint8_t root[32];
} bench_run;

enum { ST_DECODE, ST_VERIFY, ST_ANALYSIS, ST_EXEC, ST_VALIDATE, ST_APPLY,
       ST_ROOT, ST_COMMIT, ST_N };
static const char *const stage_names[ST_N] = { "decode", "verify",
    "analysis", "exec", "validate", "apply", "root", "commit" };

static uint64_t stage_of(const parex_block_stats *s, int k)
{
    switch (k) {
    case ST_DECODE: return s->decode_ns;
    case ST_VERIFY: return s->verify_ns;
    case ST_ANALYSIS: return s->analysis_ns;
    case ST_EXEC: return s->exec_ns;
    case ST_VALIDATE: return s->validate_ns;
    case ST_APPLY: return s->apply_ns;
    case ST_ROOT: return s->root_ns;
    default: return s->commit_ns;
    }
}

static uint64_t exec_stage(const parex_block_stats *s)
{
    return s->analysis_ns + s->exec_ns + s->validate_ns + s->apply_ns;
}

static void stats_add(parex_block_stats *a, const parex_block_stats *b)
{
    a->txs += b->txs;
    a->batches += b->batches;
    a->reexecutions += b->reexecutions;
    a->escaped += b->escaped;
    a->decode_ns += b->decode_ns;
    a->verify_ns += b->verify_ns;
    a->analysis_ns += b->analysis_ns;
    a->exec_ns += b->exec_ns;
    a->validate_ns += b->validate_ns;
    a->apply_ns += b->apply_ns;
    a->root_ns += b->root_ns;
    a->commit_ns += b->commit_ns;
    a->total_ns += b->total_ns;
}

/* ---- one run ---------------------------------------------------------- */

static void bench_execute(bench_run *out, const bench_work *w, int sequential,
    unsigned threads, const bench_opts *o)
{
    char *dir = node_tmpdir("bench");
    parex_db_options dbo;
    parex_engine_options eo;
    parex_error_info ei;
    parex_db *db = NULL;
    parex_engine *e = NULL;
    parex_header head, h;
    node_buf block = {0};
    parex_receipt *rc_buf = NULL;
    size_t b, i, cap = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&dbo, 0, sizeof(dbo));
    dbo.sync = o->sync;
    memset(&ei, 0, sizeof(ei));
    rc = parex_db_open(&db, &ei, dir, &dbo);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot open state: %s (%s)", dir,
            ei.message, parex_errname(rc));
    }
    rc = parex_db_genesis(db, &head, w->kvs, w->nkv, w->fee);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "bench %s: genesis: %s", w->label,
            parex_strerror(rc));
    }
    memset(&eo, 0, sizeof(eo));
    eo.threads = threads;
    eo.chain_id = 1;
    eo.sequential = sequential;
    rc = parex_engine_create(&e, db, &eo);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "bench %s: cannot create the engine: %s",
            w->label, parex_strerror(rc));
    }
    for (b = 0; b < w->nblocks; b++) {
        parex_block_stats st;

        memset(&h, 0, sizeof(h));
        h.height = head.height + 1;
        parex_header_hash(h.parent, &head);
        memcpy(h.fee_recipient, w->fee, 32);
        block.len = 0;
        node_block_encode(&block, &h, w->txs[b], w->ntx[b]);
        if (w->ntx[b] > cap) {
            cap = w->ntx[b];
            rc_buf = node_realloc(rc_buf, cap * sizeof(*rc_buf));
        }
        memset(&st, 0, sizeof(st));
        memset(&ei, 0, sizeof(ei));
        rc = parex_engine_execute(e, &head, w->ntx[b] == 0 ? NULL : rc_buf,
            w->ntx[b], &st, &ei, block.p, block.len, PAREX_EXEC_COMMIT);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "bench %s: block %zu (%s): %s: %s "
                "at tx %lld: %s", w->label, b,
                sequential ? "sequential" : "parallel", parex_errname(rc),
                parex_reject_name(ei.reject), (long long)ei.tx_index,
                ei.message);
        }
        for (i = 0; i < w->ntx[b]; i++) {
            if (rc_buf[i].status != PAREX_TX_SUCCESS) {
                out->failed++;
            }
        }
        stats_add(&out->s, &st);
    }
    memcpy(out->root, head.state_root, 32);
    node_buf_release(&block);
    free(rc_buf);
    parex_engine_destroy(e);
    parex_db_close(db);
    if (node_rmtree(dir) != 0) {
        node_warn("%s: cannot remove: %s", dir, strerror(errno));
    }
    free(dir);
}

/* ---- measuring and reporting ----------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct bench_agg {
    uint64_t med, min, max;
} bench_agg;

static bench_agg agg(uint64_t *v, size_t n)
{
    bench_agg a;

    qsort(v, n, sizeof(*v), cmp_u64);
    a.min = v[0];
    a.max = v[n - 1];
    a.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return a;
}

static uint64_t peak_rss_bytes(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (uint64_t)ru.ru_maxrss * 1024u;
}

/* Per thread count (index into bench_opts.threads): speedups over the
 * runs, and speedup / ideal over blocks of at least 100 txs. */
typedef struct bench_summary {
    size_t runs[BENCH_MAX_THREADS], big[BENCH_MAX_THREADS];
    double min_speedup[BENCH_MAX_THREADS], sum_log[BENCH_MAX_THREADS];
    double big_sum_log_frac[BENCH_MAX_THREADS];
    double big_min_frac[BENCH_MAX_THREADS];
    size_t mismatches;
} bench_summary;

static void print_header(const bench_opts *o)
{
    if (o->json) {
        return;
    }
    printf("# parex bench: sync=%s reps=%llu seed=%llu cpus=%u; exec = "
        "analysis+exec+validate+apply, median [min-max] of the reps\n",
        o->sync_name, (unsigned long long)o->reps,
        (unsigned long long)o->seed, node_cpus());
    printf("%-40s %3s %7s %6s %6s %18s %18s %7s %6s %10s %8s\n", "workload",
        "thr", "txs", "batch", "reexec", "seq exec ms", "par exec ms",
        "speedup", "ideal", "e2e tx/s", "rss MiB");
    fflush(stdout);
}

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* Measure one workload at one thread count; returns 0, or 1 on a state
 * root mismatch. */
static int bench_one(const bench_work *w, size_t ti, const bench_opts *o,
    bench_summary *sum)
{
    unsigned threads = o->threads[ti];
    size_t r, k, reps = (size_t)o->reps;
    uint64_t *seq = node_calloc(reps, sizeof(uint64_t));
    uint64_t *par = node_calloc(reps, sizeof(uint64_t));
    uint64_t *tot = node_calloc(reps, sizeof(uint64_t));
    uint64_t *stage[ST_N];
    bench_run rs, rp;
    bench_agg as, ap, at, ag[ST_N];
    double speedup, ideal, tps;
    uint64_t rss, failed = 0;
    int bad = 0;

    for (k = 0; k < ST_N; k++) {
        stage[k] = node_calloc(reps, sizeof(uint64_t));
    }
    /* Warm-up: once each, not counted. */
    bench_execute(&rs, w, 1, threads, o);
    bench_execute(&rp, w, 0, threads, o);
    for (r = 0; r < reps; r++) {
        bench_execute(&rs, w, 1, threads, o);
        bench_execute(&rp, w, 0, threads, o);
        if (memcmp(rs.root, rp.root, 32) != 0) {
            char a[65], b[65];
            node_hex(a, rs.root, 32);
            node_hex(b, rp.root, 32);
            node_warn("bench %s: threads %u: MISMATCH state root: "
                "sequential %s parallel %s", w->label, threads, a, b);
            bad = 1;
        }
        if (rs.failed != rp.failed) {
            node_warn("bench %s: threads %u: MISMATCH failed txs: "
                "sequential %llu parallel %llu", w->label, threads,
                (unsigned long long)rs.failed, (unsigned long long)rp.failed);
            bad = 1;
        }
        failed = rp.failed;
        seq[r] = exec_stage(&rs.s);
        par[r] = exec_stage(&rp.s);
        tot[r] = rp.s.total_ns;
        for (k = 0; k < ST_N; k++) {
            stage[k][r] = stage_of(&rp.s, (int)k);
        }
    }
    as = agg(seq, reps);
    ap = agg(par, reps);
    at = agg(tot, reps);
    for (k = 0; k < ST_N; k++) {
        ag[k] = agg(stage[k], reps);
    }
    speedup = ap.med == 0 ? 0.0 : (double)as.med / (double)ap.med;
    ideal = rp.s.batches == 0 ? 1.0
        : (double)rp.s.txs / (double)rp.s.batches;
    if (ideal > threads) {
        ideal = threads;
    }
    tps = at.med == 0 ? 0.0 : (double)rp.s.txs * 1e9 / (double)at.med;
    rss = peak_rss_bytes();
    if (failed > 0 && strcmp(w->workload, "trace") != 0) {
        node_warn("bench %s: %llu txs failed", w->label,
            (unsigned long long)failed);
    }

    if (o->json) {
        json_t *j = json_object();
        json_t *st = json_object();
        char *s;

        json_object_set_new(j, "workload", json_string(w->workload));
        json_object_set_new(j, "name", json_string(w->label));
        json_object_set_new(j, "accounts", json_integer((json_int_t)
            w->accounts));
        json_object_set_new(j, "block_size", json_integer((json_int_t)
            w->block_size));
        json_object_set_new(j, "blocks", json_integer((json_int_t)
            w->nblocks));
        json_object_set_new(j, "threads", json_integer(threads));
        json_object_set_new(j, "sync", json_string(o->sync_name));
        json_object_set_new(j, "reps", json_integer((json_int_t)reps));
        json_object_set_new(j, "txs", json_integer((json_int_t)rp.s.txs));
        json_object_set_new(j, "failed_txs", json_integer((json_int_t)
            failed));
        json_object_set_new(j, "batches", json_integer((json_int_t)
            rp.s.batches));
        json_object_set_new(j, "reexecutions", json_integer((json_int_t)
            rp.s.reexecutions));
        json_object_set_new(j, "seq_exec_s", json_real((double)as.med / 1e9));
        json_object_set_new(j, "seq_exec_min_s", json_real((double)as.min
            / 1e9));
        json_object_set_new(j, "seq_exec_max_s", json_real((double)as.max
            / 1e9));
        json_object_set_new(j, "par_exec_s", json_real((double)ap.med / 1e9));
        json_object_set_new(j, "par_exec_min_s", json_real((double)ap.min
            / 1e9));
        json_object_set_new(j, "par_exec_max_s", json_real((double)ap.max
            / 1e9));
        json_object_set_new(j, "exec_speedup", json_real(speedup));
        json_object_set_new(j, "ideal_speedup", json_real(ideal));
        json_object_set_new(j, "tps_e2e", json_real(tps));
        json_object_set_new(j, "total_s", json_real((double)at.med / 1e9));
        json_object_set_new(j, "peak_rss_bytes", json_integer((json_int_t)
            rss));
        for (k = 0; k < ST_N; k++) {
            json_object_set_new(st, stage_names[k], json_integer((json_int_t)
                ag[k].med));
        }
        json_object_set_new(j, "stage_ns", st);
        json_object_set_new(j, "roots_match", json_boolean(!bad));
        s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (s == NULL) {
            node_die(NODE_EXIT_RUNTIME, "bench: out of memory");
        }
        puts(s);
        free(s);
        json_decref(j);
    } else {
        char a[32], b[32];

        snprintf(a, sizeof(a), "%.1f [%.1f-%.1f]", ms(as.med), ms(as.min),
            ms(as.max));
        snprintf(b, sizeof(b), "%.1f [%.1f-%.1f]", ms(ap.med), ms(ap.min),
            ms(ap.max));
        printf("%-40.40s %3u %7llu %6llu %6llu %18s %18s %6.2fx %5.2fx "
            "%10.0f %8.1f%s\n", w->label, threads,
            (unsigned long long)rp.s.txs, (unsigned long long)rp.s.batches,
            (unsigned long long)rp.s.reexecutions, a, b, speedup, ideal, tps,
            (double)rss / 1048576.0, bad ? "  MISMATCH" : "");
        printf("    par stages ms:");
        for (k = 0; k < ST_N; k++) {
            printf(" %s %.2f", stage_names[k], ms(ag[k].med));
        }
        printf("\n");
    }
    fflush(stdout);

    sum->runs[ti]++;
    if (sum->runs[ti] == 1 || speedup < sum->min_speedup[ti]) {
        sum->min_speedup[ti] = speedup;
    }
    sum->sum_log[ti] += speedup > 0 ? log(speedup) : 0.0;
    if (rp.s.txs >= 100 * w->nblocks && speedup > 0) {
        double frac = speedup / ideal;
        sum->big[ti]++;
        if (sum->big[ti] == 1 || frac < sum->big_min_frac[ti]) {
            sum->big_min_frac[ti] = frac;
        }
        sum->big_sum_log_frac[ti] += log(frac);
    }
    sum->mismatches += (size_t)bad;
    for (k = 0; k < ST_N; k++) {
        free(stage[k]);
    }
    free(seq);
    free(par);
    free(tot);
    return bad;
}

/* ---- command ---------------------------------------------------------- */

void node_help_bench(FILE *f)
{
    fputs(
"usage: parex bench [--workload p2p|hot|trace] [--accounts N]\n"
"                   [--block-size N] [--blocks N] [--threads LIST]\n"
"                   [--reps N] [--seed N] [--sync full|meta|none] [--json]\n"
"                   [PATH...]\n"
"\n"
"Measure the parallel engine against the sequential reference executor on\n"
"the same blocks and pre-state, in one process. Blocks are generated and\n"
"signed before timing. For every workload and thread count: one warm-up\n"
"run of each, then --reps repetitions, each on fresh stores; the median and\n"
"min-max are reported. The state roots of the two executors must match\n"
"(exit status 1 otherwise).\n"
"\n"
"workloads (deterministic from --seed):\n"
"  p2p    transfers between random accounts: genesis funds --accounts\n"
"         accounts, every tx moves 1 unit from a random sender (consecutive\n"
"         nonces) to a random other account, declaring exactly {sender,\n"
"         recipient} as its write set\n"
"  hot    every tx transfers to one shared recipient (fully sequential)\n"
"  trace  each trace file (PATH, default ../shared/data/traces) as one\n"
"         block, imported as `parex trace import --declare exact` does\n"
"\n"
"With no arguments: a short sweep (p2p with 100 and 100000 accounts at\n"
"block size 10000, hot at block size 10000, and the traces if present).\n"
"\n"
"Per run: txs, batches, re-executions, execution-stage time (conflict\n"
"analysis + execution + validation/re-execution + applying writes) of the\n"
"sequential (seq) and parallel (par) engines, exec speedup = seq / par,\n"
"ideal speedup min(threads, txs / batches), end-to-end tx/s of the parallel\n"
"engine (decode, signatures, execution, root and commit), the split of its\n"
"time into stages, and the peak RSS of the process.\n"
"\n"
"options:\n"
"  --workload W     p2p (default), hot or trace\n"
"  --accounts N     accounts in genesis (default 1000)\n"
"  --block-size N   txs per block (default 10000)\n"
"  --blocks N       blocks per run (default 3)\n"
"  --threads LIST   comma-separated thread counts (default 1 and every\n"
"                   power of two up to the online CPUs)\n"
"  --reps N         timed repetitions (default 3)\n"
"  --seed N         workload seed (default 1)\n"
"  --sync MODE      LMDB durability per commit: full, meta (default), none\n"
"  --json           one JSON object per line per run instead of the table\n"
"\n"
"exit status: 0 ok; 1 a state root differed; 2 usage error; 3 an input\n"
"could not be read; 4 storage, memory or unexpected library error.\n", f);
}

static void parse_threads(bench_opts *o, const char *val)
{
    const char *p = val;

    o->nthreads = 0;
    while (*p != '\0') {
        char buf[32];
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof(buf) || o->nthreads >= BENCH_MAX_THREADS) {
            node_die(NODE_EXIT_USAGE, "bench: bad --threads '%s'", val);
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        o->threads[o->nthreads] = (unsigned)node_opt_u64("--threads", buf,
            4096);
        if (o->threads[o->nthreads] == 0) {
            node_die(NODE_EXIT_USAGE, "bench: --threads must be positive");
        }
        o->nthreads++;
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    if (o->nthreads == 0) {
        node_die(NODE_EXIT_USAGE, "bench: bad --threads '%s'", val);
    }
}

static int run_transfers(const bench_opts *o, const char *workload,
    uint64_t accounts, bench_summary *sum)
{
    bench_work w;
    size_t t;
    int bad = 0;

    px_bench_gen_transfers(&w, workload, accounts, o->block_size, o->blocks, o->seed);
    for (t = 0; t < o->nthreads; t++) {
        bad |= bench_one(&w, t, o, sum);
    }
    px_bench_work_free(&w);
    return bad;
}

static int run_traces(const bench_opts *o, const node_paths *ps,
    bench_summary *sum, int *load_errors)
{
    size_t i, t;
    int bad = 0;

    for (i = 0; i < ps->n; i++) {
        bench_work w;
        if (!node_is_trace(ps->v[i])) {
            continue;
        }
        if (px_bench_gen_trace(&w, ps->v[i]) != 0) {
            *load_errors = 1;
            continue;
        }
        for (t = 0; t < o->nthreads; t++) {
            bad |= bench_one(&w, t, o, sum);
        }
        px_bench_work_free(&w);
    }
    return bad;
}

static void print_summary(const bench_opts *o, const char *what,
    const bench_summary *s)
{
    size_t t;

    if (o->json) {
        return;
    }
    for (t = 0; t < o->nthreads; t++) {
        if (s->runs[t] == 0) {
            continue;
        }
        printf("# %s, %u threads: %zu runs, exec speedup geomean %.2fx, "
            "min %.2fx", what, o->threads[t], s->runs[t],
            exp(s->sum_log[t] / (double)s->runs[t]), s->min_speedup[t]);
        if (s->big[t] > 0) {
            printf("; blocks >= 100 txs: %zu, speedup/ideal geomean %.2f, "
                "min %.2f", s->big[t],
                exp(s->big_sum_log_frac[t] / (double)s->big[t]),
                s->big_min_frac[t]);
        }
        printf("\n");
    }
    printf("# %s: %zu state root mismatches\n", what, s->mismatches);
    fflush(stdout);
}

int node_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    node_paths ps = {0};
    char err[NODE_ERR_LEN];
    const char *val, *workload = NULL;
    bench_summary sum;
    int k, npaths = 0, bad = 0, load_errors = 0, sweep = argc < 2;
    int have_accounts = 0;
    unsigned c;

    if (node_wants_help(argc, argv)) {
        node_help_bench(stdout);
        return NODE_EXIT_OK;
    }
    memset(&o, 0, sizeof(o));
    o.accounts = 1000;
    o.block_size = 10000;
    o.blocks = 3;
    o.seed = 1;
    o.reps = 3;
    o.sync = PAREX_SYNC_META;
    o.sync_name = "meta";
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--workload", &val)) {
            if (strcmp(val, "p2p") != 0 && strcmp(val, "hot") != 0 &&
                    strcmp(val, "trace") != 0) {
                node_die(NODE_EXIT_USAGE, "bench: unknown workload '%s' "
                    "(p2p, hot or trace)", val);
            }
            workload = val;
        } else if (node_opt_value(argc, argv, &k, "--accounts", &val)) {
            o.accounts = node_opt_u64("--accounts", val, UINT64_C(1) << 26);
            have_accounts = 1;
        } else if (node_opt_value(argc, argv, &k, "--block-size", &val)) {
            o.block_size = node_opt_u64("--block-size", val,
                UINT64_C(1) << 24);
        } else if (node_opt_value(argc, argv, &k, "--blocks", &val)) {
            o.blocks = node_opt_u64("--blocks", val, 100000);
        } else if (node_opt_value(argc, argv, &k, "--threads", &val)) {
            parse_threads(&o, val);
        } else if (node_opt_value(argc, argv, &k, "--reps", &val)) {
            o.reps = node_opt_u64("--reps", val, 1000);
            if (o.reps == 0) {
                node_die(NODE_EXIT_USAGE, "bench: --reps must be positive");
            }
        } else if (node_opt_value(argc, argv, &k, "--seed", &val)) {
            o.seed = node_opt_u64("--seed", val, UINT64_MAX);
        } else if (node_opt_value(argc, argv, &k, "--sync", &val)) {
            o.sync = node_opt_sync(val);
            o.sync_name = val;
        } else if (strcmp(argv[k], "--json") == 0) {
            o.json = 1;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            node_die(NODE_EXIT_USAGE, "bench: unknown option '%s'", argv[k]);
        } else {
            if (node_paths_add(&ps, err, argv[k]) != 0) {
                node_die(NODE_EXIT_INPUT, "%s", err);
            }
            npaths++;
        }
    }
    if (o.nthreads == 0) {
        o.threads[o.nthreads++] = 1;
        for (c = 2; c <= node_cpus() && o.nthreads < BENCH_MAX_THREADS;
                c *= 2) {
            o.threads[o.nthreads++] = c;
        }
    }
    if (npaths > 0) {
        if (workload != NULL && strcmp(workload, "trace") != 0) {
            node_die(NODE_EXIT_USAGE, "bench: paths are only for --workload "
                "trace");
        }
        workload = "trace";
    }
    print_header(&o);
    if (sweep) {
        memset(&sum, 0, sizeof(sum));
        bad |= run_transfers(&o, "p2p", 100, &sum);
        bad |= run_transfers(&o, "p2p", 100000, &sum);
        print_summary(&o, "p2p", &sum);
        memset(&sum, 0, sizeof(sum));
        bad |= run_transfers(&o, "hot", 1000, &sum);
        print_summary(&o, "hot", &sum);
        memset(&sum, 0, sizeof(sum));
        if (node_paths_add(&ps, err, "../shared/data/traces") == 0) {
            bad |= run_traces(&o, &ps, &sum, &load_errors);
            print_summary(&o, "trace", &sum);
        } else if (!o.json) {
            printf("# trace: skipped (%s)\n", err);
        }
    } else if (workload == NULL || strcmp(workload, "trace") != 0) {
        memset(&sum, 0, sizeof(sum));
        bad |= run_transfers(&o, workload == NULL ? "p2p" : workload,
            have_accounts || workload == NULL ||
            strcmp(workload, "hot") != 0 ? o.accounts : 1000, &sum);
        print_summary(&o, workload == NULL ? "p2p" : workload, &sum);
    } else {
        memset(&sum, 0, sizeof(sum));
        if (npaths == 0 && node_paths_add(&ps, err,
                "../shared/data/traces") != 0) {
            node_die(NODE_EXIT_INPUT, "%s", err);
        }
        bad |= run_traces(&o, &ps, &sum, &load_errors);
        print_summary(&o, "trace", &sum);
    }
    node_paths_release(&ps);
    if (load_errors) {
        return NODE_EXIT_INPUT;
    }
    return bad ? NODE_EXIT_MISMATCH : NODE_EXIT_OK;
}
