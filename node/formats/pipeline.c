/* Block pipelining (issue 10): the stateless stage of the blocks ahead
 * (decode, tx ids, chain ids and signatures: parex_block_prepare()) runs on
 * worker threads while the caller executes, roots and commits the block
 * before them. See node.h for the contract.
 *
 * Every block's slot is written by one worker and read by the caller after
 * the worker marked it done under the lock, so slots need no lock of their
 * own. A worker starts block i only while i < taken + ahead: at most
 * `ahead` blocks are prepared or being prepared beyond the one the caller
 * runs, which bounds memory and keeps the workers on the blocks needed
 * next (block i+1 never waits for i+5).
 */
#include "formats/node.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct pipe_slot {
    parex_prepared *p;
    parex_error_info err;
    int rc;
    int done;
} pipe_slot;

struct node_pipe {
    const parex_engine *e;
    node_pipe_encode_fn encode;
    void *user;
    size_t n;
    size_t next;            /* the next block a worker starts */
    size_t taken;           /* blocks the caller has taken */
    size_t ahead;
    int stop;
    pipe_slot *slots;
    pthread_t *th;
    unsigned nth;
    pthread_mutex_t mu;
    pthread_cond_t work;    /* a worker may start a block, or stop */
    pthread_cond_t ready;   /* a slot is done */
};

static void *pipe_worker(void *arg)
{
    node_pipe *pl = arg;
    node_buf buf = {0};

    pthread_mutex_lock(&pl->mu);
    for (;;) {
        size_t i;
        pipe_slot *s;

        while (!pl->stop && pl->next < pl->n &&
            pl->next >= pl->taken + pl->ahead) {
            pthread_cond_wait(&pl->work, &pl->mu);
        }
        if (pl->stop || pl->next >= pl->n) {
            break;
        }
        i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        s = &pl->slots[i];
        buf.len = 0;
        pl->encode(pl->user, i, &buf);
        memset(&s->err, 0, sizeof(s->err));
        s->rc = parex_block_prepare(pl->e, &s->p, &s->err, buf.p, buf.len);
        pthread_mutex_lock(&pl->mu);
        s->done = 1;
        pthread_cond_broadcast(&pl->ready);
    }
    pthread_mutex_unlock(&pl->mu);
    node_buf_release(&buf);
    return NULL;
}

node_pipe *node_pipe_start(const parex_engine *e, size_t n, unsigned workers,
    node_pipe_encode_fn encode, void *user)
{
    node_pipe *pl = node_calloc(1, sizeof(*pl));
    unsigned k;

    pl->e = e;
    pl->encode = encode;
    pl->user = user;
    pl->n = n;
    /* More preparers than CPUs prepare no faster (and --threads may be
     * in the thousands). */
    if (workers > node_cpus()) {
        workers = node_cpus();
    }
    pl->ahead = workers == 0 ? 1 : workers;
    pl->slots = node_calloc(n > 0 ? n : 1, sizeof(*pl->slots));
    pl->th = node_calloc(pl->ahead, sizeof(*pl->th));
    if (pthread_mutex_init(&pl->mu, NULL) != 0 ||
        pthread_cond_init(&pl->work, NULL) != 0 ||
        pthread_cond_init(&pl->ready, NULL) != 0) {
        node_die(NODE_EXIT_RUNTIME, "pipeline: cannot create a lock");
    }
    for (k = 0; k < pl->ahead && k < n; k++) {
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
    int rc;

    pthread_mutex_lock(&pl->mu);
    if (pl->taken < i + 1) {
        pl->taken = i + 1;
        pthread_cond_broadcast(&pl->work);
    }
    while (!s->done) {
        pthread_cond_wait(&pl->ready, &pl->mu);
    }
    pthread_mutex_unlock(&pl->mu);
    *p = s->p;
    s->p = NULL;
    rc = s->rc;
    if (err != NULL) {
        *err = s->err;
    }
    return rc;
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
    free(pl->slots);
    free(pl->th);
    free(pl);
}
