/* node/bench/: the harness of `parex bench` (its command line, the list of
 * jobs and the sweep are the command's, node/cli/bench.c). Its own static
 * library; it includes only node/formats/ and calls in one direction
 * (each file only those above it):
 *
 * bench_sched.c  the batch-schedule makespan projection, the dependency
 *                graph and its makespan, Zipf sampling (pure functions,
 *                unit-tested)
 * bench_work.c   workloads (p2p, Zipf-skewed p2p, hot, traces), generated
 *                and signed before any timing
 * bench_txwork.c --tx-work: the calibrated SHA-256 chain and the programs
 *                that add it to every tx
 * bench_exec.c   one run of a workload on a fresh store, the stage names,
 *                the process' memory figures
 * bench_prof.c   the projection: profiled one-thread runs replayed by
 *                bench_sched.c
 * bench_report.c the table, JSON lines, summaries and the progress line
 * bench_run.c    one measured workload: warm-up, repetitions, the profiled
 *                runs, the signature bound, RSS over many blocks
 * bench_plot.c   --plot and --replot through gnuplot
 *
 * Only the parallel engine's figures are split into stages; the sequential
 * reference supplies the baseline of every speedup.
 */
#ifndef PX_NODE_BENCH_H
#define PX_NODE_BENCH_H

#include "formats/node.h"

#define BENCH_MAX_THREADS 64
#define BENCH_MAX_LIST 16
/* Thread counts the batch-schedule projection is computed for. */
#define BENCH_NPROJ 5
/* The most executions of one block per run (--min-time). */
#define BENCH_MAX_INNER 64
extern const unsigned px_bench_proj_threads[BENCH_NPROJ];

typedef struct bench_opts {
    uint64_t accounts[BENCH_MAX_LIST];
    size_t naccounts;
    uint64_t block_sizes[BENCH_MAX_LIST];
    size_t nblock_sizes;
    uint64_t blocks, seed, reps;
    uint64_t rss_blocks;     /* nonzero: the RSS report over that many blocks */
    int scaling;             /* the time-per-tx report over block sizes */
    double zipf;             /* 0: uniform */
    double tx_work_us;       /* --tx-work: extra work per tx, us */
    uint64_t tx_work_hashes; /* its calibrated SHA-256 chain length */
    int details;             /* --details: per run, the stage split etc. */
    int sweep;               /* no workload options: the short sweep */
    unsigned threads[BENCH_MAX_THREADS];
    size_t nthreads;
    parex_sync sync;
    const char *sync_name;
    int json;
    int progress;            /* the progress line on stderr */
    int profile;             /* the profiled runs (projection) */
    int bal;                 /* --bal: the parallel side is BAL validation
                                of blocks sealed with their BAL, and the
                                production cost with recording on/off */
    const char *plot;        /* PNG to draw, or NULL */
    const char *replot;      /* --json output to draw instead of measuring */
    int no_pipeline;         /* --no-pipeline: end-to-end runs unpipelined */
    int cold;                /* --cold: no warm-up execution per engine */
    double min_time_ms;      /* --min-time: each block's execution stage
                                timed this long per run at least (repeated,
                                aborted, bench_exec.c); 0: once */
    char replot_sync[16];
} bench_opts;

/* A generated workload: genesis pairs and signed blocks. */
typedef struct bench_work {
    const char *workload;    /* "p2p", "hot" or "trace" */
    char label[256];
    uint64_t accounts, block_size;
    double zipf;
    size_t nkv;
    parex_kv *kvs;
    uint8_t fee[32];
    size_t nblocks;
    size_t *ntx;
    node_txbytes **txs;
    uint64_t verify_ps;      /* Schnorr verify per signature per core, ps;
                                0 until measured */
    int seq_listed;          /* one of the eight essentially sequential
                                Ethereum blocks (bench_work.c) */
    uint64_t work_hashes;    /* --tx-work: SHA-256 steps per tx; 0: none */
    int proj_state;          /* 0 not yet profiled, 1 done, -1 failed */
    double proj_speedup[BENCH_NPROJ], proj_ideal[BENCH_NPROJ];
    /* Kept from the profiled runs, per block: each tx's minimum
     * execution time and the dependency graph of the declared sets. */
    uint64_t **tx_ns;
    struct bench_dag *dag;
    uint64_t dag_depth;      /* sum over blocks of the longest chain */
    /* --bal: each block sealed with its recorded BAL (NULL until
     * px_bench_measure() records them), and the bytes the trailers add
     * (BAL and its 8 framing bytes), summed over the blocks. */
    node_buf *sealed;
    uint64_t bal_bytes;
} bench_work;

/** p2p: a sender to a different recipient, both uniform over the accounts,
 *  or both Zipf(zipf) distributed when zipf > 0; hot: a uniform sender to
 *  one fixed recipient that is not an account of genesis. Deterministic
 *  from seed (and zipf). Dies on usage errors (accounts < 2). */
void px_bench_gen_transfers(bench_work *w, const char *workload,
    uint64_t accounts, uint64_t block_size, uint64_t nblocks, uint64_t seed,
    double zipf);
/** 1 when label ("ethereum/5891667.jsonl") names one of the eight
 *  essentially sequential Ethereum blocks of ../shared/data/README.md. */
int px_bench_seq_listed(const char *label);
/** One trace file as one block. Returns 0, or -1 after a warning. */
int px_bench_gen_trace(bench_work *w, const char *file);
void px_bench_work_free(bench_work *w);

/* ---- bench_sched.c ---------------------------------------------------- */

/** Makespan of one block's batch schedule on `threads` workers: batches run
 *  in order with a barrier between them; within a batch the txs are taken
 *  in block order and each goes to the worker that becomes free first
 *  (greedy list scheduling, Graham 1966). batch[i] and ns[i] are tx i's
 *  batch (every batch[i] < n) and execution time. scratch holds
 *  2n + threads + 1 entries. Returns the makespan in the unit of ns; 0 for
 *  n == 0, threads == 0 or a batch[i] >= n. */
uint64_t px_bench_makespan(const uint32_t *batch, const uint64_t *ns,
    size_t n, unsigned threads, uint64_t *scratch);

/** The dependency graph of one block: tx j depends on each earlier tx it
 *  conflicts with under the declared sets, found per key as the last
 *  writer before j (write-read, write-write) and, when j writes, every
 *  reader since that writer (read-write). The sender's account key counts
 *  as written by every tx. Every conflicting pair is ordered by a path,
 *  not always by an edge of its own; no transitive reduction. */
typedef struct bench_dag {
    size_t n;
    size_t *off;             /* n + 1: tx j's predecessors are
                                pred[off[j] .. off[j+1]) */
    uint32_t *pred;          /* each < j */
} bench_dag;

/** Build the graph of txs[0..n-1] (decoded; their sets borrowed only for
 *  the call). Release with px_bench_dag_release(). Dies on allocation
 *  failure. */
void px_bench_dag_build(bench_dag *d, const parex_tx *txs, size_t n);
void px_bench_dag_release(bench_dag *d);
/** 0 when every predecessor of j is below j, else -1. */
int px_bench_dag_check(const bench_dag *d);
/** The longest chain, in txs (the engine's batch count for exact
 *  declarations); 0 for an empty or malformed graph. */
size_t px_bench_dag_depth(const bench_dag *d);
/** Makespan of d on `threads` workers with tx j taking ns[j]: list
 *  scheduling (Graham 1966) without barriers, the ready tx of lowest
 *  index first; a tx is ready when all its predecessors have finished.
 *  Returns 0 for n == 0, threads == 0 or a malformed graph. The
 *  dependency-graph bound is sum(ns) / makespan. */
uint64_t px_bench_dag_makespan(const bench_dag *d, const uint64_t *ns,
    unsigned threads);

/** Zipf(s) over ranks 0..n-1: P(k) proportional to 1/(k+1)^s. */
typedef struct bench_zipf {
    double *cdf;
    size_t n;
} bench_zipf;

/** s > 0, n >= 1; dies on allocation failure. */
void px_bench_zipf_init(bench_zipf *z, size_t n, double s);
/** A rank from a 64-bit uniform draw u (inverse CDF, binary search). */
size_t px_bench_zipf_draw(const bench_zipf *z, uint64_t u);
void px_bench_zipf_release(bench_zipf *z);

/* ---- bench_txwork.c --------------------------------------------------- */

/** out = SHA-256 applied `steps` times to the 32 bytes of seed (out may be
 *  seed). */
void px_bench_work_chain(uint8_t out[32], const uint8_t seed[32],
    uint64_t steps);
/** The chain length that takes about us microseconds on this core (the
 *  fastest of three timings); 0 for us <= 0, else at least 1. */
uint64_t px_bench_work_calibrate(double us);
/** Register on e the programs of ids 1 (transfer) and 2 (trace) that run
 *  a chain of *steps steps (seeded by the tx's signature), then the
 *  built-in program's semantics. steps is borrowed for e's lifetime.
 *  Returns parex_engine_register()'s code. */
int px_bench_work_register(parex_engine *e, uint64_t *steps);

/* ---- bench_exec.c: types of a run and its results -------------------- */

enum { ST_DECODE, ST_VERIFY, ST_ANALYSIS, ST_EXEC, ST_VALIDATE, ST_APPLY,
       ST_ROOT, ST_COMMIT, ST_STAGE1_ANALYSIS, ST_N };
extern const char *const px_bench_stage_names[ST_N];

typedef struct bench_agg {
    uint64_t med, min, max;
} bench_agg;

/* Everything measured for one workload at one thread count. */
typedef struct bench_result {
    const char *workload;
    char label[256];
    uint64_t accounts, block_size, blocks;
    double zipf;
    unsigned threads;
    uint64_t reps;
    uint64_t txs, failed, batches, reexecutions, fallback_blocks;
    bench_agg seq_exec, par_exec, seq_total, par_total, stage[ST_N];
    double exec_speedup, e2e_speedup, ideal_speedup;
    double exec_speedup_min;     /* of the fastest runs: robust to noise
                                    that only ever adds time */
    int warm;                    /* the engines were warmed up (cfg.warm) */
    unsigned inner;              /* executions of each block per run
                                    (bench_exec_cfg.inner) */
    uint64_t seq_faults, par_faults; /* minor page faults of the execute
                                    calls, the fewest over the reps */
    double tps_e2e, tps_exec, seq_tps_e2e;
    double verify_us, sig_bound_tps, sig_bound_ratio;
    /* End to end of the unpipelined parallel runs, interleaved with the
     * pipelined ones in the same reps (equal to the above when not
     * pipelined). */
    double tps_e2e_unpiped, sig_bound_ratio_unpiped;
    double sig_bound_tps_unpiped;   /* its own bound: the engine's cores */
    int have_proj;           /* the projection's profiled runs ran */
    int have_bound;          /* the per-tx costs were measured (also with
                                --no-profile: one profiled pass) */
    double proj_speedup[BENCH_NPROJ], proj_ideal[BENCH_NPROJ];
    double dag_bound;        /* with have_bound: sum of the tx times over
                                the dependency graphs' makespan at
                                `threads` (bench_prof.c) */
    uint64_t dag_depth;      /* longest chains of the graphs, summed */
    int seq_listed;          /* one of the eight sequential Ethereum
                                blocks */
    const char *fallback;    /* why the parallel engine ran blocks
                                sequentially; NULL: it did not */
    double tx_work_us;       /* --tx-work */
    uint64_t tx_work_hashes;
    uint64_t peak_rss;
    uint8_t root[32];
    int roots_match;
    int pipelined;           /* end to end from pipelined runs */
    /* --bal: par_* are BAL validation of the sealed blocks; production is
     * the parallel engine on the plain blocks with PAREX_EXEC_RECORD_BAL
     * (on) and without (off), both PAREX_EXEC_VERIFIED as the node's
     * producer, end to end (total_ns), same run. */
    int bal;
    uint64_t bal_bytes;          /* the trailers' bytes, all blocks */
    double bal_bytes_per_tx;
    bench_agg prod_off, prod_on;
    size_t prod_pairs;           /* production pairs measured */
    double prod_ratio;           /* median over the pairs of on / off */
    double prod_ratio_meds;      /* prod_on.med / prod_off.med */
    double prod_ratio_min;       /* prod_on.min / prod_off.min */
    /* Production's stages (stage_of order), off and on: where the
     * recording's cost goes (recording in apply, the BAL's hash in root,
     * its bytes in commit). */
    bench_agg prod_stage_off[ST_N], prod_stage_on[ST_N];
} bench_result;

/** Progress callback state: the line on stderr while a run is measured. */
typedef struct bench_progress {
    int on, tty;
    size_t done, total;      /* runs (workload x thread count) */
    const char *label;
    unsigned threads;
    uint64_t t0_ns;
} bench_progress;

/* Sums over the blocks of one run. */
typedef struct bench_run {
    parex_block_stats s;
    uint64_t failed, fallback_blocks;
    const char *fallback;    /* the reason of the first fallback block */
    int fallback_mixed;      /* blocks fell back for different reasons */
    double ideal_den;        /* sum over blocks of txs / ideal speedup */
    uint64_t e2e_ns;         /* end to end: the sum of the blocks' total_ns,
                                or pipelined the wall time of the run's
                                blocks (preparation overlaps execution) */
    uint64_t faults;         /* the process' minor page faults during the
                                run's execute calls (every thread's; the
                                warm-up's not) */
    uint8_t root[32];
} bench_run;

/* How one run executes. */
typedef struct bench_exec_cfg {
    int sequential;
    unsigned threads;
    uint32_t min_batch_width;    /* 0: the engine's default */
    int profile;                 /* parex_engine_options.profile */
    parex_sync sync;
    /* Block pipelining: block b+1's stateless stage (decode, ids,
     * signatures) on `threads` worker threads while block b executes,
     * roots and commits (node_pipe_*). */
    int pipeline;
    unsigned flags;              /* execute flags besides COMMIT
                                    (PAREX_EXEC_RECORD_BAL,
                                    PAREX_EXEC_VERIFIED) */
    /* Steady state: before the measured blocks, block 0 is executed once
     * on the run's engine and aborted, untimed, so that the engine's
     * buffers, the store's pages and the caches are warm as in a node
     * that runs one engine for many blocks. 0: a cold engine. */
    int warm;
    /* Executions of each block per run (>= 1): the first inner - 1
     * without COMMIT and aborted, the last committed; the block's
     * execution-stage fields (analysis, exec, validate, apply) are the
     * median execution's. For sub-ms blocks, whose single timings vary by
     * a factor of 2 on a shared VM. Unpipelined only, and not with
     * PAREX_EXEC_RECORD_BAL (whose commit does part of the work). */
    unsigned inner;
    const node_buf *blocks;      /* the encoded blocks to run (one per
                                    block of the workload: sealed ones);
                                    NULL: encoded from the workload */
    node_buf *record;            /* with PAREX_EXEC_RECORD_BAL: block b
                                    sealed with its BAL into record[b];
                                    NULL: the BAL is only copied out */
    /* Called after each committed block (may be NULL). */
    void (*on_block)(void *user, parex_engine *e, size_t b,
        const parex_block_stats *st);
    void *user;
} bench_exec_cfg;

/** Why a block ran on the sequential executor, from its stats and the
 *  engine's thread count ("one thread", "narrow"); NULL when it did
 *  not. */
const char *px_bench_fallback_reason(const parex_block_stats *st,
    unsigned threads);

/** One run: a fresh store, genesis, then w's blocks in order, each
 *  committed; with w->work_hashes, the programs of bench_txwork.c. Dies
 *  on any engine or storage error. */
void px_bench_execute(bench_run *out, const bench_work *w,
    const bench_exec_cfg *cfg);

/** Resident set size now (VmRSS), bytes; 0 if unknown. */
uint64_t px_bench_rss_now(void);
uint64_t px_bench_peak_rss(void);
/** RssAnon and RssFile of /proc/self/status, bytes; 0 if unknown. */
void px_bench_rss_split(uint64_t *anon, uint64_t *file);

/* ---- bench_prof.c ----------------------------------------------------- */

/** The projection: PROF_PASSES profiled one-thread runs of w (computed
 *  once per workload, kept in w), each tx's minimum time, replayed by
 *  px_bench_makespan() at 4..64 threads, and by px_bench_dag_makespan()
 *  on each block's dependency graph at r->threads. Fills r->proj_speedup,
 *  r->proj_ideal, r->dag_bound and r->dag_depth and sets r->have_proj and
 *  r->have_bound. Without o->profile (--no-profile) one profiled pass
 *  only, for the costs of the bound: r->dag_bound, r->dag_depth and
 *  r->have_bound, no projection. Returns 0, or -1 when the engine gave no
 *  usable profile (r untouched). */
int px_bench_profile(bench_result *r, bench_work *w, const bench_opts *o);

/* ---- bench_run.c ------------------------------------------------------ */

/** Schnorr verification time per signature on one core, in ps: up to 2000
 *  of w's txs verified in a loop (repeated to at least 50 ms). Cached in
 *  w->verify_ps. */
uint64_t px_bench_verify_ps(bench_work *w);

/** Measure w at `threads`: one warm-up each, o->reps timed repetitions of
 *  the sequential reference and the parallel engine on fresh stores, then
 *  the profiled passes (px_bench_profile()): the per-tx costs of the
 *  dependency-graph bound, and with o->profile the projection. */
void px_bench_measure(bench_result *r, bench_work *w, unsigned threads,
    const bench_opts *o, bench_progress *pg);

/* RSS after each of o->rss_blocks consecutive blocks on one engine. */
typedef struct bench_rss {
    unsigned threads;
    uint64_t blocks, txs, early_block;
    uint64_t rss_early, rss_last, rss_max;
    /* The RSS split: anonymous memory (heap: the engine's and the
     * harness's) and file pages (the LMDB map, which grows with the pages
     * a run has touched and with LMDB's copy-on-write free list). */
    uint64_t anon_early, anon_last, file_early, file_last;
    double early_ms_per_block, last_ms_per_block;
} bench_rss;

/** Run w's blocks in order on one parallel engine at `threads`. */
void px_bench_rss(bench_rss *out, const bench_work *w, unsigned threads,
    const bench_opts *o, bench_progress *pg);

/* ---- bench_report.c --------------------------------------------------- */

void px_bench_print_header(const bench_opts *o);
void px_bench_print_result(const bench_opts *o, const bench_result *r);
void px_bench_print_rss(const bench_opts *o, const bench_work *w,
    const bench_rss *r);
/** Per thread count: time per tx at the smallest and largest block size
 *  among results[0..n-1] (same workload, one per block size). */
void px_bench_print_scaling(const bench_opts *o, const bench_result *res,
    size_t n);
/** The summary table after every run: per thread count, geomean and min
 *  of the exec speedup and of speedup / dependency-graph bound for p2p,
 *  Zipf p2p, hot, all real blocks, those of >= 100 txs, and those
 *  without the eight essentially sequential Ethereum blocks; then the
 *  count of root mismatches. */
void px_bench_print_summary(const bench_opts *o, const bench_result *res,
    size_t n);
void px_bench_progress_update(bench_progress *pg, const char *what,
    size_t i, size_t n);
void px_bench_progress_clear(bench_progress *pg);

/* ---- bench_plot.c ----------------------------------------------------- */

/** Die with a clear message unless gnuplot is on PATH. */
void px_bench_plot_check(void);
/** Draw res[0..n-1] into the PNG file: tx/s and speedup (measured and
 *  projected) against threads, and speedup against accounts. Returns 0,
 *  or -1 after a warning. */
int px_bench_plot(const char *file, const bench_opts *o,
    const bench_result *res, size_t n);

/** --replot: read the lines of an earlier `parex bench --json` from in
 *  and draw them into out, measuring nothing. Returns 0; -1 after a
 *  warning naming the file, line and field; -2 when gnuplot failed. */
int px_bench_replot(const char *in, const char *out, bench_opts *o);

#endif
