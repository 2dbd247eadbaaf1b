/* node/ private: the modules of `parex bench`.
 *
 * bench.c parses the command line and runs the sweep; bench_work.c
 * generates (and signs) the workloads before any timing.
 */
#ifndef PX_NODE_BENCH_H
#define PX_NODE_BENCH_H

#include "node.h"

#define BENCH_MAX_THREADS 64

/* A generated workload: genesis pairs and signed blocks. */
typedef struct bench_work {
    const char *workload;
    char label[256];
    uint64_t accounts, block_size;
    size_t nkv;
    parex_kv *kvs;
    uint8_t fee[32];
    size_t nblocks;
    size_t *ntx;
    node_txbytes **txs;
} bench_work;

/** p2p: random sender to a random other account; hot: random sender to one
 *  fixed recipient that is not an account of genesis. Deterministic from
 *  seed; dies on usage errors (accounts < 2). */
void px_bench_gen_transfers(bench_work *w, const char *workload,
    uint64_t accounts, uint64_t block_size, uint64_t nblocks, uint64_t seed);
/** One trace file as one block. Returns 0, or -1 after a warning. */
int px_bench_gen_trace(bench_work *w, const char *file);
void px_bench_work_free(bench_work *w);

#endif
