/* Block pipelining (issue 10): the stateless stage of the blocks ahead
 * (decode: parex_block_prepare_start(); tx ids, chain ids and signatures:
 * parex_prepared_verify()) runs on helper threads while the caller
 * executes, roots and commits the block before them. See node.h for the
 * contract.
 *
 * The helpers never hold the engine up. They run at the lowest priority
 * (nice 19), so on a machine whose cores the engine's workers fill they
 * get the cycles the engine leaves (its serial stages, the commit, its
 * workers' sleeps) and little else; and the engine does not wait for
 * their checks: parex_engine_execute_prepared() checks whatever is left
 * of a block on its own threads (stealing a chunk a helper holds). So a
 * pipelined run does the same work as an unpipelined one, minus what the
 * helpers did in idle time. Before (one thread per block at normal
 * priority, --threads of them) the helpers took the cores from the
 * engine's workers, and the first and last blocks were checked on one
 * thread each: 0.77 of the signature bound against 0.86 unpipelined
 * (docs/benchmarks.md, "Session 4"). There are as many helpers as cores
 * the engine leaves over, and at least one.
 *
 * Blocks are decoded in order, at most `ahead` beyond the last one
 * taken; a helper first helps check the oldest decoded block with
 * unchecked txs (the one the caller needs first), then decodes the next.
 * A block the caller needs that no helper started yet the caller decodes
 * itself. A slot's prepared block stays in the pipeline until the caller
 * puts it back (node_pipe_put()), which waits for the helpers still
 * inside parex_prepared_verify() on it before freeing it. */
#include "formats/node.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#endif

enum { SL_NEW = 0, SL_DECODING, SL_READY };

typedef struct pipe_slot {
    parex_prepared *p;
    parex_error_info err;
    int rc;
    int state;              /* SL_* */
    int checked;            /* a helper's parex_prepared_verify() returned */
    int retired;            /* put back by the caller */
    unsigned users;         /* helpers inside parex_prepared_verify() */
} pipe_slot;

struct node_pipe {
    const parex_engine *e;
    node_pipe_encode_fn encode;
    void *user;
    size_t n;
    size_t next;            /* the next block to decode */
    size_t taken;           /* blocks the caller has taken */
    size_t ahead;
    int stop;
    pipe_slot *slots;
    pthread_t *th;
    unsigned nth;
    node_buf buf;           /* the caller's, for a block it decodes */
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a helper may do something, or stop */
    pthread_cond_t ready;   /* a slot is decoded, or a helper left one */
};

/* The calling thread to the lowest priority. On Linux the nice value is
 * a thread's, and who = 0 is the calling thread (setpriority(2), BUGS);
 * POSIX makes it the process's, so elsewhere the helpers keep the
 * default. Raising one's nice value needs no privilege; failing is
 * harmless (the helpers then compete at the default priority). */
static void lower_priority(void)
{
#ifdef __linux__
    (void)setpriority(PRIO_PROCESS, 0, 19);
#endif
}

/* Decodes block i into its slot; called with the lock held, returns with
 * it held. */
static void decode_slot(node_pipe *pl, size_t i, node_buf *buf)
{
    pipe_slot *s = &pl->slots[i];

    s->state = SL_DECODING;
    pthread_mutex_unlock(&pl->mu);
    buf->len = 0;
    pl->encode(pl->user, i, buf);
    memset(&s->err, 0, sizeof(s->err));
    s->rc = parex_block_prepare_start(pl->e, &s->p, &s->err, buf->p,
        buf->len);
    pthread_mutex_lock(&pl->mu);
    s->state = SL_READY;
    if (s->rc != PAREX_OK) {
        s->checked = 1;
    }
    pthread_cond_broadcast(&pl->ready);
    pthread_cond_broadcast(&pl->work);
}

/* The oldest decoded block not put back whose checks no helper finished,
 * or NULL. */
static pipe_slot *to_check(node_pipe *pl)
{
    size_t i = pl->taken > 0 ? pl->taken - 1 : 0;

    for (; i < pl->next; i++) {
        pipe_slot *s = &pl->slots[i];
        if (s->state == SL_READY && !s->checked && !s->retired) {
            return s;
        }
    }
    return NULL;
}

static void *pipe_worker(void *arg)
{
    node_pipe *pl = arg;
    node_buf buf = {0};

    lower_priority();
    pthread_mutex_lock(&pl->mu);
    while (!pl->stop) {
        pipe_slot *s = to_check(pl);

        if (s != NULL) {
            int rc;
            s->users++;
            pthread_mutex_unlock(&pl->mu);
            /* Its only error is MISUSE (p NULL): a READY slot that
             * decoded has a block. */
            rc = parex_prepared_verify(s->p);
            (void)rc;
            pthread_mutex_lock(&pl->mu);
            s->users--;
            s->checked = 1;
            pthread_cond_broadcast(&pl->ready);
        } else if (pl->next < pl->n && pl->next < pl->taken + pl->ahead) {
            decode_slot(pl, pl->next++, &buf);
        } else if (pl->next >= pl->n) {
            break;  /* decoding ones are checked by their decoders */
        } else {
            pthread_cond_wait(&pl->work, &pl->mu);
        }
    }
    pthread_mutex_unlock(&pl->mu);
    node_buf_release(&buf);
    return NULL;
}

node_pipe *node_pipe_start(const parex_engine *e, size_t n,
    unsigned engine_threads, node_pipe_encode_fn encode, void *user)
{
    node_pipe *pl = node_calloc(1, sizeof(*pl));
    unsigned cpus = node_cpus(), helpers, k;

    pl->e = e;
    pl->encode = encode;
    pl->user = user;
    pl->n = n;
    helpers = cpus > engine_threads ? cpus - engine_threads : 1;
    pl->ahead = helpers;
    pl->slots = node_calloc(n > 0 ? n : 1, sizeof(*pl->slots));
    pl->th = node_calloc(helpers, sizeof(*pl->th));
    if (pthread_mutex_init(&pl->mu, NULL) != 0 ||
        pthread_cond_init(&pl->work, NULL) != 0 ||
        pthread_cond_init(&pl->ready, NULL) != 0) {
        node_die(NODE_EXIT_RUNTIME, "pipeline: cannot create a lock");
    }
    for (k = 0; k < helpers && k < n; k++) {
        if (pthread_create(&pl->th[k], NULL, pipe_worker, pl) != 0) {
            node_die(NODE_EXIT_RUNTIME, "pipeline: cannot start a thread");
        }
        pl->nth++;
    }
    return pl;
}

int node_pipe_take(node_pipe *pl, size_t i, parex_prepared **p,
    parex_error_info *err)
{
    pipe_slot *s = &pl->slots[i];

    pthread_mutex_lock(&pl->mu);
    if (pl->taken < i + 1) {
        pl->taken = i + 1;
        pthread_cond_broadcast(&pl->work);
    }
    if (s->state == SL_NEW && pl->next == i) {
        /* No helper got to it (they are busy, or starved at their low
         * priority): waiting would leave the engine idle. */
        decode_slot(pl, pl->next++, &pl->buf);
    }
    while (s->state != SL_READY) {
        pthread_cond_wait(&pl->ready, &pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    *p = s->p;
    if (err != NULL) {
        *err = s->err;
    }
    return s->rc;
}

void node_pipe_put(node_pipe *pl, size_t i)
{
    pipe_slot *s = &pl->slots[i];
    parex_prepared *p;

    pthread_mutex_lock(&pl->mu);
    s->retired = 1;
    while (s->users > 0) {
        pthread_cond_wait(&pl->ready, &pl->mu);
    }
    p = s->p;
    s->p = NULL;
    pthread_mutex_unlock(&pl->mu);
    parex_prepared_free(p);
}

void node_pipe_stop(node_pipe *pl)
{
    size_t i;
    unsigned k;

    if (pl == NULL) {
        return;
    }
    pthread_mutex_lock(&pl->mu);
    pl->stop = 1;
    pthread_cond_broadcast(&pl->work);
    pthread_mutex_unlock(&pl->mu);
    for (k = 0; k < pl->nth; k++) {
        pthread_join(pl->th[k], NULL);
    }
    for (i = 0; i < pl->n; i++) {
        parex_prepared_free(pl->slots[i].p);
    }
    pthread_cond_destroy(&pl->ready);
    pthread_cond_destroy(&pl->work);
    pthread_mutex_destroy(&pl->mu);
    node_buf_release(&pl->buf);
    free(pl->slots);
    free(pl->th);
    free(pl);
}
