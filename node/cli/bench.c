/* `parex bench`: the sequential reference and the parallel engine side by
 * side on the same blocks and pre-state, in one process.
 *
 * This file reads the command line and turns it into a list of jobs (one
 * workload each), then measures every job at every thread count. Every
 * workload is generated (and signed) before timing; see bench.h for the
 * modules.
 */
#include "cli.h"
#include "bench/bench.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One workload of the sweep. */
typedef struct bench_job {
    const char *workload;    /* p2p, hot, trace */
    const char *group;       /* summary line it counts towards */
    uint64_t accounts, block_size, blocks;
    double zipf;
    const char *path;        /* trace file */
} bench_job;

typedef struct bench_jobs {
    bench_job *v;
    size_t n, cap;
} bench_jobs;

static void job_add(bench_jobs *js, const char *workload, const char *group,
    uint64_t accounts, uint64_t block_size, uint64_t blocks, double zipf,
    const char *path)
{
    bench_job *j;

    if (js->n == js->cap) {
        js->cap = js->cap == 0 ? 16 : 2 * js->cap;
        js->v = node_realloc(js->v, js->cap * sizeof(*js->v));
    }
    j = &js->v[js->n++];
    j->workload = workload;
    j->group = group;
    j->accounts = accounts;
    j->block_size = block_size;
    j->blocks = blocks;
    j->zipf = zipf;
    j->path = path;
}

/* ---- help ------------------------------------------------------------- */

void node_help_bench(FILE *f)
{
    fputs(
"usage: parex bench [--workload p2p|hot|trace] [--accounts LIST]\n"
"                   [--block-size LIST] [--blocks N] [--threads LIST]\n"
"                   [--zipf S] [--tx-work US] [--reps N] [--seed N]\n"
"                   [--sync full|meta|none] [--json] [--details]\n"
"                   [--plot FILE.png] [--progress|--no-progress]\n"
"                   [--no-profile] [--no-pipeline] [--rss-blocks N]\n"
"                   [--scaling] [--bal] [--cold] [PATH...]\n"
"       parex bench --replot FILE.jsonl --plot FILE.png\n"
"\n"
"Measure the parallel engine against the sequential reference executor on\n"
"the same blocks and pre-state, in one process. Blocks are generated and\n"
"signed before timing. For every workload and thread count: one warm-up\n"
"run of each, then --reps repetitions, each on fresh stores, the engine\n"
"that runs first alternating between them; the median and\n"
"min-max are reported. The state roots of the two executors must match\n"
"(exit status 1 otherwise). Steady state, as a node runs one engine for\n"
"many blocks: in every run, each engine (sequential and parallel alike)\n"
"first executes the run's block 0 once, untimed, and aborts it, so that\n"
"its buffers and the store's pages are warm (--cold: a fresh engine per\n"
"run, as before). The JSON names the method (engine_state) and gives the\n"
"minor page faults of each engine's execute calls (seq_page_faults,\n"
"par_page_faults: the whole process', the fewest over the reps).\n"
"\n"
"workloads (deterministic from --seed):\n"
"  p2p    transfers between accounts: genesis funds --accounts accounts,\n"
"         every tx moves 1 unit from a sender (consecutive nonces) to a\n"
"         different recipient, both uniform at random, or both Zipf(S)\n"
"         distributed over the accounts with --zipf S; the write set is\n"
"         exactly {sender, recipient}\n"
"  hot    every tx transfers to one shared recipient (fully sequential)\n"
"  trace  each trace file (PATH, default ../shared/data/traces) as one\n"
"         block, imported as `parex trace import --declare exact` does\n"
"\n"
"With no workload options: a short sweep (about 30 s on two idle cores) at\n"
"the largest power-of-two thread count up to the CPUs: one 10000-tx block\n"
"each of p2p with 100 and 100000 accounts and of hot, and the traces if\n"
"present; one table row per run, then one summary table. --accounts and\n"
"--block-size take comma-separated lists and run every combination (the\n"
"Block-STM grid is --accounts 2,10,100,1000,10000,100000 --block-size\n"
"1000,10000).\n"
"\n"
"Per run (one table row): txs, batches, re-executions, the execution stage\n"
"(conflict analysis + execution + validation/re-execution + applying\n"
"writes) of the sequential (seq ms) and parallel (par ms) engines, speedup\n"
"= seq / par, the dependency-graph bound and speedup / bound, fallback (why\n"
"the engine ran blocks sequentially: one thread, narrow, calibration),\n"
"end-to-end tx/s and its fraction of the signature bound, min(threads,\n"
"CPUs) / (one Schnorr verification on one core), which no engine\n"
"verifying every signature exceeds. --details adds the min-max, stages,\n"
"ideal speedup min(threads, txs / batches), RSS and projections. The\n"
"summary: geomean and min of speedup and speedup / bound for p2p, hot,\n"
"all real blocks, those of >= 100 txs, and those without the eight\n"
"essentially sequential Ethereum blocks of ../shared/data/README.md.\n"
"\n", f);
    fputs(
"Dependency-graph bound and projection: three more runs per workload (one\n"
"thread, untimed, never fallen back to the sequential executor) record\n"
"every tx's execution time, of which each tx keeps its minimum. The bound:\n"
"each block's dependency graph (tx j after the last earlier writer of\n"
"each key it touches and, when it writes the key, after the readers since;\n"
"its account counts as written) scheduled by list scheduling on the run's\n"
"thread count without barriers, the ready tx of lowest index first; bound\n"
"= sum of the tx times / makespan. The projection: each block's batches\n"
"scheduled greedily in block order on 4, 8, 16, 32 and 64 workers with a\n"
"barrier between batches (a makespan); projected speedup = sum of the tx\n"
"times / makespan (ideal: min(P, txs / batches)).\n"
"\n"
"--tx-work US: every tx first runs a chain of SHA-256 steps, calibrated\n"
"once per run to take about US microseconds on one core, then its\n"
"program (the harness registers its own transfer and trace programs with\n"
"the same semantics); state and roots are those without --tx-work.\n"
"\n", f);
    fputs(
"--bal: block access lists. Each workload's blocks are first run once on\n"
"the parallel engine with BAL recording and sealed with their BAL; then\n"
"per repetition the sequential reference runs the plain blocks, the\n"
"parallel engine validates the sealed ones (BAL mode: every tx at once),\n"
"and production runs the plain blocks on the parallel engine with BAL\n"
"recording off and on (alternating which goes first; signatures taken as\n"
"verified, as the node's producer does). The par columns and the\n"
"summary's speedups are then BAL validation's; under each row: the BAL's\n"
"bytes per tx (trailer included) and the end-to-end production time with\n"
"recording on / off (with --details, production's stages off -> on: the\n"
"recording, the BAL's hash and its bytes are in commit, beside the\n"
"store's writes, from 2 threads; with one, in apply, root and commit;\n"
"JSON prod_stage_ns); a table per chain (a trace's directory, else the\n"
"workload) of bytes per tx and that ratio. All four runs must reach the\n"
"same state root. Combines with --tx-work. Both sides' execution stage\n"
"times the same work: BAL validation's analysis is decoding the BAL and\n"
"indexing its writes (in place of conflict analysis); on both sides the\n"
"state root's update is the root stage's, outside the span, as is hashing\n"
"the BAL into the tx root (beside the state root's update).\n"
"\n", f);
    fputs(
"options:\n"
"  --workload W     p2p (default), hot or trace\n"
"  --accounts LIST  accounts in genesis (default 1000)\n"
"  --block-size LIST txs per block (default 10000)\n"
"  --blocks N       blocks per run (default 3; the sweep 1)\n"
"  --threads LIST   comma-separated thread counts (default 1 and every\n"
"                   power of two up to the online CPUs; the sweep without\n"
"                   --plot: the largest of them)\n"
"  --zipf S         p2p senders and recipients Zipf(S), 0 < S <= 10\n"
"  --tx-work US     extra work per tx, about US microseconds (0-100000;\n"
"                   default 0: none)\n"
"  --reps N         timed repetitions (default 3)\n"
"  --min-time MS    execute each block this many ms per run at least\n"
"                   (default 5; 0: once): a block whose sequential\n"
"                   execution stage took t in the warm-up runs\n"
"                   min(64, MS / t + 1) times (rounded down) per run on each engine, all\n"
"                   but the last without commit and aborted, and the\n"
"                   run's execution figures are the median execution's\n"
"                   (not for pipelined or BAL-recording runs)\n"
"  --seed N         workload seed (default 1)\n"
"  --sync MODE      LMDB durability per commit: full (fsync data and meta\n"
"                   page), meta (default; LMDB's MDB_NOMETASYNC) or none\n"
"                   (MDB_NOSYNC); the report names the mode used\n"
"  --json           one JSON object per line per run instead of the table\n"
"  --details        under each table row: min-max, stages, ideal, RSS,\n"
"                   the signature bound and the projection\n"
"  --plot FILE      draw tx/s and speedup against threads and accounts\n"
"                   into a PNG (needs gnuplot)\n"
"  --progress       a progress line on stderr (default: when stderr is a\n"
"                   terminal); --no-progress: never\n"
"  --no-profile     skip the projection: one profiled pass (not three)\n"
"                   for the per-tx costs of the dependency-graph bound\n"
"  --no-pipeline    end to end without block pipelining: each block's\n"
"                   decode and signatures inside its execute call, the\n"
"                   end-to-end time the sum of the blocks' total_ns. By\n"
"                   default a run of more than one block also runs\n"
"                   pipelined (both engines): block b+1 is prepared\n"
"                   (decode, ids, signatures) on the cores the engine\n"
"                   leaves over (at least one thread, at the lowest\n"
"                   priority; the engine checks what it has not) while\n"
"                   block b executes, roots and commits, and end to end\n"
"                   is the wall time of the run's blocks; execution\n"
"                   figures and --details' unpipelined e2e come from the\n"
"                   unpipelined runs of the same reps\n"
"  --bal            measure BAL validation and BAL recording (above)\n"
"  --cold           no warm-up execution per engine: each run's engines\n"
"                   start cold (first-touch page faults in the blocks)\n"
"  --replot FILE    draw the lines of an earlier --json run (FILE) with\n"
"                   --plot instead of measuring\n"
"  --rss-blocks N   instead of timing: run N consecutive blocks (default\n"
"                   block size 1000) on one parallel engine per thread\n"
"                   count and report the RSS after block 5 and block N\n"
"  --scaling        time per tx at the smallest and largest --block-size\n"
"                   (default 1000 and 100000), the same number of txs each\n"
"\n"
"exit status: 0 ok; 1 a state root differed; 2 usage error; 3 an input\n"
"could not be read; 4 storage, memory or unexpected library error, or\n"
"--plot failed.\n", f);
}

/* ---- options ---------------------------------------------------------- */

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

/* A comma-separated list of positive integers <= max. */
static size_t parse_list(uint64_t *out, const char *name, const char *val,
    uint64_t min, uint64_t max)
{
    const char *p = val;
    size_t n = 0;

    while (*p != '\0') {
        char buf[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(buf) || n >= BENCH_MAX_LIST) {
            node_die(NODE_EXIT_USAGE, "bench: bad %s '%s' (a comma-separated "
                "list of at most %d numbers)", name, val, BENCH_MAX_LIST);
        }
        memcpy(buf, p, len);
        buf[len] = '\0';
        out[n] = node_opt_u64(name, buf, max);
        if (out[n] < min) {
            node_die(NODE_EXIT_USAGE, "bench: %s must be at least %llu",
                name, (unsigned long long)min);
        }
        n++;
        p += len;
        if (*p == ',') {
            p++;
        }
    }
    if (n == 0) {
        node_die(NODE_EXIT_USAGE, "bench: bad %s '%s'", name, val);
    }
    return n;
}

static double parse_zipf(const char *val)
{
    char *end;
    double s;

    errno = 0;
    s = strtod(val, &end);
    /* Above 10 the tail's probabilities underflow next to rank 0 and the
     * recipient (which must differ from the sender) could not be drawn. */
    if (errno != 0 || end == val || *end != '\0' || !(s > 0) || s > 10) {
        node_die(NODE_EXIT_USAGE, "bench: --zipf: '%s' is not a number in "
            "(0, 10]", val);
    }
    return s;
}

static double parse_min_time(const char *val)
{
    char *end;
    double ms;

    errno = 0;
    ms = strtod(val, &end);
    if (errno != 0 || end == val || *end != '\0' || !(ms >= 0) ||
            ms > 10000) {
        node_die(NODE_EXIT_USAGE, "bench: --min-time: '%s' is not a number "
            "of milliseconds in [0, 10000]", val);
    }
    return ms;
}

static double parse_tx_work(const char *val)
{
    char *end;
    double us;

    errno = 0;
    us = strtod(val, &end);
    if (errno != 0 || end == val || *end != '\0' || !(us >= 0) ||
            us > 100000) {
        node_die(NODE_EXIT_USAGE, "bench: --tx-work: '%s' is not a number "
            "of microseconds in [0, 100000]", val);
    }
    return us;
}

/* ---- running ---------------------------------------------------------- */

typedef struct bench_results {
    bench_result *v;
    size_t n, cap;
} bench_results;

static bench_result *result_new(bench_results *rs)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap == 0 ? 16 : 2 * rs->cap;
        rs->v = node_realloc(rs->v, rs->cap * sizeof(*rs->v));
    }
    return &rs->v[rs->n++];
}

/* Generate the job's workload; returns 0, or -1 (a trace that would not
 * load; warned). */
static int job_work(bench_work *w, const bench_job *j, const bench_opts *o)
{
    if (j->path != NULL) {
        return px_bench_gen_trace(w, j->path);
    }
    px_bench_gen_transfers(w, j->workload, j->accounts, j->block_size,
        j->blocks, o->seed, j->zipf);
    return 0;
}

static int run_jobs(const bench_opts *o, const bench_jobs *js,
    bench_results *all, int *load_errors)
{
    bench_progress pg;
    size_t i, t, group_start = 0;
    int bad = 0;

    memset(&pg, 0, sizeof(pg));
    pg.tty = isatty(STDERR_FILENO);
    pg.on = o->progress;
    pg.total = js->n * (o->nthreads);
    pg.t0_ns = node_now_ns();
    for (i = 0; i < js->n; i++) {
        const bench_job *j = &js->v[i];
        bench_work w;

        pg.label = j->path != NULL ? j->path : j->workload;
        pg.threads = o->threads[0];
        px_bench_progress_update(&pg, "generating", 0, 1);
        if (job_work(&w, j, o) != 0) {
            *load_errors = 1;
            pg.done += o->nthreads;
            continue;
        }
        w.work_hashes = o->tx_work_hashes;
        pg.label = w.label;
        for (t = 0; t < o->nthreads; t++) {
            pg.threads = o->threads[t];
            if (o->rss_blocks > 0) {
                bench_rss r;
                px_bench_rss(&r, &w, o->threads[t], o, &pg);
                px_bench_progress_clear(&pg);
                px_bench_print_rss(o, &w, &r);
            } else {
                bench_result *r = result_new(all);
                px_bench_measure(r, &w, o->threads[t], o, &pg);
                px_bench_progress_clear(&pg);
                px_bench_print_result(o, r);
                bad |= !r->roots_match;
            }
            pg.done++;
        }
        px_bench_work_free(&w);
        /* The scaling report after the last job of its group. */
        if (o->rss_blocks == 0 && o->scaling && (i + 1 == js->n ||
                strcmp(js->v[i + 1].group, j->group) != 0)) {
            px_bench_print_scaling(o, all->v + group_start,
                all->n - group_start);
            group_start = all->n;
        }
    }
    px_bench_progress_clear(&pg);
    /* One summary table after every run. */
    if (o->rss_blocks == 0) {
        px_bench_print_summary(o, all->v, all->n);
    }
    return bad;
}

int node_cmd_bench(int argc, char **argv)
{
    bench_opts o;
    bench_jobs js = {0};
    bench_results all = {0};
    node_paths ps = {0};
    char err[NODE_ERR_LEN];
    const char *val, *workload = NULL;
    int k, bad = 0, load_errors = 0, have_zipf = 0, have_blocks = 0;
    int progress = -1, sweep;
    size_t a, b, i;
    unsigned c;

    if (node_wants_help(argc, argv)) {
        node_help_bench(stdout);
        return NODE_EXIT_OK;
    }
    memset(&o, 0, sizeof(o));
    o.blocks = 3;
    o.seed = 1;
    o.reps = 3;
    o.min_time_ms = 5;
    o.sync = PAREX_SYNC_META;
    o.sync_name = "meta";
    o.profile = 1;
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--workload", &val)) {
            if (strcmp(val, "p2p") != 0 && strcmp(val, "hot") != 0 &&
                    strcmp(val, "trace") != 0) {
                node_die(NODE_EXIT_USAGE, "bench: unknown workload '%s' "
                    "(p2p, hot or trace)", val);
            }
            workload = val;
        } else if (node_opt_value(argc, argv, &k, "--accounts", &val)) {
            o.naccounts = parse_list(o.accounts, "--accounts", val, 2,
                UINT64_C(1) << 26);
        } else if (node_opt_value(argc, argv, &k, "--block-size", &val)) {
            o.nblock_sizes = parse_list(o.block_sizes, "--block-size", val,
                0, 1000000);
        } else if (node_opt_value(argc, argv, &k, "--blocks", &val)) {
            o.blocks = node_opt_u64("--blocks", val, 100000);
            have_blocks = 1;
        } else if (node_opt_value(argc, argv, &k, "--threads", &val)) {
            parse_threads(&o, val);
        } else if (node_opt_value(argc, argv, &k, "--tx-work", &val)) {
            o.tx_work_us = parse_tx_work(val);
        } else if (node_opt_value(argc, argv, &k, "--zipf", &val)) {
            o.zipf = parse_zipf(val);
            have_zipf = 1;
        } else if (node_opt_value(argc, argv, &k, "--min-time", &val)) {
            o.min_time_ms = parse_min_time(val);
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
        } else if (node_opt_value(argc, argv, &k, "--plot", &val)) {
            if (val[0] == '\0' || strpbrk(val, "\"\\\n") != NULL) {
                node_die(NODE_EXIT_USAGE, "bench: --plot: '%s' is not a "
                    "usable file name (no quotes, backslashes or newlines)",
                    val);
            }
            o.plot = val;
        } else if (node_opt_value(argc, argv, &k, "--rss-blocks", &val)) {
            o.rss_blocks = node_opt_u64("--rss-blocks", val, 100000);
            if (o.rss_blocks == 0) {
                node_die(NODE_EXIT_USAGE, "bench: --rss-blocks must be "
                    "positive");
            }
        } else if (node_opt_value(argc, argv, &k, "--replot", &val)) {
            o.replot = val;
        } else if (strcmp(argv[k], "--scaling") == 0) {
            o.scaling = 1;
        } else if (strcmp(argv[k], "--details") == 0) {
            o.details = 1;
        } else if (strcmp(argv[k], "--json") == 0) {
            o.json = 1;
        } else if (strcmp(argv[k], "--progress") == 0) {
            progress = 1;
        } else if (strcmp(argv[k], "--no-progress") == 0) {
            progress = 0;
        } else if (strcmp(argv[k], "--cold") == 0) {
            o.cold = 1;
        } else if (strcmp(argv[k], "--no-profile") == 0) {
            o.profile = 0;
        } else if (strcmp(argv[k], "--no-pipeline") == 0) {
            o.no_pipeline = 1;
        } else if (strcmp(argv[k], "--bal") == 0) {
            o.bal = 1;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            node_die(NODE_EXIT_USAGE, "bench: unknown option '%s'", argv[k]);
        } else {
            if (node_paths_add(&ps, err, argv[k]) != 0) {
                node_die(NODE_EXIT_INPUT, "%s", err);
            }
            if (workload != NULL && strcmp(workload, "trace") != 0) {
                node_die(NODE_EXIT_USAGE, "bench: paths are only for "
                    "--workload trace");
            }
            workload = "trace";
        }
    }
    o.progress = progress >= 0 ? progress : isatty(STDERR_FILENO);
    sweep = workload == NULL && o.naccounts == 0 && o.nblock_sizes == 0 &&
        !have_zipf && o.rss_blocks == 0 && !o.scaling && o.replot == NULL;
    o.sweep = sweep;
    if (o.nthreads == 0) {
        /* 1 and every power of two up to the CPUs. The sweep measures
         * the largest only (at one thread the engine runs every block
         * sequentially), unless it is to be plotted against threads. */
        o.threads[o.nthreads++] = 1;
        for (c = 2; c <= node_cpus() && o.nthreads < BENCH_MAX_THREADS;
                c *= 2) {
            o.threads[o.nthreads++] = c;
        }
        if (sweep && o.plot == NULL) {
            o.threads[0] = o.threads[o.nthreads - 1];
            o.nthreads = 1;
        }
    }
    if (workload != NULL && strcmp(workload, "trace") == 0 &&
            (o.naccounts > 0 || o.nblock_sizes > 0 || have_zipf ||
             o.rss_blocks > 0 || o.scaling)) {
        node_die(NODE_EXIT_USAGE, "bench: --accounts, --block-size, --zipf, "
            "--rss-blocks and --scaling are for the p2p and hot workloads");
    }
    if (have_zipf && workload != NULL && strcmp(workload, "hot") == 0) {
        node_die(NODE_EXIT_USAGE, "bench: --zipf is for the p2p workload "
            "(hot has one recipient)");
    }
    if (o.rss_blocks > 0 && (o.scaling || have_blocks || o.plot != NULL)) {
        node_die(NODE_EXIT_USAGE, "bench: --rss-blocks sets the block count; "
            "it does not combine with --blocks, --scaling or --plot");
    }
    if (o.scaling && o.naccounts > 1) {
        node_die(NODE_EXIT_USAGE, "bench: --scaling compares block sizes at "
            "one --accounts value");
    }
    if (o.bal && o.rss_blocks > 0) {
        node_die(NODE_EXIT_USAGE, "bench: --bal measures validation and "
            "production; it does not combine with --rss-blocks");
    }
    if (o.replot != NULL && o.plot == NULL) {
        node_die(NODE_EXIT_USAGE, "bench: --replot FILE needs --plot OUT.png");
    }
    if (o.plot != NULL) {
        px_bench_plot_check();
    }
    if (o.replot != NULL) {
        k = px_bench_replot(o.replot, o.plot, &o);
        return k == 0 ? NODE_EXIT_OK : k == -1 ? NODE_EXIT_INPUT
            : NODE_EXIT_RUNTIME;
    }
    o.tx_work_hashes = px_bench_work_calibrate(o.tx_work_us);

    if (sweep) {
        /* One 10,000-tx block each unless --blocks says otherwise: the
         * sweep is the short look (about 30 s on 2 idle cores). */
        uint64_t nb = have_blocks ? o.blocks : 1;
        job_add(&js, "p2p", "p2p", 100, 10000, nb, 0, NULL);
        job_add(&js, "p2p", "p2p", 100000, 10000, nb, 0, NULL);
        job_add(&js, "hot", "hot", 1000, 10000, nb, 0, NULL);
        if (node_paths_add(&ps, err, "../shared/data/traces") != 0 &&
                !o.json) {
            printf("# trace: skipped (%s)\n", err);
        }
    } else if (workload != NULL && strcmp(workload, "trace") == 0) {
        if (ps.n == 0 && node_paths_add(&ps, err,
                "../shared/data/traces") != 0) {
            node_die(NODE_EXIT_INPUT, "%s", err);
        }
    } else {
        const char *wl = workload == NULL ? "p2p" : workload;
        uint64_t top = 0;
        if (o.naccounts == 0) {
            o.accounts[o.naccounts++] = 1000;
        }
        if (o.nblock_sizes == 0 && o.scaling) {
            o.block_sizes[o.nblock_sizes++] = 1000;
            o.block_sizes[o.nblock_sizes++] = 100000;
        } else if (o.nblock_sizes == 0) {
            o.block_sizes[o.nblock_sizes++] = o.rss_blocks > 0 ? 1000 : 10000;
        }
        for (b = 0; b < o.nblock_sizes; b++) {
            top = o.block_sizes[b] > top ? o.block_sizes[b] : top;
        }
        for (a = 0; a < o.naccounts; a++) {
            for (b = 0; b < o.nblock_sizes; b++) {
                uint64_t nb = o.blocks;
                /* --scaling: the same number of txs at every size. */
                if (o.scaling) {
                    nb = o.block_sizes[b] == 0 ? 1
                        : top / o.block_sizes[b];
                    nb = nb == 0 ? 1 : nb;
                } else if (o.rss_blocks > 0) {
                    nb = o.rss_blocks;
                }
                job_add(&js, wl, o.scaling ? "scaling" : wl, o.accounts[a],
                    o.block_sizes[b], nb, o.zipf, NULL);
            }
        }
    }
    for (i = 0; i < ps.n; i++) {
        if (node_is_trace(ps.v[i])) {
            job_add(&js, "trace", "trace", 0, 0, 1, 0, ps.v[i]);
        }
    }
    px_bench_print_header(&o);
    bad = run_jobs(&o, &js, &all, &load_errors);
    if (o.plot != NULL && all.n > 0 && px_bench_plot(o.plot, &o, all.v,
            all.n) != 0) {
        bad |= 2;
    }
    free(all.v);
    free(js.v);
    node_paths_release(&ps);
    if (bad & 2) {
        return NODE_EXIT_RUNTIME;
    }
    if (load_errors) {
        return NODE_EXIT_INPUT;
    }
    return bad ? NODE_EXIT_MISMATCH : NODE_EXIT_OK;
}
