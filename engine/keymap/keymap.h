/* A hash table of 32-byte keys: the one key map of parex.
 *
 * Self-contained (libc and include/internal/px_assert.h only), so that any
 * module can use it: the engine's conflict analysis, its reference
 * executor and the per-tx index of undeclared keys, and later the node's
 * mempool.
 *
 * Design
 *  - Two arrays: the slots (key, value, hash) dense in insertion order,
 *    and an index of 8-byte buckets, open addressing with linear probing,
 *    load at most 1/2, a power of two. A bucket holds the slot's position,
 *    16 high bits of the key's hash (a probe compares keys only when they
 *    match) and a generation. The index is what a probe walks: 8 bytes a
 *    bucket where the slots take 48, so for the same keys it is 6 times
 *    smaller and stays in a core's cache where a table of slots would not;
 *    the slots are written one after the other, not scattered over a table
 *    sized for the block (the layout of CPython's dict since 3.6).
 *  - All 32 bytes are hashed, seeded per map (clock and address, renewed
 *    by every px__keymap_clear()): keys are chosen by tx senders, and
 *    hashing a prefix, or hashing without a seed, lets crafted keys pile
 *    into one probe run (quadratic work, tests/engine/test_hostile.c).
 *    Not a cryptographic hash; the seed changes only speed, never what
 *    the map holds. Finalizer: MurmurHash3's fmix64.
 *  - Buckets carry a 16-bit generation: a bucket is occupied when its
 *    generation is the map's. Clearing is O(1) (the generation moves on;
 *    every 65,535th clear zeroes the index), so a map kept warm across
 *    blocks costs nothing to empty, and growing rebuilds the index from
 *    the slots (their hashes are kept) without clearing it first.
 *  - Deletion shifts the following run of buckets back (no tombstones), so
 *    lookups never slow down with churn, and moves the last slot into the
 *    hole, so the slots stay dense.
 *
 * Storage is the map's own (malloc); px__keymap_clear() keeps it, so a map
 * reused from block to block stops allocating once warm. A map is used by
 * one thread at a time; it takes no locks.
 *
 * Pointers to slots (px__keyslot *) stay valid until the next insert,
 * delete, reserve or clear of the map.
 */
#ifndef PX_KEYMAP_H
#define PX_KEYMAP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal/px_assert.h"

/** A slot's value: what the caller stores for a key. */
typedef union px__keyval {
    void *ptr;
    uint64_t u64;
} px__keyval;

typedef struct px__keyslot {
    uint8_t key[32];
    px__keyval val;     /* zero when the key was just inserted */
    uint64_t hash;      /* the key's seeded hash (the map's own) */
} px__keyslot;

/* A bucket of the index: generation << 48 | hash tag << 32 | slot. */
typedef uint64_t px__keybucket;

typedef struct px__keymap {
    px__keybucket *idx; /* the index: mask + 1 buckets (NULL: none yet) */
    size_t mask;
    px__keyslot *slot;  /* n slots in use, dense */
    size_t n;           /* keys held */
    uint32_t gen;       /* 1..65535 */
    size_t min_slots;   /* smallest index (a power of two) */
    uint64_t s0, s1;    /* hash seed */
    uint64_t probes;    /* buckets inspected by find and insert */
    size_t cap;         /* buckets allocated in idx */
    size_t slot_cap;    /* slots allocated (at least (mask + 1) / 2) */
} px__keymap;

/** An empty map without storage; min_slots (rounded up to a power of
 *  two, at least 16) is the index size it starts from after every clear.
 *  Allocates nothing, cannot fail. */
void px__keymap_init(px__keymap *m, size_t min_slots);
/** Frees the storage; the map is then as after px__keymap_init(). */
void px__keymap_free(px__keymap *m);
/** Empties the map and renews its seed and probe count, keeping the
 *  storage. O(1). */
void px__keymap_clear(px__keymap *m);
/** Makes room for n keys without growing. Returns 0, or -1 when memory
 *  cannot be had (the map is unchanged). */
int px__keymap_reserve(px__keymap *m, size_t n);
/** Removes key. Returns 1 when it was there, 0 when not. */
int px__keymap_delete(px__keymap *m, const uint8_t key[32]);

/** The seeded hash of a key (all 32 bytes). */
static inline uint64_t px__keymap_hash(const uint8_t *k, uint64_t s0,
    uint64_t s1)
{
    uint64_t h = s0;
    int i;

    for (i = 0; i < 4; i++) {
        /* A native load: gcc 12 leaves the byte-by-byte form as 32 loads
         * and shifts (about 100 instructions a key). The byte order only
         * changes which seeded hash a host computes, never what the map
         * holds. */
        uint64_t w;
        memcpy(&w, k + 8 * i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= (h >> 29) + s1;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/** 32-byte equality without a libc call (the lookups are hot paths). */
static inline int px__keymap_eq(const uint8_t *a, const uint8_t *b)
{
    uint64_t x[4], y[4];
    memcpy(x, a, 32);
    memcpy(y, b, 32);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) ==
        0;
}

#define PX__KEYMAP_GEN(b) ((uint32_t)((b) >> 48))
#define PX__KEYMAP_TAG(h) ((uint64_t)((h) >> 48) << 32)
#define PX__KEYMAP_TAGMASK ((uint64_t)0xffff << 32)

/* The slot holding key, or NULL with *empty the bucket where it would go.
 * Counts the buckets inspected. The index must exist. */
static inline px__keyslot *px__keymap_probe_(px__keymap *m,
    const uint8_t *key, uint64_t h, size_t *empty)
{
    size_t i = (size_t)h & m->mask;
    uint64_t tag = PX__KEYMAP_TAG(h);

    m->probes++;
    for (;;) {
        px__keybucket b = m->idx[i];
        if (PX__KEYMAP_GEN(b) != m->gen) {
            *empty = i;
            return NULL;
        }
        if ((b & PX__KEYMAP_TAGMASK) == tag) {
            px__keyslot *s = &m->slot[(uint32_t)b];
            if (s->hash == h && px__keymap_eq(s->key, key)) {
                return s;
            }
        }
        i = (i + 1) & m->mask;
        m->probes++;
    }
}

/** The slot of key, or NULL when the map does not hold it. */
static inline px__keyslot *px__keymap_find(px__keymap *m,
    const uint8_t key[32])
{
    size_t e;

    if (m->n == 0) {
        return NULL;
    }
    return px__keymap_probe_(m, key,
        px__keymap_hash(key, m->s0, m->s1), &e);
}

/** Finds or inserts key. *added (may be NULL) tells whether it was
 *  inserted; a new slot's value is zero. NULL when the table had to grow
 *  and memory could not be had (the map is unchanged). */
static inline px__keyslot *px__keymap_insert(px__keymap *m,
    const uint8_t key[32], int *added)
{
    uint64_t h;
    size_t e;
    px__keyslot *s;

    if (2 * (m->n + 1) > m->mask + 1 && px__keymap_reserve(m, m->n + 1)) {
        return NULL;
    }
    /* Load at most 1/2: every probe run ends at an empty bucket; and
     * there is a slot for the key. */
    PAREX_ASSERT(m->idx != NULL && 2 * (m->n + 1) <= m->mask + 1 &&
        m->n < m->slot_cap);
    h = px__keymap_hash(key, m->s0, m->s1);
    s = px__keymap_probe_(m, key, h, &e);
    if (added != NULL) {
        *added = s == NULL;
    }
    if (s == NULL) {
        s = &m->slot[m->n];
        memcpy(s->key, key, 32);
        s->val.u64 = 0;
        s->hash = h;
        m->idx[e] = (uint64_t)m->gen << 48 | PX__KEYMAP_TAG(h) |
            (uint64_t)m->n;
        m->n++;
    }
    return s;
}

/** Keys held. */
static inline size_t px__keymap_count(const px__keymap *m)
{
    return m->n;
}

/** Key i of the map (i below px__keymap_count()), in insertion order but
 *  for deletes (one moves the last key into the hole). Walking keys 0..n-1
 *  reads the slots one after the other, where px__keymap_next() walks the
 *  index and reaches each slot at random: the way to visit every key of a
 *  big map. The map must not change meanwhile. */
static inline px__keyslot *px__keymap_at(const px__keymap *m, size_t i)
{
    PAREX_ASSERT(i < m->n);
    return &m->slot[i];
}

/** Iteration, in no particular order: start with *pos = 0; returns the
 *  next key's slot, or NULL at the end. *pos runs over the index's
 *  mask + 1 buckets, so that callers may split an iteration into ranges
 *  of it. The map must not change meanwhile. */
static inline px__keyslot *px__keymap_next(const px__keymap *m, size_t *pos)
{
    if (m->idx == NULL) {
        return NULL;
    }
    while (*pos <= m->mask) {
        px__keybucket b = m->idx[(*pos)++];
        if (PX__KEYMAP_GEN(b) == m->gen) {
            return &m->slot[(uint32_t)b];
        }
    }
    return NULL;
}

#endif /* PX_KEYMAP_H */
