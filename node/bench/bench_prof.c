/* `parex bench` projection: profiled parallel runs of a workload, their
 * per-tx execution times replayed on 4..64 workers (bench_sched.c), and
 * the dependency-graph bound at the run's thread count: the same times
 * scheduled on the graph of the declared sets, without barriers.
 *
 * The timed repetitions never profile (profiling adds two clock reads per
 * execution). The profiled runs use one thread and min_batch_width 1, so
 * conflict analysis runs on every block and each tx has its batch even
 * where the timed runs fall back to the sequential executor, and no tx
 * waits on a sibling thread. On a shared machine a single preempted or
 * page-faulting tx can take milliseconds and would dominate a makespan, so
 * the profile is taken PROF_PASSES times and each tx keeps its minimum.
 * The projection depends on the workload only: it is computed once and
 * kept in the bench_work. --no-profile skips the projection but not the
 * bound: one pass (not PROF_PASSES) gives the per-tx costs, so that every
 * run reports dag_bound and speedup / bound (issue 10).
 */
#include "bench.h"

#include <stdlib.h>
#include <string.h>

#define PROF_PASSES 3

typedef struct prof_block {
    size_t n;
    uint32_t *batch;
    uint64_t *ns;
} prof_block;

typedef struct prof_state {
    prof_block *blk;     /* one per block of the workload */
    size_t pass;
    int failed;
} prof_state;

static void prof_on_block(void *user, parex_engine *e, size_t b,
    const parex_block_stats *st)
{
    prof_state *s = user;
    prof_block *pb = &s->blk[b];
    const parex_tx_profile *p = NULL;
    size_t n = 0, i;

    (void)st;
    if (s->failed || parex_engine_profile(e, &p, &n) != PAREX_OK) {
        s->failed = 1;
        return;
    }
    if (s->pass == 0) {
        pb->n = n;
        pb->batch = node_calloc(n == 0 ? 1 : n, sizeof(*pb->batch));
        pb->ns = node_calloc(n == 0 ? 1 : n, sizeof(*pb->ns));
    } else if (n != pb->n) {
        s->failed = 1;
        return;
    }
    for (i = 0; i < n; i++) {
        if (s->pass == 0 || p[i].exec_ns < pb->ns[i]) {
            pb->ns[i] = p[i].exec_ns;
        }
        if (s->pass > 0 && p[i].batch != pb->batch[i]) {
            /* Conflict analysis is deterministic; a difference means the
             * profile is not what this harness expects. */
            s->failed = 1;
            return;
        }
        pb->batch[i] = p[i].batch;
    }
}

/* Keep each block's tx times and build its dependency graph from the
 * declared sets of the txs as the engine decoded them. */
static int keep_dag(bench_work *w, prof_state *s)
{
    parex_tx *txs = NULL;
    size_t b, i, cap = 0;

    w->tx_ns = node_calloc(w->nblocks == 0 ? 1 : w->nblocks,
        sizeof(*w->tx_ns));
    w->dag = node_calloc(w->nblocks == 0 ? 1 : w->nblocks, sizeof(*w->dag));
    w->dag_depth = 0;
    for (b = 0; b < w->nblocks; b++) {
        if (s->blk[b].n != w->ntx[b]) {
            free(txs);
            return -1;
        }
        if (w->ntx[b] > cap) {
            cap = w->ntx[b];
            txs = node_realloc(txs, cap * sizeof(*txs));
        }
        for (i = 0; i < w->ntx[b]; i++) {
            if (parex_tx_decode(&txs[i], NULL, w->txs[b][i].p,
                    w->txs[b][i].len, NULL) != PAREX_OK) {
                free(txs);
                return -1;
            }
        }
        px_bench_dag_build(&w->dag[b], txs, w->ntx[b]);
        w->dag_depth += px_bench_dag_depth(&w->dag[b]);
        /* The profile's arrays move into the workload. */
        w->tx_ns[b] = s->blk[b].ns;
        s->blk[b].ns = NULL;
    }
    free(txs);
    return 0;
}

/* sum of the tx times / sum of the graphs' makespans at `threads`. */
static double dag_bound(const bench_work *w, unsigned threads)
{
    double work = 0, span = 0;
    size_t b, i;

    for (b = 0; b < w->nblocks; b++) {
        for (i = 0; i < w->dag[b].n; i++) {
            work += (double)w->tx_ns[b][i];
        }
        span += (double)px_bench_dag_makespan(&w->dag[b], w->tx_ns[b],
            threads);
    }
    return span > 0 ? work / span : 1.0;
}

static int project(bench_work *w, const prof_state *s)
{
    double work = 0, span[BENCH_NPROJ] = {0}, ideal_den[BENCH_NPROJ] = {0};
    uint64_t *scratch = NULL, txs = 0;
    size_t b, i, k, cap = 0;

    for (b = 0; b < w->nblocks; b++) {
        const prof_block *pb = &s->blk[b];
        uint64_t sum = 0, nb = 0;

        if (pb->n == 0) {
            continue;
        }
        if (pb->n > cap) {
            cap = pb->n;
            scratch = node_realloc(scratch, (2 * cap + 65)
                * sizeof(*scratch));
        }
        for (i = 0; i < pb->n; i++) {
            sum += pb->ns[i];
            nb = pb->batch[i] + 1u > nb ? pb->batch[i] + 1u : nb;
        }
        work += (double)sum;
        txs += pb->n;
        for (k = 0; k < BENCH_NPROJ; k++) {
            unsigned threads = px_bench_proj_threads[k];
            double ideal = (double)pb->n / (double)nb;
            span[k] += (double)px_bench_makespan(pb->batch, pb->ns, pb->n,
                threads, scratch);
            ideal = ideal > threads ? threads : ideal;
            ideal_den[k] += (double)pb->n / ideal;
        }
    }
    free(scratch);
    if (txs == 0) {
        return -1;
    }
    for (k = 0; k < BENCH_NPROJ; k++) {
        w->proj_speedup[k] = span[k] > 0 ? work / span[k] : 0.0;
        w->proj_ideal[k] = ideal_den[k] > 0 ? (double)txs / ideal_den[k]
            : 0.0;
    }
    return 0;
}

int px_bench_profile(bench_result *r, bench_work *w, const bench_opts *o)
{
    bench_exec_cfg c;
    bench_run run;
    prof_state s;
    size_t b, passes = o->profile ? PROF_PASSES : 1;

    /* o->profile is one for the whole invocation: the kept costs are of
     * `passes` passes. */
    if (w->proj_state == 0) {
        memset(&s, 0, sizeof(s));
        s.blk = node_calloc(w->nblocks == 0 ? 1 : w->nblocks,
            sizeof(*s.blk));
        memset(&c, 0, sizeof(c));
        c.threads = 1;
        c.min_batch_width = 1;
        c.profile = 1;
        c.sync = o->sync;
        c.on_block = prof_on_block;
        c.user = &s;
        for (s.pass = 0; s.pass < passes && !s.failed; s.pass++) {
            px_bench_execute(&run, w, &c);
        }
        w->proj_state = !s.failed && project(w, &s) == 0 &&
            keep_dag(w, &s) == 0 ? 1 : -1;
        for (b = 0; b < w->nblocks; b++) {
            free(s.blk[b].batch);
            free(s.blk[b].ns);
        }
        free(s.blk);
    }
    if (w->proj_state < 0) {
        return -1;
    }
    if (o->profile) {
        memcpy(r->proj_speedup, w->proj_speedup, sizeof(r->proj_speedup));
        memcpy(r->proj_ideal, w->proj_ideal, sizeof(r->proj_ideal));
        r->have_proj = 1;
    }
    r->have_bound = 1;
    r->dag_bound = dag_bound(w, r->threads);
    r->dag_depth = w->dag_depth;
    return 0;
}
