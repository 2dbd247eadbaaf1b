/* A fixed thread pool created once per engine. The caller is worker 0 and
 * works too; items are handed out dynamically in chunks, in increasing
 * order, from an atomic counter, so uneven transactions balance
 * themselves. The caller returns once every item is done: it waits for
 * the chunks the workers claimed, never for a worker that has not come to
 * the job (on a loaded machine a descheduled worker would otherwise hold
 * up every job of a block, however little work it has).
 *
 * Workers spin briefly before sleeping (up to SPIN_NS, yielding now and
 * then): a block's stages follow each other within microseconds, and a
 * futex wake-up costs more than a short stage (about 90 us measured on a
 * busy 2-core machine). px__pool_prewake() wakes sleeping workers into
 * that spin ahead of a job, so the wake-up overlaps the caller's serial
 * work instead of delaying the job. */
#include <sched.h>
#include <stdlib.h>

#include "engine_int.h"

#define SPIN_ROUNDS 4000
#define SPIN_NS 300000

/* A job's fields, in one of two slots by the parity of its sequence
 * number. n and grain are read before a claim (possibly of a job that
 * has just ended, hence atomic); fn and arg only after one succeeded. */
typedef struct job {
    atomic_size_t n, grain;
    px__job_fn fn;
    void *arg;
} job;

struct px__pool {
    unsigned threads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    /* The current job's sequence number << 32 | its next unclaimed item:
     * a claim is one CAS that fails once a newer job is posted, so a
     * worker that arrives late never takes an item of the wrong job. */
    atomic_uint_fast64_t claim;
    atomic_size_t done;         /* the current job's finished items */
    atomic_uint_fast64_t wake;  /* px__pool_prewake() calls */
    atomic_int stop;
    uint32_t seq;               /* the caller's: the last job posted */
    job job[2];
    /* px__pool_post()'s job until px__pool_join() (the caller's). */
    struct {
        px__job_fn fn;
        void *arg;
        size_t n;
    } posted;
};

typedef struct worker_arg {
    px__pool *p;
    unsigned w;
} worker_arg;

static uint32_t seq_of(uint64_t c)
{
    return (uint32_t)(c >> 32);
}

/* Claims and runs chunks of the current job (and of any posted while it
 * runs) until none is left; returns the sequence number of the job it
 * found exhausted. A job's slot is rewritten only two jobs later, after
 * the job in between was posted, so a claim that succeeds saw the fields
 * of its own job: the check before it may read a newer job's n, but then
 * the sequence number has moved and the CAS fails. */
static uint32_t run_chunks(px__pool *p, unsigned w)
{
    uint64_t c = atomic_load_explicit(&p->claim, memory_order_acquire);

    for (;;) {
        uint32_t s = seq_of(c);
        job *J = &p->job[s & 1];
        size_t n = atomic_load_explicit(&J->n, memory_order_relaxed);
        size_t g = atomic_load_explicit(&J->grain, memory_order_relaxed);
        size_t b = (uint32_t)c, e;
        if (b >= n) {
            return s;
        }
        e = g < n - b ? b + g : n;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &c,
                (uint64_t)s << 32 | e, memory_order_acquire,
                memory_order_acquire)) {
            continue;
        }
        J->fn(J->arg, w, b, e);
        if (atomic_fetch_add_explicit(&p->done, e - b,
                memory_order_acq_rel) + (e - b) == n && w != 0) {
            /* The job's last item: the caller may be asleep on it. */
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
        c = atomic_load_explicit(&p->claim, memory_order_acquire);
    }
}

/* Whether a job newer than seen has been posted, or the pool stops. */
static int news(px__pool *p, uint32_t seen)
{
    return seq_of(atomic_load_explicit(&p->claim, memory_order_acquire)) !=
        seen || atomic_load_explicit(&p->stop, memory_order_relaxed);
}

static void *worker_main(void *argp)
{
    worker_arg *a = argp;
    px__pool *p = a->p;
    unsigned w = a->w;
    uint32_t seen = 0;
    uint64_t woken = 0;

    free(a);
    for (;;) {
        int spins = 0;
        uint64_t t0 = px__now_ns();
        while (!news(p, seen)) {
            spins++;
            if ((spins & 63) == 0) {
                if (px__now_ns() - t0 > SPIN_NS) {
                    break;
                }
                sched_yield();
            }
        }
        if (!news(p, seen)) {
            int go;
            pthread_mutex_lock(&p->mu);
            while (!news(p, seen) && atomic_load(&p->wake) == woken) {
                pthread_cond_wait(&p->cv_work, &p->mu);
            }
            woken = atomic_load(&p->wake);
            go = news(p, seen);
            pthread_mutex_unlock(&p->mu);
            if (!go) {
                continue;   /* woken ahead of a job: spin for it */
            }
        }
        if (atomic_load(&p->stop)) {
            break;
        }
        seen = run_chunks(p, w);
    }
    return NULL;
}

int px__pool_create(px__pool **out, unsigned threads)
{
    px__pool *p;
    unsigned i;

    *out = NULL;
    if (threads == 0) {
        threads = 1;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return PAREX_E_NOMEM;
    }
    p->threads = 1;
    atomic_init(&p->claim, 0);
    atomic_init(&p->done, 0);
    atomic_init(&p->wake, 0);
    atomic_init(&p->stop, 0);
    for (i = 0; i < 2; i++) {
        atomic_init(&p->job[i].n, 0);
        atomic_init(&p->job[i].grain, 1);
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    p->tids = calloc(threads, sizeof(*p->tids));
    if (p->tids == NULL) {
        px__pool_destroy(p);
        return PAREX_E_NOMEM;
    }
    for (i = 1; i < threads; i++) {
        worker_arg *a = malloc(sizeof(*a));
        if (a == NULL) {
            px__pool_destroy(p);
            return PAREX_E_NOMEM;
        }
        a->p = p;
        a->w = i;
        if (pthread_create(&p->tids[i], NULL, worker_main, a) != 0) {
            free(a);
            px__pool_destroy(p);
            return PAREX_E_NOMEM;
        }
        p->threads++;
    }
    *out = p;
    return PAREX_OK;
}

void px__pool_destroy(px__pool *p)
{
    unsigned i;

    if (p == NULL) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (i = 1; i < p->threads; i++) {
        pthread_join(p->tids[i], NULL);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    free(p->tids);
    free(p);
}

void px__pool_prewake(px__pool *p)
{
    if (p->threads == 1) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->wake, 1);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
}

unsigned px__pool_threads(const px__pool *p)
{
    return p->threads;
}

/* Posts a job of n items (n >= 1) to the workers; the caller has not
 * joined it yet. */
static void post_job(px__pool *p, px__job_fn fn, void *arg, size_t n,
    size_t grain)
{
    job *J;

    /* Item indices live in the low half of the claim word. */
    PAREX_ASSERT(n <= UINT32_MAX);
    p->seq++;
    J = &p->job[p->seq & 1];
    J->fn = fn;
    J->arg = arg;
    atomic_store_explicit(&J->n, n, memory_order_relaxed);
    atomic_store_explicit(&J->grain, grain, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->claim, (uint64_t)p->seq << 32,
        memory_order_release);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
}

/* The caller's part of the posted job of n items: what nobody claimed,
 * then the wait for what the workers claimed. */
static void join_job(px__pool *p, size_t n)
{
    int spins = 0;

    run_chunks(p, 0);
    /* Only the items the workers claimed are waited for: a worker that
     * has not come to this job yet (descheduled, still waking) finds it
     * exhausted later and delays nothing. */
    while (atomic_load_explicit(&p->done, memory_order_acquire) != n &&
        spins < SPIN_ROUNDS) {
        spins++;
        if ((spins & 63) == 0) {
            sched_yield();
        }
    }
    if (atomic_load_explicit(&p->done, memory_order_acquire) != n) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load_explicit(&p->done, memory_order_acquire) != n) {
            pthread_cond_wait(&p->cv_done, &p->mu);
        }
        pthread_mutex_unlock(&p->mu);
    }
}

void px__pool_run(px__pool *p, px__job_fn fn, void *arg, size_t n,
    size_t grain)
{
    PAREX_ASSERT(p->posted.fn == NULL);
    if (grain == 0) {
        grain = 1;
    }
    if (p->threads == 1 || n <= grain) {
        if (n > 0) {
            fn(arg, 0, 0, n);
        }
        return;
    }
    post_job(p, fn, arg, n, grain);
    join_job(p, n);
}

void px__pool_post(px__pool *p, px__job_fn fn, void *arg, size_t n)
{
    PAREX_ASSERT(p->posted.fn == NULL && fn != NULL);
    p->posted.fn = fn;
    p->posted.arg = arg;
    p->posted.n = n;
    if (p->threads > 1 && n > 0) {
        post_job(p, fn, arg, n, 1);
    }
}

void px__pool_join(px__pool *p)
{
    size_t n = p->posted.n;

    PAREX_ASSERT(p->posted.fn != NULL);
    if (p->threads > 1 && n > 0) {
        join_job(p, n);
    } else if (n > 0) {
        p->posted.fn(p->posted.arg, 0, 0, n);
    }
    p->posted.fn = NULL;
}
