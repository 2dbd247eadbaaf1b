/* `parex bench` measurements: the timed repetitions (runs of
 * bench_exec.c), the signature bound and RSS over many blocks.
 *
 * Times come from parex_block_stats summed over the blocks of a run; the
 * harness adds no timer calls of its own inside a run, but for the wall
 * time of a pipelined run (end to end, bench_exec.c).
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

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
    case ST_STAGE1_ANALYSIS: return s->stage1_analysis_ns;
    default: return s->commit_ns;
    }
}

/* The execution stage: conflict analysis through applying writes. */
static uint64_t exec_stage(const parex_block_stats *s)
{
    return s->analysis_ns + s->exec_ns + s->validate_ns + s->apply_ns;
}

/* ---- the signature bound ---------------------------------------------- */

uint64_t px_bench_verify_ps(bench_work *w)
{
    enum { MAX_TXS = 2000 };
    parex_tx *txs;
    size_t n = 0, b, i;
    uint64_t t0, dt, loops = 0;

    if (w->verify_ps != 0) {
        return w->verify_ps;
    }
    txs = node_calloc(MAX_TXS, sizeof(*txs));
    for (b = 0; b < w->nblocks && n < MAX_TXS; b++) {
        for (i = 0; i < w->ntx[b] && n < MAX_TXS; i++) {
            if (parex_tx_decode(&txs[n], NULL, w->txs[b][i].p,
                    w->txs[b][i].len, NULL) == PAREX_OK) {
                n++;
            }
        }
    }
    if (n == 0) {
        free(txs);
        return 0;
    }
    /* Every signature is valid (the runs accept the blocks), so a failed
     * verify here is a library error, not data. */
    t0 = node_now_ns();
    do {
        for (i = 0; i < n; i++) {
            if (parex_tx_verify(&txs[i]) != PAREX_OK) {
                node_die(NODE_EXIT_RUNTIME, "bench %s: tx %zu does not "
                    "verify", w->label, i);
            }
        }
        loops++;
        dt = node_now_ns() - t0;
    } while (dt < 50000000u);
    free(txs);
    w->verify_ps = dt * 1000u / (loops * n);
    return w->verify_ps == 0 ? 1 : w->verify_ps;
}

/* ---- repetitions ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bench_agg agg(uint64_t *v, size_t n)
{
    bench_agg a;

    qsort(v, n, sizeof(*v), cmp_u64);
    a.min = v[0];
    a.max = v[n - 1];
    a.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    return a;
}

/* Executions per block and run so that the sequential execution stage of
 * one block adds up to min_ms: 1 (once) when a block takes that long,
 * never more than BENCH_MAX_INNER. */
static unsigned choose_inner(const parex_block_stats *seq, uint64_t nblocks,
    double min_ms)
{
    double per, n;

    if (min_ms <= 0 || nblocks == 0) {
        return 1;
    }
    per = (double)exec_stage(seq) / (double)nblocks;
    n = per > 0 ? min_ms * 1e6 / per : BENCH_MAX_INNER;
    if (n <= 1) {
        return 1;
    }
    return n >= BENCH_MAX_INNER ? BENCH_MAX_INNER : (unsigned)n + 1;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_d(double *v, size_t n)
{
    qsort(v, n, sizeof(*v), cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --bal's production pairs (recording off, on) per repetition. The two
 * runs differ by a few percent, the target is 5%, and a run-to-run
 * spread of 10-40% on a shared VM (docs/benchmarks.md, "Session 8")
 * needs more than one pair per repetition; production is a small share
 * of a --bal run's time. */
#define PROD_PAIRS 3

/* The same final state and failed txs as the sequential run, else a
 * warning and r->roots_match = 0. */
static void check_run(bench_result *r, const bench_work *w, unsigned threads,
    const bench_run *rs, const bench_run *rp, const char *what)
{
    if (memcmp(rs->root, rp->root, 32) != 0) {
        char a[65], b[65];
        node_hex(a, rs->root, 32);
        node_hex(b, rp->root, 32);
        node_warn("bench %s: threads %u: MISMATCH state root: "
            "sequential %s %s %s", w->label, threads, a, what, b);
        r->roots_match = 0;
    }
    if (rs->failed != rp->failed) {
        node_warn("bench %s: threads %u: MISMATCH failed txs: "
            "sequential %llu %s %llu", w->label, threads,
            (unsigned long long)rs->failed, what,
            (unsigned long long)rp->failed);
        r->roots_match = 0;
    }
}

/* --bal: w's blocks sealed with the BAL the parallel engine records for
 * them (the same bytes at every thread count), once per workload. */
static void bal_seal(bench_work *w, unsigned threads, const bench_opts *o)
{
    bench_exec_cfg c;
    bench_run run;
    size_t b, i;

    if (w->sealed != NULL) {
        return;
    }
    w->sealed = node_calloc(w->nblocks > 0 ? w->nblocks : 1,
        sizeof(*w->sealed));
    memset(&c, 0, sizeof(c));
    c.threads = threads;
    c.sync = o->sync;
    c.flags = PAREX_EXEC_RECORD_BAL;
    c.record = w->sealed;
    px_bench_execute(&run, w, &c);
    w->bal_bytes = 0;
    for (b = 0; b < w->nblocks; b++) {
        size_t plain = PAREX_HEADER_BYTES + 4;
        for (i = 0; i < w->ntx[b]; i++) {
            plain += 4 + w->txs[b][i].len;
        }
        w->bal_bytes += w->sealed[b].len - plain;
    }
}

/* The parallel side of a timed pair: BAL validation (cb) with --bal,
 * else the parallel engine (cp). */
static void exec_par(bench_run *rp, const bench_work *w, const bench_opts *o,
    const bench_exec_cfg *cb, const bench_exec_cfg *cp, bench_progress *pg,
    size_t done, size_t nruns)
{
    px_bench_progress_update(pg, o->bal ? "BAL validation" : "parallel",
        done, nruns);
    px_bench_execute(rp, w, o->bal ? cb : cp);
}

void px_bench_measure(bench_result *r, bench_work *w, unsigned threads,
    const bench_opts *o, bench_progress *pg)
{
    size_t rep, k, q, reps = (size_t)o->reps;
    /* A run of one block has nothing to overlap (the sweep's, a
     * trace's): its end to end comes from the unpipelined pair. Nor has
     * --bal's: a block sealed with its BAL exists only once its parent
     * has run. */
    int pipe = !o->no_pipeline && w->nblocks > 1 && !o->bal;
    size_t per = 2 + (pipe ? 2 : 0) + (o->bal ? 2 * PROD_PAIRS : 0);
    size_t nruns = per * (reps + 1);
    uint64_t *v[6 + ST_N], *unp, *pst[2 * ST_N];
    double *pr = NULL;
    bench_exec_cfg cs, cp, qs, qp, cb, co, cn;
    bench_run rs, rp, ps, pp, ro, rn;
    unsigned cores;

    memset(r, 0, sizeof(*r));
    r->workload = w->workload;
    snprintf(r->label, sizeof(r->label), "%s", w->label);
    r->accounts = w->accounts;
    r->block_size = w->block_size;
    r->blocks = w->nblocks;
    r->zipf = w->zipf;
    r->threads = threads;
    r->reps = o->reps;
    r->roots_match = 1;
    r->pipelined = pipe;
    for (k = 0; k < 6 + ST_N; k++) {
        v[k] = node_calloc(k == 4 || k == 5 ? reps * PROD_PAIRS : reps,
            sizeof(uint64_t));
    }
    for (k = 0; k < 2 * ST_N; k++) {
        pst[k] = node_calloc(reps * PROD_PAIRS, sizeof(uint64_t));
    }
    if (o->bal) {
        pr = node_calloc(reps * PROD_PAIRS, sizeof(*pr));
    }
    unp = node_calloc(reps, sizeof(uint64_t));
    memset(&cs, 0, sizeof(cs));
    cs.sequential = 1;
    cs.threads = threads;
    cs.sync = o->sync;
    cs.warm = !o->cold;
    cp = cs;
    cp.sequential = 0;
    /* End to end with block pipelining: a pair of runs of its own, so
     * that the preparing threads do not share the cores with the
     * execution stage the other pair measures. */
    qs = cs;
    qs.pipeline = 1;
    qp = cp;
    qp.pipeline = 1;
    cb = cp;
    /* Production as the node's producer runs it: signatures were checked
     * on entry to the mempool (PAREX_EXEC_VERIFIED), so the ratio is the
     * recording's share of execution, root and commit. */
    co = cp;
    co.flags = PAREX_EXEC_VERIFIED;
    cn = co;
    if (o->bal) {
        px_bench_progress_update(pg, "recording the BALs", 0, nruns + 1);
        bal_seal(w, threads, o);
        r->bal = 1;
        r->bal_bytes = w->bal_bytes;
        cb.blocks = w->sealed;
        cn.flags = PAREX_EXEC_VERIFIED | PAREX_EXEC_RECORD_BAL;
    }
    /* rep == reps is the warm-up, run first and not counted. */
    for (rep = 0; rep <= reps; rep++) {
        size_t slot = rep == 0 ? reps : rep - 1;
        /* Each pair in alternating order, as production's below: a run's
         * speed depends on where its fresh store and heap land (on the
         * session-15 VM one run in six or so is 1.5x slower throughout),
         * and which engine runs first after the other's memory was freed
         * must favour neither. */
        int par_first = rep % 2 == 0 && slot < reps;
        if (par_first) {
            exec_par(&rp, w, o, &cb, &cp, pg, per * rep, nruns);
        }
        px_bench_progress_update(pg, "sequential", per * rep, nruns);
        px_bench_execute(&rs, w, &cs);
        if (!par_first) {
            exec_par(&rp, w, o, &cb, &cp, pg, per * rep + 1, nruns);
        }
        check_run(r, w, threads, &rs, &rp, o->bal ? "BAL" : "parallel");
        if (pipe) {
            if (par_first) {
                px_bench_progress_update(pg, "parallel, pipelined",
                    per * rep + 2, nruns);
                px_bench_execute(&pp, w, &qp);
            }
            px_bench_progress_update(pg, "sequential, pipelined",
                per * rep + 2, nruns);
            px_bench_execute(&ps, w, &qs);
            if (!par_first) {
                px_bench_progress_update(pg, "parallel, pipelined",
                    per * rep + 3, nruns);
                px_bench_execute(&pp, w, &qp);
            }
            check_run(r, w, threads, &rs, &ps, "sequential pipelined");
            check_run(r, w, threads, &rs, &pp, "parallel pipelined");
        } else {
            ps = rs;
            pp = rp;
        }
        for (q = 0; o->bal && q < PROD_PAIRS; q++) {
            /* Production with recording off and on, in alternating order
             * so that a drift of the machine favours neither; each pair's
             * ratio is taken of two neighbouring runs. */
            px_bench_progress_update(pg, "production", per * rep + 2,
                nruns);
            if ((rep * PROD_PAIRS + q) % 2 == 0) {
                px_bench_execute(&ro, w, &co);
                px_bench_execute(&rn, w, &cn);
            } else {
                px_bench_execute(&rn, w, &cn);
                px_bench_execute(&ro, w, &co);
            }
            check_run(r, w, threads, &rs, &ro, "production");
            check_run(r, w, threads, &rs, &rn, "production recording");
            if (slot < reps) {
                v[4][slot * PROD_PAIRS + q] = ro.s.total_ns;
                v[5][slot * PROD_PAIRS + q] = rn.s.total_ns;
                pr[slot * PROD_PAIRS + q] = ratio((double)rn.s.total_ns,
                    (double)ro.s.total_ns);
                for (k = 0; k < ST_N; k++) {
                    pst[k][slot * PROD_PAIRS + q] = stage_of(&ro.s, (int)k);
                    pst[ST_N + k][slot * PROD_PAIRS + q] =
                        stage_of(&rn.s, (int)k);
                }
            }
        }
        if (slot == reps) {
            /* The warm-up's sequential time per block sets how often the
             * timed runs execute each block (bench_exec_cfg.inner). */
            unsigned inner = choose_inner(&rs.s, w->nblocks, o->min_time_ms);
            cs.inner = inner;
            cp.inner = inner;
            cb.inner = inner;
            r->inner = inner;
            continue;
        }
        if (slot == 0 || rs.faults < r->seq_faults) {
            r->seq_faults = rs.faults;
        }
        if (slot == 0 || rp.faults < r->par_faults) {
            r->par_faults = rp.faults;
        }
        v[0][slot] = exec_stage(&rs.s);
        v[1][slot] = exec_stage(&rp.s);
        v[2][slot] = ps.e2e_ns;
        v[3][slot] = pp.e2e_ns;
        unp[slot] = rp.e2e_ns;
        for (k = 0; k < ST_N; k++) {
            v[6 + k][slot] = stage_of(&rp.s, (int)k);
        }
    }
    r->seq_exec = agg(v[0], reps);
    r->par_exec = agg(v[1], reps);
    r->seq_total = agg(v[2], reps);
    r->par_total = agg(v[3], reps);
    for (k = 0; k < ST_N; k++) {
        r->stage[k] = agg(v[6 + k], reps);
    }
    if (o->bal) {
        r->prod_off = agg(v[4], reps * PROD_PAIRS);
        r->prod_on = agg(v[5], reps * PROD_PAIRS);
        r->prod_pairs = reps * PROD_PAIRS;
        r->prod_ratio = median_d(pr, reps * PROD_PAIRS);
        r->prod_ratio_meds = ratio((double)r->prod_on.med,
            (double)r->prod_off.med);
        r->prod_ratio_min = ratio((double)r->prod_on.min,
            (double)r->prod_off.min);
        for (k = 0; k < ST_N; k++) {
            r->prod_stage_off[k] = agg(pst[k], reps * PROD_PAIRS);
            r->prod_stage_on[k] = agg(pst[ST_N + k], reps * PROD_PAIRS);
        }
        r->bal_bytes_per_tx = rp.s.txs > 0
            ? (double)w->bal_bytes / (double)rp.s.txs : 0.0;
    }
    for (k = 0; k < 6 + ST_N; k++) {
        free(v[k]);
    }
    for (k = 0; k < 2 * ST_N; k++) {
        free(pst[k]);
    }
    free(pr);
    r->warm = cs.warm;
    r->txs = rp.s.txs;
    r->failed = rp.failed;
    r->batches = rp.s.batches;
    r->reexecutions = rp.s.reexecutions;
    r->fallback_blocks = rp.fallback_blocks;
    r->fallback = rp.fallback_mixed ? "mixed" : rp.fallback;
    r->seq_listed = w->seq_listed;
    r->tx_work_hashes = w->work_hashes;
    r->tx_work_us = o->tx_work_us;
    memcpy(r->root, rp.root, 32);
    r->exec_speedup = ratio((double)r->seq_exec.med, (double)r->par_exec.med);
    r->exec_speedup_min = ratio((double)r->seq_exec.min,
        (double)r->par_exec.min);
    r->e2e_speedup = ratio((double)r->seq_total.med,
        (double)r->par_total.med);
    r->ideal_speedup = rp.ideal_den > 0 ? (double)rp.s.txs / rp.ideal_den
        : 1.0;
    r->tps_e2e = ratio((double)r->txs * 1e9, (double)r->par_total.med);
    r->tps_exec = ratio((double)r->txs * 1e9, (double)r->par_exec.med);
    r->seq_tps_e2e = ratio((double)r->txs * 1e9, (double)r->seq_total.med);
    r->tps_e2e_unpiped = ratio((double)r->txs * 1e9,
        (double)agg(unp, reps).med);
    free(unp);

    /* The end-to-end ceiling: every tx needs one signature verification,
     * spread over the threads that verify (more threads than CPUs verify
     * no faster): unpipelined the engine's; pipelined also the preparing
     * threads, which take every CPU the engine leaves and at least one
     * (node_pipe_start), so every CPU. At 1 thread on 2 CPUs the
     * pipelined run verifies on both: against the 1-thread bound it once
     * reported 1.8 of it. */
    cores = threads < node_cpus() ? threads : node_cpus();
    r->verify_us = (double)px_bench_verify_ps(w) / 1e6;
    r->sig_bound_tps_unpiped = ratio((double)cores * 1e6, r->verify_us);
    r->sig_bound_tps = pipe ? ratio((double)node_cpus() * 1e6, r->verify_us)
                            : r->sig_bound_tps_unpiped;
    r->sig_bound_ratio = ratio(r->tps_e2e, r->sig_bound_tps);
    r->sig_bound_ratio_unpiped = ratio(r->tps_e2e_unpiped,
        r->sig_bound_tps_unpiped);

    /* The per-tx costs of the bound always (one pass with --no-profile),
     * the projection with o->profile. */
    px_bench_progress_update(pg, o->profile ? "profiled runs"
        : "profiled pass (costs)", nruns, nruns + 1);
    if (px_bench_profile(r, w, o) != 0) {
        r->have_proj = 0;
        r->have_bound = 0;
    }
    r->peak_rss = px_bench_peak_rss();
}

/* ---- RSS over many blocks --------------------------------------------- */

typedef struct rss_state {
    bench_rss *out;
    bench_progress *pg;
    uint64_t last_t;
    uint64_t early_ns, last_ns;
} rss_state;

static void rss_on_block(void *user, parex_engine *e, size_t b,
    const parex_block_stats *st)
{
    rss_state *s = user;
    uint64_t rss = px_bench_rss_now();

    (void)e;
    if (rss > s->out->rss_max) {
        s->out->rss_max = rss;
    }
    if (b + 1 == s->out->early_block) {
        s->out->rss_early = rss;
        px_bench_rss_split(&s->out->anon_early, &s->out->file_early);
        s->early_ns = st->total_ns;
    }
    if (b + 1 == s->out->blocks) {
        px_bench_rss_split(&s->out->anon_last, &s->out->file_last);
    }
    s->out->rss_last = rss;
    s->last_ns = st->total_ns;
    px_bench_progress_update(s->pg, "block", b + 1, s->out->blocks);
}

void px_bench_rss(bench_rss *out, const bench_work *w, unsigned threads,
    const bench_opts *o, bench_progress *pg)
{
    bench_exec_cfg c;
    bench_run run;
    rss_state s;

    memset(out, 0, sizeof(*out));
    memset(&s, 0, sizeof(s));
    out->threads = threads;
    out->blocks = w->nblocks;
    /* "After the first few": block 5 when there are at least 10. */
    out->early_block = w->nblocks >= 10 ? 5 : 1;
    s.out = out;
    s.pg = pg;
    memset(&c, 0, sizeof(c));
    c.threads = threads;
    c.sync = o->sync;
    c.on_block = rss_on_block;
    c.user = &s;
    px_bench_execute(&run, w, &c);
    out->txs = run.s.txs;
    out->early_ms_per_block = (double)s.early_ns / 1e6;
    out->last_ms_per_block = (double)s.last_ns / 1e6;
}
