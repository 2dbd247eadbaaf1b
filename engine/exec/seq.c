/* The sequential reference executor: the specification of block execution.
 *
 * A plain loop in block order over one overlay (the keys the block touched,
 * indexed by a key map, over the LMDB snapshot) with an undo log for
 * program failure. With the parallel executor it shares what defines a
 * block's meaning rather than how it is scheduled: the programs, the
 * state-transition function (engine/exec/stf.c: prelude, receipt, fee
 * total), and, when it counts batches itself, the conflict rules
 * (engine/exec/conflict.h). It shares none of the parallel machinery
 * (versions, validation, scheduling), so comparing the two tests that. */
#include <stdlib.h>
#include <string.h>

#include "conflict.h"
#include "engine_int.h"

/* An entry of the overlay. Its key is the key map's slot of the same
 * index (the map's slots are dense in insertion order), so the key is
 * stored once and an entry is half a cache line. */
typedef struct sent {
    const uint8_t *val;     /* valid when loaded and present */
    uint32_t len;
    uint8_t loaded;         /* val/present mirror the current state */
    uint8_t present;
    uint8_t dirty;          /* differs from (or may differ from) storage */
    uint32_t touch;         /* 1 + index of the last tx that touched it */
    px__conflict cf;        /* conflict analysis (count_batches) */
} sent;

/* Entries remembered per tx (see seq.recent). */
#define PX__SEQ_RECENT 6

typedef struct undo {
    uint32_t ent;
    const uint8_t *val;
    uint32_t len;
    uint8_t loaded, present, dirty;
} undo;

typedef struct seq {
    parex_ctx base;
    px__snap *snap;
    px__arena *arena;
    sent *ents;             /* in insertion order */
    size_t n_ents, cap_ents;
    px__keymap *km;         /* key -> ent index (the scratch's seq_km) */
    undo *log;
    size_t n_log, cap_log, mark;
    uint32_t touch_gen;
    uint32_t touched;
    /* The entries of the tx's first keys (the batch count's lookups, then
     * its own accesses): a tx reads and writes the same few keys (the
     * prelude's account get and put, a transfer's two accounts), and a
     * compare of 32 bytes is a fraction of a hash and a probe. */
    uint32_t recent[PX__SEQ_RECENT];
    unsigned n_recent;
} seq;

/* Finds or inserts key; *idx is its entry. */
static int find(seq *s, const uint8_t *key, size_t *idx)
{
    int added;
    px__keyslot *k = px__keymap_insert(s->km, key, &added);

    if (k == NULL) {
        return PAREX_E_NOMEM;
    }
    if (!added) {
        /* Entry i is slot i: the map's slots are dense in insertion order
         * and the only delete is of the last insert (below). */
        *idx = (size_t)(k - s->km->slot);
        return PAREX_OK;
    }
    if (s->n_ents == s->cap_ents) {
        size_t cap = s->cap_ents ? 2 * s->cap_ents : 1024;
        sent *ne = realloc(s->ents, cap * sizeof(*ne));
        if (ne == NULL) {
            px__keymap_delete(s->km, key);
            return PAREX_E_NOMEM;
        }
        s->ents = ne;
        s->cap_ents = cap;
    }
    PAREX_ASSERT(k == &s->km->slot[s->n_ents]);
    memset(&s->ents[s->n_ents], 0, sizeof(sent));
    px__conflict_init(&s->ents[s->n_ents].cf);
    *idx = s->n_ents++;
    return PAREX_OK;
}

/* Counts distinct keys per tx against max_tx_accesses. */
static int touch(seq *s, sent *e)
{
    if (e->touch != s->touch_gen) {
        if (s->touched >= s->base.lim->max_tx_accesses) {
            return PAREX_E_LIMIT;
        }
        e->touch = s->touch_gen;
        s->touched++;
    }
    return PAREX_OK;
}

/* Remembers entry idx as one of the tx's keys, while there is room. */
static void remember(seq *s, size_t idx)
{
    if (s->n_recent < PX__SEQ_RECENT) {
        s->recent[s->n_recent++] = (uint32_t)idx;
    }
}

/* find() plus the per-tx distinct-key count: every ctx access goes here.
 * The tx's remembered entries are looked at first; what they answer is
 * what the map would (the same entry for the same key). */
static int find_touch(seq *s, const uint8_t *key, size_t *idx)
{
    unsigned i;
    int rc;

    for (i = 0; i < s->n_recent; i++) {
        if (px__keymap_eq(s->km->slot[s->recent[i]].key, key)) {
            *idx = s->recent[i];
            return touch(s, &s->ents[*idx]);
        }
    }
    rc = find(s, key, idx);
    if (rc != PAREX_OK) {
        return rc;
    }
    remember(s, *idx);
    return touch(s, &s->ents[*idx]);
}

static int seq_get(parex_ctx *ctx, const uint8_t **val, size_t *len,
    const uint8_t key[32])
{
    seq *s = (seq *)ctx;
    size_t i;
    sent *e;
    int rc = find_touch(s, key, &i);

    if (rc != PAREX_OK) {
        return rc;
    }
    e = &s->ents[i];
    if (!e->loaded) {
        const uint8_t *v;
        size_t l;
        rc = px__snap_get(s->snap, PX_DB_STATE, &v, &l, key, 32);
        if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
            return rc;
        }
        e->loaded = 1;
        e->present = rc == PAREX_OK;
        e->val = e->present ? v : NULL;
        e->len = e->present ? (uint32_t)l : 0;
    }
    if (!e->present) {
        return PAREX_E_NOTFOUND;
    }
    *val = e->val;
    *len = e->len;
    return PAREX_OK;
}

static int seq_put(parex_ctx *ctx, const uint8_t key[32], const uint8_t *val,
    size_t len, int del)
{
    seq *s = (seq *)ctx;
    size_t i;
    sent *e;
    uint8_t *copy = NULL;
    undo *u;
    int rc = find_touch(s, key, &i);

    if (rc != PAREX_OK) {
        return rc;
    }
    e = &s->ents[i];
    if (!del && (copy = px__arena_copy(s->arena, val, len)) == NULL) {
        return PAREX_E_NOMEM;
    }
    if (s->n_log == s->cap_log) {
        size_t cap = s->cap_log ? 2 * s->cap_log : 256;
        undo *nl = realloc(s->log, cap * sizeof(*nl));
        if (nl == NULL) {
            return PAREX_E_NOMEM;
        }
        s->log = nl;
        s->cap_log = cap;
    }
    u = &s->log[s->n_log++];
    u->ent = (uint32_t)i;
    u->val = e->val;
    u->len = e->len;
    u->loaded = e->loaded;
    u->present = e->present;
    u->dirty = e->dirty;
    e->loaded = 1;
    e->present = !del;
    e->val = copy;
    e->len = del ? 0 : (uint32_t)len;
    e->dirty = 1;
    return PAREX_OK;
}

static void seq_rollback(parex_ctx *ctx)
{
    seq *s = (seq *)ctx;

    /* The prelude's one put is below the mark and stays. */
    PAREX_ASSERT(s->n_log >= s->mark && s->mark == 1);
    while (s->n_log > s->mark) {
        undo *u = &s->log[--s->n_log];
        sent *e = &s->ents[u->ent];
        e->val = u->val;
        e->len = u->len;
        e->loaded = u->loaded;
        e->present = u->present;
        e->dirty = u->dirty;
    }
}

/* The prelude makes exactly one put (the sender's account) before the
 * program runs, so a program's undo mark is log entry 1 of its tx. */
static const px__ctx_ops seq_ops = { seq_get, seq_put, seq_rollback };

/* The batch of tx j by the conflict rules (engine/exec/conflict.h), on
 * this executor's own key map: when every block runs here (one thread),
 * the batch count stays exact for a fraction of a separate analysis, the
 * entries being the ones the tx is about to touch. */
static int tx_batch(seq *s, const px__btx *b, int32_t *out)
{
    uint32_t n, i, acct = px__tx_acct_slot(b, &n);
    /* Entries found in the first pass, so the second need not hash again
     * (most txs declare a handful of keys). */
    size_t seen[32], idx;
    int32_t bt = 0;
    int pass, rc;

    /* Pass 0 finds the batch, pass 1 records it on the keys. */
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            int w = px__tx_slot_writes(b, i, acct);
            sent *e;
            if (pass == 1 && i < 32) {
                idx = seen[i];
            } else {
                rc = find(s, px__tx_slot_key(b, i), &idx);
                if (rc != PAREX_OK) {
                    return rc;
                }
                if (i < 32) {
                    seen[i] = idx;
                }
                remember(s, idx);
            }
            e = &s->ents[idx];
            if (pass == 0) {
                bt = px__conflict_after(&e->cf, w, bt);
            } else {
                px__conflict_mark(&e->cf, w, bt);
            }
        }
    }
    *out = bt;
    return PAREX_OK;
}

/* Tx j's declared keys and account found (inserted when new) and
 * remembered before it runs, as tx_batch() does when counting: the
 * lookups are independent of each other, so their misses overlap, where
 * the program's own first accesses would take them one after another
 * between its reads. At one thread the counting reference ran hot and
 * p2p with 2 or 100 accounts 1.11-1.20x faster than this executor without
 * it (session 14). An entry found and never touched stays unloaded and
 * clean: it is in no change set and counts against no access limit. */
static int tx_prefind(seq *s, const px__btx *b)
{
    uint32_t n, i;
    size_t idx;
    int rc;

    (void)px__tx_acct_slot(b, &n);  /* only the slot count */
    for (i = 0; i < n; i++) {
        rc = find(s, px__tx_slot_key(b, i), &idx);
        if (rc != PAREX_OK) {
            return rc;
        }
        remember(s, idx);
    }
    return PAREX_OK;
}

/* The block's declared keys plus one account per tx: at least its
 * distinct declared keys and accounts. */
static size_t count_keys(const px__block *blk)
{
    size_t total = 0, j;

    for (j = 0; j < blk->n; j++) {
        total += (size_t)blk->txs[j].tx.n_read + blk->txs[j].tx.n_write + 1;
    }
    return total;
}

int px__exec_sequential(const px__exec_env *env, px__result *res)
{
    seq s;
    size_t j, nk;
    int rc = PAREX_OK;
    uint64_t t0 = px__now_ns(), nb = 0;

    memset(&s, 0, sizeof(s));
    s.base.ops = &seq_ops;
    s.base.height = env->blk->hdr.height;
    s.base.lim = env->lim;
    s.snap = env->workers[0].snap;
    s.arena = &res->arena;
    s.km = &env->scratch->seq_km;
    px__keymap_clear(s.km);
    /* The entries and the undo log live in the scratch too: a fresh
     * allocation per block is a first-touch page fault per 4 KiB. */
    s.ents = env->scratch->seq_ents;
    s.cap_ents = env->scratch->seq_ents_bytes / sizeof(sent);
    s.log = env->scratch->seq_log;
    s.cap_log = env->scratch->seq_log_bytes / sizeof(undo);
    /* Sized once for the block's declared keys and accounts (a bound of
     * the keys it touches unless it goes undeclared, when inserts still
     * grow the map): a map grown from its smallest size by doubling
     * rehashes every key about twice per block, and in a warm map this is
     * O(1). */
    nk = count_keys(env->blk);
    rc = px__keymap_reserve(s.km, nk);
    if (rc != 0) {
        rc = PAREX_E_NOMEM;
        goto out;
    }
    if (s.cap_ents < nk) {
        /* Once, for the block's bound, rather than doubling copies. */
        sent *ne = realloc(s.ents, nk * sizeof(*ne));
        if (ne == NULL) {
            rc = PAREX_E_NOMEM;
            goto out;
        }
        s.ents = ne;
        s.cap_ents = nk;
    }

    for (j = 0; j < env->blk->n; j++) {
        px__outcome out;
        int32_t bt = (int32_t)j;
        s.n_recent = 0;
        if (env->count_batches) {
            rc = tx_batch(&s, &env->blk->txs[j], &bt);
            if (rc != PAREX_OK) {
                goto out;
            }
            if ((uint64_t)bt + 1 > nb) {
                nb = (uint64_t)bt + 1;
            }
        } else if ((rc = tx_prefind(&s, &env->blk->txs[j])) != PAREX_OK) {
            goto out;
        }
        s.base.btx = &env->blk->txs[j];
        s.touch_gen = (uint32_t)j + 1;
        s.touched = 0;
        s.n_log = 0;
        s.mark = 1;
        if (env->profile != NULL) {
            uint64_t ts = px__now_ns();
            rc = px__tx_run(&s.base, env->progs, &out);
            /* Adds: the parallel executor may have run it already. */
            env->profile[j].exec_ns += px__now_ns() - ts;
            env->profile[j].incarnations++;
            env->profile[j].batch = (uint32_t)bt;
        } else {
            rc = px__tx_run(&s.base, env->progs, &out);
        }
        if (rc != PAREX_OK) {
            goto out;
        }
        if (px__stf_settle(res, env->receipts, j, &out)) {
            goto out;
        }
    }
    res->exec_ns = px__now_ns() - t0;
    t0 = px__now_ns();
    /* The entries, dense in insertion order: the map's index can be far
     * larger than the keys it holds (sized for the block, kept warm). */
    for (j = 0; j < s.n_ents; j++) {
        const sent *e = &s.ents[j];
        if (e->dirty) {
            rc = px__result_push(res, s.km->slot[j].key, e->val, e->len,
                !e->present);
            if (rc != PAREX_OK) {
                goto out;
            }
        }
    }
    /* Keys must outlive the overlay: the change set points at them. */
    for (j = 0; j < res->n_changes; j++) {
        uint8_t *k = px__arena_alloc(&res->arena, 32);
        if (k == NULL) {
            rc = PAREX_E_NOMEM;
            goto out;
        }
        memcpy(k, res->changes[j].key, 32);
        res->changes[j].key = k;
    }
    px__result_sort(res);
    res->apply_ns = px__now_ns() - t0;
    res->batches = env->count_batches ? nb : env->blk->n;
out:
    res->map_probes = s.km->probes;
    env->scratch->seq_ents = s.ents;
    env->scratch->seq_ents_bytes = s.cap_ents * sizeof(sent);
    env->scratch->seq_log = s.log;
    env->scratch->seq_log_bytes = s.cap_log * sizeof(undo);
    return rc;
}
