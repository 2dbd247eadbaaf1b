/* `parex bench` workloads: genesis and signed blocks, generated before any
 * timing (signing runs on every online CPU). */
#include "bench.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_acct {
    uint8_t sec[32], pub[32], key[32];
    uint64_t nonce;
} bench_acct;

/* One transfer to sign: sender index, recipient public key, nonce. */
typedef struct bench_job {
    const bench_acct *from;
    const uint8_t *to;
    uint64_t nonce;
    node_txbytes *out;
} bench_job;

typedef struct bench_pool {
    bench_job *jobs;
    size_t n;
    unsigned k, nthreads;
    bench_acct *accts;
    uint64_t seed;
} bench_pool;

typedef struct bench_worker {
    bench_pool *p;
    unsigned idx;
} bench_worker;

static void sign_one(const bench_job *j)
{
    uint8_t args[PAREX_TRANSFER_ARGS_BYTES];
    uint8_t ws[64], to_key[32];
    char err[NODE_ERR_LEN];
    parex_tx tx;

    parex_transfer_args(args, j->to, 1);
    parex_account_key(to_key, j->to);
    if (memcmp(j->from->key, to_key, 32) < 0) {
        memcpy(ws, j->from->key, 32);
        memcpy(ws + 32, to_key, 32);
    } else {
        memcpy(ws, to_key, 32);
        memcpy(ws + 32, j->from->key, 32);
    }
    memset(&tx, 0, sizeof(tx));
    tx.chain_id = 1;
    tx.nonce = j->nonce;
    tx.fee = 1;
    tx.program = PAREX_PROGRAM_TRANSFER;
    tx.args = args;
    tx.args_len = sizeof(args);
    tx.write_set = ws;
    tx.n_write = 2;
    if (parex_tx_sign(&tx, j->from->sec) != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "bench: cannot sign a transfer");
    }
    if (node_tx_encode(j->out, err, "bench", &tx) != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s", err);
    }
}

static void key_one(bench_acct *a, uint64_t seed, size_t i)
{
    char s[96];

    snprintf(s, sizeof(s), "parex-bench/%llu/%zu", (unsigned long long)seed,
        i);
    node_key_from_str(a->sec, a->pub, s);
    parex_account_key(a->key, a->pub);
    a->nonce = 0;
}

static void *worker_keys(void *arg)
{
    bench_worker *wk = arg;
    size_t i;

    for (i = wk->idx; i < wk->p->n; i += wk->p->nthreads) {
        key_one(&wk->p->accts[i], wk->p->seed, i);
    }
    return NULL;
}

static void *worker_sign(void *arg)
{
    bench_worker *wk = arg;
    size_t i;

    for (i = wk->idx; i < wk->p->n; i += wk->p->nthreads) {
        sign_one(&wk->p->jobs[i]);
    }
    return NULL;
}

/* Run fn over p->n items on the online CPUs. */
static void parallel_for(bench_pool *p, void *(*fn)(void *))
{
    pthread_t th[BENCH_MAX_THREADS];
    bench_worker wk[BENCH_MAX_THREADS];
    unsigned t;

    p->nthreads = node_cpus();
    if (p->nthreads > BENCH_MAX_THREADS) {
        p->nthreads = BENCH_MAX_THREADS;
    }
    for (t = 0; t < p->nthreads; t++) {
        wk[t].p = p;
        wk[t].idx = t;
        if (t > 0 && pthread_create(&th[t], NULL, fn, &wk[t]) != 0) {
            node_die(NODE_EXIT_RUNTIME, "bench: cannot start a thread");
        }
    }
    fn(&wk[0]);
    for (t = 1; t < p->nthreads; t++) {
        pthread_join(th[t], NULL);
    }
}

void px_bench_gen_transfers(bench_work *w, const char *workload,
    uint64_t accounts, uint64_t block_size, uint64_t nblocks, uint64_t seed,
    double zipf)
{
    bench_zipf z = {0};
    bench_pool p;
    bench_acct *accts;
    bench_job *jobs;
    node_rng rng;
    uint8_t hot_sec[32], hot_pub[32];
    int hot = strcmp(workload, "hot") == 0;
    size_t i, b, n = (size_t)(block_size * nblocks);

    if (accounts < 2) {
        node_die(NODE_EXIT_USAGE, "bench: --accounts must be at least 2");
    }
    memset(w, 0, sizeof(*w));
    w->workload = workload;
    w->accounts = accounts;
    w->block_size = block_size;
    w->zipf = hot ? 0.0 : zipf;
    if (w->zipf > 0) {
        snprintf(w->label, sizeof(w->label), "%s accounts=%llu block=%llu "
            "zipf=%g", workload, (unsigned long long)accounts,
            (unsigned long long)block_size, w->zipf);
        px_bench_zipf_init(&z, (size_t)accounts, w->zipf);
    } else {
        snprintf(w->label, sizeof(w->label), "%s accounts=%llu block=%llu",
            workload, (unsigned long long)accounts,
            (unsigned long long)block_size);
    }
    node_key_from_str(hot_sec, w->fee, "parex-bench/fee-recipient");
    node_key_from_str(hot_sec, hot_pub, "parex-bench/hot-recipient");

    accts = node_calloc((size_t)accounts, sizeof(*accts));
    memset(&p, 0, sizeof(p));
    p.accts = accts;
    p.n = (size_t)accounts;
    p.seed = seed;
    parallel_for(&p, worker_keys);

    w->nkv = (size_t)accounts;
    w->kvs = node_calloc(w->nkv, sizeof(*w->kvs));
    for (i = 0; i < w->nkv; i++) {
        uint8_t *val = node_malloc(PAREX_ACCOUNT_BYTES);
        parex_account_encode(val, UINT64_C(1) << 50, 0);
        memcpy(w->kvs[i].key, accts[i].key, 32);
        w->kvs[i].value = val;
        w->kvs[i].value_len = PAREX_ACCOUNT_BYTES;
    }

    w->nblocks = (size_t)nblocks;
    w->ntx = node_calloc(w->nblocks, sizeof(*w->ntx));
    w->txs = node_calloc(w->nblocks, sizeof(*w->txs));
    jobs = node_calloc(n == 0 ? 1 : n, sizeof(*jobs));
    node_rng_init(&rng, seed, 0);
    for (b = 0; b < w->nblocks; b++) {
        w->ntx[b] = (size_t)block_size;
        w->txs[b] = node_calloc(w->ntx[b] == 0 ? 1 : w->ntx[b],
            sizeof(node_txbytes));
        for (i = 0; i < w->ntx[b]; i++) {
            bench_job *j = &jobs[b * (size_t)block_size + i];
            size_t from;
            if (z.n > 0) {
                /* Both ends Zipf-distributed; the recipient is redrawn
                 * until it differs (the sender cannot pay itself). */
                size_t to;
                from = px_bench_zipf_draw(&z, node_rng_next(&rng));
                do {
                    to = px_bench_zipf_draw(&z, node_rng_next(&rng));
                } while (to == from);
                j->from = &accts[from];
                j->to = accts[to].pub;
                j->nonce = accts[from].nonce++;
                j->out = &w->txs[b][i];
                continue;
            }
            from = (size_t)(node_rng_next(&rng) % accounts);
            j->from = &accts[from];
            if (hot) {
                j->to = hot_pub;
            } else {
                size_t to = (size_t)(node_rng_next(&rng) % (accounts - 1));
                j->to = accts[to >= from ? to + 1 : to].pub;
            }
            j->nonce = accts[from].nonce++;
            j->out = &w->txs[b][i];
        }
    }
    memset(&p, 0, sizeof(p));
    p.jobs = jobs;
    p.n = n;
    parallel_for(&p, worker_sign);
    free(jobs);
    px_bench_zipf_release(&z);
    memset(accts, 0, (size_t)accounts * sizeof(*accts));
    free(accts);
}

/* ../shared/data/README.md: "eight Ethereum blocks are essentially
 * sequential (one sender's nonce chain, or ~1,000 transfers to one
 * address)". */
static const char *const seq_blocks[] = { "5891667", "11814555",
    "12300570", "12520364", "13217637", "13287210", "14396881",
    "15274915" };

int px_bench_seq_listed(const char *label)
{
    size_t k, n;

    if (strncmp(label, "ethereum/", 9) != 0) {
        return 0;
    }
    label += 9;
    for (k = 0; k < sizeof(seq_blocks) / sizeof(seq_blocks[0]); k++) {
        n = strlen(seq_blocks[k]);
        if (strncmp(label, seq_blocks[k], n) == 0 &&
                strcmp(label + n, ".jsonl") == 0) {
            return 1;
        }
    }
    return 0;
}

int px_bench_gen_trace(bench_work *w, const char *file)
{
    node_trace tr;
    node_declare d;
    char err[NODE_ERR_LEN];
    const char *base = strrchr(file, '/');

    memset(w, 0, sizeof(*w));
    if (node_trace_load(&tr, err, file) != 0) {
        node_warn("%s", err);
        return -1;
    }
    memset(&d, 0, sizeof(d));
    d.kind = NODE_DECLARE_EXACT;
    w->workload = "trace";
    w->nblocks = 1;
    w->ntx = node_calloc(1, sizeof(*w->ntx));
    w->txs = node_calloc(1, sizeof(*w->txs));
    if (node_trace_txs(&w->txs[0], err, file, &tr, &d, 1) != 0) {
        node_warn("%s", err);
        node_trace_release(&tr);
        free(w->ntx);
        free(w->txs);
        return -1;
    }
    w->ntx[0] = tr.n;
    w->block_size = tr.n;
    node_trace_fee_recipient(w->fee);
    /* The trace's directory and name: "ethereum/16257471.jsonl". */
    if (base != NULL && base > file) {
        const char *p = base - 1;
        while (p > file && p[-1] != '/') {
            p--;
        }
        base = p;
    } else {
        base = file;
    }
    snprintf(w->label, sizeof(w->label), "%s", base);
    w->seq_listed = px_bench_seq_listed(w->label);
    node_trace_release(&tr);
    return 0;
}

void px_bench_work_free(bench_work *w)
{
    size_t i;

    if (w->dag != NULL) {
        for (i = 0; i < w->nblocks; i++) {
            px_bench_dag_release(&w->dag[i]);
        }
    }
    if (w->tx_ns != NULL) {
        for (i = 0; i < w->nblocks; i++) {
            free(w->tx_ns[i]);
        }
    }
    free(w->dag);
    free(w->tx_ns);
    if (w->sealed != NULL) {
        for (i = 0; i < w->nblocks; i++) {
            node_buf_release(&w->sealed[i]);
        }
    }
    free(w->sealed);

    for (i = 0; i < w->nkv; i++) {
        free((void *)w->kvs[i].value);
    }
    free(w->kvs);
    for (i = 0; i < w->nblocks; i++) {
        node_txs_free(w->txs[i], w->ntx[i]);
    }
    free(w->txs);
    free(w->ntx);
    memset(w, 0, sizeof(*w));
}

