/* `parex bench` output: the table on stdout, or one JSON object per line
 * per run with --json; the progress line goes to stderr only, so --json
 * stdout stays machine-readable. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double mib(uint64_t bytes)
{
    return (double)bytes / 1048576.0;
}

static void emit(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));

    if (s == NULL) {
        node_die(NODE_EXIT_RUNTIME, "bench: out of memory");
    }
    puts(s);
    free(s);
    json_decref(j);
    fflush(stdout);
}

static double ratio_of(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

static void set_int(json_t *j, const char *k, uint64_t v)
{
    json_object_set_new(j, k, json_integer((json_int_t)v));
}

static void set_real(json_t *j, const char *k, double v)
{
    json_object_set_new(j, k, json_real(isfinite(v) ? v : 0.0));
}

void px_bench_print_header(const bench_opts *o)
{
    if (o->json) {
        return;
    }
    printf("# parex bench: sync=%s reps=%llu seed=%llu cpus=%u",
        o->sync_name, (unsigned long long)o->reps,
        (unsigned long long)o->seed, node_cpus());
    if (o->tx_work_hashes > 0) {
        printf(" tx-work=%g us (%llu SHA-256 steps per tx)", o->tx_work_us,
            (unsigned long long)o->tx_work_hashes);
    }
    printf("\n");
    if (o->bal) {
        printf("# --bal: par = BAL validation of the blocks sealed with "
            "their recorded BAL; seq = the sequential reference on the "
            "same blocks without it;\n# under each row: the BAL's bytes "
            "per tx and production (parallel engine, end to end) with BAL "
            "recording on / off\n");
    }
    if (o->rss_blocks == 0) {
        printf("# speedup = seq / par execution stage (analysis+exec+"
            "validate+apply), medians; bound = the dependency graph's at "
            "thr;\n# fallback = why the engine ran blocks sequentially; "
            "e2e/sig = end-to-end tx/s over the signature bound\n");
        printf("%-34s %3s %7s %5s %6s %9s %9s %7s %6s %7s %-11s %9s %7s\n",
            "workload", "thr", "txs", "batch", "reexec", "seq ms", "par ms",
            "speedup", "bound", "spd/bnd", "fallback", "e2e tx/s",
            "e2e/sig");
    }
    fflush(stdout);
}

static void print_json(const bench_opts *o, const bench_result *r)
{
    json_t *j = json_object();
    json_t *st = json_object();
    char root[65];
    size_t k;

    json_object_set_new(j, "workload", json_string(r->workload));
    json_object_set_new(j, "name", json_string(r->label));
    set_int(j, "accounts", r->accounts);
    set_int(j, "block_size", r->block_size);
    set_int(j, "blocks", r->blocks);
    set_real(j, "zipf", r->zipf);
    set_int(j, "threads", r->threads);
    json_object_set_new(j, "sync", json_string(o->sync_name));
    json_object_set_new(j, "pipeline", json_boolean(r->pipelined));
    /* How the engines were measured (bench_exec_cfg.warm). */
    json_object_set_new(j, "engine_state", json_string(r->warm
        ? "warm: one untimed execution of block 0, aborted, per engine"
        : "cold: a fresh engine per run"));
    set_int(j, "seq_page_faults", r->seq_faults);
    set_int(j, "par_page_faults", r->par_faults);
    set_int(j, "reps", r->reps);
    /* Executions of each block per run behind the execution figures
     * (--min-time): their median is the run's. */
    set_int(j, "inner", r->inner);
    set_real(j, "min_time_ms", o->min_time_ms);
    set_int(j, "seed", o->seed);
    set_int(j, "txs", r->txs);
    set_int(j, "failed_txs", r->failed);
    set_int(j, "batches", r->batches);
    set_int(j, "reexecutions", r->reexecutions);
    set_int(j, "fallback_blocks", r->fallback_blocks);
    json_object_set_new(j, "fallback", r->fallback == NULL ? json_null()
        : json_string(r->fallback));
    json_object_set_new(j, "sequential_block",
        json_boolean(r->seq_listed));
    set_real(j, "tx_work_us", r->tx_work_us);
    set_int(j, "tx_work_hashes", r->tx_work_hashes);
    set_real(j, "seq_exec_s", (double)r->seq_exec.med / 1e9);
    set_real(j, "seq_exec_min_s", (double)r->seq_exec.min / 1e9);
    set_real(j, "seq_exec_max_s", (double)r->seq_exec.max / 1e9);
    set_real(j, "par_exec_s", (double)r->par_exec.med / 1e9);
    set_real(j, "par_exec_min_s", (double)r->par_exec.min / 1e9);
    set_real(j, "par_exec_max_s", (double)r->par_exec.max / 1e9);
    set_real(j, "seq_total_s", (double)r->seq_total.med / 1e9);
    set_real(j, "par_total_s", (double)r->par_total.med / 1e9);
    set_real(j, "exec_speedup", r->exec_speedup);
    set_real(j, "exec_speedup_min", r->exec_speedup_min);
    set_real(j, "e2e_speedup", r->e2e_speedup);
    set_real(j, "ideal_speedup", r->ideal_speedup);
    set_real(j, "tps_e2e", r->tps_e2e);
    set_real(j, "tps_exec", r->tps_exec);
    set_real(j, "seq_tps_e2e", r->seq_tps_e2e);
    set_real(j, "verify_us", r->verify_us);
    set_real(j, "sig_bound_tps", r->sig_bound_tps);
    set_real(j, "sig_bound_ratio", r->sig_bound_ratio);
    set_real(j, "tps_e2e_unpipelined", r->tps_e2e_unpiped);
    set_real(j, "sig_bound_ratio_unpipelined", r->sig_bound_ratio_unpiped);
    set_real(j, "sig_bound_tps_unpipelined", r->sig_bound_tps_unpiped);
    if (r->have_proj) {
        json_t *ps = json_object(), *pi = json_object();
        for (k = 0; k < BENCH_NPROJ; k++) {
            char key[16];
            snprintf(key, sizeof(key), "%u", px_bench_proj_threads[k]);
            set_real(ps, key, r->proj_speedup[k]);
            set_real(pi, key, r->proj_ideal[k]);
        }
        json_object_set_new(j, "projected_speedup", ps);
        json_object_set_new(j, "projected_ideal", pi);
    } else {
        json_object_set_new(j, "projected_speedup", json_null());
        json_object_set_new(j, "projected_ideal", json_null());
    }
    if (r->have_bound) {
        set_real(j, "dag_bound", r->dag_bound);
        set_real(j, "speedup_over_bound", ratio_of(r->exec_speedup,
            r->dag_bound));
        set_int(j, "dag_depth", r->dag_depth);
    } else {
        json_object_set_new(j, "dag_bound", json_null());
        json_object_set_new(j, "speedup_over_bound", json_null());
        json_object_set_new(j, "dag_depth", json_null());
    }
    set_int(j, "peak_rss_bytes", r->peak_rss);
    for (k = 0; k < ST_N; k++) {
        set_int(st, px_bench_stage_names[k], r->stage[k].med);
    }
    json_object_set_new(j, "stage_ns", st);
    json_object_set_new(j, "bal", json_boolean(r->bal));
    if (r->bal) {
        set_int(j, "bal_bytes", r->bal_bytes);
        set_real(j, "bal_bytes_per_tx", r->bal_bytes_per_tx);
        set_real(j, "prod_off_total_s", (double)r->prod_off.med / 1e9);
        set_real(j, "prod_on_total_s", (double)r->prod_on.med / 1e9);
        set_real(j, "prod_bal_ratio", r->prod_ratio);
        set_real(j, "prod_bal_ratio_min", r->prod_ratio_min);
        set_real(j, "prod_bal_ratio_medians", r->prod_ratio_meds);
        json_object_set_new(j, "prod_pairs",
            json_integer((json_int_t)r->prod_pairs));
        {
            json_t *ps = json_object(), *off = json_object(),
                   *on = json_object();
            for (k = 0; k < ST_N; k++) {
                set_int(off, px_bench_stage_names[k],
                    r->prod_stage_off[k].med);
                set_int(on, px_bench_stage_names[k],
                    r->prod_stage_on[k].med);
            }
            json_object_set_new(ps, "off", off);
            json_object_set_new(ps, "on", on);
            json_object_set_new(j, "prod_stage_ns", ps);
        }
    } else {
        json_object_set_new(j, "bal_bytes", json_null());
        json_object_set_new(j, "bal_bytes_per_tx", json_null());
        json_object_set_new(j, "prod_off_total_s", json_null());
        json_object_set_new(j, "prod_on_total_s", json_null());
        json_object_set_new(j, "prod_bal_ratio", json_null());
        json_object_set_new(j, "prod_bal_ratio_min", json_null());
        json_object_set_new(j, "prod_bal_ratio_medians", json_null());
        json_object_set_new(j, "prod_pairs", json_null());
        json_object_set_new(j, "prod_stage_ns", json_null());
    }
    node_hex(root, r->root, 32);
    json_object_set_new(j, "state_root", json_string(root));
    json_object_set_new(j, "roots_match", json_boolean(r->roots_match));
    emit(j);
}

/* The fallback cell: "-", the reason, or "k/n reason" when only some
 * blocks fell back. */
static void fallback_cell(char *buf, size_t n, const bench_result *r)
{
    if (r->fallback_blocks == 0 || r->fallback == NULL) {
        snprintf(buf, n, "-");
    } else if (r->fallback_blocks == r->blocks) {
        snprintf(buf, n, "%s", r->fallback);
    } else {
        snprintf(buf, n, "%llu/%llu %s",
            (unsigned long long)r->fallback_blocks,
            (unsigned long long)r->blocks, r->fallback);
    }
}

void px_bench_print_result(const bench_opts *o, const bench_result *r)
{
    char bound[16], frac[16], fb[40];
    size_t k;

    if (o->json) {
        print_json(o, r);
        return;
    }
    if (r->have_bound) {
        snprintf(bound, sizeof(bound), "%.2fx", r->dag_bound);
        snprintf(frac, sizeof(frac), "%.2f", ratio_of(r->exec_speedup,
            r->dag_bound));
    } else {
        snprintf(bound, sizeof(bound), "-");
        snprintf(frac, sizeof(frac), "-");
    }
    fallback_cell(fb, sizeof(fb), r);
    printf("%-34.34s %3u %7llu %5llu %6llu %9.1f %9.1f %6.2fx %6s %7s "
        "%-11.11s %9.0f %7.2f%s\n", r->label, r->threads,
        (unsigned long long)r->txs, (unsigned long long)r->batches,
        (unsigned long long)r->reexecutions, ms(r->seq_exec.med),
        ms(r->par_exec.med), r->exec_speedup, bound, frac, fb, r->tps_e2e,
        r->sig_bound_ratio, r->roots_match ? "" : "  MISMATCH");
    if (r->bal) {
        printf("    bal: %.1f bytes/tx (%llu bytes); production ms with "
            "recording off %.1f, on %.1f: x%.3f (median of %zu pairs; "
            "of the medians x%.3f, fastest runs x%.3f)\n",
            r->bal_bytes_per_tx, (unsigned long long)r->bal_bytes,
            ms(r->prod_off.med), ms(r->prod_on.med), r->prod_ratio,
            r->prod_pairs, r->prod_ratio_meds, r->prod_ratio_min);
    }
    if (o->details) {
        printf("    exec ms seq %.1f [%.1f-%.1f], par %.1f [%.1f-%.1f]; "
            "ideal min(thr, txs/batches) %.2fx; rss %.1f MiB\n",
            ms(r->seq_exec.med), ms(r->seq_exec.min), ms(r->seq_exec.max),
            ms(r->par_exec.med), ms(r->par_exec.min), ms(r->par_exec.max),
            r->ideal_speedup, mib(r->peak_rss));
        printf("    par stages ms:");
        for (k = 0; k < ST_N; k++) {
            printf(" %s %.2f", px_bench_stage_names[k], ms(r->stage[k].med));
        }
        if (r->bal) {
            /* Where the recording's cost goes: the recording is in
             * apply, the BAL's hash in root, its bytes in commit. */
            printf("\n    production stages ms, recording off -> on:");
            for (k = 0; k < ST_N; k++) {
                printf(" %s %.2f->%.2f", px_bench_stage_names[k],
                    ms(r->prod_stage_off[k].med),
                    ms(r->prod_stage_on[k].med));
            }
        }
        printf("\n    exec %.0f tx/s; exec speedup of the fastest reps "
            "%.2fx; e2e speedup %.2fx;\n    signature bound %.0f tx/s "
            "(%.1f us/verify/core), e2e at %.2f of it%s;\n"
            "    unpipelined e2e (the same reps) %.0f tx/s, at %.2f of "
            "%.0f tx/s (the engine's cores)\n",
            r->tps_exec, r->exec_speedup_min, r->e2e_speedup,
            r->sig_bound_tps, r->verify_us, r->sig_bound_ratio,
            r->pipelined ? " (pipelined: every CPU verifies)" : "",
            r->tps_e2e_unpiped, r->sig_bound_ratio_unpiped,
            r->sig_bound_tps_unpiped);
        if (r->have_proj) {
            printf("    projected batch-schedule speedup (ideal):");
            for (k = 0; k < BENCH_NPROJ; k++) {
                printf(" %u: %.1fx (%.1fx)", px_bench_proj_threads[k],
                    r->proj_speedup[k], r->proj_ideal[k]);
            }
            printf("\n");
        }
    }
    fflush(stdout);
}

void px_bench_print_rss(const bench_opts *o, const bench_work *w,
    const bench_rss *r)
{
    double growth = r->rss_early > 0
        ? (double)r->rss_last / (double)r->rss_early : 0.0;

    if (o->json) {
        json_t *j = json_object();
        json_object_set_new(j, "mode", json_string("rss"));
        json_object_set_new(j, "workload", json_string(w->workload));
        json_object_set_new(j, "name", json_string(w->label));
        set_int(j, "accounts", w->accounts);
        set_int(j, "block_size", w->block_size);
        set_int(j, "threads", r->threads);
        json_object_set_new(j, "sync", json_string(o->sync_name));
        set_int(j, "blocks", r->blocks);
        set_int(j, "txs", r->txs);
        set_int(j, "early_block", r->early_block);
        set_int(j, "rss_early_bytes", r->rss_early);
        set_int(j, "rss_last_bytes", r->rss_last);
        set_int(j, "rss_max_bytes", r->rss_max);
        set_real(j, "rss_growth", growth);
        set_int(j, "rss_anon_early_bytes", r->anon_early);
        set_int(j, "rss_anon_last_bytes", r->anon_last);
        set_int(j, "rss_file_early_bytes", r->file_early);
        set_int(j, "rss_file_last_bytes", r->file_last);
        set_real(j, "early_block_ms", r->early_ms_per_block);
        set_real(j, "last_block_ms", r->last_ms_per_block);
        set_int(j, "peak_rss_bytes", px_bench_peak_rss());
        emit(j);
        return;
    }
    printf("rss: %s, %u threads, %llu blocks (%llu txs): RSS after block "
        "%llu %.1f MiB, after block %llu %.1f MiB (x%.3f), max %.1f MiB; "
        "block time %.1f ms -> %.1f ms\n", w->label, r->threads,
        (unsigned long long)r->blocks, (unsigned long long)r->txs,
        (unsigned long long)r->early_block, mib(r->rss_early),
        (unsigned long long)r->blocks, mib(r->rss_last), growth,
        mib(r->rss_max), r->early_ms_per_block, r->last_ms_per_block);
    printf("    of which anonymous (heap) %.1f -> %.1f MiB, file pages (LMDB "
        "map) %.1f -> %.1f MiB\n", mib(r->anon_early), mib(r->anon_last),
        mib(r->file_early), mib(r->file_last));
    fflush(stdout);
}

void px_bench_print_scaling(const bench_opts *o, const bench_result *res,
    size_t n)
{
    size_t t, i;

    for (t = 0; t < o->nthreads; t++) {
        const bench_result *lo = NULL, *hi = NULL;
        double e_lo, e_hi, t_lo, t_hi;

        for (i = 0; i < n; i++) {
            if (res[i].threads != o->threads[t] || res[i].txs == 0) {
                continue;
            }
            if (lo == NULL || res[i].block_size < lo->block_size) {
                lo = &res[i];
            }
            if (hi == NULL || res[i].block_size > hi->block_size) {
                hi = &res[i];
            }
        }
        if (lo == NULL || lo == hi) {
            continue;
        }
        e_lo = (double)lo->par_exec.med / (double)lo->txs;
        e_hi = (double)hi->par_exec.med / (double)hi->txs;
        t_lo = (double)lo->par_total.med / (double)lo->txs;
        t_hi = (double)hi->par_total.med / (double)hi->txs;
        if (o->json) {
            json_t *j = json_object();
            json_object_set_new(j, "mode", json_string("scaling"));
            json_object_set_new(j, "workload", json_string(lo->workload));
            set_int(j, "accounts", lo->accounts);
            set_int(j, "threads", o->threads[t]);
            json_object_set_new(j, "sync", json_string(o->sync_name));
            set_int(j, "small_block_size", lo->block_size);
            set_int(j, "large_block_size", hi->block_size);
            set_real(j, "small_exec_ns_per_tx", e_lo);
            set_real(j, "large_exec_ns_per_tx", e_hi);
            set_real(j, "exec_ratio", e_lo > 0 ? e_hi / e_lo : 0.0);
            set_real(j, "small_e2e_ns_per_tx", t_lo);
            set_real(j, "large_e2e_ns_per_tx", t_hi);
            set_real(j, "e2e_ratio", t_lo > 0 ? t_hi / t_lo : 0.0);
            emit(j);
            continue;
        }
        printf("# scaling, %u threads: exec %.0f ns/tx at %llu-tx blocks, "
            "%.0f ns/tx at %llu-tx blocks (x%.2f); end to end %.0f -> %.0f "
            "ns/tx (x%.2f); target <= 1.20\n", o->threads[t], e_lo,
            (unsigned long long)lo->block_size, e_hi,
            (unsigned long long)hi->block_size, e_hi / e_lo, t_lo, t_hi,
            t_hi / t_lo);
    }
    fflush(stdout);
}

/* Geomeans and minimums of one summary row. */
typedef struct sum_row {
    size_t runs, nb;
    double spd_log, spd_min, frac_log, frac_min;
    uint64_t fallbacks;
} sum_row;

static void sum_add(sum_row *s, const bench_result *r)
{
    if (!(r->exec_speedup > 0)) {
        return;
    }
    if (s->runs == 0 || r->exec_speedup < s->spd_min) {
        s->spd_min = r->exec_speedup;
    }
    s->runs++;
    s->spd_log += log(r->exec_speedup);
    s->fallbacks += r->fallback_blocks;
    if (r->have_bound && r->dag_bound > 0) {
        double f = r->exec_speedup / r->dag_bound;
        if (s->nb == 0 || f < s->frac_min) {
            s->frac_min = f;
        }
        s->nb++;
        s->frac_log += log(f);
    }
}

static void sum_print(const char *what, unsigned threads, const sum_row *s)
{
    if (s->runs == 0) {
        return;
    }
    printf("%-44s %3u %5zu %8.2fx %6.2fx", what, threads, s->runs,
        exp(s->spd_log / (double)s->runs), s->spd_min);
    if (s->nb > 0) {
        printf(" %10.2f %6.2f", exp(s->frac_log / (double)s->nb),
            s->frac_min);
    } else {
        printf(" %10s %6s", "-", "-");
    }
    printf(" %9llu\n", (unsigned long long)s->fallbacks);
}

/* The chain of a result: a trace's directory ("ethereum"), else the
 * workload ("p2p", "hot"), into buf. */
static void chain_of(char *buf, size_t n, const bench_result *r)
{
    size_t len = strcspn(r->label, "/");

    if (strcmp(r->workload, "trace") != 0 || r->label[len] != '/') {
        snprintf(buf, n, "%s", r->workload);
        return;
    }
    snprintf(buf, n, "%.*s", (int)len, r->label);
}

/* --bal: per thread count and chain, the BAL's bytes per tx (all of the
 * chain's bytes over its txs) and the production cost of recording
 * (geomean and max of on / off). */
static void bal_summary(const bench_opts *o, const bench_result *res,
    size_t n)
{
    size_t t, i, k;

    if (!o->bal) {
        return;
    }
    printf("\n# BAL size per chain and production with BAL recording on / "
        "off (end to end; geomean and max over the runs)\n");
    printf("%-24s %3s %5s %9s %11s %8s %8s\n", "chain", "thr", "runs",
        "txs", "bytes/tx", "prod", "max");
    for (t = 0; t < o->nthreads; t++) {
        for (i = 0; i < n; i++) {
            char chain[64], other[64];
            uint64_t txs = 0, bytes = 0;
            double lg = 0, mx = 0;
            size_t runs = 0;
            int seen = 0;

            if (res[i].threads != o->threads[t] || !res[i].bal) {
                continue;
            }
            chain_of(chain, sizeof(chain), &res[i]);
            /* Once per chain: at its first result. */
            for (k = 0; k < i && !seen; k++) {
                chain_of(other, sizeof(other), &res[k]);
                seen = res[k].threads == o->threads[t] && res[k].bal &&
                    strcmp(chain, other) == 0;
            }
            if (seen) {
                continue;
            }
            for (k = i; k < n; k++) {
                chain_of(other, sizeof(other), &res[k]);
                if (res[k].threads != o->threads[t] || !res[k].bal ||
                        strcmp(chain, other) != 0) {
                    continue;
                }
                txs += res[k].txs;
                bytes += res[k].bal_bytes;
                if (res[k].prod_ratio > 0) {
                    lg += log(res[k].prod_ratio);
                    mx = res[k].prod_ratio > mx ? res[k].prod_ratio : mx;
                    runs++;
                }
            }
            printf("%-24.24s %3u %5zu %9llu %11.1f %7.3fx %7.3fx\n", chain,
                o->threads[t], runs, (unsigned long long)txs,
                txs > 0 ? (double)bytes / (double)txs : 0.0,
                runs > 0 ? exp(lg / (double)runs) : 0.0, mx);
        }
    }
}

void px_bench_print_summary(const bench_opts *o, const bench_result *res,
    size_t n)
{
    static const char *const kinds[] = { "p2p", "p2p zipf", "hot" };
    size_t t, i, k, mismatches = 0;

    for (i = 0; i < n; i++) {
        mismatches += !res[i].roots_match;
    }
    if (o->json || n == 0) {
        return;
    }
    printf("\n# summary: exec speedup%s and speedup / dependency-graph "
        "bound, geomean and min over the runs\n",
        o->bal ? " of BAL validation over the sequential reference" : "");
    printf("%-44s %3s %5s %9s %7s %10s %6s %9s\n", "workloads", "thr",
        "runs", "speedup", "min", "spd/bound", "min", "fallbacks");
    for (t = 0; t < o->nthreads; t++) {
        unsigned thr = o->threads[t];
        sum_row all = {0}, big = {0}, par = {0};

        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            sum_row s = {0};
            for (i = 0; i < n; i++) {
                const bench_result *r = &res[i];
                const char *kind = strcmp(r->workload, "hot") == 0 ? "hot"
                    : strcmp(r->workload, "p2p") != 0 ? NULL
                    : r->zipf > 0 ? "p2p zipf" : "p2p";
                if (r->threads == thr && kind != NULL &&
                        strcmp(kind, kinds[k]) == 0) {
                    sum_add(&s, r);
                }
            }
            sum_print(kinds[k], thr, &s);
        }
        for (i = 0; i < n; i++) {
            const bench_result *r = &res[i];
            if (r->threads != thr || strcmp(r->workload, "trace") != 0) {
                continue;
            }
            sum_add(&all, r);
            /* Blocks big enough for the timing to mean something. */
            if (r->txs >= 100 * (r->blocks == 0 ? 1 : r->blocks)) {
                sum_add(&big, r);
                if (!r->seq_listed) {
                    sum_add(&par, r);
                }
            }
        }
        sum_print("real blocks, all", thr, &all);
        sum_print("real blocks >= 100 txs", thr, &big);
        sum_print("  without the 8 sequential Ethereum blocks", thr, &par);
    }
    bal_summary(o, res, n);
    printf("# %zu runs, %zu state root mismatches\n", n, mismatches);
    fflush(stdout);
}

void px_bench_progress_update(bench_progress *pg, const char *what,
    size_t i, size_t n)
{
    if (pg == NULL || !pg->on) {
        return;
    }
    /* On a terminal the line rewrites itself; elsewhere (a log) each
     * update is a line of its own. */
    fprintf(stderr, "%s[%zu/%zu] %.48s, %u thr: %s %zu/%zu, %.0f s",
        pg->tty ? "\r\033[K" : "", pg->done + 1, pg->total,
        pg->label == NULL ? "" : pg->label,
        pg->threads, what, i + 1 > n ? n : i + 1, n,
        (double)(node_now_ns() - pg->t0_ns) / 1e9);
    if (!pg->tty) {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

void px_bench_progress_clear(bench_progress *pg)
{
    if (pg == NULL || !pg->on || !pg->tty) {
        return;
    }
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
}
