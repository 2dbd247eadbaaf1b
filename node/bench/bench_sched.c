/* `parex bench` arithmetic: the makespan of a batch schedule and Zipf
 * sampling. Pure functions, so that tests can pin them down. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>

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
