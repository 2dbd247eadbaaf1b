/* The scheduler (step 2 of engine/exec/par/par.c): the ready queue, claiming
 * txs in block order, releasing dependents when a tx finishes, and the
 * worker loop that also finishes the analysis; plus the parallel validation
 * job. Part of the translation unit par.c. */
#ifndef PX_PAR_SCHED_IMPL_H
#define PX_PAR_SCHED_IMPL_H

#include "mvmem_impl.h"

/* ---- jobs ---- */

static uint32_t q_pop(pexec *X)
{
    uint32_t j = NO_TX;

    if (atomic_load(&X->q_count) == 0) {
        return NO_TX;
    }
    pthread_mutex_lock(&X->q_lock);
    if (X->q_head != X->q_tail) {
        j = X->q[X->q_head++];
        atomic_fetch_sub(&X->q_count, 1);
    }
    pthread_mutex_unlock(&X->q_lock);
    return j;
}

static void q_push(pexec *X, uint32_t j)
{
    pthread_mutex_lock(&X->q_lock);
    /* Each tx is queued at most once (only the release that takes its
     * pending count to zero queues it), so n slots are room enough. */
    PAREX_ASSERT(X->q_tail < X->n && j < X->n);
    X->q[X->q_tail++] = j;
    atomic_fetch_add(&X->q_count, 1);
    pthread_mutex_unlock(&X->q_lock);
}

/* Runs tx j and releases its dependents: the first one that becomes ready
 * is returned to run next on this worker (it reads what j just wrote),
 * the others go to the shared queue. Closing j's list makes later edges
 * to j (from an analysis still running) see that j has finished. */
static uint32_t run_one(pexec *X, uint32_t j, unsigned w)
{
    uint32_t e, nextj = NO_TX;
    int rc = exec_tx(X, j, w);

    if (rc == PAREX_OK) {
        rc = publish_tx(X, j, w);
    }
    if (rc != PAREX_OK) {
        int zero = 0;
        atomic_compare_exchange_strong(&X->err, &zero, rc);
        return NO_TX;
    }
    e = atomic_exchange_explicit(&X->t[j].succ, CLOSED, memory_order_acq_rel);
    /* A tx finishes once: its list was still open. */
    PAREX_ASSERT(e != CLOSED);
    for (; e != NIL; e = X->edges[e].next) {
        uint32_t d = X->edges[e].tx, before;
        PAREX_ASSERT(e < X->n_edges_max && d > j);
        before = atomic_fetch_sub_explicit(&X->t[d].pending, 1,
            memory_order_acq_rel);
        /* Pending counts never go below zero. */
        PAREX_ASSERT(before >= 1);
        if (before == 1) {
            if (nextj == NO_TX) {
                nextj = d;
            } else {
                q_push(X, d);
            }
        }
    }
    return nextj;
}

/* True when no other worker holds work that could make more txs ready. */
static int all_idle(pexec *X, unsigned w)
{
    unsigned i;

    for (i = 0; i < X->env->threads; i++) {
        if (i != w && atomic_load(&X->busy[i].v)) {
            return 0;
        }
    }
    return 1;
}

/* Txs a worker claims at once: one shared counter update per range
 * instead of per tx. The ready ones wait in the worker's own list. */
#define CLAIM_RANGE 4

/* A worker's claimed txs that were ready when claimed, in block order. */
typedef struct local_ready {
    uint32_t v[CLAIM_RANGE];
    unsigned head, n;
} local_ready;

/* Claims up to CLAIM_RANGE analysed txs in block order (one CAS) and
 * keeps the ones that are ready (their last dependency runs the others)
 * in *lr, until at least one is ready. 0 when none is claimable now;
 * *exhausted then tells whether every tx has been claimed. */
static int claim(pexec *X, local_ready *lr, int *exhausted)
{
    uint32_t c = atomic_load_explicit(&X->next, memory_order_relaxed);

    for (;;) {
        uint32_t lim = atomic_load_explicit(&X->analysed,
            memory_order_acquire), end, i;
        if (c >= lim) {
            *exhausted = c >= X->n;
            return 0;
        }
        end = lim - c > CLAIM_RANGE ? c + CLAIM_RANGE : lim;
        if (!atomic_compare_exchange_weak_explicit(&X->next, &c, end,
                memory_order_relaxed, memory_order_relaxed)) {
            continue;
        }
        lr->head = 0;
        lr->n = 0;
        for (i = c; i < end; i++) {
            uint32_t before = atomic_fetch_sub_explicit(&X->t[i].pending,
                1, memory_order_acq_rel);
            PAREX_ASSERT(before >= 1);
            if (before == 1) {
                lr->v[lr->n++] = i;
            }
        }
        if (lr->n > 0) {
            *exhausted = 0;
            return 1;
        }
        c = end;
    }
}

/* The worker loop. Each tx ends up run exactly once: by the claimer when
 * its dependencies had finished, else by whichever finishing dependency
 * brought its pending count to zero. The first worker in finishes the
 * conflict analysis while the others already run analysed txs. Claims
 * take CLAIM_RANGE txs at a time into the worker's own ready list, so the
 * shared counter moves once per range (Block-STM's scheduler, Gelashvili
 * et al. 2022, claims one index per fetch-and-add; ranges cut that
 * traffic where txs are short). A worker
 * leaves when every tx is claimed, the queue is empty and nobody else is
 * running a tx; a worker still running drains the queue itself before
 * leaving, so leaving early only costs parallelism, never a tx. */
static void run_flow(void *arg, unsigned w, size_t b, size_t e)
{
    pexec *X = arg;
    uint32_t j = NO_TX, idle = 0;
    local_ready lr = { { 0 }, 0, 0 };

    (void)b;
    (void)e;
    atomic_store(&X->busy[w].v, 1);
    if (atomic_exchange(&X->analyst, 1) == 0) {
        int rc = analyse_rest(X);
        if (rc != PAREX_OK) {
            int zero = 0;
            atomic_compare_exchange_strong(&X->err, &zero, rc);
        }
    }
    while (atomic_load_explicit(&X->err, memory_order_relaxed) == 0 &&
        atomic_load_explicit(&X->give_up, memory_order_relaxed) == 0) {
        int exhausted = 0;
        if (j == NO_TX && lr.head < lr.n) {
            j = lr.v[lr.head++];
        }
        if (j == NO_TX) {
            j = q_pop(X);
        }
        if (j == NO_TX) {
            if (claim(X, &lr, &exhausted)) {
                continue;
            }
            if (atomic_load(&X->q_count) != 0) {
                continue;
            }
            atomic_store(&X->busy[w].v, 0);
            if (exhausted && atomic_load(&X->q_count) == 0 &&
                all_idle(X, w)) {
                break;
            }
            /* Others still run txs that may release more: stay, but leave
             * the core to them when this machine is oversubscribed. */
            if ((++idle & 63) == 0) {
                sched_yield();
            }
            atomic_store(&X->busy[w].v, 1);
            continue;
        }
        j = run_one(X, j, w);
    }
    atomic_store(&X->busy[w].v, 0);
}

static void run_validate(void *arg, unsigned w, size_t b, size_t e)
{
    pexec *X = arg;
    size_t j;

    (void)w;
    for (j = b; j < e && !atomic_load_explicit(&X->give_up,
             memory_order_relaxed); j++) {
        X->t[j].invalid = (uint8_t)!validate_tx(X, (uint32_t)j);
    }
}

#endif /* PX_PAR_SCHED_IMPL_H */
