/* A fixed thread pool created once per engine. The caller is worker 0 and
 * works too; items are handed out dynamically in chunks from an atomic
 * counter, so uneven transactions balance themselves.
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

struct px__pool {
    unsigned threads;
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    atomic_uint_fast64_t gen;
    atomic_uint_fast64_t wake;  /* px__pool_prewake() calls */
    int stop;
    px__job_fn fn;
    void *arg;
    size_t n, grain;
    atomic_size_t next;
    atomic_uint active;
};

typedef struct worker_arg {
    px__pool *p;
    unsigned w;
} worker_arg;

static void run_chunks(px__pool *p, unsigned w)
{
    for (;;) {
        size_t b = atomic_fetch_add(&p->next, p->grain);
        size_t e;
        if (b >= p->n) {
            break;
        }
        e = b + p->grain < p->n ? b + p->grain : p->n;
        p->fn(p->arg, w, b, e);
    }
}

static void *worker_main(void *argp)
{
    worker_arg *a = argp;
    px__pool *p = a->p;
    unsigned w = a->w;
    uint64_t seen = 0, woken = 0;

    free(a);
    for (;;) {
        int spins = 0;
        uint64_t g, t0 = px__now_ns();
        while ((g = atomic_load(&p->gen)) == seen) {
            spins++;
            if ((spins & 63) == 0) {
                if (px__now_ns() - t0 > SPIN_NS) {
                    break;
                }
                sched_yield();
            }
        }
        if (g == seen) {
            int stop;
            pthread_mutex_lock(&p->mu);
            while ((g = atomic_load(&p->gen)) == seen && !p->stop &&
                atomic_load(&p->wake) == woken) {
                pthread_cond_wait(&p->cv_work, &p->mu);
            }
            woken = atomic_load(&p->wake);
            stop = p->stop;     /* read under the lock destroy writes it in */
            pthread_mutex_unlock(&p->mu);
            if (g == seen && !stop) {
                continue;   /* woken ahead of a job: spin for it */
            }
        }
        if (p->stop && g == seen) {
            break;
        }
        seen = g;
        if (p->stop) {
            break;
        }
        run_chunks(p, w);
        if (atomic_fetch_sub(&p->active, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->cv_done);
            pthread_mutex_unlock(&p->mu);
        }
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
    atomic_init(&p->gen, 0);
    atomic_init(&p->wake, 0);
    atomic_init(&p->next, 0);
    atomic_init(&p->active, 0);
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
    p->stop = 1;
    atomic_fetch_add(&p->gen, 1);
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

void px__pool_run(px__pool *p, px__job_fn fn, void *arg, size_t n,
    size_t grain)
{
    if (grain == 0) {
        grain = 1;
    }
    if (p->threads == 1 || n <= grain) {
        if (n > 0) {
            fn(arg, 0, 0, n);
        }
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->grain = grain;
    atomic_store(&p->next, 0);
    atomic_store(&p->active, p->threads - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->gen, 1);
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    run_chunks(p, 0);
    {
        int spins = 0;
        while (atomic_load(&p->active) != 0 && spins < SPIN_ROUNDS) {
            spins++;
            if ((spins & 63) == 0) {
                sched_yield();
            }
        }
    }
    if (atomic_load(&p->active) != 0) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->active) != 0) {
            pthread_cond_wait(&p->cv_done, &p->mu);
        }
        pthread_mutex_unlock(&p->mu);
    }
}
