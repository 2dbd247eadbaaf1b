/* `parex bench` arithmetic: the makespan of a batch schedule, the
 * dependency graph of a block and its list-scheduling makespan, and Zipf
 * sampling. Pure functions (they die only on allocation failure), so that
 * tests can pin them down. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const unsigned px_bench_proj_threads[BENCH_NPROJ] = { 4, 8, 16, 32, 64 };

uint64_t px_bench_makespan(const uint32_t *batch, const uint64_t *ns,
    size_t n, unsigned threads, uint64_t *scratch)
{
    /* scratch: [0, threads) each worker's finish time within the current
     * batch; [threads, threads+n) the tx indices in (batch, index) order,
     * by a counting sort so that block order survives within a batch;
     * [threads+n, threads+2n+1) the batch offsets. */
    uint64_t *free_at = scratch, *order = scratch + threads;
    uint64_t *off = scratch + threads + n;
    uint64_t total = 0;
    size_t i, k, nb = 0;

    if (n == 0 || threads == 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (batch[i] >= n) {
            return 0;
        }
        if ((size_t)batch[i] + 1 > nb) {
            nb = (size_t)batch[i] + 1;
        }
    }
    for (k = 0; k <= nb; k++) {
        off[k] = 0;
    }
    for (i = 0; i < n; i++) {
        off[batch[i] + 1]++;
    }
    for (k = 0; k < nb; k++) {
        off[k + 1] += off[k];
    }
    for (i = 0; i < n; i++) {
        order[off[batch[i]]++] = i;
    }
    /* off[k] is now the end of batch k. The scan of the workers is
     * O(threads) per tx; threads <= 64 keeps that below a heap's
     * bookkeeping. */
    for (k = 0, i = 0; k < nb; k++) {
        uint64_t span = 0;
        unsigned t;

        for (t = 0; t < threads; t++) {
            free_at[t] = 0;
        }
        for (; i < off[k]; i++) {
            unsigned best = 0;
            for (t = 1; t < threads; t++) {
                if (free_at[t] < free_at[best]) {
                    best = t;
                }
            }
            free_at[best] += ns[order[i]];
        }
        for (t = 0; t < threads; t++) {
            if (free_at[t] > span) {
                span = free_at[t];
            }
        }
        total += span;
    }
    return total;
}

void px_bench_zipf_init(bench_zipf *z, size_t n, double s)
{
    double sum = 0.0;
    size_t k;

    z->n = n;
    z->cdf = node_calloc(n, sizeof(double));
    for (k = 0; k < n; k++) {
        sum += pow((double)(k + 1), -s);
        z->cdf[k] = sum;
    }
    for (k = 0; k < n; k++) {
        z->cdf[k] /= sum;
    }
    z->cdf[n - 1] = 1.0;
}

size_t px_bench_zipf_draw(const bench_zipf *z, uint64_t u)
{
    /* 53 random bits give a double in [0, 1); the first rank whose CDF
     * exceeds it is the draw. */
    double x = (double)(u >> 11) * (1.0 / 9007199254740992.0);
    size_t lo = 0, hi = z->n - 1;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > x) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

void px_bench_zipf_release(bench_zipf *z)
{
    free(z->cdf);
    z->cdf = NULL;
    z->n = 0;
}

/* ---- the dependency graph --------------------------------------------- */

#define DAG_NONE UINT32_MAX

/* One key of the block: its last writer so far and the readers since. */
typedef struct dag_key {
    const uint8_t *key;      /* NULL: empty slot */
    uint32_t writer;         /* DAG_NONE before the first write */
    uint32_t readers;        /* head of a list in dag_build.rd, or NONE */
} dag_key;

typedef struct dag_reader {
    uint32_t tx, next;
} dag_reader;

typedef struct dag_build {
    dag_key *slot;
    size_t cap;              /* a power of two, at least twice the keys */
    dag_reader *rd;
    size_t nrd, rdcap;
    bench_dag *d;
    size_t npred, predcap;
} dag_build;

static uint64_t key_hash(const uint8_t *k)
{
    uint64_t h = 0;
    size_t i;

    /* Keys are hashes already (accounts, SHA-256 of trace keys); mix the
     * first 8 bytes anyway so that structured keys spread too. */
    for (i = 0; i < 8; i++) {
        h = (h << 8) | k[i];
    }
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

static dag_key *key_find(dag_build *b, const uint8_t *k)
{
    size_t i = (size_t)key_hash(k) & (b->cap - 1);

    /* The table is at most half full, so the probe ends. */
    while (b->slot[i].key != NULL && memcmp(b->slot[i].key, k, 32) != 0) {
        i = (i + 1) & (b->cap - 1);
    }
    if (b->slot[i].key == NULL) {
        b->slot[i].key = k;
        b->slot[i].writer = DAG_NONE;
        b->slot[i].readers = DAG_NONE;
    }
    return &b->slot[i];
}

static void pred_add(dag_build *b, uint32_t j, uint32_t i)
{
    bench_dag *d = b->d;

    /* Skip self edges (a tx's own account key declared as well) and the
     * repeat of the edge just added (two keys shared with one tx). */
    if (i == j || (b->npred > d->off[j] && d->pred[b->npred - 1] == i)) {
        return;
    }
    if (b->npred == b->predcap) {
        b->predcap = b->predcap == 0 ? 64 : 2 * b->predcap;
        d->pred = node_realloc(d->pred, b->predcap * sizeof(*d->pred));
    }
    d->pred[b->npred++] = i;
}

static void dag_read(dag_build *b, uint32_t j, const uint8_t *k)
{
    dag_key *s = key_find(b, k);

    if (s->writer != DAG_NONE) {
        pred_add(b, j, s->writer);
    }
    if (b->nrd == b->rdcap) {
        b->rdcap = b->rdcap == 0 ? 64 : 2 * b->rdcap;
        b->rd = node_realloc(b->rd, b->rdcap * sizeof(*b->rd));
    }
    b->rd[b->nrd].tx = j;
    b->rd[b->nrd].next = s->readers;
    s->readers = (uint32_t)b->nrd++;
}

static void dag_write(dag_build *b, uint32_t j, const uint8_t *k)
{
    dag_key *s = key_find(b, k);
    uint32_t r;

    /* Write after write, and write after each read since that write
     * (read-write); the readers themselves follow that writer. */
    if (s->writer != DAG_NONE) {
        pred_add(b, j, s->writer);
    }
    for (r = s->readers; r != DAG_NONE; r = b->rd[r].next) {
        pred_add(b, j, b->rd[r].tx);
    }
    s->writer = j;
    s->readers = DAG_NONE;
}

void px_bench_dag_build(bench_dag *d, const parex_tx *txs, size_t n)
{
    dag_build b;
    uint8_t *acct = node_calloc(n == 0 ? 1 : n, 32);
    size_t keys = 0, i, k;

    memset(d, 0, sizeof(*d));
    memset(&b, 0, sizeof(b));
    d->n = n;
    d->off = node_calloc(n + 1, sizeof(*d->off));
    for (i = 0; i < n; i++) {
        keys += (size_t)txs[i].n_read + txs[i].n_write + 1;
        parex_account_key(acct + 32 * i, txs[i].sender);
    }
    for (b.cap = 16; b.cap < 2 * keys; b.cap *= 2) {
    }
    b.slot = node_calloc(b.cap, sizeof(*b.slot));
    b.d = d;
    for (i = 0; i < n; i++) {
        uint32_t j = (uint32_t)i;
        d->off[i] = b.npred;
        for (k = 0; k < txs[i].n_read; k++) {
            dag_read(&b, j, txs[i].read_set + 32 * k);
        }
        for (k = 0; k < txs[i].n_write; k++) {
            dag_write(&b, j, txs[i].write_set + 32 * k);
        }
        /* The sender's account (nonce, fee) is written implicitly. */
        dag_write(&b, j, acct + 32 * i);
    }
    d->off[n] = b.npred;
    free(b.slot);
    free(b.rd);
    free(acct);
}

void px_bench_dag_release(bench_dag *d)
{
    free(d->off);
    free(d->pred);
    memset(d, 0, sizeof(*d));
}

int px_bench_dag_check(const bench_dag *d)
{
    size_t j, p;

    if (d->n > 0 && d->off == NULL) {
        return -1;
    }
    for (j = 0; j < d->n; j++) {
        if (d->off[j + 1] < d->off[j]) {
            return -1;
        }
        for (p = d->off[j]; p < d->off[j + 1]; p++) {
            if (d->pred[p] >= j) {
                return -1;
            }
        }
    }
    return 0;
}

size_t px_bench_dag_depth(const bench_dag *d)
{
    size_t *level, j, p, depth = 0;

    if (d->n == 0 || px_bench_dag_check(d) != 0) {
        return 0;
    }
    level = node_calloc(d->n, sizeof(*level));
    for (j = 0; j < d->n; j++) {
        size_t l = 0;
        for (p = d->off[j]; p < d->off[j + 1]; p++) {
            l = level[d->pred[p]] > l ? level[d->pred[p]] : l;
        }
        level[j] = l + 1;
        depth = level[j] > depth ? level[j] : depth;
    }
    free(level);
    return depth;
}

/* Binary min-heaps: the ready txs by index, the running ones by finish
 * time (then index, so that ties resolve the same way every time). */
typedef struct run_ent {
    uint64_t t;
    uint32_t tx;
} run_ent;

static int run_less(const run_ent *a, const run_ent *b)
{
    return a->t < b->t || (a->t == b->t && a->tx < b->tx);
}

static void ready_push(uint32_t *h, size_t *n, uint32_t v)
{
    size_t i = (*n)++;

    while (i > 0 && h[(i - 1) / 2] > v) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static uint32_t ready_pop(uint32_t *h, size_t *n)
{
    uint32_t top = h[0], v = h[--*n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) {
            break;
        }
        if (c + 1 < *n && h[c + 1] < h[c]) {
            c++;
        }
        if (h[c] >= v) {
            break;
        }
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) {
        h[i] = v;
    }
    return top;
}

static void run_push(run_ent *h, size_t *n, run_ent v)
{
    size_t i = (*n)++;

    while (i > 0 && run_less(&v, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = v;
}

static run_ent run_pop(run_ent *h, size_t *n)
{
    run_ent top = h[0], v = h[--*n];
    size_t i = 0;

    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) {
            break;
        }
        if (c + 1 < *n && run_less(&h[c + 1], &h[c])) {
            c++;
        }
        if (!run_less(&h[c], &v)) {
            break;
        }
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) {
        h[i] = v;
    }
    return top;
}

uint64_t px_bench_dag_makespan(const bench_dag *d, const uint64_t *ns,
    unsigned threads)
{
    size_t n = d->n, j, p, nready = 0, nrun = 0, done = 0;
    size_t *soff, *fill;
    uint32_t *succ, *indeg, *ready;
    run_ent *run;
    uint64_t t = 0;
    unsigned idle = threads;

    if (n == 0 || threads == 0 || px_bench_dag_check(d) != 0) {
        return 0;
    }
    /* Successor lists (CSR) from the predecessor lists. */
    soff = node_calloc(n + 1, sizeof(*soff));
    fill = node_calloc(n, sizeof(*fill));
    indeg = node_calloc(n, sizeof(*indeg));
    succ = node_calloc(d->off[n] == 0 ? 1 : d->off[n], sizeof(*succ));
    ready = node_calloc(n, sizeof(*ready));
    run = node_calloc(n, sizeof(*run));
    for (j = 0; j < n; j++) {
        indeg[j] = (uint32_t)(d->off[j + 1] - d->off[j]);
        for (p = d->off[j]; p < d->off[j + 1]; p++) {
            soff[d->pred[p] + 1]++;
        }
    }
    for (j = 0; j < n; j++) {
        soff[j + 1] += soff[j];
    }
    for (j = 0; j < n; j++) {
        for (p = d->off[j]; p < d->off[j + 1]; p++) {
            uint32_t i = d->pred[p];
            succ[soff[i] + fill[i]++] = (uint32_t)j;
        }
        if (indeg[j] == 0) {
            ready_push(ready, &nready, (uint32_t)j);
        }
    }
    /* List scheduling (Graham 1966) with the block order as the priority:
     * whenever workers are idle, they take the ready txs of lowest index;
     * time then jumps to the next finish, whose successors may become
     * ready. No worker idles while a tx is ready. The graph is acyclic
     * (every edge points back in the block), so something always runs
     * while txs remain. */
    while (done < n) {
        run_ent e;
        while (idle > 0 && nready > 0) {
            e.tx = ready_pop(ready, &nready);
            e.t = t + ns[e.tx];
            run_push(run, &nrun, e);
            idle--;
        }
        t = run[0].t;
        while (nrun > 0 && run[0].t == t) {
            e = run_pop(run, &nrun);
            idle++;
            done++;
            for (p = soff[e.tx]; p < soff[e.tx + 1]; p++) {
                if (--indeg[succ[p]] == 0) {
                    ready_push(ready, &nready, succ[p]);
                }
            }
        }
    }
    free(soff);
    free(fill);
    free(indeg);
    free(succ);
    free(ready);
    free(run);
    return t;
}
