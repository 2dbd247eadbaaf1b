/* The parallel executor's state (struct pexec and what hangs off it: per-tx
 * records, key entries, version nodes, dependency edges) and the buffers it
 * reuses from block to block. Part of the one translation unit
 * engine/exec/par/par.c; not a header to include elsewhere. */
#ifndef PX_PAR_PEXEC_IMPL_H
#define PX_PAR_PEXEC_IMPL_H

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "exec/conflict.h"
#include "engine_int.h"

#define NO_TX UINT32_MAX

typedef struct vnode {
    _Atomic(struct vnode *) next;
    uint32_t tx, inc;
    const uint8_t *val;
    uint32_t len;
    uint8_t del;
} vnode;

typedef struct kent {
    uint8_t key[32];
    px__conflict cf;            /* conflict analysis */
    uint32_t lastw;             /* last declared writer so far, or NO_TX */
    _Atomic(vnode *) head;      /* versions, newest (highest tx) first */
} kent;

/* R_SNAP: the first read found no version and loaded the snapshot's
 * value into snap/snap_len (R_SNAP_PRESENT: it exists), which the BAL
 * recorder then takes as the pre-value instead of looking it up again. */
enum { R_READ = 1, R_WRITE = 2, R_LOADED = 4, R_PRESENT = 8, R_SNAP = 16,
    R_SNAP_PRESENT = 32 };
/* What a put keeps of a record's flags: how its first read went. */
#define R_KEEP (R_READ | R_SNAP | R_SNAP_PRESENT)

typedef struct rec {
    kent *k;
    vnode *node;                /* this incarnation's published version */
    const uint8_t *val;         /* current value inside the tx */
    const uint8_t *snap;        /* R_SNAP: the snapshot's value */
    uint32_t len, snap_len;
    uint32_t obs_tx, obs_inc;   /* version seen by the first read */
    uint8_t flags;
} rec;

typedef struct ptx {
    kent **slots;               /* read set, write set, [account] */
    uint32_t n_slots, acct_slot;
    int32_t batch;
    rec *recs;
    uint32_t n_recs, cap_recs;
    uint32_t inc;               /* incarnation; re-executions add one */
    atomic_uint pending;        /* unfinished dependencies + 1 (the claim)
                                   (+ 1 while its analysis runs) */
    _Atomic uint32_t succ;      /* dependents: edge list head, NIL, or
                                   CLOSED once the tx has finished */
    uint8_t escaped, invalid;
    px__outcome out;
} ptx;

/* A worker's busy flag on a cache line of its own. */
typedef struct busy_flag {
    atomic_int v;
    char pad[64 - sizeof(atomic_int)];
} busy_flag;

/* One dependency: `tx` waits for the tx whose list holds this edge. */
typedef struct edge {
    uint32_t tx, next;
} edge;

#define NIL UINT32_MAX
#define CLOSED (UINT32_MAX - 1)

struct analysis;

typedef struct pexec {
    const px__exec_env *env;
    ptx *t;
    uint32_t n;
    edge *edges;                /* room for one per declared key */
    uint32_t n_edges;           /* written by the analysing thread only */
    uint32_t n_edges_max;       /* room in edges */
    kent **slots_base;          /* the block's slot array (A->slots start) */
    /* The counters every worker touches, each on a cache line of its own
     * (a claim must not invalidate the line the analysis publishes on). */
    _Alignas(64) atomic_uint analysed;  /* txs below this are analysed */
    _Alignas(64) atomic_uint next;      /* next tx to claim, in block order */
    _Alignas(64) atomic_int analyst;    /* taken by the worker finishing
                                           the analysis */
    struct analysis *A;
    uint64_t analysis_ns;       /* the overlapped part */
    pthread_mutex_t q_lock;     /* ready txs nobody has taken yet */
    uint32_t *q;
    uint32_t q_head, q_tail;
    _Alignas(64) atomic_uint q_count;
    _Alignas(64) busy_flag *busy;
    px__keymap *km;             /* key -> kent (the scratch's, kept warm) */
    px__arena *main_arena;      /* kents; lives as long as the result */
    pthread_mutex_t km_lock;    /* the keymap while txs run: the analysis
                                   (per chunk) and escaped txs' inserts */
    _Alignas(64) atomic_int err;
    atomic_uint escaped;
    /* Undeclared keys can grow one key's version list to every tx of the
     * block, and then every reader walks it: readers x writers. Past this
     * many steps the block is handed to the reference executor, O(txs). */
    _Alignas(64) atomic_uint_fast64_t walk;
    uint64_t walk_budget;
    atomic_int give_up;
    char pad_end[64];
    size_t total_keys;          /* declared keys of the block (+ accounts) */
    /* The sample alone judged the block wide (estimate_shape()): the exact
     * analysis checks the width, with the sample's cost factor, and sets
     * late_narrow (then give_up) if the block is narrow after all. */
    int late_check, late_narrow;
    uint32_t late_cost_q16;
    /* The txs' account keys when the analysis runs in stage 1, beside the
     * verify items that write the txs' own (px__exec_preanalyse); NULL:
     * the txs' own. */
    const uint8_t (*accts)[32];
} pexec;

typedef struct pctx {
    parex_ctx base;
    pexec *X;
    ptx *t;
    uint32_t j;
    px__worker *wk;
    uint32_t touched, puts;
    uint32_t hw, hr;            /* one past the declared write and read
                                   find_rec() found last */
    const uint8_t *prelude_val;
    uint32_t prelude_len;
    uint64_t steps;             /* version-list steps of this execution */
} pctx;

/* Conflict analysis runs in steps so that it can overlap execution: begin
 * (tables), then ranges of txs in block order (batches and dependency
 * edges); the first worker into the execution job analyses the rest in
 * chunks while the others run what is analysed. */
typedef struct analysis {
    kent **slots;               /* next free slot pointers */
    uint32_t nb;                /* batches so far */
    uint32_t n_dep;             /* txs so far in a batch above 0 */
    px__arena *arena;           /* key entries */
    size_t next_tx;             /* first tx not analysed yet */
} analysis;

#define ANALYSIS_CHUNK 64

/* A buffer of at least `bytes` from *buf (contents not kept). */
static void *reuse(void **buf, size_t *have, size_t bytes)
{
    if (bytes == 0) {
        bytes = 1;
    }
    if (*have < bytes) {
        free(*buf);
        *buf = malloc(bytes);
        *have = *buf != NULL ? bytes : 0;
    }
    return *buf;
}

void px__scratch_init(px__scratch *s)
{
    memset(s, 0, sizeof(*s));
    px__keymap_init(&s->km, 1024);
    px__keymap_init(&s->seq_km, 1024);
}

static void recparts_free(px__scratch *s);

void px__scratch_free(px__scratch *s)
{
    recparts_free(s);
    free(s->t);
    free(s->order);
    free(s->slots);
    free(s->est);
    free(s->sample);
    free(s->apply);
    free(s->seq_ents);
    free(s->seq_log);
    px__keymap_free(&s->km);
    px__keymap_free(&s->seq_km);
    px__scratch_init(s);
}

#endif /* PX_PAR_PEXEC_IMPL_H */
