/* `parex bench --plot FILE.png`: a gnuplot script with the data inline
 * (datablocks, gnuplot >= 5.0), run as a child process.
 *
 * Panels: end-to-end tx/s against threads, with the signature bound (every
 * workload climbs alike there: verification dominates); exec speedup
 * against threads, measured and projected from the batch schedule; exec
 * speedup and tx/s of p2p against the number of accounts (contention falls
 * as accounts grow). Traces are drawn as one series, the geometric mean
 * over the trace blocks. Measured lines are drawn first (solid), then the
 * projections (dashed), a workload's in the colour of its measured line.
 */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define PLOT_MAX_POINTS 64

typedef struct plot_series {
    char title[160];
    double x[PLOT_MAX_POINTS], y[PLOT_MAX_POINTS];
    double logsum[PLOT_MAX_POINTS];   /* for geometric means */
    size_t cnt[PLOT_MAX_POINTS];
    size_t n;
    int dashed;
    int grey;                /* a reference line, not a workload */
    size_t colour;           /* gnuplot linetype: the workload's */
} plot_series;

typedef struct plot_panel {
    const char *title, *xlabel, *ylabel;
    int logx;                /* 0, or the base of a log x axis */
    int logy, diagonal;
    plot_series *s;
    size_t n, cap;
    size_t ncolours;
} plot_panel;

static int on_path(const char *prog)
{
    const char *path = getenv("PATH");
    char buf[4096];

    while (path != NULL && *path != '\0') {
        size_t n = strcspn(path, ":");
        if (n > 0 && n + strlen(prog) + 2 < sizeof(buf)) {
            memcpy(buf, path, n);
            buf[n] = '/';
            strcpy(buf + n + 1, prog);
            if (access(buf, X_OK) == 0) {
                return 1;
            }
        }
        path += n;
        if (*path == ':') {
            path++;
        }
    }
    return 0;
}

void px_bench_plot_check(void)
{
    if (!on_path("gnuplot")) {
        node_die(NODE_EXIT_RUNTIME, "bench: --plot needs gnuplot, which is "
            "not on PATH (Debian: apt-get install gnuplot-nox)");
    }
}

/* The series of title (dashed or not) in p, created on first use. The
 * colour follows the workload: a dashed series takes the colour of the
 * solid one of the same title. */
static plot_series *series_of(plot_panel *p, const char *title, int dashed,
    int grey)
{
    plot_series *s;
    size_t i;

    for (i = 0; i < p->n; i++) {
        if (strcmp(p->s[i].title, title) == 0 && p->s[i].dashed == dashed) {
            return &p->s[i];
        }
    }
    if (p->n == p->cap) {
        p->cap = p->cap == 0 ? 8 : 2 * p->cap;
        p->s = node_realloc(p->s, p->cap * sizeof(*p->s));
    }
    s = &p->s[p->n];
    memset(s, 0, sizeof(*s));
    /* gnuplot strings: no quotes or backslashes in titles. */
    snprintf(s->title, sizeof(s->title), "%s", title);
    for (i = 0; s->title[i] != '\0'; i++) {
        if (s->title[i] == '"' || s->title[i] == '\\') {
            s->title[i] = '_';
        }
    }
    s->dashed = dashed;
    s->grey = grey;
    p->n++;
    if (grey) {
        return s;
    }
    s->colour = p->ncolours + 1;
    for (i = 0; i + 1 < p->n; i++) {
        if (!p->s[i].grey && strcmp(p->s[i].title, s->title) == 0) {
            s->colour = p->s[i].colour;
            return s;
        }
    }
    p->ncolours++;
    return s;
}

static plot_series *series(plot_panel *p, const char *title, int dashed)
{
    return series_of(p, title, dashed, 0);
}

/* Add (x, y) to s; points with equal x are combined by geometric mean. */
static void point(plot_series *s, double x, double y)
{
    size_t i;

    if (!(y > 0) || !isfinite(y)) {
        return;
    }
    for (i = 0; i < s->n; i++) {
        if (s->x[i] == x) {
            break;
        }
    }
    if (i == s->n) {
        if (s->n == PLOT_MAX_POINTS) {
            return;
        }
        s->x[s->n++] = x;
    }
    s->logsum[i] += log(y);
    s->cnt[i]++;
    s->y[i] = exp(s->logsum[i] / (double)s->cnt[i]);
}

static int cmp_x(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return *x < *y ? -1 : *x > *y;
}

static void write_panel(FILE *f, const plot_panel *p, size_t id)
{
    size_t i, k;
    int pass;

    for (i = 0; i < p->n; i++) {
        const plot_series *s = &p->s[i];
        double xy[2 * PLOT_MAX_POINTS];
        for (k = 0; k < s->n; k++) {
            xy[2 * k] = s->x[k];
            xy[2 * k + 1] = s->y[k];
        }
        qsort(xy, s->n, 2 * sizeof(double), cmp_x);
        fprintf(f, "$d%zu_%zu << EOD\n", id, i);
        for (k = 0; k < s->n; k++) {
            fprintf(f, "%.6g %.6g\n", xy[2 * k], xy[2 * k + 1]);
        }
        fprintf(f, "EOD\n");
    }
    fprintf(f, "set title \"%s\"\nset xlabel \"%s\"\nset ylabel \"%s\"\n",
        p->title, p->xlabel, p->ylabel);
    if (p->logx > 0) {
        fprintf(f, "set logscale x %d\n", p->logx);
    } else {
        fprintf(f, "unset logscale x\n");
    }
    fprintf(f, "%s logscale y\n", p->logy ? "set" : "unset");
    /* Measured (solid) lines first, so that they are drawn beneath
     * nothing and head the legend; then the projections and the
     * reference lines. */
    fprintf(f, "plot ");
    for (k = 0, pass = 0; pass < 2; pass++) {
        for (i = 0; i < p->n; i++) {
            const plot_series *s = &p->s[i];
            if ((s->dashed || s->grey) != (pass == 1)) {
                continue;
            }
            fprintf(f, "%s$d%zu_%zu with linespoints dt %d lw 2 ",
                k++ == 0 ? "" : ", ", id, i, s->dashed ? 2 : 1);
            if (s->grey) {
                fprintf(f, "lc rgb \"gray40\" ");
            } else {
                fprintf(f, "lc %zu ", s->colour);
            }
            fprintf(f, "title \"%s\"", s->title);
        }
    }
    if (p->diagonal) {
        fprintf(f, ", x with lines dt 3 lc rgb \"gray\" title \"linear\"");
    }
    fprintf(f, "\n");
}

/* The series a result belongs to against threads: one per workload, or,
 * when a sweep has more workloads than a legend can show, one per p2p
 * block size (geometric mean over the account counts). Traces are always
 * one series. */
static const char *key_of(const bench_result *r, int many, char *buf,
    size_t n)
{
    if (strcmp(r->workload, "trace") == 0) {
        return "traces (geomean)";
    }
    if (many && strcmp(r->workload, "p2p") == 0) {
        snprintf(buf, n, "p2p block=%llu%s (geomean over accounts)",
            (unsigned long long)r->block_size, r->zipf > 0 ? " zipf" : "");
        return buf;
    }
    snprintf(buf, n, "%s", r->label);
    return buf;
}

static unsigned max_threads(const bench_opts *o)
{
    unsigned m = 0;
    size_t t;

    for (t = 0; t < o->nthreads; t++) {
        m = o->threads[t] > m ? o->threads[t] : m;
    }
    return m;
}

int px_bench_plot(const char *file, const bench_opts *o,
    const bench_result *res, size_t n)
{
    plot_panel pan[4];
    char *dir = node_tmpdir("plot"), *script;
    char key[300];
    unsigned top = max_threads(o);
    size_t i, k, npanels = 0, nlabels = 0;
    FILE *f;
    pid_t pid;
    int status, rc = -1;
    char *argv[3];

    memset(pan, 0, sizeof(pan));
    pan[0].title = "end-to-end throughput: bound by signature "
        "verification (dashed grey)";
    pan[0].xlabel = "threads";
    pan[0].ylabel = "tx/s";
    pan[0].logx = 2;
    pan[1].title = "exec speedup: measured (solid), projected from the "
        "batch schedule (dashed)";
    pan[1].xlabel = "threads";
    pan[1].ylabel = "speedup over sequential";
    pan[1].logx = 2;
    pan[1].logy = pan[1].diagonal = 1;
    pan[2].title = "p2p exec speedup against contention";
    pan[2].xlabel = "accounts";
    pan[2].ylabel = "speedup over sequential";
    pan[2].logx = 10;
    pan[2].logy = 1;
    pan[3].title = "p2p end-to-end throughput against contention";
    pan[3].xlabel = "accounts";
    pan[3].ylabel = "tx/s";
    pan[3].logx = 10;
    for (i = 0; i < n; i++) {
        if (res[i].threads == top) {
            nlabels++;
        }
    }
    for (i = 0; i < n; i++) {
        const bench_result *r = &res[i];
        const char *kk = key_of(r, nlabels > 6, key, sizeof(key));
        char t[200];

        point(series(&pan[0], kk, 0), r->threads, r->tps_e2e);
        if (r->sig_bound_tps > 0) {
            point(series_of(&pan[0], "signature bound", 1, 1), r->threads,
                r->sig_bound_tps);
        }
        point(series(&pan[1], kk, 0), r->threads, r->exec_speedup);
        if (r->have_proj && r->threads == top) {
            plot_series *s = series(&pan[1], kk, 1);
            for (k = 0; k < BENCH_NPROJ; k++) {
                point(s, px_bench_proj_threads[k], r->proj_speedup[k]);
            }
        }
        if (strcmp(r->workload, "p2p") != 0) {
            continue;
        }
        snprintf(t, sizeof(t), "%u thr, block %llu%s", r->threads,
            (unsigned long long)r->block_size, r->zipf > 0 ? ", zipf" : "");
        point(series(&pan[2], t, 0), (double)r->accounts, r->exec_speedup);
        point(series(&pan[3], t, 0), (double)r->accounts, r->tps_e2e);
        if (r->have_proj && r->threads == top) {
            /* Projections at 8 and 64 threads (indices 1 and 4). */
            for (k = 1; k < BENCH_NPROJ; k += 3) {
                snprintf(t, sizeof(t), "projected %u thr, block %llu%s",
                    px_bench_proj_threads[k],
                    (unsigned long long)r->block_size,
                    r->zipf > 0 ? ", zipf" : "");
                point(series(&pan[2], t, 1), (double)r->accounts,
                    r->proj_speedup[k]);
            }
        }
    }
    for (k = 0; k < 4; k++) {
        npanels += pan[k].n > 0;
    }
    script = node_malloc(strlen(dir) + 16);
    sprintf(script, "%s/plot.gp", dir);
    f = fopen(script, "w");
    if (f == NULL) {
        node_warn("%s: cannot write: %s", script, strerror(errno));
        goto out;
    }
    fprintf(f, "set terminal pngcairo size 1400,%d font \",10\"\n"
        "set output \"%s\"\nset termoption noenhanced\nset grid\n"
        "set key top left font \",8\"\nset multiplot layout %d,2 title "
        "\"parex bench (sync=%s, cpus=%u)\"\n",
        npanels > 2 ? 1000 : 520, file, npanels > 2 ? 2 : 1, o->sync_name,
        node_cpus());
    for (k = 0; k < 4; k++) {
        if (pan[k].n > 0) {
            write_panel(f, &pan[k], k);
        }
    }
    fprintf(f, "unset multiplot\n");
    if (fclose(f) != 0) {
        node_warn("%s: cannot write: %s", script, strerror(errno));
        goto out;
    }
    argv[0] = "gnuplot";
    argv[1] = script;
    argv[2] = NULL;
    status = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);
    if (status != 0) {
        node_warn("bench: --plot: cannot run gnuplot: %s", strerror(status));
        goto out;
    }
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
            WEXITSTATUS(status) != 0) {
        node_warn("bench: --plot: gnuplot failed drawing %s (its messages "
            "are above)", file);
        goto out;
    }
    rc = 0;
out:
    for (k = 0; k < 4; k++) {
        free(pan[k].s);
    }
    if (node_rmtree(dir) != 0) {
        node_warn("%s: cannot remove: %s", dir, strerror(errno));
    }
    free(script);
    free(dir);
    return rc;
}

/* One --json line back into the fields the plot uses. */
static int result_from_json(bench_result *r, char *err, const char *where,
    const json_t *o)
{
    const json_t *ps = json_object_get(o, "projected_speedup");
    const char *wl = json_string_value(json_object_get(o, "workload"));
    const char *name = json_string_value(json_object_get(o, "name"));
    static const char *const reals[] = { "zipf", "tps_e2e", "exec_speedup" };
    double *dst[3];
    size_t k;

    memset(r, 0, sizeof(*r));
    if (wl == NULL || name == NULL) {
        return node_err(err, "%s: field 'workload' or 'name' missing or not "
            "a string", where);
    }
    /* The plot compares workloads by name only; keep the known ones. */
    r->workload = strcmp(wl, "p2p") == 0 ? "p2p" : strcmp(wl, "hot") == 0
        ? "hot" : "trace";
    snprintf(r->label, sizeof(r->label), "%s", name);
    if (node_json_u64(&r->accounts, err, where, "accounts",
            json_object_get(o, "accounts")) != 0 ||
        node_json_u64(&r->block_size, err, where, "block_size",
            json_object_get(o, "block_size")) != 0) {
        return -1;
    }
    {
        uint64_t t;
        if (node_json_u64(&t, err, where, "threads",
                json_object_get(o, "threads")) != 0 || t == 0 || t > 4096) {
            return node_err(err, "%s: field 'threads' missing or not in "
                "1..4096", where);
        }
        r->threads = (unsigned)t;
    }
    dst[0] = &r->zipf;
    dst[1] = &r->tps_e2e;
    dst[2] = &r->exec_speedup;
    for (k = 0; k < 3; k++) {
        const json_t *v = json_object_get(o, reals[k]);
        if (!json_is_number(v)) {
            return node_err(err, "%s: field '%s' missing or not a number",
                where, reals[k]);
        }
        *dst[k] = json_number_value(v);
    }
    /* Optional: lines written before the field existed have none. */
    if (json_is_number(json_object_get(o, "sig_bound_tps"))) {
        r->sig_bound_tps = json_number_value(json_object_get(o,
            "sig_bound_tps"));
    }
    if (json_is_object(ps)) {
        for (k = 0; k < BENCH_NPROJ; k++) {
            char key[16];
            const json_t *v;
            snprintf(key, sizeof(key), "%u", px_bench_proj_threads[k]);
            v = json_object_get(ps, key);
            if (!json_is_number(v)) {
                return node_err(err, "%s: field 'projected_speedup.%s' "
                    "missing or not a number", where, key);
            }
            r->proj_speedup[k] = json_number_value(v);
        }
        r->have_proj = 1;
    }
    return 0;
}

int px_bench_replot(const char *in, const char *out, bench_opts *o)
{
    char err[NODE_ERR_LEN], where[512];
    bench_result *res = NULL;
    size_t n = 0, cap = 0, line = 0;
    char *text = NULL, *p, *nl;
    size_t len;
    int rc = -1;

    if (node_read_file(&text, &len, in) != 0) {
        node_warn("%s: cannot read: %s", in, strerror(errno));
        return -1;
    }
    for (p = text; *p != '\0'; p = nl) {
        json_error_t je;
        json_t *j;

        line++;
        nl = strchr(p, '\n');
        if (nl == NULL) {
            nl = p + strlen(p);
        } else {
            *nl++ = '\0';
        }
        if (*p == '\0') {
            continue;
        }
        snprintf(where, sizeof(where), "%s:%zu", in, line);
        j = json_loads(p, 0, &je);
        if (!json_is_object(j)) {
            node_warn("%s: not a JSON object: %s", where, je.text);
            json_decref(j);
            goto out;
        }
        /* The --rss-blocks and --scaling lines have no per-run figures. */
        if (json_object_get(j, "mode") != NULL) {
            json_decref(j);
            continue;
        }
        if (n == cap) {
            cap = cap == 0 ? 32 : 2 * cap;
            res = node_realloc(res, cap * sizeof(*res));
        }
        if (result_from_json(&res[n], err, where, j) != 0) {
            node_warn("%s", err);
            json_decref(j);
            goto out;
        }
        if (n == 0) {
            const char *sync = json_string_value(json_object_get(j,
                "sync"));
            snprintf(o->replot_sync, sizeof(o->replot_sync), "%s",
                sync == NULL ? "?" : sync);
            o->sync_name = o->replot_sync;
        }
        json_decref(j);
        n++;
    }
    if (n == 0) {
        node_warn("%s: no bench results (lines of `parex bench --json`)",
            in);
        goto out;
    }
    /* The thread counts of the file stand in for --threads. */
    o->nthreads = 0;
    for (line = 0; line < n; line++) {
        size_t t;
        for (t = 0; t < o->nthreads; t++) {
            if (o->threads[t] == res[line].threads) {
                break;
            }
        }
        if (t == o->nthreads && o->nthreads < BENCH_MAX_THREADS) {
            o->threads[o->nthreads++] = res[line].threads;
        }
    }
    rc = px_bench_plot(out, o, res, n) == 0 ? 0 : -2;
out:
    free(res);
    free(text);
    return rc;
}
