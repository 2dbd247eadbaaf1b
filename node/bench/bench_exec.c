/* `parex bench` runs: one run of a workload on a fresh store (genesis, then
 * every block executed and committed), the stage names of its figures and
 * the process' memory figures. Used by the measurements (bench_run.c), the
 * profiled runs (bench_prof.c) and the reports (bench_report.c); calls
 * none of them.
 */
#include "bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const char *const px_bench_stage_names[ST_N] = { "decode", "verify",
    "analysis", "exec", "validate", "apply", "root", "commit",
    "stage1_analysis" };

static void stats_add(parex_block_stats *a, const parex_block_stats *b)
{
    a->txs += b->txs;
    a->batches += b->batches;
    a->reexecutions += b->reexecutions;
    a->escaped += b->escaped;
    a->fallback += b->fallback;
    a->decode_ns += b->decode_ns;
    a->verify_ns += b->verify_ns;
    a->analysis_ns += b->analysis_ns;
    a->exec_ns += b->exec_ns;
    a->validate_ns += b->validate_ns;
    a->apply_ns += b->apply_ns;
    a->root_ns += b->root_ns;
    a->commit_ns += b->commit_ns;
    a->total_ns += b->total_ns;
    a->stage1_analysis_ns += b->stage1_analysis_ns;
}

const char *px_bench_fallback_reason(const parex_block_stats *st,
    unsigned threads)
{
    /* The engine says why (parex_block_stats.fallback_reason). */
    (void)threads;
    if (st->fallback == 0) {
        return NULL;
    }
    return parex_fallback_name(st->fallback_reason);
}

/* The pipeline's bytes of block i: a placeholder header (the fee
 * recipient only; height and parent are set when it runs). */
static void bench_encode(void *user, size_t i, node_buf *out)
{
    const bench_work *w = user;
    parex_header h;

    memset(&h, 0, sizeof(h));
    memcpy(h.fee_recipient, w->fee, 32);
    node_block_encode(out, &h, w->txs[i], w->ntx[i]);
}

/* The process' minor page faults so far, every thread's (RUSAGE_SELF);
 * 0 if unknown. */
static uint64_t minor_faults(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (uint64_t)ru.ru_minflt;
}

/* The header of the block after head (the engine fills the roots). */
static void next_header(parex_header *h, const parex_header *head,
    const bench_work *w)
{
    memset(h, 0, sizeof(*h));
    h->height = head->height + 1;
    parex_header_hash(h->parent, head);
    memcpy(h->fee_recipient, w->fee, 32);
}

/* cfg->warm: block 0 once on e, untimed, then aborted (nothing is
 * written), so that the measured blocks find the engine as a long-running
 * node does: its per-engine buffers grown and paged in, the store's pages
 * mapped, the programs' code in the caches. Both engines get the same. */
static void warm_up(parex_engine *e, const parex_header *head,
    const bench_work *w, const bench_exec_cfg *cfg, node_buf *block,
    parex_receipt *rc_buf)
{
    parex_error_info ei;
    parex_header h;
    const uint8_t *bp;
    size_t bl;
    int rc;

    next_header(&h, head, w);
    if (cfg->blocks != NULL) {
        bp = cfg->blocks[0].p;
        bl = cfg->blocks[0].len;
    } else {
        block->len = 0;
        node_block_encode(block, &h, w->txs[0], w->ntx[0]);
        bp = block->p;
        bl = block->len;
    }
    memset(&ei, 0, sizeof(ei));
    rc = parex_engine_execute(e, NULL, w->ntx[0] == 0 ? NULL : rc_buf,
        w->ntx[0], NULL, &ei, bp, bl, cfg->flags);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "bench %s: warm-up block (%s): %s: %s "
            "at tx %lld: %s", w->label,
            cfg->sequential ? "sequential" : "parallel", parex_errname(rc),
            parex_reject_name(ei.reject), (long long)ei.tx_index,
            ei.message);
    }
    parex_engine_abort(e);
}

/* inner > 1: block b (bp, bl) executed inner - 1 times on e without
 * COMMIT, each aborted, into samples[0 .. inner - 2]; the caller's
 * committed execution is the last sample. Repeated on the same engine and
 * pre-state, each is the steady state the warm-up gives the first. */
static void inner_runs(parex_engine *e, const bench_work *w, const bench_exec_cfg *cfg, unsigned inner, size_t b,
    const uint8_t *bp, size_t bl, parex_receipt *rc_buf,
    parex_block_stats *samples)
{
    parex_error_info ei;
    unsigned k;
    int rc;

    for (k = 0; k + 1 < inner; k++) {
        memset(&samples[k], 0, sizeof(samples[k]));
        samples[k].size = sizeof(samples[k]);
        memset(&ei, 0, sizeof(ei));
        rc = parex_engine_execute(e, NULL, w->ntx[b] == 0 ? NULL : rc_buf,
            w->ntx[b], &samples[k], &ei, bp, bl, cfg->flags);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "bench %s: block %zu (%s, repeated "
                "execution %u): %s: %s at tx %lld: %s", w->label, b,
                cfg->sequential ? "sequential" : "parallel", k + 1,
                parex_errname(rc), parex_reject_name(ei.reject),
                (long long)ei.tx_index, ei.message);
        }
        parex_engine_abort(e);
    }
}

static uint64_t stage_ns(const parex_block_stats *s)
{
    return s->analysis_ns + s->exec_ns + s->validate_ns + s->apply_ns;
}

/* st's execution-stage fields replaced by those of the median of the n
 * samples by their sum (the lower median for even n); the rest of st is
 * its own execution's. Sorts samples. */
static void median_exec_stage(parex_block_stats *st,
    parex_block_stats *samples, unsigned n)
{
    const parex_block_stats *m;
    unsigned i, j;

    /* Insertion sort: n is at most BENCH_MAX_INNER. */
    for (i = 1; i < n; i++) {
        parex_block_stats x = samples[i];
        for (j = i; j > 0 && stage_ns(&samples[j - 1]) > stage_ns(&x); j--) {
            samples[j] = samples[j - 1];
        }
        samples[j] = x;
    }
    m = &samples[(n - 1) / 2];
    st->analysis_ns = m->analysis_ns;
    st->exec_ns = m->exec_ns;
    st->validate_ns = m->validate_ns;
    st->apply_ns = m->apply_ns;
}

void px_bench_execute(bench_run *out, const bench_work *w,
    const bench_exec_cfg *cfg)
{
    node_pipe *pl = NULL;
    uint64_t t0;
    uint64_t steps = w->work_hashes;
    char *dir = node_tmpdir("bench");
    parex_db_options dbo = PAREX_DB_OPTIONS_INIT;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info ei;
    parex_db *db = NULL;
    parex_engine *e = NULL;
    parex_header head, h;
    node_buf block = {0};
    uint8_t *bal = NULL;
    size_t bal_cap = 0;
    parex_receipt *rc_buf = NULL;
    parex_block_stats *samples = NULL;
    unsigned inner = 1;
    size_t b, i, cap = 0;
    uint64_t f0;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&dbo, 0, sizeof(dbo));
    dbo.size = sizeof(dbo);
    dbo.sync = cfg->sync;
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
    parex_engine_options_default(&eo);
    eo.threads = cfg->threads;
    eo.chain_id = 1;
    eo.sequential = cfg->sequential;
    eo.min_batch_width = cfg->min_batch_width;
    eo.profile = cfg->profile != 0;
    rc = parex_engine_create(&e, db, &eo);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "bench %s: cannot create the engine: %s",
            w->label, parex_strerror(rc));
    }
    if (steps > 0 && (rc = px_bench_work_register(e, &steps)) != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "bench %s: cannot register the "
            "--tx-work programs: %s", w->label, parex_strerror(rc));
    }
    if (cfg->warm && w->nblocks > 0) {
        cap = w->ntx[0];
        rc_buf = node_realloc(rc_buf, (cap > 0 ? cap : 1) * sizeof(*rc_buf));
        warm_up(e, &head, w, cfg, &block, rc_buf);
    }
    /* The repeated executions belong to the execution stage's figures
     * only: production's commit records what its apply left (the
     * deferred BAL), so there the block runs once. */
    if (cfg->inner > 1 && !(cfg->flags & PAREX_EXEC_RECORD_BAL)) {
        inner = cfg->inner;
        samples = node_calloc(inner, sizeof(*samples));
    }
    t0 = node_now_ns();
    /* Given or recorded blocks are run as they are, unpipelined: a block
     * sealed with its BAL exists only once its parent has run. */
    if (cfg->pipeline && cfg->blocks == NULL && cfg->record == NULL) {
        pl = node_pipe_start(e, w->nblocks, cfg->threads, bench_encode,
            (void *)w);
    }
    for (b = 0; b < w->nblocks; b++) {
        parex_block_stats st;
        double ideal;

        const uint8_t *bp;
        size_t bl;

        next_header(&h, &head, w);
        bp = NULL;
        bl = 0;
        if (pl == NULL && cfg->blocks != NULL) {
            bp = cfg->blocks[b].p;
            bl = cfg->blocks[b].len;
        } else if (pl == NULL) {
            block.len = 0;
            node_block_encode(&block, &h, w->txs[b], w->ntx[b]);
            bp = block.p;
            bl = block.len;
        }
        if (w->ntx[b] > cap) {
            cap = w->ntx[b];
            rc_buf = node_realloc(rc_buf, cap * sizeof(*rc_buf));
        }
        if (pl == NULL && inner > 1) {
            inner_runs(e, w, cfg, inner, b, bp, bl, rc_buf, samples);
        }
        memset(&st, 0, sizeof(st));
        st.size = sizeof(st);
        memset(&ei, 0, sizeof(ei));
        f0 = minor_faults();
        if (pl != NULL) {
            parex_prepared *p = NULL;
            rc = node_pipe_take(pl, b, &p, &ei);
            if (rc == PAREX_OK) {
                rc = parex_prepared_set_header(p, &h);
            }
            if (rc == PAREX_OK) {
                rc = parex_engine_execute_prepared(e, &head,
                    w->ntx[b] == 0 ? NULL : rc_buf, w->ntx[b], &st, &ei, p,
                    PAREX_EXEC_COMMIT | cfg->flags);
            }
            node_pipe_put(pl, b);
        } else {
            rc = parex_engine_execute(e, &head,
                w->ntx[b] == 0 ? NULL : rc_buf, w->ntx[b], &st, &ei, bp, bl,
                PAREX_EXEC_COMMIT | cfg->flags);
        }
        out->faults += minor_faults() - f0;
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "bench %s: block %zu (%s): %s: %s "
                "at tx %lld: %s", w->label, b,
                cfg->sequential ? "sequential" : "parallel",
                parex_errname(rc), parex_reject_name(ei.reject),
                (long long)ei.tx_index, ei.message);
        }
        if (pl == NULL && inner > 1) {
            samples[inner - 1] = st;
            median_exec_stage(&st, samples, inner);
        }
        if (cfg->flags & PAREX_EXEC_RECORD_BAL) {
            /* Production takes the bytes out as a producer would. */
            size_t len = bal_cap;
            rc = parex_engine_bal(e, bal, &len);
            if (rc == PAREX_E_BUFFER) {
                bal_cap = len;
                bal = node_realloc(bal, bal_cap);
                rc = parex_engine_bal(e, bal, &len);
            }
            if (rc != PAREX_OK) {
                node_die(NODE_EXIT_RUNTIME, "bench %s: block %zu: no BAL "
                    "recorded: %s", w->label, b, parex_strerror(rc));
            }
            if (cfg->record != NULL) {
                node_block_attach_bal(&cfg->record[b], bp, bl, bal, len);
            }
        }
        for (i = 0; i < w->ntx[b]; i++) {
            if (rc_buf[i].status != PAREX_TX_SUCCESS) {
                out->failed++;
            }
        }
        /* Ideal per block: min(threads, txs / batches); the run's ideal
         * is total txs over the sum of txs / ideal, i.e. what the blocks
         * would take if every block reached its own ideal. */
        ideal = st.batches == 0 ? 1.0 : (double)st.txs / (double)st.batches;
        if (ideal > cfg->threads) {
            ideal = cfg->threads;
        }
        if (ideal < 1.0) {
            ideal = 1.0;
        }
        out->ideal_den += (double)st.txs / ideal;
        if (st.fallback != 0) {
            const char *why = px_bench_fallback_reason(&st, cfg->threads);
            if (out->fallback == NULL) {
                out->fallback = why;
            } else if (strcmp(out->fallback, why) != 0) {
                out->fallback_mixed = 1;
            }
            out->fallback_blocks++;
        }
        stats_add(&out->s, &st);
        if (cfg->on_block != NULL) {
            cfg->on_block(cfg->user, e, b, &st);
        }
    }
    out->e2e_ns = pl != NULL ? node_now_ns() - t0 : out->s.total_ns;
    node_pipe_stop(pl);
    memcpy(out->root, head.state_root, 32);
    node_buf_release(&block);
    free(bal);
    free(rc_buf);
    free(samples);
    parex_engine_destroy(e);
    parex_db_close(db);
    if (node_rmtree(dir) != 0) {
        node_warn("%s: cannot remove: %s", dir, strerror(errno));
    }
    free(dir);
}

/* ---- memory ----------------------------------------------------------- */

uint64_t px_bench_peak_rss(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    return (uint64_t)ru.ru_maxrss * 1024u;
}

uint64_t px_bench_rss_now(void)
{
    unsigned long long size = 0, resident = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");

    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%llu %llu", &size, &resident) != 2) {
        resident = 0;
    }
    fclose(f);
    return page > 0 ? (uint64_t)resident * (uint64_t)page : 0;
}

void px_bench_rss_split(uint64_t *anon, uint64_t *file)
{
    char line[256];
    unsigned long long kb;
    FILE *f = fopen("/proc/self/status", "r");

    *anon = 0;
    *file = 0;
    if (f == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "RssAnon: %llu", &kb) == 1) {
            *anon = (uint64_t)kb * 1024u;
        } else if (sscanf(line, "RssFile: %llu", &kb) == 1) {
            *file = (uint64_t)kb * 1024u;
        }
    }
    fclose(f);
}

