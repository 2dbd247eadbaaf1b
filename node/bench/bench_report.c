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
    printf("# parex bench: sync=%s reps=%llu seed=%llu cpus=%u; exec = "
        "analysis+exec+validate+apply; median [min-max] of the reps\n",
        o->sync_name, (unsigned long long)o->reps,
        (unsigned long long)o->seed, node_cpus());
    if (o->rss_blocks == 0) {
        printf("%-40s %3s %7s %6s %6s %18s %18s %7s %6s %10s %8s\n",
            "workload", "thr", "txs", "batch", "reexec", "seq exec ms",
            "par exec ms", "speedup", "ideal", "e2e tx/s", "rss MiB");
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
    set_int(j, "reps", r->reps);
    set_int(j, "seed", o->seed);
    set_int(j, "txs", r->txs);
    set_int(j, "failed_txs", r->failed);
    set_int(j, "batches", r->batches);
    set_int(j, "reexecutions", r->reexecutions);
    set_int(j, "fallback_blocks", r->fallback_blocks);
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
    set_int(j, "peak_rss_bytes", r->peak_rss);
    for (k = 0; k < ST_N; k++) {
        set_int(st, px_bench_stage_names[k], r->stage[k].med);
    }
    json_object_set_new(j, "stage_ns", st);
    node_hex(root, r->root, 32);
    json_object_set_new(j, "state_root", json_string(root));
    json_object_set_new(j, "roots_match", json_boolean(r->roots_match));
    emit(j);
}

void px_bench_print_result(const bench_opts *o, const bench_result *r)
{
    char a[48], b[48];
    size_t k;

    if (o->json) {
        print_json(o, r);
        return;
    }
    snprintf(a, sizeof(a), "%.1f [%.1f-%.1f]", ms(r->seq_exec.med),
        ms(r->seq_exec.min), ms(r->seq_exec.max));
    snprintf(b, sizeof(b), "%.1f [%.1f-%.1f]", ms(r->par_exec.med),
        ms(r->par_exec.min), ms(r->par_exec.max));
    printf("%-40.40s %3u %7llu %6llu %6llu %18s %18s %6.2fx %5.2fx "
        "%10.0f %8.1f%s\n", r->label, r->threads,
        (unsigned long long)r->txs, (unsigned long long)r->batches,
        (unsigned long long)r->reexecutions, a, b, r->exec_speedup,
        r->ideal_speedup, r->tps_e2e, mib(r->peak_rss),
        r->roots_match ? "" : "  MISMATCH");
    printf("    par stages ms:");
    for (k = 0; k < ST_N; k++) {
        printf(" %s %.2f", px_bench_stage_names[k], ms(r->stage[k].med));
    }
    printf("\n    exec %.0f tx/s; exec speedup of the fastest reps %.2fx; "
        "e2e speedup %.2fx;\n    signature bound %.0f tx/s (%.1f "
        "us/verify/core), e2e at %.2f of it\n", r->tps_exec,
        r->exec_speedup_min, r->e2e_speedup, r->sig_bound_tps, r->verify_us, r->sig_bound_ratio);
    if (r->have_proj) {
        printf("    projected speedup (ideal):");
        for (k = 0; k < BENCH_NPROJ; k++) {
            printf(" %u: %.1fx (%.1fx)", px_bench_proj_threads[k],
                r->proj_speedup[k], r->proj_ideal[k]);
        }
        printf("\n");
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

void px_bench_print_summary(const bench_opts *o, const char *what,
    const bench_result *res, size_t n)
{
    size_t t, i, mismatches = 0;

    for (i = 0; i < n; i++) {
        mismatches += !res[i].roots_match;
    }
    if (o->json || n == 0) {
        return;
    }
    for (t = 0; t < o->nthreads; t++) {
        size_t runs = 0, big = 0;
        double sum_log = 0, min = 0, big_log = 0, big_min = 0;

        for (i = 0; i < n; i++) {
            const bench_result *r = &res[i];
            if (r->threads != o->threads[t] || r->exec_speedup <= 0) {
                continue;
            }
            if (runs == 0 || r->exec_speedup < min) {
                min = r->exec_speedup;
            }
            runs++;
            sum_log += log(r->exec_speedup);
            /* Speedup against the ideal, over blocks big enough for the
             * timing to mean something. */
            if (r->txs >= 100 * r->blocks) {
                double frac = r->exec_speedup / r->ideal_speedup;
                if (big == 0 || frac < big_min) {
                    big_min = frac;
                }
                big++;
                big_log += log(frac);
            }
        }
        if (runs == 0) {
            continue;
        }
        printf("# %s, %u threads: %zu runs, exec speedup geomean %.2fx, "
            "min %.2fx", what, o->threads[t], runs,
            exp(sum_log / (double)runs), min);
        if (big > 0) {
            printf("; blocks >= 100 txs: %zu, speedup/ideal geomean %.2f, "
                "min %.2f", big, exp(big_log / (double)big), big_min);
        }
        printf("\n");
    }
    printf("# %s: %zu state root mismatches\n", what, mismatches);
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
